//! Teardown in dependency order: the database closes only after the service
//! that uses it has stopped.
//!
//! `main` opens an SQLite file and registers closing it as a deferred hook
//! of the root scope. The service runs in a child scope, `service`, and
//! writes a row every 100 ms. A scope drains its child scopes first and runs
//! its hooks last, so on Ctrl-C (or `kill -TERM`) the order is always:
//!
//! ```text
//! service: stopped after 12 writes
//! db: closing
//! db: closed with 13 rows, the last one "service stopped"
//! ```
//!
//! The service still writes its final row after it is cancelled, because
//! the database is still open then. Exit code 0. The file is created in the
//! temporary directory and removed at the end; pass a path as the first
//! argument to keep it.
//!
//! ```text
//! cargo run --example ordered_shutdown [PATH]
//! ```

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use graceful::Context;
use rusqlite::Connection;

#[graceful::main]
async fn main(ctx: Context) -> anyhow::Result<()> {
    let (path, keep) = match std::env::args_os().nth(1) {
        Some(path) => (PathBuf::from(path), true),
        None => (
            std::env::temp_dir().join(format!("ordered_shutdown-{}.sqlite3", std::process::id())),
            false,
        ),
    };
    let db = Db::open(path.clone()).await?;

    // Registered on the root scope: runs after every child scope drained.
    println!("ordered_shutdown: started, writing to {}", path.display());
    ctx.defer("close db", {
        let db = db.clone();
        async move {
            println!("db: closing");
            let (rows, last) = db.close().await?;
            println!("db: closed with {rows} rows, the last one {last:?}");
            if !keep {
                std::fs::remove_file(&path).context("removing the database file")?;
            }
            anyhow::Ok(())
        }
    });

    let service_scope = ctx.scope("service");
    service(&service_scope, db);
    Ok(())
}

/// Records a row every 100 ms until cancelled, then one last row.
#[graceful::task]
async fn service(ctx: Context, db: Db) -> anyhow::Result<()> {
    let mut every = tokio::time::interval(Duration::from_millis(100));
    let mut writes = 0_u64;
    while ctx.run_until_cancelled(every.tick()).await.is_some() {
        db.insert(format!("tick {writes}")).await?;
        writes += 1;
    }
    db.insert("service stopped".to_string()).await?;
    println!("service: stopped after {writes} writes");
    Ok(())
}

/// An SQLite connection shared by the service and the closing hook; `None`
/// once closed, so a write after the close would be an error, not a crash.
#[derive(Clone)]
struct Db {
    conn: Arc<Mutex<Option<Connection>>>,
}

impl Db {
    async fn open(path: PathBuf) -> anyhow::Result<Db> {
        let conn = tokio::task::spawn_blocking(move || -> anyhow::Result<Connection> {
            let conn =
                Connection::open(&path).with_context(|| format!("opening {}", path.display()))?;
            conn.execute_batch(
                "CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, what TEXT NOT NULL);",
            )?;
            Ok(conn)
        })
        .await??;
        Ok(Db {
            conn: Arc::new(Mutex::new(Some(conn))),
        })
    }

    /// SQLite calls block: they run on tokio's blocking threads.
    async fn insert(&self, what: String) -> anyhow::Result<()> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let guard = conn.lock().expect("db lock");
            let conn = guard.as_ref().context("the database is already closed")?;
            conn.execute("INSERT INTO events (what) VALUES (?1)", [what])?;
            anyhow::Ok(())
        })
        .await?
    }

    /// Closes the connection; returns the number of rows and the last one.
    async fn close(&self) -> anyhow::Result<(i64, String)> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let conn = conn
                .lock()
                .expect("db lock")
                .take()
                .context("the database is already closed")?;
            let rows: i64 = conn.query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))?;
            let last: String = conn.query_row(
                "SELECT what FROM events ORDER BY id DESC LIMIT 1",
                [],
                |r| r.get(0),
            )?;
            conn.close().map_err(|(_, e)| e)?;
            anyhow::Ok((rows, last))
        })
        .await?
    }
}
