//! Data channel types (W3C `RTCDataChannel`, RFC 8831, RFC 8832).

use serde::{Deserialize, Serialize};

/// Handle of a data channel in a [`PeerConnection`](crate::PeerConnection). Unlike the
/// SCTP stream id (W3C `id`, known only once the DTLS role is), it exists from
/// `create_data_channel` on and is never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ChannelId(pub(crate) u64);

impl ChannelId {
    /// The raw handle value (for logs and maps).
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

/// Options of [`PeerConnection::create_data_channel`](crate::PeerConnection::create_data_channel)
/// (W3C `RTCDataChannelInit`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DataChannelInit {
    /// In-order delivery. Default true.
    pub ordered: bool,
    /// Give up on a message after this many milliseconds (PR-SCTP timed reliability).
    pub max_packet_life_time: Option<u16>,
    /// Give up on a message after this many retransmissions (PR-SCTP).
    pub max_retransmits: Option<u16>,
    /// Sub-protocol name.
    pub protocol: String,
    /// Negotiated out of band: no DCEP; both sides create it with the same `id`.
    pub negotiated: bool,
    /// Stream id; required when `negotiated`, ignored otherwise (an id is picked by the
    /// DTLS role, RFC 8832 §6).
    pub id: Option<u16>,
}

impl Default for DataChannelInit {
    fn default() -> Self {
        DataChannelInit {
            ordered: true,
            max_packet_life_time: None,
            max_retransmits: None,
            protocol: String::new(),
            negotiated: false,
            id: None,
        }
    }
}

/// State of a data channel (W3C `RTCDataChannelState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataChannelState {
    /// Waiting for the SCTP association (and, for DCEP channels, the stream id).
    Connecting,
    /// Messages can be sent.
    Open,
    /// `close` was called; queued messages still go out.
    Closing,
    /// Closed.
    Closed,
}

/// A received message (W3C `MessageEvent.data`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A UTF-8 string (PPID 51 / 56).
    Text(String),
    /// Binary data (PPID 53 / 57).
    Binary(bytes::Bytes),
}

impl Message {
    /// The payload bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Message::Text(s) => s.as_bytes(),
            Message::Binary(b) => b,
        }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether it is a text message.
    pub fn is_text(&self) -> bool {
        matches!(self, Message::Text(_))
    }
}

/// What the peer connection keeps per channel.
#[derive(Debug, Clone)]
pub(crate) struct ChannelEntry {
    pub label: String,
    pub init: DataChannelInit,
    pub state: DataChannelState,
    /// SCTP stream id once known.
    pub stream_id: Option<u16>,
    pub low_threshold: usize,
    pub messages_sent: u64,
    pub bytes_sent: u64,
    pub messages_received: u64,
    pub bytes_received: u64,
}

impl ChannelEntry {
    pub(crate) fn new(label: String, init: DataChannelInit) -> Self {
        ChannelEntry {
            stream_id: if init.negotiated { init.id } else { None },
            label,
            init,
            state: DataChannelState::Connecting,
            low_threshold: 0,
            messages_sent: 0,
            bytes_sent: 0,
            messages_received: 0,
            bytes_received: 0,
        }
    }

    pub(crate) fn sctp_config(&self) -> oxrtc_sctp::ChannelConfig {
        oxrtc_sctp::ChannelConfig {
            label: self.label.clone(),
            protocol: self.init.protocol.clone(),
            ordered: self.init.ordered,
            max_retransmits: self.init.max_retransmits,
            max_packet_life_time: self.init.max_packet_life_time,
            negotiated: if self.init.negotiated {
                self.init.id
            } else {
                None
            },
            priority: 256,
        }
    }
}
