//! The live tasks of one scope, stored compactly: 12 bytes per task (the
//! index of its *site* and its start time), while what a report says of it
//! (name, spawn site, definition site, kind) is stored once per site.
//!
//! Tasks spawned with a `&'static str` name share one site per (name,
//! spawn site, definition site, kind), kept for the life of the scope
//! (there are as many as there are places in the code). A task with an
//! owned name (`format!`) has a site of its own, freed with its slot.
//! Consecutive spawns from the same place find their site without hashing.
//!
//! A task that ends takes no lock: it marks its own slot ended ([`Slots`],
//! which never move) with one store, and a later spawn, under the
//! registry's lock, takes the slot again. The lock is then the spawners'
//! alone (and a report's); the workers that end tasks do not contend for
//! it, and one of them descheduled by a busy host stalls no other.

use std::borrow::Cow;
use std::collections::HashMap;
use std::time::Duration;

use slab::Slab;

use super::sync::{AtomicU32, Mutex, MutexGuard, Ordering, lock};
use super::{Entry, Kind, Origin};

mod slots;

pub(super) use slots::Place;
use slots::{END, ENDED, FIRST, FREE, Slots, locate};

/// The live tasks of one scope: the slots their tasks end in without a
/// lock, and what the lock guards.
pub(super) struct Tasks {
    live: Mutex<Live>,
    slots: Slots,
}

impl Tasks {
    pub(super) fn new() -> Tasks {
        Tasks {
            live: Mutex::new(Live::new()),
            slots: Slots::new(),
        }
    }

    /// Lists `entry` until [`end`](Self::end) or
    /// [`end_watched`](Self::end_watched) is called with the returned
    /// place.
    #[inline] // on every spawn: one function with `register` (see `Live::insert`)
    pub(super) fn insert(&self, entry: New) -> Place {
        lock(&self.live).insert(&self.slots, entry)
    }

    /// Ends the task listed at `place`, without the lock: only that task
    /// calls this (or [`end_watched`](Self::end_watched)), once.
    pub(super) fn end(&self, place: Place) {
        self.slots.end(place);
    }

    /// Ends the task listed at `place`, as [`end`](Self::end) does, and
    /// returns what its slot said of it (read under the lock, before a
    /// spawn can take the slot again).
    pub(super) fn end_watched(&self, place: Place) -> Ended {
        let live = lock(&self.live);
        let ended = live.ended(place);
        self.slots.end(place);
        ended
    }

    /// What is listed, under the lock while the view lives.
    pub(super) fn view(&self) -> View<'_> {
        View {
            live: lock(&self.live),
            slots: &self.slots,
        }
    }
}

/// The listed tasks, as of one moment: the registry's lock is held while
/// this lives.
pub(super) struct View<'a> {
    live: MutexGuard<'a, Live>,
    slots: &'a Slots,
}

impl View<'_> {
    /// Every live task: its site and its age, `now` on its runtime's clock.
    pub(super) fn iter(&self, now: Duration) -> impl Iterator<Item = (&Site, Duration)> {
        self.live.iter(self.slots, now)
    }

    /// The site of the live task listed at `place`.
    pub(super) fn get(&self, place: Place) -> &Site {
        &self.live.sites[place.site as usize]
    }
}

/// How many free slots a spawn looks at before it adds a level.
const PROBES: usize = 8;

/// What a report says of a group of tasks. Sites are not counted: an
/// interned site stays, and a site of its own goes when its task's slot is
/// taken again, so spawns and exits write to no line they would share.
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

/// What an ended task's slot said of it.
pub(super) struct Ended {
    pub(super) name: Cow<'static, str>,
    pub(super) kind: Kind,
    /// When it started, on its runtime's [`Clock`](crate::clock::Clock).
    pub(super) since: Duration,
}

/// An entry with what can be worked out before the lock: its site's key
/// (for a `&'static` name) and its start time.
pub(super) struct New {
    entry: Entry,
    key: Option<Key>,
    since: u64,
}

impl New {
    /// `entry`, started at `now` (on its runtime's clock).
    #[inline]
    pub(super) fn at(entry: Entry, now: Duration) -> New {
        let key = match entry.origin.name {
            Cow::Borrowed(name) => Some(Key::new(name, &entry.origin, entry.kind)),
            Cow::Owned(_) => None,
        };
        let since = u64::try_from(now.as_nanos()).unwrap_or(u64::MAX);
        New { entry, key, since }
    }
}

/// What the registry's lock guards: the sites, and for the [`Slots`] it
/// hands out, when each task started and where the next free one may be.
struct Live {
    /// Per slot: when the task started, in nanoseconds on [`clock`]'s
    /// scale.
    since: Vec<u64>,
    /// Where the next spawn starts looking for a free slot.
    cursor: usize,
    sites: Slab<Site>,
    interned: HashMap<Key, u32>,
    /// The last site interned or found, so that a loop of spawns from one
    /// place does not hash.
    last: Option<(Key, u32)>,
}

/// An index below `END`, so that it is never read as ended or free.
fn index(i: usize) -> u32 {
    u32::try_from(i)
        .ok()
        .filter(|&i| i < END)
        .expect("fewer than 2^31 - 1 live tasks in one scope")
}

impl Live {
    pub(super) fn new() -> Live {
        Live {
            since: Vec::new(),
            cursor: 0,
            sites: Slab::new(),
            interned: HashMap::new(),
            last: None,
        }
    }

    /// Lists `entry`, [prepared](New::at) before the lock, in a slot of
    /// `slots`; returns where.
    // This and its two steps are inlined into `Registry::register` (every
    // spawn): out of line, each costs a call and the moves of its
    // arguments, about 40 instructions per spawn in all.
    #[inline]
    fn insert(&mut self, slots: &Slots, entry: New) -> Place {
        let New { entry, key, since } = entry;
        let site = self.site(entry.origin, entry.kind, key);
        let key = self.free_slot(slots);
        let slot = slots.get(key);
        // `Acquire` (here or in `free_slot`'s probe, either is enough; the
        // models check that without both, a report taken after this spawn
        // could miss what the slot's ended task did).
        let before = slot.load(Ordering::Acquire);
        if before != FREE {
            self.forget((before & !ENDED) as usize);
        }
        self.since[key] = since;
        // Every read of a live slot is under the lock or by its own task
        // (which has the `Place`), so this needs no `Release` of its own.
        slot.store(site, Ordering::Release);
        Place {
            slot: index(key),
            site,
        }
    }

    /// A slot whose task ended, or a new one: a few slots from the cursor
    /// are looked at, then a level is added (so that slots stay at most a
    /// small multiple of the most tasks ever live at once).
    #[inline]
    fn free_slot(&mut self, slots: &Slots) -> usize {
        let capacity = self.since.len();
        for _ in 0..PROBES.min(capacity) {
            if self.cursor >= capacity {
                self.cursor = 0;
            }
            let key = self.cursor;
            self.cursor += 1;
            if slots.get(key).load(Ordering::Acquire) & ENDED != 0 {
                return key;
            }
        }
        let (level, _) = locate(capacity);
        let len = FIRST << level;
        index(capacity + len - 1);
        let fresh: Box<[AtomicU32]> = (0..len).map(|_| AtomicU32::new(FREE)).collect();
        assert!(
            slots.levels[level].set(fresh).is_ok(),
            "a level is added once"
        );
        self.since.resize(capacity + len, 0);
        self.cursor = capacity + 1;
        capacity
    }

    #[inline]
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

    /// Frees `site` if it was its ended task's own.
    fn forget(&mut self, site: usize) {
        if !self.sites[site].interned {
            self.sites.remove(site);
        }
    }

    /// What the slot at `place` says of its task, which is ending.
    fn ended(&self, place: Place) -> Ended {
        let site = &self.sites[place.site as usize];
        Ended {
            name: site.origin.name.clone(),
            kind: site.kind,
            since: Duration::from_nanos(self.since[place.slot as usize]),
        }
    }

    /// Every live task: its site and its age.
    fn iter<'a>(
        &'a self,
        slots: &'a Slots,
        now: Duration,
    ) -> impl Iterator<Item = (&'a Site, Duration)> {
        self.listed(slots)
            .map(move |(site, since)| (site, now.saturating_sub(Duration::from_nanos(since))))
    }

    /// Every live task: its site and when it started.
    fn listed<'a>(&'a self, slots: &'a Slots) -> impl Iterator<Item = (&'a Site, u64)> {
        self.since
            .iter()
            .enumerate()
            .filter_map(move |(key, &since)| {
                // `Acquire`: a task left out as ended has done all it did
                // before it ended, as far as the report's reader can see.
                let site = slots.get(key).load(Ordering::Acquire);
                (site & ENDED == 0).then(|| (&self.sites[site as usize], since))
            })
    }
}

#[cfg(all(test, graceful_loom))]
mod loom;

#[cfg(all(test, not(graceful_loom)))]
mod tests;
