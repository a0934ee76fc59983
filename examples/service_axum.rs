//! The flagship's API without graceful: the same routes (`service/api.rs`)
//! on the same SQLite job queue (`service/db.rs`), served with plain
//! `axum::serve(listener, app).with_graceful_shutdown(signal)` under
//! `#[tokio::main]`, with workers stopped by a `CancellationToken`, the way
//! axum's own examples shut down. It is the baseline of the rolling deploy
//! in `deploy/rolling-restart` (see BENCHMARKS.md), not a model to copy.
//!
//! ```text
//! cargo run --example service_axum     # same environment as `service`: ADDR, DATABASE, WORKERS, JOB_MS
//! ```
//!
//! What it does on SIGTERM or Ctrl-C, as `axum::serve` does: stop
//! accepting at once (new connections are refused), close idle keep-alive
//! connections, finish the requests in flight; then the workers empty the
//! queue and the database is closed. Exit 0. What it does not have:
//! a lame duck. `/ready` answers 200 until the listener is closed, so a
//! load balancer learns that the instance is going only when its health
//! checks start failing, and meanwhile sends it requests that are refused
//! or cut.

#[path = "service"]
mod service {
    pub mod api;
    pub mod db;
}

use std::time::Duration;

use axum::routing::get;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use service::api;
use service::db::{Db, Limits};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let addr = env("ADDR", "127.0.0.1:3000");
    let path = env("DATABASE", "service.db");
    let workers: usize = env("WORKERS", "4").parse()?;
    let job_time = Duration::from_millis(env("JOB_MS", "1").parse()?);
    let limits = Limits {
        queue_bytes: 1 << 20, // as the flagship: at most 1024 jobs waiting
        wait_for_room: Duration::from_secs(1),
        max_pages: None,
    };

    let db = Db::open(&path, limits).await?;
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    println!(
        "database {path}: {} acknowledged jobs resumed; {workers} workers",
        db.counts().resumed
    );

    let stop = CancellationToken::new();
    let mut worker_tasks = JoinSet::new();
    for n in 1..=workers {
        worker_tasks.spawn(worker(stop.clone(), n, db.clone(), job_time));
    }

    let app = api::routes(db.clone())
        .route("/ready", get(|| async { "ready\n" }))
        .route("/live", get(|| async { "alive\n" }));
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;

    // The server has answered what was in flight: no job can arrive any more.
    stop.cancel();
    while let Some(finished) = worker_tasks.join_next().await {
        finished??;
    }
    let counts = db.counts();
    db.close().await?;
    println!(
        "database closed: {} jobs accepted, {} processed, {} refused, {} left",
        counts.acknowledged, counts.processed, counts.refused, counts.waiting
    );
    Ok(())
}

fn env(var: &str, default: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| default.to_owned())
}

/// Ctrl-C or SIGTERM, as in axum's `graceful-shutdown` example.
async fn shutdown_signal() {
    let ctrl_c = async {
        tokio::signal::ctrl_c()
            .await
            .expect("failed to install the Ctrl-C handler");
    };
    #[cfg(unix)]
    let terminate = async {
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("failed to install the SIGTERM handler")
            .recv()
            .await;
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    println!("shutdown: signal received");
}

/// The flagship's worker, stopped by a token: claims jobs and commits their
/// results until it is cancelled and the queue is empty.
async fn worker(
    stop: CancellationToken,
    n: usize,
    db: Db,
    job_time: Duration,
) -> anyhow::Result<()> {
    let mut commits = Vec::new();
    loop {
        let jobs = db.claim(n).await?;
        for commit in commits.drain(..) {
            commit.await?;
        }
        if jobs.is_empty() {
            if stop.is_cancelled() {
                return Ok(());
            }
            stop.run_until_cancelled(db.job_queued()).await;
            continue;
        }
        for job in jobs {
            if !job_time.is_zero() {
                tokio::time::sleep(job_time).await;
            }
            let words = job.body.split_whitespace().count();
            let result = format!("{} bytes, {words} words", job.body.len());
            commits.push(db.finish(job.id, result));
        }
    }
}
