//! extended_master_secret is required (RFC 7627): peers without it are refused with
//! handshake_failure, in both roles.
#![allow(clippy::unwrap_used)]

use oxrtc_dtls::wire::{
    Alert, AlertDescription, CipherSuite, ClientHello, ContentType, Extension, HandshakeMessage,
    NamedGroup, ProtocolVersion, Record, RecordHeader, Records, ServerHello, SignatureScheme,
};
use oxrtc_dtls::{Certificate, Config, Connection, Error, Event, Role, State};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

fn datagram(msg: &HandshakeMessage, message_seq: u16) -> Vec<u8> {
    let mut payload = Vec::new();
    msg.write(message_seq, &mut payload).unwrap();
    let mut d = Vec::new();
    Record {
        header: RecordHeader {
            content_type: ContentType::HANDSHAKE,
            version: ProtocolVersion::DTLS_1_2,
            epoch: 0,
            sequence_number: 0,
            length: 0,
        },
        fragment: &payload,
    }
    .write(&mut d)
    .unwrap();
    d
}

fn fatal_alert(d: &[u8]) -> AlertDescription {
    let r = Records::new(d).next().unwrap().unwrap();
    assert_eq!(r.header.content_type, ContentType::ALERT);
    Alert::parse(r.fragment).unwrap().description
}

#[test]
fn server_refuses_client_without_ems() {
    let mut cfg = Config::new(Role::Server, Certificate::generate().unwrap());
    cfg.hello_verify = false;
    let now = Instant::now();
    let mut server = Connection::new(cfg, now, ChaCha8Rng::seed_from_u64(0)).unwrap();
    let ch = HandshakeMessage::ClientHello(ClientHello {
        client_version: ProtocolVersion::DTLS_1_2,
        random: [1; 32],
        session_id: vec![],
        cookie: vec![],
        cipher_suites: vec![CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256],
        compression_methods: vec![0],
        extensions: vec![
            Extension::SupportedGroups(vec![NamedGroup::X25519]),
            Extension::SignatureAlgorithms(vec![SignatureScheme::ECDSA_SECP256R1_SHA256]),
        ],
    });
    assert_eq!(
        server.handle_receive(now, &datagram(&ch, 0)),
        Err(Error::ExtendedMasterSecretRequired)
    );
    assert_eq!(server.state(), State::Failed);
    assert_eq!(
        fatal_alert(&server.poll_transmit().unwrap()),
        AlertDescription::HANDSHAKE_FAILURE
    );
    assert_eq!(
        server.poll_event(),
        Some(Event::Failed(Error::ExtendedMasterSecretRequired))
    );
}

#[test]
fn client_refuses_server_without_ems() {
    let now = Instant::now();
    let cfg = Config::new(Role::Client, Certificate::generate().unwrap());
    let mut client = Connection::new(cfg, now, ChaCha8Rng::seed_from_u64(0)).unwrap();
    let _hello = client.poll_transmit().unwrap();
    let sh = HandshakeMessage::ServerHello(ServerHello {
        server_version: ProtocolVersion::DTLS_1_2,
        random: [2; 32],
        session_id: vec![],
        cipher_suite: CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        compression_method: 0,
        extensions: vec![Extension::RenegotiationInfo(vec![])],
    });
    assert_eq!(
        client.handle_receive(now, &datagram(&sh, 0)),
        Err(Error::ExtendedMasterSecretRequired)
    );
    assert_eq!(
        fatal_alert(&client.poll_transmit().unwrap()),
        AlertDescription::HANDSHAKE_FAILURE
    );
    // Once failed, input is ignored and nothing more is sent.
    client.handle_receive(now, &datagram(&sh, 0)).unwrap();
    assert!(client.poll_transmit().is_none());
    assert!(client.poll_timeout().is_none());
}

#[test]
fn client_refuses_unoffered_suite() {
    let now = Instant::now();
    let mut cfg = Config::new(Role::Client, Certificate::generate().unwrap());
    cfg.cipher_suites = vec![CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256];
    let mut client = Connection::new(cfg, now, ChaCha8Rng::seed_from_u64(0)).unwrap();
    let _hello = client.poll_transmit().unwrap();
    let sh = HandshakeMessage::ServerHello(ServerHello {
        server_version: ProtocolVersion::DTLS_1_2,
        random: [2; 32],
        session_id: vec![],
        cipher_suite: CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        compression_method: 0,
        extensions: vec![Extension::ExtendedMasterSecret],
    });
    assert_eq!(
        client.handle_receive(now, &datagram(&sh, 0)),
        Err(Error::NotOffered("cipher suite"))
    );
    assert_eq!(
        fatal_alert(&client.poll_transmit().unwrap()),
        AlertDescription::ILLEGAL_PARAMETER
    );
}
