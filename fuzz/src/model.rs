//! Reference models: what each type must hold after a given set of operations.
//!
//! The simulation ([`crate::convergence`]) records every operation as one or more events in a
//! [`History`]: who made it and which events its replica had seen then (`observed`). A
//! replica's knowledge is a set of events (a bit set, [`Events`]), and each model says from
//! that set alone what the replica's state must be:
//!
//! - counters: per replica, the latest total it announced; the value is their sum;
//! - bounded counter: the same for each replica's increments, decrements and transfers to
//!   each other replica; an operation is refused exactly when the model's rights (or `u64`
//!   totals) do not allow it; a replica's own rights are never negative, nor is any rights
//!   or the value in a causally closed view;
//! - LWW register: the write with the greatest `(timestamp, replica, value)`;
//! - MV register: the writes that no known write or clear had observed;
//! - OR-Set: an element's dots are those of its adds that no known add, remove or clear of
//!   that element had observed; the element is present iff it has a dot (add wins);
//! - OR-Map of causal counters: a key's changes are those that no known remove, reset or clear
//!   of that key had observed; the key is present iff it has one (update wins).
//!
//! Counters and the LWW register are checked after every step. The causal types (OR-Set,
//! MV register) are checked exactly when the knowledge is causally closed (every event's
//! observed events are known too): deltas may arrive out of causal order, and only then is
//! "what the replica has seen" the same as "what it knows". Otherwise a weaker check holds:
//! every live dot comes from a known event with the same element or value.

use std::collections::BTreeMap;
use std::fmt::Debug;

use arbitrary::Arbitrary;
use deltacrdt::codec::Binary;
use deltacrdt::{
    BoundedCounter, BoundedError, BoundedVersion, CausalContext, CausalCounter, CausalVersion,
    CounterOverflow, DeltaCrdt, Dot, GCounter, HybridClock, LWWRegister, Lattice, LwwEntry,
    LwwVersion, MVRegister, ORMap, ORSet, PNCounter, PNVersion, ReplicaId, Timestamp,
    VersionVector,
};

/// A set of events, by index in the [`History`] (so at most [`MAX_EVENTS`]).
pub type Events = u128;

/// How many events a simulation records at most.
pub const MAX_EVENTS: usize = 128;

/// The bit of event `i`.
pub fn bit(i: usize) -> Events {
    1u128 << i
}

/// One recorded event.
#[derive(Clone, Debug)]
pub struct Record<E> {
    /// Index of the replica that made it.
    pub origin: usize,
    /// The events its replica had seen when it was made (its own earlier events included).
    pub observed: Events,
    /// What it was.
    pub event: E,
}

/// Every event of a simulation, in the order they were made.
#[derive(Clone, Debug)]
pub struct History<E> {
    /// The events; an event's index is its bit in [`Events`].
    pub records: Vec<Record<E>>,
}

impl<E> Default for History<E> {
    fn default() -> Self {
        History {
            records: Vec::new(),
        }
    }
}

impl<E> History<E> {
    /// The known events with their index.
    pub fn known(&self, known: Events) -> impl Iterator<Item = (usize, &Record<E>)> + '_ {
        self.records
            .iter()
            .enumerate()
            .filter(move |(i, _)| known & bit(*i) != 0)
    }

    /// Whether `known` is causally closed: it holds everything its events had observed.
    pub fn is_closed(&self, known: Events) -> bool {
        self.known(known).all(|(_, r)| r.observed & !known == 0)
    }

    /// Events made by replica `origin`.
    pub fn by(&self, origin: usize) -> impl Iterator<Item = &E> + '_ {
        self.records
            .iter()
            .filter(move |r| r.origin == origin)
            .map(|r| &r.event)
    }
}

/// A type under test with its reference model.
pub trait Model {
    /// The CRDT.
    type State: DeltaCrdt<Version = Self::Version> + Binary + Debug;
    /// Its version.
    type Version: Binary + PartialEq + Debug;
    /// The operations the fuzzer chooses from.
    type Op: Debug + for<'a> Arbitrary<'a>;
    /// What the model records of an operation.
    type Event: Debug + Clone;
    /// Per-replica state a mutator needs besides the CRDT (a clock).
    type Local: Default;

    /// Applies `op` at replica `at` (whose knowledge is `known`), checks what the operation
    /// itself guarantees, and returns its delta and the events it made (each event observes
    /// the ones before it in the list).
    fn apply(
        state: &mut Self::State,
        local: &mut Self::Local,
        at: usize,
        op: &Self::Op,
        history: &History<Self::Event>,
        known: Events,
    ) -> (Self::State, Vec<Self::Event>);

    /// Checks `state` against the model for the events `known`; `closed` says whether
    /// `known` is causally closed.
    fn check(state: &Self::State, history: &History<Self::Event>, known: Events, closed: bool);

    /// Minimality of a catch-up delta: every store entry of `delta` is missing at the holder
    /// of `version`.
    fn store_is_new(delta: &Self::State, version: &Self::Version) -> bool;

    /// A weaker version holding the same events, if the type has one (a causal version
    /// without its live-dot digests); catch-up from it must be just as correct.
    fn weaken(_version: &Self::Version) -> Option<Self::Version> {
        None
    }
}

fn weaken_causal(version: &CausalVersion) -> Option<CausalVersion> {
    Some(CausalVersion::from_context(version.context().clone()))
}

/// The replica ids of the three simulated replicas, chosen to exercise the id encoding.
pub const REPLICAS: [ReplicaId; 3] = [ReplicaId(0x0101), ReplicaId(2), ReplicaId(u64::MAX)];

// ---------------------------------------------------------------------------------------------
// Counters

/// An increment, small (common) or of any size (to reach overflow).
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Amount {
    /// 0..=255.
    Small(u8),
    /// Any `u64`.
    Any(u64),
}

impl Amount {
    /// The amount.
    pub fn get(self) -> u64 {
        match self {
            Amount::Small(n) => u64::from(n),
            Amount::Any(n) => n,
        }
    }
}

/// A [`GCounter`] operation.
#[derive(Arbitrary, Debug)]
pub enum CounterOp {
    /// `inc(replica, n)`.
    Inc(Amount),
}

/// A counter event: a replica announced a new total (increments or decrements).
#[derive(Debug, Clone, Copy)]
pub struct Total {
    /// `true` for the decrement side of a [`PNCounter`].
    pub dec: bool,
    /// The replica's total after the operation.
    pub total: u64,
}

/// The latest total each replica announced on one side, among the known events.
fn totals(history: &History<Total>, known: Events, dec: bool) -> [u64; 3] {
    let mut t = [0u64; 3];
    for (_, r) in history.known(known) {
        if r.event.dec == dec {
            t[r.origin] = t[r.origin].max(r.event.total);
        }
    }
    t
}

/// Applies one increment on a side, predicting overflow from the model.
fn counter_step(
    counter: &mut GCounter,
    at: usize,
    n: u64,
    dec: bool,
    history: &History<Total>,
) -> Option<(GCounter, Total)> {
    let own: u64 = history
        .by(at)
        .filter(|e| e.dec == dec)
        .map(|e| e.total)
        .max()
        .unwrap_or(0);
    assert_eq!(
        counter.count_of(REPLICAS[at]),
        own,
        "a replica lost its own count"
    );
    let before = counter.clone();
    match (counter.inc(REPLICAS[at], n), own.checked_add(n)) {
        (Ok(delta), Some(total)) => {
            if n == 0 {
                assert!(
                    delta.counts().is_empty(),
                    "inc(0) made a non-empty delta {delta:?}"
                );
                assert_eq!(*counter, before);
                return None;
            }
            assert_eq!(
                delta.counts().iter().collect::<Vec<_>>(),
                vec![(REPLICAS[at], total)]
            );
            assert_eq!(counter.count_of(REPLICAS[at]), total);
            Some((delta, Total { dec, total }))
        }
        (Err(e), None) => {
            assert_eq!(*counter, before, "a refused increment changed the counter");
            assert_eq!((e.replica, e.current, e.increment), (REPLICAS[at], own, n));
            None
        }
        (got, expected) => panic!("inc({n}) on count {own}: got {got:?}, model says {expected:?}"),
    }
}

fn check_side(counter: &GCounter, history: &History<Total>, known: Events, dec: bool) {
    let t = totals(history, known, dec);
    for (i, r) in REPLICAS.iter().enumerate() {
        assert_eq!(
            counter.count_of(*r),
            t[i],
            "count of replica {i} (dec side: {dec})"
        );
    }
    assert_eq!(counter.counts().len(), t.iter().filter(|&&n| n > 0).count());
    let sum: u128 = t.iter().map(|&n| u128::from(n)).sum();
    assert_eq!(counter.value(), sum);
    assert_eq!(counter.value_u64(), u64::try_from(sum).ok());
}

fn counter_store_is_new(delta: &GCounter, version: &VersionVector) -> bool {
    delta.counts().iter().all(|(r, n)| n > version.get(r))
}

/// [`GCounter`] against per-replica totals.
pub struct GCounterModel;

impl Model for GCounterModel {
    type State = GCounter;
    type Version = VersionVector;
    type Op = CounterOp;
    type Event = Total;
    type Local = ();

    fn apply(
        state: &mut GCounter,
        _: &mut (),
        at: usize,
        op: &CounterOp,
        history: &History<Total>,
        _: Events,
    ) -> (GCounter, Vec<Total>) {
        let CounterOp::Inc(n) = op;
        match counter_step(state, at, n.get(), false, history) {
            Some((delta, event)) => (delta, vec![event]),
            None => (GCounter::new(), vec![]),
        }
    }

    fn check(state: &GCounter, history: &History<Total>, known: Events, _: bool) {
        check_side(state, history, known, false);
    }

    fn store_is_new(delta: &GCounter, version: &VersionVector) -> bool {
        counter_store_is_new(delta, version)
    }
}

/// A [`PNCounter`] operation.
#[derive(Arbitrary, Debug)]
pub enum PnOp {
    /// `inc(replica, n)`.
    Inc(Amount),
    /// `dec(replica, n)`.
    Dec(Amount),
    /// `add(replica, n)`.
    Add(i64),
}

/// [`PNCounter`] against per-replica totals of increments and of decrements.
pub struct PNCounterModel;

impl Model for PNCounterModel {
    type State = PNCounter;
    type Version = PNVersion;
    type Op = PnOp;
    type Event = Total;
    type Local = ();

    fn apply(
        state: &mut PNCounter,
        _: &mut (),
        at: usize,
        op: &PnOp,
        history: &History<Total>,
        _: Events,
    ) -> (PNCounter, Vec<Total>) {
        let (n, dec) = match *op {
            PnOp::Inc(n) => (n.get(), false),
            PnOp::Dec(n) => (n.get(), true),
            PnOp::Add(n) => (n.unsigned_abs(), n < 0),
        };
        // Run the real mutator, then replay the same step on a copy of the side it touched
        // to compare with the model.
        let mut side = if dec {
            state.decrements().clone()
        } else {
            state.increments().clone()
        };
        let expected = counter_step(&mut side, at, n, dec, history);
        let before = state.clone();
        let result = match *op {
            PnOp::Inc(_) => state.inc(REPLICAS[at], n),
            PnOp::Dec(_) => state.dec(REPLICAS[at], n),
            PnOp::Add(v) => state.add(REPLICAS[at], v),
        };
        let (inc, dec_side) = (state.increments().clone(), state.decrements().clone());
        assert_eq!(if dec { &dec_side } else { &inc }, &side);
        assert_eq!(
            if dec {
                before.increments()
            } else {
                before.decrements()
            },
            if dec { &inc } else { &dec_side },
            "an operation changed the other side"
        );
        match (result, expected) {
            (Ok(delta), Some((side_delta, event))) => {
                let (d, other) = if dec {
                    (delta.decrements(), delta.increments())
                } else {
                    (delta.increments(), delta.decrements())
                };
                assert_eq!(d, &side_delta);
                assert!(other.counts().is_empty());
                (delta, vec![event])
            }
            (Ok(delta), None) => {
                assert!(
                    delta.increments().counts().is_empty()
                        && delta.decrements().counts().is_empty()
                );
                (delta, vec![])
            }
            (Err(_), None) => (PNCounter::new(), vec![]),
            (Err(e), Some(_)) => panic!("{op:?} refused ({e}) but the model accepts it"),
        }
    }

    fn check(state: &PNCounter, history: &History<Total>, known: Events, _: bool) {
        check_side(state.increments(), history, known, false);
        check_side(state.decrements(), history, known, true);
        assert_eq!(
            state.value(),
            state.increments().value() as i128 - state.decrements().value() as i128
        );
    }

    fn store_is_new(delta: &PNCounter, version: &PNVersion) -> bool {
        counter_store_is_new(delta.increments(), &version.inc)
            && counter_store_is_new(delta.decrements(), &version.dec)
    }
}

// ---------------------------------------------------------------------------------------------
// Bounded counter

/// A [`BoundedCounter`] operation at one replica.
#[derive(Arbitrary, Debug)]
pub enum BoundedOp {
    /// `inc(replica, n)`.
    Inc(Amount),
    /// `dec(replica, n)`.
    Dec(Amount),
    /// `transfer(replica, to, n)`, `to` modulo 3 (to oneself is refused).
    Transfer {
        /// The receiving replica.
        to: u8,
        /// The amount.
        n: Amount,
    },
}

/// Which of a replica's own entries an event sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoundedEntry {
    /// Its total of increments.
    Inc,
    /// Its total of decrements.
    Dec,
    /// Its total of rights given to replica `.0`.
    To(usize),
}

/// A bounded counter event: a replica's new total of one of its own entries.
#[derive(Debug, Clone, Copy)]
pub struct BoundedEvent {
    /// The entry.
    pub entry: BoundedEntry,
    /// Its total after the operation.
    pub total: u64,
}

/// The latest total of `origin`'s `entry` among the known events.
fn bounded_total(
    history: &History<BoundedEvent>,
    known: Events,
    origin: usize,
    entry: BoundedEntry,
) -> u64 {
    history
        .known(known)
        .filter(|(_, r)| r.origin == origin && r.event.entry == entry)
        .map(|(_, r)| r.event.total)
        .max()
        .unwrap_or(0)
}

/// The rights of replica `i` that the known events give it.
fn bounded_rights(history: &History<BoundedEvent>, known: Events, i: usize) -> i128 {
    let t = |o, e| i128::from(bounded_total(history, known, o, e));
    let received: i128 = (0..3).map(|j| t(j, BoundedEntry::To(i))).sum();
    let sent: i128 = (0..3).map(|j| t(i, BoundedEntry::To(j))).sum();
    t(i, BoundedEntry::Inc) + received - sent - t(i, BoundedEntry::Dec)
}

/// [`BoundedCounter`] against each replica's latest totals and the rights they imply.
pub struct BoundedModel;

impl Model for BoundedModel {
    type State = BoundedCounter;
    type Version = BoundedVersion;
    type Op = BoundedOp;
    type Event = BoundedEvent;
    type Local = ();

    fn apply(
        state: &mut BoundedCounter,
        _: &mut (),
        at: usize,
        op: &BoundedOp,
        history: &History<BoundedEvent>,
        known: Events,
    ) -> (BoundedCounter, Vec<BoundedEvent>) {
        let me = REPLICAS[at];
        let rights = bounded_rights(history, known, at);
        assert_eq!(
            state.local_rights(me),
            rights,
            "rights differ from the model"
        );
        assert!(rights >= 0, "a replica holds negative rights of its own");
        // The model's answer: the entry and its new total, or the refusal.
        let (entry, n) = match *op {
            BoundedOp::Inc(n) => (BoundedEntry::Inc, n.get()),
            BoundedOp::Dec(n) => (BoundedEntry::Dec, n.get()),
            BoundedOp::Transfer { to, n } => (BoundedEntry::To(usize::from(to) % 3), n.get()),
        };
        let current = bounded_total(history, known, at, entry);
        let expected: Result<Option<u64>, BoundedError> = match entry {
            BoundedEntry::To(to) if to == at => Err(BoundedError::TransferToSelf { replica: me }),
            _ if n == 0 => Ok(None),
            BoundedEntry::Dec | BoundedEntry::To(_) if rights < i128::from(n) => {
                Err(BoundedError::InsufficientRights {
                    replica: me,
                    asked: n,
                    available: u128::try_from(rights).unwrap_or(0),
                })
            }
            _ => current
                .checked_add(n)
                .map(Some)
                .ok_or(BoundedError::Overflow(CounterOverflow {
                    replica: me,
                    current,
                    increment: n,
                })),
        };
        let before = state.clone();
        let result = match *op {
            BoundedOp::Inc(_) => state.inc(me, n),
            BoundedOp::Dec(_) => state.dec(me, n),
            BoundedOp::Transfer { to, .. } => state.transfer(me, REPLICAS[usize::from(to) % 3], n),
        };
        match (result, expected) {
            (Err(got), Err(want)) => {
                assert_eq!(got, want, "{op:?} refused with another error");
                assert_eq!(*state, before, "a refused operation changed the counter");
                (BoundedCounter::new(), vec![])
            }
            (Ok(delta), Ok(None)) => {
                assert!(
                    delta.is_empty() && *state == before,
                    "a zero {op:?} did something"
                );
                (delta, vec![])
            }
            (Ok(delta), Ok(Some(total))) => {
                let entries = (
                    delta.increments().iter().collect::<Vec<_>>(),
                    delta.decrements().iter().collect::<Vec<_>>(),
                    delta.transfers().collect::<Vec<_>>(),
                );
                let one = vec![(me, total)];
                let want = match entry {
                    BoundedEntry::Inc => (one, vec![], vec![]),
                    BoundedEntry::Dec => (vec![], one, vec![]),
                    BoundedEntry::To(to) => (vec![], vec![], vec![(me, REPLICAS[to], total)]),
                };
                assert_eq!(entries, want, "{op:?}'s delta is not the one new total");
                assert_eq!(*state, before.joined(&delta), "state != before ⊔ delta");
                let after = state.local_rights(me);
                let spent = if entry == BoundedEntry::Inc {
                    -i128::from(n)
                } else {
                    i128::from(n)
                };
                assert_eq!(after, rights - spent, "{op:?} moved the rights wrongly");
                (delta, vec![BoundedEvent { entry, total }])
            }
            (got, want) => panic!("{op:?}: got {got:?}, the model says {want:?}"),
        }
    }

    fn check(state: &BoundedCounter, history: &History<BoundedEvent>, known: Events, closed: bool) {
        let (mut incs, mut decs, mut transfers) = (0, 0, 0);
        for (i, r) in REPLICAS.iter().enumerate() {
            let inc = bounded_total(history, known, i, BoundedEntry::Inc);
            let dec = bounded_total(history, known, i, BoundedEntry::Dec);
            assert_eq!(state.increments().get(*r), inc, "increments of replica {i}");
            assert_eq!(state.decrements().get(*r), dec, "decrements of replica {i}");
            incs += usize::from(inc > 0);
            decs += usize::from(dec > 0);
            for (j, to) in REPLICAS.iter().enumerate() {
                let t = bounded_total(history, known, i, BoundedEntry::To(j));
                assert_eq!(state.transferred(*r, *to), t, "transfers {i} -> {j}");
                transfers += usize::from(t > 0);
            }
            assert_eq!(state.local_rights(*r), bounded_rights(history, known, i));
        }
        assert_eq!(
            (
                state.increments().len(),
                state.decrements().len(),
                state.transfers().len()
            ),
            (incs, decs, transfers),
            "entries beyond the known events"
        );
        let rights: i128 = (0..3).map(|i| bounded_rights(history, known, i)).sum();
        assert_eq!(
            state.value(),
            rights,
            "the value is not the sum of the rights"
        );
        if closed {
            assert!(
                state.value() >= 0,
                "a causally closed view is below zero: {state:?}"
            );
            for (i, r) in REPLICAS.iter().enumerate() {
                assert!(
                    state.local_rights(*r) >= 0,
                    "a causally closed view gives replica {i} negative rights: {state:?}"
                );
            }
        }
    }

    fn store_is_new(delta: &BoundedCounter, version: &BoundedVersion) -> bool {
        delta
            .increments()
            .iter()
            .all(|(r, n)| n > version.increments().get(r))
            && delta
                .decrements()
                .iter()
                .all(|(r, n)| n > version.decrements().get(r))
            && delta
                .transfers()
                .all(|(f, t, n)| n > version.transferred(f, t))
    }
}

// ---------------------------------------------------------------------------------------------
// LWW register

/// An [`LWWRegister`] operation.
#[derive(Arbitrary, Debug)]
pub enum LwwOp {
    /// `set(replica, Timestamp::new(ms, logical), value)`: a caller-chosen timestamp, small so
    /// that ties between replicas are common.
    Set {
        /// Physical milliseconds.
        ms: u8,
        /// Logical counter.
        logical: u8,
        /// The value (written as a string).
        value: u8,
    },
    /// `set_with_clock(clock, wall_ms, replica, value)`.
    SetWithClock {
        /// The wall clock reading.
        wall_ms: u8,
        /// The value (written as a string).
        value: u8,
    },
}

/// [`LWWRegister`] against the greatest known write.
pub struct LwwModel;

impl Model for LwwModel {
    type State = LWWRegister<String>;
    type Version = LwwVersion;
    type Op = LwwOp;
    type Event = LwwEntry<String>;
    type Local = HybridClock;

    fn apply(
        state: &mut LWWRegister<String>,
        clock: &mut HybridClock,
        at: usize,
        op: &LwwOp,
        _: &History<LwwEntry<String>>,
        _: Events,
    ) -> (LWWRegister<String>, Vec<LwwEntry<String>>) {
        let before = state.entry().cloned();
        // The stamp this write will get (a clocked write observes the current one first).
        let (timestamp, value) = match *op {
            LwwOp::Set { ms, logical, value } => (
                Timestamp::new(u64::from(ms), u16::from(logical)),
                format!("v{value}"),
            ),
            LwwOp::SetWithClock { wall_ms, value } => {
                let mut c = *clock;
                if let Some(e) = &before {
                    c.observe(e.timestamp);
                }
                (
                    c.now(u64::from(wall_ms))
                        .expect("small clocks cannot be exhausted"),
                    format!("v{value}"),
                )
            }
        };
        // A replica may reuse a stamp for another value (a `set` caller's mistake): join keeps
        // the greater value, and catch-up must still reconcile replicas holding either one
        // (regression test `lww_catch_up_converges_when_a_replica_reuses_a_stamp`).
        let expected = LwwEntry {
            timestamp,
            replica: REPLICAS[at],
            value: value.clone(),
        };
        let delta = match *op {
            LwwOp::Set { .. } => {
                let d = state.set(REPLICAS[at], timestamp, value);
                assert_eq!(
                    state.entry(),
                    before.clone().max(Some(expected.clone())).as_ref()
                );
                d
            }
            LwwOp::SetWithClock { wall_ms, .. } => {
                let d = state
                    .set_with_clock(clock, u64::from(wall_ms), REPLICAS[at], value)
                    .expect("small clocks cannot be exhausted");
                // A clocked write always takes effect locally.
                assert_eq!(
                    state.entry(),
                    Some(&expected),
                    "a clocked write did not take effect"
                );
                assert!(before.is_none_or(|b| b.timestamp < timestamp));
                d
            }
        };
        assert_eq!(delta.entry(), Some(&expected), "a write's delta");
        (delta, vec![expected])
    }

    fn check(
        state: &LWWRegister<String>,
        history: &History<LwwEntry<String>>,
        known: Events,
        _: bool,
    ) {
        let expected = history.known(known).map(|(_, r)| &r.event).max();
        assert_eq!(
            state.entry(),
            expected,
            "the register does not hold the greatest known write"
        );
    }

    fn store_is_new(delta: &LWWRegister<String>, version: &LwwVersion) -> bool {
        // Newer than the version's write, or as new but another value.
        let sent = delta.version();
        delta.is_bottom() || (sent.stamp >= version.stamp && sent != *version)
    }
}

// ---------------------------------------------------------------------------------------------
// Causal types

/// The dot the next event of replica `at` must get: one past its own dotted events.
fn next_dot<E>(history: &History<E>, at: usize, dotted: impl Fn(&E) -> bool) -> Dot {
    let n = history.by(at).filter(|e| dotted(e)).count() as u64;
    Dot::new(REPLICAS[at], n + 1)
}

/// Whether a known event that `touches` the same item observed event `i`.
fn overwritten<E>(
    history: &History<E>,
    known: Events,
    i: usize,
    touches: impl Fn(&E) -> bool,
) -> bool {
    history
        .known(known)
        .any(|(_, r)| r.observed & bit(i) != 0 && touches(&r.event))
}

/// An [`MVRegister`] operation.
#[derive(Arbitrary, Debug)]
pub enum MvOp {
    /// `write(replica, value)`.
    Write(u8),
    /// `clear()`.
    Clear,
}

/// An [`MVRegister`] event.
#[derive(Debug, Clone)]
pub enum MvEvent {
    /// A write and the dot it got.
    Write(Dot, u32),
    /// A clear.
    Clear,
}

/// [`MVRegister`] against the writes no known write or clear had observed.
pub struct MvModel;

impl Model for MvModel {
    type State = MVRegister<u32>;
    type Version = CausalVersion;
    type Op = MvOp;
    type Event = MvEvent;
    type Local = ();

    fn apply(
        state: &mut MVRegister<u32>,
        _: &mut (),
        at: usize,
        op: &MvOp,
        history: &History<MvEvent>,
        _: Events,
    ) -> (MVRegister<u32>, Vec<MvEvent>) {
        match *op {
            MvOp::Write(v) => {
                let dot = next_dot(history, at, |e| matches!(e, MvEvent::Write(..)));
                let delta = state
                    .write(REPLICAS[at], u32::from(v))
                    .expect("few dots used");
                assert_eq!(delta.siblings(), &[(dot, u32::from(v))], "a write's delta");
                assert_eq!(
                    state.siblings(),
                    &[(dot, u32::from(v))],
                    "a write replaces what it saw"
                );
                (delta, vec![MvEvent::Write(dot, u32::from(v))])
            }
            MvOp::Clear => {
                let delta = state.clear();
                assert!(state.is_empty() && delta.is_empty());
                (delta, vec![MvEvent::Clear])
            }
        }
    }

    fn check(state: &MVRegister<u32>, history: &History<MvEvent>, known: Events, closed: bool) {
        let writes: BTreeMap<Dot, u32> = history
            .known(known)
            .filter_map(|(_, r)| match r.event {
                MvEvent::Write(d, v) => Some((d, v)),
                MvEvent::Clear => None,
            })
            .collect();
        for (d, v) in state.siblings() {
            assert_eq!(writes.get(d), Some(v), "sibling {d} is no known write");
        }
        if !closed {
            return;
        }
        let expected: Vec<(Dot, u32)> = history
            .known(known)
            .filter_map(|(i, r)| match r.event {
                MvEvent::Write(d, v) if !overwritten(history, known, i, |_| true) => Some((d, v)),
                _ => None,
            })
            .collect::<BTreeMap<_, _>>()
            .into_iter()
            .collect();
        assert_eq!(
            state.siblings(),
            expected.as_slice(),
            "siblings differ from the model"
        );
        let context: CausalContext = writes.keys().copied().collect();
        assert_eq!(
            state.context(),
            &context,
            "context differs from the known writes"
        );
    }

    fn store_is_new(delta: &MVRegister<u32>, version: &CausalVersion) -> bool {
        delta
            .siblings()
            .iter()
            .all(|(d, _)| !version.context().contains(*d))
    }

    fn weaken(version: &CausalVersion) -> Option<CausalVersion> {
        weaken_causal(version)
    }
}

/// How many distinct elements the OR-Set scenarios use (few, so operations collide).
pub const ELEMENTS: u8 = 6;

/// An [`ORSet`] operation on elements `0..ELEMENTS`.
#[derive(Arbitrary, Debug)]
pub enum SetOp {
    /// `add(replica, e)`.
    Add(u8),
    /// `remove(&e)`.
    Remove(u8),
    /// `clear()`.
    Clear,
    /// `add_all(replica, es)` (up to four elements).
    AddAll(Vec<u8>),
}

/// An [`ORSet`] event.
#[derive(Debug, Clone)]
pub enum SetEvent {
    /// An add of an element and the dot it got.
    Add(u64, Dot),
    /// A remove of an element.
    Remove(u64),
    /// A clear.
    Clear,
}

impl SetEvent {
    fn touches(&self, e: u64) -> bool {
        match *self {
            SetEvent::Add(x, _) | SetEvent::Remove(x) => x == e,
            SetEvent::Clear => true,
        }
    }
}

/// [`ORSet`] against "an element's dots are its adds that no known operation on it observed".
pub struct ORSetModel;

impl ORSetModel {
    fn add(
        state: &mut ORSet<u64>,
        at: usize,
        e: u64,
        history: &History<SetEvent>,
        made: &[SetEvent],
    ) -> (ORSet<u64>, SetEvent) {
        let earlier = made
            .iter()
            .filter(|e| matches!(e, SetEvent::Add(..)))
            .count() as u64;
        let mut dot = next_dot(history, at, |e| matches!(e, SetEvent::Add(..)));
        dot.seq += earlier;
        let delta = state.add(REPLICAS[at], e).expect("few dots used");
        assert_eq!(delta.iter().collect::<Vec<_>>(), vec![&e]);
        assert_eq!(
            delta.dots_of(&e).collect::<Vec<_>>(),
            [dot],
            "an add's delta"
        );
        assert_eq!(
            state.dots_of(&e).collect::<Vec<_>>(),
            [dot],
            "an add leaves exactly its own dot"
        );
        (delta, SetEvent::Add(e, dot))
    }
}

impl Model for ORSetModel {
    type State = ORSet<u64>;
    type Version = CausalVersion;
    type Op = SetOp;
    type Event = SetEvent;
    type Local = ();

    fn apply(
        state: &mut ORSet<u64>,
        _: &mut (),
        at: usize,
        op: &SetOp,
        history: &History<SetEvent>,
        _: Events,
    ) -> (ORSet<u64>, Vec<SetEvent>) {
        let elem = |e: u8| u64::from(e % ELEMENTS);
        match op {
            SetOp::Add(e) => {
                let (delta, event) = Self::add(state, at, elem(*e), history, &[]);
                (delta, vec![event])
            }
            SetOp::Remove(e) => {
                let e = elem(*e);
                let delta = state.remove(&e);
                assert!(!state.contains(&e) && delta.is_empty());
                (delta, vec![SetEvent::Remove(e)])
            }
            SetOp::Clear => {
                let delta = state.clear();
                assert!(state.is_empty() && delta.is_empty());
                (delta, vec![SetEvent::Clear])
            }
            SetOp::AddAll(es) => {
                let es: Vec<u64> = es.iter().take(4).map(|&e| elem(e)).collect();
                // The real call, on a copy, against single adds (which the model checks).
                let mut copy = state.clone();
                let group = copy
                    .add_all(REPLICAS[at], es.iter().copied())
                    .expect("few dots used");
                let mut events = Vec::new();
                let mut joined = ORSet::new();
                for &e in &es {
                    let (delta, event) = Self::add(state, at, e, history, &events);
                    joined.join(delta);
                    events.push(event);
                }
                assert_eq!(copy, *state, "add_all differs from adding one by one");
                assert_eq!(
                    group, joined,
                    "add_all's delta differs from the joined adds' deltas"
                );
                (group, events)
            }
        }
    }

    fn check(state: &ORSet<u64>, history: &History<SetEvent>, known: Events, closed: bool) {
        let adds: BTreeMap<Dot, u64> = history
            .known(known)
            .filter_map(|(_, r)| match r.event {
                SetEvent::Add(e, d) => Some((d, e)),
                _ => None,
            })
            .collect();
        for e in state.iter() {
            for d in state.dots_of(e) {
                assert_eq!(adds.get(&d), Some(e), "live dot {d} of {e} is no known add");
            }
        }
        if !closed {
            return;
        }
        let mut expected: BTreeMap<u64, Vec<Dot>> = BTreeMap::new();
        for (i, r) in history.known(known) {
            if let SetEvent::Add(e, d) = r.event {
                if !overwritten(history, known, i, |o| o.touches(e)) {
                    expected.entry(e).or_default().push(d);
                }
            }
        }
        for e in 0..u64::from(ELEMENTS) {
            let mut dots = expected.get(&e).cloned().unwrap_or_default();
            dots.sort();
            assert_eq!(
                state.dots_of(&e).collect::<Vec<_>>(),
                dots,
                "dots of element {e} differ from the model"
            );
        }
        assert_eq!(state.len(), expected.len());
        let context: CausalContext = adds.keys().copied().collect();
        assert_eq!(
            state.context(),
            &context,
            "context differs from the known adds"
        );
    }

    fn store_is_new(delta: &ORSet<u64>, version: &CausalVersion) -> bool {
        delta
            .iter()
            .all(|e| delta.dots_of(e).all(|d| !version.context().contains(d)))
    }

    fn weaken(version: &CausalVersion) -> Option<CausalVersion> {
        weaken_causal(version)
    }
}

/// Keys of the [`ORMap`] model.
pub const KEYS: u8 = 4;

/// An operation on an `ORMap<u8, CausalCounter>` (a cart: SKU -> quantity) on keys
/// `0..KEYS`.
#[derive(Arbitrary, Debug)]
pub enum MapOp {
    /// `try_update(k, |q| q.add(replica, n))`.
    Change(u8, i8),
    /// `remove(&k)`.
    Remove(u8),
    /// `update(k, |q| q.reset())`: a nested reset, the same as a remove for the key.
    Reset(u8),
    /// `clear()`.
    Clear,
}

/// An [`ORMap`] event.
#[derive(Debug, Clone)]
pub enum MapEvent {
    /// A change of a key's counter by an amount, and the dot it got.
    Change(u8, i64, Dot),
    /// A remove (or nested reset) of a key.
    Remove(u8),
    /// A clear.
    Clear,
}

impl MapEvent {
    /// Whether the event retires the changes of `k` it observed.
    fn resets(&self, k: u8) -> bool {
        match *self {
            MapEvent::Change(..) => false,
            MapEvent::Remove(x) => x == k,
            MapEvent::Clear => true,
        }
    }
}

/// [`ORMap`] of [`CausalCounter`]s against "a key's counter is the sum of its changes that no
/// known remove, reset or clear observed; the key is present iff it has one" (an update
/// concurrent with a remove survives with only what the remove had not seen).
pub struct MapModel;

impl Model for MapModel {
    type State = ORMap<u8, CausalCounter>;
    type Version = CausalVersion;
    type Op = MapOp;
    type Event = MapEvent;
    type Local = ();

    fn apply(
        state: &mut ORMap<u8, CausalCounter>,
        _: &mut (),
        at: usize,
        op: &MapOp,
        history: &History<MapEvent>,
        _: Events,
    ) -> (ORMap<u8, CausalCounter>, Vec<MapEvent>) {
        let key = |k: u8| k % KEYS;
        match *op {
            MapOp::Change(k, n) => {
                let k = key(k);
                let before = state.get(&k).map_or(0, |q| q.value());
                let delta = state
                    .try_update(k, |q| q.add(REPLICAS[at], i64::from(n)))
                    .expect("few dots used");
                let after = state.get(&k).map_or(0, |q| q.value());
                assert_eq!(after, before + i128::from(n), "a change adds its amount");
                if n == 0 {
                    assert!(delta.is_bottom(), "a zero change ships nothing");
                    return (delta, vec![]);
                }
                let dot = next_dot(history, at, |e| matches!(e, MapEvent::Change(..)));
                let expected = [(dot, i64::from(n))];
                let got: Vec<(Dot, i64)> = delta
                    .store(&k)
                    .map(|s| s.iter().map(|(d, v)| (d, *v)).collect())
                    .unwrap_or_default();
                assert_eq!(got, expected, "a change's delta holds only the change");
                assert_eq!(delta.len(), 1);
                (delta, vec![MapEvent::Change(k, i64::from(n), dot)])
            }
            MapOp::Remove(k) => {
                let k = key(k);
                let delta = state.remove(&k);
                assert!(!state.contains_key(&k) && delta.is_empty());
                (delta, vec![MapEvent::Remove(k)])
            }
            MapOp::Reset(k) => {
                let k = key(k);
                let delta = state.update(k, |q| q.reset());
                assert!(!state.contains_key(&k) && delta.is_empty());
                (delta, vec![MapEvent::Remove(k)])
            }
            MapOp::Clear => {
                let delta = state.clear();
                assert!(state.is_empty() && delta.is_empty());
                (delta, vec![MapEvent::Clear])
            }
        }
    }

    fn check(
        state: &ORMap<u8, CausalCounter>,
        history: &History<MapEvent>,
        known: Events,
        closed: bool,
    ) {
        let changes: BTreeMap<Dot, (u8, i64)> = history
            .known(known)
            .filter_map(|(_, r)| match r.event {
                MapEvent::Change(k, n, d) => Some((d, (k, n))),
                _ => None,
            })
            .collect();
        for (k, store) in state.entries() {
            assert!(!store.is_empty(), "key {k} present with no change");
            for (d, n) in store.iter() {
                assert_eq!(
                    changes.get(&d),
                    Some(&(*k, *n)),
                    "live dot {d} of key {k} is no known change"
                );
            }
        }
        if !closed {
            return;
        }
        let mut expected: BTreeMap<u8, Vec<(Dot, i64)>> = BTreeMap::new();
        for (i, r) in history.known(known) {
            if let MapEvent::Change(k, n, d) = r.event {
                if !overwritten(history, known, i, |o| o.resets(k)) {
                    expected.entry(k).or_default().push((d, n));
                }
            }
        }
        for k in 0..KEYS {
            let mut want = expected.get(&k).cloned().unwrap_or_default();
            want.sort();
            let got: Vec<(Dot, i64)> = state
                .store(&k)
                .map(|s| s.iter().map(|(d, v)| (d, *v)).collect())
                .unwrap_or_default();
            assert_eq!(got, want, "changes of key {k} differ from the model");
            let sum: i128 = want.iter().map(|(_, n)| i128::from(*n)).sum();
            assert_eq!(state.get(&k).map_or(0, |q| q.value()), sum);
        }
        assert_eq!(state.len(), expected.len());
        let context: CausalContext = changes.keys().copied().collect();
        assert_eq!(
            state.context(),
            &context,
            "context differs from the known changes"
        );
    }

    fn store_is_new(delta: &ORMap<u8, CausalCounter>, version: &CausalVersion) -> bool {
        delta
            .entries()
            .all(|(_, s)| s.iter().all(|(d, _)| !version.context().contains(d)))
    }

    fn weaken(version: &CausalVersion) -> Option<CausalVersion> {
        weaken_causal(version)
    }
}
