//! Version vectors: one counter per replica.

use alloc::collections::BTreeMap;

use crate::causal::{Dot, ReplicaId};

/// How two version vectors (or the histories they summarise) relate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Causality {
    /// Both have seen exactly the same events.
    Equal,
    /// `self` happened before `other`: `other` has seen everything `self` has, and more.
    Before,
    /// `self` happened after `other`: `self` has seen everything `other` has, and more.
    After,
    /// Each has seen events the other has not.
    Concurrent,
}

/// A version vector maps each replica to the number of its events seen, all of them
/// contiguous from 1. Replicas not listed count as 0.
///
/// It is also the state of a [`GCounter`](crate::GCounter) and the version it hands out for
/// catch-up. Zero entries are never stored, so equal vectors are equal values.
///
/// ```
/// use deltacrdt::{Causality, ReplicaId, VersionVector};
/// let (a, b) = (ReplicaId(1), ReplicaId(2));
/// let mut x = VersionVector::new();
/// x.set(a, 2);
/// let mut y = x.clone();
/// y.set(b, 1);
/// assert_eq!(x.compare(&y), Causality::Before);
/// x.set(a, 3);
/// assert_eq!(x.compare(&y), Causality::Concurrent);
/// x.join(&y);
/// assert_eq!(x.get(a), 3);
/// assert_eq!(x.get(b), 1);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VersionVector {
    pub(crate) entries: BTreeMap<ReplicaId, u64>,
}

impl VersionVector {
    /// The empty vector: nothing seen.
    pub fn new() -> Self {
        Self::default()
    }

    /// The count for `replica` (0 when absent).
    pub fn get(&self, replica: ReplicaId) -> u64 {
        self.entries.get(&replica).copied().unwrap_or(0)
    }

    /// Sets the count for `replica`, replacing what was there; 0 removes the entry.
    pub fn set(&mut self, replica: ReplicaId, count: u64) {
        if count == 0 {
            self.entries.remove(&replica);
        } else {
            self.entries.insert(replica, count);
        }
    }

    /// Raises the count for `replica` to at least `count`; returns whether it grew.
    pub fn raise(&mut self, replica: ReplicaId, count: u64) -> bool {
        if count == 0 {
            return false;
        }
        let slot = self.entries.entry(replica).or_insert(0);
        if *slot < count {
            *slot = count;
            true
        } else {
            false
        }
    }

    /// Whether the event `dot` is covered (its sequence number is at most the replica's count).
    pub fn contains(&self, dot: Dot) -> bool {
        dot.seq >= 1 && dot.seq <= self.get(dot.replica)
    }

    /// Pointwise maximum; returns whether anything grew.
    pub fn join(&mut self, other: &VersionVector) -> bool {
        let mut changed = false;
        for (&r, &n) in &other.entries {
            changed |= self.raise(r, n);
        }
        changed
    }

    /// Compares the histories summarised by two vectors.
    pub fn compare(&self, other: &VersionVector) -> Causality {
        let self_ahead = self.entries.iter().any(|(r, &n)| n > other.get(*r));
        let other_ahead = other.entries.iter().any(|(r, &n)| n > self.get(*r));
        match (self_ahead, other_ahead) {
            (false, false) => Causality::Equal,
            (false, true) => Causality::Before,
            (true, false) => Causality::After,
            (true, true) => Causality::Concurrent,
        }
    }

    /// Whether `self` has seen everything `other` has (`Equal` or `After`).
    pub fn dominates(&self, other: &VersionVector) -> bool {
        other.entries.iter().all(|(r, &n)| self.get(*r) >= n)
    }

    /// Whether `self` happened strictly before `other`.
    pub fn happened_before(&self, other: &VersionVector) -> bool {
        self.compare(other) == Causality::Before
    }

    /// Whether each has seen something the other has not.
    pub fn is_concurrent(&self, other: &VersionVector) -> bool {
        self.compare(other) == Causality::Concurrent
    }

    /// The `(replica, count)` entries in replica order; zero entries are never listed.
    pub fn iter(&self) -> impl Iterator<Item = (ReplicaId, u64)> + '_ {
        self.entries.iter().map(|(&r, &n)| (r, n))
    }

    /// Number of replicas with a non-zero count.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no replica has a non-zero count.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl FromIterator<(ReplicaId, u64)> for VersionVector {
    fn from_iter<I: IntoIterator<Item = (ReplicaId, u64)>>(iter: I) -> Self {
        let mut v = VersionVector::new();
        for (r, n) in iter {
            v.raise(r, n);
        }
        v
    }
}
