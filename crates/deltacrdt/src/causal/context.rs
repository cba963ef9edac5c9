//! Causal contexts: the set of events a replica has seen, kept compact.

use crate::causal::{seq_set::SeqSet, Dot, ReplicaId, VecMap, VersionVector};

/// The set of dots (events) a replica has seen.
///
/// Stored compactly per replica as runs of sequence numbers: the run from 1 is the version
/// vector entry, later runs are the dots seen out of order (the "dot cloud"). Inserting a dot
/// that closes a gap folds the cloud into the vector by itself, so the context never needs an
/// explicit compaction step and every set of dots has exactly one representation.
///
/// A dot that is in the context but in no store of a causal CRDT means "seen, and removed
/// since": this is how removes work without tombstones.
///
/// ```
/// use deltacrdt::{CausalContext, Dot, ReplicaId};
/// let r = ReplicaId(9);
/// let mut c = CausalContext::new();
/// c.insert(Dot::new(r, 1));
/// c.insert(Dot::new(r, 3)); // out of order: kept in the cloud
/// assert_eq!(c.version_vector().get(r), 1);
/// assert_eq!(c.cloud().count(), 1);
/// c.insert(Dot::new(r, 2)); // closes the gap: compacts
/// assert_eq!(c.version_vector().get(r), 3);
/// assert_eq!(c.cloud().count(), 0);
/// assert_eq!(c.next_dot(r), Dot::new(r, 4));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct CausalContext {
    pub(crate) replicas: VecMap<ReplicaId, SeqSet>,
}

impl CausalContext {
    /// The empty context: nothing seen.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `dot` has been seen.
    pub fn contains(&self, dot: Dot) -> bool {
        self.replicas
            .get(&dot.replica)
            .is_some_and(|s| s.contains(dot.seq))
    }

    /// A [`contains`](Self::contains) for dots asked in ascending order, which walks the
    /// context once instead of searching it for each dot.
    #[cfg(feature = "linear-merge")]
    pub(crate) fn ascending_lookup(&self) -> AscendingLookup<'_> {
        AscendingLookup {
            replicas: self.replicas.as_slice(),
            replica: 0,
            run: 0,
        }
    }

    /// Records `dot` as seen; returns whether it was new. Dots with sequence number 0 are
    /// ignored (sequence numbers start at 1).
    pub fn insert(&mut self, dot: Dot) -> bool {
        if dot.seq == 0 {
            return false;
        }
        self.replicas
            .get_or_insert_with(dot.replica, SeqSet::default)
            .insert(dot.seq)
    }

    /// Records `first..=last` of `replica` as seen; returns whether anything was new.
    pub fn insert_range(&mut self, replica: ReplicaId, first: u64, last: u64) -> bool {
        if first == 0 || first > last {
            return false;
        }
        self.replicas
            .get_or_insert_with(replica, SeqSet::default)
            .insert_range(first, last)
    }

    /// The highest sequence number seen from `replica` (0 if none).
    pub fn max_seq(&self, replica: ReplicaId) -> u64 {
        self.replicas.get(&replica).map_or(0, SeqSet::max)
    }

    /// The next dot `replica` should use: one past the highest it has seen of its own.
    ///
    /// Returns a dot with sequence number `u64::MAX` only if that many events exist, which
    /// cannot happen through honest use; mutators check for exhaustion and report it.
    pub fn next_dot(&self, replica: ReplicaId) -> Dot {
        Dot::new(replica, self.max_seq(replica).saturating_add(1))
    }

    /// The next dot for `replica`, or an error when its sequence numbers are used up: how
    /// every mutator of a causal type mints its event.
    ///
    /// # Errors
    /// [`DotsExhausted`](crate::DotsExhausted) if the context holds `replica`'s seq 2^64 - 1.
    pub fn try_next_dot(&self, replica: ReplicaId) -> Result<Dot, crate::DotsExhausted> {
        match self.max_seq(replica).checked_add(1) {
            Some(seq) => Ok(Dot::new(replica, seq)),
            None => Err(crate::DotsExhausted { replica }),
        }
    }

    /// Adds every dot of `other`; returns whether anything was new.
    pub fn join(&mut self, other: &CausalContext) -> bool {
        let mut changed = false;
        for (r, s) in &other.replicas {
            match self.replicas.get_mut(r) {
                Some(mine) => changed |= mine.union(s),
                None => {
                    if !s.is_empty() {
                        self.replicas.insert(*r, s.clone());
                        changed = true;
                    }
                }
            }
        }
        changed
    }

    /// The dots of `self` that are not in `other`.
    pub fn difference(&self, other: &CausalContext) -> CausalContext {
        let mut out = CausalContext::new();
        for (r, s) in &self.replicas {
            let d = match other.replicas.get(r) {
                Some(o) => s.difference(o),
                None => s.clone(),
            };
            if !d.is_empty() {
                out.replicas.insert(*r, d);
            }
        }
        out
    }

    /// Whether every dot of `other` is in `self`.
    pub fn includes(&self, other: &CausalContext) -> bool {
        other
            .replicas
            .iter()
            .all(|(r, s)| s.is_empty() || self.replicas.get(r).is_some_and(|m| m.includes(s)))
    }

    /// The compact part: per replica, the highest sequence number seen contiguously from 1.
    pub fn version_vector(&self) -> VersionVector {
        self.replicas
            .iter()
            .map(|(&r, s)| (r, s.contiguous()))
            .collect()
    }

    /// The dots seen out of order (beyond each replica's contiguous prefix), in dot order.
    pub fn cloud(&self) -> impl Iterator<Item = Dot> + '_ {
        self.replicas.iter().flat_map(|(&r, s)| {
            let skip = usize::from(s.contiguous() > 0);
            s.runs()[skip..]
                .iter()
                .flat_map(move |&(a, b)| (a..=b).map(move |q| Dot::new(r, q)))
        })
    }

    /// The seen dots as runs `(replica, first, last)`, in order. This is the compact view used
    /// by the binary format; a context has few runs unless it saw many events out of order.
    pub fn runs(&self) -> impl Iterator<Item = (ReplicaId, u64, u64)> + '_ {
        self.replicas
            .iter()
            .flat_map(|(&r, s)| s.runs().iter().map(move |&(a, b)| (r, a, b)))
    }

    /// Iterates every seen dot. The count can be huge (`version_vector` summarises it); prefer
    /// [`runs`](Self::runs) for anything but small contexts.
    pub fn dots(&self) -> impl Iterator<Item = Dot> + '_ {
        self.replicas
            .iter()
            .flat_map(|(&r, s)| s.iter().map(move |q| Dot::new(r, q)))
    }

    /// How many dots have been seen (saturating at `u64::MAX`).
    pub fn dot_count(&self) -> u64 {
        self.replicas
            .values()
            .fold(0u64, |acc, s| acc.saturating_add(s.count()))
    }

    /// Whether nothing has been seen.
    pub fn is_empty(&self) -> bool {
        self.replicas.values().all(SeqSet::is_empty)
    }
}

impl From<&VersionVector> for CausalContext {
    fn from(v: &VersionVector) -> Self {
        let mut c = CausalContext::new();
        for (r, n) in v.iter() {
            c.insert_range(r, 1, n);
        }
        c
    }
}

impl FromIterator<Dot> for CausalContext {
    fn from_iter<I: IntoIterator<Item = Dot>>(iter: I) -> Self {
        let mut c = CausalContext::new();
        for d in iter {
            c.insert(d);
        }
        c
    }
}

/// Answers whether a context contains each of a sequence of ascending dots, in one walk over the
/// context (see [`CausalContext::ascending_lookup`]).
#[cfg(feature = "linear-merge")]
pub(crate) struct AscendingLookup<'a> {
    replicas: &'a [(ReplicaId, SeqSet)],
    /// The first replica not below the last dot asked.
    replica: usize,
    /// In that replica's runs, the first not ending below the last dot asked.
    run: usize,
}

#[cfg(feature = "linear-merge")]
impl AscendingLookup<'_> {
    /// Whether the context contains `dot`, which must not be below any dot asked before.
    #[inline]
    pub(crate) fn contains(&mut self, dot: Dot) -> bool {
        while self
            .replicas
            .get(self.replica)
            .is_some_and(|(r, _)| *r < dot.replica)
        {
            self.replica += 1;
            self.run = 0;
        }
        let Some((r, seqs)) = self.replicas.get(self.replica) else {
            return false;
        };
        if *r != dot.replica {
            return false;
        }
        let runs = seqs.runs();
        while runs.get(self.run).is_some_and(|&(_, last)| last < dot.seq) {
            self.run += 1;
        }
        runs.get(self.run)
            .is_some_and(|&(first, _)| first <= dot.seq)
    }
}

#[cfg(all(test, feature = "linear-merge"))]
mod tests {
    use super::*;
    use alloc::vec::Vec;
    use quickcheck::quickcheck;

    quickcheck! {
        /// The one-walk lookup answers like `contains` for any ascending sequence of dots.
        fn ascending_lookup_agrees_with_contains(seen: Vec<(u8, u8)>, asked: Vec<(u8, u8)>) -> bool {
            let mut context = CausalContext::new();
            for (r, s) in seen {
                context.insert(Dot::new(ReplicaId(u64::from(r % 4)), u64::from(s % 64)));
            }
            let mut asked: Vec<Dot> = asked
                .into_iter()
                .map(|(r, s)| Dot::new(ReplicaId(u64::from(r % 5)), u64::from(s % 70)))
                .collect();
            asked.sort_unstable();
            let mut lookup = context.ascending_lookup();
            asked.into_iter().all(|d| lookup.contains(d) == context.contains(d))
        }
    }
}
