//! Criterion benches: full handshakes per second in memory (both ends on one core) and
//! record seal+open throughput for 1200-byte records beside raw ring AES-128-GCM.
#![allow(clippy::unwrap_used, missing_docs)]

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use oxrtc_dtls::wire::CipherSuite;
use oxrtc_dtls::{Certificate, Config, Connection, Event, FingerprintAlgorithm, Role, State};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM};
use std::hint::black_box;
use std::time::Instant;

fn pair(cc: &Certificate, sc: &Certificate, suite: CipherSuite) -> (Connection, Connection) {
    let mut c = Config::new(Role::Client, cc.clone());
    c.expected_remote_fingerprints = vec![sc.fingerprint(FingerprintAlgorithm::Sha256)];
    c.cipher_suites = vec![suite];
    let mut s = Config::new(Role::Server, sc.clone());
    s.expected_remote_fingerprints = vec![cc.fingerprint(FingerprintAlgorithm::Sha256)];
    s.cookie_secret = Some([1; 32]);
    let now = Instant::now();
    let server = Connection::new(s, now, ChaCha8Rng::seed_from_u64(1)).unwrap();
    let client = Connection::new(c, now, ChaCha8Rng::seed_from_u64(2)).unwrap();
    (client, server)
}

/// Shuttles datagrams until both ends are connected.
fn handshake(client: &mut Connection, server: &mut Connection) {
    let now = Instant::now();
    while client.state() != State::Connected || server.state() != State::Connected {
        let mut moved = false;
        while let Some(d) = client.poll_transmit() {
            server.handle_receive(now, &d).unwrap();
            moved = true;
        }
        while let Some(d) = server.poll_transmit() {
            client.handle_receive(now, &d).unwrap();
            moved = true;
        }
        assert!(moved, "handshake stalled");
    }
    while client.poll_event().is_some() {}
    while server.poll_event().is_some() {}
}

fn bench_handshake(c: &mut Criterion) {
    let cc = Certificate::generate().unwrap();
    let sc = Certificate::generate().unwrap();
    let mut g = c.benchmark_group("handshake");
    g.throughput(Throughput::Elements(1));
    g.bench_function("full_ecdsa_p256_x25519_aes128gcm", |b| {
        b.iter(|| {
            let (mut client, mut server) = pair(
                &cc,
                &sc,
                CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            );
            handshake(&mut client, &mut server);
            black_box((client, server))
        })
    });
    g.finish();
}

fn bench_records(c: &mut Criterion) {
    const SIZE: usize = 1200;
    let cc = Certificate::generate().unwrap();
    let sc = Certificate::generate().unwrap();
    let payload = vec![0x5au8; SIZE];
    let mut g = c.benchmark_group("record_1200");
    g.throughput(Throughput::Bytes(SIZE as u64));
    for (name, suite) in [
        (
            "dtls_aes128gcm_seal_open",
            CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        ),
        (
            "dtls_chacha20_seal_open",
            CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        ),
    ] {
        let (mut client, mut server) = pair(&cc, &sc, suite);
        handshake(&mut client, &mut server);
        let now = Instant::now();
        // The copying API: a fresh Vec per datagram and per received record.
        g.bench_function(name, |b| {
            b.iter(|| {
                client.send_application_data(black_box(&payload)).unwrap();
                let d = client.poll_transmit().unwrap();
                server.handle_receive(now, &d).unwrap();
                match server.poll_event() {
                    Some(Event::ApplicationData(p)) => black_box(p),
                    other => panic!("{other:?}"),
                }
            })
        });
        // The allocation-free API: seal into a reused Vec, receive into one reused
        // BytesMut (the copy into it stands for the socket's recv), open in place.
        let mut tx = Vec::with_capacity(2048);
        let mut rx = BytesMut::with_capacity(64 * 1024);
        g.bench_function(format!("{name}_in_place"), |b| {
            b.iter(|| {
                tx.clear();
                client
                    .seal_application_data(black_box(&payload), &mut tx)
                    .unwrap();
                rx.extend_from_slice(&tx);
                server.handle_receive_bytes(now, rx.split()).unwrap();
                match server.poll_event() {
                    Some(Event::ApplicationDataBytes(p)) => black_box(p.len()),
                    other => panic!("{other:?}"),
                };
                // Reclaims the space once the event's slice is gone.
                rx.reserve(2048);
            })
        });
    }
    // Raw ring AES-128-GCM on the same size: seal and open in place, same AAD length.
    let key = LessSafeKey::new(UnboundKey::new(&AES_128_GCM, &[7; 16]).unwrap());
    let mut buf = payload.clone();
    let mut seq = 0u64;
    g.bench_function("ring_aes128gcm_seal_open", |b| {
        b.iter(|| {
            seq += 1;
            let mut n = [0u8; 12];
            n[4..].copy_from_slice(&seq.to_be_bytes());
            let aad = [0u8; 13];
            buf.truncate(SIZE);
            let tag = key
                .seal_in_place_separate_tag(
                    Nonce::assume_unique_for_key(n),
                    Aad::from(aad),
                    &mut buf,
                )
                .unwrap();
            buf.extend_from_slice(tag.as_ref());
            let plain = key
                .open_in_place(Nonce::assume_unique_for_key(n), Aad::from(aad), &mut buf)
                .unwrap();
            black_box(plain.len())
        })
    });
    g.finish();
}

criterion_group!(benches, bench_handshake, bench_records);
criterion_main!(benches);
