//! Receive-side state of one RTP stream: sequence number unwrapping, loss, reordering and
//! duplicate counts, interarrival jitter (RFC 3550 appendix A.8), report blocks with LSR/DLSR
//! (section 6.4.1), NACK generation with retry limits (RFC 4585), and RTT from XR
//! RRTR/DLRR (RFC 3611).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::rtcp::{DlrrItem, Nack, ReportBlock, SenderReport, XrBlock};
use crate::rtp::RtpPacket;
use crate::types::{
    compact_to_duration, duration_to_compact, ExtSeqNo, NtpTime, SeqNo, SeqNoUnwrapper, Ssrc,
};

/// NACK generation settings (RFC 4585 section 6.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NackConfig {
    /// How many times a missing packet is requested before giving up. Default 10.
    pub max_retries: u32,
    /// Packets further than this behind the newest one are no longer requested. Default 1000.
    pub max_age_packets: u64,
    /// Most missing packets tracked; a larger loss clears the list and asks for a key frame
    /// instead. Default 1000.
    pub max_missing: usize,
    /// Retry interval while no RTT is known. Default 100 ms.
    pub default_rtt: Duration,
    /// Shortest retry interval, whatever the RTT. Default 10 ms.
    pub min_retry_interval: Duration,
}

impl Default for NackConfig {
    fn default() -> Self {
        NackConfig {
            max_retries: 10,
            max_age_packets: 1000,
            max_missing: 1000,
            default_rtt: Duration::from_millis(100),
            min_retry_interval: Duration::from_millis(10),
        }
    }
}

/// Settings of a [`ReceiveStream`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiveConfig {
    /// The media source received.
    pub ssrc: Ssrc,
    /// Our own SSRC, the sender field of the feedback we make.
    pub local_ssrc: Ssrc,
    /// RTP clock rate of the payload format, Hz (90000 for video, 48000 for Opus).
    pub clock_rate: u32,
    /// NACK generation; `None` when the peer did not negotiate `a=rtcp-fb:* nack`.
    pub nack: Option<NackConfig>,
}

/// What [`ReceiveStream::handle_rtp`] made of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiveOutcome {
    /// A packet not seen before, with its extended sequence number.
    New(ExtSeqNo),
    /// Seen before: drop it.
    Duplicate,
    /// Too old to place (before the first packet across a wrap): drop it.
    TooOld,
}

/// Statistics of a [`ReceiveStream`] (the shape of `RTCInboundRtpStreamStats`' RTP fields).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReceiverStats {
    /// Unique packets received.
    pub packets_received: u64,
    /// Payload octets of those packets.
    pub bytes_received: u64,
    /// Expected minus received (RFC 3550 appendix A.3), never below zero here.
    pub packets_lost: i64,
    /// Packets received more than once.
    pub packets_duplicated: u64,
    /// Packets that arrived after a later one.
    pub packets_reordered: u64,
    /// Retransmitted packets that filled a hole.
    pub packets_repaired: u64,
    /// Interarrival jitter, RTP timestamp units.
    pub jitter: u32,
    /// Highest extended sequence number received.
    pub highest_seq: Option<ExtSeqNo>,
    /// NACK packets produced.
    pub nacks_sent: u64,
    /// Sequence numbers requested (counting retries).
    pub nack_requests: u64,
    /// Missing packets given up on (retries, age or list overflow).
    pub nack_give_ups: u64,
    /// Key frames requested because loss overflowed the NACK list.
    pub keyframe_requests: u64,
    /// Sender reports received.
    pub sender_reports: u64,
    /// Round-trip time from XR DLRR, if measured.
    pub rtt: Option<Duration>,
}

#[derive(Debug, Clone, Copy)]
struct Missing {
    retries: u32,
    last_sent: Option<Instant>,
}

/// Receive-side state of one RTP stream.
///
/// Feed every RTP packet of the stream with [`ReceiveStream::handle_rtp`] and every SR from
/// its sender with [`ReceiveStream::handle_sender_report`]; after each input (and when
/// [`ReceiveStream::poll_timeout`] comes due) drain [`ReceiveStream::poll_nack`]; put
/// [`ReceiveStream::report_block`] in the next RR or SR.
///
/// ```
/// use std::time::{Duration, Instant};
/// use oxrtc_rtp::receiver::{NackConfig, ReceiveConfig, ReceiveStream};
/// use oxrtc_rtp::{SeqNo, Ssrc};
///
/// let t0 = Instant::now();
/// let mut rx = ReceiveStream::new(ReceiveConfig {
///     ssrc: Ssrc(1), local_ssrc: Ssrc(2), clock_rate: 90_000, nack: Some(NackConfig::default()),
/// });
/// rx.handle_rtp(t0, SeqNo(10), 0, 1000, false);
/// rx.handle_rtp(t0, SeqNo(13), 0, 1000, false); // 11 and 12 are missing
/// let nack = rx.poll_nack(t0).expect("nack");
/// assert_eq!(nack.lost().collect::<Vec<_>>(), vec![SeqNo(11), SeqNo(12)]);
/// assert!(rx.poll_nack(t0).is_none());
/// // Retried one RTT later unless they arrive.
/// assert_eq!(rx.poll_timeout(), Some(t0 + Duration::from_millis(100)));
/// let block = rx.report_block(t0).expect("block");
/// assert_eq!(block.cumulative_lost, 2);
/// ```
#[derive(Debug, Clone)]
pub struct ReceiveStream {
    config: ReceiveConfig,
    unwrapper: SeqNoUnwrapper,
    base_seq: Option<u64>,
    max_seq: u64,
    /// Bit i set: `max_seq - i` received (i < 128), for duplicate detection.
    window: u128,
    expected_prior: u64,
    received_prior: u64,
    epoch: Option<Instant>,
    last_transit: Option<u32>,
    last_timestamp: Option<u32>,
    jitter_q4: u32,
    missing: BTreeMap<u64, Missing>,
    rtt: Option<Duration>,
    last_sr: Option<(u32, Instant)>,
    last_sr_mapping: Option<(NtpTime, u32)>,
    rrtr_sent: Vec<(u32, Instant)>,
    keyframe_wanted: bool,
    stats: ReceiverStats,
}

impl ReceiveStream {
    /// A stream that has received nothing yet.
    #[must_use]
    pub fn new(config: ReceiveConfig) -> Self {
        ReceiveStream {
            config,
            unwrapper: SeqNoUnwrapper::new(),
            base_seq: None,
            max_seq: 0,
            window: 0,
            expected_prior: 0,
            received_prior: 0,
            epoch: None,
            last_transit: None,
            last_timestamp: None,
            jitter_q4: 0,
            missing: BTreeMap::new(),
            rtt: None,
            last_sr: None,
            last_sr_mapping: None,
            rrtr_sent: Vec::new(),
            keyframe_wanted: false,
            stats: ReceiverStats::default(),
        }
    }

    /// The media source.
    #[must_use]
    pub fn ssrc(&self) -> Ssrc {
        self.config.ssrc
    }

    /// Current statistics.
    #[must_use]
    pub fn stats(&self) -> ReceiverStats {
        let mut s = self.stats;
        s.jitter = self.jitter_q4 >> 4;
        s.highest_seq = self.base_seq.map(|_| ExtSeqNo(self.max_seq));
        s.packets_lost = self.cumulative_lost();
        s
    }

    /// The last SR's NTP time and the RTP timestamp it maps to (for lip sync).
    #[must_use]
    pub fn sender_clock(&self) -> Option<(NtpTime, u32)> {
        self.last_sr_mapping
    }

    /// Sets the round-trip time used to pace NACK retries (from the send side's SR/RR
    /// exchange with the same peer).
    pub fn set_rtt(&mut self, rtt: Duration) {
        self.rtt = Some(rtt);
    }

    /// True once since loss overflowed the NACK list: send a PLI or FIR.
    pub fn take_keyframe_request(&mut self) -> bool {
        core::mem::take(&mut self.keyframe_wanted)
    }

    /// Adds a checked packet of this stream; `retransmitted` when it came through RTX.
    pub fn handle_packet<T: AsRef<[u8]>>(
        &mut self,
        now: Instant,
        packet: &RtpPacket<T>,
        retransmitted: bool,
    ) -> ReceiveOutcome {
        self.handle_rtp(
            now,
            packet.sequence_number(),
            packet.timestamp(),
            packet.payload().len(),
            retransmitted,
        )
    }

    /// Adds one packet's fields: sequence number, RTP timestamp, payload length, and whether
    /// it is a retransmission (excluded from jitter).
    ///
    /// Duplicates are recognised within the last 128 sequence numbers; a packet older than
    /// that counts as new only while NACK still tracks it as missing.
    pub fn handle_rtp(
        &mut self,
        now: Instant,
        seq: SeqNo,
        timestamp: u32,
        payload_len: usize,
        retransmitted: bool,
    ) -> ReceiveOutcome {
        let Some(ext) = self.unwrapper.unwrap(seq) else {
            return ReceiveOutcome::TooOld;
        };
        let ext = ext.0;
        let in_order = match self.base_seq {
            None => {
                self.base_seq = Some(ext);
                self.max_seq = ext;
                self.window = 1;
                true
            }
            Some(_) if ext > self.max_seq => {
                let gap = ext - self.max_seq;
                self.window = if gap >= 128 { 0 } else { self.window << gap };
                self.window |= 1;
                self.note_missing(self.max_seq + 1, ext);
                self.max_seq = ext;
                true
            }
            Some(base) => {
                let behind = self.max_seq - ext;
                if ext < base {
                    // Older than the first packet: RFC 3550 A.3 would count it as negative
                    // loss; move the base back instead.
                    self.base_seq = Some(ext);
                } else if behind < 128 && self.window & (1 << behind) != 0 {
                    self.stats.packets_duplicated += 1;
                    return ReceiveOutcome::Duplicate;
                } else if behind >= 128 && !self.missing.contains_key(&ext) {
                    // Outside the window and not known missing: most likely a duplicate.
                    self.stats.packets_duplicated += 1;
                    return ReceiveOutcome::Duplicate;
                }
                if behind < 128 {
                    self.window |= 1 << behind;
                }
                if self.missing.remove(&ext).is_some() && retransmitted {
                    self.stats.packets_repaired += 1;
                }
                if !retransmitted {
                    self.stats.packets_reordered += 1;
                }
                false
            }
        };
        self.stats.packets_received += 1;
        self.stats.bytes_received += payload_len as u64;
        if in_order && !retransmitted {
            self.update_jitter(now, timestamp);
        }
        ReceiveOutcome::New(ExtSeqNo(ext))
    }

    fn update_jitter(&mut self, now: Instant, timestamp: u32) {
        let epoch = *self.epoch.get_or_insert(now);
        let arrival = (now.saturating_duration_since(epoch).as_nanos()
            * u128::from(self.config.clock_rate)
            / 1_000_000_000) as u32;
        let transit = arrival.wrapping_sub(timestamp);
        // Packets of one frame share a timestamp and leave in a burst: skip them, as
        // libwebrtc does, so pacing does not read as jitter.
        if self.last_timestamp != Some(timestamp) {
            if let Some(last) = self.last_transit {
                let d = (transit.wrapping_sub(last) as i32).unsigned_abs();
                // J += (|D| - J) / 16, kept scaled by 16 (RFC 3550 appendix A.8).
                self.jitter_q4 = self
                    .jitter_q4
                    .saturating_add(d)
                    .saturating_sub(self.jitter_q4.saturating_add(8) >> 4);
            }
            self.last_transit = Some(transit);
        }
        self.last_timestamp = Some(timestamp);
    }

    fn note_missing(&mut self, from: u64, to: u64) {
        let Some(cfg) = self.config.nack else {
            return;
        };
        let count = to - from;
        if count == 0 {
            return;
        }
        if self.missing.len() as u64 + count > cfg.max_missing as u64 {
            self.stats.nack_give_ups += self.missing.len() as u64 + count;
            self.missing.clear();
            self.keyframe_wanted = true;
            self.stats.keyframe_requests += 1;
            return;
        }
        for s in from..to {
            self.missing.insert(
                s,
                Missing {
                    retries: 0,
                    last_sent: None,
                },
            );
        }
    }

    fn retry_interval(&self) -> Duration {
        let cfg = self.config.nack.unwrap_or_default();
        self.rtt
            .unwrap_or(cfg.default_rtt)
            .max(cfg.min_retry_interval)
    }

    /// The NACK to send now, if any packet is due for a (re)request. Entries past the retry
    /// or age limit are dropped and counted.
    pub fn poll_nack(&mut self, now: Instant) -> Option<Nack> {
        let cfg = self.config.nack?;
        let interval = self.retry_interval();
        let oldest_allowed = self.max_seq.saturating_sub(cfg.max_age_packets);
        let before = self.missing.len();
        self.missing
            .retain(|&s, m| s >= oldest_allowed && m.retries < cfg.max_retries);
        self.stats.nack_give_ups += (before - self.missing.len()) as u64;
        let mut lost = Vec::new();
        for (&s, m) in self.missing.iter_mut() {
            if m.last_sent.is_none_or(|t| now >= t + interval) {
                m.retries += 1;
                m.last_sent = Some(now);
                lost.push(SeqNo(s as u16));
            }
        }
        if lost.is_empty() {
            return None;
        }
        self.stats.nacks_sent += 1;
        self.stats.nack_requests += lost.len() as u64;
        Some(Nack::from_lost(
            self.config.local_ssrc,
            self.config.ssrc,
            &lost,
        ))
    }

    /// When [`ReceiveStream::poll_nack`] next has something to send.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let cfg = self.config.nack?;
        let interval = self.retry_interval();
        self.missing
            .values()
            .filter(|m| m.retries < cfg.max_retries)
            .filter_map(|m| m.last_sent.map(|t| t + interval))
            .min()
    }

    /// Records an SR from this stream's sender (for LSR/DLSR and the clock mapping).
    pub fn handle_sender_report(&mut self, now: Instant, sr: &SenderReport) {
        self.stats.sender_reports += 1;
        self.last_sr = Some((sr.ntp_time.compact(), now));
        self.last_sr_mapping = Some((sr.ntp_time, sr.rtp_time));
    }

    fn cumulative_lost(&self) -> i64 {
        match self.base_seq {
            None => 0,
            Some(base) => {
                let expected = self.max_seq - base + 1;
                (expected as i64 - self.stats.packets_received as i64).max(0)
            }
        }
    }

    /// The reception report block for this stream (RFC 3550 section 6.4.1), or `None` before
    /// the first packet. Starts a new interval for the fraction lost.
    pub fn report_block(&mut self, now: Instant) -> Option<ReportBlock> {
        let base = self.base_seq?;
        let expected = self.max_seq - base + 1;
        let expected_interval = expected.saturating_sub(self.expected_prior);
        let received_interval = self
            .stats
            .packets_received
            .saturating_sub(self.received_prior);
        self.expected_prior = expected;
        self.received_prior = self.stats.packets_received;
        let lost_interval = expected_interval as i64 - received_interval as i64;
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / expected_interval as i64).min(255) as u8
        };
        let (last_sr, delay) = match self.last_sr {
            Some((lsr, at)) => (lsr, duration_to_compact(now.saturating_duration_since(at))),
            None => (0, 0),
        };
        Some(ReportBlock {
            ssrc: self.config.ssrc,
            fraction_lost,
            cumulative_lost: ReportBlock::clamp_lost(self.cumulative_lost()),
            extended_highest_sequence: self.max_seq as u32,
            jitter: self.jitter_q4 >> 4,
            last_sr,
            delay_since_last_sr: delay,
        })
    }

    /// An XR receiver reference time block to send now (RFC 3611 section 4.4), for RTT
    /// measurement by a receive-only endpoint.
    pub fn rrtr(&mut self, now: Instant, ntp: NtpTime) -> XrBlock {
        if self.rrtr_sent.len() >= 8 {
            self.rrtr_sent.remove(0);
        }
        self.rrtr_sent.push((ntp.compact(), now));
        XrBlock::ReceiverReferenceTime { ntp_time: ntp }
    }

    /// Takes a DLRR sub-block answering one of our RRTRs and returns the RTT it implies.
    pub fn handle_dlrr(&mut self, now: Instant, item: &DlrrItem) -> Option<Duration> {
        if item.last_rr == 0 {
            return None;
        }
        let &(_, sent) = self.rrtr_sent.iter().find(|(c, _)| *c == item.last_rr)?;
        let rtt = now
            .saturating_duration_since(sent)
            .saturating_sub(compact_to_duration(item.delay_since_last_rr));
        self.rtt = Some(rtt);
        self.stats.rtt = Some(rtt);
        Some(rtt)
    }
}

/// Answers RRTR blocks from remote receivers with DLRR sub-blocks (RFC 3611 section 4.5): the
/// sender side of XR RTT measurement.
#[derive(Debug, Clone, Default)]
pub struct DlrrResponder {
    last: BTreeMap<u32, (u32, Instant)>,
}

impl DlrrResponder {
    /// Records an RRTR from `ssrc` received at `now`.
    pub fn handle_rrtr(&mut self, now: Instant, ssrc: Ssrc, ntp: NtpTime) {
        if self.last.len() >= 64 && !self.last.contains_key(&ssrc.0) {
            return;
        }
        self.last.insert(ssrc.0, (ntp.compact(), now));
    }

    /// The DLRR sub-blocks to send now.
    pub fn dlrr(&self, now: Instant) -> Vec<DlrrItem> {
        self.last
            .iter()
            .map(|(&ssrc, &(lrr, at))| DlrrItem {
                ssrc: Ssrc(ssrc),
                last_rr: lrr,
                delay_since_last_rr: duration_to_compact(now.saturating_duration_since(at)),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rx(nack: bool) -> ReceiveStream {
        ReceiveStream::new(ReceiveConfig {
            ssrc: Ssrc(1),
            local_ssrc: Ssrc(2),
            clock_rate: 90_000,
            nack: nack.then(NackConfig::default),
        })
    }

    #[test]
    fn loss_reorder_duplicate_and_wrap() {
        let t = Instant::now();
        let mut r = rx(false);
        for s in [65_533u16, 65_534, 0, 2, 65_535, 2, 1, 3] {
            r.handle_rtp(t, SeqNo(s), 0, 10, false);
        }
        let st = r.stats();
        assert_eq!(st.packets_received, 7);
        assert_eq!(st.packets_duplicated, 1);
        assert_eq!(st.packets_reordered, 2);
        assert_eq!(st.highest_seq, Some(ExtSeqNo(65_539)));
        assert_eq!(st.packets_lost, 0);
        let b = r.report_block(t).unwrap();
        assert_eq!(b.extended_highest_sequence, 0x1_0003);
        assert_eq!(b.fraction_lost, 0);
    }

    #[test]
    fn fraction_lost_per_interval() {
        let t = Instant::now();
        let mut r = rx(false);
        for s in 0..100u16 {
            if s % 4 != 0 || s == 0 {
                r.handle_rtp(t, SeqNo(s), 0, 10, false);
            }
        }
        let b = r.report_block(t).unwrap();
        // 24 of 100 lost: 24 * 256 / 100 = 61.
        assert_eq!(b.cumulative_lost, 24);
        assert_eq!(b.fraction_lost, 61);
        for s in 100..200u16 {
            r.handle_rtp(t, SeqNo(s), 0, 10, false);
        }
        let b = r.report_block(t).unwrap();
        assert_eq!(b.fraction_lost, 0);
        assert_eq!(b.cumulative_lost, 24);
    }

    #[test]
    fn jitter_follows_a8() {
        // 50 packets, 20 ms apart in media time (1800 ticks at 90 kHz); arrivals alternate
        // early/late by 1 ms (90 ticks), so |D| = 90 and J approaches 90.
        let t0 = Instant::now();
        let mut r = rx(false);
        let mut j: f64 = 0.0;
        let mut last: Option<i64> = None;
        for i in 0..50u32 {
            let off = if i % 2 == 0 { 0 } else { 1 };
            let now = t0 + Duration::from_millis(u64::from(i) * 20 + off);
            r.handle_rtp(now, SeqNo(i as u16), i * 1800, 100, false);
            let transit = (i64::from(i) * 20 + off as i64) * 90 - i64::from(i) * 1800;
            if let Some(l) = last {
                j += ((transit - l).abs() as f64 - j) / 16.0;
            }
            last = Some(transit);
        }
        let got = f64::from(r.stats().jitter);
        assert!((got - j).abs() <= 1.0, "jitter {got} vs float {j}");
        assert!(got > 80.0);
    }

    #[test]
    fn lsr_dlsr() {
        let t = Instant::now();
        let mut r = rx(false);
        r.handle_rtp(t, SeqNo(1), 0, 10, false);
        let sr = SenderReport {
            ssrc: Ssrc(1),
            ntp_time: NtpTime(0x1234_5678_9ABC_DEF0),
            rtp_time: 777,
            ..Default::default()
        };
        r.handle_sender_report(t, &sr);
        let b = r.report_block(t + Duration::from_millis(500)).unwrap();
        assert_eq!(b.last_sr, 0x5678_9ABC);
        assert_eq!(b.delay_since_last_sr, 0x8000);
        assert_eq!(r.sender_clock(), Some((sr.ntp_time, 777)));
    }

    #[test]
    fn nack_retries_until_limit() {
        let t0 = Instant::now();
        let mut r = rx(true);
        r.set_rtt(Duration::from_millis(50));
        r.handle_rtp(t0, SeqNo(1), 0, 10, false);
        r.handle_rtp(t0, SeqNo(3), 0, 10, false);
        let mut t = t0;
        let mut sent = 0;
        for _ in 0..20 {
            if let Some(n) = r.poll_nack(t) {
                assert_eq!(n.lost().collect::<Vec<_>>(), vec![SeqNo(2)]);
                sent += 1;
            }
            t += Duration::from_millis(50);
        }
        assert_eq!(sent, 10);
        assert_eq!(r.stats().nack_give_ups, 1);
        assert_eq!(r.poll_timeout(), None);
    }

    #[test]
    fn nack_stops_when_repaired_and_overflow_asks_keyframe() {
        let t = Instant::now();
        let mut r = rx(true);
        r.handle_rtp(t, SeqNo(1), 0, 10, false);
        r.handle_rtp(t, SeqNo(4), 0, 10, false);
        assert!(r.poll_nack(t).is_some());
        r.handle_rtp(t, SeqNo(2), 0, 10, true);
        r.handle_rtp(t, SeqNo(3), 0, 10, true);
        assert_eq!(r.stats().packets_repaired, 2);
        assert!(r.poll_nack(t + Duration::from_secs(1)).is_none());
        r.handle_rtp(t, SeqNo(3000), 0, 10, false);
        assert!(r.take_keyframe_request());
        assert!(!r.take_keyframe_request());
        assert!(r.poll_nack(t).is_none());
    }

    #[test]
    fn xr_rtt() {
        let t = Instant::now();
        let mut r = rx(false);
        let ntp = NtpTime(0xAAAA_BBBB_CCCC_DDDD);
        let XrBlock::ReceiverReferenceTime { ntp_time } = r.rrtr(t, ntp) else {
            panic!()
        };
        let mut resp = DlrrResponder::default();
        resp.handle_rrtr(t + Duration::from_millis(20), Ssrc(2), ntp_time);
        let items = resp.dlrr(t + Duration::from_millis(70));
        assert_eq!(items.len(), 1);
        let rtt = r
            .handle_dlrr(t + Duration::from_millis(90), &items[0])
            .unwrap();
        // 90 ms round trip minus 50 ms held: 40 ms (within the 1/65536 s rounding).
        assert!(
            rtt.abs_diff(Duration::from_millis(40)) < Duration::from_micros(50),
            "{rtt:?}"
        );
    }
}
