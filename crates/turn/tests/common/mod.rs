//! Helpers for tests on real loopback sockets: a blocking driver for the sans-IO client,
//! echo peers, child processes killed on drop, coturn.

#![allow(dead_code, clippy::unwrap_used)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use oxrtc_stun::ConnectionId;
use oxrtc_turn::*;
use rand::rngs::StdRng;
use rand::SeedableRng;

/// How the driver reaches the server.
pub enum Conn {
    Udp(UdpSocket),
    Tcp(TcpStream),
    #[cfg(feature = "tls")]
    Tls(TcpStream, Box<oxrtc_turn::tls::TlsStream>),
}

/// Drives a [`Client`] on a real socket and the real clock.
pub struct Driver {
    pub client: Client,
    pub conn: Conn,
    pub events: VecDeque<Event>,
}

impl Driver {
    pub fn new(config: ClientConfig) -> Driver {
        let server = config.server;
        let conn = match config.transport {
            TurnTransport::Udp => {
                let s = UdpSocket::bind("127.0.0.1:0").unwrap();
                Conn::Udp(s)
            }
            _ => {
                let s = connect_retrying(server);
                s.set_nodelay(true).unwrap();
                Conn::Tcp(s)
            }
        };
        let client = Client::new(config, Instant::now(), StdRng::from_os_rng());
        Driver {
            client,
            conn,
            events: VecDeque::new(),
        }
    }

    /// A client over TLS to `config.server`, verifying its certificate for `name`.
    #[cfg(feature = "tls")]
    pub fn tls(config: ClientConfig, roots: rustls::RootCertStore, name: &str) -> Driver {
        let s = connect_retrying(config.server);
        s.set_nodelay(true).unwrap();
        let tls =
            oxrtc_turn::tls::TlsStream::new(oxrtc_turn::tls::client_config(roots).unwrap(), name)
                .unwrap();
        let client = Client::new(config, Instant::now(), StdRng::from_os_rng());
        Driver {
            client,
            conn: Conn::Tls(s, Box::new(tls)),
            events: VecDeque::new(),
        }
    }

    pub fn local_addr(&self) -> SocketAddr {
        match &self.conn {
            Conn::Udp(s) => s.local_addr().unwrap(),
            Conn::Tcp(s) => s.local_addr().unwrap(),
            #[cfg(feature = "tls")]
            Conn::Tls(s, _) => s.local_addr().unwrap(),
        }
    }

    pub fn flush(&mut self) {
        while let Some(t) = self.client.poll_transmit() {
            match &mut self.conn {
                Conn::Udp(s) => {
                    s.send_to(&t.contents, t.destination).unwrap();
                }
                Conn::Tcp(s) => s.write_all(&t.contents).unwrap(),
                #[cfg(feature = "tls")]
                Conn::Tls(_, tls) => tls.write(&t.contents).unwrap(),
            }
        }
        #[cfg(feature = "tls")]
        if let Conn::Tls(s, tls) = &mut self.conn {
            let mut out = Vec::new();
            tls.poll_tls(&mut out).unwrap();
            s.write_all(&out).unwrap();
        }
        while let Some(e) = self.client.poll_event() {
            self.events.push_back(e);
        }
    }

    /// Waits up to `wait` for input (or the client's next deadline) and handles it.
    pub fn pump(&mut self, wait: Duration) {
        self.flush();
        let deadline = self
            .client
            .poll_timeout()
            .map(|t| t.saturating_duration_since(Instant::now()))
            .unwrap_or(wait)
            .min(wait)
            .max(Duration::from_millis(1));
        let mut buf = vec![0u8; 65_536];
        let now = Instant::now;
        match &mut self.conn {
            Conn::Udp(s) => {
                s.set_read_timeout(Some(deadline)).unwrap();
                if let Ok((n, from)) = s.recv_from(&mut buf) {
                    let _ = self.client.handle_receive(now(), from, &buf[..n]);
                }
            }
            Conn::Tcp(s) => {
                s.set_read_timeout(Some(deadline)).unwrap();
                match s.read(&mut buf) {
                    Ok(0) => panic!("server closed the connection"),
                    Ok(n) => self.client.handle_stream_data(now(), &buf[..n]).unwrap(),
                    Err(_) => {}
                }
            }
            #[cfg(feature = "tls")]
            Conn::Tls(s, tls) => {
                s.set_read_timeout(Some(deadline)).unwrap();
                match s.read(&mut buf) {
                    Ok(0) => panic!("server closed the connection"),
                    Ok(n) => {
                        let mut plain = Vec::new();
                        tls.read(&buf[..n], &mut plain).unwrap();
                        self.client.handle_stream_data(now(), &plain).unwrap();
                    }
                    Err(_) => {}
                }
            }
        }
        self.client.handle_timeout(now());
        self.flush();
    }

    /// Pumps until an event matches `pred` (others are kept), or panics after `timeout`.
    pub fn wait_for(&mut self, timeout: Duration, pred: impl Fn(&Event) -> bool) -> Event {
        let end = Instant::now() + timeout;
        loop {
            if let Some(i) = self.events.iter().position(&pred) {
                return self.events.remove(i).unwrap();
            }
            assert!(
                Instant::now() < end,
                "timed out; events so far: {:?}",
                self.events
            );
            self.pump(Duration::from_millis(50));
        }
    }

    pub fn allocate(&mut self) -> SocketAddr {
        self.client.allocate(Instant::now()).unwrap();
        match self.wait_for(Duration::from_secs(20), |e| {
            matches!(e, Event::Allocated { .. } | Event::AllocationFailed(_))
        }) {
            Event::Allocated { relayed, .. } => relayed,
            other => panic!("allocation failed: {other:?}"),
        }
    }

    /// Opens an RFC 6062 data connection for `id` and binds it; returns the raw stream.
    pub fn data_connection(&mut self, id: ConnectionId) -> TcpStream {
        let mut d = self.client.connection_bind(Instant::now(), id).unwrap();
        let mut s = connect_retrying(d.server());
        s.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let end = Instant::now() + Duration::from_secs(10);
        let mut buf = [0u8; 4096];
        loop {
            while let Some(bytes) = d.poll_transmit() {
                s.write_all(&bytes).unwrap();
            }
            match d.poll_event() {
                Some(DataConnectionEvent::Bound { peer_data }) => {
                    assert!(peer_data.is_empty());
                    s.set_read_timeout(None).unwrap();
                    return s;
                }
                Some(other) => panic!("data connection failed: {other:?}"),
                None => {}
            }
            assert!(Instant::now() < end, "ConnectionBind timed out");
            if let Ok(n) = s.read(&mut buf) {
                assert!(n > 0, "server closed the data connection");
                d.handle_stream_data(Instant::now(), &buf[..n]).unwrap();
            }
            d.handle_timeout(Instant::now());
        }
    }
}

fn connect_retrying(addr: SocketAddr) -> TcpStream {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        match TcpStream::connect(addr) {
            Ok(s) => return s,
            Err(e) if Instant::now() > end => panic!("connect {addr}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// A UDP peer on loopback that echoes every datagram; stops when dropped.
pub struct UdpEcho {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl UdpEcho {
    pub fn start() -> UdpEcho {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let addr = socket.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 65_536];
            while !s.load(Ordering::Relaxed) {
                if let Ok((n, from)) = socket.recv_from(&mut buf) {
                    let _ = socket.send_to(&buf[..n], from);
                }
            }
        });
        UdpEcho {
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for UdpEcho {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A TCP peer on loopback echoing every connection; stops accepting when dropped.
pub struct TcpEcho {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TcpEcho {
    pub fn start() -> TcpEcho {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut stream, _)) => {
                        stream.set_nonblocking(false).unwrap();
                        std::thread::spawn(move || {
                            let mut buf = [0u8; 4096];
                            while let Ok(n) = stream.read(&mut buf) {
                                if n == 0 || stream.write_all(&buf[..n]).is_err() {
                                    break;
                                }
                            }
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        TcpEcho {
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for TcpEcho {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Kills and reaps the child process when dropped, whatever happens in the test.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The tool's path; panics (failing the test) if it is not installed.
pub fn require(tool: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{tool} not found: install coturn (cargo xtask setup)"))
}

/// A loopback port free for both UDP and TCP right now.
pub fn free_port() -> u16 {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Lines of a child's stdout, on a channel.
pub fn lines(child: &mut Child) -> mpsc::Receiver<String> {
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// The example binary, (re)built with this test's profile so it is never stale.
pub fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|d| d.parent()).unwrap().to_path_buf();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut c = Command::new(cargo);
    c.args([
        "build",
        "--quiet",
        "-p",
        "oxrtc-turn",
        "--features",
        "tokio",
        "--example",
        name,
    ]);
    if profile_dir.ends_with("release") {
        c.arg("--release");
    }
    assert!(
        c.status().unwrap().success(),
        "building example {name} failed"
    );
    let path = profile_dir.join("examples").join(name);
    assert!(path.is_file(), "{} missing", path.display());
    path
}

/// Starts our example server on a free loopback port; returns the guard and its address.
pub fn our_server(extra: &[&str]) -> (KillOnDrop, SocketAddr) {
    let mut child = KillOnDrop(
        Command::new(example("turn_server"))
            .args(["--listen", "127.0.0.1:0", "--realm", "oxrtc.test"])
            .args(extra)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let rx = lines(&mut child.0);
    let first = rx.recv_timeout(Duration::from_secs(120)).unwrap();
    let addr = first
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .parse()
        .unwrap();
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in rx {});
    (child, addr)
}

/// A coturn `turnserver` on 127.0.0.1 with the given extra arguments; its working files go
/// to a fresh temporary directory (removed on drop).
pub struct Coturn {
    pub port: u16,
    pub dir: PathBuf,
    _child: KillOnDrop,
}

impl Coturn {
    pub fn start(extra: &[&str]) -> Coturn {
        let turnserver = require("turnserver");
        let port = free_port();
        let dir =
            std::env::temp_dir().join(format!("oxrtc-turn-interop-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let child = KillOnDrop(
            Command::new(turnserver)
                .args([
                    "-n",
                    "--listening-ip",
                    "127.0.0.1",
                    "--relay-ip",
                    "127.0.0.1",
                    "--listening-port",
                    &port.to_string(),
                    "--no-cli",
                    "--no-dtls",
                    "--simple-log",
                    "--no-rfc5780",
                    "--no-stun-backward-compatibility",
                ])
                .args(extra)
                .arg("--pidfile")
                .arg(dir.join("turnserver.pid"))
                .arg("--db")
                .arg(dir.join("turndb"))
                .arg("--log-file")
                .arg(dir.join("turnserver.log"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        Coturn {
            port,
            dir,
            _child: child,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("turnserver.log")).unwrap_or_default()
    }
}

impl Drop for Coturn {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
