//! # deltacrdt-benches
//!
//! Side-by-side measurements of `deltacrdt` against the [`crdts`] crate (7.x) and against a
//! *floor*: the union of two sorted `Vec<u64>` of the same size, the least work any replicated
//! set could do to merge two replicas.
//!
//! - [`workload`] builds the same replicas for each contender (ours, `crdts`, floor), using each
//!   library as its documentation says (for `Orswot`: a fresh `read_ctx()`/`contains()` context
//!   for every operation, derived after the previous operation was applied).
//! - [`heap`] is a counting global allocator, to measure heap bytes per element.
//! - [`sizes`] measures heap and encoded bytes per element for every contender.
//! - [`report`] reads criterion's results and the sizes, and writes `RESULTS.md` and an SVG chart.
//!
//! The timings come from `benches/compare.rs` (criterion); `scripts/bench-report` runs a short
//! configuration of it and then the report.

pub mod floor;
pub mod heap;
pub mod report;
pub mod sizes;
pub mod workload;
