//! Hand-written schedules with known outcomes, so the harness is shown to drive the types
//! into the cases the models are about (and the models to agree with the textbook answers).

use deltacrdt::{DeltaCrdt, Lattice};
use deltacrdt_fuzz::convergence::{Sim, Step};
use deltacrdt_fuzz::model::{
    Amount, BoundedModel, BoundedOp, CounterOp, GCounterModel, LwwModel, LwwOp, MvModel, MvOp,
    ORSetModel, PNCounterModel, PnOp, SetOp, REPLICAS,
};

fn op<O>(at: u8, op: O) -> Step<O> {
    Step::Op { at, op }
}

fn deliver<O>(msg: u8) -> Step<O> {
    Step::Deliver { msg, keep: false }
}

#[test]
fn orset_concurrent_add_survives_a_remove_that_did_not_see_it() {
    let steps = vec![
        op(0, SetOp::Add(1)),
        deliver(0),              // 0 -> 1: replica 1 sees the add
        Step::Drop { msg: 0 },   // 0 -> 2 is lost
        op(1, SetOp::Remove(1)), // observed the first add
        op(2, SetOp::Add(1)),    // concurrent with the remove
        op(0, SetOp::AddAll(vec![2, 3, 2])),
        op(1, SetOp::Remove(3)), // did not see 3: no effect on it
        Step::CatchUp { from: 2, to: 1 },
    ];
    let s = Sim::<ORSetModel>::default().run(&steps);
    assert_eq!(s.iter().copied().collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(
        s.dots_of(&1).len(),
        1,
        "the observed add's dot is gone, the concurrent one stays"
    );
}

#[test]
fn orset_remove_that_saw_every_add_wins() {
    let steps = vec![
        op(0, SetOp::Add(4)),
        op(1, SetOp::Add(4)),
        Step::CatchUp { from: 0, to: 2 },
        Step::CatchUp { from: 1, to: 2 },
        op(2, SetOp::Clear),
        Step::Group { a: 0, b: 1 },
    ];
    let s = Sim::<ORSetModel>::default().run(&steps);
    assert!(s.is_empty());
    assert_eq!(s.context().dot_count(), 2);
}

#[test]
fn mv_register_keeps_concurrent_writes_until_one_sees_them() {
    let concurrent = vec![
        op(0, MvOp::Write(1)),
        op(1, MvOp::Write(2)),
        op(2, MvOp::Write(3)),
    ];
    let s = Sim::<MvModel>::default().run(&concurrent);
    // In dot order: replica 2, then 0x0101, then u64::MAX.
    assert_eq!(s.values().copied().collect::<Vec<_>>(), vec![2, 1, 3]);

    let mut resolved = concurrent;
    resolved.push(Step::CatchUp { from: 0, to: 1 });
    resolved.push(Step::CatchUp { from: 2, to: 1 });
    resolved.push(op(1, MvOp::Write(9)));
    let s = Sim::<MvModel>::default().run(&resolved);
    assert_eq!(s.siblings(), &[(deltacrdt::Dot::new(REPLICAS[1], 2), 9)]);
}

#[test]
fn lww_register_breaks_timestamp_ties_by_replica_then_value() {
    let set = |ms, value| LwwOp::Set {
        ms,
        logical: 0,
        value,
    };
    let steps = vec![
        op(0, set(5, 1)),
        op(1, set(5, 2)),
        op(2, set(4, 3)),
        op(0, set(5, 7)),
    ];
    let s = Sim::<LwwModel>::default().run(&steps);
    // Replica ids: 0x0101, 2, u64::MAX; at timestamp 5 replica 0x0101 beats replica 2, and
    // its two writes under one stamp resolve to the greater value.
    assert_eq!(s.value(), Some(&"v7".to_string()));
    assert_eq!(s.entry().unwrap().replica, REPLICAS[0]);
}

#[test]
fn counters_sum_every_replica_and_refuse_overflow() {
    let steps = vec![
        op(0, CounterOp::Inc(Amount::Small(5))),
        op(1, CounterOp::Inc(Amount::Any(u64::MAX - 1))),
        op(1, CounterOp::Inc(Amount::Small(2))), // refused: would pass u64::MAX
        op(1, CounterOp::Inc(Amount::Small(1))),
        op(2, CounterOp::Inc(Amount::Small(0))), // an empty delta
    ];
    let g = Sim::<GCounterModel>::default().run(&steps);
    assert_eq!(g.value(), u128::from(u64::MAX) + 5);
    assert_eq!(g.value_u64(), None);

    let steps = vec![
        op(0, PnOp::Inc(Amount::Small(10))),
        op(1, PnOp::Add(-25)),
        op(2, PnOp::Dec(Amount::Small(1))),
    ];
    let p = Sim::<PNCounterModel>::default().run(&steps);
    assert_eq!(p.value(), -16);
    assert!(p.delta_since(&p.version()).is_bottom());
    assert_eq!(p.joined(&p), p);
}

#[test]
fn bounded_counter_refuses_an_oversell_until_rights_arrive() {
    let small = Amount::Small;
    let steps = vec![
        op(0, BoundedOp::Inc(small(10))),
        deliver(0),                      // 0 -> 1: replica 1 sees the stock
        op(1, BoundedOp::Dec(small(3))), // refused: replica 1 holds no rights
        op(0, BoundedOp::Transfer { to: 1, n: small(4) }),
        op(0, BoundedOp::Transfer { to: 0, n: small(1) }), // refused: to itself
        deliver(1), // the transfer reaches replica 1 (the queue is 0->2, 0->1, 0->2)
        op(1, BoundedOp::Dec(small(3))), // now within its rights
        op(0, BoundedOp::Dec(small(6))), // concurrently, all of replica 0's rights
        op(0, BoundedOp::Dec(small(1))), // refused
        Step::Drop { msg: 0 },
        op(2, BoundedOp::Inc(Amount::Any(u64::MAX))),
        op(2, BoundedOp::Inc(small(1))), // refused: overflow
    ];
    let s = Sim::<BoundedModel>::default().run(&steps);
    assert_eq!(s.value(), i128::from(u64::MAX) + 1);
    assert_eq!(s.local_rights(REPLICAS[0]), 0);
    assert_eq!(s.local_rights(REPLICAS[1]), 1);
    assert_eq!(s.transferred(REPLICAS[0], REPLICAS[1]), 4);
}
