//! Counters: [`GCounter`] (grow-only), [`PNCounter`] (up and down), [`BoundedCounter`] (up
//! and down, never below zero) and [`CausalCounter`] (up and down, reset by a remove of its
//! map key).

mod bounded;
mod causal;
mod gcounter;
mod pncounter;

pub(crate) use bounded::Transfers;
pub use bounded::{BoundedCounter, BoundedError, BoundedVersion};
pub use causal::CausalCounter;
pub use gcounter::{CounterOverflow, GCounter};
pub use pncounter::{PNCounter, PNVersion};
