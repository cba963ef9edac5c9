//! Property tests: the lattice laws, delta mutators, catch-up and the binary format, for every
//! CRDT type, over random histories on three replicas.

mod support;

use deltacrdt::causal::{CausalType, DotStore};
use deltacrdt::{
    Binary, BoundedCounter, CausalContext, CausalCounter, Dot, EWFlag, GCounter, LWWField,
    LWWRegister, Lattice, MVRegister, ORMap, ORSet, PNCounter,
};
use quickcheck::TestResult;
use support::{join_all, run, SplitMix, Step, Subject, REPLICAS};

/// Type-specific minimality: every piece of `delta` is something `b` lacks.
trait Minimal: Subject
where
    Self::Version: Binary + std::fmt::Debug,
{
    fn only_news(delta: &Self, a: &Self, b: &Self) -> bool;
}

impl Minimal for GCounter {
    fn only_news(delta: &Self, _: &Self, b: &Self) -> bool {
        delta.counts().iter().all(|(r, n)| n > b.count_of(r))
    }
}

impl Minimal for PNCounter {
    fn only_news(delta: &Self, a: &Self, b: &Self) -> bool {
        GCounter::only_news(delta.increments(), a.increments(), b.increments())
            && GCounter::only_news(delta.decrements(), a.decrements(), b.decrements())
    }
}

impl Minimal for BoundedCounter {
    fn only_news(delta: &Self, a: &Self, b: &Self) -> bool {
        GCounter::only_news(
            &GCounter::from_counts(delta.increments().clone()),
            &GCounter::from_counts(a.increments().clone()),
            &GCounter::from_counts(b.increments().clone()),
        ) && GCounter::only_news(
            &GCounter::from_counts(delta.decrements().clone()),
            &GCounter::from_counts(a.decrements().clone()),
            &GCounter::from_counts(b.decrements().clone()),
        ) && delta
            .transfers()
            .all(|(from, to, n)| n > b.transferred(from, to))
    }
}

impl Minimal for LWWRegister<u8> {
    fn only_news(delta: &Self, _: &Self, b: &Self) -> bool {
        delta.is_bottom() || delta.entry() != b.entry()
    }
}

/// For causal types: store dots are unseen at `b`; a context dot that `b` has seen is sent only
/// when it is dead at `a` and `b`'s live dots of that replica differ from `a`'s (so `b` may
/// still hold something `a` removed).
fn causal_only_news(
    store: Vec<Dot>,
    ctx: &CausalContext,
    a_live: &[Dot],
    a_ctx: &CausalContext,
    b_live: &[Dot],
    b_ctx: &CausalContext,
) -> bool {
    let store_ok = store.iter().all(|d| !b_ctx.contains(*d));
    let ctx_ok = ctx.dots().all(|d| {
        if !b_ctx.contains(d) {
            return true;
        }
        let of = |live: &[Dot]| -> Vec<Dot> {
            live.iter()
                .copied()
                .filter(|x| x.replica == d.replica && b_ctx.contains(*x) && a_ctx.contains(*x))
                .collect()
        };
        let b_has_own = b_live
            .iter()
            .any(|x| x.replica == d.replica && !a_ctx.contains(*x));
        !a_live.contains(&d) && (b_has_own || of(a_live) != of(b_live))
    });
    store_ok && ctx_ok
}

fn set_dots<E: Ord + Clone>(s: &ORSet<E>) -> Vec<Dot> {
    let mut v: Vec<Dot> = s.iter().flat_map(|e| s.dots_of(e)).collect();
    v.sort();
    v
}

macro_rules! orset_minimal {
    ($($e:ty),*) => {$(
        impl Minimal for ORSet<$e> {
            fn only_news(delta: &Self, a: &Self, b: &Self) -> bool {
                causal_only_news(
                    set_dots(delta),
                    delta.context(),
                    &set_dots(a),
                    a.context(),
                    &set_dots(b),
                    b.context(),
                )
            }
        }
    )*};
}
orset_minimal!(u8, u16);

fn mv_dots(s: &MVRegister<u8>) -> Vec<Dot> {
    s.siblings().iter().map(|(d, _)| *d).collect()
}

impl Minimal for MVRegister<u8> {
    fn only_news(delta: &Self, a: &Self, b: &Self) -> bool {
        causal_only_news(
            mv_dots(delta),
            delta.context(),
            &mv_dots(a),
            a.context(),
            &mv_dots(b),
            b.context(),
        )
    }
}

/// The live dots of a causal value, at any depth, sorted.
fn live_dots<T: CausalType>(t: &T) -> Vec<Dot> {
    let mut v = Vec::new();
    t.as_causal().store().for_each_dot(&mut |d| v.push(d));
    v.sort();
    v
}

macro_rules! causal_minimal {
    ($($t:ty),*) => {$(
        impl Minimal for $t {
            fn only_news(delta: &Self, a: &Self, b: &Self) -> bool {
                causal_only_news(
                    live_dots(delta),
                    delta.as_causal().context(),
                    &live_dots(a),
                    a.as_causal().context(),
                    &live_dots(b),
                    b.as_causal().context(),
                )
            }
        }
    )*};
}
causal_minimal!(
    EWFlag,
    CausalCounter,
    LWWField<u8>,
    ORMap<u8, ORSet<u8>>,
    ORMap<u8, ORMap<u8, CausalCounter>>,
    ORMap<u8, MVRegister<u8>>
);

fn operands<T: Subject>(w: &support::World<T>) -> Vec<T>
where
    T::Version: Binary + std::fmt::Debug,
{
    let mut xs = w.replicas.clone();
    xs.extend(w.deltas.iter().rev().take(3).map(|(_, d)| d.clone()));
    xs.push(T::default());
    xs
}

fn join_is_idempotent<T: Subject>(steps: Vec<Step<T::Op>>) -> bool
where
    T::Version: Binary + std::fmt::Debug,
{
    let w = run::<T>(&steps);
    operands(&w).into_iter().all(|x| {
        let mut y = x.clone();
        let changed = y.join(x.clone());
        !changed && y == x
    })
}

fn join_is_commutative<T: Subject>(steps: Vec<Step<T::Op>>) -> bool
where
    T::Version: Binary + std::fmt::Debug,
{
    let w = run::<T>(&steps);
    let xs = operands(&w);
    xs.iter()
        .all(|a| xs.iter().all(|b| a.joined(b) == b.joined(a)))
}

fn join_is_associative<T: Subject>(steps: Vec<Step<T::Op>>) -> bool
where
    T::Version: Binary + std::fmt::Debug,
{
    let w = run::<T>(&steps);
    let xs = operands(&w);
    xs.iter().all(|a| {
        xs.iter().all(|b| {
            xs.iter()
                .all(|c| a.joined(b).joined(c) == a.joined(&b.joined(c)))
        })
    })
}

fn join_reports_change_exactly<T: Subject>(steps: Vec<Step<T::Op>>) -> bool
where
    T::Version: Binary + std::fmt::Debug,
{
    let w = run::<T>(&steps);
    let xs = operands(&w);
    xs.iter().all(|a| {
        xs.iter().all(|b| {
            let mut by_value = a.clone();
            let changed = by_value.join(b.clone());
            let mut by_ref = a.clone();
            let changed_ref = by_ref.join_ref(b);
            by_value == by_ref
                && changed == (by_value != *a)
                && changed_ref == changed
                && a.leq(&by_value)
                && b.leq(&by_value)
        })
    })
}

fn deltas_in_any_order_with_duplicates_match_state_merge<T: Subject>(
    steps: Vec<Step<T::Op>>,
    seed: u64,
) -> bool
where
    T::Version: Binary + std::fmt::Debug,
{
    let w = run::<T>(&steps);
    let expected = join_all(w.replicas.iter().cloned());
    let mut rng = SplitMix(seed);
    let mut msgs: Vec<T> = w.deltas.iter().map(|(_, d)| d.clone()).collect();
    let extra = msgs.len() / 2;
    for _ in 0..extra {
        let i = rng.below(msgs.len());
        msgs.push(msgs[i].clone());
    }
    for i in (1..msgs.len()).rev() {
        let j = rng.below(i + 1);
        msgs.swap(i, j);
    }
    // Deliver some directly and some packed into delta groups.
    let mut r = T::default();
    let mut group = T::default();
    for m in msgs {
        if rng.below(3) == 0 {
            group.join(m);
        } else {
            r.join(m);
        }
    }
    r.join(group);
    r == expected
}

fn delta_since_brings_up_to_date<T: Subject>(steps: Vec<Step<T::Op>>) -> bool
where
    T::Version: Binary + std::fmt::Debug,
{
    let w = run::<T>(&steps);
    let xs = operands(&w);
    xs.iter().all(|a| {
        xs.iter().all(|b| {
            let mut caught_up = b.clone();
            caught_up.join(a.delta_since(&b.version()));
            caught_up == b.joined(a)
        })
    })
}

fn delta_since_is_minimal<T: Minimal>(steps: Vec<Step<T::Op>>) -> bool
where
    T::Version: Binary + std::fmt::Debug,
{
    let w = run::<T>(&steps);
    let xs = operands(&w);
    xs.iter().all(|a| {
        a.delta_since(&a.version()).is_bottom()
            && xs.iter().all(|b| {
                let d = a.delta_since(&b.version());
                d.leq(a) && T::only_news(&d, a, b)
            })
    })
}

fn lossy_channel_converges_after_catch_up<T: Subject>(steps: Vec<Step<T::Op>>, seed: u64) -> bool
where
    T::Version: Binary + std::fmt::Debug,
{
    // Only the operations of the history; delivery is decided by the channel.
    let mut rng = SplitMix(seed);
    let mut replicas = vec![T::default(); REPLICAS];
    let mut clocks = [deltacrdt::HybridClock::new(); REPLICAS];
    let mut in_flight: Vec<(usize, Vec<u8>)> = Vec::new();
    let mut all = T::default();
    for step in &steps {
        if let Step::Op { at, op } = step {
            let d = replicas[*at].apply(*at, &mut clocks[*at], op);
            all.join_ref(&d);
            let bytes = d.to_bytes();
            for to in 0..REPLICAS {
                if to == *at {
                    continue;
                }
                match rng.below(10) {
                    0..=2 => {}                                                        // lost
                    3 => in_flight.extend([(to, bytes.clone()), (to, bytes.clone())]), // duplicated
                    _ => in_flight.push((to, bytes.clone())),
                }
            }
        }
        // Deliver a random message now and then, out of order.
        if !in_flight.is_empty() && rng.below(2) == 0 {
            let (to, bytes) = in_flight.swap_remove(rng.below(in_flight.len()));
            replicas[to].join(T::from_bytes(&bytes).expect("own encoding decodes"));
        }
    }
    // Whatever is still in flight arrives in random order.
    while !in_flight.is_empty() {
        let (to, bytes) = in_flight.swap_remove(rng.below(in_flight.len()));
        replicas[to].join(T::from_bytes(&bytes).expect("own encoding decodes"));
    }
    // Catch-up: one round along a line and back, with versions and deltas as bytes.
    let order: Vec<(usize, usize)> = (0..REPLICAS - 1)
        .map(|i| (i, i + 1))
        .chain((0..REPLICAS - 1).rev().map(|i| (i + 1, i)))
        .collect();
    for (from, to) in order {
        let version = T::Version::from_bytes(&replicas[to].version().to_bytes()).unwrap();
        let delta = T::from_bytes(&replicas[from].delta_since(&version).to_bytes()).unwrap();
        replicas[to].join(delta);
    }
    // Converged, and nothing made anywhere was lost.
    replicas.iter().all(|r| *r == replicas[0]) && all.leq(&replicas[0]) && replicas[0] == all
}

fn encoding_round_trips_and_is_canonical<T: Subject>(steps: Vec<Step<T::Op>>) -> bool
where
    T::Version: Binary + std::fmt::Debug + PartialEq,
{
    let w = run::<T>(&steps);
    let xs = operands(&w);
    let states_ok = xs.iter().all(|x| {
        let bytes = x.to_bytes();
        T::from_bytes(&bytes).as_ref() == Ok(x)
            && T::Version::from_bytes(&x.version().to_bytes()).as_ref() == Ok(&x.version())
    });
    let canonical = xs.iter().all(|a| {
        xs.iter()
            .all(|b| a.joined(b).to_bytes() == b.joined(a).to_bytes())
    });
    states_ok && canonical
}

fn corrupted_encodings_never_panic<T: Subject>(
    steps: Vec<Step<T::Op>>,
    edits: Vec<(usize, u8, u8)>,
) -> bool
where
    T::Version: Binary + std::fmt::Debug,
{
    let w = run::<T>(&steps);
    let mut ok = true;
    for x in operands(&w) {
        let mut bytes = x.to_bytes();
        for &(pos, val, kind) in &edits {
            let p = pos % (bytes.len() + 1);
            match kind % 3 {
                0 if p < bytes.len() => bytes[p] = val,
                1 => bytes.insert(p, val),
                _ if p < bytes.len() => {
                    bytes.remove(p);
                }
                _ => {}
            }
        }
        // Whatever decodes is a valid value whose encoding is exactly the input (or, for an
        // input of an older format version, whose encoding is canonical).
        if let Ok(v) = T::from_bytes(&bytes) {
            ok &= reencodes::<T>(&bytes, &v.to_bytes());
        }
        if let Ok(v) = T::Version::from_bytes(&bytes) {
            ok &= reencodes::<T::Version>(&bytes, &v.to_bytes());
        }
    }
    ok
}

fn arbitrary_bytes_never_panic<T: Subject>(body: Vec<u8>, tag: u8) -> TestResult
where
    T::Version: Binary + std::fmt::Debug,
{
    // Half the time, give the input a valid header so decoding gets past it.
    let mut bytes = if tag % 2 == 0 {
        vec![deltacrdt::codec::FORMAT_VERSION, T::TAG]
    } else {
        Vec::new()
    };
    bytes.extend(body);
    if let Ok(v) = T::from_bytes(&bytes) {
        if !reencodes::<T>(&bytes, &v.to_bytes()) {
            return TestResult::error("decoded value re-encodes differently");
        }
    }
    let _ = T::Version::from_bytes(&bytes);
    TestResult::passed()
}

/// Whether `input`, decoded, re-encoded to `output` as the codec promises: to the same bytes
/// when `input` is of the current format version; when it is of an older one (still read),
/// to current-version bytes that decode and re-encode to themselves.
fn reencodes<B: Binary>(input: &[u8], output: &[u8]) -> bool {
    if output == input {
        return true;
    }
    input.first() != Some(&deltacrdt::codec::FORMAT_VERSION)
        && output.first() == Some(&deltacrdt::codec::FORMAT_VERSION)
        && B::from_bytes(output).is_ok_and(|w| w.to_bytes() == output)
}

/// Runs a property `tests` times (or `QUICKCHECK_TESTS` times, when set).
fn check<A: quickcheck::Testable>(tests: u64, property: A) {
    let tests = std::env::var("QUICKCHECK_TESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(tests);
    quickcheck::QuickCheck::new()
        .tests(tests)
        .max_tests(tests * 10)
        .quickcheck(property);
}

macro_rules! laws {
    ($module:ident, $t:ty, $tests:expr) => {
        mod $module {
            use super::*;
            type T = $t;
            type S = Vec<Step<<T as Subject>::Op>>;

            #[test]
            fn join_is_idempotent() {
                check($tests, super::join_is_idempotent::<T> as fn(S) -> bool);
            }
            #[test]
            fn join_is_commutative() {
                check($tests, super::join_is_commutative::<T> as fn(S) -> bool);
            }
            #[test]
            fn join_is_associative() {
                check($tests, super::join_is_associative::<T> as fn(S) -> bool);
            }
            #[test]
            fn join_reports_change_exactly() {
                check(
                    $tests,
                    super::join_reports_change_exactly::<T> as fn(S) -> bool,
                );
            }
            #[test]
            fn deltas_in_any_order_with_duplicates_match_state_merge() {
                check(
                    $tests,
                    super::deltas_in_any_order_with_duplicates_match_state_merge::<T>
                        as fn(S, u64) -> bool,
                );
            }
            #[test]
            fn delta_since_brings_up_to_date() {
                check(
                    $tests,
                    super::delta_since_brings_up_to_date::<T> as fn(S) -> bool,
                );
            }
            #[test]
            fn delta_since_is_minimal() {
                check($tests, super::delta_since_is_minimal::<T> as fn(S) -> bool);
            }
            #[test]
            fn lossy_channel_converges_after_catch_up() {
                check(
                    $tests,
                    super::lossy_channel_converges_after_catch_up::<T> as fn(S, u64) -> bool,
                );
            }
            #[test]
            fn encoding_round_trips_and_is_canonical() {
                check(
                    $tests,
                    super::encoding_round_trips_and_is_canonical::<T> as fn(S) -> bool,
                );
            }
            #[test]
            fn corrupted_encodings_never_panic() {
                check(
                    $tests,
                    super::corrupted_encodings_never_panic::<T>
                        as fn(S, Vec<(usize, u8, u8)>) -> bool,
                );
            }
            #[test]
            fn arbitrary_bytes_never_panic() {
                check(
                    $tests,
                    super::arbitrary_bytes_never_panic::<T> as fn(Vec<u8>, u8) -> TestResult,
                );
            }
        }
    };
}

laws!(gcounter, GCounter, 100);
laws!(pncounter, PNCounter, 100);
laws!(bounded_counter, BoundedCounter, 100);
laws!(orset, ORSet<u8>, 200);
// Larger states, so that joins take the linear-merge path; fewer cases, each is heavier.
laws!(orset_bulk, ORSet<u16>, 25);
laws!(lww_register, LWWRegister<u8>, 100);
laws!(mv_register, MVRegister<u8>, 100);
laws!(ew_flag, EWFlag, 100);
laws!(causal_counter, CausalCounter, 100);
laws!(lww_field, LWWField<u8>, 100);
laws!(ormap_of_sets, ORMap<u8, ORSet<u8>>, 150);
laws!(ormap_two_levels, ORMap<u8, ORMap<u8, CausalCounter>>, 150);
laws!(ormap_of_registers, ORMap<u8, MVRegister<u8>>, 100);
