//! The sending side of a transceiver: its encodings (simulcast layers), their RTP streams,
//! packetization of samples, rewriting of forwarded packets, retransmission.

use super::dtmf::DtmfSender;
use super::engine::SendSetup;
use super::{
    frame_is_keyframe, EncodedFrame, FrameTransform, MediaPacket, RtpEncodingParameters, Sample,
};
use crate::error::Error;
use crate::peer_connection::PeerConnection;
use crate::transceiver::{MediaKind, TransceiverId};
use oxrtc_rtp::codec::Packetizer;
use oxrtc_rtp::rtp::{
    AbsSendTime, AudioLevel, ExtensionElement, ExtensionKind, ExtensionValue, HeaderExtension,
    RtpHeader,
};
use oxrtc_rtp::sender::{RtxConfig, SendConfig, SendStream};
use oxrtc_rtp::{SeqNo, Ssrc};
use std::time::{Duration, Instant};

/// Largest RTP packet we send (before the SRTP tag): fits any path MTU of 1280 with IPv6,
/// UDP and TURN ChannelData headers.
pub(crate) const MAX_RTP_PACKET: usize = 1200;

/// How a forwarded stream's numbers map to ours.
#[derive(Debug, Clone, Copy)]
struct Rewrite {
    src_ssrc: u32,
    seq_offset: u16,
    ts_offset: u32,
}

/// Counters of one encoding beyond those of its [`SendStream`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct EncodingCounters {
    pub frames_sent: u64,
    pub keyframes_sent: u64,
    pub header_bytes_sent: u64,
    pub pli_received: u64,
    pub fir_received: u64,
    pub nack_received: u64,
    /// (fraction lost, cumulative lost, jitter, RTT) of the last report block about it.
    pub remote_reports: u64,
    pub rtt_total: f64,
    pub rtt_measurements: u64,
}

/// One encoding of a sender.
pub(crate) struct Encoding {
    pub params: RtpEncodingParameters,
    pub ssrc: u32,
    pub rtx_ssrc: u32,
    pub stream: Option<SendStream>,
    /// Whether the peer takes this layer.
    pub negotiated: bool,
    pub clock_rate: u32,
    initial_seq: u16,
    initial_rtx_seq: u16,
    rtx_pt: Option<u8>,
    ts_base: u32,
    /// Duration of the samples written so far: the next sample's timestamp.
    sample_time: Duration,
    packetizer: Option<(u8, Box<dyn Packetizer + Send>)>,
    rewrite: Option<Rewrite>,
    /// When the last packet went out, with its timestamp (a forwarded stream that changes
    /// source continues from here).
    last: Option<(Instant, u32)>,
    pub counters: EncodingCounters,
    /// The last FIR sequence number acted on, per requester.
    pub fir_seen: Vec<(u32, u8)>,
}

impl Encoding {
    fn new(params: RtpEncodingParameters, ssrc: u32, rtx_ssrc: u32, seeds: [u32; 3]) -> Self {
        Encoding {
            params,
            ssrc,
            rtx_ssrc,
            stream: None,
            negotiated: false,
            clock_rate: 90_000,
            initial_seq: (seeds[0] & 0x7FFF) as u16,
            initial_rtx_seq: (seeds[1] & 0x7FFF) as u16,
            rtx_pt: None,
            ts_base: seeds[2],
            sample_time: Duration::ZERO,
            packetizer: None,
            rewrite: None,
            last: None,
            counters: EncodingCounters::default(),
            fir_seen: Vec::new(),
        }
    }

    /// The RTP timestamp of the next sample.
    pub(crate) fn sample_timestamp(&self) -> u32 {
        let ticks = self.sample_time.as_nanos() * u128::from(self.clock_rate) / 1_000_000_000;
        self.ts_base.wrapping_add(ticks as u32)
    }

    /// The RTP timestamp that corresponds to `now` (for DTMF events).
    pub(crate) fn timestamp_at(&self, now: Instant) -> u32 {
        match &self.stream {
            Some(s) if s.stats().packets_sent > 0 => s.rtp_time_at(now),
            _ => self.sample_timestamp(),
        }
    }
}

/// The sending side of one transceiver.
pub(crate) struct SenderState {
    pub encodings: Vec<Encoding>,
    pub setup: Option<SendSetup>,
    pub transform: Option<Box<dyn FrameTransform>>,
    pub dtmf: DtmfSender,
    /// Samples and packets the application wrote (media-source stats).
    pub frames_written: u64,
}

impl SenderState {
    /// A sender with `encodings` (at least one), SSRCs drawn by `ssrc`.
    pub(crate) fn new(
        encodings: Vec<RtpEncodingParameters>,
        mut ssrc: impl FnMut() -> u32,
    ) -> Self {
        let encodings = if encodings.is_empty() {
            vec![RtpEncodingParameters::single()]
        } else {
            encodings
        };
        let encodings = encodings
            .into_iter()
            .map(|p| {
                let (s, r) = (ssrc(), ssrc());
                let seeds = [ssrc(), ssrc(), ssrc()];
                Encoding::new(p, s, r, seeds)
            })
            .collect();
        SenderState {
            encodings,
            setup: None,
            transform: None,
            dtmf: DtmfSender::default(),
            frames_written: 0,
        }
    }

    /// Whether the encodings are simulcast layers (they have rids).
    pub(crate) fn simulcast(&self) -> bool {
        self.encodings.iter().any(|e| e.params.rid.is_some())
    }

    /// Applies a new negotiation: streams are (re)created for the clock rate and RTX, with
    /// their numbering kept.
    pub(crate) fn negotiate(&mut self, _kind: MediaKind, setup: Option<SendSetup>) {
        if let Some(s) = &setup {
            let clock = s.codec.clock_rate;
            for (i, e) in self.encodings.iter_mut().enumerate() {
                e.negotiated = s.layers.iter().any(|l| match l {
                    Some(rid) => e.params.rid.as_deref() == Some(rid.as_str()),
                    None => i == 0,
                });
                let rtx = s.rtx_pt;
                let same = e.stream.is_some() && e.clock_rate == clock && e.rtx_pt == rtx;
                if !same {
                    let seq = e
                        .stream
                        .as_ref()
                        .map_or(SeqNo(e.initial_seq), SendStream::next_seq);
                    let mut cfg = SendConfig::new(Ssrc(e.ssrc), clock);
                    cfg.rtx = rtx.map(|pt| RtxConfig {
                        ssrc: Ssrc(e.rtx_ssrc),
                        payload_type: pt,
                    });
                    if e.clock_rate != clock {
                        e.sample_time = Duration::ZERO;
                        e.ts_base = e.ts_base.wrapping_add(e.initial_rtx_seq.into());
                        e.rewrite = None;
                    }
                    e.stream = Some(SendStream::new(cfg, seq, SeqNo(e.initial_rtx_seq)));
                    e.clock_rate = clock;
                    e.rtx_pt = rtx;
                }
                if e.packetizer.as_ref().map(|(pt, _)| *pt) != Some(s.codec.payload_type) {
                    e.packetizer = Some((s.codec.payload_type, s.kind.packetizer()));
                }
            }
        } else {
            for e in &mut self.encodings {
                e.negotiated = false;
            }
        }
        self.setup = setup;
    }

    /// The encoding a sample or packet with `rid` goes to.
    pub(crate) fn encoding_index(&self, rid: Option<&str>) -> Option<usize> {
        match rid {
            Some(r) => self
                .encodings
                .iter()
                .position(|e| e.params.rid.as_deref() == Some(r)),
            None => Some(0),
        }
    }

    /// The encoding with this media or RTX SSRC.
    pub(crate) fn by_ssrc(&self, ssrc: u32) -> Option<usize> {
        self.encodings
            .iter()
            .position(|e| e.ssrc == ssrc || e.rtx_ssrc == ssrc)
    }
}

/// Extension data that comes with a packet from the application.
#[derive(Debug, Clone, Default)]
pub(crate) struct Extras {
    pub audio_level: Option<AudioLevel>,
    pub dependency_descriptor: Option<bytes::Bytes>,
}

impl PeerConnection {
    /// Checks that the transceiver sends and the encoding is live; returns its index.
    fn media_send_target(&self, id: TransceiverId, rid: Option<&str>) -> Result<usize, Error> {
        if self.is_closed() {
            return Err(Error::Closed);
        }
        if !self.media_can_send(id) {
            return Err(Error::InvalidState(
                "the sender does not send (no track, or not negotiated to send)",
            ));
        }
        if self.transport.srtp.is_none() {
            return Err(Error::InvalidState("the transport is not connected yet"));
        }
        let s = self.media.senders.get(&id).ok_or(Error::UnknownHandle)?;
        if s.setup.is_none() {
            return Err(Error::InvalidState("no codec negotiated"));
        }
        let i = s
            .encoding_index(rid)
            .ok_or(Error::InvalidArgument("no encoding with this rid"))?;
        Ok(i)
    }

    /// Packetizes and sends one sample (see [`super::RtpSender::write_sample`]).
    pub(crate) fn media_write_sample(
        &mut self,
        now: Instant,
        id: TransceiverId,
        sample: Sample,
    ) -> Result<(), Error> {
        self.now = self.now.max(now);
        let i = self.media_send_target(id, sample.rid.as_deref())?;
        let now = self.now;
        let Some(s) = self.media.senders.get_mut(&id) else {
            return Err(Error::UnknownHandle);
        };
        s.frames_written += 1;
        let Some(setup) = s.setup.clone() else {
            return Err(Error::InvalidState("no codec negotiated"));
        };
        let Some(e) = s.encodings.get_mut(i) else {
            return Err(Error::UnknownHandle);
        };
        if !e.negotiated || !e.params.active {
            return Ok(()); // a layer the peer does not take, or paused
        }
        let timestamp = e.sample_timestamp();
        e.sample_time += sample.duration;
        let mut frame = EncodedFrame {
            keyframe: frame_is_keyframe(setup.kind, &sample.data),
            data: sample.data.to_vec(),
            timestamp,
            payload_type: setup.codec.payload_type,
            ssrc: e.ssrc,
            rid: e.params.rid.clone(),
            after_gap: false,
        };
        if let Some(t) = &mut s.transform {
            if !t.transform(&mut frame) {
                return Ok(());
            }
        }
        let (elements, header_len) = self.media_extensions(id, i, now, &Extras::default(), false);
        let Some(s) = self.media.senders.get_mut(&id) else {
            return Err(Error::UnknownHandle);
        };
        let Some(e) = s.encodings.get_mut(i) else {
            return Err(Error::UnknownHandle);
        };
        let mtu = MAX_RTP_PACKET.saturating_sub(header_len);
        let Some((_, packetizer)) = &mut e.packetizer else {
            return Err(Error::InvalidState("no codec negotiated"));
        };
        let payloads = packetizer.packetize(mtu, &frame.data).map_err(|_| {
            Error::InvalidArgument("the sample does not fit the codec's payload format")
        })?;
        e.counters.frames_sent += 1;
        if frame.keyframe {
            e.counters.keyframes_sent += 1;
        }
        let audio = setup.kind.is_audio();
        let first_audio = audio && e.last.is_none();
        let n = payloads.len();
        for (k, payload) in payloads.into_iter().enumerate() {
            let header = RtpHeader {
                payload_type: setup.codec.payload_type,
                timestamp: frame.timestamp,
                marker: if audio {
                    first_audio && k == 0
                } else {
                    k + 1 == n
                },
                ..RtpHeader::default()
            };
            self.media_send(id, i, now, header, &payload, elements.clone(), false);
        }
        Ok(())
    }

    /// Forwards one RTP packet with our SSRC, numbering and timestamps (see
    /// [`super::RtpSender::write_rtp`]).
    pub(crate) fn media_write_rtp(
        &mut self,
        now: Instant,
        id: TransceiverId,
        packet: &MediaPacket,
    ) -> Result<(), Error> {
        self.now = self.now.max(now);
        let i = self.media_send_target(id, packet.rid.as_deref())?;
        let now = self.now;
        let Some(s) = self.media.senders.get_mut(&id) else {
            return Err(Error::UnknownHandle);
        };
        s.frames_written += 1;
        let Some(setup) = s.setup.clone() else {
            return Err(Error::InvalidState("no codec negotiated"));
        };
        let Some(e) = s.encodings.get_mut(i) else {
            return Err(Error::UnknownHandle);
        };
        if !e.negotiated || !e.params.active {
            return Ok(());
        }
        let Some(stream) = &e.stream else {
            return Err(Error::InvalidState("no codec negotiated"));
        };
        // A new source (or the first one): continue our numbering and timeline from the
        // last packet sent.
        let rewrite = match e.rewrite {
            Some(r) if r.src_ssrc == packet.ssrc => r,
            _ => {
                let next_ts = match e.last {
                    Some((at, ts)) => {
                        let elapsed = now
                            .saturating_duration_since(at)
                            .max(Duration::from_millis(1));
                        let ticks = elapsed.as_nanos() * u128::from(e.clock_rate) / 1_000_000_000;
                        ts.wrapping_add(ticks as u32)
                    }
                    None => e.sample_timestamp(),
                };
                let r = Rewrite {
                    src_ssrc: packet.ssrc,
                    seq_offset: stream.next_seq().0.wrapping_sub(packet.sequence_number),
                    ts_offset: next_ts.wrapping_sub(packet.timestamp),
                };
                e.rewrite = Some(r);
                r
            }
        };
        // The packet keeps its payload type if the peer knows it, else takes the codec's.
        let pt = if setup
            .codecs
            .iter()
            .any(|c| c.payload_type == packet.payload_type)
        {
            packet.payload_type
        } else {
            setup.codec.payload_type
        };
        let header = RtpHeader {
            payload_type: pt,
            sequence_number: SeqNo(packet.sequence_number.wrapping_add(rewrite.seq_offset)),
            timestamp: packet.timestamp.wrapping_add(rewrite.ts_offset),
            marker: packet.marker,
            ..RtpHeader::default()
        };
        let extras = Extras {
            audio_level: packet.audio_level,
            dependency_descriptor: packet.dependency_descriptor.clone(),
        };
        if packet.marker || setup.kind.is_audio() {
            e.counters.frames_sent += 1;
        }
        let (elements, _) = self.media_extensions(id, i, now, &extras, false);
        self.media_send(id, i, now, header, &packet.payload, elements, true);
        Ok(())
    }

    /// The header extensions of a packet of encoding `i` (the transport-wide sequence
    /// number a placeholder: `media_send` numbers each packet), and the RTP header length
    /// with them.
    pub(crate) fn media_extensions(
        &self,
        id: TransceiverId,
        i: usize,
        now: Instant,
        extras: &Extras,
        repair: bool,
    ) -> (Vec<ExtensionElement>, usize) {
        let mid = self.transceiver(id).and_then(|t| t.mid.clone());
        let ntp = self.media.ntp(now);
        let Some(s) = self.media.senders.get(&id) else {
            return (Vec::new(), 12);
        };
        let (Some(setup), Some(e)) = (&s.setup, s.encodings.get(i)) else {
            return (Vec::new(), 12);
        };
        let map = &setup.ext;
        let mut el = Vec::new();
        let mut push = |k: ExtensionKind, data: Vec<u8>| {
            if let Some(id) = map.id(k) {
                if !data.is_empty() && data.len() <= 255 {
                    el.push(ExtensionElement { id, data });
                }
            }
        };
        if let Some(mid) = mid {
            push(ExtensionKind::Mid, mid.into_bytes());
        }
        if let Some(rid) = &e.params.rid {
            let kind = if repair {
                ExtensionKind::RepairedRtpStreamId
            } else {
                ExtensionKind::RtpStreamId
            };
            push(kind, rid.clone().into_bytes());
        }
        push(
            ExtensionKind::AbsSendTime,
            AbsSendTime::from_ntp(ntp).to_vec().unwrap_or_default(),
        );
        // Placeholder: media_send writes the real transport-wide sequence number.
        push(ExtensionKind::TransportSequenceNumber, vec![0, 0]);
        if let Some(l) = &extras.audio_level {
            push(ExtensionKind::AudioLevel, l.to_vec().unwrap_or_default());
        }
        if let Some(dd) = &extras.dependency_descriptor {
            push(ExtensionKind::DependencyDescriptor, dd.to_vec());
        }
        let len = if el.is_empty() {
            12
        } else {
            12 + HeaderExtension::from_elements(el.clone()).encoded_len()
        };
        (el, len)
    }

    /// Sends one media packet of encoding `i`: transport-wide sequence number, history,
    /// SRTP, out.
    #[allow(clippy::too_many_arguments)] // the parts of one packet
    pub(crate) fn media_send(
        &mut self,
        id: TransceiverId,
        i: usize,
        now: Instant,
        mut header: RtpHeader,
        payload: &[u8],
        mut elements: Vec<ExtensionElement>,
        numbered: bool,
    ) {
        let twcc_id = self
            .media
            .senders
            .get(&id)
            .and_then(|s| s.setup.as_ref())
            .and_then(|s| s.ext.id(ExtensionKind::TransportSequenceNumber));
        if let Some(tid) = twcc_id {
            let seq = self.media.twcc_seq;
            self.media.twcc_seq = seq.wrapping_add(1);
            for el in &mut elements {
                if el.id == tid {
                    el.data = seq.to_be_bytes().to_vec();
                }
            }
        }
        if !elements.is_empty() {
            header.extension = Some(HeaderExtension::from_elements(elements));
        }
        let header_len = header.encoded_len() as u64;
        let Some(e) = self
            .media
            .senders
            .get_mut(&id)
            .and_then(|s| s.encodings.get_mut(i))
        else {
            return;
        };
        let ts = header.timestamp;
        let Some(stream) = &mut e.stream else {
            return;
        };
        let packet = if numbered {
            stream.send_numbered(now, header, payload)
        } else {
            stream.send(now, header, payload)
        };
        let Ok(packet) = packet else {
            return;
        };
        e.last = Some((now, ts));
        e.counters.header_bytes_sent += header_len;
        self.media_transmit(packet, false);
    }

    /// Answers a NACK for encoding `i` from its history (RTX packets get a fresh
    /// transport-wide sequence number and, for simulcast, the repaired-rid).
    pub(crate) fn media_retransmit(
        &mut self,
        now: Instant,
        id: TransceiverId,
        i: usize,
        nack: &oxrtc_rtp::rtcp::Nack,
    ) {
        let Some(s) = self.media.senders.get_mut(&id) else {
            return;
        };
        let ext = s.setup.as_ref().map(|s| s.ext.clone()).unwrap_or_default();
        let Some(e) = s.encodings.get_mut(i) else {
            return;
        };
        e.counters.nack_received += 1;
        let rtx = e.rtx_pt.is_some();
        let Some(stream) = &mut e.stream else {
            return;
        };
        let Ok(packets) = stream.handle_nack(now, nack) else {
            return;
        };
        for p in packets {
            let p = if rtx {
                self.media_fix_rtx(p, &ext)
            } else {
                p // resent unchanged: the same SRTP index and bytes
            };
            self.media_transmit(p, false);
        }
    }

    /// An RTX packet carries the original's extensions: give it its own transport-wide
    /// sequence number and turn rid into repaired-rid (RFC 8852 §3.2).
    fn media_fix_rtx(&mut self, p: Vec<u8>, ext: &oxrtc_rtp::rtp::ExtensionMap) -> Vec<u8> {
        let Ok(pkt) = oxrtc_rtp::RtpPacket::new_checked(&p[..]) else {
            return p;
        };
        let mut h = RtpHeader::parse(&pkt);
        let payload = pkt.payload().to_vec();
        let twcc = ext.id(ExtensionKind::TransportSequenceNumber);
        let (rid, rrid) = (
            ext.id(ExtensionKind::RtpStreamId),
            ext.id(ExtensionKind::RepairedRtpStreamId),
        );
        let mut elements: Vec<ExtensionElement> = h
            .extension
            .as_ref()
            .map(|x| x.elements().to_vec())
            .unwrap_or_default();
        for el in &mut elements {
            if Some(el.id) == twcc {
                let seq = self.media.twcc_seq;
                self.media.twcc_seq = seq.wrapping_add(1);
                el.data = seq.to_be_bytes().to_vec();
            }
        }
        match (rid, rrid) {
            (Some(rid), Some(rrid)) => {
                for el in &mut elements {
                    if el.id == rid {
                        el.id = rrid;
                    }
                }
            }
            (Some(rid), None) => elements.retain(|el| el.id != rid),
            _ => {}
        }
        h.extension = if elements.is_empty() {
            None
        } else {
            Some(HeaderExtension::from_elements(elements))
        };
        let mut out = Vec::with_capacity(p.len() + 4);
        match h.write_packet(&payload, 0, &mut out) {
            Ok(()) => out,
            Err(_) => p,
        }
    }
}
