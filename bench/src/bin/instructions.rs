//! One lifecycle row for `bench/lifecycle-instructions`, to be run under
//! callgrind: `instructions spawn_join|cancel_join <contender>`
//! (`instructions <row>` lists the row's contenders). Prints
//! `ready <tasks>` just before the measured part and `done` after it, and
//! each time waits for a line on stdin, so that the script can zero the
//! counts and dump them around the measured part alone.
//!
//! - `spawn_join`: after one batch to warm up, 10 batches of 1 000 tasks
//!   spawned and joined (the set-up of graceful's and the peers' lifecycle
//!   is inside the counted part: a few instructions per task against them);
//! - `cancel_join`: 10 000 idle tasks, from the trigger until all are
//!   joined (the spawns and the first polls are outside).

use std::io::{BufRead, Write};

use graceful_bench::{BATCH, cancel_join, spawn_join};

const BATCHES: u64 = 10;
const IDLE: usize = 10_000;

/// Says `what` and waits for the script's answer.
fn handshake(what: &str) {
    println!("{what}");
    std::io::stdout().flush().unwrap();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).unwrap();
}

fn ready() {
    handshake(&format!("ready {IDLE}"));
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (row, contender) = match &args[..] {
        [row] => (row, None),
        [row, contender] => (row, Some(contender.as_str())),
        _ => panic!("usage: instructions spawn_join|cancel_join [<contender>]"),
    };
    /// Without a contender, the names of the row's contenders.
    macro_rules! list {
        ($($name:ident),*) => {
            if contender.is_none() {
                println!("{}", [$(stringify!($name)),*].join(" "));
                return;
            }
        };
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    macro_rules! spawn_join {
        ($($name:ident),*) => {{
            list!($($name),*);
            match contender {
                $(Some(stringify!($name)) => rt.block_on(async {
                    spawn_join::$name(1).await;
                    handshake(&format!("ready {}", BATCHES as usize * BATCH));
                    spawn_join::$name(BATCHES).await
                }),)*
                other => panic!("no contender {other:?}"),
            }
        }};
    }
    macro_rules! cancel_join {
        ($($name:ident),*) => {{
            list!($($name),*);
            match contender {
                $(Some(stringify!($name)) => rt.block_on(cancel_join::$name(IDLE, ready)),)*
                other => panic!("no contender {other:?}"),
            }
        }};
    }
    match row.as_str() {
        "spawn_join" => spawn_join!(
            by_hand,
            by_hand_shared,
            graceful_spawn,
            graceful_task_macro,
            graceful_isolated,
            tokio_graceful,
            async_shutdown
        ),
        "cancel_join" => cancel_join!(
            by_hand,
            by_hand_shared,
            graceful_spawn,
            graceful_task_macro,
            tokio_graceful,
            async_shutdown
        ),
        other => panic!("no row {other}"),
    };
    handshake("done");
}
