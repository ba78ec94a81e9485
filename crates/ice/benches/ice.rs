//! Benchmarks: candidate parsing and writing, answering a connectivity check, wrapping data
//! for a TURN relay, and a whole connection through two NATs in the simulator.
#![allow(clippy::unwrap_used, missing_docs)]

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use oxrtc_ice::sim::{IcePeer, NatType, Network, RealmId, Simulation};
use oxrtc_ice::*;
use oxrtc_stun::{
    Class, IceControlling, IntegrityKey, MessageBuilder, Method, Priority, TransactionId, Username,
};

const CHROME: &str = "candidate:1845501695 1 udp 1686052607 198.51.100.44 60134 typ srflx raddr 10.0.1.5 rport 60134 generation 0 ufrag 5b8H network-id 1 network-cost 10";

/// Two agents behind NATs (`a`, `b`), with a STUN server and, if `turn`, a TURN server
/// and the relay-only policy on A. Returns the simulation once both have a nominated pair.
fn connected(seed: u64, a: NatType, b: NatType, turn: bool) -> (Simulation<IcePeer>, usize, usize) {
    let start = Instant::now();
    let mut net = Network::new(seed, start);
    let stun = net.add_stun_server();
    let turn_addr = net.add_turn_server(&[("alice", "secret")]);
    let (_, ra) = net.add_nat(a, RealmId::INTERNET);
    let (_, rb) = net.add_nat(b, RealmId::INTERNET);
    let (ha, a_ip) = net.add_host(ra);
    let (hb, b_ip) = net.add_host(rb);
    let mut servers = vec![IceServer::stun(format!("stun:{stun}"))];
    if turn {
        servers.push(IceServer::turn(
            format!("turn:{turn_addr}"),
            "alice",
            "secret",
        ));
    }
    let mut sim = Simulation::new(net);
    let ca = AgentConfig {
        ice_servers: servers.clone(),
        transport_policy: if turn {
            TransportPolicy::Relay
        } else {
            TransportPolicy::All
        },
        ..AgentConfig::default()
    };
    let cb = AgentConfig {
        controlling: false,
        ice_servers: servers,
        ..AgentConfig::default()
    };
    let pa = sim.add(ha, IcePeer::new(ca, start, seed));
    let pb = sim.add(hb, IcePeer::new(cb, start, seed + 1));
    sim.endpoint_mut(pa)
        .add_socket(start, LocalSocket::udp(SocketAddr::new(a_ip, 5000)));
    sim.endpoint_mut(pb)
        .add_socket(start, LocalSocket::udp(SocketAddr::new(b_ip, 5000)));
    IcePeer::exchange_credentials(&mut sim, pa, pb);
    sim.endpoint_mut(pa).agent.gather(start);
    sim.endpoint_mut(pb).agent.gather(start);
    let ok = sim.run_until(start + Duration::from_secs(10), |sim| {
        IcePeer::trickle(sim, pa, pb);
        [pa, pb].iter().all(|&p| {
            sim.endpoint(p)
                .agent
                .selected_pair()
                .is_some_and(|s| s.nominated)
        })
    });
    assert!(ok);
    (sim, pa, pb)
}

fn candidates(c: &mut Criterion) {
    let mut g = c.benchmark_group("candidate");
    g.throughput(Throughput::Elements(1));
    g.bench_function("parse", |b| {
        b.iter(|| black_box(CHROME).parse::<Candidate>().unwrap())
    });
    let cand: Candidate = CHROME.parse().unwrap();
    g.bench_function("write", |b| b.iter(|| black_box(&cand).to_string()));
    g.finish();
}

fn checks(c: &mut Criterion) {
    // B, connected, answers A's consent checks: parse, FINGERPRINT + MESSAGE-INTEGRITY,
    // attributes, a signed response.
    let (mut sim, a, b) = connected(1, NatType::PortRestricted, NatType::FullCone, false);
    let ca = sim.endpoint(a).agent.local_credentials().clone();
    let cb = sim.endpoint(b).agent.local_credentials().clone();
    let pair = sim.endpoint(b).agent.selected_pair().unwrap();
    let mut req = Vec::new();
    let mut m = MessageBuilder::new(
        &mut req,
        Class::Request,
        Method::Binding,
        TransactionId([7; 12]),
    );
    m.add(&Username(&format!("{}:{}", cb.ufrag, ca.ufrag)))
        .unwrap();
    m.add(&Priority(1_853_824_767)).unwrap();
    m.add(&IceControlling(sim.endpoint(a).agent.tie_breaker()))
        .unwrap();
    m.add_message_integrity(&IntegrityKey::short_term(&cb.pwd))
        .unwrap();
    m.add_fingerprint().unwrap();
    let now = sim.now();
    let agent = &mut sim.endpoint_mut(b).agent;
    let datagram = Datagram::udp(pair.source, pair.destination, &req);
    let mut g = c.benchmark_group("agent");
    g.throughput(Throughput::Elements(1));
    g.bench_function("answer_check", |bench| {
        bench.iter(|| {
            agent.handle_receive(now, black_box(datagram)).unwrap();
            let _ = black_box(agent.poll_transmit().unwrap());
        })
    });
    let payload = vec![0x80u8; 1200];
    g.throughput(Throughput::Bytes(payload.len() as u64));
    g.bench_function("send_direct_1200", |bench| {
        bench.iter(|| black_box(agent.send(now, black_box(&payload)).unwrap()))
    });
    g.finish();
}

fn relay(c: &mut Criterion) {
    let (mut sim, a, _) = connected(2, NatType::Symmetric, NatType::Symmetric, true);
    let now = sim.now();
    let agent = &mut sim.endpoint_mut(a).agent;
    assert!(agent.selected_pair().unwrap().relay.is_some());
    let payload = vec![0x80u8; 1200];
    let mut g = c.benchmark_group("agent");
    g.throughput(Throughput::Bytes(payload.len() as u64));
    g.bench_function("send_relayed_1200", |bench| {
        bench.iter(|| black_box(agent.send(now, black_box(&payload)).unwrap()))
    });
    g.finish();
}

fn connection(c: &mut Criterion) {
    let mut g = c.benchmark_group("simulated_connection");
    g.throughput(Throughput::Elements(1));
    g.sample_size(20);
    g.bench_function("nat_to_nat_srflx", |b| {
        b.iter(|| {
            connected(
                3,
                NatType::PortRestricted,
                NatType::AddressRestricted,
                false,
            )
        })
    });
    g.bench_function("symmetric_to_symmetric_relay", |b| {
        b.iter(|| connected(4, NatType::Symmetric, NatType::Symmetric, true))
    });
    g.finish();
}

criterion_group!(benches, candidates, checks, relay, connection);
criterion_main!(benches);
