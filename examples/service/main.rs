//! The flagship: an HTTP API, a durable job queue and workers on a SQLite
//! file, shut down in dependency order, and crash-safe: **a 202 means the
//! job is committed**, whatever happens next (SIGTERM, `kill -9`, a power
//! loss, a full disk).
//!
//! ```text
//! cargo run --example service
//! curl -i -d 'hello' localhost:3000/jobs         # 202 Accepted, body: the job id
//! curl localhost:3000/jobs/1                     # the job: queued, claimed or done, and its result
//! curl -i localhost:3000/ready                   # 200; 503 during a lame duck (GRACEFUL_LAME_DUCK=3s)
//! kill -HUP <pid>                                # reload the settings file (SETTINGS=...)
//! kill -USR2 <pid>                               # upgrade: a new process takes over, this one drains
//! kill -TERM <pid>                               # or Ctrl-C
//! ```
//!
//! `POST /jobs` answers `202` with the job's id only once the job is
//! committed to the database, `413` for a body over 64 KiB, `503` with
//! `Retry-After` when the queue is full, `507` when the disk is, and `503`
//! when the database cannot be written. Workers claim jobs from the
//! database and commit their results. `GET /jobs/{id}` reports a job;
//! `GET /ready`, `GET /live`.
//!
//! Environment: `ADDR` (default `127.0.0.1:3000`), `DATABASE` (default
//! `service.db` in the working directory), `WORKERS` (default 4), `JOB_MS`
//! (simulated work per job, default 1), `MAX_PAGES` (a test knob: the
//! database may not grow past this many 4 KiB pages, a full disk without
//! root), `SETTINGS` (a file of settings, read again on `SIGHUP`, which
//! `systemctl reload` sends: see `settings.rs`), and the runtime's
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
//! (everything is still served, HTTP clients told to leave: `Connection:
//! close`, HTTP/2 `GOAWAY`); the server stops accepting and answers
//! what is in flight; then the workers are cancelled: no job can arrive any
//! more, so each one empties the queue and stops; then the database is
//! checkpointed and closed (no `-wal` file is left). Each phase prints a
//! line as it ends. Exit 0.
//!
//! If the drain is cut (the deadline, a second signal), the report says how
//! many jobs were acknowledged but not processed; after `kill -9` nothing
//! prints. Either way those jobs are in the file, and the next start resumes
//! them and says how many.
//!
//! This file is the lesson; `api.rs` holds the HTTP handlers, `db.rs` the
//! SQLite plumbing (the durable queue, group commit) and `summary.rs` the
//! lines printed at shutdown.

mod api;
mod db;
mod settings;
mod summary;

use std::sync::Arc;
use std::time::Duration;

use graceful::{Context, Restart};

use db::{Db, Limits};
use settings::Settings;
use summary::Summary;

#[graceful::main]
async fn main(ctx: Context) -> anyhow::Result<()> {
    let addr = env("ADDR", "127.0.0.1:3000");
    let path = env("DATABASE", "service.db");
    let workers: usize = env("WORKERS", "4").parse()?;
    let settings = Arc::new(Settings::load()?); // JOB_MS, and the file SETTINGS names
    // `systemctl reload` (SIGHUP) reads the settings file again; a bad one
    // keeps what the service had, and the runtime says why. Registered
    // first: from here on, SIGHUP reloads.
    if settings.reloadable() {
        let settings = settings.clone();
        ctx.on_reload("settings", move || {
            let settings = settings.clone();
            async move { settings.reload() }
        });
    }
    let limits = Limits {
        queue_bytes: 1 << 20, // jobs not processed yet: 1 MiB, so at most 1024 of them
        wait_for_room: Duration::from_secs(1), // then 503 "retry later"
        max_pages: std::env::var("MAX_PAGES")
            .ok()
            .map(|n| n.parse())
            .transpose()?,
    };

    // Open the database before accepting anything: a file that cannot be
    // written stops the start-up (exit 1) rather than the first job.
    let db = Db::open(&path, limits).await?;
    let listener = graceful::http::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    println!(
        "database {path}: {} acknowledged jobs resumed; {workers} workers; SIGTERM or Ctrl-C drains and exits",
        db.counts().resumed
    );
    let summary = Summary::new(&db); // a line as each phase of the shutdown ends

    // Root scope: the database outlives everything else. If the deadline
    // or a second signal cuts the drain, the report lists what `describe`
    // says: how many acknowledged jobs the next start will resume.
    ctx.defer(
        "close database",
        summary.database_closed(db.clone().close()),
    );
    ctx.describe(summary.in_flight(&ctx));

    // Workers: once cancelled (after the http scope drained), no job can
    // arrive any more; each empties the queue and stops. A worker that
    // fails (the database cannot be written) is restarted after a backoff
    // and takes back the jobs it held.
    let workers_ctx = ctx.scope("workers");
    workers_ctx.defer("summary: queue", summary.queue_drained());
    for n in 1..=workers {
        let (db, settings) = (db.clone(), settings.clone());
        workers_ctx.spawn_restarting(format!("worker {n}"), Restart::new(), move |ctx| {
            worker(ctx, n, db.clone(), settings.clone())
        });
    }

    // The API (`api.rs`) and `/ready`, `/live`, in a scope under the
    // workers: drained before them.
    let app = api::routes(db).merge(graceful::http::health_routes());
    let server = graceful::http::serve(&workers_ctx, listener, app);
    workers_ctx.spawn("summary: http", summary.http(&workers_ctx, server));
    Ok(())
}

fn env(var: &str, default: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| default.to_owned())
}

/// Claims jobs and commits their results until it is cancelled and the
/// queue is empty. A job is done only once its result is committed: if the
/// process dies before, the next start processes it again.
async fn worker(ctx: Context, n: usize, db: Db, settings: Arc<Settings>) -> anyhow::Result<()> {
    let mut commits = Vec::new(); // of the results sent, not awaited yet
    loop {
        let jobs = db.claim(n).await?; // committed after the results sent before
        for commit in commits.drain(..) {
            commit.await?;
        }
        if jobs.is_empty() {
            if ctx.is_cancelled() {
                return Ok(()); // no job can arrive any more
            }
            ctx.run_until_cancelled(db.job_queued()).await;
            continue;
        }
        for job in jobs {
            let job_time = settings.job_time();
            if !job_time.is_zero() {
                tokio::time::sleep(job_time).await;
            }
            let words = job.body.split_whitespace().count();
            let result = format!("{} bytes, {words} words", job.body.len());
            commits.push(db.finish(job.id, result)); // sent now, committed soon
        }
    }
}
