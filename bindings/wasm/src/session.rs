//! `SyncSession` (cargo feature `sync`): the core's sans-IO anti-entropy
//! [`Session`] for any of the five CRDT types, bytes in, bytes out.
//!
//! One exported class over an enum of the five sessions keeps the JS surface (and the glue) to
//! one class; every method dispatches to the core. The only checks added here are the ones
//! every other class of the bindings makes on bytes from outside: the elements and values a
//! peer's delta carries must be canonical JS values (see [`crate::value`]), and an LWW write may
//! not be stamped further ahead of the caller's wall clock than `maxAheadMs`. Both run as the
//! core session's validation hook ([`Admit`]), after the message is decoded (once) and before
//! anything changes, so a refused message changes nothing.

use deltacrdt::codec::Binary;
use deltacrdt::sync::{Admit, Session, Strategy, SyncConfig};
use deltacrdt::{
    DeltaCrdt, GCounter, LWWRegister, MVRegister, ORSet, PNCounter, ReplicaId, TimeBound,
};
use wasm_bindgen::prelude::*;

use crate::error::{js_error, wall_ms};
use crate::lww::DEFAULT_MAX_AHEAD_MS;
use crate::replica::{CheckValues, Replica};

const CLASS: &str = "SyncSession";

/// The session of one of the five CRDT types (elements and values as canonical JS values).
enum AnySession {
    GCounter(Session<GCounter>),
    PNCounter(Session<PNCounter>),
    ORSet(Session<ORSet<Vec<u8>>>),
    LWWRegister(Session<LWWRegister<Vec<u8>>>),
    MVRegister(Session<MVRegister<Vec<u8>>>),
}

/// Runs `$body` with `$s` bound to the typed session inside `$any` (and `$t` to its CRDT type).
macro_rules! each {
    ($any:expr, $s:ident => $body:expr) => {
        match $any {
            AnySession::GCounter($s) => $body,
            AnySession::PNCounter($s) => $body,
            AnySession::ORSet($s) => $body,
            AnySession::LWWRegister($s) => $body,
            AnySession::MVRegister($s) => $body,
        }
    };
}

/// The settings of a [`WasmSyncSession`]: the core's [`SyncConfig`] plus the LWW time bound.
#[wasm_bindgen]
pub struct WasmSyncConfig {
    config: SyncConfig,
    max_ahead_ms: u64,
}

#[wasm_bindgen]
impl WasmSyncConfig {
    /// Settings from a strategy name (`bp-rr`, `full-state`, ...; empty for the default), the
    /// buffer bounds (0 for the defaults), the retransmission delay in ticks (0 for the
    /// default) and the LWW time bound in ms (negative for the default).
    #[wasm_bindgen(constructor)]
    pub fn new(
        strategy: &str,
        max_buffer_bytes: u32,
        max_buffer_deltas: u32,
        retransmit_ticks: u32,
        max_ahead_ms: f64,
    ) -> Result<WasmSyncConfig, JsError> {
        let d = SyncConfig::default();
        let strategy = if strategy.is_empty() {
            d.strategy
        } else {
            strategy
                .parse::<Strategy>()
                .map_err(|e| js_error(CLASS, "constructor", e))?
        };
        let or = |v: u32, default| if v == 0 { default } else { v as usize };
        let config = SyncConfig {
            strategy,
            max_buffer_bytes: or(max_buffer_bytes, d.max_buffer_bytes),
            max_buffer_deltas: or(max_buffer_deltas, d.max_buffer_deltas),
            retransmit_ticks: if retransmit_ticks == 0 {
                d.retransmit_ticks
            } else {
                u64::from(retransmit_ticks)
            },
            ..d
        };
        let max_ahead_ms = if max_ahead_ms < 0.0 {
            DEFAULT_MAX_AHEAD_MS
        } else {
            wall_ms(max_ahead_ms).map_err(|e| js_error(CLASS, "constructor", e))?
        };
        Ok(WasmSyncConfig {
            config,
            max_ahead_ms,
        })
    }
}

/// Bytes to hand to a neighbour's `handleMessage` (from [`WasmSyncSession::poll_transmit`]).
#[wasm_bindgen]
pub struct WasmTransmit {
    to: u64,
    bytes: Vec<u8>,
}

#[wasm_bindgen]
impl WasmTransmit {
    /// The neighbour to send to.
    #[wasm_bindgen(getter)]
    pub fn to(&self) -> u64 {
        self.to
    }

    /// The message, moved out (an empty array on a second call).
    #[wasm_bindgen(js_name = takeBytes)]
    pub fn take_bytes(&mut self) -> Vec<u8> {
        core::mem::take(&mut self.bytes)
    }
}

/// One replica's anti-entropy session (wrapped by the TS class `SyncSession`).
#[wasm_bindgen]
pub struct WasmSyncSession {
    inner: AnySession,
    max_ahead_ms: u64,
}

/// The hook check for the values of a peer's delta: canonical JS values only.
struct JsValues;

impl<T: CheckValues> Admit<T> for JsValues {
    type Error = String;

    fn admit(&self, _: ReplicaId, delta: &T) -> Result<(), String> {
        delta
            .check_values()
            .map_err(|e| format!("the delta holds an element or value that is not a JS value: {e}"))
    }
}

/// The hook check for an LWW write: JS values, and the time bound at the caller's wall clock
/// (an invalid clock reading refuses only messages that carry a write).
struct LwwCheck {
    now_ms: Result<u64, String>,
    max_ahead_ms: u64,
}

impl Admit<LWWRegister<Vec<u8>>> for LwwCheck {
    type Error = String;

    fn admit(&self, from: ReplicaId, delta: &LWWRegister<Vec<u8>>) -> Result<(), String> {
        JsValues.admit(from, delta)?;
        if delta.timestamp().is_none() {
            return Ok(());
        }
        let bound = TimeBound {
            now_ms: self.now_ms.clone()?,
            max_ahead_ms: self.max_ahead_ms,
        };
        bound.admit(from, delta).map_err(|e| e.to_string())
    }
}

fn new_session<T>(replica: u64, incarnation: u64, state: T, config: &WasmSyncConfig) -> Session<T>
where
    T: DeltaCrdt + Binary + deltacrdt::sync::Measure,
    T::Version: Binary,
{
    Session::new(
        ReplicaId(replica),
        incarnation,
        state,
        config.config.clone(),
    )
}

impl WasmSyncSession {
    fn build(
        kind: &str,
        replica: u64,
        incarnation: u64,
        state: Option<&[u8]>,
        config: &WasmSyncConfig,
        method: &str,
    ) -> Result<WasmSyncSession, JsError> {
        macro_rules! make {
            ($variant:ident, $t:ty) => {{
                AnySession::$variant(match state {
                    Some(b) => {
                        let s = Replica::<$t>::decode(b).map_err(|e| js_error(CLASS, method, e))?;
                        // A restart: recovering until every neighbour answered (see the core).
                        Session::from_saved(
                            ReplicaId(replica),
                            incarnation,
                            s,
                            config.config.clone(),
                        )
                    }
                    None => new_session(replica, incarnation, <$t>::default(), config),
                })
            }};
        }
        let inner = match kind {
            "GCounter" => make!(GCounter, GCounter),
            "PNCounter" => make!(PNCounter, PNCounter),
            "ORSet" => make!(ORSet, ORSet<Vec<u8>>),
            "LWWRegister" => make!(LWWRegister, LWWRegister<Vec<u8>>),
            "MVRegister" => make!(MVRegister, MVRegister<Vec<u8>>),
            _ => {
                return Err(js_error(
                    CLASS,
                    method,
                    "unknown CRDT type (expected GCounter, PNCounter, ORSet, LWWRegister or MVRegister)",
                ))
            }
        };
        Ok(WasmSyncSession {
            inner,
            max_ahead_ms: config.max_ahead_ms,
        })
    }

    /// Handles a message with the bindings' checks as the core's validation hook.
    fn handle(&mut self, from: ReplicaId, bytes: &[u8], now_ms: f64) -> Result<bool, String> {
        let r = match &mut self.inner {
            AnySession::LWWRegister(s) => {
                let check = LwwCheck {
                    now_ms: wall_ms(now_ms),
                    max_ahead_ms: self.max_ahead_ms,
                };
                s.handle_message_with(from, bytes, &check)
            }
            AnySession::ORSet(s) => s.handle_message_with(from, bytes, &JsValues),
            AnySession::MVRegister(s) => s.handle_message_with(from, bytes, &JsValues),
            // Counters hold no JS values: the core's decoding checks everything.
            AnySession::GCounter(s) => s.handle_message(from, bytes),
            AnySession::PNCounter(s) => s.handle_message(from, bytes),
        };
        r.map_err(|e| e.to_string())
    }
}

#[wasm_bindgen]
impl WasmSyncSession {
    /// An empty session of `kind` (`GCounter`, `ORSet`, ...) for `replica` in its `incarnation`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        kind: &str,
        replica: u64,
        incarnation: u64,
        config: &WasmSyncConfig,
    ) -> Result<WasmSyncSession, JsError> {
        Self::build(kind, replica, incarnation, None, config, "constructor")
    }

    /// A session restarted from `persist()` bytes, in a new (greater) incarnation.
    pub fn restore(
        kind: &str,
        replica: u64,
        incarnation: u64,
        bytes: &[u8],
        config: &WasmSyncConfig,
    ) -> Result<WasmSyncSession, JsError> {
        Self::build(kind, replica, incarnation, Some(bytes), config, "restore")
    }

    /// The CRDT type's name.
    pub fn kind(&self) -> String {
        let name = match &self.inner {
            AnySession::GCounter(_) => "GCounter",
            AnySession::PNCounter(_) => "PNCounter",
            AnySession::ORSet(_) => "ORSet",
            AnySession::LWWRegister(_) => "LWWRegister",
            AnySession::MVRegister(_) => "MVRegister",
        };
        name.into()
    }

    /// This replica's id.
    pub fn replica(&self) -> u64 {
        each!(&self.inner, s => s.replica().0)
    }

    /// This run's incarnation.
    pub fn incarnation(&self) -> u64 {
        each!(&self.inner, s => s.incarnation())
    }

    /// Handles a message from neighbour `from` at wall time `now_ms` (only used to bound LWW
    /// timestamps); returns whether the state changed. On error nothing changed.
    #[wasm_bindgen(js_name = handleMessage)]
    pub fn handle_message(
        &mut self,
        from: u64,
        bytes: &[u8],
        now_ms: f64,
    ) -> Result<bool, JsError> {
        self.handle(ReplicaId(from), bytes, now_ms)
            .map_err(|e| js_error(CLASS, "handleMessage", e))
    }

    /// Advances time by one tick and starts a sync round with every neighbour.
    pub fn tick(&mut self) {
        each!(&mut self.inner, s => s.tick());
    }

    /// The next message to send; call until `undefined` after every input and command.
    #[wasm_bindgen(js_name = pollTransmit)]
    pub fn poll_transmit(&mut self) -> Option<WasmTransmit> {
        each!(&mut self.inner, s => s.poll_transmit()).map(|t| WasmTransmit {
            to: t.to.0,
            bytes: t.bytes,
        })
    }

    /// Adds a neighbour (no effect if it already is one, or is this replica).
    #[wasm_bindgen(js_name = addNeighbour)]
    pub fn add_neighbour(&mut self, id: u64) {
        each!(&mut self.inner, s => s.add_neighbour(ReplicaId(id)));
    }

    /// Removes a neighbour; returns whether it was one.
    #[wasm_bindgen(js_name = removeNeighbour)]
    pub fn remove_neighbour(&mut self, id: u64) -> bool {
        each!(&mut self.inner, s => s.remove_neighbour(ReplicaId(id)))
    }

    /// The neighbours, ascending.
    pub fn neighbours(&self) -> Vec<u64> {
        each!(&self.inner, s => s.neighbours().map(|r| r.0).collect())
    }

    /// Joins a delta made by this replica (e.g. `takeDelta()` of a local object of the same
    /// type) and buffers it for the neighbours; returns whether the state changed.
    #[wasm_bindgen(js_name = applyLocalDelta)]
    pub fn apply_local_delta(&mut self, bytes: &[u8]) -> Result<bool, JsError> {
        let err = |e: String| js_error(CLASS, "applyLocalDelta", e);
        Ok(each!(&mut self.inner, s => {
            let d = decode_like(s, bytes).map_err(err)?;
            s.apply_delta(d)
        }))
    }

    /// The state in the crate's binary format (what `persist` returns).
    #[wasm_bindgen(js_name = stateBytes)]
    pub fn state_bytes(&self) -> Vec<u8> {
        each!(&self.inner, s => s.persist())
    }

    /// The encoded version of the state.
    pub fn version(&self) -> Vec<u8> {
        each!(&self.inner, s => s.state().version().to_bytes())
    }

    /// The delta that brings the holder of the encoded `version` up to date with the state.
    #[wasm_bindgen(js_name = deltaSince)]
    pub fn delta_since(&self, version: &[u8]) -> Result<Vec<u8>, JsError> {
        let err = |e: deltacrdt::DecodeError| js_error(CLASS, "deltaSince", e);
        each!(&self.inner, s => {
            let v = version_like(s, version).map_err(err)?;
            Ok(s.state().delta_since(&v).to_bytes())
        })
    }

    /// The traffic counters of a neighbour, `undefined` if it is not one: messages, bytes and
    /// units sent; messages, bytes and units received; catch-ups sent; acked, lacking and
    /// unacked (each meaningful only if its bit, 1, 2 and 4, is set in the entry after them);
    /// messages refused, of which dot collisions, claims of unissued events, and values refused
    /// by the bindings' checks.
    pub fn stats(&self, neighbour: u64) -> Option<Vec<u64>> {
        let id = ReplicaId(neighbour);
        each!(&self.inner, s => {
            let n = s.stats(id)?;
            let (acked, lacking, unacked) = (n.acked, s.lacking(id), s.unacked(id));
            let known = u64::from(acked.is_some())
                | u64::from(lacking.is_some()) << 1
                | u64::from(unacked.is_some()) << 2;
            Some(vec![
                n.messages_sent,
                n.bytes_sent,
                n.units_sent,
                n.messages_received,
                n.bytes_received,
                n.units_received,
                n.catch_ups_sent,
                acked.unwrap_or(0),
                lacking.unwrap_or(0),
                unacked.unwrap_or(0),
                known,
                n.refused,
                n.dot_collisions,
                n.unissued_claims,
                n.admit_refusals,
            ])
        })
    }

    /// Session-wide counters: ticks elapsed, buffered deltas, buffered bytes, refused messages,
    /// next buffer sequence number, and 1 while a restored session is recovering.
    pub fn counters(&self) -> Vec<u64> {
        each!(&self.inner, s => vec![
            s.now(),
            s.buffer_len() as u64,
            s.buffer_bytes() as u64,
            s.rejected(),
            s.next_seq(),
            u64::from(s.is_recovering()),
        ])
    }
}

/// Decodes a delta of the session's type, with the values checked.
fn decode_like<T>(_: &Session<T>, bytes: &[u8]) -> Result<T, String>
where
    T: DeltaCrdt + Binary + CheckValues,
    T::Version: Binary,
{
    Replica::<T>::decode(bytes)
}

/// Decodes a version of the session's type.
fn version_like<T>(_: &Session<T>, bytes: &[u8]) -> Result<T::Version, deltacrdt::DecodeError>
where
    T: DeltaCrdt,
    T::Version: Binary,
{
    T::Version::from_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value;

    fn string(s: &str) -> Vec<u8> {
        let mut out = vec![value::tag::STRING, s.len() as u8];
        out.extend_from_slice(s.as_bytes());
        out
    }

    fn config() -> WasmSyncConfig {
        WasmSyncConfig::new("", 0, 0, 0, -1.0).unwrap_or_else(|_| unreachable!())
    }

    fn orset_session(id: u64) -> Session<ORSet<Vec<u8>>> {
        Session::new(ReplicaId(id), 1, ORSet::new(), SyncConfig::default())
    }

    #[test]
    fn a_delta_with_a_non_js_value_is_refused_and_changes_nothing() {
        let mut b = orset_session(2);
        b.add_neighbour(ReplicaId(1));
        // 0xff is no value tag: the JS side could not read this element.
        b.update(|s| s.add(ReplicaId(2), vec![0xff])).unwrap();
        b.tick();
        let t = b.poll_transmit().unwrap();
        let mut a = orset_session(1);
        a.add_neighbour(ReplicaId(2));
        let mut w = WasmSyncSession {
            inner: AnySession::ORSet(a.clone()),
            max_ahead_ms: DEFAULT_MAX_AHEAD_MS,
        };
        let e = w.handle(ReplicaId(2), &t.bytes, 0.0).unwrap_err();
        assert!(e.contains("not a JS value"), "{e}");
        assert!(e.contains("replica"), "{e}");
        let AnySession::ORSet(after) = &w.inner else {
            unreachable!()
        };
        assert!(after.state().is_empty());
        assert_eq!(after.stats(ReplicaId(2)).unwrap().admit_refusals, 1);
        // The core alone would accept it: the hook is what keeps it out.
        assert!(a.handle_message(ReplicaId(2), &t.bytes).unwrap());
    }

    #[test]
    fn an_lww_write_too_far_ahead_is_refused() {
        let mut b: Session<LWWRegister<Vec<u8>>> =
            Session::new(ReplicaId(2), 1, LWWRegister::new(), SyncConfig::default());
        b.add_neighbour(ReplicaId(1));
        let stamp = deltacrdt::Timestamp::new(1_000_000, 0);
        b.update(|s| Ok::<_, ()>(s.set(ReplicaId(2), stamp, string("v"))))
            .unwrap();
        b.tick();
        let t = b.poll_transmit().unwrap();
        let mut a = Session::new(ReplicaId(1), 1, LWWRegister::new(), SyncConfig::default());
        a.add_neighbour(ReplicaId(2));
        let mut w = WasmSyncSession {
            inner: AnySession::LWWRegister(a),
            max_ahead_ms: 1_000,
        };
        let e = w.handle(ReplicaId(2), &t.bytes, 998_000.0).unwrap_err();
        assert!(e.contains("ahead"), "{e}");
        assert!(w.handle(ReplicaId(2), &t.bytes, f64::NAN).is_err());
        assert!(w.handle(ReplicaId(2), &t.bytes, 999_000.0).unwrap());
    }

    #[test]
    fn config_rejects_unknown_strategies_and_keeps_defaults_for_zero() {
        let c = config();
        assert_eq!(c.config, SyncConfig::default());
        assert_eq!(c.max_ahead_ms, DEFAULT_MAX_AHEAD_MS);
        let c = WasmSyncConfig::new("digest", 10, 20, 5, 0.0).unwrap_or_else(|_| unreachable!());
        assert_eq!(c.config.strategy, Strategy::DigestOnly);
        assert_eq!(
            (
                c.config.max_buffer_bytes,
                c.config.max_buffer_deltas,
                c.config.retransmit_ticks
            ),
            (10, 20, 5)
        );
        assert_eq!(c.max_ahead_ms, 0);
    }
}
