//! Connections to TURN servers over TCP, and over TLS for `turns:` (RFC 8656 §3.1): one
//! stream per (local socket, server), each served by a small task that writes what the
//! connection's task hands it and reads whole STUN / ChannelData messages back.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};

/// How long connecting (TCP and the TLS handshake) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What a stream task reports to the connection's task.
#[derive(Debug)]
pub(super) enum StreamInput {
    /// One whole STUN or ChannelData message (padding included) from the server.
    Message {
        local: SocketAddr,
        server: SocketAddr,
        data: Vec<u8>,
    },
    /// The connection ended (or never opened), and why.
    Closed {
        local: SocketAddr,
        server: SocketAddr,
        reason: String,
    },
}

/// TLS settings for `turns:` servers: the client configuration and, per server address,
/// the name its certificate must carry.
#[derive(Clone)]
pub(super) struct TlsSettings {
    connector: tokio_rustls::TlsConnector,
    names: HashMap<SocketAddr, ServerName<'static>>,
}

impl TlsSettings {
    /// A client configuration (ring provider, TLS 1.2 and 1.3) trusting the Web PKI roots
    /// and `extra_roots` (DER), for the `turns:` servers in `names` (address → host from
    /// the URL). `None` when no server uses TLS.
    ///
    /// # Errors
    /// A root certificate or server name that rustls refuses.
    pub(super) fn new(
        names: Vec<(SocketAddr, String)>,
        extra_roots: &[Vec<u8>],
    ) -> Result<Option<Self>, String> {
        if names.is_empty() {
            return Ok(None);
        }
        let mut roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        for der in extra_roots {
            roots
                .add(CertificateDer::from(der.clone()))
                .map_err(|e| format!("tls root certificate: {e}"))?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut by_addr = HashMap::new();
        for (addr, host) in names {
            let name = match host.parse::<IpAddr>() {
                Ok(ip) => ServerName::IpAddress(ip.into()),
                Err(_) => ServerName::try_from(host.clone())
                    .map_err(|e| format!("tls server name {host:?}: {e}"))?,
            };
            by_addr.insert(addr, name);
        }
        Ok(Some(TlsSettings {
            connector: tokio_rustls::TlsConnector::from(Arc::new(config)),
            names: by_addr,
        }))
    }
}

/// The open streams of one peer connection.
#[derive(Default)]
pub(super) struct Streams {
    tls: Option<TlsSettings>,
    open: HashMap<(SocketAddr, SocketAddr), Stream>,
}

struct Stream {
    tx: mpsc::UnboundedSender<Vec<u8>>,
    task: JoinHandle<()>,
}

impl Streams {
    pub(super) fn new(tls: Option<TlsSettings>) -> Self {
        Streams {
            tls,
            open: HashMap::new(),
        }
    }

    /// Writes `data` to the server on the stream from `local`'s interface, opened first
    /// if needed (TLS when `server` is a `turns:` server).
    pub(super) fn send(
        &mut self,
        local: SocketAddr,
        server: SocketAddr,
        data: Vec<u8>,
        inputs: &mpsc::UnboundedSender<StreamInput>,
    ) {
        let key = (local, server);
        let stream = self.open.entry(key).or_insert_with(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            let tls = self.tls.as_ref().and_then(|t| {
                t.names
                    .get(&server)
                    .map(|name| (t.connector.clone(), name.clone()))
            });
            let task = tokio::spawn(run(local, server, tls, rx, inputs.clone()));
            Stream { tx, task }
        });
        let _ = stream.tx.send(data);
    }

    /// Forgets a stream that ended.
    pub(super) fn closed(&mut self, local: SocketAddr, server: SocketAddr) {
        if let Some(s) = self.open.remove(&(local, server)) {
            s.task.abort();
        }
    }

    /// Ends every stream: what was handed to them is written (the TURN deallocation),
    /// then they shut down; waits up to `grace` for that, then aborts the rest.
    pub(super) async fn close(&mut self, grace: Duration) {
        let tasks: Vec<JoinHandle<()>> = self.open.drain().map(|(_, s)| s.task).collect();
        for mut t in tasks {
            if tokio::time::timeout(grace, &mut t).await.is_err() {
                t.abort();
            }
        }
    }
}

impl Drop for Streams {
    fn drop(&mut self) {
        for (_, s) in self.open.drain() {
            s.task.abort();
        }
    }
}

async fn run(
    local: SocketAddr,
    server: SocketAddr,
    tls: Option<(tokio_rustls::TlsConnector, ServerName<'static>)>,
    rx: mpsc::UnboundedReceiver<Vec<u8>>,
    inputs: mpsc::UnboundedSender<StreamInput>,
) {
    let result = async {
        let socket = if local.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.bind(SocketAddr::new(local.ip(), 0))?;
        let tcp = tokio::time::timeout(CONNECT_TIMEOUT, socket.connect(server))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "tcp connect timed out"))??;
        tcp.set_nodelay(true)?;
        match tls {
            Some((connector, name)) => {
                let s = tokio::time::timeout(CONNECT_TIMEOUT, connector.connect(name, tcp))
                    .await
                    .map_err(|_| {
                        io::Error::new(io::ErrorKind::TimedOut, "tls handshake timed out")
                    })??;
                pump(s, local, server, rx, &inputs).await
            }
            None => pump(tcp, local, server, rx, &inputs).await,
        }
    }
    .await;
    let reason = match result {
        Ok(()) => "closed".to_owned(),
        Err(e) => e.to_string(),
    };
    tracing::debug!(%local, %server, %reason, "turn stream ended");
    let _ = inputs.send(StreamInput::Closed {
        local,
        server,
        reason,
    });
}

/// Writes what arrives on `rx` and reads messages until either side ends.
async fn pump<S: AsyncRead + AsyncWrite + Send>(
    stream: S,
    local: SocketAddr,
    server: SocketAddr,
    mut rx: mpsc::UnboundedReceiver<Vec<u8>>,
    inputs: &mpsc::UnboundedSender<StreamInput>,
) -> io::Result<()> {
    let (mut reader, mut writer) = tokio::io::split(stream);
    let write = async {
        while let Some(data) = rx.recv().await {
            writer.write_all(&data).await?;
            while let Ok(more) = rx.try_recv() {
                writer.write_all(&more).await?;
            }
            writer.flush().await?;
        }
        // The connection's task is done: everything it handed over is written.
        writer.shutdown().await
    };
    let read = async {
        let mut buf = BytesMut::with_capacity(16 * 1024);
        loop {
            if reader.read_buf(&mut buf).await? == 0 {
                return Ok::<(), io::Error>(());
            }
            while let Some(frame) = next_frame(&mut buf)? {
                let msg = StreamInput::Message {
                    local,
                    server,
                    data: frame,
                };
                if inputs.send(msg).is_err() {
                    return Ok(());
                }
            }
            if buf.capacity() - buf.len() < 4096 {
                buf.reserve(16 * 1024);
            }
        }
    };
    tokio::pin!(write, read);
    tokio::select! {
        r = &mut write => r,
        r = &mut read => r,
    }
}

/// Splits the next whole message off a TURN stream (RFC 8656 §12.5): STUN (first two
/// bits 0: 20-byte header + length) or ChannelData (first byte 0x40–0x7F: 4-byte header +
/// length, padded to a multiple of 4 on streams). `Ok(None)` until one is complete.
///
/// # Errors
/// [`io::ErrorKind::InvalidData`] for anything else (the stream cannot be resynchronised).
pub(super) fn next_frame(buf: &mut BytesMut) -> io::Result<Option<Vec<u8>>> {
    let (Some(first), Some(len)) = (
        buf.first().copied(),
        buf.get(2..4)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]]))),
    ) else {
        return Ok(None);
    };
    let total = match first {
        0x00..=0x3f => 20 + len,
        0x40..=0x7f => 4 + len.next_multiple_of(4),
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "neither stun nor channel data on a turn stream",
            ))
        }
    };
    if buf.len() < total {
        return Ok(None);
    }
    Ok(Some(buf.split_to(total).to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_stun_and_padded_channel_data() {
        let mut stun = vec![0x01, 0x01, 0x00, 0x08];
        stun.extend_from_slice(&[0x21, 0x12, 0xa4, 0x42]);
        stun.extend_from_slice(&[7; 12]);
        stun.extend_from_slice(&[9; 8]);
        // ChannelData of 5 bytes: 3 bytes of padding on a stream.
        let chan = [0x40, 0x00, 0x00, 0x05, 1, 2, 3, 4, 5, 0, 0, 0];
        let mut all = stun.clone();
        all.extend_from_slice(&chan);
        // Byte by byte: nothing until a message is whole.
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for b in &all {
            buf.extend_from_slice(&[*b]);
            while let Some(f) = next_frame(&mut buf).unwrap() {
                out.push(f);
            }
        }
        assert_eq!(out, vec![stun, chan.to_vec()]);
        assert!(buf.is_empty());
        let mut bad = BytesMut::from(&[0x80u8, 0, 0, 0][..]);
        assert!(next_frame(&mut bad).is_err());
        let mut short = BytesMut::from(&[0x00u8, 0x01][..]);
        assert!(next_frame(&mut short).unwrap().is_none());
    }
}
