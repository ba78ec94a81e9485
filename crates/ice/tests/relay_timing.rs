//! How long the relayed path takes, on the virtual clock: relay-only agents connect within a
//! few round trips (a check through the relay leaves as soon as its TURN permission is
//! installed, permissions are made when remote candidates arrive), an offer/answer exchange
//! does not wait for a STUN retransmission, data flows on Send indications while the
//! channel binds, refreshes never stall a call, and gathering takes the servers' round
//! trips only (sockets that cannot reach a server are not used for it).
//!
//! In the simulator a relay-to-relay hop crosses the network too, so a check between two
//! relayed candidates takes three link delays each way.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use oxrtc_ice::sim::{IcePeer, LinkConfig, Network, RealmId, Simulation};
use oxrtc_ice::{
    AgentConfig, CandidateType, ConnectionState, GatheringState, IceEvent, IceServer, LocalSocket,
    TransportPolicy,
};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const TA: Duration = Duration::from_millis(50);

fn link(latency: Duration) -> LinkConfig {
    LinkConfig {
        latency,
        ..LinkConfig::default()
    }
}

/// Two public peers, both with the relay-only policy, trickling instantly.
fn relay_only(seed: u64, latency: Duration) -> Scenario {
    let mut sc = relay_scenario(
        seed,
        Place::Public,
        Place::Public,
        |t| format!("turn:{t}"),
        |c| c.transport_policy = TransportPolicy::Relay,
        |c| c.transport_policy = TransportPolicy::Relay,
    );
    sc.sim.network_mut().set_link(link(latency));
    sc
}

fn assert_relayed_both_ends(sc: &Scenario) {
    for p in [sc.a, sc.b] {
        let pair = sc.sim.endpoint(p).agent.selected_pair().unwrap();
        assert_eq!(pair.local.typ, CandidateType::Relayed);
        assert_eq!(pair.remote.typ, CandidateType::Relayed);
    }
}

#[test]
fn relay_only_agents_connect_within_a_few_round_trips() {
    // (one-way delay, bound on both connected, bound on both nominated). The round trip to
    // the server is twice the delay: two for the allocation (401, then the signed
    // request), one for the permission, three delays each way for the check.
    for (latency, connected_by, nominated_by) in [
        (5, Duration::from_millis(100), Duration::from_millis(150)),
        (50, Duration::from_millis(600), Duration::from_millis(1000)),
    ] {
        let latency = Duration::from_millis(latency);
        let rtt = latency * 2;
        let mut sc = relay_only(410 + latency.as_millis() as u64, latency);
        assert!(run_connect(&mut sc, Duration::from_secs(5)), "{latency:?}");
        assert_relayed_both_ends(&sc);
        for p in [sc.a, sc.b] {
            let at = first_state(&sc.sim, p, ConnectionState::Connected).unwrap() - sc.start;
            assert!(
                at <= connected_by,
                "{latency:?} links: peer {p} connected after {at:?} ({} RTTs)",
                at.as_secs_f64() / rtt.as_secs_f64()
            );
        }
        let nominated = sc.sim.now() - sc.start;
        assert!(
            nominated <= nominated_by,
            "{latency:?} links: nominated after {nominated:?}"
        );
    }
}

/// The demo's non-trickle offer/answer: A gathers fully and sends its offer; B takes it
/// (credentials, candidates, end-of-candidates), gathers and answers; A applies the answer
/// `answer_delay` after B completed. B's first check reaches A's relay before A knows B
/// (dropped there); A's check then reaches B, whose triggered check follows at the next Ta.
/// Returns when both were connected, from the answer.
fn offer_answer(
    seed: u64,
    latency: Duration,
    answer_delay: Duration,
) -> (Duration, Simulation<IcePeer>) {
    let start = Instant::now();
    let mut net = Network::new(seed, start);
    net.set_link(link(latency));
    let turn = net.add_turn_server(&[("alice", "secret")]);
    let (ha, a_ip) = net.add_host(RealmId::INTERNET);
    let (hb, b_ip) = net.add_host(RealmId::INTERNET);
    let mut sim: Simulation<IcePeer> = Simulation::new(net);
    let config = |controlling| AgentConfig {
        controlling,
        ice_servers: vec![IceServer::turn(format!("turn:{turn}"), "alice", "secret")],
        transport_policy: TransportPolicy::Relay,
        ..AgentConfig::default()
    };
    let a = sim.add(ha, IcePeer::new(config(true), start, seed * 2 + 1));
    let b = sim.add(hb, IcePeer::new(config(false), start, seed * 2 + 2));
    sim.endpoint_mut(a)
        .add_socket(start, LocalSocket::udp(SocketAddr::new(a_ip, 5000)));
    sim.endpoint_mut(b)
        .add_socket(start, LocalSocket::udp(SocketAddr::new(b_ip, 6000)));
    sim.endpoint_mut(a).agent.gather(start);
    let complete = |sim: &mut Simulation<IcePeer>, i: usize| {
        let now = sim.now();
        sim.endpoint_mut(i).collect(now);
        sim.endpoint(i).agent.gathering_state() == GatheringState::Complete
    };
    let limit = start + Duration::from_secs(5);
    assert!(sim.run_until(limit, |s| complete(s, a)));
    // The offer.
    let now = sim.now();
    let creds = sim.endpoint(a).agent.local_credentials().clone();
    let candidates = sim.endpoint(a).agent.local_candidates();
    let pb = &mut sim.endpoint_mut(b).agent;
    pb.set_remote_credentials(now, &creds.ufrag, &creds.pwd)
        .unwrap();
    for c in candidates {
        pb.add_remote_candidate(now, c).unwrap();
    }
    pb.end_of_remote_candidates(now);
    pb.gather(now);
    sim.endpoint_mut(b).collect(now);
    assert!(sim.run_until(limit, |s| complete(s, b)));
    // The answer.
    let answered = sim.now() + answer_delay;
    sim.run_until(answered, |_| false);
    let now = sim.now();
    let creds = sim.endpoint(b).agent.local_credentials().clone();
    let candidates = sim.endpoint(b).agent.local_candidates();
    let pa = &mut sim.endpoint_mut(a).agent;
    pa.set_remote_credentials(now, &creds.ufrag, &creds.pwd)
        .unwrap();
    for c in candidates {
        pa.add_remote_candidate(now, c).unwrap();
    }
    pa.end_of_remote_candidates(now);
    sim.endpoint_mut(a).collect(now);
    let connected = sim.run_until(start + Duration::from_secs(10), |sim| {
        [a, b]
            .iter()
            .all(|&p| self::connected(sim.endpoint(p).agent.connection_state()))
    });
    assert!(connected);
    (sim.now() - now, sim)
}

#[test]
fn offer_answer_through_relays_does_not_wait_for_a_retransmission() {
    // Before: the CreatePermission for a check sat in the relay until the next input, so
    // both first checks were dropped and the pair waited for the 500 ms retransmission
    // (about 500 ms after the answer on every link below). Now: the dropped first check is
    // replaced by a triggered check at the next Ta, or never dropped at all.
    for (latency, delay) in [
        (Duration::from_micros(50), Duration::from_millis(1)), // loopback, as in the demo
        (Duration::from_millis(5), Duration::from_millis(1)),
        (Duration::from_millis(50), Duration::from_millis(1)),
    ] {
        let rtt = latency * 2;
        let (took, sim) = offer_answer(420, latency, delay);
        assert!(
            took <= TA + rtt * 6,
            "{latency:?} links: both connected {took:?} after the answer"
        );
        for p in [0, 1] {
            let events = &sim.endpoint(p).events;
            assert!(
                !events
                    .iter()
                    .any(|(_, e)| *e == IceEvent::ConnectionStateChange(ConnectionState::Failed)),
                "peer {p} reported failed before its candidates were gathered: {events:?}"
            );
        }
    }
}

/// Whether a datagram for the TURN server is a Send indication (STUN class indication,
/// method Send: type 0x0016) or ChannelData (first byte 0x40-0x4f).
fn framing(contents: &[u8]) -> &'static str {
    match contents {
        [0x00, 0x16, ..] => "send",
        [0x40..=0x4f, ..] => "channel",
        _ => "other",
    }
}

/// Sends `data` from peer `from` through the agent straight onto the network; returns the
/// framing used and when the other peer got it.
fn send_and_time(
    sc: &mut Scenario,
    from: usize,
    to: usize,
    data: &[u8],
) -> (&'static str, Duration) {
    let now = sc.sim.now();
    let t = sc.sim.endpoint_mut(from).agent.send(now, data).unwrap();
    let kind = framing(&t.contents);
    let host = sc.sim.host(from).unwrap();
    sc.sim.network_mut().send(host, t);
    let before = sc.sim.endpoint(to).received.len();
    let got = sc.sim.run_until(now + Duration::from_secs(1), |sim| {
        sim.endpoint(to).received[before..]
            .iter()
            .any(|(_, d)| d == data)
    });
    assert!(got, "{kind} datagram lost");
    (kind, sc.sim.now() - now)
}

#[test]
fn data_flows_on_send_indications_while_the_channel_binds() {
    let latency = Duration::from_millis(5);
    // Client to server, relay to relay, server to client.
    let one_way = latency * 3;
    let mut sc = relay_only(430, latency);
    let (a, b) = (sc.a, sc.b);
    // Stop the moment A has a pair to send on: its ChannelBind has just left.
    let limit = sc.start + Duration::from_secs(2);
    assert!(sc.sim.run_until(limit, |sim| {
        IcePeer::trickle(sim, a, b);
        sim.endpoint(a).agent.selected_pair().is_some()
    }));
    let (kind, took) = send_and_time(&mut sc, a, b, &packet(a, 1));
    assert_eq!(kind, "send", "the channel cannot be bound yet");
    assert!(took <= one_way, "first packet took {took:?}");
    // One round trip later the channel is bound: 4-byte headers from then on.
    sc.sim.run_for(latency * 2);
    let (kind, took) = send_and_time(&mut sc, a, b, &packet(a, 2));
    assert_eq!(kind, "channel");
    assert!(took <= one_way, "channel data took {took:?}");
    assert!(run_connect(&mut sc, Duration::from_secs(2)));
    let (kind, took) = send_and_time(&mut sc, b, a, &packet(b, 3));
    assert_eq!(kind, "channel");
    assert!(took <= one_way, "channel data took {took:?}");
}

#[test]
fn a_relayed_call_never_stalls_across_refreshes() {
    // 11 minutes: permissions are refreshed at 240 s and 480 s, the channel and the
    // allocation at 540 s, consent every ~5 s. A packet every 50 ms each way must arrive,
    // each within one path delay of being sent.
    let latency = Duration::from_millis(5);
    let interval = Duration::from_millis(50);
    let mut sc = relay_only(440, latency);
    assert!(run_connect(&mut sc, Duration::from_secs(2)));
    assert_relayed_both_ends(&sc);
    let (a, b) = (sc.a, sc.b);
    let duration = Duration::from_secs(660);
    let sent = (duration.as_millis() / interval.as_millis()) as usize;
    let got = pump(&mut sc.sim, a, b, duration, interval, |_| {});
    for (side, (seqs, gap)) in got.iter().enumerate() {
        assert_eq!(seqs.len(), sent, "side {side} lost packets");
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "side {side}: out of order or duplicated"
        );
        assert!(
            *gap <= interval + latency * 3,
            "side {side}: longest gap {gap:?}"
        );
    }
    assert!(connected(state(&sc.sim, a)) && connected(state(&sc.sim, b)));
}

#[test]
fn gathering_takes_the_servers_round_trips_only() {
    // A host with a loopback socket (which reaches nothing off the host) next to its
    // routable one, and the TURN server listed twice under two spellings. Before: the
    // loopback socket asked the STUN server and the TURN server too, waited ~12 s for the
    // timeouts (gathering stayed "gathering", then two server errors), and the duplicate
    // entry made a second allocation (two relayed candidates).
    let latency = Duration::from_millis(5);
    let rtt = latency * 2;
    let mut sc = relay_scenario(
        450,
        Place::Behind(oxrtc_ice::sim::NatType::FullCone),
        Place::Public,
        |t| format!("turn:{t}"),
        |c| {
            c.include_loopback = true;
            let dup = c.ice_servers.last().unwrap().clone();
            let url = format!("{}?transport=udp", dup.urls[0]);
            c.ice_servers.push(IceServer::turn(url, "alice", "secret"));
        },
        |_| {},
    );
    sc.sim.network_mut().set_link(link(latency));
    let a = sc.a;
    let start = sc.start;
    sc.sim
        .endpoint_mut(a)
        .add_socket(start, LocalSocket::udp("127.0.0.1:5000".parse().unwrap()));
    let done = sc.sim.run_until(start + Duration::from_secs(30), |sim| {
        sim.endpoint(a).agent.gathering_state() == GatheringState::Complete
    });
    assert!(done);
    let events = &sc.sim.endpoint(a).events;
    let when = |typ: CandidateType| -> Vec<Duration> {
        events
            .iter()
            .filter_map(|(t, e)| match e {
                IceEvent::LocalCandidate(c) if c.typ == typ => Some(*t - start),
                _ => None,
            })
            .collect()
    };
    // The server-reflexive candidate after one round trip (the STUN answer; the TURN
    // server's mapped address is the same one), the relayed one after two.
    assert_eq!(when(CandidateType::ServerReflexive), vec![rtt]);
    assert_eq!(when(CandidateType::Relayed), vec![rtt * 2], "{events:?}");
    assert_eq!(sc.sim.now() - start, rtt * 2, "gathering complete");
    assert!(
        !events
            .iter()
            .any(|(_, e)| matches!(e, IceEvent::ServerError { .. })),
        "{events:?}"
    );
}

#[test]
fn a_refused_permission_fails_its_pair_at_once() {
    // A TURN server that does not relay to private addresses (as deployed servers are
    // configured): A, relay-only, pairs its relayed candidate with B's private host
    // candidate (the best pair) and B's server-reflexive one. The server refuses the
    // permission for the private one (403): that pair fails then, instead of retransmitting
    // its check for 9 s while nomination waits out its 1 s timeout for it.
    let latency = Duration::from_millis(5);
    let start = Instant::now();
    let mut net = Network::new(460, start);
    net.set_link(link(latency));
    let stun = net.add_stun_server();
    let turn_ip = net.new_address(RealmId::INTERNET);
    let turn = SocketAddr::new(turn_ip, 3478);
    let config = oxrtc_turn::ServerConfig {
        users: vec![("alice".to_owned(), "secret".to_owned())],
        ..oxrtc_turn::ServerConfig::default()
    };
    let relay = oxrtc_ice::sim::TurnRelay::with_config(turn, config, start, 7);
    net.add_server(RealmId::INTERNET, &[turn_ip], Box::new(relay));
    let (ha, a_ip) = net.add_host(RealmId::INTERNET);
    let (_, home) = net.add_nat(oxrtc_ice::sim::NatType::FullCone, RealmId::INTERNET);
    let (hb, b_ip) = net.add_host(home);
    let mut sim: Simulation<IcePeer> = Simulation::new(net);
    let servers = vec![
        IceServer::stun(format!("stun:{stun}")),
        IceServer::turn(format!("turn:{turn}"), "alice", "secret"),
    ];
    let ca = AgentConfig {
        controlling: true,
        ice_servers: servers.clone(),
        transport_policy: TransportPolicy::Relay,
        ..AgentConfig::default()
    };
    let cb = AgentConfig {
        controlling: false,
        ice_servers: servers,
        ..AgentConfig::default()
    };
    let a = sim.add(ha, IcePeer::new(ca, start, 921));
    let b = sim.add(hb, IcePeer::new(cb, start, 922));
    sim.endpoint_mut(a)
        .add_socket(start, LocalSocket::udp(SocketAddr::new(a_ip, 5000)));
    sim.endpoint_mut(b)
        .add_socket(start, LocalSocket::udp(SocketAddr::new(b_ip, 6000)));
    IcePeer::exchange_credentials(&mut sim, a, b);
    sim.endpoint_mut(a).agent.gather(start);
    sim.endpoint_mut(b).agent.gather(start);
    let nominated = sim.run_until(start + Duration::from_secs(5), |sim| {
        IcePeer::trickle(sim, a, b);
        [a, b].iter().all(|&p| {
            sim.endpoint(p)
                .agent
                .selected_pair()
                .is_some_and(|s| s.nominated)
        })
    });
    assert!(nominated);
    let pair = sim.endpoint(a).agent.selected_pair().unwrap();
    assert_eq!(pair.local.typ, CandidateType::Relayed);
    assert_eq!(pair.remote.typ, CandidateType::ServerReflexive);
    let took = sim.now() - start;
    assert!(
        took < Duration::from_millis(300),
        "nominated after {took:?}: the refused pair held nomination back"
    );
}

#[test]
fn a_permission_refresh_that_went_unanswered_is_asked_again() {
    // A's link is down from just before its permission refresh (240 s) until after the
    // refresh transaction gave up (39.5 s later); consent is given 90 s here so the call
    // outlives the outage. The permission must be asked for again, or no data leaves A's
    // relay once the link is back.
    let latency = Duration::from_millis(5);
    let mut sc = relay_scenario(
        470,
        Place::Public,
        Place::Public,
        |t| format!("turn:{t}"),
        |c| {
            c.transport_policy = TransportPolicy::Relay;
            c.consent_timeout = Duration::from_secs(90);
        },
        |c| {
            c.transport_policy = TransportPolicy::Relay;
            c.consent_timeout = Duration::from_secs(90);
        },
    );
    sc.sim.network_mut().set_link(link(latency));
    assert!(run_connect(&mut sc, Duration::from_secs(2)));
    let (a, b) = (sc.a, sc.b);
    let host_a = sc.sim.host(a).unwrap();
    sc.sim
        .run_until(sc.start + Duration::from_secs(235), |_| false);
    sc.sim.network_mut().set_host_link(host_a, LinkConfig::DOWN);
    sc.sim
        .run_until(sc.start + Duration::from_secs(285), |_| false);
    sc.sim.network_mut().set_host_link(host_a, LinkConfig::NONE);
    // Back: within a few seconds (the disconnected pair is checked every second) data
    // flows both ways again, also past 300 s, when the permission would have expired on
    // the server (the channel, which works without it on the client, is only refreshed at
    // 540 s).
    for at in [290, 310] {
        sc.sim
            .run_until(sc.start + Duration::from_secs(at), |_| false);
        data_both_ways(&mut sc);
    }
    assert!(connected(state(&sc.sim, a)) && connected(state(&sc.sim, b)));
}

fn data_both_ways(sc: &mut Scenario) {
    let (a, b) = (sc.a, sc.b);
    for n in 0..3 {
        assert!(
            data_flows(&mut sc.sim, a, b, &packet(a, n), Duration::from_millis(100)),
            "a -> b after the outage"
        );
        assert!(
            data_flows(&mut sc.sim, b, a, &packet(b, n), Duration::from_millis(100)),
            "b -> a after the outage"
        );
    }
}
