//! `turns:` in memory: the sans-IO client inside `TlsStream`, a rustls server connection in
//! front of the sans-IO server core, a self-signed certificate from rcgen.

#![cfg(feature = "tls")]
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use oxrtc_turn::tls::{client_config, TlsStream};
use oxrtc_turn::*;
use rand::rngs::StdRng;
use rand::SeedableRng;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{RootCertStore, ServerConfig as TlsServerConfig, ServerConnection};

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

struct Pair {
    now: Instant,
    client: Client,
    tls: TlsStream,
    server_tls: ServerConnection,
    server: Server,
    framer: StreamFramer,
    tuple: FiveTuple,
    relays: Vec<SocketAddr>,
    sent_to_peers: Vec<(SocketAddr, Vec<u8>)>,
}

impl Pair {
    fn new(name: &str, trusted: bool) -> Pair {
        let cert = rcgen::generate_simple_self_signed(vec!["turn.test".to_owned()]).unwrap();
        let mut roots = RootCertStore::empty();
        if trusted {
            roots.add(cert.cert.der().clone()).unwrap();
        } else {
            let other = rcgen::generate_simple_self_signed(vec!["turn.test".to_owned()]).unwrap();
            roots.add(other.cert.der().clone()).unwrap();
        }
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.signing_key.serialize_der()));
        let server_config = TlsServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key)
        .unwrap();
        let server_addr = addr("192.0.2.1:5349");
        let now = Instant::now();
        let config = ClientConfig::new(server_addr, TurnTransport::Tls, "alice", "pw");
        Pair {
            now,
            client: Client::new(config, now, StdRng::seed_from_u64(1)),
            tls: TlsStream::new(client_config(roots).unwrap(), name).unwrap(),
            server_tls: ServerConnection::new(Arc::new(server_config)).unwrap(),
            server: Server::new(
                ServerConfig {
                    users: vec![("alice".into(), "pw".into())],
                    ..Default::default()
                },
                now,
                StdRng::seed_from_u64(2),
            ),
            framer: StreamFramer::new(),
            tuple: FiveTuple {
                transport: TurnTransport::Tls,
                client: addr("198.51.100.1:40000"),
                server: server_addr,
            },
            relays: Vec::new(),
            sent_to_peers: Vec::new(),
        }
    }

    /// Moves bytes until nothing moves; returns the first TLS error.
    fn run(&mut self) -> Result<(), Error> {
        for _ in 0..100 {
            let mut moved = false;
            while let Some(t) = self.client.poll_transmit() {
                self.tls.write(&t.contents)?;
            }
            let mut wire = Vec::new();
            self.tls.poll_tls(&mut wire)?;
            if !wire.is_empty() {
                moved = true;
                let mut rd = &wire[..];
                while !rd.is_empty() {
                    self.server_tls.read_tls(&mut rd).unwrap();
                    if let Err(e) = self.server_tls.process_new_packets() {
                        // Let the alert reach the client.
                        let mut alert = Vec::new();
                        let _ = self.server_tls.write_tls(&mut alert);
                        let mut plain = Vec::new();
                        self.tls.read(&alert, &mut plain)?;
                        return Err(Error::Tls(e.to_string()));
                    }
                }
                let mut plain = Vec::new();
                let _ = self.server_tls.reader().read_to_end(&mut plain);
                self.framer.push(&plain);
                let now = self.now;
                while let Some(f) = self.framer.next_frame().unwrap() {
                    let bytes = f.as_bytes().to_vec();
                    if let ClientOutcome::Relay { peer, data, .. } =
                        self.server.handle_client(now, self.tuple, &bytes)
                    {
                        self.sent_to_peers.push((peer, data.to_vec()));
                    }
                }
            }
            while let Some(t) = self.server.poll_transmit() {
                self.server_tls.writer().write_all(&t.contents).unwrap();
            }
            while let Some(e) = self.server.poll_event() {
                if let ServerEvent::BindRelay { allocation, .. } = e {
                    let relay = addr("192.0.2.1:50000");
                    self.relays.push(relay);
                    self.server
                        .relay_bound(self.now, allocation, Some(relay), None);
                    moved = true;
                }
            }
            let mut back = Vec::new();
            while self.server_tls.wants_write() {
                self.server_tls.write_tls(&mut back).unwrap();
            }
            if !back.is_empty() {
                moved = true;
                let mut plain = Vec::new();
                self.tls.read(&back, &mut plain)?;
                self.client.handle_stream_data(self.now, &plain)?;
            }
            if !moved {
                return Ok(());
            }
        }
        panic!("does not settle");
    }
}

#[test]
fn allocation_and_data_over_tls() {
    let mut p = Pair::new("turn.test", true);
    let now = p.now;
    p.client.allocate(now).unwrap();
    p.run().unwrap();
    assert!(!p.tls.is_handshaking());
    let Some(Event::Allocated { relayed, .. }) = p.client.poll_event() else {
        panic!("no allocation over tls");
    };
    assert_eq!(relayed, p.relays[0]);
    let peer = addr("203.0.113.3:3000");
    p.client.bind_channel(now, peer).unwrap();
    p.run().unwrap();
    p.client.send_to(now, peer, b"over tls, padded").unwrap();
    p.client.send_to(now, peer, b"odd").unwrap();
    p.run().unwrap();
    assert_eq!(
        p.sent_to_peers,
        [
            (peer, b"over tls, padded".to_vec()),
            (peer, b"odd".to_vec())
        ]
    );
    let mut out = Vec::new();
    let tuple = p
        .server
        .handle_peer(now, relayed, peer, b"reply", &mut out)
        .unwrap();
    assert_eq!(tuple, p.tuple);
    p.server_tls.writer().write_all(&out).unwrap();
    p.run().unwrap();
    let events: Vec<_> = std::iter::from_fn(|| p.client.poll_event()).collect();
    assert!(events.contains(&Event::Data {
        peer,
        data: b"reply".to_vec()
    }));
}

#[test]
fn untrusted_certificate_and_wrong_name_fail() {
    let mut p = Pair::new("turn.test", false);
    let now = p.now;
    p.client.allocate(now).unwrap();
    assert!(matches!(p.run(), Err(Error::Tls(_))));

    let mut p = Pair::new("other.test", true);
    p.client.allocate(now).unwrap();
    assert!(matches!(p.run(), Err(Error::Tls(_))));
    assert!(TlsStream::new(client_config(RootCertStore::empty()).unwrap(), "bad name!").is_err());
}
