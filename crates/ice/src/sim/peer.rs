//! Endpoints on the simulated network and the driver that runs them.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::network::{HostId, Network};
use crate::agent::Agent;
use crate::io::{Datagram, IceEvent, Transmit};

/// Something that runs on a simulated host: a sans-IO machine fed datagrams and time.
/// Implement it for a peer connection to run two of them through NATs.
pub trait Endpoint {
    /// A datagram arrived on one of the host's addresses.
    fn handle_receive(&mut self, now: Instant, datagram: Datagram<'_>);
    /// Time advanced to `now` (at or after [`poll_timeout`](Self::poll_timeout)).
    fn handle_timeout(&mut self, now: Instant);
    /// The next datagram to send.
    fn poll_transmit(&mut self) -> Option<Transmit>;
    /// When [`handle_timeout`](Self::handle_timeout) is next due.
    fn poll_timeout(&self) -> Option<Instant>;
}

/// Endpoints on a [`Network`], run on its virtual clock.
///
/// ```
/// use oxrtc_ice::sim::{IcePeer, NatType, Network, RealmId, Simulation};
/// use oxrtc_ice::{AgentConfig, ConnectionState, IceEvent, LocalSocket};
/// use std::time::{Duration, Instant};
///
/// let start = Instant::now();
/// let mut net = Network::new(1, start);
/// let stun = net.add_stun_server();
/// let (_, home) = net.add_nat(NatType::PortRestricted, RealmId::INTERNET);
/// let (a_host, a_ip) = net.add_host(home);
/// let (b_host, b_ip) = net.add_host(RealmId::INTERNET);
/// let mut sim = Simulation::new(net);
/// let servers = vec![oxrtc_ice::IceServer::stun(format!("stun:{stun}"))];
/// let a = sim.add(a_host, IcePeer::new(AgentConfig { ice_servers: servers, ..AgentConfig::default() }, start, 1));
/// let b = sim.add(b_host, IcePeer::new(AgentConfig { controlling: false, ..AgentConfig::default() }, start, 2));
/// sim.endpoint_mut(a).add_socket(start, LocalSocket::udp((a_ip, 5000).into()));
/// sim.endpoint_mut(b).add_socket(start, LocalSocket::udp((b_ip, 6000).into()));
/// IcePeer::exchange_credentials(&mut sim, a, b);
/// sim.endpoint_mut(a).agent.gather(start);
/// sim.endpoint_mut(b).agent.gather(start);
///
/// let connected = sim.run_until(start + Duration::from_secs(5), |sim| {
///     IcePeer::trickle(sim, a, b); // signal candidates both ways, instantly
///     [a, b].iter().all(|&p| sim.endpoint(p).agent.selected_pair().is_some_and(|s| s.nominated))
/// });
/// assert!(connected);
/// // B, public, has one candidate: A's only pair is checked and nominated.
/// assert_eq!(sim.endpoint(a).agent.connection_state(), ConnectionState::Completed);
/// assert!(sim.now() - start < Duration::from_millis(200)); // virtual time: 10 ms links
/// ```
#[derive(Debug)]
pub struct Simulation<E> {
    network: Network,
    nodes: Vec<(HostId, E)>,
}

impl<E: Endpoint> Simulation<E> {
    /// Endpoints-to-be on `network`.
    pub fn new(network: Network) -> Self {
        Simulation {
            network,
            nodes: Vec::new(),
        }
    }

    /// The network.
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// The network, to change links and interfaces mid-run.
    pub fn network_mut(&mut self) -> &mut Network {
        &mut self.network
    }

    /// Puts an endpoint on a host; returns its index.
    pub fn add(&mut self, host: HostId, endpoint: E) -> usize {
        self.nodes.push((host, endpoint));
        self.nodes.len() - 1
    }

    /// Endpoint `i`.
    ///
    /// # Panics
    /// If `i` was not returned by [`add`](Self::add).
    #[allow(clippy::indexing_slicing)]
    pub fn endpoint(&self, i: usize) -> &E {
        &self.nodes[i].1
    }

    /// Endpoint `i`, mutably.
    ///
    /// # Panics
    /// If `i` was not returned by [`add`](Self::add).
    #[allow(clippy::indexing_slicing)]
    pub fn endpoint_mut(&mut self, i: usize) -> &mut E {
        &mut self.nodes[i].1
    }

    /// The host of endpoint `i`.
    pub fn host(&self, i: usize) -> Option<HostId> {
        self.nodes.get(i).map(|n| n.0)
    }

    /// The virtual time.
    pub fn now(&self) -> Instant {
        self.network.now()
    }

    fn flush(&mut self) {
        for (host, e) in &mut self.nodes {
            while let Some(t) = e.poll_transmit() {
                self.network.send(*host, t);
            }
        }
    }

    /// Runs to the next event (packet arrival or endpoint timer) if it is due by `limit`;
    /// otherwise moves the clock to `limit` and returns `false`.
    pub fn step(&mut self, limit: Instant) -> bool {
        self.flush();
        let timers = self
            .nodes
            .iter()
            .filter_map(|(_, e)| e.poll_timeout())
            .min();
        let next = match (self.network.next_event(), timers) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let Some(next) = next.filter(|t| *t <= limit) else {
            let _ = self.network.deliver(limit);
            return false;
        };
        let now = next.max(self.network.now());
        for d in self.network.deliver(now) {
            for (host, e) in &mut self.nodes {
                if *host == d.host {
                    e.handle_receive(
                        now,
                        Datagram {
                            transport: d.transport,
                            local: d.local,
                            remote: d.remote,
                            contents: &d.contents,
                        },
                    );
                }
            }
        }
        for (_, e) in &mut self.nodes {
            if e.poll_timeout().is_some_and(|t| t <= now) {
                e.handle_timeout(now);
            }
        }
        self.flush();
        true
    }

    /// Steps until `done` holds (checked before each step) or the clock passes `limit`;
    /// returns whether `done` held. `done` may act on the simulation (signal candidates,
    /// change the network).
    ///
    /// # Panics
    /// When an endpoint asks to be woken at the same instant 100 000 times in a row (a
    /// busy loop in it).
    pub fn run_until(&mut self, limit: Instant, mut done: impl FnMut(&mut Self) -> bool) -> bool {
        let mut same_instant = 0u32;
        let mut last = self.now();
        loop {
            if done(self) {
                return true;
            }
            if !self.step(limit) {
                return done(self);
            }
            // A machine that keeps asking for the same instant would spin forever.
            if self.now() == last {
                same_instant += 1;
                assert!(
                    same_instant < 100_000,
                    "an endpoint keeps asking to be woken at the same instant: busy loop"
                );
            } else {
                same_instant = 0;
                last = self.now();
            }
        }
    }

    /// Runs for `duration` of virtual time.
    pub fn run_for(&mut self, duration: Duration) {
        let limit = self.now() + duration;
        self.run_until(limit, |_| false);
    }
}

/// An [`Agent`] as a simulated endpoint, with the demultiplexing a runtime does (RFC 7983:
/// STUN and TURN channel data to the agent, the rest is application data), a record of
/// events and received application data, and helpers for signalling.
#[derive(Debug)]
pub struct IcePeer {
    /// The agent.
    pub agent: Agent,
    /// Every event, with when it happened.
    pub events: Vec<(Instant, IceEvent)>,
    /// Application data received (directly or through a relay), with when.
    pub received: Vec<(Instant, Vec<u8>)>,
    unsignalled: VecDeque<IceEvent>,
    outbox: VecDeque<Transmit>,
}

impl IcePeer {
    /// A peer with an agent seeded with `seed`.
    pub fn new(config: crate::AgentConfig, now: Instant, seed: u64) -> Self {
        use rand_chacha::rand_core::SeedableRng;
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
        IcePeer {
            agent: Agent::new(config, now, &mut rng),
            events: Vec::new(),
            received: Vec::new(),
            unsignalled: VecDeque::new(),
            outbox: VecDeque::new(),
        }
    }

    /// Reports a socket to the agent (ignoring the error for unusable ones).
    pub fn add_socket(&mut self, now: Instant, socket: crate::LocalSocket) {
        if let Err(e) = self.agent.add_local_socket(now, socket) {
            tracing::debug!(error = %e, "socket not added");
        }
        self.collect(now);
    }

    /// Sends application data on the selected pair; `false` if there is none.
    pub fn send(&mut self, now: Instant, data: &[u8]) -> bool {
        match self.agent.send(now, data) {
            Ok(t) => {
                self.outbox.push_back(t);
                true
            }
            Err(crate::Error::Queued) => true, // leaves through poll_transmit
            Err(_) => false,
        }
    }

    /// Events not yet taken by [`take_events`](Self::take_events).
    pub fn take_events(&mut self, now: Instant) -> Vec<IceEvent> {
        self.collect(now);
        self.unsignalled.drain(..).collect()
    }

    /// Moves the agent's pending events into [`events`](Self::events) and the queue of
    /// [`take_events`](Self::take_events). Call it after driving the agent directly.
    pub fn collect(&mut self, now: Instant) {
        while let Some(e) = self.agent.poll_event() {
            self.events.push((now, e.clone()));
            self.unsignalled.push_back(e);
        }
    }

    /// Gives each agent the other's credentials.
    pub fn exchange_credentials<E: AsMut<IcePeer> + Endpoint>(
        sim: &mut Simulation<E>,
        a: usize,
        b: usize,
    ) {
        let now = sim.now();
        let ca = sim
            .endpoint_mut(a)
            .as_mut()
            .agent
            .local_credentials()
            .clone();
        let cb = sim
            .endpoint_mut(b)
            .as_mut()
            .agent
            .local_credentials()
            .clone();
        let _ = sim
            .endpoint_mut(a)
            .as_mut()
            .agent
            .set_remote_credentials(now, &cb.ufrag, &cb.pwd);
        let _ = sim
            .endpoint_mut(b)
            .as_mut()
            .agent
            .set_remote_credentials(now, &ca.ufrag, &ca.pwd);
        sim.endpoint_mut(a).as_mut().collect(now);
        sim.endpoint_mut(b).as_mut().collect(now);
    }

    /// Signals new local candidates (and end-of-candidates, when gathering completes) from
    /// each peer to the other, instantly; other events are dropped from the unsignalled
    /// queue (they stay in [`events`](Self::events)).
    pub fn trickle<E: AsMut<IcePeer> + Endpoint>(sim: &mut Simulation<E>, a: usize, b: usize) {
        let now = sim.now();
        for (from, to) in [(a, b), (b, a)] {
            let events = sim.endpoint_mut(from).as_mut().take_events(now);
            for e in events {
                let peer = sim.endpoint_mut(to).as_mut();
                match e {
                    IceEvent::LocalCandidate(c) => {
                        if let Err(err) = peer.agent.add_remote_candidate(now, c) {
                            tracing::debug!(error = %err, "candidate not added");
                        }
                    }
                    IceEvent::GatheringStateChange(crate::GatheringState::Complete) => {
                        peer.agent.end_of_remote_candidates(now);
                    }
                    _ => {}
                }
                peer.collect(now);
            }
        }
    }

    /// Where application data goes now, if anywhere: `(local, remote)` of the selected pair.
    pub fn path(&self) -> Option<(SocketAddr, SocketAddr)> {
        self.agent
            .selected_pair()
            .map(|p| (p.source, p.remote.socket_addr().unwrap_or(p.destination)))
    }
}

impl AsMut<IcePeer> for IcePeer {
    fn as_mut(&mut self) -> &mut IcePeer {
        self
    }
}

impl Endpoint for IcePeer {
    fn handle_receive(&mut self, now: Instant, d: Datagram<'_>) {
        let first = d.contents.first().copied().unwrap_or(0);
        // RFC 7983: 0-3 STUN, 64-79 TURN channels; the agent also takes anything from a
        // TURN server. Everything else is the application's.
        if first <= 3 || (64..=79).contains(&first) {
            match self.agent.handle_receive(now, d) {
                Ok(Some(data)) => self.received.push((now, data.contents)),
                Ok(None) => {}
                Err(e) => tracing::trace!(error = %e, "datagram dropped by the agent"),
            }
        } else {
            self.received.push((now, d.contents.to_vec()));
        }
        self.collect(now);
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.agent.handle_timeout(now);
        self.collect(now);
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.agent
            .poll_transmit()
            .or_else(|| self.outbox.pop_front())
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.agent.poll_timeout()
    }
}
