//! `MVRegister`: multi-value register of JS values.

use deltacrdt::MVRegister;
use wasm_bindgen::prelude::*;

use crate::error::js_error;
use crate::replica::{shared_methods, Replica};
use crate::value;

type Register = MVRegister<Vec<u8>>;

/// A multi-value register replica (wrapped by the TS class `MVRegister`).
#[wasm_bindgen]
pub struct WasmMVRegister {
    inner: Replica<Register>,
}

impl WasmMVRegister {
    fn wrap(inner: Replica<Register>) -> Self {
        WasmMVRegister { inner }
    }
}

#[wasm_bindgen]
impl WasmMVRegister {
    /// An empty register, writing as `replica`.
    #[wasm_bindgen(constructor)]
    pub fn new(replica: u64) -> WasmMVRegister {
        Self::wrap(Replica::new(replica))
    }

    /// Writes one encoded value, replacing every sibling seen here; returns whether the state
    /// changed (always, for a valid value).
    pub fn write(&mut self, value: &[u8], keep_delta: bool) -> Result<bool, JsError> {
        value::check(value).map_err(|e| js_error("MVRegister", "write", e))?;
        let d = self
            .inner
            .state
            .write(self.inner.id, value.to_vec())
            .map_err(|e| js_error("MVRegister", "write", e))?;
        Ok(self.inner.record(d, keep_delta))
    }

    /// Removes every sibling seen here; returns whether the state changed.
    pub fn clear(&mut self, keep_delta: bool) -> bool {
        let d = self.inner.state.clear();
        self.inner.record(d, keep_delta)
    }

    /// Joins a delta or a state; returns whether the state changed.
    pub fn merge(&mut self, bytes: &[u8]) -> Result<bool, JsError> {
        self.inner
            .merge(bytes)
            .map_err(|e| js_error("MVRegister", "merge", e))
    }

    /// Number of siblings (concurrent values).
    pub fn size(&self) -> u32 {
        u32::try_from(self.inner.state.siblings().len()).unwrap_or(u32::MAX)
    }

    /// The siblings' values, encoded and concatenated, in dot order.
    pub fn values(&self) -> Vec<u8> {
        value::concat(self.inner.state.values())
    }

    /// The siblings' dots as `[replica, seq, replica, seq, ...]`, in the order of `values`.
    pub fn dots(&self) -> Vec<u64> {
        self.inner
            .state
            .siblings()
            .iter()
            .flat_map(|(d, _)| [d.replica.0, d.seq])
            .collect()
    }
}

shared_methods!(WasmMVRegister, Register);
