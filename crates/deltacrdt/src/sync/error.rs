//! Why a session refused a message.

use core::fmt;

use crate::{DecodeError, ReplicaId};

/// Why [`Session::handle_message`](super::Session::handle_message) refused a message. The
/// session and its state are unchanged whenever this is returned.
///
/// ```
/// use deltacrdt::{sync::{Session, SyncConfig, SyncError}, GCounter, ReplicaId};
/// let mut s = Session::new(ReplicaId(1), 1, GCounter::new(), SyncConfig::default());
/// s.add_neighbour(ReplicaId(2));
/// assert!(matches!(s.handle_message(ReplicaId(9), &[1, 32]), Err(SyncError::UnknownNeighbour(_))));
/// let err = s.handle_message(ReplicaId(2), &[1, 32, 0]).unwrap_err();
/// assert_eq!(err.to_string(), "malformed sync message: byte 2: input ends early (7 more bytes needed)");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SyncError {
    /// The bytes are not a well-formed sync message (or its payload is not a valid value).
    Malformed(DecodeError),
    /// The message came from a replica that is not a neighbour of this session; add it first
    /// with [`add_neighbour`](super::Session::add_neighbour).
    UnknownNeighbour(ReplicaId),
    /// A delta interval or acknowledgement whose start is not before its end.
    EmptyInterval {
        /// The start of the interval.
        start: u64,
        /// The end of the interval.
        end: u64,
    },
    /// An acknowledgement of sequence numbers this session has not produced yet: a broken or
    /// hostile peer (believing it would stop deltas from ever reaching that peer).
    AckBeyondSent {
        /// The acknowledged end.
        acked: u64,
        /// The next sequence number this session will use.
        next: u64,
    },
}

impl fmt::Display for SyncError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyncError::Malformed(e) => write!(f, "malformed sync message: {e}"),
            SyncError::UnknownNeighbour(r) => {
                write!(f, "message from replica {r}, which is not a neighbour (add it first)")
            }
            SyncError::EmptyInterval { start, end } => {
                write!(f, "invalid interval {start}..{end}: the start must be below the end")
            }
            SyncError::AckBeyondSent { acked, next } => write!(
                f,
                "acknowledgement up to {acked}, but this session has only produced deltas below {next}"
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for SyncError {}

impl From<DecodeError> for SyncError {
    fn from(e: DecodeError) -> Self {
        SyncError::Malformed(e)
    }
}
