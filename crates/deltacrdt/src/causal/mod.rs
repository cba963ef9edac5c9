//! Causal foundations: replica ids, dots, version vectors, causal contexts, and the dot kernel.
//!
//! A causal CRDT is a dot store plus a causal context ([`Causal`]): [`ORSet`](crate::ORSet),
//! [`MVRegister`](crate::MVRegister), [`ORMap`](crate::ORMap) and the other causal types are
//! thin types over it, so join, catch-up, the codec and the size measure are written once. A
//! replica's causal context says which events it has seen, so a peer can send exactly the
//! ones it lacks.

mod chunk_map;
mod context;
mod dot;
mod dot_index;
mod dot_map;
mod kernel;
mod seq_map;
pub(crate) mod seq_set;
mod store;
mod vec_map;
mod version;
mod version_vector;

pub(crate) use chunk_map::ChunkMap;
pub use context::CausalContext;
pub use dot::{Dot, ReplicaId};
pub(crate) use dot_index::{DotIndex, IndexBuilder};
pub use dot_map::DotMap;
pub(crate) use kernel::{causal_type, digests_of, xor_into};
pub use kernel::{Causal, CausalType, DotsExhausted, PartsError};
pub use store::{DotFun, DotSet, DotStore, ElementDots, ElementDotsIter};
pub(crate) use vec_map::VecMap;
pub use version::CausalVersion;
pub(crate) use version::{toggle, LiveDigests};
pub use version_vector::{Causality, VersionVector};
