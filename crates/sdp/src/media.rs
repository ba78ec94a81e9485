//! Media descriptions (`m=` sections, RFC 8866 §5.14) and their accessors.

use core::fmt;

use crate::attribute::{
    Attribute, Direction, Extmap, Fingerprint, Fmtp, Msid, RtcpFb, Rtpmap, Setup, Ssrc, SsrcGroup,
};
use crate::codec::Codec;
use crate::session::{Bandwidth, Connection};
use crate::simulcast::{Rid, Simulcast};

/// One media description: the `m=` line and the `i=`, `c=`, `b=`, `k=` and `a=` lines after
/// it (RFC 8866 §5.14).
///
/// Fields are public for building; accessors read the typed attributes without string
/// digging. Accessors here look at this section only; [`SessionDescription`]'s `effective_*`
/// methods apply session-level defaults.
///
/// [`SessionDescription`]: crate::SessionDescription
#[derive(Debug, Clone, PartialEq)]
pub struct MediaDescription {
    /// `<media>`: audio, video, application...
    pub kind: MediaKind,
    /// `<port>`; 0 rejects the section (RFC 3264 §6), 9 is the JSEP placeholder.
    pub port: u16,
    /// `/<number of ports>` after the port, rarely used.
    pub number_of_ports: Option<u16>,
    /// `<proto>`.
    pub protocol: Protocol,
    /// `<fmt>` list: RTP payload types as decimal strings, or `webrtc-datachannel`.
    pub formats: Vec<String>,
    /// `i=` media title.
    pub title: Option<String>,
    /// `c=` lines (several are allowed in a media description).
    pub connections: Vec<Connection>,
    /// `b=` lines.
    pub bandwidths: Vec<Bandwidth>,
    /// `k=` (obsolete, kept for losslessness).
    pub key: Option<String>,
    /// `a=` lines, in order.
    pub attributes: Vec<Attribute>,
}

impl MediaDescription {
    /// An empty section: `m=<kind> <port> <protocol>` with no formats or attributes yet.
    pub fn new(kind: MediaKind, port: u16, protocol: Protocol) -> Self {
        Self {
            kind,
            port,
            number_of_ports: None,
            protocol,
            formats: Vec::new(),
            title: None,
            connections: Vec::new(),
            bandwidths: Vec::new(),
            key: None,
            attributes: Vec::new(),
        }
    }

    /// Builder: appends a format to the `m=` line.
    #[must_use]
    pub fn with_format(mut self, format: impl Into<String>) -> Self {
        self.formats.push(format.into());
        self
    }

    /// Builder: appends a `c=` line.
    #[must_use]
    pub fn with_connection(mut self, connection: Connection) -> Self {
        self.connections.push(connection);
        self
    }

    /// Builder: appends an attribute.
    #[must_use]
    pub fn with_attribute(mut self, attribute: Attribute) -> Self {
        self.attributes.push(attribute);
        self
    }

    /// Builder: appends a codec: its payload type to the formats, then its `a=rtpmap`,
    /// `a=rtcp-fb` and `a=fmtp` lines (libwebrtc's order).
    #[must_use]
    pub fn with_codec(mut self, codec: &Codec) -> Self {
        self.add_codec(codec);
        self
    }

    /// Appends a codec, as [`with_codec`](Self::with_codec).
    pub fn add_codec(&mut self, codec: &Codec) {
        self.formats.push(codec.payload_type.to_string());
        self.attributes.push(Attribute::Rtpmap(Rtpmap::new(
            codec.payload_type,
            codec.encoding_name.clone(),
            codec.clock_rate,
            codec.encoding_parameters,
        )));
        for fb in &codec.feedback {
            self.attributes.push(Attribute::RtcpFb(RtcpFb::new(
                codec.payload_type,
                fb.clone(),
            )));
        }
        if let Some(params) = &codec.fmtp {
            self.attributes.push(Attribute::Fmtp(Fmtp::new(
                codec.payload_type,
                params.clone(),
            )));
        }
    }

    /// Whether the section is rejected: port 0 without `a=bundle-only` (RFC 8829 §5.2.2,
    /// RFC 9143 §7.3.3).
    pub fn is_rejected(&self) -> bool {
        self.port == 0 && !self.bundle_only()
    }

    /// The formats that are RTP payload types (0–127), in `m=` order.
    pub fn payload_types(&self) -> impl Iterator<Item = u8> + '_ {
        self.formats
            .iter()
            .filter_map(|f| crate::attribute::parse_pt(f))
    }

    /// The direction attribute of this section, if any (see
    /// [`SessionDescription::effective_direction`](crate::SessionDescription::effective_direction)
    /// for the one that applies).
    pub fn direction(&self) -> Option<Direction> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::Direction(d) => Some(*d),
            _ => None,
        })
    }

    /// `a=mid`.
    pub fn mid(&self) -> Option<&str> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::Mid(m) => Some(m.as_str()),
            _ => None,
        })
    }

    /// `a=ice-ufrag` of this section.
    pub fn ice_ufrag(&self) -> Option<&str> {
        find_str(&self.attributes, |a| match a {
            Attribute::IceUfrag(s) => Some(s),
            _ => None,
        })
    }

    /// `a=ice-pwd` of this section.
    pub fn ice_pwd(&self) -> Option<&str> {
        find_str(&self.attributes, |a| match a {
            Attribute::IcePwd(s) => Some(s),
            _ => None,
        })
    }

    /// `a=ice-options` tokens of this section.
    pub fn ice_options(&self) -> impl Iterator<Item = &str> + '_ {
        ice_options(&self.attributes)
    }

    /// `a=fingerprint` lines of this section.
    pub fn fingerprints(&self) -> impl Iterator<Item = &Fingerprint> + '_ {
        fingerprints(&self.attributes)
    }

    /// `a=setup`.
    pub fn setup(&self) -> Option<Setup> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::Setup(s) => Some(*s),
            _ => None,
        })
    }

    /// `a=tls-id`.
    pub fn tls_id(&self) -> Option<&str> {
        find_str(&self.attributes, |a| match a {
            Attribute::TlsId(s) => Some(s),
            _ => None,
        })
    }

    /// `a=candidate` values (without `candidate:`), in order.
    pub fn candidates(&self) -> impl Iterator<Item = &str> + '_ {
        self.attributes.iter().filter_map(|a| match a {
            Attribute::Candidate(c) => Some(c.as_str()),
            _ => None,
        })
    }

    /// Whether `a=end-of-candidates` is present.
    pub fn end_of_candidates(&self) -> bool {
        self.has(&Attribute::EndOfCandidates)
    }

    /// Whether `a=rtcp-mux` is present.
    pub fn rtcp_mux(&self) -> bool {
        self.has(&Attribute::RtcpMux)
    }

    /// Whether `a=rtcp-mux-only` is present.
    pub fn rtcp_mux_only(&self) -> bool {
        self.has(&Attribute::RtcpMuxOnly)
    }

    /// Whether `a=rtcp-rsize` is present.
    pub fn rtcp_rsize(&self) -> bool {
        self.has(&Attribute::RtcpRsize)
    }

    /// Whether `a=bundle-only` is present.
    pub fn bundle_only(&self) -> bool {
        self.has(&Attribute::BundleOnly)
    }

    /// `a=sctp-port`.
    pub fn sctp_port(&self) -> Option<u16> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::SctpPort(p) => Some(*p),
            _ => None,
        })
    }

    /// `a=max-message-size` in bytes (0: no limit). When absent, RFC 8841 §6.1 says to assume
    /// 64 KiB.
    pub fn max_message_size(&self) -> Option<u64> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::MaxMessageSize(p) => Some(*p),
            _ => None,
        })
    }

    /// `a=msid` lines.
    pub fn msids(&self) -> impl Iterator<Item = &Msid> + '_ {
        self.attributes.iter().filter_map(|a| match a {
            Attribute::Msid(m) => Some(m),
            _ => None,
        })
    }

    /// `a=ssrc` lines.
    pub fn ssrcs(&self) -> impl Iterator<Item = &Ssrc> + '_ {
        self.attributes.iter().filter_map(|a| match a {
            Attribute::Ssrc(m) => Some(m),
            _ => None,
        })
    }

    /// `a=ssrc-group` lines.
    pub fn ssrc_groups(&self) -> impl Iterator<Item = &SsrcGroup> + '_ {
        self.attributes.iter().filter_map(|a| match a {
            Attribute::SsrcGroup(m) => Some(m),
            _ => None,
        })
    }

    /// `a=extmap` lines.
    pub fn extmaps(&self) -> impl Iterator<Item = &Extmap> + '_ {
        self.attributes.iter().filter_map(|a| match a {
            Attribute::Extmap(m) => Some(m),
            _ => None,
        })
    }

    /// `a=rid` lines.
    pub fn rids(&self) -> impl Iterator<Item = &Rid> + '_ {
        self.attributes.iter().filter_map(|a| match a {
            Attribute::Rid(m) => Some(m),
            _ => None,
        })
    }

    /// `a=simulcast`.
    pub fn simulcast(&self) -> Option<&Simulcast> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::Simulcast(m) => Some(m),
            _ => None,
        })
    }

    /// `a=rtpmap` lines.
    pub fn rtpmaps(&self) -> impl Iterator<Item = &Rtpmap> + '_ {
        self.attributes.iter().filter_map(|a| match a {
            Attribute::Rtpmap(m) => Some(m),
            _ => None,
        })
    }

    /// `a=fmtp` lines.
    pub fn fmtps(&self) -> impl Iterator<Item = &Fmtp> + '_ {
        self.attributes.iter().filter_map(|a| match a {
            Attribute::Fmtp(m) => Some(m),
            _ => None,
        })
    }

    /// `a=rtcp-fb` lines.
    pub fn rtcp_fbs(&self) -> impl Iterator<Item = &RtcpFb> + '_ {
        self.attributes.iter().filter_map(|a| match a {
            Attribute::RtcpFb(m) => Some(m),
            _ => None,
        })
    }

    /// The codecs of this section in `m=` order, each joined from its `a=rtpmap`, `a=fmtp`
    /// and `a=rtcp-fb` lines (including `rtcp-fb:*`).
    ///
    /// Static payload types without an rtpmap take their RFC 3551 §6 encoding; a dynamic
    /// payload type without an rtpmap is skipped, as it cannot be used.
    pub fn codecs(&self) -> Vec<Codec> {
        self.payload_types()
            .filter_map(|pt| self.codec(pt))
            .collect()
    }

    /// The codec for one payload type, if it is on the `m=` line or has an rtpmap (see
    /// [`codecs`](Self::codecs)).
    pub fn codec(&self, payload_type: u8) -> Option<Codec> {
        let mut codec = match self.rtpmaps().find(|r| r.payload_type == payload_type) {
            Some(r) => Codec::new(
                payload_type,
                r.encoding_name.clone(),
                r.clock_rate,
                r.encoding_parameters,
            ),
            None => Codec::from_static_payload_type(payload_type)?,
        };
        codec.fmtp = self
            .fmtps()
            .find(|f| f.payload_type == payload_type)
            .map(|f| f.parameters.clone());
        codec.feedback = self
            .rtcp_fbs()
            .filter(|f| f.payload_type.is_none_or(|pt| pt == payload_type))
            .map(|f| f.feedback.clone())
            .collect();
        Some(codec)
    }

    fn has(&self, attribute: &Attribute) -> bool {
        self.attributes.iter().any(|a| a == attribute)
    }

    pub(crate) fn write_to(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "m={} {}", self.kind, self.port)?;
        if let Some(n) = self.number_of_ports {
            write!(f, "/{n}")?;
        }
        write!(f, " {}", self.protocol)?;
        for fmt in &self.formats {
            write!(f, " {fmt}")?;
        }
        f.write_str("\r\n")?;
        if let Some(i) = &self.title {
            write!(f, "i={i}\r\n")?;
        }
        for c in &self.connections {
            write!(f, "c={c}\r\n")?;
        }
        for b in &self.bandwidths {
            write!(f, "b={b}\r\n")?;
        }
        if let Some(k) = &self.key {
            write!(f, "k={k}\r\n")?;
        }
        for a in &self.attributes {
            f.write_str("a=")?;
            fmt::Display::fmt(a, f)?;
            f.write_str("\r\n")?;
        }
        Ok(())
    }
}

impl fmt::Display for MediaDescription {
    /// Writes the section's lines, each ending in CRLF.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_to(f)
    }
}

pub(crate) fn find_str<'a>(
    attributes: &'a [Attribute],
    f: impl Fn(&'a Attribute) -> Option<&'a String>,
) -> Option<&'a str> {
    attributes.iter().find_map(f).map(String::as_str)
}

pub(crate) fn fingerprints(attributes: &[Attribute]) -> impl Iterator<Item = &Fingerprint> + '_ {
    attributes.iter().filter_map(|a| match a {
        Attribute::Fingerprint(m) => Some(m),
        _ => None,
    })
}

pub(crate) fn ice_options(attributes: &[Attribute]) -> impl Iterator<Item = &str> + '_ {
    attributes
        .iter()
        .filter_map(|a| match a {
            Attribute::IceOptions(o) => Some(o.iter().map(String::as_str)),
            _ => None,
        })
        .flatten()
}

/// `<media>` of an `m=` line (RFC 8866 §5.14).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MediaKind {
    /// `audio`.
    Audio,
    /// `video`.
    Video,
    /// `text`.
    Text,
    /// `application` (data channels).
    Application,
    /// `message`.
    Message,
    /// Any other media type, as written. Do not put a name above in here: it would parse back
    /// as the typed variant.
    Other(String),
}

impl MediaKind {
    /// The name as written on the `m=` line.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Audio => "audio",
            Self::Video => "video",
            Self::Text => "text",
            Self::Application => "application",
            Self::Message => "message",
            Self::Other(s) => s,
        }
    }

    pub(crate) fn parse(s: &str) -> Self {
        match s {
            "audio" => Self::Audio,
            "video" => Self::Video,
            "text" => Self::Text,
            "application" => Self::Application,
            "message" => Self::Message,
            other => Self::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for MediaKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `<proto>` of an `m=` line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// `RTP/AVP` (RFC 3551).
    RtpAvp,
    /// `RTP/SAVP` (RFC 3711).
    RtpSavp,
    /// `RTP/AVPF` (RFC 4585).
    RtpAvpf,
    /// `RTP/SAVPF` (RFC 5124).
    RtpSavpf,
    /// `UDP/TLS/RTP/SAVP` (RFC 5764).
    UdpTlsRtpSavp,
    /// `UDP/TLS/RTP/SAVPF` (RFC 5764): WebRTC media.
    UdpTlsRtpSavpf,
    /// `UDP/DTLS/SCTP` (RFC 8841): WebRTC data channels.
    UdpDtlsSctp,
    /// `TCP/DTLS/SCTP` (RFC 8841).
    TcpDtlsSctp,
    /// `DTLS/SCTP` (the legacy draft form, with `a=sctpmap`).
    DtlsSctp,
    /// Any other protocol, as written. Do not put a name above in here: it would parse back
    /// as the typed variant.
    Other(String),
}

impl Protocol {
    /// The protocol as written on the `m=` line.
    pub fn as_str(&self) -> &str {
        match self {
            Self::RtpAvp => "RTP/AVP",
            Self::RtpSavp => "RTP/SAVP",
            Self::RtpAvpf => "RTP/AVPF",
            Self::RtpSavpf => "RTP/SAVPF",
            Self::UdpTlsRtpSavp => "UDP/TLS/RTP/SAVP",
            Self::UdpTlsRtpSavpf => "UDP/TLS/RTP/SAVPF",
            Self::UdpDtlsSctp => "UDP/DTLS/SCTP",
            Self::TcpDtlsSctp => "TCP/DTLS/SCTP",
            Self::DtlsSctp => "DTLS/SCTP",
            Self::Other(s) => s,
        }
    }

    /// Whether the section carries RTP.
    pub fn is_rtp(&self) -> bool {
        matches!(
            self,
            Self::RtpAvp
                | Self::RtpSavp
                | Self::RtpAvpf
                | Self::RtpSavpf
                | Self::UdpTlsRtpSavp
                | Self::UdpTlsRtpSavpf
        )
    }

    /// Whether the section carries SCTP (data channels).
    pub fn is_sctp(&self) -> bool {
        matches!(self, Self::UdpDtlsSctp | Self::TcpDtlsSctp | Self::DtlsSctp)
    }

    pub(crate) fn parse(s: &str) -> Self {
        match s {
            "RTP/AVP" => Self::RtpAvp,
            "RTP/SAVP" => Self::RtpSavp,
            "RTP/AVPF" => Self::RtpAvpf,
            "RTP/SAVPF" => Self::RtpSavpf,
            "UDP/TLS/RTP/SAVP" => Self::UdpTlsRtpSavp,
            "UDP/TLS/RTP/SAVPF" => Self::UdpTlsRtpSavpf,
            "UDP/DTLS/SCTP" => Self::UdpDtlsSctp,
            "TCP/DTLS/SCTP" => Self::TcpDtlsSctp,
            "DTLS/SCTP" => Self::DtlsSctp,
            other => Self::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
