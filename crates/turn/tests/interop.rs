//! Interop with coturn on loopback (run by `cargo xtask interop`, which installs coturn):
//! our client against coturn's `turnserver` (UDP, TCP, TLS, RFC 6062, TURN REST, stale
//! nonces, typed errors), and coturn's `turnutils_uclient` against our server (UDP, TCP,
//! RFC 6062, TURN REST). A missing tool fails the test; every process started is killed.

#![cfg(all(feature = "tokio", feature = "tls"))]
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{free_port, our_server, require, Coturn, Driver, KillOnDrop, TcpEcho, UdpEcho};
use oxrtc_turn::*;

const WAIT: Duration = Duration::from_secs(20);

fn coturn_lt(extra: &[&str]) -> Coturn {
    let mut args = vec![
        "--lt-cred-mech",
        "--realm",
        "interop.test",
        "--user",
        "alice:wonderland",
        "--allow-loopback-peers",
        "--no-tls",
    ];
    args.extend_from_slice(extra);
    Coturn::start(&args)
}

fn echo(d: &mut Driver, peer: SocketAddr, payload: &[u8]) {
    d.client.send_to(Instant::now(), peer, payload).unwrap();
    let e = d.wait_for(WAIT, |e| matches!(e, Event::Data { .. }));
    assert_eq!(
        e,
        Event::Data {
            peer,
            data: payload.to_vec()
        }
    );
}

/// Allocates, relays through Send indications and a channel, refreshes, deallocates.
fn relay_round(d: &mut Driver, peer: &UdpEcho) {
    let relayed = d.allocate();
    assert_eq!(
        relayed.ip(),
        "127.0.0.1".parse::<std::net::IpAddr>().unwrap()
    );
    echo(d, peer.addr, b"send indication to coturn");
    let ch = d.client.bind_channel(Instant::now(), peer.addr).unwrap();
    assert_eq!(
        d.wait_for(WAIT, |e| matches!(
            e,
            Event::ChannelBound { .. } | Event::ChannelBindFailed { .. }
        )),
        Event::ChannelBound {
            peer: peer.addr,
            channel: ch
        }
    );
    for size in [1, 3, 100, 1200] {
        echo(d, peer.addr, &vec![size as u8; size]);
    }
    d.client
        .refresh(Instant::now(), Some(Duration::from_secs(1200)))
        .unwrap();
    assert!(matches!(
        d.wait_for(WAIT, |e| matches!(
            e,
            Event::Refreshed { .. } | Event::RefreshFailed(_)
        )),
        Event::Refreshed { .. }
    ));
    d.client.deallocate(Instant::now()).unwrap();
    d.wait_for(WAIT, |e| *e == Event::Deallocated);
}

#[test]
#[ignore = "interop: run by cargo xtask interop"]
fn interop_our_client_relays_through_coturn_over_udp_and_tcp() {
    let coturn = coturn_lt(&["--denied-peer-ip=127.0.0.9"]);
    let peer = UdpEcho::start();
    for transport in [TurnTransport::Udp, TurnTransport::Tcp] {
        let mut d = Driver::new(ClientConfig::new(
            coturn.addr(),
            transport,
            "alice",
            "wonderland",
        ));
        relay_round(&mut d, &peer);
    }
    // A peer coturn refuses: a typed 403.
    let mut d = Driver::new(ClientConfig::new(
        coturn.addr(),
        TurnTransport::Udp,
        "alice",
        "wonderland",
    ));
    d.allocate();
    let denied: std::net::IpAddr = "127.0.0.9".parse().unwrap();
    d.client.create_permission(Instant::now(), denied).unwrap();
    assert_eq!(
        d.wait_for(WAIT, |e| matches!(
            e,
            Event::PermissionCreated { .. } | Event::PermissionFailed { .. }
        )),
        Event::PermissionFailed {
            peer: denied,
            error: Error::Response(ResponseError::Forbidden)
        },
        "coturn log:\n{}",
        coturn.log()
    );
    // Wrong password: a typed 401.
    let mut d = Driver::new(ClientConfig::new(
        coturn.addr(),
        TurnTransport::Udp,
        "alice",
        "wrong",
    ));
    d.client.allocate(Instant::now()).unwrap();
    assert_eq!(
        d.wait_for(WAIT, |e| matches!(e, Event::AllocationFailed(_))),
        Event::AllocationFailed(Error::Response(ResponseError::Unauthorized))
    );
}

#[test]
#[ignore = "interop: run by cargo xtask interop"]
fn interop_our_client_over_tls_to_coturn() {
    let cert = rcgen::generate_simple_self_signed(vec!["turn.interop.test".to_owned()]).unwrap();
    let dir = std::env::temp_dir().join(format!("oxrtc-turn-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cert_path = dir.join("cert.pem");
    let key_path = dir.join("key.pem");
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let tls_port = free_port();
    let coturn = Coturn::start(&[
        "--lt-cred-mech",
        "--realm",
        "interop.test",
        "--user",
        "alice:wonderland",
        "--allow-loopback-peers",
        "--tls-listening-port",
        &tls_port.to_string(),
        "--cert",
        cert_path.to_str().unwrap(),
        "--pkey",
        key_path.to_str().unwrap(),
    ]);
    let _ = &coturn;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).unwrap();
    let peer = UdpEcho::start();
    let server = SocketAddr::from(([127, 0, 0, 1], tls_port));
    let mut d = Driver::tls(
        ClientConfig::new(server, TurnTransport::Tls, "alice", "wonderland"),
        roots,
        "turn.interop.test",
    );
    relay_round(&mut d, &peer);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[ignore = "interop: run by cargo xtask interop"]
fn interop_our_client_rfc6062_connect_through_coturn() {
    let coturn = coturn_lt(&[]);
    let echo = TcpEcho::start();
    let mut d = Driver::new(ClientConfig::new(
        coturn.addr(),
        TurnTransport::Tcp,
        "alice",
        "wonderland",
    ));
    d.client.allocate_tcp(Instant::now()).unwrap();
    assert!(matches!(
        d.wait_for(WAIT, |e| matches!(
            e,
            Event::Allocated { .. } | Event::AllocationFailed(_)
        )),
        Event::Allocated { .. }
    ));
    d.client.connect(Instant::now(), echo.addr).unwrap();
    let Event::Connected { connection_id, .. } = d.wait_for(WAIT, |e| {
        matches!(e, Event::Connected { .. } | Event::ConnectFailed { .. })
    }) else {
        panic!("connect failed; coturn log:\n{}", coturn.log());
    };
    let mut data = d.data_connection(connection_id);
    data.set_read_timeout(Some(WAIT)).unwrap();
    for msg in [&b"first"[..], b"second message"] {
        data.write_all(msg).unwrap();
        let mut got = vec![0u8; msg.len()];
        data.read_exact(&mut got).unwrap();
        assert_eq!(got, msg);
    }
}

#[test]
#[ignore = "interop: run by cargo xtask interop"]
fn interop_our_client_accepts_a_peer_connection_through_coturn() {
    let coturn = coturn_lt(&[]);
    let mut d = Driver::new(ClientConfig::new(
        coturn.addr(),
        TurnTransport::Tcp,
        "alice",
        "wonderland",
    ));
    d.client.allocate_tcp(Instant::now()).unwrap();
    let Event::Allocated { relayed, .. } = d.wait_for(WAIT, |e| {
        matches!(e, Event::Allocated { .. } | Event::AllocationFailed(_))
    }) else {
        panic!("no tcp allocation");
    };
    d.client
        .create_permission(Instant::now(), relayed.ip())
        .unwrap();
    d.wait_for(WAIT, |e| matches!(e, Event::PermissionCreated { .. }));
    accept_peer_connection(&mut d, relayed);
}

/// RFC 6062 §4.5: a peer connects to the TCP relayed address; the client gets a
/// ConnectionAttempt, binds a data connection, and bytes flow both ways.
pub fn accept_peer_connection(d: &mut Driver, relayed: SocketAddr) {
    let mut peer = std::net::TcpStream::connect(relayed).unwrap();
    let Event::ConnectionAttempt {
        connection_id,
        peer: from,
    } = d.wait_for(WAIT, |e| matches!(e, Event::ConnectionAttempt { .. }))
    else {
        unreachable!()
    };
    assert_eq!(from, peer.local_addr().unwrap());
    let mut data = d.data_connection(connection_id);
    data.set_read_timeout(Some(WAIT)).unwrap();
    peer.set_read_timeout(Some(WAIT)).unwrap();
    peer.write_all(b"from the peer").unwrap();
    let mut got = [0u8; 13];
    data.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"from the peer");
    data.write_all(b"to the peer").unwrap();
    let mut got = [0u8; 11];
    peer.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"to the peer");
}

#[test]
#[ignore = "interop: run by cargo xtask interop"]
fn interop_our_client_with_rest_credentials_stale_nonce_and_quota_on_coturn() {
    let coturn = Coturn::start(&[
        "--use-auth-secret",
        "--static-auth-secret",
        "north",
        "--realm",
        "interop.test",
        "--allow-loopback-peers",
        "--no-tls",
        "--stale-nonce=2",
        "--user-quota=1",
    ]);
    let expiry = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    let username = format!("{expiry}:bob");
    let password = rest_password("north", &username);
    let peer = UdpEcho::start();
    let config = ClientConfig::new(coturn.addr(), TurnTransport::Udp, &username, &password);
    let mut d = Driver::new(config.clone());
    d.allocate();
    assert_eq!(d.client.stats().auth_retries, 1, "the 401 challenge");
    // The nonce goes stale: the client retries the 438 by itself.
    std::thread::sleep(Duration::from_secs(3));
    echo(&mut d, peer.addr, b"after a stale nonce");
    assert_eq!(d.client.stats().auth_retries, 2, "one 438");
    // The user quota is 1: a second allocation is refused with a typed 486.
    let mut second = Driver::new(config);
    second.client.allocate(Instant::now()).unwrap();
    assert_eq!(
        second.wait_for(WAIT, |e| matches!(
            e,
            Event::Allocated { .. } | Event::AllocationFailed(_)
        )),
        Event::AllocationFailed(Error::Response(ResponseError::AllocationQuotaReached)),
        "coturn log:\n{}",
        coturn.log()
    );
}

/// Runs `turnutils_uclient` against `server` with a `turnutils_peer` echo peer; returns its
/// output after checking it reports every packet back.
fn uclient(server: SocketAddr, flags: &[&str], auth: &[&str]) -> String {
    let uclient = require("turnutils_uclient");
    let peer_port = free_port();
    let _peer = KillOnDrop(
        Command::new(require("turnutils_peer"))
            .args(["-L", "127.0.0.1", "-p", &peer_port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_millis(200));
    let mut child = KillOnDrop(
        Command::new(uclient)
            .args(flags)
            .args(auth)
            .args(["-p", &server.port().to_string()])
            .args(["-e", "127.0.0.1", "-r", &peer_port.to_string()])
            .args(["-n", "100", "-m", "4", "-l", "180", "-z", "5"])
            .arg("127.0.0.1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let end = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.0.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < end, "turnutils_uclient did not finish");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut out = String::new();
    child
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let mut err = String::new();
    child
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let all = format!("{out}{err}");
    assert!(status.success(), "turnutils_uclient failed:\n{all}");
    let lost = all
        .lines()
        .find_map(|l| l.split("Total lost packets ").nth(1))
        .unwrap_or_else(|| panic!("no loss report in:\n{all}"));
    assert!(lost.starts_with("0 "), "packets lost: {lost}\n{all}");
    // The final totals: everything sent came back.
    let totals = all
        .lines()
        .rev()
        .find_map(|l| l.split("start_mclient: tot_send_msgs=").nth(1))
        .unwrap_or_else(|| panic!("no totals in:\n{all}"));
    let (sent, recv) = totals.split_once(", tot_recv_msgs=").unwrap();
    let sent: u64 = sent.trim().parse().unwrap();
    let recv: u64 = recv.trim().parse().unwrap();
    assert!(
        sent > 0 && sent == recv,
        "sent {sent}, received {recv}\n{all}"
    );
    all
}

#[test]
#[ignore = "interop: run by cargo xtask interop"]
fn interop_coturn_uclient_against_our_server_udp_tcp_and_rfc6062() {
    let (_server, addr) = our_server(&["--user", "carol:secret", "--allow-loopback-peers"]);
    let auth = ["-u", "carol", "-w", "secret"];
    uclient(addr, &[], &auth); // UDP, channels, RTP/RTCP pairs with EVEN-PORT reservations
    uclient(addr, &["-s"], &auth); // UDP, Send indications
    uclient(addr, &["-t"], &auth); // TCP
    uclient(addr, &["-t", "-y"], &auth); // TCP, client to client
    uclient(addr, &["-T"], &auth); // RFC 6062 TCP relay, Connect + ConnectionBind
}

#[test]
#[ignore = "interop: run by cargo xtask interop"]
fn interop_coturn_uclient_with_rest_credentials_against_our_server() {
    let (_server, addr) = our_server(&["--auth-secret", "north", "--allow-loopback-peers"]);
    uclient(addr, &[], &["-u", "dave", "-W", "north"]);
    uclient(addr, &["-t"], &["-u", "dave", "-W", "north"]);
}
