//! Parameters of INIT / INIT ACK (RFC 9260 §3.3.2.1), HEARTBEAT, and RE-CONFIG (RFC 6525
//! §4), with the extension parameters of RFC 3758, RFC 5061 and RFC 9653.
//!
//! ```text
//! |          Parameter Type       |       Parameter Length        |
//! \                       Parameter Value                         /
//! ```

use super::{be16, be32, pad4};
use crate::error::{Error, Result};
use bytes::Bytes;

/// Parameter type codes.
pub(crate) mod code {
    pub const HEARTBEAT_INFO: u16 = 1;
    pub const STATE_COOKIE: u16 = 7;
    pub const UNRECOGNIZED_PARAMETER: u16 = 8;
    pub const COOKIE_PRESERVATIVE: u16 = 9;
    pub const OUTGOING_SSN_RESET: u16 = 13;
    pub const INCOMING_SSN_RESET: u16 = 14;
    pub const SSN_TSN_RESET: u16 = 15;
    pub const RECONFIG_RESPONSE: u16 = 16;
    pub const ADD_OUTGOING_STREAMS: u16 = 17;
    pub const ADD_INCOMING_STREAMS: u16 = 18;
    pub const ZERO_CHECKSUM_ACCEPTABLE: u16 = 0x8001;
    pub const SUPPORTED_EXTENSIONS: u16 = 0x8008;
    pub const FORWARD_TSN_SUPPORTED: u16 = 0xC000;
}

/// A parameter. Unknown types are kept as [`Param::Unknown`]; the two high bits of the type
/// say what to do with them (RFC 9260 §3.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Param {
    /// Heartbeat Info (type 1, RFC 9260 §3.3.5).
    HeartbeatInfo(Bytes),
    /// State Cookie (type 7, RFC 9260 §3.3.3.1).
    StateCookie(Bytes),
    /// Unrecognized Parameter (type 8): the unrecognised parameter TLV, verbatim.
    UnrecognizedParameter(Bytes),
    /// Cookie Preservative (type 9): suggested cookie life-span increment in milliseconds.
    CookiePreservative(u32),
    /// Outgoing SSN Reset Request (type 13, RFC 6525 §4.1).
    OutgoingSsnResetRequest {
        /// Re-configuration Request Sequence Number.
        request_sequence: u32,
        /// Re-configuration Response Sequence Number.
        response_sequence: u32,
        /// Sender's Last Assigned TSN.
        last_tsn: u32,
        /// Streams to reset; empty means all.
        streams: Vec<u16>,
    },
    /// Incoming SSN Reset Request (type 14, RFC 6525 §4.2).
    IncomingSsnResetRequest {
        /// Re-configuration Request Sequence Number.
        request_sequence: u32,
        /// Streams to reset; empty means all.
        streams: Vec<u16>,
    },
    /// SSN/TSN Reset Request (type 15, RFC 6525 §4.3).
    SsnTsnResetRequest {
        /// Re-configuration Request Sequence Number.
        request_sequence: u32,
    },
    /// Re-configuration Response (type 16, RFC 6525 §4.4).
    ReconfigResponse {
        /// Re-configuration Response Sequence Number.
        response_sequence: u32,
        /// Result.
        result: ReconfigResult,
        /// Sender's and Receiver's Next TSN (present only for SSN/TSN resets).
        next_tsns: Option<(u32, u32)>,
    },
    /// Add Outgoing Streams Request (type 17, RFC 6525 §4.5).
    AddOutgoingStreams {
        /// Re-configuration Request Sequence Number.
        request_sequence: u32,
        /// Number of new streams.
        new_streams: u16,
    },
    /// Add Incoming Streams Request (type 18, RFC 6525 §4.6).
    AddIncomingStreams {
        /// Re-configuration Request Sequence Number.
        request_sequence: u32,
        /// Number of new streams.
        new_streams: u16,
    },
    /// Zero Checksum Acceptable (type 0x8001, RFC 9653 §5.1) with its Error Detection Method
    /// Identifier (1 = SCTP over DTLS).
    ZeroChecksumAcceptable {
        /// Error Detection Method Identifier.
        edmid: u32,
    },
    /// Supported Extensions (type 0x8008, RFC 5061 §4.2.7): chunk types.
    SupportedExtensions(Vec<u8>),
    /// Forward-TSN-Supported (type 0xC000, RFC 3758 §3.1).
    ForwardTsnSupported,
    /// Any other parameter, kept verbatim (value without padding).
    Unknown {
        /// Parameter type.
        param_type: u16,
        /// Parameter value.
        value: Bytes,
    },
}

/// Result of a re-configuration request (RFC 6525 §4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReconfigResult {
    /// 0: Success - Nothing to do.
    SuccessNothingToDo,
    /// 1: Success - Performed.
    SuccessPerformed,
    /// 2: Denied.
    Denied,
    /// 3: Error - Wrong SSN.
    ErrorWrongSsn,
    /// 4: Error - Request already in progress.
    ErrorRequestAlreadyInProgress,
    /// 5: Error - Bad Sequence Number.
    ErrorBadSequenceNumber,
    /// 6: In progress.
    InProgress,
    /// Any other value.
    Other(u32),
}

impl From<u32> for ReconfigResult {
    fn from(v: u32) -> Self {
        match v {
            0 => Self::SuccessNothingToDo,
            1 => Self::SuccessPerformed,
            2 => Self::Denied,
            3 => Self::ErrorWrongSsn,
            4 => Self::ErrorRequestAlreadyInProgress,
            5 => Self::ErrorBadSequenceNumber,
            6 => Self::InProgress,
            o => Self::Other(o),
        }
    }
}

impl From<ReconfigResult> for u32 {
    fn from(r: ReconfigResult) -> u32 {
        match r {
            ReconfigResult::SuccessNothingToDo => 0,
            ReconfigResult::SuccessPerformed => 1,
            ReconfigResult::Denied => 2,
            ReconfigResult::ErrorWrongSsn => 3,
            ReconfigResult::ErrorRequestAlreadyInProgress => 4,
            ReconfigResult::ErrorBadSequenceNumber => 5,
            ReconfigResult::InProgress => 6,
            ReconfigResult::Other(o) => o,
        }
    }
}

fn stream_list(v: &[u8], from: usize) -> Result<Vec<u16>> {
    let rest = v
        .len()
        .checked_sub(from)
        .ok_or(Error::Truncated("stream list"))?;
    if rest % 2 != 0 {
        return Err(Error::Malformed("stream list"));
    }
    (0..rest / 2).map(|i| be16(v, from + 2 * i)).collect()
}

impl Param {
    /// Parses a parameter from its type and value (padding already removed).
    ///
    /// # Errors
    /// [`Error::Malformed`] when a known parameter has the wrong length.
    pub fn parse(t: u16, v: Bytes) -> Result<Param> {
        let exact = |n: usize| {
            if v.len() == n {
                Ok(())
            } else {
                Err(Error::Malformed("parameter length"))
            }
        };
        Ok(match t {
            code::HEARTBEAT_INFO => Param::HeartbeatInfo(v),
            code::STATE_COOKIE => Param::StateCookie(v),
            code::UNRECOGNIZED_PARAMETER => Param::UnrecognizedParameter(v),
            code::COOKIE_PRESERVATIVE => {
                exact(4)?;
                Param::CookiePreservative(be32(&v, 0)?)
            }
            code::OUTGOING_SSN_RESET => Param::OutgoingSsnResetRequest {
                request_sequence: be32(&v, 0)?,
                response_sequence: be32(&v, 4)?,
                last_tsn: be32(&v, 8)?,
                streams: stream_list(&v, 12)?,
            },
            code::INCOMING_SSN_RESET => Param::IncomingSsnResetRequest {
                request_sequence: be32(&v, 0)?,
                streams: stream_list(&v, 4)?,
            },
            code::SSN_TSN_RESET => {
                exact(4)?;
                Param::SsnTsnResetRequest {
                    request_sequence: be32(&v, 0)?,
                }
            }
            code::RECONFIG_RESPONSE => {
                let next_tsns = match v.len() {
                    8 => None,
                    16 => Some((be32(&v, 8)?, be32(&v, 12)?)),
                    _ => return Err(Error::Malformed("re-config response length")),
                };
                Param::ReconfigResponse {
                    response_sequence: be32(&v, 0)?,
                    result: be32(&v, 4)?.into(),
                    next_tsns,
                }
            }
            code::ADD_OUTGOING_STREAMS | code::ADD_INCOMING_STREAMS => {
                exact(8)?;
                let request_sequence = be32(&v, 0)?;
                let new_streams = be16(&v, 4)?;
                if t == code::ADD_OUTGOING_STREAMS {
                    Param::AddOutgoingStreams {
                        request_sequence,
                        new_streams,
                    }
                } else {
                    Param::AddIncomingStreams {
                        request_sequence,
                        new_streams,
                    }
                }
            }
            code::ZERO_CHECKSUM_ACCEPTABLE => {
                exact(4)?;
                Param::ZeroChecksumAcceptable {
                    edmid: be32(&v, 0)?,
                }
            }
            code::SUPPORTED_EXTENSIONS => Param::SupportedExtensions(v.to_vec()),
            code::FORWARD_TSN_SUPPORTED => {
                exact(0)?;
                Param::ForwardTsnSupported
            }
            _ => Param::Unknown {
                param_type: t,
                value: v,
            },
        })
    }

    /// The parameter type code.
    #[must_use]
    pub fn param_type(&self) -> u16 {
        match self {
            Param::HeartbeatInfo(_) => code::HEARTBEAT_INFO,
            Param::StateCookie(_) => code::STATE_COOKIE,
            Param::UnrecognizedParameter(_) => code::UNRECOGNIZED_PARAMETER,
            Param::CookiePreservative(_) => code::COOKIE_PRESERVATIVE,
            Param::OutgoingSsnResetRequest { .. } => code::OUTGOING_SSN_RESET,
            Param::IncomingSsnResetRequest { .. } => code::INCOMING_SSN_RESET,
            Param::SsnTsnResetRequest { .. } => code::SSN_TSN_RESET,
            Param::ReconfigResponse { .. } => code::RECONFIG_RESPONSE,
            Param::AddOutgoingStreams { .. } => code::ADD_OUTGOING_STREAMS,
            Param::AddIncomingStreams { .. } => code::ADD_INCOMING_STREAMS,
            Param::ZeroChecksumAcceptable { .. } => code::ZERO_CHECKSUM_ACCEPTABLE,
            Param::SupportedExtensions(_) => code::SUPPORTED_EXTENSIONS,
            Param::ForwardTsnSupported => code::FORWARD_TSN_SUPPORTED,
            Param::Unknown { param_type, .. } => *param_type,
        }
    }

    /// Appends the parameter padded to 4 bytes; returns the number of padding bytes added.
    pub fn write(&self, buf: &mut Vec<u8>) -> usize {
        let start = buf.len();
        buf.extend_from_slice(&self.param_type().to_be_bytes());
        buf.extend_from_slice(&[0, 0]);
        match self {
            Param::HeartbeatInfo(b)
            | Param::StateCookie(b)
            | Param::UnrecognizedParameter(b)
            | Param::Unknown { value: b, .. } => buf.extend_from_slice(b),
            Param::CookiePreservative(v) => buf.extend_from_slice(&v.to_be_bytes()),
            Param::OutgoingSsnResetRequest {
                request_sequence,
                response_sequence,
                last_tsn,
                streams,
            } => {
                buf.extend_from_slice(&request_sequence.to_be_bytes());
                buf.extend_from_slice(&response_sequence.to_be_bytes());
                buf.extend_from_slice(&last_tsn.to_be_bytes());
                for s in streams {
                    buf.extend_from_slice(&s.to_be_bytes());
                }
            }
            Param::IncomingSsnResetRequest {
                request_sequence,
                streams,
            } => {
                buf.extend_from_slice(&request_sequence.to_be_bytes());
                for s in streams {
                    buf.extend_from_slice(&s.to_be_bytes());
                }
            }
            Param::SsnTsnResetRequest { request_sequence } => {
                buf.extend_from_slice(&request_sequence.to_be_bytes());
            }
            Param::ReconfigResponse {
                response_sequence,
                result,
                next_tsns,
            } => {
                buf.extend_from_slice(&response_sequence.to_be_bytes());
                buf.extend_from_slice(&u32::from(*result).to_be_bytes());
                if let Some((a, b)) = next_tsns {
                    buf.extend_from_slice(&a.to_be_bytes());
                    buf.extend_from_slice(&b.to_be_bytes());
                }
            }
            Param::AddOutgoingStreams {
                request_sequence,
                new_streams,
            }
            | Param::AddIncomingStreams {
                request_sequence,
                new_streams,
            } => {
                buf.extend_from_slice(&request_sequence.to_be_bytes());
                buf.extend_from_slice(&new_streams.to_be_bytes());
                buf.extend_from_slice(&[0, 0]);
            }
            Param::ZeroChecksumAcceptable { edmid } => buf.extend_from_slice(&edmid.to_be_bytes()),
            Param::SupportedExtensions(types) => buf.extend_from_slice(types),
            Param::ForwardTsnSupported => {}
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
