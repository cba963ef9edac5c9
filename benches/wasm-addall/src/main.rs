//! The native side of the comparison: times [`workload`] for each size on the command line.

use std::time::Instant;

fn main() {
    let sizes: Vec<u32> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("sizes are integers"))
        .collect();
    for n in sizes {
        let t = Instant::now();
        let (len, _) = deltacrdt_wasm_addall::workload(n);
        let ms = t.elapsed().as_secs_f64() * 1e3;
        assert_eq!(len, n as usize);
        println!("native {n} {ms:.1} ms");
    }
}
