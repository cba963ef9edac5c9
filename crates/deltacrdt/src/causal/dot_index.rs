//! [`DotIndex`]: a map from live dots to keys, kept per replica.
//!
//! The index of a [`DotMap`](crate::causal::DotMap) names, for every live dot, the key whose
//! store holds it. Keyed by whole dots it costs 16 bytes of dot per entry; kept as one sorted
//! map of sequence numbers per replica ([`SeqMap`], 32-bit offsets in chunks) it costs 4, and
//! a map has few replicas.

use core::cmp::Ordering;

#[cfg(feature = "linear-merge")]
use super::chunk_map::Merged;
use super::seq_map::SeqMap;
use super::vec_map::VecMap;
use crate::causal::{Dot, ReplicaId};

/// A sorted map from dots to `K`: per replica (ascending), a [`SeqMap`] from sequence numbers
/// to keys. No replica's map is empty. Iteration is in dot order.
#[derive(Clone)]
pub(crate) struct DotIndex<K> {
    replicas: VecMap<ReplicaId, SeqMap<K>>,
    len: usize,
}

impl<K> Default for DotIndex<K> {
    fn default() -> Self {
        DotIndex {
            replicas: VecMap::new(),
            len: 0,
        }
    }
}

impl<K> DotIndex<K> {
    /// Number of dots.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The dots and their keys, in dot order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (Dot, &K)> + '_ {
        self.replicas
            .iter()
            .flat_map(|(r, m)| m.iter().map(move |(q, k)| (Dot::new(*r, q), k)))
    }

    /// The dots, ascending.
    pub(crate) fn dots(&self) -> impl Iterator<Item = Dot> + '_ {
        self.iter().map(|(d, _)| d)
    }

    /// Takes the pairs out, in dot order.
    pub(crate) fn into_pairs(self) -> impl Iterator<Item = (Dot, K)> {
        self.replicas
            .into_items()
            .flat_map(|(r, m)| m.into_pairs().map(move |(q, k)| (Dot::new(r, q), k)))
    }

    /// Appends a pair whose dot is greater than every dot of the index.
    #[inline]
    pub(crate) fn push_last(&mut self, d: Dot, k: K) {
        match self.replicas.last_mut() {
            Some((r, m)) if *r == d.replica => {
                debug_assert!(m.last().is_none_or(|q| q < d.seq), "ascending dots");
                m.push_last(d.seq, k);
            }
            _ => {
                debug_assert!(
                    self.replicas.last_key().is_none_or(|r| *r < d.replica),
                    "ascending dots"
                );
                let mut m = SeqMap::default();
                m.push_last(d.seq, k);
                self.replicas.push_last(d.replica, m);
            }
        }
        self.len += 1;
    }

    /// The index of one pair.
    pub(crate) fn singleton(d: Dot, k: K) -> Self {
        let mut index = DotIndex::default();
        index.push_last(d, k);
        index
    }

    /// The pairs of `replica` with sequence numbers from `first` on, ascending.
    pub(crate) fn seqs_from(
        &self,
        replica: ReplicaId,
        first: u64,
    ) -> impl Iterator<Item = (u64, &K)> {
        self.replicas
            .get(&replica)
            .into_iter()
            .flat_map(move |m| m.iter_from(first))
    }

    /// The value at `d`.
    pub(crate) fn get(&self, d: &Dot) -> Option<&K> {
        self.replicas.get(&d.replica)?.get(d.seq)
    }

    /// Whether `d` is in the index.
    pub(crate) fn contains_key(&self, d: &Dot) -> bool {
        self.get(d).is_some()
    }
}

impl<K> DotIndex<K> {
    /// Inserts `k` at `d`; returns the value it replaced.
    pub(crate) fn insert(&mut self, d: Dot, k: K) -> Option<K> {
        let old = self
            .replicas
            .get_or_insert_with(d.replica, SeqMap::default)
            .insert(d.seq, k);
        if old.is_none() {
            self.len += 1;
        }
        old
    }

    /// Removes `d`; returns its value.
    pub(crate) fn remove(&mut self, d: &Dot) -> Option<K> {
        let m = self.replicas.get_mut(&d.replica)?;
        let old = m.remove(d.seq)?;
        if m.is_empty() {
            self.replicas.remove(&d.replica);
        }
        self.len -= 1;
        Some(old)
    }

    /// The index of the pairs of two runs ascending by dot, in one pass: where both have a
    /// dot, the pair of `b` wins.
    pub(crate) fn merge_sorted(
        a: impl Iterator<Item = (Dot, K)>,
        b: impl Iterator<Item = (Dot, K)>,
    ) -> Self {
        let mut index = DotIndex::default();
        let (mut a, mut b) = (a.peekable(), b.peekable());
        loop {
            let order = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) => x.0.cmp(&y.0),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => break,
            };
            let next = match order {
                Ordering::Less => a.next(),
                Ordering::Greater => b.next(),
                Ordering::Equal => {
                    a.next();
                    b.next()
                }
            };
            if let Some((d, k)) = next {
                index.push_last(d, k);
            }
        }
        index
    }

    /// Takes both indexes apart and hands `f` their pairs in dot order, pairing equal dots
    /// (see [`SeqMap::merge`]).
    #[cfg(feature = "linear-merge")]
    pub(crate) fn merge(self, other: Self, mut f: impl FnMut(Merged<(Dot, K)>)) {
        let mut a = self.replicas.into_items().peekable();
        let mut b = other.replicas.into_items().peekable();
        loop {
            let order = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) => x.0.cmp(&y.0),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => return,
            };
            match order {
                Ordering::Less => {
                    if let Some((r, m)) = a.next() {
                        for (q, k) in m.into_pairs() {
                            f(Merged::Left((Dot::new(r, q), k)));
                        }
                    }
                }
                Ordering::Greater => {
                    if let Some((r, m)) = b.next() {
                        for (q, k) in m.into_pairs() {
                            f(Merged::Right((Dot::new(r, q), k)));
                        }
                    }
                }
                Ordering::Equal => {
                    if let (Some((r, x)), Some((_, y))) = (a.next(), b.next()) {
                        x.merge(y, |m| {
                            f(match m {
                                Merged::Left((q, k)) => Merged::Left((Dot::new(r, q), k)),
                                Merged::Right((q, k)) => Merged::Right((Dot::new(r, q), k)),
                                Merged::Both((q, k), (_, t)) => {
                                    Merged::Both((Dot::new(r, q), k), (Dot::new(r, q), t))
                                }
                            })
                        });
                    }
                }
            }
        }
    }
}
