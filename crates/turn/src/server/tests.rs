//! Table-style tests of the server core: a request in, the exact answer out.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use oxrtc_stun::{
    AlgorithmId, AttributeType, ChannelNumber, Class, DontFragment, ErrorCode, IntegrityAlgorithm,
    IntegrityKey, Lifetime, Message, MessageBuilder, Method, Nonce, PasswordAlgorithm,
    PasswordAlgorithms, Realm, RequestedTransport, ReservationToken, TransactionId,
    UnknownAttributes, Username, XorMappedAddress, XorPeerAddress, XorRelayedAddress,
};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::*;

const REALM: &str = "test";

fn client() -> SocketAddr {
    "198.51.100.1:40000".parse().unwrap()
}

fn udp_tuple() -> FiveTuple {
    FiveTuple {
        transport: TurnTransport::Udp,
        client: client(),
        server: "192.0.2.1:3478".parse().unwrap(),
    }
}

struct T {
    server: Server,
    now: Instant,
    nonce: String,
    next: u8,
}

impl T {
    fn new(config: ServerConfig) -> T {
        let now = Instant::now();
        let server = Server::new(config, now, ChaCha8Rng::seed_from_u64(3));
        T {
            server,
            now,
            nonce: String::new(),
            next: 0,
        }
    }

    fn default() -> T {
        T::new(ServerConfig {
            realm: REALM.into(),
            users: vec![("u".into(), "p".into()), ("v".into(), "q".into())],
            ..Default::default()
        })
    }

    fn id(&mut self) -> TransactionId {
        self.next += 1;
        TransactionId([self.next; 12])
    }

    /// Sends raw bytes, returns the one response.
    fn send(&mut self, tuple: FiveTuple, bytes: &[u8]) -> Vec<u8> {
        let outcome = self.server.handle_client(self.now, tuple, bytes);
        assert_eq!(outcome, ClientOutcome::Handled);
        let t = self.server.poll_transmit().expect("a response");
        assert_eq!(t.tuple, tuple);
        assert!(self.server.poll_transmit().is_none());
        t.contents
    }

    /// An unsigned request built by `f`.
    fn unsigned(
        &mut self,
        tuple: FiveTuple,
        method: Method,
        f: impl FnOnce(&mut MessageBuilder<'_>),
    ) -> Vec<u8> {
        let mut out = Vec::new();
        let id = self.id();
        let mut b = MessageBuilder::new(&mut out, Class::Request, method, id);
        f(&mut b);
        self.send(tuple, &out)
    }

    /// A request signed as `user` (password "p" for u, "q" for v) with the current nonce,
    /// fetching one first.
    fn signed(
        &mut self,
        tuple: FiveTuple,
        user: &str,
        method: Method,
        f: impl FnOnce(&mut MessageBuilder<'_>),
    ) -> Vec<u8> {
        let out = self.signed_request(tuple, user, method, f);
        self.send(tuple, &out)
    }

    /// The bytes of a request signed as `user`, fetching a nonce first if needed.
    fn signed_request(
        &mut self,
        tuple: FiveTuple,
        user: &str,
        method: Method,
        f: impl FnOnce(&mut MessageBuilder<'_>),
    ) -> Vec<u8> {
        if self.nonce.is_empty() {
            let r = self.unsigned(tuple, Method::Refresh, |_| {});
            let m = Message::new_checked(&r[..]).unwrap();
            self.nonce = m.attribute::<Nonce<'_>>().unwrap().unwrap().0.to_owned();
        }
        let pass = if user == "v" { "q" } else { "p" };
        let key = IntegrityKey::long_term(user, REALM, pass);
        let mut out = Vec::new();
        let id = self.id();
        let mut b = MessageBuilder::new(&mut out, Class::Request, method, id);
        f(&mut b);
        b.add(&Username(user)).unwrap();
        b.add(&Realm(REALM)).unwrap();
        b.add(&Nonce(&self.nonce)).unwrap();
        b.add_message_integrity(&key).unwrap();
        b.add_fingerprint().unwrap();
        out
    }

    /// Allocates and binds a relay; returns the success response.
    fn allocated(&mut self, tuple: FiveTuple, relay: &str) -> Vec<u8> {
        let request = self.allocate_request(tuple);
        let out = self.server.handle_client(self.now, tuple, &request);
        assert_eq!(out, ClientOutcome::Handled);
        let Some(ServerEvent::BindRelay { allocation, .. }) = self.server.poll_event() else {
            panic!("no BindRelay")
        };
        self.server
            .relay_bound(self.now, allocation, Some(relay.parse().unwrap()), None);
        self.server.poll_transmit().unwrap().contents
    }

    fn allocate_request(&mut self, tuple: FiveTuple) -> Vec<u8> {
        if self.nonce.is_empty() {
            let r = self.unsigned(tuple, Method::Allocate, |_| {});
            let m = Message::new_checked(&r[..]).unwrap();
            self.nonce = m.attribute::<Nonce<'_>>().unwrap().unwrap().0.to_owned();
        }
        let key = IntegrityKey::long_term("u", REALM, "p");
        let mut out = Vec::new();
        let id = self.id();
        let mut b = MessageBuilder::new(&mut out, Class::Request, Method::Allocate, id);
        b.add(&RequestedTransport::UDP).unwrap();
        b.add(&Username("u")).unwrap();
        b.add(&Realm(REALM)).unwrap();
        b.add(&Nonce(&self.nonce)).unwrap();
        b.add_message_integrity(&key).unwrap();
        out
    }
}

fn code(response: &[u8]) -> Option<u16> {
    let m = Message::new_checked(response).unwrap();
    m.attribute::<ErrorCode<'_>>().unwrap().map(|e| e.code)
}

#[test]
fn unauthenticated_requests_get_a_challenge() {
    let mut t = T::default();
    let r = t.unsigned(udp_tuple(), Method::Allocate, |b| {
        b.add(&RequestedTransport::UDP).unwrap();
        b.add_fingerprint().unwrap();
    });
    let m = Message::new_checked(&r[..]).unwrap();
    assert_eq!(m.class(), Class::ErrorResponse);
    assert_eq!(code(&r), Some(401));
    assert_eq!(m.attribute::<Realm<'_>>().unwrap(), Some(Realm(REALM)));
    let nonce = m.attribute::<Nonce<'_>>().unwrap().unwrap();
    assert!(nonce.0.starts_with(Nonce::COOKIE));
    assert_eq!(
        m.attribute::<PasswordAlgorithms<'_>>().unwrap().unwrap().0,
        [PasswordAlgorithm::SHA256, PasswordAlgorithm::MD5]
    );
    assert!(!m.has_attribute(AttributeType::MESSAGE_INTEGRITY));
    m.verify_fingerprint().unwrap();
    // Without FINGERPRINT in the request, none in the answer.
    let r = t.unsigned(udp_tuple(), Method::Allocate, |_| {});
    assert!(!Message::new_checked(&r[..])
        .unwrap()
        .has_attribute(AttributeType::FINGERPRINT));
    assert!(t.server.allocations().is_empty());
}

#[test]
fn integrity_without_username_is_400_and_bad_nonce_438() {
    let mut t = T::default();
    let key = IntegrityKey::long_term("u", REALM, "p");
    let mut out = Vec::new();
    MessageBuilder::new(
        &mut out,
        Class::Request,
        Method::Allocate,
        TransactionId([1; 12]),
    )
    .add_message_integrity(&key)
    .unwrap();
    assert_eq!(code(&t.send(udp_tuple(), &out)), Some(400));

    let mut out = Vec::new();
    let mut b = MessageBuilder::new(
        &mut out,
        Class::Request,
        Method::Allocate,
        TransactionId([2; 12]),
    );
    b.add(&Username("u")).unwrap();
    b.add(&Realm(REALM)).unwrap();
    b.add(&Nonce("made-up")).unwrap();
    b.add_message_integrity(&key).unwrap();
    let r = t.send(udp_tuple(), &out);
    assert_eq!(code(&r), Some(438));
    let m = Message::new_checked(&r[..]).unwrap();
    assert!(m.attribute::<Nonce<'_>>().unwrap().is_some());
    assert_eq!(t.server.stats().auth_failures, 0);
}

#[test]
fn unknown_attributes_and_dont_fragment_are_420() {
    let mut t = T::default();
    let r = t.unsigned(udp_tuple(), Method::Allocate, |b| {
        b.add(&RequestedTransport::UDP).unwrap();
        b.add(&DontFragment).unwrap();
        b.add_raw(AttributeType(0x7777), b"x").unwrap();
    });
    assert_eq!(code(&r), Some(420));
    let m = Message::new_checked(&r[..]).unwrap();
    assert_eq!(
        m.attribute::<UnknownAttributes>().unwrap().unwrap().0,
        [AttributeType::DONT_FRAGMENT, AttributeType(0x7777)]
    );
}

#[test]
fn binding_requests_are_answered_without_credentials() {
    let mut t = T::default();
    let r = t.unsigned(udp_tuple(), Method::Binding, |_| {});
    let m = Message::new_checked(&r[..]).unwrap();
    assert_eq!(m.class(), Class::SuccessResponse);
    assert_eq!(
        m.attribute::<XorMappedAddress>().unwrap(),
        Some(XorMappedAddress(client()))
    );
}

#[test]
fn allocate_checks_and_lifetimes() {
    let mut t = T::default();
    let tuple = udp_tuple();
    let r = t.signed(tuple, "u", Method::Allocate, |_| {});
    assert_eq!(code(&r), Some(400), "no REQUESTED-TRANSPORT");
    let r = t.signed(tuple, "u", Method::Allocate, |b| {
        b.add(&RequestedTransport(99)).unwrap();
    });
    assert_eq!(code(&r), Some(442));
    let r = t.signed(tuple, "u", Method::Allocate, |b| {
        b.add(&RequestedTransport::TCP).unwrap();
    });
    assert_eq!(code(&r), Some(400), "tcp allocations need a tcp connection");
    let r = t.signed(tuple, "u", Method::Allocate, |b| {
        b.add(&RequestedTransport::UDP).unwrap();
        b.add(&ReservationToken([1; 8])).unwrap();
    });
    assert_eq!(code(&r), Some(508));
    // Every answer after authentication is signed.
    let m = Message::new_checked(&r[..]).unwrap();
    m.verify(&IntegrityKey::long_term("u", REALM, "p")).unwrap();

    // Lifetimes: asking for less than the default gets the default; more than the
    // maximum gets the maximum.
    let ok = t.allocated(tuple, "192.0.2.1:50000");
    let m = Message::new_checked(&ok[..]).unwrap();
    assert_eq!(m.attribute::<Lifetime>().unwrap(), Some(Lifetime(600)));
    assert_eq!(
        m.attribute::<XorRelayedAddress>().unwrap().unwrap().0,
        "192.0.2.1:50000".parse().unwrap()
    );
    let r = t.signed(tuple, "u", Method::Refresh, |b| {
        b.add(&Lifetime(30)).unwrap();
    });
    assert_eq!(
        Message::new_checked(&r[..])
            .unwrap()
            .attribute::<Lifetime>()
            .unwrap(),
        Some(Lifetime(600))
    );
    let r = t.signed(tuple, "u", Method::Refresh, |b| {
        b.add(&Lifetime(100_000)).unwrap();
    });
    assert_eq!(
        Message::new_checked(&r[..])
            .unwrap()
            .attribute::<Lifetime>()
            .unwrap(),
        Some(Lifetime(3600))
    );
    // A second Allocate on the same 5-tuple: 437.
    let r = t.signed(tuple, "u", Method::Allocate, |b| {
        b.add(&RequestedTransport::UDP).unwrap();
    });
    assert_eq!(code(&r), Some(437));
    // Another user on the same allocation: 441.
    let r = t.signed(tuple, "v", Method::Refresh, |_| {});
    assert_eq!(code(&r), Some(441));
    // Refresh with LIFETIME 0 deletes.
    let r = t.signed(tuple, "u", Method::Refresh, |b| {
        b.add(&Lifetime(0)).unwrap();
    });
    assert_eq!(
        Message::new_checked(&r[..])
            .unwrap()
            .attribute::<Lifetime>()
            .unwrap(),
        Some(Lifetime(0))
    );
    assert!(t.server.allocations().is_empty());
    let r = t.signed(tuple, "u", Method::Refresh, |_| {});
    assert_eq!(code(&r), Some(437));
}

#[test]
fn allocate_retransmission_gets_the_same_answer() {
    let mut t = T::default();
    let tuple = udp_tuple();
    let request = t.allocate_request(tuple);
    let _ = t.server.handle_client(t.now, tuple, &request);
    // Retransmitted while the relay binds: no answer yet.
    let _ = t.server.handle_client(t.now, tuple, &request);
    assert!(t.server.poll_transmit().is_none());
    let Some(ServerEvent::BindRelay { allocation, .. }) = t.server.poll_event() else {
        panic!()
    };
    assert!(t.server.poll_event().is_none(), "one allocation only");
    t.server.relay_bound(
        t.now,
        allocation,
        Some("192.0.2.1:50001".parse().unwrap()),
        None,
    );
    let first = t.server.poll_transmit().unwrap().contents;
    let again = t.send(tuple, &request);
    assert_eq!(first, again);
}

#[test]
fn channel_bind_rules() {
    let mut t = T::default();
    let tuple = udp_tuple();
    t.allocated(tuple, "192.0.2.1:50000");
    let peer: SocketAddr = "203.0.113.1:1000".parse().unwrap();
    let peer2: SocketAddr = "203.0.113.2:1000".parse().unwrap();
    let bind = |t: &mut T, n: u16, p: SocketAddr| {
        t.signed(tuple, "u", Method::ChannelBind, |b| {
            b.add(&ChannelNumber(n)).unwrap();
            b.add(&XorPeerAddress(p)).unwrap();
        })
    };
    assert_eq!(code(&bind(&mut t, 0x3FFF, peer)), Some(400));
    assert_eq!(code(&bind(&mut t, 0x8000, peer)), Some(400));
    assert_eq!(code(&bind(&mut t, 0x4000, peer)), None);
    assert_eq!(code(&bind(&mut t, 0x4000, peer)), None, "refresh");
    assert_eq!(
        code(&bind(&mut t, 0x4000, peer2)),
        Some(400),
        "number taken"
    );
    assert_eq!(code(&bind(&mut t, 0x4001, peer)), Some(400), "peer taken");
    let r = t.signed(tuple, "u", Method::ChannelBind, |b| {
        b.add(&ChannelNumber(0x4002)).unwrap();
    });
    assert_eq!(code(&r), Some(400), "no peer");
    assert_eq!(
        code(&bind(&mut t, 0x4003, "[2001:db8::1]:5".parse().unwrap())),
        Some(443)
    );
    assert_eq!(
        code(&bind(&mut t, 0x4004, "127.0.0.1:5".parse().unwrap())),
        Some(403)
    );

    // After expiry the number stays reserved to its peer for 5 minutes; the peer may take
    // another number meanwhile.
    let r = t.signed(tuple, "u", Method::Refresh, |b| {
        b.add(&Lifetime(3600)).unwrap();
    });
    assert_eq!(code(&r), None);
    t.now += Duration::from_secs(601);
    t.server.handle_timeout(t.now);
    t.nonce.clear();
    let refresh = t.signed(tuple, "u", Method::Refresh, |_| {});
    assert_eq!(code(&refresh), None);
    assert_eq!(code(&bind(&mut t, 0x4000, peer2)), Some(400));
    assert_eq!(code(&bind(&mut t, 0x4005, peer)), None);
    t.now += Duration::from_secs(300);
    t.server.handle_timeout(t.now);
    t.nonce.clear();
    let refresh = t.signed(tuple, "u", Method::Refresh, |_| {});
    assert_eq!(code(&refresh), None);
    assert_eq!(code(&bind(&mut t, 0x4000, peer2)), None);
}

#[test]
fn create_permission_is_all_or_nothing() {
    let mut t = T::default();
    let tuple = udp_tuple();
    t.allocated(tuple, "192.0.2.1:50000");
    let r = t.signed(tuple, "u", Method::CreatePermission, |b| {
        b.add(&XorPeerAddress("203.0.113.1:0".parse().unwrap()))
            .unwrap();
        b.add(&XorPeerAddress("10.0.0.1:0".parse().unwrap()))
            .unwrap();
    });
    assert_eq!(code(&r), Some(403));
    assert!(t.server.allocation(&tuple).unwrap().permissions.is_empty());
    let r = t.signed(tuple, "u", Method::CreatePermission, |b| {
        b.add(&XorPeerAddress("203.0.113.1:0".parse().unwrap()))
            .unwrap();
        b.add(&XorPeerAddress("203.0.113.2:0".parse().unwrap()))
            .unwrap();
    });
    assert_eq!(code(&r), None);
    assert_eq!(t.server.allocation(&tuple).unwrap().permissions.len(), 2);
    let r = t.signed(tuple, "u", Method::CreatePermission, |_| {});
    assert_eq!(code(&r), Some(400));
}

#[test]
fn sha256_password_algorithm() {
    let mut t = T::default();
    let tuple = udp_tuple();
    let r = t.unsigned(tuple, Method::Allocate, |_| {});
    let nonce = Message::new_checked(&r[..])
        .unwrap()
        .attribute::<Nonce<'_>>()
        .unwrap()
        .unwrap()
        .0
        .to_owned();
    let key = IntegrityKey::long_term_with_algorithm(AlgorithmId::SHA256, "u", REALM, "p").unwrap();
    let request = |echo: Vec<PasswordAlgorithm<'static>>| {
        let mut out = Vec::new();
        let mut b = MessageBuilder::new(
            &mut out,
            Class::Request,
            Method::Refresh,
            TransactionId([9; 12]),
        );
        b.add(&Username("u")).unwrap();
        b.add(&Realm(REALM)).unwrap();
        b.add(&Nonce(&nonce)).unwrap();
        b.add(&PasswordAlgorithms(echo)).unwrap();
        b.add(&PasswordAlgorithm::SHA256).unwrap();
        b.add_message_integrity_sha256(&key).unwrap();
        out
    };
    // A tampered echo (downgrade attempt) is 400.
    let r = t.send(tuple, &request(vec![PasswordAlgorithm::SHA256]));
    assert_eq!(code(&r), Some(400));
    // The right echo authenticates (437: no allocation yet), signed with SHA-256.
    let r = t.send(
        tuple,
        &request(vec![PasswordAlgorithm::SHA256, PasswordAlgorithm::MD5]),
    );
    assert_eq!(code(&r), Some(437));
    let m = Message::new_checked(&r[..]).unwrap();
    assert!(m.has_attribute(AttributeType::MESSAGE_INTEGRITY_SHA256));
    assert_eq!(
        m.verify_integrity(&key).unwrap(),
        IntegrityAlgorithm::HmacSha256(32)
    );
}

#[test]
fn send_indications_need_a_permission() {
    let mut t = T::default();
    let tuple = udp_tuple();
    t.allocated(tuple, "192.0.2.1:50000");
    let peer: SocketAddr = "203.0.113.1:1000".parse().unwrap();
    let send = |data: &[u8]| {
        let mut out = Vec::new();
        let mut b = MessageBuilder::new(
            &mut out,
            Class::Indication,
            Method::Send,
            TransactionId([5; 12]),
        );
        b.add(&XorPeerAddress(peer)).unwrap();
        b.add(&oxrtc_stun::Data(data)).unwrap();
        out
    };
    let bytes = send(b"hi");
    assert_eq!(
        t.server.handle_client(t.now, tuple, &bytes),
        ClientOutcome::Dropped
    );
    let r = t.signed(tuple, "u", Method::CreatePermission, |b| {
        b.add(&XorPeerAddress(peer)).unwrap();
    });
    assert_eq!(code(&r), None);
    assert_eq!(
        t.server.handle_client(t.now, tuple, &bytes),
        ClientOutcome::Relay {
            relay: "192.0.2.1:50000".parse().unwrap(),
            peer,
            data: b"hi"
        }
    );
    // From another 5-tuple: no allocation there.
    let other = FiveTuple {
        client: "198.51.100.1:40001".parse().unwrap(),
        ..tuple
    };
    assert_eq!(
        t.server.handle_client(t.now, other, &bytes),
        ClientOutcome::Dropped
    );
    // Garbage and responses are dropped.
    assert_eq!(
        t.server.handle_client(t.now, tuple, &[1, 2, 3]),
        ClientOutcome::Dropped
    );
    assert_eq!(
        t.server.handle_client(t.now, tuple, &[0x40, 0, 0, 9]),
        ClientOutcome::Dropped
    );
}

#[test]
fn shards_share_quotas_reservations_and_nonces() {
    let now = Instant::now();
    let shared = std::sync::Arc::new(SharedLedger::new([7; 32], now));
    let config = ServerConfig {
        realm: REALM.into(),
        users: vec![("u".into(), "p".into())],
        max_allocations_per_user: 2,
        ..Default::default()
    };
    let shard = |seed| T {
        server: Server::shard(
            config.clone(),
            now,
            ChaCha8Rng::seed_from_u64(seed),
            shared.clone(),
        ),
        now,
        nonce: String::new(),
        next: seed as u8 * 100,
    };
    let (mut a, mut b) = (shard(1), shard(2));
    let ta = udp_tuple();
    let tuple = |port: u16| FiveTuple {
        client: SocketAddr::new(ta.client.ip(), port),
        ..ta
    };
    let (tb, tc) = (tuple(40002), tuple(40003));
    let allocate = |t: &mut T, tuple: FiveTuple, f: &dyn Fn(&mut MessageBuilder<'_>)| {
        let request = t.signed_request(tuple, "u", Method::Allocate, |m| {
            m.add(&RequestedTransport::UDP).unwrap();
            f(m);
        });
        assert_eq!(
            t.server.handle_client(t.now, tuple, &request),
            ClientOutcome::Handled
        );
    };

    // EVEN-PORT with the R bit on shard a: the odd port is kept, its token given out.
    allocate(&mut a, ta, &|m| {
        m.add(&oxrtc_stun::EvenPort { reserve: true }).unwrap();
    });
    let Some(ServerEvent::BindRelay {
        allocation,
        reserve_next: true,
        ..
    }) = a.server.poll_event()
    else {
        panic!("no BindRelay with reserve_next")
    };
    let (even, odd) = ("192.0.2.1:50000", "192.0.2.1:50001");
    a.server.relay_bound(
        now,
        allocation,
        Some(even.parse().unwrap()),
        Some(odd.parse().unwrap()),
    );
    let response = a.server.poll_transmit().unwrap().contents;
    let m = Message::new_checked(&response[..]).unwrap();
    let token = m.attribute::<ReservationToken>().unwrap().unwrap();

    // Shard b takes a's nonce and a's token (one use only).
    b.nonce = a.nonce.clone();
    allocate(&mut b, tb, &|m| {
        m.add(&token).unwrap();
    });
    assert!(b.server.poll_transmit().is_none(), "no 438, no error");
    let Some(ServerEvent::BindRelay {
        allocation,
        reserved: Some(reserved),
        ..
    }) = b.server.poll_event()
    else {
        panic!("no BindRelay for the reservation")
    };
    assert_eq!(reserved, odd.parse().unwrap());
    b.server.relay_bound(now, allocation, Some(reserved), None);
    assert_eq!(code(&b.server.poll_transmit().unwrap().contents), None);

    // The user's two allocations are on two shards: a third is refused on either.
    allocate(&mut a, tc, &|_| {});
    assert_eq!(code(&a.server.poll_transmit().unwrap().contents), Some(486));
    assert_eq!(a.server.stats().quota_rejections, 1);
    // Deleting one on b frees room on a; the token was used up (508), and the refused
    // request gave its place back.
    let r = b.signed(tb, "u", Method::Refresh, |m| {
        m.add(&Lifetime(0)).unwrap();
    });
    assert_eq!(code(&r), None);
    allocate(&mut a, tc, &|m| {
        m.add(&token).unwrap();
    });
    assert_eq!(code(&a.server.poll_transmit().unwrap().contents), Some(508));
    allocate(&mut a, tc, &|_| {});
    assert!(a.server.poll_transmit().is_none());
    assert!(matches!(
        a.server.poll_event(),
        Some(ServerEvent::BindRelay { .. })
    ));
}
