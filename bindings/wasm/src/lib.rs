//! WebAssembly bindings of [`deltacrdt`] for the `deltacrdt` npm package.
//!
//! A thin layer with no CRDT logic of its own: each exported class owns a core CRDT, converts
//! bytes in and out, and turns every error into a JS `Error` with a message that names the
//! class, the method and the problem. The TypeScript facade in `js/src` wraps these classes;
//! they are not meant to be used directly.
//!
//! **Elements and values** of [`ORSet`](deltacrdt::ORSet), [`LWWRegister`](deltacrdt::LWWRegister)
//! and [`MVRegister`](deltacrdt::MVRegister) are `Vec<u8>` holding the canonical encoding of a
//! JS value (see [`value`]): the TS layer encodes, this crate validates, so bytes from a peer
//! can never plant an element the JS side could not read.
//!
//! **No traps.** Every input is checked before it reaches the core and every error is returned
//! as a `Result`, so no input reaches a panic (the size-tuned build aborts on panic). A call that
//! fails leaves the replica unchanged: inputs are decoded and validated in full before anything
//! is applied.
//!
//! **Deltas.** Each replica keeps the join of its local deltas since the last `take_delta` (the
//! pending delta group) and, on request, the delta of the last mutation alone, for the TS
//! layer's local-delta subscribers.
//!
//! **Sync.** With the cargo feature `sync`, the `session` module adds `WasmSyncSession`, the core's
//! anti-entropy session over any of the five types (shipped as the `deltacrdt/sync` entry).
//!
//! One file per exported class; shared pieces in [`replica`], [`value`] and [`error`].

/// Talc instead of the default dlmalloc: smaller code (the shipped module has a size budget)
/// and faster on wasm, where the module is single-threaded.
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

pub mod error;
pub mod gcounter;
pub mod lww;
pub mod mv;
pub mod orset;
pub mod pncounter;
pub mod replica;
#[cfg(feature = "sync")]
pub mod session;
pub mod value;

pub use gcounter::WasmGCounter;
pub use lww::WasmLWWRegister;
pub use mv::WasmMVRegister;
pub use orset::WasmORSet;
pub use pncounter::WasmPNCounter;
#[cfg(feature = "sync")]
pub use session::{WasmSyncConfig, WasmSyncSession, WasmTransmit};
