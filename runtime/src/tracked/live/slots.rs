//! The slots a live task ends in without the registry's lock: one atomic
//! per task, in levels that never move (see the parent's docs).

use super::super::sync::{AtomicU32, OnceLock, Ordering};

/// Where a live task is listed: its slot, and the site the slot holds
/// while the task lives (so that the task marks its slot ended with one
/// store, without reading it first).
#[derive(Clone, Copy)]
pub(in crate::tracked) struct Place {
    pub(super) slot: u32,
    pub(super) site: u32,
}

/// Marks an ended task's slot: the other bits are still its site, freed
/// when the slot is taken again.
pub(super) const ENDED: u32 = 1 << 31;
/// A slot never used.
pub(super) const FREE: u32 = u32::MAX;
/// An index at or above this is never handed out.
pub(super) const END: u32 = ENDED - 1;

/// The slots of the first level; each level has twice the slots of the one
/// before. Two in the model checks, so that a few tasks add levels.
#[cfg(not(all(test, graceful_loom)))]
pub(super) const FIRST: usize = 16;
#[cfg(all(test, graceful_loom))]
pub(super) const FIRST: usize = 2;
/// Enough levels for `END` slots.
pub(super) const LEVELS: usize = 28;

/// Per slot, the site of the live task in it, or `ENDED` with its last
/// site, or `FREE`: read and written without the registry's lock by the
/// task in the slot as it ends. Slots are allocated a level at a time and
/// never move.
pub(super) struct Slots {
    pub(super) levels: [OnceLock<Box<[AtomicU32]>>; LEVELS],
}

impl Slots {
    pub(super) fn new() -> Slots {
        Slots {
            levels: std::array::from_fn(|_| OnceLock::new()),
        }
    }

    /// Slot `key`, which [`Live::insert`] handed out.
    pub(super) fn get(&self, key: usize) -> &AtomicU32 {
        let (level, offset) = locate(key);
        &self.levels[level].get().expect("a slot handed out")[offset]
    }

    /// Marks the task at `place` ended: only that task calls this, once.
    /// `Release`: a spawn or a report that reads it ended (`Acquire`) sees
    /// all the task did.
    pub(super) fn end(&self, place: Place) {
        let slot = self.get(place.slot as usize);
        slot.store(place.site | ENDED, Ordering::Release);
    }
}

/// The level and offset of slot `key`.
pub(super) fn locate(key: usize) -> (usize, usize) {
    let q = key / FIRST + 1;
    let level = (usize::BITS - 1 - q.leading_zeros()) as usize;
    (level, key - FIRST * ((1 << level) - 1))
}
