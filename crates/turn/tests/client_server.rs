//! The full client/server exchange in memory on a virtual clock: allocation, permissions,
//! channels, data both ways, expiry, stale nonces, quotas, denied peers, TURN REST
//! credentials, TCP framing and RFC 6062 TCP allocations.

#![allow(clippy::unwrap_used)]

mod sim;

use std::time::Duration;

use oxrtc_stun::{AddressFamily, ChannelNumber, ConnectionId};
use oxrtc_turn::*;
use sim::{addr, Sim, PASS, USER};

const PEER: &str = "203.0.113.5:7000";

#[test]
fn full_exchange_send_indications_and_channels() {
    let mut sim = Sim::new(Sim::config());
    let c = sim.add_client("198.51.100.1:40000", TurnTransport::Udp);
    let relay = sim.allocate(c);
    let peer = addr(PEER);

    // Send indications: the permission is created on the fly, data waits for it.
    let now = sim.now;
    sim.client(c).send_to(now, peer, b"one").unwrap();
    sim.client(c).send_to(now, peer, b"two").unwrap();
    sim.run();
    assert_eq!(
        sim.take_events(c),
        [Event::PermissionCreated { peer: peer.ip() }]
    );
    assert_eq!(
        sim.peer_inbox,
        [
            (peer, relay, b"one".to_vec()),
            (peer, relay, b"two".to_vec())
        ]
    );

    // The peer answers: a Data indication.
    assert!(sim.peer_send(peer, relay, b"back"));
    assert_eq!(
        sim.take_events(c),
        [Event::Data {
            peer,
            data: b"back".to_vec()
        }]
    );
    // Another port of the same IP is covered by the permission.
    let peer2 = addr("203.0.113.5:7001");
    assert!(sim.peer_send(peer2, relay, b"p2"));
    // Another IP is not.
    assert!(!sim.peer_send(addr("203.0.113.6:7000"), relay, b"no"));

    // A channel: from now on ChannelData both ways.
    let now = sim.now;
    let ch = sim.client(c).bind_channel(now, peer).unwrap();
    sim.run();
    let events = sim.take_events(c);
    assert!(events.contains(&Event::ChannelBound { peer, channel: ch }));
    let info = sim.server.allocation(&sim.tuple(c)).unwrap();
    assert_eq!(info.channels, [(ch, peer)]);
    sim.peer_inbox.clear();
    let now = sim.now;
    sim.client(c).send_to(now, peer, b"over channel").unwrap();
    sim.run();
    assert_eq!(sim.peer_inbox, [(peer, relay, b"over channel".to_vec())]);
    let mut out = Vec::new();
    let to = sim
        .server
        .handle_peer(sim.now, relay, peer, b"cd back", &mut out)
        .unwrap();
    assert_eq!(to, sim.tuple(c));
    assert!(is_channel_data(&out), "bound peers get ChannelData");
    let stats = sim.stats();
    assert_eq!(stats.packets_to_peers, 3);
    assert_eq!(stats.allocations, 1);
}

#[test]
fn allocation_expires_when_the_client_stops_refreshing() {
    let mut sim = Sim::new(Sim::config());
    let c = sim.add_client("198.51.100.1:40000", TurnTransport::Udp);
    let relay = sim.allocate(c);
    // A live client keeps it for an hour.
    sim.advance(Duration::from_secs(3600));
    assert!(sim.server.allocation(&sim.tuple(c)).is_some());
    assert!(sim
        .take_events(c)
        .iter()
        .all(|e| matches!(e, Event::Refreshed { .. })));

    // A crashed client: gone after its 600 s lifetime, the relay released.
    sim.clients.get_mut(&c).unwrap().frozen = true;
    let expires = sim.server.allocation(&sim.tuple(c)).unwrap().expires;
    let left = expires - sim.now;
    assert!(left > Duration::from_secs(60) && left <= Duration::from_secs(600));
    sim.advance(left - Duration::from_secs(1));
    assert!(sim.server.allocation(&sim.tuple(c)).is_some());
    sim.advance(Duration::from_secs(2));
    assert!(sim.server.allocation(&sim.tuple(c)).is_none());
    assert!(!sim.relays.contains_key(&relay));
    assert!(sim
        .server_events
        .iter()
        .any(|e| matches!(e, ServerEvent::ReleaseRelay { relay: Some(r), .. } if *r == relay)));
    assert_eq!(sim.stats().allocations, 0);

    // The client wakes up: its refresh gets 437 and it learns the allocation is gone.
    sim.clients.get_mut(&c).unwrap().frozen = false;
    sim.advance(Duration::from_secs(1));
    assert!(sim.take_events(c).contains(&Event::Expired));
    assert!(sim.client(c).is_closed());
}

#[test]
fn permissions_and_channels_expire_without_refresh() {
    let mut sim = Sim::new(Sim::config());
    let mut config = ClientConfig::new(sim.server_addr, TurnTransport::Udp, USER, PASS);
    config.lifetime = Some(Duration::from_secs(3600));
    let c = sim.add_client_with("198.51.100.1:40000", config);
    let relay = sim.allocate(c);
    let peer = addr(PEER);
    let other = addr("203.0.113.9:9");
    let now = sim.now;
    sim.client(c).create_permission(now, other.ip()).unwrap();
    let ch = sim.client(c).bind_channel(now, peer).unwrap();
    sim.run();
    let tuple = sim.tuple(c);
    let info = sim.server.allocation(&tuple).unwrap();
    assert_eq!(info.permissions, [peer.ip(), other.ip()]);
    assert_eq!(info.expires, now + Duration::from_secs(3600));

    // Refreshed while the client runs.
    sim.advance(Duration::from_secs(1000));
    assert!(sim.peer_send(other, relay, b"x"));
    assert!(sim.peer_send(peer, relay, b"y"));

    // Freeze the client: its permissions are gone 300 s later at the latest, its channel
    // 600 s later.
    sim.clients.get_mut(&c).unwrap().frozen = true;
    let mut cd = Vec::new();
    write_channel_data(&mut cd, ch, b"via channel", false).unwrap();
    assert!(sim.deliver_to_server(tuple, &cd));
    sim.advance(Duration::from_secs(301));
    assert!(!sim.peer_send(other, relay, b"expired"));
    assert!(!sim.peer_send(peer, relay, b"expired"));
    assert!(sim
        .server
        .allocation(&tuple)
        .unwrap()
        .permissions
        .is_empty());
    assert!(
        !sim.deliver_to_server(tuple, &cd),
        "no permission, no relaying"
    );
    sim.advance(Duration::from_secs(300));
    assert!(sim.server.allocation(&tuple).unwrap().channels.is_empty());
    // The allocation itself lives on (3600 s).
    assert!(sim.server.allocation(&tuple).is_some());
}

#[test]
fn stale_nonce_is_retried_transparently() {
    let mut config = Sim::config();
    config.nonce_lifetime = Duration::from_secs(60);
    let mut sim = Sim::new(config);
    let c = sim.add_client("198.51.100.1:40000", TurnTransport::Udp);
    let relay = sim.allocate(c);
    sim.advance(Duration::from_secs(61));
    let errors = sim.stats().error_responses;
    let now = sim.now;
    sim.client(c).send_to(now, addr(PEER), b"late").unwrap();
    sim.run();
    assert_eq!(
        sim.take_events(c),
        [Event::PermissionCreated {
            peer: addr(PEER).ip()
        }]
    );
    assert_eq!(sim.peer_inbox, [(addr(PEER), relay, b"late".to_vec())]);
    assert_eq!(sim.stats().error_responses, errors + 1, "one 438");
    assert_eq!(sim.stats().auth_failures, 0);
}

#[test]
fn quotas_per_user_and_in_total() {
    let mut config = Sim::config();
    config.max_allocations_per_user = 1;
    config.max_allocations = 2;
    config.users.push(("bob".into(), "b".into()));
    config.users.push(("carol".into(), "c".into()));
    let mut sim = Sim::new(config);
    let a1 = sim.add_client("198.51.100.1:40000", TurnTransport::Udp);
    sim.allocate(a1);
    let a2 = sim.add_client("198.51.100.1:40001", TurnTransport::Udp);
    let now = sim.now;
    sim.client(a2).allocate(now).unwrap();
    sim.run();
    assert_eq!(
        sim.take_events(a2),
        [Event::AllocationFailed(Error::Response(
            ResponseError::AllocationQuotaReached
        ))]
    );
    let b = sim.add_client_with(
        "198.51.100.2:40000",
        ClientConfig::new(sim.server_addr, TurnTransport::Udp, "bob", "b"),
    );
    sim.allocate(b);
    let carol = sim.add_client_with(
        "198.51.100.3:40000",
        ClientConfig::new(sim.server_addr, TurnTransport::Udp, "carol", "c"),
    );
    let now = sim.now;
    sim.client(carol).allocate(now).unwrap();
    sim.run();
    assert_eq!(
        sim.take_events(carol),
        [Event::AllocationFailed(Error::Response(
            ResponseError::AllocationQuotaReached
        ))]
    );
    assert_eq!(sim.stats().quota_rejections, 2);

    // Deallocating frees the user's slot.
    let now = sim.now;
    sim.client(a1).deallocate(now).unwrap();
    sim.run();
    assert_eq!(sim.take_events(a1), [Event::Deallocated]);
    let a3 = sim.add_client("198.51.100.1:40002", TurnTransport::Udp);
    sim.allocate(a3);
}

#[test]
fn denied_peers_are_refused_and_never_relayed() {
    let mut sim = Sim::new(Sim::config());
    let c = sim.add_client("198.51.100.1:40000", TurnTransport::Udp);
    let relay = sim.allocate(c);
    let now = sim.now;
    for ip in ["127.0.0.1", "10.0.0.1", "192.168.1.1", "169.254.0.1"] {
        sim.client(c)
            .create_permission(now, ip.parse().unwrap())
            .unwrap();
    }
    let loopback = addr("127.0.0.1:5000");
    sim.client(c).bind_channel(now, loopback).unwrap();
    sim.client(c)
        .send_to(now, addr("172.16.0.1:1"), b"x")
        .unwrap();
    sim.run();
    let events = sim.take_events(c);
    let forbidden = Error::Response(ResponseError::Forbidden);
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, Event::PermissionFailed { error, .. } if *error == forbidden))
            .count(),
        5
    );
    assert!(events.contains(&Event::ChannelBindFailed {
        peer: loopback,
        error: forbidden.clone()
    }));
    assert!(sim.peer_inbox.is_empty());
    assert_eq!(sim.stats().denied_peers, 6);
    assert!(!sim.peer_send(loopback, relay, b"in"));

    // Allowed explicitly (as tests on loopback need).
    let mut config = Sim::config();
    config.peer_filter.allow_loopback = true;
    let mut sim = Sim::new(config);
    let c = sim.add_client("198.51.100.1:40000", TurnTransport::Udp);
    let relay = sim.allocate(c);
    let now = sim.now;
    sim.client(c).send_to(now, loopback, b"ok").unwrap();
    sim.run();
    assert_eq!(sim.peer_inbox, [(loopback, relay, b"ok".to_vec())]);
}

#[test]
fn wrong_password_and_unknown_user_fail_with_401() {
    let mut sim = Sim::new(Sim::config());
    for (user, pass) in [(USER, "wrong"), ("mallory", PASS)] {
        let c = sim.add_client_with(
            "198.51.100.1:40000",
            ClientConfig::new(sim.server_addr, TurnTransport::Udp, user, pass),
        );
        let now = sim.now;
        sim.client(c).allocate(now).unwrap();
        sim.run();
        assert_eq!(
            sim.take_events(c),
            [Event::AllocationFailed(Error::Response(
                ResponseError::Unauthorized
            ))]
        );
    }
    assert_eq!(sim.stats().auth_failures, 2);
    assert_eq!(sim.stats().allocations, 0);
}

#[test]
fn turn_rest_credentials_until_their_expiry() {
    let mut config = Sim::config();
    config.auth_secret = Some("s3cret".into());
    let mut sim = Sim::new(config);
    let now = sim.now;
    sim.server.set_unix_time(now, 1_700_000_000);
    let username = "1700000100:dave";
    let password = rest_password("s3cret", username);
    let c = sim.add_client_with(
        "198.51.100.1:40000",
        ClientConfig::new(sim.server_addr, TurnTransport::Udp, username, &password),
    );
    sim.allocate(c);
    assert_eq!(
        sim.server.allocation(&sim.tuple(c)).unwrap().username,
        username
    );

    // 101 s later the credential has expired: a new allocation is refused.
    sim.advance(Duration::from_secs(101));
    let c2 = sim.add_client_with(
        "198.51.100.1:40001",
        ClientConfig::new(sim.server_addr, TurnTransport::Udp, username, &password),
    );
    let now = sim.now;
    sim.client(c2).allocate(now).unwrap();
    sim.run();
    assert_eq!(
        sim.take_events(c2),
        [Event::AllocationFailed(Error::Response(
            ResponseError::Unauthorized
        ))]
    );
    // A forged password never works.
    let c3 = sim.add_client_with(
        "198.51.100.1:40002",
        ClientConfig::new(
            sim.server_addr,
            TurnTransport::Udp,
            "1800000000:dave",
            &password,
        ),
    );
    let now = sim.now;
    sim.client(c3).allocate(now).unwrap();
    sim.run();
    assert!(matches!(
        sim.take_events(c3)[..],
        [Event::AllocationFailed(_)]
    ));
}

#[test]
fn md5_only_server_and_lost_allocate_response() {
    let mut config = Sim::config();
    config.password_algorithms = false;
    let mut sim = Sim::new(config);
    let c = sim.add_client("198.51.100.1:40000", TurnTransport::Udp);
    // Lose the 401 and then the success response: retransmissions recover, and the
    // retransmitted Allocate gets the cached answer, not 437.
    sim.clients.get_mut(&c).unwrap().lose_from_server = 1;
    let now = sim.now;
    sim.client(c).allocate(now).unwrap();
    sim.run();
    sim.advance(Duration::from_millis(500));
    sim.clients.get_mut(&c).unwrap().lose_from_server = 1;
    sim.advance(Duration::from_millis(1000));
    assert!(matches!(sim.take_events(c)[..], [Event::Allocated { .. }]));
    assert_eq!(sim.stats().allocations_total, 1);
}

#[test]
fn relay_bind_failure_is_508() {
    let mut sim = Sim::new(Sim::config());
    sim.relay_bind_fails = true;
    let c = sim.add_client("198.51.100.1:40000", TurnTransport::Udp);
    let now = sim.now;
    sim.client(c).allocate(now).unwrap();
    sim.run();
    assert_eq!(
        sim.take_events(c),
        [Event::AllocationFailed(Error::Response(
            ResponseError::InsufficientCapacity
        ))]
    );
    assert_eq!(sim.stats().allocations, 0);
}

#[test]
fn ipv6_relays_only_where_configured() {
    let mut sim = Sim::new(Sim::config());
    let mut config = ClientConfig::new(sim.server_addr, TurnTransport::Udp, USER, PASS);
    config.requested_family = Some(AddressFamily::IPv6);
    let c = sim.add_client_with("198.51.100.1:40000", config.clone());
    let now = sim.now;
    sim.client(c).allocate(now).unwrap();
    sim.run();
    assert_eq!(
        sim.take_events(c),
        [Event::AllocationFailed(Error::Response(
            ResponseError::AddressFamilyNotSupported
        ))]
    );

    let mut server = Sim::config();
    server.ipv6_relay = true;
    let mut sim = Sim::new(server);
    let c = sim.add_client_with("198.51.100.1:40000", config);
    let relay = sim.allocate(c);
    assert!(relay.is_ipv6());
    let peer6 = addr("[2001:db8:1::7]:5000");
    let now = sim.now;
    sim.client(c).send_to(now, peer6, b"v6").unwrap();
    sim.run();
    assert_eq!(sim.peer_inbox, [(peer6, relay, b"v6".to_vec())]);
}

#[test]
fn bandwidth_quota_drops_the_excess() {
    let mut config = Sim::config();
    config.max_bandwidth = Some(100_000);
    let mut sim = Sim::new(config);
    let c = sim.add_client("198.51.100.1:40000", TurnTransport::Udp);
    sim.allocate(c);
    let peer = addr(PEER);
    let now = sim.now;
    sim.client(c).bind_channel(now, peer).unwrap();
    sim.run();
    let chunk = vec![0u8; 1000];
    for _ in 0..200 {
        let now = sim.now;
        sim.client(c).send_to(now, peer, &chunk).unwrap();
    }
    sim.run();
    // A 100 kB burst passes, the rest of the 200 kB is dropped.
    assert_eq!(sim.peer_inbox.len(), 100);
    assert_eq!(sim.stats().bandwidth_drops, 100);
    // A second later the bucket refilled.
    sim.advance(Duration::from_secs(1));
    let now = sim.now;
    sim.client(c).send_to(now, peer, &chunk).unwrap();
    sim.run();
    assert_eq!(sim.peer_inbox.len(), 101);
}

#[test]
fn tcp_transport_frames_and_pads() {
    let mut sim = Sim::new(Sim::config());
    let c = sim.add_client("198.51.100.1:40000", TurnTransport::Tcp);
    let relay = sim.allocate(c);
    let peer = addr(PEER);
    let now = sim.now;
    sim.client(c).bind_channel(now, peer).unwrap();
    sim.run();
    let now = sim.now;
    sim.client(c).send_to(now, peer, b"odd").unwrap();
    sim.client(c).send_to(now, peer, b"lengths").unwrap();
    sim.run();
    assert_eq!(
        sim.peer_inbox,
        [
            (peer, relay, b"odd".to_vec()),
            (peer, relay, b"lengths".to_vec())
        ]
    );
    let mut out = Vec::new();
    sim.server
        .handle_peer(sim.now, relay, peer, b"abcde", &mut out)
        .unwrap();
    assert_eq!(out.len() % 4, 0, "padded on streams");
    assert!(sim.peer_send(peer, relay, b"abcde"));
    assert!(sim.take_events(c).contains(&Event::Data {
        peer,
        data: b"abcde".to_vec()
    }));

    // Closing the TCP connection deletes the allocation.
    let tuple = sim.tuple(c);
    let now = sim.now;
    sim.server.client_disconnected(now, tuple);
    assert!(sim.server.allocation(&tuple).is_none());
}

#[test]
fn rfc6062_connect_and_connection_attempt() {
    let mut sim = Sim::new(Sim::config());
    let c = sim.add_client("198.51.100.1:40000", TurnTransport::Tcp);
    let now = sim.now;
    sim.client(c).allocate_tcp(now).unwrap();
    sim.run();
    let Some(Event::Allocated { relayed, .. }) = sim.take_events(c).first().cloned() else {
        panic!("no tcp allocation");
    };
    assert!(sim.server_events.iter().any(|e| matches!(
        e,
        ServerEvent::BindRelay {
            protocol: RelayProtocol::Tcp,
            ..
        }
    )));
    // UDP data on a TCP allocation goes nowhere.
    let peer = addr(PEER);

    // Outgoing: Connect, then ConnectionBind on a new connection.
    let now = sim.now;
    sim.client(c).connect(now, peer).unwrap();
    sim.run();
    let events = sim.take_events(c);
    let Some(Event::Connected { connection_id, .. }) = events.first().cloned() else {
        panic!("{events:?}");
    };
    // A second Connect to the same peer: 446.
    let now = sim.now;
    sim.client(c).connect(now, peer).unwrap();
    sim.run();
    assert_eq!(
        sim.take_events(c),
        [Event::ConnectFailed {
            peer,
            error: Error::Response(ResponseError::ConnectionAlreadyExists)
        }]
    );
    let data_tuple = bind_data_connection(&mut sim, c, connection_id);
    assert!(sim.server_events.contains(&ServerEvent::Splice {
        connection_id,
        tuple: data_tuple
    }));

    // Incoming: needs a permission.
    let incoming = addr("203.0.113.77:6000");
    assert_eq!(sim.peer_connects(incoming, relayed), None);
    let now = sim.now;
    sim.client(c).create_permission(now, incoming.ip()).unwrap();
    sim.run();
    sim.take_events(c);
    let id = sim.peer_connects(incoming, relayed).unwrap();
    assert_eq!(
        sim.take_events(c),
        [Event::ConnectionAttempt {
            peer: incoming,
            connection_id: id
        }]
    );
    // Not bound within 30 s: the server closes the peer connection.
    sim.advance(Duration::from_secs(31));
    assert!(sim
        .server_events
        .contains(&ServerEvent::ClosePeerConnection { connection_id: id }));

    // A failing Connect is 447.
    sim.peers_accept_tcp = false;
    let now = sim.now;
    sim.client(c).connect(now, addr("203.0.113.8:1")).unwrap();
    sim.run();
    assert_eq!(
        sim.take_events(c),
        [Event::ConnectFailed {
            peer: addr("203.0.113.8:1"),
            error: Error::Response(ResponseError::ConnectionTimeoutOrFailure)
        }]
    );

    // Deleting the allocation closes the spliced connections too.
    let now = sim.now;
    let tuple = sim.tuple(c);
    sim.server.client_disconnected(now, tuple);
    while sim
        .server
        .poll_event()
        .map(|e| sim.server_events.push(e))
        .is_some()
    {}
    assert!(sim
        .server_events
        .contains(&ServerEvent::ClosePeerConnection { connection_id }));
    assert!(sim
        .server_events
        .contains(&ServerEvent::CloseClientConnection { tuple: data_tuple }));
}

/// Runs a data connection for `connection_id` from a new client port; returns its tuple.
fn bind_data_connection(sim: &mut Sim, c: std::net::SocketAddr, id: ConnectionId) -> FiveTuple {
    let now = sim.now;
    let mut d = sim.client(c).connection_bind(now, id).unwrap();
    let tuple = FiveTuple {
        transport: TurnTransport::Tcp,
        client: addr("198.51.100.1:40100"),
        server: sim.server_addr,
    };
    let mut framer = StreamFramer::new();
    for _ in 0..4 {
        while let Some(bytes) = d.poll_transmit() {
            framer.push(&bytes);
            while let Some(f) = framer.next_frame().unwrap() {
                let f = f.as_bytes().to_vec();
                assert_eq!(
                    sim.server.handle_client(now, tuple, &f),
                    ClientOutcome::Handled
                );
            }
        }
        while let Some(t) = sim.server.poll_transmit() {
            assert_eq!(t.tuple, tuple);
            d.handle_stream_data(now, &t.contents).unwrap();
        }
        while let Some(e) = sim.server.poll_event() {
            sim.server_events.push(e);
        }
    }
    assert_eq!(
        d.poll_event(),
        Some(DataConnectionEvent::Bound { peer_data: vec![] })
    );
    tuple
}

#[test]
fn shutdown_releases_everything_and_refuses_new_allocations() {
    let mut sim = Sim::new(Sim::config());
    let a = sim.add_client("198.51.100.1:40000", TurnTransport::Udp);
    let b = sim.add_client("198.51.100.1:40001", TurnTransport::Tcp);
    sim.allocate(a);
    sim.allocate(b);
    let now = sim.now;
    sim.server.shutdown(now);
    sim.run();
    assert!(sim.relays.is_empty());
    assert_eq!(sim.stats().allocations, 0);
    assert!(sim
        .server_events
        .contains(&ServerEvent::CloseClientConnection {
            tuple: sim.tuple(b)
        }));
    let c = sim.add_client("198.51.100.1:40002", TurnTransport::Udp);
    let now = sim.now;
    sim.client(c).allocate(now).unwrap();
    sim.run();
    assert_eq!(
        sim.take_events(c),
        [Event::AllocationFailed(Error::Response(
            ResponseError::InsufficientCapacity
        ))]
    );
}

#[test]
fn channel_rules_on_the_server() {
    let mut sim = Sim::new(Sim::config());
    let c = sim.add_client("198.51.100.1:40000", TurnTransport::Udp);
    sim.allocate(c);
    let peer = addr(PEER);
    let now = sim.now;
    let ch = sim.client(c).bind_channel(now, peer).unwrap();
    assert_eq!(ch, ChannelNumber(0x4000));
    sim.run();
    let info = sim.server.allocation(&sim.tuple(c)).unwrap();
    assert_eq!(info.channels, [(ch, peer)]);
    assert_eq!(info.permissions, [peer.ip()]);
}
