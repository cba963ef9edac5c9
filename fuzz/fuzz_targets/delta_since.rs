//! `delta_since` correctness and minimality, and the lattice laws, between arbitrary
//! consistent replicas. See `deltacrdt_fuzz::delta_since`.
#![no_main]

use deltacrdt_fuzz::delta_since::{run, Case};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|case: Case| {
    run(&case);
});
