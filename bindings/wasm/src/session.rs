//! The session methods of [`WasmReplica`]: a replica created by `WasmReplica.session` (or
//! `restoreSession`) is the state of the core's sans-IO anti-entropy [`Session`], and these
//! methods drive it, bytes in, bytes out. The bindings' checks on a peer's delta (its kind,
//! canonical JS values, the LWW time bound) run as the session's validation hook
//! ([`Admit`](deltacrdt::sync::Admit)), after the message is decoded (once) and before
//! anything changes, so a refused message changes nothing.

use deltacrdt::sync::{Session, Strategy, SyncConfig};
use deltacrdt::ReplicaId;
use wasm_bindgen::prelude::*;

use crate::error::{wall_ms, Error, WasmError};
use crate::kinds::AnyCrdt;
use crate::replica::{hook, Core, WasmReplica, DEFAULT_MAX_AHEAD_MS};

/// The settings of a session-held [`WasmReplica`]: the core's [`SyncConfig`] plus the LWW time bound.
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
    ) -> Result<WasmSyncConfig, WasmError> {
        let d = SyncConfig::default();
        let strategy = if strategy.is_empty() {
            d.strategy
        } else {
            strategy
                .parse::<Strategy>()
                .map_err(|e| Error::new("argument", e))?
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
            wall_ms(max_ahead_ms)?
        };
        Ok(WasmSyncConfig {
            config,
            max_ahead_ms,
        })
    }
}

/// Bytes to hand to a neighbour's `handleMessage` (from [`WasmReplica::poll_transmit`]).
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

impl WasmReplica {
    fn held(&self) -> Result<&Session<AnyCrdt>, Error> {
        match &self.core {
            Core::Synced { session, .. } => Ok(session),
            Core::Solo { .. } => Err(Error::new("argument", "not a session's replica")),
        }
    }

    fn held_mut(&mut self) -> Result<&mut Session<AnyCrdt>, Error> {
        match &mut self.core {
            Core::Synced { session, .. } => Ok(session),
            Core::Solo { .. } => Err(Error::new("argument", "not a session's replica")),
        }
    }
}

type R<T> = Result<T, WasmError>;

#[wasm_bindgen]
impl WasmReplica {
    /// An empty session-held replica of `kind` for `replica` in its `incarnation`.
    pub fn session(
        kind: &str,
        replica: u64,
        incarnation: u64,
        config: &WasmSyncConfig,
    ) -> R<WasmReplica> {
        let mut r = WasmReplica::synced(kind, replica, incarnation, None, config.config.clone())?;
        r.max_ahead_ms = config.max_ahead_ms;
        Ok(r)
    }

    /// A session-held replica restarted from `toBytes()` bytes, in a new (greater)
    /// incarnation; it recovers its own latest events from the neighbours first.
    #[wasm_bindgen(js_name = restoreSession)]
    pub fn restore_session(
        kind: &str,
        replica: u64,
        incarnation: u64,
        bytes: &[u8],
        config: &WasmSyncConfig,
    ) -> R<WasmReplica> {
        let mut r = WasmReplica::synced(
            kind,
            replica,
            incarnation,
            Some(bytes),
            config.config.clone(),
        )?;
        r.max_ahead_ms = config.max_ahead_ms;
        Ok(r)
    }

    /// This run's incarnation.
    pub fn incarnation(&self) -> R<u64> {
        Ok(self.held()?.incarnation())
    }

    /// Handles a message from neighbour `from` at wall time `now_ms` (only used to bound LWW
    /// timestamps); returns whether the state changed (edits queued during recovery included,
    /// which run as soon as it ends). On error nothing changed.
    #[wasm_bindgen(js_name = handleMessage)]
    pub fn handle_message(&mut self, from: u64, bytes: &[u8], now_ms: f64) -> R<bool> {
        let _grow = crate::memory::GrowAhead::start();
        let check = hook(self.kind, now_ms, self.max_ahead_ms);
        let changed = self
            .held_mut()?
            .handle_message_with(ReplicaId(from), bytes, &check)
            .map_err(Error::from)?;
        Ok(self.replay() | changed)
    }

    /// Ends recovery now, for a save known to be current (its owner saves every change before
    /// any message leaves), and runs the held edits; returns whether they changed the state.
    #[wasm_bindgen(js_name = endRecovery)]
    pub fn end_recovery(&mut self) -> R<bool> {
        self.held_mut()?.end_recovery();
        Ok(self.replay())
    }

    /// Advances time by one tick and starts a sync round with every neighbour.
    pub fn tick(&mut self) -> R<()> {
        self.held_mut()?.tick();
        Ok(())
    }

    /// The next message to send; call until `undefined` after every input and command.
    #[wasm_bindgen(js_name = pollTransmit)]
    pub fn poll_transmit(&mut self) -> R<Option<WasmTransmit>> {
        Ok(self.held_mut()?.poll_transmit().map(|t| WasmTransmit {
            to: t.to.0,
            bytes: t.bytes,
        }))
    }

    /// Adds a neighbour (no effect if it already is one, or is this replica).
    #[wasm_bindgen(js_name = addNeighbour)]
    pub fn add_neighbour(&mut self, id: u64) -> R<()> {
        self.held_mut()?.add_neighbour(ReplicaId(id));
        Ok(())
    }

    /// Removes a neighbour; returns whether it was one.
    #[wasm_bindgen(js_name = removeNeighbour)]
    pub fn remove_neighbour(&mut self, id: u64) -> R<bool> {
        Ok(self.held_mut()?.remove_neighbour(ReplicaId(id)))
    }

    /// The neighbours, ascending.
    pub fn neighbours(&self) -> R<Vec<u64>> {
        Ok(self.held()?.neighbours().map(|r| r.0).collect())
    }

    /// Joins a delta made by this replica elsewhere (e.g. `takeDelta()` of a local object of
    /// the same kind) and buffers it for the neighbours; returns whether the state changed.
    /// Held back, like a local edit, while the session recovers.
    #[wasm_bindgen(js_name = applyLocalDelta)]
    pub fn apply_local_delta(&mut self, bytes: &[u8]) -> R<bool> {
        let d = self.kind.decode(bytes)?;
        match &mut self.core {
            Core::Synced {
                session, queued, ..
            } => {
                if session.is_recovering() {
                    let changes = !deltacrdt::Lattice::leq(&d, session.state());
                    queued.push(crate::replica::Op::Delta(d));
                    return Ok(changes);
                }
                Ok(session.apply_delta(d))
            }
            Core::Solo { .. } => Err(Error::new("argument", "not a session's replica").into()),
        }
    }

    /// The traffic counters of a neighbour, `undefined` if it is not one: messages, bytes and
    /// units sent; messages, bytes and units received; catch-ups sent; acked, lacking and
    /// unacked (each meaningful only if its bit, 1, 2 and 4, is set in the entry after them);
    /// messages refused, of which dot collisions, claims of unissued events, and deltas
    /// refused by the bindings' checks.
    pub fn stats(&self, neighbour: u64) -> R<Option<Vec<u64>>> {
        let s = self.held()?;
        let id = ReplicaId(neighbour);
        let Some(n) = s.stats(id) else {
            return Ok(None);
        };
        let (acked, lacking, unacked) = (n.acked, s.lacking(id), s.unacked(id));
        let known = u64::from(acked.is_some())
            | u64::from(lacking.is_some()) << 1
            | u64::from(unacked.is_some()) << 2;
        Ok(Some(vec![
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
        ]))
    }

    /// Session-wide counters: ticks elapsed, buffered deltas, buffered bytes, refused
    /// messages, next buffer sequence number, 1 while a restored session is recovering, and
    /// the edits queued meanwhile.
    pub fn counters(&self) -> R<Vec<u64>> {
        let s = self.held()?;
        Ok(vec![
            s.now(),
            s.buffer_len() as u64,
            s.buffer_bytes() as u64,
            s.rejected(),
            s.next_seq(),
            u64::from(s.is_recovering()),
            u64::from(self.queued_edits()),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value;
    use deltacrdt::{GCounter, LWWRegister, Lattice, ORSet};

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

    fn wasm_session(kind: &str, id: u64) -> WasmReplica {
        WasmReplica::session(kind, id, 1, &config()).unwrap_or_else(|_| unreachable!())
    }

    fn drain(w: &mut WasmReplica) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while let Ok(Some(mut t)) = w.poll_transmit() {
            out.push(t.take_bytes());
        }
        out
    }

    /// Runs rounds between two package sessions until neither has anything to send.
    fn settle(a: &mut WasmReplica, b: &mut WasmReplica) {
        for _ in 0..8 {
            a.tick().unwrap_or_else(|_| unreachable!());
            b.tick().unwrap_or_else(|_| unreachable!());
            for _ in 0..4 {
                for t in drain(a) {
                    let _ = b.handle_message(a.id.0, &t, 0.0);
                }
                for t in drain(b) {
                    let _ = a.handle_message(b.id.0, &t, 0.0);
                }
            }
        }
    }

    #[test]
    fn a_delta_with_a_non_js_value_is_refused_and_changes_nothing() {
        let mut b = orset_session(2);
        b.add_neighbour(ReplicaId(1));
        // 0xff is no value tag: the JS side could not read this element.
        b.update(|s| s.add(ReplicaId(2), vec![0xff])).unwrap();
        b.tick();
        let t = b.poll_transmit().unwrap();
        let mut a = wasm_session("ORSet", 1);
        a.add_neighbour(2).unwrap_or_else(|_| unreachable!());
        let e = a.handle_message(2, &t.bytes, 0.0).err().unwrap();
        assert_eq!(e.code(), "refused");
        assert!(e.message().contains("not a JS value"), "{}", e.message());
        assert!(a.state().is_bottom());
        assert_eq!(a.stats(2).ok().flatten().unwrap()[14], 1);
        // The core alone would accept it: the hook is what keeps it out.
        let mut plain = orset_session(1);
        plain.add_neighbour(ReplicaId(2));
        assert!(plain.handle_message(ReplicaId(2), &t.bytes).unwrap());
    }

    #[test]
    fn a_delta_of_another_kind_is_refused() {
        let mut b: Session<GCounter> =
            Session::new(ReplicaId(2), 1, GCounter::new(), SyncConfig::default());
        b.add_neighbour(ReplicaId(1));
        b.update(|c| c.inc(ReplicaId(2), 3)).unwrap();
        b.tick();
        let t = b.poll_transmit().unwrap();
        let mut a = wasm_session("ORSet", 1);
        a.add_neighbour(2).unwrap_or_else(|_| unreachable!());
        let e = a.handle_message(2, &t.bytes, 0.0).err().unwrap();
        assert!(
            e.message().contains("expected ORSet, found GCounter"),
            "{}",
            e.message()
        );
        assert_eq!(a.state().kind(), Some(crate::kinds::Kind::ORSet));
        assert!(a.state().is_bottom());
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
        let cfg = WasmSyncConfig::new("", 0, 0, 0, 1_000.0).unwrap_or_else(|_| unreachable!());
        let mut a =
            WasmReplica::session("LWWRegister", 1, 1, &cfg).unwrap_or_else(|_| unreachable!());
        a.add_neighbour(2).unwrap_or_else(|_| unreachable!());
        let e = a.handle_message(2, &t.bytes, 998_000.0).err().unwrap();
        assert!(e.message().contains("ahead"), "{}", e.message());
        assert!(a.handle_message(2, &t.bytes, f64::NAN).is_err());
        assert!(a.handle_message(2, &t.bytes, 999_000.0).unwrap_or(false));
    }

    #[test]
    fn package_and_native_sessions_speak_the_same_bytes() {
        // A native session of the concrete type and a package session converge both ways.
        let mut n = orset_session(2);
        n.add_neighbour(ReplicaId(1));
        let mut w = wasm_session("ORSet", 1);
        w.add_neighbour(2).unwrap_or_else(|_| unreachable!());
        n.update(|s| s.add(ReplicaId(2), string("native"))).unwrap();
        assert!(w.add(string("package"), false).unwrap_or(false));
        for _ in 0..6 {
            n.tick();
            w.tick().unwrap_or_else(|_| unreachable!());
            for _ in 0..3 {
                while let Some(t) = n.poll_transmit() {
                    let _ = w.handle_message(2, &t.bytes, 0.0);
                }
                for t in drain(&mut w) {
                    n.handle_message(ReplicaId(1), &t).unwrap();
                }
            }
        }
        let AnyCrdt::ORSet(mine) = w.state() else {
            unreachable!()
        };
        assert_eq!(mine, n.state());
        assert_eq!(mine.len(), 2);
        // The saved bytes are the concrete type's.
        assert_eq!(w.to_bytes(), deltacrdt::codec::Binary::to_bytes(n.state()));
    }

    #[test]
    fn edits_made_while_recovering_are_held_and_never_reuse_a_dot() {
        let mut a = wasm_session("ORSet", 1);
        let mut b = wasm_session("ORSet", 2);
        a.add_neighbour(2).unwrap_or_else(|_| unreachable!());
        b.add_neighbour(1).unwrap_or_else(|_| unreachable!());
        let stale = a.to_bytes();
        a.add(string("sent"), false)
            .unwrap_or_else(|_| unreachable!());
        settle(&mut a, &mut b);
        // A restarts from the save that predates "sent", and edits at once.
        let mut a = WasmReplica::restore_session("ORSet", 1, 2, &stale, &config())
            .unwrap_or_else(|_| unreachable!());
        a.add_neighbour(2).unwrap_or_else(|_| unreachable!());
        assert!(a.add(string("after"), false).unwrap_or(false));
        assert_eq!(a.queued_edits(), 1);
        assert!(a.state().is_bottom(), "held, not applied");
        settle(&mut a, &mut b);
        assert_eq!(a.queued_edits(), 0);
        assert_eq!(a.take_failed_edit().map(|e| e.message()), None);
        assert_eq!(a.state(), b.state());
        let AnyCrdt::ORSet(s) = a.state() else {
            unreachable!()
        };
        assert!(s.contains(&string("sent")) && s.contains(&string("after")));
        assert_eq!(
            b.stats(1).ok().flatten().unwrap()[12],
            0,
            "no dot collision"
        );
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
        assert!(WasmSyncConfig::new("nope", 0, 0, 0, -1.0).is_err());
    }
}
