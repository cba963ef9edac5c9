//! Unit tests for each semantic rule: add-wins, observed removes, counter limits, LWW ties and
//! clocks, MV siblings, catch-up sizes, and decoding errors.

use deltacrdt::codec::{tag, FORMAT_VERSION};
use deltacrdt::{
    Binary, CausalContext, CausalVersion, Causality, ClockError, DecodeErrorKind, DeltaCrdt, Dot,
    DotsExhausted, GCounter, HybridClock, LWWRegister, Lattice, MVRegister, ORSet, PNCounter,
    PartsError, ReplicaId, TimeBound, Timestamp, VersionVector,
};

const A: ReplicaId = ReplicaId(0xaaaa_aaaa_aaaa_aaaa);
const B: ReplicaId = ReplicaId(0xbbbb_bbbb_bbbb_bbbb);
const C: ReplicaId = ReplicaId(0xcccc_cccc_cccc_cccc);

// ---------------------------------------------------------------- ORSet

#[test]
fn orset_concurrent_add_and_remove_keeps_the_element() {
    let mut x = ORSet::new();
    x.add(A, "e").unwrap();
    let mut y = x.clone();
    let remove = x.remove(&"e");
    let add = y.add(B, "e").unwrap();
    x.join(add.clone());
    y.join(remove.clone());
    assert!(x.contains(&"e") && y.contains(&"e"));
    assert_eq!(x, y);
    // Delivered the other way round, and twice, the outcome is the same.
    let mut z = ORSet::new();
    z.join(add.clone());
    z.join(remove.clone());
    z.join(add);
    z.join(remove);
    assert!(z.contains(&"e"));
}

#[test]
fn orset_removing_an_observed_add_removes_it() {
    let mut x = ORSet::new();
    let add = x.add(A, 7u32).unwrap();
    let mut y = ORSet::new();
    y.join(add);
    let remove = y.remove(&7);
    assert!(!y.contains(&7));
    x.join(remove);
    assert!(!x.contains(&7));
    assert!(x.is_empty());
    assert_eq!(x, y);
}

#[test]
fn orset_remove_only_retires_the_dots_it_observed() {
    // A and B add concurrently; C saw only A's add and removes: B's add survives.
    let mut a = ORSet::new();
    let mut b = ORSet::new();
    let da = a.add(A, "x").unwrap();
    let db = b.add(B, "x").unwrap();
    let mut c = ORSet::new();
    c.join(da.clone());
    let dc = c.remove(&"x");
    let mut all = ORSet::new();
    for d in [dc, da, db] {
        all.join(d);
    }
    assert!(all.contains(&"x"));
    assert_eq!(all.dots_of(&"x").collect::<Vec<_>>(), [Dot::new(B, 1)]);
}

#[test]
fn orset_re_adding_after_a_remove_works() {
    let mut x = ORSet::new();
    x.add(A, 1u8).unwrap();
    let _ = x.remove(&1);
    assert!(!x.contains(&1));
    let d = x.add(A, 1).unwrap();
    assert!(x.contains(&1));
    let mut y = ORSet::new();
    y.join(d); // the re-add alone is enough for a fresh replica
    assert!(y.contains(&1));
}

#[test]
fn orset_add_retires_older_dots_of_the_element() {
    // Concurrent adds leave two dots on one element; the next add retires both.
    let mut x = ORSet::new();
    let mut y = ORSet::new();
    let dx = x.add(A, b'k').unwrap();
    let dy = y.add(B, b'k').unwrap();
    x.join(dy);
    assert_eq!(
        x.dots_of(&b'k').collect::<Vec<_>>(),
        [Dot::new(A, 1), Dot::new(B, 1)]
    );
    let again = x.add(A, b'k').unwrap();
    assert_eq!(
        x.dots_of(&b'k').collect::<Vec<_>>(),
        [Dot::new(A, 2)],
        "each add leaves exactly one dot"
    );
    assert_eq!(x.dot_count(), 1);
    // The delta carries the retirement: a replica that saw both adds ends the same.
    y.join(dx);
    y.join(again);
    assert_eq!(x, y);
}

#[test]
fn orset_clear_removes_everything_seen_but_not_concurrent_adds() {
    let mut x = ORSet::new();
    for i in 0..10u16 {
        x.add(A, i).unwrap();
    }
    let mut y = x.clone();
    let clear = x.clear();
    assert!(x.is_empty());
    let concurrent = y.add(B, 99).unwrap();
    y.join(clear);
    x.join(concurrent);
    assert_eq!(x.iter().copied().collect::<Vec<_>>(), vec![99]);
    assert_eq!(x, y);
}

#[test]
fn orset_readers() {
    let mut x = ORSet::new();
    let group = x.add_all(A, ["b", "a", "c"]).unwrap();
    assert_eq!(group.len(), 3, "add_all returns one delta group");
    assert_eq!(x.len(), 3);
    assert!(!x.is_empty());
    assert_eq!(x.iter().copied().collect::<Vec<_>>(), vec!["a", "b", "c"]);
    assert!(x.contains(&"a") && !x.contains(&"z"));
    assert!(
        x.remove(&"z").is_bottom(),
        "removing an absent element is a no-op"
    );
}

#[test]
fn orset_from_parts_checks_invariants() {
    let ctx: CausalContext = [Dot::new(A, 1), Dot::new(A, 2)].into_iter().collect();
    assert!(ORSet::from_parts([(1u8, vec![Dot::new(A, 1)])], ctx.clone()).is_ok());
    assert_eq!(
        ORSet::from_parts([(1u8, vec![Dot::new(A, 3)])], ctx.clone()).unwrap_err(),
        PartsError::DotNotInContext(Dot::new(A, 3))
    );
    assert_eq!(
        ORSet::from_parts(
            [(1u8, vec![Dot::new(A, 1)]), (2, vec![Dot::new(A, 1)])],
            ctx.clone()
        )
        .unwrap_err(),
        PartsError::DuplicateDot(Dot::new(A, 1))
    );
    assert_eq!(
        ORSet::from_parts([(1u8, vec![])], ctx.clone()).unwrap_err(),
        PartsError::NoDots
    );
    let twice = ORSet::from_parts(
        [(1u8, vec![Dot::new(A, 1)]), (1, vec![Dot::new(A, 2)])],
        ctx,
    );
    assert_eq!(twice.unwrap_err(), PartsError::DuplicateElement);
    // The messages say what is wrong, for users who print them.
    assert!(PartsError::DotNotInContext(Dot::new(A, 3))
        .to_string()
        .contains("missing from the causal context"));
}

#[test]
fn orset_hostile_context_exhausting_our_dots_is_an_error_not_a_panic() {
    let mut x: ORSet<u8> = ORSet::new();
    let mut evil = CausalContext::new();
    evil.insert(Dot::new(A, u64::MAX));
    x.join(ORSet::from_parts([], evil).unwrap());
    let before = x.clone();
    assert_eq!(x.add(A, 1), Err(DotsExhausted { replica: A }));
    assert_eq!(x, before, "a failed add changes nothing");
    // Other replica ids still work.
    assert!(x.add(B, 1).is_ok());
}

#[test]
fn orset_conflicting_dots_from_a_misbehaving_peer_still_converge() {
    // Two peers both claim dot (C, 1) for different elements.
    let ctx: CausalContext = [Dot::new(C, 1)].into_iter().collect();
    let p = ORSet::from_parts([(1u8, vec![Dot::new(C, 1)])], ctx.clone()).unwrap();
    let q = ORSet::from_parts([(2u8, vec![Dot::new(C, 1)])], ctx).unwrap();
    assert_eq!(p.joined(&q), q.joined(&p));
}

// ---------------------------------------------------------------- catch-up sizes

#[test]
fn catch_up_after_one_add_to_a_100k_set_is_under_64_bytes() {
    let mut a: ORSet<u64> = ORSet::new();
    for i in 0..100_000u64 {
        a.add(A, i).unwrap();
    }
    let mut b = ORSet::new();
    b.join(a.clone());
    a.add(A, 100_000).unwrap();
    let version = b.version().to_bytes();
    let delta = a.delta_since(&CausalVersion::from_bytes(&version).unwrap());
    let bytes = delta.to_bytes();
    assert!(bytes.len() < 64, "catch-up delta is {} bytes", bytes.len());
    assert!(version.len() < 64, "version is {} bytes", version.len());
    b.join(ORSet::from_bytes(&bytes).unwrap());
    assert_eq!(a, b);
    // The full state, for scale.
    assert!(a.to_bytes().len() > 100_000);
}

#[test]
fn catch_up_after_removals_sends_only_what_is_missing() {
    let mut a: ORSet<u64> = ORSet::new();
    for i in 0..10_000u64 {
        a.add(A, i).unwrap();
    }
    for i in (0..10_000u64).step_by(3) {
        let _ = a.remove(&i);
    }
    let mut b = a.clone();
    // In sync: nothing to send, despite 3,334 scattered removals.
    assert!(a.delta_since(&b.version()).is_bottom());
    // One more remove at `a`: only that removal travels.
    let _ = a.remove(&1);
    let d = a.delta_since(&b.version());
    assert!(d.to_bytes().len() < 64 + 3_334 * 4);
    b.join(d);
    assert_eq!(a, b);
    // A version without digests still catches up correctly, sending removed runs.
    let mut c = ORSet::new();
    c.join(a.clone());
    c.join(a.delta_since(&CausalVersion::from_context(b.context().clone())));
    assert_eq!(a, c);
}

#[test]
fn counter_catch_up_sends_only_grown_entries() {
    let mut a = GCounter::new();
    for r in 0..1000 {
        a.inc(ReplicaId(r), 5).unwrap();
    }
    let mut b = a.clone();
    a.inc(ReplicaId(7), 1).unwrap();
    let d = a.delta_since(&b.version());
    assert_eq!(d.counts().len(), 1);
    assert!(d.to_bytes().len() < 16);
    b.join(d);
    assert_eq!(a, b);
}

// ---------------------------------------------------------------- counters

#[test]
fn gcounter_refuses_to_wrap_a_replica_count() {
    let mut c = GCounter::new();
    c.inc(A, u64::MAX - 1).unwrap();
    c.inc(A, 1).unwrap();
    let before = c.clone();
    let err = c.inc(A, 1).unwrap_err();
    assert_eq!(err.current, u64::MAX);
    assert!(err.to_string().contains("counter overflow"));
    assert_eq!(c, before);
    assert_eq!(c.value(), u128::from(u64::MAX));
}

#[test]
fn gcounter_value_beyond_u64_does_not_wrap() {
    // A peer sends counts near u64::MAX for several replicas.
    let peer = GCounter::from_counts([(A, u64::MAX), (B, u64::MAX), (C, 3)].into_iter().collect());
    let mut c = GCounter::new();
    c.inc(C, 1).unwrap();
    c.join(peer);
    assert_eq!(c.value(), 2 * u128::from(u64::MAX) + 3);
    assert_eq!(c.value_u64(), None);
    // Joining takes the maximum per replica: no sum can overflow.
    c.join(GCounter::from_counts([(A, 1)].into_iter().collect()));
    assert_eq!(c.count_of(A), u64::MAX);
}

#[test]
fn pncounter_limits_and_value() {
    let mut c = PNCounter::new();
    c.dec(A, u64::MAX).unwrap();
    c.dec(B, u64::MAX).unwrap();
    assert_eq!(c.value(), -2 * i128::from(u64::MAX));
    assert_eq!(c.value_i64(), None);
    assert!(c.dec(A, 1).is_err());
    c.add(A, 5).unwrap();
    c.add(A, -5).unwrap_err(); // A's decrements are at the limit
    assert_eq!(c.value(), -2 * i128::from(u64::MAX) + 5);
    assert!(c.inc(A, 0).unwrap().is_bottom());
}

// ---------------------------------------------------------------- LWW register

#[test]
fn lww_equal_timestamps_converge_by_replica_id() {
    let t = Timestamp::new(1_000, 0);
    let mut x = LWWRegister::new();
    let mut y = LWWRegister::new();
    let dx = x.set(A, t, "from A");
    let dy = y.set(B, t, "from B");
    x.join(dy);
    y.join(dx);
    assert_eq!(x, y);
    assert_eq!(
        x.value(),
        Some(&"from B"),
        "the greater replica id breaks the tie"
    );
}

#[test]
fn hybrid_clock_stays_monotone_when_the_wall_clock_steps_back() {
    let mut clock = HybridClock::new();
    let mut last = clock.now(10_000).unwrap();
    for wall in [9_000, 9_500, 10_000, 10_000, 8_000] {
        let t = clock.now(wall).unwrap();
        assert!(t > last);
        last = t;
    }
    assert_eq!(last.physical_ms(), 10_000);
    // Observing a later timestamp moves the clock past it.
    clock.observe(Timestamp::new(20_000, 5));
    assert!(clock.now(10_000).unwrap() > Timestamp::new(20_000, 5));
}

#[test]
fn lww_local_write_wins_after_seeing_a_later_write() {
    let mut clock = HybridClock::new();
    let mut reg = LWWRegister::new();
    reg.join(LWWRegister::new().set(B, Timestamp::new(50_000, 0), "peer"));
    reg.set_with_clock(&mut clock, 1_000, A, "mine").unwrap();
    assert_eq!(reg.value(), Some(&"mine"));
}

#[test]
fn lww_rejects_a_write_from_the_far_future_and_stays_unchanged() {
    let mut reg = LWWRegister::new();
    let _ = reg.set(A, Timestamp::new(1_000, 0), 1u8);
    let before = reg.clone();
    let evil = LWWRegister::new().set(B, Timestamp::from_raw(u64::MAX), 2u8);
    let bound = TimeBound {
        now_ms: 1_000,
        max_ahead_ms: 60_000,
    };
    let err = reg.join_bounded(evil.clone(), &bound).unwrap_err();
    assert!(matches!(err, ClockError::TooFarAhead { .. }));
    assert!(err.to_string().contains("ahead of the local clock"));
    assert_eq!(reg, before);
    // A write within the bound is accepted.
    let ok = LWWRegister::new().set(B, Timestamp::new(30_000, 0), 3u8);
    assert_eq!(reg.join_bounded(ok, &bound), Ok(true));
    assert_eq!(reg.value(), Some(&3));
    // And the clock refuses to be dragged to the end of time.
    let mut clock = HybridClock::new();
    assert!(clock
        .observe_bounded(evil.timestamp().unwrap(), &bound)
        .is_err());
    assert_eq!(clock.last(), Timestamp::default());
}

#[test]
fn hybrid_clock_exhaustion_is_an_error() {
    let mut clock = HybridClock::new();
    clock.observe(Timestamp::from_raw(u64::MAX));
    assert_eq!(clock.now(0), Err(ClockError::Exhausted));
}

// ---------------------------------------------------------------- MV register

#[test]
fn mv_concurrent_writes_are_siblings_until_a_write_that_saw_them() {
    let mut x = MVRegister::new();
    let mut y = MVRegister::new();
    let dx = x.write(A, 1u8).unwrap();
    let dy = y.write(B, 2u8).unwrap();
    x.join(dy.clone());
    y.join(dx.clone());
    assert!(x.is_conflicted());
    assert_eq!(x.values().copied().collect::<Vec<_>>(), vec![1, 2]);
    let resolve = y.write(B, 3).unwrap();
    x.join(resolve.clone());
    assert_eq!(x.values().copied().collect::<Vec<_>>(), vec![3]);
    // A stale write arriving late does not come back.
    x.join(dx);
    assert_eq!(x.values().copied().collect::<Vec<_>>(), vec![3]);
    let cleared = x.clear();
    assert!(x.is_empty());
    y.join(cleared);
    assert!(y.is_empty());
}

#[test]
fn mv_write_supersedes_only_what_it_has_seen() {
    let mut x = MVRegister::new();
    let base = x.write(A, "base").unwrap();
    let mut y = MVRegister::new();
    y.join(base);
    let dy = y.write(B, "y").unwrap(); // saw base
    let dx = x.write(A, "x").unwrap(); // saw base, concurrent with y
    x.join(dy);
    y.join(dx);
    assert_eq!(x, y);
    assert_eq!(x.values().copied().collect::<Vec<_>>(), vec!["x", "y"]);
}

// ---------------------------------------------------------------- causal foundations

#[test]
fn version_vector_comparisons() {
    let v = |xs: &[(ReplicaId, u64)]| xs.iter().copied().collect::<VersionVector>();
    let a = v(&[(A, 1), (B, 2)]);
    assert_eq!(a.compare(&a.clone()), Causality::Equal);
    assert_eq!(a.compare(&v(&[(A, 1), (B, 3)])), Causality::Before);
    assert_eq!(a.compare(&v(&[(A, 1)])), Causality::After);
    assert_eq!(a.compare(&v(&[(A, 2), (B, 1)])), Causality::Concurrent);
    assert!(a.happened_before(&v(&[(A, 1), (B, 2), (C, 1)])));
    assert!(a.is_concurrent(&v(&[(C, 1)])));
    assert!(a.dominates(&v(&[(B, 2)])));
    let mut z = a.clone();
    z.set(A, 0);
    assert_eq!(z.len(), 1, "zero entries are not stored");
}

#[test]
fn causal_context_compacts_and_diffs() {
    let mut c = CausalContext::new();
    for s in [1, 2, 5, 7, 6] {
        c.insert(Dot::new(A, s));
    }
    assert_eq!(c.version_vector().get(A), 2);
    assert_eq!(
        c.cloud().collect::<Vec<_>>(),
        vec![Dot::new(A, 5), Dot::new(A, 6), Dot::new(A, 7)]
    );
    c.insert_range(A, 3, 4);
    assert_eq!(c.cloud().count(), 0);
    assert_eq!(c.version_vector().get(A), 7);
    assert_eq!(c.dot_count(), 7);
    let small: CausalContext = [Dot::new(A, 3)].into_iter().collect();
    assert!(c.includes(&small) && !small.includes(&c));
    assert_eq!(
        c.difference(&small).runs().collect::<Vec<_>>(),
        vec![(A, 1, 2), (A, 4, 7)]
    );
    assert_eq!(c.next_dot(A), Dot::new(A, 8));
    assert!(!c.insert(Dot::new(A, 0)), "sequence numbers start at 1");
}

// ---------------------------------------------------------------- decoding errors

fn err_of<T: Binary + std::fmt::Debug>(bytes: &[u8]) -> (usize, DecodeErrorKind) {
    let e = T::from_bytes(bytes).unwrap_err();
    (e.offset, e.kind)
}

#[test]
fn decode_errors_name_the_problem_and_offset() {
    let mut s = ORSet::new();
    s.add(A, 5u8).unwrap();
    s.add(A, 9u8).unwrap();
    let good = s.to_bytes();
    assert_eq!(ORSet::<u8>::from_bytes(&good).unwrap(), s);

    assert_eq!(
        err_of::<ORSet<u8>>(&[]).1,
        DecodeErrorKind::UnexpectedEnd { needed: 1 }
    );
    assert_eq!(
        err_of::<ORSet<u8>>(&[9, tag::ORSET]),
        (0, DecodeErrorKind::UnsupportedFormat(9))
    );
    assert_eq!(
        err_of::<ORSet<u8>>(&GCounter::new().to_bytes()),
        (
            1,
            DecodeErrorKind::WrongType {
                expected: "ORSet",
                found: tag::GCOUNTER
            }
        )
    );
    let mut trailing = good.clone();
    trailing.push(0);
    assert_eq!(
        err_of::<ORSet<u8>>(&trailing),
        (good.len(), DecodeErrorKind::TrailingBytes { count: 1 })
    );
    // Truncated: either the declared count no longer fits, or the input ends mid-value.
    for cut in 1..good.len() {
        assert!(matches!(
            err_of::<ORSet<u8>>(&good[..cut]).1,
            DecodeErrorKind::UnexpectedEnd { .. } | DecodeErrorKind::LengthTooLarge { .. }
        ));
    }
    // Layout: header(2) ctx: n=1, id(8), runs=1, start=1, len-1=1 | entries=2 | 5, 1 dot, idx 0, seq 1 | 9, 1, 0, 2
    assert_eq!(good.len(), 2 + 12 + 1 + 4 + 4);
    let entries_at = 2 + 12;
    // Elements out of order.
    let mut unsorted = good.clone();
    unsorted[entries_at + 1] = 9;
    unsorted[entries_at + 5] = 5;
    assert_eq!(
        err_of::<ORSet<u8>>(&unsorted),
        (entries_at + 5, DecodeErrorKind::NotAscending)
    );
    // A dot outside the context.
    let mut outside = good.clone();
    outside[entries_at + 8] = 3;
    assert_eq!(
        err_of::<ORSet<u8>>(&outside),
        (entries_at + 7, DecodeErrorKind::DotNotInContext)
    );
    // The same dot under two elements.
    let mut dup = good.clone();
    dup[entries_at + 8] = 1;
    assert_eq!(
        err_of::<ORSet<u8>>(&dup),
        (entries_at + 7, DecodeErrorKind::DuplicateDot)
    );
    // A replica index the context does not list.
    let mut bad_idx = good.clone();
    bad_idx[entries_at + 7] = 4;
    assert_eq!(
        err_of::<ORSet<u8>>(&bad_idx),
        (entries_at + 7, DecodeErrorKind::BadReplicaIndex(4))
    );
    // An element with no dots.
    let mut no_dots = good.clone();
    no_dots[entries_at + 2] = 0;
    assert_eq!(err_of::<ORSet<u8>>(&no_dots).1, DecodeErrorKind::Zero);
    // Messages are readable.
    let e = ORSet::<u8>::from_bytes(&dup).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "byte {}: the same dot supports two elements",
            entries_at + 7
        )
    );
}

#[test]
fn decoding_huge_declared_lengths_fails_fast_without_allocating() {
    // Ten bytes that claim 2^63 elements.
    let mut bytes = vec![FORMAT_VERSION, tag::ORSET, 0];
    bytes.extend([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);
    assert!(matches!(
        err_of::<ORSet<String>>(&bytes).1,
        DecodeErrorKind::LengthTooLarge { .. }
    ));
    // A context run covering 2^64 - 1 dots is fine (it is one run), but one past it is refused.
    let mut ctx = vec![FORMAT_VERSION, tag::CAUSAL_CONTEXT, 1];
    ctx.extend(A.0.to_le_bytes());
    ctx.extend([1, 1]); // one run, start 1
    ctx.extend([0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]); // len - 1 = 2^64 - 2
    let c = CausalContext::from_bytes(&ctx).unwrap();
    assert_eq!(c.version_vector().get(A), u64::MAX);
    let last = ctx.len() - 10;
    ctx[last] = 0xff;
    assert_eq!(
        err_of::<CausalContext>(&ctx).1,
        DecodeErrorKind::RunOverflow
    );
}

#[test]
fn versions_round_trip_through_bytes() {
    let mut s = ORSet::new();
    s.add(A, String::from("a")).unwrap();
    let v = s.version();
    assert_eq!(CausalVersion::from_bytes(&v.to_bytes()).unwrap(), v);
    let bare = CausalVersion::from_context(s.context().clone());
    assert_eq!(CausalVersion::from_bytes(&bare.to_bytes()).unwrap(), bare);
    let mut p = PNCounter::new();
    p.dec(B, 3).unwrap();
    assert_eq!(
        deltacrdt::PNVersion::from_bytes(&p.version().to_bytes()).unwrap(),
        p.version()
    );
    let mut l = LWWRegister::new();
    let _ = l.set(A, Timestamp::new(5, 1), true);
    assert_eq!(
        deltacrdt::LwwVersion::from_bytes(&l.version().to_bytes()).unwrap(),
        l.version()
    );
}
