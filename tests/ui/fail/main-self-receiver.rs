struct App;

impl App {
    #[graceful::main]
    async fn main(self) {}
}

fn main() {}
