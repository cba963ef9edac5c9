//! [`Codec`] and [`Binary`] for the causal types, the CRDTs and their versions.

use alloc::vec::Vec;

use smallvec::SmallVec;

use super::StoreCodec;
use super::{tag, write_len, write_varint, Binary, Codec, DecodeError, DecodeErrorKind, Reader};
use crate::causal::seq_set::SeqSet;
use crate::causal::{Causal, CausalType, VecMap};
use crate::{
    CausalContext, CausalCounter, CausalVersion, EWFlag, GCounter, LWWField, LWWRegister, LwwEntry,
    LwwVersion, MVRegister, ORMap, ORSet, PNCounter, PNVersion, ReplicaId, Timestamp,
    VersionVector,
};

impl Codec for ReplicaId {
    /// Eight little-endian bytes: replica ids are usually random, so a varint would be longer.
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0.to_le_bytes());
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(ReplicaId(r.u64_le()?))
    }
}

impl Codec for Timestamp {
    /// Eight little-endian bytes (a timestamp's high bits are always set in practice).
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_raw().to_le_bytes());
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Timestamp::from_raw(r.u64_le()?))
    }
}

/// Reads a replica id that must be greater than `prev`.
pub(super) fn ascending_replica(
    r: &mut Reader<'_>,
    prev: Option<ReplicaId>,
) -> Result<ReplicaId, DecodeError> {
    let at = r.offset();
    let id = ReplicaId::decode(r)?;
    if prev.is_some_and(|p| id <= p) {
        return Err(r.error_at(at, DecodeErrorKind::NotAscending));
    }
    Ok(id)
}

impl Codec for VersionVector {
    fn encode(&self, out: &mut Vec<u8>) {
        write_len(out, self.len());
        for (r, n) in self.iter() {
            r.encode(out);
            write_varint(out, n);
        }
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let n = r.count(9)?;
        let mut entries = SmallVec::with_capacity(n);
        let mut prev = None;
        for _ in 0..n {
            let id = ascending_replica(r, prev)?;
            let count = r.positive()?;
            entries.push((id, count));
            prev = Some(id);
        }
        Ok(VersionVector::from_sorted(entries))
    }
}

impl Binary for VersionVector {
    const TAG: u8 = tag::VERSION_VECTOR;

    fn to_bytes(&self) -> Vec<u8> {
        to_bytes_sized(self, vector_len_hint(self))
    }
}

impl Codec for CausalContext {
    /// Per replica: its id, then its runs of sequence numbers as (gap, length) pairs.
    fn encode(&self, out: &mut Vec<u8>) {
        write_len(out, self.replicas.len());
        for (r, s) in &self.replicas {
            r.encode(out);
            write_len(out, s.runs().len());
            let mut prev_end = 0u64;
            for (i, &(a, b)) in s.runs().iter().enumerate() {
                // First run: its start (>= 1). Later runs: the gap beyond the smallest legal start.
                let gap = if i == 0 { a } else { a - prev_end - 2 };
                write_varint(out, gap);
                write_varint(out, b - a);
                prev_end = b;
            }
        }
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let n = r.count(11)?;
        let mut replicas = SmallVec::with_capacity(n);
        let mut prev = None;
        for _ in 0..n {
            let id = ascending_replica(r, prev)?;
            prev = Some(id);
            let at = r.offset();
            let k = r.count(2)?;
            if k == 0 {
                return Err(r.error_at(at, DecodeErrorKind::Zero));
            }
            let mut runs: SmallVec<[(u64, u64); 1]> = SmallVec::with_capacity(k);
            let mut prev_end = 0u64;
            for i in 0..k {
                let at = r.offset();
                let start = if i == 0 {
                    r.positive()?
                } else {
                    let gap = r.varint()?;
                    prev_end
                        .checked_add(2)
                        .and_then(|s| s.checked_add(gap))
                        .ok_or_else(|| r.error_at(at, DecodeErrorKind::RunOverflow))?
                };
                let len = r.varint()?;
                let end = start
                    .checked_add(len)
                    .ok_or_else(|| r.error_at(at, DecodeErrorKind::RunOverflow))?;
                runs.push((start, end));
                prev_end = end;
            }
            replicas.push((id, SeqSet::from_canonical_runs(runs)));
        }
        Ok(CausalContext {
            replicas: VecMap::from_sorted(replicas),
        })
    }
}

impl Binary for CausalContext {
    const TAG: u8 = tag::CAUSAL_CONTEXT;
}

impl Codec for CausalVersion {
    /// The context, then 0 (no digests) or 1 followed by one 8-byte digest per replica of the
    /// context, in order.
    fn encode(&self, out: &mut Vec<u8>) {
        self.context.encode(out);
        match &self.live {
            None => out.push(0),
            Some(live) => {
                out.push(1);
                for r in self.context.replicas.keys() {
                    let d = live.get(r).copied().unwrap_or(0);
                    out.extend_from_slice(&d.to_le_bytes());
                }
            }
        }
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let context = CausalContext::decode(r)?;
        let at = r.offset();
        let live = match r.byte()? {
            0 => None,
            1 => {
                let mut live = crate::causal::LiveDigests::new();
                for id in context.replicas.keys() {
                    let d = r.u64_le()?;
                    if d != 0 {
                        live.insert(*id, d);
                    }
                }
                Some(live)
            }
            b => return Err(r.error_at(at, DecodeErrorKind::InvalidTag(b))),
        };
        Ok(CausalVersion { context, live })
    }
}

impl Binary for CausalVersion {
    const TAG: u8 = tag::CAUSAL_VERSION;
}

/// Encodes `value` with its header into one buffer of `body_hint` bytes plus the header: a
/// single allocation when the hint is right (the default `to_bytes` starts at 16 bytes and
/// grows, reallocating once or more for all but the smallest values).
pub(super) fn to_bytes_sized<T: Binary>(value: &T, body_hint: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + body_hint);
    out.push(super::FORMAT_VERSION);
    out.push(T::TAG);
    value.encode(&mut out);
    out
}

/// The encoded length of a version vector with counts below 2^21 (longer ones grow the buffer).
fn vector_len_hint(v: &VersionVector) -> usize {
    2 + v.len() * (8 + 3)
}

impl Codec for GCounter {
    fn encode(&self, out: &mut Vec<u8>) {
        self.counts.encode(out);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(GCounter {
            counts: VersionVector::decode(r)?,
        })
    }
}

impl Binary for GCounter {
    const TAG: u8 = tag::GCOUNTER;

    fn to_bytes(&self) -> Vec<u8> {
        to_bytes_sized(self, vector_len_hint(&self.counts))
    }
}

impl Codec for PNCounter {
    fn encode(&self, out: &mut Vec<u8>) {
        self.inc.encode(out);
        self.dec.encode(out);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(PNCounter {
            inc: GCounter::decode(r)?,
            dec: GCounter::decode(r)?,
        })
    }
}

impl Binary for PNCounter {
    const TAG: u8 = tag::PNCOUNTER;

    fn to_bytes(&self) -> Vec<u8> {
        to_bytes_sized(
            self,
            vector_len_hint(&self.inc.counts) + vector_len_hint(&self.dec.counts),
        )
    }
}

impl Codec for PNVersion {
    fn encode(&self, out: &mut Vec<u8>) {
        self.inc.encode(out);
        self.dec.encode(out);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(PNVersion {
            inc: VersionVector::decode(r)?,
            dec: VersionVector::decode(r)?,
        })
    }
}

impl Binary for PNVersion {
    const TAG: u8 = tag::PN_VERSION;

    fn to_bytes(&self) -> Vec<u8> {
        to_bytes_sized(
            self,
            vector_len_hint(&self.inc) + vector_len_hint(&self.dec),
        )
    }
}

impl<V: Codec> Codec for LWWRegister<V> {
    fn encode(&self, out: &mut Vec<u8>) {
        match &self.entry {
            None => out.push(0),
            Some(e) => {
                out.push(1);
                e.timestamp.encode(out);
                e.replica.encode(out);
                e.value.encode(out);
            }
        }
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let at = r.offset();
        let entry = match r.byte()? {
            0 => None,
            1 => Some(LwwEntry {
                timestamp: Timestamp::decode(r)?,
                replica: ReplicaId::decode(r)?,
                value: V::decode(r)?,
            }),
            b => return Err(r.error_at(at, DecodeErrorKind::InvalidTag(b))),
        };
        Ok(LWWRegister { entry })
    }
}

impl<V: Codec> Binary for LWWRegister<V> {
    const TAG: u8 = tag::LWW_REGISTER;

    /// Sized for the stamp and a value of up to 16 bytes; larger values grow the buffer.
    fn to_bytes(&self) -> Vec<u8> {
        to_bytes_sized(self, 1 + 8 + 8 + 16)
    }
}

impl Codec for LwwVersion {
    /// 0 for empty; or 1, the timestamp, the replica and the 8-byte value digest.
    fn encode(&self, out: &mut Vec<u8>) {
        match self.stamp {
            None => out.push(0),
            Some((t, r)) => {
                out.push(1);
                t.encode(out);
                r.encode(out);
                out.extend_from_slice(&self.value_digest.to_le_bytes());
            }
        }
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let at = r.offset();
        match r.byte()? {
            0 => Ok(LwwVersion::default()),
            1 => {
                let stamp = Some((Timestamp::decode(r)?, ReplicaId::decode(r)?));
                Ok(LwwVersion {
                    stamp,
                    value_digest: r.u64_le()?,
                })
            }
            b => Err(r.error_at(at, DecodeErrorKind::InvalidTag(b))),
        }
    }
}

impl Binary for LwwVersion {
    const TAG: u8 = tag::LWW_VERSION;

    fn to_bytes(&self) -> Vec<u8> {
        to_bytes_sized(self, 1 + 8 + 8 + 8)
    }
}

impl<E: Codec + Ord + Clone> Codec for ORSet<E> {
    /// The context, then the elements in ascending order, each with its dots (a
    /// `DotMap<E, DotSet>`; see [`StoreCodec`](super::StoreCodec)).
    fn encode(&self, out: &mut Vec<u8>) {
        self.0.encode(out);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Causal::decode(r).map(ORSet)
    }
}

impl<E: Codec + Ord + Clone> Binary for ORSet<E> {
    const TAG: u8 = tag::ORSET;

    /// Sized for the context's runs and about the bytes per element that sets take (a set of
    /// `u64` encodes to 6 to 8 bytes per element, a front-coded byte string to a few), so
    /// that the buffer is not regrown a dozen times on the way.
    fn to_bytes(&self) -> Vec<u8> {
        let context = self.context();
        let runs: usize = context.replicas.values().map(|s| s.runs().len()).sum();
        let per_element = if E::BYTE_STRING {
            4
        } else {
            core::mem::size_of::<E>().clamp(4, 8)
        };
        let hint = 2
            + context.replicas.len() * (8 + 1)
            + runs * 4
            + 2
            + self.len().saturating_mul(per_element)
            + self.dot_count().saturating_sub(self.len()) * 3;
        to_bytes_sized(self, hint)
    }
}

impl<V: Codec + Ord + Clone> Codec for MVRegister<V> {
    /// The context, then the siblings in dot order (a `DotFun<V>`).
    fn encode(&self, out: &mut Vec<u8>) {
        self.0.encode(out);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Causal::decode(r).map(MVRegister)
    }
}

impl<V: Codec + Ord + Clone> Binary for MVRegister<V> {
    const TAG: u8 = tag::MV_REGISTER;

    /// Sized for the context's runs and siblings with values of about their in-memory size.
    fn to_bytes(&self) -> Vec<u8> {
        let context = self.context();
        let runs: usize = context.replicas.values().map(|s| s.runs().len()).sum();
        let hint = 2
            + context.replicas.len() * (8 + 1)
            + runs * 4
            + 2
            + self.siblings().len() * (1 + 3 + core::mem::size_of::<V>());
        to_bytes_sized(self, hint)
    }
}

/// `Codec` and `Binary` for a causal type: its `Causal<S>` encoding under the type's tag.
macro_rules! causal_binary {
    ($([$($g:tt)*] $t:ty => $tag:expr, $wrap:path;)*) => {$(
        impl<$($g)*> Codec for $t {
            /// The context, then the store (see [`StoreCodec`](super::StoreCodec)).
            fn encode(&self, out: &mut Vec<u8>) {
                self.0.encode(out);
            }
            fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                Causal::decode(r).map($wrap)
            }
        }

        impl<$($g)*> Binary for $t {
            const TAG: u8 = $tag;
        }
    )*};
}

causal_binary! {
    [] EWFlag => tag::EW_FLAG, EWFlag;
    [] CausalCounter => tag::CAUSAL_COUNTER, CausalCounter;
    [V: Codec + Ord + Clone] LWWField<V> => tag::LWW_FIELD, LWWField;
}

impl<K: Codec + Ord + Clone, V: CausalType> Codec for ORMap<K, V>
where
    V::Store: StoreCodec,
{
    /// The context, then the keys in ascending order, each with its value's store (a
    /// `DotMap<K, V::Store>`; nested values carry no context and no tag).
    fn encode(&self, out: &mut Vec<u8>) {
        self.0.encode(out);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Causal::decode(r).map(ORMap)
    }
}

impl<K: Codec + Ord + Clone, V: CausalType> Binary for ORMap<K, V>
where
    V::Store: StoreCodec,
{
    const TAG: u8 = tag::ORMAP;
}
