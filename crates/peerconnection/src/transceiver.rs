//! The transceiver model (W3C `RTCRtpTransceiver`): one per audio or video m-section.
//!
//! This crate negotiates transceivers (mids, directions, codecs, stopping) and keys SRTP;
//! sending and receiving RTP on them is the media layer's work.

use oxrtc_sdp::{Codec, Direction as SdpDirection, MediaKind as SdpMediaKind, RtcpFeedback};
use serde::{Deserialize, Serialize};

/// Handle of a transceiver in a [`PeerConnection`](crate::PeerConnection); stable for the
/// connection's life (stopped transceivers keep their id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransceiverId(pub(crate) usize);

/// Audio or video (W3C `MediaStreamTrack.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    /// `m=audio`
    Audio,
    /// `m=video`
    Video,
}

impl MediaKind {
    pub(crate) fn to_sdp(self) -> SdpMediaKind {
        match self {
            MediaKind::Audio => SdpMediaKind::Audio,
            MediaKind::Video => SdpMediaKind::Video,
        }
    }

    pub(crate) fn from_sdp(kind: &SdpMediaKind) -> Option<MediaKind> {
        match kind {
            SdpMediaKind::Audio => Some(MediaKind::Audio),
            SdpMediaKind::Video => Some(MediaKind::Video),
            _ => None,
        }
    }
}

/// Transceiver direction (W3C `RTCRtpTransceiverDirection`; SDP direction attributes of
/// RFC 8866 §6.7 plus `stopped`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Send and receive.
    #[default]
    SendRecv,
    /// Send only.
    SendOnly,
    /// Receive only.
    RecvOnly,
    /// Neither.
    Inactive,
    /// Stopped: the m-section is rejected (port 0).
    Stopped,
}

impl Direction {
    /// Whether media is sent.
    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    /// Whether media is received.
    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }

    pub(crate) fn from_flags(send: bool, recv: bool) -> Direction {
        match (send, recv) {
            (true, true) => Direction::SendRecv,
            (true, false) => Direction::SendOnly,
            (false, true) => Direction::RecvOnly,
            (false, false) => Direction::Inactive,
        }
    }

    pub(crate) fn to_sdp(self) -> SdpDirection {
        match self {
            Direction::SendRecv => SdpDirection::SendRecv,
            Direction::SendOnly => SdpDirection::SendOnly,
            Direction::RecvOnly => SdpDirection::RecvOnly,
            Direction::Inactive | Direction::Stopped => SdpDirection::Inactive,
        }
    }

    pub(crate) fn from_sdp(d: SdpDirection) -> Direction {
        match d {
            SdpDirection::SendRecv => Direction::SendRecv,
            SdpDirection::SendOnly => Direction::SendOnly,
            SdpDirection::RecvOnly => Direction::RecvOnly,
            SdpDirection::Inactive => Direction::Inactive,
        }
    }

    /// The answer's direction for an offered direction (JSEP RFC 8829 §5.3.1): we send only
    /// if the offer receives, receive only if it sends.
    pub(crate) fn answer_to(self, offered: Direction) -> Direction {
        Direction::from_flags(
            self.sends() && offered.receives(),
            self.receives() && offered.sends(),
        )
    }

    /// The direction seen from the other side.
    pub(crate) fn reverse(self) -> Direction {
        match self {
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            d => d,
        }
    }
}

/// Options of [`PeerConnection::add_transceiver`](crate::PeerConnection::add_transceiver)
/// (W3C `RTCRtpTransceiverInit`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransceiverInit {
    /// Initial direction. Default sendrecv.
    pub direction: Direction,
    /// Media stream ids for `a=msid` (W3C `streams`).
    pub stream_ids: Vec<String>,
}

/// A transceiver as the application sees it (W3C `RTCRtpTransceiver`).
#[derive(Debug, Clone)]
pub struct Transceiver {
    pub(crate) id: TransceiverId,
    pub(crate) kind: MediaKind,
    pub(crate) mid: Option<String>,
    pub(crate) direction: Direction,
    pub(crate) current_direction: Option<Direction>,
    pub(crate) stopping: bool,
    pub(crate) stopped: bool,
    pub(crate) stream_ids: Vec<String>,
    pub(crate) track_id: String,
    /// Our codec preferences, in preference order.
    pub(crate) codecs: Vec<Codec>,
    /// Codecs of the last negotiation (the answer's payload types).
    pub(crate) negotiated_codecs: Vec<Codec>,
    /// Created by a remote offer (removed again when that offer is rolled back).
    pub(crate) created_by_remote: bool,
}

impl Transceiver {
    pub(crate) fn new(
        id: TransceiverId,
        kind: MediaKind,
        init: TransceiverInit,
        track_id: String,
    ) -> Self {
        Transceiver {
            id,
            kind,
            mid: None,
            direction: init.direction,
            current_direction: None,
            stopping: init.direction == Direction::Stopped,
            stopped: false,
            stream_ids: init.stream_ids,
            track_id,
            codecs: default_codecs(kind),
            negotiated_codecs: Vec::new(),
            created_by_remote: false,
        }
    }

    /// The handle.
    pub fn id(&self) -> TransceiverId {
        self.id
    }

    /// Audio or video.
    pub fn kind(&self) -> MediaKind {
        self.kind
    }

    /// The negotiated mid, once an offer or answer associated it (W3C `mid`).
    pub fn mid(&self) -> Option<&str> {
        self.mid.as_deref()
    }

    /// The preferred direction (W3C `direction`).
    pub fn direction(&self) -> Direction {
        self.direction
    }

    /// The direction of the last applied answer, from our side (W3C `currentDirection`).
    pub fn current_direction(&self) -> Option<Direction> {
        if self.stopped {
            return Some(Direction::Stopped);
        }
        self.current_direction
    }

    /// Whether `stop` was called (W3C `[[Stopping]]`).
    pub fn stopping(&self) -> bool {
        self.stopping
    }

    /// Whether the transceiver is stopped: its m-section is rejected (W3C `[[Stopped]]`).
    pub fn stopped(&self) -> bool {
        self.stopped
    }

    /// Stream ids signaled in `a=msid`.
    pub fn stream_ids(&self) -> &[String] {
        &self.stream_ids
    }

    /// The codecs of the last negotiation, with the payload types the answer chose.
    pub fn negotiated_codecs(&self) -> &[Codec] {
        &self.negotiated_codecs
    }

    /// Our codec preferences, in order.
    pub fn codec_preferences(&self) -> &[Codec] {
        &self.codecs
    }
}

/// The codecs offered by default, in Chromium's order (media details come with the media
/// layer).
pub(crate) fn default_codecs(kind: MediaKind) -> Vec<Codec> {
    let fb = |t: &str, p: Option<&str>| RtcpFeedback::new(t, p);
    match kind {
        MediaKind::Audio => vec![
            Codec::new(111, "opus", 48000, Some(2))
                .with_fmtp("minptime=10;useinbandfec=1")
                .with_feedback(fb("transport-cc", None)),
            Codec::new(0, "PCMU", 8000, None),
            Codec::new(8, "PCMA", 8000, None),
        ],
        MediaKind::Video => {
            let video_fb = |c: Codec| {
                c.with_feedback(fb("goog-remb", None))
                    .with_feedback(fb("transport-cc", None))
                    .with_feedback(fb("ccm", Some("fir")))
                    .with_feedback(fb("nack", None))
                    .with_feedback(fb("nack", Some("pli")))
            };
            vec![
                video_fb(Codec::new(96, "VP8", 90000, None)),
                Codec::new(97, "rtx", 90000, None).with_fmtp("apt=96"),
                video_fb(Codec::new(102, "H264", 90000, None)).with_fmtp(
                    "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
                ),
                Codec::new(103, "rtx", 90000, None).with_fmtp("apt=102"),
            ]
        }
    }
}

/// Codecs of an offer we can take, keeping the offer's payload types and order
/// (JSEP RFC 8829 §5.3.1): matched by name, clock rate, channels and, for H.264, the
/// profile and packetization mode; RTX kept when its `apt` codec is kept.
pub(crate) fn intersect_codecs(ours: &[Codec], offered: &[Codec]) -> Vec<Codec> {
    let mut out: Vec<Codec> = Vec::new();
    for c in offered {
        if c.encoding_name.eq_ignore_ascii_case("rtx") {
            continue;
        }
        let Some(mine) = ours.iter().find(|o| codec_matches(o, c)) else {
            continue;
        };
        let mut chosen = c.clone();
        // Feedback both sides support.
        chosen.feedback.retain(|f| mine.feedback.contains(f));
        out.push(chosen);
    }
    let kept: Vec<u8> = out.iter().map(|c| c.payload_type).collect();
    for c in offered {
        if c.encoding_name.eq_ignore_ascii_case("rtx")
            && c.fmtp_param("apt")
                .and_then(|a| a.parse::<u8>().ok())
                .is_some_and(|apt| kept.contains(&apt))
        {
            out.push(c.clone());
        }
    }
    out
}

fn codec_matches(a: &Codec, b: &Codec) -> bool {
    if !a.encoding_name.eq_ignore_ascii_case(&b.encoding_name) || a.clock_rate != b.clock_rate {
        return false;
    }
    if a.channels() != b.channels() {
        return false;
    }
    if a.encoding_name.eq_ignore_ascii_case("h264") {
        let profile = |c: &Codec| {
            c.fmtp_param("profile-level-id")
                .map(|p| p.get(..4).unwrap_or(p).to_ascii_lowercase())
        };
        let mode = |c: &Codec| c.fmtp_param("packetization-mode").unwrap_or("0").to_owned();
        return profile(a) == profile(b) && mode(a) == mode(b);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answer_directions() {
        use Direction::*;
        assert_eq!(SendRecv.answer_to(SendRecv), SendRecv);
        assert_eq!(SendRecv.answer_to(SendOnly), RecvOnly);
        assert_eq!(SendRecv.answer_to(RecvOnly), SendOnly);
        assert_eq!(SendOnly.answer_to(SendOnly), Inactive);
        assert_eq!(RecvOnly.answer_to(SendRecv), RecvOnly);
        assert_eq!(SendRecv.answer_to(Inactive), Inactive);
        assert_eq!(SendOnly.reverse(), RecvOnly);
    }

    #[test]
    fn codec_intersection_keeps_offered_payload_types() {
        let offered = vec![
            Codec::new(100, "VP8", 90000, None),
            Codec::new(101, "rtx", 90000, None).with_fmtp("apt=100"),
            Codec::new(45, "AV1", 90000, None),
            Codec::new(46, "rtx", 90000, None).with_fmtp("apt=45"),
            Codec::new(127, "H264", 90000, None)
                .with_fmtp("profile-level-id=42e01f;packetization-mode=1"),
            Codec::new(125, "H264", 90000, None)
                .with_fmtp("profile-level-id=42e01f;packetization-mode=0"),
        ];
        let got = intersect_codecs(&default_codecs(MediaKind::Video), &offered);
        let pts: Vec<u8> = got.iter().map(|c| c.payload_type).collect();
        assert_eq!(pts, [100, 127, 101]);
    }
}
