//! Transport-wide congestion control feedback generation: the receive side of the delay-based
//! bandwidth estimation Chromium runs (draft-holmer-rmcat-transport-wide-cc-extensions-01).
//!
//! Every packet that carries the transport-wide sequence number extension (on any SSRC of the
//! transport, padding and RTX probes included) is recorded with its arrival time; every
//! feedback interval the arrivals not yet reported go back to the sender as one or more
//! [`TransportLayerCc`] packets (RTPFB FMT 15), which its estimator turns into a send rate.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::rtcp::{TransportLayerCc, DELTA_UNIT_US, REFERENCE_TIME_UNIT_US};
use crate::types::{SeqNo, SeqNoUnwrapper, Ssrc};

/// Settings of a [`TransportFeedbackGenerator`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedbackConfig {
    /// How often feedback is sent while packets arrive. Default 100 ms (libwebrtc's
    /// default send interval).
    pub interval: Duration,
    /// Most packets (received or not) one feedback packet describes; more arrivals are
    /// split over several feedback packets. Default 1000.
    pub max_packets_per_feedback: usize,
    /// Most arrivals held; beyond it the oldest unreported ones are dropped (bounds memory
    /// when feedback cannot be sent). Default 10 000.
    pub max_pending: usize,
}

impl Default for FeedbackConfig {
    fn default() -> Self {
        FeedbackConfig {
            interval: Duration::from_millis(100),
            max_packets_per_feedback: 1000,
            max_pending: 10_000,
        }
    }
}

/// Counters of a [`TransportFeedbackGenerator`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeedbackStats {
    /// Arrivals recorded.
    pub packets_recorded: u64,
    /// Arrivals ignored: duplicates, or later than the feedback that reported them lost.
    pub packets_late: u64,
    /// Arrivals dropped unreported because too many were pending.
    pub packets_dropped: u64,
    /// Feedback packets produced.
    pub feedbacks: u64,
}

/// Records transport-wide sequence numbers with their arrival times and produces the
/// transport-cc feedback for them.
///
/// Call [`record`](Self::record) for every arriving packet with the extension, then
/// [`poll_feedback`](Self::poll_feedback) until `None` whenever
/// [`poll_timeout`](Self::poll_timeout) comes due.
///
/// ```
/// use std::time::{Duration, Instant};
/// use oxrtc_rtp::transport_cc::{FeedbackConfig, TransportFeedbackGenerator};
/// use oxrtc_rtp::Ssrc;
///
/// let t0 = Instant::now();
/// let mut g = TransportFeedbackGenerator::new(FeedbackConfig::default());
/// g.record(t0, 10);
/// g.record(t0 + Duration::from_millis(5), 12); // 11 was lost
/// let due = g.poll_timeout().expect("feedback pending");
/// let fb = g.poll_feedback(due, Ssrc(1), Ssrc(2)).expect("feedback");
/// assert_eq!((fb.base_sequence_number, fb.packet_status_count), (10, 3));
/// let arrived: Vec<_> = fb.arrivals_us().map(|(seq, t)| (seq, t.is_some())).collect();
/// assert_eq!(arrived, [(10, true), (11, false), (12, true)]);
/// assert!(g.poll_feedback(due, Ssrc(1), Ssrc(2)).is_none());
/// ```
#[derive(Debug, Clone)]
pub struct TransportFeedbackGenerator {
    config: FeedbackConfig,
    unwrapper: SeqNoUnwrapper,
    arrivals: BTreeMap<u64, Instant>,
    /// The first sequence number the next feedback reports.
    next_seq: Option<u64>,
    /// Time base of the reference times.
    epoch: Option<Instant>,
    fb_pkt_count: u8,
    /// When the pending arrivals are due to be reported.
    due: Option<Instant>,
    stats: FeedbackStats,
}

impl TransportFeedbackGenerator {
    /// A generator that has recorded nothing.
    #[must_use]
    pub fn new(config: FeedbackConfig) -> Self {
        TransportFeedbackGenerator {
            config,
            unwrapper: SeqNoUnwrapper::new(),
            arrivals: BTreeMap::new(),
            next_seq: None,
            epoch: None,
            fb_pkt_count: 0,
            due: None,
            stats: FeedbackStats::default(),
        }
    }

    /// Counters.
    #[must_use]
    pub fn stats(&self) -> FeedbackStats {
        self.stats
    }

    /// Records the arrival at `now` of the packet with transport-wide sequence number `seq`.
    pub fn record(&mut self, now: Instant, seq: u16) {
        let Some(ext) = self.unwrapper.unwrap(SeqNo(seq)) else {
            self.stats.packets_late += 1;
            return;
        };
        let ext = ext.0;
        if self.next_seq.is_some_and(|n| ext < n) || self.arrivals.contains_key(&ext) {
            self.stats.packets_late += 1;
            return;
        }
        self.epoch.get_or_insert(now);
        self.arrivals.insert(ext, now);
        self.stats.packets_recorded += 1;
        if self.arrivals.len() > self.config.max_pending.max(1) {
            if let Some((first, _)) = self.arrivals.pop_first() {
                self.stats.packets_dropped += 1;
                self.next_seq = Some(first + 1);
            }
        }
        if self.due.is_none() {
            self.due = Some(now + self.config.interval);
        }
    }

    /// When [`poll_feedback`](Self::poll_feedback) has something to send.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.due
    }

    /// The next feedback packet if arrivals are pending and due at `now`; call again until
    /// `None` (a long or sparse run of arrivals takes several packets).
    pub fn poll_feedback(
        &mut self,
        now: Instant,
        sender_ssrc: Ssrc,
        media_ssrc: Ssrc,
    ) -> Option<TransportLayerCc> {
        if self.due.is_none_or(|d| now < d) {
            return None;
        }
        let Some((&first, &first_at)) = self.arrivals.first_key_value() else {
            self.due = None;
            return None;
        };
        let epoch = self.epoch.unwrap_or(first_at);
        // A run starts at the first packet not yet reported (losses before the first
        // arrival included) and at most this many sequence numbers long.
        let start = self.next_seq.unwrap_or(first).min(first);
        let max_len = self.config.max_packets_per_feedback.clamp(1, 0xFFFF) as u64;
        let start = start.max(first.saturating_sub(max_len - 1));
        let us = |t: Instant| t.saturating_duration_since(epoch).as_micros() as i64;
        let ref_ticks = us(first_at).div_euclid(REFERENCE_TIME_UNIT_US);
        let mut prev_us = ref_ticks * REFERENCE_TIME_UNIT_US;
        let mut deltas: Vec<Option<i16>> = Vec::new();
        let mut end = start;
        for seq in start..start + max_len {
            let Some(at) = self.arrivals.get(&seq) else {
                if self.arrivals.range(seq..).next().is_none() {
                    break; // nothing received past here
                }
                deltas.push(None);
                end = seq + 1;
                continue;
            };
            let delta = us(*at) - prev_us;
            let ticks = (delta as f64 / DELTA_UNIT_US as f64).round() as i64;
            let Ok(ticks) = i16::try_from(ticks) else {
                break; // does not fit: this packet opens the next feedback
            };
            prev_us += i64::from(ticks) * DELTA_UNIT_US;
            deltas.push(Some(ticks));
            end = seq + 1;
        }
        // Trailing losses are reported by the next feedback, once a later arrival says so.
        while deltas.last() == Some(&None) {
            deltas.pop();
            end -= 1;
        }
        // The reference time is a 24-bit signed field: send its low 24 bits.
        let r = (ref_ticks & 0xFF_FFFF) as i32;
        let reference_time = if r >= 0x80_0000 { r - 0x100_0000 } else { r };
        let fb = TransportLayerCc::from_deltas(
            sender_ssrc,
            media_ssrc,
            start as u16,
            reference_time,
            self.fb_pkt_count,
            &deltas,
        )
        .ok()?;
        self.fb_pkt_count = self.fb_pkt_count.wrapping_add(1);
        self.stats.feedbacks += 1;
        self.arrivals = self.arrivals.split_off(&end);
        self.next_seq = Some(end);
        if self.arrivals.is_empty() {
            self.due = None;
        }
        Some(fb)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtcp::RtcpPacket;

    fn drain(g: &mut TransportFeedbackGenerator, now: Instant) -> Vec<TransportLayerCc> {
        std::iter::from_fn(|| g.poll_feedback(now, Ssrc(1), Ssrc(2))).collect()
    }

    #[test]
    fn arrivals_come_back_at_their_times() {
        let t0 = Instant::now();
        let mut g = TransportFeedbackGenerator::new(FeedbackConfig::default());
        let times = [0u64, 1, 2, 20, 21, 70];
        for (i, ms) in times.iter().enumerate() {
            if i == 3 {
                continue; // lost
            }
            g.record(
                t0 + Duration::from_millis(*ms),
                65_533u16.wrapping_add(i as u16),
            );
        }
        assert!(
            g.poll_feedback(t0, Ssrc(1), Ssrc(2)).is_none(),
            "not due yet"
        );
        let due = g.poll_timeout().unwrap();
        assert_eq!(due, t0 + Duration::from_millis(100));
        let fbs = drain(&mut g, due);
        assert_eq!(fbs.len(), 1);
        let fb = &fbs[0];
        assert_eq!(fb.base_sequence_number, 65_533);
        assert_eq!(fb.packet_status_count, 6);
        // Written and parsed back as the sender sees it.
        let mut wire = Vec::new();
        RtcpPacket::TransportLayerCc(fb.clone())
            .write(&mut wire)
            .unwrap();
        let back = match &RtcpPacket::parse_compound(&wire).unwrap()[0] {
            RtcpPacket::TransportLayerCc(f) => f.clone(),
            other => panic!("{other:?}"),
        };
        let arrivals: Vec<(u16, Option<i64>)> = back.arrivals_us().collect();
        let base = arrivals[0].1.unwrap();
        let rel: Vec<Option<i64>> = arrivals.iter().map(|(_, t)| t.map(|t| t - base)).collect();
        assert_eq!(
            rel,
            [
                Some(0),
                Some(1000),
                Some(2000),
                None,
                Some(21_000),
                Some(70_000)
            ]
        );
        assert_eq!(arrivals[5].0, 65_533u16.wrapping_add(5));
        assert!(g.poll_timeout().is_none());
        // The next feedback continues where this one stopped and counts up.
        g.record(due, 65_533u16.wrapping_add(7));
        let next = drain(&mut g, due + Duration::from_millis(100));
        assert_eq!(next[0].base_sequence_number, 65_533u16.wrapping_add(6));
        assert_eq!(next[0].packet_status_count, 2);
        assert_eq!(next[0].fb_pkt_count, 1);
    }

    #[test]
    fn late_duplicate_and_reordered_arrivals() {
        let t0 = Instant::now();
        let mut g = TransportFeedbackGenerator::new(FeedbackConfig::default());
        g.record(t0, 5);
        g.record(t0 + Duration::from_millis(1), 7);
        g.record(t0 + Duration::from_millis(2), 6); // reordered: a negative delta is fine
        g.record(t0 + Duration::from_millis(3), 6); // duplicate
        assert_eq!(g.stats().packets_late, 1);
        let fb = drain(&mut g, t0 + Duration::from_millis(200)).remove(0);
        let got: Vec<_> = fb.arrivals_us().map(|(s, t)| (s, t.is_some())).collect();
        assert_eq!(got, [(5, true), (6, true), (7, true)]);
        // Already reported: a straggler is ignored.
        g.record(t0 + Duration::from_millis(300), 4);
        assert_eq!(g.stats().packets_late, 2);
        assert!(g.poll_timeout().is_none());
    }

    #[test]
    fn long_gaps_and_runs_split_into_several_packets() {
        let t0 = Instant::now();
        let cfg = FeedbackConfig {
            max_packets_per_feedback: 50,
            ..FeedbackConfig::default()
        };
        let mut g = TransportFeedbackGenerator::new(cfg);
        for s in 0..120u16 {
            g.record(t0 + Duration::from_micros(u64::from(s) * 300), s);
        }
        // 10 s later: the delta does not fit 16 bits of 250 µs ticks.
        g.record(t0 + Duration::from_secs(10), 120);
        let fbs = drain(&mut g, t0 + Duration::from_secs(11));
        let counts: Vec<u16> = fbs.iter().map(|f| f.packet_status_count).collect();
        assert_eq!(counts, [50, 50, 20, 1]);
        let firsts: Vec<u16> = fbs.iter().map(|f| f.base_sequence_number).collect();
        assert_eq!(firsts, [0, 50, 100, 120]);
        let counters: Vec<u8> = fbs.iter().map(|f| f.fb_pkt_count).collect();
        assert_eq!(counters, [0, 1, 2, 3]);
    }

    #[test]
    fn pending_arrivals_are_bounded() {
        let t0 = Instant::now();
        let cfg = FeedbackConfig {
            max_pending: 100,
            ..FeedbackConfig::default()
        };
        let mut g = TransportFeedbackGenerator::new(cfg);
        for s in 0..1000u16 {
            g.record(t0, s);
        }
        assert_eq!(g.stats().packets_dropped, 900);
        let fbs = drain(&mut g, t0 + Duration::from_secs(1));
        assert_eq!(fbs[0].base_sequence_number, 900);
        let total: u32 = fbs.iter().map(|f| u32::from(f.packet_status_count)).sum();
        assert_eq!(total, 100);
    }
}
