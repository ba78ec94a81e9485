//! `RTCIceCandidatePairStats` round trips (`currentRoundTripTime`, `totalRoundTripTime`,
//! `responsesReceived`) of two peers on loopback with the tokio runtime. Exact values on
//! a virtual clock are tested in oxrtc-ice (tests/consent.rs).
#![cfg(feature = "tokio")]
#![allow(clippy::unwrap_used)]

mod common;
use common::{gathered, loopback_config as config};
use oxrtc::runtime::PeerConnection;
use oxrtc::{DataChannelInit, Stats};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn candidate_pair_stats_carry_round_trip_times() {
    let (a, mut ae) = PeerConnection::new(config()).await.unwrap();
    let (b, mut be) = PeerConnection::new(config()).await.unwrap();
    let mut ch = a
        .create_data_channel("rtt", DataChannelInit::default())
        .await
        .unwrap();
    a.set_local_description(None).await.unwrap();
    b.set_remote_description(gathered(&a, &mut ae, Duration::from_secs(5)).await)
        .await
        .unwrap();
    b.set_local_description(None).await.unwrap();
    a.set_remote_description(gathered(&b, &mut be, Duration::from_secs(5)).await)
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), ch.wait_open())
        .await
        .unwrap()
        .unwrap();
    for pc in [&a, &b] {
        let report = pc.stats().await.unwrap();
        let pair = report
            .0
            .iter()
            .find_map(|s| match s {
                Stats::CandidatePair(p) => Some(p.clone()),
                _ => None,
            })
            .expect("a selected pair");
        // The controlling side measured its checks; the controlled side its triggered
        // checks. Loopback: well under 100 ms.
        assert!(pair.responses_received >= 1, "{pair:?}");
        let current = pair.current_round_trip_time.expect("a measured round trip");
        assert!(current > 0.0 && current < 0.1, "{pair:?}");
        assert!(pair.total_round_trip_time >= current, "{pair:?}");
        let json = report.to_json();
        assert!(json.contains("\"currentRoundTripTime\":"), "{json}");
        assert!(json.contains("\"totalRoundTripTime\":"), "{json}");
        assert!(json.contains("\"responsesReceived\":"), "{json}");
    }
    a.close().await;
    b.close().await;
}
