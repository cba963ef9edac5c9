//! `serde` support (feature `serde`): values travel as their canonical binary encoding, and
//! deserializing validates exactly like `from_bytes`.
#![cfg(feature = "serde")]

use deltacrdt::{
    Binary, DeltaCrdt, GCounter, LWWRegister, MVRegister, ORSet, ReplicaId, Timestamp,
};

#[test]
fn serde_round_trips_through_json() {
    let mut s = ORSet::new();
    s.add(ReplicaId(1), String::from("a")).unwrap();
    let json = serde_json::to_string(&s).unwrap();
    let back: ORSet<String> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, s);

    let mut c = GCounter::new();
    c.inc(ReplicaId(2), 3).unwrap();
    let back: GCounter = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
    assert_eq!(back, c);

    let mut l = LWWRegister::new();
    let _ = l.set(ReplicaId(1), Timestamp::new(9, 0), 5u32);
    let back: LWWRegister<u32> = serde_json::from_str(&serde_json::to_string(&l).unwrap()).unwrap();
    assert_eq!(back, l);

    let mut m = MVRegister::new();
    m.write(ReplicaId(1), true).unwrap();
    let v = m.version();
    let back: deltacrdt::CausalVersion =
        serde_json::from_str(&serde_json::to_string(&v).unwrap()).unwrap();
    assert_eq!(back, v);
}

#[test]
fn serde_rejects_invalid_encodings_with_the_decode_error() {
    let mut bytes = GCounter::new().to_bytes();
    bytes.push(7);
    let json = serde_json::to_string(&bytes).unwrap();
    let err = serde_json::from_str::<GCounter>(&json).unwrap_err();
    assert!(
        err.to_string()
            .contains("unexpected byte(s) after the value"),
        "{err}"
    );
}

#[test]
fn serde_round_trips_a_bounded_counter_and_its_version() {
    let (a, b) = (ReplicaId(1), ReplicaId(2));
    let mut c = deltacrdt::BoundedCounter::new();
    let _ = c.inc(a, 10).unwrap();
    let _ = c.transfer(a, b, 4).unwrap();
    let _ = c.dec(a, 1).unwrap();
    let back: deltacrdt::BoundedCounter =
        serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
    assert_eq!(back, c);
    let v = c.version();
    let back: deltacrdt::BoundedVersion =
        serde_json::from_str(&serde_json::to_string(&v).unwrap()).unwrap();
    assert_eq!(back, v);
    // A transfer to oneself is refused like any invalid encoding.
    let mut bytes = deltacrdt::BoundedCounter::new().to_bytes();
    bytes.truncate(bytes.len() - 1);
    bytes.extend([1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 5]);
    let err =
        serde_json::from_str::<deltacrdt::BoundedCounter>(&serde_json::to_string(&bytes).unwrap())
            .unwrap_err();
    assert!(
        err.to_string().contains("transfers rights to itself"),
        "{err}"
    );
}

#[test]
fn maps_of_nested_values_round_trip_through_json() {
    use deltacrdt::{CausalCounter, ORMap};
    let mut cart: ORMap<String, ORMap<String, CausalCounter>> = ORMap::new();
    let _ = cart
        .try_update("alice".into(), |c| {
            c.try_update("sku-1".into(), |q| q.inc(ReplicaId(1), 2))
        })
        .unwrap();
    let json = serde_json::to_string(&cart).unwrap();
    let back: ORMap<String, ORMap<String, CausalCounter>> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, cart);
    // Deserializing validates: a truncated encoding is refused.
    let bytes = cart.to_bytes();
    let cut = serde_json::to_string(&bytes[..bytes.len() - 1]).unwrap();
    assert!(serde_json::from_str::<ORMap<String, ORMap<String, CausalCounter>>>(&cut).is_err());
}
