//! Hostile sessions: two honest `Session<ORSet<u64>>`s exchange genuine messages (delivered,
//! dropped, duplicated, reordered) while an attacker on the unauthenticated transport sends
//! each of them arbitrary **well-formed** messages in the other's name: any incarnation
//! (`u64::MAX`, zero, bit flips of the real one), any acknowledgement (of the recipient's real
//! incarnation or not, any interval), digest requests, digests of forged states, genuine
//! messages replayed with edited headers, and forged deltas: dots of the recipient's own id at
//! any sequence number (up to `u64::MAX`, in whole runs, with other elements than the
//! recipient's), and dots of a third replica id that no honest session uses.
//!
//! Checks:
//! - no panic; a refused message leaves the state unchanged and is counted;
//! - a delta claiming the recipient's unissued events is refused;
//! - after the attack, clean rounds (bounded by the periodic digest) make both honest states
//!   equal to the join of every honest update and every forged delta that was accepted:
//!   nothing honest is lost and no link stays cut;
//! - both honest replicas can still add, and their new adds reach each other.
//!
//! Forged dots of the *other* honest replica are not generated: a value naming another
//! replica's unissued events is indistinguishable from news to everyone but that replica,
//! which refuses it (and everything built on it) by design. The attacker's third-replica dots
//! carry one element per dot, as an honest replica's would (two elements under one dot is the
//! shared-id misuse the sessions report, not something they can reconcile).

use arbitrary::Arbitrary;
use deltacrdt::sync::{checksum, Session, Strategy, SyncConfig, SyncError, MESSAGE_TAG};
use deltacrdt::{Binary, CausalContext, DeltaCrdt, Dot, Lattice, ORSet, ReplicaId};

const IDS: [ReplicaId; 2] = [ReplicaId(1), ReplicaId(2)];
/// The replica id the attacker's invented events use (no honest session has it).
const THIRD: ReplicaId = ReplicaId(3);
/// Periodic digest interval of the honest sessions (small, so clean rounds stay short).
const DIGEST_TICKS: u64 = 4;

/// An incarnation field as the attacker writes it.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Incarnation {
    /// The impersonated sender's real incarnation (or, in an ack, the recipient's).
    Real,
    /// `u64::MAX`.
    Max,
    /// Zero.
    Zero,
    /// The real one with one bit flipped.
    Flip(u8),
    /// Any value.
    Value(u64),
}

impl Incarnation {
    fn resolve(self, real: u64) -> u64 {
        match self {
            Incarnation::Real => real,
            Incarnation::Max => u64::MAX,
            Incarnation::Zero => 0,
            Incarnation::Flip(b) => real ^ (1 << (b % 64)),
            Incarnation::Value(v) => v,
        }
    }
}

/// Whose dots a forged dot uses.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Owner {
    /// The recipient's own id.
    Recipient,
    /// The third replica id.
    Third,
}

/// A sequence number as the attacker picks it.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Seq {
    /// Small (1..=16).
    Small(u8),
    /// `u64::MAX - k`.
    NearMax(u8),
    /// Any value (0 becomes 1).
    Any(u64),
}

impl Seq {
    fn resolve(self) -> u64 {
        match self {
            Seq::Small(s) => u64::from(s % 16) + 1,
            Seq::NearMax(k) => u64::MAX - u64::from(k),
            Seq::Any(v) => v.max(1),
        }
    }
}

/// A forged ORSet.
#[derive(Arbitrary, Debug, Clone)]
pub struct ForgedSet {
    /// Live entries: an element under a dot (third-replica dots get the element `seq % 8`).
    pub entries: Vec<(Owner, Seq, u8)>,
    /// Context-only runs `(owner, first, length)`: removed events.
    pub runs: Vec<(Owner, Seq, u16)>,
}

impl ForgedSet {
    fn build(&self, recipient: ReplicaId) -> ORSet<u64> {
        let who = |o: Owner| match o {
            Owner::Recipient => recipient,
            Owner::Third => THIRD,
        };
        let mut ctx = CausalContext::new();
        let mut entries: Vec<(u64, Dot)> = Vec::new();
        for &(o, s, e) in self.entries.iter().take(16) {
            let dot = Dot::new(who(o), s.resolve());
            if ctx.insert(dot) {
                let element = match o {
                    Owner::Recipient => u64::from(e % 8),
                    Owner::Third => dot.seq % 8,
                };
                entries.push((element, dot));
            }
        }
        for &(o, s, len) in self.runs.iter().take(8) {
            let first = s.resolve();
            let last = first.saturating_add(u64::from(len));
            ctx.insert_range(who(o), first, last);
        }
        let mut grouped: Vec<(u64, Vec<Dot>)> = Vec::new();
        entries.sort();
        for (e, d) in entries {
            match grouped.last_mut() {
                Some((le, ds)) if *le == e => ds.push(d),
                _ => grouped.push((e, vec![d])),
            }
        }
        ORSet::from_parts(grouped, ctx).unwrap_or_default()
    }
}

/// A well-formed message the attacker sends.
#[derive(Arbitrary, Debug, Clone)]
pub struct Forged {
    /// The sender incarnation field.
    pub incarnation: Incarnation,
    /// An acknowledgement: of which incarnation (`Real` = the recipient's), interval.
    pub ack: Option<(Incarnation, u64, u64)>,
    /// The digest-request flag.
    pub request_digest: bool,
    /// A digest: the version of a forged set.
    pub digest: Option<ForgedSet>,
    /// A delta: interval and forged contents.
    pub delta: Option<(u64, u64, ForgedSet)>,
}

/// One step.
#[derive(Arbitrary, Debug, Clone)]
pub enum Action {
    /// Honest replica `at` adds an element.
    Add {
        /// 0 or 1.
        at: bool,
        /// The element (mod 8).
        element: u8,
    },
    /// Honest replica `at` removes an element.
    Remove {
        /// 0 or 1.
        at: bool,
        /// The element (mod 8).
        element: u8,
    },
    /// Both honest sessions tick.
    Tick,
    /// Honest replica `from` sends its next message into the network.
    Send {
        /// 0 or 1.
        from: bool,
    },
    /// A genuine message in flight towards `to` is delivered (index mod the queue), maybe
    /// kept for a duplicate.
    Deliver {
        /// 0 or 1.
        to: bool,
        /// Which one.
        index: u8,
        /// Keep a copy in flight.
        duplicate: bool,
    },
    /// The attacker sends `to` a forged message in the other honest replica's name.
    Forge {
        /// 0 or 1.
        to: bool,
        /// The message.
        message: Forged,
    },
    /// The attacker replays a genuine message seen towards `to`, with edited header fields.
    Replay {
        /// 0 or 1.
        to: bool,
        /// Which captured message.
        index: u8,
        /// The new sender incarnation.
        incarnation: Incarnation,
        /// A new acknowledged incarnation, if the message has an acknowledgement.
        ack_incarnation: Option<Incarnation>,
    },
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A varint at the start of `b` (of a genuine message) and its length.
fn read_varint(b: &[u8]) -> (u64, usize) {
    let mut v = 0u64;
    for (i, &x) in b.iter().enumerate().take(10) {
        v |= u64::from(x & 0x7f) << (7 * i);
        if x & 0x80 == 0 {
            return (v, i + 1);
        }
    }
    (v, b.len().min(10))
}

fn seal(m: &mut Vec<u8>) {
    let crc = checksum(m);
    m.extend_from_slice(&crc.to_le_bytes());
}

/// Encodes a forged message per the documented wire format; returns it and its delta.
fn encode(
    f: &Forged,
    sender_inc: u64,
    recipient: ReplicaId,
    recipient_inc: u64,
) -> (Vec<u8>, Option<ORSet<u64>>) {
    let flags = u8::from(f.ack.is_some())
        | u8::from(f.request_digest) << 1
        | u8::from(f.digest.is_some()) << 2
        | u8::from(f.delta.is_some()) << 3;
    let mut m = vec![2, MESSAGE_TAG, flags];
    varint(&mut m, f.incarnation.resolve(sender_inc));
    // Intervals go as start and length; a `start >= end` interval is sent with length 0.
    if let Some((inc, start, end)) = f.ack {
        varint(&mut m, inc.resolve(recipient_inc));
        varint(&mut m, start);
        varint(&mut m, end.saturating_sub(start));
    }
    if let Some(d) = &f.digest {
        let v = d.build(recipient).version().to_bytes();
        varint(&mut m, v.len() as u64);
        m.extend_from_slice(&v);
    }
    let mut delta = None;
    if let Some((start, end, d)) = &f.delta {
        let set = d.build(recipient);
        varint(&mut m, *start);
        varint(&mut m, end.saturating_sub(*start));
        let b = set.to_bytes();
        varint(&mut m, b.len() as u64);
        m.extend_from_slice(&b);
        delta = Some(set);
    }
    seal(&mut m);
    (m, delta)
}

struct World {
    s: [Session<ORSet<u64>>; 2],
    /// Genuine messages in flight towards replica `i`.
    flight: [Vec<Vec<u8>>; 2],
    /// Genuine messages seen towards replica `i` (for replays).
    seen: [Vec<Vec<u8>>; 2],
    /// The join of every honest update and every accepted forged delta.
    oracle: ORSet<u64>,
}

impl World {
    /// Hands `bytes` to replica `to` as from the other one; returns whether it was accepted.
    fn deliver(&mut self, to: usize, bytes: &[u8]) -> Result<bool, SyncError> {
        let s = &mut self.s[to];
        let before = s.state().clone();
        let rejected = s.rejected();
        match s.handle_message(IDS[1 - to], bytes) {
            Ok(changed) => {
                assert_eq!(
                    changed,
                    *s.state() != before,
                    "handle_message's return value"
                );
                Ok(changed)
            }
            Err(e) => {
                assert!(!e.to_string().is_empty());
                assert_eq!(
                    *s.state(),
                    before,
                    "a refused message changed the state ({e})"
                );
                assert_eq!(s.rejected(), rejected + 1);
                Err(e)
            }
        }
    }

    fn send(&mut self, from: usize) {
        if let Some(t) = self.s[from].poll_transmit() {
            assert_eq!(t.to, IDS[1 - from]);
            if self.seen[1 - from].len() < 64 {
                self.seen[1 - from].push(t.bytes.clone());
            }
            self.flight[1 - from].push(t.bytes);
        }
    }

    /// Clean rounds: tick, deliver everything genuine at once, until the states are equal (at
    /// most `rounds`). Equal honest states hold the whole oracle: each part of it was joined
    /// into one of them, and joins only grow.
    fn settle(&mut self, rounds: u64) {
        for _ in 0..rounds {
            if self.s[0].state() == self.s[1].state() {
                return;
            }
            self.s.iter_mut().for_each(Session::tick);
            for _ in 0..32 {
                let mut sent = false;
                for i in 0..2 {
                    while let Some(t) = self.s[i].poll_transmit() {
                        sent = true;
                        if let Err(e) = self.deliver(1 - i, &t.bytes) {
                            genuine_refusal(&e);
                        }
                    }
                }
                if !sent {
                    break;
                }
            }
        }
    }
}

/// The one refusal a genuine message may meet: it echoes (acknowledges) the interval of a
/// forged delta sent in its recipient's name, beyond what the recipient produced. The message
/// is lost like any dropped message, and retransmission covers it; anything else is a bug.
fn genuine_refusal(e: &SyncError) {
    assert!(
        matches!(e, SyncError::AckBeyondSent { .. }),
        "a genuine message was refused: {e}"
    );
}

/// Runs a scenario; panics on a broken contract.
pub fn run(actions: &[Action]) {
    run_with(Strategy::default(), actions);
}

/// [`run`] with both honest sessions on `strategy`.
pub fn run_with(strategy: Strategy, actions: &[Action]) {
    let config = SyncConfig {
        strategy,
        digest_ticks: DIGEST_TICKS,
        retransmit_ticks: 2,
        ..SyncConfig::default()
    };
    let mut w = World {
        s: [0, 1].map(|i| {
            let mut s = Session::new(IDS[i], 1 + i as u64, ORSet::new(), config.clone());
            s.add_neighbour(IDS[1 - i]);
            s
        }),
        flight: [Vec::new(), Vec::new()],
        seen: [Vec::new(), Vec::new()],
        oracle: ORSet::new(),
    };
    for action in actions.iter().take(256) {
        match action {
            Action::Add { at, element } => {
                let i = usize::from(*at);
                let d = w.s[i]
                    .update(|set| set.add(IDS[i], u64::from(element % 8)))
                    .expect("the attacker cannot exhaust an honest replica's dots");
                w.oracle.join(d);
            }
            Action::Remove { at, element } => {
                let i = usize::from(*at);
                let d = w.s[i]
                    .update(|set| Ok::<_, ()>(set.remove(&u64::from(element % 8))))
                    .expect("not recovering");
                w.oracle.join(d);
            }
            Action::Tick => w.s.iter_mut().for_each(Session::tick),
            Action::Send { from } => w.send(usize::from(*from)),
            Action::Deliver {
                to,
                index,
                duplicate,
            } => {
                let j = usize::from(*to);
                if w.flight[j].is_empty() {
                    continue;
                }
                let k = usize::from(*index) % w.flight[j].len();
                let bytes = if *duplicate {
                    w.flight[j][k].clone()
                } else {
                    w.flight[j].swap_remove(k)
                };
                if let Err(e) = w.deliver(j, &bytes) {
                    genuine_refusal(&e);
                }
            }
            Action::Forge { to, message } => {
                let j = usize::from(*to);
                let (sender_inc, recipient_inc) = (w.s[1 - j].incarnation(), w.s[j].incarnation());
                let (bytes, delta) = encode(message, sender_inc, IDS[j], recipient_inc);
                let claims = delta
                    .as_ref()
                    .is_some_and(|d| d.claims_unissued(w.s[j].state(), IDS[j]));
                if w.deliver(j, &bytes).is_ok() {
                    assert!(!claims, "a delta claiming unissued own events was accepted");
                    if let Some(d) = delta {
                        w.oracle.join(d);
                    }
                }
            }
            Action::Replay {
                to,
                index,
                incarnation,
                ack_incarnation,
            } => {
                let j = usize::from(*to);
                if w.seen[j].is_empty() {
                    continue;
                }
                let mut m = w.seen[j][usize::from(*index) % w.seen[j].len()].clone();
                // The compact layout: flags at 2, the sender incarnation (varint) at 3, then
                // the ack's incarnation (varint) first if there is an ack.
                let n = m.len() - 4;
                m.truncate(n);
                let (real, len) = read_varint(&m[3..]);
                let mut out = m[..3].to_vec();
                varint(&mut out, incarnation.resolve(real));
                let mut at = 3 + len;
                if let (Some(inc), true) = (ack_incarnation, m[2] & 1 != 0) {
                    let (real, len) = read_varint(&m[at..]);
                    varint(&mut out, inc.resolve(real));
                    at += len;
                }
                out.extend_from_slice(&m[at..]);
                let mut m = out;
                seal(&mut m);
                // Its contents are genuine: accepted or not, the oracle already has them.
                let _ = w.deliver(j, &m);
            }
        }
    }
    // The attack is over; what was in flight is lost. Clean rounds: the periodic digest bounds
    // how long anything the attacker made either side believe can keep them apart.
    w.settle(4 * DIGEST_TICKS + 8);
    assert_eq!(
        w.s[0].state(),
        w.s[1].state(),
        "honest sessions did not converge"
    );
    assert_eq!(
        *w.s[0].state(),
        w.oracle,
        "the honest state is not the join of every honest update and accepted delta"
    );
    // Nothing the attacker did stops new honest events from being made and delivered.
    for (i, &id) in IDS.iter().enumerate() {
        let d = w.s[i]
            .update(|set| set.add(id, 100 + i as u64))
            .expect("honest replicas can still add");
        w.oracle.join(d);
    }
    w.settle(4 * DIGEST_TICKS + 8);
    for s in &w.s {
        assert!(s.state().contains(&100) && s.state().contains(&101));
        assert_eq!(*s.state(), w.oracle);
    }
}
