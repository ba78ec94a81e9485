//! Trickle ICE: a remote candidate arriving late still connects; end-of-candidates lets
//! the agent complete.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use oxrtc_ice::sim::NatType;
use oxrtc_ice::{ConnectionState, IceEvent};
use std::time::Duration;

#[test]
fn late_remote_candidate_connects() {
    // Both behind port-restricted NATs: neither can reach the other until A knows B's
    // server-reflexive candidate. B's candidates reach A only after 3 s.
    let mut sc = scenario(
        7,
        Place::Behind(NatType::PortRestricted),
        Place::Behind(NatType::PortRestricted),
        |_| {},
    );
    let (a, b) = (sc.a, sc.b);
    let late = sc.start + Duration::from_secs(3);
    let mut held = Vec::new();
    let ok = sc.sim.run_until(sc.start + Duration::from_secs(10), |sim| {
        let now = sim.now();
        for e in sim.endpoint_mut(a).take_events(now) {
            match e {
                IceEvent::LocalCandidate(c) => sim
                    .endpoint_mut(b)
                    .agent
                    .add_remote_candidate(now, c)
                    .unwrap(),
                IceEvent::GatheringStateChange(oxrtc_ice::GatheringState::Complete) => {
                    sim.endpoint_mut(b).agent.end_of_remote_candidates(now)
                }
                _ => {}
            }
        }
        held.extend(sim.endpoint_mut(b).take_events(now));
        if now >= late {
            for e in held.drain(..) {
                if let IceEvent::LocalCandidate(c) = e {
                    sim.endpoint_mut(a)
                        .agent
                        .add_remote_candidate(now, c)
                        .unwrap();
                }
            }
        }
        if now < late {
            // Nothing connects before the candidate arrives, and nothing fails either.
            for p in [a, b] {
                assert!(!connected(state(sim, p)));
                assert_ne!(state(sim, p), ConnectionState::Failed);
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
    let took = sc.sim.now() - late;
    // From the candidate's arrival: checks out at once, answered within a round trip or
    // two, nominated after the nomination timeout at most.
    assert!(took <= Duration::from_millis(1200), "{took:?}");
    assert!(data_flows(
        &mut sc.sim,
        a,
        b,
        &packet(a, 1),
        Duration::from_millis(100)
    ));
}

#[test]
fn completes_once_end_of_candidates_arrives() {
    let mut sc = scenario(8, Place::Public, Place::Public, |_| {});
    let (a, b) = (sc.a, sc.b);
    // Trickle candidates but not end-of-candidates.
    let ok = sc.sim.run_until(sc.start + Duration::from_secs(2), |sim| {
        let now = sim.now();
        for (from, to) in [(a, b), (b, a)] {
            for e in sim.endpoint_mut(from).take_events(now) {
                if let IceEvent::LocalCandidate(c) = e {
                    sim.endpoint_mut(to)
                        .agent
                        .add_remote_candidate(now, c)
                        .unwrap();
                }
            }
        }
        false
    });
    assert!(!ok);
    assert_eq!(state(&sc.sim, a), ConnectionState::Connected);
    let now = sc.sim.now();
    sc.sim.endpoint_mut(a).agent.end_of_remote_candidates(now);
    sc.sim.endpoint_mut(a).collect(now);
    assert_eq!(state(&sc.sim, a), ConnectionState::Completed);
}
