//! NACK and RTX under seeded random loss: a sender and a receiver joined by a virtual network
//! with delay and loss in both directions, driven by a virtual clock.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use oxrtc_rtp::assembler::{AssemblerEvent, FrameAssembler};
use oxrtc_rtp::codec::{Packetizer, Vp8Depacketizer, Vp8Packetizer};
use oxrtc_rtp::receiver::{NackConfig, ReceiveConfig, ReceiveStream};
use oxrtc_rtp::rtcp::RtcpPacket;
use oxrtc_rtp::rtp::RtpHeader;
use oxrtc_rtp::sender::{RtxConfig, SendConfig, SendStream};
use oxrtc_rtp::{rtx, RtpPacket, SeqNo, Ssrc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const MEDIA: Ssrc = Ssrc(0x1111);
const RTX: Ssrc = Ssrc(0x2222);
const RECEIVER: Ssrc = Ssrc(0x3333);

enum Msg {
    ToReceiver(Vec<u8>),
    ToSender(Vec<u8>),
}

#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    frames: Vec<Vec<u8>>,
    gaps: usize,
    repaired: u64,
    retransmitted: u64,
    nacks: u64,
    give_ups: u64,
}

fn frame(i: u32, rng: &mut ChaCha8Rng) -> Vec<u8> {
    let len = rng.random_range(500..4000);
    let mut f: Vec<u8> = (0..len).map(|_| rng.random()).collect();
    // VP8 frame tag: key frame every 30 frames.
    f[0] = (f[0] & 0xFE) | u8::from(i % 30 != 0);
    f
}

fn run(seed: u64, loss: f64, use_rtx: bool, frames: u32) -> Outcome {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let t0 = Instant::now();
    let delay = Duration::from_millis(20);
    let mut queue: BTreeMap<(Instant, u64), Msg> = BTreeMap::new();
    let mut order = 0u64;

    let mut cfg = SendConfig::new(MEDIA, 90_000);
    if use_rtx {
        cfg.rtx = Some(RtxConfig {
            ssrc: RTX,
            payload_type: 97,
        });
    }
    let mut tx = SendStream::new(cfg, SeqNo(rng.random()), SeqNo(rng.random()));
    let mut packetizer = Vp8Packetizer::default();
    let mut rx = ReceiveStream::new(ReceiveConfig {
        ssrc: MEDIA,
        local_ssrc: RECEIVER,
        clock_rate: 90_000,
        nack: Some(NackConfig::default()),
    });
    rx.set_rtt(2 * delay);
    let mut asm = FrameAssembler::new(Vp8Depacketizer, 2000);
    let mut sent_frames = Vec::new();
    let mut out = Outcome {
        frames: Vec::new(),
        gaps: 0,
        repaired: 0,
        retransmitted: 0,
        nacks: 0,
        give_ups: 0,
    };

    let mut next_frame = t0;
    let mut frame_no = 0u32;
    let mut now = t0;
    loop {
        // Next event: a frame to send, a datagram arriving, or a NACK retry.
        let arrival = queue.keys().next().map(|k| k.0);
        let candidates = [
            (frame_no < frames).then_some(next_frame),
            arrival,
            rx.poll_timeout(),
        ];
        let Some(t) = candidates.into_iter().flatten().min() else {
            break;
        };
        now = now.max(t);
        if frame_no < frames && next_frame <= now {
            let f = frame(frame_no, &mut rng);
            let payloads = packetizer.packetize(1000, &f).unwrap();
            let n = payloads.len();
            for (i, p) in payloads.iter().enumerate() {
                let h = RtpHeader {
                    payload_type: 96,
                    marker: i + 1 == n,
                    timestamp: frame_no * 3000,
                    ..Default::default()
                };
                let pkt = tx.send(now, h, p).unwrap();
                // A receiver cannot ask for packets before the first or after the last one it
                // sees, so the first and last frames travel without loss.
                let edge = frame_no == 0 || frame_no + 1 == frames;
                if edge || !rng.random_bool(loss) {
                    queue.insert((now + delay, order), Msg::ToReceiver(pkt));
                }
                order += 1;
            }
            sent_frames.push(f);
            frame_no += 1;
            next_frame += Duration::from_millis(33);
        }
        while let Some(entry) = queue.first_entry() {
            if entry.key().0 > now {
                break;
            }
            match entry.remove() {
                Msg::ToReceiver(bytes) => {
                    let p = RtpPacket::new_checked(&bytes[..]).unwrap();
                    let (media, retransmitted) = if p.ssrc() == RTX {
                        (rtx::unwrap(&p, MEDIA, 96).unwrap(), true)
                    } else {
                        (
                            bytes.clone(),
                            p.ssrc() == MEDIA && retransmitted_plain(&rx, &p),
                        )
                    };
                    let m = RtpPacket::new_checked(&media[..]).unwrap();
                    if let oxrtc_rtp::receiver::ReceiveOutcome::New(_) =
                        rx.handle_packet(now, &m, retransmitted)
                    {
                        asm.push_packet(&m);
                    }
                }
                Msg::ToSender(bytes) => {
                    for p in RtcpPacket::parse_compound(&bytes).unwrap() {
                        if let RtcpPacket::Nack(n) = p {
                            for r in tx.handle_nack(now, &n).unwrap() {
                                if !rng.random_bool(loss) {
                                    queue.insert((now + delay, order), Msg::ToReceiver(r));
                                }
                                order += 1;
                            }
                        }
                    }
                }
            }
        }
        if let Some(nack) = rx.poll_nack(now) {
            let mut buf = Vec::new();
            RtcpPacket::Nack(nack).write(&mut buf).unwrap();
            if !rng.random_bool(loss) {
                queue.insert((now + delay, order), Msg::ToSender(buf));
            }
            order += 1;
        }
        while let Some(e) = asm.poll() {
            match e {
                AssemblerEvent::Frame(f) => out.frames.push(f.data),
                AssemblerEvent::Gap { .. } => out.gaps += 1,
                _ => {}
            }
        }
        if frame_no >= frames && queue.is_empty() && rx.poll_timeout().is_none() {
            break;
        }
    }
    asm.skip_missing();
    while let Some(e) = asm.poll() {
        match e {
            AssemblerEvent::Frame(f) => out.frames.push(f.data),
            AssemblerEvent::Gap { .. } => out.gaps += 1,
            _ => {}
        }
    }
    let rs = rx.stats();
    out.repaired = rs.packets_repaired;
    out.nacks = rs.nacks_sent;
    out.give_ups = rs.nack_give_ups;
    out.retransmitted = tx.stats().retransmitted_packets;
    if out.gaps == 0 {
        assert_eq!(out.frames, sent_frames, "every frame intact and in order");
    } else {
        // Whatever arrived is intact and in order.
        let mut it = sent_frames.iter();
        for f in &out.frames {
            assert!(it.any(|s| s == f), "frame out of order or corrupt");
        }
    }
    out
}

/// Without RTX a retransmission is indistinguishable on the wire; a packet that fills a hole
/// the receiver NACKed is one.
fn retransmitted_plain(rx: &ReceiveStream, p: &RtpPacket<&[u8]>) -> bool {
    rx.stats()
        .highest_seq
        .is_some_and(|h| p.sequence_number().diff(h.seq()) < 0)
}

#[test]
fn rtx_recovers_everything_at_10_percent_loss() {
    let o = run(1, 0.10, true, 300);
    assert_eq!(o.gaps, 0);
    assert_eq!(o.frames.len(), 300);
    assert!(o.retransmitted > 50, "{o:?}");
    assert!(o.repaired > 50, "{o:?}");
    assert!(o.nacks > 20);
    assert_eq!(o.give_ups, 0);
}

#[test]
fn plain_retransmission_recovers_at_5_percent_loss() {
    let o = run(2, 0.05, false, 200);
    assert_eq!(o.gaps, 0);
    assert_eq!(o.frames.len(), 200);
    assert!(o.retransmitted > 10);
}

#[test]
fn heavy_loss_reports_gaps_and_keeps_going() {
    // 60% loss: retries run out for some packets; the assembler reports gaps and delivers the
    // frames it can, intact and in order (checked inside `run`).
    let o = run(3, 0.60, true, 100);
    assert!(o.gaps > 0, "{o:?}");
    assert!(o.give_ups > 0, "{o:?}");
    assert!(!o.frames.is_empty());
}

#[test]
fn same_seed_same_trace() {
    assert_eq!(run(9, 0.2, true, 60), run(9, 0.2, true, 60));
}
