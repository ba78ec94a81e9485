//! SCTP (RFC 9260) over DTLS (RFC 8261) as a sans-IO state machine, with WebRTC data channels
//! (RFC 8831) and their establishment protocol DCEP (RFC 8832) on top.
//!
//! [`Association`] owns no socket, no clock and no task. The caller feeds it the SCTP packets
//! that DTLS delivered ([`Association::handle_receive`]) and the time
//! ([`Association::handle_timeout`]), gives it commands ([`Association::open_channel`],
//! [`Association::send`], [`Association::close_channel`]), and drains its outputs: packets for
//! DTLS ([`Association::poll_transmit`]), events ([`Association::poll_event`]) and the next
//! deadline ([`Association::poll_timeout`]).
//!
//! What is in it:
//! - the wire formats of RFC 9260 and its extensions ([`wire`]): every chunk including
//!   FORWARD TSN (RFC 3758), RE-CONFIG (RFC 6525), I-DATA / I-FORWARD-TSN (RFC 8260), and the
//!   zero checksum parameter (RFC 9653);
//! - the association: simultaneous open as WebRTC does it, an HMAC-SHA-256 state cookie with
//!   a lifetime, delayed SACK, RTO per RFC 9260 §6.3, fast retransmit and fast recovery,
//!   slow start and congestion avoidance, receiver window, heartbeats, shutdown and abort;
//! - user messages: fragmentation and reassembly up to a configurable size, ordered and
//!   unordered delivery, partial reliability by retransmissions or lifetime, interleaving
//!   when I-DATA is negotiated, stream reset when a channel closes;
//! - stream reconfiguration (RFC 6525): outgoing and incoming SSN resets both ways
//!   ([`Association::request_incoming_reset`]), the peer adding outgoing streams;
//! - data channels: DCEP ([`dcep`]) with channel types, priority, label and protocol,
//!   stream ids by DTLS role, the empty-message PPIDs, pre-negotiated channels, buffered
//!   amount and its low-threshold event.
//!
//! # Run loop
//!
//! Two associations talking in memory (in a peer connection, DTLS sits in between):
//!
//! ```
//! use oxrtc_sctp::{Association, ChannelConfig, Config, Event};
//! use rand_chacha::rand_core::SeedableRng;
//! use std::time::Instant;
//!
//! let now = Instant::now();
//! let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1); // use an OS-seeded CSPRNG
//! let mut client = Association::new(Config::default(), true, now, &mut rng);
//! let mut server = Association::new(Config::default(), false, now, &mut rng);
//! let chat = client.open_channel(ChannelConfig::new("chat"))?;
//!
//! let mut got = None;
//! for _ in 0..10 {
//!     // After every input: drain packets, then events, then ask for the next deadline.
//!     while let Some(packet) = client.poll_transmit() {
//!         server.handle_receive(now, &packet)?;
//!     }
//!     while let Some(packet) = server.poll_transmit() {
//!         client.handle_receive(now, &packet)?;
//!     }
//!     while let Some(event) = client.poll_event() {
//!         if let Event::ChannelOpen { id, .. } = event {
//!             client.send(id, "hello", true)?;
//!         }
//!     }
//!     while let Some(event) = server.poll_event() {
//!         if let Event::Message { id, data, is_text } = event {
//!             got = Some((id, data, is_text));
//!         }
//!     }
//!     let _next_wakeup = client.poll_timeout(); // then call handle_timeout(at) when due
//! }
//! assert_eq!(got, Some((chat, "hello".into(), true)));
//! # Ok::<(), oxrtc_sctp::Error>(())
//! ```
//!
//! # Not done yet
//! - Association restart (RFC 9260 §5.2.4 case A) is refused; a peer restart shows as a dead
//!   association. Multi-homing is out of scope (one DTLS path).
//! - Channel priority is carried in DCEP but the scheduler is plain round robin.
//! - SSN/TSN reset and Add Incoming Streams requests (RFC 6525 §5.2.4, §5.2.6) are answered
//!   "denied"; we never ask to add streams.
//! - No ECN, no AUTH chunks (RFC 4895): WebRTC does not use them over DTLS.
#![forbid(unsafe_code)]

mod association;
pub mod config;
mod cookie;
pub mod dcep;
pub mod error;
mod recv;
mod send;
pub mod wire;

pub use association::{Association, CloseReason, Event, State, Stats};
pub use config::{ChannelConfig, Config};
pub use error::{Error, Result};

#[cfg(feature = "fuzzing")]
pub mod fuzzing;
