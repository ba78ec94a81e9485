//! ICE lite (RFC 8445 §2.5): a public server that only answers checks, and a full agent
//! behind a NAT that controls and nominates.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use oxrtc_ice::sim::NatType;
use std::time::Duration;

#[test]
fn full_agent_behind_nat_connects_to_lite_server() {
    let mut sc = scenario_with(
        61,
        Place::Behind(NatType::Symmetric),
        Place::Public,
        |c| c.controlling = false, // told controlled, but the peer is lite: it takes control
        |c| {
            c.lite = true;
            c.ice_servers.clear();
        },
    );
    let now = sc.sim.now();
    sc.sim.endpoint_mut(sc.a).agent.set_remote_lite(now, true);
    assert!(sc.sim.endpoint(sc.a).agent.is_controlling());
    assert!(run_connect(&mut sc, Duration::from_secs(5)));
    let (a, b) = (sc.a, sc.b);
    assert!(sc.sim.now() - sc.start < Duration::from_millis(200));
    let lite = &sc.sim.endpoint(b).agent;
    assert!(!lite.is_controlling());
    assert_eq!(lite.stats().checks_sent, 0, "a lite agent sends no checks");
    assert!(data_flows(
        &mut sc.sim,
        b,
        a,
        &packet(b, 1),
        Duration::from_millis(100)
    ));
    // Consent: the full agent keeps checking; the lite one keeps answering.
    sc.sim.run_for(Duration::from_secs(60));
    assert!(connected(state(&sc.sim, a)) && connected(state(&sc.sim, b)));
    assert!(data_flows(
        &mut sc.sim,
        a,
        b,
        &packet(a, 2),
        Duration::from_millis(100)
    ));
}
