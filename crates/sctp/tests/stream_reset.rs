//! Stream reconfiguration (RFC 6525): Incoming SSN Reset Requests answered with Outgoing SSN
//! Reset Requests (§5.2.3), resets of all streams, simultaneous requests, Add Outgoing
//! Streams (§5.2.5), and sequence numbers starting again at 0 after a reset.
#![allow(clippy::unwrap_used)]

mod common;

use bytes::Bytes;
use common::{NetConfig, Pair};
use oxrtc_sctp::wire::{Chunk, CommonHeader, Packet, Param, ReConfig, ReconfigResult};
use oxrtc_sctp::{ChannelConfig, Config, Error, Event};
use std::collections::VecDeque;
use std::time::Duration;

fn opened(p: &mut Pair, cfg: ChannelConfig) -> u16 {
    let id = p.a.open_channel(cfg).unwrap();
    p.flush();
    assert!(p.run_until(Duration::from_secs(30), |p| {
        p.events_a
            .iter()
            .any(|e| matches!(e, Event::ChannelOpen { id: i, .. } if *i == id))
            && p.events_b
                .iter()
                .any(|e| matches!(e, Event::ChannelOpen { id: i, .. } if *i == id))
    }));
    id
}

fn messages(events: &mut VecDeque<Event>, id: u16) -> Vec<Bytes> {
    let mut out = Vec::new();
    events.retain(|e| match e {
        Event::Message { id: i, data, .. } if *i == id => {
            out.push(data.clone());
            false
        }
        _ => true,
    });
    out
}

fn closed(events: &VecDeque<Event>, id: u16) -> bool {
    events.contains(&Event::ChannelClosed { id })
}

/// Every RE-CONFIG parameter on the tap from index `from`, as `(from_a, param)`.
fn reconfig_params(p: &Pair, from: usize) -> Vec<(bool, Param)> {
    let mut out = Vec::new();
    for (from_a, raw) in p.tap.as_ref().unwrap().iter().skip(from) {
        let Ok(pkt) = Packet::parse(&Bytes::copy_from_slice(raw)) else {
            continue;
        };
        for c in pkt.chunks {
            if let Chunk::ReConfig(r) = c {
                out.extend(r.params.into_iter().map(|x| (*from_a, x)));
            }
        }
    }
    out
}

/// Sequence number (SSN, or MID with I-DATA) of the first data chunk sent on `stream` in
/// the given direction from tap index `from`.
fn first_seq(p: &Pair, from: usize, stream: u16, from_a: bool) -> Option<u32> {
    for (dir, raw) in p.tap.as_ref().unwrap().iter().skip(from) {
        if *dir != from_a {
            continue;
        }
        let Ok(pkt) = Packet::parse(&Bytes::copy_from_slice(raw)) else {
            continue;
        };
        for c in pkt.chunks {
            match c {
                Chunk::Data(d) if d.stream_id == stream => return Some(u32::from(d.ssn)),
                Chunk::IData(d) if d.stream_id == stream => return Some(d.mid),
                _ => {}
            }
        }
    }
    None
}

/// One side asks the other to reset its outgoing stream while that side still has queued
/// messages: everything queued arrives, the responder answers with an Outgoing SSN Reset
/// Request naming the request, the channel closes on both ends, and a channel reopened on
/// the same id starts at sequence number 0 in both directions.
fn incoming_reset(seed: u64, a_asks: bool, interleaving: bool, loss: f64) {
    let cfg = Config {
        interleaving,
        ..Config::default()
    };
    let mut p = Pair::with_configs(seed, NetConfig::lossy(loss), cfg.clone(), cfg);
    p.tap = Some(Vec::new());
    p.connect();
    let id = opened(&mut p, ChannelConfig::new("reset me"));
    // Both sides have used the stream (sequence numbers above 0), and the side that will be
    // asked still has messages queued.
    for i in 0..40u64 {
        p.a.send(id, common::message(i, 3000), false).unwrap();
        p.b.send(id, common::message(i + 100, 3000), false).unwrap();
    }
    let mark = p.tap.as_ref().unwrap().len();
    if a_asks {
        p.a.request_incoming_reset(&[id]).unwrap();
    } else {
        p.b.request_incoming_reset(&[id]).unwrap();
    }
    p.flush();
    let (mut got_a, mut got_b) = (Vec::new(), Vec::new());
    assert!(
        p.run_until(Duration::from_secs(120), |p| {
            got_a.extend(messages(&mut p.events_a, id));
            got_b.extend(messages(&mut p.events_b, id));
            closed(&p.events_a, id) && closed(&p.events_b, id)
        }),
        "channel not closed on both ends"
    );
    // Nothing queued before the reset was lost, and order was kept.
    let want_b: Vec<Bytes> = (0..40u64)
        .map(|i| Bytes::from(common::message(i, 3000)))
        .collect();
    let want_a: Vec<Bytes> = (0..40u64)
        .map(|i| Bytes::from(common::message(i + 100, 3000)))
        .collect();
    assert_eq!(got_b, want_b);
    assert_eq!(got_a, want_a);
    for e in p.events_a.iter().chain(p.events_b.iter()) {
        assert!(!matches!(e, Event::ChannelError { .. }), "{e:?}");
    }

    // On the wire: the requester's Incoming SSN Reset Request, and the responder's
    // Outgoing SSN Reset Request whose response sequence number is the request's.
    let params = reconfig_params(&p, mark);
    let (req_seq, streams) = params
        .iter()
        .find_map(|(from_a, x)| match x {
            Param::IncomingSsnResetRequest {
                request_sequence,
                streams,
            } if *from_a == a_asks => Some((*request_sequence, streams.clone())),
            _ => None,
        })
        .expect("no Incoming SSN Reset Request sent");
    assert_eq!(streams, vec![id]);
    assert!(
        params.iter().any(|(from_a, x)| *from_a != a_asks
            && matches!(x, Param::OutgoingSsnResetRequest {
                response_sequence, streams, ..
            } if *response_sequence == req_seq && streams.contains(&id))),
        "no Outgoing SSN Reset Request answering {req_seq}: {params:?}"
    );
    assert!(
        params.iter().any(|(from_a, x)| *from_a != a_asks
            && *x
                == Param::ReconfigResponse {
                    response_sequence: req_seq,
                    result: ReconfigResult::SuccessPerformed,
                    next_tsns: None,
                }),
        "request {req_seq} not answered \"success - performed\""
    );

    // The id is free again; the new channel's messages start at sequence number 0 both ways
    // (DATA_CHANNEL_OPEN from a, DATA_CHANNEL_ACK from b).
    p.events_a.clear();
    p.events_b.clear();
    let mark = p.tap.as_ref().unwrap().len();
    let again = opened(&mut p, ChannelConfig::new("again"));
    assert_eq!(again, id);
    p.a.send(again, &b"a to b"[..], true).unwrap();
    p.b.send(again, &b"b to a"[..], true).unwrap();
    p.flush();
    let (mut ga, mut gb) = (Vec::new(), Vec::new());
    assert!(p.run_until(Duration::from_secs(60), |p| {
        ga.extend(messages(&mut p.events_a, again));
        gb.extend(messages(&mut p.events_b, again));
        !ga.is_empty() && !gb.is_empty()
    }));
    assert_eq!(gb, vec![Bytes::from_static(b"a to b")]);
    assert_eq!(ga, vec![Bytes::from_static(b"b to a")]);
    assert_eq!(first_seq(&p, mark, id, true), Some(0));
    assert_eq!(first_seq(&p, mark, id, false), Some(0));
}

#[test]
fn incoming_reset_requested_by_the_dtls_client() {
    incoming_reset(70, true, false, 0.0);
}

#[test]
fn incoming_reset_requested_by_the_dtls_server() {
    incoming_reset(71, false, false, 0.0);
}

#[test]
fn incoming_reset_under_loss_both_directions() {
    for (seed, a_asks, interleaving) in [
        (72, true, false),
        (73, false, false),
        (74, true, true),
        (75, false, true),
    ] {
        incoming_reset(seed, a_asks, interleaving, 0.1);
    }
}

#[test]
fn incoming_reset_of_all_streams() {
    let mut p = Pair::new(76, NetConfig::lossy(0.05));
    p.connect();
    let ids: Vec<u16> = (1..=3)
        .map(|n| {
            let cfg = ChannelConfig {
                negotiated: Some(n * 3),
                ..ChannelConfig::new("pre")
            };
            p.b.open_channel(cfg.clone()).unwrap();
            opened(&mut p, cfg)
        })
        .collect();
    for &id in &ids {
        p.b.send(id, &b"before"[..], false).unwrap();
    }
    p.a.request_incoming_reset(&[]).unwrap();
    p.flush();
    assert!(p.run_until(Duration::from_secs(60), |p| {
        ids.iter()
            .all(|&id| closed(&p.events_a, id) && closed(&p.events_b, id))
    }));
    for &id in &ids {
        assert_eq!(
            messages(&mut p.events_a, id),
            vec![Bytes::from_static(b"before")]
        );
    }
    assert!(p.a.channel_ids().is_empty() && p.b.channel_ids().is_empty());
}

#[test]
fn simultaneous_incoming_requests_both_complete() {
    for seed in 77..80 {
        let mut p = Pair::new(seed, NetConfig::lossy(0.1));
        p.connect();
        let c1 = opened(&mut p, ChannelConfig::new("one"));
        let c2 = opened(&mut p, ChannelConfig::new("two"));
        let c3 = opened(&mut p, ChannelConfig::new("three"));
        // Each asks the other at the same instant, while a closes a third channel itself.
        p.a.request_incoming_reset(&[c1]).unwrap();
        p.b.request_incoming_reset(&[c2]).unwrap();
        p.a.close_channel(c3).unwrap();
        p.flush();
        assert!(
            p.run_until(Duration::from_secs(60), |p| {
                [c1, c2, c3]
                    .iter()
                    .all(|&id| closed(&p.events_a, id) && closed(&p.events_b, id))
            }),
            "seed {seed}: {:?} / {:?}",
            p.events_a,
            p.events_b
        );
    }
}

#[test]
fn incoming_reset_request_errors() {
    let cfg_b = Config {
        num_outbound_streams: 16,
        ..Config::default()
    };
    let mut p = Pair::with_configs(81, NetConfig::perfect(), Config::default(), cfg_b);
    assert_eq!(p.a.request_incoming_reset(&[0]), Err(Error::NotEstablished));
    p.connect();
    // b sends on 16 streams, so a has 16 incoming streams.
    assert_eq!(
        p.a.request_incoming_reset(&[16]),
        Err(Error::InvalidStream(16))
    );
    assert_eq!(p.a.request_incoming_reset(&[15]), Ok(()));
}

/// Builds a packet carrying one RE-CONFIG parameter with the tag `to` expects.
fn reconfig_packet(tag: u32, param: Param) -> Vec<u8> {
    let pkt = Packet {
        header: CommonHeader {
            source_port: 5000,
            destination_port: 5000,
            verification_tag: tag,
        },
        chunks: vec![Chunk::ReConfig(ReConfig {
            params: vec![param],
        })],
    };
    let mut buf = Vec::new();
    pkt.write(&mut buf, false);
    buf
}

#[test]
fn add_outgoing_streams_raises_the_incoming_limit() {
    let cfg_a = Config {
        num_outbound_streams: 16,
        ..Config::default()
    };
    let mut p = Pair::with_configs(82, NetConfig::perfect(), cfg_a, Config::default());
    p.tap = Some(Vec::new());
    p.connect();
    // Learn b's tag and the next request sequence number a would use.
    let b_tag = p
        .tap
        .as_ref()
        .unwrap()
        .iter()
        .filter(|(from_a, _)| *from_a)
        .filter_map(|(_, raw)| Packet::parse(&Bytes::copy_from_slice(raw)).ok())
        .map(|pkt| pkt.header.verification_tag)
        .find(|&t| t != 0)
        .unwrap();
    p.a.request_incoming_reset(&[3]).unwrap();
    p.flush();
    let _ = p.run_until(Duration::from_secs(5), |_| false);
    let seq = reconfig_params(&p, 0)
        .iter()
        .find_map(|(_, x)| match x {
            Param::IncomingSsnResetRequest {
                request_sequence, ..
            } => Some(*request_sequence),
            _ => None,
        })
        .unwrap();
    // b cannot use stream 18 yet (a announced 16 outbound streams, so b has 16 inbound).
    let pre = |id| ChannelConfig {
        negotiated: Some(id),
        ..ChannelConfig::new("pre")
    };
    assert_eq!(p.b.open_channel(pre(18)), Err(Error::InvalidStream(18)));
    // "a" adds 4 outgoing streams (RFC 6525 §5.2.5), then asks for too many.
    let mark = p.tap.as_ref().unwrap().len();
    let now = p.now;
    p.b.handle_receive(
        now,
        &reconfig_packet(
            b_tag,
            Param::AddOutgoingStreams {
                request_sequence: seq.wrapping_add(1),
                new_streams: 4,
            },
        ),
    )
    .unwrap();
    p.b.handle_receive(
        now,
        &reconfig_packet(
            b_tag,
            Param::AddOutgoingStreams {
                request_sequence: seq.wrapping_add(2),
                new_streams: 65535,
            },
        ),
    )
    .unwrap();
    // A stream that does not exist is denied (RFC 6525 §5.2.3), and a retransmitted request
    // gets its first answer again (§5.2.1).
    for param in [
        Param::IncomingSsnResetRequest {
            request_sequence: seq.wrapping_add(3),
            streams: vec![65535],
        },
        Param::AddOutgoingStreams {
            request_sequence: seq.wrapping_add(1),
            new_streams: 4,
        },
    ] {
        p.b.handle_receive(now, &reconfig_packet(b_tag, param))
            .unwrap();
    }
    p.flush();
    let params = reconfig_params(&p, mark);
    let results: Vec<(u32, ReconfigResult)> = params
        .iter()
        .filter_map(|(from_a, x)| match x {
            Param::ReconfigResponse {
                response_sequence,
                result,
                ..
            } if !from_a => Some((*response_sequence, *result)),
            _ => None,
        })
        .collect();
    assert_eq!(
        results,
        vec![
            (seq.wrapping_add(1), ReconfigResult::SuccessPerformed),
            (seq.wrapping_add(2), ReconfigResult::Denied),
            (seq.wrapping_add(3), ReconfigResult::Denied),
            (seq.wrapping_add(1), ReconfigResult::SuccessPerformed),
        ]
    );
    assert_eq!(p.b.open_channel(pre(18)), Ok(18));
    assert_eq!(p.b.open_channel(pre(20)), Err(Error::InvalidStream(20)));
}
