//! A deterministic pair harness: two sans-IO connections, a virtual clock and a seeded
//! lossy network (loss, duplication, reordering by jitter).
#![allow(dead_code, clippy::unwrap_used)]

use oxrtc_dtls::{Certificate, Config, Connection, Event, FingerprintAlgorithm, Role, State};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::{Duration, Instant};

/// Network impairments.
#[derive(Debug, Clone, Copy)]
pub struct Net {
    /// Probability a datagram is lost, in percent.
    pub loss: u32,
    /// Probability a datagram is duplicated, in percent.
    pub dup: u32,
    /// One-way base delay.
    pub delay: Duration,
    /// Extra random delay in [0, jitter): reorders datagrams.
    pub jitter: Duration,
}

impl Net {
    pub fn perfect() -> Net {
        Net {
            loss: 0,
            dup: 0,
            delay: Duration::from_millis(5),
            jitter: Duration::ZERO,
        }
    }

    pub fn bad() -> Net {
        Net {
            loss: 20,
            dup: 10,
            delay: Duration::from_millis(10),
            jitter: Duration::from_millis(40),
        }
    }
}

pub struct Pair {
    pub client: Connection,
    pub server: Connection,
    pub now: Instant,
    pub start: Instant,
    pub net: Net,
    rng: ChaCha8Rng,
    /// (arrival, to_server, datagram)
    in_flight: Vec<(Instant, bool, Vec<u8>)>,
    pub client_events: Vec<Event>,
    pub server_events: Vec<Event>,
    pub delivered: usize,
    pub max_datagram: usize,
    /// Deliver through `handle_receive_bytes` (in-place decryption) instead of
    /// `handle_receive`.
    pub bytes_path: bool,
}

pub fn certs() -> (Certificate, Certificate) {
    (
        Certificate::generate().unwrap(),
        Certificate::generate().unwrap(),
    )
}

pub fn configs(client_cert: &Certificate, server_cert: &Certificate) -> (Config, Config) {
    let mut c = Config::new(Role::Client, client_cert.clone());
    c.expected_remote_fingerprints = vec![server_cert.fingerprint(FingerprintAlgorithm::Sha256)];
    let mut s = Config::new(Role::Server, server_cert.clone());
    s.expected_remote_fingerprints = vec![client_cert.fingerprint(FingerprintAlgorithm::Sha256)];
    (c, s)
}

impl Pair {
    pub fn new(client: Config, server: Config, net: Net, seed: u64) -> Pair {
        let now = Instant::now();
        let server = Connection::new(server, now, ChaCha8Rng::seed_from_u64(seed ^ 0x5e)).unwrap();
        let client = Connection::new(client, now, ChaCha8Rng::seed_from_u64(seed ^ 0xc1)).unwrap();
        Pair {
            client,
            server,
            now,
            start: now,
            net,
            rng: ChaCha8Rng::seed_from_u64(seed),
            in_flight: Vec::new(),
            client_events: Vec::new(),
            server_events: Vec::new(),
            delivered: 0,
            max_datagram: 0,
            bytes_path: false,
        }
    }

    pub fn default_pair(seed: u64) -> Pair {
        let (cc, sc) = certs();
        let (c, s) = configs(&cc, &sc);
        Pair::new(c, s, Net::perfect(), seed)
    }

    fn chance(&mut self, percent: u32) -> bool {
        self.rng.next_u32() % 100 < percent
    }

    /// Moves queued datagrams onto the network and events into the logs.
    pub fn collect(&mut self) {
        for to_server in [true, false] {
            loop {
                let d = if to_server {
                    self.client.poll_transmit()
                } else {
                    self.server.poll_transmit()
                };
                let Some(d) = d else { break };
                self.max_datagram = self.max_datagram.max(d.len());
                if self.chance(self.net.loss) {
                    continue;
                }
                let copies = if self.chance(self.net.dup) { 2 } else { 1 };
                for _ in 0..copies {
                    let jitter = if self.net.jitter.is_zero() {
                        Duration::ZERO
                    } else {
                        Duration::from_micros(
                            self.rng.next_u64() % self.net.jitter.as_micros() as u64,
                        )
                    };
                    self.in_flight
                        .push((self.now + self.net.delay + jitter, to_server, d.clone()));
                }
            }
        }
        while let Some(e) = self.client.poll_event() {
            self.client_events.push(e);
        }
        while let Some(e) = self.server.poll_event() {
            self.server_events.push(e);
        }
    }

    /// One step: deliver everything due, or jump the clock to the next arrival or timer.
    /// Returns false when nothing is left to happen.
    pub fn step(&mut self) -> bool {
        self.collect();
        let next_arrival = self.in_flight.iter().map(|p| p.0).min();
        let timers = [self.client.poll_timeout(), self.server.poll_timeout()];
        let next = timers.into_iter().flatten().chain(next_arrival).min();
        let Some(next) = next else { return false };
        self.now = self.now.max(next);
        // Deliver in arrival order.
        self.in_flight.sort_by_key(|p| p.0);
        let due: Vec<_> = {
            let n = self
                .in_flight
                .iter()
                .take_while(|p| p.0 <= self.now)
                .count();
            self.in_flight.drain(..n).collect()
        };
        for (_, to_server, d) in due {
            self.delivered += 1;
            let conn = if to_server {
                &mut self.server
            } else {
                &mut self.client
            };
            let _ = if self.bytes_path {
                conn.handle_receive_bytes(self.now, bytes::BytesMut::from(&d[..]))
            } else {
                conn.handle_receive(self.now, &d)
            };
        }
        self.client.handle_timeout(self.now);
        self.server.handle_timeout(self.now);
        self.collect();
        true
    }

    /// Runs until both ends are connected (or anything ended), at most `limit` of
    /// virtual time.
    pub fn drive_handshake(&mut self, limit: Duration) -> bool {
        while self.now - self.start < limit {
            let done = |s: State| s != State::Handshaking;
            if done(self.client.state()) && done(self.server.state()) {
                // let the last datagrams land
                self.collect();
                if self.in_flight.is_empty() {
                    break;
                }
            }
            if !self.step() {
                break;
            }
        }
        self.client.state() == State::Connected && self.server.state() == State::Connected
    }

    /// Runs until the network is empty and no timer is due within `limit`.
    pub fn settle(&mut self, limit: Duration) {
        let end = self.now + limit;
        while self.now < end {
            self.collect();
            if self.in_flight.is_empty() {
                break;
            }
            self.step();
        }
        self.collect();
    }

    /// Drops everything in flight.
    pub fn drop_in_flight(&mut self) {
        self.collect();
        self.in_flight.clear();
    }

    pub fn client_data(&self) -> Vec<Vec<u8>> {
        data(&self.client_events)
    }

    pub fn server_data(&self) -> Vec<Vec<u8>> {
        data(&self.server_events)
    }
}

fn data(events: &[Event]) -> Vec<Vec<u8>> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::ApplicationData(d) => Some(d.clone()),
            Event::ApplicationDataBytes(d) => Some(d.to_vec()),
            _ => None,
        })
        .collect()
}
