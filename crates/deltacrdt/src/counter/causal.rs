//! Causal counter: a counter that a remove of its map key resets.

use crate::causal::{causal_type, Causal, DotFun};
use crate::{DotsExhausted, Lattice, ReplicaId};

/// A counter that can live in an [`ORMap`](crate::ORMap) and is reset by a remove of its key:
/// `Causal<DotFun<i64>>`, where every change is a dot holding its amount.
///
/// Because each change keeps its own dot, a remove (or [`reset`](Self::reset)) retires exactly
/// the changes it observed: a `+1` concurrent with the remove of a cart line leaves the line
/// with quantity 1, not with the old quantity plus one. (Almeida et al.'s causal counter folds
/// a replica's changes into one dot, which a concurrent reset would bring back whole.) The
/// price is one dot per change until the next reset, so use it where changes per key are few,
/// such as quantities in a cart; a [`PNCounter`](crate::PNCounter) counts high rates in a
/// constant size but cannot be reset.
///
/// The value is the sum as an `i128`, which no number of `i64` changes held in memory can
/// overflow.
///
/// ```
/// use deltacrdt::prelude::*;
/// use deltacrdt::CausalCounter;
/// let (a, b) = (ReplicaId(1), ReplicaId(2));
/// let mut x = CausalCounter::new();
/// let _ = x.inc(a, 3).unwrap();
/// let mut y = x.clone();
/// let dx = x.reset();
/// let dy = y.inc(b, 1).unwrap();
/// x.join(dy);
/// y.join(dx);
/// assert_eq!(x.value(), 1); // the reset removed the 3 it saw, not the concurrent +1
/// assert_eq!(x, y);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct CausalCounter(pub(crate) Causal<DotFun<i64>>);

impl CausalCounter {
    /// A counter at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `amount` (which may be negative) on behalf of `replica`; returns the delta, empty
    /// for 0.
    ///
    /// # Errors
    /// [`DotsExhausted`] if `replica` has no sequence numbers left.
    #[must_use = "send the delta to the other replicas"]
    pub fn add(&mut self, replica: ReplicaId, amount: i64) -> Result<CausalCounter, DotsExhausted> {
        let delta = self.add_delta(replica, amount)?;
        // Applied in place: the delta is one dot this replica has never seen, and its context
        // holds only that dot, so joining it inserts the dot and retires nothing. The same
        // state as `self.0.join_ref(&delta.0)`, without rebuilding the store (the generic join
        // copies every live change into a new vector on each call).
        if let Some((dot, amount)) = delta.0.store.entries.first() {
            self.0.store.insert(*dot, *amount);
            self.0.context.insert(*dot);
        }
        Ok(delta)
    }

    /// The delta of [`add`](Self::add) without applying it: one fresh dot holding `amount`.
    ///
    /// # Errors
    /// [`DotsExhausted`] if `replica` has no sequence numbers left.
    pub fn add_delta(
        &self,
        replica: ReplicaId,
        amount: i64,
    ) -> Result<CausalCounter, DotsExhausted> {
        if amount == 0 {
            return Ok(CausalCounter::new());
        }
        let dot = self.0.next_dot(replica)?;
        let mut store = DotFun::new();
        store.insert(dot, amount);
        Ok(CausalCounter(Causal::from_store_with(store, [dot])))
    }

    /// Adds `n`; returns the delta.
    ///
    /// # Errors
    /// [`DotsExhausted`] if `replica` has no sequence numbers left.
    #[must_use = "send the delta to the other replicas"]
    pub fn inc(&mut self, replica: ReplicaId, n: u32) -> Result<CausalCounter, DotsExhausted> {
        self.add(replica, i64::from(n))
    }

    /// Subtracts `n`; returns the delta.
    ///
    /// # Errors
    /// [`DotsExhausted`] if `replica` has no sequence numbers left.
    #[must_use = "send the delta to the other replicas"]
    pub fn dec(&mut self, replica: ReplicaId, n: u32) -> Result<CausalCounter, DotsExhausted> {
        self.add(replica, -i64::from(n))
    }

    /// Resets the counter to zero (the changes seen here); returns the delta. Changes
    /// concurrent with the reset survive.
    #[must_use = "send the delta to the other replicas"]
    pub fn reset(&mut self) -> CausalCounter {
        let delta = self.reset_delta();
        self.0.join_ref(&delta.0);
        delta
    }

    /// The delta of [`reset`](Self::reset) without applying it.
    pub fn reset_delta(&self) -> CausalCounter {
        let seen = self.0.store.iter().map(|(d, _)| d);
        CausalCounter(Causal::from_store_with(DotFun::new(), seen))
    }

    /// The value: the sum of the live changes.
    pub fn value(&self) -> i128 {
        self.0
            .store
            .iter()
            .fold(0i128, |acc, (_, v)| acc.saturating_add(i128::from(*v)))
    }

    /// Number of live changes (dots) the counter holds.
    pub fn changes(&self) -> usize {
        self.0.store.len()
    }
}

causal_type!([] CausalCounter, DotFun<i64>);

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;
    use quickcheck::quickcheck;

    quickcheck! {
        /// `add` applied in place is `x ⊔ add_delta(x)`: the same state and the same delta,
        /// from states with changes of several replicas, resets, and changes received from
        /// replicas that have seen more.
        fn add_is_the_join_of_its_delta(ops: Vec<(u8, i8)>, replica: u8, amount: i64) -> bool {
            let mut x = CausalCounter::new();
            let mut other = CausalCounter::new();
            for (who, n) in ops {
                let r = ReplicaId(u64::from(who % 4));
                match n % 4 {
                    0 => {
                        let _ = x.reset();
                    }
                    1 => {
                        let _ = other.add(r, i64::from(n)).unwrap();
                        x.join_ref(&other);
                    }
                    _ => {
                        let d = x.add(r, i64::from(n)).unwrap();
                        other.join(d);
                    }
                }
            }
            let r = ReplicaId(u64::from(replica % 4));
            let expected_delta = x.add_delta(r, amount).unwrap();
            let mut expected = x.clone();
            expected.join_ref(&expected_delta);
            let delta = x.add(r, amount).unwrap();
            let sorted = x.0.store.entries.windows(2).all(|w| w[0].0 < w[1].0);
            x == expected && delta == expected_delta && sorted && x.value() == expected.value()
        }
    }
}
