//! Real bytes captured from OpenSSL 3.0 (`s_client -dtls1_2 -use_srtp
//! SRTP_AES128_CM_SHA1_80`, and `s_server`'s answer to that ClientHello; the same with
//! `-mtu 256 -servername <130 characters>`, a ClientHello in two fragments), and from
//! Chromium 156 (its ClientHello, 1413 bytes with an X25519MLKEM768 key share, in two
//! fragments in two datagrams, as it sent it to another Chromium on loopback).
#![allow(clippy::unwrap_used)]

use oxrtc_dtls::wire::{
    CipherSuite, ContentType, Extension, HandshakeFragment, HandshakeMessage, HandshakeType,
    ProtocolVersion, Records,
};
use oxrtc_dtls::{Certificate, Config, Connection, Role};
use rand_chacha::rand_core::SeedableRng;

const CLIENT_HELLO: &[u8] = include_bytes!("data/openssl-client-hello.bin");
const HELLO_VERIFY: &[u8] = include_bytes!("data/openssl-hello-verify-request.bin");
const FRAGMENT_1: &[u8] = include_bytes!("data/openssl-client-hello-fragment-1.bin");
const FRAGMENT_2: &[u8] = include_bytes!("data/openssl-client-hello-fragment-2.bin");
const CHROMIUM_1: &[u8] = include_bytes!("data/chromium-156-client-hello-fragment-1.bin");
const CHROMIUM_2: &[u8] = include_bytes!("data/chromium-156-client-hello-fragment-2.bin");

fn single_message(datagram: &[u8]) -> (HandshakeFragment<'_>, HandshakeMessage) {
    let records: Vec<_> = Records::new(datagram).map(|r| r.unwrap()).collect();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].header.content_type, ContentType::HANDSHAKE);
    let (frag, rest) = HandshakeFragment::parse(records[0].fragment).unwrap();
    assert!(rest.is_empty());
    let msg = HandshakeMessage::parse(frag.header.msg_type, frag.body).unwrap();
    (frag, msg)
}

#[test]
fn openssl_client_hello_parses_and_round_trips() {
    let (frag, msg) = single_message(CLIENT_HELLO);
    assert_eq!(frag.header.msg_type, HandshakeType::CLIENT_HELLO);
    let HandshakeMessage::ClientHello(ch) = &msg else {
        panic!()
    };
    assert_eq!(ch.client_version, ProtocolVersion::DTLS_1_2);
    assert!(ch.cookie.is_empty());
    assert!(ch
        .cipher_suites
        .contains(&CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256));
    assert!(ch.extensions.contains(&Extension::ExtendedMasterSecret));
    assert!(ch.extensions.contains(&Extension::UseSrtp {
        profiles: vec![1],
        mki: vec![]
    }));
    let mut body = Vec::new();
    msg.write_body(&mut body).unwrap();
    assert_eq!(body, frag.body, "byte-exact round trip");
}

#[test]
fn openssl_hello_verify_request_parses() {
    let (frag, msg) = single_message(HELLO_VERIFY);
    let HandshakeMessage::HelloVerifyRequest(hvr) = msg else {
        panic!()
    };
    assert_eq!(frag.header.message_seq, 0);
    assert_eq!(hvr.server_version, ProtocolVersion::DTLS_1_0);
    assert_eq!(hvr.cookie.len(), 20);
}

#[test]
fn our_server_answers_openssl_client_hello_with_a_cookie() {
    let cert = Certificate::generate().unwrap();
    let now = std::time::Instant::now();
    let mut server = Connection::new(
        Config::new(Role::Server, cert),
        now,
        rand_chacha::ChaCha8Rng::seed_from_u64(0),
    )
    .unwrap();
    server.handle_receive(now, CLIENT_HELLO).unwrap();
    let answer = server.poll_transmit().unwrap();
    let (frag, msg) = single_message(&answer);
    assert!(matches!(msg, HandshakeMessage::HelloVerifyRequest(_)));
    // RFC 6347 §4.2.1: message_seq and record sequence copied from the ClientHello.
    assert_eq!(frag.header.message_seq, 0);
    assert_eq!(answer[3..11], CLIENT_HELLO[3..11]);
    assert!(server.poll_transmit().is_none());
}

#[test]
fn our_server_reassembles_openssl_fragmented_client_hello() {
    let (f1, _) =
        HandshakeFragment::parse(Records::new(FRAGMENT_1).next().unwrap().unwrap().fragment)
            .unwrap();
    let (f2, _) =
        HandshakeFragment::parse(Records::new(FRAGMENT_2).next().unwrap().unwrap().fragment)
            .unwrap();
    assert_eq!(f1.header.msg_type, HandshakeType::CLIENT_HELLO);
    assert_eq!(
        (f1.header.fragment_offset, f2.header.fragment_offset),
        (0, 203)
    );
    assert_eq!(f1.header.length, 388);
    assert_eq!(f2.header.fragment_offset + f2.header.fragment_length, 388);
    let whole = [f1.body, f2.body].concat();
    let HandshakeMessage::ClientHello(ch) =
        HandshakeMessage::parse(HandshakeType::CLIENT_HELLO, &whole).unwrap()
    else {
        panic!()
    };
    assert!(ch.extensions.contains(&Extension::ExtendedMasterSecret));

    let now = std::time::Instant::now();
    let server = || {
        let mut cfg = Config::new(Role::Server, Certificate::generate().unwrap());
        cfg.cookie_secret = Some([3; 32]);
        Connection::new(cfg, now, rand_chacha::ChaCha8Rng::seed_from_u64(0)).unwrap()
    };
    let mut answers = Vec::new();
    for order in [[FRAGMENT_1, FRAGMENT_2], [FRAGMENT_2, FRAGMENT_1]] {
        let mut s = server();
        s.handle_receive(now, order[0]).unwrap();
        assert!(
            s.poll_transmit().is_none(),
            "no answer to half a ClientHello"
        );
        s.handle_receive(now, order[1]).unwrap();
        let answer = s.poll_transmit().unwrap();
        let (frag, msg) = single_message(&answer);
        assert!(matches!(msg, HandshakeMessage::HelloVerifyRequest(_)));
        assert_eq!(frag.header.message_seq, 0);
        // The record number of the record that completed the ClientHello.
        assert_eq!(answer[3..11], order[1][3..11]);
        answers.push(answer[13..].to_vec());
    }
    assert_eq!(answers[0], answers[1], "same cookie in either order");
}

#[test]
fn our_server_completes_the_cookie_exchange_with_chromium_156_fragmented_hellos() {
    let frag = |d| {
        let mut records = Records::new(d);
        let r = records.next().unwrap().unwrap();
        assert!(records.next().is_none());
        let (f, rest) = HandshakeFragment::parse(r.fragment).unwrap();
        assert!(rest.is_empty());
        (r.header, f.header, f.body.to_vec())
    };
    let (r1, h1, b1) = frag(CHROMIUM_1);
    let (_, h2, b2) = frag(CHROMIUM_2);
    assert_eq!(CHROMIUM_1.len(), 1200, "Chromium's datagram size");
    assert_eq!(r1.version, ProtocolVersion::DTLS_1_0);
    assert_eq!(
        (h1.length, h1.fragment_offset, h2.fragment_offset),
        (1413, 0, 1175)
    );
    let whole = [b1, b2].concat();
    let HandshakeMessage::ClientHello(ch) =
        HandshakeMessage::parse(HandshakeType::CLIENT_HELLO, &whole).unwrap()
    else {
        panic!()
    };
    let mut again = Vec::new();
    HandshakeMessage::ClientHello(ch.clone())
        .write_body(&mut again)
        .unwrap();
    assert_eq!(again, whole, "byte-exact round trip");
    assert!(ch.extensions.contains(&Extension::ExtendedMasterSecret));

    let now = std::time::Instant::now();
    let mut cfg = Config::new(Role::Server, Certificate::generate().unwrap());
    cfg.cookie_secret = Some([4; 32]);
    let mut s = Connection::new(cfg, now, rand_chacha::ChaCha8Rng::seed_from_u64(0)).unwrap();
    // Second datagram first, then the first: one HelloVerifyRequest.
    s.handle_receive(now, CHROMIUM_2).unwrap();
    assert!(s.poll_transmit().is_none());
    s.handle_receive(now, CHROMIUM_1).unwrap();
    let answer = s.poll_transmit().unwrap();
    assert!(s.poll_transmit().is_none());
    let (f, msg) = single_message(&answer);
    let HandshakeMessage::HelloVerifyRequest(hvr) = msg else {
        panic!("{msg:?}")
    };
    assert_eq!(f.header.message_seq, 0);
    // Chromium's retransmission in order gets the same cookie.
    s.handle_receive(now, CHROMIUM_1).unwrap();
    s.handle_receive(now, CHROMIUM_2).unwrap();
    assert_eq!(s.poll_transmit().unwrap()[13..], answer[13..]);

    // The second ClientHello, as Chromium builds it: the same with the cookie, message_seq
    // 1, fragmented the same way; delivered in reverse.
    let mut body = Vec::new();
    HandshakeMessage::ClientHello(oxrtc_dtls::wire::ClientHello {
        cookie: hvr.cookie,
        ..ch
    })
    .write_body(&mut body)
    .unwrap();
    let datagram = |seq: u64, offset: usize, end: usize| {
        let mut payload = Vec::new();
        HandshakeFragment {
            header: oxrtc_dtls::wire::HandshakeHeader {
                message_seq: 1,
                length: body.len() as u32,
                fragment_offset: offset as u32,
                ..h1
            },
            body: &body[offset..end],
        }
        .write(&mut payload)
        .unwrap();
        let mut d = Vec::new();
        oxrtc_dtls::wire::Record {
            header: oxrtc_dtls::wire::RecordHeader {
                sequence_number: seq,
                ..r1
            },
            fragment: &payload,
        }
        .write(&mut d)
        .unwrap();
        d
    };
    s.handle_receive(now, &datagram(3, 1175, body.len()))
        .unwrap();
    assert!(s.poll_transmit().is_none());
    s.handle_receive(now, &datagram(2, 0, 1175)).unwrap();
    let flight: Vec<Vec<u8>> = std::iter::from_fn(|| s.poll_transmit()).collect();
    let first = Records::new(&flight[0]).next().unwrap().unwrap();
    let (f, _) = HandshakeFragment::parse(first.fragment).unwrap();
    assert_eq!(f.header.msg_type, HandshakeType::SERVER_HELLO);
    assert_eq!(f.header.message_seq, 1);
    assert_eq!(
        f.header.fragment_length, f.header.length,
        "whole ServerHello"
    );
    let HandshakeMessage::ServerHello(sh) =
        HandshakeMessage::parse(f.header.msg_type, f.body).unwrap()
    else {
        panic!()
    };
    assert_eq!(
        sh.cipher_suite,
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
    );
    assert!(sh.extensions.contains(&Extension::ExtendedMasterSecret));
    assert!(sh.extensions.iter().any(|e| matches!(
        e,
        Extension::UseSrtp { profiles, .. } if profiles.len() == 1 && [1, 7, 8].contains(&profiles[0])
    )));
    assert_eq!(s.stats().dropped_fragments, 0);
}
