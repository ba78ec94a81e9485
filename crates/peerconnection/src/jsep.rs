//! JSEP (RFC 8829) building blocks: writing m-sections, reading the transport parameters
//! of a remote description, and checking a description against the JSEP rules.

use crate::error::Error;
use crate::transceiver::{Direction, Transceiver};
use oxrtc_dtls::{Fingerprint as DtlsFingerprint, FingerprintAlgorithm};
use oxrtc_sdp::{
    Attribute, Codec, Connection, Extmap, Fingerprint, Group, HashFunction, MediaDescription,
    MediaKind, Msid, MsidSemantic, Origin, Protocol, Rid, SessionDescription, Setup, Simulcast,
    Ssrc, SsrcAttribute, SsrcGroup,
};

/// SCTP port of the data channel m-section (RFC 8841 §5: 5000 by default).
pub(crate) const SCTP_PORT: u16 = 5000;
/// Max-message-size assumed when the remote SDP has none (RFC 8841 §6.1).
pub(crate) const DEFAULT_REMOTE_MAX_MESSAGE_SIZE: usize = 65536;

/// ICE username fragment and password (RFC 8839 §5.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IceCredentials {
    pub ufrag: String,
    pub pwd: String,
}

impl IceCredentials {
    /// Random credentials: an 8-character ufrag (24 bits of entropy needed, RFC 8445 §5.3)
    /// and a 24-character password (128 bits needed), from the ice-char alphabet.
    pub(crate) fn random(rng: &mut impl rand_core::RngCore) -> Self {
        const ICE_CHARS: &[u8] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut gen = |n: usize| -> String {
            (0..n)
                .map(|_| char::from(ICE_CHARS[(rng.next_u32() & 63) as usize]))
                .collect()
        };
        IceCredentials {
            ufrag: gen(8),
            pwd: gen(24),
        }
    }
}

/// What the local side puts into each m-section's transport lines.
pub(crate) struct LocalTransport<'a> {
    pub ice: &'a IceCredentials,
    pub fingerprint: &'a DtlsFingerprint,
    pub candidates: &'a [String],
    pub end_of_candidates: bool,
}

/// The session part of a description we write: origin, `a=group:BUNDLE`, `a=msid-semantic`.
pub(crate) fn session(session_id: u64, version: u64, bundle: &[String]) -> SessionDescription {
    let mut origin = Origin::new(session_id, version);
    origin.unicast_address = "127.0.0.1".into();
    let mut sd = SessionDescription::new(origin);
    sd.session_name = "-".into();
    if !bundle.is_empty() {
        sd.attributes
            .push(Attribute::Group(Group::bundle(bundle.iter().cloned())));
    }
    sd.attributes.push(Attribute::ExtmapAllowMixed);
    sd.attributes.push(Attribute::MsidSemantic(MsidSemantic {
        semantic: "WMS".into(),
        identifiers: Vec::new(),
    }));
    sd
}

/// The default candidate's address and port for `c=` and `m=` (RFC 8839 §4.2.1.2); the
/// placeholders `0.0.0.0` / 9 without candidates (JSEP §5.2.1).
pub(crate) fn default_address(candidates: &[String]) -> (Connection, u16) {
    for c in candidates {
        let f: Vec<&str> = c.split_ascii_whitespace().collect();
        if let (Some(proto), Some(addr), Some(port)) = (f.get(2), f.get(4), f.get(5)) {
            if !proto.eq_ignore_ascii_case("udp") {
                continue;
            }
            if let (Ok(ip), Ok(port)) = (addr.parse(), port.parse()) {
                return (Connection::from_ip(ip), port);
            }
        }
    }
    (Connection::from_ip([0, 0, 0, 0].into()), 9)
}

fn sdp_fingerprint(f: &DtlsFingerprint) -> Fingerprint {
    let hash = match f.algorithm() {
        FingerprintAlgorithm::Sha1 => HashFunction::Sha1,
        FingerprintAlgorithm::Sha384 => HashFunction::Sha384,
        FingerprintAlgorithm::Sha512 => HashFunction::Sha512,
        _ => HashFunction::Sha256,
    };
    Fingerprint::new(hash, f.value().to_vec())
}

/// The DTLS fingerprints of an SDP section, those with a hash function we support.
pub(crate) fn dtls_fingerprints<'a>(
    fps: impl IntoIterator<Item = &'a Fingerprint>,
) -> Vec<DtlsFingerprint> {
    fps.into_iter()
        .filter_map(|f| {
            let alg = match f.hash_function {
                HashFunction::Sha1 => FingerprintAlgorithm::Sha1,
                HashFunction::Sha256 => FingerprintAlgorithm::Sha256,
                HashFunction::Sha384 => FingerprintAlgorithm::Sha384,
                HashFunction::Sha512 => FingerprintAlgorithm::Sha512,
                _ => return None,
            };
            DtlsFingerprint::new(alg, f.fingerprint.clone()).ok()
        })
        .collect()
}

/// Appends the ICE and DTLS lines of a bundled m-section (candidates only in the BUNDLE
/// tag's section, RFC 9143 §7.1), in libwebrtc's order.
fn push_transport(
    m: &mut MediaDescription,
    t: &LocalTransport<'_>,
    setup: Setup,
    with_candidates: bool,
) {
    let (c, port) = if with_candidates {
        default_address(t.candidates)
    } else {
        (Connection::from_ip([0, 0, 0, 0].into()), 9)
    };
    m.port = port;
    m.connections = vec![c];
    if with_candidates {
        for cand in t.candidates {
            m.attributes.push(Attribute::Candidate(cand.clone()));
        }
        if t.end_of_candidates {
            m.attributes.push(Attribute::EndOfCandidates);
        }
    }
    m.attributes.push(Attribute::IceUfrag(t.ice.ufrag.clone()));
    m.attributes.push(Attribute::IcePwd(t.ice.pwd.clone()));
    m.attributes
        .push(Attribute::IceOptions(vec!["trickle".into()]));
    m.attributes
        .push(Attribute::Fingerprint(sdp_fingerprint(t.fingerprint)));
    m.attributes.push(Attribute::Setup(setup));
}

/// `m=application 9 UDP/DTLS/SCTP webrtc-datachannel` with `a=sctp-port` and
/// `a=max-message-size` (RFC 8841). `protocol` follows the offer when answering (an old
/// `DTLS/SCTP 5000` offer gets the legacy `a=sctpmap` form back).
pub(crate) fn data_section(
    t: &LocalTransport<'_>,
    setup: Setup,
    with_candidates: bool,
    mid: &str,
    max_message_size: usize,
    offered: Option<&MediaDescription>,
) -> MediaDescription {
    let legacy = offered.is_some_and(|o| o.protocol == Protocol::DtlsSctp);
    let protocol = offered.map_or(Protocol::UdpDtlsSctp, |o| o.protocol.clone());
    let mut m = MediaDescription::new(MediaKind::Application, 9, protocol);
    if legacy {
        let fmt = offered
            .and_then(|o| o.formats.first().cloned())
            .unwrap_or_else(|| SCTP_PORT.to_string());
        m.formats.push(fmt.clone());
        push_transport(&mut m, t, setup, with_candidates);
        m.attributes.push(Attribute::Mid(mid.into()));
        m.attributes.push(Attribute::Sctpmap(oxrtc_sdp::Sctpmap {
            number: fmt.parse().unwrap_or(SCTP_PORT),
            app: "webrtc-datachannel".into(),
            streams: Some(1024),
        }));
    } else {
        m.formats.push("webrtc-datachannel".into());
        push_transport(&mut m, t, setup, with_candidates);
        m.attributes.push(Attribute::Mid(mid.into()));
        m.attributes.push(Attribute::SctpPort(SCTP_PORT));
    }
    m.attributes
        .push(Attribute::MaxMessageSize(max_message_size as u64));
    m
}

/// The media lines of an audio or video m-section.
pub(crate) struct MediaLines<'a> {
    pub direction: Direction,
    pub codecs: &'a [Codec],
    pub extmaps: &'a [Extmap],
    /// SSRCs signaled with `a=ssrc` / `a=ssrc-group:FID` (a sending section without rids).
    pub ssrcs: Vec<(u32, Option<u32>)>,
    pub cname: &'a str,
    /// `a=rid` lines and the `a=simulcast` line (RFC 8851, RFC 8853).
    pub rids: Vec<Rid>,
    pub simulcast: Option<Simulcast>,
}

/// An audio or video m-section `UDP/TLS/RTP/SAVPF` for a transceiver (JSEP §5.2.1), in
/// libwebrtc's order: transport, mid, extmaps, direction, msid, rtcp-mux, rtcp-rsize, the
/// codecs, rids and simulcast, the SSRCs with their CNAME and msid.
pub(crate) fn media_section(
    t: &LocalTransport<'_>,
    setup: Setup,
    with_candidates: bool,
    mid: &str,
    tr: &Transceiver,
    lines: &MediaLines<'_>,
    protocol: Option<&Protocol>,
) -> MediaDescription {
    let protocol = protocol.cloned().unwrap_or(Protocol::UdpTlsRtpSavpf);
    let mut m = MediaDescription::new(tr.kind.to_sdp(), 9, protocol);
    push_transport(&mut m, t, setup, with_candidates);
    m.attributes.push(Attribute::Mid(mid.into()));
    for e in lines.extmaps {
        m.attributes.push(Attribute::Extmap(e.clone()));
    }
    m.attributes
        .push(Attribute::Direction(lines.direction.to_sdp()));
    let streams: Vec<&str> = if tr.stream_ids.is_empty() {
        vec!["-"]
    } else {
        tr.stream_ids.iter().map(String::as_str).collect()
    };
    if lines.direction.sends() {
        for s in &streams {
            m.attributes
                .push(Attribute::Msid(Msid::new(*s, Some(tr.track_id.as_str()))));
        }
    }
    m.attributes.push(Attribute::RtcpMux);
    m.attributes.push(Attribute::RtcpRsize);
    for c in lines.codecs {
        m.add_codec(c);
    }
    for r in &lines.rids {
        m.attributes.push(Attribute::Rid(r.clone()));
    }
    if let Some(sim) = &lines.simulcast {
        m.attributes.push(Attribute::Simulcast(sim.clone()));
    }
    if lines.direction.sends() {
        for (ssrc, rtx) in &lines.ssrcs {
            if let Some(rtx) = rtx {
                m.attributes.push(Attribute::SsrcGroup(SsrcGroup {
                    semantics: "FID".into(),
                    ssrcs: vec![*ssrc, *rtx],
                }));
            }
        }
        for (ssrc, rtx) in &lines.ssrcs {
            for s in std::iter::once(*ssrc).chain(*rtx) {
                m.attributes
                    .push(Attribute::Ssrc(Ssrc::cname(s, lines.cname)));
                m.attributes.push(Attribute::Ssrc(Ssrc {
                    ssrc: s,
                    attribute: SsrcAttribute::Msid(Msid::new(
                        streams.first().copied().unwrap_or("-"),
                        Some(tr.track_id.as_str()),
                    )),
                }));
            }
        }
    }
    m
}

/// A rejected m-section (port 0, JSEP §5.2.2 / §5.3.1): kind, protocol and formats kept.
pub(crate) fn rejected_section(
    kind: MediaKind,
    protocol: Protocol,
    formats: Vec<String>,
    mid: Option<&str>,
) -> MediaDescription {
    let mut m = MediaDescription::new(kind, 0, protocol);
    m.formats = if formats.is_empty() {
        vec!["0".into()]
    } else {
        formats
    };
    m.connections = vec![Connection::from_ip([0, 0, 0, 0].into())];
    if let Some(mid) = mid {
        m.attributes.push(Attribute::Mid(mid.into()));
    }
    m
}

/// The transport parameters of a remote description, read from its BUNDLE tag (the first
/// mid of the first BUNDLE group) or else its first accepted m-section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RemoteTransport {
    pub ice: IceCredentials,
    pub fingerprints: Vec<DtlsFingerprint>,
    pub setup: Option<Setup>,
    pub ice_lite: bool,
    /// The remote's SCTP port (RFC 8841 §5), if it has a data section.
    pub sctp_port: Option<u16>,
    /// The remote's max-message-size in bytes; 0 means no limit (RFC 8841 §6).
    pub max_message_size: usize,
}

/// The m-section that carries the transport (BUNDLE tag or first accepted).
pub(crate) fn transport_section(sd: &SessionDescription) -> Option<&MediaDescription> {
    if let Some(g) = sd.bundle_groups().next() {
        if let Some(m) = g.mids.first().and_then(|mid| sd.media_by_mid(mid)) {
            if !m.is_rejected() {
                return Some(m);
            }
        }
    }
    sd.media.iter().find(|m| !m.is_rejected())
}

/// Reads and checks the transport of a remote description (JSEP §5.8: ICE credentials and a
/// fingerprint are required on accepted sections).
///
/// # Errors
/// [`Error::InvalidDescription`] when credentials, fingerprint or setup are missing or bad.
pub(crate) fn remote_transport(sd: &SessionDescription) -> Result<Option<RemoteTransport>, Error> {
    let Some(m) = transport_section(sd) else {
        return Ok(None);
    };
    let (ufrag, pwd) = sd
        .effective_ice_credentials(m)
        .ok_or_else(|| Error::InvalidDescription("no ice-ufrag / ice-pwd".into()))?;
    // RFC 8839 §5.4: ufrag 4–256 characters, pwd 22–256.
    if !(4..=256).contains(&ufrag.len()) || !(22..=256).contains(&pwd.len()) {
        return Err(Error::InvalidDescription(
            "ice-ufrag or ice-pwd of the wrong length".into(),
        ));
    }
    let sdp_fps = sd.effective_fingerprints(m);
    if sdp_fps.is_empty() {
        return Err(Error::InvalidDescription("no a=fingerprint".into()));
    }
    let fingerprints = dtls_fingerprints(sdp_fps);
    if fingerprints.is_empty() {
        return Err(Error::InvalidDescription(
            "no a=fingerprint with a supported hash function".into(),
        ));
    }
    let data = sd
        .media
        .iter()
        .find(|m| m.kind == MediaKind::Application && m.protocol.is_sctp() && !m.is_rejected());
    let sctp_port = data.map(|d| {
        d.sctp_port()
            .or_else(|| {
                d.attributes.iter().find_map(|a| match a {
                    Attribute::Sctpmap(s) => Some(s.number),
                    _ => None,
                })
            })
            .unwrap_or(SCTP_PORT)
    });
    let max_message_size = data
        .and_then(|d| d.max_message_size())
        .map_or(DEFAULT_REMOTE_MAX_MESSAGE_SIZE, |v| {
            usize::try_from(v).unwrap_or(usize::MAX)
        });
    Ok(Some(RemoteTransport {
        ice: IceCredentials {
            ufrag: ufrag.into(),
            pwd: pwd.into(),
        },
        fingerprints,
        setup: sd.effective_setup(m),
        ice_lite: sd.ice_lite(),
        sctp_port,
        max_message_size,
    }))
}

/// The `a=setup` of our answer (RFC 8842 §5.3): the opposite of the offer's `active` /
/// `passive`; for `actpass`, our configured preference (or the role we already have).
pub(crate) fn answer_setup(offered: Option<Setup>, preferred: Setup) -> Result<Setup, Error> {
    Ok(match offered {
        Some(Setup::Active) => Setup::Passive,
        Some(Setup::Passive) => Setup::Active,
        Some(Setup::Actpass) | None => preferred,
        Some(Setup::Holdconn) => return Err(Error::InvalidDescription("a=setup:holdconn".into())),
    })
}

/// Checks an answer against our offer (JSEP §5.10): same number of m-sections, same mids
/// in the same order, and an answer's `a=setup` is not `actpass`.
pub(crate) fn check_answer(
    offer: &SessionDescription,
    answer: &SessionDescription,
) -> Result<(), Error> {
    if offer.media.len() != answer.media.len() {
        return Err(Error::InvalidDescription(format!(
            "answer has {} m-sections, the offer {}",
            answer.media.len(),
            offer.media.len()
        )));
    }
    for (o, a) in offer.media.iter().zip(&answer.media) {
        if !a.is_rejected() && o.mid() != a.mid() {
            return Err(Error::InvalidDescription(format!(
                "answer mid {:?} where the offer has {:?}",
                a.mid(),
                o.mid()
            )));
        }
        if o.kind != a.kind {
            return Err(Error::InvalidDescription(
                "answer m-section of another kind".into(),
            ));
        }
    }
    if let Some(m) = transport_section(answer) {
        if answer.effective_setup(m) == Some(Setup::Actpass) {
            return Err(Error::InvalidDescription(
                "an answer cannot use a=setup:actpass".into(),
            ));
        }
    }
    Ok(())
}

/// Checks an offer (JSEP §5.8): every accepted m-section has a mid, mids are unique.
pub(crate) fn check_offer(offer: &SessionDescription) -> Result<(), Error> {
    let mut seen: Vec<&str> = Vec::new();
    for m in &offer.media {
        let Some(mid) = m.mid() else {
            if m.is_rejected() {
                continue;
            }
            return Err(Error::InvalidDescription("m-section without a=mid".into()));
        };
        if seen.contains(&mid) {
            return Err(Error::InvalidDescription(format!("duplicate mid {mid}")));
        }
        seen.push(mid);
    }
    Ok(())
}

/// Whether the remote description's m-section is a data channel section we can take.
pub(crate) fn is_data_section(m: &MediaDescription) -> bool {
    m.kind == MediaKind::Application && m.protocol.is_sctp()
}

/// The direction of a section seen by the side that wrote it (`a=sendrecv` when absent).
pub(crate) fn section_direction(sd: &SessionDescription, m: &MediaDescription) -> Direction {
    Direction::from_sdp(sd.effective_direction(m))
}
