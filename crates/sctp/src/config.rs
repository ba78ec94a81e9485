//! Association and channel configuration.

use std::time::Duration;

/// Association settings. `Config::default()` is what WebRTC uses: ports 5000, a 1200-byte
/// path MTU, 65535 streams each way, 256 KiB local max-message-size, zero checksum and I-DATA
/// offered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Our SCTP port (RFC 8841 `a=sctp-port`, 5000 by default).
    pub local_port: u16,
    /// The peer's SCTP port (5000 by default).
    pub remote_port: u16,
    /// Largest SCTP packet we send, in bytes (the DTLS record payload). Default 1200.
    pub mtu: usize,
    /// Largest user message we accept, in bytes (what we advertise in SDP
    /// `a=max-message-size`). Default 256 KiB. A peer sending a larger one is aborted.
    pub max_receive_message_size: usize,
    /// The remote's max-message-size in bytes (RFC 8841); [`crate::Association::send`]
    /// rejects larger messages. Default 65536, the value when SDP has no attribute.
    pub max_message_size: usize,
    /// Receive buffer in bytes; the a_rwnd we advertise (RFC 9260 §6.1). Default 1 MiB.
    pub receive_window: u32,
    /// Outbound streams we ask for (OS). Default 65535.
    pub num_outbound_streams: u16,
    /// Inbound streams we accept (MIS). Default 65535.
    pub num_inbound_streams: u16,
    /// RTO.Initial (RFC 9260 §16). Default 1 s.
    pub rto_initial: Duration,
    /// RTO.Min. Default 200 ms (RFC 9260 suggests 1 s; WebRTC stacks use less).
    pub rto_min: Duration,
    /// RTO.Max. Default 60 s.
    pub rto_max: Duration,
    /// Max.Init.Retransmits (INIT and COOKIE ECHO). Default 8.
    pub max_init_retransmits: u32,
    /// Association.Max.Retrans: consecutive timeouts before the association is declared lost.
    /// Default 10.
    pub max_association_retransmits: u32,
    /// Delayed SACK timeout (RFC 9260 §6.2: at most 500 ms). Default 200 ms.
    pub delayed_ack: Duration,
    /// HB.interval, or `None` to send no heartbeats. Default 30 s.
    pub heartbeat_interval: Option<Duration>,
    /// Valid.Cookie.Life. Default 60 s.
    pub cookie_lifetime: Duration,
    /// Offer and accept zero checksum (RFC 9653) with EDMID 1 (DTLS). Only correct when the
    /// packets run over DTLS, as in WebRTC. Default true.
    pub zero_checksum: bool,
    /// Offer I-DATA / I-FORWARD-TSN (RFC 8260) so messages of different streams interleave.
    /// Default true; used only if the peer offers them too.
    pub interleaving: bool,
    /// Send INIT at creation (both WebRTC peers do; RFC 8841 simultaneous open). With `false`
    /// the association only answers an INIT. Default true.
    pub active_open: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            local_port: 5000,
            remote_port: 5000,
            mtu: 1200,
            max_receive_message_size: 256 * 1024,
            max_message_size: 65536,
            receive_window: 1024 * 1024,
            num_outbound_streams: 65535,
            num_inbound_streams: 65535,
            rto_initial: Duration::from_secs(1),
            rto_min: Duration::from_millis(200),
            rto_max: Duration::from_secs(60),
            max_init_retransmits: 8,
            max_association_retransmits: 10,
            delayed_ack: Duration::from_millis(200),
            heartbeat_interval: Some(Duration::from_secs(30)),
            cookie_lifetime: Duration::from_secs(60),
            zero_checksum: true,
            interleaving: true,
            active_open: true,
        }
    }
}

/// A data channel's settings (W3C `RTCDataChannelInit`, RFC 8832 §5.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelConfig {
    /// Label (may be empty).
    pub label: String,
    /// Sub-protocol (may be empty).
    pub protocol: String,
    /// Ordered delivery. Default true.
    pub ordered: bool,
    /// Partial reliability: give up after this many retransmissions (PR-SCTP "rtx").
    pub max_retransmits: Option<u16>,
    /// Partial reliability: give up after this many milliseconds (PR-SCTP "ttl").
    pub max_packet_life_time: Option<u16>,
    /// Pre-negotiated channel on this stream id: no DCEP, both sides open it themselves.
    pub negotiated: Option<u16>,
    /// DCEP priority (RFC 8832 §5.1: 128 below normal, 256 normal, 512 high, 1024 extra high).
    pub priority: u16,
}

impl Default for ChannelConfig {
    fn default() -> Self {
        ChannelConfig {
            label: String::new(),
            protocol: String::new(),
            ordered: true,
            max_retransmits: None,
            max_packet_life_time: None,
            negotiated: None,
            priority: 256,
        }
    }
}

impl ChannelConfig {
    /// A reliable ordered channel with this label.
    #[must_use]
    pub fn new(label: impl Into<String>) -> Self {
        ChannelConfig {
            label: label.into(),
            ..ChannelConfig::default()
        }
    }
}
