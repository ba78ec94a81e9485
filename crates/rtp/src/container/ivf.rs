//! IVF, the simple frame container of libvpx (VP8, VP9) and AV1 tools: a 32-byte file header,
//! then each frame with a 12-byte header.
//!
//! ```text
//! file header (little-endian):           frame header:
//!  0  "DKIF"                               0  frame size (4)
//!  4  version 0 (2), header size 32 (2)    4  timestamp (8), in timebase units
//!  8  fourcc "VP80" / "VP90" / "AV01"     12  frame data
//! 12  width (2), height (2)
//! 16  timebase denominator (4), numerator (4)
//! 24  frame count (4), unused (4)
//! ```

use std::io::{self, Read, Write};

use super::{invalid, read_exact_or_end, read_vec};
use crate::codec::MAX_FRAME_LEN;

/// The 32-byte IVF file header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IvfHeader {
    /// Codec: `VP80`, `VP90` or `AV01`.
    pub fourcc: [u8; 4],
    /// Width in pixels.
    pub width: u16,
    /// Height in pixels.
    pub height: u16,
    /// Timebase denominator: timestamps count `numerator / denominator` seconds (e.g. 30
    /// and 1 for one tick per frame at 30 fps).
    pub timebase_denominator: u32,
    /// Timebase numerator.
    pub timebase_numerator: u32,
    /// Frames in the file, as its writer said (0 when unknown: do not rely on it).
    pub frame_count: u32,
}

impl IvfHeader {
    /// Length of the file header.
    pub const LEN: usize = 32;

    /// A header with a timebase of `1 / fps` seconds and no frame count.
    #[must_use]
    pub fn new(fourcc: [u8; 4], width: u16, height: u16, fps: u32) -> Self {
        IvfHeader {
            fourcc,
            width,
            height,
            timebase_denominator: fps,
            timebase_numerator: 1,
            frame_count: 0,
        }
    }

    /// Parses the file header.
    ///
    /// # Errors
    /// `InvalidData` without the `DKIF` signature, for a version other than 0, a header
    /// length under 32 or a zero timebase.
    pub fn parse(b: &[u8; Self::LEN]) -> io::Result<Self> {
        let u16_at = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        if &b[0..4] != b"DKIF" {
            return Err(invalid("not an IVF file"));
        }
        if u16_at(4) != 0 {
            return Err(invalid("unknown IVF version"));
        }
        if usize::from(u16_at(6)) < Self::LEN {
            return Err(invalid("IVF header too short"));
        }
        let h = IvfHeader {
            fourcc: [b[8], b[9], b[10], b[11]],
            width: u16_at(12),
            height: u16_at(14),
            timebase_denominator: u32_at(16),
            timebase_numerator: u32_at(20),
            frame_count: u32_at(24),
        };
        if h.timebase_denominator == 0 || h.timebase_numerator == 0 {
            return Err(invalid("IVF timebase of zero"));
        }
        Ok(h)
    }

    /// The 32 header bytes.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        let mut b = [0u8; Self::LEN];
        b[0..4].copy_from_slice(b"DKIF");
        b[6..8].copy_from_slice(&(Self::LEN as u16).to_le_bytes());
        b[8..12].copy_from_slice(&self.fourcc);
        b[12..14].copy_from_slice(&self.width.to_le_bytes());
        b[14..16].copy_from_slice(&self.height.to_le_bytes());
        b[16..20].copy_from_slice(&self.timebase_denominator.to_le_bytes());
        b[20..24].copy_from_slice(&self.timebase_numerator.to_le_bytes());
        b[24..28].copy_from_slice(&self.frame_count.to_le_bytes());
        b
    }

    /// Converts a timestamp in timebase units to microseconds.
    #[must_use]
    pub fn timestamp_us(&self, timestamp: u64) -> u64 {
        let num = u128::from(self.timebase_numerator);
        let den = u128::from(self.timebase_denominator.max(1));
        (u128::from(timestamp) * num * 1_000_000 / den).min(u128::from(u64::MAX)) as u64
    }
}

/// One frame of an IVF file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IvfFrame {
    /// Presentation time in timebase units.
    pub timestamp: u64,
    /// The encoded frame.
    pub data: Vec<u8>,
}

/// Reads an IVF file frame by frame.
#[derive(Debug)]
pub struct IvfReader<R: Read> {
    inner: R,
    header: IvfHeader,
}

impl<R: Read> IvfReader<R> {
    /// Reads and checks the file header (skipping any extra header bytes it announces).
    ///
    /// # Errors
    /// As [`IvfHeader::parse`]; I/O errors; `UnexpectedEof` for a file shorter than its
    /// header.
    pub fn new(mut inner: R) -> io::Result<Self> {
        let mut b = [0u8; IvfHeader::LEN];
        if !read_exact_or_end(&mut inner, &mut b)? {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let header = IvfHeader::parse(&b)?;
        let extra = usize::from(u16::from_le_bytes([b[6], b[7]])) - IvfHeader::LEN;
        if extra > 0 {
            read_vec(&mut inner, extra)?;
        }
        Ok(IvfReader { inner, header })
    }

    /// The file header.
    pub fn header(&self) -> &IvfHeader {
        &self.header
    }

    /// The next frame, or `None` at the end of the file.
    ///
    /// # Errors
    /// `InvalidData` for a frame larger than [`MAX_FRAME_LEN`]; `UnexpectedEof` for a file
    /// cut inside a frame; I/O errors.
    pub fn next_frame(&mut self) -> io::Result<Option<IvfFrame>> {
        let mut h = [0u8; 12];
        if !read_exact_or_end(&mut self.inner, &mut h)? {
            return Ok(None);
        }
        let size = u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as usize;
        if size > MAX_FRAME_LEN {
            return Err(invalid("IVF frame larger than the cap"));
        }
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&h[4..12]);
        let data = read_vec(&mut self.inner, size)?;
        Ok(Some(IvfFrame {
            timestamp: u64::from_le_bytes(ts),
            data,
        }))
    }

    /// The underlying reader.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

/// Writes an IVF file frame by frame (e.g. a received VP8 track, frame by frame).
#[derive(Debug)]
pub struct IvfWriter<W: Write> {
    inner: W,
    frames: u32,
}

impl<W: Write> IvfWriter<W> {
    /// Writes the file header. Its frame count is written as given (a streaming writer
    /// cannot go back; players read frames until the end).
    ///
    /// # Errors
    /// I/O errors.
    pub fn new(mut inner: W, header: IvfHeader) -> io::Result<Self> {
        inner.write_all(&header.to_bytes())?;
        Ok(IvfWriter { inner, frames: 0 })
    }

    /// Appends a frame with its timestamp in timebase units.
    ///
    /// # Errors
    /// `InvalidInput` for a frame over 4 GiB; I/O errors.
    pub fn write_frame(&mut self, timestamp: u64, data: &[u8]) -> io::Result<()> {
        let size = u32::try_from(data.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame too large"))?;
        let mut h = [0u8; 12];
        h[0..4].copy_from_slice(&size.to_le_bytes());
        h[4..12].copy_from_slice(&timestamp.to_le_bytes());
        self.inner.write_all(&h)?;
        self.inner.write_all(data)?;
        self.frames = self.frames.wrapping_add(1);
        Ok(())
    }

    /// Frames written.
    pub fn frames(&self) -> u32 {
        self.frames
    }

    /// Flushes and returns the underlying writer.
    ///
    /// # Errors
    /// I/O errors of the flush.
    pub fn finish(mut self) -> io::Result<W> {
        self.inner.flush()?;
        Ok(self.inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The first 44 bytes of interop/assets/video-vp8.ivf (ffmpeg's libvpx output).
    const FFMPEG_START: [u8; 44] = [
        0x44, 0x4b, 0x49, 0x46, 0x00, 0x00, 0x20, 0x00, 0x56, 0x50, 0x38, 0x30, 0x40, 0x01, 0xf0,
        0x00, 0x1e, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x96, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ];

    #[test]
    fn reads_ffmpeg_header() {
        let mut file = FFMPEG_START.to_vec();
        file.extend_from_slice(&[1, 2, 3, 4]);
        let mut r = IvfReader::new(&file[..]).unwrap();
        let h = *r.header();
        assert_eq!(&h.fourcc, b"VP80");
        assert_eq!((h.width, h.height), (320, 240));
        assert_eq!((h.timebase_denominator, h.timebase_numerator), (30, 1));
        assert_eq!(h.frame_count, 150);
        assert_eq!(h.timestamp_us(30), 1_000_000);
        let f = r.next_frame().unwrap().unwrap();
        assert_eq!((f.timestamp, f.data), (0, vec![1, 2, 3, 4]));
        assert!(r.next_frame().unwrap().is_none());
        assert_eq!(IvfHeader::parse(&h.to_bytes()).unwrap(), h);
    }

    #[test]
    fn bad_and_truncated_files() {
        let kind = |b: &[u8]| IvfReader::new(b).unwrap_err().kind();
        assert_eq!(kind(&FFMPEG_START[..10]), io::ErrorKind::UnexpectedEof);
        let mut bad = FFMPEG_START;
        bad[0] = b'X';
        assert_eq!(kind(&bad), io::ErrorKind::InvalidData);
        let mut zero = FFMPEG_START;
        zero[16..24].fill(0);
        assert_eq!(kind(&zero), io::ErrorKind::InvalidData);
        // A frame cut short, and one claiming 4 GiB.
        let mut cut = FFMPEG_START.to_vec();
        cut.extend_from_slice(&[1, 2]);
        let mut r = IvfReader::new(&cut[..]).unwrap();
        assert_eq!(
            r.next_frame().unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
        let mut huge = FFMPEG_START.to_vec();
        huge[32..36].copy_from_slice(&u32::MAX.to_le_bytes());
        let mut r = IvfReader::new(&huge[..]).unwrap();
        assert_eq!(
            r.next_frame().unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
        let mut big = FFMPEG_START.to_vec();
        big[32..36].copy_from_slice(&1_000_000u32.to_le_bytes());
        let mut r = IvfReader::new(&big[..]).unwrap();
        assert_eq!(
            r.next_frame().unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
    }

    #[test]
    fn reads_the_interop_clip() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../interop/assets/video-vp8.ivf"
        );
        let Ok(file) = std::fs::read(path) else {
            return; // the crate alone, outside the workspace
        };
        let mut r = IvfReader::new(&file[..]).unwrap();
        let mut n = 0u32;
        let mut keys = 0;
        while let Some(f) = r.next_frame().unwrap() {
            assert_eq!(f.timestamp, u64::from(n));
            keys += usize::from(f.data[0] & 1 == 0);
            n += 1;
        }
        assert_eq!(n, r.header().frame_count);
        assert_eq!(keys, 5, "a key frame every second for 5 s");
    }

    proptest! {
        #[test]
        fn round_trip(
            w in any::<u16>(),
            h in any::<u16>(),
            fps in 1u32..120,
            frames in proptest::collection::vec((any::<u64>(), proptest::collection::vec(any::<u8>(), 0..64)), 0..8),
        ) {
            let mut file = Vec::new();
            let header = IvfHeader::new(*b"VP90", w, h, fps);
            let mut wr = IvfWriter::new(&mut file, header).unwrap();
            for (ts, d) in &frames {
                wr.write_frame(*ts, d).unwrap();
            }
            prop_assert_eq!(wr.frames() as usize, frames.len());
            wr.finish().unwrap();
            let mut r = IvfReader::new(&file[..]).unwrap();
            prop_assert_eq!(*r.header(), header);
            for (ts, d) in &frames {
                let f = r.next_frame().unwrap().unwrap();
                prop_assert_eq!(f.timestamp, *ts);
                prop_assert_eq!(&f.data, d);
            }
            prop_assert!(r.next_frame().unwrap().is_none());
        }
    }
}
