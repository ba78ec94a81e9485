//! The sans-IO core in memory (no sockets): JSEP offer/answer, a full connection setup
//! (ICE + DTLS + SCTP + channel open) on a virtual clock, and bulk data channel transfer
//! through ICE, DTLS and SCTP (64 KiB messages, ordered reliable, buffered-amount flow
//! control). Real-socket figures: `examples/bench_loopback.rs`.
#![allow(clippy::unwrap_used, missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use oxrtc::{
    ChannelId, Config, DataChannelInit, Datagram, Event, InterfaceFilter, OfferOptions,
    PeerConnection,
};
use rand_chacha::rand_core::SeedableRng;
use std::time::{Duration, Instant};

fn config(cert: &oxrtc_dtls::Certificate) -> Config {
    Config {
        certificates: vec![cert.clone()],
        interface_filter: InterfaceFilter::loopback_only(),
        ..Config::default()
    }
}

struct Pair {
    a: PeerConnection,
    b: PeerConnection,
    now: Instant,
}

impl Pair {
    fn new(certs: &[oxrtc_dtls::Certificate; 2]) -> Pair {
        let now = Instant::now();
        let rng = |s| rand_chacha::ChaCha20Rng::seed_from_u64(s);
        let mut a = PeerConnection::with_rng(config(&certs[0]), now, rng(1)).unwrap();
        let mut b = PeerConnection::with_rng(config(&certs[1]), now, rng(2)).unwrap();
        a.add_local_socket("127.0.0.1:5000".parse().unwrap())
            .unwrap();
        b.add_local_socket("127.0.0.1:6000".parse().unwrap())
            .unwrap();
        Pair { a, b, now }
    }

    /// Moves datagrams both ways until neither has any; returns b's and a's events.
    fn pump(&mut self, events: &mut Vec<(bool, Event)>) {
        loop {
            let mut moved = false;
            while let Some(t) = self.a.poll_transmit() {
                moved = true;
                self.b.handle_receive(
                    self.now,
                    Datagram::udp(t.destination, t.source, &t.contents),
                );
            }
            while let Some(t) = self.b.poll_transmit() {
                moved = true;
                self.a.handle_receive(
                    self.now,
                    Datagram::udp(t.destination, t.source, &t.contents),
                );
            }
            events.extend(std::iter::from_fn(|| self.a.poll_event()).map(|e| (true, e)));
            events.extend(std::iter::from_fn(|| self.b.poll_event()).map(|e| (false, e)));
            if !moved {
                let next = [self.a.poll_timeout(), self.b.poll_timeout()]
                    .into_iter()
                    .flatten()
                    .min();
                match next {
                    Some(t) if t <= self.now + Duration::from_millis(5) => {
                        self.now = t.max(self.now);
                        self.a.handle_timeout(self.now);
                        self.b.handle_timeout(self.now);
                    }
                    _ => return,
                }
            }
        }
    }

    fn connect(&mut self) -> (ChannelId, ChannelId) {
        let ch = self
            .a
            .create_data_channel("bulk", DataChannelInit::default())
            .unwrap();
        self.a.set_local_description(None).unwrap();
        self.b
            .set_remote_description(self.a.local_description().unwrap())
            .unwrap();
        self.b.set_local_description(None).unwrap();
        self.a
            .set_remote_description(self.b.local_description().unwrap())
            .unwrap();
        let mut events = Vec::new();
        for _ in 0..1000 {
            self.pump(&mut events);
            let remote = events.iter().find_map(|(a, e)| match e {
                Event::ChannelOpen(id) if !*a => Some(*id),
                _ => None,
            });
            let local = events
                .iter()
                .any(|(a, e)| *a && *e == Event::ChannelOpen(ch));
            if let (Some(r), true) = (remote, local) {
                return (ch, r);
            }
            self.now += Duration::from_millis(1);
            self.a.handle_timeout(self.now);
            self.b.handle_timeout(self.now);
        }
        panic!("no channel: {events:?}");
    }
}

fn benches(c: &mut Criterion) {
    let certs = [
        oxrtc_dtls::Certificate::generate().unwrap(),
        oxrtc_dtls::Certificate::generate().unwrap(),
    ];
    c.bench_function("jsep offer+answer (data + audio + video)", |bch| {
        bch.iter(|| {
            let mut p = Pair::new(&certs);
            p.a.add_transceiver(oxrtc::MediaKind::Audio, Default::default())
                .unwrap();
            p.a.add_transceiver(oxrtc::MediaKind::Video, Default::default())
                .unwrap();
            p.a.create_data_channel("x", DataChannelInit::default())
                .unwrap();
            let offer = p.a.create_offer(OfferOptions::default()).unwrap();
            p.b.set_remote_description(offer).unwrap();
            p.b.create_answer().unwrap()
        })
    });
    c.bench_function("connection setup in memory (ICE+DTLS+SCTP+open)", |bch| {
        bch.iter(|| Pair::new(&certs).connect())
    });
    let mut g = c.benchmark_group("bulk in memory");
    const TOTAL: usize = 16 * 1024 * 1024;
    g.throughput(Throughput::Bytes(TOTAL as u64));
    g.sample_size(10);
    g.bench_function("64 KiB messages through ICE+DTLS+SCTP", |bch| {
        let mut p = Pair::new(&certs);
        let (ch, _) = p.connect();
        let msg = bytes::Bytes::from(vec![7u8; 64 * 1024]);
        let mut events = Vec::new();
        bch.iter(|| {
            let mut sent = 0;
            let mut got = 0;
            while got < TOTAL {
                while sent < TOTAL && p.a.channel(ch).unwrap().buffered_amount() < 1 << 20 {
                    p.a.channel(ch).unwrap().send(msg.clone()).unwrap();
                    sent += msg.len();
                }
                events.clear();
                p.pump(&mut events);
                for (_, e) in events.drain(..) {
                    if let Event::ChannelMessage { message, .. } = e {
                        got += message.len();
                    }
                }
                p.now += Duration::from_millis(1);
                p.a.handle_timeout(p.now);
                p.b.handle_timeout(p.now);
            }
        })
    });
    g.finish();
}

criterion_group!(all, benches);
criterion_main!(all);
