//! [`DotMap`]: a dot store per key, with an index from each live dot to its key.

use alloc::vec::Vec;
use core::fmt;

use super::chunk_map::ChunkMap;
#[cfg(feature = "linear-merge")]
use super::chunk_map::Merged::{Both, Left, Right};
use super::dot_index::DotIndex;
use super::store::DotStore;
use crate::causal::{CausalContext, Dot, ReplicaId};

/// A map from keys to dot stores, the store of [`ORSet`](crate::ORSet) (`DotMap<E, DotSet>`)
/// and [`ORMap`](crate::ORMap). A key is present exactly while its store holds a dot.
///
/// Keys and their stores live in sorted chunks (up to 64 entries each); a second chunked map
/// from every live dot, at any depth, to its key lets joins, removes and catch-up find the
/// entries a set of dots touches without walking the map. So joining a delta of `k` dots
/// into a map of `n` keys costs O(k log n), whatever the nesting.
///
/// ```
/// use deltacrdt::causal::{DotMap, DotSet, DotStore};
/// use deltacrdt::{CausalContext, Dot, ReplicaId};
/// let d = Dot::new(ReplicaId(1), 1);
/// let mut m: DotMap<&str, DotSet> = DotMap::new();
/// let mut delta = DotMap::new();
/// delta.insert("milk", DotSet::single(d));
/// let theirs: CausalContext = [d].into_iter().collect();
/// m.join(&CausalContext::new(), delta, &theirs, &mut |_, _| {});
/// assert!(m.contains_dot(d));
/// assert_eq!(m.get(&"milk").map(|s| s.len()), Some(1));
/// ```
#[derive(Clone)]
pub struct DotMap<K, S> {
    pub(crate) entries: ChunkMap<K, S>,
    /// Every live dot, with the key whose store holds it (derived from `entries`).
    pub(crate) index: DotIndex<K>,
}

impl<K, S> Default for DotMap<K, S> {
    fn default() -> Self {
        DotMap {
            entries: ChunkMap::default(),
            index: DotIndex::default(),
        }
    }
}

impl<K: PartialEq, S: PartialEq> PartialEq for DotMap<K, S> {
    fn eq(&self, other: &Self) -> bool {
        // The index is derived from the entries.
        self.entries == other.entries
    }
}

impl<K: Eq, S: Eq> Eq for DotMap<K, S> {}

impl<K: fmt::Debug, S: fmt::Debug> fmt::Debug for DotMap<K, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.entries.iter()).finish()
    }
}

impl<K, S> DotMap<K, S> {
    /// The empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the map has no key.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The keys and their stores, in key order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&K, &S)> + DoubleEndedIterator + '_ {
        self.entries.iter()
    }

    /// The keys, in order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &K> + DoubleEndedIterator + '_ {
        self.entries.keys()
    }

    /// Number of live dots, at any depth.
    pub fn dot_count(&self) -> usize {
        self.index.len()
    }

    /// The live dots of `replica` numbered `first..=last`, ascending, with their keys.
    pub(crate) fn dots_in(
        &self,
        replica: ReplicaId,
        first: u64,
        last: u64,
    ) -> impl Iterator<Item = (Dot, &K)> {
        self.index
            .seqs_from(replica, first)
            .take_while(move |(q, _)| *q <= last)
            .map(move |(q, k)| (Dot::new(replica, q), k))
    }
}

impl<K: Ord + Clone, S: DotStore> DotMap<K, S> {
    /// The store under `key`.
    pub fn get<Q>(&self, key: &Q) -> Option<&S>
    where
        K: core::borrow::Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.entries.get_by(|k| k.borrow().cmp(key))
    }

    /// The key whose store holds the live dot `dot`.
    pub fn key_of(&self, dot: Dot) -> Option<&K> {
        self.index.get(&dot)
    }

    /// Sets the store under `key` (dropping the key if `store` is empty), keeping the index;
    /// returns the previous store. For building deltas and stores by hand: the store's dots
    /// must not be held under another key.
    pub fn insert(&mut self, key: K, store: S) -> Option<S> {
        let old = self.remove(&key);
        if !store.is_empty() {
            store.for_each_dot(&mut |d| {
                self.index.insert(d, key.clone());
            });
            self.entries.insert(key, store);
        }
        old
    }

    /// Removes `key` and its store, keeping the index.
    pub fn remove<Q>(&mut self, key: &Q) -> Option<S>
    where
        K: core::borrow::Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let old = self.entries.remove_by(|k| k.borrow().cmp(key))?;
        old.for_each_dot(&mut |d| {
            self.index.remove(&d);
        });
        Some(old)
    }

    /// The per-key join: touches only the keys `other` holds and the keys of ours whose dots
    /// `theirs` has seen: O(k log n) for a delta of k dots.
    fn join_keys(
        &mut self,
        ours: &CausalContext,
        other: Self,
        theirs: &CausalContext,
        flip: &mut impl FnMut(Dot, bool),
    ) -> bool {
        // Keys of ours holding a dot the other side has seen but holds elsewhere or not at all.
        let mut touched: Vec<K> = Vec::new();
        for (r, first, last) in theirs.runs() {
            for (d, k) in self.dots_in(r, first, last) {
                if other.index.get(&d) != Some(k) || !S::FLAT {
                    touched.push(k.clone());
                }
            }
        }
        let mut changed = false;
        // Keys the other side holds are joined below, with their store. The others are joined
        // with an empty store, which is what the other side holds there; a key listed twice
        // is joined twice, and the second time changes nothing.
        for key in touched {
            if !other.entries.contains_key(&key) {
                changed |= self.join_key(ours, key, S::default(), theirs, flip);
            }
        }
        for (key, theirs_here) in other.entries.into_pairs() {
            changed |= self.join_key(ours, key, theirs_here, theirs, flip);
        }
        changed
    }

    /// Joins `their_store` into the store under `key`, keeping the index.
    fn join_key(
        &mut self,
        ours: &CausalContext,
        key: K,
        their_store: S,
        theirs: &CausalContext,
        flip: &mut impl FnMut(Dot, bool),
    ) -> bool {
        let DotMap { entries, index } = self;
        let mut wrapped = |d: Dot, live: bool| {
            if live {
                index.insert(d, key.clone());
            } else {
                index.remove(&d);
            }
            flip(d, live);
        };
        match entries.get_mut(&key) {
            Some(mine) => {
                let changed = mine.join(ours, their_store, theirs, &mut wrapped);
                if mine.is_empty() {
                    entries.remove(&key);
                }
                changed
            }
            None => {
                let mut mine = S::default();
                let changed = mine.join(ours, their_store, theirs, &mut wrapped);
                if !mine.is_empty() {
                    entries.insert(key, mine);
                }
                changed
            }
        }
    }

    /// Join by a linear merge of the two key maps and, separately, of the two dot indexes,
    /// for inputs of comparable size: O(n + m) and no clone of a key. Only for flat stores,
    /// whose join keeps every dot both sides hold, so that the index merge and the key merge
    /// apply the same rule.
    #[cfg(feature = "linear-merge")]
    fn join_merge(
        &mut self,
        ours: &CausalContext,
        other: Self,
        theirs: &CausalContext,
        flip: &mut impl FnMut(Dot, bool),
    ) -> bool {
        let DotMap {
            entries: their_entries,
            index: their_index,
        } = other;
        let mut changed = false;

        // The dots come in ascending order: each context is looked up in one walk.
        let mut theirs_seen = theirs.ascending_lookup();
        let mut ours_seen = ours.ascending_lookup();
        let mine = core::mem::take(&mut self.index);
        self.index = mine.merge(their_index, |item| match item {
            Both((_, k), (_, t)) if k == t => Some(k),
            // The same dot under two keys: only a forged input can say so. Both sides have
            // seen it, and neither keeps it (the key merge drops it too).
            Both((d, _), _) => {
                flip(d, false);
                changed = true;
                None
            }
            Left((d, k)) if !theirs_seen.contains(d) => Some(k),
            Left((d, _)) => {
                flip(d, false);
                changed = true;
                None
            }
            Right((d, k)) if !ours_seen.contains(d) => {
                flip(d, true);
                changed = true;
                Some(k)
            }
            Right(_) => None,
        });

        let mut entries = ChunkMap::default();
        let mine = core::mem::take(&mut self.entries);
        // The index merge has reported every flip; the per-key joins repeat them.
        let mut quiet = |_: Dot, _: bool| {};
        mine.merge(their_entries, |item| {
            let (key, mut store) = match item {
                Both((k, mut s), (_, t)) => {
                    s.join(ours, t, theirs, &mut quiet);
                    (k, s)
                }
                Left((k, mut s)) => {
                    s.join(ours, S::default(), theirs, &mut quiet);
                    (k, s)
                }
                Right((k, t)) => {
                    let mut s = S::default();
                    s.join(ours, t, theirs, &mut quiet);
                    (k, s)
                }
            };
            if !DotStore::is_empty(&store) {
                entries.push_last(key, core::mem::take(&mut store));
            }
        });
        self.entries = entries;
        changed
    }
}

impl<K: Ord + Clone, S: DotStore> DotStore for DotMap<K, S> {
    fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn contains_dot(&self, dot: Dot) -> bool {
        self.index.contains_key(&dot)
    }

    fn for_each_dot(&self, f: &mut impl FnMut(Dot)) {
        self.index.dots().for_each(f);
    }

    fn live_in(&self, replica: ReplicaId, first: u64, last: u64, f: &mut impl FnMut(u64)) {
        for (d, _) in self.dots_in(replica, first, last) {
            f(d.seq);
        }
    }

    fn copy_dot(&self, dot: Dot, out: &mut Self) {
        let Some(key) = self.index.get(&dot) else {
            return;
        };
        let Some(store) = self.entries.get(key) else {
            return;
        };
        let target = out.entries.get_or_insert_with(key.clone(), S::default);
        store.copy_dot(dot, target);
        out.index.insert(dot, key.clone());
    }

    fn join(
        &mut self,
        ours: &CausalContext,
        other: Self,
        theirs: &CausalContext,
        flip: &mut impl FnMut(Dot, bool),
    ) -> bool {
        #[cfg(feature = "linear-merge")]
        if S::FLAT && other.len() >= 32 && other.len() * 8 >= self.len() {
            return self.join_merge(ours, other, theirs, flip);
        }
        self.join_keys(ours, other, theirs, flip)
    }

    fn collision(&self, other: &Self) -> Option<Dot> {
        let (small, large) = if self.index.len() <= other.index.len() {
            (self, other)
        } else {
            (other, self)
        };
        let mut inner_checked: Option<&K> = None;
        for (d, k) in small.index.iter() {
            match large.index.get(&d) {
                Some(l) if l != k => return Some(d),
                Some(_) if !S::FLAT || inner_checked != Some(k) => {
                    // The same key holds the dot on both sides: its contents may still differ.
                    if let (Some(a), Some(b)) = (small.entries.get(k), large.entries.get(k)) {
                        if let Some(c) = a.collision(b) {
                            return Some(c);
                        }
                    }
                    inner_checked = Some(k);
                }
                _ => {}
            }
        }
        None
    }

    const FLAT: bool = false;

    const TRACK_DIGESTS: bool = true;
}
