//! The live tasks of one scope, stored compactly: 12 bytes per task (the
//! index of its *site* and its start time), while what a report says of it
//! (name, spawn site, definition site, kind) is stored once per site.
//!
//! Tasks spawned with a `&'static str` name share one site per (name,
//! spawn site, definition site, kind), kept for the life of the scope
//! (there are as many as there are places in the code). A task with an
//! owned name (`format!`) has a site of its own, freed when it ends.
//! Consecutive spawns from the same place find their site without hashing.

use std::borrow::Cow;
use std::collections::HashMap;
use std::time::Duration;

use slab::Slab;

use super::{Entry, Kind, Origin};

/// Marks a free slot in `Live::slots`; the other bits are the next free one.
const FREE: u32 = 1 << 31;
/// The end of the free list.
const END: u32 = FREE - 1;

/// What a report says of a group of tasks. Sites are not counted: an
/// interned site stays, and a site of its own goes with its one task, so
/// spawns and exits write to no line they would share.
pub(super) struct Site {
    pub(super) origin: Origin,
    pub(super) kind: Kind,
    interned: bool,
}

/// Identifies a site of tasks with a `&'static str` name by addresses.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    name: (usize, usize),
    spawned_at: usize,
    defined_at: usize,
    kind: Kind,
}

impl Key {
    fn new(name: &'static str, origin: &Origin, kind: Kind) -> Key {
        Key {
            name: (name.as_ptr().addr(), name.len()),
            spawned_at: std::ptr::from_ref(origin.spawned_at).addr(),
            defined_at: origin
                .defined_at
                .map_or(0, |d| std::ptr::from_ref(d).addr()),
            kind,
        }
    }
}

/// What a task's slot held, once it is emptied.
pub(super) struct Ended {
    pub(super) name: Cow<'static, str>,
    pub(super) kind: Kind,
    /// When it started, on [`clock`]'s scale.
    pub(super) since: Duration,
}

/// An entry with what can be worked out before the lock: its site's key
/// (for a `&'static` name) and its start time.
pub(super) struct New {
    entry: Entry,
    key: Option<Key>,
    since: u64,
}

impl From<Entry> for New {
    fn from(entry: Entry) -> New {
        let key = match entry.origin.name {
            Cow::Borrowed(name) => Some(Key::new(name, &entry.origin, entry.kind)),
            Cow::Owned(_) => None,
        };
        let since = u64::try_from(clock::now().as_nanos()).unwrap_or(u64::MAX);
        New { entry, key, since }
    }
}

pub(super) struct Live {
    /// Per slot: the index of the task's site, or `FREE` and the next free
    /// slot.
    slots: Vec<u32>,
    /// Per slot: when the task started, in nanoseconds on [`clock`]'s
    /// scale.
    since: Vec<u64>,
    /// The first free slot, or `END`.
    free: u32,
    sites: Slab<Site>,
    interned: HashMap<Key, u32>,
    /// The last site interned or found, so that a loop of spawns from one
    /// place does not hash.
    last: Option<(Key, u32)>,
}

/// An index below `END`, so that it is never read as a free slot or the
/// end of the free list.
fn index(i: usize) -> u32 {
    u32::try_from(i)
        .ok()
        .filter(|&i| i < END)
        .expect("fewer than 2^31 - 1 live tasks in one scope")
}

impl Live {
    pub(super) fn new() -> Live {
        Live {
            slots: Vec::new(),
            since: Vec::new(),
            free: END,
            sites: Slab::new(),
            interned: HashMap::new(),
            last: None,
        }
    }

    /// Lists `entry`, [prepared](New::from) before the lock; returns its
    /// slot.
    pub(super) fn insert(&mut self, entry: New) -> usize {
        let New { entry, key, since } = entry;
        let site = self.site(entry.origin, entry.kind, key);
        if self.free != END {
            let key = self.free as usize;
            self.free = self.slots[key] & !FREE;
            self.slots[key] = site;
            self.since[key] = since;
            key
        } else {
            let key = self.slots.len();
            index(key);
            self.slots.push(site);
            self.since.push(since);
            key
        }
    }

    fn site(&mut self, origin: Origin, kind: Kind, key: Option<Key>) -> u32 {
        let Some(key) = key else {
            return index(self.sites.insert(Site {
                origin,
                kind,
                interned: false,
            }));
        };
        match self.last {
            Some((last, site)) if last == key => site,
            _ => {
                let sites = &mut self.sites;
                let site = *self.interned.entry(key).or_insert_with(|| {
                    index(sites.insert(Site {
                        origin,
                        kind,
                        interned: true,
                    }))
                });
                self.last = Some((key, site));
                site
            }
        }
    }

    /// Empties slot `key`; a site of its own goes with it.
    pub(super) fn remove(&mut self, key: usize) -> Ended {
        let site = self.slots[key] as usize;
        debug_assert_eq!(self.slots[key] & FREE, 0, "a live slot");
        let since = Duration::from_nanos(self.since[key]);
        self.slots[key] = FREE | self.free;
        self.free = index(key);
        let s = &self.sites[site];
        let (name, kind) = if s.interned {
            (s.origin.name.clone(), s.kind)
        } else {
            let s = self.sites.remove(site);
            (s.origin.name, s.kind)
        };
        Ended { name, kind, since }
    }

    /// The site of the task in slot `key`.
    pub(super) fn get(&self, key: usize) -> &Site {
        &self.sites[self.slots[key] as usize]
    }

    /// Every live task: its site and its age.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&Site, Duration)> {
        let now = clock::now();
        self.slots
            .iter()
            .zip(&self.since)
            .filter(|(site, _)| *site & FREE == 0)
            .map(move |(&site, &since)| {
                let age = now.saturating_sub(Duration::from_nanos(since));
                (&self.sites[site as usize], age)
            })
    }
}

/// The clock a task's age in the task dump is read from. Every spawn reads
/// it, so it is the cheapest one that is good enough for an age: on Linux
/// `CLOCK_MONOTONIC_COARSE` (no hardware clock read; its resolution is the
/// kernel's tick, a few milliseconds), where `Instant::now` measured
/// 100-190 ns on a virtual machine whose clock source falls back to a
/// system call. With `test-util`, tokio's clock, so that paused time
/// shows in the ages.
pub(super) mod clock {
    use std::time::Duration;

    /// A monotonic time, from an arbitrary origin.
    #[cfg(all(
        any(target_os = "linux", target_os = "android"),
        not(feature = "test-util")
    ))]
    pub(crate) fn now() -> Duration {
        use nix::time::{ClockId, clock_gettime};
        clock_gettime(ClockId::CLOCK_MONOTONIC_COARSE).map_or(Duration::ZERO, Duration::from)
    }

    /// A monotonic time, from the first call.
    #[cfg(not(all(
        any(target_os = "linux", target_os = "android"),
        not(feature = "test-util")
    )))]
    pub(crate) fn now() -> Duration {
        use std::sync::OnceLock;
        use tokio::time::Instant;
        static ORIGIN: OnceLock<Instant> = OnceLock::new();
        let now = Instant::now();
        now.saturating_duration_since(*ORIGIN.get_or_init(|| now))
    }

    /// How long ago `since` was.
    pub(crate) fn age(since: Duration) -> Duration {
        now().saturating_sub(since)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::panic::Location;

    fn entry(name: Cow<'static, str>, at: &'static Location<'static>) -> Entry {
        Entry {
            origin: Origin::new(name, at),
            kind: Kind::Task(crate::policy::Policy::Critical),
        }
    }

    #[test]
    fn tasks_of_one_place_share_a_site_and_slots_are_reused() {
        let at = Location::caller();
        let mut live = Live::new();
        let keys: Vec<usize> = (0..100)
            .map(|_| live.insert(entry("idle".into(), at).into()))
            .collect();
        assert_eq!(live.sites.len(), 1);
        assert_eq!(live.iter().count(), 100);
        for &k in keys.iter().rev().skip(1).step_by(2) {
            assert_eq!(live.remove(k).name, "idle");
        }
        assert_eq!(live.iter().count(), 50);
        for _ in 0..50 {
            live.insert(entry(format!("owned {}", live.slots.len()).into(), at).into());
        }
        assert_eq!(live.slots.len(), 100, "freed slots are reused");
        assert_eq!(live.sites.len(), 51);
        assert_eq!(live.iter().count(), 100);
        let owned: Vec<usize> = (0..100)
            .filter(|&k| live.get(k).origin.name != "idle")
            .collect();
        for k in owned {
            assert!(live.remove(k).name.starts_with("owned"));
        }
        assert_eq!(
            live.sites.len(),
            1,
            "an owned name's site goes with its task"
        );
        assert!(live.iter().all(|(site, _)| site.origin.name == "idle"));
    }

    #[test]
    fn two_spawn_sites_are_two_sites() {
        let mut live = Live::new();
        let at = Location::caller();
        let k = live.insert(entry("a".into(), at).into());
        let other = Location::caller();
        let j = live.insert(entry("a".into(), other).into());
        assert_ne!(live.slots[k], live.slots[j], "two spawn sites, two sites");
    }
}
