//! End-to-end encryption of media frames with encoded-frame transforms (the counterpart of
//! the browser's `RTCRtpScriptTransform`): two oxrtc peers share a key; the sender's
//! transform seals every frame with AES-128-GCM (ring) before packetization, the
//! receiver's opens it after depacketization. Whatever relays the RTP in between (an SFU)
//! sees the clear VP8 payload header (so it can still tell key frames and frame starts) and
//! ciphertext.
//!
//! Frame layout: `header (10 bytes for a VP8 key frame, 3 otherwise) || ciphertext || tag ||
//! nonce (12)`; the header is authenticated as associated data, the nonce is the sender's
//! SSRC and a frame counter, never reused under one key.
//!
//! `cargo run -p oxrtc --example e2ee_transform [path/to/video.ivf]`
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use oxrtc::rtp::container::ivf::IvfReader;
use oxrtc::{
    Config, Datagram, EncodedFrame, Event, FrameTransform, MediaKind, MediaStreamTrack,
    PeerConnection, Sample,
};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM, NONCE_LEN};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Bytes of a frame left in the clear: the VP8 payload header (RFC 6386 §9.1).
fn clear_len(frame: &EncodedFrame) -> usize {
    let n = if frame.keyframe { 10 } else { 3 };
    n.min(frame.data.len())
}

/// Seals each frame; a counter makes every nonce unique.
struct Encryptor {
    key: LessSafeKey,
    counter: u64,
}

impl FrameTransform for Encryptor {
    fn transform(&mut self, frame: &mut EncodedFrame) -> bool {
        let clear = clear_len(frame);
        let mut nonce = [0u8; NONCE_LEN];
        nonce[..4].copy_from_slice(&frame.ssrc.to_be_bytes());
        nonce[4..].copy_from_slice(&self.counter.to_be_bytes());
        self.counter += 1;
        let (header, body) = frame.data.split_at(clear);
        let header = header.to_vec();
        let mut sealed = body.to_vec();
        let r = self.key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(&header),
            &mut sealed,
        );
        if r.is_err() {
            return false; // never send a frame in the clear
        }
        frame.data = [header, sealed, nonce.to_vec()].concat();
        true
    }
}

/// Opens each frame; a frame that does not authenticate is dropped.
struct Decryptor {
    key: LessSafeKey,
    failures: u64,
}

impl FrameTransform for Decryptor {
    fn transform(&mut self, frame: &mut EncodedFrame) -> bool {
        let clear = clear_len(frame);
        let Some(split) = frame.data.len().checked_sub(NONCE_LEN) else {
            self.failures += 1;
            return false;
        };
        if split < clear {
            self.failures += 1;
            return false;
        }
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&frame.data[split..]);
        let header = frame.data[..clear].to_vec();
        let mut body = frame.data[clear..split].to_vec();
        match self.key.open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(&header),
            &mut body,
        ) {
            Ok(plain) => {
                let n = plain.len();
                body.truncate(n);
                frame.data = [header, body].concat();
                true
            }
            Err(_) => {
                self.failures += 1;
                false
            }
        }
    }
}

fn key(bytes: &[u8; 16]) -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&AES_128_GCM, bytes).unwrap())
}

/// The committed VP8 clip.
pub const CLIP: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../interop/assets/video-vp8.ivf"
);

fn main() {
    let path = std::env::args().nth(1).unwrap_or_else(|| CLIP.into());
    run(&path);
}

/// Sends the IVF file at `path` sealed from one peer to the other and checks what arrives
/// (public so `tests/e2ee_example.rs` runs it too).
pub fn run(path: &str) {
    let file = std::fs::read(path).unwrap();
    let mut ivf = IvfReader::new(&file[..]).unwrap();
    let clip: Vec<Vec<u8>> = std::iter::from_fn(|| ivf.next_frame().unwrap())
        .map(|f| f.data)
        .collect();
    // The shared key: in an application, from a key exchange both ends trust.
    let shared = [0x2bu8; 16];

    let mut now = Instant::now();
    let mut a = PeerConnection::new(Config::default(), now).unwrap();
    let mut b = PeerConnection::new(Config::default(), now).unwrap();
    a.add_local_socket("127.0.0.1:5000".parse().unwrap())
        .unwrap();
    b.add_local_socket("127.0.0.1:6000".parse().unwrap())
        .unwrap();
    let cam = a
        .add_track(MediaStreamTrack::new(MediaKind::Video, "cam"), &["s"])
        .unwrap();
    a.sender(cam)
        .unwrap()
        .set_transform(Some(Box::new(Encryptor {
            key: key(&shared),
            counter: 0,
        })));
    a.set_local_description(None).unwrap();
    b.set_remote_description(a.local_description().unwrap())
        .unwrap();
    let rx = b.transceivers().next().unwrap().id();
    b.receiver(rx)
        .unwrap()
        .set_transform(Some(Box::new(Decryptor {
            key: key(&shared),
            failures: 0,
        })));
    b.set_local_description(None).unwrap();
    a.set_remote_description(b.local_description().unwrap())
        .unwrap();

    let mut pending: VecDeque<Vec<u8>> = clip.iter().cloned().collect();
    let mut received: Vec<EncodedFrame> = Vec::new();
    let mut on_wire_clear = 0usize;
    let mut next_frame = now;
    let end = now + Duration::from_secs(20);
    while now < end && received.len() < clip.len() {
        while let Some(t) = a.poll_transmit() {
            b.handle_receive(now, Datagram::udp(t.destination, t.source, &t.contents));
        }
        while let Some(t) = b.poll_transmit() {
            a.handle_receive(now, Datagram::udp(t.destination, t.source, &t.contents));
        }
        while a.poll_event().is_some() {}
        while let Some(e) = b.poll_event() {
            match e {
                Event::Frame { frame, .. } => received.push(frame),
                // What an SFU would see: the packet payloads.
                Event::RtpPacket { packet, .. }
                    if clip
                        .iter()
                        .any(|f| f.len() > 32 && packet.payload.ends_with(&f[f.len() - 16..])) =>
                {
                    on_wire_clear += 1;
                }
                _ => {}
            }
        }
        if now >= next_frame && a.connection_state() == oxrtc::PeerConnectionState::Connected {
            if let Some(f) = pending.pop_front() {
                a.sender(cam)
                    .unwrap()
                    .write_sample(now, Sample::new(f, Duration::from_millis(33)))
                    .unwrap();
            }
            next_frame = now + Duration::from_millis(33);
        }
        now = [a.poll_timeout(), b.poll_timeout(), Some(next_frame)]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(now + Duration::from_millis(10))
            .max(now);
        a.handle_timeout(now);
        b.handle_timeout(now);
    }
    let intact = received
        .iter()
        .zip(&clip)
        .filter(|(got, want)| got.data == **want)
        .count();
    println!(
        "{} of {} frames sent sealed with AES-128-GCM and opened intact; {} packets carried clear media",
        intact,
        clip.len(),
        on_wire_clear
    );
    assert_eq!(intact, clip.len());
    assert_eq!(on_wire_clear, 0);

    // A receiver with another key authenticates nothing.
    let mut wrong = Decryptor {
        key: key(&[0x55; 16]),
        failures: 0,
    };
    let mut sealed = EncodedFrame {
        data: clip[0].clone(),
        keyframe: true,
        ..EncodedFrame::default()
    };
    Encryptor {
        key: key(&shared),
        counter: 0,
    }
    .transform(&mut sealed);
    assert!(!wrong.transform(&mut sealed));
    println!("with the wrong key: {} frame refused", wrong.failures);
}
