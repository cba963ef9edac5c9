//! Two sync sessions exchanging real, dropped, corrupted and arbitrary messages: no panic,
//! rejected messages change nothing, clean rounds converge. See `deltacrdt_fuzz::sync`.
#![no_main]

use deltacrdt_fuzz::sync::{run, Action};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|actions: Vec<Action>| {
    run(&actions);
});
