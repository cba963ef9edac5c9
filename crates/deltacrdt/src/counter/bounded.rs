//! Bounded counter: a non-negative counter without coordination (escrow).

use core::fmt;

use smallvec::SmallVec;

use crate::{CounterOverflow, DeltaCrdt, Lattice, ReplicaId, VersionVector};

/// A counter that never goes below zero, without coordination: the bounded (escrow) counter
/// of Balegas et al., "Putting consistency back into eventual consistency" (EuroSys 2015).
///
/// Each replica holds **rights**: units of the value it may take away on its own. An
/// increment by a replica adds to the value and gives it as many rights. A decrement succeeds
/// only within the decrementing replica's local rights; otherwise it is refused with
/// [`BoundedError::InsufficientRights`] and nothing changes, and the application can ask a
/// replica that has rights to [`transfer`](Self::transfer) some. A transfer is a delta like
/// any other. So no interleaving of concurrent decrements can take the value below zero:
/// every unit taken away was some replica's right to take, and no right is spent twice.
///
/// **State.** A [`PNCounter`](crate::PNCounter)-like pair of per-replica totals, increments
/// `inc(i)` and decrements `dec(i)`, plus the transfer matrix `R[i][j]`: the rights replica `i`
/// has given `j` in total. Every entry only grows; join is the pointwise maximum. Then
///
/// - the local rights of `i` are `inc(i) + Σⱼ R[j][i] − Σⱼ R[i][j] − dec(i)`;
/// - the value is `Σ inc − Σ dec`, which is also the sum of all replicas' rights.
///
/// **Guarantees** (for replicas that each use their own id, see
/// [`claims_unissued`](DeltaCrdt::claims_unissued)):
///
/// - a replica's own rights, in its own state, are never negative: its own entries are always
///   up to date there, and joins only add to what it received;
/// - so the join of all replicas' states, the converged state, has a non-negative value and
///   no replica with negative rights, whatever the delivery order, loss or duplication;
/// - the same holds for every *causally consistent* view: a state that, along with each
///   operation it holds, holds the operations that replica had seen (any join of whole
///   replica states, deltas delivered in causal order, and `delta_since` catch-up between
///   such states).
///
/// A view that received deltas out of causal order, say a decrement before the increment or
/// transfer that funded it, can transiently show a replica with negative rights and even a
/// negative value; the missing deltas (or one catch-up) restore it. That is why
/// [`value`](Self::value) and [`local_rights`](Self::local_rights) are `i128`, and why decoding
/// accepts such states.
///
/// **Limits.** Every entry is a `u64`; an operation that would take one past `u64::MAX` is
/// refused with [`BoundedError::Overflow`] and changes nothing. Sums are `i128`, so a peer
/// sending entries near `u64::MAX` cannot make a value or a balance wrap.
///
/// **Trust.** A replica's rights are what its peers say they transferred to it: the counter
/// protects against concurrency, not against a peer that forges transfers. Values that claim
/// more of our own operations than we made are caught by
/// [`claims_unissued`](DeltaCrdt::claims_unissued).
///
/// ## Example: stock in two regions
///
/// ```
/// use deltacrdt::{BoundedCounter, BoundedError, Lattice, ReplicaId};
///
/// let (eu, us) = (ReplicaId(1), ReplicaId(2));
/// let mut stock_eu = BoundedCounter::new();
/// let mut stock_us = BoundedCounter::new();
///
/// // The warehouse in the EU receives 10 units; the US region learns of them.
/// let delta = stock_eu.inc(eu, 10).unwrap();
/// stock_us.join(delta);
/// assert_eq!(stock_us.value(), 10);
///
/// // The US sees 10 in stock but holds no rights: selling 3 there is refused locally,
/// // without waiting for the network, and nothing changes.
/// let err = stock_us.dec(us, 3).unwrap_err();
/// assert_eq!(
///     err,
///     BoundedError::InsufficientRights { replica: us, asked: 3, available: 0 }
/// );
/// assert_eq!(stock_us.value(), 10);
///
/// // The EU moves 4 units of rights to the US; the transfer is a delta like any other.
/// let delta = stock_eu.transfer(eu, us, 4).unwrap();
/// stock_us.join(delta);
/// assert_eq!((stock_eu.local_rights(eu), stock_us.local_rights(us)), (6, 4));
///
/// // Now the US sale succeeds, concurrently with a sale of 6 in the EU.
/// let sold_us = stock_us.dec(us, 3).unwrap();
/// let sold_eu = stock_eu.dec(eu, 6).unwrap();
/// // The EU has spent all its rights: one more sale there is refused.
/// assert!(stock_eu.dec(eu, 1).is_err());
///
/// stock_eu.join(sold_us);
/// stock_us.join(sold_eu);
/// assert_eq!(stock_eu, stock_us);
/// assert_eq!(stock_eu.value(), 1); // 10 - 3 - 6, and never below zero
/// assert_eq!(stock_us.local_rights(us), 1);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct BoundedCounter {
    pub(crate) inc: VersionVector,
    pub(crate) dec: VersionVector,
    pub(crate) transfers: Transfers,
}

/// The version of a [`BoundedCounter`]: every per-replica total and transfer it has seen.
///
/// Each entry grows by its own replica's operations alone and by amounts that nothing else
/// determines, so catch-up needs each entry: the version holds the same entries as the
/// state (as [`PNVersion`](crate::PNVersion) does for a [`PNCounter`](crate::PNCounter)),
/// and [`delta_since`](DeltaCrdt::delta_since) sends exactly the entries that grew.
///
/// ```
/// use deltacrdt::{BoundedCounter, DeltaCrdt, ReplicaId};
/// let mut c = BoundedCounter::new();
/// let _ = c.inc(ReplicaId(1), 5).unwrap();
/// let _ = c.transfer(ReplicaId(1), ReplicaId(2), 2).unwrap();
/// let v = c.version();
/// assert_eq!(v.increments().get(ReplicaId(1)), 5);
/// assert_eq!(v.transferred(ReplicaId(1), ReplicaId(2)), 2);
/// assert!(c.delta_since(&v).is_empty());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct BoundedVersion {
    pub(crate) inc: VersionVector,
    pub(crate) dec: VersionVector,
    pub(crate) transfers: Transfers,
}

/// Why a [`BoundedCounter`] operation was refused. A refused operation changes nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BoundedError {
    /// A decrement or transfer asked for more than the replica's local rights.
    InsufficientRights {
        /// The replica that would have spent the rights.
        replica: ReplicaId,
        /// The amount asked for.
        asked: u64,
        /// The replica's local rights in this state (`0` when it holds none).
        available: u128,
    },
    /// A transfer from a replica to itself (which would move nothing).
    TransferToSelf {
        /// The replica.
        replica: ReplicaId,
    },
    /// An increment, decrement or transfer total would exceed `u64::MAX`.
    Overflow(CounterOverflow),
}

impl fmt::Display for BoundedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BoundedError::InsufficientRights {
                replica,
                asked,
                available,
            } => write!(
                f,
                "insufficient rights: replica {replica} asked for {asked} but holds {available}; \
                 ask another replica to transfer rights to it (nothing was changed)"
            ),
            BoundedError::TransferToSelf { replica } => {
                write!(f, "replica {replica} cannot transfer rights to itself")
            }
            BoundedError::Overflow(e) => e.fmt(f),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for BoundedError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BoundedError::Overflow(e) => Some(e),
            _ => None,
        }
    }
}

impl From<CounterOverflow> for BoundedError {
    fn from(e: CounterOverflow) -> Self {
        BoundedError::Overflow(e)
    }
}

/// A sender and a receiver of rights.
type Pair = (ReplicaId, ReplicaId);

/// The transfer matrix as a sorted list of its non-zero entries: `((from, to), total)`,
/// ascending by `(from, to)`, `from != to`, totals positive. A replica's row (what it sent)
/// is one contiguous run; a one-entry delta needs no heap allocation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct Transfers {
    pub(crate) entries: SmallVec<[(Pair, u64); 1]>,
}

impl Transfers {
    fn find(&self, pair: Pair) -> Result<usize, usize> {
        self.entries.binary_search_by_key(&pair, |e| e.0)
    }

    pub(crate) fn get(&self, from: ReplicaId, to: ReplicaId) -> u64 {
        match self.find((from, to)) {
            Ok(i) => self.entries[i].1,
            Err(_) => 0,
        }
    }

    fn single(pair: Pair, total: u64) -> Self {
        debug_assert!(pair.0 != pair.1 && total > 0);
        Transfers {
            entries: SmallVec::from_buf([(pair, total)]),
        }
    }

    /// `from`'s row: the entries it sent, by receiver.
    fn row(&self, from: ReplicaId) -> &[(Pair, u64)] {
        let start = self.entries.partition_point(|e| e.0 .0 < from);
        let end = start + self.entries[start..].partition_point(|e| e.0 .0 == from);
        &self.entries[start..end]
    }

    fn sent(&self, from: ReplicaId) -> u128 {
        self.row(from).iter().map(|e| u128::from(e.1)).sum()
    }

    fn received(&self, to: ReplicaId) -> u128 {
        self.entries
            .iter()
            .filter(|e| e.0 .1 == to)
            .map(|e| u128::from(e.1))
            .sum()
    }

    /// Raises one entry to at least `total`; returns whether it grew.
    fn raise(&mut self, pair: Pair, total: u64) -> bool {
        match self.find(pair) {
            Ok(i) if self.entries[i].1 >= total => false,
            Ok(i) => {
                self.entries[i].1 = total;
                true
            }
            Err(i) => {
                self.entries.insert(i, (pair, total));
                true
            }
        }
    }

    /// Pointwise maximum; returns whether anything grew.
    fn join(&mut self, other: &Transfers) -> bool {
        if other.entries.len() <= 4 {
            let mut changed = false;
            for &(p, n) in &other.entries {
                changed |= self.raise(p, n);
            }
            return changed;
        }
        // One linear merge of the two sorted lists.
        let mine = core::mem::take(&mut self.entries);
        let mut out: SmallVec<[(Pair, u64); 1]> =
            SmallVec::with_capacity(mine.len().max(other.entries.len()));
        let mut changed = false;
        let (mut a, mut b) = (mine.into_iter().peekable(), other.entries.iter().peekable());
        loop {
            match (a.peek(), b.peek()) {
                (Some(x), Some(y)) if x.0 == y.0 => {
                    changed |= y.1 > x.1;
                    out.push((x.0, x.1.max(y.1)));
                    a.next();
                    b.next();
                }
                (Some(x), Some(y)) if x.0 < y.0 => {
                    out.push(*x);
                    a.next();
                }
                (_, Some(&&y)) => {
                    changed = true;
                    out.push(y);
                    b.next();
                }
                (Some(&x), None) => {
                    out.push(x);
                    a.next();
                }
                (None, None) => break,
            }
        }
        self.entries = out;
        changed
    }

    fn dominates(&self, other: &Transfers) -> bool {
        other.entries.iter().all(|&(p, n)| n <= self.get(p.0, p.1))
    }

    /// The entries that grew beyond `seen`.
    fn news(&self, seen: &Transfers) -> Transfers {
        Transfers {
            entries: self
                .entries
                .iter()
                .filter(|&&(p, n)| n > seen.get(p.0, p.1))
                .copied()
                .collect(),
        }
    }

    fn iter(&self) -> impl ExactSizeIterator<Item = (ReplicaId, ReplicaId, u64)> + '_ {
        self.entries.iter().map(|&((f, t), n)| (f, t, n))
    }
}

/// The entries of `mine` that grew beyond `seen`.
fn vector_news(mine: &VersionVector, seen: &VersionVector) -> VersionVector {
    VersionVector::from_sorted(mine.iter().filter(|&(r, n)| n > seen.get(r)).collect())
}

impl BoundedCounter {
    /// A counter at zero, with no rights anywhere.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `n` on behalf of `replica`, which gains `n` rights; returns the delta.
    ///
    /// `n == 0` changes nothing and returns an empty delta.
    ///
    /// # Errors
    /// [`BoundedError::Overflow`] if the replica's total of increments would exceed
    /// `u64::MAX`; nothing is changed.
    #[must_use = "send the delta to the other replicas"]
    pub fn inc(&mut self, replica: ReplicaId, n: u64) -> Result<BoundedCounter, BoundedError> {
        let delta = self.inc_delta(replica, n)?;
        self.inc.join(&delta.inc);
        Ok(delta)
    }

    /// The delta of [`inc`](Self::inc), without applying it.
    ///
    /// # Errors
    /// As for [`inc`](Self::inc).
    pub fn inc_delta(&self, replica: ReplicaId, n: u64) -> Result<BoundedCounter, BoundedError> {
        if n == 0 {
            return Ok(BoundedCounter::new());
        }
        let total = bump(replica, self.inc.get(replica), n)?;
        Ok(BoundedCounter {
            inc: VersionVector::single(replica, total),
            ..BoundedCounter::default()
        })
    }

    /// Takes `n` away on behalf of `replica`, spending `n` of its local rights; returns the
    /// delta.
    ///
    /// `n == 0` changes nothing and returns an empty delta.
    ///
    /// # Errors
    /// [`BoundedError::InsufficientRights`] if `replica` holds fewer than `n` rights here (ask
    /// a replica that has some to [`transfer`](Self::transfer) them), or
    /// [`BoundedError::Overflow`] if its total of decrements would exceed `u64::MAX`. Either
    /// way nothing is changed.
    ///
    /// ```
    /// use deltacrdt::{BoundedCounter, BoundedError, ReplicaId};
    /// let me = ReplicaId(1);
    /// let mut c = BoundedCounter::new();
    /// let _ = c.inc(me, 2).unwrap();
    /// let err = c.dec(me, 3).unwrap_err();
    /// assert!(matches!(err, BoundedError::InsufficientRights { asked: 3, available: 2, .. }));
    /// assert_eq!(c.value(), 2);
    /// let _ = c.dec(me, 2).unwrap();
    /// assert_eq!(c.value(), 0);
    /// ```
    #[must_use = "send the delta to the other replicas"]
    pub fn dec(&mut self, replica: ReplicaId, n: u64) -> Result<BoundedCounter, BoundedError> {
        let delta = self.dec_delta(replica, n)?;
        self.dec.join(&delta.dec);
        Ok(delta)
    }

    /// The delta of [`dec`](Self::dec), without applying it.
    ///
    /// # Errors
    /// As for [`dec`](Self::dec).
    pub fn dec_delta(&self, replica: ReplicaId, n: u64) -> Result<BoundedCounter, BoundedError> {
        if n == 0 {
            return Ok(BoundedCounter::new());
        }
        self.check_rights(replica, n)?;
        let total = bump(replica, self.dec.get(replica), n)?;
        Ok(BoundedCounter {
            dec: VersionVector::single(replica, total),
            ..BoundedCounter::default()
        })
    }

    /// Moves `n` of `from`'s local rights to `to`; returns the delta. The value does not
    /// change. Once `to` has received the delta it may spend the rights.
    ///
    /// `n == 0` changes nothing and returns an empty delta.
    ///
    /// # Errors
    /// [`BoundedError::TransferToSelf`] if `from == to`,
    /// [`BoundedError::InsufficientRights`] if `from` holds fewer than `n` rights here, or
    /// [`BoundedError::Overflow`] if the total `from` has given `to` would exceed `u64::MAX`.
    /// Nothing is changed.
    ///
    /// ```
    /// use deltacrdt::{BoundedCounter, Lattice, ReplicaId};
    /// let (a, b) = (ReplicaId(1), ReplicaId(2));
    /// let mut x = BoundedCounter::new();
    /// let _ = x.inc(a, 5).unwrap();
    /// let delta = x.transfer(a, b, 5).unwrap();
    /// assert_eq!(x.local_rights(a), 0);
    /// let mut y = BoundedCounter::new();
    /// y.join(delta);
    /// assert_eq!(y.local_rights(b), 5); // y has not seen the increment yet
    /// assert!(x.transfer(a, a, 1).is_err());
    /// ```
    #[must_use = "send the delta to the other replicas"]
    pub fn transfer(
        &mut self,
        from: ReplicaId,
        to: ReplicaId,
        n: u64,
    ) -> Result<BoundedCounter, BoundedError> {
        let delta = self.transfer_delta(from, to, n)?;
        self.transfers.join(&delta.transfers);
        Ok(delta)
    }

    /// The delta of [`transfer`](Self::transfer), without applying it.
    ///
    /// # Errors
    /// As for [`transfer`](Self::transfer).
    pub fn transfer_delta(
        &self,
        from: ReplicaId,
        to: ReplicaId,
        n: u64,
    ) -> Result<BoundedCounter, BoundedError> {
        if from == to {
            return Err(BoundedError::TransferToSelf { replica: from });
        }
        if n == 0 {
            return Ok(BoundedCounter::new());
        }
        self.check_rights(from, n)?;
        let total = bump(from, self.transfers.get(from, to), n)?;
        Ok(BoundedCounter {
            transfers: Transfers::single((from, to), total),
            ..BoundedCounter::default()
        })
    }

    fn check_rights(&self, replica: ReplicaId, n: u64) -> Result<(), BoundedError> {
        let rights = self.local_rights(replica);
        if rights < i128::from(n) {
            return Err(BoundedError::InsufficientRights {
                replica,
                asked: n,
                available: u128::try_from(rights).unwrap_or(0),
            });
        }
        Ok(())
    }

    /// Total increments minus total decrements: the stock.
    ///
    /// Never negative in a causally consistent view (see the type's docs); a view that
    /// received a decrement before what funded it can show less, even below zero, until the
    /// rest arrives. Never wraps.
    pub fn value(&self) -> i128 {
        // Each sum is below 2^64 times the number of entries, far inside i128.
        sum(&self.inc) as i128 - sum(&self.dec) as i128
    }

    /// The rights `replica` holds in this state: its increments, plus what it received, minus
    /// what it gave away, minus its decrements. How much it may still take away or transfer.
    ///
    /// Never negative for a replica's own rights in its own state, nor in a causally
    /// consistent view (see the type's docs).
    pub fn local_rights(&self, replica: ReplicaId) -> i128 {
        // Each term is below 2^64 times the number of entries, far inside i128.
        i128::from(self.inc.get(replica)) + self.transfers.received(replica) as i128
            - self.transfers.sent(replica) as i128
            - i128::from(self.dec.get(replica))
    }

    /// Per-replica totals of increments.
    pub fn increments(&self) -> &VersionVector {
        &self.inc
    }

    /// Per-replica totals of decrements.
    pub fn decrements(&self) -> &VersionVector {
        &self.dec
    }

    /// The total of rights `from` has given `to`.
    pub fn transferred(&self, from: ReplicaId, to: ReplicaId) -> u64 {
        self.transfers.get(from, to)
    }

    /// The non-zero entries of the transfer matrix as `(from, to, total)`, ascending by
    /// `(from, to)`.
    pub fn transfers(&self) -> impl ExactSizeIterator<Item = (ReplicaId, ReplicaId, u64)> + '_ {
        self.transfers.iter()
    }

    /// Every replica this state mentions (that incremented, decremented, gave or received
    /// rights), ascending, each once.
    pub fn replicas(&self) -> impl Iterator<Item = ReplicaId> {
        let mut ids: SmallVec<[ReplicaId; 4]> = self
            .inc
            .iter()
            .chain(self.dec.iter())
            .map(|(r, _)| r)
            .chain(self.transfers.iter().flat_map(|(f, t, _)| [f, t]))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.into_iter()
    }

    /// Whether this is the empty state (or an empty delta).
    pub fn is_empty(&self) -> bool {
        self.inc.is_empty() && self.dec.is_empty() && self.transfers.entries.is_empty()
    }
}

/// `current + n`, or the overflow error for `replica`.
fn bump(replica: ReplicaId, current: u64, n: u64) -> Result<u64, BoundedError> {
    current
        .checked_add(n)
        .ok_or(BoundedError::Overflow(CounterOverflow {
            replica,
            current,
            increment: n,
        }))
}

fn sum(v: &VersionVector) -> u128 {
    v.iter().map(|(_, n)| u128::from(n)).sum()
}

impl BoundedVersion {
    /// Per-replica totals of increments seen.
    pub fn increments(&self) -> &VersionVector {
        &self.inc
    }

    /// Per-replica totals of decrements seen.
    pub fn decrements(&self) -> &VersionVector {
        &self.dec
    }

    /// The total of rights `from` has given `to`, as seen.
    pub fn transferred(&self, from: ReplicaId, to: ReplicaId) -> u64 {
        self.transfers.get(from, to)
    }

    /// The non-zero transfer totals seen, as `(from, to, total)`, ascending by `(from, to)`.
    pub fn transfers(&self) -> impl ExactSizeIterator<Item = (ReplicaId, ReplicaId, u64)> + '_ {
        self.transfers.iter()
    }
}

impl Lattice for BoundedCounter {
    fn join(&mut self, other: Self) -> bool {
        if self.is_empty() {
            let grew = !other.is_empty();
            *self = other;
            return grew;
        }
        self.join_ref(&other)
    }

    fn join_ref(&mut self, other: &Self) -> bool {
        let a = self.inc.join(&other.inc);
        let b = self.dec.join(&other.dec);
        let c = self.transfers.join(&other.transfers);
        a | b | c
    }

    fn is_bottom(&self) -> bool {
        self.is_empty()
    }

    fn leq(&self, other: &Self) -> bool {
        other.inc.dominates(&self.inc)
            && other.dec.dominates(&self.dec)
            && other.transfers.dominates(&self.transfers)
    }
}

impl DeltaCrdt for BoundedCounter {
    type Version = BoundedVersion;

    /// Every entry of the state.
    fn version(&self) -> BoundedVersion {
        BoundedVersion {
            inc: self.inc.clone(),
            dec: self.dec.clone(),
            transfers: self.transfers.clone(),
        }
    }

    /// The entries that grew beyond `version`: one per replica total or transfer with news.
    fn delta_since(&self, version: &BoundedVersion) -> Self {
        BoundedCounter {
            inc: vector_news(&self.inc, &version.inc),
            dec: vector_news(&self.dec, &version.dec),
            transfers: self.transfers.news(&version.transfers),
        }
    }

    /// Whether `self` holds a total of `replica`'s increments or decrements, or a transfer
    /// *from* `replica`, above the issuer's own. (Transfers *to* `replica` are the senders'
    /// entries.)
    fn claims_unissued(&self, issuer: &Self, replica: ReplicaId) -> bool {
        self.inc.get(replica) > issuer.inc.get(replica)
            || self.dec.get(replica) > issuer.dec.get(replica)
            || self
                .transfers
                .row(replica)
                .iter()
                .any(|&((f, t), n)| n > issuer.transfers.get(f, t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;
    use quickcheck::quickcheck;

    fn r(i: u8) -> ReplicaId {
        ReplicaId(u64::from(i % 5))
    }

    fn build(ops: &[(u8, u8, u8, u8)]) -> BoundedCounter {
        let mut c = BoundedCounter::new();
        for &(kind, a, b, n) in ops {
            let n = u64::from(n);
            let _ = match kind % 3 {
                0 => c.inc(r(a), n),
                1 => c.dec(r(a), n),
                _ => c.transfer(r(a), r(b), n),
            };
        }
        c
    }

    quickcheck! {
        // The linear merge and the entry-by-entry path agree with a map model.
        fn transfer_join_is_pointwise_max(a: Vec<(u8, u8, u16)>, b: Vec<(u8, u8, u16)>) -> bool {
            let make = |xs: &[(u8, u8, u16)]| {
                let mut t = Transfers::default();
                for &(f, to, n) in xs {
                    if f % 7 != to % 7 && n > 0 {
                        t.raise((ReplicaId(u64::from(f % 7)), ReplicaId(u64::from(to % 7))), u64::from(n));
                    }
                }
                t
            };
            let (x, y) = (make(&a), make(&b));
            let mut joined = x.clone();
            let changed = joined.join(&y);
            let mut model = alloc::collections::BTreeMap::new();
            for t in [&x, &y] {
                for &(p, n) in &t.entries {
                    let e = model.entry(p).or_insert(0u64);
                    *e = (*e).max(n);
                }
            }
            let sorted = joined.entries.windows(2).all(|w| w[0].0 < w[1].0);
            sorted
                && joined.entries.iter().copied().collect::<alloc::collections::BTreeMap<_, _>>() == model
                && changed == (joined != x)
                && joined.dominates(&x)
                && joined.dominates(&y)
        }

        // Rights are conserved: the value is the sum of every replica's rights.
        fn value_is_the_sum_of_rights(ops: Vec<(u8, u8, u8, u8)>) -> bool {
            let c = build(&ops);
            let total: i128 = c.replicas().map(|x| c.local_rights(x)).sum();
            total == c.value() && c.replicas().all(|x| c.local_rights(x) >= 0)
        }
    }

    #[test]
    fn row_is_the_senders_run() {
        let mut c = BoundedCounter::new();
        for i in 0..4u8 {
            let _ = c.inc(r(i), 10).unwrap();
        }
        let _ = c.transfer(r(1), r(0), 1).unwrap();
        let _ = c.transfer(r(1), r(3), 2).unwrap();
        let _ = c.transfer(r(2), r(1), 4).unwrap();
        let _ = c.transfer(r(0), r(1), 3).unwrap();
        assert_eq!(c.transfers.row(r(1)).len(), 2);
        assert_eq!(c.transfers.sent(r(1)), 3);
        assert_eq!(c.transfers.received(r(1)), 7);
        assert_eq!(c.local_rights(r(1)), 14);
        assert_eq!(c.transfers.row(r(4)).len(), 0);
        assert_eq!(c.replicas().collect::<Vec<_>>(), [r(0), r(1), r(2), r(3)]);
    }
}
