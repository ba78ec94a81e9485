//! RTP payload formats: packetizers split encoded frames into RTP payloads, depacketizers
//! put them back together, and both tell key frames apart.
//!
//! | codec | specification | packetizer input / depacketizer output |
//! | --- | --- | --- |
//! | Opus | RFC 7587 | one Opus packet |
//! | PCMU/PCMA | RFC 3551 section 4.5.14 | G.711 samples |
//! | VP8 | RFC 7741 | one VP8 frame |
//! | VP9 | RFC 9628 | one VP9 frame (superframe for SVC) |
//! | H.264 | RFC 6184, packetization-mode 1 | an access unit in Annex B form |
//! | H.265 | RFC 7798 | an access unit in Annex B form |
//! | AV1 | AV1 RTP payload format | a temporal unit in low-overhead form (sized OBUs) |
//! | telephone-event | RFC 4733 | [`TelephoneEvent`] (DTMF), not a frame format |
//!
//! The `mtu` argument of [`Packetizer::packetize`] is the most payload octets one RTP packet
//! may carry: the path MTU minus IP, UDP, SRTP and RTP header overheads.

pub mod av1;
pub mod g711;
pub mod h264;
pub mod h265;
pub mod opus;
pub mod telephone_event;
pub mod vp8;
pub mod vp9;

use crate::error::Result;

pub use av1::{Av1Depacketizer, Av1Packetizer};
pub use g711::{G711Depacketizer, G711Packetizer};
pub use h264::{H264Depacketizer, H264Packetizer};
pub use h265::{H265Depacketizer, H265Packetizer};
pub use opus::{OpusDepacketizer, OpusPacketizer};
pub use telephone_event::TelephoneEvent;
pub use vp8::{Vp8Depacketizer, Vp8Descriptor, Vp8Packetizer};
pub use vp9::{Vp9Depacketizer, Vp9Descriptor, Vp9Packetizer};

/// Largest frame a depacketizer assembles (bounds memory on hostile input), 16 MiB.
pub const MAX_FRAME_LEN: usize = 16 << 20;

/// Splits encoded frames into RTP payloads.
pub trait Packetizer {
    /// Splits `frame` into payloads of at most `mtu` octets each, in sending order. For video
    /// the caller sets the RTP marker bit on the last one; all share one RTP timestamp.
    ///
    /// # Errors
    /// [`crate::Error::MtuTooSmall`] when `mtu` cannot carry the format's headers (or, for
    /// Opus, the whole frame); [`crate::Error::Malformed`] when `frame` is not in the input
    /// form the format expects.
    fn packetize(&mut self, mtu: usize, frame: &[u8]) -> Result<Vec<Vec<u8>>>;
}

/// Puts frames back together from RTP payloads, one packet at a time, in sequence order.
pub trait Depacketizer {
    /// Appends the codec data carried by `payload` to `frame`.
    ///
    /// # Errors
    /// [`crate::Error::Malformed`] or [`crate::Error::Truncated`] for a payload that breaks
    /// the format (the caller drops the frame it was building and calls
    /// [`Depacketizer::reset`]), [`crate::Error::Unsupported`] for a packet type this crate
    /// does not handle.
    fn depacketize(&mut self, payload: &[u8], frame: &mut Vec<u8>) -> Result<()>;

    /// True when `payload` can begin a frame (it does not continue a fragment).
    fn is_frame_start(&self, payload: &[u8]) -> bool;

    /// True when `payload` ends a frame: the RTP marker bit for video, always for audio.
    fn is_frame_end(&self, _payload: &[u8], marker: bool) -> bool {
        marker
    }

    /// True when `payload` belongs to a key frame (one decodable without earlier frames).
    fn is_keyframe(&self, payload: &[u8]) -> bool;

    /// Forgets any fragment in progress (after a loss).
    fn reset(&mut self) {}
}

/// The payload formats this crate implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CodecKind {
    /// Opus (RFC 7587).
    Opus,
    /// G.711 mu-law.
    Pcmu,
    /// G.711 A-law.
    Pcma,
    /// VP8 (RFC 7741).
    Vp8,
    /// VP9 (RFC 9628).
    Vp9,
    /// H.264 (RFC 6184).
    H264,
    /// H.265 (RFC 7798).
    H265,
    /// AV1.
    Av1,
}

impl CodecKind {
    /// The kind an SDP `a=rtpmap` encoding name (case-insensitive) names.
    #[must_use]
    pub fn from_encoding_name(name: &str) -> Option<CodecKind> {
        Some(match name.to_ascii_lowercase().as_str() {
            "opus" => CodecKind::Opus,
            "pcmu" => CodecKind::Pcmu,
            "pcma" => CodecKind::Pcma,
            "vp8" => CodecKind::Vp8,
            "vp9" => CodecKind::Vp9,
            "h264" => CodecKind::H264,
            "h265" => CodecKind::H265,
            "av1" => CodecKind::Av1,
            _ => return None,
        })
    }

    /// True for audio formats (every packet is a frame).
    #[must_use]
    pub fn is_audio(self) -> bool {
        matches!(self, CodecKind::Opus | CodecKind::Pcmu | CodecKind::Pcma)
    }

    /// A fresh packetizer for this format with default settings.
    #[must_use]
    pub fn packetizer(self) -> Box<dyn Packetizer + Send> {
        match self {
            CodecKind::Opus => Box::new(OpusPacketizer),
            CodecKind::Pcmu | CodecKind::Pcma => Box::new(G711Packetizer),
            CodecKind::Vp8 => Box::new(Vp8Packetizer::default()),
            CodecKind::Vp9 => Box::new(Vp9Packetizer::default()),
            CodecKind::H264 => Box::new(H264Packetizer::default()),
            CodecKind::H265 => Box::new(H265Packetizer::default()),
            CodecKind::Av1 => Box::new(Av1Packetizer),
        }
    }

    /// A fresh depacketizer for this format.
    #[must_use]
    pub fn depacketizer(self) -> Box<dyn Depacketizer + Send> {
        match self {
            CodecKind::Opus => Box::new(OpusDepacketizer),
            CodecKind::Pcmu | CodecKind::Pcma => Box::new(G711Depacketizer),
            CodecKind::Vp8 => Box::new(Vp8Depacketizer),
            CodecKind::Vp9 => Box::new(Vp9Depacketizer),
            CodecKind::H264 => Box::new(H264Depacketizer::default()),
            CodecKind::H265 => Box::new(H265Depacketizer::default()),
            CodecKind::Av1 => Box::new(Av1Depacketizer::default()),
        }
    }
}

impl<D: Depacketizer + ?Sized> Depacketizer for Box<D> {
    fn depacketize(&mut self, payload: &[u8], frame: &mut Vec<u8>) -> Result<()> {
        (**self).depacketize(payload, frame)
    }
    fn is_frame_start(&self, payload: &[u8]) -> bool {
        (**self).is_frame_start(payload)
    }
    fn is_frame_end(&self, payload: &[u8], marker: bool) -> bool {
        (**self).is_frame_end(payload, marker)
    }
    fn is_keyframe(&self, payload: &[u8]) -> bool {
        (**self).is_keyframe(payload)
    }
    fn reset(&mut self) {
        (**self).reset();
    }
}

impl<P: Packetizer + ?Sized> Packetizer for Box<P> {
    fn packetize(&mut self, mtu: usize, frame: &[u8]) -> Result<Vec<Vec<u8>>> {
        (**self).packetize(mtu, frame)
    }
}

/// Appends `data` to `frame` unless that would pass [`MAX_FRAME_LEN`].
pub(crate) fn append(frame: &mut Vec<u8>, data: &[u8]) -> Result<()> {
    if frame.len() + data.len() > MAX_FRAME_LEN {
        return Err(crate::Error::LimitExceeded("frame length"));
    }
    frame.extend_from_slice(data);
    Ok(())
}

/// Splits `data` into chunks of at most `max` octets, sized evenly (so the last packet is not
/// a runt), as libwebrtc does.
pub(crate) fn even_chunks(data: &[u8], max: usize) -> impl Iterator<Item = &[u8]> {
    let n = data.len().div_ceil(max.max(1)).max(1);
    let base = data.len() / n;
    let extra = data.len() % n;
    let mut pos = 0;
    (0..n).map(move |i| {
        let len = base + usize::from(i < extra);
        let s = &data[pos..pos + len];
        pos += len;
        s
    })
}

/// Splits an Annex B byte stream into NAL units (without start codes). Zero octets trailing
/// a NAL unit belong to the next start code and are dropped.
pub(crate) fn annex_b_nals(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= data.len() {
        if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
            starts.push((i, i + 3));
            i += 3;
        } else {
            i += 1;
        }
    }
    let ends: Vec<usize> = starts
        .iter()
        .skip(1)
        .map(|s| s.0)
        .chain([data.len()])
        .collect();
    starts.into_iter().zip(ends).filter_map(move |((_, s), e)| {
        let mut nal = &data[s..e];
        while let [rest @ .., 0] = nal {
            nal = rest;
        }
        (!nal.is_empty()).then_some(nal)
    })
}

/// The 4-octet Annex B start code depacketizers emit.
pub(crate) const START_CODE: [u8; 4] = [0, 0, 0, 1];

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Packetizes `frame` at `mtu` and depacketizes the result, checking sizes and that
    /// packetizing the depacketized frame again (from the same packetizer state) gives the same
    /// payloads; returns the reassembled frame and the payloads.
    pub(crate) fn round_trip<P: Packetizer + Clone, D: Depacketizer>(
        p: &mut P,
        d: &mut D,
        mtu: usize,
        frame: &[u8],
    ) -> (Vec<u8>, Vec<Vec<u8>>) {
        let mut again = p.clone();
        let payloads = p.packetize(mtu, frame).unwrap();
        assert!(!payloads.is_empty());
        let mut out = Vec::new();
        for (i, pl) in payloads.iter().enumerate() {
            assert!(pl.len() <= mtu, "payload {} > mtu {}", pl.len(), mtu);
            if i == 0 {
                assert!(d.is_frame_start(pl), "first packet must start a frame");
            }
            d.depacketize(pl, &mut out).unwrap();
        }
        assert_eq!(
            again.packetize(mtu, &out).unwrap(),
            payloads,
            "depacketize -> packetize"
        );
        (out, payloads)
    }

    #[test]
    fn annex_b_split() {
        let s = [
            0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 4, 0,
        ];
        let nals: Vec<&[u8]> = annex_b_nals(&s).collect();
        assert_eq!(
            nals,
            vec![&[0x67, 1, 2][..], &[0x68, 3][..], &[0x65, 4][..]]
        );
        assert_eq!(annex_b_nals(&[1, 2, 3]).count(), 0);
    }

    #[test]
    fn even_chunking() {
        let d = [0u8; 10];
        let sizes: Vec<usize> = even_chunks(&d, 4).map(<[u8]>::len).collect();
        assert_eq!(sizes, vec![4, 3, 3]);
        assert_eq!(even_chunks(&[], 4).count(), 1);
    }

    #[test]
    fn encoding_names() {
        assert_eq!(CodecKind::from_encoding_name("VP8"), Some(CodecKind::Vp8));
        assert_eq!(CodecKind::from_encoding_name("x"), None);
        assert!(CodecKind::Opus.is_audio());
    }
}
