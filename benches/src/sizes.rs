//! Heap bytes and encoded bytes per element, for each contender on the same workloads.
//!
//! Heap sizes need [`CountingAlloc`](crate::heap::CountingAlloc) as the global allocator (the
//! `bench-sizes` binary installs it); encoded sizes do not. The peer is encoded with `bincode`
//! 1.x (its serde derives), ours with its own binary format, the floor as 8 bytes per `u64`.

use deltacrdt::{Binary, DeltaCrdt};
use serde::{Deserialize, Serialize};

use crate::heap::retained_by;
use crate::workload::{self, floor, ours, peer, COUNTER_REPLICAS, SET_SIZES};

/// One measured size: the same quantity for each contender (`None` where it does not apply).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SizeRow {
    /// What was measured, e.g. `orset heap`.
    pub metric: String,
    /// The workload size, e.g. `10000`.
    pub param: String,
    /// The unit of the three values, e.g. `bytes/element`.
    pub unit: String,
    /// deltacrdt.
    pub ours: f64,
    /// The `crdts` crate.
    pub crdts: Option<f64>,
    /// Sorted `Vec<u64>`.
    pub floor: Option<f64>,
}

fn row(
    metric: &str,
    param: impl ToString,
    unit: &str,
    ours: f64,
    crdts: Option<f64>,
    floor: Option<f64>,
) -> SizeRow {
    SizeRow {
        metric: metric.to_string(),
        param: param.to_string(),
        unit: unit.to_string(),
        ours,
        crdts,
        floor,
    }
}

fn heap_per<T>(n: usize, build: impl FnOnce() -> T) -> f64 {
    let (value, bytes) = retained_by(build);
    drop(value);
    bytes as f64 / n as f64
}

fn bincode_len<T: Serialize>(value: &T) -> usize {
    bincode::serialize(value)
        .expect("bincode encodes every crdts value")
        .len()
}

/// Heap bytes per element (per replica for counters, per sibling for the MV register).
///
/// # Panics
/// If the counting allocator is not installed.
pub fn heap_rows() -> Vec<SizeRow> {
    let mut rows = Vec::new();
    for n in SET_SIZES {
        rows.push(row(
            "orset heap",
            n,
            "bytes/element",
            heap_per(n, || ours::set_of(n)),
            Some(heap_per(n, || peer::set_of(n))),
            Some(heap_per(n, || floor::set_of(n))),
        ));
    }
    for r in COUNTER_REPLICAS {
        rows.push(row(
            "gcounter heap",
            r,
            "bytes/replica",
            heap_per(r, || ours::gcounter_pair(r).left),
            Some(heap_per(r, || peer::gcounter_pair(r).left)),
            Some(heap_per(r, || floor::set_of(r))),
        ));
        rows.push(row(
            "pncounter heap",
            r,
            "bytes/replica",
            heap_per(r, || ours::pncounter_pair(r).left),
            Some(heap_per(r, || peer::pncounter_pair(r).left)),
            Some(heap_per(r, || floor::set_of(2 * r))),
        ));
    }
    let k = workload::MAP_KEYS;
    rows.push(row(
        "ormap heap",
        k,
        "bytes/key",
        heap_per(k, || ours::map_of(k)),
        Some(heap_per(k, || peer::map_of(k))),
        Some(heap_per(k, || floor::map_of(k))),
    ));
    let w = workload::REGISTER_WRITERS;
    rows.push(row(
        "mvregister heap",
        w,
        "bytes/sibling",
        heap_per(w, || ours::mv_siblings(0..w as u64)),
        Some(heap_per(w, || peer::mv_siblings(0..w as u64))),
        Some(heap_per(w, || floor::set_of(w))),
    ));
    rows
}

/// Encoded bytes per element, and the bytes a lagging replica must receive to catch up.
pub fn encoded_rows() -> Vec<SizeRow> {
    let mut rows = Vec::new();
    for n in SET_SIZES {
        let o = ours::set_of(n).to_bytes().len();
        let p = bincode_len(&peer::set_of(n));
        let f = crate::floor::encode(&floor::set_of(n)).len();
        rows.push(row(
            "orset encoded",
            n,
            "bytes/element",
            o as f64 / n as f64,
            Some(p as f64 / n as f64),
            Some(f as f64 / n as f64),
        ));
    }
    let k = workload::MAP_KEYS;
    let o = ours::map_of(k).to_bytes().len();
    let p = bincode_len(&peer::map_of(k));
    rows.push(row(
        "ormap encoded",
        k,
        "bytes/key",
        o as f64 / k as f64,
        Some(p as f64 / k as f64),
        Some(16.0),
    ));
    for r in COUNTER_REPLICAS {
        let o = ours::gcounter_pair(r).left.to_bytes().len();
        let p = bincode_len(&peer::gcounter_pair(r).left);
        rows.push(row(
            "gcounter encoded",
            r,
            "bytes/replica",
            o as f64 / r as f64,
            Some(p as f64 / r as f64),
            Some(8.0),
        ));
        let o = ours::pncounter_pair(r).left.to_bytes().len();
        let p = bincode_len(&peer::pncounter_pair(r).left);
        rows.push(row(
            "pncounter encoded",
            r,
            "bytes/replica",
            o as f64 / r as f64,
            Some(p as f64 / r as f64),
            Some(16.0),
        ));
    }
    let w = workload::REGISTER_WRITERS;
    let o = ours::mv_siblings(0..w as u64).to_bytes().len();
    let p = bincode_len(&peer::mv_siblings(0..w as u64));
    rows.push(row(
        "mvregister encoded",
        w,
        "bytes/sibling",
        o as f64 / w as f64,
        Some(p as f64 / w as f64),
        Some(8.0),
    ));
    let o = ours::lww_pair().left.to_bytes().len();
    let p = bincode_len(&peer::lww_pair().left);
    rows.push(row(
        "lwwregister encoded",
        1,
        "bytes",
        o as f64,
        Some(p as f64),
        Some(8.0),
    ));

    // Catch-up: the peer has no delta for a lagging replica, so it ships its whole state.
    let n = workload::CATCH_UP_SET;
    let (ahead, behind) = ours::set_catch_up(n);
    let (fv, seen) = floor::catch_up(n);
    rows.push(row(
        "orset catch-up payload",
        format!(
            "{n} + {} adds, {} removes",
            workload::CATCH_UP_ADDS,
            workload::CATCH_UP_REMOVES
        ),
        "bytes",
        ahead.delta_since(&behind).to_bytes().len() as f64,
        Some(bincode_len(&peer::set_catch_up(n)) as f64),
        Some(crate::floor::encode(&crate::floor::tail_after(&fv, seen)).len() as f64),
    ));
    let mut one_more = ours::set_of(n);
    let v = one_more.version();
    one_more
        .add(deltacrdt::ReplicaId(workload::LEFT), u64::MAX)
        .expect("dots left");
    let mut peer_more = peer::set_of(n);
    peer::add(&mut peer_more, workload::LEFT, u64::MAX);
    rows.push(row(
        "orset catch-up after one add",
        n,
        "bytes",
        one_more.delta_since(&v).to_bytes().len() as f64,
        Some(bincode_len(&peer_more) as f64),
        Some(8.0),
    ));
    let mut ol = workload::link::ours_link(workload::BASE_SET);
    let mut pl = workload::link::peer_link(workload::BASE_SET);
    let k = workload::link::ROUND_UPDATES;
    rows.push(row(
        "sync round bytes (both ways)",
        format!("{k} adds on {}", workload::BASE_SET),
        "bytes/update",
        workload::link::ours_round(&mut ol, workload::link::round_elements()) as f64 / k as f64,
        Some(
            workload::link::peer_round(&mut pl, workload::link::round_elements()) as f64 / k as f64,
        ),
        Some(8.0),
    ));
    // (`k` above is the sync round's update count.)
    let keys = workload::MAP_KEYS;
    let (ahead, behind) = ours::map_catch_up(keys);
    rows.push(row(
        "ormap catch-up payload",
        format!(
            "{keys} + {} updates, {} removes",
            workload::MAP_CATCH_UP_UPDATES,
            workload::MAP_CATCH_UP_REMOVES
        ),
        "bytes",
        ahead.delta_since(&behind).to_bytes().len() as f64,
        Some(bincode_len(&peer::map_catch_up(keys)) as f64),
        Some((workload::MAP_CATCH_UP_UPDATES * 16 + workload::MAP_CATCH_UP_REMOVES * 8) as f64),
    ));
    let big = workload::MAP_ONE_CHANGE_KEYS;
    let mut one_more = ours::map_of(big);
    let v = one_more.version();
    ours::map_inc_many(&mut one_more, workload::LEFT, std::iter::once(big as u64));
    let mut peer_more = peer::map_of(big);
    peer::map_inc(&mut peer_more, workload::LEFT, big as u64);
    rows.push(row(
        "ormap catch-up after one update",
        big,
        "bytes",
        one_more.delta_since(&v).to_bytes().len() as f64,
        Some(bincode_len(&peer_more) as f64),
        Some(16.0),
    ));
    let r = 1_000;
    let (ahead, behind) = ours::gcounter_catch_up(r);
    rows.push(row(
        "gcounter catch-up payload",
        format!("{r} replicas, {} behind", workload::CATCH_UP_COUNTERS),
        "bytes",
        ahead.delta_since(&behind).to_bytes().len() as f64,
        Some(bincode_len(&peer::gcounter_catch_up(r)) as f64),
        Some((workload::CATCH_UP_COUNTERS * 16) as f64),
    ));
    rows
}
