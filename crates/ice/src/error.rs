//! The crate's error types.

use std::net::SocketAddr;

/// Why a candidate string did not parse (RFC 8839 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CandidateError {
    /// A required field is missing (the field's grammar name).
    #[error("candidate has no {0}")]
    Missing(&'static str),
    /// A field is malformed (the field's grammar name).
    #[error("candidate has an invalid {0}")]
    Invalid(&'static str),
    /// The connection address is neither an IP address nor a host name.
    #[error("candidate has an invalid connection address")]
    InvalidAddress,
    /// A transport other than UDP and TCP.
    #[error("candidate transport is not udp or tcp")]
    UnknownTransport,
    /// A candidate type other than host, srflx, prflx and relay.
    #[error("unknown candidate type")]
    UnknownType,
    /// A `tcptype` other than active, passive and so.
    #[error("unknown tcptype")]
    UnknownTcpType,
    /// The text given to [`CandidateInit::from_json`](crate::CandidateInit::from_json) is
    /// not a JSON `RTCIceCandidateInit` object.
    #[error("not a json candidate init object")]
    InvalidJson,
    /// Longer than [`MAX_CANDIDATE_LEN`](crate::MAX_CANDIDATE_LEN).
    #[error("candidate string too long")]
    TooLong,
    /// More than [`MAX_EXTENSIONS`](crate::MAX_EXTENSIONS) unknown extension attributes.
    #[error("too many candidate extensions")]
    TooManyExtensions,
}

/// Why an ICE server URL did not parse (RFC 7064, RFC 7065).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlError {
    /// The scheme is not `stun`, `stuns`, `turn` or `turns`.
    #[error("unknown ice server url scheme")]
    UnknownScheme,
    /// The host is empty or malformed.
    #[error("invalid host in ice server url")]
    InvalidHost,
    /// The port is not a number in 1..=65535.
    #[error("invalid port in ice server url")]
    InvalidPort,
    /// A query other than `transport=udp` / `transport=tcp` on a TURN URL, or any on STUN.
    #[error("invalid query in ice server url")]
    InvalidQuery,
}

/// Errors of the [`Agent`](crate::Agent).
///
/// Variants are sorted by who is at fault: malformed input, peer misbehaviour, unsupported,
/// caller misuse, local limits. A bad datagram never changes the agent's state; it is
/// counted in [`AgentStats`](crate::AgentStats).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A datagram that is not STUN (and did not come from a TURN server) was handed in.
    #[error("not a stun message")]
    NotStun,
    /// A STUN message failed to parse or verify.
    #[error("stun: {0}")]
    Stun(#[from] oxrtc_stun::Error),
    /// A STUN request's USERNAME does not name this agent's credentials (RFC 8445 §7.3).
    #[error("stun request for unknown username")]
    UnknownUsername,
    /// A response for no transaction this agent runs.
    #[error("stun response for no running transaction")]
    UnknownTransaction,
    /// A response whose source and destination are not the request's, reversed
    /// (RFC 8445 §7.2.5.2.1).
    #[error("non-symmetric response from {from}")]
    NonSymmetric {
        /// Where the response came from.
        from: SocketAddr,
    },
    /// A datagram arrived on a socket the agent does not know.
    #[error("datagram on unknown local socket {0}")]
    UnknownSocket(SocketAddr),
    /// A remote candidate the agent cannot use (other component, unsupported transport,
    /// filtered by the transport policy, or an address family no local socket has).
    #[error("remote candidate not usable: {0}")]
    UnusableCandidate(&'static str),
    /// The remote candidate's ufrag is not the current remote username fragment: it is from
    /// before an ICE restart.
    #[error("remote candidate belongs to another ice generation")]
    StaleCandidate,
    /// The local socket's address is unspecified, multicast, link-local, or loopback while
    /// loopback is not included.
    #[error("local socket address not usable: {0}")]
    UnusableSocket(SocketAddr),
    /// Not a failure: [`Agent::send`](crate::Agent::send) queued the data behind a TURN
    /// permission being installed; it leaves through `poll_transmit`.
    #[error("data queued behind a turn permission")]
    Queued,
    /// `send` was called with no pair to send on.
    #[error("no selected candidate pair")]
    NoSelectedPair,
    /// The remote credentials are not valid ICE credentials (RFC 8839 §5.4: ufrag 4 to 256
    /// and pwd 22 to 256 `ice-char`s).
    #[error("invalid ice credentials")]
    InvalidCredentials,
    /// The agent is closed.
    #[error("agent is closed")]
    Closed,
    /// A limit of the configuration (remote candidates, pairs, sockets) is reached.
    #[error("limit reached: {0}")]
    LimitReached(&'static str),
}
