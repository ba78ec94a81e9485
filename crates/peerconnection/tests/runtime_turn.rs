//! Two peer connections with `ice_transport_policy: relay` on the tokio runtime, relayed
//! through a TURN server they reach over TCP (`turn:...?transport=tcp`) and over TLS
//! (`turns:`): oxrtc-turn's server (TLS terminated in front of its TCP listener by
//! tokio-rustls), and coturn (interop, run by `cargo xtask interop`).
#![cfg(feature = "tokio")]
#![allow(clippy::unwrap_used)]

use oxrtc::runtime::{DataChannel, Events, PeerConnection};
use oxrtc::{
    Config, DataChannelInit, IceGatheringState, IceServer, IceTransportPolicy, InterfaceFilter,
    Message, PeerConnectionState, RtcSessionDescription, Stats,
};
use oxrtc_turn::runtime::{RuntimeConfig, TurnServer};
use oxrtc_turn::{PeerFilter, ServerConfig};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;
use tokio_rustls::rustls;

const USER: &str = "alice";
const PASS: &str = "wonderland";
const WAIT: Duration = Duration::from_secs(15);

fn config(url: &str, roots: &[Vec<u8>]) -> Config {
    Config {
        interface_filter: InterfaceFilter::loopback_only(),
        ice_transport_policy: IceTransportPolicy::Relay,
        ice_servers: vec![IceServer::with_credentials(url, USER, PASS)],
        tls_root_certificates: roots.to_vec(),
        ..Config::default()
    }
}

async fn gathered(pc: &PeerConnection, events: &mut Events) -> RtcSessionDescription {
    while pc.ice_gathering_state().await != IceGatheringState::Complete {
        let e = tokio::time::timeout(WAIT, events.recv()).await.unwrap();
        if let Some(oxrtc::runtime::Event::IceCandidateError {
            url, error_text, ..
        }) = &e
        {
            panic!("{url}: {error_text}");
        }
    }
    pc.local_description().await.unwrap()
}

/// Connects two relay-only peers through `url`, echoes messages over a data channel, and
/// checks both selected pairs are relayed. Returns the peers (to be closed by the caller).
async fn relay_call(url: &str, roots: &[Vec<u8>]) -> (PeerConnection, PeerConnection) {
    let (a, mut ae) = PeerConnection::new(config(url, roots)).await.unwrap();
    let (b, mut be) = PeerConnection::new(config(url, roots)).await.unwrap();
    let mut ch = a
        .create_data_channel("relay", DataChannelInit::default())
        .await
        .unwrap();
    a.set_local_description(None).await.unwrap();
    let offer = gathered(&a, &mut ae).await;
    assert!(offer.sdp.contains("typ relay"), "{}", offer.sdp);
    assert!(
        !offer.sdp.contains("typ host"),
        "relay policy: {}",
        offer.sdp
    );
    b.set_remote_description(offer).await.unwrap();
    b.set_local_description(None).await.unwrap();
    let answer = gathered(&b, &mut be).await;
    assert!(answer.sdp.contains("typ relay"), "{}", answer.sdp);
    a.set_remote_description(answer).await.unwrap();
    let mut remote: DataChannel = tokio::time::timeout(WAIT, async {
        loop {
            if let oxrtc::runtime::Event::DataChannel(c) = be.recv().await.unwrap() {
                return c;
            }
        }
    })
    .await
    .expect("the remote channel within the timeout");
    tokio::time::timeout(WAIT, ch.wait_open())
        .await
        .unwrap()
        .unwrap();
    // Echo on b.
    tokio::spawn(async move {
        let tx = remote.sender();
        while let Some(m) = remote.recv().await {
            let _ = match m {
                Message::Text(t) => tx.send_text(&t).await,
                Message::Binary(b) => tx.send(b).await,
            };
        }
    });
    ch.send_text("through the relay").await.unwrap();
    let m = tokio::time::timeout(WAIT, ch.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m, Message::Text("through the relay".into()));
    for size in [1usize, 1200, 16 * 1024, 64 * 1024] {
        let data: Vec<u8> = (0..size).map(|i| (i * 7 + size) as u8).collect();
        ch.send(data.clone()).await.unwrap();
        let m = tokio::time::timeout(WAIT, ch.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(m, Message::Binary(data.into()), "{size} bytes");
    }
    for pc in [&a, &b] {
        assert_eq!(pc.connection_state().await, PeerConnectionState::Connected);
        let stats = pc.stats().await.unwrap();
        let local = stats.0.iter().find_map(|s| match s {
            Stats::LocalCandidate(c) if c.id == "CL01" => Some(c.candidate_type.clone()),
            _ => None,
        });
        assert_eq!(
            local.as_deref(),
            Some("relay"),
            "the selected pair is relayed"
        );
    }
    (a, b)
}

struct OurTurn {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<oxrtc_turn::ServerStats>>,
}

impl OurTurn {
    /// oxrtc-turn's server on 127.0.0.1, TCP only (no UDP listener: a UDP path to the
    /// server cannot be taken by mistake), relaying between loopback peers.
    async fn start() -> OurTurn {
        let config = RuntimeConfig {
            listen: vec!["127.0.0.1:0".parse().unwrap()],
            relay_ip: Some("127.0.0.1".parse().unwrap()),
            udp: false,
            tcp: true,
            server: ServerConfig {
                realm: "oxrtc.test".into(),
                users: vec![(USER.into(), PASS.into())],
                peer_filter: PeerFilter {
                    allow_loopback: true,
                    ..PeerFilter::default()
                },
                ..ServerConfig::default()
            },
            ..RuntimeConfig::default()
        };
        let server = TurnServer::bind(config).await.unwrap();
        let addr = server.local_addrs()[0];
        let (stop, rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(server.serve(async {
            let _ = rx.await;
        }));
        OurTurn {
            addr,
            stop: Some(stop),
            task,
        }
    }

    async fn stop(mut self) -> oxrtc_turn::ServerStats {
        let _ = self.stop.take().unwrap().send(());
        self.task.await.unwrap().unwrap()
    }
}

/// A self-signed certificate for `localhost` and 127.0.0.1: (DER certificate, rustls
/// server configuration).
fn tls_identity() -> (Vec<u8>, rcgen::CertifiedKey<rcgen::KeyPair>) {
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    (cert.cert.der().to_vec(), cert)
}

/// Terminates TLS on a loopback port and forwards the plaintext to `backend` (TCP): a
/// `turns:` front for a TURN server's TCP listener.
async fn tls_front(
    identity: &rcgen::CertifiedKey<rcgen::KeyPair>,
    backend: SocketAddr,
) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        identity.signing_key.serialize_der(),
    ));
    let server = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![identity.cert.der().clone()], key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut conns = tokio::task::JoinSet::new();
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            conns.spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut back) = tokio::net::TcpStream::connect(backend).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut back).await;
            });
        }
    });
    (addr, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_only_peers_through_turn_over_tcp() {
    let turn = OurTurn::start().await;
    let url = format!("turn:{}?transport=tcp", turn.addr);
    let (a, b) = relay_call(&url, &[]).await;
    a.close().await;
    b.close().await;
    let stats = turn.stop().await;
    assert!(stats.allocations_total >= 2, "{stats:?}");
    assert!(stats.packets_to_peers > 10, "{stats:?}");
    assert_eq!(
        stats.allocations, 0,
        "closing released the allocations: {stats:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_only_peers_through_turns_with_a_private_ca() {
    let turn = OurTurn::start().await;
    let (der, identity) = tls_identity();
    let (front, front_task) = tls_front(&identity, turn.addr).await;
    // The host name is resolved by the runtime and checked against the certificate.
    let url = format!("turns:localhost:{}", front.port());
    let (a, b) = relay_call(&url, &[der]).await;
    a.close().await;
    b.close().await;
    front_task.abort();
    let stats = turn.stop().await;
    assert!(stats.allocations_total >= 2, "{stats:?}");
    assert_eq!(stats.allocations, 0, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turns_with_an_untrusted_certificate_gathers_nothing() {
    let turn = OurTurn::start().await;
    let (_der, identity) = tls_identity();
    let (front, front_task) = tls_front(&identity, turn.addr).await;
    let url = format!("turns:127.0.0.1:{}", front.port());
    // No extra root: the self-signed certificate is refused, no relayed candidate.
    let (a, mut ae) = PeerConnection::new(config(&url, &[])).await.unwrap();
    a.create_data_channel("x", DataChannelInit::default())
        .await
        .unwrap();
    a.set_local_description(None).await.unwrap();
    let mut error = None;
    // Gathering may complete before the error event is read from the stream: wait for both.
    let done = tokio::time::timeout(Duration::from_secs(30), async {
        while error.is_none() || a.ice_gathering_state().await != IceGatheringState::Complete {
            match ae.recv().await {
                Some(oxrtc::runtime::Event::IceCandidateError {
                    url, error_text, ..
                }) => error = Some((url, error_text)),
                Some(_) => {}
                None => break,
            }
        }
    })
    .await;
    assert!(
        done.is_ok(),
        "gathering completes and the error is reported"
    );
    let sdp = a.local_description().await.unwrap().sdp;
    assert!(!sdp.contains("a=candidate:"), "{sdp}");
    let (url, text) = error.expect("an icecandidateerror names the server");
    assert_eq!(url, format!("turns:127.0.0.1:{}", front.port()));
    assert!(text.contains("certificate"), "{text}");
    a.close().await;
    front_task.abort();
    let stats = turn.stop().await;
    assert_eq!(stats.allocations_total, 0, "{stats:?}");
}

// ---------------------------------------------------------------------- coturn

struct KillOnDrop(Child, std::path::PathBuf);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        let _ = std::fs::remove_dir_all(&self.1);
    }
}

fn free_port() -> u16 {
    loop {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// coturn on 127.0.0.1 with a TCP and a TLS listener (certificate from `identity`);
/// returns (guard, TCP port, TLS port). Fails if `turnserver` is not installed.
fn coturn(identity: &rcgen::CertifiedKey<rcgen::KeyPair>) -> (KillOnDrop, u16, u16) {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let turnserver = std::env::split_paths(&path)
        .map(|d| d.join("turnserver"))
        .find(|p| p.is_file())
        .expect("turnserver not found: install coturn (cargo xtask setup)");
    let (port, tls_port) = (free_port(), free_port());
    let dir = std::env::temp_dir().join(format!("oxrtc-pc-coturn-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, identity.cert.pem()).unwrap();
    std::fs::write(&key, identity.signing_key.serialize_pem()).unwrap();
    let child = Command::new(turnserver)
        .args([
            "-n",
            "--listening-ip",
            "127.0.0.1",
            "--relay-ip",
            "127.0.0.1",
            "--listening-port",
            &port.to_string(),
            "--tls-listening-port",
            &tls_port.to_string(),
            "--no-udp",
            "--no-dtls",
            "--no-cli",
            "--simple-log",
            "--verbose",
            "--lt-cred-mech",
            "--realm",
            "oxrtc.test",
            "--user",
            &format!("{USER}:{PASS}"),
            "--allow-loopback-peers",
        ])
        .arg("--cert")
        .arg(&cert)
        .arg("--pkey")
        .arg(&key)
        .arg("--pidfile")
        .arg(dir.join("turnserver.pid"))
        .arg("--log-file")
        .arg(dir.join("turnserver.log"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let guard = KillOnDrop(child, dir);
    // Wait for both listeners.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    for p in [port, tls_port] {
        while std::net::TcpStream::connect(("127.0.0.1", p)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "coturn did not listen"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    (guard, port, tls_port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop: run by cargo xtask interop"]
async fn interop_relay_only_peers_through_coturn_over_tcp_and_tls() {
    let (der, identity) = tls_identity();
    let (guard, port, tls_port) = coturn(&identity);
    let (a, b) = relay_call(&format!("turn:127.0.0.1:{port}?transport=tcp"), &[]).await;
    a.close().await;
    b.close().await;
    let (a, b) = relay_call(&format!("turns:localhost:{tls_port}"), &[der]).await;
    a.close().await;
    b.close().await;
    std::thread::sleep(Duration::from_millis(500)); // coturn's log lags
    let log = std::fs::read_to_string(guard.1.join("turnserver.log")).unwrap_or_default();
    let allocations = log
        .lines()
        .filter(|l| l.contains("user <alice>") && l.contains("ALLOCATE processed, success"))
        .count();
    assert!(
        allocations >= 4,
        "four allocations (two calls, two peers):\n{log}"
    );
    let tls_sessions = format!("local 127.0.0.1:{tls_port},");
    assert!(
        log.lines().any(|l| l.contains("user <alice>")
            && l.contains(&tls_sessions)
            && l.contains("TLS/TCP")),
        "coturn saw our TLS sessions:\n{log}"
    );
    drop(guard);
}
