//! gRPC on `graceful::http`: the `grpc_server` example (tonic) as a process,
//! driven by tonic's own client over real sockets on 127.0.0.1, sent a real
//! SIGTERM.
#![cfg(all(unix, feature = "http"))]

mod common;
mod http_util;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{EXIT, PATIENCE, Signal};
use http_util::{eventually, listening_example, runtime};
use tonic::client::Grpc;
use tonic::codec::Streaming;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};
use tonic_prost::ProstCodec;

/// The messages of the example's `echo.proto`, written again as a client
/// built from the `.proto` file would have them.
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

/// `rt.block_on(fut)`, or a panic after [`PATIENCE`]: an answer that never
/// comes does not hold the test (and the example is killed with it).
#[track_caller]
fn within<F: Future>(rt: &tokio::runtime::Runtime, fut: F) -> F::Output {
    match rt.block_on(async { tokio::time::timeout(PATIENCE, fut).await }) {
        Ok(output) => output,
        Err(_) => panic!("no answer within {PATIENCE:?}"),
    }
}

/// A channel to `addr`: one HTTP/2 connection, as tonic's clients open it.
async fn channel(addr: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .expect("a URI")
        .connect()
        .await
        .unwrap_or_else(|e| panic!("connect to {addr}: {e}"))
}

/// A client of `echo.Echo`, as `tonic-build` would generate it.
#[derive(Clone)]
struct Echo(Grpc<Channel>);

impl Echo {
    fn new(channel: Channel) -> Echo {
        Echo(Grpc::new(channel))
    }

    async fn say(&mut self, message: String, delay_ms: u64) -> Result<String, Status> {
        let request = Request::new(pb::SayRequest { message, delay_ms });
        self.0
            .ready()
            .await
            .map_err(|e| Status::unknown(e.to_string()))?;
        let path = PathAndQuery::from_static("/echo.Echo/Say");
        let reply: pb::SayReply = self
            .0
            .unary(request, path, ProstCodec::default())
            .await?
            .into_inner();
        Ok(reply.message)
    }

    async fn count(&mut self, to: u32, every_ms: u64) -> Result<Streaming<pb::CountReply>, Status> {
        let request = Request::new(pb::CountRequest { to, every_ms });
        self.0
            .ready()
            .await
            .map_err(|e| Status::unknown(e.to_string()))?;
        let path = PathAndQuery::from_static("/echo.Echo/Count");
        Ok(self
            .0
            .server_streaming(request, path, ProstCodec::default())
            .await?
            .into_inner())
    }

    async fn say_in_flight(&mut self) -> Result<u64, Status> {
        self.0
            .ready()
            .await
            .map_err(|e| Status::unknown(e.to_string()))?;
        let path = PathAndQuery::from_static("/echo.Echo/Stats");
        let codec = ProstCodec::<pb::StatsRequest, pb::StatsReply>::default();
        let reply = self
            .0
            .unary(Request::new(pb::StatsRequest {}), path, codec)
            .await?;
        Ok(reply.into_inner().say_in_flight)
    }
}

/// The numbers of a `Count` stream, reported as started on its first
/// number, and how the stream ended: `Ok` at its end, or its status.
async fn numbers(
    mut stream: Streaming<pb::CountReply>,
    started: &AtomicUsize,
) -> (Vec<u32>, Result<(), Status>, Instant) {
    let mut numbers = Vec::new();
    loop {
        match stream.message().await {
            Ok(Some(reply)) => {
                if numbers.is_empty() {
                    started.fetch_add(1, Ordering::SeqCst);
                }
                numbers.push(reply.n);
            }
            Ok(None) => return (numbers, Ok(()), Instant::now()),
            Err(status) => return (numbers, Err(status), Instant::now()),
        }
    }
}

/// What `Check` answers for `service`, on a new connection (as a probe such
/// as `grpc_health_probe` or Kubernetes' gRPC probe opens one every time).
async fn check(addr: SocketAddr, service: &str) -> Result<ServingStatus, Status> {
    let mut health = HealthClient::new(channel(addr).await);
    let request = HealthCheckRequest {
        service: service.to_owned(),
    };
    let status = health.check(request).await?.into_inner().status;
    Ok(ServingStatus::try_from(status).expect("a serving status"))
}

fn status_of(response: &HealthCheckResponse) -> ServingStatus {
    ServingStatus::try_from(response.status).expect("a serving status")
}

/// 50 two-second `Say` calls and 5 two-second `Count` streams in flight on
/// one connection, and an endless `Count`, at SIGTERM: every call is
/// answered and every count reaches its end; the endless one, which
/// follows its request context, ends at once with `UNAVAILABLE`; the
/// process exits 0 right after the last answer.
#[test]
fn calls_and_streams_in_flight_complete_at_sigterm() {
    const CALLS: usize = 50;
    const STREAMS: usize = 5;
    const TO: u32 = 20; // every 100 ms: two seconds
    let (p, addr) = listening_example("grpc_server", &[]);
    let rt = runtime();
    let echo = Echo::new(within(&rt, channel(addr)));
    let started = Arc::new(AtomicUsize::new(0));

    let calls: Vec<_> = (0..CALLS)
        .map(|i| {
            let mut echo = echo.clone();
            rt.spawn(async move { (echo.say(format!("call {i}"), 2000).await, Instant::now()) })
        })
        .collect();
    let counts: Vec<_> = (0..STREAMS)
        .map(|_| {
            let (mut echo, started) = (echo.clone(), started.clone());
            rt.spawn(
                async move { numbers(echo.count(TO, 100).await.expect("Count"), &started).await },
            )
        })
        .collect();
    let endless = {
        let (mut echo, started) = (echo.clone(), started.clone());
        rt.spawn(async move { numbers(echo.count(0, 100).await.expect("Count"), &started).await })
    };
    within(
        &rt,
        eventually(
            Duration::from_secs(20),
            "50 calls and 6 streams in flight",
            || {
                let (mut echo, started) = (echo.clone(), started.clone());
                async move {
                    let calls = echo.say_in_flight().await.ok()?;
                    (calls == CALLS as u64 && started.load(Ordering::SeqCst) == STREAMS + 1)
                        .then_some(())
                }
            },
        ),
    );

    let signalled = Instant::now();
    p.signal(Signal::SIGTERM);

    // Every answer, then the exit, then the checks: a failure shows the
    // server's output.
    let calls: Vec<_> = calls
        .into_iter()
        .map(|c| within(&rt, c).expect("client task"))
        .collect();
    let counts: Vec<_> = counts
        .into_iter()
        .map(|c| within(&rt, c).expect("client task"))
        .collect();
    let (numbers, end, ended) = within(&rt, endless).expect("client task");
    let exit = p.wait(EXIT);
    let exited = signalled.elapsed();

    let mut last = signalled;
    for (i, (answer, at)) in calls.into_iter().enumerate() {
        let answer = answer.unwrap_or_else(|s| panic!("call {i}: {s:?}\n{exit}"));
        assert_eq!(answer, format!("call {i}"));
        assert!(
            at > signalled,
            "call {i} was answered before SIGTERM: the test was too slow"
        );
        last = last.max(at);
    }
    for (i, (numbers, end, at)) in counts.into_iter().enumerate() {
        end.unwrap_or_else(|s| panic!("count {i} ended with {s:?} after {numbers:?}\n{exit}"));
        assert_eq!(numbers, (1..=TO).collect::<Vec<_>>(), "count {i}");
        assert!(
            at > signalled,
            "count {i} ended before SIGTERM: the test was too slow"
        );
        last = last.max(at);
    }
    let end = end.expect_err("an endless count ends with a status");
    assert_eq!(
        (end.code(), end.message()),
        (Code::Unavailable, "server shutting down"),
        "{end:?}\n{exit}"
    );
    let endless_took = ended - signalled;
    assert!(
        endless_took < Duration::from_secs(2),
        "the endless count ended {endless_took:?} after SIGTERM"
    );

    assert_eq!(exit.code, Some(0), "{exit}");
    // The server's summary: every call and stream was in flight at the drain.
    let summary = &exit.stdout[exit.line("grpc_server: ")];
    let in_flight = format!("{} in flight at shutdown", CALLS + STREAMS + 1);
    assert!(summary.contains(&in_flight), "{exit}");
    assert!(
        exited < Duration::from_secs(10),
        "exit {exited:?} after SIGTERM\n{exit}"
    );
    eprintln!(
        "{CALLS} of {CALLS} calls and {STREAMS} of {STREAMS} counts completed; the endless count \
         ended with UNAVAILABLE {endless_took:?} after SIGTERM (numbers received: {}); exit 0 \
         {exited:?} after SIGTERM, {:?} after the last answer",
        numbers.len(),
        exited.saturating_sub(last - signalled),
    );
}

/// With a 3 s lame duck: `Check` answers `SERVING`, then `NOT_SERVING` from
/// SIGTERM on (the whole server and `echo.Echo`) while calls are still
/// answered; a `Watch` stream opened before sees `NOT_SERVING` at once and
/// ends (`OK`) when the drain begins, after the lame duck, instead of
/// holding the drain until the deadline; exit 0.
#[test]
fn health_says_not_serving_from_the_trigger() {
    let (p, addr) = listening_example("grpc_server", &[("GRACEFUL_LAME_DUCK", "3s")]);
    let rt = runtime();
    for service in ["", "echo.Echo"] {
        let status = within(&rt, check(addr, service)).expect("Check");
        assert_eq!(status, ServingStatus::Serving, "{service:?}");
    }
    let mut watch = within(&rt, async {
        let mut health = HealthClient::new(channel(addr).await);
        let request = HealthCheckRequest {
            service: String::new(),
        };
        health.watch(request).await.expect("Watch").into_inner()
    });
    let first = within(&rt, watch.message())
        .expect("Watch")
        .expect("a first status");
    assert_eq!(status_of(&first), ServingStatus::Serving);

    let signalled = Instant::now();
    p.signal(Signal::SIGTERM);

    let watched = within(&rt, watch.message())
        .expect("Watch")
        .expect("a second status");
    assert_eq!(status_of(&watched), ServingStatus::NotServing);
    let watch_flip = signalled.elapsed();
    let check_flip = within(
        &rt,
        eventually(Duration::from_secs(5), "NOT_SERVING from Check", || async {
            (check(addr, "").await.ok()? == ServingStatus::NotServing).then(|| signalled.elapsed())
        }),
    );
    let echo_status = within(&rt, check(addr, "echo.Echo")).expect("Check");
    assert_eq!(echo_status, ServingStatus::NotServing);
    // Still serving, on a new connection, during the lame duck.
    let mut echo = Echo::new(within(&rt, channel(addr)));
    let answer = within(&rt, echo.say("still here".to_owned(), 10));
    assert_eq!(answer.expect("Say in the lame duck"), "still here");
    assert!(
        signalled.elapsed() < Duration::from_secs(3),
        "the checks outlasted the lame duck"
    );

    let end = within(&rt, watch.message()).expect("Watch ends with OK");
    let watch_ended = signalled.elapsed();
    assert!(end.is_none(), "{end:?}");
    assert!(
        watch_ended >= Duration::from_millis(2900),
        "the Watch ended {watch_ended:?} after SIGTERM, in the lame duck"
    );

    let exit = p.wait(EXIT);
    let exited = signalled.elapsed();
    assert_eq!(exit.code, Some(0), "{exit}");
    eprintln!(
        "NOT_SERVING {watch_flip:?} after SIGTERM on Watch, {check_flip:?} from a new Check; the Watch \
         ended with OK {watch_ended:?} after SIGTERM (lame duck 3 s); exit 0 {exited:?} after SIGTERM"
    );
}
