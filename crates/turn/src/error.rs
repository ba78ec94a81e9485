//! The crate's error types: [`Error`] and the typed error responses, [`ResponseError`].

use std::net::{IpAddr, SocketAddr};

use oxrtc_stun::{AlternateServer, AttributeType, ErrorCode, Message, UnknownAttributes};

/// Everything that can go wrong in the TURN client, the server core and the framing.
///
/// Variants are sorted by who is at fault: malformed input, the server or a peer, something
/// unsupported, caller misuse, a local limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A STUN message failed to parse, verify or build.
    #[error("stun: {0}")]
    Stun(#[from] oxrtc_stun::Error),
    /// The buffer is shorter than a header or than the length it announces.
    #[error("buffer too short: need {needed} bytes, have {available}")]
    Truncated {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// A channel number outside 0x4000..=0x4FFF (RFC 8656 §12).
    #[error("invalid channel number {0:#06x}")]
    InvalidChannelNumber(u16),
    /// Bytes that are neither a STUN message nor ChannelData (RFC 7983 §7): on a stream
    /// transport the framing is lost and the connection should be closed.
    #[error("neither stun nor channel data")]
    NotTurn,
    /// A response or indication lacks an attribute it must carry.
    #[error("missing attribute {0}")]
    MissingAttribute(AttributeType),

    /// The server answered with an error response.
    #[error("error response: {0}")]
    Response(ResponseError),
    /// The server did not answer in time (RFC 8489 §6.2.1).
    #[error("the server did not answer")]
    Timeout,
    /// A datagram came from an address that is not the TURN server.
    #[error("datagram from {0}, not from the turn server")]
    UnexpectedSource(SocketAddr),
    /// ALTERNATE-SERVER pointed back to a server already tried, or too many redirects
    /// (RFC 8489 §10).
    #[error("redirect loop through {0}")]
    RedirectLoop(SocketAddr),
    /// The allocation expired before it could be refreshed, or the server no longer knows
    /// it (437).
    #[error("the allocation expired")]
    AllocationExpired,
    /// A server's 401 nonce cookie announced password algorithms but gave none
    /// (RFC 8489 §9.2.5): the client must not retry.
    #[error("the server announced password algorithms but sent none")]
    MissingPasswordAlgorithms,

    /// No password algorithm offered by the server is supported (RFC 8489 §9.2.5).
    #[error("no supported password algorithm offered")]
    UnsupportedPasswordAlgorithm,

    /// The command needs an allocation and there is none (yet, or any more).
    #[error("no allocation")]
    NotAllocated,
    /// `allocate` while an allocation exists or is being made.
    #[error("an allocation exists or is in progress")]
    AlreadyAllocated,
    /// The peer's address family differs from the relayed address's (RFC 8656 §9.1, 443).
    #[error("peer {0} is not of the relayed address's family")]
    PeerAddressFamilyMismatch(IpAddr),
    /// A permission for this peer was refused by the server; call
    /// `create_permission` to try again.
    #[error("permission for {0} was refused")]
    PermissionRefused(IpAddr),
    /// The command needs a TCP allocation (RFC 6062) or a stream connection to the server.
    #[error("needs a tcp allocation over a stream transport (rfc 6062)")]
    NotTcpAllocation,
    /// No pending TCP connection has this CONNECTION-ID (RFC 6062).
    #[error("unknown connection id {0}")]
    UnknownConnection(u32),
    /// The data connection is not in a state that accepts this call.
    #[error("invalid state for this call")]
    InvalidState,

    /// Every channel number 0x4000..=0x4FFF is in use.
    #[error("no channel number left")]
    ChannelsExhausted,
    /// Application data longer than a ChannelData message or a DATA attribute can carry.
    #[error("data of {0} bytes is too long to relay")]
    DataTooLong(usize),
    /// The TLS layer failed (feature `tls`).
    #[error("tls: {0}")]
    Tls(String),
}

impl Error {
    /// The error code when this is an error response from the server (for example to
    /// report it as an ICE candidate error); `None` otherwise.
    pub fn response_code(&self) -> Option<u16> {
        match self {
            Error::Response(r) => Some(r.code()),
            _ => None,
        }
    }
}

impl From<ResponseError> for Error {
    fn from(value: ResponseError) -> Self {
        Error::Response(value)
    }
}

/// A STUN/TURN error response, typed: one variant per registered code a TURN server sends
/// (RFC 8489 §14.8, RFC 8656 §19, RFC 6062 §6.3), and [`ResponseError::Other`] for the rest.
///
/// The server core uses the same type to answer, so both halves agree on the codes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ResponseError {
    /// 300 Try Alternate, with the ALTERNATE-SERVER it named (RFC 8489 §10).
    #[error("300 try alternate {alternate:?}")]
    TryAlternate {
        /// The server to try instead, if the response named one.
        alternate: Option<SocketAddr>,
    },
    /// 400 Bad Request: malformed request or a missing required attribute.
    #[error("400 bad request")]
    BadRequest,
    /// 401 Unauthenticated: missing or wrong credentials.
    #[error("401 unauthenticated")]
    Unauthorized,
    /// 403 Forbidden: the server refuses (for example a peer address it does not relay to).
    #[error("403 forbidden")]
    Forbidden,
    /// 420 Unknown Attribute, with the attribute types the server did not understand.
    #[error("420 unknown attribute {0:?}")]
    UnknownAttribute(Vec<AttributeType>),
    /// 437 Allocation Mismatch: no allocation for this 5-tuple, or one already exists.
    #[error("437 allocation mismatch")]
    AllocationMismatch,
    /// 438 Stale Nonce: the nonce expired; retry with the new one (the client does).
    #[error("438 stale nonce")]
    StaleNonce,
    /// 440 Address Family not Supported (REQUESTED-ADDRESS-FAMILY).
    #[error("440 address family not supported")]
    AddressFamilyNotSupported,
    /// 441 Wrong Credentials: not the credentials that created the allocation.
    #[error("441 wrong credentials")]
    WrongCredentials,
    /// 442 Unsupported Transport Protocol (REQUESTED-TRANSPORT).
    #[error("442 unsupported transport protocol")]
    UnsupportedTransportProtocol,
    /// 443 Peer Address Family Mismatch.
    #[error("443 peer address family mismatch")]
    PeerAddressFamilyMismatch,
    /// 446 Connection Already Exists (RFC 6062).
    #[error("446 connection already exists")]
    ConnectionAlreadyExists,
    /// 447 Connection Timeout or Failure (RFC 6062).
    #[error("447 connection timeout or failure")]
    ConnectionTimeoutOrFailure,
    /// 486 Allocation Quota Reached.
    #[error("486 allocation quota reached")]
    AllocationQuotaReached,
    /// 500 Server Error.
    #[error("500 server error")]
    ServerError,
    /// 508 Insufficient Capacity.
    #[error("508 insufficient capacity")]
    InsufficientCapacity,
    /// Any other code, with its reason phrase.
    #[error("{code} {reason}")]
    Other {
        /// The error code, 300..=699.
        code: u16,
        /// The reason phrase as received.
        reason: String,
    },
}

impl ResponseError {
    /// The numeric error code.
    pub fn code(&self) -> u16 {
        match self {
            ResponseError::TryAlternate { .. } => 300,
            ResponseError::BadRequest => 400,
            ResponseError::Unauthorized => 401,
            ResponseError::Forbidden => 403,
            ResponseError::UnknownAttribute(_) => 420,
            ResponseError::AllocationMismatch => 437,
            ResponseError::StaleNonce => 438,
            ResponseError::AddressFamilyNotSupported => 440,
            ResponseError::WrongCredentials => 441,
            ResponseError::UnsupportedTransportProtocol => 442,
            ResponseError::PeerAddressFamilyMismatch => 443,
            ResponseError::ConnectionAlreadyExists => 446,
            ResponseError::ConnectionTimeoutOrFailure => 447,
            ResponseError::AllocationQuotaReached => 486,
            ResponseError::ServerError => 500,
            ResponseError::InsufficientCapacity => 508,
            ResponseError::Other { code, .. } => *code,
        }
    }

    /// The ERROR-CODE attribute for this error, with the RFC reason phrase.
    pub fn error_code(&self) -> ErrorCode<'_> {
        match self {
            ResponseError::Other { code, reason } => ErrorCode::new(*code, reason),
            other => ErrorCode::from_code(other.code()),
        }
    }

    /// The typed error of an error response message: its ERROR-CODE, and the
    /// ALTERNATE-SERVER or UNKNOWN-ATTRIBUTES that go with 300 and 420. A missing or
    /// malformed ERROR-CODE reads as code 0 in [`ResponseError::Other`].
    pub fn from_message<T: AsRef<[u8]>>(message: &Message<T>) -> Self {
        let (code, reason) = match message.attribute::<ErrorCode<'_>>() {
            Ok(Some(e)) => (e.code, e.reason.to_owned()),
            _ => (0, String::new()),
        };
        match code {
            300 => ResponseError::TryAlternate {
                alternate: message
                    .attribute::<AlternateServer>()
                    .ok()
                    .flatten()
                    .map(|a| a.0),
            },
            420 => ResponseError::UnknownAttribute(
                message
                    .attribute::<UnknownAttributes>()
                    .ok()
                    .flatten()
                    .map(|u| u.0)
                    .unwrap_or_default(),
            ),
            code => ResponseError::from_code(code, &reason),
        }
    }

    /// The typed error for a code; 300 and 420 come without their attributes.
    pub fn from_code(code: u16, reason: &str) -> Self {
        match code {
            300 => ResponseError::TryAlternate { alternate: None },
            400 => ResponseError::BadRequest,
            401 => ResponseError::Unauthorized,
            403 => ResponseError::Forbidden,
            420 => ResponseError::UnknownAttribute(Vec::new()),
            437 => ResponseError::AllocationMismatch,
            438 => ResponseError::StaleNonce,
            440 => ResponseError::AddressFamilyNotSupported,
            441 => ResponseError::WrongCredentials,
            442 => ResponseError::UnsupportedTransportProtocol,
            443 => ResponseError::PeerAddressFamilyMismatch,
            446 => ResponseError::ConnectionAlreadyExists,
            447 => ResponseError::ConnectionTimeoutOrFailure,
            486 => ResponseError::AllocationQuotaReached,
            500 => ResponseError::ServerError,
            508 => ResponseError::InsufficientCapacity,
            code => ResponseError::Other {
                code,
                reason: reason.to_owned(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxrtc_stun::{Class, MessageBuilder, Method, TransactionId};

    #[test]
    fn every_known_code_round_trips() {
        for code in [
            400, 401, 403, 437, 438, 440, 441, 442, 443, 446, 447, 486, 500, 508,
        ] {
            let e = ResponseError::from_code(code, "x");
            assert_eq!(e.code(), code);
            assert!(!matches!(e, ResponseError::Other { .. }), "{code}");
            assert_eq!(e.error_code().code, code);
        }
        assert_eq!(
            Error::Response(ResponseError::StaleNonce).response_code(),
            Some(438)
        );
        assert_eq!(Error::Timeout.response_code(), None);
        let other = ResponseError::from_code(599, "Odd");
        assert_eq!(
            other,
            ResponseError::Other {
                code: 599,
                reason: "Odd".into()
            }
        );
        assert_eq!(other.error_code(), ErrorCode::new(599, "Odd"));
    }

    #[test]
    fn from_message_reads_alternate_server_and_unknown_attributes() {
        let alt: SocketAddr = "192.0.2.9:3478".parse().unwrap();
        let mut out = Vec::new();
        let mut b = MessageBuilder::new(
            &mut out,
            Class::ErrorResponse,
            Method::Allocate,
            TransactionId([1; 12]),
        );
        b.add(&ErrorCode::TRY_ALTERNATE).unwrap();
        b.add(&AlternateServer(alt)).unwrap();
        let msg = Message::new_checked(&out[..]).unwrap();
        assert_eq!(
            ResponseError::from_message(&msg),
            ResponseError::TryAlternate {
                alternate: Some(alt)
            }
        );

        let mut out = Vec::new();
        let mut b = MessageBuilder::new(
            &mut out,
            Class::ErrorResponse,
            Method::Allocate,
            TransactionId([1; 12]),
        );
        b.add(&ErrorCode::UNKNOWN_ATTRIBUTE).unwrap();
        b.add(&UnknownAttributes(vec![AttributeType::DONT_FRAGMENT]))
            .unwrap();
        let msg = Message::new_checked(&out[..]).unwrap();
        assert_eq!(
            ResponseError::from_message(&msg),
            ResponseError::UnknownAttribute(vec![AttributeType::DONT_FRAGMENT])
        );

        // No ERROR-CODE at all.
        let mut out = Vec::new();
        MessageBuilder::new(
            &mut out,
            Class::ErrorResponse,
            Method::Allocate,
            TransactionId([1; 12]),
        );
        let msg = Message::new_checked(&out[..]).unwrap();
        assert_eq!(ResponseError::from_message(&msg).code(), 0);
    }
}
