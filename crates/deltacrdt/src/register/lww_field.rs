//! Last-writer-wins register for use inside maps.

use crate::causal::{causal_type, Causal, DotFun};
use crate::{ClockError, DotsExhausted, HybridClock, Lattice, ReplicaId, Timestamp};

/// A last-writer-wins register that can live in an [`ORMap`](crate::ORMap):
/// `Causal<DotFun<(Timestamp, V)>>`.
///
/// Reads give the write with the greatest timestamp (ties broken by the writing replica), as
/// [`LWWRegister`](crate::LWWRegister) does. Each write gets a dot and retires the writes it
/// has seen, so concurrent writes stay as siblings until a later write sees them; the read
/// picks among them.
///
/// **With a key remove.** A remove of the field's key retires the writes it observed, and
/// nothing else: a write concurrent with the remove survives, whatever its timestamp (update
/// wins, as for every value of an `ORMap`), and the key then holds that write. Timestamps order
/// concurrent *writes*; they do not order a write against a remove, which carries no time.
///
/// ```
/// use deltacrdt::prelude::*;
/// use deltacrdt::LWWField;
/// let (a, b) = (ReplicaId(1), ReplicaId(2));
/// let mut x = LWWField::new();
/// let mut y = LWWField::new();
/// let dx = x.set(a, Timestamp::new(1_000, 0), "gift wrap").unwrap();
/// let dy = y.set(b, Timestamp::new(2_000, 0), "no wrap").unwrap();
/// x.join(dy);
/// y.join(dx);
/// assert_eq!(x.value(), Some(&"no wrap")); // the later write wins
/// assert_eq!(x, y);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LWWField<V>(pub(crate) Causal<DotFun<(Timestamp, V)>>);

impl<V> Default for LWWField<V> {
    fn default() -> Self {
        LWWField(Causal {
            store: DotFun::default(),
            context: Default::default(),
            live: Default::default(),
        })
    }
}

impl<V: Ord + Clone> LWWField<V> {
    /// An empty field (no write yet).
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes `value` at `timestamp` on behalf of `replica`, replacing the writes seen here;
    /// returns the delta.
    ///
    /// # Errors
    /// [`DotsExhausted`] if `replica` has no sequence numbers left.
    #[must_use = "send the delta to the other replicas"]
    pub fn set(
        &mut self,
        replica: ReplicaId,
        timestamp: Timestamp,
        value: V,
    ) -> Result<LWWField<V>, DotsExhausted> {
        let delta = self.set_delta(replica, timestamp, value)?;
        self.0.join_ref(&delta.0);
        Ok(delta)
    }

    /// The delta of [`set`](Self::set) without applying it.
    ///
    /// # Errors
    /// [`DotsExhausted`] if `replica` has no sequence numbers left.
    pub fn set_delta(
        &self,
        replica: ReplicaId,
        timestamp: Timestamp,
        value: V,
    ) -> Result<LWWField<V>, DotsExhausted> {
        let dot = self.0.next_dot(replica)?;
        let mut store = DotFun::new();
        store.insert(dot, (timestamp, value));
        let seen = self.0.store.iter().map(|(d, _)| d);
        Ok(LWWField(Causal::from_store_with(store, seen)))
    }

    /// Writes `value` with a timestamp from `clock` that orders after every write seen here,
    /// so the write is the one read here afterwards; returns the delta.
    ///
    /// # Errors
    /// [`LWWFieldError`] if the clock has no timestamps left or `replica` no dots.
    #[must_use = "send the delta to the other replicas"]
    pub fn set_with_clock(
        &mut self,
        clock: &mut HybridClock,
        wall_ms: u64,
        replica: ReplicaId,
        value: V,
    ) -> Result<LWWField<V>, LWWFieldError> {
        if let Some(t) = self.timestamp() {
            clock.observe(t);
        }
        let ts = clock.now(wall_ms).map_err(LWWFieldError::Clock)?;
        self.set(replica, ts, value).map_err(LWWFieldError::Dots)
    }

    /// The winning write: the greatest (timestamp, replica) among the siblings.
    pub fn entry(&self) -> Option<(Timestamp, ReplicaId, &V)> {
        self.0
            .store
            .iter()
            .max_by_key(|(d, (t, _))| (*t, d.replica))
            .map(|(d, (t, v))| (*t, d.replica, v))
    }

    /// The value of the winning write.
    pub fn value(&self) -> Option<&V> {
        self.entry().map(|(_, _, v)| v)
    }

    /// The timestamp of the winning write.
    pub fn timestamp(&self) -> Option<Timestamp> {
        self.entry().map(|(t, _, _)| t)
    }
}

/// Why [`LWWField::set_with_clock`] failed; nothing was changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LWWFieldError {
    /// The clock has no timestamps left.
    Clock(ClockError),
    /// The replica has no dots left.
    Dots(DotsExhausted),
}

impl core::fmt::Display for LWWFieldError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            LWWFieldError::Clock(e) => write!(f, "{e}"),
            LWWFieldError::Dots(e) => write!(f, "{e}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for LWWFieldError {}

causal_type!([V: Ord + Clone] LWWField<V>, DotFun<(Timestamp, V)>);
