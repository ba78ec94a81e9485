//! A STUN binding server on UDP, built on the sans-IO [`BindingServer`] core with tokio.
//!
//! ```text
//! cargo run -p oxrtc-stun --example stun_server -- [ADDR] [--software TEXT] [--user NAME:PASS]... [--log]
//! ```
//!
//! ADDR defaults to `127.0.0.1:3478`; port 0 picks a free port. The first line on stdout is
//! `listening on IP:PORT`; with `--log`, one line per datagram follows
//! (`answered SOURCE` or `dropped SOURCE: reason`). It runs until killed.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;

use oxrtc_stun::{BindingServer, BindingServerConfig, ServerOutcome};
use tokio::net::UdpSocket;

/// Serves binding requests on `socket` forever; `log` prints one line per datagram.
pub async fn serve(socket: UdpSocket, mut server: BindingServer, log: bool) -> std::io::Result<()> {
    let mut buf = vec![0u8; 2048];
    let mut out = Vec::with_capacity(512);
    loop {
        let (n, source) = socket.recv_from(&mut buf).await?;
        out.clear();
        match server.handle(source, &buf[..n], &mut out) {
            ServerOutcome::Respond { error } => {
                socket.send_to(&out, source).await?;
                if log {
                    println!("answered {source} error={error:?}");
                }
            }
            other if log => println!("ignored {source}: {other:?}"),
            _ => {}
        }
    }
}

fn main() -> std::io::Result<()> {
    let mut listen: SocketAddr = "127.0.0.1:3478".parse().unwrap();
    let mut config = BindingServerConfig {
        software: Some(format!("oxrtc-stun {}", env!("CARGO_PKG_VERSION"))),
        ..Default::default()
    };
    let mut users = Vec::new();
    let mut log = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--software" => config.software = args.next(),
            "--user" => users.push(args.next().unwrap_or_default()),
            "--log" => log = true,
            other => {
                listen = other.parse().map_err(|e| {
                    std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{other}: {e}"))
                })?
            }
        }
    }
    let mut server = BindingServer::new(config);
    for user in users {
        let (name, pass) = user.split_once(':').unwrap_or((&user, ""));
        server.add_user(name, pass);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    rt.block_on(async {
        let socket = UdpSocket::bind(listen).await?;
        println!("listening on {}", socket.local_addr()?);
        serve(socket, server, log).await
    })
}
