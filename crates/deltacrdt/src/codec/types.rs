//! [`Codec`] and [`Binary`] for the causal types, the CRDTs and their versions.

use alloc::vec::Vec;

use smallvec::SmallVec;

use super::{tag, write_len, write_varint, Binary, Codec, DecodeError, DecodeErrorKind, Reader};
use crate::causal::seq_set::SeqSet;
use crate::causal::VecMap;
use crate::set::{ChunkMap, Dots};
use crate::{
    CausalContext, CausalVersion, Dot, GCounter, LWWRegister, LwwEntry, LwwVersion, MVRegister,
    ORSet, PNCounter, PNVersion, ReplicaId, Timestamp, VersionVector,
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
fn ascending_replica(
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

/// The replicas of a context, in order: dots name their replica by position in this table.
fn replica_table(c: &CausalContext) -> Vec<ReplicaId> {
    c.replicas.keys().copied().collect()
}

fn encode_dot(table: &[ReplicaId], d: Dot, out: &mut Vec<u8>) {
    // Store dots are always in the context, so the replica is in the table.
    let i = table.binary_search(&d.replica).unwrap_or(0);
    write_len(out, i);
    write_varint(out, d.seq);
}

/// Reads a dot that must be in `context` and greater than `prev`.
fn decode_dot(
    r: &mut Reader<'_>,
    table: &[ReplicaId],
    context: &CausalContext,
    prev: Option<Dot>,
) -> Result<Dot, DecodeError> {
    let at = r.offset();
    let i = r.varint()?;
    let replica = *usize::try_from(i)
        .ok()
        .and_then(|i| table.get(i))
        .ok_or_else(|| r.error_at(at, DecodeErrorKind::BadReplicaIndex(i)))?;
    let seq = r.positive()?;
    let dot = Dot::new(replica, seq);
    if prev.is_some_and(|p| dot <= p) {
        return Err(r.error_at(at, DecodeErrorKind::NotAscending));
    }
    if !context.contains(dot) {
        return Err(r.error_at(at, DecodeErrorKind::DotNotInContext));
    }
    Ok(dot)
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

/// Encodes `value` with its header into one buffer of `body_hint` bytes plus the header: a
/// single allocation when the hint is right (the default `to_bytes` starts at 16 bytes and
/// grows, reallocating once or more for all but the smallest values).
fn to_bytes_sized<T: Binary>(value: &T, body_hint: usize) -> Vec<u8> {
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

/// How often a front-coded run of set elements starts afresh: every element at a multiple of
/// this position is written whole (as its `Codec` encoding, which for byte strings is the
/// length and the bytes), the others as the length of the prefix they share with the element
/// before, the length of the rest, and the rest. Restarts bound what decoding may allocate:
/// each element rebuilt within a run is at most as long as the bytes read since the run's
/// start, so the elements of a run take at most this many times the input they came from.
const FRONT_CODING_RESTART: usize = 16;

/// Reads one front-coded element after `prev` (see [`FRONT_CODING_RESTART`]) and leaves its
/// bytes in `prev`. Checks that the shared length is exactly what the two share, so that
/// every set has one encoding.
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
    // element before, and not followed by a byte the two have in common.
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

impl<E: Codec + Ord + Clone> Codec for ORSet<E> {
    /// The context, then the elements in ascending order, each with its dots.
    fn encode(&self, out: &mut Vec<u8>) {
        self.context.encode(out);
        let table = replica_table(&self.context);
        write_len(out, self.entries.len());
        let mut prev: &[u8] = &[];
        for (i, (e, dots)) in self.entries.iter().enumerate() {
            if E::BYTE_STRING {
                let cur = e.as_byte_string();
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
                e.encode(out);
            }
            write_len(out, dots.len());
            for d in dots {
                encode_dot(&table, *d, out);
            }
        }
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let context = CausalContext::decode(r)?;
        let table = replica_table(&context);
        let n = r.count(4)?;
        let mut entries: ChunkMap<E, Dots> = ChunkMap::default();
        let mut index = ChunkMap::default();
        let mut prev: Vec<u8> = Vec::new();
        for i in 0..n {
            let e = if E::BYTE_STRING {
                let e = front_coded(r, &mut prev, i % FRONT_CODING_RESTART == 0)?;
                if entries.last().is_some_and(|(last, _)| *last >= e) {
                    return Err(r.error(DecodeErrorKind::NotAscending));
                }
                e
            } else {
                ascending_key(r, entries.last().map(|(e, _)| e))?
            };
            let at = r.offset();
            let k = r.count(2)?;
            if k == 0 {
                return Err(r.error_at(at, DecodeErrorKind::Zero));
            }
            let mut dots: Dots = SmallVec::with_capacity(k);
            for _ in 0..k {
                let at = r.offset();
                let d = decode_dot(r, &table, &context, dots.last().copied())?;
                if index.insert(d, e.clone()).is_some() {
                    return Err(r.error_at(at, DecodeErrorKind::DuplicateDot));
                }
                dots.push(d);
            }
            entries.push_last(e, dots);
        }
        let mut live = crate::causal::LiveDigests::new();
        for d in index.keys() {
            crate::causal::toggle(&mut live, d.replica, d.seq);
        }
        Ok(ORSet {
            entries,
            index,
            context,
            live,
        })
    }
}

impl<E: Codec + Ord + Clone> Binary for ORSet<E> {
    const TAG: u8 = tag::ORSET;
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

/// Reads `n` siblings of an [`MVRegister`] whose context is `context`: each dot must name a
/// replica of the context, ascend, and be in the context.
fn decode_siblings<V: Codec>(
    r: &mut Reader<'_>,
    context: &CausalContext,
    n: usize,
    siblings: &mut SmallVec<[(Dot, V); 1]>,
) -> Result<(), DecodeError> {
    // Dots ascend, so their replica indexes never go down: a cursor over the context (no
    // table) resolves each index and gives the replica's seen sequence numbers.
    let count = context.replicas.len() as u64;
    let mut replicas = context.replicas.iter();
    let (mut index, mut at) = (0u64, replicas.next());
    for _ in 0..n {
        let start = r.offset();
        let i = r.varint()?;
        if i >= count {
            return Err(r.error_at(start, DecodeErrorKind::BadReplicaIndex(i)));
        }
        let seq = r.positive()?;
        if i < index {
            // An earlier replica than the previous dot's.
            return Err(r.error_at(start, DecodeErrorKind::NotAscending));
        }
        while index < i {
            at = replicas.next();
            index += 1;
        }
        let Some((&replica, seen)) = at else {
            return Err(r.error_at(start, DecodeErrorKind::BadReplicaIndex(i)));
        };
        let dot = Dot::new(replica, seq);
        if siblings.last().is_some_and(|(p, _)| dot <= *p) {
            return Err(r.error_at(start, DecodeErrorKind::NotAscending));
        }
        if !seen.contains(seq) {
            return Err(r.error_at(start, DecodeErrorKind::DotNotInContext));
        }
        siblings.push((dot, V::decode(r)?));
    }
    Ok(())
}

impl<V: Codec + Ord + Clone> Codec for MVRegister<V> {
    /// The context, then the siblings in dot order.
    fn encode(&self, out: &mut Vec<u8>) {
        self.context.encode(out);
        write_len(out, self.siblings.len());
        // Siblings are sorted by dot and the context by replica: one walk finds each
        // sibling's replica index, with no table.
        let mut replicas = self.context.replicas.keys();
        let (mut index, mut at) = (0usize, replicas.next());
        for (d, v) in &self.siblings {
            while at.is_some_and(|r| *r < d.replica) {
                at = replicas.next();
                index += 1;
            }
            write_len(out, index);
            write_varint(out, d.seq);
            v.encode(out);
        }
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let context = CausalContext::decode(r)?;
        let n = r.count(3)?;
        let mut siblings: SmallVec<[(Dot, V); 1]> = SmallVec::with_capacity(n);
        decode_siblings(r, &context, n, &mut siblings)?;
        Ok(MVRegister { siblings, context })
    }
}

impl<V: Codec + Ord + Clone> Binary for MVRegister<V> {
    const TAG: u8 = tag::MV_REGISTER;

    /// Sized for the context's runs and siblings with values of about their in-memory size.
    fn to_bytes(&self) -> Vec<u8> {
        let runs: usize = self.context.replicas.values().map(|s| s.runs().len()).sum();
        let hint = 2
            + self.context.replicas.len() * (8 + 1)
            + runs * 4
            + 2
            + self.siblings.len() * (1 + 3 + core::mem::size_of::<V>());
        to_bytes_sized(self, hint)
    }
}
