//! The scripted story of the cart example, shared with its test (`tests/cart_scenario.rs`).
//!
//! Three regions, each a replica with its own id, hold two kinds of documents: the carts
//! (`ORMap<user, ORMap<sku, CartLine>>`, one document) and the stock (one `BoundedCounter` per
//! SKU, one document each, kept outside the carts because stock is not owned by any cart).
//! Every document of every region runs its own `deltacrdt::sync::Session`; the sessions talk
//! over an in-memory network that loses 20% of packets, duplicates 10% and delivers in a
//! random order, seeded. There is no clock: time is the network's round counter.

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::fmt;

use deltacrdt::prelude::*;
use deltacrdt::sync::{Session, SyncConfig, UpdateError};
use deltacrdt::{BoundedCounter, BoundedError, DotsExhausted};

use crate::line::CartLine;

/// One user's cart: SKU -> line.
pub type Cart = ORMap<String, CartLine>;
/// Every cart: user -> cart.
pub type Carts = ORMap<String, Cart>;

/// The regions, each with its own replica id.
pub const REGIONS: [(&str, ReplicaId); 3] = [
    ("eu", ReplicaId(0x0e01)),
    ("us", ReplicaId(0x0a02)),
    ("apac", ReplicaId(0x0c03)),
];
const EU: usize = 0;
const US: usize = 1;
const APAC: usize = 2;

/// The products, each with its own stock document.
pub const SKUS: [&str; 3] = ["lamp", "mug", "tee"];

/// A network round is 100 time units; note timestamps are taken from it.
const ROUND_MS: u64 = 100;
/// The most rounds a region pair may take to agree before the story gives up.
const MAX_SETTLE_ROUNDS: u64 = 300;

/// A tiny deterministic PRNG (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Which document a packet belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Doc {
    Carts,
    Stock(usize),
}

struct Packet {
    doc: Doc,
    from: usize,
    to: usize,
    bytes: Vec<u8>,
}

/// Traffic counters of the in-memory network.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetStats {
    /// Packets handed to the network.
    pub sent: u64,
    /// Bytes handed to the network.
    pub bytes: u64,
    /// Packets lost at random.
    pub lost: u64,
    /// Packets delivered twice.
    pub duplicated: u64,
    /// Packets dropped because they crossed the partition.
    pub cut: u64,
}

/// A lossy, duplicating, reordering network, with an optional partition.
struct Net {
    rng: Rng,
    in_flight: Vec<Packet>,
    /// The side of each region while partitioned.
    partition: Option<[u8; REGIONS.len()]>,
    stats: NetStats,
}

impl Net {
    fn connected(&self, a: usize, b: usize) -> bool {
        self.partition.is_none_or(|side| side[a] == side[b])
    }

    fn send(&mut self, doc: Doc, from: usize, to: usize, bytes: Vec<u8>) {
        self.stats.sent += 1;
        self.stats.bytes += bytes.len() as u64;
        if !self.connected(from, to) {
            self.stats.cut += 1;
            return;
        }
        match self.rng.below(10) {
            0 | 1 => self.stats.lost += 1,
            2 => {
                self.stats.duplicated += 1;
                let copy = Packet {
                    doc,
                    from,
                    to,
                    bytes: bytes.clone(),
                };
                self.in_flight.push(copy);
                self.in_flight.push(Packet {
                    doc,
                    from,
                    to,
                    bytes,
                });
            }
            _ => self.in_flight.push(Packet {
                doc,
                from,
                to,
                bytes,
            }),
        }
    }
}

/// A region: its replica id, its clock for note timestamps, and one sync session per document.
struct Region {
    name: &'static str,
    id: ReplicaId,
    clock: HybridClock,
    carts: Session<Carts>,
    stock: Vec<Session<BoundedCounter>>,
}

/// A checkout refused because a region holds too few rights on a SKU's stock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Oversell {
    /// The SKU short of rights.
    pub sku: String,
    /// The stock counter's refusal.
    pub error: BoundedError,
}

impl fmt::Display for Oversell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.sku, self.error)
    }
}

/// A cart line as read: SKU, quantity, note.
pub type LineView = (String, u64, Option<String>);

/// What the story shows, and what it must show.
pub struct Outcome {
    /// The story as it happened, one line per event.
    pub log: Vec<String>,
    /// The converged carts: user -> lines.
    pub carts: Vec<(String, Vec<LineView>)>,
    /// The converged stock: (sku, value, rights of each region).
    pub stock: Vec<(String, i128, Vec<i128>)>,
    /// The encoded size of the converged carts.
    pub carts_bytes: usize,
    /// Network traffic.
    pub net: NetStats,
    /// Network rounds run.
    pub rounds: u64,
    /// The facts the story checks, each with whether it holds.
    pub facts: Vec<(String, bool)>,
}

impl Outcome {
    /// Whether every fact holds.
    pub fn holds(&self) -> bool {
        self.facts.iter().all(|(_, ok)| *ok)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for line in &self.log {
            writeln!(f, "{line}")?;
        }
        writeln!(f, "\nconverged carts (every region):")?;
        for (user, lines) in &self.carts {
            let items: Vec<String> = lines
                .iter()
                .map(|(sku, q, note)| match note {
                    Some(n) => format!("{sku} x{q} ({n:?})"),
                    None => format!("{sku} x{q}"),
                })
                .collect();
            writeln!(f, "  {user:<6} {}", items.join(", "))?;
        }
        let names: Vec<String> = REGIONS.iter().map(|(n, _)| format!("{n:>5}")).collect();
        writeln!(
            f,
            "converged stock (every region):\n  sku    left  rights {}",
            names.join(" ")
        )?;
        for (sku, value, rights) in &self.stock {
            let r: Vec<String> = rights.iter().map(|x| format!("{x:>5}")).collect();
            writeln!(f, "  {sku:<6} {value:>4}         {}", r.join(" "))?;
        }
        writeln!(
            f,
            "network: {} packets ({} bytes) in {} rounds, {} lost, {} duplicated, {} cut by the partition; carts document {} bytes",
            self.net.sent,
            self.net.bytes,
            self.rounds,
            self.net.lost,
            self.net.duplicated,
            self.net.cut,
            self.carts_bytes
        )?;
        writeln!(f, "\nfacts:")?;
        for (fact, ok) in &self.facts {
            writeln!(f, "  [{}] {fact}", if *ok { "ok" } else { "FAILED" })?;
        }
        Ok(())
    }
}

/// The regions, the network and what the story has seen so far.
struct World {
    regions: Vec<Region>,
    net: Net,
    round: u64,
    log: Vec<String>,
    lowest_own_rights: i128,
    lowest_stock_value: i128,
}

impl World {
    fn new(seed: u64) -> World {
        let ids: BTreeSet<ReplicaId> = REGIONS.iter().map(|(_, id)| *id).collect();
        assert_eq!(
            ids.len(),
            REGIONS.len(),
            "every region has its own replica id"
        );
        let regions = REGIONS
            .iter()
            .map(|&(name, id)| {
                let mut carts = Session::new(id, 1, Carts::new(), SyncConfig::default());
                let mut stock: Vec<_> = SKUS
                    .iter()
                    .map(|_| Session::new(id, 1, BoundedCounter::new(), SyncConfig::default()))
                    .collect();
                for &(_, peer) in REGIONS.iter().filter(|(_, p)| *p != id) {
                    carts.add_neighbour(peer);
                    for s in &mut stock {
                        s.add_neighbour(peer);
                    }
                }
                Region {
                    name,
                    id,
                    clock: HybridClock::new(),
                    carts,
                    stock,
                }
            })
            .collect();
        World {
            regions,
            net: Net {
                rng: Rng(seed),
                in_flight: Vec::new(),
                partition: None,
                stats: NetStats::default(),
            },
            round: 0,
            log: Vec::new(),
            lowest_own_rights: 0,
            lowest_stock_value: 0,
        }
    }

    fn say(&mut self, line: String) {
        self.log.push(line);
    }

    fn sku(name: &str) -> usize {
        SKUS.iter()
            .position(|s| *s == name)
            .expect("the story uses known SKUs")
    }

    fn index_of(id: ReplicaId) -> usize {
        REGIONS
            .iter()
            .position(|(_, r)| *r == id)
            .expect("packets come from known regions")
    }

    /// Records the stock invariants of every region's own view.
    fn watch_stock(&mut self) {
        for r in &self.regions {
            for s in &r.stock {
                self.lowest_own_rights = self.lowest_own_rights.min(s.state().local_rights(r.id));
                self.lowest_stock_value = self.lowest_stock_value.min(s.state().value());
            }
        }
    }

    /// One network round: every session ticks and sends; then everything in flight is
    /// delivered in a random order (replies wait for the next round).
    fn round(&mut self) {
        self.round += 1;
        for (i, r) in self.regions.iter_mut().enumerate() {
            r.carts.tick();
            while let Some(t) = r.carts.poll_transmit() {
                self.net.send(Doc::Carts, i, Self::index_of(t.to), t.bytes);
            }
            for (k, s) in r.stock.iter_mut().enumerate() {
                s.tick();
                while let Some(t) = s.poll_transmit() {
                    self.net
                        .send(Doc::Stock(k), i, Self::index_of(t.to), t.bytes);
                }
            }
        }
        let mut batch = std::mem::take(&mut self.net.in_flight);
        while !batch.is_empty() {
            let p = batch.swap_remove(self.net.rng.below(batch.len()));
            let from = self.regions[p.from].id;
            let to = &mut self.regions[p.to];
            match p.doc {
                Doc::Carts => {
                    to.carts
                        .handle_message(from, &p.bytes)
                        .expect("sessions only send well-formed messages");
                    while let Some(t) = to.carts.poll_transmit() {
                        self.net.send(p.doc, p.to, Self::index_of(t.to), t.bytes);
                    }
                }
                Doc::Stock(k) => {
                    to.stock[k]
                        .handle_message(from, &p.bytes)
                        .expect("sessions only send well-formed messages");
                    while let Some(t) = to.stock[k].poll_transmit() {
                        self.net.send(p.doc, p.to, Self::index_of(t.to), t.bytes);
                    }
                }
            }
            self.watch_stock();
        }
    }

    /// Whether every pair of regions that can reach each other holds the same documents.
    fn agreed(&self) -> bool {
        let n = self.regions.len();
        (0..n).all(|a| {
            (a + 1..n).all(|b| {
                let (x, y) = (&self.regions[a], &self.regions[b]);
                !self.net.connected(a, b)
                    || (x.carts.state() == y.carts.state()
                        && x.stock
                            .iter()
                            .zip(&y.stock)
                            .all(|(s, t)| s.state() == t.state()))
            })
        })
    }

    /// Runs network rounds until every connected pair of regions agrees.
    fn settle(&mut self) {
        let start = self.round;
        while !self.agreed() {
            assert!(
                self.round - start < MAX_SETTLE_ROUNDS,
                "regions did not agree within {MAX_SETTLE_ROUNDS} rounds"
            );
            self.round();
        }
        let rounds = self.round - start;
        let plural = if rounds == 1 { "" } else { "s" };
        self.say(format!(
            "   ... {rounds} network round{plural} later, the regions that can reach each other agree"
        ));
    }

    // ----- what the shops do -----

    fn now(&self) -> u64 {
        self.round * ROUND_MS
    }

    fn restock(&mut self, at: usize, sku: &str, n: u64) {
        let r = &mut self.regions[at];
        let id = r.id;
        r.stock[Self::sku(sku)]
            .update(|s| s.inc(id, n))
            .expect("stock totals stay far from u64::MAX");
        let name = r.name;
        self.say(format!("{name}: the warehouse receives {n} x {sku}"));
        self.watch_stock();
    }

    fn transfer(&mut self, from: usize, to: usize, sku: &str, n: u64) -> Result<(), BoundedError> {
        let receiver = self.regions[to].id;
        let r = &mut self.regions[from];
        let id = r.id;
        r.stock[Self::sku(sku)]
            .update(|s| s.transfer(id, receiver, n))
            .map_err(refused_by_mutator)?;
        let (a, b) = (r.name, self.regions[to].name);
        self.say(format!(
            "{a}: transfers the rights to sell {n} x {sku} to {b}"
        ));
        self.watch_stock();
        Ok(())
    }

    fn edit(
        &mut self,
        at: usize,
        what: String,
        edit: impl FnOnce(&mut Carts, ReplicaId) -> Result<Carts, DotsExhausted>,
    ) {
        let r = &mut self.regions[at];
        let id = r.id;
        r.carts
            .update(|c| edit(c, id))
            .expect("a region never exhausts 2^64 dots");
        let name = r.name;
        self.say(format!("{name}: {what}"));
    }

    fn add(&mut self, at: usize, user: &str, sku: &str, n: u32) {
        let (u, s) = (user.to_owned(), sku.to_owned());
        self.edit(at, format!("{user} adds {n} x {sku}"), |c, me| {
            c.try_update(u, |cart| cart.try_update(s, |line| line.add(me, n)))
        });
    }

    fn take(&mut self, at: usize, user: &str, sku: &str, n: u32) {
        let (u, s) = (user.to_owned(), sku.to_owned());
        self.edit(at, format!("{user} takes {n} x {sku} out"), |c, me| {
            c.try_update(u, |cart| cart.try_update(s, |line| line.take(me, n)))
        });
    }

    fn note(&mut self, at: usize, user: &str, sku: &str, text: &str) {
        let now = self.now();
        let stamp = self.regions[at]
            .clock
            .now(now)
            .expect("a simulated clock never runs out");
        let (u, s) = (user.to_owned(), sku.to_owned());
        self.edit(
            at,
            format!("{user} notes {text:?} on the {sku} (time {now})"),
            |c, me| {
                c.try_update(u, |cart| {
                    cart.try_update(s, |l| l.set_note(me, stamp, text))
                })
            },
        );
    }

    fn remove_line(&mut self, at: usize, user: &str, sku: &str) {
        let u = user.to_owned();
        self.edit(at, format!("{user} removes the {sku} line"), |c, _| {
            Ok(c.update(u, |cart| cart.remove(sku)))
        });
    }

    /// Sells a user's cart at a region: all lines or none. Each line spends the region's own
    /// rights on its SKU's stock; if any line lacks rights, nothing changes and the refusal is
    /// returned. Then the cart is removed (what the region saw of it: an item added
    /// concurrently elsewhere stays for a later checkout).
    fn checkout(&mut self, at: usize, user: &str) -> Result<Vec<(String, u64)>, Oversell> {
        let r = &mut self.regions[at];
        let id = r.id;
        let lines: Vec<(String, u64)> = r
            .carts
            .state()
            .get(user)
            .map(|cart| {
                cart.iter()
                    .map(|(sku, line)| (sku.clone(), line.quantity()))
                    .filter(|(_, q)| *q > 0)
                    .collect()
            })
            .unwrap_or_default();
        // Check every line first, so a refusal changes nothing.
        for (sku, q) in &lines {
            if let Err(error) = r.stock[Self::sku(sku)].state().dec_delta(id, *q) {
                let refusal = Oversell {
                    sku: sku.clone(),
                    error,
                };
                let name = r.name;
                self.say(format!(
                    "{name}: checkout of {user}'s cart REFUSED: {refusal}"
                ));
                return Err(refusal);
            }
        }
        for (sku, q) in &lines {
            r.stock[Self::sku(sku)]
                .update(|s| s.dec(id, *q))
                .expect("checked just above");
        }
        r.carts
            .update(|c| Ok::<_, Infallible>(c.remove(user)))
            .expect("the story's sessions are never restored, so never recovering");
        let items: Vec<String> = lines.iter().map(|(s, q)| format!("{q} x {s}")).collect();
        let name = r.name;
        self.say(format!(
            "{name}: checkout of {user}'s cart: sold {}",
            items.join(", ")
        ));
        self.watch_stock();
        Ok(lines)
    }

    fn partition(&mut self, side: [u8; REGIONS.len()], what: &str) {
        self.net.partition = Some(side);
        self.say(format!("\n-- partition: {what} --"));
    }

    fn heal(&mut self) {
        self.net.partition = None;
        self.say(String::from("\n-- the partition heals --"));
    }

    /// The carts of a region, on one line.
    fn describe_carts(&self, at: usize) -> String {
        let carts: Vec<String> = self.regions[at]
            .carts
            .state()
            .iter()
            .map(|(user, cart)| {
                let lines: Vec<String> = cart
                    .iter()
                    .map(|(sku, l)| match l.note() {
                        Some(n) => format!("{sku} x{} ({n:?})", l.quantity()),
                        None => format!("{sku} x{}", l.quantity()),
                    })
                    .collect();
                format!("{user}: {}", lines.join(", "))
            })
            .collect();
        carts.join("; ")
    }

    fn line(&self, at: usize, user: &str, sku: &str) -> Option<CartLine> {
        self.regions[at].carts.state().get(user)?.get(sku)
    }

    fn stock_value(&self, at: usize, sku: &str) -> i128 {
        self.regions[at].stock[Self::sku(sku)].state().value()
    }

    fn rights(&self, at: usize, sku: &str) -> i128 {
        let r = &self.regions[at];
        r.stock[Self::sku(sku)].state().local_rights(r.id)
    }
}

/// Runs the story with the network's random choices drawn from `seed`.
pub fn run(seed: u64) -> Outcome {
    let mut w = World::new(seed);
    let mut facts: Vec<(String, bool)> = Vec::new();

    w.say(String::from(
        "-- opening: every region reaches every other --",
    ));
    w.restock(EU, "mug", 10);
    w.restock(US, "tee", 6);
    w.restock(APAC, "lamp", 2);
    w.transfer(EU, APAC, "mug", 3)
        .expect("the EU holds 10 mug rights");
    w.add(EU, "alice", "mug", 2);
    w.note(EU, "alice", "mug", "gift wrap");
    w.add(US, "frank", "tee", 3);
    w.settle();

    w.partition([0, 1, 1], "the EU is cut off from the US and APAC");
    // Alice removes her mugs in the EU while her phone, routed to the US, adds one more.
    w.remove_line(EU, "alice", "mug");
    w.add(US, "alice", "mug", 1);
    w.say(String::from(
        "   (alice's phone reaches the US region, which saw her 2 mugs but not the remove)",
    ));
    // Frank's tees change on both sides: 3 - 1 in the EU, 3 + 2 in the US.
    w.take(EU, "frank", "tee", 1);
    w.add(US, "frank", "tee", 2);
    // Carol creates the same lamp line on both sides, each with a note.
    w.add(EU, "carol", "lamp", 1);
    w.note(EU, "carol", "lamp", "blue");
    w.round();
    w.add(APAC, "carol", "lamp", 1);
    w.note(APAC, "carol", "lamp", "red");
    // Bob buys mugs in the US, which holds no mug rights: refused there, nothing changes.
    w.add(US, "bob", "mug", 2);
    w.add(US, "bob", "tee", 1);
    let before = (w.stock_value(US, "mug"), w.line(US, "bob", "mug"));
    let refused = w.checkout(US, "bob").err();
    let after = (w.stock_value(US, "mug"), w.line(US, "bob", "mug"));
    facts.push((
        String::from("the US cannot sell 2 mugs on rights it does not hold: refused locally"),
        matches!(
            refused,
            Some(Oversell {
                error: BoundedError::InsufficientRights {
                    asked: 2,
                    available: 0,
                    ..
                },
                ..
            })
        ),
    ));
    facts.push((
        String::from("the refused checkout changed nothing (stock and cart as before)"),
        before == after && after.1.is_some(),
    ));
    // APAC, on the US side of the partition, moves two of its mug rights to the US.
    w.transfer(APAC, US, "mug", 2)
        .expect("APAC holds 3 mug rights");
    w.settle();
    let sold = w.checkout(US, "bob");
    facts.push((
        String::from("after APAC's transfer of rights, the same checkout goes through"),
        sold.as_ref()
            .is_ok_and(|lines| lines.contains(&(String::from("mug"), 2))),
    ));
    w.settle();

    w.heal();
    w.settle();
    let snapshot = w.describe_carts(EU);
    w.say(format!("every region now holds: {snapshot}"));
    let alice = w.line(EU, "alice", "mug");
    let alice_mugs = alice.as_ref().map(CartLine::quantity);
    facts.push((
        format!(
            "alice's remove of her 2 mugs, concurrent with a +1, leaves quantity {} (and no note: the remove saw it)",
            alice_mugs.map_or(String::from("none"), |q| q.to_string())
        ),
        alice_mugs == Some(1) && alice.as_ref().and_then(CartLine::note).is_none(),
    ));
    let frank = w.line(EU, "frank", "tee").map(|l| l.quantity());
    facts.push((
        format!(
            "frank's concurrent -1 and +2 on 3 tees merge to {}",
            frank.map_or(String::from("none"), |q| q.to_string())
        ),
        frank == Some(4),
    ));
    let carol = w.line(EU, "carol", "lamp");
    facts.push((
        format!(
            "carol's lamp, created on both sides, merges to quantity {} with the later note {:?}",
            carol.as_ref().map_or(0, CartLine::quantity),
            carol.as_ref().and_then(CartLine::note).unwrap_or("")
        ),
        carol
            .as_ref()
            .is_some_and(|l| l.quantity() == 2 && l.note() == Some("red")),
    ));
    // After the heal the EU sells alice's remaining mug on its own rights.
    let eu_rights = w.rights(EU, "mug");
    let sold = w.checkout(EU, "alice");
    facts.push((
        String::from("the EU sells alice's remaining mug on its own rights"),
        sold.is_ok() && w.rights(EU, "mug") == eu_rights - 1,
    ));
    w.settle();

    // Every region holds the same bytes.
    let carts_bytes = w.regions[0].carts.state().to_bytes();
    let stock_bytes: Vec<Vec<u8>> = w.regions[0]
        .stock
        .iter()
        .map(|s| s.state().to_bytes())
        .collect();
    let identical = w.regions.iter().all(|r| {
        r.carts.state().to_bytes() == carts_bytes
            && r.stock
                .iter()
                .zip(&stock_bytes)
                .all(|(s, b)| s.state().to_bytes() == *b)
    });
    let mug_left = w.stock_value(EU, "mug");
    facts.push((
        format!("mug stock: 10 received, 2 + 1 sold, {mug_left} left"),
        mug_left == 7,
    ));
    facts.push((
        format!(
            "at no step did a region's own rights go below zero (lowest: {}), nor any stock value it saw (lowest: {})",
            w.lowest_own_rights, w.lowest_stock_value
        ),
        w.lowest_own_rights >= 0 && w.lowest_stock_value >= 0,
    ));
    facts.push((
        format!(
            "all {} regions hold byte-for-byte the same carts ({} bytes) and stock",
            w.regions.len(),
            carts_bytes.len()
        ),
        identical,
    ));

    let state = w.regions[0].carts.state();
    let carts = state
        .iter()
        .map(|(user, cart)| {
            let lines = cart
                .iter()
                .map(|(sku, l)| (sku.clone(), l.quantity(), l.note().map(str::to_owned)))
                .collect();
            (user.clone(), lines)
        })
        .collect();
    let stock = SKUS
        .iter()
        .map(|&sku| {
            let rights = (0..w.regions.len()).map(|r| w.rights(r, sku)).collect();
            (sku.to_owned(), w.stock_value(EU, sku), rights)
        })
        .collect();
    Outcome {
        log: w.log,
        carts,
        stock,
        carts_bytes: carts_bytes.len(),
        net: w.net.stats,
        rounds: w.round,
        facts,
    }
}

/// The error of an update's mutator. The story's sessions are never restored from a save, so
/// they are never recovering, which is the only other reason a session refuses an update.
fn refused_by_mutator<E: fmt::Debug>(e: UpdateError<E>) -> E {
    match e {
        UpdateError::Mutate(e) => e,
        other => panic!("a session of the story refused an update: {other:?}"),
    }
}
