//! Enable-wins flag.

use crate::causal::{causal_type, Causal, DotSet};
use crate::{DotsExhausted, Lattice, ReplicaId};

/// An enable-wins flag: `Causal<DotSet>`. Enabling adds a fresh dot, disabling retires the
/// dots seen, so an enable concurrent with a disable wins. In an [`ORMap`](crate::ORMap), a
/// remove of the key disables it (for what the remove saw).
///
/// ```
/// use deltacrdt::prelude::*;
/// use deltacrdt::EWFlag;
/// let (a, b) = (ReplicaId(1), ReplicaId(2));
/// let mut x = EWFlag::new();
/// let _ = x.enable(a).unwrap();
/// let mut y = x.clone();
/// let dx = x.disable();
/// let dy = y.enable(b).unwrap();
/// x.join(dy);
/// y.join(dx);
/// assert!(x.is_enabled()); // enable wins
/// assert_eq!(x, y);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct EWFlag(pub(crate) Causal<DotSet>);

impl EWFlag {
    /// A disabled flag.
    pub fn new() -> Self {
        Self::default()
    }

    /// Enables the flag on behalf of `replica`; returns the delta.
    ///
    /// # Errors
    /// [`DotsExhausted`] if `replica` has no sequence numbers left.
    #[must_use = "send the delta to the other replicas"]
    pub fn enable(&mut self, replica: ReplicaId) -> Result<EWFlag, DotsExhausted> {
        let delta = self.enable_delta(replica)?;
        self.0.join_ref(&delta.0);
        Ok(delta)
    }

    /// The delta of [`enable`](Self::enable) without applying it: a fresh dot, and the dots it
    /// replaces.
    ///
    /// # Errors
    /// [`DotsExhausted`] if `replica` has no sequence numbers left.
    pub fn enable_delta(&self, replica: ReplicaId) -> Result<EWFlag, DotsExhausted> {
        let dot = self.0.next_dot(replica)?;
        let seen = self.0.store.as_slice().iter().copied();
        Ok(EWFlag(Causal::from_store_with(DotSet::single(dot), seen)))
    }

    /// Disables the flag (the enables seen here); returns the delta.
    #[must_use = "send the delta to the other replicas"]
    pub fn disable(&mut self) -> EWFlag {
        let delta = self.disable_delta();
        self.0.join_ref(&delta.0);
        delta
    }

    /// The delta of [`disable`](Self::disable) without applying it.
    pub fn disable_delta(&self) -> EWFlag {
        let seen = self.0.store.as_slice().iter().copied();
        EWFlag(Causal::from_store_with(DotSet::new(), seen))
    }

    /// Whether the flag is enabled.
    pub fn is_enabled(&self) -> bool {
        !self.0.store.is_empty()
    }
}

causal_type!([] EWFlag, DotSet);
