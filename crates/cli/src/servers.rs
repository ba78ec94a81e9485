//! `oxrtc stun-server` (on oxrtc-stun's `BindingServer`) and `oxrtc turn-server` (on
//! oxrtc-turn's server runtime).

use crate::error::CliError;
use crate::signal;
use oxrtc_stun::{BindingServer, BindingServerConfig, ServerOutcome, ServerStats};
use oxrtc_turn::runtime::{RuntimeConfig, TurnServer};
use oxrtc_turn::ServerConfig;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use tokio::net::UdpSocket;

/// Options of `oxrtc stun-server`.
#[derive(Debug, Clone, clap::Args)]
pub struct StunArgs {
    /// UDP address to answer binding requests on; port 0 picks one.
    #[arg(long, default_value = "127.0.0.1:3478", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// Require short-term credentials (RFC 8489 §9.1) of this user (repeatable).
    #[arg(long = "user", value_name = "NAME:PASS", value_parser = parse_user)]
    pub users: Vec<(String, String)>,
    /// SOFTWARE attribute of the responses.
    #[arg(long, value_name = "TEXT")]
    pub software: Option<String>,
}

/// Options of `oxrtc turn-server`.
#[derive(Debug, Clone, clap::Args)]
pub struct TurnArgs {
    /// Address to listen on, UDP and TCP (repeatable); port 0 picks one.
    #[arg(long, default_value = "127.0.0.1:3478", value_name = "ADDR")]
    pub listen: Vec<SocketAddr>,
    /// The realm of the long-term credentials.
    #[arg(long, default_value = "oxrtc", value_name = "R")]
    pub realm: String,
    /// A long-term credential (repeatable).
    #[arg(long = "user", value_name = "NAME:PASS", value_parser = parse_user)]
    pub users: Vec<(String, String)>,
    /// Shared secret of time-limited credentials (TURN REST API).
    #[arg(long, value_name = "S")]
    pub auth_secret: Option<String>,
    /// Ports for relayed addresses.
    #[arg(long, default_value = "49152-65535", value_name = "LO-HI", value_parser = parse_range)]
    pub relay_range: (u16, u16),
    /// The address relayed sockets bind to and advertise (default: the listen address).
    #[arg(long, value_name = "IP")]
    pub relay_ip: Option<IpAddr>,
    /// Relay to loopback peers (tests and demos on one machine).
    #[arg(long)]
    pub allow_loopback_peers: bool,
    /// Relay to private (RFC 1918, ULA) peers.
    #[arg(long)]
    pub allow_private_peers: bool,
    /// Most allocations at once.
    #[arg(long, value_name = "N")]
    pub max_allocations: Option<usize>,
    /// Most allocations per user.
    #[arg(long, value_name = "N")]
    pub user_quota: Option<usize>,
    /// Bandwidth limit per allocation, bytes per second.
    #[arg(long, value_name = "BYTES_PER_S")]
    pub bandwidth: Option<u64>,
    /// Threads for relayed sockets (0: everything on the main thread).
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub relay_threads: usize,
}

fn parse_user(s: &str) -> Result<(String, String), String> {
    let (n, p) = s
        .split_once(':')
        .ok_or_else(|| format!("{s:?}: expected NAME:PASS"))?;
    if n.is_empty() {
        return Err(format!("{s:?}: empty user name"));
    }
    Ok((n.to_owned(), p.to_owned()))
}

fn parse_range(s: &str) -> Result<(u16, u16), String> {
    let (a, b) = s
        .split_once('-')
        .ok_or_else(|| format!("{s:?}: expected LO-HI"))?;
    let lo: u16 = a
        .trim()
        .parse()
        .map_err(|_| format!("{s:?}: bad port {a:?}"))?;
    let hi: u16 = b
        .trim()
        .parse()
        .map_err(|_| format!("{s:?}: bad port {b:?}"))?;
    if lo == 0 || lo > hi {
        return Err(format!("{s:?}: expected 1 <= LO <= HI"));
    }
    Ok((lo, hi))
}

/// Answers binding requests on `socket` until `shutdown`; returns the counters.
///
/// # Errors
/// A socket error other than ICMP reports.
pub async fn serve_stun(
    socket: Arc<UdpSocket>,
    mut server: BindingServer,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<ServerStats> {
    let mut buf = vec![0u8; 2048];
    let mut out = Vec::with_capacity(512);
    tokio::pin!(shutdown);
    loop {
        let (n, source) = tokio::select! {
            r = socket.recv_from(&mut buf) => match r {
                Ok(x) => x,
                // ICMP port unreachable from an earlier answer: not our problem.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused
                    || e.kind() == std::io::ErrorKind::ConnectionReset => continue,
                Err(e) => return Err(e),
            },
            () = &mut shutdown => return Ok(*server.stats()),
        };
        out.clear();
        match server.handle(source, buf.get(..n).unwrap_or_default(), &mut out) {
            ServerOutcome::Respond { error } => {
                tracing::debug!(%source, ?error, "binding answered");
                if let Err(e) = socket.send_to(&out, source).await {
                    tracing::debug!(%source, error = %e, "send failed");
                }
            }
            other => tracing::debug!(%source, outcome = ?other, "datagram not answered"),
        }
    }
}

/// A STUN binding server core with the CLI's SOFTWARE.
pub fn stun_core(software: Option<String>, users: &[(String, String)]) -> BindingServer {
    let mut server = BindingServer::new(BindingServerConfig {
        software: Some(
            software.unwrap_or_else(|| concat!("oxrtc ", env!("CARGO_PKG_VERSION")).to_owned()),
        ),
        ..Default::default()
    });
    for (n, p) in users {
        server.add_user(n, p);
    }
    server
}

/// `oxrtc stun-server`: runs until SIGINT/SIGTERM.
///
/// # Errors
/// The address cannot be bound.
pub async fn run_stun(args: StunArgs) -> Result<(), CliError> {
    let socket = UdpSocket::bind(args.listen)
        .await
        .map_err(|e| CliError::listen(args.listen, &e))?;
    let shutdown = signal::shutdown();
    println!("listening on {}", socket.local_addr()?);
    let server = stun_core(args.software, &args.users);
    let stats = serve_stun(Arc::new(socket), server, shutdown).await?;
    println!(
        "stats success={} errors={} indications={} dropped={}",
        stats.success, stats.errors, stats.indications, stats.dropped
    );
    Ok(())
}

/// The runtime configuration `args` describe.
///
/// # Errors
/// [`CliError::Usage`] without any credential.
pub fn turn_config(args: &TurnArgs) -> Result<RuntimeConfig, CliError> {
    if args.users.is_empty() && args.auth_secret.is_none() {
        return Err(CliError::Usage(
            "turn-server needs --user NAME:PASS or --auth-secret S (it never relays for anyone)"
                .into(),
        ));
    }
    let defaults = ServerConfig::default();
    let mut server = ServerConfig {
        realm: args.realm.clone(),
        users: args.users.clone(),
        auth_secret: args.auth_secret.clone(),
        software: Some(concat!("oxrtc ", env!("CARGO_PKG_VERSION")).to_owned()),
        max_allocations: args.max_allocations.unwrap_or(defaults.max_allocations),
        max_allocations_per_user: args.user_quota.unwrap_or(defaults.max_allocations_per_user),
        max_bandwidth: args.bandwidth.or(defaults.max_bandwidth),
        ..defaults
    };
    server.peer_filter.allow_loopback = args.allow_loopback_peers;
    server.peer_filter.allow_private = args.allow_private_peers;
    Ok(RuntimeConfig {
        listen: args.listen.clone(),
        relay_ip: args.relay_ip,
        relay_ports: args.relay_range.0..=args.relay_range.1,
        relay_threads: args.relay_threads,
        server,
        ..RuntimeConfig::default()
    })
}

/// `oxrtc turn-server`: runs until SIGINT/SIGTERM, then prints its counters.
///
/// # Errors
/// No credentials, or a listener cannot be bound.
pub async fn run_turn(args: TurnArgs) -> Result<(), CliError> {
    let config = turn_config(&args)?;
    let first = args
        .listen
        .first()
        .copied()
        .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 3478)));
    let server = TurnServer::bind(config).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::InvalidInput {
            CliError::Usage(format!("{e} (give --relay-ip)"))
        } else {
            CliError::listen(first, &e)
        }
    })?;
    let shutdown = signal::shutdown();
    for a in server.local_addrs() {
        println!("listening on {a}");
    }
    let stats = server.serve(shutdown).await?;
    println!("stats {stats:?}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_values() {
        assert_eq!(parse_user("a:b:c"), Ok(("a".into(), "b:c".into())));
        assert!(parse_user("nouser").is_err());
        assert!(parse_user(":x").is_err());
        assert_eq!(parse_range("49152-65535"), Ok((49152, 65535)));
        assert!(parse_range("5-4").is_err());
        assert!(parse_range("0-4").is_err());
        assert!(parse_range("x").is_err());
    }

    #[test]
    fn turn_needs_credentials() {
        use clap::Parser;
        #[derive(clap::Parser)]
        struct T {
            #[command(flatten)]
            t: TurnArgs,
        }
        let t = T::parse_from(["t"]).t;
        assert!(matches!(turn_config(&t), Err(CliError::Usage(_))));
        let t = T::parse_from([
            "t",
            "--user",
            "u:p",
            "--allow-loopback-peers",
            "--relay-range",
            "50000-50010",
        ])
        .t;
        let c = turn_config(&t).unwrap();
        assert!(c.server.peer_filter.allow_loopback);
        assert_eq!(c.relay_ports, 50000..=50010);
        assert_eq!(c.server.users, [("u".to_owned(), "p".to_owned())]);
    }
}
