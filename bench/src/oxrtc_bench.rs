//! oxrtc: the method of crates/peerconnection/examples/bench_loopback.rs, unchanged.

use crate::{cpu_time, report_bulk, report_setup, HIGH_WATER, LOW_WATER, MSG};
use oxrtc::runtime::{DataChannel, Event, Events, PeerConnection};
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
    DataChannel,
    DataChannel,
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
    tokio::spawn(async move { while ae.recv().await.is_some() {} });
    tokio::spawn(async move { while be.recv().await.is_some() {} });
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
            a.close().await;
            b.close().await;
        }
        report_setup("oxrtc", setups);

        let (a, b, ch, mut remote, _) = connect().await;
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
        let msg = bytes::Bytes::from(vec![0x5au8; MSG]);
        let cpu0 = cpu_time();
        let t0 = Instant::now();
        let mut sender = ch.sender();
        let mut sent = 0usize;
        while sent < total {
            if sender.buffered_amount() > HIGH_WATER {
                sender.wait_buffered_amount_below(LOW_WATER).await.unwrap();
            }
            sender.send(msg.clone()).await.unwrap();
            sent += msg.len();
        }
        let got = receiver.await.unwrap();
        let secs = t0.elapsed().as_secs_f64();
        report_bulk("oxrtc", got, secs, cpu_time() - cpu0);
        a.close().await;
        b.close().await;
    });
}
