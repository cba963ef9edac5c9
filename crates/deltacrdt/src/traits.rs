//! The traits every CRDT of the crate implements.

use crate::{Dot, ReplicaId};

/// A join-semilattice: a state that merges with any other state of its type.
///
/// `join` must be idempotent (`a ⊔ a = a`), commutative (`a ⊔ b = b ⊔ a`) and associative
/// (`(a ⊔ b) ⊔ c = a ⊔ (b ⊔ c)`). Replicas that have received the same states and deltas, in
/// any order and any number of times, therefore hold equal values. `Default` is the bottom
/// element (the empty state), which joins with anything to give that thing back.
///
/// ```
/// use deltacrdt::{GCounter, Lattice, ReplicaId};
/// let mut a = GCounter::new();
/// let d = a.inc(ReplicaId(1), 5).unwrap();
/// let mut b = GCounter::new();
/// assert!(b.join(d.clone()));   // something new
/// assert!(!b.join(d));          // a duplicate changes nothing
/// assert_eq!(a, b);
/// ```
pub trait Lattice: Clone + PartialEq + Default {
    /// Merges `other` into `self`; returns whether `self` changed.
    fn join(&mut self, other: Self) -> bool;

    /// Merges a borrowed `other` (clones what it needs).
    fn join_ref(&mut self, other: &Self) -> bool {
        self.join(other.clone())
    }

    /// The join of two values, leaving both inputs as they were.
    fn joined(&self, other: &Self) -> Self {
        let mut out = self.clone();
        out.join_ref(other);
        out
    }

    /// Whether this is the bottom element (an empty state or an empty delta).
    fn is_bottom(&self) -> bool {
        *self == Self::default()
    }

    /// Whether `self ⊑ other`: joining `self` into `other` would change nothing.
    fn leq(&self, other: &Self) -> bool {
        let mut o = other.clone();
        !o.join_ref(self)
    }
}

/// A delta-state CRDT that can bring a lagging replica up to date from a compact version.
///
/// `version()` summarises what a replica has; `delta_since(v)` is the delta a holder of `v`
/// needs. For every pair of replicas `a`, `b`:
/// `b ⊔ a.delta_since(&b.version()) == b ⊔ a`. Its store entries are all ones `b` lacks; for
/// causal types it may also carry removed events `b` has seen, when `b`'s live dots of a
/// replica differ from ours (see [`CausalVersion`](crate::CausalVersion)).
///
/// ```
/// use deltacrdt::{DeltaCrdt, Lattice, ORSet, ReplicaId};
/// let mut a = ORSet::new();
/// for i in 0..1000u32 { a.add(ReplicaId(1), i).unwrap(); }
/// let mut b = a.clone();
/// a.add(ReplicaId(1), 1000).unwrap();
/// let delta = a.delta_since(&b.version());
/// assert_eq!(delta.len(), 1);  // only the new element travels
/// b.join(delta);
/// assert_eq!(a, b);
/// ```
pub trait DeltaCrdt: Lattice {
    /// A compact summary of what a replica has seen.
    type Version: Clone + PartialEq + core::fmt::Debug + Default;

    /// What this replica has seen, for a peer to compute a catch-up delta.
    fn version(&self) -> Self::Version;

    /// The smallest delta, computable from `version` alone, that brings the holder of
    /// `version` up to date with `self`.
    fn delta_since(&self, version: &Self::Version) -> Self;

    /// Whether `self` claims events of `replica` that `issuer`, the state of `replica`
    /// itself, never issued: dots of `replica` beyond its own highest sequence number for
    /// causal types, a count of `replica` above its own for counters. Always `false` for
    /// types without per-replica events.
    ///
    /// A replica issues its own events contiguously from 1 and sees each of them, so a value
    /// from elsewhere that claims more of *our* events than we issued was forged, corrupted,
    /// or made by another replica using our id (or by this replica before it lost its state).
    /// The sync session uses this to refuse such values.
    ///
    /// ```
    /// use deltacrdt::{DeltaCrdt, GCounter, ReplicaId};
    /// let me = ReplicaId(1);
    /// let mut mine = GCounter::new();
    /// let _ = mine.inc(me, 5).unwrap();
    /// let mut forged = GCounter::new();
    /// let _ = forged.inc(me, 9).unwrap();
    /// assert!(forged.claims_unissued(&mine, me));
    /// assert!(!mine.claims_unissued(&mine, me));
    /// ```
    fn claims_unissued(&self, issuer: &Self, replica: ReplicaId) -> bool {
        let _ = (issuer, replica);
        false
    }

    /// The first dot (in dot order) that `self` and `other` both hold with different
    /// contents, such as an [`ORSet`](crate::ORSet) dot under two elements or an
    /// [`MVRegister`](crate::MVRegister) dot with two values. Honest replicas never produce
    /// one: a collision means two replicas issued events under one replica id (a shared id,
    /// or a replica restarted without its state), and the join silently loses one side.
    /// `None` for types without dots.
    ///
    /// ```
    /// use deltacrdt::{DeltaCrdt, ORSet, ReplicaId};
    /// let shared = ReplicaId(7); // misuse: two replicas with one id
    /// let (mut a, mut b) = (ORSet::new(), ORSet::new());
    /// let _ = a.add(shared, "x").unwrap();
    /// let _ = b.add(shared, "y").unwrap();
    /// assert!(a.dot_collision(&b).is_some());
    /// ```
    fn dot_collision(&self, other: &Self) -> Option<Dot> {
        let _ = other;
        None
    }
}
