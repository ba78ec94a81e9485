//! RFC 5769 test vectors and the RFC 8489 Appendix B.1 vector.
//!
//! Bytes are the RFCs' figures; the B.1 vector is the corrected one of RFC 8489 errata 6268
//! (the figure as printed has a wrong length and omits PASSWORD-ALGORITHM).

#![allow(clippy::unwrap_used)] // test helpers

use std::net::SocketAddr;

use oxrtc_stun::*;

/// RFC 5769 §2.1: Sample Request. Software "STUN test client", username "evtj:h6vY",
/// password "VOkJxbRl1RmTxUk/WvJxBt". Padding of USERNAME is three spaces.
const SAMPLE_REQUEST: [u8; 108] = [
    0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10, 0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73,
    0x74, 0x20, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
    0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36, 0x00, 0x06, 0x00, 0x09,
    0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76, 0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14,
    0x9a, 0xea, 0xa7, 0x0c, 0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
    0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf,
];

/// RFC 5769 §2.2: Sample IPv4 Response. Software "test vector ", mapped 192.0.2.1:32853.
const SAMPLE_IPV4_RESPONSE: [u8; 80] = [
    0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
    0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
    0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3, 0x8c, 0x74, 0x89, 0xf9,
    0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7, 0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96,
];

/// RFC 5769 §2.3: Sample IPv6 Response, mapped [2001:db8:1234:5678:11:2233:4455:6677]:32853.
const SAMPLE_IPV6_RESPONSE: [u8; 92] = [
    0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
    0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa,
    0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9, 0x00, 0x08, 0x00, 0x14,
    0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6, 0x7b, 0xf1, 0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75,
    0xbf, 0xe3, 0xed, 0x41, 0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c,
];

/// RFC 5769 §2.4: Sample Request with Long-Term Authentication. Username
/// "<U+30DE><U+30C8><U+30EA><U+30C3><U+30AF><U+30B9>", password "The<U+00AD>M<U+00AA>tr<U+2168>"
/// ("TheMatrIX" after SASLprep/OpaqueString), nonce "f//499k954d6OL34oL9FSTvy64sA",
/// realm "example.org".
const SAMPLE_REQUEST_LONG_TERM: [u8; 116] = [
    0x00, 0x01, 0x00, 0x60, 0x21, 0x12, 0xa4, 0x42, 0x78, 0xad, 0x34, 0x33, 0xc6, 0xad, 0x72, 0xc0,
    0x29, 0xda, 0x41, 0x2e, 0x00, 0x06, 0x00, 0x12, 0xe3, 0x83, 0x9e, 0xe3, 0x83, 0x88, 0xe3, 0x83,
    0xaa, 0xe3, 0x83, 0x83, 0xe3, 0x82, 0xaf, 0xe3, 0x82, 0xb9, 0x00, 0x00, 0x00, 0x15, 0x00, 0x1c,
    0x66, 0x2f, 0x2f, 0x34, 0x39, 0x39, 0x6b, 0x39, 0x35, 0x34, 0x64, 0x36, 0x4f, 0x4c, 0x33, 0x34,
    0x6f, 0x4c, 0x39, 0x46, 0x53, 0x54, 0x76, 0x79, 0x36, 0x34, 0x73, 0x41, 0x00, 0x14, 0x00, 0x0b,
    0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x6f, 0x72, 0x67, 0x00, 0x00, 0x08, 0x00, 0x14,
    0xf6, 0x70, 0x24, 0x65, 0x6d, 0xd6, 0x4a, 0x3e, 0x02, 0xb8, 0xe0, 0x71, 0x2e, 0x85, 0xc9, 0xa2,
    0x8c, 0xa8, 0x96, 0x66,
];

/// RFC 8489 Appendix B.1 (with errata 6268): Sample Request with Long-Term Authentication
/// with MESSAGE-INTEGRITY-SHA256 and USERHASH. Same user, password, realm as RFC 5769 §2.4;
/// nonce "obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA"; PASSWORD-ALGORITHM SHA-256.
const RFC8489_B1: [u8; 164] = [
    0x00, 0x01, 0x00, 0x90, 0x21, 0x12, 0xa4, 0x42, 0x78, 0xad, 0x34, 0x33, 0xc6, 0xad, 0x72, 0xc0,
    0x29, 0xda, 0x41, 0x2e, 0x00, 0x1e, 0x00, 0x20, 0x4a, 0x3c, 0xf3, 0x8f, 0xef, 0x69, 0x92, 0xbd,
    0xa9, 0x52, 0xc6, 0x78, 0x04, 0x17, 0xda, 0x0f, 0x24, 0x81, 0x94, 0x15, 0x56, 0x9e, 0x60, 0xb2,
    0x05, 0xc4, 0x6e, 0x41, 0x40, 0x7f, 0x17, 0x04, 0x00, 0x15, 0x00, 0x29, 0x6f, 0x62, 0x4d, 0x61,
    0x74, 0x4a, 0x6f, 0x73, 0x32, 0x41, 0x41, 0x41, 0x43, 0x66, 0x2f, 0x2f, 0x34, 0x39, 0x39, 0x6b,
    0x39, 0x35, 0x34, 0x64, 0x36, 0x4f, 0x4c, 0x33, 0x34, 0x6f, 0x4c, 0x39, 0x46, 0x53, 0x54, 0x76,
    0x79, 0x36, 0x34, 0x73, 0x41, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x0b, 0x65, 0x78, 0x61, 0x6d,
    0x70, 0x6c, 0x65, 0x2e, 0x6f, 0x72, 0x67, 0x00, 0x00, 0x1d, 0x00, 0x04, 0x00, 0x02, 0x00, 0x00,
    0x00, 0x1c, 0x00, 0x20, 0xb5, 0xc7, 0xbf, 0x00, 0x5b, 0x6c, 0x52, 0xa2, 0x1c, 0x51, 0xc5, 0xe8,
    0x92, 0xf8, 0x19, 0x24, 0x13, 0x62, 0x96, 0xcb, 0x92, 0x7c, 0x43, 0x14, 0x93, 0x09, 0x27, 0x8c,
    0xc6, 0x51, 0x8e, 0x65,
];

const SHORT_TERM_PASSWORD: &str = "VOkJxbRl1RmTxUk/WvJxBt";
const MATRIX_USER: &str = "\u{30DE}\u{30C8}\u{30EA}\u{30C3}\u{30AF}\u{30B9}";
const MATRIX_PASSWORD: &str = "TheMatrIX";
const SAMPLE_ID: TransactionId = TransactionId([
    0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae,
]);

/// Re-signs the part of a vector before its MESSAGE-INTEGRITY (keeping the RFC's padding
/// bytes) with the builder, and appends FINGERPRINT if asked.
fn resign(vector: &[u8], key: &IntegrityKey, fingerprint: bool) -> Vec<u8> {
    let msg = Message::new_checked(vector).unwrap();
    let mi = msg
        .raw_attributes()
        .find(|a| a.typ == AttributeType::MESSAGE_INTEGRITY)
        .unwrap();
    let mut out = vector[..mi.offset].to_vec();
    let body = (mi.offset - HEADER_LEN) as u16;
    out[2..4].copy_from_slice(&body.to_be_bytes());
    let mut b = MessageBuilder::resume(&mut out, 0).unwrap();
    b.add_message_integrity(key).unwrap();
    if fingerprint {
        b.add_fingerprint().unwrap();
    }
    b.finish().to_vec()
}

#[test]
fn rfc5769_sample_request() {
    let msg = Message::new_checked(&SAMPLE_REQUEST[..]).unwrap();
    assert_eq!(msg.class(), Class::Request);
    assert_eq!(msg.method(), Method::Binding);
    assert_eq!(msg.transaction_id(), SAMPLE_ID);
    let got: Vec<Attribute<'_>> = msg.attributes().collect::<Result<_, _>>().unwrap();
    assert_eq!(
        got,
        vec![
            Attribute::Software(Software("STUN test client")),
            Attribute::Priority(Priority(0x6e0001ff)),
            Attribute::IceControlled(IceControlled(0x932ff9b151263b36)),
            Attribute::Username(Username("evtj:h6vY")),
            Attribute::MessageIntegrity(MessageIntegrity([
                0x9a, 0xea, 0xa7, 0x0c, 0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3,
                0xf2, 0x49, 0xc1, 0xb5, 0x71, 0xa2
            ])),
            Attribute::Fingerprint(Fingerprint(0xe57a3bcf)),
        ]
    );
    let key = IntegrityKey::short_term(SHORT_TERM_PASSWORD);
    assert_eq!(msg.verify_integrity(&key), Ok(IntegrityAlgorithm::HmacSha1));
    assert_eq!(msg.verify_fingerprint(), Ok(()));
    assert_eq!(
        msg.verify_integrity(&IntegrityKey::short_term("wrong")),
        Err(Error::IntegrityMismatch)
    );
    assert!(is_stun(&SAMPLE_REQUEST));
    assert!(msg.unknown_comprehension_required().is_empty());
    // The builder computes the same MESSAGE-INTEGRITY and FINGERPRINT.
    assert_eq!(resign(&SAMPLE_REQUEST, &key, true), SAMPLE_REQUEST);
}

#[test]
fn rfc5769_ipv4_response() {
    let msg = Message::new_checked(&SAMPLE_IPV4_RESPONSE[..]).unwrap();
    assert_eq!(msg.class(), Class::SuccessResponse);
    assert_eq!(msg.method(), Method::Binding);
    assert_eq!(msg.transaction_id(), SAMPLE_ID);
    assert_eq!(
        msg.attribute::<Software<'_>>().unwrap(),
        Some(Software("test vector"))
    );
    let mapped: SocketAddr = "192.0.2.1:32853".parse().unwrap();
    assert_eq!(
        msg.attribute::<XorMappedAddress>().unwrap(),
        Some(XorMappedAddress(mapped))
    );
    let key = IntegrityKey::short_term(SHORT_TERM_PASSWORD);
    assert_eq!(msg.verify_integrity(&key), Ok(IntegrityAlgorithm::HmacSha1));
    assert_eq!(msg.verify_fingerprint(), Ok(()));
    assert_eq!(
        resign(&SAMPLE_IPV4_RESPONSE, &key, true),
        SAMPLE_IPV4_RESPONSE
    );

    // Encoding the address gives the RFC's XOR-ed bytes.
    let mut out = Vec::new();
    XorMappedAddress(mapped)
        .encode(&SAMPLE_ID, &mut out)
        .unwrap();
    assert_eq!(out, SAMPLE_IPV4_RESPONSE[40..48]);
}

#[test]
fn rfc5769_ipv6_response() {
    let msg = Message::new_checked(&SAMPLE_IPV6_RESPONSE[..]).unwrap();
    assert_eq!(msg.class(), Class::SuccessResponse);
    let mapped: SocketAddr = "[2001:db8:1234:5678:11:2233:4455:6677]:32853"
        .parse()
        .unwrap();
    assert_eq!(
        msg.attribute::<XorMappedAddress>().unwrap(),
        Some(XorMappedAddress(mapped))
    );
    let key = IntegrityKey::short_term(SHORT_TERM_PASSWORD);
    assert_eq!(msg.verify_integrity(&key), Ok(IntegrityAlgorithm::HmacSha1));
    assert_eq!(msg.verify_fingerprint(), Ok(()));
    assert_eq!(
        resign(&SAMPLE_IPV6_RESPONSE, &key, true),
        SAMPLE_IPV6_RESPONSE
    );
    let mut out = Vec::new();
    XorMappedAddress(mapped)
        .encode(&SAMPLE_ID, &mut out)
        .unwrap();
    assert_eq!(out, SAMPLE_IPV6_RESPONSE[40..60]);
}

#[test]
fn rfc5769_long_term_request() {
    let msg = Message::new_checked(&SAMPLE_REQUEST_LONG_TERM[..]).unwrap();
    assert_eq!(msg.class(), Class::Request);
    let got: Vec<Attribute<'_>> = msg.attributes().collect::<Result<_, _>>().unwrap();
    assert_eq!(got.len(), 4);
    assert_eq!(got[0], Attribute::Username(Username(MATRIX_USER)));
    assert_eq!(
        got[1],
        Attribute::Nonce(Nonce("f//499k954d6OL34oL9FSTvy64sA"))
    );
    assert_eq!(got[2], Attribute::Realm(Realm("example.org")));
    let key = IntegrityKey::long_term(MATRIX_USER, "example.org", MATRIX_PASSWORD);
    assert_eq!(msg.verify_integrity(&key), Ok(IntegrityAlgorithm::HmacSha1));
    assert_eq!(msg.verify_fingerprint(), Err(Error::MissingFingerprint));
    assert_eq!(
        resign(&SAMPLE_REQUEST_LONG_TERM, &key, false),
        SAMPLE_REQUEST_LONG_TERM
    );

    // This one pads with zeros, so the plain builder reproduces it byte for byte.
    let mut out = Vec::new();
    let mut b = MessageBuilder::new(
        &mut out,
        Class::Request,
        Method::Binding,
        msg.transaction_id(),
    );
    b.add(&Username(MATRIX_USER))
        .unwrap()
        .add(&Nonce("f//499k954d6OL34oL9FSTvy64sA"))
        .unwrap()
        .add(&Realm("example.org"))
        .unwrap()
        .add_message_integrity(&key)
        .unwrap();
    assert_eq!(b.finish(), SAMPLE_REQUEST_LONG_TERM);
}

#[test]
fn rfc8489_b1_sha256_userhash() {
    let msg = Message::new_checked(&RFC8489_B1[..]).unwrap();
    let realm = "example.org";
    let nonce = "obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA";
    let got: Vec<Attribute<'_>> = msg.attributes().collect::<Result<_, _>>().unwrap();
    assert_eq!(
        got[0],
        Attribute::Userhash(Userhash(userhash(MATRIX_USER, realm)))
    );
    assert_eq!(got[1], Attribute::Nonce(Nonce(nonce)));
    assert_eq!(got[2], Attribute::Realm(Realm(realm)));
    assert_eq!(
        got[3],
        Attribute::PasswordAlgorithm(PasswordAlgorithm::SHA256)
    );
    assert_eq!(got.len(), 5);
    // The nonce cookie announces username anonymity (bit 1), matching the USERHASH.
    let features = Nonce(nonce).security_features().unwrap();
    assert_eq!(features, SecurityFeatures::USERNAME_ANONYMITY);

    let key = IntegrityKey::long_term_with_algorithm(
        AlgorithmId::SHA256,
        MATRIX_USER,
        realm,
        MATRIX_PASSWORD,
    )
    .unwrap();
    assert_eq!(
        msg.verify_integrity(&key),
        Ok(IntegrityAlgorithm::HmacSha256(32))
    );
    // The MD5 key does not verify it.
    let md5 = IntegrityKey::long_term(MATRIX_USER, realm, MATRIX_PASSWORD);
    assert_eq!(msg.verify_integrity(&md5), Err(Error::IntegrityMismatch));

    // And the builder writes it byte for byte.
    let mut out = Vec::new();
    let mut b = MessageBuilder::new(
        &mut out,
        Class::Request,
        Method::Binding,
        msg.transaction_id(),
    );
    b.add(&Userhash(userhash(MATRIX_USER, realm)))
        .unwrap()
        .add(&Nonce(nonce))
        .unwrap()
        .add(&Realm(realm))
        .unwrap()
        .add(&PasswordAlgorithm::SHA256)
        .unwrap()
        .add_message_integrity_sha256(&key)
        .unwrap();
    assert_eq!(b.finish(), RFC8489_B1);
}

#[test]
fn tampering_is_detected() {
    let key = IntegrityKey::short_term(SHORT_TERM_PASSWORD);
    for i in 0..SAMPLE_REQUEST.len() {
        let mut m = SAMPLE_REQUEST;
        m[i] ^= 0x01;
        let Ok(msg) = Message::new_checked(&m[..]) else {
            continue;
        };
        let integrity = msg.verify_integrity(&key);
        let fingerprint = msg.verify_fingerprint();
        // Flipping a bit anywhere breaks the fingerprint, or (in USERNAME's padding, which
        // the CRC covers too) at least one of the two checks.
        assert!(
            integrity.is_err() || fingerprint.is_err(),
            "bit flip at byte {i} went unnoticed"
        );
        if (24..84).contains(&i) {
            assert!(integrity.is_err(), "bit flip at byte {i} kept integrity");
        }
    }
}

#[test]
fn truncated_vectors_are_rejected() {
    for v in [
        &SAMPLE_REQUEST[..],
        &SAMPLE_IPV4_RESPONSE,
        &SAMPLE_IPV6_RESPONSE,
        &SAMPLE_REQUEST_LONG_TERM,
        &RFC8489_B1,
    ] {
        for n in 0..v.len() {
            assert!(
                Message::new_checked(&v[..n]).is_err(),
                "prefix of {n} bytes accepted"
            );
            assert!(!is_stun(&v[..n]));
        }
        assert!(is_stun(v));
    }
}
