//! `oxrtc serve`: a page (embedded in the binary) that connects the browser to a Rust peer
//! with `POST /offer`: a chat over a data channel echoed by the server, live stats from
//! both ends (`GET /stats` for the server's side), and video sent and reflected once the
//! server answers with a video section. The same server takes a WHIP publisher
//! (`POST /whip`, RFC 9725) and plays its stream to WHEP viewers (`POST /whep`): see
//! [`crate::whip`].

use crate::answer::{serve_http, Answerer, Site};
use crate::error::CliError;
use crate::signal;
use crate::whip::Whip;
use oxrtc::Config;
use std::net::SocketAddr;
use tokio::net::TcpListener;

/// The page: HTML, CSS and JavaScript in one file.
pub const PAGE: &str = include_str!("web/index.html");

/// Options of `oxrtc serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to serve the page and the signaling on; port 0 picks one.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// Most peer connections at once (page sessions; WHEP viewers count apart).
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub max_sessions: usize,
    /// Require `Authorization: Bearer TOKEN` on every WHIP and WHEP request.
    #[arg(long, value_name = "TOKEN")]
    pub whip_token: Option<String>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub ice: crate::ice::IceArgs,
}

/// `oxrtc serve`: runs until SIGINT/SIGTERM.
///
/// # Errors
/// Bad ICE options, or the address cannot be bound.
pub async fn run(args: ServeArgs) -> Result<(), CliError> {
    let config = args.ice.config(Config::default())?;
    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|e| CliError::listen(args.listen, &e))?;
    let addr = listener.local_addr()?;
    let shutdown = signal::shutdown();
    println!("listening on http://{addr}/ (open it in a browser)");
    let max = args.max_sessions.max(1);
    let whip = Whip::new(config.clone(), args.whip_token, max);
    let answerer = Answerer::new(config, max);
    serve_http(listener, answerer, Site::Page, Some(whip), shutdown).await;
    Ok(())
}
