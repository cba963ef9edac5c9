//! Sending values "over the wire": every message of the simulations is encoded and decoded,
//! so the codec is checked on every value the CRDTs actually produce.

use std::fmt::Debug;

use deltacrdt::codec::Binary;

/// Encodes `value`, decodes the bytes, and checks that the same value comes back.
///
/// # Panics
/// If decoding fails or yields a different value: the codec must round-trip every value.
pub fn through_wire<T: Binary + PartialEq + Debug>(value: &T) -> T {
    let bytes = value.to_bytes();
    match T::from_bytes(&bytes) {
        Ok(back) => {
            assert_eq!(&back, value, "decode(encode(v)) != v for bytes {bytes:?}");
            back
        }
        Err(e) => panic!("a valid {value:?} does not decode from its own encoding {bytes:?}: {e}"),
    }
}
