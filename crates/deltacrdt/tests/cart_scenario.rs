//! The cart case study (`examples/cart`): its story under many network seeds, and the laws of
//! its carts document (`ORMap<user, ORMap<sku, CartLine>>` with the example's own value type)
//! under random histories.

#[path = "../examples/cart/line.rs"]
mod line;
#[path = "../examples/cart/scenario.rs"]
mod scenario;
mod support;

use deltacrdt::codec::Binary;
use deltacrdt::{DeltaCrdt, HybridClock, Lattice};
use quickcheck::{Arbitrary, Gen};

use scenario::Carts;
use support::{join_all, rid, SplitMix, Step, Subject};

#[test]
fn the_story_holds_under_every_network_seed() {
    for seed in 0..40 {
        let outcome = scenario::run(seed);
        assert!(outcome.holds(), "seed {seed}:\n{outcome}");
    }
}

#[test]
fn the_story_ends_with_the_carts_and_stock_it_tells() {
    let outcome = scenario::run(7);
    let lamp = (String::from("lamp"), 2, Some(String::from("red")));
    let tee = (String::from("tee"), 4, None);
    assert_eq!(
        outcome.carts,
        vec![
            (String::from("carol"), vec![lamp]),
            (String::from("frank"), vec![tee]),
        ]
    );
    // sku, units left, rights of eu, us, apac.
    assert_eq!(
        outcome.stock,
        vec![
            (String::from("lamp"), 2, vec![0, 0, 2]),
            (String::from("mug"), 7, vec![6, 0, 1]),
            (String::from("tee"), 5, vec![0, 5, 0]),
        ]
    );
    let text = outcome.to_string();
    assert!(text.contains("checkout of bob's cart REFUSED: mug: insufficient rights"));
    assert!(text.contains("every region now holds: alice: mug x1;"));
    assert!(!text.contains("FAILED"));
}

/// An edit of the carts document by one region: users, SKUs and texts are small numbers.
#[derive(Clone, Debug)]
pub enum CartOp {
    /// Adds `n` units of a SKU to a user's cart.
    Add {
        /// The user.
        user: u8,
        /// The SKU.
        sku: u8,
        /// Units.
        n: u8,
    },
    /// Takes `n` units out.
    Take {
        /// The user.
        user: u8,
        /// The SKU.
        sku: u8,
        /// Units.
        n: u8,
    },
    /// Writes a line's note at a wall time.
    Note {
        /// The user.
        user: u8,
        /// The SKU.
        sku: u8,
        /// The wall time given to the region's clock.
        wall_ms: u8,
        /// Which text.
        text: u8,
    },
    /// Removes a line.
    RemoveLine {
        /// The user.
        user: u8,
        /// The SKU.
        sku: u8,
    },
    /// Removes a user's whole cart (a checkout).
    RemoveCart {
        /// The user.
        user: u8,
    },
    /// Removes every cart seen.
    Clear,
}

impl Arbitrary for CartOp {
    fn arbitrary(g: &mut Gen) -> Self {
        // Few users and SKUs, so edits of one line race across replicas.
        let user = u8::arbitrary(g) % 3;
        let sku = u8::arbitrary(g) % 3;
        let n = u8::arbitrary(g) % 4 + 1;
        match u8::arbitrary(g) % 16 {
            0..=5 => CartOp::Add { user, sku, n },
            6..=7 => CartOp::Take { user, sku, n },
            8..=10 => CartOp::Note {
                user,
                sku,
                wall_ms: u8::arbitrary(g) % 8,
                text: u8::arbitrary(g) % 4,
            },
            11..=13 => CartOp::RemoveLine { user, sku },
            14 => CartOp::RemoveCart { user },
            _ => CartOp::Clear,
        }
    }
}

fn user(u: u8) -> String {
    format!("user-{u}")
}

fn sku(s: u8) -> String {
    format!("sku-{s}")
}

impl Subject for Carts {
    type Op = CartOp;

    fn apply(&mut self, i: usize, clock: &mut HybridClock, op: &CartOp) -> Self {
        let me = rid(i);
        match *op {
            CartOp::Add { user: u, sku: s, n } => self
                .try_update(user(u), |c| c.try_update(sku(s), |l| l.add(me, n.into())))
                .unwrap(),
            CartOp::Take { user: u, sku: s, n } => self
                .try_update(user(u), |c| c.try_update(sku(s), |l| l.take(me, n.into())))
                .unwrap(),
            CartOp::Note {
                user: u,
                sku: s,
                wall_ms,
                text,
            } => {
                let t = clock.now(wall_ms.into()).unwrap();
                let text = format!("note-{text}");
                self.try_update(user(u), |c| {
                    c.try_update(sku(s), |l| l.set_note(me, t, &text))
                })
                .unwrap()
            }
            CartOp::RemoveLine { user: u, sku: s } => {
                self.update(user(u), |c| c.remove(sku(s).as_str()))
            }
            CartOp::RemoveCart { user: u } => self.remove(user(u).as_str()),
            CartOp::Clear => self.clear(),
        }
    }
}

fn check(tests: u64, property: impl quickcheck::Testable) {
    quickcheck::QuickCheck::new()
        .tests(tests)
        .max_tests(tests * 10)
        .quickcheck(property);
}

// `support::run` itself checks, after every operation, that the delta inflates the state and
// that state = state before ⊔ delta.

#[test]
fn carts_join_is_idempotent_commutative_and_associative() {
    fn prop(steps: Vec<Step<CartOp>>) -> bool {
        let w = support::run::<Carts>(&steps);
        let [a, b, c] = [0, 1, 2].map(|i| w.replicas[i].clone());
        a.joined(&a) == a
            && a.joined(&b) == b.joined(&a)
            && a.joined(&b).joined(&c) == a.joined(&b.joined(&c))
    }
    check(300, prop as fn(Vec<Step<CartOp>>) -> bool);
}

#[test]
fn carts_deltas_in_any_order_with_duplicates_give_the_join_of_the_states() {
    fn prop(steps: Vec<Step<CartOp>>, seed: u64) -> bool {
        let w = support::run::<Carts>(&steps);
        let mut deltas: Vec<Carts> = w.deltas.iter().map(|(_, d)| d.clone()).collect();
        deltas.extend(w.deltas.iter().step_by(3).map(|(_, d)| d.clone()));
        let mut rng = SplitMix(seed);
        for i in (1..deltas.len()).rev() {
            deltas.swap(i, rng.below(i + 1));
        }
        join_all(deltas) == join_all(w.replicas)
    }
    check(300, prop as fn(Vec<Step<CartOp>>, u64) -> bool);
}

#[test]
fn carts_delta_since_brings_a_replica_up_to_date() {
    fn prop(steps: Vec<Step<CartOp>>) -> bool {
        let w = support::run::<Carts>(&steps);
        (0..3).all(|i| {
            (0..3).all(|j| {
                let (a, b) = (&w.replicas[i], &w.replicas[j]);
                let d = a.delta_since(&b.version());
                b.joined(&d) == b.joined(a)
            })
        })
    }
    check(300, prop as fn(Vec<Step<CartOp>>) -> bool);
}

#[test]
fn carts_encoding_round_trips_and_corruption_never_panics() {
    fn prop(steps: Vec<Step<CartOp>>, flips: Vec<(usize, u8)>) -> bool {
        let w = support::run::<Carts>(&steps);
        w.replicas.iter().all(|s| {
            let bytes = s.to_bytes();
            let mut bad = bytes.clone();
            for &(at, x) in &flips {
                let n = bad.len();
                bad[at % n] ^= x;
            }
            // A corrupted input decodes to an error or to some value; it never panics, and
            // what it decodes to encodes back to the same bytes (canonical).
            let canonical = Carts::from_bytes(&bad).map_or(true, |v| v.to_bytes() == bad);
            Carts::from_bytes(&bytes).as_ref() == Ok(s) && canonical
        })
    }
    check(300, prop as fn(Vec<Step<CartOp>>, Vec<(usize, u8)>) -> bool);
}

#[test]
fn a_remove_concurrent_with_a_plus_one_leaves_quantity_one_and_the_concurrent_note() {
    let (eu, us) = (rid(0), rid(1));
    let mut clock = HybridClock::new();
    let mut x = Carts::new();
    let _ = x
        .try_update(user(0), |c| c.try_update(sku(0), |l| l.add(eu, 2)))
        .unwrap();
    let t = clock.now(1).unwrap();
    let _ = x
        .try_update(user(0), |c| {
            c.try_update(sku(0), |l| l.set_note(eu, t, "a"))
        })
        .unwrap();
    let mut y = x.clone();
    let dx = x.update(user(0), |c| c.remove(sku(0).as_str()));
    let t = clock.now(2).unwrap();
    let dy = y
        .try_update(user(0), |c| {
            c.try_update(sku(0), |l| {
                let mut d = l.add(us, 1)?;
                d.join(l.set_note(us, t, "b")?);
                Ok::<_, deltacrdt::DotsExhausted>(d)
            })
        })
        .unwrap();
    x.join(dy);
    y.join(dx);
    assert_eq!(x, y);
    let line = x.get(&user(0)).unwrap().get(&sku(0)).unwrap();
    assert_eq!((line.quantity(), line.note()), (1, Some("b")));
}
