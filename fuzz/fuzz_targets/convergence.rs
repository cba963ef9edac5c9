//! Operation sequences on three replicas with an arbitrary delivery schedule, checked against
//! a reference model and for convergence. See `deltacrdt_fuzz::convergence`.
#![no_main]

use deltacrdt_fuzz::convergence::{run, Scenario};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|scenario: Scenario| {
    run(&scenario);
});
