//! A small, bounds-checked reader for TIFF structures: EXIF blocks, NEF files and maker notes.
//! Every offset is checked against the buffer; malformed input yields `None`/`Err`, never a panic.

/// TIFF field types and their sizes in bytes.
fn type_size(typ: u16) -> Option<usize> {
    match typ {
        1 | 2 | 6 | 7 => Some(1),
        3 | 8 => Some(2),
        4 | 9 | 11 | 13 => Some(4),
        5 | 10 | 12 => Some(8),
        _ => None,
    }
}

/// One IFD entry as stored.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    pub tag: u16,
    pub typ: u16,
    pub count: u32,
    /// The 4-byte value-or-offset field, as raw bytes in file order.
    raw: [u8; 4],
}

/// A parsed image file directory.
#[derive(Debug, Clone, Default)]
pub(crate) struct Ifd {
    pub entries: Vec<Entry>,
    /// Offset of the next IFD in the chain (0 at the end).
    pub next: u32,
}

impl Ifd {
    pub fn entry(&self, tag: u16) -> Option<Entry> {
        self.entries.iter().copied().find(|e| e.tag == tag)
    }
}

/// A TIFF structure over a byte buffer whose offsets count from the buffer's start.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tiff<'a> {
    pub data: &'a [u8],
    pub little_endian: bool,
}

/// Most entries an IFD may claim before it is treated as corrupt.
const MAX_ENTRIES: u16 = 1024;

impl<'a> Tiff<'a> {
    /// Check the byte-order mark and magic number.
    pub fn new(data: &'a [u8]) -> Result<Self, String> {
        if data.len() < 8 {
            return Err("TIFF header is shorter than 8 bytes".into());
        }
        let little_endian = match &data[0..2] {
            b"II" => true,
            b"MM" => false,
            _ => return Err("no TIFF byte-order mark".into()),
        };
        let t = Tiff {
            data,
            little_endian,
        };
        if t.u16_at(2) != Some(42) {
            return Err("TIFF magic number is not 42".into());
        }
        Ok(t)
    }

    pub fn u16_at(&self, off: usize) -> Option<u16> {
        let b = self.data.get(off..off.checked_add(2)?)?;
        Some(if self.little_endian {
            u16::from_le_bytes([b[0], b[1]])
        } else {
            u16::from_be_bytes([b[0], b[1]])
        })
    }

    pub fn u32_at(&self, off: usize) -> Option<u32> {
        let b = self.data.get(off..off.checked_add(4)?)?;
        Some(if self.little_endian {
            u32::from_le_bytes([b[0], b[1], b[2], b[3]])
        } else {
            u32::from_be_bytes([b[0], b[1], b[2], b[3]])
        })
    }

    fn u16_of(&self, b: &[u8]) -> u16 {
        if self.little_endian {
            u16::from_le_bytes([b[0], b[1]])
        } else {
            u16::from_be_bytes([b[0], b[1]])
        }
    }

    fn u32_of(&self, b: &[u8]) -> u32 {
        if self.little_endian {
            u32::from_le_bytes([b[0], b[1], b[2], b[3]])
        } else {
            u32::from_be_bytes([b[0], b[1], b[2], b[3]])
        }
    }

    pub fn first_ifd_offset(&self) -> Option<u32> {
        self.u32_at(4)
    }

    /// Read the IFD at `offset`.
    pub fn ifd(&self, offset: u32) -> Result<Ifd, String> {
        let off = offset as usize;
        let n = self
            .u16_at(off)
            .ok_or_else(|| format!("IFD offset {offset} is past the end of the data"))?;
        if n > MAX_ENTRIES {
            return Err(format!("IFD at {offset} claims {n} entries"));
        }
        let mut entries = Vec::with_capacity(n as usize);
        for i in 0..n as usize {
            let e = off + 2 + i * 12;
            let b = self
                .data
                .get(e..e + 12)
                .ok_or_else(|| format!("IFD at {offset} is cut off at entry {i}"))?;
            entries.push(Entry {
                tag: self.u16_of(&b[0..2]),
                typ: self.u16_of(&b[2..4]),
                count: self.u32_of(&b[4..8]),
                raw: [b[8], b[9], b[10], b[11]],
            });
        }
        let next = self.u32_at(off + 2 + n as usize * 12).unwrap_or(0);
        Ok(Ifd { entries, next })
    }

    /// The raw value bytes of an entry (inline or at its offset).
    pub fn bytes(&self, e: &Entry) -> Option<&'a [u8]> {
        let len = type_size(e.typ)?.checked_mul(e.count as usize)?;
        if len <= 4 {
            // Inline values are stored in the entry itself; re-find them in the buffer is not
            // possible, so callers use the typed accessors for short values.
            return None;
        }
        let off = self.u32_of(&e.raw) as usize;
        self.data.get(off..off.checked_add(len)?)
    }

    /// The offset an out-of-line value is stored at (meaningless for values of 4 bytes or less).
    pub fn value_offset(&self, e: &Entry) -> u32 {
        self.u32_of(&e.raw)
    }

    /// Value bytes for entries of any length, copied.
    fn value_bytes(&self, e: &Entry) -> Option<Vec<u8>> {
        let len = type_size(e.typ)?.checked_mul(e.count as usize)?;
        if len <= 4 {
            Some(e.raw[..len].to_vec())
        } else {
            self.bytes(e).map(|b| b.to_vec())
        }
    }

    /// An ASCII value, with trailing NULs and blanks removed; `None` if empty.
    pub fn ascii(&self, e: &Entry) -> Option<String> {
        if e.typ != 2 && e.typ != 7 && e.typ != 1 {
            return None;
        }
        let b = self.value_bytes(e)?;
        let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
        let s = String::from_utf8_lossy(&b[..end]).trim().to_string();
        (!s.is_empty()).then_some(s)
    }

    /// Unsigned integers (BYTE, SHORT, LONG, IFD).
    pub fn uints(&self, e: &Entry) -> Option<Vec<u32>> {
        let b = self.value_bytes(e)?;
        match e.typ {
            1 | 7 => Some(b.iter().map(|&x| x as u32).collect()),
            3 => Some(b.chunks_exact(2).map(|c| self.u16_of(c) as u32).collect()),
            4 | 13 => Some(b.chunks_exact(4).map(|c| self.u32_of(c)).collect()),
            _ => None,
        }
    }

    pub fn uint(&self, e: &Entry) -> Option<u32> {
        self.uints(e)?.first().copied()
    }

    /// Rational values as f64 (RATIONAL or SRATIONAL); a zero denominator gives `None` for that value.
    pub fn rationals(&self, e: &Entry) -> Option<Vec<Option<f64>>> {
        let b = self.value_bytes(e)?;
        match e.typ {
            5 => Some(
                b.chunks_exact(8)
                    .map(|c| {
                        let n = self.u32_of(&c[0..4]);
                        let d = self.u32_of(&c[4..8]);
                        (d != 0).then(|| n as f64 / d as f64)
                    })
                    .collect(),
            ),
            10 => Some(
                b.chunks_exact(8)
                    .map(|c| {
                        let n = self.u32_of(&c[0..4]) as i32;
                        let d = self.u32_of(&c[4..8]) as i32;
                        (d != 0).then(|| n as f64 / d as f64)
                    })
                    .collect(),
            ),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dc_06_malformed_tiff_is_an_error_not_a_panic() {
        assert!(Tiff::new(b"II*").is_err());
        assert!(Tiff::new(b"XX*\0\0\0\0\0").is_err());
        let t = Tiff::new(b"II*\0\xff\xff\0\0").unwrap();
        assert!(t.ifd(t.first_ifd_offset().unwrap()).is_err());
        // An IFD claiming one entry whose value points far outside the buffer.
        let mut d = b"II*\0\x08\0\0\0\x01\0\x0f\x01\x02\0\x20\0\0\0\xff\xff\0\0\0\0\0\0".to_vec();
        d.truncate(26);
        let t = Tiff::new(&d).unwrap();
        let ifd = t.ifd(8).unwrap();
        assert_eq!(ifd.entries.len(), 1);
        assert_eq!(t.ascii(&ifd.entries[0]), None);
    }
}
