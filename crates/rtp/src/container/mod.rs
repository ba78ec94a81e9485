//! Media files for feeding and saving tracks: IVF (VP8, VP9, AV1 frames) and Ogg with Opus
//! (RFC 3533, RFC 7845).
//!
//! Readers pull from any [`std::io::Read`] and writers push to any [`std::io::Write`]; both
//! work a frame or packet at a time, so a clip can loop or a received track be saved as it
//! arrives. Format errors come back as [`std::io::ErrorKind::InvalidData`], a file cut
//! mid-frame as [`std::io::ErrorKind::UnexpectedEof`]; every length read from a file is
//! checked against a cap before anything is allocated.
//!
//! ```
//! use oxrtc_rtp::container::ivf::{IvfHeader, IvfReader, IvfWriter};
//!
//! let mut file = Vec::new();
//! let mut w = IvfWriter::new(&mut file, IvfHeader::new(*b"VP80", 320, 240, 30))?;
//! w.write_frame(0, &[0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a])?;
//! w.write_frame(1, &[0x31, 0x01, 0x00])?;
//! let mut r = IvfReader::new(&file[..])?;
//! assert_eq!(r.header().width, 320);
//! let first = r.next_frame()?.expect("a frame");
//! assert_eq!((first.timestamp, first.data.len()), (0, 6));
//! assert_eq!(r.next_frame()?.expect("a frame").timestamp, 1);
//! assert!(r.next_frame()?.is_none());
//! # Ok::<(), std::io::Error>(())
//! ```

pub mod ivf;
pub mod ogg;

use std::io;

/// An `InvalidData` I/O error with `what` went wrong.
pub(crate) fn invalid(what: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}

/// Reads exactly `buf.len()` bytes. `Ok(false)` when the input ended before the first byte
/// (a clean end), `UnexpectedEof` when it ended inside.
pub(crate) fn read_exact_or_end(r: &mut impl io::Read, buf: &mut [u8]) -> io::Result<bool> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) if filled == 0 => return Ok(false),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// Reads `len` bytes into a new buffer, growing it as data arrives (a lying length field
/// costs no more memory than the input really has).
pub(crate) fn read_vec(r: &mut impl io::Read, len: usize) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(len.min(64 * 1024));
    let n = io::Read::read_to_end(&mut io::Read::take(r, len as u64), &mut out)?;
    if n < len {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(out)
}
