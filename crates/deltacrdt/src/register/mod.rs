//! Registers: [`LWWRegister`] (last writer wins), [`MVRegister`] (concurrent values kept as
//! siblings) and the hybrid logical clock that timestamps LWW writes.

mod hlc;
mod lww;
mod mv;

pub use hlc::{ClockError, HybridClock, TimeBound, Timestamp};
pub use lww::{LWWRegister, LwwEntry, LwwVersion};
pub use mv::MVRegister;
