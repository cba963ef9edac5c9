//! Counters: [`GCounter`] (grow-only) and [`PNCounter`] (up and down).

mod gcounter;
mod pncounter;

pub use gcounter::{CounterOverflow, GCounter};
pub use pncounter::{PNCounter, PNVersion};
