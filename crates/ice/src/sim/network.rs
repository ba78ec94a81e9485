//! The simulated network: realms (the Internet and private networks behind NATs), hosts
//! with interfaces, NATs, links with delay/jitter/loss/duplication, and built-in servers.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use oxrtc_stun::{BindingServer, BindingServerConfig, ServerOutcome};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::candidate::Protocol;
use crate::io::{Datagram, Transmit};

/// A network: the Internet ([`RealmId::INTERNET`]) or a private network behind a NAT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RealmId(pub usize);

impl RealmId {
    /// The public Internet, where servers live.
    pub const INTERNET: RealmId = RealmId(0);
}

/// A simulated host (one endpoint runs on it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostId(pub usize);

/// A simulated NAT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NatId(pub usize);

/// NAT behaviour (RFC 4787 terms in brackets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NatType {
    /// Full cone: endpoint-independent mapping and filtering.
    FullCone,
    /// Address-restricted cone: endpoint-independent mapping, address-dependent filtering.
    AddressRestricted,
    /// Port-restricted cone: endpoint-independent mapping, address-and-port-dependent
    /// filtering.
    PortRestricted,
    /// Symmetric: address-and-port-dependent mapping and filtering.
    Symmetric,
}

impl NatType {
    /// All four, for test matrices.
    pub const ALL: [NatType; 4] = [
        NatType::FullCone,
        NatType::AddressRestricted,
        NatType::PortRestricted,
        NatType::Symmetric,
    ];
}

/// Delay, jitter, loss and duplication of a link. The network has one for everything
/// ([`Network::set_link`]); each host may add its own on top ([`Network::set_host_link`]):
/// delays add up, losses and duplications combine.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkConfig {
    /// One-way delay.
    pub latency: Duration,
    /// Extra delay, uniform in `0..=jitter` (reorders packets).
    pub jitter: Duration,
    /// Probability in 0.0..=1.0 that a packet is lost.
    pub loss: f64,
    /// Probability in 0.0..=1.0 that a packet is delivered twice.
    pub duplicate: f64,
}

impl Default for LinkConfig {
    /// 10 ms one way, no jitter, no loss, no duplication.
    fn default() -> Self {
        LinkConfig {
            latency: Duration::from_millis(10),
            jitter: Duration::ZERO,
            loss: 0.0,
            duplicate: 0.0,
        }
    }
}

impl LinkConfig {
    /// A link that adds nothing (per-host default).
    pub const NONE: LinkConfig = LinkConfig {
        latency: Duration::ZERO,
        jitter: Duration::ZERO,
        loss: 0.0,
        duplicate: 0.0,
    };

    /// A link that loses everything (a host cut off).
    pub const DOWN: LinkConfig = LinkConfig {
        latency: Duration::ZERO,
        jitter: Duration::ZERO,
        loss: 1.0,
        duplicate: 0.0,
    };
}

/// Counters of what happened to packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NetworkStats {
    /// Packets handed to hosts or servers.
    pub delivered: u64,
    /// Packets lost on a link.
    pub lost: u64,
    /// Extra copies delivered.
    pub duplicated: u64,
    /// Packets a NAT dropped (no mapping, or filtered).
    pub filtered: u64,
    /// Packets with no route (a private address of another network, an unknown address),
    /// or sent from an address the host does not have.
    pub unroutable: u64,
}

/// A packet delivered to a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The host.
    pub host: HostId,
    /// UDP or TCP.
    pub transport: Protocol,
    /// The host's address it arrived on.
    pub local: SocketAddr,
    /// The source as the host sees it (after NATs).
    pub remote: SocketAddr,
    /// The bytes.
    pub contents: Vec<u8>,
}

#[derive(Debug, Clone)]
struct Mapping {
    protocol: Protocol,
    internal: SocketAddr,
    /// For symmetric NATs, the one destination this mapping is for.
    destination: Option<SocketAddr>,
    external_port: u16,
    /// Destinations the inside sent to (for filtering).
    sent_to: Vec<SocketAddr>,
    last_outbound: Instant,
}

#[derive(Debug, Clone)]
struct Nat {
    kind: NatType,
    public_ip: IpAddr,
    inner: RealmId,
    outer: RealmId,
    mappings: Vec<Mapping>,
    next_port: u16,
    mapping_timeout: Duration,
}

impl Nat {
    fn outbound(
        &mut self,
        now: Instant,
        protocol: Protocol,
        src: SocketAddr,
        dst: SocketAddr,
    ) -> SocketAddr {
        let timeout = self.mapping_timeout;
        self.mappings.retain(|m| now < m.last_outbound + timeout);
        let symmetric = self.kind == NatType::Symmetric;
        let found = self.mappings.iter_mut().find(|m| {
            m.protocol == protocol
                && m.internal == src
                && (!symmetric || m.destination == Some(dst))
        });
        let m = match found {
            Some(m) => m,
            None => {
                let port = self.next_port;
                self.next_port = if self.next_port >= 65000 {
                    20000
                } else {
                    self.next_port + 1
                };
                self.mappings.push(Mapping {
                    protocol,
                    internal: src,
                    destination: symmetric.then_some(dst),
                    external_port: port,
                    sent_to: Vec::new(),
                    last_outbound: now,
                });
                let Some(m) = self.mappings.last_mut() else {
                    return src;
                };
                m
            }
        };
        m.last_outbound = now;
        if !m.sent_to.contains(&dst) && m.sent_to.len() < 256 {
            m.sent_to.push(dst);
        }
        SocketAddr::new(self.public_ip, m.external_port)
    }

    fn inbound(
        &self,
        now: Instant,
        protocol: Protocol,
        src: SocketAddr,
        dst: SocketAddr,
    ) -> Option<SocketAddr> {
        self.mappings
            .iter()
            .filter(|m| m.protocol == protocol && m.external_port == dst.port())
            .filter(|m| now < m.last_outbound + self.mapping_timeout)
            .find(|m| match self.kind {
                NatType::FullCone => true,
                NatType::AddressRestricted => m.sent_to.iter().any(|a| a.ip() == src.ip()),
                NatType::PortRestricted | NatType::Symmetric => m.sent_to.contains(&src),
            })
            .map(|m| m.internal)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    Host(HostId),
    Stun(usize),
    Server(usize),
}

#[derive(Debug, Clone)]
struct Interface {
    ip: IpAddr,
    realm: RealmId,
    owner: Owner,
}

#[derive(Debug)]
struct InFlight {
    at: Instant,
    seq: u64,
    protocol: Protocol,
    realm: RealmId,
    src: SocketAddr,
    dst: SocketAddr,
    contents: Vec<u8>,
    /// The receiving host's own link has been applied.
    at_receiver: bool,
}

impl PartialEq for InFlight {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for InFlight {}
impl PartialOrd for InFlight {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for InFlight {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// A server hosted by the network itself: it answers datagrams addressed to it without an
/// endpoint in the [`Simulation`](super::Simulation). Implement it to plug in other servers
/// ([`TurnRelay`](super::TurnRelay), oxrtc-turn's server core, is one).
pub trait ServerCore {
    /// A datagram for the server (any port of its addresses); push what it sends to `out`
    /// (the source must be one of its addresses).
    fn handle(&mut self, now: Instant, datagram: Datagram<'_>, out: &mut Vec<Transmit>);
    /// Timers: push datagrams to `out` the same way.
    fn handle_timeout(&mut self, now: Instant, out: &mut Vec<Transmit>) {
        let _ = (now, out);
    }
    /// When [`handle_timeout`](Self::handle_timeout) is next due.
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
}

/// A seeded, virtual-clock network. Packets sent at `now` are routed through the NATs on
/// the way out at once, then delivered after the link delay, passing the NATs on the way
/// in (filtering is decided at arrival).
///
/// ```
/// use oxrtc_ice::sim::{LinkConfig, NatType, Network, RealmId};
/// use std::time::Instant;
///
/// let mut net = Network::new(7, Instant::now());
/// let (_nat, home) = net.add_nat(NatType::PortRestricted, RealmId::INTERNET);
/// let (alice, alice_ip) = net.add_host(home);
/// let (bob, bob_ip) = net.add_host(RealmId::INTERNET);
/// net.send(alice, oxrtc_ice::Transmit {
///     transport: oxrtc_ice::Protocol::Udp,
///     source: (alice_ip, 5000).into(),
///     destination: (bob_ip, 6000).into(),
///     contents: b"hi".to_vec(),
/// });
/// let at = net.next_event().unwrap();
/// let d = net.deliver(at).pop().unwrap();
/// assert_eq!(d.host, bob);
/// assert_ne!(d.remote.ip(), alice_ip); // bob sees the NAT's public address
/// # let _ = LinkConfig::default();
/// ```
pub struct Network {
    rng: ChaCha8Rng,
    now: Instant,
    realms: Vec<Option<NatId>>,
    nats: Vec<Nat>,
    interfaces: Vec<Interface>,
    hosts: usize,
    host_links: HashMap<HostId, LinkConfig>,
    link: LinkConfig,
    queue: BinaryHeap<Reverse<InFlight>>,
    seq: u64,
    next_ip: Vec<u32>,
    stun: Vec<(SocketAddr, BindingServer)>,
    servers: Vec<Box<dyn ServerCore>>,
    stats: NetworkStats,
}

impl core::fmt::Debug for Network {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Network")
            .field("now", &self.now)
            .field("nats", &self.nats.len())
            .field("hosts", &self.hosts)
            .field("in_flight", &self.queue.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Network {
    /// An empty network (just the Internet) with the default [`LinkConfig`], starting at
    /// `start` on its virtual clock; `seed` drives loss, jitter, duplication and NAT ports.
    pub fn new(seed: u64, start: Instant) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let _ = rng.next_u32();
        Network {
            rng,
            now: start,
            realms: vec![None],
            nats: Vec::new(),
            interfaces: Vec::new(),
            hosts: 0,
            host_links: HashMap::new(),
            link: LinkConfig::default(),
            queue: BinaryHeap::new(),
            seq: 0,
            next_ip: vec![0],
            stun: Vec::new(),
            servers: Vec::new(),
            stats: NetworkStats::default(),
        }
    }

    /// The virtual time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Counters.
    pub fn stats(&self) -> NetworkStats {
        self.stats
    }

    /// Sets the network-wide link.
    pub fn set_link(&mut self, link: LinkConfig) {
        self.link = link;
    }

    /// Adds a host's own link on top of the network's (for its packets in both directions).
    pub fn set_host_link(&mut self, host: HostId, link: LinkConfig) {
        self.host_links.insert(host, link);
    }

    /// A NAT of `kind` whose outside is in `outer` (the Internet, or another private
    /// network for double NAT). Returns it and its inside network. Its public address is
    /// allocated in `outer`; mappings last 120 s without outbound traffic.
    pub fn add_nat(&mut self, kind: NatType, outer: RealmId) -> (NatId, RealmId) {
        let public_ip = self.allocate_ip(outer);
        let inner = RealmId(self.realms.len());
        let id = NatId(self.nats.len());
        self.realms.push(Some(id));
        self.next_ip.push(0);
        let first_port = 20000 + (self.rng.next_u32() % 30000) as u16;
        self.nats.push(Nat {
            kind,
            public_ip,
            inner,
            outer,
            mappings: Vec::new(),
            next_port: first_port,
            mapping_timeout: Duration::from_secs(120),
        });
        (id, inner)
    }

    /// A NAT's public address.
    pub fn nat_public_ip(&self, nat: NatId) -> Option<IpAddr> {
        self.nats.get(nat.0).map(|n| n.public_ip)
    }

    /// Sets how long a NAT keeps a mapping without outbound traffic.
    pub fn set_nat_mapping_timeout(&mut self, nat: NatId, timeout: Duration) {
        if let Some(n) = self.nats.get_mut(nat.0) {
            n.mapping_timeout = timeout;
        }
    }

    /// A new host with one interface in `realm` (address allocated: 198.51.x.y on the
    /// Internet, 10.n.x.y in private network n).
    pub fn add_host(&mut self, realm: RealmId) -> (HostId, IpAddr) {
        let host = HostId(self.hosts);
        self.hosts += 1;
        let ip = self.add_interface(host, realm);
        (host, ip)
    }

    /// A new interface for `host` in `realm` (a second NIC, or cellular coming up);
    /// returns its address.
    pub fn add_interface(&mut self, host: HostId, realm: RealmId) -> IpAddr {
        let ip = self.allocate_ip(realm);
        self.add_interface_with_ip(host, realm, ip);
        ip
    }

    /// A new interface with a given address (which must be unique).
    pub fn add_interface_with_ip(&mut self, host: HostId, realm: RealmId, ip: IpAddr) {
        self.interfaces.push(Interface {
            ip,
            realm,
            owner: Owner::Host(host),
        });
    }

    /// Removes an interface (it went down): packets from and to it are dropped.
    pub fn remove_interface(&mut self, host: HostId, ip: IpAddr) -> bool {
        let before = self.interfaces.len();
        self.interfaces
            .retain(|i| !(i.ip == ip && i.owner == Owner::Host(host)));
        before != self.interfaces.len()
    }

    /// A STUN Binding server (oxrtc-stun's core) on the Internet; returns its address
    /// (port 3478).
    pub fn add_stun_server(&mut self) -> SocketAddr {
        let ip = self.allocate_ip(RealmId::INTERNET);
        let addr = SocketAddr::new(ip, 3478);
        let index = self.stun.len();
        self.interfaces.push(Interface {
            ip,
            realm: RealmId::INTERNET,
            owner: Owner::Stun(index),
        });
        self.stun.push((
            addr,
            BindingServer::new(BindingServerConfig {
                always_fingerprint: true,
                ..BindingServerConfig::default()
            }),
        ));
        addr
    }

    /// A fresh address in `realm`, for a server built before [`add_server`](Self::add_server)
    /// is called with it.
    pub fn new_address(&mut self, realm: RealmId) -> IpAddr {
        self.allocate_ip(realm)
    }

    /// Hosts a server core in `realm` on `ips` (from [`new_address`](Self::new_address)):
    /// datagrams to any port of them go to `core`.
    pub fn add_server(&mut self, realm: RealmId, ips: &[IpAddr], core: Box<dyn ServerCore>) {
        let index = self.servers.len();
        for ip in ips {
            self.interfaces.push(Interface {
                ip: *ip,
                realm,
                owner: Owner::Server(index),
            });
        }
        self.servers.push(core);
    }

    /// A TURN server (oxrtc-turn's core, [`TurnRelay`](super::TurnRelay)) on the Internet
    /// with these users; returns its address (port 3478). Relayed addresses are ports of
    /// the same IP.
    pub fn add_turn_server(&mut self, users: &[(&str, &str)]) -> SocketAddr {
        let ip = self.allocate_ip(RealmId::INTERNET);
        let addr = SocketAddr::new(ip, 3478);
        let seed = self.rng.next_u64();
        let relay = super::TurnRelay::new(addr, users, self.now, seed);
        self.add_server(RealmId::INTERNET, &[ip], Box::new(relay));
        addr
    }

    fn allocate_ip(&mut self, realm: RealmId) -> IpAddr {
        let n = self.next_ip.get(realm.0).copied().unwrap_or(0) + 1;
        if let Some(x) = self.next_ip.get_mut(realm.0) {
            *x = n;
        }
        let (hi, lo) = ((n / 250) as u8, (n % 250) as u8 + 2);
        if realm == RealmId::INTERNET {
            IpAddr::V4(Ipv4Addr::new(198, 51, 100 + hi.min(99), lo))
        } else {
            IpAddr::V4(Ipv4Addr::new(10, realm.0.min(255) as u8, hi, lo))
        }
    }

    fn owner_of(&self, realm: RealmId, ip: IpAddr) -> Option<Owner> {
        self.interfaces
            .iter()
            .find(|i| i.realm == realm && i.ip == ip)
            .map(|i| i.owner)
    }

    fn realm_of(&self, owner: Owner, ip: IpAddr) -> Option<RealmId> {
        self.interfaces
            .iter()
            .find(|i| i.owner == owner && i.ip == ip)
            .map(|i| i.realm)
    }

    fn nat_facing(&self, realm: RealmId, ip: IpAddr) -> Option<usize> {
        self.nats
            .iter()
            .position(|n| n.outer == realm && n.public_ip == ip)
    }

    fn link_of(&self, owner: Owner) -> LinkConfig {
        match owner {
            Owner::Host(h) => self.host_links.get(&h).copied().unwrap_or(LinkConfig::NONE),
            _ => LinkConfig::NONE,
        }
    }

    /// Sends a packet from a host at the current time. Dropped (and counted) if the host has
    /// no interface with the source address, or nothing routes it.
    pub fn send(&mut self, host: HostId, t: Transmit) {
        self.send_from(
            Owner::Host(host),
            t.transport,
            t.source,
            t.destination,
            t.contents,
        );
    }

    fn send_from(
        &mut self,
        owner: Owner,
        protocol: Protocol,
        src: SocketAddr,
        dst: SocketAddr,
        contents: Vec<u8>,
    ) {
        let Some(mut realm) = self.realm_of(owner, src.ip()) else {
            self.stats.unroutable += 1;
            return;
        };
        let mut src = src;
        // Out through NATs until the destination is reachable in this realm.
        let mut hops = 0;
        loop {
            if self.owner_of(realm, dst.ip()).is_some()
                || self.nat_facing(realm, dst.ip()).is_some()
            {
                break;
            }
            let Some(Some(nat)) = self.realms.get(realm.0).copied() else {
                self.stats.unroutable += 1;
                return;
            };
            let now = self.now;
            let Some(n) = self.nats.get_mut(nat.0) else {
                return;
            };
            src = n.outbound(now, protocol, src, dst);
            realm = n.outer;
            hops += 1;
            if hops > 16 {
                self.stats.unroutable += 1;
                return;
            }
        }
        // The link.
        let (a, b) = (self.link_of(owner), self.link);
        let reliable = protocol == Protocol::Tcp;
        let loss = 1.0 - (1.0 - a.loss) * (1.0 - b.loss);
        if !reliable && self.chance(loss) {
            self.stats.lost += 1;
            return;
        }
        let copies = if !reliable && self.chance(1.0 - (1.0 - a.duplicate) * (1.0 - b.duplicate)) {
            self.stats.duplicated += 1;
            2
        } else {
            1
        };
        for _ in 0..copies {
            let delay = a.latency + b.latency + self.jitter(reliable, &[a.jitter, b.jitter]);
            self.seq += 1;
            self.queue.push(Reverse(InFlight {
                at: self.now + delay,
                seq: self.seq,
                protocol,
                realm,
                src,
                dst,
                contents: contents.clone(),
                at_receiver: false,
            }));
        }
    }

    fn jitter(&mut self, reliable: bool, jitters: &[Duration]) -> Duration {
        let mut extra = Duration::ZERO;
        if reliable {
            return extra;
        }
        for j in jitters {
            let nanos = j.as_nanos() as u64;
            if nanos > 0 {
                extra += Duration::from_nanos(self.rng.next_u64() % (nanos + 1));
            }
        }
        extra
    }

    fn chance(&mut self, p: f64) -> bool {
        if p <= 0.0 {
            return false;
        }
        if p >= 1.0 {
            return true;
        }
        (self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    /// When the next packet arrives or a server timer fires.
    pub fn next_event(&self) -> Option<Instant> {
        let packet = self.queue.peek().map(|Reverse(p)| p.at);
        let servers = self.servers.iter().filter_map(|s| s.poll_timeout()).min();
        match (packet, servers) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Advances the clock to `now` and delivers every packet due by then: those for hosts
    /// are returned; servers answer theirs (their answers travel like any packet).
    pub fn deliver(&mut self, now: Instant) -> Vec<Delivery> {
        if now > self.now {
            self.now = now;
        }
        let mut out = Vec::new();
        let mut replies = Vec::new();
        for (i, s) in self.servers.iter_mut().enumerate() {
            if s.poll_timeout().is_some_and(|t| t <= self.now) {
                let mut r = Vec::new();
                s.handle_timeout(self.now, &mut r);
                replies.push((i, r));
            }
        }
        for (i, r) in replies {
            for t in r {
                self.send_from(
                    Owner::Server(i),
                    t.transport,
                    t.source,
                    t.destination,
                    t.contents,
                );
            }
        }
        while self.queue.peek().is_some_and(|Reverse(p)| p.at <= self.now) {
            let Some(Reverse(p)) = self.queue.pop() else {
                break;
            };
            self.arrive(p, &mut out);
        }
        out
    }

    fn arrive(&mut self, mut p: InFlight, out: &mut Vec<Delivery>) {
        let mut realm = p.realm;
        let mut dst = p.dst;
        let mut hops = 0;
        loop {
            if let Some(owner) = self.owner_of(realm, dst.ip()) {
                let link = self.link_of(owner);
                if !p.at_receiver && link != LinkConfig::NONE {
                    // The receiving host's own link: loss, then its delay.
                    let reliable = p.protocol == Protocol::Tcp;
                    if !reliable && self.chance(link.loss) {
                        self.stats.lost += 1;
                        return;
                    }
                    let delay = link.latency + self.jitter(reliable, &[link.jitter]);
                    p.at_receiver = true;
                    p.realm = realm;
                    p.dst = dst;
                    if delay > Duration::ZERO {
                        p.at = self.now + delay;
                        self.seq += 1;
                        p.seq = self.seq;
                        self.queue.push(Reverse(p));
                        return;
                    }
                }
                self.stats.delivered += 1;
                match owner {
                    Owner::Host(host) => out.push(Delivery {
                        host,
                        transport: p.protocol,
                        local: dst,
                        remote: p.src,
                        contents: p.contents,
                    }),
                    Owner::Stun(i) => {
                        let mut reply = Vec::new();
                        let answer = self
                            .stun
                            .get_mut(i)
                            .map(|(_, s)| s.handle(p.src, &p.contents, &mut reply));
                        if let Some(ServerOutcome::Respond { .. }) = answer {
                            self.send_from(Owner::Stun(i), p.protocol, dst, p.src, reply);
                        }
                    }
                    Owner::Server(i) => {
                        let mut replies = Vec::new();
                        if let Some(s) = self.servers.get_mut(i) {
                            let d = Datagram {
                                transport: p.protocol,
                                local: dst,
                                remote: p.src,
                                contents: &p.contents,
                            };
                            s.handle(self.now, d, &mut replies);
                        }
                        for t in replies {
                            self.send_from(
                                Owner::Server(i),
                                t.transport,
                                t.source,
                                t.destination,
                                t.contents,
                            );
                        }
                    }
                }
                return;
            }
            let Some(n) = self.nat_facing(realm, dst.ip()) else {
                self.stats.unroutable += 1;
                return;
            };
            let now = self.now;
            let Some(nat) = self.nats.get(n) else {
                return;
            };
            match nat.inbound(now, p.protocol, p.src, dst) {
                Some(internal) => {
                    dst = internal;
                    realm = nat.inner;
                }
                None => {
                    self.stats.filtered += 1;
                    return;
                }
            }
            hops += 1;
            if hops > 16 {
                self.stats.unroutable += 1;
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn udp(src: SocketAddr, dst: SocketAddr) -> Transmit {
        Transmit {
            transport: Protocol::Udp,
            source: src,
            destination: dst,
            contents: vec![1, 2, 3],
        }
    }

    fn run(net: &mut Network) -> Vec<Delivery> {
        let mut all = Vec::new();
        while let Some(t) = net.next_event() {
            all.extend(net.deliver(t));
        }
        all
    }

    /// Inside host A sends to outside B; B answers from a port A never sent to, and from
    /// another IP. Which answers pass depends on the filtering.
    #[test]
    fn nat_filtering() {
        for kind in NatType::ALL {
            let mut net = Network::new(1, Instant::now());
            let (_, home) = net.add_nat(kind, RealmId::INTERNET);
            let (a, a_ip) = net.add_host(home);
            let (b, b_ip) = net.add_host(RealmId::INTERNET);
            let b_ip2 = net.add_interface(b, RealmId::INTERNET);
            let (a_addr, b_addr) = (SocketAddr::new(a_ip, 5000), SocketAddr::new(b_ip, 6000));
            net.send(a, udp(a_addr, b_addr));
            let d = run(&mut net);
            assert_eq!(d.len(), 1);
            let mapped = d[0].remote;
            assert_eq!(d[0].local, b_addr);
            // Same port back: always passes.
            net.send(b, udp(b_addr, mapped));
            assert_eq!(run(&mut net).len(), 1, "{kind:?} reply");
            // Other port, same IP.
            net.send(b, udp(SocketAddr::new(b_ip, 6001), mapped));
            let other_port = run(&mut net).len();
            // Other IP.
            net.send(b, udp(SocketAddr::new(b_ip2, 6000), mapped));
            let other_ip = run(&mut net).len();
            let expect = match kind {
                NatType::FullCone => (1, 1),
                NatType::AddressRestricted => (1, 0),
                NatType::PortRestricted | NatType::Symmetric => (0, 0),
            };
            assert_eq!((other_port, other_ip), expect, "{kind:?}");
            // Mapping: same external port for a new destination unless symmetric.
            net.send(a, udp(a_addr, SocketAddr::new(b_ip2, 6000)));
            let d = run(&mut net);
            assert_eq!(
                d[0].remote == mapped,
                kind != NatType::Symmetric,
                "{kind:?}"
            );
        }
    }

    #[test]
    fn stun_server_reports_the_mapped_address() {
        use oxrtc_stun::{Class, Message, MessageBuilder, Method, TransactionId, XorMappedAddress};
        let mut net = Network::new(2, Instant::now());
        let stun = net.add_stun_server();
        let (nat, home) = net.add_nat(NatType::PortRestricted, RealmId::INTERNET);
        let (a, a_ip) = net.add_host(home);
        let mut req = Vec::new();
        MessageBuilder::new(
            &mut req,
            Class::Request,
            Method::Binding,
            TransactionId([3; 12]),
        )
        .add_fingerprint()
        .unwrap();
        let t = net.now();
        net.send(
            a,
            Transmit {
                contents: req,
                ..udp(SocketAddr::new(a_ip, 5000), stun)
            },
        );
        let d = run(&mut net);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].remote, stun);
        assert_eq!(net.now() - t, Duration::from_millis(20));
        let msg = Message::new_checked(&d[0].contents[..]).unwrap();
        let mapped = msg.attribute::<XorMappedAddress>().unwrap().unwrap().0;
        assert_eq!(Some(mapped.ip()), net.nat_public_ip(nat));
    }

    #[test]
    fn loss_and_duplication_are_seeded() {
        let count = |seed| {
            let mut net = Network::new(seed, Instant::now());
            net.set_link(LinkConfig {
                loss: 0.3,
                duplicate: 0.1,
                jitter: Duration::from_millis(5),
                ..LinkConfig::default()
            });
            let (a, a_ip) = net.add_host(RealmId::INTERNET);
            let (_, b_ip) = net.add_host(RealmId::INTERNET);
            for _ in 0..1000 {
                net.send(a, udp(SocketAddr::new(a_ip, 1), SocketAddr::new(b_ip, 2)));
            }
            (run(&mut net).len(), net.stats())
        };
        let (n, stats) = count(5);
        assert_eq!(count(5).0, n, "same seed, same result");
        assert!(stats.lost > 200 && stats.lost < 400, "{stats:?}");
        assert!(stats.duplicated > 30 && stats.duplicated < 110, "{stats:?}");
        assert_eq!(n as u64, 1000 - stats.lost + stats.duplicated);
    }

    #[test]
    fn unroutable_private_addresses() {
        let mut net = Network::new(3, Instant::now());
        let (_, home1) = net.add_nat(NatType::FullCone, RealmId::INTERNET);
        let (_, home2) = net.add_nat(NatType::FullCone, RealmId::INTERNET);
        let (a, a_ip) = net.add_host(home1);
        let (_, b_ip) = net.add_host(home2);
        net.send(a, udp(SocketAddr::new(a_ip, 1), SocketAddr::new(b_ip, 2)));
        assert!(run(&mut net).is_empty());
        assert_eq!(net.stats().unroutable, 1);
        // From an address the host does not have.
        net.send(a, udp(SocketAddr::new(b_ip, 1), SocketAddr::new(a_ip, 2)));
        assert_eq!(net.stats().unroutable, 2);
    }
}
