//! `get_stats()`: W3C `RTCStats` objects (webrtc-stats) with the browser's field names.

use crate::datachannel::DataChannelState;
use crate::event::IceConnectionState;
use crate::peer_connection::PeerConnection;
use crate::transport::DtlsTransportState;
use serde::{Deserialize, Serialize};

/// One stats object; serialises as the browser's JSON, with `"type"` naming the kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Stats {
    /// `RTCPeerConnectionStats`.
    PeerConnection(PeerConnectionStats),
    /// `RTCTransportStats`.
    Transport(TransportStats),
    /// `RTCIceCandidatePairStats`.
    CandidatePair(CandidatePairStats),
    /// `RTCIceCandidateStats` of a local candidate.
    LocalCandidate(CandidateStats),
    /// `RTCIceCandidateStats` of a remote candidate.
    RemoteCandidate(CandidateStats),
    /// `RTCCertificateStats`.
    Certificate(CertificateStats),
    /// `RTCDataChannelStats`.
    DataChannel(DataChannelStats),
    /// `RTCInboundRtpStreamStats`: one per incoming media SSRC.
    InboundRtp(InboundRtpStats),
    /// `RTCOutboundRtpStreamStats`: one per sending encoding.
    OutboundRtp(OutboundRtpStats),
    /// `RTCRemoteInboundRtpStreamStats`: what the peer's reports say of our stream.
    RemoteInboundRtp(RemoteInboundRtpStats),
    /// `RTCRemoteOutboundRtpStreamStats`: what the peer's sender reports say.
    RemoteOutboundRtp(RemoteOutboundRtpStats),
    /// `RTCCodecStats`: a negotiated codec.
    Codec(CodecStats),
    /// `RTCMediaSourceStats` (audio or video source of a sender).
    MediaSource(MediaSourceStats),
}

impl Stats {
    /// The object's `id`.
    pub fn id(&self) -> &str {
        match self {
            Stats::PeerConnection(s) => &s.id,
            Stats::Transport(s) => &s.id,
            Stats::CandidatePair(s) => &s.id,
            Stats::LocalCandidate(s) | Stats::RemoteCandidate(s) => &s.id,
            Stats::Certificate(s) => &s.id,
            Stats::DataChannel(s) => &s.id,
            Stats::InboundRtp(s) => &s.id,
            Stats::OutboundRtp(s) => &s.id,
            Stats::RemoteInboundRtp(s) => &s.id,
            Stats::RemoteOutboundRtp(s) => &s.id,
            Stats::Codec(s) => &s.id,
            Stats::MediaSource(s) => &s.id,
        }
    }
}

/// The result of [`PeerConnection::stats`]: W3C `RTCStatsReport`, a list of objects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct StatsReport(pub Vec<Stats>);

impl StatsReport {
    /// The object with this id.
    pub fn get(&self, id: &str) -> Option<&Stats> {
        self.0.iter().find(|s| s.id() == id)
    }

    /// The JSON array a browser's `JSON.stringify([...report.values()])` gives.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_default()
    }
}

/// `RTCPeerConnectionStats`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerConnectionStats {
    /// Object id.
    pub id: String,
    /// Milliseconds, as given to [`PeerConnection::stats`].
    pub timestamp: f64,
    /// Data channels that reached `open`.
    pub data_channels_opened: u32,
    /// Data channels that left `open` for `closed`.
    pub data_channels_closed: u32,
}

/// `RTCTransportStats`: the one BUNDLE transport.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransportStats {
    /// Object id.
    pub id: String,
    /// Milliseconds.
    pub timestamp: f64,
    /// Datagrams sent.
    pub packets_sent: u64,
    /// Datagrams received.
    pub packets_received: u64,
    /// Bytes sent (UDP payloads).
    pub bytes_sent: u64,
    /// Bytes received.
    pub bytes_received: u64,
    /// `"controlling"` or `"controlled"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ice_role: Option<String>,
    /// The local ICE ufrag.
    pub ice_local_username_fragment: String,
    /// W3C `RTCDtlsTransportState`.
    pub dtls_state: DtlsTransportState,
    /// W3C `RTCIceTransportState`.
    pub ice_state: IceConnectionState,
    /// `"client"`, `"server"` or `"unknown"`.
    pub dtls_role: String,
    /// Id of the selected candidate pair.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selected_candidate_pair_id: Option<String>,
    /// Id of our certificate's stats.
    pub local_certificate_id: String,
    /// Id of the peer's certificate's stats, once known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_certificate_id: Option<String>,
    /// `"DTLS 1.2"` once connected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_version: Option<String>,
    /// IANA name of the DTLS cipher suite.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dtls_cipher: Option<String>,
    /// Datagrams dropped: malformed or unexpected (oxrtc extension).
    pub packets_discarded: u64,
}

/// `RTCIceCandidatePairStats` of the selected pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CandidatePairStats {
    /// Object id.
    pub id: String,
    /// Milliseconds.
    pub timestamp: f64,
    /// The transport's id.
    pub transport_id: String,
    /// Local candidate's id.
    pub local_candidate_id: String,
    /// Remote candidate's id.
    pub remote_candidate_id: String,
    /// `"succeeded"` for the selected pair.
    pub state: String,
    /// Whether the controlling agent nominated it.
    pub nominated: bool,
    /// Connectivity checks sent (agent-wide).
    pub requests_sent: u64,
    /// Checks received (agent-wide).
    pub requests_received: u64,
    /// Responses to connectivity and consent checks received on this pair.
    pub responses_received: u64,
    /// The latest round trip of a check on this pair, in seconds (a check answered
    /// without retransmission); absent until one was measured.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub current_round_trip_time: Option<f64>,
    /// The sum of the round trips measured on this pair, in seconds (divide by
    /// `responsesReceived` for an average, as browsers' pages do).
    #[serde(default)]
    pub total_round_trip_time: f64,
    /// The peer's REMB estimate, bits per second, once it sent one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub available_outgoing_bitrate: Option<f64>,
}

/// `RTCIceCandidateStats`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CandidateStats {
    /// Object id.
    pub id: String,
    /// Milliseconds.
    pub timestamp: f64,
    /// The transport's id.
    pub transport_id: String,
    /// IP address or name.
    pub address: String,
    /// Port.
    pub port: u16,
    /// `"udp"` or `"tcp"`.
    pub protocol: String,
    /// `"host"`, `"srflx"`, `"prflx"`, `"relay"`.
    pub candidate_type: String,
    /// Priority.
    pub priority: u32,
    /// Foundation.
    pub foundation: String,
    /// The ufrag it belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username_fragment: Option<String>,
}

/// `RTCCertificateStats`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateStats {
    /// Object id.
    pub id: String,
    /// Milliseconds.
    pub timestamp: f64,
    /// Hex fingerprint, colon separated.
    pub fingerprint: String,
    /// `"sha-256"`.
    pub fingerprint_algorithm: String,
    /// The DER certificate in base64.
    pub base64_certificate: String,
}

/// `RTCDataChannelStats`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataChannelStats {
    /// Object id.
    pub id: String,
    /// Milliseconds.
    pub timestamp: f64,
    /// Label.
    pub label: String,
    /// Sub-protocol.
    pub protocol: String,
    /// SCTP stream id, once known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_channel_identifier: Option<u16>,
    /// W3C `RTCDataChannelState`.
    pub state: DataChannelState,
    /// Messages sent.
    pub messages_sent: u64,
    /// Payload bytes sent.
    pub bytes_sent: u64,
    /// Messages received.
    pub messages_received: u64,
    /// Payload bytes received.
    pub bytes_received: u64,
}

/// `RTCInboundRtpStreamStats`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InboundRtpStats {
    /// Object id.
    pub id: String,
    /// Milliseconds.
    pub timestamp: f64,
    /// The SSRC.
    pub ssrc: u32,
    /// `"audio"` or `"video"`.
    pub kind: String,
    /// The transport's id.
    pub transport_id: String,
    /// The codec's stats id.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub codec_id: Option<String>,
    /// The transceiver's mid.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub mid: Option<String>,
    /// The simulcast layer.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub rid: Option<String>,
    /// The remote track id.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub track_identifier: Option<String>,
    /// Unique packets received.
    pub packets_received: u64,
    /// Packets lost (expected minus received).
    pub packets_lost: i64,
    /// Interarrival jitter, seconds.
    pub jitter: f64,
    /// Payload bytes received.
    pub bytes_received: u64,
    /// Header and padding bytes received.
    pub header_bytes_received: u64,
    /// When the last packet arrived, milliseconds (the report's time base).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub last_packet_received_timestamp: Option<f64>,
    /// NACK packets sent.
    pub nack_count: u64,
    /// PLI packets sent.
    pub pli_count: u64,
    /// FIR packets sent.
    pub fir_count: u64,
    /// Video frames received (marker bits).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub frames_received: Option<u64>,
    /// Packets that came through RTX.
    pub retransmitted_packets_received: u64,
    /// Their payload bytes.
    pub retransmitted_bytes_received: u64,
    /// The RTX SSRC, once seen.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub rtx_ssrc: Option<u32>,
    /// The remote-outbound-rtp id, once the peer sent an SR.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub remote_id: Option<String>,
}

/// `RTCOutboundRtpStreamStats`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboundRtpStats {
    /// Object id.
    pub id: String,
    /// Milliseconds.
    pub timestamp: f64,
    /// The SSRC.
    pub ssrc: u32,
    /// `"audio"` or `"video"`.
    pub kind: String,
    /// The transport's id.
    pub transport_id: String,
    /// The codec's stats id.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub codec_id: Option<String>,
    /// The transceiver's mid.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub mid: Option<String>,
    /// The simulcast layer.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub rid: Option<String>,
    /// The media source's stats id.
    pub media_source_id: String,
    /// The remote-inbound-rtp id, once the peer reported on it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub remote_id: Option<String>,
    /// Packets sent (retransmissions excluded).
    pub packets_sent: u64,
    /// Payload bytes sent.
    pub bytes_sent: u64,
    /// Header bytes sent.
    pub header_bytes_sent: u64,
    /// Packets resent in answer to NACKs.
    pub retransmitted_packets_sent: u64,
    /// Their payload bytes.
    pub retransmitted_bytes_sent: u64,
    /// NACK packets received.
    pub nack_count: u64,
    /// PLI packets received.
    pub pli_count: u64,
    /// FIR packets received.
    pub fir_count: u64,
    /// Video frames sent.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub frames_sent: Option<u64>,
    /// Whether the encoding is active (W3C `active`).
    pub active: bool,
    /// The RTX SSRC, when RTX is negotiated.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub rtx_ssrc: Option<u32>,
}

/// `RTCRemoteInboundRtpStreamStats`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteInboundRtpStats {
    /// Object id.
    pub id: String,
    /// Milliseconds.
    pub timestamp: f64,
    /// The SSRC (ours).
    pub ssrc: u32,
    /// `"audio"` or `"video"`.
    pub kind: String,
    /// The transport's id.
    pub transport_id: String,
    /// The codec's stats id.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub codec_id: Option<String>,
    /// The outbound-rtp id.
    pub local_id: String,
    /// Cumulative packets lost the peer reported.
    pub packets_lost: i64,
    /// Jitter the peer reported, seconds.
    pub jitter: f64,
    /// Fraction lost the peer reported last, 0 to 1.
    pub fraction_lost: f64,
    /// The last round-trip time measured from SR/RR, seconds.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub round_trip_time: Option<f64>,
    /// Sum of the round-trip times measured, seconds.
    pub total_round_trip_time: f64,
    /// How many were measured.
    pub round_trip_time_measurements: u64,
}

/// `RTCRemoteOutboundRtpStreamStats`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteOutboundRtpStats {
    /// Object id.
    pub id: String,
    /// Milliseconds.
    pub timestamp: f64,
    /// The SSRC (the peer's).
    pub ssrc: u32,
    /// `"audio"` or `"video"`.
    pub kind: String,
    /// The transport's id.
    pub transport_id: String,
    /// The codec's stats id.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub codec_id: Option<String>,
    /// The inbound-rtp id.
    pub local_id: String,
    /// Packets the peer says it sent.
    pub packets_sent: u64,
    /// Payload bytes the peer says it sent.
    pub bytes_sent: u64,
    /// The peer's wall clock at its last SR, milliseconds since the Unix epoch.
    pub remote_timestamp: f64,
    /// SRs received.
    pub reports_sent: u64,
}

/// `RTCCodecStats`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CodecStats {
    /// Object id.
    pub id: String,
    /// Milliseconds.
    pub timestamp: f64,
    /// The payload type.
    pub payload_type: u8,
    /// `"video/VP8"`, `"audio/opus"`...
    pub mime_type: String,
    /// Clock rate, Hz.
    pub clock_rate: u32,
    /// Audio channels.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub channels: Option<u16>,
    /// The `a=fmtp` parameters.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sdp_fmtp_line: Option<String>,
    /// The transport's id.
    pub transport_id: String,
}

/// `RTCMediaSourceStats` (with the video/audio source fields this stack knows).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaSourceStats {
    /// Object id.
    pub id: String,
    /// Milliseconds.
    pub timestamp: f64,
    /// `"audio"` or `"video"`.
    pub kind: String,
    /// The sender's track id.
    pub track_identifier: String,
    /// Frames (samples or packets) the application wrote.
    pub frames: u64,
}

fn candidate_stats(id: String, timestamp: f64, c: &oxrtc_ice::Candidate) -> CandidateStats {
    CandidateStats {
        id,
        timestamp,
        transport_id: "T01".into(),
        address: c.address.to_string(),
        port: c.port,
        protocol: c.protocol.as_str().into(),
        candidate_type: c.typ.as_str().into(),
        priority: c.priority,
        foundation: c.foundation.clone(),
        username_fragment: c.ufrag.clone(),
    }
}

fn hex_colon(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

impl PeerConnection {
    /// The statistics (W3C `getStats()`), with `timestamp` (milliseconds, e.g. since the
    /// Unix epoch as browsers do; the sans-IO core has no wall clock) on every object.
    pub fn stats(&self, timestamp: f64) -> StatsReport {
        use base64::Engine as _;
        let mut out = Vec::new();
        let t = &self.transport;
        out.push(Stats::PeerConnection(PeerConnectionStats {
            id: "P".into(),
            timestamp,
            data_channels_opened: t.stats.data_channels_opened,
            data_channels_closed: t.stats.data_channels_closed,
        }));
        let agent = self.ice.agent.as_ref();
        let selected = agent.and_then(oxrtc_ice::Agent::selected_pair);
        let remote_cert = t.dtls.as_ref().and_then(|d| d.remote_certificate());
        let cipher = t.dtls.as_ref().and_then(|d| d.cipher_suite());
        out.push(Stats::Transport(TransportStats {
            id: "T01".into(),
            timestamp,
            packets_sent: t.stats.packets_sent,
            packets_received: t.stats.packets_received,
            bytes_sent: t.stats.bytes_sent,
            bytes_received: t.stats.bytes_received,
            ice_role: agent.map(|a| {
                if a.is_controlling() {
                    "controlling".into()
                } else {
                    "controlled".into()
                }
            }),
            ice_local_username_fragment: self.local_ice.ufrag.clone(),
            dtls_state: t.dtls_state,
            ice_state: self.ice_connection_state(),
            dtls_role: match t.dtls_role() {
                Some(crate::DtlsRole::Client) => "client".into(),
                Some(crate::DtlsRole::Server) => "server".into(),
                None => "unknown".into(),
            },
            selected_candidate_pair_id: selected.as_ref().map(|_| "CP01".into()),
            local_certificate_id: "CF-local".into(),
            remote_certificate_id: remote_cert.map(|_| "CF-remote".into()),
            tls_version: (t.dtls_state == DtlsTransportState::Connected).then(|| "DTLS 1.2".into()),
            dtls_cipher: cipher.map(|c| format!("{c:?}")),
            packets_discarded: t.stats.dropped + t.stats.rtp_dropped,
        }));
        if let (Some(p), Some(a)) = (&selected, agent) {
            let st = a.stats();
            let rtt = a.selected_pair_stats().unwrap_or_default();
            out.push(Stats::CandidatePair(CandidatePairStats {
                id: "CP01".into(),
                timestamp,
                transport_id: "T01".into(),
                local_candidate_id: "CL01".into(),
                remote_candidate_id: "CR01".into(),
                state: "succeeded".into(),
                nominated: p.nominated,
                requests_sent: st.checks_sent,
                requests_received: st.checks_received,
                responses_received: rtt.responses_received,
                current_round_trip_time: rtt.current_round_trip_time.map(|d| d.as_secs_f64()),
                total_round_trip_time: rtt.total_round_trip_time.as_secs_f64(),
                available_outgoing_bitrate: self.media.remb_bitrate.map(|b| b as f64),
            }));
            out.push(Stats::LocalCandidate(candidate_stats(
                "CL01".into(),
                timestamp,
                &p.local,
            )));
            out.push(Stats::RemoteCandidate(candidate_stats(
                "CR01".into(),
                timestamp,
                &p.remote,
            )));
        }
        if let Some(a) = agent {
            for (i, c) in a.local_candidates().iter().enumerate() {
                out.push(Stats::LocalCandidate(candidate_stats(
                    format!("CL{}", i + 10),
                    timestamp,
                    c,
                )));
            }
            for (i, c) in a.remote_candidates().iter().enumerate() {
                out.push(Stats::RemoteCandidate(candidate_stats(
                    format!("CR{}", i + 10),
                    timestamp,
                    c,
                )));
            }
        }
        let fp = self.fingerprint();
        out.push(Stats::Certificate(CertificateStats {
            id: "CF-local".into(),
            timestamp,
            fingerprint: hex_colon(fp.value()),
            fingerprint_algorithm: fp.algorithm().name().into(),
            base64_certificate: base64::engine::general_purpose::STANDARD
                .encode(self.certificate.der()),
        }));
        if let Some(der) = remote_cert {
            let rfp = oxrtc_dtls::Fingerprint::of(oxrtc_dtls::FingerprintAlgorithm::Sha256, der);
            out.push(Stats::Certificate(CertificateStats {
                id: "CF-remote".into(),
                timestamp,
                fingerprint: hex_colon(rfp.value()),
                fingerprint_algorithm: "sha-256".into(),
                base64_certificate: base64::engine::general_purpose::STANDARD.encode(der),
            }));
        }
        for (id, c) in &self.channels {
            out.push(Stats::DataChannel(DataChannelStats {
                id: format!("D{}", id.as_u64()),
                timestamp,
                label: c.label.clone(),
                protocol: c.init.protocol.clone(),
                data_channel_identifier: c.stream_id,
                state: c.state,
                messages_sent: c.messages_sent,
                bytes_sent: c.bytes_sent,
                messages_received: c.messages_received,
                bytes_received: c.bytes_received,
            }));
        }
        self.media_stats(timestamp, &mut out);
        StatsReport(out)
    }

    /// The RTP stats objects: per transceiver its media source, outbound streams and what
    /// the peer reported of them, its inbound streams and the peer's sender reports, and
    /// the codecs in use.
    fn media_stats(&self, timestamp: f64, out: &mut Vec<Stats>) {
        use crate::media::codecs::mime_type;
        let mut codecs: Vec<Stats> = Vec::new();
        let codec_id = |kind: crate::MediaKind, c: &oxrtc_sdp::Codec, codecs: &mut Vec<Stats>| {
            let id = format!("CIT01_{}", c.payload_type);
            if !codecs.iter().any(|s| s.id() == id) {
                codecs.push(Stats::Codec(CodecStats {
                    id: id.clone(),
                    timestamp,
                    payload_type: c.payload_type,
                    mime_type: mime_type(kind, c),
                    clock_rate: c.clock_rate,
                    channels: c.encoding_parameters,
                    sdp_fmtp_line: c.fmtp.clone(),
                    transport_id: "T01".into(),
                }));
            }
            id
        };
        for t in &self.transceivers {
            let kind = match t.kind {
                crate::MediaKind::Audio => "audio",
                crate::MediaKind::Video => "video",
            };
            let letter = if kind == "audio" { 'A' } else { 'V' };
            if let Some(s) = self.media.senders.get(&t.id) {
                let source_id = format!("S{letter}{}", t.id.0);
                if let Some(track) = &t.sender_track {
                    out.push(Stats::MediaSource(MediaSourceStats {
                        id: source_id.clone(),
                        timestamp,
                        kind: kind.into(),
                        track_identifier: track.id().to_owned(),
                        frames: s.frames_written,
                    }));
                }
                let codec = s
                    .setup
                    .as_ref()
                    .map(|setup| codec_id(t.kind, &setup.codec, &mut codecs));
                for e in &s.encodings {
                    let Some(stream) = &e.stream else {
                        continue;
                    };
                    let st = stream.stats();
                    if st.packets_sent == 0 {
                        continue;
                    }
                    let oid = format!("OT01{letter}{}", e.ssrc);
                    let rid_ = format!("RI{letter}{}", e.ssrc);
                    let reported = e.counters.remote_reports > 0;
                    out.push(Stats::OutboundRtp(OutboundRtpStats {
                        id: oid.clone(),
                        timestamp,
                        ssrc: e.ssrc,
                        kind: kind.into(),
                        transport_id: "T01".into(),
                        codec_id: codec.clone(),
                        mid: t.mid.clone(),
                        rid: e.params.rid.clone(),
                        media_source_id: source_id.clone(),
                        remote_id: reported.then(|| rid_.clone()),
                        packets_sent: st.packets_sent,
                        bytes_sent: st.bytes_sent,
                        header_bytes_sent: e.counters.header_bytes_sent,
                        retransmitted_packets_sent: st.retransmitted_packets,
                        retransmitted_bytes_sent: st.retransmitted_bytes,
                        nack_count: e.counters.nack_received,
                        pli_count: e.counters.pli_received,
                        fir_count: e.counters.fir_received,
                        frames_sent: (kind == "video").then_some(e.counters.frames_sent),
                        active: e.params.active,
                        rtx_ssrc: s.setup.as_ref().and_then(|x| x.rtx_pt).map(|_| e.rtx_ssrc),
                    }));
                    if reported {
                        let clock = f64::from(e.clock_rate.max(1));
                        out.push(Stats::RemoteInboundRtp(RemoteInboundRtpStats {
                            id: rid_,
                            timestamp,
                            ssrc: e.ssrc,
                            kind: kind.into(),
                            transport_id: "T01".into(),
                            codec_id: codec.clone(),
                            local_id: oid,
                            packets_lost: i64::from(st.remote_packets_lost),
                            jitter: f64::from(st.remote_jitter) / clock,
                            fraction_lost: f64::from(st.remote_fraction_lost) / 256.0,
                            round_trip_time: st.rtt.map(|r| r.as_secs_f64()),
                            total_round_trip_time: e.counters.rtt_total,
                            round_trip_time_measurements: e.counters.rtt_measurements,
                        }));
                    }
                }
            }
            if let Some(r) = self.media.receivers.get(&t.id) {
                for st in &r.streams {
                    let rs = st.rs.stats();
                    let iid = format!("IT01{letter}{}", st.ssrc);
                    let roid = format!("RO{letter}{}", st.ssrc);
                    let codec = r
                        .setup
                        .as_ref()
                        .and_then(|x| x.codec(st.last_pt))
                        .map(|c| codec_id(t.kind, c, &mut codecs));
                    let clock = f64::from(st.clock_rate.max(1));
                    let last = st.counters.last_packet_at.map(|at| {
                        timestamp - self.now.saturating_duration_since(at).as_secs_f64() * 1000.0
                    });
                    out.push(Stats::InboundRtp(InboundRtpStats {
                        id: iid.clone(),
                        timestamp,
                        ssrc: st.ssrc,
                        kind: kind.into(),
                        transport_id: "T01".into(),
                        codec_id: codec.clone(),
                        mid: t.mid.clone(),
                        rid: st.rid.clone(),
                        track_identifier: t.remote_track_id.clone(),
                        packets_received: rs.packets_received,
                        packets_lost: rs.packets_lost,
                        jitter: f64::from(rs.jitter) / clock,
                        bytes_received: rs.bytes_received,
                        header_bytes_received: st.counters.header_bytes_received,
                        last_packet_received_timestamp: last,
                        nack_count: st.counters.nack_count,
                        pli_count: st.counters.pli_count,
                        fir_count: st.counters.fir_count,
                        frames_received: (kind == "video").then_some(st.counters.frames_received),
                        retransmitted_packets_received: st.counters.retransmitted_packets,
                        retransmitted_bytes_received: st.counters.retransmitted_bytes,
                        rtx_ssrc: st.rtx_ssrc,
                        remote_id: st.counters.remote_sent.map(|_| roid.clone()),
                    }));
                    if let Some((packets, octets, ntp, n)) = st.counters.remote_sent {
                        // NTP seconds since 1900 to milliseconds since 1970.
                        let unix_ms =
                            ntp.to_duration().as_secs_f64() * 1000.0 - 2_208_988_800_000.0;
                        out.push(Stats::RemoteOutboundRtp(RemoteOutboundRtpStats {
                            id: roid,
                            timestamp,
                            ssrc: st.ssrc,
                            kind: kind.into(),
                            transport_id: "T01".into(),
                            codec_id: codec,
                            local_id: iid,
                            packets_sent: u64::from(packets),
                            bytes_sent: u64::from(octets),
                            remote_timestamp: unix_ms,
                            reports_sent: n,
                        }));
                    }
                }
            }
        }
        out.extend(codecs);
    }
}
