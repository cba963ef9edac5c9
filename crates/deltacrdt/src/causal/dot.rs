//! Replica identifiers and dots.

use core::fmt;

/// The identity of one replica: a 64-bit number, unique among the replicas that share a value.
///
/// Pick ids at random (64 random bits make collisions vanishingly unlikely) or hand them out
/// from a registry. Two live replicas must never share an id: their events would be confused.
///
/// ```
/// use deltacrdt::ReplicaId;
/// let a = ReplicaId::new(7);
/// assert_eq!(a.get(), 7);
/// assert_eq!(ReplicaId::from(7u64), a);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReplicaId(pub u64);

impl ReplicaId {
    /// Wraps a raw 64-bit id.
    pub const fn new(id: u64) -> Self {
        ReplicaId(id)
    }

    /// The raw 64-bit id.
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl From<u64> for ReplicaId {
    fn from(id: u64) -> Self {
        ReplicaId(id)
    }
}

impl From<ReplicaId> for u64 {
    fn from(id: ReplicaId) -> Self {
        id.0
    }
}

impl fmt::Display for ReplicaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// A dot names one event: the `seq`-th event created by `replica`. Sequence numbers start at 1.
///
/// Dots order first by replica, then by sequence number.
///
/// ```
/// use deltacrdt::{Dot, ReplicaId};
/// let d = Dot::new(ReplicaId(1), 3);
/// assert_eq!(d.replica, ReplicaId(1));
/// assert_eq!(d.seq, 3);
/// assert!(d < Dot::new(ReplicaId(1), 4));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Dot {
    /// The replica that created the event.
    pub replica: ReplicaId,
    /// The event's position among that replica's events, from 1.
    pub seq: u64,
}

impl Dot {
    /// Builds a dot.
    pub const fn new(replica: ReplicaId, seq: u64) -> Self {
        Dot { replica, seq }
    }
}

impl fmt::Display for Dot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}, {})", self.replica, self.seq)
    }
}
