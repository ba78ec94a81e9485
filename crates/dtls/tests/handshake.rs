//! In-memory handshakes: defaults, every suite and group, keying material, data, close.
#![allow(clippy::unwrap_used)]

mod common;

use common::{certs, configs, Net, Pair};
use oxrtc_dtls::wire::{CipherSuite, NamedGroup};
use oxrtc_dtls::{
    Certificate, Config, Error, Event, FingerprintAlgorithm, SrtpProtectionProfile, State,
    SUPPORTED_CIPHER_SUITES,
};
use std::time::Duration;

fn rsa_cert() -> Certificate {
    Certificate::from_pem(
        include_str!("data/rsa2048.crt"),
        include_str!("data/rsa2048.key"),
    )
    .unwrap()
}

fn rcgen_cert(alg: &'static rcgen::SignatureAlgorithm) -> Certificate {
    let key = rcgen::KeyPair::generate_for(alg).unwrap();
    let cert = rcgen::CertificateParams::new(vec!["x".into()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    Certificate::from_der(cert.der().to_vec(), &key.serialize_der()).unwrap()
}

fn connected(events: &[Event]) -> Option<Option<SrtpProtectionProfile>> {
    events.iter().find_map(|e| match e {
        Event::Connected { srtp_profile } => Some(*srtp_profile),
        _ => None,
    })
}

#[test]
fn default_handshake_data_and_keys() {
    let (cc, sc) = certs();
    let (c, s) = configs(&cc, &sc);
    let mut p = Pair::new(c, s, Net::perfect(), 1);
    assert!(p.drive_handshake(Duration::from_secs(5)));
    assert_eq!(
        connected(&p.client_events),
        Some(Some(SrtpProtectionProfile::AeadAes128Gcm))
    );
    assert_eq!(
        connected(&p.server_events),
        Some(Some(SrtpProtectionProfile::AeadAes128Gcm))
    );
    assert_eq!(
        p.client.cipher_suite(),
        Some(CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)
    );
    // No loss: one ClientHello, HVR, ClientHello, flight 4, flight 5, flight 6.
    assert_eq!(p.client.stats().retransmissions, 0);
    assert_eq!(p.server.stats().retransmissions, 0);

    let ck = p.client.srtp_keying_material().unwrap();
    let sk = p.server.srtp_keying_material().unwrap();
    assert_eq!(ck, sk);
    assert_eq!(ck.client_write_key.len(), 16);
    assert_eq!(ck.client_write_salt.len(), 12);
    assert_ne!(ck.client_write_key, ck.server_write_key);
    let a = p
        .client
        .export_keying_material("label", Some(b"ctx"), 40)
        .unwrap();
    assert_eq!(
        a,
        p.server
            .export_keying_material("label", Some(b"ctx"), 40)
            .unwrap()
    );
    assert_ne!(
        a,
        p.server.export_keying_material("label", None, 40).unwrap()
    );
    assert_eq!(
        p.client.export_keying_material("master secret", None, 8),
        Err(Error::ReservedLabel)
    );
    assert_eq!(p.client.remote_certificate(), Some(sc.der()));
    assert_eq!(p.server.remote_certificate(), Some(cc.der()));

    p.client.send_application_data(b"ping").unwrap();
    p.server.send_application_data(b"pong").unwrap();
    p.server.send_application_data(&[7u8; 16384]).unwrap();
    assert_eq!(
        p.server.send_application_data(&[7u8; 16385]),
        Err(Error::RecordTooLarge)
    );
    p.settle(Duration::from_secs(1));
    assert_eq!(p.server_data(), vec![b"ping".to_vec()]);
    assert_eq!(p.client_data(), vec![b"pong".to_vec(), vec![7u8; 16384]]);

    p.client.close();
    p.settle(Duration::from_secs(1));
    assert_eq!(p.client.state(), State::Closed);
    assert_eq!(p.server.state(), State::Closed);
    assert!(p.server_events.contains(&Event::Closed));
    assert!(p.client_events.contains(&Event::Closed));
    assert_eq!(p.client.send_application_data(b"x"), Err(Error::Closed));
}

#[test]
fn every_suite_and_group() {
    let ec = Certificate::generate().unwrap();
    let rsa = rsa_cert();
    for &suite in SUPPORTED_CIPHER_SUITES {
        for group in [
            NamedGroup::X25519,
            NamedGroup::SECP256R1,
            NamedGroup::SECP384R1,
        ] {
            let server_cert = if suite.name().is_some_and(|n| n.contains("_RSA_")) {
                &rsa
            } else {
                &ec
            };
            let (mut c, mut s) = configs(&ec, server_cert);
            c.cipher_suites = vec![suite];
            c.groups = vec![group];
            s.groups = vec![
                NamedGroup::SECP384R1,
                NamedGroup::SECP256R1,
                NamedGroup::X25519,
            ];
            let mut p = Pair::new(c, s, Net::perfect(), 7);
            assert!(
                p.drive_handshake(Duration::from_secs(5)),
                "{suite:?} {group:?}: {:?}",
                p.client_events
            );
            assert_eq!(p.server.cipher_suite(), Some(suite));
            p.client.send_application_data(b"hi").unwrap();
            p.server.send_application_data(b"ho").unwrap();
            p.settle(Duration::from_secs(1));
            assert_eq!(p.server_data(), vec![b"hi".to_vec()], "{suite:?}");
            assert_eq!(p.client_data(), vec![b"ho".to_vec()], "{suite:?}");
            assert_eq!(
                p.client
                    .export_keying_material("EXTRACTOR-dtls_srtp", None, 60)
                    .unwrap(),
                p.server
                    .export_keying_material("EXTRACTOR-dtls_srtp", None, 60)
                    .unwrap()
            );
        }
    }
}

#[test]
fn every_certificate_key_type_both_roles() {
    let keys = [
        rcgen_cert(&rcgen::PKCS_ECDSA_P256_SHA256),
        rcgen_cert(&rcgen::PKCS_ECDSA_P384_SHA384),
        rcgen_cert(&rcgen::PKCS_ED25519),
        rsa_cert(),
    ];
    for client in &keys {
        for server in &keys {
            let (c, s) = configs(client, server);
            let mut p = Pair::new(c, s, Net::perfect(), 3);
            assert!(
                p.drive_handshake(Duration::from_secs(5)),
                "{:?}",
                p.client_events
            );
        }
    }
}

#[test]
fn every_srtp_profile_and_none() {
    let (cc, sc) = certs();
    for profile in SrtpProtectionProfile::ALL {
        let (mut c, mut s) = configs(&cc, &sc);
        c.srtp_profiles = vec![profile];
        s.srtp_profiles = SrtpProtectionProfile::ALL.to_vec();
        let mut p = Pair::new(c, s, Net::perfect(), 4);
        assert!(p.drive_handshake(Duration::from_secs(5)));
        assert_eq!(connected(&p.client_events), Some(Some(profile)));
        let k = p.client.srtp_keying_material().unwrap();
        assert_eq!(k.profile, profile);
        assert_eq!(k.client_write_key.len(), profile.key_len());
        assert_eq!(k.server_write_salt.len(), profile.salt_len());
    }
    let (mut c, s) = configs(&cc, &sc);
    c.srtp_profiles.clear();
    let mut p = Pair::new(c, s, Net::perfect(), 4);
    assert!(p.drive_handshake(Duration::from_secs(5)));
    assert_eq!(connected(&p.server_events), Some(None));
    assert_eq!(p.client.srtp_keying_material(), Err(Error::NoSrtpProfile));
}

#[test]
fn wrong_fingerprint_is_rejected_with_alert() {
    let (cc, sc) = certs();
    let other = Certificate::generate().unwrap();
    let (mut c, s) = configs(&cc, &sc);
    c.expected_remote_fingerprints = vec![other.fingerprint(FingerprintAlgorithm::Sha256)];
    let mut p = Pair::new(c, s, Net::perfect(), 5);
    assert!(!p.drive_handshake(Duration::from_secs(5)));
    assert_eq!(p.client.state(), State::Failed);
    assert!(p
        .client_events
        .contains(&Event::Failed(Error::FingerprintMismatch)));
    // The server hears the fatal bad_certificate alert.
    p.settle(Duration::from_secs(1));
    assert!(p
        .server_events
        .contains(&Event::Failed(Error::AlertReceived(
            oxrtc_dtls::wire::AlertDescription::BAD_CERTIFICATE
        ))));
    assert!(p.client.remote_certificate().is_none());

    // Server side: the client's certificate does not match.
    let (c, mut s) = configs(&cc, &sc);
    s.expected_remote_fingerprints = vec![other.fingerprint(FingerprintAlgorithm::Sha1)];
    let mut p = Pair::new(c, s, Net::perfect(), 5);
    assert!(!p.drive_handshake(Duration::from_secs(5)));
    assert!(p
        .server_events
        .contains(&Event::Failed(Error::FingerprintMismatch)));
    p.settle(Duration::from_secs(1));
    assert_eq!(p.client.state(), State::Failed);
}

#[test]
fn any_matching_fingerprint_algorithm_is_accepted() {
    let (cc, sc) = certs();
    for alg in [
        FingerprintAlgorithm::Sha1,
        FingerprintAlgorithm::Sha384,
        FingerprintAlgorithm::Sha512,
    ] {
        let (mut c, mut s) = configs(&cc, &sc);
        let other = Certificate::generate().unwrap();
        c.expected_remote_fingerprints = vec![
            other.fingerprint(FingerprintAlgorithm::Sha256),
            sc.fingerprint(alg),
        ];
        s.expected_remote_fingerprints = vec![cc.fingerprint(alg)];
        let mut p = Pair::new(c, s, Net::perfect(), 6);
        assert!(p.drive_handshake(Duration::from_secs(5)));
    }
}

#[test]
fn fingerprints_may_arrive_late() {
    let (cc, sc) = certs();
    let (mut c, mut s) = configs(&cc, &sc);
    c.expected_remote_fingerprints.clear();
    s.expected_remote_fingerprints.clear();
    let mut p = Pair::new(c, s, Net::perfect(), 8);
    // The client waits at the server's Certificate.
    assert!(!p.drive_handshake(Duration::from_millis(500)));
    assert_eq!(p.client.state(), State::Handshaking);
    p.client
        .set_expected_remote_fingerprints(vec![sc.fingerprint(FingerprintAlgorithm::Sha256)]);
    // Now the server waits at the client's Certificate.
    assert!(!p.drive_handshake(Duration::from_millis(900)));
    assert_eq!(p.server.state(), State::Handshaking);
    p.server
        .set_expected_remote_fingerprints(vec![cc.fingerprint(FingerprintAlgorithm::Sha256)]);
    assert!(p.drive_handshake(Duration::from_secs(10)));

    // A late fingerprint that does not match fails at once.
    let (mut c, s) = configs(&cc, &sc);
    c.expected_remote_fingerprints.clear();
    let mut p = Pair::new(c, s, Net::perfect(), 8);
    assert!(!p.drive_handshake(Duration::from_millis(500)));
    p.client
        .set_expected_remote_fingerprints(vec![cc.fingerprint(FingerprintAlgorithm::Sha256)]);
    assert_eq!(p.client.state(), State::Failed);
    assert_eq!(
        p.client.poll_event(),
        Some(Event::Failed(Error::FingerprintMismatch))
    );
}

#[test]
fn server_without_hello_verify() {
    let (cc, sc) = certs();
    let (c, mut s) = configs(&cc, &sc);
    s.hello_verify = false;
    let mut p = Pair::new(c, s, Net::perfect(), 9);
    assert!(p.drive_handshake(Duration::from_secs(5)));
}

#[test]
fn shared_cookie_secret_answers_statelessly() {
    // Server A answers the first ClientHello with a cookie; server B, sharing the secret
    // but with no state about the client, accepts the second ClientHello carrying it.
    use oxrtc_dtls::{Connection, Role};
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    let (cc, sc) = certs();
    let (c, mut s) = configs(&cc, &sc);
    s.cookie_secret = Some([9; 32]);
    let now = std::time::Instant::now();
    let mut client = Connection::new(c, now, ChaCha8Rng::seed_from_u64(1)).unwrap();
    let mut a = Connection::new(s.clone(), now, ChaCha8Rng::seed_from_u64(2)).unwrap();
    let mut b = Connection::new(s, now, ChaCha8Rng::seed_from_u64(3)).unwrap();
    assert_eq!(a.role(), Role::Server);
    a.handle_receive(now, &client.poll_transmit().unwrap())
        .unwrap();
    let hvr = a.poll_transmit().unwrap();
    assert_eq!(hvr[13], 3, "HelloVerifyRequest");
    assert!(a
        .poll_timeout()
        .is_some_and(|t| t >= now + std::time::Duration::from_secs(29)));
    client.handle_receive(now, &hvr).unwrap();
    b.handle_receive(now, &client.poll_transmit().unwrap())
        .unwrap();
    let flight4 = b.poll_transmit().unwrap();
    assert_eq!(flight4[13], 2, "ServerHello");
    // A different secret would have answered with another HelloVerifyRequest.
    let (c2, mut s2) = configs(&cc, &sc);
    s2.cookie_secret = Some([8; 32]);
    let mut client2 = Connection::new(c2, now, ChaCha8Rng::seed_from_u64(1)).unwrap();
    let mut a2 = Connection::new(s2.clone(), now, ChaCha8Rng::seed_from_u64(2)).unwrap();
    a2.handle_receive(now, &client2.poll_transmit().unwrap())
        .unwrap();
    client2
        .handle_receive(now, &a2.poll_transmit().unwrap())
        .unwrap();
    let mut other = configs(&cc, &sc).1;
    other.cookie_secret = Some([7; 32]);
    let mut b2 = Connection::new(other, now, ChaCha8Rng::seed_from_u64(3)).unwrap();
    b2.handle_receive(now, &client2.poll_transmit().unwrap())
        .unwrap();
    assert_eq!(b2.poll_transmit().unwrap()[13], 3);
}

#[test]
fn no_shared_suite_fails_both_sides() {
    let (cc, _) = certs();
    let rsa = rsa_cert();
    let (mut c, s) = configs(&cc, &rsa);
    c.cipher_suites = vec![CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256];
    let mut p = Pair::new(c, s, Net::perfect(), 11);
    assert!(!p.drive_handshake(Duration::from_secs(5)));
    assert!(p
        .server_events
        .contains(&Event::Failed(Error::NoShared("cipher suite"))));
    assert!(p
        .client_events
        .contains(&Event::Failed(Error::AlertReceived(
            oxrtc_dtls::wire::AlertDescription::HANDSHAKE_FAILURE
        ))));
}

#[test]
fn config_is_validated() {
    use rand_chacha::rand_core::SeedableRng;
    let (cc, _) = certs();
    let mut c = Config::new(oxrtc_dtls::Role::Client, cc.clone());
    c.mtu = 100;
    let rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    assert!(matches!(
        oxrtc_dtls::Connection::new(c, std::time::Instant::now(), rng),
        Err(Error::InvalidConfig(_))
    ));
}
