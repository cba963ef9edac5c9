//! Counters: [`GCounter`] (grow-only), [`PNCounter`] (up and down) and [`BoundedCounter`]
//! (up and down, never below zero).

mod bounded;
mod gcounter;
mod pncounter;

pub(crate) use bounded::Transfers;
pub use bounded::{BoundedCounter, BoundedError, BoundedVersion};
pub use gcounter::{CounterOverflow, GCounter};
pub use pncounter::{PNCounter, PNVersion};
