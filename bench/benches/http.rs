//! HTTP throughput: `graceful::http::serve` against plain
//! `axum::serve(..).with_graceful_shutdown(..)`, same router, same client,
//! side by side in one run.
//!
//! `graceful::http::serve` sets `TCP_NODELAY` on its connections; axum does
//! not by default, so axum is measured both ways. After criterion's
//! figures, a paired comparison alternates batches of the three servers so
//! that all see the same machine load, and prints the median throughput
//! ratio of graceful to each axum variant.
//!
//! Each iteration sends `CONNECTIONS x PER_CONNECTION` `GET /` requests
//! from an in-process hyper client (keep-alive connections, each one used by
//! one client task at a time) and waits for every answer. Both servers run
//! in the same tokio runtime as the client, on 127.0.0.1.
//!
//! ```text
//! cd bench && cargo bench --bench http -- --noplot
//! ```

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use axum::serve::ListenerExt;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio_util::sync::CancellationToken;

/// Concurrent client tasks (and so keep-alive connections).
const CONNECTIONS: usize = 32;
/// Requests each client task sends per iteration.
const PER_CONNECTION: usize = 64;
/// Rounds of the paired comparison printed after criterion's figures.
const PAIRED_ROUNDS: usize = 40;

fn router() -> Router {
    Router::new().route("/", get(|| async { "hello, world" }))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// `graceful::http::serve` under a runtime supervised without signals.
async fn start_graceful() -> (SocketAddr, graceful::Context) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(graceful::Runtime::new().signals([]).supervise(
        |ctx: graceful::Context| async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            graceful::http::serve(&ctx, listener, router());
            let _ = tx.send((addr, ctx.clone()));
        },
    ));
    rx.await.unwrap()
}

/// Plain axum with graceful shutdown, the way its docs show it; with
/// `nodelay`, `TCP_NODELAY` on every connection as `graceful::http::serve`
/// sets it.
async fn start_axum(stop: &CancellationToken, nodelay: bool) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = stop.clone().cancelled_owned();
    if nodelay {
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let server = axum::serve(listener, router()).with_graceful_shutdown(shutdown);
        tokio::spawn(server.into_future());
    } else {
        let server = axum::serve(listener, router()).with_graceful_shutdown(shutdown);
        tokio::spawn(server.into_future());
    }
    addr
}

/// Sends one batch of requests and returns how long it took.
async fn batch(client: &Client<HttpConnector, Body>, addr: SocketAddr) -> Duration {
    let uri: hyper::Uri = format!("http://{addr}/").parse().unwrap();
    let started = Instant::now();
    let tasks: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let (client, uri) = (client.clone(), uri.clone());
            tokio::spawn(async move {
                for _ in 0..PER_CONNECTION {
                    let response = client.get(uri.clone()).await.expect("request");
                    assert!(response.status().is_success());
                    let body = axum::body::to_bytes(Body::new(response.into_body()), 1 << 16)
                        .await
                        .expect("body");
                    assert_eq!(&body[..], b"hello, world");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    started.elapsed()
}

fn http_throughput(c: &mut Criterion) {
    let rt = runtime();
    let (graceful_addr, graceful_ctx) = rt.block_on(start_graceful());
    let axum_stop = CancellationToken::new();
    let axum_addr = rt.block_on(start_axum(&axum_stop, false));
    let axum_nodelay_addr = rt.block_on(start_axum(&axum_stop, true));
    let client: Client<HttpConnector, Body> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(CONNECTIONS)
        .build_http();

    let mut g = c.benchmark_group("http_throughput");
    g.throughput(Throughput::Elements((CONNECTIONS * PER_CONNECTION) as u64));
    g.measurement_time(Duration::from_secs(8))
        .warm_up_time(Duration::from_secs(2));
    for (name, addr) in [
        ("axum_serve_with_graceful_shutdown", axum_addr),
        (
            "axum_serve_with_graceful_shutdown_nodelay",
            axum_nodelay_addr,
        ),
        ("graceful_http_serve", graceful_addr),
    ] {
        let client = &client;
        g.bench_function(BenchmarkId::new(name, CONNECTIONS), |b| {
            b.to_async(&rt).iter_custom(|iters| async move {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += batch(client, addr).await;
                }
                total
            })
        });
    }
    g.finish();

    // The machine's load drifts between criterion's runs of one contender
    // and the next; batches alternated in rounds see the same load.
    let contenders = [axum_addr, axum_nodelay_addr, graceful_addr];
    let mut ratios: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    rt.block_on(async {
        for round in 0..PAIRED_ROUNDS {
            let mut took = [Duration::ZERO; 3];
            for _ in 0..5 {
                // Rotate which contender goes first, too.
                for k in 0..3 {
                    let i = (round + k) % 3;
                    took[i] += batch(&client, contenders[i]).await;
                }
            }
            for (r, axum) in ratios.iter_mut().zip(took) {
                r.push(axum.as_secs_f64() / took[2].as_secs_f64());
            }
        }
    });
    for (name, mut r) in [
        ("axum_serve_with_graceful_shutdown", ratios[0].clone()),
        (
            "axum_serve_with_graceful_shutdown_nodelay",
            ratios[1].clone(),
        ),
    ] {
        r.sort_by(f64::total_cmp);
        println!(
            "paired: graceful_http_serve / {name} throughput: median {:.3}x (quartiles {:.3}x .. {:.3}x; {PAIRED_ROUNDS} rounds of 5 batches each, alternated)",
            r[r.len() / 2],
            r[r.len() / 4],
            r[r.len() * 3 / 4],
        );
    }

    graceful_ctx.shutdown();
    axum_stop.cancel();
}

criterion_group!(benches, http_throughput);
criterion_main!(benches);
