//! `PNCounter`: counter that goes up and down.

use deltacrdt::PNCounter;
use wasm_bindgen::prelude::*;

use crate::error::js_error;
use crate::replica::{shared_methods, Replica};

/// An up-down counter replica (wrapped by the TS class `PNCounter`).
#[wasm_bindgen]
pub struct WasmPNCounter {
    inner: Replica<PNCounter>,
}

impl WasmPNCounter {
    fn wrap(inner: Replica<PNCounter>) -> Self {
        WasmPNCounter { inner }
    }
}

#[wasm_bindgen]
impl WasmPNCounter {
    /// A counter at zero, changing as `replica`.
    #[wasm_bindgen(constructor)]
    pub fn new(replica: u64) -> WasmPNCounter {
        Self::wrap(Replica::new(replica))
    }

    /// Adds `n`; returns whether the counter changed (`n > 0`).
    pub fn inc(&mut self, n: u64, keep_delta: bool) -> Result<bool, JsError> {
        let d = self
            .inner
            .state
            .inc(self.inner.id, n)
            .map_err(|e| js_error("PNCounter", "inc", e))?;
        Ok(self.inner.record(d, keep_delta))
    }

    /// Subtracts `n`; returns whether the counter changed (`n > 0`).
    pub fn dec(&mut self, n: u64, keep_delta: bool) -> Result<bool, JsError> {
        let d = self
            .inner
            .state
            .dec(self.inner.id, n)
            .map_err(|e| js_error("PNCounter", "dec", e))?;
        Ok(self.inner.record(d, keep_delta))
    }

    /// Joins a delta or a state; returns whether the counter changed.
    pub fn merge(&mut self, bytes: &[u8]) -> Result<bool, JsError> {
        self.inner
            .merge(bytes)
            .map_err(|e| js_error("PNCounter", "merge", e))
    }

    /// The exact value as 16 little-endian bytes (two's complement), read into a `bigint`
    /// by the TS layer: formatting or converting 128-bit integers here would add kilobytes.
    #[wasm_bindgen(js_name = valueBytes)]
    pub fn value_bytes(&self) -> Vec<u8> {
        self.inner.state.value().to_le_bytes().to_vec()
    }
}

shared_methods!(WasmPNCounter, PNCounter);
