//! A bounds-checked cursor over untrusted bytes, and the matching writer helpers.

use alloc::vec::Vec;

use super::{DecodeError, DecodeErrorKind};

/// Reads values from untrusted bytes. Every read checks bounds and reports the offset of any
/// problem; nothing here panics or allocates.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// The format version the bytes are in: [`FORMAT_VERSION`](super::FORMAT_VERSION) unless
    /// a header said otherwise ([`read_header`](super::read_header)).
    version: u8,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader {
            bytes,
            pos: 0,
            version: super::FORMAT_VERSION,
        }
    }

    /// The format version the input is read as: the one its header named, or
    /// [`FORMAT_VERSION`](super::FORMAT_VERSION) for bytes read without a header.
    #[inline]
    pub fn format_version(&self) -> u8 {
        self.version
    }

    /// Reads the rest of the input as format version `version` (what a header names).
    pub(crate) fn set_format_version(&mut self, version: u8) {
        self.version = version;
    }

    /// The current offset from the start of the input.
    #[inline]
    pub fn offset(&self) -> usize {
        self.pos
    }

    /// How many bytes are left.
    #[inline]
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    /// An error of `kind` at the current offset.
    #[inline]
    pub fn error(&self, kind: DecodeErrorKind) -> DecodeError {
        DecodeError {
            offset: self.pos,
            kind,
        }
    }

    /// An error of `kind` at `offset`.
    #[inline]
    pub fn error_at(&self, offset: usize, kind: DecodeErrorKind) -> DecodeError {
        DecodeError { offset, kind }
    }

    /// Reads one byte.
    #[inline]
    pub fn byte(&mut self) -> Result<u8, DecodeError> {
        let b = *self
            .bytes
            .get(self.pos)
            .ok_or_else(|| self.error(DecodeErrorKind::UnexpectedEnd { needed: 1 }))?;
        self.pos += 1;
        Ok(b)
    }

    /// Reads `n` bytes.
    #[inline]
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.remaining() {
            return Err(self.error(DecodeErrorKind::UnexpectedEnd {
                needed: n - self.remaining(),
            }));
        }
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// Reads 8 bytes as a little-endian `u64` (replica ids, timestamps, digests).
    pub fn u64_le(&mut self) -> Result<u64, DecodeError> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(a))
    }

    /// Reads a canonical LEB128 unsigned integer (at most 10 bytes, no redundant high zeros).
    #[inline]
    pub fn varint(&mut self) -> Result<u64, DecodeError> {
        let start = self.pos;
        let mut value: u64 = 0;
        for i in 0..10 {
            let b = self.byte()?;
            let part = u64::from(b & 0x7f);
            if i == 9 && b > 1 {
                return Err(self.error_at(start, DecodeErrorKind::VarintOverflow));
            }
            value |= part << (7 * i);
            if b & 0x80 == 0 {
                if b == 0 && i > 0 {
                    return Err(self.error_at(start, DecodeErrorKind::NonCanonicalVarint));
                }
                return Ok(value);
            }
        }
        Err(self.error_at(start, DecodeErrorKind::VarintOverflow))
    }

    /// Reads a count of items that each take at least `min_item_bytes` bytes, refusing counts
    /// the remaining input cannot hold; this is what bounds allocation by the input length.
    #[inline]
    pub fn count(&mut self, min_item_bytes: usize) -> Result<usize, DecodeError> {
        let start = self.pos;
        let n = self.varint()?;
        let max = (self.remaining() / min_item_bytes.max(1)) as u64;
        if n > max {
            return Err(self.error_at(start, DecodeErrorKind::LengthTooLarge { len: n }));
        }
        Ok(n as usize)
    }

    /// Reads a positive varint.
    #[inline]
    pub fn positive(&mut self) -> Result<u64, DecodeError> {
        let start = self.pos;
        match self.varint()? {
            0 => Err(self.error_at(start, DecodeErrorKind::Zero)),
            n => Ok(n),
        }
    }

    /// Fails unless the input is fully consumed.
    pub fn finish(&self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(self.error(DecodeErrorKind::TrailingBytes { count })),
        }
    }
}

/// Appends `v` as LEB128.
#[inline]
pub fn write_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends a length or count.
#[inline]
pub fn write_len(out: &mut Vec<u8>, n: usize) {
    write_varint(out, n as u64);
}
