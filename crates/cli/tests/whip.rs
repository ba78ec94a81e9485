//! WHIP ingest and WHEP egress of `oxrtc serve` on loopback: an oxrtc peer publishes the
//! embedded VP8 and Opus clips over WHIP, two oxrtc peers play them over WHEP, and the
//! refusals (415, 400 with the SDP line, 401, 405, 409, DELETE then 404). The server
//! process is killed by a guard however the test ends.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use oxrtc::runtime::{LocalTrack, PeerConnection};
use oxrtc::sdp::Codec;
use oxrtc::{
    Config, Direction, IceGatheringState, InterfaceFilter, MediaKind, RtcSessionDescription,
    TransceiverInit,
};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TOKEN: &str = "s3cret-token";

/// `oxrtc serve`, killed and reaped when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_oxrtc"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start oxrtc serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("http://"))
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .trim_end_matches('/')
            .to_owned();
        Server { child, addr }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request: (status, head, body as text).
fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String, String) {
    let (code, head, body) = common::http_with(addr, method, path, headers, body);
    (code, head, String::from_utf8_lossy(&body).into_owned())
}

async fn http_async(
    addr: &str,
    method: &'static str,
    path: &str,
    headers: &[(&'static str, &'static str)],
    body: String,
) -> (u16, String, String) {
    let (a, p, h) = (addr.to_owned(), path.to_owned(), headers.to_vec());
    tokio::task::spawn_blocking(move || http(&a, method, &p, &h, body.as_bytes()))
        .await
        .unwrap()
}

const SDP: (&str, &str) = ("Content-Type", "application/sdp");
const AUTH: (&str, &str) = ("Authorization", "Bearer s3cret-token");

fn config() -> Config {
    Config {
        interface_filter: InterfaceFilter::loopback_only(),
        ..Config::default()
    }
}

/// A peer with its offer made and every candidate gathered.
async fn offerer(media: &[(MediaKind, Direction, Option<LocalTrack>)]) -> (PeerConnection, String) {
    let (pc, mut events) = PeerConnection::new(config()).await.unwrap();
    for (kind, direction, track) in media {
        let init = TransceiverInit {
            direction: *direction,
            stream_ids: vec!["clip".into()],
            ..TransceiverInit::default()
        };
        let t = match track {
            Some(track) => pc.add_transceiver_with_track(track, init).await.unwrap(),
            None => pc.add_transceiver(*kind, init).await.unwrap(),
        };
        if track.is_some() {
            let prefs = match kind {
                MediaKind::Video => vec![Codec::new(0, "VP8", 90000, None)],
                MediaKind::Audio => vec![Codec::new(0, "opus", 48000, Some(2))],
            };
            t.set_codec_preferences(prefs).await.unwrap();
        }
    }
    pc.set_local_description(None).await.unwrap();
    while pc.ice_gathering_state().await != IceGatheringState::Complete {
        events.recv().await.unwrap();
    }
    tokio::spawn(async move { while events.recv().await.is_some() {} });
    let sdp = pc.local_description().await.unwrap().sdp;
    (pc, sdp)
}

/// What a viewer received per codec name: (frames, key frames, first key frame's size).
type Got = Arc<Mutex<HashMap<String, (u64, u64, Option<(u16, u16)>)>>>;

struct Viewer {
    pc: PeerConnection,
    location: String,
    got: Got,
}

async fn viewer(addr: &str) -> Viewer {
    let (pc, offer) = offerer(&[
        (MediaKind::Video, Direction::RecvOnly, None),
        (MediaKind::Audio, Direction::RecvOnly, None),
    ])
    .await;
    let (code, head, answer) = http_async(addr, "POST", "/whep", &[SDP, AUTH], offer).await;
    assert_eq!(code, 201, "{head}\n{answer}");
    let location = header(&head, "location").unwrap();
    assert!(location.starts_with("/whep/session/"), "{head}");
    assert_eq!(answer.matches("a=sendonly").count(), 2, "{answer}");
    pc.set_remote_description(RtcSessionDescription::answer(answer))
        .await
        .unwrap();
    let got: Got = Arc::default();
    for t in pc.transceivers().await {
        let codecs: Vec<Codec> = {
            let id = t.id();
            pc.with_core(move |c| {
                c.transceiver(id)
                    .map(|t| t.negotiated_codecs().to_vec())
                    .unwrap_or_default()
            })
            .await
            .unwrap()
        };
        let mut track = t.receiver_track().await.unwrap();
        let got = Arc::clone(&got);
        tokio::spawn(async move {
            while let Some(f) = track.recv_frame().await {
                let name = codecs
                    .iter()
                    .find(|c| c.payload_type == f.payload_type)
                    .map_or("?".to_owned(), |c| c.encoding_name.to_ascii_lowercase());
                let mut g = got.lock().unwrap();
                let e = g.entry(name).or_default();
                e.0 += 1;
                if f.keyframe {
                    e.1 += 1;
                    e.2 = e.2.or(oxrtc_cli::media::vp8_dimensions(&f.data));
                }
            }
        });
    }
    Viewer { pc, location, got }
}

/// Waits until every viewer got 30 VP8 frames (a key frame with its size among them) and
/// 50 Opus frames; fails after `limit`.
async fn wait_for_media(viewers: &[&Viewer], limit: Duration) {
    let t0 = Instant::now();
    let enough = |g: &Got| {
        let g = g.lock().unwrap();
        let v = g.get("vp8").copied().unwrap_or_default();
        let o = g.get("opus").copied().unwrap_or_default();
        v.0 >= 30 && v.1 >= 1 && v.2.is_some() && o.0 >= 50
    };
    while !viewers.iter().all(|v| enough(&v.got)) {
        let got: Vec<_> = viewers
            .iter()
            .map(|v| v.got.lock().unwrap().clone())
            .collect();
        assert!(t0.elapsed() < limit, "viewers got {got:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn header(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_owned())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whip_publisher_to_two_whep_viewers() {
    let server = Server::start(&["--whip-token", TOKEN]);
    let addr = server.addr.clone();

    // Nothing published yet.
    let (code, _, body) = http_async(&addr, "POST", "/whep", &[SDP, AUTH], "v=0\r\n".into()).await;
    assert_eq!(code, 409, "{body}");
    assert!(body.contains("nothing is being published"), "{body}");

    // The publisher: the clips, sendonly.
    let video = LocalTrack::new(MediaKind::Video, "clip-video");
    let audio = LocalTrack::new(MediaKind::Audio, "clip-audio");
    let (publisher, offer) = offerer(&[
        (MediaKind::Video, Direction::SendOnly, Some(video.clone())),
        (MediaKind::Audio, Direction::SendOnly, Some(audio.clone())),
    ])
    .await;
    let (code, head, body) = http_async(&addr, "POST", "/whip", &[SDP], offer.clone()).await;
    assert_eq!(code, 401, "{body}");
    assert_eq!(header(&head, "www-authenticate").as_deref(), Some("Bearer"));
    let wrong = ("Authorization", "Bearer s3cret-tokeX");
    let (code, _, _) = http_async(&addr, "POST", "/whip", &[SDP, wrong], offer.clone()).await;
    assert_eq!(code, 401);
    let (code, head, answer) = http_async(&addr, "POST", "/whip", &[SDP, AUTH], offer).await;
    assert_eq!(code, 201, "{head}\n{answer}");
    assert_eq!(
        header(&head, "content-type").as_deref(),
        Some("application/sdp")
    );
    let whip_session = header(&head, "location").unwrap();
    assert_eq!(whip_session, "/whip/session/1");
    assert_eq!(answer.matches("a=recvonly").count(), 2, "{answer}");
    publisher
        .set_remote_description(RtcSessionDescription::answer(answer))
        .await
        .unwrap();
    let clips = oxrtc_cli::media::clips().unwrap();
    let _v = oxrtc_cli::media::send_video_clip(video, clips);
    let _a = oxrtc_cli::media::send_audio_clip(audio, clips);

    // A second publisher is refused while the first is live.
    let (other, offer2) = offerer(&[(
        MediaKind::Audio,
        Direction::SendOnly,
        Some(LocalTrack::new(MediaKind::Audio, "x")),
    )])
    .await;
    let (code, _, body) = http_async(&addr, "POST", "/whip", &[SDP, AUTH], offer2).await;
    assert_eq!(code, 409, "{body}");
    assert!(body.contains("/whip/session/1"), "{body}");
    other.close().await;

    // Trickle is not supported: 405 (RFC 9725 §4.3.1).
    let frag = ("Content-Type", "application/trickle-ice-sdpfrag");
    let (code, head, _) = http_async(
        &addr,
        "PATCH",
        &whip_session,
        &[frag, AUTH],
        "a=x\r\n".into(),
    )
    .await;
    assert_eq!(code, 405);
    assert!(header(&head, "allow").unwrap().contains("DELETE"));

    // Two viewers at once.
    let a = viewer(&addr).await;
    let b = viewer(&addr).await;
    assert_ne!(a.location, b.location);
    wait_for_media(&[&a, &b], Duration::from_secs(20)).await;
    for v in [&a, &b] {
        let g = v.got.lock().unwrap();
        // The key frames are the clip's, whole: 320x240.
        assert_eq!(g["vp8"].2, Some((320, 240)), "{g:?}");
        assert_eq!(g.len(), 2, "only VP8 and Opus arrive: {g:?}");
    }

    // A viewer leaves; the other keeps playing.
    let (code, _, _) = http_async(&addr, "DELETE", &a.location, &[AUTH], String::new()).await;
    assert_eq!(code, 200);
    let (code, _, _) = http_async(&addr, "DELETE", &a.location, &[AUTH], String::new()).await;
    assert_eq!(code, 404);
    let before = b.got.lock().unwrap()["vp8"].0;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(b.got.lock().unwrap()["vp8"].0 > before + 5);

    // The publisher stops: its viewers end, nothing more to play.
    let (code, _, _) = http_async(&addr, "DELETE", &whip_session, &[], String::new()).await;
    assert_eq!(code, 401, "DELETE needs the token too");
    let (code, _, _) = http_async(&addr, "DELETE", &whip_session, &[AUTH], String::new()).await;
    assert_eq!(code, 200);
    let (code, _, _) = http_async(&addr, "DELETE", &whip_session, &[AUTH], String::new()).await;
    assert_eq!(code, 404);
    let (code, _, _) = http_async(&addr, "DELETE", &b.location, &[AUTH], String::new()).await;
    assert_eq!(code, 404, "the viewer ended with the publisher");
    let (code, _, body) = http_async(&addr, "POST", "/whep", &[SDP, AUTH], "v=0\r\n".into()).await;
    assert_eq!(code, 409, "{body}");
    for pc in [publisher, a.pc, b.pc] {
        pc.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whip_refusals() {
    let server = Server::start(&[]);
    let addr = server.addr.clone();

    // CORS preflight, as a browser's WHIP client sends it.
    let (code, head, _) = http_async(
        &addr,
        "OPTIONS",
        "/whip",
        &[
            ("Origin", "http://example.org"),
            ("Access-Control-Request-Method", "POST"),
        ],
        String::new(),
    )
    .await;
    assert_eq!(code, 204);
    assert_eq!(
        header(&head, "access-control-allow-origin").as_deref(),
        Some("*")
    );
    assert!(header(&head, "access-control-allow-methods")
        .unwrap()
        .contains("POST"));
    assert!(header(&head, "access-control-allow-headers")
        .unwrap()
        .contains("Authorization"));
    assert!(header(&head, "access-control-expose-headers")
        .unwrap()
        .contains("Location"));

    let text = ("Content-Type", "text/plain");
    let (code, _, body) = http_async(&addr, "POST", "/whip", &[text], "v=0\r\n".into()).await;
    assert_eq!(code, 415, "{body}");
    assert!(body.contains("application/sdp"), "{body}");

    let bad =
        "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video nine UDP/TLS/RTP/SAVPF 96\r\n";
    let (code, _, body) = http_async(&addr, "POST", "/whip", &[SDP], bad.into()).await;
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("line 5"), "{body}");
    assert!(body.contains("m=video nine"), "{body}");

    // A recvonly offer is not a publication.
    let (pc, offer) = offerer(&[(MediaKind::Video, Direction::RecvOnly, None)]).await;
    let (code, _, body) = http_async(&addr, "POST", "/whip", &[SDP], offer).await;
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("sends no audio or video"), "{body}");
    pc.close().await;
    // ...and left nothing behind.
    let (code, _, body) = http_async(&addr, "POST", "/whep", &[SDP], "v=0\r\n".into()).await;
    assert_eq!(code, 409, "{body}");

    let (code, _, _) = http_async(&addr, "DELETE", "/whip/session/7", &[], String::new()).await;
    assert_eq!(code, 404);
    let (code, head, _) = http_async(&addr, "GET", "/whip", &[], String::new()).await;
    assert_eq!(code, 405);
    assert!(header(&head, "allow").unwrap().contains("POST"));
    let (code, _, _) = http_async(&addr, "DELETE", "/whip/session/x", &[], String::new()).await;
    assert_eq!(code, 404);
}

/// `node whip_publish.mjs`: killed and reaped when dropped (the script kills its Chromium
/// when its stdin closes).
struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        drop(self.0.stdin.take());
        let end = Instant::now() + Duration::from_secs(10);
        while self.0.try_wait().ok().flatten().is_none() && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Headless Chromium publishes its fake camera and microphone over WHIP; two oxrtc peers
/// play them over WHEP. Fails if Chromium or node is missing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop: run by cargo xtask interop"]
async fn interop_chromium_whip_publish_oxrtc_whep_view() {
    let server = Server::start(&["--whip-token", TOKEN]);
    let addr = server.addr.clone();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/whip_publish.mjs");
    let mut node = Node(
        Command::new("node")
            .arg(script)
            .arg(format!("http://{addr}/"))
            .arg(TOKEN)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node must be installed (cargo xtask interop installs it)"),
    );
    let stdout = node.0.stdout.take().unwrap();
    let (tx, mut lines) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines() {
            let Ok(l) = l else { break };
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    let first = tokio::time::timeout(Duration::from_secs(60), lines.recv())
        .await
        .expect("Chromium did not publish within 60 s")
        .expect("the publishing script ended without a word");
    let v: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert_eq!(v["published"], "/whip/session/1", "{v}");

    let a = viewer(&addr).await;
    let b = viewer(&addr).await;
    wait_for_media(&[&a, &b], Duration::from_secs(30)).await;
    let (seen, _, size) = a.got.lock().unwrap()["vp8"];
    let size = size.unwrap();
    println!("viewers got {:?}", a.got.lock().unwrap());

    // Chromium hangs up with its own DELETE; its viewers end with it.
    drop(node.0.stdin.take());
    let last = tokio::time::timeout(Duration::from_secs(30), lines.recv())
        .await
        .expect("the publishing script did not finish")
        .expect("the publishing script ended without a word");
    let v: serde_json::Value = serde_json::from_str(&last).unwrap();
    println!("{v}");
    let done = &v["done"];
    assert_eq!(done["deleteStatus"], 200, "{v}");
    // Every frame a viewer assembled was one Chromium encoded.
    assert!(done["framesEncoded"].as_u64().unwrap_or(0) >= seen, "{v}");
    assert_eq!(
        (done["width"].as_u64(), done["height"].as_u64()),
        (Some(u64::from(size.0)), Some(u64::from(size.1))),
        "the viewers' key frames have Chromium's size: {v}"
    );
    let (code, _, _) = http_async(&addr, "DELETE", &a.location, &[AUTH], String::new()).await;
    assert_eq!(code, 404, "the viewer ended with the publisher");
    drop(node);
    for pc in [a.pc, b.pc] {
        pc.close().await;
    }
}
