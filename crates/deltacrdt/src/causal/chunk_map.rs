//! An ordered map stored as a sequence of sorted chunks: the compact, cache-friendly storage
//! of [`DotMap`](crate::causal::DotMap), behind [`ORSet`](crate::ORSet) and
//! [`ORMap`](crate::ORMap).
//!
//! A chunk is a `Vec<(K, V)>` of at most [`CHUNK`] pairs, and every key of a chunk is smaller
//! than every key of the next one. Compared with a `BTreeMap` this keeps the pairs contiguous
//! (iteration and merges walk memory in order), packs a set built by ascending inserts into
//! full chunks (a `BTreeMap` leaves its nodes about half full), and needs one small
//! allocation for a one-entry map, which is what every delta of a mutator is.
//!
//! Costs: lookups are two binary searches; an insert or remove moves at most `CHUNK` pairs
//! inside one chunk, plus, once per `CHUNK / 2` inserts, one chunk pointer in the directory.

use alloc::vec::Vec;
use core::cmp::Ordering;
use core::fmt;

use smallvec::SmallVec;

/// Most pairs a chunk holds.
const CHUNK: usize = 64;

/// The chunks; one inline, so a map of up to [`CHUNK`] pairs makes a single allocation.
type Chunks<K, V> = SmallVec<[Vec<(K, V)>; 1]>;

/// A sorted map from `K` to `V` in chunks (see the module docs). No chunk is empty.
#[derive(Clone)]
pub(crate) struct ChunkMap<K, V> {
    chunks: Chunks<K, V>,
    len: usize,
}

impl<K, V> Default for ChunkMap<K, V> {
    fn default() -> Self {
        ChunkMap {
            chunks: SmallVec::new(),
            len: 0,
        }
    }
}

impl<K: PartialEq, V: PartialEq> PartialEq for ChunkMap<K, V> {
    fn eq(&self, other: &Self) -> bool {
        // The chunk boundaries depend on history; only the pairs count.
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl<K: Eq, V: Eq> Eq for ChunkMap<K, V> {}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for ChunkMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K, V> ChunkMap<K, V> {
    /// Number of pairs.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether the map has no pairs.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The pairs in ascending key order.
    pub(crate) fn iter(&self) -> Iter<'_, K, V> {
        Iter {
            chunks: &self.chunks,
            front: (0, 0),
            back: (self.chunks.len(), 0),
            left: self.len,
        }
    }

    /// The keys in ascending order.
    pub(crate) fn keys(&self) -> impl ExactSizeIterator<Item = &K> + DoubleEndedIterator + '_ {
        self.iter().map(|(k, _)| k)
    }

    /// The pairs from the first whose key is not below `start` by `cmp` (which says how a key
    /// compares with `start`), in ascending order.
    #[cfg(test)]
    pub(crate) fn iter_from(&self, cmp: impl Fn(&K) -> Ordering) -> Iter<'_, K, V> {
        let c = self
            .chunks
            .partition_point(|ch| ch.last().is_some_and(|(k, _)| cmp(k) == Ordering::Less));
        let mut front = (c, 0);
        let mut skipped = 0;
        for ch in &self.chunks[..c] {
            skipped += ch.len();
        }
        if let Some(ch) = self.chunks.get(c) {
            let i = ch.partition_point(|(k, _)| cmp(k) == Ordering::Less);
            front.1 = i;
            skipped += i;
        }
        Iter {
            chunks: &self.chunks,
            front,
            back: (self.chunks.len(), 0),
            left: self.len - skipped,
        }
    }

    /// Takes the pairs out, in ascending key order.
    pub(crate) fn into_pairs(self) -> impl Iterator<Item = (K, V)> {
        self.chunks.into_iter().flatten()
    }

    /// Appends a pair whose key is greater than every key of the map.
    #[inline]
    pub(crate) fn push_last(&mut self, k: K, v: V) {
        match self.chunks.last_mut() {
            Some(ch) if ch.len() < CHUNK => ch.push((k, v)),
            _ => {
                let mut ch = Vec::with_capacity(if self.chunks.is_empty() { 1 } else { CHUNK });
                ch.push((k, v));
                self.chunks.push(ch);
            }
        }
        self.len += 1;
    }

    /// The greatest pair.
    pub(crate) fn last(&self) -> Option<&(K, V)> {
        self.chunks.last().and_then(|ch| ch.last())
    }

    /// Where `cmp` (how a key compares with the one sought) finds its key: the chunk, and the
    /// position in it (`Ok` if present, `Err` where it would go).
    fn locate(&self, cmp: impl Fn(&K) -> Ordering) -> (usize, Result<usize, usize>) {
        // Keys past the end (ascending inserts, a replica's next dot) skip the searches.
        if let Some(last) = self.chunks.last() {
            if last.last().is_some_and(|(k, _)| cmp(k) == Ordering::Less) {
                return (self.chunks.len() - 1, Err(last.len()));
            }
        }
        let c = self
            .chunks
            .partition_point(|ch| ch.last().is_some_and(|(k, _)| cmp(k) == Ordering::Less));
        // Past the last chunk: the key goes at the end of the last one.
        let c = c.min(self.chunks.len().saturating_sub(1));
        match self.chunks.get(c) {
            Some(ch) => (c, ch.binary_search_by(|(k, _)| cmp(k))),
            None => (0, Err(0)),
        }
    }

    /// Inserts `v` at `k` (located by `locate`); returns the value it replaced and where the
    /// pair now is.
    fn insert_at(
        &mut self,
        c: usize,
        found: Result<usize, usize>,
        k: K,
        v: V,
    ) -> (Option<V>, (usize, usize)) {
        let i = match found {
            Ok(i) => {
                return (
                    Some(core::mem::replace(&mut self.chunks[c][i].1, v)),
                    (c, i),
                )
            }
            Err(i) => i,
        };
        self.len += 1;
        if self.chunks.is_empty() {
            self.chunks.push(alloc::vec![(k, v)]);
            return (None, (0, 0));
        }
        if self.chunks[c].len() < CHUNK {
            self.chunks[c].insert(i, (k, v));
            return (None, (c, i));
        }
        if c + 1 == self.chunks.len() && i == CHUNK {
            // Appending past a full last chunk (ascending inserts): start a new one, so the
            // full chunk stays full.
            let mut ch = Vec::with_capacity(CHUNK);
            ch.push((k, v));
            self.chunks.push(ch);
            return (None, (c + 1, 0));
        }
        let mut upper = Vec::with_capacity(CHUNK);
        upper.extend(self.chunks[c].drain(CHUNK / 2..));
        let at = if i <= CHUNK / 2 {
            self.chunks[c].insert(i, (k, v));
            (c, i)
        } else {
            upper.insert(i - CHUNK / 2, (k, v));
            (c + 1, i - CHUNK / 2)
        };
        self.chunks.insert(c + 1, upper);
        (None, at)
    }

    /// Removes the pair at position `i` of chunk `c`; keeps chunks non-empty and merges a
    /// chunk into a neighbour when both together fill at most half a chunk.
    fn remove_at(&mut self, c: usize, i: usize) -> (K, V) {
        let pair = self.chunks[c].remove(i);
        self.len -= 1;
        if self.chunks[c].is_empty() {
            self.chunks.remove(c);
        } else if c + 1 < self.chunks.len()
            && self.chunks[c].len() + self.chunks[c + 1].len() <= CHUNK / 2
        {
            let next = self.chunks.remove(c + 1);
            self.chunks[c].extend(next);
        } else if c > 0 && self.chunks[c - 1].len() + self.chunks[c].len() <= CHUNK / 2 {
            let this = self.chunks.remove(c);
            self.chunks[c - 1].extend(this);
        }
        pair
    }
}

impl<K: Ord, V> ChunkMap<K, V> {
    /// A map of one pair.
    pub(crate) fn singleton(k: K, v: V) -> Self {
        let mut map = ChunkMap::default();
        map.push_last(k, v);
        map
    }

    /// The map of the pairs of two ascending runs, in one pass: where both have a key, the
    /// pair of `b` wins. The bulk path of inserts, where inserting one pair at a time into
    /// the middle of a large map would move its chunk directory at every split.
    pub(crate) fn merge_sorted(
        a: impl Iterator<Item = (K, V)>,
        b: impl Iterator<Item = (K, V)>,
    ) -> Self {
        let mut map = ChunkMap::default();
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
            if let Some((k, v)) = next {
                debug_assert!(map.last().is_none_or(|(l, _)| *l < k), "ascending runs");
                map.push_last(k, v);
            }
        }
        map
    }

    /// The value at `k`.
    pub(crate) fn get(&self, k: &K) -> Option<&V> {
        match self.locate(|x| x.cmp(k)) {
            (c, Ok(i)) => Some(&self.chunks[c][i].1),
            _ => None,
        }
    }

    /// The value at `k`, mutably.
    pub(crate) fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        match self.locate(|x| x.cmp(k)) {
            (c, Ok(i)) => Some(&mut self.chunks[c][i].1),
            _ => None,
        }
    }

    /// Whether `k` is a key.
    pub(crate) fn contains_key(&self, k: &K) -> bool {
        self.get(k).is_some()
    }

    /// Inserts `v` at `k`; returns the value it replaced.
    pub(crate) fn insert(&mut self, k: K, v: V) -> Option<V> {
        let (c, found) = self.locate(|x| x.cmp(&k));
        self.insert_at(c, found, k, v).0
    }

    /// The value at `k`, inserting `make()` first if `k` is absent.
    pub(crate) fn get_or_insert_with(&mut self, k: K, make: impl FnOnce() -> V) -> &mut V {
        let (c, i) = match self.locate(|x| x.cmp(&k)) {
            (c, Ok(i)) => (c, i),
            (c, found) => self.insert_at(c, found, k, make()).1,
        };
        &mut self.chunks[c][i].1
    }

    /// Finds `k` once for an update-or-insert: `Ok` with its value, or `Err` with a vacant
    /// slot that inserts there without searching again.
    pub(crate) fn entry(&mut self, k: &K) -> Result<&mut V, Vacant<'_, K, V>> {
        match self.locate(|x| x.cmp(k)) {
            (c, Ok(i)) => Ok(&mut self.chunks[c][i].1),
            (c, Err(i)) => Err(Vacant { map: self, c, i }),
        }
    }

    /// The value whose key `cmp` finds (a lookup by a borrowed form of the key).
    pub(crate) fn get_by(&self, cmp: impl Fn(&K) -> Ordering) -> Option<&V> {
        match self.locate(cmp) {
            (c, Ok(i)) => Some(&self.chunks[c][i].1),
            _ => None,
        }
    }

    /// Removes the pair whose key `cmp` finds; returns its value.
    pub(crate) fn remove_by(&mut self, cmp: impl Fn(&K) -> Ordering) -> Option<V> {
        match self.locate(cmp) {
            (c, Ok(i)) => Some(self.remove_at(c, i).1),
            _ => None,
        }
    }

    /// Removes `k`; returns its value.
    pub(crate) fn remove(&mut self, k: &K) -> Option<V> {
        match self.locate(|x| x.cmp(k)) {
            (c, Ok(i)) => Some(self.remove_at(c, i).1),
            _ => None,
        }
    }
}

/// Where an absent key goes (see [`ChunkMap::entry`]).
pub(crate) struct Vacant<'a, K, V> {
    map: &'a mut ChunkMap<K, V>,
    c: usize,
    i: usize,
}

impl<K, V> Vacant<'_, K, V> {
    /// Inserts the pair; `k` must be the key the slot was found for.
    pub(crate) fn insert(self, k: K, v: V) {
        self.map.insert_at(self.c, Err(self.i), k, v);
    }
}

#[cfg(feature = "linear-merge")]
/// One step of [`ChunkMap::merge`]: a pair only on the left, only on the right, or on both.
pub(crate) enum Merged<T> {
    Left(T),
    Right(T),
    Both(T, T),
}

#[cfg(feature = "linear-merge")]
impl<K: Ord, V> ChunkMap<K, V> {
    /// Takes both maps apart and hands `f` their pairs in ascending key order, pairing equal
    /// keys: the core of every linear-merge join.
    #[inline]
    pub(crate) fn merge(self, other: Self, mut f: impl FnMut(Merged<(K, V)>)) {
        let mut a = Drain::new(self);
        let mut b = Drain::new(other);
        loop {
            let order = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) => x.0.cmp(&y.0),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => return,
            };
            let step = match order {
                Ordering::Less => a.next().map(Merged::Left),
                Ordering::Greater => b.next().map(Merged::Right),
                Ordering::Equal => match (a.next(), b.next()) {
                    (Some(x), Some(y)) => Some(Merged::Both(x, y)),
                    _ => None,
                },
            };
            match step {
                Some(m) => f(m),
                None => return,
            }
        }
    }
}

#[cfg(feature = "linear-merge")]
/// Moves the pairs out of a [`ChunkMap`] one chunk at a time, with a cheap look at the next.
struct Drain<K, V> {
    chunks: smallvec::IntoIter<[Vec<(K, V)>; 1]>,
    current: alloc::vec::IntoIter<(K, V)>,
}

#[cfg(feature = "linear-merge")]
impl<K, V> Drain<K, V> {
    fn new(map: ChunkMap<K, V>) -> Self {
        Drain {
            chunks: map.chunks.into_iter(),
            current: Vec::new().into_iter(),
        }
    }

    /// The next pair, without taking it.
    #[inline]
    fn peek(&mut self) -> Option<&(K, V)> {
        if self.current.as_slice().is_empty() {
            self.current = self.chunks.next()?.into_iter();
        }
        self.current.as_slice().first()
    }

    /// Takes the pair [`peek`](Self::peek) showed.
    #[inline]
    fn next(&mut self) -> Option<(K, V)> {
        self.current.next()
    }
}

/// Iterator over the pairs of a [`ChunkMap`], from both ends.
pub(crate) struct Iter<'a, K, V> {
    chunks: &'a [Vec<(K, V)>],
    /// Next pair from the front: (chunk, position).
    front: (usize, usize),
    /// One past the next pair from the back: (chunk, position), position 0 meaning the end of
    /// the previous chunk.
    back: (usize, usize),
    left: usize,
}

impl<'a, K, V> Iterator for Iter<'a, K, V> {
    type Item = (&'a K, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        let ch = self.chunks.get(self.front.0)?;
        let (k, v) = ch.get(self.front.1)?;
        self.front.1 += 1;
        if self.front.1 == ch.len() {
            self.front = (self.front.0 + 1, 0);
        }
        self.left -= 1;
        Some((k, v))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<K, V> DoubleEndedIterator for Iter<'_, K, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        if self.back.1 == 0 {
            let c = self.back.0.checked_sub(1)?;
            self.back = (c, self.chunks.get(c)?.len());
        }
        self.back.1 -= 1;
        self.left -= 1;
        let (k, v) = self.chunks.get(self.back.0)?.get(self.back.1)?;
        Some((k, v))
    }
}

impl<K, V> ExactSizeIterator for Iter<'_, K, V> {}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeMap;
    use quickcheck::quickcheck;

    /// Checks the chunk invariants and that the map holds exactly the pairs of `model`.
    fn agrees(map: &ChunkMap<u16, u32>, model: &BTreeMap<u16, u32>) -> bool {
        let chunks_ok = map
            .chunks
            .iter()
            .all(|ch| !ch.is_empty() && ch.len() <= CHUNK);
        let total: usize = map.chunks.iter().map(Vec::len).sum();
        let forward: Vec<_> = map.iter().map(|(k, v)| (*k, *v)).collect();
        let backward: Vec<_> = map.iter().rev().map(|(k, v)| (*k, *v)).collect();
        let expect: Vec<_> = model.iter().map(|(k, v)| (*k, *v)).collect();
        let mut reversed = expect.clone();
        reversed.reverse();
        chunks_ok
            && total == map.len()
            && map.len() == model.len()
            && forward == expect
            && backward == reversed
            && map.iter().len() == model.len()
    }

    quickcheck! {
        /// Random inserts and removes (and lookups, and ranges) agree with a `BTreeMap`.
        fn behaves_like_a_btreemap(ops: Vec<(u8, u16, u32)>) -> bool {
            let mut map = ChunkMap::default();
            let mut model = BTreeMap::new();
            for (op, k, v) in ops {
                // Narrow keys half the time, so removes and replaces hit.
                let k = if op & 1 == 0 { k % 256 } else { k };
                match op % 4 {
                    0 | 1 => {
                        if map.insert(k, v) != model.insert(k, v) {
                            return false;
                        }
                    }
                    2 => {
                        if map.remove(&k) != model.remove(&k) {
                            return false;
                        }
                    }
                    _ => {
                        let x = map.get_or_insert_with(k, || v);
                        *x = x.wrapping_add(1);
                        let y = model.entry(k).or_insert(v);
                        *y = y.wrapping_add(1);
                    }
                }
                if map.get(&k) != model.get(&k) {
                    return false;
                }
                let from: Vec<_> = map.iter_from(|x| x.cmp(&k)).map(|(k, v)| (*k, *v)).collect();
                let expect: Vec<_> = model.range(k..).map(|(k, v)| (*k, *v)).collect();
                if from != expect || map.iter_from(|x| x.cmp(&k)).len() != expect.len() {
                    return false;
                }
            }
            agrees(&map, &model)
        }

        /// Building from sorted pairs, and mixing both ends of the iterator.
        fn from_sorted_and_both_ends(keys: Vec<u16>, takes: Vec<bool>) -> bool {
            let model: BTreeMap<u16, u32> = keys.iter().map(|&k| (k, u32::from(k) * 3)).collect();
            let mut map = ChunkMap::default();
            for (k, v) in &model {
                map.push_last(*k, *v);
            }
            let mut it = map.iter();
            let mut lo = 0;
            let mut hi = model.len();
            let expect: Vec<_> = model.iter().map(|(k, v)| (*k, *v)).collect();
            for front in takes {
                let got = if front { it.next() } else { it.next_back() };
                let want = if lo == hi {
                    None
                } else if front {
                    lo += 1;
                    Some(expect[lo - 1])
                } else {
                    hi -= 1;
                    Some(expect[hi])
                };
                if got.map(|(k, v)| (*k, *v)) != want || it.len() != hi - lo {
                    return false;
                }
            }
            agrees(&map, &model)
        }
    }

    #[test]
    fn ascending_inserts_fill_chunks() {
        let mut map = ChunkMap::default();
        for k in 0..10 * CHUNK as u32 {
            map.insert(k, ());
        }
        assert_eq!(map.chunks.len(), 10);
        assert!(map.chunks.iter().all(|ch| ch.len() == CHUNK));
    }

    #[test]
    fn removes_merge_sparse_chunks() {
        let mut map = ChunkMap::default();
        for k in 0..8 * CHUNK as u32 {
            map.insert(k, ());
        }
        for k in 0..8 * CHUNK as u32 {
            if k % 8 != 0 {
                map.remove(&k);
            }
        }
        assert_eq!(map.len(), CHUNK);
        assert!(map.chunks.len() <= 4, "{} chunks", map.chunks.len());
    }
}
