//! Relay throughput of our TURN server and coturn, side by side on loopback, with the same
//! load generator in one run. Not a criterion bench: it starts both servers as processes.
//!
//! ```text
//! cargo bench -p oxrtc-turn --bench relay_throughput -- \
//!     [--seconds 2] [--clients 4] [--window 32] [--size 160] [--only oxrtc|coturn] \
//!     [--rounds 1] [--relay-threads 0] [--baseline-binary PATH] [--external ADDR]
//! ```
//!
//! `cargo xtask bench` runs it with the criterion benches (criterion's own options, such as
//! `--measurement-time S`, are accepted: that one sets the seconds per server) and shows its
//! figures in its table: each server's row gives the wall time per relayed packet and the
//! relayed packets per second; the `server_cpu` row the server's CPU time per relayed
//! packet. When coturn (`turnserver`, or the program the environment variable
//! `OXRTC_BENCH_TURNSERVER` names) is not installed, its half is skipped with a message.
//! Run without `--bench` (as `cargo test --benches` does), it does nothing.
//!
//! Each load client is our sans-IO TURN client on its own UDP socket and thread, with a
//! channel bound to its own UDP echo peer. It keeps `window` packets in flight: every echo
//! that comes back sends the next one (a closed loop, so the figure is what the relay
//! sustains, not how fast it drops). Every echo is two relayed packets (client to peer, peer
//! to client). The table gives relayed packets per second, the mean round trip, the packets
//! never seen again, and the server process's CPU time (user + system, from /proc) per
//! relayed packet, which a loaded machine disturbs less than the rate, and the same for the
//! load generator (this process), which shares the machine's cores with the server.
//!
//! Both servers run as separate processes, one after the other, under the same load, for
//! `--rounds` rounds (alternating, so that other load on the machine hits both alike): our
//! `turn_server` example (`--relay-threads` UDP workers, 0: one per core; built by this
//! bench with the tokio feature) and coturn's `turnserver` with its defaults (a UDP thread
//! per core). CPU is counted from the moment every client is allocated until the last one
//! stops.
//!
//! `--baseline-binary PATH` adds a third server to each round: another build of
//! `turn_server` (an older commit, say), started with its default threads.
//! `--external ADDR` only loads a server started by hand (user `u`, password `p`), for
//! profiling.
#![allow(clippy::unwrap_used)]

use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use oxrtc_turn::{Client, ClientConfig, Event, TurnTransport};
use rand::rngs::StdRng;
use rand::SeedableRng;

struct Options {
    seconds: u64,
    clients: usize,
    window: usize,
    size: usize,
    only: Option<String>,
    rounds: usize,
    server_threads: usize,
    baseline: Option<PathBuf>,
    external: Option<SocketAddr>,
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[derive(Default, Clone, Copy)]
struct Result {
    echoes: u64,
    sent: u64,
    rtt_total: Duration,
    seconds: f64,
    server_cpu: Duration,
    own_cpu: Duration,
}

/// CPU time (user + system) a process used so far, from /proc (Linux); zero elsewhere.
fn cpu_time(pid: u32) -> Duration {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return Duration::ZERO;
    };
    // Fields after the command name (which may hold spaces) start at its closing paren.
    let rest = stat.rsplit_once(')').map_or("", |r| r.1);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of the file, 12 and 13 after the paren.
    let hz = 100; // USER_HZ on Linux
    Duration::from_millis((ticks(11) + ticks(12)) * 1000 / hz)
}

fn free_port() -> u16 {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Our server: the `turn_server` example, built (with the tokio feature) in this bench's
/// profile. The bench binary is `target/<profile>/deps/relay_throughput-*`.
fn our_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|d| d.parent()).unwrap().to_path_buf();
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.args([
        "build",
        "--quiet",
        "-p",
        "oxrtc-turn",
        "--features",
        "tokio",
        "--example",
        "turn_server",
    ]);
    if profile_dir.ends_with("release") {
        c.arg("--release");
    }
    assert!(c.status().unwrap().success(), "building turn_server failed");
    profile_dir.join("examples").join("turn_server")
}

fn start_ours(binary: PathBuf, port: u16, threads: Option<usize>) -> KillOnDrop {
    let mut c = Command::new(binary);
    if let Some(threads) = threads {
        c.args(["--relay-threads", &threads.to_string()]);
    }
    KillOnDrop(
        c.args(["--listen", &format!("127.0.0.1:{port}")])
            .args([
                "--realm",
                "bench",
                "--user",
                "u:p",
                "--allow-loopback-peers",
            ])
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

/// coturn, or `None` when `turnserver` (or the program `OXRTC_BENCH_TURNSERVER` names) is
/// not installed.
fn start_coturn(port: u16, dir: &std::path::Path) -> Option<KillOnDrop> {
    let program = std::env::var_os("OXRTC_BENCH_TURNSERVER").unwrap_or_else(|| "turnserver".into());
    let child = Command::new(program)
        .args([
            "-n",
            "--listening-ip",
            "127.0.0.1",
            "--relay-ip",
            "127.0.0.1",
        ])
        .args(["--listening-port", &port.to_string()])
        .args(["--lt-cred-mech", "--realm", "bench", "--user", "u:p"])
        .args([
            "--allow-loopback-peers",
            "--no-tls",
            "--no-dtls",
            "--no-cli",
        ])
        .args(["--no-rfc5780", "--simple-log", "--no-stdout-log"])
        .arg("--log-file")
        .arg(dir.join("turnserver.log"))
        .arg("--pidfile")
        .arg(dir.join("turnserver.pid"))
        .arg("--db")
        .arg(dir.join("turndb"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    match child {
        Ok(c) => Some(KillOnDrop(c)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => panic!("starting turnserver: {e}"),
    }
}

/// Drives one client until `pred` matches an event; panics after 10 s.
fn drive(client: &mut Client, socket: &UdpSocket, pred: impl Fn(&Event) -> bool) -> Event {
    let end = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 2048];
    loop {
        while let Some(t) = client.poll_transmit() {
            socket.send_to(&t.contents, t.destination).unwrap();
        }
        while let Some(e) = client.poll_event() {
            if pred(&e) {
                return e;
            }
        }
        assert!(Instant::now() < end, "setup timed out");
        socket
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        if let Ok((n, from)) = socket.recv_from(&mut buf) {
            let _ = client.handle_receive(Instant::now(), from, &buf[..n]);
        }
        client.handle_timeout(Instant::now());
    }
}

/// One load client: allocate, bind a channel to its echo peer, then the closed loop.
fn load_client(server: SocketAddr, options: &Options, go: &AtomicBool) -> Result {
    let echo = UdpSocket::bind("127.0.0.1:0").unwrap();
    let peer = echo.local_addr().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let echo_thread = std::thread::spawn(move || {
        echo.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let mut buf = [0u8; 2048];
        while !s.load(Ordering::Relaxed) {
            if let Ok((n, from)) = echo.recv_from(&mut buf) {
                let _ = echo.send_to(&buf[..n], from);
            }
        }
    });

    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let config = ClientConfig::new(server, TurnTransport::Udp, "u", "p");
    let mut client = Client::new(config, Instant::now(), StdRng::from_os_rng());
    // The server may still be starting: retransmissions cover that.
    client.allocate(Instant::now()).unwrap();
    let e = drive(&mut client, &socket, |e| {
        matches!(e, Event::Allocated { .. } | Event::AllocationFailed(_))
    });
    assert!(matches!(e, Event::Allocated { .. }), "{e:?}");
    client.bind_channel(Instant::now(), peer).unwrap();
    drive(&mut client, &socket, |e| {
        matches!(e, Event::ChannelBound { .. })
    });
    while !go.load(Ordering::Relaxed) {
        std::thread::yield_now();
    }

    let mut result = Result::default();
    let mut payload = vec![0u8; options.size.max(8)];
    let mut buf = [0u8; 4096];
    let start = Instant::now();
    let end = start + Duration::from_secs(options.seconds);
    let mut in_flight = 0usize;
    let send = |client: &mut Client, payload: &mut Vec<u8>, result: &mut Result| {
        let t = start.elapsed().as_nanos() as u64;
        payload[..8].copy_from_slice(&t.to_be_bytes());
        client.send_to(Instant::now(), peer, payload).unwrap();
        while let Some(tx) = client.poll_transmit() {
            let _ = socket.send_to(&tx.contents, tx.destination);
        }
        result.sent += 1;
    };
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    while Instant::now() < end {
        while in_flight < options.window {
            send(&mut client, &mut payload, &mut result);
            in_flight += 1;
        }
        match socket.recv_from(&mut buf) {
            Ok((n, from)) => {
                let _ = client.handle_receive(Instant::now(), from, &buf[..n]);
                while let Some(e) = client.poll_event() {
                    if let Event::Data { data, .. } = e {
                        let sent_at = u64::from_be_bytes(data[..8].try_into().unwrap());
                        let rtt = start.elapsed().as_nanos() as u64 - sent_at;
                        result.rtt_total += Duration::from_nanos(rtt);
                        result.echoes += 1;
                        in_flight = in_flight.saturating_sub(1);
                    }
                }
            }
            // Nothing for 200 ms: what is in flight is lost.
            Err(_) => in_flight = 0,
        }
        client.handle_timeout(Instant::now());
        while let Some(tx) = client.poll_transmit() {
            let _ = socket.send_to(&tx.contents, tx.destination);
        }
    }
    result.seconds = start.elapsed().as_secs_f64();
    // Still in flight when the clock stopped: not lost.
    result.sent -= in_flight as u64;
    stop.store(true, Ordering::Relaxed);
    echo_thread.join().unwrap();
    result
}

fn measure(name: &str, server: SocketAddr, pid: Option<u32>, options: &Options) -> Result {
    let go = Arc::new(AtomicBool::new(false));
    let options = Arc::new(Options {
        seconds: options.seconds,
        clients: options.clients,
        window: options.window,
        size: options.size,
        only: None,
        rounds: 1,
        server_threads: options.server_threads,
        baseline: None,
        external: None,
    });
    let threads: Vec<_> = (0..options.clients)
        .map(|_| {
            let go = go.clone();
            let options = options.clone();
            std::thread::spawn(move || load_client(server, &options, &go))
        })
        .collect();
    // Let every client allocate before the clock starts.
    std::thread::sleep(Duration::from_millis(500));
    let cpu = || {
        (
            pid.map_or(Duration::ZERO, cpu_time),
            cpu_time(std::process::id()),
        )
    };
    let (server_before, own_before) = cpu();
    go.store(true, Ordering::Relaxed);
    let mut total = Result::default();
    for t in threads {
        let r = t
            .join()
            .unwrap_or_else(|_| panic!("{name}: a load client failed"));
        total.echoes += r.echoes;
        total.sent += r.sent;
        total.rtt_total += r.rtt_total;
        total.seconds = total.seconds.max(r.seconds);
    }
    let (server_after, own_after) = cpu();
    total.server_cpu = server_after.saturating_sub(server_before);
    total.own_cpu = own_after.saturating_sub(own_before);
    total
}

/// Our options, plus criterion's (which `cargo bench` and `cargo xtask bench` pass to every
/// bench): `--bench` says we are benchmarking, `--measurement-time S` sets the seconds per
/// server, positional arguments are name filters, the rest is ignored. `None` when this run
/// should do nothing (no `--bench`, or a filter that names another bench).
fn parse() -> Option<Options> {
    let mut o = Options {
        seconds: 2,
        clients: 4,
        window: 32,
        size: 160,
        only: None,
        rounds: 1,
        server_threads: 0,
        baseline: None,
        external: None,
    };
    let mut bench = false;
    let mut filters = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().unwrap_or_default();
        match a.as_str() {
            "--bench" => bench = true,
            "--seconds" => o.seconds = value().parse().unwrap(),
            "--measurement-time" => o.seconds = value().parse::<f64>().unwrap().ceil() as u64,
            "--clients" => o.clients = value().parse().unwrap(),
            "--window" => o.window = value().parse().unwrap(),
            "--size" => o.size = value().parse().unwrap(),
            "--only" => o.only = Some(value()),
            "--external" => o.external = Some(value().parse().unwrap()),
            "--rounds" => o.rounds = value().parse().unwrap(),
            "--relay-threads" => o.server_threads = value().parse().unwrap(),
            "--baseline-binary" => o.baseline = Some(value().into()),
            // criterion's options that take a value
            "--warm-up-time"
            | "--sample-size"
            | "--save-baseline"
            | "--baseline"
            | "--load-baseline"
            | "--noise-threshold"
            | "--significance-level"
            | "--confidence-level"
            | "--nresamples"
            | "--profile-time"
            | "--output-format"
            | "--color"
            | "--plotting-backend"
            | "--format" => {
                value();
            }
            f if f.starts_with('-') => {}
            filter => filters.push(filter.to_string()),
        }
    }
    let named = filters.is_empty()
        || filters.iter().any(|f| {
            ["turn_relay/oxrtc", "turn_relay/coturn"]
                .iter()
                .any(|n| n.contains(f.as_str()))
        });
    (bench && named).then_some(o)
}

fn main() {
    let Some(options) = parse() else {
        println!("relay_throughput: runs under `cargo bench` (or `cargo xtask bench`) only");
        return;
    };
    let dir = std::env::temp_dir().join(format!("oxrtc-relay-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    println!(
        "relay bench: {} clients x window {} x {} B payloads, {} s each, loopback",
        options.clients, options.window, options.size, options.seconds
    );
    if let Some(server) = options.external {
        // A server someone else started (user u, password p): load only, for profiling.
        header();
        let r = measure("external", server, None, &options);
        report("external", &r);
        return;
    }
    let ours = our_binary();
    header();
    let mut no_coturn = false;
    for _ in 0..options.rounds.max(1) {
        for name in ["oxrtc", "coturn", "baseline"] {
            if options.only.as_deref().is_some_and(|o| o != name) {
                continue;
            }
            let port = free_port();
            let server = match (name, &options.baseline) {
                ("oxrtc", _) => start_ours(ours.clone(), port, Some(options.server_threads)),
                ("coturn", _) => match start_coturn(port, &dir) {
                    Some(s) => s,
                    None => {
                        no_coturn = true;
                        continue;
                    }
                },
                (_, Some(baseline)) => start_ours(baseline.clone(), port, None),
                (_, None) => continue,
            };
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let r = measure(name, addr, Some(server.0.id()), &options);
            drop(server);
            report(name, &r);
            record(name, &r);
        }
    }
    if no_coturn {
        println!("coturn: skipped, `turnserver` is not installed (apt-get install coturn)");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn header() {
    println!(
        "{:<8} {:>14} {:>10} {:>8} {:>15} {:>15}",
        "server", "relayed pkt/s", "mean rtt", "lost", "server cpu/pkt", "loadgen cpu/pkt"
    );
}

fn report(name: &str, r: &Result) {
    let rate = 2.0 * r.echoes as f64 / r.seconds;
    let rtt = if r.echoes > 0 {
        r.rtt_total / u32::try_from(r.echoes).unwrap_or(u32::MAX)
    } else {
        Duration::ZERO
    };
    let relayed = (2 * r.echoes).max(1) as f64;
    println!(
        "{:<8} {:>14.0} {:>8.0}us {:>8} {:>13.0}ns {:>13.0}ns",
        name,
        rate,
        rtt.as_secs_f64() * 1e6,
        r.sent.saturating_sub(r.echoes),
        r.server_cpu.as_secs_f64() * 1e9 / relayed,
        r.own_cpu.as_secs_f64() * 1e9 / relayed,
    );
}

/// Leaves the figures where `cargo xtask bench` collects results of benches that are not
/// criterion's: `target/bench-results/<id>.json`, `{"full_id", "mean_ns", "throughput"}`
/// with criterion's meaning (nanoseconds per iteration; here one iteration is one relayed
/// packet). With several rounds, the last one is kept.
fn record(name: &str, r: &Result) {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/relay_throughput-*
    let Some(target) = exe.ancestors().nth(3) else {
        return;
    };
    let out = target.join("bench-results");
    if std::fs::create_dir_all(&out).is_err() {
        return;
    }
    let relayed = 2 * r.echoes;
    if relayed == 0 {
        return;
    }
    let wall_ns = r.seconds * 1e9 / relayed as f64;
    let cpu_ns = r.server_cpu.as_secs_f64() * 1e9 / relayed as f64;
    let rows = [
        (format!("turn_relay/{name}"), wall_ns, r#"{"Elements":1}"#),
        (format!("turn_relay/{name}/server_cpu"), cpu_ns, "null"),
    ];
    for (id, ns, throughput) in rows {
        let json = format!(r#"{{"full_id":"{id}","mean_ns":{ns:.3},"throughput":{throughput}}}"#);
        let _ = std::fs::write(out.join(format!("{}.json", id.replace('/', "_"))), json);
    }
}
