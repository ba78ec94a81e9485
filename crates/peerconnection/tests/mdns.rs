//! Remote mDNS candidates (`<uuid>.local`, as browsers send by default) resolved by the
//! tokio runtime with mdns-sd. Multicast must not reach the host's real interfaces, so the
//! test re-executes itself inside a network namespace it creates (only `lo`, multicast on,
//! 224.0.0.0/4 routed to it): run by `cargo xtask interop` (needs root and `ip`). An
//! mdns-sd responder announces the name of an oxrtc peer's host candidate, as a browser's
//! responder would.
#![cfg(feature = "mdns")]
#![allow(clippy::unwrap_used)]

use oxrtc::runtime::{Event, Events, PeerConnection};
use oxrtc::{
    Config, DataChannelInit, IceGatheringState, InterfaceFilter, Message, RtcSessionDescription,
    Stats,
};
use std::process::Command;
use std::time::Duration;

const IN_NETNS: &str = "OXRTC_MDNS_TEST_IN_NETNS";
const WAIT: Duration = Duration::from_secs(10);

/// Deletes the namespace on drop.
struct Netns(String);

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn ip(args: &[&str]) {
    let st = Command::new("ip")
        .args(args)
        .status()
        .expect("`ip` (iproute2) is needed");
    assert!(st.success(), "ip {args:?} failed (root is needed)");
}

/// Runs the test `name` of this binary again inside a fresh network namespace.
fn run_in_netns(name: &str) {
    let ns = Netns(format!("oxrtc-mdns-{}", std::process::id()));
    ip(&["netns", "add", &ns.0]);
    for cmd in [
        &["link", "set", "lo", "up"][..],
        &["link", "set", "lo", "multicast", "on"],
        &["route", "add", "224.0.0.0/4", "dev", "lo"],
    ] {
        let mut args = vec!["netns", "exec", &ns.0, "ip"];
        args.extend_from_slice(cmd);
        ip(&args);
    }
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("ip")
        .args(["netns", "exec", &ns.0])
        .arg(exe)
        .args(["--exact", name, "--include-ignored", "--nocapture"])
        .env(IN_NETNS, "1")
        .output()
        .unwrap();
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "inside the namespace:\n{text}");
    assert!(text.contains("1 passed"), "the test ran inside:\n{text}");
}

async fn gathered(pc: &PeerConnection, events: &mut Events) -> RtcSessionDescription {
    while pc.ice_gathering_state().await != IceGatheringState::Complete {
        tokio::time::timeout(WAIT, events.recv())
            .await
            .unwrap()
            .unwrap();
    }
    pc.local_description().await.unwrap()
}

fn config() -> Config {
    Config {
        interface_filter: InterfaceFilter::loopback_only(),
        ..Config::default()
    }
}

/// a offers with its host candidate hidden behind `<uuid>.local` (announced by an mdns-sd
/// responder, as a browser's own responder would); b's answer carries no candidate, so
/// only b can start checks, and only towards what it resolved.
async fn mdns_call() {
    let (a, mut ae) = PeerConnection::new(config()).await.unwrap();
    let (b, mut be) = PeerConnection::new(config()).await.unwrap();
    let mut ch = a
        .create_data_channel("mdns", DataChannelInit::default())
        .await
        .unwrap();
    a.set_local_description(None).await.unwrap();
    let offer = gathered(&a, &mut ae).await;
    let host = format!(
        "{:08x}-1d2e-4f3a-9b8c-0123456789ab.local",
        std::process::id()
    );
    assert!(offer.sdp.contains(" 127.0.0.1 "), "{}", offer.sdp);
    let hidden_sdp = offer.sdp.replace(" 127.0.0.1 ", &format!(" {host} "));
    let port = a.local_addresses()[0].port();

    let responder = mdns_sd::ServiceDaemon::new().unwrap();
    let service = mdns_sd::ServiceInfo::new(
        "_oxrtc-test._udp.local.",
        "peer",
        &format!("{host}."),
        "127.0.0.1",
        port,
        None,
    )
    .unwrap();
    responder.register(service).unwrap();

    let hidden = RtcSessionDescription {
        sdp: hidden_sdp,
        ..offer
    };
    // An unresolvable name is dropped with a log line, not an error.
    b.set_remote_description(hidden).await.unwrap();
    let ghost = oxrtc::IceCandidateInit {
        candidate: "candidate:9 1 udp 2122260223 nobody-here.local 9 typ host".into(),
        sdp_mid: Some("0".into()),
        sdp_m_line_index: Some(0),
        username_fragment: None,
    };
    b.add_ice_candidate(Some(ghost)).await.unwrap();
    b.set_local_description(None).await.unwrap();
    let answer = gathered(&b, &mut be).await;
    let bare: String = answer
        .sdp
        .lines()
        .filter(|l| !l.starts_with("a=candidate:"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    a.set_remote_description(RtcSessionDescription {
        sdp: bare,
        ..answer
    })
    .await
    .unwrap();
    let mut remote = tokio::time::timeout(WAIT, async {
        loop {
            if let Event::DataChannel(c) = be.recv().await.unwrap() {
                return c;
            }
        }
    })
    .await
    .expect("b reached a through the resolved mdns name");
    tokio::time::timeout(WAIT, ch.wait_open())
        .await
        .unwrap()
        .unwrap();
    ch.send_text("over mdns").await.unwrap();
    let m = tokio::time::timeout(WAIT, remote.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m, Message::Text("over mdns".into()));
    // b's remote candidates: the resolved one, with a's real address.
    let stats = b.stats().await.unwrap();
    let remotes: Vec<(String, u16)> = stats
        .0
        .iter()
        .filter_map(|s| match s {
            Stats::RemoteCandidate(c) => Some((c.address.clone(), c.port)),
            _ => None,
        })
        .collect();
    assert!(
        remotes.contains(&("127.0.0.1".to_owned(), port)),
        "{remotes:?}"
    );
    assert!(!remotes.iter().any(|(a, _)| a.ends_with(".local")));
    let _ = responder.shutdown();
    a.close().await;
    b.close().await;
}

#[test]
#[ignore = "interop: run by cargo xtask interop"]
fn interop_remote_mdns_candidate_resolves_in_a_netns() {
    if std::env::var_os(IN_NETNS).is_none() {
        run_in_netns("interop_remote_mdns_candidate_resolves_in_a_netns");
        return;
    }
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(mdns_call());
}
