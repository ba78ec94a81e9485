//! webrtc-rs (crate `webrtc`, the async layer over the sans-IO `rtc` crates) on tokio.
//!
//! Same shape as oxrtc's bench: non-trickle offer/answer (wait for gathering complete), one
//! UDP socket per peer bound to 127.0.0.1, the default ordered reliable channel, and the
//! browser's buffered-amount flow control through the OnBufferedAmountHigh/Low events
//! (thresholds 1 MiB / 256 KiB), which is how webrtc-rs's own flow-control example paces.

use crate::{cpu_time, report_bulk, report_setup, HIGH_WATER, LOW_WATER, MSG};
use bytes::BytesMut;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};
use webrtc::data_channel::{DataChannel, DataChannelEvent};
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCConfigurationBuilder,
    RTCIceGatheringState,
};

struct Handler {
    gathered: mpsc::UnboundedSender<()>,
    channels: Option<mpsc::UnboundedSender<Arc<dyn DataChannel>>>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            let _ = self.gathered.send(());
        }
    }
    async fn on_data_channel(&self, data_channel: Arc<dyn DataChannel>) {
        if let Some(tx) = &self.channels {
            let _ = tx.send(data_channel);
        }
    }
}

/// `WEBRTC_SEND_LIMIT` (bytes) opts into webrtc-rs's own send back-pressure; 0 (the
/// default, unbounded) leaves only the buffered-amount events.
fn send_buffer_limit() -> usize {
    std::env::var("WEBRTC_SEND_LIMIT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

async fn peer(handler: Handler) -> Arc<dyn PeerConnection> {
    let pc = PeerConnectionBuilder::new()
        .with_configuration(RTCConfigurationBuilder::new().build())
        .with_handler(Arc::new(handler))
        .with_udp_addrs(vec!["127.0.0.1:0".to_string()])
        .with_data_channel_send_buffer_limit(send_buffer_limit())
        .build()
        .await
        .unwrap();
    Arc::new(pc)
}

type Pair = (
    Arc<dyn PeerConnection>,
    Arc<dyn PeerConnection>,
    Arc<dyn DataChannel>,
    Arc<dyn DataChannel>,
    Duration,
);

/// With `BENCH_PHASES` set, prints when each setup phase ended.
fn phase(what: &str, start: Instant) {
    if std::env::var_os("BENCH_PHASES").is_some() {
        eprintln!("  {what}: {:.1} ms", start.elapsed().as_secs_f64() * 1e3);
    }
}

async fn connect() -> Pair {
    let start = Instant::now();
    let (ga_tx, mut ga_rx) = mpsc::unbounded_channel();
    let (gb_tx, mut gb_rx) = mpsc::unbounded_channel();
    let (dc_tx, mut dc_rx) = mpsc::unbounded_channel();
    let a = peer(Handler {
        gathered: ga_tx,
        channels: None,
    })
    .await;
    let b = peer(Handler {
        gathered: gb_tx,
        channels: Some(dc_tx),
    })
    .await;
    let ch = a.create_data_channel("bulk", None).await.unwrap();
    let offer = a.create_offer(None).await.unwrap();
    a.set_local_description(offer).await.unwrap();
    ga_rx.recv().await.unwrap();
    phase("offer gathered", start);
    let offer = a.local_description().await.unwrap();
    b.set_remote_description(offer).await.unwrap();
    let answer = b.create_answer(None).await.unwrap();
    b.set_local_description(answer).await.unwrap();
    gb_rx.recv().await.unwrap();
    phase("answer gathered", start);
    let answer = b.local_description().await.unwrap();
    a.set_remote_description(answer).await.unwrap();
    loop {
        match ch.poll().await {
            Some(DataChannelEvent::OnOpen) => break,
            Some(_) => {}
            None => panic!("webrtc-rs: channel closed before open"),
        }
    }
    let setup = start.elapsed();
    let remote = dc_rx.recv().await.unwrap();
    (a, b, ch, remote, setup)
}

pub fn run(total: usize, rounds: usize) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let mut setups = Vec::new();
        for _ in 0..rounds {
            let (a, b, _, _, setup) = connect().await;
            setups.push(setup);
            a.close().await.unwrap();
            b.close().await.unwrap();
        }
        report_setup("webrtc-rs", setups);

        let (a, b, ch, remote, _) = connect().await;
        let receiver = tokio::spawn(async move {
            let mut got = 0usize;
            while got < total {
                match remote.poll().await {
                    Some(DataChannelEvent::OnMessage(m)) => got += m.data.len(),
                    Some(_) => {}
                    None => break,
                }
            }
            got
        });
        ch.set_buffered_amount_high_threshold(HIGH_WATER as u32)
            .await
            .unwrap();
        ch.set_buffered_amount_low_threshold(LOW_WATER as u32)
            .await
            .unwrap();
        // The channel's events (high/low) are read by their own task; the sender waits on
        // the paused flag, so no send is ever cancelled half way.
        let (paused_tx, mut paused_rx) = watch::channel(false);
        let events = ch.clone();
        tokio::spawn(async move {
            while let Some(ev) = events.poll().await {
                match ev {
                    DataChannelEvent::OnBufferedAmountHigh => {
                        let _ = paused_tx.send(true);
                    }
                    DataChannelEvent::OnBufferedAmountLow => {
                        let _ = paused_tx.send(false);
                    }
                    _ => {}
                }
            }
        });
        let msg = BytesMut::from(&vec![0x5au8; MSG][..]);
        let cpu0 = cpu_time();
        let t0 = Instant::now();
        let mut sent = 0usize;
        let mut peak_outstanding = 0usize;
        while sent < total {
            paused_rx.wait_for(|p| !*p).await.unwrap();
            ch.send(msg.clone()).await.unwrap();
            sent += MSG;
            if sent.is_multiple_of(16 * 1024 * 1024) {
                peak_outstanding = peak_outstanding.max(ch.outstanding_bytes().await.unwrap());
            }
        }
        let got = receiver.await.unwrap();
        let secs = t0.elapsed().as_secs_f64();
        report_bulk("webrtc-rs", got, secs, cpu_time() - cpu0);
        println!(
            "webrtc-rs: outstanding send bytes sampled every 16 MiB: peak {} KiB",
            peak_outstanding / 1024
        );
        a.close().await.unwrap();
        b.close().await.unwrap();
    });
}
