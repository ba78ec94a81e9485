//! Data channels: DCEP, stream ids, reliability modes, stream reset, empty messages, limits.
#![allow(clippy::unwrap_used)]

mod common;
use common::{message, NetConfig, Pair};
use oxrtc_sctp::{ChannelConfig, Config, Error, Event};
use std::time::Duration;

fn opened(p: &mut Pair, cfg: ChannelConfig) -> u16 {
    let id = p.a.open_channel(cfg).unwrap();
    p.flush();
    assert!(
        p.run_until(Duration::from_secs(30), |p| p.events_b.iter().any(
            |e| matches!(e, Event::ChannelOpen { id: i, remote: true, .. } if *i == id)
        ))
    );
    id
}

fn messages(events: &mut std::collections::VecDeque<Event>, id: u16) -> Vec<(bytes::Bytes, bool)> {
    let mut out = Vec::new();
    events.retain(|e| match e {
        Event::Message {
            id: i,
            data,
            is_text,
        } if *i == id => {
            out.push((data.clone(), *is_text));
            false
        }
        _ => true,
    });
    out
}

#[test]
fn dcep_carries_label_protocol_reliability_and_priority() {
    let mut p = Pair::new(11, NetConfig::perfect());
    p.connect();
    let cfg = ChannelConfig {
        label: "chat ✓".into(),
        protocol: "x-proto".into(),
        ordered: false,
        max_retransmits: Some(3),
        max_packet_life_time: None,
        negotiated: None,
        priority: 512,
    };
    let id = opened(&mut p, cfg.clone());
    assert!(p
        .events_a
        .iter()
        .any(|e| matches!(e, Event::ChannelOpen { id: i, remote: false, .. } if *i == id)));
    let got = p.events_b.iter().find_map(|e| match e {
        Event::ChannelOpen { id: i, config, .. } if *i == id => Some(config.clone()),
        _ => None,
    });
    assert_eq!(got.unwrap(), cfg);
}

#[test]
fn stream_ids_follow_dtls_role() {
    let mut p = Pair::new(12, NetConfig::perfect());
    p.connect();
    let a1 = p.a.open_channel(ChannelConfig::new("a1")).unwrap();
    let a2 = p.a.open_channel(ChannelConfig::new("a2")).unwrap();
    let b1 = p.b.open_channel(ChannelConfig::new("b1")).unwrap();
    let b2 = p.b.open_channel(ChannelConfig::new("b2")).unwrap();
    // a is the DTLS client: even ids; b the server: odd.
    assert_eq!((a1, a2, b1, b2), (0, 2, 1, 3));
    p.flush();
    assert!(p.run_until(Duration::from_secs(5), |p| {
        p.events_a
            .iter()
            .filter(|e| matches!(e, Event::ChannelOpen { remote: true, .. }))
            .count()
            == 2
            && p.events_b
                .iter()
                .filter(|e| matches!(e, Event::ChannelOpen { remote: true, .. }))
                .count()
                == 2
    }));
}

#[test]
fn channels_opened_before_connect_open_after() {
    let mut p = Pair::new(13, NetConfig::perfect());
    let id = p.a.open_channel(ChannelConfig::new("early")).unwrap();
    assert_eq!(p.a.send(id, &b"x"[..], true), Err(Error::NotEstablished));
    p.connect();
    p.flush();
    assert!(p.run_until(Duration::from_secs(5), |p| p
        .events_b
        .iter()
        .any(|e| matches!(e, Event::ChannelOpen { remote: true, .. }))));
    p.a.send(id, &b"x"[..], true).unwrap();
    p.flush();
    assert!(
        p.run_until(Duration::from_secs(5), |p| !messages(&mut p.events_b, id)
            .is_empty())
    );
}

#[test]
fn pre_negotiated_channels_need_no_dcep() {
    let mut p = Pair::new(14, NetConfig::perfect());
    p.connect();
    let cfg = ChannelConfig {
        negotiated: Some(7),
        ..ChannelConfig::new("neg")
    };
    assert_eq!(p.a.open_channel(cfg.clone()).unwrap(), 7);
    assert_eq!(p.b.open_channel(cfg.clone()).unwrap(), 7);
    assert_eq!(p.a.open_channel(cfg), Err(Error::StreamInUse(7)));
    p.a.send(7, &b"ping"[..], true).unwrap();
    p.b.send(7, vec![1, 2, 3], false).unwrap();
    p.flush();
    let mut got_a = Vec::new();
    let mut got_b = Vec::new();
    assert!(p.run_until(Duration::from_secs(5), |p| {
        got_a.extend(messages(&mut p.events_a, 7));
        got_b.extend(messages(&mut p.events_b, 7));
        !got_a.is_empty() && !got_b.is_empty()
    }));
    assert_eq!(got_b, vec![(bytes::Bytes::from_static(b"ping"), true)]);
    assert_eq!(got_a, vec![(bytes::Bytes::from_static(&[1, 2, 3]), false)]);
    // No DCEP: the remote never saw a ChannelOpen from the network.
    assert!(!p
        .events_b
        .iter()
        .any(|e| matches!(e, Event::ChannelOpen { remote: true, .. })));
}

#[test]
fn empty_messages_use_empty_ppids() {
    let mut p = Pair::new(15, NetConfig::perfect());
    p.connect();
    let id = opened(&mut p, ChannelConfig::new("e"));
    p.a.send(id, bytes::Bytes::new(), true).unwrap();
    p.a.send(id, bytes::Bytes::new(), false).unwrap();
    p.a.send(id, &b"z"[..], true).unwrap();
    p.flush();
    let mut got = Vec::new();
    assert!(p.run_until(Duration::from_secs(5), |p| {
        got.extend(messages(&mut p.events_b, id));
        got.len() == 3
    }));
    assert_eq!(
        got,
        vec![
            (bytes::Bytes::new(), true),
            (bytes::Bytes::new(), false),
            (bytes::Bytes::from_static(b"z"), true)
        ]
    );
}

#[test]
fn max_message_size_is_enforced_with_a_clear_error() {
    let mut p = Pair::new(16, NetConfig::perfect());
    p.connect();
    let id = opened(&mut p, ChannelConfig::new("m"));
    assert_eq!(p.a.max_message_size(), 65536);
    assert_eq!(
        p.a.send(id, vec![0u8; 65537], false),
        Err(Error::MessageTooLarge {
            size: 65537,
            max: 65536
        })
    );
    p.a.set_max_message_size(256 * 1024);
    p.a.send(id, message(1, 256 * 1024), false).unwrap();
    p.flush();
    let mut got = Vec::new();
    assert!(p.run_until(Duration::from_secs(5), |p| {
        got.extend(messages(&mut p.events_b, id));
        !got.is_empty()
    }));
    assert_eq!(got[0].0.as_ref(), message(1, 256 * 1024).as_slice());
}

#[test]
fn receiver_aborts_on_message_above_its_limit() {
    let cb = Config {
        max_receive_message_size: 10_000,
        ..Config::default()
    };
    let mut p = Pair::with_configs(17, NetConfig::perfect(), Config::default(), cb);
    p.connect();
    let id = opened(&mut p, ChannelConfig::new("big"));
    p.a.send(id, vec![0u8; 20_000], false).unwrap();
    p.flush();
    assert!(p.run_until(Duration::from_secs(5), |p| !p.a.is_established()));
    assert!(p.events_a.iter().any(|e| matches!(e, Event::Closed { .. })));
}

#[test]
fn unordered_channel_delivers_everything_under_loss() {
    let mut p = Pair::new(18, NetConfig::lossy(0.1));
    p.connect();
    let id = opened(
        &mut p,
        ChannelConfig {
            ordered: false,
            ..ChannelConfig::new("u")
        },
    );
    // Until DATA_CHANNEL_ACK is back, messages go ordered (RFC 8832 §6): let it arrive.
    p.run_until(Duration::from_secs(2), |_| false);
    let n = 400u64;
    for i in 0..n {
        p.a.send(id, message(i, 3000), false).unwrap();
    }
    p.flush();
    let mut got = Vec::new();
    assert!(p.run_until(Duration::from_secs(600), |p| {
        got.extend(messages(&mut p.events_b, id));
        got.len() as u64 == n
    }));
    let mut idx: Vec<u64> = got
        .iter()
        .map(|(d, _)| {
            (0..n)
                .find(|&i| d.as_ref() == message(i, 3000).as_slice())
                .unwrap()
        })
        .collect();
    let in_order = idx.windows(2).all(|w| w[0] < w[1]);
    idx.sort_unstable();
    assert_eq!(idx, (0..n).collect::<Vec<_>>());
    assert!(
        !in_order,
        "with 10% loss some unordered message should overtake another"
    );
}

fn partial_reliability(cfg: ChannelConfig, seed: u64) {
    let mut p = Pair::new(seed, NetConfig::lossy(0.2));
    p.connect();
    let id = opened(&mut p, cfg);
    let reliable = opened(&mut p, ChannelConfig::new("reliable"));
    let n = 600u64;
    let mut got = Vec::new();
    for i in 0..n {
        p.a.send(id, message(i, 2000), false).unwrap();
        // Keep the sender busy for a while, as a game-state stream would.
        if i % 20 == 0 {
            p.run_until(Duration::from_millis(50), |_| false);
            got.extend(messages(&mut p.events_b, id));
        }
    }
    // A reliable message sent after the lossy stream must not be held up by it.
    p.a.send(reliable, &b"after"[..], true).unwrap();
    p.flush();
    let mut after = false;
    let finished = p.run_until(Duration::from_secs(120), |p| {
        got.extend(messages(&mut p.events_b, id));
        after |= !messages(&mut p.events_b, reliable).is_empty();
        after && p.a.buffered_amount(id) == 0
    });
    assert!(finished && after);
    // Let FORWARD TSNs settle, then the ordered receiver must have caught up fully.
    p.run_until(Duration::from_secs(30), |_| false);
    got.extend(messages(&mut p.events_b, id));
    let idx: Vec<u64> = got
        .iter()
        .map(|(d, _)| {
            (0..n)
                .find(|&i| d.as_ref() == message(i, 2000).as_slice())
                .unwrap()
        })
        .collect();
    assert!(
        idx.windows(2).all(|w| w[0] < w[1]),
        "ordered PR channel out of order"
    );
    let abandoned = p.a.stats().messages_abandoned;
    assert!(
        abandoned > 0,
        "20% loss should make some messages be dropped"
    );
    assert!(
        (idx.len() as u64) < n && idx.len() as u64 + abandoned >= n,
        "{} delivered, {abandoned} abandoned",
        idx.len()
    );
}

#[test]
fn partial_reliability_by_retransmits_drops_and_never_blocks() {
    partial_reliability(
        ChannelConfig {
            max_retransmits: Some(0),
            ..ChannelConfig::new("rtx0")
        },
        19,
    );
}

#[test]
fn partial_reliability_by_lifetime_drops_and_never_blocks() {
    partial_reliability(
        ChannelConfig {
            max_packet_life_time: Some(30),
            ..ChannelConfig::new("ttl")
        },
        20,
    );
}

#[test]
fn partial_reliability_without_i_data() {
    let mut p = Pair::with_configs(
        21,
        NetConfig::lossy(0.2),
        Config {
            interleaving: false,
            ..Config::default()
        },
        Config::default(),
    );
    p.connect();
    assert!(!p.a.interleaving());
    let id = opened(
        &mut p,
        ChannelConfig {
            max_retransmits: Some(1),
            ..ChannelConfig::new("pr")
        },
    );
    for i in 0..300 {
        p.a.send(id, message(i, 2500), false).unwrap();
    }
    p.flush();
    let mut got = Vec::new();
    p.run_until(Duration::from_secs(120), |p| {
        got.extend(messages(&mut p.events_b, id));
        false
    });
    let idx: Vec<u64> = got
        .iter()
        .map(|(d, _)| {
            (0..300)
                .find(|&i| d.as_ref() == message(i, 2500).as_slice())
                .unwrap()
        })
        .collect();
    assert!(idx.windows(2).all(|w| w[0] < w[1]));
    assert!(idx.len() + p.a.stats().messages_abandoned as usize >= 300);
    assert!(idx.contains(&299) || p.a.stats().messages_abandoned > 0);
}

#[test]
fn stream_reset_closes_only_its_channel() {
    let mut p = Pair::new(22, NetConfig::lossy(0.05));
    p.connect();
    let c1 = opened(&mut p, ChannelConfig::new("one"));
    let c2 = opened(&mut p, ChannelConfig::new("two"));
    let c3 = opened(&mut p, ChannelConfig::new("three"));
    p.a.send(c2, &b"last words"[..], true).unwrap();
    p.a.close_channel(c2).unwrap();
    assert_eq!(
        p.a.send(c2, &b"too late"[..], true),
        Err(Error::ChannelNotOpen(c2))
    );
    p.flush();
    assert!(p.run_until(Duration::from_secs(60), |p| {
        p.events_a.contains(&Event::ChannelClosed { id: c2 })
            && p.events_b.contains(&Event::ChannelClosed { id: c2 })
    }));
    assert_eq!(
        messages(&mut p.events_b, c2),
        vec![(bytes::Bytes::from_static(b"last words"), true)]
    );
    for e in p.events_a.iter().chain(p.events_b.iter()) {
        if let Event::ChannelClosed { id } = e {
            assert_eq!(*id, c2);
        }
    }
    // The others still work both ways.
    p.a.send(c1, &b"1"[..], true).unwrap();
    p.b.send(c3, &b"3"[..], true).unwrap();
    p.flush();
    let (mut g1, mut g3) = (false, false);
    assert!(p.run_until(Duration::from_secs(30), |p| {
        g1 |= !messages(&mut p.events_b, c1).is_empty();
        g3 |= !messages(&mut p.events_a, c3).is_empty();
        g1 && g3
    }));
    // The freed id is reused by the next channel, with fresh sequence numbers.
    let again = opened(&mut p, ChannelConfig::new("again"));
    assert_eq!(again, c2);
    p.a.send(again, &b"new life"[..], true).unwrap();
    p.flush();
    let mut got = Vec::new();
    assert!(p.run_until(Duration::from_secs(30), |p| {
        got.extend(messages(&mut p.events_b, again));
        !got.is_empty()
    }));
    assert_eq!(got[0].0.as_ref(), b"new life");
}

#[test]
fn remote_close_is_mirrored() {
    let mut p = Pair::new(23, NetConfig::perfect());
    p.connect();
    let id = opened(&mut p, ChannelConfig::new("r"));
    p.b.close_channel(id).unwrap();
    p.flush();
    assert!(p.run_until(Duration::from_secs(10), |p| {
        p.events_a.contains(&Event::ChannelClosed { id })
            && p.events_b.contains(&Event::ChannelClosed { id })
    }));
    assert!(p.a.channel_ids().is_empty() && p.b.channel_ids().is_empty());
}

#[test]
fn buffered_amount_low_fires_when_draining() {
    let mut p = Pair::new(24, NetConfig::perfect());
    p.connect();
    let id = opened(&mut p, ChannelConfig::new("b"));
    p.a.set_buffered_amount_low_threshold(id, 100_000).unwrap();
    for i in 0..8 {
        p.a.send(id, message(i, 60_000), false).unwrap();
    }
    assert_eq!(p.a.buffered_amount(id), 480_000);
    p.flush();
    assert!(p.run_until(Duration::from_secs(10), |p| p
        .events_a
        .contains(&Event::BufferedAmountLow { id })));
    assert!(p.a.buffered_amount(id) <= 100_000);
    let fired = p
        .events_a
        .iter()
        .filter(|e| **e == Event::BufferedAmountLow { id })
        .count();
    assert_eq!(fired, 1);
}

#[test]
fn interleaving_lets_small_messages_pass_a_large_one() {
    let mut p = Pair::new(25, NetConfig::perfect());
    p.connect();
    p.a.set_max_message_size(256 * 1024);
    let big = opened(&mut p, ChannelConfig::new("big"));
    let small = opened(&mut p, ChannelConfig::new("small"));
    p.a.send(big, message(9, 256 * 1024), false).unwrap();
    p.a.send(small, &b"urgent"[..], true).unwrap();
    p.flush();
    let mut order = Vec::new();
    assert!(p.run_until(Duration::from_secs(10), |p| {
        for e in p.events_b.drain(..) {
            if let Event::Message { id, .. } = e {
                order.push(id);
            }
        }
        order.len() == 2
    }));
    assert_eq!(
        order,
        vec![small, big],
        "I-DATA should interleave the small message"
    );
}

#[test]
fn send_errors() {
    let mut p = Pair::new(26, NetConfig::perfect());
    p.connect();
    assert_eq!(
        p.a.send(40, &b"x"[..], true),
        Err(Error::UnknownChannel(40))
    );
    let bad = ChannelConfig {
        max_retransmits: Some(1),
        max_packet_life_time: Some(1),
        ..ChannelConfig::new("bad")
    };
    assert!(matches!(
        p.a.open_channel(bad),
        Err(Error::InvalidConfig(_))
    ));
}

#[test]
fn many_channels_close_at_once_under_loss() {
    let mut p = Pair::new(27, NetConfig::lossy(0.15));
    p.connect();
    let ids: Vec<u16> = (0..6)
        .map(|i| opened(&mut p, ChannelConfig::new(format!("c{i}"))))
        .collect();
    for (n, &id) in ids.iter().enumerate() {
        p.a.send(id, message(n as u64, 5000), false).unwrap();
        p.b.send(id, message(n as u64 + 100, 5000), false).unwrap();
        if n % 2 == 0 {
            p.a.close_channel(id).unwrap();
        } else {
            p.b.close_channel(id).unwrap();
        }
    }
    p.flush();
    assert!(
        p.run_until(Duration::from_secs(600), |p| ids.iter().all(|&id| {
            p.events_a.contains(&Event::ChannelClosed { id })
                && p.events_b.contains(&Event::ChannelClosed { id })
        }))
    );
    // Every message sent before close arrived.
    for (n, &id) in ids.iter().enumerate() {
        assert_eq!(
            messages(&mut p.events_b, id),
            vec![(message(n as u64, 5000).into(), false)]
        );
        assert_eq!(
            messages(&mut p.events_a, id),
            vec![(message(n as u64 + 100, 5000).into(), false)]
        );
    }
    assert!(p.a.channel_ids().is_empty() && p.b.channel_ids().is_empty());
}
