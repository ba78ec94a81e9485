//! Interop with Debian's OpenSSL (`openssl s_server` / `s_client -dtls1_2`) on loopback:
//! both roles, ECDSA certificates on both ends, use_srtp; the handshake completes (also
//! with ClientHellos fragmented either way), application data flows both ways (also
//! through the allocation-free path) and the exported SRTP keying material equals what
//! OpenSSL prints for `-keymatexport EXTRACTOR-dtls_srtp`.
//!
//! Run with `cargo xtask interop interop_openssl` (it installs openssl first). These tests fail, not
//! skip, when openssl is missing.
#![allow(clippy::unwrap_used)]

use oxrtc_dtls::wire::{CipherSuite, ContentType, HandshakeFragment, HandshakeType, Records};
use oxrtc_dtls::{
    Certificate, Config, Connection, Event, FingerprintAlgorithm, Role, SrtpProtectionProfile,
};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Kills the child process when the test ends, however it ends.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A scratch directory removed at the end.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        // Tests run in parallel in one process: each gets its own directory.
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("oxrtc-dtls-{tag}-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The OpenSSL side: its certificate files, process, stdin and collected stdout lines.
struct OpenSsl {
    cert: Certificate,
    _dir: TempDir,
    child: Guard,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl OpenSsl {
    fn spawn(tag: &str, args: impl Fn(&str, &str) -> Vec<String>) -> OpenSsl {
        let cert = Certificate::generate().unwrap();
        let dir = TempDir::new(tag);
        let cert_path = dir.0.join("cert.pem");
        let key_path = dir.0.join("key.pem");
        std::fs::write(&cert_path, cert.certificate_pem()).unwrap();
        std::fs::write(&key_path, cert.private_key_pem()).unwrap();
        let mut child = Command::new("openssl")
            .args(args(
                cert_path.to_str().unwrap(),
                key_path.to_str().unwrap(),
            ))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("openssl must be installed (cargo xtask interop installs it)");
        let stdin = child.stdin.take().unwrap();
        let (tx, lines) = mpsc::channel();
        for out in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        OpenSsl {
            cert,
            _dir: dir,
            child: Guard(child),
            stdin,
            lines,
            seen: Vec::new(),
        }
    }

    fn drain(&mut self) {
        while let Ok(l) = self.lines.try_recv() {
            self.seen.push(l);
        }
    }

    fn keying_material(&self) -> Option<String> {
        self.seen.iter().find_map(|l| {
            l.trim()
                .strip_prefix("Keying material: ")
                .map(|h| h.trim().to_string())
        })
    }

    fn has_line(&self, text: &str) -> bool {
        self.seen.iter().any(|l| l.contains(text))
    }
}

/// Drives `conn` over `socket` until `done` or the deadline.
struct Driver {
    conn: Connection,
    socket: UdpSocket,
    peer: Option<SocketAddr>,
    events: Vec<Event>,
    /// Sizes of the datagrams we sent.
    sent: Vec<usize>,
    /// The first datagrams we received.
    first_received: Vec<Vec<u8>>,
    /// Receive through `handle_receive_bytes` (in-place decryption).
    bytes_path: bool,
}

impl Driver {
    fn new(conn: Connection, socket: UdpSocket, peer: Option<SocketAddr>) -> Driver {
        Driver {
            conn,
            socket,
            peer,
            events: Vec::new(),
            sent: Vec::new(),
            first_received: Vec::new(),
            bytes_path: false,
        }
    }
}

impl Driver {
    fn pump(&mut self, openssl: &mut OpenSsl, until: impl Fn(&Driver, &OpenSsl) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut buf = vec![0u8; 65536];
        loop {
            openssl.drain();
            while let Some(e) = self.conn.poll_event() {
                self.events.push(e);
            }
            if until(self, openssl) {
                return;
            }
            let now = Instant::now();
            if let Some(status) = openssl.child.0.try_wait().unwrap() {
                panic!("openssl exited ({status}): {:#?}", openssl.seen);
            }
            assert!(
                now < deadline,
                "timed out; state {:?}, events {:?}, openssl said {:#?}",
                self.conn.state(),
                self.events,
                openssl.seen
            );
            if let Some(peer) = self.peer {
                while let Some(d) = self.conn.poll_transmit() {
                    self.sent.push(d.len());
                    self.socket.send_to(&d, peer).unwrap();
                }
            }
            let wait = self
                .conn
                .poll_timeout()
                .map_or(Duration::from_millis(50), |t| {
                    t.saturating_duration_since(now)
                })
                .clamp(Duration::from_millis(1), Duration::from_millis(50));
            self.socket.set_read_timeout(Some(wait)).unwrap();
            match self.socket.recv_from(&mut buf) {
                Ok((n, from)) => {
                    self.peer.get_or_insert(from);
                    if self.first_received.len() < 4 {
                        self.first_received.push(buf[..n].to_vec());
                    }
                    let _ = if self.bytes_path {
                        let d = bytes::BytesMut::from(&buf[..n]);
                        self.conn.handle_receive_bytes(Instant::now(), d)
                    } else {
                        self.conn.handle_receive(Instant::now(), &buf[..n])
                    };
                }
                Err(_) => self.conn.handle_timeout(Instant::now()),
            }
        }
    }

    fn connected_profile(&self) -> Option<Option<SrtpProtectionProfile>> {
        self.events.iter().find_map(|e| match e {
            Event::Connected { srtp_profile } => Some(*srtp_profile),
            _ => None,
        })
    }

    fn received(&self, text: &str) -> bool {
        self.events.iter().any(|e| match e {
            Event::ApplicationData(d) => String::from_utf8_lossy(d).contains(text),
            Event::ApplicationDataBytes(d) => {
                assert!(self.bytes_path);
                String::from_utf8_lossy(d).contains(text)
            }
            _ => false,
        })
    }
}

fn config(role: Role, ours: &Certificate, theirs: &Certificate) -> Config {
    let mut c = Config::new(role, ours.clone());
    c.expected_remote_fingerprints = vec![theirs.fingerprint(FingerprintAlgorithm::Sha256)];
    c
}

/// The common checks once both sides are up: data both ways and equal keying material.
fn exchange_and_compare(
    driver: &mut Driver,
    openssl: &mut OpenSsl,
    profile: SrtpProtectionProfile,
) {
    driver.pump(openssl, |d, o| {
        d.connected_profile().is_some() && o.keying_material().is_some()
    });
    assert_eq!(driver.connected_profile(), Some(Some(profile)));
    assert_eq!(driver.conn.remote_certificate(), Some(openssl.cert.der()));

    driver
        .conn
        .send_application_data(b"hello from oxrtc\n")
        .unwrap();
    driver.pump(openssl, |_, o| o.has_line("hello from oxrtc"));
    // The allocation-free send path: a record sealed into our own buffer.
    let mut datagram = Vec::new();
    driver
        .conn
        .seal_application_data(b"sealed by oxrtc\n", &mut datagram)
        .unwrap();
    let peer = driver.peer.unwrap();
    driver.socket.send_to(&datagram, peer).unwrap();
    driver.pump(openssl, |_, o| o.has_line("sealed by oxrtc"));
    openssl.stdin.write_all(b"hello from openssl\n").unwrap();
    openssl.stdin.flush().unwrap();
    driver.pump(openssl, |d, _| d.received("hello from openssl"));

    let theirs = openssl.keying_material().unwrap();
    let ours = driver
        .conn
        .export_keying_material("EXTRACTOR-dtls_srtp", None, profile.keying_material_len())
        .unwrap();
    let ours_hex: String = ours.iter().map(|b| format!("{b:02X}")).collect();
    assert_eq!(
        ours_hex, theirs,
        "SRTP keying material differs from OpenSSL's"
    );
    let k = driver.conn.srtp_keying_material().unwrap();
    let joined = [
        k.client_write_key.clone(),
        k.server_write_key.clone(),
        k.client_write_salt.clone(),
        k.server_write_salt.clone(),
    ]
    .concat();
    assert_eq!(joined, ours);

    driver.conn.close();
    if let Some(peer) = driver.peer {
        while let Some(d) = driver.conn.poll_transmit() {
            driver.socket.send_to(&d, peer).unwrap();
        }
    }
    // OpenSSL reports our close_notify, or exits on it.
    let t = Instant::now();
    loop {
        openssl.drain();
        let exited = openssl.child.0.try_wait().unwrap().is_some();
        if exited || openssl.has_line("CLOSED") || openssl.has_line("DONE") {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "close_notify not seen: {:#?}",
            openssl.seen
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn against_s_server(
    profile: SrtpProtectionProfile,
    extra: &[&str],
    suite: Option<CipherSuite>,
    mtu: usize,
    bytes_path: bool,
) -> Driver {
    let port = free_udp_port();
    let len = profile.keying_material_len().to_string();
    let mut openssl = OpenSsl::spawn("s_server", |cert, key| {
        let mut a: Vec<String> = [
            "s_server",
            "-dtls1_2",
            "-accept",
            &format!("127.0.0.1:{port}"),
            "-cert",
            cert,
            "-key",
            key,
            "-use_srtp",
            profile.name(),
            "-keymatexport",
            "EXTRACTOR-dtls_srtp",
            "-keymatexportlen",
            &len,
            "-naccept",
            "1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    });
    // Wait until it listens.
    let t = Instant::now();
    while !openssl.has_line("ACCEPT") {
        assert!(t.elapsed() < Duration::from_secs(10), "{:?}", openssl.seen);
        std::thread::sleep(Duration::from_millis(20));
        openssl.drain();
    }
    let ours = Certificate::generate().unwrap();
    let mut cfg = config(Role::Client, &ours, &openssl.cert);
    cfg.srtp_profiles = vec![profile];
    cfg.mtu = mtu;
    let conn = Connection::new(cfg, Instant::now(), ChaCha20Rng::seed_from_u64(1)).unwrap();
    let mut driver = Driver::new(
        conn,
        UdpSocket::bind("127.0.0.1:0").unwrap(),
        Some(format!("127.0.0.1:{port}").parse().unwrap()),
    );
    driver.bytes_path = bytes_path;
    exchange_and_compare(&mut driver, &mut openssl, profile);
    if let Some(suite) = suite {
        assert_eq!(driver.conn.cipher_suite(), Some(suite));
    }
    assert!(driver.sent.iter().all(|&n| n <= mtu), "{:?}", driver.sent);
    driver
}

fn against_s_client(profile: SrtpProtectionProfile, extra: &[&str], bytes_path: bool) -> Driver {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = socket.local_addr().unwrap().port();
    let len = profile.keying_material_len().to_string();
    let mut openssl = OpenSsl::spawn("s_client", |cert, key| {
        [
            "s_client",
            "-dtls1_2",
            "-connect",
            &format!("127.0.0.1:{port}"),
            "-cert",
            cert,
            "-key",
            key,
            "-use_srtp",
            profile.name(),
            "-keymatexport",
            "EXTRACTOR-dtls_srtp",
            "-keymatexportlen",
            &len,
        ]
        .iter()
        .chain(extra)
        .map(|s| s.to_string())
        .collect()
    });
    let ours = Certificate::generate().unwrap();
    let mut cfg = config(Role::Server, &ours, &openssl.cert);
    cfg.srtp_profiles = vec![profile];
    let conn = Connection::new(cfg, Instant::now(), ChaCha20Rng::seed_from_u64(2)).unwrap();
    let mut driver = Driver::new(conn, socket, None);
    driver.bytes_path = bytes_path;
    exchange_and_compare(&mut driver, &mut openssl, profile);
    driver
}

/// The handshake fragments in the epoch-0 records of a datagram: (type, length, offset,
/// fragment length).
fn fragment_headers(datagram: &[u8]) -> Vec<(HandshakeType, u32, u32, u32)> {
    let mut out = Vec::new();
    for r in Records::new(datagram).flatten() {
        if r.header.content_type != ContentType::HANDSHAKE || r.header.epoch != 0 {
            continue;
        }
        let mut rest = r.fragment;
        while let Ok((f, tail)) = HandshakeFragment::parse(rest) {
            let h = f.header;
            out.push((h.msg_type, h.length, h.fragment_offset, h.fragment_length));
            rest = tail;
        }
    }
    out
}

#[test]
#[ignore = "interop: run by cargo xtask interop"]
fn interop_openssl_s_server_srtp_aes128_cm_sha1_80() {
    // -Verify: OpenSSL requests our certificate and refuses to go on without one.
    against_s_server(
        SrtpProtectionProfile::Aes128CmHmacSha1_80,
        &["-Verify", "1"],
        None,
        300,
        false,
    );
}

#[test]
#[ignore = "interop: run by cargo xtask interop"]
fn interop_openssl_s_client_srtp_aes128_cm_sha1_80() {
    against_s_client(SrtpProtectionProfile::Aes128CmHmacSha1_80, &[], false);
}

#[test]
#[ignore = "interop: run by cargo xtask interop"]
fn interop_openssl_s_server_srtp_aead_aes_128_gcm() {
    against_s_server(
        SrtpProtectionProfile::AeadAes128Gcm,
        &["-Verify", "1"],
        None,
        300,
        false,
    );
}

#[test]
#[ignore = "interop: run by cargo xtask interop"]
fn interop_openssl_s_client_srtp_aead_aes_256_gcm() {
    against_s_client(SrtpProtectionProfile::AeadAes256Gcm, &[], false);
}

#[test]
#[ignore = "interop: run by cargo xtask interop"]
fn interop_openssl_s_server_chacha20_small_mtu() {
    // A forced suite and a small MTU make OpenSSL fragment its flight; without -Verify
    // OpenSSL sends no CertificateRequest, so our client sends no certificate.
    against_s_server(
        SrtpProtectionProfile::Aes128CmHmacSha1_32,
        &["-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305", "-mtu", "300"],
        Some(CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256),
        300,
        false,
    );
}

#[test]
#[ignore = "interop: run by cargo xtask interop"]
fn interop_openssl_s_server_accepts_our_fragmented_client_hello() {
    // At our smallest MTU both of our ClientHellos (141 and 173 bytes) go out in two
    // fragments each; OpenSSL reassembles them. We receive through handle_receive_bytes.
    let driver = against_s_server(
        SrtpProtectionProfile::AeadAes128Gcm,
        &["-Verify", "1"],
        None,
        oxrtc_dtls::MIN_MTU,
        true,
    );
    assert!(driver.sent.len() >= 4, "{:?}", driver.sent);
    // OpenSSL's HelloVerifyRequest came back: our first ClientHello was whole to it.
    let first = fragment_headers(&driver.first_received[0]);
    assert_eq!(first[0].0, HandshakeType::HELLO_VERIFY_REQUEST, "{first:?}");
}

#[test]
#[ignore = "interop: run by cargo xtask interop"]
fn interop_openssl_s_client_fragmented_client_hello() {
    // A long server name makes OpenSSL's ClientHello about 390 bytes; at a link MTU of 256
    // it sends it in two fragments in two datagrams, before and after the cookie exchange.
    // We receive through handle_receive_bytes.
    let name = format!("{}.{}.example", "a".repeat(60), "b".repeat(60));
    let driver = against_s_client(
        SrtpProtectionProfile::Aes128CmHmacSha1_80,
        &["-mtu", "256", "-servername", &name],
        true,
    );
    let hellos: Vec<_> = driver
        .first_received
        .iter()
        .flat_map(|d| fragment_headers(d))
        .filter(|f| f.0 == HandshakeType::CLIENT_HELLO)
        .collect();
    assert!(
        hellos.iter().filter(|f| f.3 < f.1).count() >= 2,
        "OpenSSL did not fragment its ClientHello: {hellos:?}"
    );
    assert_eq!(driver.conn.stats().dropped_fragments, 0);
}
