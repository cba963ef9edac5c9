//! [`Codec`] for integers, booleans, strings, byte vectors, options and tuples.

use alloc::string::String;
use alloc::vec::Vec;

use super::{write_len, write_varint, Codec, DecodeError, DecodeErrorKind, Reader};

macro_rules! unsigned {
    ($($t:ty),*) => {$(
        impl Codec for $t {
            fn encode(&self, out: &mut Vec<u8>) {
                write_varint(out, u64::from(*self));
            }
            fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                let at = r.offset();
                let v = r.varint()?;
                <$t>::try_from(v).map_err(|_| {
                    r.error_at(at, DecodeErrorKind::IntegerOutOfRange { target: stringify!($t) })
                })
            }
        }
    )*};
}
unsigned!(u16, u32, u64);

impl Codec for u8 {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(*self);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.byte()
    }
}

macro_rules! signed {
    ($($t:ty),*) => {$(
        impl Codec for $t {
            fn encode(&self, out: &mut Vec<u8>) {
                let v = i64::from(*self);
                write_varint(out, ((v << 1) ^ (v >> 63)) as u64);
            }
            fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                let at = r.offset();
                let z = r.varint()?;
                let v = ((z >> 1) as i64) ^ -((z & 1) as i64);
                <$t>::try_from(v).map_err(|_| {
                    r.error_at(at, DecodeErrorKind::IntegerOutOfRange { target: stringify!($t) })
                })
            }
        }
    )*};
}
signed!(i8, i16, i32, i64);

impl Codec for bool {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(u8::from(*self));
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let at = r.offset();
        match r.byte()? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(r.error_at(at, DecodeErrorKind::InvalidBool(b))),
        }
    }
}

impl Codec for Vec<u8> {
    fn encode(&self, out: &mut Vec<u8>) {
        write_len(out, self.len());
        out.extend_from_slice(self);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let n = r.count(1)?;
        Ok(r.take(n)?.to_vec())
    }

    const BYTE_STRING: bool = true;

    fn as_byte_string(&self) -> &[u8] {
        self
    }

    fn from_byte_string(bytes: &[u8]) -> Result<Self, DecodeErrorKind> {
        Ok(bytes.to_vec())
    }
}

impl Codec for String {
    fn encode(&self, out: &mut Vec<u8>) {
        write_len(out, self.len());
        out.extend_from_slice(self.as_bytes());
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let n = r.count(1)?;
        let at = r.offset();
        let bytes = r.take(n)?;
        core::str::from_utf8(bytes)
            .map(String::from)
            .map_err(|e| r.error_at(at + e.valid_up_to(), DecodeErrorKind::InvalidUtf8))
    }

    const BYTE_STRING: bool = true;

    fn as_byte_string(&self) -> &[u8] {
        self.as_bytes()
    }

    fn from_byte_string(bytes: &[u8]) -> Result<Self, DecodeErrorKind> {
        core::str::from_utf8(bytes)
            .map(String::from)
            .map_err(|_| DecodeErrorKind::InvalidUtf8)
    }
}

impl<T: Codec> Codec for Option<T> {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            None => out.push(0),
            Some(v) => {
                out.push(1);
                v.encode(out);
            }
        }
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let at = r.offset();
        match r.byte()? {
            0 => Ok(None),
            1 => Ok(Some(T::decode(r)?)),
            b => Err(r.error_at(at, DecodeErrorKind::InvalidTag(b))),
        }
    }
}

macro_rules! tuple {
    ($($name:ident),+) => {
        impl<$($name: Codec),+> Codec for ($($name,)+) {
            #[allow(non_snake_case)]
            fn encode(&self, out: &mut Vec<u8>) {
                let ($($name,)+) = self;
                $($name.encode(out);)+
            }
            fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                Ok(($($name::decode(r)?,)+))
            }
        }
    };
}
tuple!(A, B);
tuple!(A, B, C);
tuple!(A, B, C, D);

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    fn round<T: Codec + PartialEq + core::fmt::Debug>(v: T) {
        let mut out = Vec::new();
        v.encode(&mut out);
        let mut r = Reader::new(&out);
        assert_eq!(T::decode(&mut r).unwrap(), v);
        assert_eq!(r.remaining(), 0);
    }

    #[test]
    fn primitives_round_trip() {
        round(0u64);
        round(u64::MAX);
        round(i64::MIN);
        round(i64::MAX);
        round(-1i32);
        round(u16::MAX);
        round(255u8);
        round(true);
        round("héllo".to_string());
        round(vec![0u8, 255, 7]);
        round(Some((1u32, -2i8)));
        round(None::<u8>);
        round((1u8, 2u16, 3u32, 4u64));
    }

    #[test]
    fn rejects_non_canonical_and_out_of_range() {
        let mut r = Reader::new(&[0x80, 0x00]);
        assert_eq!(
            r.varint().unwrap_err().kind,
            DecodeErrorKind::NonCanonicalVarint
        );
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]);
        assert_eq!(
            r.varint().unwrap_err().kind,
            DecodeErrorKind::VarintOverflow
        );
        let mut out = Vec::new();
        70000u32.encode(&mut out);
        assert!(matches!(
            u16::decode(&mut Reader::new(&out)).unwrap_err().kind,
            DecodeErrorKind::IntegerOutOfRange { .. }
        ));
        assert_eq!(
            bool::decode(&mut Reader::new(&[2])).unwrap_err().kind,
            DecodeErrorKind::InvalidBool(2)
        );
        let err = String::decode(&mut Reader::new(&[2, b'a', 0xff])).unwrap_err();
        assert_eq!((err.offset, err.kind), (2, DecodeErrorKind::InvalidUtf8));
        // A length larger than the input is refused before allocating.
        let err = Vec::<u8>::decode(&mut Reader::new(&[0xff, 0xff, 0xff, 0xff, 0x0f])).unwrap_err();
        assert!(matches!(err.kind, DecodeErrorKind::LengthTooLarge { .. }));
    }
}
