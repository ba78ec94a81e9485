//! `oxrtc demo`: two peers in one process over real UDP on loopback, with the built-in
//! STUN server (and with `--relay`, the built-in TURN server on the path), a data channel
//! transfer with a progress bar, then a timeline, the selected pair, throughput, round
//! trip, losses and a stats summary.

use crate::conn::{self, ConnWatch};
use crate::error::CliError;
use crate::media;
use crate::servers::{serve_stun, stun_core};
use crate::units::{human_bytes, parse_size};
use bytes::Bytes;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use oxrtc::runtime::{DataChannel, PeerConnection};
use oxrtc::{
    Config, DataChannelInit, IceServer, IceTransportPolicy, InterfaceFilter, Message, Stats,
};
use oxrtc_turn::runtime::{RuntimeConfig, TurnServer};
use oxrtc_turn::ServerConfig;
use rand::RngCore;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot, watch};

/// Options of `oxrtc demo`.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Bytes to transfer over the data channel (units allowed: 64MiB, 1GiB).
    #[arg(long, default_value = "64MiB", value_parser = parse_size, value_name = "BYTES")]
    pub size: u64,
    /// Size of each data channel message.
    #[arg(long, default_value = "64KiB", value_parser = parse_size, value_name = "BYTES")]
    pub message_size: u64,
    /// Force the path through the built-in TURN server (relayed candidates only).
    #[arg(long)]
    pub relay: bool,
    /// Unordered delivery on the data channel.
    #[arg(long)]
    pub unordered: bool,
    /// Partial reliability: give up on a message after this many retransmissions.
    #[arg(long, value_name = "N", conflicts_with = "max_packet_life_time")]
    pub max_retransmits: Option<u16>,
    /// Partial reliability: give up on a message after this many milliseconds.
    #[arg(long, value_name = "MS")]
    pub max_packet_life_time: Option<u16>,
    /// Seconds of media (a VP8 and an Opus track, sent from the start of the connection)
    /// after the transfer; 0: no media.
    #[arg(long, default_value_t = 3.0, value_name = "SECONDS")]
    pub duration: f64,
    /// No progress bar (it is hidden anyway when stderr is not a terminal).
    #[arg(long)]
    pub no_progress: bool,
}

/// Above this buffered amount the sender waits (bytes)...
const HIGH: usize = 1 << 20;
/// ...until it falls to this one.
const LOW: usize = 256 << 10;
/// Round trip samples.
const PINGS: usize = 20;
/// Time limit of each wait.
const WAIT: Duration = Duration::from_secs(30);

struct Servers {
    stun_addr: SocketAddr,
    stun_stop: oneshot::Sender<()>,
    stun_task: tokio::task::JoinHandle<std::io::Result<oxrtc_stun::ServerStats>>,
    turn: Option<TurnRunning>,
}

struct TurnRunning {
    addr: SocketAddr,
    user: String,
    pass: String,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<oxrtc_turn::ServerStats>>,
}

async fn start_servers(relay: bool) -> Result<Servers, CliError> {
    let stun = UdpSocket::bind("127.0.0.1:0").await?;
    let stun_addr = stun.local_addr()?;
    let (stun_stop, rx) = oneshot::channel::<()>();
    let stun_task = tokio::spawn(serve_stun(Arc::new(stun), stun_core(None, &[]), async {
        let _ = rx.await;
    }));
    let turn = if relay {
        let mut secret = [0u8; 12];
        crate::rng().fill_bytes(&mut secret);
        let pass: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        let user = "demo".to_owned();
        let mut server = ServerConfig {
            realm: "oxrtc-demo".into(),
            users: vec![(user.clone(), pass.clone())],
            ..ServerConfig::default()
        };
        // Both peers live on loopback: the relay must be allowed to reach them.
        server.peer_filter.allow_loopback = true;
        let config = RuntimeConfig {
            listen: vec![SocketAddr::from(([127, 0, 0, 1], 0))],
            relay_ip: Some([127, 0, 0, 1].into()),
            tcp: false,
            server,
            ..RuntimeConfig::default()
        };
        let server = TurnServer::bind(config).await?;
        let addr = server
            .local_addrs()
            .first()
            .copied()
            .ok_or_else(|| CliError::Connection("the TURN server has no address".into()))?;
        let (stop, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(server.serve(async {
            let _ = rx.await;
        }));
        Some(TurnRunning {
            addr,
            user,
            pass,
            stop,
            task,
        })
    } else {
        None
    };
    Ok(Servers {
        stun_addr,
        stun_stop,
        stun_task,
        turn,
    })
}

fn peer_config(servers: &Servers, relay: bool) -> Config {
    let mut ice_servers = vec![IceServer::new(format!("stun:{}", servers.stun_addr))];
    if let Some(t) = &servers.turn {
        ice_servers.push(IceServer::with_credentials(
            format!("turn:{}?transport=udp", t.addr),
            t.user.clone(),
            t.pass.clone(),
        ));
    }
    Config {
        ice_servers,
        ice_transport_policy: if relay {
            IceTransportPolicy::Relay
        } else {
            IceTransportPolicy::All
        },
        interface_filter: InterfaceFilter::loopback_only(),
        ..Config::default()
    }
}

/// What the receiving side counted.
#[derive(Debug, Clone, Default)]
struct Received {
    messages: u64,
    bytes: u64,
    out_of_order: u64,
    first: Option<Instant>,
    last: Option<Instant>,
    closed: bool,
}

async fn receive(mut ch: DataChannel, progress: watch::Sender<Received>) {
    let mut next = 0u64;
    while let Some(m) = ch.recv().await {
        let now = Instant::now();
        let data = m.as_bytes();
        let seq = data
            .get(..8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(u64::from_be_bytes);
        let len = data.len() as u64;
        progress.send_modify(|p| {
            p.messages += 1;
            p.bytes += len;
            p.first.get_or_insert(now);
            p.last = Some(now);
            if let Some(s) = seq {
                if s != next {
                    p.out_of_order += 1;
                }
                next = s.max(next) + 1;
            }
        });
    }
    progress.send_modify(|p| p.closed = true);
}

/// Echoes pings on the answering side.
async fn pong(mut ch: DataChannel) {
    let tx = ch.sender();
    while let Some(m) = ch.recv().await {
        let r = match m {
            Message::Text(t) => tx.send_text(&t).await,
            Message::Binary(b) => tx.send(b).await,
        };
        if r.is_err() {
            break;
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `oxrtc demo`.
///
/// # Errors
/// Servers or peers could not start, the connection failed, or the transfer stalled.
pub async fn run(args: DemoArgs) -> Result<(), CliError> {
    let message_size = usize::try_from(args.message_size.clamp(1, 256 << 10)).unwrap_or(64 << 10);
    let servers = start_servers(args.relay).await?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "oxrtc demo: two peers on loopback UDP; STUN server {}{}",
        servers.stun_addr,
        servers
            .turn
            .as_ref()
            .map(|t| format!(", TURN server {} (relay only)", t.addr))
            .unwrap_or_default()
    );
    print!("{out}");

    let config = peer_config(&servers, args.relay);
    let t0 = Instant::now();
    let (a, a_events) = PeerConnection::new(config.clone()).await?;
    let (b, b_events) = PeerConnection::new(config).await?;
    let mut a_conn = conn::watch_events(a_events, None);
    let (b_channels_tx, mut b_channels) = mpsc::unbounded_channel();
    let mut b_conn = conn::watch_events(b_events, Some(b_channels_tx));
    let media_secs = if args.duration.is_finite() {
        args.duration.clamp(0.0, 3600.0)
    } else {
        0.0
    };
    let mut demo_media = if media_secs > 0.0 {
        Some(media::DemoMedia::add(&a).await?)
    } else {
        None
    };

    let result = transfer(
        &args,
        message_size,
        &a,
        &b,
        &mut a_conn,
        &mut b_conn,
        &mut b_channels,
        demo_media.as_mut(),
        t0,
    )
    .await;
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            let why = format!(
                "{e}; a: {}; b: {}",
                conn::summary(&a).await,
                conn::summary(&b).await
            );
            a.close().await;
            b.close().await;
            stop_servers(servers).await;
            return Err(CliError::Connection(why));
        }
    };
    print!("{report}");

    // The tracks have been sending since the connection came up: they go on a while.
    let mut media_lost = None;
    if let Some(m) = demo_media.as_mut() {
        let secs = media_secs;
        tokio::time::sleep(Duration::from_secs_f64(secs)).await;
        m.stop();
        // The last packets and receiver reports.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (line, lost) = media_report(m, &a, &b, secs).await;
        media_lost = Some(lost);
        print!("{line}");
    }

    let summary = stats_summary(&a, &b, media_lost).await;
    print!("{summary}");
    a.close().await;
    b.close().await;
    let servers_line = stop_servers(servers).await;
    print!("{servers_line}");
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn transfer(
    args: &DemoArgs,
    message_size: usize,
    a: &PeerConnection,
    b: &PeerConnection,
    a_conn: &mut ConnWatch,
    b_conn: &mut ConnWatch,
    b_channels: &mut mpsc::UnboundedReceiver<DataChannel>,
    mut demo_media: Option<&mut media::DemoMedia>,
    t0: Instant,
) -> Result<String, CliError> {
    let init = DataChannelInit {
        ordered: !args.unordered,
        max_retransmits: args.max_retransmits,
        max_packet_life_time: args.max_packet_life_time,
        ..DataChannelInit::default()
    };
    let reliability = match (
        args.unordered,
        args.max_retransmits,
        args.max_packet_life_time,
    ) {
        (u, None, None) => format!("{}, reliable", if u { "unordered" } else { "ordered" }),
        (u, Some(n), _) => format!(
            "{}, at most {n} retransmissions",
            if u { "unordered" } else { "ordered" }
        ),
        (u, None, Some(t)) => format!(
            "{}, given up after {t} ms",
            if u { "unordered" } else { "ordered" }
        ),
    };
    let mut data = a.create_data_channel("demo", init).await?;
    let mut ping = a
        .create_data_channel("ping", DataChannelInit::default())
        .await?;

    // Non-trickle offer/answer, in memory.
    a.set_local_description(None).await?;
    a_conn.gathered(WAIT).await?;
    let offer = a
        .local_description()
        .await
        .ok_or_else(|| CliError::Connection("no offer".into()))?;
    b.set_remote_description(offer).await?;
    if let Some(m) = demo_media.as_deref_mut() {
        // Watch b's tracks and start sending: packets flow once DTLS is up.
        m.start(b).await.map_err(CliError::Connection)?;
    }
    b.set_local_description(None).await?;
    b_conn.gathered(WAIT).await?;
    let answer = b
        .local_description()
        .await
        .ok_or_else(|| CliError::Connection("no answer".into()))?;
    a.set_remote_description(answer).await?;
    let negotiated = t0.elapsed();

    let mut failed = a_conn.clone();
    tokio::select! {
        r = tokio::time::timeout(WAIT, data.wait_open()) => match r {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return Err(CliError::Connection("the data channel closed before it opened".into())),
            Err(_) => return Err(CliError::Connection(format!("the data channel did not open within {} s", WAIT.as_secs()))),
        },
        f = failed.failed() => return Err(CliError::Connection(f)),
    }
    let open = t0.elapsed();
    tokio::time::timeout(WAIT, ping.wait_open())
        .await
        .map_err(|_| CliError::Connection("the ping channel did not open".into()))??;

    // The answering side's channels.
    let (rx_progress, mut progress) = watch::channel(Received::default());
    let mut got = 0;
    while got < 2 {
        let ch = tokio::time::timeout(WAIT, b_channels.recv())
            .await
            .map_err(|_| CliError::Connection("the remote data channels did not arrive".into()))?
            .ok_or_else(|| CliError::Connection("the answering peer closed".into()))?;
        if ch.label() == "ping" {
            tokio::spawn(pong(ch));
        } else {
            tokio::spawn(receive(ch, rx_progress.clone()));
        }
        got += 1;
    }
    drop(rx_progress);
    let pair = conn::selected_pair(a).await.unwrap_or_else(|| "-".into());

    // The transfer.
    let bar = if args.no_progress {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::with_draw_target(Some(args.size), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:40.cyan/blue} {bytes:>10}/{total_bytes} {binary_bytes_per_sec:>12} {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    };
    let mut block = vec![0u8; message_size];
    crate::rng().fill_bytes(&mut block);
    let mut tx = data.sender();
    let start = Instant::now();
    let mut sent = 0u64;
    let mut seq = 0u64;
    while sent < args.size {
        let n =
            usize::try_from((args.size - sent).min(message_size as u64)).unwrap_or(message_size);
        let mut msg = block.get(..n).unwrap_or_default().to_vec();
        let k = n.min(8);
        msg.get_mut(..k)
            .unwrap_or_default()
            .copy_from_slice(seq.to_be_bytes().get(..k).unwrap_or_default());
        if tx.buffered_amount() > HIGH {
            tokio::time::timeout(WAIT, tx.wait_buffered_amount_below(LOW))
                .await
                .map_err(|_| {
                    CliError::Connection(
                        "the transfer stalled (buffered amount did not drain)".into(),
                    )
                })??;
        }
        tx.send(Bytes::from(msg)).await?;
        sent += n as u64;
        seq += 1;
        bar.set_position(progress.borrow().bytes);
    }
    // Wait for the receiver: everything, or (partial reliability) quiet for a second after
    // the send queue drained.
    let reliable = args.max_retransmits.is_none() && args.max_packet_life_time.is_none();
    let _ = tokio::time::timeout(WAIT, tx.wait_buffered_amount_below(0)).await;
    loop {
        let p = progress.borrow_and_update().clone();
        bar.set_position(p.bytes);
        if p.bytes >= args.size || p.closed {
            break;
        }
        let quiet = if reliable {
            WAIT
        } else {
            Duration::from_secs(1)
        };
        match tokio::time::timeout(quiet, progress.changed()).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => break,
            Err(_) if reliable => {
                bar.abandon();
                return Err(CliError::Connection(format!(
                    "the transfer stalled at {} of {}",
                    human_bytes(p.bytes),
                    human_bytes(args.size)
                )));
            }
            Err(_) => break,
        }
    }
    bar.finish_and_clear();
    let p = progress.borrow().clone();
    let seconds = p
        .last
        .map_or(0.0, |l| l.duration_since(start).as_secs_f64())
        .max(1e-6);

    // Round trip: small pings on the second channel.
    let mut rtts = Vec::with_capacity(PINGS);
    let ptx = ping.sender();
    for i in 0..PINGS {
        let t = Instant::now();
        ptx.send(Bytes::copy_from_slice(&(i as u64).to_be_bytes()))
            .await?;
        match tokio::time::timeout(Duration::from_secs(5), ping.recv()).await {
            Ok(Some(_)) => rtts.push(t.elapsed()),
            _ => break,
        }
    }
    rtts.sort_unstable();

    let a_state = a_conn.state();
    let b_state = b_conn.state();
    let mut out = String::new();
    let _ = writeln!(out, "\ntimeline (ms from creating the peer connections)");
    let earliest = |x: Option<Instant>, y: Option<Instant>| match (x, y) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    };
    let mut timeline: Vec<(Duration, String)> = vec![
        (
            negotiated,
            "offer/answer applied (candidates gathered, non-trickle)".into(),
        ),
        (open, "SCTP up, data channel open".into()),
    ];
    if let Some(t) = earliest(a_state.ice_connected_at, b_state.ice_connected_at) {
        timeline.push((t.duration_since(t0), "ICE connected".into()));
    }
    if let Some(t) = earliest(a_state.connected_at, b_state.connected_at) {
        timeline.push((
            t.duration_since(t0),
            "DTLS connected (connection state \"connected\": ICE and DTLS up)".into(),
        ));
    }
    let first_media = demo_media
        .as_deref()
        .and_then(media::DemoMedia::first_packet);
    if let Some(t) = first_media {
        timeline.push((
            t.duration_since(t0),
            "first media packet (RTP at the receiving peer)".into(),
        ));
    }
    timeline.sort_by_key(|(t, _)| *t);
    for (t, what) in &timeline {
        let _ = writeln!(out, "  {:>9.1}  {what}", ms(*t));
    }
    if first_media.is_none() {
        let _ = writeln!(
            out,
            "  {:>9}  first media packet ({})",
            "-",
            if demo_media.is_some() {
                "none arrived yet"
            } else {
                "no media: --duration 0"
            }
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "selected pair        {pair}");
    let lost = args.size.saturating_sub(p.bytes);
    let _ = writeln!(
        out,
        "transfer             {} in {:.3} s: {:.1} MB/s ({:.0} Mbit/s), {} messages of {}, {reliability}",
        human_bytes(p.bytes),
        seconds,
        p.bytes as f64 / seconds / 1e6,
        p.bytes as f64 * 8.0 / seconds / 1e6,
        p.messages,
        human_bytes(message_size as u64),
    );
    if lost > 0 || p.out_of_order > 0 {
        let _ = writeln!(
            out,
            "                     {} not delivered (given up), {} messages out of order",
            human_bytes(lost),
            p.out_of_order
        );
    }
    if let (Some(min), Some(med)) = (rtts.first(), rtts.get(rtts.len() / 2)) {
        let srtt = a
            .with_core(|c| c.sctp_stats().and_then(|s| s.srtt))
            .await
            .ok()
            .flatten();
        let _ = writeln!(
            out,
            "round trip           {:.3} ms median of {} data channel pings (min {:.3} ms){}",
            ms(*med),
            rtts.len(),
            ms(*min),
            srtt.map(|s| format!("; SCTP smoothed RTT {:.3} ms", ms(s)))
                .unwrap_or_default()
        );
    }
    Ok(out)
}

/// What the media did: frames the receiver assembled, and the RTP stats of both ends.
/// Returns the text and (packets lost, packets expected).
async fn media_report(
    m: &media::DemoMedia,
    a: &PeerConnection,
    b: &PeerConnection,
    secs: f64,
) -> (String, (i64, u64)) {
    let (v, au) = m.frames();
    let mut received = 0u64;
    let mut lost = 0i64;
    let mut nacks = 0u64;
    let mut plis = 0u64;
    let mut frames_rtp = 0u64;
    if let Ok(r) = b.stats().await {
        for s in &r.0 {
            if let Stats::InboundRtp(i) = s {
                received += i.packets_received;
                lost += i.packets_lost;
                nacks += i.nack_count;
                plis += i.pli_count + i.fir_count;
                frames_rtp += i.frames_received.unwrap_or(0);
            }
        }
    }
    let mut sent = 0u64;
    let mut resent = 0u64;
    let mut bytes = 0u64;
    if let Ok(r) = a.stats().await {
        for s in &r.0 {
            if let Stats::OutboundRtp(o) = s {
                sent += o.packets_sent;
                resent += o.retransmitted_packets_sent;
                bytes += o.bytes_sent;
            }
        }
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "media                VP8 320x240 at 30 fps and Opus 48 kHz from the connection's start until {secs:.1} s after the transfer"
    );
    let _ = writeln!(
        out,
        "                     received {} video frames ({} key frames; {frames_rtp} by RTP marker), {} audio frames",
        v.frames, v.keyframes, au.frames
    );
    let _ = writeln!(
        out,
        "                     RTP {sent} packets sent ({}), {received} received, {lost} lost; {resent} retransmitted (RTX) for {nacks} NACKs, {plis} key frame requests",
        human_bytes(bytes)
    );
    (out, (lost, received + lost.max(0).unsigned_abs()))
}

async fn stats_summary(
    a: &PeerConnection,
    b: &PeerConnection,
    media_lost: Option<(i64, u64)>,
) -> String {
    let mut out = String::new();
    // Loss on a data channel shows as SCTP retransmissions (each one a DATA chunk the
    // sender believed lost) and as datagrams the receiver discarded.
    let mut rtx = 0;
    let mut discarded = 0;
    for pc in [a, b] {
        rtx += pc
            .with_core(|c| c.sctp_stats().map_or(0, |s| s.retransmissions))
            .await
            .unwrap_or(0);
        if let Ok(r) = pc.stats().await {
            for s in &r.0 {
                if let Stats::Transport(t) = s {
                    discarded += t.packets_discarded;
                }
            }
        }
    }
    let media = media_lost
        .map(|(lost, expected)| {
            format!("media: {lost} of {expected} RTP packets (inbound-rtp packetsLost); ")
        })
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "packets lost         {media}data: {rtx} (SCTP DATA chunks retransmitted, both directions); {discarded} datagrams discarded"
    );
    let _ = writeln!(out, "\nstats (getStats and the SCTP association)");
    for (name, pc) in [("offerer ", a), ("answerer", b)] {
        let Ok(report) = pc.stats().await else {
            continue;
        };
        let sctp = pc.with_core(|c| c.sctp_stats()).await.ok().flatten();
        for s in &report.0 {
            match s {
                Stats::Transport(t) => {
                    let _ = writeln!(
                        out,
                        "  {name}  packets {} sent / {} received ({} / {}), {} discarded; DTLS {} {}",
                        t.packets_sent,
                        t.packets_received,
                        human_bytes(t.bytes_sent),
                        human_bytes(t.bytes_received),
                        t.packets_discarded,
                        t.dtls_role,
                        t.dtls_cipher.as_deref().unwrap_or("-"),
                    );
                }
                Stats::DataChannel(d) => {
                    let _ = writeln!(
                        out,
                        "  {name}  channel {:?}: {} messages ({}) sent, {} messages ({}) received",
                        d.label,
                        d.messages_sent,
                        human_bytes(d.bytes_sent),
                        d.messages_received,
                        human_bytes(d.bytes_received)
                    );
                }
                _ => {}
            }
        }
        if let Some(s) = sctp {
            let _ = writeln!(
                out,
                "  {name}  SCTP: {} DATA chunks sent, {} retransmitted ({} fast retransmits, {} timeouts), {} abandoned, cwnd {}",
                s.data_chunks_sent,
                s.retransmissions,
                s.fast_retransmits,
                s.t3_expirations,
                s.messages_abandoned,
                human_bytes(s.cwnd as u64)
            );
        }
    }
    out
}

async fn stop_servers(servers: Servers) -> String {
    let mut out = String::new();
    let _ = servers.stun_stop.send(());
    if let Ok(Ok(s)) = servers.stun_task.await {
        let _ = writeln!(
            out,
            "  STUN server  {} binding requests answered, {} dropped",
            s.success, s.dropped
        );
    }
    if let Some(t) = servers.turn {
        let _ = t.stop.send(());
        if let Ok(Ok(s)) = t.task.await {
            let _ = writeln!(
                out,
                "  TURN server  {} allocations; relayed {} packets ({}) to peers and {} packets ({}) to clients; {} dropped",
                s.allocations_total,
                s.packets_to_peers,
                human_bytes(s.bytes_to_peers),
                s.packets_to_clients,
                human_bytes(s.bytes_to_clients),
                s.dropped + s.bandwidth_drops
            );
        }
    }
    out
}
