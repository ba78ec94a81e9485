//! Address families, loopback, and ICE servers given by host name (resolved through the
//! runtime).
#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use oxrtc_ice::sim::{IcePeer, Network, RealmId, Simulation};
use oxrtc_ice::{
    Agent, AgentConfig, CandidateType, ConnectionState, Datagram, IceEvent, IceServer, LocalSocket,
};
use rand_chacha::rand_core::SeedableRng;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

#[test]
fn dual_stack_prefers_ipv6() {
    let start = Instant::now();
    let mut net = Network::new(81, start);
    let (ha, a4) = net.add_host(RealmId::INTERNET);
    let (hb, b4) = net.add_host(RealmId::INTERNET);
    let a6: IpAddr = "2001:db8::a".parse().unwrap();
    let b6: IpAddr = "2001:db8::b".parse().unwrap();
    net.add_interface_with_ip(ha, RealmId::INTERNET, a6);
    net.add_interface_with_ip(hb, RealmId::INTERNET, b6);
    let mut sim = Simulation::new(net);
    let a = sim.add(ha, IcePeer::new(AgentConfig::default(), start, 1));
    let b = sim.add(
        hb,
        IcePeer::new(
            AgentConfig {
                controlling: false,
                ..AgentConfig::default()
            },
            start,
            2,
        ),
    );
    for (p, ips) in [(a, [a4, a6]), (b, [b4, b6])] {
        for ip in ips {
            sim.endpoint_mut(p)
                .add_socket(start, LocalSocket::udp(SocketAddr::new(ip, 5000)));
        }
    }
    IcePeer::exchange_credentials(&mut sim, a, b);
    sim.endpoint_mut(a).agent.gather(start);
    sim.endpoint_mut(b).agent.gather(start);
    let ok = sim.run_until(start + Duration::from_secs(5), |sim| {
        IcePeer::trickle(sim, a, b);
        [a, b]
            .iter()
            .all(|&p| sim.endpoint(p).agent.connection_state() == ConnectionState::Completed)
    });
    assert!(ok);
    // Pairs only within a family; the IPv6 one has the higher priority and wins.
    assert_eq!(sim.endpoint(a).agent.pair_count(), 2);
    let pair = sim.endpoint(a).agent.selected_pair().unwrap();
    assert_eq!(pair.destination, SocketAddr::new(b6, 5000));
    assert_eq!(pair.source, SocketAddr::new(a6, 5000));
}

#[test]
fn loopback_when_included() {
    let mut now = Instant::now();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(82);
    let config = |controlling| AgentConfig {
        controlling,
        include_loopback: true,
        ..AgentConfig::default()
    };
    let mut a = Agent::new(config(true), now, &mut rng);
    let mut b = Agent::new(config(false), now, &mut rng);
    let (la, lb): (SocketAddr, SocketAddr) = (
        "127.0.0.1:5000".parse().unwrap(),
        "127.0.0.1:5001".parse().unwrap(),
    );
    a.add_host_socket(now, la).unwrap();
    b.add_host_socket(now, lb).unwrap();
    let (ca, cb) = (a.local_credentials().clone(), b.local_credentials().clone());
    a.set_remote_credentials(now, &cb.ufrag, &cb.pwd).unwrap();
    b.set_remote_credentials(now, &ca.ufrag, &ca.pwd).unwrap();
    a.gather(now);
    b.gather(now);
    for _ in 0..50 {
        let mut moved = true;
        while moved {
            moved = false;
            while let Some(e) = a.poll_event() {
                if let IceEvent::LocalCandidate(c) = e {
                    assert_eq!(c.typ, CandidateType::Host);
                    b.add_remote_candidate(now, c).unwrap();
                }
            }
            while let Some(e) = b.poll_event() {
                if let IceEvent::LocalCandidate(c) = e {
                    a.add_remote_candidate(now, c).unwrap();
                }
            }
            while let Some(t) = a.poll_transmit() {
                assert_eq!(t.destination, lb);
                let _ = b.handle_receive(now, Datagram::udp(t.destination, t.source, &t.contents));
                moved = true;
            }
            while let Some(t) = b.poll_transmit() {
                let _ = a.handle_receive(now, Datagram::udp(t.destination, t.source, &t.contents));
                moved = true;
            }
        }
        if let Some(t) = [a.poll_timeout(), b.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
        {
            now = now.max(t);
        }
        a.handle_timeout(now);
        b.handle_timeout(now);
    }
    assert!(a.selected_pair().unwrap().nominated);
    assert_eq!(b.selected_pair().unwrap().destination, la);
}

#[test]
fn server_host_names_are_resolved_by_the_runtime() {
    let mut sc = relay_scenario(
        83,
        Place::Behind(oxrtc_ice::sim::NatType::Symmetric),
        Place::Behind(oxrtc_ice::sim::NatType::Symmetric),
        |_| "turn:turn.example.org:3478".into(),
        |c| {
            c.ice_servers
                .push(IceServer::stun("stun:nowhere.example.org"))
        },
        |_| {},
    );
    // Both know the TURN server by name only; A also has a STUN server whose name does not
    // resolve.
    let turn = sc.turn.unwrap();
    let (a, b) = (sc.a, sc.b);
    let mut asked = Vec::new();
    let ok = sc.sim.run_until(sc.start + Duration::from_secs(10), |sim| {
        let now = sim.now();
        for (from, to) in [(a, b), (b, a)] {
            for e in sim.endpoint_mut(from).take_events(now) {
                match e {
                    IceEvent::LocalCandidate(c) => {
                        let _ = sim.endpoint_mut(to).agent.add_remote_candidate(now, c);
                    }
                    IceEvent::Resolve { name } => {
                        let addrs: Vec<IpAddr> = if name == "turn.example.org" {
                            vec![turn.ip()]
                        } else {
                            vec![]
                        };
                        asked.push(name.clone());
                        sim.endpoint_mut(from)
                            .agent
                            .handle_resolved(now, &name, &addrs);
                        sim.endpoint_mut(from).collect(now);
                    }
                    _ => {}
                }
            }
        }
        [a, b].iter().all(|&p| {
            sim.endpoint(p)
                .agent
                .selected_pair()
                .is_some_and(|s| s.nominated)
        })
    });
    assert!(ok);
    asked.sort();
    asked.dedup();
    assert_eq!(asked, ["nowhere.example.org", "turn.example.org"]);
    let events: Vec<_> = sc
        .sim
        .endpoint(a)
        .events
        .iter()
        .map(|(_, e)| e.clone())
        .collect();
    assert!(events.iter().any(
        |e| matches!(e, IceEvent::ServerError { url, code: 701, .. } if url.contains("nowhere"))
    ));
    assert!(events
        .iter()
        .any(|e| matches!(e, IceEvent::LocalCandidate(c) if c.typ == CandidateType::Relayed)));
}
