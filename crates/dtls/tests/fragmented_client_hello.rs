//! A server reassembles a ClientHello sent in several fragments, possibly across several
//! datagrams, in any order, duplicated or partly lost, before and after the cookie
//! exchange (RFC 6347 §4.2.1, §4.2.3); a client fragments its own ClientHello to its MTU.
#![allow(clippy::unwrap_used)]

mod common;

use common::{certs, configs, Net, Pair};
use oxrtc_dtls::wire::{
    CipherSuite, ClientHello, ContentType, Extension, ExtensionType, HandshakeFragment,
    HandshakeHeader, HandshakeMessage, HandshakeType, NamedGroup, ProtocolVersion, Record,
    RecordHeader, Records, SignatureScheme,
};
use oxrtc_dtls::{Certificate, Config, Connection, Event, Role, State};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::time::{Duration, Instant};

/// Our ClientHello is 141 bytes on the wire before the cookie exchange and 173 after.
const BOTH_FRAGMENTED_MTU: usize = 128;
const SECOND_FRAGMENTED_MTU: usize = 160;

/// The handshake fragments of a datagram: (record header, fragment header, body).
fn fragments(datagram: &[u8]) -> Vec<(RecordHeader, HandshakeHeader, Vec<u8>)> {
    let mut out = Vec::new();
    for r in Records::new(datagram) {
        let r = r.unwrap();
        if r.header.content_type != ContentType::HANDSHAKE || r.header.epoch != 0 {
            continue;
        }
        let mut rest = r.fragment;
        while !rest.is_empty() {
            let (f, tail) = HandshakeFragment::parse(rest).unwrap();
            out.push((r.header, f.header, f.body.to_vec()));
            rest = tail;
        }
    }
    out
}

fn is_client_hello_fragment(datagram: &[u8]) -> bool {
    fragments(datagram)
        .iter()
        .any(|(_, h, _)| h.msg_type == HandshakeType::CLIENT_HELLO)
}

fn pair(mtu: usize) -> (Connection, Connection) {
    let (cc, sc) = certs();
    let (mut c, s) = configs(&cc, &sc);
    c.mtu = mtu;
    let now = Instant::now();
    (
        Connection::new(c, now, ChaCha8Rng::seed_from_u64(1)).unwrap(),
        Connection::new(s, now, ChaCha8Rng::seed_from_u64(2)).unwrap(),
    )
}

/// What a run saw.
#[derive(Debug, Default)]
struct Trace {
    /// Each batch of client datagrams, as sent (before `mangle`).
    client_batches: Vec<Vec<Vec<u8>>>,
    /// HelloVerifyRequests the server sent.
    hello_verify_requests: usize,
    connected: bool,
}

/// Shuttles datagrams on a virtual clock until both ends are connected (or 30 s of
/// virtual time pass). Each batch of client datagrams (what one input produced) goes
/// through `mangle(batch_index, batch)`, which may reorder, drop or duplicate.
fn run(
    client: &mut Connection,
    server: &mut Connection,
    mut mangle: impl FnMut(usize, Vec<Vec<u8>>) -> Vec<Vec<u8>>,
) -> Trace {
    let start = Instant::now();
    let mut now = start;
    let mut trace = Trace::default();
    while now - start < Duration::from_secs(30) {
        if client.state() == State::Connected && server.state() == State::Connected {
            trace.connected = true;
            break;
        }
        if client.state() == State::Failed || server.state() == State::Failed {
            break;
        }
        let batch: Vec<Vec<u8>> = std::iter::from_fn(|| client.poll_transmit()).collect();
        let mut moved = !batch.is_empty();
        if !batch.is_empty() {
            trace.client_batches.push(batch.clone());
            for d in mangle(trace.client_batches.len() - 1, batch) {
                server.handle_receive(now, &d).unwrap();
            }
        }
        while let Some(d) = server.poll_transmit() {
            moved = true;
            if fragments(&d)
                .iter()
                .any(|(_, h, _)| h.msg_type == HandshakeType::HELLO_VERIFY_REQUEST)
            {
                trace.hello_verify_requests += 1;
            }
            client.handle_receive(now, &d).unwrap();
        }
        if !moved {
            let next = [client.poll_timeout(), server.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            let Some(next) = next else { break };
            now = now.max(next);
            client.handle_timeout(now);
            server.handle_timeout(now);
        }
    }
    trace
}

/// After a run: data flows both ways and both ends export the same keys.
fn check_connected(client: &mut Connection, server: &mut Connection) {
    let now = Instant::now();
    client.send_application_data(b"ping").unwrap();
    server
        .handle_receive(now, &client.poll_transmit().unwrap())
        .unwrap();
    let got: Vec<Event> = std::iter::from_fn(|| server.poll_event()).collect();
    assert!(
        got.contains(&Event::ApplicationData(b"ping".to_vec())),
        "{got:?}"
    );
    assert_eq!(
        client.srtp_keying_material().unwrap(),
        server.srtp_keying_material().unwrap()
    );
}

#[test]
fn small_mtu_client_fragments_both_client_hellos_in_order() {
    let (mut client, mut server) = pair(BOTH_FRAGMENTED_MTU);
    let trace = run(&mut client, &mut server, |_, b| b);
    assert!(trace.connected, "{trace:?}");
    assert_eq!(trace.hello_verify_requests, 1);
    // Both ClientHellos went out in several datagrams within the MTU.
    for batch in &trace.client_batches[..2] {
        assert!(batch.len() >= 2, "not fragmented: {batch:?}");
        assert!(batch.iter().all(|d| d.len() <= BOTH_FRAGMENTED_MTU));
        assert!(batch.iter().all(|d| is_client_hello_fragment(d)));
    }
    for batch in &trace.client_batches {
        assert!(batch.iter().all(|d| d.len() <= BOTH_FRAGMENTED_MTU));
    }
    assert_eq!(server.stats().dropped_fragments, 0);
    assert_eq!(server.stats().retransmissions, 0);
    check_connected(&mut client, &mut server);
}

#[test]
fn small_mtu_client_fragments_reversed() {
    let (mut client, mut server) = pair(BOTH_FRAGMENTED_MTU);
    let trace = run(&mut client, &mut server, |_, mut b| {
        b.reverse();
        b
    });
    assert!(trace.connected, "{trace:?}");
    assert_eq!(trace.hello_verify_requests, 1);
    assert_eq!(client.stats().retransmissions, 0, "no fragment was lost");
    check_connected(&mut client, &mut server);
}

#[test]
fn only_the_second_client_hello_fragmented() {
    let (mut client, mut server) = pair(SECOND_FRAGMENTED_MTU);
    let trace = run(&mut client, &mut server, |_, mut b| {
        b.reverse();
        b
    });
    assert!(trace.connected, "{trace:?}");
    assert_eq!(trace.client_batches[0].len(), 1, "first hello whole");
    assert!(
        trace.client_batches[1].len() >= 2,
        "second hello fragmented"
    );
    assert!(trace.client_batches[1]
        .iter()
        .all(|d| is_client_hello_fragment(d)));
    check_connected(&mut client, &mut server);
}

#[test]
fn lost_and_duplicated_client_hello_fragments() {
    let (mut client, mut server) = pair(BOTH_FRAGMENTED_MTU);
    let trace = run(&mut client, &mut server, |i, b| match i {
        // First ClientHello: its first fragment is lost; the server must not answer.
        0 => b[1..].to_vec(),
        // Its retransmission: every fragment twice, the second copy first.
        1 => b.iter().rev().chain(b.iter()).cloned().collect(),
        // Second ClientHello (with the cookie): last fragment lost.
        2 => b[..b.len() - 1].to_vec(),
        // Its retransmission: duplicated, interleaved with a stale copy of the first
        // ClientHello's fragment, which must not disturb it.
        3 => {
            let mut v = vec![b[0].clone()];
            v.push(b[0].clone());
            v.extend(b[1..].iter().cloned());
            v
        }
        _ => b,
    });
    assert!(trace.connected, "{trace:?}");
    // The lost fragment cost one retransmission of each ClientHello.
    assert_eq!(client.stats().retransmissions, 2);
    // A whole first ClientHello arrived twice (two copies of each fragment).
    assert_eq!(trace.hello_verify_requests, 2);
    check_connected(&mut client, &mut server);
}

#[test]
fn stale_first_hello_fragment_does_not_disturb_the_second() {
    let (mut client, mut server) = pair(BOTH_FRAGMENTED_MTU);
    let mut first: Vec<Vec<u8>> = Vec::new();
    let trace = run(&mut client, &mut server, |i, b| match i {
        0 => {
            first = b.clone();
            b
        }
        // A late copy of the first ClientHello's first fragment arrives between the
        // second ClientHello's fragments.
        1 => vec![b[0].clone(), first[0].clone(), b[1].clone()],
        _ => b,
    });
    assert!(trace.connected, "{trace:?}");
    assert_eq!(client.stats().retransmissions, 0);
    assert_eq!(server.stats().dropped_fragments, 1, "the stale fragment");
    check_connected(&mut client, &mut server);
}

#[test]
fn small_mtu_over_a_bad_network() {
    let (cc, sc) = certs();
    for seed in 0..30 {
        let (mut c, mut s) = configs(&cc, &sc);
        c.mtu = BOTH_FRAGMENTED_MTU;
        s.mtu = BOTH_FRAGMENTED_MTU;
        let mut p = Pair::new(c, s, Net::bad(), seed);
        assert!(
            p.drive_handshake(Duration::from_secs(25)),
            "seed {seed}: {:?} {:?}",
            p.client_events,
            p.server_events
        );
        assert!(p.max_datagram <= BOTH_FRAGMENTED_MTU);
        assert_eq!(
            p.client.srtp_keying_material().unwrap(),
            p.server.srtp_keying_material().unwrap()
        );
    }
}

// ---------------------------------------------------------------------------------------
// Fragmented ClientHellos built by hand: OpenSSL's captured one and a Chromium-like one.

const OPENSSL_CLIENT_HELLO: &[u8] = include_bytes!("data/openssl-client-hello.bin");

/// One record (epoch 0, DTLS 1.2 record version) per fragment `[cuts[i], cuts[i+1])` of
/// the message; record sequence numbers from `first_record_seq`.
fn fragment_records(
    msg_type: HandshakeType,
    message_seq: u16,
    body: &[u8],
    cuts: &[usize],
    first_record_seq: u64,
) -> Vec<Vec<u8>> {
    let mut points = vec![0];
    points.extend_from_slice(cuts);
    points.push(body.len());
    points
        .windows(2)
        .enumerate()
        .map(|(i, w)| {
            let mut payload = Vec::new();
            HandshakeFragment {
                header: HandshakeHeader {
                    msg_type,
                    length: body.len() as u32,
                    message_seq,
                    fragment_offset: w[0] as u32,
                    fragment_length: 0,
                },
                body: &body[w[0]..w[1]],
            }
            .write(&mut payload)
            .unwrap();
            let mut record = Vec::new();
            Record {
                header: RecordHeader {
                    content_type: ContentType::HANDSHAKE,
                    version: ProtocolVersion::DTLS_1_2,
                    epoch: 0,
                    sequence_number: first_record_seq + i as u64,
                    length: 0,
                },
                fragment: &payload,
            }
            .write(&mut record)
            .unwrap();
            record
        })
        .collect()
}

fn server(seed: u64) -> (Connection, Certificate) {
    let cert = Certificate::generate().unwrap();
    let mut cfg = Config::new(Role::Server, cert.clone());
    cfg.cookie_secret = Some([5; 32]);
    let c = Connection::new(cfg, Instant::now(), ChaCha8Rng::seed_from_u64(seed)).unwrap();
    (c, cert)
}

/// The one HelloVerifyRequest the server queued: (record header, message_seq, cookie).
fn take_hello_verify(server: &mut Connection) -> (RecordHeader, u16, Vec<u8>) {
    let d = server.poll_transmit().expect("a HelloVerifyRequest");
    assert!(server.poll_transmit().is_none());
    let [(rh, hh, body)] = fragments(&d).try_into().unwrap();
    let HandshakeMessage::HelloVerifyRequest(hvr) =
        HandshakeMessage::parse(hh.msg_type, &body).unwrap()
    else {
        panic!("not a HelloVerifyRequest")
    };
    assert_eq!(hvr.server_version, ProtocolVersion::DTLS_1_0);
    assert_eq!((hh.fragment_offset, hh.fragment_length), (0, hh.length));
    (rh, hh.message_seq, hvr.cookie)
}

#[test]
fn openssl_client_hello_fragmented_gets_the_same_cookie() {
    let (rec, _) = Record::parse(OPENSSL_CLIENT_HELLO).unwrap();
    let (frag, _) = HandshakeFragment::parse(rec.fragment).unwrap();
    let body = frag.body;
    let now = Instant::now();
    // The unfragmented hello's answer.
    let (mut s, _) = server(1);
    s.handle_receive(now, OPENSSL_CLIENT_HELLO).unwrap();
    let (_, seq, cookie) = take_hello_verify(&mut s);
    assert_eq!(seq, 0);

    let records = fragment_records(HandshakeType::CLIENT_HELLO, 0, body, &[60, 61, 150], 7);
    // Every order of the four fragments, in separate datagrams, gives the same cookie
    // and no answer before the last one.
    let orders: [&[usize]; 5] = [
        &[0, 1, 2, 3],
        &[3, 2, 1, 0],
        &[2, 0, 3, 1],
        &[1, 1, 3, 3, 2, 0],
        &[0, 2, 0, 3, 1],
    ];
    for order in orders {
        let (mut s, _) = server(1);
        for (n, &i) in order.iter().enumerate() {
            s.handle_receive(now, &records[i]).unwrap();
            if n + 1 < order.len() {
                assert!(s.poll_transmit().is_none(), "{order:?}: answered early");
            }
        }
        let (rh, seq, c) = take_hello_verify(&mut s);
        assert_eq!((seq, &c), (0, &cookie), "{order:?}");
        // RFC 6347 §4.2.1: the record number of the (last) ClientHello record.
        assert_eq!(rh.sequence_number, 7 + *order.last().unwrap() as u64);
        assert_eq!(s.stats().dropped_fragments, 0);
        assert_eq!(s.state(), State::Handshaking);
    }
    // All fragments in one datagram (several records), shuffled.
    let (mut s, _) = server(1);
    s.handle_receive(
        now,
        &[&records[2][..], &records[0], &records[3], &records[1]].concat(),
    )
    .unwrap();
    assert_eq!(take_hello_verify(&mut s).2, cookie);
    // A missing byte range never completes.
    let (mut s, _) = server(1);
    for i in [0, 2, 3] {
        s.handle_receive(now, &records[i]).unwrap();
    }
    assert!(s.poll_transmit().is_none());
}

/// A ClientHello shaped like Chromium's (BoringSSL offering DTLS 1.3 and 1.2 with an
/// X25519MLKEM768 key share): too large for one 1200-byte datagram.
fn chromium_like_client_hello(cookie: Vec<u8>) -> ClientHello {
    const X25519_MLKEM768: u16 = 0x11ec;
    let mut key_share = Vec::new();
    let share = |group: u16, len: usize, out: &mut Vec<u8>| {
        out.extend_from_slice(&group.to_be_bytes());
        out.extend_from_slice(&(len as u16).to_be_bytes());
        out.extend((0..len).map(|i| (i * 31 + 7) as u8));
    };
    let mut shares = Vec::new();
    share(X25519_MLKEM768, 1216, &mut shares);
    share(0x001d, 32, &mut shares);
    key_share.extend_from_slice(&(shares.len() as u16).to_be_bytes());
    key_share.extend_from_slice(&shares);
    let unknown = |t: u16, data: Vec<u8>| Extension::Unknown {
        extension_type: ExtensionType(t),
        data,
    };
    ClientHello {
        client_version: ProtocolVersion::DTLS_1_2,
        random: [0x42; 32],
        session_id: Vec::new(),
        cookie,
        cipher_suites: [
            0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xcca9, 0xcca8, 0xc009, 0xc013, 0xc00a, 0xc014,
            0x009c, 0x009d, 0x002f, 0x0035,
        ]
        .map(CipherSuite)
        .to_vec(),
        compression_methods: vec![0],
        extensions: vec![
            Extension::ExtendedMasterSecret,
            Extension::RenegotiationInfo(Vec::new()),
            Extension::SupportedGroups(vec![
                NamedGroup(X25519_MLKEM768),
                NamedGroup::X25519,
                NamedGroup::SECP256R1,
                NamedGroup::SECP384R1,
            ]),
            Extension::EcPointFormats(vec![0]),
            unknown(35, Vec::new()), // session_ticket
            Extension::SignatureAlgorithms(
                [
                    0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
                ]
                .map(SignatureScheme)
                .to_vec(),
            ),
            Extension::UseSrtp {
                profiles: vec![0x0007, 0x0008, 0x0001, 0x0002],
                mki: Vec::new(),
            },
            unknown(43, vec![4, 0xfe, 0xfc, 0xfe, 0xfd]), // supported_versions
            unknown(51, key_share),
            unknown(45, vec![1, 1]), // psk_key_exchange_modes
        ],
    }
}

fn write_body(ch: ClientHello) -> Vec<u8> {
    let mut body = Vec::new();
    HandshakeMessage::ClientHello(ch)
        .write_body(&mut body)
        .unwrap();
    body
}

#[test]
fn chromium_like_fragmented_client_hellos_complete_the_cookie_exchange() {
    let now = Instant::now();
    let (mut s, _) = server(3);
    let first = write_body(chromium_like_client_hello(Vec::new()));
    assert!(first.len() > 1200, "{}", first.len());
    // Two fragments in two datagrams, second one first.
    let records = fragment_records(HandshakeType::CLIENT_HELLO, 0, &first, &[1150], 0);
    s.handle_receive(now, &records[1]).unwrap();
    assert!(s.poll_transmit().is_none());
    s.handle_receive(now, &records[0]).unwrap();
    let (_, seq, cookie) = take_hello_verify(&mut s);
    assert_eq!(seq, 0);

    // The second ClientHello carries the cookie, message_seq 1, in three fragments: two
    // in one datagram, delivered after the third, with duplicates and a stale fragment
    // of the first ClientHello in between.
    let second = write_body(chromium_like_client_hello(cookie));
    let r2 = fragment_records(HandshakeType::CLIENT_HELLO, 1, &second, &[500, 1150], 2);
    s.handle_receive(now, &r2[2]).unwrap();
    s.handle_receive(now, &records[0]).unwrap();
    s.handle_receive(now, &r2[2]).unwrap();
    assert!(s.poll_transmit().is_none());
    s.handle_receive(now, &[&r2[1][..], &r2[0]].concat())
        .unwrap();
    let flight: Vec<Vec<u8>> = std::iter::from_fn(|| s.poll_transmit()).collect();
    let (_, hh, body) = fragments(&flight[0]).into_iter().next().unwrap();
    assert_eq!(hh.msg_type, HandshakeType::SERVER_HELLO);
    assert_eq!(
        hh.message_seq, 1,
        "the server's messages follow the second hello"
    );
    let HandshakeMessage::ServerHello(sh) = HandshakeMessage::parse(hh.msg_type, &body).unwrap()
    else {
        panic!()
    };
    assert_eq!(sh.server_version, ProtocolVersion::DTLS_1_2);
    assert_eq!(
        sh.cipher_suite,
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
    );
    assert!(sh.extensions.contains(&Extension::ExtendedMasterSecret));
    assert_eq!(s.stats().dropped_fragments, 1, "the stale fragment");
    // Retransmitted fragments of the second hello now make the server resend its flight
    // (once the retransmission gap has passed), not restart.
    let later = now + Duration::from_secs(1);
    s.handle_receive(later, &r2[0]).unwrap();
    assert!(s.poll_transmit().is_some(), "flight resent");
    assert_eq!(s.stats().retransmissions, 1);
}

#[test]
fn oversized_or_inconsistent_client_hello_fragments_are_dropped() {
    let now = Instant::now();
    let (mut s, _) = server(4);
    // A fragment of a 20 KiB "ClientHello": over the cap, dropped, nothing kept.
    let big = vec![0u8; 20 * 1024];
    let records = fragment_records(HandshakeType::CLIENT_HELLO, 0, &big, &[1000], 0);
    s.handle_receive(now, &records[0]).unwrap();
    assert_eq!(s.stats().dropped_fragments, 1);
    // Fragments that reassemble into garbage are dropped when whole, without an answer.
    let junk = vec![0xffu8; 300];
    for r in fragment_records(HandshakeType::CLIENT_HELLO, 0, &junk, &[100], 10) {
        s.handle_receive(now, &r).unwrap();
    }
    assert!(s.poll_transmit().is_none());
    assert_eq!(s.stats().dropped_fragments, 2);
    assert_eq!(s.state(), State::Handshaking);
    // The server still answers a real one afterwards.
    s.handle_receive(now, OPENSSL_CLIENT_HELLO).unwrap();
    take_hello_verify(&mut s);
}
