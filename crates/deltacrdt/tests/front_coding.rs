//! Sets of byte strings (`String`, `Vec<u8>`) encode their sorted elements front-coded: each as
//! what it keeps of the element before, then the rest, starting afresh every 16 elements. In
//! format version 2 one header byte holds both lengths and says whether the element's dot is
//! implied (the one after the previous element's single dot); version 1 wrote the shared length
//! and the rest's length, and every dot. These tests check round trips, canonical decoding, the
//! refusals of both versions, and the saving.

use deltacrdt::codec::{tag, Binary, Codec, DecodeError, DecodeErrorKind, Reader};
use deltacrdt::{Lattice, ORSet, ReplicaId};
use quickcheck::quickcheck;

/// A set of strings with long shared prefixes, built by adds and removes on three replicas.
fn strings(ops: &[(u8, u16, bool)]) -> ORSet<String> {
    let mut replicas: [ORSet<String>; 3] = Default::default();
    for &(who, n, remove) in ops {
        let i = usize::from(who % 3);
        // Prefixes of several lengths, and numbers of several widths, so that neighbours share
        // anything from nothing to all but the last byte.
        let e = match n % 4 {
            0 => format!("item-{n}"),
            1 => format!("item-{}", n / 7),
            2 => format!("user/{}/name", n % 50),
            _ => format!("{}", n % 300),
        };
        if remove {
            let d = replicas[i].remove(&e);
            replicas[(i + 1) % 3].join(d);
        } else {
            let d = replicas[i].add(ReplicaId(i as u64 + 1), e).unwrap();
            replicas[(i + 2) % 3].join(d);
        }
    }
    let [a, b, c] = replicas;
    a.joined(&b).joined(&c)
}

/// The same element type without front coding: `String`'s encoding, `BYTE_STRING` left false.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Plain(String);

impl Codec for Plain {
    fn encode(&self, out: &mut Vec<u8>) {
        self.0.encode(out);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        String::decode(r).map(Plain)
    }
}

fn plain(s: &ORSet<String>) -> ORSet<Plain> {
    ORSet::from_parts(
        s.iter().map(|e| (Plain(e.clone()), s.dots_of(e).collect())),
        s.context().clone(),
    )
    .unwrap()
}

quickcheck! {
    /// Every set round-trips, and its bytes decode to a set that re-encodes to the same bytes.
    fn string_sets_round_trip(ops: Vec<(u8, u16, bool)>) -> bool {
        let s = strings(&ops);
        let bytes = s.to_bytes();
        let back = ORSet::<String>::from_bytes(&bytes).unwrap();
        back == s && back.to_bytes() == bytes
    }

    /// The same for byte vectors, whose order is the order of their bytes too.
    fn byte_sets_round_trip(elements: Vec<Vec<u8>>) -> bool {
        let mut s: ORSet<Vec<u8>> = ORSet::new();
        for (i, e) in elements.into_iter().enumerate() {
            s.add(ReplicaId(i as u64 % 4), e).unwrap();
        }
        let bytes = s.to_bytes();
        ORSet::<Vec<u8>>::from_bytes(&bytes).is_ok_and(|back| back == s && back.to_bytes() == bytes)
    }

    /// Whatever a corrupted encoding decodes to re-encodes to exactly those bytes: one encoding
    /// per set and version. (Corrupting a valid encoding, rather than drawing arbitrary bytes, reaches the
    /// front-coded elements instead of failing in the header.)
    fn decoding_is_canonical(ops: Vec<(u8, u16, bool)>, at: usize, byte: u8) -> bool {
        let mut bytes = strings(&ops).to_bytes();
        let i = at % bytes.len();
        bytes[i] = byte;
        // (A first byte turned into 1 reads the rest as version 1, which is re-encoded as
        // version 2: then the value must survive the change of version.)
        ORSet::<String>::from_bytes(&bytes).map_or(true, |s| {
            let again = s.to_bytes();
            again == bytes
                || (bytes[0] == 1 && ORSet::<String>::from_bytes(&again).as_ref() == Ok(&s))
        })
    }

    /// Front coding costs at most one byte per element over writing each element whole (the
    /// shared length, when nothing is shared).
    fn front_coding_costs_at_most_a_byte_per_element(ops: Vec<(u8, u16, bool)>) -> bool {
        let s = strings(&ops);
        s.to_bytes().len() <= plain(&s).to_bytes().len() + s.len()
    }
}

/// A set of two elements with one dot each, encoded: `["ab", "ac"]`, the second holding the
/// dot after the first's.
fn two() -> (ORSet<String>, Vec<u8>) {
    let mut s = ORSet::new();
    s.add(ReplicaId(1), "ab".to_string()).unwrap();
    s.add(ReplicaId(1), "ac".to_string()).unwrap();
    let bytes = s.to_bytes();
    (s, bytes)
}

/// The same set in format version 1, written by hand: the context, then "ab" whole with its dot
/// (replica index 0, seq 1), then "ac" as 1 shared byte, the 1-byte rest "c", and its dot.
fn two_v1() -> Vec<u8> {
    let (s, _) = two();
    let mut bytes = vec![1, tag::ORSET];
    s.context().encode(&mut bytes);
    bytes.extend([2, 2, b'a', b'b', 1, 0, 1, 1, 1, b'c', 1, 0, 2]);
    bytes
}

/// Replaces the one occurrence of `from` in `bytes` by `to`.
fn patch(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let at = bytes
        .windows(from.len())
        .position(|w| w == from)
        .expect("pattern present");
    assert!(
        bytes[at + 1..].windows(from.len()).all(|w| w != from),
        "pattern unique"
    );
    [&bytes[..at], to, &bytes[at + from.len()..]].concat()
}

#[test]
fn the_second_element_is_a_header_byte_and_the_rest() {
    let (_, bytes) = two();
    // "ab": header 0x2e (adds 2 bytes, keeps nothing, dot written), the bytes, its dot (one dot,
    // replica index 0, seq 1); "ac": header 0x13 (drops 1 byte, adds 1, implied dot), "c".
    assert!(
        bytes.ends_with(&[0x2e, b'a', b'b', 1, 0, 1, 0x13, b'c']),
        "{bytes:?}"
    );
    assert_eq!(bytes[0], 2);
}

#[test]
fn version_1_bytes_decode_to_the_same_set() {
    let (s, _) = two();
    assert_eq!(ORSet::<String>::from_bytes(&two_v1()).unwrap(), s);
}

#[test]
fn a_shorter_shared_prefix_than_the_elements_share_is_refused() {
    let (_, bytes) = two();
    // Drops 2 bytes and adds "ac": "a" is shared and must be kept.
    let bad = patch(&bytes, &[0x13, b'c'], &[0x25, b'a', b'c']);
    let err = ORSet::<String>::from_bytes(&bad).unwrap_err();
    assert_eq!(err.kind, DecodeErrorKind::BadPrefix { len: 2 });
    // Version 1: 0 shared bytes, rest "ac".
    let bad = patch(&two_v1(), &[1, 1, b'c'], &[0, 2, b'a', b'c']);
    let err = ORSet::<String>::from_bytes(&bad).unwrap_err();
    assert_eq!(err.kind, DecodeErrorKind::BadPrefix { len: 0 });
}

#[test]
fn a_shared_prefix_longer_than_the_element_before_is_refused() {
    let (_, bytes) = two();
    // Drops 3 bytes of the 2-byte "ab".
    let bad = patch(&bytes, &[0x13, b'c'], &[0x17, b'c']);
    let err = ORSet::<String>::from_bytes(&bad).unwrap_err();
    assert_eq!(err.kind, DecodeErrorKind::BadPrefix { len: 3 });
    assert!(err.to_string().contains("front-coded"), "{err}");
    // Version 1: 3 shared bytes.
    let bad = patch(&two_v1(), &[1, 1, b'c'], &[3, 1, b'c']);
    let err = ORSet::<String>::from_bytes(&bad).unwrap_err();
    assert_eq!(err.kind, DecodeErrorKind::BadPrefix { len: 3 });
}

#[test]
fn an_element_equal_to_the_one_before_is_refused() {
    let (_, bytes) = two();
    // "ab" again: drops nothing, adds nothing.
    let bad = patch(&bytes, &[0x13, b'c'], &[0x01]);
    let err = ORSet::<String>::from_bytes(&bad).unwrap_err();
    assert_eq!(err.kind, DecodeErrorKind::NotAscending);
    // "ab" again by dropping and re-adding its last byte: not the canonical prefix.
    let bad = patch(&bytes, &[0x13, b'c'], &[0x13, b'b']);
    let err = ORSet::<String>::from_bytes(&bad).unwrap_err();
    assert_eq!(err.kind, DecodeErrorKind::BadPrefix { len: 1 });
    // Version 1: 2 shared bytes and nothing else.
    let bad = patch(&two_v1(), &[1, 1, b'c'], &[2, 0]);
    let err = ORSet::<String>::from_bytes(&bad).unwrap_err();
    assert_eq!(err.kind, DecodeErrorKind::NotAscending);
}

#[test]
fn an_implied_dot_written_out_is_refused() {
    let (_, bytes) = two();
    // "ac" with its dot (one dot, index 0, seq 2) written where the encoder implies it.
    let bad = patch(&bytes, &[0x13, b'c'], &[0x12, b'c', 1, 0, 2]);
    let err = ORSet::<String>::from_bytes(&bad).unwrap_err();
    assert_eq!(err.kind, DecodeErrorKind::InvalidTag(0x12));
}

#[test]
fn an_implied_dot_needs_a_single_dot_before_it_in_the_context() {
    let (_, bytes) = two();
    // The first element has no element before it to imply a dot.
    let bad = patch(&bytes, &[0x2e, b'a', b'b', 1, 0, 1], &[0x2f, b'a', b'b']);
    let err = ORSet::<String>::from_bytes(&bad).unwrap_err();
    assert_eq!(err.kind, DecodeErrorKind::InvalidTag(0x2f));
    // The dot implied after (1, 2) is (1, 3), which the context has not seen.
    let mut s = ORSet::new();
    s.add(ReplicaId(1), "ab".to_string()).unwrap();
    s.add(ReplicaId(1), "ad".to_string()).unwrap();
    s.add(ReplicaId(2), "ac".to_string()).unwrap();
    let bytes = s.to_bytes();
    // "ac" (dot (2, 1), written) then "ad" (dot (1, 2), written): imply (2, 2) instead.
    let at = bytes.len() - 5;
    assert_eq!(bytes[at..], [0x12, b'd', 1, 0, 2], "{bytes:?}");
    let bad = [&bytes[..at], &[0x13, b'd']].concat();
    let err = ORSet::<String>::from_bytes(&bad).unwrap_err();
    assert_eq!(err.kind, DecodeErrorKind::DotNotInContext);
}

#[test]
fn a_header_with_its_top_bit_set_is_refused() {
    let (_, bytes) = two();
    let bad = patch(&bytes, &[0x13, b'c'], &[0x93, b'c']);
    let err = ORSet::<String>::from_bytes(&bad).unwrap_err();
    assert_eq!(err.kind, DecodeErrorKind::InvalidTag(0x93));
}

#[test]
fn rebuilt_bytes_must_still_be_utf8() {
    let mut s = ORSet::new();
    s.add(ReplicaId(1), "é".to_string()).unwrap(); // 0xc3 0xa9
    s.add(ReplicaId(1), "ê".to_string()).unwrap(); // 0xc3 0xaa
    let bytes = s.to_bytes();
    // Keep the shared 0xc3 and end the element there: not UTF-8 (and not ascending either,
    // but UTF-8 is checked first).
    let bad = patch(&bytes, &[0x13, 0xaa], &[0x13, 0x41]);
    let err = ORSet::<String>::from_bytes(&bad).unwrap_err();
    assert_eq!(err.kind, DecodeErrorKind::InvalidUtf8);
}

#[test]
fn item_strings_take_less_than_a_quarter_of_the_bytes() {
    let mut s = ORSet::new();
    for i in 0..10_000 {
        s.add(ReplicaId(1), format!("item-{i}")).unwrap();
    }
    for i in 0..1_000 {
        let _ = s.remove(&format!("item-{i}"));
    }
    let coded = s.to_bytes().len();
    let whole = plain(&s).to_bytes().len();
    eprintln!("9,000 item strings: {coded} B front-coded, {whole} B whole");
    // Measured: 23,946 bytes front-coded (version 1: 67,816), 126,017 whole (9,000 elements).
    assert!(coded * 4 < whole, "front-coded {coded} B, whole {whole} B");
    assert_eq!(ORSet::<String>::from_bytes(&s.to_bytes()).unwrap(), s);
}
