//! Payload units: how much a state or delta holds, counted in irreducible parts.

use crate::{BoundedCounter, GCounter, LWWRegister, MVRegister, ORSet, PNCounter};

/// The size of a state or delta counted in the irreducible parts of its join decomposition:
/// one counter entry, one dot (a live `(element, dot)` pair or a bare removed dot), one
/// register write. Sync statistics and the simulator count transmission in these units, the
/// measure used by Enes et al. (ICDE 2019), next to the encoded bytes.
///
/// ```
/// use deltacrdt::{sync::Measure, GCounter, ORSet, ReplicaId};
/// let mut c = GCounter::new();
/// c.inc(ReplicaId(1), 10).unwrap();
/// c.inc(ReplicaId(2), 5).unwrap();
/// assert_eq!(c.units(), 2); // one entry per replica, whatever the counts
///
/// let mut s = ORSet::new();
/// s.add(ReplicaId(1), 'a').unwrap();
/// s.add(ReplicaId(1), 'b').unwrap();
/// s.remove(&'a');
/// assert_eq!(s.units(), 2); // the live dot of 'b' and the removed dot of 'a'
/// ```
pub trait Measure {
    /// The number of irreducible parts; `0` exactly for the bottom value.
    fn units(&self) -> u64;
}

impl Measure for GCounter {
    fn units(&self) -> u64 {
        self.counts().len() as u64
    }
}

impl Measure for PNCounter {
    fn units(&self) -> u64 {
        self.increments().units() + self.decrements().units()
    }
}

impl<E: Ord + Clone> Measure for ORSet<E> {
    fn units(&self) -> u64 {
        // Every context dot is either live (supports an element) or a removed event.
        self.context().dot_count()
    }
}

impl<V: Ord + Clone> Measure for MVRegister<V> {
    fn units(&self) -> u64 {
        self.context().dot_count()
    }
}

impl<V: Ord + Clone> Measure for LWWRegister<V> {
    fn units(&self) -> u64 {
        u64::from(self.entry().is_some())
    }
}

impl Measure for BoundedCounter {
    /// One per replica total of increments or decrements and one per transfer entry.
    fn units(&self) -> u64 {
        (self.increments().len() + self.decrements().len() + self.transfers().len()) as u64
    }
}

/// Every causal type: every context dot is either live (an entry of the store, at any depth)
/// or a removed event.
impl<S: crate::causal::DotStore> Measure for crate::causal::Causal<S> {
    fn units(&self) -> u64 {
        self.context().dot_count()
    }
}

macro_rules! causal_measure {
    ($([$($g:tt)*] $t:ty;)*) => {$(
        impl<$($g)*> Measure for $t {
            fn units(&self) -> u64 {
                crate::causal::CausalType::as_causal(self).units()
            }
        }
    )*};
}

causal_measure! {
    [K: Ord + Clone, V: crate::causal::CausalType] crate::ORMap<K, V>;
    [] crate::EWFlag;
    [] crate::CausalCounter;
    [V: Ord + Clone] crate::LWWField<V>;
}
