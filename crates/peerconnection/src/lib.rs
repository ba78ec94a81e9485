//! `oxrtc`: a WebRTC `RTCPeerConnection` for Rust.
//!
//! It composes the oxrtc protocol crates — `oxrtc-sdp` (SDP), `oxrtc-ice` (ICE),
//! `oxrtc-dtls` (DTLS), `oxrtc-sctp` (SCTP and data channels), `oxrtc-srtp` (SRTP keys) —
//! into the peer connection of the W3C API:
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
//! - The transceiver model (mid, direction, current direction, stop) that media builds on.
//! - Signaling objects with the browser's JSON shapes ([`RtcSessionDescription`],
//!   [`IceCandidateInit`]).
//!
//! [`create_answer`]: PeerConnection::create_answer
//! [`set_local_description`]: PeerConnection::set_local_description
//! [`set_remote_description`]: PeerConnection::set_remote_description
//! [`restart_ice`]: PeerConnection::restart_ice
//! [`create_data_channel`]: PeerConnection::create_data_channel
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
#![forbid(unsafe_code)]

mod channel;
mod config;
mod datachannel;
mod error;
mod event;
mod ice;
mod jsep;
mod peer_connection;
mod signaling;
mod transceiver;
mod transport;

pub use channel::Channel;
pub use config::{
    Config, DtlsRole, IceServer, IceServerScheme, IceServerTransport, IceServerUrl,
    IceTransportPolicy, InterfaceFilter,
};
pub use datachannel::{ChannelId, DataChannelInit, DataChannelState, Message};
pub use error::Error;
pub use event::{Event, IceConnectionState, IceGatheringState, PeerConnectionState};
pub use peer_connection::{OfferOptions, PeerConnection};
pub use signaling::{IceCandidateInit, RtcSessionDescription, SdpType, SignalingState};
pub use transceiver::{Direction, MediaKind, Transceiver, TransceiverId, TransceiverInit};
pub use transport::{Datagram, DtlsTransportState, Transmit};

/// The SDP crate, re-exported for access to parsed descriptions.
pub use oxrtc_sdp as sdp;

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
