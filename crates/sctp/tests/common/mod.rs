//! A deterministic pair harness: two associations, a seeded virtual network (delay, jitter,
//! loss, duplication; jitter reorders) and a virtual clock that jumps to the next arrival or
//! deadline.
#![allow(dead_code, clippy::unwrap_used, clippy::type_complexity)]

use oxrtc_sctp::{Association, Config, Event};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub struct NetConfig {
    /// Probability of losing a packet, 0..1.
    pub loss: f64,
    /// Probability of duplicating a packet.
    pub dup: f64,
    pub delay: Duration,
    /// Uniform extra delay up to this; packets overtake each other.
    pub jitter: Duration,
}

impl NetConfig {
    pub fn perfect() -> Self {
        NetConfig {
            loss: 0.0,
            dup: 0.0,
            delay: Duration::from_millis(10),
            jitter: Duration::ZERO,
        }
    }
    pub fn lossy(loss: f64) -> Self {
        NetConfig {
            loss,
            dup: 0.01,
            delay: Duration::from_millis(10),
            jitter: Duration::from_millis(4),
        }
    }
}

pub struct Pair {
    pub a: Association,
    pub b: Association,
    pub now: Instant,
    pub start: Instant,
    net: NetConfig,
    rng: ChaCha8Rng,
    seq: u64,
    /// (arrival, seq, to_b, packet)
    wire: BinaryHeap<Reverse<(Instant, u64, bool, Vec<u8>)>>,
    pub events_a: VecDeque<Event>,
    pub events_b: VecDeque<Event>,
    pub packets: u64,
    /// When set, every packet sent (before loss) as `(from_a, bytes)`.
    pub tap: Option<Vec<(bool, Vec<u8>)>>,
}

impl Pair {
    pub fn new(seed: u64, net: NetConfig) -> Self {
        Self::with_configs(seed, net, Config::default(), Config::default())
    }

    pub fn with_configs(seed: u64, net: NetConfig, ca: Config, cb: Config) -> Self {
        let now = Instant::now();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let a = Association::new(ca, true, now, &mut rng);
        let b = Association::new(cb, false, now, &mut rng);
        Pair {
            a,
            b,
            now,
            start: now,
            net,
            rng,
            seq: 0,
            wire: BinaryHeap::new(),
            events_a: VecDeque::new(),
            events_b: VecDeque::new(),
            packets: 0,
            tap: None,
        }
    }

    fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && (self.rng.next_u64() as f64 / u64::MAX as f64) < p
    }

    fn put(&mut self, to_b: bool, p: Vec<u8>) {
        self.packets += 1;
        if let Some(tap) = self.tap.as_mut() {
            tap.push((to_b, p.clone()));
        }
        if self.chance(self.net.loss) {
            return;
        }
        let copies = if self.chance(self.net.dup) { 2 } else { 1 };
        for _ in 0..copies {
            let j = self.net.jitter.as_micros() as u64;
            let extra = if j > 0 { self.rng.next_u64() % j } else { 0 };
            let at = self.now + self.net.delay + Duration::from_micros(extra);
            self.seq += 1;
            self.wire.push(Reverse((at, self.seq, to_b, p.clone())));
        }
    }

    /// Moves every pending output onto the wire and every event into the queues.
    pub fn flush(&mut self) {
        loop {
            let mut any = false;
            while let Some(p) = self.a.poll_transmit() {
                self.put(true, p);
                any = true;
            }
            while let Some(p) = self.b.poll_transmit() {
                self.put(false, p);
                any = true;
            }
            if !any {
                break;
            }
        }
        while let Some(e) = self.a.poll_event() {
            self.events_a.push_back(e);
        }
        while let Some(e) = self.b.poll_event() {
            self.events_b.push_back(e);
        }
    }

    /// Advances to the next arrival or deadline and processes it. False when nothing is left
    /// to happen.
    pub fn step(&mut self) -> bool {
        self.flush();
        let next_wire = self.wire.peek().map(|Reverse((t, ..))| *t);
        let next = [next_wire, self.a.poll_timeout(), self.b.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        let Some(next) = next else {
            return false;
        };
        if next > self.now {
            self.now = next;
        }
        while let Some(Reverse((t, ..))) = self.wire.peek() {
            if *t > self.now {
                break;
            }
            let Some(Reverse((_, _, to_b, p))) = self.wire.pop() else {
                break;
            };
            if to_b {
                let _ = self.b.handle_receive(self.now, &p);
            } else {
                let _ = self.a.handle_receive(self.now, &p);
            }
            // Each datagram is handled on its own, as a runtime would: outputs go out at once.
            self.flush();
        }
        if self.a.poll_timeout().is_some_and(|t| t <= self.now) {
            self.a.handle_timeout(self.now);
        }
        if self.b.poll_timeout().is_some_and(|t| t <= self.now) {
            self.b.handle_timeout(self.now);
        }
        self.flush();
        true
    }

    /// Steps until `done` holds or `limit` of virtual time passes; returns whether done.
    pub fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&mut Pair) -> bool) -> bool {
        let end = self.now + limit;
        loop {
            if done(self) {
                return true;
            }
            if self.now > end || !self.step() {
                return done(self);
            }
        }
    }

    pub fn connect(&mut self) {
        let ok = self.run_until(Duration::from_secs(60), |p| {
            p.a.is_established() && p.b.is_established()
        });
        assert!(
            ok,
            "association not established: {:?} {:?}",
            self.a.state(),
            self.b.state()
        );
    }

    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }
}

/// Deterministic content of message `i` of `len` bytes.
pub fn message(i: u64, len: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(len + 8);
    let mut x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(len);
    v
}
