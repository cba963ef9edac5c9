//! `ORSet`: add-wins observed-remove set of JS values.

use deltacrdt::{DotsExhausted, Lattice, ORSet};
use wasm_bindgen::prelude::*;

use crate::error::js_error;
use crate::replica::{shared_methods, Replica};
use crate::value;

type Set = ORSet<Vec<u8>>;

/// An OR-Set replica whose elements are canonical JS values (wrapped by the TS class `ORSet`).
#[wasm_bindgen]
pub struct WasmORSet {
    inner: Replica<Set>,
}

impl WasmORSet {
    fn wrap(inner: Replica<Set>) -> Self {
        WasmORSet { inner }
    }
}

#[wasm_bindgen]
impl WasmORSet {
    /// An empty set, adding as `replica`.
    #[wasm_bindgen(constructor)]
    pub fn new(replica: u64) -> WasmORSet {
        Self::wrap(Replica::new(replica))
    }

    /// Adds one encoded value; returns whether the state changed (always, for a valid value).
    pub fn add(&mut self, value: &[u8], keep_delta: bool) -> Result<bool, JsError> {
        value::check(value).map_err(|e| js_error("ORSet", "add", e))?;
        let d = self
            .inner
            .state
            .add(self.inner.id, value.to_vec())
            .map_err(|e| js_error("ORSet", "add", e))?;
        Ok(self.inner.record(d, keep_delta))
    }

    /// Adds a concatenation of encoded values as one delta; returns whether the state changed.
    /// All or nothing: every value is checked, and the sequence numbers counted, first.
    #[wasm_bindgen(js_name = addAll)]
    pub fn add_all(&mut self, values: &[u8], keep_delta: bool) -> Result<bool, JsError> {
        let items = value::split(values).map_err(|e| js_error("ORSet", "addAll", e))?;
        let id = self.inner.id;
        // Each add takes the next sequence number of `id`: refuse before adding any rather
        // than stop halfway.
        let used = self.inner.state.context().max_seq(id);
        if used.checked_add(items.len() as u64).is_none() {
            return Err(js_error("ORSet", "addAll", DotsExhausted { replica: id }));
        }
        let d = self
            .inner
            .state
            .add_all(id, items.into_iter().map(<[u8]>::to_vec))
            .map_err(|e| js_error("ORSet", "addAll", e))?;
        Ok(self.inner.record(d, keep_delta))
    }

    /// Removes one encoded value (the adds seen of it); returns whether the state changed.
    pub fn remove(&mut self, value: &[u8], keep_delta: bool) -> bool {
        let d = self.inner.state.remove(&value.to_vec());
        self.inner.record(d, keep_delta)
    }

    /// Removes a concatenation of encoded values as one delta; returns whether the state changed.
    #[wasm_bindgen(js_name = removeAll)]
    pub fn remove_all(&mut self, values: &[u8], keep_delta: bool) -> Result<bool, JsError> {
        let items = value::split(values).map_err(|e| js_error("ORSet", "removeAll", e))?;
        let mut group = Set::new();
        for v in items {
            group.join(self.inner.state.remove(&v.to_vec()));
        }
        Ok(self.inner.record(group, keep_delta))
    }

    /// Removes every element seen here; returns whether the state changed.
    pub fn clear(&mut self, keep_delta: bool) -> bool {
        let d = self.inner.state.clear();
        self.inner.record(d, keep_delta)
    }

    /// Joins a delta or a state; returns whether the state changed.
    pub fn merge(&mut self, bytes: &[u8]) -> Result<bool, JsError> {
        self.inner
            .merge(bytes)
            .map_err(|e| js_error("ORSet", "merge", e))
    }

    /// Whether the encoded value is an element.
    pub fn has(&self, value: &[u8]) -> bool {
        self.inner.state.contains(&value.to_vec())
    }

    /// Number of elements.
    pub fn size(&self) -> u32 {
        u32::try_from(self.inner.state.len()).unwrap_or(u32::MAX)
    }

    /// The elements, encoded and concatenated, in ascending byte order.
    pub fn values(&self) -> Vec<u8> {
        value::concat(self.inner.state.iter())
    }
}

shared_methods!(WasmORSet, Set);
