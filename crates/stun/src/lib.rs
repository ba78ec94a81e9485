//! STUN (RFC 8489) for Rust, sans-IO.
//!
//! - **Wire format** ([`wire`]): a zero-copy [`Message`] view over a received buffer
//!   (`new_checked`, class/method/transaction id accessors, typed [`Attribute`]s borrowing
//!   from the buffer) and a [`MessageBuilder`] that writes into a caller's `Vec<u8>`.
//!   [`MessageRepr`] is the parse/write twin used for round trips.
//! - **Attributes**: every RFC 8489 attribute, ICE's PRIORITY, USE-CANDIDATE,
//!   ICE-CONTROLLED and ICE-CONTROLLING (RFC 8445 §16.1), renomination's NOMINATION
//!   (draft-thatcher-ice-renomination), and TURN's (RFC 8656 §18,
//!   RFC 6062 §6.2), so TURN and ICE crates never redefine them. Unknown attributes are kept
//!   ([`Attribute::Unknown`]); [`Message::unknown_comprehension_required`] lists those a
//!   server answers 420 for.
//! - **Integrity**: [`IntegrityKey`] for short-term (password) and long-term
//!   (MD5 or SHA-256 of `user:realm:pass`) credentials, with the HMAC state precomputed once
//!   per credential; MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256 (with truncation) and
//!   FINGERPRINT are written by the builder in the RFC order and verified in constant time
//!   by [`Message::verify`], [`Message::verify_integrity`], [`Message::verify_fingerprint`].
//! - **Demultiplexing**: [`is_stun`], an allocation-free RFC 7983 check.
//! - **Client transactions**: [`ClientTransaction`] and the [`Transactions`] table, with the
//!   RFC 8489 §6.2.1 retransmission timing (RTO 500 ms doubling, Rc = 7, Rm = 16; Ti = 39.5 s
//!   on reliable transports), owning no socket and reading no clock.
//! - **Binding server core**: [`BindingServer`], request in, response out, optional
//!   short-term authentication.
//!
//! # The run loop
//!
//! Nothing here does I/O or reads the clock: the caller passes `now`, sends what
//! `poll_transmit` returns, feeds what arrives, and sleeps until `poll_timeout`. After every
//! input, drain `poll_transmit` then `poll_event`. Here a client and a server talk through a
//! lossy "network" on a virtual clock:
//!
//! ```
//! use std::time::{Duration, Instant};
//! use oxrtc_stun::*;
//!
//! let client_addr = "192.0.2.10:50000".parse().unwrap();
//! let mut server = BindingServer::new(BindingServerConfig::default());
//! let mut client: Transactions<()> = Transactions::new(TransactionConfig::default());
//!
//! let mut request = Vec::new();
//! MessageBuilder::new(&mut request, Class::Request, Method::Binding, TransactionId([9; 12]))
//!     .add_fingerprint()?;
//! let mut now = Instant::now();
//! client.start(now, request, Transport::Unreliable, ())?;
//!
//! let mut sent = 0;
//! let mapped = loop {
//!     while let Some(transmit) = client.poll_transmit() {
//!         sent += 1;
//!         if sent == 1 {
//!             continue; // the network loses the first transmission
//!         }
//!         let mut response = Vec::new();
//!         if let ServerOutcome::Respond { .. } = server.handle(client_addr, &transmit.contents, &mut response) {
//!             client.handle_response(now, &Message::new_checked(&response[..])?)?;
//!         }
//!     }
//!     if let Some((event, ())) = client.poll_event() {
//!         let TransactionEvent::Success { response, .. } = event else { panic!("{event:?}") };
//!         let msg = Message::new_checked(&response[..])?;
//!         break msg.attribute::<XorMappedAddress>()?.map(|a| a.0);
//!     }
//!     now = client.poll_timeout().expect("a transaction is running");
//!     client.handle_timeout(now);
//! };
//! assert_eq!(mapped, Some(client_addr));
//! assert_eq!(sent, 2); // answered after one retransmission, 500 ms later
//! # Ok::<(), oxrtc_stun::Error>(())
//! ```
//!
//! # What it does not do
//!
//! - No OpaqueString/SASLprep (RFC 8265) of usernames and passwords: pass prepared strings
//!   (ASCII credentials need nothing).
//! - No RFC 3489 "classic STUN" (messages without the magic cookie are rejected), no
//!   RFC 5780 NAT behaviour discovery attributes (kept as unknown attributes).
//! - No long-term credential state machine (nonces, 401/438 retry): the TURN crate builds
//!   it on these pieces. The binding server does short-term credentials only.
//! - No sockets, no DNS (RFC 8489 §8 server discovery), no TLS/DTLS.
#![forbid(unsafe_code)]

mod error;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod integrity;
mod server;
mod transaction;
pub mod wire;

pub use error::Error;
pub use integrity::{long_term_key_md5, userhash, IntegrityKey, FINGERPRINT_XOR};
pub use server::{BindingServer, BindingServerConfig, ServerOutcome, ServerStats};
pub use transaction::{
    ClientTransaction, TransactionConfig, TransactionEvent, Transactions, Transmit, Transport,
};
pub use wire::*;

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctest;
