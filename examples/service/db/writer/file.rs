//! The database file: opened (its schema checked, a write tried, the jobs
//! of a process that is gone queued again) and closed (the WAL folded in).

use anyhow::bail;
use rusqlite::{Connection, TransactionBehavior};

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS jobs (
        id          INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused
        body        TEXT NOT NULL,
        status      TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'claimed', 'done')),
        worker      INTEGER,                           -- the last worker that claimed it
        owner       INTEGER,                           -- the process of that worker (its pid)
        attempts    INTEGER NOT NULL DEFAULT 0,        -- times claimed
        processed   INTEGER NOT NULL DEFAULT 0,        -- times its result was committed: 0 or 1
        result      TEXT,
        accepted_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        done_at     TEXT
    );
    CREATE INDEX IF NOT EXISTS jobs_waiting ON jobs (id) WHERE status != 'done';";

/// The version of [`SCHEMA`], kept in `PRAGMA user_version`.
const VERSION: i64 = 3;

/// An open database file, and the jobs an earlier run left in it.
pub(super) struct Opened {
    pub(super) conn: Connection,
    /// The jobs not done: queued (again), or claimed by a live process.
    pub(super) resumed: u64,
    /// The bytes of their bodies.
    pub(super) bytes: u64,
}

/// Opens the file (at most `max_pages` pages, if given), checks that it can
/// be written and queues again the jobs an earlier run left `claimed`.
pub(super) fn open(path: &str, max_pages: Option<i64>) -> anyhow::Result<Opened> {
    let mut conn = Connection::open(path)?;
    if conn.is_readonly(rusqlite::MAIN_DB)? {
        bail!("the file is read-only");
    }
    conn.pragma_update(None, "journal_mode", "WAL")?;
    if let Some(pages) = max_pages {
        conn.pragma_update(None, "max_page_count", pages)?;
    }
    // A write at every start: a file that cannot be written stops the
    // start-up here, not at the first job.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let tables: i64 = tx.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))?;
    if tables > 0 && version != VERSION {
        bail!(
            "schema version {version}, not {VERSION}: move the file away, it was written by another version of this example"
        );
    }
    tx.execute_batch(SCHEMA)?;
    tx.pragma_update(None, "user_version", VERSION)?;
    // Jobs claimed by a process that is gone (a crash, or this process's
    // pid in an earlier life: pid 1 in a container) are queued again;
    // those of a live process (the old one, during an upgrade) are its.
    let owners: Vec<Option<i64>> = tx
        .prepare("SELECT DISTINCT owner FROM jobs WHERE status = 'claimed'")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for owner in owners.into_iter().filter(|owner| !alive(*owner)) {
        tx.execute(
            "UPDATE jobs SET status = 'queued' WHERE status = 'claimed' AND owner IS ?1",
            [owner],
        )?;
    }
    let (resumed, bytes): (i64, i64) = tx.query_row(
        "SELECT count(*), coalesce(sum(length(body)), 0) FROM jobs WHERE status != 'done'",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    tx.commit()?;
    Ok(Opened {
        conn,
        resumed: resumed as u64,
        bytes: bytes as u64,
    })
}

/// Folds the WAL into the database file and closes the connection; SQLite
/// removes the `-wal` and `-shm` files when the last connection closes.
pub(super) fn close(conn: Connection) -> rusqlite::Result<()> {
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    conn.close().map_err(|(_, e)| e)
}

/// Whether the process `pid` still runs (and is not this one: a claim of
/// this pid was made by an earlier process that had it).
fn alive(pid: Option<i64>) -> bool {
    let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) else {
        return false;
    };
    if pid as u32 == std::process::id() {
        return false;
    }
    #[cfg(unix)]
    {
        let pid = nix::unistd::Pid::from_raw(pid);
        !matches!(
            nix::sys::signal::kill(pid, None),
            Err(nix::errno::Errno::ESRCH)
        )
    }
    #[cfg(not(unix))]
    false // resumed, as after a crash: processed twice at worst
}
