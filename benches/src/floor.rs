//! The floor: what merging two replicas costs when a replica is nothing but a sorted
//! `Vec<u64>`. No CRDT can do less work than this, so `ours ÷ floor` says how much of our
//! time is bookkeeping (dots, contexts, elements stored twice) rather than the merge itself.

/// The sorted union of two sorted, duplicate-free slices, in one linear merge.
///
/// ```
/// use deltacrdt_benches::floor::union;
/// assert_eq!(union(&[1, 3, 5], &[2, 3, 6]), vec![1, 2, 3, 5, 6]);
/// ```
pub fn union(a: &[u64], b: &[u64]) -> Vec<u64> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (x, y) = (a[i], b[j]);
        if x < y {
            out.push(x);
            i += 1;
        } else if y < x {
            out.push(y);
            j += 1;
        } else {
            out.push(x);
            i += 1;
            j += 1;
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

/// The floor of a catch-up delta: the elements of a sorted slice above `seen`, copied out.
///
/// ```
/// use deltacrdt_benches::floor::tail_after;
/// assert_eq!(tail_after(&[1, 4, 9, 12], 4), vec![9, 12]);
/// ```
pub fn tail_after(sorted: &[u64], seen: u64) -> Vec<u64> {
    sorted[sorted.partition_point(|&x| x <= seen)..].to_vec()
}

/// The floor of encoding: each `u64` as 8 little-endian bytes.
///
/// ```
/// use deltacrdt_benches::floor::{decode, encode};
/// let v = vec![1, u64::MAX, 7];
/// assert_eq!(encode(&v).len(), 24);
/// assert_eq!(decode(&encode(&v)), Some(v));
/// ```
pub fn encode(values: &[u64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * 8);
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// The floor of decoding: the reverse of [`encode`]; `None` if the length is not a multiple of 8.
pub fn decode(bytes: &[u8]) -> Option<Vec<u64>> {
    if bytes.len() % 8 != 0 {
        return None;
    }
    Some(
        bytes
            .chunks_exact(8)
            .map(|c| {
                let mut b = [0u8; 8];
                b.copy_from_slice(c);
                u64::from_le_bytes(b)
            })
            .collect(),
    )
}
