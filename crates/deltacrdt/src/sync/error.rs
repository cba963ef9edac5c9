//! Why a session refused a message.

use core::fmt;

use alloc::string::String;

use crate::{DecodeError, Dot, ReplicaId};

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
    /// The message's CRC-32C trailer does not match its bytes: it was damaged in transit
    /// (see the wire format in [`sync`](super)).
    Checksum {
        /// The checksum of the bytes received.
        computed: u32,
        /// The checksum the message carries.
        carried: u32,
    },
    /// The delta claims events of this session's own replica that it never issued: dots of
    /// our id above our highest sequence number, or a count of our id above ours. It was
    /// forged or corrupted, or another live replica uses our id, or this replica was
    /// restarted without its state (use [`Session::restore`](super::Session::restore), which
    /// learns its own events back from the neighbours first).
    ClaimsUnissued {
        /// The neighbour the message came from.
        from: ReplicaId,
        /// This session's replica id, whose events the delta claims.
        replica: ReplicaId,
    },
    /// The delta holds a dot this session's state also holds, with different contents (an
    /// element or value): two replicas issued events under one replica id. Joining would
    /// silently lose one side, so the message is refused; fix the ids (see the README's
    /// "Replica ids").
    DotCollision {
        /// The neighbour the message came from.
        from: ReplicaId,
        /// The first colliding dot.
        dot: Dot,
    },
    /// The application's check ([`Admit`](super::Admit), passed to
    /// [`handle_message_with`](super::Session::handle_message_with)) refused the delta.
    Refused {
        /// The neighbour the message came from.
        from: ReplicaId,
        /// The check's reason.
        reason: String,
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
            SyncError::Checksum { computed, carried } => write!(
                f,
                "damaged sync message: its checksum is {carried:#010x} but its bytes give {computed:#010x}"
            ),
            SyncError::ClaimsUnissued { from, replica } => write!(
                f,
                "refused a delta from replica {from}: it claims events of this replica ({replica}) that were never issued here (forged or corrupted, or replica id {replica} is shared with another live replica, or this replica restarted without its state)"
            ),
            SyncError::DotCollision { from, dot } => write!(
                f,
                "refused a delta from replica {from}: dot {dot} carries other contents there than here, so two replicas issued events under replica id {} (replica ids must be unique per live replica)",
                dot.replica
            ),
            SyncError::Refused { from, reason } => {
                write!(f, "refused a delta from replica {from}: {reason}")
            }
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

/// Why [`Session::update`](super::Session::update) made no change.
///
/// ```
/// use deltacrdt::sync::{Session, SyncConfig, UpdateError};
/// use deltacrdt::{GCounter, ReplicaId};
/// let mut s = Session::new(ReplicaId(1), 1, GCounter::new(), SyncConfig::default());
/// s.update(|c| c.inc(ReplicaId(1), u64::MAX)).unwrap();
/// assert!(matches!(s.update(|c| c.inc(ReplicaId(1), 1)), Err(UpdateError::Mutate(_))));
///
/// let saved = s.persist();
/// let mut back = Session::<GCounter>::restore(ReplicaId(1), 2, &saved, SyncConfig::default()).unwrap();
/// back.add_neighbour(ReplicaId(2));
/// assert_eq!(back.update(|c| c.inc(ReplicaId(1), 1)), Err(UpdateError::Recovering));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UpdateError<E> {
    /// The session was restored and has not yet heard from every neighbour what they hold of
    /// its own events: the save may predate its last updates, and updating now could reissue
    /// their dots or counts. Nothing changed; retry after
    /// [`is_recovering`](super::Session::is_recovering) turns `false`.
    Recovering,
    /// The mutation failed (and left the state unchanged).
    Mutate(E),
}

impl<E: fmt::Display> fmt::Display for UpdateError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UpdateError::Recovering => f.write_str(
                "the restored session is still learning its own latest events from its neighbours; updates resume once every neighbour has answered",
            ),
            UpdateError::Mutate(e) => e.fmt(f),
        }
    }
}

#[cfg(feature = "std")]
impl<E: fmt::Debug + fmt::Display> std::error::Error for UpdateError<E> {}
