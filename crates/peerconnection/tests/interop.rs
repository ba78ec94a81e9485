//! Interop with peers no one here wrote, on loopback, through the CLI signaling contract
//! (DESIGN.md, "Signaling used by the CLI"): aiortc and headless Chromium offer to an
//! oxrtc answerer and answer an oxrtc offerer; data channels echo; media is reflected both
//! ways (the peer's camera and microphone by oxrtc, oxrtc's VP8/Opus clips by the peer).
//! Run by
//! `cargo xtask interop` (which installs the interop virtualenv and Chromium); the tests
//! fail when a tool is missing.
#![cfg(feature = "tokio")]
#![allow(clippy::unwrap_used, clippy::print_stdout)]

mod common;
use common::{gathered, loopback_config as config};
use oxrtc::rtp::container::ivf::IvfReader;
use oxrtc::rtp::container::ogg::OggOpusReader;
use oxrtc::runtime::{Event, Events, LocalTrack, PeerConnection, RemoteTrack};
use oxrtc::sdp::Codec;
use oxrtc::{
    DataChannelInit, Direction, MediaKind, Message, RtcSessionDescription, Sample, TransceiverId,
    TransceiverInit,
};
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn root() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    // Canonical, so the virtualenv's python finds its pyvenv.cfg from its own path.
    root.canonicalize().unwrap_or(root)
}

/// The command line of a peer script, checked to exist.
fn peer_command(peer: &str) -> Command {
    let root = root();
    match peer {
        "aiortc" => {
            let py = root.join("target/interop/venv/bin/python");
            assert!(
                py.exists(),
                "aiortc virtualenv missing at {} (run cargo xtask interop)",
                py.display()
            );
            let mut c = Command::new(py);
            c.arg(root.join("interop/aiortc_peer.py"));
            c
        }
        "chromium" => {
            let mut c = Command::new("node");
            c.arg(root.join("interop/chromium_peer.mjs"));
            c
        }
        _ => unreachable!(),
    }
}

/// Kills the child process when the test ends, however it ends.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One HTTP/1.1 exchange on `stream`: (request line, body).
async fn read_request(stream: &mut TcpStream) -> (String, Vec<u8>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "connection closed mid-request");
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).into_owned();
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = buf[header_end..].to_vec();
    while body.len() < len {
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0);
        body.extend_from_slice(&chunk[..n]);
    }
    (head.lines().next().unwrap_or_default().to_owned(), body)
}

/// The answerer of the contract: POST /offer → 201 with the answer; channels echo.
async fn serve_answers(listener: TcpListener) {
    loop {
        let (mut stream, _) = listener.accept().await.unwrap();
        let (line, body) = read_request(&mut stream).await;
        if line.starts_with("GET /health") {
            stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                .await
                .unwrap();
            continue;
        }
        assert!(line.starts_with("POST /offer"), "{line}");
        let offer = String::from_utf8(body).unwrap();
        let (pc, mut events) = PeerConnection::new(config()).await.unwrap();
        pc.set_remote_description(RtcSessionDescription::offer(offer))
            .await
            .unwrap();
        let upstream = reflect_tracks(&pc, &mut events).await;
        pc.set_local_description(None).await.unwrap();
        let answer = gathered(&pc, &mut events, Duration::from_secs(10)).await;
        let resp = format!(
            "HTTP/1.1 201 Created\r\ncontent-type: application/sdp\r\ncontent-length: {}\r\n\r\n{}",
            answer.sdp.len(),
            answer.sdp
        );
        stream.write_all(resp.as_bytes()).await.unwrap();
        tokio::spawn(async move {
            let _pc = pc;
            while let Some(e) = events.recv().await {
                // A key frame request for a reflected track goes to its source.
                if let Event::KeyframeRequest { transceiver, .. } = &e {
                    if let Some(source) = upstream.get(transceiver) {
                        let _ = source.request_keyframe(None);
                    }
                }
                if let Event::DataChannel(mut ch) = e {
                    tokio::spawn(async move {
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
                }
            }
        });
    }
}

/// The answerer's media: every incoming track is sent back on its transceiver (packets
/// forwarded with our SSRC and numbering). Returns the remote tracks by transceiver, to
/// pass key frame requests upstream.
async fn reflect_tracks(
    pc: &PeerConnection,
    events: &mut Events,
) -> HashMap<TransceiverId, RemoteTrack> {
    let mut upstream = HashMap::new();
    while let Some(e) = events.try_recv() {
        let Event::Track(id) = e else { continue };
        let t = pc.transceiver(id).await.unwrap();
        t.set_direction(Direction::SendRecv).await.unwrap();
        let mut incoming = t.receiver_track().await.unwrap();
        upstream.insert(id, incoming.clone());
        let echo = LocalTrack::new(t.kind(), format!("echo-{}", incoming.id()));
        t.sender().replace_track(Some(&echo)).await.unwrap();
        tokio::spawn(async move {
            while let Some(p) = incoming.recv_rtp().await {
                echo.write_rtp(p);
            }
        });
    }
    upstream
}

async fn remote_offers_to_oxrtc(peer: &str, scenario: &str) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/offer", listener.local_addr().unwrap());
    let server = tokio::spawn(serve_answers(listener));
    let mut cmd = peer_command(peer);
    cmd.args([
        "offer",
        "--url",
        &url,
        "--scenario",
        scenario,
        "--timeout",
        "30",
    ]);
    if scenario == "dc-bulk" {
        cmd.args(["--size", &(16 * 1024 * 1024).to_string()]);
    }
    let child = cmd.stdout(Stdio::piped()).spawn().unwrap();
    let mut guard = Guard(child);
    let output = tokio::task::spawn_blocking(move || {
        let mut out = String::new();
        if let Some(mut s) = guard.0.stdout.take() {
            use std::io::Read;
            let _ = s.read_to_string(&mut out);
        }
        let status = guard.0.wait().unwrap();
        (status, out)
    });
    let (status, out) = tokio::time::timeout(Duration::from_secs(120), output)
        .await
        .unwrap()
        .unwrap();
    server.abort();
    println!("{peer} → oxrtc {scenario}: {out}");
    let line = out.lines().last().unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(v["ok"], true, "{out}");
    assert!(status.success());
}

async fn http(addr: &str, request: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf).into_owned();
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|x| x.1)
        .unwrap_or("")
        .to_owned();
    (code, body)
}

/// The offerer's media-echo: VP8 and Opus transceivers fed from the committed clips.
struct MediaEcho {
    video: LocalTrack,
    audio: LocalTrack,
    video_t: oxrtc::runtime::RtpTransceiver,
    audio_t: oxrtc::runtime::RtpTransceiver,
}

impl MediaEcho {
    async fn add(pc: &PeerConnection) -> Self {
        let video = LocalTrack::new(MediaKind::Video, "clip-video");
        let audio = LocalTrack::new(MediaKind::Audio, "clip-audio");
        let init = || TransceiverInit {
            stream_ids: vec!["clip".into()],
            ..TransceiverInit::default()
        };
        let video_t = pc.add_transceiver_with_track(&video, init()).await.unwrap();
        video_t
            .set_codec_preferences(vec![
                Codec::new(0, "VP8", 90000, None),
                Codec::new(0, "rtx", 90000, None),
            ])
            .await
            .unwrap();
        let audio_t = pc.add_transceiver_with_track(&audio, init()).await.unwrap();
        audio_t
            .set_codec_preferences(vec![Codec::new(0, "opus", 48000, Some(2))])
            .await
            .unwrap();
        MediaEcho {
            video,
            audio,
            video_t,
            audio_t,
        }
    }

    /// Sends the clips (looping) and counts the reflected frames that come back:
    /// (video frames, video key frames, audio frames) after `seconds`.
    async fn run(&self, peer: &str, seconds: u64) -> (usize, usize, usize) {
        let root = root().join("interop/assets");
        let ivf = std::fs::read(root.join("video-vp8.ivf")).unwrap();
        let ogg = std::fs::read(root.join("audio-opus.ogg")).unwrap();
        let frames: Vec<Vec<u8>> = {
            let mut r = IvfReader::new(&ivf[..]).unwrap();
            std::iter::from_fn(|| r.next_frame().unwrap())
                .map(|f| f.data)
                .collect()
        };
        let packets: Vec<Vec<u8>> = {
            let mut r = OggOpusReader::new(&ogg[..]).unwrap();
            std::iter::from_fn(|| r.next_packet().unwrap()).collect()
        };
        let v = self.video.clone();
        let vw = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(33));
            let mut asked = std::pin::pin!(v.keyframe_requested());
            for f in frames.iter().cycle() {
                tokio::select! {
                    _ = tick.tick() => {}
                    () = &mut asked => {
                        // The clip has a key frame each second; it comes soon enough.
                        asked.set(v.keyframe_requested());
                        continue;
                    }
                }
                let _ = v.write_sample(Sample::new(f.clone(), Duration::from_millis(33)));
            }
        });
        let a = self.audio.clone();
        let aw = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            for p in packets.iter().cycle() {
                tick.tick().await;
                let _ = a.write_sample(Sample::new(p.clone(), Duration::from_millis(20)));
            }
        });
        let mut back_v = self.video_t.receiver_track().await.unwrap();
        let mut back_a = self.audio_t.receiver_track().await.unwrap();
        let counts = std::sync::Arc::new(std::sync::Mutex::new((0usize, 0usize, 0usize)));
        let c1 = counts.clone();
        let rv = tokio::spawn(async move {
            while let Some(f) = back_v.recv_frame().await {
                let mut c = c1.lock().unwrap();
                c.0 += 1;
                c.1 += usize::from(f.keyframe);
            }
        });
        let c2 = counts.clone();
        let ra = tokio::spawn(async move {
            while back_a.recv_frame().await.is_some() {
                c2.lock().unwrap().2 += 1;
            }
        });
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        for t in [vw, aw, rv, ra] {
            t.abort();
        }
        let c = *counts.lock().unwrap();
        println!(
            "{peer}: reflected video frames {} ({} key frames), audio frames {}",
            c.0, c.1, c.2
        );
        c
    }
}

async fn oxrtc_offers_to_remote(peer: &str, media: bool) {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let addr = format!("127.0.0.1:{port}");
    let mut cmd = peer_command(peer);
    cmd.args(["answer", "--listen", &addr]);
    let _guard = Guard(cmd.stdout(Stdio::null()).spawn().unwrap());
    let mut healthy = false;
    for _ in 0..300 {
        if TcpStream::connect(&addr).await.is_ok()
            && http(
                &addr,
                "GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
            )
            .await
            .0 == 200
        {
            healthy = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(healthy, "{peer} answerer never became healthy");

    let (pc, mut events) = PeerConnection::new(config()).await.unwrap();
    let mut ch = pc
        .create_data_channel("echo", DataChannelInit::default())
        .await
        .unwrap();
    let media = if media {
        Some(MediaEcho::add(&pc).await)
    } else {
        None
    };
    pc.set_local_description(None).await.unwrap();
    let offer = gathered(&pc, &mut events, Duration::from_secs(10)).await;
    let req = format!(
        "POST /offer HTTP/1.1\r\nhost: x\r\ncontent-type: application/sdp\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{}",
        offer.sdp.len(),
        offer.sdp
    );
    let (code, answer) = http(&addr, &req).await;
    assert_eq!(code, 201, "{answer}");
    pc.set_remote_description(RtcSessionDescription::answer(answer))
        .await
        .unwrap();
    tokio::spawn(async move { while events.recv().await.is_some() {} });
    if tokio::time::timeout(Duration::from_secs(20), ch.wait_open())
        .await
        .is_err()
    {
        let stats = pc.stats().await.map(|s| s.to_json()).unwrap_or_default();
        let dtls = pc
            .with_core(|c| {
                format!(
                    "{:?} {:?} {:?}",
                    c.dtls_state(),
                    c.selected_pair(),
                    c.dtls_stats()
                )
            })
            .await
            .unwrap_or_default();
        panic!("{peer}: channel not open; dtls {dtls}; stats {stats}");
    }
    let max = pc.with_core(|c| c.remote_max_message_size()).await.unwrap();
    for size in [1usize, 1024, 16 * 1024, 64 * 1024, 256 * 1024] {
        if size > max {
            continue;
        }
        let data: Vec<u8> = (0..size).map(|i| (i * 31 + size) as u8).collect();
        ch.send(data.clone()).await.unwrap();
        let back = tokio::time::timeout(Duration::from_secs(10), ch.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(back, Message::Binary(data.into()), "{peer}: size {size}");
    }
    ch.send_text("grüße").await.unwrap();
    let back = tokio::time::timeout(Duration::from_secs(10), ch.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back, Message::Text("grüße".into()));
    if let Some(m) = media {
        let (video, keys, audio) = m.run(peer, 6).await;
        let stats = pc.stats().await.map(|s| s.to_json()).unwrap_or_default();
        assert!(
            video >= 60 && keys >= 1 && audio >= 150,
            "{peer}: reflected video {video} ({keys} key), audio {audio}; stats {stats}"
        );
    }
    pc.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop: run by cargo xtask interop"]
async fn interop_aiortc_offers_to_oxrtc_dc_echo() {
    remote_offers_to_oxrtc("aiortc", "dc-echo").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop: run by cargo xtask interop"]
async fn interop_aiortc_offers_to_oxrtc_dc_bulk() {
    remote_offers_to_oxrtc("aiortc", "dc-bulk").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop: run by cargo xtask interop"]
async fn interop_oxrtc_offers_to_aiortc_dc_echo() {
    oxrtc_offers_to_remote("aiortc", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop: run by cargo xtask interop"]
async fn interop_chromium_offers_to_oxrtc_dc_echo() {
    remote_offers_to_oxrtc("chromium", "dc-echo").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop: run by cargo xtask interop"]
async fn interop_oxrtc_offers_to_chromium_dc_echo() {
    oxrtc_offers_to_remote("chromium", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop: run by cargo xtask interop"]
async fn interop_chromium_offers_to_oxrtc_media_echo() {
    remote_offers_to_oxrtc("chromium", "media-echo").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop: run by cargo xtask interop"]
async fn interop_oxrtc_offers_to_chromium_media_echo() {
    oxrtc_offers_to_remote("chromium", true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop: run by cargo xtask interop"]
async fn interop_aiortc_offers_to_oxrtc_media_echo() {
    remote_offers_to_oxrtc("aiortc", "media-echo").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop: run by cargo xtask interop"]
async fn interop_oxrtc_offers_to_aiortc_media_echo() {
    oxrtc_offers_to_remote("aiortc", true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop: run by cargo xtask interop"]
async fn interop_chromium_offers_to_oxrtc_dc_bulk() {
    remote_offers_to_oxrtc("chromium", "dc-bulk").await;
}
