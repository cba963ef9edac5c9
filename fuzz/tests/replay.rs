//! Replays the committed seed corpora and regression inputs through the fuzz checks on the
//! stable toolchain, without libFuzzer: `cargo test --manifest-path fuzz/Cargo.toml`.

use std::fs;
use std::path::Path;

use arbitrary::{Arbitrary, Unstructured};
use deltacrdt::sync::Strategy;
use deltacrdt_fuzz::{convergence, decode, delta_since, hostile, sync};

/// Every file of `corpus/<target>` and `regressions/<target>`; at least `min` of them.
fn inputs(target: &str, min: usize) -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        for e in entries {
            out.push(fs::read(e.unwrap().path()).unwrap());
        }
    }
    assert!(
        out.len() >= min,
        "{target}: {} inputs, expected at least {min}",
        out.len()
    );
    out
}

/// What `fuzz_target!` does with a typed input.
fn parse<T: for<'a> Arbitrary<'a>>(bytes: &[u8]) -> Option<T> {
    T::arbitrary_take_rest(Unstructured::new(bytes)).ok()
}

#[test]
fn decode_corpus_passes() {
    for bytes in inputs("decode", 10) {
        decode::check(&bytes);
    }
}

#[test]
fn convergence_corpus_passes() {
    for bytes in inputs("convergence", 5) {
        let scenario: convergence::Scenario = parse(&bytes).expect("seeds parse");
        convergence::run(&scenario);
    }
}

#[test]
fn delta_since_corpus_passes() {
    for bytes in inputs("delta_since", 5) {
        let case: delta_since::Case = parse(&bytes).expect("seeds parse");
        delta_since::run(&case);
    }
}

#[test]
fn sync_session_corpus_passes() {
    for bytes in inputs("sync_session", 5) {
        let actions: Vec<sync::Action> = parse(&bytes).expect("seeds parse");
        for strategy in [Strategy::BpRr, Strategy::SpanningTree] {
            sync::run_with(strategy, &actions);
        }
    }
}

#[test]
fn hostile_sessions_corpus_passes() {
    for bytes in inputs("hostile_sessions", 5) {
        let actions: Vec<hostile::Action> = parse(&bytes).expect("seeds parse");
        for strategy in [Strategy::BpRr, Strategy::SpanningTree] {
            hostile::run_with(strategy, &actions);
        }
    }
}
