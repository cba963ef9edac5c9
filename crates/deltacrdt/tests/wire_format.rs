//! Golden wire-format tests: a fixed corpus of states, deltas and versions of every type,
//! built deterministically, whose encodings are committed in `tests/golden/corpus.txt`.
//!
//! Two corpora: `corpus.txt` holds the encodings format version 1 wrote (committed before
//! version 2 existed, never blessed again), and `corpus-v2.txt` those of the version written
//! today. A refactoring must leave every version-2 encoding byte for byte identical
//! (`encodings_match_the_golden_corpus`), and the committed bytes of both versions must keep
//! decoding to the same values (`golden_bytes_decode_to_the_same_values`), so data written by
//! earlier releases stays readable.
//!
//! To add entries: extend `corpus()` (names in both files) or `corpus_v2_only()`, run
//! `GOLDEN_BLESS=1 cargo test -p deltacrdt --test wire_format`, and review the diff of
//! `corpus-v2.txt` (existing lines must not change).

use std::collections::BTreeMap;
use std::fmt::Debug;

use deltacrdt::{
    Binary, BoundedCounter, CausalContext, CausalCounter, CausalVersion, DeltaCrdt, Dot, EWFlag,
    GCounter, LWWField, LWWRegister, Lattice, MVRegister, ORMap, ORSet, PNCounter, ReplicaId,
    Timestamp, VersionVector,
};

/// The encodings of format version 1, as committed before version 2.
const CORPUS_V1: &str = "tests/golden/corpus.txt";
/// The encodings of format version 2, the version encoders write.
const CORPUS_V2: &str = "tests/golden/corpus-v2.txt";

const A: ReplicaId = ReplicaId(0x0123_4567_89ab_cdef);
const B: ReplicaId = ReplicaId(7);
const C: ReplicaId = ReplicaId(u64::MAX - 1);

/// Checks that some bytes decode to the value an entry was built from.
type DecodesBack = Box<dyn Fn(&[u8]) -> Result<(), String>>;

/// Named deltas of a history.
type Deltas<T> = Vec<(&'static str, T)>;

/// One corpus entry: its encoding, and a check that decoding those bytes gives the value back.
struct Entry {
    name: String,
    bytes: Vec<u8>,
    decodes_back: DecodesBack,
}

fn entry<T: Binary + PartialEq + Debug + 'static>(name: &str, value: T) -> Entry {
    let bytes = value.to_bytes();
    Entry {
        name: name.to_string(),
        bytes,
        decodes_back: Box::new(move |b| match T::from_bytes(b) {
            Ok(v) if v == value => Ok(()),
            Ok(v) => Err(format!("decoded to {v:?}, expected {value:?}")),
            Err(e) => Err(format!("did not decode: {e}")),
        }),
    }
}

fn ts(ms: u64, logical: u16) -> Timestamp {
    Timestamp::new(ms, logical)
}

/// Two replicas of an `ORSet<u64>` with concurrent adds of one element (two dots on it),
/// removes, a re-add, and a context with a dot cloud (events seen out of order).
fn orset_u64_history() -> (ORSet<u64>, ORSet<u64>, Deltas<ORSet<u64>>) {
    let mut deltas = Vec::new();
    let mut a = ORSet::new();
    let mut b = ORSet::new();
    for e in [3u64, 1, 4, 1, 5, 9, 2, 6] {
        let d = a.add(A, e).unwrap();
        b.join(d);
    }
    let d_add = a.add(A, 300).unwrap();
    deltas.push(("orset_u64.delta.add", d_add.clone()));
    // b misses d_add for now: its later context has a gap for A.
    let d_b = b.add(B, 5).unwrap(); // concurrent with nothing of a's: 5 gets a second dot
    deltas.push(("orset_u64.delta.add_concurrent", d_b.clone()));
    a.join(d_b);
    let d_rm = a.remove(&4);
    deltas.push(("orset_u64.delta.remove", d_rm.clone()));
    let d_late = a.add(A, 77).unwrap();
    b.join(d_late);
    b.join(d_rm);
    let d_re = b.add(B, 4).unwrap();
    deltas.push(("orset_u64.delta.re_add", d_re.clone()));
    a.join(d_re);
    deltas.push(("orset_u64.delta_since.a_for_b", a.delta_since(&b.version())));
    deltas.push(("orset_u64.delta_since.b_for_a", b.delta_since(&a.version())));
    let mut c = a.clone();
    deltas.push(("orset_u64.delta.clear", c.clear()));
    (a, b, deltas)
}

fn corpus() -> Vec<Entry> {
    let mut out = Vec::new();

    // Version vectors and contexts.
    out.push(entry("version_vector.empty", VersionVector::new()));
    out.push(entry(
        "version_vector.three",
        [(A, 5u64), (B, 1), (C, 300)]
            .into_iter()
            .collect::<VersionVector>(),
    ));
    let mut ctx = CausalContext::new();
    ctx.insert_range(A, 1, 10);
    ctx.insert(Dot::new(A, 12));
    ctx.insert_range(A, 20, 25);
    ctx.insert(Dot::new(B, 3));
    ctx.insert_range(C, 1, 1 << 40);
    out.push(entry("causal_context.empty", CausalContext::new()));
    out.push(entry("causal_context.cloud", ctx.clone()));
    out.push(entry(
        "causal_version.bare",
        CausalVersion::from_context(ctx.clone()),
    ));

    // GCounter.
    let mut g = GCounter::new();
    let _ = g.inc(A, 3).unwrap();
    let _ = g.inc(B, 1 << 33).unwrap();
    let dg = g.inc(C, 1).unwrap();
    out.push(entry("gcounter.empty", GCounter::new()));
    out.push(entry("gcounter.state", g.clone()));
    out.push(entry("gcounter.delta", dg));
    out.push(entry("gcounter.version", g.version()));
    let mut g_old = GCounter::new();
    let _ = g_old.inc(A, 3).unwrap();
    out.push(entry(
        "gcounter.delta_since",
        g.delta_since(&g_old.version()),
    ));

    // PNCounter.
    let mut p = PNCounter::new();
    let _ = p.inc(A, 10).unwrap();
    let _ = p.dec(B, 4).unwrap();
    let dp = p.add(C, -2).unwrap();
    out.push(entry("pncounter.empty", PNCounter::new()));
    out.push(entry("pncounter.state", p.clone()));
    out.push(entry("pncounter.delta", dp));
    out.push(entry("pncounter.version", p.version()));

    // ORSet<u64>.
    let (a, b, deltas) = orset_u64_history();
    out.push(entry("orset_u64.empty", ORSet::<u64>::new()));
    out.push(entry("orset_u64.state_a", a.clone()));
    out.push(entry("orset_u64.state_b", b.clone()));
    out.push(entry("orset_u64.version_a", a.version()));
    out.push(entry("orset_u64.version_b", b.version()));
    for (name, d) in deltas {
        out.push(entry(name, d));
    }
    let mut joined = a.clone();
    joined.join(b.clone());
    out.push(entry("orset_u64.joined", joined));

    // ORSet<String>: front coding with restarts (more than 16 elements), shared prefixes,
    // an element that is a prefix of the next, and the empty string.
    let mut s: ORSet<String> = ORSet::new();
    let mut words: Vec<String> = (0..40).map(|i| format!("item-{i}")).collect();
    words.extend(["", "item", "itemz", "apple", "apples", "zebra"].map(String::from));
    for (i, w) in words.iter().enumerate() {
        let r = [A, B, C][i % 3];
        let _ = s.add(r, w.clone()).unwrap();
    }
    for i in (0..40).step_by(7) {
        let _ = s.remove(&format!("item-{i}"));
    }
    out.push(entry("orset_string.state", s.clone()));
    out.push(entry("orset_string.version", s.version()));
    let mut s_old = s.clone();
    let ds = s.add(B, "item-999".to_string()).unwrap();
    out.push(entry("orset_string.delta.add", ds));
    let _ = s.remove(&"apple".to_string());
    out.push(entry(
        "orset_string.delta_since",
        s.delta_since(&s_old.version()),
    ));
    s_old.join(s.clone());

    // ORSet<Vec<u8>>: byte strings with bytes that are not UTF-8.
    let mut v: ORSet<Vec<u8>> = ORSet::new();
    for e in [
        vec![0xff, 0x00],
        vec![0xff],
        vec![],
        vec![1, 2, 3],
        vec![1, 2, 4],
    ] {
        let _ = v.add(A, e).unwrap();
    }
    out.push(entry("orset_bytes.state", v));

    // ORSet of tuples (a non-byte-string element type).
    let mut t: ORSet<(u32, String)> = ORSet::new();
    let _ = t.add(A, (2, "b".into())).unwrap();
    let _ = t.add(B, (1, "z".into())).unwrap();
    out.push(entry("orset_tuple.state", t));

    // LWWRegister.
    let mut l: LWWRegister<String> = LWWRegister::new();
    out.push(entry("lww.empty", l.clone()));
    let dl = l.set(A, ts(1_700_000_000_000, 3), "blue".into());
    out.push(entry("lww.delta", dl));
    let _ = l.set(B, ts(1_700_000_000_000, 3), "green".into()); // same stamp: replica breaks the tie
    out.push(entry("lww.state", l.clone()));
    out.push(entry("lww.version", l.version()));
    out.push(entry(
        "lww.version.empty",
        LWWRegister::<String>::new().version(),
    ));

    // MVRegister: siblings from three replicas, a resolving write, a clear.
    let mut x: MVRegister<String> = MVRegister::new();
    let mut y: MVRegister<String> = MVRegister::new();
    let mut z: MVRegister<String> = MVRegister::new();
    let dx = x.write(A, "red".into()).unwrap();
    let dy = y.write(B, "green".into()).unwrap();
    let dz = z.write(C, "blue".into()).unwrap();
    out.push(entry("mv.delta.write", dx.clone()));
    x.join(dy.clone());
    x.join(dz.clone());
    out.push(entry("mv.state.siblings", x.clone()));
    out.push(entry("mv.version.siblings", x.version()));
    y.join(dx);
    out.push(entry("mv.delta_since.for_y", x.delta_since(&y.version())));
    let resolved = y.write(B, "teal".into()).unwrap();
    out.push(entry("mv.delta.resolve", resolved.clone()));
    x.join(resolved);
    out.push(entry("mv.state.resolved", x.clone()));
    out.push(entry("mv.delta.clear", x.clone().clear()));
    out.push(entry("mv.delta_since.for_z", x.delta_since(&z.version())));
    let mut w: MVRegister<u64> = MVRegister::new();
    let _ = w.write(A, 1).unwrap();
    let _ = w.write(A, 2).unwrap();
    out.push(entry("mv_u64.state", w));

    // The types added with the dot kernel (same format version: new tags only).
    let mut cart: ORMap<String, ORMap<String, CausalCounter>> = ORMap::new();
    for (user, sku, n) in [
        ("alice", "sku-1", 2u32),
        ("alice", "sku-2", 1),
        ("bob", "sku-1", 5),
    ] {
        let _ = cart
            .try_update(user.into(), |c| c.try_update(sku.into(), |q| q.inc(A, n)))
            .unwrap();
    }
    let cart_old = cart.clone();
    let d_line = cart
        .try_update("bob".into(), |c| {
            c.try_update("sku-1".into(), |q| q.dec(B, 2))
        })
        .unwrap();
    out.push(entry("ormap_cart.delta.nested", d_line));
    let d_rm = cart.remove("alice");
    out.push(entry("ormap_cart.delta.remove", d_rm));
    out.push(entry("ormap_cart.state", cart.clone()));
    out.push(entry("ormap_cart.version", cart.version()));
    out.push(entry(
        "ormap_cart.delta_since",
        cart.delta_since(&cart_old.version()),
    ));
    let mut tags: ORMap<u64, ORSet<String>> = ORMap::new();
    let _ = tags.try_update(9, |s| s.add(C, "x".into())).unwrap();
    let _ = tags.try_update(3, |s| s.add(B, "y".into())).unwrap();
    out.push(entry("ormap_tags.state", tags));
    let mut flag = EWFlag::new();
    let _ = flag.enable(A).unwrap();
    out.push(entry("ew_flag.enabled", flag.clone()));
    out.push(entry("ew_flag.delta.disable", flag.disable()));
    let mut q = CausalCounter::new();
    let _ = q.inc(A, 3).unwrap();
    let _ = q.dec(B, 1).unwrap();
    out.push(entry("causal_counter.state", q.clone()));
    out.push(entry("causal_counter.delta.reset", q.reset()));
    let mut note: LWWField<String> = LWWField::new();
    let _ = note
        .set(A, ts(1_700_000_000_000, 0), "gift".into())
        .unwrap();
    let mut other: LWWField<String> = LWWField::new();
    let _ = other.set(B, ts(1_700_000_000_001, 0), "no".into()).unwrap();
    note.join(other);
    out.push(entry("lww_field.siblings", note));
    let mut stock = BoundedCounter::new();
    let _ = stock.inc(A, 10).unwrap();
    let _ = stock.transfer(A, B, 4).unwrap();
    let _ = stock.dec(A, 1).unwrap();
    out.push(entry("bounded_counter.state", stock.clone()));
    out.push(entry("bounded_counter.version", stock.version()));

    out
}

/// Entries of version 2 only: the layouts version 2 added (implicit dots after a single dot,
/// header escapes for long added and dropped parts, stores of several dots amid runs).
fn corpus_v2_only() -> Vec<Entry> {
    let mut out = Vec::new();
    // Sorted names added in one batch: every key after the first holds the next dot.
    let mut s: ORSet<String> = ORSet::new();
    let _ = s
        .add_all(A, (0..40).map(|i| format!("name-{i:03}")))
        .unwrap();
    out.push(entry("v2.orset_string.sorted_batch", s.clone()));
    // Long keys (more than 7 bytes added and dropped), a concurrent add (two dots on one key)
    // and a removal that breaks a run.
    let mut t = s.clone();
    let _ = t.add(B, "name-005".into()).unwrap();
    let _ = t.add(A, format!("name-0{}", "x".repeat(20))).unwrap();
    let _ = t.add(A, format!("name-{}", "y".repeat(300))).unwrap();
    let _ = t.remove("name-020");
    let mut u = s.clone();
    let _ = u.add(C, "name-005".into()).unwrap();
    t.join(u);
    out.push(entry("v2.orset_string.mixed", t.clone()));
    out.push(entry(
        "v2.orset_string.delta_since",
        t.delta_since(&s.version()),
    ));
    // A map keyed by strings whose stores are not single dots.
    let mut m: ORMap<String, CausalCounter> = ORMap::new();
    for k in ["apple", "apples", "applesauce", "banana"] {
        let _ = m.try_update(k.to_string(), |c| c.inc(A, 3)).unwrap();
    }
    out.push(entry("v2.ormap_string_counter.state", m));
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("corpus hex"))
        .collect()
}

fn golden(file: &str) -> BTreeMap<String, Vec<u8>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (name, bytes) = l.split_once(' ').expect("`name hex` lines");
            (name.to_string(), unhex(bytes))
        })
        .collect()
}

fn bless(entries: &[Entry]) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(CORPUS_V2);
    let mut text = String::from(
        "# Golden encodings of format version 2 (see tests/wire_format.rs). Do not edit by hand.\n",
    );
    for e in entries {
        text.push_str(&format!("{} {}\n", e.name, hex(&e.bytes)));
    }
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Every entry of today's version: the shared corpus and the version-2 entries.
fn corpus_v2() -> Vec<Entry> {
    let mut entries = corpus();
    entries.extend(corpus_v2_only());
    entries
}

#[test]
fn encodings_match_the_golden_corpus() {
    let entries = corpus_v2();
    if std::env::var_os("GOLDEN_BLESS").is_some() {
        bless(&entries);
    }
    let golden = golden(CORPUS_V2);
    let mut problems = Vec::new();
    for e in &entries {
        match golden.get(&e.name) {
            None => problems.push(format!("{}: not in the corpus (bless it)", e.name)),
            Some(g) if *g != e.bytes => problems.push(format!(
                "{}: encoding changed\n  golden {}\n  now    {}",
                e.name,
                hex(g),
                hex(&e.bytes)
            )),
            Some(_) => {}
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(golden.len(), entries.len(), "the corpus has stale entries");
    assert!(
        entries.iter().all(|e| e.bytes[0] == 2),
        "encoders write version 2"
    );
}

#[test]
fn golden_bytes_decode_to_the_same_values() {
    for (file, entries, version) in [(CORPUS_V1, corpus(), 1u8), (CORPUS_V2, corpus_v2(), 2)] {
        let golden = golden(file);
        assert!(entries.len() >= 40, "the corpus covers every type");
        assert_eq!(golden.len(), entries.len(), "{file}: one line per entry");
        for e in &entries {
            let bytes = golden.get(&e.name).expect("entry in the corpus");
            assert_eq!(bytes[0], version, "{file}: {}", e.name);
            if let Err(why) = (e.decodes_back)(bytes) {
                panic!("{file}: {}: {why}", e.name);
            }
        }
    }
}

/// Version 1 and version 2 differ only in their first byte, except where version 2 changed
/// the layout: maps and sets keyed by byte strings.
#[test]
fn version_2_changes_only_maps_keyed_by_byte_strings() {
    let (v1, v2) = (golden(CORPUS_V1), golden(CORPUS_V2));
    let mut changed: Vec<&str> = Vec::new();
    for (name, old) in &v1 {
        let new = &v2[name];
        if old[1..] != new[1..] {
            changed.push(name);
        }
    }
    for name in &changed {
        assert!(
            name.contains("string") || name.contains("bytes") || name.starts_with("ormap"),
            "{name} changed layout"
        );
    }
    assert!(changed.contains(&"orset_string.state"));
}

/// The full state of the string set of the npm package's benchmark (js/bench: 10,000 adds of
/// "item-<i>" in the JS value encoding by one replica, then removes of the first 1,000) is no
/// larger than Automerge's 27,056 bytes for the same set, and decodes to the same set from
/// both versions.
#[test]
fn the_string_set_of_the_js_bench_is_no_larger_than_automerge() {
    let item = |i: u32| {
        let s = format!("item-{i}");
        let mut v = vec![5u8, s.len() as u8];
        v.extend_from_slice(s.as_bytes());
        v
    };
    let mut s: ORSet<Vec<u8>> = ORSet::new();
    for i in 0..10_000 {
        let _ = s.add(ReplicaId(1), item(i)).unwrap();
    }
    for i in 0..1_000 {
        let _ = s.remove(&item(i));
    }
    let bytes = s.to_bytes();
    eprintln!("string set of 9,000 elements: {} bytes", bytes.len());
    assert!(bytes.len() <= 27_056, "{} bytes", bytes.len());
    assert_eq!(ORSet::<Vec<u8>>::from_bytes(&bytes).unwrap(), s);
}
