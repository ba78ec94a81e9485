//! Seal+open of 1200-byte records through the copying API, the allocation-free API and
//! raw ring AES-128-GCM, interleaved in rounds; prints the fastest round of each (ns per
//! record). On a shared, loaded machine the minimum over interleaved rounds compares the
//! three far more steadily than separate criterion runs.
//!
//! `cargo run --release -p oxrtc-dtls --example record_path [rounds]`
#![allow(clippy::unwrap_used)]

use bytes::BytesMut;
use oxrtc_dtls::wire::CipherSuite;
use oxrtc_dtls::{Certificate, Config, Connection, Event, FingerprintAlgorithm, Role, State};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM};
use std::hint::black_box;
use std::time::Instant;

const SIZE: usize = 1200;
const PER_ROUND: u32 = 2048;
const BATCH: usize = 64;

fn connected_pair(suite: CipherSuite) -> (Connection, Connection) {
    let (cc, sc) = (
        Certificate::generate().unwrap(),
        Certificate::generate().unwrap(),
    );
    let mut c = Config::new(Role::Client, cc.clone());
    c.expected_remote_fingerprints = vec![sc.fingerprint(FingerprintAlgorithm::Sha256)];
    c.cipher_suites = vec![suite];
    let mut s = Config::new(Role::Server, sc);
    s.expected_remote_fingerprints = vec![cc.fingerprint(FingerprintAlgorithm::Sha256)];
    let now = Instant::now();
    let mut client = Connection::new(c, now, ChaCha8Rng::seed_from_u64(1)).unwrap();
    let mut server = Connection::new(s, now, ChaCha8Rng::seed_from_u64(2)).unwrap();
    while client.state() != State::Connected || server.state() != State::Connected {
        while let Some(d) = client.poll_transmit() {
            server.handle_receive(now, &d).unwrap();
        }
        while let Some(d) = server.poll_transmit() {
            client.handle_receive(now, &d).unwrap();
        }
    }
    while client.poll_event().is_some() {}
    while server.poll_event().is_some() {}
    (client, server)
}

fn ns_per(iters: u32, f: &mut dyn FnMut()) -> f64 {
    let t = Instant::now();
    for _ in 0..iters {
        f();
    }
    t.elapsed().as_nanos() as f64 / f64::from(iters)
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(40);
    let payload = vec![0x5au8; SIZE];
    let now = Instant::now();
    let (mut c1, mut s1) = connected_pair(CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256);
    let (mut c2, mut s2) = connected_pair(CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256);
    let mut copying = || {
        c1.send_application_data(black_box(&payload)).unwrap();
        let d = c1.poll_transmit().unwrap();
        s1.handle_receive(now, &d).unwrap();
        match s1.poll_event() {
            Some(Event::ApplicationData(p)) => {
                black_box(p);
            }
            other => panic!("{other:?}"),
        }
    };
    let mut tx = Vec::with_capacity(2048);
    let mut rx = BytesMut::with_capacity(64 * 1024);
    let mut in_place = || {
        tx.clear();
        c2.seal_application_data(black_box(&payload), &mut tx)
            .unwrap();
        rx.extend_from_slice(&tx);
        s2.handle_receive_bytes(now, rx.split()).unwrap();
        match s2.poll_event() {
            Some(Event::ApplicationDataBytes(p)) => {
                black_box(p.len());
            }
            other => panic!("{other:?}"),
        }
        rx.reserve(2048);
    };
    let key = LessSafeKey::new(UnboundKey::new(&AES_128_GCM, &[7; 16]).unwrap());
    let mut buf = payload.clone();
    let mut seq = 0u64;
    let mut raw = || {
        seq += 1;
        let mut n = [0u8; 12];
        n[4..].copy_from_slice(&seq.to_be_bytes());
        let aad = [0u8; 13];
        buf.truncate(SIZE);
        let tag = key
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(n), Aad::from(aad), &mut buf)
            .unwrap();
        buf.extend_from_slice(tag.as_ref());
        let plain = key
            .open_in_place(Nonce::assume_unique_for_key(n), Aad::from(aad), &mut buf)
            .unwrap();
        black_box(plain.len());
    };
    // Batches of 64 records in flight, as in a bulk transfer: every datagram and every
    // received record is alive at once before the batch is consumed.
    let (mut c3, mut s3) = connected_pair(CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256);
    let (mut c4, mut s4) = connected_pair(CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256);
    let mut wire: Vec<Vec<u8>> = Vec::with_capacity(BATCH);
    let mut got: Vec<Vec<u8>> = Vec::with_capacity(BATCH);
    let mut copying_batch = || {
        for _ in 0..BATCH {
            c3.send_application_data(black_box(&payload)).unwrap();
        }
        wire.extend(std::iter::from_fn(|| c3.poll_transmit()));
        for d in wire.drain(..) {
            s3.handle_receive(now, &d).unwrap();
        }
        while let Some(e) = s3.poll_event() {
            if let Event::ApplicationData(p) = e {
                got.push(p);
            }
        }
        assert_eq!(got.len(), BATCH);
        black_box(&got);
        got.clear();
    };
    let mut pool: Vec<Vec<u8>> = (0..BATCH).map(|_| Vec::with_capacity(2048)).collect();
    let mut rx4 = BytesMut::with_capacity(256 * 1024);
    let mut got4: Vec<bytes::Bytes> = Vec::with_capacity(BATCH);
    let mut in_place_batch = || {
        for tx in pool.iter_mut() {
            tx.clear();
            c4.seal_application_data(black_box(&payload), tx).unwrap();
        }
        for tx in &pool {
            rx4.extend_from_slice(tx);
            s4.handle_receive_bytes(now, rx4.split()).unwrap();
        }
        while let Some(e) = s4.poll_event() {
            if let Event::ApplicationDataBytes(p) = e {
                got4.push(p);
            }
        }
        assert_eq!(got4.len(), BATCH);
        black_box(&got4);
        got4.clear();
        rx4.reserve(64 * 1024);
    };
    // `ONLY=n` runs one variant (for a profiler).
    let only: Option<usize> = std::env::var("ONLY").ok().and_then(|v| v.parse().ok());
    let on = |i: usize| only.is_none_or(|o| o == i);
    let mut best = [f64::MAX; 5];
    let batches = PER_ROUND / BATCH as u32;
    for _ in 0..rounds {
        if on(0) {
            best[0] = best[0].min(ns_per(PER_ROUND, &mut copying));
        }
        if on(1) {
            best[1] = best[1].min(ns_per(PER_ROUND, &mut in_place));
        }
        if on(2) {
            best[2] = best[2].min(ns_per(PER_ROUND, &mut raw));
        }
        if on(3) {
            best[3] = best[3].min(ns_per(batches, &mut copying_batch) / BATCH as f64);
        }
        if on(4) {
            best[4] = best[4].min(ns_per(batches, &mut in_place_batch) / BATCH as f64);
        }
    }
    let rate = |ns: f64| SIZE as f64 / ns * 1e9 / (1 << 20) as f64;
    println!("1200-byte record seal+open, fastest of {rounds} interleaved rounds:");
    for (name, ns) in [
        (
            "dtls copying API (send/poll_transmit/handle_receive)",
            best[0],
        ),
        (
            "dtls in-place API (seal_application_data/handle_receive_bytes)",
            best[1],
        ),
        ("  same, batches of 64 in flight: copying API", best[3]),
        ("  same, batches of 64 in flight: in-place API", best[4]),
        ("raw ring AES-128-GCM seal+open in place", best[2]),
    ] {
        if ns == f64::MAX {
            continue;
        }
        println!(
            "  {name:64} {ns:7.1} ns  {:7.0} MiB/s  {:5.1}% of ring",
            rate(ns),
            if best[2] == f64::MAX {
                f64::NAN
            } else {
                best[2] / ns * 100.0
            }
        );
    }
}
