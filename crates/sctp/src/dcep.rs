//! Data Channel Establishment Protocol messages (RFC 8832 §5) and WebRTC PPIDs (RFC 8831 §8).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Message Type |  Channel Type |            Priority           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    Reliability Parameter                      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |         Label Length          |       Protocol Length         |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! \                             Label                             /
//! \                            Protocol                           /
//! ```

use crate::config::ChannelConfig;
use crate::error::{Error, Result};

/// Payload Protocol Identifiers for WebRTC (RFC 8831 §8, RFC 8832 §8.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ppid;

impl Ppid {
    /// WebRTC DCEP.
    pub const DCEP: u32 = 50;
    /// WebRTC String.
    pub const STRING: u32 = 51;
    /// WebRTC Binary Partial (deprecated).
    pub const BINARY_PARTIAL: u32 = 52;
    /// WebRTC Binary.
    pub const BINARY: u32 = 53;
    /// WebRTC String Partial (deprecated).
    pub const STRING_PARTIAL: u32 = 54;
    /// WebRTC String Empty: a one-byte message standing for "" (RFC 8831 §6.6).
    pub const STRING_EMPTY: u32 = 56;
    /// WebRTC Binary Empty: a one-byte message standing for an empty binary message.
    pub const BINARY_EMPTY: u32 = 57;
}

/// DCEP message type: DATA_CHANNEL_ACK.
pub const DATA_CHANNEL_ACK: u8 = 0x02;
/// DCEP message type: DATA_CHANNEL_OPEN.
pub const DATA_CHANNEL_OPEN: u8 = 0x03;

/// Channel Type of DATA_CHANNEL_OPEN (RFC 8832 §5.1): the high bit means unordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelType {
    /// 0x00 DATA_CHANNEL_RELIABLE / 0x80 DATA_CHANNEL_RELIABLE_UNORDERED.
    Reliable,
    /// 0x01 / 0x81 DATA_CHANNEL_PARTIAL_RELIABLE_REXMIT: reliability parameter is the number
    /// of retransmissions.
    PartialReliableRexmit,
    /// 0x02 / 0x82 DATA_CHANNEL_PARTIAL_RELIABLE_TIMED: reliability parameter is a lifetime in
    /// milliseconds.
    PartialReliableTimed,
}

/// A DCEP message (RFC 8832 §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DcepMessage {
    /// DATA_CHANNEL_OPEN.
    Open {
        /// Reliability kind.
        channel_type: ChannelType,
        /// Unordered bit of the channel type.
        unordered: bool,
        /// Priority.
        priority: u16,
        /// Retransmissions or lifetime in ms, per `channel_type`.
        reliability: u32,
        /// Label (UTF-8).
        label: String,
        /// Protocol (UTF-8).
        protocol: String,
    },
    /// DATA_CHANNEL_ACK.
    Ack,
}

impl DcepMessage {
    /// Parses a DCEP message (the payload of a PPID 50 message).
    ///
    /// # Errors
    /// [`Error::Truncated`] / [`Error::Malformed`] on bad lengths, an unknown type or
    /// non-UTF-8 strings.
    pub fn parse(b: &[u8]) -> Result<DcepMessage> {
        match b.first() {
            Some(&DATA_CHANNEL_ACK) => Ok(DcepMessage::Ack),
            Some(&DATA_CHANNEL_OPEN) => {
                let h = b.get(..12).ok_or(Error::Truncated("data channel open"))?;
                let ct = h[1];
                let channel_type = match ct & 0x7f {
                    0 => ChannelType::Reliable,
                    1 => ChannelType::PartialReliableRexmit,
                    2 => ChannelType::PartialReliableTimed,
                    _ => return Err(Error::Malformed("channel type")),
                };
                let label_len = u16::from_be_bytes([h[8], h[9]]) as usize;
                let proto_len = u16::from_be_bytes([h[10], h[11]]) as usize;
                let label = b.get(12..12 + label_len).ok_or(Error::Truncated("label"))?;
                let protocol = b
                    .get(12 + label_len..12 + label_len + proto_len)
                    .ok_or(Error::Truncated("protocol"))?;
                Ok(DcepMessage::Open {
                    channel_type,
                    unordered: ct & 0x80 != 0,
                    priority: u16::from_be_bytes([h[2], h[3]]),
                    reliability: u32::from_be_bytes([h[4], h[5], h[6], h[7]]),
                    label: String::from_utf8(label.to_vec())
                        .map_err(|_| Error::Malformed("label utf-8"))?,
                    protocol: String::from_utf8(protocol.to_vec())
                        .map_err(|_| Error::Malformed("protocol utf-8"))?,
                })
            }
            Some(_) => Err(Error::Malformed("dcep message type")),
            None => Err(Error::Truncated("dcep message")),
        }
    }

    /// Appends the message. Label and protocol longer than 65535 bytes are cut (the
    /// association refuses such configurations before they get here).
    pub fn write(&self, buf: &mut Vec<u8>) {
        match self {
            DcepMessage::Ack => buf.push(DATA_CHANNEL_ACK),
            DcepMessage::Open {
                channel_type,
                unordered,
                priority,
                reliability,
                label,
                protocol,
            } => {
                let ct = match channel_type {
                    ChannelType::Reliable => 0,
                    ChannelType::PartialReliableRexmit => 1,
                    ChannelType::PartialReliableTimed => 2,
                } | if *unordered { 0x80 } else { 0 };
                let label = &label.as_bytes()[..label.len().min(0xffff)];
                let protocol = &protocol.as_bytes()[..protocol.len().min(0xffff)];
                buf.push(DATA_CHANNEL_OPEN);
                buf.push(ct);
                buf.extend_from_slice(&priority.to_be_bytes());
                buf.extend_from_slice(&reliability.to_be_bytes());
                buf.extend_from_slice(&(label.len() as u16).to_be_bytes());
                buf.extend_from_slice(&(protocol.len() as u16).to_be_bytes());
                buf.extend_from_slice(label);
                buf.extend_from_slice(protocol);
            }
        }
    }

    /// The DATA_CHANNEL_OPEN describing a channel configuration.
    #[must_use]
    pub fn open_for(c: &ChannelConfig) -> DcepMessage {
        let (channel_type, reliability) = match (c.max_retransmits, c.max_packet_life_time) {
            (Some(r), _) => (ChannelType::PartialReliableRexmit, u32::from(r)),
            (None, Some(t)) => (ChannelType::PartialReliableTimed, u32::from(t)),
            (None, None) => (ChannelType::Reliable, 0),
        };
        DcepMessage::Open {
            channel_type,
            unordered: !c.ordered,
            priority: c.priority,
            reliability,
            label: c.label.clone(),
            protocol: c.protocol.clone(),
        }
    }

    /// The channel configuration a DATA_CHANNEL_OPEN describes, on stream `id`; `None` for an
    /// ACK.
    #[must_use]
    pub fn to_config(&self) -> Option<ChannelConfig> {
        match self {
            DcepMessage::Ack => None,
            DcepMessage::Open {
                channel_type,
                unordered,
                priority,
                reliability,
                label,
                protocol,
            } => {
                let sat16 = |v: u32| u16::try_from(v).unwrap_or(u16::MAX);
                Some(ChannelConfig {
                    label: label.clone(),
                    protocol: protocol.clone(),
                    ordered: !unordered,
                    max_retransmits: (*channel_type == ChannelType::PartialReliableRexmit)
                        .then(|| sat16(*reliability)),
                    max_packet_life_time: (*channel_type == ChannelType::PartialReliableTimed)
                        .then(|| sat16(*reliability)),
                    negotiated: None,
                    priority: *priority,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn open_bytes_match_rfc_layout() {
        let m = DcepMessage::Open {
            channel_type: ChannelType::PartialReliableRexmit,
            unordered: true,
            priority: 256,
            reliability: 3,
            label: "chat".into(),
            protocol: "x".into(),
        };
        let mut b = Vec::new();
        m.write(&mut b);
        assert_eq!(
            b,
            [3, 0x81, 1, 0, 0, 0, 0, 3, 0, 4, 0, 1, b'c', b'h', b'a', b't', b'x']
        );
        assert_eq!(DcepMessage::parse(&b).unwrap(), m);
        assert_eq!(DcepMessage::parse(&[2]).unwrap(), DcepMessage::Ack);
        for n in 0..b.len() {
            assert!(DcepMessage::parse(&b[..n]).is_err());
        }
        assert!(DcepMessage::parse(&[3, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
    }

    #[test]
    fn config_roundtrip() {
        let c = ChannelConfig {
            label: "a".into(),
            protocol: "p".into(),
            ordered: false,
            max_retransmits: None,
            max_packet_life_time: Some(500),
            negotiated: None,
            priority: 512,
        };
        assert_eq!(DcepMessage::open_for(&c).to_config().unwrap(), c);
    }

    proptest! {
        #[test]
        fn open_roundtrip(ct in 0u8..3, u: bool, p: u16, r: u32, l in ".{0,20}", pr in ".{0,20}") {
            let m = DcepMessage::Open {
                channel_type: [ChannelType::Reliable, ChannelType::PartialReliableRexmit,
                    ChannelType::PartialReliableTimed][ct as usize],
                unordered: u, priority: p, reliability: r, label: l, protocol: pr,
            };
            let mut b = Vec::new();
            m.write(&mut b);
            prop_assert_eq!(DcepMessage::parse(&b).unwrap(), m);
        }
    }
}
