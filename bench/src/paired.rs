//! Paired rounds: every contender of a row runs once per round, in an order
//! that rotates from round to round, so that all of them see the same
//! machine load; each contender's median over the rounds is then divided by
//! each floor's median. On this 2-vCPU machine the load drifts while
//! criterion measures one contender after the other; runs of one round see
//! the same load, so these ratios are the ones the targets are checked on.

use std::path::PathBuf;
use std::time::Duration;

/// The floors a contender's ratio is taken to, when they run in the row.
pub const FLOORS: [&str; 2] = ["by_hand", "by_hand_shared"];

/// Where the benches leave their results for `bench/table.py`: criterion's
/// directory under the target directory (`CARGO_TARGET_DIR` if set).
pub fn out_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("criterion");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn quantiles(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 4], v[v.len() / 2], v[v.len() * 3 / 4])
}

/// One contender of a paired row: its name and one run, returning the
/// measured time.
pub type Contender<'a> = (&'a str, &'a dyn Fn() -> Duration);

/// Runs `rounds` rounds of `contenders` (rotating who goes first), prints
/// each contender's median and its ratio to each floor, and returns the
/// JSON records for `table.py`. `per` divides a time into the row's unit
/// (tasks per run for a per-task row, 1 otherwise).
pub fn run(row: &str, rounds: usize, per: f64, contenders: &[Contender<'_>]) -> Vec<String> {
    let k = contenders.len();
    let mut took: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); k];
    for round in 0..rounds {
        for j in 0..k {
            let i = (round + j) % k;
            took[i].push(contenders[i].1().as_secs_f64() / per);
        }
    }
    let mut json = Vec::new();
    for (i, (name, _)) in contenders.iter().enumerate() {
        let (_, median, _) = quantiles(took[i].clone());
        let mut ratios = Vec::new();
        for floor in FLOORS {
            let Some(f) = contenders.iter().position(|(n, _)| *n == floor) else {
                continue;
            };
            let (_, floor_median, _) = quantiles(took[f].clone());
            let per_round = took[i].iter().zip(&took[f]).map(|(t, f)| t / f).collect();
            let (q1, _, q3) = quantiles(per_round);
            let ratio = median / floor_median;
            ratios.push(format!(
                r#""{floor}":{{"ratio":{ratio},"q1":{q1},"q3":{q3}}}"#
            ));
            println!(
                "paired: {row} / {name}: {ratio:.3}x {floor} (per-round quartiles {q1:.3}x .. {q3:.3}x, {rounds} rounds)"
            );
        }
        json.push(format!(
            r#"{{"row":"{row}","contender":"{name}","rounds":{rounds},"median":{median},{}}}"#,
            ratios.join(",")
        ));
    }
    json
}

/// Writes the records of one bench to `paired-<bench>.json`.
pub fn write(bench: &str, records: &[String]) {
    let path = out_dir().join(format!("paired-{bench}.json"));
    std::fs::write(path, format!("[{}]\n", records.join(",\n"))).unwrap();
}
