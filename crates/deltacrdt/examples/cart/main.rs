//! The case study, runnable: carts and stock in three regions.
//!
//! Each region is a replica with its own id, holding every shopping cart
//! (`ORMap<user, ORMap<sku, CartLine>>`, where `CartLine` is a value type of this example: a
//! quantity and a note, see `line.rs`) and the stock of every product (a `BoundedCounter` per
//! SKU). The regions sync with the crate's sans-IO session over a lossy, duplicating,
//! reordering in-memory network, seeded, with no clock. The story: concurrent adds, removes
//! and quantity changes; a partition; an oversell refused locally; a transfer of rights that
//! lets the sale go through; the heal. It prints the converged carts and stock and checks the
//! facts, failing if one does not hold. The test `tests/cart_scenario.rs` runs the same story
//! under many seeds.
//!
//! Run: `cargo run --release -p deltacrdt --example cart`

mod line;
mod scenario;

use std::process::ExitCode;

/// The seed of the network's random choices (loss, duplication, delivery order).
const SEED: u64 = 2026;

fn main() -> ExitCode {
    let outcome = scenario::run(SEED);
    print!("{outcome}");
    if outcome.holds() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
