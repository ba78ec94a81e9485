//! Relayed candidates through oxrtc-turn's client and server core: every NAT pairing
//! connects once a TURN server is configured, the relay-only policy hides local addresses,
//! TURN over TCP works, and a server that refuses the credentials is reported.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use oxrtc_ice::sim::NatType;
use oxrtc_ice::{CandidateType, IceEvent, Protocol, TransportPolicy};
use std::time::Duration;

const PLACES: [Place; 5] = [
    Place::Public,
    Place::Behind(NatType::FullCone),
    Place::Behind(NatType::AddressRestricted),
    Place::Behind(NatType::PortRestricted),
    Place::Behind(NatType::Symmetric),
];

fn relayed(sc: &Scenario, p: usize) -> bool {
    let pair = sc.sim.endpoint(p).agent.selected_pair().unwrap();
    pair.local.typ == CandidateType::Relayed || pair.remote.typ == CandidateType::Relayed
}

#[test]
fn every_nat_pairing_connects_with_a_relay() {
    let mut seed = 200;
    for a in PLACES {
        for b in PLACES {
            seed += 1;
            let mut sc = relay_scenario(seed, a, b, |t| format!("turn:{t}"), |_| {}, |_| {});
            assert!(
                run_connect(&mut sc, Duration::from_secs(10)),
                "{a:?} -> {b:?}"
            );
            let took = sc.sim.now() - sc.start;
            // Allocation (401 challenge, then the authenticated Allocate) takes two round
            // trips; the relayed pair is nominated after the nomination timeout at most.
            assert!(
                took < Duration::from_millis(1500),
                "{a:?} -> {b:?} took {took:?}"
            );
            let (pa, pb) = (sc.a, sc.b);
            let symmetric_blocked = matches!(
                (a, b),
                (
                    Place::Behind(NatType::Symmetric),
                    Place::Behind(NatType::Symmetric | NatType::PortRestricted)
                ) | (
                    Place::Behind(NatType::PortRestricted),
                    Place::Behind(NatType::Symmetric)
                )
            );
            if symmetric_blocked {
                assert!(
                    relayed(&sc, pa) && relayed(&sc, pb),
                    "{a:?} -> {b:?} without a direct path must relay"
                );
            } else {
                assert!(
                    !relayed(&sc, pa),
                    "{a:?} -> {b:?}: a direct path beats the relay"
                );
            }
            for _ in 0..3 {
                assert!(
                    data_flows(
                        &mut sc.sim,
                        pa,
                        pb,
                        &packet(pa, seed as u32),
                        Duration::from_millis(200)
                    ),
                    "{a:?} -> {b:?}"
                );
                assert!(
                    data_flows(
                        &mut sc.sim,
                        pb,
                        pa,
                        &packet(pb, seed as u32),
                        Duration::from_millis(200)
                    ),
                    "{a:?} -> {b:?}"
                );
            }
        }
    }
}

#[test]
fn relay_policy_uses_and_signals_only_relayed_candidates() {
    let mut sc = relay_scenario(
        301,
        Place::Behind(NatType::FullCone),
        Place::Public,
        |t| format!("turn:{t}"),
        |c| c.transport_policy = TransportPolicy::Relay,
        |_| {},
    );
    assert!(run_connect(&mut sc, Duration::from_secs(10)));
    let (a, b) = (sc.a, sc.b);
    let signalled: Vec<_> = sc
        .sim
        .endpoint(a)
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            IceEvent::LocalCandidate(c) => Some(c.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(signalled.len(), 1, "{signalled:?}");
    assert_eq!(signalled[0].typ, CandidateType::Relayed);
    let turn_ip = sc.turn.unwrap().ip();
    assert_eq!(signalled[0].socket_addr().unwrap().ip(), turn_ip);
    let pa = sc.sim.endpoint(a).agent.selected_pair().unwrap();
    assert_eq!(pa.local.typ, CandidateType::Relayed);
    assert_eq!(pa.relay.unwrap().server, sc.turn.unwrap());
    assert_eq!(
        pa.destination,
        sc.turn.unwrap(),
        "data goes to the TURN server"
    );
    // B never learns A's own address: everything it receives comes from the relay.
    let pb = sc.sim.endpoint(b).agent.selected_pair().unwrap();
    assert_eq!(pb.destination.ip(), turn_ip);
    assert!(sc
        .sim
        .endpoint(b)
        .agent
        .remote_candidates()
        .iter()
        .all(|c| c.socket_addr().unwrap().ip() == turn_ip));
    for n in 0..5 {
        assert!(data_flows(
            &mut sc.sim,
            a,
            b,
            &packet(a, n),
            Duration::from_millis(200)
        ));
        assert!(data_flows(
            &mut sc.sim,
            b,
            a,
            &packet(b, n),
            Duration::from_millis(200)
        ));
    }
    // The allocation, its permission and channel are refreshed while the call lasts.
    sc.sim.run_for(Duration::from_secs(900));
    assert!(connected(state(&sc.sim, a)) && connected(state(&sc.sim, b)));
    assert!(data_flows(
        &mut sc.sim,
        a,
        b,
        &packet(a, 99),
        Duration::from_millis(200)
    ));
    assert!(data_flows(
        &mut sc.sim,
        b,
        a,
        &packet(b, 99),
        Duration::from_millis(200)
    ));
}

#[test]
fn turn_over_tcp() {
    let mut sc = relay_scenario(
        302,
        Place::Behind(NatType::Symmetric),
        Place::Behind(NatType::Symmetric),
        |t| format!("turn:{t}?transport=tcp"),
        |_| {},
        |_| {},
    );
    assert!(run_connect(&mut sc, Duration::from_secs(10)));
    let (a, b) = (sc.a, sc.b);
    let pa = sc.sim.endpoint(a).agent.selected_pair().unwrap();
    let pb = sc.sim.endpoint(b).agent.selected_pair().unwrap();
    let relayed_locals: Vec<_> = [&pa, &pb]
        .into_iter()
        .filter(|p| p.local.typ == CandidateType::Relayed)
        .collect();
    assert!(!relayed_locals.is_empty());
    for p in relayed_locals {
        assert_eq!(p.transport, Protocol::Tcp, "to the server over TCP");
        assert_eq!(p.destination, sc.turn.unwrap());
    }
    assert!(data_flows(
        &mut sc.sim,
        a,
        b,
        &packet(a, 1),
        Duration::from_millis(200)
    ));
    assert!(data_flows(
        &mut sc.sim,
        b,
        a,
        &packet(b, 1),
        Duration::from_millis(200)
    ));
}

#[test]
fn wrong_turn_credentials_are_reported_and_gathering_completes() {
    let mut sc = relay_scenario(
        303,
        Place::Behind(NatType::PortRestricted),
        Place::Public,
        |t| format!("turn:{t}"),
        |c| {
            for s in &mut c.ice_servers {
                if s.username.is_some() {
                    s.credential = Some("wrong".into());
                }
            }
        },
        |_| {},
    );
    // Still connects directly.
    assert!(run_connect(&mut sc, Duration::from_secs(10)));
    sc.sim.run_for(Duration::from_secs(2));
    let events: Vec<_> = sc
        .sim
        .endpoint(sc.a)
        .events
        .iter()
        .map(|(_, e)| e.clone())
        .collect();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, IceEvent::ServerError { code: 401, .. })),
        "{events:?}"
    );
    assert!(events.contains(&IceEvent::GatheringStateChange(
        oxrtc_ice::GatheringState::Complete
    )));
    assert!(!events
        .iter()
        .any(|e| matches!(e, IceEvent::LocalCandidate(c) if c.typ == CandidateType::Relayed)));
}
