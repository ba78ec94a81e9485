//! Delayed SACK, heartbeats and failure detection on the virtual clock.
#![allow(clippy::unwrap_used)]

mod common;
use bytes::Bytes;
use common::{NetConfig, Pair};
use oxrtc_sctp::wire::{Chunk, Packet};
use oxrtc_sctp::{Association, ChannelConfig, CloseReason, Config, Event, State};
use rand_chacha::rand_core::SeedableRng;
use std::time::{Duration, Instant};

fn chunks(p: &[u8]) -> Vec<Chunk> {
    Packet::parse(&Bytes::copy_from_slice(p)).unwrap().chunks
}

/// Connects two associations by hand (no network) and opens a negotiated channel 1.
fn manual_pair(now: Instant) -> (Association, Association) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(77);
    let mut a = Association::new(Config::default(), true, now, &mut rng);
    let mut b = Association::new(Config::default(), false, now, &mut rng);
    for _ in 0..4 {
        while let Some(p) = a.poll_transmit() {
            b.handle_receive(now, &p).unwrap();
        }
        while let Some(p) = b.poll_transmit() {
            a.handle_receive(now, &p).unwrap();
        }
    }
    assert!(a.is_established() && b.is_established());
    let cfg = ChannelConfig {
        negotiated: Some(1),
        ..ChannelConfig::new("n")
    };
    a.open_channel(cfg.clone()).unwrap();
    b.open_channel(cfg).unwrap();
    (a, b)
}

#[test]
fn sack_is_delayed_200ms_for_one_packet_and_immediate_for_two() {
    let now = Instant::now();
    let (mut a, mut b) = manual_pair(now);
    a.send(1, vec![1u8; 100], false).unwrap();
    let p = a.poll_transmit().unwrap();
    assert!(a.poll_transmit().is_none());
    b.handle_receive(now, &p).unwrap();
    assert!(b.poll_transmit().is_none(), "one packet: SACK is delayed");
    assert_eq!(b.poll_timeout(), Some(now + Duration::from_millis(200)));
    b.handle_timeout(now + Duration::from_millis(199));
    assert!(b.poll_transmit().is_none());
    let t = now + Duration::from_millis(200);
    b.handle_timeout(t);
    let sack = b.poll_transmit().unwrap();
    assert!(matches!(chunks(&sack)[0], Chunk::Sack(_)));
    a.handle_receive(t, &sack).unwrap();
    // Two packets: the second one triggers the SACK at once.
    a.send(1, vec![2u8; 3000], false).unwrap();
    let p1 = a.poll_transmit().unwrap();
    let p2 = a.poll_transmit().unwrap();
    b.handle_receive(t, &p1).unwrap();
    assert!(b.poll_transmit().is_none());
    b.handle_receive(t, &p2).unwrap();
    let s = b.poll_transmit().unwrap();
    let Chunk::Sack(sack) = &chunks(&s)[0] else {
        panic!()
    };
    assert!(sack.gap_ack_blocks.is_empty());
}

#[test]
fn out_of_order_data_is_sacked_at_once_with_a_gap_block() {
    let now = Instant::now();
    let (mut a, mut b) = manual_pair(now);
    a.send(1, vec![3u8; 2000], false).unwrap();
    let _lost = a.poll_transmit().unwrap();
    let p2 = a.poll_transmit().unwrap();
    b.handle_receive(now, &p2).unwrap();
    let s = b.poll_transmit().unwrap();
    let Chunk::Sack(sack) = &chunks(&s)[0] else {
        panic!()
    };
    assert_eq!(sack.gap_ack_blocks, vec![(2, 2)]);
    // T3-rtx: nothing acked, the first chunk goes again after the RTO (1 s initial).
    a.handle_receive(now, &s).unwrap();
    assert!(a.poll_transmit().is_none());
    let t3 = a.poll_timeout().unwrap();
    assert!(t3 <= now + Duration::from_secs(1));
    a.handle_timeout(t3);
    let again = a.poll_transmit().unwrap();
    assert!(matches!(chunks(&again)[0], Chunk::IData(_)));
    assert_eq!(a.stats().t3_expirations, 1);
    assert_eq!(a.stats().cwnd, 1200, "T3 collapses cwnd to one MTU");
}

#[test]
fn idle_association_sends_heartbeats_and_measures_rtt() {
    let mut p = Pair::new(30, NetConfig::perfect());
    p.connect();
    assert_eq!(p.a.stats().srtt, None);
    p.run_until(Duration::from_secs(40), |_| false);
    assert_eq!(p.a.stats().srtt, Some(Duration::from_millis(20)));
    assert!(p.a.is_established() && p.b.is_established());
}

#[test]
fn silent_peer_is_declared_lost_by_heartbeats() {
    let mut p = Pair::new(31, NetConfig::perfect());
    p.connect();
    let mut dead = Pair::new(32, NetConfig::lossy(1.0));
    std::mem::swap(&mut dead.a, &mut p.a);
    std::mem::swap(&mut dead.b, &mut p.b);
    dead.now = p.now;
    assert!(dead.run_until(Duration::from_secs(3600), |p| p.a.state() == State::Closed));
    assert!(dead.events_a.contains(&Event::Closed {
        reason: CloseReason::Lost
    }));
    // 11 unanswered heartbeats, 30 s + RTO apart.
    assert!(dead.now - p.now > Duration::from_secs(300));
}
