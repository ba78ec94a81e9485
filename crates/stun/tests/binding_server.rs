//! The binding server core, table style: feed a request, check the exact answer.

#![allow(clippy::unwrap_used)] // test helpers

use std::net::SocketAddr;

use oxrtc_stun::*;

fn from() -> SocketAddr {
    "[2001:db8::7]:61000".parse().unwrap()
}

fn request(build: impl FnOnce(&mut MessageBuilder<'_>)) -> Vec<u8> {
    let mut out = Vec::new();
    let mut b = MessageBuilder::new(
        &mut out,
        Class::Request,
        Method::Binding,
        TransactionId([5; 12]),
    );
    build(&mut b);
    out
}

fn answer(server: &mut BindingServer, req: &[u8]) -> (ServerOutcome, Vec<u8>) {
    let mut out = Vec::new();
    let outcome = server.handle(from(), req, &mut out);
    (outcome, out)
}

fn error_code(bytes: &[u8]) -> u16 {
    let msg = Message::new_checked(bytes).unwrap();
    assert_eq!(msg.class(), Class::ErrorResponse);
    msg.attribute::<ErrorCode<'_>>().unwrap().unwrap().code
}

#[test]
fn answers_with_xor_mapped_address() {
    let mut server = BindingServer::new(BindingServerConfig {
        software: Some("oxrtc".into()),
        mapped_address: true,
        ..Default::default()
    });
    let req = request(|_| {});
    let (outcome, out) = answer(&mut server, &req);
    assert_eq!(outcome, ServerOutcome::Respond { error: None });
    let msg = Message::new_checked(&out[..]).unwrap();
    assert_eq!(msg.class(), Class::SuccessResponse);
    assert_eq!(msg.transaction_id(), TransactionId([5; 12]));
    let attrs: Vec<_> = msg.attributes().collect::<Result<_, _>>().unwrap();
    assert_eq!(
        attrs,
        [
            Attribute::XorMappedAddress(XorMappedAddress(from())),
            Attribute::MappedAddress(MappedAddress(from())),
            Attribute::Software(Software("oxrtc")),
        ]
    );
    assert_eq!(server.stats().success, 1);
}

#[test]
fn fingerprint_is_echoed_and_checked() {
    let mut server = BindingServer::new(BindingServerConfig::default());
    let req = request(|b| {
        b.add_fingerprint().unwrap();
    });
    let (_, out) = answer(&mut server, &req);
    assert_eq!(
        Message::new_checked(&out[..]).unwrap().verify_fingerprint(),
        Ok(())
    );
    // A corrupted fingerprint is dropped, not answered.
    let mut bad = req.clone();
    let n = bad.len();
    bad[n - 1] ^= 1;
    let (outcome, out) = answer(&mut server, &bad);
    assert_eq!(outcome, ServerOutcome::Dropped(Error::FingerprintMismatch));
    assert!(out.is_empty());
}

#[test]
fn drops_non_stun_responses_and_counts_indications() {
    let mut server = BindingServer::new(BindingServerConfig::default());
    let (outcome, out) = answer(&mut server, &[0x16, 0xfe, 0xfd, 0, 0]);
    assert!(matches!(outcome, ServerOutcome::Dropped(_)));
    assert!(out.is_empty());
    let mut resp = Vec::new();
    MessageBuilder::new(
        &mut resp,
        Class::SuccessResponse,
        Method::Binding,
        TransactionId([1; 12]),
    );
    assert_eq!(
        answer(&mut server, &resp).0,
        ServerOutcome::Dropped(Error::NotARequest)
    );
    let mut ind = Vec::new();
    MessageBuilder::new(
        &mut ind,
        Class::Indication,
        Method::Binding,
        TransactionId([1; 12]),
    );
    assert_eq!(answer(&mut server, &ind).0, ServerOutcome::Indication);
    assert_eq!(server.stats().indications, 1);
    assert_eq!(server.stats().dropped, 2);
}

#[test]
fn other_methods_get_400() {
    let mut server = BindingServer::new(BindingServerConfig::default());
    let mut req = Vec::new();
    MessageBuilder::new(
        &mut req,
        Class::Request,
        Method::Allocate,
        TransactionId([1; 12]),
    );
    let (outcome, out) = answer(&mut server, &req);
    assert_eq!(outcome, ServerOutcome::Respond { error: Some(400) });
    assert_eq!(error_code(&out), 400);
    assert_eq!(
        Message::new_checked(&out[..]).unwrap().method(),
        Method::Allocate
    );
}

#[test]
fn unknown_comprehension_required_gets_420() {
    let mut server = BindingServer::new(BindingServerConfig::default());
    let req = request(|b| {
        b.add_raw(AttributeType(0x0003), &[0, 0, 0, 6]).unwrap();
        b.add_raw(AttributeType(0xC001), b"ignored").unwrap();
    });
    let (outcome, out) = answer(&mut server, &req);
    assert_eq!(outcome, ServerOutcome::Respond { error: Some(420) });
    let msg = Message::new_checked(&out[..]).unwrap();
    assert_eq!(error_code(&out), 420);
    assert_eq!(
        msg.attribute::<UnknownAttributes>().unwrap(),
        Some(UnknownAttributes(vec![AttributeType(0x0003)]))
    );
}

#[test]
fn malformed_known_attribute_gets_400() {
    let mut server = BindingServer::new(BindingServerConfig::default());
    let req = request(|b| {
        b.add_raw(AttributeType::PRIORITY, &[1, 2]).unwrap();
    });
    let (outcome, _) = answer(&mut server, &req);
    assert_eq!(outcome, ServerOutcome::Respond { error: Some(400) });
}

#[test]
fn short_term_auth() {
    let mut server = BindingServer::new(BindingServerConfig::default());
    server.add_user("alice:bob", "s3cret");
    assert!(server.requires_auth());
    let key = IntegrityKey::short_term("s3cret");

    // No credentials at all: 400.
    let (outcome, out) = answer(&mut server, &request(|_| {}));
    assert_eq!(outcome, ServerOutcome::Respond { error: Some(400) });
    assert!(!Message::new_checked(&out[..])
        .unwrap()
        .has_attribute(AttributeType::MESSAGE_INTEGRITY));

    // USERNAME without MESSAGE-INTEGRITY: 400.
    let req = request(|b| {
        b.add(&Username("alice:bob")).unwrap();
    });
    assert_eq!(
        answer(&mut server, &req).0,
        ServerOutcome::Respond { error: Some(400) }
    );

    // Unknown user: 401 without integrity.
    let req = request(|b| {
        b.add(&Username("mallory"))
            .unwrap()
            .add_message_integrity(&key)
            .unwrap();
    });
    let (outcome, out) = answer(&mut server, &req);
    assert_eq!(outcome, ServerOutcome::Respond { error: Some(401) });
    assert!(!Message::new_checked(&out[..])
        .unwrap()
        .has_attribute(AttributeType::MESSAGE_INTEGRITY));

    // Wrong password: 401.
    let req = request(|b| {
        b.add(&Username("alice:bob"))
            .unwrap()
            .add_message_integrity(&IntegrityKey::short_term("guess"))
            .unwrap();
    });
    assert_eq!(
        answer(&mut server, &req).0,
        ServerOutcome::Respond { error: Some(401) }
    );

    // Right: signed success with the same algorithm, fingerprint echoed.
    let req = request(|b| {
        b.add(&Username("alice:bob"))
            .unwrap()
            .add(&Priority(1))
            .unwrap()
            .add_message_integrity(&key)
            .unwrap()
            .add_fingerprint()
            .unwrap();
    });
    let (outcome, out) = answer(&mut server, &req);
    assert_eq!(outcome, ServerOutcome::Respond { error: None });
    let msg = Message::new_checked(&out[..]).unwrap();
    assert_eq!(msg.verify_integrity(&key), Ok(IntegrityAlgorithm::HmacSha1));
    assert_eq!(msg.verify_fingerprint(), Ok(()));

    // MESSAGE-INTEGRITY-SHA256 (truncated) is answered in kind.
    let req = request(|b| {
        b.add(&Username("alice:bob"))
            .unwrap()
            .add_message_integrity_sha256_truncated(&key, 16)
            .unwrap();
    });
    let (_, out) = answer(&mut server, &req);
    let msg = Message::new_checked(&out[..]).unwrap();
    assert_eq!(
        msg.verify_integrity(&key),
        Ok(IntegrityAlgorithm::HmacSha256(16))
    );

    // An authenticated request with an unknown attribute gets a signed 420.
    let req = request(|b| {
        b.add(&Username("alice:bob"))
            .unwrap()
            .add_raw(AttributeType(0x7000), &[])
            .unwrap()
            .add_message_integrity(&key)
            .unwrap();
    });
    let (outcome, out) = answer(&mut server, &req);
    assert_eq!(outcome, ServerOutcome::Respond { error: Some(420) });
    assert!(Message::new_checked(&out[..])
        .unwrap()
        .verify_integrity(&key)
        .is_ok());

    assert!(server.remove_user("alice:bob"));
    assert!(!server.requires_auth());
}

#[test]
fn client_and_server_talk() {
    // Our transactions against our server, through bytes only.
    use std::time::{Duration, Instant};
    let mut server = BindingServer::new(BindingServerConfig::default());
    let mut table: Transactions<()> = Transactions::new(TransactionConfig::default());
    let t0 = Instant::now();
    let req = request(|b| {
        b.add_fingerprint().unwrap();
    });
    let id = table.start(t0, req, Transport::Unreliable, ()).unwrap();
    let tx = table.poll_transmit().unwrap();
    let mut out = Vec::new();
    assert_eq!(
        server.handle(from(), &tx.contents, &mut out),
        ServerOutcome::Respond { error: None }
    );
    let msg = Message::new_checked(&out[..]).unwrap();
    assert!(table
        .handle_response(t0 + Duration::from_millis(3), &msg)
        .unwrap());
    let (event, ()) = table.poll_event().unwrap();
    let TransactionEvent::Success {
        transaction_id,
        response,
        ..
    } = event
    else {
        panic!("{event:?}");
    };
    assert_eq!(transaction_id, id);
    let msg = Message::new_checked(&response[..]).unwrap();
    assert_eq!(
        msg.attribute::<XorMappedAddress>().unwrap(),
        Some(XorMappedAddress(from()))
    );
}
