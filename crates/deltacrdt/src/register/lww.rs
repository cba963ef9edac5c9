//! Last-writer-wins register.

use crate::codec::Codec;
use crate::{ClockError, DeltaCrdt, HybridClock, Lattice, ReplicaId, TimeBound, Timestamp};

/// One write to an [`LWWRegister`]: the value with the timestamp and replica that wrote it.
///
/// Entries order by the last-writer-wins rule (see [`Ord`] below), which is what `join`
/// applies.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LwwEntry<V> {
    /// When the write happened (hybrid logical clock).
    pub timestamp: Timestamp,
    /// Who wrote it; breaks ties between equal timestamps.
    pub replica: ReplicaId,
    /// What was written.
    pub value: V,
}

/// The last-writer-wins rule: the greater timestamp wins, then the greater replica id, then
/// (only for a misbehaving peer that sent two values under one stamp) the greater value. The
/// register's join keeps the greatest entry, so this order *is* its conflict resolution; it is
/// written out rather than derived so that reordering the fields cannot change it.
impl<V: Ord> Ord for LwwEntry<V> {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        (self.timestamp, self.replica, &self.value).cmp(&(
            other.timestamp,
            other.replica,
            &other.value,
        ))
    }
}

impl<V: Ord> PartialOrd for LwwEntry<V> {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// A last-writer-wins register: the write with the greatest `(timestamp, replica)` wins.
///
/// The replica id breaks ties, so two writes with equal timestamps still converge. (Should a
/// misbehaving peer send two different values under the same timestamp and replica, the
/// greater value wins, so join stays commutative.) Use a [`HybridClock`] for timestamps:
/// [`set_with_clock`](Self::set_with_clock) makes each local write win over what the replica
/// has seen, even when its wall clock stepped back.
///
/// **Timestamps from peers.** [`Lattice::join`] trusts its input. For deltas from the network
/// use [`join_bounded`](Self::join_bounded): a write stamped more than `max_ahead_ms` ahead of
/// the local clock is **rejected** with [`ClockError::TooFarAhead`] and the register is left
/// unchanged, so a peer writing at timestamp `u64::MAX` cannot freeze the register.
///
/// ```
/// use deltacrdt::{HybridClock, LWWRegister, Lattice, ReplicaId};
/// let mut clock = HybridClock::new();
/// let mut x = LWWRegister::new();
/// let mut y = LWWRegister::new();
/// let d1 = x.set_with_clock(&mut clock, 1_000, ReplicaId(1), "draft").unwrap();
/// let d2 = x.set_with_clock(&mut clock, 900, ReplicaId(1), "final").unwrap(); // clock stepped back
/// y.join(d2);
/// y.join(d1); // late and stale: ignored
/// assert_eq!(y.value(), Some(&"final"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LWWRegister<V> {
    pub(crate) entry: Option<LwwEntry<V>>,
}

/// The version of an [`LWWRegister`]: the `(timestamp, replica)` of the write it holds and a
/// 64-bit digest of its value's encoding.
///
/// The digest matters only when one replica wrote two values under the same timestamp (a
/// caller of [`LWWRegister::set`] reusing a stamp): the stamps then tie, and the digest tells
/// catch-up that the values differ.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LwwVersion {
    /// The `(timestamp, replica)` of the current write, if any.
    pub stamp: Option<(Timestamp, ReplicaId)>,
    /// A digest of the current value's binary encoding (0 when empty).
    pub value_digest: u64,
}

/// FNV-1a over the encoding, then a finalizer: stable across platforms, since it hashes the
/// canonical bytes rather than in-memory layout.
fn value_digest<V: Codec>(value: &V) -> u64 {
    let mut bytes = alloc::vec::Vec::new();
    value.encode(&mut bytes);
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

impl<V> Default for LWWRegister<V> {
    fn default() -> Self {
        LWWRegister { entry: None }
    }
}

impl<V: Ord + Clone> LWWRegister<V> {
    /// An empty register (no write yet).
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes `value` at `timestamp` on behalf of `replica`; returns the delta (the write).
    /// If the register already holds a later write, the state keeps it.
    #[must_use = "send the delta to the other replicas"]
    pub fn set(&mut self, replica: ReplicaId, timestamp: Timestamp, value: V) -> LWWRegister<V> {
        let delta = LWWRegister {
            entry: Some(LwwEntry {
                timestamp,
                replica,
                value,
            }),
        };
        self.join_ref(&delta);
        delta
    }

    /// Writes `value` with a timestamp from `clock` that orders after the current write, so
    /// the write always takes effect locally; returns the delta.
    ///
    /// # Errors
    /// [`ClockError::Exhausted`] if the clock has no timestamps left.
    #[must_use = "send the delta to the other replicas"]
    pub fn set_with_clock(
        &mut self,
        clock: &mut HybridClock,
        wall_ms: u64,
        replica: ReplicaId,
        value: V,
    ) -> Result<LWWRegister<V>, ClockError> {
        if let Some(e) = &self.entry {
            clock.observe(e.timestamp);
        }
        let ts = clock.now(wall_ms)?;
        Ok(self.set(replica, ts, value))
    }

    /// The current value, if any write happened.
    pub fn value(&self) -> Option<&V> {
        self.entry.as_ref().map(|e| &e.value)
    }

    /// The current write with its timestamp and replica.
    pub fn entry(&self) -> Option<&LwwEntry<V>> {
        self.entry.as_ref()
    }

    /// The timestamp of the current write.
    pub fn timestamp(&self) -> Option<Timestamp> {
        self.entry.as_ref().map(|e| e.timestamp)
    }

    /// Joins `other` only if its write is within `bound` of the local clock.
    ///
    /// # Errors
    /// [`ClockError::TooFarAhead`]; the register is unchanged.
    pub fn join_bounded(&mut self, other: Self, bound: &TimeBound) -> Result<bool, ClockError> {
        if let Some(e) = &other.entry {
            bound.check(e.timestamp)?;
        }
        Ok(self.join(other))
    }
}

impl<V: Ord + Clone> Lattice for LWWRegister<V> {
    fn join(&mut self, other: Self) -> bool {
        match (&self.entry, other.entry) {
            (_, None) => false,
            (None, Some(o)) => {
                self.entry = Some(o);
                true
            }
            (Some(mine), Some(o)) => {
                if o > *mine {
                    self.entry = Some(o);
                    true
                } else {
                    false
                }
            }
        }
    }

    fn join_ref(&mut self, other: &Self) -> bool {
        match (&self.entry, &other.entry) {
            (_, None) => false,
            (Some(mine), Some(o)) if o <= mine => false,
            (_, Some(o)) => {
                self.entry = Some(o.clone());
                true
            }
        }
    }

    fn leq(&self, other: &Self) -> bool {
        self.entry <= other.entry
    }

    fn is_bottom(&self) -> bool {
        self.entry.is_none()
    }
}

impl<V: Ord + Clone + Codec> DeltaCrdt for LWWRegister<V> {
    type Version = LwwVersion;

    fn version(&self) -> LwwVersion {
        match &self.entry {
            None => LwwVersion::default(),
            Some(e) => LwwVersion {
                stamp: Some((e.timestamp, e.replica)),
                value_digest: value_digest(&e.value),
            },
        }
    }

    /// The current write if it is newer than `version`'s, or has the same stamp but another
    /// value; else an empty register.
    fn delta_since(&self, version: &LwwVersion) -> Self {
        match &self.entry {
            Some(e) => {
                let stamp = Some((e.timestamp, e.replica));
                let newer = stamp > version.stamp;
                let tie_differs =
                    stamp == version.stamp && value_digest(&e.value) != version.value_digest;
                if newer || tie_differs {
                    self.clone()
                } else {
                    LWWRegister::new()
                }
            }
            None => LWWRegister::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{tag, Binary, Codec, FORMAT_VERSION};
    use alloc::string::String;
    use alloc::vec;

    fn write(ts: u64, replica: u64, value: u64) -> LWWRegister<u64> {
        let mut r = LWWRegister::new();
        let _ = r.set(ReplicaId(replica), Timestamp::from_raw(ts), value);
        r
    }

    #[test]
    fn entries_order_by_timestamp_then_replica_then_value() {
        let e = |t: u64, r: u64, v: u8| LwwEntry {
            timestamp: Timestamp::from_raw(t),
            replica: ReplicaId(r),
            value: v,
        };
        // The timestamp decides first, whatever the replica and value.
        assert!(e(2, 0, 0) > e(1, 9, 9));
        // Then the replica, whatever the value.
        assert!(e(1, 2, 0) > e(1, 1, 9));
        // The value only between entries with the same stamp (a misbehaving peer).
        assert!(e(1, 1, 2) > e(1, 1, 1));
        assert_eq!(e(1, 1, 1).cmp(&e(1, 1, 1)), core::cmp::Ordering::Equal);
    }

    #[test]
    fn join_orders_by_timestamp_then_replica_then_value() {
        let cases = [
            (write(5, 1, 9), write(6, 0, 0)),
            (write(5, 1, 9), write(5, 2, 0)),
            (write(5, 1, 1), write(5, 1, 2)),
        ];
        for (lo, hi) in cases {
            for (mut x, y) in [(lo.clone(), hi.clone()), (hi.clone(), lo.clone())] {
                let grew = x != hi;
                assert_eq!(x.clone().join(y.clone()), grew);
                assert_eq!(x.join_ref(&y), grew);
                assert_eq!(x, hi);
                assert!(!x.join(y.clone()) && !x.join_ref(&y) && !x.join(x.clone()));
            }
        }
        let mut empty = LWWRegister::new();
        assert!(!empty.join(LWWRegister::new()));
        assert!(empty.join(write(1, 1, 1)));
    }

    #[test]
    fn to_bytes_is_the_header_and_the_body() {
        let long: String = core::iter::repeat_n('x', 300).collect();
        let mut full = LWWRegister::new();
        let _ = full.set(ReplicaId(u64::MAX), Timestamp::from_raw(u64::MAX), long);
        for r in [full, LWWRegister::new()] {
            let mut expected = vec![FORMAT_VERSION, tag::LWW_REGISTER];
            r.encode(&mut expected);
            assert_eq!(r.to_bytes(), expected);
            assert_eq!(LWWRegister::<String>::from_bytes(&expected), Ok(r));
        }
        let r = write(1 << 40, 7, 300);
        let v = r.version();
        assert_eq!(LWWRegister::<u64>::from_bytes(&r.to_bytes()), Ok(r));
        assert_eq!(v.to_bytes().len(), 2 + 1 + 8 + 8 + 8);
        assert_eq!(LwwVersion::from_bytes(&v.to_bytes()), Ok(v));
        assert_eq!(
            LwwVersion::default().to_bytes(),
            [FORMAT_VERSION, tag::LWW_VERSION, 0]
        );
    }
}
