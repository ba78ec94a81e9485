//! Cryptographic building blocks, all on ring: the TLS 1.2 PRF (RFC 5246 §5), the AEAD
//! record protection (RFC 5288, RFC 7905), ECDHE (RFC 8422) and signature verification.

mod aead;
mod kx;
mod prf;
mod suite;
mod verify;

pub(crate) use aead::RecordCipher;
pub(crate) use kx::{agree, KeyShare};
pub(crate) use prf::{prf, PrfHash};
pub use suite::SUPPORTED_CIPHER_SUITES;
pub(crate) use suite::{suite_params, AuthKind, SuiteParams};
pub(crate) use verify::{verify_signature, KeyKind, PeerPublicKey, VERIFY_SCHEMES};
