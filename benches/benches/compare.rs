//! deltacrdt against the `crdts` crate (7.x) and a sorted-`Vec<u64>` floor, in the same run.
//!
//! Every group benchmarks the same workload (built by `deltacrdt_benches::workload`) with the
//! functions `ours`, `crdts` and, where it means something, `floor`. Group names are
//! `<type>/<workload>`; the report (`scripts/bench-report`) turns them into ratio tables.
//!
//! Inputs that a call consumes or mutates are cloned in criterion's untimed setup
//! (`iter_batched`), so the timings hold only the operation itself.

// `criterion_group!` generates a public function without documentation.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use deltacrdt::{Binary, DeltaCrdt, GCounter, LWWRegister, Lattice, MVRegister, PNCounter};
use deltacrdt_benches::floor as vecfloor;
use deltacrdt_benches::workload::{self as wl, floor, ours, peer};

use crdts::{CvRDT, GCounter as PGCounter, PNCounter as PPNCounter};

fn batch(n: usize) -> BatchSize {
    if n >= 10_000 {
        BatchSize::LargeInput
    } else {
        BatchSize::SmallInput
    }
}

fn orset(c: &mut Criterion) {
    let id = format!("{} into {}", wl::MUTATIONS, wl::BASE_SET);
    let mut g = c.benchmark_group("orset/add");
    g.throughput(Throughput::Elements(wl::MUTATIONS as u64));
    let (o, p, f) = (
        ours::set_of(wl::BASE_SET),
        peer::set_of(wl::BASE_SET),
        floor::set_of(wl::BASE_SET),
    );
    g.bench_function(BenchmarkId::new("ours", &id), |b| {
        b.iter_batched(
            || o.clone(),
            |mut s| (ours::add_many(&mut s, wl::LEFT, wl::fresh_elements()), s),
            BatchSize::LargeInput,
        )
    });
    g.bench_function(BenchmarkId::new("crdts", &id), |b| {
        b.iter_batched(
            || p.clone(),
            |mut s| (peer::add_many(&mut s, wl::LEFT, wl::fresh_elements()), s),
            BatchSize::LargeInput,
        )
    });
    // The floor appends to a sorted vector (the fresh elements are all larger).
    g.bench_function(BenchmarkId::new("floor", &id), |b| {
        b.iter_batched(
            || f.clone(),
            |mut v| {
                for e in wl::fresh_elements() {
                    v.push(e);
                }
                v
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();

    let id = format!("{} from {}", wl::MUTATIONS, wl::BASE_SET);
    let mut g = c.benchmark_group("orset/remove");
    g.throughput(Throughput::Elements(wl::MUTATIONS as u64));
    g.bench_function(BenchmarkId::new("ours", &id), |b| {
        b.iter_batched(
            || o.clone(),
            |mut s| (ours::remove_many(&mut s, wl::removed_elements()), s),
            BatchSize::LargeInput,
        )
    });
    g.bench_function(BenchmarkId::new("crdts", &id), |b| {
        b.iter_batched(
            || p.clone(),
            |mut s| (peer::remove_many(&mut s, wl::removed_elements()), s),
            BatchSize::LargeInput,
        )
    });
    g.finish();

    let mut g = c.benchmark_group("orset/join");
    for n in wl::SET_SIZES {
        g.throughput(Throughput::Elements(n as u64));
        let (o, p, f) = (ours::set_pair(n), peer::set_pair(n), floor::pair(n));
        g.bench_with_input(BenchmarkId::new("ours", n), &o, |b, pair| {
            b.iter_batched(
                || pair.clone(),
                |mut pair| {
                    pair.left.join(pair.right);
                    pair.left
                },
                batch(n),
            )
        });
        g.bench_with_input(BenchmarkId::new("crdts", n), &p, |b, pair| {
            b.iter_batched(
                || pair.clone(),
                |mut pair| {
                    pair.left.merge(pair.right);
                    pair.left
                },
                batch(n),
            )
        });
        g.bench_with_input(BenchmarkId::new("floor", n), &f, |b, pair| {
            b.iter(|| vecfloor::union(black_box(&pair.left), black_box(&pair.right)))
        });
    }
    g.finish();

    let n = wl::CATCH_UP_SET;
    let id = format!(
        "{n} + {} adds, {} removes",
        wl::CATCH_UP_ADDS,
        wl::CATCH_UP_REMOVES
    );
    let mut g = c.benchmark_group("orset/delta_since");
    let (ahead, behind) = ours::set_catch_up(n);
    let p = peer::set_catch_up(n);
    let (fv, seen) = floor::catch_up(n);
    g.bench_function(BenchmarkId::new("ours", &id), |b| {
        b.iter(|| black_box(&ahead).delta_since(black_box(&behind)))
    });
    // The peer has no catch-up delta: a lagging replica gets a copy of the whole state.
    g.bench_function(BenchmarkId::new("crdts", &id), |b| {
        b.iter(|| black_box(&p).clone())
    });
    g.bench_function(BenchmarkId::new("floor", &id), |b| {
        b.iter(|| vecfloor::tail_after(black_box(&fv), seen))
    });
    g.finish();

    let mut g = c.benchmark_group("orset/encode");
    g.throughput(Throughput::Elements(n as u64));
    let (o, p, f) = (ours::set_of(n), peer::set_of(n), floor::set_of(n));
    g.bench_function(BenchmarkId::new("ours", n), |b| {
        b.iter(|| black_box(&o).to_bytes())
    });
    g.bench_function(BenchmarkId::new("crdts", n), |b| {
        b.iter(|| bincode::serialize(black_box(&p)).expect("encodes"))
    });
    g.bench_function(BenchmarkId::new("floor", n), |b| {
        b.iter(|| vecfloor::encode(black_box(&f)))
    });
    g.finish();

    let mut g = c.benchmark_group("orset/decode");
    g.throughput(Throughput::Elements(n as u64));
    let (ob, pb, fb) = (
        o.to_bytes(),
        bincode::serialize(&p).expect("encodes"),
        vecfloor::encode(&f),
    );
    g.bench_function(BenchmarkId::new("ours", n), |b| {
        b.iter(|| ours::Set::from_bytes(black_box(&ob)).expect("decodes"))
    });
    g.bench_function(BenchmarkId::new("crdts", n), |b| {
        b.iter(|| bincode::deserialize::<peer::Set>(black_box(&pb)).expect("decodes"))
    });
    g.bench_function(BenchmarkId::new("floor", n), |b| {
        b.iter(|| vecfloor::decode(black_box(&fb)).expect("decodes"))
    });
    g.finish();
}

fn ormap(c: &mut Criterion) {
    let n = wl::MAP_KEYS;
    let id = format!("{} into {n}", wl::MUTATIONS);
    let mut g = c.benchmark_group("ormap/update");
    g.throughput(Throughput::Elements(wl::MUTATIONS as u64));
    let (o, p) = (ours::map_of(n), peer::map_of(n));
    g.bench_function(BenchmarkId::new("ours", &id), |b| {
        b.iter_batched(
            || o.clone(),
            |mut m| (ours::map_inc_many(&mut m, wl::LEFT, wl::updated_keys()), m),
            BatchSize::LargeInput,
        )
    });
    g.bench_function(BenchmarkId::new("crdts", &id), |b| {
        b.iter_batched(
            || p.clone(),
            |mut m| (peer::map_inc_many(&mut m, wl::LEFT, wl::updated_keys()), m),
            BatchSize::LargeInput,
        )
    });
    g.finish();

    let mut g = c.benchmark_group("ormap/join");
    g.throughput(Throughput::Elements(n as u64));
    let (op, pp) = (ours::map_pair(n), peer::map_pair(n));
    g.bench_with_input(BenchmarkId::new("ours", n), &op, |b, pair| {
        b.iter_batched(
            || pair.clone(),
            |mut pair| {
                pair.left.join(pair.right);
                pair.left
            },
            batch(n),
        )
    });
    g.bench_with_input(BenchmarkId::new("crdts", n), &pp, |b, pair| {
        b.iter_batched(
            || pair.clone(),
            |mut pair| {
                pair.left.merge(pair.right);
                pair.left
            },
            batch(n),
        )
    });
    g.finish();

    // Ours only: the `crdts` map has no catch-up delta (it would ship its whole state).
    let id = format!(
        "{n} + {} updates, {} removes",
        wl::MAP_CATCH_UP_UPDATES,
        wl::MAP_CATCH_UP_REMOVES
    );
    let mut g = c.benchmark_group("ormap/delta_since");
    let (ahead, behind) = ours::map_catch_up(n);
    g.bench_function(BenchmarkId::new("ours", &id), |b| {
        b.iter(|| black_box(&ahead).delta_since(black_box(&behind)))
    });
    g.finish();

    let mut g = c.benchmark_group("ormap/encode");
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function(BenchmarkId::new("ours", n), |b| {
        b.iter(|| black_box(&o).to_bytes())
    });
    g.bench_function(BenchmarkId::new("crdts", n), |b| {
        b.iter(|| bincode::serialize(black_box(&p)).expect("encodes"))
    });
    g.finish();

    let mut g = c.benchmark_group("ormap/decode");
    g.throughput(Throughput::Elements(n as u64));
    let (ob, pb) = (o.to_bytes(), bincode::serialize(&p).expect("encodes"));
    g.bench_function(BenchmarkId::new("ours", n), |b| {
        b.iter(|| ours::Map::from_bytes(black_box(&ob)).expect("decodes"))
    });
    g.bench_function(BenchmarkId::new("crdts", n), |b| {
        b.iter(|| bincode::deserialize::<peer::Map>(black_box(&pb)).expect("decodes"))
    });
    g.finish();
}

fn counters(c: &mut Criterion) {
    let id = format!("{} over 16 replicas", wl::MUTATIONS);
    let mut g = c.benchmark_group("gcounter/inc");
    g.throughput(Throughput::Elements(wl::MUTATIONS as u64));
    g.bench_function(BenchmarkId::new("ours", &id), |b| {
        b.iter_batched(
            GCounter::new,
            |mut c| (ours::gcounter_incs(&mut c, 16), c),
            BatchSize::SmallInput,
        )
    });
    g.bench_function(BenchmarkId::new("crdts", &id), |b| {
        b.iter_batched(
            PGCounter::<u64>::new,
            |mut c| (peer::gcounter_incs(&mut c, 16), c),
            BatchSize::SmallInput,
        )
    });
    g.finish();

    let mut g = c.benchmark_group("pncounter/inc_dec");
    g.throughput(Throughput::Elements(wl::MUTATIONS as u64));
    g.bench_function(BenchmarkId::new("ours", &id), |b| {
        b.iter_batched(
            PNCounter::new,
            |mut c| (ours::pncounter_ops(&mut c, 16), c),
            BatchSize::SmallInput,
        )
    });
    g.bench_function(BenchmarkId::new("crdts", &id), |b| {
        b.iter_batched(
            PPNCounter::<u64>::new,
            |mut c| (peer::pncounter_ops(&mut c, 16), c),
            BatchSize::SmallInput,
        )
    });
    g.finish();

    let mut g = c.benchmark_group("gcounter/join");
    for r in wl::COUNTER_REPLICAS {
        let (o, p, f) = (
            ours::gcounter_pair(r),
            peer::gcounter_pair(r),
            floor::pair(r),
        );
        g.bench_with_input(BenchmarkId::new("ours", r), &o, |b, pair| {
            b.iter_batched(
                || pair.clone(),
                |mut pair| {
                    pair.left.join(pair.right);
                    pair.left
                },
                BatchSize::SmallInput,
            )
        });
        g.bench_with_input(BenchmarkId::new("crdts", r), &p, |b, pair| {
            b.iter_batched(
                || pair.clone(),
                |mut pair| {
                    pair.left.merge(pair.right);
                    pair.left
                },
                BatchSize::SmallInput,
            )
        });
        g.bench_with_input(BenchmarkId::new("floor", r), &f, |b, pair| {
            b.iter(|| vecfloor::union(black_box(&pair.left), black_box(&pair.right)))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("pncounter/join");
    for r in wl::COUNTER_REPLICAS {
        let (o, p, f) = (
            ours::pncounter_pair(r),
            peer::pncounter_pair(r),
            floor::pair(2 * r),
        );
        g.bench_with_input(BenchmarkId::new("ours", r), &o, |b, pair| {
            b.iter_batched(
                || pair.clone(),
                |mut pair| {
                    pair.left.join(pair.right);
                    pair.left
                },
                BatchSize::SmallInput,
            )
        });
        g.bench_with_input(BenchmarkId::new("crdts", r), &p, |b, pair| {
            b.iter_batched(
                || pair.clone(),
                |mut pair| {
                    pair.left.merge(pair.right);
                    pair.left
                },
                BatchSize::SmallInput,
            )
        });
        g.bench_with_input(BenchmarkId::new("floor", r), &f, |b, pair| {
            b.iter(|| vecfloor::union(black_box(&pair.left), black_box(&pair.right)))
        });
    }
    g.finish();

    let r = 1_000;
    let id = format!("{r} replicas, {} behind", wl::CATCH_UP_COUNTERS);
    let mut g = c.benchmark_group("gcounter/delta_since");
    let (ahead, behind) = ours::gcounter_catch_up(r);
    let p = peer::gcounter_catch_up(r);
    let fv: Vec<u64> = (0..r as u64).collect();
    g.bench_function(BenchmarkId::new("ours", &id), |b| {
        b.iter(|| black_box(&ahead).delta_since(black_box(&behind)))
    });
    g.bench_function(BenchmarkId::new("crdts", &id), |b| {
        b.iter(|| black_box(&p).clone())
    });
    g.bench_function(BenchmarkId::new("floor", &id), |b| {
        b.iter(|| vecfloor::tail_after(black_box(&fv), (r - wl::CATCH_UP_COUNTERS) as u64))
    });
    g.finish();

    let mut g = c.benchmark_group("pncounter/delta_since");
    let (ahead, behind) = ours::pncounter_catch_up(r);
    let p = peer::pncounter_catch_up(r);
    g.bench_function(BenchmarkId::new("ours", &id), |b| {
        b.iter(|| black_box(&ahead).delta_since(black_box(&behind)))
    });
    g.bench_function(BenchmarkId::new("crdts", &id), |b| {
        b.iter(|| black_box(&p).clone())
    });
    g.finish();

    for (name, o, p) in [
        (
            "gcounter",
            ours::gcounter_pair(r).left.to_bytes(),
            bincode::serialize(&peer::gcounter_pair(r).left).expect("encodes"),
        ),
        (
            "pncounter",
            ours::pncounter_pair(r).left.to_bytes(),
            bincode::serialize(&peer::pncounter_pair(r).left).expect("encodes"),
        ),
    ] {
        let mut g = c.benchmark_group(format!("{name}/decode"));
        if name == "gcounter" {
            g.bench_function(BenchmarkId::new("ours", r), |b| {
                b.iter(|| GCounter::from_bytes(black_box(&o)).expect("decodes"))
            });
            g.bench_function(BenchmarkId::new("crdts", r), |b| {
                b.iter(|| bincode::deserialize::<PGCounter<u64>>(black_box(&p)).expect("decodes"))
            });
        } else {
            g.bench_function(BenchmarkId::new("ours", r), |b| {
                b.iter(|| PNCounter::from_bytes(black_box(&o)).expect("decodes"))
            });
            g.bench_function(BenchmarkId::new("crdts", r), |b| {
                b.iter(|| bincode::deserialize::<PPNCounter<u64>>(black_box(&p)).expect("decodes"))
            });
        }
        g.finish();
    }

    let mut g = c.benchmark_group("gcounter/encode");
    let (o, p) = (ours::gcounter_pair(r).left, peer::gcounter_pair(r).left);
    g.bench_function(BenchmarkId::new("ours", r), |b| {
        b.iter(|| black_box(&o).to_bytes())
    });
    g.bench_function(BenchmarkId::new("crdts", r), |b| {
        b.iter(|| bincode::serialize(black_box(&p)).expect("encodes"))
    });
    g.finish();
    let mut g = c.benchmark_group("pncounter/encode");
    let (o, p) = (ours::pncounter_pair(r).left, peer::pncounter_pair(r).left);
    g.bench_function(BenchmarkId::new("ours", r), |b| {
        b.iter(|| black_box(&o).to_bytes())
    });
    g.bench_function(BenchmarkId::new("crdts", r), |b| {
        b.iter(|| bincode::serialize(black_box(&p)).expect("encodes"))
    });
    g.finish();
}

fn registers(c: &mut Criterion) {
    let id = format!("{} writes", wl::MUTATIONS);
    let mut g = c.benchmark_group("lwwregister/set");
    g.throughput(Throughput::Elements(wl::MUTATIONS as u64));
    g.bench_function(BenchmarkId::new("ours", &id), |b| {
        b.iter_batched(
            LWWRegister::new,
            |mut r| (ours::lww_writes(&mut r), r),
            BatchSize::SmallInput,
        )
    });
    g.bench_function(BenchmarkId::new("crdts", &id), |b| {
        b.iter_batched(
            peer::Lww::default,
            |mut r| (peer::lww_writes(&mut r), r),
            BatchSize::SmallInput,
        )
    });
    g.finish();

    let mut g = c.benchmark_group("mvregister/write");
    g.throughput(Throughput::Elements(wl::MUTATIONS as u64));
    g.bench_function(BenchmarkId::new("ours", &id), |b| {
        b.iter_batched(
            MVRegister::new,
            |mut r| (ours::mv_writes(&mut r), r),
            BatchSize::SmallInput,
        )
    });
    g.bench_function(BenchmarkId::new("crdts", &id), |b| {
        b.iter_batched(
            peer::Mv::new,
            |mut r| (peer::mv_writes(&mut r), r),
            BatchSize::SmallInput,
        )
    });
    g.finish();

    let mut g = c.benchmark_group("lwwregister/join");
    let (o, p) = (ours::lww_pair(), peer::lww_pair());
    g.bench_function(BenchmarkId::new("ours", "2 writers"), |b| {
        b.iter_batched(
            || o.clone(),
            |mut pair| {
                pair.left.join(pair.right);
                pair.left
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function(BenchmarkId::new("crdts", "2 writers"), |b| {
        b.iter_batched(
            || p.clone(),
            |mut pair| {
                pair.left.merge(pair.right);
                pair.left
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();

    let w = wl::REGISTER_WRITERS;
    let mut g = c.benchmark_group("mvregister/join");
    let (o, p, f) = (ours::mv_pair(), peer::mv_pair(), floor::pair(w));
    g.bench_function(BenchmarkId::new("ours", w), |b| {
        b.iter_batched(
            || o.clone(),
            |mut pair| {
                pair.left.join(pair.right);
                pair.left
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function(BenchmarkId::new("crdts", w), |b| {
        b.iter_batched(
            || p.clone(),
            |mut pair| {
                pair.left.merge(pair.right);
                pair.left
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function(BenchmarkId::new("floor", w), |b| {
        b.iter(|| vecfloor::union(black_box(&f.left), black_box(&f.right)))
    });
    g.finish();

    let mut g = c.benchmark_group("mvregister/delta_since");
    let behind = ours::mv_siblings(0..w as u64);
    let mut ahead = behind.clone();
    ahead
        .write(deltacrdt::ReplicaId(wl::LEFT), 99)
        .expect("dots left");
    let v = behind.version();
    let mut pahead = peer::mv_siblings(0..w as u64);
    let ctx = pahead.read_ctx().derive_add_ctx(wl::LEFT);
    let op = pahead.write(99, ctx);
    crdts::CmRDT::apply(&mut pahead, op);
    g.bench_function(BenchmarkId::new("ours", w), |b| {
        b.iter(|| black_box(&ahead).delta_since(black_box(&v)))
    });
    g.bench_function(BenchmarkId::new("crdts", w), |b| {
        b.iter(|| black_box(&pahead).clone())
    });
    g.finish();

    let mut g = c.benchmark_group("mvregister/encode");
    let (o, p) = (
        ours::mv_siblings(0..w as u64),
        peer::mv_siblings(0..w as u64),
    );
    g.bench_function(BenchmarkId::new("ours", w), |b| {
        b.iter(|| black_box(&o).to_bytes())
    });
    g.bench_function(BenchmarkId::new("crdts", w), |b| {
        b.iter(|| bincode::serialize(black_box(&p)).expect("encodes"))
    });
    g.finish();

    let mut g = c.benchmark_group("mvregister/decode");
    let (ob, pb) = (o.to_bytes(), bincode::serialize(&p).expect("encodes"));
    g.bench_function(BenchmarkId::new("ours", w), |b| {
        b.iter(|| MVRegister::<u64>::from_bytes(black_box(&ob)).expect("decodes"))
    });
    g.bench_function(BenchmarkId::new("crdts", w), |b| {
        b.iter(|| bincode::deserialize::<peer::Mv>(black_box(&pb)).expect("decodes"))
    });
    g.finish();

    let mut g = c.benchmark_group("lwwregister/encode_decode");
    let (o, p) = (ours::lww_pair().right, peer::lww_pair().right);
    // `black_box` on the bytes too: otherwise the optimiser sees through a serialize followed
    // by a deserialize of the same buffer and removes the work.
    g.bench_function(BenchmarkId::new("ours", "1 value"), |b| {
        b.iter(|| {
            let bytes = black_box(black_box(&o).to_bytes());
            LWWRegister::<u64>::from_bytes(&bytes).expect("round trip")
        })
    });
    g.bench_function(BenchmarkId::new("crdts", "1 value"), |b| {
        b.iter(|| {
            let bytes = black_box(bincode::serialize(black_box(&p)).expect("encodes"));
            bincode::deserialize::<peer::Lww>(&bytes).expect("round trip")
        })
    });
    g.finish();
}

fn sync(c: &mut Criterion) {
    use deltacrdt_benches::workload::link;
    let id = format!("{} adds on {}", link::ROUND_UPDATES, wl::BASE_SET);
    let mut g = c.benchmark_group("sync/orset_round");
    g.throughput(Throughput::Elements(link::ROUND_UPDATES as u64));
    let (o, p) = (link::ours_link(wl::BASE_SET), link::peer_link(wl::BASE_SET));
    g.bench_function(BenchmarkId::new("ours", &id), |b| {
        b.iter_batched(
            || o.clone(),
            |mut l| (link::ours_round(&mut l, link::round_elements()), l),
            BatchSize::LargeInput,
        )
    });
    g.bench_function(BenchmarkId::new("crdts", &id), |b| {
        b.iter_batched(
            || p.clone(),
            |mut l| (link::peer_round(&mut l, link::round_elements()), l),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, orset, ormap, counters, registers, sync);
criterion_main!(benches);
