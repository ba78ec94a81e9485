//! Remote mDNS candidates (`<uuid>.local`, as browsers send by default) resolved by the
//! tokio runtime with mdns-sd. Multicast must not reach the host's real interfaces, so the
//! test re-executes itself inside a network namespace it creates (only `lo`, multicast on,
//! 224.0.0.0/4 routed to it): run by `cargo xtask interop` (needs root and `ip`). An
//! mdns-sd responder announces the name of an oxrtc peer's host candidate, as a browser's
//! responder would. Then headless Chromium, with its default mDNS hiding, offers from two
//! namespaces the test creates, joined by a veth: its responder (which listens only on
//! non-loopback multicast interfaces, and answers only one-question queries) must resolve
//! its `<uuid>.local` name for oxrtc.
#![cfg(feature = "mdns")]
#![allow(clippy::unwrap_used)]

mod common;
use common::{gathered, loopback_config as config};
use oxrtc::runtime::{Event, PeerConnection};
use oxrtc::{Config, DataChannelInit, InterfaceFilter, Message, RtcSessionDescription, Stats};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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
    let offer = gathered(&a, &mut ae, WAIT).await;
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
    let answer = gathered(&b, &mut be, WAIT).await;
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

// ------------------------------------------------------------------ Chromium's responder

/// The address of the veth in the namespace Chromium and oxrtc run in; its peer end
/// (`.2`) is in a second namespace, holding nothing. Both namespaces are the test's own.
const VETH_ADDR: &str = "10.231.0.1";

/// Two fresh namespaces joined by a veth (created inside them, never on the host): the
/// test runs in the first, whose default route leads to the second. Chromium's mDNS
/// responder listens only on non-loopback multicast interfaces, and hides only the
/// default route's address.
fn run_in_veth_netns(name: &str) {
    let id = std::process::id();
    let a = Netns(format!("oxrtc-mdns-a-{id}"));
    let b = Netns(format!("oxrtc-mdns-b-{id}"));
    ip(&["netns", "add", &a.0]);
    ip(&["netns", "add", &b.0]);
    ip(&[
        "-n", &a.0, "link", "add", "oxva", "type", "veth", "peer", "name", "oxvb", "netns", &b.0,
    ]);
    ip(&[
        "-n",
        &a.0,
        "addr",
        "add",
        &format!("{VETH_ADDR}/24"),
        "dev",
        "oxva",
    ]);
    ip(&["-n", &b.0, "addr", "add", "10.231.0.2/24", "dev", "oxvb"]);
    for (ns, dev) in [(&a.0, "oxva"), (&b.0, "oxvb")] {
        ip(&["-n", ns, "link", "set", "lo", "up"]);
        ip(&["-n", ns, "link", "set", dev, "up"]);
    }
    ip(&["-n", &a.0, "route", "add", "default", "via", "10.231.0.2"]);
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("ip")
        .args(["netns", "exec", &a.0])
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
    println!("{text}");
}

/// Kills the child process when the test ends, however it ends.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Reads one HTTP/1.1 request: its body.
async fn read_body(stream: &mut tokio::net::TcpStream) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "connection closed mid-request");
        buf.extend_from_slice(&chunk[..n]);
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .map(|v| v.trim().parse().unwrap())
            .unwrap_or(0);
        if buf.len() >= end + 4 + len {
            return String::from_utf8(buf[end + 4..end + 4 + len].to_vec()).unwrap();
        }
    }
}

/// What the oxrtc answerer saw: Chromium's offer, and the selected pair's remote
/// candidate (address, port, type) once the first message was echoed.
struct Seen {
    offer: String,
    remote: (String, u16, String),
    stats: String,
}

/// The selected pair's remote candidate once it is no longer peer-reflexive (or after
/// the mDNS timeout and a margin), with the stats as JSON.
async fn selected_remote(pc: &PeerConnection) -> ((String, u16, String), String) {
    let start = std::time::Instant::now();
    loop {
        let stats = pc.stats().await.unwrap();
        let pair = stats.0.iter().find_map(|s| match s {
            Stats::CandidatePair(p) => Some(p.remote_candidate_id.clone()),
            _ => None,
        });
        let remote = stats
            .0
            .iter()
            .find_map(|s| match s {
                Stats::RemoteCandidate(c) if Some(&c.id) == pair.as_ref() => {
                    Some((c.address.clone(), c.port, c.candidate_type.clone()))
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("no selected pair: {}", stats.to_json()));
        if remote.2 != "prflx" || start.elapsed() > Duration::from_secs(5) {
            println!("selected remote {remote:?} after {:?}", start.elapsed());
            return (remote, stats.to_json());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Answers one offer (POST /offer) with oxrtc on the default route's address, echoes
/// the channel's messages, and reports what it saw once the channel is open.
async fn answer_once(listener: tokio::net::TcpListener, seen: tokio::sync::oneshot::Sender<Seen>) {
    let (mut stream, _) = listener.accept().await.unwrap();
    let offer = read_body(&mut stream).await;
    let config = Config {
        interface_filter: InterfaceFilter {
            loopback: false,
            ..InterfaceFilter::default()
        },
        ..Config::default()
    };
    let (pc, mut events) = PeerConnection::new(config).await.unwrap();
    pc.set_remote_description(RtcSessionDescription::offer(offer.clone()))
        .await
        .unwrap();
    pc.set_local_description(None).await.unwrap();
    let answer = gathered(&pc, &mut events, WAIT).await;
    let resp = format!(
        "HTTP/1.1 201 Created\r\ncontent-type: application/sdp\r\ncontent-length: {}\r\n\r\n{}",
        answer.sdp.len(),
        answer.sdp
    );
    stream.write_all(resp.as_bytes()).await.unwrap();
    let mut ch = loop {
        if let Event::DataChannel(c) = events.recv().await.unwrap() {
            break c;
        }
    };
    tokio::spawn(async move { while events.recv().await.is_some() {} });
    let echo = tokio::spawn(async move {
        let tx = ch.sender();
        while let Some(m) = ch.recv().await {
            let r = match m {
                Message::Text(t) => tx.send_text(&t).await,
                Message::Binary(b) => tx.send(b).await,
            };
            if r.is_err() {
                break;
            }
        }
    });
    // The lookup may finish after Chromium's first check made the address a
    // peer-reflexive candidate; the resolved candidate then takes its place.
    let (remote, stats) = selected_remote(&pc).await;
    let _ = seen.send(Seen {
        offer,
        remote,
        stats,
    });
    let _ = echo.await;
    pc.close().await;
}

async fn chromium_offers_with_mdns() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/offer", listener.local_addr().unwrap());
    let (seen_tx, seen_rx) = tokio::sync::oneshot::channel();
    let server = tokio::spawn(answer_once(listener, seen_tx));
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../interop/chromium_peer.mjs");
    let child = Command::new("node")
        .arg(script)
        .args(["offer", "--mdns", "--url", &url, "--scenario", "dc-echo"])
        .args(["--timeout", "30"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("node is needed (cargo xtask interop installs it)");
    let mut guard = Guard(child);
    let output = tokio::task::spawn_blocking(move || {
        let mut out = String::new();
        if let Some(mut s) = guard.0.stdout.take() {
            use std::io::Read;
            let _ = s.read_to_string(&mut out);
        }
        (guard.0.wait().unwrap(), out)
    });
    let (status, out) = tokio::time::timeout(Duration::from_secs(120), output)
        .await
        .unwrap()
        .unwrap();
    println!("chromium --mdns → oxrtc dc-echo: {out}");
    let line = out.lines().last().unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(v["ok"], true, "{out}");
    assert!(status.success());
    let seen = tokio::time::timeout(WAIT, seen_rx)
        .await
        .expect("the selected pair within 10 s")
        .expect("oxrtc's channel opened");
    server.abort();

    // Chromium hid its host address: its only host candidates are `<uuid>.local` names.
    let hosts: Vec<(String, u16)> = seen
        .offer
        .lines()
        .filter_map(|l| l.strip_prefix("a=candidate:"))
        .filter(|c| c.contains(" typ host"))
        .filter_map(|c| {
            let f: Vec<&str> = c.split(' ').collect();
            Some((f.get(4)?.to_string(), f.get(5)?.parse().ok()?))
        })
        .collect();
    assert!(!hosts.is_empty(), "{}", seen.offer);
    assert!(
        hosts.iter().all(|(a, _)| a.ends_with(".local")),
        "{}",
        seen.offer
    );
    // The selected pair's remote candidate is that name's candidate, resolved through
    // Chromium's own responder to the veth address: a host candidate, not peer-reflexive.
    let (addr, port, typ) = seen.remote;
    assert_eq!(addr, VETH_ADDR, "{}", seen.stats);
    assert_eq!(typ, "host", "remote {addr}:{port} is {typ}: {}", seen.stats);
    assert!(
        hosts.iter().any(|(_, p)| *p == port),
        "{port} not in {hosts:?}"
    );
}

#[test]
#[ignore = "interop: run by cargo xtask interop"]
fn interop_chromium_mdns_candidate_resolves_in_a_netns() {
    if std::env::var_os(IN_NETNS).is_none() {
        run_in_veth_netns("interop_chromium_mdns_candidate_resolves_in_a_netns");
        return;
    }
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(chromium_offers_with_mdns());
}
