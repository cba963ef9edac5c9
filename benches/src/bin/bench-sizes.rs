//! Measures heap bytes and encoded bytes per element for deltacrdt, the `crdts` crate and
//! the sorted-`Vec<u64>` floor, and prints them as JSON (one [`SizeRow`] per line of the array).
//!
//! Usage: `cargo run --release -p deltacrdt-benches --bin bench-sizes > sizes.json`

use deltacrdt_benches::heap::CountingAlloc;
use deltacrdt_benches::sizes::{encoded_rows, heap_rows, SizeRow};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fn main() {
    let rows: Vec<SizeRow> = heap_rows().into_iter().chain(encoded_rows()).collect();
    for r in &rows {
        eprintln!(
            "{:<32} {:>28} {:>14}: ours {:>10.1}  crdts {:>10}  floor {:>8}",
            r.metric,
            r.param,
            r.unit,
            r.ours,
            r.crdts.map_or("-".into(), |v| format!("{v:.1}")),
            r.floor.map_or("-".into(), |v| format!("{v:.1}")),
        );
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&rows).expect("rows serialize")
    );
}
