//! Connection configuration.

use crate::crypto::SUPPORTED_CIPHER_SUITES;
use crate::wire::{CipherSuite, NamedGroup};
use crate::{Certificate, Fingerprint, SrtpProtectionProfile};
use std::time::Duration;

/// Which side of the handshake this end plays (in WebRTC, from `a=setup`, RFC 8842 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Sends the ClientHello (`a=setup:active`).
    Client,
    /// Answers it (`a=setup:passive`).
    Server,
}

/// Configuration of a [`Connection`](crate::Connection).
///
/// Build with [`Config::new`] and adjust the public fields.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// Client or server.
    pub role: Role,
    /// Our certificate and key; its fingerprint goes into our SDP.
    pub certificate: Certificate,
    /// Fingerprints from the remote SDP; the peer's certificate must match one. May stay
    /// empty at creation and be set later with
    /// [`Connection::set_expected_remote_fingerprints`](crate::Connection::set_expected_remote_fingerprints):
    /// the handshake waits at the peer's Certificate until then.
    pub expected_remote_fingerprints: Vec<Fingerprint>,
    /// SRTP profiles to offer (client) or accept (server), most preferred first. Empty: no
    /// use_srtp extension (data channels only). Default: [`SrtpProtectionProfile::ALL`].
    pub srtp_profiles: Vec<SrtpProtectionProfile>,
    /// Cipher suites, most preferred first. Default: [`SUPPORTED_CIPHER_SUITES`].
    pub cipher_suites: Vec<CipherSuite>,
    /// ECDHE groups, most preferred first. Default: x25519, secp256r1, secp384r1.
    pub groups: Vec<NamedGroup>,
    /// Largest datagram produced, in bytes (handshake flights are fragmented to fit,
    /// the ClientHello included). Default 1200; at least
    /// [`MIN_MTU`](crate::MIN_MTU) (128).
    pub mtu: usize,
    /// First retransmission timeout of a flight (RFC 6347 §4.2.4.1). Default 1 s.
    pub initial_retransmit_timeout: Duration,
    /// Cap of the doubling retransmission timeout. Default 60 s (RFC 6347 §4.2.4.1).
    pub max_retransmit_timeout: Duration,
    /// The handshake fails with [`Error::HandshakeTimeout`](crate::Error::HandshakeTimeout)
    /// this long after the connection was created. Default 30 s.
    pub handshake_timeout: Duration,
    /// Server: send a HelloVerifyRequest with a stateless cookie before doing any work
    /// (RFC 6347 §4.2.1). Default true.
    pub hello_verify: bool,
    /// Server: the HMAC-SHA256 key of the cookie. `None`: drawn from the connection's RNG.
    /// Share one secret among the connections of a server to answer ClientHellos statelessly.
    pub cookie_secret: Option<[u8; 32]>,
}

impl Config {
    /// A configuration with the defaults listed on each field.
    pub fn new(role: Role, certificate: Certificate) -> Config {
        Config {
            role,
            certificate,
            expected_remote_fingerprints: Vec::new(),
            srtp_profiles: SrtpProtectionProfile::ALL.to_vec(),
            cipher_suites: SUPPORTED_CIPHER_SUITES.to_vec(),
            groups: vec![
                NamedGroup::X25519,
                NamedGroup::SECP256R1,
                NamedGroup::SECP384R1,
            ],
            mtu: 1200,
            initial_retransmit_timeout: Duration::from_secs(1),
            max_retransmit_timeout: Duration::from_secs(60),
            handshake_timeout: Duration::from_secs(30),
            hello_verify: true,
            cookie_secret: None,
        }
    }
}
