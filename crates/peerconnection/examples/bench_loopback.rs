//! Loopback benchmark of the tokio runtime: connection setup time (ICE + DTLS + SCTP +
//! channel open) and bulk data channel throughput (64 KiB messages, ordered reliable,
//! buffered-amount flow control) with CPU seconds per GB.
//!
//! `cargo run --release -p oxrtc --example bench_loopback -- [MiB] [setup-rounds]`
#![allow(clippy::unwrap_used)]

use oxrtc::runtime::{Event, Events, PeerConnection};
use oxrtc::{Config, DataChannelInit, IceGatheringState, InterfaceFilter, RtcSessionDescription};
use std::time::{Duration, Instant};

fn config() -> Config {
    Config {
        interface_filter: InterfaceFilter::loopback_only(),
        ..Config::default()
    }
}

async fn gathered(pc: &PeerConnection, events: &mut Events) -> RtcSessionDescription {
    while pc.ice_gathering_state().await != IceGatheringState::Complete {
        events.recv().await.unwrap();
    }
    pc.local_description().await.unwrap()
}

async fn connect() -> (
    PeerConnection,
    PeerConnection,
    oxrtc::runtime::DataChannel,
    oxrtc::runtime::DataChannel,
    Duration,
) {
    let start = Instant::now();
    let (a, mut ae) = PeerConnection::new(config()).await.unwrap();
    let (b, mut be) = PeerConnection::new(config()).await.unwrap();
    let mut ch = a
        .create_data_channel("bulk", DataChannelInit::default())
        .await
        .unwrap();
    a.set_local_description(None).await.unwrap();
    let offer = gathered(&a, &mut ae).await;
    b.set_remote_description(offer).await.unwrap();
    b.set_local_description(None).await.unwrap();
    let answer = gathered(&b, &mut be).await;
    a.set_remote_description(answer).await.unwrap();
    ch.wait_open().await.unwrap();
    let setup = start.elapsed();
    let remote = loop {
        if let Some(Event::DataChannel(c)) = be.recv().await {
            break c;
        }
    };
    // Keep the event streams alive with the connections.
    tokio::spawn(async move { while ae.recv().await.is_some() {} });
    tokio::spawn(async move { while be.recv().await.is_some() {} });
    (a, b, ch, remote, setup)
}

/// User + system CPU time of this process (/proc/self/stat, clock ticks of 10 ms).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |x| x.1);
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of the file are utime and stime: the 12th and 13th after "(comm)".
    let field = |i: usize| f.get(i).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
    let ticks = field(11) + field(12);
    Duration::from_millis(ticks * 10)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mib: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(256);
    let rounds: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(20);
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
            a.close().await;
            b.close().await;
        }
        setups.sort();
        println!(
            "setup (ICE + DTLS + SCTP + channel open), {rounds} rounds: median {:.1} ms, min {:.1} ms, max {:.1} ms",
            setups[setups.len() / 2].as_secs_f64() * 1e3,
            setups[0].as_secs_f64() * 1e3,
            setups[setups.len() - 1].as_secs_f64() * 1e3
        );

        let (a, b, ch, mut remote, _) = connect().await;
        let total = mib * 1024 * 1024;
        let msg = bytes::Bytes::from(vec![0x5au8; 64 * 1024]);
        let receiver = tokio::spawn(async move {
            let mut got = 0usize;
            while got < total {
                match remote.recv().await {
                    Some(m) => got += m.len(),
                    None => break,
                }
            }
            got
        });
        let cpu0 = cpu_time();
        let t0 = Instant::now();
        let mut sender = ch.sender();
        let mut sent = 0usize;
        while sent < total {
            if sender.buffered_amount() > 1024 * 1024 {
                sender.wait_buffered_amount_below(256 * 1024).await.unwrap();
            }
            sender.send(msg.clone()).await.unwrap();
            sent += msg.len();
        }
        let got = receiver.await.unwrap();
        let secs = t0.elapsed().as_secs_f64();
        let cpu = (cpu_time() - cpu0).as_secs_f64();
        let gb = got as f64 / 1e9;
        println!(
            "bulk: {} MiB in 64 KiB messages in {secs:.2} s: {:.1} MB/s, {:.1} CPU-s/GB ({cpu:.2} CPU-s, both peers)",
            got / (1024 * 1024),
            got as f64 / secs / 1e6,
            cpu / gb
        );
        a.close().await;
        b.close().await;
    });
}
