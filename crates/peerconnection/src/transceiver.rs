//! The transceiver model (W3C `RTCRtpTransceiver`): one per audio or video m-section.
//!
//! A transceiver pairs an [`RtpSender`](crate::RtpSender) and an
//! [`RtpReceiver`](crate::RtpReceiver) on one m-section: its mid, direction, current
//! direction, codec preferences and stopping state live here; the media state in
//! [`crate::media`].

use crate::media::{MediaStreamTrack, RtpEncodingParameters};
use oxrtc_sdp::{Codec, Direction as SdpDirection, MediaKind as SdpMediaKind};
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
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TransceiverInit {
    /// Initial direction. Default sendrecv.
    pub direction: Direction,
    /// Media stream ids for `a=msid` (W3C `streams`).
    pub stream_ids: Vec<String>,
    /// The sender's encodings (W3C `sendEncodings`): empty for one encoding; several with
    /// rids for simulcast (RFC 8853).
    pub send_encodings: Vec<RtpEncodingParameters>,
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
    /// The sender's track (W3C `sender.track`).
    pub(crate) sender_track: Option<MediaStreamTrack>,
    /// Some applied answer let it send (W3C: a sender "used to send" is not reused by
    /// `addTrack`).
    pub(crate) ever_sent: bool,
    /// The track event fired for the remote's current sending (W3C `[[FiredDirection]]`).
    pub(crate) fired_recv: bool,
    /// The remote track id from the peer's `a=msid`.
    pub(crate) remote_track_id: Option<String>,
    /// The remote stream ids from the peer's `a=msid`.
    pub(crate) remote_stream_ids: Vec<String>,
}

impl Transceiver {
    pub(crate) fn new(
        id: TransceiverId,
        kind: MediaKind,
        init: TransceiverInit,
        track_id: String,
        track: Option<MediaStreamTrack>,
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
            track_id: track.as_ref().map_or(track_id, |t| t.id().to_owned()),
            codecs: crate::media::codecs::default_codecs(kind),
            negotiated_codecs: Vec::new(),
            created_by_remote: false,
            sender_track: track,
            ever_sent: false,
            fired_recv: false,
            remote_track_id: None,
            remote_stream_ids: Vec::new(),
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

    /// The sender's track (W3C `sender.track`).
    pub fn sender_track(&self) -> Option<&MediaStreamTrack> {
        self.sender_track.as_ref()
    }

    /// The remote track's id from the peer's `a=msid`, once signaled.
    pub fn remote_track_id(&self) -> Option<&str> {
        self.remote_track_id.as_deref()
    }

    /// The remote stream ids from the peer's `a=msid`.
    pub fn remote_stream_ids(&self) -> &[String] {
        &self.remote_stream_ids
    }
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
}
