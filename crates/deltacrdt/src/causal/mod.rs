//! Causal foundations: replica ids, dots, version vectors and causal contexts.
//!
//! These are the building blocks of the causal CRDTs ([`ORSet`](crate::ORSet),
//! [`MVRegister`](crate::MVRegister)) and of catch-up: a replica's causal context says which
//! events it has seen, so a peer can send exactly the ones it lacks.

mod context;
mod dot;
pub(crate) mod seq_set;
mod vec_map;
mod version;
mod version_vector;

pub use context::CausalContext;
pub use dot::{Dot, ReplicaId};
pub(crate) use vec_map::VecMap;
pub use version::CausalVersion;
#[cfg(not(target_family = "wasm"))]
pub(crate) use version::ToggleBatch;
pub(crate) use version::{toggle, LiveDigests};
pub use version_vector::{Causality, VersionVector};
