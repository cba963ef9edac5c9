//! `serde` support: every top-level value serializes as its canonical binary encoding, so
//! deserializing runs the same validation as [`Binary::from_bytes`].

use alloc::vec::Vec;
use core::fmt;
use core::marker::PhantomData;

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::Binary;
use crate::causal::CausalType;
use crate::{
    BoundedCounter, BoundedVersion, CausalContext, CausalCounter, CausalVersion, EWFlag, GCounter,
    LWWField, LWWRegister, LwwVersion, MVRegister, ORMap, ORSet, PNCounter, PNVersion,
    VersionVector,
};

struct BytesVisitor<T>(PhantomData<T>);

impl<'de, T: Binary> Visitor<'de> for BytesVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the deltacrdt binary encoding (bytes)")
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<T, E> {
        T::from_bytes(v).map_err(E::custom)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<T, A::Error> {
        let mut bytes = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(b) = seq.next_element::<u8>()? {
            bytes.push(b);
        }
        T::from_bytes(&bytes).map_err(de::Error::custom)
    }
}

macro_rules! via_bytes {
    ($([$($g:tt)*] $t:ty),* $(,)?) => {$(
        impl<$($g)*> Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(&self.to_bytes())
            }
        }
        impl<'de, $($g)*> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_bytes(BytesVisitor(PhantomData))
            }
        }
    )*};
}

via_bytes!(
    [] GCounter,
    [] PNCounter,
    [] PNVersion,
    [] VersionVector,
    [] CausalContext,
    [] CausalVersion,
    [] LwwVersion,
    [] BoundedCounter,
    [] BoundedVersion,
    [E: super::Codec + Ord + Clone] ORSet<E>,
    [V: super::Codec] LWWRegister<V>,
    [V: super::Codec + Ord + Clone] MVRegister<V>,
    [] EWFlag,
    [] CausalCounter,
    [V: super::Codec + Ord + Clone] LWWField<V>,
    [K: super::Codec + Ord + Clone, V: CausalType<Store: super::StoreCodec>] ORMap<K, V>,
);
