//! The tokio runtime of the TURN server (feature `tokio`): UDP and TCP listeners, relayed
//! UDP sockets (and RFC 6062 TCP listeners) from a port range, around the sans-IO
//! [`Server`] core.
//!
//! ```no_run
//! use oxrtc_turn::runtime::{run, RuntimeConfig};
//! use oxrtc_turn::ServerConfig;
//!
//! # async fn f() -> std::io::Result<()> {
//! let config = RuntimeConfig {
//!     listen: vec!["127.0.0.1:3478".parse().unwrap()],
//!     server: ServerConfig {
//!         realm: "example.org".into(),
//!         users: vec![("alice".into(), "secret".into())],
//!         ..Default::default()
//!     },
//!     ..Default::default()
//! };
//! let stats = run(config, async { let _ = tokio::signal::ctrl_c().await; }).await?;
//! println!("relayed {} packets", stats.packets_to_peers + stats.packets_to_clients);
//! # Ok(()) }
//! ```
//!
//! One task per listener, per TCP connection and per relayed socket, and one timer task;
//! they share the core behind a mutex that is never held across an await. Shutdown deletes
//! every allocation, stops every task and closes every socket before `run` returns.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use oxrtc_stun::{AddressFamily, ConnectionId};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream, UdpSocket};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::{
    ClientOutcome, FiveTuple, RelayProtocol, Server, ServerConfig, ServerEvent, ServerStats,
};
use crate::wire::StreamFramer;
use crate::TurnTransport;

/// Settings of the runtime: where to listen and where to relay from, plus the core's
/// [`ServerConfig`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeConfig {
    /// Addresses to listen on, UDP and TCP on each. Port 0 picks a free port (the same for
    /// UDP and TCP). Default `0.0.0.0:3478`.
    pub listen: Vec<SocketAddr>,
    /// The IPv4 address relayed sockets bind to and advertise. Default: the first IPv4
    /// listen address, which must then be specified (not 0.0.0.0).
    pub relay_ip: Option<IpAddr>,
    /// An IPv6 relay address; with it the server grants IPv6 relayed addresses
    /// (REQUESTED-ADDRESS-FAMILY). Default none.
    pub relay_ipv6: Option<IpAddr>,
    /// Ports for relayed sockets. Default 49152..=65535.
    pub relay_ports: RangeInclusive<u16>,
    /// Listen on UDP. Default true.
    pub udp: bool,
    /// Listen on TCP. Default true.
    pub tcp: bool,
    /// Extra threads that run the relayed UDP sockets (peer to client), each a
    /// current-thread runtime; listeners stay on the caller's runtime. 0 runs everything
    /// on the caller's runtime. Default 1: client-to-peer and peer-to-client traffic then
    /// use a core each.
    pub relay_threads: usize,
    /// The core's settings.
    pub server: ServerConfig,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            listen: vec![SocketAddr::from(([0, 0, 0, 0], 3478))],
            relay_ip: None,
            relay_ipv6: None,
            relay_ports: 49152..=65535,
            udp: true,
            tcp: true,
            relay_threads: 1,
            server: ServerConfig::default(),
        }
    }
}

/// Runs a TURN server until `shutdown` completes, then stops it gracefully (allocations
/// deleted, sockets closed, tasks ended) and returns its final counters.
///
/// # Errors
/// Binding a listener failed, or no relay address could be determined
/// ([`io::ErrorKind::InvalidInput`]).
pub async fn run(
    config: RuntimeConfig,
    shutdown: impl Future<Output = ()>,
) -> io::Result<ServerStats> {
    TurnServer::bind(config).await?.serve(shutdown).await
}

/// A bound TURN server, before it serves: for callers that need the listening addresses
/// (port 0) or the counters while it runs.
#[derive(Debug)]
pub struct TurnServer {
    shared: Arc<Shared>,
    udp: Vec<Arc<UdpSocket>>,
    tcp: Vec<TcpListener>,
    local_addrs: Vec<SocketAddr>,
}

impl TurnServer {
    /// Binds the listeners.
    ///
    /// # Errors
    /// As [`run`].
    pub async fn bind(config: RuntimeConfig) -> io::Result<TurnServer> {
        let relay_ip = match config.relay_ip {
            Some(ip) => ip,
            None => config
                .listen
                .iter()
                .map(|a| a.ip())
                .find(|ip| ip.is_ipv4() && !ip.is_unspecified())
                .ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "relay_ip is needed when listening on 0.0.0.0",
                    )
                })?,
        };
        if config.relay_ports.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "empty relay port range",
            ));
        }
        let mut udp = Vec::new();
        let mut tcp = Vec::new();
        let mut local_addrs = Vec::new();
        for addr in &config.listen {
            let (u, t) = bind_pair(*addr, config.udp, config.tcp).await?;
            let local = match (&u, &t) {
                (Some(u), _) => u.local_addr()?,
                (None, Some(t)) => t.local_addr()?,
                (None, None) => continue,
            };
            local_addrs.push(local);
            udp.extend(u.map(Arc::new));
            tcp.extend(t);
        }
        let mut server_config = config.server.clone();
        server_config.ipv4_relay = relay_ip.is_ipv4();
        server_config.ipv6_relay = config.relay_ipv6.is_some() || relay_ip.is_ipv6();
        let now = Instant::now();
        let mut server = Server::new(server_config, now, StdRng::from_os_rng());
        server.set_unix_time(now, unix_now());
        let listeners = udp
            .iter()
            .filter_map(|s| Some((s.local_addr().ok()?, s.clone())))
            .collect();
        let shared = Arc::new(Shared {
            core: Mutex::new(Core {
                server,
                listeners,
                relays: HashMap::new(),
                tcp_relays: HashMap::new(),
                reserved: HashMap::new(),
                clients: HashMap::new(),
                peer_streams: HashMap::new(),
                pending_connects: HashMap::new(),
                ended: Vec::new(),
            }),
            relay_ip,
            relay_ipv6: config.relay_ipv6,
            relay_ports: config.relay_ports.clone(),
            relay_threads: config.relay_threads,
            workers: Mutex::new(Vec::new()),
            next_worker: std::sync::atomic::AtomicUsize::new(0),
        });
        Ok(TurnServer {
            shared,
            udp,
            tcp,
            local_addrs,
        })
    }

    /// The listening addresses (one per configured address, with the port chosen).
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.local_addrs
    }

    /// A handle that reads the counters while the server runs.
    pub fn handle(&self) -> TurnServerHandle {
        TurnServerHandle {
            shared: self.shared.clone(),
        }
    }

    /// Serves until `shutdown` completes, then stops gracefully; returns the final
    /// counters.
    ///
    /// # Errors
    /// None today; kept for listener failures to come.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) -> io::Result<ServerStats> {
        let shared = self.shared;
        let mut workers = Vec::new();
        for i in 0..shared.relay_threads {
            workers.push(Worker::start(i)?);
        }
        *shared.workers.lock().unwrap_or_else(|e| e.into_inner()) =
            workers.iter().map(|w| w.handle.clone()).collect();
        let mut own = Vec::new();
        for socket in self.udp {
            own.push(tokio::spawn(udp_listener(shared.clone(), socket)));
        }
        for listener in self.tcp {
            own.push(tokio::spawn(tcp_listener(shared.clone(), listener)));
        }
        own.push(tokio::spawn(timer(shared.clone())));
        shutdown.await;
        tracing::info!("turn server shutting down");
        // Stop taking input, delete every allocation, then end every task and wait for it:
        // every socket is closed when this returns.
        for h in &own {
            h.abort();
        }
        for h in own {
            let _ = h.await;
        }
        shared.lock().server.shutdown(Instant::now());
        process(&shared).await;
        let (stats, tasks) = {
            let mut core = shared.lock();
            let mut tasks = std::mem::take(&mut core.ended);
            tasks.extend(core.relays.drain().map(|(_, r)| r.task));
            tasks.extend(core.tcp_relays.drain().map(|(_, t)| t));
            tasks.extend(core.clients.drain().map(|(_, c)| c.task));
            tasks.extend(core.pending_connects.drain().map(|(_, t)| t));
            core.reserved.clear();
            core.peer_streams.clear();
            core.listeners.clear();
            (core.server.stats(), tasks)
        };
        for t in &tasks {
            t.abort();
        }
        for t in tasks {
            let _ = t.await;
        }
        shared
            .workers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        for w in workers {
            w.stop().await;
        }
        Ok(stats)
    }
}

/// A relay thread: a current-thread runtime driven until told to stop.
struct Worker {
    handle: tokio::runtime::Handle,
    stop: oneshot::Sender<()>,
    exited: oneshot::Receiver<()>,
}

impl Worker {
    fn start(index: usize) -> io::Result<Worker> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let handle = rt.handle().clone();
        let (stop, stop_rx) = oneshot::channel::<()>();
        let (exited_tx, exited) = oneshot::channel::<()>();
        std::thread::Builder::new()
            .name(format!("turn-relay-{index}"))
            .spawn(move || {
                rt.block_on(async {
                    let _ = stop_rx.await;
                });
                // Dropping the runtime cancels what still runs on it and closes its sockets.
                drop(rt);
                let _ = exited_tx.send(());
            })?;
        Ok(Worker {
            handle,
            stop,
            exited,
        })
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.exited.await;
    }
}

/// Reads a running server's counters.
#[derive(Debug, Clone)]
pub struct TurnServerHandle {
    shared: Arc<Shared>,
}

impl TurnServerHandle {
    /// The core's counters now.
    pub fn stats(&self) -> ServerStats {
        self.shared.lock().server.stats()
    }
}

// ---- shared state ----------------------------------------------------------------------

#[derive(Debug)]
struct Shared {
    core: Mutex<Core>,
    relay_ip: IpAddr,
    relay_ipv6: Option<IpAddr>,
    relay_ports: RangeInclusive<u16>,
    relay_threads: usize,
    /// The runtimes of the relay threads, set when serving starts.
    workers: Mutex<Vec<tokio::runtime::Handle>>,
    next_worker: std::sync::atomic::AtomicUsize,
}

impl Shared {
    /// The runtime the next relayed socket goes to: the relay threads in turn, or the
    /// current one without them.
    fn worker(&self) -> Option<tokio::runtime::Handle> {
        let workers = self.workers.lock().unwrap_or_else(|e| e.into_inner());
        let n = self
            .next_worker
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        workers.get(n % workers.len().max(1)).cloned()
    }

    fn lock(&self) -> MutexGuard<'_, Core> {
        // A panic while holding the lock poisons it; the state is still consistent enough
        // to shut down, so take it anyway.
        self.core.lock().unwrap_or_else(|e| e.into_inner())
    }
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
    /// The UDP listeners by local address, to answer clients from.
    listeners: HashMap<SocketAddr, Arc<UdpSocket>>,
    relays: HashMap<SocketAddr, Relay>,
    tcp_relays: HashMap<SocketAddr, JoinHandle<()>>,
    /// Sockets kept for EVEN-PORT reservations.
    reserved: HashMap<SocketAddr, std::net::UdpSocket>,
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
}

/// What to do after the lock is released.
enum Action {
    Udp(Arc<UdpSocket>, SocketAddr, Vec<u8>),
    Event(ServerEvent),
}

fn drain(core: &mut Core) -> Vec<Action> {
    let mut actions = Vec::new();
    while let Some(t) = core.server.poll_transmit() {
        match t.tuple.transport {
            TurnTransport::Udp => {
                if let Some(s) = core.listeners.get(&t.tuple.server) {
                    actions.push(Action::Udp(s.clone(), t.tuple.client, t.contents));
                }
            }
            TurnTransport::Tcp | TurnTransport::Tls => {
                if let Some(c) = core.clients.get(&t.tuple) {
                    // A client that does not read loses control messages, not memory.
                    let _ = c.tx.try_send(t.contents);
                }
            }
        }
    }
    while let Some(e) = core.server.poll_event() {
        actions.push(Action::Event(e));
    }
    actions
}

/// Moves everything the core produced to the network and the runtime, until it is quiet.
async fn process(shared: &Arc<Shared>) {
    loop {
        let actions = {
            let mut core = shared.lock();
            drain(&mut core)
        };
        if actions.is_empty() {
            return;
        }
        for a in actions {
            match a {
                Action::Udp(socket, to, bytes) => {
                    let _ = socket.send_to(&bytes, to).await;
                }
                Action::Event(e) => on_event(shared, e),
            }
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
            let ip = match family {
                AddressFamily::IPv4 => Some(shared.relay_ip).filter(IpAddr::is_ipv4),
                AddressFamily::IPv6 => shared.relay_ipv6,
            };
            let mut kept = None;
            let bound = match reserved {
                Some(r) => shared.lock().reserved.remove(&r).map(Bound::Udp),
                None => ip.and_then(|ip| match protocol {
                    RelayProtocol::Udp if reserve_next => {
                        bind_udp_pair(shared, ip).map(|(a, b)| {
                            kept = Some(b);
                            Bound::Udp(a)
                        })
                    }
                    RelayProtocol::Udp => bind_udp_relay(shared, ip, even_port),
                    RelayProtocol::Tcp => bind_tcp_relay(shared, ip),
                }),
            };
            // The relayed socket lives on a relay thread: registered with its reactor,
            // read by a task there.
            let worker = shared.worker();
            let bound = match bound {
                Some(Bound::Udp(std_socket)) => {
                    let _entered = worker.as_ref().map(|w| w.enter());
                    UdpSocket::from_std(std_socket).ok().map(|s| {
                        let addr = s.local_addr().ok();
                        let socket = Arc::new(s);
                        let task = addr.map(|addr| {
                            let future = relay_task(shared.clone(), socket.clone(), addr);
                            match &worker {
                                Some(w) => w.spawn(future),
                                None => tokio::spawn(future),
                            }
                        });
                        BoundRelay::Udp(socket, addr, task)
                    })
                }
                Some(Bound::Tcp(l)) => Some(BoundRelay::Tcp(l)),
                None => None,
            };
            let mut core = shared.lock();
            let kept_addr = kept.and_then(|k: std::net::UdpSocket| {
                let addr = k.local_addr().ok()?;
                core.reserved.insert(addr, k);
                Some(addr)
            });
            match bound {
                Some(BoundRelay::Udp(socket, addr, task)) => {
                    if let (Some(addr), Some(task)) = (addr, task) {
                        core.relays.insert(addr, Relay { socket, task });
                    }
                    core.server.relay_bound(now, allocation, addr, kept_addr);
                }
                Some(BoundRelay::Tcp(listener)) => {
                    let addr = listener.local_addr().ok();
                    if let Some(addr) = addr {
                        let task = tokio::spawn(tcp_relay_task(shared.clone(), listener, addr));
                        core.tcp_relays.insert(addr, task);
                    }
                    core.server.relay_bound(now, allocation, addr, None);
                }
                None => core.server.relay_bound(now, allocation, None, None),
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
            shared.lock().reserved.remove(&relay);
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

/// Datagrams from clients.
async fn udp_listener(shared: Arc<Shared>, socket: Arc<UdpSocket>) {
    let Ok(local) = socket.local_addr() else {
        return;
    };
    // All clients' datagrams arrive here: read them in batches (recvmmsg, GRO where the
    // platform has them) to spend fewer system calls per relayed packet.
    let Ok(state) = quinn_udp::UdpSocketState::new((&*socket).into()) else {
        return;
    };
    let batch = quinn_udp::BATCH_SIZE.max(1);
    let slot = 65_536.max(state.gro_segments() * 1500);
    let mut bufs = vec![vec![0u8; slot]; batch];
    let mut metas = vec![quinn_udp::RecvMeta::default(); batch];
    loop {
        if socket.readable().await.is_err() {
            continue;
        }
        let received = {
            let mut iovs: Vec<std::io::IoSliceMut<'_>> = bufs
                .iter_mut()
                .map(|b| std::io::IoSliceMut::new(b))
                .collect();
            socket.try_io(tokio::io::Interest::READABLE, || {
                state.recv((&*socket).into(), &mut iovs, &mut metas)
            })
        };
        // WouldBlock (a spurious wake-up) or an ICMP error: keep serving.
        let Ok(n) = received else {
            continue;
        };
        let mut sends = Vec::new();
        let mut control = false;
        {
            let mut core = shared.lock();
            let now = Instant::now();
            for (buf, meta) in bufs.iter().zip(&metas).take(n) {
                let tuple = FiveTuple {
                    transport: TurnTransport::Udp,
                    client: meta.addr,
                    server: local,
                };
                let datagrams = buf.get(..meta.len).unwrap_or(&[]);
                for data in datagrams.chunks(meta.stride.max(1)) {
                    match core.server.handle_client(now, tuple, data) {
                        ClientOutcome::Relay { relay, peer, data } => {
                            if let Some(r) = core.relays.get(&relay) {
                                sends.push((r.socket.clone(), peer, data));
                            }
                        }
                        ClientOutcome::Handled => control = true,
                        ClientOutcome::Dropped => {}
                    }
                }
            }
        }
        for (relay_socket, peer, payload) in sends {
            let _ = relay_socket.send_to(payload, peer).await;
        }
        if control {
            process(&shared).await;
        }
    }
}

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

/// Datagrams from peers to one relayed address.
async fn relay_task(shared: Arc<Shared>, socket: Arc<UdpSocket>, relay: SocketAddr) {
    let mut buf = vec![0u8; 65_536];
    let mut out = Vec::with_capacity(65_600);
    loop {
        let Ok((n, peer)) = socket.recv_from(&mut buf).await else {
            continue;
        };
        let data = buf.get(..n).unwrap_or(&[]);
        let send = {
            let mut core = shared.lock();
            match core
                .server
                .handle_peer(Instant::now(), relay, peer, data, &mut out)
            {
                Some(tuple) if tuple.transport == TurnTransport::Udp => core
                    .listeners
                    .get(&tuple.server)
                    .map(|s| (s.clone(), tuple.client)),
                Some(tuple) => {
                    if let Some(c) = core.clients.get(&tuple) {
                        let _ = c.tx.try_send(out.clone());
                    }
                    None
                }
                None => None,
            }
        };
        if let Some((listener, client)) = send {
            let _ = listener.send_to(&out, client).await;
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

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// UDP and TCP listeners on the same port (port 0: a free one for both).
async fn bind_pair(
    addr: SocketAddr,
    udp: bool,
    tcp: bool,
) -> io::Result<(Option<UdpSocket>, Option<TcpListener>)> {
    let mut last = None;
    for _ in 0..16 {
        let u = if udp {
            Some(UdpSocket::bind(addr).await?)
        } else {
            None
        };
        let port = match &u {
            Some(u) => u.local_addr()?.port(),
            None => addr.port(),
        };
        if !tcp {
            return Ok((u, None));
        }
        match TcpListener::bind(SocketAddr::new(addr.ip(), port)).await {
            Ok(t) => return Ok((u, Some(t))),
            Err(e) if addr.port() == 0 => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free port")))
}

enum Bound {
    Udp(std::net::UdpSocket),
    Tcp(TcpListener),
}

enum BoundRelay {
    Udp(Arc<UdpSocket>, Option<SocketAddr>, Option<JoinHandle<()>>),
    Tcp(TcpListener),
}

/// Candidate ports in the range, in random order of trial (at most 64 tries).
fn candidate_ports(range: &RangeInclusive<u16>, even: bool) -> Vec<u16> {
    let (lo, hi) = (u32::from(*range.start()), u32::from(*range.end()));
    let len = hi - lo + 1;
    let mut rng = StdRng::from_os_rng();
    (0..64.min(len * 2))
        .map(|_| {
            let p = lo + rng.random_range(0..len);
            let p = if even && p % 2 == 1 {
                if p > lo {
                    p - 1
                } else {
                    p + 1
                }
            } else {
                p
            };
            p.min(hi) as u16
        })
        .collect()
}

fn bind_udp_relay(shared: &Shared, ip: IpAddr, even: bool) -> Option<Bound> {
    for port in candidate_ports(&shared.relay_ports, even) {
        let Ok(s) = std::net::UdpSocket::bind(SocketAddr::new(ip, port)) else {
            continue;
        };
        if s.set_nonblocking(true).is_ok() {
            return Some(Bound::Udp(s));
        }
    }
    None
}

/// An even port and the odd one after it, for EVEN-PORT with the R bit.
fn bind_udp_pair(
    shared: &Shared,
    ip: IpAddr,
) -> Option<(std::net::UdpSocket, std::net::UdpSocket)> {
    for port in candidate_ports(&shared.relay_ports, true) {
        if port == u16::MAX || !shared.relay_ports.contains(&(port + 1)) {
            continue;
        }
        let Ok(a) = std::net::UdpSocket::bind(SocketAddr::new(ip, port)) else {
            continue;
        };
        let Ok(b) = std::net::UdpSocket::bind(SocketAddr::new(ip, port + 1)) else {
            continue;
        };
        if a.set_nonblocking(true).is_ok() && b.set_nonblocking(true).is_ok() {
            return Some((a, b));
        }
    }
    None
}

fn tcp_socket(ip: IpAddr) -> io::Result<TcpSocket> {
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

fn bind_tcp_relay(shared: &Shared, ip: IpAddr) -> Option<Bound> {
    for port in candidate_ports(&shared.relay_ports, false) {
        let Ok(s) = tcp_socket(ip) else {
            continue;
        };
        if s.bind(SocketAddr::new(ip, port)).is_err() {
            continue;
        }
        if let Ok(l) = s.listen(128) {
            return Some(Bound::Tcp(l));
        }
    }
    None
}

/// RFC 6062 §5.2: the connection to the peer comes from the relayed address.
async fn connect_from(relay: SocketAddr, peer: SocketAddr) -> io::Result<TcpStream> {
    let s = tcp_socket(relay.ip())?;
    s.bind(relay)?;
    tokio::time::timeout(Duration::from_secs(10), s.connect(peer))
        .await
        .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))?
}
