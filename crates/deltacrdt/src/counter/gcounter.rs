//! Grow-only counter.

use core::fmt;

use crate::{DeltaCrdt, Lattice, ReplicaId, VersionVector};

/// A grow-only counter: each replica counts its own increments, the value is the sum.
///
/// The state is a map replica → count (a [`VersionVector`]); join is the pointwise maximum.
/// An increment returns a delta holding just the incremented replica's new count.
///
/// **Limits.** One replica's count is a `u64`: an increment that would take it past
/// `u64::MAX` is refused with [`CounterOverflow`] and changes nothing. The value is the sum of
/// all counts as a `u128`, which cannot overflow (it would take more than 2^64 replicas), so a
/// peer that sends counts near `u64::MAX` cannot make the value wrap; [`GCounter::value_u64`]
/// reports `None` when the sum no longer fits a `u64`.
///
/// ```
/// use deltacrdt::{GCounter, Lattice, ReplicaId};
/// let (a, b) = (ReplicaId(1), ReplicaId(2));
/// let mut x = GCounter::new();
/// let mut y = GCounter::new();
/// let dx = x.inc(a, 3).unwrap();
/// let dy = y.inc(b, 4).unwrap();
/// x.join(dy);
/// y.join(dx);
/// assert_eq!(x.value(), 7);
/// assert_eq!(x, y);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct GCounter {
    pub(crate) counts: VersionVector,
}

/// An increment would take one replica's count past `u64::MAX`; nothing was changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CounterOverflow {
    /// The replica whose count would overflow.
    pub replica: ReplicaId,
    /// Its count before the increment.
    pub current: u64,
    /// The increment that was refused.
    pub increment: u64,
}

impl fmt::Display for CounterOverflow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "counter overflow: replica {} has count {} and cannot add {} (the per-replica limit is 2^64 - 1)",
            self.replica, self.current, self.increment
        )
    }
}

#[cfg(feature = "std")]
impl std::error::Error for CounterOverflow {}

impl GCounter {
    /// A counter at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `n` on behalf of `replica` and returns the delta to ship to other replicas.
    ///
    /// `n == 0` changes nothing and returns an empty delta.
    ///
    /// # Errors
    /// [`CounterOverflow`] if the replica's count would exceed `u64::MAX`.
    #[must_use = "send the delta to the other replicas"]
    pub fn inc(&mut self, replica: ReplicaId, n: u64) -> Result<GCounter, CounterOverflow> {
        if n == 0 {
            return Ok(GCounter::new());
        }
        // One lookup both checks and applies the increment.
        let next = self
            .counts
            .checked_add(replica, n)
            .map_err(|current| CounterOverflow {
                replica,
                current,
                increment: n,
            })?;
        Ok(GCounter {
            counts: VersionVector::single(replica, next),
        })
    }

    /// The delta of [`inc`](Self::inc) without applying it.
    ///
    /// # Errors
    /// [`CounterOverflow`] if the replica's count would exceed `u64::MAX`.
    pub fn inc_delta(&self, replica: ReplicaId, n: u64) -> Result<GCounter, CounterOverflow> {
        if n == 0 {
            return Ok(GCounter::new());
        }
        let current = self.counts.get(replica);
        let next = current.checked_add(n).ok_or(CounterOverflow {
            replica,
            current,
            increment: n,
        })?;
        Ok(GCounter {
            counts: VersionVector::single(replica, next),
        })
    }

    /// The sum of all replicas' counts. Never wraps.
    pub fn value(&self) -> u128 {
        self.counts.iter().map(|(_, n)| u128::from(n)).sum()
    }

    /// The value as a `u64`, or `None` if it exceeds `u64::MAX`.
    pub fn value_u64(&self) -> Option<u64> {
        u64::try_from(self.value()).ok()
    }

    /// One replica's own count.
    pub fn count_of(&self, replica: ReplicaId) -> u64 {
        self.counts.get(replica)
    }

    /// The per-replica counts.
    pub fn counts(&self) -> &VersionVector {
        &self.counts
    }

    /// Builds a counter from per-replica counts (as read from a trusted source).
    pub fn from_counts(counts: VersionVector) -> Self {
        GCounter { counts }
    }
}

impl Lattice for GCounter {
    fn join(&mut self, other: Self) -> bool {
        if self.counts.is_empty() {
            // Take the other side's entries (and buffer) as they are.
            let grew = !other.counts.is_empty();
            *self = other;
            return grew;
        }
        self.counts.join(&other.counts)
    }

    fn join_ref(&mut self, other: &Self) -> bool {
        self.counts.join(&other.counts)
    }

    fn leq(&self, other: &Self) -> bool {
        other.counts.dominates(&self.counts)
    }
}

impl DeltaCrdt for GCounter {
    type Version = VersionVector;

    /// The per-replica counts.
    fn version(&self) -> VersionVector {
        self.counts.clone()
    }

    /// The entries that grew beyond `version`: one entry per replica that has news.
    fn delta_since(&self, version: &VersionVector) -> Self {
        // Both are sorted by replica: one linear walk.
        let theirs = &version.entries;
        let mut j = 0;
        let mut news = smallvec::SmallVec::new();
        for &(r, n) in &self.counts.entries {
            while j < theirs.len() && theirs[j].0 < r {
                j += 1;
            }
            let seen = match theirs.get(j) {
                Some(&(tr, tn)) if tr == r => tn,
                _ => 0,
            };
            if n > seen {
                news.push((r, n));
            }
        }
        GCounter {
            counts: VersionVector::from_sorted(news),
        }
    }

    fn claims_unissued(&self, issuer: &Self, replica: ReplicaId) -> bool {
        self.counts.get(replica) > issuer.counts.get(replica)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{tag, Binary, Codec, FORMAT_VERSION};
    use alloc::collections::BTreeMap;
    use alloc::vec;
    use alloc::vec::Vec;
    use quickcheck::quickcheck;

    quickcheck! {
        // Increments on replicas in any order (new ones land before, between and after the
        // existing ones) against a map model; each delta is the one new count.
        fn inc_matches_a_map_model(ops: Vec<(u8, u16)>) -> bool {
            let mut c = GCounter::new();
            let mut model: BTreeMap<ReplicaId, u64> = BTreeMap::new();
            ops.iter().all(|&(r, n)| {
                let (r, n) = (ReplicaId(u64::from(r % 40)), u64::from(n));
                let d = c.inc(r, n).unwrap();
                if n > 0 {
                    *model.entry(r).or_insert(0) += n;
                }
                let expected: Vec<(ReplicaId, u64)> = match model.get(&r) {
                    Some(&m) if n > 0 => vec![(r, m)],
                    _ => vec![],
                };
                d.counts.iter().collect::<Vec<_>>() == expected
                    && c.counts.iter().collect::<BTreeMap<_, _>>() == model
            })
        }

        fn to_bytes_is_the_header_and_the_body(ops: Vec<(u8, u8)>) -> bool {
            let mut c = GCounter::new();
            for (r, n) in ops {
                c.inc(ReplicaId(u64::from(r)), u64::from(n)).unwrap();
            }
            let mut body = vec![FORMAT_VERSION, tag::GCOUNTER];
            c.encode(&mut body);
            let mut version = vec![FORMAT_VERSION, tag::VERSION_VECTOR];
            c.counts.encode(&mut version);
            c.to_bytes() == body
                && c.counts.to_bytes() == version
                && GCounter::from_bytes(&body).as_ref() == Ok(&c)
        }
    }

    #[test]
    fn overflow_changes_nothing() {
        let mut c = GCounter::new();
        c.inc(ReplicaId(2), u64::MAX - 1).unwrap();
        let before = c.clone();
        let err = c.inc(ReplicaId(2), 2).unwrap_err();
        assert_eq!((err.current, err.increment), (u64::MAX - 1, 2));
        assert_eq!(c, before);
        assert!(c.inc(ReplicaId(1), 0).unwrap().is_bottom());
        assert_eq!(c, before);
    }
}
