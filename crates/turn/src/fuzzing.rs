//! Harnesses for the cargo-fuzz targets in `/fuzz` (feature `fuzzing`). Each asserts
//! invariants, not only the absence of panics.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use oxrtc_stun::{
    AddressFamily, AttributeType, ChannelNumber, Class, ConnectionId, IntegrityKey, Message,
    MessageBuilder, Method, Nonce, Realm, TransactionId, Username,
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

/// Most client addresses one `turn_server` input may introduce beyond the 16 it starts with.
const MAX_SOURCES: usize = 1024;

/// The server's address for a client of this family (a dual-stack server).
fn server_for(client: SocketAddr) -> SocketAddr {
    if client.is_ipv4() {
        SocketAddr::from(([192, 0, 2, 1], 3478))
    } else {
        SocketAddr::from((Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1), 3478))
    }
}

/// An address taken from the input: a selector byte (even: IPv4 from the next 4 bytes, odd:
/// IPv6 from the next 16), then a 2-byte port. Returns the address and the bytes used, or
/// `None` when the input is too short.
fn address_from(bytes: &[u8]) -> Option<(SocketAddr, usize)> {
    let (&sel, rest) = bytes.split_first()?;
    if sel & 1 == 0 {
        let ip: [u8; 4] = rest.get(..4)?.try_into().ok()?;
        let port = u16::from_be_bytes(rest.get(4..6)?.try_into().ok()?);
        Some((SocketAddr::from((ip, port)), 7))
    } else {
        let ip: [u8; 16] = rest.get(..16)?.try_into().ok()?;
        let port = u16::from_be_bytes(rest.get(16..18)?.try_into().ok()?);
        Some((SocketAddr::from((Ipv6Addr::from(ip), port)), 19))
    }
}

/// `turn_server`: a server fed arbitrary datagrams from arbitrary client addresses, IPv4 and
/// IPv6 (16 slots to start with, replaced by addresses from the input, up to
/// 1024 distinct ones), some of them signed with valid credentials so that
/// allocations, permissions, channels and RFC 6062 connections get made, interleaved with
/// datagrams from peers whose addresses come from the input, bursts of Allocates from many
/// new sources, time jumps and disconnects.
///
/// The input is a sequence of operations: one byte `op` (low nibble: the operation, high
/// nibble: the client slot), one byte `len`, then `len` bytes.
///
/// Asserts: every transmit is a well-formed STUN message sent to a client address that sent
/// something; the data path never relays more than it got; every table stays within the
/// configured caps, and allocations are one per 5-tuple from known sources, whatever the
/// number of sources (bounded memory: nonces are stateless, so per-source state is only
/// what allocations hold); and once every lifetime has run out, every table is empty again.
pub fn turn_server(data: &[u8]) {
    run_turn_server(data);
}

/// [`turn_server`]'s body; returns the server's counters and the most allocations alive at
/// once (for the seed tests).
fn run_turn_server(data: &[u8]) -> (crate::ServerStats, usize) {
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
    let v6 = |a: u16, b: u16, port: u16| {
        SocketAddr::from((Ipv6Addr::new(a, 0xdb8, 0, 0, 0, 0, 0, b), port))
    };
    let mut slots: [SocketAddr; 16] = [
        SocketAddr::from(([198, 51, 100, 1], 4000)),
        SocketAddr::from(([198, 51, 100, 1], 4001)),
        SocketAddr::from(([198, 51, 100, 2], 4000)),
        SocketAddr::from((Ipv4Addr::LOCALHOST, 4000)),
        SocketAddr::from(([203, 0, 113, 9], 1)),
        SocketAddr::from(([10, 0, 0, 1], 65535)),
        SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
        SocketAddr::from((Ipv4Addr::BROADCAST, 4000)),
        v6(0x2001, 1, 4000),
        v6(0x2001, 1, 4001),
        v6(0x2001, 2, 4000),
        SocketAddr::from((Ipv6Addr::LOCALHOST, 4000)),
        // The same host as slot 0, seen through an IPv4-mapped IPv6 address.
        SocketAddr::from((Ipv4Addr::new(198, 51, 100, 1).to_ipv6_mapped(), 4000)),
        SocketAddr::from((Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1), 4000)),
        SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0)),
        v6(0x2600, 7, 3478),
    ];
    let mut seen: HashSet<SocketAddr> = slots.iter().copied().collect();
    let mut introduced = 0usize;
    let key = IntegrityKey::long_term(USER, REALM, PASS);
    let mut relays: Vec<SocketAddr> = Vec::new();
    let mut next_port = 50000u16;
    let mut next_id = 0u32;
    let mut out = Vec::new();
    let tuple_of = |client: SocketAddr, tcp: bool| FiveTuple {
        transport: if tcp {
            TurnTransport::Tcp
        } else {
            TurnTransport::Udp
        },
        client,
        server: server_for(client),
    };

    let mut peak = 0;
    let mut input = data;
    while let [op, len, rest @ ..] = input {
        let len = usize::from(*len).min(rest.len());
        let (chunk, tail) = rest.split_at(len);
        input = tail;
        let slot = usize::from(op >> 4);
        let client = slots[slot];
        match op & 0x0F {
            // Raw datagrams (UDP, TCP).
            k @ (0 | 1 | 12) => check_relay(
                server.handle_client(now, tuple_of(client, k == 1), chunk),
                chunk,
            ),
            // Signed requests (UDP, TCP).
            k @ (2 | 3 | 4 | 14) => {
                let tuple = tuple_of(client, k == 3 || k == 14);
                next_id += 1;
                let msg = signed_request(&mut server, now, tuple, &key, chunk, next_id);
                check_relay(server.handle_client(now, tuple, &msg), &msg);
            }
            // A new source in this slot.
            5 => {
                if let Some((addr, _)) = address_from(chunk) {
                    if introduced < MAX_SOURCES {
                        introduced += 1;
                        slots[slot] = addr;
                        seen.insert(addr);
                    }
                }
            }
            // A peer datagram to a relayed address, from a peer address in the input.
            6 | 7 => {
                let relay = relays
                    .get(usize::from(chunk.first().copied().unwrap_or(0)) % relays.len().max(1))
                    .copied()
                    .unwrap_or_else(|| server_for(client));
                let rest = chunk.get(1..).unwrap_or(&[]);
                let (peer, used) =
                    address_from(rest).unwrap_or((SocketAddr::from(([203, 0, 113, 1], 9)), 0));
                let payload = rest.get(used..).unwrap_or(&[]);
                if let Some(to) = server.handle_peer(now, relay, peer, payload, &mut out) {
                    assert!(seen.contains(&to.client), "relayed to unknown {to:?}");
                    assert!(out.len() <= payload.len() + 64);
                }
            }
            8 => {
                let secs = u64::from(chunk.first().copied().unwrap_or(1));
                now += Duration::from_secs(secs * 8);
                server.handle_timeout(now);
            }
            9 => server.client_disconnected(now, tuple_of(client, true)),
            10 => {
                let relay = relays
                    .first()
                    .copied()
                    .unwrap_or_else(|| server_for(client));
                let peer =
                    address_from(chunk).map_or(SocketAddr::from(([203, 0, 113, 7], 7)), |(a, _)| a);
                let _ = server.peer_connection_accepted(now, relay, peer);
            }
            11 => {
                let id = u32::from_be_bytes([
                    chunk.first().copied().unwrap_or(0),
                    chunk.get(1).copied().unwrap_or(0),
                    chunk.get(2).copied().unwrap_or(0),
                    chunk.get(3).copied().unwrap_or(0),
                ]);
                server.peer_connection_closed(now, ConnectionId(id));
            }
            // A burst: signed Allocates (REQUESTED-TRANSPORT UDP) from many new sources, each
            // an address from the input.
            13 => {
                let mut rest = chunk;
                while let Some((addr, used)) = address_from(rest) {
                    rest = rest.get(used..).unwrap_or(&[]);
                    if introduced >= MAX_SOURCES {
                        break;
                    }
                    introduced += 1;
                    seen.insert(addr);
                    let tuple = tuple_of(addr, false);
                    next_id += 1;
                    let req = [0x00, 0x00, 0x19, 4, 17, 0, 0, 0];
                    let msg = signed_request(&mut server, now, tuple, &key, &req, next_id);
                    check_relay(server.handle_client(now, tuple, &msg), &msg);
                    drain(&mut server, now, &seen, &mut relays, &mut next_port);
                }
            }
            _ => server.shutdown(now),
        }
        drain(&mut server, now, &seen, &mut relays, &mut next_port);
        if relays.len() > 64 {
            relays.drain(..32);
        }
        check_tables(&server, &caps, &seen);
        peak = peak.max(server.allocations().len());
    }
    let stats = server.stats();

    // Every lifetime runs out (allocations 10 min at most, reservations 30 s, permissions,
    // channels and connections with them): nothing stays behind.
    now += Duration::from_secs(2 * 3600);
    server.handle_timeout(now);
    drain(&mut server, now, &seen, &mut relays, &mut next_port);
    now += Duration::from_secs(60);
    server.handle_timeout(now);
    drain(&mut server, now, &seen, &mut relays, &mut next_port);
    check_tables(&server, &caps, &seen);
    let [allocs, _, _, conns, all_conns, data_conns, reservations, _, _, tuples, relayed] =
        server.table_sizes();
    assert_eq!(
        (
            allocs,
            conns,
            all_conns,
            data_conns,
            reservations,
            tuples,
            relayed
        ),
        (0, 0, 0, 0, 0, 0, 0),
        "state left after every lifetime ran out"
    );
    assert!(server.allocations().is_empty());
    (stats, peak)
}

/// The runtime's side: drain and answer until quiet (answers make more output).
fn drain(
    server: &mut Server,
    now: Instant,
    seen: &HashSet<SocketAddr>,
    relays: &mut Vec<SocketAddr>,
    next_port: &mut u16,
) {
    for _ in 0..16 {
        let mut quiet = true;
        while let Some(t) = server.poll_transmit() {
            quiet = false;
            assert!(
                seen.contains(&t.tuple.client),
                "sent to unknown {:?}",
                t.tuple
            );
            if let Err(e) = Message::new_checked(&t.contents[..]) {
                panic!("server sent a malformed message: {e}");
            }
        }
        while let Some(e) = server.poll_event() {
            quiet = false;
            match e {
                ServerEvent::BindRelay {
                    allocation,
                    family,
                    reserve_next,
                    reserved,
                    ..
                } => {
                    let ip = match family {
                        AddressFamily::IPv4 => IpAddr::from([192, 0, 2, 1]),
                        AddressFamily::IPv6 => {
                            IpAddr::from(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1))
                        }
                    };
                    let relay = reserved.unwrap_or_else(|| {
                        *next_port = next_port.wrapping_add(2);
                        SocketAddr::new(ip, *next_port)
                    });
                    relays.push(relay);
                    let kept = reserve_next.then(|| SocketAddr::new(ip, next_port.wrapping_add(1)));
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
}

/// Every table within its cap; allocations one per 5-tuple, from sources that sent.
fn check_tables(server: &Server, caps: &ServerConfig, seen: &HashSet<SocketAddr>) {
    let [allocs, perms, chans, conns, all_conns, data_conns, reservations, tx, ev, by_tuple, by_relay] =
        server.table_sizes();
    // The lookup maps index the allocations exactly: nothing stale left behind.
    assert_eq!(
        (by_tuple, by_relay),
        (allocs, allocs),
        "lookup maps out of step"
    );
    assert!(allocs <= caps.max_allocations);
    assert!(perms <= caps.max_permissions);
    assert!(chans <= caps.max_channels);
    assert!(conns <= caps.max_tcp_connections);
    assert!(all_conns <= caps.max_allocations * caps.max_tcp_connections);
    assert!(data_conns <= all_conns);
    assert!(reservations <= caps.max_allocations);
    assert_eq!((tx, ev), (0, 0));
    let infos = server.allocations();
    assert_eq!(infos.len(), allocs);
    let tuples: HashSet<FiveTuple> = infos.iter().map(|a| a.tuple).collect();
    assert_eq!(tuples.len(), infos.len(), "two allocations on one 5-tuple");
    for a in &infos {
        assert!(
            seen.contains(&a.tuple.client),
            "allocation for unknown {:?}",
            a.tuple
        );
        assert_eq!(a.tuple.server, server_for(a.tuple.client));
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
        // Allocate (signed, REQUESTED-TRANSPORT UDP), CreatePermission for 203.0.113.1, a
        // datagram from that peer, a time jump, shutdown.
        let allocate = [0x02, 8, 0, 0x00, 0x19, 4, 17, 0, 0, 0];
        let (stats, peak) = run_turn_server(&allocate);
        assert_eq!((stats.allocations_total, peak), (1, 1));
        let mut ops = allocate.to_vec();
        // XOR-PEER-ADDRESS 203.0.113.1:9, XORed with the magic cookie.
        ops.extend_from_slice(&[0x02, 12, 2, 0x00, 0x12, 8, 0, 1, 0x21, 0x1B]);
        ops.extend_from_slice(&[203 ^ 0x21, 0x12, 113 ^ 0xA4, 1 ^ 0x42]);
        ops.extend_from_slice(&[0x06, 10, 0, 0, 203, 0, 113, 1, 0, 9, b'h', b'i']);
        ops.extend_from_slice(&[0x08, 1, 100, 0x0F, 0]);
        let (stats, _) = run_turn_server(&ops);
        assert_eq!(stats.packets_to_clients, 1);
    }

    #[test]
    fn turn_server_takes_sources_from_the_input() {
        // A burst of Allocates from six new sources, three IPv4 and three IPv6: four are
        // allocated (the cap), two refused for quota.
        let mut burst = Vec::new();
        for i in 0..3u8 {
            burst.extend_from_slice(&[0, 198, 51, 100, 10 + i, 0x10, i]);
            let mut v6 = [0u8; 19];
            v6[0] = 1;
            v6[1..3].copy_from_slice(&[0x20, 0x01]);
            v6[3..5].copy_from_slice(&[0x0d, 0xb8]);
            v6[16] = i;
            v6[17..19].copy_from_slice(&[0x10, i]);
            burst.extend_from_slice(&v6);
        }
        let mut ops = vec![0x0D, burst.len() as u8];
        ops.extend_from_slice(&burst);
        let (stats, peak) = run_turn_server(&ops);
        assert_eq!((stats.allocations_total, peak), (4, 4));
        assert_eq!(stats.quota_rejections, 2);
        // A new IPv6 source in slot 3 (op 0x35), then a signed Allocate from it (0x32).
        let mut ops = vec![0x35, 19, 1];
        ops.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9]);
        ops.extend_from_slice(&[0x30, 0x39]);
        ops.extend_from_slice(&[0x32, 8, 0, 0x00, 0x19, 4, 17, 0, 0, 0]);
        let (stats, peak) = run_turn_server(&ops);
        assert_eq!((stats.allocations_total, peak), (1, 1));
    }

    #[test]
    fn addresses_from_input() {
        assert_eq!(
            address_from(&[0, 1, 2, 3, 4, 0, 80, 99]),
            Some((SocketAddr::from(([1, 2, 3, 4], 80)), 7))
        );
        let mut v6 = [0u8; 19];
        v6[0] = 3;
        v6[16] = 1;
        v6[18] = 5;
        assert_eq!(
            address_from(&v6),
            Some((SocketAddr::from((Ipv6Addr::LOCALHOST, 5)), 19))
        );
        assert_eq!(address_from(&[0, 1, 2, 3, 4, 0]), None);
        assert_eq!(address_from(&[]), None);
    }
}
