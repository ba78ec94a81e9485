//! The crate's error type and its mapping to DTLS alerts.

use crate::wire::AlertDescription;

/// Everything that can go wrong in this crate.
///
/// Variants are sorted by who is at fault: malformed input, peer misbehaviour,
/// unsupported features, caller misuse, local limits. Each maps to the fatal alert sent
/// to the peer ([`Error::alert`], RFC 5246 §7.2.2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // ---- malformed input ----
    /// The input ended before the structure it announced.
    #[error("truncated {0}")]
    Truncated(&'static str),
    /// A field held a value the RFC forbids.
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// A record failed AEAD authentication (RFC 5246 §6.2.3.3).
    #[error("record authentication failed")]
    BadRecordMac,

    // ---- peer misbehaved ----
    /// A handshake message arrived out of the RFC's order.
    #[error("unexpected handshake message {0}")]
    UnexpectedMessage(&'static str),
    /// The peer certificate's fingerprint matches none of the expected ones (RFC 8122 §5).
    #[error("peer certificate fingerprint does not match the expected fingerprints")]
    FingerprintMismatch,
    /// The peer sent an empty Certificate message although one is required.
    #[error("peer sent no certificate")]
    NoCertificate,
    /// The peer certificate could not be read or carries an unusable key.
    #[error("bad peer certificate: {0}")]
    BadCertificate(&'static str),
    /// A ServerKeyExchange or CertificateVerify signature did not verify.
    #[error("peer signature does not verify")]
    BadSignature,
    /// The peer's Finished verify_data is wrong (RFC 5246 §7.4.9).
    #[error("finished verify_data mismatch")]
    BadFinished,
    /// The peer does not offer extended_master_secret, which this crate requires (RFC 7627).
    #[error("peer does not support extended_master_secret")]
    ExtendedMasterSecretRequired,
    /// The peer chose or offered nothing acceptable for this parameter.
    #[error("no shared {0}")]
    NoShared(&'static str),
    /// The peer chose a value it was not offered.
    #[error("peer chose an unoffered {0}")]
    NotOffered(&'static str),
    /// The peer speaks another protocol version than DTLS 1.2.
    #[error("peer does not speak DTLS 1.2")]
    ProtocolVersion,
    /// The peer's ECDHE public value is invalid.
    #[error("invalid key exchange value")]
    BadKeyExchange,
    /// The peer sent a fatal alert (RFC 5246 §7.2).
    #[error("received fatal alert {0:?}")]
    AlertReceived(AlertDescription),

    // ---- unsupported ----
    /// The certificate's key type cannot be used by this crate.
    #[error("unsupported key: {0}")]
    UnsupportedKey(&'static str),

    // ---- caller misuse ----
    /// The operation needs a completed handshake.
    #[error("connection is not established")]
    NotConnected,
    /// The connection was closed or failed before.
    #[error("connection is closed")]
    Closed,
    /// The configuration is unusable.
    #[error("invalid configuration: {0}")]
    InvalidConfig(&'static str),
    /// PEM or DER input given by the caller could not be read.
    #[error("invalid certificate or key input: {0}")]
    InvalidInput(&'static str),
    /// A keying material exporter label reserved by RFC 5705 §4 was used.
    #[error("reserved exporter label")]
    ReservedLabel,
    /// The negotiated connection has no SRTP profile.
    #[error("no SRTP profile was negotiated")]
    NoSrtpProfile,

    // ---- local limits ----
    /// The handshake did not finish within `Config::handshake_timeout`.
    #[error("handshake timed out")]
    HandshakeTimeout,
    /// Application data larger than one record (2^14 bytes, RFC 6347 §4.1.1).
    #[error("record too large")]
    RecordTooLarge,
    /// A length field cannot hold the value to encode.
    #[error("value too long to encode")]
    TooLong,
    /// The 48-bit record sequence number space is exhausted (RFC 6347 §4.1).
    #[error("record sequence numbers exhausted")]
    SequenceExhausted,
    /// ring or rcgen reported an internal failure.
    #[error("cryptographic failure")]
    Crypto,
}

impl Error {
    /// The fatal alert this error sends to the peer (RFC 5246 §7.2.2).
    pub fn alert(&self) -> AlertDescription {
        match self {
            Error::Truncated(_) | Error::Malformed(_) | Error::TooLong => {
                AlertDescription::DECODE_ERROR
            }
            Error::BadRecordMac => AlertDescription::BAD_RECORD_MAC,
            Error::UnexpectedMessage(_) => AlertDescription::UNEXPECTED_MESSAGE,
            Error::FingerprintMismatch => AlertDescription::BAD_CERTIFICATE,
            Error::NoCertificate => AlertDescription::HANDSHAKE_FAILURE,
            Error::BadCertificate(_) => AlertDescription::BAD_CERTIFICATE,
            Error::UnsupportedKey(_) => AlertDescription::UNSUPPORTED_CERTIFICATE,
            Error::BadSignature | Error::BadFinished => AlertDescription::DECRYPT_ERROR,
            Error::ExtendedMasterSecretRequired | Error::NoShared(_) => {
                AlertDescription::HANDSHAKE_FAILURE
            }
            Error::NotOffered(_) => AlertDescription::ILLEGAL_PARAMETER,
            Error::ProtocolVersion => AlertDescription::PROTOCOL_VERSION,
            Error::BadKeyExchange => AlertDescription::ILLEGAL_PARAMETER,
            Error::AlertReceived(_) | Error::HandshakeTimeout | Error::Closed => {
                AlertDescription::CLOSE_NOTIFY
            }
            _ => AlertDescription::INTERNAL_ERROR,
        }
    }
}

impl From<ring::error::Unspecified> for Error {
    fn from(_: ring::error::Unspecified) -> Self {
        Error::Crypto
    }
}
