//! HTTP from outside the process: `wrk` against separate server processes
//! (`src/bin/http_server.rs`), graceful and plain `axum::serve`, same
//! router, all on 127.0.0.1; then the drain of 10 000 idle keep-alive
//! connections, from SIGTERM to the server's exit. Contenders are
//! alternated round by round. Writes `wrk.json` for `bench/table.py`.
//!
//! `bench/run` installs `wrk` (Debian's package) when it is missing; without
//! it this bench says so and measures nothing.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The servers of the throughput rows; the first is the one compared
/// (`graceful_unlisted`: the cost of listing the requests in flight).
const SERVERS: [&str; 4] = ["graceful", "graceful_unlisted", "axum", "axum_nodelay"];
/// The contenders of the keep-alive drain row: the server, and how long
/// its connections stay idle before SIGTERM. Idle for `QUIET`, they are a
/// pool's spare connections, which graceful closes at once; `just
/// answered`, they are a busy client's, which get the grace.
const DRAIN: [(&str, &str, Duration); 4] = [
    ("graceful", "graceful", QUIET),
    ("axum", "axum", QUIET),
    ("graceful_no_grace", "graceful_no_grace", QUIET),
    ("graceful, just answered", "graceful", Duration::ZERO),
];
/// Longer than graceful's watchdog takes to count a connection quiet for
/// the grace (two looks, 2.5 s apart by default).
const QUIET: Duration = Duration::from_secs(6);
/// Rounds of `wrk` per server, each `WRK_SECONDS` long.
const ROUNDS: usize = 8;
const WRK_SECONDS: u32 = 3;
/// Connections `wrk` keeps open (one thread).
const WRK_CONNECTIONS: u32 = 64;
/// Idle keep-alive connections open at SIGTERM, and rounds of that row.
const IDLE: usize = 10_000;
const DRAIN_ROUNDS: usize = 3;

fn start(kind: &str) -> (Child, u16) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_http_server"))
        .arg(kind)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .trim()
        .strip_prefix("ready ")
        .expect("ready <port>")
        .parse()
        .unwrap();
    (child, port)
}

/// Stops a server with SIGTERM and returns how long it took to exit.
fn stop(mut child: Child) -> Duration {
    let start = Instant::now();
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let status = child.wait().unwrap();
    let took = start.elapsed();
    assert!(status.success(), "the server exited with {status}");
    took
}

/// The CPU time (user and system) process `pid` has used, in µs.
fn cpu_us(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The fields after the command name, which is in parentheses.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .unwrap()
        .unwrap() as f64;
    ticks * 1e6 / hz
}

/// Requests per second, p99 latency (µs) and the server's CPU time per
/// request (µs) of one `wrk` run against server `pid`.
fn wrk(pid: u32, port: u16) -> (f64, f64, f64) {
    let cpu_before = cpu_us(pid);
    let out = Command::new("wrk")
        .args([
            "-t1",
            &format!("-c{WRK_CONNECTIONS}"),
            &format!("-d{WRK_SECONDS}s"),
            "--latency",
            &format!("http://127.0.0.1:{port}/"),
        ])
        .output()
        .unwrap();
    let cpu = cpu_us(pid) - cpu_before;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "wrk: {text}");
    assert!(!text.contains("Non-2xx"), "wrk saw errors: {text}");
    let rps = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .expect("Requests/sec in wrk's output")
        .trim()
        .parse()
        .unwrap();
    let p99 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("99%"))
        .map(|v| micros(v.trim()))
        .expect("a 99% latency in wrk's output");
    let requests: f64 = text
        .lines()
        .find_map(|l| l.trim().split_once(" requests in"))
        .expect("a request count in wrk's output")
        .0
        .parse()
        .unwrap();
    (rps, p99, cpu / requests)
}

/// `wrk`'s durations: `812.00us`, `1.25ms`, `2.00s`.
fn micros(v: &str) -> f64 {
    let split = v.find(|c: char| c.is_ascii_alphabetic()).unwrap();
    let (n, unit) = v.split_at(split);
    let n: f64 = n.parse().unwrap();
    match unit {
        "us" => n,
        "ms" => n * 1e3,
        "s" => n * 1e6,
        other => panic!("unit {other}"),
    }
}

/// Opens `IDLE` connections, sends one request on each and reads its
/// answer, so that all are idle keep-alive connections; returns them.
async fn idle_connections(port: u16) -> Vec<TcpStream> {
    let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(256));
    let tasks: Vec<_> = (0..IDLE)
        .map(|_| {
            let sem = sem.clone();
            tokio::spawn(async move {
                let _permit = sem.acquire().await.unwrap();
                let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
                s.write_all(b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n")
                    .await
                    .unwrap();
                let mut buf = Vec::new();
                let mut chunk = [0u8; 512];
                while !buf.ends_with(b"hello, world") {
                    let n = s.read(&mut chunk).await.unwrap();
                    assert!(n > 0, "closed before the answer");
                    buf.extend_from_slice(&chunk[..n]);
                }
                s
            })
        })
        .collect();
    let mut conns = Vec::with_capacity(IDLE);
    for t in tasks {
        conns.push(t.await.unwrap());
    }
    conns
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn quartiles(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 4], v[v.len() * 3 / 4])
}

fn main() {
    if Command::new("wrk").arg("--version").output().is_err() {
        println!("wrk: not found (bench/run installs it: apt-get install -y wrk); skipped");
        return;
    }
    graceful_bench::raise_nofile();
    let mut json = Vec::new();

    // Throughput and p99, paired rounds against long-lived servers.
    let servers: Vec<(Child, u16)> = SERVERS.iter().map(|k| start(k)).collect();
    for (child, port) in &servers {
        wrk(child.id(), *port); // warm up
    }
    let mut rps = vec![Vec::new(); SERVERS.len()];
    let mut p99 = vec![Vec::new(); SERVERS.len()];
    let mut cpu = vec![Vec::new(); SERVERS.len()];
    for round in 0..ROUNDS {
        for j in 0..SERVERS.len() {
            let i = (round + j) % SERVERS.len();
            let (r, p, c) = wrk(servers[i].0.id(), servers[i].1);
            rps[i].push(r);
            p99[i].push(p);
            cpu[i].push(c);
        }
    }
    for (child, _) in servers {
        stop(child);
    }
    for (i, name) in SERVERS.iter().enumerate() {
        let (r, p) = (median(rps[i].clone()), median(p99[i].clone()));
        // Ours over theirs for throughput; theirs over ours for latency,
        // so that above 1 is better for graceful in both.
        let rps_ratio: Vec<f64> = rps[0].iter().zip(&rps[i]).map(|(g, a)| g / a).collect();
        let p99_ratio: Vec<f64> = p99[0].iter().zip(&p99[i]).map(|(g, a)| a / g).collect();
        let (rq1, rq3) = quartiles(rps_ratio.clone());
        let (pq1, pq3) = quartiles(p99_ratio.clone());
        let (rr, pr) = (r / median(rps[0].clone()), median(p99[0].clone()) / p);
        // The server's CPU time per request, theirs over ours: requests per
        // CPU second, the figure a busy host moves least.
        let c = median(cpu[i].clone());
        let cpu_ratio: Vec<f64> = cpu[0].iter().zip(&cpu[i]).map(|(g, a)| a / g).collect();
        let (cq1, cq3) = quartiles(cpu_ratio);
        let cr = c / median(cpu[0].clone());
        println!(
            "wrk/{name}: {r:.0} requests/s, p99 {p:.0} us, CPU {c:.2} us per request; graceful/{name}: throughput {:.3}x ({rq1:.3}x .. {rq3:.3}x), p99 {:.3}x ({pq1:.3}x .. {pq3:.3}x), requests per CPU second {cr:.3}x ({cq1:.3}x .. {cq3:.3}x)",
            1.0 / rr,
            1.0 / pr
        );
        json.push(format!(
            r#"{{"row":"wrk","server":"{name}","rps":{r},"p99_us":{p},"cpu_us":{c},"rps_ratio":{},"rps_q1":{rq1},"rps_q3":{rq3},"p99_ratio":{},"p99_q1":{pq1},"p99_q3":{pq3},"cpu_ratio":{cr},"cpu_q1":{cq1},"cpu_q3":{cq3},"rounds":{ROUNDS}}}"#,
            1.0 / rr,
            1.0 / pr
        ));
    }

    // Drain with IDLE idle keep-alive connections open.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut drain = vec![Vec::new(); DRAIN.len()];
    for round in 0..DRAIN_ROUNDS {
        for j in 0..DRAIN.len() {
            let i = (round + j) % DRAIN.len();
            let (_, kind, idle) = DRAIN[i];
            let (child, port) = start(kind);
            let conns = rt.block_on(idle_connections(port));
            std::thread::sleep(idle);
            drain[i].push(stop(child).as_secs_f64() * 1e3);
            drop(conns);
        }
    }
    for (i, (name, _, idle)) in DRAIN.iter().enumerate() {
        let ms = median(drain[i].clone());
        let idle = idle.as_secs();
        println!(
            "keep-alive drain/{name}: {ms:.1} ms from SIGTERM to exit with {IDLE} connections idle for {idle} s (median of {DRAIN_ROUNDS})"
        );
        json.push(format!(
            r#"{{"row":"keep-alive drain","server":"{name}","ms":{ms},"idle":{IDLE},"idle_s":{idle},"rounds":{DRAIN_ROUNDS}}}"#
        ));
    }
    let path = graceful_bench::paired::out_dir().join("wrk.json");
    std::fs::write(path, format!("[{}]\n", json.join(",\n"))).unwrap();
}
