//! Bounds-checked reads of fixed-layout binary records.

use crate::error::{corrupt, Result};
use zeroize::Zeroize;

/// A byte buffer overwritten with zeros (buffer and spare capacity) when
/// dropped, like `zeroize::Zeroizing<Vec<u8>>` but writing a machine word at
/// a time rather than a byte, which matters for the frame-sized copies made
/// while decoding.
#[derive(Default)]
pub(crate) struct WipedBytes(pub Vec<u8>);

impl std::ops::Deref for WipedBytes {
    type Target = Vec<u8>;
    fn deref(&self) -> &Vec<u8> {
        &self.0
    }
}

impl std::ops::DerefMut for WipedBytes {
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        &mut self.0
    }
}

impl Drop for WipedBytes {
    fn drop(&mut self) {
        wipe(&mut self.0);
    }
}

/// Overwrites a buffer and its spare capacity with zeros (volatile writes, a
/// word at a time).
pub(crate) fn wipe(buf: &mut Vec<u8>) {
    let cap = buf.capacity();
    buf.resize(cap, 0);
    let (head, words, tail) = bytemuck::pod_align_to_mut::<u8, u64>(buf);
    head.zeroize();
    words.zeroize();
    tail.zeroize();
    buf.clear();
}

/// A view of a binary record with a byte order; every read is bounds-checked.
#[derive(Clone, Copy)]
pub(crate) struct Reader<'a> {
    pub data: &'a [u8],
    pub big_endian: bool,
    /// What this record is, for error messages.
    pub what: &'static str,
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8], big_endian: bool, what: &'static str) -> Self {
        Self {
            data,
            big_endian,
            what,
        }
    }

    pub fn bytes<const N: usize>(&self, off: usize) -> Result<[u8; N]> {
        off.checked_add(N)
            .and_then(|end| self.data.get(off..end))
            .and_then(|s| <[u8; N]>::try_from(s).ok())
            .ok_or_else(|| {
                corrupt(format!(
                    "{} is {} bytes long, a field at offset {:#x} lies beyond it",
                    self.what,
                    self.data.len(),
                    off
                ))
            })
    }

    pub fn u16(&self, off: usize) -> Result<u16> {
        let b = self.bytes::<2>(off)?;
        Ok(if self.big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    }

    pub fn i16(&self, off: usize) -> Result<i16> {
        Ok(self.u16(off)? as i16)
    }

    pub fn u32(&self, off: usize) -> Result<u32> {
        let b = self.bytes::<4>(off)?;
        Ok(if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }

    pub fn i32(&self, off: usize) -> Result<i32> {
        Ok(self.u32(off)? as i32)
    }

    pub fn f32(&self, off: usize) -> Result<f32> {
        Ok(f32::from_bits(self.u32(off)?))
    }

    /// A NUL-terminated string field of at most `len` bytes (lossy UTF-8, trimmed).
    pub fn string(&self, off: usize, len: usize) -> Option<String> {
        let field = self.data.get(off..off.checked_add(len)?)?;
        let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
        let s = String::from_utf8_lossy(&field[..end]).trim().to_string();
        if s.is_empty() {
            None
        } else {
            Some(s)
        }
    }
}
