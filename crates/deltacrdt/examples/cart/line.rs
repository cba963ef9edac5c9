//! `CartLine`: one line of a shopping cart (a quantity and a note), as a value type of the
//! application's own, sitting in an `ORMap` through the crate's `CausalType` trait.
//!
//! Why a type of our own rather than two maps of the crate's types: a cart line is one thing
//! that is added, changed and removed as a whole. Two maps keyed by `(user, sku)` (one of
//! `CausalCounter`, one of `LWWField`) would let a remove reach one map and not the other, and
//! a nested `ORMap<Field, _>` would need one value type for two different fields. Here the
//! line is one dot store, a `DotFun<LineEvent>`: every quantity change and every note write
//! is a dot of its own. So
//!
//! - a remove of the line (or of the whole cart) retires exactly the dots it saw, of both
//!   kinds at once: a `+1` concurrent with the remove survives as a line of quantity 1
//!   (update wins, as for every `ORMap` value), and a note written concurrently survives too;
//! - the quantity is the sum of the live changes (as `CausalCounter` does it): concurrent
//!   `+1`s in two regions add up, nothing is lost;
//! - the note is last-writer-wins (as `LWWField` does it): a write retires the note writes it
//!   saw, never the quantity changes, and concurrent writes are siblings of which the one with
//!   the greatest `(timestamp, replica)` is read.

use deltacrdt::codec::{Codec, Reader};
use deltacrdt::prelude::*;
use deltacrdt::{DecodeError, DecodeErrorKind, DotsExhausted};

/// What one dot of a cart line holds.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LineEvent {
    /// A change of the quantity by this amount (positive: added, negative: taken out).
    Qty(i64),
    /// A note written at this time ("gift wrap", "size M").
    Note(Timestamp, String),
}

/// The binary format of a line event: tag 0 then the amount (zigzag varint), or tag 1 then
/// the timestamp and the text. Decoding refuses any other tag.
impl Codec for LineEvent {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            LineEvent::Qty(n) => {
                out.push(0);
                n.encode(out);
            }
            LineEvent::Note(t, text) => {
                out.push(1);
                t.encode(out);
                text.encode(out);
            }
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let at = r.offset();
        match r.byte()? {
            0 => Ok(LineEvent::Qty(i64::decode(r)?)),
            1 => Ok(LineEvent::Note(Timestamp::decode(r)?, String::decode(r)?)),
            t => Err(r.error_at(at, DecodeErrorKind::InvalidTag(t))),
        }
    }
}

/// A cart line: a quantity and a note (see the module docs for the semantics).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CartLine(Causal<DotFun<LineEvent>>);

impl CausalType for CartLine {
    type Store = DotFun<LineEvent>;

    fn from_causal(c: Causal<DotFun<LineEvent>>) -> Self {
        CartLine(c)
    }

    fn into_causal(self) -> Causal<DotFun<LineEvent>> {
        self.0
    }

    fn as_causal(&self) -> &Causal<DotFun<LineEvent>> {
        &self.0
    }
}

impl CartLine {
    /// Adds `n` units on behalf of `replica`; returns the delta: one fresh dot.
    pub fn add(&mut self, replica: ReplicaId, n: u32) -> Result<CartLine, DotsExhausted> {
        self.change(replica, i64::from(n))
    }

    /// Takes `n` units out. Concurrent decrements in two regions can take the sum below
    /// zero; [`quantity`](Self::quantity) reads such a line as 0.
    pub fn take(&mut self, replica: ReplicaId, n: u32) -> Result<CartLine, DotsExhausted> {
        self.change(replica, -i64::from(n))
    }

    fn change(&mut self, replica: ReplicaId, amount: i64) -> Result<CartLine, DotsExhausted> {
        let dot = self.0.next_dot(replica)?;
        let mut store = DotFun::new();
        store.insert(dot, LineEvent::Qty(amount));
        // A quantity change retires nothing: it only adds to the sum.
        Ok(self.apply(Causal::from_store_with(store, [dot])))
    }

    /// Writes the note at `timestamp`, replacing the note writes seen here (and nothing
    /// else); returns the delta.
    pub fn set_note(
        &mut self,
        replica: ReplicaId,
        timestamp: Timestamp,
        text: &str,
    ) -> Result<CartLine, DotsExhausted> {
        let dot = self.0.next_dot(replica)?;
        let mut store = DotFun::new();
        store.insert(dot, LineEvent::Note(timestamp, text.to_owned()));
        let seen_notes = self
            .0
            .store()
            .iter()
            .filter(|(_, e)| matches!(e, LineEvent::Note(..)))
            .map(|(d, _)| d);
        let delta = Causal::from_store_with(store, seen_notes);
        Ok(self.apply(delta))
    }

    /// Joins a delta into the line and returns it: every mutator has the shape
    /// `m(x) = x ⊔ m_delta(x)`, as `CausalType` asks.
    fn apply(&mut self, delta: Causal<DotFun<LineEvent>>) -> CartLine {
        self.0.join(delta.clone());
        CartLine(delta)
    }

    /// The quantity: the sum of the live changes, 0 if concurrent decrements took it below.
    pub fn quantity(&self) -> u64 {
        let sum: i128 = self
            .0
            .store()
            .iter()
            .filter_map(|(_, e)| match e {
                LineEvent::Qty(n) => Some(i128::from(*n)),
                LineEvent::Note(..) => None,
            })
            .sum();
        u64::try_from(sum.max(0)).unwrap_or(u64::MAX)
    }

    /// The note: of the live note writes, the one with the greatest `(timestamp, replica)`.
    pub fn note(&self) -> Option<&str> {
        self.0
            .store()
            .iter()
            .filter_map(|(d, e)| match e {
                LineEvent::Note(t, text) => Some(((*t, d.replica), text.as_str())),
                LineEvent::Qty(_) => None,
            })
            .max_by_key(|(key, _)| *key)
            .map(|(_, text)| text)
    }
}

/// Deltas of a line join into delta groups (a mutator that makes two changes returns their
/// join), like those of every type of the crate.
impl Lattice for CartLine {
    fn join(&mut self, other: Self) -> bool {
        self.0.join(other.0)
    }

    fn is_bottom(&self) -> bool {
        self.0.is_bottom()
    }
}
