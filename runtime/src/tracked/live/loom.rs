//! The registry under loom: spawns, exits (with and without the lock),
//! slot reuse, level growth and reports, in every interleaving (up to the
//! preemption bound). Run by `.ci/run`:
//!
//! ```text
//! RUSTFLAGS="--cfg graceful_loom" cargo test -p gracefully-runtime --release --lib loom
//! ```
//!
//! With two slots in the first level, the first two tasks fill it, so the
//! next spawns either take an ended task's slot or add a level while the
//! others run.
//!
//! Loom's partial-order reduction remembers only the last access to each
//! atomic (tokio-rs/loom#166, #392): a thread that loads an atomic and then
//! stores to it hides the race between its store and another thread's
//! earlier load, and those interleavings are never run. The slots are
//! therefore written with single stores (a task's exit does not read its
//! slot first), and `model` prints how many interleavings each model ran
//! (`--nocapture`), so that a drop after a change shows.

use std::borrow::Cow;
use std::panic::Location;
use std::time::Duration;

use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, Ordering};
use loom::thread;

use super::{New, Tasks};
use crate::policy::Policy;

use crate::sync::model;
use crate::tracked::{Entry, Kind, Origin};

/// A task named `name` that started at `since`, each test's tasks having
/// a `since` of their own, so that a report pairing a name with another
/// task's start shows.
fn task(name: impl Into<Cow<'static, str>>, since: u64) -> New {
    New::at(
        Entry {
            origin: Origin::new(name.into(), Location::caller()),
            kind: Kind::Task(Policy::Critical),
        },
        Duration::from_nanos(since),
    )
}

/// What a report lists: each task's name and start.
fn report(tasks: &Tasks) -> Vec<(String, u64)> {
    let view = tasks.view();
    let mut listed: Vec<_> = view
        .live
        .listed(view.slots)
        .map(|(site, since)| (site.origin.name.to_string(), since))
        .collect();
    listed.sort_by_key(|&(_, since)| since);
    listed
}

/// Every entry of `listed` is a task of the test, whole (its name with its
/// own start), and listed once.
fn whole(listed: &[(String, u64)], tasks: &[(&str, u64)]) {
    for (name, since) in listed {
        assert!(
            tasks.contains(&(name.as_str(), *since)),
            "torn or unknown entry: `{name}` since {since}, in {listed:?}"
        );
    }
    let mut starts: Vec<u64> = listed.iter().map(|&(_, since)| since).collect();
    starts.dedup();
    assert_eq!(
        starts.len(),
        listed.len(),
        "a task listed twice: {listed:?}"
    );
}

/// Each slot handed out points at a site that exists, and each site is
/// interned or the site of exactly one slot: none is freed while a slot
/// points at it, none is left behind by a slot taken again.
fn consistent(tasks: &Tasks) {
    let view = tasks.view();
    let (live, slots) = (&view.live, view.slots);
    let mut owned = Vec::new();
    for key in 0..live.since.len() {
        let state = slots.get(key).load(Ordering::Relaxed);
        if state == super::FREE {
            continue;
        }
        let site = (state & !super::ENDED) as usize;
        assert!(
            live.sites.contains(site),
            "slot {key} points at a freed site"
        );
        if !live.sites[site].interned {
            owned.push(site);
        }
    }
    let count = owned.len();
    owned.sort_unstable();
    owned.dedup();
    assert_eq!(owned.len(), count, "two slots share a site of their own");
    let interned = live.sites.iter().filter(|(_, site)| site.interned).count();
    assert_eq!(live.sites.len(), interned + count, "a site left behind");
}

fn names(listed: &[(String, u64)]) -> Vec<&str> {
    listed.iter().map(|(name, _)| name.as_str()).collect()
}

/// A report taken while tasks spawn and end: every entry it lists is
/// whole (a name with its own task's start, never a freed slot's old
/// name); it lists the task that runs throughout; it is one moment (never
/// a task spawned after another ended together with that one); and a task
/// it leaves out has ended, with all it did before visible to the report
/// (the ending task's store is the `Release` that the report's `Acquire`
/// pairs with). A watched exit reads its own entry while spawns take slots.
/// At the end, exactly the live tasks are listed, and only their sites are
/// kept.
#[test]
fn loom_a_report_races_spawns_and_exits() {
    model(|| {
        const TASKS: &[(&str, u64)] = &[("stay", 1), ("gone", 2), ("new", 3), ("b", 4), ("c", 5)];
        let tasks = Arc::new(Tasks::new());
        tasks.insert(task("stay", 1));
        // An owned name: its site is its own, freed with its slot.
        let gone = tasks.insert(task(String::from("gone"), 2));
        // What `gone` did before it ended.
        let gone_worked = Arc::new(AtomicBool::new(false));

        let exits = {
            let (tasks, gone_worked) = (tasks.clone(), gone_worked.clone());
            thread::spawn(move || {
                gone_worked.store(true, Ordering::Relaxed);
                tasks.end(gone);
                // May take `gone`'s slot, or add a level.
                tasks.insert(task(String::from("new"), 3));
            })
        };
        let spawns = {
            let tasks = tasks.clone();
            thread::spawn(move || {
                let b = tasks.insert(task("b", 4));
                let ended = tasks.end_watched(b);
                assert_eq!(ended.name, "b");
                assert_eq!(ended.since.as_nanos(), 4);
                tasks.insert(task(String::from("c"), 5));
            })
        };

        let listed = report(&tasks);
        whole(&listed, TASKS);
        let seen = names(&listed);
        assert!(
            seen.contains(&"stay"),
            "the task that runs throughout: {listed:?}"
        );
        if !seen.contains(&"gone") {
            assert!(
                gone_worked.load(Ordering::Relaxed),
                "`gone` left out before it ended: {listed:?}"
            );
        }
        // A report is one moment: a task spawned after another ended is
        // never listed with it (`b` ends under the lock, `gone` without).
        assert!(!(seen.contains(&"c") && seen.contains(&"b")), "{listed:?}");
        assert!(
            !(seen.contains(&"new") && seen.contains(&"gone")),
            "{listed:?}"
        );

        exits.join().unwrap();
        spawns.join().unwrap();
        assert_eq!(names(&report(&tasks)), ["stay", "new", "c"]);
        consistent(&tasks);
    });
}

/// A spawn takes an ended task's slot only once that task marked it ended,
/// never a live task's: the task that is ending goes on being listed until
/// it marks its slot, and the new task is listed from its spawn on, in the
/// old slot or in a level added for it.
#[test]
fn loom_an_ended_slot_is_taken_again() {
    model(|| {
        const TASKS: &[(&str, u64)] = &[("a", 1), ("b", 2), ("c", 3)];
        let tasks = Arc::new(Tasks::new());
        // The first level's two slots.
        let a = tasks.insert(task(String::from("a"), 1));
        let b = tasks.insert(task("b", 2));
        let ending = {
            let tasks = tasks.clone();
            thread::spawn(move || tasks.end(a))
        };
        let c = tasks.insert(task(String::from("c"), 3));
        assert_ne!(c.slot, b.slot, "`c` took the slot of the live `b`");
        let listed = report(&tasks);
        whole(&listed, TASKS);
        let seen = names(&listed);
        assert!(seen.contains(&"b") && seen.contains(&"c"), "{listed:?}");
        if c.slot == a.slot {
            assert!(
                !seen.contains(&"a"),
                "`a`'s slot taken, `a` listed: {listed:?}"
            );
        }
        ending.join().unwrap();
        assert_eq!(names(&report(&tasks)), ["b", "c"]);
        consistent(&tasks);
    });
}
