//! `icecandidateerror`: a STUN or TURN server that cannot be used is reported as an event
//! (W3C `RTCPeerConnectionIceErrorEvent`), here a STUN server that never answers.
#![allow(clippy::unwrap_used)]

use oxrtc::{Config, DataChannelInit, Event, IceGatheringState, IceServer, PeerConnection};
use std::time::{Duration, Instant};

#[test]
fn an_unanswering_stun_server_is_reported() {
    let mut now = Instant::now();
    let config = Config {
        ice_servers: vec![IceServer::new("stun:192.0.2.1:3478")],
        ..Config::default()
    };
    let mut pc = PeerConnection::new(config, now).unwrap();
    // A routable socket: oxrtc-ice gathers toward a routable server only from one.
    pc.add_local_socket("192.0.2.10:5000".parse().unwrap())
        .unwrap();
    pc.create_data_channel("x", DataChannelInit::default())
        .unwrap();
    pc.set_local_description(None).unwrap();
    let mut errors = Vec::new();
    let mut complete = false;
    let end = now + Duration::from_secs(120);
    while now < end && (!complete || errors.is_empty()) {
        while pc.poll_transmit().is_some() {} // the server never answers
        while let Some(e) = pc.poll_event() {
            match e {
                Event::IceCandidateError {
                    url,
                    error_code,
                    error_text,
                } => errors.push((url, error_code, error_text)),
                Event::IceGatheringStateChange(IceGatheringState::Complete) => complete = true,
                _ => {}
            }
        }
        now = pc
            .poll_timeout()
            .unwrap_or(now + Duration::from_secs(1))
            .max(now);
        pc.handle_timeout(now);
    }
    assert!(complete, "gathering never completed");
    assert_eq!(errors.len(), 1, "{errors:?}");
    let (url, code, _) = &errors[0];
    assert_eq!((url.as_str(), *code), ("stun:192.0.2.1:3478", 701));
}
