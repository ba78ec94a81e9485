//! Shared scenario helpers for the simulator tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use oxrtc_ice::sim::{HostId, IcePeer, NatType, Network, RealmId, Simulation};
use oxrtc_ice::{AgentConfig, ConnectionState, IceEvent, IceServer, LocalSocket};

pub type Sim = Simulation<IcePeer>;

/// Where a peer sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Public,
    Behind(NatType),
}

pub struct Scenario {
    pub sim: Sim,
    /// The TURN server, when the scenario has one.
    pub turn: Option<SocketAddr>,
    pub start: Instant,
    pub a: usize,
    pub b: usize,
    pub a_ip: IpAddr,
    pub b_ip: IpAddr,
    pub stun: SocketAddr,
}

pub fn config(controlling: bool, stun: SocketAddr) -> AgentConfig {
    AgentConfig {
        controlling,
        ice_servers: vec![IceServer::stun(format!("stun:{stun}"))],
        ..AgentConfig::default()
    }
}

pub fn host_in(net: &mut Network, place: Place) -> (HostId, IpAddr) {
    match place {
        Place::Public => net.add_host(RealmId::INTERNET),
        Place::Behind(kind) => {
            let (_, realm) = net.add_nat(kind, RealmId::INTERNET);
            net.add_host(realm)
        }
    }
}

/// Two peers (A controlling) placed as asked, with a STUN server, sockets added,
/// credentials exchanged and gathering started.
pub fn scenario(seed: u64, a: Place, b: Place, tweak: impl Fn(&mut AgentConfig)) -> Scenario {
    scenario_with(
        seed,
        a,
        b,
        |c| {
            tweak(c);
            c.controlling = true;
        },
        |c| {
            tweak(c);
            c.controlling = false;
        },
    )
}

/// As [`scenario`], configuring each side separately (roles included).
pub fn scenario_with(
    seed: u64,
    a: Place,
    b: Place,
    tweak_a: impl Fn(&mut AgentConfig),
    tweak_b: impl Fn(&mut AgentConfig),
) -> Scenario {
    let start = Instant::now();
    let mut net = Network::new(seed, start);
    let stun = net.add_stun_server();
    let (ha, a_ip) = host_in(&mut net, a);
    let (hb, b_ip) = host_in(&mut net, b);
    let mut sim = Simulation::new(net);
    let mut ca = config(true, stun);
    let mut cb = config(false, stun);
    tweak_a(&mut ca);
    tweak_b(&mut cb);
    let ia = sim.add(ha, IcePeer::new(ca, start, seed * 2 + 1));
    let ib = sim.add(hb, IcePeer::new(cb, start, seed * 2 + 2));
    sim.endpoint_mut(ia)
        .add_socket(start, LocalSocket::udp(SocketAddr::new(a_ip, 5000)));
    sim.endpoint_mut(ib)
        .add_socket(start, LocalSocket::udp(SocketAddr::new(b_ip, 6000)));
    IcePeer::exchange_credentials(&mut sim, ia, ib);
    sim.endpoint_mut(ia).agent.gather(start);
    sim.endpoint_mut(ib).agent.gather(start);
    Scenario {
        sim,
        turn: None,
        start,
        a: ia,
        b: ib,
        a_ip,
        b_ip,
        stun,
    }
}

/// As [`scenario_with`], with a TURN server (user `alice`, password `secret`) on the
/// Internet; `turn_url` makes the agents' URL from its address (e.g. to pick TCP).
pub fn relay_scenario(
    seed: u64,
    a: Place,
    b: Place,
    turn_url: impl Fn(SocketAddr) -> String,
    tweak_a: impl Fn(&mut AgentConfig),
    tweak_b: impl Fn(&mut AgentConfig),
) -> Scenario {
    let start = Instant::now();
    let mut net = Network::new(seed, start);
    let stun = net.add_stun_server();
    let turn = net.add_turn_server(&[("alice", "secret")]);
    let (ha, a_ip) = host_in(&mut net, a);
    let (hb, b_ip) = host_in(&mut net, b);
    let mut sim = Simulation::new(net);
    let servers = vec![
        IceServer::stun(format!("stun:{stun}")),
        IceServer::turn(turn_url(turn), "alice", "secret"),
    ];
    let mut ca = AgentConfig {
        controlling: true,
        ice_servers: servers.clone(),
        ..AgentConfig::default()
    };
    let mut cb = AgentConfig {
        controlling: false,
        ice_servers: servers,
        ..AgentConfig::default()
    };
    tweak_a(&mut ca);
    tweak_b(&mut cb);
    let ia = sim.add(ha, IcePeer::new(ca, start, seed * 2 + 1));
    let ib = sim.add(hb, IcePeer::new(cb, start, seed * 2 + 2));
    sim.endpoint_mut(ia)
        .add_socket(start, LocalSocket::udp(SocketAddr::new(a_ip, 5000)));
    sim.endpoint_mut(ib)
        .add_socket(start, LocalSocket::udp(SocketAddr::new(b_ip, 6000)));
    IcePeer::exchange_credentials(&mut sim, ia, ib);
    sim.endpoint_mut(ia).agent.gather(start);
    sim.endpoint_mut(ib).agent.gather(start);
    Scenario {
        sim,
        turn: Some(turn),
        start,
        a: ia,
        b: ib,
        a_ip,
        b_ip,
        stun,
    }
}

pub fn state(sim: &Sim, i: usize) -> ConnectionState {
    sim.endpoint(i).agent.connection_state()
}

pub fn connected(s: ConnectionState) -> bool {
    matches!(s, ConnectionState::Connected | ConnectionState::Completed)
}

/// Runs with instant trickle until both are connected with a nominated pair on both sides
/// (true) or the limit passes.
pub fn run_connect(sc: &mut Scenario, limit: Duration) -> bool {
    let (a, b) = (sc.a, sc.b);
    let end = sc.start + limit;
    sc.sim.run_until(end, |sim| {
        IcePeer::trickle(sim, a, b);
        [a, b].iter().all(|&p| {
            connected(state(sim, p))
                && sim
                    .endpoint(p)
                    .agent
                    .selected_pair()
                    .is_some_and(|s| s.nominated)
        })
    })
}

/// When a peer first reached a state.
pub fn first_state(sim: &Sim, i: usize, want: ConnectionState) -> Option<Instant> {
    sim.endpoint(i).events.iter().find_map(|(t, e)| match e {
        IceEvent::ConnectionStateChange(s) if *s == want => Some(*t),
        _ => None,
    })
}

/// Sends `data` from `from` and runs until `to` received it (true) within `limit`.
pub fn data_flows(sim: &mut Sim, from: usize, to: usize, data: &[u8], limit: Duration) -> bool {
    let now = sim.now();
    let before = sim.endpoint(to).received.len();
    if !sim.endpoint_mut(from).send(now, data) {
        return false;
    }
    let end = now + limit;
    sim.run_until(end, |sim| {
        sim.endpoint(to).received[before..]
            .iter()
            .any(|(_, d)| d == data)
    })
}

pub fn dump(sim: &Sim, i: usize, start: Instant) {
    for (t, e) in &sim.endpoint(i).events {
        eprintln!("[{i}] {:>8.3} {e:?}", (*t - start).as_secs_f64());
    }
    eprintln!(
        "[{i}] stats {:?} pairs {}",
        sim.endpoint(i).agent.stats(),
        sim.endpoint(i).agent.pair_count()
    );
}

/// Application data that the demultiplexer will not take for STUN or TURN (RFC 7983:
/// 128-191 is RTP/RTCP).
pub fn packet(from: usize, n: u32) -> Vec<u8> {
    let mut v = vec![0x80, from as u8];
    v.extend_from_slice(&n.to_be_bytes());
    v
}

/// Sends a numbered packet from each side every `interval` for `duration` (stepping the
/// simulation, with `each` run before every step); returns, per receiving side (a, then
/// b), the sequence numbers received and the longest gap between receptions.
pub fn pump(
    sim: &mut Sim,
    a: usize,
    b: usize,
    duration: Duration,
    interval: Duration,
    mut each: impl FnMut(&mut Sim),
) -> [(Vec<u32>, Duration); 2] {
    let start = sim.now();
    let before = [
        sim.endpoint(a).received.len(),
        sim.endpoint(b).received.len(),
    ];
    let mut n = 0u32;
    let mut next = start;
    let end = start + duration;
    while sim.now() < end {
        if sim.now() >= next {
            let now = sim.now();
            sim.endpoint_mut(a).send(now, &packet(a, n));
            sim.endpoint_mut(b).send(now, &packet(b, n));
            n += 1;
            next = now + interval;
        }
        each(sim);
        sim.step(next.min(end));
    }
    let mut out = [(Vec::new(), Duration::ZERO), (Vec::new(), Duration::ZERO)];
    for (k, (p, from)) in [(a, b), (b, a)].into_iter().enumerate() {
        let got: Vec<_> = sim.endpoint(p).received[before[k]..]
            .iter()
            .filter(|(_, d)| d.len() == 6 && d[0] == 0x80 && usize::from(d[1]) == from)
            .map(|(t, d)| (*t, u32::from_be_bytes([d[2], d[3], d[4], d[5]])))
            .collect();
        let mut gap = Duration::ZERO;
        let mut last = start;
        for (t, _) in &got {
            gap = gap.max(*t - last);
            last = *t;
        }
        gap = gap.max(end - last);
        out[k] = (got.into_iter().map(|(_, n)| n).collect(), gap);
    }
    out
}
