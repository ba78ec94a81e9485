//! ICE-TCP (RFC 6544): an active candidate connects to a passive one. The simulator carries
//! TCP frames as lossless datagrams; framing and connections are the runtime's.
#![allow(clippy::unwrap_used)]

use oxrtc_ice::sim::{IcePeer, Network, RealmId, Simulation};
use oxrtc_ice::{AgentConfig, LocalSocket, Protocol, TcpType};
use std::time::{Duration, Instant};

#[test]
fn active_to_passive() {
    let start = Instant::now();
    let mut net = Network::new(71, start);
    let (ha, a_ip) = net.add_host(RealmId::INTERNET);
    let (hb, b_ip) = net.add_host(RealmId::INTERNET);
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
    sim.endpoint_mut(a)
        .add_socket(start, LocalSocket::tcp((a_ip, 9).into(), TcpType::Active));
    sim.endpoint_mut(b).add_socket(
        start,
        LocalSocket::tcp((b_ip, 443).into(), TcpType::Passive),
    );
    IcePeer::exchange_credentials(&mut sim, a, b);
    sim.endpoint_mut(a).agent.gather(start);
    sim.endpoint_mut(b).agent.gather(start);
    let ok = sim.run_until(start + Duration::from_secs(5), |sim| {
        IcePeer::trickle(sim, a, b);
        [a, b].iter().all(|&p| {
            sim.endpoint(p)
                .agent
                .selected_pair()
                .is_some_and(|s| s.nominated)
        })
    });
    assert!(ok);
    let pa = sim.endpoint(a).agent.selected_pair().unwrap();
    assert_eq!(pa.transport, Protocol::Tcp);
    assert_eq!(pa.local.tcp_type, Some(TcpType::Active));
    assert_eq!(pa.destination, (b_ip, 443).into());
    let pb = sim.endpoint(b).agent.selected_pair().unwrap();
    assert_eq!(pb.local.tcp_type, Some(TcpType::Passive));
    // The passive side never opened a check of its own before being checked.
    let first_b_check = sim.endpoint(b).agent.stats().checks_sent;
    assert!(first_b_check >= 1);
    let now = sim.now();
    assert!(sim.endpoint_mut(b).send(now, &[0x80, 1, 2, 3]));
    sim.run_for(Duration::from_millis(50));
    assert_eq!(
        sim.endpoint(a).received.last().map(|(_, d)| d.clone()),
        Some(vec![0x80, 1, 2, 3])
    );
}
