//! Media handles of the runtime: local tracks the application writes to, remote tracks it
//! reads from, transceivers and senders.
//!
//! - [`LocalTrack`]: a source (W3C `MediaStreamTrack`). Attach it with
//!   [`PeerConnection::add_track`], [`PeerConnection::add_transceiver_with_track`] or
//!   [`RtpSender::replace_track`]; then [`LocalTrack::write_sample`] (encoded frames,
//!   packetized per the negotiated codec) or [`LocalTrack::write_rtp`] (RTP packets
//!   forwarded with the sender's SSRC, numbering and timestamps) sends on every sender it
//!   is attached to. Writes never block; before the connection is up or while the sender
//!   does not send (hold, no negotiation yet) they are dropped.
//! - [`RemoteTrack`]: what a transceiver receives, from [`RtpTransceiver::receiver_track`]
//!   (typically on [`Event::Track`](super::Event::Track)): [`RemoteTrack::recv_rtp`] gives
//!   every RTP packet (decrypted, RTX repaired), [`RemoteTrack::recv_frame`] assembled
//!   frames. A reader that falls more than 1024 packets (256 frames) behind loses the
//!   oldest.
//! - [`RtpTransceiver`] and [`RtpSender`]: direction, stop, codec preferences,
//!   `replace_track` (no renegotiation), DTMF, transforms, simulcast encodings.

use super::{Command, Driver, Job, PeerConnection};
use crate::error::Error;
use crate::media::{
    EncodedFrame, FrameTransform, MediaPacket, MediaStreamTrack, RtpEncodingParameters, Sample,
};
use crate::transceiver::{Direction, MediaKind, TransceiverId, TransceiverInit};
use oxrtc_sdp::Codec;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc, Notify};

/// Packets a remote track buffers for a slow reader.
const PACKET_BUFFER: usize = 1024;
/// Frames a remote track buffers for a slow reader.
const FRAME_BUFFER: usize = 256;

/// What a local track hands a sender.
#[derive(Debug)]
pub(super) enum MediaInput {
    Sample(Sample),
    Rtp(MediaPacket),
}

/// A sender a local track feeds.
#[derive(Debug)]
struct Sink {
    cmd: mpsc::WeakUnboundedSender<Command>,
    transceiver: TransceiverId,
}

impl Sink {
    /// Whether its connection's task still runs.
    fn alive(&self) -> bool {
        self.cmd.upgrade().is_some_and(|c| !c.is_closed())
    }
}

#[derive(Debug)]
struct LocalInner {
    track: MediaStreamTrack,
    sinks: Mutex<Vec<Sink>>,
    keyframe: Notify,
}

/// A local media source (W3C `MediaStreamTrack`) the application writes encoded samples or
/// RTP packets to; cheap to clone. See the [runtime docs](super#media).
#[derive(Debug, Clone)]
pub struct LocalTrack {
    inner: Arc<LocalInner>,
}

impl LocalTrack {
    /// A track of `kind` with the id signaled in `a=msid`.
    pub fn new(kind: MediaKind, id: impl Into<String>) -> Self {
        LocalTrack {
            inner: Arc::new(LocalInner {
                track: MediaStreamTrack::new(kind, id),
                sinks: Mutex::new(Vec::new()),
                keyframe: Notify::new(),
            }),
        }
    }

    /// The id.
    pub fn id(&self) -> &str {
        self.inner.track.id()
    }

    /// Audio or video.
    pub fn kind(&self) -> MediaKind {
        self.inner.track.kind()
    }

    /// The core's description of this track.
    pub fn track(&self) -> &MediaStreamTrack {
        &self.inner.track
    }

    /// How many live senders this track feeds.
    pub fn senders(&self) -> usize {
        self.prune();
        self.inner.sinks.lock().map_or(0, |s| s.len())
    }

    /// Sends one encoded frame on every sender the track is attached to (see
    /// [`crate::RtpSender::write_sample`]: packetized per the negotiated codec, the RTP
    /// timestamp advances by `sample.duration`). Pace the calls in real time.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the sample's kind of data cannot be a frame (empty).
    pub fn write_sample(&self, sample: Sample) -> Result<(), Error> {
        if sample.data.is_empty() {
            return Err(Error::InvalidArgument("an empty sample"));
        }
        self.send(|| MediaInput::Sample(sample.clone()));
        Ok(())
    }

    /// Forwards one RTP packet on every sender the track is attached to (see
    /// [`crate::RtpSender::write_rtp`]: SSRC, sequence number and timestamp rewritten to
    /// the sender's). A [`MediaPacket`] from a [`RemoteTrack`] can be written as it is:
    /// that is how a connection reflects or an SFU forwards.
    pub fn write_rtp(&self, packet: MediaPacket) {
        self.send(|| MediaInput::Rtp(packet.clone()));
    }

    /// [`write_rtp`](Self::write_rtp) for a plain RTP packet in bytes (its header
    /// extensions are not read).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when it is not RTP.
    pub fn write_rtp_bytes(&self, packet: &[u8]) -> Result<(), Error> {
        let p = MediaPacket::parse(packet)?;
        self.write_rtp(p);
        Ok(())
    }

    /// Waits until a peer asks one of this track's senders for a key frame (PLI or FIR):
    /// the encoder feeding the track should make one.
    pub async fn keyframe_requested(&self) {
        self.inner.keyframe.notified().await;
    }

    fn send(&self, input: impl Fn() -> MediaInput) {
        let Ok(mut sinks) = self.inner.sinks.lock() else {
            return;
        };
        sinks.retain(|s| {
            let Some(cmd) = s.cmd.upgrade() else {
                return false;
            };
            cmd.send(Command::Media {
                transceiver: s.transceiver,
                input: input(),
            })
            .is_ok()
        });
    }

    fn prune(&self) {
        if let Ok(mut sinks) = self.inner.sinks.lock() {
            sinks.retain(Sink::alive);
        }
    }

    fn attach(&self, cmd: mpsc::WeakUnboundedSender<Command>, transceiver: TransceiverId) {
        if let Ok(mut sinks) = self.inner.sinks.lock() {
            sinks.retain(Sink::alive);
            sinks.push(Sink { cmd, transceiver });
        }
    }

    fn detach(&self, cmd: &mpsc::WeakUnboundedSender<Command>, transceiver: TransceiverId) {
        if let Ok(mut sinks) = self.inner.sinks.lock() {
            let this = cmd.upgrade();
            sinks.retain(|s| match (s.cmd.upgrade(), &this) {
                (Some(a), Some(b)) => !(s.transceiver == transceiver && a.same_channel(b)),
                _ => false,
            });
        }
    }
}

/// The driver's side of a transceiver's remote track.
pub(super) struct RemotePipe {
    packets: broadcast::Sender<MediaPacket>,
    frames: broadcast::Sender<EncodedFrame>,
}

impl RemotePipe {
    fn new() -> Self {
        RemotePipe {
            packets: broadcast::channel(PACKET_BUFFER).0,
            frames: broadcast::channel(FRAME_BUFFER).0,
        }
    }
}

/// What a transceiver receives (W3C `receiver.track`): RTP packets or assembled frames.
/// Every clone reads the whole stream. See the [runtime docs](super#media).
#[derive(Debug)]
pub struct RemoteTrack {
    transceiver: TransceiverId,
    kind: MediaKind,
    id: String,
    stream_ids: Vec<String>,
    cmd: mpsc::WeakUnboundedSender<Command>,
    packets: broadcast::Receiver<MediaPacket>,
    frames: broadcast::Receiver<EncodedFrame>,
    frames_on: bool,
    lost: u64,
}

impl Clone for RemoteTrack {
    fn clone(&self) -> Self {
        RemoteTrack {
            transceiver: self.transceiver,
            kind: self.kind,
            id: self.id.clone(),
            stream_ids: self.stream_ids.clone(),
            cmd: self.cmd.clone(),
            packets: self.packets.resubscribe(),
            frames: self.frames.resubscribe(),
            frames_on: self.frames_on,
            lost: 0,
        }
    }
}

impl RemoteTrack {
    /// The transceiver it arrives on.
    pub fn transceiver(&self) -> TransceiverId {
        self.transceiver
    }

    /// Audio or video.
    pub fn kind(&self) -> MediaKind {
        self.kind
    }

    /// The remote track id from the peer's `a=msid` (empty when it signaled none).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The remote stream ids (the W3C track event's `streams`).
    pub fn stream_ids(&self) -> &[String] {
        &self.stream_ids
    }

    /// Packets or frames this reader lost by falling behind.
    pub fn lost(&self) -> u64 {
        self.lost
    }

    /// The next RTP packet (decrypted, RTX unwrapped, duplicates dropped; `rid` tells the
    /// simulcast layer); `None` once the connection closed.
    pub async fn recv_rtp(&mut self) -> Option<MediaPacket> {
        loop {
            match self.packets.recv().await {
                Ok(p) => return Some(p),
                Err(broadcast::error::RecvError::Lagged(n)) => self.lost += n,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    /// The next assembled frame (after the receiver's transform); `None` once the
    /// connection closed. The first call turns frame assembly on for the transceiver, so
    /// frames complete from then on.
    pub async fn recv_frame(&mut self) -> Option<EncodedFrame> {
        if !self.frames_on {
            self.frames_on = true;
            let id = self.transceiver;
            let cmd = self.cmd.upgrade()?;
            let job: Job = Box::new(move |d: &mut Driver| {
                if let Some(mut r) = d.core.receiver(id) {
                    r.set_deliver_frames(true);
                }
            });
            let _ = cmd.send(Command::Run(job));
        }
        loop {
            match self.frames.recv().await {
                Ok(f) => return Some(f),
                Err(broadcast::error::RecvError::Lagged(n)) => self.lost += n,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    /// Asks the peer for a key frame (PLI, or FIR): for one simulcast layer or all.
    ///
    /// # Errors
    /// [`Error::Closed`] once the connection closed.
    pub fn request_keyframe(&self, rid: Option<&str>) -> Result<(), Error> {
        let id = self.transceiver;
        let rid = rid.map(str::to_owned);
        let cmd = self.cmd.upgrade().ok_or(Error::Closed)?;
        let job: Job = Box::new(move |d: &mut Driver| {
            if let Some(mut r) = d.core.receiver(id) {
                r.request_keyframe(rid.as_deref());
            }
            d.flush_core();
        });
        cmd.send(Command::Run(job)).map_err(|_| Error::Closed)
    }
}

/// A transceiver (W3C `RTCRtpTransceiver`) of a runtime [`PeerConnection`].
#[derive(Debug, Clone)]
pub struct RtpTransceiver {
    id: TransceiverId,
    kind: MediaKind,
    pc: PeerConnection,
}

impl RtpTransceiver {
    /// The handle id (as in [`Event::Track`](super::Event::Track)).
    pub fn id(&self) -> TransceiverId {
        self.id
    }

    /// Audio or video.
    pub fn kind(&self) -> MediaKind {
        self.kind
    }

    /// Its sender.
    pub fn sender(&self) -> RtpSender {
        RtpSender {
            id: self.id,
            pc: self.pc.clone(),
        }
    }

    /// The negotiated mid (W3C `mid`).
    pub async fn mid(&self) -> Option<String> {
        let id = self.id;
        self.pc
            .with_core(move |c| c.transceiver(id).and_then(|t| t.mid().map(str::to_owned)))
            .await
            .ok()
            .flatten()
    }

    /// The preferred direction (W3C `direction`).
    pub async fn direction(&self) -> Option<Direction> {
        let id = self.id;
        self.pc
            .with_core(move |c| c.transceiver(id).map(|t| t.direction()))
            .await
            .ok()
            .flatten()
    }

    /// The negotiated direction (W3C `currentDirection`).
    pub async fn current_direction(&self) -> Option<Direction> {
        let id = self.id;
        self.pc
            .with_core(move |c| c.transceiver(id).and_then(|t| t.current_direction()))
            .await
            .ok()
            .flatten()
    }

    /// Sets the direction (W3C `direction = ...`; hold is `SendOnly`, resume `SendRecv`);
    /// negotiation-needed fires when it differs from the negotiated one.
    ///
    /// # Errors
    /// As [`crate::PeerConnection::set_transceiver_direction`].
    pub async fn set_direction(&self, direction: Direction) -> Result<(), Error> {
        let id = self.id;
        self.pc
            .with_core(move |c| c.set_transceiver_direction(id, direction))
            .await?
    }

    /// Stops it (W3C `stop()`); the next offer rejects its m-section.
    ///
    /// # Errors
    /// As [`crate::PeerConnection::stop_transceiver`].
    pub async fn stop(&self) -> Result<(), Error> {
        let id = self.id;
        self.pc.with_core(move |c| c.stop_transceiver(id)).await?
    }

    /// W3C `setCodecPreferences`, see [`crate::PeerConnection::set_codec_preferences`].
    ///
    /// # Errors
    /// As the core's.
    pub async fn set_codec_preferences(&self, codecs: Vec<Codec>) -> Result<(), Error> {
        let id = self.id;
        self.pc
            .with_core(move |c| c.set_codec_preferences(id, &codecs))
            .await?
    }

    /// The remote track of this transceiver (W3C `receiver.track`), to read what it
    /// receives.
    ///
    /// # Errors
    /// [`Error::Closed`]; [`Error::UnknownHandle`] for a transceiver that is gone.
    pub async fn receiver_track(&self) -> Result<RemoteTrack, Error> {
        let (id, kind) = (self.id, self.kind);
        self.pc
            .with(move |d| {
                let (track_id, streams) = {
                    let t = d.core.transceiver(id).ok_or(Error::UnknownHandle)?;
                    (
                        t.remote_track_id().unwrap_or_default().to_owned(),
                        t.remote_stream_ids().to_vec(),
                    )
                };
                let pipe = d.remote.entry(id).or_insert_with(RemotePipe::new);
                Ok(RemoteTrack {
                    transceiver: id,
                    kind,
                    id: track_id,
                    stream_ids: streams,
                    cmd: d.cmd_tx.clone(),
                    packets: pipe.packets.subscribe(),
                    frames: pipe.frames.subscribe(),
                    frames_on: false,
                    lost: 0,
                })
            })
            .await?
    }
}

/// The sender of a transceiver (W3C `RTCRtpSender`) of a runtime [`PeerConnection`].
#[derive(Debug, Clone)]
pub struct RtpSender {
    id: TransceiverId,
    pc: PeerConnection,
}

impl RtpSender {
    /// The transceiver.
    pub fn transceiver(&self) -> TransceiverId {
        self.id
    }

    /// Replaces the track without renegotiation (W3C `replaceTrack`): the new track's
    /// writes continue this sender's stream; `None` stops sending.
    ///
    /// # Errors
    /// As [`crate::PeerConnection::replace_track`].
    pub async fn replace_track(&self, track: Option<&LocalTrack>) -> Result<(), Error> {
        let id = self.id;
        let track = track.cloned();
        self.pc
            .with(move |d| {
                d.core
                    .replace_track(id, track.as_ref().map(|t| t.track().clone()))?;
                d.bind(id, track);
                Ok(())
            })
            .await?
    }

    /// The track it sends (its id), if any.
    pub async fn track_id(&self) -> Option<String> {
        let id = self.id;
        self.pc
            .with_core(move |c| {
                c.transceiver(id)
                    .and_then(|t| t.sender_track().map(|x| x.id().to_owned()))
            })
            .await
            .ok()
            .flatten()
    }

    /// Its encodings (W3C `getParameters().encodings`).
    pub async fn encodings(&self) -> Vec<RtpEncodingParameters> {
        let id = self.id;
        self.pc
            .with_core(move |c| c.sender(id).map(|s| s.encodings()).unwrap_or_default())
            .await
            .unwrap_or_default()
    }

    /// W3C `setParameters` for `active`, `max_bitrate`, `scale_resolution_down_by`.
    ///
    /// # Errors
    /// As [`crate::RtpSender::set_encodings`].
    pub async fn set_encodings(&self, encodings: Vec<RtpEncodingParameters>) -> Result<(), Error> {
        let id = self.id;
        self.pc
            .with_core(move |c| {
                c.sender(id)
                    .ok_or(Error::UnknownHandle)?
                    .set_encodings(encodings)
            })
            .await?
    }

    /// W3C `dtmf.insertDTMF`: see [`crate::RtpSender::insert_dtmf`]; tone changes come as
    /// [`Event::DtmfToneChange`](super::Event::DtmfToneChange).
    ///
    /// # Errors
    /// As the core's.
    pub async fn insert_dtmf(
        &self,
        tones: &str,
        duration: Duration,
        gap: Duration,
    ) -> Result<(), Error> {
        let id = self.id;
        let tones = tones.to_owned();
        self.pc
            .with_core(move |c| {
                c.sender(id)
                    .ok_or(Error::UnknownHandle)?
                    .insert_dtmf(&tones, duration, gap)
            })
            .await?
    }

    /// W3C `dtmf.toneBuffer`.
    pub async fn tone_buffer(&self) -> String {
        let id = self.id;
        self.pc
            .with_core(move |c| c.sender(id).map(|s| s.tone_buffer()).unwrap_or_default())
            .await
            .unwrap_or_default()
    }

    /// Sets the encoded-frame transform of the samples it sends (it runs on the
    /// connection's task).
    ///
    /// # Errors
    /// [`Error::Closed`].
    pub async fn set_transform(
        &self,
        transform: Option<Box<dyn FrameTransform>>,
    ) -> Result<(), Error> {
        let id = self.id;
        self.pc
            .with_core(move |c| {
                if let Some(mut s) = c.sender(id) {
                    s.set_transform(transform);
                }
            })
            .await
    }

    /// Sets the encoded-frame transform of the frames the same transceiver receives.
    ///
    /// # Errors
    /// [`Error::Closed`].
    pub async fn set_receiver_transform(
        &self,
        transform: Option<Box<dyn FrameTransform>>,
    ) -> Result<(), Error> {
        let id = self.id;
        self.pc
            .with_core(move |c| {
                if let Some(mut r) = c.receiver(id) {
                    r.set_transform(transform);
                }
            })
            .await
    }
}

impl PeerConnection {
    /// W3C `addTrack(track, ...streams)`: see [`crate::PeerConnection::add_track`]; the
    /// track's writes go to the returned sender once it sends.
    ///
    /// # Errors
    /// As the core's; [`Error::Closed`].
    pub async fn add_track(
        &self,
        track: &LocalTrack,
        stream_ids: &[&str],
    ) -> Result<RtpSender, Error> {
        let t = track.clone();
        let streams: Vec<String> = stream_ids.iter().map(|s| (*s).to_owned()).collect();
        let id = self
            .with(move |d| {
                let refs: Vec<&str> = streams.iter().map(String::as_str).collect();
                let id = d.core.add_track(t.track().clone(), &refs)?;
                d.bind(id, Some(t));
                d.flush_core();
                Ok::<_, Error>(id)
            })
            .await??;
        Ok(RtpSender {
            id,
            pc: self.clone(),
        })
    }

    /// W3C `removeTrack(sender)`, see [`crate::PeerConnection::remove_track`].
    ///
    /// # Errors
    /// As the core's; [`Error::Closed`].
    pub async fn remove_track(&self, sender: &RtpSender) -> Result<(), Error> {
        let id = sender.id;
        self.with(move |d| {
            d.core.remove_track(id)?;
            d.bind(id, None);
            d.flush_core();
            Ok(())
        })
        .await?
    }

    /// W3C `addTransceiver(kind, init)`.
    ///
    /// # Errors
    /// As [`crate::PeerConnection::add_transceiver`]; [`Error::Closed`].
    pub async fn add_transceiver(
        &self,
        kind: MediaKind,
        init: TransceiverInit,
    ) -> Result<RtpTransceiver, Error> {
        let id = self
            .with(move |d| {
                let id = d.core.add_transceiver(kind, init)?;
                d.flush_core();
                Ok::<_, Error>(id)
            })
            .await??;
        Ok(RtpTransceiver {
            id,
            kind,
            pc: self.clone(),
        })
    }

    /// W3C `addTransceiver(track, init)`.
    ///
    /// # Errors
    /// As [`crate::PeerConnection::add_transceiver_with_track`]; [`Error::Closed`].
    pub async fn add_transceiver_with_track(
        &self,
        track: &LocalTrack,
        init: TransceiverInit,
    ) -> Result<RtpTransceiver, Error> {
        let t = track.clone();
        let kind = track.kind();
        let id = self
            .with(move |d| {
                let id = d.core.add_transceiver_with_track(t.track().clone(), init)?;
                d.bind(id, Some(t));
                d.flush_core();
                Ok::<_, Error>(id)
            })
            .await??;
        Ok(RtpTransceiver {
            id,
            kind,
            pc: self.clone(),
        })
    }

    /// The transceiver with this id (from [`Event::Track`](super::Event::Track)), if it
    /// exists.
    pub async fn transceiver(&self, id: TransceiverId) -> Option<RtpTransceiver> {
        let kind = self
            .with_core(move |c| c.transceiver(id).map(|t| t.kind()))
            .await
            .ok()
            .flatten()?;
        Some(RtpTransceiver {
            id,
            kind,
            pc: self.clone(),
        })
    }

    /// Every transceiver, in creation order (W3C `getTransceivers()`).
    pub async fn transceivers(&self) -> Vec<RtpTransceiver> {
        let list = self
            .with_core(|c| {
                c.transceivers()
                    .map(|t| (t.id(), t.kind()))
                    .collect::<Vec<_>>()
            })
            .await
            .unwrap_or_default();
        list.into_iter()
            .map(|(id, kind)| RtpTransceiver {
                id,
                kind,
                pc: self.clone(),
            })
            .collect()
    }
}

impl Driver {
    /// Attaches `track` to the sender of `id` (and detaches the one it had).
    pub(super) fn bind(&mut self, id: TransceiverId, track: Option<LocalTrack>) {
        if let Some(old) = self.local_tracks.remove(&id) {
            old.detach(&self.cmd_tx, id);
        }
        if let Some(t) = track {
            t.attach(self.cmd_tx.clone(), id);
            self.local_tracks.insert(id, t);
        }
    }

    /// A sample or packet from a local track.
    pub(super) fn media_input(&mut self, id: TransceiverId, input: MediaInput) {
        let now = Instant::now();
        let Some(mut s) = self.core.sender(id) else {
            return;
        };
        // Errors mean "not sending now" (not connected yet, on hold): the media is dropped,
        // as a browser's sender drops frames it cannot send.
        let _ = match input {
            MediaInput::Sample(sample) => s.write_sample(now, sample),
            MediaInput::Rtp(packet) => s.write_rtp(now, &packet),
        };
    }

    /// A received packet or frame to its remote track's readers.
    pub(super) fn media_packet(&mut self, id: TransceiverId, packet: MediaPacket) {
        if let Some(p) = self.remote.get(&id) {
            let _ = p.packets.send(packet);
        }
    }

    pub(super) fn media_frame(&mut self, id: TransceiverId, frame: EncodedFrame) {
        if let Some(p) = self.remote.get(&id) {
            let _ = p.frames.send(frame);
        }
    }

    /// A key frame request for a sender: its track's writers are woken.
    pub(super) fn media_keyframe(&mut self, id: TransceiverId) {
        if let Some(t) = self.local_tracks.get(&id) {
            t.inner.keyframe.notify_waiters();
        }
    }
}
