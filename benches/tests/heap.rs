//! The counting allocator counts what a value keeps, and nothing the builder threw away.

use deltacrdt_benches::heap::{is_counting, net_bytes, retained_by, CountingAlloc};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

#[test]
fn counts_retained_bytes_only() {
    assert!(is_counting());
    let (v, bytes) = retained_by(|| vec![7u64; 1000]);
    assert_eq!(bytes, 8000);
    assert_eq!(v.len(), 1000);

    // Temporaries freed before the builder returns are not counted.
    let (b, bytes) = retained_by(|| {
        let scratch = vec![0u8; 1 << 20];
        std::hint::black_box(&scratch);
        Box::new([1u8; 100])
    });
    assert_eq!(bytes, 100);
    assert_eq!(b[0], 1);

    // Growth by reallocation counts the final capacity.
    let (v, bytes) = retained_by(|| {
        let mut v: Vec<u32> = Vec::new();
        v.extend(0..1000u32);
        v.shrink_to_fit();
        v
    });
    assert_eq!(bytes, 4 * v.len() as i64);

    let before = net_bytes();
    drop(v);
    assert_eq!(net_bytes(), before - 4000);
}
