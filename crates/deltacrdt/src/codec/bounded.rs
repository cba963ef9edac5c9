//! [`Codec`] and [`Binary`] for [`BoundedCounter`] and [`BoundedVersion`].
//!
//! Both have the same body:
//!
//! ```text
//! increments   version vector: count, then (replica id: 8 LE bytes, total: varint > 0) ascending
//! decrements   version vector, as above
//! transfers    senders: varint, then per sender, ascending by id:
//!                id: 8 LE bytes, receivers: varint > 0, then per receiver, ascending by id:
//!                  id: 8 LE bytes (not the sender's), total: varint > 0
//! ```
//!
//! **Valid values.** Exactly the canonical encodings: ascending ids, positive totals (zero
//! entries are not written), shortest varints, and no transfer from a replica to itself,
//! which no operation produces. Nothing is required of the balances: a delta, or a state
//! that received deltas out of causal order, legitimately holds a decrement or a transfer
//! without what funded it, so a replica's rights and even the value may be negative in a
//! valid value (see [`BoundedCounter`]). Every sum is computed in `i128`, so no value
//! decodes to a wrapped balance.

use alloc::vec::Vec;

use smallvec::SmallVec;

use super::{tag, write_len, write_varint, Binary, Codec, DecodeError, DecodeErrorKind, Reader};
use crate::counter::{BoundedCounter, BoundedVersion, Transfers};
use crate::{ReplicaId, VersionVector};

/// The fewest bytes a sender's group of the transfer matrix takes: its id, a receiver count
/// and one receiver with a total.
const MIN_SENDER_BYTES: usize = 8 + 1 + 8 + 1;
/// The fewest bytes one receiver of a sender's group takes.
const MIN_RECEIVER_BYTES: usize = 8 + 1;

fn encode_transfers(t: &Transfers, out: &mut Vec<u8>) {
    let rows = t.entries.chunk_by(|a, b| a.0 .0 == b.0 .0);
    write_len(out, rows.clone().count());
    for row in rows {
        row[0].0 .0.encode(out);
        write_len(out, row.len());
        for &((_, to), total) in row {
            to.encode(out);
            write_varint(out, total);
        }
    }
}

/// Reads a replica id that must be greater than `prev`.
fn id_after(r: &mut Reader<'_>, prev: Option<ReplicaId>) -> Result<ReplicaId, DecodeError> {
    let at = r.offset();
    let id = ReplicaId::decode(r)?;
    match prev {
        Some(p) if id <= p => Err(r.error_at(at, DecodeErrorKind::NotAscending)),
        _ => Ok(id),
    }
}

fn decode_transfers(r: &mut Reader<'_>) -> Result<Transfers, DecodeError> {
    let senders = r.count(MIN_SENDER_BYTES)?;
    let mut entries = SmallVec::new();
    let mut prev_from = None;
    for _ in 0..senders {
        let from = id_after(r, prev_from)?;
        prev_from = Some(from);
        let at = r.offset();
        let receivers = r.count(MIN_RECEIVER_BYTES)?;
        if receivers == 0 {
            return Err(r.error_at(at, DecodeErrorKind::Zero));
        }
        // Bounded by the input: each receiver takes at least MIN_RECEIVER_BYTES.
        entries.reserve(receivers);
        let mut prev_to = None;
        for _ in 0..receivers {
            let at = r.offset();
            let to = id_after(r, prev_to)?;
            if to == from {
                return Err(r.error_at(at, DecodeErrorKind::SelfTransfer));
            }
            prev_to = Some(to);
            let total = r.positive()?;
            entries.push(((from, to), total));
        }
    }
    Ok(Transfers { entries })
}

/// The encoded body length when every total fits three varint bytes (larger ones grow the
/// buffer once).
fn body_hint(inc: &VersionVector, dec: &VersionVector, t: &Transfers) -> usize {
    3 + (inc.len() + dec.len()) * (8 + 3) + t.entries.len() * (8 + 8 + 1 + 3)
}

fn to_bytes_with_hint<T: Binary>(value: &T, hint: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + hint);
    out.push(super::FORMAT_VERSION);
    out.push(T::TAG);
    value.encode(&mut out);
    out
}

impl Codec for BoundedCounter {
    fn encode(&self, out: &mut Vec<u8>) {
        self.inc.encode(out);
        self.dec.encode(out);
        encode_transfers(&self.transfers, out);
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(BoundedCounter {
            inc: VersionVector::decode(r)?,
            dec: VersionVector::decode(r)?,
            transfers: decode_transfers(r)?,
        })
    }
}

impl Binary for BoundedCounter {
    const TAG: u8 = tag::BOUNDED_COUNTER;

    fn to_bytes(&self) -> Vec<u8> {
        to_bytes_with_hint(self, body_hint(&self.inc, &self.dec, &self.transfers))
    }
}

impl Codec for BoundedVersion {
    fn encode(&self, out: &mut Vec<u8>) {
        self.inc.encode(out);
        self.dec.encode(out);
        encode_transfers(&self.transfers, out);
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(BoundedVersion {
            inc: VersionVector::decode(r)?,
            dec: VersionVector::decode(r)?,
            transfers: decode_transfers(r)?,
        })
    }
}

impl Binary for BoundedVersion {
    const TAG: u8 = tag::BOUNDED_VERSION;

    fn to_bytes(&self) -> Vec<u8> {
        to_bytes_with_hint(self, body_hint(&self.inc, &self.dec, &self.transfers))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DeltaCrdt, Lattice};
    use alloc::vec;

    fn id(n: u8) -> [u8; 8] {
        u64::from(n).to_le_bytes()
    }

    /// Header, empty increments and decrements, then `transfers`.
    fn with_transfers(transfers: &[&[u8]]) -> Vec<u8> {
        let mut out = vec![super::super::FORMAT_VERSION, tag::BOUNDED_COUNTER, 0, 0];
        for part in transfers {
            out.extend_from_slice(part);
        }
        out
    }

    #[test]
    fn layout_is_as_documented() {
        let (a, b, c) = (ReplicaId(1), ReplicaId(2), ReplicaId(3));
        let mut x = BoundedCounter::new();
        let _ = x.inc(a, 10).unwrap();
        let _ = x.dec(a, 1).unwrap();
        let _ = x.transfer(a, c, 2).unwrap();
        let _ = x.transfer(a, b, 300).unwrap_err();
        let _ = x.transfer(a, b, 3).unwrap();
        let mut expected = vec![super::super::FORMAT_VERSION, tag::BOUNDED_COUNTER];
        expected.extend([1]); // one increment
        expected.extend(id(1));
        expected.extend([10]);
        expected.extend([1]); // one decrement
        expected.extend(id(1));
        expected.extend([1]);
        expected.extend([1]); // one sender
        expected.extend(id(1));
        expected.extend([2]); // two receivers
        expected.extend(id(2));
        expected.extend([3]);
        expected.extend(id(3));
        expected.extend([2]);
        assert_eq!(x.to_bytes(), expected);
        assert_eq!(BoundedCounter::from_bytes(&expected), Ok(x.clone()));
        let mut version = expected.clone();
        version[1] = tag::BOUNDED_VERSION;
        assert_eq!(x.version().to_bytes(), version);
        assert_eq!(BoundedVersion::from_bytes(&version), Ok(x.version()));
        // One decrement's delta: 14 bytes.
        let d = x.dec(a, 1).unwrap();
        assert_eq!(d.to_bytes().len(), 14);
    }

    #[test]
    fn rejects_non_canonical_transfers() {
        let kind = |bytes: &[u8]| BoundedCounter::from_bytes(bytes).unwrap_err().kind;
        // A transfer to oneself.
        let bytes = with_transfers(&[&[1], &id(1), &[1], &id(1), &[5]]);
        assert_eq!(kind(&bytes), DecodeErrorKind::SelfTransfer);
        // A sender with no receivers (and bytes enough after it for one).
        let bytes = with_transfers(&[&[1], &id(1), &[0], &[0; 9]]);
        assert_eq!(kind(&bytes), DecodeErrorKind::Zero);
        // A zero total.
        let bytes = with_transfers(&[&[1], &id(1), &[1], &id(2), &[0]]);
        assert_eq!(kind(&bytes), DecodeErrorKind::Zero);
        // Receivers out of order, or repeated.
        let bytes = with_transfers(&[&[1], &id(1), &[2], &id(3), &[1], &id(2), &[1]]);
        assert_eq!(kind(&bytes), DecodeErrorKind::NotAscending);
        let bytes = with_transfers(&[&[1], &id(1), &[2], &id(3), &[1], &id(3), &[1]]);
        assert_eq!(kind(&bytes), DecodeErrorKind::NotAscending);
        // Senders out of order.
        let bytes = with_transfers(&[&[2], &id(2), &[1], &id(1), &[1], &id(1), &[1], &id(3), &[1]]);
        assert_eq!(kind(&bytes), DecodeErrorKind::NotAscending);
        // A count of senders the input cannot hold is refused before allocating.
        let bytes = with_transfers(&[&[0xff, 0xff, 0xff, 0xff, 0x0f]]);
        assert!(matches!(
            kind(&bytes),
            DecodeErrorKind::LengthTooLarge { .. }
        ));
        let bytes = with_transfers(&[&[1], &id(1), &[0xff, 0xff, 0x03]]);
        assert!(matches!(
            kind(&bytes),
            DecodeErrorKind::LengthTooLarge { .. }
        ));
        // The valid neighbour of these decodes.
        let bytes = with_transfers(&[&[1], &id(1), &[1], &id(2), &[5]]);
        let x = BoundedCounter::from_bytes(&bytes).unwrap();
        assert_eq!(x.transferred(ReplicaId(1), ReplicaId(2)), 5);
    }

    #[test]
    fn unfunded_deltas_decode() {
        // A transfer's delta alone: the sender has negative rights, and that is valid.
        let (a, b) = (ReplicaId(1), ReplicaId(2));
        let mut x = BoundedCounter::new();
        let _ = x.inc(a, u64::MAX).unwrap();
        let _ = x.inc(b, u64::MAX).unwrap();
        let d = x.transfer(a, b, u64::MAX).unwrap();
        let back = BoundedCounter::from_bytes(&d.to_bytes()).unwrap();
        assert_eq!(back, d);
        assert_eq!(back.local_rights(a), -i128::from(u64::MAX));
        assert_eq!(back.value(), 0);
        let mut all = BoundedCounter::from_bytes(&x.to_bytes()).unwrap();
        assert!(!all.join(back));
        assert_eq!(all.local_rights(b), 2 * i128::from(u64::MAX));
        assert_eq!(all.value(), 2 * i128::from(u64::MAX));
    }
}
