//! Interop with coturn on loopback (run by `cargo xtask interop`, which installs coturn):
//! coturn's `turnutils_stunclient` against our example server, and our client against
//! coturn's `turnserver`. A missing tool fails the test.

#![allow(clippy::unwrap_used)] // test helpers

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use oxrtc_stun::*;

/// Kills and reaps the child process when dropped, whatever happens in the test.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The tool's path; panics (failing the test) if it is not installed.
fn require(tool: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{tool} not found: install coturn (cargo xtask setup)"))
}

/// A loopback port free for both UDP and TCP right now.
fn free_port() -> u16 {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Lines of a child's stdout, on a channel.
fn lines(child: &mut Child) -> mpsc::Receiver<String> {
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
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|d| d.parent()).unwrap().to_path_buf();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut c = Command::new(cargo);
    c.args(["build", "--quiet", "-p", "oxrtc-stun", "--example", name]);
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

#[test]
#[ignore = "interop: run by cargo xtask interop"]
fn interop_coturn_stunclient_gets_answer_from_our_server() {
    let stunclient = require("turnutils_stunclient");
    let mut server = KillOnDrop(
        Command::new(example("stun_server"))
            .args(["127.0.0.1:0", "--log"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let server_lines = lines(&mut server.0);
    let first = server_lines.recv_timeout(Duration::from_secs(20)).unwrap();
    let listen: SocketAddr = first
        .strip_prefix("listening on ")
        .unwrap()
        .parse()
        .unwrap();

    let mut client = KillOnDrop(
        Command::new(stunclient)
            .args(["-p", &listen.port().to_string(), "127.0.0.1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // turnutils_stunclient waits forever without an answer: bound it.
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = client.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "turnutils_stunclient got no answer"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut output = String::new();
    client
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut output)
        .unwrap();
    assert!(status.success(), "turnutils_stunclient failed: {output}");

    // It prints "UDP reflexive addr: IP:PORT"; that must be exactly where our server saw
    // the request come from.
    let reflexive: SocketAddr = output
        .lines()
        .find_map(|l| l.split("UDP reflexive addr: ").nth(1))
        .unwrap_or_else(|| panic!("no reflexive address in: {output}"))
        .trim()
        .parse()
        .unwrap();
    let answered = server_lines.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(answered, format!("answered {reflexive} error=None"));
}

/// Runs one binding transaction over UDP against `server` on a real clock.
fn udp_binding(socket: &UdpSocket, server: SocketAddr) -> TransactionEvent {
    use rand_chacha::rand_core::SeedableRng;
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let id = TransactionId::random(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
    let mut request = Vec::new();
    let mut b = MessageBuilder::new(&mut request, Class::Request, Method::Binding, id);
    b.add(&Software("oxrtc-stun interop")).unwrap();
    b.add_fingerprint().unwrap();
    let mut table = Transactions::new(TransactionConfig::default());
    table
        .start(Instant::now(), request, Transport::Unreliable, server)
        .unwrap();
    let mut buf = [0u8; 1500];
    loop {
        while let Some(tx) = table.poll_transmit() {
            socket.send_to(&tx.contents, tx.context).unwrap();
        }
        if let Some((event, _)) = table.poll_event() {
            return event;
        }
        let wait = table
            .poll_timeout()
            .unwrap()
            .saturating_duration_since(Instant::now());
        socket
            .set_read_timeout(Some(wait.max(Duration::from_millis(1))))
            .unwrap();
        match socket.recv_from(&mut buf) {
            Ok((n, from)) if from == server => {
                if let Ok(msg) = Message::new_checked(&buf[..n]) {
                    let _ = table.handle_response(Instant::now(), &msg);
                }
            }
            Ok(_) => {}
            Err(_) => table.handle_timeout(Instant::now()),
        }
    }
}

#[test]
#[ignore = "interop: run by cargo xtask interop"]
fn interop_our_client_gets_xor_mapped_address_from_coturn() {
    let turnserver = require("turnserver");
    let port = free_port();
    let dir =
        std::env::temp_dir().join(format!("oxrtc-stun-interop-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let _server = KillOnDrop(
        Command::new(turnserver)
            .args([
                "-n",
                "--listening-ip",
                "127.0.0.1",
                "--listening-port",
                &port.to_string(),
            ])
            .args([
                "--stun-only",
                "--no-tls",
                "--no-dtls",
                "--no-cli",
                "--no-rfc5780",
                "--simple-log",
            ])
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
    let server: SocketAddr = ([127, 0, 0, 1], port).into();

    // UDP: retransmissions cover coturn's start-up.
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let event = udp_binding(&socket, server);
    let TransactionEvent::Success { response, .. } = event else {
        panic!("no success response from coturn over udp: {event:?}");
    };
    let msg = Message::new_checked(&response[..]).unwrap();
    assert_eq!(msg.class(), Class::SuccessResponse);
    assert_eq!(
        msg.attribute::<XorMappedAddress>().unwrap(),
        Some(XorMappedAddress(socket.local_addr().unwrap()))
    );
    if msg.has_attribute(AttributeType::FINGERPRINT) {
        msg.verify_fingerprint().unwrap();
    }
    let software = msg.attribute::<Software<'_>>().unwrap();
    assert!(
        software.is_some_and(|s| s.0.contains("Coturn")),
        "{software:?}"
    );

    // TCP (a reliable transport: one transmission), framed by the STUN length field.
    let mut stream = TcpStream::connect(server).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut request = Vec::new();
    MessageBuilder::new(
        &mut request,
        Class::Request,
        Method::Binding,
        TransactionId([0x42; 12]),
    )
    .add_fingerprint()
    .unwrap();
    let now = Instant::now();
    let mut t = ClientTransaction::new(
        now,
        request,
        Transport::Reliable,
        &TransactionConfig::default(),
    )
    .unwrap();
    stream.write_all(t.poll_transmit().unwrap()).unwrap();
    assert_eq!(t.poll_timeout(), Some(now + Duration::from_millis(39_500)));
    let mut header = [0u8; HEADER_LEN];
    stream.read_exact(&mut header).unwrap();
    let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
    let mut whole = header.to_vec();
    whole.resize(HEADER_LEN + len, 0);
    stream.read_exact(&mut whole[HEADER_LEN..]).unwrap();
    let msg = Message::new_checked(&whole[..]).unwrap();
    assert!(t.handle_response(Instant::now(), &msg).unwrap());
    assert!(
        t.poll_transmit().is_none(),
        "reliable transports never retransmit"
    );
    assert!(matches!(
        t.poll_event(),
        Some(TransactionEvent::Success { .. })
    ));
    assert_eq!(
        msg.attribute::<XorMappedAddress>().unwrap(),
        Some(XorMappedAddress(stream.local_addr().unwrap()))
    );
    drop(_server);
    let _ = std::fs::remove_dir_all(&dir);
}
