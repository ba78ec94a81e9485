//! Relayed candidates: one TURN allocation per (server, local socket), through
//! oxrtc-turn's sans-IO client.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use oxrtc_stun::{Class, Message, Method};
use oxrtc_turn::{is_channel_data, Client, ClientConfig, Event, TurnTransport};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

use crate::candidate::Protocol;
use crate::io::Transmit;

/// What a relay reports to the agent (its datagrams for the server leave through
/// [`Relay::poll_transmit`]).
#[derive(Debug)]
pub(crate) enum RelayOutput {
    /// The allocation exists: the relayed candidate, and the server-reflexive address the
    /// server saw.
    Allocated {
        relayed: SocketAddr,
        mapped: Option<SocketAddr>,
    },
    /// The allocation failed or is gone.
    Failed { code: u16, reason: String },
    /// Creating or refreshing the permission for `peer` failed: the server `refused` it
    /// (an error response such as 403), or the request went unanswered.
    PermissionFailed { peer: IpAddr, refused: bool },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Allocating,
    Allocated,
    Closed,
}

/// One TURN allocation and the client that keeps it.
#[derive(Debug)]
pub(crate) struct Relay {
    id: u32,
    server_index: usize,
    socket: SocketAddr,
    transport: Protocol,
    client: Client,
    relayed: Option<SocketAddr>,
    state: State,
    /// The stream to the server is gone: the client is silenced for good.
    lost: bool,
    /// Datagrams for the server, in order. The agent moves them to its own queue right
    /// after every command, so a CreatePermission never waits for the next input.
    transmits: VecDeque<Transmit>,
    pending: VecDeque<RelayOutput>,
    data: Vec<(SocketAddr, Vec<u8>)>,
}

impl Relay {
    /// Starts allocating on `server` from the local `socket`. `None` if the client refuses
    /// to start (it never does for a fresh client).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        id: u32,
        server_index: usize,
        socket: SocketAddr,
        server: SocketAddr,
        transport: Protocol,
        username: &str,
        password: &str,
        now: Instant,
        rng: &mut ChaCha20Rng,
    ) -> Option<Self> {
        let turn_transport = match transport {
            Protocol::Udp => TurnTransport::Udp,
            Protocol::Tcp => TurnTransport::Tcp,
        };
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        let config = ClientConfig::new(server, turn_transport, username, password);
        let mut client = Client::new(config, now, ChaCha20Rng::from_seed(seed));
        client.allocate(now).ok()?;
        let mut relay = Relay {
            id,
            server_index,
            socket,
            transport,
            client,
            relayed: None,
            state: State::Allocating,
            lost: false,
            transmits: VecDeque::new(),
            pending: VecDeque::new(),
            data: Vec::new(),
        };
        relay.pump();
        Some(relay)
    }

    pub(crate) fn id(&self) -> u32 {
        self.id
    }

    pub(crate) fn server_index(&self) -> usize {
        self.server_index
    }

    /// The local socket the allocation lives on.
    pub(crate) fn socket(&self) -> SocketAddr {
        self.socket
    }

    /// The TURN server (it may change after a redirect).
    pub(crate) fn server(&self) -> SocketAddr {
        self.client.server()
    }

    /// How the server is reached.
    pub(crate) fn transport(&self) -> Protocol {
        self.transport
    }

    pub(crate) fn relayed(&self) -> Option<SocketAddr> {
        self.relayed
    }

    pub(crate) fn is_pending(&self) -> bool {
        self.state == State::Allocating
    }

    /// Whether a datagram on `local` from `remote` is this relay's server talking.
    pub(crate) fn matches(&self, local: SocketAddr, remote: SocketAddr) -> bool {
        self.state != State::Closed && self.socket == local && self.client.server() == remote
    }

    /// The stream to the server (TCP, TLS) ended: the allocation is gone with it (RFC 8656
    /// §3.1 ties it to the connection).
    pub(crate) fn connection_lost(&mut self, reason: &str) {
        if !self.lost {
            self.lost = true;
            self.state = State::Closed;
            self.transmits.clear();
            self.data.clear();
            self.pending.push_back(RelayOutput::Failed {
                code: 701,
                reason: format!("connection to the turn server lost: {reason}"),
            });
        }
    }

    /// Releases the allocation (a Refresh with lifetime 0).
    pub(crate) fn close(&mut self, now: Instant) {
        if self.state != State::Closed {
            let _ = self.client.deallocate(now);
            self.state = State::Closed;
            self.pump();
        }
    }

    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        if !self.lost && self.client.poll_timeout().is_some_and(|t| t <= now) {
            self.client.handle_timeout(now);
            self.pump();
        }
    }

    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        if self.lost {
            return None;
        }
        self.client.poll_timeout()
    }

    /// The next event.
    pub(crate) fn poll(&mut self, _now: Instant) -> Option<RelayOutput> {
        self.pump();
        self.pending.pop_front()
    }

    /// The next datagram for the server.
    pub(crate) fn poll_transmit(&mut self) -> Option<Transmit> {
        self.pump();
        self.transmits.pop_front()
    }

    /// Installs a permission for `peer` ahead of any data (RFC 8656 §9): done for every
    /// remote candidate paired with the relayed candidate, as browsers do, so the peer's
    /// first checks are let through and ours leave one round trip to the server later,
    /// not after a retransmission. Nothing if one exists or is on its way.
    pub(crate) fn create_permission(&mut self, now: Instant, peer: SocketAddr) {
        if self.state != State::Allocated || self.client.has_permission(peer.ip()) {
            return;
        }
        if let Err(e) = self.client.create_permission(now, peer.ip()) {
            tracing::debug!(error = %e, %peer, "permission not requested");
        }
        self.pump();
    }

    /// A datagram (UDP) or bytes of the connection (TCP) from the server; returns what
    /// peers sent through the relay.
    pub(crate) fn handle_receive(
        &mut self,
        now: Instant,
        data: &[u8],
    ) -> Vec<(SocketAddr, Vec<u8>)> {
        let server = self.client.server();
        let result = match self.transport {
            Protocol::Udp => self.client.handle_receive(now, server, data),
            Protocol::Tcp => self.client.handle_stream_data(now, data),
        };
        if let Err(e) = result {
            tracing::debug!(error = %e, "turn input dropped");
        }
        self.pump();
        core::mem::take(&mut self.data)
    }

    /// Wraps `data` for `peer`: returns the datagram for the server when it can go now; a
    /// permission request goes first otherwise (queued in [`poll_transmit`](Self::poll_transmit),
    /// the data waits in the client and leaves there once the permission is installed).
    pub(crate) fn send_to(
        &mut self,
        now: Instant,
        peer: SocketAddr,
        data: &[u8],
    ) -> Option<Transmit> {
        if self.lost {
            return None;
        }
        if let Err(e) = self.client.send_to(now, peer, data) {
            tracing::debug!(error = %e, %peer, "relay send failed");
            return None;
        }
        let mut data_transmit = None;
        while let Some(t) = self.client.poll_transmit() {
            let t = self.wrap(t);
            if data_transmit.is_none() && is_data(&t.contents) {
                data_transmit = Some(t);
            } else {
                self.transmits.push_back(t);
            }
        }
        self.pump();
        data_transmit
    }

    /// Binds a channel to `peer` (done for the selected pair): 4-byte ChannelData headers
    /// instead of 36-byte Send indications.
    pub(crate) fn bind_channel(&mut self, now: Instant, peer: SocketAddr) {
        if !self.lost && self.client.channel(peer).is_none() {
            if let Err(e) = self.client.bind_channel(now, peer) {
                tracing::debug!(error = %e, %peer, "channel bind failed");
            }
            self.pump();
        }
    }

    fn wrap(&self, t: oxrtc_turn::Transmit) -> Transmit {
        Transmit {
            transport: if t.transport.is_stream() {
                Protocol::Tcp
            } else {
                Protocol::Udp
            },
            source: self.socket,
            destination: t.destination,
            contents: t.contents,
        }
    }

    /// Moves the client's outputs into ours.
    fn pump(&mut self) {
        if self.lost {
            // Nothing more goes to or comes from a server whose connection is gone.
            while self.client.poll_transmit().is_some() {}
            while self.client.poll_event().is_some() {}
            return;
        }
        while let Some(t) = self.client.poll_transmit() {
            let t = self.wrap(t);
            self.transmits.push_back(t);
        }
        while let Some(e) = self.client.poll_event() {
            match e {
                Event::Allocated {
                    relayed, mapped, ..
                } => {
                    self.state = State::Allocated;
                    self.relayed = Some(relayed);
                    self.pending
                        .push_back(RelayOutput::Allocated { relayed, mapped });
                }
                Event::AllocationFailed(err) => {
                    self.state = State::Closed;
                    let code = match &err {
                        oxrtc_turn::Error::Response(r) => r.code(),
                        _ => 701,
                    };
                    self.pending.push_back(RelayOutput::Failed {
                        code,
                        reason: err.to_string(),
                    });
                }
                Event::Expired => {
                    self.state = State::Closed;
                    self.pending.push_back(RelayOutput::Failed {
                        code: 701,
                        reason: "turn allocation expired".into(),
                    });
                }
                Event::PermissionFailed { peer, error } => {
                    tracing::debug!(%peer, %error, "turn permission failed");
                    let refused = matches!(error, oxrtc_turn::Error::Response(_));
                    self.pending
                        .push_back(RelayOutput::PermissionFailed { peer, refused });
                }
                Event::Data { peer, data } => {
                    if self.data.len() < 64 {
                        self.data.push((peer, data));
                    }
                }
                other => tracing::trace!(event = ?other, "turn client event"),
            }
        }
    }
}

/// Whether a message for the server carries peer data (ChannelData or a Send indication)
/// rather than a request.
fn is_data(contents: &[u8]) -> bool {
    if is_channel_data(contents) {
        return true;
    }
    Message::new_checked(contents)
        .is_ok_and(|m| m.class() == Class::Indication && m.method() == Method::Send)
}
