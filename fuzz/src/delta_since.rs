//! `delta_since` correctness and minimality, and the lattice laws, on arbitrary replicas.
//!
//! The replicas are not produced by operations: they are built directly from dots, so they
//! reach states that short operation sequences never do (sequence numbers near `u64::MAX`,
//! long gaps, elements supported by several dots, counts near overflow). They are arbitrary
//! but *consistent*: a dot means the same element (or value) at every replica, as for
//! replicas of one real history. (LWW stamps are left free: a `set` caller may reuse one.)
//!
//! For three such replicas `a`, `b`, `c` of one type:
//! - join is idempotent, commutative and associative, reports changes truthfully, and `leq`
//!   agrees with it;
//! - for each ordered pair, `b ⊔ a.delta_since(b.version()) == b ⊔ a`, the delta is `leq a`,
//!   and every store entry of the delta is missing at `b`;
//! - states, versions and deltas round-trip through the codec;
//! - a mutator applied to `a` behaves (fresh dot or `DotsExhausted`, overflow refused).

use std::collections::BTreeMap;
use std::fmt::Debug;

use arbitrary::Arbitrary;
use deltacrdt::{
    CausalContext, DeltaCrdt, Dot, GCounter, LWWRegister, Lattice, MVRegister, ORSet, PNCounter,
    ReplicaId, TimeBound, Timestamp, VersionVector,
};

use crate::model::{GCounterModel, LwwModel, Model, MvModel, ORSetModel, PNCounterModel};
use crate::wire::through_wire;

/// Replica ids the generated states draw from.
const IDS: [ReplicaId; 4] = [
    ReplicaId(0),
    ReplicaId(1),
    ReplicaId(0x0100),
    ReplicaId(u64::MAX),
];

fn id(i: u8) -> ReplicaId {
    IDS[usize::from(i) % IDS.len()]
}

/// A number, mostly small, sometimes near `u64::MAX`.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Num {
    /// `n`.
    Small(u8),
    /// `u64::MAX - n`.
    NearMax(u8),
    /// Anything.
    Any(u64),
}

impl Num {
    /// The number.
    pub fn get(self) -> u64 {
        match self {
            Num::Small(n) => u64::from(n),
            Num::NearMax(n) => u64::MAX - u64::from(n),
            Num::Any(n) => n,
        }
    }
}

/// A causal state: runs of seen dots, and which of them are live (by run and offset).
#[derive(Arbitrary, Debug)]
pub struct CausalSpec {
    runs: Vec<(u8, Num, u8)>,
    live: Vec<(u8, u8)>,
}

impl CausalSpec {
    /// The context and the live dots it describes.
    fn build(&self) -> (CausalContext, Vec<Dot>) {
        let mut context = CausalContext::new();
        let runs: Vec<(ReplicaId, u64, u64)> = self
            .runs
            .iter()
            .map(|&(r, start, len)| {
                let start = start.get().max(1);
                (id(r), start, start.saturating_add(u64::from(len)))
            })
            .collect();
        for &(r, a, b) in &runs {
            context.insert_range(r, a, b);
        }
        let mut live = Vec::new();
        if !runs.is_empty() {
            for &(run, off) in &self.live {
                let (r, a, b) = runs[usize::from(run) % runs.len()];
                if let Some(seq) = a.checked_add(u64::from(off)).filter(|&s| s <= b) {
                    live.push(Dot::new(r, seq));
                }
            }
        }
        (context, live)
    }
}

/// The element every replica associates with a dot (few elements, so they collide).
fn element_of(d: Dot) -> u64 {
    (d.replica.0.rotate_left(17) ^ d.seq.wrapping_mul(0x9E37_79B9_7F4A_7C15)) >> 61
}

/// The value every replica associates with a dot.
fn value_of(a: u64, b: u64) -> u32 {
    (a.wrapping_mul(31) ^ b.wrapping_mul(0x9E37_79B9_7F4A_7C15)).rotate_left(29) as u32 % 7
}

/// A version vector from `(replica, count)` pairs.
fn vector(entries: &[(u8, Num)]) -> VersionVector {
    entries.iter().map(|&(r, n)| (id(r), n.get())).collect()
}

/// Per-replica counts: `(replica index, count)` pairs.
pub type Counts = Vec<(u8, Num)>;

/// A mutation applied to the first replica after the pairwise checks.
#[derive(Arbitrary, Debug)]
pub enum Mutation {
    /// Increment (counters), add (set), write (MV) or set (LWW) on behalf of a replica.
    Grow(u8, Num),
    /// Decrement (PN), remove (set), clear (MV).
    Shrink(u8, Num),
}

/// One case: a type, three replicas of it, and a mutation.
#[derive(Arbitrary, Debug)]
pub enum Case {
    /// Counts per replica.
    GCounter([Counts; 3], Mutation),
    /// Increments and decrements per replica.
    PNCounter([(Counts, Counts); 3], Mutation),
    /// Causal states; a dot determines its element (`element_of`).
    ORSet([CausalSpec; 3], Mutation),
    /// Causal states; a dot determines its value (`value_of`).
    MVRegister([CausalSpec; 3], Mutation),
    /// Optional `(timestamp, replica, value)` writes, and a clock bound for `join_bounded`.
    /// Values are free: two replicas may hold different values under one stamp (a `set`
    /// caller reusing a stamp), which catch-up must still reconcile.
    LWWRegister([Option<(Num, u8, u8)>; 3], Mutation, Num, Num),
}

/// Runs a case; panics on any broken law.
pub fn run(case: &Case) {
    match case {
        Case::GCounter(specs, m) => {
            let states = specs.each_ref().map(|s| GCounter::from_counts(vector(s)));
            laws::<GCounterModel>(&states);
            let mut a = states[0].clone();
            let before = a.clone();
            let (Mutation::Grow(r, n) | Mutation::Shrink(r, n)) = *m;
            let current = a.count_of(id(r));
            match a.inc(id(r), n.get()) {
                Ok(d) => {
                    assert_eq!(a.count_of(id(r)), current + n.get());
                    assert!(d.leq(&a) && before.joined(&d) == a);
                }
                Err(_) => {
                    assert!(current.checked_add(n.get()).is_none());
                    assert_eq!(a, before);
                }
            }
        }
        Case::PNCounter(specs, m) => {
            let states = specs.each_ref().map(|(p, n)| {
                PNCounter::from_parts(
                    GCounter::from_counts(vector(p)),
                    GCounter::from_counts(vector(n)),
                )
            });
            laws::<PNCounterModel>(&states);
            for s in &states {
                assert_eq!(
                    s.value(),
                    s.increments().value() as i128 - s.decrements().value() as i128
                );
            }
            let mut a = states[0].clone();
            let before = a.clone();
            let result = match *m {
                Mutation::Grow(r, n) => a.inc(id(r), n.get()),
                Mutation::Shrink(r, n) => a.dec(id(r), n.get()),
            };
            match result {
                Ok(d) => assert!(d.leq(&a) && before.joined(&d) == a),
                Err(_) => assert_eq!(a, before),
            }
        }
        Case::ORSet(specs, m) => {
            let states = specs.each_ref().map(|s| {
                let (context, live) = s.build();
                let mut entries: BTreeMap<u64, Vec<Dot>> = BTreeMap::new();
                for d in live {
                    entries.entry(element_of(d)).or_default().push(d);
                }
                ORSet::from_parts(entries, context).expect("consistent by construction")
            });
            laws::<ORSetModel>(&states);
            orset_mutation(&states[0], m);
        }
        Case::MVRegister(specs, m) => {
            let states = specs.each_ref().map(|s| {
                let (context, live) = s.build();
                let siblings: BTreeMap<Dot, u32> = live
                    .into_iter()
                    .map(|d| (d, value_of(d.replica.0, d.seq)))
                    .collect();
                MVRegister::from_parts(siblings.into_iter().collect(), context)
                    .expect("consistent by construction")
            });
            laws::<MvModel>(&states);
            mv_mutation(&states[0], m);
        }
        Case::LWWRegister(specs, m, now, ahead) => {
            let states = specs.each_ref().map(|s| {
                let mut reg = LWWRegister::new();
                if let Some((ts, r, v)) = *s {
                    let _ = reg.set(id(r), Timestamp::from_raw(ts.get()), format!("{}", v % 4));
                }
                reg
            });
            laws::<LwwModel>(&states);
            let bound = TimeBound {
                now_ms: now.get(),
                max_ahead_ms: ahead.get(),
            };
            for (x, y) in [(0, 1), (1, 2), (2, 0)] {
                let mut a = states[x].clone();
                let result = a.join_bounded(states[y].clone(), &bound);
                let accept = states[y].timestamp().is_none_or(|t| bound.check(t).is_ok());
                match result {
                    Ok(changed) => {
                        assert!(accept, "join_bounded accepted a write beyond the bound");
                        assert_eq!(a, states[x].joined(&states[y]));
                        assert_eq!(changed, a != states[x]);
                    }
                    Err(_) => {
                        assert!(!accept, "join_bounded refused a write within the bound");
                        assert_eq!(a, states[x]);
                    }
                }
            }
            let (Mutation::Grow(r, n) | Mutation::Shrink(r, n)) = *m;
            let mut a = states[0].clone();
            let d = a.set(
                id(r),
                Timestamp::from_raw(n.get()),
                format!("{}", value_of(n.get(), id(r).0)),
            );
            assert_eq!(a, states[0].joined(&d));
        }
    }
}

/// Fresh dot or `DotsExhausted` for an add; a remove leaves the element out.
fn orset_mutation(state: &ORSet<u64>, m: &Mutation) {
    let mut a = state.clone();
    match *m {
        Mutation::Grow(r, e) => {
            let e = e.get() % 8;
            let max = a.context().max_seq(id(r));
            match a.add(id(r), e) {
                Ok(d) => {
                    let dot = Dot::new(id(r), max + 1);
                    assert_eq!(a.dots_of(&e).collect::<Vec<_>>(), [dot]);
                    assert_eq!(d.dots_of(&e).collect::<Vec<_>>(), [dot]);
                    assert!(d.leq(&a) && state.joined(&d) == a);
                    let _ = through_wire(&d);
                }
                Err(err) => {
                    assert_eq!(max, u64::MAX, "DotsExhausted ({err}) with seqs left");
                    assert_eq!(a, *state);
                }
            }
        }
        Mutation::Shrink(_, e) => {
            let e = e.get() % 8;
            let d = a.remove(&e);
            assert!(!a.contains(&e));
            assert!(d.leq(&a) && state.joined(&d) == a);
        }
    }
}

/// Fresh dot or `DotsExhausted` for a write; clear empties.
fn mv_mutation(state: &MVRegister<u32>, m: &Mutation) {
    let mut a = state.clone();
    match *m {
        Mutation::Grow(r, v) => {
            let v = v.get() as u32;
            let max = a.context().max_seq(id(r));
            match a.write(id(r), v) {
                Ok(d) => {
                    assert_eq!(a.siblings(), &[(Dot::new(id(r), max + 1), v)]);
                    assert!(d.leq(&a) && state.joined(&d) == a);
                }
                Err(err) => {
                    assert_eq!(max, u64::MAX, "DotsExhausted ({err}) with seqs left");
                    assert_eq!(a, *state);
                }
            }
        }
        Mutation::Shrink(..) => {
            let d = a.clear();
            assert!(a.is_empty());
            assert!(d.leq(&a) && state.joined(&d) == a);
        }
    }
}

/// The lattice laws and `delta_since` on three states.
fn laws<M: Model>(s: &[M::State; 3]) {
    for x in s {
        let _ = through_wire(x);
        let _ = through_wire(&x.version());
        let mut y = x.clone();
        assert!(!y.join_ref(x), "x ⊔ x reported a change");
        assert_eq!(&y, x, "x ⊔ x != x");
        assert_eq!(&x.joined(&M::State::default()), x, "x ⊔ ⊥ != x");
        assert!(M::State::default().leq(x));
    }
    for i in 0..3 {
        for j in 0..3 {
            let (a, b) = (&s[i], &s[j]);
            let ab = a.joined(b);
            assert_eq!(ab, b.joined(a), "join is not commutative: {a:?} ⊔ {b:?}");
            let mut changed = a.clone();
            assert_eq!(
                changed.join(b.clone()),
                ab != *a,
                "join's return value is wrong"
            );
            assert!(a.leq(&ab) && b.leq(&ab), "an input is not below the join");
            assert_eq!(a.leq(b), ab == *b, "leq disagrees with join");
            check_delta_since::<M>(a, b);
        }
    }
    let left = s[0].joined(&s[1]).joined(&s[2]);
    let right = s[0].joined(&s[1].joined(&s[2]));
    assert_eq!(left, right, "join is not associative");
}

/// `b ⊔ a.delta_since(b.version()) == b ⊔ a`, and the delta is minimal.
fn check_delta_since<M: Model>(a: &M::State, b: &M::State) {
    check_catch_up::<M>(a, b, &b.version());
    if let Some(weak) = M::weaken(&b.version()) {
        check_catch_up::<M>(a, b, &weak);
    }
    // Nothing at all for a replica that has it all.
    let own = a.delta_since(&a.version());
    assert!(
        own.is_bottom(),
        "delta_since(own version) is not empty: {own:?}"
    );
    if a == b {
        assert!(a.delta_since(&b.version()).is_bottom());
    }
}

fn check_catch_up<M: Model>(a: &M::State, b: &M::State, version: &M::Version) {
    let version = through_wire(version);
    let delta = a.delta_since(&version);
    let delta = through_wire(&delta);
    assert!(
        delta.leq(a),
        "delta_since is not included in the sender's state: {delta:?}"
    );
    assert!(
        M::store_is_new(&delta, &version),
        "delta_since sends store entries the receiver has: {delta:?}"
    );
    assert_eq!(
        b.joined(&delta),
        b.joined(a),
        "b ⊔ a.delta_since(b.version()) != b ⊔ a\na = {a:?}\nb = {b:?}\ndelta = {delta:?}"
    );
}
