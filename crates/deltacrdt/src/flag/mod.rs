//! Flags: [`EWFlag`], the enable-wins flag.

mod ewflag;

pub use ewflag::EWFlag;
