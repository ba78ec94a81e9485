//! The sans-IO TURN client (RFC 8656 §6-§12, RFC 6062 §4).

mod auth;
mod data_connection;

use std::collections::{BTreeMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use oxrtc_stun::{
    AddressFamily, ChannelNumber, Class, ConnectionId, Data, Lifetime, Message, MessageBuilder,
    Method, RequestedAddressFamily, RequestedTransport, Software, TransactionConfig,
    TransactionEvent, TransactionId, Transactions, XorMappedAddress, XorPeerAddress,
    XorRelayedAddress,
};
use rand_chacha::rand_core::{CryptoRng, RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

use crate::wire::{
    is_channel_data, write_channel_data, ChannelData, StreamFramer, CHANNEL_NUMBER_MAX,
    CHANNEL_NUMBER_MIN,
};
use crate::{Error, ResponseError};

pub(crate) use auth::Auth;
pub use data_connection::{DataConnection, DataConnectionEvent};

/// Lifetime of a permission (RFC 8656 §9): 300 s.
pub const PERMISSION_LIFETIME: Duration = Duration::from_secs(300);
/// Lifetime of a channel binding (RFC 8656 §12): 600 s.
pub const CHANNEL_LIFETIME: Duration = Duration::from_secs(600);
/// How long before expiry permissions and channel bindings are refreshed: 60 s, enough for
/// a UDP transaction's full retransmission schedule (39.5 s).
pub const REFRESH_MARGIN: Duration = Duration::from_secs(60);
/// Most packets queued per peer while its permission is being created; older ones are
/// dropped (and counted) beyond it.
pub const MAX_QUEUED_PER_PEER: usize = 16;
/// Most ALTERNATE-SERVER redirects followed for one allocation (RFC 8489 §10).
pub const MAX_REDIRECTS: usize = 4;
/// Most retries after 438 Stale Nonce for one request.
const MAX_STALE_RETRIES: u8 = 3;

/// How the client reaches the TURN server (`turn:` over UDP or TCP, `turns:` over TLS).
///
/// The client core treats TCP and TLS alike (a byte stream, ChannelData padded to 4 bytes,
/// no retransmissions); TLS itself is the socket owner's business (see the `tls` feature's
/// `TlsStream`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TurnTransport {
    /// UDP: one message per datagram, requests retransmitted.
    Udp,
    /// TCP: a byte stream framed by [`StreamFramer`].
    Tcp,
    /// TLS over TCP (`turns:`): as TCP, inside TLS.
    Tls,
}

impl TurnTransport {
    /// Whether this is a byte stream (TCP or TLS): ChannelData is padded, requests are sent
    /// once.
    pub const fn is_stream(self) -> bool {
        !matches!(self, TurnTransport::Udp)
    }

    fn stun_transport(self) -> oxrtc_stun::Transport {
        if self.is_stream() {
            oxrtc_stun::Transport::Reliable
        } else {
            oxrtc_stun::Transport::Unreliable
        }
    }
}

/// Settings of a [`Client`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// The TURN server's address.
    pub server: SocketAddr,
    /// How the server is reached.
    pub transport: TurnTransport,
    /// The long-term credential username (for TURN REST credentials, `expiry:user`).
    pub username: String,
    /// The long-term credential password.
    pub password: String,
    /// SOFTWARE sent in Allocate requests; `None` sends none.
    pub software: Option<String>,
    /// REQUESTED-ADDRESS-FAMILY: `Some(AddressFamily::IPv6)` asks for an IPv6 relayed address
    /// (RFC 8656 §7.1); `None` leaves the server's default (IPv4).
    pub requested_family: Option<AddressFamily>,
    /// The allocation lifetime to ask for (LIFETIME, whole seconds); `None` takes the
    /// server's default (600 s). Refreshes ask for the same.
    pub lifetime: Option<Duration>,
}

impl ClientConfig {
    /// A configuration with no SOFTWARE, the server's default address family and lifetime.
    pub fn new(
        server: SocketAddr,
        transport: TurnTransport,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        ClientConfig {
            server,
            transport,
            username: username.into(),
            password: password.into(),
            software: None,
            requested_family: None,
            lifetime: None,
        }
    }
}

/// Something to send to the TURN server.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct Transmit {
    /// How to send it: a datagram for UDP, bytes on the connection for TCP and TLS.
    pub transport: TurnTransport,
    /// The TURN server (it changes after [`Event::Redirected`]).
    pub destination: SocketAddr,
    /// The bytes: a STUN message or a ChannelData message.
    pub contents: Vec<u8>,
}

/// What happened, from [`Client::poll_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The allocation exists (RFC 8656 §7.3).
    Allocated {
        /// The relayed transport address peers send to: the relayed candidate.
        relayed: SocketAddr,
        /// The client's address as the server saw it (XOR-MAPPED-ADDRESS), a server
        /// reflexive candidate, when the server sent it.
        mapped: Option<SocketAddr>,
        /// The lifetime the server granted.
        lifetime: Duration,
    },
    /// Allocating failed; the client is closed. Every error response is typed
    /// ([`Error::Response`]); [`Error::Timeout`] when the server never answered.
    AllocationFailed(Error),
    /// ALTERNATE-SERVER (300): the client now talks to `server` and starts over there. On
    /// TCP and TLS, open a connection to it before sending the next transmit.
    Redirected {
        /// The new server.
        server: SocketAddr,
    },
    /// A Refresh succeeded; the allocation now lives `lifetime` from now.
    Refreshed {
        /// The lifetime the server granted.
        lifetime: Duration,
    },
    /// A Refresh failed; it is retried while the allocation lasts.
    RefreshFailed(Error),
    /// The allocation is gone: it expired unrefreshed, or the server no longer knows it
    /// (437). The client is closed.
    Expired,
    /// [`Client::deallocate`] finished; the client is closed.
    Deallocated,
    /// A permission for this peer IP was installed (RFC 8656 §9). Refreshes are silent.
    PermissionCreated {
        /// The peer's IP address.
        peer: IpAddr,
    },
    /// Creating or refreshing a permission failed; packets queued for it are dropped.
    PermissionFailed {
        /// The peer's IP address.
        peer: IpAddr,
        /// Why.
        error: Error,
    },
    /// A channel is bound: data to and from `peer` now travels as ChannelData
    /// (RFC 8656 §12). Refreshes are silent.
    ChannelBound {
        /// The peer.
        peer: SocketAddr,
        /// Its channel number.
        channel: ChannelNumber,
    },
    /// Binding or refreshing a channel failed; data to the peer falls back to Send
    /// indications.
    ChannelBindFailed {
        /// The peer.
        peer: SocketAddr,
        /// Why.
        error: Error,
    },
    /// Data relayed from a peer (Data indication or ChannelData).
    Data {
        /// The peer that sent it, as the server saw it.
        peer: SocketAddr,
        /// The application data.
        data: Vec<u8>,
    },
    /// RFC 6062: the server connected to the peer; open a data connection and call
    /// [`Client::connection_bind`].
    Connected {
        /// The peer.
        peer: SocketAddr,
        /// The connection id to bind.
        connection_id: ConnectionId,
    },
    /// RFC 6062: a Connect request failed (447 when the server could not reach the peer).
    ConnectFailed {
        /// The peer.
        peer: SocketAddr,
        /// Why.
        error: Error,
    },
    /// RFC 6062: a peer connected to the relayed address (ConnectionAttempt); bind it
    /// within 30 s with [`Client::connection_bind`] or the server drops it.
    ConnectionAttempt {
        /// The peer.
        peer: SocketAddr,
        /// The connection id to bind.
        connection_id: ConnectionId,
    },
}

/// Counters of a [`Client`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClientStats {
    /// Requests sent, retransmissions included.
    pub requests_sent: u64,
    /// Requests sent again with new credentials after a 401 challenge or a 438 (stale
    /// nonce).
    pub auth_retries: u64,
    /// Send indications and ChannelData messages sent.
    pub data_sent: u64,
    /// Data indications and ChannelData messages received.
    pub data_received: u64,
    /// Received input dropped: malformed, unexpected, from elsewhere, unknown channel.
    pub dropped: u64,
    /// Packets dropped from the queue of a permission being created.
    pub queue_dropped: u64,
}

/// What the relayed transport address carries (REQUESTED-TRANSPORT).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Relay {
    Udp,
    /// RFC 6062.
    Tcp,
}

#[derive(Debug)]
enum State {
    Idle,
    Allocating,
    Allocated(Allocation),
    Deallocating,
    Closed,
}

#[derive(Debug, Clone)]
struct Allocation {
    relay: Relay,
    relayed: SocketAddr,
    mapped: Option<SocketAddr>,
    expires: Instant,
    refresh_at: Instant,
    refreshing: bool,
}

#[derive(Debug)]
enum PermissionState {
    Pending,
    Installed,
    Refused,
}

#[derive(Debug)]
struct Permission {
    state: PermissionState,
    expires: Option<Instant>,
    refresh_at: Option<Instant>,
    in_flight: bool,
    queue: VecDeque<(SocketAddr, Vec<u8>)>,
}

#[derive(Debug)]
struct Channel {
    number: ChannelNumber,
    bound: bool,
    refresh_at: Option<Instant>,
    expires: Option<Instant>,
    in_flight: bool,
}

/// What a request was for: the [`Transactions`] context, enough to rebuild the request
/// after a 401 or 438.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Request {
    Allocate(Relay),
    Refresh {
        lifetime: Option<u32>,
    },
    CreatePermission {
        peer: IpAddr,
    },
    ChannelBind {
        peer: SocketAddr,
        channel: ChannelNumber,
    },
    Connect {
        peer: SocketAddr,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Context {
    request: Request,
    /// Whether it carried credentials.
    signed: bool,
    stale_retries: u8,
}

/// A sans-IO TURN client: one allocation on one TURN server (RFC 8656), with permissions,
/// channels, Send/Data indications, ChannelData, and RFC 6062 TCP allocations.
///
/// It owns no socket and reads no clock. The API, in four families:
///
/// - getters: [`relayed_address`](Self::relayed_address),
///   [`mapped_address`](Self::mapped_address), [`server`](Self::server),
///   [`is_allocated`](Self::is_allocated), [`channel`](Self::channel),
///   [`has_permission`](Self::has_permission), [`stats`](Self::stats);
/// - inputs: [`handle_receive`](Self::handle_receive) for datagrams from the server (UDP),
///   [`handle_stream_data`](Self::handle_stream_data) for bytes from the connection (TCP,
///   TLS after decryption), [`handle_timeout`](Self::handle_timeout);
/// - commands: [`allocate`](Self::allocate), [`create_permission`](Self::create_permission),
///   [`bind_channel`](Self::bind_channel), [`send_to`](Self::send_to),
///   [`refresh`](Self::refresh), [`deallocate`](Self::deallocate); RFC 6062:
///   [`allocate_tcp`](Self::allocate_tcp), [`connect`](Self::connect),
///   [`connection_bind`](Self::connection_bind);
/// - outputs: [`poll_transmit`](Self::poll_transmit) (always to the server),
///   [`poll_event`](Self::poll_event), [`poll_timeout`](Self::poll_timeout).
///
/// After every input or command, drain `poll_transmit` then `poll_event` until empty, and
/// call `handle_timeout` when `poll_timeout` is due. Time going backwards is ignored; an
/// early `handle_timeout` does nothing.
///
/// Credentials: the first Allocate goes without; the server's 401 brings REALM and NONCE,
/// the client derives the long-term key (MD5, or SHA-256 when the server offers it through
/// the RFC 8489 nonce cookie) and retries; every later request is signed, and a 438 (stale
/// nonce) is retried with the new nonce. Responses to signed requests are accepted only
/// with valid integrity. The allocation is refreshed a minute before it expires,
/// permissions before their 300 s and channels before their 600 s.
///
/// See the crate docs for the run loop.
#[derive(Debug)]
pub struct Client {
    config: ClientConfig,
    rng: ChaCha20Rng,
    server: SocketAddr,
    tried: Vec<SocketAddr>,
    transactions: Transactions<Context>,
    auth: Option<Auth>,
    state: State,
    permissions: BTreeMap<IpAddr, Permission>,
    channels: BTreeMap<SocketAddr, Channel>,
    channel_peers: BTreeMap<u16, SocketAddr>,
    next_channel: u16,
    framer: StreamFramer,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    stats: ClientStats,
    now: Instant,
}

impl Client {
    /// A client for one allocation on `config.server`; nothing is sent until
    /// [`allocate`](Self::allocate).
    ///
    /// `rng` seeds the generator of transaction ids (which must be unpredictable,
    /// RFC 8489 §6): pass the system's CSPRNG, or a seeded one in tests.
    pub fn new<R: RngCore + CryptoRng>(config: ClientConfig, now: Instant, mut rng: R) -> Self {
        Self::with_transaction_config(config, TransactionConfig::default(), now, &mut rng)
    }

    /// As [`new`](Self::new) with other retransmission timing than RFC 8489's defaults.
    pub fn with_transaction_config<R: RngCore + CryptoRng>(
        config: ClientConfig,
        transaction_config: TransactionConfig,
        now: Instant,
        mut rng: R,
    ) -> Self {
        let server = config.server;
        Client {
            config,
            rng: ChaCha20Rng::from_rng(&mut rng),
            server,
            tried: vec![server],
            transactions: Transactions::new(transaction_config),
            auth: None,
            state: State::Idle,
            permissions: BTreeMap::new(),
            channels: BTreeMap::new(),
            channel_peers: BTreeMap::new(),
            next_channel: CHANNEL_NUMBER_MIN,
            framer: StreamFramer::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            stats: ClientStats::default(),
            now,
        }
    }

    // ---- getters -----------------------------------------------------------------------

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The server the client talks to now (the configured one, or an ALTERNATE-SERVER).
    pub fn server(&self) -> SocketAddr {
        self.server
    }

    /// The transport to the server.
    pub fn transport(&self) -> TurnTransport {
        self.config.transport
    }

    /// Whether an allocation exists.
    pub fn is_allocated(&self) -> bool {
        matches!(self.state, State::Allocated(_))
    }

    /// Whether the client is done: allocation failed, expired or deallocated.
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// The relayed transport address, once allocated.
    pub fn relayed_address(&self) -> Option<SocketAddr> {
        match &self.state {
            State::Allocated(a) => Some(a.relayed),
            _ => None,
        }
    }

    /// The server reflexive address from the Allocate response, once allocated.
    pub fn mapped_address(&self) -> Option<SocketAddr> {
        match &self.state {
            State::Allocated(a) => a.mapped,
            _ => None,
        }
    }

    /// When the allocation expires unless refreshed.
    pub fn expires(&self) -> Option<Instant> {
        match &self.state {
            State::Allocated(a) => Some(a.expires),
            _ => None,
        }
    }

    /// The channel bound to `peer`, once the server confirmed it.
    pub fn channel(&self, peer: SocketAddr) -> Option<ChannelNumber> {
        self.channels
            .get(&peer)
            .filter(|c| c.bound)
            .map(|c| c.number)
    }

    /// Whether a permission for `peer` is installed.
    pub fn has_permission(&self, peer: IpAddr) -> bool {
        self.permissions
            .get(&peer)
            .is_some_and(|p| matches!(p.state, PermissionState::Installed))
    }

    /// Counters.
    pub fn stats(&self) -> ClientStats {
        self.stats
    }

    // ---- inputs ------------------------------------------------------------------------

    /// Handles a datagram from the server (UDP), or one whole frame on a stream.
    ///
    /// Responses end transactions, Data indications and ChannelData become
    /// [`Event::Data`], ConnectionAttempt indications [`Event::ConnectionAttempt`].
    ///
    /// # Errors
    /// [`Error::UnexpectedSource`] when `from` is not the server; parse errors for
    /// malformed input; the integrity error for a response that fails it. The input is
    /// dropped and counted; the client's state is unchanged.
    pub fn handle_receive(
        &mut self,
        now: Instant,
        from: SocketAddr,
        data: &[u8],
    ) -> Result<(), Error> {
        self.advance(now);
        if from != self.server {
            self.stats.dropped += 1;
            return Err(Error::UnexpectedSource(from));
        }
        let r = self.handle_frame(data);
        if r.is_err() {
            self.stats.dropped += 1;
        }
        self.pump();
        r
    }

    /// Handles bytes read from the TCP or TLS (decrypted) connection to the server: they
    /// are framed ([`StreamFramer`]) and each whole frame handled as by
    /// [`handle_receive`](Self::handle_receive).
    ///
    /// # Errors
    /// [`Error::NotTurn`] when the stream cannot be framed: close the connection. Errors of
    /// single frames are counted and skipped.
    pub fn handle_stream_data(&mut self, now: Instant, data: &[u8]) -> Result<(), Error> {
        self.advance(now);
        self.framer.push(data);
        let mut framer = core::mem::take(&mut self.framer);
        let result = loop {
            match framer.next_frame() {
                Ok(Some(frame)) => {
                    if self.handle_frame(frame.as_bytes()).is_err() {
                        self.stats.dropped += 1;
                    }
                }
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        self.framer = framer;
        self.pump();
        result
    }

    /// Advances time: retransmissions, transaction timeouts, refreshes, expiry.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.advance(now);
        let now = self.now;
        self.transactions.handle_timeout(now);
        self.pump();

        let mut refresh_allocation = false;
        let mut expired = false;
        if let State::Allocated(a) = &mut self.state {
            if now >= a.expires {
                expired = true;
            } else if !a.refreshing && now >= a.refresh_at {
                a.refreshing = true;
                refresh_allocation = true;
            }
        }
        if expired {
            self.close();
            self.events.push_back(Event::Expired);
            return;
        }
        if refresh_allocation {
            let lifetime = self.requested_lifetime();
            self.start_request(Request::Refresh { lifetime });
        }

        let mut due = Vec::new();
        self.permissions.retain(|ip, p| {
            if p.expires.is_some_and(|e| now >= e) && !p.in_flight {
                // Unrefreshed: the server dropped it too.
                return false;
            }
            if !p.in_flight && p.refresh_at.is_some_and(|r| now >= r) {
                p.in_flight = true;
                due.push(Request::CreatePermission { peer: *ip });
            }
            true
        });
        let mut expired_channels = Vec::new();
        for (peer, c) in &mut self.channels {
            if c.expires.is_some_and(|e| now >= e) && !c.in_flight {
                expired_channels.push(*peer);
            } else if !c.in_flight && c.refresh_at.is_some_and(|r| now >= r) {
                c.in_flight = true;
                due.push(Request::ChannelBind {
                    peer: *peer,
                    channel: c.number,
                });
            }
        }
        for peer in expired_channels {
            // The number stays reserved in `channel_peers`: the server keeps it 5 more
            // minutes (RFC 8656 §12) and this client never reuses numbers.
            self.channels.remove(&peer);
        }
        for r in due {
            self.start_request(r);
        }
        self.pump();
    }

    // ---- commands ----------------------------------------------------------------------

    /// Starts allocating a UDP relayed address (RFC 8656 §7.1). The outcome is
    /// [`Event::Allocated`] or [`Event::AllocationFailed`].
    ///
    /// # Errors
    /// [`Error::AlreadyAllocated`] unless the client is fresh.
    pub fn allocate(&mut self, now: Instant) -> Result<(), Error> {
        self.allocate_relay(now, Relay::Udp)
    }

    /// Starts an RFC 6062 TCP allocation: the relayed address is a TCP port, peers are
    /// reached with [`connect`](Self::connect) and accepted through
    /// [`Event::ConnectionAttempt`].
    ///
    /// # Errors
    /// [`Error::NotTcpAllocation`] over UDP (RFC 6062 needs a TCP or TLS control
    /// connection); [`Error::AlreadyAllocated`] unless the client is fresh.
    pub fn allocate_tcp(&mut self, now: Instant) -> Result<(), Error> {
        if !self.config.transport.is_stream() {
            return Err(Error::NotTcpAllocation);
        }
        self.allocate_relay(now, Relay::Tcp)
    }

    fn allocate_relay(&mut self, now: Instant, relay: Relay) -> Result<(), Error> {
        self.advance(now);
        if !matches!(self.state, State::Idle) {
            return Err(Error::AlreadyAllocated);
        }
        self.state = State::Allocating;
        self.start_request(Request::Allocate(relay));
        self.pump();
        Ok(())
    }

    /// Asks for a permission for `peer` (RFC 8656 §9.1); the port is irrelevant to the
    /// server. Refreshed every 240 s while the allocation lasts. Does nothing if one exists
    /// or is being created; retries after a refusal.
    ///
    /// # Errors
    /// [`Error::NotAllocated`], [`Error::PeerAddressFamilyMismatch`].
    pub fn create_permission(&mut self, now: Instant, peer: IpAddr) -> Result<(), Error> {
        self.advance(now);
        self.check_peer(peer)?;
        let p = self.permissions.entry(peer).or_insert_with(|| Permission {
            state: PermissionState::Pending,
            expires: None,
            refresh_at: None,
            in_flight: false,
            queue: VecDeque::new(),
        });
        if p.in_flight || matches!(p.state, PermissionState::Installed) {
            return Ok(());
        }
        p.state = PermissionState::Pending;
        p.in_flight = true;
        self.start_request(Request::CreatePermission { peer });
        self.pump();
        Ok(())
    }

    /// Stops refreshing the permission for `peer` (and drops packets queued for it); the
    /// server lets it expire.
    pub fn remove_permission(&mut self, peer: IpAddr) {
        self.permissions.remove(&peer);
    }

    /// Binds a channel to `peer` (RFC 8656 §11.1) and returns its number; once
    /// [`Event::ChannelBound`] arrives, data to and from `peer` uses ChannelData (4 bytes of
    /// overhead instead of 36). Also installs the permission. Refreshed every 540 s. Returns
    /// the existing number if `peer` has one.
    ///
    /// # Errors
    /// [`Error::NotAllocated`], [`Error::PeerAddressFamilyMismatch`],
    /// [`Error::ChannelsExhausted`] after 4096 channels.
    pub fn bind_channel(&mut self, now: Instant, peer: SocketAddr) -> Result<ChannelNumber, Error> {
        self.advance(now);
        self.check_peer(peer.ip())?;
        if let Some(c) = self.channels.get(&peer) {
            return Ok(c.number);
        }
        if self.next_channel > CHANNEL_NUMBER_MAX {
            return Err(Error::ChannelsExhausted);
        }
        let number = ChannelNumber(self.next_channel);
        self.next_channel += 1;
        self.channels.insert(
            peer,
            Channel {
                number,
                bound: false,
                refresh_at: None,
                expires: None,
                in_flight: true,
            },
        );
        self.channel_peers.insert(number.0, peer);
        self.start_request(Request::ChannelBind {
            peer,
            channel: number,
        });
        self.pump();
        Ok(number)
    }

    /// Sends `data` to `peer` through the relay: as ChannelData when a channel is bound,
    /// else as a Send indication (RFC 8656 §10.1, §12.4).
    ///
    /// Without a permission for the peer's IP one is created first
    /// ([`create_permission`](Self::create_permission)) and the data waits for it (at most
    /// [`MAX_QUEUED_PER_PEER`] packets per peer; the oldest are dropped and counted).
    ///
    /// # Errors
    /// [`Error::NotAllocated`], [`Error::PeerAddressFamilyMismatch`],
    /// [`Error::PermissionRefused`] when the server refused the peer,
    /// [`Error::DataTooLong`].
    pub fn send_to(&mut self, now: Instant, peer: SocketAddr, data: &[u8]) -> Result<(), Error> {
        self.advance(now);
        self.check_peer(peer.ip())?;
        if let Some(c) = self.channels.get(&peer).filter(|c| c.bound) {
            let mut contents = Vec::with_capacity(data.len() + 8);
            write_channel_data(
                &mut contents,
                c.number,
                data,
                self.config.transport.is_stream(),
            )?;
            self.push_data(contents);
            return Ok(());
        }
        match self.permissions.get(&peer.ip()).map(|p| &p.state) {
            Some(PermissionState::Installed) => {
                let contents = self.send_indication(peer, data)?;
                self.push_data(contents);
                Ok(())
            }
            Some(PermissionState::Refused) => Err(Error::PermissionRefused(peer.ip())),
            state => {
                if data.len() > usize::from(u16::MAX) {
                    return Err(Error::DataTooLong(data.len()));
                }
                if state.is_none() {
                    self.create_permission(now, peer.ip())?;
                }
                if let Some(p) = self.permissions.get_mut(&peer.ip()) {
                    if p.queue.len() >= MAX_QUEUED_PER_PEER {
                        p.queue.pop_front();
                        self.stats.queue_dropped += 1;
                    }
                    p.queue.push_back((peer, data.to_vec()));
                }
                Ok(())
            }
        }
    }

    /// Refreshes the allocation now (RFC 8656 §8.1), asking for `lifetime` (`None`: the
    /// configured one). The client also does this on its own a minute before expiry.
    ///
    /// # Errors
    /// [`Error::NotAllocated`].
    pub fn refresh(&mut self, now: Instant, lifetime: Option<Duration>) -> Result<(), Error> {
        self.advance(now);
        if lifetime == Some(Duration::ZERO) {
            return self.deallocate(now);
        }
        let State::Allocated(a) = &mut self.state else {
            return Err(Error::NotAllocated);
        };
        a.refreshing = true;
        let lifetime = lifetime
            .map(|l| l.as_secs().min(u64::from(u32::MAX)) as u32)
            .or_else(|| self.requested_lifetime());
        self.start_request(Request::Refresh { lifetime });
        self.pump();
        Ok(())
    }

    /// Deletes the allocation: a Refresh with LIFETIME 0 (RFC 8656 §8.1). Ends with
    /// [`Event::Deallocated`] (also when the server does not answer: it drops the
    /// allocation at expiry anyway). Abandons an allocation in progress.
    ///
    /// # Errors
    /// [`Error::NotAllocated`] when there is nothing to delete.
    pub fn deallocate(&mut self, now: Instant) -> Result<(), Error> {
        self.advance(now);
        match self.state {
            State::Allocated(_) | State::Allocating => {}
            _ => return Err(Error::NotAllocated),
        }
        let was_allocated = matches!(self.state, State::Allocated(_));
        self.cancel_all();
        self.permissions.clear();
        self.channels.clear();
        if was_allocated {
            self.state = State::Deallocating;
            self.start_request(Request::Refresh { lifetime: Some(0) });
        } else {
            self.state = State::Closed;
            self.events.push_back(Event::Deallocated);
        }
        self.pump();
        Ok(())
    }

    /// RFC 6062 §4.3: asks the server to open a TCP connection to `peer` from the relayed
    /// address. Ends with [`Event::Connected`] (then call
    /// [`connection_bind`](Self::connection_bind)) or [`Event::ConnectFailed`].
    ///
    /// # Errors
    /// [`Error::NotAllocated`], [`Error::NotTcpAllocation`] for a UDP allocation,
    /// [`Error::PeerAddressFamilyMismatch`].
    pub fn connect(&mut self, now: Instant, peer: SocketAddr) -> Result<(), Error> {
        self.advance(now);
        self.check_peer(peer.ip())?;
        if !matches!(&self.state, State::Allocated(a) if a.relay == Relay::Tcp) {
            return Err(Error::NotTcpAllocation);
        }
        self.start_request(Request::Connect { peer });
        self.pump();
        Ok(())
    }

    /// RFC 6062 §4.4: a [`DataConnection`] for `connection_id` (from [`Event::Connected`] or
    /// [`Event::ConnectionAttempt`]): open a new TCP (or TLS) connection to
    /// [`server`](Self::server), write what the data connection transmits and feed it what
    /// arrives, until [`DataConnectionEvent::Bound`]; from then on the connection carries the
    /// peer's bytes unframed.
    ///
    /// # Errors
    /// [`Error::NotTcpAllocation`] without a TCP allocation.
    pub fn connection_bind(
        &mut self,
        now: Instant,
        connection_id: ConnectionId,
    ) -> Result<DataConnection, Error> {
        self.advance(now);
        if !matches!(&self.state, State::Allocated(a) if a.relay == Relay::Tcp) {
            return Err(Error::NotTcpAllocation);
        }
        let auth = self.auth.clone();
        DataConnection::new(
            now,
            connection_id,
            self.server,
            self.config.transport,
            self.config.username.clone(),
            self.config.password.clone(),
            auth,
            self.transactions.config().clone(),
            ChaCha20Rng::from_rng(&mut self.rng),
        )
    }

    // ---- outputs -----------------------------------------------------------------------

    /// The next message to send to the server.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        if let Some(t) = self.transactions.poll_transmit() {
            self.stats.requests_sent += 1;
            return Some(Transmit {
                transport: self.config.transport,
                destination: self.server,
                contents: t.contents,
            });
        }
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut t = self.transactions.poll_timeout();
        let mut min = |x: Option<Instant>| {
            if let Some(x) = x {
                t = Some(t.map_or(x, |t| t.min(x)));
            }
        };
        if let State::Allocated(a) = &self.state {
            min(Some(a.expires));
            if !a.refreshing {
                min(Some(a.refresh_at));
            }
        }
        for p in self.permissions.values() {
            if !p.in_flight {
                min(p.refresh_at);
                min(p.expires);
            }
        }
        for c in self.channels.values() {
            if !c.in_flight {
                min(c.refresh_at);
                min(c.expires);
            }
        }
        t
    }

    // ---- internals ---------------------------------------------------------------------

    fn advance(&mut self, now: Instant) {
        if now > self.now {
            self.now = now;
        }
    }

    fn requested_lifetime(&self) -> Option<u32> {
        self.config
            .lifetime
            .map(|l| l.as_secs().min(u64::from(u32::MAX)) as u32)
    }

    fn check_peer(&self, peer: IpAddr) -> Result<(), Error> {
        let State::Allocated(a) = &self.state else {
            return Err(Error::NotAllocated);
        };
        if a.relayed.is_ipv4() != peer.is_ipv4() {
            return Err(Error::PeerAddressFamilyMismatch(peer));
        }
        Ok(())
    }

    fn push_data(&mut self, contents: Vec<u8>) {
        self.stats.data_sent += 1;
        self.transmits.push_back(Transmit {
            transport: self.config.transport,
            destination: self.server,
            contents,
        });
    }

    fn send_indication(&mut self, peer: SocketAddr, data: &[u8]) -> Result<Vec<u8>, Error> {
        let mut out = Vec::with_capacity(data.len() + 40);
        let id = TransactionId::random(&mut self.rng);
        let mut b = MessageBuilder::new(&mut out, Class::Indication, Method::Send, id);
        b.add(&XorPeerAddress(peer))?;
        match b.add(&Data(data)) {
            Ok(_) => {}
            Err(oxrtc_stun::Error::MessageTooLong | oxrtc_stun::Error::ValueTooLong { .. }) => {
                return Err(Error::DataTooLong(data.len()))
            }
            Err(e) => return Err(e.into()),
        }
        Ok(out)
    }

    /// Builds and starts the request for `request`, signed when credentials are known.
    fn start_request(&mut self, request: Request) {
        let context = Context {
            request,
            signed: false,
            stale_retries: 0,
        };
        self.start_with(context);
    }

    fn start_with(&mut self, mut context: Context) {
        let id = TransactionId::random(&mut self.rng);
        let mut out = Vec::with_capacity(160);
        context.signed = self.auth.is_some();
        if let Err(e) = self.build(&context.request, id, &mut out) {
            // Only oversized configuration strings get here (SOFTWARE, USERNAME, REALM).
            self.fail(&context, e);
            return;
        }
        let transport = self.config.transport.stun_transport();
        let started = match &self.auth {
            Some(auth) => self.transactions.start_authenticated(
                self.now,
                out,
                transport,
                auth.key.clone(),
                context.clone(),
            ),
            None => self
                .transactions
                .start(self.now, out, transport, context.clone()),
        };
        if let Err(e) = started {
            self.fail(&context, e.into());
        }
    }

    fn build(&self, request: &Request, id: TransactionId, out: &mut Vec<u8>) -> Result<(), Error> {
        let method = match request {
            Request::Allocate(_) => Method::Allocate,
            Request::Refresh { .. } => Method::Refresh,
            Request::CreatePermission { .. } => Method::CreatePermission,
            Request::ChannelBind { .. } => Method::ChannelBind,
            Request::Connect { .. } => Method::Connect,
        };
        let mut b = MessageBuilder::new(out, Class::Request, method, id);
        match request {
            Request::Allocate(relay) => {
                b.add(&match relay {
                    Relay::Udp => RequestedTransport::UDP,
                    Relay::Tcp => RequestedTransport::TCP,
                })?;
                if let Some(l) = self.requested_lifetime() {
                    b.add(&Lifetime(l))?;
                }
                if let Some(f) = self.config.requested_family {
                    b.add(&RequestedAddressFamily(f))?;
                }
                if let Some(s) = &self.config.software {
                    b.add(&Software(s))?;
                }
            }
            Request::Refresh { lifetime } => {
                if let Some(l) = lifetime {
                    b.add(&Lifetime(*l))?;
                }
            }
            Request::CreatePermission { peer } => {
                b.add(&XorPeerAddress(SocketAddr::new(*peer, 0)))?;
            }
            Request::ChannelBind { peer, channel } => {
                b.add(channel)?.add(&XorPeerAddress(*peer))?;
            }
            Request::Connect { peer } => {
                b.add(&XorPeerAddress(*peer))?;
            }
        }
        if let Some(auth) = &self.auth {
            auth.sign(&mut b, &self.config.username)?;
        }
        b.add_fingerprint()?;
        Ok(())
    }

    /// Moves transaction outcomes into the client's state.
    fn pump(&mut self) {
        while let Some((event, context)) = self.transactions.poll_event() {
            match event {
                TransactionEvent::Success { response, .. } => {
                    let Ok(msg) = Message::new_checked(&response[..]) else {
                        continue;
                    };
                    if let Err(e) = self.on_success(&context, &msg) {
                        self.fail(&context, e);
                    }
                }
                TransactionEvent::ErrorResponse { response, .. } => {
                    let Ok(msg) = Message::new_checked(&response[..]) else {
                        continue;
                    };
                    self.on_error(context, &msg);
                }
                TransactionEvent::Timeout { .. } => self.fail(&context, Error::Timeout),
                _ => {}
            }
        }
    }

    fn on_success(&mut self, context: &Context, msg: &Message<&[u8]>) -> Result<(), Error> {
        let now = self.now;
        match &context.request {
            Request::Allocate(relay) => {
                if !matches!(self.state, State::Allocating) {
                    return Ok(());
                }
                let relayed = msg
                    .attribute::<XorRelayedAddress>()?
                    .ok_or(Error::MissingAttribute(XOR_RELAYED))?
                    .0;
                let lifetime = msg
                    .attribute::<Lifetime>()?
                    .ok_or(Error::MissingAttribute(LIFETIME))?
                    .0;
                let mapped = msg.attribute::<XorMappedAddress>()?.map(|m| m.0);
                let lifetime = Duration::from_secs(u64::from(lifetime));
                self.state = State::Allocated(Allocation {
                    relay: *relay,
                    relayed,
                    mapped,
                    expires: now + lifetime,
                    refresh_at: now + refresh_delay(lifetime),
                    refreshing: false,
                });
                self.events.push_back(Event::Allocated {
                    relayed,
                    mapped,
                    lifetime,
                });
            }
            Request::Refresh { lifetime: Some(0) } => self.finish_deallocation(),
            Request::Refresh { .. } => {
                let granted = msg.attribute::<Lifetime>()?.map_or(0, |l| l.0);
                let granted = Duration::from_secs(u64::from(granted));
                if let State::Allocated(a) = &mut self.state {
                    a.refreshing = false;
                    a.expires = now + granted;
                    a.refresh_at = now + refresh_delay(granted);
                    self.events
                        .push_back(Event::Refreshed { lifetime: granted });
                }
            }
            Request::CreatePermission { peer } => {
                let Some(p) = self.permissions.get_mut(peer) else {
                    return Ok(());
                };
                let first = !matches!(p.state, PermissionState::Installed);
                p.state = PermissionState::Installed;
                p.in_flight = false;
                p.expires = Some(now + PERMISSION_LIFETIME);
                p.refresh_at = Some(now + PERMISSION_LIFETIME - REFRESH_MARGIN);
                let queued: Vec<_> = p.queue.drain(..).collect();
                if first {
                    self.events
                        .push_back(Event::PermissionCreated { peer: *peer });
                }
                for (to, data) in queued {
                    if let Ok(contents) = self.send_indication(to, &data) {
                        self.push_data(contents);
                    }
                }
            }
            Request::ChannelBind { peer, channel } => {
                let Some(c) = self.channels.get_mut(peer) else {
                    return Ok(());
                };
                let first = !c.bound;
                c.bound = true;
                c.in_flight = false;
                c.expires = Some(now + CHANNEL_LIFETIME);
                c.refresh_at = Some(now + CHANNEL_LIFETIME - REFRESH_MARGIN);
                // The binding installed or refreshed the permission too (RFC 8656 §11.2); it
                // lasts 300 s against the channel's 600 s, so keep refreshing it.
                let p = self
                    .permissions
                    .entry(peer.ip())
                    .or_insert_with(|| Permission {
                        state: PermissionState::Installed,
                        expires: None,
                        refresh_at: None,
                        in_flight: false,
                        queue: VecDeque::new(),
                    });
                if !p.in_flight {
                    p.state = PermissionState::Installed;
                    p.expires = Some(now + PERMISSION_LIFETIME);
                    p.refresh_at = Some(now + PERMISSION_LIFETIME - REFRESH_MARGIN);
                }
                if first {
                    self.events.push_back(Event::ChannelBound {
                        peer: *peer,
                        channel: *channel,
                    });
                }
            }
            Request::Connect { peer } => {
                let id = msg
                    .attribute::<ConnectionId>()?
                    .ok_or(Error::MissingAttribute(CONNECTION_ID))?;
                self.events.push_back(Event::Connected {
                    peer: *peer,
                    connection_id: id,
                });
            }
        }
        Ok(())
    }

    fn on_error(&mut self, mut context: Context, msg: &Message<&[u8]>) {
        let error = ResponseError::from_message(msg);
        match error {
            ResponseError::Unauthorized if !context.signed || self.nonce_changed(msg) => {
                // First challenge (or a new realm/nonce after a restart of the server).
                match Auth::from_challenge(
                    msg,
                    &self.config.username,
                    &self.config.password,
                    self.auth.as_ref(),
                ) {
                    Ok(auth) if !context.signed || context.stale_retries < MAX_STALE_RETRIES => {
                        self.auth = Some(auth);
                        self.stats.auth_retries += 1;
                        context.stale_retries += u8::from(context.signed);
                        self.start_with(context);
                    }
                    Ok(_) => self.fail(&context, ResponseError::Unauthorized.into()),
                    Err(e) => self.fail(&context, e),
                }
            }
            ResponseError::StaleNonce if context.stale_retries < MAX_STALE_RETRIES => {
                match Auth::from_challenge(
                    msg,
                    &self.config.username,
                    &self.config.password,
                    self.auth.as_ref(),
                ) {
                    Ok(auth) => {
                        self.auth = Some(auth);
                        self.stats.auth_retries += 1;
                        context.stale_retries += 1;
                        self.start_with(context);
                    }
                    Err(e) => self.fail(&context, e),
                }
            }
            ResponseError::TryAlternate {
                alternate: Some(alternate),
            } if matches!(context.request, Request::Allocate(_)) => {
                if self.tried.contains(&alternate) || self.tried.len() > MAX_REDIRECTS {
                    self.fail(&context, Error::RedirectLoop(alternate));
                    return;
                }
                self.tried.push(alternate);
                self.server = alternate;
                self.auth = None;
                self.framer = StreamFramer::new();
                self.events
                    .push_back(Event::Redirected { server: alternate });
                self.start_request(context.request);
            }
            error => self.fail(&context, error.into()),
        }
    }

    /// Whether a 401 to a signed request brings a nonce other than the one used: the server
    /// restarted or rotated its secret, so one fresh attempt is worth it.
    fn nonce_changed(&self, msg: &Message<&[u8]>) -> bool {
        let nonce = msg.attribute::<oxrtc_stun::Nonce<'_>>().ok().flatten();
        match (&self.auth, nonce) {
            (Some(a), Some(n)) => a.nonce != n.0,
            _ => false,
        }
    }

    fn fail(&mut self, context: &Context, error: Error) {
        tracing::debug!(request = ?context.request, %error, "turn request failed");
        match &context.request {
            Request::Allocate(_) => {
                if matches!(self.state, State::Allocating) {
                    self.close();
                    self.events.push_back(Event::AllocationFailed(error));
                }
            }
            Request::Refresh { lifetime: Some(0) } => self.finish_deallocation(),
            Request::Refresh { .. } => {
                let now = self.now;
                if matches!(error, Error::Response(ResponseError::AllocationMismatch)) {
                    if matches!(self.state, State::Allocated(_)) {
                        self.close();
                        self.events.push_back(Event::Expired);
                    }
                    return;
                }
                if let State::Allocated(a) = &mut self.state {
                    a.refreshing = false;
                    // Try again halfway to expiry (the timer fires at expiry otherwise).
                    let left = a.expires.saturating_duration_since(now);
                    a.refresh_at = now + (left / 2).max(Duration::from_secs(1));
                    self.events.push_back(Event::RefreshFailed(error));
                }
            }
            Request::CreatePermission { peer } => {
                if let Some(p) = self.permissions.get_mut(peer) {
                    p.in_flight = false;
                    p.state = PermissionState::Refused;
                    p.refresh_at = None;
                    p.expires = None;
                    self.stats.queue_dropped += p.queue.len() as u64;
                    p.queue.clear();
                    self.events
                        .push_back(Event::PermissionFailed { peer: *peer, error });
                }
            }
            Request::ChannelBind { peer, .. } => {
                if self.channels.remove(peer).is_some() {
                    self.events
                        .push_back(Event::ChannelBindFailed { peer: *peer, error });
                }
            }
            Request::Connect { peer } => {
                self.events
                    .push_back(Event::ConnectFailed { peer: *peer, error });
            }
        }
    }

    fn finish_deallocation(&mut self) {
        if matches!(self.state, State::Deallocating) {
            self.close();
            self.events.push_back(Event::Deallocated);
        }
    }

    /// Abandons every running transaction, without events.
    fn cancel_all(&mut self) {
        let config = self.transactions.config().clone();
        self.transactions = Transactions::new(config);
    }

    fn close(&mut self) {
        self.state = State::Closed;
        self.cancel_all();
        self.permissions.clear();
        self.channels.clear();
    }

    fn handle_frame(&mut self, data: &[u8]) -> Result<(), Error> {
        if is_channel_data(data) {
            let c = ChannelData::new_checked(data)?;
            let Some(peer) = self.channel_peers.get(&c.channel_number().0).copied() else {
                return Err(Error::InvalidChannelNumber(c.channel_number().0));
            };
            self.stats.data_received += 1;
            self.events.push_back(Event::Data {
                peer,
                data: c.data().to_vec(),
            });
            return Ok(());
        }
        let msg = Message::new_checked(data)?;
        match msg.class() {
            Class::SuccessResponse | Class::ErrorResponse => {
                let now = self.now;
                // A response matching no transaction is a late duplicate: ignored.
                self.transactions.handle_response(now, &msg)?;
                Ok(())
            }
            Class::Indication => match msg.method() {
                Method::Data => {
                    let peer = msg
                        .attribute::<XorPeerAddress>()?
                        .ok_or(Error::MissingAttribute(XOR_PEER))?
                        .0;
                    let data = msg
                        .attribute::<Data<'_>>()?
                        .ok_or(Error::MissingAttribute(DATA))?
                        .0;
                    self.stats.data_received += 1;
                    self.events.push_back(Event::Data {
                        peer,
                        data: data.to_vec(),
                    });
                    Ok(())
                }
                Method::ConnectionAttempt => {
                    let peer = msg
                        .attribute::<XorPeerAddress>()?
                        .ok_or(Error::MissingAttribute(XOR_PEER))?
                        .0;
                    let connection_id = msg
                        .attribute::<ConnectionId>()?
                        .ok_or(Error::MissingAttribute(CONNECTION_ID))?;
                    self.events.push_back(Event::ConnectionAttempt {
                        peer,
                        connection_id,
                    });
                    Ok(())
                }
                _ => Ok(()),
            },
            Class::Request => Ok(()),
        }
    }
}

use oxrtc_stun::AttributeType;
const XOR_RELAYED: AttributeType = AttributeType::XOR_RELAYED_ADDRESS;
const XOR_PEER: AttributeType = AttributeType::XOR_PEER_ADDRESS;
const LIFETIME: AttributeType = AttributeType::LIFETIME;
const DATA: AttributeType = AttributeType::DATA;
const CONNECTION_ID: AttributeType = AttributeType::CONNECTION_ID;

/// When to refresh something that lives `lifetime`: a minute early, or at three quarters
/// for lifetimes under four minutes.
fn refresh_delay(lifetime: Duration) -> Duration {
    let margin = REFRESH_MARGIN.min(lifetime / 4);
    lifetime - margin
}

#[cfg(test)]
mod tests;
