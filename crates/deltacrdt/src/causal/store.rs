//! Dot stores: what a causal CRDT holds besides its causal context.
//!
//! A causal CRDT is a pair (dot store, causal context) (Almeida et al., "Delta State
//! Replicated Data Types", §6). The store holds the live dots with whatever they carry; the
//! context holds every dot ever seen, so a dot in the context but not in the store is an
//! event seen and since removed. These stores compose every causal type of the crate:
//!
//! | store | holds | used by |
//! |---|---|---|
//! | [`DotSet`] | a set of dots | [`EWFlag`](crate::EWFlag) |
//! | [`ElementDots`] | a set of dots in 16 bytes | each element of an [`ORSet`](crate::ORSet) |
//! | [`DotFun<V>`] | a value per dot | [`MVRegister`](crate::MVRegister), [`CausalCounter`](crate::CausalCounter), [`LWWField`](crate::LWWField) |
//! | [`DotMap<K, S>`](crate::causal::DotMap) | a store per key | [`ORSet`](crate::ORSet) (`S = ElementDots`), [`ORMap`](crate::ORMap) |
//!
//! Stores carry no context of their own: [`Causal`](crate::causal::Causal) owns the only one,
//! which is what lets a map nest any causal type under one context.

use core::fmt;

use smallvec::SmallVec;

use crate::causal::{CausalContext, Dot, ReplicaId};

/// A dot store: the part of a causal CRDT that holds live dots (see the module docs).
///
/// **Implementer notes.** Every method must agree with [`for_each_dot`](Self::for_each_dot):
/// the live dots are exactly the dots it yields, each once. [`join`](Self::join) must follow the
/// rule of causal CRDTs, dot by dot: a dot survives if both sides hold it, or if one side holds
/// it and the other side's context has not seen it; two values for one dot (which only a
/// forged input or a shared replica id can produce) are resolved by a rule that does not
/// depend on the order of the join. Honest stores hold each dot at most once.
pub trait DotStore: Clone + Default + PartialEq {
    /// Whether the store holds no dot.
    fn is_empty(&self) -> bool;

    /// Whether `dot` is live in the store.
    fn contains_dot(&self, dot: Dot) -> bool;

    /// Calls `f` with every live dot, each once, in no particular order.
    fn for_each_dot(&self, f: &mut impl FnMut(Dot));

    /// Calls `f` with the sequence numbers of `replica`'s live dots in `first..=last`, in
    /// ascending order.
    fn live_in(&self, replica: ReplicaId, first: u64, last: u64, f: &mut impl FnMut(u64));

    /// Copies into `out` what `self` holds for the live dot `dot` (nothing if it is not live),
    /// so that `out` holds `dot` afterwards. Catch-up deltas are built this way.
    fn copy_dot(&self, dot: Dot, out: &mut Self);

    /// Joins `other`, whose context is `theirs`, into `self`, whose context is `ours` (the
    /// caller joins the contexts afterwards). Calls `flip(dot, true)` for every dot that
    /// becomes live here and `flip(dot, false)` for every dot retired here. Returns whether
    /// `self` changed.
    fn join(
        &mut self,
        ours: &CausalContext,
        other: Self,
        theirs: &CausalContext,
        flip: &mut impl FnMut(Dot, bool),
    ) -> bool;

    /// A dot that both stores hold with different contents, if any (see
    /// [`DeltaCrdt::dot_collision`](crate::DeltaCrdt::dot_collision)). Costs about the size
    /// of the smaller store.
    fn collision(&self, other: &Self) -> Option<Dot>;

    /// Whether [`join`](Self::join) keeps a dot held by both sides in every case. True of
    /// stores whose dots carry no nested keys; a map's linear-merge join relies on it.
    const FLAT: bool = true;

    /// Whether [`Causal`](crate::causal::Causal) keeps the per-replica digests of the live
    /// dots up to date on every change (true for large stores, such as maps, where computing
    /// them for each version would walk the whole store), or computes them when a version or
    /// a catch-up delta needs them (the default, for stores of a few dots, where keeping them
    /// would cost every join and write more than it saves).
    const TRACK_DIGESTS: bool = false;
}

/// A set of dots, sorted: the store of an enable-wins flag and of each element of an
/// [`ORSet`](crate::ORSet). Almost always one dot, kept inline.
///
/// ```
/// use deltacrdt::causal::{DotSet, DotStore};
/// use deltacrdt::{Dot, ReplicaId};
/// let mut s = DotSet::new();
/// s.insert(Dot::new(ReplicaId(1), 2));
/// assert!(s.contains_dot(Dot::new(ReplicaId(1), 2)));
/// assert_eq!(s.len(), 1);
/// ```
#[derive(Default, PartialEq, Eq, Hash)]
pub struct DotSet {
    pub(crate) dots: SmallVec<[Dot; 1]>,
}

impl Clone for DotSet {
    /// A copy of the one inline dot without `SmallVec`'s general clone, which goes through
    /// an iterator per item: every clone of a set's element map (a delta joined by reference,
    /// a state handed to a session) copies one `DotSet` per element.
    #[inline]
    fn clone(&self) -> Self {
        DotSet {
            dots: match self.dots.as_slice() {
                [d] => SmallVec::from_buf([*d]),
                dots => SmallVec::from_slice(dots),
            },
        }
    }
}

impl fmt::Debug for DotSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.dots.iter()).finish()
    }
}

impl DotSet {
    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// The set holding only `dot`.
    pub fn single(dot: Dot) -> Self {
        DotSet {
            dots: smallvec::smallvec![dot],
        }
    }

    /// Adds `dot`; returns whether it was new.
    pub fn insert(&mut self, dot: Dot) -> bool {
        match self.dots.binary_search(&dot) {
            Ok(_) => false,
            Err(i) => {
                self.dots.insert(i, dot);
                true
            }
        }
    }

    /// The dots, ascending.
    pub fn as_slice(&self) -> &[Dot] {
        &self.dots
    }

    /// How many dots the set holds.
    pub fn len(&self) -> usize {
        self.dots.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.dots.is_empty()
    }
}

/// The dots of one element of an [`ORSet`](crate::ORSet): a [`DotSet`] in 16 bytes.
///
/// An element is almost always supported by one dot, kept inline as its replica and its
/// (never zero) sequence number; the rare element with several dots (after concurrent adds)
/// keeps them on the heap. A `DotSet` needs 24 bytes because it lends its dots as a slice, so
/// this store lends them by value instead ([`iter`](Self::iter)). Same join, same dots, same
/// encoding as a `DotSet`.
///
/// ```
/// use deltacrdt::causal::{DotStore, ElementDots};
/// use deltacrdt::{Dot, ReplicaId};
/// let mut s = ElementDots::single(Dot::new(ReplicaId(2), 1));
/// s.insert(Dot::new(ReplicaId(1), 5));
/// assert!(s.contains_dot(Dot::new(ReplicaId(2), 1)));
/// let dots: Vec<Dot> = s.iter().collect();
/// assert_eq!(dots, [Dot::new(ReplicaId(1), 5), Dot::new(ReplicaId(2), 1)]);
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct ElementDots(Repr);

/// The representation, canonical (so the derived equality is that of the dot sets): one dot
/// with a non-zero sequence number is `One`; none is `Many(None)`; anything else (two or
/// more dots, or one with sequence number 0, which only a hand-built store holds) is
/// `Many(Some(dots))`, ascending.
// A boxed `Vec` on purpose: a thin pointer (8 bytes) fits beside the niche of `One`, where a
// `Vec` or a boxed slice (16 or 24 bytes) would make the type 24 bytes.
#[allow(clippy::box_collection)]
#[derive(Clone, PartialEq, Eq, Hash)]
enum Repr {
    One(ReplicaId, core::num::NonZeroU64),
    Many(Option<alloc::boxed::Box<alloc::vec::Vec<Dot>>>),
}

impl Default for Repr {
    fn default() -> Self {
        Repr::Many(None)
    }
}

impl fmt::Debug for ElementDots {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// The dots of an [`ElementDots`], ascending (see [`ElementDots::iter`]).
#[derive(Clone, Debug)]
pub struct ElementDotsIter<'a> {
    one: Option<Dot>,
    many: core::slice::Iter<'a, Dot>,
}

impl Iterator for ElementDotsIter<'_> {
    type Item = Dot;

    #[inline]
    fn next(&mut self) -> Option<Dot> {
        self.one.take().or_else(|| self.many.next().copied())
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = usize::from(self.one.is_some()) + self.many.len();
        (n, Some(n))
    }
}

impl ExactSizeIterator for ElementDotsIter<'_> {}

impl DoubleEndedIterator for ElementDotsIter<'_> {
    fn next_back(&mut self) -> Option<Dot> {
        self.many.next_back().copied().or_else(|| self.one.take())
    }
}

impl ElementDots {
    /// The empty set, as a constant.
    pub(crate) const EMPTY: ElementDots = ElementDots(Repr::Many(None));

    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// The set holding only `dot`.
    #[inline]
    pub fn single(dot: Dot) -> Self {
        match core::num::NonZeroU64::new(dot.seq) {
            Some(seq) => ElementDots(Repr::One(dot.replica, seq)),
            None => ElementDots(Repr::Many(Some(alloc::boxed::Box::new(alloc::vec![dot])))),
        }
    }

    /// The set of `dots`, which must ascend without repeats (checked by the caller).
    pub(crate) fn from_sorted(dots: &[Dot]) -> Self {
        debug_assert!(dots.windows(2).all(|w| w[0] < w[1]));
        match dots {
            [] => ElementDots::new(),
            [d] if d.seq != 0 => ElementDots::single(*d),
            _ => ElementDots(Repr::Many(Some(alloc::boxed::Box::new(dots.to_vec())))),
        }
    }

    /// The only dot, if the set holds exactly one.
    #[inline]
    pub fn as_single(&self) -> Option<Dot> {
        match &self.0 {
            Repr::One(r, q) => Some(Dot::new(*r, q.get())),
            Repr::Many(Some(v)) if v.len() == 1 => Some(v[0]),
            Repr::Many(_) => None,
        }
    }

    /// The dots, ascending, by value.
    #[inline]
    pub fn iter(&self) -> ElementDotsIter<'_> {
        match &self.0 {
            Repr::One(r, q) => ElementDotsIter {
                one: Some(Dot::new(*r, q.get())),
                many: [].iter(),
            },
            Repr::Many(v) => ElementDotsIter {
                one: None,
                many: v.as_deref().map_or(&[][..], |v| v.as_slice()).iter(),
            },
        }
    }

    /// Adds `dot`; returns whether it was new.
    pub fn insert(&mut self, dot: Dot) -> bool {
        if DotStore::is_empty(self) {
            *self = ElementDots::single(dot);
            return true;
        }
        let mut dots: SmallVec<[Dot; 2]> = self.iter().collect();
        match dots.binary_search(&dot) {
            Ok(_) => false,
            Err(i) => {
                dots.insert(i, dot);
                *self = ElementDots::from_sorted(&dots);
                true
            }
        }
    }

    /// How many dots the set holds.
    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::One(..) => 1,
            Repr::Many(v) => v.as_ref().map_or(0, |v| v.len()),
        }
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        matches!(self.0, Repr::Many(None))
    }
}

impl DotStore for ElementDots {
    #[inline]
    fn is_empty(&self) -> bool {
        matches!(self.0, Repr::Many(None))
    }

    #[inline]
    fn contains_dot(&self, dot: Dot) -> bool {
        match &self.0 {
            Repr::One(r, q) => *r == dot.replica && q.get() == dot.seq,
            Repr::Many(v) => v.as_ref().is_some_and(|v| v.binary_search(&dot).is_ok()),
        }
    }

    #[inline]
    fn for_each_dot(&self, f: &mut impl FnMut(Dot)) {
        self.iter().for_each(f);
    }

    fn live_in(&self, replica: ReplicaId, first: u64, last: u64, f: &mut impl FnMut(u64)) {
        for d in self.iter() {
            if d.replica == replica && (first..=last).contains(&d.seq) {
                f(d.seq);
            }
        }
    }

    fn copy_dot(&self, dot: Dot, out: &mut Self) {
        if self.contains_dot(dot) {
            out.insert(dot);
        }
    }

    fn join(
        &mut self,
        ours: &CausalContext,
        other: Self,
        theirs: &CausalContext,
        flip: &mut impl FnMut(Dot, bool),
    ) -> bool {
        // The common cases without building the dot lists: the same single dot on both sides
        // (kept), or nothing on their side and nothing of ours seen there (kept).
        match (&self.0, &other.0) {
            (Repr::One(a, p), Repr::One(b, q)) if a == b && p == q => return false,
            (Repr::Many(None), Repr::One(b, q)) => {
                // A new element of a linear merge, or of a delta.
                let d = Dot::new(*b, q.get());
                if ours.contains(d) {
                    return false;
                }
                flip(d, true);
                *self = other;
                return true;
            }
            _ => {}
        }
        if DotStore::is_empty(&other) && self.iter().all(|d| !theirs.contains(d)) {
            return false;
        }
        let mut kept: SmallVec<[Dot; 2]> = SmallVec::new();
        let changed = join_dots(self.iter(), other.iter(), ours, theirs, flip, &mut kept);
        *self = ElementDots::from_sorted(&kept);
        changed
    }

    fn collision(&self, _other: &Self) -> Option<Dot> {
        // A dot carries nothing, so two sets cannot disagree about one.
        None
    }
}

/// The ascending walk over two sorted runs that every flat join shares: hands `f` the items
/// only on the left, only on the right, or on both (same dot).
enum Side<A, B> {
    Left(A),
    Right(B),
    Both(A, B),
}

fn walk<A, B>(
    a: impl IntoIterator<Item = A>,
    b: impl IntoIterator<Item = B>,
    key_a: impl Fn(&A) -> Dot,
    key_b: impl Fn(&B) -> Dot,
    mut f: impl FnMut(Side<A, B>),
) {
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    loop {
        let order = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => key_a(x).cmp(&key_b(y)),
            (Some(_), None) => core::cmp::Ordering::Less,
            (None, Some(_)) => core::cmp::Ordering::Greater,
            (None, None) => return,
        };
        let step = match order {
            core::cmp::Ordering::Less => a.next().map(Side::Left),
            core::cmp::Ordering::Greater => b.next().map(Side::Right),
            core::cmp::Ordering::Equal => a.next().zip(b.next()).map(|(x, y)| Side::Both(x, y)),
        };
        match step {
            Some(s) => f(s),
            None => return,
        }
    }
}

/// The join of two sets of dots, each ascending: a dot both hold stays, one only ours stays
/// unless they have seen it, one only theirs comes in unless we have seen it. The dots kept
/// go to `kept`, ascending; each change goes to `flip`. Returns whether anything changed.
fn join_dots(
    mine: impl IntoIterator<Item = Dot>,
    other: impl IntoIterator<Item = Dot>,
    ours: &CausalContext,
    theirs: &CausalContext,
    flip: &mut impl FnMut(Dot, bool),
    kept: &mut impl Extend<Dot>,
) -> bool {
    let mut changed = false;
    walk(
        mine,
        other,
        |d| *d,
        |d| *d,
        |side| match side {
            Side::Both(d, _) => kept.extend(Some(d)),
            Side::Left(d) if theirs.contains(d) => {
                flip(d, false);
                changed = true;
            }
            Side::Left(d) => kept.extend(Some(d)),
            Side::Right(d) if !ours.contains(d) => {
                flip(d, true);
                changed = true;
                kept.extend(Some(d));
            }
            Side::Right(_) => {}
        },
    );
    changed
}

impl DotStore for DotSet {
    fn is_empty(&self) -> bool {
        self.dots.is_empty()
    }

    fn contains_dot(&self, dot: Dot) -> bool {
        self.dots.binary_search(&dot).is_ok()
    }

    fn for_each_dot(&self, f: &mut impl FnMut(Dot)) {
        self.dots.iter().for_each(|d| f(*d));
    }

    fn live_in(&self, replica: ReplicaId, first: u64, last: u64, f: &mut impl FnMut(u64)) {
        for d in &self.dots {
            if d.replica == replica && (first..=last).contains(&d.seq) {
                f(d.seq);
            }
        }
    }

    fn copy_dot(&self, dot: Dot, out: &mut Self) {
        if self.contains_dot(dot) {
            out.insert(dot);
        }
    }

    fn join(
        &mut self,
        ours: &CausalContext,
        other: Self,
        theirs: &CausalContext,
        flip: &mut impl FnMut(Dot, bool),
    ) -> bool {
        if other.dots.is_empty() && self.dots.iter().all(|d| !theirs.contains(*d)) {
            return false;
        }
        let mut kept: SmallVec<[Dot; 1]> = SmallVec::new();
        let mine = core::mem::take(&mut self.dots);
        let changed = join_dots(mine, other.dots, ours, theirs, flip, &mut kept);
        self.dots = kept;
        changed
    }

    fn collision(&self, _other: &Self) -> Option<Dot> {
        // A dot carries nothing, so two sets cannot disagree about one.
        None
    }
}

/// A value per dot, sorted by dot: the store of registers and causal counters, whose
/// concurrent writes are siblings. Almost always one entry, kept inline.
///
/// ```
/// use deltacrdt::causal::{DotFun, DotStore};
/// use deltacrdt::{Dot, ReplicaId};
/// let mut f = DotFun::new();
/// f.insert(Dot::new(ReplicaId(1), 1), "x");
/// assert_eq!(f.get(Dot::new(ReplicaId(1), 1)), Some(&"x"));
/// assert_eq!(f.iter().count(), 1);
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct DotFun<V> {
    pub(crate) entries: SmallVec<[(Dot, V); 1]>,
}

impl<V> Default for DotFun<V> {
    fn default() -> Self {
        DotFun {
            entries: SmallVec::new(),
        }
    }
}

impl<V: fmt::Debug> fmt::Debug for DotFun<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.entries.iter().map(|(d, v)| (d, v)))
            .finish()
    }
}

impl<V> DotFun<V> {
    /// The empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the value of `dot`; returns the previous one.
    pub fn insert(&mut self, dot: Dot, value: V) -> Option<V> {
        match self.entries.binary_search_by_key(&dot, |e| e.0) {
            Ok(i) => Some(core::mem::replace(&mut self.entries[i].1, value)),
            Err(i) => {
                self.entries.insert(i, (dot, value));
                None
            }
        }
    }

    /// The value of `dot`, if live.
    pub fn get(&self, dot: Dot) -> Option<&V> {
        self.entries
            .binary_search_by_key(&dot, |e| e.0)
            .ok()
            .map(|i| &self.entries[i].1)
    }

    /// The entries, in dot order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (Dot, &V)> + '_ {
        self.entries.iter().map(|(d, v)| (*d, v))
    }

    /// The entries as a slice, in dot order.
    pub fn as_slice(&self) -> &[(Dot, V)] {
        &self.entries
    }

    /// How many dots the store holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl<V: Ord + Clone> DotStore for DotFun<V> {
    fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn contains_dot(&self, dot: Dot) -> bool {
        self.entries.binary_search_by_key(&dot, |e| e.0).is_ok()
    }

    fn for_each_dot(&self, f: &mut impl FnMut(Dot)) {
        self.entries.iter().for_each(|(d, _)| f(*d));
    }

    fn live_in(&self, replica: ReplicaId, first: u64, last: u64, f: &mut impl FnMut(u64)) {
        for (d, _) in &self.entries {
            if d.replica == replica && (first..=last).contains(&d.seq) {
                f(d.seq);
            }
        }
    }

    fn copy_dot(&self, dot: Dot, out: &mut Self) {
        if let Some(v) = self.get(dot) {
            out.insert(dot, v.clone());
        }
    }

    fn join(
        &mut self,
        ours: &CausalContext,
        other: Self,
        theirs: &CausalContext,
        flip: &mut impl FnMut(Dot, bool),
    ) -> bool {
        // The common cases of a map's join without the walk: a key neither side changed (the
        // same entries), and a key only ours holds with none of its dots seen there.
        if self.entries == other.entries
            || (other.entries.is_empty() && self.entries.iter().all(|(d, _)| !theirs.contains(*d)))
        {
            return false;
        }
        // Room for both sides at once (one allocation, not one per doubling); trimmed below
        // if many entries were shared, so a store joined with a copy of itself stays as small.
        let both = self.entries.len() + other.entries.len();
        let mut kept: SmallVec<[(Dot, V); 1]> = if both > 2 {
            SmallVec::with_capacity(both)
        } else {
            SmallVec::new()
        };
        let mut changed = false;
        let mine = core::mem::take(&mut self.entries);
        walk(
            mine,
            other.entries,
            |e| e.0,
            |e| e.0,
            |side| match side {
                // The same event on both sides: the values agree unless a peer misbehaved;
                // keep the greater so the join stays commutative.
                Side::Both(x, y) => {
                    if y.1 > x.1 {
                        changed = true;
                        kept.push(y);
                    } else {
                        kept.push(x);
                    }
                }
                Side::Left(x) if theirs.contains(x.0) => {
                    flip(x.0, false);
                    changed = true;
                }
                Side::Left(x) => kept.push(x),
                Side::Right(y) if !ours.contains(y.0) => {
                    flip(y.0, true);
                    changed = true;
                    kept.push(y);
                }
                Side::Right(_) => {}
            },
        );
        if kept.spilled() && kept.capacity() > kept.len() + kept.len() / 2 {
            kept.shrink_to_fit();
        }
        self.entries = kept;
        changed
    }

    fn collision(&self, other: &Self) -> Option<Dot> {
        let mut found = None;
        walk(
            &self.entries,
            &other.entries,
            |e| e.0,
            |e| e.0,
            |side| {
                if let Side::Both(x, y) = side {
                    if x.1 != y.1 && found.is_none() {
                        found = Some(x.0);
                    }
                }
            },
        );
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// The hand-written clone copies sets of no, one and several dots exactly.
    #[test]
    fn dot_set_clone_is_exact() {
        let (a, b) = (Dot::new(ReplicaId(1), 1), Dot::new(ReplicaId(2), 7));
        for dots in [&[][..], &[a][..], &[a, b][..]] {
            let mut s = DotSet::new();
            for d in dots {
                s.insert(*d);
            }
            let c = s.clone();
            assert_eq!(c, s);
            assert_eq!(c.as_slice(), dots);
        }
    }

    /// An element's dots take 16 bytes, the budget of an `ORSet` element (a `DotSet` is 24).
    #[test]
    fn element_dots_are_16_bytes() {
        assert_eq!(core::mem::size_of::<ElementDots>(), 16);
    }

    /// Builds both stores from the same dots (sequence numbers 0 to 3, so hand-built dots of
    /// sequence number 0 are covered too).
    fn both(dots: &[(u8, u8)]) -> (DotSet, ElementDots) {
        let (mut s, mut e) = (DotSet::new(), ElementDots::new());
        for (r, q) in dots {
            let d = Dot::new(ReplicaId(u64::from(r % 3)), u64::from(q % 4));
            assert_eq!(s.insert(d), e.insert(d));
        }
        (s, e)
    }

    fn context(dots: &[(u8, u8)]) -> CausalContext {
        dots.iter()
            .map(|(r, q)| Dot::new(ReplicaId(u64::from(r % 3)), u64::from(q % 4) + 1))
            .collect()
    }

    quickcheck::quickcheck! {
        /// `ElementDots` is a `DotSet` in another layout: the same dots, lookups, encoding
        /// view, and the same join (kept dots, flips, change flag) under any two contexts.
        fn element_dots_behave_as_dot_sets(
            a: Vec<(u8, u8)>, b: Vec<(u8, u8)>, ca: Vec<(u8, u8)>, cb: Vec<(u8, u8)>
        ) -> bool {
            let (mut sa, mut ea) = both(&a);
            let (sb, eb) = both(&b);
            let (ours, theirs) = (context(&ca), context(&cb));
            let same = |s: &DotSet, e: &ElementDots| {
                e.iter().eq(s.as_slice().iter().copied())
                    && e.len() == s.len()
                    && DotStore::is_empty(e) == DotStore::is_empty(s)
                    && e.as_single() == (if s.len() == 1 { Some(s.as_slice()[0]) } else { None })
                    && e.iter().rev().eq(s.as_slice().iter().rev().copied())
                    && (0..4).all(|q| {
                        let d = Dot::new(ReplicaId(1), q);
                        e.contains_dot(d) == s.contains_dot(d)
                    })
            };
            if !same(&sa, &ea) || !same(&sb, &eb) || (ea == eb) != (sa == sb) {
                return false;
            }
            let (mut fs, mut fe) = (Vec::new(), Vec::new());
            let cs = sa.join(&ours, sb, &theirs, &mut |d, l| fs.push((d, l)));
            let ce = ea.join(&ours, eb, &theirs, &mut |d, l| fe.push((d, l)));
            cs == ce && fs == fe && same(&sa, &ea) && ea == ElementDots::from_sorted(&ea.iter().collect::<Vec<_>>())
        }
    }
}
