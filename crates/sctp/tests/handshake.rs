//! Association setup: simultaneous open (as WebRTC does it), passive open, shutdown, abort.
#![allow(clippy::unwrap_used)]

mod common;
use common::{NetConfig, Pair};
use oxrtc_sctp::{ChannelConfig, CloseReason, Config, Event, State};
use std::time::Duration;

#[test]
fn simultaneous_open_establishes_both_and_negotiates_extensions() {
    let mut p = Pair::new(1, NetConfig::perfect());
    p.connect();
    assert!(p.events_a.contains(&Event::Connected));
    assert!(p.events_b.contains(&Event::Connected));
    assert!(p.a.interleaving() && p.b.interleaving());
    assert!(p.a.zero_checksum() && p.b.zero_checksum());
    // Both sides sent INIT: one round trip for INIT/INIT ACK, one for COOKIE ECHO/ACK.
    assert!(
        p.elapsed() <= Duration::from_millis(41),
        "{:?}",
        p.elapsed()
    );
}

#[test]
fn simultaneous_open_survives_loss_for_many_seeds() {
    for seed in 0..40 {
        let mut p = Pair::new(seed, NetConfig::lossy(0.3));
        p.connect();
    }
}

#[test]
fn passive_side_answers_from_closed() {
    let cb = Config {
        active_open: false,
        ..Config::default()
    };
    let mut p = Pair::with_configs(7, NetConfig::perfect(), Config::default(), cb);
    assert_eq!(p.b.state(), State::Closed);
    p.connect();
    let id = p.a.open_channel(ChannelConfig::new("x")).unwrap();
    p.flush();
    p.run_until(Duration::from_secs(1), |p| {
        p.events_b
            .iter()
            .any(|e| matches!(e, Event::ChannelOpen { remote: true, .. }))
    });
    p.a.send(id, &b"hi"[..], true).unwrap();
    assert!(p.run_until(Duration::from_secs(1), |p| p
        .events_b
        .iter()
        .any(|e| matches!(e,
        Event::Message { data, is_text: true, .. } if data.as_ref() == b"hi"))));
}

#[test]
fn extensions_off_falls_back_to_data_and_crc() {
    let ca = Config {
        interleaving: false,
        zero_checksum: false,
        ..Config::default()
    };
    let mut p = Pair::with_configs(3, NetConfig::perfect(), ca, Config::default());
    p.connect();
    assert!(!p.a.interleaving() && !p.b.interleaving());
    assert!(!p.a.zero_checksum() && !p.b.zero_checksum());
}

#[test]
fn graceful_shutdown_closes_both() {
    let mut p = Pair::new(5, NetConfig::lossy(0.1));
    p.connect();
    p.a.shutdown();
    assert!(
        p.run_until(Duration::from_secs(120), |p| p.a.state() == State::Closed
            && p.b.state() == State::Closed)
    );
    assert!(p.events_a.contains(&Event::Closed {
        reason: CloseReason::Shutdown
    }));
    assert!(p.events_b.contains(&Event::Closed {
        reason: CloseReason::Shutdown
    }));
}

#[test]
fn abort_reaches_peer_with_reason() {
    let mut p = Pair::new(6, NetConfig::perfect());
    p.connect();
    p.a.abort("bye");
    assert!(p.run_until(Duration::from_secs(1), |p| p.b.state() == State::Closed));
    assert!(p.events_b.contains(&Event::Closed {
        reason: CloseReason::AbortedByPeer(Some("bye".into()))
    }));
}

#[test]
fn dead_peer_is_detected() {
    let mut p = Pair::new(8, NetConfig::perfect());
    p.connect();
    let id = p.a.open_channel(ChannelConfig::new("x")).unwrap();
    p.flush();
    // From now on everything is lost.
    let mut p2 = p;
    p2.a.send(id, vec![1u8; 1000], false).unwrap_or(());
    let mut lost = Pair::new(9, NetConfig::lossy(1.0));
    std::mem::swap(&mut lost.a, &mut p2.a);
    std::mem::swap(&mut lost.b, &mut p2.b);
    lost.now = p2.now;
    assert!(lost.run_until(Duration::from_secs(3600), |p| p.a.state() == State::Closed));
    assert!(lost.events_a.contains(&Event::Closed {
        reason: CloseReason::Lost
    }));
}
