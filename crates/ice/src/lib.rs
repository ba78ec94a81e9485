//! ICE (RFC 8445) for Rust, sans-IO: the agent that finds a path between two WebRTC peers
//! and keeps it alive.
//!
//! - **Candidates** ([`Candidate`]): the RFC 8839 `candidate` grammar with `FromStr` and
//!   `Display` (tcptype, raddr/rport, generation, ufrag, network-id, network-cost, unknown
//!   extensions kept), priorities (RFC 8445 §5.1.2, RFC 6544 §4.2), and the W3C
//!   `RTCIceCandidateInit` JSON shape ([`CandidateInit`], serde).
//! - **ICE servers** ([`IceServer`], [`IceServerUrl`]): the W3C `RTCIceServer` with its
//!   JSON shape (serde), and the `stun:`/`stuns:`/`turn:`/`turns:` URL grammar (RFC 7064
//!   §3.1, RFC 7065 §3.1).
//! - **Gathering**: host candidates from the sockets the runtime reports
//!   ([`Agent::add_local_socket`]), server-reflexive ones from STUN servers, relayed ones
//!   from TURN servers (asked only from sockets that reach them: loopback sockets only for
//!   loopback servers; one allocation per server and socket), redundant ones removed;
//!   gathering states and an event per candidate; continual gathering as interfaces come
//!   and go.
//! - **Relayed pairs**: a TURN permission is installed as soon as a remote candidate pairs
//!   with a relayed one, a check through the relay leaves the moment its permission
//!   exists, and the selected relayed pair binds a channel while data flows on Send
//!   indications.
//! - **Connectivity checks**: one check list (rtcp-mux and BUNDLE), pair priorities,
//!   foundations and freezing, Ta pacing (50 ms), the triggered-check queue, peer-reflexive
//!   candidates, role conflicts with tie-breakers (487), regular nomination when
//!   controlling (aggressive nomination accepted when controlled), and renomination when
//!   both sides support it; ICE lite for servers.
//! - **Life of a connection**: consent freshness (RFC 7675, checks about every 5 s, expiry
//!   after 30 s), W3C connection states, trickle (candidates any time, end-of-candidates),
//!   ICE restart with data kept flowing on the old pair, network changes without restart,
//!   remote mDNS candidates resolved through the runtime ([`IceEvent::Resolve`]).
//! - **Simulator** ([`sim`], feature `sim`): a seeded network with NAT models, loss, delay
//!   and duplication, a STUN server and a TURN relay, on a virtual clock, reusable by
//!   anything built on the agent.
//!
//! # The run loop
//!
//! The agent owns no socket and reads no clock. The runtime reports its sockets, feeds
//! every STUN datagram (first byte 0–3, RFC 7983) and everything from a TURN server to
//! [`Agent::handle_receive`], calls [`Agent::handle_timeout`] when
//! [`Agent::poll_timeout`] is due, and after every input drains
//! [`Agent::poll_transmit`] then [`Agent::poll_event`]. Here two agents on one "wire":
//!
//! ```
//! use std::time::{Duration, Instant};
//! use oxrtc_ice::*;
//! use rand_chacha::rand_core::SeedableRng;
//!
//! let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1); // use an OS-seeded CSPRNG
//! let mut now = Instant::now();
//! let mut a = Agent::new(AgentConfig { controlling: true, ..AgentConfig::default() }, now, &mut rng);
//! let mut b = Agent::new(AgentConfig { controlling: false, ..AgentConfig::default() }, now, &mut rng);
//! a.add_host_socket(now, "192.0.2.1:5000".parse().unwrap())?;
//! b.add_host_socket(now, "192.0.2.2:6000".parse().unwrap())?;
//! // Signalling (SDP or trickle): credentials and candidates.
//! let (ca, cb) = (a.local_credentials().clone(), b.local_credentials().clone());
//! a.set_remote_credentials(now, &cb.ufrag, &cb.pwd)?;
//! b.set_remote_credentials(now, &ca.ufrag, &ca.pwd)?;
//! a.gather(now);
//! b.gather(now);
//!
//! let mut wire: Vec<(bool, Transmit)> = Vec::new(); // (to b?, datagram)
//! for _ in 0..100 {
//!     // Drain transmits, then events, after every input.
//!     while let Some(t) = a.poll_transmit() { wire.push((true, t)); }
//!     while let Some(t) = b.poll_transmit() { wire.push((false, t)); }
//!     while let Some(e) = a.poll_event() {
//!         if let IceEvent::LocalCandidate(c) = e { b.add_remote_candidate(now, c)?; }
//!     }
//!     while let Some(e) = b.poll_event() {
//!         if let IceEvent::LocalCandidate(c) = e { a.add_remote_candidate(now, c)?; }
//!     }
//!     for (to_b, t) in wire.drain(..) {
//!         let d = Datagram::udp(t.destination, t.source, &t.contents);
//!         let _ = if to_b { b.handle_receive(now, d) } else { a.handle_receive(now, d) };
//!     }
//!     // Sleep until the next deadline (here: jump to it).
//!     let next = [a.poll_timeout(), b.poll_timeout()].into_iter().flatten().min();
//!     if let Some(t) = next { now = now.max(t); }
//!     a.handle_timeout(now);
//!     b.handle_timeout(now);
//! }
//! assert_eq!(a.connection_state(), ConnectionState::Connected);
//! let pair = a.selected_pair().expect("a pair works");
//! assert!(pair.nominated);
//! assert_eq!(pair.destination, "192.0.2.2:6000".parse().unwrap());
//! let media = a.send(now, b"\x80 rtp")?; // a Transmit for the selected pair
//! assert_eq!(media.source, "192.0.2.1:5000".parse().unwrap());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What it does not do (yet)
//!
//! - No sockets, DNS or mDNS: names are resolved by the runtime through
//!   [`IceEvent::Resolve`] / [`Agent::handle_resolved`]. Local host candidates are not
//!   hidden behind mDNS names.
//! - `stuns:` (STUN over TLS) is reported as an unsupported server. `turns:` is TURN over
//!   TCP to the agent (default port 5349): the runtime wraps that stream in TLS.
//! - One component only (rtcp-mux and BUNDLE, as WebRTC always does).
//! - The agent never nominates aggressively (RFC 8445 dropped it); as the controlled side it
//!   accepts it.
#![forbid(unsafe_code)]

mod agent;
mod candidate;
mod config;
mod error;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod io;
mod relay;
#[cfg(feature = "sim")]
pub mod sim;

pub use agent::Agent;
pub use candidate::{
    pair_priority, Address, Candidate, CandidateInit, CandidateType, Protocol, TcpType,
    MAX_CANDIDATE_LEN, MAX_EXTENSIONS, MAX_FOUNDATION_LEN, MAX_FQDN_LEN, MAX_UFRAG_LEN,
};
pub use config::{
    AgentConfig, Credentials, Host, IceServer, IceServerUrl, Scheme, TransportPolicy,
};
pub use error::{CandidateError, Error, UrlError};
pub use io::{
    AgentStats, ConnectionState, Datagram, GatheringState, IceEvent, LocalSocket, PairStats,
    RelayPath, RelayedData, SelectedPair, Transmit,
};

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctest;
