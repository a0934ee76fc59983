//! The flagship `service` example under load, with SIGTERM in the middle:
//! every job acknowledged with 202 is in the SQLite file after the exit, the
//! file is sound and fully checkpointed, and the process exits 0.
#![cfg(all(unix, feature = "http"))]

mod common;
mod http_util;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Exit, Proc, Signal, example, start};
use http_util::{Client, eventually, listening_addr, runtime};

/// A directory of its own under the system's temporary directory, removed
/// when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("graceful-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn service(db: &Path, envs: &[(&str, &str)]) -> (Proc, SocketAddr) {
    let mut cmd = example("service");
    cmd.env("ADDR", "127.0.0.1:0").env("DATABASE", db);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut p = start(cmd);
    let addr = listening_addr(&p.wait_for("listening on http://"));
    (p, addr)
}

/// After the exit: no `-wal` file, `PRAGMA integrity_check` is `ok`; the ids
/// in the table.
fn check_database(db: &Path, exit: &Exit) -> HashSet<u64> {
    let wal = PathBuf::from(format!("{}-wal", db.display()));
    assert!(!wal.exists(), "{} was left behind\n{exit}", wal.display());
    let conn = rusqlite::Connection::open(db).unwrap();
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let mut stmt = conn.prepare("SELECT id FROM jobs").unwrap();
    let ids = stmt
        .query_map([], |r| r.get::<_, i64>(0))
        .unwrap()
        .map(|id| id.unwrap() as u64)
        .collect();
    drop(stmt);
    conn.close().unwrap();
    assert!(!wal.exists(), "our own check left a -wal file");
    ids
}

/// `N written` from the summary's `database closed: N jobs written` line.
fn jobs_written(exit: &Exit) -> u64 {
    let line = &exit.stdout[exit.line("database closed:")];
    line.split_whitespace()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {line:?}"))
}

/// The summary prints a line as each phase of the shutdown ends: they come
/// in the order of the drain.
fn assert_phases_in_order(exit: &Exit) {
    let phases = [
        "shutdown: SIGTERM received",
        "not ready, lame duck:",
        "http drained:",
        "queue drained:",
        "database closed:",
    ];
    let at: Vec<usize> = phases.iter().map(|phase| exit.line(phase)).collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{exit}");
}

/// Clients that post jobs on keep-alive connections until the service
/// refuses connections or `limit` jobs were posted; the acknowledged ids.
struct Load {
    acked: Arc<Mutex<Vec<u64>>>,
    rejected: Arc<AtomicUsize>,
    clients: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    fn start(
        rt: &tokio::runtime::Runtime,
        addr: SocketAddr,
        clients: usize,
        limit: usize,
        round: usize,
    ) -> Load {
        let acked = Arc::new(Mutex::new(Vec::new()));
        let posted = Arc::new(AtomicUsize::new(0));
        let rejected = Arc::new(AtomicUsize::new(0));
        let clients = (0..clients)
            .map(|c| {
                let (acked, posted, rejected) = (acked.clone(), posted.clone(), rejected.clone());
                rt.spawn(async move {
                    'connect: loop {
                        let Ok(mut conn) = Client::connect(addr).await else {
                            return; // refused: the listener is closed
                        };
                        loop {
                            let n = posted.fetch_add(1, Ordering::SeqCst);
                            if n >= limit {
                                return;
                            }
                            let body = format!("round {round} client {c} job {n}");
                            match conn.request("POST", "/jobs", &body).await {
                                Ok(r) if r.status == 202 => {
                                    let id = r.body.trim().parse().expect("an id");
                                    acked.lock().unwrap().push(id);
                                    if r.closes() {
                                        continue 'connect;
                                    }
                                }
                                Ok(r) => {
                                    rejected.fetch_add(1, Ordering::SeqCst);
                                    panic!("unexpected answer {r:?}");
                                }
                                // Closed while idle at the drain: not acknowledged.
                                Err(_) => continue 'connect,
                            }
                        }
                    }
                })
            })
            .collect();
        Load {
            acked,
            rejected,
            clients,
        }
    }

    fn acked(&self) -> usize {
        self.acked.lock().unwrap().len()
    }

    fn finish(self, rt: &tokio::runtime::Runtime) -> Vec<u64> {
        rt.block_on(async {
            for c in self.clients {
                tokio::time::timeout(Duration::from_secs(30), c)
                    .await
                    .expect("a load client did not stop")
                    .expect("load client");
            }
        });
        assert_eq!(self.rejected.load(Ordering::SeqCst), 0);
        Arc::try_unwrap(self.acked).unwrap().into_inner().unwrap()
    }
}

/// Thousands of `POST /jobs`, SIGTERM in the middle, three times on the same
/// database: every acknowledged id is written, none twice, the file is sound.
#[test]
fn no_acknowledged_job_is_lost() {
    let dir = TempDir::new("service-load");
    let db = dir.0.join("jobs.db");
    let rt = runtime();
    let mut all_acked = HashSet::new();
    for round in 1..=3 {
        let (p, addr) = service(&db, &[]);
        let load = Load::start(&rt, addr, 16, 5000, round);
        rt.block_on(eventually(
            Duration::from_secs(30),
            "2000 acknowledged jobs",
            || async { (load.acked() >= 2000).then_some(()) },
        ));
        p.signal(Signal::SIGTERM);
        let signalled = Instant::now();
        let acked = load.finish(&rt);
        let exit = p.wait(Duration::from_secs(30));
        assert_eq!(exit.code, Some(0), "{exit}");
        let took = signalled.elapsed();

        let in_db = check_database(&db, &exit);
        let fresh: HashSet<u64> = acked.iter().copied().collect();
        assert_eq!(fresh.len(), acked.len(), "an id was acknowledged twice");
        assert!(
            fresh.is_disjoint(&all_acked),
            "an id was reused across restarts"
        );
        all_acked.extend(fresh);
        let lost: Vec<_> = all_acked.difference(&in_db).collect();
        assert!(
            lost.is_empty(),
            "round {round}: {} acknowledged jobs are not in the database: {lost:?}\n{exit}",
            lost.len()
        );
        assert_phases_in_order(&exit);
        let written = jobs_written(&exit);
        assert!(written as usize >= acked.len(), "{exit}");
        eprintln!(
            "round {round}: {} acknowledged, {written} written this run, {} rows in all, {} acknowledged in all; exit 0 {:?} after SIGTERM",
            acked.len(),
            in_db.len(),
            all_acked.len(),
            took,
        );
        eprintln!("{}", exit.stdout.join("\n"));
    }
}

/// The API by hand: 202 with an id, the job reported once written, 404 for
/// an unknown id; `/ready` 503 within 50 ms of SIGTERM during a lame duck
/// that still accepts jobs; those jobs are written too.
#[test]
fn api_readiness_and_lame_duck() {
    let dir = TempDir::new("service-api");
    let db = dir.0.join("jobs.db");
    let (p, addr) = service(&db, &[("GRACEFUL_LAME_DUCK", "1s")]);
    let rt = runtime();
    let post = |body: &'static str| {
        rt.block_on(async move {
            let r = Client::connect(addr)
                .await?
                .request("POST", "/jobs", body)
                .await?;
            assert_eq!(r.status, 202, "{r:?}");
            std::io::Result::Ok(r.body.trim().parse::<u64>().unwrap())
        })
        .unwrap()
    };
    let id = post("hello graceful world");
    let job = rt.block_on(eventually(
        Duration::from_secs(10),
        "the job to be written",
        || async {
            let r = http_util::get(addr, &format!("/jobs/{id}")).await.ok()?;
            (r.status == 200 && r.body.contains("status: written")).then_some(r)
        },
    ));
    assert!(job.body.contains("body: hello graceful world"), "{job:?}");
    assert!(job.body.contains("result: 20 bytes, 3 words"), "{job:?}");
    let missing = rt.block_on(http_util::get(addr, "/jobs/999999")).unwrap();
    assert_eq!(missing.status, 404);
    assert_eq!(
        rt.block_on(http_util::get(addr, "/ready")).unwrap().status,
        200
    );
    assert_eq!(
        rt.block_on(http_util::get(addr, "/live")).unwrap().status,
        200
    );

    let signalled = Instant::now();
    p.signal(Signal::SIGTERM);
    let flipped = rt.block_on(eventually(
        Duration::from_secs(5),
        "503 from /ready",
        || async {
            let r = http_util::get(addr, "/ready").await.ok()?;
            (r.status == 503).then(Instant::now)
        },
    ));
    let flip = flipped - signalled;
    assert!(
        flip < Duration::from_millis(50),
        "/ready flipped after {flip:?}"
    );
    // Still serving during the lame duck.
    let late = post("posted during the lame duck");
    assert_eq!(
        rt.block_on(http_util::get(addr, "/live")).unwrap().status,
        200
    );
    assert!(
        signalled.elapsed() < Duration::from_secs(1),
        "the checks outlasted the lame duck"
    );

    let exit = p.wait(Duration::from_secs(20));
    assert_eq!(exit.code, Some(0), "{exit}");
    assert_eq!(exit.stdout[0], format!("listening on http://{addr}"));
    let in_db = check_database(&db, &exit);
    assert!(
        in_db.contains(&id) && in_db.contains(&late),
        "{in_db:?}\n{exit}"
    );
    assert_phases_in_order(&exit);
    let lame = &exit.stdout[exit.line("lame duck:")];
    let ms: u64 = lame.rsplit(' ').nth(1).unwrap().parse().unwrap();
    assert!(ms >= 950, "{exit}");
    eprintln!(
        "/ready answered 503 {flip:?} after SIGTERM\n{}",
        exit.stdout.join("\n")
    );
}
