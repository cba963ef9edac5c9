//! Growing the wasm memory ahead of need.
//!
//! The allocator asks the engine for just enough pages when it runs out. In Node 20 each
//! `memory.grow` costs more the larger the memory already is (growing to 4,000 pages one page
//! at a time took 4.1 s, 64 pages at a time 21 ms), so a state built up by many small
//! allocations spent most of its time growing. [`GrowAhead`] makes the growth geometric: when
//! a call grew the memory, it allocates and frees a block of a quarter of the memory's size, which
//! the allocator takes from the engine in one step and keeps free for what comes next. A
//! batch of known size ([`reserve`]) grows once before it starts. Both only ever ask; if the
//! engine refuses, nothing happens (the allocation that really needs the memory fails later,
//! as it would have).

/// The memory's size in 64 KiB pages (0 off wasm).
fn pages() -> usize {
    #[cfg(target_arch = "wasm32")]
    {
        core::arch::wasm32::memory_size::<0>()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        0
    }
}

/// Makes `bytes` of heap free in one growth step, if the allocator lacks them.
pub(crate) fn reserve(bytes: usize) {
    if !cfg!(target_arch = "wasm32") {
        return;
    }
    let mut block: Vec<u8> = Vec::new();
    if block.try_reserve_exact(bytes).is_ok() {
        // Kept from being optimized away; freed at once.
        core::hint::black_box(&block);
    }
}

/// A guard for one call into the module: if the call grew the memory, grow it by a quarter again
/// on the way out.
pub(crate) struct GrowAhead(usize);

impl GrowAhead {
    pub(crate) fn start() -> Self {
        Self(pages())
    }
}

impl Drop for GrowAhead {
    fn drop(&mut self) {
        let now = pages();
        if now > self.0 {
            reserve(now * 65_536 / 4);
        }
    }
}
