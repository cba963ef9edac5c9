//! The sans-IO anti-entropy session.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::ToString;
use alloc::vec::Vec;

use super::message::{Ack, DeltaPart, Message, TreeInfo};
use super::{Admit, Measure, Strategy, SyncConfig, SyncError, UpdateError};
use crate::codec::Binary;
use crate::{DecodeError, DeltaCrdt, ReplicaId};

/// Bytes to send to a neighbour, produced by [`Session::poll_transmit`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Transmit {
    /// The neighbour to send to.
    pub to: ReplicaId,
    /// The message; hand it to the neighbour's [`Session::handle_message`].
    pub bytes: Vec<u8>,
    /// The payload units (see [`Measure`]) of the delta or state the message carries.
    pub units: u64,
}

/// Traffic and progress counters for one neighbour, for dashboards and experiments.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct NeighbourStats {
    /// Messages sent to the neighbour.
    pub messages_sent: u64,
    /// Bytes sent to the neighbour.
    pub bytes_sent: u64,
    /// Payload units (see [`Measure`]) sent to the neighbour.
    pub units_sent: u64,
    /// Well-formed messages received from the neighbour.
    pub messages_received: u64,
    /// Bytes of well-formed messages received from the neighbour.
    pub bytes_received: u64,
    /// Payload units received from the neighbour.
    pub units_received: u64,
    /// Catch-up deltas sent to the neighbour in answer to its digests.
    pub catch_ups_sent: u64,
    /// The end of the last acknowledged interval of this session's buffer (`None`: unknown,
    /// so the neighbour is brought up to date by digest catch-up).
    pub acked: Option<u64>,
    /// Messages from the neighbour that were refused (any [`SyncError`] but
    /// [`UnknownNeighbour`](SyncError::UnknownNeighbour)).
    pub refused: u64,
    /// Of those, deltas refused for a dot collision ([`SyncError::DotCollision`]): the
    /// neighbour and this replica issued different events under one replica id.
    pub dot_collisions: u64,
    /// Of those, deltas refused for claiming events of this replica it never issued
    /// ([`SyncError::ClaimsUnissued`]).
    pub unissued_claims: u64,
    /// Of those, deltas refused by the application's check ([`SyncError::Refused`]).
    pub admit_refusals: u64,
}

/// A delta waiting in the buffer until every neighbour has acknowledged it.
#[derive(Clone, Debug)]
struct Buffered<T> {
    delta: T,
    /// The neighbour it came from (only kept for back-propagation avoidance).
    origin: Option<ReplicaId>,
    bytes: usize,
}

/// What this session knows about one neighbour and owes it.
#[derive(Clone, Debug)]
struct Neighbour<V> {
    /// The neighbour's incarnation, from its latest messages.
    incarnation: Option<u64>,
    /// Buffer sequence numbers below this are known to be at the neighbour.
    acked: Option<u64>,
    /// Sequence numbers below this have been sent (maybe not yet acknowledged).
    sent_upto: u64,
    /// When the interval starting at `acked` was last sent.
    sent_at: u64,
    /// End of a catch-up delta sent but not yet acknowledged: the buffer keeps what follows.
    catch_up_end: Option<u64>,
    /// Units of the catch-up delta last computed from the neighbour's digest.
    digest_lacks: Option<u64>,
    /// When the neighbour's digest was last asked for.
    requested_at: Option<u64>,
    /// A sync round is due (set by `tick`).
    round_due: bool,
    /// Spanning tree: a delta that arrived from another neighbour is to be pushed on at once
    /// (eager push on receipt, without waiting for the next tick).
    push_due: bool,
    /// Spanning tree: this quiet spell's digest went to the (lazy) neighbour.
    quiet_sent: bool,
    /// Spanning tree: the tick a delta last went to the neighbour.
    pushed_at: u64,
    /// An acknowledgement to send.
    ack_due: Option<Ack>,
    /// The neighbour asked for this session's digest.
    digest_due: bool,
    /// The neighbour's digest, to answer with a catch-up delta.
    reply_to: Option<V>,
    /// When this session's digest was last sent to the neighbour (for the periodic digest).
    digest_at: u64,
    /// Whether this session's digest went to the neighbour in this run (for recovery).
    digest_sent: bool,
    /// Whether the neighbour answered a digest of this run with a catch-up delta (for
    /// recovery: then this replica holds every event of its own that the neighbour has).
    answered: bool,
    /// Spanning tree: the neighbour's place in the tree, from its latest message.
    tree: Option<TreeInfo>,
    /// Spanning tree: whether deltas are pushed to the neighbour (a tree link).
    eager: bool,
    /// Spanning tree: taken as down (an unanswered delta or digest request).
    down: bool,
    /// Spanning tree: since when a delta or digest request sent waits for any answer.
    waiting_since: Option<u64>,
    /// Spanning tree: when a down neighbour was last probed.
    probed_at: u64,
    /// Spanning tree: this session's place in the tree changed since the last message.
    tree_due: bool,
    /// Spanning tree: the (lazy) neighbour's digest changed; ours is owed back once the
    /// state is quiet.
    owes_digest: bool,
    /// Spanning tree: when the last message (each carries the tree information) went out.
    told_at: u64,
    /// Spanning tree: the neighbour seems not to know our root; the next message asks for
    /// its digest, whose answer brings back both its place in the tree and what it lacks.
    nudge: bool,
    /// Spanning tree: the latest digest of the (lazy) neighbour, to see when it changes.
    seen_digest: Option<V>,
    /// Spanning tree: the first buffer sequence number of the deltas to copy once to the
    /// (lazy) neighbour, unacknowledged (see `Session::tail_window`).
    gossip_from: Option<u64>,
    stats: NeighbourStats,
}

impl<V> Neighbour<V> {
    fn new(acked: Option<u64>, now: u64) -> Self {
        Neighbour {
            incarnation: None,
            acked,
            sent_upto: 0,
            sent_at: 0,
            catch_up_end: None,
            digest_lacks: None,
            requested_at: None,
            round_due: false,
            push_due: false,
            quiet_sent: false,
            pushed_at: u64::MAX,
            ack_due: None,
            digest_due: false,
            reply_to: None,
            digest_at: now,
            digest_sent: false,
            answered: false,
            tree: None,
            eager: true,
            down: false,
            waiting_since: None,
            probed_at: now,
            tree_due: false,
            owes_digest: false,
            told_at: now,
            nudge: false,
            seen_digest: None,
            gossip_from: None,
            stats: NeighbourStats {
                acked,
                ..NeighbourStats::default()
            },
        }
    }

    fn has_work(&self) -> bool {
        self.round_due
            || self.push_due
            || self.ack_due.is_some()
            || self.digest_due
            || self.reply_to.is_some()
            || self.tree_due
            || self.gossip_from.is_some()
    }

    /// Forgets what the neighbour was known to have (it restarted, maybe from older state).
    fn reset(&mut self) {
        self.acked = None;
        self.stats.acked = None;
        self.sent_upto = 0;
        self.catch_up_end = None;
        self.digest_lacks = None;
        self.requested_at = None;
        self.ack_due = None;
        // A digest of its previous run no longer says what it has.
        self.reply_to = None;
        self.tree = None;
    }

    /// Forgets what the neighbour was acknowledged to have, so that it is next brought up to
    /// date by digest catch-up (a link entering or leaving the spanning tree).
    fn forget_acks(&mut self) {
        self.acked = None;
        self.stats.acked = None;
        self.sent_upto = 0;
        self.catch_up_end = None;
        self.requested_at = None;
    }

    /// Records that everything below `end` is at the neighbour; progress restarts the
    /// retransmission timer of what is still outstanding.
    fn set_acked(&mut self, end: u64, now: u64) {
        self.acked = Some(end);
        self.stats.acked = Some(end);
        self.sent_upto = self.sent_upto.max(end);
        self.sent_at = now;
        if self.catch_up_end.is_some_and(|c| c <= end) {
            self.catch_up_end = None;
        }
    }
}

/// A sans-IO anti-entropy session: one replica's state plus everything needed to keep its
/// neighbours in sync over an unreliable transport, with no sockets and no clock.
///
/// The methods fall in four groups, in the style of quinn-proto:
/// - getters: [`state`](Self::state), [`stats`](Self::stats), [`lacking`](Self::lacking),
///   [`buffer_len`](Self::buffer_len), ...;
/// - input from the network: [`handle_message`](Self::handle_message);
/// - commands from the application: [`update`](Self::update), [`apply_delta`](Self::apply_delta),
///   [`add_neighbour`](Self::add_neighbour), [`remove_neighbour`](Self::remove_neighbour),
///   [`tick`](Self::tick);
/// - output: [`poll_transmit`](Self::poll_transmit), to call until it returns `None` after
///   every input or command.
///
/// Every message is idempotent: loss, duplication and reordering cost traffic, never data.
/// Time is counted in ticks; each tick starts a sync round with every neighbour.
///
/// **Incarnations.** Each run of a replica gets an incarnation number, which should change
/// across restarts (a restart counter stored with the state, or the start time). It serves
/// bookkeeping only: a message whose incarnation differs from the sender's previous one makes
/// the receiver forget what it knew the sender had (acknowledgements), so the pair falls back to
/// digest catch-up; an acknowledgement counts only if it names this run's incarnation. Deltas
/// are joined whatever incarnation they carry (they are idempotent), so no incarnation, forged
/// or damaged, can make a session ignore a neighbour: the worst one message can do is cost a
/// catch-up.
///
/// **Healing.** Every [`SyncConfig::digest_ticks`] ticks a session also sends each neighbour
/// its digest, which the neighbour answers with what it lacks. Whatever a single forged or
/// damaged message made a session believe (an acknowledgement of deltas that never arrived, a
/// digest claiming more than the neighbour has), the pair is back in sync within that many
/// ticks plus a round trip once genuine messages flow again.
///
/// **Validation.** A received delta is refused, with nothing changed, when it claims events of
/// this replica it never issued ([`SyncError::ClaimsUnissued`]), when it holds a dot this
/// replica holds with other contents ([`SyncError::DotCollision`]: two replicas share an id),
/// or when the application's [`Admit`] check passed to
/// [`handle_message_with`](Self::handle_message_with) refuses it ([`SyncError::Refused`]).
/// Refusals are counted in [`rejected`](Self::rejected) and in the neighbour's
/// [`stats`](Self::stats).
///
/// **Recovery.** A session made by [`restore`](Self::restore) may hold a save older than its
/// last updates, whose events its neighbours already have. Until every neighbour has answered
/// its digest with a catch-up delta ([`is_recovering`](Self::is_recovering)), it accepts its
/// own events back from them and refuses local updates with [`UpdateError::Recovering`], so it
/// never issues a dot or count twice.
///
/// ```
/// use deltacrdt::{sync::{Session, SyncConfig}, ORSet, ReplicaId};
///
/// let (a_id, b_id) = (ReplicaId(1), ReplicaId(2));
/// let mut a = Session::new(a_id, 1, ORSet::<String>::new(), SyncConfig::default());
/// let mut b = Session::new(b_id, 1, ORSet::<String>::new(), SyncConfig::default());
/// a.add_neighbour(b_id);
/// b.add_neighbour(a_id);
///
/// a.update(|s| s.add(a_id, "apple".to_string())).unwrap();
/// b.update(|s| s.add(b_id, "pear".to_string())).unwrap();
///
/// // Drive both sessions over a perfect in-memory "network".
/// for _ in 0..3 {
///     a.tick();
///     b.tick();
///     loop {
///         let mut idle = true;
///         while let Some(t) = a.poll_transmit() {
///             b.handle_message(a_id, &t.bytes).unwrap();
///             idle = false;
///         }
///         while let Some(t) = b.poll_transmit() {
///             a.handle_message(b_id, &t.bytes).unwrap();
///             idle = false;
///         }
///         if idle { break; }
///     }
/// }
/// assert_eq!(a.state(), b.state());
/// assert_eq!(a.state().len(), 2);
/// assert_eq!(a.lacking(b_id), Some(0));
/// assert_eq!(a.buffer_len(), 0); // acknowledged deltas are dropped
/// ```
#[derive(Clone, Debug)]
pub struct Session<T: DeltaCrdt> {
    replica: ReplicaId,
    incarnation: u64,
    config: SyncConfig,
    state: T,
    /// The sequence number of the next buffered delta (starts at 1; 0 marks catch-up).
    next_seq: u64,
    /// The sequence number of `buffer[0]`.
    first_seq: u64,
    buffer: VecDeque<Buffered<T>>,
    buffer_bytes: usize,
    neighbours: BTreeMap<ReplicaId, Neighbour<T::Version>>,
    now: u64,
    rejected: u64,
    recovering: bool,
    /// This session's place in the spanning tree ([`Strategy::SpanningTree`]).
    tree: TreeView,
    /// The tick of the last change of the state.
    changed_at: u64,
    /// Spanning tree: the tick of the latest local updates and the buffer sequence number of
    /// the first of them.
    local_burst: Option<(u64, u64)>,
}

/// A session's place in the spanning tree: the smallest replica id it knows a path to, its
/// distance to it and the neighbour on that path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct TreeView {
    root: ReplicaId,
    dist: u64,
    parent: Option<ReplicaId>,
}

/// Adverts at this distance or more are ignored: it bounds counting to infinity when a root
/// becomes unreachable (the tree is then rebuilt around the next smallest id).
const MAX_TREE_DIST: u64 = 64;

/// The digest period of lazy links when [`SyncConfig::digest_ticks`] is 0.
const LAZY_DIGEST_TICKS: u64 = 32;

impl<T> Session<T>
where
    T: DeltaCrdt + Binary + Measure,
    T::Version: Binary,
{
    /// A session for `replica` in its `incarnation`, starting from `state`.
    pub fn new(replica: ReplicaId, incarnation: u64, state: T, config: SyncConfig) -> Self {
        Session {
            replica,
            incarnation,
            config,
            state,
            next_seq: 1,
            first_seq: 1,
            buffer: VecDeque::new(),
            buffer_bytes: 0,
            neighbours: BTreeMap::new(),
            now: 0,
            rejected: 0,
            recovering: false,
            tree: TreeView {
                root: replica,
                dist: 0,
                parent: None,
            },
            changed_at: 0,
            local_burst: None,
        }
    }

    /// A session restarted from bytes saved with [`persist`](Self::persist). The incarnation
    /// should be greater than the one before the restart; neighbours then bring this replica up
    /// to date, and it them, by digest catch-up.
    ///
    /// The session starts [recovering](Self::is_recovering): the save may be older than the
    /// last updates this replica sent, so local updates are refused with
    /// [`UpdateError::Recovering`] until every neighbour has answered this session's digest
    /// (one round trip per neighbour; add the neighbours right after restoring). A replica
    /// that knows its save is current (saved synchronously after every update) or has no
    /// neighbours calls [`end_recovery`](Self::end_recovery).
    ///
    /// # Errors
    /// The [`DecodeError`] of malformed bytes.
    ///
    /// ```
    /// use deltacrdt::{sync::{Session, SyncConfig}, GCounter, ReplicaId};
    /// let mut s = Session::new(ReplicaId(1), 1, GCounter::new(), SyncConfig::default());
    /// s.update(|c| c.inc(ReplicaId(1), 3)).unwrap();
    /// let saved = s.persist();
    /// let back = Session::<GCounter>::restore(ReplicaId(1), 2, &saved, SyncConfig::default()).unwrap();
    /// assert_eq!(back.state().value(), 3);
    /// assert!(back.is_recovering());
    /// ```
    pub fn restore(
        replica: ReplicaId,
        incarnation: u64,
        bytes: &[u8],
        config: SyncConfig,
    ) -> Result<Self, DecodeError> {
        Ok(Self::from_saved(
            replica,
            incarnation,
            T::from_bytes(bytes)?,
            config,
        ))
    }

    /// [`restore`](Self::restore) from a state the caller decoded itself (with extra checks of
    /// its own, say): the session starts [recovering](Self::is_recovering).
    pub fn from_saved(replica: ReplicaId, incarnation: u64, state: T, config: SyncConfig) -> Self {
        let mut s = Self::new(replica, incarnation, state, config);
        s.recovering = true;
        s
    }

    // ----- getters -----

    /// This replica's id.
    pub fn replica(&self) -> ReplicaId {
        self.replica
    }

    /// This run's incarnation number.
    pub fn incarnation(&self) -> u64 {
        self.incarnation
    }

    /// The settings.
    pub fn config(&self) -> &SyncConfig {
        &self.config
    }

    /// The replicated state.
    pub fn state(&self) -> &T {
        &self.state
    }

    /// The bytes to save for a restart: the state in the crate's binary format. Buffers and
    /// acknowledgements are deliberately not saved; catch-up rebuilds what they were for.
    ///
    /// Bytes older than the last update sent are safe too: [`restore`](Self::restore) holds
    /// local updates until every neighbour has sent back what this replica issued since (see
    /// [`is_recovering`](Self::is_recovering)), so no dot or count is issued twice. Saving
    /// after every update, before its messages leave, still matters: an update no neighbour
    /// received is only in the save.
    pub fn persist(&self) -> Vec<u8> {
        self.state.to_bytes()
    }

    /// The ticks elapsed.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// The neighbours, in ascending order.
    pub fn neighbours(&self) -> impl Iterator<Item = ReplicaId> + '_ {
        self.neighbours.keys().copied()
    }

    /// The traffic counters of a neighbour (`None` if it is not a neighbour).
    pub fn stats(&self, neighbour: ReplicaId) -> Option<&NeighbourStats> {
        self.neighbours.get(&neighbour).map(|n| &n.stats)
    }

    /// What the neighbour still lacks of this replica's state, in payload units (see
    /// [`Measure`]), as far as its acknowledgements tell or, while they tell nothing (a new,
    /// restarted or long-lagging neighbour), as of its latest digest. `None` when neither is
    /// known, or for a replica that is not a neighbour.
    pub fn lacking(&self, neighbour: ReplicaId) -> Option<u64> {
        let n = self.neighbours.get(&neighbour)?;
        match n.acked.filter(|a| *a >= self.first_seq) {
            Some(acked) => Some(self.group_for(neighbour, acked).units()),
            None => n.digest_lacks,
        }
    }

    /// How many buffered deltas the neighbour has not acknowledged (`None`: unknown, see
    /// [`lacking`](Self::lacking), or not a neighbour): its share of the buffer.
    pub fn unacked(&self, neighbour: ReplicaId) -> Option<u64> {
        let n = self.neighbours.get(&neighbour)?;
        let acked = n.acked.filter(|a| *a >= self.first_seq)?;
        Some(self.next_seq - acked)
    }

    /// How many deltas the buffer holds.
    pub fn buffer_len(&self) -> usize {
        self.buffer.len()
    }

    /// The encoded size of the deltas in the buffer.
    pub fn buffer_bytes(&self) -> usize {
        self.buffer_bytes
    }

    /// The sequence number the next buffered delta will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// How many messages [`handle_message`](Self::handle_message) refused.
    pub fn rejected(&self) -> u64 {
        self.rejected
    }

    /// Whether this restored session is still learning its own latest events from its
    /// neighbours (see [`restore`](Self::restore)); local updates are refused meanwhile. It
    /// ends once every neighbour has answered this session's digest with a catch-up delta
    /// (a session without neighbours stays recovering until one is added and answers).
    pub fn is_recovering(&self) -> bool {
        self.recovering
    }

    /// Ends recovery now: for a replica whose save is known to be current, or that has no
    /// neighbour to learn from. Updating from a save older than the last update sent can
    /// issue a dot or count twice; the neighbours then refuse it with
    /// [`SyncError::DotCollision`] or keep the larger count.
    pub fn end_recovery(&mut self) {
        self.recovering = false;
    }

    /// With [`Strategy::SpanningTree`]: the neighbour on this session's path to the root of
    /// the spanning tree (`None`: this session is a root, as it is under other strategies).
    pub fn tree_parent(&self) -> Option<ReplicaId> {
        self.tree.parent
    }

    /// With [`Strategy::SpanningTree`]: the root of the spanning tree as this session knows
    /// it (the smallest replica id it has a path to) and its distance to it, in links.
    pub fn tree_root(&self) -> (ReplicaId, u64) {
        (self.tree.root, self.tree.dist)
    }

    /// Whether deltas are pushed to the neighbour as they come (`None`: not a neighbour).
    /// Always, but under [`Strategy::SpanningTree`], where only tree links are eager (links to
    /// a neighbour not yet heard from count as tree links) and the others are repaired by
    /// periodic digests.
    ///
    /// ```
    /// use deltacrdt::{sync::{Session, Strategy, SyncConfig}, GCounter, ReplicaId};
    /// let config = SyncConfig { strategy: Strategy::SpanningTree, ..SyncConfig::default() };
    /// let ids = [ReplicaId(1), ReplicaId(2), ReplicaId(3)];
    /// // A triangle: 1 is the root, 2 and 3 pick it as parent; the link 2 - 3 turns lazy.
    /// let mut s: Vec<Session<GCounter>> =
    ///     ids.iter().map(|&id| Session::new(id, 1, GCounter::new(), config.clone())).collect();
    /// for (i, a) in ids.iter().enumerate() {
    ///     for b in &ids {
    ///         s[i].add_neighbour(*b);
    ///     }
    ///     let _ = a;
    /// }
    /// for _ in 0..3 {
    ///     for i in 0..3 {
    ///         s[i].tick();
    ///     }
    ///     loop {
    ///         let mut sent = Vec::new();
    ///         for i in 0..3 {
    ///             while let Some(t) = s[i].poll_transmit() {
    ///                 sent.push((ids[i], t));
    ///             }
    ///         }
    ///         if sent.is_empty() { break; }
    ///         for (from, t) in sent {
    ///             let to = ids.iter().position(|r| *r == t.to).unwrap();
    ///             s[to].handle_message(from, &t.bytes).unwrap();
    ///         }
    ///     }
    /// }
    /// assert_eq!(s[1].tree_parent(), Some(ids[0]));
    /// assert_eq!(s[2].tree_root(), (ids[0], 1));
    /// assert_eq!(s[1].is_eager(ids[2]), Some(false));
    /// assert_eq!(s[0].is_eager(ids[1]), Some(true));
    /// ```
    pub fn is_eager(&self, neighbour: ReplicaId) -> Option<bool> {
        self.neighbours.get(&neighbour).map(|n| n.eager)
    }

    // ----- commands -----

    /// Applies a local mutation: `mutate` changes the state and returns the delta, as every
    /// mutator of the crate does (`|s| s.add(me, x)`); the delta is buffered for the neighbours
    /// and returned. `mutate` must leave the state unchanged when it fails.
    ///
    /// # Errors
    /// [`UpdateError::Recovering`] while a restored session is still
    /// [recovering](Self::is_recovering) (`mutate` is not called); else
    /// [`UpdateError::Mutate`] with whatever `mutate` returns.
    pub fn update<E>(
        &mut self,
        mutate: impl FnOnce(&mut T) -> Result<T, E>,
    ) -> Result<T, UpdateError<E>> {
        if self.recovering {
            return Err(UpdateError::Recovering);
        }
        let delta = mutate(&mut self.state).map_err(UpdateError::Mutate)?;
        self.buffer_push(delta.clone(), None);
        Ok(delta)
    }

    /// Joins a delta made elsewhere by this replica (for example decoded from an application's
    /// own log) and buffers it for the neighbours; returns whether the state changed. Unlike
    /// [`update`](Self::update) it is not held back while [recovering](Self::is_recovering):
    /// the delta was already made, from whatever state its maker held.
    pub fn apply_delta(&mut self, delta: T) -> bool {
        let changed = self.state.join_ref(&delta);
        if changed {
            self.buffer_push(delta, None);
        }
        changed
    }

    /// Adds a neighbour (no effect if it already is one). Unless this replica's state is still
    /// empty, the neighbour is first brought up to date by digest catch-up.
    pub fn add_neighbour(&mut self, neighbour: ReplicaId) {
        if self.neighbours.contains_key(&neighbour) || neighbour == self.replica {
            return;
        }
        // An empty state is trivially at the neighbour: only later deltas need sending.
        let acked = (self.state.is_bottom() && self.config.strategy.uses_delta_buffer())
            .then_some(self.next_seq);
        let mut n = Neighbour::new(acked, self.now);
        // The spanning tree starts with where this session stands.
        n.tree_due = self.config.strategy.uses_spanning_tree();
        self.neighbours.insert(neighbour, n);
    }

    /// Removes a neighbour and what was kept for it; returns whether it was one.
    pub fn remove_neighbour(&mut self, neighbour: ReplicaId) -> bool {
        let was = self.neighbours.remove(&neighbour).is_some();
        if self.config.strategy.uses_spanning_tree() {
            self.refresh_tree();
        }
        self.trim();
        self.check_recovered();
        was
    }

    /// Advances time by one tick and starts a sync round with every neighbour.
    pub fn tick(&mut self) {
        self.now += 1;
        for n in self.neighbours.values_mut() {
            n.round_due = true;
        }
        if self.config.strategy.uses_spanning_tree() {
            let patience = self.down_ticks();
            let rto = self.config.retransmit_ticks.max(1);
            let (now, root) = (self.now, self.tree.root.0);
            let mut changed = false;
            // The replica's own updates paused for a tick: its last ones go once over the lazy
            // links too (see `tail_window`).
            let pause = self
                .local_burst
                .filter(|(t, _)| t + 2 == now)
                .map(|(_, seq)| seq);
            for n in self.neighbours.values_mut() {
                if let Some(seq) = pause {
                    if !n.eager && !n.down && n.tree.is_some() {
                        n.gossip_from = Some(seq);
                    }
                }
                // A neighbour that names a larger root has not heard of ours (the message was
                // lost, and it may have nothing to send that would bring ours back): tell it.
                if !n.down && n.tree.is_some_and(|t| t.root > root) && now - n.told_at >= rto {
                    n.tree_due = true;
                    n.nudge = true;
                }
                if !n.down && n.waiting_since.is_some_and(|t| now - t >= patience) {
                    n.down = true;
                    n.probed_at = now;
                    changed = true;
                }
            }
            if changed {
                self.refresh_tree();
            }
        }
    }

    /// Spanning tree: whether this session is in the tail of a burst of its own updates, from
    /// the second tick after its last local update for `2 * retransmit_ticks` ticks. Meanwhile
    /// what it receives new is also copied once to every lazy neighbour (but the one it came
    /// from), unacknowledged, as its last local updates were when they paused (what of them
    /// is still buffered): a tree is about twice as many links across as the mesh it spans
    /// (no spanning tree of the 4-neighbour ring mesh of 16 is less than 8 across, the mesh is
    /// 4), and the last deltas of a burst, which nothing follows, would otherwise cross all of
    /// it, and wait for a retransmission where one is lost. While updates flow the window is
    /// closed and the lazy links carry no deltas; a replica that never updates never opens it.
    /// A writer that pauses often opens it often: each opening costs what it receives in the
    /// window once more per lazy link.
    fn tail_window(&self) -> bool {
        let span = 2 * self.config.retransmit_ticks.max(1);
        self.local_burst
            .is_some_and(|(t, _)| self.now >= t + 2 && self.now - (t + 2) < span)
    }

    /// Ticks without any answer after which a neighbour is taken as down (spanning tree).
    fn down_ticks(&self) -> u64 {
        4 * self.config.retransmit_ticks.max(1)
    }

    /// Recomputes this session's place in the spanning tree from its neighbours' latest
    /// adverts, and which links are eager: the parent and the neighbours whose parent this
    /// session is (and those not heard from yet). A link that changes sides forgets its
    /// acknowledgements: entering the tree it starts with digest catch-up, so it carries only
    /// what its other end lacks.
    fn refresh_tree(&mut self) {
        let me = self.replica;
        let best = self
            .neighbours
            .iter()
            .filter(|(_, n)| !n.down)
            // Split horizon: a neighbour whose parent we are has no path to offer us.
            .filter_map(|(id, n)| {
                n.tree
                    .filter(|t| !t.parent && t.dist < MAX_TREE_DIST)
                    .map(|t| (t.root, t.dist, *id))
            })
            .min();
        let view = match best {
            Some((root, dist, id)) if ReplicaId(root) < me => TreeView {
                root: ReplicaId(root),
                dist: dist + 1,
                parent: Some(id),
            },
            _ => TreeView {
                root: me,
                dist: 0,
                parent: None,
            },
        };
        let moved = view != self.tree;
        self.tree = view;
        for (id, n) in &mut self.neighbours {
            n.tree_due |= moved;
            let eager = !n.down && (view.parent == Some(*id) || n.tree.is_none_or(|t| t.parent));
            if eager != n.eager {
                n.eager = eager;
                n.forget_acks();
            }
        }
        self.trim();
    }

    // ----- input -----

    /// Handles a message from `from`; returns whether the state changed. The same as
    /// [`handle_message_with`](Self::handle_message_with) with no application check (`&()`);
    /// sessions of an [`LWWRegister`](crate::LWWRegister) should pass a
    /// [`TimeBound`](crate::TimeBound) there instead.
    ///
    /// # Errors
    /// A [`SyncError`] for a message that is malformed or damaged, comes from an unknown
    /// neighbour, acknowledges what was never sent, or carries a delta the session refuses;
    /// the session and state are then unchanged except for the refusal counters.
    pub fn handle_message(&mut self, from: ReplicaId, bytes: &[u8]) -> Result<bool, SyncError> {
        self.handle_message_with(from, bytes, &())
    }

    /// Handles a message from `from`, running `admit` on the delta it carries after decoding
    /// and before anything changes; returns whether the state changed.
    ///
    /// # Errors
    /// As [`handle_message`](Self::handle_message), plus [`SyncError::Refused`] when `admit`
    /// refuses the delta.
    pub fn handle_message_with<A: Admit<T> + ?Sized>(
        &mut self,
        from: ReplicaId,
        bytes: &[u8],
        admit: &A,
    ) -> Result<bool, SyncError> {
        match self.check(from, bytes, admit) {
            Ok(msg) => Ok(self.apply(from, bytes.len(), msg)),
            Err(e) => {
                self.rejected += 1;
                if let Some(n) = self.neighbours.get_mut(&from) {
                    let s = &mut n.stats;
                    s.refused += 1;
                    match e {
                        SyncError::DotCollision { .. } => s.dot_collisions += 1,
                        SyncError::ClaimsUnissued { .. } => s.unissued_claims += 1,
                        SyncError::Refused { .. } => s.admit_refusals += 1,
                        _ => {}
                    }
                }
                Err(e)
            }
        }
    }

    /// Decodes and validates without changing anything.
    fn check<A: Admit<T> + ?Sized>(
        &self,
        from: ReplicaId,
        bytes: &[u8],
        admit: &A,
    ) -> Result<Message<T, T::Version>, SyncError> {
        if !self.neighbours.contains_key(&from) {
            return Err(SyncError::UnknownNeighbour(from));
        }
        let msg = Message::<T, T::Version>::decode(bytes)?;
        if let Some(a) = &msg.ack {
            if a.incarnation == self.incarnation && a.end > self.next_seq {
                return Err(SyncError::AckBeyondSent {
                    acked: a.end,
                    next: self.next_seq,
                });
            }
        }
        if let Some(d) = &msg.delta {
            // While recovering, our own events coming back are what we are waiting for.
            if !self.recovering && d.payload.claims_unissued(&self.state, self.replica) {
                return Err(SyncError::ClaimsUnissued {
                    from,
                    replica: self.replica,
                });
            }
            if let Some(dot) = d.payload.dot_collision(&self.state) {
                return Err(SyncError::DotCollision { from, dot });
            }
            admit
                .admit(from, &d.payload)
                .map_err(|e| SyncError::Refused {
                    from,
                    reason: e.to_string(),
                })?;
        }
        Ok(msg)
    }

    fn apply(&mut self, from: ReplicaId, len: usize, msg: Message<T, T::Version>) -> bool {
        let strategy = self.config.strategy;
        let acks = strategy.uses_delta_buffer();
        let units = msg.delta.as_ref().map_or(0, |d| d.payload.units());
        let n = self.neighbours.get_mut(&from).expect("checked");
        if n.incarnation != Some(msg.incarnation) {
            if n.incarnation.is_some() {
                // The neighbour restarted, maybe from older state (or the incarnation is
                // forged or damaged): forget what it had; catch-up rebuilds it.
                n.reset();
            }
            n.incarnation = Some(msg.incarnation);
        }
        n.stats.messages_received += 1;
        n.stats.bytes_received += len as u64;
        n.stats.units_received += units;
        if let Some(a) = msg.ack {
            if a.incarnation == self.incarnation {
                let contiguous = a.start == 0 || n.acked.is_some_and(|x| a.start <= x);
                if contiguous && n.acked.is_none_or(|x| a.end > x) {
                    n.set_acked(a.end, self.now);
                }
            }
        }
        if msg.request_digest {
            n.digest_due = true;
        }
        if let Some(v) = msg.digest {
            if strategy.uses_spanning_tree() && !n.eager && n.seen_digest.as_ref() != Some(&v) {
                // The neighbour moved on: it may now hold what we lack, so our digest goes
                // back once (answered only if it does).
                n.owes_digest = true;
                n.seen_digest = Some(v.clone());
            }
            n.reply_to = Some(v);
        }
        let mut regrow = false;
        if strategy.uses_spanning_tree() {
            n.waiting_since = None;
            if n.down {
                // Back: tell it where we stand, so it learns we are up too.
                n.down = false;
                n.tree_due = true;
                regrow = true;
            }
            if n.tree != msg.tree {
                n.tree = msg.tree;
                regrow = true;
            }
        }
        let mut changed = false;
        if let Some(DeltaPart {
            start,
            end,
            payload,
        }) = msg.delta
        {
            if start == 0 && n.digest_sent && !msg.gossip {
                // A catch-up computed from a digest of this run: we now hold every event of
                // ours the neighbour has.
                n.answered = true;
            }
            if acks && !msg.gossip {
                let ack = Ack {
                    incarnation: msg.incarnation,
                    start,
                    end,
                };
                n.ack_due = Some(match n.ack_due {
                    Some(prev) => merge_acks(prev, ack),
                    None => ack,
                });
            }
            changed = self.receive_delta(from, payload);
        }
        if regrow {
            self.refresh_tree();
        }
        self.trim();
        self.check_recovered();
        changed
    }

    /// Ends recovery once every neighbour has answered (see [`Self::is_recovering`]).
    fn check_recovered(&mut self) {
        if self.recovering
            && !self.neighbours.is_empty()
            && self.neighbours.values().all(|n| n.answered)
        {
            self.recovering = false;
        }
    }

    /// Joins a received delta and buffers the part that was new here (RR) or all of it.
    fn receive_delta(&mut self, from: ReplicaId, payload: T) -> bool {
        let strategy = self.config.strategy;
        if !strategy.uses_delta_buffer() {
            return self.state.join(payload);
        }
        // RR: what the delta adds to the state, computed before joining.
        let new_part = strategy
            .removes_redundancy()
            .then(|| payload.delta_since(&self.state.version()));
        let changed = self.state.join_ref(&payload);
        if changed {
            let origin = strategy.avoids_back_propagation().then_some(from);
            self.buffer_push(new_part.unwrap_or(payload), origin);
            if strategy.uses_spanning_tree() {
                // Eager push on receipt: what is new goes on along the tree links at once, so
                // that an update crosses a tree link per link latency, not per tick. Pushes
                // coalesce (Nagle): a link that already carried a delta in this tick gets the
                // rest with the next tick, so a busy session sends no more messages than one
                // that waits for its ticks.
                let now = self.now;
                let seq = self.next_seq - 1;
                let tail = self.tail_window();
                for (id, n) in &mut self.neighbours {
                    if *id != from && n.eager && !n.down && n.pushed_at != now {
                        n.push_due = true;
                    }
                    if tail && *id != from && !n.eager && !n.down && n.tree.is_some() {
                        n.gossip_from.get_or_insert(seq);
                    }
                }
            }
        }
        changed
    }

    // ----- output -----

    /// The next message to send, if any. Call it until it returns `None` after every input
    /// and command.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        loop {
            let to = self
                .neighbours
                .iter()
                .find(|(_, n)| n.has_work())
                .map(|(id, _)| *id)?;
            let msg = self.compose(to);
            // Composing may have learnt that a neighbour has everything (BP).
            self.trim();
            let n = self.neighbours.get_mut(&to).expect("found above");
            n.round_due = false;
            n.push_due = false;
            n.ack_due = None;
            n.digest_due = false;
            n.reply_to = None;
            n.tree_due = false;
            if let Some(msg) = msg {
                n.told_at = self.now;
                let units = msg.delta.as_ref().map_or(0, |d| d.payload.units());
                let bytes = msg.encode();
                n.stats.messages_sent += 1;
                n.stats.bytes_sent += bytes.len() as u64;
                n.stats.units_sent += units;
                return Some(Transmit { to, bytes, units });
            }
        }
    }

    /// Builds the message due to `to`, updating what was sent; `None` if nothing is due.
    fn compose(&mut self, to: ReplicaId) -> Option<Message<T, T::Version>> {
        let strategy = self.config.strategy;
        let rto = self.config.retransmit_ticks.max(1);
        let (now, next_seq, first_seq) = (self.now, self.next_seq, self.first_seq);
        let n = self.neighbours.get(&to)?;
        let mut msg = Message {
            incarnation: self.incarnation,
            ack: n.ack_due,
            request_digest: false,
            digest: None,
            delta: None,
            tree: None,
            gossip: false,
        };
        let tree = strategy.uses_spanning_tree();
        let mut send_digest = n.digest_due;
        let mut digest_lacks = None;
        if let Some(v) = &n.reply_to {
            let mut payload = self.state.delta_since(v);
            digest_lacks = Some(payload.units());
            if tree && payload.is_bottom() && !send_digest && self.state.version() != *v {
                // The neighbour lacks nothing of ours, yet its version differs: it holds
                // more. Pull it now (our digest, answered with what we lack) rather than
                // wait for our own quiet digest.
                send_digest = true;
            }
            let mut end = next_seq;
            if let (true, Some(acked)) = (tree, n.acked.filter(|a| *a >= first_seq)) {
                // Spanning tree: the buffer delivers (and retransmits) what the neighbour has
                // not acknowledged; the answer leaves that out and claims no more than the
                // acknowledged part, so that a crossing digest costs no payload twice.
                let owed = self.group_for(to, acked);
                if !owed.is_bottom() {
                    payload = payload.delta_since(&owed.version());
                }
                end = acked;
            }
            // An empty answer is left out by digest-only pull and the spanning tree, unless
            // the neighbour asked (it is recovering and waits for an answer).
            let quiet = strategy == Strategy::DigestOnly || tree;
            if !(quiet && payload.is_bottom() && !n.digest_due) {
                msg.delta = Some(DeltaPart {
                    start: 0,
                    end,
                    payload,
                });
            }
        } else if n.round_due && tree && !n.eager {
            // A lazy link: nothing is pushed. Once the state has stopped changing for a tick,
            // the digest goes out once to every lazy neighbour, answered only by those that
            // have more: a replica that waits for a lost delta on its tree path, or for one
            // that crosses many tree links to reach it, is repaired from the side. Only a
            // quiet state sends it, so a busy cluster pays nothing for it.
            if self.changed_at + 1 < now && (n.owes_digest || !n.quiet_sent) {
                send_digest = true;
                self.neighbours.get_mut(&to)?.quiet_sent = true;
            }
        } else if n.push_due && !n.round_due {
            // Eager push on receipt (spanning tree): only new deltas, to a neighbour whose
            // acknowledgements are known; retransmissions and catch-up wait for the tick.
            if let Some(acked) = n.acked.filter(|a| *a >= first_seq) {
                msg.delta = self.next_interval(to, acked);
            }
        } else if n.round_due {
            match strategy {
                Strategy::FullState => {
                    if !self.state.is_bottom() {
                        msg.delta = Some(DeltaPart {
                            start: 0,
                            end: next_seq,
                            payload: self.state.clone(),
                        });
                    }
                }
                Strategy::DigestOnly => send_digest = true,
                _ => match n.acked.filter(|a| *a >= first_seq) {
                    None => {
                        if n.requested_at.is_none_or(|t| now - t >= rto) {
                            msg.request_digest = true;
                            // Our digest lets the neighbour send us what we lack at once.
                            send_digest = true;
                        }
                    }
                    Some(acked) => msg.delta = self.next_interval(to, acked),
                },
            }
        }
        let n = self.neighbours.get(&to)?;
        if let Some(from) = n.gossip_from {
            // The tail of a burst (see `tail_window`): a lazy link gets a copy of the deltas
            // still buffered from `from` on (those every tree neighbour acknowledged are gone),
            // but those that came from it; it does not acknowledge it. A message that already
            // carries a delta (an answer to its digest) carries no copy.
            if msg.delta.is_none() && !n.eager && !n.down {
                let start = from.max(first_seq);
                let skip = usize::try_from(start - first_seq).unwrap_or(usize::MAX);
                let mut payload = T::default();
                for b in self.buffer.iter().skip(skip) {
                    if b.origin != Some(to) {
                        payload.join_ref(&b.delta);
                    }
                }
                if start < next_seq && !payload.is_bottom() {
                    msg.delta = Some(DeltaPart {
                        start,
                        end: next_seq,
                        payload,
                    });
                    msg.gossip = true;
                }
            }
            self.neighbours.get_mut(&to)?.gossip_from = None;
        }
        let n = self.neighbours.get(&to)?;
        if n.round_due && strategy == Strategy::DigestOnly {
            // Digest-only pull sends its digest every round, answering or not.
            send_digest = true;
        }
        if n.round_due {
            let rto_passed = n.requested_at.is_none_or(|t| now - t >= rto);
            if self.recovering && !n.answered && rto_passed {
                // Ask for an answer even if the neighbour has nothing for us (see `restore`).
                msg.request_digest = true;
                send_digest = true;
            }
            let mut every = self.config.digest_ticks;
            if tree && !n.eager && every == 0 {
                every = LAZY_DIGEST_TICKS;
            }
            if every > 0 && strategy != Strategy::FullState && now - n.digest_at >= every {
                // The periodic digest: heals whatever a bad message made either side believe.
                send_digest = true;
            }
        }
        if send_digest {
            msg.digest = Some(self.state.version());
        }
        let down_ticks = self.down_ticks();
        let view = self.tree;
        let n = self.neighbours.get_mut(&to)?;
        let mut force = false;
        if tree {
            // Every message carries the sender's place in the tree; a change, or a probe of a
            // neighbour taken as down, is worth a message of its own.
            let probe = n.round_due && n.down && now - n.probed_at >= down_ticks;
            if probe {
                // A probe asks for the neighbour's digest: its answer is what tells us it is up
                // (it may have nothing else to send), and our catch-up follows from it.
                n.probed_at = now;
                n.requested_at = Some(now);
                msg.request_digest = true;
            }
            if n.nudge {
                n.nudge = false;
                n.requested_at = Some(now);
                msg.request_digest = true;
            }
            force = n.tree_due || probe;
            msg.tree = Some(TreeInfo {
                root: view.root.0,
                dist: view.dist,
                parent: view.parent == Some(to),
            });
            if ((msg.delta.is_some() && !msg.gossip) || msg.request_digest)
                && n.waiting_since.is_none()
            {
                n.waiting_since = Some(now);
            }
        }
        if send_digest {
            n.digest_at = now;
            n.digest_sent = true;
            n.owes_digest = false;
        }
        if msg.request_digest {
            n.requested_at = Some(now);
        }
        if msg.delta.is_some() {
            n.pushed_at = now;
        }
        if digest_lacks.is_some() {
            n.digest_lacks = digest_lacks;
        }
        if let Some(d) = &msg.delta {
            if d.start == 0 && strategy.uses_delta_buffer() {
                n.catch_up_end = Some(d.end);
                n.stats.catch_ups_sent += 1;
            }
        }
        (force || !msg.is_empty()).then_some(msg)
    }

    /// The delta interval due to `to`, whose acknowledgements reach `acked`: new deltas, or the
    /// whole unacknowledged interval when its acknowledgement is overdue.
    fn next_interval(&mut self, to: ReplicaId, acked: u64) -> Option<DeltaPart<T>> {
        let rto = self.config.retransmit_ticks.max(1);
        let (now, end) = (self.now, self.next_seq);
        let n = self.neighbours.get(&to)?;
        // Spanning tree, tail loss probe: once the state is quiet (it changed in no tick
        // since the last), what is still unacknowledged goes again after half the timeout.
        // The link carries nothing else then, and the last deltas of a burst, which no later
        // delta follows to reveal their loss, are what convergence waits for.
        let quiet = self.config.strategy.uses_spanning_tree() && self.changed_at + 1 < now;
        let patience = if quiet { rto.div_ceil(2) } else { rto };
        let overdue = n.sent_upto > acked && now - n.sent_at >= patience;
        let start = if n.sent_upto <= acked || overdue {
            acked
        } else {
            n.sent_upto
        };
        if start >= end {
            return None;
        }
        let payload = self.group_for(to, start);
        let n = self.neighbours.get_mut(&to)?;
        n.sent_upto = end;
        if payload.is_bottom() {
            if start == acked {
                // Everything unacknowledged came from `to` itself (BP): it has it already.
                n.set_acked(end, now);
            }
            return None;
        }
        if start == acked {
            n.sent_at = now;
        }
        Some(DeltaPart {
            start,
            end,
            payload,
        })
    }

    /// The join of the buffered deltas from `start` on, leaving out those that came from
    /// `to` when avoiding back-propagation.
    fn group_for(&self, to: ReplicaId, start: u64) -> T {
        let bp = self.config.strategy.avoids_back_propagation();
        let skip = usize::try_from(start.saturating_sub(self.first_seq)).unwrap_or(usize::MAX);
        let mut group = T::default();
        for b in self.buffer.iter().skip(skip) {
            if !(bp && b.origin == Some(to)) {
                group.join_ref(&b.delta);
            }
        }
        group
    }

    fn buffer_push(&mut self, delta: T, origin: Option<ReplicaId>) {
        if !self.config.strategy.uses_delta_buffer() || delta.is_bottom() {
            return;
        }
        let bytes = delta.to_bytes().len();
        self.buffer.push_back(Buffered {
            delta,
            origin,
            bytes,
        });
        self.buffer_bytes += bytes;
        self.next_seq += 1;
        if self.config.strategy.uses_spanning_tree() {
            self.changed_at = self.now;
            let seq = self.next_seq - 1;
            if origin.is_none() && self.local_burst.is_none_or(|(t, _)| t != self.now) {
                self.local_burst = Some((self.now, seq));
            }
            for n in self.neighbours.values_mut() {
                n.quiet_sent = false;
            }
        }
        self.trim();
    }

    /// Drops the deltas every neighbour has (or that are past the memory bounds; the
    /// neighbours that needed them then fall back to catch-up).
    fn trim(&mut self) {
        let tree = self.config.strategy.uses_spanning_tree();
        let floor = self
            .neighbours
            .values()
            .filter(|n| !tree || n.eager)
            .filter_map(
                |n| match (n.acked.filter(|a| *a >= self.first_seq), n.catch_up_end) {
                    (Some(a), Some(c)) => Some(a.min(c)),
                    (a, c) => a.or(c),
                },
            )
            .min()
            .unwrap_or(self.next_seq);
        while self.first_seq < floor
            || self.buffer.len() > self.config.max_buffer_deltas
            || self.buffer_bytes > self.config.max_buffer_bytes
        {
            let Some(b) = self.buffer.pop_front() else {
                break;
            };
            self.buffer_bytes -= b.bytes;
            self.first_seq += 1;
        }
        if self.buffer.is_empty() {
            self.first_seq = self.next_seq;
        }
    }
}

/// Two acknowledgements of one sender incarnation become one: their union when the intervals
/// touch, else the one more likely to extend what the sender has (the lower start).
fn merge_acks(a: Ack, b: Ack) -> Ack {
    if a.incarnation != b.incarnation {
        return if b.incarnation > a.incarnation { b } else { a };
    }
    if a.start <= b.end && b.start <= a.end {
        Ack {
            incarnation: a.incarnation,
            start: a.start.min(b.start),
            end: a.end.max(b.end),
        }
    } else if a.start < b.start {
        a
    } else {
        b
    }
}
