//! A TURN relay for the simulator: oxrtc-turn's server core with relayed addresses on its
//! own IP.

use std::net::SocketAddr;
use std::time::Instant;

use oxrtc_turn::{
    ClientOutcome, FiveTuple, PeerFilter, Server, ServerConfig, ServerEvent, TurnTransport,
};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

use super::network::ServerCore;
use crate::candidate::Protocol;
use crate::io::{Datagram, Transmit};

/// oxrtc-turn's [`Server`] as a [`ServerCore`]: clients talk to `listen` (UDP or TCP),
/// relayed addresses are other ports of the same IP (from 49152 up), and peers reach them
/// there. Private peers are allowed (the simulator's private networks are 10.0.0.0/8).
pub struct TurnRelay {
    server: Server,
    listen: SocketAddr,
    next_port: u16,
}

impl core::fmt::Debug for TurnRelay {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TurnRelay")
            .field("listen", &self.listen)
            .field("stats", &self.server.stats())
            .finish_non_exhaustive()
    }
}

impl TurnRelay {
    /// A relay listening on `listen` with long-term credentials for `users`.
    pub fn new(listen: SocketAddr, users: &[(&str, &str)], now: Instant, seed: u64) -> Self {
        let config = ServerConfig {
            users: users
                .iter()
                .map(|(u, p)| ((*u).to_owned(), (*p).to_owned()))
                .collect(),
            peer_filter: PeerFilter {
                allow_private: true,
                ..PeerFilter::default()
            },
            ..ServerConfig::default()
        };
        Self::with_config(listen, config, now, seed)
    }

    /// A relay listening on `listen` with a server configuration of the caller's (users,
    /// quotas, which peers it relays to). Host it with [`Network::new_address`] and
    /// [`Network::add_server`].
    ///
    /// [`Network::new_address`]: super::Network::new_address
    /// [`Network::add_server`]: super::Network::add_server
    pub fn with_config(listen: SocketAddr, config: ServerConfig, now: Instant, seed: u64) -> Self {
        TurnRelay {
            server: Server::new(config, now, ChaCha20Rng::seed_from_u64(seed)),
            listen,
            next_port: 49152,
        }
    }

    /// The server core (stats, allocations).
    pub fn server(&self) -> &Server {
        &self.server
    }

    fn drain(&mut self, now: Instant, out: &mut Vec<Transmit>) {
        while let Some(t) = self.server.poll_transmit() {
            out.push(Transmit {
                transport: match t.tuple.transport {
                    TurnTransport::Udp => Protocol::Udp,
                    _ => Protocol::Tcp,
                },
                source: t.tuple.server,
                destination: t.tuple.client,
                contents: t.contents,
            });
        }
        while let Some(e) = self.server.poll_event() {
            if let ServerEvent::BindRelay { allocation, .. } = e {
                let port = self.next_port;
                self.next_port = self.next_port.checked_add(1).unwrap_or(49152);
                let relay = SocketAddr::new(self.listen.ip(), port);
                self.server.relay_bound(now, allocation, Some(relay), None);
            }
        }
        while let Some(t) = self.server.poll_transmit() {
            out.push(Transmit {
                transport: match t.tuple.transport {
                    TurnTransport::Udp => Protocol::Udp,
                    _ => Protocol::Tcp,
                },
                source: t.tuple.server,
                destination: t.tuple.client,
                contents: t.contents,
            });
        }
    }
}

impl ServerCore for TurnRelay {
    fn handle(&mut self, now: Instant, d: Datagram<'_>, out: &mut Vec<Transmit>) {
        if d.local == self.listen {
            let tuple = FiveTuple {
                transport: match d.transport {
                    Protocol::Udp => TurnTransport::Udp,
                    Protocol::Tcp => TurnTransport::Tcp,
                },
                client: d.remote,
                server: d.local,
            };
            if let ClientOutcome::Relay { relay, peer, data } =
                self.server.handle_client(now, tuple, d.contents)
            {
                out.push(Transmit {
                    transport: Protocol::Udp,
                    source: relay,
                    destination: peer,
                    contents: data.to_vec(),
                });
            }
        } else if d.transport == Protocol::Udp {
            let mut wrapped = Vec::new();
            if let Some(tuple) =
                self.server
                    .handle_peer(now, d.local, d.remote, d.contents, &mut wrapped)
            {
                out.push(Transmit {
                    transport: match tuple.transport {
                        TurnTransport::Udp => Protocol::Udp,
                        _ => Protocol::Tcp,
                    },
                    source: tuple.server,
                    destination: tuple.client,
                    contents: wrapped,
                });
            }
        }
        self.drain(now, out);
    }

    fn handle_timeout(&mut self, now: Instant, out: &mut Vec<Transmit>) {
        self.server.handle_timeout(now);
        self.drain(now, out);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.server.poll_timeout()
    }
}
