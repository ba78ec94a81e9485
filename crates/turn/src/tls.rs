//! TLS to the TURN server (`turns:`, RFC 8656 §3.1) with rustls and the ring provider,
//! sans-IO like the client (feature `tls`).
//!
//! [`TlsStream`] sits between the socket and the [`Client`](crate::Client): what the client
//! transmits is [`write`](TlsStream::write)n into it, what it
//! [`poll_tls`](TlsStream::poll_tls)s goes to the socket; bytes read from the socket go to
//! [`read`](TlsStream::read) and the plaintext that comes out to
//! [`Client::handle_stream_data`](crate::Client::handle_stream_data). The client itself is
//! configured with [`TurnTransport::Tls`](crate::TurnTransport::Tls), which it treats as a
//! stream.
//!
//! ```no_run
//! use std::io::{Read, Write};
//! use std::time::Instant;
//! use oxrtc_turn::tls::{client_config, TlsStream};
//! use oxrtc_turn::{Client, ClientConfig, TurnTransport};
//!
//! # fn f(roots: rustls::RootCertStore) -> Result<(), Box<dyn std::error::Error>> {
//! let server = "192.0.2.1:5349".parse()?;
//! let mut socket = std::net::TcpStream::connect(server)?;
//! let mut tls = TlsStream::new(client_config(roots)?, "turn.example.org")?;
//! let config = ClientConfig::new(server, TurnTransport::Tls, "user", "pass");
//! let mut client = Client::new(config, Instant::now(), rand::rngs::StdRng::from_os_rng());
//! client.allocate(Instant::now())?;
//! let (mut out, mut plain, mut buf) = (Vec::new(), Vec::new(), [0u8; 4096]);
//! loop {
//!     while let Some(t) = client.poll_transmit() {
//!         tls.write(&t.contents)?;
//!     }
//!     out.clear();
//!     tls.poll_tls(&mut out)?;
//!     socket.write_all(&out)?;
//!     let n = socket.read(&mut buf)?;
//!     plain.clear();
//!     tls.read(&buf[..n], &mut plain)?;
//!     client.handle_stream_data(Instant::now(), &plain)?;
//!     while let Some(event) = client.poll_event() {
//!         println!("{event:?}");
//!     }
//! }
//! # }
//! # use rand::SeedableRng;
//! ```

use std::io::{Read, Write};
use std::sync::Arc;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, RootCertStore};

use crate::Error;

/// Most plaintext buffered before the handshake completes or while the socket lags: one
/// MiB, then [`TlsStream::write`] fails rather than grow without bound.
pub const MAX_BUFFERED: usize = 1 << 20;

/// A rustls client configuration with the ring provider, TLS 1.2 and 1.3, verifying the
/// server against `roots`.
///
/// # Errors
/// [`Error::Tls`] if the provider refuses the protocol versions (it does not).
pub fn client_config(roots: RootCertStore) -> Result<Arc<ClientConfig>, Error> {
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(tls_error)?
            .with_root_certificates(roots)
            .with_no_client_auth();
    Ok(Arc::new(config))
}

fn tls_error(e: impl core::fmt::Display) -> Error {
    Error::Tls(e.to_string())
}

/// One TLS connection to a TURN server, sans-IO: bytes in, bytes out.
#[derive(Debug)]
pub struct TlsStream {
    conn: ClientConnection,
}

impl TlsStream {
    /// Starts a handshake with the server named `server_name` (a DNS name or an IP address,
    /// checked against its certificate).
    ///
    /// # Errors
    /// [`Error::Tls`] for an invalid name or a configuration rustls refuses.
    pub fn new(config: Arc<ClientConfig>, server_name: &str) -> Result<Self, Error> {
        let name = ServerName::try_from(server_name.to_owned()).map_err(tls_error)?;
        let mut conn = ClientConnection::new(config, name).map_err(tls_error)?;
        conn.set_buffer_limit(Some(MAX_BUFFERED));
        Ok(TlsStream { conn })
    }

    /// Whether the handshake is still running (plaintext written meanwhile waits).
    pub fn is_handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    /// Queues plaintext (what the TURN client transmits) for encryption.
    ///
    /// # Errors
    /// [`Error::Tls`] when more than [`MAX_BUFFERED`] bytes wait.
    pub fn write(&mut self, plaintext: &[u8]) -> Result<(), Error> {
        let n = self.conn.writer().write(plaintext).map_err(tls_error)?;
        if n < plaintext.len() {
            return Err(Error::Tls("send buffer full".into()));
        }
        Ok(())
    }

    /// Appends the TLS bytes to send on the socket to `out`; returns how many.
    ///
    /// # Errors
    /// Never in practice (writing into a `Vec` does not fail); kept for I/O symmetry.
    pub fn poll_tls(&mut self, out: &mut Vec<u8>) -> Result<usize, Error> {
        let mut n = 0;
        while self.conn.wants_write() {
            n += self.conn.write_tls(out).map_err(tls_error)?;
        }
        Ok(n)
    }

    /// Feeds TLS bytes read from the socket; appends the decrypted plaintext to
    /// `plaintext`.
    ///
    /// # Errors
    /// [`Error::Tls`] for a TLS failure (bad certificate, corrupt record, alert): the
    /// connection is dead; [`poll_tls`](Self::poll_tls) may still hold the alert to send.
    pub fn read(&mut self, mut tls: &[u8], plaintext: &mut Vec<u8>) -> Result<(), Error> {
        while !tls.is_empty() {
            let n = self.conn.read_tls(&mut tls).map_err(tls_error)?;
            if n == 0 {
                break;
            }
            let state = self.conn.process_new_packets().map_err(tls_error)?;
            let mut available = state.plaintext_bytes_to_read();
            while available > 0 {
                let start = plaintext.len();
                plaintext.resize(start + available, 0);
                let got = self
                    .conn
                    .reader()
                    .read(plaintext.get_mut(start..).unwrap_or(&mut []))
                    .unwrap_or(0);
                plaintext.truncate(start + got);
                if got == 0 {
                    break;
                }
                available -= got.min(available);
            }
        }
        Ok(())
    }

    /// Starts closing: a close_notify alert waits in [`poll_tls`](Self::poll_tls).
    pub fn close(&mut self) {
        self.conn.send_close_notify();
    }
}
