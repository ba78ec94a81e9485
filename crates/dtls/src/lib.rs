//! DTLS 1.2 (RFC 6347) client and server for WebRTC, sans-IO.
//!
//! A [`Connection`] is a deterministic state machine: it owns no socket, no clock and no
//! task. The caller feeds it datagrams and time, and drains datagrams to send, events and
//! the next timer deadline. It implements what WebRTC needs (RFC 8827, RFC 8842):
//!
//! - the record layer of RFC 6347 §4.1: epochs, 48-bit sequence numbers, a 64-record
//!   anti-replay window, AEAD protection (AES-GCM with explicit nonces, RFC 5288;
//!   ChaCha20-Poly1305, RFC 7905), several records per datagram;
//! - handshake fragmentation to the MTU (the ClientHello too), reassembly of
//!   out-of-order and overlapping fragments, flight retransmission with a doubling timer
//!   (RFC 6347 §4.2.3–§4.2.4);
//! - a stateless HMAC cookie in HelloVerifyRequest on the server (RFC 6347 §4.2.1). A
//!   ClientHello that arrives in several fragments (Chromium's, with its post-quantum key
//!   share, does not fit one datagram) is reassembled first, before and after the cookie
//!   exchange, in one bounded buffer per connection (at most 16 KiB in at most 32
//!   pieces; fragments of an older ClientHello are dropped);
//! - the full ECDHE handshake with mutual certificate authentication, the peer
//!   certificate pinned by its SDP fingerprint (RFC 8122 §5), signatures verified with the
//!   certificate's key; extended_master_secret required (RFC 7627);
//! - use_srtp (RFC 5764) and the keying material exporter (RFC 5705) with the
//!   RFC 5764 §4.2 split ([`Connection::srtp_keying_material`]).
//!
//! Suites: `TLS_ECDHE_{ECDSA,RSA}_WITH_{AES_128_GCM_SHA256, AES_256_GCM_SHA384,
//! CHACHA20_POLY1305_SHA256}`. Groups: x25519, secp256r1, secp384r1. All cryptography is
//! ring's (AEAD, ECDHE, signatures, HMAC for the PRF); certificates are made by rcgen and
//! read by x509-parser.
//!
//! # The run loop
//!
//! After every input (`handle_receive`, `handle_timeout`) or command, drain
//! `poll_transmit` and `poll_event` until `None`, then wait for the next datagram or
//! `poll_timeout`, whichever comes first.
//!
//! ```
//! use oxrtc_dtls::{Certificate, Config, Connection, Event, FingerprintAlgorithm, Role};
//! use rand_chacha::rand_core::SeedableRng;
//! use std::time::Instant;
//!
//! let (a, b) = (Certificate::generate()?, Certificate::generate()?);
//! let mut cfg = Config::new(Role::Client, a.clone());
//! cfg.expected_remote_fingerprints = vec![b.fingerprint(FingerprintAlgorithm::Sha256)];
//! let now = Instant::now();
//! // Any `CryptoRng`; seed it from the OS in production (e.g. `StdRng::from_os_rng()`).
//! let rng = |seed| rand_chacha::ChaCha20Rng::seed_from_u64(seed);
//! let mut client = Connection::new(cfg, now, rng(1))?;
//!
//! let scfg = Config::new(Role::Server, b);
//! // The fingerprint may also be set later, when the remote SDP arrives.
//! let mut server = Connection::new(scfg, now, rng(2))?;
//! server.set_expected_remote_fingerprints(vec![a.fingerprint(FingerprintAlgorithm::Sha256)]);
//!
//! // Here both "sockets" are in memory; a real loop sends with UDP and sleeps until
//! // the next datagram or `poll_timeout()`, then calls `handle_timeout`.
//! let mut connected = 0;
//! while connected < 2 {
//!     while let Some(d) = client.poll_transmit() {
//!         server.handle_receive(now, &d)?;
//!     }
//!     while let Some(d) = server.poll_transmit() {
//!         client.handle_receive(now, &d)?;
//!     }
//!     for conn in [&mut client, &mut server] {
//!         while let Some(e) = conn.poll_event() {
//!             if let Event::Connected { srtp_profile } = e {
//!                 println!("connected, SRTP profile {srtp_profile:?}");
//!                 connected += 1;
//!             }
//!         }
//!     }
//! }
//! let keys = client.srtp_keying_material()?;
//! assert_eq!(keys, server.srtp_keying_material()?);
//! client.send_application_data(b"hello")?;
//! server.handle_receive(now, &client.poll_transmit().unwrap())?;
//! assert_eq!(server.poll_event(), Some(Event::ApplicationData(b"hello".to_vec())));
//! # Ok::<(), oxrtc_dtls::Error>(())
//! ```
//!
//! # The allocation-free record path
//!
//! [`Connection::send_application_data`] + [`Connection::poll_transmit`] and
//! [`Connection::handle_receive`] + [`Event::ApplicationData`] copy each record into a
//! fresh `Vec`. For bulk data use instead:
//!
//! - [`Connection::seal_application_data`]: seals one record straight into the caller's
//!   reusable `Vec<u8>` (after any header of the caller's, e.g. TURN's), or
//!   [`Connection::poll_transmit_into`], which swaps datagrams into the caller's buffer
//!   and reuses the spent ones for later records;
//! - [`Connection::handle_receive_bytes`]: takes the datagram as a `bytes::BytesMut`,
//!   decrypts in place and reports [`Event::ApplicationDataBytes`], a `Bytes` slice of
//!   that buffer.
//!
//! ```
//! # use oxrtc_dtls::{Certificate, Config, Connection, Event, FingerprintAlgorithm, Role, State};
//! # use rand_chacha::rand_core::SeedableRng;
//! # use std::time::Instant;
//! # fn pair() -> Result<(Connection, Connection), oxrtc_dtls::Error> {
//! #     let (a, b) = (Certificate::generate()?, Certificate::generate()?);
//! #     let mut c = Config::new(Role::Client, a.clone());
//! #     c.expected_remote_fingerprints = vec![b.fingerprint(FingerprintAlgorithm::Sha256)];
//! #     let mut s = Config::new(Role::Server, b);
//! #     s.expected_remote_fingerprints = vec![a.fingerprint(FingerprintAlgorithm::Sha256)];
//! #     let now = Instant::now();
//! #     let mut client = Connection::new(c, now, rand_chacha::ChaCha20Rng::seed_from_u64(1))?;
//! #     let mut server = Connection::new(s, now, rand_chacha::ChaCha20Rng::seed_from_u64(2))?;
//! #     while client.state() != State::Connected || server.state() != State::Connected {
//! #         while let Some(d) = client.poll_transmit() { server.handle_receive(now, &d)?; }
//! #         while let Some(d) = server.poll_transmit() { client.handle_receive(now, &d)?; }
//! #     }
//! #     while client.poll_event().is_some() {}
//! #     while server.poll_event().is_some() {}
//! #     Ok((client, server))
//! # }
//! let (mut client, mut server) = pair()?;
//! let now = Instant::now();
//! let mut datagram = Vec::with_capacity(1500); // reused for every send
//! let mut rx = bytes::BytesMut::with_capacity(64 * 1024); // receive buffer, reused
//! for _ in 0..3 {
//!     datagram.clear();
//!     client.seal_application_data(&[0x5a; 1200], &mut datagram)?;
//!     // socket.send(&datagram); on the far side, recv into `rx`:
//!     rx.extend_from_slice(&datagram);
//!     server.handle_receive_bytes(now, rx.split())?;
//!     while let Some(e) = server.poll_event() {
//!         if let Event::ApplicationDataBytes(data) = e {
//!             assert_eq!(data.len(), 1200); // a slice of rx's memory
//!         }
//!     }
//!     rx.reserve(1500); // reclaims the space once the slices are dropped
//! }
//! # Ok::<(), oxrtc_dtls::Error>(())
//! ```
//!
//! # Randomness
//!
//! The 32-byte client and server randoms are drawn whole from the caller's RNG: the first
//! four bytes are not `gmt_unix_time` (RFC 5246 §7.4.1.2). A clock-derived field
//! fingerprints hosts and needs a clock this crate does not read; RFC 8446 §4.1.2 and
//! current TLS stacks fill the whole random, and no peer checks those bytes.
//!
//! # What it does not do
//!
//! No renegotiation (a HelloRequest is ignored, a later ClientHello dropped), no session
//! resumption, no DTLS 1.3, no certificate chain validation (WebRTC pins the certificate by
//! fingerprint instead), no non-AEAD or non-ECDHE suites, no connection ID (RFC 9146).
#![forbid(unsafe_code)]

mod certificate;
mod config;
mod connection;
mod crypto;
mod error;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod reassembly;
mod replay;
mod srtp;
pub mod wire;

pub use certificate::{Certificate, Fingerprint, FingerprintAlgorithm};
pub use config::{Config, Role};
pub use connection::{Connection, Event, State, Stats, MAX_PLAINTEXT_LEN, MIN_MTU};
pub use crypto::SUPPORTED_CIPHER_SUITES;
pub use error::Error;
pub use srtp::{SrtpKeyingMaterial, SrtpProtectionProfile};
