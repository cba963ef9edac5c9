//! The sync round of `sync/orset_round` in a plain loop, for profiles and for comparisons on
//! a shared machine: each repetition starts from a fresh copy of the link (not timed), and the
//! fastest and the median repetition are printed for ours and for the `crdts` crate.
//!
//! Usage: `cargo run --release -p deltacrdt-benches --bin bench-round [repetitions]`

use std::hint::black_box;
use std::time::Instant;

use deltacrdt_benches::workload::{self, link};

fn stats(mut t: Vec<f64>) -> (f64, f64) {
    t.sort_by(f64::total_cmp);
    (t[0], t[t.len() / 2])
}

fn main() {
    let reps: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    let ours = link::ours_link(workload::BASE_SET);
    let peer = link::peer_link(workload::BASE_SET);
    let (mut a, mut b) = (Vec::with_capacity(reps), Vec::with_capacity(reps));
    // Alternate the contenders so that both see the same load.
    for _ in 0..reps {
        let mut l = ours.clone();
        let t = Instant::now();
        black_box(link::ours_round(&mut l, link::round_elements()));
        a.push(t.elapsed().as_secs_f64() * 1e6);
        drop(black_box(l));
        let mut p = peer.clone();
        let t = Instant::now();
        black_box(link::peer_round(&mut p, link::round_elements()));
        b.push(t.elapsed().as_secs_f64() * 1e6);
        drop(black_box(p));
    }
    let ((amin, amed), (bmin, bmed)) = (stats(a), stats(b));
    println!(
        "sync round, {} adds on {}: ours min {amin:.1} us median {amed:.1} us; crdts min {bmin:.1} us median {bmed:.1} us; ratio of minima {:.2}, of medians {:.2}",
        link::ROUND_UPDATES,
        workload::BASE_SET,
        amin / bmin,
        amed / bmed
    );
}
