//! Three replicas of each CRDT type go through a partition with concurrent edits over a lossy,
//! duplicating, reordering in-memory channel, heal, catch up with `version()`/`delta_since`,
//! and converge. Prints the bytes sent as deltas against what full states would have cost.
//!
//! Run: `cargo run --release --example converge`

use std::fmt::Debug;

use deltacrdt::{
    Binary, DeltaCrdt, GCounter, HybridClock, LWWRegister, MVRegister, ORSet, PNCounter, ReplicaId,
};

const REPLICAS: usize = 3;

/// A tiny deterministic PRNG (splitmix64), so every run tells the same story.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// An in-memory channel that loses 20%, duplicates 10% and delivers in random order.
#[derive(Default)]
struct Channel {
    in_flight: Vec<(usize, Vec<u8>)>,
    sent_bytes: usize,
    lost: usize,
    duplicated: usize,
}

impl Channel {
    fn send(&mut self, rng: &mut Rng, to: usize, bytes: &[u8]) {
        self.sent_bytes += bytes.len();
        match rng.below(10) {
            0 | 1 => self.lost += 1,
            2 => {
                self.duplicated += 1;
                self.in_flight.push((to, bytes.to_vec()));
                self.in_flight.push((to, bytes.to_vec()));
            }
            _ => self.in_flight.push((to, bytes.to_vec())),
        }
    }

    fn take_random(&mut self, rng: &mut Rng) -> Option<(usize, Vec<u8>)> {
        if self.in_flight.is_empty() {
            return None;
        }
        let i = rng.below(self.in_flight.len() as u64) as usize;
        Some(self.in_flight.swap_remove(i))
    }
}

struct Report {
    name: &'static str,
    delta_bytes: usize,
    full_bytes: usize,
    catch_up_bytes: usize,
    lost: usize,
    duplicated: usize,
    diverged: bool,
    summary: String,
}

/// Runs the scenario for one type. `edit(replica_index, state, step, rng)` makes one local
/// change and returns its delta.
fn scenario<T>(
    name: &'static str,
    rng: &mut Rng,
    mut edit: impl FnMut(usize, &mut T, usize, &mut Rng) -> T,
    show: impl Fn(&T) -> String,
) -> Report
where
    T: DeltaCrdt + Binary + Debug,
    T::Version: Binary,
{
    let mut replicas = vec![T::default(); REPLICAS];
    let mut channel = Channel::default();
    let mut full_bytes = 0;
    let mut everything = T::default();

    // Phase 1: connected but lossy. Phase 2: replica 2 is cut off and everyone keeps editing.
    for step in 0..60 {
        let partitioned = (20..45).contains(&step);
        let at = rng.below(REPLICAS as u64) as usize;
        let delta = edit(at, &mut replicas[at], step, rng);
        everything.join_ref(&delta);
        let bytes = delta.to_bytes();
        let full = replicas[at].to_bytes().len();
        for to in 0..REPLICAS {
            let cut = partitioned && (to == 2) != (at == 2);
            if to != at && !cut {
                channel.send(rng, to, &bytes);
                full_bytes += full;
            }
        }
        // Deliver about one message per step, out of order.
        if let Some((to, bytes)) = channel.take_random(rng) {
            replicas[to].join(T::from_bytes(&bytes).expect("valid delta"));
        }
    }
    while let Some((to, bytes)) = channel.take_random(rng) {
        replicas[to].join(T::from_bytes(&bytes).expect("valid delta"));
    }
    let diverged = replicas.iter().any(|r| *r != replicas[0]);

    // Heal: each replica sends its version to the next; the next answers with what it lacks.
    let mut catch_up_bytes = 0;
    for round in 0..2 {
        for i in 0..REPLICAS {
            let j = (i + 1 + round) % REPLICAS;
            let version = replicas[i].version().to_bytes();
            let v = T::Version::from_bytes(&version).expect("valid version");
            let reply = replicas[j].delta_since(&v).to_bytes();
            catch_up_bytes += version.len() + reply.len();
            replicas[i].join(T::from_bytes(&reply).expect("valid delta"));
        }
    }
    assert!(
        replicas.iter().all(|r| *r == replicas[0]),
        "{name}: replicas did not converge"
    );
    assert!(everything.leq(&replicas[0]), "{name}: an update was lost");
    Report {
        name,
        delta_bytes: channel.sent_bytes,
        full_bytes,
        catch_up_bytes,
        lost: channel.lost,
        duplicated: channel.duplicated,
        diverged,
        summary: show(&replicas[0]),
    }
}

fn rid(i: usize) -> ReplicaId {
    ReplicaId(0xa11c_e000 + i as u64)
}

fn main() {
    let mut rng = Rng(2026);
    let mut clocks = [HybridClock::new(); REPLICAS];
    let mut wall = [1_700_000_000_000u64; REPLICAS];
    let reports = vec![
        scenario::<GCounter>(
            "GCounter",
            &mut rng,
            |i, s, _, rng| s.inc(rid(i), 1 + rng.below(5)).unwrap(),
            |s| format!("value {}", s.value()),
        ),
        scenario::<PNCounter>(
            "PNCounter",
            &mut rng,
            |i, s, _, rng| s.add(rid(i), rng.below(11) as i64 - 5).unwrap(),
            |s| format!("value {}", s.value()),
        ),
        scenario::<ORSet<String>>(
            "ORSet",
            &mut rng,
            |i, s, _, rng| {
                let item = format!("item-{}", rng.below(20));
                if rng.below(3) == 0 {
                    s.remove(&item)
                } else {
                    s.add(rid(i), item).unwrap()
                }
            },
            |s| format!("{} elements", s.len()),
        ),
        scenario::<LWWRegister<String>>(
            "LWWRegister",
            &mut rng,
            |i, s, step, rng| {
                // Wall clocks skew and sometimes step back; the hybrid clock keeps order.
                wall[i] = wall[i] + rng.below(40) - 15;
                s.set_with_clock(&mut clocks[i], wall[i], rid(i), format!("v{step}@{i}"))
                    .unwrap()
            },
            |s| format!("value {:?}", s.value()),
        ),
        scenario::<MVRegister<String>>(
            "MVRegister",
            &mut rng,
            |i, s, step, _| s.write(rid(i), format!("v{step}@{i}")).unwrap(),
            |s| format!("{} sibling(s)", s.values().len()),
        ),
    ];

    println!("Three replicas per type: lossy (20% lost, 10% duplicated, reordered) channel,");
    println!(
        "a partition of replica 2 for 25 of 60 steps, then catch-up with version()/delta_since.\n"
    );
    println!(
        "{:<12} {:>8} {:>10} {:>12} {:>8} {:>6} {:>6} {:>9}  converged to",
        "type", "deltas B", "full st. B", "catch-up B", "ratio", "lost", "dup", "diverged"
    );
    for r in &reports {
        println!(
            "{:<12} {:>8} {:>10} {:>12} {:>7.1}x {:>6} {:>6} {:>9}  {}",
            r.name,
            r.delta_bytes,
            r.full_bytes,
            r.catch_up_bytes,
            r.full_bytes as f64 / r.delta_bytes.max(1) as f64,
            r.lost,
            r.duplicated,
            if r.diverged { "yes" } else { "no" },
            r.summary
        );
    }
    println!("\nAll replicas converged; no update was lost.");
}
