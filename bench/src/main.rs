//! Side-by-side loopback benchmark of three Rust WebRTC stacks: oxrtc, webrtc-rs and str0m.
//!
//! `oxrtc-bench-compare <oxrtc|webrtc|str0m> [MiB] [setup-rounds]`
//!
//! Each stack is measured the same way as oxrtc's own
//! `crates/peerconnection/examples/bench_loopback.rs`:
//! - setup: from before the two peers are created until the offerer's data channel is open
//!   (ICE + DTLS + SCTP + DCEP), non-trickle offer/answer in-process, host candidates on
//!   127.0.0.1 only; `rounds` times, median/min/max;
//! - bulk: one ordered reliable channel, 64 KiB binary messages, the sender pausing while the
//!   buffered amount is above 1 MiB until it drops below 256 KiB (str0m: writes refused
//!   above its own buffered-amount limit, see str0m_bench.rs); MB/s from the first send to the last byte
//!   received, CPU seconds per GB from /proc/self/stat (user + system, whole process, so both
//!   peers together).
#![allow(clippy::unwrap_used)]

mod oxrtc_bench;
mod str0m_bench;
mod webrtc_bench;

use std::time::Duration;

/// User + system CPU time of this process (/proc/self/stat, clock ticks of 10 ms).
pub fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |x| x.1);
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of the file are utime and stime: the 12th and 13th after "(comm)".
    let field = |i: usize| f.get(i).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
    Duration::from_millis((field(11) + field(12)) * 10)
}

/// Peak resident set size of this process in MiB (VmHWM).
pub fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The sender pauses above this buffered amount ...
pub const HIGH_WATER: usize = 1024 * 1024;
/// ... until it falls below this one.
pub const LOW_WATER: usize = 256 * 1024;
/// Message size of the bulk transfer.
pub const MSG: usize = 64 * 1024;

pub fn report_setup(name: &str, mut setups: Vec<Duration>) {
    setups.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{name}: setup (ICE + DTLS + SCTP + channel open), {} rounds: median {:.1} ms, min {:.1} ms, max {:.1} ms",
        setups.len(),
        ms(setups[setups.len() / 2]),
        ms(setups[0]),
        ms(setups[setups.len() - 1])
    );
}

pub fn report_bulk(name: &str, got: usize, secs: f64, cpu: Duration) {
    let cpu = cpu.as_secs_f64();
    println!(
        "{name}: bulk: {} MiB in 64 KiB messages in {secs:.2} s: {:.1} MB/s, {:.1} CPU-s/GB ({cpu:.2} CPU-s, both peers), peak RSS {:.0} MiB",
        got / (1024 * 1024),
        got as f64 / secs / 1e6,
        cpu / (got as f64 / 1e9),
        peak_rss_mib()
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let stack = args.get(1).map(String::as_str).unwrap_or("");
    let mib: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(256);
    let rounds: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(20);
    let total = mib * 1024 * 1024;
    match stack {
        "oxrtc" => oxrtc_bench::run(total, rounds),
        "webrtc" => webrtc_bench::run(total, rounds),
        "str0m" => str0m_bench::run(total, rounds),
        _ => {
            eprintln!("usage: oxrtc-bench-compare <oxrtc|webrtc|str0m> [MiB] [setup-rounds]");
            std::process::exit(2);
        }
    }
}
