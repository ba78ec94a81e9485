//! ICE glue: the `oxrtc_ice::Agent` of the connection's one BUNDLE transport.

use crate::config::IceTransportPolicy;
use crate::error::Error;
use crate::event::{Event, IceConnectionState, IceGatheringState};
use crate::jsep::{self, IceCredentials};
use crate::peer_connection::PeerConnection;
use crate::signaling::IceCandidateInit;
use crate::transport::TransportParams;
use oxrtc_ice::{
    Agent, AgentConfig, Candidate, ConnectionState, Credentials, Datagram, GatheringState,
    IceEvent, LocalSocket, Protocol, TransportPolicy,
};
use std::net::SocketAddr;
use std::time::Instant;

/// ICE state kept by the peer connection.
#[derive(Default)]
pub(crate) struct IceState {
    pub agent: Option<Agent>,
    /// Local sockets reported before the agent existed.
    pub sockets: Vec<SocketAddr>,
    pub gather_started: bool,
    /// The remote's credentials changed in a new offer: restart for our answer.
    pub remote_restart: bool,
    /// Remote candidates (SDP values) already handed to the agent.
    pub remote_added: Vec<String>,
    pub remote_eoc: bool,
    /// The selected pair goes through a TURN relay: data must go through `Agent::send`.
    pub relayed: bool,
}

fn map_state(s: ConnectionState) -> IceConnectionState {
    match s {
        ConnectionState::New => IceConnectionState::New,
        ConnectionState::Checking => IceConnectionState::Checking,
        ConnectionState::Connected => IceConnectionState::Connected,
        ConnectionState::Completed => IceConnectionState::Completed,
        ConnectionState::Disconnected => IceConnectionState::Disconnected,
        ConnectionState::Failed => IceConnectionState::Failed,
        _ => IceConnectionState::Closed,
    }
}

impl PeerConnection {
    /// Reports a local UDP socket the runtime owns (W3C: the ICE agent's host candidates).
    /// Call it for every bound socket before or after the descriptions; candidates are
    /// gathered on it once a local description is applied.
    ///
    /// # Errors
    /// [`Error::Closed`]; [`Error::InvalidArgument`] for an address ICE cannot use
    /// (unspecified, multicast, link-local; loopback unless the interface filter allows it).
    pub fn add_local_socket(&mut self, addr: SocketAddr) -> Result<(), Error> {
        if self.is_closed() {
            return Err(Error::Closed);
        }
        if !self.config.interface_filter.allows(addr.ip()) {
            return Err(Error::InvalidArgument(
                "address excluded by the interface filter",
            ));
        }
        if self.ice.sockets.contains(&addr) {
            return Ok(());
        }
        self.ice.sockets.push(addr);
        let now = self.now;
        if let Some(agent) = &mut self.ice.agent {
            agent
                .add_local_socket(now, LocalSocket::udp(addr))
                .map_err(|_| Error::InvalidArgument("address not usable by ICE"))?;
        }
        self.drive();
        Ok(())
    }

    /// The answer to [`Event::ResolveHostname`]: the addresses `name` resolved to, empty
    /// if it did not resolve. Remote candidates with that name are added with an address
    /// of a family a local socket has; unresolvable ones are dropped with a log line, not
    /// an error (RFC 8445 §5.1.3 with mDNS names, as browsers send them).
    pub fn handle_resolved(&mut self, now: Instant, name: &str, addrs: &[std::net::IpAddr]) {
        self.now = self.now.max(now);
        if self.is_closed() {
            return;
        }
        let now = self.now;
        if let Some(agent) = &mut self.ice.agent {
            agent.handle_resolved(now, name, addrs);
        }
        self.drive();
    }

    /// The local sockets reported with [`add_local_socket`](Self::add_local_socket).
    pub fn local_sockets(&self) -> &[SocketAddr] {
        &self.ice.sockets
    }

    /// The (local, remote) addresses of the candidate pair data flows on.
    pub fn selected_pair(&self) -> Option<(SocketAddr, SocketAddr)> {
        self.transport.selected
    }

    /// New local ICE credentials for an ICE restart offer (RFC 8445 §9). The agent keeps
    /// its own until the offer is applied ([`ice_restart_local`](Self::ice_restart_local)),
    /// so an offer that is never applied, or rolled back unapplied, changes nothing.
    pub(crate) fn ice_new_credentials(&mut self) -> IceCredentials {
        IceCredentials::random(&mut self.rng)
    }

    /// Restarts the agent with the credentials of a restart offer being applied.
    pub(crate) fn ice_restart_local(&mut self, creds: &IceCredentials) {
        let now = self.now;
        if let Some(agent) = &mut self.ice.agent {
            let c = Credentials {
                ufrag: creds.ufrag.clone(),
                pwd: creds.pwd.clone(),
            };
            match agent.restart_with(now, c) {
                Ok(()) => self.transport.local_candidates.clear(),
                Err(e) => tracing::debug!(error = %e, "ice restart refused"),
            }
        }
    }

    /// The agent's current local credentials, if it exists.
    pub(crate) fn ice_agent_credentials(&self) -> Option<IceCredentials> {
        self.ice.agent.as_ref().map(|a| {
            let c = a.local_credentials();
            IceCredentials {
                ufrag: c.ufrag.clone(),
                pwd: c.pwd.clone(),
            }
        })
    }

    pub(crate) fn ice_mark_remote_restart(&mut self) {
        self.ice.remote_restart = true;
    }

    fn ensure_agent(&mut self, controlling: bool) {
        if self.ice.agent.is_some() {
            return;
        }
        let cfg = AgentConfig {
            controlling,
            local_credentials: Some(Credentials {
                ufrag: self.local_ice.ufrag.clone(),
                pwd: self.local_ice.pwd.clone(),
            }),
            ice_servers: self.config.ice_servers.clone(),
            transport_policy: match self.config.ice_transport_policy {
                IceTransportPolicy::All => TransportPolicy::All,
                IceTransportPolicy::Relay => TransportPolicy::Relay,
            },
            include_loopback: self.config.interface_filter.loopback,
            ..AgentConfig::default()
        };
        let now = self.now;
        let mut agent = Agent::new(cfg, now, &mut self.rng);
        for s in &self.ice.sockets {
            if let Err(e) = agent.add_local_socket(now, LocalSocket::udp(*s)) {
                tracing::debug!(socket = %s, error = %e, "local socket not usable by ice");
            }
        }
        self.ice.agent = Some(agent);
    }

    pub(crate) fn ice_apply(&mut self, p: &TransportParams) -> Result<(), Error> {
        if !p.started && p.remote.is_none() {
            return Ok(());
        }
        self.ensure_agent(p.controlling);
        let now = self.now;
        let Some(agent) = &mut self.ice.agent else {
            return Ok(());
        };
        if agent.remote_credentials().is_none() {
            // Roles follow the first exchange that reaches the agent: an offer rolled back
            // before it was answered (perfect negotiation) leaves us the answerer.
            agent.set_controlling(now, p.controlling);
        }
        if let Some(r) = &p.remote {
            if let Err(e) = agent.set_remote_credentials(now, &r.ice.ufrag, &r.ice.pwd) {
                return Err(Error::InvalidDescription(format!(
                    "remote ice credentials: {e}"
                )));
            }
            agent.set_remote_lite(now, r.ice_lite);
            if std::mem::take(&mut self.ice.remote_restart) {
                let c = agent.restart(now);
                self.transport.local_candidates.clear();
                self.ice.remote_added.clear();
                self.ice.remote_eoc = false;
                self.answer_ice = Some(IceCredentials {
                    ufrag: c.ufrag,
                    pwd: c.pwd,
                });
            }
        }
        if p.started && !self.ice.gather_started {
            self.ice.gather_started = true;
            agent.gather(now);
        }
        for c in &p.remote_candidates {
            if self.ice.remote_added.contains(c) {
                continue;
            }
            self.ice.remote_added.push(c.clone());
            match c.parse::<Candidate>() {
                Ok(cand) => {
                    if let Err(e) = agent.add_remote_candidate(now, cand) {
                        tracing::debug!(candidate = %c, error = %e, "remote candidate not used");
                    }
                }
                Err(e) => {
                    tracing::debug!(candidate = %c, error = %e, "remote candidate unparsable")
                }
            }
        }
        if p.remote_end_of_candidates && !self.ice.remote_eoc {
            self.ice.remote_eoc = true;
            agent.end_of_remote_candidates(now);
        }
        Ok(())
    }

    pub(crate) fn ice_add_remote_candidate(&mut self, candidate: &str) -> Result<(), Error> {
        let cand: Candidate = candidate
            .parse()
            .map_err(|e| Error::InvalidCandidate(format!("{candidate}: {e}")))?;
        let now = self.now;
        if let Some(agent) = &mut self.ice.agent {
            if !self.ice.remote_added.iter().any(|c| c == candidate) {
                self.ice.remote_added.push(candidate.to_owned());
                if let Err(e) = agent.add_remote_candidate(now, cand) {
                    tracing::debug!(%candidate, error = %e, "remote candidate not used");
                }
            }
        }
        Ok(())
    }

    pub(crate) fn ice_remote_end_of_candidates(&mut self) {
        let now = self.now;
        if let Some(agent) = &mut self.ice.agent {
            self.ice.remote_eoc = true;
            agent.end_of_remote_candidates(now);
        }
    }

    pub(crate) fn ice_receive(&mut self, d: Datagram<'_>) {
        let now = self.now;
        let Some(agent) = &mut self.ice.agent else {
            self.transport.stats.dropped += 1;
            return;
        };
        match agent.handle_receive(now, d) {
            Ok(None) => {}
            Ok(Some(relayed)) => {
                // Application data through a TURN relay.
                self.transport_receive_app(
                    relayed.local,
                    relayed.remote,
                    match bytes::Bytes::from(relayed.contents).try_into_mut() {
                        Ok(b) => crate::transport::Incoming::Owned(b),
                        Err(b) => crate::transport::Incoming::Owned(b.as_ref().into()),
                    },
                );
            }
            Err(e) => {
                self.transport.stats.dropped += 1;
                tracing::trace!(error = %e, "stun datagram dropped");
            }
        }
    }

    /// Whether `addr` is a remote candidate (peer-reflexive ones included) of the agent.
    pub(crate) fn ice_knows_remote(&self, addr: SocketAddr) -> bool {
        self.ice.agent.as_ref().is_some_and(|a| {
            a.remote_candidates()
                .iter()
                .any(|c| c.socket_addr() == Some(addr))
        })
    }

    pub(crate) fn ice_timeout(&mut self, now: Instant) {
        if let Some(agent) = &mut self.ice.agent {
            if agent.poll_timeout().is_some_and(|t| t <= now) {
                agent.handle_timeout(now);
            }
        }
    }

    pub(crate) fn ice_poll_timeout(&self) -> Option<Instant> {
        self.ice.agent.as_ref().and_then(Agent::poll_timeout)
    }

    /// Wraps application data for the selected pair: directly, or through the TURN relay.
    pub(crate) fn ice_wrap(&mut self, contents: Vec<u8>) -> Option<oxrtc_ice::Transmit> {
        if self.ice.relayed {
            let now = self.now;
            return self.ice.agent.as_mut()?.send(now, &contents).ok();
        }
        let (source, destination) = self.transport.selected?;
        Some(oxrtc_ice::Transmit {
            transport: Protocol::Udp,
            source,
            destination,
            contents,
        })
    }

    pub(crate) fn ice_drive(&mut self) -> bool {
        let Some(agent) = &mut self.ice.agent else {
            return false;
        };
        let mut progress = false;
        while let Some(t) = agent.poll_transmit() {
            progress = true;
            // UDP datagrams, and (TCP) messages for a TURN server over TCP or TLS.
            self.transport.transmits.push_back(t);
        }
        let mut events = Vec::new();
        while let Some(e) = agent.poll_event() {
            events.push(e);
        }
        for e in events {
            progress = true;
            match e {
                IceEvent::LocalCandidate(c) => {
                    let value = c.sdp_value();
                    if !self.transport.local_candidates.contains(&value) {
                        self.transport.local_candidates.push(value);
                    }
                    let (mid, index) = self.bundle_tag();
                    self.events
                        .push_back(Event::IceCandidate(Some(IceCandidateInit::new(
                            &c, mid, index,
                        ))));
                }
                IceEvent::GatheringStateChange(g) => {
                    let state = match g {
                        GatheringState::New => IceGatheringState::New,
                        GatheringState::Gathering => IceGatheringState::Gathering,
                        _ => IceGatheringState::Complete,
                    };
                    if state != self.transport.gathering_state {
                        self.transport.gathering_state = state;
                        self.events.push_back(Event::IceGatheringStateChange(state));
                        if state == IceGatheringState::Complete {
                            self.events.push_back(Event::IceCandidate(None));
                        }
                    }
                }
                IceEvent::ConnectionStateChange(s) => {
                    self.transport.ice_state = map_state(s);
                }
                IceEvent::SelectedPairChange(p) => {
                    self.ice.relayed = p.relay.is_some();
                    self.transport.selected = Some((p.source, p.destination));
                    self.maybe_start_dtls();
                }
                IceEvent::Resolve { name } => {
                    // The sans-IO core resolves nothing: the caller (the runtime) does.
                    self.events.push_back(Event::ResolveHostname(name));
                }
                IceEvent::ServerError { url, code, reason } => {
                    tracing::debug!(%url, code, %reason, "ice server error");
                    self.events.push_back(Event::IceCandidateError {
                        url,
                        error_code: code,
                        error_text: reason,
                    });
                }
                _ => {}
            }
        }
        progress
    }

    /// (mid, index) of the BUNDLE tag of the local description, for candidate events.
    fn bundle_tag(&self) -> (Option<String>, Option<u16>) {
        let Some(desc) = self.local_desc_sd() else {
            return (Some("0".into()), Some(0));
        };
        let Some(m) = jsep::transport_section(desc) else {
            return (None, Some(0));
        };
        let index = desc
            .media
            .iter()
            .position(|x| std::ptr::eq(x, m))
            .and_then(|i| u16::try_from(i).ok());
        (m.mid().map(str::to_owned), index)
    }

    pub(crate) fn ice_close(&mut self) {
        let now = self.now;
        if let Some(agent) = &mut self.ice.agent {
            agent.close(now);
            while let Some(t) = agent.poll_transmit() {
                self.transport.transmits.push_back(t);
            }
        }
    }
}
