//! Errors of the peer connection, named after the W3C `DOMException`s a browser throws.

/// What went wrong in a peer connection call or on its transports.
///
/// The variants follow the exceptions of the W3C WebRTC API (`InvalidStateError`,
/// `InvalidModificationError`, `InvalidAccessError`, `OperationError`, `SyntaxError`,
/// `TypeError`) so code ported from JavaScript can react the same way.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The remote description could not be parsed (W3C `SyntaxError`).
    #[error("sdp syntax: {0}")]
    Sdp(#[from] oxrtc_sdp::Error),
    /// A description or candidate breaks a JSEP rule (W3C `InvalidAccessError`), e.g. an
    /// answer with an m-section the offer did not have, or no ICE credentials.
    #[error("invalid description: {0}")]
    InvalidDescription(String),
    /// A candidate string did not parse, or names an unknown m-section (W3C
    /// `OperationError`).
    #[error("invalid candidate: {0}")]
    InvalidCandidate(String),
    /// The call is not allowed in the current state (W3C `InvalidStateError`): e.g. an
    /// answer in `stable`, a rollback in `stable`, a send on a channel that is not open.
    #[error("invalid state: {0}")]
    InvalidState(&'static str),
    /// `set_local_description` was given an SDP other than the last one created (W3C
    /// `InvalidModificationError`: SDP munging is not supported).
    #[error("invalid modification: {0}")]
    InvalidModification(&'static str),
    /// The peer connection is closed; every call but getters and `close` fails with this.
    #[error("peer connection closed")]
    Closed,
    /// A bad argument (W3C `TypeError`), e.g. both `max_retransmits` and
    /// `max_packet_life_time` on a data channel, a label over 65535 bytes.
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
    /// A configuration value cannot be used (a bad ICE server URL, no certificate).
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// A message is larger than the remote's `a=max-message-size` (RFC 8841 §6; W3C
    /// `TypeError` on `send`).
    #[error("message of {size} bytes exceeds the remote's max-message-size of {max} bytes")]
    MessageTooLarge {
        /// Size of the message in bytes.
        size: usize,
        /// The remote's max-message-size in bytes.
        max: usize,
    },
    /// An id was already used: a negotiated data channel id, or a stream id in use
    /// (W3C `OperationError`).
    #[error("data channel id {0} in use")]
    ChannelIdInUse(u16),
    /// No data channel or transceiver with this handle.
    #[error("unknown handle")]
    UnknownHandle,
    /// Not supported by this implementation (W3C `NotSupportedError`).
    #[error("not supported: {0}")]
    NotSupported(&'static str),
    /// The DTLS transport failed (handshake error, fingerprint mismatch, fatal alert).
    #[error("dtls: {0}")]
    Dtls(oxrtc_dtls::Error),
    /// The SCTP association refused a command.
    #[error("sctp: {0}")]
    Sctp(String),
    /// An I/O error of the runtime (socket bind, send).
    #[error("io: {0}")]
    Io(String),
}

impl From<oxrtc_dtls::Error> for Error {
    fn from(e: oxrtc_dtls::Error) -> Self {
        Error::Dtls(e)
    }
}

impl From<oxrtc_sctp::Error> for Error {
    fn from(e: oxrtc_sctp::Error) -> Self {
        match e {
            oxrtc_sctp::Error::MessageTooLarge { size, max } => {
                Error::MessageTooLarge { size, max }
            }
            oxrtc_sctp::Error::StreamInUse(id) => Error::ChannelIdInUse(id),
            oxrtc_sctp::Error::ChannelNotOpen(_) => Error::InvalidState("data channel not open"),
            oxrtc_sctp::Error::NotEstablished => {
                Error::InvalidState("sctp association not established")
            }
            other => Error::Sctp(other.to_string()),
        }
    }
}
