//! Harnesses for the cargo-fuzz targets in `/fuzz` (feature `fuzzing`). Each asserts
//! invariants, not only the absence of panics.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use oxrtc_stun::{
    AttributeType, ChannelNumber, Class, ConnectionId, IntegrityKey, Message, MessageBuilder,
    Method, Nonce, Realm, TransactionId, Username,
};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::wire::{
    is_channel_data, ChannelData, ChannelDataRepr, Frame, StreamFramer, MAX_FRAME_LEN,
};
use crate::{
    Client, ClientConfig, ClientOutcome, Event, FiveTuple, Server, ServerConfig, ServerEvent,
    TurnTransport,
};

const USER: &str = "fuzz";
const PASS: &str = "fuzz";
const REALM: &str = "fuzz";

/// `turn_channel_data`: the ChannelData view, its writer, the stream framer, and a client
/// with a bound channel fed the bytes.
///
/// Asserts: a checked view re-encodes to the bytes it came from (`write(parse(b))` is a
/// prefix of `b`) and parses back equal; [`is_channel_data`] never accepts what the view
/// rejects; the framer returns frames no longer than [`MAX_FRAME_LEN`] that together never
/// exceed its input, and buffers no more than one frame beyond what it returned; the
/// client never panics and stays allocated.
pub fn turn_channel_data(data: &[u8]) {
    let checked = ChannelData::new_checked(data);
    if is_channel_data(data) {
        assert!(checked.is_ok(), "is_channel_data accepted {checked:?}");
    }
    if let Ok(view) = checked {
        let repr = ChannelDataRepr::parse(&view);
        let mut out = Vec::new();
        let n = repr
            .write(&mut out, false)
            .unwrap_or_else(|e| panic!("parsed channel data does not re-encode: {e}"));
        assert_eq!(&out[..], &data[..n], "write(parse(b)) differs from b");
        let again = ChannelData::new_checked(&out[..]).expect("re-encoding parses");
        assert_eq!(ChannelDataRepr::parse(&again), repr);
        let mut padded = Vec::new();
        let m = repr.write(&mut padded, true).expect("padded encodes");
        assert_eq!(m % 4, 0);
    }

    // The framer, fed in uneven pieces.
    let mut framer = StreamFramer::new();
    let mut taken = 0usize;
    let mut fed = 0usize;
    for (i, piece) in data.chunks(7 + data.len() % 13).enumerate() {
        framer.push(piece);
        fed += piece.len();
        loop {
            match framer.next_frame() {
                Ok(Some(f)) => {
                    let len = f.as_bytes().len();
                    assert!(len <= MAX_FRAME_LEN);
                    if let Frame::Stun(b) = f {
                        assert!(Message::new_checked(b).is_ok() || b.len() >= 20);
                    }
                    taken += len;
                }
                Ok(None) => break,
                Err(_) => break,
            }
        }
        assert!(taken <= fed);
        assert!(
            framer.buffered() <= MAX_FRAME_LEN + piece.len() + i,
            "framer holds {} bytes",
            framer.buffered()
        );
    }

    // A client with a bound channel, fed the datagram and the stream.
    let (mut client, server) = allocated_client();
    let now = Instant::now();
    let _ = client.handle_receive(now, server, data);
    let _ = client.handle_stream_data(now, data);
    while client.poll_transmit().is_some() {}
    while let Some(e) = client.poll_event() {
        if let Event::Data { data: d, .. } = e {
            assert!(d.len() <= data.len());
        }
    }
    client.handle_timeout(now + Duration::from_secs(1));
    assert!(client.is_allocated());
}

/// A client allocated on an in-memory server, with channel 0x4000 bound to a peer.
fn allocated_client() -> (Client, SocketAddr) {
    let now = Instant::now();
    let server_addr = SocketAddr::from(([192, 0, 2, 1], 3478));
    let mut server = Server::new(
        ServerConfig {
            realm: REALM.into(),
            users: vec![(USER.into(), PASS.into())],
            ..Default::default()
        },
        now,
        ChaCha8Rng::seed_from_u64(1),
    );
    let config = ClientConfig::new(server_addr, TurnTransport::Udp, USER, PASS);
    let mut client = Client::new(config, now, ChaCha8Rng::seed_from_u64(2));
    let tuple = FiveTuple {
        transport: TurnTransport::Udp,
        client: SocketAddr::from(([198, 51, 100, 1], 4000)),
        server: server_addr,
    };
    let _ = client.allocate(now);
    let peer = SocketAddr::from(([203, 0, 113, 1], 5000));
    for round in 0..8 {
        while let Some(t) = client.poll_transmit() {
            let _ = server.handle_client(now, tuple, &t.contents);
        }
        while let Some(e) = server.poll_event() {
            if let ServerEvent::BindRelay { allocation, .. } = e {
                server.relay_bound(
                    now,
                    allocation,
                    Some(SocketAddr::from(([192, 0, 2, 1], 50000))),
                    None,
                );
            }
        }
        while let Some(t) = server.poll_transmit() {
            let _ = client.handle_receive(now, server_addr, &t.contents);
        }
        while let Some(e) = client.poll_event() {
            if let Event::Allocated { .. } = e {
                let _ = client.bind_channel(now, peer);
            }
        }
        if round > 4 && client.channel(peer).is_some() {
            break;
        }
    }
    assert_eq!(client.channel(peer), Some(ChannelNumber(0x4000)));
    (client, server_addr)
}

/// `turn_server`: a server fed arbitrary datagrams from a handful of addresses, some of
/// them signed with valid credentials so that allocations, permissions, channels and
/// RFC 6062 connections get made, interleaved with peer datagrams, time jumps and
/// disconnects.
///
/// The input is a sequence of operations: one byte `op`, one byte `len`, then `len` bytes.
/// Asserts: every transmit is a well-formed STUN message sent to a client; the data path
/// never relays more than it got; every table stays within the configured caps (bounded
/// memory, whatever the input).
pub fn turn_server(data: &[u8]) {
    let start = Instant::now();
    let mut now = start;
    let config = ServerConfig {
        realm: REALM.into(),
        users: vec![(USER.into(), PASS.into())],
        max_allocations: 4,
        max_allocations_per_user: 4,
        max_permissions: 4,
        max_channels: 4,
        max_tcp_connections: 2,
        max_bandwidth: Some(10_000),
        ..Default::default()
    };
    let caps = config.clone();
    let mut server = Server::new(config, now, ChaCha8Rng::seed_from_u64(7));
    server.set_unix_time(now, 1_700_000_000);
    let server_addr = SocketAddr::from(([192, 0, 2, 1], 3478));
    let clients: [SocketAddr; 4] = [
        SocketAddr::from(([198, 51, 100, 1], 4000)),
        SocketAddr::from(([198, 51, 100, 1], 4001)),
        SocketAddr::from(([198, 51, 100, 2], 4000)),
        SocketAddr::from((Ipv4Addr::LOCALHOST, 4000)),
    ];
    let key = IntegrityKey::long_term(USER, REALM, PASS);
    let mut relays: Vec<SocketAddr> = Vec::new();
    let mut next_port = 50000u16;
    let mut next_id = 0u32;
    let mut out = Vec::new();

    let mut input = data;
    while let [op, len, rest @ ..] = input {
        let len = usize::from(*len).min(rest.len());
        let (chunk, tail) = rest.split_at(len);
        input = tail;
        let tuple = FiveTuple {
            transport: if op & 0x40 != 0 {
                TurnTransport::Tcp
            } else {
                TurnTransport::Udp
            },
            client: clients[usize::from(op >> 4 & 3)],
            server: server_addr,
        };
        match op & 0x0F {
            0..=4 => check_relay(server.handle_client(now, tuple, chunk), chunk),
            5..=8 => {
                next_id += 1;
                let msg = signed_request(&mut server, now, tuple, &key, chunk, next_id);
                check_relay(server.handle_client(now, tuple, &msg), &msg);
            }
            9 | 10 => {
                let relay = relays
                    .get(usize::from(chunk.first().copied().unwrap_or(0)) % relays.len().max(1))
                    .copied()
                    .unwrap_or(server_addr);
                let peer = match chunk.get(1) {
                    Some(b) if b & 1 == 1 => SocketAddr::from(([203, 0, 113, *b], 9)),
                    _ => SocketAddr::from(([192, 0, 2, 99], 7)),
                };
                let payload = chunk.get(2..).unwrap_or(&[]);
                if let Some(to) = server.handle_peer(now, relay, peer, payload, &mut out) {
                    assert!(clients.contains(&to.client));
                    assert!(out.len() <= payload.len() + 64);
                }
            }
            11 => {
                let secs = u64::from(chunk.first().copied().unwrap_or(1));
                now += Duration::from_secs(secs * 8);
                server.handle_timeout(now);
            }
            12 => server.client_disconnected(now, tuple),
            13 => {
                let relay = relays.first().copied().unwrap_or(server_addr);
                let peer = SocketAddr::from(([203, 0, 113, 7], 7));
                let _ = server.peer_connection_accepted(now, relay, peer);
            }
            14 => {
                let id = u32::from_be_bytes([
                    chunk.first().copied().unwrap_or(0),
                    chunk.get(1).copied().unwrap_or(0),
                    chunk.get(2).copied().unwrap_or(0),
                    chunk.get(3).copied().unwrap_or(0),
                ]);
                server.peer_connection_closed(now, ConnectionId(id));
            }
            _ => server.shutdown(now),
        }
        // The runtime's side: drain and answer until quiet (answers make more output).
        for _ in 0..16 {
            let mut quiet = true;
            while let Some(t) = server.poll_transmit() {
                quiet = false;
                assert!(clients.contains(&t.tuple.client));
                if let Err(e) = Message::new_checked(&t.contents[..]) {
                    panic!("server sent a malformed message: {e}");
                }
            }
            while let Some(e) = server.poll_event() {
                quiet = false;
                match e {
                    ServerEvent::BindRelay {
                        allocation,
                        reserve_next,
                        reserved,
                        ..
                    } => {
                        let relay = reserved.unwrap_or_else(|| {
                            next_port = next_port.wrapping_add(2);
                            SocketAddr::from(([192, 0, 2, 1], next_port))
                        });
                        relays.push(relay);
                        let kept = reserve_next
                            .then(|| SocketAddr::from(([192, 0, 2, 1], next_port.wrapping_add(1))));
                        server.relay_bound(now, allocation, Some(relay), kept);
                    }
                    ServerEvent::ReleaseRelay { relay, .. } => relays.retain(|r| Some(*r) != relay),
                    ServerEvent::ConnectPeer { connection_id, .. } => {
                        server.peer_connected(now, connection_id, connection_id.0 % 2 == 0);
                    }
                    _ => {}
                }
            }
            if quiet {
                break;
            }
        }
        if relays.len() > 64 {
            relays.drain(..32);
        }
        let [allocs, perms, chans, conns, all_conns, data_conns, reservations, tx, ev] =
            server.table_sizes();
        assert!(allocs <= caps.max_allocations);
        assert!(perms <= caps.max_permissions);
        assert!(chans <= caps.max_channels);
        assert!(conns <= caps.max_tcp_connections);
        assert!(all_conns <= caps.max_allocations * caps.max_tcp_connections);
        assert!(data_conns <= all_conns);
        assert!(reservations <= caps.max_allocations);
        assert_eq!((tx, ev), (0, 0));
    }
}

fn check_relay(outcome: ClientOutcome<'_>, input: &[u8]) {
    if let ClientOutcome::Relay { data, peer, .. } = outcome {
        assert!(data.len() <= input.len());
        assert!(peer.ip() != IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    }
}

/// A request from fuzz bytes: the first byte picks the method, the rest are attribute TLVs
/// (type, one length byte, value), then valid USERNAME, REALM, NONCE and
/// MESSAGE-INTEGRITY, so the server's authenticated paths are reachable.
fn signed_request(
    server: &mut Server,
    now: Instant,
    tuple: FiveTuple,
    key: &IntegrityKey,
    chunk: &[u8],
    id: u32,
) -> Vec<u8> {
    // A fresh nonce for this client, from a challenge.
    let mut probe = Vec::new();
    let _ = MessageBuilder::new(
        &mut probe,
        Class::Request,
        Method::Refresh,
        TransactionId([0xEE; 12]),
    );
    let _ = server.handle_client(now, tuple, &probe);
    let mut nonce = String::new();
    while let Some(t) = server.poll_transmit() {
        if let Ok(m) = Message::new_checked(&t.contents[..]) {
            if let Ok(Some(n)) = m.attribute::<Nonce<'_>>() {
                nonce = n.0.to_owned();
            }
        }
    }
    let method = match chunk.first().copied().unwrap_or(0) % 8 {
        0 => Method::Allocate,
        1 => Method::Refresh,
        2 => Method::CreatePermission,
        3 => Method::ChannelBind,
        4 => Method::Connect,
        5 => Method::ConnectionBind,
        6 => Method::Binding,
        _ => Method::Unknown(0x0FF),
    };
    let mut tid = [0u8; 12];
    tid[..4].copy_from_slice(&id.to_be_bytes());
    let mut out = Vec::new();
    let mut b = MessageBuilder::new(&mut out, Class::Request, method, TransactionId(tid));
    let mut attrs = chunk.get(1..).unwrap_or(&[]);
    while let [t0, t1, l, rest @ ..] = attrs {
        let l = usize::from(*l).min(rest.len());
        let typ = AttributeType(u16::from_be_bytes([*t0, *t1]));
        let skip = matches!(
            typ,
            AttributeType::MESSAGE_INTEGRITY
                | AttributeType::MESSAGE_INTEGRITY_SHA256
                | AttributeType::FINGERPRINT
        );
        if !skip {
            let _ = b.add_raw(typ, &rest[..l]);
        }
        attrs = &rest[l..];
    }
    let _ = b.add(&Username(USER));
    let _ = b.add(&Realm(REALM));
    let _ = b.add(&Nonce(&nonce));
    let _ = b.add_message_integrity(key);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn harnesses_run_on_seeds() {
        turn_channel_data(&[0x40, 0x00, 0x00, 0x03, 1, 2, 3, 0]);
        turn_channel_data(&[]);
        turn_channel_data(&[0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42]);
        // Allocate (signed, REQUESTED-TRANSPORT UDP), CreatePermission, a peer datagram.
        let allocate = [0x05, 6, 0, 0x00, 0x19, 4, 17, 0];
        turn_server(&allocate);
        let mut ops = allocate.to_vec();
        ops.extend_from_slice(&[0x05, 9, 2, 0x00, 0x12, 8, 0, 1, 0, 9, 203, 0, 113, 1]);
        ops.extend_from_slice(&[0x09, 4, 0, 1, b'h', b'i', 0x0B, 1, 100, 0x0F, 0]);
        turn_server(&ops);
    }
}
