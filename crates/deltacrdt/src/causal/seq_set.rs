//! A set of sequence numbers stored as sorted, disjoint, non-adjacent inclusive runs.

use smallvec::SmallVec;

/// A set of positive sequence numbers kept as runs `[start, end]`.
///
/// Runs are sorted, never overlap and never touch (`end + 1 < next.start`), so every set has
/// exactly one representation; this is what makes the encoding canonical. A set whose first run
/// starts at 1 is a version-vector entry plus, in the later runs, the dots seen out of order.
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct SeqSet {
    runs: SmallVec<[(u64, u64); 1]>,
}

impl Clone for SeqSet {
    /// A copy of the one inline run without `SmallVec`'s general clone (almost every set is
    /// one run: catch-up and version comparisons copy many of them).
    #[inline]
    fn clone(&self) -> Self {
        SeqSet {
            runs: match self.runs.as_slice() {
                [run] => SmallVec::from_buf([*run]),
                runs => SmallVec::from_slice(runs),
            },
        }
    }
}

impl SeqSet {
    pub(crate) fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    pub(crate) fn runs(&self) -> &[(u64, u64)] {
        &self.runs
    }

    /// Builds a set from runs that are already canonical (checked by the caller).
    pub(crate) fn from_canonical_runs(runs: SmallVec<[(u64, u64); 1]>) -> Self {
        debug_assert!(Self::is_canonical(&runs));
        SeqSet { runs }
    }

    pub(crate) fn is_canonical(runs: &[(u64, u64)]) -> bool {
        runs.iter().all(|&(s, e)| s >= 1 && s <= e)
            && runs
                .windows(2)
                .all(|w| w[0].1.checked_add(1).is_some_and(|n| n < w[1].0))
    }

    #[cfg(test)]
    pub(crate) fn range(start: u64, end: u64) -> Self {
        let mut s = SeqSet::default();
        if start >= 1 && start <= end {
            s.runs.push((start, end));
        }
        s
    }

    /// Highest contiguous sequence number from 1 (0 when 1 is missing).
    pub(crate) fn contiguous(&self) -> u64 {
        match self.runs.first() {
            Some(&(1, e)) => e,
            _ => 0,
        }
    }

    pub(crate) fn max(&self) -> u64 {
        self.runs.last().map_or(0, |r| r.1)
    }

    /// Number of sequence numbers in the set, saturating at `u64::MAX`.
    pub(crate) fn count(&self) -> u64 {
        self.runs.iter().fold(0u64, |acc, &(s, e)| {
            acc.saturating_add(e - s).saturating_add(1)
        })
    }

    fn position(&self, seq: u64) -> Result<usize, usize> {
        self.runs.binary_search_by(|&(s, e)| {
            if e < seq {
                core::cmp::Ordering::Less
            } else if s > seq {
                core::cmp::Ordering::Greater
            } else {
                core::cmp::Ordering::Equal
            }
        })
    }

    pub(crate) fn contains(&self, seq: u64) -> bool {
        self.position(seq).is_ok()
    }

    /// Whether every number of `[start, end]` is in the set.
    pub(crate) fn contains_range(&self, start: u64, end: u64) -> bool {
        match self.position(start) {
            Ok(i) => self.runs[i].1 >= end,
            Err(_) => false,
        }
    }

    /// Inserts one number; returns whether it was new.
    pub(crate) fn insert(&mut self, seq: u64) -> bool {
        self.insert_range(seq, seq)
    }

    /// Inserts `[start, end]`; returns whether anything was new.
    pub(crate) fn insert_range(&mut self, start: u64, end: u64) -> bool {
        if start == 0 || start > end {
            return false;
        }
        // Fast path: appending past the last run, the common case for a replica's own events.
        if let Some(last) = self.runs.last_mut() {
            if start > last.1 {
                if last.1.checked_add(1) == Some(start) {
                    last.1 = end;
                } else {
                    self.runs.push((start, end));
                }
                return true;
            }
        } else {
            self.runs.push((start, end));
            return true;
        }
        if self.contains_range(start, end) {
            return false;
        }
        // First run that ends at or after start - 1 (it may touch or overlap).
        let lo = self
            .runs
            .partition_point(|&(_, e)| e.saturating_add(1) < start);
        // First run that starts after end + 1 (it neither touches nor overlaps).
        let hi = self
            .runs
            .partition_point(|&(s, _)| s <= end.saturating_add(1));
        let mut new = (start, end);
        if lo < hi {
            new.0 = new.0.min(self.runs[lo].0);
            new.1 = new.1.max(self.runs[hi - 1].1);
        }
        self.runs.drain(lo..hi);
        self.runs.insert(lo, new);
        true
    }

    /// Adds every number of `other`; returns whether anything was new.
    ///
    /// A few runs are inserted one by one; more are merged in one linear pass, so joining two
    /// fragmented contexts costs O(runs), not O(runs²).
    pub(crate) fn union(&mut self, other: &SeqSet) -> bool {
        if other.runs.len() <= 2 {
            let mut changed = false;
            for &(s, e) in other.runs.iter() {
                changed |= self.insert_range(s, e);
            }
            return changed;
        }
        if self.includes(other) {
            return false;
        }
        let (a, b) = (&self.runs, &other.runs);
        let mut out: SmallVec<[(u64, u64); 1]> = SmallVec::with_capacity(a.len() + b.len());
        let (mut i, mut j) = (0, 0);
        while i < a.len() || j < b.len() {
            let next = match (a.get(i), b.get(j)) {
                (Some(x), Some(y)) if x.0 <= y.0 => {
                    i += 1;
                    *x
                }
                (_, Some(y)) => {
                    j += 1;
                    *y
                }
                (Some(x), None) => {
                    i += 1;
                    *x
                }
                (None, None) => break,
            };
            match out.last_mut() {
                Some(last) if last.1.saturating_add(1) >= next.0 => last.1 = last.1.max(next.1),
                _ => out.push(next),
            }
        }
        self.runs = out;
        true
    }

    /// The numbers of `self` that are not in `other`.
    pub(crate) fn difference(&self, other: &SeqSet) -> SeqSet {
        let mut out: SmallVec<[(u64, u64); 1]> = SmallVec::new();
        let mut j = 0;
        for &(s, e) in self.runs.iter() {
            while j < other.runs.len() && other.runs[j].1 < s {
                j += 1;
            }
            let mut cur = Some(s);
            let mut k = j;
            while let (Some(c), Some(&(os, oe))) = (cur, other.runs.get(k)) {
                if os > e {
                    break;
                }
                if os > c {
                    out.push((c, os - 1));
                }
                cur = if oe >= e { None } else { Some(oe + 1) };
                k += 1;
            }
            if let Some(c) = cur {
                out.push((c, e));
            }
        }
        SeqSet { runs: out }
    }

    /// Whether every number of `other` is in `self`.
    pub(crate) fn includes(&self, other: &SeqSet) -> bool {
        other.runs.iter().all(|&(s, e)| self.contains_range(s, e))
    }

    /// Iterates the numbers of the set (can be long: prefer [`runs`](Self::runs)).
    pub(crate) fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.runs.iter().flat_map(|&(s, e)| s..=e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_merges_touching_runs() {
        let mut s = SeqSet::default();
        assert!(s.insert(1));
        assert!(s.insert(3));
        assert!(s.insert(5));
        assert_eq!(s.runs(), &[(1, 1), (3, 3), (5, 5)]);
        assert!(s.insert(2));
        assert_eq!(s.runs(), &[(1, 3), (5, 5)]);
        assert!(!s.insert(2));
        assert!(s.insert_range(4, 10));
        assert_eq!(s.runs(), &[(1, 10)]);
        assert_eq!(s.contiguous(), 10);
    }

    #[test]
    fn difference_cuts_runs() {
        let a = SeqSet::range(1, 10);
        let mut b = SeqSet::default();
        b.insert(3);
        b.insert_range(6, 7);
        b.insert(10);
        assert_eq!(a.difference(&b).runs(), &[(1, 2), (4, 5), (8, 9)]);
        assert!(b.difference(&a).is_empty());
        assert!(a.includes(&b));
        assert!(!b.includes(&a));
    }

    #[test]
    fn union_of_fragmented_sets_merges_runs() {
        let mut odd = SeqSet::default();
        let mut even = SeqSet::default();
        for i in 1..=50u64 {
            odd.insert(2 * i - 1);
            even.insert(2 * i);
        }
        assert_eq!(odd.runs().len(), 50);
        let mut u = odd.clone();
        assert!(u.union(&even));
        assert_eq!(u.runs(), &[(1, 100)]);
        assert!(!u.union(&odd), "nothing new");
        let mut v = even.clone();
        v.insert_range(u64::MAX - 1, u64::MAX);
        assert!(v.union(&odd));
        assert_eq!(v.runs(), &[(1, 100), (u64::MAX - 1, u64::MAX)]);
    }

    #[test]
    fn extremes_do_not_overflow() {
        let mut s = SeqSet::range(u64::MAX - 1, u64::MAX);
        assert!(s.insert(1));
        assert_eq!(s.count(), 3);
        let d = SeqSet::range(1, u64::MAX).difference(&s);
        assert_eq!(d.runs(), &[(2, u64::MAX - 2)]);
        assert!(SeqSet::range(1, u64::MAX)
            .difference(&SeqSet::range(1, u64::MAX))
            .is_empty());
    }
}
