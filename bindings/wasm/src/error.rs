//! Errors as JS `Error`s with messages of the form `Type.method: problem`.

use core::fmt::Display;

use wasm_bindgen::JsError;

/// An error thrown to JS from `ty.method`, e.g. `ORSet.merge: byte 1: expected a ORSet ...`.
pub fn js_error(ty: &str, method: &str, problem: impl Display) -> JsError {
    JsError::new(&format!("{ty}.{method}: {problem}"))
}

/// Checks a wall-clock time passed from JS (`Date.now()`): a whole, non-negative number of
/// milliseconds that a `u64` holds exactly.
///
/// # Errors
/// A message naming the bad value.
pub fn wall_ms(ms: f64) -> Result<u64, String> {
    if (0.0..=9_007_199_254_740_991.0).contains(&ms) && ms.fract() == 0.0 {
        Ok(ms as u64)
    } else {
        // Not formatting `ms` keeps float printing (about 18 KB) out of the wasm.
        Err("the time must be a whole number of milliseconds between 0 and 2^53 - 1".into())
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
}
