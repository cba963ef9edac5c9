//! Harness for the `deltacrdt` fuzz targets.
//!
//! The targets in `fuzz_targets/` are thin: they hand libFuzzer's bytes to the checks here, so
//! the checks can also be unit-tested and replayed without libFuzzer.
//!
//! - [`decode`]: every state, delta and version type decoded from arbitrary bytes: no panic,
//!   allocation bounded by the input length ([`alloc_meter`]), and canonical (whatever decodes
//!   re-encodes to the same bytes).
//! - [`convergence`]: operation sequences on three replicas under an arbitrary delivery
//!   schedule (drop, duplicate, reorder, delta groups, catch-up), checked against a reference
//!   model of each type's semantics ([`model`]) and for convergence after a full catch-up.
//! - [`delta_since`]: arbitrary but consistent replicas (built directly from dots, including
//!   sequence numbers near `u64::MAX`), checked for the lattice laws and for `delta_since`
//!   correctness and minimality.
//! - [`sync`]: the sync session's `handle_message` on arbitrary and corrupted messages.
//! - [`hostile`]: two honest sessions under an attacker sending well-formed hostile messages
//!   in each other's name: they still converge to everything honest plus what was accepted.

pub mod alloc_meter;
pub mod convergence;
pub mod decode;
pub mod delta_since;
pub mod hostile;
pub mod model;
pub mod sync;
pub mod wire;
