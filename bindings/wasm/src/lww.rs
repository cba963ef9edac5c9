//! `LWWRegister`: last-writer-wins register of JS values, with a hybrid logical clock.

use deltacrdt::{HybridClock, LWWRegister, TimeBound};
use wasm_bindgen::prelude::*;

use crate::error::{js_error, wall_ms};
use crate::replica::{shared_methods, Replica};
use crate::value;

type Register = LWWRegister<Vec<u8>>;

/// How far ahead of the local clock a merged write may be, by default: 5 minutes.
pub const DEFAULT_MAX_AHEAD_MS: u64 = 5 * 60 * 1000;

/// A last-writer-wins register replica (wrapped by the TS class `LWWRegister`).
///
/// Writes are stamped by a [`HybridClock`] fed with the wall time the caller passes in
/// (`Date.now()` from JS: the core reads no clock). Merges refuse writes stamped more than
/// `max_ahead_ms` ahead of the caller's wall time, so a peer with a broken or hostile clock
/// cannot win every later write.
#[wasm_bindgen]
pub struct WasmLWWRegister {
    inner: Replica<Register>,
    clock: HybridClock,
    max_ahead_ms: u64,
}

impl WasmLWWRegister {
    fn wrap(inner: Replica<Register>) -> Self {
        WasmLWWRegister {
            inner,
            clock: HybridClock::new(),
            max_ahead_ms: DEFAULT_MAX_AHEAD_MS,
        }
    }
}

#[wasm_bindgen]
impl WasmLWWRegister {
    /// An empty register, writing as `replica`.
    #[wasm_bindgen(constructor)]
    pub fn new(replica: u64) -> WasmLWWRegister {
        Self::wrap(Replica::new(replica))
    }

    /// Writes one encoded value at wall time `now_ms`; the write always wins locally. Returns
    /// whether the state changed (always, on success).
    pub fn set(&mut self, value: &[u8], now_ms: f64, keep_delta: bool) -> Result<bool, JsError> {
        value::check(value).map_err(|e| js_error("LWWRegister", "set", e))?;
        let now = wall_ms(now_ms).map_err(|e| js_error("LWWRegister", "set", e))?;
        let id = self.inner.id;
        let d = self
            .inner
            .state
            .set_with_clock(&mut self.clock, now, id, value.to_vec())
            .map_err(|e| js_error("LWWRegister", "set", e))?;
        Ok(self.inner.record(d, keep_delta))
    }

    /// Joins a delta or a state, refusing a write stamped more than the max-ahead bound past
    /// `now_ms`; returns whether the state changed.
    pub fn merge(&mut self, bytes: &[u8], now_ms: f64) -> Result<bool, JsError> {
        let now = wall_ms(now_ms).map_err(|e| js_error("LWWRegister", "merge", e))?;
        let other =
            Replica::<Register>::decode(bytes).map_err(|e| js_error("LWWRegister", "merge", e))?;
        let bound = TimeBound {
            now_ms: now,
            max_ahead_ms: self.max_ahead_ms,
        };
        self.inner
            .state
            .join_bounded(other, &bound)
            .map_err(|e| js_error("LWWRegister", "merge", e))
    }

    /// The current value, encoded; `undefined` before any write.
    pub fn value(&self) -> Option<Vec<u8>> {
        self.inner.state.value().cloned()
    }

    /// The wall time (ms) of the current write's timestamp; `undefined` before any write.
    #[wasm_bindgen(js_name = timestampMs)]
    pub fn timestamp_ms(&self) -> Option<f64> {
        self.inner.state.timestamp().map(|t| t.physical_ms() as f64)
    }

    /// The replica that made the current write; `undefined` before any write.
    pub fn writer(&self) -> Option<u64> {
        self.inner.state.entry().map(|e| e.replica.0)
    }

    /// How far ahead of the local clock (ms) a merged write may be.
    #[wasm_bindgen(js_name = maxAheadMs)]
    pub fn max_ahead_ms(&self) -> f64 {
        self.max_ahead_ms as f64
    }

    /// Sets how far ahead of the local clock (ms) a merged write may be.
    #[wasm_bindgen(js_name = setMaxAheadMs)]
    pub fn set_max_ahead_ms(&mut self, ms: f64) -> Result<(), JsError> {
        self.max_ahead_ms = wall_ms(ms).map_err(|e| js_error("LWWRegister", "setMaxAheadMs", e))?;
        Ok(())
    }
}

shared_methods!(WasmLWWRegister, Register);
