//! Two peer connections over real loopback UDP with the tokio runtime, and the drop test.
#![cfg(feature = "tokio")]
#![allow(clippy::unwrap_used)]

mod common;
use common::{gathered, loopback_config as config};
use oxrtc::runtime::{DataChannel, Event, Events, PeerConnection};
use oxrtc::{
    Config, DataChannelInit, DataChannelState, Error, Message, OfferOptions, PeerConnectionState,
};
use std::time::Duration;

/// Non-trickle offer/answer (as the CLI does): a offers with a channel, b answers.
async fn connect() -> (
    PeerConnection,
    Events,
    PeerConnection,
    Events,
    DataChannel,
    DataChannel,
) {
    let (a, mut ae) = PeerConnection::new(config()).await.unwrap();
    let (b, mut be) = PeerConnection::new(config()).await.unwrap();
    let mut ch = a
        .create_data_channel("bulk", DataChannelInit::default())
        .await
        .unwrap();
    a.set_local_description(None).await.unwrap();
    let offer = gathered(&a, &mut ae, Duration::from_secs(5)).await;
    assert!(offer.sdp.contains("a=candidate:"));
    b.set_remote_description(offer).await.unwrap();
    b.set_local_description(None).await.unwrap();
    let answer = gathered(&b, &mut be, Duration::from_secs(5)).await;
    a.set_remote_description(answer).await.unwrap();
    let remote = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match be.recv().await.unwrap() {
                Event::DataChannel(c) => return c,
                _ => continue,
            }
        }
    })
    .await
    .unwrap();
    tokio::time::timeout(Duration::from_secs(5), ch.wait_open())
        .await
        .unwrap()
        .unwrap();
    (a, ae, b, be, ch, remote)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_peers_on_loopback_echo() {
    let (a, _ae, b, _be, mut ch, mut remote) = connect().await;
    assert_eq!(remote.label(), "bulk");
    assert_eq!(remote.ready_state(), DataChannelState::Open);
    assert_eq!(a.connection_state().await, PeerConnectionState::Connected);
    // Echo server on b.
    let echo = tokio::spawn(async move {
        let tx = remote.sender();
        while let Some(m) = remote.recv().await {
            match m {
                Message::Text(t) => tx.send_text(&t).await.unwrap(),
                Message::Binary(b) => tx.send(b).await.unwrap(),
            }
        }
    });
    for size in [0usize, 1, 1024, 16 * 1024, 64 * 1024, 256 * 1024] {
        let data: Vec<u8> = (0..size).map(|i| (i * 7 + size) as u8).collect();
        ch.send(data.clone()).await.unwrap();
        let back = tokio::time::timeout(Duration::from_secs(5), ch.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(back, Message::Binary(data.into()), "size {size}");
    }
    ch.send_text("héllo").await.unwrap();
    assert_eq!(ch.recv().await.unwrap(), Message::Text("héllo".into()));
    // Above the remote's max-message-size (256 KiB from our own SDP).
    assert!(matches!(
        ch.send(vec![0u8; 256 * 1024 + 1]).await,
        Err(Error::MessageTooLarge { .. })
    ));
    let stats = a.stats().await.unwrap();
    assert!(stats.to_json().contains("\"type\":\"candidate-pair\""));
    // SCTP counters: b echoed 7 messages, and acknowledgements gave a round trip time.
    let sctp = a.with_core(|c| c.sctp_stats()).await.unwrap().unwrap();
    assert_eq!(sctp.messages_received, 7);
    assert!(sctp.data_chunks_sent > 0 && sctp.srtt.is_some(), "{sctp:?}");
    a.close().await;
    // b learns: its channel closes, the echo task ends.
    tokio::time::timeout(Duration::from_secs(5), echo)
        .await
        .unwrap()
        .unwrap();
    assert!(a.is_closed());
    assert_eq!(
        a.create_offer(OfferOptions::default()).await,
        Err(Error::Closed)
    );
    assert_eq!(ch.send(vec![1u8]).await, Err(Error::Closed));
    assert_eq!(ch.recv().await, None);
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_connection_rejects_calls() {
    let (a, mut events) = PeerConnection::new(config()).await.unwrap();
    let other = a.clone();
    a.close().await;
    a.close().await;
    assert_eq!(other.signaling_state().await, oxrtc::SignalingState::Closed);
    assert_eq!(other.set_local_description(None).await, Err(Error::Closed));
    assert!(matches!(
        other
            .create_data_channel("x", DataChannelInit::default())
            .await,
        Err(Error::Closed)
    ));
    assert!(other.stats().await.is_err());
    // The event stream ends.
    assert!(tokio::time::timeout(Duration::from_secs(1), async {
        while events.recv().await.is_some() {}
    })
    .await
    .is_ok());
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// Opens and closes many connections (some closed, some just dropped, some connected
/// with channels): sockets and tasks return to the baseline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_test_sockets_and_tasks_return_to_baseline() {
    // Warm up the runtime's own descriptors first.
    let (w, _) = PeerConnection::new(config()).await.unwrap();
    w.close().await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let metrics = tokio::runtime::Handle::current().metrics();
    let fds = open_fds();
    let tasks = metrics.num_alive_tasks();
    for i in 0..30 {
        if i % 3 == 0 {
            let (a, _ae, b, _be, ch, remote) = connect().await;
            ch.send(vec![0u8; 100_000]).await.unwrap();
            drop((ch, remote));
            if i % 2 == 0 {
                a.close().await;
                b.close().await;
            } else {
                drop((a, b)); // dropping every handle closes too
            }
        } else {
            let (a, ev) = PeerConnection::new(config()).await.unwrap();
            let ch = a
                .create_data_channel("x", DataChannelInit::default())
                .await
                .unwrap();
            a.set_local_description(None).await.unwrap();
            if i % 2 == 0 {
                a.close().await;
            }
            drop((a, ev, ch));
        }
    }
    // Tasks end asynchronously after the last handle went away.
    let mut ok = false;
    for _ in 0..100 {
        if open_fds() <= fds && metrics.num_alive_tasks() <= tasks {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        ok,
        "fds {} (baseline {fds}), tasks {} (baseline {tasks})",
        open_fds(),
        metrics.num_alive_tasks()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_bind_in_the_port_range() {
    let cfg = Config {
        udp_port_range: Some((42100, 42140)),
        ..config()
    };
    let (a, _e1) = PeerConnection::new(cfg.clone()).await.unwrap();
    let (b, _e2) = PeerConnection::new(cfg).await.unwrap();
    for pc in [&a, &b] {
        assert!(!pc.local_addresses().is_empty());
        for addr in pc.local_addresses() {
            assert!(addr.ip().is_loopback());
            assert!((42100..=42140).contains(&addr.port()), "{addr}");
        }
    }
    assert_ne!(a.local_addresses(), b.local_addresses());
    a.close().await;
    b.close().await;
}
