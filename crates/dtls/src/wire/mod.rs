//! DTLS 1.2 wire formats: records (RFC 6347 §4.1), handshake messages (§4.2.2,
//! RFC 5246 §7.4), extensions and alerts.
//!
//! Every parser has a `write` twin; parsing never panics and never allocates more than the
//! input implies.

mod alert;
mod codec;
mod codepoints;
mod extension;
mod handshake;
mod record;

pub use alert::{Alert, AlertDescription, AlertLevel};
pub use codepoints::{
    CipherSuite, ContentType, HandshakeType, NamedGroup, ProtocolVersion, SignatureScheme,
};
pub use extension::{Extension, ExtensionType};
pub use handshake::{
    Certificate, CertificateRequest, CertificateVerify, ClientHello, ClientKeyExchange, Finished,
    HandshakeFragment, HandshakeHeader, HandshakeMessage, HelloVerifyRequest, ServerHello,
    ServerKeyExchange, HANDSHAKE_HEADER_LEN,
};
pub use record::{Record, RecordHeader, Records, RECORD_HEADER_LEN};

pub(crate) use codec::{Reader, Writer};
