//! The sync session's untrusted input: `Session::handle_message` on arbitrary bytes and on
//! real messages with corrupted bytes, between two live sessions of an [`ORSet`].
//!
//! Checks: no panic; a rejected message leaves the state unchanged (the documented contract)
//! and counts as rejected; and, when every message that was accepted was genuine, a final
//! exchange of clean rounds makes both replicas equal.

use arbitrary::Arbitrary;
use deltacrdt::sync::{Session, Strategy, SyncConfig};
use deltacrdt::{ORSet, ReplicaId};

/// One step of a session scenario.
#[derive(Arbitrary, Debug)]
pub enum Action {
    /// Replica `at` adds an element.
    Add {
        /// 0 or 1.
        at: bool,
        /// The element.
        element: u8,
    },
    /// Replica `at` removes an element.
    Remove {
        /// 0 or 1.
        at: bool,
        /// The element.
        element: u8,
    },
    /// Both sessions start a round.
    Tick,
    /// The next message of replica `from` is delivered, dropped, or corrupted at a byte.
    Relay {
        /// 0 or 1.
        from: bool,
        /// Whether to lose it.
        drop: bool,
        /// `(offset, xor, reseal)`: flip bits of one byte (offset modulo the length), and
        /// maybe recompute the checksum trailer so the damage reaches the decoders.
        corrupt: Option<(u16, u8, bool)>,
    },
    /// Arbitrary bytes handed to replica `to` as if from the other one.
    Bytes {
        /// 0 or 1.
        to: bool,
        /// The bytes.
        bytes: Vec<u8>,
    },
}

const IDS: [ReplicaId; 2] = [ReplicaId(1), ReplicaId(2)];

/// Runs a scenario; panics on a broken contract.
pub fn run(actions: &[Action]) {
    run_with(Strategy::default(), actions);
}

/// [`run`] with both sessions on `strategy`.
pub fn run_with(strategy: Strategy, actions: &[Action]) {
    let config = SyncConfig {
        strategy,
        ..SyncConfig::default()
    };
    let mut s: [Session<ORSet<u64>>; 2] = [0, 1].map(|i| {
        let mut s = Session::new(IDS[i], 1, ORSet::new(), config.clone());
        s.add_neighbour(IDS[1 - i]);
        s
    });
    // Whether a message that was not genuine got accepted (then convergence is not owed).
    let mut tainted = false;
    for action in actions {
        match *action {
            Action::Add { at, element } => {
                let i = usize::from(at);
                s[i].update(|set| set.add(IDS[i], u64::from(element % 8)))
                    .expect("few dots");
            }
            Action::Remove { at, element } => {
                let i = usize::from(at);
                s[i].update(|set| Ok::<_, ()>(set.remove(&u64::from(element % 8))))
                    .unwrap();
            }
            Action::Tick => s.iter_mut().for_each(Session::tick),
            Action::Relay {
                from,
                drop,
                corrupt,
            } => {
                let i = usize::from(from);
                if let Some(t) = s[i].poll_transmit() {
                    assert_eq!(t.to, IDS[1 - i]);
                    let mut bytes = t.bytes;
                    let genuine = match corrupt {
                        Some((at, xor, reseal)) if !bytes.is_empty() && xor != 0 => {
                            let k = usize::from(at) % bytes.len();
                            bytes[k] ^= xor;
                            if reseal && bytes.len() >= 4 {
                                let n = bytes.len() - 4;
                                let crc = deltacrdt::sync::checksum(&bytes[..n]);
                                bytes[n..].copy_from_slice(&crc.to_le_bytes());
                            }
                            false
                        }
                        _ => true,
                    };
                    if !drop {
                        tainted |= !deliver(&mut s[1 - i], IDS[i], &bytes) && !genuine;
                    }
                }
            }
            Action::Bytes { to, ref bytes } => {
                let j = usize::from(to);
                tainted |= !deliver(&mut s[j], IDS[1 - j], bytes);
            }
        }
    }
    if tainted {
        return;
    }
    // Clean rounds until nothing is left to send.
    for _ in 0..16 {
        s.iter_mut().for_each(Session::tick);
        let mut sent = false;
        for i in 0..2 {
            // A round sends a bounded number of messages; the cap only guards the harness.
            for _ in 0..8 {
                let Some(t) = s[i].poll_transmit() else { break };
                sent = true;
                s[1 - i]
                    .handle_message(IDS[i], &t.bytes)
                    .expect("a genuine message is accepted");
            }
        }
        if !sent && s[0].state() == s[1].state() {
            break;
        }
    }
    assert_eq!(s[0].state(), s[1].state(), "sessions did not converge");
}

/// Hands `bytes` to `session`; returns whether it was rejected (state unchanged then).
fn deliver(session: &mut Session<ORSet<u64>>, from: ReplicaId, bytes: &[u8]) -> bool {
    let before = session.state().clone();
    let rejected_before = session.rejected();
    match session.handle_message(from, bytes) {
        Ok(changed) => {
            assert_eq!(
                changed,
                *session.state() != before,
                "handle_message's return value"
            );
            false
        }
        Err(e) => {
            assert!(!e.to_string().is_empty());
            assert_eq!(
                *session.state(),
                before,
                "a rejected message changed the state ({e})"
            );
            assert_eq!(session.rejected(), rejected_before + 1);
            true
        }
    }
}
