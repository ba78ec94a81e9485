//! MSB-first bit reader and writer for the bit-packed formats (dependency descriptor, VP9).

use crate::error::{Error, Result};

/// Reads bits most significant first; reading past the end is an error, never a panic.
#[derive(Debug, Clone)]
pub(crate) struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> BitReader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        BitReader { data, pos: 0 }
    }

    pub(crate) fn bit(&mut self) -> Result<bool> {
        let byte = self
            .data
            .get(self.pos / 8)
            .ok_or(Error::Truncated("bit field"))?;
        let b = (byte >> (7 - (self.pos % 8))) & 1;
        self.pos += 1;
        Ok(b == 1)
    }

    /// Reads `n <= 32` bits.
    pub(crate) fn bits(&mut self, n: u32) -> Result<u32> {
        debug_assert!(n <= 32);
        let mut v = 0u32;
        for _ in 0..n {
            v = (v << 1) | u32::from(self.bit()?);
        }
        Ok(v)
    }

    /// Non-symmetric unsigned value in `0..n` (AV1 spec section 4.10.7).
    pub(crate) fn ns(&mut self, n: u32) -> Result<u32> {
        if n <= 1 {
            return Ok(0);
        }
        let w = 32 - n.leading_zeros();
        let m = (1u32 << w) - n;
        let v = self.bits(w - 1)?;
        if v < m {
            return Ok(v);
        }
        let extra = u32::from(self.bit()?);
        Ok((v << 1) - m + extra)
    }

    pub(crate) fn position(&self) -> usize {
        self.pos
    }
}

/// Writes bits most significant first into a growing byte vector.
#[derive(Debug, Default)]
pub(crate) struct BitWriter {
    pub(crate) data: Vec<u8>,
    pos: usize,
}

impl BitWriter {
    pub(crate) fn bit(&mut self, b: bool) {
        if self.pos % 8 == 0 {
            self.data.push(0);
        }
        if b {
            if let Some(last) = self.data.last_mut() {
                *last |= 1 << (7 - (self.pos % 8));
            }
        }
        self.pos += 1;
    }

    /// Writes the low `n` bits of `v`.
    pub(crate) fn bits(&mut self, v: u32, n: u32) {
        for i in (0..n).rev() {
            self.bit((v >> i) & 1 == 1);
        }
    }

    /// Non-symmetric unsigned value `v < n` (AV1 spec section 4.10.7).
    pub(crate) fn ns(&mut self, v: u32, n: u32) {
        if n <= 1 {
            return;
        }
        let w = 32 - n.leading_zeros();
        let m = (1u32 << w) - n;
        if v < m {
            self.bits(v, w - 1);
        } else {
            let x = v + m;
            self.bits(x >> 1, w - 1);
            self.bit(x & 1 == 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ns_round_trip() {
        for n in 1..40u32 {
            for v in 0..n {
                let mut w = BitWriter::default();
                w.ns(v, n);
                w.bits(0b101, 3);
                let mut r = BitReader::new(&w.data);
                assert_eq!(r.ns(n).unwrap(), v, "n={n} v={v}");
                assert_eq!(r.bits(3).unwrap(), 0b101);
            }
        }
    }

    #[test]
    fn past_end_is_error() {
        let mut r = BitReader::new(&[0xff]);
        assert_eq!(r.bits(8).unwrap(), 0xff);
        assert!(r.bit().is_err());
    }
}
