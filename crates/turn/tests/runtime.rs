//! The tokio runtime on loopback with our client: UDP and TCP clients, Send indications and
//! channels, RFC 6062, graceful shutdown, and UDP workers that share quotas and
//! reservations.

#![cfg(feature = "tokio")]
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use common::{Driver, TcpEcho, UdpEcho};
use oxrtc_stun::{
    Class, ErrorCode, EvenPort, IntegrityKey, Lifetime, Message, MessageBuilder, Method, Nonce,
    Realm, RequestedTransport, ReservationToken, TransactionId, Username, XorRelayedAddress,
};
use oxrtc_turn::runtime::{RuntimeConfig, TurnServer};
use oxrtc_turn::*;

struct Running {
    rt: tokio::runtime::Runtime,
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<ServerStats>>>,
    handle: runtime::TurnServerHandle,
}

impl Running {
    fn start() -> Running {
        Running::with(|_| {})
    }

    fn with(configure: impl FnOnce(&mut RuntimeConfig)) -> Running {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let mut config = RuntimeConfig {
            listen: vec!["127.0.0.1:0".parse().unwrap()],
            server: ServerConfig {
                realm: "rt".into(),
                users: vec![("u".into(), "p".into())],
                ..Default::default()
            },
            ..Default::default()
        };
        config.server.peer_filter.allow_loopback = true;
        configure(&mut config);
        let server = rt.block_on(TurnServer::bind(config)).unwrap();
        let addr = server.local_addrs()[0];
        let handle = server.handle();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = rt.spawn(server.serve(async {
            let _ = rx.await;
        }));
        Running {
            rt,
            addr,
            stop: Some(tx),
            task: Some(task),
            handle,
        }
    }

    fn stop(&mut self) -> ServerStats {
        let _ = self.stop.take().unwrap().send(());
        self.rt
            .block_on(self.task.take().unwrap())
            .unwrap()
            .unwrap()
    }
}

fn echo_round_trip(d: &mut Driver, peer: SocketAddr, payload: &[u8]) {
    d.client.send_to(Instant::now(), peer, payload).unwrap();
    let e = d.wait_for(Duration::from_secs(10), |e| matches!(e, Event::Data { .. }));
    assert_eq!(
        e,
        Event::Data {
            peer,
            data: payload.to_vec()
        }
    );
}

#[test]
fn udp_and_tcp_clients_relay_to_an_echo_peer() {
    let mut server = Running::start();
    let echo = UdpEcho::start();
    for transport in [TurnTransport::Udp, TurnTransport::Tcp] {
        let mut d = Driver::new(ClientConfig::new(server.addr, transport, "u", "p"));
        let relayed = d.allocate();
        assert_eq!(relayed.ip(), server.addr.ip());
        assert!((49152..=65535).contains(&relayed.port()));
        assert_eq!(d.client.mapped_address(), Some(d.local_addr()));
        // Send/Data indications first, then a channel.
        echo_round_trip(&mut d, echo.addr, b"indication");
        d.client.bind_channel(Instant::now(), echo.addr).unwrap();
        d.wait_for(Duration::from_secs(10), |e| {
            matches!(e, Event::ChannelBound { .. })
        });
        echo_round_trip(&mut d, echo.addr, b"channel");
        echo_round_trip(&mut d, echo.addr, &[7u8; 1200]);
        d.client.deallocate(Instant::now()).unwrap();
        d.wait_for(Duration::from_secs(10), |e| *e == Event::Deallocated);
    }
    let stats = server.handle.stats();
    assert_eq!(stats.packets_to_peers, 6);
    assert_eq!(stats.packets_to_clients, 6);
    assert_eq!(stats.allocations, 0);
    let stats = server.stop();
    assert_eq!(stats.allocations_total, 2);
}

#[test]
fn udp_bursts_arrive_whole_and_in_order() {
    // Back-to-back datagrams of one flow leave the server in GSO batches, both ways.
    let mut server = Running::start();
    let echo = UdpEcho::start();
    let mut d = Driver::new(ClientConfig::new(server.addr, TurnTransport::Udp, "u", "p"));
    d.allocate();
    d.client.bind_channel(Instant::now(), echo.addr).unwrap();
    d.wait_for(Duration::from_secs(10), |e| {
        matches!(e, Event::ChannelBound { .. })
    });
    let payload = |i: u8| vec![i; if i % 16 == 15 { 50 } else { 300 }];
    for round in 0..4u8 {
        for i in 0..32u8 {
            d.client
                .send_to(Instant::now(), echo.addr, &payload(round * 32 + i))
                .unwrap();
        }
        d.flush();
        for i in 0..32u8 {
            let e = d.wait_for(Duration::from_secs(10), |e| matches!(e, Event::Data { .. }));
            let Event::Data { data, .. } = e else {
                unreachable!()
            };
            assert_eq!(data, payload(round * 32 + i));
        }
    }
    let stats = server.stop();
    assert_eq!(
        (stats.packets_to_peers, stats.packets_to_clients),
        (128, 128)
    );
}

#[test]
fn rfc6062_connect_through_the_runtime() {
    let mut server = Running::start();
    let echo = TcpEcho::start();
    let mut d = Driver::new(ClientConfig::new(server.addr, TurnTransport::Tcp, "u", "p"));
    d.client.allocate_tcp(Instant::now()).unwrap();
    d.wait_for(Duration::from_secs(10), |e| {
        matches!(e, Event::Allocated { .. })
    });
    d.client.connect(Instant::now(), echo.addr).unwrap();
    let Event::Connected { connection_id, .. } = d.wait_for(Duration::from_secs(10), |e| {
        matches!(e, Event::Connected { .. } | Event::ConnectFailed { .. })
    }) else {
        panic!("connect failed");
    };
    let mut data = d.data_connection(connection_id);
    data.write_all(b"tcp relay works").unwrap();
    let mut got = [0u8; 15];
    data.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    data.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"tcp relay works");
    server.stop();
}

#[test]
fn rfc6062_peer_connects_through_the_runtime() {
    let mut server = Running::start();
    let mut d = Driver::new(ClientConfig::new(server.addr, TurnTransport::Tcp, "u", "p"));
    d.client.allocate_tcp(Instant::now()).unwrap();
    let Event::Allocated { relayed, .. } = d.wait_for(Duration::from_secs(10), |e| {
        matches!(e, Event::Allocated { .. })
    }) else {
        unreachable!()
    };
    // Without a permission the server closes the peer's connection.
    let mut refused = std::net::TcpStream::connect(relayed).unwrap();
    refused
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = [0u8; 8];
    assert!(matches!(refused.read(&mut buf), Ok(0) | Err(_)));
    d.client
        .create_permission(Instant::now(), relayed.ip())
        .unwrap();
    d.wait_for(Duration::from_secs(10), |e| {
        matches!(e, Event::PermissionCreated { .. })
    });
    let mut peer = std::net::TcpStream::connect(relayed).unwrap();
    let Event::ConnectionAttempt { connection_id, .. } = d.wait_for(Duration::from_secs(10), |e| {
        matches!(e, Event::ConnectionAttempt { .. })
    }) else {
        unreachable!()
    };
    let mut data = d.data_connection(connection_id);
    peer.write_all(b"hello client").unwrap();
    let mut got = [0u8; 12];
    data.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    data.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"hello client");
    data.write_all(b"hello peer").unwrap();
    let mut got = [0u8; 10];
    peer.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    peer.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"hello peer");
    server.stop();
}

#[test]
fn shutdown_closes_relays_and_connections() {
    let mut server = Running::start();
    let mut udp = Driver::new(ClientConfig::new(server.addr, TurnTransport::Udp, "u", "p"));
    let relayed = udp.allocate();
    let mut tcp = Driver::new(ClientConfig::new(server.addr, TurnTransport::Tcp, "u", "p"));
    tcp.allocate();
    let stats = server.stop();
    assert_eq!(stats.allocations, 0);
    assert_eq!(stats.allocations_total, 2);
    // The relayed port and the listener are free again.
    std::net::UdpSocket::bind(relayed).unwrap();
    std::net::UdpSocket::bind(server.addr).unwrap();
    std::net::TcpListener::bind(server.addr).unwrap();
    // The TCP client sees its connection closed.
    let common::Conn::Tcp(s) = &mut tcp.conn else {
        unreachable!()
    };
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 64];
    assert!(matches!(s.read(&mut buf), Ok(0) | Err(_)));
}

/// A bare STUN client on its own UDP socket (user u, password p), for what our client does
/// not ask for: EVEN-PORT and RESERVATION-TOKEN.
struct Raw {
    socket: UdpSocket,
    server: SocketAddr,
    nonce: Option<String>,
    next: u8,
}

impl Raw {
    fn new(server: SocketAddr) -> Raw {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        Raw {
            socket,
            server,
            nonce: None,
            next: 0,
        }
    }

    /// A request built by `f`, signed once the server gave a nonce; returns the final
    /// response.
    fn request(&mut self, method: Method, f: impl Fn(&mut MessageBuilder<'_>)) -> Vec<u8> {
        for _ in 0..3 {
            self.next += 1;
            let id = TransactionId([self.next; 12]);
            let mut out = Vec::new();
            let mut b = MessageBuilder::new(&mut out, Class::Request, method, id);
            f(&mut b);
            if let Some(nonce) = &self.nonce {
                b.add(&Username("u")).unwrap();
                b.add(&Realm("rt")).unwrap();
                b.add(&Nonce(nonce)).unwrap();
                b.add_message_integrity(&IntegrityKey::long_term("u", "rt", "p"))
                    .unwrap();
            }
            self.socket.send_to(&out, self.server).unwrap();
            let mut buf = [0u8; 1500];
            let response = loop {
                let (n, _) = self.socket.recv_from(&mut buf).unwrap();
                let m = Message::new_checked(&buf[..n]).unwrap();
                if m.transaction_id() == id {
                    break buf[..n].to_vec();
                }
            };
            let code = error_code(&response);
            if !(code == Some(401) && self.nonce.is_none() || code == Some(438)) {
                return response;
            }
            let m = Message::new_checked(&response[..]).unwrap();
            self.nonce = Some(m.attribute::<Nonce<'_>>().unwrap().unwrap().0.to_owned());
        }
        panic!("no answer past the challenge")
    }

    fn allocate(&mut self, f: impl Fn(&mut MessageBuilder<'_>)) -> Vec<u8> {
        self.request(Method::Allocate, |b| {
            b.add(&RequestedTransport::UDP).unwrap();
            f(b);
        })
    }

    fn deallocate(&mut self) {
        let r = self.request(Method::Refresh, |b| {
            b.add(&Lifetime(0)).unwrap();
        });
        assert_eq!(error_code(&r), None);
    }
}

fn error_code(response: &[u8]) -> Option<u16> {
    let m = Message::new_checked(response).unwrap();
    m.attribute::<ErrorCode<'_>>().unwrap().map(|e| e.code)
}

#[test]
fn udp_workers_share_reservations_and_quotas() {
    let mut server = Running::with(|c| {
        c.relay_threads = 4;
        c.server.max_allocations_per_user = 2;
    });
    // The Allocate with the token comes from another socket, which the kernel hashes to
    // another worker three times in four: over six pairs, the token must be good on all.
    for _ in 0..6 {
        let mut a = Raw::new(server.addr);
        let r = a.allocate(|b| {
            b.add(&EvenPort { reserve: true }).unwrap();
        });
        let m = Message::new_checked(&r[..]).unwrap();
        assert_eq!(m.class(), Class::SuccessResponse, "{:?}", error_code(&r));
        let even = m.attribute::<XorRelayedAddress>().unwrap().unwrap().0;
        assert_eq!(even.port() % 2, 0);
        let token = m.attribute::<ReservationToken>().unwrap().unwrap();
        let mut b = Raw::new(server.addr);
        let r = b.allocate(|b| {
            b.add(&token).unwrap();
        });
        let m = Message::new_checked(&r[..]).unwrap();
        assert_eq!(m.class(), Class::SuccessResponse, "{:?}", error_code(&r));
        let odd = m.attribute::<XorRelayedAddress>().unwrap().unwrap().0;
        assert_eq!(odd, SocketAddr::new(even.ip(), even.port() + 1));
        a.deallocate();
        b.deallocate();
    }
    // The user's quota holds over the workers: two allocations, then every other socket is
    // refused.
    let mut held = [Raw::new(server.addr), Raw::new(server.addr)];
    for h in &mut held {
        assert_eq!(error_code(&h.allocate(|_| {})), None);
    }
    for _ in 0..8 {
        assert_eq!(
            error_code(&Raw::new(server.addr).allocate(|_| {})),
            Some(486)
        );
    }
    let stats = server.handle.stats();
    assert_eq!(stats.allocations, 2);
    assert_eq!(stats.allocations_total, 14);
    assert_eq!(stats.quota_rejections, 8);
    assert_eq!(server.stop().allocations, 0);
}

#[test]
fn deallocation_closes_the_relayed_socket() {
    let mut server = Running::with(|c| c.relay_threads = 2);
    for _ in 0..10 {
        let mut client = Raw::new(server.addr);
        let r = client.allocate(|_| {});
        let m = Message::new_checked(&r[..]).unwrap();
        let relayed = m.attribute::<XorRelayedAddress>().unwrap().unwrap().0;
        assert!(
            UdpSocket::bind(relayed).is_err(),
            "the relayed port is in use"
        );
        client.deallocate();
        // Closed by the worker that owns it, right after the answer.
        let end = Instant::now() + Duration::from_secs(5);
        while UdpSocket::bind(relayed).is_err() {
            assert!(Instant::now() < end, "{relayed} still open");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    assert_eq!(server.stop().allocations_total, 10);
}
