//! The service's database: one SQLite connection (WAL mode) on a thread of
//! its own, reached through a cheap, cloneable handle. Each call is a
//! [`Command`] to that thread; inserts that arrive together are committed in
//! one transaction (group commit), and [`Db::insert`] returns once its row is
//! committed. [`Db::close`] folds the WAL into the file, so no `-wal` file is
//! left behind.
//!
//! The handle also hands out job ids and counts what was written, for the
//! shutdown summary.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;

use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::{mpsc, oneshot};

/// A handle to the database thread; clones share the thread and the ids.
#[derive(Clone)]
pub struct Db {
    tx: mpsc::UnboundedSender<Command>,
    ids: Arc<Ids>,
}

/// The job ids of this run: the first one, the next one to hand out, and
/// how many jobs were written.
struct Ids {
    first: u64,
    next: AtomicU64,
    written: AtomicU64,
}

impl Db {
    /// Opens (creates) the database in WAL mode; ids continue after the
    /// highest one in the file.
    pub async fn open(path: &str) -> anyhow::Result<Db> {
        let (tx, rx) = mpsc::unbounded_channel();
        let (ready, opened) = oneshot::channel();
        let path = path.to_owned();
        thread::Builder::new()
            .name("sqlite".into())
            .spawn(move || match open(&path) {
                Ok((conn, first)) => {
                    let _ = ready.send(Ok(first));
                    serve(conn, rx);
                }
                Err(e) => {
                    let _ = ready.send(Err(e));
                }
            })?;
        let first = opened.await??;
        let ids = Ids {
            first,
            next: AtomicU64::new(first),
            written: AtomicU64::new(0),
        };
        Ok(Db {
            tx,
            ids: Arc::new(ids),
        })
    }

    /// A job id never handed out before, in this run or an earlier one.
    pub fn new_id(&self) -> u64 {
        self.ids.next.fetch_add(1, Ordering::SeqCst)
    }

    /// Writes a job's row; returns once it is committed.
    pub async fn insert(
        &self,
        id: u64,
        body: String,
        result: String,
        worker: usize,
    ) -> anyhow::Result<()> {
        let row = |done| {
            Command::Insert(Insert {
                id,
                body,
                result,
                worker,
                done,
            })
        };
        self.call(row).await?.map_err(anyhow::Error::msg)?;
        self.ids.written.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    /// The job as text: its row once written, `status: queued` while its id
    /// is handed out but the row is not written; `None` for an id never
    /// handed out.
    pub async fn get(&self, id: u64) -> anyhow::Result<Option<String>> {
        let written = self.call(|done| Command::Get { id, done }).await??;
        let queued = || format!("id: {id}\nstatus: queued\n");
        Ok(written.or_else(|| (id < self.ids.next.load(Ordering::SeqCst)).then(queued)))
    }

    /// Jobs written since the database was opened.
    pub fn written(&self) -> u64 {
        self.ids.written.load(Ordering::SeqCst)
    }

    /// Jobs given an id since the database was opened but not written yet.
    pub fn pending(&self) -> u64 {
        let handed_out = self.ids.next.load(Ordering::SeqCst) - self.ids.first;
        handed_out.saturating_sub(self.written())
    }

    /// Commits what is pending, checkpoints the WAL into the database file
    /// and closes it.
    pub async fn close(self) -> anyhow::Result<()> {
        Ok(self.call(|done| Command::Close { done }).await??)
    }

    /// Sends the command that `command` makes around a reply channel, and
    /// waits for the reply.
    async fn call<T>(
        &self,
        command: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, Gone> {
        let (done, reply) = oneshot::channel();
        self.tx.send(command(done)).map_err(|_| Gone)?;
        reply.await.map_err(|_| Gone)
    }
}

/// What the database thread is asked to do; `done` carries the answer.
enum Command {
    Insert(Insert),
    Get {
        id: u64,
        done: oneshot::Sender<rusqlite::Result<Option<String>>>,
    },
    Close {
        done: oneshot::Sender<rusqlite::Result<()>>,
    },
}

/// A job's row, waiting for the next commit. The outcome is a `String`
/// because one commit answers many inserts (a `rusqlite::Error` is not
/// `Clone`).
struct Insert {
    id: u64,
    body: String,
    result: String,
    worker: usize,
    done: oneshot::Sender<Result<(), String>>,
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

/// Opens the file and creates the table; returns the next job id.
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
fn serve(mut conn: Connection, mut rx: mpsc::UnboundedReceiver<Command>) {
    let mut pending = Vec::new();
    while let Some(first) = rx.blocking_recv() {
        let mut next = Some(first);
        while let Some(command) = next.take() {
            match command {
                Command::Insert(insert) => {
                    pending.push(insert);
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

/// Writes every pending row in one transaction and tells each its outcome.
fn commit(conn: &mut Connection, pending: &mut Vec<Insert>) {
    if pending.is_empty() {
        return;
    }
    let outcome = (|| {
        let tx = conn.transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO jobs (id, body, result, worker) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for row in pending.iter() {
                insert.execute(params![
                    row.id as i64,
                    row.body,
                    row.result,
                    row.worker as i64
                ])?;
            }
        }
        tx.commit()
    })();
    for row in pending.drain(..) {
        let _ = row
            .done
            .send(outcome.as_ref().map_err(|e| e.to_string()).copied());
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
