//! Decoding arbitrary bytes as every state, delta and version type.
//!
//! For each type: decoding never panics, allocates at most
//! [`ALLOC_PER_INPUT_BYTE`]` * len + `[`ALLOC_SLACK`] bytes, and a successful decode re-encodes to
//! exactly the input (the format is canonical); an input in an older format version (which
//! decoders still read, encoders no longer write) must decode to the value its re-encoding in
//! today's version decodes to. Decoded CRDT states are also checked for
//! idempotent join and a `delta_since` that rebuilds them, since a decoder that accepts a
//! value breaking the type's invariants would show up there.

use std::fmt::Debug;
use std::sync::atomic::{AtomicUsize, Ordering};

use deltacrdt::codec::{peek_type, Binary, FORMAT_VERSION};
use deltacrdt::{
    BoundedCounter, BoundedVersion, CausalContext, CausalCounter, CausalVersion, DeltaCrdt, EWFlag,
    GCounter, LWWField, LWWRegister, LwwVersion, MVRegister, ORMap, ORSet, PNCounter, PNVersion,
    VersionVector,
};

use crate::alloc_meter;

/// Heap bytes a decode may hold per input byte. The densest encodings (an `ORSet` entry in
/// 4 bytes) become an element map entry, a dot index entry and the slack of their chunks.
pub const ALLOC_PER_INPUT_BYTE: usize = 128;
/// Heap bytes a decode may hold whatever the input (first B-tree nodes and vectors).
pub const ALLOC_SLACK: usize = 16 * 1024;

/// Highest `peak / input length` seen so far, in hundredths (reported when it grows if the
/// environment variable `DELTACRDT_FUZZ_REPORT_ALLOC` is set).
static MAX_RATIO_X100: AtomicUsize = AtomicUsize::new(0);

/// Runs every check on `data`.
pub fn check(data: &[u8]) {
    let _ = peek_type(data);
    check_version::<VersionVector>(data);
    check_version::<CausalContext>(data);
    check_version::<CausalVersion>(data);
    check_version::<PNVersion>(data);
    check_version::<LwwVersion>(data);
    check_version::<BoundedVersion>(data);
    check_state::<GCounter>(data);
    check_state::<PNCounter>(data);
    check_state::<BoundedCounter>(data);
    check_state::<ORSet<u64>>(data);
    check_state::<ORSet<String>>(data);
    check_state::<ORSet<Vec<u8>>>(data);
    check_state::<ORSet<(u32, Option<i64>)>>(data);
    check_state::<LWWRegister<String>>(data);
    check_state::<LWWRegister<u64>>(data);
    check_state::<MVRegister<u32>>(data);
    check_state::<MVRegister<String>>(data);
    check_state::<MVRegister<(bool, i32)>>(data);
    check_state::<EWFlag>(data);
    check_state::<CausalCounter>(data);
    check_state::<LWWField<String>>(data);
    check_state::<ORMap<u64, CausalCounter>>(data);
    check_state::<ORMap<String, ORSet<String>>>(data);
    check_state::<ORMap<u8, MVRegister<u32>>>(data);
    check_state::<ORMap<u8, ORMap<String, LWWField<String>>>>(data);
    check_state::<ORMap<Vec<u8>, EWFlag>>(data);
}

/// Decodes `data` as `T` with the allocation and canonicity checks.
fn decode_checked<T: Binary + Debug>(data: &[u8]) -> Option<T> {
    let (result, peak) = alloc_meter::peak_during(|| T::from_bytes(data));
    let limit = ALLOC_PER_INPUT_BYTE
        .saturating_mul(data.len())
        .saturating_add(ALLOC_SLACK);
    assert!(
        peak <= limit,
        "decoding {} bytes as {} held {peak} heap bytes (limit {limit})",
        data.len(),
        std::any::type_name::<T>()
    );
    note_ratio::<T>(data.len(), peak);
    match result {
        Ok(v) if data[0] == FORMAT_VERSION => {
            assert_eq!(
                v.to_bytes(),
                data,
                "{} decoded from bytes that are not its canonical encoding: {v:?}",
                std::any::type_name::<T>()
            );
            Some(v)
        }
        Ok(v) => {
            // An older version: today's encoding of the value must read back as the value.
            let now = v.to_bytes();
            assert_eq!(now[0], FORMAT_VERSION);
            let back = T::from_bytes(&now).unwrap_or_else(|e| {
                panic!(
                    "{} re-encoded from format {} does not decode: {e}",
                    std::any::type_name::<T>(),
                    data[0]
                )
            });
            assert_eq!(
                back.to_bytes(),
                now,
                "{} changed across format versions: {v:?}",
                std::any::type_name::<T>()
            );
            Some(v)
        }
        Err(e) => {
            assert!(
                e.offset <= data.len(),
                "error offset {} past the input ({e})",
                e.offset
            );
            assert!(!e.to_string().is_empty());
            None
        }
    }
}

fn note_ratio<T>(len: usize, peak: usize) {
    if len == 0 || std::env::var_os("DELTACRDT_FUZZ_REPORT_ALLOC").is_none() {
        return;
    }
    let ratio = peak.saturating_mul(100) / len;
    if ratio > MAX_RATIO_X100.fetch_max(ratio, Ordering::Relaxed) {
        eprintln!(
            "alloc: new max {}.{:02} heap bytes per input byte ({peak} for {len} bytes as {})",
            ratio / 100,
            ratio % 100,
            std::any::type_name::<T>()
        );
    }
}

fn check_version<T: Binary + Debug>(data: &[u8]) {
    decode_checked::<T>(data);
}

fn check_state<T: Binary + DeltaCrdt + Debug>(data: &[u8]) {
    let Some(v) = decode_checked::<T>(data) else {
        return;
    };
    let mut twice = v.clone();
    assert!(
        !twice.join_ref(&v),
        "joining a state into itself reported a change: {v:?}"
    );
    assert_eq!(twice, v, "join is not idempotent on {v:?}");
    assert!(v.leq(&v));
    // From nothing, delta_since must rebuild the whole state.
    let mut rebuilt = T::default();
    rebuilt.join(v.delta_since(&T::Version::default()));
    assert_eq!(rebuilt, v, "delta_since(bottom) does not rebuild {v:?}");
    // From itself, there is nothing to send.
    let own = v.delta_since(&v.version());
    assert!(
        own.is_bottom(),
        "delta_since(own version) is not empty: {own:?} for {v:?}"
    );
}
