//! VP8 (RFC 7741): the payload descriptor with picture id, TL0PICIDX, TID/Y and KEYIDX.

use super::{append, even_chunks, Depacketizer, Packetizer};
use crate::cursor::Cursor;
use crate::error::{Error, Result};

/// A picture id, 7 or 15 bits as sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PictureId {
    /// M = 0: 7 bits.
    Short(u8),
    /// M = 1: 15 bits.
    Long(u16),
}

impl PictureId {
    /// The value.
    #[must_use]
    pub fn value(self) -> u16 {
        match self {
            PictureId::Short(v) => u16::from(v),
            PictureId::Long(v) => v,
        }
    }

    pub(crate) fn parse(c: &mut Cursor<'_>) -> Result<Self> {
        let b = c.u8()?;
        if b & 0x80 == 0 {
            Ok(PictureId::Short(b))
        } else {
            Ok(PictureId::Long(
                (u16::from(b & 0x7F) << 8) | u16::from(c.u8()?),
            ))
        }
    }

    pub(crate) fn write(self, buf: &mut Vec<u8>) -> Result<()> {
        match self {
            PictureId::Short(v) if v < 0x80 => buf.push(v),
            PictureId::Long(v) if v < 0x8000 => buf.extend_from_slice(&(v | 0x8000).to_be_bytes()),
            _ => return Err(Error::ValueOutOfRange("picture id")),
        }
        Ok(())
    }

    pub(crate) fn len(self) -> usize {
        match self {
            PictureId::Short(_) => 1,
            PictureId::Long(_) => 2,
        }
    }
}

/// The VP8 payload descriptor (RFC 7741 section 4.2).
///
/// ```text
///       0 1 2 3 4 5 6 7
///      +-+-+-+-+-+-+-+-+
///      |X|R|N|S|R| PID | (REQUIRED)
///      +-+-+-+-+-+-+-+-+
/// X:   |I|L|T|K| RSV   | (OPTIONAL)
///      +-+-+-+-+-+-+-+-+
/// I:   |M| PictureID   | (OPTIONAL)
///      +-+-+-+-+-+-+-+-+
///      |   PictureID   | (if M = 1)
///      +-+-+-+-+-+-+-+-+
/// L:   |   TL0PICIDX   | (OPTIONAL)
///      +-+-+-+-+-+-+-+-+
/// T/K: |TID|Y| KEYIDX  | (OPTIONAL)
///      +-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Vp8Descriptor {
    /// N: the frame can be discarded without affecting others.
    pub non_reference: bool,
    /// S: the payload starts a partition.
    pub start_of_partition: bool,
    /// PID: partition index, 0..=7.
    pub partition_index: u8,
    /// I: picture id.
    pub picture_id: Option<PictureId>,
    /// L: temporal level zero index.
    pub tl0_pic_idx: Option<u8>,
    /// T: temporal layer index (0..=3) and Y, the layer sync bit.
    pub temporal: Option<(u8, bool)>,
    /// K: temporal key frame index, 0..=31.
    pub key_idx: Option<u8>,
}

impl Vp8Descriptor {
    /// Parses the descriptor at the start of `payload`, returning it and its length.
    ///
    /// # Errors
    /// [`Error::Truncated`] when an announced field is missing.
    pub fn parse(payload: &[u8]) -> Result<(Self, usize)> {
        let mut c = Cursor::new(payload, "vp8 descriptor");
        let b0 = c.u8()?;
        let mut d = Vp8Descriptor {
            non_reference: b0 & 0x20 != 0,
            start_of_partition: b0 & 0x10 != 0,
            partition_index: b0 & 0x07,
            ..Default::default()
        };
        if b0 & 0x80 != 0 {
            let x = c.u8()?;
            if x & 0x80 != 0 {
                d.picture_id = Some(PictureId::parse(&mut c)?);
            }
            if x & 0x40 != 0 {
                d.tl0_pic_idx = Some(c.u8()?);
            }
            if x & 0x30 != 0 {
                let tk = c.u8()?;
                if x & 0x20 != 0 {
                    d.temporal = Some((tk >> 6, tk & 0x20 != 0));
                }
                if x & 0x10 != 0 {
                    d.key_idx = Some(tk & 0x1F);
                }
            }
        }
        Ok((d, c.position()))
    }

    fn extended(&self) -> bool {
        self.picture_id.is_some()
            || self.tl0_pic_idx.is_some()
            || self.temporal.is_some()
            || self.key_idx.is_some()
    }

    /// Octets on the wire.
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        1 + usize::from(self.extended())
            + self.picture_id.map_or(0, PictureId::len)
            + usize::from(self.tl0_pic_idx.is_some())
            + usize::from(self.temporal.is_some() || self.key_idx.is_some())
    }

    /// Appends the descriptor.
    ///
    /// # Errors
    /// [`Error::ValueOutOfRange`] when a field does not fit.
    pub fn write(&self, buf: &mut Vec<u8>) -> Result<()> {
        if self.partition_index > 7
            || self.key_idx.is_some_and(|k| k > 31)
            || self.temporal.is_some_and(|(t, _)| t > 3)
        {
            return Err(Error::ValueOutOfRange("vp8 descriptor"));
        }
        let x = self.extended();
        buf.push(
            (u8::from(x) << 7)
                | (u8::from(self.non_reference) << 5)
                | (u8::from(self.start_of_partition) << 4)
                | self.partition_index,
        );
        if x {
            buf.push(
                (u8::from(self.picture_id.is_some()) << 7)
                    | (u8::from(self.tl0_pic_idx.is_some()) << 6)
                    | (u8::from(self.temporal.is_some()) << 5)
                    | (u8::from(self.key_idx.is_some()) << 4),
            );
            if let Some(p) = self.picture_id {
                p.write(buf)?;
            }
            if let Some(t) = self.tl0_pic_idx {
                buf.push(t);
            }
            if self.temporal.is_some() || self.key_idx.is_some() {
                let (tid, y) = self.temporal.unwrap_or((0, false));
                buf.push((tid << 6) | (u8::from(y) << 5) | self.key_idx.unwrap_or(0));
            }
        }
        Ok(())
    }
}

/// Packetizes VP8 frames with a 15-bit picture id that increments per frame.
#[derive(Debug, Clone, Default)]
pub struct Vp8Packetizer {
    /// The picture id of the next frame (15 bits, wrapping).
    pub picture_id: u16,
}

impl Packetizer for Vp8Packetizer {
    fn packetize(&mut self, mtu: usize, frame: &[u8]) -> Result<Vec<Vec<u8>>> {
        if frame.is_empty() {
            return Err(Error::Malformed("empty vp8 frame"));
        }
        let mut d = Vp8Descriptor {
            start_of_partition: true,
            picture_id: Some(PictureId::Long(self.picture_id & 0x7FFF)),
            ..Default::default()
        };
        let hdr = d.encoded_len();
        if mtu <= hdr {
            return Err(Error::MtuTooSmall);
        }
        self.picture_id = (self.picture_id + 1) & 0x7FFF;
        let mut out = Vec::new();
        for chunk in even_chunks(frame, mtu - hdr) {
            let mut p = Vec::with_capacity(hdr + chunk.len());
            d.write(&mut p)?;
            p.extend_from_slice(chunk);
            out.push(p);
            d.start_of_partition = false;
        }
        Ok(out)
    }
}

/// Strips VP8 payload descriptors.
#[derive(Debug, Clone, Copy, Default)]
pub struct Vp8Depacketizer;

impl Depacketizer for Vp8Depacketizer {
    fn depacketize(&mut self, payload: &[u8], frame: &mut Vec<u8>) -> Result<()> {
        let (_, len) = Vp8Descriptor::parse(payload)?;
        let data = &payload[len..];
        if data.is_empty() {
            return Err(Error::Malformed("vp8 payload without data"));
        }
        append(frame, data)
    }

    /// S = 1 and PID = 0 (RFC 7741 section 4.4).
    fn is_frame_start(&self, payload: &[u8]) -> bool {
        Vp8Descriptor::parse(payload)
            .is_ok_and(|(d, _)| d.start_of_partition && d.partition_index == 0)
    }

    /// The first partition's frame tag has P = 0 (RFC 7741 section 4.3).
    fn is_keyframe(&self, payload: &[u8]) -> bool {
        match Vp8Descriptor::parse(payload) {
            Ok((d, len)) if d.start_of_partition && d.partition_index == 0 => {
                payload.get(len).is_some_and(|b| b & 0x01 == 0)
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::tests::round_trip;
    use proptest::prelude::*;

    #[test]
    fn rfc_fields() {
        // X=1 S=1 PID=0; I L T K; M=1 picture id 0x1234; TL0PICIDX 7; TID=2 Y=1 KEYIDX=5.
        let p = [
            0x90, 0xF0, 0x92, 0x34, 0x07, 0xA5, 0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a,
        ];
        let (d, len) = Vp8Descriptor::parse(&p).unwrap();
        assert_eq!(len, 6);
        assert_eq!(d.picture_id, Some(PictureId::Long(0x1234)));
        assert_eq!(d.tl0_pic_idx, Some(7));
        assert_eq!(d.temporal, Some((2, true)));
        assert_eq!(d.key_idx, Some(5));
        assert!(Vp8Depacketizer.is_keyframe(&p));
        assert!(Vp8Depacketizer.is_frame_start(&p));
        let mut out = Vec::new();
        d.write(&mut out).unwrap();
        assert_eq!(out, p[..6]);
        for n in 1..6 {
            assert!(Vp8Descriptor::parse(&p[..n]).is_err());
        }
    }

    #[test]
    fn chrome_style_interframe() {
        // Chromium: X=1 S=1, I=1 with M, picture id 0x0d0e, frame tag with P=1.
        let p = [0x90, 0x80, 0x8d, 0x0e, 0x31, 0x02, 0x00];
        assert!(!Vp8Depacketizer.is_keyframe(&p));
        assert!(Vp8Depacketizer.is_frame_start(&p));
    }

    fn arb_descriptor() -> impl Strategy<Value = Vp8Descriptor> {
        (
            any::<bool>(),
            any::<bool>(),
            0u8..8,
            proptest::option::of(prop_oneof![
                (0u8..0x80).prop_map(PictureId::Short),
                (0u16..0x8000).prop_map(PictureId::Long)
            ]),
            proptest::option::of(any::<u8>()),
            proptest::option::of((0u8..4, any::<bool>())),
            proptest::option::of(0u8..32),
        )
            .prop_map(
                |(n, s, pid, picture_id, tl0, temporal, key_idx)| Vp8Descriptor {
                    non_reference: n,
                    start_of_partition: s,
                    partition_index: pid,
                    picture_id,
                    tl0_pic_idx: tl0,
                    temporal,
                    key_idx,
                },
            )
    }

    proptest! {
        #[test]
        fn descriptor_round_trip(d in arb_descriptor()) {
            let mut b = Vec::new();
            d.write(&mut b).unwrap();
            prop_assert_eq!(b.len(), d.encoded_len());
            prop_assert_eq!(Vp8Descriptor::parse(&b).unwrap(), (d, b.len()));
        }

        #[test]
        fn frame_round_trip(frame in proptest::collection::vec(any::<u8>(), 1..5000), key in any::<bool>()) {
            let mut frame = frame;
            frame[0] = (frame[0] & 0xFE) | u8::from(!key);
            for mtu in [7, 100, 500, 1200] {
                let mut p = Vp8Packetizer::default();
                let (out, payloads) = round_trip(&mut p, &mut Vp8Depacketizer, mtu, &frame);
                prop_assert_eq!(&out, &frame);
                prop_assert_eq!(Vp8Depacketizer.is_keyframe(&payloads[0]), key);
                prop_assert!(payloads[1..].iter().all(|p| !Vp8Depacketizer.is_keyframe(p)));
                prop_assert!(payloads[1..].iter().all(|p| !Vp8Depacketizer.is_frame_start(p)));
            }
        }
    }
}
