//! SCTP (RFC 9260) over DTLS (RFC 8261), sans-IO, and WebRTC data channels (RFC 8831, RFC 8832).
#![forbid(unsafe_code)]

pub mod error;
pub mod wire;

pub use error::{Error, Result};

#[cfg(feature = "fuzzing")]
pub mod fuzzing;
