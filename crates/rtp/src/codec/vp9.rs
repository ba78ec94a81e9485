//! VP9 (RFC 9628): the payload descriptor in flexible and non-flexible mode, with the
//! scalability structure.

use super::vp8::PictureId;
use super::{append, even_chunks, Depacketizer, Packetizer};
use crate::bits::BitReader;
use crate::cursor::Cursor;
use crate::error::{Error, Result};

/// Layer indices (RFC 9628 section 4.2, L = 1).
///
/// ```text
/// L:   |  TID  |U|  SID  |D|   TL0PICIDX (non-flexible mode only)
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Vp9Layer {
    /// Temporal layer id, 0..=7.
    pub temporal_id: u8,
    /// U: switching up point.
    pub switching_up: bool,
    /// Spatial layer id, 0..=7.
    pub spatial_id: u8,
    /// D: depends on the lower spatial layer of the same picture.
    pub inter_layer_dependency: bool,
    /// TL0PICIDX, present exactly in non-flexible mode.
    pub tl0_pic_idx: Option<u8>,
}

/// One picture group description in the scalability structure.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Vp9PictureGroup {
    /// Temporal layer id, 0..=7.
    pub temporal_id: u8,
    /// Switching up point.
    pub switching_up: bool,
    /// Reference differences, at most 3.
    pub p_diffs: Vec<u8>,
}

/// The scalability structure, SS (RFC 9628 section 4.2.1).
///
/// ```text
/// V:   | N_S |Y|G|-|-|-|
/// Y:   | WIDTH (16) | HEIGHT (16) |   N_S + 1 times
/// G:   |      N_G      |
/// N_G: |  TID  |U| R |-|-| P_DIFF x R   N_G times
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Vp9ScalabilityStructure {
    /// Number of spatial layers, 1..=8.
    pub spatial_layers: u8,
    /// Y: width and height per spatial layer.
    pub resolutions: Option<Vec<(u16, u16)>>,
    /// G: the picture group description.
    pub picture_groups: Option<Vec<Vp9PictureGroup>>,
}

/// The VP9 payload descriptor (RFC 9628 section 4.2).
///
/// ```text
///        +-+-+-+-+-+-+-+-+
///        |I|P|L|F|B|E|V|Z| (REQUIRED)
///   I:   |M| PICTURE ID  | (RECOMMENDED)
///   M:   | EXTENDED PID  | (RECOMMENDED)
///   L:   |  TID  |U| SID |D| (CONDITIONALLY RECOMMENDED)
///        |   TL0PICIDX   | (CONDITIONALLY REQUIRED, F = 0)
///   P,F: | P_DIFF      |N| (CONDITIONALLY REQUIRED, up to 3 times)
///   V:   | SS            |
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Vp9Descriptor {
    /// P: inter-picture predicted.
    pub inter_picture_predicted: bool,
    /// F: flexible mode.
    pub flexible: bool,
    /// B: start of a (layer) frame.
    pub start_of_frame: bool,
    /// E: end of a (layer) frame.
    pub end_of_frame: bool,
    /// Z: not used as reference by an upper spatial layer.
    pub not_reference_for_upper: bool,
    /// I: picture id.
    pub picture_id: Option<PictureId>,
    /// L: layer indices.
    pub layer: Option<Vp9Layer>,
    /// Reference differences (flexible mode with P = 1: 1..=3 entries, 7 bits each).
    pub p_diffs: Vec<u8>,
    /// V: scalability structure.
    pub ss: Option<Vp9ScalabilityStructure>,
}

impl Vp9Descriptor {
    /// Parses the descriptor at the start of `payload`, returning it and its length.
    ///
    /// # Errors
    /// [`Error::Truncated`] when a field is missing, [`Error::Malformed`] for more than 3
    /// reference differences or a picture group with more than 3.
    pub fn parse(payload: &[u8]) -> Result<(Self, usize)> {
        let mut c = Cursor::new(payload, "vp9 descriptor");
        let b = c.u8()?;
        let flexible = b & 0x10 != 0;
        let mut d = Vp9Descriptor {
            inter_picture_predicted: b & 0x40 != 0,
            flexible,
            start_of_frame: b & 0x08 != 0,
            end_of_frame: b & 0x04 != 0,
            not_reference_for_upper: b & 0x01 != 0,
            ..Default::default()
        };
        if b & 0x80 != 0 {
            d.picture_id = Some(PictureId::parse(&mut c)?);
        }
        if b & 0x20 != 0 {
            let l = c.u8()?;
            d.layer = Some(Vp9Layer {
                temporal_id: l >> 5,
                switching_up: l & 0x10 != 0,
                spatial_id: (l >> 1) & 0x07,
                inter_layer_dependency: l & 0x01 != 0,
                tl0_pic_idx: if flexible { None } else { Some(c.u8()?) },
            });
        }
        if flexible && d.inter_picture_predicted {
            loop {
                let p = c.u8()?;
                if d.p_diffs.len() == 3 {
                    return Err(Error::Malformed("vp9 more than 3 p_diff"));
                }
                d.p_diffs.push(p >> 1);
                if p & 0x01 == 0 {
                    break;
                }
            }
        }
        if b & 0x02 != 0 {
            d.ss = Some(parse_ss(&mut c)?);
        }
        Ok((d, c.position()))
    }

    /// Octets on the wire.
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        let mut v = Vec::new();
        let _ = self.write(&mut v);
        v.len()
    }

    /// Appends the descriptor.
    ///
    /// # Errors
    /// [`Error::ValueOutOfRange`] for fields that do not fit, p_diffs outside flexible
    /// inter-predicted mode, or a TL0PICIDX that disagrees with the mode.
    pub fn write(&self, buf: &mut Vec<u8>) -> Result<()> {
        let bad = Err(Error::ValueOutOfRange("vp9 descriptor"));
        let need_pdiff = self.flexible && self.inter_picture_predicted;
        if need_pdiff == self.p_diffs.is_empty()
            || self.p_diffs.len() > 3
            || self.p_diffs.iter().any(|p| *p > 0x7F)
        {
            return bad;
        }
        buf.push(
            (u8::from(self.picture_id.is_some()) << 7)
                | (u8::from(self.inter_picture_predicted) << 6)
                | (u8::from(self.layer.is_some()) << 5)
                | (u8::from(self.flexible) << 4)
                | (u8::from(self.start_of_frame) << 3)
                | (u8::from(self.end_of_frame) << 2)
                | (u8::from(self.ss.is_some()) << 1)
                | u8::from(self.not_reference_for_upper),
        );
        if let Some(p) = self.picture_id {
            p.write(buf)?;
        }
        if let Some(l) = &self.layer {
            if l.temporal_id > 7 || l.spatial_id > 7 || l.tl0_pic_idx.is_some() == self.flexible {
                return bad;
            }
            buf.push(
                (l.temporal_id << 5)
                    | (u8::from(l.switching_up) << 4)
                    | (l.spatial_id << 1)
                    | u8::from(l.inter_layer_dependency),
            );
            if let Some(t) = l.tl0_pic_idx {
                buf.push(t);
            }
        }
        for (i, p) in self.p_diffs.iter().enumerate() {
            buf.push((p << 1) | u8::from(i + 1 < self.p_diffs.len()));
        }
        if let Some(ss) = &self.ss {
            write_ss(ss, buf)?;
        }
        Ok(())
    }

    /// True when this packet starts a picture: B set on the lowest spatial layer.
    #[must_use]
    pub fn starts_picture(&self) -> bool {
        self.start_of_frame && self.layer.is_none_or(|l| l.spatial_id == 0)
    }
}

fn parse_ss(c: &mut Cursor<'_>) -> Result<Vp9ScalabilityStructure> {
    let b = c.u8()?;
    let n_s = (b >> 5) + 1;
    let resolutions = if b & 0x10 != 0 {
        Some(
            (0..n_s)
                .map(|_| Ok((c.u16()?, c.u16()?)))
                .collect::<Result<Vec<_>>>()?,
        )
    } else {
        None
    };
    let picture_groups = if b & 0x08 != 0 {
        let n_g = c.u8()?;
        let mut groups = Vec::with_capacity(usize::from(n_g));
        for _ in 0..n_g {
            let g = c.u8()?;
            let r = (g >> 2) & 0x03;
            let p_diffs = (0..r).map(|_| c.u8()).collect::<Result<Vec<_>>>()?;
            groups.push(Vp9PictureGroup {
                temporal_id: g >> 5,
                switching_up: g & 0x10 != 0,
                p_diffs,
            });
        }
        Some(groups)
    } else {
        None
    };
    Ok(Vp9ScalabilityStructure {
        spatial_layers: n_s,
        resolutions,
        picture_groups,
    })
}

fn write_ss(ss: &Vp9ScalabilityStructure, buf: &mut Vec<u8>) -> Result<()> {
    let bad = Err(Error::ValueOutOfRange("vp9 scalability structure"));
    if !(1..=8).contains(&ss.spatial_layers)
        || ss
            .resolutions
            .as_ref()
            .is_some_and(|r| r.len() != usize::from(ss.spatial_layers))
    {
        return bad;
    }
    buf.push(
        ((ss.spatial_layers - 1) << 5)
            | (u8::from(ss.resolutions.is_some()) << 4)
            | (u8::from(ss.picture_groups.is_some()) << 3),
    );
    for (w, h) in ss.resolutions.iter().flatten() {
        buf.extend_from_slice(&w.to_be_bytes());
        buf.extend_from_slice(&h.to_be_bytes());
    }
    if let Some(groups) = &ss.picture_groups {
        let Ok(n) = u8::try_from(groups.len()) else {
            return bad;
        };
        buf.push(n);
        for g in groups {
            if g.temporal_id > 7 || g.p_diffs.len() > 3 {
                return bad;
            }
            buf.push(
                (g.temporal_id << 5)
                    | (u8::from(g.switching_up) << 4)
                    | ((g.p_diffs.len() as u8) << 2),
            );
            buf.extend_from_slice(&g.p_diffs);
        }
    }
    Ok(())
}

/// What the VP9 uncompressed header (VP9 bitstream spec section 6.2) says about a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Vp9FrameInfo {
    /// frame_type == KEY_FRAME.
    pub keyframe: bool,
    /// Frame size for key frames.
    pub size: Option<(u16, u16)>,
}

/// Reads the start of a VP9 frame's uncompressed header: frame type and, for key frames,
/// the frame size.
///
/// # Errors
/// [`Error::Malformed`] when the frame marker or sync code is wrong, [`Error::Truncated`]
/// when the header is cut.
pub fn parse_frame_header(frame: &[u8]) -> Result<Vp9FrameInfo> {
    let mut r = BitReader::new(frame);
    if r.bits(2)? != 2 {
        return Err(Error::Malformed("vp9 frame marker"));
    }
    let low = r.bits(1)?;
    let high = r.bits(1)?;
    let profile = (high << 1) | low;
    if profile == 3 {
        r.bits(1)?;
    }
    if r.bit()? {
        // show_existing_frame: no new frame.
        return Ok(Vp9FrameInfo {
            keyframe: false,
            size: None,
        });
    }
    let keyframe = !r.bit()?;
    if !keyframe {
        return Ok(Vp9FrameInfo {
            keyframe,
            size: None,
        });
    }
    r.bits(2)?; // show_frame, error_resilient_mode
    if r.bits(24)? != 0x49_8342 {
        return Err(Error::Malformed("vp9 sync code"));
    }
    if profile >= 2 {
        r.bits(1)?;
    }
    let color_space = r.bits(3)?;
    if color_space != 7 {
        r.bits(1)?;
        if profile == 1 || profile == 3 {
            r.bits(3)?;
        }
    } else if profile == 1 || profile == 3 {
        r.bits(1)?;
    }
    let w = r.bits(16)? + 1;
    let h = r.bits(16)? + 1;
    Ok(Vp9FrameInfo {
        keyframe,
        size: u16::try_from(w).ok().zip(u16::try_from(h).ok()),
    })
}

/// Packetizes single-layer VP9 frames with a 15-bit picture id; key frames carry a
/// scalability structure with their resolution. Flexible mode references the previous
/// picture (P_DIFF = 1).
#[derive(Debug, Clone, Default)]
pub struct Vp9Packetizer {
    /// The picture id of the next frame (15 bits, wrapping).
    pub picture_id: u16,
    /// Use flexible mode (F = 1).
    pub flexible: bool,
}

impl Packetizer for Vp9Packetizer {
    fn packetize(&mut self, mtu: usize, frame: &[u8]) -> Result<Vec<Vec<u8>>> {
        if frame.is_empty() {
            return Err(Error::Malformed("empty vp9 frame"));
        }
        let info = parse_frame_header(frame).ok();
        let key = info.is_some_and(|i| i.keyframe);
        let mut d = Vp9Descriptor {
            inter_picture_predicted: !key,
            flexible: self.flexible,
            start_of_frame: true,
            picture_id: Some(PictureId::Long(self.picture_id & 0x7FFF)),
            p_diffs: if self.flexible && !key {
                vec![1]
            } else {
                vec![]
            },
            ss: key.then(|| Vp9ScalabilityStructure {
                spatial_layers: 1,
                resolutions: info.and_then(|i| i.size).map(|s| vec![s]),
                picture_groups: None,
            }),
            ..Default::default()
        };
        let first_len = d.encoded_len();
        let mut rest = d.clone();
        rest.ss = None;
        rest.start_of_frame = false;
        let rest_len = rest.encoded_len();
        if mtu <= first_len {
            return Err(Error::MtuTooSmall);
        }
        self.picture_id = (self.picture_id + 1) & 0x7FFF;
        // First packet carries the SS, so give it a smaller share.
        let first_cap = mtu - first_len;
        let (head, tail) = frame.split_at(frame.len().min(first_cap));
        let mut chunks: Vec<&[u8]> = vec![head];
        if !tail.is_empty() {
            chunks.extend(even_chunks(tail, mtu - rest_len));
        }
        let n = chunks.len();
        let mut out = Vec::with_capacity(n);
        for (i, chunk) in chunks.into_iter().enumerate() {
            d.end_of_frame = i + 1 == n;
            let mut p = Vec::with_capacity(mtu);
            d.write(&mut p)?;
            p.extend_from_slice(chunk);
            out.push(p);
            d.start_of_frame = false;
            d.ss = None;
        }
        Ok(out)
    }
}

/// Strips VP9 payload descriptors.
#[derive(Debug, Clone, Copy, Default)]
pub struct Vp9Depacketizer;

impl Depacketizer for Vp9Depacketizer {
    fn depacketize(&mut self, payload: &[u8], frame: &mut Vec<u8>) -> Result<()> {
        let (_, len) = Vp9Descriptor::parse(payload)?;
        let data = &payload[len..];
        if data.is_empty() {
            return Err(Error::Malformed("vp9 payload without data"));
        }
        append(frame, data)
    }

    fn is_frame_start(&self, payload: &[u8]) -> bool {
        Vp9Descriptor::parse(payload).is_ok_and(|(d, _)| d.starts_picture())
    }

    /// B = 1, P = 0 on the lowest spatial layer (RFC 9628 section 4.2: a picture that is not
    /// inter-picture predicted).
    fn is_keyframe(&self, payload: &[u8]) -> bool {
        Vp9Descriptor::parse(payload)
            .is_ok_and(|(d, _)| d.starts_picture() && !d.inter_picture_predicted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::tests::round_trip;
    use proptest::prelude::*;

    /// A VP9 profile 0 key frame header for 640x360: frame marker, sync code, BT.601, size.
    pub(crate) fn keyframe_header() -> Vec<u8> {
        let mut w = crate::bits::BitWriter::default();
        w.bits(2, 2); // frame marker
        w.bits(0, 2); // profile 0
        w.bit(false); // show_existing_frame
        w.bit(false); // key frame
        w.bit(true); // show_frame
        w.bit(false); // error_resilient_mode
        w.bits(0x49_8342, 24);
        w.bits(1, 3); // color space BT.601
        w.bit(false); // color range
        w.bits(639, 16);
        w.bits(359, 16);
        w.data
    }

    #[test]
    fn frame_header() {
        let h = keyframe_header();
        assert_eq!(
            parse_frame_header(&h).unwrap(),
            Vp9FrameInfo {
                keyframe: true,
                size: Some((640, 360))
            }
        );
        // Inter frame: frame marker, profile 0, show_existing 0, frame_type 1.
        assert!(!parse_frame_header(&[0x86, 0, 0]).unwrap().keyframe);
        assert!(parse_frame_header(&[0x06]).is_err());
        assert!(parse_frame_header(&h[..5]).is_err());
    }

    #[test]
    fn rfc_non_flexible_example() {
        // I=1 P=0 L=1 F=0 B=1 E=1 V=1; PID 0x0102 (M); TID=0 U=0 SID=0 D=0; TL0PICIDX 9;
        // SS: N_S=1 (0 => 1 layer), Y=1 G=1; 640x360; N_G=1: TID=0 U=1 R=1 P_DIFF 1.
        let p = [
            0xAE, 0x81, 0x02, 0x00, 0x09, 0x18, 0x02, 0x80, 0x01, 0x68, 0x01, 0x14, 0x01, 0xAB,
        ];
        let (d, len) = Vp9Descriptor::parse(&p).unwrap();
        assert_eq!(len, 13);
        assert_eq!(d.picture_id, Some(PictureId::Long(0x0102)));
        assert_eq!(d.layer.unwrap().tl0_pic_idx, Some(9));
        let ss = d.ss.clone().unwrap();
        assert_eq!(ss.resolutions, Some(vec![(640, 360)]));
        assert_eq!(
            ss.picture_groups,
            Some(vec![Vp9PictureGroup {
                temporal_id: 0,
                switching_up: true,
                p_diffs: vec![1]
            }])
        );
        assert!(Vp9Depacketizer.is_keyframe(&p));
        let mut out = Vec::new();
        d.write(&mut out).unwrap();
        assert_eq!(out, p[..13]);
        for n in 0..13 {
            assert!(Vp9Descriptor::parse(&p[..n]).is_err());
        }
    }

    #[test]
    fn flexible_pdiffs() {
        // I=0 P=1 L=0 F=1 B=1 E=0; P_DIFF 1 (N=1), 2 (N=1), 3 (N=0).
        let p = [0x58, 0x03, 0x05, 0x06, 0xFF];
        let (d, len) = Vp9Descriptor::parse(&p).unwrap();
        assert_eq!(len, 4);
        assert_eq!(d.p_diffs, vec![1, 2, 3]);
        assert!(!Vp9Depacketizer.is_keyframe(&p));
        // A fourth reference is malformed.
        assert!(Vp9Descriptor::parse(&[0x58, 0x03, 0x05, 0x07, 0x08, 0xFF]).is_err());
    }

    fn arb_descriptor() -> impl Strategy<Value = Vp9Descriptor> {
        (
            (
                any::<bool>(),
                any::<bool>(),
                any::<bool>(),
                any::<bool>(),
                any::<bool>(),
            ),
            proptest::option::of(prop_oneof![
                (0u8..0x80).prop_map(PictureId::Short),
                (0u16..0x8000).prop_map(PictureId::Long)
            ]),
            proptest::option::of((0u8..8, any::<bool>(), 0u8..8, any::<bool>(), any::<u8>())),
            proptest::collection::vec(0u8..0x80, 1..=3),
            proptest::option::of((
                1u8..=8,
                any::<bool>(),
                proptest::option::of(proptest::collection::vec(
                    (
                        0u8..8,
                        any::<bool>(),
                        proptest::collection::vec(any::<u8>(), 0..=3),
                    ),
                    0..5,
                )),
                proptest::collection::vec((any::<u16>(), any::<u16>()), 8),
            )),
        )
            .prop_map(
                |((p, f, b, e, z), picture_id, layer, pd, ss)| Vp9Descriptor {
                    inter_picture_predicted: p,
                    flexible: f,
                    start_of_frame: b,
                    end_of_frame: e,
                    not_reference_for_upper: z,
                    picture_id,
                    layer: layer.map(|(t, u, s, d, tl0)| Vp9Layer {
                        temporal_id: t,
                        switching_up: u,
                        spatial_id: s,
                        inter_layer_dependency: d,
                        tl0_pic_idx: (!f).then_some(tl0),
                    }),
                    p_diffs: if f && p { pd } else { vec![] },
                    ss: ss.map(|(n, y, g, res)| Vp9ScalabilityStructure {
                        spatial_layers: n,
                        resolutions: y.then(|| res[..usize::from(n)].to_vec()),
                        picture_groups: g.map(|g| {
                            g.into_iter()
                                .map(|(temporal_id, switching_up, p_diffs)| Vp9PictureGroup {
                                    temporal_id,
                                    switching_up,
                                    p_diffs,
                                })
                                .collect()
                        }),
                    }),
                },
            )
    }

    proptest! {
        #[test]
        fn descriptor_round_trip(d in arb_descriptor()) {
            let mut b = Vec::new();
            d.write(&mut b).unwrap();
            prop_assert_eq!(Vp9Descriptor::parse(&b).unwrap(), (d, b.len()));
        }

        #[test]
        fn frame_round_trip(
            body in proptest::collection::vec(any::<u8>(), 0..5000),
            key in any::<bool>(),
            flexible in any::<bool>(),
        ) {
            let mut frame = if key { keyframe_header() } else { vec![0x86, 0x00] };
            frame.extend_from_slice(&body);
            for mtu in [20, 100, 500, 1200] {
                let mut p = Vp9Packetizer { picture_id: 77, flexible };
                let (out, payloads) = round_trip(&mut p, &mut Vp9Depacketizer, mtu, &frame);
                prop_assert_eq!(&out, &frame);
                prop_assert_eq!(Vp9Depacketizer.is_keyframe(&payloads[0]), key);
                let (first, _) = Vp9Descriptor::parse(&payloads[0]).unwrap();
                prop_assert_eq!(first.ss.is_some(), key);
                let (last, _) = Vp9Descriptor::parse(payloads.last().unwrap()).unwrap();
                prop_assert!(last.end_of_frame);
                prop_assert!(payloads[1..].iter().all(|p| !Vp9Depacketizer.is_frame_start(p)));
            }
        }
    }
}
