//! A TURN server on UDP and TCP, built on the sans-IO core with the tokio runtime.
//!
//! ```text
//! cargo run -p oxrtc-turn --features tokio --example turn_server -- \
//!     --listen 127.0.0.1:3478 --realm R --user NAME:PASS [--user NAME:PASS]... \
//!     [--auth-secret S] [--relay-range 49152-65535] [--relay-ip IP] [--relay-ipv6 IP] \
//!     [--allow-loopback-peers] [--allow-private-peers] [--max-allocations N] \
//!     [--user-quota N] [--bandwidth BYTES_PER_S] [--software TEXT] [--relay-threads N]
//! ```
//!
//! UDP is served by `--relay-threads` worker threads (default 0: one per core), each with
//! its own listening socket (`SO_REUSEPORT`), allocations and relayed sockets; TCP runs on
//! the main thread. Port 0 picks a free port (the same for UDP and TCP). The first line on stdout is
//! `listening on IP:PORT`; on SIGINT or SIGTERM it shuts down gracefully and prints its
//! counters as one line `stats ...`.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;

use oxrtc_turn::runtime::{RuntimeConfig, TurnServer};
use oxrtc_turn::ServerConfig;

fn usage(error: &str) -> ! {
    eprintln!("turn_server: {error}");
    eprintln!(
        "usage: turn_server --listen ADDR --realm R --user NAME:PASS [--auth-secret S] \
         [--relay-range LO-HI] [--relay-ip IP] [--allow-loopback-peers]"
    );
    std::process::exit(2)
}

fn parse_args() -> RuntimeConfig {
    let mut config = RuntimeConfig {
        listen: Vec::new(),
        server: ServerConfig {
            software: Some(format!("oxrtc-turn {}", env!("CARGO_PKG_VERSION"))),
            ..Default::default()
        },
        ..Default::default()
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .unwrap_or_else(|| usage(&format!("{name} needs a value")))
        };
        match arg.as_str() {
            "--listen" => config.listen.push(
                value("--listen")
                    .parse()
                    .unwrap_or_else(|e| usage(&format!("--listen: {e}"))),
            ),
            "--realm" => config.server.realm = value("--realm"),
            "--user" => {
                let v = value("--user");
                let (name, pass) = v
                    .split_once(':')
                    .unwrap_or_else(|| usage("--user takes NAME:PASS"));
                config.server.users.push((name.into(), pass.into()));
            }
            "--auth-secret" => config.server.auth_secret = Some(value("--auth-secret")),
            "--relay-range" => {
                let v = value("--relay-range");
                let (lo, hi) = v
                    .split_once('-')
                    .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
                    .unwrap_or_else(|| usage("--relay-range takes LO-HI"));
                config.relay_ports = lo..=hi;
            }
            "--relay-ip" => {
                config.relay_ip = Some(
                    value("--relay-ip")
                        .parse()
                        .unwrap_or_else(|e| usage(&format!("--relay-ip: {e}"))),
                )
            }
            "--relay-ipv6" => {
                config.relay_ipv6 = Some(
                    value("--relay-ipv6")
                        .parse()
                        .unwrap_or_else(|e| usage(&format!("--relay-ipv6: {e}"))),
                )
            }
            "--allow-loopback-peers" => config.server.peer_filter.allow_loopback = true,
            "--allow-private-peers" => config.server.peer_filter.allow_private = true,
            "--max-allocations" => {
                config.server.max_allocations = value("--max-allocations")
                    .parse()
                    .unwrap_or_else(|_| usage("--max-allocations takes a number"))
            }
            "--user-quota" => {
                config.server.max_allocations_per_user = value("--user-quota")
                    .parse()
                    .unwrap_or_else(|_| usage("--user-quota takes a number"))
            }
            "--bandwidth" => {
                config.server.max_bandwidth = Some(
                    value("--bandwidth")
                        .parse()
                        .unwrap_or_else(|_| usage("--bandwidth takes bytes per second")),
                )
            }
            "--software" => config.server.software = Some(value("--software")),
            "--relay-threads" => {
                config.relay_threads = value("--relay-threads")
                    .parse()
                    .unwrap_or_else(|_| usage("--relay-threads takes a number"))
            }
            other => usage(&format!("unknown argument {other}")),
        }
    }
    if config.listen.is_empty() {
        config.listen.push(SocketAddr::from(([127, 0, 0, 1], 3478)));
    }
    config
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).unwrap();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

fn main() -> std::io::Result<()> {
    let config = parse_args();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let server = TurnServer::bind(config).await?;
        for addr in server.local_addrs() {
            println!("listening on {addr}");
        }
        let stats = server.serve(shutdown_signal()).await?;
        println!("stats {stats:?}");
        Ok(())
    })
}
