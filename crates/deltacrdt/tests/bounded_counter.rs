//! Semantics of the bounded counter: the escrow guarantee (no replica spends rights it does
//! not hold, so the value never goes below zero) under concurrent operations and arbitrary
//! delivery, refused operations, conservation of rights, and small catch-up.

mod support;

use deltacrdt::codec::Binary;
use deltacrdt::sync::Measure;
use deltacrdt::{
    BoundedCounter, BoundedError, BoundedVersion, CounterOverflow, DeltaCrdt, Lattice, ReplicaId,
};
use quickcheck::{QuickCheck, TestResult};
use support::{rid, BoundedOp, SplitMix, Step, REPLICAS};

/// Runs a property `tests` times (or `QUICKCHECK_TESTS` times, when set).
fn check<A: quickcheck::Testable>(tests: u64, property: A) {
    let tests = std::env::var("QUICKCHECK_TESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(tests);
    QuickCheck::new()
        .tests(tests)
        .max_tests(tests * 10)
        .quickcheck(property);
}

/// Events of a history, as a bit set (at most 128 of them).
type Events = u128;

/// Three replicas under a history of operations and arbitrary exchanges, with what each
/// replica knows (which operations) and what each operation had seen, so that a check can
/// tell causally consistent views from the others.
#[derive(Default)]
struct Sim {
    states: [BoundedCounter; REPLICAS],
    known: [Events; REPLICAS],
    /// Per event: the events its replica had seen when it made it.
    observed: Vec<Events>,
    /// Every delta made, with its replica and event.
    deltas: Vec<(usize, BoundedCounter, Events)>,
    /// Totals of the operations that succeeded.
    added: u128,
    taken: u128,
    refused: usize,
    closed_checks: usize,
}

impl Sim {
    fn closed(&self, known: Events) -> bool {
        self.observed
            .iter()
            .enumerate()
            .all(|(i, &o)| known & (1 << i) == 0 || o & !known == 0)
    }

    fn operate(&mut self, at: usize, op: &BoundedOp) {
        if self.observed.len() == 128 {
            return;
        }
        let before = self.states[at].clone();
        let rights = before.local_rights(rid(at));
        match op.apply(&mut self.states[at], at) {
            Err(e) => {
                assert_eq!(
                    self.states[at], before,
                    "{op:?} was refused ({e}) but changed the state"
                );
                let asked = match *op {
                    BoundedOp::Inc(n) | BoundedOp::Dec(n) | BoundedOp::Transfer { n, .. } => n,
                };
                match e {
                    BoundedError::InsufficientRights {
                        replica,
                        asked: a,
                        available,
                    } => {
                        assert_eq!((replica, a), (rid(at), u64::from(asked)));
                        assert_eq!(i128::try_from(available).unwrap(), rights);
                        assert!(rights < i128::from(asked));
                    }
                    BoundedError::TransferToSelf { replica } => {
                        assert_eq!(replica, rid(at));
                        assert!(
                            matches!(op, BoundedOp::Transfer { to, .. } if to % REPLICAS == at)
                        );
                    }
                    e => panic!("unexpected {e:?} for {op:?}"),
                }
                self.refused += 1;
            }
            Ok(delta) => {
                assert_eq!(
                    before.joined(&delta),
                    self.states[at],
                    "state != before ⊔ delta"
                );
                let after = self.states[at].local_rights(rid(at));
                match *op {
                    BoundedOp::Inc(n) => {
                        assert_eq!(after, rights + i128::from(n));
                        self.added += u128::from(n);
                    }
                    BoundedOp::Dec(n) => {
                        assert!(
                            i128::from(n) <= rights,
                            "a decrement beyond the rights succeeded"
                        );
                        assert_eq!(after, rights - i128::from(n));
                        self.taken += u128::from(n);
                    }
                    BoundedOp::Transfer { to, n } => {
                        // Conservation: what the sender loses, the receiver gains; the value
                        // does not move.
                        let (s, r) = (&before, &self.states[at]);
                        assert!(i128::from(n) <= rights);
                        assert_eq!(after, rights - i128::from(n));
                        let to = rid(to % REPLICAS);
                        assert_eq!(r.local_rights(to), s.local_rights(to) + i128::from(n));
                        assert_eq!(r.value(), s.value());
                    }
                }
                if delta.is_bottom() {
                    return;
                }
                let e: Events = 1 << self.observed.len();
                self.observed.push(self.known[at]);
                self.known[at] |= e;
                self.deltas.push((at, delta, e));
            }
        }
    }

    fn step(&mut self, step: &Step<BoundedOp>) {
        match *step {
            Step::Op { at, ref op } => self.operate(at, op),
            // Any earlier delta of `from`, again or for the first time; the others are lost
            // until a full state or a catch-up carries them.
            Step::Deliver { from, to, which } => {
                let mine: Vec<usize> = (0..self.deltas.len())
                    .filter(|&i| self.deltas[i].0 == from)
                    .collect();
                if let Some(&i) = mine.get(which % mine.len().max(1)) {
                    let bytes = self.deltas[i].1.to_bytes();
                    self.states[to].join(BoundedCounter::from_bytes(&bytes).unwrap());
                    self.known[to] |= self.deltas[i].2;
                }
            }
            Step::Full { from, to } => {
                let s = BoundedCounter::from_bytes(&self.states[from].to_bytes()).unwrap();
                self.states[to].join(s);
                self.known[to] |= self.known[from];
            }
            Step::CatchUp { from, to } => {
                let v = BoundedVersion::from_bytes(&self.states[to].version().to_bytes()).unwrap();
                let d = self.states[from].delta_since(&v);
                self.states[to].join(BoundedCounter::from_bytes(&d.to_bytes()).unwrap());
                self.known[to] |= self.known[from];
            }
        }
    }

    /// The escrow guarantee, at every replica and for the union of all.
    fn check(&mut self) -> Result<(), String> {
        for (i, s) in self.states.iter().enumerate() {
            if s.local_rights(rid(i)) < 0 {
                return Err(format!(
                    "replica {i} holds negative rights of its own: {s:?}"
                ));
            }
        }
        let mut views: Vec<(Events, BoundedCounter)> = self
            .states
            .iter()
            .cloned()
            .zip(self.known)
            .map(|(s, k)| (k, s))
            .collect();
        let all = support::join_all(self.deltas.iter().map(|d| d.1.clone()));
        views.push((self.known.iter().fold(0, |a, b| a | b), all));
        for (known, s) in views {
            if !self.closed(known) {
                continue;
            }
            self.closed_checks += 1;
            if s.value() < 0 {
                return Err(format!(
                    "a causally consistent view has value {}: {s:?}",
                    s.value()
                ));
            }
            if let Some(r) = s.replicas().find(|&r| s.local_rights(r) < 0) {
                return Err(format!(
                    "a causally consistent view gives {r} negative rights: {s:?}"
                ));
            }
        }
        Ok(())
    }

    fn run(steps: &[Step<BoundedOp>]) -> Result<Sim, String> {
        let mut sim = Sim::default();
        for step in steps {
            sim.step(step);
            sim.check()?;
        }
        // Catch-up along a line and back converges everything.
        for (from, to) in [(0, 1), (1, 2), (2, 1), (1, 0)] {
            sim.step(&Step::CatchUp { from, to });
        }
        sim.check()?;
        let s = &sim.states[0];
        if sim.states.iter().any(|x| x != s) {
            return Err("replicas differ after catch-up".into());
        }
        if s.value() != sim.added as i128 - sim.taken as i128 {
            return Err(format!(
                "value {} but {} added and {} taken",
                s.value(),
                sim.added,
                sim.taken
            ));
        }
        Ok(sim)
    }
}

fn never_below_zero_under_any_delivery(steps: Vec<Step<BoundedOp>>) -> TestResult {
    match Sim::run(&steps) {
        Ok(_) => TestResult::passed(),
        Err(e) => TestResult::error(e),
    }
}

#[test]
fn value_and_rights_never_go_below_zero_under_any_delivery() {
    check(
        300,
        never_below_zero_under_any_delivery as fn(Vec<Step<BoundedOp>>) -> TestResult,
    );
}

/// The property above checks what it claims: over fixed random histories, operations are
/// both accepted and refused, and causally consistent views holding decrements are checked.
#[test]
fn the_escrow_property_sees_refusals_and_consistent_views() {
    let mut rng = SplitMix(7);
    let (mut refused, mut taken, mut closed) = (0, 0, 0);
    for _ in 0..50 {
        let steps: Vec<Step<BoundedOp>> = (0..60)
            .map(|_| {
                let (a, b) = (rng.below(REPLICAS), rng.below(REPLICAS));
                let n = rng.below(24) as u8;
                match rng.below(9) {
                    0..=1 => Step::Op {
                        at: a,
                        op: BoundedOp::Inc(n),
                    },
                    2..=3 => Step::Op {
                        at: a,
                        op: BoundedOp::Dec(n),
                    },
                    4 => Step::Op {
                        at: a,
                        op: BoundedOp::Transfer { to: b, n },
                    },
                    5..=6 => Step::Deliver {
                        from: a,
                        to: b,
                        which: rng.below(64),
                    },
                    7 => Step::Full { from: a, to: b },
                    _ => Step::CatchUp { from: a, to: b },
                }
            })
            .collect();
        let sim = Sim::run(&steps).unwrap();
        refused += sim.refused;
        taken += sim.taken;
        closed += sim.closed_checks;
    }
    assert!(refused > 100, "only {refused} refusals");
    assert!(taken > 1000, "only {taken} units taken");
    assert!(closed > 1000, "only {closed} consistent views checked");
}

#[test]
fn two_regions_sell_stock_without_overselling() {
    let (eu, us) = (ReplicaId(0xE0), ReplicaId(0x05));
    let mut stock_eu = BoundedCounter::new();
    let mut stock_us = BoundedCounter::new();
    stock_us.join(stock_eu.inc(eu, 10).unwrap());

    // The US sees the stock but has no rights: the sale is refused locally.
    let err = stock_us.dec(us, 3).unwrap_err();
    assert_eq!(
        err,
        BoundedError::InsufficientRights {
            replica: us,
            asked: 3,
            available: 0
        }
    );
    assert!(err
        .to_string()
        .contains("ask another replica to transfer rights"));
    assert_eq!(stock_us.value(), 10);

    // Rights move by a delta; then the sale succeeds.
    stock_us.join(stock_eu.transfer(eu, us, 5).unwrap());
    let sold_us = stock_us.dec(us, 3).unwrap();
    // Concurrently the EU sells all it may, and no more.
    let sold_eu = stock_eu.dec(eu, 5).unwrap();
    assert!(matches!(
        stock_eu.dec(eu, 1),
        Err(BoundedError::InsufficientRights { available: 0, .. })
    ));
    stock_eu.join(sold_us);
    stock_us.join(sold_eu);
    assert_eq!(stock_eu, stock_us);
    assert_eq!(stock_eu.value(), 2);
    assert_eq!(
        (stock_eu.local_rights(eu), stock_eu.local_rights(us)),
        (0, 2)
    );
    // Even together, the regions cannot sell a third unit.
    assert!(stock_us.dec(us, 3).is_err());
    let _ = stock_us.dec(us, 2).unwrap();
    assert_eq!(stock_us.value(), 0);
}

#[test]
fn a_view_that_lacks_what_funded_a_decrement_can_show_less_than_zero() {
    // Documented behaviour, not a failure of the guarantee: the decrement was within the
    // rights of its replica, but this view received it before the transfer and the increment
    // that funded it. The missing deltas (or one catch-up) restore a non-negative value.
    let (a, b) = (ReplicaId(1), ReplicaId(2));
    let mut x = BoundedCounter::new();
    let inc = x.inc(a, 5).unwrap();
    let transfer = x.transfer(a, b, 5).unwrap();
    let mut y = x.clone();
    let sale = y.dec(b, 5).unwrap();
    let mut view = BoundedCounter::new();
    view.join(sale);
    assert_eq!((view.value(), view.local_rights(b)), (-5, -5));
    view.join(transfer);
    assert_eq!(
        (view.value(), view.local_rights(a), view.local_rights(b)),
        (-5, -5, 0)
    );
    view.join(inc);
    assert_eq!((view.value(), view.local_rights(a)), (0, 0));
    assert_eq!(view, y);
}

#[test]
fn refused_operations_change_nothing() {
    let (a, b) = (ReplicaId(1), ReplicaId(2));
    let mut c = BoundedCounter::new();
    let _ = c.inc(a, 4).unwrap();
    let before = c.clone();
    let refusals = [
        c.dec(a, 5).unwrap_err(),
        c.dec(b, 1).unwrap_err(),
        c.transfer(a, b, 5).unwrap_err(),
        c.transfer(a, a, 1).unwrap_err(),
        c.transfer(b, b, 0).unwrap_err(),
    ];
    assert_eq!(c, before);
    assert_eq!(
        refusals,
        [
            BoundedError::InsufficientRights {
                replica: a,
                asked: 5,
                available: 4
            },
            BoundedError::InsufficientRights {
                replica: b,
                asked: 1,
                available: 0
            },
            BoundedError::InsufficientRights {
                replica: a,
                asked: 5,
                available: 4
            },
            BoundedError::TransferToSelf { replica: a },
            BoundedError::TransferToSelf { replica: b },
        ]
    );
    assert_eq!(
        refusals[3].to_string(),
        "replica 0000000000000001 cannot transfer rights to itself"
    );
    // Zero amounts are no-ops with empty deltas.
    assert!(c.inc(a, 0).unwrap().is_bottom());
    assert!(c.dec(b, 0).unwrap().is_bottom());
    assert!(c.transfer(b, a, 0).unwrap().is_bottom());
    assert_eq!(c, before);
}

#[test]
fn overflow_is_refused_and_changes_nothing() {
    let (a, b) = (ReplicaId(1), ReplicaId(2));
    let mut c = BoundedCounter::new();
    let _ = c.inc(a, u64::MAX).unwrap();
    let _ = c.inc(b, u64::MAX).unwrap();
    let _ = c.transfer(b, a, u64::MAX).unwrap();
    let before = c.clone();
    let overflow = |current, increment| {
        BoundedError::Overflow(CounterOverflow {
            replica: a,
            current,
            increment,
        })
    };
    assert_eq!(c.inc(a, 1).unwrap_err(), overflow(u64::MAX, 1));
    // Twice u64::MAX of rights, but one replica's decrements are a u64.
    assert_eq!(c.local_rights(a), 2 * i128::from(u64::MAX));
    let _ = c.dec(a, u64::MAX).unwrap();
    let after_dec = c.clone();
    assert_eq!(c.dec(a, 1).unwrap_err(), overflow(u64::MAX, 1));
    assert_eq!(c, after_dec);
    let _ = c.transfer(a, b, u64::MAX - 1).unwrap();
    assert_eq!(c.local_rights(a), 1);
    assert_ne!(c, before);
    let mut d = before.clone();
    let _ = d.transfer(a, b, u64::MAX).unwrap();
    // b's transfers to a are at u64::MAX.
    assert!(matches!(
        d.transfer(b, a, 1),
        Err(BoundedError::Overflow(CounterOverflow { replica, current: u64::MAX, increment: 1 })) if replica == b
    ));
    assert_eq!(d.value(), 2 * i128::from(u64::MAX));
    let err = c.inc(a, 1).unwrap_err();
    assert!(err.to_string().contains("counter overflow"));
}

/// The bytes `delta_since` sends after one operation at a replica of a well-used counter.
fn catch_up_bytes_after(op: impl Fn(&mut BoundedCounter) -> BoundedCounter) -> (usize, usize) {
    let mut rng = SplitMix(3);
    let mut c = BoundedCounter::new();
    for i in 0..8 {
        let _ = c.inc(rid(i), 1_000_000).unwrap();
    }
    for _ in 0..200 {
        let (a, b) = (rng.below(8), rng.below(8));
        let n = 1 + rng.below(1000) as u64;
        let _ = c.dec(rid(a), n);
        let _ = c.transfer(rid(a), rid(b), n);
    }
    let peer = c.clone();
    let delta = op(&mut c);
    let catch_up = c.delta_since(&peer.version());
    assert_eq!(
        catch_up, delta,
        "catch-up after one operation is that operation's delta"
    );
    (catch_up.to_bytes().len(), c.to_bytes().len())
}

#[test]
fn catch_up_after_one_operation_is_small() {
    let (dec, full) = catch_up_bytes_after(|c| c.dec(rid(3), 7).unwrap());
    let (inc, _) = catch_up_bytes_after(|c| c.inc(rid(5), 7).unwrap());
    let (transfer, _) = catch_up_bytes_after(|c| c.transfer(rid(1), rid(6), 7).unwrap());
    // Header 2, three counts 3, one 8-byte id with a total of at most 4 bytes for a replica
    // total; a transfer adds the receiver's group header and id.
    assert!(dec <= 17 && inc <= 17, "{dec} / {inc} bytes");
    assert!(transfer <= 27, "{transfer} bytes");
    assert!(full > 20 * transfer, "the full state is {full} bytes");
    eprintln!("catch-up after one op: dec {dec} B, inc {inc} B, transfer {transfer} B; full state {full} B");
}

#[test]
fn claims_unissued_catches_forged_own_entries() {
    let (me, peer) = (ReplicaId(1), ReplicaId(2));
    let mut mine = BoundedCounter::new();
    let _ = mine.inc(me, 10).unwrap();
    let _ = mine.transfer(me, peer, 3).unwrap();
    let mut theirs = mine.clone();
    let _ = theirs.inc(peer, 4).unwrap();
    let _ = theirs.transfer(peer, me, 4).unwrap();
    // What the peer did with its own id, including transfers to us, is its own.
    assert!(!theirs.claims_unissued(&mine, me));
    for forge in [
        |c: &mut BoundedCounter| c.inc(ReplicaId(1), 1),
        |c: &mut BoundedCounter| c.dec(ReplicaId(1), 1),
        |c: &mut BoundedCounter| c.transfer(ReplicaId(1), ReplicaId(2), 1),
        |c: &mut BoundedCounter| c.transfer(ReplicaId(1), ReplicaId(9), 1),
    ] {
        let mut forged = theirs.clone();
        let _ = forge(&mut forged).unwrap();
        assert!(forged.claims_unissued(&mine, me), "{forged:?}");
    }
}

#[test]
fn units_count_entries() {
    let (a, b) = (ReplicaId(1), ReplicaId(2));
    let mut c = BoundedCounter::new();
    assert_eq!(c.units(), 0);
    let d = c.inc(a, 100).unwrap();
    assert_eq!(d.units(), 1);
    let _ = c.dec(a, 1).unwrap();
    let _ = c.transfer(a, b, 10).unwrap();
    let _ = c.transfer(a, b, 10).unwrap();
    assert_eq!(c.units(), 3);
}

#[test]
fn delta_mutators_match_the_mutators() {
    let (a, b) = (ReplicaId(1), ReplicaId(2));
    let mut c = BoundedCounter::new();
    let _ = c.inc(a, 9).unwrap();
    type Pure = fn(&BoundedCounter) -> Result<BoundedCounter, BoundedError>;
    type Mutate = fn(&mut BoundedCounter) -> Result<BoundedCounter, BoundedError>;
    let cases: [(Pure, Mutate); 4] = [
        (|c| c.inc_delta(ReplicaId(2), 3), |c| c.inc(ReplicaId(2), 3)),
        (|c| c.dec_delta(ReplicaId(1), 3), |c| c.dec(ReplicaId(1), 3)),
        (
            |c| c.dec_delta(ReplicaId(1), 30),
            |c| c.dec(ReplicaId(1), 30),
        ),
        (
            |c| c.transfer_delta(ReplicaId(1), ReplicaId(2), 4),
            |c| c.transfer(ReplicaId(1), ReplicaId(2), 4),
        ),
    ];
    for (pure, mutate) in cases {
        let expected = pure(&c);
        let before = c.clone();
        let got = mutate(&mut c);
        assert_eq!(got, expected);
        // m(x) = x ⊔ mδ(x)
        match got {
            Ok(d) => assert_eq!(c, before.joined(&d)),
            Err(_) => assert_eq!(c, before),
        }
    }
    assert_eq!(c.transferred(a, b), 4);
    assert_eq!(c.transfers().collect::<Vec<_>>(), [(a, b, 4)]);
    assert_eq!(c.replicas().collect::<Vec<_>>(), [a, b]);
    assert_eq!((c.increments().get(b), c.decrements().get(a)), (3, 3));
}
