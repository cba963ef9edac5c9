//! Times one `ORSet::add_all` of N elements natively: the reference of the npm bench's
//! large-set row (`js/bench`), which makes the same call through the wasm module. The
//! elements are what the package stores, the canonical encoding of the JS strings
//! `"item-<i>"`. Prints the milliseconds.
//!
//! Usage: `cargo run --release -p deltacrdt-wasm --example add_all -- [N]` (default 1,000,000).

use std::time::Instant;

use deltacrdt::{ORSet, ReplicaId};

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let items: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            let s = format!("item-{i}");
            let mut v = vec![deltacrdt_wasm::value::tag::STRING, s.len() as u8];
            v.extend_from_slice(s.as_bytes());
            v
        })
        .collect();
    let mut set = ORSet::new();
    let start = Instant::now();
    let delta = set
        .add_all(ReplicaId(1), items)
        .unwrap_or_else(|e| panic!("{e}"));
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    assert_eq!((set.len(), delta.len()), (n, n));
    println!("{ms:.1}");
}
