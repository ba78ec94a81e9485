//! The sans-IO TURN server core (RFC 8656 §5-§12, RFC 6062 §5).

mod auth;
mod config;
mod filter;
mod ledger;
#[cfg(feature = "tokio")]
pub mod runtime;

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use oxrtc_stun::{
    AddressFamily, AlgorithmId, AttributeType, ChannelNumber, Class, ConnectionId, Data, ErrorCode,
    EvenPort, IntegrityAlgorithm, IntegrityKey, Lifetime, Message, MessageBuilder, Method, Nonce,
    PasswordAlgorithm, PasswordAlgorithms, Realm, RequestedAddressFamily, RequestedTransport,
    ReservationToken, Software, TransactionId, UnknownAttributes, Username, XorMappedAddress,
    XorPeerAddress, XorRelayedAddress,
};
use rand_chacha::rand_core::{CryptoRng, RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

use crate::wire::{is_rfc5766_channel_number, write_channel_data, ChannelData};
use crate::{ResponseError, TurnTransport, CHANNEL_LIFETIME, PERMISSION_LIFETIME};

pub use auth::rest_password;
use auth::{Credentials, Nonces};
pub use config::ServerConfig;
pub use filter::{IpNet, IpNetParseError, PeerFilter};
pub(crate) use ledger::SharedLedger;
use ledger::{Ledger, LedgerState, Reservation};

/// How long a channel number stays reserved to its peer after the binding expired
/// (RFC 8656 §12).
const CHANNEL_RESERVATION: Duration = Duration::from_secs(300);
/// How long an RFC 6062 peer connection waits for its ConnectionBind (RFC 6062 §5.3).
const CONNECTION_BIND_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a port reserved by EVEN-PORT stays reserved (RFC 8656 §7.2: about 30 s).
const RESERVATION_LIFETIME: Duration = Duration::from_secs(30);
/// How often expiry is swept.
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// A client's 5-tuple as the server sees it: transport, the client's address and the
/// server's listening address (RFC 8656 §2). Each TCP connection is its own 5-tuple.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FiveTuple {
    /// UDP, TCP or TLS.
    pub transport: TurnTransport,
    /// The client's address (its server-reflexive address).
    pub client: SocketAddr,
    /// The server address it reached.
    pub server: SocketAddr,
}

/// Identifies an allocation inside one [`Server`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AllocationId(pub u64);

/// What a relayed transport address carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RelayProtocol {
    /// UDP (RFC 8656).
    Udp,
    /// TCP (RFC 6062): a listening socket; peers connect or are connected to.
    Tcp,
}

/// A message for a client, from [`Server::poll_transmit`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct ServerTransmit {
    /// The client's 5-tuple: send from `tuple.server` to `tuple.client` over
    /// `tuple.transport`.
    pub tuple: FiveTuple,
    /// A STUN message (responses, ConnectionAttempt indications).
    pub contents: Vec<u8>,
}

/// What the runtime must do, from [`Server::poll_event`]. Drain
/// [`poll_transmit`](Server::poll_transmit) first: a response may have to leave before an
/// event changes the connection it travels on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerEvent {
    /// Bind a relayed socket for an allocation and report it with
    /// [`Server::relay_bound`]: UDP, or a TCP listener for RFC 6062.
    BindRelay {
        /// The allocation.
        allocation: AllocationId,
        /// The address family asked for.
        family: AddressFamily,
        /// UDP or TCP.
        protocol: RelayProtocol,
        /// EVEN-PORT: the port must be even (RFC 8656 §7.2).
        even_port: bool,
        /// EVEN-PORT with the R bit: also bind the next port (odd) and keep it for a later
        /// Allocate with a RESERVATION-TOKEN; pass it to `relay_bound` as `reserved`.
        reserve_next: bool,
        /// Use the socket kept for this reserved address instead of binding a new one.
        reserved: Option<SocketAddr>,
    },
    /// A reservation (EVEN-PORT with R bit) expired unused after 30 s: close the socket
    /// kept for it.
    ReleaseReservation {
        /// The reserved address.
        relay: SocketAddr,
    },
    /// An allocation ended (expired, deleted, or its TCP connection closed): close its
    /// relayed socket.
    ReleaseRelay {
        /// The allocation.
        allocation: AllocationId,
        /// Its relayed address, if one was bound.
        relay: Option<SocketAddr>,
    },
    /// RFC 6062: open a TCP connection from `relay` to `peer`, report with
    /// [`Server::peer_connected`].
    ConnectPeer {
        /// The connection.
        connection_id: ConnectionId,
        /// The relayed address to connect from.
        relay: SocketAddr,
        /// The peer.
        peer: SocketAddr,
    },
    /// RFC 6062: the client connection `tuple` is bound to peer connection
    /// `connection_id`; from now on copy bytes both ways between them, unframed.
    Splice {
        /// The peer connection.
        connection_id: ConnectionId,
        /// The client's data connection.
        tuple: FiveTuple,
    },
    /// RFC 6062: close this peer connection (never bound, or its allocation ended).
    ClosePeerConnection {
        /// The connection.
        connection_id: ConnectionId,
    },
    /// Close this client connection (TCP): its allocation ended.
    CloseClientConnection {
        /// The connection.
        tuple: FiveTuple,
    },
}

/// What [`Server::handle_client`] did with a message from a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum ClientOutcome<'a> {
    /// Relay `data` from the relayed address `relay` to `peer` (a Send indication or
    /// ChannelData, permission and quota checked).
    Relay {
        /// The relayed address to send from.
        relay: SocketAddr,
        /// The peer to send to.
        peer: SocketAddr,
        /// The application data (borrowed from the input).
        data: &'a [u8],
    },
    /// A request or indication was processed; answers wait in
    /// [`poll_transmit`](Server::poll_transmit).
    Handled,
    /// Dropped (malformed, no allocation, no permission, over quota...), counted.
    Dropped,
}

/// Counters of a [`Server`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ServerStats {
    /// Allocations alive now.
    pub allocations: u64,
    /// Allocations made since start.
    pub allocations_total: u64,
    /// Packets relayed from clients to peers.
    pub packets_to_peers: u64,
    /// Bytes of application data relayed from clients to peers.
    pub bytes_to_peers: u64,
    /// Packets relayed from peers to clients.
    pub packets_to_clients: u64,
    /// Bytes of application data relayed from peers to clients.
    pub bytes_to_clients: u64,
    /// Requests that failed authentication (401 after credentials, 438 not counted).
    pub auth_failures: u64,
    /// Requests refused for a quota (486) or capacity (508).
    pub quota_rejections: u64,
    /// Peers refused by the peer filter (403).
    pub denied_peers: u64,
    /// Error responses sent, 401 challenges included.
    pub error_responses: u64,
    /// Packets dropped over the bandwidth quota.
    pub bandwidth_drops: u64,
    /// Input dropped: malformed, unknown allocation or channel, no permission.
    pub dropped: u64,
}

impl ServerStats {
    /// Adds the counters of another shard of the same server.
    #[cfg(feature = "tokio")]
    pub(crate) fn merge(&mut self, o: &ServerStats) {
        self.allocations += o.allocations;
        self.allocations_total += o.allocations_total;
        self.packets_to_peers += o.packets_to_peers;
        self.bytes_to_peers += o.bytes_to_peers;
        self.packets_to_clients += o.packets_to_clients;
        self.bytes_to_clients += o.bytes_to_clients;
        self.auth_failures += o.auth_failures;
        self.quota_rejections += o.quota_rejections;
        self.denied_peers += o.denied_peers;
        self.error_responses += o.error_responses;
        self.bandwidth_drops += o.bandwidth_drops;
        self.dropped += o.dropped;
    }
}

/// A long-term credential check that passed.
#[derive(Debug, Clone)]
struct Authed {
    username: String,
    key: IntegrityKey,
    algorithm: IntegrityAlgorithm,
}

#[derive(Debug)]
struct Binding {
    peer: SocketAddr,
    expires: Instant,
}

#[derive(Debug)]
struct TokenBucket {
    rate: u64,
    burst: u64,
    tokens: u64,
    last: Instant,
}

impl TokenBucket {
    fn new(rate: u64, now: Instant) -> Self {
        let burst = rate.max(64 * 1024);
        TokenBucket {
            rate,
            burst,
            tokens: burst,
            last: now,
        }
    }

    fn take(&mut self, now: Instant, bytes: usize) -> bool {
        let elapsed = now.saturating_duration_since(self.last);
        if !elapsed.is_zero() {
            let add = (u128::from(self.rate) * elapsed.as_nanos() / 1_000_000_000) as u64;
            if add > 0 {
                self.tokens = self.tokens.saturating_add(add).min(self.burst);
                self.last = now;
            }
        }
        let bytes = bytes as u64;
        if self.tokens >= bytes {
            self.tokens -= bytes;
            true
        } else {
            false
        }
    }
}

#[derive(Debug)]
struct Allocation {
    tuple: FiveTuple,
    username: String,
    protocol: RelayProtocol,
    family: AddressFamily,
    relay: Option<SocketAddr>,
    expires: Instant,
    lifetime: Duration,
    /// The Allocate request that made it, to answer its retransmissions identically.
    allocate_id: TransactionId,
    allocate_fingerprint: bool,
    allocate_auth: Authed,
    allocate_response: Option<Vec<u8>>,
    permissions: HashMap<IpAddr, Instant>,
    channels: HashMap<u16, Binding>,
    channel_of: HashMap<SocketAddr, u16>,
    bucket: Option<TokenBucket>,
    connections: Vec<u32>,
}

impl Allocation {
    fn permitted(&self, now: Instant, ip: IpAddr) -> bool {
        self.permissions.get(&ip).is_some_and(|e| *e > now)
    }

    fn within_quota(&mut self, now: Instant, bytes: usize) -> bool {
        match &mut self.bucket {
            Some(b) => b.take(now, bytes),
            None => true,
        }
    }
}

/// What an Allocate request asks for, once checked.
#[derive(Debug)]
struct AllocateRequest {
    protocol: RelayProtocol,
    family: AddressFamily,
    even_port: bool,
    reserve_next: bool,
    reserved: Option<SocketAddr>,
    lifetime: Duration,
}

#[derive(Debug)]
enum ConnectionState {
    /// The server is connecting to the peer for this Connect request.
    Connecting {
        request: TransactionId,
        fingerprint: bool,
        auth: Box<Authed>,
    },
    /// Connected; waiting for the client's ConnectionBind.
    Pending { since: Instant },
    /// Spliced to a client data connection.
    Bound { tuple: FiveTuple },
}

#[derive(Debug)]
struct TcpConnection {
    allocation: AllocationId,
    peer: SocketAddr,
    state: ConnectionState,
}

/// The sans-IO core of a TURN server (RFC 8656, RFC 6062): authentication, allocations,
/// permissions, channels, relaying decisions, quotas, expiry.
///
/// It owns no socket, no task and no clock. The runtime (see the `tokio` feature's
/// `runtime` module, or a test harness) does the I/O:
///
/// - inputs: [`handle_client`](Self::handle_client) for every datagram or framed message
///   from a client (TCP streams framed with [`StreamFramer`](crate::StreamFramer)),
///   [`handle_peer`](Self::handle_peer) for every datagram arriving on a relayed address,
///   [`relay_bound`](Self::relay_bound) to answer [`ServerEvent::BindRelay`],
///   [`client_disconnected`](Self::client_disconnected) when a TCP client goes away,
///   [`handle_timeout`](Self::handle_timeout) at [`poll_timeout`](Self::poll_timeout); for
///   RFC 6062 also [`peer_connected`](Self::peer_connected),
///   [`peer_connection_accepted`](Self::peer_connection_accepted) and
///   [`peer_connection_closed`](Self::peer_connection_closed);
/// - outputs: the data path returns what to send directly ([`ClientOutcome::Relay`], and
///   `handle_peer` writes into the caller's buffer), allocation free; control messages wait
///   in [`poll_transmit`](Self::poll_transmit), runtime commands in
///   [`poll_event`](Self::poll_event). After every input drain `poll_transmit`, then
///   `poll_event`.
///
/// Security: every request but Binding needs long-term credentials (static users or TURN
/// REST); nonces are stateless (an HMAC of the issue time and the client's IP under a
/// random secret) and expire; nothing is stored for a client before it authenticates, so
/// unauthenticated traffic cannot grow the server's memory.
#[derive(Debug)]
pub struct Server {
    config: ServerConfig,
    credentials: Credentials,
    nonces: Nonces,
    rng: ChaCha20Rng,
    allocations: HashMap<AllocationId, Allocation>,
    by_tuple: HashMap<FiveTuple, AllocationId>,
    by_relay: HashMap<SocketAddr, AllocationId>,
    /// Allocation counts for the quotas, and reservations.
    ledger: Ledger,
    connections: HashMap<u32, TcpConnection>,
    data_connections: HashMap<FiveTuple, u32>,
    next_id: u64,
    transmits: VecDeque<ServerTransmit>,
    events: VecDeque<ServerEvent>,
    stats: ServerStats,
    now: Instant,
    next_sweep: Instant,
    shutting_down: bool,
}

/// A snapshot of one allocation, for tests and monitoring.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AllocationInfo {
    /// The allocation.
    pub id: AllocationId,
    /// The client's 5-tuple.
    pub tuple: FiveTuple,
    /// The username that made it.
    pub username: String,
    /// The relayed address, once bound.
    pub relay: Option<SocketAddr>,
    /// UDP or TCP.
    pub protocol: RelayProtocol,
    /// When it expires unless refreshed.
    pub expires: Instant,
    /// Peer IPs with an unexpired permission.
    pub permissions: Vec<IpAddr>,
    /// Unexpired channels: number and peer.
    pub channels: Vec<(ChannelNumber, SocketAddr)>,
}

impl Server {
    /// A server with `config`. `rng` seeds the nonce secret and connection ids: pass the
    /// system's CSPRNG (a seeded one in tests).
    pub fn new<R: RngCore + CryptoRng>(config: ServerConfig, now: Instant, mut rng: R) -> Self {
        let mut rng = ChaCha20Rng::from_rng(&mut rng);
        let mut secret = [0u8; 32];
        rng.fill_bytes(&mut secret);
        Self::with_ledger(
            config,
            now,
            rng,
            secret,
            now,
            Ledger::Own(LedgerState::default()),
        )
    }

    /// A shard of a server that runs a core per thread: its allocations are its own, but
    /// quotas, reservation tokens and nonces are the server's (`shared`).
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn shard<R: RngCore + CryptoRng>(
        config: ServerConfig,
        now: Instant,
        mut rng: R,
        shared: std::sync::Arc<SharedLedger>,
    ) -> Self {
        let rng = ChaCha20Rng::from_rng(&mut rng);
        let (secret, epoch) = (shared.nonce_secret, shared.epoch);
        Self::with_ledger(config, now, rng, secret, epoch, Ledger::Shared(shared))
    }

    fn with_ledger(
        config: ServerConfig,
        now: Instant,
        rng: ChaCha20Rng,
        secret: [u8; 32],
        epoch: Instant,
        ledger: Ledger,
    ) -> Self {
        let credentials =
            Credentials::new(&config.realm, &config.users, config.auth_secret.clone());
        let nonces = Nonces::new(
            secret,
            epoch,
            config.nonce_lifetime,
            config.password_algorithms,
        );
        Server {
            config,
            credentials,
            nonces,
            rng,
            allocations: HashMap::new(),
            by_tuple: HashMap::new(),
            by_relay: HashMap::new(),
            ledger,
            connections: HashMap::new(),
            data_connections: HashMap::new(),
            next_id: 1,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            stats: ServerStats::default(),
            now,
            next_sweep: now + SWEEP_INTERVAL,
            shutting_down: false,
        }
    }

    // ---- getters -----------------------------------------------------------------------

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// Counters.
    pub fn stats(&self) -> ServerStats {
        self.stats
    }

    /// The allocation of a client 5-tuple.
    pub fn allocation(&self, tuple: &FiveTuple) -> Option<AllocationInfo> {
        let id = *self.by_tuple.get(tuple)?;
        self.info(id)
    }

    /// Every allocation, in no particular order.
    pub fn allocations(&self) -> Vec<AllocationInfo> {
        self.allocations
            .keys()
            .filter_map(|id| self.info(*id))
            .collect()
    }

    /// Sizes of every table, for the fuzzing harness's memory bounds: allocations,
    /// the largest permission, channel and connection counts of one allocation, connections,
    /// data connections, reservations, queued transmits and events.
    #[cfg(feature = "fuzzing")]
    pub(crate) fn table_sizes(&self) -> [usize; 11] {
        let max = |f: fn(&Allocation) -> usize| self.allocations.values().map(f).max().unwrap_or(0);
        [
            self.allocations.len(),
            max(|a| a.permissions.len()),
            max(|a| a.channels.len().max(a.channel_of.len())),
            max(|a| a.connections.len()),
            self.connections.len(),
            self.data_connections.len(),
            self.ledger.reservations(),
            self.transmits.len(),
            self.events.len(),
            self.by_tuple.len(),
            self.by_relay.len(),
        ]
    }

    fn info(&self, id: AllocationId) -> Option<AllocationInfo> {
        let a = self.allocations.get(&id)?;
        let now = self.now;
        let mut permissions: Vec<_> = a
            .permissions
            .iter()
            .filter(|(_, e)| **e > now)
            .map(|(ip, _)| *ip)
            .collect();
        permissions.sort();
        let mut channels: Vec<_> = a
            .channels
            .iter()
            .filter(|(_, b)| b.expires > now)
            .map(|(n, b)| (ChannelNumber(*n), b.peer))
            .collect();
        channels.sort_by_key(|c| c.0 .0);
        Some(AllocationInfo {
            id,
            tuple: a.tuple,
            username: a.username.clone(),
            relay: a.relay,
            protocol: a.protocol,
            expires: a.expires,
            permissions,
            channels,
        })
    }

    /// Whether [`shutdown`](Self::shutdown) was called.
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down
    }

    // ---- configuration commands ----------------------------------------------------------

    /// Adds (or replaces) a static user.
    pub fn add_user(&mut self, username: &str, password: &str) {
        self.credentials.add_user(username, password);
    }

    /// Tells the server the wall-clock time: `unix_secs` Unix seconds at `now`. TURN REST
    /// usernames (`expiry:user`) are checked against it; without it they are refused.
    /// Call it at start and now and then (the core extrapolates with `now`).
    pub fn set_unix_time(&mut self, now: Instant, unix_secs: u64) {
        self.credentials.set_unix_time(now, unix_secs);
    }

    // ---- inputs ------------------------------------------------------------------------

    /// Handles one message from a client: a UDP datagram, or one frame cut from a TCP/TLS
    /// stream by [`StreamFramer`](crate::StreamFramer).
    ///
    /// Requests are answered through [`poll_transmit`](Self::poll_transmit); Send
    /// indications and ChannelData with a permission come back as
    /// [`ClientOutcome::Relay`] for the runtime to send from the relayed socket.
    pub fn handle_client<'a>(
        &mut self,
        now: Instant,
        tuple: FiveTuple,
        data: &'a [u8],
    ) -> ClientOutcome<'a> {
        self.advance(now);
        let now = self.now;
        if matches!(data.first(), Some(0x40..=0x7F)) {
            return self.client_channel_data(now, tuple, data);
        }
        let Ok(msg) = Message::new_checked(data) else {
            self.stats.dropped += 1;
            return ClientOutcome::Dropped;
        };
        if msg.has_attribute(AttributeType::FINGERPRINT) && msg.verify_fingerprint().is_err() {
            self.stats.dropped += 1;
            return ClientOutcome::Dropped;
        }
        match msg.class() {
            Class::Request => {
                self.request(now, tuple, &msg);
                ClientOutcome::Handled
            }
            Class::Indication if msg.method() == Method::Send => {
                self.send_indication(now, tuple, &msg)
            }
            _ => {
                self.stats.dropped += 1;
                ClientOutcome::Dropped
            }
        }
    }

    /// Handles a datagram that arrived from `peer` on the relayed address `relay`
    /// (RFC 8656 §11.3, §12.6): with a permission for the peer's IP it is written into
    /// `out` (cleared first) as ChannelData when a channel is bound, else as a Data
    /// indication, and the client's 5-tuple is returned: send `out` there. `None`: dropped
    /// (no allocation, no permission, over quota), counted.
    pub fn handle_peer(
        &mut self,
        now: Instant,
        relay: SocketAddr,
        peer: SocketAddr,
        data: &[u8],
        out: &mut Vec<u8>,
    ) -> Option<FiveTuple> {
        self.advance(now);
        let now = self.now;
        out.clear();
        let Some(a) = self
            .by_relay
            .get(&relay)
            .and_then(|id| self.allocations.get_mut(id))
        else {
            self.stats.dropped += 1;
            return None;
        };
        if a.expires <= now || !a.permitted(now, peer.ip()) {
            self.stats.dropped += 1;
            return None;
        }
        if !a.within_quota(now, data.len()) {
            self.stats.bandwidth_drops += 1;
            return None;
        }
        let channel = a
            .channel_of
            .get(&peer)
            .filter(|n| a.channels.get(n).is_some_and(|b| b.expires > now))
            .copied();
        let written = match channel {
            Some(n) => {
                write_channel_data(out, ChannelNumber(n), data, a.tuple.transport.is_stream())
                    .is_ok()
            }
            None => {
                let mut id = [0u8; 12];
                self.rng.fill_bytes(&mut id);
                let mut b =
                    MessageBuilder::new(out, Class::Indication, Method::Data, TransactionId(id));
                b.add(&XorPeerAddress(peer)).is_ok() && b.add(&Data(data)).is_ok()
            }
        };
        if !written {
            out.clear();
            self.stats.dropped += 1;
            return None;
        }
        self.stats.packets_to_clients += 1;
        self.stats.bytes_to_clients += data.len() as u64;
        Some(a.tuple)
    }

    /// The runtime's answer to [`ServerEvent::BindRelay`]: the bound relayed address, or
    /// `None` when no socket could be bound (the client gets 508 Insufficient Capacity);
    /// with `reserve_next`, the next port kept for a reservation (`None` if it could not be
    /// had: the allocation then goes without RESERVATION-TOKEN).
    pub fn relay_bound(
        &mut self,
        now: Instant,
        allocation: AllocationId,
        relay: Option<SocketAddr>,
        reserved: Option<SocketAddr>,
    ) {
        self.advance(now);
        let now = self.now;
        let Some(a) = self.allocations.get_mut(&allocation) else {
            // Deleted meanwhile: let the runtime close the sockets it made.
            if relay.is_some() {
                self.events
                    .push_back(ServerEvent::ReleaseRelay { allocation, relay });
            }
            if let Some(r) = reserved {
                self.events
                    .push_back(ServerEvent::ReleaseReservation { relay: r });
            }
            return;
        };
        if a.relay.is_some() {
            return;
        }
        let Some(relay) = relay else {
            let tuple = a.tuple;
            let auth = a.allocate_auth.clone();
            let (id, fingerprint) = (a.allocate_id, a.allocate_fingerprint);
            self.delete(allocation, false);
            self.stats.quota_rejections += 1;
            self.error_reply(
                tuple,
                Method::Allocate,
                id,
                fingerprint,
                Some(&auth),
                &ResponseError::InsufficientCapacity,
            );
            return;
        };
        a.relay = Some(relay);
        a.expires = now + a.lifetime;
        self.by_relay.insert(relay, allocation);
        let token = reserved.map(|r| {
            let mut token = [0u8; 8];
            self.rng.fill_bytes(&mut token);
            self.ledger.with(|l| {
                l.reservations.insert(
                    token,
                    Reservation {
                        relay: r,
                        expires: now + RESERVATION_LIFETIME,
                    },
                )
            });
            token
        });
        let mut out = Vec::with_capacity(128);
        let mut b = MessageBuilder::new(
            &mut out,
            Class::SuccessResponse,
            Method::Allocate,
            a.allocate_id,
        );
        let lifetime = a.lifetime.as_secs() as u32;
        let built = (|| -> Result<(), oxrtc_stun::Error> {
            b.add(&XorRelayedAddress(relay))?
                .add(&Lifetime(lifetime))?
                .add(&XorMappedAddress(a.tuple.client))?;
            if let Some(t) = token {
                b.add(&ReservationToken(t))?;
            }
            if let Some(s) = &self.config.software {
                b.add(&Software(s))?;
            }
            sign(&mut b, &a.allocate_auth)?;
            if a.allocate_fingerprint {
                b.add_fingerprint()?;
            }
            Ok(())
        })();
        if built.is_err() {
            return;
        }
        a.allocate_response = Some(out.clone());
        self.transmits.push_back(ServerTransmit {
            tuple: a.tuple,
            contents: out,
        });
    }

    /// A TCP (or TLS) client connection closed: its allocation is deleted (RFC 8656 §5), or
    /// the RFC 6062 peer connection spliced to it is closed.
    pub fn client_disconnected(&mut self, now: Instant, tuple: FiveTuple) {
        self.advance(now);
        if let Some(id) = self.by_tuple.get(&tuple).copied() {
            self.delete(id, false);
        }
        if let Some(cid) = self.data_connections.remove(&tuple) {
            self.close_connection(cid, true);
        }
    }

    /// RFC 6062: the outcome of [`ServerEvent::ConnectPeer`]. On success the client gets the
    /// CONNECTION-ID and has 30 s to bind it; on failure 447.
    pub fn peer_connected(&mut self, now: Instant, connection_id: ConnectionId, connected: bool) {
        self.advance(now);
        let now = self.now;
        let Some(c) = self.connections.get_mut(&connection_id.0) else {
            if connected {
                self.events
                    .push_back(ServerEvent::ClosePeerConnection { connection_id });
            }
            return;
        };
        let ConnectionState::Connecting {
            request,
            fingerprint,
            auth,
        } = &c.state
        else {
            return;
        };
        let (request, fingerprint, auth) = (*request, *fingerprint, (**auth).clone());
        let Some(tuple) = self.allocations.get(&c.allocation).map(|a| a.tuple) else {
            return;
        };
        if connected {
            c.state = ConnectionState::Pending { since: now };
            self.reply(
                tuple,
                Method::Connect,
                request,
                fingerprint,
                Some(&auth),
                |b| {
                    b.add(&connection_id)?;
                    Ok(())
                },
            );
        } else {
            self.remove_connection(connection_id.0);
            self.error_reply(
                tuple,
                Method::Connect,
                request,
                fingerprint,
                Some(&auth),
                &ResponseError::ConnectionTimeoutOrFailure,
            );
        }
    }

    /// RFC 6062 §5.3: a peer connected to the TCP relayed address `relay`. With a
    /// permission for its IP the client is sent a ConnectionAttempt and the returned
    /// connection id names the connection (keep it open, unread, until
    /// [`ServerEvent::Splice`] or [`ServerEvent::ClosePeerConnection`]); `None`: close it.
    pub fn peer_connection_accepted(
        &mut self,
        now: Instant,
        relay: SocketAddr,
        peer: SocketAddr,
    ) -> Option<ConnectionId> {
        self.advance(now);
        let now = self.now;
        let id = *self.by_relay.get(&relay)?;
        let a = self.allocations.get(&id)?;
        if a.protocol != RelayProtocol::Tcp
            || !a.permitted(now, peer.ip())
            || a.connections.len() >= self.config.max_tcp_connections
        {
            self.stats.dropped += 1;
            return None;
        }
        let tuple = a.tuple;
        let cid = self.new_connection(id, peer, ConnectionState::Pending { since: now })?;
        let mut out = Vec::with_capacity(64);
        let mut tid = [0u8; 12];
        self.rng.fill_bytes(&mut tid);
        let mut b = MessageBuilder::new(
            &mut out,
            Class::Indication,
            Method::ConnectionAttempt,
            TransactionId(tid),
        );
        if b.add(&XorPeerAddress(peer)).is_err() || b.add(&cid).is_err() {
            return None;
        }
        self.transmits.push_back(ServerTransmit {
            tuple,
            contents: out,
        });
        Some(cid)
    }

    /// RFC 6062: a peer connection closed (the runtime closes its client side, if spliced).
    pub fn peer_connection_closed(&mut self, now: Instant, connection_id: ConnectionId) {
        self.advance(now);
        self.close_connection(connection_id.0, false);
    }

    /// Advances time: expires allocations, permissions, channels and unbound RFC 6062
    /// connections.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.advance(now);
        let now = self.now;
        if now < self.next_sweep {
            return;
        }
        self.next_sweep = now + SWEEP_INTERVAL;
        let expired: Vec<AllocationId> = self
            .allocations
            .iter()
            .filter(|(_, a)| a.expires <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            tracing::debug!(allocation = id.0, "allocation expired");
            self.delete(id, true);
        }
        for a in self.allocations.values_mut() {
            a.permissions.retain(|_, e| *e > now);
            let channel_of = &mut a.channel_of;
            a.channels.retain(|n, b| {
                if b.expires + CHANNEL_RESERVATION <= now {
                    channel_of.remove(&b.peer);
                    return false;
                }
                if b.expires <= now && channel_of.get(&b.peer) == Some(n) {
                    // Expired: the peer may bind another number; the number stays reserved.
                    channel_of.remove(&b.peer);
                }
                true
            });
        }
        let stale: Vec<u32> = self
            .connections
            .iter()
            .filter(|(_, c)| {
                matches!(c.state, ConnectionState::Pending { since } if since + CONNECTION_BIND_TIMEOUT <= now)
            })
            .map(|(id, _)| *id)
            .collect();
        for id in stale {
            self.close_connection(id, true);
        }
        let events = &mut self.events;
        self.ledger.with(|l| {
            l.reservations.retain(|_, r| {
                if r.expires <= now {
                    events.push_back(ServerEvent::ReleaseReservation { relay: r.relay });
                    return false;
                }
                true
            })
        });
    }

    /// Stops the server gracefully: deletes every allocation (their
    /// [`ServerEvent::ReleaseRelay`] and connection events follow) and answers new Allocate
    /// requests with 508 from now on.
    pub fn shutdown(&mut self, now: Instant) {
        self.advance(now);
        self.shutting_down = true;
        let ids: Vec<_> = self.allocations.keys().copied().collect();
        for id in ids {
            self.delete(id, true);
        }
    }

    // ---- outputs -----------------------------------------------------------------------

    /// The next control message for a client.
    pub fn poll_transmit(&mut self) -> Option<ServerTransmit> {
        self.transmits.pop_front()
    }

    /// The next command for the runtime.
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due: a sweep every second
    /// while anything can expire.
    pub fn poll_timeout(&self) -> Option<Instant> {
        (!self.allocations.is_empty() || !self.connections.is_empty()).then_some(self.next_sweep)
    }

    // ---- internals ---------------------------------------------------------------------

    fn advance(&mut self, now: Instant) {
        if now > self.now {
            self.now = now;
        }
    }

    fn client_channel_data<'a>(
        &mut self,
        now: Instant,
        tuple: FiveTuple,
        data: &'a [u8],
    ) -> ClientOutcome<'a> {
        let Ok(cd) = ChannelData::new_checked(data) else {
            self.stats.dropped += 1;
            return ClientOutcome::Dropped;
        };
        let Some(a) = self
            .by_tuple
            .get(&tuple)
            .and_then(|id| self.allocations.get_mut(id))
        else {
            self.stats.dropped += 1;
            return ClientOutcome::Dropped;
        };
        let Some(peer) = a
            .channels
            .get(&cd.channel_number().0)
            .filter(|b| b.expires > now)
            .map(|b| b.peer)
        else {
            self.stats.dropped += 1;
            return ClientOutcome::Dropped;
        };
        relay_from(a, &mut self.stats, now, peer, cd_data(data))
    }

    fn send_indication<'a>(
        &mut self,
        now: Instant,
        tuple: FiveTuple,
        msg: &Message<&'a [u8]>,
    ) -> ClientOutcome<'a> {
        let peer = msg.attribute::<XorPeerAddress>().ok().flatten();
        let bytes: &'a [u8] = msg.into_inner();
        let data = msg
            .processed_attributes()
            .find(|a| a.typ == AttributeType::DATA)
            .and_then(|a| bytes.get(a.offset + 4..a.offset + 4 + a.value.len()));
        let a = self
            .by_tuple
            .get(&tuple)
            .and_then(|id| self.allocations.get_mut(id));
        match (a, peer, data) {
            (Some(a), Some(peer), Some(data)) => relay_from(a, &mut self.stats, now, peer.0, data),
            _ => {
                self.stats.dropped += 1;
                ClientOutcome::Dropped
            }
        }
    }

    fn request(&mut self, now: Instant, tuple: FiveTuple, msg: &Message<&[u8]>) {
        let method = msg.method();
        let fingerprint = msg.has_attribute(AttributeType::FINGERPRINT);
        let id = msg.transaction_id();
        // DONT-FRAGMENT is not supported: treated as unknown (RFC 8656 §7.2 step 5).
        let unknown = msg.unknown_comprehension_required_by(|t| {
            t.is_known() && t != AttributeType::DONT_FRAGMENT
        });
        if !unknown.is_empty() {
            self.error_with(tuple, msg, None, &ResponseError::UnknownAttribute(unknown));
            return;
        }
        if method == Method::Binding {
            self.reply(tuple, method, id, fingerprint, None, |b| {
                b.add(&XorMappedAddress(tuple.client))?;
                Ok(())
            });
            return;
        }
        if !matches!(
            method,
            Method::Allocate
                | Method::Refresh
                | Method::CreatePermission
                | Method::ChannelBind
                | Method::Connect
                | Method::ConnectionBind
        ) {
            self.error_with(tuple, msg, None, &ResponseError::BadRequest);
            return;
        }
        if self.data_connections.contains_key(&tuple) {
            // A spliced data connection carries no more STUN.
            self.stats.dropped += 1;
            return;
        }
        let Some(auth) = self.authenticate(now, tuple, msg) else {
            return;
        };
        if method == Method::Allocate {
            self.allocate(now, tuple, msg, auth);
            return;
        }
        if method == Method::ConnectionBind {
            self.connection_bind(now, tuple, msg, auth);
            return;
        }
        let Some(aid) = self.by_tuple.get(&tuple).copied() else {
            self.error_with(tuple, msg, Some(&auth), &ResponseError::AllocationMismatch);
            return;
        };
        let (username_ok, relay_known) = match self.allocations.get(&aid) {
            Some(a) => (a.username == auth.username, a.relay.is_some()),
            None => (false, false),
        };
        if !username_ok {
            self.error_with(tuple, msg, Some(&auth), &ResponseError::WrongCredentials);
            return;
        }
        if !relay_known {
            // Still binding its relayed socket: as if it did not exist yet.
            self.error_with(tuple, msg, Some(&auth), &ResponseError::AllocationMismatch);
            return;
        }
        let result = match method {
            Method::Refresh => self.refresh(now, aid, tuple, msg, &auth),
            Method::CreatePermission => self.create_permission(now, aid, tuple, msg, &auth),
            Method::ChannelBind => self.channel_bind(now, aid, tuple, msg, &auth),
            Method::Connect => self.connect(now, aid, msg, &auth),
            _ => Err(ResponseError::BadRequest),
        };
        if let Err(e) = result {
            self.error_with(tuple, msg, Some(&auth), &e);
        }
    }

    /// RFC 8489 §9.2.4; sends the challenge or error itself and returns `None` on failure.
    fn authenticate(
        &mut self,
        now: Instant,
        tuple: FiveTuple,
        msg: &Message<&[u8]>,
    ) -> Option<Authed> {
        let has_integrity = msg.has_attribute(AttributeType::MESSAGE_INTEGRITY)
            || msg.has_attribute(AttributeType::MESSAGE_INTEGRITY_SHA256);
        if !has_integrity {
            self.challenge(now, tuple, msg, &ResponseError::Unauthorized);
            return None;
        }
        let username = msg.attribute::<Username<'_>>().ok().flatten();
        let realm = msg.attribute::<Realm<'_>>().ok().flatten();
        let nonce = msg.attribute::<Nonce<'_>>().ok().flatten();
        let (Some(username), Some(realm), Some(nonce)) = (username, realm, nonce) else {
            self.error_with(tuple, msg, None, &ResponseError::BadRequest);
            return None;
        };
        if !self.nonces.check(now, tuple.client.ip(), nonce.0) {
            self.challenge(now, tuple, msg, &ResponseError::StaleNonce);
            return None;
        }
        // PASSWORD-ALGORITHMS must echo the server's list, PASSWORD-ALGORITHM pick from it
        // (RFC 8489 §9.2.4); neither means MD5.
        let chosen = msg.attribute::<PasswordAlgorithm<'_>>().ok().flatten();
        let echoed = msg.attribute::<PasswordAlgorithms<'_>>().ok().flatten();
        let algorithm = match (chosen, echoed) {
            (None, None) => AlgorithmId::MD5,
            (Some(c), Some(list))
                if self.nonces.announces_algorithms()
                    && list.0 == server_algorithms()
                    && list.0.iter().any(|a| a.algorithm == c.algorithm) =>
            {
                c.algorithm
            }
            _ => {
                self.error_with(tuple, msg, None, &ResponseError::BadRequest);
                return None;
            }
        };
        if realm.0 != self.config.realm {
            self.stats.auth_failures += 1;
            self.challenge(now, tuple, msg, &ResponseError::Unauthorized);
            return None;
        }
        let keys = match self.credentials.lookup(now, username.0) {
            Ok(k) => k,
            Err(why) => {
                tracing::debug!(user = username.0, ?why, "unknown or expired user");
                self.stats.auth_failures += 1;
                self.challenge(now, tuple, msg, &ResponseError::Unauthorized);
                return None;
            }
        };
        let key = keys.for_algorithm(algorithm).clone();
        match msg.verify_integrity(&key) {
            Ok(algorithm) => Some(Authed {
                username: username.0.to_owned(),
                key,
                algorithm,
            }),
            Err(_) => {
                self.stats.auth_failures += 1;
                self.challenge(now, tuple, msg, &ResponseError::Unauthorized);
                None
            }
        }
    }

    fn allocate(&mut self, now: Instant, tuple: FiveTuple, msg: &Message<&[u8]>, auth: Authed) {
        let id = msg.transaction_id();
        if let Some(existing) = self
            .by_tuple
            .get(&tuple)
            .and_then(|a| self.allocations.get(a))
        {
            if existing.allocate_id == id {
                // A retransmission: the same answer, or none yet while the relay binds.
                if let Some(r) = existing.allocate_response.clone() {
                    self.transmits
                        .push_back(ServerTransmit { tuple, contents: r });
                }
            } else {
                self.error_with(tuple, msg, Some(&auth), &ResponseError::AllocationMismatch);
            }
            return;
        }
        match self.check_allocate(tuple, msg, &auth) {
            Ok(AllocateRequest {
                protocol,
                family,
                even_port,
                reserve_next,
                reserved,
                lifetime,
            }) => {
                let aid = AllocationId(self.next_id);
                self.next_id += 1;
                // Counted in the ledger by check_allocate.
                let bucket = self.config.max_bandwidth.map(|r| TokenBucket::new(r, now));
                self.allocations.insert(
                    aid,
                    Allocation {
                        tuple,
                        username: auth.username.clone(),
                        protocol,
                        family,
                        relay: None,
                        expires: now + lifetime,
                        lifetime,
                        allocate_id: id,
                        allocate_fingerprint: msg.has_attribute(AttributeType::FINGERPRINT),
                        allocate_auth: auth,
                        allocate_response: None,
                        permissions: HashMap::new(),
                        channels: HashMap::new(),
                        channel_of: HashMap::new(),
                        bucket,
                        connections: Vec::new(),
                    },
                );
                self.by_tuple.insert(tuple, aid);
                self.stats.allocations += 1;
                self.stats.allocations_total += 1;
                self.events.push_back(ServerEvent::BindRelay {
                    allocation: aid,
                    family,
                    protocol,
                    even_port,
                    reserve_next,
                    reserved,
                });
            }
            Err(e) => {
                if matches!(
                    e,
                    ResponseError::AllocationQuotaReached | ResponseError::InsufficientCapacity
                ) {
                    self.stats.quota_rejections += 1;
                }
                self.error_with(tuple, msg, Some(&auth), &e);
            }
        }
    }

    /// RFC 8656 §7.2 steps 2-10 (RFC 6062 §5.1 for TCP).
    fn check_allocate(
        &mut self,
        tuple: FiveTuple,
        msg: &Message<&[u8]>,
        auth: &Authed,
    ) -> Result<AllocateRequest, ResponseError> {
        if self.shutting_down {
            return Err(ResponseError::InsufficientCapacity);
        }
        let bad = |_| ResponseError::BadRequest;
        let transport = msg
            .attribute::<RequestedTransport>()
            .map_err(bad)?
            .ok_or(ResponseError::BadRequest)?;
        let protocol = match transport {
            RequestedTransport::UDP => RelayProtocol::Udp,
            RequestedTransport::TCP if !tuple.transport.is_stream() => {
                return Err(ResponseError::BadRequest)
            }
            RequestedTransport::TCP if self.config.tcp_allocations => RelayProtocol::Tcp,
            _ => return Err(ResponseError::UnsupportedTransportProtocol),
        };
        let even_port = msg.attribute::<EvenPort>().map_err(bad)?;
        let token = msg.attribute::<ReservationToken>().map_err(bad)?;
        let family = msg.attribute::<RequestedAddressFamily>().map_err(bad)?;
        if token.is_some() && (even_port.is_some() || family.is_some()) {
            return Err(ResponseError::BadRequest);
        }
        if protocol == RelayProtocol::Tcp && (even_port.is_some() || token.is_some()) {
            return Err(ResponseError::BadRequest);
        }
        let family = family.map_or(AddressFamily::IPv4, |f| f.0);
        let supported = match family {
            AddressFamily::IPv4 => self.config.ipv4_relay,
            AddressFamily::IPv6 => self.config.ipv6_relay,
        };
        if !supported {
            return Err(ResponseError::AddressFamilyNotSupported);
        }
        // Counted from here on (checked and counted at once: shards share the ledger);
        // released again if the request fails after all.
        if !self.ledger.admit(
            &auth.username,
            self.config.max_allocations,
            self.config.max_allocations_per_user,
        ) {
            return Err(ResponseError::AllocationQuotaReached);
        }
        let Ok(requested) = msg.attribute::<Lifetime>() else {
            self.ledger.release(&auth.username);
            return Err(ResponseError::BadRequest);
        };
        // A reservation is used up by the first Allocate that names it (RFC 8656 §7.2).
        let reserved = match token {
            Some(t) => match self.ledger.with(|l| l.reservations.remove(&t.0)) {
                Some(r) => Some(r.relay),
                None => {
                    self.ledger.release(&auth.username);
                    return Err(ResponseError::InsufficientCapacity);
                }
            },
            None => None,
        };
        let family = match reserved {
            Some(r) => AddressFamily::of(&r),
            None => family,
        };
        Ok(AllocateRequest {
            protocol,
            family,
            even_port: even_port.is_some(),
            // Reservations are capped like allocations, so repeated Allocate/delete cycles
            // cannot pile them up; beyond the cap the R bit is ignored (no token).
            reserve_next: even_port.is_some_and(|e| e.reserve)
                && self.ledger.with(|l| l.reservations.len()) < self.config.max_allocations,
            reserved,
            lifetime: self.lifetime(requested),
        })
    }

    /// RFC 8656 §7.2 step 7, §7.3: `max(default, min(requested, max))`.
    fn lifetime(&self, requested: Option<Lifetime>) -> Duration {
        match requested {
            Some(l) => Duration::from_secs(u64::from(l.0))
                .min(self.config.max_lifetime)
                .max(self.config.default_lifetime),
            None => self.config.default_lifetime,
        }
    }

    fn refresh(
        &mut self,
        now: Instant,
        aid: AllocationId,
        tuple: FiveTuple,
        msg: &Message<&[u8]>,
        auth: &Authed,
    ) -> Result<(), ResponseError> {
        let requested = msg
            .attribute::<Lifetime>()
            .map_err(|_| ResponseError::BadRequest)?;
        if let Ok(Some(f)) = msg.attribute::<RequestedAddressFamily>() {
            if self.allocations.get(&aid).is_some_and(|a| a.family != f.0) {
                return Err(ResponseError::PeerAddressFamilyMismatch);
            }
        }
        let granted = if requested == Some(Lifetime(0)) {
            self.delete(aid, true);
            0
        } else {
            let lifetime = self.lifetime(requested);
            if let Some(a) = self.allocations.get_mut(&aid) {
                a.expires = now + lifetime;
            }
            lifetime.as_secs() as u32
        };
        let (id, fingerprint) = (
            msg.transaction_id(),
            msg.has_attribute(AttributeType::FINGERPRINT),
        );
        self.reply(tuple, Method::Refresh, id, fingerprint, Some(auth), |b| {
            b.add(&Lifetime(granted))?;
            Ok(())
        });
        Ok(())
    }

    /// Checks a peer address against the allocation's family and the filter.
    fn check_peer(&mut self, aid: AllocationId, peer: IpAddr) -> Result<(), ResponseError> {
        let family = self
            .allocations
            .get(&aid)
            .map_or(AddressFamily::IPv4, |a| a.family);
        let peer_family = if peer.is_ipv4() {
            AddressFamily::IPv4
        } else {
            AddressFamily::IPv6
        };
        if family != peer_family {
            return Err(ResponseError::PeerAddressFamilyMismatch);
        }
        if !self.config.peer_filter.permits(peer) {
            self.stats.denied_peers += 1;
            return Err(ResponseError::Forbidden);
        }
        Ok(())
    }

    fn create_permission(
        &mut self,
        now: Instant,
        aid: AllocationId,
        tuple: FiveTuple,
        msg: &Message<&[u8]>,
        auth: &Authed,
    ) -> Result<(), ResponseError> {
        let id = msg.transaction_id();
        let mut peers = Vec::new();
        for a in msg.processed_attributes() {
            if a.typ == AttributeType::XOR_PEER_ADDRESS {
                let peer = <XorPeerAddress as oxrtc_stun::AttributeValue<'_>>::decode(a.value, &id)
                    .map_err(|_| ResponseError::BadRequest)?;
                if peers.len() >= self.config.max_permissions {
                    return Err(ResponseError::InsufficientCapacity);
                }
                peers.push(peer.0.ip());
            }
        }
        if peers.is_empty() {
            return Err(ResponseError::BadRequest);
        }
        for p in &peers {
            self.check_peer(aid, *p)?;
        }
        let max = self.config.max_permissions;
        let Some(a) = self.allocations.get_mut(&aid) else {
            return Err(ResponseError::AllocationMismatch);
        };
        let new = peers
            .iter()
            .filter(|p| !a.permissions.contains_key(p))
            .count();
        if a.permissions.len() + new > max {
            self.stats.quota_rejections += 1;
            return Err(ResponseError::InsufficientCapacity);
        }
        for p in peers {
            a.permissions.insert(p, now + PERMISSION_LIFETIME);
        }
        let fingerprint = msg.has_attribute(AttributeType::FINGERPRINT);
        self.reply(
            tuple,
            Method::CreatePermission,
            id,
            fingerprint,
            Some(auth),
            |_| Ok(()),
        );
        Ok(())
    }

    fn channel_bind(
        &mut self,
        now: Instant,
        aid: AllocationId,
        tuple: FiveTuple,
        msg: &Message<&[u8]>,
        auth: &Authed,
    ) -> Result<(), ResponseError> {
        let bad = |_| ResponseError::BadRequest;
        let number = msg
            .attribute::<ChannelNumber>()
            .map_err(bad)?
            .ok_or(ResponseError::BadRequest)?;
        let peer = msg
            .attribute::<XorPeerAddress>()
            .map_err(bad)?
            .ok_or(ResponseError::BadRequest)?
            .0;
        // RFC 5766 clients (coturn's among them) still use 0x5000..=0x7FFF.
        if !is_rfc5766_channel_number(number.0) {
            return Err(ResponseError::BadRequest);
        }
        self.check_peer(aid, peer.ip())?;
        let max = self.config.max_channels;
        let max_permissions = self.config.max_permissions;
        let Some(a) = self.allocations.get_mut(&aid) else {
            return Err(ResponseError::AllocationMismatch);
        };
        // The number is bound (or reserved) to another peer, or the peer to another number.
        if a.channels.get(&number.0).is_some_and(|b| b.peer != peer) {
            return Err(ResponseError::BadRequest);
        }
        if a.channel_of.get(&peer).is_some_and(|n| *n != number.0) {
            return Err(ResponseError::BadRequest);
        }
        if !a.channels.contains_key(&number.0) && a.channels.len() >= max {
            self.stats.quota_rejections += 1;
            return Err(ResponseError::InsufficientCapacity);
        }
        if !a.permissions.contains_key(&peer.ip()) && a.permissions.len() >= max_permissions {
            self.stats.quota_rejections += 1;
            return Err(ResponseError::InsufficientCapacity);
        }
        a.channels.insert(
            number.0,
            Binding {
                peer,
                expires: now + CHANNEL_LIFETIME,
            },
        );
        a.channel_of.insert(peer, number.0);
        // A binding installs or refreshes the peer's permission (RFC 8656 §11.2).
        a.permissions.insert(peer.ip(), now + PERMISSION_LIFETIME);
        let (id, fingerprint) = (
            msg.transaction_id(),
            msg.has_attribute(AttributeType::FINGERPRINT),
        );
        self.reply(
            tuple,
            Method::ChannelBind,
            id,
            fingerprint,
            Some(auth),
            |_| Ok(()),
        );
        Ok(())
    }

    /// RFC 6062 §5.2.
    fn connect(
        &mut self,
        _now: Instant,
        aid: AllocationId,
        msg: &Message<&[u8]>,
        auth: &Authed,
    ) -> Result<(), ResponseError> {
        let peer = msg
            .attribute::<XorPeerAddress>()
            .map_err(|_| ResponseError::BadRequest)?
            .ok_or(ResponseError::BadRequest)?
            .0;
        let (relay, protocol, count) = match self.allocations.get(&aid) {
            Some(a) => (a.relay, a.protocol, a.connections.len()),
            None => return Err(ResponseError::AllocationMismatch),
        };
        let Some(relay) = relay.filter(|_| protocol == RelayProtocol::Tcp) else {
            return Err(ResponseError::BadRequest);
        };
        self.check_peer(aid, peer.ip())?;
        if self
            .connections
            .values()
            .any(|c| c.allocation == aid && c.peer == peer)
        {
            return Err(ResponseError::ConnectionAlreadyExists);
        }
        if count >= self.config.max_tcp_connections {
            self.stats.quota_rejections += 1;
            return Err(ResponseError::InsufficientCapacity);
        }
        let state = ConnectionState::Connecting {
            request: msg.transaction_id(),
            fingerprint: msg.has_attribute(AttributeType::FINGERPRINT),
            auth: Box::new(auth.clone()),
        };
        let connection_id = self
            .new_connection(aid, peer, state)
            .ok_or(ResponseError::ServerError)?;
        self.events.push_back(ServerEvent::ConnectPeer {
            connection_id,
            relay,
            peer,
        });
        Ok(())
    }

    /// RFC 6062 §5.4.
    fn connection_bind(
        &mut self,
        _now: Instant,
        tuple: FiveTuple,
        msg: &Message<&[u8]>,
        auth: Authed,
    ) {
        let result = (|| {
            if !tuple.transport.is_stream() || self.by_tuple.contains_key(&tuple) {
                return Err(ResponseError::BadRequest);
            }
            let cid = msg
                .attribute::<ConnectionId>()
                .map_err(|_| ResponseError::BadRequest)?
                .ok_or(ResponseError::BadRequest)?;
            let c = self
                .connections
                .get(&cid.0)
                .filter(|c| matches!(c.state, ConnectionState::Pending { .. }))
                .ok_or(ResponseError::BadRequest)?;
            let owner = self
                .allocations
                .get(&c.allocation)
                .map(|a| a.username.as_str());
            if owner != Some(auth.username.as_str()) {
                return Err(ResponseError::WrongCredentials);
            }
            Ok(cid)
        })();
        match result {
            Ok(cid) => {
                if let Some(c) = self.connections.get_mut(&cid.0) {
                    c.state = ConnectionState::Bound { tuple };
                }
                self.data_connections.insert(tuple, cid.0);
                let (id, fingerprint) = (
                    msg.transaction_id(),
                    msg.has_attribute(AttributeType::FINGERPRINT),
                );
                self.reply(
                    tuple,
                    Method::ConnectionBind,
                    id,
                    fingerprint,
                    Some(&auth),
                    |_| Ok(()),
                );
                self.events.push_back(ServerEvent::Splice {
                    connection_id: cid,
                    tuple,
                });
            }
            Err(e) => self.error_with(tuple, msg, Some(&auth), &e),
        }
    }

    fn new_connection(
        &mut self,
        allocation: AllocationId,
        peer: SocketAddr,
        state: ConnectionState,
    ) -> Option<ConnectionId> {
        // Random ids; a few tries against collisions, in a space of 2^32.
        for _ in 0..8 {
            let id = self.rng.next_u32();
            if id == 0 || self.connections.contains_key(&id) {
                continue;
            }
            self.connections.insert(
                id,
                TcpConnection {
                    allocation,
                    peer,
                    state,
                },
            );
            if let Some(a) = self.allocations.get_mut(&allocation) {
                a.connections.push(id);
            }
            return Some(ConnectionId(id));
        }
        None
    }

    fn remove_connection(&mut self, id: u32) -> Option<TcpConnection> {
        let c = self.connections.remove(&id)?;
        if let Some(a) = self.allocations.get_mut(&c.allocation) {
            a.connections.retain(|x| *x != id);
        }
        if let ConnectionState::Bound { tuple } = &c.state {
            self.data_connections.remove(tuple);
        }
        Some(c)
    }

    /// Forgets a peer connection; `notify` asks the runtime to close it.
    fn close_connection(&mut self, id: u32, notify: bool) {
        let Some(c) = self.remove_connection(id) else {
            return;
        };
        if notify {
            self.events.push_back(ServerEvent::ClosePeerConnection {
                connection_id: ConnectionId(id),
            });
        }
        if let ConnectionState::Bound { tuple } = c.state {
            self.events
                .push_back(ServerEvent::CloseClientConnection { tuple });
        }
    }

    /// Deletes an allocation; `close_client` also asks to close a TCP control connection.
    fn delete(&mut self, id: AllocationId, close_client: bool) {
        let Some(a) = self.allocations.remove(&id) else {
            return;
        };
        self.by_tuple.remove(&a.tuple);
        if let Some(r) = a.relay {
            self.by_relay.remove(&r);
        }
        self.ledger.release(&a.username);
        self.stats.allocations = self.stats.allocations.saturating_sub(1);
        for cid in a.connections {
            if let Some(c) = self.connections.remove(&cid) {
                self.events.push_back(ServerEvent::ClosePeerConnection {
                    connection_id: ConnectionId(cid),
                });
                if let ConnectionState::Bound { tuple } = c.state {
                    self.data_connections.remove(&tuple);
                    self.events
                        .push_back(ServerEvent::CloseClientConnection { tuple });
                }
            }
        }
        self.events.push_back(ServerEvent::ReleaseRelay {
            allocation: id,
            relay: a.relay,
        });
        if close_client && a.tuple.transport.is_stream() {
            self.events
                .push_back(ServerEvent::CloseClientConnection { tuple: a.tuple });
        }
    }

    // ---- responses -----------------------------------------------------------------------

    fn reply(
        &mut self,
        tuple: FiveTuple,
        method: Method,
        id: TransactionId,
        fingerprint: bool,
        auth: Option<&Authed>,
        f: impl FnOnce(&mut MessageBuilder<'_>) -> Result<(), oxrtc_stun::Error>,
    ) {
        let mut out = Vec::with_capacity(96);
        let mut b = MessageBuilder::new(&mut out, Class::SuccessResponse, method, id);
        let built = f(&mut b).and_then(|()| {
            if let Some(auth) = auth {
                sign(&mut b, auth)?;
            }
            if fingerprint {
                b.add_fingerprint()?;
            }
            Ok(())
        });
        if built.is_ok() {
            self.transmits.push_back(ServerTransmit {
                tuple,
                contents: out,
            });
        }
    }

    fn error_with(
        &mut self,
        tuple: FiveTuple,
        msg: &Message<&[u8]>,
        auth: Option<&Authed>,
        error: &ResponseError,
    ) {
        let fingerprint = msg.has_attribute(AttributeType::FINGERPRINT);
        self.error_reply(
            tuple,
            msg.method(),
            msg.transaction_id(),
            fingerprint,
            auth,
            error,
        );
    }

    fn error_reply(
        &mut self,
        tuple: FiveTuple,
        method: Method,
        id: TransactionId,
        fingerprint: bool,
        auth: Option<&Authed>,
        error: &ResponseError,
    ) {
        tracing::debug!(client = %tuple.client, ?method, %error, "error response");
        self.stats.error_responses += 1;
        let mut out = Vec::with_capacity(96);
        let mut b = MessageBuilder::new(&mut out, Class::ErrorResponse, method, id);
        let built = (|| -> Result<(), oxrtc_stun::Error> {
            b.add(&error.error_code())?;
            if let ResponseError::UnknownAttribute(types) = error {
                b.add(&UnknownAttributes(types.clone()))?;
            }
            if let Some(auth) = auth {
                sign(&mut b, auth)?;
            }
            if fingerprint {
                b.add_fingerprint()?;
            }
            Ok(())
        })();
        if built.is_ok() {
            self.transmits.push_back(ServerTransmit {
                tuple,
                contents: out,
            });
        }
    }

    /// A 401 or 438 with REALM, a fresh NONCE and, with the nonce cookie,
    /// PASSWORD-ALGORITHMS (RFC 8489 §9.2.4); never signed.
    fn challenge(
        &mut self,
        now: Instant,
        tuple: FiveTuple,
        msg: &Message<&[u8]>,
        error: &ResponseError,
    ) {
        self.stats.error_responses += 1;
        let nonce = self.nonces.issue(now, tuple.client.ip());
        let mut out = Vec::with_capacity(128);
        let mut b = MessageBuilder::response_to(&mut out, msg, Class::ErrorResponse);
        let built = (|| -> Result<(), oxrtc_stun::Error> {
            b.add(&ErrorCode::from_code(error.code()))?
                .add(&Realm(&self.config.realm))?
                .add(&Nonce(&nonce))?;
            if self.nonces.announces_algorithms() {
                b.add(&PasswordAlgorithms(server_algorithms()))?;
            }
            if let Some(s) = &self.config.software {
                b.add(&Software(s))?;
            }
            if msg.has_attribute(AttributeType::FINGERPRINT) {
                b.add_fingerprint()?;
            }
            Ok(())
        })();
        if built.is_ok() {
            self.transmits.push_back(ServerTransmit {
                tuple,
                contents: out,
            });
        }
    }
}

/// The password algorithms a server offers, in order of preference.
fn server_algorithms() -> Vec<PasswordAlgorithm<'static>> {
    vec![PasswordAlgorithm::SHA256, PasswordAlgorithm::MD5]
}

/// Signs a response with the key and algorithm of the request (RFC 8489 §9.2.4).
fn sign(b: &mut MessageBuilder<'_>, auth: &Authed) -> Result<(), oxrtc_stun::Error> {
    match auth.algorithm {
        IntegrityAlgorithm::HmacSha256(len) => {
            b.add_message_integrity_sha256_truncated(&auth.key, usize::from(len))?;
        }
        IntegrityAlgorithm::HmacSha1 => {
            b.add_message_integrity(&auth.key)?;
        }
    }
    Ok(())
}

/// The data path from a client: relays `data` to `peer` if the allocation is a live UDP
/// one with a permission for the peer and quota left.
fn relay_from<'a>(
    a: &mut Allocation,
    stats: &mut ServerStats,
    now: Instant,
    peer: SocketAddr,
    data: &'a [u8],
) -> ClientOutcome<'a> {
    let Some(relay) = a.relay.filter(|_| a.protocol == RelayProtocol::Udp) else {
        stats.dropped += 1;
        return ClientOutcome::Dropped;
    };
    if a.expires <= now || !a.permitted(now, peer.ip()) {
        stats.dropped += 1;
        return ClientOutcome::Dropped;
    }
    if !a.within_quota(now, data.len()) {
        stats.bandwidth_drops += 1;
        return ClientOutcome::Dropped;
    }
    stats.packets_to_peers += 1;
    stats.bytes_to_peers += data.len() as u64;
    ClientOutcome::Relay { relay, peer, data }
}

/// The application data of a checked ChannelData message, borrowed from the input.
fn cd_data(data: &[u8]) -> &[u8] {
    let len = match data.get(2..4) {
        Some(&[a, b]) => usize::from(u16::from_be_bytes([a, b])),
        _ => 0,
    };
    data.get(4..4 + len).unwrap_or(&[])
}

#[cfg(test)]
mod tests;
