//! The binary format: compact, versioned, canonical, and safe on untrusted input.
//!
//! Every top-level encoding starts with two bytes: the format version
//! ([`FORMAT_VERSION`]) and a type tag (which CRDT, delta or version it is). The rest is
//! the value's body: LEB128 integers, replica ids as 8 little-endian bytes, causal contexts as
//! runs of sequence numbers, and dots as (replica index, sequence number) pairs. The sorted
//! elements of a set of byte strings (`String`, `Vec<u8>`; see [`Codec::BYTE_STRING`]) are
//! front-coded: each is how much of the one before it keeps, then the rest (in version 2, both
//! lengths in one header byte, and no dot for an element holding the dot after its
//! predecessor's), and every 16th is written whole, which bounds what decoding allocates to a
//! constant multiple of the input (about 43 bytes per input byte at worst with version 2's
//! denser coding, 33 with version 1's, measured by `fuzz/tests/decode_heap.rs`).
//!
//! **Canonical.** Equal values encode to equal bytes: maps and dots are written in ascending
//! order, integers in their shortest form, and decoding rejects anything else. So bytes can be
//! compared, hashed and deduplicated.
//!
//! **Safe.** Decoding never panics, checks every length against the bytes left before
//! allocating (memory stays within a small constant multiple of the input length), validates
//! every invariant of the decoded value (dots in the context, one element per dot, ...), and
//! reports a [`DecodeError`] naming the problem and its byte offset.
//!
//! Elements and values go through the [`Codec`] trait, implemented for the integer types,
//! `bool`, `String`, `Vec<u8>`, `Option`, and tuples of up to four such values.
//!
//! ```
//! use deltacrdt::{codec::Binary, ORSet, ReplicaId};
//! let mut s = ORSet::new();
//! s.add(ReplicaId(1), String::from("hello")).unwrap();
//! let bytes = s.to_bytes();
//! assert_eq!(ORSet::<String>::from_bytes(&bytes).unwrap(), s);
//! assert!(ORSet::<String>::from_bytes(&bytes[..bytes.len() - 1]).is_err());
//! ```

mod bounded;
mod error;
mod primitives;
mod reader;
#[cfg(feature = "serde")]
mod serde_impl;
mod store;
mod types;

use alloc::vec::Vec;

pub use error::{DecodeError, DecodeErrorKind};
pub use reader::{write_len, write_varint, Reader};
pub use store::{DotReader, DotWriter, StoreCodec};

/// The format version written as the first byte of every encoding.
///
/// | version | what changed |
/// |---|---|
/// | 1 | the first format |
/// | 2 | maps and sets keyed by byte strings (`ORSet<String>`, `ORMap<Vec<u8>, _>`, ...): one header byte per key for its front coding, and a key whose store is the single dot following the previous key's single dot (a set built by adds in key order) writes no dot (see `codec/store.rs`). Every other layout is that of version 1. |
///
/// Decoders read every version from [`OLDEST_FORMAT_VERSION`] to this one, so bytes written by
/// earlier releases stay readable; encoders write this one.
pub const FORMAT_VERSION: u8 = 2;

/// The oldest format version decoders still read.
pub const OLDEST_FORMAT_VERSION: u8 = 1;

/// Type tags: the second byte of every encoding.
pub mod tag {
    /// [`GCounter`](crate::GCounter).
    pub const GCOUNTER: u8 = 1;
    /// [`PNCounter`](crate::PNCounter).
    pub const PNCOUNTER: u8 = 2;
    /// [`ORSet`](crate::ORSet).
    pub const ORSET: u8 = 3;
    /// [`LWWRegister`](crate::LWWRegister).
    pub const LWW_REGISTER: u8 = 4;
    /// [`MVRegister`](crate::MVRegister).
    pub const MV_REGISTER: u8 = 5;
    /// [`BoundedCounter`](crate::BoundedCounter).
    pub const BOUNDED_COUNTER: u8 = 6;
    /// [`ORMap`](crate::ORMap) (of any key and value types: nested types carry no tag).
    pub const ORMAP: u8 = 7;
    /// [`EWFlag`](crate::EWFlag).
    pub const EW_FLAG: u8 = 8;
    /// [`CausalCounter`](crate::CausalCounter).
    pub const CAUSAL_COUNTER: u8 = 9;
    /// [`LWWField`](crate::LWWField).
    pub const LWW_FIELD: u8 = 10;
    /// [`VersionVector`](crate::VersionVector).
    pub const VERSION_VECTOR: u8 = 16;
    /// [`CausalContext`](crate::CausalContext).
    pub const CAUSAL_CONTEXT: u8 = 17;
    /// [`PNVersion`](crate::PNVersion).
    pub const PN_VERSION: u8 = 18;
    /// [`LwwVersion`](crate::LwwVersion).
    pub const LWW_VERSION: u8 = 19;
    /// [`CausalVersion`](crate::CausalVersion).
    pub const CAUSAL_VERSION: u8 = 20;
    /// [`BoundedVersion`](crate::BoundedVersion).
    pub const BOUNDED_VERSION: u8 = 21;
}

/// A readable name for a type tag, for error messages.
pub fn type_name(tag: u8) -> &'static str {
    match tag {
        tag::GCOUNTER => "GCounter",
        tag::PNCOUNTER => "PNCounter",
        tag::ORSET => "ORSet",
        tag::LWW_REGISTER => "LWWRegister",
        tag::MV_REGISTER => "MVRegister",
        tag::BOUNDED_COUNTER => "BoundedCounter",
        tag::ORMAP => "ORMap",
        tag::EW_FLAG => "EWFlag",
        tag::CAUSAL_COUNTER => "CausalCounter",
        tag::LWW_FIELD => "LWWField",
        tag::VERSION_VECTOR => "VersionVector",
        tag::CAUSAL_CONTEXT => "CausalContext",
        tag::PN_VERSION => "PNVersion",
        tag::LWW_VERSION => "LwwVersion",
        tag::CAUSAL_VERSION => "CausalVersion",
        tag::BOUNDED_VERSION => "BoundedVersion",
        _ => "unknown type",
    }
}

/// A value that can be written to and read from the binary format (without a header).
///
/// Implement it for your own element types by writing their fields with the existing
/// impls; the encoding must be canonical (equal values, equal bytes) and must order like
/// `Ord` does not matter, but decoding must reject anything `encode` would not produce.
///
/// ```
/// use deltacrdt::codec::{Codec, Reader};
/// let mut out = Vec::new();
/// (7u32, String::from("x")).encode(&mut out);
/// let mut r = Reader::new(&out);
/// assert_eq!(<(u32, String)>::decode(&mut r).unwrap(), (7, "x".to_string()));
/// ```
pub trait Codec: Sized {
    /// Appends the encoding of `self` to `out`.
    fn encode(&self, out: &mut Vec<u8>);

    /// Reads a value, checking everything.
    ///
    /// # Errors
    /// A [`DecodeError`] naming the problem and its offset.
    fn decode(input: &mut Reader<'_>) -> Result<Self, DecodeError>;

    /// Whether values are byte strings that a sorted collection may front-code: write each
    /// one as the length of the prefix it shares with the one before, then the rest. `true`
    /// for `String` and `Vec<u8>`, whose order is the order of their bytes; a type that says
    /// `true` must implement [`as_byte_string`](Self::as_byte_string) and
    /// [`from_byte_string`](Self::from_byte_string) and order its values as their bytes.
    const BYTE_STRING: bool = false;

    /// The bytes of a byte-string value (see [`BYTE_STRING`](Self::BYTE_STRING)); empty for
    /// other types.
    fn as_byte_string(&self) -> &[u8] {
        &[]
    }

    /// Rebuilds a byte-string value from its bytes (see [`BYTE_STRING`](Self::BYTE_STRING)).
    ///
    /// # Errors
    /// What is wrong with the bytes, such as [`DecodeErrorKind::InvalidUtf8`]. Types that are
    /// not byte strings answer [`DecodeErrorKind::InvalidTag`].
    fn from_byte_string(bytes: &[u8]) -> Result<Self, DecodeErrorKind> {
        let _ = bytes;
        Err(DecodeErrorKind::InvalidTag(0))
    }
}

/// A top-level value of the format: a CRDT state or delta, or a version. Adds the two-byte
/// header and the whole-input checks.
pub trait Binary: Codec {
    /// The type tag written after the format version.
    const TAG: u8;

    /// Encodes with the header.
    fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16);
        out.push(FORMAT_VERSION);
        out.push(Self::TAG);
        self.encode(&mut out);
        out
    }

    /// Decodes a whole input: header, body, and no trailing bytes.
    ///
    /// # Errors
    /// A [`DecodeError`] naming the problem and its offset.
    fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        read_header(&mut r, Self::TAG)?;
        let v = Self::decode(&mut r)?;
        r.finish()?;
        Ok(v)
    }
}

/// Reads the format version and type tag, checking both; the rest of `r` is read as that
/// version.
///
/// # Errors
/// [`DecodeErrorKind::UnsupportedFormat`] or [`DecodeErrorKind::WrongType`].
pub fn read_header(r: &mut Reader<'_>, expected: u8) -> Result<(), DecodeError> {
    let v = r.byte()?;
    if !(OLDEST_FORMAT_VERSION..=FORMAT_VERSION).contains(&v) {
        return Err(r.error_at(0, DecodeErrorKind::UnsupportedFormat(v)));
    }
    r.set_format_version(v);
    let t = r.byte()?;
    if t != expected {
        return Err(r.error_at(
            1,
            DecodeErrorKind::WrongType {
                expected: type_name(expected),
                found: t,
            },
        ));
    }
    Ok(())
}

/// Reads just the header of `bytes` and returns the type tag, to dispatch on the kind of value.
///
/// # Errors
/// [`DecodeErrorKind::UnexpectedEnd`] or [`DecodeErrorKind::UnsupportedFormat`].
pub fn peek_type(bytes: &[u8]) -> Result<u8, DecodeError> {
    let mut r = Reader::new(bytes);
    let v = r.byte()?;
    if !(OLDEST_FORMAT_VERSION..=FORMAT_VERSION).contains(&v) {
        return Err(r.error_at(0, DecodeErrorKind::UnsupportedFormat(v)));
    }
    r.byte()
}
