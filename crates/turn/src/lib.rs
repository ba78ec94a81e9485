//! TURN (RFC 8656, RFC 6062) for Rust: a sans-IO client, and a server with a sans-IO core
//! and a tokio runtime.
//!
//! - [`Client`]: one allocation on one TURN server over UDP, TCP or TLS (`turns:`):
//!   long-term credentials (401 → REALM/NONCE → retry, MD5 or SHA-256 per the RFC 8489
//!   nonce cookie), 438 stale nonces, refresh before expiry, deallocation, permissions
//!   (refreshed before their 300 s), channels 0x4000–0x4FFF (refreshed before their 600 s),
//!   Send/Data indications, ChannelData (padded on streams), ALTERNATE-SERVER,
//!   REQUESTED-ADDRESS-FAMILY for IPv6 relays, a typed [`ResponseError`] for every error
//!   response; RFC 6062 TCP allocations ([`Client::connect`], [`Event::ConnectionAttempt`],
//!   [`DataConnection`]).
//! - [`Server`]: the server core: long-term credentials from a user list and TURN REST
//!   shared-secret credentials ([`rest_password`]), stateless expiring nonces, allocations,
//!   EVEN-PORT reservations, permissions, channel bindings, refresh and expiry, quotas (per
//!   user, total, bandwidth per allocation), a [`PeerFilter`] (loopback, private and
//!   unspecified peers refused by default), counters ([`ServerStats`]), RFC 6062 Connect,
//!   ConnectionBind and ConnectionAttempt, graceful [`Server::shutdown`].
//! - `runtime` (feature `tokio`): `runtime::run(config, shutdown)`. UDP on a worker thread
//!   per core, each with its own `SO_REUSEPORT` listener, shard of the core and the relayed
//!   sockets of its allocations (no lock on the data path; batched I/O with GRO/GSO); TCP
//!   listeners and RFC 6062 TCP relays; relayed UDP sockets from a port range. The
//!   `turn_server` example is a runnable server.
//! - `tls` (feature `tls`): a sans-IO rustls (ring) layer for `turns:` connections.
//! - [`wire`]: [`ChannelData`] (a zero-copy view with its writer), [`is_channel_data`] for
//!   demultiplexing (RFC 7983), and the [`StreamFramer`] that cuts a TCP/TLS byte stream
//!   into STUN messages and ChannelData frames. STUN messages and TURN attributes are
//!   [`oxrtc_stun`]'s.
//!
//! # The client, as an ICE agent uses it
//!
//! [`Client::new`]`(`[`ClientConfig`]` { server, transport, username, password, software,
//! requested_family, lifetime }, now, rng)`, then:
//!
//! - commands: [`allocate`](Client::allocate), [`create_permission`](Client::create_permission),
//!   [`bind_channel`](Client::bind_channel), [`send_to`](Client::send_to) (ChannelData when
//!   a channel is bound, a Send indication otherwise; creates the permission and queues
//!   the data if needed), [`refresh`](Client::refresh), [`deallocate`](Client::deallocate);
//! - inputs: [`handle_receive`](Client::handle_receive)`(now, from, datagram)` for UDP,
//!   [`handle_stream_data`](Client::handle_stream_data)`(now, bytes)` for TCP and TLS
//!   (framed inside), [`handle_timeout`](Client::handle_timeout)`(now)`;
//! - outputs: [`poll_transmit`](Client::poll_transmit) (always to the server: the
//!   [`Transmit`] says where and how), [`poll_event`](Client::poll_event) ([`Event::Allocated`]
//!   gives the relayed and server-reflexive candidates, [`Event::Data`] what peers sent),
//!   [`poll_timeout`](Client::poll_timeout).
//!
//! After every input or command, drain `poll_transmit`, then `poll_event`, until empty.
//! Datagrams from the server are STUN or ChannelData; [`is_channel_data`] tells them apart.
//!
//! # The run loop
//!
//! Nothing here does I/O or reads the clock. A client and the server core talk in memory on
//! a virtual clock; the peer answers through the relay:
//!
//! ```
//! use std::net::SocketAddr;
//! use std::time::{Duration, Instant};
//! use oxrtc_turn::*;
//! use rand::{rngs::StdRng, SeedableRng};
//!
//! let server_addr: SocketAddr = "192.0.2.1:3478".parse()?;
//! let relay: SocketAddr = "192.0.2.1:49152".parse()?;
//! let peer: SocketAddr = "203.0.113.5:7000".parse()?;
//! let tuple = FiveTuple { transport: TurnTransport::Udp, client: "198.51.100.2:5000".parse()?, server: server_addr };
//! let mut now = Instant::now();
//! let config = ServerConfig { users: vec![("alice".into(), "secret".into())], ..Default::default() };
//! let mut server = Server::new(config, now, StdRng::seed_from_u64(1));
//! let config = ClientConfig::new(server_addr, TurnTransport::Udp, "alice", "secret");
//! let mut client = Client::new(config, now, StdRng::seed_from_u64(2));
//!
//! client.allocate(now)?;
//! let mut got = Vec::new();
//! for _ in 0..20 {
//!     // The client's network: everything goes to the server.
//!     while let Some(t) = client.poll_transmit() {
//!         if let ClientOutcome::Relay { data, .. } = server.handle_client(now, tuple, &t.contents) {
//!             // The peer echoes, through the relayed address.
//!             let mut out = Vec::new();
//!             if server.handle_peer(now, relay, peer, &data.to_vec(), &mut out).is_some() {
//!                 client.handle_receive(now, server_addr, &out)?;
//!             }
//!         }
//!     }
//!     // The server's runtime: answers, and relayed sockets to bind.
//!     while let Some(t) = server.poll_transmit() {
//!         client.handle_receive(now, server_addr, &t.contents)?;
//!     }
//!     while let Some(e) = server.poll_event() {
//!         if let ServerEvent::BindRelay { allocation, .. } = e {
//!             server.relay_bound(now, allocation, Some(relay), None);
//!         }
//!     }
//!     while let Some(event) = client.poll_event() {
//!         match event {
//!             Event::Allocated { relayed, .. } => {
//!                 assert_eq!(relayed, relay);
//!                 client.bind_channel(now, peer)?;
//!                 client.send_to(now, peer, b"ping")?; // waits for its permission
//!             }
//!             Event::ChannelBound { .. } => client.send_to(now, peer, b"over a channel")?,
//!             Event::Data { data, .. } => got.push(data),
//!             _ => {}
//!         }
//!     }
//!     // Time passes: refreshes happen on their own.
//!     if let Some(t) = client.poll_timeout() {
//!         now = t.max(now + Duration::from_millis(1));
//!         client.handle_timeout(now);
//!         server.handle_timeout(now);
//!     }
//! }
//! assert_eq!(got, [b"ping".to_vec(), b"over a channel".to_vec()]);
//! assert!(client.is_allocated());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Running a server
//!
//! `cargo run -p oxrtc-turn --features tokio --example turn_server -- --listen
//! 127.0.0.1:3478 --realm example.org --user alice:secret`, or from code
//! `runtime::run(RuntimeConfig { .. }, shutdown).await` (feature `tokio`).
//!
//! # What it does not do
//!
//! - No DTLS to the server (RFC 7350) and no TLS listener in the server runtime (put TLS in
//!   front of it); the client's TLS layer is the `tls` feature.
//! - No DONT-FRAGMENT (the server answers 420, RFC 8656 §7.2), no ADDITIONAL-ADDRESS-FAMILY
//!   dual allocations (ignored: one relayed address), no ICMP attribute forwarding, no
//!   USERHASH username anonymity, no OAuth (RFC 7635), no mobility (RFC 8016), no DNS
//!   discovery of servers.
//! - The server counts RFC 6062 TCP relaying in neither the bandwidth quota nor the packet
//!   counters (the runtime splices the two connections).
#![forbid(unsafe_code)]

mod client;
mod error;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod server;
#[cfg(feature = "tls")]
pub mod tls;
pub mod wire;

pub use client::{
    Client, ClientConfig, ClientStats, DataConnection, DataConnectionEvent, Event, Transmit,
    TurnTransport, CHANNEL_LIFETIME, MAX_QUEUED_PER_PEER, MAX_REDIRECTS, PERMISSION_LIFETIME,
    REFRESH_MARGIN,
};
pub use error::{Error, ResponseError};
#[cfg(feature = "tokio")]
pub use server::runtime;
pub use server::{
    rest_password, AllocationId, AllocationInfo, ClientOutcome, FiveTuple, IpNet, IpNetParseError,
    PeerFilter, RelayProtocol, Server, ServerConfig, ServerEvent, ServerStats, ServerTransmit,
};
pub use wire::*;

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctest;
