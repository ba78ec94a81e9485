//! `oxrtc offer`: the offering side of the signaling contract. Creates the offer (one data
//! channel `echo`, ordered and reliable), waits for gathering to complete, POSTs it, applies
//! the answer, runs the scenario and reports one JSON line.

use crate::conn::{self, ConnWatch};
use crate::echo::{Echo, Outgoing};
use crate::error::{describe_description_error, CliError};
use crate::http::{self, Url};
use crate::media;
use crate::report::{round, ResultLine};
use crate::units::parse_size;
use bytes::Bytes;
use oxrtc::runtime::PeerConnection;
use oxrtc::{Config, DataChannelInit, RtcSessionDescription};
use rand::RngCore;
use std::time::{Duration, Instant};

/// The scenarios of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// Binary messages of 1 B, 1 KiB, 16 KiB, 64 KiB, 256 KiB and a few strings, echoed.
    DcEcho,
    /// `--size` bytes in 64 KiB messages with flow control, echoed.
    DcBulk,
    /// VP8 video and Opus audio reflected back.
    MediaEcho,
}

impl Scenario {
    /// The contract's name.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::DcEcho => "dc-echo",
            Scenario::DcBulk => "dc-bulk",
            Scenario::MediaEcho => "media-echo",
        }
    }
}

/// Options of `oxrtc offer`.
#[derive(Debug, Clone, clap::Args)]
pub struct OfferArgs {
    /// Where to POST the offer (`http://HOST:PORT/offer`).
    #[arg(long)]
    pub url: String,
    /// What to run once connected.
    #[arg(long, value_enum)]
    pub scenario: Scenario,
    /// dc-bulk: total bytes (units allowed: 64MiB).
    #[arg(long, default_value = "64MiB", value_parser = parse_size, value_name = "BYTES")]
    pub size: u64,
    /// dc-echo: rounds of the plan.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub count: u32,
    /// dc-echo: binary message sizes instead of 1,1KiB,16KiB,64KiB,256KiB.
    #[arg(long, value_name = "LIST")]
    pub sizes: Option<String>,
    /// dc-echo: this many strings instead of the three default ones.
    #[arg(long, value_name = "N")]
    pub strings: Option<usize>,
    /// dc-echo: accept text echoes that start with this prefix.
    #[arg(long, default_value = "", value_name = "P")]
    pub expect_text_prefix: String,
    /// Time limit of every wait (gathering, answer, open, echoes), in seconds.
    #[arg(long, default_value_t = 60.0, value_name = "SECONDS")]
    pub timeout: f64,
    /// media-echo: how long to send, in seconds.
    #[arg(long, default_value_t = 4.0, value_name = "SECONDS")]
    pub seconds: f64,
    /// Store the received (reflected) tracks in this directory: VP8 as `video-MID.ivf`,
    /// Opus as `audio-MID.ogg`.
    #[arg(long, value_name = "DIR")]
    pub save: Option<std::path::PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub ice: crate::ice::IceArgs,
}

/// The default dc-echo sizes.
pub const DEFAULT_SIZES: [usize; 5] = [1, 1024, 16 << 10, 64 << 10, 256 << 10];
/// The default dc-echo strings (multi-byte UTF-8 on purpose).
pub const STRINGS: [&str; 3] = ["hello, echo", "grüße, 世界 ✓", "Ωmega ∑ 🚀 end"];
/// dc-bulk message size.
pub const BULK_MESSAGE: usize = 64 << 10;

/// The dc-echo plan: (sizes to send, sizes skipped for exceeding `max_message_size`,
/// strings).
pub fn echo_plan(
    sizes: Option<&[usize]>,
    strings: Option<usize>,
    max_message_size: usize,
) -> (Vec<usize>, Vec<usize>, Vec<String>) {
    let sizes = sizes.map_or_else(|| DEFAULT_SIZES.to_vec(), <[usize]>::to_vec);
    let mut skipped: Vec<usize> = sizes
        .iter()
        .copied()
        .filter(|&s| s > max_message_size)
        .collect();
    skipped.sort_unstable();
    skipped.dedup();
    let plan = sizes
        .into_iter()
        .filter(|&s| s <= max_message_size)
        .collect();
    let strings = match strings {
        None => STRINGS.iter().map(|s| (*s).to_owned()).collect(),
        Some(n) => (0..n)
            .map(|i| format!("{} #{i}", STRINGS[i % STRINGS.len()]))
            .collect(),
    };
    (plan, skipped, strings)
}

/// Runs `oxrtc offer`; the result line says how it went.
pub async fn run(args: &OfferArgs) -> ResultLine {
    let mut line = ResultLine::new(args.scenario.name());
    match run_inner(args, &mut line).await {
        Ok(()) => line.ok = true,
        Err(e) => {
            line.ok = false;
            line.error = Some(e.to_string());
        }
    }
    line
}

async fn run_inner(args: &OfferArgs, line: &mut ResultLine) -> Result<(), CliError> {
    let url: Url = args.url.parse()?;
    let timeout = Duration::from_secs_f64(args.timeout.max(1.0));
    let config = args.ice.config(Config::default())?;
    let sizes = args
        .sizes
        .as_deref()
        .map(crate::units::parse_size_list)
        .transpose()
        .map_err(|e| CliError::Usage(format!("--sizes: {e}")))?;

    let start = Instant::now();
    let (pc, events) = PeerConnection::new(config).await?;
    let mut conn = conn::watch_events(events, None);
    let mut saving = Vec::new();
    let result = async {
        let mut channel = pc
            .create_data_channel("echo", DataChannelInit::default())
            .await?;
        let offer_media = if args.scenario == Scenario::MediaEcho {
            Some(media::OfferMedia::add(&pc).await?)
        } else {
            None
        };
        pc.set_local_description(None).await?;
        conn.gathered(timeout).await?;
        let offer = pc
            .local_description()
            .await
            .ok_or_else(|| CliError::Connection("no local description".into()))?;
        tracing::debug!(sdp = %offer.sdp, "offer");

        let resp = http::request(
            &url,
            "POST",
            Some("application/sdp"),
            offer.sdp.as_bytes(),
            timeout,
        )
        .await
        .map_err(|e| CliError::Signaling(format!("POST {url}: {e}")))?;
        if resp.status() != 201 {
            let body = String::from_utf8_lossy(&resp.body);
            let body: String = body.trim().chars().take(300).collect();
            return Err(CliError::Signaling(format!(
                "POST {url} answered {} {} (expected 201 with an SDP answer){}",
                resp.status(),
                resp.head.reason,
                if body.is_empty() {
                    String::new()
                } else {
                    format!(": {body}")
                }
            )));
        }
        if resp.content_type() != "application/sdp" {
            tracing::warn!(content_type = %resp.content_type(), "the answer is not labelled application/sdp");
        }
        let answer = String::from_utf8(resp.body)
            .map_err(|_| CliError::RemoteDescription(format!("the answer from {url} is not UTF-8")))?;
        tracing::debug!(sdp = %answer, "answer");
        pc.set_remote_description(RtcSessionDescription::answer(answer.clone()))
            .await
            .map_err(|e| {
                CliError::RemoteDescription(format!(
                    "the answer from {url} was refused: {}",
                    describe_description_error(&e, &answer)
                ))
            })?;

        if let Some(dir) = &args.save {
            saving = media::save_tracks(&pc, dir, "offer").await.map_err(|e| {
                CliError::Usage(format!("--save {}: {e}", dir.display()))
            })?;
        }
        wait_open(&pc, &mut channel, &mut conn, timeout).await?;
        line.setup_ms = Some(round(start.elapsed().as_secs_f64() * 1000.0, 1));
        line.selected_pair = conn::selected_pair(&pc).await;
        tracing::info!(setup_ms = line.setup_ms, pair = ?line.selected_pair, "data channel open");
        let max = pc.with_core(|c| c.remote_max_message_size()).await?;

        if let Some(m) = &offer_media {
            let out = tokio::select! {
                r = m.run(&pc, args.seconds, timeout) => r.map_err(CliError::Scenario)?,
                f = conn.failed() => return Err(CliError::Connection(f)),
            };
            line.messages = out.video.frames + out.audio.frames;
            line.video_frames = Some(out.video.frames);
            line.video_keyframes = Some(out.video.keyframes);
            line.audio_frames = Some(out.audio.frames);
            line.rtp_packets = Some(out.rtp_packets);
            line.packets_lost = Some(out.packets_lost);
            line.set_rate(out.video.bytes + out.audio.bytes, out.seconds);
            if !out.ok {
                return Err(CliError::Scenario(format!(
                    "reflected frames: video {}, audio {} (need {} and {}) after {:.1} s",
                    out.video.frames,
                    out.audio.frames,
                    media::NEED_VIDEO,
                    media::NEED_AUDIO,
                    out.seconds
                )));
            }
            return Ok(());
        }

        let mut echo = Echo::start(channel, args.expect_text_prefix.clone(), conn.clone(), timeout);
        match args.scenario {
            Scenario::DcEcho => {
                let (plan, skipped, strings) = echo_plan(sizes.as_deref(), args.strings, max);
                line.skipped_sizes = Some(skipped);
                let mut rng = crate::rng();
                for _ in 0..args.count {
                    for &size in &plan {
                        let mut data = vec![0u8; size];
                        rng.fill_bytes(&mut data);
                        echo.send(Outgoing::Binary(data.into())).await?;
                    }
                    for s in &strings {
                        echo.send(Outgoing::Text(s.clone())).await?;
                    }
                }
            }
            Scenario::DcBulk => {
                if max < BULK_MESSAGE {
                    return Err(CliError::Scenario(format!(
                        "the remote's max-message-size {max} is below the {BULK_MESSAGE}-byte bulk messages"
                    )));
                }
                let mut block = vec![0u8; BULK_MESSAGE];
                crate::rng().fill_bytes(&mut block);
                let mut sent = 0u64;
                let mut i = 0u64;
                while sent < args.size {
                    let n = usize::try_from((args.size - sent).min(BULK_MESSAGE as u64))
                        .unwrap_or(BULK_MESSAGE);
                    let mut msg = block.get(..n).unwrap_or_default().to_vec();
                    // A counter in front, so a reordered or repeated message is caught.
                    let counter = i.to_be_bytes();
                    let k = n.min(8);
                    msg.get_mut(..k)
                        .unwrap_or_default()
                        .copy_from_slice(counter.get(..k).unwrap_or_default());
                    echo.send(Outgoing::Binary(Bytes::from(msg))).await?;
                    sent += n as u64;
                    i += 1;
                }
            }
            Scenario::MediaEcho => {} // ran above
        }
        let progress = echo.finish().await?;
        let t0 = echo.first_send.unwrap_or(Instant::now());
        let seconds = progress
            .last
            .map_or(0.0, |l| l.duration_since(t0).as_secs_f64())
            .max(1e-6);
        line.messages = progress.received;
        line.set_rate(progress.bytes, seconds);
        Ok(())
    }
    .await;
    if tokio::time::timeout(Duration::from_secs(3), pc.close())
        .await
        .is_err()
    {
        tracing::warn!("close timed out");
    }
    // The files are finished once the connection closed.
    for task in saving {
        if let Ok(Ok(Some(s))) = tokio::time::timeout(Duration::from_secs(3), task).await {
            eprintln!("oxrtc: saved {} ({} frames)", s.path.display(), s.frames);
        }
    }
    result
}

/// Waits for the channel to open; explains a failure or a timeout with the states and
/// the candidates tried.
async fn wait_open(
    pc: &PeerConnection,
    channel: &mut oxrtc::runtime::DataChannel,
    conn: &mut ConnWatch,
    timeout: Duration,
) -> Result<(), CliError> {
    tokio::select! {
        r = tokio::time::timeout(timeout, channel.wait_open()) => match r {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => {
                let why = conn.state().failure.unwrap_or_else(|| "the data channel closed before it opened".into());
                Err(CliError::Connection(format!("{why} ({})", conn::summary_with(pc, conn).await)))
            }
            Err(_) => Err(CliError::Connection(format!(
                "the data channel did not open within {} s: {}",
                timeout.as_secs(),
                conn::summary_with(pc, conn).await
            ))),
        },
        f = conn.failed() => Err(CliError::Connection(format!("{f} ({})", conn::summary_with(pc, conn).await))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_skips_what_the_remote_refuses() {
        let (plan, skipped, strings) = echo_plan(None, None, 65536);
        assert_eq!(plan, [1, 1024, 16384, 65536]);
        assert_eq!(skipped, [262144]);
        assert_eq!(strings.len(), 3);
        let (plan, skipped, _) = echo_plan(None, None, 262144);
        assert_eq!((plan.len(), skipped.len()), (5, 0));
        let (plan, skipped, strings) = echo_plan(Some(&[0, 70000, 70000, 5]), Some(4), 65536);
        assert_eq!(plan, [0, 5]);
        assert_eq!(skipped, [70000]);
        assert_eq!(strings[3], "hello, echo #3");
        let (plan, _, _) = echo_plan(None, None, usize::MAX);
        assert_eq!(plan.len(), 5);
    }

    #[test]
    fn scenario_names() {
        use clap::ValueEnum;
        for s in Scenario::value_variants() {
            assert_eq!(
                s.to_possible_value().map(|v| v.get_name().to_owned()),
                Some(s.name().to_owned())
            );
        }
    }
}
