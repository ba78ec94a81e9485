//! str0m (sans-IO): each peer is one thread driving its `Rtc` with one blocking UDP socket on
//! 127.0.0.1, in the loop str0m's documentation gives (drain `poll_output` to a timeout, then
//! wait for one datagram or the timeout, feed it, repeat).
//!
//! Flow control: str0m's `Channel::write` refuses a message while the SCTP buffered amount
//! would pass `RtcConfig::set_sctp_max_buffered_amount` (128 KiB by default), and the sender
//! writes whenever there is room (after every datagram it handles). `STR0M_MAX_BUFFERED=<bytes>`
//! changes that limit, e.g. to the 1 MiB high-water mark the other stacks pause at.

use crate::{cpu_time, report_bulk, report_setup, MSG};
use std::io::ErrorKind;
use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};
use str0m::change::{SdpAnswer, SdpOffer};
use str0m::channel::ChannelId;
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc, RtcError};

/// What one peer thread reports.
#[derive(Default)]
struct Outcome {
    /// Offerer: when its channel opened.
    open_at: Option<Instant>,
    /// Offerer: CPU time and instant of the first bulk write.
    bulk_start: Option<(Duration, Instant)>,
    /// Answerer: bytes received, CPU time and instant when the last byte arrived.
    bulk_end: Option<(usize, Duration, Instant)>,
}

fn new_peer() -> (Rtc, UdpSocket) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut config = Rtc::builder();
    if let Some(limit) = std::env::var("STR0M_MAX_BUFFERED")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        config = config.set_sctp_max_buffered_amount(limit);
    }
    let mut rtc = config.build(Instant::now());
    let addr = socket.local_addr().unwrap();
    rtc.add_local_candidate(Candidate::host(addr, "udp").unwrap())
        .unwrap();
    (rtc, socket)
}

/// Runs one peer until `stop` is set; the offerer sends `bulk` bytes once its channel opens.
fn drive(
    mut rtc: Rtc,
    socket: UdpSocket,
    offerer: bool,
    bulk: usize,
    stop: &AtomicBool,
) -> Result<Outcome, RtcError> {
    let local = socket.local_addr().unwrap();
    let msg = vec![0x5au8; MSG];
    let mut buf = vec![0u8; 2000];
    let mut out = Outcome::default();
    let mut cid: Option<ChannelId> = None;
    let (mut sent, mut got) = (0usize, 0usize);
    while !stop.load(Ordering::Relaxed) {
        let timeout = loop {
            match rtc.poll_output()? {
                Output::Timeout(t) => break t,
                Output::Transmit(t) => {
                    socket.send_to(&t.contents, t.destination).unwrap();
                }
                Output::Event(Event::ChannelOpen(id, _)) => {
                    cid = Some(id);
                    if offerer {
                        out.open_at = Some(Instant::now());
                        if bulk == 0 {
                            stop.store(true, Ordering::Relaxed);
                        }
                    }
                }
                Output::Event(Event::ChannelData(d)) => {
                    got += d.data.len();
                    if got >= bulk && out.bulk_end.is_none() {
                        out.bulk_end = Some((got, cpu_time(), Instant::now()));
                        stop.store(true, Ordering::Relaxed);
                    }
                }
                Output::Event(_) => {}
            }
        };
        // Write one message when there is room; then drain again before the next.
        if offerer && sent < bulk {
            if let Some(mut ch) = cid.and_then(|id| rtc.channel(id)) {
                if out.bulk_start.is_none() {
                    out.bulk_start = Some((cpu_time(), Instant::now()));
                }
                if ch.write(true, &msg)? {
                    sent += MSG;
                    continue;
                }
            }
        }
        let now = Instant::now();
        if timeout <= now {
            rtc.handle_input(Input::Timeout(now))?;
            continue;
        }
        // Wake at least every 50 ms to notice `stop`.
        let wait = (timeout - now).clamp(Duration::from_millis(1), Duration::from_millis(50));
        socket.set_read_timeout(Some(wait)).unwrap();
        match socket.recv_from(&mut buf) {
            Ok((n, source)) => {
                if let Ok(r) = Receive::new(Protocol::Udp, source, local, &buf[..n]) {
                    rtc.handle_input(Input::Receive(Instant::now(), r))?;
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                rtc.handle_input(Input::Timeout(Instant::now()))?;
            }
            Err(e) => panic!("str0m: recv_from: {e}"),
        }
    }
    Ok(out)
}

/// One connection: setup time, and for `bulk > 0` (bytes, seconds, CPU) of the transfer.
fn pair(bulk: usize) -> (Duration, Option<(usize, f64, Duration)>) {
    let start = Instant::now();
    let (mut a, sa) = new_peer();
    let (mut b, sb) = new_peer();
    let mut change = a.sdp_api();
    change.add_channel("bulk".into());
    let (offer, pending) = change.apply().unwrap();
    // Through SDP text, as the other stacks' descriptions are.
    let offer = SdpOffer::from_sdp_string(&offer.to_sdp_string()).unwrap();
    let answer = b.sdp_api().accept_offer(offer).unwrap();
    let answer = SdpAnswer::from_sdp_string(&answer.to_sdp_string()).unwrap();
    a.sdp_api().accept_answer(pending, answer).unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let (s1, s2) = (stop.clone(), stop.clone());
    let ta = thread::spawn(move || drive(a, sa, true, bulk, &s1));
    let tb = thread::spawn(move || drive(b, sb, false, bulk, &s2));
    let oa = ta.join().unwrap().unwrap();
    let ob = tb.join().unwrap().unwrap();
    let setup = oa.open_at.expect("str0m: channel never opened") - start;
    let result = match (oa.bulk_start, ob.bulk_end) {
        (Some((cpu0, t0)), Some((got, cpu1, t1))) => {
            Some((got, (t1 - t0).as_secs_f64(), cpu1 - cpu0))
        }
        _ => None,
    };
    (setup, result)
}

pub fn run(total: usize, rounds: usize) {
    str0m::crypto::from_feature_flags().install_process_default();
    let setups = (0..rounds).map(|_| pair(0).0).collect();
    report_setup("str0m", setups);
    let (_, bulk) = pair(total);
    let (got, secs, cpu) = bulk.expect("str0m: bulk transfer did not finish");
    report_bulk("str0m", got, secs, cpu);
}
