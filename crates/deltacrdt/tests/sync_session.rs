//! Session behaviour under loss, duplication, reordering, partition, restart and hostile
//! bytes, over a tiny deterministic in-test network.

use deltacrdt::sync::{Measure, Session, Strategy, SyncConfig, SyncError};
use deltacrdt::{Binary, DeltaCrdt, GCounter, Lattice, ORSet, PNCounter, ReplicaId};
use quickcheck::{quickcheck, TestResult};

fn id(i: usize) -> ReplicaId {
    ReplicaId(i as u64 + 1)
}

/// A message in flight.
#[derive(Clone, Debug)]
struct Packet {
    from: usize,
    to: usize,
    bytes: Vec<u8>,
}

/// Sessions on a graph, with a network that applies a fault to every batch of messages.
struct Net<T: DeltaCrdt> {
    nodes: Vec<Session<T>>,
    /// Links that are cut (both directions).
    cut: Vec<(usize, usize)>,
    sent: u64,
}

impl<T> Net<T>
where
    T: DeltaCrdt + Binary + Measure + std::fmt::Debug,
    T::Version: Binary,
{
    fn new(n: usize, edges: &[(usize, usize)], config: SyncConfig) -> Self {
        let mut nodes: Vec<Session<T>> = (0..n)
            .map(|i| Session::new(id(i), 1, T::default(), config.clone()))
            .collect();
        for &(a, b) in edges {
            nodes[a].add_neighbour(id(b));
            nodes[b].add_neighbour(id(a));
        }
        Net {
            nodes,
            cut: Vec::new(),
            sent: 0,
        }
    }

    fn poll_all(&mut self) -> Vec<Packet> {
        let mut out = Vec::new();
        for (i, s) in self.nodes.iter_mut().enumerate() {
            while let Some(t) = s.poll_transmit() {
                out.push(Packet {
                    from: i,
                    to: (t.to.0 - 1) as usize,
                    bytes: t.bytes,
                });
            }
        }
        self.sent += out.len() as u64;
        out
    }

    fn is_cut(&self, a: usize, b: usize) -> bool {
        self.cut.contains(&(a.min(b), a.max(b)))
    }

    /// One round: every node ticks, then messages flow (through `fault`) until none are left
    /// or `max_hops` batches have passed.
    fn round(&mut self, fault: &mut dyn FnMut(Vec<Packet>) -> Vec<Packet>) {
        for s in &mut self.nodes {
            s.tick();
        }
        for _ in 0..8 {
            let batch = self.poll_all();
            if batch.is_empty() {
                break;
            }
            for p in fault(batch) {
                if self.is_cut(p.from, p.to) {
                    continue;
                }
                self.nodes[p.to]
                    .handle_message(id(p.from), &p.bytes)
                    .expect("well-formed messages between neighbours are accepted");
            }
        }
    }

    fn converged(&self) -> bool {
        self.nodes.windows(2).all(|w| w[0].state() == w[1].state())
    }

    /// Rounds (with `fault`) until converged, at most `limit`; returns the rounds taken.
    fn settle(&mut self, limit: usize, fault: &mut dyn FnMut(Vec<Packet>) -> Vec<Packet>) -> usize {
        for r in 0..limit {
            if self.converged() {
                return r;
            }
            self.round(fault);
        }
        assert!(
            self.converged(),
            "not converged after {limit} rounds: {:#?}",
            self.nodes.iter().map(|s| s.state()).collect::<Vec<_>>()
        );
        limit
    }
}

fn perfect(b: Vec<Packet>) -> Vec<Packet> {
    b
}

/// A small deterministic generator for fault decisions.
struct Coin(u64);
impl Coin {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn percent(&mut self, p: u64) -> bool {
        self.next() % 100 < p
    }
}

const TRIANGLE: &[(usize, usize)] = &[(0, 1), (1, 2), (0, 2)];
const LINE4: &[(usize, usize)] = &[(0, 1), (1, 2), (2, 3)];

fn add_unique(net: &mut Net<ORSet<u64>>, round: u64) {
    for i in 0..net.nodes.len() {
        let e = (i as u64) << 32 | round;
        net.nodes[i].update(|s| s.add(id(i), e)).unwrap();
    }
}

fn expect_all(net: &Net<ORSet<u64>>, rounds: u64) {
    for s in &net.nodes {
        assert_eq!(s.state().len() as u64, rounds * net.nodes.len() as u64);
    }
}

#[test]
fn converges_despite_heavy_loss() {
    let mut net: Net<ORSet<u64>> = Net::new(3, TRIANGLE, SyncConfig::default());
    let mut coin = Coin(1);
    let mut lossy = |b: Vec<Packet>| b.into_iter().filter(|_| !coin.percent(50)).collect();
    for r in 0..20 {
        add_unique(&mut net, r);
        net.round(&mut lossy);
    }
    net.settle(200, &mut lossy);
    expect_all(&net, 20);
}

#[test]
fn duplicates_are_harmless_and_buffers_drain() {
    let mut net: Net<GCounter> = Net::new(4, LINE4, SyncConfig::default());
    let mut twice = |b: Vec<Packet>| b.iter().cloned().chain(b.iter().cloned()).collect();
    for _ in 0..10 {
        for i in 0..4 {
            net.nodes[i].update(|c| c.inc(id(i), 1)).unwrap();
        }
        net.round(&mut twice);
    }
    net.settle(50, &mut twice);
    assert_eq!(net.nodes[0].state().value(), 40);
    // One more round lets the last acknowledgements through; then nothing stays buffered.
    net.round(&mut twice);
    net.round(&mut twice);
    for s in &net.nodes {
        assert_eq!(s.buffer_len(), 0, "{:?}", s.replica());
        for j in s.neighbours() {
            assert_eq!(s.lacking(j), Some(0));
        }
    }
}

#[test]
fn reordering_is_harmless() {
    let mut net: Net<PNCounter> = Net::new(3, TRIANGLE, SyncConfig::default());
    let mut coin = Coin(7);
    let mut shuffle = |mut b: Vec<Packet>| {
        // Fisher-Yates with the test's coin, then reverse half the time.
        for i in (1..b.len()).rev() {
            let j = (coin.next() % (i as u64 + 1)) as usize;
            b.swap(i, j);
        }
        b
    };
    for r in 0..15i64 {
        for i in 0..3 {
            net.nodes[i]
                .update(|c| c.add(id(i), if r % 2 == 0 { 3 } else { -1 }))
                .unwrap();
        }
        net.round(&mut shuffle);
    }
    net.settle(50, &mut shuffle);
    assert_eq!(net.nodes[2].state().value(), 3 * (8 * 3 - 7));
}

#[test]
fn partition_heals_by_delta_intervals() {
    let mut net: Net<ORSet<u64>> = Net::new(4, LINE4, SyncConfig::default());
    net.cut.push((1, 2));
    for r in 0..10 {
        add_unique(&mut net, r);
        net.round(&mut perfect);
    }
    assert_ne!(net.nodes[0].state(), net.nodes[3].state());
    // Across the cut, the buffer still holds every unacknowledged delta.
    assert!(net.nodes[1].lacking(id(2)).unwrap() >= 20);
    net.cut.clear();
    net.settle(10, &mut perfect);
    expect_all(&net, 10);
}

#[test]
fn long_partition_past_the_buffer_bound_falls_back_to_catch_up() {
    let config = SyncConfig {
        max_buffer_deltas: 4,
        ..SyncConfig::default()
    };
    let mut net: Net<ORSet<u64>> = Net::new(4, LINE4, config);
    net.cut.push((1, 2));
    for r in 0..30 {
        add_unique(&mut net, r);
        net.round(&mut perfect);
        for s in &net.nodes {
            assert!(s.buffer_len() <= 4, "buffer grew past its bound");
        }
    }
    assert_eq!(
        net.nodes[1].lacking(id(2)),
        None,
        "the buffer no longer covers the cut link"
    );
    net.cut.clear();
    net.settle(10, &mut perfect);
    expect_all(&net, 30);
    assert!(net.nodes[1].stats(id(2)).unwrap().catch_ups_sent > 0);
}

#[test]
fn restart_from_persisted_bytes_rejoins_by_catch_up() {
    let mut net: Net<ORSet<u64>> = Net::new(3, TRIANGLE, SyncConfig::default());
    for r in 0..5 {
        add_unique(&mut net, r);
        net.round(&mut perfect);
    }
    net.settle(10, &mut perfect);
    // Node 2 saves, keeps working a while (its saves get lost), then crashes and restarts
    // from the OLD bytes: its neighbours believe it has more than it does.
    let saved = net.nodes[2].persist();
    for r in 5..8 {
        add_unique(&mut net, r);
        net.round(&mut perfect);
    }
    net.settle(10, &mut perfect);
    let restarted = Session::restore(id(2), 2, &saved, SyncConfig::default()).unwrap();
    net.nodes[2] = restarted;
    net.nodes[2].add_neighbour(id(0));
    net.nodes[2].add_neighbour(id(1));
    assert_eq!(net.nodes[2].state().len(), 15);
    net.settle(10, &mut perfect);
    // Everything, including node 2's own lost adds, came back from the neighbours.
    expect_all(&net, 8);
}

#[test]
fn messages_from_an_older_incarnation_are_still_joined() {
    let mut a: Session<GCounter> = Session::new(id(0), 1, GCounter::new(), SyncConfig::default());
    let mut b: Session<GCounter> = Session::new(id(1), 5, GCounter::new(), SyncConfig::default());
    a.add_neighbour(id(1));
    b.add_neighbour(id(0));
    b.update(|c| c.inc(id(1), 1)).unwrap();
    b.tick();
    let new = b.poll_transmit().unwrap();
    let mut old_b: Session<GCounter> =
        Session::new(id(1), 4, GCounter::new(), SyncConfig::default());
    old_b.add_neighbour(id(0));
    old_b.update(|c| c.inc(id(1), 7)).unwrap();
    old_b.tick();
    let old = old_b.poll_transmit().unwrap();
    assert!(a.handle_message(id(1), &new.bytes).unwrap());
    // Deltas are idempotent: a late message of an older run still carries real events, and
    // whether to join it does not depend on trusting its incarnation.
    assert!(a.handle_message(id(1), &old.bytes).unwrap());
    assert_eq!(a.state().value(), 7);
}

#[test]
fn bp_never_sends_a_delta_back_and_rr_buffers_only_news() {
    // a - b - c: c's updates reach a through b; b must not echo them to c.
    let mut net: Net<GCounter> = Net::new(3, &[(0, 1), (1, 2)], SyncConfig::default());
    for _ in 0..5 {
        net.nodes[2].update(|c| c.inc(id(2), 1)).unwrap();
        net.round(&mut perfect);
    }
    net.settle(5, &mut perfect);
    let b_to_c = net.nodes[1].stats(id(2)).unwrap();
    assert_eq!(b_to_c.units_sent, 0, "b sent c's own deltas back to it");
    let b_to_a = net.nodes[1].stats(id(0)).unwrap();
    assert_eq!(b_to_a.units_sent, 5);
}

#[test]
fn classic_delta_does_send_back() {
    let config = SyncConfig {
        strategy: Strategy::ClassicDelta,
        ..SyncConfig::default()
    };
    let mut net: Net<GCounter> = Net::new(3, &[(0, 1), (1, 2)], config);
    for _ in 0..5 {
        net.nodes[2].update(|c| c.inc(id(2), 1)).unwrap();
        net.round(&mut perfect);
    }
    net.settle(5, &mut perfect);
    assert!(net.nodes[1].stats(id(2)).unwrap().units_sent > 0);
}

#[test]
fn every_strategy_converges_under_loss_and_duplication() {
    for strategy in Strategy::ALL {
        let config = SyncConfig {
            strategy,
            ..SyncConfig::default()
        };
        let mut net: Net<ORSet<u64>> = Net::new(4, &[(0, 1), (1, 2), (2, 3), (3, 0)], config);
        let mut coin = Coin(strategy as u64);
        let mut faulty = |b: Vec<Packet>| {
            let mut out = Vec::new();
            for p in b {
                if coin.percent(30) {
                    continue;
                }
                if coin.percent(20) {
                    out.push(p.clone());
                }
                out.push(p);
            }
            out
        };
        for r in 0..10 {
            add_unique(&mut net, r);
            net.round(&mut faulty);
        }
        net.settle(100, &mut faulty);
        expect_all(&net, 10);
    }
}

/// A session with some history, for the hostile-bytes tests.
fn busy_pair() -> (Session<ORSet<u64>>, Vec<Vec<u8>>) {
    let mut net: Net<ORSet<u64>> = Net::new(2, &[(0, 1)], SyncConfig::default());
    let mut captured = Vec::new();
    for r in 0..3 {
        add_unique(&mut net, r);
        let mut spy = |b: Vec<Packet>| {
            captured.extend(b.iter().filter(|p| p.to == 0).map(|p| p.bytes.clone()));
            b
        };
        net.round(&mut spy);
    }
    let removed = net.nodes[0].update(|s| Ok::<_, std::convert::Infallible>(s.remove(&1)));
    assert!(!removed.unwrap().is_bottom());
    (net.nodes.swap_remove(0), captured)
}

fn snapshot(s: &Session<ORSet<u64>>) -> String {
    format!("{s:?}")
}

#[test]
fn hostile_ack_beyond_what_was_sent_is_refused() {
    let (mut s, _) = busy_pair();
    let mut peer: Session<ORSet<u64>> = Session::new(id(1), 1, ORSet::new(), SyncConfig::default());
    peer.add_neighbour(id(0));
    // Forge: a real message format, acknowledging sequence numbers never produced.
    let mut bytes = vec![1u8, 32];
    bytes.extend_from_slice(&1u64.to_le_bytes());
    bytes.push(1); // ack only
    bytes.extend_from_slice(&s.incarnation().to_le_bytes());
    bytes.push(0);
    bytes.extend_from_slice(&[0xe8, 0x07]); // 1000
    let crc = deltacrdt::sync::checksum(&bytes);
    bytes.extend_from_slice(&crc.to_le_bytes());
    let before = snapshot(&s);
    let err = s.handle_message(id(1), &bytes).unwrap_err();
    assert!(
        matches!(err, SyncError::AckBeyondSent { acked: 1000, .. }),
        "{err}"
    );
    assert!(unchanged_except_rejected(&before, &s, 0));
}

#[test]
fn unknown_neighbours_are_refused() {
    let (mut s, captured) = busy_pair();
    let before = s.state().clone();
    assert!(matches!(
        s.handle_message(id(7), &captured[0]),
        Err(SyncError::UnknownNeighbour(_))
    ));
    assert_eq!(*s.state(), before);
}

/// The session's Debug output, minus the refusal counter (the one thing an error changes).
fn unchanged_except_rejected(
    before: &str,
    after: &Session<ORSet<u64>>,
    rejected_before: u64,
) -> bool {
    let mut a = snapshot(after).replace(
        &format!("rejected: {}", after.rejected()),
        &format!("rejected: {rejected_before}"),
    );
    // The neighbour's refusal counters (always zero before in these tests).
    if let Some(st) = after.stats(id(1)) {
        for (name, v) in [
            ("refused", st.refused),
            ("dot_collisions", st.dot_collisions),
            ("unissued_claims", st.unissued_claims),
            ("admit_refusals", st.admit_refusals),
        ] {
            a = a.replace(&format!("{name}: {v},"), &format!("{name}: 0,"));
        }
    }
    a == before
}

quickcheck! {
    fn arbitrary_bytes_never_panic_and_errors_change_nothing(bytes: Vec<u8>) -> bool {
        let (mut s, _) = busy_pair();
        let before = snapshot(&s);
        match s.handle_message(id(1), &bytes) {
            Ok(_) => true,
            Err(_) => unchanged_except_rejected(&before, &s, 0),
        }
    }

    fn well_framed_garbage_never_panics_and_errors_change_nothing(flags: u8, tail: Vec<u8>) -> bool {
        let (mut s, _) = busy_pair();
        let mut bytes = vec![1u8, 32];
        bytes.extend_from_slice(&1u64.to_le_bytes());
        bytes.push(flags & 15);
        bytes.extend_from_slice(&tail);
        // A valid checksum, so the garbage reaches the parts' decoders and the checks.
        let crc = deltacrdt::sync::checksum(&bytes);
        bytes.extend_from_slice(&crc.to_le_bytes());
        let before = snapshot(&s);
        match s.handle_message(id(1), &bytes) {
            Ok(_) => true,
            Err(_) => unchanged_except_rejected(&before, &s, 0),
        }
    }

    fn corrupted_real_messages_never_panic_and_errors_change_nothing(which: usize, flips: Vec<(usize, u8)>, cut: usize) -> TestResult {
        let (mut s, captured) = busy_pair();
        if captured.is_empty() {
            return TestResult::discard();
        }
        let mut bytes = captured[which % captured.len()].clone();
        for (at, x) in flips {
            let n = bytes.len();
            bytes[at % n] ^= x;
        }
        if cut % 3 == 0 {
            bytes.truncate(cut % (bytes.len() + 1));
        }
        let before = snapshot(&s);
        match s.handle_message(id(1), &bytes) {
            Ok(_) => TestResult::passed(),
            Err(_) => TestResult::from_bool(unchanged_except_rejected(&before, &s, 0)),
        }
    }
}

#[test]
fn real_messages_decode_and_duplicates_change_nothing() {
    let (mut s, captured) = busy_pair();
    assert!(!captured.is_empty());
    for bytes in &captured {
        s.handle_message(id(1), bytes).unwrap();
    }
    let state = s.state().clone();
    for bytes in &captured {
        assert!(!s.handle_message(id(1), bytes).unwrap());
    }
    assert_eq!(*s.state(), state);
}

#[test]
fn updates_with_errors_leave_everything_as_it_was() {
    let mut s: Session<GCounter> = Session::new(id(0), 1, GCounter::new(), SyncConfig::default());
    s.update(|c| c.inc(id(0), u64::MAX)).unwrap();
    assert!(s.update(|c| c.inc(id(0), 1)).is_err());
    assert_eq!(s.state().count_of(id(0)), u64::MAX);
    assert_eq!(s.next_seq(), 2);
}

#[test]
fn bottom_state_neighbours_need_no_catch_up_but_others_do() {
    let mut s: Session<GCounter> = Session::new(id(0), 1, GCounter::new(), SyncConfig::default());
    s.add_neighbour(id(1));
    assert_eq!(s.lacking(id(1)), Some(0));
    s.update(|c| c.inc(id(0), 2)).unwrap();
    s.add_neighbour(id(2));
    assert_eq!(s.lacking(id(1)), Some(1));
    assert_eq!(s.unacked(id(1)), Some(1));
    assert_eq!(s.lacking(id(2)), None);
    assert_eq!(s.unacked(id(2)), None);
}

#[test]
fn restart_with_lost_disk_is_detected_by_incarnation() {
    // Node 2 restarts EMPTY (its disk was lost): it has nothing to catch up from, so only the
    // neighbours' noticing its new incarnation brings the data back.
    let mut net: Net<GCounter> = Net::new(3, TRIANGLE, SyncConfig::default());
    for _ in 0..4 {
        for i in 0..2 {
            net.nodes[i].update(|c| c.inc(id(i), 1)).unwrap();
        }
        net.round(&mut perfect);
    }
    net.settle(10, &mut perfect);
    net.round(&mut perfect);
    assert_eq!(net.nodes[2].state().value(), 8);
    net.nodes[2] = Session::new(id(2), 2, GCounter::new(), SyncConfig::default());
    net.nodes[2].add_neighbour(id(0));
    net.nodes[2].add_neighbour(id(1));
    net.nodes[2].update(|c| c.inc(id(2), 1)).unwrap();
    net.settle(10, &mut perfect);
    assert_eq!(net.nodes[2].state().value(), 9);
    assert_eq!(net.nodes[0].state().value(), 9);
}

/// In a triangle a, b, c: c's element X reaches a and b; then b sends a the group {X, Y}.
/// Returns what a would still send to c, in units.
fn what_a_forwards_to_c(strategy: Strategy) -> u64 {
    let config = SyncConfig {
        strategy,
        ..SyncConfig::default()
    };
    let mut net: Net<ORSet<u64>> = Net::new(3, TRIANGLE, config);
    let (a, b, c) = (0, 1, 2);
    net.nodes[c].update(|s| s.add(id(c), 100)).unwrap();
    net.nodes[c].tick();
    while let Some(t) = net.nodes[c].poll_transmit() {
        let to = (t.to.0 - 1) as usize;
        net.nodes[to].handle_message(id(c), &t.bytes).unwrap();
    }
    net.nodes[b].update(|s| s.add(id(b), 200)).unwrap();
    net.nodes[b].tick();
    while let Some(t) = net.nodes[b].poll_transmit() {
        if t.to == id(a) {
            assert_eq!(t.units, 2, "b forwards X with Y");
            assert!(net.nodes[a].handle_message(id(b), &t.bytes).unwrap());
        }
    }
    net.nodes[a].lacking(id(c)).unwrap()
}

#[test]
fn rr_buffers_only_the_new_part_of_a_received_delta() {
    // With BP, a keeps X (from c) away from c; RR then leaves only Y, the news in b's group.
    assert_eq!(what_a_forwards_to_c(Strategy::BpRr), 1);
    // Without RR, b's whole group {X, Y} is buffered and X goes back to c.
    assert_eq!(what_a_forwards_to_c(Strategy::BpOnly), 2);
    // Without BP, X itself (buffered when it came from c) goes back to c.
    assert_eq!(what_a_forwards_to_c(Strategy::RrOnly), 2);
    assert_eq!(what_a_forwards_to_c(Strategy::ClassicDelta), 2);
}

/// The RR rule, checked directly: the part of `received` that is new to `state`,
/// `received.delta_since(&state.version())`, joins with the state to the same result as all of
/// `received`, and is no bigger than it.
fn rr_law<T: DeltaCrdt + Measure + std::fmt::Debug>(state: &T, received: &T) -> bool {
    let rr = received.delta_since(&state.version());
    state.joined(&rr) == state.joined(received) && rr.units() <= received.units()
}

quickcheck! {
    fn rr_part_joins_like_the_whole_delta_orset(ops: Vec<(u8, u8, bool)>, split: usize) -> bool {
        // Two replicas make random adds and removes; `received` is a delta group of b's recent ops.
        let (mut a, mut b) = (ORSet::<u8>::new(), ORSet::<u8>::new());
        let mut group = ORSet::new();
        let split = split % (ops.len() + 1);
        for (k, (who, e, add)) in ops.iter().enumerate() {
            let (s, r) = if who % 2 == 0 { (&mut a, id(0)) } else { (&mut b, id(1)) };
            let d = if *add { s.add(r, e % 8).unwrap() } else { s.remove(&(e % 8)) };
            if who % 2 == 1 && k >= split {
                group.join_ref(&d);
            }
            if k == split {
                let snapshot = b.clone();
                a.join_ref(&snapshot);
            }
        }
        rr_law(&a, &group) && rr_law(&a, &b)
    }

    fn rr_part_joins_like_the_whole_delta_counter(ops: Vec<(u8, u8)>, split: usize) -> bool {
        let (mut a, mut b) = (GCounter::new(), GCounter::new());
        let mut group = GCounter::new();
        let split = split % (ops.len() + 1);
        for (k, (who, n)) in ops.iter().enumerate() {
            let r = id(usize::from(who % 3));
            let s = if who % 2 == 0 { &mut a } else { &mut b };
            let d = s.inc(r, u64::from(*n)).unwrap();
            if who % 2 == 1 && k >= split {
                group.join_ref(&d);
            }
            if k == split {
                let snapshot = b.clone();
                a.join_ref(&snapshot);
            }
        }
        rr_law(&a, &group) && rr_law(&a, &b)
    }
}

#[test]
fn lacking_is_known_from_a_digest_before_any_ack() {
    let mut a: Session<GCounter> = Session::new(id(0), 1, GCounter::new(), SyncConfig::default());
    a.update(|c| c.inc(id(0), 2)).unwrap();
    a.update(|c| c.inc(id(5), 1)).unwrap();
    let mut b: Session<GCounter> = Session::new(id(1), 1, GCounter::new(), SyncConfig::default());
    a.add_neighbour(id(1));
    b.add_neighbour(id(0));
    assert_eq!(a.lacking(id(1)), None);
    a.tick();
    let hello = a.poll_transmit().unwrap(); // asks for b's digest, with a's own
    assert!(a.poll_transmit().is_none());
    b.handle_message(id(0), &hello.bytes).unwrap();
    let reply = b.poll_transmit().unwrap(); // b's digest
    a.handle_message(id(1), &reply.bytes).unwrap();
    let catch_up = a.poll_transmit().unwrap();
    assert_eq!(catch_up.units, 2);
    assert_eq!(a.lacking(id(1)), Some(2), "known from b's digest");
    assert_eq!(a.stats(id(1)).unwrap().catch_ups_sent, 1);
    b.handle_message(id(0), &catch_up.bytes).unwrap();
    assert_eq!(b.state(), a.state());
    let ack = b.poll_transmit().unwrap();
    a.handle_message(id(1), &ack.bytes).unwrap();
    assert_eq!(a.lacking(id(1)), Some(0), "known from b's acknowledgement");
    assert_eq!(a.stats(id(1)).unwrap().acked, Some(a.next_seq()));
}

#[test]
fn the_byte_bound_holds_too() {
    let config = SyncConfig {
        max_buffer_bytes: 200,
        ..SyncConfig::default()
    };
    let mut net: Net<ORSet<u64>> = Net::new(3, &[(0, 1), (1, 2)], config);
    net.cut.push((0, 1));
    for r in 0..40 {
        add_unique(&mut net, r);
        net.round(&mut perfect);
        for s in &net.nodes {
            assert!(
                s.buffer_bytes() <= 200,
                "{} buffered bytes",
                s.buffer_bytes()
            );
        }
    }
    net.cut.clear();
    net.settle(10, &mut perfect);
    expect_all(&net, 40);
}

/// Units sent by all nodes so far.
fn units_sent<T>(net: &Net<T>) -> u64
where
    T: DeltaCrdt + Binary + Measure + std::fmt::Debug,
    T::Version: Binary,
{
    net.nodes
        .iter()
        .flat_map(|s| s.neighbours().map(|j| s.stats(j).unwrap().units_sent))
        .sum()
}

#[test]
fn removals_stop_circulating_once_everyone_has_them() {
    // In a cycle, a delta carrying only old removal information must not be re-buffered by a
    // replica it teaches nothing, or it would go round forever.
    let mut net: Net<ORSet<u64>> =
        Net::new(4, &[(0, 1), (1, 2), (2, 3), (3, 0)], SyncConfig::default());
    let mut coin = Coin(3);
    for _ in 0..12 {
        for i in 0..4 {
            let e = coin.next() % 5;
            if coin.percent(50) && net.nodes[i].state().contains(&e) {
                net.nodes[i]
                    .update(|s| Ok::<_, std::convert::Infallible>(s.remove(&e)))
                    .unwrap();
            } else {
                net.nodes[i].update(|s| s.add(id(i), e)).unwrap();
            }
        }
        net.round(&mut perfect);
    }
    net.settle(20, &mut perfect);
    for _ in 0..3 {
        net.round(&mut perfect);
    }
    let before = units_sent(&net);
    for _ in 0..5 {
        net.round(&mut perfect);
    }
    assert_eq!(
        units_sent(&net),
        before,
        "deltas keep circulating after convergence"
    );
    for s in &net.nodes {
        assert_eq!(s.buffer_len(), 0);
    }
}
