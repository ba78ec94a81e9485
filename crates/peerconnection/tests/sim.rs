//! Two peer connections over the deterministic network simulator of `oxrtc_ice::sim`
//! (seeded, virtual clock): connection, data, ICE restart mid-transfer, fingerprints,
//! glare.
#![allow(clippy::unwrap_used)]

use oxrtc::{
    ChannelId, Config, DataChannelInit, DataChannelState, Error, Event, IceCandidateInit, Message,
    OfferOptions, PeerConnection, PeerConnectionState, RtcSessionDescription, SignalingState,
};
use oxrtc_ice::sim::{Endpoint, LinkConfig, Network, RealmId, Simulation};
use oxrtc_ice::{Datagram, Transmit};
use rand_chacha::rand_core::SeedableRng;
use std::time::{Duration, Instant};

struct Peer {
    pc: PeerConnection,
    events: Vec<Event>,
    /// Feed datagrams through `handle_receive_bytes` (owned, decrypted in place) instead
    /// of `handle_receive`: peer b does, so both paths run in every test.
    owned: bool,
}

impl Peer {
    fn drain(&mut self) {
        while let Some(e) = self.pc.poll_event() {
            self.events.push(e);
        }
    }

    fn take_candidates(&mut self) -> Vec<Option<IceCandidateInit>> {
        self.drain();
        let mut out = Vec::new();
        self.events.retain(|e| match e {
            Event::IceCandidate(c) => {
                out.push(c.clone());
                false
            }
            _ => true,
        });
        out
    }

    fn opened(&self) -> Vec<ChannelId> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::ChannelOpen(id) => Some(*id),
                _ => None,
            })
            .collect()
    }

    fn messages(&self) -> Vec<(ChannelId, Message)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::ChannelMessage { id, message } => Some((*id, message.clone())),
                _ => None,
            })
            .collect()
    }

    fn state(&self) -> PeerConnectionState {
        self.pc.connection_state()
    }
}

impl Endpoint for Peer {
    fn handle_receive(&mut self, now: Instant, datagram: Datagram<'_>) {
        if self.owned {
            let d = bytes::BytesMut::from(datagram.contents);
            self.pc
                .handle_receive_bytes(now, datagram.local, datagram.remote, d);
        } else {
            self.pc.handle_receive(now, datagram);
        }
        self.drain();
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.pc.handle_timeout(now);
        self.drain();
    }
    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.pc.poll_transmit()
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.pc.poll_timeout()
    }
}

struct Setup {
    sim: Simulation<Peer>,
    a: usize,
    b: usize,
    start: Instant,
}

fn setup(seed: u64, link: LinkConfig, config: impl Fn() -> Config) -> Setup {
    let start = Instant::now();
    let mut net = Network::new(seed, start);
    net.set_link(link);
    let (ah, aip) = net.add_host(RealmId::INTERNET);
    let (bh, bip) = net.add_host(RealmId::INTERNET);
    let mut sim = Simulation::new(net);
    let mk = |s: u64| {
        let pc = PeerConnection::with_rng(
            config(),
            start,
            rand_chacha::ChaCha20Rng::seed_from_u64(seed * 100 + s),
        )
        .unwrap();
        Peer {
            pc,
            events: Vec::new(),
            owned: s == 2,
        }
    };
    let a = sim.add(ah, mk(1));
    let b = sim.add(bh, mk(2));
    sim.endpoint_mut(a)
        .pc
        .add_local_socket((aip, 5000).into())
        .unwrap();
    sim.endpoint_mut(b)
        .pc
        .add_local_socket((bip, 6000).into())
        .unwrap();
    Setup { sim, a, b, start }
}

/// Trickles candidates both ways (instant signaling).
fn trickle(sim: &mut Simulation<Peer>, a: usize, b: usize) {
    for (from, to) in [(a, b), (b, a)] {
        let cands = sim.endpoint_mut(from).take_candidates();
        for c in cands {
            let to = &mut sim.endpoint_mut(to).pc;
            if to.remote_description().is_some() {
                to.add_ice_candidate(c).unwrap();
            }
        }
    }
}

/// Offer from `a`, answer from `b`, applied at once.
fn negotiate(sim: &mut Simulation<Peer>, a: usize, b: usize) {
    sim.endpoint_mut(a).pc.set_local_description(None).unwrap();
    let offer = sim.endpoint(a).pc.local_description().unwrap();
    sim.endpoint_mut(b)
        .pc
        .set_remote_description(offer)
        .unwrap();
    sim.endpoint_mut(b).pc.set_local_description(None).unwrap();
    let answer = sim.endpoint(b).pc.local_description().unwrap();
    sim.endpoint_mut(a)
        .pc
        .set_remote_description(answer)
        .unwrap();
    sim.endpoint_mut(a).drain();
    sim.endpoint_mut(b).drain();
}

fn connect_with_channel(s: &mut Setup) -> (ChannelId, ChannelId) {
    let (a, b) = (s.a, s.b);
    let ch = s
        .sim
        .endpoint_mut(a)
        .pc
        .create_data_channel("chat", DataChannelInit::default())
        .unwrap();
    negotiate(&mut s.sim, a, b);
    let ok = s.sim.run_until(s.start + Duration::from_secs(10), |sim| {
        trickle(sim, a, b);
        !sim.endpoint(a).opened().is_empty() && !sim.endpoint(b).opened().is_empty()
    });
    assert!(ok, "channel did not open: a {:?}", s.sim.endpoint(a).events);
    let remote = s.sim.endpoint(b).opened()[0];
    assert!(s
        .sim
        .endpoint(b)
        .events
        .contains(&Event::DataChannel(remote)));
    (ch, remote)
}

#[test]
fn two_peers_connect_and_move_data() {
    let mut s = setup(1, LinkConfig::default(), Config::default);
    let (a, b) = (s.a, s.b);
    let (ch, remote) = connect_with_channel(&mut s);
    // Setup on a 10 ms link: ICE + DTLS + SCTP + DCEP in a handful of round trips.
    let setup_time = s.sim.now() - s.start;
    eprintln!("simulated setup time {setup_time:?}");
    assert!(setup_time < Duration::from_millis(400), "{setup_time:?}");
    for p in [a, b] {
        assert_eq!(s.sim.endpoint(p).state(), PeerConnectionState::Connected);
        assert_eq!(
            s.sim.endpoint(p).pc.signaling_state(),
            SignalingState::Stable
        );
    }
    // SRTP keyed from the DTLS exporter, ready for media.
    let profile = s.sim.endpoint(a).pc.srtp_profile();
    assert!(profile.is_some());
    assert_eq!(profile, s.sim.endpoint(b).pc.srtp_profile());
    {
        let bpc = &mut s.sim.endpoint_mut(b).pc;
        let c = bpc.channel(remote).unwrap();
        assert_eq!(c.label(), "chat");
        assert_eq!(c.ready_state(), DataChannelState::Open);
        // a is the offerer, b answered active: b is the DTLS client, a's channel odd.
        assert_eq!(c.stream_id(), Some(1));
    }
    let mut c = s.sim.endpoint_mut(a).pc.channel(ch).unwrap();
    c.set_buffered_amount_low_threshold(1000);
    assert_eq!(c.buffered_amount_low_threshold(), 1000);
    c.send_text("hello").unwrap();
    c.send(vec![1u8, 2, 3]).unwrap();
    c.send(Vec::new()).unwrap();
    let big = vec![7u8; 200_000];
    c.send(big.clone()).unwrap();
    assert!(c.buffered_amount() > 0);
    let done = s.sim.run_until(s.start + Duration::from_secs(20), |sim| {
        sim.endpoint(b).messages().len() == 4
    });
    assert!(done);
    let got = s.sim.endpoint(b).messages();
    // The 200 kB message drained below the threshold: bufferedamountlow fired once.
    let lows = s
        .sim
        .endpoint(a)
        .events
        .iter()
        .filter(|e| **e == Event::ChannelBufferedAmountLow(ch))
        .count();
    assert_eq!(lows, 1);
    assert_eq!(got[0], (remote, Message::Text("hello".into())));
    assert_eq!(got[1], (remote, Message::Binary(vec![1u8, 2, 3].into())));
    assert_eq!(got[2], (remote, Message::Binary(Vec::new().into())));
    assert_eq!(got[3].1.as_bytes(), &big[..]);
    // And back.
    s.sim
        .endpoint_mut(b)
        .pc
        .channel(remote)
        .unwrap()
        .send_text("pong")
        .unwrap();
    assert!(s.sim.run_until(s.start + Duration::from_secs(30), |sim| {
        sim.endpoint(a).messages().len() == 1
    }));
    // Over the remote's max-message-size: a clear error, nothing sent.
    let mut c = s.sim.endpoint_mut(a).pc.channel(ch).unwrap();
    assert_eq!(c.max_message_size(), 262144);
    assert_eq!(
        c.send(vec![0u8; 262145]),
        Err(Error::MessageTooLarge {
            size: 262145,
            max: 262144
        })
    );
    // Close the channel: both sides see it closed.
    c.close();
    assert!(s.sim.run_until(s.start + Duration::from_secs(40), |sim| {
        sim.endpoint(b)
            .events
            .contains(&Event::ChannelClosed(remote))
            && sim.endpoint(a).events.contains(&Event::ChannelClosed(ch))
    }));
}

#[test]
fn same_seed_same_run() {
    let run = |seed| {
        let mut s = setup(seed, LinkConfig::default(), Config::default);
        connect_with_channel(&mut s);
        let t = s.sim.now() - s.start;
        (t, s.sim.network().stats())
    };
    assert_eq!(run(7), run(7));
}

#[test]
fn lossy_link_still_delivers_everything_in_order() {
    let link = LinkConfig {
        latency: Duration::from_millis(20),
        jitter: Duration::from_millis(5),
        loss: 0.05,
        duplicate: 0.01,
    };
    let mut s = setup(3, link, Config::default);
    let (a, b) = (s.a, s.b);
    let (ch, _) = connect_with_channel(&mut s);
    let n = 200usize;
    for i in 0..n {
        let msg = vec![(i % 251) as u8; 1000 + i * 37];
        s.sim
            .endpoint_mut(a)
            .pc
            .channel(ch)
            .unwrap()
            .send(msg)
            .unwrap();
    }
    assert!(s.sim.run_until(s.start + Duration::from_secs(120), |sim| {
        sim.endpoint(b).messages().len() == n
    }));
    for (i, (_, m)) in s.sim.endpoint(b).messages().iter().enumerate() {
        assert_eq!(m.len(), 1000 + i * 37);
        assert!(m.as_bytes().iter().all(|x| *x == (i % 251) as u8));
    }
}

#[test]
fn wrong_fingerprint_fails_the_connection() {
    let mut s = setup(4, LinkConfig::default(), Config::default);
    let (a, b) = (s.a, s.b);
    s.sim
        .endpoint_mut(a)
        .pc
        .create_data_channel("x", DataChannelInit::default())
        .unwrap();
    s.sim
        .endpoint_mut(a)
        .pc
        .set_local_description(None)
        .unwrap();
    let offer = s.sim.endpoint(a).pc.local_description().unwrap();
    // A man in the middle would present another certificate: here the SDP carries the
    // fingerprint of a certificate nobody uses.
    let other = oxrtc_dtls::Certificate::generate().unwrap();
    let fp = other.fingerprint(oxrtc_dtls::FingerprintAlgorithm::Sha256);
    let real = s.sim.endpoint(a).pc.fingerprint().to_string();
    let forged = offer.sdp.replace(&real, &fp.to_string());
    assert_ne!(forged, offer.sdp);
    s.sim
        .endpoint_mut(b)
        .pc
        .set_remote_description(RtcSessionDescription::offer(forged))
        .unwrap();
    s.sim
        .endpoint_mut(b)
        .pc
        .set_local_description(None)
        .unwrap();
    let answer = s.sim.endpoint(b).pc.local_description().unwrap();
    s.sim
        .endpoint_mut(a)
        .pc
        .set_remote_description(answer)
        .unwrap();
    let failed = s.sim.run_until(s.start + Duration::from_secs(10), |sim| {
        trickle(sim, a, b);
        sim.endpoint(b).state() == PeerConnectionState::Failed
    });
    assert!(failed, "b: {:?}", s.sim.endpoint(b).events);
    assert!(s.sim.endpoint(b).events.iter().any(|e| matches!(
        e,
        Event::Failed(Error::Dtls(oxrtc_dtls::Error::FingerprintMismatch))
    )));
    // a gets the fatal alert and fails too; no channel ever opened.
    assert!(s.sim.run_until(s.start + Duration::from_secs(20), |sim| {
        sim.endpoint(a).state() == PeerConnectionState::Failed
    }));
    assert!(s.sim.endpoint(a).opened().is_empty());
    assert!(s.sim.endpoint(b).opened().is_empty());
}

fn ufrag(p: &PeerConnection) -> String {
    let d = p.local_description().unwrap();
    d.sdp
        .lines()
        .find_map(|l| l.strip_prefix("a=ice-ufrag:"))
        .unwrap()
        .to_owned()
}

#[test]
fn ice_restart_while_a_channel_transfers_loses_nothing() {
    let mut s = setup(5, LinkConfig::default(), Config::default);
    let (a, b) = (s.a, s.b);
    let (ch, _) = connect_with_channel(&mut s);
    let before = (ufrag(&s.sim.endpoint(a).pc), ufrag(&s.sim.endpoint(b).pc));
    let n = 300u32;
    let mut sent = 0u32;
    let mut restarted = false;
    let deadline = s.start + Duration::from_secs(60);
    let done = s.sim.run_until(deadline, |sim| {
        trickle(sim, a, b);
        // Keep about 64 KiB in flight.
        while sent < n {
            let mut c = sim.endpoint_mut(a).pc.channel(ch).unwrap();
            if c.buffered_amount() > 64 * 1024 {
                break;
            }
            c.send(sent.to_be_bytes().repeat(1000)).unwrap();
            sent += 1;
        }
        if sent >= n / 3 && !restarted {
            restarted = true;
            sim.endpoint_mut(a).pc.restart_ice().unwrap();
            negotiate(sim, a, b);
        }
        sim.endpoint(b).messages().len() == n as usize
    });
    assert!(done, "got {}", s.sim.endpoint(b).messages().len());
    for (i, (_, m)) in s.sim.endpoint(b).messages().iter().enumerate() {
        assert_eq!(&m.as_bytes()[..4], &(i as u32).to_be_bytes());
    }
    // The restart really happened: new ufrags on both sides, still connected.
    let a_ufrag = ufrag(&s.sim.endpoint(a).pc);
    assert_ne!(a_ufrag, before.0);
    assert_ne!(ufrag(&s.sim.endpoint(b).pc), before.1);
    assert!(s
        .sim
        .endpoint(a)
        .events
        .iter()
        .any(|e| matches!(e, Event::NegotiationNeeded)));
    assert_eq!(s.sim.endpoint(a).state(), PeerConnectionState::Connected);
    let offer = s
        .sim
        .endpoint_mut(a)
        .pc
        .create_offer(OfferOptions::default())
        .unwrap();
    assert!(offer.sdp.contains(&format!("a=ice-ufrag:{a_ufrag}")));
}

#[test]
fn closing_one_peer_closes_the_other_side_channels() {
    let mut s = setup(6, LinkConfig::default(), Config::default);
    let (a, b) = (s.a, s.b);
    let (_, remote) = connect_with_channel(&mut s);
    s.sim.endpoint_mut(a).pc.close();
    assert_eq!(s.sim.endpoint(a).state(), PeerConnectionState::Closed);
    assert!(s.sim.run_until(s.start + Duration::from_secs(30), |sim| {
        sim.endpoint(b)
            .events
            .contains(&Event::ChannelClosed(remote))
    }));
    // The closed side answers nothing and schedules nothing; the other side is not
    // "failed" because its peer left (DTLS close_notify, SCTP ABORT).
    assert!(s.sim.endpoint(a).pc.poll_timeout().is_none());
    assert_eq!(s.sim.endpoint(b).state(), PeerConnectionState::Connected);
    assert!(!s
        .sim
        .endpoint(b)
        .events
        .iter()
        .any(|e| matches!(e, Event::Failed(_))));
    assert_eq!(
        s.sim.endpoint(b).pc.dtls_state(),
        oxrtc::DtlsTransportState::Closed
    );
}

#[test]
fn stats_have_the_browser_field_names() {
    let mut s = setup(8, LinkConfig::default(), Config::default);
    let (a, _) = (s.a, s.b);
    let (ch, _) = connect_with_channel(&mut s);
    s.sim
        .endpoint_mut(a)
        .pc
        .channel(ch)
        .unwrap()
        .send_text("abc")
        .unwrap();
    s.sim.run_for(Duration::from_millis(100));
    let report = s.sim.endpoint(a).pc.stats(1.7e12);
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    let objs = json.as_array().unwrap();
    let of = |t: &str| objs.iter().find(|o| o["type"] == t).unwrap().clone();
    let pcs = of("peer-connection");
    assert_eq!(pcs["dataChannelsOpened"], 1);
    let t = of("transport");
    assert_eq!(t["dtlsState"], "connected");
    assert_eq!(t["iceRole"], "controlling");
    assert_eq!(t["dtlsRole"], "server");
    assert!(t["bytesSent"].as_u64().unwrap() > 0);
    assert_eq!(t["selectedCandidatePairId"], "CP01");
    let cp = of("candidate-pair");
    assert_eq!(cp["localCandidateId"], "CL01");
    assert_eq!(cp["nominated"], true);
    let lc = of("local-candidate");
    assert_eq!(lc["candidateType"], "host");
    assert_eq!(lc["port"], 5000);
    assert_eq!(of("remote-candidate")["port"], 6000);
    let cert = of("certificate");
    assert_eq!(cert["fingerprintAlgorithm"], "sha-256");
    assert!(cert["base64Certificate"].as_str().unwrap().len() > 100);
    let dc = of("data-channel");
    assert_eq!(dc["label"], "chat");
    assert_eq!(dc["state"], "open");
    assert_eq!(dc["messagesSent"], 1);
    assert_eq!(dc["bytesSent"], 3);
    assert_eq!(dc["dataChannelIdentifier"], 1);
    assert_eq!(pcs["timestamp"], 1.7e12);
    // And the report deserialises back.
    let back: Vec<oxrtc::Stats> = serde_json::from_value(json).unwrap();
    assert_eq!(back, report.0);
}

/// A signaling message between the two peers.
#[derive(Debug, Clone)]
enum Signal {
    Description(RtcSessionDescription),
    Candidate(Option<IceCandidateInit>),
}

#[test]
fn glare_resolved_by_perfect_negotiation() {
    use oxrtc::PerfectNegotiation;
    use std::collections::VecDeque;
    let mut s = setup(9, LinkConfig::default(), Config::default);
    let (a, b) = (s.a, s.b);
    // Both create a channel at the same instant: both want to offer.
    for p in [a, b] {
        s.sim
            .endpoint_mut(p)
            .pc
            .create_data_channel(
                if p == a { "from-a" } else { "from-b" },
                DataChannelInit::default(),
            )
            .unwrap();
    }
    let mut neg = [
        PerfectNegotiation::new(true),
        PerfectNegotiation::new(false),
    ];
    // Signaling with a delay: messages sent in one round are delivered in the next.
    let mut wire: [VecDeque<Signal>; 2] = [VecDeque::new(), VecDeque::new()];
    let mut rolled_back = false;
    let mut ok = false;
    // Signaling rounds 10 ms apart, the network running in between.
    for _ in 0..1000 {
        let sim = &mut s.sim;
        let mut outgoing: [Vec<Signal>; 2] = [Vec::new(), Vec::new()];
        for (i, p) in [a, b].into_iter().enumerate() {
            // Deliver what the other side sent last round.
            while let Some(m) = wire[i].pop_front() {
                let pc = &mut sim.endpoint_mut(p).pc;
                match m {
                    Signal::Description(d) => {
                        let was = pc.signaling_state();
                        if let Some(reply) = neg[i].on_remote_description(pc, d).unwrap() {
                            if was == SignalingState::HaveLocalOffer {
                                rolled_back = true;
                            }
                            outgoing[i].push(Signal::Description(reply));
                        }
                    }
                    Signal::Candidate(c) => neg[i].on_remote_candidate(pc, c).unwrap(),
                }
            }
            let peer = sim.endpoint_mut(p);
            peer.drain();
            let mut needed = false;
            peer.events.retain(|e| match e {
                Event::NegotiationNeeded => {
                    needed = true;
                    false
                }
                Event::IceCandidate(c) => {
                    outgoing[i].push(Signal::Candidate(c.clone()));
                    false
                }
                _ => true,
            });
            if needed {
                if let Some(offer) = neg[i].on_negotiation_needed(&mut peer.pc).unwrap() {
                    outgoing[i].push(Signal::Description(offer));
                }
            }
        }
        for (i, out) in outgoing.into_iter().enumerate() {
            wire[1 - i].extend(out);
        }
        if [a, b].iter().all(|&p| sim.endpoint(p).opened().len() == 2) {
            ok = true;
            break;
        }
        sim.run_for(Duration::from_millis(10));
    }
    assert!(
        ok,
        "a: {:?}\nb: {:?}",
        s.sim.endpoint(a).events,
        s.sim.endpoint(b).events
    );
    assert!(
        rolled_back,
        "the polite peer never rolled back: no glare happened"
    );
    for p in [a, b] {
        let pc = &mut s.sim.endpoint_mut(p).pc;
        assert_eq!(pc.signaling_state(), SignalingState::Stable);
        assert!(!pc.is_negotiation_needed());
        let labels: Vec<String> = pc
            .channel_ids()
            .into_iter()
            .map(|id| pc.channel(id).unwrap().label().to_owned())
            .collect();
        assert!(labels.contains(&"from-a".to_owned()) && labels.contains(&"from-b".to_owned()));
    }
    // The polite peer answered: its agent took the controlled role when its rolled-back
    // offer gave way, instead of both agents controlling until a role conflict.
    let role = |p: usize| {
        let json: serde_json::Value =
            serde_json::from_str(&s.sim.endpoint(p).pc.stats(0.0).to_json()).unwrap();
        json.as_array()
            .unwrap()
            .iter()
            .find(|o| o["type"] == "transport")
            .unwrap()["iceRole"]
            .clone()
    };
    assert_eq!(role(a), "controlled");
    assert_eq!(role(b), "controlling");
}

#[test]
fn an_ice_restart_offer_is_applied_only_with_set_local_description() {
    let mut s = setup(12, LinkConfig::default(), Config::default);
    let (a, b) = (s.a, s.b);
    let (ch, _) = connect_with_channel(&mut s);
    let before = ufrag(&s.sim.endpoint(a).pc);
    let pc = &mut s.sim.endpoint_mut(a).pc;
    let offer = pc.create_offer(OfferOptions { ice_restart: true }).unwrap();
    let new_ufrag = offer
        .sdp
        .lines()
        .find_map(|l| l.strip_prefix("a=ice-ufrag:"))
        .unwrap()
        .to_owned();
    assert_ne!(new_ufrag, before);
    // Not applied: the agent keeps its credentials, no candidate of the new generation
    // is signalled, and the connection carries on with the old ones.
    s.sim.run_for(Duration::from_secs(2));
    let leaked = s
        .sim
        .endpoint_mut(a)
        .take_candidates()
        .into_iter()
        .flatten()
        .any(|c| {
            c.username_fragment.as_deref() == Some(new_ufrag.as_str())
                || c.candidate.contains(&new_ufrag)
        });
    assert!(
        !leaked,
        "candidates of an unapplied restart offer were signalled"
    );
    assert_eq!(ufrag(&s.sim.endpoint(a).pc), before);
    s.sim
        .endpoint_mut(a)
        .pc
        .channel(ch)
        .unwrap()
        .send_text("still here")
        .unwrap();
    assert!(s.sim.run_until(s.start + Duration::from_secs(30), |sim| {
        !sim.endpoint(b).messages().is_empty()
    }));
    // Applied: the restart happens with the offer's credentials.
    let pc = &mut s.sim.endpoint_mut(a).pc;
    pc.set_local_description(Some(offer)).unwrap();
    assert_eq!(ufrag(pc), new_ufrag);
    s.sim.run_for(Duration::from_millis(100));
    let fresh = s
        .sim
        .endpoint_mut(a)
        .take_candidates()
        .into_iter()
        .flatten()
        .any(|c| c.username_fragment.as_deref() == Some(new_ufrag.as_str()));
    assert!(
        fresh,
        "the applied restart signals candidates of the new generation"
    );
}

#[test]
fn dtls_from_a_stranger_is_dropped() {
    let mut s = setup(10, LinkConfig::default(), Config::default);
    let (a, _) = (s.a, s.b);
    connect_with_channel(&mut s);
    let stranger: std::net::SocketAddr = "203.0.113.9:4444".parse().unwrap();
    let local = s.sim.endpoint(a).pc.selected_pair().unwrap().0;
    let before = s.sim.endpoint(a).pc.stats(0.0);
    let discarded = |r: &oxrtc::StatsReport| {
        r.0.iter()
            .find_map(|x| match x {
                oxrtc::Stats::Transport(t) => Some(t.packets_discarded),
                _ => None,
            })
            .unwrap()
    };
    // A forged fatal alert (handshake_failure) in epoch 0 from a stranger.
    let alert = [21u8, 254, 253, 0, 0, 0, 0, 0, 0, 0, 9, 0, 2, 2, 40];
    let now = s.sim.now();
    s.sim
        .endpoint_mut(a)
        .pc
        .handle_receive(now, Datagram::udp(local, stranger, &alert));
    let after = s.sim.endpoint(a).pc.stats(0.0);
    assert_eq!(discarded(&after), discarded(&before) + 1);
    assert_eq!(s.sim.endpoint(a).state(), PeerConnectionState::Connected);
}

#[test]
fn icecandidate_events_end_with_the_null_candidate() {
    let mut s = setup(11, LinkConfig::default(), Config::default);
    let a = s.a;
    let pc = &mut s.sim.endpoint_mut(a).pc;
    pc.create_data_channel("x", DataChannelInit::default())
        .unwrap();
    pc.set_local_description(None).unwrap();
    let events: Vec<Event> = std::iter::from_fn(|| pc.poll_event()).collect();
    let cands: Vec<&Option<IceCandidateInit>> = events
        .iter()
        .filter_map(|e| match e {
            Event::IceCandidate(c) => Some(c),
            _ => None,
        })
        .collect();
    assert_eq!(cands.len(), 2, "{events:?}");
    let host = cands[0].as_ref().unwrap();
    assert!(host.candidate.starts_with("candidate:"));
    assert!(host.candidate.contains(" 5000 typ host"));
    assert_eq!(host.sdp_mid.as_deref(), Some("0"));
    assert_eq!(host.sdp_m_line_index, Some(0));
    assert_eq!(
        host.username_fragment.as_deref(),
        Some(super_ufrag(pc).as_str())
    );
    assert_eq!(cands[1], &None);
    assert!(events.contains(&Event::IceGatheringStateChange(
        oxrtc::IceGatheringState::Complete
    )));
    // The local description now carries the candidate and end-of-candidates.
    let sdp = pc.local_description().unwrap().sdp;
    assert!(sdp.contains(&format!("a={}\r\n", host.candidate)));
    assert!(sdp.contains("a=end-of-candidates\r\n"));
    assert!(sdp.contains(" 5000 IN IP4 ") || sdp.contains("m=application 5000 "));
}

fn super_ufrag(pc: &PeerConnection) -> String {
    ufrag(pc)
}

#[test]
fn peers_behind_nats_connect_through_server_reflexive_candidates() {
    use oxrtc_ice::sim::NatType;
    let start = Instant::now();
    let mut net = Network::new(12, start);
    let stun = net.add_stun_server();
    let (_, home_a) = net.add_nat(NatType::PortRestricted, RealmId::INTERNET);
    let (_, home_b) = net.add_nat(NatType::AddressRestricted, RealmId::INTERNET);
    let (ah, aip) = net.add_host(home_a);
    let (bh, bip) = net.add_host(home_b);
    let mut sim = Simulation::new(net);
    let config = || Config {
        ice_servers: vec![oxrtc::IceServer::new(format!("stun:{stun}"))],
        ..Config::default()
    };
    let mk = |seed: u64, ip: std::net::IpAddr| {
        let mut pc = PeerConnection::with_rng(
            config(),
            start,
            rand_chacha::ChaCha20Rng::seed_from_u64(seed),
        )
        .unwrap();
        pc.add_local_socket((ip, 5000).into()).unwrap();
        Peer {
            pc,
            events: Vec::new(),
            owned: seed == 2,
        }
    };
    let a = sim.add(ah, mk(1, aip));
    let b = sim.add(bh, mk(2, bip));
    sim.endpoint_mut(a)
        .pc
        .create_data_channel("nat", DataChannelInit::default())
        .unwrap();
    negotiate(&mut sim, a, b);
    let ok = sim.run_until(start + Duration::from_secs(10), |sim| {
        trickle(sim, a, b);
        !sim.endpoint(b).opened().is_empty()
    });
    assert!(ok, "{:?}", sim.endpoint(a).events);
    // The pair in use is not between the private host addresses.
    let (_, remote) = sim.endpoint(a).pc.selected_pair().unwrap();
    assert_ne!(remote.ip(), bip);
    let stats = sim.endpoint(a).pc.stats(0.0).to_json();
    assert!(stats.contains("\"candidateType\":\"srflx\""), "{stats}");
}
