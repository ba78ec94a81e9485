//! Helpers shared by the runtime's loopback tests.
#![allow(dead_code)] // each test crate uses its own subset

use oxrtc::runtime::{Events, PeerConnection};
use oxrtc::{Config, IceGatheringState, InterfaceFilter, RtcSessionDescription};
use std::time::Duration;

/// A configuration that gathers on loopback only.
pub fn loopback_config() -> Config {
    Config {
        interface_filter: InterfaceFilter::loopback_only(),
        ..Config::default()
    }
}

/// Waits (at most `wait` per event) until gathering completes; the local description
/// then holds every candidate (non-trickle signaling).
pub async fn gathered(
    pc: &PeerConnection,
    events: &mut Events,
    wait: Duration,
) -> RtcSessionDescription {
    while pc.ice_gathering_state().await != IceGatheringState::Complete {
        tokio::time::timeout(wait, events.recv())
            .await
            .unwrap()
            .unwrap();
    }
    pc.local_description().await.unwrap()
}
