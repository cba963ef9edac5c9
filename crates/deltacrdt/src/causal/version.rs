//! The catch-up version of causal CRDTs.

use crate::causal::{CausalContext, ReplicaId, VecMap};

/// A 64-bit digest of one sequence number; the digest of a set of dots of one replica is the
/// XOR of its members' digests, so it updates in O(1) as dots come and go.
pub(crate) fn seq_digest(seq: u64) -> u64 {
    // splitmix64's finalizer: a bijection that spreads every input bit over the output and
    // maps only 0 to 0. Sequence numbers start at 1, so no dot has a zero digest (a zero
    // digest would make its dot invisible in the XOR).
    let mut z = seq;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Per-replica digests of live dots, kept up to date as dots are added and retired.
pub(crate) type LiveDigests = VecMap<ReplicaId, u64>;

pub(crate) fn toggle(digests: &mut LiveDigests, replica: ReplicaId, seq: u64) {
    let slot = digests.get_or_insert_with(replica, || 0);
    *slot ^= seq_digest(seq);
    if *slot == 0 {
        digests.remove(&replica);
    }
}

/// Toggles many dots in a row, folding consecutive dots of one replica into one update of its
/// digest: for walks in dot order, such as the linear-merge join.
pub(crate) struct ToggleBatch<'a> {
    digests: &'a mut LiveDigests,
    pending: Option<(ReplicaId, u64)>,
}

impl<'a> ToggleBatch<'a> {
    pub(crate) fn new(digests: &'a mut LiveDigests) -> Self {
        ToggleBatch {
            digests,
            pending: None,
        }
    }

    /// Toggles the dot `(replica, seq)`.
    #[inline]
    pub(crate) fn toggle(&mut self, replica: ReplicaId, seq: u64) {
        match &mut self.pending {
            Some((r, acc)) if *r == replica => *acc ^= seq_digest(seq),
            _ => {
                self.flush();
                self.pending = Some((replica, seq_digest(seq)));
            }
        }
    }

    fn flush(&mut self) {
        if let Some((replica, acc)) = self.pending.take() {
            let slot = self.digests.get_or_insert_with(replica, || 0);
            *slot ^= acc;
            if *slot == 0 {
                self.digests.remove(&replica);
            }
        }
    }
}

impl Drop for ToggleBatch<'_> {
    fn drop(&mut self) {
        self.flush();
    }
}

/// What a replica of a causal CRDT ([`ORSet`](crate::ORSet), [`MVRegister`](crate::MVRegister))
/// has seen, for a peer to compute a catch-up delta: its [`CausalContext`] plus, per replica
/// of the context, a 64-bit digest of that replica's dots still live in the store.
///
/// The context tells the peer which events are missing. The digests tell it whether removals
/// are missing too: a remove creates no new event, so the context alone cannot show it. When a
/// digest matches the peer's live dots, the peer sends no removal information for that replica;
/// when it differs (or is unknown, for a version built from a bare context), the peer sends its
/// removed dots within the context, as runs. Digests are XORs of a 64-bit mix of each sequence
/// number: two different sets of honest dots collide with probability about 2^-64. The digest
/// is not a cryptographic commitment: a peer that forges dots in another replica's name could
/// pick sequence numbers whose digests cancel, and so make catch-up skip the removal of those
/// forged dots; it cannot hide a removal of dots it did not forge alongside.
///
/// ```
/// use deltacrdt::{DeltaCrdt, Lattice, ORSet, ReplicaId};
/// let mut a = ORSet::new();
/// for i in 0..100u32 { a.add(ReplicaId(1), i).unwrap(); }
/// for i in 0..50u32 { a.remove(&i); }
/// let b = a.clone();
/// // In sync: nothing at all to send, although 50 elements were removed.
/// assert!(a.delta_since(&b.version()).is_bottom());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct CausalVersion {
    pub(crate) context: CausalContext,
    /// `None` when unknown; otherwise one entry per replica with live dots (absent = none live).
    pub(crate) live: Option<LiveDigests>,
}

impl CausalVersion {
    /// A version from a bare context, without live-dot digests. Catch-up from it is correct
    /// but sends every removed dot of the context (as runs), since it cannot tell which
    /// removals the holder has seen.
    pub fn from_context(context: CausalContext) -> Self {
        CausalVersion {
            context,
            live: None,
        }
    }

    /// The events seen.
    pub fn context(&self) -> &CausalContext {
        &self.context
    }

    /// The digest of `replica`'s live dots, if known (0 for none live).
    pub fn live_digest(&self, replica: ReplicaId) -> Option<u64> {
        self.live
            .as_ref()
            .map(|m| m.get(&replica).copied().unwrap_or(0))
    }

    /// Whether the version carries live-dot digests.
    pub fn has_digests(&self) -> bool {
        self.live.is_some()
    }

    pub(crate) fn with_digests(context: CausalContext, live: LiveDigests) -> Self {
        CausalVersion {
            context,
            live: Some(live),
        }
    }
}

impl From<CausalContext> for CausalVersion {
    fn from(context: CausalContext) -> Self {
        CausalVersion::from_context(context)
    }
}

#[cfg(test)]
mod tests {
    use super::seq_digest;

    #[test]
    fn no_sequence_number_has_a_zero_digest() {
        // The finalizer is a bijection with 0 -> 0; check the edges and the old trap value.
        for seq in [1u64, 2, u64::MAX, 0x61c8_8646_80b5_83eb, 1 << 63] {
            assert_ne!(seq_digest(seq), 0);
        }
        assert_eq!(seq_digest(0), 0);
    }
}
