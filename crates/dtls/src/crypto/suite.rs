//! The AEAD cipher suites this crate negotiates.

use super::PrfHash;
use crate::wire::CipherSuite;
use ring::aead;

/// Which certificate key type a suite authenticates with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthKind {
    /// ECDHE_ECDSA: ECDSA or Ed25519 keys (RFC 8422 §2).
    Ecdsa,
    /// ECDHE_RSA: RSA keys.
    Rsa,
}

/// Static parameters of a suite.
#[derive(Debug)]
pub(crate) struct SuiteParams {
    pub(crate) suite: CipherSuite,
    pub(crate) aead: &'static aead::Algorithm,
    /// `fixed_iv_length`: 4 (GCM salt, RFC 5288 §3) or 12 (ChaCha20, RFC 7905 §2).
    pub(crate) fixed_iv_len: usize,
    /// Explicit nonce carried in each record: 8 for GCM, 0 for ChaCha20.
    pub(crate) explicit_nonce_len: usize,
    pub(crate) prf: PrfHash,
    pub(crate) auth: AuthKind,
}

/// Every suite this crate supports, in its default order of preference (AES-128-GCM first:
/// the one WebRTC endpoints must implement).
pub const SUPPORTED_CIPHER_SUITES: &[CipherSuite] = &[
    CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
];

static SUITES: [SuiteParams; 6] = [
    SuiteParams {
        suite: CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        aead: &aead::AES_128_GCM,
        fixed_iv_len: 4,
        explicit_nonce_len: 8,
        prf: PrfHash::Sha256,
        auth: AuthKind::Ecdsa,
    },
    SuiteParams {
        suite: CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        aead: &aead::AES_256_GCM,
        fixed_iv_len: 4,
        explicit_nonce_len: 8,
        prf: PrfHash::Sha384,
        auth: AuthKind::Ecdsa,
    },
    SuiteParams {
        suite: CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        aead: &aead::CHACHA20_POLY1305,
        fixed_iv_len: 12,
        explicit_nonce_len: 0,
        prf: PrfHash::Sha256,
        auth: AuthKind::Ecdsa,
    },
    SuiteParams {
        suite: CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        aead: &aead::AES_128_GCM,
        fixed_iv_len: 4,
        explicit_nonce_len: 8,
        prf: PrfHash::Sha256,
        auth: AuthKind::Rsa,
    },
    SuiteParams {
        suite: CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        aead: &aead::AES_256_GCM,
        fixed_iv_len: 4,
        explicit_nonce_len: 8,
        prf: PrfHash::Sha384,
        auth: AuthKind::Rsa,
    },
    SuiteParams {
        suite: CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        aead: &aead::CHACHA20_POLY1305,
        fixed_iv_len: 12,
        explicit_nonce_len: 0,
        prf: PrfHash::Sha256,
        auth: AuthKind::Rsa,
    },
];

/// The parameters of `suite`, if this crate supports it.
pub(crate) fn suite_params(suite: CipherSuite) -> Option<&'static SuiteParams> {
    SUITES.iter().find(|s| s.suite == suite)
}
