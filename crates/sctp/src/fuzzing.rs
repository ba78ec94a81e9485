//! Harness functions for the cargo-fuzz targets in `/fuzz` (feature `fuzzing`).
//!
//! Each function asserts invariants, not only the absence of panics.

use crate::wire::Packet;
use bytes::Bytes;

/// `sctp_packet`: parse arbitrary bytes as an SCTP packet; when that succeeds, writing it
/// back and parsing again must give the same packet, and a second write the same bytes.
///
/// # Panics
/// When an invariant is broken (that is the point of a fuzz target).
pub fn sctp_packet(data: &[u8]) {
    let Ok(p) = Packet::parse(&Bytes::copy_from_slice(data)) else {
        return;
    };
    let mut w = Vec::new();
    p.write(&mut w, false);
    assert!(
        crate::wire::verify_checksum(&w),
        "written packet has a bad checksum"
    );
    assert_eq!(w.len(), p.encoded_len(), "encoded_len disagrees with write");
    let p2 = Packet::parse(&Bytes::from(w.clone())).expect("re-parse of written packet");
    let mut w2 = Vec::new();
    p2.write(&mut w2, false);
    assert_eq!(w, w2, "write(parse(write(p))) is not stable");
}

/// `sctp_association`: an established association (its peer is a second association, run in
/// memory) fed an arbitrary sequence of operations: packets whose chunks come from the input
/// (with our verification tag and a zero checksum, so they get past the header checks), raw
/// packets, clock jumps and API commands (including stream resets asked both ways). Between
/// operations the two associations exchange their packets. Asserts: no panic, and memory
/// held stays bounded.
///
/// # Panics
/// When the association holds more memory than its limits allow.
pub fn sctp_association(data: &[u8]) {
    use crate::{Association, ChannelConfig, Config};
    use rand_chacha::rand_core::SeedableRng;
    use std::time::{Duration, Instant};

    // The harness, not the state machine, reads the clock: one base instant, then offsets.
    let t0 = Instant::now();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0x5c7b);
    let mut a = Association::new(Config::default(), true, t0, &mut rng);
    let mut b = Association::new(Config::default(), false, t0, &mut rng);
    let mut now = t0;
    pump(&mut a, &mut b, now);
    let mut ids = Vec::new();
    if let Ok(id) = a.open_channel(ChannelConfig::new("fuzz")) {
        ids.push(id);
    }
    pump(&mut a, &mut b, now);

    let mut rest = data;
    while let Some((&op, tail)) = rest.split_first() {
        let len = tail
            .get(..2)
            .map_or(0, |l| usize::from(u16::from_be_bytes([l[0], l[1]])) % 2048);
        let body = tail.get(2..).unwrap_or(&[]);
        let body = &body[..len.min(body.len())];
        rest = tail.get(2 + body.len()..).unwrap_or(&[]);
        match op % 5 {
            0 => {
                let mut p = Vec::with_capacity(12 + body.len());
                p.extend_from_slice(&5000u16.to_be_bytes());
                p.extend_from_slice(&5000u16.to_be_bytes());
                p.extend_from_slice(&a.local_tag().to_be_bytes());
                p.extend_from_slice(&[0; 4]);
                p.extend_from_slice(body);
                let _ = a.handle_receive(now, &p);
            }
            1 => {
                let _ = a.handle_receive(now, body);
            }
            2 => {
                let ms = body.iter().fold(0u64, |acc, &x| {
                    acc.wrapping_mul(7).wrapping_add(u64::from(x))
                }) % 120_000;
                now += Duration::from_millis(ms);
                a.handle_timeout(now);
                b.handle_timeout(now);
            }
            3 => {
                let id = ids.first().copied().unwrap_or(0);
                match body.first().copied().unwrap_or(0) % 8 {
                    0 | 1 => {
                        let _ = a.send(id, body.repeat(usize::from(op / 5) + 1), op & 1 == 0);
                    }
                    2 => {
                        let _ = a.close_channel(id);
                    }
                    3 => {
                        let cfg = ChannelConfig {
                            ordered: op & 1 == 0,
                            max_retransmits: (op & 2 != 0).then_some(0),
                            ..ChannelConfig::new("x")
                        };
                        if let Ok(id) = a.open_channel(cfg) {
                            ids.push(id);
                        }
                    }
                    4 => {
                        let _ = b.send(id, body.to_vec(), false);
                    }
                    5 => {
                        let _ = a.request_incoming_reset(&[id]);
                    }
                    6 => {
                        let _ = b.request_incoming_reset(&[]);
                    }
                    _ => a.shutdown(),
                }
            }
            _ => {}
        }
        pump(&mut a, &mut b, now);
        let mem = a.memory_estimate();
        assert!(mem < 48 << 20, "association holds {mem} bytes");
    }
}

/// Exchanges packets between two associations until both are quiet (bounded rounds).
#[cfg(feature = "fuzzing")]
fn pump(a: &mut crate::Association, b: &mut crate::Association, now: std::time::Instant) {
    for _ in 0..64 {
        let mut any = false;
        while let Some(p) = a.poll_transmit() {
            let _ = b.handle_receive(now, &p);
            any = true;
        }
        while let Some(p) = b.poll_transmit() {
            let _ = a.handle_receive(now, &p);
            any = true;
        }
        while a.poll_event().is_some() {}
        while b.poll_event().is_some() {}
        if !any {
            break;
        }
    }
}
