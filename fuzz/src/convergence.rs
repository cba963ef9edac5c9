//! Operation sequences on three replicas under an arbitrary delivery schedule.
//!
//! Each operation's delta is queued for the two other replicas. The schedule delivers queued
//! messages in any order, duplicates or drops them, joins two queued deltas for the same
//! replica into a delta group, ships full states, and runs digest catch-up (`version()` one
//! way, `delta_since` back). Every message goes through the binary codec. After every step
//! the receiving replica is checked against the reference model ([`crate::model`]); at the end
//! a full catch-up between all pairs must make the replicas equal and equal to the model of
//! all events.

use std::fmt::Debug;

use arbitrary::Arbitrary;
use deltacrdt::{DeltaCrdt, Lattice};

use crate::model::{
    bit, BoundedModel, Events, GCounterModel, History, LwwModel, MapModel, Model, MvModel,
    ORSetModel, PNCounterModel, Record, MAX_EVENTS,
};
use crate::wire::through_wire;

/// One step of a schedule. Indices are taken modulo the number of replicas or messages.
#[derive(Arbitrary, Debug)]
pub enum Step<Op> {
    /// Replica `at` performs `op`; its delta is queued for both other replicas.
    Op {
        /// The replica.
        at: u8,
        /// The operation.
        op: Op,
    },
    /// Delivers queued message `msg`; with `keep`, a copy stays queued (a duplicate).
    Deliver {
        /// Which queued message.
        msg: u8,
        /// Whether to deliver it again later.
        keep: bool,
    },
    /// Loses queued message `msg`.
    Drop {
        /// Which queued message.
        msg: u8,
    },
    /// Joins queued message `b` into `a` (a delta group) if both go to the same replica.
    Group {
        /// The message that absorbs the other.
        a: u8,
        /// The message absorbed.
        b: u8,
    },
    /// `to` sends its version to `from`, which answers with `delta_since`.
    CatchUp {
        /// The replica that answers.
        from: u8,
        /// The replica that catches up.
        to: u8,
    },
    /// Queues the full state of `from` for `to`.
    SendState {
        /// The sender.
        from: u8,
        /// The receiver.
        to: u8,
    },
}

/// A scenario: one type and a schedule of steps on it.
#[derive(Arbitrary, Debug)]
pub enum Scenario {
    /// [`deltacrdt::GCounter`].
    GCounter(Vec<Step<<GCounterModel as Model>::Op>>),
    /// [`deltacrdt::PNCounter`].
    PNCounter(Vec<Step<<PNCounterModel as Model>::Op>>),
    /// [`deltacrdt::ORSet`].
    ORSet(Vec<Step<<ORSetModel as Model>::Op>>),
    /// [`deltacrdt::MVRegister`].
    MVRegister(Vec<Step<<MvModel as Model>::Op>>),
    /// [`deltacrdt::LWWRegister`].
    LWWRegister(Vec<Step<<LwwModel as Model>::Op>>),
    /// [`deltacrdt::BoundedCounter`].
    BoundedCounter(Vec<Step<<BoundedModel as Model>::Op>>),
    /// [`deltacrdt::ORMap`] of [`deltacrdt::CausalCounter`]s.
    ORMap(Vec<Step<<MapModel as Model>::Op>>),
}

/// Runs a scenario; panics on any divergence from the model or failure to converge.
pub fn run(scenario: &Scenario) {
    match scenario {
        Scenario::GCounter(s) => drop(Sim::<GCounterModel>::default().run(s)),
        Scenario::PNCounter(s) => drop(Sim::<PNCounterModel>::default().run(s)),
        Scenario::ORSet(s) => drop(Sim::<ORSetModel>::default().run(s)),
        Scenario::MVRegister(s) => drop(Sim::<MvModel>::default().run(s)),
        Scenario::LWWRegister(s) => drop(Sim::<LwwModel>::default().run(s)),
        Scenario::BoundedCounter(s) => drop(Sim::<BoundedModel>::default().run(s)),
        Scenario::ORMap(s) => drop(Sim::<MapModel>::default().run(s)),
    }
}

/// A queued message: a delta (or state) for one replica, and the events it carries.
#[derive(Clone, Debug)]
struct Msg<S> {
    to: usize,
    delta: S,
    events: Events,
}

/// Three replicas, their knowledge, the event history and the message queue.
pub struct Sim<M: Model> {
    states: [M::State; 3],
    locals: [M::Local; 3],
    known: [Events; 3],
    history: History<M::Event>,
    queue: Vec<Msg<M::State>>,
}

impl<M: Model> Default for Sim<M> {
    fn default() -> Self {
        Sim {
            states: Default::default(),
            locals: Default::default(),
            known: [0; 3],
            history: History::default(),
            queue: Vec::new(),
        }
    }
}

/// The most events one operation makes (an `add_all` of four elements).
const MAX_EVENTS_PER_OP: usize = 4;

impl<M: Model> Sim<M> {
    /// Runs `steps`, then a full catch-up, checking the model throughout; returns the state
    /// the replicas converged to.
    pub fn run(mut self, steps: &[Step<M::Op>]) -> M::State {
        for step in steps {
            self.step(step);
        }
        self.finish()
    }

    fn step(&mut self, step: &Step<M::Op>) {
        match *step {
            Step::Op { at, ref op } => self.operate(usize::from(at) % 3, op),
            Step::Deliver { msg, keep } => {
                if !self.queue.is_empty() {
                    let i = usize::from(msg) % self.queue.len();
                    let m = if keep {
                        self.queue[i].clone()
                    } else {
                        self.queue.remove(i)
                    };
                    self.receive(m.to, &m.delta, m.events);
                }
            }
            Step::Drop { msg } => {
                if !self.queue.is_empty() {
                    let i = usize::from(msg) % self.queue.len();
                    self.queue.remove(i);
                }
            }
            Step::Group { a, b } => {
                if !self.queue.is_empty() {
                    let (a, b) = (
                        usize::from(a) % self.queue.len(),
                        usize::from(b) % self.queue.len(),
                    );
                    if a != b && self.queue[a].to == self.queue[b].to {
                        let m = self.queue.remove(b);
                        let a = if b < a { a - 1 } else { a };
                        self.queue[a].delta.join(m.delta);
                        self.queue[a].events |= m.events;
                    }
                }
            }
            Step::CatchUp { from, to } => self.catch_up(usize::from(from) % 3, usize::from(to) % 3),
            Step::SendState { from, to } => {
                let (from, to) = (usize::from(from) % 3, usize::from(to) % 3);
                if from != to {
                    self.queue.push(Msg {
                        to,
                        delta: self.states[from].clone(),
                        events: self.known[from],
                    });
                }
            }
        }
    }

    fn operate(&mut self, at: usize, op: &M::Op) {
        if self.history.records.len() + MAX_EVENTS_PER_OP > MAX_EVENTS {
            return;
        }
        let (delta, events) = M::apply(
            &mut self.states[at],
            &mut self.locals[at],
            at,
            op,
            &self.history,
            self.known[at],
        );
        assert!(events.len() <= MAX_EVENTS_PER_OP);
        let mut carried: Events = 0;
        for event in events {
            let i = self.history.records.len();
            self.history.records.push(Record {
                origin: at,
                observed: self.known[at],
                event,
            });
            self.known[at] |= bit(i);
            carried |= bit(i);
        }
        assert!(
            delta.leq(&self.states[at]),
            "a delta is not included in the state it came from"
        );
        self.check(at);
        if carried != 0 {
            for to in (0..3).filter(|&j| j != at) {
                self.queue.push(Msg {
                    to,
                    delta: delta.clone(),
                    events: carried,
                });
            }
        }
    }

    /// Joins `delta` (sent over the wire) into replica `to`, which now knows `events`.
    fn receive(&mut self, to: usize, delta: &M::State, events: Events) {
        let delta = through_wire(delta);
        let before = self.states[to].clone();
        let changed = self.states[to].join(delta);
        assert_eq!(
            changed,
            self.states[to] != before,
            "join's return value is wrong"
        );
        self.known[to] |= events;
        self.check(to);
    }

    fn catch_up(&mut self, from: usize, to: usize) {
        if from == to {
            return;
        }
        let version = through_wire(&self.states[to].version());
        let delta = self.states[from].delta_since(&version);
        assert!(
            delta.leq(&self.states[from]),
            "delta_since is not included in the sender's state"
        );
        assert!(
            M::store_is_new(&delta, &version),
            "delta_since sends store entries the receiver has seen: {delta:?}"
        );
        let expected = self.states[to].joined(&self.states[from]);
        self.receive(to, &delta, self.known[from]);
        assert_eq!(
            self.states[to], expected,
            "b ⊔ a.delta_since(b.version()) != b ⊔ a"
        );
    }

    fn check(&self, at: usize) {
        let known = self.known[at];
        M::check(
            &self.states[at],
            &self.history,
            known,
            self.history.is_closed(known),
        );
    }

    fn finish(mut self) -> M::State {
        for _ in 0..2 {
            for to in 0..3 {
                for from in 0..3 {
                    self.catch_up(from, to);
                }
            }
        }
        let all: Events = if self.history.records.len() == MAX_EVENTS {
            Events::MAX
        } else {
            bit(self.history.records.len()) - 1
        };
        for i in 0..3 {
            assert_eq!(self.known[i], all);
            assert_eq!(
                self.states[i], self.states[0],
                "replicas differ after a full catch-up"
            );
        }
        M::check(&self.states[0], &self.history, all, true);
        let idle = self.states[0].delta_since(&self.states[1].version());
        assert!(
            idle.is_bottom(),
            "catch-up between equal replicas is not empty: {idle:?}"
        );
        through_wire(&self.states[0])
    }
}

/// Only for the `Debug` bound of the scenario types.
impl<M: Model> Debug for Sim<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim")
            .field("states", &self.states)
            .field("known", &self.known)
            .field("history", &self.history)
            .finish()
    }
}
