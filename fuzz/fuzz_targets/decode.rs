//! Decodes arbitrary bytes as every state, delta and version type: no panic, allocation
//! bounded by the input length, canonical re-encoding. See `deltacrdt_fuzz::decode`.
#![no_main]

use deltacrdt_fuzz::alloc_meter::CountingAlloc;
use libfuzzer_sys::fuzz_target;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fuzz_target!(|data: &[u8]| {
    deltacrdt_fuzz::decode::check(data);
});
