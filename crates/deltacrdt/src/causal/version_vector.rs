//! Version vectors: one counter per replica.

use core::cmp::Ordering;

use smallvec::SmallVec;

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
    /// Sorted by replica, counts non-zero. A sorted vector, not a tree: lookups are a binary
    /// search, joins a linear merge, and a one-entry delta needs no heap allocation.
    pub(crate) entries: SmallVec<[(ReplicaId, u64); 1]>,
}

impl VersionVector {
    /// The empty vector: nothing seen.
    pub fn new() -> Self {
        Self::default()
    }

    fn find(&self, replica: ReplicaId) -> Result<usize, usize> {
        self.entries.binary_search_by_key(&replica, |e| e.0)
    }

    /// The count for `replica` (0 when absent).
    pub fn get(&self, replica: ReplicaId) -> u64 {
        match self.find(replica) {
            Ok(i) => self.entries[i].1,
            Err(_) => 0,
        }
    }

    /// Sets the count for `replica`, replacing what was there; 0 removes the entry.
    pub fn set(&mut self, replica: ReplicaId, count: u64) {
        match (self.find(replica), count) {
            (Ok(i), 0) => {
                self.entries.remove(i);
            }
            (Ok(i), n) => self.entries[i].1 = n,
            (Err(_), 0) => {}
            (Err(i), n) => self.entries.insert(i, (replica, n)),
        }
    }

    /// Raises the count for `replica` to at least `count`; returns whether it grew.
    pub fn raise(&mut self, replica: ReplicaId, count: u64) -> bool {
        if count == 0 {
            return false;
        }
        match self.find(replica) {
            Ok(i) if self.entries[i].1 >= count => false,
            Ok(i) => {
                self.entries[i].1 = count;
                true
            }
            Err(i) => {
                self.entries.insert(i, (replica, count));
                true
            }
        }
    }

    /// Whether the event `dot` is covered (its sequence number is at most the replica's count).
    pub fn contains(&self, dot: Dot) -> bool {
        dot.seq >= 1 && dot.seq <= self.get(dot.replica)
    }

    /// Pointwise maximum; returns whether anything grew.
    pub fn join(&mut self, other: &VersionVector) -> bool {
        if other.entries.len() <= 4 {
            let mut changed = false;
            for &(r, n) in &other.entries {
                changed |= self.raise(r, n);
            }
            return changed;
        }
        // Linear merge of two sorted vectors.
        let (a, b) = (&self.entries, &other.entries);
        let mut out: SmallVec<[(ReplicaId, u64); 1]> =
            SmallVec::with_capacity(a.len().max(b.len()));
        let (mut i, mut j, mut changed) = (0, 0, false);
        while i < a.len() && j < b.len() {
            let (x, y) = (a[i], b[j]);
            match x.0.cmp(&y.0) {
                Ordering::Less => {
                    out.push(x);
                    i += 1;
                }
                Ordering::Greater => {
                    out.push(y);
                    changed = true;
                    j += 1;
                }
                Ordering::Equal => {
                    changed |= y.1 > x.1;
                    out.push((x.0, x.1.max(y.1)));
                    i += 1;
                    j += 1;
                }
            }
        }
        out.extend_from_slice(&a[i..]);
        changed |= j < b.len();
        out.extend_from_slice(&b[j..]);
        self.entries = out;
        changed
    }

    /// Whether some entry of `self` exceeds `other`'s, and whether some entry of `other`
    /// exceeds `self`'s, in one linear walk.
    fn ahead(&self, other: &VersionVector) -> (bool, bool) {
        let (a, b) = (&self.entries, &other.entries);
        let (mut i, mut j) = (0, 0);
        let (mut self_ahead, mut other_ahead) = (false, false);
        while i < a.len() && j < b.len() {
            match a[i].0.cmp(&b[j].0) {
                Ordering::Less => {
                    self_ahead = true;
                    i += 1;
                }
                Ordering::Greater => {
                    other_ahead = true;
                    j += 1;
                }
                Ordering::Equal => {
                    self_ahead |= a[i].1 > b[j].1;
                    other_ahead |= b[j].1 > a[i].1;
                    i += 1;
                    j += 1;
                }
            }
        }
        (self_ahead || i < a.len(), other_ahead || j < b.len())
    }

    /// Compares the histories summarised by two vectors.
    pub fn compare(&self, other: &VersionVector) -> Causality {
        match self.ahead(other) {
            (false, false) => Causality::Equal,
            (false, true) => Causality::Before,
            (true, false) => Causality::After,
            (true, true) => Causality::Concurrent,
        }
    }

    /// Whether `self` has seen everything `other` has (`Equal` or `After`).
    pub fn dominates(&self, other: &VersionVector) -> bool {
        !self.ahead(other).1
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
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (ReplicaId, u64)> + '_ {
        self.entries.iter().copied()
    }

    /// Number of replicas with a non-zero count.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no replica has a non-zero count.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Builds a vector from entries already sorted by replica, distinct, and non-zero.
    pub(crate) fn from_sorted(entries: SmallVec<[(ReplicaId, u64); 1]>) -> Self {
        debug_assert!(entries.windows(2).all(|w| w[0].0 < w[1].0));
        debug_assert!(entries.iter().all(|e| e.1 > 0));
        VersionVector { entries }
    }
}

impl FromIterator<(ReplicaId, u64)> for VersionVector {
    /// Collects entries in any order; duplicates keep the maximum, zeros are dropped.
    fn from_iter<I: IntoIterator<Item = (ReplicaId, u64)>>(iter: I) -> Self {
        let mut entries: SmallVec<[(ReplicaId, u64); 1]> =
            iter.into_iter().filter(|e| e.1 > 0).collect();
        entries.sort_unstable();
        // Sorted by (replica, count): keep the last, the largest, of each replica.
        let mut out: SmallVec<[(ReplicaId, u64); 1]> = SmallVec::with_capacity(entries.len());
        for e in entries {
            match out.last_mut() {
                Some(last) if last.0 == e.0 => last.1 = e.1,
                _ => out.push(e),
            }
        }
        VersionVector { entries: out }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeMap;
    use alloc::vec::Vec;
    use quickcheck::quickcheck;

    /// Builds a vector through `set`, from small replica ids so two vectors overlap often.
    fn vector(entries: &[(u8, u8)]) -> VersionVector {
        let mut v = VersionVector::new();
        for &(r, n) in entries {
            v.set(ReplicaId(u64::from(r % 48)), u64::from(n));
        }
        v
    }

    fn model(v: &VersionVector) -> BTreeMap<ReplicaId, u64> {
        v.iter().collect()
    }

    fn is_canonical(v: &VersionVector) -> bool {
        v.entries.windows(2).all(|w| w[0].0 < w[1].0) && v.entries.iter().all(|e| e.1 > 0)
    }

    quickcheck! {
        // Both the small-input path and the merge path, against a map model.
        fn join_is_the_pointwise_maximum(a: Vec<(u8, u8)>, b: Vec<(u8, u8)>) -> bool {
            let (mut x, y) = (vector(&a), vector(&b));
            let mut expected = model(&x);
            let mut grew = false;
            for (r, n) in y.iter() {
                let slot = expected.entry(r).or_insert(0);
                grew |= n > *slot;
                *slot = (*slot).max(n);
            }
            let changed = x.join(&y);
            changed == grew && model(&x) == expected && is_canonical(&x)
        }

        fn join_reports_no_change_when_dominating(a: Vec<(u8, u8)>, b: Vec<(u8, u8)>) -> bool {
            let mut x = vector(&a);
            x.join(&vector(&b));
            let before = x.clone();
            !x.join(&vector(&b)) && !x.join(&before) && x == before
        }
    }

    #[test]
    fn join_inserts_missing_replicas_in_order_at_both_ends_and_between() {
        // Every position a missing replica can take: before, between and after ours.
        let mut x: VersionVector = [(10, 1), (20, 2), (30, 3), (40, 4), (50, 5)]
            .into_iter()
            .map(|(r, n)| (ReplicaId(r), n))
            .collect();
        let y: VersionVector = [(5, 9), (10, 0), (20, 7), (25, 1), (45, 2), (50, 1), (60, 6)]
            .into_iter()
            .map(|(r, n)| (ReplicaId(r), n))
            .collect();
        assert!(x.join(&y));
        let got: Vec<(u64, u64)> = x.iter().map(|(r, n)| (r.0, n)).collect();
        assert_eq!(
            got,
            [
                (5, 9),
                (10, 1),
                (20, 7),
                (25, 1),
                (30, 3),
                (40, 4),
                (45, 2),
                (50, 5),
                (60, 6)
            ]
        );
    }
}
