//! `graceful::http` under load and faults: the `http_server` and
//! `http_client` examples driven over real sockets with real signals, and
//! the server's drain rules checked in process.
#![cfg(all(unix, feature = "http"))]

mod common;
mod http_util;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use common::{Signal, example, start};
use graceful::http::{RequestContext, Server};
use http_util::{
    Client, eventually, hi, http_server, refused, runtime, with_server, work_in_flight,
};

/// The first stdout line is exactly `listening on http://IP:PORT`.
fn assert_first_line(exit: &common::Exit, addr: SocketAddr) {
    assert_eq!(
        exit.stdout.first().map(String::as_str),
        Some(format!("listening on http://{addr}").as_str()),
        "{exit}"
    );
}

/// 300 slow requests in flight, SIGTERM: every one is answered in full, the
/// listener refuses new connections at once, the process exits 0 right
/// after the last answer.
#[test]
fn three_hundred_requests_in_flight_are_all_answered() {
    const N: usize = 300;
    let (p, addr) = http_server(&[]);
    let rt = runtime();
    let clients = work_in_flight(&rt, addr, N, 1000);

    let signalled = Instant::now();
    p.signal(Signal::SIGTERM);
    let refused_at = rt.block_on(eventually(
        Duration::from_secs(5),
        "a refused connection",
        || async { refused(addr).await.then(Instant::now) },
    ));

    let answers: Vec<_> = rt.block_on(async {
        let mut answers = Vec::new();
        for c in clients {
            answers.push(c.await.expect("client task"));
        }
        answers
    });
    let mut last = signalled;
    for (i, a) in answers.iter().enumerate() {
        let a = a
            .as_ref()
            .unwrap_or_else(|e| panic!("request {i} failed: {e}"));
        assert_eq!(
            (a.status, a.body.as_str()),
            (200, "done"),
            "request {i}: {a:?}"
        );
        assert!(
            a.closes(),
            "request {i} answered without `Connection: close`: {a:?}"
        );
        last = last.max(a.at);
    }
    let first = answers
        .iter()
        .map(|a| a.as_ref().unwrap().at)
        .min()
        .unwrap();
    assert!(
        refused_at < first,
        "the listener was still open when the first in-flight request was answered"
    );

    let exit = p.wait(Duration::from_secs(20));
    let exited = Instant::now();
    assert_eq!(exit.code, Some(0), "{exit}");
    assert_first_line(&exit, addr);
    assert!(
        exited.duration_since(last) < Duration::from_secs(2),
        "exit {:?} after the last answer\n{exit}",
        exited.duration_since(last)
    );
    let summary = exit.line("in flight at shutdown");
    assert!(
        exit.stdout[summary].contains(&format!("{N} in flight at shutdown")),
        "{exit}"
    );
    eprintln!(
        "{N}/{N} answered; listener refused {:?} after SIGTERM; last answer {:?} after SIGTERM; exit {:?} after it",
        refused_at - signalled,
        last - signalled,
        exited - last
    );
}

/// SIGUSR1 on a real server with requests in flight: the task dump lists
/// each of them (method, path without the query string, peer, age) under
/// the `http` scope, the process goes on, and SIGTERM still answers them.
#[test]
fn the_task_dump_lists_the_requests_in_flight() {
    const N: usize = 3;
    let (mut p, addr) = http_server(&[]);
    let rt = runtime();
    let clients = work_in_flight(&rt, addr, N, 2000);
    p.signal(Signal::SIGUSR1);
    let first = p.wait_for_stderr("`GET /work` from 127.0.0.1:");
    assert!(first.contains(", in flight for "), "{first}");
    p.signal(Signal::SIGTERM);
    for c in clients {
        let answer = rt.block_on(c).expect("client task").expect("answered");
        assert_eq!((answer.status, answer.body.as_str()), (200, "done"));
    }
    let exit = p.wait(Duration::from_secs(20));
    assert_eq!(exit.code, Some(0), "{exit}");
    let listed = exit
        .stderr
        .lines()
        .filter(|l| l.contains("`GET /work` from 127.0.0.1:"))
        .count();
    assert_eq!(listed, N, "one dump line per request in flight: {exit}");
    assert!(
        !exit.stderr.contains("ms=2000"),
        "the query string is left out: {exit}"
    );
    let scope = exit
        .stderr
        .find("scope `main/http`")
        .expect("the http scope");
    let request = exit.stderr.find("`GET /work`").unwrap();
    assert!(scope < request, "listed under the http scope: {exit}");
}

/// 50 open event streams end within 500 ms of SIGTERM, each with its last
/// `shutdown` event.
#[test]
fn open_streams_end_promptly() {
    const N: usize = 50;
    let (p, addr) = http_server(&[]);
    let rt = runtime();
    let streaming = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..N)
        .map(|_| {
            let streaming = streaming.clone();
            rt.spawn(async move {
                let mut c = Client::connect(addr).await?;
                c.send("GET", "/stream", "").await?;
                // The head, then raw body lines until the first event.
                let mut seen = String::new();
                while !seen.contains("event: tick") {
                    seen.push_str(&c.read_line().await?);
                }
                streaming.fetch_add(1, Ordering::SeqCst);
                // Read to the end of the stream: its last chunk (`0`, then
                // an empty line).
                loop {
                    let line = c.read_line().await?;
                    if line == "0\r\n" {
                        c.read_line().await?;
                        break;
                    }
                    if line.is_empty() {
                        break;
                    }
                    seen.push_str(&line);
                }
                let ended = Instant::now();
                // Then the connection closes: at once when the response
                // ended after the drain began, after the grace when it
                // ended just before (the client may send its next request).
                let closed = c.closed_within(Duration::from_secs(5)).await;
                assert!(closed, "the connection stays open after the stream");
                std::io::Result::Ok((seen, ended))
            })
        })
        .collect();
    rt.block_on(eventually(
        Duration::from_secs(20),
        "50 open streams",
        || async { (streaming.load(Ordering::SeqCst) == N).then_some(()) },
    ));

    let signalled = Instant::now();
    p.signal(Signal::SIGTERM);
    let mut slowest = Duration::ZERO;
    for (i, c) in clients.into_iter().enumerate() {
        let (body, ended) = rt
            .block_on(c)
            .expect("client task")
            .unwrap_or_else(|e| panic!("stream {i}: {e}"));
        assert!(body.contains("event: shutdown"), "stream {i}: {body}");
        slowest = slowest.max(ended - signalled);
    }
    assert!(
        slowest < Duration::from_millis(500),
        "a stream took {slowest:?} to end"
    );
    let exit = p.wait(Duration::from_secs(10));
    assert_eq!(exit.code, Some(0), "{exit}");
    eprintln!("{N} streams ended at most {slowest:?} after SIGTERM");
}

/// 20 WebSocket sessions: at SIGTERM each gets a close frame with code 1001
/// ("going away") promptly, and the drain waits for the close handshake.
#[test]
fn websockets_close_with_going_away() {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    const N: usize = 20;
    let (p, addr) = http_server(&[]);
    let rt = runtime();
    let open = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..N)
        .map(|i| {
            let open = open.clone();
            rt.spawn(async move {
                let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
                    .await
                    .unwrap_or_else(|e| panic!("websocket {i}: {e}"));
                let mut counted = false;
                while let Some(message) = ws.next().await {
                    match message.unwrap_or_else(|e| panic!("websocket {i}: {e}")) {
                        Message::Text(t) if t.starts_with("tick") && !counted => {
                            counted = true;
                            open.fetch_add(1, Ordering::SeqCst);
                        }
                        Message::Close(frame) => {
                            let frame = frame.expect("a close frame with a code");
                            return (
                                u16::from(frame.code),
                                frame.reason.to_string(),
                                Instant::now(),
                            );
                        }
                        _ => {}
                    }
                }
                panic!("websocket {i} ended without a close frame");
            })
        })
        .collect();
    rt.block_on(eventually(
        Duration::from_secs(20),
        "20 open websockets",
        || async { (open.load(Ordering::SeqCst) == N).then_some(()) },
    ));

    let signalled = Instant::now();
    p.signal(Signal::SIGTERM);
    let mut slowest = Duration::ZERO;
    for c in clients {
        let (code, reason, at) = rt.block_on(c).expect("websocket client");
        assert_eq!((code, reason.as_str()), (1001, "server shutting down"));
        slowest = slowest.max(at - signalled);
    }
    assert!(
        slowest < Duration::from_millis(500),
        "a close frame took {slowest:?}"
    );
    let exit = p.wait(Duration::from_secs(10));
    assert_eq!(exit.code, Some(0), "{exit}");
    eprintln!("{N} websockets got close 1001 at most {slowest:?} after SIGTERM");
}

/// With a lame duck: `/ready` answers 503 within 50 ms of the signal while
/// new connections and requests are still served, each response telling
/// its client to leave (`Connection: close`: issue 24 item 2); an idle
/// keep-alive connection stays open until the drain.
#[test]
fn readiness_flips_at_once_and_the_lame_duck_still_serves() {
    let (p, addr) = http_server(&[("GRACEFUL_LAME_DUCK", "1s")]);
    let rt = runtime();
    let ready = rt.block_on(http_util::get(addr, "/ready")).unwrap();
    assert_eq!((ready.status, ready.body.as_str()), (200, "ready\n"));
    // Keep-alive connections opened before the signal: one used in the lame
    // duck, one idle.
    let mut kept = rt.block_on(Client::connect(addr)).unwrap();
    let mut idle = rt.block_on(Client::connect(addr)).unwrap();

    let signalled = Instant::now();
    p.signal(Signal::SIGTERM);
    let flipped = rt.block_on(http_util::not_ready(addr));
    let flip = flipped.0 - signalled;
    assert!(
        flip < Duration::from_millis(50),
        "/ready flipped after {flip:?}"
    );
    assert_eq!(flipped.1.body, "not ready: lame duck\n");

    // Still serving during the lame duck: a new connection, and the old one,
    // each told to leave.
    let work = rt.block_on(http_util::get(addr, "/work?ms=10")).unwrap();
    assert_eq!((work.status, work.body.as_str()), (200, "done"));
    assert!(work.closes(), "no `Connection: close` in the lame duck");
    let live = rt.block_on(kept.request("GET", "/live", "")).unwrap();
    assert_eq!(live.status, 200);
    assert!(live.closes(), "no `Connection: close` in the lame duck");
    assert!(rt.block_on(kept.closed_within(Duration::from_millis(500))));
    assert!(
        signalled.elapsed() < Duration::from_secs(1),
        "the checks outlasted the lame duck"
    );

    // After the lame duck, the idle keep-alive connection is closed.
    assert!(rt.block_on(idle.closed_within(Duration::from_secs(5))));
    let closed = signalled.elapsed();
    assert!(
        closed >= Duration::from_millis(950),
        "drained after {closed:?}, before the lame duck ended"
    );
    let exit = p.wait(Duration::from_secs(10));
    assert_eq!(exit.code, Some(0), "{exit}");
    assert_first_line(&exit, addr);
    eprintln!(
        "/ready answered 503 {flip:?} after SIGTERM; idle connection closed {closed:?} after it"
    );
}

/// `http_client` alone (its own server): SIGTERM cancels the request in
/// flight instead of waiting a minute for it; exit 0.
#[test]
fn client_requests_are_cancelled_with_the_context() {
    let mut cmd = example("http_client");
    cmd.env_remove("ADDR").env("MS", "60000");
    let mut p = start(cmd);
    p.wait_for("http_client: requesting");
    p.signal(Signal::SIGTERM);
    let signalled = Instant::now();
    let exit = p.wait(Duration::from_secs(10));
    assert_eq!(exit.code, Some(0), "{exit}");
    exit.line("request 1: cancelled after");
    exit.line("http_client: stopped");
    assert!(signalled.elapsed() < Duration::from_secs(5), "{exit}");
}

/// `http_client` against `http_server`: finished requests are printed, the
/// one in flight at SIGTERM is dropped, exit 0 at once.
#[test]
fn client_against_the_example_server() {
    let (_server, addr) = http_server(&[]);
    let mut cmd = example("http_client");
    cmd.env("ADDR", addr.to_string()).env("MS", "50");
    let mut p = start(cmd);
    p.wait_for("request 2: done");
    p.signal(Signal::SIGTERM);
    let signalled = Instant::now();
    let exit = p.wait(Duration::from_secs(10));
    assert_eq!(exit.code, Some(0), "{exit}");
    assert!(
        exit.stdout
            .iter()
            .any(|l| l.contains("cancelled after") || l.contains("done"))
    );
    exit.line("http_client: stopped");
    assert!(signalled.elapsed() < Duration::from_secs(5), "{exit}");
}

// ---- in process -------------------------------------------------------------

/// A client that connected before the shutdown but sends its request after
/// it is answered (with `Connection: close`), not reset.
#[test]
fn a_connection_accepted_before_the_drain_may_still_send_its_request() {
    with_server(Server::new(hi()), |ctx, addr, server| async move {
        let mut c = Client::connect(addr).await.unwrap();
        // Make sure the server accepted it: a request on another connection
        // is answered after the accept loop saw ours.
        http_util::get(addr, "/").await.unwrap();
        ctx.shutdown();
        eventually(Duration::from_secs(5), "the listener to close", || async {
            refused(addr).await.then_some(())
        })
        .await;
        let r = c
            .request("GET", "/", "")
            .await
            .expect("answered after the drain began");
        assert_eq!((r.status, r.body.as_str()), (200, "hi"));
        assert!(r.closes());
        let served = server.await.unwrap();
        assert_eq!(served.requests, 2);
        assert_eq!(served.drained, 1);
    });
}

/// At the drain, a connection that is not mid-request, idle between two
/// keep-alive requests or silent since its accept, is given the grace to
/// send a request, then closed.
#[test]
fn idle_connections_are_closed_after_the_grace() {
    const GRACE: Duration = Duration::from_millis(300);
    with_server(
        Server::new(hi()).grace(GRACE),
        |ctx, addr, server| async move {
            let mut idle = Client::connect(addr).await.unwrap();
            let r = idle.request("GET", "/", "").await.unwrap();
            assert!(!r.closes());
            let mut silent = Client::connect(addr).await.unwrap();
            http_util::get(addr, "/").await.unwrap();
            let began = Instant::now();
            ctx.shutdown();
            assert!(idle.closed_within(Duration::from_secs(5)).await);
            let idle_closed = began.elapsed();
            assert!(silent.closed_within(Duration::from_secs(5)).await);
            let silent_closed = began.elapsed();
            for closed in [idle_closed, silent_closed] {
                assert!(
                    closed >= GRACE - Duration::from_millis(50) && closed < GRACE * 3,
                    "closed {closed:?} after the drain began, the grace is {GRACE:?}"
                );
            }
            server.await.unwrap();
        },
    );
}

/// At the drain, a keep-alive connection that was quiet for longer than the
/// grace (a pool's spare) is closed at once, while one that has just been
/// used gets the grace.
#[test]
fn quiet_connections_are_closed_at_once() {
    const GRACE: Duration = Duration::from_millis(600);
    // The watchdog looks every 500 ms (a quarter of the header timeout).
    let server = Server::new(hi())
        .grace(GRACE)
        .header_read_timeout(Duration::from_secs(2));
    with_server(server, |ctx, addr, server| async move {
        let mut quiet = Client::connect(addr).await.unwrap();
        assert!(!quiet.request("GET", "/", "").await.unwrap().closes());
        // Three looks or more: quiet for a full second at least.
        tokio::time::sleep(Duration::from_millis(2_000)).await;
        let mut recent = Client::connect(addr).await.unwrap();
        assert!(!recent.request("GET", "/", "").await.unwrap().closes());
        let began = Instant::now();
        ctx.shutdown();
        assert!(quiet.closed_within(Duration::from_secs(5)).await);
        let quiet_closed = began.elapsed();
        assert!(recent.closed_within(Duration::from_secs(5)).await);
        let recent_closed = began.elapsed();
        assert!(
            quiet_closed < GRACE / 2,
            "the quiet connection closed {quiet_closed:?} after the drain began"
        );
        assert!(
            recent_closed >= GRACE - Duration::from_millis(50),
            "the connection just used closed {recent_closed:?} after the drain began, the grace is {GRACE:?}"
        );
        server.await.unwrap();
    });
}

/// The request's context is cancelled when the drain begins: a long poll
/// answers at once; tasks it spawns are awaited.
#[test]
fn handlers_see_the_drain_through_their_context() {
    async fn long_poll(RequestContext(ctx): RequestContext) -> &'static str {
        match ctx
            .run_until_cancelled(tokio::time::sleep(Duration::from_secs(30)))
            .await
        {
            Some(()) => "timeout",
            None => "draining",
        }
    }
    let app = Router::new()
        .route("/poll", get(long_poll))
        .route("/ready", get(graceful::http::ready));
    with_server(Server::new(app), |ctx, addr, server| async move {
        let mut c = Client::connect(addr).await.unwrap();
        c.send("GET", "/poll", "").await.unwrap();
        eventually(
            Duration::from_secs(5),
            "the long poll to be in flight",
            || async {
                // The ready probe is served on another connection once ours is accepted.
                let r = http_util::get(addr, "/ready").await.ok()?;
                (r.status == 200).then_some(())
            },
        )
        .await;
        let began = Instant::now();
        ctx.shutdown();
        let r = c.response().await.unwrap();
        assert_eq!(r.body, "draining");
        assert!(r.closes());
        assert!(began.elapsed() < Duration::from_secs(2));
        server.await.unwrap();
    });
}

/// Behind layers that move the request to a task of their own (tower's
/// `Buffer`, whose worker task calls the route; a middleware that runs the
/// rest of the chain in a spawned task) the handler still gets its
/// request's context, and it is cancelled when the drain begins: the long
/// polls answer at once, with `Connection: close`.
#[test]
fn the_request_context_survives_layers_that_change_tasks() {
    use axum::error_handling::HandleErrorLayer;
    use axum::middleware::{self, Next};
    use tower::ServiceBuilder;
    use tower::buffer::BufferLayer;

    let polling = Arc::new(AtomicUsize::new(0));
    let long_poll = {
        let polling = polling.clone();
        move |RequestContext(ctx): RequestContext| async move {
            polling.fetch_add(1, Ordering::SeqCst);
            match ctx
                .run_until_cancelled(tokio::time::sleep(Duration::from_secs(30)))
                .await
            {
                Some(()) => "timeout".to_owned(),
                None => format!("draining {}", ctx.path()),
            }
        }
    };
    async fn in_a_task_of_its_own(
        req: axum::extract::Request,
        next: Next,
    ) -> axum::response::Response {
        tokio::spawn(next.run(req)).await.unwrap()
    }
    let report = graceful::Runtime::new()
        .signals([])
        .timeout(Duration::from_secs(20))
        .block_on(|ctx: graceful::Context| async move {
            // In the runtime: the buffer's worker is a task.
            let buffered = Router::new()
                .route("/buffered", get(long_poll.clone()))
                .layer(
                    ServiceBuilder::new()
                        .layer(HandleErrorLayer::new(|e: tower::BoxError| async move {
                            (axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
                        }))
                        .layer(BufferLayer::new(16)),
                );
            let spawned = Router::new()
                .route("/spawned", get(long_poll))
                .layer(middleware::from_fn(in_a_task_of_its_own));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = graceful::http::serve(&ctx, listener, buffered.merge(spawned));
            let mut clients = Vec::new();
            for path in ["/buffered", "/spawned"] {
                let mut c = Client::connect(addr).await.unwrap();
                c.send("GET", path, "").await.unwrap();
                clients.push((path, c));
            }
            eventually(
                Duration::from_secs(5),
                "both long polls to have their context",
                || async { (polling.load(Ordering::SeqCst) == 2).then_some(()) },
            )
            .await;
            let began = Instant::now();
            ctx.shutdown();
            for (path, mut c) in clients {
                let r = c.response().await.unwrap();
                assert_eq!(
                    (r.status, r.body.as_str()),
                    (200, "draining main/http"),
                    "{path}"
                );
                assert!(r.closes(), "{path}: {r:?}");
            }
            assert!(began.elapsed() < Duration::from_secs(2));
            let served = server.await.unwrap();
            assert_eq!((served.in_flight_at_drain, served.drained), (2, 2));
        });
    assert_eq!(report.exit_code(), 0, "{report}");
}

/// A request that did not come through `serve` (a router called directly)
/// has no `RequestContext`: `500`, saying why.
#[tokio::test]
async fn a_request_not_served_has_no_context() {
    use axum::extract::FromRequestParts;
    use axum::response::IntoResponse;
    let (mut parts, ()) = axum::http::Request::new(()).into_parts();
    let missing = RequestContext::from_request_parts(&mut parts, &())
        .await
        .unwrap_err();
    assert!(missing.to_string().starts_with("no request context"));
    assert_eq!(missing.into_response().status(), 500);
}

/// An HTTP/2 (prior knowledge) client with its connection to `addr` open,
/// by a `GET /` that answers `up`: requests sent at once to a connection
/// that does not exist yet may make the client open two.
async fn h2_connected(addr: SocketAddr) -> reqwest::Client {
    let client = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let up = client.get(format!("http://{addr}/")).send().await.unwrap();
    assert_eq!(up.version(), reqwest::Version::HTTP_2);
    assert_eq!(up.text().await.unwrap(), "up");
    client
}

/// HTTP/2 (prior knowledge): requests in flight on one multiplexed
/// connection complete after the drain began (hyper sends `GOAWAY`); the
/// connection then closes and new connections are refused.
#[test]
fn http2_streams_in_flight_complete() {
    let in_handler = Arc::new(AtomicUsize::new(0));
    let counter = in_handler.clone();
    let app = Router::new().route("/", get(|| async { "up" })).route(
        "/slow",
        get(move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(300)).await;
                "slow done"
            }
        }),
    );
    with_server(Server::new(app), move |ctx, addr, server| async move {
        let client = h2_connected(addr).await;
        let requests: Vec<_> = (0..5)
            .map(|_| {
                let (client, url) = (client.clone(), format!("http://{addr}/slow"));
                tokio::spawn(async move {
                    let r = client.get(url).send().await?;
                    assert_eq!(r.version(), reqwest::Version::HTTP_2);
                    assert_eq!(r.status(), 200);
                    r.text().await
                })
            })
            .collect();
        eventually(Duration::from_secs(10), "5 streams in flight", || async {
            (in_handler.load(Ordering::SeqCst) == 5).then_some(())
        })
        .await;
        ctx.shutdown();
        for r in requests {
            assert_eq!(r.await.unwrap().unwrap(), "slow done");
        }
        let served = server.await.unwrap();
        assert_eq!((served.connections, served.requests), (1, 6));
        assert!(refused(addr).await);
    });
}

/// HTTP/2 streams that the drain's own cancellation ends (long polls) are
/// counted as in flight at the drain, all of them: each stream runs on a
/// task of its own, and before stop 23 the count was the connection's,
/// read by its task after the streams that ended on other workers had left
/// it (55 in flight counted 54 or 52 in 2 runs of 7). Ten rounds of 40.
#[test]
fn http2_streams_ended_by_the_drain_are_all_counted_in_flight() {
    const STREAMS: usize = 40;
    for round in 0..10 {
        let in_handler = Arc::new(AtomicUsize::new(0));
        let counter = in_handler.clone();
        let app = Router::new().route("/", get(|| async { "up" })).route(
            "/poll",
            get(move |RequestContext(ctx): RequestContext| {
                let counter = counter.clone();
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    ctx.cancelled().await;
                    "drained"
                }
            }),
        );
        with_server(Server::new(app), move |ctx, addr, server| async move {
            let client = h2_connected(addr).await;
            let polls: Vec<_> = (0..STREAMS)
                .map(|_| {
                    let (client, url) = (client.clone(), format!("http://{addr}/poll"));
                    tokio::spawn(async move { client.get(url).send().await?.text().await })
                })
                .collect();
            eventually(
                Duration::from_secs(10),
                "every stream in flight",
                || async { (in_handler.load(Ordering::SeqCst) == STREAMS).then_some(()) },
            )
            .await;
            ctx.shutdown();
            for poll in polls {
                assert_eq!(poll.await.unwrap().unwrap(), "drained");
            }
            let served = server.await.unwrap();
            assert_eq!(
                (served.connections, served.in_flight_at_drain),
                (1, STREAMS as u64),
                "round {round}: {served:?}"
            );
        });
    }
}

/// The line of the `panic!` in [`buggy`].
const BUGGY_PANICS_AT: u32 = line!() + 3;
/// A handler with a bug.
async fn buggy() -> &'static str {
    panic!("handler bug")
}

/// A handler that panics is answered as a server error, and only its
/// request fails (issue 25 #9): `500` over HTTP/1 on a connection that
/// stays usable; `500` on its own stream over HTTP/2 while the streams
/// beside it on the same connection succeed; for a gRPC request the
/// trailers-only answer a gRPC client reads as an internal error
/// (`grpc-status: 13`). Each panic is an isolated failure of the report,
/// named by its request and located at the `panic!`; the exit code stays 0.
#[test]
fn a_panicking_handler_is_answered_as_a_server_error_and_reported() {
    let app = Router::new()
        .route("/panic", get(buggy).post(buggy))
        .route("/", get(|| async { "up" }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(200)).await;
                "slow done"
            }),
        );
    let report = graceful::Runtime::new()
        .signals([])
        .timeout(Duration::from_secs(20))
        .block_on(|ctx| async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = Server::new(app).serve(&ctx, listener);

            // HTTP/1: a 500, and the connection goes on.
            let mut c = Client::connect(addr).await.unwrap();
            let r = c.request("GET", "/panic?token=secret", "").await.unwrap();
            assert_eq!(
                (r.status, r.body.as_str()),
                (500, "internal server error\n")
            );
            let r = c.request("GET", "/", "").await.unwrap();
            assert_eq!((r.status, r.body.as_str()), (200, "up"));

            // HTTP/2: a 500 on its stream; its neighbours are answered.
            let client = h2_connected(addr).await;
            let slow: Vec<_> = (0..4)
                .map(|_| {
                    let (client, url) = (client.clone(), format!("http://{addr}/slow"));
                    tokio::spawn(async move { client.get(url).send().await?.text().await })
                })
                .collect();
            let r = client
                .get(format!("http://{addr}/panic"))
                .send()
                .await
                .unwrap();
            assert_eq!(
                (r.version(), r.status().as_u16()),
                (reqwest::Version::HTTP_2, 500)
            );
            for s in slow {
                assert_eq!(s.await.unwrap().unwrap(), "slow done");
            }

            // gRPC: trailers-only, `grpc-status: 13` (INTERNAL).
            let r = client
                .post(format!("http://{addr}/panic"))
                .header("content-type", "application/grpc")
                .header("te", "trailers")
                .body(vec![0u8, 0, 0, 0, 0])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            let header = |n: &str| r.headers().get(n).map(|v| v.to_str().unwrap().to_owned());
            assert_eq!(header("content-type").as_deref(), Some("application/grpc"));
            assert_eq!(header("grpc-status").as_deref(), Some("13"));
            assert!(header("grpc-message").is_some());
            assert_eq!(r.bytes().await.unwrap().len(), 0);

            assert_eq!(ctx.reason(), None, "a handler's panic stopped the process");
            assert_eq!(http_util::get(addr, "/").await.unwrap().body, "up");
            ctx.shutdown();
            server.await.unwrap();
        });
    assert_eq!(report.exit_code(), 0, "{report}");
    assert_eq!(report.isolated_failures, 3, "{report}");
    let at = format!("{}:{BUGGY_PANICS_AT}:", file!());
    for failure in &report.isolated {
        let graceful::report::FailureKind::Panic(panic) = &failure.kind else {
            panic!("not a panic: {failure}");
        };
        assert_eq!(panic.message, "handler bug");
        assert!(
            panic
                .location
                .as_deref()
                .is_some_and(|l| l.starts_with(&at)),
            "{failure}"
        );
        assert_eq!(failure.who.scope, "main/http");
        assert!(failure.who.name.starts_with("request "), "{failure}");
        assert!(!failure.who.name.contains("secret"), "{failure}");
    }
    let names: Vec<_> = report
        .isolated
        .iter()
        .map(|f| f.who.name.split(" from ").next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "request GET /panic",
            "request GET /panic",
            "request POST /panic"
        ]
    );
    let printed = report.to_string();
    assert!(
        printed.contains("graceful: 3 failures of isolated tasks")
            && printed.contains(&format!("panicked at {at}")),
        "{printed}"
    );
    eprintln!("{printed}");
}

/// A taken port: the error names the address (the OS's message does not).
#[tokio::test]
async fn bind_on_a_taken_port_names_the_address() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let error = graceful::http::bind(addr).await.unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::AddrInUse, "{error}");
    assert!(
        error
            .to_string()
            .starts_with(&format!("cannot bind {addr}: ")),
        "{error}"
    );
}

/// `/ready` says `starting` until `main` returned, while every other route
/// is served; then `ready`, until the shutdown.
#[test]
fn readiness_follows_the_start_up() {
    let (p, addr) = http_server(&[("WARM_UP_MS", "1500")]);
    let rt = runtime();
    let started = Instant::now();
    let r = rt.block_on(http_util::get(addr, "/ready")).unwrap();
    assert_eq!((r.status, r.body.as_str()), (503, "not ready: starting\n"));
    let r = rt.block_on(http_util::get(addr, "/stats")).unwrap();
    assert_eq!(r.status, 200, "served while starting");
    rt.block_on(eventually(Duration::from_secs(10), "ready", || async {
        let r = http_util::get(addr, "/ready").await.ok()?;
        (r.status == 200).then_some(())
    }));
    assert!(
        started.elapsed() >= Duration::from_millis(1000),
        "{:?}",
        started.elapsed()
    );
    p.signal(Signal::SIGTERM);
    let exit = p.wait(Duration::from_secs(10));
    assert_eq!(exit.code, Some(0), "{exit}");
}

/// The program takes itself out of traffic and back, nothing stopped.
#[test]
fn the_program_can_say_it_is_not_ready_and_ready_again() {
    let app = Router::new().merge(graceful::http::health_routes());
    with_server(Server::new(app), |ctx, addr, server| async move {
        let ready = || async { http_util::get(addr, "/ready").await.unwrap() };
        eventually(Duration::from_secs(5), "ready", || async {
            (ready().await.status == 200).then_some(())
        })
        .await;
        ctx.set_ready(false); // the database went away
        let r = ready().await;
        assert_eq!((r.status, r.body.as_str()), (503, "not ready\n"));
        ctx.set_ready(true);
        assert_eq!(ready().await.status, 200);
        ctx.shutdown();
        server.await.unwrap();
    });
}
