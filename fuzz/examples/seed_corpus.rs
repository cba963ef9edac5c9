//! Writes the seed corpora in `fuzz/corpus/<target>/`: a handful of small inputs per target.
//!
//! - `decode`: valid encodings of every state, delta and version type, produced by real
//!   operations (so the fuzzer starts from inputs that get past the header and the checks);
//! - `convergence`, `delta_since`: deterministic pseudo-random bytes, kept only if they parse
//!   into a case of the wanted type with several steps and pass every check, one or more per
//!   type.
//!
//! Run from the repository root: `cargo run --manifest-path fuzz/Cargo.toml --example seed_corpus`.

use std::fs;
use std::path::{Path, PathBuf};

use arbitrary::{Arbitrary, Unstructured};
use deltacrdt::codec::Binary;
use deltacrdt::{
    BoundedCounter, CausalCounter, DeltaCrdt, EWFlag, GCounter, HybridClock, LWWField, LWWRegister,
    Lattice, MVRegister, ORMap, ORSet, PNCounter, ReplicaId, Timestamp,
};
use deltacrdt_fuzz::{convergence, delta_since, hostile, sync};

fn corpus_dir(target: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    fs::create_dir_all(&dir).expect("create corpus dir");
    dir
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    fs::write(dir.join(name), bytes).expect("write seed");
}

fn decode_seeds() {
    let dir = corpus_dir("decode");
    let (a, b, c) = (ReplicaId(1), ReplicaId(2), ReplicaId(u64::MAX));

    // The types of the dot kernel: maps nested two levels, flags, causal counters, LWW fields.
    let mut cart: ORMap<u64, CausalCounter> = ORMap::new();
    for k in 0..20u64 {
        let _ = cart.try_update(k, |q| q.inc(a, 1)).unwrap();
    }
    let _ = cart.remove(&3);
    let dcart = cart.try_update(7, |q| q.dec(b, 2)).unwrap();
    write(&dir, "ormap-counters", &cart.to_bytes());
    write(&dir, "ormap-counters-delta", &dcart.to_bytes());
    write(&dir, "ormap-version", &cart.version().to_bytes());
    let mut tags: ORMap<String, ORSet<String>> = ORMap::new();
    for (k, e) in [("doc-1", "draft"), ("doc-1", "review"), ("doc-2", "draft")] {
        let _ = tags.try_update(k.into(), |s| s.add(c, e.into())).unwrap();
    }
    write(&dir, "ormap-sets", &tags.to_bytes());
    let mut deep: ORMap<u8, ORMap<String, LWWField<String>>> = ORMap::new();
    let _ = deep
        .try_update(1, |m| {
            m.try_update("note".into(), |f| {
                f.set(a, Timestamp::new(1_000, 0), "gift".into())
            })
        })
        .unwrap();
    write(&dir, "ormap-deep", &deep.to_bytes());
    let mut flag = EWFlag::new();
    let _ = flag.enable(b).unwrap();
    write(&dir, "ew-flag", &flag.to_bytes());
    let mut q = CausalCounter::new();
    let _ = q.inc(a, 5).unwrap();
    let _ = q.dec(c, 1).unwrap();
    write(&dir, "causal-counter", &q.to_bytes());

    let mut g = GCounter::new();
    let dg = g.inc(a, 3).unwrap();
    g.inc(b, 300).unwrap();
    write(&dir, "gcounter", &g.to_bytes());
    write(&dir, "gcounter-delta", &dg.to_bytes());
    write(&dir, "version-vector", &g.version().to_bytes());

    let mut p = PNCounter::new();
    p.inc(a, 10).unwrap();
    let dp = p.dec(c, 4).unwrap();
    write(&dir, "pncounter", &p.to_bytes());
    write(&dir, "pncounter-delta", &dp.to_bytes());
    write(&dir, "pn-version", &p.version().to_bytes());

    let mut bc = BoundedCounter::new();
    let _ = bc.inc(a, 100).unwrap();
    let _ = bc.inc(c, 5).unwrap();
    let _ = bc.transfer(a, b, 40).unwrap();
    let _ = bc.transfer(a, c, 300).unwrap_err();
    let _ = bc.transfer(c, a, 2).unwrap();
    let dbc = bc.dec(b, 7).unwrap();
    write(&dir, "bounded-counter", &bc.to_bytes());
    write(&dir, "bounded-counter-delta", &dbc.to_bytes());
    write(&dir, "bounded-version", &bc.version().to_bytes());

    let mut s: ORSet<String> = ORSet::new();
    s.add(a, "apples".into()).unwrap();
    s.add(b, "pears".into()).unwrap();
    let mut t = s.clone();
    let _ = s.remove(&"apples".to_string());
    t.add(c, "apples".into()).unwrap();
    let dt = t.add(a, "plums".into()).unwrap();
    s.join(t);
    write(&dir, "orset-string", &s.to_bytes());
    write(&dir, "orset-string-delta", &dt.to_bytes());
    write(&dir, "causal-context", &s.context().to_bytes());
    write(&dir, "causal-version", &s.version().to_bytes());
    let mut n: ORSet<u64> = ORSet::new();
    n.add_all(a, [1, 2, 3, 300]).unwrap();
    let _ = n.remove(&2);
    write(&dir, "orset-u64", &n.to_bytes());
    let mut v: ORSet<Vec<u8>> = ORSet::new();
    v.add(b, vec![0, 1, 2]).unwrap();
    write(&dir, "orset-bytes", &v.to_bytes());
    // Format version 2: sorted names added in one batch (implicit dots), a long key (escaped
    // lengths), a concurrent add amid the run; and the JS value encoding of the npm package.
    let mut w: ORSet<String> = ORSet::new();
    let _ = w
        .add_all(a, (0..40).map(|i| format!("name-{i:03}")))
        .unwrap();
    let _ = w.add(a, format!("name-0{}", "x".repeat(40))).unwrap();
    let mut w2 = w.clone();
    let _ = w2.add(b, "name-007".to_string()).unwrap();
    w.join(w2);
    write(&dir, "orset-string-v2-runs", &w.to_bytes());
    let mut js: ORSet<Vec<u8>> = ORSet::new();
    let _ = js
        .add_all(
            a,
            (0..300).map(|i| {
                let s = format!("item-{i}");
                let mut e = vec![5, s.len() as u8];
                e.extend_from_slice(s.as_bytes());
                e
            }),
        )
        .unwrap();
    write(&dir, "orset-js-values-v2", &js.to_bytes());

    let mut l = LWWRegister::new();
    let mut clock = HybridClock::new();
    l.set_with_clock(&mut clock, 1_700_000_000_000, a, "draft".to_string())
        .unwrap();
    let dl = l.set(b, Timestamp::new(1_700_000_000_500, 2), "final".to_string());
    write(&dir, "lww-string", &l.to_bytes());
    write(&dir, "lww-delta", &dl.to_bytes());
    write(&dir, "lww-version", &l.version().to_bytes());

    let mut m: MVRegister<u32> = MVRegister::new();
    let mut m2 = m.clone();
    m.write(a, 7).unwrap();
    let dm = m2.write(b, 9).unwrap();
    m.join(m2);
    write(&dir, "mv-u32", &m.to_bytes());
    write(&dir, "mv-delta", &dm.to_bytes());
}

/// xorshift64*: a fixed generator so the seeds are reproducible.
struct Rng(u64);

impl Rng {
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n)
            .map(|_| {
                self.0 ^= self.0 >> 12;
                self.0 ^= self.0 << 25;
                self.0 ^= self.0 >> 27;
                (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
            })
            .collect()
    }
}

/// Finds `per_kind` inputs for each of `kinds` kinds that parse as `T`, are accepted by
/// `keep` (which also runs the checks) and are reported as kind `kind_of`.
fn structured_seeds<T: for<'a> Arbitrary<'a>>(
    target: &str,
    kinds: usize,
    per_kind: usize,
    kind_of: impl Fn(&T) -> (usize, &'static str),
    keep: impl Fn(&T) -> bool,
) {
    let dir = corpus_dir(target);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut found = vec![0usize; kinds];
    for _ in 0..200_000 {
        if found.iter().all(|&n| n >= per_kind) {
            break;
        }
        let len = 48 + (rng.bytes(1)[0] as usize) * 2;
        let bytes = rng.bytes(len);
        let Ok(value) = T::arbitrary_take_rest(Unstructured::new(&bytes)) else {
            continue;
        };
        let (kind, name) = kind_of(&value);
        if found[kind] < per_kind && keep(&value) {
            write(&dir, &format!("{name}-{}", found[kind]), &bytes);
            found[kind] += 1;
        }
    }
    assert!(
        found.iter().all(|&n| n >= per_kind),
        "{target}: found only {found:?}"
    );
}

fn main() {
    decode_seeds();
    structured_seeds::<convergence::Scenario>(
        "convergence",
        7,
        2,
        |s| match s {
            convergence::Scenario::GCounter(_) => (0, "gcounter"),
            convergence::Scenario::PNCounter(_) => (1, "pncounter"),
            convergence::Scenario::ORSet(_) => (2, "orset"),
            convergence::Scenario::MVRegister(_) => (3, "mvregister"),
            convergence::Scenario::LWWRegister(_) => (4, "lwwregister"),
            convergence::Scenario::BoundedCounter(_) => (5, "boundedcounter"),
            convergence::Scenario::ORMap(_) => (6, "ormap"),
        },
        |s| {
            let steps = match s {
                convergence::Scenario::GCounter(v) => v.len(),
                convergence::Scenario::PNCounter(v) => v.len(),
                convergence::Scenario::ORSet(v) => v.len(),
                convergence::Scenario::MVRegister(v) => v.len(),
                convergence::Scenario::LWWRegister(v) => v.len(),
                convergence::Scenario::BoundedCounter(v) => v.len(),
                convergence::Scenario::ORMap(v) => v.len(),
            };
            convergence::run(s);
            steps >= 6
        },
    );
    structured_seeds::<delta_since::Case>(
        "delta_since",
        5,
        2,
        |c| match c {
            delta_since::Case::GCounter(..) => (0, "gcounter"),
            delta_since::Case::PNCounter(..) => (1, "pncounter"),
            delta_since::Case::ORSet(..) => (2, "orset"),
            delta_since::Case::MVRegister(..) => (3, "mvregister"),
            delta_since::Case::LWWRegister(..) => (4, "lwwregister"),
        },
        |c| {
            delta_since::run(c);
            true
        },
    );
    structured_seeds::<Vec<sync::Action>>(
        "sync_session",
        1,
        6,
        |_| (0, "session"),
        |actions| {
            sync::run(actions);
            actions.len() >= 6
        },
    );
    structured_seeds::<Vec<hostile::Action>>(
        "hostile_sessions",
        1,
        6,
        |_| (0, "hostile"),
        |actions| {
            hostile::run(actions);
            let forged = actions
                .iter()
                .filter(|a| {
                    matches!(
                        a,
                        hostile::Action::Forge { .. } | hostile::Action::Replay { .. }
                    )
                })
                .count();
            actions.len() >= 8 && forged >= 2
        },
    );
    println!("seed corpora written to {}", corpus_dir("").display());
}
