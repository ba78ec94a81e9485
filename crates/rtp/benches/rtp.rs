//! Benchmarks: RTP parse with header extension lookups, RTCP compound parse.
//! Throughput is one packet per iteration, so the summary reads in packets/s.
#![allow(clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use oxrtc_rtp::rtcp::{
    Nack, ReceiverReport, ReportBlock, RtcpPacket, SenderReport, SourceDescription,
    TransportLayerCc,
};
use oxrtc_rtp::rtp::{
    AbsSendTime, AudioLevel, ExtensionMap, Mid, RtpHeader, RtpPacket, TransportSequenceNumber,
};
use oxrtc_rtp::{NtpTime, SeqNo, Ssrc};
use std::hint::black_box;

fn rtp_packet(map: &ExtensionMap) -> Vec<u8> {
    let mut h = RtpHeader {
        marker: true,
        payload_type: 111,
        sequence_number: SeqNo(4711),
        timestamp: 123_456,
        ssrc: Ssrc(0x1234_5678),
        ..Default::default()
    };
    h.set_extension_value(
        map,
        &AudioLevel {
            voice_activity: true,
            level: 30,
        },
    )
    .unwrap();
    h.set_extension_value(map, &AbsSendTime(0x12_3456)).unwrap();
    h.set_extension_value(map, &TransportSequenceNumber(999))
        .unwrap();
    h.set_extension_value(map, &Mid("0".into())).unwrap();
    let mut buf = Vec::new();
    h.write_packet(&[0xAB; 160], 0, &mut buf).unwrap();
    buf
}

fn rtcp_compound() -> Vec<u8> {
    let block = ReportBlock {
        ssrc: Ssrc(2),
        fraction_lost: 3,
        cumulative_lost: 10,
        extended_highest_sequence: 70_000,
        jitter: 40,
        last_sr: 0x1234_5678,
        delay_since_last_sr: 0x1_0000,
    };
    let deltas: Vec<Option<i16>> = (0..40).map(|i| (i % 9 != 0).then_some(i)).collect();
    let packets = vec![
        RtcpPacket::SenderReport(SenderReport {
            ssrc: Ssrc(1),
            ntp_time: NtpTime(0xE000_0000_8000_0000),
            rtp_time: 90_000,
            packet_count: 1000,
            octet_count: 1_000_000,
            reports: vec![block],
            profile_extensions: vec![],
        }),
        RtcpPacket::ReceiverReport(ReceiverReport {
            ssrc: Ssrc(1),
            reports: vec![block; 2],
            profile_extensions: vec![],
        }),
        RtcpPacket::SourceDescription(SourceDescription::cname(Ssrc(1), "abcdefghijklmnop")),
        RtcpPacket::Nack(Nack::from_lost(
            Ssrc(1),
            Ssrc(2),
            &[SeqNo(5), SeqNo(7), SeqNo(40)],
        )),
        RtcpPacket::TransportLayerCc(
            TransportLayerCc::from_deltas(Ssrc(1), Ssrc(2), 100, 5000, 7, &deltas).unwrap(),
        ),
    ];
    let mut buf = Vec::new();
    RtcpPacket::write_compound(&packets, &mut buf).unwrap();
    buf
}

fn bench(c: &mut Criterion) {
    let map = ExtensionMap::webrtc_default();
    let rtp = rtp_packet(&map);
    let mut g = c.benchmark_group("rtp");
    g.throughput(Throughput::Elements(1));
    g.bench_function("parse+ext_lookup", |b| {
        b.iter(|| {
            let p = RtpPacket::new_checked(black_box(&rtp[..])).unwrap();
            let seq = p.sequence_number();
            let twcc: TransportSequenceNumber = p.extension_value(&map).unwrap().unwrap();
            let ast: AbsSendTime = p.extension_value(&map).unwrap().unwrap();
            let lvl: AudioLevel = p.extension_value(&map).unwrap().unwrap();
            black_box((seq, twcc, ast, lvl, p.payload().len()))
        })
    });
    g.bench_function("parse_header_repr", |b| {
        b.iter(|| black_box(RtpHeader::from_bytes(black_box(&rtp[..])).unwrap()))
    });
    g.finish();

    let rtcp = rtcp_compound();
    let mut g = c.benchmark_group("rtcp");
    g.throughput(Throughput::Elements(1));
    g.bench_function("parse_compound", |b| {
        b.iter(|| black_box(RtcpPacket::parse_compound(black_box(&rtcp)).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
