//! Bounds-checked big-endian reading and length-prefixed writing.

use crate::Error;

/// A cursor over untrusted bytes; every read is checked.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8], what: &'static str) -> Self {
        Reader { buf, what }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub(crate) fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.buf)
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8], Error> {
        if n > self.buf.len() {
            return Err(Error::Truncated(self.what));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.bytes(N)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, Error> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn u24(&mut self) -> Result<u32, Error> {
        let [a, b, c] = self.array()?;
        Ok(u32::from_be_bytes([0, a, b, c]))
    }

    pub(crate) fn u48(&mut self) -> Result<u64, Error> {
        let [a, b, c, d, e, f] = self.array()?;
        Ok(u64::from_be_bytes([0, 0, a, b, c, d, e, f]))
    }

    /// `opaque x<0..2^8-1>`
    pub(crate) fn vec8(&mut self) -> Result<&'a [u8], Error> {
        let n = self.u8()? as usize;
        self.bytes(n)
    }

    /// `opaque x<0..2^16-1>`
    pub(crate) fn vec16(&mut self) -> Result<&'a [u8], Error> {
        let n = self.u16()? as usize;
        self.bytes(n)
    }

    /// `opaque x<0..2^24-1>`
    pub(crate) fn vec24(&mut self) -> Result<&'a [u8], Error> {
        let n = self.u24()? as usize;
        self.bytes(n)
    }

    /// Fails unless everything was consumed.
    pub(crate) fn finish(&self) -> Result<(), Error> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(Error::Malformed(self.what))
        }
    }
}

/// Big-endian writer over a growable buffer, with checked length prefixes.
pub(crate) struct Writer<'a> {
    pub(crate) buf: &'a mut Vec<u8>,
}

impl<'a> Writer<'a> {
    pub(crate) fn new(buf: &'a mut Vec<u8>) -> Self {
        Writer { buf }
    }

    pub(crate) fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    pub(crate) fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    pub(crate) fn u24(&mut self, v: u32) -> Result<(), Error> {
        if v > 0x00ff_ffff {
            return Err(Error::TooLong);
        }
        self.buf.extend_from_slice(&v.to_be_bytes()[1..]);
        Ok(())
    }

    pub(crate) fn u48(&mut self, v: u64) -> Result<(), Error> {
        if v > 0xffff_ffff_ffff {
            return Err(Error::TooLong);
        }
        self.buf.extend_from_slice(&v.to_be_bytes()[2..]);
        Ok(())
    }

    pub(crate) fn bytes(&mut self, v: &[u8]) {
        self.buf.extend_from_slice(v);
    }

    /// Writes a length prefix of `width` bytes (1, 2 or 3) around what `f` writes.
    pub(crate) fn prefixed(
        &mut self,
        width: usize,
        f: impl FnOnce(&mut Writer<'_>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let at = self.buf.len();
        self.buf.extend_from_slice(&[0u8; 3][..width]);
        f(&mut Writer::new(self.buf))?;
        let len = self.buf.len() - at - width;
        if len >= 1usize << (8 * width) {
            self.buf.truncate(at);
            return Err(Error::TooLong);
        }
        let be = (len as u32).to_be_bytes();
        if let Some(dst) = self.buf.get_mut(at..at + width) {
            dst.copy_from_slice(&be[4 - width..]);
        }
        Ok(())
    }

    pub(crate) fn vec8(&mut self, v: &[u8]) -> Result<(), Error> {
        self.prefixed(1, |w| {
            w.bytes(v);
            Ok(())
        })
    }

    pub(crate) fn vec16(&mut self, v: &[u8]) -> Result<(), Error> {
        self.prefixed(2, |w| {
            w.bytes(v);
            Ok(())
        })
    }

    pub(crate) fn vec24(&mut self, v: &[u8]) -> Result<(), Error> {
        self.prefixed(3, |w| {
            w.bytes(v);
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_checks_bounds() {
        let mut r = Reader::new(&[1, 2, 3], "t");
        assert_eq!(r.u16().unwrap(), 0x0102);
        assert_eq!(r.u16(), Err(Error::Truncated("t")));
        assert_eq!(r.u8().unwrap(), 3);
        assert!(r.is_empty());
        let mut r = Reader::new(&[5, 1], "t");
        assert!(r.vec8().is_err());
    }

    #[test]
    fn writer_prefix_overflow_is_an_error() {
        let mut buf = Vec::new();
        let mut w = Writer::new(&mut buf);
        assert_eq!(w.vec8(&[0u8; 256]), Err(Error::TooLong));
        assert!(buf.is_empty());
        let mut w = Writer::new(&mut buf);
        w.vec16(&[7u8; 3]).unwrap();
        assert_eq!(buf, [0, 3, 7, 7, 7]);
        let mut w = Writer::new(&mut buf);
        assert_eq!(w.u24(1 << 24), Err(Error::TooLong));
        assert_eq!(w.u48(1 << 48), Err(Error::TooLong));
    }
}
