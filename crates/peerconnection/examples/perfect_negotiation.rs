//! Perfect negotiation: two peers that both create a data channel at the same moment
//! (glare), on a simulated network with a 20 ms signaling delay. The polite peer rolls
//! its offer back and answers; both channels open on both sides.
//!
//! `cargo run -p oxrtc --example perfect_negotiation`
#![allow(clippy::unwrap_used)]

use oxrtc::{
    Config, DataChannelInit, Event, IceCandidateInit, Message, PeerConnection, PerfectNegotiation,
    RtcSessionDescription,
};
use oxrtc_ice::sim::{Endpoint, Network, RealmId, Simulation};
use oxrtc_ice::{Datagram, Transmit};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// A peer on the simulated network: the sans-IO connection, its negotiation state and
/// the events not handled yet.
struct Peer {
    name: &'static str,
    pc: PeerConnection,
    negotiation: PerfectNegotiation,
    events: VecDeque<Event>,
}

impl Endpoint for Peer {
    fn handle_receive(&mut self, now: Instant, datagram: Datagram<'_>) {
        self.pc.handle_receive(now, datagram);
        self.events
            .extend(std::iter::from_fn(|| self.pc.poll_event()));
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.pc.handle_timeout(now);
        self.events
            .extend(std::iter::from_fn(|| self.pc.poll_event()));
    }
    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.pc.poll_transmit()
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.pc.poll_timeout()
    }
}

/// What goes over the signaling channel (JSON in a real application).
enum Signal {
    Description(RtcSessionDescription),
    Candidate(Option<IceCandidateInit>),
}

fn main() {
    let start = Instant::now();
    let mut net = Network::new(1, start);
    let (ha, ipa) = net.add_host(RealmId::INTERNET);
    let (hb, ipb) = net.add_host(RealmId::INTERNET);
    let mut sim = Simulation::new(net);
    let mut peers =
        [("alice", ha, ipa, true), ("bob", hb, ipb, false)].map(|(name, host, ip, polite)| {
            let mut pc = PeerConnection::new(Config::default(), start).unwrap();
            pc.add_local_socket((ip, 5000).into()).unwrap();
            // Both create a channel now: both get negotiation-needed, both offer (glare).
            pc.create_data_channel(&format!("from-{name}"), DataChannelInit::default())
                .unwrap();
            let events = std::iter::from_fn(|| pc.poll_event()).collect();
            let peer = Peer {
                name,
                pc,
                negotiation: PerfectNegotiation::new(polite),
                events,
            };
            sim.add(host, peer)
        });
    peers.sort();
    let mut inbox: [VecDeque<Signal>; 2] = [VecDeque::new(), VecDeque::new()];
    let mut open = [0, 0];
    while open != [2, 2] && sim.now() - start < Duration::from_secs(10) {
        let mut outbox: [Vec<Signal>; 2] = [Vec::new(), Vec::new()];
        for i in 0..2 {
            let p = sim.endpoint_mut(peers[i]);
            for signal in inbox[i].drain(..) {
                match signal {
                    Signal::Description(d) => {
                        println!(
                            "{}: got {:?} in state {:?}",
                            p.name,
                            d.sdp_type,
                            p.pc.signaling_state()
                        );
                        if let Some(reply) =
                            p.negotiation.on_remote_description(&mut p.pc, d).unwrap()
                        {
                            outbox[i].push(Signal::Description(reply));
                        }
                    }
                    Signal::Candidate(c) => {
                        p.negotiation.on_remote_candidate(&mut p.pc, c).unwrap()
                    }
                }
            }
            p.events.extend(std::iter::from_fn(|| p.pc.poll_event()));
            while let Some(e) = p.events.pop_front() {
                match e {
                    Event::NegotiationNeeded => {
                        if let Some(offer) = p.negotiation.on_negotiation_needed(&mut p.pc).unwrap()
                        {
                            println!("{}: negotiation needed, sending an offer", p.name);
                            outbox[i].push(Signal::Description(offer));
                        }
                    }
                    Event::IceCandidate(c) => outbox[i].push(Signal::Candidate(c)),
                    Event::ChannelOpen(id) => {
                        open[i] += 1;
                        let mut ch = p.pc.channel(id).unwrap();
                        println!("{}: channel {:?} open", p.name, ch.label());
                        ch.send_text(&format!("hello from {}", p.name)).unwrap();
                    }
                    Event::ChannelMessage {
                        id,
                        message: Message::Text(t),
                    } => {
                        let label = p.pc.channel(id).unwrap().label().to_owned();
                        println!("{}: on {label:?}: {t}", p.name);
                    }
                    Event::SignalingStateChange(s) => println!("{}: signaling state {s:?}", p.name),
                    Event::ConnectionStateChange(s) => {
                        println!("{}: connection state {s:?}", p.name)
                    }
                    _ => {}
                }
            }
        }
        for (i, out) in outbox.into_iter().enumerate() {
            inbox[1 - i].extend(out);
        }
        sim.run_for(Duration::from_millis(20));
    }
    sim.run_for(Duration::from_millis(100));
    for idx in peers {
        let p = sim.endpoint_mut(idx);
        for e in std::iter::from_fn(|| p.pc.poll_event()).chain(p.events.drain(..)) {
            if let Event::ChannelMessage {
                message: Message::Text(t),
                ..
            } = e
            {
                println!("{}: {t}", p.name);
            }
        }
    }
    assert_eq!(open, [2, 2], "both channels open on both sides");
    println!("done in {:?} of simulated time", sim.now() - start);
}
