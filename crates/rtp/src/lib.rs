//! RTP.
#![forbid(unsafe_code)]

pub mod assembler;
mod bits;
pub mod codec;
mod cursor;
pub mod error;
pub mod receiver;
pub mod rtcp;
pub mod rtp;
pub mod rtx;
pub mod sender;
pub mod types;

pub use error::{Error, Result};
pub use rtcp::RtcpPacket;
pub use rtp::{RtpHeader, RtpPacket};
pub use types::{ExtSeqNo, NtpTime, SeqNo, SeqNoUnwrapper, Ssrc};
