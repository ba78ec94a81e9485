//! Media of the commands: the embedded clips, sending them, reflecting incoming tracks,
//! counting and saving what comes back.
//!
//! - `answer` / `serve`: [`reflect_all`] runs between applying the offer and creating the
//!   answer: every transceiver is answered `sendrecv` and what it receives is forwarded
//!   back on its own sender (RTP packets rewritten to our SSRC and numbering); key frame
//!   requests from the peer go upstream with [`Reflection::request_keyframe`].
//! - `offer --scenario media-echo`: [`OfferMedia`] adds one VP8 video and one Opus audio
//!   transceiver (sendrecv), sends the clips looped in real time and counts the reflected
//!   frames.
//! - `demo`: [`DemoMedia`] sends the clips from one peer to the other and tells when the
//!   first packet arrived.
//! - `--save DIR`: [`save_tracks`] writes received VP8 to IVF and Opus to Ogg, like pion's
//!   save-to-disk example.

use bytes::Bytes;
use oxrtc::rtp::container::ivf::{IvfHeader, IvfReader, IvfWriter};
use oxrtc::rtp::container::ogg::{OggOpusReader, OggOpusWriter, OpusHead};
use oxrtc::runtime::{LocalTrack, PeerConnection, RemoteTrack, RtpTransceiver};
use oxrtc::sdp::Codec;
use oxrtc::{Direction, MediaKind, Sample, TransceiverId, TransceiverInit};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// The video clip: VP8 in IVF, 320x240, 30 fps, 5 s, a key frame every second (made by
/// `assets/make-assets.sh` with Debian's ffmpeg).
pub const CLIP_VP8_IVF: &[u8] = include_bytes!("../../assets/video-vp8.ivf");
/// The audio clip: Opus in Ogg, 48 kHz stereo, 20 ms frames, 5 s of a beeping 440 Hz tone.
pub const CLIP_OPUS_OGG: &[u8] = include_bytes!("../../assets/audio-opus.ogg");

/// Whether the peer connection runtime can send and receive media.
pub const SUPPORTED: bool = true;

/// One video frame of the clip.
#[derive(Debug, Clone)]
pub struct ClipFrame {
    /// The VP8 frame.
    pub data: Bytes,
    /// Whether it is a key frame (RFC 6386 §9.1).
    pub keyframe: bool,
}

/// The clips, parsed.
#[derive(Debug)]
pub struct Clips {
    /// VP8 frames at 30 fps.
    pub video: Vec<ClipFrame>,
    /// Opus packets of 20 ms.
    pub audio: Vec<Bytes>,
}

/// Duration of a clip video frame (30 fps).
pub const VIDEO_FRAME: Duration = Duration::from_nanos(1_000_000_000 / 30);
/// Duration of a clip audio packet.
pub const AUDIO_FRAME: Duration = Duration::from_millis(20);

/// Whether `frame` is a VP8 key frame (RFC 6386 §9.1: P bit clear, then the start code).
pub fn vp8_is_keyframe(frame: &[u8]) -> bool {
    frame.first().is_some_and(|b| b & 1 == 0) && frame.get(3..6) == Some(&[0x9d, 0x01, 0x2a][..])
}

/// Width and height of a VP8 key frame (RFC 6386 §9.1: 14 bits each, after the start
/// code).
pub fn vp8_dimensions(frame: &[u8]) -> Option<(u16, u16)> {
    if !vp8_is_keyframe(frame) {
        return None;
    }
    let w = u16::from_le_bytes([*frame.get(6)?, *frame.get(7)?]) & 0x3fff;
    let h = u16::from_le_bytes([*frame.get(8)?, *frame.get(9)?]) & 0x3fff;
    Some((w, h))
}

fn parse_clips() -> Result<Clips, String> {
    let mut ivf =
        IvfReader::new(CLIP_VP8_IVF).map_err(|e| format!("the embedded VP8 clip: {e}"))?;
    let mut video = Vec::new();
    while let Some(f) = ivf
        .next_frame()
        .map_err(|e| format!("the embedded VP8 clip: {e}"))?
    {
        video.push(ClipFrame {
            keyframe: vp8_is_keyframe(&f.data),
            data: Bytes::from(f.data),
        });
    }
    let mut ogg =
        OggOpusReader::new(CLIP_OPUS_OGG).map_err(|e| format!("the embedded Opus clip: {e}"))?;
    let mut audio = Vec::new();
    while let Some(p) = ogg
        .next_packet()
        .map_err(|e| format!("the embedded Opus clip: {e}"))?
    {
        audio.push(Bytes::from(p));
    }
    if video.is_empty() || audio.is_empty() || !video.first().is_some_and(|f| f.keyframe) {
        return Err("the embedded clips are empty or do not start with a key frame".into());
    }
    Ok(Clips { video, audio })
}

/// The embedded clips, parsed once.
///
/// # Errors
/// When the embedded files do not parse (a broken build).
pub fn clips() -> Result<&'static Clips, String> {
    static CLIPS: OnceLock<Result<Clips, String>> = OnceLock::new();
    CLIPS
        .get_or_init(parse_clips)
        .as_ref()
        .map_err(Clone::clone)
}

/// A task aborted when dropped.
#[derive(Debug)]
pub struct Task(JoinHandle<()>);

impl Task {
    /// Runs `f` until it ends or the task is dropped.
    pub fn spawn(f: impl std::future::Future<Output = ()> + Send + 'static) -> Task {
        Task(tokio::spawn(f))
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Sends the video clip on `track`, looped, one frame every 1/30 s; a key frame request
/// from the peer skips to the clip's next key frame at once.
pub fn send_video_clip(track: LocalTrack, clips: &'static Clips) -> Task {
    Task(tokio::spawn(async move {
        let frames = &clips.video;
        let mut tick = tokio::time::interval(VIDEO_FRAME);
        let mut asked = std::pin::pin!(track.keyframe_requested());
        let mut i = 0usize;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = &mut asked => {
                    asked.set(track.keyframe_requested());
                    // The next key frame of the loop (the first frame is one).
                    i = (i..frames.len()).find(|&k| frames.get(k).is_some_and(|f| f.keyframe)).unwrap_or(0);
                    continue;
                }
            }
            let Some(f) = frames.get(i) else {
                i = 0;
                continue;
            };
            if track
                .write_sample(Sample::new(f.data.clone(), VIDEO_FRAME))
                .is_err()
            {
                return;
            }
            i = (i + 1) % frames.len();
        }
    }))
}

/// Sends the audio clip on `track`, looped, one 20 ms packet every 20 ms.
pub fn send_audio_clip(track: LocalTrack, clips: &'static Clips) -> Task {
    Task(tokio::spawn(async move {
        let mut tick = tokio::time::interval(AUDIO_FRAME);
        for p in clips.audio.iter().cycle() {
            tick.tick().await;
            if track
                .write_sample(Sample::new(p.clone(), AUDIO_FRAME))
                .is_err()
            {
                return;
            }
        }
    }))
}

/// When media last arrived, for idle detection.
#[derive(Debug)]
pub struct Activity {
    base: Instant,
    /// Microseconds from `base` to the last packet, plus one (0: never).
    last: AtomicU64,
}

impl Default for Activity {
    fn default() -> Self {
        Activity {
            base: Instant::now(),
            last: AtomicU64::new(0),
        }
    }
}

impl Activity {
    /// A packet arrived now.
    pub fn touch(&self) {
        let us = u64::try_from(self.base.elapsed().as_micros()).unwrap_or(u64::MAX - 1);
        self.last.store(us + 1, Ordering::Relaxed);
    }

    /// How long ago the last packet arrived; `None` if none did.
    pub fn idle_for(&self) -> Option<Duration> {
        match self.last.load(Ordering::Relaxed) {
            0 => None,
            n => Some(
                self.base
                    .elapsed()
                    .saturating_sub(Duration::from_micros(n - 1)),
            ),
        }
    }
}

/// The answerer's reflected tracks of one session.
#[derive(Debug, Default)]
pub struct Reflection {
    upstream: Mutex<HashMap<TransceiverId, RemoteTrack>>,
    /// When a reflected packet last arrived.
    pub activity: Arc<Activity>,
    tasks: Mutex<Vec<Task>>,
}

impl Reflection {
    /// Passes a key frame request from the peer for the reflected track of `transceiver`
    /// to its source (the same peer's incoming stream).
    pub fn request_keyframe(&self, transceiver: TransceiverId) {
        let guard = self
            .upstream
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(t) = guard.get(&transceiver) {
            let _ = t.request_keyframe(None);
        }
    }

    /// Number of reflected tracks.
    pub fn tracks(&self) -> usize {
        self.upstream
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }

    /// Stops forwarding.
    pub fn stop(&self) {
        self.tasks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }
}

/// Answers every live transceiver of `pc` (after the offer was applied, before the
/// answer is created) `sendrecv` and forwards what it receives back on its sender.
/// Returns the number of tracks reflected.
///
/// # Errors
/// The runtime refused a call (the connection closed).
pub async fn reflect_all(
    session: u64,
    pc: &PeerConnection,
    reflection: &Arc<Reflection>,
) -> Result<usize, oxrtc::Error> {
    let live: Vec<TransceiverId> = pc
        .with_core(|c| {
            c.transceivers()
                .filter(|t| !t.stopped() && !t.stopping())
                .map(|t| t.id())
                .collect()
        })
        .await?;
    let mut n = 0;
    for id in live {
        let Some(t) = pc.transceiver(id).await else {
            continue;
        };
        t.set_direction(Direction::SendRecv).await?;
        let mut incoming = t.receiver_track().await?;
        let kind = t.kind();
        let echo = LocalTrack::new(kind, format!("echo-{}", kind_name(kind)));
        t.sender().replace_track(Some(&echo)).await?;
        reflection
            .upstream
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(id, incoming.clone());
        let activity = Arc::clone(&reflection.activity);
        let task = Task(tokio::spawn(async move {
            let mut packets = 0u64;
            while let Some(p) = incoming.recv_rtp().await {
                activity.touch();
                echo.write_rtp(p);
                packets += 1;
            }
            tracing::info!(
                session,
                ?id,
                packets,
                lost = incoming.lost(),
                "reflected track ended"
            );
        }));
        reflection
            .tasks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(task);
        tracing::info!(session, ?id, kind = kind_name(kind), "reflecting the track");
        n += 1;
    }
    Ok(n)
}

/// `"audio"` or `"video"`.
pub fn kind_name(kind: MediaKind) -> &'static str {
    match kind {
        MediaKind::Audio => "audio",
        MediaKind::Video => "video",
    }
}

// ------------------------------------------------------------------------------ counting

/// Frames received on one track.
#[derive(Debug, Clone, Default)]
pub struct FrameCount {
    /// Frames assembled.
    pub frames: u64,
    /// Key frames among them.
    pub keyframes: u64,
    /// Their payload bytes.
    pub bytes: u64,
    /// When the first frame arrived.
    pub first: Option<Instant>,
}

/// Counts the frames of a remote track in a task.
#[derive(Debug)]
pub struct Counter {
    count: Arc<Mutex<FrameCount>>,
    _task: Task,
}

impl Counter {
    /// Starts counting `track`'s frames.
    pub fn start(mut track: RemoteTrack) -> Counter {
        let count = Arc::new(Mutex::new(FrameCount::default()));
        let c = Arc::clone(&count);
        let task = Task(tokio::spawn(async move {
            while let Some(f) = track.recv_frame().await {
                let mut c = c.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                c.frames += 1;
                c.keyframes += u64::from(f.keyframe);
                c.bytes += f.data.len() as u64;
                c.first.get_or_insert_with(Instant::now);
            }
        }));
        Counter { count, _task: task }
    }

    /// The count so far.
    pub fn get(&self) -> FrameCount {
        self.count
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// Counts the RTP packets of a remote track in a task, noting the first one's arrival.
#[derive(Debug)]
pub struct PacketWatch {
    first: Arc<OnceLock<Instant>>,
    packets: Arc<AtomicU64>,
    _task: Task,
}

impl PacketWatch {
    /// Starts watching `track`.
    pub fn start(mut track: RemoteTrack) -> PacketWatch {
        let first = Arc::new(OnceLock::new());
        let packets = Arc::new(AtomicU64::new(0));
        let (f, n) = (Arc::clone(&first), Arc::clone(&packets));
        let task = Task(tokio::spawn(async move {
            while track.recv_rtp().await.is_some() {
                let _ = f.set(Instant::now());
                n.fetch_add(1, Ordering::Relaxed);
            }
        }));
        PacketWatch {
            first,
            packets,
            _task: task,
        }
    }

    /// When the first packet arrived.
    pub fn first(&self) -> Option<Instant> {
        self.first.get().copied()
    }

    /// Packets so far.
    pub fn packets(&self) -> u64 {
        self.packets.load(Ordering::Relaxed)
    }
}

// ------------------------------------------------------------------------------ offer

/// The codec preferences of the media-echo video transceiver: VP8 (with RTX).
fn vp8_only() -> Vec<Codec> {
    vec![
        Codec::new(0, "VP8", 90000, None),
        Codec::new(0, "rtx", 90000, None),
    ]
}

/// The codec preferences of the media-echo audio transceiver: Opus.
fn opus_only() -> Vec<Codec> {
    vec![Codec::new(0, "opus", 48000, Some(2))]
}

/// The offerer's media: a VP8 video and an Opus audio transceiver, sendrecv, fed from the
/// clips.
#[derive(Debug)]
pub struct OfferMedia {
    video: LocalTrack,
    audio: LocalTrack,
    video_t: RtpTransceiver,
    audio_t: RtpTransceiver,
}

/// What [`OfferMedia::run`] counted.
#[derive(Debug, Clone, Default)]
pub struct EchoOutcome {
    /// Reflected video frames.
    pub video: FrameCount,
    /// Reflected audio frames.
    pub audio: FrameCount,
    /// How long it ran.
    pub seconds: f64,
    /// RTP packets received (inbound-rtp stats).
    pub rtp_packets: u64,
    /// Packets lost (inbound-rtp stats).
    pub packets_lost: i64,
    /// Whether enough came back.
    pub ok: bool,
}

/// Reflected frames needed for media-echo to pass (as the aiortc and Chromium peers ask).
pub const NEED_VIDEO: u64 = 10;
/// Reflected audio frames needed.
pub const NEED_AUDIO: u64 = 25;

impl OfferMedia {
    /// Adds the transceivers (before the offer is created).
    ///
    /// # Errors
    /// The runtime refused a call.
    pub async fn add(pc: &PeerConnection) -> Result<OfferMedia, oxrtc::Error> {
        let video = LocalTrack::new(MediaKind::Video, "oxrtc-clip-video");
        let audio = LocalTrack::new(MediaKind::Audio, "oxrtc-clip-audio");
        let init = || TransceiverInit {
            direction: Direction::SendRecv,
            stream_ids: vec!["oxrtc-clip".into()],
            ..TransceiverInit::default()
        };
        let video_t = pc.add_transceiver_with_track(&video, init()).await?;
        video_t.set_codec_preferences(vp8_only()).await?;
        let audio_t = pc.add_transceiver_with_track(&audio, init()).await?;
        audio_t.set_codec_preferences(opus_only()).await?;
        Ok(OfferMedia {
            video,
            audio,
            video_t,
            audio_t,
        })
    }

    /// The transceivers (video, audio).
    pub fn transceivers(&self) -> [&RtpTransceiver; 2] {
        [&self.video_t, &self.audio_t]
    }

    /// Sends the clips for at least `seconds` and until enough reflected frames came
    /// back, or `seconds + timeout` passed.
    ///
    /// # Errors
    /// The clips do not parse, or the runtime closed.
    pub async fn run(
        &self,
        pc: &PeerConnection,
        seconds: f64,
        timeout: Duration,
    ) -> Result<EchoOutcome, String> {
        let clips = clips()?;
        let back_v = Counter::start(
            self.video_t
                .receiver_track()
                .await
                .map_err(|e| e.to_string())?,
        );
        let back_a = Counter::start(
            self.audio_t
                .receiver_track()
                .await
                .map_err(|e| e.to_string())?,
        );
        let t0 = Instant::now();
        let _v = send_video_clip(self.video.clone(), clips);
        let _a = send_audio_clip(self.audio.clone(), clips);
        let least = Duration::from_secs_f64(seconds.max(0.0));
        let deadline = least + timeout;
        let mut out = EchoOutcome::default();
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            out.video = back_v.get();
            out.audio = back_a.get();
            let elapsed = t0.elapsed();
            out.ok = out.video.frames >= NEED_VIDEO && out.audio.frames >= NEED_AUDIO;
            if (elapsed >= least && out.ok) || elapsed >= deadline {
                out.seconds = elapsed.as_secs_f64();
                break;
            }
        }
        if let Ok(report) = pc.stats().await {
            for s in &report.0 {
                if let oxrtc::Stats::InboundRtp(i) = s {
                    out.rtp_packets += i.packets_received;
                    out.packets_lost += i.packets_lost;
                }
            }
        }
        Ok(out)
    }
}

// ------------------------------------------------------------------------------ demo

/// The demo's media: the sending peer's tracks and the receiving peer's watchers.
#[derive(Debug)]
pub struct DemoMedia {
    video: LocalTrack,
    audio: LocalTrack,
    watches: Vec<(MediaKind, PacketWatch, Counter)>,
    senders: Vec<Task>,
}

impl DemoMedia {
    /// Adds a sendonly VP8 and a sendonly Opus transceiver to the sender `a` (before its
    /// offer).
    ///
    /// # Errors
    /// The runtime refused a call.
    pub async fn add(a: &PeerConnection) -> Result<DemoMedia, oxrtc::Error> {
        let video = LocalTrack::new(MediaKind::Video, "demo-video");
        let audio = LocalTrack::new(MediaKind::Audio, "demo-audio");
        let init = || TransceiverInit {
            direction: Direction::SendOnly,
            stream_ids: vec!["demo".into()],
            ..TransceiverInit::default()
        };
        let v = a.add_transceiver_with_track(&video, init()).await?;
        v.set_codec_preferences(vp8_only()).await?;
        let t = a.add_transceiver_with_track(&audio, init()).await?;
        t.set_codec_preferences(opus_only()).await?;
        Ok(DemoMedia {
            video,
            audio,
            watches: Vec::new(),
            senders: Vec::new(),
        })
    }

    /// Watches what the receiver `b` gets (once it applied the offer) and starts sending
    /// (writes before the connection is up are dropped, as a browser's sender drops them).
    ///
    /// # Errors
    /// The clips do not parse, or the runtime closed.
    pub async fn start(&mut self, b: &PeerConnection) -> Result<(), String> {
        for t in b.transceivers().await {
            let track = t.receiver_track().await.map_err(|e| e.to_string())?;
            self.watches.push((
                t.kind(),
                PacketWatch::start(track.clone()),
                Counter::start(track),
            ));
        }
        let clips = clips()?;
        self.senders
            .push(send_video_clip(self.video.clone(), clips));
        self.senders
            .push(send_audio_clip(self.audio.clone(), clips));
        Ok(())
    }

    /// When the first media packet reached the receiver.
    pub fn first_packet(&self) -> Option<Instant> {
        self.watches.iter().filter_map(|(_, w, _)| w.first()).min()
    }

    /// Frames received so far: (video, audio).
    pub fn frames(&self) -> (FrameCount, FrameCount) {
        let mut v = FrameCount::default();
        let mut a = FrameCount::default();
        for (kind, _, c) in &self.watches {
            let n = c.get();
            let into = if *kind == MediaKind::Video {
                &mut v
            } else {
                &mut a
            };
            into.frames += n.frames;
            into.keyframes += n.keyframes;
            into.bytes += n.bytes;
            into.first = into.first.or(n.first);
        }
        (v, a)
    }

    /// Stops sending.
    pub fn stop(&mut self) {
        self.senders.clear();
    }
}

// ------------------------------------------------------------------------------ saving

/// What [`save_tracks`] wrote for one track.
#[derive(Debug, Clone)]
pub struct Saved {
    /// The file.
    pub path: PathBuf,
    /// Frames (video) or packets (audio) written.
    pub frames: u64,
}

/// A file being written from a received track (unbuffered: what is on disk is always
/// whole frames, even if the process is killed).
enum Sink {
    /// VP8 into IVF: created at the first key frame (its size is in the header).
    Ivf(Option<IvfWriter<std::fs::File>>),
    /// Opus into Ogg.
    Ogg(OggOpusWriter<std::fs::File>),
}

/// Unwraps 32-bit RTP timestamps into a count from the first one.
#[derive(Debug, Default)]
struct Unwrap {
    first: Option<u32>,
    last: u32,
    ext: i64,
}

impl Unwrap {
    fn ticks(&mut self, ts: u32) -> u64 {
        match self.first {
            None => {
                self.first = Some(ts);
                self.last = ts;
                0
            }
            Some(_) => {
                self.ext += i64::from(ts.wrapping_sub(self.last) as i32);
                self.last = ts;
                u64::try_from(self.ext).unwrap_or(0)
            }
        }
    }
}

/// Starts writing every receiving transceiver's track of `pc` (after negotiation) to
/// `dir`: VP8 as `PREFIX-video-MID.ivf` (from the first key frame, timebase 1/90000),
/// Opus as `PREFIX-audio-MID.ogg`; other codecs are not saved. Each task ends (and
/// finishes its file) when the connection closes.
///
/// # Errors
/// The directory cannot be created.
pub async fn save_tracks(
    pc: &PeerConnection,
    dir: &Path,
    prefix: &str,
) -> std::io::Result<Vec<JoinHandle<Option<Saved>>>> {
    std::fs::create_dir_all(dir)?;
    let list: Vec<(TransceiverId, Option<String>, Vec<Codec>)> = pc
        .with_core(|c| {
            c.transceivers()
                .filter(|t| !t.stopped() && t.current_direction().is_some_and(|d| d.receives()))
                .map(|t| {
                    (
                        t.id(),
                        t.mid().map(str::to_owned),
                        t.negotiated_codecs().to_vec(),
                    )
                })
                .collect()
        })
        .await
        .unwrap_or_default();
    let mut tasks = Vec::new();
    for (id, mid, codecs) in list {
        let Some(t) = pc.transceiver(id).await else {
            continue;
        };
        let Ok(track) = t.receiver_track().await else {
            continue;
        };
        let kind = kind_name(t.kind());
        let ext = if t.kind() == MediaKind::Video {
            "ivf"
        } else {
            "ogg"
        };
        let mid: String = mid
            .unwrap_or_default()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        let path = dir.join(format!("{prefix}-{kind}-{mid}.{ext}"));
        tasks.push(tokio::spawn(save_track(track, codecs, path)));
    }
    Ok(tasks)
}

async fn save_track(mut track: RemoteTrack, codecs: Vec<Codec>, path: PathBuf) -> Option<Saved> {
    let codec_of = |pt: u8| {
        codecs
            .iter()
            .find(|c| c.payload_type == pt)
            .map(|c| c.encoding_name.to_ascii_lowercase())
    };
    let mut sink: Option<Sink> = None;
    let mut unwrap = Unwrap::default();
    let mut frames = 0u64;
    let mut warned = false;
    while let Some(f) = track.recv_frame().await {
        let codec = codec_of(f.payload_type).unwrap_or_default();
        if sink.is_none() {
            let created = match codec.as_str() {
                "vp8" => Ok(Sink::Ivf(None)),
                "opus" => std::fs::File::create(&path).and_then(|file| {
                    let serial = f.ssrc;
                    OggOpusWriter::new(file, serial, &OpusHead::new(2)).map(Sink::Ogg)
                }),
                other => {
                    if !warned {
                        tracing::warn!(codec = other, path = %path.display(), "only VP8 and Opus are saved");
                        warned = true;
                    }
                    continue;
                }
            };
            match created {
                Ok(s) => sink = Some(s),
                Err(e) => {
                    tracing::error!(path = %path.display(), error = %e, "cannot save the track");
                    return None;
                }
            }
        }
        let written = match sink.as_mut() {
            Some(Sink::Ivf(w)) if codec == "vp8" => {
                if w.is_none() {
                    // A file starts at a key frame, which also gives its size.
                    let Some((width, height)) = vp8_dimensions(&f.data) else {
                        let _ = track.request_keyframe(None);
                        continue;
                    };
                    let file = match std::fs::File::create(&path) {
                        Ok(file) => file,
                        Err(e) => {
                            tracing::error!(path = %path.display(), error = %e, "cannot save the track");
                            return None;
                        }
                    };
                    let header = IvfHeader::new(*b"VP80", width, height, 90_000);
                    match IvfWriter::new(file, header) {
                        Ok(x) => *w = Some(x),
                        Err(e) => {
                            tracing::error!(path = %path.display(), error = %e, "cannot save the track");
                            return None;
                        }
                    }
                }
                let ts = unwrap.ticks(f.timestamp);
                w.as_mut().map(|w| w.write_frame(ts, &f.data))
            }
            Some(Sink::Ogg(w)) if codec == "opus" => Some(w.write_packet(&f.data)),
            _ => None,
        };
        match written {
            Some(Ok(())) => frames += 1,
            Some(Err(e)) => {
                tracing::warn!(path = %path.display(), error = %e, "frame not saved");
            }
            None => {}
        }
    }
    let finished = match sink? {
        Sink::Ivf(Some(w)) => w.finish().map(|_| ()),
        Sink::Ivf(None) => return None,
        Sink::Ogg(w) => w.finish().map(|_| ()),
    };
    if let Err(e) = finished {
        tracing::error!(path = %path.display(), error = %e, "cannot finish the file");
    }
    tracing::info!(path = %path.display(), frames, "saved");
    Some(Saved { path, frames })
}

#[cfg(test)]
mod tests {
    use oxrtc::rtp::container::ivf::IvfReader;
    use oxrtc::rtp::container::ogg::{opus_packet_samples, OggReader, OpusHead};

    #[test]
    fn the_clips_are_what_they_claim() {
        let mut ivf = IvfReader::new(super::CLIP_VP8_IVF).unwrap();
        let h = *ivf.header();
        assert_eq!((&h.fourcc, h.width, h.height), (b"VP80", 320, 240));
        let mut frames = 0;
        while let Some(f) = ivf.next_frame().unwrap() {
            // A VP8 key frame every second (RFC 6386 §9.1: P bit clear, start code).
            let key = f.data[0] & 1 == 0 && f.data[3..6] == [0x9d, 0x01, 0x2a];
            assert_eq!(key, frames % 30 == 0, "frame {frames}");
            assert_eq!(key, super::vp8_is_keyframe(&f.data));
            if key {
                assert_eq!(super::vp8_dimensions(&f.data), Some((320, 240)));
            } else {
                assert_eq!(super::vp8_dimensions(&f.data), None);
            }
            frames += 1;
        }
        assert_eq!(frames, 150);

        let mut ogg = OggReader::new(super::CLIP_OPUS_OGG);
        let head = OpusHead::parse(&ogg.next_packet().unwrap().unwrap().data).unwrap();
        assert_eq!(head.channels, 2);
        let _tags = ogg.next_packet().unwrap().unwrap();
        let mut samples = 0u64;
        while let Some(p) = ogg.next_packet().unwrap() {
            assert_eq!(opus_packet_samples(&p.data), Some(960), "20 ms frames");
            samples += 960;
        }
        // 5 s at 48 kHz, plus the encoder's pre-skip frame.
        assert!((240_000..=241_000).contains(&samples), "{samples}");

        let clips = super::clips().unwrap();
        assert_eq!(clips.video.len(), 150);
        assert_eq!(clips.video.iter().filter(|f| f.keyframe).count(), 5);
        assert!((250..=252).contains(&clips.audio.len()));
    }

    #[test]
    fn short_and_odd_frames_are_not_key_frames() {
        for f in [
            &[][..],
            &[0],
            &[0, 0, 0, 0x9d, 0x01],
            &[1, 0, 0, 0x9d, 0x01, 0x2a, 1, 1, 1, 1],
        ] {
            assert!(super::vp8_dimensions(f).is_none());
        }
        // A key frame header cut after the start code has no size.
        assert!(super::vp8_is_keyframe(&[0, 0, 0, 0x9d, 0x01, 0x2a]));
        assert_eq!(
            super::vp8_dimensions(&[0, 0, 0, 0x9d, 0x01, 0x2a, 0x40]),
            None
        );
        // Scaling bits are masked off.
        assert_eq!(
            super::vp8_dimensions(&[0, 0, 0, 0x9d, 0x01, 0x2a, 0x40, 0xc1, 0xf0, 0x40]),
            Some((0x140, 0xf0))
        );
    }

    #[test]
    fn rtp_timestamps_unwrap() {
        let mut u = super::Unwrap::default();
        assert_eq!(u.ticks(u32::MAX - 1000), 0);
        assert_eq!(u.ticks(u32::MAX), 1000);
        assert_eq!(u.ticks(2000), 3001);
        // Reordered: a little back, clamped at 0 from the first.
        assert_eq!(u.ticks(1000), 2001);
        let mut u = super::Unwrap::default();
        assert_eq!(u.ticks(10), 0);
        assert_eq!(u.ticks(5), 0);
    }

    #[test]
    fn activity_tracks_the_last_packet() {
        let a = super::Activity::default();
        assert!(a.idle_for().is_none());
        a.touch();
        assert!(a.idle_for().unwrap() < std::time::Duration::from_secs(1));
    }
}
