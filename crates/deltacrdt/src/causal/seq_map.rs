//! [`SeqMap`]: a sorted map from sequence numbers to values in 12 bytes a pair (for 8-byte
//! values), the per-replica part of a [`DotIndex`](super::DotIndex).
//!
//! Like [`ChunkMap`](super::ChunkMap) it keeps sorted chunks of at most [`CHUNK`] pairs, but
//! each chunk stores its sequence numbers as 32-bit offsets from a base and its values in a
//! separate array, so a pair of a `u64` and a `u64` takes 12 bytes instead of 16. A sequence
//! number more than `u32::MAX` past a chunk's base goes to another chunk.

use alloc::vec::Vec;

use smallvec::SmallVec;

#[cfg(feature = "linear-merge")]
use super::chunk_map::Merged;

/// Most pairs a chunk holds.
const CHUNK: usize = 64;

/// Sorted pairs whose sequence numbers are `base + offs[i]`, ascending. Never empty inside a
/// map. Plain vectors: the one-dot index of a mutator's delta never reaches a `SeqMap` (see
/// [`DotIndex`](super::DotIndex)), and a `Vec` push is cheaper than a `SmallVec` one.
#[derive(Clone)]
struct Chunk<V> {
    base: u64,
    offs: Vec<u32>,
    vals: Vec<V>,
}

impl<V> Chunk<V> {
    /// A chunk with no pair and no allocation (only a builder holds one).
    fn empty() -> Self {
        Chunk {
            base: 0,
            offs: Vec::new(),
            vals: Vec::new(),
        }
    }

    fn one(seq: u64, v: V, capacity: usize) -> Self {
        let mut offs = Vec::with_capacity(capacity);
        let mut vals = Vec::with_capacity(capacity);
        offs.push(0);
        vals.push(v);
        Chunk {
            base: seq,
            offs,
            vals,
        }
    }

    fn len(&self) -> usize {
        self.offs.len()
    }

    fn seq(&self, i: usize) -> u64 {
        self.base + u64::from(self.offs[i])
    }

    fn last_seq(&self) -> Option<u64> {
        self.offs.last().map(|o| self.base + u64::from(*o))
    }

    /// Where `seq` (at least `base`) is or would go in this chunk; `Err(len)` also when it is
    /// too far past the base for an offset.
    fn find(&self, seq: u64) -> Result<usize, usize> {
        match u32::try_from(seq - self.base) {
            Ok(off) => self.offs.binary_search(&off),
            Err(_) => Err(self.len()),
        }
    }

    /// Whether `seq` (at least `base`) can be stored with an offset.
    fn reaches(&self, seq: u64) -> bool {
        seq - self.base <= u64::from(u32::MAX)
    }

    /// Puts `seq` (below the base) first, moving the base down to it, if the chunk is not
    /// full and every offset still fits; else hands `v` back.
    fn push_front(&mut self, seq: u64, v: V) -> Result<(), V> {
        let fits = self.len() < CHUNK
            && self
                .last_seq()
                .is_none_or(|last| last - seq <= u64::from(u32::MAX));
        if !fits {
            return Err(v);
        }
        let shift = (self.base - seq) as u32;
        for o in &mut self.offs {
            *o += shift;
        }
        self.base = seq;
        self.offs.insert(0, 0);
        self.vals.insert(0, v);
        Ok(())
    }
}

/// A sorted map from `u64` to `V` in chunks of 32-bit offsets (see the module docs). No chunk
/// is empty; every sequence number of a chunk is at least its base and below the next
/// chunk's base.
#[derive(Clone)]
pub(crate) struct SeqMap<V> {
    chunks: SmallVec<[Chunk<V>; 1]>,
    len: usize,
}

impl<V> Default for SeqMap<V> {
    fn default() -> Self {
        SeqMap {
            chunks: SmallVec::new(),
            len: 0,
        }
    }
}

impl<V> SeqMap<V> {
    /// Number of pairs.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether the map has no pairs.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The greatest sequence number.
    pub(crate) fn last(&self) -> Option<u64> {
        self.chunks.last().and_then(Chunk::last_seq)
    }

    /// The chunk whose range holds `seq`: the last whose base is at most `seq`.
    fn chunk_of(&self, seq: u64) -> Option<usize> {
        self.chunks
            .partition_point(|c| c.base <= seq)
            .checked_sub(1)
    }

    /// The pairs in ascending order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u64, &V)> + '_ {
        self.iter_at(0, 0)
    }

    /// The pairs from position `i` of chunk `c` on.
    fn iter_at(&self, c: usize, i: usize) -> impl Iterator<Item = (u64, &V)> + '_ {
        self.chunks
            .get(c..)
            .unwrap_or(&[])
            .iter()
            .enumerate()
            .flat_map(move |(n, ch)| {
                let from = if n == 0 { i.min(ch.len()) } else { 0 };
                ch.offs[from..]
                    .iter()
                    .zip(&ch.vals[from..])
                    .map(move |(o, v)| (ch.base + u64::from(*o), v))
            })
    }

    /// The pairs whose sequence numbers are at least `first`, ascending.
    pub(crate) fn iter_from(&self, first: u64) -> impl Iterator<Item = (u64, &V)> + '_ {
        let (c, i) = match self.chunk_of(first) {
            None => (0, 0),
            Some(c) => match self.chunks[c].find(first) {
                Ok(i) | Err(i) => (c, i),
            },
        };
        self.iter_at(c, i)
    }

    /// Takes the first pair out (the only one, for a map of one pair), dropping the rest.
    pub(crate) fn into_first(self) -> Option<(u64, V)> {
        let ch = self.chunks.into_iter().next()?;
        let (o, v) = ch.offs.first().copied().zip(ch.vals.into_iter().next())?;
        Some((ch.base + u64::from(o), v))
    }

    /// Takes the pairs out, ascending.
    pub(crate) fn into_pairs(self) -> impl Iterator<Item = (u64, V)> {
        self.chunks.into_iter().flat_map(|ch| {
            let base = ch.base;
            ch.offs
                .into_iter()
                .zip(ch.vals)
                .map(move |(o, v)| (base + u64::from(o), v))
        })
    }

    /// Appends a pair whose sequence number is greater than every one of the map.
    #[inline]
    pub(crate) fn push_last(&mut self, seq: u64, v: V) {
        debug_assert!(self.last().is_none_or(|l| l < seq), "ascending");
        let first = self.chunks.is_empty();
        match self.chunks.last_mut() {
            Some(ch) if ch.len() < CHUNK && ch.reaches(seq) => {
                ch.offs.push((seq - ch.base) as u32);
                ch.vals.push(v);
            }
            _ => self
                .chunks
                .push(Chunk::one(seq, v, if first { 1 } else { CHUNK })),
        }
        self.len += 1;
    }

    /// The map of one pair.
    #[cfg(test)]
    fn singleton(seq: u64, v: V) -> Self {
        let mut m = SeqMap::default();
        m.push_last(seq, v);
        m
    }

    /// The value at `seq`.
    pub(crate) fn get(&self, seq: u64) -> Option<&V> {
        let c = self.chunk_of(seq)?;
        let ch = &self.chunks[c];
        ch.find(seq).ok().map(|i| &ch.vals[i])
    }

    /// Inserts `v` at `seq`; returns the value it replaced.
    pub(crate) fn insert(&mut self, seq: u64, v: V) -> Option<V> {
        // Past the end (a replica's next dot, ascending inserts): no search.
        if self.last().is_some_and(|l| l < seq) {
            self.push_last(seq, v);
            return None;
        }
        let Some(c) = self.chunk_of(seq) else {
            // Below every chunk (or none): into the first chunk if it can take it.
            self.len += 1;
            let v = match self.chunks.first_mut() {
                Some(ch) => match ch.push_front(seq, v) {
                    Ok(()) => return None,
                    Err(v) => v,
                },
                None => v,
            };
            self.chunks.insert(0, Chunk::one(seq, v, 1));
            return None;
        };
        let last_chunk = c + 1 == self.chunks.len();
        let ch = &mut self.chunks[c];
        let i = match ch.find(seq) {
            Ok(i) => return Some(core::mem::replace(&mut ch.vals[i], v)),
            Err(i) => i,
        };
        self.len += 1;
        if !ch.reaches(seq) {
            // Too far past this chunk's base: at the start of the next chunk, or a new one.
            let v = match self.chunks.get_mut(c + 1) {
                Some(next) => match next.push_front(seq, v) {
                    Ok(()) => return None,
                    Err(v) => v,
                },
                None => v,
            };
            self.chunks.insert(c + 1, Chunk::one(seq, v, 1));
            return None;
        }
        if ch.len() < CHUNK {
            ch.offs.insert(i, (seq - ch.base) as u32);
            ch.vals.insert(i, v);
            return None;
        }
        if last_chunk && i == CHUNK {
            // Appending past a full last chunk (ascending inserts): start a new one, so the
            // full chunk stays full.
            self.chunks.push(Chunk::one(seq, v, CHUNK));
            return None;
        }
        // Split the full chunk in halves, the upper half based at its first sequence number.
        let upper_base = ch.seq(CHUNK / 2);
        let shift = (upper_base - ch.base) as u32;
        let mut upper = Chunk {
            base: upper_base,
            offs: Vec::with_capacity(CHUNK),
            vals: Vec::with_capacity(CHUNK),
        };
        upper
            .offs
            .extend(ch.offs.drain(CHUNK / 2..).map(|o| o - shift));
        upper.vals.extend(ch.vals.drain(CHUNK / 2..));
        if seq < upper_base {
            ch.offs.insert(i, (seq - ch.base) as u32);
            ch.vals.insert(i, v);
        } else {
            let j = i - CHUNK / 2;
            upper.offs.insert(j, (seq - upper_base) as u32);
            upper.vals.insert(j, v);
        }
        self.chunks.insert(c + 1, upper);
        None
    }

    /// Removes `seq`; returns its value. Keeps chunks non-empty, and merges a chunk into a
    /// neighbour when both together fill at most half a chunk and the offsets fit.
    pub(crate) fn remove(&mut self, seq: u64) -> Option<V> {
        let c = self.chunk_of(seq)?;
        let ch = &mut self.chunks[c];
        let i = ch.find(seq).ok()?;
        ch.offs.remove(i);
        let v = ch.vals.remove(i);
        self.len -= 1;
        if ch.offs.is_empty() {
            self.chunks.remove(c);
        } else if c + 1 < self.chunks.len() {
            self.try_merge(c);
        } else if c > 0 {
            self.try_merge(c - 1);
        }
        Some(v)
    }

    /// Moves chunk `c + 1` into chunk `c` if both together fill at most half a chunk and the
    /// offsets fit.
    fn try_merge(&mut self, c: usize) {
        let (a, b) = (&self.chunks[c], &self.chunks[c + 1]);
        let fits = a.len() + b.len() <= CHUNK / 2 && b.last_seq().is_some_and(|l| a.reaches(l));
        if !fits {
            return;
        }
        let next = self.chunks.remove(c + 1);
        let ch = &mut self.chunks[c];
        let shift = (next.base - ch.base) as u32;
        ch.offs.extend(next.offs.into_iter().map(|o| o + shift));
        ch.vals.extend(next.vals);
    }

    /// Takes both maps apart and hands `f` their pairs in ascending order, pairing equal
    /// sequence numbers.
    #[cfg(feature = "linear-merge")]
    pub(crate) fn merge(self, other: Self, mut f: impl FnMut(Merged<(u64, V)>)) {
        use core::cmp::Ordering;
        let (mut a, mut b) = (Drain::new(self), Drain::new(other));
        loop {
            let order = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) => x.cmp(&y),
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

    /// Whether the chunk invariants hold (for tests).
    #[cfg(test)]
    fn valid(&self) -> bool {
        let mut prev: Option<u64> = None;
        let mut n = 0;
        for (k, ch) in self.chunks.iter().enumerate() {
            if ch.offs.is_empty() || ch.offs.len() != ch.vals.len() || ch.len() > CHUNK {
                return false;
            }
            if self.chunks.get(k + 1).is_some_and(|next| {
                ch.last_seq().is_none_or(|l| l >= next.base) || next.base <= ch.base
            }) {
                return false;
            }
            for i in 0..ch.len() {
                let s = ch.seq(i);
                if prev.is_some_and(|p| p >= s) {
                    return false;
                }
                prev = Some(s);
                n += 1;
            }
        }
        n == self.len
    }
}

/// Builds a [`SeqMap`] from pairs pushed in ascending order, filling the open chunk in place:
/// the output of a linear merge or of a decoder, one push per pair, with no look at the
/// finished chunks.
pub(crate) struct Builder<V> {
    map: SeqMap<V>,
    /// The open chunk, empty before the first push (and then with no allocation).
    open: Chunk<V>,
}

impl<V> Builder<V> {
    pub(crate) fn new() -> Self {
        Builder {
            map: SeqMap::default(),
            open: Chunk::empty(),
        }
    }

    /// Appends a pair whose sequence number is greater than every one pushed before.
    #[inline]
    pub(crate) fn push(&mut self, seq: u64, v: V) {
        let open = &mut self.open;
        match u32::try_from(seq.wrapping_sub(open.base)) {
            Ok(off) if !open.offs.is_empty() && open.len() < CHUNK => {
                debug_assert!(open.last_seq().is_some_and(|l| l < seq), "ascending");
                open.offs.push(off);
                open.vals.push(v);
            }
            _ => self.open_chunk(seq, v),
        }
    }

    /// Closes the open chunk, if any, and opens one holding `(seq, v)`. The first chunk grows
    /// as it fills (a replica may have a single dot); the next ones are allocated full size.
    #[cold]
    fn open_chunk(&mut self, seq: u64, v: V) {
        let capacity = if self.open.offs.is_empty() && self.map.chunks.is_empty() {
            1
        } else {
            CHUNK
        };
        let full = core::mem::replace(&mut self.open, Chunk::one(seq, v, capacity));
        self.close(full);
    }

    fn close(&mut self, ch: Chunk<V>) {
        if !ch.offs.is_empty() {
            self.map.len += ch.len();
            self.map.chunks.push(ch);
        }
    }

    /// The map of the pairs pushed.
    pub(crate) fn finish(mut self) -> SeqMap<V> {
        let open = core::mem::replace(&mut self.open, Chunk::empty());
        self.close(open);
        self.map
    }
}

#[cfg(feature = "linear-merge")]
/// Moves the pairs out of a [`SeqMap`] one chunk at a time, with a cheap look at the next
/// sequence number.
struct Drain<V> {
    chunks: smallvec::IntoIter<[Chunk<V>; 1]>,
    base: u64,
    offs: alloc::vec::IntoIter<u32>,
    vals: alloc::vec::IntoIter<V>,
}

#[cfg(feature = "linear-merge")]
impl<V> Drain<V> {
    fn new(map: SeqMap<V>) -> Self {
        Drain {
            chunks: map.chunks.into_iter(),
            base: 0,
            offs: Vec::new().into_iter(),
            vals: Vec::new().into_iter(),
        }
    }

    /// The next sequence number, without taking its pair.
    #[inline]
    fn peek(&mut self) -> Option<u64> {
        if self.offs.as_slice().is_empty() {
            let ch = self.chunks.next()?;
            self.base = ch.base;
            self.offs = ch.offs.into_iter();
            self.vals = ch.vals.into_iter();
        }
        self.offs
            .as_slice()
            .first()
            .map(|o| self.base + u64::from(*o))
    }

    /// Takes the pair [`peek`](Self::peek) showed.
    #[inline]
    fn next(&mut self) -> Option<(u64, V)> {
        let o = self.offs.next()?;
        let v = self.vals.next()?;
        Some((self.base + u64::from(o), v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeMap;
    use alloc::vec::Vec;

    /// Sequence numbers near 0, near `u32::MAX` apart and near `u64::MAX`, so that chunks
    /// split, refuse far offsets and rebase.
    fn seq(x: u16) -> u64 {
        let spread = [
            0,
            1 << 31,
            (1 << 32) - 1,
            1 << 32,
            5 << 32,
            u64::MAX - (1 << 33),
        ];
        spread[usize::from(x % 6)] + u64::from(x / 6)
    }

    quickcheck::quickcheck! {
        /// The map is a `BTreeMap` in another layout: the same answers to every operation.
        fn seq_map_is_a_sorted_map(ops: Vec<(u8, u16)>) -> bool {
            let mut m: SeqMap<u16> = SeqMap::default();
            let mut model: BTreeMap<u64, u16> = BTreeMap::new();
            for (op, x) in ops {
                let s = seq(x);
                let ok = match op % 4 {
                    0 | 1 => m.insert(s, x) == model.insert(s, x),
                    2 => m.remove(s) == model.remove(&s),
                    _ => {
                        let from: Vec<(u64, u16)> = m.iter_from(s).map(|(k, v)| (k, *v)).collect();
                        let want: Vec<(u64, u16)> = model.range(s..).map(|(k, v)| (*k, *v)).collect();
                        from == want && m.get(s) == model.get(&s)
                    }
                };
                if !ok || !m.valid() || m.len() != model.len() {
                    return false;
                }
            }
            let pairs: Vec<(u64, u16)> = m.iter().map(|(k, v)| (k, *v)).collect();
            let mut rebuilt = SeqMap::default();
            for (k, v) in pairs.iter() {
                rebuilt.push_last(*k, *v);
            }
            rebuilt.valid()
                && pairs.iter().copied().eq(model.iter().map(|(k, v)| (*k, *v)))
                && m.last() == model.keys().next_back().copied()
                && m.into_pairs().eq(model.into_iter())
        }

        /// Merging hands over every pair once, in order, pairing equal sequence numbers.
        #[cfg(feature = "linear-merge")]
        fn seq_map_merge_pairs_equal_keys(a: Vec<u16>, b: Vec<u16>) -> bool {
            let build = |xs: &[u16]| {
                let mut m = SeqMap::default();
                let mut model = BTreeMap::new();
                for x in xs {
                    m.insert(seq(*x), *x);
                    model.insert(seq(*x), *x);
                }
                (m, model)
            };
            let ((ma, a), (mb, b)) = (build(&a), build(&b));
            let mut got = Vec::new();
            ma.merge(mb, |m| got.push(match m {
                Merged::Left((k, _)) => (k, 1),
                Merged::Right((k, _)) => (k, 2),
                Merged::Both((k, _), (j, _)) => (k, if k == j { 3 } else { 0 }),
            }));
            let mut want: Vec<(u64, u8)> = Vec::new();
            let keys: alloc::collections::BTreeSet<u64> = a.keys().chain(b.keys()).copied().collect();
            for k in keys {
                want.push((k, u8::from(a.contains_key(&k)) + 2 * u8::from(b.contains_key(&k))));
            }
            got == want
        }
    }

    quickcheck::quickcheck! {
        /// The builder makes the same map as ascending inserts, with valid chunks (offsets that
        /// fit, at most a chunk's worth each), from any ascending run.
        fn the_builder_makes_a_valid_sorted_map(xs: Vec<u16>) -> bool {
            let model: BTreeMap<u64, u16> = xs.iter().map(|x| (seq(*x), *x)).collect();
            let mut b = Builder::new();
            for (k, v) in &model {
                b.push(*k, *v);
            }
            let m = b.finish();
            m.valid()
                && m.len() == model.len()
                && m.iter().map(|(k, v)| (k, *v)).eq(model.iter().map(|(k, v)| (*k, *v)))
        }
    }

    #[test]
    fn a_one_pair_map_keeps_its_chunk_inline_and_its_first_chunk_small() {
        let m = SeqMap::singleton(7, 1u64);
        assert!(!m.chunks.spilled());
        assert_eq!(m.chunks[0].offs.capacity(), 1);
        assert_eq!(m.get(7), Some(&1));
    }
}
