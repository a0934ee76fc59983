//! The database thread: owns the connection, commits the writes that
//! arrive together in one transaction (group commit), answers each. The
//! file itself (its schema, the jobs resumed, the last checkpoint) is
//! opened and closed in `writer/file.rs`.

mod file;

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use rusqlite::{Connection, ErrorCode, OptionalExtension, params};
use tokio::sync::mpsc;

use super::{
    CLAIM_AT_ONCE, Claim, Command, Finish, JOB_OVERHEAD, Job, Limits, NotCommitted, Shared, Submit,
};
use file::Opened;

/// The database thread's state.
pub(super) struct Writer {
    conn: Connection,
    shared: Arc<Shared>,
    /// Room the resumed jobs took beyond the queue's size: paid back first.
    debt: u64,
    /// Whether the last new job could not be committed (logged once).
    refusing: bool,
}

/// Writes committed together.
#[derive(Default)]
struct Batch {
    submits: Vec<Submit>,
    finishes: Vec<Finish>,
    claims: Vec<Claim>,
}

/// What a committed batch answers: the room its results gave back, an id
/// per new job, the jobs of each claim.
struct Committed {
    freed: u64,
    ids: Vec<i64>,
    jobs: Vec<Vec<Job>>,
}

impl Batch {
    fn len(&self) -> usize {
        self.submits.len() + self.finishes.len() + self.claims.len()
    }
}

impl Writer {
    /// Opens the file, checks that it can be written and queues again the
    /// jobs an earlier run left `claimed`.
    pub(super) fn open(path: &str, limits: Limits, shared: Arc<Shared>) -> anyhow::Result<Writer> {
        let Opened {
            conn,
            resumed,
            bytes,
        } = file::open(path, limits.max_pages)?;
        let taken = bytes + resumed * JOB_OVERHEAD;
        shared.resumed.store(resumed, Relaxed);
        shared
            .room
            .add_permits(limits.queue_bytes.saturating_sub(taken) as usize);
        let debt = taken.saturating_sub(limits.queue_bytes);
        Ok(Writer {
            conn,
            shared,
            debt,
            refusing: false,
        })
    }

    /// Answers commands until `Close` (or until every handle is gone),
    /// committing the writes that arrive together in one transaction.
    pub(super) fn serve(mut self, mut rx: mpsc::UnboundedReceiver<Command>) {
        let mut batch = Batch::default();
        while let Some(first) = rx.blocking_recv() {
            let mut next = Some(first);
            while let Some(command) = next.take() {
                match command {
                    Command::Submit(submit) => batch.submits.push(submit),
                    Command::Claim(claim) => batch.claims.push(claim),
                    Command::Finish(finish) => batch.finishes.push(finish),
                    Command::Get { id, reply } => {
                        self.commit(std::mem::take(&mut batch));
                        let _ = reply.send(read_job(&self.conn, id).map_err(Into::into));
                        continue;
                    }
                    Command::Close { reply } => {
                        self.commit(batch);
                        let _ = reply.send(file::close(self.conn).map_err(Into::into));
                        return;
                    }
                }
                if batch.len() < 512 {
                    next = rx.try_recv().ok();
                }
            }
            self.commit(std::mem::take(&mut batch));
        }
        let _ = file::close(self.conn);
    }

    /// Commits `batch` in one transaction and answers each write; if the
    /// transaction fails, commits each write on its own.
    fn commit(&mut self, batch: Batch) {
        let writes = batch.len();
        if writes == 0 {
            return;
        }
        match self.transaction(&batch) {
            Ok(committed) => self.answer(batch, committed),
            Err(_) if writes > 1 => {
                let one = Batch::default;
                for w in batch.submits {
                    self.commit(Batch {
                        submits: vec![w],
                        ..one()
                    });
                }
                for w in batch.finishes {
                    self.commit(Batch {
                        finishes: vec![w],
                        ..one()
                    });
                }
                for w in batch.claims {
                    self.commit(Batch {
                        claims: vec![w],
                        ..one()
                    });
                }
            }
            Err(e) => {
                let why = self.failed(e, !batch.submits.is_empty());
                for submit in batch.submits {
                    let room = submit.body.len() as u64 + JOB_OVERHEAD;
                    self.shared.room.add_permits(room as usize);
                    self.shared.refused.fetch_add(1, Relaxed);
                    let _ = submit.reply.send(Err(why.clone()));
                }
                for finish in batch.finishes {
                    let _ = finish.reply.send(Err(why.clone()));
                }
                for claim in batch.claims {
                    let _ = claim.reply.send(Err(why.clone()));
                }
            }
        }
    }

    /// Runs `batch` in a transaction and commits it: results first, then
    /// new jobs, then claims (which may take those jobs). Rolled back on
    /// error.
    fn transaction(&mut self, batch: &Batch) -> rusqlite::Result<Committed> {
        // Only a 202 is a promise: a commit that holds new jobs waits for
        // the fsync; claims and results alone do not (see the module docs).
        let sync = if batch.submits.is_empty() {
            "NORMAL"
        } else {
            "FULL"
        };
        self.conn.pragma_update(None, "synchronous", sync)?;
        let tx = self.conn.transaction()?;
        let mut freed = 0;
        for Finish { id, result, .. } in &batch.finishes {
            let len: i64 = tx
                .prepare_cached(
                    "UPDATE jobs SET status = 'done', result = ?2, processed = processed + 1,
                         done_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
                     WHERE id = ?1 AND status = 'claimed' AND owner = ?3 RETURNING length(body)",
                )?
                .query_row(params![id, result, std::process::id()], |r| r.get(0))?;
            freed += len as u64 + JOB_OVERHEAD;
        }
        let mut insert = tx.prepare_cached("INSERT INTO jobs (body) VALUES (?1) RETURNING id")?;
        let ids = batch
            .submits
            .iter()
            .map(|submit| insert.query_row([&submit.body], |r| r.get(0)))
            .collect::<rusqlite::Result<_>>()?;
        let mut claim = tx.prepare_cached(
            "UPDATE jobs SET status = 'claimed', worker = ?1, owner = ?3, attempts = attempts + 1
             WHERE id IN (SELECT id FROM jobs WHERE status != 'done'
                          AND (status = 'queued' OR (owner = ?3 AND worker = ?1))
                          ORDER BY id LIMIT ?2)
             RETURNING id, body",
        )?;
        let job = |r: &rusqlite::Row<'_>| {
            Ok(Job {
                id: r.get(0)?,
                body: r.get(1)?,
            })
        };
        let jobs = batch
            .claims
            .iter()
            .map(|c| {
                let (worker, pid) = (c.worker as i64, std::process::id());
                claim
                    .query_map(params![worker, CLAIM_AT_ONCE as i64, pid], job)?
                    .collect()
            })
            .collect::<rusqlite::Result<_>>()?;
        drop((insert, claim));
        tx.commit()?;
        Ok(Committed { freed, ids, jobs })
    }

    /// Answers each write of a committed batch; gives the room of the jobs
    /// done back to the queue, and counts.
    fn answer(&mut self, batch: Batch, committed: Committed) {
        if self.refusing && !batch.submits.is_empty() {
            eprintln!("database: new jobs are committed again");
            self.refusing = false;
        }
        let s = &self.shared;
        let paid = committed.freed.min(self.debt);
        self.debt -= paid;
        s.room.add_permits((committed.freed - paid) as usize);
        s.processed.fetch_add(batch.finishes.len() as u64, Relaxed);
        for finish in batch.finishes {
            let _ = finish.reply.send(Ok(()));
        }
        s.acknowledged
            .fetch_add(committed.ids.len() as u64, Relaxed);
        for (submit, id) in batch.submits.into_iter().zip(committed.ids) {
            s.queued.notify_one(); // wakes one waiting worker
            let _ = submit.reply.send(Ok(id));
        }
        for (claim, job) in batch.claims.into_iter().zip(committed.jobs) {
            let _ = claim.reply.send(Ok(job));
        }
    }

    /// A write failed: says why, and logs it if it refuses new jobs while
    /// the last ones were accepted.
    fn failed(&mut self, e: rusqlite::Error, refuses_jobs: bool) -> NotCommitted {
        let message = e.to_string();
        if refuses_jobs && !self.refusing {
            eprintln!("database: refusing new jobs, they cannot be committed: {message}");
            self.refusing = true;
        }
        match e.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => NotCommitted::DiskFull(message),
            _ => NotCommitted::Failed(message),
        }
    }
}

/// A job's row as `field: value` lines.
fn read_job(conn: &Connection, id: i64) -> rusqlite::Result<Option<String>> {
    let lines = "printf('id: %d\nbody: %s\nstatus: %s\nattempts: %d\nresult: %s\nworker: %s\n\
                 accepted at: %s\ndone at: %s\n', id, body, status, attempts, coalesce(result, ''),
                 coalesce(worker, ''), accepted_at, coalesce(done_at, ''))";
    let query = format!("SELECT {lines} FROM jobs WHERE id = ?1");
    conn.query_row(&query, [id], |r| r.get(0)).optional()
}
