//! Parse + write of a typical browser offer: Chromium's audio + video + data channel offer
//! (3 m-lines, 84 lines, with candidates, 11 header extensions and RTX).
#![allow(clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use oxrtc_sdp::SessionDescription;
use std::hint::black_box;

const OFFER: &str = include_str!("../tests/data/chromium-to-chromium.media-echo.offer.sdp");
const ALLCODECS: &str = include_str!("../tests/data/chromium-to-aiortc.media-allcodecs.offer.sdp");

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("sdp");
    g.throughput(Throughput::Elements(1));
    g.bench_function("parse_write_chromium_offer", |b| {
        b.iter(|| {
            let sd: SessionDescription = black_box(OFFER).parse().unwrap();
            black_box(sd.to_string())
        })
    });
    let sd: SessionDescription = OFFER.parse().unwrap();
    g.bench_function("parse_chromium_offer", |b| {
        b.iter(|| black_box(black_box(OFFER).parse::<SessionDescription>().unwrap()))
    });
    g.bench_function("write_chromium_offer", |b| {
        b.iter(|| black_box(black_box(&sd).to_string()))
    });
    g.bench_function("parse_write_chromium_allcodecs_offer", |b| {
        b.iter(|| {
            let sd: SessionDescription = black_box(ALLCODECS).parse().unwrap();
            black_box(sd.to_string())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
