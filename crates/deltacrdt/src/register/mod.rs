//! Registers: [`LWWRegister`] (last writer wins), [`LWWField`] (last writer wins, inside maps),
//! [`MVRegister`] (concurrent values kept as siblings) and the hybrid logical clock that
//! timestamps LWW writes.

mod hlc;
mod lww;
mod lww_field;
mod mv;

pub use hlc::{ClockError, HybridClock, TimeBound, Timestamp};
pub use lww::{LWWRegister, LwwEntry, LwwVersion};
pub use lww_field::{LWWField, LWWFieldError};
pub use mv::MVRegister;
