//! # deltacrdt
//!
//! Delta-state CRDTs: replicated data types that converge under any delivery order, with
//! small deltas, version-based catch-up and a compact, safe binary format.
//!
//! | type | what it is |
//! |---|---|
//! | [`GCounter`] | grow-only counter |
//! | [`PNCounter`] | counter that goes up and down |
//! | [`BoundedCounter`] | counter that never goes below zero: decrements spend local rights, which replicas transfer |
//! | [`ORSet`] | add-wins observed-remove set |
//! | [`LWWRegister`] | last-writer-wins register with a [`HybridClock`] |
//! | [`MVRegister`] | multi-value register (concurrent writes kept as siblings) |
//! | [`ORMap`] | observed-remove map of nested causal CRDTs |
//! | [`CausalCounter`] | counter reset by a remove of its map key |
//! | [`EWFlag`] | enable-wins flag |
//! | [`LWWField`] | last-writer-wins register for maps |
//!
//! The causal types (`ORSet`, `MVRegister`, `ORMap`, `CausalCounter`, `EWFlag`, `LWWField`)
//! are all one construction, a dot store plus a causal context ([`Causal`]), so they nest in
//! maps and share one join, one catch-up and one binary format.
//!
//! Every type is a join-semilattice ([`Lattice`]): `join` is idempotent, commutative and
//! associative, so replicas that saw the same updates hold the same state, whatever the order
//! and however many duplicates. Every mutator returns a **delta**, a small value of the same
//! type, to send to other replicas; deltas join into delta groups. A replica that fell behind
//! sends its [`version`](DeltaCrdt::version) and receives
//! [`delta_since`](DeltaCrdt::delta_since): only what it lacks.
//!
//! The crate is `no_std` + `alloc`, has no IO and reads no clock: time enters as arguments.
//!
//! ```
//! use deltacrdt::{codec::Binary, DeltaCrdt, Lattice, ORSet, ReplicaId};
//!
//! let (alice, bob) = (ReplicaId(1), ReplicaId(2));
//! let mut a: ORSet<String> = ORSet::new();
//! let mut b: ORSet<String> = ORSet::new();
//!
//! // Local edits produce deltas; ship them as bytes over any transport.
//! let delta = a.add(alice, "apples".into()).unwrap();
//! let wire = delta.to_bytes();
//! b.join(ORSet::from_bytes(&wire).unwrap());
//! b.join(ORSet::from_bytes(&wire).unwrap()); // duplicates are harmless
//!
//! // If messages were lost, catch up from a version summary.
//! a.add(alice, "pears".into()).unwrap();
//! b.add(bob, "plums".into()).unwrap();
//! let for_b = a.delta_since(&b.version());
//! let for_a = b.delta_since(&a.version());
//! b.join(for_b);
//! a.join(for_a);
//! assert_eq!(a, b);
//! assert_eq!(a.len(), 3);
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod causal;
pub mod codec;
pub mod counter;
pub mod flag;
pub mod map;
pub mod register;
pub mod set;
pub mod sync;
mod traits;

/// The traits and types most programs need, in one import: `use deltacrdt::prelude::*;`.
///
/// ```
/// use deltacrdt::prelude::*;
/// let mut a = ORSet::new();
/// let delta = a.add(ReplicaId(1), 7u32).unwrap();
/// let mut b = ORSet::from_bytes(&delta.to_bytes()).unwrap();
/// b.join(a.delta_since(&b.version()));
/// assert_eq!(a, b);
/// ```
pub mod prelude {
    pub use crate::causal::{Causal, CausalType, DotFun, DotMap, DotSet, DotStore};
    pub use crate::codec::{Binary, Codec};
    pub use crate::{
        CausalContext, CausalCounter, CausalVersion, Dot, EWFlag, GCounter, HybridClock, LWWField,
        LWWRegister, MVRegister, ORMap, ORSet, PNCounter, ReplicaId, Timestamp, VersionVector,
    };
    pub use crate::{DeltaCrdt, Lattice};
}

pub use causal::{
    Causal, CausalContext, CausalVersion, Causality, Dot, DotsExhausted, PartsError, ReplicaId,
    VersionVector,
};
pub use codec::{Binary, Codec, DecodeError, DecodeErrorKind};
pub use counter::{
    BoundedCounter, BoundedError, BoundedVersion, CausalCounter, CounterOverflow, GCounter,
    PNCounter, PNVersion,
};
pub use flag::EWFlag;
pub use map::ORMap;
pub use register::{
    ClockError, HybridClock, LWWField, LWWFieldError, LWWRegister, LwwEntry, LwwVersion,
    MVRegister, TimeBound, Timestamp,
};
pub use set::ORSet;
pub use traits::{DeltaCrdt, Lattice};
