//! The flagship: an HTTP API, a worker queue and a SQLite database, shut
//! down in dependency order with zero requests and zero writes lost.
//!
//! ```text
//! cargo run --example service
//! curl -i -d 'hello' localhost:3000/jobs         # 202 Accepted, body: the job id
//! curl localhost:3000/jobs/1                     # the job as written to the database
//! curl -i localhost:3000/ready                   # 200, then 503 once shutdown is requested
//! kill -TERM <pid>                               # or Ctrl-C
//! ```
//!
//! `POST /jobs` answers `202` with the job's id only once the job is in the
//! queue; workers take jobs from the queue and write each one to the
//! database; `GET /jobs/{id}` reports a job; `GET /ready`, `GET /live`.
//!
//! Environment: `ADDR` (default `127.0.0.1:3000`), `DATABASE` (default
//! `service.db` in the working directory), `WORKERS` (default 4), `JOB_MS`
//! (simulated work per job, default 1), and the runtime's
//! `GRACEFUL_TIMEOUT` / `GRACEFUL_LAME_DUCK`.
//!
//! The scopes say the order of the shutdown:
//!
//! ```text
//! main              owns the database; its hook "close database" runs last
//! └── workers       the workers; drained once the http scope is
//!     └── http      the server, drained first
//! ```
//!
//! On SIGTERM: `/ready` answers 503 at once; the optional lame duck passes
//! (everything is still served); the server stops accepting and answers
//! what is in flight; the queue's last sender goes with the router, so the
//! workers empty the queue and stop; then the database is checkpointed and
//! closed (no `-wal` file is left). Each phase prints a line as it ends.
//! Exit 0.
//!
//! This file is the lesson; `db.rs` is the SQLite plumbing (one connection
//! on a thread of its own, group commit) and `summary.rs` the lines printed
//! at shutdown.

mod db;
mod summary;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use graceful::Context;
use tokio::sync::{Mutex, mpsc};

use db::Db;
use summary::Summary;

#[graceful::main]
async fn main(ctx: Context) -> anyhow::Result<()> {
    let addr = env("ADDR", "127.0.0.1:3000");
    let path = env("DATABASE", "service.db");
    let workers: usize = env("WORKERS", "4").parse()?;
    let job_time = Duration::from_millis(env("JOB_MS", "1").parse()?);

    // Open the database before accepting anything.
    let db = Db::open(&path).await?;
    let listener = graceful::http::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    println!("database {path}, {workers} workers; SIGTERM or Ctrl-C drains and exits");
    let summary = Summary::new(&db); // a line as each phase of the shutdown ends

    // Root scope: the database outlives everything else.
    ctx.defer(
        "close database",
        summary.database_closed(db.clone().close()),
    );

    // Workers: each ends when the queue is closed and empty.
    let workers_ctx = ctx.scope("workers");
    workers_ctx.defer("summary: queue", summary.queue_drained());
    let (queue, jobs) = mpsc::channel::<Job>(1024);
    let jobs = Arc::new(Mutex::new(jobs));
    for n in 1..=workers {
        workers_ctx.spawn(
            format!("worker {n}"),
            worker(n, jobs.clone(), db.clone(), job_time),
        );
    }

    // The API, in a scope under the workers: drained before them.
    let app = Router::new()
        .route("/jobs", post(submit))
        .route("/jobs/{id}", get(report))
        .merge(graceful::http::health_routes())
        .with_state(Api { queue, db });
    let server = graceful::http::serve(&workers_ctx, listener, app);
    workers_ctx.spawn("summary: http", summary.http(&workers_ctx, server));
    Ok(())
}

fn env(var: &str, default: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| default.to_owned())
}

/// A job: its id and the text posted.
struct Job {
    id: u64,
    body: String,
}

#[derive(Clone)]
struct Api {
    queue: mpsc::Sender<Job>,
    db: Db,
}

/// `POST /jobs`: 202 with the id, once the job is in the queue.
async fn submit(State(api): State<Api>, body: String) -> (StatusCode, String) {
    let id = api.db.new_id();
    // The queue closes only when the last router clone is gone, so while a
    // request is served this cannot fail unless every worker died.
    match api.queue.send(Job { id, body }).await {
        Ok(()) => (StatusCode::ACCEPTED, format!("{id}\n")),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "the workers are gone\n".into(),
        ),
    }
}

/// `GET /jobs/{id}`: the job as written, `queued` if it is not written yet.
async fn report(State(api): State<Api>, Path(id): Path<u64>) -> (StatusCode, String) {
    match api.db.get(id).await {
        Ok(Some(job)) => (StatusCode::OK, job),
        Ok(None) => (StatusCode::NOT_FOUND, format!("no job {id}\n")),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")),
    }
}

/// Takes jobs until the queue is closed and empty; cancellation does not
/// stop it, the closing of the queue does (every producer is gone by then).
async fn worker(
    n: usize,
    queue: Arc<Mutex<mpsc::Receiver<Job>>>,
    db: Db,
    job_time: Duration,
) -> anyhow::Result<()> {
    loop {
        let Some(job) = queue.lock().await.recv().await else {
            return Ok(());
        };
        if !job_time.is_zero() {
            tokio::time::sleep(job_time).await;
        }
        let words = job.body.split_whitespace().count();
        let result = format!("{} bytes, {words} words", job.body.len());
        db.insert(job.id, job.body, result, n).await?;
    }
}
