//! The SCTP association (RFC 9260 §5 - §9) and the data channels on it (RFC 8831, RFC 8832),
//! as one sans-IO state machine.

use crate::config::{ChannelConfig, Config};
use crate::cookie::CookieData;
use crate::dcep::{DcepMessage, Ppid};
use crate::error::{Error, Result};
use crate::recv::{unwrap_near, InChunk, Reassembly, RecvTracker};
use crate::send::{Fragment, Outstanding, SendQueue, SentChunk};
use crate::wire::{
    self, Abort, Chunk, ChunkType, CommonHeader, CookieEcho, DataChunk, ErrorCause, ErrorChunk,
    ForwardTsn, ForwardTsnStream, Heartbeat, IDataChunk, IForwardTsn, IForwardTsnStream, Init,
    Packet, Param, ReConfig, ReconfigResult, Sack, Shutdown,
};
use bytes::Bytes;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

/// Association state (RFC 9260 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// No association (before an INIT, or after the end).
    Closed,
    /// INIT sent, waiting for INIT ACK.
    CookieWait,
    /// COOKIE ECHO sent, waiting for COOKIE ACK.
    CookieEchoed,
    /// Data flows.
    Established,
    /// Local shutdown requested; outstanding data is being sent.
    ShutdownPending,
    /// SHUTDOWN sent.
    ShutdownSent,
    /// SHUTDOWN received; our outstanding data is being sent.
    ShutdownReceived,
    /// SHUTDOWN ACK sent.
    ShutdownAckSent,
}

/// Why the association ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// Graceful shutdown completed (RFC 9260 §9.2).
    Shutdown,
    /// The peer sent ABORT; the upper-layer reason if it gave one.
    AbortedByPeer(Option<String>),
    /// We aborted (see [`Association::abort`]).
    Aborted,
    /// Too many consecutive timeouts (Association.Max.Retrans or Max.Init.Retransmits).
    Lost,
    /// The peer broke the protocol; we sent ABORT.
    ProtocolViolation(&'static str),
}

/// Something the caller should know about. Drain with [`Association::poll_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The association is established: channels can open.
    Connected,
    /// A data channel is open: one we opened (`remote == false`, also for pre-negotiated
    /// channels) or one the peer opened with DATA_CHANNEL_OPEN (`remote == true`).
    ChannelOpen {
        /// Stream identifier of the channel.
        id: u16,
        /// Its configuration (for remote channels, from DATA_CHANNEL_OPEN).
        config: ChannelConfig,
        /// Opened by the peer.
        remote: bool,
    },
    /// A message arrived on a channel.
    Message {
        /// Channel (stream) id.
        id: u16,
        /// Payload; empty for the RFC 8831 §6.6 empty messages.
        data: Bytes,
        /// Sent as a string (PPID 51 / 56) rather than binary.
        is_text: bool,
    },
    /// The channel's buffered amount fell to or below its low threshold.
    BufferedAmountLow {
        /// Channel id.
        id: u16,
    },
    /// The channel is closed (both directions reset, RFC 8831 §6.7) and its id is free.
    ChannelClosed {
        /// Channel id.
        id: u16,
    },
    /// A channel-level error (a refused stream reset, ...); the channel may still work.
    ChannelError {
        /// Channel id.
        id: u16,
        /// What happened.
        error: Error,
    },
    /// The association ended; every channel is closed.
    Closed {
        /// Why.
        reason: CloseReason,
    },
}

/// Counters and current transport figures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Packets handed to `handle_receive`.
    pub packets_received: u64,
    /// Packets returned by `poll_transmit`.
    pub packets_sent: u64,
    /// Packets dropped for a bad checksum.
    pub dropped_checksum: u64,
    /// Packets dropped as malformed.
    pub dropped_malformed: u64,
    /// Packets dropped for a wrong verification tag or port.
    pub dropped_tag: u64,
    /// COOKIE ECHOs with a bad MAC or too old.
    pub bad_cookies: u64,
    /// DATA chunks dropped because buffers or limits were full.
    pub dropped_data: u64,
    /// DATA / I-DATA chunks sent for the first time.
    pub data_chunks_sent: u64,
    /// Chunks retransmitted (T3 and fast retransmit).
    pub retransmissions: u64,
    /// Fast retransmit events (RFC 9260 §7.2.4).
    pub fast_retransmits: u64,
    /// T3-rtx expirations.
    pub t3_expirations: u64,
    /// User messages handed over in `Event::Message`.
    pub messages_received: u64,
    /// Messages given up on (PR-SCTP), including ones expired before sending.
    pub messages_abandoned: u64,
    /// Duplicate TSNs received.
    pub duplicate_tsns: u64,
    /// Current congestion window in bytes.
    pub cwnd: usize,
    /// Current retransmission timeout.
    pub rto: Duration,
    /// Smoothed RTT, once measured.
    pub srtt: Option<Duration>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Caps {
    forward_tsn: bool,
    reconfig: bool,
    i_data: bool,
    zero_checksum: bool,
}

impl Caps {
    fn bits(self) -> u8 {
        u8::from(self.forward_tsn)
            | u8::from(self.reconfig) << 1
            | u8::from(self.i_data) << 2
            | u8::from(self.zero_checksum) << 3
    }
    fn from_bits(b: u8) -> Caps {
        Caps {
            forward_tsn: b & 1 != 0,
            reconfig: b & 2 != 0,
            i_data: b & 4 != 0,
            zero_checksum: b & 8 != 0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChannelState {
    /// Opened before the association was up.
    Connecting,
    Open,
    Closing,
}

#[derive(Debug)]
struct Channel {
    config: ChannelConfig,
    state: ChannelState,
    /// DATA_CHANNEL_ACK received (or not needed): unordered sending allowed (RFC 8832 §6).
    acked: bool,
    low_threshold: usize,
    above_threshold: bool,
    out_reset: bool,
    in_reset: bool,
}

#[derive(Debug)]
struct ReconfigRequest {
    seq: u32,
    /// An Incoming SSN Reset Request (we asked the peer to reset its outgoing streams);
    /// otherwise an Outgoing SSN Reset Request.
    incoming: bool,
    /// Streams in the request; empty means all.
    streams: Vec<u16>,
    chunk: Chunk,
}

#[derive(Debug)]
struct DeferredReset {
    /// Requests waiting (several merge into one deferred reset).
    seqs: Vec<u32>,
    streams: Vec<u16>,
    last_tsn: u64,
    held: Vec<InChunk>,
}

/// Largest distance ahead of the cumulative TSN at which DATA is accepted.
const MAX_TSN_AHEAD: u64 = 65536;
/// Most fragments held in reassembly.
const MAX_FRAGS: usize = 65536;
/// A packet with chunks in it takes no new fragment smaller than this.
const MIN_FRAGMENT: usize = 64;
/// EDMID for "SCTP over DTLS" (RFC 9653 §7).
const EDMID_DTLS: u32 = 1;
/// Most Incoming SSN Reset Requests of the peer remembered until our Outgoing SSN Reset
/// Request names them.
const MAX_WAITING_IN_REQUESTS: usize = 4;

/// An SCTP association with WebRTC data channels on top, sans-IO.
///
/// Feed it packets with [`handle_receive`](Self::handle_receive) and time with
/// [`handle_timeout`](Self::handle_timeout); give it commands ([`open_channel`](Self::open_channel),
/// [`send`](Self::send), [`close_channel`](Self::close_channel)...). After every input or
/// command, drain [`poll_transmit`](Self::poll_transmit) until `None` (hand each packet to
/// DTLS), then [`poll_event`](Self::poll_event) until `None`, then ask
/// [`poll_timeout`](Self::poll_timeout) when to call `handle_timeout` next.
///
/// Commands that need the time use the `now` of the latest input.
#[derive(Debug)]
pub struct Association {
    config: Config,
    is_dtls_client: bool,
    state: State,
    now: Instant,
    epoch: Instant,
    rng: ChaCha8Rng,
    cookie_key: [u8; 32],

    local_tag: u32,
    peer_tag: u32,
    local_initial_tsn: u32,
    caps: Caps,
    use_i_data: bool,
    zero_checksum_tx: bool,
    out_streams: u16,
    in_streams: u16,

    // handshake
    init_chunk: Option<Init>,
    cookie: Option<Bytes>,
    t1: Option<Instant>,
    t1_count: u32,
    t1_rto: Duration,

    // sending
    next_tsn: u64,
    send_queue: SendQueue,
    outstanding: Outstanding,
    cwnd: usize,
    ssthresh: usize,
    partial_bytes_acked: usize,
    peer_rwnd: u32,
    fast_recovery_exit: Option<u64>,
    fast_rtx_packet: bool,
    srtt: Option<Duration>,
    rttvar: Duration,
    rto: Duration,
    rtt_probe: Option<u64>,
    t3: Option<Instant>,
    error_count: u32,
    adv_peer_ack: u64,
    forward_tsn_pending: bool,

    // receiving
    tracker: Option<RecvTracker>,
    reassembly: Reassembly,
    sack_now: bool,
    sack_at: Option<Instant>,
    data_packets_unacked: u32,

    // output
    control: VecDeque<Chunk>,
    solo: VecDeque<Vec<u8>>,

    // heartbeat
    hb_at: Option<Instant>,
    hb_outstanding: Option<u64>,

    // shutdown
    t2: Option<Instant>,

    // stream reconfiguration (RFC 6525)
    next_req_seq: u32,
    reconfig_in_flight: Option<ReconfigRequest>,
    reconfig_at: Option<Instant>,
    pending_resets: BTreeSet<u16>,
    peer_req_seq: u32,
    /// Results of the peer's latest requests, answered again when a request is retransmitted.
    peer_results: VecDeque<(u32, ReconfigResult)>,
    deferred: Option<DeferredReset>,
    /// Streams whose reset we will ask of the peer (Incoming SSN Reset Request).
    pending_in_resets: BTreeSet<u16>,
    /// Ask the peer to reset all its outgoing streams.
    pending_in_all: bool,
    /// The peer's Incoming SSN Reset Requests, (sequence number, streams), until our Outgoing
    /// SSN Reset Request for those streams goes out.
    peer_in_requests: VecDeque<(u32, Vec<u16>)>,

    // data channels
    channels: BTreeMap<u16, Channel>,
    events: VecDeque<Event>,
    stats: Stats,
}

impl Association {
    /// Creates an association. With `config.active_open` (the default) it starts the
    /// handshake at once: the first [`poll_transmit`](Self::poll_transmit) returns an INIT.
    /// Both WebRTC peers do that, and the simultaneous INITs resolve per RFC 9260 §5.2.1.
    ///
    /// `is_dtls_client` picks the data channel stream ids: even for the DTLS client, odd for
    /// the server (RFC 8832 §6). `rng` seeds the tags, initial TSN and the cookie key.
    pub fn new<R: rand_core::CryptoRng + ?Sized>(
        mut config: Config,
        is_dtls_client: bool,
        now: Instant,
        rng: &mut R,
    ) -> Association {
        config.mtu = config.mtu.clamp(256, 65535);
        config.receive_window = config.receive_window.max(1500);
        config.num_outbound_streams = config.num_outbound_streams.max(1);
        config.num_inbound_streams = config.num_inbound_streams.max(1);
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        let mut cookie_key = [0u8; 32];
        rng.fill_bytes(&mut cookie_key);
        let mut local_rng = ChaCha8Rng::from_seed(seed);
        let local_tag = loop {
            let t = local_rng.next_u32();
            if t != 0 {
                break t;
            }
        };
        let local_initial_tsn = local_rng.next_u32();
        let mtu = config.mtu;
        let rto = config.rto_initial;
        let mut a = Association {
            is_dtls_client,
            state: State::Closed,
            now,
            epoch: now,
            rng: local_rng,
            cookie_key,
            local_tag,
            peer_tag: 0,
            local_initial_tsn,
            caps: Caps::default(),
            use_i_data: false,
            zero_checksum_tx: false,
            out_streams: config.num_outbound_streams,
            in_streams: config.num_inbound_streams,
            init_chunk: None,
            cookie: None,
            t1: None,
            t1_count: 0,
            t1_rto: rto,
            next_tsn: (1u64 << 32) + u64::from(local_initial_tsn),
            send_queue: SendQueue::default(),
            outstanding: Outstanding {
                base: (1u64 << 32) + u64::from(local_initial_tsn),
                ..Outstanding::default()
            },
            cwnd: (4 * mtu).min((2 * mtu).max(4404)),
            ssthresh: usize::MAX,
            partial_bytes_acked: 0,
            peer_rwnd: 0,
            fast_recovery_exit: None,
            fast_rtx_packet: false,
            srtt: None,
            rttvar: Duration::ZERO,
            rto,
            rtt_probe: None,
            t3: None,
            error_count: 0,
            adv_peer_ack: (1u64 << 32) + u64::from(local_initial_tsn) - 1,
            forward_tsn_pending: false,
            tracker: None,
            reassembly: Reassembly::new(config.max_receive_message_size),
            sack_now: false,
            sack_at: None,
            data_packets_unacked: 0,
            control: VecDeque::new(),
            solo: VecDeque::new(),
            hb_at: None,
            hb_outstanding: None,
            t2: None,
            next_req_seq: local_initial_tsn,
            reconfig_in_flight: None,
            reconfig_at: None,
            pending_resets: BTreeSet::new(),
            peer_req_seq: 0,
            peer_results: VecDeque::new(),
            deferred: None,
            pending_in_resets: BTreeSet::new(),
            pending_in_all: false,
            peer_in_requests: VecDeque::new(),
            channels: BTreeMap::new(),
            events: VecDeque::new(),
            stats: Stats::default(),
            config,
        };
        if a.config.active_open {
            let init = a.our_init();
            a.init_chunk = Some(init.clone());
            a.send_solo(0, Chunk::Init(init));
            a.state = State::CookieWait;
            a.t1 = Some(now + a.t1_rto);
        }
        a
    }

    // ------------------------------------------------------------------ getters

    /// Current state.
    #[must_use]
    pub fn state(&self) -> State {
        self.state
    }

    /// Whether data can be sent.
    #[must_use]
    pub fn is_established(&self) -> bool {
        self.state == State::Established
    }

    /// Counters and transport figures.
    #[must_use]
    pub fn stats(&self) -> Stats {
        let mut s = self.stats.clone();
        s.cwnd = self.cwnd;
        s.rto = self.rto;
        s.srtt = self.srtt;
        s
    }

    /// Whether I-DATA (RFC 8260) was negotiated.
    #[must_use]
    pub fn interleaving(&self) -> bool {
        self.use_i_data
    }

    /// Whether zero checksum (RFC 9653) is used for the packets we send.
    #[must_use]
    pub fn zero_checksum(&self) -> bool {
        self.zero_checksum_tx
    }

    /// The remote's max-message-size in bytes (enforced by [`send`](Self::send)).
    #[must_use]
    pub fn max_message_size(&self) -> usize {
        self.config.max_message_size
    }

    /// Configuration of an open or opening channel.
    #[must_use]
    pub fn channel_config(&self, id: u16) -> Option<&ChannelConfig> {
        self.channels.get(&id).map(|c| &c.config)
    }

    /// Ids of channels not yet closed.
    #[must_use]
    pub fn channel_ids(&self) -> Vec<u16> {
        self.channels.keys().copied().collect()
    }

    /// Bytes queued on a channel and not yet handed to SCTP packets (W3C bufferedAmount).
    #[must_use]
    pub fn buffered_amount(&self, id: u16) -> usize {
        self.send_queue.buffered(id)
    }

    // ------------------------------------------------------------------ inputs

    /// Takes one SCTP packet (the payload of one DTLS application data record).
    ///
    /// # Errors
    /// The packet was dropped (and counted): [`Error::BadChecksum`], [`Error::Truncated`],
    /// [`Error::Malformed`], [`Error::BadVerificationTag`]. The association is unaffected.
    pub fn handle_receive(&mut self, now: Instant, packet: &[u8]) -> Result<()> {
        self.advance(now);
        self.stats.packets_received += 1;
        if self.state == State::Closed && self.tracker.is_some() {
            return Ok(()); // ended
        }
        let Some(stored) = wire::stored_checksum(packet) else {
            self.stats.dropped_malformed += 1;
            return Err(Error::Truncated("common header"));
        };
        let zero_ok = stored == 0 && self.config.zero_checksum;
        if !zero_ok && !wire::verify_checksum(packet) {
            self.stats.dropped_checksum += 1;
            return Err(Error::BadChecksum);
        }
        let data = Bytes::copy_from_slice(packet);
        let pkt = match Packet::parse(&data) {
            Ok(p) => p,
            Err(e) => {
                self.stats.dropped_malformed += 1;
                tracing::debug!(error = %e, "sctp: malformed packet dropped");
                return Err(e);
            }
        };
        if pkt.header.destination_port != self.config.local_port
            || pkt.header.source_port != self.config.remote_port
        {
            self.stats.dropped_tag += 1;
            return Err(Error::Malformed("port"));
        }
        self.check_tag(&pkt)?;
        self.process_chunks(pkt.header.verification_tag, pkt.chunks);
        self.after_input();
        Ok(())
    }

    /// Runs the timers that are due. Early or repeated calls do nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.advance(now);
        let now = self.now;
        if self.state == State::Closed && self.t1.is_none() {
            return;
        }
        if self.t1.is_some_and(|t| t <= now) {
            self.on_t1();
        }
        if self.t2.is_some_and(|t| t <= now) {
            self.on_t2();
        }
        if self.t3.is_some_and(|t| t <= now) {
            self.on_t3();
        }
        if self.sack_at.is_some_and(|t| t <= now) {
            self.sack_at = None;
            self.sack_now = true;
        }
        if self.hb_at.is_some_and(|t| t <= now) {
            self.on_heartbeat_timer();
        }
        if self.reconfig_at.is_some_and(|t| t <= now) {
            self.on_reconfig_timer();
        }
        self.after_input();
    }

    // ------------------------------------------------------------------ commands

    /// Sets the remote's max-message-size (from its SDP `a=max-message-size`, RFC 8841);
    /// 0 means "no limit" per RFC 8841 §6.
    pub fn set_max_message_size(&mut self, bytes: usize) {
        self.config.max_message_size = if bytes == 0 { usize::MAX } else { bytes };
    }

    /// Opens a data channel; returns its id (the SCTP stream identifier).
    ///
    /// A DCEP channel gets the next free id of our parity (RFC 8832 §6) and sends
    /// DATA_CHANNEL_OPEN once the association is up; a pre-negotiated one
    /// (`config.negotiated = Some(id)`) uses that id and sends nothing. Either way
    /// [`Event::ChannelOpen`] follows when the association is established.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] (both partial reliability settings, or a label / protocol
    /// longer than 65535 bytes), [`Error::StreamInUse`], [`Error::InvalidStream`],
    /// [`Error::NoStreamAvailable`], [`Error::NotEstablished`] after the association ended.
    pub fn open_channel(&mut self, config: ChannelConfig) -> Result<u16> {
        if config.max_retransmits.is_some() && config.max_packet_life_time.is_some() {
            return Err(Error::InvalidConfig(
                "max_retransmits and max_packet_life_time are exclusive",
            ));
        }
        if config.label.len() > 0xffff || config.protocol.len() > 0xffff {
            return Err(Error::InvalidConfig(
                "label or protocol longer than 65535 bytes",
            ));
        }
        if matches!(
            self.state,
            State::ShutdownPending
                | State::ShutdownSent
                | State::ShutdownReceived
                | State::ShutdownAckSent
        ) || (self.state == State::Closed && self.tracker.is_some())
        {
            return Err(Error::NotEstablished);
        }
        let limit = self.out_streams.min(self.in_streams);
        let id = match config.negotiated {
            Some(id) => {
                if id >= limit || id == 0xffff {
                    return Err(Error::InvalidStream(id));
                }
                if self.channels.contains_key(&id) {
                    return Err(Error::StreamInUse(id));
                }
                id
            }
            None => {
                let mut id = u16::from(!self.is_dtls_client);
                loop {
                    if id >= limit || id == 0xffff {
                        return Err(Error::NoStreamAvailable);
                    }
                    if !self.channels.contains_key(&id) && self.send_queue.stream_idle(id) {
                        break id;
                    }
                    id = id.checked_add(2).ok_or(Error::NoStreamAvailable)?;
                }
            }
        };
        let negotiated = config.negotiated.is_some();
        self.channels.insert(
            id,
            Channel {
                config,
                state: ChannelState::Connecting,
                acked: negotiated,
                low_threshold: 0,
                above_threshold: false,
                out_reset: false,
                in_reset: false,
            },
        );
        if self.state == State::Established {
            self.announce_channel(id);
        }
        Ok(id)
    }

    /// Queues a message on a channel. Empty messages are sent as the one-byte "empty" PPIDs
    /// (RFC 8831 §6.6). Until the peer's DATA_CHANNEL_ACK arrives, messages go ordered
    /// (RFC 8832 §6).
    ///
    /// # Errors
    /// [`Error::UnknownChannel`], [`Error::ChannelNotOpen`], [`Error::NotEstablished`],
    /// [`Error::MessageTooLarge`] when above the remote's max-message-size.
    pub fn send(&mut self, id: u16, data: impl Into<Bytes>, is_text: bool) -> Result<()> {
        let data: Bytes = data.into();
        if self.state != State::Established {
            return Err(Error::NotEstablished);
        }
        let ch = self
            .channels
            .get_mut(&id)
            .ok_or(Error::UnknownChannel(id))?;
        if ch.state != ChannelState::Open {
            return Err(Error::ChannelNotOpen(id));
        }
        let max = self.config.max_message_size;
        if data.len() > max {
            return Err(Error::MessageTooLarge {
                size: data.len(),
                max,
            });
        }
        let empty = data.is_empty();
        let ppid = match (is_text, empty) {
            (true, false) => Ppid::STRING,
            (true, true) => Ppid::STRING_EMPTY,
            (false, false) => Ppid::BINARY,
            (false, true) => Ppid::BINARY_EMPTY,
        };
        let payload = if empty {
            Bytes::from_static(&[0])
        } else {
            data
        };
        let unordered = !ch.config.ordered && ch.acked;
        let max_rtx = ch.config.max_retransmits;
        let expires = ch
            .config
            .max_packet_life_time
            .map(|ms| self.now + Duration::from_millis(u64::from(ms)));
        self.send_queue
            .push(id, ppid, payload, empty, unordered, max_rtx, expires);
        let ch = self
            .channels
            .get_mut(&id)
            .ok_or(Error::UnknownChannel(id))?;
        if self.send_queue.buffered(id) > ch.low_threshold {
            ch.above_threshold = true;
        }
        Ok(())
    }

    /// Sets the buffered-amount-low threshold of a channel in bytes (W3C
    /// bufferedAmountLowThreshold); [`Event::BufferedAmountLow`] fires when the buffered
    /// amount falls from above it to at or below it.
    ///
    /// # Errors
    /// [`Error::UnknownChannel`].
    pub fn set_buffered_amount_low_threshold(&mut self, id: u16, bytes: usize) -> Result<()> {
        let buffered = self.send_queue.buffered(id);
        let ch = self
            .channels
            .get_mut(&id)
            .ok_or(Error::UnknownChannel(id))?;
        ch.low_threshold = bytes;
        ch.above_threshold = buffered > bytes;
        Ok(())
    }

    /// Closes a channel: once its queued messages are sent, its outgoing stream is reset
    /// (RFC 6525), the peer resets its own, and [`Event::ChannelClosed`] follows (RFC 8831
    /// §6.7). Other channels are not affected.
    ///
    /// # Errors
    /// [`Error::UnknownChannel`].
    pub fn close_channel(&mut self, id: u16) -> Result<()> {
        let ch = self
            .channels
            .get_mut(&id)
            .ok_or(Error::UnknownChannel(id))?;
        match ch.state {
            ChannelState::Closing => return Ok(()),
            ChannelState::Connecting => {
                self.remove_channel(id);
                return Ok(());
            }
            ChannelState::Open => {}
        }
        if self.state != State::Established || !self.caps.reconfig {
            self.remove_channel(id);
            return Ok(());
        }
        ch.state = ChannelState::Closing;
        self.pending_resets.insert(id);
        self.after_input();
        Ok(())
    }

    /// Asks the peer to reset its outgoing streams `streams` (our incoming ones), or all of
    /// them when `streams` is empty: an Incoming SSN Reset Request (RFC 6525 §5.1.3). The
    /// peer answers with an Outgoing SSN Reset Request of its own (RFC 6525 §5.2.3), after
    /// which its messages on those streams start again at sequence number 0.
    ///
    /// On a data channel this closes the channel from the peer's side: the peer resets its
    /// stream, we mirror it (RFC 8831 §6.7) and [`Event::ChannelClosed`] follows on both
    /// ends. A refused request shows as [`Event::ChannelError`] on the channels named.
    /// Requests are sent one at a time and retransmitted until answered.
    ///
    /// # Errors
    /// [`Error::NotEstablished`]; [`Error::Unsupported`] when the peer did not announce
    /// RE-CONFIG support; [`Error::InvalidStream`] for a stream at or above the number of
    /// incoming streams.
    pub fn request_incoming_reset(&mut self, streams: &[u16]) -> Result<()> {
        if self.state != State::Established {
            return Err(Error::NotEstablished);
        }
        if !self.caps.reconfig {
            return Err(Error::Unsupported("peer does not support RE-CONFIG"));
        }
        if let Some(&s) = streams.iter().find(|&&s| s >= self.in_streams) {
            return Err(Error::InvalidStream(s));
        }
        if streams.is_empty() {
            self.pending_in_all = true;
            self.pending_in_resets.clear();
        } else if !self.pending_in_all {
            self.pending_in_resets.extend(streams.iter().copied());
        }
        self.after_input();
        Ok(())
    }

    /// Starts a graceful shutdown (RFC 9260 §9.2): queued data is delivered first.
    pub fn shutdown(&mut self) {
        match self.state {
            State::Established => {
                self.state = State::ShutdownPending;
                self.after_input();
            }
            State::CookieWait | State::CookieEchoed => self.close(CloseReason::Shutdown),
            _ => {}
        }
    }

    /// Aborts the association (RFC 9260 §9.1): sends ABORT with a User-Initiated Abort cause
    /// and ends at once.
    pub fn abort(&mut self, reason: &str) {
        if self.state == State::Closed {
            return;
        }
        if self.peer_tag != 0 {
            self.send_solo(
                self.peer_tag,
                Chunk::Abort(Abort {
                    t_bit: false,
                    causes: vec![ErrorCause::UserInitiatedAbort(Bytes::copy_from_slice(
                        reason.as_bytes(),
                    ))],
                }),
            );
        }
        self.close(CloseReason::Aborted);
    }

    // ------------------------------------------------------------------ outputs

    /// The next SCTP packet to send (through DTLS), or `None`. Bundles control chunks, a SACK
    /// and DATA up to the MTU.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        if let Some(p) = self.solo.pop_front() {
            self.stats.packets_sent += 1;
            return Some(p);
        }
        if self.tracker.is_none() || self.peer_tag == 0 {
            return None;
        }
        if self.state == State::Closed {
            return None;
        }
        let p = self.build_packet();
        self.emit_buffered_low();
        if p.is_some() {
            self.stats.packets_sent += 1;
        }
        p
    }

    /// The next event, or `None`.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due, or `None` if no timer runs.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.t1,
            self.t2,
            self.t3,
            self.sack_at,
            self.hb_at,
            self.reconfig_at,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    // ------------------------------------------------------------------ internals: time

    fn advance(&mut self, now: Instant) {
        if now > self.now {
            self.now = now;
        }
    }

    fn now_ms(&self) -> u64 {
        self.now.duration_since(self.epoch).as_millis() as u64
    }

    // ------------------------------------------------------------------ packets out

    fn header(&self, tag: u32) -> CommonHeader {
        CommonHeader {
            source_port: self.config.local_port,
            destination_port: self.config.remote_port,
            verification_tag: tag,
        }
    }

    fn send_solo(&mut self, tag: u32, chunk: Chunk) {
        let p = Packet {
            header: self.header(tag),
            chunks: vec![chunk],
        };
        let mut buf = Vec::with_capacity(p.encoded_len());
        p.write(&mut buf, false);
        self.solo.push_back(buf);
    }

    fn our_init(&self) -> Init {
        let mut ext = vec![ChunkType::RE_CONFIG, ChunkType::FORWARD_TSN];
        if self.config.interleaving {
            ext.push(ChunkType::I_DATA);
            ext.push(ChunkType::I_FORWARD_TSN);
        }
        // Same parameters, in the same order, as Chromium's dcsctp.
        let mut params = vec![Param::ForwardTsnSupported];
        if self.config.zero_checksum {
            params.push(Param::ZeroChecksumAcceptable { edmid: EDMID_DTLS });
        }
        params.push(Param::SupportedExtensions(ext));
        Init {
            initiate_tag: self.local_tag,
            a_rwnd: self.config.receive_window,
            num_outbound_streams: self.config.num_outbound_streams,
            num_inbound_streams: self.config.num_inbound_streams,
            initial_tsn: self.local_initial_tsn,
            params,
        }
    }

    fn build_packet(&mut self) -> Option<Vec<u8>> {
        let mtu = self.config.mtu;
        let mut buf = Vec::with_capacity(mtu);
        wire::write_header(&mut buf, &self.header(self.peer_tag));
        let mut cookie_echo = false;
        while let Some(c) = self.control.front() {
            if buf.len() > wire::COMMON_HEADER_LEN && buf.len() + c.encoded_len() > mtu {
                break;
            }
            cookie_echo |= matches!(c, Chunk::CookieEcho(_));
            if let Some(c) = self.control.pop_front() {
                c.write(&mut buf);
            }
        }
        let data_state = matches!(
            self.state,
            State::Established | State::ShutdownPending | State::ShutdownReceived
        );
        let can_send_data = data_state
            && (!self.outstanding.rtx.is_empty()
                || (!self.send_queue.is_empty() && self.outstanding.flight < self.cwnd));
        if self.sack_now || (self.sack_at.is_some() && can_send_data) {
            let sack = Chunk::Sack(self.build_sack(mtu.saturating_sub(buf.len())));
            if buf.len() + sack.encoded_len() <= mtu {
                sack.write(&mut buf);
                self.sack_now = false;
                self.sack_at = None;
                self.data_packets_unacked = 0;
            }
        }
        if self.forward_tsn_pending && data_state {
            if let Some(f) = self.build_forward_tsn() {
                if buf.len() + f.encoded_len() <= mtu {
                    f.write(&mut buf);
                    self.forward_tsn_pending = false;
                }
            } else {
                self.forward_tsn_pending = false;
            }
        }
        if data_state {
            self.write_data(&mut buf);
        }
        if buf.len() == wire::COMMON_HEADER_LEN {
            return None;
        }
        if !self.zero_checksum_tx || cookie_echo {
            wire::set_checksum(&mut buf);
        }
        Some(buf)
    }

    fn data_header_len(&self) -> usize {
        if self.use_i_data {
            20
        } else {
            16
        }
    }

    fn write_data(&mut self, buf: &mut Vec<u8>) {
        let mtu = self.config.mtu;
        let hdr = self.data_header_len();
        let now = self.now;
        let mut wrote_data = false;
        // Retransmissions first (RFC 9260 §6.1 C).
        while let Some(&tsn) = self.outstanding.rtx.first() {
            let Some(c) = self.outstanding.get(tsn) else {
                self.outstanding.rtx.remove(&tsn);
                continue;
            };
            if self.should_abandon(c, now) {
                let (stream, msg) = (c.frag.stream, c.frag.msg_id);
                self.abandon(stream, msg);
                continue;
            }
            let len = c.frag.data.len();
            let room = (mtu.saturating_sub(buf.len()) & !3).saturating_sub(hdr);
            if len > room {
                break;
            }
            // Like new data (§6.1 B): sent while the flight is below cwnd; fast retransmit
            // may send one packet regardless (§7.2.4).
            if !self.fast_rtx_packet && self.outstanding.flight >= self.cwnd {
                break;
            }
            self.outstanding.rtx.remove(&tsn);
            let i_data = self.use_i_data;
            let o = &mut self.outstanding;
            if let Some(c) = o.chunks.get_mut((tsn - o.base) as usize) {
                write_chunk(buf, tsn as u32, &c.frag, i_data);
                c.transmissions = c.transmissions.saturating_add(1);
                c.sent_at = now;
                c.needs_rtx = false;
                c.in_flight = true;
                c.misses = 0;
                o.flight += len;
            }
            if self.rtt_probe == Some(tsn) {
                self.rtt_probe = None;
            }
            self.stats.retransmissions += 1;
            wrote_data = true;
        }
        self.fast_rtx_packet = false;
        // New data (RFC 9260 §6.1 A, B).
        if self.outstanding.rtx.is_empty() {
            loop {
                if self.outstanding.flight >= self.cwnd {
                    break;
                }
                let rwnd = (self.peer_rwnd as usize).saturating_sub(self.outstanding.flight);
                let room = (mtu.saturating_sub(buf.len()) & !3).saturating_sub(hdr);
                if room < MIN_FRAGMENT && buf.len() > wire::COMMON_HEADER_LEN {
                    break;
                }
                // Silly window avoidance: with data in flight, wait for a full chunk of window.
                if self.outstanding.flight > 0 && rwnd < room {
                    break;
                }
                let Some(frag) =
                    self.send_queue
                        .next_fragment(now, room, self.use_i_data, self.use_i_data)
                else {
                    break;
                };
                let tsn = self.next_tsn;
                self.next_tsn += 1;
                write_chunk(buf, tsn as u32, &frag, self.use_i_data);
                self.outstanding.flight += frag.data.len();
                self.outstanding.chunks.push_back(SentChunk {
                    frag,
                    sent_at: now,
                    transmissions: 1,
                    acked: false,
                    abandoned: false,
                    in_flight: true,
                    needs_rtx: false,
                    misses: 0,
                    fast_rtx_done: false,
                });
                if self.rtt_probe.is_none() {
                    self.rtt_probe = Some(tsn);
                }
                self.stats.data_chunks_sent += 1;
                wrote_data = true;
            }
        }
        self.stats.messages_abandoned += std::mem::take(&mut self.send_queue.expired_unsent);
        if wrote_data && self.t3.is_none() {
            self.t3 = Some(now + self.rto);
        }
    }

    fn build_sack(&mut self, room: usize) -> Sack {
        let Some(tr) = self.tracker.as_mut() else {
            return Sack::default();
        };
        let dups = tr.take_dups();
        let max_gaps = room.saturating_sub(16 + 4 * dups.len()) / 4;
        Sack {
            cumulative_tsn_ack: tr.cum as u32,
            a_rwnd: (self.config.receive_window as usize).saturating_sub(self.reassembly.bytes)
                as u32,
            gap_ack_blocks: tr.gap_blocks(max_gaps.min(256)),
            duplicate_tsns: dups,
        }
    }

    fn build_forward_tsn(&self) -> Option<Chunk> {
        let cum = self.outstanding.base - 1;
        if self.adv_peer_ack <= cum || !self.caps.forward_tsn {
            return None;
        }
        if self.use_i_data {
            let mut m: BTreeMap<(u16, bool), u32> = BTreeMap::new();
            for t in self.outstanding.base..=self.adv_peer_ack {
                if let Some(c) = self.outstanding.get(t) {
                    let e = m
                        .entry((c.frag.stream, c.frag.unordered))
                        .or_insert(c.frag.seq);
                    if (c.frag.seq.wrapping_sub(*e) as i32) > 0 {
                        *e = c.frag.seq;
                    }
                }
            }
            Some(Chunk::IForwardTsn(IForwardTsn {
                new_cumulative_tsn: self.adv_peer_ack as u32,
                streams: m
                    .into_iter()
                    .map(|((stream_id, unordered), mid)| IForwardTsnStream {
                        stream_id,
                        unordered,
                        mid,
                    })
                    .collect(),
            }))
        } else {
            let mut m: BTreeMap<u16, u16> = BTreeMap::new();
            for t in self.outstanding.base..=self.adv_peer_ack {
                if let Some(c) = self.outstanding.get(t) {
                    if c.frag.unordered {
                        continue;
                    }
                    let ssn = c.frag.seq as u16;
                    let e = m.entry(c.frag.stream).or_insert(ssn);
                    if (ssn.wrapping_sub(*e) as i16) > 0 {
                        *e = ssn;
                    }
                }
            }
            Some(Chunk::ForwardTsn(ForwardTsn {
                new_cumulative_tsn: self.adv_peer_ack as u32,
                streams: m
                    .into_iter()
                    .map(|(stream_id, ssn)| ForwardTsnStream { stream_id, ssn })
                    .collect(),
            }))
        }
    }

    // ------------------------------------------------------------------ packets in

    fn check_tag(&mut self, pkt: &Packet) -> Result<()> {
        let vtag = pkt.header.verification_tag;
        let has_init = pkt.chunks.iter().any(|c| matches!(c, Chunk::Init(_)));
        let ok = if has_init {
            vtag == 0 && pkt.chunks.len() == 1
        } else {
            match pkt.chunks.first() {
                Some(Chunk::Abort(Abort { t_bit: true, .. }))
                | Some(Chunk::ShutdownComplete { t_bit: true }) => {
                    self.peer_tag != 0 && vtag == self.peer_tag
                }
                _ => vtag == self.local_tag,
            }
        };
        if ok {
            Ok(())
        } else {
            self.stats.dropped_tag += 1;
            Err(Error::BadVerificationTag)
        }
    }

    fn process_chunks(&mut self, _vtag: u32, chunks: Vec<Chunk>) {
        let mut data_seen = false;
        let mut immediate = false;
        for chunk in chunks {
            match chunk {
                Chunk::Init(i) => self.on_init(i),
                Chunk::InitAck(i) => self.on_init_ack(i),
                Chunk::CookieEcho(c) => self.on_cookie_echo(c),
                Chunk::CookieAck => self.on_cookie_ack(),
                Chunk::Data(d) => {
                    data_seen = true;
                    if self.use_i_data {
                        self.protocol_violation("DATA chunk while I-DATA is negotiated");
                    } else {
                        immediate |= d.immediate;
                        immediate |= self.on_data(
                            InChunk {
                                stream: d.stream_id,
                                tsn: 0,
                                seq: u32::from(d.ssn),
                                fsn: 0,
                                ppid: d.ppid,
                                unordered: d.unordered,
                                beginning: d.beginning,
                                ending: d.ending,
                                data: d.user_data,
                            },
                            d.tsn,
                        );
                    }
                }
                Chunk::IData(d) => {
                    data_seen = true;
                    if !self.use_i_data {
                        self.protocol_violation("I-DATA chunk without negotiation");
                    } else {
                        immediate |= d.immediate;
                        immediate |= self.on_data(
                            InChunk {
                                stream: d.stream_id,
                                tsn: 0,
                                seq: d.mid,
                                fsn: d.fsn,
                                ppid: d.ppid,
                                unordered: d.unordered,
                                beginning: d.beginning,
                                ending: d.ending,
                                data: d.user_data,
                            },
                            d.tsn,
                        );
                    }
                }
                Chunk::Sack(s) => self.on_sack(&s),
                Chunk::Heartbeat(h) => {
                    if self.tracker.is_some() && self.peer_tag != 0 {
                        self.control.push_back(Chunk::HeartbeatAck(h));
                    }
                }
                Chunk::HeartbeatAck(h) => self.on_heartbeat_ack(&h),
                Chunk::Abort(a) => {
                    let reason = a.causes.iter().find_map(|c| match c {
                        ErrorCause::UserInitiatedAbort(b) | ErrorCause::ProtocolViolation(b) => {
                            Some(String::from_utf8_lossy(b).into_owned())
                        }
                        _ => None,
                    });
                    if self.state != State::Closed || self.t1.is_some() {
                        self.close(CloseReason::AbortedByPeer(reason));
                    }
                }
                Chunk::Shutdown(s) => self.on_shutdown(s),
                Chunk::ShutdownAck => self.on_shutdown_ack(),
                Chunk::ShutdownComplete { .. } => {
                    if self.state == State::ShutdownAckSent {
                        self.close(CloseReason::Shutdown);
                    }
                }
                Chunk::Error(e) => self.on_error(e),
                Chunk::ReConfig(r) => self.on_reconfig(r),
                Chunk::ForwardTsn(f) => {
                    immediate = true;
                    self.on_forward_tsn(f.new_cumulative_tsn, |r, cum| {
                        let skipped: Vec<(u16, u16)> =
                            f.streams.iter().map(|s| (s.stream_id, s.ssn)).collect();
                        r.forward_tsn(cum, &skipped);
                    });
                }
                Chunk::IForwardTsn(f) => {
                    immediate = true;
                    self.on_forward_tsn(f.new_cumulative_tsn, |r, cum| {
                        r.forward_tsn(cum, &[]);
                        let e: Vec<(u16, bool, u32)> = f
                            .streams
                            .iter()
                            .map(|s| (s.stream_id, s.unordered, s.mid))
                            .collect();
                        r.i_forward_tsn(&e);
                    });
                }
                Chunk::Unknown {
                    chunk_type,
                    value,
                    flags,
                } => {
                    use crate::wire::UnknownAction;
                    let action = Chunk::unknown_action(chunk_type);
                    if matches!(
                        action,
                        UnknownAction::StopAndReport | UnknownAction::SkipAndReport
                    ) && self.peer_tag != 0
                    {
                        // Report at most 256 bytes of it, so the ERROR fits in a packet.
                        let value = value.slice(..value.len().min(252));
                        let mut raw = Vec::with_capacity(4 + value.len());
                        Chunk::Unknown {
                            chunk_type,
                            flags,
                            value,
                        }
                        .write(&mut raw);
                        self.control.push_back(Chunk::Error(ErrorChunk {
                            causes: vec![ErrorCause::UnrecognizedChunkType(Bytes::from(raw))],
                        }));
                    }
                    if matches!(action, UnknownAction::Stop | UnknownAction::StopAndReport) {
                        break;
                    }
                }
            }
            if self.state == State::Closed && self.tracker.is_some() {
                return;
            }
        }
        if data_seen && self.tracker.is_some() {
            self.data_packets_unacked += 1;
            let gaps = self
                .tracker
                .as_ref()
                .is_some_and(|t| t.has_gaps() || t.has_dups());
            if immediate
                || gaps
                || self.data_packets_unacked >= 2
                || self.state == State::ShutdownSent
            {
                self.sack_now = true;
                self.sack_at = None;
            } else if self.sack_at.is_none() {
                self.sack_at = Some(self.now + self.config.delayed_ack);
            }
        } else if immediate {
            self.sack_now = true;
            self.sack_at = None;
        }
    }

    // ------------------------------------------------------------------ handshake

    fn on_init(&mut self, init: Init) {
        if init.initiate_tag == 0 || init.num_outbound_streams == 0 || init.num_inbound_streams == 0
        {
            return;
        }
        if matches!(self.state, State::ShutdownAckSent) {
            return;
        }
        let (caps, unrecognized) = parse_caps(&init.params);
        let cookie = CookieData {
            created_ms: self.now_ms(),
            lifetime_ms: self
                .config
                .cookie_lifetime
                .as_millis()
                .min(u128::from(u32::MAX)) as u32,
            local_tag: self.local_tag,
            peer_tag: init.initiate_tag,
            local_initial_tsn: self.local_initial_tsn,
            peer_initial_tsn: init.initial_tsn,
            peer_a_rwnd: init.a_rwnd,
            peer_os: init.num_outbound_streams,
            peer_mis: init.num_inbound_streams,
            caps: caps.bits(),
        }
        .seal(&self.cookie_key);
        let mut ack = self.our_init();
        ack.params.push(Param::StateCookie(Bytes::from(cookie)));
        ack.params
            .extend(unrecognized.into_iter().map(Param::UnrecognizedParameter));
        self.send_solo(init.initiate_tag, Chunk::InitAck(ack));
    }

    fn on_init_ack(&mut self, ia: Init) {
        if self.state != State::CookieWait || ia.initiate_tag == 0 {
            return;
        }
        let Some(cookie) = ia.params.iter().find_map(|p| match p {
            Param::StateCookie(c) => Some(c.clone()),
            _ => None,
        }) else {
            return;
        };
        let (caps, _) = parse_caps(&ia.params);
        self.setup_tcb(
            ia.initiate_tag,
            ia.initial_tsn,
            ia.a_rwnd,
            ia.num_outbound_streams,
            ia.num_inbound_streams,
            caps,
        );
        self.state = State::CookieEchoed;
        self.cookie = Some(cookie.clone());
        self.control
            .push_front(Chunk::CookieEcho(CookieEcho { cookie }));
        self.t1_count = 0;
        self.t1_rto = self.config.rto_initial;
        self.t1 = Some(self.now + self.t1_rto);
    }

    fn on_cookie_echo(&mut self, c: CookieEcho) {
        let Some(cd) = CookieData::open(&self.cookie_key, &c.cookie) else {
            self.stats.bad_cookies += 1;
            return;
        };
        if cd.local_tag != self.local_tag {
            self.stats.bad_cookies += 1;
            return;
        }
        let age = self.now_ms().saturating_sub(cd.created_ms);
        if age > u64::from(cd.lifetime_ms) {
            self.stats.bad_cookies += 1;
            let staleness_us =
                ((age - u64::from(cd.lifetime_ms)) * 1000).min(u64::from(u32::MAX)) as u32;
            self.send_solo(
                cd.peer_tag,
                Chunk::Error(ErrorChunk {
                    causes: vec![ErrorCause::StaleCookie { staleness_us }],
                }),
            );
            return;
        }
        let caps = Caps::from_bits(cd.caps);
        match self.state {
            State::Closed | State::CookieWait => {
                // RFC 9260 §5.1 D / §5.2.4 case B: take the TCB from the cookie.
                self.setup_tcb(
                    cd.peer_tag,
                    cd.peer_initial_tsn,
                    cd.peer_a_rwnd,
                    cd.peer_os,
                    cd.peer_mis,
                    caps,
                );
                self.control.push_front(Chunk::CookieAck);
                self.establish();
            }
            State::CookieEchoed => {
                if cd.peer_tag != self.peer_tag {
                    // Case B: the peer picked a new tag; adopt what its INIT said.
                    self.setup_tcb(
                        cd.peer_tag,
                        cd.peer_initial_tsn,
                        cd.peer_a_rwnd,
                        cd.peer_os,
                        cd.peer_mis,
                        caps,
                    );
                }
                self.control.push_front(Chunk::CookieAck);
                self.establish();
            }
            _ => {
                // Case D: both tags match; the peer lost our COOKIE ACK. A restart (new peer
                // tag) is not supported and is discarded.
                if cd.peer_tag == self.peer_tag {
                    self.control.push_front(Chunk::CookieAck);
                }
            }
        }
    }

    fn on_cookie_ack(&mut self) {
        if self.state == State::CookieEchoed {
            self.establish();
        }
    }

    fn setup_tcb(
        &mut self,
        peer_tag: u32,
        peer_tsn: u32,
        a_rwnd: u32,
        os: u16,
        mis: u16,
        caps: Caps,
    ) {
        self.peer_tag = peer_tag;
        self.caps = caps;
        self.use_i_data = caps.i_data && self.config.interleaving;
        self.zero_checksum_tx = caps.zero_checksum && self.config.zero_checksum;
        self.reassembly.set_i_data(self.use_i_data);
        self.out_streams = self.config.num_outbound_streams.min(mis);
        self.in_streams = self.config.num_inbound_streams.min(os);
        self.peer_rwnd = a_rwnd;
        self.ssthresh = a_rwnd as usize;
        self.tracker = Some(RecvTracker::new(peer_tsn));
        self.peer_req_seq = peer_tsn;
    }

    fn establish(&mut self) {
        self.state = State::Established;
        self.t1 = None;
        self.init_chunk = None;
        self.cookie = None;
        self.error_count = 0;
        self.events.push_back(Event::Connected);
        if let Some(iv) = self.config.heartbeat_interval {
            self.hb_at = Some(self.now + iv + self.rto);
        }
        let ids: Vec<u16> = self.channels.keys().copied().collect();
        for id in ids {
            if id >= self.out_streams.min(self.in_streams) {
                self.events.push_back(Event::ChannelError {
                    id,
                    error: Error::InvalidStream(id),
                });
                self.channels.remove(&id);
                continue;
            }
            self.announce_channel(id);
        }
    }

    fn on_t1(&mut self) {
        self.t1_count += 1;
        if self.t1_count > self.config.max_init_retransmits {
            self.close(CloseReason::Lost);
            return;
        }
        self.t1_rto = (self.t1_rto * 2).min(self.config.rto_max);
        self.t1 = Some(self.now + self.t1_rto);
        match self.state {
            State::CookieWait => {
                if let Some(i) = self.init_chunk.clone() {
                    self.send_solo(0, Chunk::Init(i));
                }
            }
            State::CookieEchoed => {
                if let Some(c) = self.cookie.clone() {
                    self.control.retain(|c| !matches!(c, Chunk::CookieEcho(_)));
                    self.control
                        .push_front(Chunk::CookieEcho(CookieEcho { cookie: c }));
                }
            }
            _ => self.t1 = None,
        }
    }

    fn on_error(&mut self, e: ErrorChunk) {
        for c in &e.causes {
            if let ErrorCause::StaleCookie { .. } = c {
                if self.state == State::CookieEchoed {
                    // RFC 9260 §5.2.6: start over with a fresh INIT.
                    self.state = State::CookieWait;
                    self.control.retain(|c| !matches!(c, Chunk::CookieEcho(_)));
                    self.tracker = None;
                    self.peer_tag = 0;
                    if let Some(i) = self.init_chunk.clone() {
                        self.send_solo(0, Chunk::Init(i));
                    }
                }
            }
            tracing::debug!(cause = ?c, "sctp: peer reported an error");
        }
    }

    // ------------------------------------------------------------------ data in

    /// Returns whether the SACK should go out at once.
    fn on_data(&mut self, mut c: InChunk, wire_tsn: u32) -> bool {
        if !matches!(
            self.state,
            State::Established | State::ShutdownPending | State::ShutdownSent
        ) {
            return false;
        }
        if c.data.is_empty() {
            self.abort_with(
                ErrorCause::NoUserData { tsn: wire_tsn },
                CloseReason::ProtocolViolation("DATA chunk without user data"),
            );
            return false;
        }
        let Some(tr) = self.tracker.as_mut() else {
            return false;
        };
        let tsn = tr.unwrap(wire_tsn);
        c.tsn = tsn;
        if tr.is_received(tsn) {
            tr.insert(tsn);
            self.stats.duplicate_tsns += 1;
            return true;
        }
        if tsn > tr.cum + MAX_TSN_AHEAD {
            self.stats.dropped_data += 1;
            return true;
        }
        if c.stream >= self.in_streams {
            tr.insert(tsn);
            self.control.push_back(Chunk::Error(ErrorChunk {
                causes: vec![ErrorCause::InvalidStreamIdentifier {
                    stream_id: c.stream,
                }],
            }));
            return true;
        }
        let window = self.config.receive_window as usize;
        let held = self.reassembly.bytes;
        let len = c.data.len();
        let in_order = tsn == tr.cum + 1;
        if (held + len > window && !in_order)
            || held + len > 2 * window
            || self.reassembly.frags >= MAX_FRAGS
            || !tr.can_insert(tsn)
        {
            self.stats.dropped_data += 1;
            return true;
        }
        if let Some(d) = self.deferred.as_mut() {
            if tsn > d.last_tsn && (d.streams.is_empty() || d.streams.contains(&c.stream)) {
                if d.held.len() >= 4096 {
                    self.stats.dropped_data += 1;
                    return true;
                }
                tr.insert(tsn);
                d.held.push(c);
                return !in_order;
            }
        }
        tr.insert(tsn);
        if self.reassembly.add(c).is_err() {
            self.abort_with(
                ErrorCause::ProtocolViolation(Bytes::from_static(b"message too large")),
                CloseReason::ProtocolViolation("message larger than max-message-size"),
            );
            return false;
        }
        !in_order
    }

    fn on_forward_tsn(&mut self, new_cum: u32, apply: impl FnOnce(&mut Reassembly, u64)) {
        if !matches!(
            self.state,
            State::Established | State::ShutdownPending | State::ShutdownSent
        ) {
            return;
        }
        let Some(tr) = self.tracker.as_mut() else {
            return;
        };
        let cum = tr.unwrap(new_cum);
        if cum <= tr.cum || cum > tr.cum + MAX_TSN_AHEAD {
            return;
        }
        tr.forward(cum);
        apply(&mut self.reassembly, cum);
    }

    // ------------------------------------------------------------------ SACK in

    fn on_sack(&mut self, s: &Sack) {
        if !matches!(
            self.state,
            State::Established
                | State::ShutdownPending
                | State::ShutdownSent
                | State::ShutdownReceived
                | State::ShutdownAckSent
        ) {
            return;
        }
        let cum_point = self.outstanding.base - 1;
        let cum = unwrap_near(cum_point, s.cumulative_tsn_ack);
        if cum < cum_point || cum >= self.next_tsn {
            return;
        }
        let now = self.now;
        let flight_before = self.outstanding.flight;
        let mut newly_acked = 0usize;
        let cum_advanced = cum > cum_point;
        while self.outstanding.base <= cum {
            let tsn = self.outstanding.base;
            let Some(c) = self.outstanding.chunks.pop_front() else {
                break;
            };
            self.outstanding.base += 1;
            let len = c.frag.data.len();
            if !c.acked && !c.abandoned {
                newly_acked += len;
            }
            if c.in_flight {
                self.outstanding.flight -= len;
            }
            if c.needs_rtx {
                self.outstanding.rtx.remove(&tsn);
            }
            if self.rtt_probe == Some(tsn) {
                self.rtt_probe = None;
                if c.transmissions == 1 {
                    self.update_rtt(now.saturating_duration_since(c.sent_at));
                }
            }
        }
        if self.rtt_probe.is_some_and(|t| t < self.outstanding.base) {
            self.rtt_probe = None;
        }
        let mut highest_new: Option<u64> = None;
        let end = self.outstanding.end();
        for &(a, b) in &s.gap_ack_blocks {
            if a == 0 || a > b {
                continue;
            }
            let from = cum + u64::from(a);
            let to = (cum + u64::from(b)).min(end.saturating_sub(1));
            let mut t = from;
            let o = &mut self.outstanding;
            while t <= to {
                if let Some(c) = o.chunks.get_mut((t - o.base) as usize) {
                    if !c.acked {
                        c.acked = true;
                        let len = c.frag.data.len();
                        if !c.abandoned {
                            newly_acked += len;
                        }
                        if c.in_flight {
                            c.in_flight = false;
                            o.flight -= len;
                        }
                        if c.needs_rtx {
                            c.needs_rtx = false;
                            o.rtx.remove(&t);
                        }
                        highest_new = Some(t);
                    }
                }
                t += 1;
            }
        }
        // Miss indications (RFC 9260 §7.2.4, HTNA).
        if let Some(h) = highest_new {
            let mut lost = false;
            let o = &mut self.outstanding;
            let mut t = o.base;
            while t < h {
                if let Some(c) = o.chunks.get_mut((t - o.base) as usize) {
                    if !c.acked && !c.abandoned && c.in_flight && !c.fast_rtx_done {
                        c.misses += 1;
                        if c.misses >= 3 {
                            c.fast_rtx_done = true;
                            c.needs_rtx = true;
                            c.in_flight = false;
                            o.flight -= c.frag.data.len();
                            o.rtx.insert(t);
                            lost = true;
                        }
                    }
                }
                t += 1;
            }
            if lost {
                self.stats.fast_retransmits += 1;
                if self.fast_recovery_exit.is_none() {
                    let mtu = self.config.mtu;
                    self.ssthresh = (self.cwnd / 2).max(4 * mtu);
                    self.cwnd = self.ssthresh;
                    self.partial_bytes_acked = 0;
                    self.fast_recovery_exit = Some(self.next_tsn - 1);
                }
                self.fast_rtx_packet = true;
            }
        }
        self.peer_rwnd = s.a_rwnd;
        if cum_advanced {
            self.error_count = 0;
            if self.fast_recovery_exit.is_some_and(|x| cum >= x) {
                self.fast_recovery_exit = None;
            }
            if self.fast_recovery_exit.is_none() {
                let mtu = self.config.mtu;
                if self.cwnd <= self.ssthresh {
                    if flight_before >= self.cwnd {
                        self.cwnd += newly_acked.min(mtu);
                    }
                } else {
                    self.partial_bytes_acked += newly_acked;
                    if self.partial_bytes_acked >= self.cwnd && flight_before >= self.cwnd {
                        self.partial_bytes_acked -= self.cwnd;
                        self.cwnd += mtu;
                    }
                }
            }
        }
        if self.outstanding.flight == 0 {
            self.partial_bytes_acked = 0;
        }
        // PR-SCTP (RFC 3758 §3.5 C1-C3).
        if self.caps.forward_tsn {
            if cum > self.adv_peer_ack {
                self.adv_peer_ack = cum;
            }
            self.advance_peer_ack_point();
        }
        let pending = self.outstanding.flight > 0 || !self.outstanding.rtx.is_empty();
        if !pending && self.adv_peer_ack < self.outstanding.base {
            self.t3 = None;
        } else if cum_advanced {
            self.t3 = Some(now + self.rto);
        }
    }

    fn advance_peer_ack_point(&mut self) {
        let before = self.adv_peer_ack;
        while let Some(c) = self.outstanding.get(self.adv_peer_ack + 1) {
            if !c.abandoned {
                break;
            }
            self.adv_peer_ack += 1;
        }
        if self.adv_peer_ack > self.outstanding.base - 1 {
            self.forward_tsn_pending = true;
        }
        let _ = before;
    }

    fn update_rtt(&mut self, r: Duration) {
        // RFC 9260 §6.3.1.
        match self.srtt {
            None => {
                self.srtt = Some(r);
                self.rttvar = r / 2;
            }
            Some(srtt) => {
                let diff = srtt.abs_diff(r);
                self.rttvar = self.rttvar * 3 / 4 + diff / 4;
                self.srtt = Some(srtt * 7 / 8 + r / 8);
            }
        }
        let srtt = self.srtt.unwrap_or(r);
        let var = (self.rttvar * 4).max(Duration::from_millis(1));
        self.rto = (srtt + var).clamp(self.config.rto_min, self.config.rto_max);
    }

    fn should_abandon(&self, c: &SentChunk, now: Instant) -> bool {
        if !self.caps.forward_tsn {
            return false;
        }
        c.frag.max_retransmits.is_some_and(|n| c.transmissions > n)
            || c.frag.expires_at.is_some_and(|e| e <= now)
    }

    /// Abandons every fragment of a message (RFC 3758 §3.5 A3) and the unsent rest.
    fn abandon(&mut self, stream: u16, msg_id: u64) {
        let mut any = false;
        for (i, c) in self.outstanding.chunks.iter_mut().enumerate() {
            if c.frag.msg_id != msg_id || c.abandoned {
                continue;
            }
            any = true;
            c.abandoned = true;
            if c.in_flight {
                c.in_flight = false;
                self.outstanding.flight -= c.frag.data.len();
            }
            if c.needs_rtx {
                c.needs_rtx = false;
                self.outstanding
                    .rtx
                    .remove(&(self.outstanding.base + i as u64));
            }
        }
        if any {
            self.stats.messages_abandoned += 1;
        }
        self.send_queue.discard_message(stream, msg_id);
        self.advance_peer_ack_point();
    }

    fn on_t3(&mut self) {
        self.t3 = None;
        if !matches!(
            self.state,
            State::Established
                | State::ShutdownPending
                | State::ShutdownSent
                | State::ShutdownReceived
                | State::ShutdownAckSent
        ) {
            return;
        }
        let pending = self.outstanding.flight > 0 || !self.outstanding.rtx.is_empty();
        let fwd = self.adv_peer_ack > self.outstanding.base - 1;
        if !pending && !fwd {
            return;
        }
        self.stats.t3_expirations += 1;
        if self.bump_error() {
            return;
        }
        // RFC 9260 §6.3.3 E1-E3 and §7.2.3.
        self.rto = (self.rto * 2).min(self.config.rto_max);
        let mtu = self.config.mtu;
        self.ssthresh = (self.cwnd / 2).max(4 * mtu);
        self.cwnd = mtu;
        self.partial_bytes_acked = 0;
        self.fast_recovery_exit = None;
        self.rtt_probe = None;
        let base = self.outstanding.base;
        for (i, c) in self.outstanding.chunks.iter_mut().enumerate() {
            if c.acked || c.abandoned {
                continue;
            }
            c.in_flight = false;
            if !c.needs_rtx {
                c.needs_rtx = true;
                self.outstanding.rtx.insert(base + i as u64);
            }
        }
        self.outstanding.flight = 0;
        if fwd {
            self.forward_tsn_pending = true;
        }
        self.t3 = Some(self.now + self.rto);
    }

    /// Counts a timeout against Association.Max.Retrans; true when the association died.
    fn bump_error(&mut self) -> bool {
        self.error_count += 1;
        if self.error_count > self.config.max_association_retransmits {
            self.close(CloseReason::Lost);
            return true;
        }
        false
    }

    // ------------------------------------------------------------------ heartbeat

    fn on_heartbeat_timer(&mut self) {
        self.hb_at = None;
        let Some(iv) = self.config.heartbeat_interval else {
            return;
        };
        if !matches!(self.state, State::Established) {
            return;
        }
        if self.hb_outstanding.is_some() && self.bump_error() {
            return;
        }
        if self.outstanding.flight == 0 {
            let nonce = self.rng.next_u64();
            let mut info = Vec::with_capacity(16);
            info.extend_from_slice(&nonce.to_be_bytes());
            info.extend_from_slice(&self.now_ms().to_be_bytes());
            self.hb_outstanding = Some(nonce);
            self.control.push_back(Chunk::Heartbeat(Heartbeat {
                info: Bytes::from(info),
            }));
        }
        self.hb_at = Some(self.now + iv + self.rto);
    }

    fn on_heartbeat_ack(&mut self, h: &Heartbeat) {
        let (Some(n), Some(sent)) = (h.info.get(..8), h.info.get(8..16)) else {
            return;
        };
        let nonce = u64::from_be_bytes(n.try_into().unwrap_or([0; 8]));
        if self.hb_outstanding != Some(nonce) {
            return;
        }
        self.hb_outstanding = None;
        self.error_count = 0;
        let sent_ms = u64::from_be_bytes(sent.try_into().unwrap_or([0; 8]));
        let rtt = self.now_ms().saturating_sub(sent_ms);
        self.update_rtt(Duration::from_millis(rtt));
    }

    // ------------------------------------------------------------------ shutdown

    fn on_shutdown(&mut self, s: Shutdown) {
        match self.state {
            State::Established | State::ShutdownPending | State::ShutdownReceived => {
                self.on_sack(&Sack {
                    cumulative_tsn_ack: s.cumulative_tsn_ack,
                    a_rwnd: self.peer_rwnd,
                    ..Sack::default()
                });
                self.state = State::ShutdownReceived;
            }
            State::ShutdownSent => {
                self.control.push_back(Chunk::ShutdownAck);
                self.state = State::ShutdownAckSent;
                self.t2 = Some(self.now + self.rto);
            }
            _ => {}
        }
    }

    fn on_shutdown_ack(&mut self) {
        match self.state {
            State::ShutdownSent | State::ShutdownAckSent => {
                self.send_solo(self.peer_tag, Chunk::ShutdownComplete { t_bit: false });
                self.close(CloseReason::Shutdown);
            }
            _ => {}
        }
    }

    fn check_shutdown(&mut self) {
        let drained = self.outstanding.chunks.is_empty() && self.send_queue.is_empty();
        match self.state {
            State::ShutdownPending if drained => {
                let cum = self.tracker.as_ref().map_or(0, |t| t.cum as u32);
                self.control.push_back(Chunk::Shutdown(Shutdown {
                    cumulative_tsn_ack: cum,
                }));
                self.state = State::ShutdownSent;
                self.t2 = Some(self.now + self.rto);
            }
            State::ShutdownReceived if drained => {
                self.control.push_back(Chunk::ShutdownAck);
                self.state = State::ShutdownAckSent;
                self.t2 = Some(self.now + self.rto);
            }
            _ => {}
        }
    }

    fn on_t2(&mut self) {
        self.t2 = None;
        if self.bump_error() {
            return;
        }
        self.rto = (self.rto * 2).min(self.config.rto_max);
        match self.state {
            State::ShutdownSent => {
                let cum = self.tracker.as_ref().map_or(0, |t| t.cum as u32);
                self.control.push_back(Chunk::Shutdown(Shutdown {
                    cumulative_tsn_ack: cum,
                }));
            }
            State::ShutdownAckSent => self.control.push_back(Chunk::ShutdownAck),
            _ => return,
        }
        self.t2 = Some(self.now + self.rto);
    }

    fn close(&mut self, reason: CloseReason) {
        if self.state == State::Closed && self.tracker.is_some() {
            return;
        }
        self.state = State::Closed;
        if self.tracker.is_none() {
            // Mark "ended" even if no TCB was ever built.
            self.tracker = Some(RecvTracker::new(0));
        }
        self.t1 = None;
        self.t2 = None;
        self.t3 = None;
        self.sack_at = None;
        self.hb_at = None;
        self.reconfig_at = None;
        self.control.clear();
        let ids: Vec<u16> = self.channels.keys().copied().collect();
        for id in ids {
            self.channels.remove(&id);
            self.events.push_back(Event::ChannelClosed { id });
        }
        self.send_queue = SendQueue::default();
        self.outstanding.chunks.clear();
        self.outstanding.rtx.clear();
        self.outstanding.flight = 0;
        self.events.push_back(Event::Closed { reason });
    }

    fn protocol_violation(&mut self, what: &'static str) {
        self.abort_with(
            ErrorCause::ProtocolViolation(Bytes::from_static(what.as_bytes())),
            CloseReason::ProtocolViolation(what),
        );
    }

    fn abort_with(&mut self, cause: ErrorCause, reason: CloseReason) {
        if self.peer_tag != 0 {
            self.send_solo(
                self.peer_tag,
                Chunk::Abort(Abort {
                    t_bit: false,
                    causes: vec![cause],
                }),
            );
        }
        self.close(reason);
    }

    // ------------------------------------------------------------------ RE-CONFIG

    fn on_reconfig(&mut self, r: ReConfig) {
        if !matches!(
            self.state,
            State::Established
                | State::ShutdownPending
                | State::ShutdownSent
                | State::ShutdownReceived
        ) {
            return;
        }
        for p in r.params {
            match p {
                Param::OutgoingSsnResetRequest {
                    request_sequence,
                    response_sequence,
                    last_tsn,
                    streams,
                } => self.on_peer_outgoing_reset(
                    request_sequence,
                    response_sequence,
                    last_tsn,
                    streams,
                ),
                Param::IncomingSsnResetRequest {
                    request_sequence,
                    streams,
                } => self.on_peer_incoming_reset(request_sequence, streams),
                Param::AddOutgoingStreams {
                    request_sequence,
                    new_streams,
                } => self.on_peer_add_outgoing_streams(request_sequence, new_streams),
                Param::SsnTsnResetRequest { request_sequence }
                | Param::AddIncomingStreams {
                    request_sequence, ..
                } => {
                    let result = if request_sequence == self.peer_req_seq {
                        self.peer_req_seq = self.peer_req_seq.wrapping_add(1);
                        self.record_peer_result(request_sequence, ReconfigResult::Denied);
                        ReconfigResult::Denied
                    } else {
                        self.result_for_old(request_sequence)
                    };
                    self.respond_reconfig(request_sequence, result);
                }
                Param::ReconfigResponse {
                    response_sequence,
                    result,
                    ..
                } => self.on_reconfig_response(response_sequence, result),
                _ => {}
            }
        }
    }

    fn result_for_old(&self, seq: u32) -> ReconfigResult {
        self.peer_results
            .iter()
            .rev()
            .find(|(s, _)| *s == seq)
            .map_or(ReconfigResult::ErrorBadSequenceNumber, |(_, r)| *r)
    }

    fn record_peer_result(&mut self, seq: u32, result: ReconfigResult) {
        if let Some(e) = self.peer_results.iter_mut().find(|(s, _)| *s == seq) {
            e.1 = result;
            return;
        }
        if self.peer_results.len() >= 8 {
            self.peer_results.pop_front();
        }
        self.peer_results.push_back((seq, result));
    }

    fn respond_reconfig(&mut self, seq: u32, result: ReconfigResult) {
        self.control.push_back(Chunk::ReConfig(ReConfig {
            params: vec![Param::ReconfigResponse {
                response_sequence: seq,
                result,
                next_tsns: None,
            }],
        }));
    }

    /// RFC 6525 §5.2.2.
    fn on_peer_outgoing_reset(
        &mut self,
        seq: u32,
        response_seq: u32,
        last_tsn: u32,
        streams: Vec<u16>,
    ) {
        // An Outgoing SSN Reset Request carrying the sequence number of our Incoming SSN
        // Reset Request is its implicit answer (RFC 6525 §4.1, §5.2.2 E1).
        if self
            .reconfig_in_flight
            .as_ref()
            .is_some_and(|r| r.incoming && r.seq == response_seq)
        {
            self.on_reconfig_response(response_seq, ReconfigResult::SuccessPerformed);
        }
        if seq != self.peer_req_seq {
            let r = self.result_for_old(seq);
            self.respond_reconfig(seq, r);
            return;
        }
        self.peer_req_seq = self.peer_req_seq.wrapping_add(1);
        let Some(tr) = self.tracker.as_ref() else {
            return;
        };
        let last = tr.unwrap(last_tsn);
        let result = if let Some(d) = self.deferred.as_mut() {
            // One reset is already waiting: this one waits with it (RFC 6525 §5.2.2 E2).
            d.seqs.push(seq);
            if d.streams.is_empty() || streams.is_empty() {
                d.streams.clear();
            } else {
                d.streams.extend(streams);
            }
            d.last_tsn = d.last_tsn.max(last);
            ReconfigResult::InProgress
        } else if last <= tr.cum {
            self.perform_incoming_reset(&streams);
            ReconfigResult::SuccessPerformed
        } else {
            self.deferred = Some(DeferredReset {
                seqs: vec![seq],
                streams,
                last_tsn: last,
                held: Vec::new(),
            });
            ReconfigResult::InProgress
        };
        self.record_peer_result(seq, result);
        self.respond_reconfig(seq, result);
    }

    /// RFC 6525 §5.2.3: the peer asks us to reset our outgoing streams. We commit to it and
    /// answer "success - performed" at once, as FreeBSD does; the Outgoing SSN Reset
    /// Request follows (its response sequence number naming this request) once the
    /// streams' queued messages are sent and no request of ours is outstanding. Answering
    /// "in progress" instead would deadlock two ends that ask each other at the same time:
    /// each would wait for its own outstanding request before sending the other's reset.
    fn on_peer_incoming_reset(&mut self, seq: u32, streams: Vec<u16>) {
        if seq != self.peer_req_seq {
            let r = self.result_for_old(seq);
            self.respond_reconfig(seq, r);
            return;
        }
        self.peer_req_seq = self.peer_req_seq.wrapping_add(1);
        let result =
            if self.state != State::Established || streams.iter().any(|&s| s >= self.out_streams) {
                // Shutting down (no new requests may start), or streams that do not exist.
                ReconfigResult::Denied
            } else {
                let list: BTreeSet<u16> = if streams.is_empty() {
                    // "All streams": those whose sequence numbers may not be at 0 any more.
                    self.channels
                        .keys()
                        .copied()
                        .chain(self.send_queue.streams_in_use())
                        .collect()
                } else {
                    streams.into_iter().collect()
                };
                if list.is_empty() {
                    ReconfigResult::SuccessNothingToDo
                } else {
                    for &s in &list {
                        if let Some(ch) = self.channels.get_mut(&s) {
                            if ch.state == ChannelState::Open {
                                // A reset outgoing stream is a closed channel (RFC 8831 §6.7).
                                ch.state = ChannelState::Closing;
                            }
                        }
                        self.pending_resets.insert(s);
                    }
                    if self.peer_in_requests.len() >= MAX_WAITING_IN_REQUESTS {
                        // Only names the request in our Outgoing SSN Reset Request; the oldest
                        // is still performed, just without that mention.
                        self.peer_in_requests.pop_front();
                    }
                    self.peer_in_requests
                        .push_back((seq, list.into_iter().collect()));
                    ReconfigResult::SuccessPerformed
                }
            };
        self.record_peer_result(seq, result);
        self.respond_reconfig(seq, result);
    }

    /// RFC 6525 §5.2.5: the peer adds outgoing streams, that is our incoming ones. Nothing
    /// is allocated per stream, so this only raises the limit.
    fn on_peer_add_outgoing_streams(&mut self, seq: u32, new_streams: u16) {
        if seq != self.peer_req_seq {
            let r = self.result_for_old(seq);
            self.respond_reconfig(seq, r);
            return;
        }
        self.peer_req_seq = self.peer_req_seq.wrapping_add(1);
        let result = match self.in_streams.checked_add(new_streams) {
            Some(n) if self.state == State::Established => {
                self.in_streams = n;
                ReconfigResult::SuccessPerformed
            }
            _ => ReconfigResult::Denied,
        };
        self.record_peer_result(seq, result);
        self.respond_reconfig(seq, result);
    }

    fn check_deferred_reset(&mut self) {
        let cum = self.tracker.as_ref().map_or(0, |t| t.cum);
        if self.deferred.as_ref().is_none_or(|d| cum < d.last_tsn) {
            return;
        }
        let Some(d) = self.deferred.take() else {
            return;
        };
        self.perform_incoming_reset(&d.streams);
        for &seq in &d.seqs {
            self.record_peer_result(seq, ReconfigResult::SuccessPerformed);
            self.respond_reconfig(seq, ReconfigResult::SuccessPerformed);
        }
        for c in d.held {
            if self.reassembly.add(c).is_err() {
                self.protocol_violation("message larger than max-message-size");
                return;
            }
        }
    }

    fn perform_incoming_reset(&mut self, streams: &[u16]) {
        let list: Vec<u16> = if streams.is_empty() {
            // All streams: every one with receive state or a channel.
            let all: BTreeSet<u16> = self
                .channels
                .keys()
                .copied()
                .chain(self.reassembly.streams_in_use())
                .collect();
            all.into_iter().collect()
        } else {
            streams.to_vec()
        };
        for &s in &list {
            self.reassembly.reset_stream(s);
            if let Some(ch) = self.channels.get_mut(&s) {
                ch.in_reset = true;
                if ch.state == ChannelState::Open {
                    // RFC 8831 §6.7: the peer closed; reset our side too.
                    ch.state = ChannelState::Closing;
                    self.pending_resets.insert(s);
                }
            }
            self.maybe_finish_close(s);
        }
    }

    /// Starts the next stream reset request when none is outstanding (RFC 6525 §5.1.1: one
    /// at a time): our Outgoing SSN Reset Request first, then an Incoming one.
    fn maybe_start_reconfig(&mut self) {
        if self.reconfig_in_flight.is_some() || !matches!(self.state, State::Established) {
            return;
        }
        let ready: Vec<u16> = self
            .pending_resets
            .iter()
            .copied()
            .filter(|&s| self.send_queue.stream_idle(s))
            .take(128)
            .collect();
        let seq = self.next_req_seq;
        let (incoming, streams, param) = if !ready.is_empty() {
            for s in &ready {
                self.pending_resets.remove(s);
            }
            // This request is the implicit answer to the peer's Incoming SSN Reset Request
            // whose streams are now all on their way (RFC 6525 §4.1); otherwise the field is
            // the last request sequence number received.
            let mut answered = None;
            let pending = &self.pending_resets;
            self.peer_in_requests.retain(|(seq, streams)| {
                let done = streams.iter().all(|s| !pending.contains(s));
                if done && answered.is_none() {
                    answered = Some(*seq);
                }
                !done
            });
            let response_sequence = answered.unwrap_or(self.peer_req_seq.wrapping_sub(1));
            let param = Param::OutgoingSsnResetRequest {
                request_sequence: seq,
                response_sequence,
                last_tsn: (self.next_tsn - 1) as u32,
                streams: ready.clone(),
            };
            (false, ready, param)
        } else if self.pending_in_all || !self.pending_in_resets.is_empty() {
            let streams: Vec<u16> = if self.pending_in_all {
                self.pending_in_all = false;
                Vec::new()
            } else {
                self.pending_in_resets.iter().copied().take(128).collect()
            };
            for s in &streams {
                self.pending_in_resets.remove(s);
            }
            let param = Param::IncomingSsnResetRequest {
                request_sequence: seq,
                streams: streams.clone(),
            };
            (true, streams, param)
        } else {
            return;
        };
        let chunk = Chunk::ReConfig(ReConfig {
            params: vec![param],
        });
        self.control.push_back(chunk.clone());
        self.reconfig_in_flight = Some(ReconfigRequest {
            seq,
            incoming,
            streams,
            chunk,
        });
        self.reconfig_at = Some(self.now + self.rto);
    }

    fn on_reconfig_timer(&mut self) {
        self.reconfig_at = None;
        if let Some(r) = &self.reconfig_in_flight {
            self.control.push_back(r.chunk.clone());
            self.reconfig_at = Some(self.now + self.rto);
        }
    }

    /// RFC 6525 §5.2.7: the answer to our outstanding request.
    fn on_reconfig_response(&mut self, seq: u32, result: ReconfigResult) {
        let Some(r) = self.reconfig_in_flight.as_ref() else {
            return;
        };
        if r.seq != seq {
            return;
        }
        match result {
            ReconfigResult::InProgress => {
                self.reconfig_at = Some(self.now + self.rto);
                return;
            }
            ReconfigResult::SuccessPerformed | ReconfigResult::SuccessNothingToDo => {}
            other => {
                let error = Error::ProtocolViolation(match other {
                    ReconfigResult::Denied => "stream reset denied",
                    _ => "stream reset failed",
                });
                for &id in &r.streams {
                    if r.incoming && !self.channels.contains_key(&id) {
                        continue;
                    }
                    self.events.push_back(Event::ChannelError {
                        id,
                        error: error.clone(),
                    });
                }
            }
        }
        let Some(r) = self.reconfig_in_flight.take() else {
            return;
        };
        self.reconfig_at = None;
        self.next_req_seq = self.next_req_seq.wrapping_add(1);
        if r.incoming {
            // The peer resets its side with an Outgoing SSN Reset Request of its own.
            return;
        }
        for s in r.streams {
            self.send_queue.reset_stream(s);
            if let Some(ch) = self.channels.get_mut(&s) {
                ch.out_reset = true;
            }
            self.maybe_finish_close(s);
        }
    }

    fn maybe_finish_close(&mut self, id: u16) {
        if self
            .channels
            .get(&id)
            .is_some_and(|c| c.in_reset && c.out_reset)
        {
            self.remove_channel(id);
        }
    }

    fn remove_channel(&mut self, id: u16) {
        if self.channels.remove(&id).is_some() {
            self.send_queue.clear_stream(id);
            self.pending_resets.remove(&id);
            self.events.push_back(Event::ChannelClosed { id });
        }
    }

    // ------------------------------------------------------------------ data channels

    fn announce_channel(&mut self, id: u16) {
        let Some(ch) = self.channels.get_mut(&id) else {
            return;
        };
        if ch.state != ChannelState::Connecting {
            return;
        }
        ch.state = ChannelState::Open;
        let config = ch.config.clone();
        if config.negotiated.is_none() {
            let mut b = Vec::new();
            DcepMessage::open_for(&config).write(&mut b);
            self.send_queue
                .push(id, Ppid::DCEP, Bytes::from(b), false, false, None, None);
        }
        self.events.push_back(Event::ChannelOpen {
            id,
            config,
            remote: false,
        });
    }

    fn after_input(&mut self) {
        self.deliver();
        self.check_deferred_reset();
        self.deliver();
        self.maybe_start_reconfig();
        self.check_shutdown();
    }

    fn deliver(&mut self) {
        while let Some(d) = self.reassembly.delivered.pop_front() {
            match d.ppid {
                Ppid::DCEP => self.on_dcep(d.stream, &d.data),
                Ppid::STRING
                | Ppid::STRING_PARTIAL
                | Ppid::STRING_EMPTY
                | Ppid::BINARY
                | Ppid::BINARY_PARTIAL
                | Ppid::BINARY_EMPTY => {
                    let Some(ch) = self.channels.get(&d.stream) else {
                        continue;
                    };
                    if ch.state == ChannelState::Connecting {
                        continue;
                    }
                    let is_text = matches!(
                        d.ppid,
                        Ppid::STRING | Ppid::STRING_PARTIAL | Ppid::STRING_EMPTY
                    );
                    let data = if matches!(d.ppid, Ppid::STRING_EMPTY | Ppid::BINARY_EMPTY) {
                        Bytes::new()
                    } else {
                        d.data
                    };
                    self.stats.messages_received += 1;
                    self.events.push_back(Event::Message {
                        id: d.stream,
                        data,
                        is_text,
                    });
                }
                _ => tracing::debug!(ppid = d.ppid, "sctp: message with unknown PPID dropped"),
            }
        }
    }

    fn on_dcep(&mut self, stream: u16, data: &[u8]) {
        let msg = match DcepMessage::parse(data) {
            Ok(m) => m,
            Err(e) => {
                tracing::debug!(error = %e, "sctp: bad DCEP message");
                return;
            }
        };
        match msg {
            DcepMessage::Ack => {
                if let Some(ch) = self.channels.get_mut(&stream) {
                    ch.acked = true;
                }
            }
            open @ DcepMessage::Open { .. } => {
                let ours = (stream % 2 == 0) == self.is_dtls_client;
                if self.channels.contains_key(&stream) || ours {
                    tracing::debug!(stream, "sctp: DATA_CHANNEL_OPEN on a stream in use");
                    return;
                }
                let Some(config) = open.to_config() else {
                    return;
                };
                self.channels.insert(
                    stream,
                    Channel {
                        config: config.clone(),
                        state: ChannelState::Open,
                        acked: true,
                        low_threshold: 0,
                        above_threshold: false,
                        out_reset: false,
                        in_reset: false,
                    },
                );
                let mut b = Vec::new();
                DcepMessage::Ack.write(&mut b);
                self.send_queue
                    .push(stream, Ppid::DCEP, Bytes::from(b), false, false, None, None);
                self.events.push_back(Event::ChannelOpen {
                    id: stream,
                    config,
                    remote: true,
                });
            }
        }
    }

    fn emit_buffered_low(&mut self) {
        for id in self.send_queue.take_drained() {
            let buffered = self.send_queue.buffered(id);
            if let Some(ch) = self.channels.get_mut(&id) {
                if ch.above_threshold && buffered <= ch.low_threshold {
                    ch.above_threshold = false;
                    self.events.push_back(Event::BufferedAmountLow { id });
                }
            }
        }
    }

    #[cfg(feature = "fuzzing")]
    pub(crate) fn memory_estimate(&self) -> usize {
        let waiting: usize = self.peer_in_requests.iter().map(|(_, s)| s.len() * 2).sum();
        waiting
            + (self.pending_resets.len() + self.pending_in_resets.len()) * 16
            + self.reassembly.bytes
            + self.reassembly.frags * 64
            + self.control.len() * 64
            + self.solo.iter().map(Vec::len).sum::<usize>()
            + self.events.len() * 64
            + self.outstanding.chunks.len() * 128
    }

    #[cfg(feature = "fuzzing")]
    pub(crate) fn local_tag(&self) -> u32 {
        self.local_tag
    }
}

fn write_chunk(buf: &mut Vec<u8>, tsn: u32, f: &Fragment, i_data: bool) {
    let flags = (false, f.unordered, f.beginning, f.ending);
    if i_data {
        let field = if f.beginning { f.ppid } else { f.fsn };
        IDataChunk::write_fields(buf, tsn, f.stream, f.seq, field, flags, &f.data);
    } else {
        DataChunk::write_fields(buf, tsn, f.stream, f.seq as u16, f.ppid, flags, &f.data);
    }
}

/// Reads the peer's capabilities from INIT / INIT ACK parameters, and collects the
/// unrecognised parameters it asks to have reported (RFC 9260 §3.2.1).
fn parse_caps(params: &[Param]) -> (Caps, Vec<Bytes>) {
    let mut caps = Caps::default();
    let mut unrecognized = Vec::new();
    for p in params {
        match p {
            Param::ForwardTsnSupported => caps.forward_tsn = true,
            Param::SupportedExtensions(types) => {
                caps.forward_tsn |= types.contains(&ChunkType::FORWARD_TSN);
                caps.reconfig |= types.contains(&ChunkType::RE_CONFIG);
                caps.i_data |=
                    types.contains(&ChunkType::I_DATA) && types.contains(&ChunkType::I_FORWARD_TSN);
            }
            Param::ZeroChecksumAcceptable { edmid } => caps.zero_checksum = *edmid == EDMID_DTLS,
            Param::Unknown { param_type, value } => {
                // IPv4/IPv6 address, host name, supported address types: known, unused.
                if matches!(param_type, 5 | 6 | 11 | 12) {
                    continue;
                }
                if param_type & 0x4000 != 0 {
                    let mut raw = Vec::new();
                    p.write(&mut raw);
                    unrecognized.push(Bytes::from(raw));
                }
                let _ = value;
                if param_type & 0x8000 == 0 {
                    break;
                }
            }
            _ => {}
        }
    }
    (caps, unrecognized)
}
