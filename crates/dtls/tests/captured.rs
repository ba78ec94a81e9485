//! Real bytes captured from OpenSSL 3.0 (`s_client -dtls1_2 -use_srtp
//! SRTP_AES128_CM_SHA1_80`, and `s_server`'s answer to that ClientHello).
#![allow(clippy::unwrap_used)]

use oxrtc_dtls::wire::{
    CipherSuite, ContentType, Extension, HandshakeFragment, HandshakeMessage, HandshakeType,
    ProtocolVersion, Records,
};
use oxrtc_dtls::{Certificate, Config, Connection, Role};
use rand_chacha::rand_core::SeedableRng;

const CLIENT_HELLO: &[u8] = include_bytes!("data/openssl-client-hello.bin");
const HELLO_VERIFY: &[u8] = include_bytes!("data/openssl-hello-verify-request.bin");

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
