//! How a session synchronizes: the strategy and the memory bounds.

/// Which synchronization algorithm a [`Session`](super::Session) runs. Every strategy
/// converges under loss, duplication and reordering; they differ in what they send.
///
/// The delta strategies follow the delta-interval algorithm of Almeida et al.: deltas are
/// buffered with sequence numbers, each neighbour acknowledges the intervals it received, and a
/// neighbour the buffer no longer covers is brought up to date by digest catch-up.
///
/// ```
/// use deltacrdt::sync::Strategy;
/// assert_eq!(Strategy::default(), Strategy::BpRr);
/// assert!(Strategy::BpRr.avoids_back_propagation() && Strategy::BpRr.removes_redundancy());
/// assert_eq!("classic-delta".parse::<Strategy>(), Ok(Strategy::ClassicDelta));
/// assert_eq!("spanning-tree".parse::<Strategy>(), Ok(Strategy::SpanningTree));
/// assert!(Strategy::SpanningTree.uses_spanning_tree() && Strategy::SpanningTree.removes_redundancy());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Strategy {
    /// Every tick, send the whole state to every neighbour (state-based anti-entropy).
    FullState,
    /// Delta intervals with acknowledgements; received deltas are buffered whole and may be
    /// sent back to where they came from.
    ClassicDelta,
    /// Delta intervals, never sending a delta back to the neighbour it came from (BP).
    BpOnly,
    /// Delta intervals, buffering only the part of a received delta that was new (RR).
    RrOnly,
    /// Delta intervals with both BP and RR (Enes et al., ICDE 2019). The default.
    #[default]
    BpRr,
    /// No buffer: every tick, send a digest (the version) to every neighbour, which answers
    /// with exactly what the digest lacks.
    DigestOnly,
    /// BP+RR deltas pushed only along a spanning tree that the sessions build and repair
    /// themselves; the other links carry only periodic digests, answered with what the
    /// digest lacks (lazy repair by pull), so on a mesh each update crosses about `n - 1`
    /// links instead of every link.
    ///
    /// The tree is a shortest-path tree to the smallest replica id reachable: every message
    /// carries the sender's root, its distance to it and whether the receiver is its parent;
    /// each session picks as parent the neighbour closest to the smallest root (ties: the
    /// smaller id), and a link is *eager* (deltas pushed, acknowledged, retransmitted) when it
    /// joins a session to its parent. A neighbour that leaves deltas or a digest request
    /// unanswered for `4 * retransmit_ticks` ticks is taken as down and routed around until
    /// it is heard from again (it is probed at that interval). A link that turns eager starts
    /// with digest catch-up, so it carries only what its end lacks. Lazy links exchange
    /// digests every [`SyncConfig::digest_ticks`] ticks (32 when that is 0): the tree only
    /// decides what is pushed, never whether a replica converges.
    ///
    /// What keeps the tree's longer paths fast: a received delta is pushed on along the tree
    /// links at once (coalesced: a link that already carried a delta in this tick gets the
    /// rest with the next tick); once the state is quiet (it changed in no tick since the
    /// last) the session sends its digest once to every lazy neighbour, and what is still
    /// unacknowledged on a tree link goes again after half of `retransmit_ticks` (a tail loss
    /// probe); and a neighbour whose digest differs from ours while lacking nothing of ours
    /// holds more, so our digest goes to it at once (a pull).
    ///
    /// The tail of a burst: a tree is longer than the mesh it spans (about twice as many
    /// links across), so a session whose own updates paused for a tick copies its last
    /// updates (what of them is still buffered) once over its lazy links, and for
    /// `2 * retransmit_ticks` ticks also what it receives new, unacknowledged (flag 128 of
    /// the wire format). While its updates flow, and at a replica that never updates, lazy
    /// links carry no deltas.
    SpanningTree,
}

impl Strategy {
    /// All strategies, in the order reports list them.
    pub const ALL: [Strategy; 7] = [
        Strategy::FullState,
        Strategy::ClassicDelta,
        Strategy::BpOnly,
        Strategy::RrOnly,
        Strategy::BpRr,
        Strategy::DigestOnly,
        Strategy::SpanningTree,
    ];

    /// A short stable name (`full-state`, `classic-delta`, `bp`, `rr`, `bp-rr`, `digest`,
    /// `spanning-tree`).
    pub fn name(self) -> &'static str {
        match self {
            Strategy::FullState => "full-state",
            Strategy::ClassicDelta => "classic-delta",
            Strategy::BpOnly => "bp",
            Strategy::RrOnly => "rr",
            Strategy::BpRr => "bp-rr",
            Strategy::DigestOnly => "digest",
            Strategy::SpanningTree => "spanning-tree",
        }
    }

    /// Whether deltas are buffered and acknowledged (the delta-interval algorithm).
    pub fn uses_delta_buffer(self) -> bool {
        matches!(
            self,
            Strategy::ClassicDelta
                | Strategy::BpOnly
                | Strategy::RrOnly
                | Strategy::BpRr
                | Strategy::SpanningTree
        )
    }

    /// Whether a buffered delta is never sent back to the neighbour it came from.
    pub fn avoids_back_propagation(self) -> bool {
        matches!(
            self,
            Strategy::BpOnly | Strategy::BpRr | Strategy::SpanningTree
        )
    }

    /// Whether only the new part of a received delta is buffered.
    pub fn removes_redundancy(self) -> bool {
        matches!(
            self,
            Strategy::RrOnly | Strategy::BpRr | Strategy::SpanningTree
        )
    }

    /// Whether deltas are pushed only along a self-building spanning tree
    /// ([`Strategy::SpanningTree`]).
    pub fn uses_spanning_tree(self) -> bool {
        self == Strategy::SpanningTree
    }
}

impl core::fmt::Display for Strategy {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// The error of parsing a [`Strategy`] from an unknown name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UnknownStrategy;

impl core::fmt::Display for UnknownStrategy {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(
            "unknown strategy (expected full-state, classic-delta, bp, rr, bp-rr, digest or spanning-tree)",
        )
    }
}

#[cfg(feature = "std")]
impl std::error::Error for UnknownStrategy {}

impl core::str::FromStr for Strategy {
    type Err = UnknownStrategy;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Strategy::ALL
            .into_iter()
            .find(|st| st.name() == s)
            .ok_or(UnknownStrategy)
    }
}

/// The settings of a [`Session`](super::Session).
///
/// ```
/// use deltacrdt::sync::{Strategy, SyncConfig};
/// let config = SyncConfig { max_buffer_bytes: 64 * 1024, ..SyncConfig::default() };
/// assert_eq!(config.strategy, Strategy::BpRr);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SyncConfig {
    /// The synchronization algorithm.
    pub strategy: Strategy,
    /// The most encoded bytes the delta buffer may hold. Past it, the oldest deltas are
    /// dropped and the neighbours that still needed them fall back to digest catch-up.
    pub max_buffer_bytes: usize,
    /// The most deltas the buffer may hold (same fallback as `max_buffer_bytes`).
    pub max_buffer_deltas: usize,
    /// Ticks to wait for an acknowledgement (or a digest) before sending the whole unacknowledged
    /// interval again (or asking for the digest again). At least 1.
    pub retransmit_ticks: u64,
    /// Every this many ticks, send each neighbour this session's digest, which it answers
    /// with what this session lacks: a bound on how long anything a lost, forged or damaged
    /// message made the pair believe can keep them apart. 0 turns it off (then a forged
    /// acknowledgement can withhold deltas until the next restart or buffer overflow). Unused
    /// by [`Strategy::FullState`], which sends everything every tick.
    pub digest_ticks: u64,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            strategy: Strategy::BpRr,
            max_buffer_bytes: 1 << 20,
            max_buffer_deltas: 4096,
            retransmit_ticks: 3,
            digest_ticks: 32,
        }
    }
}
