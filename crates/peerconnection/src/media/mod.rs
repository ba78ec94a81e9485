//! Media on the transceivers: RTP and RTCP over SRTP on the BUNDLE transport.
//!
//! - sending: samples packetized per codec, or RTP packets forwarded with their SSRC,
//!   sequence numbers and timestamps rewritten to the sender's; header extensions (mid,
//!   rid, abs-send-time, transport-wide sequence numbers, audio level, the dependency
//!   descriptor passed through); a packet history answering NACKs with RTX; sender
//!   reports; simulcast layers by rid; DTMF (RFC 4733);
//! - receiving: SRTP unprotected, packets demultiplexed to transceivers by SSRC, mid, rid
//!   and payload type (RFC 8843 §9.2), RTX unwrapped, loss repaired by NACK, frames
//!   assembled; receiver reports, PLI/FIR on request, transport-cc feedback for the
//!   sender's bandwidth estimator; REMB read;
//! - encoded-frame transforms on both sides.

pub(crate) mod codecs;
pub(crate) mod dtmf;
mod engine;
mod handles;
mod recv;
mod rtcp;
mod send;

pub use handles::{RtpReceiver, RtpSender};

pub(crate) use engine::Media;
pub(crate) use recv::ReceiverState;
pub(crate) use send::SenderState;

use crate::transceiver::MediaKind;
use bytes::Bytes;
use oxrtc_rtp::rtp::AudioLevel;
use std::time::Duration;

/// A local media source as the sans-IO core knows it (W3C `MediaStreamTrack`): an id and a
/// kind. What it carries is written through the [`RtpSender`] it is attached to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MediaStreamTrack {
    id: String,
    kind: MediaKind,
}

impl MediaStreamTrack {
    /// A track of `kind` with the id signaled in `a=msid` (W3C `track.id`).
    pub fn new(kind: MediaKind, id: impl Into<String>) -> Self {
        MediaStreamTrack {
            id: id.into(),
            kind,
        }
    }

    /// The id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Audio or video.
    pub fn kind(&self) -> MediaKind {
        self.kind
    }
}

/// An RTP packet as the application sees it: decrypted, an RTX retransmission already
/// turned back into the original (RFC 4588), with the header extensions that matter to an
/// application or an SFU; and as it writes one to forward it
/// ([`RtpSender::write_rtp`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MediaPacket {
    /// The payload type.
    pub payload_type: u8,
    /// The sequence number.
    pub sequence_number: u16,
    /// The RTP timestamp.
    pub timestamp: u32,
    /// The M bit (end of a video frame).
    pub marker: bool,
    /// The SSRC it arrived with (ignored when writing: the sender's is used).
    pub ssrc: u32,
    /// The payload.
    pub payload: Bytes,
    /// The simulcast layer (RFC 8852 rtp-stream-id) it belongs to, or is written to.
    pub rid: Option<String>,
    /// The RFC 6464 audio level, if the sender measured one.
    pub audio_level: Option<AudioLevel>,
    /// The AV1 dependency descriptor extension's bytes, forwarded untouched.
    pub dependency_descriptor: Option<Bytes>,
}

impl MediaPacket {
    /// The fields of a plain RTP packet (RFC 3550 §5.1); header extensions are not read,
    /// since their ids belong to another session.
    ///
    /// # Errors
    /// [`crate::Error::InvalidArgument`] when `packet` is not RTP.
    pub fn parse(packet: &[u8]) -> Result<Self, crate::Error> {
        let p = oxrtc_rtp::RtpPacket::new_checked(packet)
            .map_err(|_| crate::Error::InvalidArgument("not an RTP packet"))?;
        Ok(MediaPacket {
            payload_type: p.payload_type(),
            sequence_number: p.sequence_number().0,
            timestamp: p.timestamp(),
            marker: p.marker(),
            ssrc: p.ssrc().0,
            payload: Bytes::copy_from_slice(p.payload()),
            ..MediaPacket::default()
        })
    }
}

/// One encoded frame to send ([`RtpSender::write_sample`]): it is packetized per the
/// negotiated codec (VP8 frame, VP9 frame, H.264/H.265 Annex B access unit, AV1 temporal
/// unit, one Opus or G.711 packet) and the RTP timestamp advances by `duration`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sample {
    /// The encoded frame.
    pub data: Bytes,
    /// How long it lasts (e.g. 20 ms of Opus, 1/30 s of video).
    pub duration: Duration,
    /// The simulcast layer it belongs to (`None`: the first encoding).
    pub rid: Option<String>,
}

impl Sample {
    /// A sample for the first (or only) encoding.
    pub fn new(data: impl Into<Bytes>, duration: Duration) -> Self {
        Sample {
            data: data.into(),
            duration,
            rid: None,
        }
    }
}

/// An encoded frame: what a [`FrameTransform`] sees before packetization or after
/// depacketization, and what a receiver delivers ([`crate::Event::Frame`]) (the
/// counterpart of the browser's `RTCEncodedVideoFrame` / `RTCEncodedAudioFrame`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EncodedFrame {
    /// The codec data (the payload format's frame: see [`Sample`]).
    pub data: Vec<u8>,
    /// The RTP timestamp.
    pub timestamp: u32,
    /// Whether it decodes alone (always true for audio).
    pub keyframe: bool,
    /// The payload type.
    pub payload_type: u8,
    /// The SSRC (the sender's when sending, the stream's when receiving).
    pub ssrc: u32,
    /// The simulcast layer, if any.
    pub rid: Option<String>,
    /// Receiving: packets were lost before this frame (a decoder may need a key frame).
    pub after_gap: bool,
}

/// A user function that sees each encoded frame (W3C `RTCRtpScriptTransform`): on a
/// sender before packetization, on a receiver after depacketization, e.g. for end-to-end
/// encryption. Returning `false` drops the frame.
///
/// Closures `FnMut(&mut EncodedFrame) -> bool + Send` are transforms.
pub trait FrameTransform: Send {
    /// Transforms `frame` in place; `false` drops it.
    fn transform(&mut self, frame: &mut EncodedFrame) -> bool;
}

impl<F: FnMut(&mut EncodedFrame) -> bool + Send> FrameTransform for F {
    fn transform(&mut self, frame: &mut EncodedFrame) -> bool {
        self(frame)
    }
}

/// One encoding of a sender (W3C `RTCRtpEncodingParameters`): a simulcast layer when it
/// has a `rid`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RtpEncodingParameters {
    /// The RTP stream id (RFC 8851) of this layer; `None` for a single encoding.
    pub rid: Option<String>,
    /// Whether it is sent (`false`: its packets are dropped, no renegotiation needed).
    pub active: bool,
    /// How much the application's encoder scales this layer down (informational: this
    /// stack sends what it is given).
    pub scale_resolution_down_by: Option<f64>,
    /// Most bits per second for this layer (informational for the application's
    /// encoder; not enforced by a pacer).
    pub max_bitrate: Option<u32>,
}

impl RtpEncodingParameters {
    /// An active encoding with a rid (a simulcast layer).
    pub fn with_rid(rid: impl Into<String>) -> Self {
        RtpEncodingParameters {
            rid: Some(rid.into()),
            active: true,
            ..RtpEncodingParameters::default()
        }
    }

    /// An active encoding without a rid.
    pub fn single() -> Self {
        RtpEncodingParameters {
            active: true,
            ..RtpEncodingParameters::default()
        }
    }
}

/// Which key frame request a peer sent ([`crate::Event::KeyframeRequest`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyframeRequestKind {
    /// Picture Loss Indication (RFC 4585 §6.3.1).
    Pli,
    /// Full Intra Request (RFC 5104 §4.3.1).
    Fir,
}

/// Whether an encoded frame of `kind` decodes alone.
pub(crate) fn frame_is_keyframe(kind: oxrtc_rtp::codec::CodecKind, data: &[u8]) -> bool {
    use oxrtc_rtp::codec::CodecKind as K;
    match kind {
        K::Vp8 => data.first().is_some_and(|b| b & 1 == 0),
        K::Vp9 => oxrtc_rtp::codec::vp9::parse_frame_header(data)
            .map(|h| h.keyframe)
            .unwrap_or(false),
        K::H264 => annex_b_types(data).any(|t| t & 0x1F == 5),
        K::H265 => annex_b_types(data).any(|t| (16..=21).contains(&((t >> 1) & 0x3F))),
        // A temporal unit that starts a sequence (OBU_SEQUENCE_HEADER, type 1).
        K::Av1 => data.first().is_some_and(|h| (h >> 3) & 0x0F == 1),
        _ => true,
    }
}

/// The first byte of each NAL unit of an Annex B stream.
fn annex_b_types(data: &[u8]) -> impl Iterator<Item = u8> + '_ {
    data.windows(4).filter_map(|w| match w {
        [0, 0, 1, t] => Some(*t),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxrtc_rtp::codec::CodecKind;

    #[test]
    fn keyframes_by_codec() {
        assert!(frame_is_keyframe(CodecKind::Vp8, &[0x10, 0x02, 0x00]));
        assert!(!frame_is_keyframe(CodecKind::Vp8, &[0x31, 0x01]));
        assert!(frame_is_keyframe(
            CodecKind::H264,
            &[0, 0, 0, 1, 0x67, 1, 0, 0, 1, 0x65, 9]
        ));
        assert!(!frame_is_keyframe(CodecKind::H264, &[0, 0, 0, 1, 0x41, 9]));
        assert!(frame_is_keyframe(CodecKind::Av1, &[0x0A, 0]));
        assert!(!frame_is_keyframe(CodecKind::Av1, &[0x32, 0]));
        assert!(frame_is_keyframe(CodecKind::Opus, &[0xF8]));
    }
}
