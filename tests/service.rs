//! The flagship `service` example as real processes on a real SQLite file:
//! a 202 means the job is committed, whatever happens next. SIGTERM under
//! load, `kill -9` under load, a full disk, a forced exit and a cut
//! deadline, a read-only file, huge bodies: no acknowledged job is ever
//! missing from the database, and each one is processed exactly once.
#![cfg(all(unix, feature = "http"))]

mod common;
mod http_util;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Exit, Proc, Signal, count, example, start};
use http_util::{Client, eventually, listening_addr, runtime};
use rusqlite::Connection;

/// A directory of its own under the system's temporary directory, removed
/// when dropped.
struct TempDir(PathBuf);

impl TempDir {
    /// A new directory, and the path of a database file in it.
    fn with_db(name: &str) -> (TempDir, PathBuf) {
        let dir = std::env::temp_dir().join(format!("graceful-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("jobs.db");
        (TempDir(dir), db)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The example, started on `db`, once it listens.
struct Service {
    p: Proc,
    addr: SocketAddr,
    /// From its start-up line: the jobs an earlier run left unprocessed.
    resumed: u64,
}

fn service(db: &Path, envs: &[(&str, &str)]) -> Service {
    let mut cmd = example("service");
    cmd.env("ADDR", "127.0.0.1:0").env("DATABASE", db);
    cmd.envs(envs.iter().copied());
    let mut p = start(cmd);
    let addr = listening_addr(&p.wait_for("listening on http://"));
    let line = p.wait_for("acknowledged jobs resumed");
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words.iter().position(|w| *w == "acknowledged").unwrap();
    let resumed = words[at - 1].parse().expect("a count");
    Service { p, addr, resumed }
}

/// A job's row, as the test reads it from the file.
#[derive(Debug)]
struct Row {
    status: String,
    processed: i64,
    attempts: i64,
}

/// Every row of the `jobs` table, by id.
fn rows(conn: &Connection) -> HashMap<u64, Row> {
    let mut stmt = conn
        .prepare("SELECT id, status, processed, attempts FROM jobs")
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            let row = Row {
                status: r.get(1)?,
                processed: r.get(2)?,
                attempts: r.get(3)?,
            };
            Ok((r.get::<_, i64>(0)? as u64, row))
        })
        .unwrap();
    rows.map(Result::unwrap).collect()
}

/// The rows as a crash left them on disk: read from a copy of the file and
/// its WAL, so that the next start, not this check, recovers the original.
fn rows_after_crash(db: &Path) -> HashMap<u64, Row> {
    let copy = db.with_extension("copy");
    let wal = |path: &Path| PathBuf::from(format!("{}-wal", path.display()));
    std::fs::copy(db, &copy).unwrap();
    if wal(db).exists() {
        std::fs::copy(wal(db), wal(&copy)).unwrap();
    }
    let conn = Connection::open(&copy).unwrap();
    let rows = rows(&conn);
    conn.close().unwrap();
    std::fs::remove_file(&copy).unwrap();
    rows
}

/// After a clean exit: no `-wal` file, `PRAGMA integrity_check` is `ok`;
/// the rows.
fn rows_after_exit(db: &Path, exit: &Exit) -> HashMap<u64, Row> {
    let wal = PathBuf::from(format!("{}-wal", db.display()));
    assert!(!wal.exists(), "{} was left behind\n{exit}", wal.display());
    let conn = Connection::open(db).unwrap();
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let rows = rows(&conn);
    conn.close().unwrap();
    assert!(!wal.exists(), "our own check left a -wal file");
    rows
}

/// Every id of `acked` has a row that is done, its result committed once.
fn assert_all_processed_once(acked: &HashSet<u64>, rows: &HashMap<u64, Row>, exit: &Exit) {
    for id in acked {
        let row = rows
            .get(id)
            .unwrap_or_else(|| panic!("job {id} is lost\n{exit}"));
        assert_eq!(row.status, "done", "job {id}: {row:?}\n{exit}");
        assert_eq!(row.processed, 1, "job {id}: {row:?}\n{exit}");
    }
}

/// Adds the ids acknowledged by a run to those of the earlier runs: none
/// was given to another job before.
fn add_fresh(all: &mut HashSet<u64>, run: &HashSet<u64>) {
    let reused: Vec<_> = run.intersection(all).collect();
    assert!(
        reused.is_empty(),
        "ids given to another job before: {reused:?}"
    );
    all.extend(run);
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

/// The first number in the stdout line containing `needle` after the
/// word `after` (`"database closed: 12 jobs acknowledged"`).
fn number_after(exit: &Exit, needle: &str, after: &str) -> u64 {
    let line = &exit.stdout[exit.line(needle)];
    let rest = &line[line.find(after).unwrap() + after.len()..];
    let number = rest.split_whitespace().next().unwrap();
    number
        .parse()
        .unwrap_or_else(|_| panic!("no number in {line:?}"))
}

/// Clients that post jobs on keep-alive connections until the service
/// stops answering or `limit` jobs were posted; the acknowledged ids.
struct Load {
    acked: Arc<Mutex<Vec<u64>>>,
    /// `503 queue full` answers: not acknowledged, not an error.
    full: Arc<AtomicUsize>,
    clients: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    fn start(rt: &tokio::runtime::Runtime, addr: SocketAddr, clients: usize, limit: usize) -> Load {
        Load::with_body(rt, addr, clients, limit, |n| format!("job {n} of the load"))
    }

    fn with_body(
        rt: &tokio::runtime::Runtime,
        addr: SocketAddr,
        clients: usize,
        limit: usize,
        body: fn(usize) -> String,
    ) -> Load {
        let acked = Arc::new(Mutex::new(Vec::new()));
        let posted = Arc::new(AtomicUsize::new(0));
        let full = Arc::new(AtomicUsize::new(0));
        let clients = (0..clients)
            .map(|_| {
                let (acked, posted, full) = (acked.clone(), posted.clone(), full.clone());
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
                            match conn.request("POST", "/jobs", &body(n)).await {
                                Ok(r) if r.status == 202 => {
                                    let id = r.body.trim().parse().expect("an id");
                                    acked.lock().unwrap().push(id);
                                    if r.closes() {
                                        continue 'connect;
                                    }
                                }
                                Ok(r) if r.status == 503 && r.body.contains("queue full") => {
                                    full.fetch_add(1, Ordering::SeqCst);
                                }
                                Ok(r) if r.status == 507 => return, // the disk is full
                                Ok(r) => panic!("unexpected answer {r:?}"),
                                // Closed or killed: not acknowledged.
                                Err(_) => continue 'connect,
                            }
                        }
                    }
                })
            })
            .collect();
        Load {
            acked,
            full,
            clients,
        }
    }

    /// Waits until `n` jobs were acknowledged.
    fn wait_for(&self, rt: &tokio::runtime::Runtime, n: usize) {
        let what = format!("{n} acknowledged jobs");
        rt.block_on(eventually(Duration::from_secs(30), &what, || async {
            (self.acked.lock().unwrap().len() >= n).then_some(())
        }));
    }

    /// Waits for every client to stop; the acknowledged ids, each once.
    fn finish(self, rt: &tokio::runtime::Runtime) -> HashSet<u64> {
        rt.block_on(async {
            for c in self.clients {
                tokio::time::timeout(Duration::from_secs(30), c)
                    .await
                    .expect("a load client did not stop")
                    .expect("load client");
            }
        });
        let acked = Arc::try_unwrap(self.acked).unwrap().into_inner().unwrap();
        let ids: HashSet<u64> = acked.iter().copied().collect();
        assert_eq!(ids.len(), acked.len(), "an id was acknowledged twice");
        ids
    }
}

/// Thousands of `POST /jobs`, SIGTERM in the middle, three times on the same
/// database: every acknowledged job is processed once, no id is reused, the
/// file is sound and no `-wal` file is left.
#[test]
fn sigterm_under_load_loses_nothing() {
    let (_dir, db) = TempDir::with_db("service-load");
    let rt = runtime();
    let mut all_acked = HashSet::new();
    for round in 1..=3 {
        let s = service(&db, &[]);
        let load = Load::start(&rt, s.addr, 16, 5000);
        load.wait_for(&rt, 2000);
        s.p.signal(Signal::SIGTERM);
        let signalled = Instant::now();
        let full = load.full.load(Ordering::SeqCst);
        let acked = load.finish(&rt);
        let exit = s.p.wait(Duration::from_secs(30));
        assert_eq!(exit.code, Some(0), "{exit}");
        let took = signalled.elapsed();

        add_fresh(&mut all_acked, &acked);
        let rows = rows_after_exit(&db, &exit);
        assert_all_processed_once(&all_acked, &rows, &exit);
        assert_phases_in_order(&exit);
        let acknowledged = number_after(&exit, "database closed:", "closed:");
        assert_eq!(acknowledged as usize, acked.len(), "{exit}");
        eprintln!(
            "round {round}: {} acknowledged ({full} answered 503 queue full), {} rows; exit 0 {took:?} after SIGTERM\n{}",
            acked.len(),
            rows.len(),
            exit.stdout.join("\n"),
        );
    }
}

/// `kill -9` under load, ten times on the same database: after each, every
/// job acknowledged so far is in the file; the next start resumes what was
/// not processed and says how many. At the end, after a clean drain, each
/// acknowledged job was processed exactly once.
#[test]
fn kill_9_under_load_loses_nothing() {
    let (_dir, db) = TempDir::with_db("service-kill");
    let rt = runtime();
    let mut all_acked = HashSet::new();
    let mut left = 0; // jobs not done after the last kill
    for run in 1..=10 {
        let s = service(&db, &[]);
        assert_eq!(s.resumed, left, "run {run}: resumed");
        let load = Load::start(&rt, s.addr, 16, usize::MAX);
        load.wait_for(&rt, 300);
        s.p.signal(Signal::SIGKILL);
        let exit = s.p.wait(Duration::from_secs(10));
        assert_eq!(exit.code, None, "{exit}");
        let acked = load.finish(&rt);
        add_fresh(&mut all_acked, &acked);

        let rows = rows_after_crash(&db);
        let missing = all_acked.iter().filter(|id| !rows.contains_key(id)).count();
        left = rows.values().filter(|r| r.status != "done").count() as u64;
        eprintln!(
            "run {run}: {} acknowledged, {missing} missing, {left} not processed, {} resumed at start",
            acked.len(),
            s.resumed
        );
        assert_eq!(missing, 0, "run {run}: acknowledged jobs are lost");
        assert!(rows.values().all(|r| r.processed <= 1), "run {run}");
    }

    let s = service(&db, &[]);
    assert_eq!(s.resumed, left);
    s.p.signal(Signal::SIGTERM);
    let exit = s.p.wait(Duration::from_secs(30));
    assert_eq!(exit.code, Some(0), "{exit}");
    let rows = rows_after_exit(&db, &exit);
    assert_all_processed_once(&all_acked, &rows, &exit);
    // Committed, but the kill came before the 202: processed once as well.
    let unacked: HashSet<u64> = rows
        .keys()
        .copied()
        .filter(|id| !all_acked.contains(id))
        .collect();
    assert_all_processed_once(&unacked, &rows, &exit);
    let again = rows.values().filter(|r| r.attempts > 1).count();
    eprintln!(
        "{} acknowledged in 10 runs, 0 missing, 0 processed twice; {} committed but not acknowledged; {again} claimed again after a kill\n{}",
        all_acked.len(),
        unacked.len(),
        exit.stdout.join("\n")
    );
}

/// A full disk (`MAX_PAGES`): `507`, an error on stderr, never a 202 for a
/// job that is not committed. With no workers, every job stays queued: the
/// summary says so, and the next start (with room) processes them all.
#[test]
fn a_full_disk_answers_507_and_acknowledges_only_commits() {
    let (_dir, db) = TempDir::with_db("service-full");
    let rt = runtime();
    let s = service(&db, &[("MAX_PAGES", "40"), ("WORKERS", "0")]);
    let load = Load::with_body(&rt, s.addr, 8, 5000, |n| {
        format!("{n} {}", "x".repeat(1000))
    });
    let acked = load.finish(&rt); // each client stops at its first 507
    let answer = rt
        .block_on(async {
            Client::connect(s.addr)
                .await?
                .request("POST", "/jobs", &"y".repeat(2000))
                .await
        })
        .unwrap();
    assert_eq!(answer.status, 507, "{answer:?}");
    assert!(answer.body.contains("full"), "{answer:?}");
    s.p.signal(Signal::SIGTERM);
    let exit = s.p.wait(Duration::from_secs(20));
    assert_eq!(exit.code, Some(0), "{exit}");
    assert!(exit.stderr.contains("database or disk is full"), "{exit}");
    assert!(!acked.is_empty() && acked.len() < 5000, "{exit}");
    let rows = rows_after_exit(&db, &exit);
    let ids: HashSet<u64> = rows.keys().copied().collect();
    assert_eq!(ids, acked, "the rows are exactly the acknowledged jobs");
    let unprocessed = count(&exit, "acknowledged but not processed:");
    assert_eq!(unprocessed as usize, acked.len(), "{exit}");

    let s = service(&db, &[]);
    assert_eq!(s.resumed as usize, acked.len());
    s.p.signal(Signal::SIGTERM);
    let exit = s.p.wait(Duration::from_secs(20));
    assert_eq!(exit.code, Some(0), "{exit}");
    assert_all_processed_once(&acked, &rows_after_exit(&db, &exit), &exit);
    eprintln!(
        "disk full: {} acknowledged, all committed, then 507; all processed at the next start",
        acked.len()
    );
}

/// A drain cut by a second signal, then by the deadline: the report says how
/// many acknowledged jobs were not processed; the next start resumes them
/// (no more than that: some finished while the report was printed).
#[test]
fn a_cut_drain_leaves_its_jobs_to_the_next_start() {
    let (_dir, db) = TempDir::with_db("service-cut");
    let rt = runtime();
    let mut all_acked = HashSet::new();
    let mut left = 0;
    // A second SIGTERM, then the deadline.
    for (timeout, code) in [(None, 128 + 15), (Some("300ms"), 124)] {
        let mut env = vec![("JOB_MS", "50"), ("WORKERS", "2")];
        env.extend(timeout.map(|t| ("GRACEFUL_TIMEOUT", t)));
        let mut s = service(&db, &env);
        assert!(s.resumed <= left, "resumed {} of {left}", s.resumed);
        let load = Load::start(&rt, s.addr, 4, 100);
        let acked = load.finish(&rt);
        assert_eq!(acked.len(), 100);
        add_fresh(&mut all_acked, &acked);
        s.p.signal(Signal::SIGTERM);
        s.p.wait_for("shutdown: SIGTERM received");
        if timeout.is_none() {
            std::thread::sleep(Duration::from_millis(100));
            s.p.signal(Signal::SIGTERM);
        }
        let exit = s.p.wait(Duration::from_secs(20));
        assert_eq!(exit.code, Some(code), "{exit}");
        let line = exit
            .stderr
            .lines()
            .find(|l| l.contains("acknowledged but not processed:"))
            .unwrap_or_else(|| panic!("the report does not say what is left\n{exit}"));
        left = line
            .split_whitespace()
            .find_map(|w| w.parse().ok())
            .unwrap();
        assert!(left > 0 && left <= 100 + s.resumed, "{exit}");
        assert!(line.contains("(resumed at next start)"), "{exit}");
        eprintln!("cut with exit {code}: {line}");
    }

    let s = service(&db, &[]);
    assert!(
        s.resumed > 0 && s.resumed <= left,
        "resumed {} of {left}",
        s.resumed
    );
    s.p.signal(Signal::SIGTERM);
    let exit = s.p.wait(Duration::from_secs(20));
    assert_eq!(exit.code, Some(0), "{exit}");
    assert_all_processed_once(&all_acked, &rows_after_exit(&db, &exit), &exit);
}

/// Bodies over 64 KiB are refused with 413 before they are read in full:
/// 32 clients posting 1.9 MB bodies leave the peak RSS under 100 MB, and
/// small jobs are still accepted.
#[test]
fn huge_bodies_get_413_and_memory_stays_bounded() {
    let (_dir, db) = TempDir::with_db("service-body");
    let s = service(&db, &[]);
    let addr = s.addr;
    let rt = runtime();
    let big = Arc::new("x".repeat(1_900_000));
    let answers = rt.block_on(async {
        let clients = (0..32).map(|_| {
            let big = big.clone();
            tokio::spawn(async move {
                let mut statuses = Vec::new();
                for _ in 0..4 {
                    let Ok(mut c) = Client::connect(addr).await else {
                        continue;
                    };
                    if let Ok(r) = c.request("POST", "/jobs", &big).await {
                        statuses.push(r.status);
                    }
                }
                statuses
            })
        });
        let mut all = Vec::new();
        for c in clients.collect::<Vec<_>>() {
            all.extend(c.await.unwrap());
        }
        all
    });
    assert!(answers.iter().all(|s| *s == 413), "{answers:?}");
    assert!(answers.len() >= 32, "{} answers", answers.len());
    let peak = std::fs::read_to_string(format!("/proc/{}/status", s.p.pid()))
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmHWM:"))?.to_owned();
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        });
    let small = rt
        .block_on(async {
            Client::connect(addr)
                .await?
                .request("POST", "/jobs", "small")
                .await
        })
        .unwrap();
    assert_eq!(small.status, 202, "{small:?}");
    s.p.signal(Signal::SIGTERM);
    let exit = s.p.wait(Duration::from_secs(20));
    assert_eq!(exit.code, Some(0), "{exit}");
    if let Some(kib) = peak {
        assert!(kib < 100 * 1024, "peak RSS {kib} KiB\n{exit}");
        eprintln!("{} answers 413; peak RSS {} MiB", answers.len(), kib / 1024);
    }
}

/// A database file that cannot be written stops the start-up: exit 1, the
/// file named. (As root, the service runs as `nobody`, for whom the
/// read-only mode holds.)
#[test]
fn a_read_only_database_stops_the_start() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::os::unix::process::CommandExt;

    let (dir, db) = TempDir::with_db("service-readonly");
    let first = service(&db, &[]);
    first.p.signal(Signal::SIGTERM);
    let exit = first.p.wait(Duration::from_secs(20));
    assert_eq!(exit.code, Some(0), "{exit}");
    std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o444)).unwrap();

    let mut cmd = example("service");
    cmd.env("ADDR", "127.0.0.1:0").env("DATABASE", &db);
    if std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0) {
        cmd.uid(65534).gid(65534);
    }
    let exit = start(cmd).wait(Duration::from_secs(20));
    assert_eq!(exit.code, Some(1), "{exit}");
    assert!(exit.stderr.contains(&db.display().to_string()), "{exit}");
    assert!(exit.stderr.contains("read-only"), "{exit}");
    assert!(
        !exit.stdout.iter().any(|l| l.contains("listening")),
        "{exit}"
    );
}

/// The settings file (`SETTINGS`, as the systemd unit names it) is read at
/// start and again on SIGHUP (`systemctl reload`): a good file changes the
/// setting, a bad one is said with the file, line and key and changes
/// nothing, and the service goes on. A bad file at start stops the start.
#[test]
fn sighup_reloads_the_settings_file() {
    let (dir, db) = TempDir::with_db("service-settings");
    let settings = dir.0.join("settings.conf");
    std::fs::write(&settings, "# comment\nJOB_MS=1\n").unwrap();
    let settings_env = settings.to_str().unwrap();
    let mut s = service(&db, &[("SETTINGS", settings_env)]);
    std::fs::write(&settings, "JOB_MS=7 # slower\n").unwrap();
    s.p.signal(Signal::SIGHUP);
    let line = s.p.wait_for("settings reloaded");
    assert!(
        line.contains(&format!(
            "settings reloaded from {settings_env}: JOB_MS=7 (was 1)"
        )),
        "{line}"
    );
    std::fs::write(&settings, "JOB_MS=7\nJOBS_MS=8\n").unwrap();
    s.p.signal(Signal::SIGHUP);
    let said = s.p.wait_for_stderr("reload hook");
    assert!(
        said.contains(&format!(
            "{settings_env}:2: unknown setting `JOBS_MS` (known: JOB_MS)"
        )),
        "{said}"
    );
    std::fs::write(&settings, "JOB_MS=2\n").unwrap();
    s.p.signal(Signal::SIGHUP);
    let line = s.p.wait_for("settings reloaded");
    assert!(
        line.contains("JOB_MS=2 (was 7)"),
        "the bad file changed nothing: {line}"
    );
    s.p.signal(Signal::SIGTERM);
    let exit = s.p.wait(Duration::from_secs(20));
    assert_eq!(exit.code, Some(0), "{exit}");

    std::fs::write(&settings, "JOB_MS=soon\n").unwrap();
    let mut cmd = example("service");
    cmd.env("ADDR", "127.0.0.1:0")
        .env("DATABASE", &db)
        .env("SETTINGS", &settings);
    let exit = start(cmd).wait(Duration::from_secs(20));
    assert_eq!(exit.code, Some(1), "{exit}");
    assert!(
        exit.stderr.contains(&format!("{settings_env}:1: JOB_MS")),
        "{exit}"
    );
}

/// The API by hand: 202 with an id, the job reported once done, 404 for an
/// unknown id; `/ready` 503 within 50 ms of SIGTERM during a lame duck that
/// still accepts jobs; those jobs are processed too.
#[test]
fn api_readiness_and_lame_duck() {
    let (_dir, db) = TempDir::with_db("service-api");
    let Service { p, addr, .. } = service(&db, &[("GRACEFUL_LAME_DUCK", "1s")]);
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
        "the job to be done",
        || async {
            let r = http_util::get(addr, &format!("/jobs/{id}")).await.ok()?;
            (r.status == 200 && r.body.contains("status: done")).then_some(r)
        },
    ));
    assert!(job.body.contains("body: hello graceful world"), "{job:?}");
    assert!(job.body.contains("result: 20 bytes, 3 words"), "{job:?}");
    assert!(job.body.contains("attempts: 1"), "{job:?}");
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
    let (flipped, _) = rt.block_on(http_util::not_ready(addr));
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
    let acked = HashSet::from([id, late]);
    assert_all_processed_once(&acked, &rows_after_exit(&db, &exit), &exit);
    assert_phases_in_order(&exit);
    let lame = &exit.stdout[exit.line("lame duck:")];
    let ms: u64 = lame.rsplit(' ').nth(1).unwrap().parse().unwrap();
    assert!(ms >= 950, "{exit}");
    eprintln!(
        "/ready answered 503 {flip:?} after SIGTERM\n{}",
        exit.stdout.join("\n")
    );
}

/// `service_axum`, the baseline of `deploy/rolling-restart`: the same API on
/// plain `axum::serve`, with its health routes; on SIGTERM it answers what
/// it acknowledged, processes it and exits 0.
#[test]
fn service_axum_serves_the_same_api() {
    let (_dir, db) = TempDir::with_db("service-axum");
    let mut cmd = example("service_axum");
    cmd.env("ADDR", "127.0.0.1:0").env("DATABASE", &db);
    let mut p = start(cmd);
    let addr = listening_addr(&p.wait_for("listening on http://"));
    let rt = runtime();
    let posted = rt
        .block_on(async {
            Client::connect(addr)
                .await?
                .request("POST", "/jobs", "hello plain axum")
                .await
        })
        .unwrap();
    assert_eq!(posted.status, 202, "{posted:?}");
    let id: u64 = posted.body.trim().parse().unwrap();
    for (path, status) in [("/ready", 200), ("/live", 200), ("/jobs/999999", 404)] {
        let r = rt.block_on(http_util::get(addr, path)).unwrap();
        assert_eq!(r.status, status, "{path}: {r:?}");
    }

    p.signal(Signal::SIGTERM);
    let exit = p.wait(Duration::from_secs(20));
    assert_eq!(exit.code, Some(0), "{exit}");
    assert_all_processed_once(&HashSet::from([id]), &rows_after_exit(&db, &exit), &exit);
    exit.line("database closed: 1 jobs accepted, 1 processed"); // or a panic naming it
}

/// An upgrade (`SIGUSR2`) in the middle of the load: the new process takes
/// the socket and the database while the old one drains. Every job posted
/// is acknowledged (no refused connection, no failed request), and each is
/// processed exactly once: the new process leaves the jobs the old one
/// claimed to it, instead of resuming them as a crash's. Both exit 0.
#[cfg(target_os = "linux")]
#[test]
fn an_upgrade_under_load_acknowledges_and_processes_every_job_once() {
    use nix::sys::wait::{WaitStatus, waitpid};
    use nix::unistd::Pid;
    // The new process is the old one's child: once the old one exits, it is
    // ours to wait for.
    nix::sys::prctl::set_child_subreaper(true).unwrap();
    let exit_code = |pid: i32| match waitpid(Pid::from_raw(pid), None).unwrap() {
        WaitStatus::Exited(_, code) => Some(code),
        _ => None,
    };
    let (_dir, db) = TempDir::with_db("service-upgrade");
    let rt = runtime();
    let mut s = service(&db, &[("JOB_MS", "2")]);
    let load = Load::start(&rt, s.addr, 8, 3000);
    load.wait_for(&rt, 500);
    s.p.signal(Signal::SIGUSR2);
    let started = s.p.wait_for_stderr("graceful: upgrade: started");
    let new: i32 = started
        .split("(pid ")
        .nth(1)
        .unwrap()
        .split(')')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // If the test fails half-way, the new process must not outlive it.
    struct Kill(i32);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = nix::sys::signal::kill(Pid::from_raw(self.0), Signal::SIGKILL);
        }
    }
    let kill = Kill(new);
    s.p.wait_for_stderr("graceful: upgraded: process");
    assert_eq!(exit_code(s.p.pid() as i32), Some(0), "the old process");
    let acked = load.finish(&rt);
    nix::sys::signal::kill(Pid::from_raw(new), Signal::SIGTERM).unwrap();
    assert_eq!(exit_code(new), Some(0), "the new process");
    std::mem::forget(kill);
    let exit = s.p.output();
    assert_eq!(acked.len(), 3000, "every job acknowledged\n{exit}");
    let rows = rows_after_exit(&db, &exit);
    assert_all_processed_once(&acked, &rows, &exit);
    let again = rows.values().filter(|r| r.attempts > 1).count();
    assert_eq!(again, 0, "no job claimed twice\n{exit}");
}
