//! Regression tests for what the fuzz harness (`fuzz/`) and its review found, each reduced to
//! the smallest input that shows it. The fuzz targets check the same laws on arbitrary input;
//! these pin the known cases so they run with `cargo test`.

use deltacrdt::codec::Binary;
use deltacrdt::{
    CausalContext, DeltaCrdt, Dot, LWWRegister, Lattice, MVRegister, ORSet, ReplicaId, Timestamp,
};

/// The one sequence number whose live-dot digest was 0 (splitmix64's increment, negated):
/// a replica holding just this dot live looked exactly like one holding nothing live.
const ZERO_DIGEST_SEQ: u64 = 0x61c8_8646_80b5_83eb;

/// A context of one dot, as its replica would hold it after seeing that one event.
fn context_of(d: Dot) -> CausalContext {
    [d].into_iter().collect()
}

#[test]
fn causal_context_of_one_short_run_round_trips() {
    // One replica entry takes 11 bytes (id, run count, start, length); the decoder once
    // required 12 per entry and refused this valid encoding as "length too large".
    let c = context_of(Dot::new(ReplicaId(1), 1));
    let bytes = c.to_bytes();
    assert_eq!(CausalContext::from_bytes(&bytes), Ok(c));
}

#[test]
fn orset_holding_only_removed_elements_round_trips() {
    // Same bound, inside an ORSet: contexts of two replicas and no live element.
    let mut s: ORSet<u64> = ORSet::new();
    s.add(ReplicaId(1), 5).unwrap();
    s.add(ReplicaId(2), 6).unwrap();
    let _ = s.remove(&5);
    let _ = s.remove(&6);
    let bytes = s.to_bytes();
    assert_eq!(ORSet::<u64>::from_bytes(&bytes), Ok(s));
}

#[test]
fn orset_catch_up_carries_a_removal_whatever_the_dot_seq() {
    // b holds "x" under dot d; a has seen d and removed it. Catch-up from a must retire d at b.
    for seq in [ZERO_DIGEST_SEQ, ZERO_DIGEST_SEQ - 1, 1, u64::MAX] {
        let d = Dot::new(ReplicaId(7), seq);
        let b = ORSet::from_parts([("x".to_string(), vec![d])], context_of(d)).unwrap();
        let a = ORSet::<String>::from_parts([], context_of(d)).unwrap();
        let delta = a.delta_since(&b.version());
        assert_eq!(
            b.joined(&delta),
            b.joined(&a),
            "b ⊔ a.delta_since(b.version()) != b ⊔ a for a removed dot with seq {seq:#x} (delta: {delta:?})"
        );
        assert!(!b.joined(&delta).contains(&"x".to_string()));
    }
}

#[test]
fn mv_register_catch_up_carries_an_overwrite_whatever_the_dot_seq() {
    // b holds a sibling under dot d; a has seen d and cleared it.
    for seq in [ZERO_DIGEST_SEQ, ZERO_DIGEST_SEQ - 1, 1, u64::MAX] {
        let d = Dot::new(ReplicaId(7), seq);
        let b = MVRegister::from_parts(vec![(d, 1u32)], context_of(d)).unwrap();
        let a = MVRegister::<u32>::from_parts(vec![], context_of(d)).unwrap();
        let delta = a.delta_since(&b.version());
        assert_eq!(
            b.joined(&delta),
            b.joined(&a),
            "b ⊔ a.delta_since(b.version()) != b ⊔ a for a replaced write with seq {seq:#x} (delta: {delta:?})"
        );
    }
}

#[test]
fn lww_catch_up_converges_when_a_replica_reuses_a_stamp() {
    // Found by the `convergence` target: one replica writes twice in the same millisecond with
    // `set` (same timestamp, same replica, different values) and the second delta is lost.
    // Join alone would converge (the greater value wins), but the two replicas now have equal
    // versions, so `delta_since` sends nothing either way and they never converge.
    let r = ReplicaId(1);
    let t = Timestamp::new(1_000, 0);
    let mut a = LWWRegister::new();
    let first = a.set(r, t, "v17".to_string());
    let _lost = a.set(r, t, "v48".to_string());
    let mut b = LWWRegister::new();
    b.join(first);
    let delta = a.delta_since(&b.version());
    assert_eq!(
        b.joined(&delta),
        b.joined(&a),
        "b ⊔ a.delta_since(b.version()) != b ⊔ a: a = {a:?}, b = {b:?}, delta = {delta:?}"
    );
}

#[test]
fn fragmented_contexts_join_to_their_union() {
    // Joining interleaved contexts of many runs was quadratic (each run inserted in the
    // middle of the other's run list); this pins the result a faster merge must keep:
    // touching runs fuse, overlapping runs merge, and the extremes do not overflow.
    let r = ReplicaId(3);
    let mut a = CausalContext::new();
    let mut b = CausalContext::new();
    for i in 0..500u64 {
        a.insert_range(r, 6 * i + 1, 6 * i + 2); // 1-2, 7-8, ...
        b.insert_range(r, 6 * i + 3, 6 * i + 3); // 3 touches a's run
        b.insert_range(r, 6 * i + 5, 6 * i + 5); // 5 stays apart
    }
    a.insert_range(r, u64::MAX - 1, u64::MAX);
    b.insert_range(r, u64::MAX - 3, u64::MAX);
    let mut joined = a.clone();
    assert!(joined.join(&b));
    let expected: Vec<(ReplicaId, u64, u64)> = (0..500u64)
        .flat_map(|i| [(r, 6 * i + 1, 6 * i + 3), (r, 6 * i + 5, 6 * i + 5)])
        .chain([(r, u64::MAX - 3, u64::MAX)])
        .collect();
    assert_eq!(joined.runs().collect::<Vec<_>>(), expected);
    assert!(!joined.clone().join(&a) && !joined.clone().join(&b));
    let mut other_way = b.clone();
    other_way.join(&a);
    assert_eq!(other_way, joined);
}
