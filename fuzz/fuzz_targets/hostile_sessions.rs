//! Two honest sync sessions under an attacker sending well-formed hostile messages in each
//! other's name: no panic, refusals change nothing, and the honest sessions converge to every
//! honest update plus what was accepted. See `deltacrdt_fuzz::hostile`.
#![no_main]

use deltacrdt::sync::Strategy;
use deltacrdt_fuzz::hostile::{run_with, Action};
use libfuzzer_sys::fuzz_target;

// Odd-length inputs run the spanning tree (on two replicas, its one link is a tree link),
// even-length ones BP+RR: the corpus stays valid for both.
fuzz_target!(|actions: Vec<Action>| {
    let strategy = if actions.len() % 2 == 1 {
        Strategy::SpanningTree
    } else {
        Strategy::BpRr
    };
    run_with(strategy, &actions);
});
