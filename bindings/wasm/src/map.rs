//! The document map of the package: an [`ORMap`] whose values are of mixed kinds, nested to
//! any depth ([`Doc`]).
//!
//! **Keys carry the kind.** A key is one kind byte ([`kind`]) followed by the UTF-8 name, so
//! `c milk` (a counter) and `l milk` (an LWW field) are two keys, and two replicas that create
//! one name as two kinds concurrently keep both (as in Riak DT's maps). The value under a key
//! is an [`AnyStore`] of the key's kind; its encoding is that kind's store alone, with no tag
//! of its own: decoding reads the key, then the store of the key's kind. So a store never
//! meets a store of another kind in a join, and forged bytes can at worst be refused.
//!
//! **Depth.** Nesting is bounded by [`MAX_MAP_DEPTH`], in decoding and in edits, so untrusted
//! bytes cannot exhaust the stack.

use std::cell::Cell;

use deltacrdt::causal::{Causal, CausalType, DotFun, DotMap, DotSet, DotStore, ElementDots};
use deltacrdt::codec::{Codec, DotReader, DotWriter, Reader, StoreCodec};
use deltacrdt::{
    CausalContext, CausalCounter, DecodeError, DecodeErrorKind, Dot, EWFlag, HybridClock, LWWField,
    MVRegister, ORMap, ORSet, ReplicaId, Timestamp,
};

use crate::error::Error;
use crate::value::{self, ValueError};

/// The deepest nesting of maps (the document itself is depth 0).
pub const MAX_MAP_DEPTH: usize = 16;

/// The kind bytes that start a key.
pub mod kind {
    /// A nested map.
    pub const MAP: u8 = b'm';
    /// A causal counter (`CausalCounter`).
    pub const COUNTER: u8 = b'c';
    /// An enable-wins flag (`EWFlag`).
    pub const FLAG: u8 = b'f';
    /// A last-writer-wins field (`LWWField`).
    pub const LWW: u8 = b'l';
    /// An observed-remove set (`ORSet`).
    pub const SET: u8 = b's';
    /// A multi-value register (`MVRegister`).
    pub const REGISTER: u8 = b'r';
}

thread_local! {
    /// The kind byte of the key a `DotMap` decoder read last: the format puts each key right
    /// before its store, so [`AnyStore::decode_store`] learns its kind from it.
    static LAST_KEY_KIND: Cell<u8> = const { Cell::new(0) };
    /// How deep the decoder is in nested maps.
    static DEPTH: Cell<usize> = const { Cell::new(0) };
}

/// A key of the document: kind byte, then the UTF-8 name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key(pub Vec<u8>);

impl Key {
    /// The key of `name` as a value of kind byte `kind`.
    pub fn new(kind: u8, name: &str) -> Key {
        let mut b = Vec::with_capacity(1 + name.len());
        b.push(kind);
        b.extend_from_slice(name.as_bytes());
        Key(b)
    }

    /// The kind byte.
    pub fn kind(&self) -> u8 {
        self.0.first().copied().unwrap_or(0)
    }

    /// The name (valid UTF-8 for every key that was decoded or made by [`Key::new`]).
    pub fn name(&self) -> &str {
        core::str::from_utf8(self.0.get(1..).unwrap_or_default()).unwrap_or_default()
    }

    /// Checks key bytes: a known kind byte, then UTF-8.
    ///
    /// # Errors
    /// [`DecodeErrorKind::InvalidTag`] or [`DecodeErrorKind::InvalidUtf8`].
    pub fn parse(bytes: &[u8]) -> Result<Key, DecodeErrorKind> {
        let (&k, name) = bytes.split_first().ok_or(DecodeErrorKind::Zero)?;
        if AnyStore::empty_of(k).is_none() {
            return Err(DecodeErrorKind::InvalidTag(k));
        }
        core::str::from_utf8(name).map_err(|_| DecodeErrorKind::InvalidUtf8)?;
        Ok(Key(bytes.to_vec()))
    }
}

impl Codec for Key {
    fn encode(&self, out: &mut Vec<u8>) {
        self.0.encode(out);
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let at = r.offset();
        let n = r.count(1)?;
        let bytes = r.take(n)?;
        Self::from_byte_string(bytes).map_err(|k| r.error_at(at, k))
    }

    const BYTE_STRING: bool = true;

    fn as_byte_string(&self) -> &[u8] {
        &self.0
    }

    fn from_byte_string(bytes: &[u8]) -> Result<Self, DecodeErrorKind> {
        let key = Key::parse(bytes)?;
        LAST_KEY_KIND.with(|c| c.set(key.kind()));
        Ok(key)
    }
}

/// A nested value: a `Causal` over [`AnyStore`] (it has no context of its own inside a map).
pub type AnyValue = Causal<AnyStore>;

/// The document: keys with their kind, values of any kind.
pub type Doc = ORMap<Key, AnyValue>;

/// The store of a nested map.
pub type MapStore = DotMap<Key, AnyStore>;

macro_rules! stores {
    ($($v:ident($k:path, $ty:ty)),* $(,)?) => {
        /// The dot store of a value of any nested kind, or none yet (a key being created).
        #[derive(Clone, Debug, Default, PartialEq)]
        pub enum AnyStore {
            /// No store yet: takes the kind of the first store it meets.
            #[default]
            Empty,
            $(
                #[doc = concat!("`", stringify!($ty), "`.")]
                $v($ty),
            )*
        }

        impl AnyStore {
            /// The kind byte of the store held, 0 for `Empty`.
            pub fn kind(&self) -> u8 {
                match self {
                    AnyStore::Empty => 0,
                    $(AnyStore::$v(_) => $k,)*
                }
            }

            /// The empty store of kind byte `k`, if it names a kind.
            pub fn empty_of(k: u8) -> Option<AnyStore> {
                match k {
                    $($k => Some(AnyStore::$v(<$ty>::default())),)*
                    _ => None,
                }
            }

            fn empty_like(&self) -> AnyStore {
                Self::empty_of(self.kind()).unwrap_or_default()
            }

            #[inline(never)]
            fn for_each_dot_dyn(&self, mut f: &mut dyn FnMut(Dot)) {
                match self {
                    AnyStore::Empty => {}
                    $(AnyStore::$v(s) => s.for_each_dot(&mut f),)*
                }
            }

            #[inline(never)]
            fn live_in_dyn(&self, replica: ReplicaId, first: u64, last: u64, mut f: &mut dyn FnMut(u64)) {
                match self {
                    AnyStore::Empty => {}
                    $(AnyStore::$v(s) => s.live_in(replica, first, last, &mut f),)*
                }
            }

            #[inline(never)]
            fn join_dyn(
                &mut self,
                ours: &CausalContext,
                other: Self,
                theirs: &CausalContext,
                mut flip: &mut dyn FnMut(Dot, bool),
            ) -> bool {
                let other = match other {
                    AnyStore::Empty => self.empty_like(),
                    o => o,
                };
                if matches!(self, AnyStore::Empty) {
                    *self = other.empty_like();
                }
                match (self, other) {
                    $((AnyStore::$v(a), AnyStore::$v(b)) => a.join(ours, b, theirs, &mut flip),)*
                    _ => false,
                }
            }
        }

        impl DotStore for AnyStore {
            fn is_empty(&self) -> bool {
                match self {
                    AnyStore::Empty => true,
                    $(AnyStore::$v(s) => DotStore::is_empty(s),)*
                }
            }

            fn contains_dot(&self, dot: Dot) -> bool {
                match self {
                    AnyStore::Empty => false,
                    $(AnyStore::$v(s) => s.contains_dot(dot),)*
                }
            }

            // The callbacks become trait objects and the bodies below are not generic: each
            // caller's closure would otherwise get its own copy of every kind's walk and join.
            fn for_each_dot(&self, f: &mut impl FnMut(Dot)) {
                self.for_each_dot_dyn(f);
            }

            fn live_in(&self, replica: ReplicaId, first: u64, last: u64, f: &mut impl FnMut(u64)) {
                self.live_in_dyn(replica, first, last, f);
            }

            fn copy_dot(&self, dot: Dot, out: &mut Self) {
                if matches!(out, AnyStore::Empty) {
                    *out = self.empty_like();
                }
                match (self, out) {
                    $((AnyStore::$v(a), AnyStore::$v(b)) => a.copy_dot(dot, b),)*
                    _ => {}
                }
            }

            /// Joins stores of one kind (`Empty` stands for the empty store of the other's
            /// kind). Keys carry the kind, so two kinds never meet; if they did, nothing
            /// changes.
            fn join(
                &mut self,
                ours: &CausalContext,
                other: Self,
                theirs: &CausalContext,
                flip: &mut impl FnMut(Dot, bool),
            ) -> bool {
                self.join_dyn(ours, other, theirs, flip)
            }

            fn collision(&self, other: &Self) -> Option<Dot> {
                match (self, other) {
                    $((AnyStore::$v(a), AnyStore::$v(b)) => a.collision(b),)*
                    _ => None,
                }
            }

            const FLAT: bool = false;
        }

        impl StoreCodec for AnyStore {
            /// The smallest of the kinds' stores (a flag's one dot: a count and a dot).
            const MIN_LEN: usize = 3;

            /// The store of the held kind, untagged (the key says the kind).
            fn encode_store(&self, dots: &DotWriter<'_>, out: &mut Vec<u8>) {
                match self {
                    AnyStore::Empty => {}
                    $(AnyStore::$v(s) => s.encode_store(dots, out),)*
                }
            }

            /// Reads the store of the kind of the key read just before.
            fn decode_store(
                r: &mut Reader<'_>,
                dots: &DotReader<'_>,
                claim: &mut dyn FnMut(Dot) -> bool,
            ) -> Result<Self, DecodeError> {
                let k = LAST_KEY_KIND.with(|c| c.replace(0));
                match k {
                    $($k => <$ty>::decode_store(r, dots, claim).map(AnyStore::$v),)*
                    _ => Err(r.error(DecodeErrorKind::InvalidTag(k))),
                }
            }
        }
    };
}

stores!(
    Map(kind::MAP, NestedMap),
    Counter(kind::COUNTER, DotFun<i64>),
    Flag(kind::FLAG, DotSet),
    Lww(kind::LWW, DotFun<(Timestamp, Vec<u8>)>),
    Set(kind::SET, DotMap<Vec<u8>, ElementDots>),
    Register(kind::REGISTER, DotFun<Vec<u8>>),
);

/// The store of a nested map, with the decoder's depth bound.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NestedMap(pub MapStore);

impl DotStore for NestedMap {
    fn is_empty(&self) -> bool {
        DotStore::is_empty(&self.0)
    }
    fn contains_dot(&self, dot: Dot) -> bool {
        self.0.contains_dot(dot)
    }
    // The callbacks are passed on as trait objects: nested maps would otherwise instantiate
    // the generic walk once per depth, without end.
    fn for_each_dot(&self, f: &mut impl FnMut(Dot)) {
        let mut f: &mut dyn FnMut(Dot) = f;
        self.0.for_each_dot(&mut f);
    }
    fn live_in(&self, replica: ReplicaId, first: u64, last: u64, f: &mut impl FnMut(u64)) {
        let mut f: &mut dyn FnMut(u64) = f;
        self.0.live_in(replica, first, last, &mut f);
    }
    fn copy_dot(&self, dot: Dot, out: &mut Self) {
        self.0.copy_dot(dot, &mut out.0);
    }
    fn join(
        &mut self,
        ours: &CausalContext,
        other: Self,
        theirs: &CausalContext,
        flip: &mut impl FnMut(Dot, bool),
    ) -> bool {
        let mut flip: &mut dyn FnMut(Dot, bool) = flip;
        self.0.join(ours, other.0, theirs, &mut flip)
    }
    fn collision(&self, other: &Self) -> Option<Dot> {
        self.0.collision(&other.0)
    }
    const FLAT: bool = false;
}

impl StoreCodec for NestedMap {
    const MIN_LEN: usize = 4;

    fn encode_store(&self, dots: &DotWriter<'_>, out: &mut Vec<u8>) {
        self.0.encode_store(dots, out);
    }

    fn decode_store(
        r: &mut Reader<'_>,
        dots: &DotReader<'_>,
        claim: &mut dyn FnMut(Dot) -> bool,
    ) -> Result<Self, DecodeError> {
        let depth = DEPTH.with(Cell::get);
        if depth >= MAX_MAP_DEPTH {
            return Err(r.error(DecodeErrorKind::IntegerOutOfRange {
                target: "map nesting depth (at most 16)",
            }));
        }
        DEPTH.with(|c| c.set(depth + 1));
        let result = MapStore::decode_store(r, dots, claim);
        DEPTH.with(|c| c.set(depth));
        result.map(NestedMap)
    }
}

/// Resets the decoder's state before decoding a whole document (after an error part way).
pub fn reset_decoder() {
    DEPTH.with(|c| c.set(0));
    LAST_KEY_KIND.with(|c| c.set(0));
}

/// Checks every element and value of a document (JS values), and returns the greatest LWW
/// timestamp it holds.
///
/// # Errors
/// The first value that is not a JS value.
pub fn check_doc(doc: &Doc) -> Result<Option<Timestamp>, ValueError> {
    let mut max = None;
    check_map(doc.as_causal().store(), &mut max)?;
    Ok(max)
}

fn check_map(map: &MapStore, max: &mut Option<Timestamp>) -> Result<(), ValueError> {
    for (_, store) in map.iter() {
        match store {
            AnyStore::Map(m) => check_map(&m.0, max)?,
            AnyStore::Lww(f) => {
                for (_, (t, v)) in f.iter() {
                    value::check(v)?;
                    if max.is_none_or(|m| *t > m) {
                        *max = Some(*t);
                    }
                }
            }
            AnyStore::Set(s) => s.keys().try_for_each(|e| value::check(e))?,
            AnyStore::Register(r) => r.iter().try_for_each(|(_, v)| value::check(v))?,
            AnyStore::Counter(_) | AnyStore::Flag(_) | AnyStore::Empty => {}
        }
    }
    Ok(())
}

/// One edit of a value inside the document, at the end of a path of keys.
#[derive(Clone, Debug)]
pub enum Leaf {
    /// Counter: add a signed amount.
    Add(i64),
    /// Flag: enable.
    Enable,
    /// Flag: disable.
    Disable,
    /// LWW field: write an encoded value at wall time `.1` (ms).
    Lww(Vec<u8>, u64),
    /// Set: add an encoded element.
    Insert(Vec<u8>),
    /// Set: remove an encoded element.
    Delete(Vec<u8>),
    /// Register: write an encoded value.
    Write(Vec<u8>),
    /// Set, register, map: remove everything seen; flag: disable.
    Clear,
    /// Map: remove a key (the value's observed dots).
    RemoveKey(Key),
}

fn kind_error(k: u8) -> Error {
    Error::new(
        "kind",
        format!(
            "this operation does not apply to a value of kind '{}'",
            char::from(k)
        ),
    )
}

fn parts<S: DotStore>(c: Causal<S>) -> (S, CausalContext) {
    c.into_parts()
}

fn rebuild<S: DotStore>(store: S, context: CausalContext) -> Result<Causal<S>, Error> {
    Causal::from_parts(store, context).map_err(|e| Error::new("internal", e))
}

/// Runs the typed mutator `f` on the nested value `v` seen as the causal type `T` of store
/// `S` (taken out of the [`AnyStore`] by `take`), then puts it back. Nothing changes on error.
fn typed<T: CausalType<Store = S>, S: DotStore>(
    v: &mut AnyValue,
    store: S,
    context: CausalContext,
    wrap: fn(S) -> AnyStore,
    f: impl FnOnce(&mut T) -> Result<T, Error>,
) -> Result<AnyValue, Error> {
    let mut t = T::from_causal(rebuild(store, context)?);
    let result = f(&mut t);
    let (s, c) = parts(t.into_causal());
    *v = rebuild(wrap(s), c)?;
    let (ds, dc) = parts(result?.into_causal());
    rebuild(wrap(ds), dc)
}

/// Applies `leaf` to the value at `path` of `doc` as replica `id`; returns the delta.
///
/// # Errors
/// `kind` for a leaf the value's kind lacks, `argument` for a path too deep, or the core's
/// (exhausted dots, clock).
pub fn edit(
    doc: &mut Doc,
    path: &[Key],
    leaf: Leaf,
    id: ReplicaId,
    clock: &mut HybridClock,
    depth: usize,
) -> Result<Doc, Error> {
    if depth > MAX_MAP_DEPTH {
        return Err(Error::new(
            "argument",
            format!("maps nest at most {MAX_MAP_DEPTH} deep"),
        ));
    }
    let Some((key, rest)) = path.split_first() else {
        return match leaf {
            Leaf::Clear => Ok(doc.clear()),
            Leaf::RemoveKey(k) => Ok(doc.remove(&k)),
            _ => Err(kind_error(kind::MAP)),
        };
    };
    if !rest.is_empty() && key.kind() != kind::MAP {
        return Err(kind_error(key.kind()));
    }
    let k = key.kind();
    doc.try_update(key.clone(), |v: &mut AnyValue| {
        let (store, context) = parts(core::mem::take(v));
        let store = match store {
            AnyStore::Empty => AnyStore::empty_of(k).unwrap_or_default(),
            s => s,
        };
        match (store, leaf) {
            (AnyStore::Map(m), leaf) => typed::<Doc, MapStore>(
                v,
                m.0,
                context,
                |s| AnyStore::Map(NestedMap(s)),
                |m| edit(m, rest, leaf, id, clock, depth + 1),
            ),
            (AnyStore::Counter(s), Leaf::Add(n)) => {
                typed::<CausalCounter, _>(v, s, context, AnyStore::Counter, |c| Ok(c.add(id, n)?))
            }
            (AnyStore::Flag(s), Leaf::Enable) => {
                typed::<EWFlag, _>(v, s, context, AnyStore::Flag, |f| Ok(f.enable(id)?))
            }
            (AnyStore::Flag(s), Leaf::Disable | Leaf::Clear) => {
                typed::<EWFlag, _>(v, s, context, AnyStore::Flag, |f| Ok(f.disable()))
            }
            (AnyStore::Lww(s), Leaf::Lww(x, now)) => {
                typed::<LWWField<Vec<u8>>, _>(v, s, context, AnyStore::Lww, |f| {
                    f.set_with_clock(clock, now, id, x).map_err(|e| match e {
                        deltacrdt::LWWFieldError::Clock(c) => Error::from(c),
                        deltacrdt::LWWFieldError::Dots(d) => Error::from(d),
                    })
                })
            }
            (AnyStore::Set(s), Leaf::Insert(x)) => {
                typed::<ORSet<Vec<u8>>, _>(v, s, context, AnyStore::Set, |s| Ok(s.add(id, x)?))
            }
            (AnyStore::Set(s), Leaf::Delete(x)) => {
                typed::<ORSet<Vec<u8>>, _>(v, s, context, AnyStore::Set, |s| Ok(s.remove(&x)))
            }
            (AnyStore::Set(s), Leaf::Clear) => {
                typed::<ORSet<Vec<u8>>, _>(v, s, context, AnyStore::Set, |s| Ok(s.clear()))
            }
            (AnyStore::Register(s), Leaf::Write(x)) => {
                typed::<MVRegister<Vec<u8>>, _>(v, s, context, AnyStore::Register, |r| {
                    Ok(r.write(id, x)?)
                })
            }
            (AnyStore::Register(s), Leaf::Clear) => typed::<MVRegister<Vec<u8>>, _>(
                v,
                s,
                context,
                AnyStore::Register,
                |r| Ok(r.clear()),
            ),
            (s, _) => {
                let k = s.kind();
                *v = rebuild(s, context)?;
                Err(kind_error(k))
            }
        }
    })
}

/// Whether `leaf` at `path` would change `doc` as it is now (for edits held during recovery):
/// conservatively true except for removes and clears of what is absent.
pub fn would_change(doc: &Doc, path: &[Key], leaf: &Leaf) -> bool {
    let mut map = doc.as_causal().store();
    for key in path {
        match map.get(key) {
            Some(AnyStore::Map(m)) => map = &m.0,
            Some(_) => {
                return !matches!(leaf, Leaf::Clear | Leaf::Delete(_)) || path.last() == Some(key)
            }
            None => {
                return !matches!(
                    leaf,
                    Leaf::Clear | Leaf::Delete(_) | Leaf::Disable | Leaf::RemoveKey(_)
                )
            }
        }
    }
    match leaf {
        Leaf::RemoveKey(k) => map.get(k).is_some(),
        Leaf::Clear => !map.is_empty(),
        _ => true,
    }
}

/// The value at the end of `path` written as a JS value in the value format: a map is an
/// array of `[kind, name, value]` entries in key order; a counter a number; a flag a
/// boolean; an LWW field its value or `null`; a set an array of its elements; a register an
/// array of its siblings. `null` when the path names nothing.
pub fn read(doc: &Doc, path: &[Key]) -> Vec<u8> {
    let mut out = Vec::new();
    let root = doc.as_causal().store();
    let mut map = root;
    let Some((last, init)) = path.split_last() else {
        write_map(map, &mut out);
        return out;
    };
    for key in init {
        match map.get(key) {
            Some(AnyStore::Map(m)) => map = &m.0,
            _ => {
                out.push(value::tag::NULL);
                return out;
            }
        }
    }
    match map.get(last) {
        Some(s) => write_store(s, &mut out),
        None => out.push(value::tag::NULL),
    }
    out
}

/// The store at a non-empty `path`, if every key but the last names a nested map.
fn store_at<'a>(doc: &'a Doc, path: &[Key]) -> Option<&'a AnyStore> {
    let (last, init) = path.split_last()?;
    let mut map = doc.as_causal().store();
    for key in init {
        match map.get(key) {
            Some(AnyStore::Map(m)) => map = &m.0,
            _ => return None,
        }
    }
    map.get(last)
}

/// What the value at `path` knows of its writes, as numbers: an LWW field's winning write as
/// `[writer, wall ms]`, a register's siblings' dots as `[replica, seq, ...]` in the order
/// [`read`] lists their values; empty for anything else or nothing.
pub fn meta(doc: &Doc, path: &[Key]) -> Vec<u64> {
    match store_at(doc, path) {
        Some(AnyStore::Lww(f)) => f
            .iter()
            .max_by_key(|(d, (t, _))| (*t, d.replica))
            .map_or_else(Vec::new, |(d, (t, _))| vec![d.replica.0, t.physical_ms()]),
        Some(AnyStore::Register(r)) => r.iter().flat_map(|(d, _)| [d.replica.0, d.seq]).collect(),
        _ => Vec::new(),
    }
}

fn write_str(s: &str, out: &mut Vec<u8>) {
    out.push(value::tag::STRING);
    deltacrdt::codec::write_len(out, s.len());
    out.extend_from_slice(s.as_bytes());
}

fn write_map(map: &MapStore, out: &mut Vec<u8>) {
    out.push(value::tag::ARRAY);
    deltacrdt::codec::write_len(out, map.len());
    for (k, s) in map.iter() {
        out.push(value::tag::ARRAY);
        out.push(3);
        write_str(core::str::from_utf8(&[k.kind()]).unwrap_or_default(), out);
        write_str(k.name(), out);
        write_store(s, out);
    }
}

fn write_store(s: &AnyStore, out: &mut Vec<u8>) {
    match s {
        AnyStore::Empty => out.push(value::tag::NULL),
        AnyStore::Map(m) => write_map(&m.0, out),
        AnyStore::Counter(c) => {
            let total: i128 = c.iter().map(|(_, n)| i128::from(*n)).sum();
            value::write_number(total, out);
        }
        AnyStore::Flag(f) => out.push(if f.is_empty() {
            value::tag::FALSE
        } else {
            value::tag::TRUE
        }),
        AnyStore::Lww(f) => match f.iter().max_by_key(|(d, (t, _))| (*t, d.replica)) {
            Some((_, (_, v))) => out.extend_from_slice(v),
            None => out.push(value::tag::NULL),
        },
        AnyStore::Set(s) => {
            out.push(value::tag::ARRAY);
            deltacrdt::codec::write_len(out, s.len());
            for e in s.keys() {
                out.extend_from_slice(e);
            }
        }
        AnyStore::Register(r) => {
            out.push(value::tag::ARRAY);
            deltacrdt::codec::write_len(out, r.len());
            for (_, v) in r.iter() {
                out.extend_from_slice(v);
            }
        }
    }
}

/// Parses a path: concatenated encoded `Uint8Array` values (tag 6), each a key's bytes.
///
/// # Errors
/// `argument` for a path that is not that, or whose keys are not kind byte then UTF-8.
pub fn parse_path(bytes: &[u8]) -> Result<Vec<Key>, Error> {
    let mut keys = Vec::new();
    let mut r = Reader::new(bytes);
    while r.remaining() > 0 {
        let bad = |_| Error::new("argument", "a path is a list of keys");
        if r.byte().map_err(bad)? != value::tag::BYTES {
            return Err(Error::new("argument", "a path is a list of keys"));
        }
        let n = r.count(1).map_err(bad)?;
        let k = r.take(n).map_err(bad)?;
        keys.push(Key::parse(k).map_err(|e| Error::new("argument", format!("bad key: {e}")))?);
        if keys.len() > MAX_MAP_DEPTH + 1 {
            return Err(Error::new(
                "argument",
                format!("maps nest at most {MAX_MAP_DEPTH} deep"),
            ));
        }
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use deltacrdt::codec::Binary;
    use deltacrdt::Lattice;

    fn string(s: &str) -> Vec<u8> {
        let mut out = vec![value::tag::STRING, s.len() as u8];
        out.extend_from_slice(s.as_bytes());
        out
    }

    fn ok<T, E>(r: Result<T, E>) -> T {
        r.unwrap_or_else(|_| unreachable!())
    }

    fn deep(levels: usize) -> Doc {
        let mut doc = Doc::new();
        let mut path: Vec<Key> = (0..levels)
            .map(|i| Key::new(kind::MAP, &format!("m{i}")))
            .collect();
        path.push(Key::new(kind::COUNTER, "c"));
        let mut clock = HybridClock::new();
        let _ = edit(&mut doc, &path, Leaf::Add(1), ReplicaId(1), &mut clock, 0);
        doc
    }

    #[test]
    fn sixteen_levels_round_trip_and_a_forged_seventeenth_is_refused() {
        let doc = deep(MAX_MAP_DEPTH);
        assert!(!doc.is_empty());
        reset_decoder();
        assert_eq!(Doc::from_bytes(&doc.to_bytes()).ok().as_ref(), Some(&doc));
        // One level more is refused by `edit`...
        let mut d = Doc::new();
        let path: Vec<Key> = (0..=MAX_MAP_DEPTH + 1)
            .map(|i| Key::new(kind::MAP, &format!("m{i}")))
            .collect();
        let e = edit(
            &mut d,
            &path,
            Leaf::Clear,
            ReplicaId(1),
            &mut HybridClock::new(),
            0,
        );
        assert_eq!(e.err().map(|e| e.code), Some("argument"));
        assert!(d.is_empty());
        // ...and a forged one by the decoder, without recursing further.
        let (store, context) = doc.into_causal().into_parts();
        let mut outer = MapStore::default();
        outer.insert(Key::new(kind::MAP, "x"), AnyStore::Map(NestedMap(store)));
        let forged = Doc::from_causal(Causal::from_parts(outer, context).unwrap_or_default());
        reset_decoder();
        let e = Doc::from_bytes(&forged.to_bytes()).err();
        assert!(
            e.as_ref()
                .is_some_and(|e| e.to_string().contains("nesting depth")),
            "{e:?}"
        );
    }

    #[test]
    fn keys_carry_the_kind_and_forged_kinds_are_refused() {
        let mut doc = Doc::new();
        let mut clock = HybridClock::new();
        let counter = [Key::new(kind::COUNTER, "milk")];
        let field = [Key::new(kind::LWW, "milk")];
        assert!(edit(
            &mut doc,
            &counter,
            Leaf::Add(2),
            ReplicaId(1),
            &mut clock,
            0
        )
        .is_ok());
        assert!(edit(
            &mut doc,
            &field,
            Leaf::Lww(string("x"), 5),
            ReplicaId(1),
            &mut clock,
            0
        )
        .is_ok());
        assert_eq!(doc.len(), 2, "one name, two kinds, two keys");
        // A counter op on a field is a kind error and changes nothing.
        let before = doc.clone();
        let e = edit(&mut doc, &field, Leaf::Add(1), ReplicaId(1), &mut clock, 0);
        assert_eq!(e.err().map(|e| e.code), Some("kind"));
        assert_eq!(doc, before);
        // Replace the kind byte of a key in the bytes: a byte that names no kind is refused.
        let bytes = doc.to_bytes();
        let at = bytes.iter().position(|&b| b == kind::COUNTER).unwrap_or(0);
        let mut bad = bytes.clone();
        bad[at] = b'z';
        reset_decoder();
        let e = Doc::from_bytes(&bad).err();
        assert_eq!(e.map(|e| e.kind), Some(DecodeErrorKind::InvalidTag(b'z')));
        // Stores of two kinds never mix: such a join changes nothing.
        let mut a = AnyStore::empty_of(kind::FLAG).unwrap_or_default();
        let b = AnyStore::empty_of(kind::SET).unwrap_or_default();
        let ctx = CausalContext::default();
        assert!(!a.join(&ctx, b, &ctx, &mut |_, _| {}));
        let _ = doc.join(before);
    }

    /// Runs `ops` through [`edit`] and through the core type `T` in an `ORMap<Key, T>`: the
    /// two documents must encode to the same bytes.
    fn same_as_core<T: CausalType>(
        k: u8,
        ops: &[(u64, Leaf)],
        core: impl Fn(&mut T, ReplicaId, &Leaf, &mut HybridClock) -> T,
    ) where
        T::Store: StoreCodec,
    {
        let key = Key::new(k, "x");
        let mut doc = Doc::new();
        let mut native: ORMap<Key, T> = ORMap::new();
        let (mut c1, mut c2) = (HybridClock::new(), HybridClock::new());
        for (r, leaf) in ops {
            let r = ReplicaId(*r);
            let _ = edit(
                &mut doc,
                core::slice::from_ref(&key),
                leaf.clone(),
                r,
                &mut c1,
                0,
            );
            let _ = native.update(key.clone(), |t| core(t, r, leaf, &mut c2));
            assert_eq!(doc.to_bytes(), native.to_bytes(), "after {leaf:?}");
        }
    }

    #[test]
    fn leaves_match_the_core_types() {
        same_as_core::<CausalCounter>(
            kind::COUNTER,
            &[(1, Leaf::Add(3)), (2, Leaf::Add(-1)), (1, Leaf::Add(0))],
            |c, r, l, _| match l {
                Leaf::Add(n) => ok(c.add(r, *n)),
                _ => unreachable!(),
            },
        );
        same_as_core::<EWFlag>(
            kind::FLAG,
            &[
                (1, Leaf::Enable),
                (2, Leaf::Enable),
                (1, Leaf::Disable),
                (2, Leaf::Enable),
            ],
            |f, r, l, _| match l {
                Leaf::Enable => ok(f.enable(r)),
                _ => f.disable(),
            },
        );
        same_as_core::<ORSet<Vec<u8>>>(
            kind::SET,
            &[
                (1, Leaf::Insert(string("a"))),
                (2, Leaf::Insert(string("b"))),
                (1, Leaf::Insert(string("a"))),
                (2, Leaf::Delete(string("b"))),
                (1, Leaf::Insert(string("c"))),
                (1, Leaf::Clear),
                (2, Leaf::Insert(string("d"))),
            ],
            |s, r, l, _| match l {
                Leaf::Insert(x) => ok(s.add(r, x.clone())),
                Leaf::Delete(x) => s.remove(x),
                _ => s.clear(),
            },
        );
        same_as_core::<MVRegister<Vec<u8>>>(
            kind::REGISTER,
            &[
                (1, Leaf::Write(string("a"))),
                (2, Leaf::Write(string("b"))),
                (1, Leaf::Clear),
                (2, Leaf::Write(string("c"))),
            ],
            |m, r, l, _| match l {
                Leaf::Write(x) => ok(m.write(r, x.clone())),
                _ => m.clear(),
            },
        );
        same_as_core::<LWWField<Vec<u8>>>(
            kind::LWW,
            &[
                (1, Leaf::Lww(string("a"), 5)),
                (2, Leaf::Lww(string("b"), 3)),
                (1, Leaf::Lww(string("c"), 9)),
            ],
            |f, r, l, clock| match l {
                Leaf::Lww(x, now) => ok(f.set_with_clock(clock, *now, r, x.clone())),
                _ => unreachable!(),
            },
        );
    }

    #[test]
    fn read_writes_the_tree_as_js_values() {
        let mut doc = Doc::new();
        let mut clock = HybridClock::new();
        let path = [
            Key::new(kind::MAP, "alice"),
            Key::new(kind::COUNTER, "milk"),
        ];
        assert!(edit(&mut doc, &path, Leaf::Add(-3), ReplicaId(1), &mut clock, 0).is_ok());
        let out = read(&doc, &path);
        assert_eq!(out, vec![value::tag::INT, 5]);
        assert!(value::check(&read(&doc, &[])).is_ok());
        assert_eq!(
            read(&doc, &[Key::new(kind::FLAG, "none")]),
            vec![value::tag::NULL]
        );
    }
}
