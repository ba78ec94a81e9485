//! Random sequences of W3C calls on two peers: nothing panics, every offer and answer we
//! create parses and applies on the other side, and after a complete exchange started
//! from `stable` with nothing new asked for, no negotiation is needed.
#![allow(clippy::unwrap_used)]

use oxrtc::{
    Config, DataChannelInit, Direction, Error, MediaKind, OfferOptions, PeerConnection,
    RtcSessionDescription, SignalingState, TransceiverInit,
};
use proptest::prelude::*;
use rand_chacha::rand_core::SeedableRng;
use std::time::Instant;

#[derive(Debug, Clone)]
enum Op {
    DataChannel(bool),
    Transceiver(bool, bool),
    Direction(bool, usize, u8),
    Stop(bool, usize),
    RestartIce(bool),
    /// Full exchange from side x.
    Exchange(bool),
    /// Offer from x applied on both, then rolled back on `remote` or local side.
    OfferRollback(bool, bool),
    /// Offer from x, pranswer then answer.
    Pranswer(bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        any::<bool>().prop_map(Op::DataChannel),
        (any::<bool>(), any::<bool>()).prop_map(|(a, b)| Op::Transceiver(a, b)),
        (any::<bool>(), 0usize..4, 0u8..4).prop_map(|(a, i, d)| Op::Direction(a, i, d)),
        (any::<bool>(), 0usize..4).prop_map(|(a, i)| Op::Stop(a, i)),
        any::<bool>().prop_map(Op::RestartIce),
        any::<bool>().prop_map(Op::Exchange),
        (any::<bool>(), any::<bool>()).prop_map(|(a, b)| Op::OfferRollback(a, b)),
        any::<bool>().prop_map(Op::Pranswer),
    ]
}

fn pc(seed: u64) -> PeerConnection {
    PeerConnection::with_rng(
        Config::default(),
        Instant::now(),
        rand_chacha::ChaCha20Rng::seed_from_u64(seed),
    )
    .unwrap()
}

fn both<'a>(
    x: bool,
    a: &'a mut PeerConnection,
    b: &'a mut PeerConnection,
) -> (&'a mut PeerConnection, &'a mut PeerConnection) {
    if x {
        (a, b)
    } else {
        (b, a)
    }
}

fn exchange(o: &mut PeerConnection, r: &mut PeerConnection) {
    o.set_local_description(None).unwrap();
    let offer = o.local_description().unwrap();
    let _: oxrtc::sdp::SessionDescription = offer.sdp.parse().unwrap();
    r.set_remote_description(offer).unwrap();
    r.set_local_description(None).unwrap();
    let answer = r.local_description().unwrap();
    let _: oxrtc::sdp::SessionDescription = answer.sdp.parse().unwrap();
    o.set_remote_description(answer).unwrap();
    assert_eq!(o.signaling_state(), SignalingState::Stable);
    assert_eq!(r.signaling_state(), SignalingState::Stable);
}

fn run(ops: Vec<Op>) {
    let (mut a, mut b) = (pc(1), pc(2));
    for op in ops {
        let side = match &op {
            Op::DataChannel(s)
            | Op::Transceiver(s, _)
            | Op::Direction(s, _, _)
            | Op::Stop(s, _)
            | Op::RestartIce(s)
            | Op::Exchange(s)
            | Op::OfferRollback(s, _)
            | Op::Pranswer(s) => *s,
        };
        let (x, y) = both(side, &mut a, &mut b);
        match op {
            Op::DataChannel(_) => {
                x.create_data_channel("d", DataChannelInit::default())
                    .unwrap();
            }
            Op::Transceiver(_, audio) => {
                let kind = if audio {
                    MediaKind::Audio
                } else {
                    MediaKind::Video
                };
                x.add_transceiver(kind, TransceiverInit::default()).unwrap();
            }
            Op::Direction(_, i, d) => {
                let id = x.transceivers().nth(i).map(|t| t.id());
                let dir = [
                    Direction::SendRecv,
                    Direction::SendOnly,
                    Direction::RecvOnly,
                    Direction::Inactive,
                ][d as usize];
                if let Some(id) = id {
                    match x.set_transceiver_direction(id, dir) {
                        Ok(()) | Err(Error::InvalidState(_)) => {}
                        Err(e) => panic!("{e}"),
                    }
                }
            }
            Op::Stop(_, i) => {
                let id = x.transceivers().nth(i).map(|t| t.id());
                if let Some(id) = id {
                    x.stop_transceiver(id).unwrap();
                }
            }
            Op::RestartIce(_) => x.restart_ice().unwrap(),
            Op::Exchange(_) => {
                exchange(x, y);
                // A second exchange changes nothing and needs nothing.
                assert!(!x.is_negotiation_needed(), "{:?}", x.local_description());
            }
            Op::OfferRollback(_, remote) => {
                x.set_local_description(None).unwrap();
                y.set_remote_description(x.local_description().unwrap())
                    .unwrap();
                if remote {
                    y.set_remote_description(RtcSessionDescription::rollback())
                        .unwrap();
                    x.set_local_description(Some(RtcSessionDescription::rollback()))
                        .unwrap();
                } else {
                    x.set_local_description(Some(RtcSessionDescription::rollback()))
                        .unwrap();
                    y.set_local_description(Some(RtcSessionDescription::rollback()))
                        .unwrap();
                }
                assert_eq!(x.signaling_state(), SignalingState::Stable);
                assert_eq!(y.signaling_state(), SignalingState::Stable);
            }
            Op::Pranswer(_) => {
                x.set_local_description(None).unwrap();
                y.set_remote_description(x.local_description().unwrap())
                    .unwrap();
                let ans = y.create_answer().unwrap();
                let pr = RtcSessionDescription::pranswer(ans.sdp.clone());
                y.set_local_description(Some(pr.clone())).unwrap();
                x.set_remote_description(pr).unwrap();
                y.set_local_description(Some(ans.clone())).unwrap();
                x.set_remote_description(ans).unwrap();
            }
        }
        // Offers can always be made in stable and parse.
        let o = x.create_offer(OfferOptions::default()).unwrap();
        let _: oxrtc::sdp::SessionDescription = o.sdp.parse().unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn random_negotiations(ops in proptest::collection::vec(op(), 1..14)) {
        run(ops);
    }
}
