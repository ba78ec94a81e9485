//! The built `oxrtc` binary on loopback: answer + offer (dc-echo, dc-bulk, empty messages),
//! stun-server against oxrtc-stun's client side, turn-server on the path of `offer --relay`,
//! demo, serve, and the errors people see. Every process started is killed by a guard.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use oxrtc::runtime::PeerConnection;
use oxrtc::{
    Config, DataChannelInit, IceGatheringState, InterfaceFilter, Message, RtcSessionDescription,
};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, UdpSocket};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_oxrtc");

/// A started process, killed and reaped when dropped (however the test ends).
struct Proc {
    child: Child,
    stdout: Option<BufReader<ChildStdout>>,
}

impl Proc {
    fn spawn(args: &[&str]) -> Proc {
        let mut child = Command::new(BIN)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start oxrtc");
        let stdout = child.stdout.take().map(BufReader::new);
        Proc { child, stdout }
    }

    /// The address of the first `listening on ...` line.
    fn listening(&mut self) -> String {
        let mut line = String::new();
        self.stdout.as_mut().unwrap().read_line(&mut line).unwrap();
        let rest = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        rest.trim_start_matches("http://")
            .split(['/', ' '])
            .next()
            .unwrap()
            .to_owned()
    }

    fn wait(&mut self, limit: Duration) -> ExitStatus {
        let end = Instant::now() + limit;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(
                Instant::now() < end,
                "process did not exit within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn terminate(&mut self) -> ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.wait(Duration::from_secs(10))
    }

    fn rest_of_stdout(&mut self) -> String {
        let mut s = String::new();
        self.stdout
            .as_mut()
            .unwrap()
            .read_to_string(&mut s)
            .unwrap();
        s
    }

    fn stderr(&mut self) -> String {
        let mut s = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            e.read_to_string(&mut s).unwrap();
        }
        s
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a command to completion: (status, stdout, stderr).
fn run(args: &[&str], limit: Duration) -> (ExitStatus, String, String) {
    let mut p = Proc::spawn(args);
    let status = p.wait(limit);
    let out = p.rest_of_stdout();
    let err = p.stderr();
    (status, out, err)
}

/// `oxrtc offer`: the exit status and the one JSON line (stdout must hold nothing else).
fn offer(args: &[&str]) -> (ExitStatus, Value) {
    let mut all = vec!["offer"];
    all.extend_from_slice(args);
    let (status, out, err) = run(&all, Duration::from_secs(120));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "stdout: {out:?}, stderr: {err}");
    let v: Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(v["peer"], "oxrtc");
    assert_eq!(v["ok"].as_bool(), Some(status.success()), "{v} {err}");
    (status, v)
}

fn answerer() -> (Proc, String) {
    let mut p = Proc::spawn(&["answer", "--listen", "127.0.0.1:0"]);
    let addr = p.listening();
    (p, addr)
}

/// One HTTP/1.1 request with `Connection: close`: (status, head, body).
fn http(addr: &str, method: &str, path: &str, ctype: &str, body: &[u8]) -> (u16, String, Vec<u8>) {
    common::http_with(addr, method, path, &[("Content-Type", ctype)], body)
}

fn config() -> Config {
    Config {
        interface_filter: InterfaceFilter::loopback_only(),
        ..Config::default()
    }
}

#[test]
fn dc_echo_between_two_oxrtc_processes() {
    let (_answer, addr) = answerer();
    let url = format!("http://{addr}/offer");
    let (status, v) = offer(&["--url", &url, "--scenario", "dc-echo"]);
    assert!(status.success(), "{v}");
    assert_eq!(v["scenario"], "dc-echo");
    // 5 binary sizes (oxrtc advertises 256 KiB) and 3 strings.
    assert_eq!(v["messages"], 8);
    let strings: u64 = ["hello, echo", "grüße, 世界 ✓", "Ωmega ∑ 🚀 end"]
        .iter()
        .map(|s| s.len() as u64)
        .sum();
    let bytes = 1 + 1024 + 16384 + 65536 + 262144 + strings;
    assert_eq!(v["bytes"].as_u64(), Some(bytes));
    assert_eq!(v["skipped_sizes"], serde_json::json!([]));
    let secs = v["seconds"].as_f64().unwrap();
    let mbps = v["mbps"].as_f64().unwrap();
    assert!(secs > 0.0);
    assert!(
        (mbps - bytes as f64 * 8.0 / secs / 1e6).abs() / mbps < 0.05,
        "{v}"
    );
    let setup = v["setup_ms"].as_f64().unwrap();
    assert!(setup > 0.0 && setup < 10_000.0);
    assert!(v["selected_pair"].as_str().unwrap().starts_with("host "));

    // Another plan: an empty binary message, a size over the remote's limit, 2 rounds.
    let (status, v) = offer(&[
        "--url",
        &url,
        "--scenario",
        "dc-echo",
        "--sizes",
        "0,1,300000",
        "--strings",
        "2",
        "--count",
        "2",
    ]);
    assert!(status.success(), "{v}");
    assert_eq!(v["messages"], 8);
    assert_eq!(v["skipped_sizes"], serde_json::json!([300000]));
}

#[test]
fn dc_bulk_between_two_oxrtc_processes() {
    let (_answer, addr) = answerer();
    let (status, v) = offer(&[
        "--url",
        &format!("http://{addr}/offer"),
        "--scenario",
        "dc-bulk",
        "--size",
        "4MiB",
        "-v",
    ]);
    assert!(status.success(), "{v}");
    assert_eq!(v["messages"], 64);
    assert_eq!(v["bytes"], 4 << 20);
    assert!(v.get("skipped_sizes").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answer_echoes_empty_messages_with_their_type() {
    let (_answer, addr) = answerer();
    let (pc, mut events) = PeerConnection::new(config()).await.unwrap();
    let mut ch = pc
        .create_data_channel("echo", DataChannelInit::default())
        .await
        .unwrap();
    pc.set_local_description(None).await.unwrap();
    while pc.ice_gathering_state().await != IceGatheringState::Complete {
        events.recv().await.unwrap();
    }
    tokio::spawn(async move { while events.recv().await.is_some() {} });
    let offer = pc.local_description().await.unwrap();
    let (code, _, answer) = tokio::task::spawn_blocking(move || {
        http(
            &addr,
            "POST",
            "/offer",
            "application/sdp",
            offer.sdp.as_bytes(),
        )
    })
    .await
    .unwrap();
    assert_eq!(code, 201);
    pc.set_remote_description(RtcSessionDescription::answer(
        String::from_utf8(answer).unwrap(),
    ))
    .await
    .unwrap();
    tokio::time::timeout(Duration::from_secs(10), ch.wait_open())
        .await
        .unwrap()
        .unwrap();
    let sent = [
        Message::Text(String::new()),
        Message::Binary(bytes::Bytes::new()),
        Message::Text("x".into()),
        Message::Binary(bytes::Bytes::from_static(b"\0")),
    ];
    for m in &sent {
        match m {
            Message::Text(t) => ch.send_text(t).await.unwrap(),
            Message::Binary(b) => ch.send(b.clone()).await.unwrap(),
        }
    }
    for m in &sent {
        let back = tokio::time::timeout(Duration::from_secs(10), ch.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&back, m);
    }
    pc.close().await;
}

#[test]
fn signaling_endpoints_and_refusals() {
    let (_answer, addr) = answerer();
    let (code, _, body) = http(&addr, "GET", "/health", "text/plain", b"");
    assert_eq!((code, body.as_slice()), (200, &b"ok\n"[..]));
    assert_eq!(http(&addr, "GET", "/nowhere", "text/plain", b"").0, 404);
    assert_eq!(http(&addr, "GET", "/offer", "text/plain", b"").0, 405);
    assert_eq!(
        http(&addr, "POST", "/offer", "application/json", b"{}").0,
        415
    );
    // A broken offer: 400 naming the line.
    let bad = b"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=application nine UDP/DTLS/SCTP webrtc-datachannel\r\n";
    let (code, _, body) = http(&addr, "POST", "/offer", "application/sdp", bad);
    let body = String::from_utf8(body).unwrap();
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("line 5"), "{body}");
}

#[test]
fn stun_server_answers_oxrtc_stun_requests() {
    use oxrtc_stun::{
        Class, Message as StunMessage, MessageBuilder, Method, TransactionId, XorMappedAddress,
    };
    let mut server = Proc::spawn(&["stun-server", "--listen", "127.0.0.1:0"]);
    let addr = server.listening();
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut req = Vec::new();
    let tid = TransactionId([9; 12]);
    MessageBuilder::new(&mut req, Class::Request, Method::Binding, tid)
        .add_fingerprint()
        .unwrap();
    sock.send_to(&req, &addr).unwrap();
    let mut buf = [0u8; 1500];
    let (n, from) = sock.recv_from(&mut buf).unwrap();
    assert_eq!(from.to_string(), addr);
    let resp = StunMessage::new_checked(&buf[..n]).unwrap();
    assert_eq!(resp.class(), Class::SuccessResponse);
    assert_eq!(resp.transaction_id(), tid);
    assert_eq!(
        resp.attribute::<XorMappedAddress>().unwrap(),
        Some(XorMappedAddress(sock.local_addr().unwrap()))
    );
    resp.verify_fingerprint().unwrap();
    // SIGTERM: a clean exit with the counters.
    assert!(server.terminate().success());
    let rest = server.rest_of_stdout();
    assert!(rest.contains("stats success=1"), "{rest}");
}

#[test]
fn offer_relay_through_turn_server() {
    let mut turn = Proc::spawn(&[
        "turn-server",
        "--listen",
        "127.0.0.1:0",
        "--realm",
        "test",
        "--user",
        "alice:secret",
        "--allow-loopback-peers",
    ]);
    let turn_addr = turn.listening();
    let (_answer, addr) = answerer();
    let server = format!("turn:{turn_addr}?transport=udp");
    let (status, v) = offer(&[
        "--url",
        &format!("http://{addr}/offer"),
        "--scenario",
        "dc-bulk",
        "--size",
        "1MiB",
        "--ice-server",
        &server,
        "--ice-user",
        "alice",
        "--ice-pass",
        "secret",
        "--relay",
    ]);
    assert!(status.success(), "{v}");
    assert_eq!(v["bytes"], 1 << 20);
    let pair = v["selected_pair"].as_str().unwrap();
    assert!(pair.starts_with("relay udp 127.0.0.1:"), "{pair}");

    // Wrong password: the relay refuses and the offerer says ICE could not connect.
    let (status, v) = offer(&[
        "--url",
        &format!("http://{addr}/offer"),
        "--scenario",
        "dc-echo",
        "--ice-server",
        &server,
        "--ice-user",
        "alice",
        "--ice-pass",
        "wrong",
        "--relay",
        "--timeout",
        "5",
    ]);
    assert!(!status.success());
    let e = v["error"].as_str().unwrap();
    eprintln!("refused credentials: {e}");
    assert!(e.contains("local candidates: none"), "{e}");
    assert!(e.contains("401"), "{e}");

    assert!(turn.terminate().success());
    let stats = turn.rest_of_stdout();
    let counter = |key: &str| -> u64 {
        let i = stats.find(key).unwrap() + key.len();
        stats[i..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    // One allocation per local socket of the offerer (loopback and the default route's).
    assert!(counter("allocations_total: ") >= 1, "{stats}");
    // The payload went through the relay both ways.
    assert!(counter("bytes_to_peers: ") > 1 << 20, "{stats}");
    assert!(counter("bytes_to_clients: ") > 1 << 20, "{stats}");
}

#[test]
fn errors_people_understand() {
    // Nothing listens on the port.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/offer");
    let (status, v) = offer(&["--url", &url, "--scenario", "dc-echo"]);
    assert_eq!(status.code(), Some(1));
    let e = v["error"].as_str().unwrap();
    assert!(
        e.contains("refused") && e.contains("is the answerer running"),
        "{e}"
    );

    // An unusable URL and a bad option combination.
    let (_, v) = offer(&[
        "--url",
        "https://example.org/offer",
        "--scenario",
        "dc-echo",
    ]);
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("https is not supported"),
        "{v}"
    );
    let (_, v) = offer(&["--url", &url, "--scenario", "dc-echo", "--relay"]);
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("--relay needs a TURN server"),
        "{v}"
    );

    // The port is taken.
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = busy.local_addr().unwrap().to_string();
    let (status, _, err) = run(&["answer", "--listen", &taken], Duration::from_secs(20));
    assert_eq!(status.code(), Some(1));
    assert!(err.contains("already in use"), "{err}");
}

/// A fake answerer that replies 201 with `body` to every request.
fn fake_answerer(body: &'static str) -> (String, std::thread::JoinHandle<()>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let t = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let mut buf = [0u8; 65536];
        let mut got = Vec::new();
        // Read the head and the body (Content-Length).
        loop {
            let n = s.read(&mut buf).unwrap();
            got.extend_from_slice(&buf[..n]);
            if let Some(i) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&got[..i]).to_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map_or(0, |v| v.trim().parse().unwrap());
                if got.len() >= i + 4 + len {
                    break;
                }
            }
            if n == 0 {
                break;
            }
        }
        let resp = format!(
            "HTTP/1.1 201 Created\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        s.write_all(resp.as_bytes()).unwrap();
    });
    (addr, t)
}

#[test]
fn a_bad_answer_is_reported_with_its_line() {
    let (addr, t) =
        fake_answerer("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio x RTP/AVP 0\r\n");
    let (status, v) = offer(&[
        "--url",
        &format!("http://{addr}/offer"),
        "--scenario",
        "dc-echo",
    ]);
    t.join().unwrap();
    assert_eq!(status.code(), Some(1));
    let e = v["error"].as_str().unwrap();
    assert!(
        e.contains("line 5") && e.contains("`m=audio x RTP/AVP 0`"),
        "{e}"
    );
}

#[test]
fn failed_ice_lists_the_candidates_tried() {
    // A valid answer whose only candidate is a port nobody answers on.
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap(); // held: silent, not refused
    let port = sock.local_addr().unwrap().port();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let answer = rt.block_on(async {
        let (a, _ae) = PeerConnection::new(config()).await.unwrap();
        let (b, mut be) = PeerConnection::new(config()).await.unwrap();
        a.create_data_channel("x", DataChannelInit::default())
            .await
            .unwrap();
        a.set_local_description(None).await.unwrap();
        let offer = a.local_description().await.unwrap();
        b.set_remote_description(offer).await.unwrap();
        b.set_local_description(None).await.unwrap();
        while b.ice_gathering_state().await != IceGatheringState::Complete {
            be.recv().await.unwrap();
        }
        let sdp = b.local_description().await.unwrap().sdp;
        a.close().await;
        b.close().await;
        // Keep one candidate, moved to the silent port.
        let mut out = String::new();
        let mut kept = false;
        for line in sdp.split("\r\n").filter(|l| !l.is_empty()) {
            if let Some(c) = line.strip_prefix("a=candidate:") {
                if kept {
                    continue;
                }
                kept = true;
                let mut f: Vec<String> = c.split(' ').map(str::to_owned).collect();
                f[4] = "127.0.0.1".into();
                f[5] = port.to_string();
                out.push_str(&format!("a=candidate:{}\r\n", f.join(" ")));
            } else {
                out.push_str(line);
                out.push_str("\r\n");
            }
        }
        out
    });
    let answer: &'static str = Box::leak(answer.into_boxed_str());
    let (addr, t) = fake_answerer(answer);
    let (status, v) = offer(&[
        "--url",
        &format!("http://{addr}/offer"),
        "--scenario",
        "dc-echo",
        "--timeout",
        "3",
    ]);
    t.join().unwrap();
    assert_eq!(status.code(), Some(1));
    let e = v["error"].as_str().unwrap();
    let (local, remote) = e.split_once("remote candidates:").unwrap();
    assert!(e.contains("did not open within 3 s"), "{e}");
    assert!(
        local.contains("local candidates: ") && local.contains("host udp 127.0.0.1:"),
        "{e}"
    );
    assert_eq!(remote.trim(), format!("host udp 127.0.0.1:{port}"), "{e}");
    drop(sock);
}

#[test]
fn demo_runs_and_reports() {
    let (status, out, err) = run(
        &["demo", "--size", "2MiB", "--no-progress", "--duration", "1"],
        Duration::from_secs(120),
    );
    assert!(status.success(), "{out}\n{err}");
    // About 1.x s of 30 fps video and 50 packets/s audio reached the receiver.
    let counts = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("received "))
        .unwrap_or_else(|| panic!("no media counts in:\n{out}"));
    let numbers: Vec<u64> = counts
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect();
    assert!(numbers[0] >= 20 && numbers[1] >= 1, "{counts}");
    assert!(numbers.last().copied().unwrap() >= 40, "{counts}");
    for want in [
        "ICE connected",
        "DTLS connected",
        "SCTP up, data channel open",
        "first media packet (RTP at the receiving peer)",
        "media                VP8 320x240",
        "selected pair        host udp 127.0.0.1:",
        "transfer             2 MiB in",
        "round trip",
        "packets lost",
        "STUN server",
    ] {
        assert!(out.contains(want), "{want:?} missing from:\n{out}");
    }
    let (status, out, err) = run(
        &[
            "demo",
            "--size",
            "1MiB",
            "--no-progress",
            "--relay",
            "--unordered",
            "--max-retransmits",
            "3",
        ],
        Duration::from_secs(120),
    );
    assert!(status.success(), "{out}\n{err}");
    assert!(out.contains("selected pair        relay udp"), "{out}");
    assert!(
        out.contains("unordered, at most 3 retransmissions"),
        "{out}"
    );
    assert!(out.contains("TURN server  2 allocations"), "{out}");
}

/// Async wrapper of [`http`].
async fn http_async(
    addr: &str,
    method: &'static str,
    path: &'static str,
    body: Vec<u8>,
) -> (u16, String, Vec<u8>) {
    let a = addr.to_owned();
    tokio::task::spawn_blocking(move || http(&a, method, path, "application/sdp", &body))
        .await
        .unwrap()
}

/// The browser's part of the page, played by an oxrtc peer: a `chat` channel, open.
async fn chat_client(addr: &str, session: u64) -> (PeerConnection, oxrtc::runtime::DataChannel) {
    let (pc, mut events) = PeerConnection::new(config()).await.unwrap();
    let mut ch = pc
        .create_data_channel("chat", DataChannelInit::default())
        .await
        .unwrap();
    pc.set_local_description(None).await.unwrap();
    while pc.ice_gathering_state().await != IceGatheringState::Complete {
        events.recv().await.unwrap();
    }
    tokio::spawn(async move { while events.recv().await.is_some() {} });
    let offer = pc.local_description().await.unwrap();
    let (code, head, answer) = http_async(addr, "POST", "/offer", offer.sdp.into_bytes()).await;
    assert_eq!(code, 201);
    assert!(
        head.contains(&format!("Location: /session/{session}")),
        "{head}"
    );
    pc.set_remote_description(RtcSessionDescription::answer(
        String::from_utf8(answer).unwrap(),
    ))
    .await
    .unwrap();
    tokio::time::timeout(Duration::from_secs(10), ch.wait_open())
        .await
        .unwrap()
        .unwrap();
    (pc, ch)
}

async fn server_stats(addr: &str) -> Value {
    let (code, _, stats) = http_async(addr, "GET", "/stats", Vec::new()).await;
    assert_eq!(code, 200);
    serde_json::from_slice(&stats).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_page_chat_and_stats() {
    let mut server = Proc::spawn(&["serve", "--listen", "127.0.0.1:0"]);
    let addr = server.listening();
    let (code, head, page) = http_async(&addr, "GET", "/", Vec::new()).await;
    assert_eq!(code, 200);
    assert!(head.to_lowercase().contains("content-type: text/html"));
    let page = String::from_utf8(page).unwrap();
    assert!(page.contains("fetch(\"/offer\"") && page.contains("/stats"));

    let (pc, mut ch) = chat_client(&addr, 1).await;
    ch.send_text("hello from the page").await.unwrap();
    let back = tokio::time::timeout(Duration::from_secs(10), ch.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back, Message::Text("hello from the page".into()));

    let v = server_stats(&addr).await;
    let session = &v["sessions"][0];
    assert_eq!(session["id"], 1);
    let channel = session["stats"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["type"] == "data-channel")
        .unwrap();
    assert_eq!(channel["label"], "chat");
    assert_eq!(channel["messagesReceived"], 1);

    // Hang up through the WHIP-style DELETE...
    assert_eq!(
        http_async(&addr, "DELETE", "/session/1", Vec::new())
            .await
            .0,
        200
    );
    assert_eq!(
        http_async(&addr, "DELETE", "/session/1", Vec::new())
            .await
            .0,
        404
    );
    assert_eq!(server_stats(&addr).await["sessions"], serde_json::json!([]));
    pc.close().await;

    // ...or by closing the peer connection: the session ends once its channels closed.
    let (pc, _ch) = chat_client(&addr, 2).await;
    assert_eq!(server_stats(&addr).await["sessions"][0]["id"], 2);
    pc.close().await;
    let t = Instant::now();
    while server_stats(&addr).await["sessions"] != serde_json::json!([]) {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the session outlived its channels"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(server.terminate().success());
}

/// Reads a saved IVF file: (header, frames, first frame is a key frame).
fn read_ivf(path: &std::path::Path) -> (oxrtc::rtp::container::ivf::IvfHeader, usize, bool) {
    let data = std::fs::read(path).unwrap();
    let mut r = oxrtc::rtp::container::ivf::IvfReader::new(&data[..]).unwrap();
    let header = *r.header();
    let mut n = 0;
    let mut first_key = false;
    let mut last_ts = 0;
    while let Some(f) = r.next_frame().unwrap() {
        if n == 0 {
            first_key = oxrtc_cli::media::vp8_is_keyframe(&f.data);
        }
        assert!(f.timestamp >= last_ts, "timestamps go forward");
        last_ts = f.timestamp;
        n += 1;
    }
    (header, n, first_key)
}

/// Reads a saved Ogg Opus file: (channels, packets of 20 ms).
fn read_ogg(path: &std::path::Path) -> (u8, usize) {
    let data = std::fs::read(path).unwrap();
    let mut r = oxrtc::rtp::container::ogg::OggOpusReader::new(&data[..]).unwrap();
    let channels = r.head().channels;
    let mut n = 0;
    while let Some(p) = r.next_packet().unwrap() {
        assert_eq!(
            oxrtc::rtp::container::ogg::opus_packet_samples(&p),
            Some(960)
        );
        n += 1;
    }
    (channels, n)
}

#[test]
fn media_echo_between_two_oxrtc_processes_saved_to_disk() {
    let dir = std::env::temp_dir().join(format!("oxrtc-cli-save-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (a_dir, o_dir) = (dir.join("answer"), dir.join("offer"));
    let mut answer = Proc::spawn(&[
        "answer",
        "--listen",
        "127.0.0.1:0",
        "--save",
        a_dir.to_str().unwrap(),
    ]);
    let addr = answer.listening();
    let (status, v) = offer(&[
        "--url",
        &format!("http://{addr}/offer"),
        "--scenario",
        "media-echo",
        "--seconds",
        "2",
        "--save",
        o_dir.to_str().unwrap(),
    ]);
    assert!(status.success(), "{v}");
    assert_eq!(v["scenario"], "media-echo");
    let video = v["video_frames"].as_u64().unwrap();
    let audio = v["audio_frames"].as_u64().unwrap();
    // 2 s of 30 fps video and 50 packets/s audio, forwarded as they are.
    assert!(video >= 45 && audio >= 80, "{v}");
    assert!(v["video_keyframes"].as_u64().unwrap() >= 1, "{v}");
    assert_eq!(v["messages"].as_u64(), Some(video + audio));
    assert!(v["bytes"].as_u64().unwrap() > 20_000, "{v}");
    assert!(v["rtp_packets"].as_u64().unwrap() >= video + audio, "{v}");
    assert!(v["setup_ms"].as_f64().unwrap() > 0.0);

    // The offerer's files are finished when it exits.
    let (h, frames, key) = read_ivf(&o_dir.join("offer-video-0.ivf"));
    assert_eq!((&h.fourcc, h.width, h.height), (b"VP80", 320, 240));
    assert_eq!(h.timebase_denominator, 90_000);
    assert!(key, "a saved file starts with a key frame");
    // The count in the JSON line is taken when the scenario ends; frames still arriving until
    // the connection closes are saved too (a few, at 30 and 50 frames/s).
    assert!(
        frames as u64 >= video - 30 && frames as u64 <= video + 10,
        "{frames} of {video}"
    );
    let (channels, packets) = read_ogg(&o_dir.join("offer-audio-1.ogg"));
    assert_eq!(channels, 2);
    assert!(
        packets as u64 >= audio && packets as u64 <= audio + 15,
        "{packets} of {audio}"
    );

    // The answerer's, once its session ended (the offerer closed; media stopped).
    let end = Instant::now() + Duration::from_secs(15);
    let (v_path, a_path) = (
        a_dir.join("session-1-video-0.ivf"),
        a_dir.join("session-1-audio-1.ogg"),
    );
    loop {
        // The files are complete once they stop growing.
        let size = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        let before = (size(&v_path), size(&a_path));
        std::thread::sleep(Duration::from_millis(1500));
        if before.0 > 0 && before == (size(&v_path), size(&a_path)) {
            break;
        }
        assert!(Instant::now() < end, "the answerer never saved the tracks");
    }
    let (h, frames, key) = read_ivf(&v_path);
    assert_eq!((h.width, h.height), (320, 240));
    assert!(key && frames >= 45, "{frames}");
    let (_, packets) = read_ogg(&a_path);
    assert!(packets >= 80, "{packets}");
    assert!(answer.terminate().success());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_lives_while_media_flows() {
    use oxrtc::runtime::LocalTrack;
    use oxrtc::{MediaKind, TransceiverInit};
    use oxrtc_cli::media;

    let mut server = Proc::spawn(&["serve", "--listen", "127.0.0.1:0"]);
    let addr = server.listening();
    // The page's part: a chat channel and the camera (the VP8 clip), sendrecv.
    let (pc, mut events) = PeerConnection::new(config()).await.unwrap();
    let mut ch = pc
        .create_data_channel("chat", DataChannelInit::default())
        .await
        .unwrap();
    let camera = LocalTrack::new(MediaKind::Video, "camera");
    let t = pc
        .add_transceiver_with_track(&camera, TransceiverInit::default())
        .await
        .unwrap();
    pc.set_local_description(None).await.unwrap();
    while pc.ice_gathering_state().await != IceGatheringState::Complete {
        events.recv().await.unwrap();
    }
    tokio::spawn(async move { while events.recv().await.is_some() {} });
    let offer = pc.local_description().await.unwrap();
    let (code, _, answer) = http_async(&addr, "POST", "/offer", offer.sdp.into_bytes()).await;
    assert_eq!(code, 201);
    let answer = String::from_utf8(answer).unwrap();
    assert!(
        answer.contains("m=video") && answer.contains("a=sendrecv"),
        "{answer}"
    );
    pc.set_remote_description(RtcSessionDescription::answer(answer))
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), ch.wait_open())
        .await
        .unwrap()
        .unwrap();
    let back = media::Counter::start(t.receiver_track().await.unwrap());
    let sending = media::send_video_clip(camera, media::clips().unwrap());

    // The chat ends; the camera goes on: the session stays, the video keeps coming back.
    tokio::time::sleep(Duration::from_secs(1)).await;
    ch.close().await;
    let at_close = back.get().frames;
    assert!(at_close >= 10, "{at_close} frames reflected in 1 s");
    tokio::time::sleep(Duration::from_secs(4)).await;
    let v = server_stats(&addr).await;
    assert_eq!(v["sessions"][0]["id"], 1, "{v}");
    assert_eq!(v["sessions"][0]["reflected"], 1, "{v}");
    let later = back.get();
    assert!(later.frames >= at_close + 90, "{later:?}");
    assert!(later.keyframes >= 4, "{later:?}");
    let server_side = v["sessions"][0]["stats"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["type"] == "outbound-rtp")
        .cloned()
        .unwrap_or_default();
    assert!(
        server_side["packetsSent"].as_u64().unwrap_or(0) > 100,
        "{v}"
    );

    // The camera stops: the session ends soon after.
    drop(sending);
    let t = Instant::now();
    while server_stats(&addr).await["sessions"] != serde_json::json!([]) {
        assert!(
            t.elapsed() < Duration::from_secs(8),
            "the session outlived its media"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    pc.close().await;
    assert!(server.terminate().success());
}
