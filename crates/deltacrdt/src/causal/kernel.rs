//! [`Causal`]: a dot store with the causal context, written once for every causal type.

use core::fmt;
use core::hash::{Hash, Hasher};

use smallvec::SmallVec;

use super::seq_set::SeqSet;
use super::store::DotStore;
use super::version::{seq_digest, toggle, LiveDigests, ToggleBatch};
use crate::causal::{CausalContext, CausalVersion, Dot, ReplicaId, VecMap};
use crate::{DeltaCrdt, Lattice};

/// A replica has used every dot it can name (2^64 - 1 events), or a peer claimed it had;
/// nothing was changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DotsExhausted {
    /// The replica that cannot create another event.
    pub replica: ReplicaId,
}

impl fmt::Display for DotsExhausted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "replica {} has no sequence numbers left (its context already holds seq 2^64 - 1); use a new replica id",
            self.replica
        )
    }
}

#[cfg(feature = "std")]
impl std::error::Error for DotsExhausted {}

/// A causal CRDT: a dot store `S` and the causal context of every event seen.
///
/// This is the one construction behind [`ORSet`](crate::ORSet), [`MVRegister`](crate::MVRegister),
/// [`ORMap`](crate::ORMap), [`EWFlag`](crate::EWFlag), [`CausalCounter`](crate::CausalCounter)
/// and [`LWWField`](crate::LWWField), each a thin type over `Causal<S>` for some store. It
/// implements, once for all of them:
///
/// - [`Lattice::join`]: the store's join under both contexts, then the union of the contexts;
/// - [`DeltaCrdt`]: the version (the context plus per-replica digests of the live dots, kept
///   up to date on every change) and `delta_since`, which sends the live entries whose dots the
///   version lacks, the events it lacks, and, only for replicas whose digest differs, the
///   removed events it has seen;
/// - the binary format (the context, then the store; see [`StoreCodec`](crate::codec::StoreCodec))
///   and the payload measure.
///
/// A new causal type is a store (or a composition of the existing ones) plus its mutators.
///
/// ```
/// use deltacrdt::causal::{Causal, DotSet};
/// use deltacrdt::{DeltaCrdt, Lattice, ReplicaId};
/// // An enable-wins flag by hand: enabling adds a fresh dot and retires the dots seen.
/// let mut a: Causal<DotSet> = Causal::new();
/// let dot = a.next_dot(ReplicaId(1)).unwrap();
/// let delta = Causal::from_store_with(DotSet::single(dot), a.store().as_slice().iter().copied().chain([dot]));
/// a.join(delta.clone());
/// let mut b = Causal::new();
/// b.join(a.delta_since(&b.version()));
/// assert_eq!(a, b);
/// assert_eq!(b.store().len(), 1);
/// ```
#[derive(Clone)]
pub struct Causal<S> {
    pub(crate) store: S,
    pub(crate) context: CausalContext,
    /// Per replica, the digest of its live dots (derived from `store`), kept up to date on
    /// every change for stores that ask for it ([`DotStore::TRACK_DIGESTS`]); empty for the
    /// others, whose digests are computed when a version or catch-up needs them.
    pub(crate) live: LiveDigests,
}

impl<S: Default> Default for Causal<S> {
    fn default() -> Self {
        Causal {
            store: S::default(),
            context: CausalContext::new(),
            live: LiveDigests::new(),
        }
    }
}

impl<S: PartialEq> PartialEq for Causal<S> {
    fn eq(&self, other: &Self) -> bool {
        // The digests are derived from the store.
        self.context == other.context && self.store == other.store
    }
}

impl<S: Eq> Eq for Causal<S> {}

impl<S: Hash> Hash for Causal<S> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.store.hash(state);
        self.context.hash(state);
    }
}

impl<S: fmt::Debug> fmt::Debug for Causal<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Causal")
            .field("store", &self.store)
            .field("context", &self.context)
            .finish()
    }
}

impl<S: DotStore> Causal<S> {
    /// The bottom value: an empty store, nothing seen.
    pub fn new() -> Self {
        Self::default()
    }

    /// A value from a store and a context, checking that every live dot is in the context
    /// and computing the digests.
    ///
    /// # Errors
    /// [`PartsError::DotNotInContext`](PartsError::DotNotInContext) naming a live dot
    /// the context lacks.
    pub fn from_parts(store: S, context: CausalContext) -> Result<Self, PartsError> {
        let mut missing = None;
        store.for_each_dot(&mut |d| {
            if missing.is_none() && !context.contains(d) {
                missing = Some(d);
            }
        });
        if let Some(dot) = missing {
            return Err(PartsError::DotNotInContext(dot));
        }
        Ok(Self::from_parts_unchecked(store, context))
    }

    /// A delta holding `store` and the events `seen` (which should include the store's dots;
    /// they are added to the context in any case). The shape of every mutator's delta.
    pub fn from_store_with(store: S, seen: impl IntoIterator<Item = Dot>) -> Self {
        let mut context: CausalContext = seen.into_iter().collect();
        store.for_each_dot(&mut |d| {
            context.insert(d);
        });
        Self::from_parts_unchecked(store, context)
    }

    /// A value whose store's dots are all in `context` (checked by the caller).
    pub(crate) fn from_parts_unchecked(store: S, context: CausalContext) -> Self {
        let live = if S::TRACK_DIGESTS {
            digests_of(&store)
        } else {
            LiveDigests::new()
        };
        Causal {
            store,
            context,
            live,
        }
    }

    /// The dot store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The causal context: every event seen.
    pub fn context(&self) -> &CausalContext {
        &self.context
    }

    /// The store and the context.
    pub fn into_parts(self) -> (S, CausalContext) {
        (self.store, self.context)
    }

    /// The next dot for `replica`: one past the highest of its events seen here.
    ///
    /// # Errors
    /// [`DotsExhausted`] if `replica` has no sequence numbers left.
    pub fn next_dot(&self, replica: ReplicaId) -> Result<Dot, DotsExhausted> {
        self.context.try_next_dot(replica)
    }
}

impl<S: DotStore> Causal<S> {
    /// The join of a non-bottom `self` with the store and context of another value.
    fn join_store(&mut self, their_store: S, theirs: &CausalContext) -> bool {
        let mut changed = if S::TRACK_DIGESTS {
            // Dots come and go mostly in dot order: each replica's digest is updated once a run.
            let mut flips = ToggleBatch::new(&mut self.live);
            self.store
                .join(&self.context, their_store, theirs, &mut |d: Dot, _| {
                    flips.toggle(d.replica, d.seq)
                })
        } else {
            self.store
                .join(&self.context, their_store, theirs, &mut |_, _| {})
        };
        changed |= self.context.join(theirs);
        changed
    }

    /// The digest of `replica`'s live dots, and whether it is known to have none: kept, or
    /// computed from the (small) store (see [`DotStore::TRACK_DIGESTS`]), without building
    /// the digests of every replica.
    #[inline]
    fn live_digest(&self, replica: ReplicaId) -> (u64, bool) {
        if S::TRACK_DIGESTS {
            (self.live.get(&replica).copied().unwrap_or(0), false)
        } else {
            let (mut digest, mut none) = (0, true);
            self.store.live_in(replica, 0, u64::MAX, &mut |q| {
                digest ^= seq_digest(q);
                none = false;
            });
            (digest, none)
        }
    }

    /// The live digests: kept, or computed from the store (see [`DotStore::TRACK_DIGESTS`]).
    fn digests(&self) -> alloc::borrow::Cow<'_, LiveDigests> {
        if S::TRACK_DIGESTS {
            alloc::borrow::Cow::Borrowed(&self.live)
        } else {
            alloc::borrow::Cow::Owned(digests_of(&self.store))
        }
    }
}

impl<S: DotStore> Lattice for Causal<S> {
    fn join(&mut self, other: Self) -> bool {
        if self.is_bottom() {
            // A fresh replica loading a state: take it as it is.
            let changed = !other.is_bottom();
            *self = other;
            return changed;
        }
        let Causal {
            store: their_store,
            context: theirs,
            ..
        } = other;
        self.join_store(their_store, &theirs)
    }

    /// Clones only the other store: the join reads the other context by reference and
    /// never needs its digests (a mutator's delta is joined this way on every call).
    fn join_ref(&mut self, other: &Self) -> bool {
        if self.is_bottom() {
            let changed = !other.is_bottom();
            *self = other.clone();
            return changed;
        }
        self.join_store(other.store.clone(), &other.context)
    }

    fn is_bottom(&self) -> bool {
        self.store.is_empty() && self.context.is_empty()
    }
}

impl<S: DotStore> DeltaCrdt for Causal<S> {
    type Version = CausalVersion;

    /// The causal context (compact: one entry per replica unless events arrived out of
    /// order) with a digest of the live dots of each replica.
    fn version(&self) -> CausalVersion {
        CausalVersion::with_digests(self.context.clone(), self.digests().into_owned())
    }

    /// The live entries whose dots `version` lacks and the events it lacks; and, for each
    /// replica whose live-dot digest differs from ours, the removed events `version` has seen
    /// (its holder may still have their entries), as runs.
    ///
    /// One walk over the replicas of the context, building the delta's context entry by entry.
    /// Cost: one store lookup per run of missing events, plus, only for replicas whose digests
    /// differ, a walk over our live dots of that replica.
    fn delta_since(&self, version: &CausalVersion) -> Self {
        let mut theirs = version.context.replicas.iter().peekable();
        let mut digests = version.live.as_ref().map(|l| l.iter().peekable());
        let mut entries: SmallVec<[(ReplicaId, SeqSet); 1]> = SmallVec::new();
        let mut store = S::default();
        let replicas = self.context.replicas.len();
        for (n, (&r, ours)) in self.context.replicas.iter().enumerate() {
            while theirs.next_if(|(t, _)| **t < r).is_some() {}
            let seen = theirs.next_if(|(t, _)| **t == r).map(|(_, s)| s);
            // The events the version lacks (usually none: skip the difference).
            let mut ctx = match seen {
                None => ours.clone(),
                Some(s) if s == ours || s.includes(ours) => SeqSet::default(),
                Some(s) => ours.difference(s),
            };
            // Live entries it lacks go out; the digest of what they leave behind decides
            // whether it needs the removals it has seen.
            let mut sent = 0u64;
            for &(first, last) in ctx.runs() {
                self.store.live_in(r, first, last, &mut |q| {
                    self.store.copy_dot(Dot::new(r, q), &mut store);
                    sent ^= seq_digest(q);
                });
            }
            if let Some(seen) = seen {
                let (live, none_live) = self.live_digest(r);
                let kept = live ^ sent;
                // The version's digest of `r` (`None`: unknown, 0: none live).
                let digest = digests.as_mut().map(|d| {
                    while d.next_if(|(t, _)| **t < r).is_some() {}
                    d.next_if(|(t, _)| **t == r).map_or(0, |(_, x)| *x)
                });
                if digest != Some(kept) && ctx.is_empty() && none_live {
                    // Nothing of `r` is live here and the version lacks none of its events:
                    // every event it has seen of `r` is a gap (a sibling since overwritten).
                    ctx = ours.clone();
                } else if digest != Some(kept) {
                    let common = if ctx.is_empty() {
                        ours.clone()
                    } else {
                        ours.difference(&ctx)
                    };
                    debug_assert!(seen.includes(&common));
                    for &(first, last) in common.runs() {
                        insert_gaps(&mut ctx, &self.store, r, first, last);
                    }
                }
            }
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
        let context = CausalContext {
            replicas: VecMap::from_sorted(entries),
        };
        Causal::from_parts_unchecked(store, context)
    }

    fn claims_unissued(&self, issuer: &Self, replica: ReplicaId) -> bool {
        self.context.max_seq(replica) > issuer.context.max_seq(replica)
    }

    fn dot_collision(&self, other: &Self) -> Option<Dot> {
        self.store.collision(&other.store)
    }
}

/// The per-replica digests of the live dots of `store`.
pub(crate) fn digests_of<S: DotStore>(store: &S) -> LiveDigests {
    let mut live = LiveDigests::new();
    store.for_each_dot(&mut |d| toggle(&mut live, d.replica, d.seq));
    live
}

/// XORs the digests `other` into `into` (per replica; a digest that becomes 0 is dropped).
pub(crate) fn xor_into(into: &mut LiveDigests, other: &LiveDigests) {
    for (&r, &d) in other.iter() {
        let slot = into.get_or_insert_with(r, || 0);
        *slot ^= d;
        if *slot == 0 {
            into.remove(&r);
        }
    }
}

/// Inserts into `out` the numbers of `first..=last` of `replica` that are not live in
/// `store`: the events seen and since removed. This is the one gap walk of catch-up.
pub(crate) fn insert_gaps<S: DotStore>(
    out: &mut SeqSet,
    store: &S,
    replica: ReplicaId,
    first: u64,
    last: u64,
) {
    let mut next = Some(first);
    store.live_in(replica, first, last, &mut |seq| {
        if let Some(n) = next {
            if seq > n {
                out.insert_range(n, seq - 1);
            }
        }
        next = seq.checked_add(1);
    });
    if let Some(n) = next {
        if n <= last {
            out.insert_range(n, last);
        }
    }
}

/// What is wrong with the parts given to a `from_parts` constructor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PartsError {
    /// A live dot is missing from the causal context.
    DotNotInContext(Dot),
    /// A dot is listed under two elements or values.
    DuplicateDot(Dot),
    /// An element is listed with no dot.
    NoDots,
    /// An element is listed twice.
    DuplicateElement,
}

impl fmt::Display for PartsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PartsError::DotNotInContext(d) => {
                write!(f, "the live dot {d} is missing from the causal context")
            }
            PartsError::DuplicateDot(d) => write!(f, "the dot {d} is listed twice"),
            PartsError::NoDots => write!(f, "an element has no dots"),
            PartsError::DuplicateElement => write!(f, "an element is listed twice"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for PartsError {}

/// A causal CRDT: a type that is a thin wrapper over [`Causal<Self::Store>`](Causal). Every
/// causal type of the crate implements it, and so can a type of yours: that is what lets a
/// type be the value of an [`ORMap`](crate::ORMap), which keeps the nested value's store under
/// its key and gives it the map's causal context while a mutator runs.
///
/// **Implementer notes.** The three conversions must be free moves (no change to the store or
/// the context). The type's mutators must change the value only by joining deltas into it (the
/// shape `m(x) = x ⊔ m_delta(x)`), or by edits with the same effect; they must return the
/// delta that holds every change they made, and change nothing when they fail.
///
/// ```
/// use deltacrdt::causal::{Causal, CausalType, DotFun};
/// use deltacrdt::{DotsExhausted, Lattice, ORMap, ReplicaId};
///
/// /// A register that keeps the greatest value written: concurrent writes merge by `max`.
/// #[derive(Clone, Default, Debug, PartialEq)]
/// struct MaxRegister(Causal<DotFun<u64>>);
///
/// impl CausalType for MaxRegister {
///     type Store = DotFun<u64>;
///     fn from_causal(c: Causal<DotFun<u64>>) -> Self { MaxRegister(c) }
///     fn into_causal(self) -> Causal<DotFun<u64>> { self.0 }
///     fn as_causal(&self) -> &Causal<DotFun<u64>> { &self.0 }
/// }
///
/// impl MaxRegister {
///     fn write(&mut self, me: ReplicaId, v: u64) -> Result<Self, DotsExhausted> {
///         let dot = self.0.next_dot(me)?;
///         let mut store = DotFun::new();
///         store.insert(dot, v.max(self.get()));
///         let seen = self.0.store().iter().map(|(d, _)| d);
///         let delta = Causal::from_store_with(store, seen);
///         self.0.join(delta.clone());
///         Ok(MaxRegister(delta))
///     }
///     fn get(&self) -> u64 { self.0.store().iter().map(|(_, v)| *v).max().unwrap_or(0) }
/// }
///
/// let (a, b) = (ReplicaId(1), ReplicaId(2));
/// let mut x: ORMap<&str, MaxRegister> = ORMap::new();
/// let mut y = x.clone();
/// let dx = x.try_update("high score", |r| r.write(a, 40)).unwrap();
/// let dy = y.try_update("high score", |r| r.write(b, 55)).unwrap();
/// x.join(dy);
/// y.join(dx);
/// assert_eq!(x, y);
/// assert_eq!(x.get("high score").map(|r| r.get()), Some(55));
/// ```
pub trait CausalType: Sized {
    /// The dot store of the type.
    type Store: DotStore;

    /// The value holding `causal`.
    fn from_causal(causal: Causal<Self::Store>) -> Self;

    /// The causal value inside.
    fn into_causal(self) -> Causal<Self::Store>;

    /// The causal value inside, borrowed.
    fn as_causal(&self) -> &Causal<Self::Store>;
}

impl<S: DotStore> CausalType for Causal<S> {
    type Store = S;

    fn from_causal(causal: Causal<S>) -> Self {
        causal
    }

    fn into_causal(self) -> Causal<S> {
        self
    }

    fn as_causal(&self) -> &Causal<S> {
        self
    }
}

/// Implements [`CausalType`], [`Lattice`] and [`DeltaCrdt`] for a tuple struct over
/// `Causal<store>` by delegating to the wrapper: a causal type is its store plus its
/// mutators, and this line. `causal_type!([generics] Type, Store);`
macro_rules! causal_type {
    ([$($g:tt)*] $t:ty, $store:ty) => {
        impl<$($g)*> $crate::causal::CausalType for $t {
            type Store = $store;

            fn from_causal(causal: $crate::causal::Causal<$store>) -> Self {
                Self(causal)
            }

            fn into_causal(self) -> $crate::causal::Causal<$store> {
                self.0
            }

            fn as_causal(&self) -> &$crate::causal::Causal<$store> {
                &self.0
            }
        }

        impl<$($g)*> $crate::Lattice for $t {
            fn join(&mut self, other: Self) -> bool {
                self.0.join(other.0)
            }

            /// Clones only the other store (see [`Causal`](crate::causal::Causal)'s
            /// `join_ref`), not the whole value as the trait's default would.
            fn join_ref(&mut self, other: &Self) -> bool {
                self.0.join_ref(&other.0)
            }

            fn is_bottom(&self) -> bool {
                self.0.is_bottom()
            }
        }

        impl<$($g)*> $crate::DeltaCrdt for $t {
            type Version = $crate::CausalVersion;

            /// The causal context with a digest of the live dots of each replica.
            fn version(&self) -> $crate::CausalVersion {
                self.0.version()
            }

            /// The entries whose dots `version` lacks, the events it lacks, and, for replicas
            /// whose live-dot digest differs, the removed events it has seen; see
            /// [`Causal`](crate::causal::Causal).
            fn delta_since(&self, version: &$crate::CausalVersion) -> Self {
                Self(self.0.delta_since(version))
            }

            fn claims_unissued(&self, issuer: &Self, replica: $crate::ReplicaId) -> bool {
                self.0.claims_unissued(&issuer.0, replica)
            }

            fn dot_collision(&self, other: &Self) -> Option<$crate::Dot> {
                self.0.dot_collision(&other.0)
            }
        }
    };
}
pub(crate) use causal_type;
