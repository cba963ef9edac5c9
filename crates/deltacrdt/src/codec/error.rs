//! Decoding errors.

use core::fmt;

/// Why some bytes could not be decoded, and where.
///
/// ```
/// use deltacrdt::{codec::Binary, GCounter};
/// // Format 1, type GCounter, 5 entries... but no bytes follow.
/// let err = GCounter::from_bytes(&[1, 1, 5]).unwrap_err();
/// assert_eq!(err.offset, 2);
/// assert_eq!(err.to_string(), "byte 2: length 5 is larger than the remaining input");
/// // The bytes of another type are named as such.
/// let err = GCounter::from_bytes(&[1, 3, 0, 0]).unwrap_err();
/// assert_eq!(err.to_string(), "byte 1: wrong type: expected GCounter, found ORSet");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DecodeError {
    /// The byte offset, from the start of the input, where the problem was found.
    pub offset: usize,
    /// What was wrong.
    pub kind: DecodeErrorKind,
}

/// What was wrong with the input.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The input ended in the middle of a value.
    UnexpectedEnd {
        /// How many more bytes were needed at least.
        needed: usize,
    },
    /// The format tag names a format version this library does not read.
    UnsupportedFormat(u8),
    /// The bytes encode another type than the one asked for.
    WrongType {
        /// The type asked for.
        expected: &'static str,
        /// The type tag found.
        found: u8,
    },
    /// A variable-length integer uses more bytes than needed (non-canonical).
    NonCanonicalVarint,
    /// A variable-length integer does not fit 64 bits.
    VarintOverflow,
    /// An integer does not fit the target type.
    IntegerOutOfRange {
        /// The target type.
        target: &'static str,
    },
    /// A boolean byte other than 0 or 1.
    InvalidBool(u8),
    /// An option or variant tag that is not defined.
    InvalidTag(u8),
    /// A string is not valid UTF-8.
    InvalidUtf8,
    /// A length or count is larger than the bytes left could possibly hold.
    LengthTooLarge {
        /// The length read.
        len: u64,
    },
    /// Keys or dots are not in strictly ascending order (out of order or duplicated).
    NotAscending,
    /// A value that must be non-zero (a count, a sequence number, a run) is zero or empty.
    Zero,
    /// A run of sequence numbers goes past 2^64 - 1.
    RunOverflow,
    /// A dot refers to a replica index that the context does not list.
    BadReplicaIndex(u64),
    /// A dot of the store is not in the causal context.
    DotNotInContext,
    /// The same dot supports two elements.
    DuplicateDot,
    /// A front-coded element claims to share more bytes with the element before than that
    /// element has, or fewer than it does share (the encoding would not be canonical).
    BadPrefix {
        /// The shared length read.
        len: u64,
    },
    /// A transfer of rights from a replica to itself (a bounded counter never holds one).
    SelfTransfer,
    /// Bytes are left over after the value.
    TrailingBytes {
        /// How many bytes are left.
        count: usize,
    },
}

impl fmt::Display for DecodeErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeErrorKind::UnexpectedEnd { needed } => write!(
                f,
                "input ends early ({needed} more byte{} needed)",
                if *needed == 1 { "" } else { "s" }
            ),
            DecodeErrorKind::UnsupportedFormat(v) => {
                write!(
                    f,
                    "unsupported format version {v} (this library reads versions {} to {})",
                    crate::codec::OLDEST_FORMAT_VERSION,
                    crate::codec::FORMAT_VERSION
                )
            }
            DecodeErrorKind::WrongType { expected, found } => write!(
                f,
                "wrong type: expected {expected}, found {}",
                crate::codec::type_name(*found)
            ),
            DecodeErrorKind::NonCanonicalVarint => {
                write!(f, "integer is encoded with more bytes than needed")
            }
            DecodeErrorKind::VarintOverflow => write!(f, "integer does not fit in 64 bits"),
            DecodeErrorKind::IntegerOutOfRange { target } => {
                write!(f, "integer out of range for {target}")
            }
            DecodeErrorKind::InvalidBool(b) => {
                write!(f, "invalid boolean byte {b} (expected 0 or 1)")
            }
            DecodeErrorKind::InvalidTag(b) => write!(f, "invalid tag byte {b}"),
            DecodeErrorKind::InvalidUtf8 => write!(f, "string is not valid UTF-8"),
            DecodeErrorKind::LengthTooLarge { len } => {
                write!(f, "length {len} is larger than the remaining input")
            }
            DecodeErrorKind::NotAscending => {
                write!(
                    f,
                    "entries are not in strictly ascending order (unsorted or duplicated)"
                )
            }
            DecodeErrorKind::Zero => write!(
                f,
                "zero where a positive number or a non-empty list is required"
            ),
            DecodeErrorKind::RunOverflow => write!(f, "run of sequence numbers goes past 2^64 - 1"),
            DecodeErrorKind::BadReplicaIndex(i) => {
                write!(f, "replica index {i} is not in the context")
            }
            DecodeErrorKind::DotNotInContext => {
                write!(f, "a dot of the store is missing from the causal context")
            }
            DecodeErrorKind::DuplicateDot => write!(f, "the same dot supports two elements"),
            DecodeErrorKind::SelfTransfer => {
                write!(f, "a replica transfers rights to itself")
            }
            DecodeErrorKind::TrailingBytes { count } => {
                write!(f, "{count} unexpected byte(s) after the value")
            }
            DecodeErrorKind::BadPrefix { len } => write!(
                f,
                "front-coded element shares {len} bytes with the one before, which is not what the two share"
            ),
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "byte {}: {}", self.offset, self.kind)
    }
}

#[cfg(feature = "std")]
impl std::error::Error for DecodeError {}
