//! The tokio runtime (feature `tokio`): real UDP sockets, one timer and one task per peer
//! connection around the sans-IO [`crate::PeerConnection`].
//!
//! - [`PeerConnection::new`] binds the sockets, spawns the connection's task and returns
//!   the handle and its [`Events`] stream. The task owns the sans-IO core, the sockets and
//!   the timer; handles talk to it over channels, so no lock is ever held across an await.
//! - [`DataChannel`] handles have async [`send`](DataChannel::send) and
//!   [`recv`](DataChannel::recv), the buffered amount, and a wait for it to fall.
//! - Datagrams go out and come in batched through `quinn-udp` (sendmmsg/recvmmsg with
//!   GSO/GRO on Linux), with the plain socket calls as fallback.
//! - [`PeerConnection::close`] ends the task: every socket is closed, every handle's
//!   calls return [`Error::Closed`]. Dropping the last [`PeerConnection`] clone does the
//!   same (channel handles and the event stream do not keep a connection alive). Nothing
//!   blocks on drop.
//! - The events of a call are in the [`Events`] stream when the call returns (e.g. the
//!   [`Event::Track`]s of `set_remote_description`), so `try_recv` can take them at once.
//!
//! # Media
//!
//! - A [`LocalTrack`] is a source the application writes to:
//!   [`write_sample`](LocalTrack::write_sample) (an encoded frame and its duration,
//!   packetized per the negotiated codec) or [`write_rtp`](LocalTrack::write_rtp) (an RTP
//!   packet, sent with the sender's SSRC, sequence numbers and timestamps). Attach it with
//!   [`PeerConnection::add_track`], [`PeerConnection::add_transceiver_with_track`] or
//!   [`RtpSender::replace_track`] (no renegotiation). Writes never block; while the sender
//!   cannot send (not connected yet, on hold) they are dropped, as a browser drops frames.
//!   [`LocalTrack::keyframe_requested`] wakes when the peer asks for a key frame (also
//!   [`Event::KeyframeRequest`]).
//! - [`Event::Track`] (from `set_remote_description`) names a transceiver the peer sends
//!   on: [`PeerConnection::transceiver`] gives the [`RtpTransceiver`], and its
//!   [`receiver_track`](RtpTransceiver::receiver_track) the [`RemoteTrack`] to read:
//!   [`recv_rtp`](RemoteTrack::recv_rtp) for packets (decrypted, RTX-repaired, with the
//!   simulcast `rid`), [`recv_frame`](RemoteTrack::recv_frame) for assembled frames;
//!   [`request_keyframe`](RemoteTrack::request_keyframe) sends a PLI.
//! - [`RtpTransceiver`]: [`set_direction`](RtpTransceiver::set_direction) (hold is
//!   `SendOnly`/`Inactive`, resume `SendRecv`), [`stop`](RtpTransceiver::stop),
//!   [`set_codec_preferences`](RtpTransceiver::set_codec_preferences); [`RtpSender`]:
//!   `replace_track`, [`insert_dtmf`](RtpSender::insert_dtmf) (tone changes come as
//!   [`Event::DtmfToneChange`]), simulcast [`set_encodings`](RtpSender::set_encodings),
//!   encoded-frame transforms.
//!
//! Reflecting what a peer sends, on the transceiver it arrives on (the CLI's answerer):
//!
//! ```no_run
//! use oxrtc::runtime::{Event, LocalTrack, PeerConnection};
//! use oxrtc::{Config, Direction, RtcSessionDescription};
//!
//! # async fn answer(offer: RtcSessionDescription) -> Result<(), oxrtc::Error> {
//! let (pc, mut events) = PeerConnection::new(Config::default()).await?;
//! pc.set_remote_description(offer).await?;
//! // The track events of the offer are already in the stream.
//! while let Some(e) = events.try_recv() {
//!     let Event::Track(id) = e else { continue };
//!     let Some(t) = pc.transceiver(id).await else { continue };
//!     t.set_direction(Direction::SendRecv).await?; // before the answer is made
//!     let mut incoming = t.receiver_track().await?;
//!     let echo = LocalTrack::new(t.kind(), format!("echo-{}", incoming.id()));
//!     t.sender().replace_track(Some(&echo)).await?;
//!     tokio::spawn(async move {
//!         while let Some(packet) = incoming.recv_rtp().await {
//!             echo.write_rtp(packet); // SSRC, numbering and timestamps become the sender's
//!         }
//!     });
//! }
//! pc.set_local_description(None).await?; // the answer: sendrecv where tracks came
//! # Ok(()) }
//! ```
//!
//! Sending a clip and reading what comes back (the CLI's `media-echo` offerer):
//!
//! ```no_run
//! use oxrtc::rtp::container::ivf::IvfReader;
//! use oxrtc::runtime::{LocalTrack, PeerConnection};
//! use oxrtc::sdp::Codec;
//! use oxrtc::{Config, MediaKind, Sample, TransceiverInit};
//! use std::time::Duration;
//!
//! # async fn offer(clip: Vec<u8>) -> Result<(), Box<dyn std::error::Error>> {
//! let (pc, _events) = PeerConnection::new(Config::default()).await?;
//! let camera = LocalTrack::new(MediaKind::Video, "camera");
//! let t = pc.add_transceiver_with_track(&camera, TransceiverInit::default()).await?;
//! t.set_codec_preferences(vec![
//!     Codec::new(0, "VP8", 90000, None),
//!     Codec::new(0, "rtx", 90000, None),
//! ])
//! .await?;
//! // ... set_local_description(None), signal, set_remote_description(answer) ...
//! let mut back = t.receiver_track().await?;
//! tokio::spawn(async move {
//!     let mut ivf = IvfReader::new(&clip[..]).expect("an IVF file");
//!     let mut tick = tokio::time::interval(Duration::from_millis(33));
//!     while let Ok(Some(frame)) = ivf.next_frame() {
//!         tick.tick().await;
//!         let _ = camera.write_sample(Sample::new(frame.data, Duration::from_millis(33)));
//!     }
//! });
//! while let Some(frame) = back.recv_frame().await {
//!     println!("{} bytes, key frame: {}", frame.data.len(), frame.keyframe);
//! }
//! # Ok(()) }
//! ```

use crate::config::{Config, IceServerHost};
use crate::datachannel::{ChannelId, DataChannelInit, DataChannelState, Message};
use crate::error::Error;
use crate::event::{
    Event as CoreEvent, IceConnectionState, IceGatheringState, PeerConnectionState,
};
use crate::peer_connection::{OfferOptions, PeerConnection as Core};
use crate::signaling::{IceCandidateInit, RtcSessionDescription, SignalingState};
use crate::stats::StatsReport;
use crate::transceiver::TransceiverId;
use bytes::Bytes;
use std::collections::{HashMap, VecDeque};
use std::io::IoSliceMut;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot, watch};

mod media;
mod resolve;
mod turn_stream;

pub use media::{LocalTrack, RemoteTrack, RtpSender, RtpTransceiver};

/// What the connection reports through [`Events`] (the W3C events of the connection;
/// messages go to the [`DataChannel`] handles).
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// `negotiationneeded`.
    NegotiationNeeded,
    /// `signalingstatechange`.
    SignalingStateChange(SignalingState),
    /// `icegatheringstatechange`.
    IceGatheringStateChange(IceGatheringState),
    /// `iceconnectionstatechange`.
    IceConnectionStateChange(IceConnectionState),
    /// `connectionstatechange`.
    ConnectionStateChange(PeerConnectionState),
    /// `icecandidate`; `None` is the end-of-candidates null candidate.
    IceCandidate(Option<IceCandidateInit>),
    /// `icecandidateerror`: a STUN or TURN server could not be used while gathering.
    IceCandidateError {
        /// The server's URL.
        url: String,
        /// The STUN error code (e.g. 401), or 701 when the server did not answer.
        error_code: u16,
        /// What went wrong.
        error_text: String,
    },
    /// `datachannel`: the remote opened a channel.
    DataChannel(DataChannel),
    /// `track`: the peer started sending on this transceiver; get the
    /// [`RemoteTrack`] with [`PeerConnection::transceiver`] and
    /// [`RtpTransceiver::receiver_track`].
    Track(TransceiverId),
    /// The peer asked this transceiver's sender for a key frame (PLI or FIR); the track's
    /// [`LocalTrack::keyframe_requested`] wakes too.
    KeyframeRequest {
        /// The transceiver.
        transceiver: TransceiverId,
        /// The simulcast layer asked about.
        rid: Option<String>,
    },
    /// `tonechange` of a sender's DTMF: a tone started, or `""` when the buffer is done.
    DtmfToneChange {
        /// The transceiver.
        transceiver: TransceiverId,
        /// The tone, or empty.
        tone: String,
    },
    /// The connection failed for this reason.
    Failed(Error),
}

/// The event stream of a [`PeerConnection`].
#[derive(Debug)]
pub struct Events {
    rx: mpsc::UnboundedReceiver<Event>,
}

impl Events {
    /// The next event; `None` once the connection's task ended (closed).
    pub async fn recv(&mut self) -> Option<Event> {
        self.rx.recv().await
    }

    /// The next event if one is ready.
    pub fn try_recv(&mut self) -> Option<Event> {
        self.rx.try_recv().ok()
    }
}

type Job = Box<dyn FnOnce(&mut Driver) + Send>;

enum Command {
    Run(Job),
    Send {
        id: ChannelId,
        data: Bytes,
        is_text: bool,
        reply: oneshot::Sender<Result<(), Error>>,
    },
    /// A sample or packet a [`LocalTrack`] writes to a sender.
    Media {
        transceiver: TransceiverId,
        input: media::MediaInput,
    },
}

/// A peer connection running on tokio (W3C `RTCPeerConnection`). Cheap to clone; every
/// clone drives the same connection.
#[derive(Clone, Debug)]
pub struct PeerConnection {
    cmd: mpsc::UnboundedSender<Command>,
    local_addrs: Arc<Vec<SocketAddr>>,
}

impl PeerConnection {
    /// Binds UDP sockets per `config` (interface filter, port range), resolves ICE server
    /// host names, and spawns the connection's task on the current tokio runtime.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a bad configuration; [`Error::Io`] when no socket could
    /// be bound.
    pub async fn new(mut config: Config) -> Result<(PeerConnection, Events), Error> {
        config.validate()?;
        let tls_names = resolve_ice_servers(&mut config).await;
        let tls = turn_stream::TlsSettings::new(tls_names, &config.tls_root_certificates)
            .map_err(Error::InvalidConfig)?;
        let addrs = local_addresses(&config);
        let mut sockets = Vec::new();
        for ip in addrs {
            match bind(ip, config.udp_port_range) {
                Ok(s) => sockets.push(s),
                Err(e) => tracing::debug!(%ip, error = %e, "cannot bind"),
            }
        }
        if sockets.is_empty() {
            return Err(Error::Io("no local address could be bound".into()));
        }
        let mut core = Core::new(config, Instant::now())?;
        if let Ok(since) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            core.set_wall_clock(Instant::now(), since);
        }
        let mut local = Vec::new();
        for s in &sockets {
            if core.add_local_socket(s.addr).is_ok() {
                local.push(s.addr);
            }
        }
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (ev_tx, ev_rx) = mpsc::unbounded_channel();
        let (stream_tx, stream_rx) = mpsc::unbounded_channel();
        let (resolved_tx, resolved_rx) = mpsc::unbounded_channel();
        let driver = Driver {
            resolver: resolve::Resolver::default(),
            resolved_tx,
            streams: turn_stream::Streams::new(tls),
            stream_tx,
            core,
            sockets,
            cmd_tx: cmd_tx.downgrade(),
            events: ev_tx,
            channels: HashMap::new(),
            outgoing: VecDeque::new(),
            rx_arena: bytes::BytesMut::with_capacity(RX_ARENA),
            local_tracks: HashMap::new(),
            remote: HashMap::new(),
            closed: false,
        };
        tokio::spawn(driver.run(cmd_rx, stream_rx, resolved_rx));
        Ok((
            PeerConnection {
                cmd: cmd_tx,
                local_addrs: Arc::new(local),
            },
            Events { rx: ev_rx },
        ))
    }

    /// The local socket addresses (host candidates).
    pub fn local_addresses(&self) -> &[SocketAddr] {
        &self.local_addrs
    }

    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Driver) -> T + Send + 'static,
    ) -> Result<T, Error> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |d: &mut Driver| {
            let r = f(d);
            // The call's events (track, negotiation-needed...) are in the stream before
            // it returns.
            d.flush_core();
            let _ = tx.send(r);
        });
        self.cmd
            .send(Command::Run(job))
            .map_err(|_| Error::Closed)?;
        rx.await.map_err(|_| Error::Closed)
    }

    /// W3C `createOffer`; see [`crate::PeerConnection::create_offer`].
    ///
    /// # Errors
    /// As the core's; [`Error::Closed`] once closed.
    pub async fn create_offer(
        &self,
        options: OfferOptions,
    ) -> Result<RtcSessionDescription, Error> {
        self.with(move |d| d.core.create_offer(options)).await?
    }

    /// W3C `createAnswer`.
    ///
    /// # Errors
    /// As the core's; [`Error::Closed`] once closed.
    pub async fn create_answer(&self) -> Result<RtcSessionDescription, Error> {
        self.with(|d| d.core.create_answer()).await?
    }

    /// W3C `setLocalDescription` (`None`: the implicit form).
    ///
    /// # Errors
    /// As the core's; [`Error::Closed`] once closed.
    pub async fn set_local_description(
        &self,
        desc: Option<RtcSessionDescription>,
    ) -> Result<(), Error> {
        self.with(move |d| d.core.set_local_description(desc))
            .await?
    }

    /// W3C `setRemoteDescription`.
    ///
    /// # Errors
    /// As the core's; [`Error::Closed`] once closed.
    pub async fn set_remote_description(&self, desc: RtcSessionDescription) -> Result<(), Error> {
        self.with(move |d| d.core.set_remote_description(desc))
            .await?
    }

    /// W3C `addIceCandidate` (`None`: end-of-candidates).
    ///
    /// # Errors
    /// As the core's; [`Error::Closed`] once closed.
    pub async fn add_ice_candidate(
        &self,
        candidate: Option<IceCandidateInit>,
    ) -> Result<(), Error> {
        self.with(move |d| d.core.add_ice_candidate(candidate))
            .await?
    }

    /// W3C `restartIce`.
    ///
    /// # Errors
    /// [`Error::Closed`] once closed.
    pub async fn restart_ice(&self) -> Result<(), Error> {
        self.with(|d| d.core.restart_ice()).await?
    }

    /// W3C `localDescription` (with the candidates gathered so far).
    pub async fn local_description(&self) -> Option<RtcSessionDescription> {
        self.with(|d| d.core.local_description())
            .await
            .ok()
            .flatten()
    }

    /// W3C `remoteDescription`.
    pub async fn remote_description(&self) -> Option<RtcSessionDescription> {
        self.with(|d| d.core.remote_description())
            .await
            .ok()
            .flatten()
    }

    /// W3C `signalingState` (`Closed` once the task ended).
    pub async fn signaling_state(&self) -> SignalingState {
        self.with(|d| d.core.signaling_state())
            .await
            .unwrap_or(SignalingState::Closed)
    }

    /// W3C `connectionState`.
    pub async fn connection_state(&self) -> PeerConnectionState {
        self.with(|d| d.core.connection_state())
            .await
            .unwrap_or(PeerConnectionState::Closed)
    }

    /// W3C `iceGatheringState`.
    pub async fn ice_gathering_state(&self) -> IceGatheringState {
        self.with(|d| d.core.ice_gathering_state())
            .await
            .unwrap_or(IceGatheringState::Complete)
    }

    /// W3C `getStats()`, timestamps in milliseconds since the Unix epoch.
    ///
    /// # Errors
    /// [`Error::Closed`] once closed.
    pub async fn stats(&self) -> Result<StatsReport, Error> {
        let ts = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0);
        self.with(move |d| d.core.stats(ts)).await
    }

    /// W3C `createDataChannel`; the handle reports `open` when the association is up.
    ///
    /// # Errors
    /// As the core's; [`Error::Closed`] once closed.
    pub async fn create_data_channel(
        &self,
        label: &str,
        init: DataChannelInit,
    ) -> Result<DataChannel, Error> {
        let label = label.to_owned();
        self.with(move |d| {
            let id = d.core.create_data_channel(&label, init)?;
            let ch = d.channel_handle(id);
            d.flush_core();
            Ok(ch)
        })
        .await?
    }

    /// Runs `f` on the sans-IO core inside the connection's task (for anything this
    /// handle does not wrap: transceivers, the remote max-message-size...).
    ///
    /// # Errors
    /// [`Error::Closed`] once closed.
    pub async fn with_core<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Core) -> T + Send + 'static,
    ) -> Result<T, Error> {
        self.with(move |d| {
            let r = f(&mut d.core);
            d.flush_core();
            r
        })
        .await
    }

    /// W3C `close()`: DTLS close_notify and SCTP ABORT are sent, the task ends, every
    /// socket is closed, every handle's calls fail with [`Error::Closed`]. Idempotent.
    pub async fn close(&self) {
        let _ = self.with(|d| d.close()).await;
        // Returns once the task ended and dropped its sockets.
        self.cmd.closed().await;
    }

    /// Whether the connection's task has ended.
    pub fn is_closed(&self) -> bool {
        self.cmd.is_closed()
    }
}

/// A data channel running on tokio (W3C `RTCDataChannel`).
#[derive(Debug)]
pub struct DataChannel {
    sender: ChannelSender,
    messages: mpsc::UnboundedReceiver<Message>,
}

/// The sending half of a [`DataChannel`]: cheap to clone, usable while another task
/// receives.
#[derive(Debug, Clone)]
pub struct ChannelSender {
    id: ChannelId,
    label: Arc<str>,
    cmd: mpsc::WeakUnboundedSender<Command>,
    state: watch::Receiver<DataChannelState>,
    buffered: watch::Receiver<usize>,
}

impl DataChannel {
    /// The handle id.
    pub fn id(&self) -> ChannelId {
        self.sender.id
    }

    /// The label.
    pub fn label(&self) -> &str {
        &self.sender.label
    }

    /// A sending half for another task.
    pub fn sender(&self) -> ChannelSender {
        self.sender.clone()
    }

    /// The state (W3C `readyState`).
    pub fn ready_state(&self) -> DataChannelState {
        self.sender.ready_state()
    }

    /// Waits until the channel is open.
    ///
    /// # Errors
    /// [`Error::Closed`] if it closed (or the connection did) instead.
    pub async fn wait_open(&mut self) -> Result<(), Error> {
        self.sender.wait_open().await
    }

    /// Bytes queued and not yet sent (W3C `bufferedAmount`), as of the task's last turn.
    pub fn buffered_amount(&self) -> usize {
        self.sender.buffered_amount()
    }

    /// Waits until the buffered amount is at or below `bytes` (flow control: the W3C
    /// `bufferedamountlow` event with the threshold given here).
    ///
    /// # Errors
    /// [`Error::Closed`] if the channel or connection closed.
    pub async fn wait_buffered_amount_below(&mut self, bytes: usize) -> Result<(), Error> {
        self.sender.wait_buffered_amount_below(bytes).await
    }

    /// Sends a binary message.
    ///
    /// # Errors
    /// As [`crate::Channel::send`]; [`Error::Closed`] once closed.
    pub async fn send(&self, data: impl Into<Bytes>) -> Result<(), Error> {
        self.sender.send(data).await
    }

    /// Sends a text message.
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub async fn send_text(&self, text: &str) -> Result<(), Error> {
        self.sender.send_text(text).await
    }

    /// The next message; `None` once the channel is closed and drained.
    pub async fn recv(&mut self) -> Option<Message> {
        self.messages.recv().await
    }

    /// Closes the channel (W3C `close()`).
    pub async fn close(&self) {
        self.sender.close().await;
    }
}

impl ChannelSender {
    /// The state.
    pub fn ready_state(&self) -> DataChannelState {
        *self.state.borrow()
    }

    /// Bytes queued and not yet sent.
    pub fn buffered_amount(&self) -> usize {
        *self.buffered.borrow()
    }

    /// Waits until the channel is open.
    ///
    /// # Errors
    /// [`Error::Closed`] if it closed instead.
    pub async fn wait_open(&mut self) -> Result<(), Error> {
        let s = self
            .state
            .wait_for(|s| *s != DataChannelState::Connecting)
            .await
            .map_err(|_| Error::Closed)?;
        if *s == DataChannelState::Open {
            Ok(())
        } else {
            Err(Error::Closed)
        }
    }

    /// Waits until the buffered amount is at or below `bytes`.
    ///
    /// # Errors
    /// [`Error::Closed`] if the channel or connection closed.
    pub async fn wait_buffered_amount_below(&mut self, bytes: usize) -> Result<(), Error> {
        let r = self
            .buffered
            .wait_for(|b| *b <= bytes)
            .await
            .map(|_| ())
            .map_err(|_| Error::Closed);
        if *self.state.borrow() == DataChannelState::Closed {
            return Err(Error::Closed);
        }
        r
    }

    /// Sends a binary message.
    ///
    /// # Errors
    /// As [`crate::Channel::send`]; [`Error::Closed`] once closed.
    pub async fn send(&self, data: impl Into<Bytes>) -> Result<(), Error> {
        self.send_message(data.into(), false).await
    }

    /// Sends a text message.
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub async fn send_text(&self, text: &str) -> Result<(), Error> {
        self.send_message(Bytes::copy_from_slice(text.as_bytes()), true)
            .await
    }

    async fn send_message(&self, data: Bytes, is_text: bool) -> Result<(), Error> {
        let cmd = self.cmd.upgrade().ok_or(Error::Closed)?;
        let (reply, rx) = oneshot::channel();
        cmd.send(Command::Send {
            id: self.id,
            data,
            is_text,
            reply,
        })
        .map_err(|_| Error::Closed)?;
        drop(cmd);
        rx.await.map_err(|_| Error::Closed)?
    }

    /// Closes the channel.
    pub async fn close(&self) {
        let Some(cmd) = self.cmd.upgrade() else {
            return;
        };
        let id = self.id;
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |d: &mut Driver| {
            if let Some(mut c) = d.core.channel(id) {
                c.close();
            }
            d.flush_core();
            let _ = tx.send(());
        });
        if cmd.send(Command::Run(job)).is_ok() {
            drop(cmd);
            let _ = rx.await;
        }
    }
}

// ---------------------------------------------------------------------- the task

struct Socket {
    socket: UdpSocket,
    state: quinn_udp::UdpSocketState,
    addr: SocketAddr,
}

struct ChannelPipe {
    messages: mpsc::UnboundedSender<Message>,
    state: watch::Sender<DataChannelState>,
    buffered: watch::Sender<usize>,
}

/// The connection's task: owns the core, the sockets and the timer.
struct Driver {
    core: Core,
    sockets: Vec<Socket>,
    /// Connections to TURN servers over TCP and TLS.
    streams: turn_stream::Streams,
    /// Handed to the stream tasks: what they read comes back here.
    stream_tx: mpsc::UnboundedSender<turn_stream::StreamInput>,
    /// Host name lookups (mDNS candidates).
    resolver: resolve::Resolver,
    resolved_tx: mpsc::UnboundedSender<resolve::Resolved>,
    /// A weak sender, handed to channel handles so they do not keep the task alive alone.
    cmd_tx: mpsc::WeakUnboundedSender<Command>,
    events: mpsc::UnboundedSender<Event>,
    channels: HashMap<ChannelId, ChannelPipe>,
    /// Datagrams waiting for a writable socket.
    outgoing: VecDeque<crate::Transmit>,
    /// Where received DTLS and SRTP datagrams are copied for in-place decryption; its
    /// memory is reclaimed once the core dropped the slices.
    rx_arena: bytes::BytesMut,
    /// The local track attached to each sender.
    local_tracks: HashMap<TransceiverId, LocalTrack>,
    /// The readers of each receiver.
    remote: HashMap<TransceiverId, media::RemotePipe>,
    closed: bool,
}

/// Capacity of the receive arena (reused, so rarely reallocated).
const RX_ARENA: usize = 256 * 1024;

/// Receive buffer per datagram slot: room for a GRO batch.
const RECV_BUF: usize = 64 * 1024;

impl Driver {
    async fn run(
        mut self,
        mut cmd_rx: mpsc::UnboundedReceiver<Command>,
        mut stream_rx: mpsc::UnboundedReceiver<turn_stream::StreamInput>,
        mut resolved_rx: mpsc::UnboundedReceiver<resolve::Resolved>,
    ) {
        let slots = quinn_udp::BATCH_SIZE.clamp(1, 32);
        let mut bufs: Vec<Vec<u8>> = (0..slots).map(|_| vec![0u8; RECV_BUF]).collect();
        let mut metas = vec![quinn_udp::RecvMeta::default(); slots];
        let timer = tokio::time::sleep(Duration::from_secs(3600));
        tokio::pin!(timer);
        self.flush_core();
        while !self.closed {
            self.send_pending();
            let deadline = self.core.poll_timeout();
            if let Some(t) = deadline {
                timer.as_mut().reset(tokio::time::Instant::from_std(t));
            }
            let want_write = !self.outgoing.is_empty();
            tokio::select! {
                cmd = cmd_rx.recv() => match cmd {
                    Some(c) => {
                        self.command(c);
                        // Take every queued command before touching the network.
                        while let Ok(c) = cmd_rx.try_recv() {
                            self.command(c);
                        }
                    }
                    None => self.close(),
                },
                r = recv_any(&self.sockets, &mut bufs, &mut metas) => {
                    if let Ok((i, n)) = r {
                        self.received(i, n, &bufs, &metas);
                        // Drain what else is ready without waiting.
                        for _ in 0..16 {
                            match try_recv_any(&self.sockets, &mut bufs, &mut metas) {
                                Some((i, n)) => self.received(i, n, &bufs, &metas),
                                None => break,
                            }
                        }
                    }
                }
                _ = writable_any(&self.sockets), if want_write => {}
                Some((name, addrs)) = resolved_rx.recv() => {
                    self.core.handle_resolved(Instant::now(), &name, &addrs);
                }
                Some(input) = stream_rx.recv() => {
                    self.stream_input(input);
                    while let Ok(input) = stream_rx.try_recv() {
                        self.stream_input(input);
                    }
                }
                _ = &mut timer, if deadline.is_some() => {
                    self.core.handle_timeout(Instant::now());
                }
            }
            self.flush_core();
        }
        // Closed: the last datagrams (close_notify, ABORT, TURN deallocations) go out
        // best effort.
        self.send_pending();
        drop(self.sockets);
        self.resolver.close();
        self.streams.close(Duration::from_millis(500)).await;
    }

    /// A message (or the end) of a TURN server's stream.
    fn stream_input(&mut self, input: turn_stream::StreamInput) {
        match input {
            turn_stream::StreamInput::Message {
                local,
                server,
                data,
            } => {
                let d = crate::Datagram {
                    transport: oxrtc_ice::Protocol::Tcp,
                    local,
                    remote: server,
                    contents: &data,
                };
                self.core.handle_receive(Instant::now(), d);
            }
            turn_stream::StreamInput::Closed {
                local,
                server,
                reason,
            } => {
                self.streams.closed(local, server);
                self.core
                    .handle_stream_closed(Instant::now(), local, server, &reason);
            }
        }
    }

    fn command(&mut self, c: Command) {
        match c {
            Command::Run(job) => job(self),
            Command::Send {
                id,
                data,
                is_text,
                reply,
            } => {
                let r = match self.core.channel(id) {
                    Some(mut ch) if is_text => match std::str::from_utf8(&data) {
                        Ok(t) => ch.send_text(t),
                        Err(_) => Err(Error::InvalidArgument("text is not utf-8")),
                    },
                    Some(mut ch) => ch.send(data),
                    None => Err(Error::UnknownHandle),
                };
                let _ = reply.send(r);
            }
            Command::Media { transceiver, input } => self.media_input(transceiver, input),
        }
    }

    fn received(&mut self, sock: usize, n: usize, bufs: &[Vec<u8>], metas: &[quinn_udp::RecvMeta]) {
        let Some(local) = self.sockets.get(sock).map(|s| s.addr) else {
            return;
        };
        let now = Instant::now();
        for (buf, meta) in bufs.iter().zip(metas).take(n) {
            let data = buf.get(..meta.len).unwrap_or_default();
            let stride = meta.stride.max(1);
            for seg in data.chunks(stride) {
                if matches!(seg.first(), Some(20..=63 | 128..=191)) {
                    // DTLS and SRTP: one copy into the arena, then decrypted in place by
                    // the core (no allocation per datagram once the arena is warm).
                    self.rx_arena.reserve(seg.len());
                    self.rx_arena.extend_from_slice(seg);
                    let d = self.rx_arena.split();
                    self.core.handle_receive_bytes(now, local, meta.addr, d);
                } else {
                    self.core
                        .handle_receive(now, crate::Datagram::udp(local, meta.addr, seg));
                }
            }
        }
    }

    /// Moves the core's outputs: datagrams to the send queue, events to the stream and
    /// the channel handles.
    fn flush_core(&mut self) {
        while let Some(t) = self.core.poll_transmit() {
            self.outgoing.push_back(t);
        }
        while let Some(e) = self.core.poll_event() {
            self.dispatch(e);
        }
        for (id, pipe) in &self.channels {
            let b = self.core.channel(*id).map_or(0, |c| c.buffered_amount());
            if *pipe.buffered.borrow() != b {
                let _ = pipe.buffered.send(b);
            }
        }
        self.send_pending();
    }

    fn channel_handle(&mut self, id: ChannelId) -> DataChannel {
        let (mtx, mrx) = mpsc::unbounded_channel();
        let state = self
            .core
            .channel(id)
            .map_or(DataChannelState::Closed, |c| c.ready_state());
        let label: Arc<str> = self
            .core
            .channel(id)
            .map_or_else(String::new, |c| c.label().to_owned())
            .into();
        let (stx, srx) = watch::channel(state);
        let (btx, brx) = watch::channel(0usize);
        self.channels.insert(
            id,
            ChannelPipe {
                messages: mtx,
                state: stx,
                buffered: btx,
            },
        );
        DataChannel {
            sender: ChannelSender {
                id,
                label,
                cmd: self.cmd_tx.clone(),
                state: srx,
                buffered: brx,
            },
            messages: mrx,
        }
    }

    fn dispatch(&mut self, e: CoreEvent) {
        let ev = match e {
            CoreEvent::NegotiationNeeded => Event::NegotiationNeeded,
            CoreEvent::SignalingStateChange(s) => Event::SignalingStateChange(s),
            CoreEvent::IceGatheringStateChange(s) => Event::IceGatheringStateChange(s),
            CoreEvent::IceConnectionStateChange(s) => Event::IceConnectionStateChange(s),
            CoreEvent::ConnectionStateChange(s) => Event::ConnectionStateChange(s),
            CoreEvent::IceCandidate(c) => Event::IceCandidate(c),
            CoreEvent::IceCandidateError {
                url,
                error_code,
                error_text,
            } => Event::IceCandidateError {
                url,
                error_code,
                error_text,
            },
            CoreEvent::Track(t) => Event::Track(t),
            CoreEvent::RtpPacket {
                transceiver,
                packet,
            } => {
                self.media_packet(transceiver, packet);
                return;
            }
            CoreEvent::Frame { transceiver, frame } => {
                self.media_frame(transceiver, frame);
                return;
            }
            CoreEvent::KeyframeRequest {
                transceiver, rid, ..
            } => {
                self.media_keyframe(transceiver);
                Event::KeyframeRequest { transceiver, rid }
            }
            CoreEvent::DtmfToneChange { transceiver, tone } => {
                Event::DtmfToneChange { transceiver, tone }
            }
            CoreEvent::Failed(e) => Event::Failed(e),
            CoreEvent::ResolveHostname(name) => {
                self.resolver.resolve(name, self.resolved_tx.clone());
                return;
            }
            CoreEvent::DataChannel(id) => Event::DataChannel(self.channel_handle(id)),
            CoreEvent::ChannelOpen(id) => {
                if let Some(p) = self.channels.get(&id) {
                    let _ = p.state.send(DataChannelState::Open);
                }
                return;
            }
            CoreEvent::ChannelMessage { id, message } => {
                if let Some(p) = self.channels.get(&id) {
                    let _ = p.messages.send(message);
                }
                return;
            }
            CoreEvent::ChannelClosed(id) => {
                if let Some(p) = self.channels.remove(&id) {
                    let _ = p.state.send(DataChannelState::Closed);
                }
                return;
            }
            _ => return,
        };
        let _ = self.events.send(ev);
    }

    fn close(&mut self) {
        if self.closed {
            return;
        }
        self.core.close();
        while let Some(t) = self.core.poll_transmit() {
            self.outgoing.push_back(t);
        }
        for (_, p) in self.channels.drain() {
            let _ = p.state.send(DataChannelState::Closed);
        }
        self.closed = true;
    }

    /// Sends queued datagrams, batching runs of equal-sized datagrams to one destination
    /// into one GSO send; stops at the first socket that would block.
    fn send_pending(&mut self) {
        while let Some(first) = self.outgoing.front() {
            if first.transport != oxrtc_ice::Protocol::Udp {
                // To a TURN server over TCP or TLS: its stream task writes it.
                if let Some(t) = self.outgoing.pop_front() {
                    self.streams
                        .send(t.source, t.destination, t.contents, &self.stream_tx);
                }
                continue;
            }
            let (src, dst, size) = (first.source, first.destination, first.contents.len());
            let Some(sock) = self.sockets.iter().find(|s| s.addr == src) else {
                self.outgoing.pop_front();
                continue;
            };
            let max_segments = sock.state.max_gso_segments().clamp(1, 64);
            // Gather a run: same route, same size (the last one may be shorter).
            let mut n = 1;
            let mut total = size;
            if max_segments > 1 {
                while n < max_segments && total + size <= 65000 {
                    match self.outgoing.get(n) {
                        Some(t)
                            if t.source == src
                                && t.transport == oxrtc_ice::Protocol::Udp
                                && t.destination == dst
                                && t.contents.len() <= size
                                && !t.contents.is_empty() =>
                        {
                            total += t.contents.len();
                            n += 1;
                            if t.contents.len() < size {
                                break;
                            }
                        }
                        _ => break,
                    }
                }
            }
            let result = if n == 1 {
                let contents = &first.contents;
                let tx = quinn_udp::Transmit {
                    destination: dst,
                    ecn: None,
                    contents,
                    segment_size: None,
                    src_ip: None,
                };
                sock.socket.try_io(Interest::WRITABLE, || {
                    sock.state.try_send((&sock.socket).into(), &tx)
                })
            } else {
                let mut buf = Vec::with_capacity(total);
                for t in self.outgoing.iter().take(n) {
                    buf.extend_from_slice(&t.contents);
                }
                let tx = quinn_udp::Transmit {
                    destination: dst,
                    ecn: None,
                    contents: &buf,
                    segment_size: Some(size),
                    src_ip: None,
                };
                sock.socket.try_io(Interest::WRITABLE, || {
                    sock.state.try_send((&sock.socket).into(), &tx)
                })
            };
            match result {
                Ok(()) => {
                    self.outgoing.drain(..n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    // A route or size error: drop these datagrams (UDP is lossy anyway).
                    tracing::debug!(error = %e, %dst, "udp send failed");
                    self.outgoing.drain(..n);
                }
            }
        }
    }
}

fn try_recv_any(
    sockets: &[Socket],
    bufs: &mut [Vec<u8>],
    metas: &mut [quinn_udp::RecvMeta],
) -> Option<(usize, usize)> {
    for (i, s) in sockets.iter().enumerate() {
        let mut slices: Vec<IoSliceMut<'_>> = bufs.iter_mut().map(|b| IoSliceMut::new(b)).collect();
        match s.socket.try_io(Interest::READABLE, || {
            s.state.recv((&s.socket).into(), &mut slices, metas)
        }) {
            Ok(n) if n > 0 => return Some((i, n)),
            _ => {}
        }
    }
    None
}

/// Waits until one socket has datagrams and reads a batch: (socket index, slots filled).
async fn recv_any(
    sockets: &[Socket],
    bufs: &mut [Vec<u8>],
    metas: &mut [quinn_udp::RecvMeta],
) -> std::io::Result<(usize, usize)> {
    std::future::poll_fn(|cx: &mut Context<'_>| {
        for (i, s) in sockets.iter().enumerate() {
            loop {
                match s.socket.poll_recv_ready(cx) {
                    Poll::Pending => break,
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Ready(Ok(())) => {}
                }
                let mut slices: Vec<IoSliceMut<'_>> =
                    bufs.iter_mut().map(|b| IoSliceMut::new(b)).collect();
                match s.socket.try_io(Interest::READABLE, || {
                    s.state.recv((&s.socket).into(), &mut slices, metas)
                }) {
                    Ok(n) => return Poll::Ready(Ok((i, n))),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                    // ICMP errors (port unreachable) surface here: skip them.
                    Err(_) => continue,
                }
            }
        }
        Poll::Pending
    })
    .await
}

async fn writable_any(sockets: &[Socket]) {
    std::future::poll_fn(|cx: &mut Context<'_>| {
        for s in sockets {
            if s.socket.poll_send_ready(cx).is_ready() {
                return Poll::Ready(());
            }
        }
        Poll::Pending
    })
    .await;
}

// ---------------------------------------------------------------------- setup helpers

/// The addresses to bind, per the interface filter: loopback, the default route's
/// address (found by routing a UDP socket without sending), and the extra addresses.
fn local_addresses(config: &Config) -> Vec<IpAddr> {
    let f = &config.interface_filter;
    let mut out: Vec<IpAddr> = Vec::new();
    if f.default_route {
        for probe in [
            SocketAddr::from((Ipv4Addr::new(192, 0, 2, 1), 9)),
            SocketAddr::from((Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1), 9)),
        ] {
            if probe.is_ipv6() && !f.ipv6 {
                continue;
            }
            let bind: SocketAddr = if probe.is_ipv4() {
                (Ipv4Addr::UNSPECIFIED, 0).into()
            } else {
                (Ipv6Addr::UNSPECIFIED, 0).into()
            };
            if let Ok(s) = std::net::UdpSocket::bind(bind) {
                if s.connect(probe).is_ok() {
                    if let Ok(a) = s.local_addr() {
                        if f.allows(a.ip()) && !out.contains(&a.ip()) {
                            out.push(a.ip());
                        }
                    }
                }
            }
        }
    }
    if f.loopback {
        out.push(Ipv4Addr::LOCALHOST.into());
        if f.ipv6 {
            out.push(Ipv6Addr::LOCALHOST.into());
        }
    }
    for a in &f.addresses {
        if !out.contains(a) {
            out.push(*a);
        }
    }
    out
}

fn bind(ip: IpAddr, range: Option<(u16, u16)>) -> std::io::Result<Socket> {
    let ports: Vec<u16> = match range {
        Some((lo, hi)) => (lo..=hi).collect(),
        None => vec![0],
    };
    let mut last = std::io::Error::other("empty port range");
    for port in ports {
        let std_sock = match std::net::UdpSocket::bind((ip, port)) {
            Ok(s) => s,
            Err(e) => {
                last = e;
                continue;
            }
        };
        std_sock.set_nonblocking(true)?;
        let state = quinn_udp::UdpSocketState::new((&std_sock).into())?;
        // Room for bursts: a 64 KiB message is ~55 datagrams.
        let _ = state.set_recv_buffer_size((&std_sock).into(), 4 << 20);
        let _ = state.set_send_buffer_size((&std_sock).into(), 4 << 20);
        let socket = UdpSocket::from_std(std_sock)?;
        let addr = socket.local_addr()?;
        return Ok(Socket {
            socket,
            state,
            addr,
        });
    }
    Err(last)
}

/// Replaces ICE server host names by an address (the sans-IO core resolves nothing).
/// Returns the address and host name of every `turns:` server, for TLS.
async fn resolve_ice_servers(config: &mut Config) -> Vec<(SocketAddr, String)> {
    let mut tls = Vec::new();
    for server in &mut config.ice_servers {
        for url in &mut server.urls {
            let Ok(parsed) = url.parse::<crate::config::IceServerUrl>() else {
                continue;
            };
            let secure = parsed.scheme == crate::config::IceServerScheme::Turns;
            let name = match &parsed.host {
                IceServerHost::Ip(ip) => {
                    if secure {
                        tls.push((SocketAddr::new(*ip, parsed.port), ip.to_string()));
                    }
                    continue;
                }
                IceServerHost::Name(name) => name.clone(),
            };
            let found: Option<SocketAddr> =
                match tokio::net::lookup_host((name.as_str(), parsed.port)).await {
                    Ok(mut addrs) => addrs.find(SocketAddr::is_ipv4),
                    Err(e) => {
                        tracing::debug!(%url, error = %e, "ice server name not resolved");
                        None
                    }
                };
            if let Some(a) = found {
                if secure {
                    tls.push((a, name));
                }
                let resolved = crate::config::IceServerUrl {
                    host: IceServerHost::Ip(a.ip()),
                    ..parsed
                };
                *url = resolved.to_string();
            }
        }
    }
    tls
}
