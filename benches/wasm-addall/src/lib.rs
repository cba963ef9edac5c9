//! The `addAll` workload of the npm package without the bindings: `n` string elements, encoded
//! as the JS value format does (tag 5, byte length, UTF-8), added to an empty
//! `ORSet<Vec<u8>>` with one `add_all`, as `WasmORSet::addAll` does.

use deltacrdt::{ORSet, ReplicaId};

/// The allocator of the npm package's build, with `--features talc`.
#[cfg(all(feature = "talc", target_family = "wasm"))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// The `i`-th element: the JS string `item-<i>` in the value encoding of the bindings.
pub fn element(i: u32) -> Vec<u8> {
    let s = format!("item-{i}");
    let mut v = Vec::with_capacity(2 + s.len());
    v.push(5);
    v.push(s.len() as u8);
    v.extend_from_slice(s.as_bytes());
    v
}

/// Adds `n` elements with one `add_all`; returns the size of the set and of its delta.
pub fn workload(n: u32) -> (usize, usize) {
    let items: Vec<Vec<u8>> = (0..n).map(element).collect();
    let mut set: ORSet<Vec<u8>> = ORSet::new();
    let delta = set
        .add_all(ReplicaId(1), items)
        .expect("a fresh replica has sequence numbers left");
    (set.len(), delta.len())
}

/// The wasm export Node calls: runs [`workload`] and returns the size of the set (the delta's
/// must be the same).
#[no_mangle]
pub extern "C" fn run(n: u32) -> u32 {
    let (a, b) = workload(n);
    if a == b {
        a as u32
    } else {
        u32::MAX
    }
}

/// [`run`] after growing the heap in one step: allocates and frees `mib` MiB first, so the
/// allocator asks the wasm memory for it with one `memory.grow` and then serves the workload's
/// small allocations from that free block. The same workload as `run`: the difference between
/// the two is the cost of growing the memory a page at a time (see run.mjs).
#[no_mangle]
pub extern "C" fn run_reserved(n: u32, mib: u32) -> u32 {
    drop(Vec::<u8>::with_capacity(mib as usize * 1024 * 1024));
    run(n)
}
