//! The crate's error type.

use crate::wire::{AttributeType, ErrorCode};

/// Everything that can go wrong while parsing, verifying or building STUN messages.
///
/// Variants are sorted by who is at fault: malformed input, a peer that misbehaved, something
/// unsupported, caller misuse, a local limit. [`Error::error_code`] gives the STUN error
/// response a server answers with, where there is one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The buffer is shorter than the header or than the header's length field says.
    #[error("buffer too short: need {needed} bytes, have {available}")]
    Truncated {
        /// Bytes the message needs.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// The two most significant bits are not zero or the magic cookie is wrong
    /// (RFC 8489 §5): this is not an RFC 5389/8489 STUN message.
    #[error("not a stun message")]
    NotStun,
    /// The header's length field is not a multiple of 4 (RFC 8489 §5).
    #[error("message length {0} is not a multiple of 4")]
    UnalignedLength(usize),
    /// An attribute's TLV runs past the end of the message.
    #[error("attribute {typ} overruns the message")]
    AttributeOverrun {
        /// The attribute's type.
        typ: AttributeType,
    },
    /// An attribute's value has a length its definition does not allow.
    #[error("attribute {typ} has invalid length {len}")]
    InvalidAttributeLength {
        /// The attribute's type.
        typ: AttributeType,
        /// The length found, in bytes.
        len: usize,
    },
    /// An attribute's value is malformed (bad address family, bad UTF-8, bad error class...).
    #[error("attribute {typ} has an invalid value: {reason}")]
    InvalidAttributeValue {
        /// The attribute's type.
        typ: AttributeType,
        /// What is wrong.
        reason: &'static str,
    },

    /// MESSAGE-INTEGRITY or MESSAGE-INTEGRITY-SHA256 does not match (RFC 8489 §14.5, §14.6).
    #[error("message integrity check failed")]
    IntegrityMismatch,
    /// FINGERPRINT does not match (RFC 8489 §14.7).
    #[error("fingerprint check failed")]
    FingerprintMismatch,
    /// The message has neither MESSAGE-INTEGRITY nor MESSAGE-INTEGRITY-SHA256.
    #[error("message carries no message integrity")]
    MissingIntegrity,
    /// The message has no FINGERPRINT.
    #[error("message carries no fingerprint")]
    MissingFingerprint,

    /// A PASSWORD-ALGORITHM this crate does not implement (RFC 8489 §18.5).
    #[error("password algorithm {0:#06x} is not supported")]
    UnsupportedPasswordAlgorithm(u16),

    /// An attribute was added after MESSAGE-INTEGRITY(-SHA256) or FINGERPRINT, where the
    /// receiver would ignore it (RFC 8489 §14.5-§14.7).
    #[error("attribute {typ} cannot follow message integrity or fingerprint")]
    AttributeOrder {
        /// The attribute's type.
        typ: AttributeType,
    },
    /// An attribute value is longer than its definition allows.
    #[error("value of {len} bytes is too long for attribute {typ}")]
    ValueTooLong {
        /// The attribute's type.
        typ: AttributeType,
        /// The value's length, in bytes.
        len: usize,
    },
    /// The message body would exceed the 16-bit length field.
    #[error("message would exceed the maximum stun message size")]
    MessageTooLong,
    /// A client transaction was started with something that is not a STUN request.
    #[error("not a stun request")]
    NotARequest,
    /// A transaction with this id is already running.
    #[error("transaction id already in use")]
    DuplicateTransaction,

    /// More attributes than [`MAX_ATTRIBUTES`](crate::wire::MAX_ATTRIBUTES) in one message.
    #[error("more than {0} attributes")]
    TooManyAttributes(usize),
}

impl Error {
    /// The error response a server sends for this error, if any: 400 (Bad Request) for
    /// malformed requests, 401 (Unauthorized) for a failed integrity check (RFC 8489 §9.1.3,
    /// §9.2.4). Messages that fail the FINGERPRINT check are dropped, not answered.
    pub fn error_code(&self) -> Option<ErrorCode<'static>> {
        match self {
            Error::UnalignedLength(_)
            | Error::AttributeOverrun { .. }
            | Error::InvalidAttributeLength { .. }
            | Error::InvalidAttributeValue { .. }
            | Error::MissingIntegrity
            | Error::TooManyAttributes(_) => Some(ErrorCode::BAD_REQUEST),
            Error::IntegrityMismatch => Some(ErrorCode::UNAUTHORIZED),
            _ => None,
        }
    }
}
