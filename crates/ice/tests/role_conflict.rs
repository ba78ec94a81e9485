//! Role conflicts (RFC 8445 §7.3.1.1, §7.2.5.1): both agents think they control, or both
//! think they are controlled; tie-breakers settle it and the call connects.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use oxrtc_ice::sim::NatType;
use oxrtc_ice::IceEvent;
use std::time::Duration;

fn role_changes(sc: &Scenario, p: usize) -> Vec<bool> {
    sc.sim
        .endpoint(p)
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            IceEvent::RoleChange { controlling } => Some(*controlling),
            _ => None,
        })
        .collect()
}

#[test]
fn both_controlling_the_larger_tie_breaker_keeps_control() {
    for (ta, tb) in [(5u64, 9u64), (9, 5)] {
        let mut sc = scenario_with(
            1,
            Place::Public,
            Place::Behind(NatType::PortRestricted),
            |c| {
                c.controlling = true;
                c.tie_breaker = Some(ta);
            },
            |c| {
                c.controlling = true;
                c.tie_breaker = Some(tb);
            },
        );
        assert!(run_connect(&mut sc, Duration::from_secs(5)), "{ta} vs {tb}");
        let (a, b) = (sc.a, sc.b);
        let a_controls = sc.sim.endpoint(a).agent.is_controlling();
        let b_controls = sc.sim.endpoint(b).agent.is_controlling();
        assert_eq!((a_controls, b_controls), (ta > tb, tb > ta));
        let loser = if ta > tb { b } else { a };
        let winner = if ta > tb { a } else { b };
        assert_eq!(role_changes(&sc, loser), vec![false]);
        assert!(role_changes(&sc, winner).is_empty());
        assert!(data_flows(
            &mut sc.sim,
            a,
            b,
            b"after conflict",
            Duration::from_millis(100)
        ));
    }
}

#[test]
fn both_controlled_the_larger_tie_breaker_takes_control() {
    for (ta, tb) in [(5u64, 9u64), (9, 5)] {
        let mut sc = scenario_with(
            2,
            Place::Behind(NatType::FullCone),
            Place::Public,
            |c| {
                c.controlling = false;
                c.tie_breaker = Some(ta);
            },
            |c| {
                c.controlling = false;
                c.tie_breaker = Some(tb);
            },
        );
        assert!(run_connect(&mut sc, Duration::from_secs(5)), "{ta} vs {tb}");
        let a_controls = sc.sim.endpoint(sc.a).agent.is_controlling();
        let b_controls = sc.sim.endpoint(sc.b).agent.is_controlling();
        assert_eq!((a_controls, b_controls), (ta > tb, tb > ta));
        let winner = if ta > tb { sc.a } else { sc.b };
        assert_eq!(role_changes(&sc, winner), vec![true]);
    }
}
