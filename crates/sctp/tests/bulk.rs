//! 64 MiB over a reliable ordered channel, intact and in order, at loss rates from 0 to 20 %
//! with duplication and reordering (jitter), in the seeded simulator.
//!
//! Every row moves the full 64 MiB, also in debug builds (about 10 s of CPU for all rows: the
//! copies and CRC run in optimised dependencies). Virtual time is bounded per row.
#![allow(clippy::unwrap_used)]

mod common;
use common::{message, NetConfig, Pair};
use oxrtc_sctp::{ChannelConfig, Event};
use std::time::Duration;

const MSG: usize = 64 * 1024;
const MIB: usize = 1024 * 1024;

/// Sends `total` bytes in 64 KiB messages with buffered-amount flow control and checks every
/// message on arrival. Returns the virtual time the transfer took.
fn bulk(seed: u64, net: NetConfig, total: usize) -> Duration {
    let mut p = Pair::new(seed, net);
    p.connect();
    let id = p.a.open_channel(ChannelConfig::new("bulk")).unwrap();
    p.a.set_buffered_amount_low_threshold(id, MIB / 2).unwrap();
    let count = (total / MSG) as u64;
    let (mut sent, mut received) = (0u64, 0u64);
    let start = p.now;
    while received < count {
        while sent < count && p.a.buffered_amount(id) < MIB {
            p.a.send(id, message(sent, MSG), false).unwrap();
            sent += 1;
        }
        assert!(p.step(), "simulation stalled at {received}/{count}");
        p.events_a.clear();
        while let Some(e) = p.events_b.pop_front() {
            if let Event::Message {
                id: rid,
                data,
                is_text,
            } = e
            {
                assert_eq!(rid, id);
                assert!(!is_text);
                assert_eq!(data.len(), MSG, "message {received} has the wrong size");
                assert!(
                    data == message(received, MSG),
                    "message {received} corrupted or out of order"
                );
                received += 1;
            }
        }
        assert!(
            p.now - start < Duration::from_secs(4 * 3600),
            "transfer too slow: {received}/{count}"
        );
    }
    eprintln!("a: {:?}\nb: {:?}", p.a.stats(), p.b.stats());
    p.now - start
}

#[test]
fn bulk_64mib_no_loss() {
    let t = bulk(1, NetConfig::perfect(), 64 * MIB);
    eprintln!("64 MiB at 0% loss in {t:?} virtual");
}

fn lossy_row(loss: f64, seed: u64) {
    let total = 64 * MIB;
    let t = bulk(seed, NetConfig::lossy(loss), total);
    eprintln!(
        "{} MiB at {}% loss (1% dup, jitter) in {t:?} virtual",
        total / MIB,
        loss * 100.0
    );
}

#[test]
fn bulk_loss_1() {
    lossy_row(0.01, 2);
}

#[test]
fn bulk_loss_5() {
    lossy_row(0.05, 3);
}

#[test]
fn bulk_loss_10() {
    lossy_row(0.10, 4);
}

#[test]
fn bulk_loss_20() {
    lossy_row(0.20, 5);
}

#[test]
fn bulk_reorder_heavy_no_loss() {
    let net = NetConfig {
        loss: 0.0,
        dup: 0.05,
        delay: Duration::from_millis(5),
        jitter: Duration::from_millis(20),
    };
    bulk(6, net, 64 * MIB);
}
