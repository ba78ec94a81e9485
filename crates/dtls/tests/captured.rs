//! Real bytes captured from OpenSSL 3.0 (`s_client -dtls1_2 -use_srtp
//! SRTP_AES128_CM_SHA1_80`, and `s_server`'s answer to that ClientHello; the same with
//! `-mtu 256 -servername <130 characters>`, a ClientHello in two fragments).
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
