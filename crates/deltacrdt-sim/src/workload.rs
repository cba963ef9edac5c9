//! What the replicas do: one local update per node per round, and what must hold at the end.

use std::convert::Infallible;
use std::fmt::Debug;

use deltacrdt::sync::Measure;
use deltacrdt::{
    Binary, CausalCounter, DeltaCrdt, GCounter, HybridClock, LWWRegister, Lattice, ORMap, ORSet,
    ReplicaId, Timestamp,
};

use crate::SplitMix64;

/// A workload: the CRDT type it runs on, how a node makes an update, and a type-specific
/// check of the final state (on top of the engine's generic check that every final state
/// equals the join of every delta made anywhere).
pub trait Workload {
    /// The replicated type.
    type State: DeltaCrdt<Version: Binary> + Binary + Measure + Debug;

    /// A short name for reports.
    fn name(&self) -> &'static str;

    /// Makes `node`'s update of `round` on its `state` and returns the delta.
    fn update(
        &mut self,
        node: usize,
        replica: ReplicaId,
        round: u64,
        state: &mut Self::State,
        rng: &mut SplitMix64,
    ) -> Self::State;

    /// Checks a converged final state against the updates made.
    ///
    /// # Errors
    /// What is missing or wrong.
    fn check(&self, state: &Self::State) -> Result<(), String>;
}

/// Each update adds an element no one else adds (the set workload of Enes et al.).
#[derive(Clone, Debug, Default)]
pub struct SetAdds {
    added: Vec<u64>,
}

impl SetAdds {
    fn element(node: usize, k: u64) -> u64 {
        ((node as u64) << 32) | k
    }
}

impl Workload for SetAdds {
    type State = ORSet<u64>;

    fn name(&self) -> &'static str {
        "set"
    }

    fn update(
        &mut self,
        node: usize,
        replica: ReplicaId,
        _: u64,
        s: &mut ORSet<u64>,
        _: &mut SplitMix64,
    ) -> ORSet<u64> {
        if self.added.len() <= node {
            self.added.resize(node + 1, 0);
        }
        let e = Self::element(node, self.added[node]);
        self.added[node] += 1;
        s.add(replica, e)
            .expect("a simulation never exhausts 2^64 dots")
    }

    fn check(&self, s: &ORSet<u64>) -> Result<(), String> {
        let total: u64 = self.added.iter().sum();
        if s.len() as u64 != total {
            return Err(format!("set has {} elements, {total} were added", s.len()));
        }
        for (node, &n) in self.added.iter().enumerate() {
            if let Some(k) = (0..n).find(|&k| !s.contains(&Self::element(node, k))) {
                return Err(format!("element {k} added by node {node} is missing"));
            }
        }
        Ok(())
    }
}

/// Each update increments a grow-only counter by one (the counter workload of Enes et al.).
#[derive(Clone, Debug, Default)]
pub struct CounterIncs {
    total: u128,
}

impl Workload for CounterIncs {
    type State = GCounter;

    fn name(&self) -> &'static str {
        "counter"
    }

    fn update(
        &mut self,
        _: usize,
        replica: ReplicaId,
        _: u64,
        s: &mut GCounter,
        _: &mut SplitMix64,
    ) -> GCounter {
        self.total += 1;
        s.inc(replica, 1)
            .expect("a simulation never overflows a u64 count")
    }

    fn check(&self, s: &GCounter) -> Result<(), String> {
        if s.value() == self.total {
            Ok(())
        } else {
            Err(format!(
                "counter is {}, {} increments were made",
                s.value(),
                self.total
            ))
        }
    }
}

/// Each update writes a fresh value to a last-writer-wins register, timestamped by the node's
/// hybrid clock from the simulated time; the final value must be the greatest write.
#[derive(Clone, Debug, Default)]
pub struct RegisterWrites {
    clocks: Vec<HybridClock>,
    latest: Option<(Timestamp, ReplicaId, u64)>,
    writes: u64,
}

impl Workload for RegisterWrites {
    type State = LWWRegister<u64>;

    fn name(&self) -> &'static str {
        "register"
    }

    fn update(
        &mut self,
        node: usize,
        replica: ReplicaId,
        round: u64,
        s: &mut LWWRegister<u64>,
        _: &mut SplitMix64,
    ) -> LWWRegister<u64> {
        if self.clocks.len() <= node {
            self.clocks.resize(node + 1, HybridClock::new());
        }
        self.writes += 1;
        let value = self.writes;
        let d = s
            .set_with_clock(&mut self.clocks[node], 1_000 * round, replica, value)
            .expect("simulated clocks stay far from exhaustion");
        let e = d.entry().expect("a write produces an entry");
        let key = (e.timestamp, e.replica, e.value);
        if self.latest.is_none_or(|l| (l.0, l.1) < (key.0, key.1)) {
            self.latest = Some(key);
        }
        d
    }

    fn check(&self, s: &LWWRegister<u64>) -> Result<(), String> {
        let want = self.latest.map(|l| l.2);
        if s.value().copied() == want {
            Ok(())
        } else {
            Err(format!(
                "register holds {:?}, the last write was {want:?}",
                s.value()
            ))
        }
    }
}

/// Each update adds (60%) or removes (40%) an element of a small shared pool, so adds and
/// removes of the same element race across replicas (add wins).
#[derive(Clone, Debug)]
pub struct MixedAddRemove {
    pool: u64,
    adds: u64,
}

impl MixedAddRemove {
    /// Elements are drawn from `0..pool`.
    pub fn new(pool: u64) -> Self {
        MixedAddRemove {
            pool: pool.max(1),
            adds: 0,
        }
    }
}

impl Default for MixedAddRemove {
    fn default() -> Self {
        MixedAddRemove::new(16)
    }
}

impl Workload for MixedAddRemove {
    type State = ORSet<u64>;

    fn name(&self) -> &'static str {
        "add-remove"
    }

    fn update(
        &mut self,
        _: usize,
        replica: ReplicaId,
        _: u64,
        s: &mut ORSet<u64>,
        rng: &mut SplitMix64,
    ) -> ORSet<u64> {
        let e = rng.below(self.pool);
        if rng.chance(0.4) && s.contains(&e) {
            s.remove(&e)
        } else {
            self.adds += 1;
            s.add(replica, e)
                .expect("a simulation never exhausts 2^64 dots")
        }
    }

    fn check(&self, s: &ORSet<u64>) -> Result<(), String> {
        // Each add makes exactly one dot, removes make none: every add made anywhere must be
        // a seen event here. (The engine also checks equality with the join of all deltas,
        // which settles which elements survive.)
        if s.context().dot_count() == self.adds {
            Ok(())
        } else {
            Err(format!(
                "set has seen {} add events, {} were made",
                s.context().dot_count(),
                self.adds
            ))
        }
    }
}

/// The shopping carts of the case study as one document: user -> SKU -> quantity.
pub type Carts = ORMap<u32, ORMap<u32, CausalCounter>>;

/// Replicas edit one cart document: each update adds units to a line (45%), changes a line's
/// quantity by one (25%), removes a line (22%) or checks out (removes) a whole cart (8%), on
/// a small pool of users and SKUs so that edits of one line race across replicas (a change
/// concurrent with a remove survives with only what the remove had not seen).
#[derive(Clone, Debug)]
pub struct CartEdits {
    users: u32,
    skus: u32,
    changes: u64,
}

impl CartEdits {
    /// Carts of `users` users over `skus` SKUs.
    pub fn new(users: u32, skus: u32) -> Self {
        CartEdits {
            users: users.max(1),
            skus: skus.max(1),
            changes: 0,
        }
    }
}

impl Default for CartEdits {
    fn default() -> Self {
        CartEdits::new(4, 6)
    }
}

impl Workload for CartEdits {
    type State = Carts;

    fn name(&self) -> &'static str {
        "cart"
    }

    fn update(
        &mut self,
        _: usize,
        replica: ReplicaId,
        _: u64,
        s: &mut Carts,
        rng: &mut SplitMix64,
    ) -> Carts {
        let user = rng.below(u64::from(self.users)) as u32;
        let sku = rng.below(u64::from(self.skus)) as u32;
        let pick = rng.below(100);
        // The line's quantity here, if the line is present.
        let quantity = s
            .store(&user)
            .and_then(|cart| cart.get(&sku))
            .map(|line| line.iter().map(|(_, n)| i128::from(*n)).sum::<i128>());
        let amount: i64 = match (quantity, pick) {
            (Some(q), 45..=69) if q > 1 && rng.chance(0.5) => -1,
            (Some(_), 45..=69) => 1,
            (Some(_), 70..=91) => return s.update(user, |cart| cart.remove(&sku)),
            (Some(_), 92..) => return s.remove(&user),
            _ => 1 + rng.below(3) as i64,
        };
        self.changes += 1;
        s.try_update(user, |cart| {
            cart.try_update(sku, |line| line.add(replica, amount))
        })
        .expect("a simulation never exhausts 2^64 dots")
    }

    fn check(&self, s: &Carts) -> Result<(), String> {
        // Each quantity change makes exactly one dot and removes make none: every change made
        // anywhere must be a seen event here. (The engine also checks equality with the join
        // of all deltas, which settles which lines survive and with what quantity.)
        if s.context().dot_count() == self.changes {
            Ok(())
        } else {
            Err(format!(
                "carts have seen {} quantity changes, {} were made",
                s.context().dot_count(),
                self.changes
            ))
        }
    }
}

/// Lets a workload's update run inside [`Session::update`](deltacrdt::sync::Session::update).
pub(crate) fn infallible<T>(t: T) -> Result<T, Infallible> {
    Ok(t)
}

/// Joins `delta` into the oracle: the join of every delta made anywhere.
pub(crate) fn record<T: Lattice>(oracle: &mut T, delta: &T) {
    oracle.join_ref(delta);
}
