//! A server of `graceful_bench::hello_router` on 127.0.0.1, for the HTTP
//! rows driven from outside the process (`benches/wrk.rs`):
//! `http_server graceful|graceful_no_grace|graceful_unlisted|graceful_connect_info|axum|axum_nodelay`. Prints
//! `ready <port>` once it listens, and drains and exits on SIGTERM.
//!
//! - `graceful`: `graceful::http::Server` with its defaults, except room
//!   for 20 000 connections (the default cap is 10 000, the count the
//!   keep-alive row opens);
//! - `graceful_no_grace`: the same with no shutdown grace for idle
//!   connections (`Server::grace(Duration::ZERO)`);
//! - `graceful_unlisted`, `graceful_connect_info`: the same with
//!   `Server::list_requests(false)`, with `Server::connect_info(true)`;
//! - `axum`: `axum::serve(..).with_graceful_shutdown(SIGTERM)`, as its docs
//!   show it; `axum_nodelay`: the same with `TCP_NODELAY`, which graceful
//!   sets on every connection.

use std::time::Duration;

use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};

async fn listen() -> TcpListener {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!("ready {}", listener.local_addr().unwrap().port());
    listener
}

fn main() {
    graceful_bench::raise_nofile();
    let kind = std::env::args().nth(1).expect("a server kind");
    match kind.as_str() {
        "graceful" | "graceful_no_grace" | "graceful_unlisted" | "graceful_connect_info" => {
            graceful::Runtime::new().run(move |ctx| async move {
                let mut server = graceful::http::Server::new(graceful_bench::hello_router())
                    .max_connections(20_000);
                if kind == "graceful_no_grace" {
                    server = server.grace(Duration::ZERO);
                }
                if kind == "graceful_unlisted" {
                    server = server.list_requests(false);
                }
                if kind == "graceful_connect_info" {
                    server = server.connect_info(true);
                }
                server.serve(&ctx, listen().await);
            })
        }
        "axum" | "axum_nodelay" => {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(async {
                let mut term = signal(SignalKind::terminate()).unwrap();
                let listener = listen().await;
                let stop = async move {
                    term.recv().await;
                };
                let router = graceful_bench::hello_router();
                if kind == "axum_nodelay" {
                    let listener = listener.tap_io(|tcp| {
                        let _ = tcp.set_nodelay(true);
                    });
                    axum::serve(listener, router)
                        .with_graceful_shutdown(stop)
                        .await
                        .unwrap();
                } else {
                    axum::serve(listener, router)
                        .with_graceful_shutdown(stop)
                        .await
                        .unwrap();
                }
            });
        }
        other => panic!("unknown server {other}"),
    }
}
