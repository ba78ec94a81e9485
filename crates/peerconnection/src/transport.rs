//! The data path: one UDP 5-tuple per BUNDLE group, demultiplexed by first byte (RFC 7983)
//! into STUN (ICE), DTLS and SRTP/SRTCP; SCTP over DTLS (RFC 8261) for data channels.

use crate::config::DtlsRole;
use crate::datachannel::{ChannelEntry, ChannelId, DataChannelState, Message};
use crate::error::Error;
use crate::event::{Event, IceConnectionState, IceGatheringState, PeerConnectionState};
use crate::jsep::{RemoteTransport, SCTP_PORT};
use crate::peer_connection::PeerConnection;
use bytes::{Bytes, BytesMut};
use oxrtc_dtls::Fingerprint as DtlsFingerprint;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;

pub use oxrtc_ice::{Datagram, Transmit};

/// State of the DTLS transport (W3C `RTCDtlsTransportState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DtlsTransportState {
    /// Not started.
    #[default]
    New,
    /// Handshaking.
    Connecting,
    /// Handshake done, fingerprint verified.
    Connected,
    /// close_notify sent or received.
    Closed,
    /// Handshake or record failure.
    Failed,
}

/// What the first byte of a datagram says it is (RFC 7983 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PacketClass {
    /// 0–3: STUN.
    Stun,
    /// 20–63: DTLS.
    Dtls,
    /// 128–191: RTP or RTCP.
    Rtp,
    /// Anything else (ZRTP 16–19, TURN channels 64–79, unknown).
    Other,
}

pub(crate) fn classify(datagram: &[u8]) -> PacketClass {
    match datagram.first() {
        Some(0..=3) => PacketClass::Stun,
        Some(20..=63) => PacketClass::Dtls,
        Some(128..=191) => PacketClass::Rtp,
        _ => PacketClass::Other,
    }
}

/// Early DTLS datagrams held until the DTLS connection exists (the peer may start before
/// our answer is applied or ICE reports the pair).
const MAX_EARLY_DTLS: usize = 16;

/// Room for a DTLS 1.2 record header and AEAD overhead (13 + 8 explicit nonce + 16 tag).
const DTLS_RECORD_OVERHEAD: usize = 40;

/// A datagram's contents as the caller gave them: borrowed, or an owned buffer that can be
/// decrypted in place.
pub(crate) enum Incoming<'a> {
    Borrowed(&'a [u8]),
    Owned(BytesMut),
}

impl Incoming<'_> {
    pub(crate) fn as_slice(&self) -> &[u8] {
        match self {
            Incoming::Borrowed(d) => d,
            Incoming::Owned(d) => d,
        }
    }

    /// An owned buffer (a copy if borrowed).
    pub(crate) fn into_bytes_mut(self) -> BytesMut {
        match self {
            Incoming::Borrowed(d) => BytesMut::from(d),
            Incoming::Owned(d) => d,
        }
    }
}

/// The transports of a peer connection: their states and sub-machines.
pub(crate) struct Transport {
    pub gathering_state: IceGatheringState,
    pub ice_state: IceConnectionState,
    pub local_candidates: Vec<String>,
    pub dtls_state: DtlsTransportState,
    role: Option<DtlsRole>,
    pub(crate) dtls: Option<oxrtc_dtls::Connection>,
    early_dtls: Vec<(SocketAddr, SocketAddr, BytesMut)>,
    remote_fingerprints: Vec<DtlsFingerprint>,
    pub(crate) sctp: Option<oxrtc_sctp::Association>,
    /// SRTP/SRTCP contexts keyed from the DTLS exporter (RFC 5764 §4.2), for media.
    pub(crate) srtp: Option<oxrtc_srtp::ContextPair>,
    data_negotiated: bool,
    remote_sctp_port: u16,
    pub(crate) remote_max_message_size: usize,
    pub(crate) streams: HashMap<u16, ChannelId>,
    /// (local, remote) of the pair data flows on.
    pub(crate) selected: Option<(SocketAddr, SocketAddr)>,
    pub(crate) transmits: VecDeque<Transmit>,
    emitted_state: PeerConnectionState,
    emitted_ice_state: IceConnectionState,
    pub(crate) failure: Option<Error>,
    pub(crate) stats: TransportCounters,
}

/// Counters for stats.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TransportCounters {
    pub packets_sent: u64,
    pub bytes_sent: u64,
    pub packets_received: u64,
    pub bytes_received: u64,
    pub dropped: u64,
    pub rtp_dropped: u64,
    pub data_channels_opened: u32,
    pub data_channels_closed: u32,
}

/// What JSEP hands the transports after a description was applied.
pub(crate) struct TransportParams {
    /// A local description is applied (gathering may start).
    pub started: bool,
    /// We made the offer (ICE controlling, RFC 8445 §6.1.1).
    pub controlling: bool,
    pub remote: Option<RemoteTransport>,
    pub remote_candidates: Vec<String>,
    pub remote_end_of_candidates: bool,
    pub role: Option<DtlsRole>,
    /// An m=application section is negotiated: run SCTP.
    pub data: bool,
}

impl Transport {
    pub(crate) fn new() -> Self {
        Transport {
            gathering_state: IceGatheringState::New,
            ice_state: IceConnectionState::New,
            local_candidates: Vec::new(),
            dtls_state: DtlsTransportState::New,
            role: None,
            dtls: None,
            early_dtls: Vec::new(),
            remote_fingerprints: Vec::new(),
            sctp: None,
            srtp: None,
            data_negotiated: false,
            remote_sctp_port: SCTP_PORT,
            remote_max_message_size: crate::jsep::DEFAULT_REMOTE_MAX_MESSAGE_SIZE,
            streams: HashMap::new(),
            selected: None,
            transmits: VecDeque::new(),
            emitted_state: PeerConnectionState::New,
            emitted_ice_state: IceConnectionState::New,
            failure: None,
            stats: TransportCounters::default(),
        }
    }

    pub(crate) fn dtls_role(&self) -> Option<DtlsRole> {
        self.role
    }

    pub(crate) fn connection_state(&self) -> PeerConnectionState {
        use IceConnectionState as I;
        if self.failure.is_some()
            || self.ice_state == I::Failed
            || self.dtls_state == DtlsTransportState::Failed
        {
            return PeerConnectionState::Failed;
        }
        if self.ice_state == I::Disconnected {
            return PeerConnectionState::Disconnected;
        }
        // W3C RTCPeerConnectionState, in the spec's order.
        if matches!(self.ice_state, I::New | I::Closed)
            && matches!(
                self.dtls_state,
                DtlsTransportState::New | DtlsTransportState::Closed
            )
        {
            return PeerConnectionState::New;
        }
        if matches!(self.ice_state, I::Connected | I::Completed | I::Closed)
            && matches!(
                self.dtls_state,
                DtlsTransportState::Connected | DtlsTransportState::Closed
            )
        {
            return PeerConnectionState::Connected;
        }
        PeerConnectionState::Connecting
    }
}

impl PeerConnection {
    // ------------------------------------------------------------------ inputs

    /// Takes a UDP datagram that arrived on a local socket, demultiplexed by its first byte
    /// (RFC 7983 §7): STUN to ICE, DTLS to the DTLS connection, RTP/RTCP to the media layer.
    /// Malformed or unexpected datagrams are dropped and counted;
    /// they never fail the connection unless the protocol says so (a DTLS fatal alert).
    ///
    /// TCP transmits ([`Transmit::transport`] `Tcp`) go to a TURN server over TCP (or TLS
    /// for `turns:` servers): the runtime keeps one connection per (`source`, `destination`),
    /// writes the contents as they are, frames what it reads into whole STUN messages
    /// (20 + length) and ChannelData messages (4 + length, padded to 4 bytes), and hands each
    /// back here as a `Tcp` [`Datagram`] with `local` = the transmit's `source` and `remote`
    /// = the server.
    pub fn handle_receive(&mut self, now: Instant, datagram: Datagram<'_>) {
        self.now = self.now.max(now);
        if self.is_closed() {
            return;
        }
        self.transport.stats.packets_received += 1;
        self.transport.stats.bytes_received += datagram.contents.len() as u64;
        if datagram.transport != oxrtc_ice::Protocol::Udp {
            // Over TCP only TURN servers talk to us (TURN over TCP or TLS): whole STUN and
            // ChannelData messages, unwrapped by ICE.
            self.ice_receive(datagram);
            self.drive();
            return;
        }
        match classify(datagram.contents) {
            PacketClass::Stun => self.ice_receive(datagram),
            // TURN channel data (64–79) also goes to ICE, which unwraps relayed data.
            PacketClass::Other if matches!(datagram.contents.first(), Some(64..=79)) => {
                self.ice_receive(datagram)
            }
            _ => self.transport_receive_app(
                datagram.local,
                datagram.remote,
                Incoming::Borrowed(datagram.contents),
            ),
        }
        self.drive();
    }

    /// The runtime's TCP (or TLS) connection from `local` to the TURN server `server`
    /// ended or could not be opened (`reason` says why): the relayed candidates on it are
    /// gone and an [`Event::IceCandidateError`] reports it at once.
    pub fn handle_stream_closed(
        &mut self,
        now: Instant,
        local: SocketAddr,
        server: SocketAddr,
        reason: &str,
    ) {
        self.now = self.now.max(now);
        if self.is_closed() {
            return;
        }
        let now = self.now;
        if let Some(agent) = &mut self.ice.agent {
            agent.handle_stream_closed(now, local, server, reason);
        }
        self.drive();
    }

    /// [`handle_receive`](Self::handle_receive) for a UDP datagram the caller owns, as a
    /// `BytesMut`: DTLS records are decrypted in place in it and handed on as slices of it
    /// (oxrtc-dtls's allocation-free path), SRTP is unprotected in place. Receive into one
    /// large `BytesMut` and `split_to` each datagram off it; its memory is reused once
    /// the slices are dropped (data channel messages are copied out, so they are).
    pub fn handle_receive_bytes(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        datagram: BytesMut,
    ) {
        match classify(&datagram) {
            PacketClass::Dtls | PacketClass::Rtp => {
                self.now = self.now.max(now);
                if self.is_closed() {
                    return;
                }
                self.transport.stats.packets_received += 1;
                self.transport.stats.bytes_received += datagram.len() as u64;
                self.transport_receive_app(local, remote, Incoming::Owned(datagram));
                self.drive();
            }
            _ => self.handle_receive(now, Datagram::udp(local, remote, &datagram)),
        }
    }

    /// Application data (DTLS, SRTP) from the pair's remote, direct or unwrapped from TURN.
    pub(crate) fn transport_receive_app(
        &mut self,
        local: SocketAddr,
        remote: SocketAddr,
        contents: Incoming<'_>,
    ) {
        match classify(contents.as_slice()) {
            PacketClass::Dtls => {
                // Only from the peer ICE talks to (a validated pair or a known candidate):
                // anyone else could only disturb the handshake (RFC 8445 §11 forbids
                // taking data from addresses that are not in a valid pair).
                if let Some((_, peer)) = self.transport.selected {
                    if peer != remote && !self.ice_knows_remote(remote) {
                        self.transport.stats.dropped += 1;
                        return;
                    }
                }
                self.dtls_receive(local, remote, contents)
            }
            PacketClass::Rtp => self.media_receive(contents),
            _ => {
                self.transport.stats.dropped += 1;
                tracing::debug!(
                    len = contents.as_slice().len(),
                    "unclassified datagram dropped"
                );
            }
        }
    }

    /// Runs the timers that are due (ICE checks, DTLS retransmissions, SCTP timers).
    /// Early or repeated calls are harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = self.now.max(now);
        if self.is_closed() {
            return;
        }
        let now = self.now;
        self.ice_timeout(now);
        if let Some(d) = &mut self.transport.dtls {
            if d.poll_timeout().is_some_and(|t| t <= now) {
                d.handle_timeout(now);
            }
        }
        if let Some(s) = &mut self.transport.sctp {
            if s.poll_timeout().is_some_and(|t| t <= now) {
                s.handle_timeout(now);
            }
        }
        self.media_timeout(now);
        self.drive();
    }

    // ------------------------------------------------------------------ outputs

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        let t = self.transport.transmits.pop_front()?;
        self.transport.stats.packets_sent += 1;
        self.transport.stats.bytes_sent += t.contents.len() as u64;
        Some(t)
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due, if any timer runs.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.is_closed() {
            return None;
        }
        [
            self.ice_poll_timeout(),
            self.transport.dtls.as_ref().and_then(|d| d.poll_timeout()),
            self.transport.sctp.as_ref().and_then(|s| s.poll_timeout()),
            self.media_poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The DTLS transport's state (W3C `RTCDtlsTransport.state`).
    pub fn dtls_state(&self) -> DtlsTransportState {
        self.transport.dtls_state
    }

    /// Counters of the DTLS connection (dropped records, retransmissions), once it exists.
    pub fn dtls_stats(&self) -> Option<oxrtc_dtls::Stats> {
        self.transport
            .dtls
            .as_ref()
            .map(oxrtc_dtls::Connection::stats)
    }

    /// Counters of the SCTP association (retransmissions, smoothed RTT, congestion
    /// window), once it exists.
    pub fn sctp_stats(&self) -> Option<oxrtc_sctp::Stats> {
        self.transport
            .sctp
            .as_ref()
            .map(oxrtc_sctp::Association::stats)
    }

    /// The remote's max-message-size in bytes (RFC 8841 §6; 65536 when its SDP has none,
    /// `usize::MAX` for "no limit").
    pub fn remote_max_message_size(&self) -> usize {
        self.transport.remote_max_message_size
    }

    // ------------------------------------------------------------------ composition

    /// Applies what JSEP negotiated.
    pub(crate) fn transport_apply(&mut self, p: TransportParams) -> Result<(), Error> {
        if let Some(r) = &p.remote {
            self.transport.remote_max_message_size = if r.max_message_size == 0 {
                usize::MAX
            } else {
                r.max_message_size
            };
            if let Some(port) = r.sctp_port {
                self.transport.remote_sctp_port = port;
            }
            if let Some(s) = &mut self.transport.sctp {
                s.set_max_message_size(r.max_message_size);
            }
            if self.transport.remote_fingerprints != r.fingerprints {
                self.transport.remote_fingerprints = r.fingerprints.clone();
                if let Some(d) = &mut self.transport.dtls {
                    d.set_expected_remote_fingerprints(r.fingerprints.clone());
                }
            }
        }
        self.ice_apply(&p)?;
        if self.transport.role.is_none() {
            self.transport.role = p.role;
        }
        self.transport.data_negotiated |= p.data;
        self.maybe_start_dtls();
        Ok(())
    }

    /// Creates the DTLS connection once the role is known and, for the client, ICE has a
    /// pair to send on. The server is created at once so the peer's ClientHello finds it.
    pub(crate) fn maybe_start_dtls(&mut self) {
        if self.transport.dtls.is_some() || self.transport.dtls_state == DtlsTransportState::Failed
        {
            return;
        }
        let Some(role) = self.transport.role else {
            return;
        };
        if role == DtlsRole::Client && self.transport.selected.is_none() {
            return;
        }
        let dtls_role = match role {
            DtlsRole::Client => oxrtc_dtls::Role::Client,
            DtlsRole::Server => oxrtc_dtls::Role::Server,
        };
        let mut cfg = oxrtc_dtls::Config::new(dtls_role, self.certificate.clone());
        cfg.expected_remote_fingerprints = self.transport.remote_fingerprints.clone();
        // The cookie exchange protects servers from amplification; ICE already proved
        // the peer's address (RFC 8445 consent), and browsers do not use it.
        cfg.hello_verify = false;
        let rng = ChaCha20Rng::from_rng(&mut self.rng);
        match oxrtc_dtls::Connection::new(cfg, self.now, rng) {
            Ok(conn) => {
                self.transport.dtls = Some(conn);
                self.transport.dtls_state = DtlsTransportState::Connecting;
                let early = std::mem::take(&mut self.transport.early_dtls);
                for (local, remote, data) in early {
                    self.dtls_receive(local, remote, Incoming::Owned(data));
                }
            }
            Err(e) => self.fail(Error::Dtls(e)),
        }
    }

    fn dtls_receive(&mut self, local: SocketAddr, remote: SocketAddr, contents: Incoming<'_>) {
        let now = self.now;
        match &mut self.transport.dtls {
            Some(conn) => {
                let r = match contents {
                    Incoming::Borrowed(d) => conn.handle_receive(now, d),
                    Incoming::Owned(d) => conn.handle_receive_bytes(now, d),
                };
                if let Err(e) = r {
                    tracing::debug!(error = %e, "dtls input failed the connection");
                }
            }
            None => {
                if self.transport.early_dtls.len() < MAX_EARLY_DTLS {
                    self.transport
                        .early_dtls
                        .push((local, remote, contents.into_bytes_mut()));
                } else {
                    self.transport.stats.dropped += 1;
                }
            }
        }
    }

    /// Moves outputs between the sub-machines until nothing moves: ICE → transmits and
    /// states; DTLS → transmits, SCTP input, events; SCTP → DTLS records, channel events.
    pub(crate) fn drive(&mut self) {
        if self.is_closed() {
            return;
        }
        for _ in 0..10_000 {
            let mut progress = self.ice_drive();
            progress |= self.dtls_drive();
            progress |= self.sctp_drive();
            if !progress {
                break;
            }
        }
        self.update_states();
    }

    fn dtls_drive(&mut self) -> bool {
        let mut progress = false;
        let Some(conn) = &mut self.transport.dtls else {
            return false;
        };
        let mut app: Vec<Bytes> = Vec::new();
        let mut connected = false;
        let mut failed = None;
        while let Some(ev) = conn.poll_event() {
            progress = true;
            match ev {
                oxrtc_dtls::Event::Connected { srtp_profile } => {
                    connected = true;
                    if let Some(p) = srtp_profile {
                        self.transport.srtp = srtp_contexts(conn, p);
                    }
                }
                oxrtc_dtls::Event::ApplicationData(data) => app.push(Bytes::from(data)),
                oxrtc_dtls::Event::ApplicationDataBytes(data) => app.push(data),
                oxrtc_dtls::Event::Closed => {
                    self.transport.dtls_state = DtlsTransportState::Closed;
                }
                oxrtc_dtls::Event::Failed(e) => failed = Some(e),
                _ => {}
            }
        }
        let mut out = Vec::new();
        if self.transport.selected.is_some() {
            while let Some(contents) = conn.poll_transmit() {
                out.push(contents);
            }
        }
        for contents in out {
            progress = true;
            if let Some(t) = self.ice_wrap(contents) {
                self.transport.transmits.push_back(t);
            }
        }
        if connected {
            self.transport.dtls_state = DtlsTransportState::Connected;
            self.start_sctp();
        }
        let now = self.now;
        for data in app {
            if let Some(s) = &mut self.transport.sctp {
                if let Err(e) = s.handle_receive(now, &data) {
                    self.transport.stats.dropped += 1;
                    tracing::debug!(error = %e, "sctp packet dropped");
                }
            }
        }
        if let Some(e) = failed {
            self.transport.dtls_state = DtlsTransportState::Failed;
            self.fail(Error::Dtls(e));
        }
        progress
    }

    fn start_sctp(&mut self) {
        if self.transport.sctp.is_some() || !self.transport.data_negotiated {
            return;
        }
        let is_client = self.transport.role == Some(DtlsRole::Client);
        let cfg = oxrtc_sctp::Config {
            remote_port: self.transport.remote_sctp_port,
            max_receive_message_size: self.config.effective_max_message_size(),
            max_message_size: self.transport.remote_max_message_size,
            ..oxrtc_sctp::Config::default()
        };
        let mut assoc = oxrtc_sctp::Association::new(cfg, is_client, self.now, &mut self.rng);
        let max = self.transport.remote_max_message_size;
        assoc.set_max_message_size(if max == usize::MAX { 0 } else { max });
        self.transport.sctp = Some(assoc);
        let pending: Vec<ChannelId> = self
            .channels
            .iter()
            .filter(|(_, c)| c.state == DataChannelState::Connecting)
            .map(|(id, _)| *id)
            .collect();
        for id in pending {
            if let Err(e) = self.open_sctp_channel(id) {
                self.channel_failed(id, e);
            }
        }
    }

    /// Opens a created channel on the association, if it exists yet.
    pub(crate) fn open_sctp_channel(&mut self, id: ChannelId) -> Result<(), Error> {
        let Some(sctp) = &mut self.transport.sctp else {
            return Ok(());
        };
        let Some(entry) = self.channels.get_mut(&id) else {
            return Err(Error::UnknownHandle);
        };
        let sid = sctp.open_channel(entry.sctp_config())?;
        entry.stream_id = Some(sid);
        self.transport.streams.insert(sid, id);
        Ok(())
    }

    fn channel_failed(&mut self, id: ChannelId, e: Error) {
        if let Some(c) = self.channels.get_mut(&id) {
            c.state = DataChannelState::Closed;
        }
        self.events.push_back(Event::ChannelError { id, error: e });
        self.events.push_back(Event::ChannelClosed(id));
    }

    fn sctp_drive(&mut self) -> bool {
        let mut progress = false;
        let (Some(sctp), Some(dtls)) = (&mut self.transport.sctp, &mut self.transport.dtls) else {
            return false;
        };
        let direct = self.transport.selected.is_some();
        let mut sealed = Vec::new();
        while let Some(packet) = sctp.poll_transmit() {
            progress = true;
            // With a pair to send on, each record is sealed straight into the datagram
            // that goes out (oxrtc-dtls's allocation-free path); else DTLS queues it.
            let r = if direct {
                let mut out = Vec::with_capacity(packet.len() + DTLS_RECORD_OVERHEAD);
                let r = dtls.seal_application_data(&packet, &mut out);
                sealed.push(out);
                r
            } else {
                dtls.send_application_data(&packet)
            };
            if let Err(e) = r {
                tracing::debug!(error = %e, "sctp packet not sent");
                sealed.pop();
                break;
            }
        }
        let mut events = Vec::new();
        while let Some(ev) = sctp.poll_event() {
            events.push(ev);
        }
        if !events.is_empty() {
            progress = true;
        }
        for contents in sealed {
            if let Some(t) = self.ice_wrap(contents) {
                self.transport.transmits.push_back(t);
            }
        }
        for ev in events {
            self.sctp_event(ev);
        }
        progress
    }

    fn sctp_event(&mut self, ev: oxrtc_sctp::Event) {
        use oxrtc_sctp::Event as S;
        match ev {
            S::Connected => {}
            S::ChannelOpen { id, config, remote } => {
                let cid = match (remote, self.transport.streams.get(&id)) {
                    (false, Some(cid)) => *cid,
                    _ => {
                        let cid = self.new_channel_id();
                        let init = crate::datachannel::DataChannelInit {
                            ordered: config.ordered,
                            max_packet_life_time: config.max_packet_life_time,
                            max_retransmits: config.max_retransmits,
                            protocol: config.protocol.clone(),
                            negotiated: config.negotiated.is_some(),
                            id: Some(id),
                        };
                        let mut entry = ChannelEntry::new(config.label.clone(), init);
                        entry.stream_id = Some(id);
                        self.channels.insert(cid, entry);
                        self.transport.streams.insert(id, cid);
                        self.events.push_back(Event::DataChannel(cid));
                        cid
                    }
                };
                if let Some(c) = self.channels.get_mut(&cid) {
                    c.state = DataChannelState::Open;
                    if let Some(s) = &mut self.transport.sctp {
                        let _ = s.set_buffered_amount_low_threshold(id, c.low_threshold);
                    }
                }
                self.transport.stats.data_channels_opened += 1;
                self.events.push_back(Event::ChannelOpen(cid));
            }
            S::Message { id, data, is_text } => {
                let Some(cid) = self.transport.streams.get(&id).copied() else {
                    return;
                };
                if let Some(c) = self.channels.get_mut(&cid) {
                    c.messages_received += 1;
                    c.bytes_received += data.len() as u64;
                }
                let message = if is_text {
                    Message::Text(match String::from_utf8(data.to_vec()) {
                        Ok(s) => s,
                        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
                    })
                } else {
                    Message::Binary(data)
                };
                self.events
                    .push_back(Event::ChannelMessage { id: cid, message });
            }
            S::BufferedAmountLow { id } => {
                if let Some(cid) = self.transport.streams.get(&id).copied() {
                    self.events.push_back(Event::ChannelBufferedAmountLow(cid));
                }
            }
            S::ChannelClosed { id } => {
                if let Some(cid) = self.transport.streams.remove(&id) {
                    if let Some(c) = self.channels.get_mut(&cid) {
                        c.state = DataChannelState::Closed;
                    }
                    self.transport.stats.data_channels_closed += 1;
                    self.events.push_back(Event::ChannelClosed(cid));
                }
            }
            S::ChannelError { id, error } => {
                if let Some(cid) = self.transport.streams.get(&id).copied() {
                    self.events.push_back(Event::ChannelError {
                        id: cid,
                        error: error.into(),
                    });
                }
            }
            S::Closed { reason } => {
                let ids: Vec<ChannelId> = self.transport.streams.drain().map(|(_, c)| c).collect();
                for cid in ids {
                    if let Some(c) = self.channels.get_mut(&cid) {
                        c.state = DataChannelState::Closed;
                    }
                    self.events.push_back(Event::ChannelClosed(cid));
                }
                // The peer closing (SHUTDOWN, ABORT) ends the channels; a lost or broken
                // association fails the connection.
                if matches!(
                    reason,
                    oxrtc_sctp::CloseReason::Lost | oxrtc_sctp::CloseReason::ProtocolViolation(_)
                ) {
                    self.fail(Error::Sctp(format!("association ended: {reason:?}")));
                }
            }
            _ => {}
        }
    }

    pub(crate) fn new_channel_id(&mut self) -> ChannelId {
        ChannelId(self.next_channel_id())
    }

    /// Records a fatal error: the connection state becomes failed.
    pub(crate) fn fail(&mut self, e: Error) {
        if self.transport.failure.is_none() {
            tracing::debug!(error = %e, "peer connection failed");
            self.events.push_back(Event::Failed(e.clone()));
            self.transport.failure = Some(e);
        }
    }

    fn update_states(&mut self) {
        let ice = self.transport.ice_state;
        if ice != self.transport.emitted_ice_state {
            self.transport.emitted_ice_state = ice;
            self.events.push_back(Event::IceConnectionStateChange(ice));
        }
        let state = self.transport.connection_state();
        if state != self.transport.emitted_state {
            self.transport.emitted_state = state;
            self.events.push_back(Event::ConnectionStateChange(state));
        }
    }

    /// Closes the transports: DTLS close_notify and SCTP ABORT go out with the last
    /// transmits; timers stop.
    pub(crate) fn close_transport(&mut self) {
        if let Some(s) = &mut self.transport.sctp {
            s.abort("peer connection closed");
            if let Some(d) = &mut self.transport.dtls {
                while let Some(p) = s.poll_transmit() {
                    let _ = d.send_application_data(&p);
                }
            }
        }
        let mut out = Vec::new();
        if let Some(d) = &mut self.transport.dtls {
            d.close();
            while let Some(contents) = d.poll_transmit() {
                out.push(contents);
            }
        }
        for contents in out {
            if let Some(t) = self.ice_wrap(contents) {
                self.transport.transmits.push_back(t);
            }
        }
        self.transport.dtls_state = DtlsTransportState::Closed;
        self.ice_close();
        self.transport.ice_state = IceConnectionState::Closed;
        self.transport.streams.clear();
    }
}

/// SRTP contexts for both directions from the DTLS exporter (RFC 5764 §4.2).
fn srtp_contexts(
    conn: &oxrtc_dtls::Connection,
    profile: oxrtc_dtls::SrtpProtectionProfile,
) -> Option<oxrtc_srtp::ContextPair> {
    let p = oxrtc_srtp::SrtpProfile::from_id(profile.id())?;
    let material = conn
        .export_keying_material("EXTRACTOR-dtls_srtp", None, p.keying_material_len())
        .ok()?;
    let is_client = conn.role() == oxrtc_dtls::Role::Client;
    // Plain retransmissions (no RTX) resend a packet byte for byte under its index.
    let policy = oxrtc_srtp::Policy::default().with_allow_repeat_tx(true);
    oxrtc_srtp::ContextPair::from_keying_material(p, &material, is_client, policy).ok()
}

impl PeerConnection {
    /// The SRTP profile negotiated by DTLS (use_srtp, RFC 5764), once connected.
    pub fn srtp_profile(&self) -> Option<oxrtc_srtp::SrtpProfile> {
        self.transport.srtp.as_ref().map(|c| c.outbound.profile())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregate_state_follows_w3c() {
        use DtlsTransportState as D;
        use IceConnectionState as I;
        use PeerConnectionState as P;
        let mut t = Transport::new();
        let cases = [
            (I::New, D::New, P::New),
            (I::Checking, D::New, P::Connecting),
            (I::Connected, D::New, P::Connecting),
            (I::Connected, D::Connecting, P::Connecting),
            (I::Connected, D::Connected, P::Connected),
            (I::Completed, D::Connected, P::Connected),
            (I::Connected, D::Closed, P::Connected),
            (I::Disconnected, D::Connected, P::Disconnected),
            (I::Failed, D::Connected, P::Failed),
            (I::Connected, D::Failed, P::Failed),
            (I::Closed, D::Closed, P::New),
        ];
        for (ice, dtls, want) in cases {
            t.ice_state = ice;
            t.dtls_state = dtls;
            assert_eq!(t.connection_state(), want, "{ice:?} {dtls:?}");
        }
    }

    #[test]
    fn rfc7983_demux() {
        assert_eq!(classify(&[0x00, 0x01]), PacketClass::Stun);
        assert_eq!(classify(&[3]), PacketClass::Stun);
        assert_eq!(classify(&[16]), PacketClass::Other); // ZRTP
        assert_eq!(classify(&[20]), PacketClass::Dtls);
        assert_eq!(classify(&[22, 0xfe, 0xfd]), PacketClass::Dtls);
        assert_eq!(classify(&[63]), PacketClass::Dtls);
        assert_eq!(classify(&[64]), PacketClass::Other); // TURN channel
        assert_eq!(classify(&[0x80, 96]), PacketClass::Rtp);
        assert_eq!(classify(&[191]), PacketClass::Rtp);
        assert_eq!(classify(&[192]), PacketClass::Other);
        assert_eq!(classify(&[]), PacketClass::Other);
    }
}
