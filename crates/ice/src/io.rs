//! What crosses the agent's boundary: datagrams in, transmits out, events, states.

use std::net::SocketAddr;
use std::time::Duration;

use crate::candidate::{Candidate, Protocol, TcpType};

/// A datagram (or, over TCP, one RFC 4571 frame) the runtime received, for
/// [`Agent::handle_receive`](crate::Agent::handle_receive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Datagram<'a> {
    /// UDP, or TCP for ICE-TCP and TURN-over-TCP connections.
    pub transport: Protocol,
    /// The local socket it arrived on (as given to
    /// [`Agent::add_local_socket`](crate::Agent::add_local_socket)).
    pub local: SocketAddr,
    /// Where it came from.
    pub remote: SocketAddr,
    /// The bytes.
    pub contents: &'a [u8],
}

impl<'a> Datagram<'a> {
    /// A UDP datagram.
    pub fn udp(local: SocketAddr, remote: SocketAddr, contents: &'a [u8]) -> Self {
        Datagram {
            transport: Protocol::Udp,
            local,
            remote,
            contents,
        }
    }
}

/// Bytes to send, from [`Agent::poll_transmit`](crate::Agent::poll_transmit) or
/// [`Agent::send`](crate::Agent::send).
///
/// Over TCP, `source`/`destination` name the connection: for an active local candidate the
/// runtime opens (or reuses) a connection from that local address to `destination`, and
/// frames `contents` with RFC 4571's 16-bit length. To a TURN server over TCP (or TLS, for
/// `turns:`; see [`Agent::is_turn_server`](crate::Agent::is_turn_server)) the contents are
/// already framed (STUN messages, ChannelData padded to 4 bytes, RFC 8656 §12.5): the
/// runtime writes them as they are, from a connection opened from `source`'s interface, and
/// hands back each whole STUN or ChannelData message it reads, with `local` = `source`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct Transmit {
    /// UDP or TCP.
    pub transport: Protocol,
    /// The local socket to send from.
    pub source: SocketAddr,
    /// The destination.
    pub destination: SocketAddr,
    /// The bytes.
    pub contents: Vec<u8>,
}

/// A local socket the runtime owns, reported with
/// [`Agent::add_local_socket`](crate::Agent::add_local_socket). Each becomes a host
/// candidate (unless the transport policy is relay-only) and the base for server-reflexive
/// and relayed candidates gathered through it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LocalSocket {
    /// The bound address (a real interface address, not `0.0.0.0`). For a TCP active
    /// candidate, the interface address with port 9 (RFC 6544 §4.5).
    pub addr: SocketAddr,
    /// UDP or TCP.
    pub protocol: Protocol,
    /// For TCP: active (connects out), passive (listens) or so.
    pub tcp_type: Option<TcpType>,
    /// An identifier of the network interface, signalled as `network-id`; sockets on the
    /// same interface share it.
    pub network_id: Option<u32>,
    /// The network's cost, signalled as `network-cost` (10 for Wi-Fi/Ethernet, 900 for
    /// cellular, as browsers do); a higher cost lowers the candidates' local preference.
    pub network_cost: Option<u32>,
    /// Local preference (RFC 8445 §5.1.2.1) to use instead of the computed one.
    pub preference: Option<u16>,
}

impl LocalSocket {
    /// A UDP socket with nothing else specified.
    pub fn udp(addr: SocketAddr) -> Self {
        LocalSocket {
            addr,
            protocol: Protocol::Udp,
            tcp_type: None,
            network_id: None,
            network_cost: None,
            preference: None,
        }
    }

    /// A TCP socket: `Passive` for a listening socket at `addr`, `Active` for outgoing
    /// connections from the interface address `addr` (port 9 by convention).
    pub fn tcp(addr: SocketAddr, tcp_type: TcpType) -> Self {
        LocalSocket {
            protocol: Protocol::Tcp,
            tcp_type: Some(tcp_type),
            ..LocalSocket::udp(addr)
        }
    }

    /// Sets `network-id` and `network-cost`.
    pub fn with_network(mut self, network_id: u32, network_cost: u32) -> Self {
        self.network_id = Some(network_id);
        self.network_cost = Some(network_cost);
        self
    }
}

/// W3C `RTCIceGatheringState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GatheringState {
    /// [`Agent::gather`](crate::Agent::gather) has not been called.
    New,
    /// Server-reflexive or relayed candidates are being gathered.
    Gathering,
    /// Nothing is being gathered: signal end-of-candidates. A new local socket (network
    /// change) or an ICE restart goes back to `Gathering`.
    Complete,
}

/// W3C `RTCIceTransportState` (the connection state of one ICE transport).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectionState {
    /// Waiting for remote credentials and candidates.
    New,
    /// Checks are running; no pair works yet.
    Checking,
    /// A pair works and carries data; checks may still run.
    Connected,
    /// A pair is nominated, checking is done, end-of-candidates was received and gathering
    /// is complete.
    Completed,
    /// The pair in use stopped answering consent checks (or vanished with the network);
    /// the agent looks for another and may come back to `Connected`.
    Disconnected,
    /// No pair works and none is left to check, or consent expired with no other pair.
    /// New remote candidates or an ICE restart can bring it back to `Checking`.
    Failed,
    /// [`Agent::close`](crate::Agent::close) was called.
    Closed,
}

/// How the selected pair reaches the peer through a TURN server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RelayPath {
    /// The TURN server's address.
    pub server: SocketAddr,
    /// The relayed transport address allocated on it.
    pub relayed: SocketAddr,
}

/// The pair application data flows on: the candidates and the 5-tuple to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectedPair {
    /// The local candidate (host, or relayed).
    pub local: Candidate,
    /// The remote candidate.
    pub remote: Candidate,
    /// UDP or TCP.
    pub transport: Protocol,
    /// The local socket to send from.
    pub source: SocketAddr,
    /// The peer's address. Data goes there directly unless [`relay`](Self::relay) is set.
    pub destination: SocketAddr,
    /// When set, data must be wrapped for the TURN server: use
    /// [`Agent::send`](crate::Agent::send), which does it.
    pub relay: Option<RelayPath>,
    /// Whether the controlling agent nominated it; before that the agent sends on its best
    /// valid pair (RFC 8445 §12.1.1).
    pub nominated: bool,
}

/// What the agent reports, from [`Agent::poll_event`](crate::Agent::poll_event).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IceEvent {
    /// A local candidate to signal (trickle it, or put it in the SDP).
    LocalCandidate(Candidate),
    /// A local candidate that no longer exists (its socket was removed).
    LocalCandidateRemoved(Candidate),
    /// The gathering state changed.
    GatheringStateChange(GatheringState),
    /// The connection state changed.
    ConnectionStateChange(ConnectionState),
    /// The pair data flows on changed (first valid pair, nomination, network change).
    SelectedPairChange(Box<SelectedPair>),
    /// The role changed after a role conflict (RFC 8445 §7.3.1.1, §7.2.5.1).
    RoleChange {
        /// Whether the agent now controls.
        controlling: bool,
    },
    /// Resolve this host name (an mDNS `*.local` name of a remote candidate, or an ICE
    /// server's DNS name) and answer with
    /// [`Agent::handle_resolved`](crate::Agent::handle_resolved).
    Resolve {
        /// The name.
        name: String,
    },
    /// A STUN or TURN server failed (W3C `icecandidateerror`).
    ServerError {
        /// The server's URL.
        url: String,
        /// The STUN error code, or 701 when the server did not answer (W3C).
        code: u16,
        /// Why.
        reason: String,
    },
}

/// Application data that arrived through a TURN relay, unwrapped: from
/// [`Agent::handle_receive`](crate::Agent::handle_receive). Hand it to DTLS/SRTP as if it
/// had arrived on a socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayedData {
    /// The relayed address it arrived on.
    pub local: SocketAddr,
    /// The peer that sent it.
    pub remote: SocketAddr,
    /// The payload.
    pub contents: Vec<u8>,
}

/// Round trips of the selected pair, from
/// [`Agent::selected_pair_stats`](crate::Agent::selected_pair_stats) (W3C
/// `RTCIceCandidatePairStats`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PairStats {
    /// Successful responses to checks (connectivity and consent) on this pair.
    pub responses_received: u64,
    /// The latest round trip measured: a check answered without a retransmission (Karn's
    /// rule: a retransmitted check measures nothing).
    pub current_round_trip_time: Option<Duration>,
    /// The sum of every round trip measured on this pair.
    pub total_round_trip_time: Duration,
}

/// Counters, from [`Agent::stats`](crate::Agent::stats).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AgentStats {
    /// Connectivity checks sent (first transmissions, consent checks included).
    pub checks_sent: u64,
    /// Authenticated checks received.
    pub checks_received: u64,
    /// Successful responses to our checks.
    pub responses_received: u64,
    /// Datagrams dropped: malformed, unauthenticated, unknown transactions, non-STUN.
    pub dropped: u64,
    /// Role conflicts resolved.
    pub role_conflicts: u64,
    /// Transmits or events dropped because the caller did not drain the queues.
    pub queue_overflows: u64,
}
