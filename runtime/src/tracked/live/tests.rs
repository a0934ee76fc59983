//! The registry's allocator, single-threaded: slot reuse, levels, sites.

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
    let (mut live, slots) = (Live::new(), Slots::new());
    let places: Vec<Place> = (0..100)
        .map(|_| live.insert(&slots, New::at(entry("idle".into(), at), Duration::ZERO)))
        .collect();
    assert_eq!(live.sites.len(), 1);
    assert_eq!(live.iter(&slots, Duration::ZERO).count(), 100);
    let capacity = live.since.len();
    for &p in places.iter().rev().skip(1).step_by(2) {
        assert_eq!(live.ended(p).name, "idle");
        slots.end(p);
    }
    assert_eq!(live.iter(&slots, Duration::ZERO).count(), 50);
    for i in 0..50 {
        live.insert(
            &slots,
            New::at(entry(format!("owned {i}").into(), at), Duration::ZERO),
        );
    }
    assert_eq!(live.iter(&slots, Duration::ZERO).count(), 100);
    assert!(
        live.since.len() <= 2 * capacity,
        "ended slots are taken again: {} slots for 100 tasks",
        live.since.len()
    );
    assert_eq!(live.sites.len(), 51);
    let owned: Vec<Place> = (0..live.since.len())
        .map(|k| Place {
            slot: index(k),
            site: slots.get(k).load(Ordering::Relaxed),
        })
        .filter(|p| p.site & ENDED == 0 && live.sites[p.site as usize].origin.name != "idle")
        .collect();
    assert_eq!(owned.len(), 50);
    for &p in &owned {
        assert!(live.ended(p).name.starts_with("owned"));
        slots.end(p);
    }
    assert!(
        live.iter(&slots, Duration::ZERO)
            .all(|(site, _)| site.origin.name == "idle")
    );
    // An owned name's site goes once its slot is taken again.
    for _ in 0..live.since.len() {
        live.insert(&slots, New::at(entry("again".into(), at), Duration::ZERO));
    }
    assert_eq!(live.sites.len(), 2, "only the two interned sites are left");
}

#[test]
fn slots_grow_by_levels_and_ended_ones_are_found() {
    let at = Location::caller();
    let (mut live, slots) = (Live::new(), Slots::new());
    assert_eq!(locate(0), (0, 0));
    assert_eq!(locate(FIRST - 1), (0, FIRST - 1));
    assert_eq!(locate(FIRST), (1, 0));
    assert_eq!(locate(3 * FIRST), (2, 0));
    // A thousand rounds of spawning 50 tasks and ending them all: the
    // slots stay a small multiple of 50.
    for _ in 0..1000 {
        let places: Vec<Place> = (0..50)
            .map(|_| live.insert(&slots, New::at(entry("batch".into(), at), Duration::ZERO)))
            .collect();
        assert_eq!(live.iter(&slots, Duration::ZERO).count(), 50);
        for p in places {
            slots.end(p);
        }
    }
    assert!(live.since.len() <= 4 * 64, "{} slots", live.since.len());
    assert_eq!(live.iter(&slots, Duration::ZERO).count(), 0);
}

#[test]
fn two_spawn_sites_are_two_sites() {
    let (mut live, slots) = (Live::new(), Slots::new());
    let at = Location::caller();
    let k = live.insert(&slots, New::at(entry("a".into(), at), Duration::ZERO));
    let other = Location::caller();
    let j = live.insert(&slots, New::at(entry("a".into(), other), Duration::ZERO));
    assert_ne!(k.site, j.site, "two spawn sites, two sites");
}
