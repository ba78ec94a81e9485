//! Media between two oxrtc peers over the deterministic simulator (`oxrtc_ice::sim`):
//! audio and video from the interop clips both ways with loss (NACK/RTX repairs it),
//! hold and resume, replace_track, simulcast received as three streams, DTMF, transforms,
//! RTCP and stats.
#![allow(clippy::unwrap_used)]

use bytes::Bytes;
use oxrtc::rtp::container::ivf::IvfReader;
use oxrtc::rtp::container::ogg::OggOpusReader;
use oxrtc::{
    Config, Direction, EncodedFrame, Event, MediaKind, MediaStreamTrack, PeerConnection,
    PeerConnectionState, RtpEncodingParameters, Sample, SignalingState, TransceiverId,
    TransceiverInit,
};
use oxrtc_ice::sim::{Endpoint, LinkConfig, Network, RealmId, Simulation};
use oxrtc_ice::{Datagram, Transmit};
use rand_chacha::rand_core::SeedableRng;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Frames a peer writes on a timer: (transceiver, rid, frames, interval).
struct Source {
    transceiver: TransceiverId,
    rid: Option<String>,
    frames: VecDeque<Bytes>,
    interval: Duration,
    next: Instant,
    written: usize,
    errors: usize,
}

struct Peer {
    pc: PeerConnection,
    events: Vec<Event>,
    sources: Vec<Source>,
}

impl Peer {
    fn drain(&mut self) {
        while let Some(e) = self.pc.poll_event() {
            self.events.push(e);
        }
    }

    fn write_due(&mut self, now: Instant) {
        for s in &mut self.sources {
            while s.next <= now {
                let Some(f) = s.frames.pop_front() else {
                    break;
                };
                let sample = Sample {
                    data: f,
                    duration: s.interval,
                    rid: s.rid.clone(),
                };
                match self
                    .pc
                    .sender(s.transceiver)
                    .unwrap()
                    .write_sample(s.next, sample)
                {
                    Ok(()) => s.written += 1,
                    Err(_) => s.errors += 1,
                }
                s.next += s.interval;
            }
        }
    }

    fn frames(&self, t: TransceiverId) -> Vec<EncodedFrame> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Frame { transceiver, frame } if *transceiver == t => Some(frame.clone()),
                _ => None,
            })
            .collect()
    }

    fn packets(&self, t: TransceiverId) -> usize {
        self.events
            .iter()
            .filter(|e| matches!(e, Event::RtpPacket { transceiver, .. } if *transceiver == t))
            .count()
    }

    fn stats_json(&self) -> Vec<serde_json::Value> {
        let v: serde_json::Value = serde_json::from_str(&self.pc.stats(1.0).to_json()).unwrap();
        v.as_array().unwrap().clone()
    }
}

impl Endpoint for Peer {
    fn handle_receive(&mut self, now: Instant, datagram: Datagram<'_>) {
        self.pc.handle_receive(now, datagram);
        self.drain();
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.write_due(now);
        self.pc.handle_timeout(now);
        self.drain();
    }
    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.pc.poll_transmit()
    }
    fn poll_timeout(&self) -> Option<Instant> {
        let src = self
            .sources
            .iter()
            .filter(|s| !s.frames.is_empty())
            .map(|s| s.next)
            .min();
        [self.pc.poll_timeout(), src].into_iter().flatten().min()
    }
}

struct Setup {
    sim: Simulation<Peer>,
    a: usize,
    b: usize,
    start: Instant,
}

fn setup(seed: u64, link: LinkConfig) -> Setup {
    let start = Instant::now();
    let mut net = Network::new(seed, start);
    net.set_link(link);
    let (ah, aip) = net.add_host(RealmId::INTERNET);
    let (bh, bip) = net.add_host(RealmId::INTERNET);
    let mut sim = Simulation::new(net);
    let mk = |s: u64| Peer {
        pc: PeerConnection::with_rng(
            Config::default(),
            start,
            rand_chacha::ChaCha20Rng::seed_from_u64(seed * 100 + s),
        )
        .unwrap(),
        events: Vec::new(),
        sources: Vec::new(),
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
        sim.endpoint_mut(from).drain();
        let mut cands = Vec::new();
        sim.endpoint_mut(from).events.retain(|e| match e {
            Event::IceCandidate(c) => {
                cands.push(c.clone());
                false
            }
            _ => true,
        });
        for c in cands {
            let to = &mut sim.endpoint_mut(to).pc;
            if to.remote_description().is_some() {
                to.add_ice_candidate(c).unwrap();
            }
        }
    }
}

/// Offer from `a`; `b` runs `before_answer` (e.g. adds its tracks), then answers.
fn negotiate(
    sim: &mut Simulation<Peer>,
    a: usize,
    b: usize,
    before_answer: impl FnOnce(&mut PeerConnection),
) {
    sim.endpoint_mut(a).pc.set_local_description(None).unwrap();
    let offer = sim.endpoint(a).pc.local_description().unwrap();
    sim.endpoint_mut(b)
        .pc
        .set_remote_description(offer)
        .unwrap();
    before_answer(&mut sim.endpoint_mut(b).pc);
    sim.endpoint_mut(b).pc.set_local_description(None).unwrap();
    let answer = sim.endpoint(b).pc.local_description().unwrap();
    sim.endpoint_mut(a)
        .pc
        .set_remote_description(answer)
        .unwrap();
    sim.endpoint_mut(a).drain();
    sim.endpoint_mut(b).drain();
}

fn connect(s: &mut Setup) {
    let (a, b) = (s.a, s.b);
    let ok = s.sim.run_until(s.start + Duration::from_secs(10), |sim| {
        trickle(sim, a, b);
        [a, b]
            .iter()
            .all(|&p| sim.endpoint(p).pc.connection_state() == PeerConnectionState::Connected)
    });
    assert!(ok, "not connected: {:?}", s.sim.endpoint(a).events);
}

fn clip_video() -> Vec<Bytes> {
    let file = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../interop/assets/video-vp8.ivf"
    ))
    .unwrap();
    let mut r = IvfReader::new(&file[..]).unwrap();
    std::iter::from_fn(|| r.next_frame().unwrap())
        .map(|f| Bytes::from(f.data))
        .collect()
}

fn clip_audio() -> Vec<Bytes> {
    let file = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../interop/assets/audio-opus.ogg"
    ))
    .unwrap();
    let mut r = OggOpusReader::new(&file[..]).unwrap();
    std::iter::from_fn(|| r.next_packet().unwrap())
        .map(Bytes::from)
        .collect()
}

fn source(t: TransceiverId, frames: Vec<Bytes>, interval: Duration, at: Instant) -> Source {
    Source {
        transceiver: t,
        rid: None,
        frames: frames.into(),
        interval,
        next: at,
        written: 0,
        errors: 0,
    }
}

fn find<'a>(stats: &'a [serde_json::Value], ty: &str, kind: &str) -> Vec<&'a serde_json::Value> {
    stats
        .iter()
        .filter(|o| o["type"] == ty && o["kind"] == kind)
        .collect()
}

#[test]
fn audio_and_video_both_ways_with_loss_repaired_by_nack_and_rtx() {
    let link = LinkConfig {
        latency: Duration::from_millis(20),
        jitter: Duration::from_millis(5),
        loss: 0.05,
        duplicate: 0.01,
    };
    let mut s = setup(21, link);
    let (a, b) = (s.a, s.b);
    let pa = &mut s.sim.endpoint_mut(a).pc;
    let av = pa
        .add_track(MediaStreamTrack::new(MediaKind::Video, "a-video"), &["a"])
        .unwrap();
    let aa = pa
        .add_track(MediaStreamTrack::new(MediaKind::Audio, "a-audio"), &["a"])
        .unwrap();
    let mut b_tracks = (None, None);
    negotiate(&mut s.sim, a, b, |pc| {
        // b's transceivers come from a's offer; addTrack reuses them (sendrecv).
        let v = pc
            .add_track(MediaStreamTrack::new(MediaKind::Video, "b-video"), &["b"])
            .unwrap();
        let au = pc
            .add_track(MediaStreamTrack::new(MediaKind::Audio, "b-audio"), &["b"])
            .unwrap();
        b_tracks = (Some(v), Some(au));
    });
    let (bv, ba) = (b_tracks.0.unwrap(), b_tracks.1.unwrap());
    // The track events carry a's msid.
    let tracks: Vec<TransceiverId> = s
        .sim
        .endpoint(b)
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Track(t) => Some(*t),
            _ => None,
        })
        .collect();
    assert_eq!(tracks, [bv, ba]);
    {
        let pb = &mut s.sim.endpoint_mut(b).pc;
        let r = pb.receiver(bv).unwrap();
        assert_eq!(r.track_id(), Some("a-video"));
        assert_eq!(r.stream_ids(), ["a".to_owned()]);
    }
    for (p, t) in [(a, av), (a, aa), (b, bv), (b, ba)] {
        let pc = &mut s.sim.endpoint_mut(p).pc;
        let t = pc.transceiver(t).unwrap();
        assert_eq!(t.current_direction(), Some(Direction::SendRecv));
        pc.receiver(t.id()).unwrap().set_deliver_frames(true);
    }
    connect(&mut s);
    let at = s.sim.now();
    let video = clip_video();
    let audio = clip_audio();
    // The clip, then its start again as a player looping it would (a loss in the very
    // last packet could not be noticed, so nothing could repair it).
    let looped: Vec<Bytes> = video.iter().chain(&video[..10]).cloned().collect();
    for (p, v, au) in [(a, av, aa), (b, bv, ba)] {
        let peer = s.sim.endpoint_mut(p);
        peer.sources
            .push(source(v, looped.clone(), Duration::from_millis(33), at));
        peer.sources
            .push(source(au, audio.clone(), Duration::from_millis(20), at));
    }
    s.sim.run_for(Duration::from_secs(7));
    for (from, to, v, au, rv, rau) in [(a, b, av, aa, bv, ba), (b, a, bv, ba, av, aa)] {
        let src = &s.sim.endpoint(from).sources;
        assert_eq!(src[0].errors + src[1].errors, 0);
        assert_eq!(src[0].written, looped.len());
        let got = s.sim.endpoint(to).frames(rv);
        assert!(got.len() >= video.len());
        let got = &got[..video.len()];
        // Every video frame arrives intact, in order: NACK and RTX repaired the losses.
        for (f, want) in got.iter().zip(&video) {
            assert_eq!(&f.data[..], &want[..]);
        }
        assert!(got[0].keyframe);
        // Audio is not repaired (no NACK for Opus, as in browsers): most of it arrives.
        let audio_got = s.sim.endpoint(to).frames(rau).len();
        assert!(
            audio_got > audio.len() * 85 / 100,
            "{audio_got} of {}",
            audio.len()
        );
        assert!(s.sim.endpoint(to).packets(rv) > video.len());
        let _ = (v, au);
        // Stats: the sender retransmitted, the receiver asked.
        let st = s.sim.endpoint(from).stats_json();
        let out = find(&st, "outbound-rtp", "video");
        assert_eq!(out.len(), 1);
        assert!(out[0]["retransmittedPacketsSent"].as_u64().unwrap() > 0);
        assert!(out[0]["nackCount"].as_u64().unwrap() > 0);
        let rin = find(&st, "remote-inbound-rtp", "video");
        assert!(rin[0]["roundTripTime"].as_f64().unwrap() > 0.03);
        let src = st
            .iter()
            .find(|o| o["type"] == "media-source" && o["kind"] == "video")
            .unwrap();
        assert_eq!(src["frames"].as_u64().unwrap(), looped.len() as u64);
        assert_eq!(out[0]["mediaSourceId"], src["id"]);
        let codec = st.iter().find(|o| o["id"] == out[0]["codecId"]).unwrap();
        assert_eq!(codec["type"], "codec");
        assert_eq!(codec["mimeType"], "video/VP8");
        assert_eq!(codec["clockRate"], 90000);
        let st = s.sim.endpoint(to).stats_json();
        let inb = find(&st, "inbound-rtp", "video");
        let rout = find(&st, "remote-outbound-rtp", "video");
        assert_eq!(rout[0]["localId"], inb[0]["id"]);
        assert!(rout[0]["packetsSent"].as_u64().unwrap() > 100);
        assert!(rout[0]["remoteTimestamp"].as_f64().unwrap() > 1.7e12);
        assert!(inb[0]["jitter"].as_f64().unwrap() > 0.0);
        assert!(inb[0]["retransmittedPacketsReceived"].as_u64().unwrap() > 0);
        assert!(inb[0]["nackCount"].as_u64().unwrap() > 0);
        assert!(inb[0]["framesReceived"].as_u64().unwrap() >= video.len() as u64);
    }
}

/// a and b, each with one audio track on one transceiver (sendrecv), connected.
fn audio_call(seed: u64) -> (Setup, TransceiverId, TransceiverId) {
    let mut s = setup(seed, LinkConfig::default());
    let (a, b) = (s.a, s.b);
    let ta = s
        .sim
        .endpoint_mut(a)
        .pc
        .add_track(MediaStreamTrack::new(MediaKind::Audio, "a-mic"), &["a"])
        .unwrap();
    let mut tb = None;
    negotiate(&mut s.sim, a, b, |pc| {
        tb = Some(
            pc.add_track(MediaStreamTrack::new(MediaKind::Audio, "b-mic"), &["b"])
                .unwrap(),
        );
    });
    connect(&mut s);
    (s, ta, tb.unwrap())
}

fn tone(n: usize) -> Vec<Bytes> {
    // Opus-looking packets: a 20 ms CELT TOC byte and a counter.
    (0..n)
        .map(|i| Bytes::from(vec![0xF8, (i >> 8) as u8, i as u8, 0x55]))
        .collect()
}

fn negotiation_needed(p: &mut Peer) -> bool {
    p.drain();
    let n = p
        .events
        .iter()
        .filter(|e| matches!(e, Event::NegotiationNeeded))
        .count();
    p.events.retain(|e| !matches!(e, Event::NegotiationNeeded));
    n > 0
}

#[test]
fn hold_and_resume_renegotiate_and_gate_the_media() {
    let (mut s, ta, tb) = audio_call(31);
    let (a, b) = (s.a, s.b);
    let at = s.sim.now();
    s.sim
        .endpoint_mut(a)
        .sources
        .push(source(ta, tone(1000), Duration::from_millis(20), at));
    s.sim
        .endpoint_mut(b)
        .sources
        .push(source(tb, tone(1000), Duration::from_millis(20), at));
    s.sim.run_for(Duration::from_secs(1));
    let flowing = |s: &Setup| (s.sim.endpoint(b).packets(tb), s.sim.endpoint(a).packets(ta));
    let (ab0, ba0) = flowing(&s);
    assert!(ab0 > 40 && ba0 > 40, "{ab0} {ba0}");
    negotiation_needed(s.sim.endpoint_mut(a));

    // Hold: a sends only. Negotiation is needed; b's answer says recvonly.
    s.sim
        .endpoint_mut(a)
        .pc
        .set_transceiver_direction(ta, Direction::SendOnly)
        .unwrap();
    assert!(negotiation_needed(s.sim.endpoint_mut(a)));
    negotiate(&mut s.sim, a, b, |_| {});
    assert!(s
        .sim
        .endpoint(b)
        .pc
        .local_description()
        .unwrap()
        .sdp
        .contains("a=recvonly"));
    let cur = |s: &Setup, p: usize, t: TransceiverId| {
        s.sim
            .endpoint(p)
            .pc
            .transceiver(t)
            .unwrap()
            .current_direction()
    };
    assert_eq!(cur(&s, a, ta), Some(Direction::SendOnly));
    assert_eq!(cur(&s, b, tb), Some(Direction::RecvOnly));
    assert!(!s.sim.endpoint(a).pc.is_negotiation_needed());
    assert!(!negotiation_needed(s.sim.endpoint_mut(a)));
    s.sim.run_for(Duration::from_millis(200)); // packets in flight land
    let (ab1, ba1) = flowing(&s);
    s.sim.run_for(Duration::from_secs(1));
    let (ab2, ba2) = flowing(&s);
    assert!(ab2 - ab1 > 40, "a keeps sending on hold");
    assert_eq!(ba2, ba1, "b stopped sending to a");
    assert!(s.sim.endpoint(b).sources[0].errors > 0);

    // Inactive, then resume: sendrecv again, both flow.
    s.sim
        .endpoint_mut(a)
        .pc
        .set_transceiver_direction(ta, Direction::Inactive)
        .unwrap();
    assert!(negotiation_needed(s.sim.endpoint_mut(a)));
    negotiate(&mut s.sim, a, b, |_| {});
    assert_eq!(cur(&s, a, ta), Some(Direction::Inactive));
    assert_eq!(cur(&s, b, tb), Some(Direction::Inactive));
    s.sim.run_for(Duration::from_millis(200));
    let (ab3, ba3) = flowing(&s);
    s.sim.run_for(Duration::from_secs(1));
    assert_eq!(flowing(&s), (ab3, ba3), "nothing flows while inactive");

    s.sim
        .endpoint_mut(a)
        .pc
        .set_transceiver_direction(ta, Direction::SendRecv)
        .unwrap();
    assert!(negotiation_needed(s.sim.endpoint_mut(a)));
    negotiate(&mut s.sim, a, b, |_| {});
    assert_eq!(cur(&s, a, ta), Some(Direction::SendRecv));
    assert_eq!(cur(&s, b, tb), Some(Direction::SendRecv));
    s.sim.run_for(Duration::from_secs(1));
    let (ab4, ba4) = flowing(&s);
    assert!(ab4 - ab3 > 40 && ba4 - ba3 > 40, "both flow after resume");
    for p in [a, b] {
        assert_eq!(
            s.sim.endpoint(p).pc.signaling_state(),
            SignalingState::Stable
        );
    }
    // The track event fired once per time b started sending to a (initially and after
    // resume), not for every renegotiation.
    let tracks = s
        .sim
        .endpoint(a)
        .events
        .iter()
        .filter(|e| matches!(e, Event::Track(_)))
        .count();
    assert_eq!(tracks, 2);
}

#[test]
fn replace_track_keeps_the_stream_without_renegotiation() {
    let (mut s, ta, tb) = audio_call(32);
    let (a, b) = (s.a, s.b);
    let at = s.sim.now();
    s.sim
        .endpoint_mut(a)
        .sources
        .push(source(ta, tone(100), Duration::from_millis(20), at));
    s.sim.run_for(Duration::from_millis(500));
    negotiation_needed(s.sim.endpoint_mut(a));
    let pc = &mut s.sim.endpoint_mut(a).pc;
    // Another kind is refused; the same kind is swapped in without negotiation.
    assert!(pc
        .replace_track(ta, Some(MediaStreamTrack::new(MediaKind::Video, "cam")))
        .is_err());
    pc.replace_track(ta, Some(MediaStreamTrack::new(MediaKind::Audio, "a-mic-2")))
        .unwrap();
    assert_eq!(
        pc.transceiver(ta).unwrap().sender_track().unwrap().id(),
        "a-mic-2"
    );
    assert!(!negotiation_needed(s.sim.endpoint_mut(a)));
    s.sim.run_for(Duration::from_secs(2));
    let got: Vec<(u32, u16, u32)> = s
        .sim
        .endpoint(b)
        .events
        .iter()
        .filter_map(|e| match e {
            Event::RtpPacket {
                transceiver,
                packet,
            } if *transceiver == tb => {
                Some((packet.ssrc, packet.sequence_number, packet.timestamp))
            }
            _ => None,
        })
        .collect();
    assert_eq!(got.len(), 100, "every packet, before and after the swap");
    assert!(got.iter().all(|g| g.0 == got[0].0), "one SSRC throughout");
    for w in got.windows(2) {
        assert_eq!(w[1].1, w[0].1.wrapping_add(1));
        assert_eq!(w[1].2, w[0].2.wrapping_add(960)); // 20 ms at 48 kHz
    }
    // No track: nothing is sent, still no renegotiation.
    s.sim.endpoint_mut(a).pc.replace_track(ta, None).unwrap();
    let now = s.sim.now();
    let r = s
        .sim
        .endpoint_mut(a)
        .pc
        .sender(ta)
        .unwrap()
        .write_sample(now, Sample::new(vec![0xF8, 1], Duration::from_millis(20)));
    assert!(r.is_err());
    assert!(!negotiation_needed(s.sim.endpoint_mut(a)));
}

#[test]
fn forwarded_packets_take_the_senders_ssrc_and_numbering() {
    let (mut s, ta, tb) = audio_call(33);
    let (a, b) = (s.a, s.b);
    let at = s.sim.now();
    s.sim
        .endpoint_mut(a)
        .sources
        .push(source(ta, tone(60), Duration::from_millis(20), at));
    // b reflects what it receives on its own sender (the CLI's answerer does this).
    let mut reflected = 0;
    let deadline = s.sim.now() + Duration::from_secs(3);
    s.sim.run_until(deadline, |sim| {
        let now = sim.now();
        let peer = sim.endpoint_mut(b);
        let packets: Vec<oxrtc::MediaPacket> = peer
            .events
            .iter()
            .filter_map(|e| match e {
                Event::RtpPacket { packet, .. } => Some(packet.clone()),
                _ => None,
            })
            .collect();
        peer.events
            .retain(|e| !matches!(e, Event::RtpPacket { .. }));
        for mut p in packets {
            // An SFU passes the AV1 dependency descriptor through untouched (here a
            // made-up one, on audio; the extension is negotiated for video only).
            p.dependency_descriptor = Some(Bytes::from_static(&[0x80, 0x01, 0x02]));
            peer.pc.sender(tb).unwrap().write_rtp(now, &p).unwrap();
            reflected += 1;
        }
        false
    });
    assert_eq!(reflected, 60);
    let back: Vec<oxrtc::MediaPacket> = s
        .sim
        .endpoint(a)
        .events
        .iter()
        .filter_map(|e| match e {
            Event::RtpPacket { packet, .. } => Some(packet.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(back.len(), 60);
    let b_ssrc = s.sim.endpoint_mut(b).pc.sender(tb).unwrap().ssrcs()[0].0;
    let a_ssrc = s.sim.endpoint_mut(a).pc.sender(ta).unwrap().ssrcs()[0].0;
    assert_ne!(a_ssrc, b_ssrc);
    for (i, p) in back.iter().enumerate() {
        assert_eq!(p.dependency_descriptor, None, "not negotiated for audio");
        assert_eq!(p.ssrc, b_ssrc);
        assert_eq!(&p.payload[..], &tone(60)[i][..]);
        assert_eq!(
            p.sequence_number,
            back[0].sequence_number.wrapping_add(i as u16)
        );
    }
}

#[test]
fn simulcast_three_layers_are_received_as_three_streams() {
    let link = LinkConfig {
        loss: 0.03,
        ..LinkConfig::default()
    };
    let mut s = setup(34, link);
    let (a, b) = (s.a, s.b);
    let ta = s
        .sim
        .endpoint_mut(a)
        .pc
        .add_transceiver_with_track(
            MediaStreamTrack::new(MediaKind::Video, "cam"),
            TransceiverInit {
                direction: Direction::SendOnly,
                stream_ids: vec!["a".into()],
                send_encodings: ["h", "m", "l"]
                    .into_iter()
                    .map(RtpEncodingParameters::with_rid)
                    .collect(),
            },
        )
        .unwrap();
    let offer = s
        .sim
        .endpoint_mut(a)
        .pc
        .create_offer(Default::default())
        .unwrap();
    assert!(offer.sdp.contains("a=simulcast:send h;m;l"));
    negotiate(&mut s.sim, a, b, |_| {});
    let answer = s.sim.endpoint(b).pc.local_description().unwrap().sdp;
    assert!(answer.contains("a=rid:h recv") && answer.contains("a=simulcast:recv h;m;l"));
    let tb = s.sim.endpoint(b).pc.transceivers().next().unwrap().id();
    s.sim
        .endpoint_mut(b)
        .pc
        .receiver(tb)
        .unwrap()
        .set_deliver_frames(true);
    assert_eq!(
        s.sim.endpoint_mut(b).pc.receiver(tb).unwrap().rids(),
        ["h", "m", "l"]
    );
    connect(&mut s);
    let at = s.sim.now();
    let video = clip_video();
    let looped: Vec<Bytes> = video.iter().chain(&video[..10]).cloned().collect();
    for rid in ["h", "m", "l"] {
        let mut src = source(ta, looped.clone(), Duration::from_millis(33), at);
        src.rid = Some(rid.into());
        s.sim.endpoint_mut(a).sources.push(src);
    }
    s.sim.run_for(Duration::from_secs(7));
    for src in &s.sim.endpoint(a).sources {
        assert_eq!((src.written, src.errors), (looped.len(), 0));
    }
    let pb = &mut s.sim.endpoint_mut(b).pc;
    let ssrcs = pb.receiver(tb).unwrap().ssrcs();
    assert_eq!(ssrcs.len(), 3, "{ssrcs:?}");
    let a_ssrcs = s.sim.endpoint_mut(a).pc.sender(ta).unwrap().ssrcs();
    for (rid, (ssrc, _)) in ["h", "m", "l"].iter().zip(&a_ssrcs) {
        assert!(ssrcs.contains(&(*ssrc, Some((*rid).to_owned()))));
        // Each layer's frames arrive complete and in order, losses repaired by RTX
        // (with repaired-rid).
        let frames: Vec<EncodedFrame> = s
            .sim
            .endpoint(b)
            .frames(tb)
            .into_iter()
            .filter(|f| f.rid.as_deref() == Some(*rid))
            .collect();
        assert!(frames.len() >= video.len(), "{rid}: {}", frames.len());
        for (f, want) in frames.iter().zip(&video) {
            assert_eq!(f.ssrc, *ssrc);
            assert_eq!(&f.data[..], &want[..]);
        }
    }
    let st = s.sim.endpoint(b).stats_json();
    let inb = find(&st, "inbound-rtp", "video");
    assert_eq!(inb.len(), 3);
    let mut rids: Vec<&str> = inb.iter().map(|o| o["rid"].as_str().unwrap()).collect();
    rids.sort_unstable();
    assert_eq!(rids, ["h", "l", "m"]);
    assert!(inb
        .iter()
        .any(|o| o["retransmittedPacketsReceived"].as_u64().unwrap() > 0));
    let st = s.sim.endpoint(a).stats_json();
    assert_eq!(find(&st, "outbound-rtp", "video").len(), 3);
}

#[test]
fn an_inactive_layer_is_not_sent() {
    let mut s = setup(35, LinkConfig::default());
    let (a, b) = (s.a, s.b);
    let ta = s
        .sim
        .endpoint_mut(a)
        .pc
        .add_transceiver_with_track(
            MediaStreamTrack::new(MediaKind::Video, "cam"),
            TransceiverInit {
                direction: Direction::SendOnly,
                send_encodings: ["h", "l"]
                    .into_iter()
                    .map(RtpEncodingParameters::with_rid)
                    .collect(),
                ..TransceiverInit::default()
            },
        )
        .unwrap();
    negotiate(&mut s.sim, a, b, |_| {});
    let tb = s.sim.endpoint(b).pc.transceivers().next().unwrap().id();
    connect(&mut s);
    let mut enc = s.sim.endpoint_mut(a).pc.sender(ta).unwrap().encodings();
    enc[0].active = false;
    enc[1].max_bitrate = Some(150_000);
    let mut sender_pc = s.sim.endpoint_mut(a);
    sender_pc
        .pc
        .sender(ta)
        .unwrap()
        .set_encodings(enc.clone())
        .unwrap();
    // The rids cannot change without renegotiation.
    let mut bad = enc.clone();
    bad[0].rid = Some("x".into());
    assert!(sender_pc.pc.sender(ta).unwrap().set_encodings(bad).is_err());
    let at = s.sim.now();
    sender_pc = s.sim.endpoint_mut(a);
    for rid in ["h", "l"] {
        let mut src = source(
            ta,
            clip_video()[..30].to_vec(),
            Duration::from_millis(33),
            at,
        );
        src.rid = Some(rid.into());
        sender_pc.sources.push(src);
    }
    s.sim.run_for(Duration::from_secs(2));
    let layers: Vec<Option<String>> = s
        .sim
        .endpoint_mut(b)
        .pc
        .receiver(tb)
        .unwrap()
        .ssrcs()
        .into_iter()
        .map(|x| x.1)
        .collect();
    assert_eq!(layers, [Some("l".to_owned())]);
    assert!(!s.sim.endpoint(a).pc.is_negotiation_needed());
}

#[test]
fn dtmf_tones_go_out_as_telephone_events() {
    let (mut s, ta, tb) = audio_call(36);
    let (a, b) = (s.a, s.b);
    let at = s.sim.now();
    s.sim
        .endpoint_mut(a)
        .sources
        .push(source(ta, tone(200), Duration::from_millis(20), at));
    s.sim.run_for(Duration::from_millis(100));
    {
        let mut sender = s.sim.endpoint_mut(a).pc.sender(ta).unwrap();
        assert!(sender.can_insert_dtmf());
        assert!(sender
            .insert_dtmf("1x", Duration::from_millis(100), Duration::from_millis(70))
            .is_err());
        sender
            .insert_dtmf("12#", Duration::from_millis(120), Duration::from_millis(70))
            .unwrap();
        assert_eq!(sender.tone_buffer(), "2#"); // "1" started at once
    }
    s.sim.run_for(Duration::from_secs(2));
    let changes: Vec<String> = s
        .sim
        .endpoint(a)
        .events
        .iter()
        .filter_map(|e| match e {
            Event::DtmfToneChange { transceiver, tone } if *transceiver == ta => Some(tone.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(changes, ["1", "2", "#", ""]);
    assert_eq!(
        s.sim.endpoint_mut(a).pc.sender(ta).unwrap().tone_buffer(),
        ""
    );
    // b receives the events on the telephone-event payload type (48 kHz, next to Opus).
    let answer = s.sim.endpoint(b).pc.local_description().unwrap().sdp;
    assert!(answer.contains("a=rtpmap:110 telephone-event/48000"));
    let mut ends = Vec::new();
    for e in &s.sim.endpoint(b).events {
        if let Event::RtpPacket {
            transceiver,
            packet,
        } = e
        {
            if *transceiver == tb && packet.payload_type == 110 {
                let ev = oxrtc::rtp::codec::TelephoneEvent::parse(&packet.payload).unwrap();
                if ev.end && ends.last() != Some(&(ev.event, packet.timestamp)) {
                    ends.push((ev.event, packet.timestamp));
                    assert_eq!(ev.duration, 120 * 48); // 120 ms at 48 kHz
                }
            }
        }
    }
    let digits: Vec<char> = ends
        .iter()
        .map(|(e, _)| oxrtc::rtp::codec::telephone_event::dtmf_tone(*e).unwrap())
        .collect();
    assert_eq!(digits, ['1', '2', '#']);
}

#[test]
fn transforms_see_every_frame_and_can_encrypt_it_end_to_end() {
    let mut s = setup(37, LinkConfig::default());
    let (a, b) = (s.a, s.b);
    let ta = s
        .sim
        .endpoint_mut(a)
        .pc
        .add_track(MediaStreamTrack::new(MediaKind::Video, "cam"), &["a"])
        .unwrap();
    negotiate(&mut s.sim, a, b, |_| {});
    let tb = s.sim.endpoint(b).pc.transceivers().next().unwrap().id();
    // A toy cipher for the test (the example uses AES-GCM): every byte after the VP8
    // payload header is XORed; the header stays clear so the receiver still finds frame
    // starts and key frames.
    fn xor(f: &mut EncodedFrame) -> bool {
        let clear = if f.keyframe { 10 } else { 3 };
        for (i, b) in f.data.iter_mut().enumerate().skip(clear) {
            *b ^= 0xA5 ^ (i as u8);
        }
        true
    }
    s.sim
        .endpoint_mut(a)
        .pc
        .sender(ta)
        .unwrap()
        .set_transform(Some(Box::new(xor)));
    let mut seen = 0usize;
    let counter = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c2 = counter.clone();
    s.sim
        .endpoint_mut(b)
        .pc
        .receiver(tb)
        .unwrap()
        .set_transform(Some(Box::new(move |f: &mut EncodedFrame| {
            c2.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            xor(f)
        })));
    connect(&mut s);
    let video = clip_video()[..60].to_vec();
    let at = s.sim.now();
    s.sim
        .endpoint_mut(a)
        .sources
        .push(source(ta, video.clone(), Duration::from_millis(33), at));
    s.sim.run_for(Duration::from_secs(3));
    let frames = s.sim.endpoint(b).frames(tb);
    assert_eq!(frames.len(), 60);
    for (f, want) in frames.iter().zip(&video) {
        assert_eq!(
            &f.data[..],
            &want[..],
            "decrypted by the receiver's transform"
        );
        seen += 1;
    }
    assert_eq!(counter.load(std::sync::atomic::Ordering::Relaxed), seen);
    // On the wire (the packets b delivers raw) the payload was not the clip's.
    let raw: Vec<Bytes> = s
        .sim
        .endpoint(b)
        .events
        .iter()
        .filter_map(|e| match e {
            Event::RtpPacket { packet, .. } if packet.marker => Some(packet.payload.clone()),
            _ => None,
        })
        .collect();
    assert!(!raw.is_empty());
    assert!(raw.iter().all(|p| !video
        .iter()
        .any(|v| v.len() > 20 && p.ends_with(&v[v.len() - 16..]))));
}

#[test]
fn the_dependency_descriptor_is_forwarded_untouched() {
    let mut s = setup(38, LinkConfig::default());
    let (a, b) = (s.a, s.b);
    let ta = s
        .sim
        .endpoint_mut(a)
        .pc
        .add_track(MediaStreamTrack::new(MediaKind::Video, "cam"), &["a"])
        .unwrap();
    negotiate(&mut s.sim, a, b, |_| {});
    let tb = s.sim.endpoint(b).pc.transceivers().next().unwrap().id();
    connect(&mut s);
    // A forwarded AV1-style packet with a dependency descriptor longer than a one-byte
    // extension element can carry (two-byte form, a=extmap-allow-mixed).
    let dd: Vec<u8> = (0..40u8).collect();
    let now = s.sim.now();
    for i in 0..5u16 {
        let p = oxrtc::MediaPacket {
            payload_type: 96,
            sequence_number: 1000 + i,
            timestamp: 3000 * u32::from(i),
            marker: true,
            ssrc: 42,
            payload: Bytes::from_static(&[0x90, 0x80, 0x80, 0x01, 0x10, 0x02, 0x00, 0x9d]),
            dependency_descriptor: Some(Bytes::from(dd.clone())),
            ..oxrtc::MediaPacket::default()
        };
        s.sim
            .endpoint_mut(a)
            .pc
            .sender(ta)
            .unwrap()
            .write_rtp(now, &p)
            .unwrap();
    }
    s.sim.run_for(Duration::from_millis(200));
    let got: Vec<Option<Bytes>> = s
        .sim
        .endpoint(b)
        .events
        .iter()
        .filter_map(|e| match e {
            Event::RtpPacket {
                transceiver,
                packet,
            } if *transceiver == tb => Some(packet.dependency_descriptor.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(got.len(), 5);
    assert!(got.iter().all(|d| d.as_deref() == Some(&dd[..])));
}
