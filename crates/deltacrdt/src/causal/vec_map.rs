//! A small map kept as a sorted vector: replica-keyed maps hold a handful of entries, for which
//! a binary search beats a tree, joins become linear merges, and one entry needs no heap.

use smallvec::SmallVec;

/// A map from `K` to `V`, sorted by key, keys distinct.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct VecMap<K, V> {
    items: SmallVec<[(K, V); 1]>,
}

impl<K, V> Default for VecMap<K, V> {
    fn default() -> Self {
        VecMap {
            items: SmallVec::new(),
        }
    }
}

impl<K: Ord + Copy, V> VecMap<K, V> {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Builds a map from items already sorted by distinct keys (checked by the caller).
    pub(crate) fn from_sorted(items: SmallVec<[(K, V); 1]>) -> Self {
        debug_assert!(items.windows(2).all(|w| w[0].0 < w[1].0));
        VecMap { items }
    }

    fn find(&self, key: &K) -> Result<usize, usize> {
        self.items.binary_search_by(|(k, _)| k.cmp(key))
    }

    pub(crate) fn get(&self, key: &K) -> Option<&V> {
        self.find(key).ok().map(|i| &self.items[i].1)
    }

    pub(crate) fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        match self.find(key) {
            Ok(i) => Some(&mut self.items[i].1),
            Err(_) => None,
        }
    }

    /// The value for `key`, inserting `make()` first if absent.
    pub(crate) fn get_or_insert_with(&mut self, key: K, make: impl FnOnce() -> V) -> &mut V {
        let i = match self.find(&key) {
            Ok(i) => i,
            Err(i) => {
                self.items.insert(i, (key, make()));
                i
            }
        };
        &mut self.items[i].1
    }

    pub(crate) fn insert(&mut self, key: K, value: V) {
        match self.find(&key) {
            Ok(i) => self.items[i].1 = value,
            Err(i) => self.items.insert(i, (key, value)),
        }
    }

    pub(crate) fn remove(&mut self, key: &K) -> Option<V> {
        match self.find(key) {
            Ok(i) => Some(self.items.remove(i).1),
            Err(_) => None,
        }
    }

    /// The entries, sorted by key.
    pub(crate) fn as_slice(&self) -> &[(K, V)] {
        &self.items
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    pub(crate) fn iter(&self) -> impl DoubleEndedIterator<Item = (&K, &V)> + '_ {
        self.items.iter().map(|(k, v)| (k, v))
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = &K> + '_ {
        self.items.iter().map(|(k, _)| k)
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &V> + '_ {
        self.items.iter().map(|(_, v)| v)
    }

    /// Takes the entries out, sorted by key.
    pub(crate) fn into_items(self) -> impl Iterator<Item = (K, V)> {
        self.items.into_iter()
    }

    /// The greatest key.
    pub(crate) fn last_key(&self) -> Option<&K> {
        self.items.last().map(|(k, _)| k)
    }

    /// The entry of the greatest key, its value mutably.
    pub(crate) fn last_mut(&mut self) -> Option<(&K, &mut V)> {
        self.items.last_mut().map(|(k, v)| (&*k, v))
    }

    /// Appends an entry whose key is greater than every key of the map.
    pub(crate) fn push_last(&mut self, key: K, value: V) {
        debug_assert!(self.last_key().is_none_or(|k| *k < key));
        self.items.push((key, value));
    }
}

impl<'a, K: Ord + Copy, V> IntoIterator for &'a VecMap<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter =
        core::iter::Map<core::slice::Iter<'a, (K, V)>, fn(&'a (K, V)) -> (&'a K, &'a V)>;

    fn into_iter(self) -> Self::IntoIter {
        fn split<K, V>(e: &(K, V)) -> (&K, &V) {
            (&e.0, &e.1)
        }
        self.items
            .iter()
            .map(split as fn(&'a (K, V)) -> (&'a K, &'a V))
    }
}
