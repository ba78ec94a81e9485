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
//! # Layout
//!
//! UDP is served by [`relay_threads`](RuntimeConfig::relay_threads) worker threads (one per
//! core by default), as coturn does. Each worker has its own listening socket on every listen
//! address (`SO_REUSEPORT`: the kernel hashes each client's 5-tuple to one of them, always
//! the same), its own core (a shard of the server) and the relayed sockets of the
//! allocations made through it, so both directions of a flow stay on one thread: no lock,
//! no channel and no allocation per packet. Datagrams are read in batches (`recvmmsg`, GRO
//! where the kernel has it) and datagrams of one flow leave in one system call (GSO). The
//! shards share what the quotas need (allocation counts per user and in total), the
//! EVEN-PORT reservations and the nonce secret, on the control path only.
//!
//! TCP clients (and RFC 6062) are served on the caller's runtime: one task per listener, per
//! TCP connection and per relayed socket, and one timer task, around a shard of their own
//! behind a mutex that is never held across an await.
//!
//! Shutdown deletes every allocation, stops every task and thread and closes every socket
//! before `run` returns.

mod tcp;
mod udp;

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use tokio::net::TcpListener;

use super::{Server, ServerConfig, ServerStats, SharedLedger};

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
    /// The threads that serve UDP: workers, each with its own listening socket per
    /// address (`SO_REUSEPORT`), its own allocations and their relayed sockets. 0 (the
    /// default): one per core. Where `SO_REUSEPORT` is missing (not Unix) there is one.
    /// TCP clients are served on the caller's runtime.
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
            relay_threads: 0,
            server: ServerConfig::default(),
        }
    }
}

/// Runs a TURN server until `shutdown` completes, then stops it gracefully (allocations
/// deleted, sockets closed, tasks and threads ended) and returns its final counters.
///
/// # Errors
/// Binding a listener failed, a worker thread could not be started, or no relay address
/// could be determined ([`io::ErrorKind::InvalidInput`]).
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
    common: Arc<Common>,
    tcp: Arc<tcp::Shared>,
    /// Per UDP worker: its listening socket on each listen address.
    udp: Vec<Vec<std::net::UdpSocket>>,
    tcp_listeners: Vec<TcpListener>,
    local_addrs: Vec<SocketAddr>,
    server_config: ServerConfig,
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
        let workers = if !config.udp {
            0
        } else if !REUSEPORT {
            1
        } else if config.relay_threads == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            config.relay_threads
        };
        let mut udp: Vec<Vec<std::net::UdpSocket>> = (0..workers).map(|_| Vec::new()).collect();
        let mut tcp_listeners = Vec::new();
        let mut local_addrs = Vec::new();
        for addr in &config.listen {
            let (sockets, t) = bind_group(*addr, workers, config.tcp).await?;
            let local = match (sockets.first(), &t) {
                (Some(u), _) => u.local_addr()?,
                (None, Some(t)) => t.local_addr()?,
                (None, None) => continue,
            };
            local_addrs.push(local);
            for (worker, socket) in udp.iter_mut().zip(sockets) {
                worker.push(socket);
            }
            tcp_listeners.extend(t);
        }
        let mut server_config = config.server.clone();
        server_config.ipv4_relay = relay_ip.is_ipv4();
        server_config.ipv6_relay = config.relay_ipv6.is_some() || relay_ip.is_ipv6();
        let now = Instant::now();
        let mut secret = [0u8; 32];
        StdRng::from_os_rng().fill_bytes(&mut secret);
        let common = Arc::new(Common {
            relay_ip,
            relay_ipv6: config.relay_ipv6,
            relay_ports: config.relay_ports.clone(),
            reserved: Mutex::new(HashMap::new()),
            ledger: Arc::new(SharedLedger::new(secret, now)),
            worker_stats: (0..workers).map(|_| StatsSlot::default()).collect(),
        });
        let tcp = Arc::new(tcp::Shared::new(
            common.clone(),
            common.shard(server_config.clone(), now),
        ));
        Ok(TurnServer {
            common,
            tcp,
            udp,
            tcp_listeners,
            local_addrs,
            server_config,
        })
    }

    /// The listening addresses (one per configured address, with the port chosen).
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.local_addrs
    }

    /// A handle that reads the counters while the server runs.
    pub fn handle(&self) -> TurnServerHandle {
        TurnServerHandle {
            common: self.common.clone(),
            tcp: self.tcp.clone(),
        }
    }

    /// Serves until `shutdown` completes, then stops gracefully; returns the final
    /// counters.
    ///
    /// # Errors
    /// A UDP worker thread could not be started (nothing is left running then).
    pub async fn serve(self, shutdown: impl Future<Output = ()>) -> io::Result<ServerStats> {
        let mut workers = Vec::new();
        for (index, sockets) in self.udp.into_iter().enumerate() {
            let shard = self
                .common
                .shard(self.server_config.clone(), Instant::now());
            match udp::Worker::start(index, sockets, shard, self.common.clone()) {
                Ok(w) => workers.push(w),
                Err(e) => {
                    for w in workers {
                        w.stop().await;
                    }
                    return Err(e);
                }
            }
        }
        let tasks = tcp::start(&self.tcp, self.tcp_listeners);
        shutdown.await;
        tracing::info!("turn server shutting down");
        for w in &mut workers {
            w.signal_stop();
        }
        let mut stats = tcp::stop(&self.tcp, tasks).await;
        for w in workers {
            stats.merge(&w.stop().await);
        }
        self.common.lock_reserved().clear();
        Ok(stats)
    }
}

/// Reads a running server's counters.
#[derive(Debug, Clone)]
pub struct TurnServerHandle {
    common: Arc<Common>,
    tcp: Arc<tcp::Shared>,
}

impl TurnServerHandle {
    /// The counters now, summed over the UDP workers and the TCP side.
    pub fn stats(&self) -> ServerStats {
        let mut stats = self.tcp.stats();
        for slot in &self.common.worker_stats {
            stats.merge(&slot.load());
        }
        stats
    }
}

// ---- what every shard shares -----------------------------------------------------------

/// Settings and state shared by the UDP workers and the TCP side.
#[derive(Debug)]
struct Common {
    relay_ip: IpAddr,
    relay_ipv6: Option<IpAddr>,
    relay_ports: RangeInclusive<u16>,
    /// Sockets kept for EVEN-PORT reservations, by address: the Allocate that uses one may
    /// arrive at any shard.
    reserved: Mutex<HashMap<SocketAddr, std::net::UdpSocket>>,
    ledger: Arc<SharedLedger>,
    /// Each UDP worker's counters, published after every batch.
    worker_stats: Vec<StatsSlot>,
}

impl Common {
    fn shard(&self, config: ServerConfig, now: Instant) -> Server {
        let mut server = Server::shard(config, now, StdRng::from_os_rng(), self.ledger.clone());
        server.set_unix_time(now, unix_now());
        server
    }

    fn lock_reserved(&self) -> MutexGuard<'_, HashMap<SocketAddr, std::net::UdpSocket>> {
        self.reserved.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The relay address for an allocation of `family`.
    fn relay_ip(&self, family: oxrtc_stun::AddressFamily) -> Option<IpAddr> {
        match family {
            oxrtc_stun::AddressFamily::IPv4 => Some(self.relay_ip).filter(IpAddr::is_ipv4),
            oxrtc_stun::AddressFamily::IPv6 => self.relay_ipv6,
        }
    }

    /// A UDP relayed socket for a [`ServerEvent::BindRelay`](super::ServerEvent::BindRelay):
    /// the reserved one, a fresh one, or with `reserve_next` an even/odd pair (the odd one
    /// kept for the reservation, its address returned).
    fn bind_udp(
        &self,
        ip: Option<IpAddr>,
        even_port: bool,
        reserve_next: bool,
        reserved: Option<SocketAddr>,
    ) -> (Option<std::net::UdpSocket>, Option<SocketAddr>) {
        if let Some(r) = reserved {
            return (self.lock_reserved().remove(&r), None);
        }
        let Some(ip) = ip else {
            return (None, None);
        };
        if reserve_next {
            let Some((a, b)) = bind_udp_pair(&self.relay_ports, ip) else {
                return (None, None);
            };
            let kept = b.local_addr().ok();
            if let Some(addr) = kept {
                self.lock_reserved().insert(addr, b);
            }
            return (Some(a), kept);
        }
        (bind_udp_relay(&self.relay_ports, ip, even_port), None)
    }
}

/// One worker's counters, readable from any thread.
#[derive(Debug, Default)]
struct StatsSlot([AtomicU64; 12]);

impl StatsSlot {
    fn store(&self, s: &ServerStats) {
        let values = [
            s.allocations,
            s.allocations_total,
            s.packets_to_peers,
            s.bytes_to_peers,
            s.packets_to_clients,
            s.bytes_to_clients,
            s.auth_failures,
            s.quota_rejections,
            s.denied_peers,
            s.error_responses,
            s.bandwidth_drops,
            s.dropped,
        ];
        for (slot, v) in self.0.iter().zip(values) {
            slot.store(v, Ordering::Relaxed);
        }
    }

    fn load(&self) -> ServerStats {
        // In the order of `store`.
        let v = |i: usize| self.0.get(i).map_or(0, |a| a.load(Ordering::Relaxed));
        ServerStats {
            allocations: v(0),
            allocations_total: v(1),
            packets_to_peers: v(2),
            bytes_to_peers: v(3),
            packets_to_clients: v(4),
            bytes_to_clients: v(5),
            auth_failures: v(6),
            quota_rejections: v(7),
            denied_peers: v(8),
            error_responses: v(9),
            bandwidth_drops: v(10),
            dropped: v(11),
        }
    }
}

// ---- sockets ---------------------------------------------------------------------------

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Whether several sockets can share a UDP port with the kernel spreading clients over
/// them (`SO_REUSEPORT`).
const REUSEPORT: bool = cfg!(all(
    unix,
    not(any(
        target_os = "solaris",
        target_os = "illumos",
        target_os = "cygwin"
    ))
));

#[cfg(all(
    unix,
    not(any(target_os = "solaris", target_os = "illumos", target_os = "cygwin"))
))]
fn set_reuse_port(s: &socket2::Socket) -> io::Result<()> {
    s.set_reuse_port(true)
}

#[cfg(not(all(
    unix,
    not(any(target_os = "solaris", target_os = "illumos", target_os = "cygwin"))
)))]
fn set_reuse_port(_: &socket2::Socket) -> io::Result<()> {
    Ok(())
}

/// A non-blocking UDP socket bound to `addr`, in a `SO_REUSEPORT` group if `shared`.
fn udp_socket(addr: SocketAddr, shared: bool) -> io::Result<std::net::UdpSocket> {
    let s = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )?;
    if shared {
        set_reuse_port(&s)?;
    }
    s.set_nonblocking(true)?;
    s.bind(&addr.into())?;
    Ok(s.into())
}

/// `workers` UDP sockets sharing one port (`SO_REUSEPORT`) and a TCP listener on the same
/// port (port 0: a free one for all).
async fn bind_group(
    addr: SocketAddr,
    workers: usize,
    tcp: bool,
) -> io::Result<(Vec<std::net::UdpSocket>, Option<TcpListener>)> {
    let shared = workers > 1;
    let mut last = None;
    for _ in 0..16 {
        let first = if workers > 0 {
            Some(udp_socket(addr, shared)?)
        } else {
            None
        };
        let port = match &first {
            Some(u) => u.local_addr()?.port(),
            None => addr.port(),
        };
        let bound = SocketAddr::new(addr.ip(), port);
        let listener = if tcp {
            match TcpListener::bind(bound).await {
                Ok(t) => Some(t),
                Err(e) if addr.port() == 0 => {
                    last = Some(e);
                    continue;
                }
                Err(e) => return Err(e),
            }
        } else {
            None
        };
        let mut sockets: Vec<_> = first.into_iter().collect();
        for _ in 1..workers {
            sockets.push(udp_socket(bound, true)?);
        }
        return Ok((sockets, listener));
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free port")))
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

fn bind_udp_relay(
    range: &RangeInclusive<u16>,
    ip: IpAddr,
    even: bool,
) -> Option<std::net::UdpSocket> {
    for port in candidate_ports(range, even) {
        let Ok(s) = std::net::UdpSocket::bind(SocketAddr::new(ip, port)) else {
            continue;
        };
        if s.set_nonblocking(true).is_ok() {
            return Some(s);
        }
    }
    None
}

/// An even port and the odd one after it, for EVEN-PORT with the R bit.
fn bind_udp_pair(
    range: &RangeInclusive<u16>,
    ip: IpAddr,
) -> Option<(std::net::UdpSocket, std::net::UdpSocket)> {
    for port in candidate_ports(range, true) {
        if port == u16::MAX || !range.contains(&(port + 1)) {
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
