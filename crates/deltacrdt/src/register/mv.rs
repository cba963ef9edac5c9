//! Multi-value register.

use alloc::vec::Vec;

use crate::causal::{causal_type, Causal, DotFun};
#[cfg(test)]
use crate::causal::{toggle, LiveDigests};
use crate::{CausalContext, Dot, DotsExhausted, PartsError, ReplicaId};

/// A multi-value register: concurrent writes are all kept, as siblings, until a write that
/// has seen them replaces them. The application resolves conflicts by reading the siblings
/// and writing the value it wants. `Causal<DotFun<V>>`.
///
/// Built on dots like [`ORSet`](crate::ORSet): each write gets a fresh dot and retires the
/// dots of every sibling it has seen.
///
/// ```
/// use deltacrdt::prelude::*;
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
pub struct MVRegister<V>(pub(crate) Causal<DotFun<V>>);

impl<V> Default for MVRegister<V> {
    fn default() -> Self {
        MVRegister(Causal {
            store: DotFun::default(),
            context: CausalContext::new(),
            live: Default::default(),
        })
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
    #[must_use = "send the delta to the other replicas"]
    pub fn write(&mut self, replica: ReplicaId, value: V) -> Result<MVRegister<V>, DotsExhausted> {
        let delta = self.write_delta(replica, value)?;
        // Applied in place: the same result as joining the delta, whose context holds every
        // sibling (so each is retired) and whose dot is fresh (so it is kept), without the
        // generic join's walk over both stores.
        self.0.store.entries.clone_from(&delta.0.store.entries);
        for (d, _) in delta.0.store.iter() {
            self.0.context.insert(d);
        }
        Ok(delta)
    }

    /// The delta of [`write`](Self::write) without applying it: the value under a fresh dot,
    /// and the dots of the siblings it replaces.
    ///
    /// # Errors
    /// [`DotsExhausted`] if `replica` has no sequence numbers left.
    pub fn write_delta(
        &self,
        replica: ReplicaId,
        value: V,
    ) -> Result<MVRegister<V>, DotsExhausted> {
        let dot = self.0.next_dot(replica)?;
        let mut store = DotFun::new();
        store.insert(dot, value);
        let seen = self.0.store.iter().map(|(d, _)| d);
        Ok(MVRegister(Causal::from_store_with(store, seen)))
    }

    /// Removes every sibling seen here (the register reads as empty); returns the delta.
    #[must_use = "send the delta to the other replicas"]
    pub fn clear(&mut self) -> MVRegister<V> {
        let delta = self.clear_delta();
        // The delta's context holds every sibling and no other event: joining it empties the
        // store and leaves the context as it is.
        self.0.store.entries.clear();
        delta
    }

    /// The delta of [`clear`](Self::clear) without applying it: the siblings' dots, retired.
    pub fn clear_delta(&self) -> MVRegister<V> {
        let seen = self.0.store.iter().map(|(d, _)| d);
        MVRegister(Causal::from_store_with(DotFun::new(), seen))
    }

    /// The concurrent values, in the order of their dots (replica, then sequence number).
    pub fn values(&self) -> impl ExactSizeIterator<Item = &V> + '_ {
        self.0.store.iter().map(|(_, v)| v)
    }

    /// The siblings with the dots that wrote them.
    pub fn siblings(&self) -> &[(Dot, V)] {
        self.0.store.as_slice()
    }

    /// Whether there are concurrent values (more than one sibling).
    pub fn is_conflicted(&self) -> bool {
        self.0.store.len() > 1
    }

    /// Whether the register holds no value.
    pub fn is_empty(&self) -> bool {
        self.0.store.is_empty()
    }

    /// The causal context: every write this replica has seen.
    pub fn context(&self) -> &CausalContext {
        &self.0.context
    }

    /// Builds a register from raw parts, checking that dots are distinct and in `context`.
    ///
    /// # Errors
    /// A [`PartsError`] naming the broken invariant.
    pub fn from_parts(siblings: Vec<(Dot, V)>, context: CausalContext) -> Result<Self, PartsError> {
        let mut store = DotFun::new();
        for (d, v) in siblings {
            if store.insert(d, v).is_some() {
                return Err(PartsError::DuplicateDot(d));
            }
        }
        Causal::from_parts(store, context).map(MVRegister)
    }
}

causal_type!([V: Ord + Clone] MVRegister<V>, DotFun<V>);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{Binary, Codec, DecodeErrorKind};
    use crate::CausalVersion;
    use crate::DeltaCrdt;
    use crate::Lattice;
    use alloc::vec;
    use quickcheck::quickcheck;

    /// The catch-up delta computed the straightforward way (context differences, then the
    /// replaced writes of every replica whose live-dot digest differs): what
    /// [`MVRegister::delta_since`] must return, whatever shortcut it takes.
    fn reference_delta_since(x: &MVRegister<u8>, version: &CausalVersion) -> MVRegister<u8> {
        let context = x.context();
        let missing = context.difference(&version.context);
        let mut siblings = Vec::new();
        for s in x.siblings() {
            if missing.contains(s.0) {
                siblings.push(*s);
            }
        }
        let common = context.difference(&missing);
        let digests = |s: &[(Dot, u8)]| {
            let mut live = LiveDigests::new();
            for (d, _) in s {
                toggle(&mut live, d.replica, d.seq);
            }
            live
        };
        let ours = digests(x.siblings());
        let sent = digests(&siblings);
        let mut delta_context = missing;
        for (&r, seqs) in &common.replicas {
            let seen = ours.get(&r).copied().unwrap_or(0) ^ sent.get(&r).copied().unwrap_or(0);
            if version.live_digest(r) == Some(seen) {
                continue;
            }
            for q in seqs.iter() {
                let dot = Dot::new(r, q);
                if !x.siblings().iter().any(|(d, _)| *d == dot) {
                    delta_context.insert(dot);
                }
            }
        }
        MVRegister::from_parts(siblings, delta_context).unwrap()
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
                    let bare = CausalVersion::from_context(b.context().clone());
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
        let _ = x.write(ReplicaId(3), 99).unwrap();
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
