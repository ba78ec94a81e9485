//! Table-style tests of the client against a scripted server: feed a message, check the
//! exact messages and events that come out.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use oxrtc_stun::{
    AddressFamily, AlgorithmId, AlternateServer, AttributeType, ChannelNumber, Class, ConnectionId,
    Data, ErrorCode, IntegrityAlgorithm, IntegrityKey, Lifetime, Message, MessageBuilder, Method,
    Nonce, PasswordAlgorithm, PasswordAlgorithms, Realm, RequestedAddressFamily,
    RequestedTransport, SecurityFeatures, Software, TransactionId, Username, XorMappedAddress,
    XorPeerAddress, XorRelayedAddress,
};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::wire::ChannelData;
use crate::Error;

const REALM: &str = "example.org";

fn server() -> SocketAddr {
    "192.0.2.1:3478".parse().unwrap()
}
fn relayed() -> SocketAddr {
    "192.0.2.1:50000".parse().unwrap()
}
fn mapped() -> SocketAddr {
    "198.51.100.2:40000".parse().unwrap()
}
fn peer() -> SocketAddr {
    "203.0.113.5:7000".parse().unwrap()
}

fn key() -> IntegrityKey {
    IntegrityKey::long_term("alice", REALM, "secret")
}

fn client(transport: TurnTransport) -> (Client, Instant) {
    let now = Instant::now();
    let config = ClientConfig {
        software: Some("oxrtc test".into()),
        ..ClientConfig::new(server(), transport, "alice", "secret")
    };
    (Client::new(config, now, ChaCha8Rng::seed_from_u64(7)), now)
}

fn one_transmit(c: &mut Client) -> Vec<u8> {
    let t = c.poll_transmit().expect("a transmit");
    assert_eq!(t.destination, c.server());
    assert!(c.poll_transmit().is_none(), "more than one transmit");
    t.contents
}

/// A response to `request`, built by `f`, signed with the test key when `sign`.
fn respond(
    request: &[u8],
    class: Class,
    sign: bool,
    f: impl FnOnce(&mut MessageBuilder<'_>),
) -> Vec<u8> {
    let req = Message::new_checked(request).unwrap();
    let mut out = Vec::new();
    let mut b = MessageBuilder::response_to(&mut out, &req, class);
    f(&mut b);
    if sign {
        b.add_message_integrity(&key()).unwrap();
    }
    out
}

fn challenge(request: &[u8], code: ErrorCode<'static>, nonce: &str) -> Vec<u8> {
    respond(request, Class::ErrorResponse, false, |b| {
        b.add(&code).unwrap();
        b.add(&Realm(REALM)).unwrap();
        b.add(&Nonce(nonce)).unwrap();
    })
}

fn allocated(c: &mut Client, now: Instant) {
    c.allocate(now).unwrap();
    let first = one_transmit(c);
    c.handle_receive(
        now,
        server(),
        &challenge(&first, ErrorCode::UNAUTHORIZED, "n1"),
    )
    .unwrap();
    let second = one_transmit(c);
    let ok = respond(&second, Class::SuccessResponse, true, |b| {
        b.add(&XorRelayedAddress(relayed())).unwrap();
        b.add(&XorMappedAddress(mapped())).unwrap();
        b.add(&Lifetime(600)).unwrap();
    });
    c.handle_receive(now, server(), &ok).unwrap();
    assert!(matches!(c.poll_event(), Some(Event::Allocated { .. })));
}

#[test]
fn allocate_answers_the_challenge_with_long_term_credentials() {
    let (mut c, now) = client(TurnTransport::Udp);
    c.allocate(now).unwrap();
    let first = one_transmit(&mut c);
    let msg = Message::new_checked(&first[..]).unwrap();
    assert_eq!(
        (msg.class(), msg.method()),
        (Class::Request, Method::Allocate)
    );
    assert_eq!(
        msg.attribute::<RequestedTransport>().unwrap(),
        Some(RequestedTransport::UDP)
    );
    assert_eq!(
        msg.attribute::<Software<'_>>().unwrap(),
        Some(Software("oxrtc test"))
    );
    assert!(!msg.has_attribute(AttributeType::MESSAGE_INTEGRITY));
    assert!(!msg.has_attribute(AttributeType::USERNAME));
    msg.verify_fingerprint().unwrap();

    c.handle_receive(
        now,
        server(),
        &challenge(&first, ErrorCode::UNAUTHORIZED, "n1"),
    )
    .unwrap();
    assert_eq!(c.poll_event(), None);
    let second = one_transmit(&mut c);
    let msg = Message::new_checked(&second[..]).unwrap();
    assert_ne!(
        msg.transaction_id(),
        Message::new_checked(&first[..]).unwrap().transaction_id()
    );
    assert_eq!(
        msg.attribute::<Username<'_>>().unwrap(),
        Some(Username("alice"))
    );
    assert_eq!(msg.attribute::<Realm<'_>>().unwrap(), Some(Realm(REALM)));
    assert_eq!(msg.attribute::<Nonce<'_>>().unwrap(), Some(Nonce("n1")));
    assert_eq!(msg.verify(&key()).unwrap(), IntegrityAlgorithm::HmacSha1);

    // An unsigned success response to a signed request is discarded (RFC 8489 §9.2.5).
    let forged = respond(&second, Class::SuccessResponse, false, |b| {
        b.add(&XorRelayedAddress(relayed())).unwrap();
        b.add(&Lifetime(600)).unwrap();
    });
    assert!(c.handle_receive(now, server(), &forged).is_err());
    assert_eq!(c.poll_event(), None);

    let ok = respond(&second, Class::SuccessResponse, true, |b| {
        b.add(&XorRelayedAddress(relayed())).unwrap();
        b.add(&XorMappedAddress(mapped())).unwrap();
        b.add(&Lifetime(600)).unwrap();
    });
    c.handle_receive(now, server(), &ok).unwrap();
    assert_eq!(
        c.poll_event(),
        Some(Event::Allocated {
            relayed: relayed(),
            mapped: Some(mapped()),
            lifetime: Duration::from_secs(600)
        })
    );
    assert_eq!(c.relayed_address(), Some(relayed()));
    // Refresh a minute before expiry.
    assert_eq!(c.poll_timeout(), Some(now + Duration::from_secs(540)));
}

#[test]
fn second_401_to_signed_request_with_same_nonce_fails() {
    let (mut c, now) = client(TurnTransport::Udp);
    c.allocate(now).unwrap();
    let first = one_transmit(&mut c);
    c.handle_receive(
        now,
        server(),
        &challenge(&first, ErrorCode::UNAUTHORIZED, "n1"),
    )
    .unwrap();
    let second = one_transmit(&mut c);
    c.handle_receive(
        now,
        server(),
        &challenge(&second, ErrorCode::UNAUTHORIZED, "n1"),
    )
    .unwrap();
    assert_eq!(
        c.poll_event(),
        Some(Event::AllocationFailed(Error::Response(
            ResponseError::Unauthorized
        )))
    );
    assert!(c.is_closed());
    assert!(c.poll_transmit().is_none());
}

#[test]
fn every_error_response_is_typed() {
    for (code, expected) in [
        (
            ErrorCode::ALLOCATION_QUOTA_REACHED,
            ResponseError::AllocationQuotaReached,
        ),
        (
            ErrorCode::INSUFFICIENT_CAPACITY,
            ResponseError::InsufficientCapacity,
        ),
        (
            ErrorCode::ADDRESS_FAMILY_NOT_SUPPORTED,
            ResponseError::AddressFamilyNotSupported,
        ),
        (
            ErrorCode::UNSUPPORTED_TRANSPORT_PROTOCOL,
            ResponseError::UnsupportedTransportProtocol,
        ),
        (ErrorCode::FORBIDDEN, ResponseError::Forbidden),
        (
            ErrorCode::WRONG_CREDENTIALS,
            ResponseError::WrongCredentials,
        ),
        (
            ErrorCode::ALLOCATION_MISMATCH,
            ResponseError::AllocationMismatch,
        ),
        (ErrorCode::SERVER_ERROR, ResponseError::ServerError),
    ] {
        let (mut c, now) = client(TurnTransport::Udp);
        c.allocate(now).unwrap();
        let first = one_transmit(&mut c);
        c.handle_receive(
            now,
            server(),
            &challenge(&first, ErrorCode::UNAUTHORIZED, "n"),
        )
        .unwrap();
        let second = one_transmit(&mut c);
        let err = respond(&second, Class::ErrorResponse, true, |b| {
            b.add(&code).unwrap();
        });
        c.handle_receive(now, server(), &err).unwrap();
        assert_eq!(
            c.poll_event(),
            Some(Event::AllocationFailed(Error::Response(expected)))
        );
    }
}

#[test]
fn stale_nonce_is_retried_with_the_new_nonce() {
    let (mut c, now) = client(TurnTransport::Udp);
    allocated(&mut c, now);
    c.create_permission(now, peer().ip()).unwrap();
    let req = one_transmit(&mut c);
    c.handle_receive(
        now,
        server(),
        &challenge(&req, ErrorCode::STALE_NONCE, "n2"),
    )
    .unwrap();
    let retry = one_transmit(&mut c);
    let msg = Message::new_checked(&retry[..]).unwrap();
    assert_eq!(msg.method(), Method::CreatePermission);
    assert_eq!(msg.attribute::<Nonce<'_>>().unwrap(), Some(Nonce("n2")));
    msg.verify(&key()).unwrap();
    assert_eq!(
        msg.attribute::<XorPeerAddress>().unwrap(),
        Some(XorPeerAddress(SocketAddr::new(peer().ip(), 0)))
    );
    c.handle_receive(
        now,
        server(),
        &respond(&retry, Class::SuccessResponse, true, |_| {}),
    )
    .unwrap();
    assert_eq!(
        c.poll_event(),
        Some(Event::PermissionCreated { peer: peer().ip() })
    );
    assert!(c.has_permission(peer().ip()));
}

#[test]
fn data_waits_for_its_permission_then_goes_as_send_indication() {
    let (mut c, now) = client(TurnTransport::Udp);
    allocated(&mut c, now);
    c.send_to(now, peer(), b"first").unwrap();
    c.send_to(now, peer(), b"second").unwrap();
    let req = one_transmit(&mut c); // only the CreatePermission
    assert_eq!(
        Message::new_checked(&req[..]).unwrap().method(),
        Method::CreatePermission
    );
    c.handle_receive(
        now,
        server(),
        &respond(&req, Class::SuccessResponse, true, |_| {}),
    )
    .unwrap();
    let mut sent = Vec::new();
    while let Some(t) = c.poll_transmit() {
        let msg = Message::new_checked(&t.contents[..]).unwrap();
        assert_eq!(
            (msg.class(), msg.method()),
            (Class::Indication, Method::Send)
        );
        assert_eq!(
            msg.attribute::<XorPeerAddress>().unwrap(),
            Some(XorPeerAddress(peer()))
        );
        sent.push(msg.attribute::<Data<'_>>().unwrap().unwrap().0.to_vec());
    }
    assert_eq!(sent, [b"first".to_vec(), b"second".to_vec()]);

    // A Data indication from the server.
    let mut ind = Vec::new();
    let mut b = MessageBuilder::new(
        &mut ind,
        Class::Indication,
        Method::Data,
        TransactionId([3; 12]),
    );
    b.add(&XorPeerAddress(peer()))
        .unwrap()
        .add(&Data(b"reply"))
        .unwrap();
    c.handle_receive(now, server(), &ind).unwrap();
    assert_eq!(
        c.poll_event(),
        Some(Event::PermissionCreated { peer: peer().ip() })
    );
    assert_eq!(
        c.poll_event(),
        Some(Event::Data {
            peer: peer(),
            data: b"reply".to_vec()
        })
    );
}

#[test]
fn refused_permission_drops_the_queue_and_refuses_sends() {
    let (mut c, now) = client(TurnTransport::Udp);
    allocated(&mut c, now);
    c.send_to(now, peer(), b"x").unwrap();
    let req = one_transmit(&mut c);
    let err = respond(&req, Class::ErrorResponse, true, |b| {
        b.add(&ErrorCode::FORBIDDEN).unwrap();
    });
    c.handle_receive(now, server(), &err).unwrap();
    assert_eq!(
        c.poll_event(),
        Some(Event::PermissionFailed {
            peer: peer().ip(),
            error: Error::Response(ResponseError::Forbidden)
        })
    );
    assert!(c.poll_transmit().is_none());
    assert_eq!(c.stats().queue_dropped, 1);
    assert_eq!(
        c.send_to(now, peer(), b"y"),
        Err(Error::PermissionRefused(peer().ip()))
    );
    // Family mismatch is caught locally.
    let v6: SocketAddr = "[2001:db8::1]:9".parse().unwrap();
    assert_eq!(
        c.send_to(now, v6, b"z"),
        Err(Error::PeerAddressFamilyMismatch(v6.ip()))
    );
}

#[test]
fn channel_data_once_bound_padded_on_streams() {
    for transport in [TurnTransport::Udp, TurnTransport::Tcp] {
        let (mut c, now) = client(transport);
        allocated(&mut c, now);
        let number = c.bind_channel(now, peer()).unwrap();
        assert_eq!(number, ChannelNumber(0x4000));
        assert_eq!(c.bind_channel(now, peer()).unwrap(), number);
        let req = one_transmit(&mut c);
        let msg = Message::new_checked(&req[..]).unwrap();
        assert_eq!(msg.method(), Method::ChannelBind);
        assert_eq!(msg.attribute::<ChannelNumber>().unwrap(), Some(number));
        assert_eq!(c.channel(peer()), None);
        c.handle_receive(
            now,
            server(),
            &respond(&req, Class::SuccessResponse, true, |_| {}),
        )
        .unwrap();
        assert_eq!(
            c.poll_event(),
            Some(Event::ChannelBound {
                peer: peer(),
                channel: number
            })
        );
        c.send_to(now, peer(), b"hello").unwrap();
        let t = one_transmit(&mut c);
        let expected_len = if transport == TurnTransport::Tcp {
            12
        } else {
            9
        };
        assert_eq!(t.len(), expected_len);
        let cd = ChannelData::new_checked(&t[..]).unwrap();
        assert_eq!((cd.channel_number(), cd.data()), (number, &b"hello"[..]));

        // ChannelData from the server, split across reads on TCP.
        let mut back = Vec::new();
        crate::wire::write_channel_data(&mut back, number, b"back", transport.is_stream()).unwrap();
        if transport.is_stream() {
            c.handle_stream_data(now, &back[..3]).unwrap();
            assert_eq!(c.poll_event(), None);
            c.handle_stream_data(now, &back[3..]).unwrap();
        } else {
            c.handle_receive(now, server(), &back).unwrap();
        }
        assert_eq!(
            c.poll_event(),
            Some(Event::Data {
                peer: peer(),
                data: b"back".to_vec()
            })
        );
        // Unknown channel numbers are dropped and counted.
        let mut bad = Vec::new();
        crate::wire::write_channel_data(&mut bad, ChannelNumber(0x4321), b"?", false).unwrap();
        let dropped = c.stats().dropped;
        if !transport.is_stream() {
            assert!(c.handle_receive(now, server(), &bad).is_err());
            assert_eq!(c.stats().dropped, dropped + 1);
        }
    }
}

#[test]
fn refresh_timers_for_allocation_permission_and_channel() {
    let (mut c, now) = client(TurnTransport::Udp);
    allocated(&mut c, now);
    c.create_permission(now, peer().ip()).unwrap();
    let req = one_transmit(&mut c);
    c.handle_receive(
        now,
        server(),
        &respond(&req, Class::SuccessResponse, true, |_| {}),
    )
    .unwrap();
    let other: SocketAddr = "203.0.113.9:1".parse().unwrap();
    c.bind_channel(now, other).unwrap();
    let req = one_transmit(&mut c);
    c.handle_receive(
        now,
        server(),
        &respond(&req, Class::SuccessResponse, true, |_| {}),
    )
    .unwrap();
    while c.poll_event().is_some() {}

    // Answers every transmit; returns their methods, sorted.
    fn answer_all(c: &mut Client, t: Instant) -> Vec<Method> {
        let mut methods = Vec::new();
        while let Some(tx) = c.poll_transmit() {
            let r = tx.contents;
            let method = Message::new_checked(&r[..]).unwrap().method();
            methods.push(method);
            let ok = respond(&r, Class::SuccessResponse, true, |b| {
                if method == Method::Refresh {
                    b.add(&Lifetime(600)).unwrap();
                }
            });
            c.handle_receive(t, server(), &ok).unwrap();
        }
        methods.sort();
        methods
    }

    // Both permissions (the channel's peer too) refresh at 240 s and 480 s, silently.
    for at in [240, 480] {
        let t = now + Duration::from_secs(at);
        assert_eq!(c.poll_timeout(), Some(t));
        c.handle_timeout(t);
        assert_eq!(
            answer_all(&mut c, t),
            [Method::CreatePermission, Method::CreatePermission]
        );
        assert_eq!(c.poll_event(), None, "refreshes are silent");
    }
    // The allocation and the channel at 540 s.
    let t = now + Duration::from_secs(540);
    assert_eq!(c.poll_timeout(), Some(t));
    c.handle_timeout(t);
    assert_eq!(
        answer_all(&mut c, t),
        [Method::Refresh, Method::ChannelBind]
    );
    assert_eq!(
        c.poll_event(),
        Some(Event::Refreshed {
            lifetime: Duration::from_secs(600)
        })
    );
    assert_eq!(c.expires(), Some(t + Duration::from_secs(600)));
}

#[test]
fn unanswered_refreshes_end_in_expiry() {
    let (mut c, now) = client(TurnTransport::Udp);
    allocated(&mut c, now);
    let mut t = now;
    let mut events = Vec::new();
    while let Some(next) = c.poll_timeout() {
        t = next;
        c.handle_timeout(t);
        while c.poll_transmit().is_some() {}
        while let Some(e) = c.poll_event() {
            events.push(e);
        }
        if c.is_closed() {
            break;
        }
    }
    assert_eq!(events.last(), Some(&Event::Expired));
    assert!(events.contains(&Event::RefreshFailed(Error::Timeout)));
    assert_eq!(t, now + Duration::from_secs(600));
    assert_eq!(c.poll_timeout(), None);
}

#[test]
fn allocation_times_out_after_the_rfc_schedule() {
    let (mut c, now) = client(TurnTransport::Udp);
    c.allocate(now).unwrap();
    let mut sent = 0;
    let mut t = now;
    loop {
        while c.poll_transmit().is_some() {
            sent += 1;
        }
        if let Some(e) = c.poll_event() {
            assert_eq!(e, Event::AllocationFailed(Error::Timeout));
            break;
        }
        t = c.poll_timeout().unwrap();
        c.handle_timeout(t);
    }
    assert_eq!(sent, 7);
    assert_eq!(t, now + Duration::from_millis(39_500));
}

#[test]
fn alternate_server_redirects_and_loops_are_caught() {
    let alt: SocketAddr = "192.0.2.99:3478".parse().unwrap();
    let (mut c, now) = client(TurnTransport::Udp);
    c.allocate(now).unwrap();
    let first = one_transmit(&mut c);
    let redirect = |req: &[u8], to: SocketAddr| {
        respond(req, Class::ErrorResponse, false, |b| {
            b.add(&ErrorCode::TRY_ALTERNATE).unwrap();
            b.add(&AlternateServer(to)).unwrap();
        })
    };
    c.handle_receive(now, server(), &redirect(&first, alt))
        .unwrap();
    assert_eq!(c.poll_event(), Some(Event::Redirected { server: alt }));
    assert_eq!(c.server(), alt);
    let t = c.poll_transmit().unwrap();
    assert_eq!(t.destination, alt);
    // The old server is ignored now.
    assert_eq!(
        c.handle_receive(now, server(), &redirect(&t.contents, server())),
        Err(Error::UnexpectedSource(server()))
    );
    // Back to the first server: a loop.
    c.handle_receive(now, alt, &redirect(&t.contents, server()))
        .unwrap();
    assert_eq!(
        c.poll_event(),
        Some(Event::AllocationFailed(Error::RedirectLoop(server())))
    );
}

#[test]
fn deallocate_sends_lifetime_zero() {
    let (mut c, now) = client(TurnTransport::Udp);
    allocated(&mut c, now);
    c.deallocate(now).unwrap();
    let req = one_transmit(&mut c);
    let msg = Message::new_checked(&req[..]).unwrap();
    assert_eq!(msg.method(), Method::Refresh);
    assert_eq!(msg.attribute::<Lifetime>().unwrap(), Some(Lifetime(0)));
    // A 437 (the allocation was already gone) counts as done too.
    let err = respond(&req, Class::ErrorResponse, true, |b| {
        b.add(&ErrorCode::ALLOCATION_MISMATCH).unwrap();
    });
    c.handle_receive(now, server(), &err).unwrap();
    assert_eq!(c.poll_event(), Some(Event::Deallocated));
    assert!(c.is_closed());
    assert_eq!(c.send_to(now, peer(), b"x"), Err(Error::NotAllocated));
}

#[test]
fn sha256_password_algorithm_when_the_nonce_cookie_offers_it() {
    let (mut c, now) = client(TurnTransport::Udp);
    c.allocate(now).unwrap();
    let first = one_transmit(&mut c);
    let nonce = Nonce::with_security_features(SecurityFeatures::PASSWORD_ALGORITHMS, "abc");
    let challenge = respond(&first, Class::ErrorResponse, false, |b| {
        b.add(&ErrorCode::UNAUTHORIZED).unwrap();
        b.add(&Realm(REALM)).unwrap();
        b.add(&Nonce(&nonce)).unwrap();
        b.add(&PasswordAlgorithms(vec![
            PasswordAlgorithm::MD5,
            PasswordAlgorithm::SHA256,
        ]))
        .unwrap();
    });
    c.handle_receive(now, server(), &challenge).unwrap();
    let second = one_transmit(&mut c);
    let msg = Message::new_checked(&second[..]).unwrap();
    assert_eq!(
        msg.attribute::<PasswordAlgorithm<'_>>().unwrap(),
        Some(PasswordAlgorithm::SHA256)
    );
    assert_eq!(
        msg.attribute::<PasswordAlgorithms<'_>>()
            .unwrap()
            .unwrap()
            .0,
        vec![PasswordAlgorithm::MD5, PasswordAlgorithm::SHA256]
    );
    let sha_key =
        IntegrityKey::long_term_with_algorithm(AlgorithmId::SHA256, "alice", REALM, "secret")
            .unwrap();
    assert_eq!(
        msg.verify(&sha_key).unwrap(),
        IntegrityAlgorithm::HmacSha256(32)
    );

    // Announced but not listed: the client must not retry.
    let (mut c, now) = client(TurnTransport::Udp);
    c.allocate(now).unwrap();
    let first = one_transmit(&mut c);
    let challenge = respond(&first, Class::ErrorResponse, false, |b| {
        b.add(&ErrorCode::UNAUTHORIZED).unwrap();
        b.add(&Realm(REALM)).unwrap();
        b.add(&Nonce(&nonce)).unwrap();
    });
    c.handle_receive(now, server(), &challenge).unwrap();
    assert_eq!(
        c.poll_event(),
        Some(Event::AllocationFailed(Error::MissingPasswordAlgorithms))
    );
}

#[test]
fn ipv6_relay_is_requested_and_family_enforced() {
    let now = Instant::now();
    let mut config = ClientConfig::new(server(), TurnTransport::Udp, "alice", "secret");
    config.requested_family = Some(AddressFamily::IPv6);
    config.lifetime = Some(Duration::from_secs(1200));
    let mut c = Client::new(config, now, ChaCha8Rng::seed_from_u64(1));
    c.allocate(now).unwrap();
    let req = one_transmit(&mut c);
    let msg = Message::new_checked(&req[..]).unwrap();
    assert_eq!(
        msg.attribute::<RequestedAddressFamily>().unwrap(),
        Some(RequestedAddressFamily(AddressFamily::IPv6))
    );
    assert_eq!(msg.attribute::<Lifetime>().unwrap(), Some(Lifetime(1200)));
    let relay6: SocketAddr = "[2001:db8::5]:50000".parse().unwrap();
    let ok = respond(&req, Class::SuccessResponse, false, |b| {
        b.add(&XorRelayedAddress(relay6)).unwrap();
        b.add(&Lifetime(1200)).unwrap();
    });
    c.handle_receive(now, server(), &ok).unwrap();
    assert!(c.is_allocated());
    let v4: IpAddr = "203.0.113.1".parse().unwrap();
    assert_eq!(
        c.create_permission(now, v4),
        Err(Error::PeerAddressFamilyMismatch(v4))
    );
    assert!(c
        .create_permission(now, "2001:db8::9".parse().unwrap())
        .is_ok());
}

#[test]
fn tcp_allocation_connect_and_connection_attempt() {
    let (mut c, now) = client(TurnTransport::Udp);
    assert_eq!(c.allocate_tcp(now), Err(Error::NotTcpAllocation));

    let (mut c, now) = client(TurnTransport::Tcp);
    c.allocate_tcp(now).unwrap();
    let first = one_transmit(&mut c);
    let msg = Message::new_checked(&first[..]).unwrap();
    assert_eq!(
        msg.attribute::<RequestedTransport>().unwrap(),
        Some(RequestedTransport::TCP)
    );
    c.handle_stream_data(now, &challenge(&first, ErrorCode::UNAUTHORIZED, "n"))
        .unwrap();
    let second = one_transmit(&mut c);
    let ok = respond(&second, Class::SuccessResponse, true, |b| {
        b.add(&XorRelayedAddress(relayed())).unwrap();
        b.add(&Lifetime(600)).unwrap();
    });
    c.handle_stream_data(now, &ok).unwrap();
    assert!(matches!(c.poll_event(), Some(Event::Allocated { .. })));

    c.connect(now, peer()).unwrap();
    let req = one_transmit(&mut c);
    let msg = Message::new_checked(&req[..]).unwrap();
    assert_eq!(msg.method(), Method::Connect);
    let ok = respond(&req, Class::SuccessResponse, true, |b| {
        b.add(&ConnectionId(77)).unwrap();
    });
    c.handle_stream_data(now, &ok).unwrap();
    assert_eq!(
        c.poll_event(),
        Some(Event::Connected {
            peer: peer(),
            connection_id: ConnectionId(77)
        })
    );

    // The data connection: ConnectionBind, signed, then raw bytes.
    let mut d = c.connection_bind(now, ConnectionId(77)).unwrap();
    let req = d.poll_transmit().unwrap();
    let msg = Message::new_checked(&req[..]).unwrap();
    assert_eq!(msg.method(), Method::ConnectionBind);
    assert_eq!(
        msg.attribute::<ConnectionId>().unwrap(),
        Some(ConnectionId(77))
    );
    msg.verify(&key()).unwrap();
    let mut reply = respond(&req, Class::SuccessResponse, true, |_| {});
    reply.extend_from_slice(b"peer bytes");
    d.handle_stream_data(now, &reply[..7]).unwrap();
    assert_eq!(d.poll_event(), None);
    d.handle_stream_data(now, &reply[7..]).unwrap();
    assert_eq!(
        d.poll_event(),
        Some(DataConnectionEvent::Bound {
            peer_data: b"peer bytes".to_vec()
        })
    );
    assert!(d.is_bound());

    // A peer connecting to the relayed address.
    let mut ind = Vec::new();
    let mut b = MessageBuilder::new(
        &mut ind,
        Class::Indication,
        Method::ConnectionAttempt,
        TransactionId([1; 12]),
    );
    b.add(&XorPeerAddress(peer()))
        .unwrap()
        .add(&ConnectionId(78))
        .unwrap();
    c.handle_stream_data(now, &ind).unwrap();
    assert_eq!(
        c.poll_event(),
        Some(Event::ConnectionAttempt {
            peer: peer(),
            connection_id: ConnectionId(78)
        })
    );
    // A garbage stream is fatal.
    assert_eq!(c.handle_stream_data(now, &[0xFF; 8]), Err(Error::NotTurn));
}
