//! Sets: [`ORSet`], the add-wins observed-remove set.

mod orset;

pub(crate) use orset::{fresh_dot, insert_gaps, Dots};
pub use orset::{DotsExhausted, ORSet};
