//! Sans-IO anti-entropy: keep replicas in sync over any unreliable transport.
//!
//! A [`Session`] holds one replica's state and runs the delta-interval algorithm of
//! Almeida et al. with the BP and RR optimizations of Enes et al. (ICDE 2019):
//!
//! - every local update is joined into the state and kept in a **delta buffer** under a
//!   sequence number; each tick, a neighbour is sent the join of the deltas it has not
//!   acknowledged, and **acknowledges** the interval it received; deltas every neighbour
//!   acknowledged are dropped;
//! - **BP**: a delta is never sent back to the neighbour it came from;
//! - **RR**: of a received delta, only the part that was new here is buffered:
//!   `received.delta_since(&state.version())`, computed before joining (it joins with the state
//!   to the same result as the whole delta, and holds nothing the state already had);
//! - **digest catch-up**: a neighbour the buffer does not cover (new, restarted, or behind a
//!   buffer trimmed by its memory bounds) is asked for its digest, its
//!   [`version`](crate::DeltaCrdt::version), and sent exactly what it lacks with
//!   [`delta_since`](crate::DeltaCrdt::delta_since).
//!
//! Guarantees: every message is idempotent, so loss, duplication and reordering cost traffic,
//! never data; memory is bounded by [`SyncConfig`]; malformed or hostile messages are refused
//! with a [`SyncError`] and change nothing; there is no IO, no clock and no randomness, so a
//! run is a function of its inputs (see the `deltacrdt-sim` crate).
//!
//! [`Strategy`] selects the algorithm, including the baselines the simulator compares against
//! (full state, classic delta, digest only).
//!
//! ## Wire format
//!
//! One message per neighbour per poll, each part optional and idempotent:
//!
//! ```text
//! byte 0      format version (1, as every encoding of the crate)
//! byte 1      MESSAGE_TAG (32)
//! bytes 2..10 sender incarnation, u64 little-endian
//! byte 10     flags: 1 = ack, 2 = digest request, 4 = digest, 8 = delta (other bits: error)
//! ack         acknowledged incarnation (u64 LE), start (varint), end (varint), start < end
//! digest      length (varint), then the sender's version in the crate's binary format
//! delta       start (varint), end (varint), start < end, length (varint), then the delta in
//!             the crate's binary format
//! ```
//!
//! Nothing may follow. A delta's interval `start..end` names the sender's buffer sequence
//! numbers it covers (numbering starts at 1); `start == 0` marks a catch-up delta that holds
//! everything up to `end`. An acknowledgement repeats the interval received; the sender
//! advances what it knows the neighbour has only when the interval starts at or below that.
//!
//! ```
//! use deltacrdt::{sync::{Session, SyncConfig}, GCounter, ReplicaId};
//!
//! let ids = [ReplicaId(1), ReplicaId(2)];
//! let mut s: Vec<Session<GCounter>> =
//!     ids.iter().map(|&id| Session::new(id, 1, GCounter::new(), SyncConfig::default())).collect();
//! s[0].add_neighbour(ids[1]);
//! s[1].add_neighbour(ids[0]);
//! s[0].update(|c| c.inc(ids[0], 5)).unwrap();
//!
//! // A lossy link: the first message is dropped; the retransmission gets through.
//! s[0].tick();
//! let lost = s[0].poll_transmit().unwrap();
//! drop(lost);
//! for _ in 0..SyncConfig::default().retransmit_ticks {
//!     s[0].tick();
//! }
//! while let Some(t) = s[0].poll_transmit() {
//!     s[1].handle_message(ids[0], &t.bytes).unwrap();
//! }
//! assert_eq!(s[1].state().value(), 5);
//! ```

mod admit;
mod config;
mod error;
mod measure;
mod message;
mod session;

pub use admit::{Admit, AdmitFn};
pub use config::{Strategy, SyncConfig, UnknownStrategy};
pub use error::{SyncError, UpdateError};
pub use measure::Measure;
pub use message::{checksum, MESSAGE_TAG};
pub use session::{NeighbourStats, Session, Transmit};
