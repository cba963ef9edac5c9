//! The canonical encoding of JS values: what an element of an `ORSet` or the value of a
//! register is, as bytes.
//!
//! The TS layer (`js/src/value.ts`) encodes and decodes; this module defines the format and
//! validates it, so that bytes from a peer can only carry values the JS side can read, and so
//! that two equal JS values are always the same element. Encoding in TS keeps the per-call cost
//! low: one `Uint8Array` crosses into wasm, with no JSON and no per-field boundary calls.
//!
//! # Format (version 1)
//! A value is one tag byte followed by its body. Integers are LEB128 varints in their shortest
//! form.
//!
//! | tag | value | body |
//! |---|---|---|
//! | 0 | `null` | none |
//! | 1 | `false` | none |
//! | 2 | `true` | none |
//! | 3 | a number that is a safe integer (`Number.isSafeInteger`) | zigzag varint |
//! | 4 | any other finite number | 8 bytes, IEEE 754 little-endian |
//! | 5 | string | byte length, UTF-8 bytes |
//! | 6 | `Uint8Array` | byte length, bytes |
//! | 7 | array | item count, items |
//! | 8 | plain object | key count, then per key in ascending UTF-8 byte order: byte length, UTF-8 key, value |
//!
//! **Canonical.** Exactly one encoding per value: `-0` is written as the integer `0`; numbers
//! that are safe integers must use tag 3; object keys are sorted and unique; varints are
//! shortest. Validation rejects everything else, so equal bytes mean equal values.
//!
//! **Refused** (by the TS encoder, with an error naming the path): `NaN`, `±Infinity`,
//! `undefined` (also as an object property or array item), functions, symbols, bigints,
//! strings with lone surrogates (they have no UTF-8 form), objects that are not plain (class
//! instances, `Map`, `Date`, typed arrays other than `Uint8Array`), cycles, and nesting deeper
//! than [`MAX_DEPTH`] arrays/objects.

use core::fmt;

use deltacrdt::codec::Reader;

/// The deepest nesting of arrays and objects accepted (the top-level value counts as 1).
pub const MAX_DEPTH: usize = 64;

/// Type tags of the value format.
pub mod tag {
    /// `null`.
    pub const NULL: u8 = 0;
    /// `false`.
    pub const FALSE: u8 = 1;
    /// `true`.
    pub const TRUE: u8 = 2;
    /// A safe integer, zigzag varint.
    pub const INT: u8 = 3;
    /// Any other finite number, f64 little-endian.
    pub const FLOAT: u8 = 4;
    /// A UTF-8 string.
    pub const STRING: u8 = 5;
    /// A `Uint8Array`.
    pub const BYTES: u8 = 6;
    /// An array.
    pub const ARRAY: u8 = 7;
    /// A plain object with sorted keys.
    pub const OBJECT: u8 = 8;
}

/// The largest safe integer of JS, `2^53 - 1`.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Why some bytes are not a canonical value, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValueError {
    /// Byte offset inside the value bytes.
    pub offset: usize,
    /// What was wrong.
    pub problem: String,
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid value encoding at byte {}: {}",
            self.offset, self.problem
        )
    }
}

fn err(offset: usize, problem: impl Into<String>) -> ValueError {
    ValueError {
        offset,
        problem: problem.into(),
    }
}

fn from_decode(e: deltacrdt::DecodeError) -> ValueError {
    err(e.offset, e.kind.to_string())
}

/// Reads a length-prefixed UTF-8 string and returns its bytes.
fn string<'a>(r: &mut Reader<'a>) -> Result<&'a [u8], ValueError> {
    let n = r.count(1).map_err(from_decode)?;
    let at = r.offset();
    let bytes = r.take(n).map_err(from_decode)?;
    core::str::from_utf8(bytes)
        .map_err(|e| err(at + e.valid_up_to(), "string is not valid UTF-8"))?;
    Ok(bytes)
}

/// Reads one value at nesting `depth`, checking that it is canonical.
fn skip_value(r: &mut Reader<'_>, depth: usize) -> Result<(), ValueError> {
    let at = r.offset();
    match r.byte().map_err(from_decode)? {
        tag::NULL | tag::FALSE | tag::TRUE => {}
        tag::INT => {
            let z = r.varint().map_err(from_decode)?;
            // Zigzag: magnitude is z/2 (rounded up for negatives).
            let magnitude = (z >> 1) + (z & 1);
            if magnitude > MAX_SAFE_INTEGER {
                return Err(err(at, "integer is outside the safe range ±(2^53 - 1)"));
            }
        }
        tag::FLOAT => {
            let b = r.take(8).map_err(from_decode)?;
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            let f = f64::from_le_bytes(a);
            if !f.is_finite() {
                return Err(err(at, "number is NaN or infinite"));
            }
            if f.fract() == 0.0 && f.abs() <= MAX_SAFE_INTEGER as f64 {
                return Err(err(
                    at,
                    "a safe integer (or -0) must use the integer encoding",
                ));
            }
        }
        tag::STRING => {
            string(r)?;
        }
        tag::BYTES => {
            let n = r.count(1).map_err(from_decode)?;
            r.take(n).map_err(from_decode)?;
        }
        tag::ARRAY | tag::OBJECT if depth >= MAX_DEPTH => {
            return Err(err(
                at,
                format!("arrays and objects nest deeper than {MAX_DEPTH} levels"),
            ));
        }
        tag::ARRAY => {
            let n = r.count(1).map_err(from_decode)?;
            for _ in 0..n {
                skip_value(r, depth + 1)?;
            }
        }
        tag::OBJECT => {
            let n = r.count(2).map_err(from_decode)?;
            let mut prev: Option<&[u8]> = None;
            for _ in 0..n {
                let key_at = r.offset();
                let key = string(r)?;
                if prev.is_some_and(|p| key <= p) {
                    return Err(err(
                        key_at,
                        "object keys are not in strictly ascending order",
                    ));
                }
                prev = Some(key);
                skip_value(r, depth + 1)?;
            }
        }
        t => return Err(err(at, format!("unknown value tag {t}"))),
    }
    Ok(())
}

/// Checks that `bytes` is exactly one canonical value.
///
/// # Errors
/// A [`ValueError`] naming the first problem.
pub fn check(bytes: &[u8]) -> Result<(), ValueError> {
    let mut r = Reader::new(bytes);
    skip_value(&mut r, 0)?;
    if r.remaining() != 0 {
        return Err(err(
            r.offset(),
            format!("{} unexpected byte(s) after the value", r.remaining()),
        ));
    }
    Ok(())
}

/// Splits a concatenation of canonical values (the batch form that crosses the boundary in
/// one copy) into the values, checking each.
///
/// # Errors
/// A [`ValueError`] naming the first problem; its offset counts from the start of `bytes`.
pub fn split(bytes: &[u8]) -> Result<Vec<&[u8]>, ValueError> {
    let mut r = Reader::new(bytes);
    let mut out = Vec::new();
    while r.remaining() > 0 {
        let start = r.offset();
        skip_value(&mut r, 0)?;
        out.push(&bytes[start..r.offset()]);
    }
    Ok(out)
}

/// Appends a number in the value format: a safe integer as tag 3 (zigzag varint), anything
/// larger as the nearest f64 (tag 4).
pub fn write_number(n: i128, out: &mut Vec<u8>) {
    let safe = i128::from(MAX_SAFE_INTEGER);
    if (-safe..=safe).contains(&n) {
        out.push(tag::INT);
        let z = ((n << 1) ^ (n >> 127)) as u64;
        deltacrdt::codec::write_varint(out, z);
    } else {
        out.push(tag::FLOAT);
        out.extend_from_slice(&(n as f64).to_le_bytes());
    }
}

/// Appends each value to `out` as is: concatenated values are self-delimiting.
pub fn concat<'a>(values: impl Iterator<Item = &'a Vec<u8>>) -> Vec<u8> {
    let mut out = Vec::new();
    for v in values {
        out.extend_from_slice(v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(v: i64) -> Vec<u8> {
        let mut out = vec![tag::INT];
        deltacrdt::codec::write_varint(&mut out, ((v << 1) ^ (v >> 63)) as u64);
        out
    }

    fn float(f: f64) -> Vec<u8> {
        let mut out = vec![tag::FLOAT];
        out.extend_from_slice(&f.to_le_bytes());
        out
    }

    fn string(s: &str) -> Vec<u8> {
        let mut out = vec![tag::STRING, s.len() as u8];
        out.extend_from_slice(s.as_bytes());
        out
    }

    fn object(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut out = vec![tag::OBJECT, entries.len() as u8];
        for (k, v) in entries {
            out.push(k.len() as u8);
            out.extend_from_slice(k.as_bytes());
            out.extend_from_slice(v);
        }
        out
    }

    fn nested_arrays(depth: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for _ in 0..depth - 1 {
            out.extend_from_slice(&[tag::ARRAY, 1]);
        }
        out.extend_from_slice(&[tag::ARRAY, 0]);
        out
    }

    #[test]
    fn accepts_canonical_values() {
        for v in [
            vec![tag::NULL],
            vec![tag::TRUE],
            int(0),
            int(-1),
            int(MAX_SAFE_INTEGER as i64),
            int(-(MAX_SAFE_INTEGER as i64)),
            float(0.5),
            float(1e300),
            string("héllo"),
            vec![tag::BYTES, 2, 0, 255],
            vec![tag::ARRAY, 2, tag::NULL, tag::FALSE],
            object(&[("a", int(1)), ("b", vec![tag::NULL])]),
            nested_arrays(MAX_DEPTH),
        ] {
            assert_eq!(check(&v), Ok(()), "{v:?}");
        }
    }

    #[test]
    fn rejects_non_canonical_values() {
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (vec![], "input ends early"),
            (vec![9], "unknown value tag"),
            (int(MAX_SAFE_INTEGER as i64 + 1), "safe range"),
            (vec![tag::INT, 0x80, 0x00], "more bytes than needed"),
            (float(1.0), "integer encoding"),
            (float(-0.0), "integer encoding"),
            (float(f64::NAN), "NaN"),
            (float(f64::INFINITY), "NaN or infinite"),
            (vec![tag::STRING, 1, 0xff], "UTF-8"),
            (
                vec![tag::STRING, 5, b'a'],
                "larger than the remaining input",
            ),
            (
                object(&[("b", vec![tag::NULL]), ("a", vec![tag::NULL])]),
                "ascending",
            ),
            (
                object(&[("a", vec![tag::NULL]), ("a", vec![tag::NULL])]),
                "ascending",
            ),
            (nested_arrays(MAX_DEPTH + 1), "deeper"),
            (vec![tag::NULL, tag::NULL], "after the value"),
        ];
        for (bytes, needle) in cases {
            let e = check(&bytes).unwrap_err().to_string();
            assert!(e.contains(needle), "{bytes:?}: {e}");
        }
    }

    #[test]
    fn split_and_concat_are_inverse() {
        let values = [int(5), string("x"), object(&[("k", vec![tag::ARRAY, 0])])];
        let joined = concat(values.iter());
        let parts = split(&joined).unwrap();
        assert_eq!(parts, values.iter().map(Vec::as_slice).collect::<Vec<_>>());
        assert!(split(&joined[..joined.len() - 1]).is_err());
        assert_eq!(split(&[]).unwrap().len(), 0);
    }
}
