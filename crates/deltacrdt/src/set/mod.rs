//! Sets: [`ORSet`], the add-wins observed-remove set.

mod orset;

pub use orset::ORSet;
