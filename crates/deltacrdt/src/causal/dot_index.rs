//! [`DotIndex`]: a map from live dots to keys, kept per replica.
//!
//! The index of a [`DotMap`](crate::causal::DotMap) names, for every live dot, the key whose
//! store holds it. Keyed by whole dots it costs 16 bytes of dot per entry; kept as one sorted
//! map of sequence numbers per replica ([`SeqMap`], 32-bit offsets in chunks) it costs 4, and
//! a map has few replicas.

use alloc::boxed::Box;
use core::cmp::Ordering;

#[cfg(feature = "linear-merge")]
use super::chunk_map::Merged;
use super::seq_map::{Builder, SeqMap};
use super::vec_map::VecMap;
use crate::causal::{Dot, ReplicaId};

/// A sorted map from dots to `K`, iterated in dot order. One dot (the index of every
/// mutator's delta) is kept inline; several are boxed per replica ([`Replicas`]), so the
/// index of a one-element delta is small to build, move and drop and allocates nothing.
#[derive(Clone)]
pub(crate) struct DotIndex<K> {
    repr: Repr<K>,
}

#[derive(Clone)]
enum Repr<K> {
    Empty,
    One(Dot, K),
    /// Never empty.
    Many(Box<Replicas<K>>),
}

impl<K> Default for DotIndex<K> {
    fn default() -> Self {
        DotIndex { repr: Repr::Empty }
    }
}

impl<K> DotIndex<K> {
    /// The index of one pair.
    pub(crate) fn singleton(d: Dot, k: K) -> Self {
        DotIndex {
            repr: Repr::One(d, k),
        }
    }

    /// Number of dots.
    pub(crate) fn len(&self) -> usize {
        match &self.repr {
            Repr::Empty => 0,
            Repr::One(..) => 1,
            Repr::Many(m) => m.len(),
        }
    }

    fn one(&self) -> Option<(Dot, &K)> {
        match &self.repr {
            Repr::One(d, k) => Some((*d, k)),
            _ => None,
        }
    }

    fn many(&self) -> Option<&Replicas<K>> {
        match &self.repr {
            Repr::Many(m) => Some(m),
            _ => None,
        }
    }

    /// The dots and their keys, in dot order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (Dot, &K)> + '_ {
        self.one()
            .into_iter()
            .chain(self.many().into_iter().flat_map(Replicas::iter))
    }

    /// The dots, ascending.
    pub(crate) fn dots(&self) -> impl Iterator<Item = Dot> + '_ {
        self.iter().map(|(d, _)| d)
    }

    /// Takes the pairs out, in dot order.
    pub(crate) fn into_pairs(self) -> impl Iterator<Item = (Dot, K)> {
        let (one, many) = match self.repr {
            Repr::Empty => (None, None),
            Repr::One(d, k) => (Some((d, k)), None),
            Repr::Many(m) => (None, Some(m)),
        };
        one.into_iter()
            .chain(many.into_iter().flat_map(|m| m.into_pairs()))
    }

    /// The index as per-replica maps (for the linear merge).
    #[cfg(feature = "linear-merge")]
    fn into_replicas(self) -> Replicas<K> {
        match self.repr {
            Repr::Empty => Replicas::default(),
            Repr::One(d, k) => {
                let mut one = Builder::new();
                one.push(d.seq, k);
                let mut m = Replicas::default();
                m.push_replica(d.replica, one.finish());
                m
            }
            Repr::Many(m) => *m,
        }
    }

    /// The index of `pairs`, ascending by dot with no dot twice, built in one pass.
    pub(crate) fn from_ascending(pairs: impl IntoIterator<Item = (Dot, K)>) -> Self {
        let mut b = Ascending::new();
        pairs.into_iter().for_each(|(d, k)| b.push(d, k));
        b.finish()
    }

    /// The pairs of `replica` with sequence numbers from `first` on, ascending.
    pub(crate) fn seqs_from(
        &self,
        replica: ReplicaId,
        first: u64,
    ) -> impl Iterator<Item = (u64, &K)> {
        self.one()
            .filter(move |(d, _)| d.replica == replica && d.seq >= first)
            .map(|(d, k)| (d.seq, k))
            .into_iter()
            .chain(
                self.many()
                    .into_iter()
                    .flat_map(move |m| m.seqs_from(replica, first)),
            )
    }

    /// The value at `d`.
    pub(crate) fn get(&self, d: &Dot) -> Option<&K> {
        match &self.repr {
            Repr::Empty => None,
            Repr::One(e, k) => (e == d).then_some(k),
            Repr::Many(m) => m.get(d),
        }
    }

    /// Whether `d` is in the index.
    pub(crate) fn contains_key(&self, d: &Dot) -> bool {
        self.get(d).is_some()
    }

    /// Inserts `k` at `d`; returns the value it replaced.
    pub(crate) fn insert(&mut self, d: Dot, k: K) -> Option<K> {
        match &mut self.repr {
            Repr::Empty => {
                self.repr = Repr::One(d, k);
                None
            }
            Repr::One(e, v) if *e == d => Some(core::mem::replace(v, k)),
            Repr::One(..) => {
                let Repr::One(d0, k0) = core::mem::replace(&mut self.repr, Repr::Empty) else {
                    unreachable!()
                };
                let mut m = Replicas::default();
                m.insert(d0, k0);
                m.insert(d, k);
                self.repr = Repr::Many(Box::new(m));
                None
            }
            Repr::Many(m) => m.insert(d, k),
        }
    }

    /// Removes `d`; returns its value.
    pub(crate) fn remove(&mut self, d: &Dot) -> Option<K> {
        match &mut self.repr {
            Repr::Empty => None,
            Repr::One(e, _) if e == d => match core::mem::replace(&mut self.repr, Repr::Empty) {
                Repr::One(_, k) => Some(k),
                _ => unreachable!(),
            },
            Repr::One(..) => None,
            Repr::Many(m) => {
                let old = m.remove(d);
                if m.len() == 0 {
                    self.repr = Repr::Empty;
                }
                old
            }
        }
    }

    /// The index of the pairs of two runs ascending by dot, in one pass: where both have a
    /// dot, the pair of `b` wins.
    pub(crate) fn merge_sorted(
        a: impl Iterator<Item = (Dot, K)>,
        b: impl Iterator<Item = (Dot, K)>,
    ) -> Self {
        let mut index = Ascending::new();
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
                index.push(d, k);
            }
        }
        index.finish()
    }

    /// The index of the per-replica maps `m`, in its smallest representation.
    fn from_replicas(m: Replicas<K>) -> Self {
        let repr = match m.len {
            0 => Repr::Empty,
            1 => match m.replicas.into_items().next() {
                Some((r, seqs)) => match seqs.into_first() {
                    Some((q, k)) => Repr::One(Dot::new(r, q), k),
                    None => Repr::Empty,
                },
                None => Repr::Empty,
            },
            _ => Repr::Many(Box::new(m)),
        };
        DotIndex { repr }
    }

    /// Takes both indexes apart and hands `f` their pairs in dot order, pairing equal dots
    /// (see [`SeqMap::merge`]); returns the index of the dots for which `f` returned a key.
    #[cfg(feature = "linear-merge")]
    pub(crate) fn merge(self, other: Self, f: impl FnMut(Merged<(Dot, K)>) -> Option<K>) -> Self {
        self.into_replicas().merge(other.into_replicas(), f)
    }
}

/// Builds an index from pairs in any order (a decoder's), cheaply while they come ascending,
/// as a decoded map of one writer's keys does: those go straight into per-replica builders,
/// with no look at what was built. From the first pair out of order on, pairs are inserted,
/// so a repeated dot is still found at once. Without the `linear-merge` feature (size-bound
/// builds) every pair is inserted.
pub(crate) struct IndexBuilder<K> {
    index: DotIndex<K>,
    /// While the pairs come ascending: their index so far and the last dot.
    #[cfg(feature = "linear-merge")]
    run: Option<(Ascending<K>, Option<Dot>)>,
}

impl<K> IndexBuilder<K> {
    pub(crate) fn new() -> Self {
        IndexBuilder {
            index: DotIndex::default(),
            #[cfg(feature = "linear-merge")]
            run: Some((Ascending::new(), None)),
        }
    }

    /// Adds a pair; false (and nothing changed) if `d` was added before.
    pub(crate) fn insert(&mut self, d: Dot, k: K) -> bool {
        #[cfg(feature = "linear-merge")]
        if let Some((run, last)) = &mut self.run {
            if last.is_none_or(|l| l < d) {
                *last = Some(d);
                run.push(d, k);
                return true;
            }
            if let Some((run, _)) = self.run.take() {
                self.index = run.finish();
            }
        }
        if self.index.contains_key(&d) {
            return false;
        }
        self.index.insert(d, k);
        true
    }

    /// The index of the pairs added.
    pub(crate) fn finish(self) -> DotIndex<K> {
        #[cfg(feature = "linear-merge")]
        if let Some((run, _)) = self.run {
            return run.finish();
        }
        self.index
    }
}

/// Builds an index from pairs pushed in ascending dot order, straight into per-replica
/// [`Builder`]s (no look at what was built): the one way an index is made from a sorted run
/// (a linear merge, a decoder's ascending dots, a batch of adds).
pub(crate) struct Ascending<K> {
    built: Replicas<K>,
    open: Option<(ReplicaId, Builder<K>)>,
}

impl<K> Ascending<K> {
    pub(crate) fn new() -> Self {
        Ascending {
            built: Replicas::default(),
            open: None,
        }
    }

    /// Appends a pair whose dot is greater than every dot pushed before.
    pub(crate) fn push(&mut self, d: Dot, k: K) {
        match &mut self.open {
            Some((r, b)) if *r == d.replica => b.push(d.seq, k),
            open => {
                let mut b = Builder::new();
                b.push(d.seq, k);
                if let Some((r, done)) = open.replace((d.replica, b)) {
                    self.built.push_replica(r, done.finish());
                }
            }
        }
    }

    /// The index of the pairs pushed.
    pub(crate) fn finish(self) -> DotIndex<K> {
        let Ascending { mut built, open } = self;
        if let Some((r, b)) = open {
            built.push_replica(r, b.finish());
        }
        DotIndex::from_replicas(built)
    }
}

/// The index of several dots: per replica (ascending), a [`SeqMap`] from sequence numbers to
/// keys. No replica's map is empty. Iteration is in dot order.
#[derive(Clone)]
struct Replicas<K> {
    replicas: VecMap<ReplicaId, SeqMap<K>>,
    len: usize,
}

impl<K> Default for Replicas<K> {
    fn default() -> Self {
        Replicas {
            replicas: VecMap::new(),
            len: 0,
        }
    }
}

impl<K> Replicas<K> {
    /// Number of dots.
    fn len(&self) -> usize {
        self.len
    }

    /// The dots and their keys, in dot order.
    fn iter(&self) -> impl Iterator<Item = (Dot, &K)> + '_ {
        self.replicas
            .iter()
            .flat_map(|(r, m)| m.iter().map(move |(q, k)| (Dot::new(*r, q), k)))
    }

    /// Takes the pairs out, in dot order.
    fn into_pairs(self) -> impl Iterator<Item = (Dot, K)> {
        self.replicas
            .into_items()
            .flat_map(|(r, m)| m.into_pairs().map(move |(q, k)| (Dot::new(r, q), k)))
    }

    /// Appends the map of `replica`'s dots (nothing if it is empty); `replica` is greater
    /// than every replica of the map.
    fn push_replica(&mut self, replica: ReplicaId, m: SeqMap<K>) {
        if !m.is_empty() {
            self.len += m.len();
            self.replicas.push_last(replica, m);
        }
    }

    /// The pairs of `replica` with sequence numbers from `first` on, ascending.
    fn seqs_from(&self, replica: ReplicaId, first: u64) -> impl Iterator<Item = (u64, &K)> {
        self.replicas
            .get(&replica)
            .into_iter()
            .flat_map(move |m| m.iter_from(first))
    }

    /// The value at `d`.
    fn get(&self, d: &Dot) -> Option<&K> {
        self.replicas.get(&d.replica)?.get(d.seq)
    }
}

impl<K> Replicas<K> {
    /// Inserts `k` at `d`; returns the value it replaced.
    fn insert(&mut self, d: Dot, k: K) -> Option<K> {
        // The last replica first: a map's dots mostly come from one replica, in order.
        let old = match self.replicas.last_mut() {
            Some((r, m)) if *r == d.replica => m.insert(d.seq, k),
            _ => self
                .replicas
                .get_or_insert_with(d.replica, SeqMap::default)
                .insert(d.seq, k),
        };
        if old.is_none() {
            self.len += 1;
        }
        old
    }

    /// Removes `d`; returns its value.
    fn remove(&mut self, d: &Dot) -> Option<K> {
        let m = self.replicas.get_mut(&d.replica)?;
        let old = m.remove(d.seq)?;
        if m.is_empty() {
            self.replicas.remove(&d.replica);
        }
        self.len -= 1;
        Some(old)
    }

    /// Takes both maps apart and hands `f` their pairs in dot order, pairing equal dots;
    /// returns the map of the dots for which `f` returned a key, built per replica as it goes.
    #[cfg(feature = "linear-merge")]
    fn merge(self, other: Self, mut f: impl FnMut(Merged<(Dot, K)>) -> Option<K>) -> DotIndex<K> {
        let mut out = Ascending::new();
        let mut a = self.replicas.into_items().peekable();
        let mut b = other.replicas.into_items().peekable();
        loop {
            let order = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) => x.0.cmp(&y.0),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => return out.finish(),
            };
            match order {
                Ordering::Less | Ordering::Greater => {
                    let (side, left) = match order {
                        Ordering::Less => (&mut a, true),
                        _ => (&mut b, false),
                    };
                    let Some((r, m)) = side.next() else {
                        return out.finish();
                    };
                    for (q, k) in m.into_pairs() {
                        let d = Dot::new(r, q);
                        let item = if left {
                            Merged::Left((d, k))
                        } else {
                            Merged::Right((d, k))
                        };
                        if let Some(k) = f(item) {
                            out.push(d, k);
                        }
                    }
                }
                Ordering::Equal => {
                    let (Some((r, x)), Some((_, y))) = (a.next(), b.next()) else {
                        return out.finish();
                    };
                    x.merge(y, |m| {
                        let (d, item) = match m {
                            Merged::Left((q, k)) => {
                                let d = Dot::new(r, q);
                                (d, Merged::Left((d, k)))
                            }
                            Merged::Right((q, k)) => {
                                let d = Dot::new(r, q);
                                (d, Merged::Right((d, k)))
                            }
                            Merged::Both((q, k), (_, t)) => {
                                let d = Dot::new(r, q);
                                (d, Merged::Both((d, k), (d, t)))
                            }
                        };
                        if let Some(k) = f(item) {
                            out.push(d, k);
                        }
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn dot(r: u8, q: u8) -> Dot {
        Dot::new(ReplicaId(u64::from(r % 4)), u64::from(q) + 1)
    }

    #[test]
    fn one_dot_stays_inline_and_a_second_moves_to_the_replica_maps() {
        let mut x = DotIndex::singleton(dot(1, 5), 'a');
        assert!(matches!(x.repr, Repr::One(..)));
        assert_eq!(x.insert(dot(1, 5), 'b'), Some('a'));
        assert!(matches!(x.repr, Repr::One(..)));
        assert_eq!(x.insert(dot(2, 1), 'c'), None);
        assert!(matches!(x.repr, Repr::Many(_)));
        assert_eq!(x.len(), 2);
        assert_eq!(x.remove(&dot(1, 5)), Some('b'));
        assert_eq!(x.remove(&dot(2, 1)), Some('c'));
        assert!(matches!(x.repr, Repr::Empty));
        assert_eq!(x.len(), 0);
    }

    quickcheck::quickcheck! {
        /// Inserts and removes, each checked against a sorted vector of pairs: every reader
        /// (`len`, `get`, `iter`, `seqs_from`, `into_pairs`) agrees with the model.
        fn inserts_and_removes_agree_with_a_sorted_vector(ops: Vec<(bool, u8, u8, u8)>) -> bool {
            let mut x = DotIndex::default();
            let mut model: alloc::collections::BTreeMap<Dot, u8> = alloc::collections::BTreeMap::new();
            for (insert, r, q, v) in ops {
                let d = dot(r, q % 16);
                let (got, want) = if insert {
                    (x.insert(d, v), model.insert(d, v))
                } else {
                    (x.remove(&d), model.remove(&d))
                };
                if got != want || x.len() != model.len() {
                    return false;
                }
            }
            let pairs: Vec<(Dot, u8)> = model.iter().map(|(d, v)| (*d, *v)).collect();
            let by_replica = (0..4u64).all(|r| {
                let want: Vec<(u64, u8)> = pairs
                    .iter()
                    .filter(|(d, _)| d.replica == ReplicaId(r) && d.seq >= 5)
                    .map(|(d, v)| (d.seq, *v))
                    .collect();
                x.seqs_from(ReplicaId(r), 5)
                    .map(|(q, v)| (q, *v))
                    .collect::<Vec<_>>()
                    == want
            });
            x.iter().map(|(d, v)| (d, *v)).collect::<Vec<_>>() == pairs
                && pairs.iter().all(|(d, v)| x.get(d) == Some(v))
                && by_replica
                && x.into_pairs().collect::<Vec<_>>() == pairs
        }
    }

    quickcheck::quickcheck! {
        /// An index built from an ascending run has every pair, in order, in its smallest
        /// representation (several replicas, chunk-sized runs and single dots included).
        fn an_index_from_an_ascending_run_agrees_with_it(xs: Vec<(u8, u8)>) -> bool {
            let model: alloc::collections::BTreeMap<Dot, u8> =
                xs.iter().map(|(r, q)| (dot(*r, *q), *q)).collect();
            let x = DotIndex::from_ascending(model.iter().map(|(d, v)| (*d, *v)));
            let repr_ok = match model.len() {
                0 => matches!(x.repr, Repr::Empty),
                1 => matches!(x.repr, Repr::One(..)),
                _ => matches!(x.repr, Repr::Many(_)),
            };
            repr_ok
                && x.len() == model.len()
                && x.iter().map(|(d, v)| (d, *v)).eq(model.iter().map(|(d, v)| (*d, *v)))
                && model.iter().all(|(d, v)| x.get(d) == Some(v))
        }
    }

    quickcheck::quickcheck! {
        /// The decoders' builder: pairs in any order (an ascending run first, as a decoder
        /// sees them, then anything), a repeated dot refused when it comes, and the index built
        /// the same as by inserts.
        fn the_builder_agrees_with_a_sorted_map(run: u8, rest: Vec<(u8, u8)>) -> bool {
            let mut pairs: Vec<(Dot, u8)> = (0..run % 80).map(|q| (dot(1, q), q)).collect();
            pairs.extend(rest.iter().map(|(r, q)| (dot(*r, q % 40), *q)));
            let mut b = IndexBuilder::new();
            let mut model: alloc::collections::BTreeMap<Dot, u8> = alloc::collections::BTreeMap::new();
            for (d, v) in pairs {
                let fresh = !model.contains_key(&d);
                if fresh {
                    model.insert(d, v);
                }
                if b.insert(d, v) != fresh {
                    return false;
                }
            }
            let x = b.finish();
            x.len() == model.len()
                && x.iter().map(|(d, v)| (d, *v)).eq(model.iter().map(|(d, v)| (*d, *v)))
                && (model.len() != 1 || matches!(x.repr, Repr::One(..)))
        }
    }

    #[cfg(feature = "linear-merge")]
    quickcheck::quickcheck! {
        /// The linear merge hands every pair of both sides over once, in dot order, pairing equal
        /// dots, whatever each side's representation (empty, one dot, several).
        fn the_merge_visits_both_sides_in_dot_order(a: Vec<(u8, u8)>, b: Vec<(u8, u8)>) -> bool {
            let build = |v: &[(u8, u8)]| {
                let mut x = DotIndex::default();
                let mut m = alloc::collections::BTreeMap::new();
                for (r, q) in v {
                    x.insert(dot(*r, *q), *q);
                    m.insert(dot(*r, *q), *q);
                }
                (x, m)
            };
            let ((x, mx), (y, my)) = (build(&a), build(&b));
            let mut got = Vec::new();
            // Keeps every other pair, so the output's build is checked too.
            let kept = x.merge(y, |m| {
                let (d, v, tag) = match m {
                    Merged::Left((d, v)) => (d, v, 1u8),
                    Merged::Right((d, v)) => (d, v, 2),
                    Merged::Both((d, v), (e, _)) if d == e => (d, v, 3),
                    Merged::Both((_, v), _) => (dot(0, 0), v, 0),
                };
                got.push((d, tag));
                (got.len() % 2 == 0).then_some(v)
            });
            let want_kept: Vec<(Dot, u8)> = got
                .iter()
                .enumerate()
                .filter(|(i, _)| (i + 1) % 2 == 0)
                .map(|(_, (d, _))| (*d, mx.get(d).or(my.get(d)).copied().unwrap_or(0)))
                .collect();
            if kept.len() != want_kept.len()
                || kept.iter().map(|(d, v)| (d, *v)).ne(want_kept.iter().copied())
            {
                return false;
            }
            let mut keys: Vec<Dot> = mx.keys().chain(my.keys()).copied().collect();
            keys.sort();
            keys.dedup();
            let want: Vec<(Dot, u8)> = keys
                .into_iter()
                .map(|d| {
                    (
                        d,
                        u8::from(mx.contains_key(&d)) + 2 * u8::from(my.contains_key(&d)),
                    )
                })
                .collect();
            got == want
        }
    }
}
