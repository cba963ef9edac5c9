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
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
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

    #[inline]
    fn find(&self, replica: ReplicaId) -> Result<usize, usize> {
        self.entries.binary_search_by_key(&replica, |e| e.0)
    }

    /// The count for `replica` (0 when absent).
    #[inline]
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
    ///
    /// Works in place: a first walk raises the shared replicas and counts the missing ones;
    /// only if some are missing does the vector grow, once, and a merge from the back drops
    /// them into place. So a join allocates at most once, and not at all when both vectors
    /// list the same replicas (the common case between replicas of one counter).
    pub fn join(&mut self, other: &VersionVector) -> bool {
        if other.entries.len() <= 4 {
            let mut changed = false;
            for &(r, n) in &other.entries {
                changed |= self.raise(r, n);
            }
            return changed;
        }
        let mine = self.entries.as_mut_slice();
        let theirs = other.entries.as_slice();
        // Replicas of one counter usually list the same replicas: a lockstep walk over the
        // common prefix needs no search.
        let mut changed = false;
        let mut prefix = 0;
        for (m, t) in mine.iter_mut().zip(theirs) {
            if m.0 != t.0 {
                break;
            }
            if t.1 > m.1 {
                m.1 = t.1;
                changed = true;
            }
            prefix += 1;
        }
        let (mut i, mut missing) = (prefix, 0usize);
        for &(r, n) in &theirs[prefix..] {
            while i < mine.len() && mine[i].0 < r {
                i += 1;
            }
            match mine.get_mut(i) {
                Some(e) if e.0 == r => {
                    if n > e.1 {
                        e.1 = n;
                        changed = true;
                    }
                    i += 1;
                }
                _ => missing += 1,
            }
        }
        if missing == 0 {
            return changed;
        }
        let old_len = mine.len();
        self.entries.resize(old_len + missing, (ReplicaId(0), 0));
        let mine = self.entries.as_mut_slice();
        let theirs = other.entries.as_slice();
        // Back to front: `k` is the slot to fill, `i` and `j` count the entries of each side
        // not yet placed. Shared replicas already hold their maximum.
        let (mut i, mut j, mut k) = (old_len, theirs.len(), old_len + missing);
        while j > 0 {
            let next_theirs = theirs[j - 1];
            let next = match i.checked_sub(1).map(|p| mine[p]) {
                Some(m) if m.0 >= next_theirs.0 => {
                    i -= 1;
                    j -= usize::from(m.0 == next_theirs.0);
                    m
                }
                _ => {
                    j -= 1;
                    next_theirs
                }
            };
            k -= 1;
            mine[k] = next;
        }
        debug_assert_eq!(k, i, "every missing replica placed");
        true
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

    /// A vector of one entry (`count` must be non-zero); needs no heap allocation.
    #[inline]
    pub(crate) fn single(replica: ReplicaId, count: u64) -> Self {
        debug_assert!(count > 0);
        VersionVector {
            entries: SmallVec::from_buf([(replica, count)]),
        }
    }

    /// Adds `n` to `replica`'s count with one lookup; returns the new count, or the current
    /// count (unchanged) if the sum would exceed `u64::MAX`.
    #[inline]
    pub(crate) fn checked_add(&mut self, replica: ReplicaId, n: u64) -> Result<u64, u64> {
        match self.find(replica) {
            Ok(i) => {
                let slot = &mut self.entries[i].1;
                *slot = slot.checked_add(n).ok_or(*slot)?;
                Ok(*slot)
            }
            Err(_) if n == 0 => Ok(0),
            Err(i) => {
                self.entries.insert(i, (replica, n));
                Ok(n)
            }
        }
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

/// The causal order: `a < b` when `b` has seen everything `a` has and more; concurrent
/// vectors are unordered (`partial_cmp` is `None`, and `<`, `>`, `<=`, `>=` are all false).
/// There is deliberately no `Ord`: a total order over version vectors would call concurrent
/// histories ordered.
///
/// ```
/// use deltacrdt::{ReplicaId, VersionVector};
/// let (a, b) = (ReplicaId(1), ReplicaId(2));
/// let x: VersionVector = [(a, 5)].into_iter().collect();
/// let y: VersionVector = [(a, 3), (b, 1)].into_iter().collect();
/// assert!(!(x > y) && !(x < y)); // concurrent
/// let z: VersionVector = [(a, 5), (b, 1)].into_iter().collect();
/// assert!(x < z && y < z);
/// ```
impl PartialOrd for VersionVector {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        match self.compare(other) {
            Causality::Equal => Some(core::cmp::Ordering::Equal),
            Causality::Before => Some(core::cmp::Ordering::Less),
            Causality::After => Some(core::cmp::Ordering::Greater),
            Causality::Concurrent => None,
        }
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

    fn of(entries: &[(u64, u64)]) -> VersionVector {
        entries.iter().map(|&(r, n)| (ReplicaId(r), n)).collect()
    }

    #[test]
    fn join_after_a_common_prefix() {
        // Same replicas first, then each side has its own; one side a prefix of the other.
        type Entries = &'static [(u64, u64)];
        let cases: [(Entries, Entries, Entries); 3] = [
            (
                &[(1, 1), (2, 5), (3, 1), (4, 1), (6, 1), (8, 1)],
                &[(1, 2), (2, 1), (3, 3), (4, 1), (5, 1), (8, 4), (9, 9)],
                &[
                    (1, 2),
                    (2, 5),
                    (3, 3),
                    (4, 1),
                    (5, 1),
                    (6, 1),
                    (8, 4),
                    (9, 9),
                ],
            ),
            (
                &[(1, 1), (2, 1), (3, 1)],
                &[(1, 1), (2, 1), (3, 2), (4, 1), (5, 1)],
                &[(1, 1), (2, 1), (3, 2), (4, 1), (5, 1)],
            ),
            (
                &[(1, 1), (2, 1), (3, 1), (4, 1), (5, 1), (6, 1)],
                &[(1, 1), (2, 1), (3, 1), (4, 1), (5, 1)],
                &[(1, 1), (2, 1), (3, 1), (4, 1), (5, 1), (6, 1)],
            ),
        ];
        for (a, b, joined) in cases {
            let mut x = of(a);
            let grew = x.join(&of(b));
            assert_eq!(x, of(joined));
            assert_eq!(grew, of(a) != of(joined));
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
