//! The service's durable job queue: a SQLite file, one connection on a
//! thread of its own (`db/writer.rs`), reached through a cheap, cloneable
//! handle, [`Db`].
//!
//! The rule it keeps: **acknowledge only what is committed**.
//! [`Db::submit`] returns a job's id only once its row is committed with
//! `synchronous=FULL` (the WAL is fsynced before the commit returns), so an
//! acknowledged job survives a crash of the process and a power loss alike.
//! A job then goes `queued → claimed → done`: [`Db::claim`] hands a worker
//! the oldest queued jobs, up to [`CLAIM_AT_ONCE`], and [`Db::finish`]
//! commits each result without making the worker wait for it. When the
//! database is opened, the jobs an earlier run left `queued` or `claimed`
//! are queued again (resumed); a job whose result was committed is not
//! processed again. A job claimed when the process died is processed again,
//! so the work itself runs at least once: keep it idempotent. A claim is
//! its process's (its pid is in the row): during an upgrade (`SIGUSR2`),
//! the new process leaves the jobs the old one, still draining, claimed.
//!
//! **Durability.** Commits that hold only claims and results use
//! `synchronous=NORMAL` (no fsync of their own): they survive a crash of the
//! process; a power loss may undo those made since the last fsync (the last
//! commit of new jobs, or checkpoint), which only makes those jobs run
//! again. No acknowledged job can be lost that way.
//!
//! **Group commit.** The thread commits every write waiting in its channel
//! (new jobs, claims, results) in one transaction, so one fsync serves many
//! requests. If that transaction fails, each write is tried again in a
//! transaction of its own, so that a write fails only for its own reason
//! (the disk is full, the file became read-only) and is then answered
//! [`NotCommitted`], never "committed".
//!
//! **Bounded.** The queue (jobs acknowledged and not processed yet) holds at
//! most [`Limits::queue_bytes`]: a job counts its body plus [`JOB_OVERHEAD`].
//! A submit waits up to [`Limits::wait_for_room`] for room, then gets
//! [`NotCommitted::QueueFull`].
//!
//! Ids come from `AUTOINCREMENT`: an id acknowledged once is never given to
//! another job, even after a crash. [`Db::close`] folds the WAL into the
//! file: no `-wal` file is left.

mod writer;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use anyhow::Context as _;
use tokio::sync::{Notify, Semaphore, mpsc, oneshot};

use writer::Writer;

/// What a job counts in the queue besides its body: its row, its share of
/// the bookkeeping. A queue of 1 MiB holds at most 1024 jobs.
pub const JOB_OVERHEAD: u64 = 1024;

/// How many jobs a worker claims at once, at most: more saves round trips
/// to the database; fewer shares short queues better between workers and
/// leaves less work to do again after a crash.
pub const CLAIM_AT_ONCE: usize = 8;

/// How much the queue may hold, and a test knob.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Bytes of the jobs acknowledged and not processed yet.
    pub queue_bytes: u64,
    /// How long a submit waits for room in the queue.
    pub wait_for_room: Duration,
    /// `PRAGMA max_page_count`: the file may not grow past this many pages
    /// (4 KiB each), so that a test can fill "the disk" without root.
    pub max_pages: Option<i64>,
}

/// A handle to the database thread; clones share the thread and the counts.
#[derive(Clone)]
pub struct Db {
    tx: mpsc::UnboundedSender<Command>,
    shared: Arc<Shared>,
    limits: Limits,
}

/// A job claimed by a worker.
pub struct Job {
    pub id: i64,
    pub body: String,
}

/// Why a write was not committed.
#[derive(Clone, Debug)]
pub enum NotCommitted {
    /// No room in the queue came within [`Limits::wait_for_room`].
    QueueFull,
    /// SQLite says "database or disk is full".
    DiskFull(String),
    /// Any other error: a read-only file, an I/O error, the thread gone.
    Failed(String),
}

/// This run's counts, for the summary and the reports.
#[derive(Clone, Copy, Debug)]
pub struct Counts {
    /// Jobs an earlier run acknowledged and did not process, found at start.
    pub resumed: u64,
    /// Jobs committed, then acknowledged with `202`.
    pub acknowledged: u64,
    /// Jobs refused: queue full or not committed.
    pub refused: u64,
    /// Jobs whose result was committed.
    pub processed: u64,
    /// Jobs acknowledged (in this run or an earlier one), not processed yet.
    pub waiting: u64,
}

/// What the handles share with the thread.
struct Shared {
    /// Room in the queue, in bytes.
    room: Semaphore,
    /// One permit per job committed: wakes a worker waiting for work.
    queued: Notify,
    resumed: AtomicU64,
    acknowledged: AtomicU64,
    refused: AtomicU64,
    processed: AtomicU64,
}

impl Db {
    /// Opens (creates) the database, checks that it can be written, and
    /// queues again the jobs an earlier run left unprocessed.
    pub async fn open(path: &str, limits: Limits) -> anyhow::Result<Db> {
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            room: Semaphore::new(0), // the thread adds what resumed jobs leave
            queued: Notify::new(),
            resumed: AtomicU64::new(0),
            acknowledged: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            processed: AtomicU64::new(0),
        });
        let (opened, open_result) = oneshot::channel();
        let (thread_shared, thread_path) = (shared.clone(), path.to_owned());
        std::thread::Builder::new()
            .name("sqlite".into())
            .spawn(
                move || match Writer::open(&thread_path, limits, thread_shared) {
                    Ok(writer) => {
                        let _ = opened.send(Ok(()));
                        writer.serve(rx);
                    }
                    Err(e) => drop(opened.send(Err(e))),
                },
            )?;
        open_result
            .await?
            .with_context(|| format!("cannot use the database {path}"))?;
        Ok(Db { tx, shared, limits })
    }

    /// Commits a new job once the queue has room for it; its id once
    /// committed.
    pub async fn submit(&self, body: String) -> Result<i64, NotCommitted> {
        let cost = (body.len() as u64 + JOB_OVERHEAD) as u32;
        let room = self.shared.room.acquire_many(cost);
        let Ok(Ok(room)) = tokio::time::timeout(self.limits.wait_for_room, room).await else {
            self.shared.refused.fetch_add(1, Relaxed);
            return Err(NotCommitted::QueueFull);
        };
        // The thread gives the room back once the job is done, or at once if
        // it is not committed; even if this request is dropped meanwhile.
        room.forget();
        self.call(|reply| Command::Submit(Submit { body, reply }))
            .await
    }

    /// Claims the next jobs for `worker`, up to [`CLAIM_AT_ONCE`]: the
    /// oldest queued ones, or those it still holds because its previous run
    /// failed. Empty if there is none.
    pub async fn claim(&self, worker: usize) -> Result<Vec<Job>, NotCommitted> {
        self.call(|reply| Command::Claim(Claim { worker, reply }))
            .await
    }

    /// Sends a claimed job's result at once, to be committed with the next
    /// group commit; the job is `done` then. The future says whether the
    /// commit succeeded: a worker awaits it later, so that it does not wait
    /// for each commit.
    pub fn finish(
        &self,
        id: i64,
        result: String,
    ) -> impl Future<Output = Result<(), NotCommitted>> + use<> {
        let (reply, answer) = oneshot::channel();
        let sent = self.tx.send(Command::Finish(Finish { id, result, reply }));
        async move {
            sent.map_err(|_| closed())?;
            answer.await.map_err(|_| closed())?
        }
    }

    /// Completes when a job may have been queued since the last call.
    pub async fn job_queued(&self) {
        self.shared.queued.notified().await
    }

    /// The job as text; `None` for an unknown id.
    pub async fn get(&self, id: i64) -> anyhow::Result<Option<String>> {
        self.call(|reply| Command::Get { id, reply }).await
    }

    /// This run's counts.
    pub fn counts(&self) -> Counts {
        let s = &self.shared;
        let processed = s.processed.load(Relaxed); // first: it never passes the others
        let (resumed, acknowledged) = (s.resumed.load(Relaxed), s.acknowledged.load(Relaxed));
        Counts {
            resumed,
            acknowledged,
            refused: s.refused.load(Relaxed),
            processed,
            waiting: (resumed + acknowledged).saturating_sub(processed),
        }
    }

    /// Checkpoints the WAL into the database file and closes it.
    pub async fn close(self) -> anyhow::Result<()> {
        self.call(|reply| Command::Close { reply }).await
    }

    /// Sends the command that `command` makes around a reply channel, and
    /// waits for the answer.
    async fn call<T, E: From<NotCommitted>>(
        &self,
        command: impl FnOnce(oneshot::Sender<Result<T, E>>) -> Command,
    ) -> Result<T, E> {
        let (reply, answer) = oneshot::channel();
        self.tx.send(command(reply)).map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }
}

fn closed() -> NotCommitted {
    NotCommitted::Failed("the database is closed".into())
}

type Reply<T> = oneshot::Sender<Result<T, NotCommitted>>;

/// What the database thread is asked to do; `reply` carries the answer.
enum Command {
    Submit(Submit),
    Claim(Claim),
    Finish(Finish),
    Get {
        id: i64,
        reply: oneshot::Sender<anyhow::Result<Option<String>>>,
    },
    Close {
        reply: oneshot::Sender<anyhow::Result<()>>,
    },
}

/// A new job.
struct Submit {
    body: String,
    reply: Reply<i64>,
}

/// A worker's claim of its next jobs.
struct Claim {
    worker: usize,
    reply: Reply<Vec<Job>>,
}

/// A job's result.
struct Finish {
    id: i64,
    result: String,
    reply: Reply<()>,
}

impl std::fmt::Display for NotCommitted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotCommitted::QueueFull => f.write_str("the queue is full"),
            NotCommitted::DiskFull(e) | NotCommitted::Failed(e) => write!(f, "not committed: {e}"),
        }
    }
}

impl std::error::Error for NotCommitted {}
