//! ICE restart mid-call (RFC 8445 §9): new credentials on both sides, data keeps flowing on
//! the old pair until a pair of the new generation is selected.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use oxrtc_ice::sim::{IcePeer, NatType};
use oxrtc_ice::IceEvent;
use std::time::Duration;

#[test]
fn restart_mid_call_keeps_data_flowing() {
    let mut sc = scenario(
        31,
        Place::Behind(NatType::AddressRestricted),
        Place::Behind(NatType::FullCone),
        |_| {},
    );
    assert!(run_connect(&mut sc, Duration::from_secs(5)));
    let (a, b) = (sc.a, sc.b);
    let old_a = sc.sim.endpoint(a).agent.local_credentials().clone();
    let old_b = sc.sim.endpoint(b).agent.local_credentials().clone();
    let mut restarted_at = None;
    let mut step = 0;
    // 20 ms media both ways for 6 s; the restart (offer from A, answer from B, 50 ms of
    // signalling each way) happens at 1 s.
    let [(to_a, gap_a), (to_b, gap_b)] = pump(
        &mut sc.sim,
        a,
        b,
        Duration::from_secs(6),
        Duration::from_millis(20),
        |sim| {
            let now = sim.now();
            let since = now - sc.start;
            match step {
                0 if since >= Duration::from_secs(2) => {
                    // A restarts and sends an offer.
                    sim.endpoint_mut(a).agent.restart(now);
                    sim.endpoint_mut(a).collect(now);
                    restarted_at = Some(now);
                    step = 1;
                }
                1 if now >= restarted_at.unwrap() + Duration::from_millis(50) => {
                    // B gets the offer, restarts and answers.
                    let ca = sim.endpoint(a).agent.local_credentials().clone();
                    sim.endpoint_mut(b)
                        .agent
                        .set_remote_credentials(now, &ca.ufrag, &ca.pwd)
                        .unwrap();
                    sim.endpoint_mut(b).agent.restart(now);
                    sim.endpoint_mut(b).collect(now);
                    step = 2;
                }
                2 if now >= restarted_at.unwrap() + Duration::from_millis(100) => {
                    let cb = sim.endpoint(b).agent.local_credentials().clone();
                    sim.endpoint_mut(a)
                        .agent
                        .set_remote_credentials(now, &cb.ufrag, &cb.pwd)
                        .unwrap();
                    sim.endpoint_mut(a).collect(now);
                    step = 3;
                }
                _ => {}
            }
            // Candidates of the new generation travel once both sides have the offer.
            if step != 1 {
                IcePeer::trickle(sim, a, b);
            }
        },
    );
    assert_eq!(step, 3);
    // Not one packet lost, no gap beyond the 20 ms interval (plus jitter-free delivery).
    assert_eq!(to_a.len(), 300, "B -> A lost {}", 300 - to_a.len());
    assert_eq!(to_b.len(), 300, "A -> B lost {}", 300 - to_b.len());
    assert!(
        gap_a <= Duration::from_millis(40) && gap_b <= Duration::from_millis(40),
        "{gap_a:?} {gap_b:?}"
    );

    // New credentials in use, and a pair of the new generation selected on both sides.
    let new_a = sc.sim.endpoint(a).agent.local_credentials().clone();
    let new_b = sc.sim.endpoint(b).agent.local_credentials().clone();
    assert_ne!(new_a, old_a);
    assert_ne!(new_b, old_b);
    for (p, ufrag) in [(a, &new_b.ufrag), (b, &new_a.ufrag)] {
        let pair = sc.sim.endpoint(p).agent.selected_pair().unwrap();
        assert!(pair.nominated);
        assert_eq!(pair.remote.ufrag.as_deref(), Some(ufrag.as_str()));
        assert!(connected(state(&sc.sim, p)));
        // The state never dropped while restarting.
        let after: Vec<_> = sc
            .sim
            .endpoint(p)
            .events
            .iter()
            .filter(|(t, _)| *t >= restarted_at.unwrap())
            .filter_map(|(_, e)| match e {
                IceEvent::ConnectionStateChange(s) => Some(*s),
                _ => None,
            })
            .collect();
        assert!(after.iter().all(|s| connected(*s)), "{after:?}");
    }
    // Local candidates were signalled again with the new ufrag and generation 1.
    let re_signalled: Vec<_> = sc
        .sim
        .endpoint(a)
        .events
        .iter()
        .filter_map(|(t, e)| match e {
            IceEvent::LocalCandidate(c) if *t >= restarted_at.unwrap() => Some(c.clone()),
            _ => None,
        })
        .collect();
    assert!(!re_signalled.is_empty());
    assert!(re_signalled
        .iter()
        .all(|c| c.ufrag.as_deref() == Some(new_a.ufrag.as_str()) && c.generation == Some(1)));
}
