//! Chunks (RFC 9260 §3.2, §3.3; RFC 3758 §3.2; RFC 6525 §3.1; RFC 8260 §2).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   Chunk Type  | Chunk  Flags  |        Chunk Length           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! \                          Chunk Value                          /
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//! The length counts the 4-byte header and the value, not the padding to 4 bytes.

use super::{be16, be32, pad4, pad_to4, tlvs, ErrorCause, Param};
use crate::error::{Error, Result};
use bytes::Bytes;

/// Chunk type codes (RFC 9260 §3.2 and the extension RFCs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkType;

impl ChunkType {
    /// Payload Data (DATA).
    pub const DATA: u8 = 0;
    /// Initiation (INIT).
    pub const INIT: u8 = 1;
    /// Initiation Acknowledgement (INIT ACK).
    pub const INIT_ACK: u8 = 2;
    /// Selective Acknowledgement (SACK).
    pub const SACK: u8 = 3;
    /// Heartbeat Request (HEARTBEAT).
    pub const HEARTBEAT: u8 = 4;
    /// Heartbeat Acknowledgement (HEARTBEAT ACK).
    pub const HEARTBEAT_ACK: u8 = 5;
    /// Abort (ABORT).
    pub const ABORT: u8 = 6;
    /// Shutdown (SHUTDOWN).
    pub const SHUTDOWN: u8 = 7;
    /// Shutdown Acknowledgement (SHUTDOWN ACK).
    pub const SHUTDOWN_ACK: u8 = 8;
    /// Operation Error (ERROR).
    pub const ERROR: u8 = 9;
    /// State Cookie (COOKIE ECHO).
    pub const COOKIE_ECHO: u8 = 10;
    /// Cookie Acknowledgement (COOKIE ACK).
    pub const COOKIE_ACK: u8 = 11;
    /// Shutdown Complete (SHUTDOWN COMPLETE).
    pub const SHUTDOWN_COMPLETE: u8 = 14;
    /// I-DATA (RFC 8260 §2.1).
    pub const I_DATA: u8 = 0x40;
    /// RE-CONFIG (RFC 6525 §3.1).
    pub const RE_CONFIG: u8 = 0x82;
    /// FORWARD TSN (RFC 3758 §3.2).
    pub const FORWARD_TSN: u8 = 0xC0;
    /// I-FORWARD-TSN (RFC 8260 §2.3.1).
    pub const I_FORWARD_TSN: u8 = 0xC2;
}

/// One chunk. Unknown chunk types are kept as [`Chunk::Unknown`]; what to do with them is
/// decided by the two high bits of the type (RFC 9260 §3.2), see [`Chunk::unknown_action`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chunk {
    /// DATA (RFC 9260 §3.3.1).
    Data(DataChunk),
    /// INIT (RFC 9260 §3.3.2).
    Init(Init),
    /// INIT ACK (RFC 9260 §3.3.3); same fields as INIT, the parameters carry the cookie.
    InitAck(Init),
    /// SACK (RFC 9260 §3.3.4).
    Sack(Sack),
    /// HEARTBEAT (RFC 9260 §3.3.5).
    Heartbeat(Heartbeat),
    /// HEARTBEAT ACK (RFC 9260 §3.3.6).
    HeartbeatAck(Heartbeat),
    /// ABORT (RFC 9260 §3.3.7).
    Abort(Abort),
    /// SHUTDOWN (RFC 9260 §3.3.8).
    Shutdown(Shutdown),
    /// SHUTDOWN ACK (RFC 9260 §3.3.9).
    ShutdownAck,
    /// ERROR (RFC 9260 §3.3.10).
    Error(ErrorChunk),
    /// COOKIE ECHO (RFC 9260 §3.3.11).
    CookieEcho(CookieEcho),
    /// COOKIE ACK (RFC 9260 §3.3.12).
    CookieAck,
    /// SHUTDOWN COMPLETE (RFC 9260 §3.3.13); `t_bit` set when the verification tag is
    /// reflected.
    ShutdownComplete {
        /// The T bit.
        t_bit: bool,
    },
    /// I-DATA (RFC 8260 §2.1).
    IData(IDataChunk),
    /// RE-CONFIG (RFC 6525 §3.1).
    ReConfig(ReConfig),
    /// FORWARD TSN (RFC 3758 §3.2).
    ForwardTsn(ForwardTsn),
    /// I-FORWARD-TSN (RFC 8260 §2.3.1).
    IForwardTsn(IForwardTsn),
    /// Any other chunk type, kept verbatim.
    Unknown {
        /// Chunk type.
        chunk_type: u8,
        /// Chunk flags.
        flags: u8,
        /// Chunk value (after the 4-byte header, without padding).
        value: Bytes,
    },
}

/// DATA (RFC 9260 §3.3.1).
///
/// ```text
/// |   Type = 0    |  Res  |I|U|B|E|            Length             |
/// |                              TSN                              |
/// |      Stream Identifier S      |   Stream Sequence Number n    |
/// |                  Payload Protocol Identifier                  |
/// \                 User Data (seq n of Stream S)                 /
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DataChunk {
    /// Transmission Sequence Number.
    pub tsn: u32,
    /// Stream Identifier.
    pub stream_id: u16,
    /// Stream Sequence Number (ignored when `unordered`).
    pub ssn: u16,
    /// Payload Protocol Identifier (big-endian on the wire, RFC 8831 §8 values for WebRTC).
    pub ppid: u32,
    /// U bit: unordered.
    pub unordered: bool,
    /// B bit: first fragment.
    pub beginning: bool,
    /// E bit: last fragment.
    pub ending: bool,
    /// I bit: the receiver should SACK immediately (RFC 7053).
    pub immediate: bool,
    /// User data, at least one byte for a valid chunk.
    pub user_data: Bytes,
}

/// I-DATA (RFC 8260 §2.1). The 32-bit field after the MID is the PPID in the first fragment
/// and the Fragment Sequence Number in the others.
///
/// ```text
/// |   Type = 64   |  Res  |I|U|B|E|       Length = Variable       |
/// |                              TSN                              |
/// |        Stream Identifier      |           Reserved            |
/// |                      Message Identifier                       |
/// |    Payload Protocol Identifier / Fragment Sequence Number     |
/// \                           User Data                           /
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IDataChunk {
    /// Transmission Sequence Number.
    pub tsn: u32,
    /// Stream Identifier.
    pub stream_id: u16,
    /// Message Identifier.
    pub mid: u32,
    /// Payload Protocol Identifier; meaningful only when `beginning` (0 otherwise).
    pub ppid: u32,
    /// Fragment Sequence Number; 0 when `beginning`.
    pub fsn: u32,
    /// U bit.
    pub unordered: bool,
    /// B bit.
    pub beginning: bool,
    /// E bit.
    pub ending: bool,
    /// I bit.
    pub immediate: bool,
    /// User data.
    pub user_data: Bytes,
}

/// INIT and INIT ACK (RFC 9260 §3.3.2, §3.3.3).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Init {
    /// Initiate Tag: the tag the peer must put in packets to us; never 0.
    pub initiate_tag: u32,
    /// Advertised Receiver Window Credit in bytes.
    pub a_rwnd: u32,
    /// Number of Outbound Streams (OS), never 0.
    pub num_outbound_streams: u16,
    /// Number of Inbound Streams (MIS), never 0.
    pub num_inbound_streams: u16,
    /// Initial TSN.
    pub initial_tsn: u32,
    /// Optional and variable-length parameters.
    pub params: Vec<Param>,
}

/// SACK (RFC 9260 §3.3.4). Gap ack block offsets are relative to the cumulative TSN ack.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sack {
    /// Cumulative TSN Ack.
    pub cumulative_tsn_ack: u32,
    /// Advertised Receiver Window Credit in bytes.
    pub a_rwnd: u32,
    /// Gap Ack Blocks as (start, end) offsets, inclusive.
    pub gap_ack_blocks: Vec<(u16, u16)>,
    /// Duplicate TSNs received since the last SACK.
    pub duplicate_tsns: Vec<u32>,
}

/// HEARTBEAT / HEARTBEAT ACK (RFC 9260 §3.3.5, §3.3.6): one Heartbeat Info parameter whose
/// content only its sender interprets.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Heartbeat {
    /// Sender-specific Heartbeat Information.
    pub info: Bytes,
}

/// ABORT (RFC 9260 §3.3.7).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Abort {
    /// T bit: the verification tag is the receiver's own (reflected).
    pub t_bit: bool,
    /// Error causes.
    pub causes: Vec<ErrorCause>,
}

/// SHUTDOWN (RFC 9260 §3.3.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Shutdown {
    /// Cumulative TSN Ack.
    pub cumulative_tsn_ack: u32,
}

/// ERROR (RFC 9260 §3.3.10).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ErrorChunk {
    /// Error causes.
    pub causes: Vec<ErrorCause>,
}

/// COOKIE ECHO (RFC 9260 §3.3.11).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CookieEcho {
    /// The State Cookie exactly as received in the INIT ACK.
    pub cookie: Bytes,
}

/// RE-CONFIG (RFC 6525 §3.1): one or two request / response parameters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReConfig {
    /// Re-configuration parameters.
    pub params: Vec<Param>,
}

/// FORWARD TSN (RFC 3758 §3.2).
///
/// ```text
/// |   Type = 192  |  Flags = 0x00 |        Length = Variable      |
/// |                      New Cumulative TSN                       |
/// |         Stream-1              |       Stream Sequence-1       |
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ForwardTsn {
    /// New Cumulative TSN.
    pub new_cumulative_tsn: u32,
    /// Ordered streams whose messages were skipped, with the largest skipped SSN.
    pub streams: Vec<ForwardTsnStream>,
}

/// One stream entry of FORWARD TSN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ForwardTsnStream {
    /// Stream identifier.
    pub stream_id: u16,
    /// Largest skipped Stream Sequence Number.
    pub ssn: u16,
}

/// I-FORWARD-TSN (RFC 8260 §2.3.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IForwardTsn {
    /// New Cumulative TSN.
    pub new_cumulative_tsn: u32,
    /// Skipped messages per (stream, ordered-ness).
    pub streams: Vec<IForwardTsnStream>,
}

/// One entry of I-FORWARD-TSN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IForwardTsnStream {
    /// Stream identifier.
    pub stream_id: u16,
    /// U bit: the entry concerns unordered messages.
    pub unordered: bool,
    /// Largest skipped Message Identifier.
    pub mid: u32,
}

/// What to do with an unrecognised chunk type (RFC 9260 §3.2, the two high bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownAction {
    /// `00`: stop processing the packet, discard it.
    Stop,
    /// `01`: stop, discard, and report it in an ERROR (Unrecognized Chunk Type).
    StopAndReport,
    /// `10`: skip this chunk and go on.
    Skip,
    /// `11`: skip, go on, and report it in an ERROR.
    SkipAndReport,
}

const DATA_HEADER: usize = 16;
const IDATA_HEADER: usize = 20;

impl Chunk {
    /// Parses the chunk at `off` of a packet; returns it and the offset of the next chunk
    /// (padding skipped; missing padding after the last chunk tolerated).
    ///
    /// # Errors
    /// [`Error::Truncated`] / [`Error::Malformed`] on a bad length or field.
    pub fn parse(packet: &Bytes, off: usize) -> Result<(Chunk, usize)> {
        let chunk_type = *packet.get(off).ok_or(Error::Truncated("chunk"))?;
        let flags = *packet.get(off + 1).ok_or(Error::Truncated("chunk"))?;
        let len = be16(packet, off + 2)? as usize;
        if len < 4 {
            return Err(Error::Malformed("chunk length"));
        }
        let end = off
            .checked_add(len)
            .filter(|&e| e <= packet.len())
            .ok_or(Error::Truncated("chunk"))?;
        let v = packet.slice(off + 4..end);
        let chunk = Self::parse_value(chunk_type, flags, v)?;
        Ok((chunk, pad4(end).min(packet.len())))
    }

    fn parse_value(chunk_type: u8, flags: u8, v: Bytes) -> Result<Chunk> {
        let fixed = |n: usize| -> Result<()> {
            if v.len() < n {
                Err(Error::Truncated("chunk value"))
            } else {
                Ok(())
            }
        };
        Ok(match chunk_type {
            ChunkType::DATA => {
                fixed(DATA_HEADER - 4)?;
                Chunk::Data(DataChunk {
                    tsn: be32(&v, 0)?,
                    stream_id: be16(&v, 4)?,
                    ssn: be16(&v, 6)?,
                    ppid: be32(&v, 8)?,
                    immediate: flags & 0x08 != 0,
                    unordered: flags & 0x04 != 0,
                    beginning: flags & 0x02 != 0,
                    ending: flags & 0x01 != 0,
                    user_data: v.slice(12..),
                })
            }
            ChunkType::I_DATA => {
                fixed(IDATA_HEADER - 4)?;
                let beginning = flags & 0x02 != 0;
                let field = be32(&v, 12)?;
                Chunk::IData(IDataChunk {
                    tsn: be32(&v, 0)?,
                    stream_id: be16(&v, 4)?,
                    mid: be32(&v, 8)?,
                    ppid: if beginning { field } else { 0 },
                    fsn: if beginning { 0 } else { field },
                    immediate: flags & 0x08 != 0,
                    unordered: flags & 0x04 != 0,
                    beginning,
                    ending: flags & 0x01 != 0,
                    user_data: v.slice(16..),
                })
            }
            ChunkType::INIT | ChunkType::INIT_ACK => {
                fixed(16)?;
                let params = tlvs(&v.slice(16..))?
                    .into_iter()
                    .map(|(t, pv)| Param::parse(t, pv))
                    .collect::<Result<Vec<_>>>()?;
                let init = Init {
                    initiate_tag: be32(&v, 0)?,
                    a_rwnd: be32(&v, 4)?,
                    num_outbound_streams: be16(&v, 8)?,
                    num_inbound_streams: be16(&v, 10)?,
                    initial_tsn: be32(&v, 12)?,
                    params,
                };
                if chunk_type == ChunkType::INIT {
                    Chunk::Init(init)
                } else {
                    Chunk::InitAck(init)
                }
            }
            ChunkType::SACK => {
                fixed(12)?;
                let n_gap = be16(&v, 8)? as usize;
                let n_dup = be16(&v, 10)? as usize;
                if v.len() != 12 + 4 * n_gap + 4 * n_dup {
                    return Err(Error::Malformed("sack counts"));
                }
                let gap_ack_blocks = (0..n_gap)
                    .map(|i| Ok((be16(&v, 12 + 4 * i)?, be16(&v, 14 + 4 * i)?)))
                    .collect::<Result<Vec<_>>>()?;
                let base = 12 + 4 * n_gap;
                let duplicate_tsns = (0..n_dup)
                    .map(|i| be32(&v, base + 4 * i))
                    .collect::<Result<Vec<_>>>()?;
                Chunk::Sack(Sack {
                    cumulative_tsn_ack: be32(&v, 0)?,
                    a_rwnd: be32(&v, 4)?,
                    gap_ack_blocks,
                    duplicate_tsns,
                })
            }
            ChunkType::HEARTBEAT | ChunkType::HEARTBEAT_ACK => {
                let params = tlvs(&v)?;
                let info = match params.first() {
                    Some((1, info)) => info.clone(),
                    _ => return Err(Error::Malformed("heartbeat info")),
                };
                let hb = Heartbeat { info };
                if chunk_type == ChunkType::HEARTBEAT {
                    Chunk::Heartbeat(hb)
                } else {
                    Chunk::HeartbeatAck(hb)
                }
            }
            ChunkType::ABORT => Chunk::Abort(Abort {
                t_bit: flags & 1 != 0,
                causes: parse_causes(&v)?,
            }),
            ChunkType::SHUTDOWN => {
                if v.len() != 4 {
                    return Err(Error::Malformed("shutdown length"));
                }
                Chunk::Shutdown(Shutdown {
                    cumulative_tsn_ack: be32(&v, 0)?,
                })
            }
            ChunkType::SHUTDOWN_ACK => Chunk::ShutdownAck,
            ChunkType::ERROR => Chunk::Error(ErrorChunk {
                causes: parse_causes(&v)?,
            }),
            ChunkType::COOKIE_ECHO => Chunk::CookieEcho(CookieEcho { cookie: v }),
            ChunkType::COOKIE_ACK => Chunk::CookieAck,
            ChunkType::SHUTDOWN_COMPLETE => Chunk::ShutdownComplete {
                t_bit: flags & 1 != 0,
            },
            ChunkType::RE_CONFIG => {
                let params = tlvs(&v)?
                    .into_iter()
                    .map(|(t, pv)| Param::parse(t, pv))
                    .collect::<Result<Vec<_>>>()?;
                if params.is_empty() || params.len() > 2 {
                    return Err(Error::Malformed("re-config parameter count"));
                }
                Chunk::ReConfig(ReConfig { params })
            }
            ChunkType::FORWARD_TSN => {
                fixed(4)?;
                if (v.len() - 4) % 4 != 0 {
                    return Err(Error::Malformed("forward tsn length"));
                }
                let streams = (0..(v.len() - 4) / 4)
                    .map(|i| {
                        Ok(ForwardTsnStream {
                            stream_id: be16(&v, 4 + 4 * i)?,
                            ssn: be16(&v, 6 + 4 * i)?,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                Chunk::ForwardTsn(ForwardTsn {
                    new_cumulative_tsn: be32(&v, 0)?,
                    streams,
                })
            }
            ChunkType::I_FORWARD_TSN => {
                fixed(4)?;
                if (v.len() - 4) % 8 != 0 {
                    return Err(Error::Malformed("i-forward-tsn length"));
                }
                let streams = (0..(v.len() - 4) / 8)
                    .map(|i| {
                        Ok(IForwardTsnStream {
                            stream_id: be16(&v, 4 + 8 * i)?,
                            unordered: be16(&v, 6 + 8 * i)? & 1 != 0,
                            mid: be32(&v, 8 + 8 * i)?,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                Chunk::IForwardTsn(IForwardTsn {
                    new_cumulative_tsn: be32(&v, 0)?,
                    streams,
                })
            }
            _ => Chunk::Unknown {
                chunk_type,
                flags,
                value: v,
            },
        })
    }

    /// The chunk type code.
    #[must_use]
    pub fn chunk_type(&self) -> u8 {
        match self {
            Chunk::Data(_) => ChunkType::DATA,
            Chunk::Init(_) => ChunkType::INIT,
            Chunk::InitAck(_) => ChunkType::INIT_ACK,
            Chunk::Sack(_) => ChunkType::SACK,
            Chunk::Heartbeat(_) => ChunkType::HEARTBEAT,
            Chunk::HeartbeatAck(_) => ChunkType::HEARTBEAT_ACK,
            Chunk::Abort(_) => ChunkType::ABORT,
            Chunk::Shutdown(_) => ChunkType::SHUTDOWN,
            Chunk::ShutdownAck => ChunkType::SHUTDOWN_ACK,
            Chunk::Error(_) => ChunkType::ERROR,
            Chunk::CookieEcho(_) => ChunkType::COOKIE_ECHO,
            Chunk::CookieAck => ChunkType::COOKIE_ACK,
            Chunk::ShutdownComplete { .. } => ChunkType::SHUTDOWN_COMPLETE,
            Chunk::IData(_) => ChunkType::I_DATA,
            Chunk::ReConfig(_) => ChunkType::RE_CONFIG,
            Chunk::ForwardTsn(_) => ChunkType::FORWARD_TSN,
            Chunk::IForwardTsn(_) => ChunkType::I_FORWARD_TSN,
            Chunk::Unknown { chunk_type, .. } => *chunk_type,
        }
    }

    /// For an unrecognised chunk type, what RFC 9260 §3.2 says to do with it.
    #[must_use]
    pub fn unknown_action(chunk_type: u8) -> UnknownAction {
        match chunk_type >> 6 {
            0 => UnknownAction::Stop,
            1 => UnknownAction::StopAndReport,
            2 => UnknownAction::Skip,
            _ => UnknownAction::SkipAndReport,
        }
    }

    /// Appends the chunk, padded to 4 bytes.
    pub fn write(&self, buf: &mut Vec<u8>) {
        let start = buf.len();
        let flags = match self {
            Chunk::Data(d) => data_flags(d.immediate, d.unordered, d.beginning, d.ending),
            Chunk::IData(d) => data_flags(d.immediate, d.unordered, d.beginning, d.ending),
            Chunk::Abort(a) => u8::from(a.t_bit),
            Chunk::ShutdownComplete { t_bit } => u8::from(*t_bit),
            Chunk::Unknown { flags, .. } => *flags,
            _ => 0,
        };
        buf.extend_from_slice(&[self.chunk_type(), flags, 0, 0]);
        // Length of the last TLV's padding, which the chunk length must not count.
        let mut trailing_pad = 0usize;
        match self {
            Chunk::Data(d) => {
                buf.extend_from_slice(&d.tsn.to_be_bytes());
                buf.extend_from_slice(&d.stream_id.to_be_bytes());
                buf.extend_from_slice(&d.ssn.to_be_bytes());
                buf.extend_from_slice(&d.ppid.to_be_bytes());
                buf.extend_from_slice(&d.user_data);
            }
            Chunk::IData(d) => {
                buf.extend_from_slice(&d.tsn.to_be_bytes());
                buf.extend_from_slice(&d.stream_id.to_be_bytes());
                buf.extend_from_slice(&[0, 0]);
                buf.extend_from_slice(&d.mid.to_be_bytes());
                let field = if d.beginning { d.ppid } else { d.fsn };
                buf.extend_from_slice(&field.to_be_bytes());
                buf.extend_from_slice(&d.user_data);
            }
            Chunk::Init(i) | Chunk::InitAck(i) => {
                buf.extend_from_slice(&i.initiate_tag.to_be_bytes());
                buf.extend_from_slice(&i.a_rwnd.to_be_bytes());
                buf.extend_from_slice(&i.num_outbound_streams.to_be_bytes());
                buf.extend_from_slice(&i.num_inbound_streams.to_be_bytes());
                buf.extend_from_slice(&i.initial_tsn.to_be_bytes());
                for p in &i.params {
                    trailing_pad = p.write(buf);
                }
            }
            Chunk::Sack(s) => {
                buf.extend_from_slice(&s.cumulative_tsn_ack.to_be_bytes());
                buf.extend_from_slice(&s.a_rwnd.to_be_bytes());
                buf.extend_from_slice(&(s.gap_ack_blocks.len() as u16).to_be_bytes());
                buf.extend_from_slice(&(s.duplicate_tsns.len() as u16).to_be_bytes());
                for (a, b) in &s.gap_ack_blocks {
                    buf.extend_from_slice(&a.to_be_bytes());
                    buf.extend_from_slice(&b.to_be_bytes());
                }
                for d in &s.duplicate_tsns {
                    buf.extend_from_slice(&d.to_be_bytes());
                }
            }
            Chunk::Heartbeat(h) | Chunk::HeartbeatAck(h) => {
                trailing_pad = Param::HeartbeatInfo(h.info.clone()).write(buf);
            }
            Chunk::Abort(Abort { causes, .. }) | Chunk::Error(ErrorChunk { causes }) => {
                for c in causes {
                    trailing_pad = c.write(buf);
                }
            }
            Chunk::Shutdown(s) => buf.extend_from_slice(&s.cumulative_tsn_ack.to_be_bytes()),
            Chunk::CookieEcho(c) => buf.extend_from_slice(&c.cookie),
            Chunk::ShutdownAck | Chunk::CookieAck | Chunk::ShutdownComplete { .. } => {}
            Chunk::ReConfig(r) => {
                for p in &r.params {
                    trailing_pad = p.write(buf);
                }
            }
            Chunk::ForwardTsn(f) => {
                buf.extend_from_slice(&f.new_cumulative_tsn.to_be_bytes());
                for s in &f.streams {
                    buf.extend_from_slice(&s.stream_id.to_be_bytes());
                    buf.extend_from_slice(&s.ssn.to_be_bytes());
                }
            }
            Chunk::IForwardTsn(f) => {
                buf.extend_from_slice(&f.new_cumulative_tsn.to_be_bytes());
                for s in &f.streams {
                    buf.extend_from_slice(&s.stream_id.to_be_bytes());
                    buf.extend_from_slice(&u16::from(s.unordered).to_be_bytes());
                    buf.extend_from_slice(&s.mid.to_be_bytes());
                }
            }
            Chunk::Unknown { value, .. } => buf.extend_from_slice(value),
        }
        let len = (buf.len() - start - trailing_pad) as u16;
        if let Some(l) = buf.get_mut(start + 2..start + 4) {
            l.copy_from_slice(&len.to_be_bytes());
        }
        pad_to4(buf);
    }

    /// Encoded length including padding.
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        match self {
            Chunk::Data(d) => pad4(DATA_HEADER + d.user_data.len()),
            Chunk::IData(d) => pad4(IDATA_HEADER + d.user_data.len()),
            Chunk::Sack(s) => 16 + 4 * s.gap_ack_blocks.len() + 4 * s.duplicate_tsns.len(),
            Chunk::ShutdownAck | Chunk::CookieAck | Chunk::ShutdownComplete { .. } => 4,
            Chunk::Shutdown(_) => 8,
            Chunk::CookieEcho(c) => pad4(4 + c.cookie.len()),
            Chunk::Heartbeat(h) | Chunk::HeartbeatAck(h) => 8 + pad4(h.info.len()),
            Chunk::ForwardTsn(f) => 8 + 4 * f.streams.len(),
            Chunk::IForwardTsn(f) => 8 + 8 * f.streams.len(),
            Chunk::Unknown { value, .. } => pad4(4 + value.len()),
            _ => {
                let mut v = Vec::new();
                self.write(&mut v);
                v.len()
            }
        }
    }
}

fn data_flags(i: bool, u: bool, b: bool, e: bool) -> u8 {
    (u8::from(i) << 3) | (u8::from(u) << 2) | (u8::from(b) << 1) | u8::from(e)
}

fn parse_causes(v: &Bytes) -> Result<Vec<ErrorCause>> {
    tlvs(v)?
        .into_iter()
        .map(|(code, info)| ErrorCause::parse(code, info))
        .collect()
}

impl DataChunk {
    /// Encoded length of a DATA chunk with `payload` bytes, including padding.
    #[must_use]
    pub fn encoded_len_for(payload: usize) -> usize {
        pad4(DATA_HEADER + payload)
    }

    /// Appends a DATA chunk built from borrowed fields (no `Bytes` clone on the hot path).
    #[allow(clippy::too_many_arguments)]
    pub fn write_fields(
        buf: &mut Vec<u8>,
        tsn: u32,
        stream_id: u16,
        ssn: u16,
        ppid: u32,
        flags: (bool, bool, bool, bool),
        user_data: &[u8],
    ) {
        let (i, u, b, e) = flags;
        let len = (DATA_HEADER + user_data.len()) as u16;
        buf.push(ChunkType::DATA);
        buf.push(data_flags(i, u, b, e));
        buf.extend_from_slice(&len.to_be_bytes());
        buf.extend_from_slice(&tsn.to_be_bytes());
        buf.extend_from_slice(&stream_id.to_be_bytes());
        buf.extend_from_slice(&ssn.to_be_bytes());
        buf.extend_from_slice(&ppid.to_be_bytes());
        buf.extend_from_slice(user_data);
        pad_to4(buf);
    }
}

impl IDataChunk {
    /// Encoded length of an I-DATA chunk with `payload` bytes, including padding.
    #[must_use]
    pub fn encoded_len_for(payload: usize) -> usize {
        pad4(IDATA_HEADER + payload)
    }

    /// Appends an I-DATA chunk built from borrowed fields. `ppid_or_fsn` is the PPID in the
    /// first fragment and the FSN otherwise.
    #[allow(clippy::too_many_arguments)]
    pub fn write_fields(
        buf: &mut Vec<u8>,
        tsn: u32,
        stream_id: u16,
        mid: u32,
        ppid_or_fsn: u32,
        flags: (bool, bool, bool, bool),
        user_data: &[u8],
    ) {
        let (i, u, b, e) = flags;
        let len = (IDATA_HEADER + user_data.len()) as u16;
        buf.push(ChunkType::I_DATA);
        buf.push(data_flags(i, u, b, e));
        buf.extend_from_slice(&len.to_be_bytes());
        buf.extend_from_slice(&tsn.to_be_bytes());
        buf.extend_from_slice(&stream_id.to_be_bytes());
        buf.extend_from_slice(&[0, 0]);
        buf.extend_from_slice(&mid.to_be_bytes());
        buf.extend_from_slice(&ppid_or_fsn.to_be_bytes());
        buf.extend_from_slice(user_data);
        pad_to4(buf);
    }
}
