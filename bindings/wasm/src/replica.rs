//! [`WasmReplica`]: one exported class for every kind. It holds a state of one [`Kind`], either
//! on its own (`Solo`: local edits gather in a pending delta group for `takeDelta`) or as the
//! state of the core's anti-entropy [`Session`] (`Synced`: local edits go through
//! [`Session::update`], and the replica a JS `SyncSession` hands out *is* that state, with no
//! second copy).
//!
//! Every mutation is an [`Op`], applied by one function ([`apply`]); while a restored session
//! is still recovering its own latest events from the neighbours, ops wait in a queue and run,
//! in order, as soon as recovery ends (so an edit made meanwhile can never reuse a dot).

use deltacrdt::sync::{AdmitFn, Session, UpdateError};
use deltacrdt::DotsExhausted;
use deltacrdt::{DeltaCrdt, HybridClock, Lattice, ReplicaId, TimeBound};
use wasm_bindgen::prelude::*;

use crate::error::{wall_ms, Error, WasmError};
use crate::kinds::{AnyCrdt, AnyVersion, CheckValues, Kind};
use crate::map::{self, Key, Leaf};
use crate::value;

fn signed(n: u64) -> Result<i64, Error> {
    i64::try_from(n).map_err(|_| Error::new("overflow", "the amount does not fit 63 bits"))
}

/// How far ahead of the local clock a merged write may be, by default: 5 minutes.
pub const DEFAULT_MAX_AHEAD_MS: u64 = 5 * 60 * 1000;

/// One local mutation, owned so that it can wait in the recovery queue.
#[derive(Clone, Debug)]
pub enum Op {
    /// Counters: add `n`.
    Inc(u64),
    /// `PNCounter`: subtract `n`.
    Dec(u64),
    /// `ORSet`: add an encoded value.
    Add(Vec<u8>),
    /// `ORSet`: add encoded values, as one delta.
    AddAll(Vec<Vec<u8>>),
    /// `ORSet`: remove an encoded value.
    Remove(Vec<u8>),
    /// `ORSet`: remove encoded values, as one delta.
    RemoveAll(Vec<Vec<u8>>),
    /// `ORSet`, `MVRegister`: remove everything seen.
    Clear,
    /// Registers: write an encoded value (at a wall time in ms, for `LWWRegister`).
    Set(Vec<u8>, u64),
    /// `EWFlag`: enable.
    Enable,
    /// `EWFlag`: disable.
    Disable,
    /// `BoundedCounter`: move `n` rights to another replica.
    Transfer(u64, u64),
    /// `ORMap`: one edit of the value at a path of keys.
    Map(Vec<Key>, Leaf),
    /// A delta this replica made elsewhere (`applyLocalDelta`), already checked for its kind.
    Delta(AnyCrdt),
}

/// Applies `op` to `state` as replica `id`, returning the delta. On error nothing changed.
///
/// # Errors
/// The core's (overflow, exhausted dots or clock), or `kind` for an op the kind lacks.
pub fn apply(
    op: Op,
    state: &mut AnyCrdt,
    id: ReplicaId,
    clock: &mut HybridClock,
) -> Result<AnyCrdt, Error> {
    Ok(match (op, state) {
        (Op::Delta(d), s) => {
            if s.join_ref(&d) {
                d
            } else {
                AnyCrdt::Empty
            }
        }
        (Op::Inc(n), AnyCrdt::GCounter(c)) => AnyCrdt::GCounter(c.inc(id, n)?),
        (Op::Inc(n), AnyCrdt::PNCounter(c)) => AnyCrdt::PNCounter(c.inc(id, n)?),
        (Op::Dec(n), AnyCrdt::PNCounter(c)) => AnyCrdt::PNCounter(c.dec(id, n)?),
        (Op::Inc(n), AnyCrdt::CausalCounter(c)) => AnyCrdt::CausalCounter(c.add(id, signed(n)?)?),
        (Op::Dec(n), AnyCrdt::CausalCounter(c)) => AnyCrdt::CausalCounter(c.add(id, -signed(n)?)?),
        (Op::Inc(n), AnyCrdt::BoundedCounter(c)) => AnyCrdt::BoundedCounter(c.inc(id, n)?),
        (Op::Dec(n), AnyCrdt::BoundedCounter(c)) => AnyCrdt::BoundedCounter(c.dec(id, n)?),
        (Op::Transfer(to, n), AnyCrdt::BoundedCounter(c)) => {
            AnyCrdt::BoundedCounter(c.transfer(id, ReplicaId(to), n)?)
        }
        (Op::Enable, AnyCrdt::EWFlag(f)) => AnyCrdt::EWFlag(f.enable(id)?),
        (Op::Disable | Op::Clear, AnyCrdt::EWFlag(f)) => AnyCrdt::EWFlag(f.disable()),
        (Op::Map(path, leaf), AnyCrdt::ORMap(m)) => {
            AnyCrdt::ORMap(map::edit(m, &path, leaf, id, clock, 0)?)
        }

        (Op::Add(v), AnyCrdt::ORSet(s)) => AnyCrdt::ORSet(s.add(id, v)?),
        (Op::AddAll(vs), AnyCrdt::ORSet(s)) => {
            // Each add takes the next sequence number of `id`: refuse before adding any
            // rather than stop halfway.
            if s.context()
                .max_seq(id)
                .checked_add(vs.len() as u64)
                .is_none()
            {
                return Err(DotsExhausted { replica: id }.into());
            }
            AnyCrdt::ORSet(s.add_all(id, vs)?)
        }
        (Op::Remove(v), AnyCrdt::ORSet(s)) => AnyCrdt::ORSet(s.remove(&v)),
        (Op::RemoveAll(vs), AnyCrdt::ORSet(s)) => {
            let mut group = deltacrdt::ORSet::new();
            for v in &vs {
                group.join(s.remove(v));
            }
            AnyCrdt::ORSet(group)
        }
        (Op::Clear, AnyCrdt::ORSet(s)) => AnyCrdt::ORSet(s.clear()),
        (Op::Clear, AnyCrdt::MVRegister(r)) => AnyCrdt::MVRegister(r.clear()),
        (Op::Set(v, now), AnyCrdt::LWWRegister(r)) => {
            AnyCrdt::LWWRegister(r.set_with_clock(clock, now, id, v)?)
        }
        (Op::Set(v, _), AnyCrdt::MVRegister(r)) => AnyCrdt::MVRegister(r.write(id, v)?),
        _ => {
            return Err(Error::new(
                "kind",
                "this operation does not apply to this kind",
            ))
        }
    })
}

/// Whether `op` would change `state` as it is now: what a held edit reports until it runs.
fn would_change(op: &Op, state: &AnyCrdt) -> bool {
    match (op, state) {
        (Op::Inc(n) | Op::Dec(n), _) => *n > 0,
        (Op::AddAll(vs), _) => !vs.is_empty(),
        (Op::Remove(v), AnyCrdt::ORSet(s)) => s.contains(v),
        (Op::RemoveAll(vs), AnyCrdt::ORSet(s)) => vs.iter().any(|v| s.contains(v)),
        (Op::Clear, AnyCrdt::ORSet(s)) => !s.is_empty(),
        (Op::Clear, AnyCrdt::MVRegister(r)) => !r.siblings().is_empty(),
        (Op::Delta(d), s) => !d.leq(s),
        (Op::Disable, AnyCrdt::EWFlag(f)) => f.is_enabled(),
        (Op::Map(path, leaf), AnyCrdt::ORMap(m)) => map::would_change(m, path, leaf),

        _ => true,
    }
}

/// Checks a delta or state from outside against a replica of `kind`: its kind, its values,
/// and for an LWW write the time bound at wall time `now_ms`.
///
/// # Errors
/// `kind`, `value`, `time-bound` (or `argument` for a bad clock reading, only when the delta
/// carries a write).
pub fn admit(kind: Kind, delta: &AnyCrdt, now_ms: f64, max_ahead_ms: u64) -> Result<(), Error> {
    match delta.kind() {
        None => return Ok(()),
        Some(k) if k != kind => {
            return Err(Error::new(
                "kind",
                format!("expected {}, found {}", kind.name(), k.name()),
            ))
        }
        Some(_) => {}
    }
    delta.check_values()?;
    bounded(delta, now_ms, max_ahead_ms)
}

/// The latest LWW timestamp a state holds (an `LWWRegister`'s, or any field's of a map).
fn latest_write(x: &AnyCrdt) -> Option<deltacrdt::Timestamp> {
    match x {
        AnyCrdt::LWWRegister(r) => r.timestamp(),
        AnyCrdt::ORMap(m) => map::check_doc(m).ok().flatten(),

        _ => None,
    }
}

fn bounded(x: &AnyCrdt, now_ms: f64, max_ahead_ms: u64) -> Result<(), Error> {
    if let Some(t) = latest_write(x) {
        let bound = TimeBound {
            now_ms: wall_ms(now_ms)?,
            max_ahead_ms,
        };
        bound.check(t)?;
    }
    Ok(())
}

/// Where the state lives.
// One per replica object, made once and never moved: boxing the solo states would cost an
// indirection on every local edit for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum Core {
    /// On its own, with the local changes not yet taken.
    Solo { state: AnyCrdt, pending: Pending },
    /// As the state of a session, with the edits held while it recovers.
    Synced {
        session: Box<Session<AnyCrdt>>,
        queued: Vec<Op>,
        failed: Vec<Error>,
    },
}

/// The local changes of a replica on its own that `takeDelta` has not taken yet.
///
/// While only local edits have changed the state since it had some version, the join of their
/// deltas is, in effect, the state's delta since that version (the catch-up delta: joined into
/// any replica, it changes it exactly as the edits' deltas would). So the group is not built
/// edit by edit, which would cost every edit a second, generic join; it is computed once, when
/// taken. A merge of remote changes makes the group concrete first, so that it never carries
/// them back; a merge while nothing waits costs nothing.
#[derive(Debug)]
pub(crate) enum Pending {
    /// Nothing waits.
    Nothing,
    /// At least one local edit, and only local edits, changed the state since it had this
    /// version.
    Since(AnyVersion),
    /// The join of the local deltas, kept once a merge has changed the state after them.
    Group(AnyCrdt),
}

impl Pending {
    /// Whether nothing waits.
    fn is_empty(&self) -> bool {
        match self {
            Pending::Nothing => true,
            Pending::Since(_) => false,
            Pending::Group(g) => g.is_bottom(),
        }
    }

    /// Before a local edit of `state`: notes its version if nothing waited. Returns whether
    /// nothing waited, for [`after_edit`](Self::after_edit).
    fn before_edit(&mut self, state: &AnyCrdt) -> bool {
        let was_empty = matches!(self, Pending::Nothing);
        if was_empty {
            *self = Pending::Since(state.version());
        }
        was_empty
    }

    /// After a local edit, with its delta (`None` if it failed or changed nothing).
    fn after_edit(&mut self, delta: Option<AnyCrdt>, was_empty: bool) {
        match (delta, &mut *self) {
            // Moved, not copied: into an empty group this is free.
            (Some(d), Pending::Group(g)) => {
                g.join(d);
            }
            (Some(_), _) => {}
            (None, _) if was_empty => *self = Pending::Nothing,
            (None, _) => {}
        }
    }

    /// Takes the group, given the current `state`; nothing waits afterwards.
    fn take(&mut self, state: &AnyCrdt) -> AnyCrdt {
        match core::mem::replace(self, Pending::Nothing) {
            Pending::Nothing => AnyCrdt::Empty,
            Pending::Since(version) => state.delta_since(&version),
            Pending::Group(g) => g,
        }
    }

    /// Before `state` joins changes that are not local: keeps the group apart from them.
    fn before_merge(&mut self, state: &AnyCrdt) {
        if let Pending::Since(version) = self {
            *self = Pending::Group(state.delta_since(version));
        }
    }
}

/// A replica of any kind (wrapped by the TS classes `GCounter`, `ORSet`, ...).
#[wasm_bindgen]
#[derive(Debug)]
pub struct WasmReplica {
    pub(crate) kind: Kind,
    pub(crate) id: ReplicaId,
    pub(crate) core: Core,
    /// The encoded delta of the last mutation, when the caller asked for it.
    last: Option<Vec<u8>>,
    clock: HybridClock,
    pub(crate) max_ahead_ms: u64,
}

fn kind_of(name: &str) -> Result<Kind, Error> {
    Kind::from_name(name).ok_or_else(|| {
        Error::new(
            "argument",
            format!(
                "unknown CRDT type (expected one of: {})",
                Kind::NAMES.trim_end()
            ),
        )
    })
}

impl WasmReplica {
    pub(crate) fn with(kind: Kind, id: u64, core: Core) -> WasmReplica {
        WasmReplica {
            kind,
            id: ReplicaId(id),
            core,
            last: None,
            clock: HybridClock::new(),
            max_ahead_ms: DEFAULT_MAX_AHEAD_MS,
        }
    }

    /// A session-held replica of `kind`, from saved bytes when given (then recovering).
    pub(crate) fn synced(
        kind: &str,
        id: u64,
        incarnation: u64,
        saved: Option<&[u8]>,
        config: deltacrdt::sync::SyncConfig,
    ) -> Result<WasmReplica, Error> {
        let kind = kind_of(kind)?;
        let session = match saved {
            Some(b) => Session::from_saved(ReplicaId(id), incarnation, kind.decode(b)?, config),
            None => Session::new(ReplicaId(id), incarnation, kind.empty(), config),
        };
        Ok(Self::with(
            kind,
            id,
            Core::Synced {
                session: Box::new(session),
                queued: Vec::new(),
                failed: Vec::new(),
            },
        ))
    }

    /// The current state.
    pub fn state(&self) -> &AnyCrdt {
        match &self.core {
            Core::Solo { state, .. } => state,
            Core::Synced { session, .. } => session.state(),
        }
    }

    /// Applies a local op: to the state and the pending group, or through the session (queued
    /// while it recovers). Returns whether the state changed.
    ///
    /// # Errors
    /// As for [`apply`]; nothing changed then.
    pub fn edit(&mut self, op: Op, keep_delta: bool) -> Result<bool, Error> {
        let _grow = crate::memory::GrowAhead::start();
        let (id, clock) = (self.id, &mut self.clock);
        let delta = match &mut self.core {
            Core::Solo { state, pending } => {
                let was_empty = pending.before_edit(state);
                let d = match (op, &mut *state) {
                    // The hot path of every set workload, without entering `apply` (a large
                    // function, costly to enter in wasm).
                    (Op::Add(v), AnyCrdt::ORSet(s)) => {
                        s.add(id, v).map(AnyCrdt::ORSet).map_err(Error::from)
                    }
                    (op, state) => apply(op, state, id, clock),
                };
                let d = match d {
                    Ok(d) if !d.is_bottom() => d,
                    other => {
                        pending.after_edit(None, was_empty);
                        self.last = None;
                        return other.map(|_| false);
                    }
                };
                self.last = keep_delta.then(|| deltacrdt::codec::Binary::to_bytes(&d));
                pending.after_edit(Some(d), was_empty);
                return Ok(true);
            }
            Core::Synced {
                session, queued, ..
            } => {
                if session.is_recovering() {
                    let changes = would_change(&op, session.state());
                    queued.push(op);
                    self.last = None;
                    return Ok(changes);
                }
                match session.update(|s| apply(op, s, id, clock)) {
                    Ok(d) => d,
                    Err(UpdateError::Mutate(e)) => return Err(e),
                    Err(_) => return Err(Error::new("recovering", "the session is recovering")),
                }
            }
        };
        let changed = !delta.is_bottom();
        self.last = (keep_delta && changed).then(|| deltacrdt::codec::Binary::to_bytes(&delta));
        Ok(changed)
    }

    /// Runs the queued edits once recovery has ended; returns whether any changed the state.
    pub(crate) fn replay(&mut self) -> bool {
        let (id, clock) = (self.id, &mut self.clock);
        let Core::Synced {
            session,
            queued,
            failed,
        } = &mut self.core
        else {
            return false;
        };
        if session.is_recovering() || queued.is_empty() {
            return false;
        }
        let mut changed = false;
        for op in core::mem::take(queued) {
            match session.update(|s| apply(op, s, id, clock)) {
                Ok(d) => changed |= !d.is_bottom(),
                Err(UpdateError::Mutate(e)) => failed.push(e),
                Err(_) => {}
            }
        }
        changed
    }

    fn values_arg(values: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
        Ok(value::split(values)?
            .into_iter()
            .map(<[u8]>::to_vec)
            .collect())
    }
}

type R<T> = Result<T, WasmError>;

#[wasm_bindgen]
impl WasmReplica {
    /// An empty replica of `kind` (`GCounter`, `ORSet`, ...) mutating as `replica`.
    #[wasm_bindgen(constructor)]
    pub fn new(kind: &str, replica: u64) -> R<WasmReplica> {
        let kind = kind_of(kind)?;
        let core = Core::Solo {
            state: kind.empty(),
            pending: Pending::Nothing,
        };
        Ok(Self::with(kind, replica, core))
    }

    /// A replica of `kind` holding the state `bytes` (from `toBytes`), mutating as `replica`.
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(kind: &str, bytes: &[u8], replica: u64) -> R<WasmReplica> {
        let _grow = crate::memory::GrowAhead::start();
        let kind = kind_of(kind)?;
        let core = Core::Solo {
            state: kind.decode(bytes)?,
            pending: Pending::Nothing,
        };
        Ok(Self::with(kind, replica, core))
    }

    /// The kind's name.
    pub fn kind(&self) -> String {
        self.kind.name().into()
    }

    /// The replica id this object mutates as.
    pub fn replica(&self) -> u64 {
        self.id.0
    }

    /// Joins a delta or a state of this kind (an LWW write is refused past the time bound at
    /// wall time `now_ms`); returns whether the state changed. A session-held replica also
    /// sends it on to the neighbours.
    pub fn merge(&mut self, bytes: &[u8], now_ms: f64) -> R<bool> {
        let _grow = crate::memory::GrowAhead::start();
        let x = self.kind.decode(bytes)?;
        bounded(&x, now_ms, self.max_ahead_ms)?;
        Ok(match &mut self.core {
            Core::Solo { state, pending } => {
                pending.before_merge(state);
                state.join(x)
            }
            Core::Synced { session, .. } => session.apply_delta(x),
        })
    }

    /// The encoded version: what this replica has seen.
    pub fn version(&self) -> Vec<u8> {
        deltacrdt::codec::Binary::to_bytes(&self.state().version())
    }

    /// The delta that brings the holder of the encoded `version` up to date.
    #[wasm_bindgen(js_name = deltaSince)]
    pub fn delta_since(&self, version: &[u8]) -> R<Vec<u8>> {
        let v = self.kind.decode_version(version).map_err(Error::from)?;
        let d = self.state().delta_since(&v);
        let d = if d.kind().is_none() {
            self.kind.empty()
        } else {
            d
        };
        Ok(deltacrdt::codec::Binary::to_bytes(&d))
    }

    /// The encoded full state.
    #[wasm_bindgen(js_name = toBytes)]
    pub fn to_bytes(&self) -> Vec<u8> {
        deltacrdt::codec::Binary::to_bytes(self.state())
    }

    /// The pending delta group of local changes, emptied; `undefined` when empty (always for a
    /// session-held replica: its session sends the changes).
    #[wasm_bindgen(js_name = takeDelta)]
    pub fn take_delta(&mut self) -> Option<Vec<u8>> {
        match &mut self.core {
            Core::Solo { state, pending } => {
                let group = pending.take(state);
                (!group.is_bottom()).then(|| deltacrdt::codec::Binary::to_bytes(&group))
            }
            _ => None,
        }
    }

    /// Whether local changes wait in the pending delta group.
    #[wasm_bindgen(js_name = hasPendingDelta)]
    pub fn has_pending_delta(&self) -> bool {
        matches!(&self.core, Core::Solo { pending, .. } if !pending.is_empty())
    }

    /// The delta of the last mutation, if it was asked for and changed something.
    #[wasm_bindgen(js_name = takeLastDelta)]
    pub fn take_last_delta(&mut self) -> Option<Vec<u8>> {
        self.last.take()
    }

    // ----- mutators -----

    /// Counters: adds `n`; returns whether the state changed (`n > 0`).
    pub fn inc(&mut self, n: u64, keep_delta: bool) -> R<bool> {
        Ok(self.edit(Op::Inc(n), keep_delta)?)
    }

    /// `PNCounter`: subtracts `n`; returns whether the state changed.
    pub fn dec(&mut self, n: u64, keep_delta: bool) -> R<bool> {
        Ok(self.edit(Op::Dec(n), keep_delta)?)
    }

    /// `ORSet`: adds one encoded value.
    // The values are taken by value: the buffer the glue fills becomes the element, with no
    // second allocation and copy.
    pub fn add(&mut self, value: Vec<u8>, keep_delta: bool) -> R<bool> {
        value::check(&value).map_err(Error::from)?;
        Ok(self.edit(Op::Add(value), keep_delta)?)
    }

    /// `ORSet`: adds a concatenation of encoded values as one delta; all or nothing.
    #[wasm_bindgen(js_name = addAll)]
    pub fn add_all(&mut self, values: &[u8], keep_delta: bool) -> R<bool> {
        // The split values, the state, the delta and the pending group: about 32 heap bytes
        // per input byte, grown in one step rather than page by page. No guard here: `edit`
        // has its own, and a second one would grow the memory by a quarter twice.
        crate::memory::reserve(values.len().saturating_mul(32));
        Ok(self.edit(Op::AddAll(Self::values_arg(values)?), keep_delta)?)
    }

    /// `ORSet`: removes one encoded value (the adds seen of it).
    pub fn remove(&mut self, value: Vec<u8>, keep_delta: bool) -> R<bool> {
        Ok(self.edit(Op::Remove(value), keep_delta)?)
    }

    /// `ORSet`: removes a concatenation of encoded values as one delta.
    #[wasm_bindgen(js_name = removeAll)]
    pub fn remove_all(&mut self, values: &[u8], keep_delta: bool) -> R<bool> {
        Ok(self.edit(Op::RemoveAll(Self::values_arg(values)?), keep_delta)?)
    }

    /// `ORSet`, `MVRegister`: removes everything seen here.
    pub fn clear(&mut self, keep_delta: bool) -> R<bool> {
        Ok(self.edit(Op::Clear, keep_delta)?)
    }

    /// Registers: writes one encoded value (an `LWWRegister` stamps it from wall time
    /// `now_ms`; the write always wins locally).
    pub fn set(&mut self, value: Vec<u8>, now_ms: f64, keep_delta: bool) -> R<bool> {
        value::check(&value).map_err(Error::from)?;
        let now = if self.kind == Kind::LWWRegister {
            wall_ms(now_ms)?
        } else {
            0
        };
        Ok(self.edit(Op::Set(value, now), keep_delta)?)
    }

    /// `EWFlag`: enables the flag.
    pub fn enable(&mut self, keep_delta: bool) -> R<bool> {
        Ok(self.edit(Op::Enable, keep_delta)?)
    }

    /// `EWFlag`: disables the flag (the enables seen here).
    pub fn disable(&mut self, keep_delta: bool) -> R<bool> {
        Ok(self.edit(Op::Disable, keep_delta)?)
    }

    /// `BoundedCounter`: moves `n` of this replica's rights to replica `to`.
    pub fn transfer(&mut self, to: u64, n: u64, keep_delta: bool) -> R<bool> {
        Ok(self.edit(Op::Transfer(to, n), keep_delta)?)
    }

    /// `ORMap`: one edit of the value at `path` (concatenated encoded `Uint8Array` keys, each
    /// a kind byte then the UTF-8 name). `op`: 0 add `amount` (counter), 1 enable, 2 disable
    /// (flag), 3 write `value` (LWW field, at wall time `now_ms`), 4 add, 5 remove `value`
    /// (set), 6 write `value` (register), 7 clear (set, register, map), 8 remove the key
    /// `value` (map).
    #[wasm_bindgen(js_name = mapEdit)]
    pub fn map_edit(
        &mut self,
        path: &[u8],
        op: u8,
        value: &[u8],
        amount: i64,
        now_ms: f64,
        keep_delta: bool,
    ) -> R<bool> {
        let path = map::parse_path(path)?;
        let checked = |v: &[u8]| -> Result<Vec<u8>, Error> {
            value::check(v)?;
            Ok(v.to_vec())
        };
        let leaf = match op {
            0 => Leaf::Add(amount),
            1 => Leaf::Enable,
            2 => Leaf::Disable,
            3 => Leaf::Lww(checked(value)?, wall_ms(now_ms)?),
            4 => Leaf::Insert(checked(value)?),
            5 => Leaf::Delete(value.to_vec()),
            6 => Leaf::Write(checked(value)?),
            7 => Leaf::Clear,
            8 => Leaf::RemoveKey(
                Key::parse(value).map_err(|e| Error::new("argument", format!("bad key: {e}")))?,
            ),
            _ => return Err(Error::new("argument", "unknown map operation").into()),
        };
        Ok(self.edit(Op::Map(path, leaf), keep_delta)?)
    }

    /// `ORMap`: the value at `path` as an encoded JS value (see [`map::read`]).
    #[wasm_bindgen(js_name = mapRead)]
    pub fn map_read(&self, path: &[u8]) -> R<Vec<u8>> {
        let path = map::parse_path(path)?;
        Ok(match self.state() {
            AnyCrdt::ORMap(m) => map::read(m, &path),

            _ => vec![value::tag::NULL],
        })
    }

    /// `ORMap`: what the value at `path` knows of its writes (see [`map::meta`]): an LWW
    /// field's `[writer, wall ms]`, a register's siblings' dots.
    #[wasm_bindgen(js_name = mapMeta)]
    pub fn map_meta(&self, path: &[u8]) -> R<Vec<u64>> {
        let path = map::parse_path(path)?;
        Ok(match self.state() {
            AnyCrdt::ORMap(m) => map::meta(m, &path),

            _ => Vec::new(),
        })
    }

    /// `EWFlag`: whether the flag is enabled.
    pub fn enabled(&self) -> bool {
        matches!(self.state(), AnyCrdt::EWFlag(f) if f.is_enabled())
    }

    /// `BoundedCounter`: this replica's local rights, as 16 little-endian bytes.
    #[wasm_bindgen(js_name = rightsBytes)]
    pub fn rights_bytes(&self) -> Vec<u8> {
        let v: i128 = match self.state() {
            AnyCrdt::BoundedCounter(c) => c.local_rights(self.id),
            _ => 0,
        };
        v.to_le_bytes().to_vec()
    }

    // ----- reads -----

    /// Counters: the value, as 16 little-endian two's-complement bytes.
    #[wasm_bindgen(js_name = valueBytes)]
    pub fn value_bytes(&self) -> Vec<u8> {
        let v: i128 = match self.state() {
            AnyCrdt::GCounter(c) => c.value() as i128,
            AnyCrdt::PNCounter(c) => c.value(),
            AnyCrdt::CausalCounter(c) => c.value(),
            AnyCrdt::BoundedCounter(c) => c.value(),
            _ => 0,
        };
        v.to_le_bytes().to_vec()
    }

    /// Counters: how much this replica's own increments (or, `dec`, decrements) can still
    /// grow before overflowing; `ORSet`: how many more dots (adds) this replica can mint.
    /// Capped at 2^53 - 1; 0 for other kinds.
    pub fn room(&self, dec: bool) -> f64 {
        let used = match self.state() {
            AnyCrdt::GCounter(c) => c.count_of(self.id),
            AnyCrdt::PNCounter(c) if dec => c.decrements().count_of(self.id),
            AnyCrdt::PNCounter(c) => c.increments().count_of(self.id),
            AnyCrdt::ORSet(s) => s.context().max_seq(self.id),
            _ => u64::MAX,
        };
        (u64::MAX - used).min(value::MAX_SAFE_INTEGER) as f64
    }

    /// `ORSet`: whether the encoded value is an element.
    pub fn has(&self, value: &[u8]) -> bool {
        match self.state() {
            AnyCrdt::ORSet(s) => s.contains(&value.to_vec()),
            _ => false,
        }
    }

    /// `ORSet`: elements; `MVRegister`: siblings; else 0 or 1.
    pub fn size(&self) -> u32 {
        let n = match self.state() {
            AnyCrdt::ORSet(s) => s.len(),
            AnyCrdt::MVRegister(r) => r.siblings().len(),
            AnyCrdt::LWWRegister(r) => usize::from(r.value().is_some()),
            AnyCrdt::ORMap(m) => m.len(),

            _ => 0,
        };
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// The encoded values, concatenated: an `ORSet`'s elements in ascending byte order, an
    /// `MVRegister`'s siblings in the order of their dots, an `LWWRegister`'s value if any.
    pub fn values(&self) -> Vec<u8> {
        match self.state() {
            AnyCrdt::ORSet(s) => value::concat(s.iter()),
            AnyCrdt::MVRegister(r) => value::concat(r.values()),
            AnyCrdt::LWWRegister(r) => value::concat(r.value().into_iter()),
            _ => Vec::new(),
        }
    }

    /// `MVRegister`: the dots of the siblings, as replica, seq pairs.
    pub fn dots(&self) -> Vec<u64> {
        match self.state() {
            AnyCrdt::MVRegister(r) => r
                .siblings()
                .iter()
                .flat_map(|(d, _)| [d.replica.0, d.seq])
                .collect(),
            _ => Vec::new(),
        }
    }

    /// `LWWRegister`: the wall time (ms) of the current write's timestamp.
    #[wasm_bindgen(js_name = timestampMs)]
    pub fn timestamp_ms(&self) -> Option<f64> {
        match self.state() {
            AnyCrdt::LWWRegister(r) => r.timestamp().map(|t| t.physical_ms() as f64),
            _ => None,
        }
    }

    /// `LWWRegister`: the replica that made the current write.
    pub fn writer(&self) -> Option<u64> {
        match self.state() {
            AnyCrdt::LWWRegister(r) => r.entry().map(|e| e.replica.0),
            _ => None,
        }
    }

    /// How far ahead of the local clock (ms) a merged LWW write may be.
    #[wasm_bindgen(js_name = maxAheadMs)]
    pub fn max_ahead_ms(&self) -> f64 {
        self.max_ahead_ms as f64
    }

    /// Sets how far ahead of the local clock (ms) a merged LWW write may be.
    #[wasm_bindgen(js_name = setMaxAheadMs)]
    pub fn set_max_ahead_ms(&mut self, ms: f64) -> R<()> {
        self.max_ahead_ms = wall_ms(ms)?;
        Ok(())
    }

    /// Edits waiting for a restored session to end its recovery.
    #[wasm_bindgen(js_name = queuedEdits)]
    pub fn queued_edits(&self) -> u32 {
        match &self.core {
            Core::Synced { queued, .. } => u32::try_from(queued.len()).unwrap_or(u32::MAX),
            Core::Solo { .. } => 0,
        }
    }

    /// The first error of a queued edit that failed when it ran, removed; `undefined` if none.
    #[wasm_bindgen(js_name = takeFailedEdit)]
    pub fn take_failed_edit(&mut self) -> Option<WasmError> {
        match &mut self.core {
            Core::Synced { failed, .. } if !failed.is_empty() => Some(failed.remove(0).into()),
            _ => None,
        }
    }
}

/// The session's validation hook over `AnyCrdt`: the checks of [`admit`].
pub(crate) fn hook(
    kind: Kind,
    now_ms: f64,
    max_ahead_ms: u64,
) -> AdmitFn<impl Fn(ReplicaId, &AnyCrdt) -> Result<(), String>> {
    AdmitFn(move |_: ReplicaId, d: &AnyCrdt| {
        admit(kind, d, now_ms, max_ahead_ms).map_err(|e| e.message)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use deltacrdt::codec::Binary;
    use deltacrdt::{GCounter, ORSet, PNCounter};

    fn string(s: &str) -> Vec<u8> {
        let mut out = vec![value::tag::STRING, s.len() as u8];
        out.extend_from_slice(s.as_bytes());
        out
    }

    fn solo(kind: &str, id: u64) -> WasmReplica {
        WasmReplica::new(kind, id).unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn pending_group_holds_every_local_delta_once() {
        let mut a = solo("ORSet", 1);
        for s in ["x", "y", "z"] {
            assert!(a.add(string(s), false).unwrap_or(false));
        }
        let group = a.take_delta().unwrap();
        assert_eq!(a.take_delta(), None);
        let mut b = solo("ORSet", 2);
        assert!(b.merge(&group, 0.0).unwrap_or(false));
        assert_eq!(b.state(), a.state());
        assert_eq!(a.to_bytes(), b.to_bytes());
    }

    fn set_of(bytes: &[u8]) -> ORSet<Vec<u8>> {
        ORSet::from_bytes(bytes).unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn the_pending_group_carries_local_changes_only_removes_included() {
        let mut a = solo("ORSet", 1);
        let mut b = solo("ORSet", 2);
        a.add(string("x"), false).unwrap_or_else(|_| unreachable!());
        b.merge(&a.take_delta().unwrap(), 0.0)
            .unwrap_or_else(|_| unreachable!());
        // A local remove and add, a remote add merged between them, another local add.
        assert!(a.remove(string("x"), false).unwrap_or(false));
        let mut c = solo("ORSet", 3);
        c.add(string("remote"), false)
            .unwrap_or_else(|_| unreachable!());
        assert!(a.merge(&c.to_bytes(), 0.0).unwrap_or(false));
        a.add(string("y"), false).unwrap_or_else(|_| unreachable!());
        assert!(a.has_pending_delta());
        let group = a.take_delta().unwrap();
        assert!(!a.has_pending_delta() && a.take_delta().is_none());
        let g = set_of(&group);
        assert!(
            !g.contains(&string("remote")),
            "the group carries a remote element back"
        );
        assert!(g.contains(&string("y")));
        b.merge(&group, 0.0).unwrap_or_else(|_| unreachable!());
        let b_set = set_of(&b.to_bytes());
        assert!(!b_set.contains(&string("x")), "the remove did not reach b");
        assert!(b_set.contains(&string("y")));
        b.merge(&c.to_bytes(), 0.0)
            .unwrap_or_else(|_| unreachable!());
        assert_eq!(a.to_bytes(), b.to_bytes());
    }

    #[test]
    fn a_loaded_or_merged_state_is_not_pending() {
        let mut a = solo("ORSet", 1);
        for s in ["x", "y", "z"] {
            a.add(string(s), false).unwrap_or_else(|_| unreachable!());
        }
        let mut loaded =
            WasmReplica::from_bytes("ORSet", &a.to_bytes(), 2).unwrap_or_else(|_| unreachable!());
        assert!(!loaded.has_pending_delta() && loaded.take_delta().is_none());
        loaded
            .add(string("w"), false)
            .unwrap_or_else(|_| unreachable!());
        let g = set_of(&loaded.take_delta().unwrap());
        assert_eq!(g.len(), 1);
        let mut b = solo("ORSet", 3);
        b.merge(&a.to_bytes(), 0.0)
            .unwrap_or_else(|_| unreachable!());
        assert!(!b.has_pending_delta());
        // Nothing that changes nothing counts as pending.
        assert!(!b.remove(string("absent"), false).unwrap_or(true));
        assert!(b.take_delta().is_none());
    }

    #[test]
    fn merge_rejects_foreign_types_and_bad_values_without_change() {
        let mut a = solo("ORSet", 1);
        a.add(string("x"), false).unwrap_or_else(|_| unreachable!());
        let before = a.to_bytes();
        let e = a.merge(&GCounter::new().to_bytes(), 0.0).err().unwrap();
        assert_eq!((e.code(), e.offset()), ("decode".to_string(), 1.0));
        assert!(e.message().contains("expected ORSet"), "{}", e.message());
        let mut bad = ORSet::new();
        bad.add(ReplicaId(9), vec![0xff]).unwrap();
        let e = a.merge(&bad.to_bytes(), 0.0).err().unwrap();
        assert_eq!(e.code(), "value");
        assert!(a.merge(&[1, 3, 0xff], 0.0).is_err());
        assert_eq!(a.to_bytes(), before);
    }

    #[test]
    fn last_delta_only_when_asked_and_changed() {
        let mut c = solo("GCounter", 1);
        assert!(!c.inc(0, true).unwrap_or(true));
        assert_eq!(c.take_last_delta(), None);
        assert!(c.inc(2, true).unwrap_or(false));
        let last = c.take_last_delta().unwrap();
        assert_eq!(GCounter::from_bytes(&last).unwrap().value(), 2);
    }

    #[test]
    fn delta_since_rejects_other_versions() {
        let c = solo("PNCounter", 1);
        let wrong = deltacrdt::VersionVector::new().to_bytes();
        let e = c.delta_since(&wrong).err().unwrap();
        assert!(
            e.message().contains("expected PNVersion"),
            "{}",
            e.message()
        );
        let right = deltacrdt::PNVersion::default().to_bytes();
        assert_eq!(
            c.delta_since(&right).unwrap_or_default(),
            PNCounter::new().to_bytes()
        );
    }

    #[test]
    fn an_operation_of_another_kind_is_refused() {
        let mut c = solo("GCounter", 1);
        assert_eq!(
            c.add(string("x"), false).err().map(|e| e.code()),
            Some("kind".into())
        );
        assert_eq!(c.dec(1, false).err().map(|e| e.code()), Some("kind".into()));
        assert!(c.state().is_bottom());
        assert!(WasmReplica::new("Nope", 1).is_err());
    }

    #[test]
    fn a_sets_room_is_the_dots_its_replica_has_left() {
        let mut a = solo("ORSet", 1);
        assert_eq!(a.room(false), value::MAX_SAFE_INTEGER as f64);
        let seen: deltacrdt::CausalContext = [deltacrdt::Dot::new(ReplicaId(1), u64::MAX - 2)]
            .into_iter()
            .collect();
        let near = ORSet::<Vec<u8>>::from_parts([], seen).unwrap_or_else(|_| unreachable!());
        assert!(a.merge(&near.to_bytes(), 0.0).unwrap_or(false));
        assert_eq!(a.room(false), 2.0);
        assert!(a.add(string("x"), false).unwrap_or(false));
        assert!(a.add(string("y"), false).unwrap_or(false));
        assert_eq!(a.room(false), 0.0);
        assert!(a.take_delta().is_some());
        let before = a.to_bytes();
        assert!(a.add(string("z"), false).is_err());
        assert_eq!(a.to_bytes(), before, "the refused add changed nothing");
        assert!(
            !a.has_pending_delta(),
            "a refused edit leaves nothing pending"
        );
    }

    #[test]
    fn room_is_what_the_own_entry_has_left() {
        let mut c = solo("PNCounter", 1);
        assert_eq!(c.room(false), value::MAX_SAFE_INTEGER as f64);
        c.inc(u64::MAX - 5, false)
            .unwrap_or_else(|_| unreachable!());
        assert_eq!(c.room(false), 5.0);
        assert_eq!(c.room(true), value::MAX_SAFE_INTEGER as f64);
        assert_eq!(
            c.inc(6, false).err().map(|e| e.code()),
            Some("overflow".into())
        );
    }
}
