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
//!   [`version`](crate::DeltaCrdt::version), and sent what it lacks with
//!   [`delta_since`](crate::DeltaCrdt::delta_since);
//! - **periodic digests**: every [`SyncConfig::digest_ticks`] ticks each neighbour also gets
//!   the session's digest and answers with what the session lacks, which bounds how long any
//!   single lost, forged or damaged message can keep a pair apart.
//!
//! Guarantees:
//! - every message is idempotent, so loss, duplication and reordering cost traffic, never
//!   data; memory is bounded by [`SyncConfig`]; there is no IO, no clock and no randomness,
//!   so a run is a function of its inputs (see the `deltacrdt-sim` crate);
//! - malformed or damaged messages are refused with a [`SyncError`] and change nothing;
//! - well-formed messages with bad contents are refused with nothing changed (but the
//!   refusal counters): a delta claiming events of this replica it never issued
//!   ([`SyncError::ClaimsUnissued`]: forged, or a shared or state-less replica id), a delta
//!   with a dot this replica holds with other contents ([`SyncError::DotCollision`]: two
//!   replicas share an id), and whatever the application's [`Admit`] check refuses
//!   ([`SyncError::Refused`]; the crate ships the LWW time bound, [`TimeBound`](crate::TimeBound),
//!   as one). Use [`Session::handle_message_with`] for sessions of an `LWWRegister`;
//! - no single message, forged or damaged, cuts a link for good: whether a delta is joined
//!   does not depend on its header (incarnations only reset acknowledgement bookkeeping), and
//!   the periodic digest repairs whatever a forged acknowledgement or digest made a session
//!   believe, within `digest_ticks` ticks plus a round trip;
//! - a session [restored](Session::restore) from a save older than its last updates learns
//!   its own events back from its neighbours before it makes new ones
//!   ([`Session::is_recovering`], [`UpdateError::Recovering`]).
//!
//! What a catch-up delta holds: every event the digest's holder lacks, and, for each replica
//! whose live-dot digests differ between the two sides, every removed dot of that replica the
//! answering side knows, as runs, whether or not the holder has them. When the side that is
//! behind answers the side that is ahead (whose digests differ because it has news), that is
//! its removal runs resent: 10,014 bytes for 5,000 fragmented removes of one replica, against
//! 22 bytes the other way (test `catch_up_from_the_side_behind_resends_its_removal_runs`).
//! The join is still exact; only the size is not minimal.
//!
//! [`Strategy`] selects the algorithm, including the baselines the simulator compares against
//! (full state, classic delta, digest only) and [`Strategy::SpanningTree`], which pushes the
//! BP+RR deltas along a spanning tree the sessions build and repair themselves and repairs the
//! other links by digests: on the 4-neighbour mesh of the ICDE experiment it sends 24,970
//! payload units for 1,500 updates (the spanning-tree bound is 21,000; BP+RR 69,540), 0.39
//! times BP+RR's bytes. [`message_parts`] tells where the bytes of a message go.
//!
//! ## Wire format
//!
//! One message per neighbour per poll, each part optional and idempotent:
//!
//! ```text
//! byte 0      format version (the crate's, 2 today; see the codec)
//! byte 1      MESSAGE_TAG (33): the compact layout
//! byte 2      flags: 1 = ack, 2 = digest request, 4 = digest, 8 = delta, 16 = tree,
//!             32 = "you are my parent" (only with 16), 128 = the delta is a copy not to
//!             acknowledge (only with 8; a spanning-tree lazy link); 64: error
//! incarnation the sender's incarnation (varint)
//! ack         acknowledged incarnation (varint), start (varint), end - start (varint, > 0)
//! digest      length (varint), then the sender's version in the crate's binary format
//! delta       start (varint), end - start (varint, > 0), length (varint), then the delta
//!             in the crate's binary format
//! tree        root replica id (varint), distance to it (varint): the sender's place in the
//!             spanning tree ([`Strategy::SpanningTree`] only)
//! checksum    CRC-32C (Castagnoli) of every byte before it, u32 little-endian ([`checksum`])
//! ```
//!
//! Nothing may follow. A header-only message of incarnation 1 is 8 bytes.
//!
//! **Older messages.** Sessions before the compact layout wrote tag 32
//! ([`LEGACY_MESSAGE_TAG`]): the incarnation as u64 little-endian before the flags, the ack's
//! incarnation as u64 little-endian, intervals as `start, end`; nothing else differs. Every
//! session still reads that layout: during a rolling upgrade, what old peers send keeps being
//! joined. An old peer refuses the compact layout with its typed `Malformed` error (wrong
//! type), as it does any unknown tag, so it learns nothing from upgraded peers until it is
//! upgraded too; nothing is lost, it catches up by digest once it is. Any other tag is refused with [`SyncError::Malformed`] naming "sync
//! message". Saved sessions are unaffected: [`Session::persist`] saves only the state, in
//! the crate's binary format.
//!
//! Where a message's bytes go (BP+RR on the 4-neighbour mesh of the ICDE experiment, set
//! workload, per message), before and after the compact layout: header 11 -> 4,
//! acknowledgement 5.8 -> 1.9 (varint incarnation; the length of the interval instead of its
//! end), digest 4.2, delta framing 2.8 -> 2.4, CRC 4; the delta itself (108 B, its causal
//! context naming each replica by a fixed 8-byte id) is the codec's and unchanged: 135.7 B
//! -> 124.4 B in all ([`message_parts`] measures each part).
//!
//! **Why a checksum.** The session cannot undo a join: a damaged payload that still decodes
//! (a flipped bit in a sequence number plants a dot nobody issued, and that phantom later
//! swallows the real event with that dot) would corrupt replicas for good, and the damage
//! spreads. Transports without integrity checks exist (UDP checksums are optional and 16-bit,
//! some serial and radio links have none, buggy proxies and storage). CRC-32C costs 4 bytes a
//! message and catches every error of up to 3 flipped bits (in messages up to 256 MiB) and
//! every burst of up to 32 bits, so a corrupted message is refused
//! ([`SyncError::Checksum`]) and, like a lost one, retransmitted. It is no defence against a
//! forger, who can compute it: forged contents are the job of the checks above. A delta's interval `start..end` names the sender's buffer sequence
//! numbers it covers (numbering starts at 1); `start == 0` marks a catch-up delta that holds
//! everything up to `end`. An acknowledgement repeats the interval received; the sender
//! advances what it knows the neighbour has only when the interval starts at or below that.
//!
//! ```
//! use deltacrdt::{sync::{Session, SyncConfig}, GCounter, ReplicaId};
//!
//! let ids = [ReplicaId(1), ReplicaId(2)];
//! // Replica ids must be unique per live replica (see the README's "Replica ids").
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
pub use message::{checksum, message_parts, MessageParts, LEGACY_MESSAGE_TAG, MESSAGE_TAG};
pub use session::{NeighbourStats, Session, Transmit};
