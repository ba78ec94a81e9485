//! RTCP of the media engine: sender and receiver reports with SDES (RFC 3550 §6), NACK,
//! PLI and FIR (RFC 4585, RFC 5104), transport-cc feedback; and what the peer's RTCP asks.

use super::KeyframeRequestKind;
use crate::event::Event;
use crate::peer_connection::PeerConnection;
use crate::transceiver::TransceiverId;
use oxrtc_rtp::rtcp::{
    Fir, FirEntry, Pli, ReceiverReport, ReportBlock, RtcpPacket, SourceDescription,
};
use oxrtc_rtp::Ssrc;
use std::time::Instant;

/// Most report blocks in one SR or RR (the 5-bit count).
const MAX_BLOCKS: usize = 31;

impl PeerConnection {
    /// The periodic reports: per transceiver an SR for each sending encoding (the first
    /// carrying report blocks of what it receives), or an RR when it only receives; each
    /// compound with an SDES CNAME.
    pub(crate) fn media_send_reports(&mut self, now: Instant) {
        let ntp = self.media.ntp(now);
        let cname = self.media.cname.clone();
        let ids: Vec<TransceiverId> = self.transceivers.iter().map(|t| t.id).collect();
        let mut out: Vec<Vec<u8>> = Vec::new();
        for id in ids {
            let sending = self.media_can_send(id);
            let mut blocks: Vec<ReportBlock> = Vec::new();
            if let Some(r) = self.media.receivers.get_mut(&id) {
                if r.setup.is_some() {
                    for s in &mut r.streams {
                        if let Some(b) = s.rs.report_block(now) {
                            blocks.push(b);
                        }
                    }
                }
            }
            blocks.truncate(MAX_BLOCKS);
            let Some(sender) = self.media.senders.get_mut(&id) else {
                continue;
            };
            let mut packets = Vec::new();
            let first_ssrc = sender.encodings.first().map_or(0, |e| e.ssrc);
            if sending && sender.setup.is_some() {
                for e in &mut sender.encodings {
                    let Some(stream) = &mut e.stream else {
                        continue;
                    };
                    if !e.negotiated || stream.stats().packets_sent == 0 {
                        continue;
                    }
                    let mut sr = stream.sender_report(now, ntp);
                    sr.reports = std::mem::take(&mut blocks);
                    packets.push(RtcpPacket::SenderReport(sr));
                }
            }
            if packets.is_empty() {
                if blocks.is_empty() {
                    continue;
                }
                packets.push(RtcpPacket::ReceiverReport(ReceiverReport {
                    ssrc: Ssrc(first_ssrc),
                    reports: blocks,
                    profile_extensions: Vec::new(),
                }));
            }
            packets.push(RtcpPacket::SourceDescription(SourceDescription::cname(
                Ssrc(first_ssrc),
                &cname,
            )));
            let mut buf = Vec::with_capacity(256);
            for p in &packets {
                if p.write(&mut buf).is_err() {
                    buf.clear();
                    break;
                }
            }
            if !buf.is_empty() {
                out.push(buf);
            }
        }
        for p in out {
            self.media_transmit(p, true);
        }
    }

    /// Feedback due now: NACKs for missing packets, PLI/FIR for streams that need a key
    /// frame, transport-cc feedback (reduced-size RTCP, RFC 5506).
    pub(crate) fn media_flush_feedback(&mut self, now: Instant) {
        let mut out: Vec<RtcpPacket> = Vec::new();
        let ids: Vec<TransceiverId> = self.media.receivers.keys().copied().collect();
        for id in ids {
            let local = self
                .media
                .senders
                .get(&id)
                .and_then(|s| s.encodings.first())
                .map_or(0, |e| e.ssrc);
            let Some(r) = self.media.receivers.get_mut(&id) else {
                continue;
            };
            let Some(setup) = r.setup.clone() else {
                continue;
            };
            for i in 0..r.streams.len() {
                if let Some(s) = r.streams.get_mut(i) {
                    if let Some(nack) = s.rs.poll_nack(now) {
                        s.counters.nack_count += 1;
                        out.push(RtcpPacket::Nack(nack));
                    }
                }
                if (setup.pli || setup.fir) && r.keyframe_request_due(i, now) {
                    if let Some(s) = r.streams.get_mut(i) {
                        out.push(keyframe_request(&setup, local, s));
                    }
                }
            }
        }
        let sender = self.media.local_ssrcs.first().copied().unwrap_or(1);
        let media = self.media.twcc_media_ssrc;
        while let Some(fb) = self
            .media
            .twcc
            .poll_feedback(now, Ssrc(sender), Ssrc(media))
        {
            out.push(RtcpPacket::TransportLayerCc(fb));
        }
        for p in out {
            let mut buf = Vec::with_capacity(64);
            if p.write(&mut buf).is_ok() {
                self.media_transmit(buf, true);
            }
        }
    }

    /// Asks the sender of `ssrc` on transceiver `id` for a key frame (PLI, or FIR when only
    /// that was negotiated).
    pub(crate) fn media_request_keyframe(&mut self, id: TransceiverId, rid: Option<&str>) -> bool {
        let Some(r) = self.media.receivers.get_mut(&id) else {
            return false;
        };
        let mut any = false;
        for s in &mut r.streams {
            if rid.is_none() || s.rid.as_deref() == rid {
                s.keyframe_wanted = true;
                any = true;
            }
        }
        if any {
            let now = self.now;
            self.media_flush_feedback(now);
        }
        any
    }

    /// Takes a decrypted RTCP compound packet from the peer.
    pub(crate) fn media_rtcp_receive(&mut self, now: Instant, buf: &[u8]) {
        let packets = match RtcpPacket::parse_compound(buf) {
            Ok(p) => p,
            Err(_) => {
                self.media.counters.malformed += 1;
                return;
            }
        };
        for p in packets {
            match p {
                RtcpPacket::SenderReport(sr) => {
                    self.media_sender_report(now, &sr);
                    for b in &sr.reports {
                        self.media_report_block(now, b);
                    }
                }
                RtcpPacket::ReceiverReport(rr) => {
                    for b in &rr.reports {
                        self.media_report_block(now, b);
                    }
                }
                RtcpPacket::Nack(n) => {
                    if let Some((id, i)) = self.media_sender_of(n.media_ssrc.0) {
                        self.media_retransmit(now, id, i, &n);
                    }
                }
                RtcpPacket::Pli(p) => {
                    self.media_keyframe_requested(p.media_ssrc.0, KeyframeRequestKind::Pli)
                }
                RtcpPacket::Fir(f) => {
                    for e in &f.entries {
                        let Some((id, i)) = self.media_sender_of(e.ssrc.0) else {
                            continue;
                        };
                        let fresh = self
                            .media
                            .senders
                            .get_mut(&id)
                            .and_then(|s| s.encodings.get_mut(i))
                            .is_some_and(|enc| {
                                let from = f.sender_ssrc.0;
                                match enc.fir_seen.iter_mut().find(|(s, _)| *s == from) {
                                    Some((_, seq)) if *seq == e.seq_nr => false,
                                    Some((_, seq)) => {
                                        *seq = e.seq_nr;
                                        true
                                    }
                                    None => {
                                        if enc.fir_seen.len() < 8 {
                                            enc.fir_seen.push((from, e.seq_nr));
                                        }
                                        true
                                    }
                                }
                            });
                        if fresh {
                            self.media_keyframe_requested(e.ssrc.0, KeyframeRequestKind::Fir);
                        }
                    }
                }
                RtcpPacket::Remb(r) => self.media.remb_bitrate = Some(r.bitrate()),
                RtcpPacket::TransportLayerCc(_) => self.media.counters.twcc_feedback_received += 1,
                _ => {}
            }
        }
    }

    /// Our sender encoding with this media or RTX SSRC.
    fn media_sender_of(&self, ssrc: u32) -> Option<(TransceiverId, usize)> {
        self.media
            .senders
            .iter()
            .find_map(|(id, s)| s.by_ssrc(ssrc).map(|i| (*id, i)))
    }

    fn media_keyframe_requested(&mut self, ssrc: u32, kind: KeyframeRequestKind) {
        let Some((id, i)) = self.media_sender_of(ssrc) else {
            return;
        };
        let Some(e) = self
            .media
            .senders
            .get_mut(&id)
            .and_then(|s| s.encodings.get_mut(i))
        else {
            return;
        };
        match kind {
            KeyframeRequestKind::Pli => e.counters.pli_received += 1,
            KeyframeRequestKind::Fir => e.counters.fir_received += 1,
        }
        let rid = e.params.rid.clone();
        self.events.push_back(Event::KeyframeRequest {
            transceiver: id,
            rid,
            kind,
        });
    }

    fn media_sender_report(&mut self, now: Instant, sr: &oxrtc_rtp::rtcp::SenderReport) {
        for r in self.media.receivers.values_mut() {
            if let Some(s) = r.streams.iter_mut().find(|s| s.ssrc == sr.ssrc.0) {
                s.rs.handle_sender_report(now, sr);
                let n = s.counters.remote_sent.map_or(0, |x| x.3) + 1;
                s.counters.remote_sent = Some((sr.packet_count, sr.octet_count, sr.ntp_time, n));
                return;
            }
        }
    }

    fn media_report_block(&mut self, now: Instant, b: &ReportBlock) {
        let Some((id, i)) = self.media_sender_of(b.ssrc.0) else {
            return;
        };
        let mut rtt = None;
        if let Some(e) = self
            .media
            .senders
            .get_mut(&id)
            .and_then(|s| s.encodings.get_mut(i))
        {
            e.counters.remote_reports += 1;
            if let Some(stream) = &mut e.stream {
                rtt = stream.handle_report_block(now, b);
            }
            if let Some(r) = rtt {
                e.counters.rtt_total += r.as_secs_f64();
                e.counters.rtt_measurements += 1;
            }
        }
        // The same path carries what we receive: pace NACK retries by the RTT.
        if let Some(rtt) = rtt {
            for r in self.media.receivers.values_mut() {
                for s in &mut r.streams {
                    s.rs.set_rtt(rtt);
                }
            }
        }
    }
}

/// A PLI, or a FIR when only FIR was negotiated.
fn keyframe_request(
    setup: &super::engine::RecvSetup,
    local: u32,
    s: &mut super::recv::RecvStream,
) -> RtcpPacket {
    if setup.pli {
        s.counters.pli_count += 1;
        RtcpPacket::Pli(Pli {
            sender_ssrc: Ssrc(local),
            media_ssrc: Ssrc(s.ssrc),
        })
    } else {
        s.counters.fir_count += 1;
        s.fir_seq = s.fir_seq.wrapping_add(1);
        RtcpPacket::Fir(Fir {
            sender_ssrc: Ssrc(local),
            media_ssrc: Ssrc(0),
            entries: vec![FirEntry {
                ssrc: Ssrc(s.ssrc),
                seq_nr: s.fir_seq,
            }],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::MediaStreamTrack;
    use crate::transceiver::MediaKind;
    use crate::{Config, PeerConnection};
    use oxrtc_rtp::rtcp::Remb;
    use rand_chacha::rand_core::SeedableRng;

    fn negotiated() -> (PeerConnection, TransceiverId) {
        let now = Instant::now();
        let mk = |s| {
            PeerConnection::with_rng(
                Config::default(),
                now,
                rand_chacha::ChaCha20Rng::seed_from_u64(s),
            )
            .unwrap()
        };
        let (mut a, mut b) = (mk(1), mk(2));
        let t = a
            .add_track(MediaStreamTrack::new(MediaKind::Video, "cam"), &[])
            .unwrap();
        a.set_local_description(None).unwrap();
        b.set_remote_description(a.local_description().unwrap())
            .unwrap();
        b.set_local_description(None).unwrap();
        a.set_remote_description(b.local_description().unwrap())
            .unwrap();
        while a.poll_event().is_some() {}
        (a, t)
    }

    fn wire(packets: &[RtcpPacket]) -> Vec<u8> {
        let mut buf = Vec::new();
        for p in packets {
            p.write(&mut buf).unwrap();
        }
        buf
    }

    #[test]
    fn remb_pli_and_fir_are_understood() {
        let (mut a, t) = negotiated();
        let now = a.now;
        let ssrc = a.sender(t).unwrap().ssrcs()[0].0;
        let peer = Ssrc(0x5150);
        let remb = RtcpPacket::Remb(Remb::new(peer, 1_500_000, vec![Ssrc(ssrc)]));
        a.media_rtcp_receive(now, &wire(&[remb]));
        let got = a.media.remb_bitrate.unwrap();
        assert!((1_400_000..=1_500_000).contains(&got), "{got}");
        // A PLI, then the same FIR twice (one request), then a new FIR sequence number.
        let pli = RtcpPacket::Pli(Pli {
            sender_ssrc: peer,
            media_ssrc: Ssrc(ssrc),
        });
        let fir = |seq_nr| {
            RtcpPacket::Fir(Fir {
                sender_ssrc: peer,
                media_ssrc: Ssrc(0),
                entries: vec![FirEntry {
                    ssrc: Ssrc(ssrc),
                    seq_nr,
                }],
            })
        };
        a.media_rtcp_receive(now, &wire(&[pli, fir(1)]));
        a.media_rtcp_receive(now, &wire(&[fir(1)]));
        a.media_rtcp_receive(now, &wire(&[fir(2)]));
        // About an SSRC that is not ours: ignored.
        a.media_rtcp_receive(
            now,
            &wire(&[RtcpPacket::Pli(Pli {
                sender_ssrc: peer,
                media_ssrc: Ssrc(ssrc ^ 1),
            })]),
        );
        let kinds: Vec<KeyframeRequestKind> = std::iter::from_fn(|| a.poll_event())
            .filter_map(|e| match e {
                Event::KeyframeRequest {
                    transceiver, kind, ..
                } if transceiver == t => Some(kind),
                _ => None,
            })
            .collect();
        assert_eq!(
            kinds,
            [
                KeyframeRequestKind::Pli,
                KeyframeRequestKind::Fir,
                KeyframeRequestKind::Fir
            ]
        );
        let e = &a.media.senders[&t].encodings[0].counters;
        assert_eq!((e.pli_received, e.fir_received), (1, 2));
        // Garbage is counted, not fatal.
        a.media_rtcp_receive(now, &[0x80, 200, 0, 9, 1, 2]);
        assert_eq!(a.media.counters.malformed, 1);
    }
}
