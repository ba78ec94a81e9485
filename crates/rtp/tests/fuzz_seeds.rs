//! Runs every fuzz harness over its seed corpus (`/fuzz/corpus/<target>/seed-*`), so the
//! seeds stay valid and the harnesses stay green without a fuzzer.
#![cfg(feature = "fuzzing")]
#![allow(clippy::unwrap_used)]

use std::path::Path;

use oxrtc_rtp::fuzzing;
use oxrtc_rtp::{RtcpPacket, RtpPacket};

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut v: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("seed-")
        })
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no seeds for {target}");
    v
}

#[test]
fn seeds_run_through_harnesses() {
    type Harness = fn(&[u8]);
    let targets: [(&str, Harness); 14] = [
        ("rtp", fuzzing::rtp),
        ("rtcp", fuzzing::rtcp),
        ("depack_opus", fuzzing::depack_opus),
        ("depack_g711", fuzzing::depack_g711),
        ("depack_vp8", fuzzing::depack_vp8),
        ("depack_vp9", fuzzing::depack_vp9),
        ("depack_h264", fuzzing::depack_h264),
        ("depack_h265", fuzzing::depack_h265),
        ("depack_av1", fuzzing::depack_av1),
        ("rtp_receive_stream", fuzzing::receive_stream),
        ("container_ivf", fuzzing::ivf),
        ("container_ogg", fuzzing::ogg),
        ("rtp_telephone_event", fuzzing::telephone_event),
        ("rtp_transport_cc", fuzzing::transport_cc),
    ];
    for (t, f) in targets {
        for s in seeds(t) {
            f(&s);
        }
    }
}

#[test]
fn wire_seeds_are_valid_packets() {
    for s in seeds("rtp") {
        RtpPacket::new_checked(&s[..]).unwrap();
    }
    for s in seeds("rtcp") {
        assert!(!RtcpPacket::parse_compound(&s).unwrap().is_empty());
    }
}
