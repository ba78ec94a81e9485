//! SRTP and SRTCP (RFC 3711, RFC 7714) for Rust: the four protection profiles WebRTC
//! negotiates, per-SSRC rollover counters and replay windows, in place and without
//! allocating per packet.
//!
//! - Profiles ([`SrtpProfile`]): `SRTP_AES128_CM_HMAC_SHA1_80`,
//!   `SRTP_AES128_CM_HMAC_SHA1_32` (RFC 3711, RFC 5764) and `SRTP_AEAD_AES_128_GCM`,
//!   `SRTP_AEAD_AES_256_GCM` (RFC 7714), with their DTLS-SRTP profile ids.
//! - Key derivation (RFC 3711 §4.3, key derivation rate 0) of the SRTP and SRTCP session
//!   keys from a master key and salt, given directly ([`Context::new`]) or split from the
//!   DTLS exporter output ([`ContextPair::from_keying_material`], RFC 5764 §4.2).
//! - Per-SSRC state: rollover counter estimation (RFC 3711 §3.3.1) across 65535→0 with
//!   reordering, a replay window (default 128 packets, configurable), SRTCP index with
//!   the E flag; streams created on their first packet when the [`Policy`] allows.
//! - Receiving checks the replay window and the tag (constant time) before it decrypts
//!   or changes any state; every failure is a distinct [`Error`].
//!
//! Crypto comes from ring (AES-GCM) and RustCrypto (`aes` + `ctr` for AES-CM, `hmac` +
//! `sha1` for HMAC-SHA1, both using the CPU's AES-NI and SHA extensions).
//!
//! # Use
//!
//! A context is one direction. A DTLS-SRTP endpoint builds both from the exporter output;
//! the sender protects into a buffer with room for the trailer, the receiver unprotects in
//! place:
//!
//! ```
//! use oxrtc_srtp::{ContextPair, Policy, SrtpProfile};
//!
//! let profile = SrtpProfile::AeadAes128Gcm;
//! // In a real session: the DTLS exporter's "EXTRACTOR-dtls_srtp" output.
//! let material = vec![0x42; profile.keying_material_len()];
//! let mut client = ContextPair::from_keying_material(profile, &material, true, Policy::default())?;
//! let mut server = ContextPair::from_keying_material(profile, &material, false, Policy::default())?;
//!
//! // A 12-byte RTP header (V=2, PT 96, seq 65535, SSRC 0x1234) and a payload...
//! let mut buf = [0u8; 1500];
//! let rtp = [0x80, 96, 0xff, 0xff, 0, 0, 0, 1, 0, 0, 0x12, 0x34, b'h', b'i'];
//! buf[..rtp.len()].copy_from_slice(&rtp);
//! // ...protected in place: the tag goes after it.
//! let n = client.outbound.protect_rtp(&mut buf, rtp.len())?;
//! assert_eq!(n, rtp.len() + profile.rtp_auth_tag_len());
//!
//! // The receiver authenticates, then decrypts in place.
//! let m = server.inbound.unprotect_rtp(&mut buf[..n])?;
//! assert_eq!(&buf[..m], &rtp[..]);
//! // The same packet again is a replay.
//! # let mut again = [0u8; 1500];
//! # again[..rtp.len()].copy_from_slice(&rtp);
//! # let mut other = ContextPair::from_keying_material(profile, &material, true, Policy::default())?;
//! # let n = other.outbound.protect_rtp(&mut again, rtp.len())?;
//! assert_eq!(
//!     server.inbound.unprotect_rtp(&mut again[..n]),
//!     Err(oxrtc_srtp::Error::ReplayDuplicate)
//! );
//! # Ok::<(), oxrtc_srtp::Error>(())
//! ```
//!
//! # Not done (yet)
//!
//! MKI (RFC 3711 §3.1), key derivation rates other than 0, the AES-256-CM and NULL
//! profiles, encrypted header extensions (RFC 6904) and cryptex, SSRC-specific keys, and
//! rekeying a live context (make a new one).
#![forbid(unsafe_code)]

mod context;
mod error;
mod kdf;
mod profile;
mod replay;
mod transform;

#[cfg(feature = "fuzzing")]
pub mod fuzzing;

pub use context::{Context, ContextPair, Policy};
pub use error::Error;
pub use profile::SrtpProfile;
pub use replay::{MAX_REPLAY_WINDOW, MIN_REPLAY_WINDOW};
