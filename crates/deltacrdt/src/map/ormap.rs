//! Observed-remove map of nested causal CRDTs.

use alloc::vec::Vec;
use core::borrow::Borrow;
use core::convert::Infallible;
use core::fmt;

use crate::causal::{
    causal_type, digests_of, toggle, xor_into, Causal, CausalType, DotMap, DotStore, LiveDigests,
};
use crate::{CausalContext, Dot};

/// An observed-remove map from keys `K` to nested causal CRDTs `V`:
/// `Causal<DotMap<K, V::Store>>`.
///
/// `V` is any [`CausalType`]: an [`ORSet`](crate::ORSet), an [`MVRegister`](crate::MVRegister),
/// a [`CausalCounter`](crate::CausalCounter), an [`EWFlag`](crate::EWFlag), an
/// [`LWWField`](crate::LWWField), another `ORMap`, or a type of yours. The map has one causal
/// context; a nested value has none of its own, and is joined against the map's. A key is
/// present exactly while its value holds a live dot.
///
/// | case | outcome | test |
/// |---|---|---|
/// | update a key | the delta holds only the nested change (and the events it retires) | `ormap_update_delta_holds_only_the_nested_change` |
/// | remove a key | its value's observed dots are retired; nothing is left of what the remove saw | `ormap_remove_retires_what_it_saw` |
/// | update concurrent with a remove of its key | the update wins: the key survives holding only what the remove had not seen (as in Riak DT maps and dson) | `ormap_update_concurrent_with_remove_survives_with_only_the_unseen_part` |
/// | concurrent creation of one key | the two children merge into one (keys are identified by their path) | `ormap_concurrent_creation_of_a_key_merges_the_children` |
/// | remove then re-add | the key comes back with only the new content | `ormap_remove_then_readd_holds_only_the_new_content` |
/// | clear | every key observed is removed; concurrent updates survive as above | `ormap_clear_removes_what_it_saw` |
///
/// (The tests are in `tests/ormap.rs`.)
///
/// **Costs.** Keys and their values live in sorted chunks, with an index from every live dot
/// to its key (see [`DotMap`]). An update costs O(log n) plus the nested mutator; joining a
/// delta of k dots costs O(k log n); catch-up after one nested change in a map of 100,000 keys
/// sends a delta of a few dozen bytes.
///
/// ```
/// use deltacrdt::prelude::*;
/// use deltacrdt::{CausalCounter, ORMap};
/// let (eu, us) = (ReplicaId(1), ReplicaId(2));
/// // A cart: SKU -> quantity.
/// let mut x: ORMap<String, CausalCounter> = ORMap::new();
/// let _ = x.try_update("sku-1".into(), |q| q.inc(eu, 2)).unwrap();
/// let mut y = x.clone();
/// // Concurrently: x removes the line, y adds one more.
/// let dx = x.remove("sku-1");
/// let dy = y.try_update("sku-1".into(), |q| q.inc(us, 1)).unwrap();
/// x.join(dy);
/// y.join(dx);
/// assert_eq!(x, y);
/// // The remove reset what it saw; the concurrent +1 survives.
/// assert_eq!(x.get("sku-1").map(|q| q.value()), Some(1));
/// ```
pub struct ORMap<K, V: CausalType>(pub(crate) Causal<DotMap<K, V::Store>>);

impl<K: Clone, V: CausalType> Clone for ORMap<K, V> {
    fn clone(&self) -> Self {
        ORMap(self.0.clone())
    }
}

impl<K, V: CausalType> Default for ORMap<K, V> {
    fn default() -> Self {
        ORMap(Causal::default())
    }
}

impl<K: PartialEq, V: CausalType> PartialEq for ORMap<K, V> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl<K: Eq, V: CausalType> Eq for ORMap<K, V> where V::Store: Eq {}

impl<K: fmt::Debug, V: CausalType> fmt::Debug for ORMap<K, V>
where
    V::Store: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ORMap")
            .field("entries", &self.0.store)
            .field("context", &self.0.context)
            .finish()
    }
}

impl<K: Ord + Clone, V: CausalType> ORMap<K, V> {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs the delta mutator `f` on the value under `key` (an empty value if the key is
    /// absent) and returns the map delta, which holds only the nested change.
    ///
    /// While `f` runs, the nested value has the map's causal context, so the dots it mints
    /// are unique in the whole map. `f` must return the delta of every change it made (one
    /// mutator call, or the join of the deltas of several).
    ///
    /// # Errors
    /// The error of `f`; then nothing changed.
    ///
    /// ```
    /// use deltacrdt::prelude::*;
    /// use deltacrdt::ORMap;
    /// let me = ReplicaId(1);
    /// let mut tags: ORMap<&str, ORSet<&str>> = ORMap::new();
    /// let delta = tags.try_update("doc-1", |s| s.add(me, "draft")).unwrap();
    /// assert_eq!(delta.len(), 1);
    /// assert!(tags.get("doc-1").unwrap().contains("draft"));
    /// ```
    #[must_use = "send the delta to the other replicas"]
    pub fn try_update<E>(
        &mut self,
        key: K,
        f: impl FnOnce(&mut V) -> Result<V, E>,
    ) -> Result<Self, E> {
        let Causal {
            store: map,
            context,
            live,
        } = &mut self.0;
        let store = map.entries.remove(&key).unwrap_or_default();
        // What the nested value's dots were, for stores whose digests are computed on demand
        // (for the others, the digests the mutators toggle say what changed).
        let tracked = <V::Store as DotStore>::TRACK_DIGESTS;
        let before = if tracked {
            LiveDigests::new()
        } else {
            digests_of(&store)
        };
        // The nested value borrows the map's context for the call (moved, not copied). Its
        // digests start empty: mutators toggle them, so they end as the XOR of what changed.
        let mut value = V::from_causal(Causal {
            store,
            context: core::mem::take(context),
            live: LiveDigests::new(),
        });
        let result = f(&mut value);
        let Causal {
            store,
            context: nested_context,
            live: mut changed,
        } = value.into_causal();
        if !tracked {
            changed = before;
            xor_into(&mut changed, &digests_of(&store));
        }
        *context = nested_context;
        let delta = result.map(V::into_causal);
        // Bring the index and the map's digests up to date with the dots the delta names,
        // and check that they account for every change the nested value saw.
        let mut accounted = LiveDigests::new();
        if let Ok(delta) = &delta {
            for d in delta.context.dots() {
                let was = map.index.get(&d).is_some_and(|k| *k == key);
                let is = store.contains_dot(d);
                if was != is {
                    if is {
                        map.index.insert(d, key.clone());
                    } else {
                        map.index.remove(&d);
                    }
                    toggle(live, d.replica, d.seq);
                    toggle(&mut accounted, d.replica, d.seq);
                }
            }
        }
        let resync = accounted != changed;
        if !store.is_empty() {
            map.entries.insert(key.clone(), store);
        }
        if resync {
            // `f` changed more than the delta it returned says: rebuild the index entries of
            // the key and the digests (a slow path, for closures that break the contract).
            self.resync(&key);
        }
        delta.map(|d| {
            let (nested, context) = d.into_parts();
            let mut store = DotMap::default();
            store.insert(key, nested);
            ORMap(Causal::from_parts_unchecked(store, context))
        })
    }

    /// [`try_update`](Self::try_update) for mutators that cannot fail, such as a nested
    /// remove.
    ///
    /// ```
    /// use deltacrdt::prelude::*;
    /// use deltacrdt::ORMap;
    /// let me = ReplicaId(1);
    /// let mut tags: ORMap<&str, ORSet<&str>> = ORMap::new();
    /// let _ = tags.try_update("doc-1", |s| s.add(me, "draft")).unwrap();
    /// let _ = tags.update("doc-1", |s| s.remove("draft"));
    /// assert!(tags.is_empty()); // the key went with its last element
    /// ```
    #[must_use = "send the delta to the other replicas"]
    pub fn update(&mut self, key: K, f: impl FnOnce(&mut V) -> V) -> Self {
        match self.try_update(key, |v| Ok::<V, Infallible>(f(v))) {
            Ok(delta) => delta,
            Err(never) => match never {},
        }
    }

    /// Rebuilds the index entries of `key` and the digests from the entries.
    fn resync(&mut self, key: &K) {
        let map = &mut self.0.store;
        let mut pairs: Vec<(Dot, K)> = core::mem::take(&mut map.index)
            .into_pairs()
            .filter(|(_, k)| k != key)
            .collect();
        if let Some(store) = map.entries.get(key) {
            store.for_each_dot(&mut |d| pairs.push((d, key.clone())));
        }
        pairs.sort_unstable_by_key(|p| p.0);
        let mut live = LiveDigests::new();
        for (d, _) in &pairs {
            toggle(&mut live, d.replica, d.seq);
        }
        map.index = crate::causal::DotIndex::from_ascending(pairs);
        self.0.live = live;
    }

    /// Removes `key` and everything this replica has seen of its value; returns the delta,
    /// empty if the key is absent. A concurrent update of the key survives (see the table).
    #[must_use = "send the delta to the other replicas"]
    pub fn remove<Q>(&mut self, key: &Q) -> Self
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let Some(store) = self.0.store.remove(key) else {
            return ORMap::new();
        };
        let mut context = CausalContext::new();
        store.for_each_dot(&mut |d| {
            context.insert(d);
            toggle(&mut self.0.live, d.replica, d.seq);
        });
        ORMap(Causal::from_parts_unchecked(DotMap::default(), context))
    }

    /// The delta of [`remove`](Self::remove) without applying it.
    pub fn remove_delta<Q>(&self, key: &Q) -> Self
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let mut context = CausalContext::new();
        if let Some(store) = self.0.store.get(key) {
            store.for_each_dot(&mut |d| {
                context.insert(d);
            });
        }
        ORMap(Causal::from_parts_unchecked(DotMap::default(), context))
    }

    /// Removes every key this replica has seen; returns the delta.
    #[must_use = "send the delta to the other replicas"]
    pub fn clear(&mut self) -> Self {
        let context: CausalContext = self.0.store.index.dots().collect();
        for d in context.dots() {
            toggle(&mut self.0.live, d.replica, d.seq);
        }
        self.0.store = DotMap::default();
        ORMap(Causal::from_parts_unchecked(DotMap::default(), context))
    }

    /// A copy of the value under `key`, with the map's context (so it is a full value of its
    /// type: read it, or join it elsewhere). Costs a copy of the value and of the context; use
    /// [`store`](Self::store) to borrow the value's dot store instead.
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let store = self.0.store.get(key)?;
        Some(V::from_causal(Causal::from_parts_unchecked(
            store.clone(),
            self.0.context.clone(),
        )))
    }

    /// The dot store of the value under `key`, borrowed.
    pub fn store<Q>(&self, key: &Q) -> Option<&V::Store>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.0.store.get(key)
    }

    /// Whether `key` is present.
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.0.store.get(key).is_some()
    }

    /// The keys, in ascending order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &K> + DoubleEndedIterator + '_ {
        self.0.store.keys()
    }

    /// The keys with their values' dot stores, in key order.
    pub fn entries(&self) -> impl ExactSizeIterator<Item = (&K, &V::Store)> + '_ {
        self.0.store.iter()
    }

    /// The keys with copies of their values (see [`get`](Self::get) for the cost).
    pub fn iter(&self) -> impl Iterator<Item = (&K, V)> + '_ {
        self.0.store.iter().map(|(k, s)| {
            let value = Causal::from_parts_unchecked(s.clone(), self.0.context.clone());
            (k, V::from_causal(value))
        })
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.0.store.len()
    }

    /// Whether the map has no key.
    pub fn is_empty(&self) -> bool {
        self.0.store.is_empty()
    }

    /// The causal context: every event of every nested value this replica has seen.
    pub fn context(&self) -> &CausalContext {
        &self.0.context
    }
}

causal_type!([K: Ord + Clone, V: CausalType] ORMap<K, V>, DotMap<K, V::Store>);
