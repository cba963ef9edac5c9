//! Hand-written attacks for the `hostile_sessions` target (each a case of the sync hardening
//! work), plus a deterministic batch of generated ones, on the stable toolchain.

use arbitrary::{Arbitrary, Unstructured};
use deltacrdt_fuzz::hostile::{run, Action, Forged, ForgedSet, Incarnation, Owner, Seq};

fn add(at: bool, element: u8) -> Action {
    Action::Add { at, element }
}

fn exchange() -> Vec<Action> {
    let mut v = vec![Action::Tick];
    for _ in 0..3 {
        v.push(Action::Send { from: false });
        v.push(Action::Send { from: true });
        v.push(Action::Deliver {
            to: false,
            index: 0,
            duplicate: false,
        });
        v.push(Action::Deliver {
            to: true,
            index: 0,
            duplicate: false,
        });
    }
    v
}

fn header_only(incarnation: Incarnation) -> Forged {
    Forged {
        incarnation,
        ack: None,
        request_digest: false,
        digest: None,
        delta: None,
    }
}

fn empty_set() -> ForgedSet {
    ForgedSet {
        entries: vec![],
        runs: vec![],
    }
}

#[test]
fn incarnation_max_header_only_frame() {
    let mut v = vec![add(false, 1), add(true, 2)];
    v.extend(exchange());
    v.push(Action::Forge {
        to: false,
        message: header_only(Incarnation::Max),
    });
    v.push(add(true, 3));
    v.extend(exchange());
    run(&v);
}

#[test]
fn replayed_messages_with_flipped_incarnations() {
    let mut v = vec![add(false, 1), add(true, 2)];
    v.extend(exchange());
    for (i, b) in [63u8, 0, 7].into_iter().enumerate() {
        v.push(Action::Replay {
            to: i % 2 == 0,
            index: i as u8,
            incarnation: Incarnation::Flip(b),
            ack_incarnation: Some(Incarnation::Max),
        });
    }
    v.push(add(false, 4));
    v.extend(exchange());
    run(&v);
}

#[test]
fn forged_ack_and_digest_claiming_everything() {
    let mut v = vec![add(false, 1)];
    v.push(Action::Forge {
        to: false,
        message: Forged {
            incarnation: Incarnation::Real,
            ack: Some((Incarnation::Real, 0, 2)),
            request_digest: false,
            digest: Some(ForgedSet {
                entries: vec![],
                runs: vec![
                    (Owner::Recipient, Seq::Small(0), 1000),
                    (Owner::Third, Seq::Small(0), 50),
                ],
            }),
            delta: None,
        },
    });
    v.extend(exchange());
    run(&v);
}

#[test]
fn forged_own_dots_at_max_and_whole_runs() {
    let mut v = vec![add(false, 1), add(true, 2)];
    v.extend(exchange());
    v.push(Action::Forge {
        to: true,
        message: Forged {
            incarnation: Incarnation::Real,
            ack: None,
            request_digest: true,
            digest: None,
            delta: Some((
                1,
                2,
                ForgedSet {
                    entries: vec![(Owner::Recipient, Seq::NearMax(0), 5)],
                    runs: vec![(Owner::Recipient, Seq::Small(0), u16::MAX)],
                },
            )),
        },
    });
    v.push(Action::Forge {
        to: false,
        message: Forged {
            incarnation: Incarnation::Value(7),
            ack: None,
            request_digest: false,
            digest: Some(empty_set()),
            delta: Some((
                0,
                9,
                ForgedSet {
                    entries: vec![
                        (Owner::Third, Seq::Small(3), 0),
                        (Owner::Recipient, Seq::Small(0), 6),
                    ],
                    runs: vec![],
                },
            )),
        },
    });
    v.push(add(true, 3));
    v.extend(exchange());
    run(&v);
}

#[test]
fn generated_attacks_pass() {
    // xorshift64*: fixed, so the batch is the same on every run.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut ran = 0;
    for _ in 0..400 {
        let bytes: Vec<u8> = (0..600)
            .map(|_| {
                x ^= x >> 12;
                x ^= x << 25;
                x ^= x >> 27;
                (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
            })
            .collect();
        if let Ok(actions) = Vec::<Action>::arbitrary_take_rest(Unstructured::new(&bytes)) {
            run(&actions);
            ran += 1;
        }
    }
    assert!(ran > 300, "{ran}");
}
