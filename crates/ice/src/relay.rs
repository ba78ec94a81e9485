//! Relayed candidates: one TURN allocation per (server, local socket), through
//! oxrtc-turn's sans-IO client.
//!
//! Placeholder until oxrtc-turn's client lands: [`Relay::new`] returns `None`, so TURN
//! servers are reported as unavailable.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Instant;

use rand_chacha::ChaCha20Rng;

use crate::candidate::Protocol;
use crate::io::Transmit;

/// What a relay reports to the agent.
#[derive(Debug)]
pub(crate) enum RelayOutput {
    Transmit(Transmit),
    Allocated {
        relayed: SocketAddr,
        mapped: Option<SocketAddr>,
    },
    Failed {
        code: u16,
        reason: String,
    },
    Data {
        peer: SocketAddr,
        data: Vec<u8>,
    },
}

#[derive(Debug)]
pub(crate) struct Relay {
    id: u32,
    server_index: usize,
    socket: SocketAddr,
    server: SocketAddr,
    transport: Protocol,
    relayed: Option<SocketAddr>,
}

impl Relay {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        _id: u32,
        _server_index: usize,
        _socket: SocketAddr,
        _server: SocketAddr,
        _transport: Protocol,
        _username: &str,
        _password: &str,
        _now: Instant,
        _rng: &mut ChaCha20Rng,
    ) -> Option<Self> {
        None
    }
    pub(crate) fn id(&self) -> u32 {
        self.id
    }
    pub(crate) fn server_index(&self) -> usize {
        self.server_index
    }
    pub(crate) fn socket(&self) -> SocketAddr {
        self.socket
    }
    pub(crate) fn server(&self) -> SocketAddr {
        self.server
    }
    pub(crate) fn transport(&self) -> Protocol {
        self.transport
    }
    pub(crate) fn relayed(&self) -> Option<SocketAddr> {
        self.relayed
    }
    pub(crate) fn is_pending(&self) -> bool {
        false
    }
    pub(crate) fn matches(&self, local: SocketAddr, remote: SocketAddr) -> bool {
        self.socket == local && self.server == remote
    }
    pub(crate) fn close(&mut self, _now: Instant) {}
    pub(crate) fn handle_timeout(&mut self, _now: Instant) {}
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        None
    }
    pub(crate) fn poll(&mut self, _now: Instant) -> Option<RelayOutput> {
        None
    }
    pub(crate) fn handle_receive(
        &mut self,
        _now: Instant,
        _data: &[u8],
    ) -> Vec<(SocketAddr, Vec<u8>)> {
        Vec::new()
    }
    pub(crate) fn send_to(
        &mut self,
        _now: Instant,
        _peer: SocketAddr,
        _data: &[u8],
    ) -> Option<Transmit> {
        None
    }
}
