//! Two honest sync sessions under an attacker sending well-formed hostile messages in each
//! other's name: no panic, refusals change nothing, and the honest sessions converge to every
//! honest update plus what was accepted. See `deltacrdt_fuzz::hostile`.
#![no_main]

use deltacrdt_fuzz::hostile::{run, Action};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|actions: Vec<Action>| {
    run(&actions);
});
