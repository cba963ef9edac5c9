//! Multi-value register.

use alloc::vec::Vec;

use smallvec::SmallVec;

use crate::causal::seq_set::SeqSet;
use crate::causal::{toggle, LiveDigests, VecMap};
use crate::set::fresh_dot;
use crate::{CausalContext, CausalVersion, DeltaCrdt, Dot, DotsExhausted, Lattice, ReplicaId};

/// A multi-value register: concurrent writes are all kept, as siblings, until a write that
/// has seen them replaces them. The application resolves conflicts by reading the siblings
/// and writing the value it wants.
///
/// Built on dots like [`ORSet`](crate::ORSet): each write gets a fresh dot and retires the
/// dots of every sibling it has seen.
///
/// ```
/// use deltacrdt::{Lattice, MVRegister, ReplicaId};
/// let (a, b) = (ReplicaId(1), ReplicaId(2));
/// let mut x = MVRegister::new();
/// let mut y = MVRegister::new();
/// let dx = x.write(a, "blue").unwrap();
/// let dy = y.write(b, "green").unwrap();
/// x.join(dy);
/// y.join(dx);
/// assert_eq!(x.values().collect::<Vec<_>>(), vec![&"blue", &"green"]);
/// let resolved = x.write(a, "teal").unwrap(); // has seen both siblings
/// y.join(resolved);
/// assert_eq!(y.values().collect::<Vec<_>>(), vec![&"teal"]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MVRegister<V> {
    /// Sorted by dot; each dot appears once.
    pub(crate) siblings: SmallVec<[(Dot, V); 1]>,
    pub(crate) context: CausalContext,
}

impl<V> Default for MVRegister<V> {
    fn default() -> Self {
        MVRegister {
            siblings: SmallVec::new(),
            context: CausalContext::new(),
        }
    }
}

impl<V: Ord + Clone> MVRegister<V> {
    /// An empty register.
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes `value` on behalf of `replica`, replacing every sibling seen here; returns the delta.
    ///
    /// # Errors
    /// [`DotsExhausted`] if `replica` has no sequence numbers left.
    pub fn write(&mut self, replica: ReplicaId, value: V) -> Result<MVRegister<V>, DotsExhausted> {
        let dot = fresh_dot(&self.context, replica)?;
        let mut delta = MVRegister::new();
        for (d, _) in &self.siblings {
            delta.context.insert(*d);
        }
        delta.context.insert(dot);
        delta.siblings.push((dot, value));
        self.join_ref(&delta);
        Ok(delta)
    }

    /// Removes every sibling seen here (the register reads as empty); returns the delta.
    pub fn clear(&mut self) -> MVRegister<V> {
        let mut delta = MVRegister::new();
        for (d, _) in &self.siblings {
            delta.context.insert(*d);
        }
        self.join_ref(&delta);
        delta
    }

    /// The concurrent values, in the order of their dots (replica, then sequence number).
    pub fn values(&self) -> impl ExactSizeIterator<Item = &V> + '_ {
        self.siblings.iter().map(|(_, v)| v)
    }

    /// The siblings with the dots that wrote them.
    pub fn siblings(&self) -> &[(Dot, V)] {
        &self.siblings
    }

    /// Whether there are concurrent values (more than one sibling).
    pub fn is_conflicted(&self) -> bool {
        self.siblings.len() > 1
    }

    /// Whether the register holds no value.
    pub fn is_empty(&self) -> bool {
        self.siblings.is_empty()
    }

    /// The causal context: every write this replica has seen.
    pub fn context(&self) -> &CausalContext {
        &self.context
    }

    /// Builds a register from raw parts, checking that dots are distinct and in `context`.
    ///
    /// # Errors
    /// A message naming the broken invariant.
    pub fn from_parts(
        siblings: Vec<(Dot, V)>,
        context: CausalContext,
    ) -> Result<Self, &'static str> {
        let mut siblings: SmallVec<[(Dot, V); 1]> = siblings.into_iter().collect();
        siblings.sort_by_key(|s| s.0);
        if siblings.windows(2).any(|w| w[0].0 == w[1].0) {
            return Err("a dot holds two values");
        }
        if siblings.iter().any(|(d, _)| !context.contains(*d)) {
            return Err("a dot is missing from the causal context");
        }
        Ok(MVRegister { siblings, context })
    }

    fn join_impl(&mut self, other: &Self) -> bool {
        let mut merged: SmallVec<[(Dot, V); 1]> = SmallVec::new();
        let (mut i, mut j) = (0, 0);
        let (a, b) = (&self.siblings, &other.siblings);
        let mut changed = false;
        while i < a.len() || j < b.len() {
            let next_a = a.get(i);
            let next_b = b.get(j);
            match (next_a, next_b) {
                (Some(x), Some(y)) if x.0 == y.0 => {
                    // Same event on both sides: the values agree unless a peer misbehaved;
                    // keep the greater so the join stays commutative.
                    if y.1 > x.1 {
                        changed = true;
                        merged.push(y.clone());
                    } else {
                        merged.push(x.clone());
                    }
                    i += 1;
                    j += 1;
                }
                (Some(x), y) if y.is_none_or(|y| x.0 < y.0) => {
                    if other.context.contains(x.0) {
                        changed = true; // seen there and replaced
                    } else {
                        merged.push(x.clone());
                    }
                    i += 1;
                }
                (_, Some(y)) => {
                    if !self.context.contains(y.0) {
                        changed = true;
                        merged.push(y.clone());
                    }
                    j += 1;
                }
                _ => unreachable!("loop condition guarantees one side is non-empty"),
            }
        }
        self.siblings = merged;
        changed |= self.context.join(&other.context);
        changed
    }
}

impl<V: Ord + Clone> Lattice for MVRegister<V> {
    fn join(&mut self, other: Self) -> bool {
        self.join_impl(&other)
    }

    fn join_ref(&mut self, other: &Self) -> bool {
        self.join_impl(other)
    }

    fn is_bottom(&self) -> bool {
        self.siblings.is_empty() && self.context.is_empty()
    }
}

impl<V: Ord + Clone> MVRegister<V> {
    fn live_digests(&self) -> LiveDigests {
        let mut live = LiveDigests::new();
        for (d, _) in &self.siblings {
            toggle(&mut live, d.replica, d.seq);
        }
        live
    }
}

/// The live-dot digest of `replica`'s dots `seqs`, as a [`CausalVersion`] carries it.
#[inline]
fn digest_of(replica: ReplicaId, seqs: &[u64]) -> u64 {
    if seqs.is_empty() {
        return 0;
    }
    let mut one = LiveDigests::new();
    for &q in seqs {
        toggle(&mut one, replica, q);
    }
    one.get(&replica).copied().unwrap_or(0)
}

/// A copy of `s`: its runs copied at once (`clone` pushes them one by one), and a single
/// run, the usual case, without a call.
#[inline]
fn copy_of(s: &SeqSet) -> SeqSet {
    SeqSet::from_canonical_runs(match s.runs() {
        [run] => SmallVec::from_buf([*run]),
        runs => SmallVec::from_slice(runs),
    })
}

/// Adds to `out` every number of `seen` that is not in `live` (ascending, a subset of `seen`):
/// the writes both sides have seen that were replaced here.
fn insert_replaced(out: &mut SeqSet, seen: &SeqSet, live: &[u64]) {
    let mut live = live.iter().copied().peekable();
    for &(first, last) in seen.runs() {
        let mut next = Some(first);
        while let Some(q) = live.next_if(|&q| q <= last) {
            if let Some(n) = next.filter(|&n| q > n) {
                out.insert_range(n, q - 1);
            }
            next = q.checked_add(1);
        }
        if let Some(n) = next.filter(|&n| n <= last) {
            out.insert_range(n, last);
        }
    }
}

impl<V: Ord + Clone> DeltaCrdt for MVRegister<V> {
    type Version = CausalVersion;

    fn version(&self) -> CausalVersion {
        CausalVersion::with_digests(self.context.clone(), self.live_digests())
    }

    /// The siblings whose dots `version` lacks, the writes it has not seen, and, for replicas
    /// whose live-dot digest differs, the replaced writes it has seen (it may still hold them).
    ///
    /// One walk over the replicas of the context, in order, building the delta's context
    /// entry by entry: no intermediate contexts, and no allocation unless the delta needs
    /// more than one replica (then one, sized for the replicas left, trimmed if mostly unused).
    fn delta_since(&self, version: &CausalVersion) -> Self {
        let mut theirs = version.context.replicas.iter().peekable();
        let mut digests = version.live.as_ref().map(|l| l.iter().peekable());
        let mut entries: SmallVec<[(ReplicaId, SeqSet); 1]> = SmallVec::new();
        let mut siblings: SmallVec<[(Dot, V); 1]> = SmallVec::new();
        let mut rest = &self.siblings[..];
        let replicas = self.context.replicas.len();
        for (n, (&r, ours)) in self.context.replicas.iter().enumerate() {
            // Siblings are sorted by dot, and every sibling's replica is in the context; a
            // replica rarely has more than one live sibling, so a linear scan finds them.
            let here = rest.iter().take_while(|(d, _)| d.replica <= r).count();
            let live = rest[..here].iter().filter(|(d, _)| d.replica == r);
            rest = &rest[here..];
            while theirs.next_if(|(t, _)| **t < r).is_some() {}
            let ctx = match theirs.next_if(|(t, _)| **t == r) {
                None => {
                    // Nothing of `r` seen there: every write, every live sibling.
                    siblings.extend(live.cloned());
                    copy_of(ours)
                }
                Some((_, seen)) => {
                    // The writes the version lacks (usually none: skip the difference).
                    let in_sync = seen == ours || seen.includes(ours);
                    let mut ctx = if in_sync {
                        SeqSet::default()
                    } else {
                        ours.difference(seen)
                    };
                    // Live siblings it lacks go out; the others it holds (or replaced).
                    let mut kept: SmallVec<[u64; 4]> = SmallVec::new();
                    for s in live {
                        if !in_sync && ctx.contains(s.0.seq) {
                            siblings.push(s.clone());
                        } else {
                            kept.push(s.0.seq);
                        }
                    }
                    // The version's digest of `r`'s live dots (`None`: unknown, 0: none live)
                    // against the digest of what it would hold if it held the same.
                    let digest = digests.as_mut().map(|d| {
                        while d.next_if(|(t, _)| **t < r).is_some() {}
                        d.next_if(|(t, _)| **t == r).map_or(0, |(_, x)| *x)
                    });
                    if digest != Some(digest_of(r, &kept)) {
                        if ctx.is_empty() && kept.is_empty() {
                            ctx = copy_of(ours);
                        } else {
                            let both;
                            let both = if ctx.is_empty() {
                                ours
                            } else {
                                both = ours.difference(&ctx);
                                &both
                            };
                            insert_replaced(&mut ctx, both, &kept);
                        }
                    }
                    ctx
                }
            };
            if !ctx.is_empty() {
                if entries.len() == entries.capacity() {
                    entries.reserve(replicas - n);
                }
                entries.push((r, ctx));
            }
        }
        if entries.capacity() > 2 * entries.len().max(1) {
            entries.shrink_to_fit();
        }
        MVRegister {
            siblings,
            context: CausalContext {
                replicas: VecMap::from_sorted(entries),
            },
        }
    }

    fn claims_unissued(&self, issuer: &Self, replica: ReplicaId) -> bool {
        self.context.max_seq(replica) > issuer.context.max_seq(replica)
    }

    fn dot_collision(&self, other: &Self) -> Option<Dot> {
        // Both are sorted by dot: one merge walk.
        let (mut a, mut b) = (
            self.siblings.iter().peekable(),
            other.siblings.iter().peekable(),
        );
        while let (Some(x), Some(y)) = (a.peek(), b.peek()) {
            match x.0.cmp(&y.0) {
                core::cmp::Ordering::Less => drop(a.next()),
                core::cmp::Ordering::Greater => drop(b.next()),
                core::cmp::Ordering::Equal if x.1 != y.1 => return Some(x.0),
                core::cmp::Ordering::Equal => {
                    a.next();
                    b.next();
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{Binary, Codec, DecodeErrorKind};
    use crate::set::insert_gaps;
    use crate::CausalVersion;
    use alloc::vec;
    use quickcheck::quickcheck;

    /// The catch-up delta computed the straightforward way (context differences, then the
    /// replaced writes of every replica whose live-dot digest differs): what
    /// [`MVRegister::delta_since`] must return, whatever shortcut it takes.
    fn reference_delta_since(x: &MVRegister<u8>, version: &CausalVersion) -> MVRegister<u8> {
        let missing = x.context.difference(&version.context);
        let mut delta = MVRegister::new();
        for s in &x.siblings {
            if missing.contains(s.0) {
                delta.siblings.push(*s);
            }
        }
        let common = x.context.difference(&missing);
        let ours = x.live_digests();
        let sent = delta.live_digests();
        delta.context = missing;
        for (&r, seqs) in &common.replicas {
            let seen = ours.get(&r).copied().unwrap_or(0) ^ sent.get(&r).copied().unwrap_or(0);
            if version.live_digest(r) == Some(seen) {
                continue;
            }
            let live: Vec<u64> = x
                .siblings
                .iter()
                .filter(|(d, _)| d.replica == r)
                .map(|(d, _)| d.seq)
                .collect();
            for &(first, last) in seqs.runs() {
                let inside = live.iter().copied().filter(|&q| q >= first && q <= last);
                insert_gaps(&mut delta.context, r, first, last, inside);
            }
        }
        delta
    }

    /// Replays `ops` on `n` replicas: `(i, kind, arg)` writes, clears, joins another
    /// replica's state, or joins one of the deltas produced so far (so contexts get gaps).
    fn history(ops: &[(u8, u8, u8)], n: u8) -> Vec<MVRegister<u8>> {
        let mut xs: Vec<MVRegister<u8>> = vec![MVRegister::new(); usize::from(n)];
        let mut deltas: Vec<MVRegister<u8>> = Vec::new();
        for &(i, kind, arg) in ops {
            let i = usize::from(i % n);
            match kind % 5 {
                0 | 1 => {
                    let d = xs[i]
                        .write(ReplicaId(u64::from(i as u8) * 7 + 1), arg)
                        .unwrap();
                    deltas.push(d);
                }
                2 => deltas.push(xs[i].clear()),
                3 => {
                    let other = xs[usize::from(arg % n)].clone();
                    xs[i].join(other);
                }
                _ => {
                    if let Some(d) = deltas.get(usize::from(arg) % deltas.len().max(1)) {
                        xs[i].join_ref(d);
                    }
                }
            }
        }
        xs
    }

    quickcheck! {
        // Three replicas meet often (a live write next to replaced ones of the same replica,
        // which the other side has seen); sixteen give long contexts.
        fn delta_since_matches_the_reference(ops: Vec<(u8, u8, u8)>) -> bool {
            [3, 16].into_iter().all(|n| {
            let xs = history(&ops, n);
            xs.iter().all(|a| {
                xs.iter().all(|b| {
                    let with_digests = b.version();
                    let bare = CausalVersion::from_context(b.context.clone());
                    let d = a.delta_since(&with_digests);
                    d == reference_delta_since(a, &with_digests)
                        && a.delta_since(&bare) == reference_delta_since(a, &bare)
                        && b.joined(&d) == b.joined(a)
                })
            })
            })
        }

        fn encoding_round_trips_with_many_replicas(ops: Vec<(u8, u8, u8)>) -> bool {
            history(&ops, 16).iter().all(|x| {
                let bytes = x.to_bytes();
                let mut body = vec![crate::codec::FORMAT_VERSION, crate::codec::tag::MV_REGISTER];
                x.encode(&mut body);
                bytes == body && MVRegister::<u8>::from_bytes(&bytes).as_ref() == Ok(x)
            })
        }
    }

    #[test]
    fn in_sync_replicas_need_no_delta_whatever_was_overwritten() {
        let mut x = MVRegister::new();
        for w in 0..16u64 {
            let mut own = MVRegister::new();
            x.join(own.write(ReplicaId(w), w).unwrap());
        }
        let y = x.clone();
        x.write(ReplicaId(3), 99).unwrap();
        let d = x.delta_since(&y.version());
        // The new write, and the 16 overwritten dots that y still holds.
        assert_eq!(d.siblings(), &[(Dot::new(ReplicaId(3), 2), 99)]);
        assert_eq!(d.context().dot_count(), 17);
        assert_eq!(y.joined(&d), x);
        assert!(x.delta_since(&x.version()).is_bottom());
        assert!(x.delta_since(&y.joined(&d).version()).is_bottom());
    }

    #[test]
    fn delta_since_retires_the_replaced_writes_around_a_live_one() {
        let a = ReplicaId(1);
        let mut w = MVRegister::new();
        let writes: Vec<MVRegister<u8>> = (1..=5).map(|v| w.write(a, v).unwrap()).collect();
        // x holds the first and the third write live, and has seen a's first five writes
        // (through the later deltas, which retire the write before each).
        let mut x = MVRegister::new();
        x.join_ref(&writes[0]);
        x.join_ref(&writes[2]);
        x.join_ref(&writes[4]);
        assert_eq!(x.values().collect::<Vec<_>>(), [&1, &3, &5]);
        let mut y = MVRegister::new();
        y.join_ref(&writes[4]);
        y.join(MVRegister::from_parts(vec![], (1..=5).map(|q| Dot::new(a, q)).collect()).unwrap());
        // y has seen the same dots but holds only the fifth write: x sends the dots it
        // replaced between and around its live ones.
        let d = x.delta_since(&y.version());
        assert_eq!(d, reference_delta_since(&x, &y.version()));
        let dots: Vec<Dot> = d.context().dots().collect();
        assert_eq!(dots, [Dot::new(a, 2), Dot::new(a, 4)]);
        assert!(d.siblings().is_empty());
        assert_eq!(y.joined(&d), y.joined(&x));
    }

    #[test]
    fn decode_checks_every_dot() {
        let mut x = MVRegister::new();
        x.write(ReplicaId(1), 5u8).unwrap();
        let mut y = MVRegister::new();
        x.join(y.write(ReplicaId(2), 6u8).unwrap());
        let good = x.to_bytes();
        // Header 2, context 1 + 2 * 11, sibling count 1: the first sibling's replica index.
        let first = 2 + 1 + 2 * 11 + 1;
        assert_eq!(good[first], 0);
        let kind = |bytes: &[u8]| MVRegister::<u8>::from_bytes(bytes).unwrap_err().kind;
        let mut bad = good.clone();
        bad[first] = 2;
        assert_eq!(kind(&bad), DecodeErrorKind::BadReplicaIndex(2));
        let mut bad = good.clone();
        bad[first + 1] = 2; // seq 2 was never seen
        assert_eq!(kind(&bad), DecodeErrorKind::DotNotInContext);
        let mut bad = good.clone();
        bad[first + 3] = 0; // second sibling on replica index 0, seq 1: a duplicate dot
        assert_eq!(kind(&bad), DecodeErrorKind::NotAscending);
        assert_eq!(MVRegister::<u8>::from_bytes(&good), Ok(x));
    }
}
