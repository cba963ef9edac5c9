//! Sets: [`ORSet`], the add-wins observed-remove set.

mod chunk_map;
mod orset;

pub(crate) use chunk_map::ChunkMap;
pub(crate) use orset::{fresh_dot, Dots};
// The multi-value register's tests check its catch-up against this gap walk.
#[cfg(test)]
pub(crate) use orset::insert_gaps;
pub use orset::{DotsExhausted, ORSet};
