//! The list of CRDT kinds the package exposes, once: [`AnyCrdt`] (a state of any kind),
//! [`AnyVersion`] (a version of any kind) and [`Kind`] (the kind's name and tag), all generated
//! by `kinds!` from one list.
//!
//! [`AnyCrdt`] implements the core's traits by dispatching to the kind it holds, so the core's
//! [`Session`](deltacrdt::sync::Session) is compiled once (as `Session<AnyCrdt>`) rather than
//! once per kind: the shipped module stays within its size budget. Its binary form is the
//! held kind's own, header and all (the tag says which kind), so sessions of the package and
//! native Rust sessions of the concrete kinds exchange the same bytes.
//!
//! **Adding a kind** is one entry in the `kinds!` invocation at the end of this file (plus its
//! [`CheckValues`] impl if it holds JS values, and its mutators in
//! [`crate::replica::Op`]).

use deltacrdt::codec::{Binary, Codec, Reader};
use deltacrdt::sync::Measure;
use deltacrdt::{
    BoundedCounter, BoundedVersion, CausalCounter, CausalVersion, DecodeError, DecodeErrorKind,
    DeltaCrdt, Dot, EWFlag, GCounter, LWWRegister, Lattice, LwwVersion, MVRegister, ORSet,
    PNCounter, PNVersion, ReplicaId, VersionVector,
};

use crate::map::Doc;

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

impl CheckValues for CausalCounter {
    fn check_values(&self) -> Result<(), ValueError> {
        Ok(())
    }
}

impl CheckValues for EWFlag {
    fn check_values(&self) -> Result<(), ValueError> {
        Ok(())
    }
}

impl CheckValues for BoundedCounter {
    fn check_values(&self) -> Result<(), ValueError> {
        Ok(())
    }
}

impl CheckValues for Doc {
    fn check_values(&self) -> Result<(), ValueError> {
        crate::map::check_doc(self).map(|_| ())
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

/// A version type of the core, wrapped in [`AnyVersion`].
pub trait VersionKind: Sized {
    /// `self` as an [`AnyVersion`].
    fn wrap(self) -> AnyVersion;
    /// The version of this type inside `v`, if it holds one.
    fn unwrap(v: &AnyVersion) -> Option<&Self>;
}

macro_rules! versions {
    ($($name:ident($ty:ty)),* $(,)?) => {
        /// A version of any kind (what a session's digest carries), or none yet.
        #[derive(Clone, Debug, Default, PartialEq)]
        pub enum AnyVersion {
            /// No version: treated as the bottom version of whatever kind it meets.
            #[default]
            Empty,
            $(
                #[doc = concat!("A `", stringify!($ty), "`.")]
                $name($ty),
            )*
        }

        $(
            impl VersionKind for $ty {
                fn wrap(self) -> AnyVersion {
                    AnyVersion::$name(self)
                }
                fn unwrap(v: &AnyVersion) -> Option<&Self> {
                    match v {
                        AnyVersion::$name(x) => Some(x),
                        _ => None,
                    }
                }
            }
        )*

        impl Codec for AnyVersion {
            fn encode(&self, out: &mut Vec<u8>) {
                match self {
                    AnyVersion::Empty => {}
                    $(AnyVersion::$name(v) => v.encode(out),)*
                }
            }

            /// A version's body alone does not say its type: only [`Binary::from_bytes`] decodes.
            fn decode(input: &mut Reader<'_>) -> Result<Self, DecodeError> {
                Err(input.error_at(input.offset(), DecodeErrorKind::InvalidTag(0)))
            }
        }

        impl Binary for AnyVersion {
            /// Unused: the bytes are those of the held version, with its own tag.
            const TAG: u8 = 0xff;

            fn to_bytes(&self) -> Vec<u8> {
                match self {
                    // Never sent: a session's digest is the version of its (typed) state.
                    AnyVersion::Empty => Vec::new(),
                    $(AnyVersion::$name(v) => v.to_bytes(),)*
                }
            }

            fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
                $(
                    if bytes.get(1) == Some(&<$ty as Binary>::TAG) {
                        return <$ty>::from_bytes(bytes).map(AnyVersion::$name);
                    }
                )*
                // Not a version of any kind: let the first one name the problem.
                VersionVector::from_bytes(bytes).map(AnyVersion::VersionVector)
            }
        }
    };
}

versions!(
    VersionVector(VersionVector),
    PNVersion(PNVersion),
    CausalVersion(CausalVersion),
    LwwVersion(LwwVersion),
    BoundedVersion(BoundedVersion),
);

macro_rules! kinds {
    ($($name:ident($ty:ty)),* $(,)?) => {
        /// The name of a kind of CRDT the package exposes.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Kind {
            $(
                #[doc = concat!("`", stringify!($ty), "`.")]
                $name,
            )*
        }

        impl Kind {
            /// The kind named `name` (`"ORSet"`, ...).
            pub fn from_name(name: &str) -> Option<Kind> {
                match name {
                    $(stringify!($name) => Some(Kind::$name),)*
                    _ => None,
                }
            }

            /// The kind's name.
            pub fn name(self) -> &'static str {
                match self {
                    $(Kind::$name => stringify!($name),)*
                }
            }

            /// Every kind's name, for messages.
            pub const NAMES: &'static str = concat!($(stringify!($name), " "),*);

            /// The empty state of this kind.
            pub fn empty(self) -> AnyCrdt {
                match self {
                    $(Kind::$name => AnyCrdt::$name(<$ty>::default()),)*
                }
            }

            /// Decodes a state or delta of exactly this kind from untrusted bytes and checks
            /// its values.
            ///
            /// # Errors
            /// The decoding error (a wrong type is one), or the first value that is not a JS
            /// value.
            pub fn decode(self, bytes: &[u8]) -> Result<AnyCrdt, crate::error::Error> {
                crate::map::reset_decoder();
                match self {
                    $(Kind::$name => {
                        let x = <$ty>::from_bytes(bytes)?;
                        x.check_values()?;
                        Ok(AnyCrdt::$name(x))
                    })*
                }
            }

            /// Decodes a version of this kind.
            ///
            /// # Errors
            /// The decoding error.
            pub fn decode_version(self, bytes: &[u8]) -> Result<AnyVersion, DecodeError> {
                match self {
                    $(Kind::$name => {
                        <<$ty as DeltaCrdt>::Version as Binary>::from_bytes(bytes).map(VersionKind::wrap)
                    })*
                }
            }
        }

        /// A state (or delta) of any kind, or none yet.
        #[derive(Clone, Debug, Default, PartialEq)]
        pub enum AnyCrdt {
            /// The bottom of every kind; joining a state into it takes that state's kind.
            #[default]
            Empty,
            $(
                #[doc = concat!("A `", stringify!($ty), "`.")]
                $name($ty),
            )*
        }

        impl AnyCrdt {
            /// The kind held, `None` for [`AnyCrdt::Empty`].
            pub fn kind(&self) -> Option<Kind> {
                match self {
                    AnyCrdt::Empty => None,
                    $(AnyCrdt::$name(_) => Some(Kind::$name),)*
                }
            }
        }

        impl CheckValues for AnyCrdt {
            fn check_values(&self) -> Result<(), ValueError> {
                match self {
                    AnyCrdt::Empty => Ok(()),
                    $(AnyCrdt::$name(x) => x.check_values(),)*
                }
            }
        }

        impl Lattice for AnyCrdt {
            /// Joins states of one kind; `Empty` takes the other's kind. States of two
            /// different kinds never meet (every input is checked for its kind first): such a
            /// join changes nothing.
            fn join(&mut self, other: Self) -> bool {
                match (self, other) {
                    (_, AnyCrdt::Empty) => false,
                    (s @ AnyCrdt::Empty, o) => {
                        let changed = !o.is_bottom();
                        *s = o;
                        changed
                    }
                    $((AnyCrdt::$name(a), AnyCrdt::$name(b)) => a.join(b),)*
                    #[allow(unreachable_patterns)]
                    _ => false,
                }
            }

            fn join_ref(&mut self, other: &Self) -> bool {
                match (self, other) {
                    (_, AnyCrdt::Empty) => false,
                    (s @ AnyCrdt::Empty, o) => {
                        *s = o.clone();
                        !o.is_bottom()
                    }
                    $((AnyCrdt::$name(a), AnyCrdt::$name(b)) => a.join_ref(b),)*
                    #[allow(unreachable_patterns)]
                    _ => false,
                }
            }

            fn is_bottom(&self) -> bool {
                match self {
                    AnyCrdt::Empty => true,
                    $(AnyCrdt::$name(x) => x.is_bottom(),)*
                }
            }
        }

        impl DeltaCrdt for AnyCrdt {
            type Version = AnyVersion;

            fn version(&self) -> AnyVersion {
                match self {
                    AnyCrdt::Empty => AnyVersion::Empty,
                    $(AnyCrdt::$name(x) => x.version().wrap(),)*
                }
            }

            /// The delta since `version` of the held kind (the whole state for
            /// [`AnyVersion::Empty`]); nothing for a version of another kind.
            fn delta_since(&self, version: &AnyVersion) -> Self {
                match self {
                    AnyCrdt::Empty => AnyCrdt::Empty,
                    $(AnyCrdt::$name(x) => match version {
                        AnyVersion::Empty => AnyCrdt::$name(x.delta_since(&Default::default())),
                        v => match VersionKind::unwrap(v) {
                            Some(v) => AnyCrdt::$name(x.delta_since(v)),
                            None => AnyCrdt::Empty,
                        },
                    },)*
                }
            }

            fn claims_unissued(&self, issuer: &Self, replica: ReplicaId) -> bool {
                match (self, issuer) {
                    $((AnyCrdt::$name(a), AnyCrdt::$name(b)) => a.claims_unissued(b, replica),)*
                    _ => false,
                }
            }

            fn dot_collision(&self, other: &Self) -> Option<Dot> {
                match (self, other) {
                    $((AnyCrdt::$name(a), AnyCrdt::$name(b)) => a.dot_collision(b),)*
                    _ => None,
                }
            }
        }

        impl Measure for AnyCrdt {
            fn units(&self) -> u64 {
                match self {
                    AnyCrdt::Empty => 0,
                    $(AnyCrdt::$name(x) => x.units(),)*
                }
            }
        }

        impl Codec for AnyCrdt {
            fn encode(&self, out: &mut Vec<u8>) {
                match self {
                    AnyCrdt::Empty => {}
                    $(AnyCrdt::$name(x) => x.encode(out),)*
                }
            }

            /// A state's body alone does not say its kind: only [`Binary::from_bytes`] decodes.
            fn decode(input: &mut Reader<'_>) -> Result<Self, DecodeError> {
                Err(input.error_at(input.offset(), DecodeErrorKind::InvalidTag(0)))
            }
        }

        impl Binary for AnyCrdt {
            /// Unused: the bytes are those of the held kind, with its own tag.
            const TAG: u8 = 0xff;

            fn to_bytes(&self) -> Vec<u8> {
                match self {
                    // A session never sends the bottom; an empty GCounter stands for it.
                    AnyCrdt::Empty => GCounter::default().to_bytes(),
                    $(AnyCrdt::$name(x) => x.to_bytes(),)*
                }
            }

            /// Decodes a state of whichever kind the bytes' tag names (the session's check
            /// then refuses a kind other than its own).
            fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
                crate::map::reset_decoder();
                $(
                    if bytes.get(1) == Some(&<$ty as Binary>::TAG) {
                        return <$ty>::from_bytes(bytes).map(AnyCrdt::$name);
                    }
                )*
                // Not a state of any kind: let the first one name the problem.
                GCounter::from_bytes(bytes).map(AnyCrdt::GCounter)
            }
        }
    };
}

kinds!(
    GCounter(GCounter),
    PNCounter(PNCounter),
    ORSet(ORSet<Vec<u8>>),
    LWWRegister(LWWRegister<Vec<u8>>),
    MVRegister(MVRegister<Vec<u8>>),
    CausalCounter(CausalCounter),
    EWFlag(EWFlag),
    BoundedCounter(BoundedCounter),
    ORMap(Doc),
);
