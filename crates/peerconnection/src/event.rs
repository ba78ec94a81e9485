//! Events and connection states.

use crate::datachannel::{ChannelId, Message};
use crate::error::Error;
use crate::media::{EncodedFrame, KeyframeRequestKind, MediaPacket};
use crate::signaling::{IceCandidateInit, SignalingState};
use crate::transceiver::TransceiverId;
use serde::{Deserialize, Serialize};

/// Something the application should know; drain with
/// [`PeerConnection::poll_event`](crate::PeerConnection::poll_event). The W3C event each
/// variant stands for is named in its doc.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// `negotiationneeded`: create and send an offer (perfect negotiation does it here).
    NegotiationNeeded,
    /// `signalingstatechange`.
    SignalingStateChange(SignalingState),
    /// `icegatheringstatechange`.
    IceGatheringStateChange(IceGatheringState),
    /// `iceconnectionstatechange`.
    IceConnectionStateChange(IceConnectionState),
    /// `connectionstatechange`.
    ConnectionStateChange(PeerConnectionState),
    /// `icecandidate`: a local candidate to signal, or `None` (the null candidate) when
    /// gathering completed.
    IceCandidate(Option<IceCandidateInit>),
    /// `icecandidateerror`: a STUN or TURN server could not be used while gathering (W3C
    /// `RTCPeerConnectionIceErrorEvent`), e.g. a TURN server refused the credentials.
    IceCandidateError {
        /// The server's URL.
        url: String,
        /// The STUN error code (e.g. 401), or 701 when the server did not answer.
        error_code: u16,
        /// What went wrong.
        error_text: String,
    },
    /// `datachannel`: the remote opened a channel (it is open already).
    DataChannel(ChannelId),
    /// `open` on a data channel.
    ChannelOpen(ChannelId),
    /// `message` on a data channel.
    ChannelMessage {
        /// The channel.
        id: ChannelId,
        /// Text or binary payload.
        message: Message,
    },
    /// `bufferedamountlow` on a data channel.
    ChannelBufferedAmountLow(ChannelId),
    /// `close` on a data channel.
    ChannelClosed(ChannelId),
    /// `error` on a data channel (e.g. the remote's DCEP open was refused).
    ChannelError {
        /// The channel.
        id: ChannelId,
        /// What happened.
        error: Error,
    },
    /// `track`: the peer started sending on this transceiver (fired by
    /// `set_remote_description`, W3C "process the addition of a remote track"); its
    /// [`RtpReceiver`](crate::RtpReceiver) has the remote track id and stream ids.
    Track(TransceiverId),
    /// An RTP packet arrived on the transceiver's receiver (decrypted, RTX unwrapped,
    /// duplicates dropped), while packet delivery is on (the default).
    RtpPacket {
        /// The transceiver.
        transceiver: TransceiverId,
        /// The packet.
        packet: MediaPacket,
    },
    /// A frame was assembled on the receiver (after its transform), while frame delivery
    /// is on ([`RtpReceiver::set_deliver_frames`](crate::RtpReceiver::set_deliver_frames)).
    Frame {
        /// The transceiver.
        transceiver: TransceiverId,
        /// The frame.
        frame: EncodedFrame,
    },
    /// The peer asked this sender for a key frame (PLI or FIR): the application's encoder
    /// should produce one.
    KeyframeRequest {
        /// The transceiver.
        transceiver: TransceiverId,
        /// The simulcast layer asked about.
        rid: Option<String>,
        /// PLI or FIR.
        kind: KeyframeRequestKind,
    },
    /// `tonechange` of the sender's DTMF (W3C `RTCDTMFToneChangeEvent`): a tone started
    /// playing, or `""` when the tone buffer is done.
    DtmfToneChange {
        /// The transceiver.
        transceiver: TransceiverId,
        /// The tone, or empty.
        tone: String,
    },
    /// The connection failed for this reason (DTLS failure, fingerprint mismatch, ICE
    /// failure, SCTP abort); `ConnectionStateChange(Failed)` accompanies it.
    Failed(Error),
    /// Resolve this host name of a remote candidate (an mDNS `*.local` name, as browsers
    /// send by default) or of an ICE server, and answer with
    /// [`PeerConnection::handle_resolved`](crate::PeerConnection::handle_resolved). The
    /// tokio runtime does it (mDNS with the default feature `mdns`). Left unanswered, the
    /// candidate is dropped after 5 s.
    ResolveHostname(String),
}

/// ICE gathering state (W3C `RTCIceGatheringState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IceGatheringState {
    /// Not started.
    #[default]
    New,
    /// Candidates are being gathered.
    Gathering,
    /// Done; the null candidate was emitted.
    Complete,
}

/// ICE connection state (W3C `RTCIceConnectionState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IceConnectionState {
    /// Not started.
    #[default]
    New,
    /// Checks are running.
    Checking,
    /// A working pair was found.
    Connected,
    /// Checks are done and a pair is selected.
    Completed,
    /// No pair works.
    Failed,
    /// Consent was lost (RFC 7675); it may come back.
    Disconnected,
    /// The connection is closed.
    Closed,
}

/// Aggregate connection state (W3C `RTCPeerConnectionState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PeerConnectionState {
    /// Nothing started.
    #[default]
    New,
    /// ICE or DTLS is in progress.
    Connecting,
    /// ICE and DTLS are up.
    Connected,
    /// ICE lost connectivity.
    Disconnected,
    /// ICE or DTLS failed.
    Failed,
    /// Closed.
    Closed,
}
