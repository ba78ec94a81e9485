//! An in-memory network on a virtual clock: sans-IO TURN clients, the sans-IO server and
//! peers, with no sockets. The same seed gives the same run.

#![allow(dead_code, clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use oxrtc_stun::{AddressFamily, ConnectionId};
use oxrtc_turn::*;
use rand::rngs::StdRng;
use rand::SeedableRng;

pub const SERVER: &str = "192.0.2.1:3478";
pub const USER: &str = "alice";
pub const PASS: &str = "wonderland";

pub fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

pub struct Slot {
    pub client: Client,
    pub events: Vec<Event>,
    /// Frozen clients neither send nor receive nor see time pass: a crashed client.
    pub frozen: bool,
    /// Server messages to this client to lose, counting down.
    pub lose_from_server: usize,
    /// The server's framer for this client's TCP connection.
    pub server_framer: StreamFramer,
}

pub struct Sim {
    pub now: Instant,
    pub server: Server,
    pub server_addr: SocketAddr,
    pub clients: BTreeMap<SocketAddr, Slot>,
    /// Relayed addresses handed out, with their allocation.
    pub relays: BTreeMap<SocketAddr, AllocationId>,
    /// Ports kept for reservations.
    pub reserved: std::collections::BTreeSet<SocketAddr>,
    /// What peers received: (peer, from relay, data).
    pub peer_inbox: Vec<(SocketAddr, SocketAddr, Vec<u8>)>,
    pub server_events: Vec<ServerEvent>,
    /// RFC 6062: the runtime's answer to ConnectPeer.
    pub peers_accept_tcp: bool,
    /// Answer BindRelay with failure.
    pub relay_bind_fails: bool,
    next_port: u16,
    rng: StdRng,
}

impl Sim {
    pub fn new(config: ServerConfig) -> Sim {
        let now = Instant::now();
        let mut rng = StdRng::seed_from_u64(42);
        let server = Server::new(config, now, StdRng::seed_from_u64(1));
        let _ = &mut rng;
        Sim {
            now,
            server,
            server_addr: addr(SERVER),
            clients: BTreeMap::new(),
            relays: BTreeMap::new(),
            reserved: Default::default(),
            peer_inbox: Vec::new(),
            server_events: Vec::new(),
            peers_accept_tcp: true,
            relay_bind_fails: false,
            next_port: 49152,
            rng,
        }
    }

    /// A server config with the test user and loopback-free defaults.
    pub fn config() -> ServerConfig {
        ServerConfig {
            realm: "sim".into(),
            users: vec![(USER.into(), PASS.into())],
            ..Default::default()
        }
    }

    pub fn add_client(&mut self, local: &str, transport: TurnTransport) -> SocketAddr {
        self.add_client_with(
            local,
            ClientConfig::new(self.server_addr, transport, USER, PASS),
        )
    }

    pub fn add_client_with(&mut self, local: &str, config: ClientConfig) -> SocketAddr {
        let local = addr(local);
        let client = Client::new(config, self.now, StdRng::seed_from_u64(local.port().into()));
        self.clients.insert(
            local,
            Slot {
                client,
                events: Vec::new(),
                frozen: false,
                lose_from_server: 0,
                server_framer: StreamFramer::new(),
            },
        );
        local
    }

    pub fn client(&mut self, local: SocketAddr) -> &mut Client {
        &mut self.clients.get_mut(&local).unwrap().client
    }

    pub fn take_events(&mut self, local: SocketAddr) -> Vec<Event> {
        std::mem::take(&mut self.clients.get_mut(&local).unwrap().events)
    }

    pub fn tuple(&self, local: SocketAddr) -> FiveTuple {
        FiveTuple {
            transport: self.clients[&local].client.transport(),
            client: local,
            server: self.server_addr,
        }
    }

    /// Delivers messages until nothing moves.
    pub fn run(&mut self) {
        for _ in 0..10_000 {
            if !self.step() {
                return;
            }
        }
        panic!("the simulation does not settle");
    }

    fn step(&mut self) -> bool {
        let mut moved = false;
        let locals: Vec<SocketAddr> = self.clients.keys().copied().collect();
        for local in locals {
            loop {
                let slot = self.clients.get_mut(&local).unwrap();
                if slot.frozen {
                    break;
                }
                let Some(t) = slot.client.poll_transmit() else {
                    break;
                };
                moved = true;
                assert_eq!(t.destination, self.server_addr);
                let tuple = FiveTuple {
                    transport: t.transport,
                    client: local,
                    server: self.server_addr,
                };
                let frames: Vec<Vec<u8>> = if t.transport.is_stream() {
                    let framer = &mut slot.server_framer;
                    framer.push(&t.contents);
                    let mut v = Vec::new();
                    while let Some(f) = framer.next_frame().unwrap() {
                        v.push(f.as_bytes().to_vec());
                    }
                    v
                } else {
                    vec![t.contents]
                };
                for f in frames {
                    self.deliver_to_server(tuple, &f);
                }
            }
        }
        while let Some(t) = self.server.poll_transmit() {
            moved = true;
            self.deliver_to_client(t.tuple.client, &t.contents);
        }
        while let Some(e) = self.server.poll_event() {
            moved = true;
            self.on_server_event(e);
        }
        for (local, slot) in &mut self.clients {
            let _ = local;
            while let Some(e) = slot.client.poll_event() {
                moved = true;
                slot.events.push(e);
            }
        }
        moved
    }

    /// Feeds one message to the server as if from `tuple`; relays what it says to relay.
    pub fn deliver_to_server(&mut self, tuple: FiveTuple, data: &[u8]) -> bool {
        let now = self.now;
        match self.server.handle_client(now, tuple, data) {
            ClientOutcome::Relay { relay, peer, data } => {
                self.peer_inbox.push((peer, relay, data.to_vec()));
                true
            }
            ClientOutcome::Handled => true,
            ClientOutcome::Dropped => false,
        }
    }

    fn deliver_to_client(&mut self, local: SocketAddr, data: &[u8]) {
        let now = self.now;
        let server = self.server_addr;
        let Some(slot) = self.clients.get_mut(&local) else {
            return;
        };
        if slot.frozen {
            return;
        }
        if slot.lose_from_server > 0 {
            slot.lose_from_server -= 1;
            return;
        }
        if slot.client.transport().is_stream() {
            slot.client.handle_stream_data(now, data).unwrap();
        } else {
            let _ = slot.client.handle_receive(now, server, data);
        }
    }

    fn on_server_event(&mut self, e: ServerEvent) {
        let now = self.now;
        match &e {
            ServerEvent::BindRelay {
                allocation,
                family,
                even_port,
                reserve_next,
                reserved,
                ..
            } => {
                if self.relay_bind_fails {
                    self.server.relay_bound(now, *allocation, None, None);
                } else if let Some(r) = reserved {
                    assert!(self.reserved.remove(r), "unknown reservation {r}");
                    self.relays.insert(*r, *allocation);
                    self.server.relay_bound(now, *allocation, Some(*r), None);
                } else {
                    let ip: IpAddr = match family {
                        AddressFamily::IPv4 => "192.0.2.1".parse().unwrap(),
                        AddressFamily::IPv6 => "2001:db8::1".parse().unwrap(),
                    };
                    if *even_port && self.next_port % 2 == 1 {
                        self.next_port += 1;
                    }
                    let relay = SocketAddr::new(ip, self.next_port);
                    self.next_port += 1;
                    let kept = reserve_next.then(|| {
                        let r = SocketAddr::new(ip, self.next_port);
                        self.next_port += 1;
                        self.reserved.insert(r);
                        r
                    });
                    self.relays.insert(relay, *allocation);
                    self.server.relay_bound(now, *allocation, Some(relay), kept);
                }
            }
            ServerEvent::ReleaseReservation { relay } => {
                assert!(self.reserved.remove(relay));
            }
            ServerEvent::ReleaseRelay { relay: Some(r), .. } => {
                self.relays.remove(r);
            }
            ServerEvent::ConnectPeer { connection_id, .. } => {
                self.server
                    .peer_connected(now, *connection_id, self.peers_accept_tcp);
            }
            _ => {}
        }
        self.server_events.push(e);
    }

    /// A peer sends a datagram to a relayed address; returns whether the server relayed it.
    pub fn peer_send(&mut self, peer: SocketAddr, relay: SocketAddr, data: &[u8]) -> bool {
        let now = self.now;
        let mut out = Vec::new();
        let Some(tuple) = self.server.handle_peer(now, relay, peer, data, &mut out) else {
            return false;
        };
        self.deliver_to_client(tuple.client, &out);
        self.run();
        true
    }

    /// RFC 6062: a peer connects to a TCP relayed address.
    pub fn peer_connects(&mut self, peer: SocketAddr, relay: SocketAddr) -> Option<ConnectionId> {
        let now = self.now;
        let id = self.server.peer_connection_accepted(now, relay, peer);
        self.run();
        id
    }

    /// Moves the clock to `now + by`, firing every deadline on the way.
    pub fn advance(&mut self, by: Duration) {
        let target = self.now + by;
        loop {
            let mut next = self.server.poll_timeout();
            for slot in self.clients.values() {
                if slot.frozen {
                    continue;
                }
                if let Some(t) = slot.client.poll_timeout() {
                    next = Some(next.map_or(t, |n: Instant| n.min(t)));
                }
            }
            let Some(next) = next.filter(|n| *n <= target) else {
                break;
            };
            self.now = self.now.max(next);
            self.fire();
        }
        self.now = target;
        self.fire();
    }

    fn fire(&mut self) {
        let now = self.now;
        self.server.handle_timeout(now);
        for slot in self.clients.values_mut() {
            if !slot.frozen {
                slot.client.handle_timeout(now);
            }
        }
        self.run();
    }

    /// Allocates for `local` and returns the relayed address.
    pub fn allocate(&mut self, local: SocketAddr) -> SocketAddr {
        let now = self.now;
        self.client(local).allocate(now).unwrap();
        self.run();
        let events = self.take_events(local);
        match events.first() {
            Some(Event::Allocated {
                relayed, mapped, ..
            }) => {
                assert_eq!(*mapped, Some(local));
                *relayed
            }
            other => panic!("not allocated: {other:?}"),
        }
    }

    pub fn stats(&self) -> ServerStats {
        self.server.stats()
    }

    pub fn relays_by_allocation(&self) -> HashMap<AllocationId, SocketAddr> {
        self.relays.iter().map(|(r, a)| (*a, *r)).collect()
    }
}
