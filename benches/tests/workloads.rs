//! The workloads are only comparable if every contender ends in the same state: these tests
//! check that ours, the `crdts` crate and the floor agree on each workload's result.

use std::collections::BTreeSet;

use crdts::{CmRDT, CvRDT};
use deltacrdt::{DeltaCrdt, Lattice};
use deltacrdt_benches::floor as vecfloor;
use deltacrdt_benches::workload::{self as wl, floor, ours, peer};

fn peer_elements(s: &peer::Set) -> Vec<u64> {
    let mut v: Vec<u64> = s.read().val.into_iter().collect();
    v.sort_unstable();
    v
}

fn our_elements(s: &ours::Set) -> Vec<u64> {
    s.iter().copied().collect()
}

#[test]
fn set_join_gives_the_same_elements_for_every_contender() {
    let n = 1_000;
    let expected = wl::joined_elements(n);
    assert_eq!(expected.len(), n / 2 - n / 20 + n);

    let mut o = ours::set_pair(n);
    assert!(o.left.join(o.right.clone()));
    assert_eq!(our_elements(&o.left), expected);

    let mut p = peer::set_pair(n);
    p.left.merge(p.right.clone());
    assert_eq!(peer_elements(&p.left), expected);

    // The floor has the same elements without the removes.
    let f = floor::pair(n);
    assert_eq!(f.left.len(), n);
    assert_eq!(f.right.len(), n);
    let union = vecfloor::union(&f.left, &f.right);
    let removed: BTreeSet<u64> = wl::left_removes(n).collect();
    let kept: Vec<u64> = union
        .iter()
        .copied()
        .filter(|e| !removed.contains(e))
        .collect();
    assert_eq!(kept, expected);
}

#[test]
fn set_pairs_diverged_in_the_same_way() {
    let n = 200;
    let o = ours::set_pair(n);
    let p = peer::set_pair(n);
    assert_eq!(our_elements(&o.left), peer_elements(&p.left));
    assert_eq!(our_elements(&o.right), peer_elements(&p.right));
    assert_ne!(our_elements(&o.left), our_elements(&o.right));
}

#[test]
fn adds_and_removes_give_the_same_sets_and_one_delta_per_operation() {
    let mut o = ours::set_of(wl::BASE_SET);
    let mut p = peer::set_of(wl::BASE_SET);
    let od = ours::add_many(&mut o, wl::LEFT, wl::fresh_elements());
    let pd = peer::add_many(&mut p, wl::LEFT, wl::fresh_elements());
    assert_eq!((od.len(), pd.len()), (wl::MUTATIONS, wl::MUTATIONS));
    assert_eq!(o.len(), wl::BASE_SET + wl::MUTATIONS);
    assert_eq!(our_elements(&o), peer_elements(&p));

    let od = ours::remove_many(&mut o, wl::removed_elements());
    let pd = peer::remove_many(&mut p, wl::removed_elements());
    assert_eq!((od.len(), pd.len()), (wl::MUTATIONS, wl::MUTATIONS));
    assert_eq!(o.len(), wl::BASE_SET);
    assert_eq!(our_elements(&o), peer_elements(&p));
}

#[test]
fn shipped_operations_rebuild_the_state_on_another_replica() {
    // The deltas and ops a mutator loop returns are complete: replaying them elsewhere
    // reproduces the state (so the benchmarks really produced what must be shipped).
    let mut o = ours::Set::new();
    let mut p = peer::Set::new();
    let od = ours::add_many(&mut o, wl::LEFT, wl::base_elements(50));
    let pd = peer::add_many(&mut p, wl::LEFT, wl::base_elements(50));
    let mut o2 = ours::Set::new();
    for d in od {
        o2.join(d);
    }
    let mut p2 = peer::Set::new();
    for op in pd {
        p2.apply(op);
    }
    assert_eq!(o2, o);
    assert_eq!(peer_elements(&p2), peer_elements(&p));
}

#[test]
fn catch_up_delta_brings_a_lagging_replica_to_the_same_elements_as_the_peer() {
    let n = 1_000;
    let behind = ours::set_of(n);
    let (ahead, version) = ours::set_catch_up(n);
    assert_eq!(version, behind.version());
    let delta = ahead.delta_since(&version);
    assert_eq!(delta.len(), wl::CATCH_UP_ADDS);
    let mut caught_up = behind;
    caught_up.join(delta);
    assert_eq!(caught_up, ahead);
    assert_eq!(our_elements(&ahead), peer_elements(&peer::set_catch_up(n)));

    let (fv, seen) = floor::catch_up(n);
    assert_eq!(vecfloor::tail_after(&fv, seen).len(), wl::CATCH_UP_ADDS);
}

#[test]
fn counters_agree_on_values() {
    for r in wl::COUNTER_REPLICAS {
        let mut o = ours::gcounter_pair(r);
        let mut p = peer::gcounter_pair(r);
        assert_eq!(o.left.value().to_string(), p.left.read().to_string());
        o.left.join(o.right);
        p.left.merge(p.right);
        assert_eq!(o.left.value(), 2 * r as u128);
        assert_eq!(o.left.value().to_string(), p.left.read().to_string());

        let mut o = ours::pncounter_pair(r);
        let mut p = peer::pncounter_pair(r);
        o.left.join(o.right);
        p.left.merge(p.right);
        assert_eq!(o.left.value().to_string(), p.left.read().to_string());

        let (ahead, v) = ours::gcounter_catch_up(r);
        assert_eq!(
            ahead.delta_since(&v).counts().len(),
            wl::CATCH_UP_COUNTERS.min(r)
        );
        assert_eq!(
            ahead.value().to_string(),
            peer::gcounter_catch_up(r).read().to_string()
        );
        let (ahead, _) = ours::pncounter_catch_up(r);
        assert_eq!(
            ahead.value().to_string(),
            peer::pncounter_catch_up(r).read().to_string()
        );
    }
}

#[test]
fn counter_mutators_agree() {
    let mut o = deltacrdt::GCounter::new();
    let mut p = crdts::GCounter::<u64>::new();
    assert_eq!(ours::gcounter_incs(&mut o, 16).len(), wl::MUTATIONS);
    assert_eq!(peer::gcounter_incs(&mut p, 16).len(), wl::MUTATIONS);
    assert_eq!(o.value(), wl::MUTATIONS as u128);
    assert_eq!(p.read().to_string(), wl::MUTATIONS.to_string());

    let mut o = deltacrdt::PNCounter::new();
    let mut p = crdts::PNCounter::<u64>::new();
    ours::pncounter_ops(&mut o, 16);
    peer::pncounter_ops(&mut p, 16);
    assert_eq!(o.value(), 0);
    assert_eq!(p.read().to_string(), "0");
    assert_eq!(o.increments().value(), (wl::MUTATIONS / 2) as u128);
}

#[test]
fn registers_agree() {
    let mut o = deltacrdt::LWWRegister::new();
    let mut p = peer::Lww::default();
    ours::lww_writes(&mut o);
    peer::lww_writes(&mut p);
    assert_eq!(o.value(), Some(&(wl::MUTATIONS as u64 - 1)));
    assert_eq!(p.val, wl::MUTATIONS as u64 - 1);

    let mut o = ours::lww_pair();
    let mut p = peer::lww_pair();
    o.left.join(o.right);
    p.left.merge(p.right);
    assert_eq!(o.left.value(), Some(&p.left.val));

    let mut o = deltacrdt::MVRegister::new();
    let mut p = peer::Mv::new();
    ours::mv_writes(&mut o);
    peer::mv_writes(&mut p);
    assert_eq!(o.values().copied().collect::<Vec<_>>(), p.read().val);

    let mut o = ours::mv_pair();
    let mut p = peer::mv_pair();
    o.left.join(o.right);
    p.left.merge(p.right);
    let mut pv = p.left.read().val;
    pv.sort_unstable();
    assert_eq!(o.left.values().copied().collect::<Vec<_>>(), pv);
    assert_eq!(pv.len(), wl::REGISTER_WRITERS);
}

#[test]
fn floor_union_matches_a_set_union() {
    let f = floor::pair(999);
    let expected: Vec<u64> = f
        .left
        .iter()
        .chain(&f.right)
        .copied()
        .collect::<BTreeSet<u64>>()
        .into_iter()
        .collect();
    assert_eq!(vecfloor::union(&f.left, &f.right), expected);
    assert_eq!(vecfloor::union(&[], &[1]), vec![1]);
    assert_eq!(vecfloor::decode(&[1, 2, 3]), None);
}

#[test]
fn sync_rounds_deliver_the_same_elements_for_both_contenders() {
    use deltacrdt_benches::workload::link;
    let n = 500;
    let mut o = link::ours_link(n);
    assert_eq!(o.a.state(), o.b.state());
    assert_eq!(o.b.state().len(), n);
    let mut p = link::peer_link(n);
    let ob = link::ours_round(&mut o, link::round_elements());
    let pb = link::peer_round(&mut p, link::round_elements());
    assert!(ob > 0 && pb > 0);
    assert_eq!(o.a.state(), o.b.state());
    assert_eq!(o.a.buffer_len(), 0, "the deltas were acknowledged");
    assert_eq!(our_elements(o.b.state()), peer_elements(&p.right));
    assert_eq!(o.b.state().len(), n + link::ROUND_UPDATES);
    // A quiet link sends nothing more.
    assert_eq!(link::pump(&mut o), 0);
}

#[test]
fn map_pairs_diverge_and_join_to_the_same_counts_for_both_contenders() {
    let n = 1_000;
    let expected = wl::joined_counts(n);
    assert_eq!(expected.len(), n / 2 - n / 20 + n);
    assert!(expected.iter().any(|(_, v)| *v == 2));

    let mut o = ours::map_pair(n);
    let mut p = peer::map_pair(n);
    assert_eq!(ours::map_counts(&o.left), peer::map_counts(&p.left));
    assert_eq!(ours::map_counts(&o.right), peer::map_counts(&p.right));
    assert_ne!(ours::map_counts(&o.left), ours::map_counts(&o.right));

    let right = o.right.clone();
    assert!(o.left.join(o.right));
    assert_eq!(ours::map_counts(&o.left), expected);
    // Join is order-independent here too.
    let mut other = right;
    other.join(ours::map_pair(n).left);
    assert_eq!(other, o.left);

    p.left.merge(p.right);
    assert_eq!(peer::map_counts(&p.left), expected);
}

#[test]
fn map_updates_agree_and_give_one_shippable_delta_per_update() {
    let mut o = ours::map_of(wl::MAP_KEYS);
    let mut p = peer::map_of(wl::MAP_KEYS);
    let start = o.clone();
    let od = ours::map_inc_many(&mut o, wl::LEFT, wl::updated_keys());
    let pd = peer::map_inc_many(&mut p, wl::LEFT, wl::updated_keys());
    assert_eq!((od.len(), pd.len()), (wl::MUTATIONS, wl::MUTATIONS));
    assert_eq!(o.len(), wl::MAP_KEYS);
    let counts = ours::map_counts(&o);
    assert_eq!(counts, peer::map_counts(&p));
    assert_eq!(
        counts.iter().filter(|(_, v)| *v == 2).count(),
        wl::MUTATIONS
    );
    // Each delta holds only its key's change, and replaying them reproduces the state.
    assert!(od.iter().all(|d| d.len() == 1));
    let mut replayed = start;
    for d in od {
        replayed.join(d);
    }
    assert_eq!(replayed, o);
    let mut p2 = peer::map_of(wl::MAP_KEYS);
    for op in pd {
        p2.apply(op);
    }
    assert_eq!(peer::map_counts(&p2), counts);
}

#[test]
fn map_catch_up_delta_brings_a_lagging_replica_to_the_peers_state() {
    let n = 1_000;
    let behind = ours::map_of(n);
    let (ahead, version) = ours::map_catch_up(n);
    assert_eq!(version, behind.version());
    let delta = ahead.delta_since(&version);
    assert_eq!(delta.len(), wl::MAP_CATCH_UP_UPDATES);
    let mut caught_up = behind;
    caught_up.join(delta);
    assert_eq!(caught_up, ahead);
    assert_eq!(ahead.len(), n - wl::MAP_CATCH_UP_REMOVES);
    assert_eq!(
        ours::map_counts(&ahead),
        peer::map_counts(&peer::map_catch_up(n))
    );
    assert_eq!(floor::map_of(n).len(), n);
}
