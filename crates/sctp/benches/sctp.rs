//! Bulk transfer between two associations in memory (no DTLS, no sockets): 64 KiB messages
//! on a reliable ordered data channel, with and without 1 % packet loss, and with CRC32C
//! instead of the RFC 9653 zero checksum. Throughput is payload bytes per second.
#![allow(clippy::unwrap_used, missing_docs)]

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use oxrtc_sctp::{Association, ChannelConfig, Config, Event};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::{Duration, Instant};

const MSG: usize = 64 * 1024;
const TOTAL: usize = 32 * 1024 * 1024;

struct Bench {
    a: Association,
    b: Association,
    id: u16,
    now: Instant,
    rng: ChaCha8Rng,
    loss: u64,
}

fn setup(config: &Config, loss_pct: u64) -> Bench {
    let now = Instant::now();
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let mut a = Association::new(config.clone(), true, now, &mut rng);
    let mut b = Association::new(config.clone(), false, now, &mut rng);
    for _ in 0..8 {
        while let Some(p) = a.poll_transmit() {
            b.handle_receive(now, &p).unwrap();
        }
        while let Some(p) = b.poll_transmit() {
            a.handle_receive(now, &p).unwrap();
        }
    }
    assert!(a.is_established() && b.is_established());
    let id = a.open_channel(ChannelConfig::new("bulk")).unwrap();
    let mut s = Bench {
        a,
        b,
        id,
        now,
        rng,
        loss: u64::MAX / 100 * loss_pct,
    };
    s.transfer(0, &Bytes::new());
    s
}

impl Bench {
    fn lost(&mut self) -> bool {
        self.loss > 0 && self.rng.next_u64() < self.loss
    }

    /// Moves `total` bytes from a to b; returns when all arrived.
    fn transfer(&mut self, total: usize, msg: &Bytes) {
        let (mut sent, mut received) = (0usize, 0usize);
        loop {
            while sent < total && self.a.buffered_amount(self.id) < 1 << 20 {
                self.a.send(self.id, msg.clone(), false).unwrap();
                sent += msg.len();
            }
            let mut moved = false;
            while let Some(p) = self.a.poll_transmit() {
                moved = true;
                if !self.lost() {
                    let _ = self.b.handle_receive(self.now, &p);
                }
            }
            while let Some(e) = self.b.poll_event() {
                if let Event::Message { data, .. } = e {
                    received += data.len();
                }
            }
            while let Some(p) = self.b.poll_transmit() {
                moved = true;
                if !self.lost() {
                    let _ = self.a.handle_receive(self.now, &p);
                }
            }
            while self.a.poll_event().is_some() {}
            if received >= total {
                return;
            }
            if !moved {
                let next = [self.a.poll_timeout(), self.b.poll_timeout()]
                    .into_iter()
                    .flatten()
                    .min()
                    .unwrap_or(self.now + Duration::from_millis(10));
                self.now = self.now.max(next);
                self.a.handle_timeout(self.now);
                self.b.handle_timeout(self.now);
            }
        }
    }
}

fn bulk(c: &mut Criterion) {
    let msg = Bytes::from(vec![0xa5u8; MSG]);
    let mut g = c.benchmark_group("sctp_bulk_64KiB_messages");
    g.throughput(Throughput::Bytes(TOTAL as u64));
    g.sample_size(10);
    let zero = Config::default();
    let crc = Config {
        zero_checksum: false,
        ..Config::default()
    };
    for (name, config, loss) in [
        ("no_loss_zero_checksum", &zero, 0),
        ("no_loss_crc32c", &crc, 0),
        ("loss_1pct_zero_checksum", &zero, 1),
    ] {
        let mut s = setup(config, loss);
        g.bench_function(name, |bch| bch.iter(|| s.transfer(TOTAL, &msg)));
    }
    g.finish();
}

criterion_group!(benches, bulk);
criterion_main!(benches);
