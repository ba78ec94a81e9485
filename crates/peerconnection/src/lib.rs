//! `oxrtc`: a WebRTC `RTCPeerConnection` for Rust.
//!
//! It composes the oxrtc protocol crates — `oxrtc-sdp` (SDP), `oxrtc-ice` (ICE),
//! `oxrtc-dtls` (DTLS), `oxrtc-sctp` (SCTP and data channels), `oxrtc-srtp` (SRTP),
//! `oxrtc-rtp` (RTP, RTCP, payload formats) — into the peer connection of the W3C API:
//!
//! - JSEP (RFC 8829): [`PeerConnection::create_offer`] / [`create_answer`], the implicit
//!   and explicit [`set_local_description`], [`set_remote_description`] with rollback,
//!   the W3C signaling state machine, pending and current descriptions,
//!   negotiation-needed, [`restart_ice`], trickle ICE with end-of-candidates. Offers are
//!   unified plan with one BUNDLE group, rtcp-mux, `a=ice-options:trickle`, a sha-256
//!   fingerprint and `a=setup:actpass`; answers take `a=setup:active`.
//! - Data channels (RFC 8831, RFC 8832) over SCTP over DTLS: [`create_data_channel`],
//!   the datachannel event, text and binary messages, buffered amount and its low
//!   threshold, the remote's max-message-size enforced.
//! - One UDP 5-tuple demultiplexed by first byte (RFC 7983): STUN, DTLS, SRTP.
//! - Media ([`media`]): transceivers ([`add_transceiver`], [`add_track`],
//!   [`replace_track`], directions for hold and resume), codecs negotiated by payload
//!   type in a browser-like order, SRTP; [`RtpSender`] writes encoded samples or forwards
//!   RTP packets (RTX answers NACKs, sender reports, simulcast by rid, DTMF),
//!   [`RtpReceiver`] delivers packets ([`Event::RtpPacket`]) or frames ([`Event::Frame`])
//!   with NACK, PLI/FIR, receiver reports and transport-cc feedback; encoded-frame
//!   transforms; RTP stats.
//! - Signaling objects with the browser's JSON shapes ([`RtcSessionDescription`],
//!   [`IceCandidateInit`]); [`PerfectNegotiation`] for glare-free renegotiation;
//!   [`PeerConnection::stats`] as W3C `RTCStats` objects.
//! - A tokio runtime (module `runtime`, feature `tokio`, on by default): one task per
//!   connection owns the core, its sockets and one timer; batched UDP I/O (GSO/GRO);
//!   TURN over UDP, TCP and TLS (`turns:`, rustls); remote mDNS candidates resolved with
//!   mdns-sd (feature `mdns`, on by default).
//! - Name resolution stays outside the core: it asks with [`Event::ResolveHostname`] and
//!   takes the answer with [`PeerConnection::handle_resolved`]; TCP to TURN servers is
//!   the caller's too ([`Transmit::transport`] `Tcp`, see
//!   [`PeerConnection::handle_receive`] and [`PeerConnection::handle_stream_closed`]).
//!
//! Not done here yet: send-side bandwidth estimation and pacing, FEC/RED, ICE over TCP
//! (RFC 6544) in the runtime, `stuns:` servers.
//!
//! [`create_answer`]: PeerConnection::create_answer
//! [`set_local_description`]: PeerConnection::set_local_description
//! [`set_remote_description`]: PeerConnection::set_remote_description
//! [`restart_ice`]: PeerConnection::restart_ice
//! [`create_data_channel`]: PeerConnection::create_data_channel
//! [`add_transceiver`]: PeerConnection::add_transceiver
//! [`add_track`]: PeerConnection::add_track
//! [`replace_track`]: PeerConnection::replace_track
//!
//! # The run loop
//!
//! [`PeerConnection`] is sans-IO: it owns no socket, no clock and no task. The caller
//! reports its UDP sockets ([`PeerConnection::add_local_socket`]), feeds datagrams
//! ([`handle_receive`](PeerConnection::handle_receive)) and time
//! ([`handle_timeout`](PeerConnection::handle_timeout)), and after every input or command
//! drains [`poll_transmit`](PeerConnection::poll_transmit) (datagrams to send) and
//! [`poll_event`](PeerConnection::poll_event) until both are empty, then sleeps until the
//! next datagram or [`poll_timeout`](PeerConnection::poll_timeout). The [`runtime`] module
//! (feature `tokio`) does exactly that with real sockets. Here two peers talk in memory:
//!
//! ```
//! use oxrtc::{Config, DataChannelInit, Datagram, Event, Message, PeerConnection};
//! use std::time::{Duration, Instant};
//!
//! let mut now = Instant::now();
//! let mut a = PeerConnection::new(Config::default(), now)?;
//! let mut b = PeerConnection::new(Config::default(), now)?;
//! a.add_local_socket("127.0.0.1:5000".parse().unwrap())?;
//! b.add_local_socket("127.0.0.1:6000".parse().unwrap())?;
//! let chat = a.create_data_channel("chat", DataChannelInit::default())?;
//! a.set_local_description(None)?;
//! b.set_remote_description(a.local_description().unwrap())?;
//! b.set_local_description(None)?;
//! a.set_remote_description(b.local_description().unwrap())?;
//!
//! let mut received = None;
//! while received.is_none() {
//!     // Outputs: datagrams (here handed straight to the other peer) and events.
//!     while let Some(t) = a.poll_transmit() {
//!         b.handle_receive(now, Datagram::udp(t.destination, t.source, &t.contents));
//!     }
//!     while let Some(t) = b.poll_transmit() {
//!         a.handle_receive(now, Datagram::udp(t.destination, t.source, &t.contents));
//!     }
//!     while let Some(event) = a.poll_event() {
//!         if event == Event::ChannelOpen(chat) {
//!             a.channel(chat).unwrap().send_text("hello")?;
//!         }
//!     }
//!     while let Some(event) = b.poll_event() {
//!         if let Event::ChannelMessage { message, .. } = event {
//!             received = Some(message);
//!         }
//!     }
//!     // Time: jump to the next deadline (a real loop sleeps until it or a datagram).
//!     now = [a.poll_timeout(), b.poll_timeout()].into_iter().flatten().min()
//!         .unwrap_or(now + Duration::from_millis(10)).max(now);
//!     a.handle_timeout(now);
//!     b.handle_timeout(now);
//! }
//! assert_eq!(received, Some(Message::Text("hello".into())));
//! # Ok::<(), oxrtc::Error>(())
//! ```
//!
//! # Negotiation
//!
//! ```
//! use oxrtc::{Config, DataChannelInit, PeerConnection, SignalingState};
//! use std::time::Instant;
//!
//! let now = Instant::now();
//! let mut alice = PeerConnection::new(Config::default(), now)?;
//! let mut bob = PeerConnection::new(Config::default(), now)?;
//! alice.create_data_channel("chat", DataChannelInit::default())?;
//!
//! alice.set_local_description(None)?; // implicit createOffer
//! let offer = alice.local_description().expect("offer");
//! // ... send `offer.to_json()` to bob: {"type":"offer","sdp":"v=0..."}
//! bob.set_remote_description(offer)?;
//! bob.set_local_description(None)?; // implicit createAnswer
//! alice.set_remote_description(bob.local_description().expect("answer"))?;
//! assert_eq!(alice.signaling_state(), SignalingState::Stable);
//! # Ok::<(), oxrtc::Error>(())
//! ```
//!
//! # Media
//!
//! Two peers in memory: one sends VP8 frames, the other receives them assembled. The run
//! loop is the same as above; media adds its timers to `poll_timeout`.
//!
//! ```
//! use oxrtc::{Config, Datagram, Event, MediaKind, MediaStreamTrack, PeerConnection, Sample};
//! use std::time::{Duration, Instant};
//!
//! let mut now = Instant::now();
//! let mut a = PeerConnection::new(Config::default(), now)?;
//! let mut b = PeerConnection::new(Config::default(), now)?;
//! a.add_local_socket("127.0.0.1:5000".parse().unwrap())?;
//! b.add_local_socket("127.0.0.1:6000".parse().unwrap())?;
//! let cam = a.add_track(MediaStreamTrack::new(MediaKind::Video, "cam"), &["s"])?;
//! a.set_local_description(None)?;
//! b.set_remote_description(a.local_description().unwrap())?;
//! let rx = b.transceivers().next().unwrap().id(); // made by the offer, recvonly
//! b.receiver(rx).unwrap().set_deliver_frames(true);
//! b.set_local_description(None)?;
//! a.set_remote_description(b.local_description().unwrap())?;
//!
//! let key_frame = vec![0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00, 7, 7];
//! let mut got = None;
//! for _ in 0..1000 {
//!     while let Some(t) = a.poll_transmit() {
//!         b.handle_receive(now, Datagram::udp(t.destination, t.source, &t.contents));
//!     }
//!     while let Some(t) = b.poll_transmit() {
//!         a.handle_receive(now, Datagram::udp(t.destination, t.source, &t.contents));
//!     }
//!     while a.poll_event().is_some() {}
//!     while let Some(e) = b.poll_event() {
//!         if let Event::Frame { frame, .. } = e {
//!             got = Some(frame);
//!         }
//!     }
//!     if got.is_some() {
//!         break;
//!     }
//!     // Once connected, the sender takes samples (before, it says it does not send).
//!     let sample = Sample::new(key_frame.clone(), Duration::from_millis(33));
//!     let _ = a.sender(cam).unwrap().write_sample(now, sample);
//!     now = [a.poll_timeout(), b.poll_timeout()].into_iter().flatten().min()
//!         .unwrap_or(now + Duration::from_millis(10))
//!         .clamp(now, now + Duration::from_millis(33));
//!     a.handle_timeout(now);
//!     b.handle_timeout(now);
//! }
//! let frame = got.expect("a frame");
//! assert!(frame.keyframe);
//! assert_eq!(frame.data, key_frame);
//! # Ok::<(), oxrtc::Error>(())
//! ```
#![forbid(unsafe_code)]

mod channel;
mod config;
mod datachannel;
mod error;
mod event;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod ice;
mod jsep;
pub mod media;
mod negotiation;
mod peer_connection;
#[cfg(feature = "tokio")]
pub mod runtime;
mod signaling;
mod stats;
mod transceiver;
mod transport;

pub use channel::Channel;
pub use config::{
    Config, DtlsRole, IceServer, IceServerHost, IceServerScheme, IceServerTransport, IceServerUrl,
    IceServerUrlError, IceTransportPolicy, InterfaceFilter,
};
pub use datachannel::{ChannelId, DataChannelInit, DataChannelState, Message};
pub use error::Error;
pub use event::{Event, IceConnectionState, IceGatheringState, PeerConnectionState};
pub use media::{
    EncodedFrame, FrameTransform, KeyframeRequestKind, MediaPacket, MediaStreamTrack,
    RtpEncodingParameters, RtpReceiver, RtpSender, Sample,
};
pub use negotiation::PerfectNegotiation;
pub use peer_connection::{OfferOptions, PeerConnection};
pub use signaling::{IceCandidateInit, RtcSessionDescription, SdpType, SignalingState};
pub use stats::{
    CandidatePairStats, CandidateStats, CertificateStats, DataChannelStats, PeerConnectionStats,
    Stats, StatsReport, TransportStats,
};
pub use transceiver::{Direction, MediaKind, Transceiver, TransceiverId, TransceiverInit};
pub use transport::{Datagram, DtlsTransportState, Transmit};

/// The SDP crate, re-exported for access to parsed descriptions.
pub use oxrtc_sdp as sdp;

/// The RTP crate, re-exported: packets, payload formats, media files
/// ([`rtp::container`]).
pub use oxrtc_rtp as rtp;

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
