//! The UDP workers: one thread each, with a current-thread runtime, its own listening
//! socket per listen address (`SO_REUSEPORT`), its own shard of the core, and the relayed
//! sockets of the allocations made through it. Both directions of a flow are served on
//! the worker that owns the allocation, without locks: the worker's state is shared by its
//! tasks only (`Rc<RefCell<_>>`, never borrowed across an await).
//!
//! The data path reads a batch (`recvmmsg`, GRO), runs the core over it, and sends what
//! it relays grouped by socket and destination (GSO: one system call per group), from
//! buffers the worker reuses.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{self, IoSliceMut};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use quinn_udp::{RecvMeta, Transmit, UdpSocketState, BATCH_SIZE};
use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio::sync::oneshot;
use tokio::task::{spawn_local, JoinHandle};

use super::{unix_now, Common};
use crate::server::{ClientOutcome, FiveTuple, RelayProtocol, Server, ServerEvent, ServerStats};
use crate::TurnTransport;

/// A receive buffer: the largest UDP datagram, or a GRO batch of them.
const SLOT: usize = 65_536;
/// Most bytes in one GSO send.
const MAX_GSO_BYTES: usize = 65_000;
/// Largest datagram sent with GSO: a segment must fit the path's MTU (a larger one fails
/// with EINVAL, which would turn GSO off for the socket).
const MAX_GSO_SEGMENT: usize = 1_472;

/// A running worker thread.
#[derive(Debug)]
pub(super) struct Worker {
    stop: Option<oneshot::Sender<()>>,
    exited: oneshot::Receiver<ServerStats>,
}

impl Worker {
    /// Starts worker `index` on its listening `sockets` (one per listen address) with its
    /// shard of the core.
    ///
    /// # Errors
    /// The runtime, a socket's registration or the thread could not be made.
    pub(super) fn start(
        index: usize,
        sockets: Vec<std::net::UdpSocket>,
        shard: Server,
        common: Arc<Common>,
    ) -> io::Result<Worker> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        // Registered with the worker's reactor, here, so that errors reach the caller.
        let listeners = {
            let _entered = rt.enter();
            sockets
                .into_iter()
                .map(Sock::new)
                .collect::<io::Result<Vec<_>>>()?
        };
        let (stop, stop_rx) = oneshot::channel::<()>();
        let (exited_tx, exited) = oneshot::channel::<ServerStats>();
        std::thread::Builder::new()
            .name(format!("turn-udp-{index}"))
            .spawn(move || {
                let local = tokio::task::LocalSet::new();
                let state = Rc::new(State {
                    shard: RefCell::new(shard),
                    listeners: listeners.into_iter().map(Rc::new).collect(),
                    relays: RefCell::new(HashMap::new()),
                    scratch: RefCell::new(Scratch::new()),
                    ended: RefCell::new(Vec::new()),
                    common,
                    index,
                });
                let stats = local.block_on(&rt, run(state, stop_rx));
                // Dropping the tasks, then the runtime, closes every socket.
                drop(local);
                drop(rt);
                let _ = exited_tx.send(stats);
            })?;
        Ok(Worker {
            stop: Some(stop),
            exited,
        })
    }

    /// Tells the worker to shut down, without waiting.
    pub(super) fn signal_stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Shuts the worker down and waits for its thread to end (its sockets closed); returns
    /// its final counters.
    pub(super) async fn stop(mut self) -> ServerStats {
        self.signal_stop();
        self.exited.await.unwrap_or_default()
    }
}

/// A UDP socket with its batched-I/O state.
#[derive(Debug)]
struct Sock {
    io: UdpSocket,
    state: UdpSocketState,
    local: SocketAddr,
}

impl Sock {
    /// Registers `socket` with the current runtime.
    fn new(socket: std::net::UdpSocket) -> io::Result<Sock> {
        let state = UdpSocketState::new((&socket).into())?;
        allow_fragmentation(&socket);
        let io = UdpSocket::from_std(socket)?;
        let local = io.local_addr()?;
        Ok(Sock { io, state, local })
    }

    /// Reads a batch: how many of `bufs` were filled (`metas` say with what).
    fn recv(&self, bufs: &mut [Vec<u8>], metas: &mut [RecvMeta]) -> io::Result<usize> {
        let mut bufs = bufs.iter_mut();
        let mut iovs: [IoSliceMut<'_>; BATCH_SIZE] = std::array::from_fn(|_| {
            IoSliceMut::new(bufs.next().map_or(&mut [][..], |b| b.as_mut_slice()))
        });
        self.io.try_io(Interest::READABLE, || {
            self.state.recv((&self.io).into(), &mut iovs, metas)
        })
    }

    fn try_send(&self, t: &Transmit<'_>) -> io::Result<()> {
        self.io.try_io(Interest::WRITABLE, || {
            self.state.try_send((&self.io).into(), t)
        })
    }

    /// Sends `contents` (datagrams of `segment` bytes, the last maybe shorter, when
    /// `segment` is less than its length), waiting while the socket buffer is full. A GSO
    /// send the system refuses goes again one datagram at a time; other errors drop the
    /// datagrams (UDP: the ends retransmit what matters).
    async fn send(&self, destination: SocketAddr, contents: &[u8], segment: usize) {
        let t = transmit(destination, contents, segment);
        if self.send_one(&t).await.is_ok() || t.segment_size.is_none() {
            return;
        }
        for d in contents.chunks(segment.max(1)) {
            let _ = self.send_one(&transmit(destination, d, d.len())).await;
        }
    }

    async fn send_one(&self, t: &Transmit<'_>) -> io::Result<()> {
        loop {
            match self.try_send(t) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.io.writable().await?,
                result => return result,
            }
        }
    }
}

/// quinn-udp forbids fragmentation (IP_PMTUDISC_PROBE: a datagram larger than the link's
/// MTU fails); a relay sends what it is given, with DF off (RFC 8656 §14, as coturn does
/// when DONT-FRAGMENT was not asked for, and it never is: 420). IPv6 sockets keep
/// IPV6_DONTFRAG, which nothing safe can clear.
#[cfg(target_os = "linux")]
fn allow_fragmentation(socket: &std::net::UdpSocket) {
    use rustix::net::sockopt::{self, Ipv4PathMtuDiscovery, Ipv6PathMtuDiscovery};
    // A dual-stack IPv6 socket sends IPv4 too: set both, ignore what does not apply.
    let _ = sockopt::set_ip_mtu_discover(socket, Ipv4PathMtuDiscovery::DONT);
    if socket.local_addr().is_ok_and(|a| a.is_ipv6()) {
        let _ = sockopt::set_ipv6_mtu_discover(socket, Ipv6PathMtuDiscovery::DONT);
    }
}

#[cfg(not(target_os = "linux"))]
fn allow_fragmentation(_: &std::net::UdpSocket) {}

fn transmit(destination: SocketAddr, contents: &[u8], segment: usize) -> Transmit<'_> {
    Transmit {
        destination,
        ecn: None,
        contents,
        segment_size: (segment < contents.len()).then_some(segment),
        src_ip: None,
    }
}

/// A worker's state, shared by its tasks on its thread.
struct State {
    shard: RefCell<Server>,
    listeners: Vec<Rc<Sock>>,
    relays: RefCell<HashMap<SocketAddr, Relay>>,
    /// Buffers of the data path, used by one task at a time between awaits.
    scratch: RefCell<Scratch>,
    /// Aborted relay tasks, awaited at shutdown (pruned by the timer).
    ended: RefCell<Vec<JoinHandle<()>>>,
    common: Arc<Common>,
    index: usize,
}

struct Relay {
    sock: Rc<Sock>,
    task: JoinHandle<()>,
}

impl State {
    fn listener(&self, local: SocketAddr) -> Option<&Rc<Sock>> {
        self.listeners.iter().find(|l| l.local == local)
    }

    /// Makes the counters visible to [`TurnServerHandle`](super::TurnServerHandle).
    fn publish(&self, shard: &Server) {
        if let Some(slot) = self.common.worker_stats.get(self.index) {
            slot.store(&shard.stats());
        }
    }
}

/// The worker's life: serve until told to stop, then delete every allocation and end
/// every task.
async fn run(state: Rc<State>, stop: oneshot::Receiver<()>) -> ServerStats {
    let mut own: Vec<JoinHandle<()>> = (0..state.listeners.len())
        .map(|i| spawn_local(listener_task(state.clone(), i)))
        .collect();
    own.push(spawn_local(timer(state.clone())));
    let _ = stop.await;
    for t in &own {
        t.abort();
    }
    for t in own {
        let _ = t.await;
    }
    state.shard.borrow_mut().shutdown(Instant::now());
    process(&state).await;
    let mut tasks: Vec<_> = state.ended.borrow_mut().drain(..).collect();
    tasks.extend(state.relays.borrow_mut().drain().map(|(_, r)| r.task));
    for t in &tasks {
        t.abort();
    }
    for t in tasks {
        let _ = t.await;
    }
    let shard = state.shard.borrow();
    state.publish(&shard);
    shard.stats()
}

// ---- the data path ---------------------------------------------------------------------

/// Buffers reused by every batch.
struct Scratch {
    bufs: Vec<Vec<u8>>,
    metas: Vec<RecvMeta>,
    /// A datagram for a client, written by the core.
    out: Vec<u8>,
    batch: Batch,
}

impl Scratch {
    fn new() -> Scratch {
        Scratch {
            bufs: vec![vec![0u8; SLOT]; BATCH_SIZE],
            metas: vec![RecvMeta::default(); BATCH_SIZE],
            out: Vec::with_capacity(SLOT + 64),
            batch: Batch::default(),
        }
    }
}

/// Datagrams to send, grouped for GSO: consecutive datagrams of one flow (socket and
/// destination) of one size, the last maybe shorter, leave in one system call. Groups go
/// out in the order they were opened, so each flow keeps its order.
#[derive(Default)]
struct Batch {
    groups: Vec<Group>,
    used: usize,
}

#[derive(Default)]
struct Group {
    sock: Option<Rc<Sock>>,
    destination: Option<SocketAddr>,
    buf: Vec<u8>,
    segment: usize,
    count: usize,
    open: bool,
}

impl Batch {
    fn push(&mut self, sock: &Rc<Sock>, destination: SocketAddr, data: &[u8]) {
        let used = self.used.min(self.groups.len());
        let flow = self.groups[..used].iter_mut().rev().find(|g| {
            g.destination == Some(destination)
                && g.sock.as_ref().is_some_and(|s| Rc::ptr_eq(s, sock))
        });
        if let Some(g) = flow {
            if g.open
                && g.count < sock.state.max_gso_segments()
                && data.len() <= g.segment
                && g.buf.len() + data.len() <= MAX_GSO_BYTES
            {
                g.buf.extend_from_slice(data);
                g.count += 1;
                // Only the last segment may be shorter.
                g.open = data.len() == g.segment;
                return;
            }
            g.open = false;
        }
        if self.used == self.groups.len() {
            self.groups.push(Group::default());
        }
        if let Some(g) = self.groups.get_mut(self.used) {
            g.sock = Some(sock.clone());
            g.destination = Some(destination);
            g.buf.clear();
            g.buf.extend_from_slice(data);
            g.segment = data.len();
            g.count = 1;
            g.open = !data.is_empty() && data.len() <= MAX_GSO_SEGMENT;
            self.used += 1;
        }
    }

    /// Sends every group that the sockets take now; returns the rest, copied out, to
    /// send after waiting: from the first group that meets a full socket buffer or a
    /// refused GSO send on (so each flow keeps its order).
    fn flush(&mut self) -> Vec<(Rc<Sock>, SocketAddr, Vec<u8>, usize)> {
        let mut blocked = Vec::new();
        let used = self.used.min(self.groups.len());
        self.used = 0;
        for g in &mut self.groups[..used] {
            let (Some(sock), Some(destination)) = (g.sock.take(), g.destination.take()) else {
                continue;
            };
            if blocked.is_empty() {
                let t = transmit(destination, &g.buf, g.segment);
                match sock.try_send(&t) {
                    Ok(()) => continue,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(_) if t.segment_size.is_some() => {}
                    Err(_) => continue,
                }
            }
            blocked.push((sock, destination, std::mem::take(&mut g.buf), g.segment));
        }
        blocked
    }
}

/// Sends what [`Batch::flush`] could not, waiting for the sockets.
async fn send_blocked(blocked: Vec<(Rc<Sock>, SocketAddr, Vec<u8>, usize)>) {
    for (sock, destination, buf, segment) in blocked {
        sock.send(destination, &buf, segment).await;
    }
}

/// Datagrams from clients to one listening socket.
async fn listener_task(state: Rc<State>, index: usize) {
    let Some(sock) = state.listeners.get(index).cloned() else {
        return;
    };
    loop {
        if sock.io.readable().await.is_err() {
            return;
        }
        let (blocked, control) = {
            let mut scratch = state.scratch.borrow_mut();
            let Scratch {
                bufs, metas, batch, ..
            } = &mut *scratch;
            // WouldBlock (a spurious wake-up) or an ICMP error: keep serving.
            let Ok(n) = sock.recv(bufs, metas) else {
                continue;
            };
            let mut control = false;
            let mut shard = state.shard.borrow_mut();
            let relays = state.relays.borrow();
            let now = Instant::now();
            for (buf, meta) in bufs.iter().zip(metas.iter()).take(n) {
                let tuple = FiveTuple {
                    transport: TurnTransport::Udp,
                    client: meta.addr,
                    server: sock.local,
                };
                let datagrams = buf.get(..meta.len).unwrap_or(&[]);
                for data in datagrams.chunks(meta.stride.max(1)) {
                    match shard.handle_client(now, tuple, data) {
                        ClientOutcome::Relay { relay, peer, data } => {
                            if let Some(r) = relays.get(&relay) {
                                batch.push(&r.sock, peer, data);
                            }
                        }
                        ClientOutcome::Handled => control = true,
                        ClientOutcome::Dropped => {}
                    }
                }
            }
            state.publish(&shard);
            (batch.flush(), control)
        };
        if !blocked.is_empty() {
            send_blocked(blocked).await;
        }
        if control {
            process(&state).await;
        }
    }
}

/// Datagrams from peers to one relayed socket.
async fn relay_task(state: Rc<State>, sock: Rc<Sock>) {
    loop {
        if sock.io.readable().await.is_err() {
            return;
        }
        let blocked = {
            let mut scratch = state.scratch.borrow_mut();
            let Scratch {
                bufs,
                metas,
                out,
                batch,
            } = &mut *scratch;
            let Ok(n) = sock.recv(bufs, metas) else {
                continue;
            };
            let mut shard = state.shard.borrow_mut();
            let now = Instant::now();
            for (buf, meta) in bufs.iter().zip(metas.iter()).take(n) {
                let datagrams = buf.get(..meta.len).unwrap_or(&[]);
                for data in datagrams.chunks(meta.stride.max(1)) {
                    // Every client of this shard is on UDP, through one of its listeners.
                    if let Some(tuple) = shard.handle_peer(now, sock.local, meta.addr, data, out) {
                        if let Some(l) = state.listener(tuple.server) {
                            batch.push(l, tuple.client, out.as_slice());
                        }
                    }
                }
            }
            state.publish(&shard);
            batch.flush()
        };
        if !blocked.is_empty() {
            send_blocked(blocked).await;
        }
    }
}

/// Expiry sweeps and the wall clock for TURN REST expiry.
async fn timer(state: Rc<State>) {
    loop {
        let wait = state
            .shard
            .borrow()
            .poll_timeout()
            .map(|t| t.saturating_duration_since(Instant::now()))
            .unwrap_or(Duration::from_secs(1))
            .min(Duration::from_secs(1));
        tokio::time::sleep(wait.max(Duration::from_millis(5))).await;
        {
            let mut shard = state.shard.borrow_mut();
            let now = Instant::now();
            shard.set_unix_time(now, unix_now());
            shard.handle_timeout(now);
            state.publish(&shard);
        }
        state.ended.borrow_mut().retain(|t| !t.is_finished());
        process(&state).await;
    }
}

// ---- the control path ------------------------------------------------------------------

/// Carries out everything the core asked for (answers to send, sockets to bind and
/// close), until it is quiet.
async fn process(state: &Rc<State>) {
    loop {
        let (transmits, events) = {
            let mut shard = state.shard.borrow_mut();
            let transmits: Vec<_> = std::iter::from_fn(|| shard.poll_transmit()).collect();
            let events: Vec<_> = std::iter::from_fn(|| shard.poll_event()).collect();
            state.publish(&shard);
            (transmits, events)
        };
        if transmits.is_empty() && events.is_empty() {
            return;
        }
        for t in transmits {
            // Every client of this shard is on UDP.
            if let Some(l) = state.listener(t.tuple.server).cloned() {
                l.send(t.tuple.client, &t.contents, t.contents.len()).await;
            }
        }
        for e in events {
            on_event(state, e);
        }
    }
}

fn on_event(state: &Rc<State>, event: ServerEvent) {
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
            // RFC 6062 allocations need a stream to the client: never on this shard.
            let (socket, kept) = match protocol {
                RelayProtocol::Udp => {
                    let ip = state.common.relay_ip(family);
                    state.common.bind_udp(ip, even_port, reserve_next, reserved)
                }
                RelayProtocol::Tcp => (None, None),
            };
            let addr = socket.and_then(|s| Sock::new(s).ok()).map(|sock| {
                let sock = Rc::new(sock);
                let task = spawn_local(relay_task(state.clone(), sock.clone()));
                let addr = sock.local;
                state.relays.borrow_mut().insert(addr, Relay { sock, task });
                addr
            });
            if addr.is_none() {
                // No allocation (508): nothing to keep a port for.
                if let Some(k) = kept {
                    state.common.lock_reserved().remove(&k);
                }
            }
            state.shard.borrow_mut().relay_bound(
                now,
                allocation,
                addr,
                kept.filter(|_| addr.is_some()),
            );
        }
        ServerEvent::ReleaseRelay {
            relay: Some(relay), ..
        } => {
            if let Some(r) = state.relays.borrow_mut().remove(&relay) {
                r.task.abort();
                state.ended.borrow_mut().push(r.task);
            }
        }
        ServerEvent::ReleaseReservation { relay } => {
            state.common.lock_reserved().remove(&relay);
        }
        // The rest concerns TCP clients and RFC 6062: not on this shard.
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sock() -> Rc<Sock> {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        Rc::new(Sock::new(s).unwrap())
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn relayed_datagrams_may_be_fragmented() {
        use rustix::net::sockopt::{ip_mtu_discover, Ipv4PathMtuDiscovery};
        let rt = rt();
        let _entered = rt.enter();
        let s = sock();
        assert_eq!(ip_mtu_discover(&s.io).unwrap(), Ipv4PathMtuDiscovery::DONT);
    }

    /// Groups as (destination port, segment, count, bytes).
    fn groups(b: &Batch) -> Vec<(u16, usize, usize, usize)> {
        b.groups[..b.used]
            .iter()
            .map(|g| {
                let port = g.destination.map_or(0, |d| d.port());
                (port, g.segment, g.count, g.buf.len())
            })
            .collect()
    }

    #[test]
    fn batches_group_each_flow_for_gso_and_keep_its_order() {
        let rt = rt();
        let _entered = rt.enter();
        let (s, other) = (sock(), sock());
        let (x, y): (SocketAddr, SocketAddr) = (
            "127.0.0.1:1".parse().unwrap(),
            "127.0.0.1:2".parse().unwrap(),
        );
        let gso = s.state.max_gso_segments() > 1;
        let mut b = Batch::default();
        b.push(&s, x, &[1; 100]);
        b.push(&s, y, &[2; 100]);
        b.push(&s, x, &[3; 100]);
        b.push(&s, x, &[4; 60]); // shorter: the last of its group
        b.push(&s, x, &[5; 100]); // a new group, after the others
        b.push(&other, x, &[6; 100]); // another socket: another flow
        b.push(&s, y, &[7; 2000]); // too large for GSO
        b.push(&s, y, &[8; 2000]);
        if gso {
            assert_eq!(
                groups(&b),
                [
                    (1, 100, 3, 260),
                    (2, 100, 1, 100),
                    (1, 100, 1, 100),
                    (1, 100, 1, 100),
                    (2, 2000, 1, 2000),
                    (2, 2000, 1, 2000),
                ]
            );
            let first = &b.groups[0].buf;
            assert_eq!((first[0], first[100], first[200]), (1, 3, 4));
        }
        // Flushing sends everything the sockets take (once the reactor saw them writable)
        // and empties the batch.
        rt.block_on(async {
            s.io.writable().await.unwrap();
            other.io.writable().await.unwrap();
        });
        assert!(b.flush().is_empty());
        assert_eq!(b.used, 0);
        assert!(b.groups.iter().all(|g| g.sock.is_none()));
    }
}
