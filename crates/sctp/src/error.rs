//! Error type of the crate.

/// Everything that can go wrong in this crate.
///
/// Variants are sorted by who is at fault: malformed input, peer misbehaviour, caller misuse,
/// local limits. A malformed packet from the network is dropped and counted in
/// the association statistics; it never tears the association down unless RFC 9260 says so.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // --- malformed input ---
    /// The input ended before a field or a declared length (RFC 9260 §3).
    #[error("truncated {0}")]
    Truncated(&'static str),
    /// A field had a value the RFC forbids (a length below the minimum, a bad count ...).
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// The CRC32C in the common header did not match (RFC 9260 §6.8) and zero checksum
    /// (RFC 9653) was not negotiated or the checksum was not zero.
    #[error("checksum mismatch")]
    BadChecksum,

    // --- peer misbehaved ---
    /// The packet's verification tag is not ours (RFC 9260 §8.5).
    #[error("verification tag mismatch")]
    BadVerificationTag,
    /// The peer broke a rule of the protocol; the association answers with ABORT where the RFC
    /// says so.
    #[error("protocol violation: {0}")]
    ProtocolViolation(&'static str),

    // --- unsupported ---
    /// The peer did not negotiate what the operation needs (an extension such as RE-CONFIG).
    #[error("unsupported: {0}")]
    Unsupported(&'static str),

    // --- caller misuse ---
    /// No data channel has this stream identifier.
    #[error("no data channel with id {0}")]
    UnknownChannel(u16),
    /// The channel is closing or closed; nothing more can be sent on it.
    #[error("data channel {0} is not open")]
    ChannelNotOpen(u16),
    /// The stream identifier is already used by another channel (RFC 8832 §4).
    #[error("stream id {0} is already in use")]
    StreamInUse(u16),
    /// The stream identifier is at or above the negotiated number of streams.
    #[error("stream id {0} is outside the negotiated streams")]
    InvalidStream(u16),
    /// A channel configuration sets both `max_retransmits` and `max_packet_life_time`, or
    /// another invalid combination (RFC 8831 §6.4).
    #[error("invalid channel configuration: {0}")]
    InvalidConfig(&'static str),
    /// The association is not established or has already closed.
    #[error("association is not established")]
    NotEstablished,

    // --- local limits ---
    /// The message is larger than the remote's max-message-size (RFC 8841) or the local
    /// limit.
    #[error("message of {size} bytes exceeds max-message-size of {max} bytes")]
    MessageTooLarge {
        /// Size of the rejected message in bytes.
        size: usize,
        /// The limit in force in bytes.
        max: usize,
    },
    /// Every stream identifier of our parity is in use.
    #[error("no free stream id")]
    NoStreamAvailable,
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
