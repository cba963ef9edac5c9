//! Maps: [`ORMap`], an observed-remove map of nested causal CRDTs.

mod ormap;

pub use ormap::ORMap;
