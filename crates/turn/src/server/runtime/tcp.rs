//! The TCP side of the runtime, on the caller's runtime: listeners, one task per client
//! connection, the relayed sockets of the allocations made over TCP, RFC 6062 peer
//! connections, and a timer; around a shard of its own behind a mutex that is never held
//! across an await.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use oxrtc_stun::ConnectionId;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream, UdpSocket};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::{candidate_ports, unix_now, Common};
use crate::server::{ClientOutcome, FiveTuple, RelayProtocol, Server, ServerEvent, ServerStats};
use crate::wire::StreamFramer;
use crate::TurnTransport;

/// The TCP side's state.
#[derive(Debug)]
pub(super) struct Shared {
    core: Mutex<Core>,
    common: Arc<Common>,
}

impl Shared {
    pub(super) fn new(common: Arc<Common>, server: Server) -> Shared {
        Shared {
            core: Mutex::new(Core {
                server,
                relays: HashMap::new(),
                tcp_relays: HashMap::new(),
                clients: HashMap::new(),
                peer_streams: HashMap::new(),
                pending_connects: HashMap::new(),
                ended: Vec::new(),
            }),
            common,
        }
    }

    pub(super) fn stats(&self) -> ServerStats {
        self.lock().server.stats()
    }

    fn lock(&self) -> MutexGuard<'_, Core> {
        // A panic while holding the lock poisons it; the state is still consistent enough
        // to shut down, so take it anyway.
        self.core.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Starts the listeners and the timer; returns their tasks for [`stop`].
pub(super) fn start(shared: &Arc<Shared>, listeners: Vec<TcpListener>) -> Vec<JoinHandle<()>> {
    let mut own: Vec<_> = listeners
        .into_iter()
        .map(|l| tokio::spawn(tcp_listener(shared.clone(), l)))
        .collect();
    own.push(tokio::spawn(timer(shared.clone())));
    own
}

/// Stops taking input, deletes every allocation, then ends every task and waits for it:
/// every socket of the TCP side is closed when this returns. Returns its final counters.
pub(super) async fn stop(shared: &Arc<Shared>, own: Vec<JoinHandle<()>>) -> ServerStats {
    for h in &own {
        h.abort();
    }
    for h in own {
        let _ = h.await;
    }
    shared.lock().server.shutdown(Instant::now());
    process(shared).await;
    let (stats, tasks) = {
        let mut core = shared.lock();
        let mut tasks = std::mem::take(&mut core.ended);
        tasks.extend(core.relays.drain().map(|(_, r)| r.task));
        tasks.extend(core.tcp_relays.drain().map(|(_, t)| t));
        tasks.extend(core.clients.drain().map(|(_, c)| c.task));
        tasks.extend(core.pending_connects.drain().map(|(_, t)| t));
        core.peer_streams.clear();
        (core.server.stats(), tasks)
    };
    for t in &tasks {
        t.abort();
    }
    for t in tasks {
        let _ = t.await;
    }
    stats
}

#[derive(Debug)]
struct Relay {
    socket: Arc<UdpSocket>,
    task: JoinHandle<()>,
}

#[derive(Debug)]
struct ClientConn {
    tx: mpsc::Sender<Vec<u8>>,
    splice: Option<oneshot::Sender<TcpStream>>,
    task: JoinHandle<()>,
}

#[derive(Debug)]
struct Core {
    server: Server,
    relays: HashMap<SocketAddr, Relay>,
    tcp_relays: HashMap<SocketAddr, JoinHandle<()>>,
    clients: HashMap<FiveTuple, ClientConn>,
    /// RFC 6062 peer connections waiting for their ConnectionBind.
    peer_streams: HashMap<u32, TcpStream>,
    pending_connects: HashMap<u32, JoinHandle<()>>,
    /// Aborted tasks, awaited at shutdown (and pruned by the timer).
    ended: Vec<JoinHandle<()>>,
}

impl Core {
    fn end(&mut self, task: JoinHandle<()>) {
        task.abort();
        self.ended.push(task);
    }

    /// Hands what the core produced to the client connections; returns its events.
    fn drain(&mut self) -> Vec<ServerEvent> {
        while let Some(t) = self.server.poll_transmit() {
            // Every client of this shard is on a stream.
            if let Some(c) = self.clients.get(&t.tuple) {
                // A client that does not read loses control messages, not memory.
                let _ = c.tx.try_send(t.contents);
            }
        }
        std::iter::from_fn(|| self.server.poll_event()).collect()
    }
}

/// Carries out everything the core asked for, until it is quiet.
async fn process(shared: &Arc<Shared>) {
    loop {
        let events = shared.lock().drain();
        if events.is_empty() {
            return;
        }
        for e in events {
            on_event(shared, e);
        }
    }
}

fn on_event(shared: &Arc<Shared>, event: ServerEvent) {
    let now = Instant::now();
    match event {
        ServerEvent::BindRelay {
            allocation,
            family,
            protocol,
            even_port,
            reserve_next,
            reserved,
        } => {
            let ip = shared.common.relay_ip(family);
            match protocol {
                RelayProtocol::Udp => {
                    let (socket, kept) =
                        shared
                            .common
                            .bind_udp(ip, even_port, reserve_next, reserved);
                    let socket = socket.and_then(|s| UdpSocket::from_std(s).ok());
                    let mut core = shared.lock();
                    let addr = socket.and_then(|s| {
                        let addr = s.local_addr().ok()?;
                        let socket = Arc::new(s);
                        let task = tokio::spawn(relay_task(shared.clone(), socket.clone(), addr));
                        core.relays.insert(addr, Relay { socket, task });
                        Some(addr)
                    });
                    if addr.is_none() {
                        // No allocation (508): nothing to keep a port for.
                        if let Some(k) = kept {
                            shared.common.lock_reserved().remove(&k);
                        }
                    }
                    let kept = kept.filter(|_| addr.is_some());
                    core.server.relay_bound(now, allocation, addr, kept);
                }
                RelayProtocol::Tcp => {
                    let listener = ip.and_then(|ip| bind_tcp_relay(&shared.common, ip));
                    let mut core = shared.lock();
                    let addr = listener.and_then(|l| {
                        let addr = l.local_addr().ok()?;
                        let task = tokio::spawn(tcp_relay_task(shared.clone(), l, addr));
                        core.tcp_relays.insert(addr, task);
                        Some(addr)
                    });
                    core.server.relay_bound(now, allocation, addr, None);
                }
            }
        }
        ServerEvent::ReleaseRelay { relay, .. } => {
            if let Some(relay) = relay {
                let mut core = shared.lock();
                if let Some(r) = core.relays.remove(&relay) {
                    core.end(r.task);
                }
                if let Some(t) = core.tcp_relays.remove(&relay) {
                    core.end(t);
                }
            }
        }
        ServerEvent::ReleaseReservation { relay } => {
            shared.common.lock_reserved().remove(&relay);
        }
        ServerEvent::ConnectPeer {
            connection_id,
            relay,
            peer,
        } => {
            let s = shared.clone();
            let task = tokio::spawn(async move {
                let stream = connect_from(relay, peer).await;
                let ok = stream.is_ok();
                {
                    let mut core = s.lock();
                    core.pending_connects.remove(&connection_id.0);
                    if let Ok(stream) = stream {
                        core.peer_streams.insert(connection_id.0, stream);
                    }
                    core.server
                        .peer_connected(Instant::now(), connection_id, ok);
                }
                process(&s).await;
            });
            shared.lock().pending_connects.insert(connection_id.0, task);
        }
        ServerEvent::Splice {
            connection_id,
            tuple,
        } => {
            let mut core = shared.lock();
            let peer = core.peer_streams.remove(&connection_id.0);
            match (
                peer,
                core.clients.get_mut(&tuple).and_then(|c| c.splice.take()),
            ) {
                (Some(peer), Some(tx)) => {
                    let _ = tx.send(peer);
                }
                _ => {
                    if let Some(c) = core.clients.remove(&tuple) {
                        core.end(c.task);
                    }
                }
            }
        }
        ServerEvent::ClosePeerConnection { connection_id } => {
            let mut core = shared.lock();
            core.peer_streams.remove(&connection_id.0);
            if let Some(t) = core.pending_connects.remove(&connection_id.0) {
                core.end(t);
            }
        }
        ServerEvent::CloseClientConnection { tuple } => {
            let mut core = shared.lock();
            if let Some(c) = core.clients.remove(&tuple) {
                core.end(c.task);
            }
        }
    }
}

// ---- tasks -----------------------------------------------------------------------------

/// TCP connections from clients.
async fn tcp_listener(shared: Arc<Shared>, listener: TcpListener) {
    let Ok(local) = listener.local_addr() else {
        return;
    };
    loop {
        let Ok((stream, from)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let tuple = FiveTuple {
            transport: TurnTransport::Tcp,
            client: from,
            server: local,
        };
        let (tx, rx) = mpsc::channel(1024);
        let (splice_tx, splice_rx) = oneshot::channel();
        // Registered under the lock before the task runs, so its first answer finds it.
        let mut core = shared.lock();
        let task = tokio::spawn(tcp_client(shared.clone(), tuple, stream, rx, splice_rx));
        core.clients.insert(
            tuple,
            ClientConn {
                tx,
                splice: Some(splice_tx),
                task,
            },
        );
    }
}

/// One TCP client connection: frames in, messages out, and for an RFC 6062 data connection
/// the splice to its peer.
async fn tcp_client(
    shared: Arc<Shared>,
    tuple: FiveTuple,
    mut stream: TcpStream,
    mut rx: mpsc::Receiver<Vec<u8>>,
    mut splice: oneshot::Receiver<TcpStream>,
) {
    let mut framer = StreamFramer::new();
    let mut buf = vec![0u8; 65_536];
    loop {
        tokio::select! {
            biased;
            Some(out) = rx.recv() => {
                if stream.write_all(&out).await.is_err() {
                    break;
                }
            }
            Ok(mut peer) = &mut splice => {
                // Anything the client sent after ConnectionBind is already the peer's.
                let rest = framer.take_remaining();
                if !rest.is_empty() && peer.write_all(&rest).await.is_err() {
                    break;
                }
                let _ = tokio::io::copy_bidirectional(&mut stream, &mut peer).await;
                break;
            }
            read = stream.read(&mut buf) => {
                let n = match read {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                framer.push(buf.get(..n).unwrap_or(&[]));
                let mut sends = Vec::new();
                let mut control = false;
                let mut broken = false;
                {
                    let mut core = shared.lock();
                    loop {
                        let frame = match framer.next_frame() {
                            Ok(Some(f)) => f,
                            Ok(None) => break,
                            Err(_) => {
                                broken = true;
                                break;
                            }
                        };
                        match core.server.handle_client(Instant::now(), tuple, frame.as_bytes()) {
                            ClientOutcome::Relay { relay, peer, data } => {
                                if let Some(r) = core.relays.get(&relay) {
                                    sends.push((r.socket.clone(), peer, data.to_vec()));
                                }
                            }
                            ClientOutcome::Handled => control = true,
                            ClientOutcome::Dropped => {}
                        }
                    }
                }
                for (socket, peer, data) in sends {
                    let _ = socket.send_to(&data, peer).await;
                }
                if control {
                    process(&shared).await;
                }
                if broken {
                    break; // not TURN: close
                }
            }
        }
    }
    {
        let mut core = shared.lock();
        core.clients.remove(&tuple);
        core.server.client_disconnected(Instant::now(), tuple);
    }
    process(&shared).await;
}

/// Datagrams from peers to one relayed address of a TCP client's allocation.
async fn relay_task(shared: Arc<Shared>, socket: Arc<UdpSocket>, relay: SocketAddr) {
    let mut buf = vec![0u8; 65_536];
    let mut out = Vec::with_capacity(65_600);
    loop {
        let Ok((n, peer)) = socket.recv_from(&mut buf).await else {
            continue;
        };
        let data = buf.get(..n).unwrap_or(&[]);
        let mut core = shared.lock();
        if let Some(tuple) = core
            .server
            .handle_peer(Instant::now(), relay, peer, data, &mut out)
        {
            if let Some(c) = core.clients.get(&tuple) {
                let _ = c.tx.try_send(out.clone());
            }
        }
    }
}

/// RFC 6062: peers connecting to a TCP relayed address.
async fn tcp_relay_task(shared: Arc<Shared>, listener: TcpListener, relay: SocketAddr) {
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        {
            let mut core = shared.lock();
            match core
                .server
                .peer_connection_accepted(Instant::now(), relay, peer)
            {
                Some(ConnectionId(id)) => {
                    core.peer_streams.insert(id, stream);
                }
                None => drop(stream),
            }
        }
        process(&shared).await;
    }
}

/// Expiry sweeps and the wall clock for TURN REST expiry.
async fn timer(shared: Arc<Shared>) {
    loop {
        let wait = {
            let core = shared.lock();
            core.server
                .poll_timeout()
                .map(|t| t.saturating_duration_since(Instant::now()))
                .unwrap_or(Duration::from_secs(1))
                .min(Duration::from_secs(1))
        };
        tokio::time::sleep(wait.max(Duration::from_millis(5))).await;
        {
            let mut core = shared.lock();
            let now = Instant::now();
            core.server.set_unix_time(now, unix_now());
            core.server.handle_timeout(now);
            core.ended.retain(|t| !t.is_finished());
        }
        process(&shared).await;
    }
}

// ---- sockets ---------------------------------------------------------------------------

fn tcp_socket(ip: IpAddr) -> std::io::Result<TcpSocket> {
    let s = if ip.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    s.set_reuseaddr(true)?;
    #[cfg(all(unix, not(target_os = "solaris"), not(target_os = "illumos")))]
    s.set_reuseport(true)?;
    Ok(s)
}

fn bind_tcp_relay(common: &Common, ip: IpAddr) -> Option<TcpListener> {
    for port in candidate_ports(&common.relay_ports, false) {
        let Ok(s) = tcp_socket(ip) else {
            continue;
        };
        if s.bind(SocketAddr::new(ip, port)).is_err() {
            continue;
        }
        if let Ok(l) = s.listen(128) {
            return Some(l);
        }
    }
    None
}

/// RFC 6062 §5.2: the connection to the peer comes from the relayed address.
async fn connect_from(relay: SocketAddr, peer: SocketAddr) -> std::io::Result<TcpStream> {
    let s = tcp_socket(relay.ip())?;
    s.bind(relay)?;
    tokio::time::timeout(Duration::from_secs(10), s.connect(peer))
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))?
}
