//! A counting global allocator: measures how many heap bytes a value keeps alive.
//!
//! Install it in a binary with `#[global_allocator]`; then [`retained_by`] builds a value and
//! reports the bytes still allocated once the builder's temporaries are gone. Counts are kept
//! per thread, so allocations of other threads (a test harness, criterion) do not leak into a
//! measurement. The count is the requested sizes (`Layout::size`), not the allocator's
//! rounded-up blocks, so it is the same on every platform and slightly below the resident size.
//!
//! ```no_run
//! use deltacrdt_benches::heap::{retained_by, CountingAlloc};
//!
//! #[global_allocator]
//! static ALLOC: CountingAlloc = CountingAlloc;
//!
//! let (v, bytes) = retained_by(|| vec![0u64; 1000]);
//! assert_eq!(bytes, 8000);
//! # drop(v);
//! ```
// The whole point of this module is `unsafe impl GlobalAlloc`; every unsafe call below only
// forwards to `System` with the caller's own arguments.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    /// Bytes allocated minus bytes freed on this thread since it started.
    static NET: Cell<i64> = const { Cell::new(0) };
    /// Whether any allocation went through [`CountingAlloc`] on this thread.
    static ACTIVE: Cell<bool> = const { Cell::new(false) };
    /// Allocation calls (`alloc`, `alloc_zeroed`, `realloc`) on this thread since it started.
    static CALLS: Cell<u64> = const { Cell::new(0) };
}

fn count_call() {
    let _ = CALLS.try_with(|c| c.set(c.get() + 1));
}

fn record(delta: i64) {
    // `try_with` fails only while the thread is being torn down; such allocations are not ours.
    let _ = NET.try_with(|n| n.set(n.get() + delta));
    let _ = ACTIVE.try_with(|a| a.set(true));
}

fn size_of(layout: Layout) -> i64 {
    i64::try_from(layout.size()).unwrap_or(i64::MAX)
}

/// The system allocator, counting the bytes each thread allocates and frees.
#[derive(Clone, Copy, Debug, Default)]
pub struct CountingAlloc;

// SAFETY: every method forwards to `System` with exactly the arguments it was given, so it
// upholds `GlobalAlloc`'s contract exactly as `System` does; the bookkeeping touches only a
// const-initialised thread-local `Cell`, which never allocates.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller guarantees a non-zero-sized layout.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            count_call();
            record(size_of(layout));
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            count_call();
            record(size_of(layout));
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` (through us) with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        record(-size_of(layout));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` was allocated by `System` (through us) with `layout`; the caller
        // guarantees `new_size` is valid for its alignment.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            count_call();
            record(i64::try_from(new_size).unwrap_or(i64::MAX) - size_of(layout));
        }
        p
    }
}

/// Bytes allocated minus bytes freed on the current thread so far.
pub fn net_bytes() -> i64 {
    NET.with(Cell::get)
}

/// Allocation calls (`alloc`, `alloc_zeroed` and `realloc`, each counted once) on the
/// current thread so far: the difference across an operation is how many times it went to
/// the allocator.
pub fn allocation_calls() -> u64 {
    CALLS.with(Cell::get)
}

/// Whether [`CountingAlloc`] is the global allocator (it has seen an allocation on this thread).
pub fn is_counting() -> bool {
    drop(std::hint::black_box(Box::new(0u8)));
    ACTIVE.with(Cell::get)
}

/// Runs `build` and returns its value with the heap bytes that value keeps alive (bytes
/// allocated during `build` and not freed by its end).
///
/// # Panics
/// If [`CountingAlloc`] is not the global allocator: the count would silently be zero.
pub fn retained_by<T>(build: impl FnOnce() -> T) -> (T, i64) {
    assert!(
        is_counting(),
        "install deltacrdt_benches::heap::CountingAlloc as the #[global_allocator] first"
    );
    let before = net_bytes();
    // `black_box`: the optimiser may otherwise elide the allocations of a value that is only
    // dropped (it did, for a 16-element `Vec`).
    let value = std::hint::black_box(build());
    (value, net_bytes() - before)
}
