//! Shared machinery for the property tests: random histories of operations on three replicas
//! with random (partial, duplicated, reordered) exchanges, for every CRDT type.
#![allow(dead_code)]

use std::fmt::Debug;

use deltacrdt::{
    Binary, BoundedCounter, CausalCounter, DeltaCrdt, EWFlag, GCounter, HybridClock, LWWField,
    LWWRegister, Lattice, MVRegister, ORMap, ORSet, PNCounter, ReplicaId,
};
use quickcheck::{Arbitrary, Gen};

pub const REPLICAS: usize = 3;

pub fn rid(i: usize) -> ReplicaId {
    // Large, irregular ids so nothing depends on small ids.
    ReplicaId(0x9e37_79b9_7f4a_7c15u64.wrapping_mul(i as u64 + 1))
}

/// A CRDT type under test, with its operations.
pub trait Subject: DeltaCrdt + Binary + Debug + 'static
where
    Self::Version: Binary + Debug,
{
    type Op: Arbitrary + Debug + Clone;
    /// Applies `op` at replica `i` and returns the delta it produced.
    fn apply(&mut self, i: usize, clock: &mut HybridClock, op: &Self::Op) -> Self;
}

#[derive(Clone, Debug)]
pub enum CounterOp {
    Inc(u8),
    Dec(u8),
}

impl Arbitrary for CounterOp {
    fn arbitrary(g: &mut Gen) -> Self {
        if bool::arbitrary(g) {
            CounterOp::Inc(u8::arbitrary(g))
        } else {
            CounterOp::Dec(u8::arbitrary(g))
        }
    }
}

impl Subject for GCounter {
    type Op = u8;
    fn apply(&mut self, i: usize, _: &mut HybridClock, op: &u8) -> Self {
        self.inc(rid(i), u64::from(*op)).unwrap()
    }
}

impl Subject for PNCounter {
    type Op = CounterOp;
    fn apply(&mut self, i: usize, _: &mut HybridClock, op: &CounterOp) -> Self {
        match op {
            CounterOp::Inc(n) => self.inc(rid(i), u64::from(*n)).unwrap(),
            CounterOp::Dec(n) => self.dec(rid(i), u64::from(*n)).unwrap(),
        }
    }
}

/// Bounded counter operations: increments, decrements and transfers, with amounts small
/// enough that many decrements and transfers are refused for lack of rights.
#[derive(Clone, Debug)]
pub enum BoundedOp {
    Inc(u8),
    Dec(u8),
    /// A transfer to replica `to` (modulo [`REPLICAS`]; to oneself is refused).
    Transfer {
        to: usize,
        n: u8,
    },
}

impl Arbitrary for BoundedOp {
    fn arbitrary(g: &mut Gen) -> Self {
        let n = u8::arbitrary(g) % 32;
        match u8::arbitrary(g) % 3 {
            0 => BoundedOp::Inc(n),
            1 => BoundedOp::Dec(n),
            _ => BoundedOp::Transfer {
                to: usize::arbitrary(g) % REPLICAS,
                n,
            },
        }
    }

    fn shrink(&self) -> Box<dyn Iterator<Item = Self>> {
        match *self {
            BoundedOp::Inc(n) => Box::new(n.shrink().map(BoundedOp::Inc)),
            BoundedOp::Dec(n) => Box::new(n.shrink().map(BoundedOp::Dec)),
            BoundedOp::Transfer { to, n } => {
                Box::new(n.shrink().map(move |n| BoundedOp::Transfer { to, n }))
            }
        }
    }
}

impl BoundedOp {
    /// Applies the operation at replica `i`: the delta, or the error (which changed nothing).
    pub fn apply(
        &self,
        c: &mut BoundedCounter,
        i: usize,
    ) -> Result<BoundedCounter, deltacrdt::BoundedError> {
        match *self {
            BoundedOp::Inc(n) => c.inc(rid(i), u64::from(n)),
            BoundedOp::Dec(n) => c.dec(rid(i), u64::from(n)),
            BoundedOp::Transfer { to, n } => c.transfer(rid(i), rid(to % REPLICAS), u64::from(n)),
        }
    }
}

impl Subject for BoundedCounter {
    type Op = BoundedOp;
    fn apply(&mut self, i: usize, _: &mut HybridClock, op: &BoundedOp) -> Self {
        // A refused operation changes nothing: its delta is the empty one.
        op.apply(self, i).unwrap_or_default()
    }
}

/// Set operations over a small universe so that adds and removes collide often.
#[derive(Clone, Debug)]
pub enum SetOp {
    Add(u8),
    Remove(u8),
    Clear,
}

impl Arbitrary for SetOp {
    fn arbitrary(g: &mut Gen) -> Self {
        let e = u8::arbitrary(g) % 8;
        match u8::arbitrary(g) % 10 {
            0..=5 => SetOp::Add(e),
            6..=8 => SetOp::Remove(e),
            _ => SetOp::Clear,
        }
    }
}

impl Subject for ORSet<u8> {
    type Op = SetOp;
    fn apply(&mut self, i: usize, _: &mut HybridClock, op: &SetOp) -> Self {
        match op {
            SetOp::Add(e) => self.add(rid(i), *e).unwrap(),
            SetOp::Remove(e) => self.remove(e),
            SetOp::Clear => self.clear(),
        }
    }
}

/// Bulk set operations over a larger universe, so that states hold dozens of elements and
/// joins take the linear-merge path.
#[derive(Clone, Debug)]
pub enum BulkSetOp {
    AddMany { first: u16, count: u8 },
    RemoveMany { first: u16, count: u8 },
    Add(u16),
}

impl Arbitrary for BulkSetOp {
    fn arbitrary(g: &mut Gen) -> Self {
        let first = u16::arbitrary(g) % 200;
        let count = u8::arbitrary(g) % 64;
        match u8::arbitrary(g) % 4 {
            0 | 1 => BulkSetOp::AddMany { first, count },
            2 => BulkSetOp::RemoveMany { first, count },
            _ => BulkSetOp::Add(first),
        }
    }
}

impl Subject for ORSet<u16> {
    type Op = BulkSetOp;
    fn apply(&mut self, i: usize, _: &mut HybridClock, op: &BulkSetOp) -> Self {
        match *op {
            BulkSetOp::AddMany { first, count } => self
                .add_all(
                    rid(i),
                    (first..first + u16::from(count)).collect::<Vec<_>>(),
                )
                .unwrap(),
            BulkSetOp::RemoveMany { first, count } => {
                let mut group = ORSet::new();
                for e in first..first + u16::from(count) {
                    group.join(self.remove(&e));
                }
                group
            }
            BulkSetOp::Add(e) => self.add(rid(i), e).unwrap(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Write {
    pub wall_ms: u8,
    pub value: u8,
}

impl Arbitrary for Write {
    fn arbitrary(g: &mut Gen) -> Self {
        Write {
            wall_ms: u8::arbitrary(g) % 16,
            value: u8::arbitrary(g),
        }
    }
}

impl Subject for LWWRegister<u8> {
    type Op = Write;
    fn apply(&mut self, i: usize, clock: &mut HybridClock, op: &Write) -> Self {
        self.set_with_clock(clock, u64::from(op.wall_ms), rid(i), op.value)
            .unwrap()
    }
}

#[derive(Clone, Debug)]
pub enum MvOp {
    Write(u8),
    Clear,
}

impl Arbitrary for MvOp {
    fn arbitrary(g: &mut Gen) -> Self {
        if u8::arbitrary(g) % 8 == 0 {
            MvOp::Clear
        } else {
            MvOp::Write(u8::arbitrary(g) % 16)
        }
    }
}

impl Subject for MVRegister<u8> {
    type Op = MvOp;
    fn apply(&mut self, i: usize, _: &mut HybridClock, op: &MvOp) -> Self {
        match op {
            MvOp::Write(v) => self.write(rid(i), *v).unwrap(),
            MvOp::Clear => self.clear(),
        }
    }
}

/// Enable-wins flag operations.
#[derive(Clone, Debug)]
pub enum FlagOp {
    Enable,
    Disable,
}

impl Arbitrary for FlagOp {
    fn arbitrary(g: &mut Gen) -> Self {
        if bool::arbitrary(g) {
            FlagOp::Enable
        } else {
            FlagOp::Disable
        }
    }
}

impl Subject for EWFlag {
    type Op = FlagOp;
    fn apply(&mut self, i: usize, _: &mut HybridClock, op: &FlagOp) -> Self {
        match op {
            FlagOp::Enable => self.enable(rid(i)).unwrap(),
            FlagOp::Disable => self.disable(),
        }
    }
}

/// Causal counter operations: changes of either sign, and resets.
#[derive(Clone, Debug)]
pub enum CausalCounterOp {
    Add(i8),
    Reset,
}

impl Arbitrary for CausalCounterOp {
    fn arbitrary(g: &mut Gen) -> Self {
        if u8::arbitrary(g) % 6 == 0 {
            CausalCounterOp::Reset
        } else {
            CausalCounterOp::Add(i8::arbitrary(g))
        }
    }
}

impl CausalCounterOp {
    pub fn apply(&self, c: &mut CausalCounter, i: usize) -> CausalCounter {
        match *self {
            CausalCounterOp::Add(n) => c.add(rid(i), i64::from(n)).unwrap(),
            CausalCounterOp::Reset => c.reset(),
        }
    }
}

impl Subject for CausalCounter {
    type Op = CausalCounterOp;
    fn apply(&mut self, i: usize, _: &mut HybridClock, op: &CausalCounterOp) -> Self {
        op.apply(self, i)
    }
}

impl Subject for LWWField<u8> {
    type Op = Write;
    fn apply(&mut self, i: usize, clock: &mut HybridClock, op: &Write) -> Self {
        self.set_with_clock(clock, u64::from(op.wall_ms), rid(i), op.value)
            .unwrap()
    }
}

/// Map operations over a few keys whose values are sets: nested updates, key removes, clears.
#[derive(Clone, Debug)]
pub enum MapOp<O> {
    Update(u8, O),
    Remove(u8),
    Clear,
}

impl<O: Arbitrary> Arbitrary for MapOp<O> {
    fn arbitrary(g: &mut Gen) -> Self {
        let k = u8::arbitrary(g) % 4;
        match u8::arbitrary(g) % 12 {
            0..=7 => MapOp::Update(k, O::arbitrary(g)),
            8..=10 => MapOp::Remove(k),
            _ => MapOp::Clear,
        }
    }

    fn shrink(&self) -> Box<dyn Iterator<Item = Self>> {
        match self {
            MapOp::Update(k, o) => {
                let k = *k;
                Box::new(o.shrink().map(move |o| MapOp::Update(k, o)))
            }
            _ => Box::new(std::iter::empty()),
        }
    }
}

impl Subject for ORMap<u8, ORSet<u8>> {
    type Op = MapOp<SetOp>;
    fn apply(&mut self, i: usize, clock: &mut HybridClock, op: &MapOp<SetOp>) -> Self {
        match op {
            MapOp::Update(k, o) => self.update(*k, |s| s.apply(i, clock, o)),
            MapOp::Remove(k) => self.remove(k),
            MapOp::Clear => self.clear(),
        }
    }
}

/// Two levels deep: a map of maps of causal counters (a cart of users, SKUs and quantities).
impl Subject for ORMap<u8, ORMap<u8, CausalCounter>> {
    type Op = MapOp<MapOp<CausalCounterOp>>;
    fn apply(&mut self, i: usize, _: &mut HybridClock, op: &MapOp<MapOp<CausalCounterOp>>) -> Self {
        match op {
            MapOp::Update(k, inner) => self.update(*k, |m| match inner {
                MapOp::Update(k2, o) => m.update(*k2, |c| o.apply(c, i)),
                MapOp::Remove(k2) => m.remove(k2),
                MapOp::Clear => m.clear(),
            }),
            MapOp::Remove(k) => self.remove(k),
            MapOp::Clear => self.clear(),
        }
    }
}

impl Subject for ORMap<u8, MVRegister<u8>> {
    type Op = MapOp<MvOp>;
    fn apply(&mut self, i: usize, clock: &mut HybridClock, op: &MapOp<MvOp>) -> Self {
        match op {
            MapOp::Update(k, o) => self.update(*k, |r| r.apply(i, clock, o)),
            MapOp::Remove(k) => self.remove(k),
            MapOp::Clear => self.clear(),
        }
    }
}

/// One step of a history.
#[derive(Clone, Debug)]
pub enum Step<O> {
    /// Replica `at` applies an operation.
    Op { at: usize, op: O },
    /// `to` receives a delta that `from` produced earlier (by index, wrapping), possibly again.
    Deliver {
        from: usize,
        to: usize,
        which: usize,
    },
    /// `to` receives `from`'s whole state.
    Full { from: usize, to: usize },
    /// `to` catches up from `from` with `delta_since(to.version())`.
    CatchUp { from: usize, to: usize },
}

impl<O: Arbitrary> Arbitrary for Step<O> {
    fn arbitrary(g: &mut Gen) -> Self {
        let from = usize::arbitrary(g) % REPLICAS;
        let to = usize::arbitrary(g) % REPLICAS;
        match u8::arbitrary(g) % 10 {
            0..=4 => Step::Op {
                at: from,
                op: O::arbitrary(g),
            },
            5..=7 => Step::Deliver {
                from,
                to,
                which: usize::arbitrary(g),
            },
            8 => Step::Full { from, to },
            _ => Step::CatchUp { from, to },
        }
    }

    fn shrink(&self) -> Box<dyn Iterator<Item = Self>> {
        match self {
            Step::Op { at, op } => {
                let at = *at;
                Box::new(op.shrink().map(move |op| Step::Op { at, op }))
            }
            _ => Box::new(std::iter::empty()),
        }
    }
}

/// The outcome of running a history.
#[derive(Clone, Debug)]
pub struct World<T> {
    pub replicas: Vec<T>,
    /// Every delta produced, with the replica that produced it.
    pub deltas: Vec<(usize, T)>,
    /// The state of each replica right after each of its operations (for inflation checks).
    pub clocks: Vec<HybridClock>,
}

pub fn run<T: Subject>(steps: &[Step<T::Op>]) -> World<T>
where
    T::Version: Binary + Debug,
{
    let mut w = World {
        replicas: vec![T::default(); REPLICAS],
        deltas: Vec::new(),
        clocks: vec![HybridClock::new(); REPLICAS],
    };
    for step in steps {
        match step {
            Step::Op { at, op } => {
                let before = w.replicas[*at].clone();
                let d = w.replicas[*at].apply(*at, &mut w.clocks[*at], op);
                // Every mutator's delta inflates the state and explains the change exactly.
                assert!(before.leq(&w.replicas[*at]), "mutator deflated the state");
                assert_eq!(
                    before.joined(&d),
                    w.replicas[*at],
                    "state != before ⊔ delta"
                );
                w.deltas.push((*at, d));
            }
            Step::Deliver { from, to, which } => {
                let mine: Vec<&T> = w
                    .deltas
                    .iter()
                    .filter(|(p, _)| p == from)
                    .map(|(_, d)| d)
                    .collect();
                if !mine.is_empty() {
                    let d = mine[which % mine.len()].clone();
                    w.replicas[*to].join(d);
                }
            }
            Step::Full { from, to } => {
                let s = w.replicas[*from].clone();
                w.replicas[*to].join(s);
            }
            Step::CatchUp { from, to } => {
                let v = w.replicas[*to].version();
                let d = w.replicas[*from].delta_since(&v);
                w.replicas[*to].join(d);
            }
        }
    }
    w
}

/// The join of everything.
pub fn join_all<T: Lattice>(items: impl IntoIterator<Item = T>) -> T {
    let mut acc = T::default();
    for x in items {
        acc.join(x);
    }
    acc
}

/// A small deterministic PRNG for shuffles inside a property (seeded by quickcheck).
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}
