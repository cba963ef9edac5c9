//! Counters: [`GCounter`] (grow-only), [`PNCounter`] (up and down) and [`CausalCounter`]
//! (up and down, reset by a remove of its map key).

mod causal;
mod gcounter;
mod pncounter;

pub use causal::CausalCounter;
pub use gcounter::{CounterOverflow, GCounter};
pub use pncounter::{PNCounter, PNVersion};
