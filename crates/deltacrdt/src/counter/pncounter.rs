//! Positive-negative counter.

use crate::{CounterOverflow, DeltaCrdt, GCounter, Lattice, ReplicaId, VersionVector};

/// A counter that goes up and down: two [`GCounter`]s, one of increments and one of
/// decrements; the value is their difference.
///
/// **Limits.** Each replica's total of increments and its total of decrements are separate
/// `u64`s, each refused with [`CounterOverflow`] past `u64::MAX`. The value is an `i128`,
/// which holds any difference of two sums of `u64`s without wrapping.
///
/// ```
/// use deltacrdt::{Lattice, PNCounter, ReplicaId};
/// let (a, b) = (ReplicaId(1), ReplicaId(2));
/// let mut x = PNCounter::new();
/// let mut y = PNCounter::new();
/// let d1 = x.inc(a, 10).unwrap();
/// let d2 = y.dec(b, 3).unwrap();
/// x.join(d2);
/// y.join(d1);
/// assert_eq!(x.value(), 7);
/// assert_eq!(x, y);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct PNCounter {
    pub(crate) inc: GCounter,
    pub(crate) dec: GCounter,
}

/// The version of a [`PNCounter`]: the per-replica totals of increments and of decrements.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct PNVersion {
    /// Per-replica totals of increments.
    pub inc: VersionVector,
    /// Per-replica totals of decrements.
    pub dec: VersionVector,
}

impl PNCounter {
    /// A counter at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `n` on behalf of `replica`; returns the delta.
    ///
    /// # Errors
    /// [`CounterOverflow`] if the replica's increment total would exceed `u64::MAX`.
    #[must_use = "send the delta to the other replicas"]
    pub fn inc(&mut self, replica: ReplicaId, n: u64) -> Result<PNCounter, CounterOverflow> {
        let inc = self.inc.inc(replica, n)?;
        Ok(PNCounter {
            inc,
            dec: GCounter::new(),
        })
    }

    /// Subtracts `n` on behalf of `replica`; returns the delta.
    ///
    /// # Errors
    /// [`CounterOverflow`] if the replica's decrement total would exceed `u64::MAX`.
    #[must_use = "send the delta to the other replicas"]
    pub fn dec(&mut self, replica: ReplicaId, n: u64) -> Result<PNCounter, CounterOverflow> {
        let dec = self.dec.inc(replica, n)?;
        Ok(PNCounter {
            inc: GCounter::new(),
            dec,
        })
    }

    /// Adds a signed amount: positive increments, negative decrements.
    ///
    /// # Errors
    /// [`CounterOverflow`] as for [`inc`](Self::inc) and [`dec`](Self::dec).
    #[must_use = "send the delta to the other replicas"]
    pub fn add(&mut self, replica: ReplicaId, n: i64) -> Result<PNCounter, CounterOverflow> {
        if n >= 0 {
            self.inc(replica, n.unsigned_abs())
        } else {
            self.dec(replica, n.unsigned_abs())
        }
    }

    /// Total increments minus total decrements. Never wraps.
    pub fn value(&self) -> i128 {
        // Each side is below 2^64 * (number of replicas), far inside i128.
        self.inc.value() as i128 - self.dec.value() as i128
    }

    /// The value as an `i64`, or `None` if it does not fit.
    pub fn value_i64(&self) -> Option<i64> {
        i64::try_from(self.value()).ok()
    }

    /// The counter of increments.
    pub fn increments(&self) -> &GCounter {
        &self.inc
    }

    /// The counter of decrements.
    pub fn decrements(&self) -> &GCounter {
        &self.dec
    }

    /// Builds a counter from its two halves.
    pub fn from_parts(increments: GCounter, decrements: GCounter) -> Self {
        PNCounter {
            inc: increments,
            dec: decrements,
        }
    }
}

impl Lattice for PNCounter {
    fn join(&mut self, other: Self) -> bool {
        let a = self.inc.join(other.inc);
        let b = self.dec.join(other.dec);
        a | b
    }

    fn join_ref(&mut self, other: &Self) -> bool {
        let a = self.inc.join_ref(&other.inc);
        let b = self.dec.join_ref(&other.dec);
        a | b
    }

    fn leq(&self, other: &Self) -> bool {
        self.inc.leq(&other.inc) && self.dec.leq(&other.dec)
    }
}

impl DeltaCrdt for PNCounter {
    type Version = PNVersion;

    fn version(&self) -> PNVersion {
        PNVersion {
            inc: self.inc.version(),
            dec: self.dec.version(),
        }
    }

    fn delta_since(&self, version: &PNVersion) -> Self {
        PNCounter {
            inc: self.inc.delta_since(&version.inc),
            dec: self.dec.delta_since(&version.dec),
        }
    }

    fn claims_unissued(&self, issuer: &Self, replica: ReplicaId) -> bool {
        self.inc.claims_unissued(&issuer.inc, replica)
            || self.dec.claims_unissued(&issuer.dec, replica)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{tag, Binary, Codec, FORMAT_VERSION};
    use alloc::vec;
    use alloc::vec::Vec;
    use quickcheck::quickcheck;

    quickcheck! {
        fn to_bytes_is_the_header_and_the_body(ops: Vec<(u8, i8)>) -> bool {
            let mut c = PNCounter::new();
            for (r, n) in ops {
                c.add(ReplicaId(u64::from(r)), i64::from(n)).unwrap();
            }
            let mut body = vec![FORMAT_VERSION, tag::PNCOUNTER];
            c.encode(&mut body);
            let v = c.version();
            let mut version = vec![FORMAT_VERSION, tag::PN_VERSION];
            v.encode(&mut version);
            c.to_bytes() == body
                && v.to_bytes() == version
                && PNCounter::from_bytes(&body).as_ref() == Ok(&c)
        }

        fn join_of_many_replicas_is_pointwise(a: Vec<(u8, i8)>, b: Vec<(u8, i8)>) -> bool {
            let build = |ops: &[(u8, i8)]| {
                let mut c = PNCounter::new();
                for &(r, n) in ops {
                    c.add(ReplicaId(u64::from(r % 32)), i64::from(n)).unwrap();
                }
                c
            };
            let (mut x, y) = (build(&a), build(&b));
            let expected = PNCounter::from_parts(
                x.increments().joined(y.increments()),
                x.decrements().joined(y.decrements()),
            );
            let changed = x.join_ref(&y);
            x == expected && changed == (x != build(&a))
        }
    }
}
