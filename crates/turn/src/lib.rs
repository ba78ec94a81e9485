//! TURN (RFC 8656, RFC 6062) for Rust: a sans-IO client and a server.
//!
//! # The client
//!
//! [`Client`] holds one allocation on one TURN server. It owns no socket and reads no clock:
//! the caller passes `now`, sends what [`Client::poll_transmit`] returns to the server, feeds
//! what the server sends to [`Client::handle_receive`] (UDP) or
//! [`Client::handle_stream_data`] (TCP, TLS), and calls [`Client::handle_timeout`] at
//! [`Client::poll_timeout`]. After every input or command, drain `poll_transmit`, then
//! `poll_event`.
//!
//! This is the interface an ICE agent uses for relayed candidates:
//!
//! ```no_run
//! use std::net::UdpSocket;
//! use std::time::Instant;
//! use oxrtc_turn::{Client, ClientConfig, Event, TurnTransport};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let socket = UdpSocket::bind("0.0.0.0:0")?;
//! let server = "192.0.2.1:3478".parse()?;
//! let config = ClientConfig::new(server, TurnTransport::Udp, "user", "pass");
//! let rng = rand::rngs::StdRng::from_os_rng(); // any CryptoRng
//! let mut client = Client::new(config, Instant::now(), rng);
//! client.allocate(Instant::now())?;
//! let mut buf = [0u8; 2048];
//! loop {
//!     while let Some(t) = client.poll_transmit() {
//!         socket.send_to(&t.contents, t.destination)?;
//!     }
//!     while let Some(event) = client.poll_event() {
//!         match event {
//!             Event::Allocated { relayed, .. } => {
//!                 println!("relayed candidate {relayed}");
//!                 client.send_to(Instant::now(), "203.0.113.7:5000".parse()?, b"hello")?;
//!             }
//!             Event::Data { peer, data } => println!("{peer} sent {} bytes", data.len()),
//!             Event::AllocationFailed(e) => return Err(e.into()),
//!             _ => {}
//!         }
//!     }
//!     let timeout = client.poll_timeout().map(|t| t.saturating_duration_since(Instant::now()));
//!     socket.set_read_timeout(timeout.map(|t| t.max(std::time::Duration::from_millis(1))))?;
//!     match socket.recv_from(&mut buf) {
//!         Ok((n, from)) => { let _ = client.handle_receive(Instant::now(), from, &buf[..n]); }
//!         Err(_) => client.handle_timeout(Instant::now()),
//!     }
//! }
//! # }
//! # use rand::SeedableRng;
//! ```
//!
//! Datagrams from the server are either STUN or ChannelData: [`is_channel_data`] tells them
//! apart from STUN (first byte 64..=79) for demultiplexing (RFC 7983).
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
