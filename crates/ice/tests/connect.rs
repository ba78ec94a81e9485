//! Two agents connect through every NAT pairing where a path exists (directly or through
//! peer-reflexive candidates), and reach `failed` within the configured timeouts where none
//! does. Timings are asserted on the virtual clock.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use oxrtc_ice::sim::{LinkConfig, NatType, RealmId};
use oxrtc_ice::{CandidateType, ConnectionState, IceEvent};
use std::time::Duration;

const PLACES: [Place; 5] = [
    Place::Public,
    Place::Behind(NatType::FullCone),
    Place::Behind(NatType::AddressRestricted),
    Place::Behind(NatType::PortRestricted),
    Place::Behind(NatType::Symmetric),
];

/// Whether a direct or peer-reflexive path exists between the two places (RFC 4787:
/// symmetric mapping defeats port-dependent filtering on either side).
fn path_exists(a: Place, b: Place) -> bool {
    use NatType::*;
    !matches!(
        (a, b),
        (
            Place::Behind(Symmetric),
            Place::Behind(Symmetric | PortRestricted)
        ) | (Place::Behind(PortRestricted), Place::Behind(Symmetric))
    )
}

#[test]
fn nat_matrix_without_relay() {
    let mut seed = 10;
    for a in PLACES {
        for b in PLACES {
            seed += 1;
            let mut sc = scenario(seed, a, b, |_| {});
            let ok = run_connect(&mut sc, Duration::from_secs(30));
            let took = sc.sim.now() - sc.start;
            if path_exists(a, b) {
                assert!(ok, "{a:?} -> {b:?} did not connect");
                // Nominated after at most the nomination timeout (1 s) past the first valid
                // pair, which takes a round trip or two.
                assert!(
                    took < Duration::from_millis(1200),
                    "{a:?} -> {b:?} took {took:?}"
                );
                let (pa, pb) = (sc.a, sc.b);
                assert!(
                    data_flows(&mut sc.sim, pa, pb, b"ping", Duration::from_millis(100)),
                    "{a:?} -> {b:?}"
                );
                assert!(
                    data_flows(&mut sc.sim, pb, pa, b"pong", Duration::from_millis(100)),
                    "{a:?} -> {b:?}"
                );
                // Both ends agree on the 5-tuple.
                let (la, ra) = sc.sim.endpoint(pa).path().unwrap();
                let (lb, rb) = sc.sim.endpoint(pb).path().unwrap();
                if a == Place::Public {
                    assert_eq!(la, rb, "{a:?} -> {b:?}");
                }
                if b == Place::Public {
                    assert_eq!(lb, ra, "{a:?} -> {b:?}");
                }
            } else {
                assert!(!ok, "{a:?} -> {b:?} connected without a path");
                for p in [sc.a, sc.b] {
                    let failed = first_state(&sc.sim, p, ConnectionState::Failed)
                        .unwrap_or_else(|| panic!("{a:?} -> {b:?} never failed"))
                        - sc.start;
                    // Checks give up after 7 transmissions and 9 s (the defaults); the last
                    // pair starts a few Ta after the first.
                    assert!(
                        failed >= Duration::from_secs(9) && failed < Duration::from_millis(9500),
                        "{a:?} -> {b:?} failed at {failed:?}"
                    );
                    assert!(first_state(&sc.sim, p, ConnectionState::Connected).is_none());
                }
            }
        }
    }
}

#[test]
fn direct_path_connects_within_a_few_check_intervals() {
    let mut sc = scenario(3, Place::Public, Place::Public, |_| {});
    assert!(run_connect(&mut sc, Duration::from_secs(5)));
    // One pair; 10 ms links: first check at 0, answered at 20 ms; nomination at the next
    // pacing slot (Ta = 50 ms) answered at 70 ms.
    let a_connected = first_state(&sc.sim, sc.a, ConnectionState::Connected).unwrap() - sc.start;
    assert_eq!(a_connected, Duration::from_millis(20));
    assert_eq!(sc.sim.now() - sc.start, Duration::from_millis(70));
    let completed = first_state(&sc.sim, sc.a, ConnectionState::Completed).unwrap() - sc.start;
    assert_eq!(completed, Duration::from_millis(70));
}

#[test]
fn same_lan_uses_host_candidates() {
    let start = std::time::Instant::now();
    let mut net = oxrtc_ice::sim::Network::new(4, start);
    let stun = net.add_stun_server();
    let (_, lan) = net.add_nat(NatType::PortRestricted, RealmId::INTERNET);
    let (ha, a_ip) = net.add_host(lan);
    let (hb, b_ip) = net.add_host(lan);
    let mut sim = oxrtc_ice::sim::Simulation::new(net);
    let a = sim.add(
        ha,
        oxrtc_ice::sim::IcePeer::new(config(true, stun), start, 1),
    );
    let b = sim.add(
        hb,
        oxrtc_ice::sim::IcePeer::new(config(false, stun), start, 2),
    );
    sim.endpoint_mut(a)
        .add_socket(start, oxrtc_ice::LocalSocket::udp((a_ip, 5000).into()));
    sim.endpoint_mut(b)
        .add_socket(start, oxrtc_ice::LocalSocket::udp((b_ip, 5000).into()));
    oxrtc_ice::sim::IcePeer::exchange_credentials(&mut sim, a, b);
    sim.endpoint_mut(a).agent.gather(start);
    sim.endpoint_mut(b).agent.gather(start);
    let mut sc = Scenario {
        sim,
        turn: None,
        start,
        a,
        b,
        a_ip,
        b_ip,
        stun,
    };
    assert!(run_connect(&mut sc, Duration::from_secs(5)));
    let pair = sc.sim.endpoint(a).agent.selected_pair().unwrap();
    assert_eq!(pair.local.typ, CandidateType::Host);
    assert_eq!(pair.remote.typ, CandidateType::Host);
    assert_eq!(pair.destination, (b_ip, 5000).into());
    // The host pair has the highest priority: nominated without waiting.
    assert!(sc.sim.now() - start < Duration::from_millis(200));
}

#[test]
fn connects_through_loss_jitter_and_duplication() {
    for seed in 100..120 {
        let mut sc = scenario(
            seed,
            Place::Behind(NatType::PortRestricted),
            Place::Behind(NatType::AddressRestricted),
            |_| {},
        );
        sc.sim.network_mut().set_link(LinkConfig {
            latency: Duration::from_millis(30),
            jitter: Duration::from_millis(20),
            loss: 0.2,
            duplicate: 0.1,
        });
        assert!(run_connect(&mut sc, Duration::from_secs(15)), "seed {seed}");
        let (a, b) = (sc.a, sc.b);
        // Data flows (retry: the link loses packets).
        let mut delivered = false;
        for _ in 0..10 {
            if data_flows(&mut sc.sim, a, b, b"x", Duration::from_millis(200)) {
                delivered = true;
                break;
            }
        }
        assert!(delivered, "seed {seed}");
    }
}

#[test]
fn same_seed_same_trace() {
    let trace = |seed| {
        let mut sc = scenario(
            seed,
            Place::Behind(NatType::Symmetric),
            Place::Behind(NatType::FullCone),
            |_| {},
        );
        sc.sim.network_mut().set_link(LinkConfig {
            jitter: Duration::from_millis(15),
            loss: 0.1,
            ..LinkConfig::default()
        });
        run_connect(&mut sc, Duration::from_secs(10));
        sc.sim.run_for(Duration::from_secs(12));
        let events: Vec<_> = [sc.a, sc.b]
            .iter()
            .flat_map(|&p| {
                sc.sim
                    .endpoint(p)
                    .events
                    .iter()
                    .map(|(t, e)| (*t - sc.start, format!("{e:?}")))
            })
            .collect();
        (events, sc.sim.network().stats())
    };
    let (one, stats) = trace(9);
    assert_eq!(trace(9), (one.clone(), stats));
    assert_ne!(trace(10).0, one);
    assert!(one.iter().any(|(_, e)| e.contains("SelectedPairChange")));
}

#[test]
fn gathering_reports_host_and_srflx_then_completes() {
    let sc = scenario(5, Place::Behind(NatType::FullCone), Place::Public, |_| {});
    let mut sim = sc.sim;
    sim.run_for(Duration::from_millis(100));
    let events: Vec<_> = sim
        .endpoint(sc.a)
        .events
        .iter()
        .map(|(_, e)| e.clone())
        .collect();
    let types: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            IceEvent::LocalCandidate(c) => Some(c.typ),
            _ => None,
        })
        .collect();
    assert_eq!(
        types,
        vec![CandidateType::Host, CandidateType::ServerReflexive]
    );
    let complete = events
        .iter()
        .position(|e| *e == IceEvent::GatheringStateChange(oxrtc_ice::GatheringState::Complete))
        .unwrap();
    let last_candidate = events
        .iter()
        .rposition(|e| matches!(e, IceEvent::LocalCandidate(_)))
        .unwrap();
    assert!(complete > last_candidate);
    // The srflx candidate's related address is its base; redundant srflx candidates (a
    // public host's mapped address equals its host address) are not signalled.
    let b_types: Vec<_> = sim
        .endpoint(sc.b)
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            IceEvent::LocalCandidate(c) => Some(c.typ),
            _ => None,
        })
        .collect();
    assert_eq!(b_types, vec![CandidateType::Host]);
}
