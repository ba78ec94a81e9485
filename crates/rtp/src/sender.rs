//! Send-side state of one RTP stream: sequence numbering, packet history, NACK response with
//! RTX (RFC 4588) or plain retransmission, sender reports with the NTP/RTP timestamp mapping
//! (RFC 3550 section 6.4.1), and RTT from report blocks.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::error::Result;
use crate::rtcp::{Nack, ReportBlock, SenderReport};
use crate::rtp::{RtpHeader, RtpPacket};
use crate::rtx;
use crate::types::{compact_to_duration, NtpTime, SeqNo, Ssrc};

/// The RTX stream paired with a media stream (RFC 4588, `a=fmtp:<rtx pt> apt=<pt>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtxConfig {
    /// SSRC of the RTX stream.
    pub ssrc: Ssrc,
    /// RTX payload type.
    pub payload_type: u8,
}

/// Settings of a [`SendStream`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendConfig {
    /// The media SSRC.
    pub ssrc: Ssrc,
    /// RTP clock rate, Hz.
    pub clock_rate: u32,
    /// Retransmit on the RTX stream; `None` resends the original packets unchanged.
    pub rtx: Option<RtxConfig>,
    /// Packets kept for retransmission. Default 1024 (≈ 1 s of 8 Mb/s video).
    pub history_packets: usize,
    /// Packets older than this are not resent. Default 1 s.
    pub history_max_age: Duration,
}

impl SendConfig {
    /// Defaults for `ssrc` at `clock_rate`, without RTX.
    #[must_use]
    pub fn new(ssrc: Ssrc, clock_rate: u32) -> Self {
        SendConfig {
            ssrc,
            clock_rate,
            rtx: None,
            history_packets: 1024,
            history_max_age: Duration::from_secs(1),
        }
    }
}

#[derive(Debug, Clone)]
struct Sent {
    seq: SeqNo,
    sent_at: Instant,
    last_resent: Option<Instant>,
    packet: Vec<u8>,
}

/// Packets recently sent, by sequence number, for answering NACKs.
#[derive(Debug, Clone)]
pub struct PacketHistory {
    slots: Vec<Option<Sent>>,
    max_age: Duration,
}

impl PacketHistory {
    /// A history of `capacity` packets (at least 1) kept at most `max_age`.
    #[must_use]
    pub fn new(capacity: usize, max_age: Duration) -> Self {
        PacketHistory {
            slots: vec![None; capacity.clamp(1, 1 << 15)],
            max_age,
        }
    }

    fn slot(&self, seq: SeqNo) -> usize {
        usize::from(seq.0) % self.slots.len()
    }

    /// Stores `packet` (a whole RTP packet) sent at `now`.
    pub fn insert(&mut self, now: Instant, seq: SeqNo, packet: Vec<u8>) {
        let i = self.slot(seq);
        self.slots[i] = Some(Sent {
            seq,
            sent_at: now,
            last_resent: None,
            packet,
        });
    }

    /// The stored packet with `seq`, if still held and not too old at `now`.
    #[must_use]
    pub fn get(&self, now: Instant, seq: SeqNo) -> Option<&[u8]> {
        self.entry(now, seq).map(|s| s.packet.as_slice())
    }

    fn entry(&self, now: Instant, seq: SeqNo) -> Option<&Sent> {
        self.slots[self.slot(seq)]
            .as_ref()
            .filter(|s| s.seq == seq && now.saturating_duration_since(s.sent_at) <= self.max_age)
    }

    /// Packets held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.slots.iter().flatten().count()
    }

    /// True when nothing is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.slots.iter().all(Option::is_none)
    }
}

/// Statistics of a [`SendStream`] (the shape of `RTCOutboundRtpStreamStats`' RTP fields and
/// the remote-inbound report).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SenderStats {
    /// Media packets sent (not counting retransmissions).
    pub packets_sent: u64,
    /// Payload octets of those.
    pub bytes_sent: u64,
    /// Packets resent in answer to NACKs.
    pub retransmitted_packets: u64,
    /// Payload octets resent.
    pub retransmitted_bytes: u64,
    /// NACK packets received.
    pub nacks_received: u64,
    /// Requested packets no longer in the history.
    pub nack_misses: u64,
    /// Requests ignored because the packet was resent less than an RTT ago.
    pub nack_throttled: u64,
    /// Round-trip time from the last report block answering one of our SRs.
    pub rtt: Option<Duration>,
    /// Fraction lost the receiver reported last (/256).
    pub remote_fraction_lost: u8,
    /// Cumulative lost the receiver reported last.
    pub remote_packets_lost: i32,
    /// Jitter the receiver reported last, RTP units.
    pub remote_jitter: u32,
}

/// Send-side state of one RTP stream.
///
/// [`SendStream::send`] numbers and writes each packet and keeps it; answer every NACK for
/// this SSRC with [`SendStream::handle_nack`] and send what it returns; send
/// [`SendStream::sender_report`] periodically and feed back the report blocks about this
/// stream to [`SendStream::handle_report_block`].
///
/// ```
/// use std::time::Instant;
/// use oxrtc_rtp::rtcp::Nack;
/// use oxrtc_rtp::rtp::RtpHeader;
/// use oxrtc_rtp::sender::{RtxConfig, SendConfig, SendStream};
/// use oxrtc_rtp::{NtpTime, SeqNo, Ssrc};
///
/// let now = Instant::now();
/// let mut cfg = SendConfig::new(Ssrc(1), 90_000);
/// cfg.rtx = Some(RtxConfig { ssrc: Ssrc(2), payload_type: 97 });
/// let mut tx = SendStream::new(cfg, SeqNo(100), SeqNo(500));
/// let header = RtpHeader { payload_type: 96, timestamp: 3000, marker: true, ..Default::default() };
/// let packet = tx.send(now, header, b"frame")?;
/// let resend = tx.handle_nack(now, &Nack::from_lost(Ssrc(9), Ssrc(1), &[SeqNo(100)]))?;
/// assert_eq!(resend.len(), 1); // an RTX packet on SSRC 2 carrying OSN 100
/// let sr = tx.sender_report(now, NtpTime(0xE000_0000_0000_0000));
/// assert_eq!((sr.packet_count, sr.rtp_time), (1, 3000));
/// # Ok::<(), oxrtc_rtp::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct SendStream {
    config: SendConfig,
    next_seq: SeqNo,
    next_rtx_seq: SeqNo,
    history: PacketHistory,
    packet_count: u32,
    octet_count: u32,
    last_rtp: Option<(u32, Instant)>,
    srs_sent: VecDeque<(u32, Instant)>,
    stats: SenderStats,
}

impl SendStream {
    /// A stream whose first packets get `initial_seq` and `initial_rtx_seq` (RFC 3550 wants
    /// random starting values: pass them from your RNG).
    #[must_use]
    pub fn new(config: SendConfig, initial_seq: SeqNo, initial_rtx_seq: SeqNo) -> Self {
        SendStream {
            history: PacketHistory::new(config.history_packets, config.history_max_age),
            config,
            next_seq: initial_seq,
            next_rtx_seq: initial_rtx_seq,
            packet_count: 0,
            octet_count: 0,
            last_rtp: None,
            srs_sent: VecDeque::new(),
            stats: SenderStats::default(),
        }
    }

    /// The media SSRC.
    #[must_use]
    pub fn ssrc(&self) -> Ssrc {
        self.config.ssrc
    }

    /// Current statistics.
    #[must_use]
    pub fn stats(&self) -> SenderStats {
        self.stats
    }

    /// The packet history.
    #[must_use]
    pub fn history(&self) -> &PacketHistory {
        &self.history
    }

    /// The sequence number the next packet gets.
    #[must_use]
    pub fn next_seq(&self) -> SeqNo {
        self.next_seq
    }

    /// Writes one media packet: `header` with this stream's SSRC and next sequence number,
    /// then `payload`. The packet is kept for retransmission and counted for the SR.
    ///
    /// # Errors
    /// As [`RtpHeader::write`].
    pub fn send(&mut self, now: Instant, mut header: RtpHeader, payload: &[u8]) -> Result<Vec<u8>> {
        header.ssrc = self.config.ssrc;
        header.sequence_number = self.next_seq;
        let mut buf = Vec::with_capacity(header.encoded_len() + payload.len());
        header.write_packet(payload, 0, &mut buf)?;
        self.next_seq = self.next_seq.next();
        self.packet_count = self.packet_count.wrapping_add(1);
        self.octet_count = self.octet_count.wrapping_add(payload.len() as u32);
        self.stats.packets_sent += 1;
        self.stats.bytes_sent += payload.len() as u64;
        self.last_rtp = Some((header.timestamp, now));
        self.history
            .insert(now, header.sequence_number, buf.clone());
        Ok(buf)
    }

    /// Writes one media packet with the sequence number `header` already has (the rest as
    /// [`send`](Self::send)): for forwarding a stream whose numbering, gaps included, must
    /// survive (an SFU or a reflector maps the source's numbers with an offset). Later
    /// [`send`](Self::send) calls continue after the newest number sent.
    ///
    /// # Errors
    /// As [`RtpHeader::write`].
    pub fn send_numbered(
        &mut self,
        now: Instant,
        mut header: RtpHeader,
        payload: &[u8],
    ) -> Result<Vec<u8>> {
        let seq = header.sequence_number;
        header.ssrc = self.config.ssrc;
        let mut buf = Vec::with_capacity(header.encoded_len() + payload.len());
        header.write_packet(payload, 0, &mut buf)?;
        if seq == self.next_seq || seq.is_newer_than(self.next_seq) {
            self.next_seq = seq.next();
        }
        self.packet_count = self.packet_count.wrapping_add(1);
        self.octet_count = self.octet_count.wrapping_add(payload.len() as u32);
        self.stats.packets_sent += 1;
        self.stats.bytes_sent += payload.len() as u64;
        self.last_rtp = Some((header.timestamp, now));
        self.history.insert(now, seq, buf.clone());
        Ok(buf)
    }

    /// Answers a NACK: the packets to resend now, as RTX packets when RTX is configured,
    /// else the original packets. A packet is resent at most once per RTT (100 ms until an
    /// RTT is known); requests for packets no longer held are counted.
    ///
    /// # Errors
    /// As [`rtx::wrap`] (only for a corrupt history entry).
    pub fn handle_nack(&mut self, now: Instant, nack: &Nack) -> Result<Vec<Vec<u8>>> {
        self.stats.nacks_received += 1;
        let min_interval = self.stats.rtt.unwrap_or(Duration::from_millis(100));
        let mut out = Vec::new();
        for seq in nack.lost() {
            let Some(entry) = self.history.entry(now, seq) else {
                self.stats.nack_misses += 1;
                continue;
            };
            if entry
                .last_resent
                .is_some_and(|t| now.saturating_duration_since(t) < min_interval)
            {
                self.stats.nack_throttled += 1;
                continue;
            }
            let original = RtpPacket::new_checked(entry.packet.as_slice())?;
            let payload_len = original.payload().len() as u64;
            let packet = match self.config.rtx {
                Some(r) => {
                    let p = rtx::wrap(&original, r.ssrc, r.payload_type, self.next_rtx_seq)?;
                    self.next_rtx_seq = self.next_rtx_seq.next();
                    p
                }
                None => entry.packet.clone(),
            };
            let i = self.history.slot(seq);
            if let Some(e) = self.history.slots[i].as_mut() {
                e.last_resent = Some(now);
            }
            self.stats.retransmitted_packets += 1;
            self.stats.retransmitted_bytes += payload_len;
            out.push(packet);
        }
        Ok(out)
    }

    /// The RTP timestamp corresponding to `now`, extrapolated from the last packet sent.
    #[must_use]
    pub fn rtp_time_at(&self, now: Instant) -> u32 {
        match self.last_rtp {
            Some((ts, at)) => {
                let elapsed = now.saturating_duration_since(at);
                let ticks = elapsed.as_nanos() * u128::from(self.config.clock_rate) / 1_000_000_000;
                ts.wrapping_add(ticks as u32)
            }
            None => 0,
        }
    }

    /// A sender report for `now`, whose wall clock time the caller gives as `ntp` (this
    /// crate reads no clock). Report blocks for streams we receive are the caller's to add.
    pub fn sender_report(&mut self, now: Instant, ntp: NtpTime) -> SenderReport {
        if self.srs_sent.len() >= 16 {
            self.srs_sent.pop_front();
        }
        self.srs_sent.push_back((ntp.compact(), now));
        SenderReport {
            ssrc: self.config.ssrc,
            ntp_time: ntp,
            rtp_time: self.rtp_time_at(now),
            packet_count: self.packet_count,
            octet_count: self.octet_count,
            reports: Vec::new(),
            profile_extensions: Vec::new(),
        }
    }

    /// Takes a report block about this stream; returns the RTT when it answers one of our
    /// SRs (RFC 3550 section 6.4.1: arrival - LSR - DLSR).
    pub fn handle_report_block(&mut self, now: Instant, block: &ReportBlock) -> Option<Duration> {
        self.stats.remote_fraction_lost = block.fraction_lost;
        self.stats.remote_packets_lost = block.cumulative_lost;
        self.stats.remote_jitter = block.jitter;
        if block.last_sr == 0 {
            return None;
        }
        let &(_, sent) = self.srs_sent.iter().find(|(c, _)| *c == block.last_sr)?;
        let rtt = now
            .saturating_duration_since(sent)
            .saturating_sub(compact_to_duration(block.delay_since_last_sr));
        self.stats.rtt = Some(rtt);
        Some(rtt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_sends_keep_gaps_and_later_sends_continue() {
        let t = Instant::now();
        let mut tx = SendStream::new(SendConfig::new(Ssrc(1), 90_000), SeqNo(7), SeqNo(0));
        let h = |seq: u16| RtpHeader {
            sequence_number: SeqNo(seq),
            ..RtpHeader::default()
        };
        let a = tx.send_numbered(t, h(100), b"a").unwrap();
        let b = tx.send_numbered(t, h(103), b"b").unwrap(); // 101, 102 never came
        let late = tx.send_numbered(t, h(102), b"c").unwrap(); // reordered
        for (p, seq) in [(&a, 100), (&b, 103), (&late, 102)] {
            let p = RtpPacket::new_checked(&p[..]).unwrap();
            assert_eq!((p.sequence_number(), p.ssrc()), (SeqNo(seq), Ssrc(1)));
            assert!(tx.history().get(t, SeqNo(seq)).is_some());
        }
        assert_eq!(tx.next_seq(), SeqNo(104));
        let next = tx.send(t, RtpHeader::default(), b"d").unwrap();
        assert_eq!(
            RtpPacket::new_checked(&next[..]).unwrap().sequence_number(),
            SeqNo(104)
        );
        assert_eq!(tx.stats().packets_sent, 4);
    }

    #[test]
    fn history_wraps_and_ages() {
        let t = Instant::now();
        let mut h = PacketHistory::new(4, Duration::from_millis(100));
        for s in 0..6u16 {
            h.insert(t, SeqNo(s), vec![s as u8]);
        }
        assert!(h.get(t, SeqNo(1)).is_none());
        assert_eq!(h.get(t, SeqNo(5)), Some(&[5][..]));
        assert!(h.get(t + Duration::from_millis(101), SeqNo(5)).is_none());
        assert_eq!(h.len(), 4);
    }

    #[test]
    fn plain_retransmission_and_throttle() {
        let t = Instant::now();
        let mut tx = SendStream::new(SendConfig::new(Ssrc(1), 48_000), SeqNo(65_535), SeqNo(0));
        let a = tx.send(t, RtpHeader::default(), b"a").unwrap();
        let b = tx.send(t, RtpHeader::default(), b"b").unwrap();
        let p = RtpPacket::new_checked(&b[..]).unwrap();
        assert_eq!(p.sequence_number(), SeqNo(0));
        let nack = Nack::from_lost(Ssrc(9), Ssrc(1), &[SeqNo(65_535), SeqNo(0), SeqNo(7)]);
        let r = tx.handle_nack(t, &nack).unwrap();
        assert_eq!(r, vec![a.clone(), b]);
        assert_eq!(tx.stats().nack_misses, 1);
        // Again right away: throttled; after 100 ms: resent.
        assert!(tx.handle_nack(t, &nack).unwrap().is_empty());
        assert_eq!(tx.stats().nack_throttled, 2);
        assert_eq!(
            tx.handle_nack(t + Duration::from_millis(100), &nack)
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn rtx_wraps_with_own_sequence() {
        let t = Instant::now();
        let mut cfg = SendConfig::new(Ssrc(1), 90_000);
        cfg.rtx = Some(RtxConfig {
            ssrc: Ssrc(2),
            payload_type: 97,
        });
        let mut tx = SendStream::new(cfg, SeqNo(10), SeqNo(500));
        let h = RtpHeader {
            payload_type: 96,
            timestamp: 1234,
            marker: true,
            ..Default::default()
        };
        tx.send(t, h.clone(), b"xyz").unwrap();
        tx.send(t, h, b"uvw").unwrap();
        let r = tx
            .handle_nack(
                t,
                &Nack::from_lost(Ssrc(9), Ssrc(1), &[SeqNo(10), SeqNo(11)]),
            )
            .unwrap();
        let p = RtpPacket::new_checked(&r[1][..]).unwrap();
        assert_eq!(p.ssrc(), Ssrc(2));
        assert_eq!(p.payload_type(), 97);
        assert_eq!(p.sequence_number(), SeqNo(501));
        assert_eq!(p.payload(), b"\x00\x0buvw");
        assert!(p.marker());
        assert_eq!(tx.stats().retransmitted_bytes, 6);
    }

    #[test]
    fn sr_mapping_and_rtt() {
        let t = Instant::now();
        let mut tx = SendStream::new(SendConfig::new(Ssrc(1), 90_000), SeqNo(0), SeqNo(0));
        let h = RtpHeader {
            timestamp: 90_000,
            ..Default::default()
        };
        tx.send(t, h, &[0; 100]).unwrap();
        let ntp = NtpTime(0x0001_0002_0003_0004);
        let sr = tx.sender_report(t + Duration::from_millis(500), ntp);
        assert_eq!(sr.rtp_time, 90_000 + 45_000);
        assert_eq!((sr.packet_count, sr.octet_count), (1, 100));
        let block = ReportBlock {
            ssrc: Ssrc(1),
            fraction_lost: 5,
            last_sr: ntp.compact(),
            delay_since_last_sr: 0x4000, // 250 ms
            ..Default::default()
        };
        let rtt = tx
            .handle_report_block(t + Duration::from_millis(800), &block)
            .unwrap();
        assert!(rtt.abs_diff(Duration::from_millis(50)) < Duration::from_micros(50));
        assert_eq!(tx.stats().remote_fraction_lost, 5);
        let unknown = ReportBlock {
            last_sr: 99,
            ..block
        };
        assert!(tx.handle_report_block(t, &unknown).is_none());
    }
}
