//! Per-call cost of the hot mutators: allocator calls and nanoseconds per `ORSet::add` into a
//! set of 10,000 elements, and per `CausalCounter::inc` on one counter, as the npm package
//! calls them (one mutator call, its delta kept).
//!
//! Usage: `cargo run --release -p deltacrdt-benches --bin bench-allocs`

use std::hint::black_box;
use std::time::Instant;

use deltacrdt::{CausalCounter, ORSet, ReplicaId};
use deltacrdt_benches::heap::{allocation_calls, is_counting, CountingAlloc};
use deltacrdt_benches::workload::{self, ours};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Repetitions of each timed loop; the fastest is reported (the least disturbed by other jobs).
const REPS: usize = 15;

fn main() {
    assert!(is_counting(), "the counting allocator is not installed");
    let adds = workload::MUTATIONS;

    // ORSet::add: `adds` fresh elements into a set of BASE_SET, each delta kept (as a caller
    // that ships it would), allocator calls counted over the loop.
    let base = ours::set_of(workload::BASE_SET);
    let mut calls = u64::MAX;
    let mut best = f64::MAX;
    for _ in 0..REPS {
        let mut s = base.clone();
        let mut deltas = Vec::with_capacity(adds);
        let before = allocation_calls();
        let t = Instant::now();
        for e in workload::fresh_elements() {
            deltas.push(s.add(ReplicaId(workload::LEFT), e).expect("dots left"));
        }
        let ns = t.elapsed().as_nanos() as f64 / adds as f64;
        calls = calls.min(allocation_calls() - before);
        best = best.min(ns);
        black_box((s, deltas));
    }
    println!(
        "orset add into {}: {:.2} allocator calls per add, {:.0} ns per add (fastest of {REPS})",
        workload::BASE_SET,
        calls as f64 / adds as f64,
        best
    );

    // The same elements added into the middle of the set (odd numbers between the even ones).
    let mut calls = u64::MAX;
    let mut best = f64::MAX;
    for _ in 0..REPS {
        let mut s = base.clone();
        let mut deltas = Vec::with_capacity(adds);
        let before = allocation_calls();
        let t = Instant::now();
        for e in (0..adds as u64).map(|i| i * 20 + 1) {
            deltas.push(s.add(ReplicaId(workload::LEFT), e).expect("dots left"));
        }
        let ns = t.elapsed().as_nanos() as f64 / adds as f64;
        calls = calls.min(allocation_calls() - before);
        best = best.min(ns);
        black_box((s, deltas));
    }
    println!(
        "orset add into the middle of {}: {:.2} allocator calls per add, {:.0} ns per add",
        workload::BASE_SET,
        calls as f64 / adds as f64,
        best
    );

    // The npm package's case: byte-string elements (`ORSet<Vec<u8>>`, as the bindings hold
    // them), `adds` new ones into a set of BASE_SET.
    let named = |i: u64| format!("item-{i:06}").into_bytes();
    let mut strings: ORSet<Vec<u8>> = ORSet::new();
    for i in 0..workload::BASE_SET as u64 {
        let _ = strings
            .add(ReplicaId(workload::BASE), named(2 * i))
            .expect("dots left");
    }
    let mut calls = u64::MAX;
    let mut best = f64::MAX;
    for _ in 0..REPS {
        let mut s = strings.clone();
        let fresh: Vec<Vec<u8>> = (0..adds as u64).map(|i| named(20 * i + 1)).collect();
        let mut deltas = Vec::with_capacity(adds);
        let before = allocation_calls();
        let t = Instant::now();
        for e in fresh {
            deltas.push(s.add(ReplicaId(workload::LEFT), e).expect("dots left"));
        }
        let ns = t.elapsed().as_nanos() as f64 / adds as f64;
        calls = calls.min(allocation_calls() - before);
        best = best.min(ns);
        black_box((s, deltas));
    }
    println!(
        "orset<bytes> add into the middle of {}: {:.2} allocator calls per add, {:.0} ns per add",
        workload::BASE_SET,
        calls as f64 / adds as f64,
        best
    );

    // CausalCounter::inc: `adds` increments of one counter by one replica.
    let mut calls = u64::MAX;
    let mut best = f64::MAX;
    for _ in 0..REPS {
        let mut c = CausalCounter::new();
        let mut deltas = Vec::with_capacity(adds);
        let before = allocation_calls();
        let t = Instant::now();
        for _ in 0..adds {
            deltas.push(c.inc(ReplicaId(workload::LEFT), 1).expect("dots left"));
        }
        let ns = t.elapsed().as_nanos() as f64 / adds as f64;
        calls = calls.min(allocation_calls() - before);
        best = best.min(ns);
        black_box((c, deltas));
    }
    println!(
        "causal counter inc ({adds} in a row): {:.2} allocator calls per inc, {:.0} ns per inc",
        calls as f64 / adds as f64,
        best
    );
}
