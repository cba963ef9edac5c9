//! The binary format of causal types, written once: the causal context, then the dot store.
//!
//! ```text
//! causal value  context, store
//! dot           replica index (varint: the replica's position in the context), seq (varint)
//! DotSet        count (varint), then the dots ascending
//! DotFun<V>     count (varint), then per dot ascending: the dot, the value
//! DotMap<K, S>  count (varint), then per key ascending: the key, the key's store (never empty)
//! ```
//!
//! Keys of a `DotMap` that are byte strings (`String`, `Vec<u8>`; see
//! [`Codec::BYTE_STRING`]) are front-coded. Every dot must name a replica of the context, be
//! in the context, ascend within its store, and appear once in the whole value; every store
//! under a key must hold a dot. So `ORSet<E>` is the context and a `DotMap<E, DotSet>`, and
//! `MVRegister<V>` the context and a `DotFun<V>`: the layouts of format version 1.

use alloc::vec::Vec;

use super::{write_len, write_varint, Codec, DecodeError, DecodeErrorKind, Reader};
use crate::causal::seq_set::SeqSet;
use crate::causal::{Causal, DotFun, DotMap, DotSet, DotStore};
use crate::{CausalContext, Dot, ReplicaId};

/// Writes dots as (replica index, sequence number) against a causal context.
pub struct DotWriter<'c> {
    replicas: &'c [(ReplicaId, SeqSet)],
}

impl<'c> DotWriter<'c> {
    pub(crate) fn new(context: &'c CausalContext) -> Self {
        DotWriter {
            replicas: context.replicas.as_slice(),
        }
    }

    /// Appends `dot`, which must be in the context the writer was made for.
    pub fn write(&self, dot: Dot, out: &mut Vec<u8>) {
        let i = self.replicas.partition_point(|(r, _)| *r < dot.replica);
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
}

impl StoreCodec for DotSet {
    const MIN_LEN: usize = 3;

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
        set.dots.reserve(k);
        for _ in 0..k {
            let at = r.offset();
            let d = dots.read(r, set.dots.last().copied())?;
            if !claim(d) {
                return Err(r.error_at(at, DecodeErrorKind::DuplicateDot));
            }
            set.dots.push(d);
        }
        Ok(set)
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
        let mut prev: &[u8] = &[];
        for (i, (k, store)) in self.entries.iter().enumerate() {
            if K::BYTE_STRING {
                let cur = k.as_byte_string();
                if i % FRONT_CODING_RESTART == 0 {
                    write_len(out, cur.len());
                    out.extend_from_slice(cur);
                } else {
                    let shared = prev.iter().zip(cur).take_while(|(a, b)| a == b).count();
                    write_len(out, shared);
                    write_len(out, cur.len() - shared);
                    out.extend_from_slice(&cur[shared..]);
                }
                prev = cur;
            } else {
                k.encode(out);
            }
            store.encode_store(dots, out);
        }
    }

    fn decode_store(
        r: &mut Reader<'_>,
        dots: &DotReader<'_>,
        claim: &mut dyn FnMut(Dot) -> bool,
    ) -> Result<Self, DecodeError> {
        let n = r.count(1 + S::MIN_LEN)?;
        let mut map: DotMap<K, S> = DotMap::default();
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
            let index = &mut map.index;
            let store = S::decode_store(r, dots, &mut |d| {
                index.insert(d, key.clone()).is_none() && claim(d)
            })?;
            if DotStore::is_empty(&store) {
                return Err(r.error_at(at, DecodeErrorKind::Zero));
            }
            map.entries.push_last(key, store);
        }
        Ok(map)
    }
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
