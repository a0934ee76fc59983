//! The attribute on a function not called `main`: it becomes a plain `fn`
//! that runs the service when called.

#[graceful::main]
async fn serve() {}

fn main() {
    serve();
}
