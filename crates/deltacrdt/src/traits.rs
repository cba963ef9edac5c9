//! The traits every CRDT of the crate implements.

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
/// `b ⊔ a.delta_since(&b.version()) == b ⊔ a`, and the delta holds only what `b` lacks.
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
}
