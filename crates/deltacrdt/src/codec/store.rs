//! The binary format of causal types, written once: the causal context, then the dot store.
//!
//! ```text
//! causal value  context, store
//! dot           replica index (varint: the replica's position in the context), seq (varint)
//! DotSet        count (varint), then the dots ascending
//! ElementDots   as a DotSet
//! DotFun<V>     count (varint), then per dot ascending: the dot, the value
//! DotMap<K, S>  count (varint), then per key ascending: the key, the key's store (never empty)
//! ```
//!
//! Keys of a `DotMap` that are byte strings (`String`, `Vec<u8>`; see
//! [`Codec::BYTE_STRING`]) are front-coded. In format version 1 each key is the length of the
//! prefix it shares with the key before, the length of the rest, and the rest (every 16th key
//! whole: its length and bytes). Version 2 writes one header byte per key instead of the two
//! lengths, and leaves out the dot of a key whose store is a single dot following the previous
//! key's single dot:
//!
//! ```text
//! header  bit 0: implicit dot; bits 1-3: bytes dropped from the end of the previous key (0 to
//!         5; 6: 6 + a varint that follows; 7: all of them, nothing shared); bits 4-6: bytes
//!         added (0 to 6; 7: 7 + a varint that follows); bit 7: 0
//! key     header, [dropped - 6], [added - 7], the added bytes, then the store unless implicit
//! ```
//!
//! A key sharing nothing with the one before has dropped field 7, whatever the previous key's
//! length. Every 16th key is whole (field 7, and nothing kept from the key before). An implicit dot
//! is that of the previous key's single dot (a store of one dot, see
//! [`StoreCodec::single_dot`]) plus one: what a set built by adds in key order holds, such as
//! any set after a bulk insert of sorted names. A store that could be written implicitly must
//! be, so each value keeps one encoding. Every dot must name a replica of the context, be
//! in the context, ascend within its store, and appear once in the whole value; every store
//! under a key must hold a dot. So `ORSet<E>` is the context and a `DotMap<E, ElementDots>` (written as a `DotMap<E, DotSet>`), and
//! `MVRegister<V>` the context and a `DotFun<V>`: the layouts of format version 1.

use alloc::vec::Vec;

use smallvec::SmallVec;

use super::{write_len, write_varint, Codec, DecodeError, DecodeErrorKind, Reader};
use crate::causal::seq_set::SeqSet;
use crate::causal::{Causal, DotFun, DotMap, DotSet, DotStore, ElementDots, IndexBuilder};
use crate::{CausalContext, Dot, ReplicaId};

/// Writes dots as (replica index, sequence number) against a causal context.
pub struct DotWriter<'c> {
    replicas: &'c [(ReplicaId, SeqSet)],
    /// The index of the last dot's replica: stores write their dots ascending, so the next
    /// dot's replica is usually this one or the next, found without a search.
    cursor: core::cell::Cell<usize>,
}

impl<'c> DotWriter<'c> {
    #[inline]
    pub(crate) fn new(context: &'c CausalContext) -> Self {
        DotWriter {
            replicas: context.replicas.as_slice(),
            cursor: core::cell::Cell::new(0),
        }
    }

    /// The position of `replica` in the context (where it would go if absent).
    #[inline]
    fn position(&self, replica: ReplicaId) -> usize {
        let c = self.cursor.get();
        let at = |i: usize| self.replicas.get(i).map(|(r, _)| *r);
        let i = if at(c) == Some(replica) {
            c
        } else if at(c + 1) == Some(replica) {
            c + 1
        } else {
            self.replicas.partition_point(|(r, _)| *r < replica)
        };
        self.cursor.set(i);
        i
    }

    /// Appends `dot`, which must be in the context the writer was made for.
    #[inline]
    pub fn write(&self, dot: Dot, out: &mut Vec<u8>) {
        let i = self.position(dot.replica);
        debug_assert!(
            self.replicas.get(i).is_some_and(|(r, _)| *r == dot.replica),
            "a live dot is in the context"
        );
        write_len(out, i);
        write_varint(out, dot.seq);
    }
}

/// Reads dots written by [`DotWriter`], checking each against the causal context.
pub struct DotReader<'c> {
    replicas: &'c [(ReplicaId, SeqSet)],
}

impl<'c> DotReader<'c> {
    #[inline]
    pub(crate) fn new(context: &'c CausalContext) -> Self {
        DotReader {
            replicas: context.replicas.as_slice(),
        }
    }

    /// Reads a dot that must name a replica of the context, be greater than `prev`, and be in
    /// the context.
    ///
    /// # Errors
    /// [`DecodeErrorKind::BadReplicaIndex`], [`DecodeErrorKind::NotAscending`] or
    /// [`DecodeErrorKind::DotNotInContext`], at the dot's offset; or a varint error.
    #[inline]
    pub fn read(&self, r: &mut Reader<'_>, prev: Option<Dot>) -> Result<Dot, DecodeError> {
        let at = r.offset();
        let i = r.varint()?;
        let (replica, seen) = usize::try_from(i)
            .ok()
            .and_then(|i| self.replicas.get(i))
            .ok_or_else(|| r.error_at(at, DecodeErrorKind::BadReplicaIndex(i)))?;
        let seq = r.positive()?;
        let dot = Dot::new(*replica, seq);
        if prev.is_some_and(|p| dot <= p) {
            return Err(r.error_at(at, DecodeErrorKind::NotAscending));
        }
        if !seen.contains(seq) {
            return Err(r.error_at(at, DecodeErrorKind::DotNotInContext));
        }
        Ok(dot)
    }

    /// Checks a dot that the encoding implies rather than writes (format version 2): it must
    /// be in the context. `at` is the offset to report.
    fn check_implied(&self, r: &Reader<'_>, at: usize, dot: Dot) -> Result<(), DecodeError> {
        let i = self.replicas.partition_point(|(q, _)| *q < dot.replica);
        match self.replicas.get(i) {
            Some((q, seen)) if *q == dot.replica && seen.contains(dot.seq) => Ok(()),
            _ => Err(r.error_at(at, DecodeErrorKind::DotNotInContext)),
        }
    }
}

/// The binary format of a dot store (see the module docs), for `Causal<S>` to encode a
/// causal type as its context then its store.
///
/// **Implementer notes.** The encoding must be canonical: equal stores, equal bytes, and
/// decoding must reject anything `encode_store` would not write. Write dots with the given
/// [`DotWriter`] and read them with the [`DotReader`], which checks them against the context;
/// hand every dot read to `claim`, and refuse the input with
/// [`DecodeErrorKind::DuplicateDot`] when it returns `false` (the dot is already held
/// elsewhere in the value).
pub trait StoreCodec: DotStore {
    /// The fewest bytes a store holding a dot encodes to, to check counts against the input.
    const MIN_LEN: usize;

    /// Appends the store's encoding.
    fn encode_store(&self, dots: &DotWriter<'_>, out: &mut Vec<u8>);

    /// Reads a store.
    ///
    /// # Errors
    /// A [`DecodeError`] naming the problem and its offset.
    fn decode_store(
        r: &mut Reader<'_>,
        dots: &DotReader<'_>,
        claim: &mut dyn FnMut(Dot) -> bool,
    ) -> Result<Self, DecodeError>;

    /// The store's only dot, if the store is that dot and nothing else (a [`DotSet`] of one):
    /// a map keyed by byte strings may then leave the dot implicit (format version 2). `None`,
    /// the default, for stores whose dots carry values.
    fn single_dot(&self) -> Option<Dot> {
        None
    }

    /// The store that is `dot` and nothing else, for stores whose
    /// [`single_dot`](Self::single_dot) can answer; `None`, the default, otherwise.
    fn from_single_dot(dot: Dot) -> Option<Self> {
        let _ = dot;
        None
    }
}

/// The `k` dots of a list as [`DotSet`] and [`ElementDots`] write it (after its count):
/// ascending, each after the one before, each claimed once.
fn decode_dots<A: smallvec::Array<Item = Dot>>(
    r: &mut Reader<'_>,
    dots: &DotReader<'_>,
    claim: &mut dyn FnMut(Dot) -> bool,
    k: usize,
) -> Result<SmallVec<A>, DecodeError> {
    let mut list = SmallVec::<A>::with_capacity(k);
    for _ in 0..k {
        let at = r.offset();
        let d = dots.read(r, list.last().copied())?;
        if !claim(d) {
            return Err(r.error_at(at, DecodeErrorKind::DuplicateDot));
        }
        list.push(d);
    }
    Ok(list)
}

impl StoreCodec for DotSet {
    const MIN_LEN: usize = 3;

    fn single_dot(&self) -> Option<Dot> {
        match self.dots.as_slice() {
            [d] => Some(*d),
            _ => None,
        }
    }

    fn from_single_dot(dot: Dot) -> Option<Self> {
        Some(DotSet::single(dot))
    }

    fn encode_store(&self, dots: &DotWriter<'_>, out: &mut Vec<u8>) {
        write_len(out, self.dots.len());
        for d in &self.dots {
            dots.write(*d, out);
        }
    }

    fn decode_store(
        r: &mut Reader<'_>,
        dots: &DotReader<'_>,
        claim: &mut dyn FnMut(Dot) -> bool,
    ) -> Result<Self, DecodeError> {
        let k = r.count(2)?;
        let mut set = DotSet::new();
        set.dots = decode_dots(r, dots, claim, k)?;
        Ok(set)
    }
}

impl StoreCodec for ElementDots {
    const MIN_LEN: usize = 3;

    fn single_dot(&self) -> Option<Dot> {
        self.as_single()
    }

    fn from_single_dot(dot: Dot) -> Option<Self> {
        Some(ElementDots::single(dot))
    }

    fn encode_store(&self, dots: &DotWriter<'_>, out: &mut Vec<u8>) {
        write_len(out, self.len());
        for d in self.iter() {
            dots.write(d, out);
        }
    }

    fn decode_store(
        r: &mut Reader<'_>,
        dots: &DotReader<'_>,
        claim: &mut dyn FnMut(Dot) -> bool,
    ) -> Result<Self, DecodeError> {
        let k = r.count(2)?;
        if k == 1 {
            // The common case, without a list.
            let at = r.offset();
            let d = dots.read(r, None)?;
            if !claim(d) {
                return Err(r.error_at(at, DecodeErrorKind::DuplicateDot));
            }
            return Ok(ElementDots::single(d));
        }
        let list: SmallVec<[Dot; 2]> = decode_dots(r, dots, claim, k)?;
        Ok(ElementDots::from_sorted(&list))
    }
}

impl<V: Codec + Ord + Clone> StoreCodec for DotFun<V> {
    const MIN_LEN: usize = 4;

    fn encode_store(&self, dots: &DotWriter<'_>, out: &mut Vec<u8>) {
        write_len(out, self.entries.len());
        for (d, v) in &self.entries {
            dots.write(*d, out);
            v.encode(out);
        }
    }

    fn decode_store(
        r: &mut Reader<'_>,
        dots: &DotReader<'_>,
        claim: &mut dyn FnMut(Dot) -> bool,
    ) -> Result<Self, DecodeError> {
        let n = r.count(3)?;
        let mut store = DotFun::new();
        store.entries.reserve(n);
        for _ in 0..n {
            let at = r.offset();
            let d = dots.read(r, store.entries.last().map(|e| e.0))?;
            if !claim(d) {
                return Err(r.error_at(at, DecodeErrorKind::DuplicateDot));
            }
            let v = V::decode(r)?;
            store.entries.push((d, v));
        }
        Ok(store)
    }
}

/// How often a front-coded run of keys starts afresh: every key at a multiple of this
/// position is written whole (as its `Codec` encoding, which for byte strings is the length
/// and the bytes), the others as the length of the prefix they share with the key before,
/// the length of the rest, and the rest. Restarts bound what decoding may allocate: each key
/// rebuilt within a run is at most as long as the bytes read since the run's start.
const FRONT_CODING_RESTART: usize = 16;

/// Reads one front-coded key after `prev` (see [`FRONT_CODING_RESTART`]) and leaves its
/// bytes in `prev`. Checks that the shared length is exactly what the two share, so that
/// every map has one encoding.
fn front_coded<E: Codec>(
    r: &mut Reader<'_>,
    prev: &mut Vec<u8>,
    restart: bool,
) -> Result<E, DecodeError> {
    let at = r.offset();
    let shared = if restart { 0 } else { r.varint()? };
    let n = r.count(1)?;
    let rest = r.take(n)?;
    // Outside restarts the shared length must be exactly the common prefix: no longer than the
    // key before, and not followed by a byte the two have in common.
    let canonical = restart
        || usize::try_from(shared)
            .is_ok_and(|p| p <= prev.len() && (p == prev.len() || rest.first() != prev.get(p)));
    if !canonical {
        return Err(r.error_at(at, DecodeErrorKind::BadPrefix { len: shared }));
    }
    prev.truncate(shared as usize);
    prev.extend_from_slice(rest);
    E::from_byte_string(prev).map_err(|kind| r.error_at(at, kind))
}

/// Reads a key that must be greater than `prev`.
fn ascending_key<E: Codec + Ord>(r: &mut Reader<'_>, prev: Option<&E>) -> Result<E, DecodeError> {
    let at = r.offset();
    let e = E::decode(r)?;
    if prev.is_some_and(|p| e <= *p) {
        return Err(r.error_at(at, DecodeErrorKind::NotAscending));
    }
    Ok(e)
}

impl<K: Codec + Ord + Clone, S: StoreCodec> StoreCodec for DotMap<K, S> {
    const MIN_LEN: usize = 1 + 1 + S::MIN_LEN;

    fn encode_store(&self, dots: &DotWriter<'_>, out: &mut Vec<u8>) {
        write_len(out, self.entries.len());
        if K::BYTE_STRING {
            encode_byte_string_keys(self, dots, out);
            return;
        }
        for (k, store) in self.entries.iter() {
            k.encode(out);
            store.encode_store(dots, out);
        }
    }

    fn decode_store(
        r: &mut Reader<'_>,
        dots: &DotReader<'_>,
        claim: &mut dyn FnMut(Dot) -> bool,
    ) -> Result<Self, DecodeError> {
        if K::BYTE_STRING && r.format_version() >= 2 {
            return decode_byte_string_keys(r, dots, claim);
        }
        let n = r.count(1 + S::MIN_LEN)?;
        let mut map: DotMap<K, S> = DotMap::default();
        let mut index = IndexBuilder::new();
        let mut prev: Vec<u8> = Vec::new();
        for i in 0..n {
            let key = if K::BYTE_STRING {
                let k = front_coded(r, &mut prev, i % FRONT_CODING_RESTART == 0)?;
                if map.entries.last().is_some_and(|(last, _)| *last >= k) {
                    return Err(r.error(DecodeErrorKind::NotAscending));
                }
                k
            } else {
                ascending_key(r, map.entries.last().map(|(k, _)| k))?
            };
            let at = r.offset();
            let store =
                S::decode_store(r, dots, &mut |d| index.insert(d, key.clone()) && claim(d))?;
            if DotStore::is_empty(&store) {
                return Err(r.error_at(at, DecodeErrorKind::Zero));
            }
            map.entries.push_last(key, store);
        }
        map.index = index.finish();
        Ok(map)
    }
}

/// The dot a key's store may leave implicit after a key whose store was the single dot
/// `prev` (format version 2): the next one of the same replica.
fn implied_after(prev: Option<Dot>) -> Option<Dot> {
    prev.and_then(|p| p.seq.checked_add(1).map(|q| Dot::new(p.replica, q)))
}

/// The dropped field of a version-2 key header (bits 1-3) for a key that keeps nothing of the
/// one before.
const DROP_ALL: usize = 7;
/// The dropped field meaning "6 plus a varint that follows".
const DROP_ESCAPE: usize = 6;
/// The added field (bits 4-6) meaning "7 plus a varint that follows".
const ADD_ESCAPE: usize = 7;

/// Writes the keys and stores of a map keyed by byte strings in format version 2 (see the
/// module docs).
fn encode_byte_string_keys<K: Codec + Ord + Clone, S: StoreCodec>(
    map: &DotMap<K, S>,
    dots: &DotWriter<'_>,
    out: &mut Vec<u8>,
) {
    let mut prev: &[u8] = &[];
    let mut prev_dot: Option<Dot> = None;
    for (i, (k, store)) in map.entries.iter().enumerate() {
        let cur = k.as_byte_string();
        let shared = if i % FRONT_CODING_RESTART == 0 {
            0
        } else {
            prev.iter().zip(cur).take_while(|(a, b)| a == b).count()
        };
        let (dropped, added) = (prev.len() - shared, cur.len() - shared);
        let single = store.single_dot();
        let implicit = single.is_some() && single == implied_after(prev_dot);
        let drop_field = if shared == 0 {
            DROP_ALL
        } else {
            dropped.min(DROP_ESCAPE)
        };
        let header =
            u8::from(implicit) | (drop_field as u8) << 1 | (added.min(ADD_ESCAPE) as u8) << 4;
        out.push(header);
        if drop_field == DROP_ESCAPE {
            write_len(out, dropped - DROP_ESCAPE);
        }
        if added >= ADD_ESCAPE {
            write_len(out, added - ADD_ESCAPE);
        }
        out.extend_from_slice(&cur[shared..]);
        if !implicit {
            store.encode_store(dots, out);
        }
        prev = cur;
        prev_dot = single;
    }
}

/// Reads a length of a version-2 key header: `field` below `escape`, else `escape` plus a
/// varint.
fn header_len(r: &mut Reader<'_>, field: u8, escape: usize) -> Result<u64, DecodeError> {
    if usize::from(field) < escape {
        return Ok(u64::from(field));
    }
    let at = r.offset();
    r.varint()?
        .checked_add(escape as u64)
        .ok_or_else(|| r.error_at(at, DecodeErrorKind::VarintOverflow))
}

/// Reads the keys and stores of a map keyed by byte strings in format version 2, checking
/// that the encoding is the one [`encode_byte_string_keys`] writes.
fn decode_byte_string_keys<K: Codec + Ord + Clone, S: StoreCodec>(
    r: &mut Reader<'_>,
    dots: &DotReader<'_>,
    claim: &mut dyn FnMut(Dot) -> bool,
) -> Result<DotMap<K, S>, DecodeError> {
    // The fewest bytes of a key: its header and one byte (a key adding no byte to the one
    // before is not greater than it).
    let n = r.count(2)?;
    let mut map: DotMap<K, S> = DotMap::default();
    let mut index = IndexBuilder::new();
    let mut prev: Vec<u8> = Vec::new();
    let mut prev_dot: Option<Dot> = None;
    for i in 0..n {
        let at = r.offset();
        let header = r.byte()?;
        if header & 0x80 != 0 {
            return Err(r.error_at(at, DecodeErrorKind::InvalidTag(header)));
        }
        let implicit = header & 1 == 1;
        let drop_field = (header >> 1) & 7;
        let restart = i % FRONT_CODING_RESTART == 0;
        let shared = if usize::from(drop_field) == DROP_ALL {
            0
        } else {
            let dropped = header_len(r, drop_field, DROP_ESCAPE)?;
            // Keeping something: not at a restart, not more than the key before has, and not
            // nothing (that is written as field 7).
            usize::try_from(dropped)
                .ok()
                .and_then(|d| prev.len().checked_sub(d))
                .filter(|&kept| kept > 0 && !restart)
                .ok_or_else(|| r.error_at(at, DecodeErrorKind::BadPrefix { len: dropped }))?
        };
        let added = header_len(r, header >> 4, ADD_ESCAPE)?;
        let added = usize::try_from(added)
            .map_err(|_| r.error(DecodeErrorKind::UnexpectedEnd { needed: usize::MAX }))?;
        let rest = r.take(added)?;
        // The shared part must be exactly the common prefix: the next byte differs (also when
        // nothing is shared, except at restarts, where the key is whole whatever it shares).
        if !restart && shared < prev.len() && rest.first() == prev.get(shared) {
            let dropped = (prev.len() - shared) as u64;
            return Err(r.error_at(at, DecodeErrorKind::BadPrefix { len: dropped }));
        }
        prev.truncate(shared);
        prev.extend_from_slice(rest);
        let key = K::from_byte_string(&prev).map_err(|kind| r.error_at(at, kind))?;
        if map.entries.last().is_some_and(|(last, _)| *last >= key) {
            return Err(r.error_at(at, DecodeErrorKind::NotAscending));
        }
        let implied = implied_after(prev_dot);
        let store_at = r.offset();
        let store = if implicit {
            let dot = implied.ok_or_else(|| r.error_at(at, DecodeErrorKind::InvalidTag(header)))?;
            dots.check_implied(r, at, dot)?;
            if !index.insert(dot, key.clone()) || !claim(dot) {
                return Err(r.error_at(at, DecodeErrorKind::DuplicateDot));
            }
            S::from_single_dot(dot)
                .ok_or_else(|| r.error_at(at, DecodeErrorKind::InvalidTag(header)))?
        } else {
            let store =
                S::decode_store(r, dots, &mut |d| index.insert(d, key.clone()) && claim(d))?;
            if DotStore::is_empty(&store) {
                return Err(r.error_at(store_at, DecodeErrorKind::Zero));
            }
            if store.single_dot().is_some() && store.single_dot() == implied {
                // Written out where the encoder leaves it implicit: not canonical.
                return Err(r.error_at(at, DecodeErrorKind::InvalidTag(header)));
            }
            store
        };
        prev_dot = store.single_dot();
        map.entries.push_last(key, store);
    }
    map.index = index.finish();
    Ok(map)
}

impl<S: StoreCodec> Codec for Causal<S> {
    /// The context, then the store.
    fn encode(&self, out: &mut Vec<u8>) {
        self.context.encode(out);
        self.store.encode_store(&DotWriter::new(&self.context), out);
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let context = CausalContext::decode(r)?;
        let store = S::decode_store(r, &DotReader::new(&context), &mut |_| true)?;
        Ok(Causal::from_parts_unchecked(store, context))
    }
}
