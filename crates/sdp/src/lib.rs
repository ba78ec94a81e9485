//! SDP (RFC 8866) parser and writer with typed WebRTC attributes.
//!
//! `oxrtc-sdp` reads the offers and answers that browsers and other WebRTC stacks send and
//! writes ones they accept. A [`SessionDescription`] holds the session-level lines and a list
//! of [`MediaDescription`]s; every `a=` line becomes an [`Attribute`], typed where WebRTC
//! needs it (rtpmap, fmtp, rtcp-fb, extmap, mid, group, msid, ssrc, ssrc-group, rid,
//! simulcast, ICE, DTLS and SCTP attributes...) and kept raw otherwise, in order.
//!
//! - Parse with [`str::parse`] (or [`SessionDescription::parse_with`] for explicit
//!   [`Limits`]); write with [`Display`](core::fmt::Display), which emits the RFC's line
//!   order with CRLF endings. `parse(write(x)) == x` for anything that parsed.
//! - Lenient where browsers are: CRLF or LF, trailing whitespace, blank lines, optional
//!   session lines in any order. Strict where interop needs it: `v=0`, `o=`, `s=`, `t=`
//!   present, typed attributes must follow their grammar. Every error names its line.
//! - Hostile input is bounded: line count, line length and media sections are capped.
//! - Accessors a JSEP implementation needs: kind, port, protocol, formats, mid,
//!   direction (session default applied), BUNDLE groups, [`Codec`]s joined from
//!   rtpmap + fmtp + rtcp-fb, ICE credentials and DTLS fingerprints with session fallback.
//!
//! ```
//! use oxrtc_sdp::{Attribute, Direction, SessionDescription};
//!
//! let offer: SessionDescription = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
//!     a=group:BUNDLE 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n\
//!     a=mid:0\r\na=recvonly\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 useinbandfec=1\r\n"
//!     .parse()?;
//! let audio = &offer.media[0];
//! assert_eq!(audio.mid(), Some("0"));
//! assert_eq!(offer.effective_direction(audio), Direction::RecvOnly);
//! let opus = &audio.codecs()[0];
//! assert_eq!((opus.encoding_name.as_str(), opus.clock_rate, opus.channels()), ("opus", 48000, 2));
//! assert_eq!(opus.fmtp_param("useinbandfec"), Some("1"));
//!
//! // Build an answer section and write it.
//! let mut answer = SessionDescription::new(oxrtc_sdp::Origin::new(7, 1));
//! let mut m = oxrtc_sdp::MediaDescription::new(audio.kind.clone(), 9, audio.protocol.clone())
//!     .with_attribute(Attribute::Mid("0".into()))
//!     .with_attribute(Attribute::Direction(Direction::SendOnly));
//! m.add_codec(opus);
//! answer.media.push(m);
//! assert!(answer.to_string().contains("a=rtpmap:111 opus/48000/2\r\n"));
//! # Ok::<(), oxrtc_sdp::Error>(())
//! ```
//!
//! Not done here: offer/answer negotiation itself (that is JSEP, in crate `oxrtc`) and the
//! ICE candidate grammar (`a=candidate` values stay strings; `oxrtc-ice` parses them).
#![forbid(unsafe_code)]

mod attribute;
mod codec;
mod error;
mod media;
mod session;
mod simulcast;

#[cfg(feature = "fuzzing")]
pub mod fuzzing;

pub use attribute::{
    Attribute, Direction, Extmap, Fingerprint, Fmtp, Group, HashFunction, Msid, MsidSemantic, Rtcp,
    RtcpFb, RtcpFeedback, Rtpmap, Sctpmap, Setup, Ssrc, SsrcAttribute, SsrcGroup,
};
pub use codec::Codec;
pub use error::{Error, ErrorKind};
pub use media::{MediaDescription, MediaKind, Protocol};
pub use session::{Bandwidth, Connection, Limits, Origin, SessionDescription, Timing};
pub use simulcast::{Rid, RidDirection, RidRestriction, Simulcast, SimulcastId};

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
