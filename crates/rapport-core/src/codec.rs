//! The small pieces of the binary formats rapport keeps (the store's ledger, the published
//! results image): LEB128 varints, zigzag for signed values, and a bounds-checked reader that
//! turns every short or malformed input into an error instead of a panic.

/// Appends `value` as a LEB128 varint (7 bits per byte, low bits first).
pub fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Appends a 128-bit value as a LEB128 varint.
pub fn put_varint128(out: &mut Vec<u8>, mut value: u128) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Maps signed to unsigned so that small magnitudes take few bytes.
pub fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

/// The inverse of [`zigzag`].
pub fn unzigzag(value: u64) -> i64 {
    ((value >> 1) as i64) ^ -((value & 1) as i64)
}

/// [`zigzag`] for 128-bit values.
pub fn zigzag128(value: i128) -> u128 {
    ((value << 1) ^ (value >> 127)) as u128
}

/// The inverse of [`zigzag128`].
pub fn unzigzag128(value: u128) -> i128 {
    ((value >> 1) as i128) ^ -((value & 1) as i128)
}

/// A fast checksum of `bytes` (not cryptographic): tells a damaged image from an intact one.
pub fn checksum(bytes: &[u8]) -> u64 {
    checksum_parts(&[bytes])
}

/// [`checksum`] of several byte runs read as one record (an image around a part checked
/// apart).
pub fn checksum_parts(parts: &[&[u8]]) -> u64 {
    use std::hash::Hasher as _;
    let mut hasher = crate::engine::hash::FxHasher::default();
    for part in parts {
        hasher.write(part);
    }
    hasher.write_usize(parts.iter().map(|part| part.len()).sum());
    hasher.finish()
}

/// Appends a string as its length (varint) and bytes.
pub fn put_text(out: &mut Vec<u8>, text: &str) {
    put_varint(out, text.len() as u64);
    out.extend_from_slice(text.as_bytes());
}

/// The input ended early or holds something no writer writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Malformed {
    /// The byte offset where reading failed.
    pub offset: usize,
}

/// Reads the values the `put_*` functions write, never past the end of its bytes.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    offset: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, offset: 0 }
    }

    /// Where the next read starts.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// True when every byte has been read.
    pub fn is_at_end(&self) -> bool {
        self.offset >= self.bytes.len()
    }

    fn malformed(&self) -> Malformed {
        Malformed { offset: self.offset }
    }

    /// The next byte.
    pub fn byte(&mut self) -> Result<u8, Malformed> {
        let byte = self.bytes.get(self.offset).copied().ok_or_else(|| self.malformed())?;
        self.offset += 1;
        Ok(byte)
    }

    /// The next `length` bytes.
    pub fn take(&mut self, length: usize) -> Result<&'a [u8], Malformed> {
        let end = self.offset.checked_add(length).ok_or_else(|| self.malformed())?;
        let bytes = self.bytes.get(self.offset..end).ok_or_else(|| self.malformed())?;
        self.offset = end;
        Ok(bytes)
    }

    /// A varint that fits 64 bits (a longer or overlong one is malformed).
    pub fn varint(&mut self) -> Result<u64, Malformed> {
        let mut value: u64 = 0;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            let bits = u64::from(byte & 0x7f);
            // The tenth byte may only hold the top bit of a u64.
            if shift == 63 && bits > 1 {
                return Err(self.malformed());
            }
            value |= bits << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(self.malformed())
    }

    /// A varint that fits 128 bits.
    pub fn varint128(&mut self) -> Result<u128, Malformed> {
        let mut value: u128 = 0;
        for shift in (0..128).step_by(7) {
            let byte = self.byte()?;
            let bits = u128::from(byte & 0x7f);
            // The nineteenth byte may only hold the top two bits of a u128.
            if shift == 126 && bits > 3 {
                return Err(self.malformed());
            }
            value |= bits << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(self.malformed())
    }

    /// A varint used as a count, index or length.
    pub fn length(&mut self) -> Result<usize, Malformed> {
        let value = self.varint()?;
        usize::try_from(value).map_err(|_| self.malformed())
    }

    /// A string written by [`put_text`].
    pub fn text(&mut self) -> Result<&'a str, Malformed> {
        let length = self.length()?;
        let at = self.offset;
        let bytes = self.take(length)?;
        std::str::from_utf8(bytes).map_err(|_| Malformed { offset: at })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_at_their_edges() {
        let values = [0, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX];
        let mut out = Vec::new();
        for value in values {
            put_varint(&mut out, value);
        }
        assert_eq!(out.get(..5), Some([0, 1, 127, 0x80, 1].as_slice()));
        let mut reader = Reader::new(&out);
        for value in values {
            assert_eq!(reader.varint(), Ok(value));
        }
        assert!(reader.is_at_end());
        assert_eq!(reader.varint(), Err(Malformed { offset: out.len() }));
    }

    #[test]
    fn signed_values_zigzag_to_small_numbers() {
        assert_eq!([0, -1, 1, -2, 2].map(zigzag), [0, 1, 2, 3, 4]);
        for value in [i64::MIN, -300, 0, 300, i64::MAX] {
            assert_eq!(unzigzag(zigzag(value)), value);
        }
        for value in [i128::MIN, -1, 0, 1, i128::MAX] {
            let mut out = Vec::new();
            put_varint128(&mut out, zigzag128(value));
            assert_eq!(Reader::new(&out).varint128().map(unzigzag128), Ok(value));
        }
    }

    #[test]
    fn overlong_and_cut_input_is_malformed_not_a_panic() {
        // Eleven continuation bytes: longer than any u64.
        assert_eq!(Reader::new(&[0xff; 11]).varint(), Err(Malformed { offset: 10 }));
        assert_eq!(Reader::new(&[0xff, 0x7f]).varint(), Ok(0x3fff));
        let mut out = Vec::new();
        put_text(&mut out, "déjà");
        assert_eq!(Reader::new(&out).text(), Ok("déjà"));
        assert_eq!(
            Reader::new(out.get(..3).unwrap_or_default()).text(),
            Err(Malformed { offset: 1 })
        );
        assert_eq!(Reader::new(&[2, 0xc3, 0x28]).text(), Err(Malformed { offset: 1 }));
    }
}
