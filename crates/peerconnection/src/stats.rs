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
    /// Check responses received (agent-wide).
    pub responses_received: u64,
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
                responses_received: st.responses_received,
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
        StatsReport(out)
    }
}
