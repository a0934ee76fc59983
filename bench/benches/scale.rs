//! Scale: cancel + join and heap per idle task at 10 000 and 1 000 000
//! tasks, each run in a fresh process (`src/bin/scale.rs`) so that its peak
//! resident set is its own. Contenders are alternated round by round.
//! Prints the figures and writes `scale.json` for `bench/table.py`.

use std::process::Command;

const CONTENDERS: [&str; 4] = [
    "by_hand",
    "by_hand_shared",
    "graceful_spawn",
    "async_shutdown",
];
/// (tasks, rounds of the timed run): the 1M runs take seconds each.
const SIZES: [(usize, usize); 2] = [(10_000, 12), (1_000_000, 4)];

fn run(mode: &str, contender: &str, n: usize) -> (f64, f64) {
    let out = Command::new(env!("CARGO_BIN_EXE_scale"))
        .args([mode, contender, &n.to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8(out.stdout).unwrap();
    let field = |key: &str| -> f64 {
        let at = line.find(&format!("\"{key}\":")).unwrap() + key.len() + 3;
        line[at..]
            .split([',', '}'])
            .next()
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    (field("value"), field("peak_rss_kib"))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument, if any, is ignored.
    let mut json = Vec::new();
    for (n, rounds) in SIZES {
        let mut time: Vec<Vec<f64>> = vec![Vec::new(); CONTENDERS.len()];
        let mut rss: Vec<Vec<f64>> = vec![Vec::new(); CONTENDERS.len()];
        for round in 0..rounds {
            for j in 0..CONTENDERS.len() {
                let i = (round + j) % CONTENDERS.len();
                let (ns, kib) = run("time", CONTENDERS[i], n);
                time[i].push(ns);
                rss[i].push(kib);
            }
        }
        for (i, c) in CONTENDERS.iter().enumerate() {
            let heap = median((0..3).map(|_| run("heap", c, n).0).collect());
            let (ns, kib) = (median(time[i].clone()), median(rss[i].clone()));
            println!(
                "scale/{c}/{n}: cancel + join {ns:.1} ns per task, heap {heap:.1} B per task, peak RSS {:.1} MiB",
                kib / 1024.0
            );
            json.push(format!(
                r#"{{"contender":"{c}","tasks":{n},"ns_per_task":{ns},"heap_per_task":{heap},"peak_rss_kib":{kib},"rounds":{rounds}}}"#
            ));
        }
    }
    let path = graceful_bench::paired::out_dir().join("scale.json");
    std::fs::write(path, format!("[{}]\n", json.join(",\n"))).unwrap();
}
