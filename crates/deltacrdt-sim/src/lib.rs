//! # deltacrdt-sim
//!
//! A deterministic discrete-event network simulator that runs the real
//! [`deltacrdt::sync::Session`] on every replica and measures what synchronization costs:
//! payload units and bytes transmitted, messages, rounds to converge and buffer memory.
//!
//! - [`Topology`]: line, ring, tree, partial mesh with `k` neighbours, full mesh, star;
//! - [`Faults`]: loss, duplication, reordering (latency jitter), latency, partitions that heal,
//!   crash and restart from persisted bytes;
//! - [`Workload`]s: unique set adds, counter increments, register writes, racing adds and removes,
//!   racing edits of shopping carts (a nested [`ORMap`](deltacrdt::ORMap));
//! - strategies: every [`Strategy`](deltacrdt::sync::Strategy) of the session;
//! - output: [`report::table`], [`report::csv`], [`report::svg`].
//!
//! Every run ends by checking that all replicas converged to the join of every delta made
//! anywhere (so nothing was lost) and the workload's own check (every set element present,
//! the counter equal to the number of increments, ...). One seed fixes every random choice.
//!
//! ```
//! use deltacrdt::sync::Strategy;
//! use deltacrdt_sim::{run, workload::CounterIncs, Faults, Scenario, Topology};
//!
//! let scenario = Scenario {
//!     nodes: 6,
//!     topology: Topology::Ring,
//!     strategy: Strategy::BpRr,
//!     updates_per_node: 5,
//!     faults: Faults { loss: 0.2, duplicate: 0.1, latency_max: 80, ..Faults::default() },
//!     seed: 42,
//!     ..Scenario::default()
//! };
//! let report = run(&scenario, CounterIncs::default(), &mut |_| {});
//! assert!(report.passed(), "{:?}", report.check);
//! assert_eq!(report.updates, 30);
//! ```

mod engine;
pub mod experiments;
pub mod report;
mod rng;
mod topology;
pub mod workload;

pub use engine::{run, Crash, Faults, Partition, Progress, RunReport, Scenario, ROUND};
pub use experiments::WorkloadKind;
pub use rng::SplitMix64;
pub use topology::Topology;
pub use workload::Workload;
