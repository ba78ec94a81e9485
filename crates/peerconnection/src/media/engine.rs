//! The media engine of a peer connection: what the descriptions negotiated per transceiver,
//! the SRTP/SRTCP data path, demultiplexing (RFC 8843 §9.2) and the media timers.

use super::codecs::{codec_kind, extension_map, is_media_codec, is_telephone_event};
use super::recv::ReceiverState;
use super::send::SenderState;
use crate::event::Event;
use crate::jsep;
use crate::peer_connection::PeerConnection;
use crate::signaling::SdpType;
use crate::transceiver::{Direction, TransceiverId};
use crate::transport::Incoming;
use bytes::{Bytes, BytesMut};
use oxrtc_rtp::codec::CodecKind;
use oxrtc_rtp::rtp::{ExtensionKind, ExtensionMap};
use oxrtc_rtp::transport_cc::{FeedbackConfig, TransportFeedbackGenerator};
use oxrtc_rtp::{NtpTime, RtpPacket};
use oxrtc_sdp::{Codec, MediaDescription, SsrcAttribute};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Most incoming SSRCs tracked per connection (bounds memory against a peer that sprays
/// SSRCs; a call has a handful).
const MAX_ROUTES: usize = 64;
/// Interval of sender and receiver reports.
pub(crate) const REPORT_INTERVAL: Duration = Duration::from_secs(1);

/// What sending on a transceiver uses, from the negotiated descriptions.
#[derive(Debug, Clone)]
pub(crate) struct SendSetup {
    /// The codec sent, with the payload type the peer expects.
    pub codec: Codec,
    pub kind: CodecKind,
    /// Every negotiated codec (a forwarded packet may keep its payload type if listed).
    pub codecs: Vec<Codec>,
    pub rtx_pt: Option<u8>,
    /// telephone-event at the codec's clock rate.
    pub dtmf_pt: Option<u8>,
    /// Extension ids the peer reads.
    pub ext: ExtensionMap,
    /// The simulcast layers the peer accepted; `[None]` without simulcast.
    pub layers: Vec<Option<String>>,
}

/// What receiving on a transceiver uses.
#[derive(Debug, Clone)]
pub(crate) struct RecvSetup {
    /// Codecs by payload type (RTX and telephone-event included).
    pub codecs: Vec<Codec>,
    pub ext: ExtensionMap,
    pub nack: bool,
    pub pli: bool,
    pub fir: bool,
    /// Simulcast layers the peer sends (its `a=simulcast:send`).
    pub rids: Vec<String>,
    /// SSRCs the peer signaled: (media, RTX from `a=ssrc-group:FID`).
    pub remote_ssrcs: Vec<(u32, Option<u32>)>,
}

impl RecvSetup {
    pub(crate) fn codec(&self, pt: u8) -> Option<&Codec> {
        self.codecs.iter().find(|c| c.payload_type == pt)
    }

    /// The media payload type an RTX payload type repairs.
    pub(crate) fn rtx_apt(&self, pt: u8) -> Option<u8> {
        self.codec(pt)
            .filter(|c| c.is_rtx())
            .and_then(Codec::rtx_apt)
    }
}

/// Where packets of one incoming SSRC go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Route {
    pub transceiver: TransceiverId,
    /// The media SSRC (itself, or the one an RTX stream repairs).
    pub media_ssrc: u32,
    pub rtx: bool,
}

/// Counters of the media data path.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct MediaCounters {
    /// SRTP/SRTCP packets that did not authenticate or replayed.
    pub srtp_errors: u64,
    /// RTP packets no transceiver takes.
    pub unrouted: u64,
    /// Malformed RTP/RTCP after decryption.
    pub malformed: u64,
    /// RTP/RTCP before SRTP keys existed.
    pub early: u64,
    /// transport-cc feedback packets received.
    pub twcc_feedback_received: u64,
}

/// The media state of a peer connection.
pub(crate) struct Media {
    /// RTCP CNAME (RFC 7022: random per connection).
    pub cname: String,
    /// The wall clock at an instant, for NTP timestamps (sender reports, abs-send-time).
    ntp_base: (Instant, NtpTime),
    pub senders: HashMap<TransceiverId, SenderState>,
    pub receivers: HashMap<TransceiverId, ReceiverState>,
    pub routes: HashMap<u32, Route>,
    /// Extension ids of the BUNDLE transport, as received (mid, rid, repaired-rid,
    /// transport-wide sequence number).
    pub rx_ext: ExtensionMap,
    /// Next transport-wide sequence number sent.
    pub twcc_seq: u16,
    pub twcc: TransportFeedbackGenerator,
    /// The last media SSRC that carried a transport-wide sequence number.
    pub twcc_media_ssrc: u32,
    pub next_report: Option<Instant>,
    /// The last REMB bitrate the peer sent, bits per second.
    pub remb_bitrate: Option<u64>,
    pub counters: MediaCounters,
    /// SSRCs in use by our senders.
    pub local_ssrcs: Vec<u32>,
}

impl Media {
    pub(crate) fn new(now: Instant, rng: &mut impl rand_core::RngCore) -> Self {
        const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let cname = (0..16)
            .map(|_| char::from(CHARS[(rng.next_u32() & 63) as usize]))
            .collect();
        Media {
            cname,
            // Until the caller says (the runtime does), NTP time starts at 2024-01-01.
            ntp_base: (now, NtpTime::from_unix(Duration::from_secs(1_704_067_200))),
            senders: HashMap::new(),
            receivers: HashMap::new(),
            routes: HashMap::new(),
            rx_ext: ExtensionMap::new(),
            twcc_seq: (rng.next_u32() & 0x7FFF) as u16,
            twcc: TransportFeedbackGenerator::new(FeedbackConfig::default()),
            twcc_media_ssrc: 0,
            next_report: None,
            remb_bitrate: None,
            counters: MediaCounters::default(),
            local_ssrcs: Vec::new(),
        }
    }

    /// The NTP time at `now`.
    pub(crate) fn ntp(&self, now: Instant) -> NtpTime {
        let (at, ntp) = self.ntp_base;
        match now.checked_duration_since(at) {
            Some(d) => ntp.add_duration(d),
            None => NtpTime::from_duration(
                ntp.to_duration()
                    .saturating_sub(at.saturating_duration_since(now)),
            ),
        }
    }

    /// A fresh SSRC, distinct from ours and the peer's known ones.
    pub(crate) fn new_ssrc(&mut self, rng: &mut impl rand_core::RngCore) -> u32 {
        loop {
            let s = rng.next_u32();
            if s != 0 && !self.local_ssrcs.contains(&s) && !self.routes.contains_key(&s) {
                self.local_ssrcs.push(s);
                return s;
            }
        }
    }
}

impl PeerConnection {
    /// Sets the wall clock (W3C timestamps, RTCP NTP times): at `now` it is `since_unix_epoch`
    /// after 1970-01-01 UTC. The sans-IO core reads no clock; the runtime calls this once.
    pub fn set_wall_clock(&mut self, now: Instant, since_unix_epoch: Duration) {
        self.media.ntp_base = (now, NtpTime::from_unix(since_unix_epoch));
    }

    /// Whether the transceiver's negotiated direction sends (W3C `currentDirection`) and its
    /// sender has a track.
    pub(crate) fn media_can_send(&self, id: TransceiverId) -> bool {
        self.transceiver(id).is_some_and(|t| {
            !t.stopped
                && !t.stopping
                && t.sender_track.is_some()
                && t.current_direction.is_some_and(Direction::sends)
        })
    }

    /// Whether media for the transceiver is taken: our description in force receives on it.
    fn media_can_receive(&self, id: TransceiverId) -> bool {
        let Some(t) = self.transceiver(id) else {
            return false;
        };
        if t.stopped {
            return false;
        }
        let Some(sd) = self.local_desc_sd() else {
            return false;
        };
        t.mid
            .as_deref()
            .and_then(|mid| sd.media_by_mid(mid))
            .is_some_and(|m| !m.is_rejected() && jsep::section_direction(sd, m).receives())
    }

    /// Recomputes what each transceiver sends and receives from the descriptions in force
    /// (after every applied description).
    pub(crate) fn media_apply(&mut self) {
        let local = self
            .pending_local_desc()
            .or(self.current_local_desc())
            .cloned();
        let remote = self
            .pending_remote_desc()
            .or(self.current_remote_desc())
            .cloned();
        let ids: Vec<TransceiverId> = self.transceivers.iter().map(|t| t.id).collect();
        let mut rx_ext = ExtensionMap::new();
        for id in ids {
            let Some(t) = self.transceiver(id) else {
                continue;
            };
            let (kind, mid, stopped) = (t.kind, t.mid.clone(), t.stopped);
            let sections = match (&local, &remote, &mid) {
                (Some(l), Some(r), Some(mid)) if !stopped => {
                    match (l.sd.media_by_mid(mid), r.sd.media_by_mid(mid)) {
                        (Some(lm), Some(rm)) if !lm.is_rejected() && !rm.is_rejected() => {
                            Some((l.sdp_type, lm.clone(), rm.clone()))
                        }
                        _ => None,
                    }
                }
                _ => None,
            };
            let (send, recv) = match sections {
                Some((local_type, lm, rm)) => {
                    // The answer's codecs and extensions hold for both directions.
                    let answer = if matches!(local_type, SdpType::Answer | SdpType::Pranswer) {
                        &lm
                    } else {
                        &rm
                    };
                    let encodings: Vec<Option<String>> = self
                        .media
                        .senders
                        .get(&id)
                        .map(|s| s.encodings.iter().map(|e| e.params.rid.clone()).collect())
                        .unwrap_or_default();
                    (
                        send_setup(answer, &rm, &encodings),
                        Some(recv_setup(answer, &rm)),
                    )
                }
                None => (None, None),
            };
            if let Some(r) = &recv {
                // transport-cc feedback only where the answer has the extension and the
                // feedback type (libwebrtc's condition for sending it).
                let twcc = r
                    .codecs
                    .iter()
                    .any(|c| c.has_feedback("transport-cc", None));
                for k in [
                    ExtensionKind::Mid,
                    ExtensionKind::RtpStreamId,
                    ExtensionKind::RepairedRtpStreamId,
                    ExtensionKind::TransportSequenceNumber,
                ] {
                    if k == ExtensionKind::TransportSequenceNumber && !twcc {
                        continue;
                    }
                    if let (Some(i), None) = (r.ext.id(k), rx_ext.id(k)) {
                        rx_ext.insert(i, k);
                    }
                }
            }
            if let Some(s) = self.media.senders.get_mut(&id) {
                s.negotiate(kind, send);
            }
            if let Some(r) = self.media.receivers.get_mut(&id) {
                r.negotiate(recv);
            }
        }
        self.media.rx_ext = rx_ext;
        // Routes of transceivers that no longer receive go.
        let live: Vec<TransceiverId> = self
            .media
            .receivers
            .iter()
            .filter(|(_, r)| r.setup.is_some())
            .map(|(id, _)| *id)
            .collect();
        self.media
            .routes
            .retain(|_, r| live.contains(&r.transceiver));
        let any_media = self.media.senders.values().any(|s| s.setup.is_some()) || !live.is_empty();
        if any_media && self.media.next_report.is_none() {
            self.media.next_report = Some(self.now + REPORT_INTERVAL / 2);
        } else if !any_media {
            self.media.next_report = None;
        }
    }

    /// W3C "process the addition/removal of a remote track" on an applied remote
    /// description: the track event for transceivers the peer starts sending on.
    pub(crate) fn media_remote_tracks(&mut self) {
        let Some(remote) = self
            .pending_remote_desc()
            .or(self.current_remote_desc())
            .cloned()
        else {
            return;
        };
        let mut fire = Vec::new();
        for t in &mut self.transceivers {
            let Some(m) = t.mid.as_deref().and_then(|mid| remote.sd.media_by_mid(mid)) else {
                continue;
            };
            let sends = !m.is_rejected() && jsep::section_direction(&remote.sd, m).sends();
            let (track, streams) = remote_msid(m);
            if sends {
                t.remote_track_id = track;
                t.remote_stream_ids = streams;
            }
            if sends && !t.fired_recv && !t.stopped {
                t.fired_recv = true;
                fire.push(t.id);
            } else if !sends {
                t.fired_recv = false;
            }
        }
        for id in fire {
            self.events.push_back(Event::Track(id));
        }
    }

    /// SRTP or SRTCP from the transport (RFC 5761 §4: RTCP packet types 192–223).
    pub(crate) fn media_receive(&mut self, contents: Incoming<'_>) {
        let owned = matches!(contents, Incoming::Owned(_));
        let Some(srtp) = &mut self.transport.srtp else {
            self.media.counters.early += 1;
            return;
        };
        let mut buf: BytesMut = contents.into_bytes_mut();
        let rtcp = matches!(buf.get(1), Some(192..=223));
        let r = if rtcp {
            srtp.inbound.unprotect_rtcp(&mut buf)
        } else {
            srtp.inbound.unprotect_rtp(&mut buf)
        };
        let n = match r {
            Ok(n) => n,
            Err(e) => {
                self.media.counters.srtp_errors += 1;
                tracing::trace!(error = %e, rtcp, "srtp packet dropped");
                return;
            }
        };
        buf.truncate(n);
        let now = self.now;
        if rtcp {
            self.media_rtcp_receive(now, &buf);
        } else {
            self.media_rtp_receive(now, buf.freeze(), owned);
        }
        self.media_flush_feedback(now);
    }

    /// A decrypted RTP or RTCP packet, as if it came through SRTP (for the fuzz harness).
    #[cfg(feature = "fuzzing")]
    pub(crate) fn media_receive_plain(&mut self, now: Instant, data: &[u8]) {
        self.now = self.now.max(now);
        if matches!(data.get(1), Some(192..=223)) {
            self.media_rtcp_receive(now, data);
        } else {
            self.media_rtp_receive(now, Bytes::copy_from_slice(data), false);
        }
        self.media_flush_feedback(now);
    }

    /// Incoming SSRCs tracked (bounded by `MAX_ROUTES`).
    #[cfg(feature = "fuzzing")]
    pub(crate) fn media_routes(&self) -> usize {
        self.media.routes.len()
    }

    fn media_rtp_receive(&mut self, now: Instant, data: Bytes, owned: bool) {
        let Ok(p) = RtpPacket::new_checked(&data[..]) else {
            self.media.counters.malformed += 1;
            return;
        };
        if let Some(seq) = self
            .media
            .rx_ext
            .id(ExtensionKind::TransportSequenceNumber)
            .and_then(|id| p.extension(id))
            .and_then(|d| <[u8; 2]>::try_from(d).ok())
        {
            self.media.twcc.record(now, u16::from_be_bytes(seq));
            self.media.twcc_media_ssrc = p.ssrc().0;
        }
        let route = match self.media.routes.get(&p.ssrc().0) {
            Some(r) => Some(*r),
            None => self.media_discover(&p),
        };
        let Some(route) = route else {
            self.media.counters.unrouted += 1;
            return;
        };
        if !self.media_can_receive(route.transceiver) {
            return;
        }
        let local_ssrc = self
            .media
            .senders
            .get(&route.transceiver)
            .and_then(|s| s.encodings.first())
            .map_or(0, |e| e.ssrc);
        let rx_ext = self.media.rx_ext.clone();
        let Some(r) = self.media.receivers.get_mut(&route.transceiver) else {
            return;
        };
        let out = if route.rtx {
            let Some(apt) = r.setup.as_ref().and_then(|s| s.rtx_apt(p.payload_type())) else {
                return;
            };
            if p.payload().len() < 2 {
                return; // a padding-only probe: its arrival counted for transport-cc
            }
            match oxrtc_rtp::rtx::unwrap(&p, oxrtc_rtp::Ssrc(route.media_ssrc), apt) {
                Ok(orig) => {
                    let orig = Bytes::from(orig);
                    r.receive(now, route, &orig, true, false, &rx_ext, local_ssrc)
                }
                Err(_) => return,
            }
        } else {
            r.receive(now, route, &data, false, owned, &rx_ext, local_ssrc)
        };
        for e in out {
            self.events.push_back(match e {
                super::recv::Delivery::Packet(packet) => Event::RtpPacket {
                    transceiver: route.transceiver,
                    packet,
                },
                super::recv::Delivery::Frame(frame) => Event::Frame {
                    transceiver: route.transceiver,
                    frame,
                },
            });
        }
    }

    /// Finds the transceiver of a packet with an SSRC not seen before (RFC 8843 §9.2): by
    /// mid, by the peer's `a=ssrc` lines, by rid / repaired-rid, by payload type.
    fn media_discover<T: AsRef<[u8]>>(&mut self, p: &RtpPacket<T>) -> Option<Route> {
        if self.media.routes.len() >= MAX_ROUTES {
            // Forget SSRCs whose streams are gone (replaced by newer ones).
            let receivers = &self.media.receivers;
            self.media.routes.retain(|ssrc, r| {
                receivers.get(&r.transceiver).is_some_and(|rx| {
                    rx.streams
                        .iter()
                        .any(|s| s.ssrc == r.media_ssrc || s.rtx_ssrc == Some(*ssrc))
                })
            });
            if self.media.routes.len() >= MAX_ROUTES {
                return None;
            }
        }
        let ssrc = p.ssrc().0;
        let pt = p.payload_type();
        let ext_str = |k: ExtensionKind| {
            self.media
                .rx_ext
                .id(k)
                .and_then(|id| p.extension(id))
                .and_then(|d| std::str::from_utf8(d).ok())
                .map(str::to_owned)
        };
        let mid = ext_str(ExtensionKind::Mid);
        let rid = ext_str(ExtensionKind::RtpStreamId);
        let rrid = ext_str(ExtensionKind::RepairedRtpStreamId);
        let receivers: Vec<(TransceiverId, Option<String>)> = self
            .transceivers
            .iter()
            .filter(|t| {
                self.media
                    .receivers
                    .get(&t.id)
                    .is_some_and(|r| r.setup.is_some())
            })
            .map(|t| (t.id, t.mid.clone()))
            .collect();
        let by_ssrc = receivers.iter().find_map(|(id, _)| {
            let setup = self.media.receivers.get(id)?.setup.as_ref()?;
            setup.remote_ssrcs.iter().find_map(|(m, r)| {
                if *m == ssrc {
                    Some((*id, *m, false))
                } else if *r == Some(ssrc) {
                    Some((*id, *m, true))
                } else {
                    None
                }
            })
        });
        if let Some((id, media_ssrc, rtx)) = by_ssrc {
            return Some(self.media_add_route(ssrc, id, media_ssrc, rtx, None));
        }
        let tid = match &mid {
            Some(mid) => receivers
                .iter()
                .find(|(_, m)| m.as_deref() == Some(mid.as_str()))
                .map(|(id, _)| *id),
            None => {
                // The one receiver whose codecs include this payload type.
                let mut found = receivers.iter().filter(|(id, _)| {
                    self.media
                        .receivers
                        .get(id)
                        .and_then(|r| r.setup.as_ref())
                        .is_some_and(|s| s.codec(pt).is_some())
                });
                match (found.next(), found.next()) {
                    (Some((id, _)), None) => Some(*id),
                    _ => None,
                }
            }
        }?;
        let r = self.media.receivers.get(&tid)?;
        let setup = r.setup.as_ref()?;
        let rtx = rrid.is_some() || setup.rtx_apt(pt).is_some();
        if !rtx {
            setup.codec(pt)?;
            return Some(self.media_add_route(ssrc, tid, ssrc, false, rid));
        }
        // RTX: the media stream it repairs, by repaired-rid or as the only one.
        let layer = rrid.or(rid);
        let media_ssrc = match &layer {
            Some(l) => r
                .streams
                .iter()
                .find(|s| s.rid.as_deref() == Some(l.as_str()))
                .map(|s| s.ssrc),
            None => match r.streams.as_slice() {
                [only] => Some(only.ssrc),
                _ => None,
            },
        }?;
        Some(self.media_add_route(ssrc, tid, media_ssrc, true, None))
    }

    fn media_add_route(
        &mut self,
        ssrc: u32,
        transceiver: TransceiverId,
        media_ssrc: u32,
        rtx: bool,
        rid: Option<String>,
    ) -> Route {
        let route = Route {
            transceiver,
            media_ssrc,
            rtx,
        };
        self.media.routes.insert(ssrc, route);
        if let Some(r) = self.media.receivers.get_mut(&transceiver) {
            r.note_route(ssrc, media_ssrc, rtx, rid);
        }
        route
    }

    /// Runs the media timers: reports, NACK retries, transport-cc feedback, DTMF.
    pub(crate) fn media_timeout(&mut self, now: Instant) {
        if self.transport.srtp.is_none() {
            return;
        }
        if self.media.next_report.is_some_and(|t| now >= t) {
            self.media.next_report = Some(now + REPORT_INTERVAL);
            self.media_send_reports(now);
        }
        self.media_dtmf_timeout(now);
        self.media_flush_feedback(now);
    }

    /// When [`media_timeout`](Self::media_timeout) is next due.
    pub(crate) fn media_poll_timeout(&self) -> Option<Instant> {
        self.transport.srtp.as_ref()?;
        let receivers = self
            .media
            .receivers
            .values()
            .filter_map(ReceiverState::poll_timeout)
            .min();
        let dtmf = self
            .media
            .senders
            .values()
            .filter_map(|s| s.dtmf.poll_timeout())
            .min();
        [
            self.media.next_report,
            self.media.twcc.poll_timeout(),
            receivers,
            dtmf,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Protects a plain RTP (or RTCP) packet and queues it on the selected pair.
    pub(crate) fn media_transmit(&mut self, mut packet: Vec<u8>, rtcp: bool) -> bool {
        let Some(srtp) = &mut self.transport.srtp else {
            return false;
        };
        let r = if rtcp {
            srtp.outbound.protect_rtcp_vec(&mut packet)
        } else {
            srtp.outbound.protect_rtp_vec(&mut packet)
        };
        if let Err(e) = r {
            tracing::debug!(error = %e, rtcp, "srtp protect failed");
            return false;
        }
        match self.ice_wrap(packet) {
            Some(t) => {
                self.transport.transmits.push_back(t);
                true
            }
            None => false,
        }
    }
}

/// The send setup of a section pair: the first media codec of the answer, its RTX and
/// DTMF payload types, the answer's extension ids, the layers the peer accepted.
fn send_setup(
    answer: &MediaDescription,
    remote: &MediaDescription,
    encodings: &[Option<String>],
) -> Option<SendSetup> {
    let codecs = answer.codecs();
    let remote_pts: Vec<u8> = remote.payload_types().collect();
    let codec = codecs
        .iter()
        .find(|c| is_media_codec(c) && remote_pts.contains(&c.payload_type))?
        .clone();
    let kind = codec_kind(&codec)?;
    let rtx_pt = codecs
        .iter()
        .find(|c| c.is_rtx() && c.rtx_apt() == Some(codec.payload_type))
        .map(|c| c.payload_type);
    let dtmf_pt = codecs
        .iter()
        .find(|c| is_telephone_event(c) && c.clock_rate == codec.clock_rate)
        .map(|c| c.payload_type);
    // Simulcast: the rids of ours the peer receives (`a=simulcast:recv`, not paused).
    let ours: Vec<&String> = encodings.iter().flatten().collect();
    let layers = match remote.simulcast() {
        Some(sim) if !ours.is_empty() => {
            let accepted: Vec<Option<String>> = sim
                .recv
                .iter()
                .filter_map(|alts| alts.first())
                .filter(|id| !id.paused && ours.contains(&&id.rid))
                .map(|id| Some(id.rid.clone()))
                .collect();
            if accepted.is_empty() {
                vec![None]
            } else {
                accepted
            }
        }
        _ => vec![None],
    };
    Some(SendSetup {
        ext: extension_map(answer.extmaps()),
        codec,
        kind,
        codecs,
        rtx_pt,
        dtmf_pt,
        layers,
    })
}

/// The receive setup of a section pair.
fn recv_setup(answer: &MediaDescription, remote: &MediaDescription) -> RecvSetup {
    let codecs = answer.codecs();
    let main = codecs.iter().find(|c| is_media_codec(c));
    let fb = |t: &str, p: Option<&str>| main.is_some_and(|c| c.has_feedback(t, p));
    let rids = remote
        .simulcast()
        .map(|s| {
            s.send
                .iter()
                .filter_map(|alts| alts.first())
                .map(|id| id.rid.clone())
                .collect()
        })
        .unwrap_or_default();
    let ext = extension_map(answer.extmaps());
    RecvSetup {
        nack: fb("nack", None),
        pli: fb("nack", Some("pli")),
        fir: fb("ccm", Some("fir")),
        codecs,
        ext,
        rids,
        remote_ssrcs: remote_ssrcs(remote),
    }
}

/// The peer's signaled SSRCs with their FID (RTX) partners.
fn remote_ssrcs(m: &MediaDescription) -> Vec<(u32, Option<u32>)> {
    let mut out: Vec<(u32, Option<u32>)> = Vec::new();
    let fids: Vec<(u32, u32)> = m
        .ssrc_groups()
        .filter(|g| g.semantics.eq_ignore_ascii_case("FID"))
        .filter_map(|g| match g.ssrcs.as_slice() {
            [a, b, ..] => Some((*a, *b)),
            _ => None,
        })
        .collect();
    for s in m.ssrcs() {
        let is_rtx = fids.iter().any(|(_, r)| *r == s.ssrc);
        if is_rtx || out.iter().any(|(m, _)| *m == s.ssrc) {
            continue;
        }
        let rtx = fids.iter().find(|(p, _)| *p == s.ssrc).map(|(_, r)| *r);
        out.push((s.ssrc, rtx));
        if out.len() >= 16 {
            break;
        }
    }
    out
}

/// The remote track id and stream ids of a section (`a=msid`, else `a=ssrc ... msid:`).
fn remote_msid(m: &MediaDescription) -> (Option<String>, Vec<String>) {
    let mut streams = Vec::new();
    let mut track = None;
    for msid in m.msids() {
        if msid.stream_id != "-" && !streams.contains(&msid.stream_id) {
            streams.push(msid.stream_id.clone());
        }
        track = track.or_else(|| msid.track_id.clone());
    }
    if streams.is_empty() && track.is_none() {
        for s in m.ssrcs() {
            if let SsrcAttribute::Msid(msid) = &s.attribute {
                if msid.stream_id != "-" && !streams.contains(&msid.stream_id) {
                    streams.push(msid.stream_id.clone());
                }
                track = track.or_else(|| msid.track_id.clone());
            }
        }
    }
    streams.truncate(16);
    (track, streams)
}
