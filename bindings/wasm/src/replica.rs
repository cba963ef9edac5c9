//! What every exported class shares: the core CRDT, the replica id, the pending delta group
//! and the delta of the last mutation; plus `shared_methods!`, which exports the methods that
//! read and write bytes.

use deltacrdt::codec::{type_name, Binary};
use deltacrdt::{DeltaCrdt, LWWRegister, MVRegister, ORSet, ReplicaId};
use deltacrdt::{GCounter, PNCounter};

use crate::value::{self, ValueError};

/// A CRDT whose elements or values must be canonical JS values (see [`crate::value`]).
pub trait CheckValues {
    /// Checks every element or value the state holds.
    ///
    /// # Errors
    /// The first [`ValueError`].
    fn check_values(&self) -> Result<(), ValueError>;
}

impl CheckValues for GCounter {
    fn check_values(&self) -> Result<(), ValueError> {
        Ok(())
    }
}

impl CheckValues for PNCounter {
    fn check_values(&self) -> Result<(), ValueError> {
        Ok(())
    }
}

impl CheckValues for ORSet<Vec<u8>> {
    fn check_values(&self) -> Result<(), ValueError> {
        self.iter().try_for_each(|e| value::check(e))
    }
}

impl CheckValues for MVRegister<Vec<u8>> {
    fn check_values(&self) -> Result<(), ValueError> {
        self.values().try_for_each(|v| value::check(v))
    }
}

impl CheckValues for LWWRegister<Vec<u8>> {
    fn check_values(&self) -> Result<(), ValueError> {
        self.value().map_or(Ok(()), |v| value::check(v))
    }
}

/// One replica of a CRDT `T` as the bindings hold it.
#[derive(Clone, Debug)]
pub struct Replica<T> {
    /// Whose mutations this replica makes.
    pub id: ReplicaId,
    /// The current state.
    pub state: T,
    /// The join of the local deltas not yet handed out by [`take_delta`](Self::take_delta).
    pending: T,
    /// The encoded delta of the last mutation, when the caller asked for it.
    last: Option<Vec<u8>>,
}

impl<T> Replica<T>
where
    T: DeltaCrdt + Binary + CheckValues,
    T::Version: Binary,
{
    /// An empty replica.
    pub fn new(id: u64) -> Self {
        Self::with_state(id, T::default())
    }

    fn with_state(id: u64, state: T) -> Self {
        Replica {
            id: ReplicaId(id),
            state,
            pending: T::default(),
            last: None,
        }
    }

    /// The type's name, for messages.
    pub fn type_name() -> &'static str {
        type_name(T::TAG)
    }

    /// Decodes a state or delta of `T` from untrusted bytes and checks its values.
    ///
    /// # Errors
    /// A message naming the problem and its byte offset.
    pub fn decode(bytes: &[u8]) -> Result<T, String> {
        let x = T::from_bytes(bytes).map_err(|e| e.to_string())?;
        x.check_values()
            .map_err(|e| format!("an element or value is not a JS value: {e}"))?;
        Ok(x)
    }

    /// A replica holding the state `bytes` (as written by [`to_bytes`](Self::to_bytes)).
    ///
    /// # Errors
    /// As for [`decode`](Self::decode).
    pub fn from_bytes(bytes: &[u8], id: u64) -> Result<Self, String> {
        Ok(Self::with_state(id, Self::decode(bytes)?))
    }

    /// Joins a delta or a state of `T`; returns whether the state changed. On error the state
    /// is unchanged.
    ///
    /// # Errors
    /// As for [`decode`](Self::decode).
    pub fn merge(&mut self, bytes: &[u8]) -> Result<bool, String> {
        let x = Self::decode(bytes)?;
        Ok(self.state.join(x))
    }

    /// Records the delta of a local mutation (already applied to the state): joins it into the
    /// pending group and, if `keep_last`, keeps its encoding for
    /// [`take_last_delta`](Self::take_last_delta). Returns whether the mutation changed anything.
    pub fn record(&mut self, delta: T, keep_last: bool) -> bool {
        let changed = !delta.is_bottom();
        self.last = (keep_last && changed).then(|| delta.to_bytes());
        if changed {
            self.pending.join(delta);
        }
        changed
    }

    /// The pending delta group, encoded, and an empty group in its place; `None` if no local
    /// change happened since the last call.
    pub fn take_delta(&mut self) -> Option<Vec<u8>> {
        if self.pending.is_bottom() {
            return None;
        }
        Some(core::mem::take(&mut self.pending).to_bytes())
    }

    /// Whether local changes wait in the pending delta group.
    pub fn has_pending_delta(&self) -> bool {
        !self.pending.is_bottom()
    }

    /// The delta of the last mutation, if it changed something and was asked for.
    pub fn take_last_delta(&mut self) -> Option<Vec<u8>> {
        self.last.take()
    }

    /// The encoded version.
    pub fn version(&self) -> Vec<u8> {
        self.state.version().to_bytes()
    }

    /// The delta a holder of the encoded `version` needs.
    ///
    /// # Errors
    /// A message if `version` is not a version of `T`.
    pub fn delta_since(&self, version: &[u8]) -> Result<Vec<u8>, String> {
        let v = T::Version::from_bytes(version).map_err(|e| e.to_string())?;
        Ok(self.state.delta_since(&v).to_bytes())
    }

    /// The encoded full state.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.state.to_bytes()
    }
}

/// Exports, for a class `$ty` holding a [`Replica`] in `self.inner` and built by
/// `$ty::wrap(replica)`, the methods every class has: `fromBytes`, `replica`, `version`,
/// `deltaSince`, `toBytes`, `takeDelta`, `hasPendingDelta` and `takeLastDelta`.
macro_rules! shared_methods {
    ($ty:ident, $inner:ty) => {
        #[wasm_bindgen]
        impl $ty {
            /// A replica holding the state `bytes` (from `toBytes`), mutating as `replica`.
            #[wasm_bindgen(js_name = fromBytes)]
            pub fn from_bytes(bytes: &[u8], replica: u64) -> Result<$ty, JsError> {
                $crate::replica::Replica::<$inner>::from_bytes(bytes, replica)
                    .map(Self::wrap)
                    .map_err(|e| {
                        $crate::error::js_error(
                            $crate::replica::Replica::<$inner>::type_name(),
                            "fromBytes",
                            e,
                        )
                    })
            }

            /// The replica id this object mutates as.
            pub fn replica(&self) -> u64 {
                self.inner.id.0
            }

            /// The encoded version: what this replica has seen.
            pub fn version(&self) -> Vec<u8> {
                self.inner.version()
            }

            /// The delta that brings the holder of `version` up to date.
            #[wasm_bindgen(js_name = deltaSince)]
            pub fn delta_since(&self, version: &[u8]) -> Result<Vec<u8>, JsError> {
                self.inner.delta_since(version).map_err(|e| {
                    $crate::error::js_error(
                        $crate::replica::Replica::<$inner>::type_name(),
                        "deltaSince",
                        e,
                    )
                })
            }

            /// The encoded full state.
            #[wasm_bindgen(js_name = toBytes)]
            pub fn to_bytes(&self) -> Vec<u8> {
                self.inner.to_bytes()
            }

            /// The pending delta group of local changes, emptied; `undefined` when empty.
            #[wasm_bindgen(js_name = takeDelta)]
            pub fn take_delta(&mut self) -> Option<Vec<u8>> {
                self.inner.take_delta()
            }

            /// Whether local changes wait in the pending delta group.
            #[wasm_bindgen(js_name = hasPendingDelta)]
            pub fn has_pending_delta(&self) -> bool {
                self.inner.has_pending_delta()
            }

            /// The delta of the last mutation, if it was asked for and changed something.
            #[wasm_bindgen(js_name = takeLastDelta)]
            pub fn take_last_delta(&mut self) -> Option<Vec<u8>> {
                self.inner.take_last_delta()
            }
        }
    };
}
pub(crate) use shared_methods;

#[cfg(test)]
mod tests {
    use super::*;
    use deltacrdt::codec::Binary;

    fn string(s: &str) -> Vec<u8> {
        let mut out = vec![value::tag::STRING, s.len() as u8];
        out.extend_from_slice(s.as_bytes());
        out
    }

    #[test]
    fn pending_group_holds_every_local_delta_once() {
        let mut a = Replica::<ORSet<Vec<u8>>>::new(1);
        for s in ["x", "y", "z"] {
            let d = a.state.add(a.id, string(s)).unwrap();
            assert!(a.record(d, false));
        }
        let group = a.take_delta().unwrap();
        assert_eq!(a.take_delta(), None);
        let mut b = Replica::<ORSet<Vec<u8>>>::new(2);
        assert!(b.merge(&group).unwrap());
        assert_eq!(b.state, a.state);
    }

    #[test]
    fn merge_rejects_foreign_types_and_bad_values_without_change() {
        let mut a = Replica::<ORSet<Vec<u8>>>::new(1);
        let d = a.state.add(a.id, string("x")).unwrap();
        a.record(d, false);
        let before = a.state.clone();
        let counter = GCounter::new().to_bytes();
        assert!(a.merge(&counter).unwrap_err().contains("expected ORSet"));
        let mut bad = ORSet::new();
        bad.add(ReplicaId(9), vec![0xff]).unwrap();
        assert!(a
            .merge(&bad.to_bytes())
            .unwrap_err()
            .contains("not a JS value"));
        assert!(a.merge(&[1, 3, 0xff]).is_err());
        assert_eq!(a.state, before);
    }

    #[test]
    fn last_delta_only_when_asked_and_changed() {
        let mut c = Replica::<GCounter>::new(1);
        let d = c.state.inc(c.id, 0).unwrap();
        assert!(!c.record(d, true));
        assert_eq!(c.take_last_delta(), None);
        let d = c.state.inc(c.id, 2).unwrap();
        assert!(c.record(d, true));
        let last = c.take_last_delta().unwrap();
        assert_eq!(GCounter::from_bytes(&last).unwrap().value(), 2);
    }

    #[test]
    fn delta_since_rejects_other_versions() {
        let c = Replica::<PNCounter>::new(1);
        let wrong = deltacrdt::VersionVector::new().to_bytes();
        assert!(c
            .delta_since(&wrong)
            .unwrap_err()
            .contains("expected PNVersion"));
        let right = deltacrdt::PNVersion::default().to_bytes();
        assert!(c.delta_since(&right).is_ok());
    }
}
