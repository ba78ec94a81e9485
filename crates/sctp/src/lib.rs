//! SCTP (RFC 9260) over DTLS (RFC 8261), sans-IO, and WebRTC data channels (RFC 8831, RFC 8832).
#![forbid(unsafe_code)]

mod association;
pub mod config;
mod cookie;
pub mod dcep;
pub mod error;
mod recv;
mod send;
pub mod wire;

pub use association::{Association, CloseReason, Event, State, Stats};
pub use config::{ChannelConfig, Config};
pub use error::{Error, Result};

#[cfg(feature = "fuzzing")]
pub mod fuzzing;
