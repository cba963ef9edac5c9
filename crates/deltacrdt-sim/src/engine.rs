//! The discrete-event engine: replicas running the real [`Session`] over a simulated network.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use deltacrdt::sync::{
    message_parts, Measure, MessageParts, Session, Strategy, SyncConfig, SyncError, Transmit,
};
use deltacrdt::DeltaCrdt;
use deltacrdt::ReplicaId;

use crate::workload::{infallible, record};
use crate::{SplitMix64, Topology, Workload};

/// Simulated time units per round; latencies are given in these units.
pub const ROUND: u64 = 100;

/// A partition that splits nodes `0..n/2` from the rest during rounds `start..end`, then heals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Partition {
    /// The first round of the split.
    pub start: u64,
    /// The round the partition heals.
    pub end: u64,
}

/// A node that crashes at the start of round `at` and restarts at round `restart` from the bytes
/// it persisted (its whole state: persistence is synchronous), with a new incarnation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Crash {
    /// The node.
    pub node: usize,
    /// The round it crashes in.
    pub at: u64,
    /// The round it restarts in.
    pub restart: u64,
}

/// What the network does wrong.
#[derive(Clone, Debug, PartialEq)]
pub struct Faults {
    /// Probability that a message is lost.
    pub loss: f64,
    /// Probability that a message is delivered twice (each copy with its own latency).
    pub duplicate: f64,
    /// The least latency, in time units ([`ROUND`] per round).
    pub latency_min: u64,
    /// The most latency; above `latency_min`, messages overtake each other (reordering).
    pub latency_max: u64,
    /// A partition that heals.
    pub partition: Option<Partition>,
    /// Crashes and restarts.
    pub crashes: Vec<Crash>,
}

impl Default for Faults {
    /// A perfect network: no loss, no duplicates, in-order delivery within a round.
    fn default() -> Self {
        Faults {
            loss: 0.0,
            duplicate: 0.0,
            latency_min: 1,
            latency_max: 1,
            partition: None,
            crashes: Vec::new(),
        }
    }
}

impl Faults {
    /// The last round in which a fault other than loss, duplication or latency is active.
    fn last_fault_round(&self) -> u64 {
        let p = self.partition.map_or(0, |p| p.end);
        let c = self.crashes.iter().map(|c| c.restart).max().unwrap_or(0);
        p.max(c)
    }
}

/// One simulated run: the network, the strategy and how long to go on.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// Number of replicas.
    pub nodes: usize,
    /// The overlay.
    pub topology: Topology,
    /// The sync strategy every replica runs.
    pub strategy: Strategy,
    /// Updates each node makes, one per round from round 0.
    pub updates_per_node: u64,
    /// What goes wrong.
    pub faults: Faults,
    /// The seed of every random choice.
    pub seed: u64,
    /// Give up (and fail the convergence check) after this many rounds.
    pub max_rounds: u64,
    /// Session settings (the strategy field is overridden by `strategy`).
    pub config: SyncConfig,
    /// Whether [`Progress::missing_units`] is computed (a `delta_since` per replica per
    /// round: turned off for large clusters, where it is then 0).
    pub track_missing: bool,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            nodes: 15,
            topology: Topology::PartialMesh(4),
            strategy: Strategy::BpRr,
            updates_per_node: 100,
            faults: Faults::default(),
            seed: 1,
            max_rounds: 2_000,
            config: SyncConfig::default(),
            track_missing: true,
        }
    }
}

/// Convergence progress at the end of a round, for live output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// The round that just ended.
    pub round: u64,
    /// Replicas up and holding every update made so far anywhere.
    pub up_to_date: usize,
    /// Replicas running (not crashed).
    pub up: usize,
    /// Replicas in all.
    pub nodes: usize,
    /// Payload units of updates made so far that running replicas still lack, summed over them.
    pub missing_units: u64,
    /// Bytes sent so far.
    pub bytes: u64,
    /// Whether a partition is active.
    pub partitioned: bool,
}

/// The outcome of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunReport {
    /// The strategy.
    pub strategy: Strategy,
    /// The overlay.
    pub topology: Topology,
    /// The workload's name.
    pub workload: &'static str,
    /// Replicas.
    pub nodes: usize,
    /// Edges of the overlay.
    pub edges: usize,
    /// The seed.
    pub seed: u64,
    /// Updates made (crashed nodes make none).
    pub updates: u64,
    /// Payload units sent (see [`Measure`](deltacrdt::sync::Measure)), lost messages included.
    pub units: u64,
    /// Bytes sent, lost messages included.
    pub bytes: u64,
    /// Messages sent.
    pub messages: u64,
    /// Rounds run.
    pub rounds: u64,
    /// Rounds from the last update and the end of the last fault until every replica held every
    /// update (`None`: did not converge within `max_rounds`).
    pub rounds_to_converge: Option<u64>,
    /// The most encoded delta-buffer bytes any replica held at a round's end.
    pub peak_buffer_bytes: usize,
    /// The most deltas any replica buffered at a round's end.
    pub peak_buffer_deltas: usize,
    /// The encoded size of the final state of a replica (the largest, if they differ).
    pub state_bytes: usize,
    /// Messages a session refused (always 0 unless the session has a bug).
    pub refused: u64,
    /// Where the bytes sent went, summed over every message (header, acknowledgements,
    /// digests, delta framing, deltas, tree information, checksums).
    pub wire: MessageParts,
    /// `Ok` when all replicas converged to the join of every update made anywhere and the
    /// workload's own check passed; otherwise what went wrong.
    pub check: Result<(), String>,
}

impl RunReport {
    /// Whether the run converged and lost nothing.
    pub fn passed(&self) -> bool {
        self.check.is_ok() && self.refused == 0
    }
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Delivery {
    at: u64,
    order: u64,
    to: usize,
    from: usize,
    bytes: Vec<u8>,
}

enum Node<W: Workload> {
    Up(Session<W::State>),
    Down { saved: Vec<u8>, incarnation: u64 },
}

fn replica(node: usize) -> ReplicaId {
    ReplicaId(node as u64 + 1)
}

fn node_of(r: ReplicaId) -> usize {
    (r.0 - 1) as usize
}

/// The simulated network: messages in flight and what was sent.
struct Net {
    faults: Faults,
    nodes: usize,
    queue: BinaryHeap<Reverse<Delivery>>,
    order: u64,
    rng: SplitMix64,
    bytes: u64,
    units: u64,
    messages: u64,
    wire: MessageParts,
}

impl Net {
    /// Counts a message from `from` and puts it in flight, unless a fault drops it.
    fn send(&mut self, now: u64, partitioned: bool, from: usize, t: Transmit) {
        let Transmit { to, bytes, units } = t;
        let to = node_of(to);
        let (n, faults) = (self.nodes, &self.faults);
        self.messages += 1;
        self.bytes += bytes.len() as u64;
        self.units += units;
        if let Ok(p) = message_parts(&bytes) {
            self.wire.add(&p);
        }
        if partitioned && (from < n / 2) != (to < n / 2) {
            return;
        }
        if self.rng.chance(faults.loss) {
            return;
        }
        let copies = if self.rng.chance(faults.duplicate) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let at = now
                + self.rng.between(
                    faults.latency_min,
                    faults.latency_max.max(faults.latency_min),
                );
            self.order += 1;
            self.queue.push(Reverse(Delivery {
                at,
                order: self.order,
                to,
                from,
                bytes: bytes.clone(),
            }));
        }
    }
}

/// One round of random peer sampling: every node up draws `peers` others; a drawn pair that
/// is not a link of the base overlay becomes one on both sides (if not already) and stays
/// until `linger` rounds after its last draw.
fn sample_peers<W: Workload>(
    nodes: &mut [Node<W>],
    base: &[Vec<usize>],
    sampled: &mut BTreeMap<(usize, usize), u64>,
    rng: &mut SplitMix64,
    round: u64,
    peers: usize,
    linger: u64,
) {
    let n = nodes.len();
    let link = |nodes: &mut [Node<W>], a: usize, b: usize, on: bool| {
        for (x, y) in [(a, b), (b, a)] {
            if let Node::Up(s) = &mut nodes[x] {
                if on {
                    s.add_neighbour(replica(y));
                } else {
                    s.remove_neighbour(replica(y));
                }
            }
        }
    };
    let expired: Vec<(usize, usize)> = sampled
        .iter()
        .filter(|(_, &last)| round - last > linger)
        .map(|(&k, _)| k)
        .collect();
    for (a, b) in expired {
        sampled.remove(&(a, b));
        link(nodes, a, b, false);
    }
    if n < 2 {
        return;
    }
    for i in 0..n {
        if !matches!(nodes[i], Node::Up(_)) {
            continue;
        }
        for _ in 0..peers {
            let mut j = rng.between(0, n as u64 - 2) as usize;
            if j >= i {
                j += 1;
            }
            if base[i].contains(&j) {
                continue;
            }
            let key = (i.min(j), i.max(j));
            if sampled.insert(key, round).is_none() {
                link(nodes, key.0, key.1, true);
            }
        }
    }
}

/// Runs `scenario` with `workload`, calling `progress` at the end of every round.
pub fn run<W: Workload>(
    scenario: &Scenario,
    mut workload: W,
    progress: &mut dyn FnMut(&Progress),
) -> RunReport {
    let n = scenario.nodes;
    let faults = &scenario.faults;
    let mut root = SplitMix64::new(scenario.seed);
    let mut net = Net {
        faults: faults.clone(),
        nodes: n,
        queue: BinaryHeap::new(),
        order: 0,
        rng: root.fork(),
        bytes: 0,
        units: 0,
        messages: 0,
        wire: MessageParts::default(),
    };
    let mut work_rng = root.fork();
    let adjacency = scenario.topology.neighbours(n);
    // Random peer sampling per round: the links drawn, by pair, with the round of their last
    // draw (see `Topology::SampledPeers`).
    let sampling = match scenario.topology {
        Topology::SampledPeers { peers, linger } => Some((peers, linger)),
        _ => None,
    };
    let mut sample_rng = root.fork();
    let mut sampled: BTreeMap<(usize, usize), u64> = BTreeMap::new();
    let config = SyncConfig {
        strategy: scenario.strategy,
        ..scenario.config.clone()
    };
    let connect = |node: usize, mut s: Session<W::State>| {
        for &j in &adjacency[node] {
            s.add_neighbour(replica(j));
        }
        s
    };
    let mut nodes: Vec<Node<W>> = (0..n)
        .map(|i| {
            Node::Up(connect(
                i,
                Session::new(replica(i), 1, W::State::default(), config.clone()),
            ))
        })
        .collect();
    let mut oracle = W::State::default();
    let mut updates = 0u64;
    let (mut peak_bytes, mut peak_deltas, mut refused) = (0usize, 0usize, 0u64);
    let quiet_after = scenario.updates_per_node.max(faults.last_fault_round());
    let mut converged_at = None;
    let mut round = 0;
    while round < scenario.max_rounds {
        let now = round * ROUND;
        let partitioned = faults
            .partition
            .is_some_and(|p| (p.start..p.end).contains(&round));
        for c in &faults.crashes {
            if c.node >= n {
                continue;
            }
            if c.at == round {
                if let Node::Up(s) = &nodes[c.node] {
                    let (saved, incarnation) = (s.persist(), s.incarnation());
                    nodes[c.node] = Node::Down { saved, incarnation };
                }
            } else if c.restart == round {
                if let Node::Down { saved, incarnation } = &nodes[c.node] {
                    let s =
                        Session::restore(replica(c.node), incarnation + 1, saved, config.clone())
                            .expect("bytes from persist() decode");
                    let mut s = connect(c.node, s);
                    for &(a, b) in sampled.keys() {
                        if a == c.node || b == c.node {
                            s.add_neighbour(replica(a + b - c.node));
                        }
                    }
                    nodes[c.node] = Node::Up(s);
                }
            }
        }
        if let Some((peers, linger)) = sampling {
            sample_peers(
                &mut nodes,
                &adjacency,
                &mut sampled,
                &mut sample_rng,
                round,
                peers,
                linger,
            );
        }
        for (i, node) in nodes.iter_mut().enumerate() {
            let Node::Up(s) = node else { continue };
            // A restarted replica makes no updates until its neighbours told it what it had
            // issued before the crash (`Session::is_recovering`).
            if round < scenario.updates_per_node && !s.is_recovering() {
                let d = s
                    .update(|st| {
                        infallible(workload.update(i, replica(i), round, st, &mut work_rng))
                    })
                    .expect("infallible, and not recovering");
                record(&mut oracle, &d);
                updates += 1;
            }
            s.tick();
            while let Some(t) = s.poll_transmit() {
                net.send(now, partitioned, i, t);
            }
        }
        // Deliver everything due before the next round, including replies to replies.
        let round_end = now + ROUND;
        while net.queue.peek().is_some_and(|Reverse(d)| d.at < round_end) {
            let Reverse(d) = net.queue.pop().expect("peeked");
            let Node::Up(s) = &mut nodes[d.to] else {
                continue;
            };
            match s.handle_message(replica(d.from), &d.bytes) {
                Ok(_) => {}
                // A sampled link closed while the message was in flight: dropped.
                Err(SyncError::UnknownNeighbour(_)) if sampling.is_some() => {}
                Err(_) => refused += 1,
            }
            while let Some(t) = s.poll_transmit() {
                net.send(d.at, partitioned, d.to, t);
            }
        }
        let mut up = 0;
        let mut up_to_date = 0;
        let mut missing_units = 0;
        let oracle_units = oracle.units();
        for node in &nodes {
            if let Node::Up(s) = node {
                up += 1;
                // Every state is a join of deltas the oracle holds: fewer units, not there yet
                // (a cheap test before the full comparison, for large clusters).
                let done = s.state().units() == oracle_units && *s.state() == oracle;
                up_to_date += usize::from(done);
                if !done && scenario.track_missing {
                    missing_units += oracle.delta_since(&s.state().version()).units();
                }
                peak_bytes = peak_bytes.max(s.buffer_bytes());
                peak_deltas = peak_deltas.max(s.buffer_len());
            }
        }
        progress(&Progress {
            round,
            up_to_date,
            up,
            nodes: n,
            missing_units,
            bytes: net.bytes,
            partitioned,
        });
        round += 1;
        if round >= quiet_after && up_to_date == n {
            converged_at = Some(round);
            break;
        }
    }
    let state_bytes = nodes
        .iter()
        .filter_map(|node| match node {
            Node::Up(s) => Some(s.persist().len()),
            Node::Down { .. } => None,
        })
        .max()
        .unwrap_or(0);
    let mut check = Ok(());
    if converged_at.is_none() {
        check = Err(format!("not converged after {round} rounds"));
    } else {
        for node in &nodes {
            if let Node::Up(s) = node {
                if let Err(e) = workload.check(s.state()) {
                    check = Err(format!("replica {}: {e}", s.replica()));
                    break;
                }
            }
        }
    }
    RunReport {
        strategy: scenario.strategy,
        topology: scenario.topology,
        workload: workload.name(),
        nodes: n,
        edges: scenario.topology.edges(n).len(),
        seed: scenario.seed,
        updates,
        units: net.units,
        bytes: net.bytes,
        messages: net.messages,
        rounds: round,
        rounds_to_converge: converged_at.map(|r| r - quiet_after),
        peak_buffer_bytes: peak_bytes,
        peak_buffer_deltas: peak_deltas,
        state_bytes,
        refused,
        wire: net.wire,
        check,
    }
}
