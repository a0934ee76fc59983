//! Producers → channel → consumers: at shutdown, every produced job is
//! consumed and none is lost.
//!
//! Two producers, in their own `producers` scope, push numbered jobs into a
//! bounded channel; three consumers take them out, slower than they come, so
//! a backlog builds up. Consumers never look at cancellation: a consumer
//! ends when the channel is closed and empty, and the channel closes when
//! the last producer has ended (Go's "close the channel, range over it").
//!
//! On Ctrl-C (or `kill -TERM`), child scopes drain first: the producers
//! stop and drop their senders, the consumers finish the backlog, and then
//! a deferred hook prints the totals, `produced N` and `consumed N`, which
//! are equal. Exit code 0.
//!
//! ```text
//! cargo run --example worker_pool
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use graceful::Context;

/// What the producers and consumers count.
#[derive(Default)]
struct Totals {
    produced: AtomicU64,
    consumed: AtomicU64,
}

#[graceful::main]
async fn main(ctx: Context) {
    // A multi-consumer channel: each consumer holds a clone of the receiver.
    let (tx, rx) = async_channel::bounded(64);
    let totals = Arc::new(Totals::default());

    for id in 0..3 {
        consumer(&ctx, id, rx.clone(), totals.clone());
    }
    // A child scope drains before its parent's own tasks: producers stop
    // first, then the consumers empty the channel.
    let producers = ctx.scope("producers");
    for id in 0..2 {
        producer(&producers, id, tx.clone(), totals.clone());
    }
    drop(tx); // only the producers hold senders now

    ctx.defer("print totals", async move {
        println!("produced {}", totals.produced.load(Ordering::SeqCst));
        println!("consumed {}", totals.consumed.load(Ordering::SeqCst));
    });
    println!("worker_pool: started");
}

/// Sends a job every 5 ms until cancelled.
#[graceful::task]
async fn producer(ctx: Context, id: u64, jobs: async_channel::Sender<u64>, totals: Arc<Totals>) {
    let mut every = tokio::time::interval(Duration::from_millis(5));
    let mut sent = 0_u64;
    while ctx.run_until_cancelled(every.tick()).await.is_some() {
        let job = id * 1_000_000 + sent;
        // A send cancelled while the channel is full sends nothing.
        match ctx.run_until_cancelled(jobs.send(job)).await {
            Some(Ok(())) => {
                sent += 1;
                totals.produced.fetch_add(1, Ordering::SeqCst);
                if sent.is_multiple_of(100) {
                    println!("producer {id}: sent {sent} jobs");
                }
            }
            Some(Err(_)) | None => break,
        }
    }
    println!("producer {id}: stopped after {sent} jobs");
}

/// Works through jobs until the channel is closed and empty.
#[graceful::task]
async fn consumer(_ctx: Context, id: u64, jobs: async_channel::Receiver<u64>, totals: Arc<Totals>) {
    let mut done = 0_u64;
    // `recv` fails once the channel is closed and empty.
    while let Ok(_job) = jobs.recv().await {
        tokio::time::sleep(Duration::from_millis(20)).await; // the work
        done += 1;
        totals.consumed.fetch_add(1, Ordering::SeqCst);
    }
    println!("consumer {id}: channel closed and empty after {done} jobs");
}
