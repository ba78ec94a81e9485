//! Network change without an ICE restart: a Wi-Fi interface goes away after a cellular
//! one came up (or before it does); new candidates are gathered and trickled, the pairs on
//! the vanished interface are dropped, the controlling agent moves the selected pair, and
//! the call survives with the same credentials.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use oxrtc_ice::sim::{IcePeer, NatType, RealmId};
use oxrtc_ice::{IceEvent, LocalSocket};
use std::net::SocketAddr;
use std::time::Duration;

/// A on Wi-Fi behind a home NAT, B public (`a_controls` picks the roles). At `cellular_up`
/// a cellular interface behind a carrier's symmetric NAT comes up; at `wifi_down` the
/// Wi-Fi goes. Media flows both ways every 20 ms throughout. Returns the longest gap in
/// media (B to A, A to B).
fn wifi_to_cellular(
    seed: u64,
    a_controls: bool,
    wifi_down: Duration,
    cellular_up: Duration,
) -> (Duration, Duration) {
    wifi_to_cellular_with(seed, a_controls, wifi_down, cellular_up, false)
}

/// As [`wifi_to_cellular`]; `renomination` negotiates NOMINATION values on both sides.
fn wifi_to_cellular_with(
    seed: u64,
    a_controls: bool,
    wifi_down: Duration,
    cellular_up: Duration,
    renomination: bool,
) -> (Duration, Duration) {
    let mut sc = scenario_with(
        seed,
        Place::Behind(NatType::PortRestricted),
        Place::Public,
        |c| c.controlling = a_controls,
        |c| c.controlling = !a_controls,
    );
    let (a, b) = (sc.a, sc.b);
    if renomination {
        sc.sim.endpoint_mut(a).agent.set_remote_renomination(true);
        sc.sim.endpoint_mut(b).agent.set_remote_renomination(true);
    }
    assert!(run_connect(&mut sc, Duration::from_secs(5)));
    let creds = (
        sc.sim.endpoint(a).agent.local_credentials().clone(),
        sc.sim.endpoint(b).agent.local_credentials().clone(),
    );
    let wifi = SocketAddr::new(sc.a_ip, 5000);
    let host_a = sc.sim.host(a).unwrap();
    let (carrier, cgnat) = sc
        .sim
        .network_mut()
        .add_nat(NatType::Symmetric, RealmId::INTERNET);
    let carrier_ip = sc.sim.network().nat_public_ip(carrier).unwrap();
    let t0 = sc.sim.now();
    let mut cellular = None;
    let mut wifi_gone = false;
    let [(to_a, gap_a), (to_b, gap_b)] = pump(
        &mut sc.sim,
        a,
        b,
        Duration::from_secs(20),
        Duration::from_millis(20),
        |sim| {
            let now = sim.now();
            if cellular.is_none() && now - t0 >= cellular_up {
                let ip = sim.network_mut().add_interface(host_a, cgnat);
                let addr = SocketAddr::new(ip, 7000);
                sim.endpoint_mut(a)
                    .add_socket(now, LocalSocket::udp(addr).with_network(2, 900));
                cellular = Some(addr);
            }
            if !wifi_gone && now - t0 >= wifi_down {
                sim.network_mut().remove_interface(host_a, wifi.ip());
                assert!(sim.endpoint_mut(a).agent.remove_local_socket(now, wifi));
                sim.endpoint_mut(a).collect(now);
                wifi_gone = true;
            }
            IcePeer::trickle(sim, a, b);
        },
    );
    // The call survived: both sides connected on a pair through the cellular interface.
    for p in [a, b] {
        assert!(connected(state(&sc.sim, p)), "{p}: {:?}", state(&sc.sim, p));
    }
    let pa = sc.sim.endpoint(a).agent.selected_pair().unwrap();
    assert_eq!(Some(pa.source), cellular);
    let pb = sc.sim.endpoint(b).agent.selected_pair().unwrap();
    assert_eq!(
        pb.destination.ip(),
        carrier_ip,
        "B sends to the carrier NAT"
    );
    assert!(pa.nominated && pb.nominated);
    // Without a restart.
    assert_eq!(sc.sim.endpoint(a).agent.local_credentials(), &creds.0);
    assert_eq!(sc.sim.endpoint(b).agent.local_credentials(), &creds.1);
    // The Wi-Fi candidates were withdrawn.
    let removed = sc
        .sim
        .endpoint(a)
        .events
        .iter()
        .filter(|(_, e)| matches!(e, IceEvent::LocalCandidateRemoved(_)))
        .count();
    assert!(removed >= 1);
    // Media resumed after the switch and kept flowing to the end.
    let last_a = *to_a.last().unwrap();
    let last_b = *to_b.last().unwrap();
    assert!(last_a >= 995 && last_b >= 995, "{last_a} {last_b}");
    (gap_a, gap_b)
}

#[test]
fn cellular_up_then_wifi_down_controlling() {
    // The cellular pairs are checked before the Wi-Fi goes: A renominates at once, not one
    // 20 ms packet is missed beyond the one in flight.
    let (gap_a, gap_b) = wifi_to_cellular(41, true, Duration::from_secs(5), Duration::from_secs(2));
    assert!(
        gap_a <= Duration::from_millis(60) && gap_b <= Duration::from_millis(60),
        "{gap_a:?} {gap_b:?}"
    );
}

#[test]
fn cellular_up_then_wifi_down_controlled() {
    // A (controlled) moves its own sending at once; B learns from A's checks on the
    // cellular pair, probes the old pair and renominates when the probe is not answered
    // within a second.
    let (gap_a, gap_b) =
        wifi_to_cellular(42, false, Duration::from_secs(5), Duration::from_secs(2));
    assert!(gap_b <= Duration::from_millis(60), "A -> B gap {gap_b:?}");
    assert!(gap_a <= Duration::from_millis(1200), "B -> A gap {gap_a:?}");
}

#[test]
fn wifi_down_then_cellular_up() {
    // One second with no network at all; then gathering, checks and nomination on the new
    // interface take a few round trips.
    let (gap_a, gap_b) = wifi_to_cellular(43, true, Duration::from_secs(2), Duration::from_secs(3));
    assert!(
        gap_a <= Duration::from_millis(1300) && gap_b <= Duration::from_millis(1300),
        "{gap_a:?} {gap_b:?}"
    );
}

#[test]
fn renomination_with_nomination_values() {
    let (gap_a, gap_b) = wifi_to_cellular_with(
        44,
        true,
        Duration::from_secs(5),
        Duration::from_secs(2),
        true,
    );
    assert!(
        gap_a <= Duration::from_millis(60) && gap_b <= Duration::from_millis(60),
        "{gap_a:?} {gap_b:?}"
    );
    let (gap_a, gap_b) = wifi_to_cellular_with(
        45,
        false,
        Duration::from_secs(5),
        Duration::from_secs(2),
        true,
    );
    assert!(
        gap_b <= Duration::from_millis(60) && gap_a <= Duration::from_millis(1200),
        "{gap_a:?} {gap_b:?}"
    );
}
