//! RTP and RTCP for WebRTC, sans-IO: wire formats, payload formats and per-stream state.
//!
//! - [`rtp`]: a zero-copy [`RtpPacket`] view and the [`RtpHeader`] value with `write`
//!   (RFC 3550 section 5), RFC 8285 one-byte and two-byte header extensions, an
//!   [`rtp::ExtensionMap`] for `a=extmap` ids, and typed values: abs-send-time,
//!   transport-wide sequence number, sdes:mid, rtp-stream-id, repaired-rtp-stream-id,
//!   ssrc-audio-level (RFC 6464), video-orientation, playout-delay, abs-capture-time and the
//!   AV1 dependency descriptor with its template structure.
//! - [`rtcp`]: [`RtcpPacket`] over SR, RR, SDES, BYE, APP (RFC 3550), generic NACK and PLI
//!   (RFC 4585), FIR and TMMBR/TMMBN (RFC 5104), REMB, transport-wide CC feedback, XR RRTR and
//!   DLRR (RFC 3611); [`RtcpPacket::parse_compound`] takes compound and reduced-size
//!   (RFC 5506) datagrams.
//! - [`codec`]: [`codec::Packetizer`] and [`codec::Depacketizer`] for Opus, G.711, VP8
//!   (RFC 7741), VP9 (RFC 9628), H.264 (RFC 6184), H.265 (RFC 7798) and AV1, with key frame
//!   detection; [`assembler::FrameAssembler`] turns packets into whole frames in order and
//!   reports gaps.
//! - [`receiver::ReceiveStream`]: sequence unwrapping, loss/reorder/duplicate counts, jitter
//!   (RFC 3550 appendix A.8), report blocks with LSR/DLSR, NACK generation with retry limits,
//!   RTT from XR. [`sender::SendStream`]: sequence numbering, a [`sender::PacketHistory`],
//!   NACK answers with RTX (RFC 4588, [`rtx`]) or plain retransmission, sender reports with
//!   the NTP/RTP mapping, RTT from report blocks.
//! - [`transport_cc::TransportFeedbackGenerator`]: transport-wide congestion control
//!   feedback from received transport-wide sequence numbers and arrival times.
//! - [`codec::telephone_event`]: RFC 4733 telephone events (DTMF).
//! - [`container`]: IVF and Ogg Opus files, to feed tracks from clips and save them.
//!
//! Nothing here owns a socket, a clock or a task: time comes in as `now: Instant`, wall clock
//! time for sender reports as an [`NtpTime`] value from the caller, and every output is a
//! returned value. Encryption (SRTP) is another crate's job; this one sees plain packets.
//!
//! # A receive and send loop
//!
//! After every input drain the outputs: frames from the assembler, NACKs from the receive
//! stream, retransmissions from the send stream; wake up at `poll_timeout()` to send NACK
//! retries.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use oxrtc_rtp::assembler::{AssemblerEvent, FrameAssembler};
//! use oxrtc_rtp::codec::{Packetizer, Vp8Depacketizer, Vp8Packetizer};
//! use oxrtc_rtp::receiver::{NackConfig, ReceiveConfig, ReceiveStream};
//! use oxrtc_rtp::sender::{SendConfig, SendStream};
//! use oxrtc_rtp::{RtcpPacket, RtpHeader, RtpPacket, SeqNo, Ssrc};
//!
//! let t0 = Instant::now();
//! let mut tx = SendStream::new(SendConfig::new(Ssrc(7), 90_000), SeqNo(1000), SeqNo(0));
//! let mut rx = ReceiveStream::new(ReceiveConfig {
//!     ssrc: Ssrc(7), local_ssrc: Ssrc(8), clock_rate: 90_000, nack: Some(NackConfig::default()),
//! });
//! let mut frames = FrameAssembler::new(Vp8Depacketizer, 256);
//!
//! // Sender: packetize one key frame into three packets.
//! let frame = [&[0x10u8, 0x02, 0x00, 0x9d, 0x01, 0x2a][..], &[0x55; 2000]].concat();
//! let payloads = Vp8Packetizer::default().packetize(1000, &frame)?;
//! let n = payloads.len();
//! let mut wire = Vec::new();
//! for (i, p) in payloads.iter().enumerate() {
//!     let h = RtpHeader { payload_type: 96, timestamp: 90_000, marker: i + 1 == n, ..Default::default() };
//!     wire.push(tx.send(t0, h, p)?);
//! }
//! wire.remove(1); // the network loses the second packet
//!
//! // Receiver: feed what arrives, then drain.
//! let t1 = t0 + Duration::from_millis(20);
//! for bytes in &wire {
//!     let p = RtpPacket::new_checked(&bytes[..])?;
//!     rx.handle_packet(t1, &p, false);
//!     frames.push_packet(&p);
//! }
//! let nack = rx.poll_nack(t1).expect("the hole is noticed");
//! assert!(frames.poll().is_none()); // the frame waits for its missing packet
//!
//! // The NACK crosses the network as RTCP; the sender answers it.
//! let mut rtcp = Vec::new();
//! RtcpPacket::Nack(nack).write(&mut rtcp)?;
//! let t2 = t1 + Duration::from_millis(20);
//! for packet in RtcpPacket::parse_compound(&rtcp)? {
//!     if let RtcpPacket::Nack(n) = packet {
//!         for resend in tx.handle_nack(t2, &n)? {
//!             let p = RtpPacket::new_checked(&resend[..])?;
//!             rx.handle_packet(t2 + Duration::from_millis(20), &p, true);
//!             frames.push_packet(&p);
//!         }
//!     }
//! }
//! match frames.poll() {
//!     Some(AssemblerEvent::Frame(f)) => assert!(f.keyframe && f.data == frame),
//!     other => panic!("{other:?}"),
//! }
//! assert_eq!(rx.stats().packets_repaired, 1);
//! # Ok::<(), oxrtc_rtp::Error>(())
//! ```
//!
//! # Not yet
//!
//! FEC (RFC 5109 ULPFEC, FlexFEC), RED (RFC 2198), the RFC 8888 congestion control feedback
//! format, send-side bandwidth estimation, H.264
//! packetization-mode 0/2 (STAP-B, MTAP, FU-B), H.265 DONL and PACI, SDES/BYE-driven RTCP
//! interval timing (RFC 3550 section 6.3) and SSRC collision handling: these belong to the
//! peer connection or later work.
#![forbid(unsafe_code)]

pub mod assembler;
mod bits;
pub mod codec;
pub mod container;
mod cursor;
pub mod error;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod receiver;
pub mod rtcp;
pub mod rtp;
pub mod rtx;
pub mod sender;
pub mod transport_cc;
pub mod types;

pub use error::{Error, Result};
pub use rtcp::RtcpPacket;
pub use rtp::{RtpHeader, RtpPacket};
pub use types::{ExtSeqNo, NtpTime, SeqNo, SeqNoUnwrapper, Ssrc};
