//! WebAssembly bindings of [`deltacrdt`] for the `deltacrdt` npm package.
//!
//! A thin layer with no CRDT logic of its own, generic over the kinds: [`kinds`] lists them
//! once and makes [`AnyCrdt`](kinds::AnyCrdt), a state of any kind that the core's traits
//! (and so its [`Session`](deltacrdt::sync::Session)) accept; [`WasmReplica`] is the one
//! exported class, holding a state on its own or as a session's state. The TypeScript classes
//! in `js/src` wrap it; it is not meant to be used directly.
//!
//! **Elements and values** of `ORSet`, `LWWRegister` and `MVRegister` are `Vec<u8>` holding
//! the canonical encoding of a JS value (see [`value`]): the TS layer encodes, this crate
//! validates, so bytes from a peer can never plant an element the JS side could not read.
//!
//! **No traps.** Every input is checked before it reaches the core and every error is returned
//! as a [`WasmError`] (a code, a byte offset for bytes, and the problem), so no input reaches a
//! panic (the size-tuned build aborts on panic). A call that fails leaves the replica
//! unchanged: inputs are decoded and validated in full before anything is applied.
//!
//! **Deltas.** A replica on its own gives `takeDelta` the join of its local deltas since the
//! last call (the pending delta group: computed when taken, as the state's delta since then,
//! while only local edits changed it; see [`replica`]) and, on request, the delta of the last
//! mutation alone, for the TS layer's local-delta subscribers.

/// Talc instead of the default dlmalloc: smaller code (the shipped module has a size budget)
/// and faster on wasm, where the module is single-threaded.
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

pub mod error;
pub mod kinds;
pub mod map;
mod memory;
pub mod replica;
pub mod session;
pub mod value;

pub use error::WasmError;
pub use replica::WasmReplica;
pub use session::{WasmSyncConfig, WasmTransmit};
