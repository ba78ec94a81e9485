//! Remote mDNS candidates (`*.local`, as browsers send by default) are resolved through the
//! runtime's resolver; unresolvable ones are dropped, not fatal.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use oxrtc_ice::sim::{IcePeer, NatType, RealmId, Simulation};
use oxrtc_ice::{Address, CandidateType, IceEvent, LocalSocket};
use std::time::Duration;

/// A and B on the same LAN; B hides its host candidate behind an mDNS name. `resolve`
/// decides whether A's resolver finds it.
fn run(resolve: bool) -> Scenario {
    let start = std::time::Instant::now();
    let mut net = oxrtc_ice::sim::Network::new(51, start);
    let stun = net.add_stun_server();
    let (_, lan) = net.add_nat(NatType::PortRestricted, RealmId::INTERNET);
    let (ha, a_ip) = net.add_host(lan);
    let (hb, b_ip) = net.add_host(lan);
    let mut sim = Simulation::new(net);
    let a = sim.add(ha, IcePeer::new(config(true, stun), start, 1));
    let b = sim.add(hb, IcePeer::new(config(false, stun), start, 2));
    sim.endpoint_mut(a)
        .add_socket(start, LocalSocket::udp((a_ip, 5000).into()));
    sim.endpoint_mut(b)
        .add_socket(start, LocalSocket::udp((b_ip, 5000).into()));
    IcePeer::exchange_credentials(&mut sim, a, b);
    sim.endpoint_mut(a).agent.gather(start);
    sim.endpoint_mut(b).agent.gather(start);
    let name = "3c9a7f6e-1b2d-4e5f-8a9b-0c1d2e3f4a5b.local".to_string();
    let mut lookups = Vec::new();
    sim.run_until(start + Duration::from_secs(3), |sim| {
        let now = sim.now();
        for e in sim.endpoint_mut(b).take_events(now) {
            if let IceEvent::LocalCandidate(mut c) = e {
                if c.typ == CandidateType::Host {
                    c.address = Address::Fqdn(name.clone());
                }
                sim.endpoint_mut(a)
                    .agent
                    .add_remote_candidate(now, c)
                    .unwrap();
            }
        }
        for e in sim.endpoint_mut(a).take_events(now) {
            match e {
                IceEvent::LocalCandidate(c) => sim
                    .endpoint_mut(b)
                    .agent
                    .add_remote_candidate(now, c)
                    .unwrap(),
                IceEvent::Resolve { name } => lookups.push((now, name)),
                _ => {}
            }
        }
        // The resolver answers after 30 ms.
        let due: Vec<_> = lookups
            .iter()
            .filter(|(t, _)| now >= *t + Duration::from_millis(30))
            .cloned()
            .collect();
        lookups.retain(|(t, _)| now < *t + Duration::from_millis(30));
        for (_, n) in due {
            let addrs = if resolve { vec![b_ip] } else { vec![] };
            sim.endpoint_mut(a).agent.handle_resolved(now, &n, &addrs);
        }
        false
    });
    let asked: Vec<_> = sim
        .endpoint(a)
        .events
        .iter()
        .filter(|(_, e)| matches!(e, IceEvent::Resolve { .. }))
        .collect();
    assert_eq!(asked.len(), 1, "one lookup per name");
    Scenario {
        sim,
        turn: None,
        start,
        a,
        b,
        a_ip,
        b_ip,
        stun,
    }
}

#[test]
fn resolved_mdns_candidate_is_used() {
    let sc = run(true);
    let pair = sc.sim.endpoint(sc.a).agent.selected_pair().unwrap();
    assert_eq!(pair.destination, (sc.b_ip, 5000).into());
    assert_eq!(pair.remote.typ, CandidateType::Host);
    assert!(pair.nominated);
}

#[test]
fn unresolvable_mdns_candidate_is_dropped() {
    let sc = run(false);
    // The host candidate never arrived; B's checks from its host address make it a
    // peer-reflexive candidate, and the call connects anyway.
    let a = &sc.sim.endpoint(sc.a).agent;
    let remote = a.remote_candidates();
    assert!(
        remote.iter().all(|c| c.typ != CandidateType::Host),
        "{remote:?}"
    );
    let pair = a.selected_pair().unwrap();
    assert!(connected(a.connection_state()));
    assert_eq!(pair.destination, (sc.b_ip, 5000).into());
    assert_eq!(pair.remote.typ, CandidateType::PeerReflexive);
}
