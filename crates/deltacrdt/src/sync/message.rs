//! The wire format of sync messages (documented in the parent module).

use alloc::vec::Vec;

use super::SyncError;
use crate::codec::{read_header, write_len, write_varint, Binary, Reader, FORMAT_VERSION};
use crate::{DecodeError, DecodeErrorKind};

/// The type tag of a sync message (second byte), distinct from every CRDT and version tag.
pub const MESSAGE_TAG: u8 = 32;

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
}

impl<T: Binary, V: Binary> Message<T, V> {
    pub fn is_empty(&self) -> bool {
        self.ack.is_none() && !self.request_digest && self.digest.is_none() && self.delta.is_none()
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32);
        out.push(FORMAT_VERSION);
        out.push(MESSAGE_TAG);
        out.extend_from_slice(&self.incarnation.to_le_bytes());
        let flags = if self.ack.is_some() { ACK } else { 0 }
            | if self.request_digest {
                REQUEST_DIGEST
            } else {
                0
            }
            | if self.digest.is_some() { DIGEST } else { 0 }
            | if self.delta.is_some() { DELTA } else { 0 }
            | self
                .tree
                .map_or(0, |t| TREE | if t.parent { PARENT } else { 0 });
        out.push(flags);
        if let Some(a) = &self.ack {
            out.extend_from_slice(&a.incarnation.to_le_bytes());
            write_varint(&mut out, a.start);
            write_varint(&mut out, a.end);
        }
        if let Some(v) = &self.digest {
            let bytes = v.to_bytes();
            write_len(&mut out, bytes.len());
            out.extend_from_slice(&bytes);
        }
        if let Some(d) = &self.delta {
            write_varint(&mut out, d.start);
            write_varint(&mut out, d.end);
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

    /// Decodes and checks a whole message; allocation stays proportional to `bytes.len()`.
    pub fn decode(bytes: &[u8]) -> Result<Self, SyncError> {
        let mut r = Reader::new(bytes);
        read_header(&mut r, MESSAGE_TAG)?;
        let incarnation = u64_le(&mut r)?;
        let at = r.offset();
        let flags = r.byte()?;
        let known = ACK | REQUEST_DIGEST | DIGEST | DELTA | TREE | PARENT;
        if flags & !known != 0 || (flags & PARENT != 0 && flags & TREE == 0) {
            return Err(r.error_at(at, DecodeErrorKind::InvalidTag(flags)).into());
        }
        let ack = if flags & ACK != 0 {
            let incarnation = u64_le(&mut r)?;
            let (start, end) = interval(&mut r)?;
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
            let (start, end) = interval(&mut r)?;
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
        })
    }
}

fn u64_le(r: &mut Reader<'_>) -> Result<u64, DecodeError> {
    let mut a = [0u8; 8];
    a.copy_from_slice(r.take(8)?);
    Ok(u64::from_le_bytes(a))
}

fn interval(r: &mut Reader<'_>) -> Result<(u64, u64), SyncError> {
    let start = r.varint()?;
    let end = r.varint()?;
    if start >= end {
        return Err(SyncError::EmptyInterval { start, end });
    }
    Ok((start, end))
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
/// assert_eq!((p.header, p.checksum), (11, 4));
/// assert_eq!(p.total(), t.bytes.len());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct MessageParts {
    /// Format version, tag, sender incarnation and flags.
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
    read_header(&mut r, MESSAGE_TAG)?;
    u64_le(&mut r)?;
    let flags = r.byte()?;
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
        u64_le(&mut r)?;
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
