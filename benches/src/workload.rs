//! The workloads, built the same way for each contender: [`ours`] (deltacrdt), [`peer`] (the
//! `crdts` crate) and [`floor`] (sorted `Vec<u64>`).
//!
//! Elements are `u64`, so the floor holds exactly the same elements. A *diverged pair* of sets
//! of size `n` is built like this: replica [`BASE`] adds `n / 2` shared elements (`3i`), both
//! sides fork, the left replica adds `n / 2` elements of its own (`3i + 1`) and removes every
//! tenth shared element, the right replica adds `n / 2` of its own (`3i + 2`). Joining the two
//! is a real merge: interleaved elements, new dots on both sides, and removes to apply.
//!
//! Each `ours::*`/`peer::*` mutation loop returns the deltas (ours) or operations (peer) it
//! produced, because shipping them is the point of a mutator: the peer's operations are cloned
//! before being applied, as a caller that sends them must do.

/// Sizes of the OR-Set join benchmark.
pub const SET_SIZES: [usize; 3] = [1_000, 10_000, 100_000];
/// Numbers of replicas of the counter join benchmark.
pub const COUNTER_REPLICAS: [usize; 2] = [16, 1_000];
/// Number of operations in each mutator-throughput benchmark.
pub const MUTATIONS: usize = 1_000;
/// Size of the set the add/remove throughput benchmarks start from.
pub const BASE_SET: usize = 10_000;
/// Size of the sets in the catch-up (`delta_since`) and encoding benchmarks.
pub const CATCH_UP_SET: usize = 10_000;
/// Adds the up-to-date replica made since the lagging one forked, in the catch-up benchmark.
pub const CATCH_UP_ADDS: usize = 100;
/// Removes the up-to-date replica made since the lagging one forked, in the catch-up benchmark.
pub const CATCH_UP_REMOVES: usize = 10;
/// Counter replicas that incremented since the lagging counter forked.
pub const CATCH_UP_COUNTERS: usize = 10;
/// Concurrent writers in the multi-value register join benchmark.
pub const REGISTER_WRITERS: usize = 16;
/// Keys of the maps in the ORMap benchmarks (update, join, catch-up, sizes).
pub const MAP_KEYS: usize = 10_000;
/// Counter increments the up-to-date map made since the lagging one forked, in the map
/// catch-up benchmark (on keys the lagging replica already has).
pub const MAP_CATCH_UP_UPDATES: usize = 10;
/// Key removes the up-to-date map made since the lagging one forked.
pub const MAP_CATCH_UP_REMOVES: usize = 2;
/// Keys of the map in which one nested change is caught up (issue 9: at most 64 bytes).
pub const MAP_ONE_CHANGE_KEYS: usize = 100_000;

/// The replica that builds the shared part of a diverged pair.
pub const BASE: u64 = 1;
/// The left replica of a diverged pair.
pub const LEFT: u64 = 2;
/// The right replica of a diverged pair.
pub const RIGHT: u64 = 3;

/// Two replicas of one value that have diverged.
#[derive(Clone, Debug)]
pub struct Pair<T> {
    /// The replica that joins (`left ⊔ right`).
    pub left: T,
    /// The replica joined into `left`.
    pub right: T,
}

/// The shared elements of a diverged pair of size `n`.
pub fn shared(n: usize) -> impl Iterator<Item = u64> {
    (0..(n / 2) as u64).map(|i| 3 * i)
}

/// The left replica's own elements of a diverged pair of size `n`.
pub fn left_own(n: usize) -> impl Iterator<Item = u64> {
    (0..(n / 2) as u64).map(|i| 3 * i + 1)
}

/// The right replica's own elements of a diverged pair of size `n`.
pub fn right_own(n: usize) -> impl Iterator<Item = u64> {
    (0..(n / 2) as u64).map(|i| 3 * i + 2)
}

/// The shared elements the left replica removes after the fork (every tenth).
pub fn left_removes(n: usize) -> impl Iterator<Item = u64> {
    shared(n).step_by(10)
}

/// The elements of the join of a diverged pair, sorted: what every contender must end with.
pub fn joined_elements(n: usize) -> Vec<u64> {
    let removed: std::collections::BTreeSet<u64> = left_removes(n).collect();
    let mut all: Vec<u64> = shared(n)
        .filter(|e| !removed.contains(e))
        .chain(left_own(n))
        .chain(right_own(n))
        .collect();
    all.sort_unstable();
    all
}

/// The elements added in the mutator benchmark (all new to a set of [`BASE_SET`] elements).
pub fn fresh_elements() -> impl Iterator<Item = u64> {
    (BASE_SET as u64..(BASE_SET + MUTATIONS) as u64).map(|i| i * 2)
}

/// The elements removed in the mutator benchmark (every tenth of the base set).
pub fn removed_elements() -> impl Iterator<Item = u64> {
    (0..BASE_SET as u64)
        .step_by(BASE_SET / MUTATIONS)
        .map(|i| i * 2)
}

/// The elements of a set of `n` built by one replica (even numbers, so there are gaps).
pub fn base_elements(n: usize) -> impl Iterator<Item = u64> {
    (0..n as u64).map(|i| i * 2)
}

// Maps. A map of `n` keys holds the keys [`base_elements`]`(n)`, each a counter that replica
// [`BASE`] incremented once. A *diverged pair* of maps is built like the set pair: `n / 2`
// shared keys (`3i`), then the left replica increments `n / 2` keys of its own (`3i + 1`) and
// removes every tenth shared key, and the right replica increments `n / 2` keys of its own
// (`3i + 2`) and, again, every tenth shared key (a different tenth from the removed one), so
// the join merges nested counters as well as keys.

/// The keys updated in the map update benchmark: [`MUTATIONS`] existing keys of a map of
/// [`MAP_KEYS`] (every tenth).
pub fn updated_keys() -> impl Iterator<Item = u64> {
    base_elements(MAP_KEYS).step_by(MAP_KEYS / MUTATIONS)
}

/// The shared keys the right replica of a diverged map pair increments again.
pub fn right_updates(n: usize) -> impl Iterator<Item = u64> {
    shared(n).skip(5).step_by(10)
}

/// The expected `(key, value)` pairs of the join of a diverged map pair, sorted.
pub fn joined_counts(n: usize) -> Vec<(u64, i128)> {
    let removed: std::collections::BTreeSet<u64> = left_removes(n).collect();
    let bumped: std::collections::BTreeSet<u64> = right_updates(n).collect();
    let mut all: Vec<(u64, i128)> = shared(n)
        .filter(|k| !removed.contains(k))
        .map(|k| (k, if bumped.contains(&k) { 2 } else { 1 }))
        .chain(left_own(n).map(|k| (k, 1)))
        .chain(right_own(n).map(|k| (k, 1)))
        .collect();
    all.sort_unstable();
    all
}

/// deltacrdt.
pub mod ours {
    use deltacrdt::{
        CausalCounter, DeltaCrdt, GCounter, LWWRegister, Lattice, MVRegister, ORMap, ORSet,
        PNCounter, ReplicaId, Timestamp,
    };

    use super::*;

    /// The ORSet type under test.
    pub type Set = ORSet<u64>;
    /// The ORMap type under test: a counter per key.
    pub type Map = ORMap<u64, CausalCounter>;

    /// Adds each element on behalf of `replica`; returns the deltas.
    pub fn add_many(set: &mut Set, replica: u64, elements: impl Iterator<Item = u64>) -> Vec<Set> {
        elements
            .map(|e| set.add(ReplicaId(replica), e).expect("dots left"))
            .collect()
    }

    /// Removes each element; returns the deltas.
    pub fn remove_many(set: &mut Set, elements: impl Iterator<Item = u64>) -> Vec<Set> {
        elements.map(|e| set.remove(&e)).collect()
    }

    /// A set of `n` elements ([`base_elements`]) added by replica [`BASE`].
    pub fn set_of(n: usize) -> Set {
        let mut s = Set::new();
        add_many(&mut s, BASE, base_elements(n));
        s
    }

    /// The diverged pair of size `n` (see the module docs).
    pub fn set_pair(n: usize) -> Pair<Set> {
        let mut left = Set::new();
        add_many(&mut left, BASE, shared(n));
        let mut right = left.clone();
        add_many(&mut left, LEFT, left_own(n));
        remove_many(&mut left, left_removes(n));
        add_many(&mut right, RIGHT, right_own(n));
        Pair { left, right }
    }

    /// An up-to-date set and the version of a replica that forked from it [`CATCH_UP_ADDS`]
    /// adds and [`CATCH_UP_REMOVES`] removes ago.
    pub fn set_catch_up(n: usize) -> (Set, <Set as DeltaCrdt>::Version) {
        let mut ahead = set_of(n);
        let behind = ahead.clone();
        let extra = (n as u64..(n + CATCH_UP_ADDS) as u64).map(|i| i * 2);
        add_many(&mut ahead, LEFT, extra);
        remove_many(&mut ahead, base_elements(CATCH_UP_REMOVES));
        (ahead, behind.version())
    }

    /// Increments the counter under each key by 1 on behalf of `replica`; returns the map
    /// deltas (each holds only the nested change).
    pub fn map_inc_many(map: &mut Map, replica: u64, keys: impl Iterator<Item = u64>) -> Vec<Map> {
        keys.map(|k| {
            map.try_update(k, |v| v.inc(ReplicaId(replica), 1))
                .expect("dots left")
        })
        .collect()
    }

    /// Removes each key; returns the deltas.
    pub fn map_remove_many(map: &mut Map, keys: impl Iterator<Item = u64>) -> Vec<Map> {
        keys.map(|k| map.remove(&k)).collect()
    }

    /// A map of `n` keys ([`base_elements`]), each incremented once by replica [`BASE`].
    pub fn map_of(n: usize) -> Map {
        let mut m = Map::new();
        map_inc_many(&mut m, BASE, base_elements(n));
        m
    }

    /// The diverged map pair of size `n` (see [`right_updates`]).
    pub fn map_pair(n: usize) -> Pair<Map> {
        let mut left = Map::new();
        map_inc_many(&mut left, BASE, shared(n));
        let mut right = left.clone();
        map_inc_many(&mut left, LEFT, left_own(n));
        map_remove_many(&mut left, left_removes(n));
        map_inc_many(&mut right, RIGHT, right_own(n));
        map_inc_many(&mut right, RIGHT, right_updates(n));
        Pair { left, right }
    }

    /// An up-to-date map of `n` keys and the version of a replica that forked from it
    /// [`MAP_CATCH_UP_UPDATES`] increments and [`MAP_CATCH_UP_REMOVES`] key removes ago.
    pub fn map_catch_up(n: usize) -> (Map, <Map as DeltaCrdt>::Version) {
        let mut ahead = map_of(n);
        let behind = ahead.version();
        let updated = base_elements(n).skip(n / 2).take(MAP_CATCH_UP_UPDATES);
        map_inc_many(&mut ahead, LEFT, updated);
        map_remove_many(&mut ahead, base_elements(MAP_CATCH_UP_REMOVES));
        (ahead, behind)
    }

    /// The `(key, value)` pairs of a map, in key order.
    pub fn map_counts(map: &Map) -> Vec<(u64, i128)> {
        map.iter().map(|(k, v)| (*k, v.value())).collect()
    }

    /// [`MUTATIONS`] increments of 1, spread round-robin over `replicas` replicas.
    pub fn gcounter_incs(c: &mut GCounter, replicas: usize) -> Vec<GCounter> {
        (0..MUTATIONS)
            .map(|i| {
                c.inc(ReplicaId((i % replicas) as u64), 1)
                    .expect("no overflow")
            })
            .collect()
    }

    /// [`MUTATIONS`] alternating increments and decrements of 1 over `replicas` replicas.
    pub fn pncounter_ops(c: &mut PNCounter, replicas: usize) -> Vec<PNCounter> {
        (0..MUTATIONS)
            .map(|i| {
                let r = ReplicaId((i % replicas) as u64);
                if i % 2 == 0 { c.inc(r, 1) } else { c.dec(r, 1) }.expect("no overflow")
            })
            .collect()
    }

    /// Two counters over `replicas` replicas, each ahead on half of them.
    pub fn gcounter_pair(replicas: usize) -> Pair<GCounter> {
        let mut left = GCounter::new();
        let mut right = GCounter::new();
        for i in 0..replicas as u64 {
            left.inc(ReplicaId(i), 1 + i % 2).expect("no overflow");
            right.inc(ReplicaId(i), 2 - i % 2).expect("no overflow");
        }
        Pair { left, right }
    }

    /// Two PN-counters over `replicas` replicas, each ahead on half of them, on both halves.
    pub fn pncounter_pair(replicas: usize) -> Pair<PNCounter> {
        let mut left = PNCounter::new();
        let mut right = PNCounter::new();
        for i in 0..replicas as u64 {
            let r = ReplicaId(i);
            left.inc(r, 3 + i % 2).expect("no overflow");
            left.dec(r, 1 + i % 2).expect("no overflow");
            right.inc(r, 4 - i % 2).expect("no overflow");
            right.dec(r, 2 - i % 2).expect("no overflow");
        }
        Pair { left, right }
    }

    /// An up-to-date counter over `replicas` replicas and the version of a copy that missed one
    /// increment on each of [`CATCH_UP_COUNTERS`] replicas.
    pub fn gcounter_catch_up(replicas: usize) -> (GCounter, <GCounter as DeltaCrdt>::Version) {
        let mut ahead = gcounter_pair(replicas).left;
        let behind = ahead.clone();
        for i in 0..CATCH_UP_COUNTERS.min(replicas) as u64 {
            ahead.inc(ReplicaId(i), 1).expect("no overflow");
        }
        (ahead, behind.version())
    }

    /// The PN-counter version of [`gcounter_catch_up`].
    pub fn pncounter_catch_up(replicas: usize) -> (PNCounter, <PNCounter as DeltaCrdt>::Version) {
        let mut ahead = pncounter_pair(replicas).left;
        let behind = ahead.clone();
        for i in 0..CATCH_UP_COUNTERS.min(replicas) as u64 {
            ahead.dec(ReplicaId(i), 1).expect("no overflow");
        }
        (ahead, behind.version())
    }

    /// [`MUTATIONS`] writes by one replica with increasing timestamps.
    pub fn lww_writes(r: &mut LWWRegister<u64>) -> Vec<LWWRegister<u64>> {
        (0..MUTATIONS as u64)
            .map(|i| r.set(ReplicaId(LEFT), Timestamp::new(1_000 + i, 0), i))
            .collect()
    }

    /// Two registers written concurrently, the right one later.
    pub fn lww_pair() -> Pair<LWWRegister<u64>> {
        let mut left = LWWRegister::new();
        let mut right = LWWRegister::new();
        let _ = left.set(ReplicaId(LEFT), Timestamp::new(1_000, 0), 1);
        let _ = right.set(ReplicaId(RIGHT), Timestamp::new(2_000, 0), 2);
        Pair { left, right }
    }

    /// [`MUTATIONS`] writes by one replica, each replacing the previous.
    pub fn mv_writes(r: &mut MVRegister<u64>) -> Vec<MVRegister<u64>> {
        (0..MUTATIONS as u64)
            .map(|i| r.write(ReplicaId(LEFT), i).expect("dots left"))
            .collect()
    }

    /// A register holding one sibling per writer of `writers` (all concurrent).
    pub fn mv_siblings(writers: std::ops::Range<u64>) -> MVRegister<u64> {
        let mut reg = MVRegister::new();
        for w in writers {
            let mut own = MVRegister::new();
            reg.join(own.write(ReplicaId(w), w).expect("dots left"));
        }
        reg
    }

    /// Two registers with [`REGISTER_WRITERS`] `/ 2` concurrent siblings each.
    pub fn mv_pair() -> Pair<MVRegister<u64>> {
        let half = (REGISTER_WRITERS / 2) as u64;
        Pair {
            left: mv_siblings(0..half),
            right: mv_siblings(half..2 * half),
        }
    }
}

/// The `crdts` crate, used as its documentation says.
pub mod peer {
    use crdts::{CmRDT, CvRDT, GCounter, LWWReg, MVReg, Orswot, PNCounter};
    use deltacrdt::Timestamp;

    use super::*;

    /// The peer's OR-Set.
    pub type Set = Orswot<u64, u64>;
    /// The peer's OR-Set operation (what a replica ships).
    pub type SetOp = crdts::orswot::Op<u64, u64>;
    /// The peer's LWW register, with a `(timestamp, replica)` marker like ours.
    pub type Lww = LWWReg<u64, (u64, u64)>;
    /// The peer's multi-value register.
    pub type Mv = MVReg<u64, u64>;
    /// The peer's map of counters (`PNCounter`: the `crdts` counter closest to ours, signed,
    /// and one that implements the map's `Val` trait, through `ResetRemove`).
    pub type Map = crdts::Map<u64, PNCounter<u64>, u64>;
    /// The peer's map operation (what a replica ships).
    pub type MapOp = crdts::map::Op<u64, PNCounter<u64>, u64>;

    /// Increments the counter under `key` by 1: an add context from `read_ctx()` of the
    /// current state, the operation applied before the next one is made. Returns the operation.
    pub fn map_inc(map: &mut Map, actor: u64, key: u64) -> MapOp {
        let ctx = map.read_ctx().derive_add_ctx(actor);
        let op = map.update(key, ctx, |v, a| v.inc(a.dot.actor));
        map.apply(op.clone());
        op
    }

    /// Removes `key` with the remove context `get()` hands out for it.
    pub fn map_remove(map: &mut Map, key: u64) -> MapOp {
        let ctx = map.get(&key).derive_rm_ctx();
        let op = map.rm(key, ctx);
        map.apply(op.clone());
        op
    }

    /// Increments each key on behalf of `actor`; returns the operations.
    pub fn map_inc_many(map: &mut Map, actor: u64, keys: impl Iterator<Item = u64>) -> Vec<MapOp> {
        keys.map(|k| map_inc(map, actor, k)).collect()
    }

    /// Removes each key; returns the operations.
    pub fn map_remove_many(map: &mut Map, keys: impl Iterator<Item = u64>) -> Vec<MapOp> {
        keys.map(|k| map_remove(map, k)).collect()
    }

    /// A map of `n` keys ([`base_elements`]), each incremented once by actor [`BASE`].
    pub fn map_of(n: usize) -> Map {
        let mut m = Map::new();
        map_inc_many(&mut m, BASE, base_elements(n));
        m
    }

    /// The diverged map pair of size `n`, as [`ours::map_pair`].
    pub fn map_pair(n: usize) -> Pair<Map> {
        let mut left = Map::new();
        map_inc_many(&mut left, BASE, shared(n));
        let mut right = left.clone();
        map_inc_many(&mut left, LEFT, left_own(n));
        map_remove_many(&mut left, left_removes(n));
        map_inc_many(&mut right, RIGHT, right_own(n));
        map_inc_many(&mut right, RIGHT, right_updates(n));
        Pair { left, right }
    }

    /// The up-to-date map of the map catch-up benchmark (the peer has no delta for a lagging
    /// replica: it ships the whole state).
    pub fn map_catch_up(n: usize) -> Map {
        let mut ahead = map_of(n);
        let updated = base_elements(n).skip(n / 2).take(MAP_CATCH_UP_UPDATES);
        map_inc_many(&mut ahead, LEFT, updated);
        map_remove_many(&mut ahead, base_elements(MAP_CATCH_UP_REMOVES));
        ahead
    }

    /// The `(key, value)` pairs of a map, in key order.
    pub fn map_counts(map: &Map) -> Vec<(u64, i128)> {
        map.iter()
            .map(|e| {
                let (k, v) = e.val;
                (*k, i128::try_from(&v.read()).expect("small counts"))
            })
            .collect()
    }

    /// Adds one element: a fresh add context from `read_ctx()` of the current state, the
    /// operation applied before the next context is derived. Returns the operation.
    pub fn add(set: &mut Set, actor: u64, element: u64) -> SetOp {
        let ctx = set.read_ctx().derive_add_ctx(actor);
        let op = set.add(element, ctx);
        set.apply(op.clone());
        op
    }

    /// Removes one element with the remove context `contains()` hands out for it.
    pub fn remove(set: &mut Set, element: u64) -> SetOp {
        let ctx = set.contains(&element).derive_rm_ctx();
        let op = set.rm(element, ctx);
        set.apply(op.clone());
        op
    }

    /// Adds each element on behalf of `actor`; returns the operations.
    pub fn add_many(set: &mut Set, actor: u64, elements: impl Iterator<Item = u64>) -> Vec<SetOp> {
        elements.map(|e| add(set, actor, e)).collect()
    }

    /// Removes each element; returns the operations.
    pub fn remove_many(set: &mut Set, elements: impl Iterator<Item = u64>) -> Vec<SetOp> {
        elements.map(|e| remove(set, e)).collect()
    }

    /// A set of `n` elements ([`base_elements`]) added by actor [`BASE`].
    pub fn set_of(n: usize) -> Set {
        let mut s = Set::new();
        add_many(&mut s, BASE, base_elements(n));
        s
    }

    /// The diverged pair of size `n` (see the module docs).
    pub fn set_pair(n: usize) -> Pair<Set> {
        let mut left = Set::new();
        add_many(&mut left, BASE, shared(n));
        let mut right = left.clone();
        add_many(&mut left, LEFT, left_own(n));
        remove_many(&mut left, left_removes(n));
        add_many(&mut right, RIGHT, right_own(n));
        Pair { left, right }
    }

    /// The up-to-date set of the catch-up benchmark (the peer has no delta for a lagging
    /// replica: it ships the whole state).
    pub fn set_catch_up(n: usize) -> Set {
        let mut ahead = set_of(n);
        let extra = (n as u64..(n + CATCH_UP_ADDS) as u64).map(|i| i * 2);
        add_many(&mut ahead, LEFT, extra);
        remove_many(&mut ahead, base_elements(CATCH_UP_REMOVES));
        ahead
    }

    /// [`MUTATIONS`] increments of 1 round-robin over `replicas` actors; returns the dots.
    pub fn gcounter_incs(c: &mut GCounter<u64>, replicas: usize) -> Vec<crdts::Dot<u64>> {
        (0..MUTATIONS)
            .map(|i| {
                let op = c.inc((i % replicas) as u64);
                c.apply(op);
                op
            })
            .collect()
    }

    /// [`MUTATIONS`] alternating increments and decrements; returns the operations.
    pub fn pncounter_ops(
        c: &mut PNCounter<u64>,
        replicas: usize,
    ) -> Vec<crdts::pncounter::Op<u64>> {
        (0..MUTATIONS)
            .map(|i| {
                let a = (i % replicas) as u64;
                let op = if i % 2 == 0 { c.inc(a) } else { c.dec(a) };
                c.apply(op.clone());
                op
            })
            .collect()
    }

    /// Two counters over `replicas` actors, each ahead on half of them.
    pub fn gcounter_pair(replicas: usize) -> Pair<GCounter<u64>> {
        let mut left = GCounter::new();
        let mut right = GCounter::new();
        for i in 0..replicas as u64 {
            left.apply(left.inc_many(i, 1 + i % 2));
            right.apply(right.inc_many(i, 2 - i % 2));
        }
        Pair { left, right }
    }

    /// Two PN-counters over `replicas` actors, as [`ours::pncounter_pair`].
    pub fn pncounter_pair(replicas: usize) -> Pair<PNCounter<u64>> {
        let mut left = PNCounter::new();
        let mut right = PNCounter::new();
        for i in 0..replicas as u64 {
            left.apply(left.inc_many(i, 3 + i % 2));
            left.apply(left.dec_many(i, 1 + i % 2));
            right.apply(right.inc_many(i, 4 - i % 2));
            right.apply(right.dec_many(i, 2 - i % 2));
        }
        Pair { left, right }
    }

    /// The up-to-date counter of the catch-up benchmark (the peer ships the whole state).
    pub fn gcounter_catch_up(replicas: usize) -> GCounter<u64> {
        let mut ahead = gcounter_pair(replicas).left;
        for i in 0..CATCH_UP_COUNTERS.min(replicas) as u64 {
            ahead.apply(ahead.inc(i));
        }
        ahead
    }

    /// The up-to-date PN-counter of the catch-up benchmark.
    pub fn pncounter_catch_up(replicas: usize) -> PNCounter<u64> {
        let mut ahead = pncounter_pair(replicas).left;
        for i in 0..CATCH_UP_COUNTERS.min(replicas) as u64 {
            ahead.apply(ahead.dec(i));
        }
        ahead
    }

    /// [`MUTATIONS`] writes with increasing `(timestamp, actor)` markers; returns the writes.
    pub fn lww_writes(r: &mut Lww) -> Vec<Lww> {
        (0..MUTATIONS as u64)
            .map(|i| {
                let op = Lww {
                    val: i,
                    marker: (Timestamp::new(1_000 + i, 0).to_raw(), LEFT),
                };
                r.apply(op.clone());
                op
            })
            .collect()
    }

    /// Two registers written concurrently, the right one later.
    pub fn lww_pair() -> Pair<Lww> {
        let mut left = Lww::default();
        let mut right = Lww::default();
        left.update(1, (Timestamp::new(1_000, 0).to_raw(), LEFT));
        right.update(2, (Timestamp::new(2_000, 0).to_raw(), RIGHT));
        Pair { left, right }
    }

    /// [`MUTATIONS`] writes by one actor, each with the add context of the current state.
    pub fn mv_writes(r: &mut Mv) -> Vec<crdts::mvreg::Op<u64, u64>> {
        (0..MUTATIONS as u64)
            .map(|i| {
                let ctx = r.read_ctx().derive_add_ctx(LEFT);
                let op = r.write(i, ctx);
                r.apply(op.clone());
                op
            })
            .collect()
    }

    /// A register holding one sibling per writer (all concurrent).
    pub fn mv_siblings(writers: std::ops::Range<u64>) -> Mv {
        let mut reg = Mv::new();
        for w in writers {
            let mut own = Mv::new();
            let ctx = own.read_ctx().derive_add_ctx(w);
            own.apply(own.write(w, ctx));
            reg.merge(own);
        }
        reg
    }

    /// Two registers with [`REGISTER_WRITERS`] `/ 2` concurrent siblings each.
    pub fn mv_pair() -> Pair<Mv> {
        let half = (REGISTER_WRITERS / 2) as u64;
        Pair {
            left: mv_siblings(0..half),
            right: mv_siblings(half..2 * half),
        }
    }
}

/// The floor: sorted `Vec<u64>` replicas.
pub mod floor {
    use super::*;

    /// Two sorted vectors of `n` elements each, half of them shared, interleaved like the
    /// diverged set pair (without its removes).
    pub fn pair(n: usize) -> Pair<Vec<u64>> {
        let mut left: Vec<u64> = shared(n).chain(left_own(n)).collect();
        let mut right: Vec<u64> = shared(n).chain(right_own(n)).collect();
        left.sort_unstable();
        right.sort_unstable();
        Pair { left, right }
    }

    /// A sorted vector of `n` elements ([`base_elements`]).
    pub fn set_of(n: usize) -> Vec<u64> {
        base_elements(n).collect()
    }

    /// A sorted vector of `n` `(key, count)` pairs: the least a map of counters could hold.
    pub fn map_of(n: usize) -> Vec<(u64, i64)> {
        base_elements(n).map(|k| (k, 1)).collect()
    }

    /// The catch-up floor: the up-to-date sorted vector and the largest element the lagging
    /// replica has.
    pub fn catch_up(n: usize) -> (Vec<u64>, u64) {
        let v: Vec<u64> = base_elements(n + CATCH_UP_ADDS).collect();
        let seen = v[n - 1];
        (v, seen)
    }
}

/// Replication over a link: ours through the sans-IO [`Session`](deltacrdt::sync::Session)
/// (delta buffer, acknowledgements, encoded messages), the `crdts` crate by shipping its
/// operations encoded with `bincode` (it has no sync protocol of its own).
pub mod link {
    use crdts::CmRDT;
    use deltacrdt::sync::{Session, SyncConfig};
    use deltacrdt::{ORSet, ReplicaId};

    use super::*;

    /// Updates made on one side per benchmarked round.
    pub const ROUND_UPDATES: usize = 100;

    /// Two neighbouring sessions, `a` (replica [`LEFT`]) and `b` (replica [`RIGHT`]).
    #[derive(Clone, Debug)]
    pub struct Link {
        /// The side that makes the updates.
        pub a: Session<ORSet<u64>>,
        /// The side that receives them.
        pub b: Session<ORSet<u64>>,
    }

    /// Delivers every pending message both ways until neither side has anything to send;
    /// returns the bytes carried.
    ///
    /// # Panics
    /// If a session rejects a message of the other, or the exchange does not settle.
    pub fn pump(link: &mut Link) -> usize {
        let mut bytes = 0;
        for _ in 0..64 {
            let mut moved = false;
            while let Some(t) = link.a.poll_transmit() {
                link.b
                    .handle_message(ReplicaId(LEFT), &t.bytes)
                    .expect("valid message");
                bytes += t.bytes.len();
                moved = true;
            }
            while let Some(t) = link.b.poll_transmit() {
                link.a
                    .handle_message(ReplicaId(RIGHT), &t.bytes)
                    .expect("valid message");
                bytes += t.bytes.len();
                moved = true;
            }
            if !moved {
                return bytes;
            }
        }
        panic!("the link did not settle");
    }

    /// A link whose two sides are in sync on a set of `n` elements added on `a`, with every
    /// delta acknowledged.
    pub fn ours_link(n: usize) -> Link {
        let config = SyncConfig::default();
        let mut a = Session::new(ReplicaId(LEFT), 1, ORSet::new(), config.clone());
        let mut b = Session::new(ReplicaId(RIGHT), 1, ORSet::new(), config);
        a.add_neighbour(ReplicaId(RIGHT));
        b.add_neighbour(ReplicaId(LEFT));
        let mut link = Link { a, b };
        for e in base_elements(n) {
            link.a
                .update(|s| s.add(ReplicaId(LEFT), e))
                .expect("dots left");
        }
        for _ in 0..16 {
            link.a.tick();
            link.b.tick();
            pump(&mut link);
            if link.a.state() == link.b.state() && link.a.buffer_len() == 0 {
                return link;
            }
        }
        panic!("the link did not converge");
    }

    /// `a` makes `elements` adds, starts a sync round, and the messages run until the link is
    /// quiet (the deltas reach `b` and its acknowledgement reaches `a`); returns the bytes carried.
    pub fn ours_round(link: &mut Link, elements: impl Iterator<Item = u64>) -> usize {
        for e in elements {
            link.a
                .update(|s| s.add(ReplicaId(LEFT), e))
                .expect("dots left");
        }
        link.a.tick();
        pump(link)
    }

    /// The peer's two replicas in sync on a set of `n` elements added on the left.
    pub fn peer_link(n: usize) -> Pair<peer::Set> {
        let left = peer::set_of(n);
        let right = left.clone();
        Pair { left, right }
    }

    /// The left replica makes `elements` adds; their operations travel as one `bincode`
    /// message and the right replica applies them; returns the bytes carried.
    pub fn peer_round(link: &mut Pair<peer::Set>, elements: impl Iterator<Item = u64>) -> usize {
        let ops = peer::add_many(&mut link.left, LEFT, elements);
        let bytes = bincode::serialize(&ops).expect("encodes");
        let received: Vec<peer::SetOp> = bincode::deserialize(&bytes).expect("decodes");
        for op in received {
            link.right.apply(op);
        }
        bytes.len()
    }

    /// The elements of a benchmarked round (all new to a set of [`BASE_SET`] elements).
    pub fn round_elements() -> impl Iterator<Item = u64> {
        (0..ROUND_UPDATES as u64).map(|i| 2 * (BASE_SET as u64 + i) + 1)
    }
}
