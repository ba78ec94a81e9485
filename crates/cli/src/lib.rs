//! `oxrtc-cli`: the `oxrtc` command of the oxrtc WebRTC stack.
//!
//! - `oxrtc demo`: two peers in one process over loopback UDP with the built-in STUN
//!   server (`--relay`: through the built-in TURN server), a data channel transfer with a
//!   progress bar, a VP8 and an Opus track, a timeline (up to the first media packet), the
//!   selected pair, throughput, round trip, losses and stats.
//! - `oxrtc answer --listen ADDR` and `oxrtc offer --url URL --scenario S`: the two sides
//!   of the signaling contract in DESIGN.md ("Signaling used by the CLI"): a WHIP-like,
//!   non-trickle `POST /offer` (`application/sdp`, 201 with the answer), data channels
//!   echoed unchanged, incoming tracks reflected, one JSON result line per offer run;
//!   `--save DIR` stores received tracks (VP8 in IVF, Opus in Ogg).
//! - `oxrtc serve`: a page embedded in the binary that connects a browser to a Rust peer
//!   (chat over an echoed data channel, the camera reflected, live stats from both ends),
//!   and WHIP ingest (RFC 9725, `POST /whip`) with WHEP egress (`POST /whep`) of the
//!   published stream to several viewers.
//! - `oxrtc stun-server` and `oxrtc turn-server`: oxrtc-stun's binding server and
//!   oxrtc-turn's server runtime.
//!
//! The library exposes the pieces the binary is made of, for its tests and fuzz target;
//! it is not meant as a stable API.
#![forbid(unsafe_code)]

// The Rust example in the workspace README is compiled as a doctest of this crate.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct WorkspaceReadme;

pub mod answer;
pub mod conn;
pub mod demo;
pub mod echo;
pub mod error;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod http;
pub mod ice;
pub mod media;
pub mod offer;
pub mod report;
pub mod serve;
pub mod servers;
pub mod signal;
pub mod units;
pub mod whip;

use clap::{Parser, Subcommand};

/// The command line.
#[derive(Debug, Parser)]
#[command(
    name = "oxrtc",
    version,
    about = "WebRTC in Rust: demo, echo answerer, scenario offerer, browser page, STUN and TURN servers"
)]
pub struct Cli {
    /// Log to stderr (-v info, -vv debug, -vvv trace; RUST_LOG overrides).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Two peers on loopback: a data channel transfer, timeline and stats.
    Demo(demo::DemoArgs),
    /// Answer offers POSTed to /offer; data channels echo, tracks are reflected.
    Answer(answer::AnswerArgs),
    /// Offer to an answerer, run a scenario, print one JSON line.
    Offer(offer::OfferArgs),
    /// Serve a page that connects the browser to a Rust peer.
    Serve(serve::ServeArgs),
    /// A STUN binding server (RFC 8489) on UDP.
    StunServer(servers::StunArgs),
    /// A TURN server (RFC 8656) on UDP and TCP.
    TurnServer(servers::TurnArgs),
}

/// Sets up logging to stderr: warnings by default, more with `-v`.
pub fn init_logging(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(verbose >= 2)
        .try_init();
}

/// Runs a parsed command line; returns the process exit status.
pub fn run(cli: Cli) -> i32 {
    init_logging(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("oxrtc: cannot start the tokio runtime: {e}");
            return 1;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Offer(args) => {
                let line = offer::run(&args).await;
                println!("{}", line.to_json());
                Ok(if line.ok { 0 } else { 1 })
            }
            Command::Answer(args) => answer::run(args).await.map(|()| 0),
            Command::Serve(args) => serve::run(args).await.map(|()| 0),
            Command::Demo(args) => demo::run(args).await.map(|()| 0),
            Command::StunServer(args) => servers::run_stun(args).await.map(|()| 0),
            Command::TurnServer(args) => servers::run_turn(args).await.map(|()| 0),
        }
    });
    // Tasks still running (a peer's driver) must not hold the process.
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("oxrtc: {e}");
            e.exit_code()
        }
    }
}

/// A random number generator for payloads and the demo's TURN password (seeded from the
/// OS; from the clock if the OS cannot give randomness).
pub fn rng() -> rand::rngs::StdRng {
    use rand::SeedableRng;
    rand::rngs::StdRng::try_from_os_rng().unwrap_or_else(|_| {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        rand::rngs::StdRng::seed_from_u64(t)
    })
}
