//! The spanning-tree strategy as a state machine: the tree it builds, what it pushes where,
//! how it routes around a dead or cut link, and that it converges whatever the network does.

use deltacrdt::sync::{
    checksum, Session, Strategy, SyncConfig, SyncError, LEGACY_MESSAGE_TAG, MESSAGE_TAG,
};
use deltacrdt::{GCounter, Lattice, ORSet, ReplicaId};
use quickcheck::{quickcheck, TestResult};

fn config() -> SyncConfig {
    SyncConfig {
        strategy: Strategy::SpanningTree,
        ..SyncConfig::default()
    }
}

fn id(i: usize) -> ReplicaId {
    ReplicaId(i as u64 + 1)
}

/// Sessions over an in-memory network; `cut` links drop everything, `down` nodes are off.
struct Net {
    s: Vec<Session<ORSet<u64>>>,
    edges: Vec<(usize, usize)>,
    cut: Vec<(usize, usize)>,
    down: Vec<bool>,
    /// Units sent over each edge, both ways.
    units: Vec<u64>,
    oracle: ORSet<u64>,
    next: u64,
}

impl Net {
    fn new(n: usize, edges: &[(usize, usize)]) -> Net {
        let mut s: Vec<_> = (0..n)
            .map(|i| Session::new(id(i), 1, ORSet::new(), config()))
            .collect();
        for &(a, b) in edges {
            s[a].add_neighbour(id(b));
            s[b].add_neighbour(id(a));
        }
        Net {
            s,
            edges: edges.to_vec(),
            cut: Vec::new(),
            down: vec![false; n],
            units: vec![0; edges.len()],
            oracle: ORSet::new(),
            next: 0,
        }
    }

    /// A ring where each node also links to the node two ahead (4 neighbours each).
    fn mesh(n: usize) -> Net {
        let mut e = Vec::new();
        for i in 0..n {
            for d in 1..=2 {
                let j = (i + d) % n;
                e.push((i.min(j), i.max(j)));
            }
        }
        e.sort_unstable();
        e.dedup();
        Net::new(n, &e)
    }

    fn edge(&self, a: usize, b: usize) -> Option<usize> {
        self.edges
            .iter()
            .position(|&(x, y)| (x, y) == (a.min(b), a.max(b)))
    }

    fn add(&mut self, i: usize) {
        self.next += 1;
        let e = self.next;
        let d = self.s[i].update(|s| s.add(id(i), e)).unwrap();
        self.oracle.join(d);
    }

    /// One round: every node up ticks, then messages flow until none are left.
    fn round(&mut self) {
        let n = self.s.len();
        let mut queue = Vec::new();
        for i in 0..n {
            if !self.down[i] {
                self.s[i].tick();
                while let Some(t) = self.s[i].poll_transmit() {
                    queue.push((i, t));
                }
            }
        }
        while !queue.is_empty() {
            let mut next = Vec::new();
            for (from, t) in queue {
                let to = (t.to.0 - 1) as usize;
                let e = self.edge(from, to).expect("a link");
                self.units[e] += t.units;
                let cut = self.cut.contains(&(from.min(to), from.max(to)));
                if cut || self.down[to] {
                    continue;
                }
                self.s[to].handle_message(id(from), &t.bytes).unwrap();
                while let Some(t) = self.s[to].poll_transmit() {
                    next.push((to, t));
                }
            }
            queue = next;
        }
    }

    fn converged(&self) -> bool {
        (0..self.s.len()).all(|i| self.down[i] || *self.s[i].state() == self.oracle)
    }

    /// Eager links as pairs, each seen from both ends.
    fn eager_links(&self) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for &(a, b) in &self.edges {
            let ab = self.s[a].is_eager(id(b)).unwrap();
            let ba = self.s[b].is_eager(id(a)).unwrap();
            assert_eq!(ab, ba, "the two ends of {a} - {b} disagree");
            if ab {
                out.push((a, b));
            }
        }
        out
    }
}

#[test]
fn a_mesh_builds_a_shortest_path_tree_to_the_smallest_id() {
    let mut net = Net::mesh(12);
    net.round();
    net.round();
    assert_eq!(net.eager_links().len(), 11, "{:?}", net.eager_links());
    for i in 0..12 {
        let (root, dist) = net.s[i].tree_root();
        assert_eq!(root, id(0));
        // Node i is min(i, 12 - i) hops of at most 2 from node 0.
        assert_eq!(dist, (i.min(12 - i) as u64).div_ceil(2), "node {i}");
        match net.s[i].tree_parent() {
            None => assert_eq!(i, 0),
            Some(p) => {
                let p = (p.0 - 1) as usize;
                assert_eq!(net.s[p].tree_root().1 + 1, dist);
                assert!(net.eager_links().contains(&(i.min(p), i.max(p))));
            }
        }
    }
}

#[test]
fn while_updates_flow_each_crosses_each_tree_link_at_most_once_and_the_tail_ends() {
    let mut net = Net::mesh(10);
    for _ in 0..3 {
        net.round();
    }
    let before = net.units.clone();
    let tree = net.eager_links();
    // Every node adds every round (as in the ICDE experiment): while the updates flow, lazy
    // links carry only digests.
    for _ in 0..4 {
        for i in 0..10 {
            net.add(i);
        }
        net.round();
    }
    for (e, &(a, b)) in net.edges.iter().enumerate() {
        let sent = net.units[e] - before[e];
        if tree.contains(&(a, b)) {
            assert!(sent > 0, "tree link {a} - {b} carried nothing");
        } else {
            assert_eq!(sent, 0, "lazy link {a} - {b} carried payload");
        }
    }
    let total: u64 = net.units.iter().sum::<u64>() - before.iter().sum::<u64>();
    assert!(
        total <= 40 * 9,
        "{total}: more than the bound while the updates flow"
    );
    // The burst's end: each replica copies its last updates, and what it receives new for
    // `2 * retransmit_ticks` ticks, once over its lazy links (unacknowledged); the tree links
    // carry what is still in flight on them; then nothing moves, and the tree stays.
    let burst = net.units.clone();
    for _ in 0..10 {
        net.round();
    }
    let settled = net.units.clone();
    for _ in 0..10 {
        net.round();
    }
    assert_eq!(net.units, settled, "payload after the tail window");
    assert!(net.converged());
    for (e, &(a, b)) in net.edges.iter().enumerate() {
        let sent = settled[e] - burst[e];
        if !tree.contains(&(a, b)) {
            // A copy per end, each of at most the burst's 40 updates.
            assert!(
                sent > 0 && sent <= 2 * 40,
                "lazy link {a} - {b}: {sent} units"
            );
        }
    }
    assert_eq!(net.eager_links(), tree, "copies do not move the tree");
}

#[test]
fn a_crashed_parent_is_routed_around_and_rejoins_after_a_restart() {
    let mut net = Net::mesh(10);
    for _ in 0..3 {
        net.round();
    }
    let child = (0..10)
        .find(|&i| net.s[i].tree_parent() == Some(id(2)))
        .expect("node 2 has a child");
    net.down[2] = true;
    // The child keeps adding: its deltas to the dead parent go unanswered.
    for r in 0..20 {
        net.add(child);
        net.add([0, 1, 3, 4, 5, 6, 7, 8, 9][r % 9]);
        net.round();
    }
    assert_ne!(net.s[child].tree_parent(), Some(id(2)));
    for _ in 0..5 {
        net.round();
    }
    assert!(
        net.converged(),
        "the others did not converge without node 2"
    );
    // Node 2 comes back from its saved state with a new incarnation.
    let saved = net.s[2].persist();
    net.s[2] = Session::restore(id(2), 2, &saved, config()).unwrap();
    for j in [0, 1, 3, 4] {
        net.s[2].add_neighbour(id(j));
    }
    net.down[2] = false;
    for _ in 0..10 {
        net.round();
    }
    assert!(net.converged());
    assert!(!net.s[2].is_recovering());
    assert_eq!(net.eager_links().len(), 9);
}

#[test]
fn a_cut_tree_link_heals_through_the_lazy_links() {
    let mut net = Net::mesh(8);
    for _ in 0..3 {
        net.round();
    }
    let (a, b) = net.eager_links()[0];
    net.cut.push((a, b));
    for r in 0..12 {
        net.add(r % 8);
        net.round();
    }
    for _ in 0..20 {
        net.round();
    }
    assert!(net.converged());
    assert!(!net.eager_links().contains(&(a, b)));
    // Once the link works again it is taken back into the tree (it is probed).
    net.cut.clear();
    for _ in 0..30 {
        net.round();
    }
    assert!(net.eager_links().contains(&(a, b)));
    assert_eq!(net.eager_links().len(), 7);
}

#[test]
fn on_a_tree_periodic_digests_cost_no_payload() {
    // A line: every link is a tree link; 100 rounds cross three digest periods.
    let mut net = Net::new(4, &[(0, 1), (1, 2), (2, 3)]);
    for r in 0..100 {
        net.add(r % 4);
        net.round();
    }
    for _ in 0..5 {
        net.round();
    }
    assert!(net.converged());
    assert_eq!(net.units.iter().sum::<u64>(), 100 * 3);
}

/// Ticks every session of a line `0 - 1 - 2` and delivers until quiet.
fn line_round(s: &mut [Session<ORSet<u64>>]) {
    for x in s.iter_mut() {
        x.tick();
    }
    loop {
        let mut sent = Vec::new();
        for (i, x) in s.iter_mut().enumerate() {
            while let Some(t) = x.poll_transmit() {
                sent.push((i, t));
            }
        }
        if sent.is_empty() {
            break;
        }
        for (i, t) in sent {
            let j = (t.to.0 - 1) as usize;
            s[j].handle_message(id(i), &t.bytes).unwrap();
        }
    }
}

#[test]
fn a_delta_is_pushed_on_along_the_tree_on_receipt_and_pushes_coalesce_within_a_tick() {
    let mut s: Vec<Session<ORSet<u64>>> = (0..3)
        .map(|i| Session::new(id(i), 1, ORSet::new(), config()))
        .collect();
    for (a, b) in [(0, 1), (1, 2)] {
        s[a].add_neighbour(id(b));
        s[b].add_neighbour(id(a));
    }
    // The tree forms, and a first update settles the acknowledgements of its links.
    for k in 0..8 {
        s[0].update(|x| x.add(id(0), 100 + k)).unwrap();
        line_round(&mut s);
    }
    line_round(&mut s);
    line_round(&mut s);
    assert_eq!(s[0].unacked(id(1)), Some(0));
    assert_eq!(s[1].unacked(id(2)), Some(0));
    assert_eq!(s[2].tree_parent(), Some(id(1)));
    assert!(s[2].state().contains(&107));
    // 0 adds and ticks; its delta reaches 1, which pushes it on to 2 at once, before its
    // own next tick.
    s[0].update(|x| x.add(id(0), 1)).unwrap();
    s[0].tick();
    let t = s[0].poll_transmit().unwrap();
    assert_eq!((t.to, t.units), (id(1), 1));
    assert!(s[1].handle_message(id(0), &t.bytes).unwrap());
    let mut out = Vec::new();
    while let Some(t) = s[1].poll_transmit() {
        out.push(t);
    }
    let push = out
        .iter()
        .find(|t| t.to == id(2))
        .expect("pushed on receipt");
    assert_eq!(push.units, 1);
    assert!(s[2].handle_message(id(1), &push.bytes).unwrap());
    assert!(s[2].state().contains(&1));
    // A second delta in the same tick of 1 waits for its next tick (Nagle): only the ack
    // goes back to 0.
    s[0].update(|x| x.add(id(0), 2)).unwrap();
    s[0].tick();
    let t = s[0].poll_transmit().unwrap();
    assert!(s[1].handle_message(id(0), &t.bytes).unwrap());
    let mut out = Vec::new();
    while let Some(t) = s[1].poll_transmit() {
        out.push(t);
    }
    assert!(out.iter().all(|t| t.to == id(0) && t.units == 0), "{out:?}");
    s[1].tick();
    let next = s[1].poll_transmit().expect("the tick sends it");
    assert_eq!((next.to, next.units), (id(2), 1));
}

#[test]
fn a_lazy_link_carries_deltas_only_in_a_paused_writers_tail_window() {
    // A triangle: 1 is the root, 2 and 3 its children, the link 2 - 3 lazy.
    let mut net = Net::new(3, &[(0, 1), (0, 2), (1, 2)]);
    for _ in 0..4 {
        net.round();
    }
    let lazy = net.edge(1, 2).unwrap();
    assert_eq!(net.s[1].is_eager(id(2)), Some(false));
    // The root writes and nobody else: the lazy link never opens.
    for _ in 0..5 {
        net.add(0);
        net.round();
    }
    for _ in 0..10 {
        net.round();
    }
    assert!(net.converged());
    assert_eq!(net.units[lazy], 0, "a reader copied");
    // 2 writes: no copy while its updates flow.
    for _ in 0..5 {
        net.add(1);
        net.round();
        assert_eq!(net.units[lazy], 0, "a copy while the updates flow");
    }
    // 2 pauses; in its tail window what reaches it new also goes over the lazy link.
    net.round();
    net.round();
    net.add(0);
    net.round();
    assert!(net.converged());
    let copied = net.units[lazy];
    assert!((1..=2).contains(&copied), "{copied}");
    // Once the window has closed, the lazy link carries no deltas again, and the silent
    // neighbour was never taken as down.
    for _ in 0..10 {
        net.round();
    }
    net.add(0);
    for _ in 0..20 {
        net.round();
    }
    assert!(net.converged());
    assert_eq!(net.units[lazy], copied);
    assert_eq!(net.s[1].is_eager(id(2)), Some(false));
    assert_eq!(net.s[1].tree_parent(), Some(id(0)));
    assert_eq!(net.s[2].tree_parent(), Some(id(0)));
}

#[test]
fn a_parent_flag_without_tree_information_is_refused() {
    let mut s: Session<GCounter> = Session::new(id(0), 1, GCounter::new(), config());
    s.add_neighbour(id(1));
    // The compact layout (flags, then the incarnation 7) and the legacy one.
    let mut m = vec![2, MESSAGE_TAG, 32, 7];
    let crc = checksum(&m);
    m.extend_from_slice(&crc.to_le_bytes());
    assert!(matches!(
        s.handle_message(id(1), &m),
        Err(SyncError::Malformed(_))
    ));
    let mut legacy = vec![1, LEGACY_MESSAGE_TAG];
    legacy.extend_from_slice(&7u64.to_le_bytes());
    legacy.push(32);
    let crc = checksum(&legacy);
    legacy.extend_from_slice(&crc.to_le_bytes());
    assert!(matches!(
        s.handle_message(id(1), &legacy),
        Err(SyncError::Malformed(_))
    ));
    assert_eq!(s.rejected(), 2);
}

quickcheck! {
    /// Whatever is lost (each message dropped by a seeded coin) and whichever links stay cut
    /// for good, a connected remainder converges to every update made once the losses stop.
    fn converges_under_any_loss_and_cuts(seed: u64, cuts: Vec<u8>, loss: u8) -> TestResult {
        let mut net = Net::mesh(9);
        let mut rng = seed | 1;
        let mut coin = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % 100
        };
        // Cut at most two links: the 4-regular ring stays connected.
        for c in cuts.iter().take(2) {
            let e = net.edges[usize::from(*c) % net.edges.len()];
            net.cut.push(e);
        }
        let loss = u64::from(loss % 50);
        let mut lossy = |net: &mut Net| {
            let n = net.s.len();
            let mut queue = Vec::new();
            for i in 0..n {
                net.s[i].tick();
                while let Some(t) = net.s[i].poll_transmit() {
                    queue.push((i, t));
                }
            }
            while !queue.is_empty() {
                let mut next = Vec::new();
                for (from, t) in queue {
                    let to = (t.to.0 - 1) as usize;
                    if net.cut.contains(&(from.min(to), from.max(to))) || coin() < loss {
                        continue;
                    }
                    net.s[to].handle_message(id(from), &t.bytes).unwrap();
                    while let Some(t) = net.s[to].poll_transmit() {
                        next.push((to, t));
                    }
                }
                queue = next;
            }
        };
        for r in 0..30 {
            net.add(r % 9);
            lossy(&mut net);
        }
        for _ in 0..120 {
            net.round();
            if net.converged() {
                return TestResult::passed();
            }
        }
        TestResult::error(format!("not converged: cuts {:?}, loss {loss}", net.cut))
    }
}
