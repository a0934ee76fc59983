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
//! closed (no `-wal` file is left) and a summary of each phase is printed.
//! Exit 0.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use graceful::Context;
use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::{mpsc, oneshot};

#[graceful::main]
async fn main(ctx: Context) -> anyhow::Result<()> {
    let addr = env("ADDR", "127.0.0.1:3000");
    let path = env("DATABASE", "service.db");
    let workers: usize = env("WORKERS", "4").parse()?;
    let job_ms: u64 = env("JOB_MS", "1").parse()?;

    // Open the database before accepting anything.
    let (db, next_id) = Db::open(&path).await?;
    let listener = graceful::http::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    println!("database {path}, {workers} workers; SIGTERM or Ctrl-C drains and exits");

    let clock = Arc::new(Clock::default());
    let written = Arc::new(AtomicU64::new(0));

    // Root scope: the database outlives everything else.
    ctx.defer("close database", {
        let (db, clock, written) = (db.clone(), clock.clone(), written.clone());
        async move {
            let closing = Instant::now();
            db.close().await?;
            clock.summary(written.load(Ordering::SeqCst), closing.elapsed());
            anyhow::Ok(())
        }
    });
    ctx.spawn("clock", {
        let (ctx, clock) = (ctx.clone(), clock.clone());
        async move {
            ctx.shutdown_requested().await;
            clock.mark(|c| c.requested = Some((Instant::now(), ctx.reason())));
        }
    });

    // Workers: each ends when the queue is closed and empty.
    let workers_ctx = ctx.scope("workers");
    let (queue, rx) = mpsc::channel::<Job>(1024);
    let rx = Arc::new(tokio::sync::Mutex::new(rx));
    let accepted = Arc::new(AtomicU64::new(0));
    for n in 1..=workers {
        workers_ctx.spawn(
            format!("worker {n}"),
            worker(
                n,
                rx.clone(),
                db.clone(),
                job_ms,
                written.clone(),
                clock.clone(),
            ),
        );
    }

    // The API, in a scope under the workers: drained before them.
    let app = Router::new()
        .route("/jobs", post(submit))
        .route("/jobs/{id}", get(report))
        .merge(graceful::http::health_routes())
        .with_state(Api {
            queue,
            db,
            next_id: Arc::new(AtomicU64::new(next_id)),
            accepted: accepted.clone(),
        });
    let server = graceful::http::serve(&workers_ctx, listener, app);
    ctx.spawn("http report", async move {
        let served = server.await??;
        clock.mark(|c| {
            c.http = Some((Instant::now(), served));
            c.queued_at_http_end = accepted
                .load(Ordering::SeqCst)
                .saturating_sub(written.load(Ordering::SeqCst));
        });
        anyhow::Ok(())
    });
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
    next_id: Arc<AtomicU64>,
    accepted: Arc<AtomicU64>,
}

/// `POST /jobs`: 202 with the id, once the job is in the queue.
async fn submit(State(api): State<Api>, body: String) -> (StatusCode, String) {
    let id = api.next_id.fetch_add(1, Ordering::SeqCst);
    // The queue closes only when the last router clone is gone, so while a
    // request is served this cannot fail unless every worker died.
    match api.queue.send(Job { id, body }).await {
        Ok(()) => {
            api.accepted.fetch_add(1, Ordering::SeqCst);
            (StatusCode::ACCEPTED, format!("{id}\n"))
        }
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "the workers are gone\n".into(),
        ),
    }
}

/// `GET /jobs/{id}`: the job as written, `queued` if it is not written yet.
async fn report(State(api): State<Api>, Path(id): Path<u64>) -> (StatusCode, String) {
    match api.db.get(id).await {
        Ok(Some(row)) => (StatusCode::OK, row),
        Ok(None) if id < api.next_id.load(Ordering::SeqCst) => {
            (StatusCode::OK, format!("id: {id}\nstatus: queued\n"))
        }
        Ok(None) => (StatusCode::NOT_FOUND, format!("no job {id}\n")),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")),
    }
}

/// Takes jobs until the queue is closed and empty; cancellation does not
/// stop it, the closing of the queue does (every producer is gone by then).
async fn worker(
    n: usize,
    queue: Arc<tokio::sync::Mutex<mpsc::Receiver<Job>>>,
    db: Db,
    job_ms: u64,
    written: Arc<AtomicU64>,
    clock: Arc<Clock>,
) -> anyhow::Result<()> {
    loop {
        let Some(job) = queue.lock().await.recv().await else {
            break;
        };
        if job_ms > 0 {
            tokio::time::sleep(Duration::from_millis(job_ms)).await;
        }
        let result = format!(
            "{} bytes, {} words",
            job.body.len(),
            job.body.split_whitespace().count()
        );
        db.insert(job.id, job.body, result, n).await?;
        written.fetch_add(1, Ordering::SeqCst);
    }
    clock.mark(|c| c.workers = Some(Instant::now()));
    Ok(())
}

/// When each phase of the shutdown ended, for the summary.
#[derive(Default)]
struct Clock(Mutex<Phases>);

#[derive(Default)]
struct Phases {
    requested: Option<(Instant, Option<graceful::Reason>)>,
    http: Option<(Instant, graceful::http::Served)>,
    queued_at_http_end: u64,
    workers: Option<Instant>,
}

impl Clock {
    fn mark(&self, f: impl FnOnce(&mut Phases)) {
        f(&mut self.0.lock().unwrap_or_else(|p| p.into_inner()));
    }

    fn summary(&self, written: u64, closing: Duration) {
        let p = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let ms = |d: Duration| d.as_millis();
        println!("shutdown summary:");
        if let Some((_, Some(reason))) = &p.requested {
            println!("  reason: {reason}");
        }
        if let (Some((requested, _)), Some((http_end, served))) = (&p.requested, &p.http) {
            let before_drain = http_end
                .duration_since(*requested)
                .saturating_sub(served.drain_took);
            println!("  not ready, lame duck: {} ms", ms(before_drain));
            println!(
                "  http drained: {} requests in flight, {} answered during the drain, in {} ms ({} requests in all)",
                served.in_flight_at_drain,
                served.drained,
                ms(served.drain_took),
                served.requests
            );
        }
        if let (Some((http_end, _)), Some(workers_end)) = (&p.http, p.workers) {
            println!(
                "  queue drained: {} jobs left at the end of the http drain, written in {} ms",
                p.queued_at_http_end,
                ms(workers_end.saturating_duration_since(*http_end))
            );
        }
        println!(
            "  database closed: {written} jobs written, WAL checkpointed, in {} ms",
            ms(closing)
        );
    }
}

/// The database: one SQLite connection on a thread of its own. Writes that
/// arrive together are committed together (group commit); every
/// `insert` returns once its row is committed.
#[derive(Clone)]
struct Db {
    tx: mpsc::UnboundedSender<Command>,
}

enum Command {
    Insert {
        id: u64,
        body: String,
        result: String,
        worker: usize,
        done: oneshot::Sender<Result<(), String>>,
    },
    Get {
        id: u64,
        done: oneshot::Sender<rusqlite::Result<Option<String>>>,
    },
    Close {
        done: oneshot::Sender<rusqlite::Result<()>>,
    },
}

/// The database thread ended (it does only after `close`).
#[derive(Debug)]
struct Gone;

impl std::fmt::Display for Gone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the database thread is gone")
    }
}

impl std::error::Error for Gone {}

impl Db {
    /// Opens (creates) the database in WAL mode and returns the next job id.
    async fn open(path: &str) -> anyhow::Result<(Db, u64)> {
        let (tx, rx) = mpsc::unbounded_channel();
        let (ready, opened) = oneshot::channel();
        let path = path.to_owned();
        thread::Builder::new()
            .name("sqlite".into())
            .spawn(move || match open(&path) {
                Ok((conn, next_id)) => {
                    let _ = ready.send(Ok(next_id));
                    serve_db(conn, rx);
                }
                Err(e) => {
                    let _ = ready.send(Err(e));
                }
            })?;
        let next_id = opened.await??;
        Ok((Db { tx }, next_id))
    }

    async fn insert(
        &self,
        id: u64,
        body: String,
        result: String,
        worker: usize,
    ) -> anyhow::Result<()> {
        let (done, rx) = oneshot::channel();
        self.tx
            .send(Command::Insert {
                id,
                body,
                result,
                worker,
                done,
            })
            .map_err(|_| Gone)?;
        rx.await.map_err(|_| Gone)?.map_err(anyhow::Error::msg)
    }

    async fn get(&self, id: u64) -> anyhow::Result<Option<String>> {
        let (done, rx) = oneshot::channel();
        self.tx.send(Command::Get { id, done }).map_err(|_| Gone)?;
        Ok(rx.await.map_err(|_| Gone)??)
    }

    /// Checkpoints the WAL into the database file and closes it.
    async fn close(&self) -> anyhow::Result<()> {
        let (done, rx) = oneshot::channel();
        self.tx.send(Command::Close { done }).map_err(|_| Gone)?;
        Ok(rx.await.map_err(|_| Gone)??)
    }
}

fn open(path: &str) -> rusqlite::Result<(Connection, u64)> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS jobs (
             id INTEGER PRIMARY KEY,
             body TEXT NOT NULL,
             result TEXT NOT NULL,
             worker INTEGER NOT NULL,
             written_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
         )",
    )?;
    let max: i64 = conn.query_row("SELECT COALESCE(MAX(id), 0) FROM jobs", [], |r| r.get(0))?;
    Ok((conn, max as u64 + 1))
}

/// The database thread: commits the inserts waiting together in one
/// transaction, answers reads, and closes on `Close` (or when every handle
/// is gone).
fn serve_db(mut conn: Connection, mut rx: mpsc::UnboundedReceiver<Command>) {
    let mut pending = Vec::new();
    while let Some(first) = rx.blocking_recv() {
        let mut next = Some(first);
        while let Some(cmd) = next.take() {
            match cmd {
                Command::Insert {
                    id,
                    body,
                    result,
                    worker,
                    done,
                } => {
                    pending.push((id, body, result, worker, done));
                    if pending.len() < 512 {
                        next = rx.try_recv().ok();
                    }
                }
                Command::Get { id, done } => {
                    commit(&mut conn, &mut pending);
                    let _ = done.send(read_job(&conn, id));
                }
                Command::Close { done } => {
                    commit(&mut conn, &mut pending);
                    let _ = done.send(close(conn));
                    return;
                }
            }
        }
        commit(&mut conn, &mut pending);
    }
    let _ = close(conn);
}

type Pending = (
    u64,
    String,
    String,
    usize,
    oneshot::Sender<Result<(), String>>,
);

fn commit(conn: &mut Connection, pending: &mut Vec<Pending>) {
    if pending.is_empty() {
        return;
    }
    let outcome = (|| {
        let tx = conn.transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO jobs (id, body, result, worker) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (id, body, result, worker, _) in pending.iter() {
                insert.execute(params![*id as i64, body, result, *worker as i64])?;
            }
        }
        tx.commit()
    })();
    for (.., done) in pending.drain(..) {
        let _ = done.send(outcome.as_ref().map_err(|e| e.to_string()).copied());
    }
}

fn read_job(conn: &Connection, id: u64) -> rusqlite::Result<Option<String>> {
    conn.query_row(
        "SELECT body, result, worker, written_at FROM jobs WHERE id = ?1",
        [id as i64],
        |r| {
            Ok(format!(
                "id: {id}\nstatus: written\nbody: {}\nresult: {}\nworker: {}\nwritten at: {}\n",
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
            ))
        },
    )
    .optional()
}

/// Folds the WAL into the database file and closes the connection; SQLite
/// removes the `-wal` and `-shm` files when the last connection closes.
fn close(conn: Connection) -> rusqlite::Result<()> {
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    conn.close().map_err(|(_, e)| e)
}
