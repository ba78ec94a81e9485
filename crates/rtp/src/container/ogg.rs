//! Ogg (RFC 3533) pages and packets, and Opus in Ogg (RFC 7845): the `OpusHead` and
//! `OpusTags` headers, then one Opus packet after another.
//!
//! ```text
//! page header (little-endian):
//!  0  "OggS", version 0 (1), header type (1): 1 continued, 2 first page, 4 last page
//!  6  granule position (8): for Opus, 48 kHz samples at the end of the page's last packet
//! 14  serial number (4), page sequence number (4), CRC-32 (4), segment count (1)
//! 27  segment table: lacing values, a packet ends at the first value under 255
//! ```

use std::io::{self, Read, Write};

use super::{invalid, read_exact_or_end, read_vec};

/// Largest packet [`OggReader`] assembles (Opus packets are at most a few KiB; this also
/// covers large comment headers).
pub const MAX_PACKET_LEN: usize = 1 << 20;

/// Header type flag: the page's first packet continues one from the previous page.
pub const CONTINUED: u8 = 0x01;
/// Header type flag: first page of the stream.
pub const BEGINNING_OF_STREAM: u8 = 0x02;
/// Header type flag: last page of the stream.
pub const END_OF_STREAM: u8 = 0x04;

/// CRC-32 of Ogg (RFC 3533 §6): polynomial 0x04c11db7, not reflected, initial value 0, no
/// final XOR (not the CRC-32 of zip and Ethernet).
fn crc32(data: &[u8], mut crc: u32) -> u32 {
    const TABLE: [u32; 256] = {
        let mut t = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut r = (i as u32) << 24;
            let mut j = 0;
            while j < 8 {
                r = if r & 0x8000_0000 != 0 {
                    (r << 1) ^ 0x04c1_1db7
                } else {
                    r << 1
                };
                j += 1;
            }
            t[i] = r;
            i += 1;
        }
        t
    };
    for b in data {
        crc = (crc << 8) ^ TABLE[(((crc >> 24) as u8) ^ b) as usize];
    }
    crc
}

/// One Ogg page.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OggPage {
    /// [`CONTINUED`], [`BEGINNING_OF_STREAM`], [`END_OF_STREAM`] flags.
    pub header_type: u8,
    /// Codec-defined position at the end of the last packet completed on this page
    /// (`u64::MAX`: no packet ends here).
    pub granule_position: u64,
    /// The logical stream.
    pub serial: u32,
    /// Page number within the stream.
    pub sequence: u32,
    /// Lacing values (at most 255 of them).
    pub segments: Vec<u8>,
    /// The page body: the sum of the lacing values.
    pub data: Vec<u8>,
}

impl OggPage {
    /// Length of the fixed part of the header.
    pub const HEADER_LEN: usize = 27;

    /// Reads the next page, checking its CRC; `None` at the end of the input.
    ///
    /// # Errors
    /// `InvalidData` without the capture pattern, for a version other than 0 or a CRC
    /// mismatch; `UnexpectedEof` inside a page; I/O errors.
    pub fn read(r: &mut impl Read) -> io::Result<Option<OggPage>> {
        let mut h = [0u8; Self::HEADER_LEN];
        if !read_exact_or_end(r, &mut h)? {
            return Ok(None);
        }
        if &h[0..4] != b"OggS" {
            return Err(invalid("no Ogg capture pattern"));
        }
        if h[4] != 0 {
            return Err(invalid("unknown Ogg version"));
        }
        let u32_at = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        let mut g = [0u8; 8];
        g.copy_from_slice(&h[6..14]);
        let segments = read_vec(r, usize::from(h[26]))?;
        let len: usize = segments.iter().map(|&s| usize::from(s)).sum();
        let data = read_vec(r, len)?;
        let page = OggPage {
            header_type: h[5],
            granule_position: u64::from_le_bytes(g),
            serial: u32_at(14),
            sequence: u32_at(18),
            segments,
            data,
        };
        let mut zeroed = h;
        zeroed[22..26].fill(0);
        let mut crc = crc32(&zeroed, 0);
        crc = crc32(&page.segments, crc);
        crc = crc32(&page.data, crc);
        if crc != u32_at(22) {
            return Err(invalid("Ogg page CRC mismatch"));
        }
        Ok(Some(page))
    }

    /// Appends the page with its CRC to `out`.
    ///
    /// # Errors
    /// `InvalidInput` for more than 255 lacing values or a body that does not match them.
    pub fn write(&self, out: &mut Vec<u8>) -> io::Result<()> {
        let n = u8::try_from(self.segments.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "over 255 segments"))?;
        let len: usize = self.segments.iter().map(|&s| usize::from(s)).sum();
        if len != self.data.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "page body does not match its lacing",
            ));
        }
        let start = out.len();
        out.extend_from_slice(b"OggS");
        out.push(0);
        out.push(self.header_type);
        out.extend_from_slice(&self.granule_position.to_le_bytes());
        out.extend_from_slice(&self.serial.to_le_bytes());
        out.extend_from_slice(&self.sequence.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        out.push(n);
        out.extend_from_slice(&self.segments);
        out.extend_from_slice(&self.data);
        let crc = crc32(&out[start..], 0);
        out[start + 22..start + 26].copy_from_slice(&crc.to_le_bytes());
        Ok(())
    }

    /// A page holding exactly `packet` (which must fit one page: under 255 * 255 bytes).
    ///
    /// # Errors
    /// `InvalidInput` for a packet too large for one page.
    pub fn with_packet(
        header_type: u8,
        granule_position: u64,
        serial: u32,
        sequence: u32,
        packet: &[u8],
    ) -> io::Result<Self> {
        let full = packet.len() / 255;
        if full >= 255 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "packet too large for one Ogg page",
            ));
        }
        let mut segments = vec![255u8; full];
        segments.push((packet.len() % 255) as u8);
        Ok(OggPage {
            header_type,
            granule_position,
            serial,
            sequence,
            segments,
            data: packet.to_vec(),
        })
    }
}

/// One packet read from an Ogg stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OggPacket {
    /// The packet.
    pub data: Vec<u8>,
    /// The granule position of the page it ended on, when it was that page's last packet.
    pub granule_position: Option<u64>,
    /// The logical stream it belongs to.
    pub serial: u32,
}

/// Reads the packets of an Ogg stream in order (pages of one logical stream; pages of
/// other streams are skipped once the first stream is known).
#[derive(Debug)]
pub struct OggReader<R: Read> {
    inner: R,
    serial: Option<u32>,
    /// Packets completed and not yet returned, with their page's granule position on the
    /// last one.
    ready: std::collections::VecDeque<OggPacket>,
    partial: Vec<u8>,
}

impl<R: Read> OggReader<R> {
    /// A reader at the start of a stream.
    pub fn new(inner: R) -> Self {
        OggReader {
            inner,
            serial: None,
            ready: std::collections::VecDeque::new(),
            partial: Vec::new(),
        }
    }

    /// The next packet, or `None` at the end of the input.
    ///
    /// # Errors
    /// As [`OggPage::read`]; `InvalidData` for a packet over [`MAX_PACKET_LEN`].
    pub fn next_packet(&mut self) -> io::Result<Option<OggPacket>> {
        loop {
            if let Some(p) = self.ready.pop_front() {
                return Ok(Some(p));
            }
            let Some(page) = OggPage::read(&mut self.inner)? else {
                return Ok(None);
            };
            let serial = *self.serial.get_or_insert(page.serial);
            if page.serial != serial {
                continue;
            }
            if page.header_type & CONTINUED == 0 {
                self.partial.clear(); // a continuation that never came
            }
            let mut pos = 0;
            for &lace in &page.segments {
                let end = pos + usize::from(lace);
                let chunk = page.data.get(pos..end).unwrap_or_default();
                pos = end;
                if self.partial.len() + chunk.len() > MAX_PACKET_LEN {
                    self.partial.clear();
                    return Err(invalid("Ogg packet larger than the cap"));
                }
                self.partial.extend_from_slice(chunk);
                if lace < 255 {
                    self.ready.push_back(OggPacket {
                        data: std::mem::take(&mut self.partial),
                        granule_position: None,
                        serial,
                    });
                }
            }
            if page.granule_position != u64::MAX {
                if let Some(last) = self.ready.back_mut() {
                    last.granule_position = Some(page.granule_position);
                }
            }
        }
    }

    /// The underlying reader.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

/// The `OpusHead` identification header (RFC 7845 §5.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OpusHead {
    /// Output channels, 1 or more.
    pub channels: u8,
    /// Samples (at 48 kHz) to drop at the start of decoding.
    pub pre_skip: u16,
    /// The original input's sample rate (informational).
    pub input_sample_rate: u32,
    /// Gain in Q7.8 dB.
    pub output_gain: i16,
    /// Channel mapping family (0: mono/stereo) and, for others, the mapping table bytes.
    pub mapping_family: u8,
    /// The channel mapping table after the family byte, as read.
    pub mapping_table: Vec<u8>,
}

impl OpusHead {
    /// A mono or stereo header (mapping family 0) with libopus's usual pre-skip.
    #[must_use]
    pub fn new(channels: u8) -> Self {
        OpusHead {
            channels,
            pre_skip: 312,
            input_sample_rate: 48_000,
            output_gain: 0,
            mapping_family: 0,
            mapping_table: Vec::new(),
        }
    }

    /// Parses the header packet.
    ///
    /// # Errors
    /// `InvalidData` without the `OpusHead` magic, for a major version other than 0, no
    /// channels, or a truncated packet.
    pub fn parse(p: &[u8]) -> io::Result<Self> {
        if p.len() < 19 || &p[..8] != b"OpusHead" {
            return Err(invalid("not an OpusHead packet"));
        }
        if p[8] >> 4 != 0 {
            return Err(invalid("unknown OpusHead version"));
        }
        if p[9] == 0 {
            return Err(invalid("OpusHead with no channels"));
        }
        Ok(OpusHead {
            channels: p[9],
            pre_skip: u16::from_le_bytes([p[10], p[11]]),
            input_sample_rate: u32::from_le_bytes([p[12], p[13], p[14], p[15]]),
            output_gain: i16::from_le_bytes([p[16], p[17]]),
            mapping_family: p[18],
            mapping_table: p[19..].to_vec(),
        })
    }

    /// The header packet.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut p = b"OpusHead".to_vec();
        p.push(1);
        p.push(self.channels);
        p.extend_from_slice(&self.pre_skip.to_le_bytes());
        p.extend_from_slice(&self.input_sample_rate.to_le_bytes());
        p.extend_from_slice(&self.output_gain.to_le_bytes());
        p.push(self.mapping_family);
        p.extend_from_slice(&self.mapping_table);
        p
    }
}

/// Samples (at 48 kHz) an Opus packet decodes to, from its TOC byte and frame count (RFC
/// 6716 §3.1); `None` for an empty or malformed packet.
#[must_use]
pub fn opus_packet_samples(packet: &[u8]) -> Option<u32> {
    let toc = *packet.first()?;
    let config = toc >> 3;
    // Frame size in 48 kHz samples per configuration (RFC 6716 §3.1 table 2).
    let frame = match config {
        0..=11 => [480, 960, 1920, 2880][usize::from(config % 4)],
        12..=15 => [480, 960][usize::from(config % 2)],
        _ => [120, 240, 480, 960][usize::from(config % 4)],
    };
    let frames = match toc & 0x03 {
        0 => 1,
        1 | 2 => 2,
        _ => u32::from(*packet.get(1)? & 0x3F),
    };
    let samples = frame * frames;
    // At most 120 ms per packet (§3.2.5).
    (frames > 0 && samples <= 5760).then_some(samples)
}

/// Reads the Opus packets of an Ogg Opus file (RFC 7845): checks `OpusHead`, skips
/// `OpusTags`, then returns the audio packets in order.
#[derive(Debug)]
pub struct OggOpusReader<R: Read> {
    ogg: OggReader<R>,
    head: OpusHead,
}

impl<R: Read> OggOpusReader<R> {
    /// Reads the two header packets.
    ///
    /// # Errors
    /// As [`OpusHead::parse`] and [`OggReader::next_packet`]; `InvalidData` when the
    /// headers are missing.
    pub fn new(inner: R) -> io::Result<Self> {
        let mut ogg = OggReader::new(inner);
        let head = ogg
            .next_packet()?
            .ok_or_else(|| invalid("no OpusHead packet"))?;
        let head = OpusHead::parse(&head.data)?;
        let tags = ogg
            .next_packet()?
            .ok_or_else(|| invalid("no OpusTags packet"))?;
        if !tags.data.starts_with(b"OpusTags") {
            return Err(invalid("no OpusTags packet"));
        }
        Ok(OggOpusReader { ogg, head })
    }

    /// The identification header.
    pub fn head(&self) -> &OpusHead {
        &self.head
    }

    /// The next Opus packet, or `None` at the end.
    ///
    /// # Errors
    /// As [`OggReader::next_packet`].
    pub fn next_packet(&mut self) -> io::Result<Option<Vec<u8>>> {
        Ok(self.ogg.next_packet()?.map(|p| p.data))
    }

    /// The underlying reader.
    pub fn into_inner(self) -> R {
        self.ogg.into_inner()
    }
}

/// Writes Opus packets as an Ogg Opus file (RFC 7845): the header pages, then one page per
/// packet with the granule position counting samples.
#[derive(Debug)]
pub struct OggOpusWriter<W: Write> {
    inner: W,
    serial: u32,
    sequence: u32,
    granule: u64,
    buf: Vec<u8>,
}

impl<W: Write> OggOpusWriter<W> {
    /// Writes the `OpusHead` and `OpusTags` pages for stream `serial`.
    ///
    /// # Errors
    /// I/O errors.
    pub fn new(inner: W, serial: u32, head: &OpusHead) -> io::Result<Self> {
        let mut w = OggOpusWriter {
            inner,
            serial,
            sequence: 0,
            granule: 0,
            buf: Vec::new(),
        };
        w.page(BEGINNING_OF_STREAM, 0, &head.to_bytes())?;
        let mut tags = b"OpusTags".to_vec();
        let vendor = b"oxrtc";
        tags.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
        tags.extend_from_slice(vendor);
        tags.extend_from_slice(&0u32.to_le_bytes());
        w.page(0, 0, &tags)?;
        Ok(w)
    }

    fn page(&mut self, header_type: u8, granule: u64, packet: &[u8]) -> io::Result<()> {
        let page = OggPage::with_packet(header_type, granule, self.serial, self.sequence, packet)?;
        self.sequence = self.sequence.wrapping_add(1);
        self.buf.clear();
        page.write(&mut self.buf)?;
        self.inner.write_all(&self.buf)
    }

    /// Appends an Opus packet; the granule position advances by the samples it decodes to.
    ///
    /// # Errors
    /// `InvalidInput` for an empty or malformed packet; I/O errors.
    pub fn write_packet(&mut self, packet: &[u8]) -> io::Result<()> {
        let samples = opus_packet_samples(packet)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not an Opus packet"))?;
        self.granule += u64::from(samples);
        self.page(0, self.granule, packet)
    }

    /// Writes an empty end-of-stream page, flushes and returns the writer.
    ///
    /// # Errors
    /// I/O errors.
    pub fn finish(mut self) -> io::Result<W> {
        let page = OggPage {
            header_type: END_OF_STREAM,
            granule_position: self.granule,
            serial: self.serial,
            sequence: self.sequence,
            segments: Vec::new(),
            data: Vec::new(),
        };
        self.buf.clear();
        page.write(&mut self.buf)?;
        self.inner.write_all(&self.buf)?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn crc_of_a_known_page() {
        // The first page of interop/assets/audio-opus.ogg (ffmpeg): OpusHead, stereo.
        let page: [u8; 47] = [
            0x4f, 0x67, 0x67, 0x53, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1c, 0xd5, 0xc5, 0xf7, 0x01, 0x13,
            0x4f, 0x70, 0x75, 0x73, 0x48, 0x65, 0x61, 0x64, 0x01, 0x02, 0x38, 0x01, 0x80, 0xbb,
            0x00, 0x00, 0x00, 0x00, 0x00,
        ];
        let p = OggPage::read(&mut &page[..]).unwrap().unwrap();
        assert_eq!(p.header_type, BEGINNING_OF_STREAM);
        let head = OpusHead::parse(&p.data).unwrap();
        assert_eq!((head.channels, head.pre_skip), (2, 312));
        assert_eq!(head.input_sample_rate, 48_000);
        let mut out = Vec::new();
        p.write(&mut out).unwrap();
        assert_eq!(out, page);
        let mut bad = page;
        bad[30] ^= 1;
        assert_eq!(
            OggPage::read(&mut &bad[..]).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
        assert_eq!(
            OggPage::read(&mut &page[..30]).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
    }

    #[test]
    fn opus_samples_from_toc() {
        assert_eq!(opus_packet_samples(&[0xF8, 0]), Some(960)); // CELT FB 20 ms
        assert_eq!(opus_packet_samples(&[0x08]), Some(960)); // SILK NB 20 ms
        assert_eq!(opus_packet_samples(&[0x1B, 0x03]), None); // 3 x 60 ms is too long
        assert_eq!(opus_packet_samples(&[0xF9]), Some(1920)); // two frames
        assert_eq!(opus_packet_samples(&[0xFB, 0x03]), Some(2880)); // code 3, three frames
        assert_eq!(opus_packet_samples(&[0xFB]), None);
        assert_eq!(opus_packet_samples(&[]), None);
    }

    #[test]
    fn packets_spanning_pages_and_several_per_page() {
        let big: Vec<u8> = (0..70_000u32).map(|i| i as u8).collect();
        let small = [1u8, 2, 3];
        // Page 1: `small`, then the first 255 * 255 bytes of `big` (continued).
        let mut file = Vec::new();
        let mut seg = vec![3u8];
        seg.extend(std::iter::repeat_n(255u8, 254));
        let mut data = small.to_vec();
        data.extend_from_slice(&big[..254 * 255]);
        OggPage {
            header_type: BEGINNING_OF_STREAM,
            granule_position: u64::MAX,
            serial: 7,
            sequence: 0,
            segments: seg,
            data,
        }
        .write(&mut file)
        .unwrap();
        // A page of another stream, skipped.
        OggPage::with_packet(0, 0, 8, 0, b"other")
            .unwrap()
            .write(&mut file)
            .unwrap();
        let rest = &big[254 * 255..];
        let mut seg = vec![255u8; rest.len() / 255];
        seg.push((rest.len() % 255) as u8);
        OggPage {
            header_type: CONTINUED,
            granule_position: 42,
            serial: 7,
            sequence: 1,
            segments: seg,
            data: rest.to_vec(),
        }
        .write(&mut file)
        .unwrap();
        let mut r = OggReader::new(&file[..]);
        let a = r.next_packet().unwrap().unwrap();
        assert_eq!((a.data.as_slice(), a.granule_position), (&small[..], None));
        let b = r.next_packet().unwrap().unwrap();
        assert_eq!(b.data, big);
        assert_eq!(b.granule_position, Some(42));
        assert!(r.next_packet().unwrap().is_none());
    }

    #[test]
    fn reads_the_interop_clip() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../interop/assets/audio-opus.ogg"
        );
        let Ok(file) = std::fs::read(path) else {
            return;
        };
        let mut r = OggOpusReader::new(&file[..]).unwrap();
        assert_eq!(r.head().channels, 2);
        let mut n = 0;
        let mut samples = 0;
        while let Some(p) = r.next_packet().unwrap() {
            samples += opus_packet_samples(&p).unwrap();
            n += 1;
        }
        // 5 s of 20 ms frames.
        assert!((249..=252).contains(&n), "{n} packets");
        assert_eq!(samples, n * 960);
    }

    proptest! {
        #[test]
        fn opus_round_trip(packets in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..600), 0..6)) {
            let packets: Vec<Vec<u8>> = packets
                .into_iter()
                .map(|mut p| { p[0] = 0xF8; p }) // a valid 20 ms TOC
                .collect();
            let mut w = OggOpusWriter::new(Vec::new(), 99, &OpusHead::new(2)).unwrap();
            for p in &packets {
                w.write_packet(p).unwrap();
            }
            let file = w.finish().unwrap();
            let mut r = OggOpusReader::new(&file[..]).unwrap();
            prop_assert_eq!(r.head(), &OpusHead::new(2));
            for p in &packets {
                prop_assert_eq!(&r.next_packet().unwrap().unwrap(), p);
            }
            prop_assert!(r.next_packet().unwrap().is_none());
        }

        #[test]
        fn page_round_trip(
            header_type in 0u8..8,
            granule: u64,
            serial: u32,
            sequence: u32,
            packet in proptest::collection::vec(any::<u8>(), 0..2000),
        ) {
            let page = OggPage::with_packet(header_type, granule, serial, sequence, &packet).unwrap();
            let mut out = Vec::new();
            page.write(&mut out).unwrap();
            prop_assert_eq!(OggPage::read(&mut &out[..]).unwrap().unwrap(), page);
        }
    }
}
