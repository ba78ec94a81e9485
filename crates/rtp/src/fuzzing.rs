//! Harness functions for the cargo-fuzz targets in `/fuzz` (feature `fuzzing`). Each asserts
//! invariants beyond "no panic": round-trip stability of parsers and bounded output of
//! depacketizers.

use std::time::{Duration, Instant};

use crate::assembler::FrameAssembler;
use crate::codec::{
    Av1Depacketizer, Depacketizer, G711Depacketizer, H264Depacketizer, H265Depacketizer,
    OpusDepacketizer, Packetizer, Vp8Depacketizer, Vp8Packetizer, Vp9Depacketizer, Vp9Packetizer,
};
use crate::receiver::{NackConfig, ReceiveConfig, ReceiveStream};
use crate::rtcp::RtcpPacket;
use crate::rtp::{
    AbsCaptureTime, AbsSendTime, AudioLevel, DependencyDescriptor, ExtensionValue, Mid,
    PlayoutDelay, RtpHeader, RtpPacket, TransportSequenceNumber, VideoOrientation,
};
use crate::types::{SeqNo, Ssrc};

fn stable<E: ExtensionValue + PartialEq + core::fmt::Debug>(d: &[u8]) {
    if let Ok(v) = E::parse(d) {
        let w = v.to_vec().expect("a parsed extension value writes");
        assert_eq!(E::parse(&w).expect("written value parses"), v);
    }
}

/// RTP: parse, re-write, re-parse equal; every extension element through every typed parser.
pub fn rtp(data: &[u8]) {
    let Ok(p) = RtpPacket::new_checked(data) else {
        return;
    };
    let h = RtpHeader::parse(&p);
    let mut out = Vec::new();
    let pad = u8::try_from(p.padding_len()).expect("padding fits a byte");
    h.write_packet(p.payload(), pad, &mut out)
        .expect("a parsed header writes");
    assert!(
        out.len() <= data.len() + 4,
        "rewrite grows only by extension alignment"
    );
    let q = RtpPacket::new_checked(&out[..]).expect("written packet parses");
    assert_eq!(RtpHeader::parse(&q), h);
    assert_eq!(q.payload(), p.payload());
    for (_, d) in p.extensions() {
        stable::<AbsSendTime>(d);
        stable::<TransportSequenceNumber>(d);
        stable::<Mid>(d);
        stable::<AudioLevel>(d);
        stable::<VideoOrientation>(d);
        stable::<PlayoutDelay>(d);
        stable::<AbsCaptureTime>(d);
        stable::<DependencyDescriptor>(d);
    }
}

/// RTCP: parse a compound packet, re-write, re-parse equal; the iterator agrees.
pub fn rtcp(data: &[u8]) {
    let Ok(ps) = RtcpPacket::parse_compound(data) else {
        return;
    };
    let mut out = Vec::new();
    RtcpPacket::write_compound(&ps, &mut out).expect("parsed packets write");
    let again = RtcpPacket::parse_compound(&out).expect("written packets parse");
    assert_eq!(again, ps);
    let n = RtcpPacket::iter_compound(data)
        .filter(Result::is_ok)
        .count();
    assert_eq!(n, ps.len());
}

/// Splits fuzz input into payloads: each is prefixed by a one-octet length.
fn payloads(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = data;
    core::iter::from_fn(move || {
        let (&n, tail) = rest.split_first()?;
        let n = usize::from(n).min(tail.len());
        let (p, r) = tail.split_at(n);
        rest = r;
        Some(p)
    })
}

fn depack<D: Depacketizer>(mut d: D, data: &[u8]) {
    let mut frame = Vec::new();
    let mut input = 0usize;
    for p in payloads(data) {
        input += p.len();
        let _ = d.is_keyframe(p);
        let _ = d.is_frame_start(p);
        if d.depacketize(p, &mut frame).is_err() {
            d.reset();
        }
        // A start code per one-octet NAL unit is the worst case: five octets out per octet in.
        assert!(frame.len() <= 5 * input, "output bounded by input");
    }
}

/// Packetize then depacketize `frame` at an MTU from the first octet: must be identity for
/// formats that carry frames opaquely.
fn opaque_round_trip<P: Packetizer, D: Depacketizer>(mut p: P, mut d: D, data: &[u8]) {
    let Some((&m, frame)) = data.split_first() else {
        return;
    };
    let mtu = usize::from(m).max(1) * 8;
    let Ok(pl) = p.packetize(mtu, frame) else {
        return;
    };
    let mut out = Vec::new();
    for x in &pl {
        assert!(x.len() <= mtu);
        d.depacketize(x, &mut out).expect("own packets depacketize");
    }
    assert_eq!(out, frame);
}

/// Opus depacketizer.
pub fn depack_opus(data: &[u8]) {
    depack(OpusDepacketizer, data);
}

/// G.711 depacketizer.
pub fn depack_g711(data: &[u8]) {
    depack(G711Depacketizer, data);
}

/// VP8 depacketizer, and the packetizer round trip.
pub fn depack_vp8(data: &[u8]) {
    depack(Vp8Depacketizer, data);
    opaque_round_trip(Vp8Packetizer::default(), Vp8Depacketizer, data);
}

/// VP9 depacketizer, and the packetizer round trip.
pub fn depack_vp9(data: &[u8]) {
    depack(Vp9Depacketizer, data);
    opaque_round_trip(Vp9Packetizer::default(), Vp9Depacketizer, data);
}

/// H.264 depacketizer.
pub fn depack_h264(data: &[u8]) {
    depack(H264Depacketizer::default(), data);
}

/// H.265 depacketizer.
pub fn depack_h265(data: &[u8]) {
    depack(H265Depacketizer::default(), data);
}

/// AV1 depacketizer.
pub fn depack_av1(data: &[u8]) {
    depack(Av1Depacketizer::default(), data);
}

/// The receive path as a state machine: packets with fuzzed sequence numbers, timestamps and
/// arrival steps into a [`ReceiveStream`] and a VP8 [`FrameAssembler`]; checks the
/// assembler holds a bounded number of packets and the stats stay consistent.
pub fn receive_stream(data: &[u8]) {
    let t0 = Instant::now();
    let mut now = t0;
    let mut rx = ReceiveStream::new(ReceiveConfig {
        ssrc: Ssrc(1),
        local_ssrc: Ssrc(2),
        clock_rate: 90_000,
        nack: Some(NackConfig::default()),
    });
    let mut asm = FrameAssembler::new(Vp8Depacketizer, 64);
    for chunk in data.chunks_exact(8) {
        let seq = SeqNo(u16::from_be_bytes([chunk[0], chunk[1]]));
        let ts = u32::from_be_bytes([chunk[2], chunk[3], chunk[4], chunk[5]]);
        now += Duration::from_millis(u64::from(chunk[6]));
        let flags = chunk[7];
        let payload = [
            0x90 | (flags & 0x10),
            0x80,
            0x80 | (flags & 0x7F),
            0x01,
            flags,
        ];
        rx.handle_rtp(now, seq, ts, payload.len(), flags & 0x20 != 0);
        asm.push(seq, ts, flags & 0x40 != 0, &payload);
        while asm.poll().is_some() {}
        let _ = rx.poll_nack(now);
        let _ = rx.report_block(now);
        assert!(
            asm.buffered() <= 65 + 64,
            "assembler holds a bounded window"
        );
    }
    let s = rx.stats();
    assert!(s.packets_lost >= 0);
}

/// IVF: read every frame (bounded: a frame is never larger than the input it came from),
/// write them back, read the copy: equal.
pub fn ivf(data: &[u8]) {
    use crate::container::ivf::{IvfReader, IvfWriter};
    let Ok(mut r) = IvfReader::new(data) else {
        return;
    };
    let header = *r.header();
    let mut frames = Vec::new();
    while let Ok(Some(f)) = r.next_frame() {
        assert!(f.data.len() <= data.len(), "a frame fits in its input");
        frames.push(f);
    }
    let mut w = IvfWriter::new(Vec::new(), header).expect("writes to memory");
    for f in &frames {
        w.write_frame(f.timestamp, &f.data)
            .expect("writes to memory");
    }
    let copy = w.finish().expect("writes to memory");
    let mut r = IvfReader::new(&copy[..]).expect("the copy parses");
    assert_eq!(r.header(), &header);
    for f in &frames {
        assert_eq!(r.next_frame().expect("the copy parses").as_ref(), Some(f));
    }
}

/// Ogg: read every page and packet (bounded by the input); pages written back read equal,
/// and an Ogg Opus reader over the same bytes never panics.
pub fn ogg(data: &[u8]) {
    use crate::container::ogg::{opus_packet_samples, OggOpusReader, OggPage, OggReader};
    let mut input = data;
    while let Ok(Some(page)) = OggPage::read(&mut input) {
        let mut out = Vec::new();
        page.write(&mut out).expect("a read page writes");
        assert_eq!(
            OggPage::read(&mut &out[..]).expect("written page reads"),
            Some(page)
        );
    }
    let mut r = OggReader::new(data);
    while let Ok(Some(p)) = r.next_packet() {
        assert!(p.data.len() <= data.len(), "a packet fits in its input");
    }
    if let Ok(mut r) = OggOpusReader::new(data) {
        while let Ok(Some(p)) = r.next_packet() {
            let _ = opus_packet_samples(&p);
        }
    }
}

/// Telephone events: parse, write, parse equal.
pub fn telephone_event(data: &[u8]) {
    use crate::codec::TelephoneEvent;
    if let Ok(e) = TelephoneEvent::parse(data) {
        let mut w = Vec::new();
        e.write(&mut w).expect("a parsed event writes");
        assert_eq!(TelephoneEvent::parse(&w).expect("written event parses"), e);
    }
}

/// The transport-cc feedback generator as a state machine: fuzzed sequence numbers and
/// arrival steps; every feedback it produces writes and parses back equal, stays within
/// its packet cap, and continues where the previous one stopped or later.
pub fn transport_cc(data: &[u8]) {
    use crate::transport_cc::{FeedbackConfig, TransportFeedbackGenerator};
    let mut now = Instant::now();
    let mut g = TransportFeedbackGenerator::new(FeedbackConfig {
        max_pending: 500,
        max_packets_per_feedback: 300,
        ..FeedbackConfig::default()
    });
    let mut next: Option<u16> = None;
    for chunk in data.chunks_exact(3) {
        let seq = u16::from_be_bytes([chunk[0], chunk[1]]);
        now += Duration::from_micros(u64::from(chunk[2]) * 997);
        g.record(now, seq);
        while let Some(fb) = g.poll_feedback(now, Ssrc(1), Ssrc(2)) {
            let mut w = Vec::new();
            RtcpPacket::TransportLayerCc(fb.clone())
                .write(&mut w)
                .expect("feedback writes");
            let back = RtcpPacket::parse_compound(&w).expect("feedback parses");
            assert_eq!(back, vec![RtcpPacket::TransportLayerCc(fb.clone())]);
            assert!((1..=300).contains(&fb.packet_status_count));
            if let Some(n) = next {
                let ahead = fb.base_sequence_number.wrapping_sub(n);
                assert!(ahead < 0x8000, "feedback went backwards");
            }
            next = Some(fb.base_sequence_number.wrapping_add(fb.packet_status_count));
        }
    }
}
