//! A gRPC server (tonic) on `graceful::http`: calls and streams in flight
//! finish on SIGTERM, an endless stream ends with its request context, and
//! the standard health service answers `NOT_SERVING` from the moment
//! shutdown is requested.
//!
//! ```text
//! cargo run --example grpc_server                 # ADDR=127.0.0.1:50051 by default
//! grpc_health_probe -addr localhost:50051         # SERVING; NOT_SERVING (exit 4) in a lame duck
//! ```
//!
//! The service, `echo.Echo`, is this `echo.proto`:
//!
//! ```text
//! service Echo {
//!   rpc Say(SayRequest) returns (SayReply);              // answers after `delay_ms`
//!   rpc Count(CountRequest) returns (stream CountReply); // 1, 2, .. `to` (0: for ever)
//!   rpc Stats(StatsRequest) returns (StatsReply);        // `Say` calls in flight
//! }
//! ```
//!
//! Its messages and its server glue are written here by hand, as
//! `tonic-build` would generate them, so that no `protoc` is needed: in a
//! project of your own, generate them and keep `main` as it is. tonic's
//! `Routes` turn the services into an axum router, which
//! `graceful::http::Server` serves (gRPC is HTTP/2; the server speaks it
//! without TLS, "h2c", as tonic's clients do on `http://`).
//!
//! Beside `echo.Echo` runs `grpc.health.v1.Health` (the `tonic-health`
//! crate): `SERVING` while running, `NOT_SERVING` from the moment shutdown
//! is requested (as `/ready` answers 503 in `http_server`), for the whole
//! server (`""`) and for `echo.Echo`.
//!
//! On SIGTERM or Ctrl-C (with `GRACEFUL_LAME_DUCK=2s`, after a lame duck
//! during which everything is still served but the health service says
//! `NOT_SERVING`): the listener closes, HTTP/2 connections get `GOAWAY`,
//! `Say` calls and counts to a limit run to their end, endless counts end
//! with `UNAVAILABLE` (their request context is cancelled), `Watch` streams
//! of the health service end, and the process exits 0. The first stdout
//! line is `listening on http://IP:PORT`; the last is a summary of the
//! drain.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;
use std::time::Duration;

use futures_util::Stream;
use graceful::Context;
use graceful::http::{self, RequestContext};
use tonic::body::Body;
use tonic::codegen::http::{Request as HttpRequest, Response as HttpResponse};
use tonic::codegen::{BoxFuture, Service};
use tonic::server::{Grpc, NamedService};
use tonic::service::Routes;
use tonic::{Request, Response, Status};
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;
use tonic_prost::ProstCodec;
use tower::service_fn;

use pb::{CountReply, CountRequest, SayReply, SayRequest, StatsReply, StatsRequest};

#[graceful::main]
async fn main(ctx: Context) -> anyhow::Result<()> {
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:50051".to_owned());
    let listener = http::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);

    let (reporter, health) = tonic_health::server::health_reporter();
    reporter.set_serving::<EchoServer>().await;
    let app = Routes::new(EchoServer::default())
        .add_service(health)
        .into_axum_router();

    // The server's scope, of its own, so that the health service can
    // follow its drain.
    let grpc = ctx.scope("grpc");
    grpc.spawn("health", follow_shutdown(grpc.clone(), reporter));
    let server = http::Server::new(app).serve_in(&grpc, listener);
    ctx.spawn("report", async move {
        println!("grpc_server: {}", server.await?);
        anyhow::Ok(())
    });
    Ok(())
}

/// Tells the health service where the lifecycle is: `NOT_SERVING` from the
/// moment shutdown is requested (before the lame duck, if any), for the
/// whole server and for `echo.Echo`. When the server's drain begins, the
/// statuses are cleared: that ends every `Watch` stream (with `OK`, after
/// which a client retries, elsewhere), which would otherwise hold the
/// drain until the deadline. A `Check` that still arrives then (on a
/// connection accepted before the listener closed) answers `NOT_FOUND`.
async fn follow_shutdown(grpc: Context, mut reporter: HealthReporter) {
    grpc.shutdown_requested().await;
    reporter
        .set_service_status("", ServingStatus::NotServing)
        .await;
    reporter.set_not_serving::<EchoServer>().await;
    grpc.cancelled().await;
    reporter.clear_service_status("").await;
    reporter.clear_service_status(EchoServer::NAME).await;
}

/// The request's [`Context`]: `graceful::http` puts a [`RequestContext`] in
/// the extensions of every request, and tonic hands them on in
/// [`Request::extensions`]. It is cancelled when the server's drain begins
/// (after the lame duck); `main`'s context is cancelled only after the
/// server has drained, too late for a stream to end by it.
fn request_context<T>(request: &Request<T>) -> Result<Context, Status> {
    match request.extensions().get::<RequestContext>() {
        Some(RequestContext(ctx)) => Ok(ctx.clone()),
        None => Err(Status::internal("not served by graceful::http")),
    }
}

/// Answers `message` after `delay_ms`. It ignores the shutdown: the server
/// waits for it (within the deadline).
async fn say(
    in_flight: Arc<AtomicU64>,
    request: Request<SayRequest>,
) -> Result<Response<SayReply>, Status> {
    let SayRequest { message, delay_ms } = request.into_inner();
    in_flight.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(delay_ms)).await;
    in_flight.fetch_sub(1, Ordering::SeqCst);
    Ok(Response::new(SayReply { message }))
}

/// The numbers 1, 2, .. `to`, one every `every_ms` (the first at once).
type Counting = Pin<Box<dyn Stream<Item = Result<CountReply, Status>> + Send>>;

/// Counts to `to`. A count to a limit runs to its end, shutdown or not: the
/// server waits for it. An endless one (`to` = 0) follows its request's
/// context: when the drain begins, it ends with `UNAVAILABLE`, which tells
/// the client to retry elsewhere.
async fn count(request: Request<CountRequest>) -> Result<Response<Counting>, Status> {
    let ctx = request_context(&request)?;
    let CountRequest { to, every_ms } = request.into_inner();
    let every = tokio::time::interval(Duration::from_millis(every_ms.max(1)));
    let numbers = futures_util::stream::unfold(Some((ctx, every, 0)), move |state| async move {
        let (ctx, mut every, n) = state?;
        if to != 0 && n == to {
            return None;
        }
        let tick = match to {
            0 => ctx.run_until_cancelled(every.tick()).await,
            _ => Some(every.tick().await),
        };
        match tick {
            Some(_) => Some((Ok(CountReply { n: n + 1 }), Some((ctx, every, n + 1)))),
            None => Some((Err(Status::unavailable("server shutting down")), None)),
        }
    });
    Ok(Response::new(Box::pin(numbers)))
}

async fn stats(
    in_flight: Arc<AtomicU64>,
    _: Request<StatsRequest>,
) -> Result<Response<StatsReply>, Status> {
    let say_in_flight = in_flight.load(Ordering::SeqCst);
    Ok(Response::new(StatsReply { say_in_flight }))
}

/// The `echo.Echo` service as a tower service of HTTP requests, as
/// `tonic-build` would generate it (`EchoServer`), one `match` arm a method.
#[derive(Clone, Default)]
struct EchoServer {
    say_in_flight: Arc<AtomicU64>,
}

impl NamedService for EchoServer {
    const NAME: &'static str = "echo.Echo";
}

impl Service<HttpRequest<Body>> for EchoServer {
    type Response = HttpResponse<Body>;
    type Error = Infallible;
    type Future = BoxFuture<HttpResponse<Body>, Infallible>;

    fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: HttpRequest<Body>) -> Self::Future {
        let in_flight = self.say_in_flight.clone();
        Box::pin(async move {
            let method = request.uri().path().strip_prefix("/echo.Echo/");
            Ok(match method {
                Some("Say") => {
                    let say = service_fn(move |r| say(in_flight.clone(), r));
                    Grpc::new(ProstCodec::default()).unary(say, request).await
                }
                Some("Count") => {
                    let count = service_fn(count);
                    Grpc::new(ProstCodec::default())
                        .server_streaming(count, request)
                        .await
                }
                Some("Stats") => {
                    let stats = service_fn(move |r| stats(in_flight.clone(), r));
                    Grpc::new(ProstCodec::default()).unary(stats, request).await
                }
                _ => Status::unimplemented("no such method in echo.Echo").into_http(),
            })
        })
    }
}

/// The messages of `echo.proto`, as prost-build would generate them.
mod pb {
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct SayRequest {
        #[prost(string, tag = "1")]
        pub message: String,
        #[prost(uint64, tag = "2")]
        pub delay_ms: u64,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct SayReply {
        #[prost(string, tag = "1")]
        pub message: String,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct CountRequest {
        #[prost(uint32, tag = "1")]
        pub to: u32,
        #[prost(uint64, tag = "2")]
        pub every_ms: u64,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct CountReply {
        #[prost(uint32, tag = "1")]
        pub n: u32,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct StatsRequest {}

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct StatsReply {
        #[prost(uint64, tag = "1")]
        pub say_in_flight: u64,
    }
}
