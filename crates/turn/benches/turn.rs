//! The sans-IO hot paths: the server core relaying ChannelData and Data indications, the
//! client encoding and decoding them, the stream framer, and an authenticated request.
//! Relay throughput over real sockets, against coturn, is the `relay_throughput` bench.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use oxrtc_stun::{
    ChannelNumber, Class, IntegrityKey, Message, MessageBuilder, Method, Nonce, Realm,
    TransactionId, Username, XorPeerAddress,
};
use oxrtc_turn::*;
use rand::rngs::StdRng;
use rand::SeedableRng;

const PAYLOAD: usize = 160;

struct Setup {
    server: Server,
    client: Client,
    tuple: FiveTuple,
    server_addr: SocketAddr,
    relay: SocketAddr,
    peer: SocketAddr,
    now: Instant,
}

/// A client allocated on a server core, with a channel to `peer` and a permission for a
/// second peer without a channel.
fn setup() -> Setup {
    let now = Instant::now();
    let server_addr: SocketAddr = "192.0.2.1:3478".parse().unwrap();
    let relay: SocketAddr = "192.0.2.1:50000".parse().unwrap();
    let peer: SocketAddr = "203.0.113.1:5000".parse().unwrap();
    let mut server = Server::new(
        ServerConfig {
            users: vec![("u".into(), "p".into())],
            ..Default::default()
        },
        now,
        StdRng::seed_from_u64(1),
    );
    let mut client = Client::new(
        ClientConfig::new(server_addr, TurnTransport::Udp, "u", "p"),
        now,
        StdRng::seed_from_u64(2),
    );
    let tuple = FiveTuple {
        transport: TurnTransport::Udp,
        client: "198.51.100.1:4000".parse().unwrap(),
        server: server_addr,
    };
    client.allocate(now).unwrap();
    for _ in 0..10 {
        while let Some(t) = client.poll_transmit() {
            let _ = server.handle_client(now, tuple, &t.contents);
        }
        while let Some(e) = server.poll_event() {
            if let ServerEvent::BindRelay { allocation, .. } = e {
                server.relay_bound(now, allocation, Some(relay), None);
            }
        }
        while let Some(t) = server.poll_transmit() {
            client
                .handle_receive(now, server_addr, &t.contents)
                .unwrap();
        }
        while let Some(e) = client.poll_event() {
            if let Event::Allocated { .. } = e {
                client.bind_channel(now, peer).unwrap();
                client
                    .create_permission(now, "203.0.113.2".parse().unwrap())
                    .unwrap();
            }
        }
    }
    assert_eq!(client.channel(peer), Some(ChannelNumber(0x4000)));
    Setup {
        server,
        client,
        tuple,
        server_addr,
        relay,
        peer,
        now,
    }
}

fn server_paths(c: &mut Criterion) {
    let mut s = setup();
    let payload = [0x5Au8; PAYLOAD];
    let mut g = c.benchmark_group("server");
    g.throughput(Throughput::Elements(1));
    g.measurement_time(Duration::from_secs(3));

    let mut cd = Vec::new();
    write_channel_data(&mut cd, ChannelNumber(0x4000), &payload, false).unwrap();
    g.bench_function("channel_data_to_peer", |b| {
        b.iter(|| {
            let out = s.server.handle_client(s.now, s.tuple, black_box(&cd));
            assert!(matches!(out, ClientOutcome::Relay { .. }));
        })
    });

    let mut send = Vec::new();
    let mut mb = MessageBuilder::new(
        &mut send,
        Class::Indication,
        Method::Send,
        TransactionId([1; 12]),
    );
    mb.add(&XorPeerAddress("203.0.113.2:6000".parse().unwrap()))
        .unwrap();
    mb.add(&oxrtc_stun::Data(&payload)).unwrap();
    g.bench_function("send_indication_to_peer", |b| {
        b.iter(|| {
            let out = s.server.handle_client(s.now, s.tuple, black_box(&send));
            assert!(matches!(out, ClientOutcome::Relay { .. }));
        })
    });

    let mut out = Vec::with_capacity(2048);
    g.bench_function("peer_to_client_channel_data", |b| {
        b.iter(|| {
            let to = s
                .server
                .handle_peer(s.now, s.relay, s.peer, black_box(&payload), &mut out);
            assert!(to.is_some());
        })
    });
    let other: SocketAddr = "203.0.113.2:6000".parse().unwrap();
    g.bench_function("peer_to_client_data_indication", |b| {
        b.iter(|| {
            let to = s
                .server
                .handle_peer(s.now, s.relay, other, black_box(&payload), &mut out);
            assert!(to.is_some());
        })
    });

    // An authenticated request end to end: nonce check, key lookup, HMAC verify, response
    // signing (a CreatePermission refresh).
    let key = IntegrityKey::long_term("u", "oxrtc", "p");
    let mut probe = Vec::new();
    let _ = MessageBuilder::new(
        &mut probe,
        Class::Request,
        Method::Refresh,
        TransactionId([9; 12]),
    );
    let _ = s.server.handle_client(s.now, s.tuple, &probe);
    let challenge = s.server.poll_transmit().unwrap().contents;
    let nonce = Message::new_checked(&challenge[..])
        .unwrap()
        .attribute::<Nonce<'_>>()
        .unwrap()
        .unwrap()
        .0
        .to_owned();
    let mut req = Vec::new();
    let mut mb = MessageBuilder::new(
        &mut req,
        Class::Request,
        Method::CreatePermission,
        TransactionId([3; 12]),
    );
    mb.add(&XorPeerAddress("203.0.113.2:0".parse().unwrap()))
        .unwrap();
    mb.add(&Username("u")).unwrap();
    mb.add(&Realm("oxrtc")).unwrap();
    mb.add(&Nonce(&nonce)).unwrap();
    mb.add_message_integrity(&key).unwrap();
    mb.add_fingerprint().unwrap();
    g.bench_function("authenticated_create_permission", |b| {
        b.iter(|| {
            let _ = s.server.handle_client(s.now, s.tuple, black_box(&req));
            let t = s.server.poll_transmit().unwrap();
            assert_eq!(t.contents[0] & 0x01, 0x01); // a success response
        })
    });
    g.finish();
}

fn client_paths(c: &mut Criterion) {
    let mut s = setup();
    let payload = [0x5Au8; PAYLOAD];
    let mut g = c.benchmark_group("client");
    g.throughput(Throughput::Elements(1));
    g.measurement_time(Duration::from_secs(3));
    g.bench_function("send_to_channel", |b| {
        b.iter(|| {
            s.client
                .send_to(s.now, s.peer, black_box(&payload))
                .unwrap();
            let t = s.client.poll_transmit().unwrap();
            black_box(t.contents);
        })
    });
    let mut cd = Vec::new();
    write_channel_data(&mut cd, ChannelNumber(0x4000), &payload, false).unwrap();
    g.bench_function("receive_channel_data", |b| {
        b.iter(|| {
            s.client
                .handle_receive(s.now, s.server_addr, black_box(&cd))
                .unwrap();
            black_box(s.client.poll_event().unwrap());
        })
    });
    g.finish();
}

fn framer(c: &mut Criterion) {
    let payload = [0x5Au8; PAYLOAD];
    let mut stream = Vec::new();
    while stream.len() < 64 * 1024 {
        write_channel_data(
            &mut stream,
            ChannelNumber(0x4001),
            &payload[..PAYLOAD - 1],
            true,
        )
        .unwrap();
    }
    let mut g = c.benchmark_group("framer");
    g.throughput(Throughput::Bytes(stream.len() as u64));
    g.measurement_time(Duration::from_secs(3));
    g.bench_function("split_64k_stream_in_1500_byte_reads", |b| {
        b.iter_batched(
            StreamFramer::new,
            |mut f| {
                let mut frames = 0;
                for chunk in stream.chunks(1500) {
                    f.push(chunk);
                    while let Ok(Some(_)) = f.next_frame() {
                        frames += 1;
                    }
                }
                black_box(frames)
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, server_paths, client_paths, framer);
criterion_main!(benches);
