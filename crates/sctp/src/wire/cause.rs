//! Error causes carried by ABORT and ERROR (RFC 9260 §3.3.10, RFC 6525 none added).
//!
//! ```text
//! |           Cause Code          |       Cause Length            |
//! \                    Cause-Specific Information                 /
//! ```

use super::{be16, be32, pad4};
use crate::error::{Error, Result};
use bytes::Bytes;

/// An error cause (RFC 9260 §3.3.10.1 - §3.3.10.13).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorCause {
    /// 1: Invalid Stream Identifier.
    InvalidStreamIdentifier {
        /// The stream identifier.
        stream_id: u16,
    },
    /// 2: Missing Mandatory Parameter, with the missing parameter types.
    MissingMandatoryParameter(Vec<u16>),
    /// 3: Stale Cookie Error, with the measure of staleness in microseconds.
    StaleCookie {
        /// How late the cookie was, in microseconds.
        staleness_us: u32,
    },
    /// 4: Out of Resource.
    OutOfResource,
    /// 5: Unresolvable Address (the address parameter, verbatim).
    UnresolvableAddress(Bytes),
    /// 6: Unrecognized Chunk Type (the chunk, verbatim).
    UnrecognizedChunkType(Bytes),
    /// 7: Invalid Mandatory Parameter.
    InvalidMandatoryParameter,
    /// 8: Unrecognized Parameters (the parameters, verbatim).
    UnrecognizedParameters(Bytes),
    /// 9: No User Data, with the TSN of the empty DATA chunk.
    NoUserData {
        /// The TSN.
        tsn: u32,
    },
    /// 10: Cookie Received While Shutting Down.
    CookieReceivedWhileShuttingDown,
    /// 11: Restart of an Association with New Addresses (the new addresses, verbatim).
    RestartWithNewAddresses(Bytes),
    /// 12: User-Initiated Abort, with the upper layer's reason.
    UserInitiatedAbort(Bytes),
    /// 13: Protocol Violation, with additional information.
    ProtocolViolation(Bytes),
    /// Any other cause code, kept verbatim.
    Other {
        /// Cause code.
        code: u16,
        /// Cause-specific information.
        info: Bytes,
    },
}

impl ErrorCause {
    /// Parses a cause from its code and information (padding removed).
    ///
    /// # Errors
    /// [`Error::Malformed`] when a fixed-size cause has the wrong length.
    pub fn parse(code: u16, v: Bytes) -> Result<ErrorCause> {
        let exact = |n: usize| {
            if v.len() == n {
                Ok(())
            } else {
                Err(Error::Malformed("error cause length"))
            }
        };
        Ok(match code {
            1 => {
                exact(4)?;
                ErrorCause::InvalidStreamIdentifier {
                    stream_id: be16(&v, 0)?,
                }
            }
            2 => {
                let n = be32(&v, 0)? as usize;
                if v.len() != 4 + 2 * n {
                    return Err(Error::Malformed("missing parameter count"));
                }
                ErrorCause::MissingMandatoryParameter(
                    (0..n).map(|i| be16(&v, 4 + 2 * i)).collect::<Result<_>>()?,
                )
            }
            3 => {
                exact(4)?;
                ErrorCause::StaleCookie {
                    staleness_us: be32(&v, 0)?,
                }
            }
            4 => {
                exact(0)?;
                ErrorCause::OutOfResource
            }
            5 => ErrorCause::UnresolvableAddress(v),
            6 => ErrorCause::UnrecognizedChunkType(v),
            7 => {
                exact(0)?;
                ErrorCause::InvalidMandatoryParameter
            }
            8 => ErrorCause::UnrecognizedParameters(v),
            9 => {
                exact(4)?;
                ErrorCause::NoUserData { tsn: be32(&v, 0)? }
            }
            10 => {
                exact(0)?;
                ErrorCause::CookieReceivedWhileShuttingDown
            }
            11 => ErrorCause::RestartWithNewAddresses(v),
            12 => ErrorCause::UserInitiatedAbort(v),
            13 => ErrorCause::ProtocolViolation(v),
            code => ErrorCause::Other { code, info: v },
        })
    }

    /// The cause code.
    #[must_use]
    pub fn code(&self) -> u16 {
        match self {
            ErrorCause::InvalidStreamIdentifier { .. } => 1,
            ErrorCause::MissingMandatoryParameter(_) => 2,
            ErrorCause::StaleCookie { .. } => 3,
            ErrorCause::OutOfResource => 4,
            ErrorCause::UnresolvableAddress(_) => 5,
            ErrorCause::UnrecognizedChunkType(_) => 6,
            ErrorCause::InvalidMandatoryParameter => 7,
            ErrorCause::UnrecognizedParameters(_) => 8,
            ErrorCause::NoUserData { .. } => 9,
            ErrorCause::CookieReceivedWhileShuttingDown => 10,
            ErrorCause::RestartWithNewAddresses(_) => 11,
            ErrorCause::UserInitiatedAbort(_) => 12,
            ErrorCause::ProtocolViolation(_) => 13,
            ErrorCause::Other { code, .. } => *code,
        }
    }

    /// Appends the cause padded to 4 bytes; returns the number of padding bytes added.
    pub fn write(&self, buf: &mut Vec<u8>) -> usize {
        let start = buf.len();
        buf.extend_from_slice(&self.code().to_be_bytes());
        buf.extend_from_slice(&[0, 0]);
        match self {
            ErrorCause::InvalidStreamIdentifier { stream_id } => {
                buf.extend_from_slice(&stream_id.to_be_bytes());
                buf.extend_from_slice(&[0, 0]);
            }
            ErrorCause::MissingMandatoryParameter(types) => {
                buf.extend_from_slice(&(types.len() as u32).to_be_bytes());
                for t in types {
                    buf.extend_from_slice(&t.to_be_bytes());
                }
            }
            ErrorCause::StaleCookie { staleness_us } => {
                buf.extend_from_slice(&staleness_us.to_be_bytes());
            }
            ErrorCause::NoUserData { tsn } => buf.extend_from_slice(&tsn.to_be_bytes()),
            ErrorCause::OutOfResource
            | ErrorCause::InvalidMandatoryParameter
            | ErrorCause::CookieReceivedWhileShuttingDown => {}
            ErrorCause::UnresolvableAddress(b)
            | ErrorCause::UnrecognizedChunkType(b)
            | ErrorCause::UnrecognizedParameters(b)
            | ErrorCause::RestartWithNewAddresses(b)
            | ErrorCause::UserInitiatedAbort(b)
            | ErrorCause::ProtocolViolation(b)
            | ErrorCause::Other { info: b, .. } => buf.extend_from_slice(b),
        }
        let len = (buf.len() - start) as u16;
        if let Some(l) = buf.get_mut(start + 2..start + 4) {
            l.copy_from_slice(&len.to_be_bytes());
        }
        let pad = pad4(buf.len()) - buf.len();
        buf.extend_from_slice(&[0u8; 3][..pad]);
        pad
    }
}
