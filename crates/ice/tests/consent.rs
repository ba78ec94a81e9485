//! Consent freshness (RFC 7675): a peer that stops answering makes the agent
//! `disconnected`, then `failed` once consent expires (30 s), and data stops; a peer that
//! comes back in time restores the connection.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use oxrtc_ice::sim::{LinkConfig, NatType};
use oxrtc_ice::ConnectionState;
use std::time::Duration;

fn last_state_change(sc: &Scenario, p: usize, want: ConnectionState) -> Option<std::time::Instant> {
    sc.sim
        .endpoint(p)
        .events
        .iter()
        .rev()
        .find_map(|(t, e)| match e {
            oxrtc_ice::IceEvent::ConnectionStateChange(s) if *s == want => Some(*t),
            _ => None,
        })
}

#[test]
fn consent_loss_fails_within_thirty_seconds() {
    let mut sc = scenario(21, Place::Behind(NatType::FullCone), Place::Public, |_| {});
    assert!(run_connect(&mut sc, Duration::from_secs(5)));
    let (a, b) = (sc.a, sc.b);
    sc.sim.run_for(Duration::from_secs(20));
    assert!(connected(state(&sc.sim, a)));
    // Consent checks go out about every 5 s (±20 %).
    let checks_before = sc.sim.endpoint(a).agent.stats().checks_sent;
    sc.sim.run_for(Duration::from_secs(20));
    let consent_checks = sc.sim.endpoint(a).agent.stats().checks_sent - checks_before;
    assert!(
        (3..=6).contains(&consent_checks),
        "{consent_checks} consent checks in 20 s"
    );

    // B's host goes dark.
    let host_b = sc.sim.host(b).unwrap();
    sc.sim.network_mut().set_host_link(host_b, LinkConfig::DOWN);
    let cut = sc.sim.now();
    sc.sim.run_for(Duration::from_secs(40));
    let disconnected = last_state_change(&sc, a, ConnectionState::Disconnected).unwrap() - cut;
    let failed = last_state_change(&sc, a, ConnectionState::Failed).unwrap() - cut;
    // The last successful consent check was at most ~6 s before the cut: disconnected
    // 6 s after it, failed 30 s after it.
    assert!(
        disconnected <= Duration::from_secs(6),
        "disconnected after {disconnected:?}"
    );
    assert!(
        failed >= Duration::from_secs(24) && failed <= Duration::from_secs(30),
        "failed after {failed:?}"
    );
    assert_eq!(state(&sc.sim, a), ConnectionState::Failed);
    // Nothing is sent to the peer any more.
    let now = sc.sim.now();
    assert!(!sc.sim.endpoint_mut(a).send(now, &packet(a, 0)));
    assert!(sc.sim.endpoint(a).agent.selected_pair().is_none());
}

#[test]
fn consent_restored_before_expiry_reconnects() {
    let mut sc = scenario(
        22,
        Place::Public,
        Place::Behind(NatType::PortRestricted),
        |_| {},
    );
    assert!(run_connect(&mut sc, Duration::from_secs(5)));
    let (a, b) = (sc.a, sc.b);
    sc.sim.run_for(Duration::from_secs(7));
    let host_b = sc.sim.host(b).unwrap();
    sc.sim.network_mut().set_host_link(host_b, LinkConfig::DOWN);
    sc.sim.run_for(Duration::from_secs(12));
    assert_eq!(state(&sc.sim, a), ConnectionState::Disconnected);
    sc.sim.network_mut().set_host_link(host_b, LinkConfig::NONE);
    let back = sc.sim.now();
    // While disconnected, consent checks go out every second: back within about one.
    let ok = sc.sim.run_until(back + Duration::from_secs(3), |sim| {
        connected(state(sim, a)) && connected(state(sim, b))
    });
    assert!(ok, "A {:?} B {:?}", state(&sc.sim, a), state(&sc.sim, b));
    assert!(
        sc.sim.now() - back <= Duration::from_millis(1100),
        "{:?}",
        sc.sim.now() - back
    );
    assert!(data_flows(
        &mut sc.sim,
        a,
        b,
        &packet(a, 9),
        Duration::from_millis(100)
    ));
}

#[test]
fn slow_links_do_not_flap_to_disconnected() {
    // 400 ms each way: consent answers arrive 0.8 s after their check, and checks go out
    // 4 to 6 s apart; the pair never looks disconnected.
    let mut sc = scenario(
        23,
        Place::Behind(NatType::PortRestricted),
        Place::Public,
        |_| {},
    );
    sc.sim.network_mut().set_link(LinkConfig {
        latency: Duration::from_millis(400),
        ..LinkConfig::default()
    });
    assert!(run_connect(&mut sc, Duration::from_secs(10)));
    sc.sim.run_for(Duration::from_secs(300));
    for p in [sc.a, sc.b] {
        assert!(
            last_state_change(&sc, p, ConnectionState::Disconnected).is_none(),
            "{p} flapped to disconnected"
        );
        assert!(connected(state(&sc.sim, p)));
    }
}

#[test]
fn round_trips_of_the_selected_pair_are_measured() {
    let mut sc = scenario(23, Place::Public, Place::Public, |_| {});
    // 10 ms of network plus 40 ms on b's link, each way: 100 ms round trips.
    let host_b = sc.sim.host(sc.b).unwrap();
    sc.sim.network_mut().set_host_link(
        host_b,
        LinkConfig {
            latency: Duration::from_millis(40),
            ..LinkConfig::NONE
        },
    );
    assert!(run_connect(&mut sc, Duration::from_secs(5)));
    assert!(sc.sim.endpoint(sc.a).agent.selected_pair_stats().is_some());
    sc.sim.run_for(Duration::from_secs(12)); // two or three consent checks
    let s = sc.sim.endpoint(sc.a).agent.selected_pair_stats().unwrap();
    assert_eq!(s.current_round_trip_time, Some(Duration::from_millis(100)));
    assert!(s.responses_received >= 3, "{s:?}");
    assert!(
        s.total_round_trip_time >= Duration::from_millis(300),
        "{s:?}"
    );
    assert!(
        s.total_round_trip_time <= Duration::from_millis(100) * s.responses_received as u32,
        "{s:?}"
    );
}
