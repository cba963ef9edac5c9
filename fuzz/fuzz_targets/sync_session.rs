//! Two sync sessions exchanging real, dropped, corrupted and arbitrary messages: no panic,
//! rejected messages change nothing, clean rounds converge. See `deltacrdt_fuzz::sync`.
#![no_main]

use deltacrdt::sync::Strategy;
use deltacrdt_fuzz::sync::{run_with, Action};
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
