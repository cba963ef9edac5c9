//! ORMap semantics: one test per row of the table in the `ORMap` docs, scenarios re-expressed
//! from the test suites of Riak DT's map and Akka's ORMap, the catch-up bound, user-defined
//! value types, and the decoding of nested values.

use deltacrdt::causal::{Causal, CausalType, DotFun};
use deltacrdt::codec::tag;
use deltacrdt::prelude::*;
use deltacrdt::sync::Measure as _;
use deltacrdt::{DecodeErrorKind, DotsExhausted};

const A: ReplicaId = ReplicaId(0xa11ce);
const B: ReplicaId = ReplicaId(0xb0b);
const C: ReplicaId = ReplicaId(0xca401);

type Cart = ORMap<String, CausalCounter>;
type Tags = ORMap<&'static str, ORSet<&'static str>>;

fn exchange<T: Lattice + DeltaCrdt>(x: &mut T, y: &mut T) {
    let for_x = y.delta_since(&x.version());
    let for_y = x.delta_since(&y.version());
    x.join(for_x);
    y.join(for_y);
}

fn quantity(cart: &Cart, sku: &str) -> Option<i128> {
    cart.get(sku).map(|q| q.value())
}

#[test]
fn ormap_update_delta_holds_only_the_nested_change() {
    let mut tags: Tags = ORMap::new();
    for k in ["a", "b", "c"] {
        let _ = tags.try_update(k, |s| s.add(A, "x")).unwrap();
    }
    let before = tags.clone();
    let delta = tags.try_update("b", |s| s.add(A, "y")).unwrap();
    // One key, one element, and the one new event.
    assert_eq!(delta.keys().collect::<Vec<_>>(), [&"b"]);
    assert_eq!(delta.get("b").unwrap().iter().collect::<Vec<_>>(), [&"y"]);
    assert_eq!(delta.context().dot_count(), 1);
    assert_eq!(before.joined(&delta), tags);
    // A nested remove ships only the retired dot.
    let delta = tags.update("b", |s| s.remove("x"));
    assert!(delta.is_empty());
    assert_eq!(delta.context().dot_count(), 1);
    assert_eq!(tags.get("b").unwrap().iter().collect::<Vec<_>>(), [&"y"]);
}

#[test]
fn ormap_remove_retires_what_it_saw() {
    let mut cart: Cart = ORMap::new();
    let d1 = cart.try_update("sku-1".into(), |q| q.inc(A, 2)).unwrap();
    let _ = cart.try_update("sku-1".into(), |q| q.inc(A, 3)).unwrap();
    let removed = cart.remove("sku-1");
    assert!(!cart.contains_key("sku-1"));
    assert_eq!(removed.context().dot_count(), 2);
    // Another replica that saw only the first increment loses it to the remove.
    let mut other: Cart = ORMap::new();
    other.join(d1);
    other.join(removed);
    assert!(other.is_empty());
    // Removing an absent key is a no-op.
    assert!(cart.remove("nothing").is_bottom());
}

#[test]
fn ormap_update_concurrent_with_remove_survives_with_only_the_unseen_part() {
    let mut x: Cart = ORMap::new();
    let _ = x.try_update("sku-1".into(), |q| q.inc(A, 5)).unwrap();
    let mut y = x.clone();
    let dx = x.remove("sku-1");
    let dy = y.try_update("sku-1".into(), |q| q.inc(B, 1)).unwrap();
    x.join(dy);
    y.join(dx);
    assert_eq!(x, y);
    assert_eq!(quantity(&x, "sku-1"), Some(1));

    // The same for a nested set: the concurrent add survives, the rest is reset.
    let mut x: Tags = ORMap::new();
    let _ = x.try_update("doc", |s| s.add(A, "old")).unwrap();
    let mut y = x.clone();
    let dx = x.remove("doc");
    let dy = y.try_update("doc", |s| s.add(B, "new")).unwrap();
    x.join(dy);
    y.join(dx);
    assert_eq!(x, y);
    assert_eq!(x.get("doc").unwrap().iter().collect::<Vec<_>>(), [&"new"]);
}

#[test]
fn ormap_concurrent_creation_of_a_key_merges_the_children() {
    let mut x: Tags = ORMap::new();
    let mut y: Tags = ORMap::new();
    let _ = x.try_update("doc", |s| s.add(A, "red")).unwrap();
    let _ = y.try_update("doc", |s| s.add(B, "blue")).unwrap();
    exchange(&mut x, &mut y);
    assert_eq!(x, y);
    let doc = x.get("doc").unwrap();
    assert_eq!(doc.iter().collect::<Vec<_>>(), [&"blue", &"red"]);
    // Two levels deep: both users' lines survive under one cart.
    let mut x: ORMap<&str, Cart> = ORMap::new();
    let mut y: ORMap<&str, Cart> = ORMap::new();
    let _ = x
        .try_update("alice", |c| c.try_update("sku-1".into(), |q| q.inc(A, 1)))
        .unwrap();
    let _ = y
        .try_update("alice", |c| c.try_update("sku-2".into(), |q| q.inc(B, 4)))
        .unwrap();
    exchange(&mut x, &mut y);
    assert_eq!(x, y);
    let alice = x.get("alice").unwrap();
    assert_eq!(quantity(&alice, "sku-1"), Some(1));
    assert_eq!(quantity(&alice, "sku-2"), Some(4));
}

#[test]
fn ormap_remove_then_readd_holds_only_the_new_content() {
    let mut tags: Tags = ORMap::new();
    let _ = tags.try_update("doc", |s| s.add(A, "a")).unwrap();
    let _ = tags.try_update("doc", |s| s.add(A, "b")).unwrap();
    let _ = tags.remove("doc");
    let readd = tags.try_update("doc", |s| s.add(A, "c")).unwrap();
    assert_eq!(tags.get("doc").unwrap().iter().collect::<Vec<_>>(), [&"c"]);
    // A replica that missed the remove learns it through catch-up, not through the re-add.
    let mut old: Tags = ORMap::new();
    let _ = old.try_update("doc", |s| s.add(B, "z")).unwrap();
    old.join(readd);
    assert_eq!(
        old.get("doc").unwrap().iter().collect::<Vec<_>>(),
        [&"c", &"z"]
    );
}

#[test]
fn ormap_clear_removes_what_it_saw() {
    let mut x: Cart = ORMap::new();
    for sku in ["a", "b", "c"] {
        let _ = x.try_update(sku.into(), |q| q.inc(A, 1)).unwrap();
    }
    let mut y = x.clone();
    let cleared = x.clear();
    assert!(x.is_empty());
    assert_eq!(cleared.context().dot_count(), 3);
    let dy = y.try_update("b".into(), |q| q.inc(B, 7)).unwrap();
    x.join(dy);
    y.join(cleared);
    assert_eq!(x, y);
    assert_eq!(x.keys().collect::<Vec<_>>(), [&"b".to_string()]);
    assert_eq!(quantity(&x, "b"), Some(7));
}

/// Riak DT map: a field removed at one replica while another updates a nested field; after
/// merging, the field is present with the update only, and a second remove that saw the
/// update removes it for good.
#[test]
fn riak_style_remove_and_concurrent_nested_update() {
    let mut x: ORMap<&str, ORMap<&str, LWWField<u32>>> = ORMap::new();
    let _ = x
        .try_update("profile", |p| {
            p.try_update("age", |f| f.set(A, Timestamp::new(10, 0), 30))
        })
        .unwrap();
    let _ = x
        .try_update("profile", |p| {
            p.try_update("zip", |f| f.set(A, Timestamp::new(11, 0), 1000))
        })
        .unwrap();
    let mut y = x.clone();
    let dx = x.remove("profile");
    let dy = y
        .try_update("profile", |p| {
            p.try_update("age", |f| f.set(B, Timestamp::new(5, 0), 31))
        })
        .unwrap();
    x.join(dy);
    y.join(dx);
    assert_eq!(x, y);
    let profile = x.get("profile").unwrap();
    // The update wins even though its timestamp is older: a remove carries no time.
    assert_eq!(
        profile.get("age").and_then(|f| f.value().copied()),
        Some(31)
    );
    assert!(!profile.contains_key("zip"));
    let again = x.remove("profile");
    y.join(again);
    assert!(y.is_empty());
}

/// Akka ORMap: entries merged from two maps with overlapping keys keep both sides' nested
/// content; a key removed on one side and untouched on the other is gone after the merge.
#[test]
fn akka_style_merge_with_overlapping_and_removed_entries() {
    let mut m1: Tags = ORMap::new();
    let mut m2: Tags = ORMap::new();
    let _ = m1.try_update("a", |s| s.add(A, "A")).unwrap();
    let _ = m1.try_update("b", |s| s.add(A, "B1")).unwrap();
    m2.join(m1.clone());
    let _ = m2.try_update("b", |s| s.add(B, "B2")).unwrap();
    let _ = m2.try_update("c", |s| s.add(B, "C")).unwrap();
    let _ = m1.remove("a");
    let mut merged = m1.clone();
    merged.join(m2.clone());
    let mut other_way = m2.clone();
    other_way.join(m1.clone());
    assert_eq!(merged, other_way);
    assert_eq!(merged.keys().collect::<Vec<_>>(), [&"b", &"c"]);
    assert_eq!(
        merged.get("b").unwrap().iter().collect::<Vec<_>>(),
        [&"B1", &"B2"]
    );
}

/// Akka ORMap: replacing an entry with remove followed by put, while another replica adds to
/// the old entry, keeps the other replica's concurrent add (observed-remove), which is the
/// documented danger of replace-by-remove.
#[test]
fn akka_style_remove_then_put_keeps_concurrent_additions() {
    let mut m1: Tags = ORMap::new();
    let _ = m1.try_update("k", |s| s.add(A, "v1")).unwrap();
    let mut m2 = m1.clone();
    let _ = m1.remove("k");
    let _ = m1.try_update("k", |s| s.add(A, "v2")).unwrap();
    let _ = m2.try_update("k", |s| s.add(B, "v3")).unwrap();
    exchange(&mut m1, &mut m2);
    assert_eq!(m1, m2);
    assert_eq!(
        m1.get("k").unwrap().iter().collect::<Vec<_>>(),
        [&"v2", &"v3"]
    );
}

#[test]
fn catch_up_after_one_nested_change_in_a_100k_key_map_is_under_64_bytes() {
    let mut big: ORMap<u64, CausalCounter> = ORMap::new();
    for k in 0..100_000u64 {
        let _ = big.try_update(k, |q| q.inc(A, 1)).unwrap();
    }
    let mut behind = big.clone();
    let _ = big.try_update(50_000, |q| q.inc(B, 2)).unwrap();
    let delta = big.delta_since(&behind.version());
    let bytes = delta.to_bytes().len();
    assert!(bytes <= 64, "catch-up delta is {bytes} bytes");
    behind.join(delta);
    assert_eq!(behind, big);
    assert_eq!(behind.get(&50_000).map(|q| q.value()), Some(3));
    // And a nested remove: only the retired event travels.
    let mut behind = big.clone();
    let _ = big.remove(&7);
    let delta = big.delta_since(&behind.version());
    assert!(delta.to_bytes().len() <= 64);
    behind.join(delta);
    assert_eq!(behind, big);
    assert!(big.units() > 100_000);
}

#[test]
fn lww_field_in_a_map_picks_the_latest_write_and_survives_a_concurrent_remove() {
    let mut x: ORMap<&str, LWWField<&str>> = ORMap::new();
    let _ = x
        .try_update("note", |f| f.set(A, Timestamp::new(100, 0), "gift"))
        .unwrap();
    let mut y = x.clone();
    let mut z = x.clone();
    let dy = y
        .try_update("note", |f| f.set(B, Timestamp::new(300, 0), "no gift"))
        .unwrap();
    let dz = z
        .try_update("note", |f| f.set(C, Timestamp::new(200, 0), "wrap"))
        .unwrap();
    let dx = x.remove("note");
    for d in [dx, dy, dz] {
        x.join(d.clone());
        y.join(d.clone());
        z.join(d);
    }
    assert_eq!(x, y);
    assert_eq!(y, z);
    // Both concurrent writes survive the remove; reads pick the later timestamp.
    let note = x.get("note").unwrap();
    assert_eq!(note.value(), Some(&"no gift"));
    assert_eq!(note.as_causal().store().len(), 2);
}

/// A user-defined value type through the public traits: a register that merges concurrent
/// writes by their maximum.
#[derive(Clone, Default, Debug, PartialEq)]
struct MaxRegister(Causal<DotFun<u64>>);

impl CausalType for MaxRegister {
    type Store = DotFun<u64>;
    fn from_causal(c: Causal<DotFun<u64>>) -> Self {
        MaxRegister(c)
    }
    fn into_causal(self) -> Causal<DotFun<u64>> {
        self.0
    }
    fn as_causal(&self) -> &Causal<DotFun<u64>> {
        &self.0
    }
}

impl MaxRegister {
    fn write(&mut self, me: ReplicaId, v: u64) -> Result<Self, DotsExhausted> {
        let dot = self.0.next_dot(me)?;
        let mut store = DotFun::new();
        store.insert(dot, v.max(self.get()));
        let seen = self.0.store().iter().map(|(d, _)| d);
        let delta = Causal::from_store_with(store, seen);
        self.0.join(delta.clone());
        Ok(MaxRegister(delta))
    }
    fn get(&self) -> u64 {
        self.0.store().iter().map(|(_, v)| *v).max().unwrap_or(0)
    }
}

#[test]
fn a_user_defined_value_type_merges_by_its_own_rule_in_a_map() {
    let mut x: ORMap<u8, MaxRegister> = ORMap::new();
    let mut y: ORMap<u8, MaxRegister> = ORMap::new();
    let _ = x.try_update(1, |r| r.write(A, 40)).unwrap();
    let _ = y.try_update(1, |r| r.write(B, 55)).unwrap();
    let _ = y.try_update(1, |r| r.write(B, 20)).unwrap(); // never goes down
    exchange(&mut x, &mut y);
    assert_eq!(x, y);
    assert_eq!(x.get(&1).unwrap().get(), 55);
    let bytes = x.to_bytes();
    assert_eq!(ORMap::<u8, MaxRegister>::from_bytes(&bytes).unwrap(), x);
}

#[test]
fn a_closure_that_changes_more_than_its_delta_leaves_the_map_consistent() {
    let mut tags: Tags = ORMap::new();
    // Two adds, but only the second delta returned: the map still holds both, and catch-up
    // (which reads the map's own index and digests) ships both.
    let _ = tags
        .try_update("doc", |s| {
            let _ = s.add(A, "first")?;
            s.add(A, "second")
        })
        .unwrap();
    assert_eq!(tags.get("doc").unwrap().len(), 2);
    let mut fresh: Tags = ORMap::new();
    fresh.join(tags.delta_since(&fresh.version()));
    assert_eq!(fresh, tags);
    assert!(tags.delta_since(&fresh.version()).is_bottom());
}

#[test]
fn a_failed_nested_mutator_changes_nothing() {
    let mut cart: Cart = ORMap::new();
    let _ = cart.try_update("a".into(), |q| q.inc(A, 1)).unwrap();
    let before = cart.clone();
    let err = cart.try_update("b".into(), |_| Err::<CausalCounter, &str>("refused"));
    assert_eq!(err.unwrap_err(), "refused");
    assert_eq!(cart, before);
    assert_eq!(cart.version(), before.version());
}

#[test]
fn a_shared_replica_id_shows_as_a_dot_collision() {
    let shared = ReplicaId(42);
    let mut x: Tags = ORMap::new();
    let mut y: Tags = ORMap::new();
    let _ = x.try_update("k", |s| s.add(shared, "from x")).unwrap();
    let _ = y.try_update("k", |s| s.add(shared, "from y")).unwrap();
    assert!(x.dot_collision(&y).is_some());
    let mut z: Tags = ORMap::new();
    let _ = z.try_update("other", |s| s.add(shared, "z")).unwrap();
    assert!(x.dot_collision(&z).is_some(), "same dot under two keys");
    let honest = x.clone();
    assert_eq!(x.dot_collision(&honest), None);
}

#[test]
fn nested_encodings_are_canonical_and_checked() {
    let mut x: ORMap<u8, ORMap<u8, CausalCounter>> = ORMap::new();
    let _ = x
        .try_update(1, |m| m.try_update(2, |q| q.inc(A, 3)))
        .unwrap();
    let _ = x
        .try_update(1, |m| m.try_update(5, |q| q.dec(B, 1)))
        .unwrap();
    let bytes = x.to_bytes();
    assert_eq!(bytes[1], tag::ORMAP);
    assert_eq!(
        ORMap::<u8, ORMap<u8, CausalCounter>>::from_bytes(&bytes).unwrap(),
        x
    );
    // Layout: header, context (2 replicas), 1 key, key 1, its inner map of 2 keys.
    let context_len = 1 + 2 * (8 + 1 + 2);
    assert_eq!(bytes[2 + context_len], 1, "one outer key");
    assert_eq!(bytes[2 + context_len + 1], 1, "the outer key");
    assert_eq!(bytes[2 + context_len + 2], 2, "two inner keys");
    // An inner map with no key is not canonical (a key is present only while it holds a dot).
    // (Padded so that the outer count passes its length check against the bytes left.)
    let mut empty_inner = bytes[..2 + context_len + 2].to_vec();
    empty_inner.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0]);
    let err = ORMap::<u8, ORMap<u8, CausalCounter>>::from_bytes(&empty_inner).unwrap_err();
    assert_eq!(err.kind, DecodeErrorKind::Zero);
    assert_eq!(err.offset, 2 + context_len + 2);
}

/// The cart snippet of the README, as written there.
#[test]
fn readme_cart_snippet() -> Result<(), DotsExhausted> {
    let (eu, us) = (ReplicaId(1), ReplicaId(2));
    let mut x: ORMap<String, ORMap<String, CausalCounter>> = ORMap::new();
    let _ = x.try_update("alice".into(), |cart| {
        cart.try_update("sku-1".into(), |q| q.inc(eu, 2))
    })?;
    let mut y = x.clone();
    let dx = x.update("alice".into(), |cart| cart.remove("sku-1"));
    let dy = y.try_update("alice".into(), |cart| {
        cart.try_update("sku-1".into(), |q| q.inc(us, 1))
    })?;
    x.join(dy);
    y.join(dx);
    assert_eq!(x, y);
    assert_eq!(
        x.get("alice")
            .and_then(|c| c.get("sku-1"))
            .map(|q| q.value()),
        Some(1)
    );
    Ok(())
}
