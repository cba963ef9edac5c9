//! Errors: [`Error`] inside the crate, [`WasmError`] across the boundary (a code, a byte offset
//! when bytes were at fault, and the problem). The TypeScript layer turns a `WasmError` into a
//! `DeltaCrdtError` and is the one layer that names the class and method: messages here say
//! what was wrong, never where it was called from.

use core::fmt::Display;

use deltacrdt::sync::SyncError;
use deltacrdt::{BoundedError, ClockError, CounterOverflow, DecodeError, DotsExhausted};
use wasm_bindgen::prelude::*;

use crate::value::ValueError;

/// An error of the bindings: a stable `code`, the byte `offset` for bad bytes, and a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    /// A stable, machine-readable code (see `DeltaCrdtError.code` in the TS docs).
    pub code: &'static str,
    /// The byte offset of the problem inside the input, for bytes.
    pub offset: Option<usize>,
    /// What was wrong, in words.
    pub message: String,
}

impl Error {
    /// An error with `code` and no offset.
    pub fn new(code: &'static str, message: impl Display) -> Error {
        Error {
            code,
            offset: None,
            message: message.to_string(),
        }
    }
}

impl From<DecodeError> for Error {
    fn from(e: DecodeError) -> Error {
        Error {
            code: "decode",
            offset: Some(e.offset),
            message: e.to_string(),
        }
    }
}

impl From<ValueError> for Error {
    fn from(e: ValueError) -> Error {
        Error {
            code: "value",
            offset: None,
            message: format!("an element or value is not a JS value: {e}"),
        }
    }
}

impl From<CounterOverflow> for Error {
    fn from(e: CounterOverflow) -> Error {
        Error::new("overflow", e)
    }
}

impl From<BoundedError> for Error {
    fn from(e: BoundedError) -> Error {
        let code = match e {
            BoundedError::InsufficientRights { .. } => "rights",
            BoundedError::TransferToSelf { .. } => "argument",
            _ => "overflow",
        };
        Error::new(code, e)
    }
}

impl From<DotsExhausted> for Error {
    fn from(e: DotsExhausted) -> Error {
        Error::new("exhausted", e)
    }
}

impl From<ClockError> for Error {
    fn from(e: ClockError) -> Error {
        let code = match e {
            ClockError::TooFarAhead { .. } => "time-bound",
            ClockError::Exhausted => "exhausted",
        };
        Error::new(code, e)
    }
}

impl From<SyncError> for Error {
    fn from(e: SyncError) -> Error {
        let (code, offset) = match &e {
            SyncError::Malformed(d) => ("decode", Some(d.offset)),
            SyncError::UnknownNeighbour(_) => ("unknown-neighbour", None),
            SyncError::Checksum { .. } => ("checksum", None),
            SyncError::ClaimsUnissued { .. } => ("unissued", None),
            SyncError::DotCollision { .. } => ("dot-collision", None),
            SyncError::Refused { .. } => ("refused", None),
            _ => ("protocol", None),
        };
        Error {
            code,
            offset,
            message: e.to_string(),
        }
    }
}

/// An error thrown to JS (wrapped by the TS layer into a `DeltaCrdtError`).
#[wasm_bindgen]
pub struct WasmError {
    inner: Error,
}

#[wasm_bindgen]
impl WasmError {
    /// The stable code.
    #[wasm_bindgen(getter)]
    pub fn code(&self) -> String {
        self.inner.code.into()
    }

    /// The byte offset, `-1` when the error is not about bytes.
    #[wasm_bindgen(getter)]
    pub fn offset(&self) -> f64 {
        self.inner.offset.map_or(-1.0, |o| o as f64)
    }

    /// What was wrong.
    #[wasm_bindgen(getter)]
    pub fn message(&self) -> String {
        self.inner.message.clone()
    }
}

impl From<Error> for WasmError {
    fn from(inner: Error) -> WasmError {
        WasmError { inner }
    }
}

/// Checks a wall-clock time passed from JS (`Date.now()`): a whole, non-negative number of
/// milliseconds that a `u64` holds exactly.
///
/// # Errors
/// An `argument` error.
pub fn wall_ms(ms: f64) -> Result<u64, Error> {
    if (0.0..=9_007_199_254_740_991.0).contains(&ms) && ms.fract() == 0.0 {
        Ok(ms as u64)
    } else {
        // Not formatting `ms` keeps float printing (about 18 KB) out of the wasm.
        Err(Error::new(
            "argument",
            "the time must be a whole number of milliseconds between 0 and 2^53 - 1",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_ms_accepts_only_whole_non_negative_safe_numbers() {
        assert_eq!(wall_ms(0.0), Ok(0));
        assert_eq!(wall_ms(1_700_000_000_000.0), Ok(1_700_000_000_000));
        for bad in [-1.0, 0.5, f64::NAN, f64::INFINITY, 2f64.powi(60)] {
            assert!(wall_ms(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn decode_errors_keep_their_offset() {
        use deltacrdt::codec::Binary;
        let e = Error::from(deltacrdt::GCounter::from_bytes(&[9, 9]).unwrap_err());
        assert_eq!((e.code, e.offset), ("decode", Some(0)));
    }
}
