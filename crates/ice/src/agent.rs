//! The ICE agent (RFC 8445), sans-IO.

use std::collections::{BTreeMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use oxrtc_stun::{
    is_stun, Class, ClientTransaction, ErrorCode, IceControlled, IceControlling, IntegrityKey,
    MappedAddress, Message, MessageBuilder, Method, Nomination, Priority, TransactionConfig,
    TransactionEvent, TransactionId, Transport, UnknownAttributes, UseCandidate, Username,
    XorMappedAddress,
};
use rand_chacha::rand_core::{CryptoRng, RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

use crate::candidate::{pair_priority, Address, Candidate, CandidateType, Protocol, TcpType};
use crate::config::{AgentConfig, Credentials, Host, IceServerUrl, Scheme, TransportPolicy};
use crate::error::Error;
use crate::io::{
    AgentStats, ConnectionState, Datagram, GatheringState, IceEvent, LocalSocket, PairStats,
    RelayPath, RelayedData, SelectedPair, Transmit,
};
use crate::relay::{Relay, RelayOutput};

/// Most transmits or events queued before the oldest are dropped (the caller is not
/// draining). Bounds memory under a flood of checks.
const MAX_QUEUE: usize = 1024;
/// Most remote candidates waiting for a name lookup.
const MAX_PENDING_LOOKUPS: usize = 32;
/// Most local sockets.
const MAX_SOCKETS: usize = 32;
/// Consent checks per interval go out this often once the pair is disconnected.
const DISCONNECTED_CHECK_FACTOR: u32 = 20;
/// A consent check unanswered this long (after the disconnected timeout) makes the pair
/// disconnected.
const UNANSWERED_MIN: Duration = Duration::from_secs(1);
/// Tr: a Binding indication goes out on a quiet selected pair after this long
/// (RFC 8445 §11; only lite agents need it, the others send consent checks).
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(15);
/// How long the controlling agent waits for an answer to a probe of the selected pair
/// before it nominates another pair the peer is using.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct LocalId(u32);
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct RemoteId(u32);
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct PairId(u32);

/// Candidate pair states (RFC 8445 §6.1.2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PairState {
    Frozen,
    Waiting,
    InProgress,
    Succeeded,
    Failed,
}

#[derive(Debug, Clone)]
struct Socket {
    info: LocalSocket,
    preference: u16,
}

#[derive(Debug, Clone)]
struct LocalCand {
    id: LocalId,
    cand: Candidate,
    /// Where checks from this candidate leave from: the socket for host, server-reflexive
    /// and peer-reflexive candidates, the relayed address for relayed ones.
    base: SocketAddr,
    /// The local socket datagrams actually leave from.
    socket: SocketAddr,
    /// The TURN allocation behind a relayed candidate.
    relay: Option<u32>,
    local_preference: u16,
}

#[derive(Debug, Clone)]
struct RemoteCand {
    id: RemoteId,
    cand: Candidate,
    addr: SocketAddr,
}

#[derive(Debug, Clone)]
struct Pair {
    id: PairId,
    local: LocalId,
    remote: RemoteId,
    priority: u64,
    state: PairState,
    foundation: (String, String),
    valid: bool,
    nominated: bool,
    nominate_on_success: bool,
    tx: Option<TransactionId>,
    consent_tx: Option<TransactionId>,
    last_success: Option<Instant>,
    consent_next: Option<Instant>,
    /// When the controlling agent probed this (selected) pair because the peer checked
    /// another one; cleared by a success.
    probe_sent: Option<Instant>,
    /// The peer sent a check without USE-CANDIDATE on this pair.
    peer_checked: bool,
    /// When the first consent check still unanswered went out.
    consent_pending: Option<Instant>,
    /// Round trips measured on it (checks and consent checks), for stats.
    rtt: RttStats,
}

/// Round trips of one pair (see [`PairStats`]).
#[derive(Debug, Clone, Copy, Default)]
struct RttStats {
    responses_received: u64,
    current: Option<Duration>,
    total: Duration,
}

#[derive(Debug, Clone, Copy)]
enum Purpose {
    Check {
        pair: PairId,
        controlling: bool,
        use_candidate: bool,
        consent: bool,
    },
    PreviousConsent,
    Srflx {
        socket: SocketAddr,
        server: usize,
    },
}

#[derive(Debug)]
struct Tx {
    t: ClientTransaction,
    purpose: Purpose,
    /// A check superseded by a triggered check: no more retransmissions, but a late
    /// response still counts (RFC 8445 §7.3.1.4).
    cancelled: bool,
    /// A triggered check: an incoming check does not supersede it again (two agents whose
    /// checks cross would otherwise re-trigger each other forever).
    triggered: bool,
}

#[derive(Debug, Clone)]
struct Server {
    url: IceServerUrl,
    text: String,
    username: Option<String>,
    credential: Option<String>,
    addr: Option<SocketAddr>,
    lookup_deadline: Option<Instant>,
    failed: bool,
}

#[derive(Debug, Clone)]
struct PendingRemote {
    name: String,
    cand: Candidate,
    deadline: Instant,
}

#[derive(Debug, Clone)]
struct LocalCreds {
    creds: Credentials,
    key: IntegrityKey,
}

/// The pair in use before an ICE restart, kept (with its credentials) until a pair of the
/// new generation is selected (RFC 8445 §9).
#[derive(Debug, Clone)]
struct Previous {
    local_creds: LocalCreds,
    remote_creds: LocalCreds,
    local: LocalCand,
    remote: RemoteCand,
    nominated: bool,
    last_success: Instant,
    consent_next: Instant,
    consent_pending: Option<Instant>,
    tx: Option<TransactionId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PathRef {
    Pair(PairId),
    Previous,
}

/// Where a datagram leaves from.
#[derive(Debug, Clone, Copy)]
enum Via {
    Socket {
        transport: Protocol,
        source: SocketAddr,
    },
    Relay(u32),
}

/// An ICE agent (RFC 8445): gathers candidates, runs connectivity checks, nominates a pair,
/// keeps consent (RFC 7675), and survives restarts and network changes. It owns no socket,
/// no clock and no task.
///
/// # Using it
///
/// - **Getters**: [`connection_state`](Self::connection_state),
///   [`gathering_state`](Self::gathering_state), [`selected_pair`](Self::selected_pair),
///   [`local_credentials`](Self::local_credentials), [`is_controlling`](Self::is_controlling),
///   [`local_candidates`](Self::local_candidates), [`stats`](Self::stats).
/// - **Inputs**: [`handle_receive`](Self::handle_receive) with every STUN datagram (RFC 7983:
///   first byte 0–3) and every datagram from a TURN server; [`handle_timeout`](Self::handle_timeout)
///   when [`poll_timeout`](Self::poll_timeout) is due.
/// - **Commands**: [`add_local_socket`](Self::add_local_socket) /
///   [`remove_local_socket`](Self::remove_local_socket) as interfaces come and go,
///   [`gather`](Self::gather), [`set_remote_credentials`](Self::set_remote_credentials),
///   [`add_remote_candidate`](Self::add_remote_candidate),
///   [`end_of_remote_candidates`](Self::end_of_remote_candidates),
///   [`handle_resolved`](Self::handle_resolved), [`restart`](Self::restart),
///   [`send`](Self::send), [`close`](Self::close).
/// - **Outputs**: after every input or command drain [`poll_transmit`](Self::poll_transmit)
///   until `None`, then [`poll_event`](Self::poll_event) until `None`, then sleep until
///   [`poll_timeout`](Self::poll_timeout).
///
/// `now` must not go backwards (earlier values are treated as the latest seen); an early
/// `handle_timeout` does nothing.
#[derive(Debug)]
pub struct Agent {
    config: AgentConfig,
    rng: ChaCha20Rng,
    now: Instant,
    controlling: bool,
    tie_breaker: u64,
    local: LocalCreds,
    remote: Option<LocalCreds>,
    remote_fresh: bool,
    remote_lite: bool,
    remote_renomination: bool,
    /// The peer nominates aggressively (USE-CANDIDATE in first checks).
    peer_aggressive: bool,
    previous: Option<Previous>,
    generation: u32,
    sockets: Vec<Socket>,
    servers: Vec<Server>,
    relays: Vec<Relay>,
    local_cands: Vec<LocalCand>,
    remote_cands: Vec<RemoteCand>,
    pending_remote: Vec<PendingRemote>,
    pairs: Vec<Pair>,
    triggered: VecDeque<(PairId, bool)>,
    txs: BTreeMap<TransactionId, Tx>,
    next_check: Instant,
    selected: Option<PairId>,
    nomination_value: u32,
    remote_nomination_value: u32,
    first_valid_at: Option<Instant>,
    reported: Option<(PathRef, bool, CandidateType)>,
    ever_connected: bool,
    gather_started: bool,
    gathering: GatheringState,
    state: ConnectionState,
    end_of_remote: bool,
    next_id: u32,
    foundations: Vec<(CandidateType, IpAddr, Option<IpAddr>, Protocol)>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<IceEvent>,
    stats: AgentStats,
    /// When anything last went to the network (keepalives of lite agents).
    last_sent: Instant,
}

impl Agent {
    /// A new agent. Randomness (tie-breaker, credentials, transaction ids, consent jitter)
    /// comes from a ChaCha20 generator seeded once from `rng`: pass an OS-seeded CSPRNG, or
    /// a seeded one in tests for reproducible runs.
    ///
    /// ICE server URLs that do not parse are reported as
    /// [`IceEvent::ServerError`] by [`gather`](Self::gather).
    pub fn new<R: RngCore + CryptoRng + ?Sized>(
        config: AgentConfig,
        now: Instant,
        rng: &mut R,
    ) -> Self {
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        let mut rng = ChaCha20Rng::from_seed(seed);
        let tie_breaker = config.tie_breaker.unwrap_or_else(|| rng.next_u64());
        let creds = match &config.local_credentials {
            Some(c) if c.is_valid() => c.clone(),
            _ => Credentials::random(&mut rng),
        };
        let mut servers = Vec::new();
        let mut events = VecDeque::new();
        for s in &config.ice_servers {
            for text in &s.urls {
                match text.parse::<IceServerUrl>() {
                    Ok(url) => servers.push(Server {
                        addr: url.socket_addr(),
                        url,
                        text: text.clone(),
                        username: s.username.clone(),
                        credential: s.credential.clone(),
                        lookup_deadline: None,
                        failed: false,
                    }),
                    Err(e) => events.push_back(IceEvent::ServerError {
                        url: text.clone(),
                        code: 701,
                        reason: e.to_string(),
                    }),
                }
            }
        }
        let controlling = config.controlling && !config.lite;
        Agent {
            rng,
            now,
            controlling,
            tie_breaker,
            local: LocalCreds {
                key: IntegrityKey::short_term(&creds.pwd),
                creds,
            },
            remote: None,
            remote_fresh: false,
            remote_lite: false,
            remote_renomination: false,
            peer_aggressive: false,
            previous: None,
            generation: 0,
            sockets: Vec::new(),
            servers,
            relays: Vec::new(),
            local_cands: Vec::new(),
            remote_cands: Vec::new(),
            pending_remote: Vec::new(),
            pairs: Vec::new(),
            triggered: VecDeque::new(),
            txs: BTreeMap::new(),
            next_check: now,
            selected: None,
            nomination_value: 0,
            remote_nomination_value: 0,
            first_valid_at: None,
            reported: None,
            ever_connected: false,
            gather_started: false,
            gathering: GatheringState::New,
            state: ConnectionState::New,
            end_of_remote: false,
            next_id: 1,
            foundations: Vec::new(),
            transmits: VecDeque::new(),
            events,
            stats: AgentStats::default(),
            last_sent: now,
            config,
        }
    }

    // ---- getters ------------------------------------------------------------------------

    /// The configuration.
    pub fn config(&self) -> &AgentConfig {
        &self.config
    }

    /// The local ufrag and password of the current generation (for the SDP's
    /// `a=ice-ufrag` / `a=ice-pwd`).
    pub fn local_credentials(&self) -> &Credentials {
        &self.local.creds
    }

    /// The remote ufrag and password, once set.
    pub fn remote_credentials(&self) -> Option<&Credentials> {
        self.remote.as_ref().map(|r| &r.creds)
    }

    /// Whether the agent is in the controlling role.
    pub fn is_controlling(&self) -> bool {
        self.controlling
    }

    /// The role tie-breaker.
    pub fn tie_breaker(&self) -> u64 {
        self.tie_breaker
    }

    /// Whether this is an ICE-lite agent.
    pub fn is_lite(&self) -> bool {
        self.config.lite
    }

    /// The connection state.
    pub fn connection_state(&self) -> ConnectionState {
        self.state
    }

    /// The gathering state.
    pub fn gathering_state(&self) -> GatheringState {
        self.gathering
    }

    /// The pair data flows on now, if any.
    pub fn selected_pair(&self) -> Option<SelectedPair> {
        self.sending_path().and_then(|p| self.path_info(p))
    }

    /// Round-trip figures of the pair data flows on (W3C `RTCIceCandidatePairStats`), from
    /// the responses to its connectivity and consent checks; `None` without a selected
    /// pair of the current generation.
    pub fn selected_pair_stats(&self) -> Option<PairStats> {
        let PathRef::Pair(id) = self.sending_path()? else {
            return None;
        };
        let r = self.pair(id)?.rtt;
        Some(PairStats {
            responses_received: r.responses_received,
            current_round_trip_time: r.current,
            total_round_trip_time: r.total,
        })
    }

    /// The local candidates signalled so far (current generation).
    pub fn local_candidates(&self) -> Vec<Candidate> {
        if !self.gather_started {
            return Vec::new();
        }
        self.local_cands
            .iter()
            .filter(|l| self.signalable(l))
            .map(|l| l.cand.clone())
            .collect()
    }

    /// The remote candidates known, peer-reflexive ones included.
    pub fn remote_candidates(&self) -> Vec<Candidate> {
        self.remote_cands.iter().map(|r| r.cand.clone()).collect()
    }

    /// Counters.
    pub fn stats(&self) -> AgentStats {
        self.stats
    }

    /// Whether datagrams on `local` from `remote` are a TURN server's (an allocation of
    /// this agent): everything from there, not only STUN, goes to
    /// [`handle_receive`](Self::handle_receive).
    pub fn is_turn_server(&self, local: SocketAddr, remote: SocketAddr) -> bool {
        self.relays.iter().any(|r| r.matches(local, remote))
    }

    /// Number of candidate pairs in the check list.
    pub fn pair_count(&self) -> usize {
        self.pairs.len()
    }

    /// Number of running STUN transactions (checks, consent, gathering).
    pub fn transaction_count(&self) -> usize {
        self.txs.len()
    }

    // ---- commands: local side ---------------------------------------------------------

    /// Reports a local socket the runtime owns (an interface came up, or at start). It
    /// becomes a host candidate, is paired with the remote candidates, and, once
    /// [`gather`](Self::gather) was called, its candidates are gathered and signalled at
    /// once (continual gathering, for network changes).
    ///
    /// # Errors
    /// [`Error::UnusableSocket`] for unspecified, multicast, link-local or (unless
    /// [`AgentConfig::include_loopback`]) loopback addresses, and for TCP sockets without a
    /// `tcp_type`; [`Error::LimitReached`] past 32 sockets; [`Error::Closed`].
    pub fn add_local_socket(&mut self, now: Instant, socket: LocalSocket) -> Result<(), Error> {
        let now = self.advance(now);
        if self.state == ConnectionState::Closed {
            return Err(Error::Closed);
        }
        let ip = socket.addr.ip();
        if ip.is_unspecified()
            || ip.is_multicast()
            || is_link_local(ip)
            || (ip.is_loopback() && !self.config.include_loopback)
            || (socket.protocol == Protocol::Tcp && socket.tcp_type.is_none())
            || (socket.protocol == Protocol::Udp && socket.addr.port() == 0)
        {
            return Err(Error::UnusableSocket(socket.addr));
        }
        if self
            .sockets
            .iter()
            .any(|s| s.info.addr == socket.addr && s.info.protocol == socket.protocol)
        {
            return Ok(());
        }
        if self.sockets.len() >= MAX_SOCKETS {
            return Err(Error::LimitReached("local sockets"));
        }
        let preference = socket
            .preference
            .unwrap_or_else(|| self.default_preference(&socket));
        self.sockets.push(Socket {
            info: socket.clone(),
            preference,
        });
        let protocol = socket.protocol;
        let mut cand = Candidate::new(
            self.foundation(CandidateType::Host, ip, None, protocol),
            self.config.component,
            protocol,
            0,
            socket.addr,
            CandidateType::Host,
        );
        let local_preference = match socket.tcp_type {
            Some(t) => ((t.direction_preference() as u16) << 13) | (preference & 0x1fff),
            None => preference,
        };
        cand.priority = Candidate::compute_priority(
            CandidateType::Host.type_preference(protocol),
            local_preference,
            self.config.component,
        );
        cand.tcp_type = socket.tcp_type;
        cand.network_id = socket.network_id;
        cand.network_cost = socket.network_cost;
        self.decorate(&mut cand);
        let id = LocalId(self.next());
        self.local_cands.push(LocalCand {
            id,
            cand,
            base: socket.addr,
            socket: socket.addr,
            relay: None,
            local_preference,
        });
        self.form_pairs_for_local(id);
        if self.gather_started {
            self.signal_local(id);
            self.gather_socket(now, socket.addr);
        }
        self.after_change(now);
        Ok(())
    }

    /// [`add_local_socket`](Self::add_local_socket) for a UDP socket.
    ///
    /// # Errors
    /// As [`add_local_socket`](Self::add_local_socket).
    pub fn add_host_socket(&mut self, now: Instant, addr: SocketAddr) -> Result<(), Error> {
        self.add_local_socket(now, LocalSocket::udp(addr))
    }

    /// Reports that a local socket is gone (its interface went down). Its candidates
    /// (host, server-reflexive, relayed through it) are removed and reported as
    /// [`IceEvent::LocalCandidateRemoved`], their pairs dropped; if the selected pair used
    /// it, the controlling agent nominates the best remaining valid pair. Returns whether
    /// the socket was known.
    pub fn remove_local_socket(&mut self, now: Instant, addr: SocketAddr) -> bool {
        let now = self.advance(now);
        let Some(at) = self.sockets.iter().position(|s| s.info.addr == addr) else {
            return false;
        };
        self.sockets.remove(at);
        let relays: Vec<u32> = self
            .relays
            .iter()
            .filter(|r| r.socket() == addr)
            .map(|r| r.id())
            .collect();
        for id in &relays {
            if let Some(r) = self.relays.iter_mut().find(|r| r.id() == *id) {
                r.close(now);
            }
        }
        self.relays.retain(|r| !relays.contains(&r.id()));
        let gone: Vec<LocalId> = self
            .local_cands
            .iter()
            .filter(|l| l.socket == addr || l.relay.is_some_and(|r| relays.contains(&r)))
            .map(|l| l.id)
            .collect();
        for id in gone {
            self.remove_local(id);
        }
        let srflx: Vec<TransactionId> = self
            .txs
            .iter()
            .filter(|(_, tx)| matches!(tx.purpose, Purpose::Srflx { socket, .. } if socket == addr))
            .map(|(id, _)| *id)
            .collect();
        for id in srflx {
            self.txs.remove(&id);
        }
        if self.previous.as_ref().is_some_and(|p| {
            p.local.socket == addr || p.local.relay.is_some_and(|r| relays.contains(&r))
        }) {
            self.previous = None;
        }
        // Refresh what is left: a controlled agent learns sooner that its pair still works.
        let others: Vec<PairId> = self
            .pairs
            .iter()
            .filter(|p| p.valid && Some(p.id) != self.selected)
            .map(|p| p.id)
            .collect();
        if self.selected.is_none() {
            for id in others {
                self.trigger(id, false);
            }
        }
        self.after_change(now);
        true
    }

    /// Starts gathering (W3C: on `setLocalDescription`): host candidates are signalled,
    /// server-reflexive candidates requested from the STUN servers and relayed ones
    /// allocated on the TURN servers, from every UDP socket (TURN over TCP from the first
    /// socket of each family). Later calls do nothing.
    pub fn gather(&mut self, now: Instant) {
        let now = self.advance(now);
        if self.gather_started || self.state == ConnectionState::Closed {
            return;
        }
        self.gather_started = true;
        self.set_gathering(GatheringState::Gathering);
        let ids: Vec<LocalId> = self.local_cands.iter().map(|l| l.id).collect();
        for id in ids {
            self.signal_local(id);
        }
        if !self.config.lite {
            let mut names = Vec::new();
            for s in &mut self.servers {
                if let Host::Name(name) = &s.url.host {
                    if s.addr.is_none() {
                        s.lookup_deadline = Some(now + self.config.lookup_timeout);
                        if !names.contains(name) {
                            names.push(name.clone());
                        }
                    }
                }
            }
            for name in names {
                self.emit(IceEvent::Resolve { name });
            }
            let sockets: Vec<SocketAddr> = self.sockets.iter().map(|s| s.info.addr).collect();
            for s in sockets {
                self.gather_socket(now, s);
            }
        }
        self.after_change(now);
    }

    // ---- commands: remote side --------------------------------------------------------

    /// Sets the peer's ufrag and password (from its SDP). New values after an ICE restart
    /// (a different ufrag) start a new generation: remote candidates and pairs of the old
    /// one are dropped, while data keeps flowing on the old selected pair until a new pair
    /// is selected.
    ///
    /// # Errors
    /// [`Error::InvalidCredentials`] for strings RFC 8839 §5.4 does not allow.
    pub fn set_remote_credentials(
        &mut self,
        now: Instant,
        ufrag: &str,
        pwd: &str,
    ) -> Result<(), Error> {
        let now = self.advance(now);
        let creds = Credentials::new(ufrag, pwd)?;
        if let Some(r) = &self.remote {
            if r.creds == creds {
                return Ok(());
            }
            // The peer restarted: start a generation (restart() may follow, for our answer).
            self.begin_generation(now, false);
            self.remote_fresh = true;
        }
        self.remote = Some(LocalCreds {
            key: IntegrityKey::short_term(&creds.pwd),
            creds,
        });
        // Candidates that arrived before the credentials and name another ufrag are stale.
        let ufrag = ufrag.to_owned();
        let stale: Vec<RemoteId> = self
            .remote_cands
            .iter()
            .filter(|r| r.cand.ufrag.as_ref().is_some_and(|u| *u != ufrag))
            .map(|r| r.id)
            .collect();
        for id in stale {
            self.remove_remote(id);
        }
        self.next_check = self.next_check.max(now);
        self.after_change(now);
        Ok(())
    }

    /// Whether the peer is an ICE-lite agent (`a=ice-lite`). A full agent facing a lite one
    /// takes the controlling role (RFC 8445 §6.1.1).
    pub fn set_remote_lite(&mut self, now: Instant, lite: bool) {
        let now = self.advance(now);
        self.remote_lite = lite;
        if lite && !self.config.lite && !self.controlling {
            self.set_role(true);
        }
        self.after_change(now);
    }

    /// Whether the peer supports renomination (`a=ice-options:renomination`); when both
    /// sides do, nominations carry a NOMINATION value and the highest one wins.
    pub fn set_remote_renomination(&mut self, renomination: bool) {
        self.remote_renomination = renomination;
    }

    /// Adds a remote candidate (from the SDP or trickled), at any time. Candidates with an
    /// mDNS (`*.local`) or other host name are resolved first: the agent emits
    /// [`IceEvent::Resolve`] and waits for [`handle_resolved`](Self::handle_resolved).
    ///
    /// # Errors
    /// [`Error::UnusableCandidate`] for another component or an unusable address,
    /// [`Error::StaleCandidate`] for a `ufrag` that is not the current remote one,
    /// [`Error::LimitReached`] past [`AgentConfig::max_remote_candidates`], [`Error::Closed`].
    /// The agent is unchanged then.
    pub fn add_remote_candidate(
        &mut self,
        now: Instant,
        candidate: Candidate,
    ) -> Result<(), Error> {
        let now = self.advance(now);
        if self.state == ConnectionState::Closed {
            return Err(Error::Closed);
        }
        if candidate.component != self.config.component {
            return Err(Error::UnusableCandidate("other component"));
        }
        if let (Some(u), Some(r)) = (&candidate.ufrag, &self.remote) {
            if *u != r.creds.ufrag {
                return Err(Error::StaleCandidate);
            }
        }
        match &candidate.address {
            Address::Fqdn(name) => {
                if self.pending_remote.len() >= MAX_PENDING_LOOKUPS {
                    return Err(Error::LimitReached("pending name lookups"));
                }
                let name = name.clone();
                let first = !self.pending_remote.iter().any(|p| p.name == name);
                self.pending_remote.push(PendingRemote {
                    name: name.clone(),
                    cand: candidate,
                    deadline: now + self.config.lookup_timeout,
                });
                if first {
                    self.emit(IceEvent::Resolve { name });
                }
                self.after_change(now);
                Ok(())
            }
            Address::Ip(ip) => {
                let addr = SocketAddr::new(*ip, candidate.port);
                self.insert_remote(now, candidate, addr)?;
                self.after_change(now);
                Ok(())
            }
        }
    }

    /// The peer signalled end-of-candidates (RFC 8838 §13): once every pair has been
    /// checked the agent can reach `completed` or `failed`.
    pub fn end_of_remote_candidates(&mut self, now: Instant) {
        let now = self.advance(now);
        self.end_of_remote = true;
        self.after_change(now);
    }

    /// The answer to an [`IceEvent::Resolve`]: the addresses `name` resolved to, empty if
    /// it did not resolve. Remote candidates with that name are added with the first
    /// address of a family some local socket has; unresolvable ones are dropped with a log
    /// line, not an error (browsers' mDNS names often do not resolve across networks).
    pub fn handle_resolved(&mut self, now: Instant, name: &str, addrs: &[IpAddr]) {
        let now = self.advance(now);
        let (matching, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pending_remote)
            .into_iter()
            .partition(|p| p.name.eq_ignore_ascii_case(name));
        self.pending_remote = rest;
        let pick = |v4: bool| addrs.iter().copied().find(|a| a.is_ipv4() == v4);
        let has_v4 = self.sockets.iter().any(|s| s.info.addr.is_ipv4());
        let chosen = pick(has_v4).or_else(|| pick(!has_v4));
        for p in matching {
            match chosen {
                Some(ip) => {
                    let mut cand = p.cand;
                    cand.address = Address::Ip(ip);
                    let addr = SocketAddr::new(ip, cand.port);
                    if let Err(e) = self.insert_remote(now, cand, addr) {
                        tracing::debug!(%name, error = %e, "resolved candidate not added");
                    }
                }
                None => tracing::debug!(%name, "mdns candidate did not resolve; dropped"),
            }
        }
        let mut started = Vec::new();
        let mut failed = Vec::new();
        for (i, s) in self.servers.iter_mut().enumerate() {
            if matches!(&s.url.host, Host::Name(n) if n.eq_ignore_ascii_case(name))
                && s.addr.is_none()
                && !s.failed
            {
                s.lookup_deadline = None;
                match addrs.first() {
                    Some(ip) => {
                        s.addr = Some(SocketAddr::new(*ip, s.url.port));
                        started.push(i);
                    }
                    None => {
                        s.failed = true;
                        failed.push(i);
                    }
                }
            }
        }
        for i in failed {
            self.server_error(i, 701, "host name did not resolve");
        }
        for i in started {
            let sockets: Vec<SocketAddr> = self.sockets.iter().map(|s| s.info.addr).collect();
            for socket in sockets {
                self.gather_from(now, socket, i);
            }
        }
        self.after_change(now);
    }

    /// ICE restart (RFC 8445 §9): new local credentials, returned for the new offer or
    /// answer. Local candidates are kept and signalled again with the new ufrag; remote
    /// candidates and pairs are dropped when the peer's new credentials arrive. Data keeps
    /// flowing on the current selected pair, whose consent is kept with the old
    /// credentials, until a pair of the new generation is selected.
    pub fn restart(&mut self, now: Instant) -> Credentials {
        let creds = Credentials::random(&mut self.rng);
        self.restart_generation(now, creds.clone());
        creds
    }

    /// ICE restart (RFC 8445 §9) with credentials the caller chose, e.g. those of an offer
    /// that was created earlier and is only now applied (JSEP RFC 8829 §5.2.1: a peer
    /// connection restarts its agent when the restart offer is applied, so a rolled-back
    /// offer never changes the agent). Otherwise as [`restart`](Self::restart).
    ///
    /// # Errors
    /// [`Error::InvalidCredentials`] for strings RFC 8839 §5.4 does not allow; the agent is
    /// then unchanged.
    pub fn restart_with(&mut self, now: Instant, credentials: Credentials) -> Result<(), Error> {
        if !credentials.is_valid() {
            return Err(Error::InvalidCredentials);
        }
        self.restart_generation(now, credentials);
        Ok(())
    }

    /// Sets the role after creation (RFC 8445 §6.1.1: the offerer controls): for a peer
    /// connection whose first offer was rolled back before it answered the peer's, or whose
    /// roles change with an ICE restart (RFC 8839 §4.4.1.1.1). Pair priorities are
    /// recomputed. Unlike a role conflict (§7.3.1.1) this is not counted in the stats, and
    /// an ICE-lite agent stays controlled. Emits [`IceEvent::RoleChange`] when it changes.
    pub fn set_controlling(&mut self, now: Instant, controlling: bool) {
        let now = self.advance(now);
        let controlling = controlling && !self.config.lite;
        if self.controlling == controlling {
            return;
        }
        let conflicts = self.stats.role_conflicts;
        self.set_role(controlling);
        self.stats.role_conflicts = conflicts;
        self.after_change(now);
    }

    fn restart_generation(&mut self, now: Instant, creds: Credentials) {
        let now = self.advance(now);
        if self.remote_fresh {
            // The peer restarted first (its new credentials are set): the new generation
            // has begun already, with the remote candidates that came with them.
            if let Some(p) = &mut self.previous {
                if p.local_creds.creds == self.local.creds {
                    p.local_creds = self.local.clone();
                }
            }
        } else {
            self.begin_generation(now, true);
        }
        self.remote_fresh = false;
        self.local = LocalCreds {
            key: IntegrityKey::short_term(&creds.pwd),
            creds: creds.clone(),
        };
        self.generation = self.generation.wrapping_add(1);
        let ids: Vec<LocalId> = self.local_cands.iter().map(|l| l.id).collect();
        for l in &mut self.local_cands {
            l.cand.ufrag = Some(creds.ufrag.clone());
            l.cand.generation = Some(self.generation);
        }
        if self.gather_started {
            self.set_gathering(GatheringState::Gathering);
            for id in ids {
                self.signal_local(id);
            }
        }
        self.after_change(now);
    }

    /// Wraps application data (DTLS, SRTP) for the pair in use: a datagram to the peer,
    /// or, for a relayed pair, a message for the TURN server (ChannelData once a channel
    /// is bound, a Send indication before).
    ///
    /// Returns the datagram to send now.
    ///
    /// # Errors
    /// [`Error::NoSelectedPair`] when no pair works; [`Error::Closed`];
    /// [`Error::Queued`], not a failure, only on a relayed pair whose TURN permission is
    /// being (re)installed: the data waits in the agent and leaves through
    /// [`poll_transmit`](Self::poll_transmit) once the permission is there.
    pub fn send(&mut self, now: Instant, data: &[u8]) -> Result<Transmit, Error> {
        let now = self.advance(now);
        if self.state == ConnectionState::Closed {
            return Err(Error::Closed);
        }
        let path = self.sending_path().ok_or(Error::NoSelectedPair)?;
        let (via, dest) = match path {
            PathRef::Pair(id) => {
                let p = self.pair(id).ok_or(Error::NoSelectedPair)?;
                let l = self.local_cand(p.local).ok_or(Error::NoSelectedPair)?;
                let r = self.remote_cand(p.remote).ok_or(Error::NoSelectedPair)?;
                (Self::via_of(l), r.addr)
            }
            PathRef::Previous => {
                let p = self.previous.as_ref().ok_or(Error::NoSelectedPair)?;
                (Self::via_of(&p.local), p.remote.addr)
            }
        };
        self.last_sent = now;
        match via {
            Via::Socket { transport, source } => Ok(Transmit {
                transport,
                source,
                destination: dest,
                contents: data.to_vec(),
            }),
            Via::Relay(id) => {
                let relay = self
                    .relays
                    .iter_mut()
                    .find(|r| r.id() == id)
                    .ok_or(Error::NoSelectedPair)?;
                let t = relay.send_to(now, dest, data);
                self.drain_relays(now);
                t.ok_or(Error::Queued)
            }
        }
    }

    /// Closes the agent: state `closed`, every transaction and allocation stopped (TURN
    /// allocations are released: drain `poll_transmit` once more). Inputs are ignored
    /// afterwards.
    pub fn close(&mut self, now: Instant) {
        let now = self.advance(now);
        if self.state == ConnectionState::Closed {
            return;
        }
        for r in &mut self.relays {
            r.close(now);
        }
        self.drain_relays(now);
        self.txs.clear();
        self.triggered.clear();
        self.pairs.clear();
        self.selected = None;
        self.previous = None;
        self.pending_remote.clear();
        self.relays.clear();
        self.state = ConnectionState::Closed;
        self.emit(IceEvent::ConnectionStateChange(ConnectionState::Closed));
    }

    // ---- inputs -------------------------------------------------------------------------

    /// Handles a datagram from a local socket: a STUN message (check, response, server
    /// answer), or anything from a TURN server. Application data that came through a TURN
    /// relay is unwrapped and returned.
    ///
    /// # Errors
    /// Why the datagram was dropped ([`Error::NotStun`], [`Error::Stun`],
    /// [`Error::UnknownUsername`], [`Error::UnknownTransaction`], ...). A dropped datagram
    /// changes nothing but [`AgentStats::dropped`]; the caller may ignore the error.
    pub fn handle_receive(
        &mut self,
        now: Instant,
        datagram: Datagram<'_>,
    ) -> Result<Option<RelayedData>, Error> {
        let now = self.advance(now);
        if self.state == ConnectionState::Closed {
            return Err(Error::Closed);
        }
        let result = self.receive(now, datagram);
        if result.is_err() {
            self.stats.dropped += 1;
        }
        self.after_change(now);
        result
    }

    /// The runtime's connection from `local` to the TURN server `server` (TURN over TCP or
    /// TLS) closed or could not be opened (refused, TLS handshake failed): the allocations
    /// on it are gone, their relayed candidates are removed and an
    /// [`IceEvent::ServerError`] (701) says why, at once rather than after the
    /// transactions time out. Nothing for a connection no allocation uses.
    pub fn handle_stream_closed(
        &mut self,
        now: Instant,
        local: SocketAddr,
        server: SocketAddr,
        reason: &str,
    ) {
        let now = self.advance(now);
        if self.state == ConnectionState::Closed {
            return;
        }
        let mut any = false;
        for r in &mut self.relays {
            if r.transport() == Protocol::Tcp && r.matches(local, server) {
                r.connection_lost(reason);
                any = true;
            }
        }
        if any {
            self.drain_relays(now);
            self.after_change(now);
        }
    }

    /// Advances time: retransmissions, paced checks (one per Ta), nomination, consent,
    /// lookups and TURN refreshes that are due.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.advance(now);
        if self.state == ConnectionState::Closed {
            return;
        }
        self.expire_lookups(now);
        self.run_transactions(now);
        for r in &mut self.relays {
            r.handle_timeout(now);
        }
        self.drain_relays(now);
        // A pair whose consent expired hands the path to another, whose own consent work
        // may be due as well: run again until the path stays (at most once per pair).
        for _ in 0..=self.pairs.len() {
            if !self.consent(now) {
                break;
            }
        }
        if now >= self.next_check && self.pace(now) {
            self.next_check = now + self.config.ta;
        }
        self.after_change(now);
    }

    // ---- outputs ------------------------------------------------------------------------

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<IceEvent> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due; `None` when nothing is
    /// scheduled (closed, or idle before any socket, candidate or server).
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.state == ConnectionState::Closed {
            return None;
        }
        let mut t: Option<Instant> = None;
        let mut at = |x: Instant| t = Some(t.map_or(x, |t| t.min(x)));
        if self.has_check_work() {
            at(self.next_check);
        }
        for tx in self.txs.values() {
            if let Some(d) = tx.t.poll_timeout() {
                at(d);
            }
        }
        for r in &self.relays {
            if let Some(d) = r.poll_timeout() {
                at(d);
            }
        }
        for p in &self.pending_remote {
            at(p.deadline);
        }
        for s in &self.servers {
            if let Some(d) = s.lookup_deadline {
                at(d);
            }
        }
        // Actions (a consent check, a keepalive) stay due until done, even when an input
        // moved the clock past them first: `handle_timeout` is what sends them, and a
        // deadline dropped here would end consent 30 s later on a working path.
        if let Some(path) = self.sending_path() {
            match path {
                PathRef::Pair(id) => {
                    if let Some(p) = self.pair(id) {
                        if self.config.lite {
                            at(self.last_sent + KEEPALIVE_INTERVAL);
                        } else if let Some(n) = p.consent_next {
                            at(n);
                        }
                    }
                }
                PathRef::Previous => {
                    if let Some(p) = &self.previous {
                        if !self.config.lite && p.tx.is_none() {
                            at(p.consent_next);
                        }
                    }
                }
            }
        }
        // Thresholds (disconnected, consent expiry) only while ahead: once passed, the
        // state they change has been updated (every input re-evaluates them).
        let mut ahead = |x: Instant| {
            if x > self.now {
                at(x);
            }
        };
        if let Some(path) = self.sending_path() {
            match path {
                PathRef::Pair(id) => {
                    if let Some(p) = self.pair(id) {
                        if let Some(t) = self.disconnected_at(p.last_success, p.consent_pending) {
                            ahead(t);
                        }
                        if let Some(last) = p.last_success {
                            ahead(last + self.config.consent_timeout);
                        }
                        if let Some(t) = p.probe_sent {
                            ahead(t + PROBE_TIMEOUT);
                        }
                    }
                }
                PathRef::Previous => {
                    if let Some(p) = &self.previous {
                        if let Some(t) =
                            self.disconnected_at(Some(p.last_success), p.consent_pending)
                        {
                            ahead(t);
                        }
                        ahead(p.last_success + self.config.consent_timeout);
                    }
                }
            }
        }
        if let Some(d) = self.nomination_deadline() {
            ahead(d);
        }
        t.map(|t| t.max(self.now))
    }

    /// What each deadline is, for the fuzz harness's busy-loop report.
    #[cfg(feature = "fuzzing")]
    pub(crate) fn debug_deadlines(&self) -> String {
        let since = |t: Instant| t.saturating_duration_since(self.now);
        format!(
            "now+: check_work={} next_check={:?} txs={:?} relays={:?} lookups={:?} path={:?} pairs={:?} nomination={:?} state={:?}",
            self.has_check_work(),
            since(self.next_check),
            self.txs.values().map(|t| (t.t.poll_timeout().map(since), t.purpose)).collect::<Vec<_>>(),
            self.relays.iter().map(|r| r.poll_timeout().map(since)).collect::<Vec<_>>(),
            self.pending_remote.iter().map(|p| since(p.deadline)).collect::<Vec<_>>(),
            self.sending_path(),
            self.pairs.iter().map(|p| (p.id, p.state, p.valid, p.consent_next.map(since), p.last_success.map(since), p.probe_sent.map(since))).collect::<Vec<_>>(),
            self.nomination_deadline().map(since),
            self.state,
        )
    }

    // =====================================================================================
    // internals
    // =====================================================================================

    fn advance(&mut self, now: Instant) -> Instant {
        if now > self.now {
            self.now = now;
        }
        self.now
    }

    fn next(&mut self) -> u32 {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        id
    }

    fn emit(&mut self, event: IceEvent) {
        if self.events.len() >= MAX_QUEUE {
            self.events.pop_front();
            self.stats.queue_overflows += 1;
        }
        self.events.push_back(event);
    }

    fn push_transmit(&mut self, t: Transmit) {
        if self.transmits.len() >= MAX_QUEUE {
            self.transmits.pop_front();
            self.stats.queue_overflows += 1;
        }
        self.transmits.push_back(t);
    }

    fn default_preference(&self, s: &LocalSocket) -> u16 {
        if s.addr.ip().is_loopback() {
            return 0x0100;
        }
        let family: u16 = if s.addr.is_ipv6() { 0x6000 } else { 0x4000 };
        let cost = s.network_cost.unwrap_or(10).min(999) as u16;
        let index = self.sockets.len().min(63) as u16;
        family + (0x1fff - cost * 8) - index
    }

    /// Foundation per RFC 8445 §5.1.1.3: same type, base IP, server IP and protocol.
    fn foundation(
        &mut self,
        typ: CandidateType,
        base: IpAddr,
        server: Option<IpAddr>,
        protocol: Protocol,
    ) -> String {
        let key = (typ, base, server, protocol);
        let index = match self.foundations.iter().position(|k| *k == key) {
            Some(i) => i,
            None => {
                self.foundations.push(key);
                self.foundations.len() - 1
            }
        };
        (index + 1).to_string()
    }

    fn decorate(&self, cand: &mut Candidate) {
        cand.ufrag = Some(self.local.creds.ufrag.clone());
        cand.generation = Some(self.generation);
    }

    fn signalable(&self, l: &LocalCand) -> bool {
        match l.cand.typ {
            CandidateType::PeerReflexive => false,
            CandidateType::Relayed => true,
            _ => self.config.transport_policy == TransportPolicy::All,
        }
    }

    /// Whether a local candidate takes part in pairs: host and relayed ones (a
    /// server-reflexive candidate's pairs are its base's, RFC 8445 §6.1.2.4).
    fn pairable(&self, l: &LocalCand) -> bool {
        match l.cand.typ {
            CandidateType::Host => self.config.transport_policy == TransportPolicy::All,
            CandidateType::Relayed => true,
            _ => false,
        }
    }

    fn signal_local(&mut self, id: LocalId) {
        if let Some(l) = self.local_cand(id) {
            if self.signalable(l) {
                let c = l.cand.clone();
                self.emit(IceEvent::LocalCandidate(c));
            }
        }
    }

    fn set_gathering(&mut self, state: GatheringState) {
        if self.gathering != state {
            self.gathering = state;
            self.emit(IceEvent::GatheringStateChange(state));
        }
    }

    fn local_cand(&self, id: LocalId) -> Option<&LocalCand> {
        self.local_cands.iter().find(|l| l.id == id)
    }

    fn remote_cand(&self, id: RemoteId) -> Option<&RemoteCand> {
        self.remote_cands.iter().find(|r| r.id == id)
    }

    fn pair(&self, id: PairId) -> Option<&Pair> {
        self.pairs.iter().find(|p| p.id == id)
    }

    fn pair_mut(&mut self, id: PairId) -> Option<&mut Pair> {
        self.pairs.iter_mut().find(|p| p.id == id)
    }

    fn via_of(l: &LocalCand) -> Via {
        match l.relay {
            Some(r) => Via::Relay(r),
            None => Via::Socket {
                transport: l.cand.protocol,
                source: l.socket,
            },
        }
    }

    fn route(&mut self, now: Instant, via: Via, destination: SocketAddr, contents: Vec<u8>) {
        self.last_sent = now;
        match via {
            Via::Socket { transport, source } => self.push_transmit(Transmit {
                transport,
                source,
                destination,
                contents,
            }),
            Via::Relay(id) => {
                if let Some(r) = self.relays.iter_mut().find(|r| r.id() == id) {
                    let data = r.send_to(now, destination, &contents);
                    // A permission request made for this goes first.
                    self.flush_relay_transmits();
                    if let Some(t) = data {
                        self.push_transmit(t);
                    }
                }
            }
        }
    }

    // ---- gathering ----------------------------------------------------------------------

    fn gather_socket(&mut self, now: Instant, socket: SocketAddr) {
        if self.config.lite {
            return;
        }
        for i in 0..self.servers.len() {
            self.gather_from(now, socket, i);
        }
    }

    /// Starts gathering from one server through one local socket: a Binding request for
    /// STUN, an allocation for TURN.
    fn gather_from(&mut self, now: Instant, socket: SocketAddr, server: usize) {
        let Some(s) = self.servers.get(server).cloned() else {
            return;
        };
        let Some(sock) = self.sockets.iter().find(|x| x.info.addr == socket).cloned() else {
            return;
        };
        let Some(addr) = s.addr else {
            return;
        };
        if !self.can_reach(socket, addr) || s.failed {
            return;
        }
        match s.url.scheme {
            Scheme::Stun => {
                if sock.info.protocol != Protocol::Udp
                    || self.config.transport_policy == TransportPolicy::Relay
                {
                    return;
                }
                let id = TransactionId::random(&mut self.rng);
                let mut buf = Vec::with_capacity(28);
                let mut b = MessageBuilder::new(&mut buf, Class::Request, Method::Binding, id);
                if b.add_fingerprint().is_err() {
                    return;
                }
                self.start_tx(
                    now,
                    buf,
                    Transport::Unreliable,
                    Purpose::Srflx { socket, server },
                    None,
                );
            }
            // `turns:` is TURN over TCP whose stream the runtime wraps in TLS (RFC 8656
            // §3.1): to the agent it is a stream like `?transport=tcp`.
            Scheme::Turn | Scheme::Turns => {
                let wanted = match s.url.transport {
                    Protocol::Udp => sock.info.protocol == Protocol::Udp,
                    // TURN over TCP: the runtime opens the connection from the interface of
                    // a UDP socket; one allocation per family is enough.
                    Protocol::Tcp => {
                        sock.info.protocol == Protocol::Udp
                            && !self.relays.iter().any(|r| {
                                r.server_index() == server
                                    && r.socket().is_ipv4() == socket.is_ipv4()
                            })
                    }
                };
                // One allocation per (server, socket): the same server listed twice (under
                // another URL or entry) is not allocated on again.
                let transport = s.url.transport;
                let servers = &self.servers;
                let duplicate = self.relays.iter().any(|r| {
                    r.socket() == socket
                        && (r.server_index() == server
                            || servers.get(r.server_index()).is_some_and(|o| {
                                o.addr == Some(addr) && o.url.transport == transport
                            }))
                });
                if !wanted || duplicate {
                    return;
                }
                let (Some(user), Some(pass)) = (s.username.clone(), s.credential.clone()) else {
                    let url = s.text.clone();
                    self.emit(IceEvent::ServerError {
                        url,
                        code: 701,
                        reason: "turn server without credentials".into(),
                    });
                    return;
                };
                let id = self.next();
                match Relay::new(
                    id,
                    server,
                    socket,
                    addr,
                    transport,
                    &user,
                    &pass,
                    now,
                    &mut self.rng,
                ) {
                    Some(relay) => self.relays.push(relay),
                    None => {
                        let url = s.text.clone();
                        self.emit(IceEvent::ServerError {
                            url,
                            code: 701,
                            reason: "turn not available".into(),
                        });
                    }
                }
                self.drain_relays(now);
            }
            Scheme::Stuns => {
                // STUN over TLS brings nothing over UDP STUN for gathering, and browsers do
                // not do it either.
                let url = s.text.clone();
                if let Some(s) = self.servers.get_mut(server) {
                    s.failed = true;
                }
                self.emit(IceEvent::ServerError {
                    url,
                    code: 701,
                    reason: "stuns: (stun over tls) is not supported; use stun: or turns:".into(),
                });
            }
        }
    }

    /// Whether gathering from a STUN or TURN server uses this local socket: the same address
    /// family; loopback sockets only for loopback servers, and a loopback server from a
    /// routable socket only when no loopback socket of the family exists (the packets stay
    /// on the host either way); link-local only with link-local. A socket that cannot reach
    /// the server would only wait for a transaction timeout, holding gathering back, and a
    /// host with a loopback and a routable socket would make two allocations on one server.
    fn can_reach(&self, socket: SocketAddr, server: SocketAddr) -> bool {
        let (a, b) = (socket.ip(), server.ip());
        if a.is_ipv4() != b.is_ipv4() || is_link_local(a) != is_link_local(b) {
            return false;
        }
        match (a.is_loopback(), b.is_loopback()) {
            (true, false) => false,
            (false, true) => !self.sockets.iter().any(|s| {
                s.info.addr.ip().is_loopback() && s.info.addr.is_ipv4() == socket.is_ipv4()
            }),
            _ => true,
        }
    }

    fn on_srflx(&mut self, socket: SocketAddr, server: usize, mapped: SocketAddr) {
        let Some(base) = self
            .local_cands
            .iter()
            .find(|l| l.cand.typ == CandidateType::Host && l.socket == socket)
            .cloned()
        else {
            return;
        };
        let server_ip = self
            .servers
            .get(server)
            .and_then(|s| s.addr)
            .map(|a| a.ip());
        self.add_reflexive(base, mapped, server_ip);
    }

    /// Adds a server-reflexive candidate for `base` unless redundant (RFC 8445 §5.1.3).
    fn add_reflexive(&mut self, base: LocalCand, mapped: SocketAddr, server_ip: Option<IpAddr>) {
        if mapped == base.socket
            || self.local_cands.iter().any(|l| {
                (l.cand.typ == CandidateType::ServerReflexive
                    && l.base == base.socket
                    && l.cand.socket_addr() == Some(mapped))
                    || (l.cand.typ == CandidateType::Host && l.cand.socket_addr() == Some(mapped))
            })
        {
            return;
        }
        let protocol = base.cand.protocol;
        let mut cand = Candidate::new(
            self.foundation(
                CandidateType::ServerReflexive,
                base.socket.ip(),
                server_ip,
                protocol,
            ),
            self.config.component,
            protocol,
            Candidate::compute_priority(
                CandidateType::ServerReflexive.type_preference(protocol),
                base.local_preference,
                self.config.component,
            ),
            mapped,
            CandidateType::ServerReflexive,
        )
        .with_related(base.socket);
        cand.network_id = base.cand.network_id;
        cand.network_cost = base.cand.network_cost;
        self.decorate(&mut cand);
        let id = LocalId(self.next());
        self.local_cands.push(LocalCand {
            id,
            cand,
            base: base.socket,
            socket: base.socket,
            relay: None,
            local_preference: base.local_preference,
        });
        self.signal_local(id);
    }

    /// Adds the relayed candidate of an allocation, and pairs it.
    fn on_allocated(&mut self, relay_id: u32, relayed: SocketAddr, mapped: Option<SocketAddr>) {
        let Some(r) = self.relays.iter().find(|r| r.id() == relay_id) else {
            return;
        };
        let (socket, server, transport, server_index) =
            (r.socket(), r.server(), r.transport(), r.server_index());
        let base = self
            .local_cands
            .iter()
            .find(|l| l.cand.typ == CandidateType::Host && l.socket == socket)
            .cloned();
        // The mapped address is a server-reflexive candidate too (browsers do the same).
        if let (Some(base), Some(mapped), Protocol::Udp) = (base.clone(), mapped, transport) {
            if self.config.transport_policy == TransportPolicy::All {
                let ip = self
                    .servers
                    .get(server_index)
                    .and_then(|s| s.addr)
                    .map(|a| a.ip());
                self.add_reflexive(base, mapped, ip);
            }
        }
        let socket_pref = self
            .sockets
            .iter()
            .find(|s| s.info.addr == socket)
            .map_or(0, |s| s.preference);
        // RFC 8445 §5.1.2.1 leaves relay ordering to the agent: UDP to the server first.
        let transport_pref: u16 = if transport == Protocol::Udp { 2 } else { 1 };
        let local_preference = (transport_pref << 13) | (socket_pref & 0x1fff);
        let mut cand = Candidate::new(
            self.foundation(
                CandidateType::Relayed,
                socket.ip(),
                Some(server.ip()),
                transport,
            ),
            self.config.component,
            Protocol::Udp,
            Candidate::compute_priority(0, local_preference, self.config.component),
            relayed,
            CandidateType::Relayed,
        );
        if let Some(m) = mapped {
            cand = cand.with_related(m);
        }
        if let Some(b) = &base {
            cand.network_id = b.cand.network_id;
            cand.network_cost = b.cand.network_cost;
        }
        self.decorate(&mut cand);
        let id = LocalId(self.next());
        self.local_cands.push(LocalCand {
            id,
            cand,
            base: relayed,
            socket,
            relay: Some(relay_id),
            local_preference,
        });
        self.form_pairs_for_local(id);
        if self.gather_started {
            self.signal_local(id);
        }
    }

    fn gathering_busy(&self) -> bool {
        self.txs
            .values()
            .any(|t| matches!(t.purpose, Purpose::Srflx { .. }))
            || self.servers.iter().any(|s| s.lookup_deadline.is_some())
            || self.relays.iter().any(|r| r.is_pending())
    }

    /// Moves what the TURN clients want to send into the agent's queue. Called after
    /// every command given to a relay, so a CreatePermission or ChannelBind leaves at once
    /// rather than with the next input.
    fn flush_relay_transmits(&mut self) {
        let mut out = Vec::new();
        for r in &mut self.relays {
            while let Some(t) = r.poll_transmit() {
                out.push(t);
            }
        }
        for t in out {
            self.push_transmit(t);
        }
    }

    fn drain_relays(&mut self, now: Instant) {
        self.flush_relay_transmits();
        let mut outputs = Vec::new();
        for r in &mut self.relays {
            while let Some(o) = r.poll(now) {
                outputs.push((r.id(), o));
            }
        }
        for (id, o) in outputs {
            match o {
                RelayOutput::Allocated { relayed, mapped } => {
                    self.on_allocated(id, relayed, mapped)
                }
                RelayOutput::PermissionFailed { peer, refused } => {
                    self.on_permission_failed(id, peer, refused)
                }
                RelayOutput::Failed { code, reason } => {
                    let url = self
                        .relays
                        .iter()
                        .find(|r| r.id() == id)
                        .and_then(|r| self.servers.get(r.server_index()))
                        .map(|s| s.text.clone())
                        .unwrap_or_default();
                    self.emit(IceEvent::ServerError { url, code, reason });
                    let gone: Vec<LocalId> = self
                        .local_cands
                        .iter()
                        .filter(|l| l.relay == Some(id))
                        .map(|l| l.id)
                        .collect();
                    for l in gone {
                        self.remove_local(l);
                    }
                }
            }
        }
    }

    /// The TURN server refused a permission (RFC 8656 §9: e.g. 403 for a peer address it
    /// does not relay to): the pairs from that relay to that address can never work, so
    /// they fail now rather than after their checks' last retransmission (which would hold
    /// nomination back for a better-looking pair). A request that went unanswered (a lost
    /// create or refresh) is asked again while a pair still needs it: data through the
    /// relay stops without a permission.
    fn on_permission_failed(&mut self, relay: u32, peer: IpAddr, refused: bool) {
        let pairs: Vec<(PairId, RemoteId)> = self
            .pairs
            .iter()
            .filter(|p| p.state != PairState::Failed || p.valid)
            .filter(|p| {
                self.local_cand(p.local)
                    .is_some_and(|l| l.relay == Some(relay))
            })
            .filter(|p| {
                self.remote_cand(p.remote)
                    .is_some_and(|r| r.addr.ip() == peer)
            })
            .map(|p| (p.id, p.remote))
            .collect();
        if refused {
            for (id, _) in pairs {
                if let Some(tx) = self.pair(id).and_then(|p| p.tx) {
                    if let Some(t) = self.txs.get_mut(&tx) {
                        t.cancelled = true;
                    }
                }
                self.fail_pair(id);
            }
        } else if let Some((_, remote)) = pairs.first() {
            let addr = self.remote_cand(*remote).map(|r| r.addr);
            let now = self.now;
            if let (Some(addr), Some(r)) = (addr, self.relays.iter_mut().find(|r| r.id() == relay))
            {
                r.create_permission(now, addr);
            }
            self.flush_relay_transmits();
        }
    }

    // ---- candidates and pairs -----------------------------------------------------------

    fn insert_remote(
        &mut self,
        now: Instant,
        mut cand: Candidate,
        addr: SocketAddr,
    ) -> Result<(), Error> {
        if addr.ip().is_unspecified()
            || addr.ip().is_multicast()
            || addr.port() == 0 && cand.tcp_type != Some(TcpType::Active)
        {
            return Err(Error::UnusableCandidate("unusable address"));
        }
        if let Some(r) = self
            .remote_cands
            .iter_mut()
            .find(|r| r.addr == addr && r.cand.protocol == cand.protocol)
        {
            // A signalled candidate for a peer-reflexive one we learned: take its type and
            // foundation, keep the pairs (RFC 8445 §7.3.1.3 note).
            if r.cand.typ == CandidateType::PeerReflexive
                && cand.typ != CandidateType::PeerReflexive
            {
                r.cand = cand;
            }
            return Ok(());
        }
        if self.remote_cands.len() >= self.config.max_remote_candidates {
            return Err(Error::LimitReached("remote candidates"));
        }
        if cand.ufrag.is_none() {
            cand.ufrag = self.remote.as_ref().map(|r| r.creds.ufrag.clone());
        }
        let id = RemoteId(self.next());
        self.remote_cands.push(RemoteCand { id, cand, addr });
        self.form_pairs_for_remote(id);
        self.next_check = self.next_check.max(now);
        Ok(())
    }

    fn remove_remote(&mut self, id: RemoteId) {
        self.remote_cands.retain(|r| r.id != id);
        let pairs: Vec<PairId> = self
            .pairs
            .iter()
            .filter(|p| p.remote == id)
            .map(|p| p.id)
            .collect();
        for p in pairs {
            self.remove_pair(p);
        }
    }

    fn remove_local(&mut self, id: LocalId) {
        let Some(at) = self.local_cands.iter().position(|l| l.id == id) else {
            return;
        };
        let l = self.local_cands.remove(at);
        if self.gather_started && self.signalable(&l) {
            self.emit(IceEvent::LocalCandidateRemoved(l.cand));
        }
        let pairs: Vec<PairId> = self
            .pairs
            .iter()
            .filter(|p| p.local == id)
            .map(|p| p.id)
            .collect();
        for p in pairs {
            self.remove_pair(p);
        }
    }

    fn remove_pair(&mut self, id: PairId) {
        self.pairs.retain(|p| p.id != id);
        self.triggered.retain(|(p, _)| *p != id);
        self.txs
            .retain(|_, tx| !matches!(tx.purpose, Purpose::Check { pair, .. } if pair == id));
        if self.selected == Some(id) {
            self.selected = None;
        }
    }

    fn can_pair(&self, l: &LocalCand, r: &RemoteCand) -> bool {
        if !self.pairable(l) || l.base.is_ipv4() != r.addr.is_ipv4() {
            return false;
        }
        // A relayed candidate is UDP whatever the client-server transport.
        if l.cand.protocol != r.cand.protocol {
            return false;
        }
        if l.cand.protocol == Protocol::Tcp {
            // RFC 6544 §6.2. Pairs from a passive candidate are never checked by us (see
            // `checkable`): the peer's checks on them trigger ours.
            let (Some(lt), Some(rt)) = (l.cand.tcp_type, r.cand.tcp_type) else {
                return false;
            };
            if !lt.pairs_with(rt) {
                return false;
            }
        }
        // Loopback only with loopback.
        l.base.ip().is_loopback() == r.addr.ip().is_loopback()
    }

    fn form_pairs_for_local(&mut self, id: LocalId) {
        let remotes: Vec<RemoteId> = self.remote_cands.iter().map(|r| r.id).collect();
        for r in remotes {
            self.add_pair(id, r);
        }
    }

    fn form_pairs_for_remote(&mut self, id: RemoteId) {
        let locals: Vec<LocalId> = self.local_cands.iter().map(|l| l.id).collect();
        for l in locals {
            self.add_pair(l, id);
        }
    }

    fn compute_pair_priority(&self, l: &LocalCand, r: &RemoteCand) -> u64 {
        let (local, remote) = (l.cand.priority, r.cand.priority);
        if self.controlling {
            pair_priority(local, remote)
        } else {
            pair_priority(remote, local)
        }
    }

    /// Adds the pair (local, remote) if allowed, not redundant and within limits; returns
    /// its id (an existing equivalent pair's id if there is one).
    fn add_pair(&mut self, lid: LocalId, rid: RemoteId) -> Option<PairId> {
        let l = self.local_cand(lid)?;
        let r = self.remote_cand(rid)?;
        if !self.can_pair(l, r) {
            return None;
        }
        let (l_base, l_socket) = (l.base, l.socket);
        if let Some(p) = self.pairs.iter().find(|p| {
            p.remote == rid
                && self
                    .local_cand(p.local)
                    .is_some_and(|pl| pl.base == l_base && pl.socket == l_socket)
        }) {
            return Some(p.id);
        }
        let priority = self.compute_pair_priority(l, r);
        let foundation = (l.cand.foundation.clone(), r.cand.foundation.clone());
        if self.pairs.len() >= self.config.max_pairs {
            // Prune the lowest-priority pair that is not in use (RFC 8445 §6.1.2.5).
            let victim = self
                .pairs
                .iter()
                .filter(|p| {
                    !p.valid && p.state != PairState::InProgress && Some(p.id) != self.selected
                })
                .min_by_key(|p| p.priority)
                .filter(|p| p.priority < priority)
                .map(|p| p.id)?;
            self.remove_pair(victim);
        }
        let frozen = self.pairs.iter().any(|p| {
            p.foundation == foundation
                && matches!(p.state, PairState::Waiting | PairState::InProgress)
        });
        let id = PairId(self.next());
        self.pairs.push(Pair {
            id,
            local: lid,
            remote: rid,
            priority,
            state: if frozen {
                PairState::Frozen
            } else {
                PairState::Waiting
            },
            foundation,
            valid: false,
            nominated: false,
            nominate_on_success: false,
            tx: None,
            consent_tx: None,
            last_success: None,
            consent_next: None,
            probe_sent: None,
            peer_checked: false,
            consent_pending: None,
            rtt: RttStats::default(),
        });
        self.permit(lid, rid);
        Some(id)
    }

    /// For a pair on a relayed candidate: installs the TURN permission for the remote
    /// address now (RFC 8656 §9), as browsers do when they learn a remote candidate, so
    /// the peer's checks through our relay are let in before our own check on the pair
    /// goes out, and ours wait one round trip to the server, not a retransmission.
    fn permit(&mut self, lid: LocalId, rid: RemoteId) {
        let (Some(relay), Some(peer)) = (
            self.local_cand(lid).and_then(|l| l.relay),
            self.remote_cand(rid).map(|r| r.addr),
        ) else {
            return;
        };
        let now = self.now;
        if let Some(r) = self.relays.iter_mut().find(|r| r.id() == relay) {
            r.create_permission(now, peer);
        }
        self.flush_relay_transmits();
    }

    fn set_role(&mut self, controlling: bool) {
        if self.controlling == controlling {
            return;
        }
        self.controlling = controlling;
        self.stats.role_conflicts += 1;
        let mut prios = Vec::new();
        for p in &self.pairs {
            if let (Some(l), Some(r)) = (self.local_cand(p.local), self.remote_cand(p.remote)) {
                prios.push((p.id, self.compute_pair_priority(l, r)));
            }
        }
        for (id, prio) in prios {
            if let Some(p) = self.pair_mut(id) {
                p.priority = prio;
            }
        }
        self.emit(IceEvent::RoleChange { controlling });
    }

    /// Starts a new generation: the pair in use moves to `previous`, everything of the old
    /// generation's checks goes.
    fn begin_generation(&mut self, now: Instant, local_restart: bool) {
        if let Some(path) = self.sending_path() {
            if let PathRef::Pair(id) = path {
                if let (Some(p), Some(remote)) = (self.pair(id), &self.remote) {
                    if let (Some(l), Some(r)) =
                        (self.local_cand(p.local), self.remote_cand(p.remote))
                    {
                        self.previous = Some(Previous {
                            local_creds: self.local.clone(),
                            remote_creds: remote.clone(),
                            local: l.clone(),
                            remote: r.clone(),
                            nominated: p.nominated,
                            last_success: p.last_success.unwrap_or(now),
                            consent_next: p.consent_next.unwrap_or(now),
                            consent_pending: p.consent_pending,
                            tx: None,
                        });
                    }
                }
            }
        } else {
            self.previous = None;
        }
        self.txs
            .retain(|_, tx| !matches!(tx.purpose, Purpose::Check { .. }));
        self.pairs.clear();
        self.triggered.clear();
        self.remote_cands.clear();
        self.pending_remote.clear();
        self.selected = None;
        self.first_valid_at = None;
        self.end_of_remote = false;
        self.remote_nomination_value = 0;
        if local_restart {
            self.remote = None;
        }
        // The peer-reflexive local candidates belong to the old pairs.
        self.local_cands
            .retain(|l| l.cand.typ != CandidateType::PeerReflexive);
    }

    // ---- checks -------------------------------------------------------------------------

    fn has_check_work(&self) -> bool {
        !self.config.lite
            && self.remote.is_some()
            && (!self.triggered.is_empty()
                || self.pairs.iter().any(|p| {
                    matches!(p.state, PairState::Waiting | PairState::Frozen) && self.checkable(p)
                }))
    }

    /// Whether we may originate an ordinary check on the pair (not from a passive TCP
    /// candidate, not to an active one).
    fn checkable(&self, p: &Pair) -> bool {
        let (Some(l), Some(r)) = (self.local_cand(p.local), self.remote_cand(p.remote)) else {
            return false;
        };
        l.cand.tcp_type != Some(TcpType::Passive) && r.cand.tcp_type != Some(TcpType::Active)
    }

    fn trigger(&mut self, id: PairId, use_candidate: bool) {
        if let Some(e) = self.triggered.iter_mut().find(|(p, _)| *p == id) {
            e.1 |= use_candidate;
            return;
        }
        if self.triggered.len() < self.config.max_pairs {
            self.triggered.push_back((id, use_candidate));
        }
    }

    /// Sends one paced check: the triggered queue first, then the highest-priority Waiting
    /// pair, then the highest-priority Frozen one (RFC 8445 §6.1.4.2). Returns whether a
    /// check went out.
    fn pace(&mut self, now: Instant) -> bool {
        if self.config.lite || self.remote.is_none() {
            return false;
        }
        while let Some((id, use_candidate)) = self.triggered.pop_front() {
            if self.pair(id).is_some() {
                self.start_check(now, id, use_candidate, false);
                if let Some(tx) = self
                    .pair(id)
                    .and_then(|p| p.tx)
                    .and_then(|t| self.txs.get_mut(&t))
                {
                    tx.triggered = true;
                }
                return true;
            }
        }
        let pick = |state: PairState| {
            self.pairs
                .iter()
                .filter(|p| p.state == state && self.checkable(p))
                .max_by_key(|p| p.priority)
                .map(|p| p.id)
        };
        if let Some(id) = pick(PairState::Waiting).or_else(|| pick(PairState::Frozen)) {
            self.start_check(now, id, false, false);
            return true;
        }
        false
    }

    fn in_flight(&self) -> u32 {
        self.pairs
            .iter()
            .filter(|p| matches!(p.state, PairState::Waiting | PairState::InProgress))
            .count() as u32
    }

    fn check_config(&self, consent: bool) -> TransactionConfig {
        let rto = self
            .config
            .check_rto
            .max(self.config.ta.saturating_mul(self.in_flight()));
        TransactionConfig {
            rto,
            max_rto: Some(self.config.check_max_rto.max(rto)),
            max_transmissions: if consent {
                4
            } else {
                self.config.check_max_transmissions.max(1)
            },
            last_wait_multiplier: if consent {
                2
            } else {
                self.config.check_last_wait_multiplier
            },
            reliable_timeout: rto.saturating_mul(8),
        }
    }

    /// Builds a Binding request for a check (RFC 8445 §7.2.2).
    fn build_check(
        &mut self,
        id: TransactionId,
        username: &str,
        prflx_priority: u32,
        use_candidate: bool,
        key: &IntegrityKey,
    ) -> Option<Vec<u8>> {
        let mut buf = Vec::with_capacity(128);
        let mut b = MessageBuilder::new(&mut buf, Class::Request, Method::Binding, id);
        b.add(&Username(username)).ok()?;
        b.add(&Priority(prflx_priority)).ok()?;
        if self.controlling {
            b.add(&IceControlling(self.tie_breaker)).ok()?;
        } else {
            b.add(&IceControlled(self.tie_breaker)).ok()?;
        }
        if use_candidate {
            b.add(&UseCandidate).ok()?;
            if self.config.renomination && self.remote_renomination {
                self.nomination_value = self.nomination_value.wrapping_add(1);
                b.add(&Nomination(self.nomination_value)).ok()?;
            }
        }
        b.add_message_integrity(key).ok()?;
        b.add_fingerprint().ok()?;
        Some(buf)
    }

    fn start_check(&mut self, now: Instant, id: PairId, use_candidate: bool, consent: bool) {
        if !self.try_start_check(now, id, use_candidate, consent) && !consent {
            // Never leave a pair waiting for a check that cannot be sent.
            self.fail_pair(id);
        }
    }

    fn try_start_check(
        &mut self,
        now: Instant,
        id: PairId,
        use_candidate: bool,
        consent: bool,
    ) -> bool {
        let Some(remote) = self.remote.clone() else {
            return false;
        };
        let Some(p) = self.pair(id) else {
            return false;
        };
        let (Some(l), Some(_)) = (
            self.local_cand(p.local).cloned(),
            self.remote_cand(p.remote),
        ) else {
            return false;
        };
        let use_candidate = use_candidate && self.controlling;
        let prflx = Candidate::compute_priority(
            CandidateType::PeerReflexive.type_preference(l.cand.protocol),
            l.local_preference,
            self.config.component,
        );
        let username = format!("{}:{}", remote.creds.ufrag, self.local.creds.ufrag);
        let tid = TransactionId::random(&mut self.rng);
        let Some(buf) = self.build_check(tid, &username, prflx, use_candidate, &remote.key) else {
            tracing::debug!("check not built (credentials too long)");
            return false;
        };
        let purpose = Purpose::Check {
            pair: id,
            controlling: self.controlling,
            use_candidate,
            consent,
        };
        let transport = if l.cand.protocol == Protocol::Tcp {
            Transport::Reliable
        } else {
            Transport::Unreliable
        };
        let config = self.check_config(consent);
        if !self.start_tx_with(now, buf, transport, purpose, Some(remote.key), config) {
            return false;
        }
        let old = {
            let Some(p) = self.pair_mut(id) else {
                return false;
            };
            if consent {
                p.consent_tx.replace(tid)
            } else {
                // A valid pair being re-checked (nomination, after a disconnect) stays valid
                // until the check fails.
                p.state = PairState::InProgress;
                p.tx.replace(tid)
            }
        };
        if let Some(old) = old {
            if let Some(tx) = self.txs.get_mut(&old) {
                tx.cancelled = true;
            }
        }
        self.stats.checks_sent += 1;
        true
    }

    fn start_tx(
        &mut self,
        now: Instant,
        buf: Vec<u8>,
        transport: Transport,
        purpose: Purpose,
        key: Option<IntegrityKey>,
    ) -> bool {
        let config = self.check_config(false);
        self.start_tx_with(now, buf, transport, purpose, key, config)
    }

    fn start_tx_with(
        &mut self,
        now: Instant,
        buf: Vec<u8>,
        transport: Transport,
        purpose: Purpose,
        key: Option<IntegrityKey>,
        config: TransactionConfig,
    ) -> bool {
        let Ok(mut t) = ClientTransaction::new(now, buf, transport, &config) else {
            return false;
        };
        if let Some(k) = key {
            t = t.with_integrity_key(k);
        }
        let id = t.transaction_id();
        self.txs.insert(
            id,
            Tx {
                t,
                purpose,
                cancelled: false,
                triggered: false,
            },
        );
        self.flush_tx(now, id);
        true
    }

    /// Sends what a transaction wants to send.
    fn flush_tx(&mut self, now: Instant, id: TransactionId) {
        let Some(tx) = self.txs.get_mut(&id) else {
            return;
        };
        let Some(bytes) = tx.t.poll_transmit().map(<[u8]>::to_vec) else {
            return;
        };
        if tx.cancelled {
            return;
        }
        let purpose = tx.purpose;
        let route = match purpose {
            Purpose::Check { pair, .. } => self.pair(pair).and_then(|p| {
                let l = self.local_cand(p.local)?;
                let r = self.remote_cand(p.remote)?;
                Some((Self::via_of(l), r.addr))
            }),
            Purpose::PreviousConsent => self
                .previous
                .as_ref()
                .map(|p| (Self::via_of(&p.local), p.remote.addr)),
            Purpose::Srflx { socket, server } => {
                self.servers.get(server).and_then(|s| s.addr).map(|a| {
                    (
                        Via::Socket {
                            transport: Protocol::Udp,
                            source: socket,
                        },
                        a,
                    )
                })
            }
        };
        if let Some((via, dest)) = route {
            self.route(now, via, dest, bytes);
        }
    }

    fn run_transactions(&mut self, now: Instant) {
        let due: Vec<TransactionId> = self
            .txs
            .iter()
            .filter(|(_, tx)| tx.t.poll_timeout().is_some_and(|d| d <= now))
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            let Some(tx) = self.txs.get_mut(&id) else {
                continue;
            };
            tx.t.handle_timeout(now);
            self.flush_tx(now, id);
            let Some(tx) = self.txs.get_mut(&id) else {
                continue;
            };
            if let Some(event) = tx.t.poll_event() {
                let (purpose, cancelled) = (tx.purpose, tx.cancelled);
                self.txs.remove(&id);
                self.on_tx_event(now, id, event, purpose, cancelled, None);
            }
        }
    }

    /// A transaction ended. `from` is the (local, remote) a response arrived on.
    fn on_tx_event(
        &mut self,
        now: Instant,
        id: TransactionId,
        event: TransactionEvent,
        purpose: Purpose,
        cancelled: bool,
        from: Option<(SocketAddr, SocketAddr)>,
    ) {
        match purpose {
            Purpose::Srflx { socket, server } => match event {
                TransactionEvent::Success { response, .. } => {
                    if let Ok(msg) = Message::new_checked(&response[..]) {
                        let mapped = msg
                            .attribute::<XorMappedAddress>()
                            .ok()
                            .flatten()
                            .map(|a| a.0)
                            .or_else(|| {
                                msg.attribute::<MappedAddress>().ok().flatten().map(|a| a.0)
                            });
                        if let Some(mapped) = mapped {
                            self.on_srflx(socket, server, mapped);
                        }
                    }
                }
                TransactionEvent::ErrorResponse { code, .. } => {
                    self.server_error(server, code, "error response")
                }
                TransactionEvent::Timeout { .. } => self.server_error(server, 701, "no response"),
                _ => {}
            },
            Purpose::PreviousConsent => {
                if let Some(p) = &mut self.previous {
                    if p.tx == Some(id) {
                        p.tx = None;
                    }
                    if matches!(event, TransactionEvent::Success { .. }) {
                        p.last_success = now;
                        p.consent_pending = None;
                    }
                }
            }
            Purpose::Check {
                pair,
                controlling,
                use_candidate,
                consent,
            } => self.on_check_result(
                now,
                id,
                event,
                pair,
                controlling,
                use_candidate,
                consent,
                cancelled,
                from,
            ),
        }
    }

    fn server_error(&mut self, server: usize, code: u16, reason: &str) {
        if let Some(s) = self.servers.get(server) {
            let url = s.text.clone();
            self.emit(IceEvent::ServerError {
                url,
                code,
                reason: reason.to_owned(),
            });
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn on_check_result(
        &mut self,
        now: Instant,
        id: TransactionId,
        event: TransactionEvent,
        pair_id: PairId,
        controlling: bool,
        use_candidate: bool,
        consent: bool,
        cancelled: bool,
        from: Option<(SocketAddr, SocketAddr)>,
    ) {
        let Some(p) = self.pair(pair_id).cloned() else {
            return;
        };
        let current = if consent {
            p.consent_tx == Some(id)
        } else {
            p.tx == Some(id)
        };
        if let Some(pm) = self.pair_mut(pair_id) {
            if consent && pm.consent_tx == Some(id) {
                pm.consent_tx = None;
            } else if !consent && pm.tx == Some(id) {
                pm.tx = None;
            }
        }
        match event {
            TransactionEvent::Success { response, rtt, .. } => {
                self.stats.responses_received += 1;
                if let Some(pm) = self.pair_mut(pair_id) {
                    pm.rtt.responses_received += 1;
                    if let Some(rtt) = rtt {
                        pm.rtt.current = Some(rtt);
                        pm.rtt.total += rtt;
                    }
                }
                // RFC 8445 §7.2.5.2.1: the response must come from where the request went,
                // to where it came from.
                if let Some((local, remote)) = from {
                    let ok = self.local_cand(p.local).is_some_and(|l| l.base == local)
                        && self.remote_cand(p.remote).is_some_and(|r| r.addr == remote);
                    if !ok {
                        self.fail_pair(pair_id);
                        return;
                    }
                }
                if let Ok(msg) = Message::new_checked(&response[..]) {
                    if let Ok(Some(XorMappedAddress(mapped))) = msg.attribute::<XorMappedAddress>()
                    {
                        self.learn_local_prflx(p.local, mapped);
                    }
                }
                let first_valid = !self.pairs.iter().any(|q| q.valid);
                let foundation = p.foundation.clone();
                let Some(pm) = self.pair_mut(pair_id) else {
                    return;
                };
                pm.state = PairState::Succeeded;
                pm.valid = true;
                pm.last_success = Some(now);
                pm.probe_sent = None;
                pm.consent_pending = None;
                let ours = use_candidate && controlling;
                let theirs = !controlling && pm.nominate_on_success && !consent;
                if theirs {
                    pm.nominate_on_success = false;
                }
                // Unfreeze pairs of the same foundation (RFC 8445 §7.2.5.3.3).
                for q in &mut self.pairs {
                    if q.foundation == foundation && q.state == PairState::Frozen {
                        q.state = PairState::Waiting;
                    }
                }
                if first_valid && self.first_valid_at.is_none() {
                    self.first_valid_at = Some(now);
                }
                if ours {
                    self.select(pair_id);
                } else if theirs {
                    self.accept_nomination(now, pair_id);
                }
            }
            TransactionEvent::ErrorResponse { code, .. } => {
                if code == ErrorCode::ROLE_CONFLICT.code {
                    // RFC 8445 §7.2.5.1: switch to the role opposite to the one the request
                    // claimed, if not done already, and check again.
                    if controlling == self.controlling {
                        self.set_role(!controlling);
                    }
                    if !consent {
                        if let Some(pm) = self.pair_mut(pair_id) {
                            pm.state = PairState::Waiting;
                        }
                        self.trigger(pair_id, false);
                    }
                } else if !consent && current {
                    self.fail_pair(pair_id);
                }
            }
            TransactionEvent::Timeout { .. } if !consent && current && !cancelled => {
                self.fail_pair(pair_id);
            }
            _ => {}
        }
    }

    /// A mapped address the local candidates do not know is a local peer-reflexive
    /// candidate (RFC 8445 §7.2.5.3.1); it is not signalled, and the pair keeps sending from
    /// its base, so it only matters for the record.
    fn learn_local_prflx(&mut self, local: LocalId, mapped: SocketAddr) {
        let Some(l) = self.local_cand(local).cloned() else {
            return;
        };
        if l.relay.is_some()
            || self
                .local_cands
                .iter()
                .any(|x| x.cand.socket_addr() == Some(mapped))
            || self.local_cands.len() >= 4 * MAX_SOCKETS
        {
            return;
        }
        let protocol = l.cand.protocol;
        let mut cand = Candidate::new(
            self.foundation(CandidateType::PeerReflexive, l.base.ip(), None, protocol),
            self.config.component,
            protocol,
            Candidate::compute_priority(
                CandidateType::PeerReflexive.type_preference(protocol),
                l.local_preference,
                self.config.component,
            ),
            mapped,
            CandidateType::PeerReflexive,
        )
        .with_related(l.base);
        cand.tcp_type = l.cand.tcp_type;
        self.decorate(&mut cand);
        let id = LocalId(self.next());
        self.local_cands.push(LocalCand {
            id,
            cand,
            base: l.base,
            socket: l.socket,
            relay: None,
            local_preference: l.local_preference,
        });
    }

    fn fail_pair(&mut self, id: PairId) {
        if let Some(p) = self.pair_mut(id) {
            p.state = PairState::Failed;
            p.valid = false;
            p.nominated = false;
            p.nominate_on_success = false;
        }
        if self.selected == Some(id) {
            self.selected = None;
        }
    }

    fn select(&mut self, id: PairId) {
        if let Some(old) = self.selected {
            if old != id {
                if let Some(p) = self.pair_mut(old) {
                    p.nominated = false;
                }
            }
        }
        self.selected = Some(id);
        if let Some(p) = self.pair_mut(id) {
            p.nominated = true;
        }
        // The new generation works: the pre-restart pair can go, and a later restart()
        // starts a generation of its own.
        self.previous = None;
        self.remote_fresh = false;
    }

    /// Sends a Binding indication on the pair (RFC 8445 §11).
    fn keepalive(&mut self, now: Instant, id: PairId) {
        let Some(p) = self.pair(id) else { return };
        let (Some(l), Some(r)) = (self.local_cand(p.local), self.remote_cand(p.remote)) else {
            return;
        };
        let (via, dest) = (Self::via_of(l), r.addr);
        let mut buf = Vec::with_capacity(28);
        let tid = TransactionId::random(&mut self.rng);
        let mut b = MessageBuilder::new(&mut buf, Class::Indication, Method::Binding, tid);
        if b.add_fingerprint().is_ok() {
            self.route(now, via, dest, buf);
        }
    }

    /// The controlling agent's nomination (RFC 8445 §8.1.1): once the best valid pair is
    /// final (no better pair left to check) or after the nomination timeout, nominate it;
    /// re-nominate when the selected pair is gone or disconnected and another works.
    fn nominate(&mut self, now: Instant) {
        if self.config.lite || !self.controlling || self.remote.is_none() {
            return;
        }
        let nominating = self.triggered.iter().any(|(_, u)| *u)
            || self.txs.values().any(|t| {
                !t.cancelled
                    && matches!(
                        t.purpose,
                        Purpose::Check {
                            use_candidate: true,
                            ..
                        }
                    )
            });
        if nominating {
            return;
        }
        let fresh = |p: &Pair| {
            p.last_success
                .is_some_and(|t| now < t + self.config.disconnected_timeout)
        };
        let best = self
            .pairs
            .iter()
            .filter(|p| p.valid && fresh(p))
            .max_by_key(|p| p.priority)
            .map(|p| (p.id, p.priority));
        let Some((best, best_priority)) = best else {
            return;
        };
        match self.selected.and_then(|s| self.pair(s)) {
            None => {
                let better_pending = self.pairs.iter().any(|p| {
                    p.priority > best_priority
                        && matches!(
                            p.state,
                            PairState::Frozen | PairState::Waiting | PairState::InProgress
                        )
                        && self.checkable(p)
                });
                let timed_out = self
                    .first_valid_at
                    .is_some_and(|t| now >= t + self.config.nomination_timeout);
                if !better_pending || timed_out {
                    self.trigger(best, true);
                }
            }
            Some(sel) => {
                let probe_failed = sel.probe_sent.is_some_and(|t| now >= t + PROBE_TIMEOUT);
                if !fresh(sel) || probe_failed {
                    let other = self
                        .pairs
                        .iter()
                        .filter(|p| p.valid && p.id != sel.id && fresh(p))
                        .max_by_key(|p| p.priority)
                        .map(|p| p.id);
                    if let Some(other) = other {
                        tracing::debug!("selected pair stopped answering; renominating");
                        self.trigger(other, true);
                    }
                }
            }
        }
    }

    /// The peer checks a valid pair other than the selected one (its network changed?):
    /// probe the selected pair at once instead of waiting for the next consent check.
    fn probe_selected(&mut self, now: Instant, checked: PairId) {
        let Some(sel) = self.selected.filter(|s| *s != checked) else {
            return;
        };
        let Some(p) = self.pair(sel) else {
            return;
        };
        if p.probe_sent
            .is_some_and(|t| now < t + self.config.consent_interval)
        {
            return;
        }
        self.start_check(now, sel, false, true);
        if let Some(p) = self.pair_mut(sel) {
            p.probe_sent = Some(now);
        }
    }

    fn nomination_deadline(&self) -> Option<Instant> {
        if self.config.lite || !self.controlling || self.selected.is_some() {
            return None;
        }
        // Once passed, every input re-runs the nomination; no wake-up is needed.
        self.first_valid_at
            .map(|t| t + self.config.nomination_timeout)
            .filter(|d| *d > self.now)
    }

    // ---- consent ------------------------------------------------------------------------

    /// When a pair last confirmed at `last`, with a consent check unanswered since
    /// `pending`, counts as disconnected: no success for the disconnected timeout and a
    /// check unanswered for a second (so the ±20 % consent interval cannot flap it). A lite
    /// agent, which sends no checks, waits two consent intervals for the peer's.
    fn disconnected_at(&self, last: Option<Instant>, pending: Option<Instant>) -> Option<Instant> {
        let last = last?;
        if self.config.lite {
            let wait = self
                .config
                .disconnected_timeout
                .max(self.config.consent_interval.saturating_mul(2));
            return Some(last + wait);
        }
        Some((last + self.config.disconnected_timeout).max(pending? + UNANSWERED_MIN))
    }

    fn jitter(&mut self, interval: Duration) -> Duration {
        // Uniform in [0.8, 1.2] × interval (RFC 7675 §5.1).
        let permille = 800 + u64::from(self.rng.next_u32() % 401);
        Duration::from_nanos((interval.as_nanos() as u64).saturating_mul(permille) / 1000)
    }

    /// Consent work on the path in use (RFC 7675). Returns whether consent expired on a
    /// pair (which failed, so another path may be in use now).
    fn consent(&mut self, now: Instant) -> bool {
        match self.sending_path() {
            Some(PathRef::Pair(id)) => {
                let Some(p) = self.pair(id).cloned() else {
                    return false;
                };
                let last = p.last_success.unwrap_or(now);
                if now >= last + self.config.consent_timeout {
                    tracing::debug!("consent expired");
                    self.fail_pair(id);
                    // Look for another working pair right away.
                    let others: Vec<PairId> = self
                        .pairs
                        .iter()
                        .filter(|q| q.valid)
                        .map(|q| q.id)
                        .collect();
                    for o in others {
                        self.trigger(o, false);
                    }
                    return true;
                }
                if self.config.lite {
                    // A lite agent sends no checks; keepalives keep NAT bindings on the
                    // path open when the application is quiet (RFC 8445 §11).
                    if now >= self.last_sent + KEEPALIVE_INTERVAL {
                        self.keepalive(now, id);
                    }
                    return false;
                }
                let disconnected = self
                    .disconnected_at(p.last_success, p.consent_pending)
                    .is_some_and(|t| now >= t);
                let fast = self.config.ta.saturating_mul(DISCONNECTED_CHECK_FACTOR);
                // Disconnected: check every second from now on, not at the next interval.
                let due = p
                    .consent_next
                    .is_none_or(|n| now >= n || (disconnected && n > now + fast));
                if due && p.tx.is_none() {
                    self.start_check(now, id, false, true);
                    if let Some(pm) = self.pair_mut(id) {
                        pm.consent_pending.get_or_insert(now);
                    }
                    let next = if disconnected {
                        fast
                    } else {
                        self.jitter(self.config.consent_interval)
                    };
                    if let Some(pm) = self.pair_mut(id) {
                        pm.consent_next = Some(now + next);
                    }
                } else if due {
                    if let Some(pm) = self.pair_mut(id) {
                        pm.consent_next = Some(now + Duration::from_millis(500));
                    }
                }
            }
            Some(PathRef::Previous) => {
                let Some(p) = self.previous.clone() else {
                    return false;
                };
                if now >= p.last_success + self.config.consent_timeout {
                    self.previous = None;
                    return true;
                }
                if self.config.lite || now < p.consent_next || p.tx.is_some() {
                    return false;
                }
                let username = format!(
                    "{}:{}",
                    p.remote_creds.creds.ufrag, p.local_creds.creds.ufrag
                );
                let prflx = Candidate::compute_priority(
                    CandidateType::PeerReflexive.type_preference(p.local.cand.protocol),
                    p.local.local_preference,
                    self.config.component,
                );
                let tid = TransactionId::random(&mut self.rng);
                let key = p.remote_creds.key.clone();
                let next = self.jitter(self.config.consent_interval);
                if let Some(buf) = self.build_check(tid, &username, prflx, false, &key) {
                    let config = self.check_config(true);
                    if self.start_tx_with(
                        now,
                        buf,
                        Transport::Unreliable,
                        Purpose::PreviousConsent,
                        Some(key),
                        config,
                    ) {
                        if let Some(prev) = &mut self.previous {
                            prev.tx = Some(tid);
                            prev.consent_pending.get_or_insert(now);
                        }
                    }
                }
                if let Some(prev) = &mut self.previous {
                    prev.consent_next = now + next;
                }
            }
            None => {}
        }
        false
    }

    fn expire_lookups(&mut self, now: Instant) {
        let before = self.pending_remote.len();
        self.pending_remote.retain(|p| p.deadline > now);
        if self.pending_remote.len() != before {
            tracing::debug!("name lookups timed out; candidates dropped");
        }
        let mut failed = Vec::new();
        for (i, s) in self.servers.iter_mut().enumerate() {
            if s.lookup_deadline.is_some_and(|d| d <= now) {
                s.lookup_deadline = None;
                s.failed = true;
                failed.push(i);
            }
        }
        for i in failed {
            self.server_error(i, 701, "host name did not resolve");
        }
    }

    // ---- receiving ----------------------------------------------------------------------

    fn receive(&mut self, now: Instant, d: Datagram<'_>) -> Result<Option<RelayedData>, Error> {
        if let Some(i) = self
            .relays
            .iter()
            .position(|r| r.matches(d.local, d.remote))
        {
            let outputs = self
                .relays
                .get_mut(i)
                .map(|r| r.handle_receive(now, d.contents))
                .unwrap_or_default();
            let relay_id = self.relays.get(i).map(Relay::id);
            self.drain_relays(now);
            let mut app = None;
            for (peer, data) in outputs {
                let Some(relay_id) = relay_id else { break };
                let Some(relayed) = self
                    .relays
                    .iter()
                    .find(|r| r.id() == relay_id)
                    .and_then(Relay::relayed)
                else {
                    continue;
                };
                if is_stun(&data) {
                    let inner = Datagram {
                        transport: Protocol::Udp,
                        local: relayed,
                        remote: peer,
                        contents: &data,
                    };
                    if let Err(e) = self.receive_stun(now, inner, Some(relay_id)) {
                        tracing::debug!(error = %e, "relayed stun dropped");
                        self.stats.dropped += 1;
                    }
                } else {
                    app = Some(RelayedData {
                        local: relayed,
                        remote: peer,
                        contents: data,
                    });
                }
            }
            return Ok(app);
        }
        if !self
            .sockets
            .iter()
            .any(|s| s.info.addr == d.local && s.info.protocol == d.transport)
        {
            return Err(Error::UnknownSocket(d.local));
        }
        self.receive_stun(now, d, None).map(|()| None)
    }

    fn receive_stun(
        &mut self,
        now: Instant,
        d: Datagram<'_>,
        relay: Option<u32>,
    ) -> Result<(), Error> {
        // RFC 7983: STUN starts with 0-3.
        if d.contents.first().is_none_or(|b| *b > 3) {
            return Err(Error::NotStun);
        }
        let msg = match Message::new_checked(d.contents) {
            Ok(m) => m,
            Err(oxrtc_stun::Error::NotStun) => return Err(Error::NotStun),
            Err(e) => return Err(e.into()),
        };
        match msg.class() {
            Class::Request if msg.method() == Method::Binding => {
                self.handle_request(now, d, &msg, relay)
            }
            Class::Indication => Ok(()), // keepalive (RFC 8445 §11)
            Class::SuccessResponse | Class::ErrorResponse => self.handle_response(now, d, &msg),
            _ => Err(Error::NotStun),
        }
    }

    fn handle_response(
        &mut self,
        now: Instant,
        d: Datagram<'_>,
        msg: &Message<&[u8]>,
    ) -> Result<(), Error> {
        let id = msg.transaction_id();
        let Some(tx) = self.txs.get_mut(&id) else {
            return Err(Error::UnknownTransaction);
        };
        if !tx.t.handle_response(now, msg)? {
            return Err(Error::UnknownTransaction);
        }
        let (purpose, cancelled) = (tx.purpose, tx.cancelled);
        let event = tx.t.poll_event();
        self.txs.remove(&id);
        if let Some(event) = event {
            self.on_tx_event(
                now,
                id,
                event,
                purpose,
                cancelled,
                Some((d.local, d.remote)),
            );
        }
        Ok(())
    }

    /// Answers a check and acts on it (RFC 8445 §7.3).
    fn handle_request(
        &mut self,
        now: Instant,
        d: Datagram<'_>,
        msg: &Message<&[u8]>,
        relay: Option<u32>,
    ) -> Result<(), Error> {
        let via = match relay {
            Some(r) => Via::Relay(r),
            None => Via::Socket {
                transport: d.transport,
                source: d.local,
            },
        };
        let Ok(Some(Username(username))) = msg.attribute::<Username<'_>>() else {
            self.respond_error(now, via, d.remote, msg, ErrorCode::BAD_REQUEST, None, None);
            return Err(Error::UnknownUsername);
        };
        let (to, _from) = username.split_once(':').unwrap_or((username, ""));
        let previous = self
            .previous
            .as_ref()
            .filter(|p| p.local_creds.creds.ufrag == to)
            .map(|p| p.local_creds.key.clone());
        let (key, is_previous) = if to == self.local.creds.ufrag {
            (self.local.key.clone(), false)
        } else if let Some(k) = previous {
            (k, true)
        } else {
            self.respond_error(now, via, d.remote, msg, ErrorCode::UNAUTHORIZED, None, None);
            return Err(Error::UnknownUsername);
        };
        if let Err(e) = msg.verify(&key) {
            match e {
                oxrtc_stun::Error::MissingIntegrity => {
                    self.respond_error(now, via, d.remote, msg, ErrorCode::BAD_REQUEST, None, None);
                }
                oxrtc_stun::Error::IntegrityMismatch => {
                    self.respond_error(
                        now,
                        via,
                        d.remote,
                        msg,
                        ErrorCode::UNAUTHORIZED,
                        None,
                        None,
                    );
                }
                _ => {} // bad or missing FINGERPRINT: silently dropped
            }
            return Err(e.into());
        }
        let unknown = msg.unknown_comprehension_required();
        if !unknown.is_empty() {
            self.respond_error(
                now,
                via,
                d.remote,
                msg,
                ErrorCode::UNKNOWN_ATTRIBUTE,
                Some(&key),
                Some(UnknownAttributes(unknown)),
            );
            return Ok(());
        }
        let mut priority = None;
        let mut use_candidate = false;
        let mut remote_controlling = None;
        for a in msg.attributes().flatten() {
            match a {
                oxrtc_stun::Attribute::Priority(Priority(p)) => priority = Some(p),
                oxrtc_stun::Attribute::UseCandidate(_) => use_candidate = true,
                oxrtc_stun::Attribute::IceControlling(IceControlling(t)) => {
                    remote_controlling = Some((true, t))
                }
                oxrtc_stun::Attribute::IceControlled(IceControlled(t)) => {
                    remote_controlling = Some((false, t))
                }
                _ => {}
            }
        }
        // The first NOMINATION; a malformed one counts as absent.
        let nomination = msg
            .attribute::<Nomination>()
            .ok()
            .flatten()
            .map(|Nomination(n)| n);

        if is_previous {
            // The pre-restart pair: answer (the peer keeps its consent), nothing else.
            self.respond_success(now, via, d.remote, msg, &key);
            return Ok(());
        }
        // Role conflict (RFC 8445 §7.3.1.1).
        if !self.config.lite {
            match remote_controlling {
                Some((true, t)) if self.controlling => {
                    if self.tie_breaker >= t {
                        self.respond_error(
                            now,
                            via,
                            d.remote,
                            msg,
                            ErrorCode::ROLE_CONFLICT,
                            Some(&key),
                            None,
                        );
                        return Ok(());
                    }
                    self.set_role(false);
                }
                Some((false, t)) if !self.controlling => {
                    if self.tie_breaker >= t {
                        self.set_role(true);
                    } else {
                        self.respond_error(
                            now,
                            via,
                            d.remote,
                            msg,
                            ErrorCode::ROLE_CONFLICT,
                            Some(&key),
                            None,
                        );
                        return Ok(());
                    }
                }
                _ => {}
            }
        }
        let Some(priority) = priority else {
            self.respond_error(now, via, d.remote, msg, ErrorCode::BAD_REQUEST, None, None);
            return Ok(());
        };
        self.stats.checks_received += 1;
        self.respond_success(now, via, d.remote, msg, &key);

        // Which local candidate it arrived on.
        let local = self
            .local_cands
            .iter()
            .find(|l| match relay {
                Some(r) => l.relay == Some(r) && l.cand.typ == CandidateType::Relayed,
                None => {
                    l.relay.is_none()
                        && l.cand.typ == CandidateType::Host
                        && l.socket == d.local
                        && l.cand.protocol == d.transport
                }
            })
            .map(|l| l.id);
        let Some(local) = local else {
            return Ok(());
        };
        if !self.local_cand(local).is_some_and(|l| self.pairable(l)) {
            return Ok(()); // e.g. a host socket under the relay-only policy
        }
        // Remote candidate, learning a peer-reflexive one (RFC 8445 §7.3.1.3).
        let remote = match self
            .remote_cands
            .iter()
            .find(|r| r.addr == d.remote && r.cand.protocol == d.transport)
        {
            Some(r) => r.id,
            None => {
                if self.remote_cands.len() >= self.config.max_remote_candidates {
                    return Ok(());
                }
                let tcp_type =
                    self.local_cand(local)
                        .and_then(|l| l.cand.tcp_type)
                        .map(|t| match t {
                            TcpType::Passive => TcpType::Active,
                            TcpType::Active => TcpType::Passive,
                            TcpType::SimultaneousOpen => TcpType::SimultaneousOpen,
                        });
                let foundation = format!("{}", self.next());
                let mut cand = Candidate::new(
                    foundation,
                    self.config.component,
                    d.transport,
                    priority,
                    d.remote,
                    CandidateType::PeerReflexive,
                );
                cand.tcp_type = tcp_type;
                cand.ufrag = self.remote.as_ref().map(|r| r.creds.ufrag.clone());
                let id = RemoteId(self.next());
                self.remote_cands.push(RemoteCand {
                    id,
                    cand,
                    addr: d.remote,
                });
                id
            }
        };
        let Some(pair) = self.add_pair(local, remote) else {
            return Ok(());
        };
        let Some((p_state, p_valid, p_tx)) = self.pair(pair).map(|p| (p.state, p.valid, p.tx))
        else {
            return Ok(());
        };
        if self.config.lite {
            // A lite agent checks nothing: an authenticated check proves the pair.
            if let Some(pm) = self.pair_mut(pair) {
                pm.state = PairState::Succeeded;
                pm.valid = true;
                pm.last_success = Some(now);
                pm.probe_sent = None;
                pm.consent_pending = None;
            }
            if use_candidate {
                self.select(pair);
            }
            return Ok(());
        }
        // Triggered check (RFC 8445 §7.3.1.4).
        match p_state {
            PairState::Succeeded => {}
            PairState::InProgress => {
                let superseded = p_valid
                    || p_tx
                        .and_then(|t| self.txs.get(&t))
                        .is_some_and(|t| t.triggered);
                if !superseded {
                    self.trigger(pair, false);
                }
            }
            PairState::Waiting | PairState::Frozen | PairState::Failed => {
                if let Some(pm) = self.pair_mut(pair) {
                    pm.state = PairState::Waiting;
                }
                self.trigger(pair, false);
            }
        }
        if self.controlling && p_valid && !self.config.lite {
            self.probe_selected(now, pair);
        }
        // Nomination by the controlling peer (RFC 8445 §7.3.1.5).
        let peer_checked = self.pair(pair).is_some_and(|p| p.peer_checked);
        if !use_candidate {
            if let Some(pm) = self.pair_mut(pair) {
                pm.peer_checked = true;
            }
        } else if !self.controlling {
            match nomination {
                Some(v) => {
                    if v <= self.remote_nomination_value && self.selected.is_some() {
                        return Ok(());
                    }
                    self.remote_nomination_value = v;
                }
                // Regular nomination follows a plain check of the pair; a nomination in
                // the very first check is the peer nominating aggressively (RFC 5245).
                None if !peer_checked && !p_valid => self.peer_aggressive = true,
                None => {}
            }
            if p_state == PairState::Succeeded && p_valid {
                self.accept_nomination(now, pair);
            } else if let Some(pm) = self.pair_mut(pair) {
                pm.nominate_on_success = true;
            }
        }
        Ok(())
    }

    /// The controlling peer nominated a valid pair. Regular nomination (and renomination):
    /// the latest nomination wins. Aggressive nomination (RFC 5245 §8.1.1.2) nominates in
    /// every check: the highest-priority nominated pair wins while it works.
    fn accept_nomination(&mut self, now: Instant, id: PairId) {
        if self.peer_aggressive && self.remote_nomination_value == 0 {
            let new_priority = self.pair(id).map_or(0, |p| p.priority);
            if let Some(sel) = self
                .selected
                .filter(|s| *s != id)
                .and_then(|s| self.pair(s))
            {
                let working = sel.valid
                    && self
                        .disconnected_at(sel.last_success, sel.consent_pending)
                        .is_none_or(|t| now < t);
                if working && sel.priority > new_priority {
                    return;
                }
            }
        }
        self.select(id);
    }

    fn respond_success(
        &mut self,
        now: Instant,
        via: Via,
        to: SocketAddr,
        req: &Message<&[u8]>,
        key: &IntegrityKey,
    ) {
        let mut out = Vec::with_capacity(64);
        let mut b = MessageBuilder::response_to(&mut out, req, Class::SuccessResponse);
        let ok = b.add(&XorMappedAddress(to)).is_ok()
            && b.add_message_integrity(key).is_ok()
            && b.add_fingerprint().is_ok();
        if ok {
            self.route(now, via, to, out);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn respond_error(
        &mut self,
        now: Instant,
        via: Via,
        to: SocketAddr,
        req: &Message<&[u8]>,
        code: ErrorCode<'static>,
        key: Option<&IntegrityKey>,
        unknown: Option<UnknownAttributes>,
    ) {
        let mut out = Vec::with_capacity(64);
        let mut b = MessageBuilder::response_to(&mut out, req, Class::ErrorResponse);
        let mut ok = b.add(&code).is_ok();
        if let Some(unknown) = &unknown {
            ok &= b.add(unknown).is_ok();
        }
        if let Some(key) = key {
            ok &= b.add_message_integrity(key).is_ok();
        }
        ok &= b.add_fingerprint().is_ok();
        if ok {
            self.route(now, via, to, out);
        }
    }

    // ---- state --------------------------------------------------------------------------

    /// The path data flows on: the selected pair, else the best valid pair, else the
    /// pre-restart pair.
    fn sending_path(&self) -> Option<PathRef> {
        if let Some(s) = self.selected {
            if self.pair(s).is_some_and(|p| p.valid) {
                return Some(PathRef::Pair(s));
            }
        }
        if self.previous.is_some() {
            return Some(PathRef::Previous);
        }
        self.pairs
            .iter()
            .filter(|p| p.valid)
            .max_by_key(|p| p.priority)
            .map(|p| PathRef::Pair(p.id))
    }

    /// What identifies the reported pair: which path, whether nominated, and the remote
    /// type (a peer-reflexive candidate can turn into a signalled one).
    fn path_key(&self, path: PathRef) -> Option<(PathRef, bool, CandidateType)> {
        match path {
            PathRef::Pair(id) => {
                let p = self.pair(id)?;
                Some((path, p.nominated, self.remote_cand(p.remote)?.cand.typ))
            }
            PathRef::Previous => {
                let p = self.previous.as_ref()?;
                Some((path, p.nominated, p.remote.cand.typ))
            }
        }
    }

    fn path_info(&self, path: PathRef) -> Option<SelectedPair> {
        let (l, r, nominated) = match path {
            PathRef::Pair(id) => {
                let p = self.pair(id)?;
                (
                    self.local_cand(p.local)?,
                    self.remote_cand(p.remote)?,
                    p.nominated,
                )
            }
            PathRef::Previous => {
                let p = self.previous.as_ref()?;
                (&p.local, &p.remote, p.nominated)
            }
        };
        let relay = l
            .relay
            .and_then(|id| self.relays.iter().find(|r| r.id() == id))
            .map(|r| RelayPath {
                server: r.server(),
                relayed: l.base,
            });
        let transport = match l
            .relay
            .and_then(|id| self.relays.iter().find(|r| r.id() == id))
        {
            Some(r) => r.transport(),
            None => l.cand.protocol,
        };
        Some(SelectedPair {
            local: l.cand.clone(),
            remote: r.cand.clone(),
            transport,
            source: l.socket,
            destination: match &relay {
                Some(rp) => rp.server,
                None => r.addr,
            },
            relay,
            nominated,
        })
    }

    /// Runs after every input: nomination, selected-pair and state events, gathering state.
    fn after_change(&mut self, now: Instant) {
        if self.state == ConnectionState::Closed {
            return;
        }
        self.drain_relays(now);
        self.nominate(now);
        if self.has_check_work() && self.next_check <= now && self.pace(now) {
            self.next_check = now + self.config.ta;
        }
        // The pair in use: start consent on a new one, report changes.
        let path = self.sending_path();
        if let Some(PathRef::Pair(id)) = path {
            if self.pair(id).is_some_and(|p| p.consent_next.is_none()) {
                let jitter = self.jitter(self.config.consent_interval);
                if let Some(p) = self.pair_mut(id) {
                    p.consent_next = Some(now + jitter);
                }
            }
        }
        // Compare cheaply (this runs after every datagram); build the event on change only.
        let key = path.and_then(|p| self.path_key(p));
        if key != self.reported {
            self.reported = key;
            if let Some(info) = path.and_then(|p| self.path_info(p)) {
                if let (Some(rp), Some(peer)) = (&info.relay, info.remote.socket_addr()) {
                    let relayed = rp.relayed;
                    if let Some(r) = self
                        .relays
                        .iter_mut()
                        .find(|r| r.relayed() == Some(relayed))
                    {
                        r.bind_channel(now, peer);
                    }
                    self.drain_relays(now);
                }
                self.emit(IceEvent::SelectedPairChange(Box::new(info)));
            }
        }
        if self.gather_started
            && self.gathering == GatheringState::Gathering
            && !self.gathering_busy()
        {
            self.set_gathering(GatheringState::Complete);
        }
        let state = self.compute_state(now);
        if state != self.state {
            if state == ConnectionState::Disconnected {
                // Re-check the other valid pairs: one of them may take over.
                let others: Vec<PairId> = self
                    .pairs
                    .iter()
                    .filter(|p| p.valid && Some(PathRef::Pair(p.id)) != path)
                    .map(|p| p.id)
                    .collect();
                for o in others {
                    self.trigger(o, false);
                }
            }
            if matches!(
                state,
                ConnectionState::Connected | ConnectionState::Completed
            ) {
                self.ever_connected = true;
            }
            self.state = state;
            self.emit(IceEvent::ConnectionStateChange(state));
        }
        // Checks the state change triggered go out now, not at a stale pacing slot.
        if self.has_check_work() && self.next_check <= now && self.pace(now) {
            self.next_check = now + self.config.ta;
        }
        self.flush_relay_transmits();
    }

    fn compute_state(&self, now: Instant) -> ConnectionState {
        if let Some(path) = self.sending_path() {
            let at = match path {
                PathRef::Pair(id) => self
                    .pair(id)
                    .and_then(|p| self.disconnected_at(p.last_success, p.consent_pending)),
                PathRef::Previous => self
                    .previous
                    .as_ref()
                    .and_then(|p| self.disconnected_at(Some(p.last_success), p.consent_pending)),
            };
            if at.is_some_and(|t| now >= t) {
                return ConnectionState::Disconnected;
            }
            let done = self.selected.is_some()
                && self.previous.is_none()
                && self.end_of_remote
                && self.gathering == GatheringState::Complete
                && self.triggered.is_empty()
                && self.pending_remote.is_empty()
                && !self.pairs.iter().any(|p| {
                    matches!(p.state, PairState::Waiting | PairState::InProgress)
                        || (p.state == PairState::Frozen && self.checkable(p))
                });
            return if done {
                ConnectionState::Completed
            } else {
                ConnectionState::Connected
            };
        }
        let checking = !self.triggered.is_empty()
            || !self.pending_remote.is_empty()
            || self.pairs.iter().any(|p| {
                matches!(p.state, PairState::Waiting | PairState::InProgress)
                    || (p.state == PairState::Frozen && self.checkable(p))
            });
        if self.config.lite {
            // A lite agent checks nothing: it fails when the peer stops checking.
            return if self.ever_connected {
                ConnectionState::Failed
            } else if self.pairs.is_empty() {
                ConnectionState::New
            } else {
                ConnectionState::Checking
            };
        }
        // Local candidates are all known once gathering completed, or, for an agent that
        // never gathers, once its sockets gave pairs: before gathering starts, an agent
        // whose only usable candidates are still to come (relay-only, an answerer that got
        // the offer first) has not failed.
        let local_done = self.gathering == GatheringState::Complete
            || (!self.gather_started && !self.pairs.is_empty());
        if self.remote.is_some()
            && !checking
            && local_done
            && (!self.pairs.is_empty() || self.end_of_remote)
        {
            return ConnectionState::Failed;
        }
        if self.ever_connected {
            return ConnectionState::Disconnected;
        }
        if self.pairs.is_empty() && self.remote_cands.is_empty() && self.pending_remote.is_empty() {
            return ConnectionState::New;
        }
        ConnectionState::Checking
    }
}

/// IPv4 169.254/16 and IPv6 fe80::/10.
fn is_link_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IceServer;
    use oxrtc_stun::{Attribute, AttributeType};

    const LOCAL: &str = "192.0.2.1:5000";
    const PEER: &str = "198.51.100.7:6000";
    const PEER_PWD: &str = "peerpasswordpeerpassword";

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    /// A controlled agent with one host socket, the peer's credentials, gathering started.
    fn agent(controlling: bool) -> (Agent, Instant) {
        let now = Instant::now();
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let config = AgentConfig {
            controlling,
            tie_breaker: Some(100),
            local_credentials: Some(
                Credentials::new("loca", "localpasswordlocalpassword").unwrap(),
            ),
            ..AgentConfig::default()
        };
        let mut a = Agent::new(config, now, &mut rng);
        a.add_host_socket(now, addr(LOCAL)).unwrap();
        a.set_remote_credentials(now, "peer", PEER_PWD).unwrap();
        a.gather(now);
        while a.poll_event().is_some() {}
        (a, now)
    }

    /// A check from the peer, signed with `pwd`.
    fn check(
        id: u8,
        username: &str,
        pwd: &str,
        extra: impl Fn(&mut MessageBuilder<'_>),
    ) -> Vec<u8> {
        let mut out = Vec::new();
        let mut b = MessageBuilder::new(
            &mut out,
            Class::Request,
            Method::Binding,
            TransactionId([id; 12]),
        );
        b.add(&Username(username)).unwrap();
        extra(&mut b);
        b.add_message_integrity(&IntegrityKey::short_term(pwd))
            .unwrap();
        b.add_fingerprint().unwrap();
        out
    }

    fn valid_check(id: u8, extra: impl Fn(&mut MessageBuilder<'_>)) -> Vec<u8> {
        check(id, "loca:peer", "localpasswordlocalpassword", |b| {
            b.add(&Priority(1_853_817_087)).unwrap();
            extra(b);
        })
    }

    fn receive(a: &mut Agent, now: Instant, bytes: &[u8]) -> Result<Option<RelayedData>, Error> {
        a.handle_receive(now, Datagram::udp(addr(LOCAL), addr(PEER), bytes))
    }

    /// The responses the agent sent back to the peer.
    fn responses(a: &mut Agent) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while let Some(t) = a.poll_transmit() {
            if let Ok(m) = Message::new_checked(&t.contents[..]) {
                if m.class().is_response() {
                    assert_eq!((t.source, t.destination), (addr(LOCAL), addr(PEER)));
                    out.push(t.contents);
                }
            }
        }
        out
    }

    fn error_code(bytes: &[u8]) -> Option<u16> {
        Message::new_checked(bytes)
            .unwrap()
            .attribute::<ErrorCode<'_>>()
            .unwrap()
            .map(|e| e.code)
    }

    #[test]
    fn valid_check_gets_a_signed_success_with_the_mapped_address() {
        let (mut a, now) = agent(false);
        receive(
            &mut a,
            now,
            &valid_check(1, |b| {
                b.add(&IceControlling(7)).unwrap();
            }),
        )
        .unwrap();
        let r = responses(&mut a);
        assert_eq!(r.len(), 1);
        let m = Message::new_checked(&r[0][..]).unwrap();
        assert_eq!(m.class(), Class::SuccessResponse);
        assert_eq!(m.transaction_id(), TransactionId([1; 12]));
        m.verify(&IntegrityKey::short_term("localpasswordlocalpassword"))
            .unwrap();
        assert_eq!(
            m.attribute::<XorMappedAddress>().unwrap(),
            Some(XorMappedAddress(addr(PEER)))
        );
        // The peer's address became a peer-reflexive candidate with the check's PRIORITY.
        let prflx = a.remote_candidates();
        assert_eq!(prflx.len(), 1);
        assert_eq!(prflx[0].typ, CandidateType::PeerReflexive);
        assert_eq!(prflx[0].priority, 1_853_817_087);
        assert_eq!(a.stats().checks_received, 1);
    }

    #[test]
    fn bad_requests_get_the_rfc_error_codes_and_change_nothing() {
        let (mut a, now) = agent(false);
        // No USERNAME: 400.
        let mut out = Vec::new();
        let mut b = MessageBuilder::new(
            &mut out,
            Class::Request,
            Method::Binding,
            TransactionId([2; 12]),
        );
        b.add_message_integrity(&IntegrityKey::short_term("localpasswordlocalpassword"))
            .unwrap();
        b.add_fingerprint().unwrap();
        assert_eq!(receive(&mut a, now, &out), Err(Error::UnknownUsername));
        assert_eq!(error_code(&responses(&mut a)[0]), Some(400));
        // Another agent's ufrag: 401.
        let req = check(3, "nope:peer", "localpasswordlocalpassword", |_| {});
        assert_eq!(receive(&mut a, now, &req), Err(Error::UnknownUsername));
        assert_eq!(error_code(&responses(&mut a)[0]), Some(401));
        // Wrong password: 401.
        let req = check(4, "loca:peer", "wrongpasswordwrongpassword", |_| {});
        assert!(matches!(
            receive(&mut a, now, &req),
            Err(Error::Stun(oxrtc_stun::Error::IntegrityMismatch))
        ));
        assert_eq!(error_code(&responses(&mut a)[0]), Some(401));
        // Bad FINGERPRINT: dropped silently.
        let mut req = valid_check(5, |_| {});
        let n = req.len();
        req[n - 1] ^= 1;
        assert!(receive(&mut a, now, &req).is_err());
        assert!(responses(&mut a).is_empty());
        // Unknown comprehension-required attribute: 420 listing it, signed.
        let req = valid_check(6, |b| {
            b.add_raw(AttributeType(0x7777), &[1, 2, 3, 4]).unwrap();
        });
        receive(&mut a, now, &req).unwrap();
        let r = responses(&mut a);
        assert_eq!(error_code(&r[0]), Some(420));
        let m = Message::new_checked(&r[0][..]).unwrap();
        assert_eq!(
            m.attribute::<UnknownAttributes>().unwrap(),
            Some(UnknownAttributes(vec![AttributeType(0x7777)]))
        );
        // No PRIORITY: 400.
        let req = check(7, "loca:peer", "localpasswordlocalpassword", |_| {});
        receive(&mut a, now, &req).unwrap();
        assert_eq!(error_code(&responses(&mut a)[0]), Some(400));
        // Not STUN at all.
        assert_eq!(receive(&mut a, now, &[0x80, 0, 0, 0]), Err(Error::NotStun));
        // None of it created a candidate or a pair, and all of it was counted.
        assert!(a.remote_candidates().is_empty());
        assert_eq!(a.pair_count(), 0);
        assert_eq!(a.stats().dropped, 5);
        assert_eq!(a.stats().checks_received, 0);
    }

    #[test]
    fn role_conflict_table() {
        // (we control?, peer claims controlling?, peer tie-breaker) → (487?, we control after)
        // Our tie-breaker is 100.
        let cases = [
            (true, true, 50, true, true),     // we win: 487, keep controlling
            (true, true, 100, true, true),    // tie: ours >= theirs wins
            (true, true, 150, false, false),  // we lose: switch to controlled
            (false, false, 50, false, true),  // both controlled, we win: take control
            (false, false, 150, true, false), // we lose: 487
            (true, false, 150, false, true),  // no conflict
            (false, true, 50, false, false),  // no conflict
        ];
        for (controlling, peer_controlling, t, want_487, want_controlling) in cases {
            let (mut a, now) = agent(controlling);
            let req = valid_check(9, |b| {
                if peer_controlling {
                    b.add(&IceControlling(t)).unwrap();
                } else {
                    b.add(&IceControlled(t)).unwrap();
                }
            });
            receive(&mut a, now, &req).unwrap();
            let r = responses(&mut a);
            let got_487 = r.iter().any(|r| error_code(r) == Some(487));
            assert_eq!(got_487, want_487, "{controlling} {peer_controlling} {t}");
            if got_487 {
                let m = Message::new_checked(&r[0][..]).unwrap();
                m.verify_integrity(&IntegrityKey::short_term("localpasswordlocalpassword"))
                    .unwrap();
                assert!(
                    a.remote_candidates().is_empty(),
                    "a rejected check changes nothing"
                );
            }
            assert_eq!(
                a.is_controlling(),
                want_controlling,
                "{controlling} {peer_controlling} {t}"
            );
        }
    }

    /// Our check goes out; the peer answers it with `answer`.
    fn answer_first_check(
        a: &mut Agent,
        now: Instant,
        answer: impl Fn(&Message<&[u8]>, &mut Vec<u8>),
    ) -> (Transmit, Vec<u8>) {
        a.add_remote_candidate(
            now,
            Candidate::new(
                "1",
                1,
                Protocol::Udp,
                2_130_706_431,
                addr(PEER),
                CandidateType::Host,
            ),
        )
        .unwrap();
        let t = a.poll_transmit().expect("a check at once");
        let req = Message::new_checked(&t.contents[..]).unwrap();
        let mut out = Vec::new();
        answer(&req, &mut out);
        (t, out)
    }

    #[test]
    fn our_checks_carry_the_rfc_attributes() {
        let (mut a, now) = agent(true);
        let (t, _) = answer_first_check(&mut a, now, |_, _| {});
        assert_eq!((t.source, t.destination), (addr(LOCAL), addr(PEER)));
        let m = Message::new_checked(&t.contents[..]).unwrap();
        m.verify(&IntegrityKey::short_term(PEER_PWD)).unwrap();
        let attrs: Vec<_> = m.attributes().map(|a| a.unwrap()).collect();
        assert!(attrs.contains(&Attribute::Username(Username("peer:loca"))));
        assert!(attrs.contains(&Attribute::IceControlling(IceControlling(100))));
        // PRIORITY: what a peer-reflexive candidate from this base would get.
        let host = a.local_candidates()[0].clone();
        let prio = attrs.iter().find_map(|a| match a {
            Attribute::Priority(Priority(p)) => Some(*p),
            _ => None,
        });
        assert_eq!(prio, Some((host.priority & 0x00ff_ffff) | (110 << 24)));
        assert!(!attrs
            .iter()
            .any(|a| matches!(a, Attribute::UseCandidate(_))));
    }

    #[test]
    fn success_makes_the_pair_valid_then_the_controlling_agent_nominates() {
        let (mut a, now) = agent(true);
        let (_, resp) = answer_first_check(&mut a, now, |req, out| {
            let mut b = MessageBuilder::response_to(out, req, Class::SuccessResponse);
            b.add(&XorMappedAddress(addr(LOCAL))).unwrap();
            b.add_message_integrity(&IntegrityKey::short_term(PEER_PWD))
                .unwrap();
            b.add_fingerprint().unwrap();
        });
        let later = now + Duration::from_millis(20);
        receive(&mut a, later, &resp).unwrap();
        assert_eq!(a.connection_state(), ConnectionState::Connected);
        let sel = a.selected_pair().unwrap();
        assert!(!sel.nominated);
        // Nothing better to wait for: the nominating check goes out at the next Ta.
        assert_eq!(a.poll_timeout(), Some(now + Duration::from_millis(50)));
        a.handle_timeout(now + Duration::from_millis(50));
        let t = a.poll_transmit().unwrap();
        let m = Message::new_checked(&t.contents[..]).unwrap();
        assert!(m.has_attribute(AttributeType::USE_CANDIDATE));
        let mut out = Vec::new();
        let mut b = MessageBuilder::response_to(&mut out, &m, Class::SuccessResponse);
        b.add(&XorMappedAddress(addr(LOCAL))).unwrap();
        b.add_message_integrity(&IntegrityKey::short_term(PEER_PWD))
            .unwrap();
        b.add_fingerprint().unwrap();
        receive(&mut a, now + Duration::from_millis(70), &out).unwrap();
        assert!(a.selected_pair().unwrap().nominated);
        let events: Vec<_> = std::iter::from_fn(|| a.poll_event()).collect();
        assert!(events
            .iter()
            .any(|e| matches!(e, IceEvent::SelectedPairChange(p) if p.nominated)));
    }

    #[test]
    fn a_consent_check_stays_due_when_an_input_passes_its_deadline() {
        let (mut a, now) = agent(true);
        let (_, resp) = answer_first_check(&mut a, now, |req, out| {
            let mut b = MessageBuilder::response_to(out, req, Class::SuccessResponse);
            b.add(&XorMappedAddress(addr(LOCAL))).unwrap();
            b.add_message_integrity(&IntegrityKey::short_term(PEER_PWD))
                .unwrap();
            b.add_fingerprint().unwrap();
        });
        receive(&mut a, now + Duration::from_millis(20), &resp).unwrap();
        // The nominating check, answered.
        a.handle_timeout(now + Duration::from_millis(50));
        let t = a.poll_transmit().unwrap();
        let m = Message::new_checked(&t.contents[..]).unwrap();
        assert!(m.has_attribute(AttributeType::USE_CANDIDATE));
        let mut out = Vec::new();
        let mut b = MessageBuilder::response_to(&mut out, &m, Class::SuccessResponse);
        b.add(&XorMappedAddress(addr(LOCAL))).unwrap();
        b.add_message_integrity(&IntegrityKey::short_term(PEER_PWD))
            .unwrap();
        b.add_fingerprint().unwrap();
        receive(&mut a, now + Duration::from_millis(70), &out).unwrap();
        assert!(a.selected_pair().unwrap().nominated);
        while a.poll_transmit().is_some() {}
        let sent = a.stats().checks_sent;
        // Consent is due about 5 s later (RFC 7675 jitter: 4-6 s). A check from the peer
        // arrives just after the deadline, before the runtime's timer fires (it sleeps
        // until poll_timeout and the socket won the race).
        let due = a.poll_timeout().unwrap();
        assert!(due >= now + Duration::from_secs(4) && due <= now + Duration::from_secs(7));
        let late = due + Duration::from_millis(3);
        receive(
            &mut a,
            late,
            &valid_check(9, |b| {
                b.add(&IceControlled(1)).unwrap();
            }),
        )
        .unwrap();
        assert!(
            a.poll_timeout().is_some_and(|t| t <= late),
            "the consent check must still be due"
        );
        a.handle_timeout(late);
        assert_eq!(a.stats().checks_sent, sent + 1, "consent check sent");
        assert!(a.poll_timeout().is_some_and(|t| t > late), "no busy loop");
    }

    #[test]
    fn unauthenticated_or_asymmetric_responses_do_not_validate() {
        let (mut a, now) = agent(true);
        // Signed with the wrong key: dropped, the check keeps running.
        let (_, resp) = answer_first_check(&mut a, now, |req, out| {
            let mut b = MessageBuilder::response_to(out, req, Class::SuccessResponse);
            b.add_message_integrity(&IntegrityKey::short_term("wrongwrongwrongwrongwrong"))
                .unwrap();
            b.add_fingerprint().unwrap();
        });
        assert!(receive(&mut a, now, &resp).is_err());
        assert!(a.selected_pair().is_none());
        assert_eq!(a.connection_state(), ConnectionState::Checking);
        // Correctly signed but from another address: the pair fails (RFC 8445 §7.2.5.2.1).
        let m = Message::new_checked(&resp[..]).unwrap();
        let mut out = Vec::new();
        let mut b = MessageBuilder::response_to(&mut out, &m, Class::SuccessResponse);
        b.add_message_integrity(&IntegrityKey::short_term(PEER_PWD))
            .unwrap();
        b.add_fingerprint().unwrap();
        let r = a.handle_receive(
            now,
            Datagram::udp(addr(LOCAL), addr("198.51.100.8:6000"), &out),
        );
        assert!(r.is_ok());
        assert!(a.selected_pair().is_none());
        // A response for no transaction.
        assert_eq!(receive(&mut a, now, &out), Err(Error::UnknownTransaction));
    }

    #[test]
    fn a_487_answer_switches_role_and_retries() {
        let (mut a, now) = agent(true);
        let (_, resp) = answer_first_check(&mut a, now, |req, out| {
            let mut b = MessageBuilder::response_to(out, req, Class::ErrorResponse);
            b.add(&ErrorCode::ROLE_CONFLICT).unwrap();
            b.add_message_integrity(&IntegrityKey::short_term(PEER_PWD))
                .unwrap();
            b.add_fingerprint().unwrap();
        });
        receive(&mut a, now, &resp).unwrap();
        assert!(!a.is_controlling());
        a.handle_timeout(now + Duration::from_millis(50));
        let t = a.poll_transmit().expect("the check is retried");
        let m = Message::new_checked(&t.contents[..]).unwrap();
        assert!(m.has_attribute(AttributeType::ICE_CONTROLLED));
        assert!(std::iter::from_fn(|| a.poll_event())
            .any(|e| e == IceEvent::RoleChange { controlling: false }));
    }

    #[test]
    fn checks_are_paced_by_ta_and_retransmitted() {
        let (mut a, now) = agent(true);
        for i in 0..3u8 {
            let peer = SocketAddr::from(([198, 51, 100, 10 + i], 7000));
            a.add_remote_candidate(
                now,
                Candidate::new(
                    format!("{i}"),
                    1,
                    Protocol::Udp,
                    100 + u32::from(i),
                    peer,
                    CandidateType::Host,
                ),
            )
            .unwrap();
        }
        // One check at once, the next ones 50 ms apart, highest priority first.
        let mut sent = Vec::new();
        let mut t = now;
        while sent.len() < 5 {
            while let Some(x) = a.poll_transmit() {
                sent.push((t - now, x.destination));
            }
            t = a.poll_timeout().unwrap();
            a.handle_timeout(t);
        }
        let ms: Vec<_> = sent.iter().map(|(d, _)| d.as_millis()).collect();
        assert_eq!(&ms[..3], &[0, 50, 100]);
        // The first candidate's check leaves as it is added; then by priority.
        let to: Vec<_> = sent[..3].iter().map(|(_, d)| d.ip().to_string()).collect();
        assert_eq!(to, ["198.51.100.10", "198.51.100.12", "198.51.100.11"]);
        // The first retransmission: RTO = max(500 ms, Ta × 3 checks in flight).
        assert_eq!(ms[3], 500);
    }

    #[test]
    fn time_going_backwards_is_ignored_and_early_timeouts_do_nothing() {
        let (mut a, now) = agent(true);
        a.add_remote_candidate(
            now,
            Candidate::new("1", 1, Protocol::Udp, 1, addr(PEER), CandidateType::Host),
        )
        .unwrap();
        while a.poll_transmit().is_some() {}
        let due = a.poll_timeout().unwrap();
        a.handle_timeout(now); // early
        assert!(a.poll_transmit().is_none());
        a.handle_timeout(now - Duration::from_secs(1)); // backwards
        assert!(a.poll_transmit().is_none());
        assert_eq!(a.poll_timeout(), Some(due));
    }

    #[test]
    fn remote_candidate_limits_and_validation() {
        let (mut a, now) = agent(true);
        let c = |port| {
            Candidate::new(
                "1",
                1,
                Protocol::Udp,
                1,
                SocketAddr::from(([198, 51, 100, 1], port)),
                CandidateType::Host,
            )
        };
        assert_eq!(
            a.add_remote_candidate(
                now,
                Candidate {
                    component: 2,
                    ..c(1)
                }
            ),
            Err(Error::UnusableCandidate("other component"))
        );
        assert_eq!(
            a.add_remote_candidate(
                now,
                Candidate {
                    ufrag: Some("old1".into()),
                    ..c(1)
                }
            ),
            Err(Error::StaleCandidate)
        );
        assert!(a
            .add_remote_candidate(
                now,
                Candidate::new(
                    "1",
                    1,
                    Protocol::Udp,
                    1,
                    addr("0.0.0.0:9"),
                    CandidateType::Host
                )
            )
            .is_err());
        for port in 1..=64 {
            a.add_remote_candidate(now, c(port)).unwrap();
        }
        assert_eq!(
            a.add_remote_candidate(now, c(65)),
            Err(Error::LimitReached("remote candidates"))
        );
        assert_eq!(a.remote_candidates().len(), 64);
        assert!(a.pair_count() <= 100);
        // A duplicate is not an error.
        a.add_remote_candidate(now, c(1)).unwrap();
    }

    #[test]
    fn unusable_sockets_and_credentials() {
        let (mut a, now) = agent(true);
        for bad in [
            "0.0.0.0:1",
            "127.0.0.1:1",
            "224.0.0.1:1",
            "169.254.1.1:1",
            "[fe80::1]:1",
            "192.0.2.9:0",
        ] {
            assert!(
                matches!(
                    a.add_host_socket(now, addr(bad)),
                    Err(Error::UnusableSocket(_))
                ),
                "{bad}"
            );
        }
        assert_eq!(
            a.set_remote_credentials(now, "x", "y"),
            Err(Error::InvalidCredentials)
        );
        assert!(!a.remove_local_socket(now, addr("192.0.2.99:1")));
    }

    #[test]
    fn closed_agent_ignores_everything() {
        let (mut a, now) = agent(true);
        a.close(now);
        assert_eq!(a.connection_state(), ConnectionState::Closed);
        assert_eq!(a.poll_timeout(), None);
        assert_eq!(
            receive(&mut a, now, &valid_check(1, |_| {})),
            Err(Error::Closed)
        );
        assert_eq!(a.send(now, b"x"), Err(Error::Closed));
        assert!(std::iter::from_fn(|| a.poll_event())
            .any(|e| e == IceEvent::ConnectionStateChange(ConnectionState::Closed)));
    }

    /// Answers every check the agent sent (from where it went), as a cooperative peer.
    fn answer_all(a: &mut Agent, now: Instant) {
        let sent: Vec<Transmit> = std::iter::from_fn(|| a.poll_transmit()).collect();
        for t in sent {
            let Ok(m) = Message::new_checked(&t.contents[..]) else {
                continue;
            };
            if m.class() != Class::Request {
                continue;
            }
            let mut out = Vec::new();
            let mut b = MessageBuilder::response_to(&mut out, &m, Class::SuccessResponse);
            b.add(&XorMappedAddress(t.source)).unwrap();
            b.add_message_integrity(&IntegrityKey::short_term(PEER_PWD))
                .unwrap();
            b.add_fingerprint().unwrap();
            a.handle_receive(now, Datagram::udp(t.source, t.destination, &out))
                .unwrap();
        }
    }

    /// A check from `from` with `PRIORITY` `prio`, nominating or not.
    fn peer_check(a: &mut Agent, now: Instant, id: u8, from: &str, prio: u32, nominate: bool) {
        let req = check(id, "loca:peer", "localpasswordlocalpassword", |b| {
            b.add(&Priority(prio)).unwrap();
            b.add(&IceControlling(7)).unwrap();
            if nominate {
                b.add(&UseCandidate).unwrap();
            }
        });
        a.handle_receive(now, Datagram::udp(addr(LOCAL), addr(from), &req))
            .unwrap();
    }

    fn selected_remote(a: &Agent) -> Option<SocketAddr> {
        a.selected_pair()
            .filter(|p| p.nominated)
            .map(|p| p.destination)
    }

    #[test]
    fn aggressive_nomination_selects_the_best_nominated_pair() {
        let (mut a, mut now) = agent(false);
        let (low, high) = ("198.51.100.7:6000", "198.51.100.8:6000");
        // Every check nominates, from the first one on (RFC 5245 aggressive nomination).
        peer_check(&mut a, now, 1, low, 1_000, true);
        answer_all(&mut a, now);
        assert_eq!(selected_remote(&a), Some(addr(low)));
        now += Duration::from_millis(50);
        a.handle_timeout(now);
        peer_check(&mut a, now, 2, high, 2_000_000_000, true);
        now += Duration::from_millis(50);
        a.handle_timeout(now);
        answer_all(&mut a, now);
        assert_eq!(
            selected_remote(&a),
            Some(addr(high)),
            "a better nominated pair wins"
        );
        // The next nominating check on the worse pair does not take it back.
        peer_check(&mut a, now, 3, low, 1_000, true);
        answer_all(&mut a, now);
        assert_eq!(selected_remote(&a), Some(addr(high)));
    }

    #[test]
    fn regular_nomination_follows_the_latest_nomination() {
        let (mut a, mut now) = agent(false);
        let (low, high) = ("198.51.100.7:6000", "198.51.100.8:6000");
        for (i, from, prio) in [(1, high, 2_000_000_000), (2, low, 1_000)] {
            // A plain check first, then the nomination (RFC 8445 §8.1.1).
            peer_check(&mut a, now, i, from, prio, false);
            now += Duration::from_millis(50);
            a.handle_timeout(now);
            answer_all(&mut a, now);
            peer_check(&mut a, now, i + 10, from, prio, true);
            answer_all(&mut a, now);
            assert_eq!(selected_remote(&a), Some(addr(from)));
        }
        // The controlling peer moved to the lower-priority pair (renomination after a
        // network change): followed.
        assert_eq!(selected_remote(&a), Some(addr(low)));
    }

    #[test]
    fn lite_agent_selects_on_use_candidate_and_keeps_the_path_alive() {
        let now = Instant::now();
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        let config = AgentConfig {
            lite: true,
            local_credentials: Some(
                Credentials::new("loca", "localpasswordlocalpassword").unwrap(),
            ),
            ..AgentConfig::default()
        };
        let mut a = Agent::new(config, now, &mut rng);
        assert!(!a.is_controlling());
        a.add_host_socket(now, addr(LOCAL)).unwrap();
        a.set_remote_credentials(now, "peer", PEER_PWD).unwrap();
        a.gather(now);
        receive(
            &mut a,
            now,
            &valid_check(1, |b| {
                b.add(&IceControlling(7)).unwrap();
                b.add(&UseCandidate).unwrap();
            }),
        )
        .unwrap();
        assert_eq!(responses(&mut a).len(), 1);
        assert!(a.selected_pair().unwrap().nominated);
        assert_eq!(a.connection_state(), ConnectionState::Connected);
        assert_eq!(a.stats().checks_sent, 0);
        // The peer's checks stop: disconnected after two consent intervals (10 s), a
        // Binding indication (keepalive, no request) after 15 s of silence, failed at 30 s.
        let t = a.poll_timeout().unwrap();
        assert_eq!(t, now + Duration::from_secs(10));
        a.handle_timeout(t);
        assert_eq!(a.connection_state(), ConnectionState::Disconnected);
        let t = a.poll_timeout().unwrap();
        assert_eq!(t, now + Duration::from_secs(15));
        a.handle_timeout(t);
        let k = a.poll_transmit().unwrap();
        let m = Message::new_checked(&k.contents[..]).unwrap();
        assert_eq!((m.class(), k.destination), (Class::Indication, addr(PEER)));
        assert_eq!(a.poll_timeout(), Some(now + Duration::from_secs(30)));
        a.handle_timeout(now + Duration::from_secs(30));
        assert_eq!(a.connection_state(), ConnectionState::Failed);
    }

    #[test]
    fn restart_with_uses_the_given_credentials() {
        let (mut a, now) = agent(true);
        let before = a.local_credentials().clone();
        // Invalid credentials: refused, nothing changes.
        let bad = Credentials {
            ufrag: "x".into(),
            pwd: "short".into(),
        };
        assert_eq!(a.restart_with(now, bad), Err(Error::InvalidCredentials));
        assert_eq!(a.local_credentials(), &before);
        assert!(a.poll_event().is_none());
        let creds = Credentials::new("newu", "newpasswordnewpassword01").unwrap();
        a.restart_with(now, creds.clone()).unwrap();
        assert_eq!(a.local_credentials(), &creds);
        // Local candidates are signalled again with the new ufrag.
        let again: Vec<Candidate> = std::iter::from_fn(|| a.poll_event())
            .filter_map(|e| match e {
                IceEvent::LocalCandidate(c) => Some(c),
                _ => None,
            })
            .collect();
        assert!(!again.is_empty());
        assert!(again.iter().all(|c| c.ufrag.as_deref() == Some("newu")));
    }

    #[test]
    fn set_controlling_switches_role_without_counting_a_conflict() {
        let (mut a, now) = agent(true);
        let conflicts = a.stats().role_conflicts;
        a.set_controlling(now, false);
        assert!(!a.is_controlling());
        assert_eq!(a.stats().role_conflicts, conflicts);
        assert!(std::iter::from_fn(|| a.poll_event())
            .any(|e| e == IceEvent::RoleChange { controlling: false }));
        // Checks now carry ICE-CONTROLLED.
        a.add_remote_candidate(
            now,
            Candidate::new(
                "1",
                1,
                Protocol::Udp,
                2_130_706_431,
                addr(PEER),
                CandidateType::Host,
            ),
        )
        .unwrap();
        let t = (0..50)
            .find_map(|i| {
                a.handle_timeout(now + Duration::from_millis(10 * i));
                a.poll_transmit()
            })
            .expect("a check");
        let m = Message::new_checked(&t.contents[..]).unwrap();
        assert!(m.has_attribute(AttributeType::ICE_CONTROLLED));
        // The same role again: no event.
        while a.poll_event().is_some() {}
        a.set_controlling(now, false);
        assert!(a.poll_event().is_none());
        // A lite agent never controls.
        let now = Instant::now();
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        let mut lite = Agent::new(
            AgentConfig {
                lite: true,
                ..AgentConfig::default()
            },
            now,
            &mut rng,
        );
        lite.set_controlling(now, true);
        assert!(!lite.is_controlling());
    }

    /// (method, source, destination) of every request the agent sends after `gather`.
    fn gathering_requests(
        sockets: &[&str],
        servers: Vec<IceServer>,
    ) -> Vec<(Method, String, String)> {
        let now = Instant::now();
        let mut rng = ChaCha20Rng::seed_from_u64(9);
        let config = AgentConfig {
            include_loopback: true,
            ice_servers: servers,
            ..AgentConfig::default()
        };
        let mut a = Agent::new(config, now, &mut rng);
        for s in sockets {
            a.add_host_socket(now, addr(s)).unwrap();
        }
        a.gather(now);
        let mut out = Vec::new();
        while let Some(t) = a.poll_transmit() {
            let m = Message::new_checked(&t.contents[..]).unwrap();
            out.push((m.method(), t.source.to_string(), t.destination.to_string()));
        }
        out.sort();
        out
    }

    #[test]
    fn turns_is_turn_over_a_stream_and_stuns_is_refused() {
        let now = Instant::now();
        let mut rng = ChaCha20Rng::seed_from_u64(9);
        let config = AgentConfig {
            include_loopback: true,
            transport_policy: TransportPolicy::Relay,
            ice_servers: vec![
                IceServer::turn("turns:127.0.0.1", "user", "pass"),
                IceServer::stun("stuns:127.0.0.1:5350"),
            ],
            ..AgentConfig::default()
        };
        let mut a = Agent::new(config, now, &mut rng);
        a.add_host_socket(now, addr("127.0.0.1:5000")).unwrap();
        a.gather(now);
        let t = a.poll_transmit().expect("an allocate request");
        assert_eq!(
            t.transport,
            Protocol::Tcp,
            "the runtime wraps the stream in tls"
        );
        assert_eq!(t.destination, addr("127.0.0.1:5349"), "default turns port");
        assert_eq!(t.source, addr("127.0.0.1:5000"));
        let m = Message::new_checked(&t.contents[..]).unwrap();
        assert_eq!(m.method(), Method::Allocate);
        assert!(a.poll_transmit().is_none(), "nothing for stuns:");
        let errors: Vec<_> = std::iter::from_fn(|| a.poll_event())
            .filter_map(|e| match e {
                IceEvent::ServerError { url, code, reason } => Some((url, code, reason)),
                _ => None,
            })
            .collect();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].0, "stuns:127.0.0.1:5350");
        assert_eq!(errors[0].1, 701);
        assert!(errors[0].2.contains("not supported"), "{}", errors[0].2);
        // The runtime could not open the TLS stream: the relay fails at once.
        assert_eq!(a.gathering_state(), GatheringState::Gathering);
        a.handle_stream_closed(
            now,
            addr("127.0.0.1:5000"),
            addr("127.0.0.1:5349"),
            "refused",
        );
        let failed: Vec<_> = std::iter::from_fn(|| a.poll_event())
            .filter(|e| matches!(e, IceEvent::ServerError { code: 701, .. }))
            .collect();
        assert_eq!(failed.len(), 1, "{failed:?}");
        assert_eq!(a.gathering_state(), GatheringState::Complete);
        let later = now + Duration::from_secs(5);
        a.handle_timeout(later);
        assert!(
            a.poll_transmit().is_none(),
            "no retransmission to a lost server"
        );
    }

    #[test]
    fn gathering_uses_only_sockets_that_reach_the_server_once_per_server() {
        let turn = |url: &str| IceServer::turn(url, "user", "pass");
        let req = |m: Method, s: &str, d: &str| (m, s.to_owned(), d.to_owned());
        let host = ["127.0.0.1:5000", "192.0.2.1:5001", "[2001:db8::1]:5002"];
        // A public TURN server listed twice (two spellings of one address), a loopback
        // one, a link-local one, and a STUN server.
        let servers = vec![
            turn("turn:198.51.100.9:3478"),
            turn("turn:198.51.100.9?transport=udp"),
            turn("turn:127.0.0.1:3479"),
            turn("turn:[fe80::1]:3478"),
            IceServer::stun("stun:198.51.100.9:3478"),
        ];
        assert_eq!(
            gathering_requests(&host, servers.clone()),
            vec![
                req(Method::Binding, "192.0.2.1:5001", "198.51.100.9:3478"),
                req(Method::Allocate, "127.0.0.1:5000", "127.0.0.1:3479"),
                req(Method::Allocate, "192.0.2.1:5001", "198.51.100.9:3478"),
            ],
            "one allocation per server and socket; loopback only with loopback; no \
             link-local socket for the link-local server"
        );
        // Without a loopback socket, a loopback server is reached from the routable one
        // (the packets stay on the host).
        assert_eq!(
            gathering_requests(&["192.0.2.1:5001"], vec![turn("turn:127.0.0.1:3479")]),
            vec![req(Method::Allocate, "192.0.2.1:5001", "127.0.0.1:3479")]
        );
        // Two routable interfaces: one allocation each (as browsers do), IPv6 to IPv6.
        assert_eq!(
            gathering_requests(
                &["192.0.2.1:5001", "198.51.100.3:5003", "[2001:db8::1]:5002"],
                vec![turn("turn:198.51.100.9"), turn("turn:[2001:db8::9]")]
            ),
            vec![
                req(Method::Allocate, "192.0.2.1:5001", "198.51.100.9:3478"),
                req(Method::Allocate, "198.51.100.3:5003", "198.51.100.9:3478"),
                req(Method::Allocate, "[2001:db8::1]:5002", "[2001:db8::9]:3478"),
            ]
        );
    }
}
