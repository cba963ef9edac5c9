//! The wire format of sync messages (documented in the parent module).

use alloc::vec::Vec;

use super::SyncError;
use crate::codec::{read_header, write_len, write_varint, Binary, Reader, FORMAT_VERSION};
use crate::{DecodeError, DecodeErrorKind};

/// The type tag of a sync message (second byte) in the compact layout every session writes,
/// distinct from every CRDT and version tag (see the wire format in [`sync`](super)).
pub const MESSAGE_TAG: u8 = 33;

/// The type tag of the first sync message layout (fixed 8-byte incarnations, intervals as
/// `start, end`), which sessions still read: a peer that has not upgraded yet keeps syncing.
pub const LEGACY_MESSAGE_TAG: u8 = 32;

/// CRC-32C (Castagnoli, reflected polynomial `0x82F63B78`), one table lookup per byte.
const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0x82F6_3B78
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// The CRC-32C (Castagnoli) of `bytes`: the checksum that ends every sync message, over all
/// the bytes before it (see the wire format in [`sync`](super)).
///
/// ```
/// assert_eq!(deltacrdt::sync::checksum(b"123456789"), 0xE306_9283);
/// ```
pub fn checksum(bytes: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in bytes {
        c = CRC_TABLE[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

const ACK: u8 = 1;
const REQUEST_DIGEST: u8 = 2;
const DIGEST: u8 = 4;
const DELTA: u8 = 8;
const TREE: u8 = 16;
const PARENT: u8 = 32;
const GOSSIP: u8 = 128;

/// The sender's place in the spanning tree ([`Strategy::SpanningTree`](super::Strategy)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TreeInfo {
    /// The smallest replica id the sender knows a path to.
    pub root: u64,
    /// The sender's distance to it, in links.
    pub dist: u64,
    /// Whether the receiver is the sender's parent.
    pub parent: bool,
}

/// An acknowledgement of the interval `start..end` of the buffer of incarnation `incarnation`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ack {
    pub incarnation: u64,
    pub start: u64,
    pub end: u64,
}

/// A delta covering the sender's sequence numbers `start..end` (`start == 0`: catch-up).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct DeltaPart<T> {
    pub start: u64,
    pub end: u64,
    pub payload: T,
}

/// One sync message; every part is optional and idempotent.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Message<T, V> {
    pub incarnation: u64,
    pub ack: Option<Ack>,
    pub request_digest: bool,
    pub digest: Option<V>,
    pub delta: Option<DeltaPart<T>>,
    pub tree: Option<TreeInfo>,
    /// The delta is a copy of the sender's own updates on a lazy spanning-tree link: the
    /// receiver joins it but does not acknowledge it (flag 128, only with a delta).
    pub gossip: bool,
}

impl<T: Binary, V: Binary> Message<T, V> {
    pub fn is_empty(&self) -> bool {
        self.ack.is_none() && !self.request_digest && self.digest.is_none() && self.delta.is_none()
    }

    /// The compact layout (tag [`MESSAGE_TAG`]).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32);
        out.push(FORMAT_VERSION);
        out.push(MESSAGE_TAG);
        let flags = if self.ack.is_some() { ACK } else { 0 }
            | if self.request_digest {
                REQUEST_DIGEST
            } else {
                0
            }
            | if self.digest.is_some() { DIGEST } else { 0 }
            | if self.delta.is_some() { DELTA } else { 0 }
            | if self.gossip && self.delta.is_some() {
                GOSSIP
            } else {
                0
            }
            | self
                .tree
                .map_or(0, |t| TREE | if t.parent { PARENT } else { 0 });
        out.push(flags);
        write_varint(&mut out, self.incarnation);
        if let Some(a) = &self.ack {
            write_varint(&mut out, a.incarnation);
            write_varint(&mut out, a.start);
            write_varint(&mut out, a.end - a.start);
        }
        if let Some(v) = &self.digest {
            let bytes = v.to_bytes();
            write_len(&mut out, bytes.len());
            out.extend_from_slice(&bytes);
        }
        if let Some(d) = &self.delta {
            write_varint(&mut out, d.start);
            write_varint(&mut out, d.end - d.start);
            let bytes = d.payload.to_bytes();
            write_len(&mut out, bytes.len());
            out.extend_from_slice(&bytes);
        }
        if let Some(t) = &self.tree {
            write_varint(&mut out, t.root);
            write_varint(&mut out, t.dist);
        }
        let crc = checksum(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// Decodes and checks a whole message of either layout; allocation stays proportional to
    /// `bytes.len()`.
    pub fn decode(bytes: &[u8]) -> Result<Self, SyncError> {
        let mut r = Reader::new(bytes);
        let layout = header(&mut r, bytes)?;
        let (flags, incarnation) = layout.flags_and_incarnation(&mut r)?;
        let ack = if flags & ACK != 0 {
            let incarnation = layout.incarnation(&mut r)?;
            let (start, end) = layout.interval(&mut r)?;
            Some(Ack {
                incarnation,
                start,
                end,
            })
        } else {
            None
        };
        let digest = if flags & DIGEST != 0 {
            Some(nested::<V>(&mut r)?)
        } else {
            None
        };
        let delta = if flags & DELTA != 0 {
            let (start, end) = layout.interval(&mut r)?;
            Some(DeltaPart {
                start,
                end,
                payload: nested::<T>(&mut r)?,
            })
        } else {
            None
        };
        let tree = if flags & TREE != 0 {
            Some(TreeInfo {
                root: r.varint()?,
                dist: r.varint()?,
                parent: flags & PARENT != 0,
            })
        } else {
            None
        };
        let body = r.offset();
        let mut crc = [0u8; 4];
        crc.copy_from_slice(r.take(4)?);
        r.finish()?;
        let (computed, carried) = (checksum(&bytes[..body]), u32::from_le_bytes(crc));
        if computed != carried {
            return Err(SyncError::Checksum { computed, carried });
        }
        Ok(Message {
            incarnation,
            ack,
            request_digest: flags & REQUEST_DIGEST != 0,
            digest,
            delta,
            tree,
            gossip: flags & GOSSIP != 0,
        })
    }
}

/// The two message layouts (see the wire format in [`sync`](super)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    /// Tag [`LEGACY_MESSAGE_TAG`]: incarnations as u64 little-endian, intervals as
    /// `start, end`, the flags after the incarnation.
    Legacy,
    /// Tag [`MESSAGE_TAG`]: the flags first, incarnations as varints, intervals as
    /// `start, end - start`.
    Compact,
}

/// Reads the format version and the tag, which names the layout.
fn header(r: &mut Reader<'_>, bytes: &[u8]) -> Result<Layout, DecodeError> {
    let layout = match bytes.get(1) {
        Some(&LEGACY_MESSAGE_TAG) => Layout::Legacy,
        _ => Layout::Compact,
    };
    let tag = match layout {
        Layout::Legacy => LEGACY_MESSAGE_TAG,
        Layout::Compact => MESSAGE_TAG,
    };
    read_header(r, tag).map_err(|mut e| {
        if let DecodeErrorKind::WrongType { expected, .. } = &mut e.kind {
            *expected = "sync message";
        }
        e
    })?;
    Ok(layout)
}

impl Layout {
    /// The flags (checked against the bits the layout knows) and the sender's incarnation.
    fn flags_and_incarnation(self, r: &mut Reader<'_>) -> Result<(u8, u64), DecodeError> {
        let (at, flags, incarnation) = match self {
            Layout::Legacy => {
                let incarnation = u64_le(r)?;
                (r.offset(), r.byte()?, incarnation)
            }
            Layout::Compact => {
                let at = r.offset();
                let flags = r.byte()?;
                (at, flags, r.varint()?)
            }
        };
        let known = match self {
            Layout::Legacy => ACK | REQUEST_DIGEST | DIGEST | DELTA | TREE | PARENT,
            Layout::Compact => ACK | REQUEST_DIGEST | DIGEST | DELTA | TREE | PARENT | GOSSIP,
        };
        if flags & !known != 0
            || (flags & PARENT != 0 && flags & TREE == 0)
            || (flags & GOSSIP != 0 && flags & DELTA == 0)
        {
            return Err(r.error_at(at, DecodeErrorKind::InvalidTag(flags)));
        }
        Ok((flags, incarnation))
    }

    fn incarnation(self, r: &mut Reader<'_>) -> Result<u64, DecodeError> {
        match self {
            Layout::Legacy => u64_le(r),
            Layout::Compact => r.varint(),
        }
    }

    /// An interval `start..end`, checked non-empty.
    fn interval(self, r: &mut Reader<'_>) -> Result<(u64, u64), SyncError> {
        let start = r.varint()?;
        let at = r.offset();
        let second = r.varint()?;
        let end = match self {
            Layout::Legacy => second,
            Layout::Compact => start
                .checked_add(second)
                .ok_or_else(|| r.error_at(at, DecodeErrorKind::VarintOverflow))?,
        };
        if start >= end {
            return Err(SyncError::EmptyInterval { start, end });
        }
        Ok((start, end))
    }
}

fn u64_le(r: &mut Reader<'_>) -> Result<u64, DecodeError> {
    let mut a = [0u8; 8];
    a.copy_from_slice(r.take(8)?);
    Ok(u64::from_le_bytes(a))
}

/// A length-prefixed value in the crate's binary format; error offsets count from the message start.
fn nested<X: Binary>(r: &mut Reader<'_>) -> Result<X, DecodeError> {
    let len = r.count(1)?;
    let base = r.offset();
    let slice = r.take(len)?;
    X::from_bytes(slice).map_err(|mut e| {
        e.offset += base;
        e
    })
}

/// Where the bytes of one sync message go, part by part of the wire format (see
/// [`sync`](super)). The parts add up to the message length.
///
/// ```
/// use deltacrdt::sync::{message_parts, Session, SyncConfig};
/// use deltacrdt::{ORSet, ReplicaId};
/// let mut s = Session::new(ReplicaId(1), 1, ORSet::new(), SyncConfig::default());
/// s.add_neighbour(ReplicaId(2));
/// s.update(|set| set.add(ReplicaId(1), 7u64)).unwrap();
/// s.tick();
/// let t = s.poll_transmit().unwrap();
/// let p = message_parts(&t.bytes).unwrap();
/// assert_eq!((p.header, p.checksum), (4, 4));
/// assert_eq!(p.total(), t.bytes.len());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct MessageParts {
    /// Format version, tag, flags and sender incarnation.
    pub header: usize,
    /// The acknowledgement: its incarnation and interval.
    pub ack: usize,
    /// The digest with its length.
    pub digest: usize,
    /// A delta's interval and length.
    pub delta_framing: usize,
    /// The delta itself, in the crate's binary format (its causal context included).
    pub delta: usize,
    /// The spanning-tree information.
    pub tree: usize,
    /// The CRC-32C trailer.
    pub checksum: usize,
}

impl MessageParts {
    /// The message length.
    pub fn total(&self) -> usize {
        self.header
            + self.ack
            + self.digest
            + self.delta_framing
            + self.delta
            + self.tree
            + self.checksum
    }

    /// Adds another message's parts.
    pub fn add(&mut self, o: &MessageParts) {
        self.header += o.header;
        self.ack += o.ack;
        self.digest += o.digest;
        self.delta_framing += o.delta_framing;
        self.delta += o.delta;
        self.tree += o.tree;
        self.checksum += o.checksum;
    }
}

/// Splits a sync message into its parts without decoding the digest or the delta (for
/// measurements; [`Session::handle_message`](super::Session::handle_message) checks
/// everything).
///
/// # Errors
/// [`SyncError::Malformed`] when the layout does not parse.
pub fn message_parts(bytes: &[u8]) -> Result<MessageParts, SyncError> {
    let mut r = Reader::new(bytes);
    let layout = header(&mut r, bytes)?;
    let (flags, _) = layout.flags_and_incarnation(&mut r)?;
    let mut p = MessageParts {
        header: r.offset(),
        ..MessageParts::default()
    };
    let mut at = r.offset();
    let mut part = |r: &Reader<'_>| {
        let n = r.offset() - at;
        at = r.offset();
        n
    };
    if flags & ACK != 0 {
        layout.incarnation(&mut r)?;
        r.varint()?;
        r.varint()?;
        p.ack = part(&r);
    }
    if flags & DIGEST != 0 {
        let len = r.count(1)?;
        r.take(len)?;
        p.digest = part(&r);
    }
    if flags & DELTA != 0 {
        r.varint()?;
        r.varint()?;
        let len = r.count(1)?;
        p.delta_framing = part(&r);
        r.take(len)?;
        p.delta = part(&r);
    }
    if flags & TREE != 0 {
        r.varint()?;
        r.varint()?;
        p.tree = part(&r);
    }
    r.take(4)?;
    r.finish()?;
    p.checksum = part(&r);
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DeltaCrdt, GCounter, ReplicaId, VersionVector};
    use alloc::string::ToString;
    use alloc::vec;

    type Msg = Message<GCounter, VersionVector>;

    /// The legacy layout, as sessions wrote it before the compact one.
    fn legacy(m: &Msg) -> Vec<u8> {
        let mut out = vec![1, LEGACY_MESSAGE_TAG];
        out.extend_from_slice(&m.incarnation.to_le_bytes());
        let flags = u8::from(m.ack.is_some())
            | u8::from(m.request_digest) << 1
            | u8::from(m.digest.is_some()) << 2
            | u8::from(m.delta.is_some()) << 3
            | m.tree
                .map_or(0, |t| TREE | if t.parent { PARENT } else { 0 });
        out.push(flags);
        if let Some(a) = &m.ack {
            out.extend_from_slice(&a.incarnation.to_le_bytes());
            write_varint(&mut out, a.start);
            write_varint(&mut out, a.end);
        }
        if let Some(v) = &m.digest {
            let b = v.to_bytes();
            write_len(&mut out, b.len());
            out.extend_from_slice(&b);
        }
        if let Some(d) = &m.delta {
            write_varint(&mut out, d.start);
            write_varint(&mut out, d.end);
            let b = d.payload.to_bytes();
            write_len(&mut out, b.len());
            out.extend_from_slice(&b);
        }
        if let Some(t) = &m.tree {
            write_varint(&mut out, t.root);
            write_varint(&mut out, t.dist);
        }
        let crc = checksum(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    fn sample(incarnation: u64, seq: u64) -> Msg {
        let mut c = GCounter::new();
        c.inc(ReplicaId(7), 3).unwrap();
        Message {
            incarnation,
            ack: Some(Ack {
                incarnation: incarnation + 1,
                start: seq,
                end: seq + 2,
            }),
            request_digest: true,
            digest: Some(c.version()),
            delta: Some(DeltaPart {
                start: seq,
                end: seq + 1,
                payload: c,
            }),
            tree: Some(TreeInfo {
                root: 1,
                dist: 3,
                parent: true,
            }),
            gossip: false,
        }
    }

    #[test]
    fn both_layouts_decode_to_the_same_message() {
        for (inc, seq) in [(1, 0), (2, 1_000), (u64::MAX - 1, u64::MAX - 3)] {
            let m = sample(inc, seq);
            let compact = m.encode();
            assert_eq!(compact[1], MESSAGE_TAG);
            assert_eq!(Msg::decode(&compact).unwrap(), m);
            assert_eq!(Msg::decode(&legacy(&m)).unwrap(), m);
            for bytes in [compact, legacy(&m)] {
                assert_eq!(message_parts(&bytes).unwrap().total(), bytes.len());
            }
        }
    }

    #[test]
    fn the_compact_layout_is_smaller_and_its_header_is_four_bytes_for_small_incarnations() {
        let m = sample(1, 40);
        let (c, l) = (m.encode(), legacy(&m));
        let (pc, pl) = (message_parts(&c).unwrap(), message_parts(&l).unwrap());
        assert_eq!((pc.header, pl.header), (4, 11));
        // ack: incarnation 1 byte (8 before), start, length.
        assert_eq!((pc.ack, pl.ack), (3, 10));
        assert_eq!(pc.delta, pl.delta);
        assert_eq!(c.len() + 14, l.len());
    }

    #[test]
    fn an_interval_whose_end_overflows_is_malformed() {
        let mut m = vec![FORMAT_VERSION, MESSAGE_TAG, DELTA, 1];
        write_varint(&mut m, u64::MAX);
        write_varint(&mut m, 1);
        m.push(0);
        let crc = checksum(&m);
        m.extend_from_slice(&crc.to_le_bytes());
        assert!(matches!(Msg::decode(&m), Err(SyncError::Malformed(_))));
        // A zero length is an empty interval, as `start >= end` in the legacy layout.
        let mut z = vec![FORMAT_VERSION, MESSAGE_TAG, DELTA, 1, 5, 0, 0];
        let crc = checksum(&z);
        z.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(
            Msg::decode(&z),
            Err(SyncError::EmptyInterval { start: 5, end: 5 })
        );
    }

    #[test]
    fn the_copy_flag_round_trips_only_with_a_delta_and_only_in_the_compact_layout() {
        let mut m = sample(1, 40);
        m.gossip = true;
        let bytes = m.encode();
        assert_eq!(bytes[2] & GOSSIP, GOSSIP);
        assert_eq!(Msg::decode(&bytes).unwrap(), m);
        assert_eq!(message_parts(&bytes).unwrap().total(), bytes.len());
        // Without a delta the flag is not written, and a message that sets it is malformed.
        m.delta = None;
        let bytes = m.encode();
        assert_eq!(bytes[2] & GOSSIP, 0);
        assert!(!Msg::decode(&bytes).unwrap().gossip);
        let mut bad = vec![FORMAT_VERSION, MESSAGE_TAG, GOSSIP, 1];
        let crc = checksum(&bad);
        bad.extend_from_slice(&crc.to_le_bytes());
        assert!(matches!(Msg::decode(&bad), Err(SyncError::Malformed(_))));
        // The legacy layout never had it.
        let mut legacy = legacy(&sample(1, 40));
        legacy[10] |= GOSSIP;
        let body = legacy.len() - 4;
        let crc = checksum(&legacy[..body]);
        legacy[body..].copy_from_slice(&crc.to_le_bytes());
        assert!(matches!(Msg::decode(&legacy), Err(SyncError::Malformed(_))));
    }

    #[test]
    fn an_unknown_tag_or_flag_is_refused_with_a_typed_error() {
        let e = Msg::decode(&[FORMAT_VERSION, 34, 0, 1, 0, 0, 0, 0]).unwrap_err();
        assert!(e.to_string().contains("sync message"), "{e}");
        let e = Msg::decode(&[FORMAT_VERSION, MESSAGE_TAG, 64, 1, 0, 0, 0, 0]).unwrap_err();
        assert!(matches!(e, SyncError::Malformed(_)), "{e}");
    }
}
