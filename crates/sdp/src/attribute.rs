//! `a=` attributes: the [`Attribute`] enum and one type per typed attribute.
//!
//! Parsing takes the text after `a=`; writing ([`Display`](fmt::Display)) gives it back
//! without the `a=` prefix and without a line ending. Attributes this crate does not type
//! become [`Attribute::Other`] with their raw value, so nothing is lost.

use core::fmt;
use core::str::FromStr;

use crate::error::{attr, Error, ErrorKind};
use crate::session::Connection;
use crate::simulcast::{Rid, Simulcast};

/// One `a=` line (RFC 8866 §5.13), typed where WebRTC needs it.
///
/// Variants are in the order of the RFCs that define them. Writing a variant whose strings
/// hold whitespace where the grammar has a single token, or CR/LF anywhere, produces text that
/// does not parse back to the same value: values are the caller's to keep well formed.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Attribute {
    /// `a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>]`
    /// (RFC 8866 §6.6).
    Rtpmap(Rtpmap),
    /// `a=fmtp:<format> <format specific parameters>` (RFC 8866 §6.15).
    Fmtp(Fmtp),
    /// `a=ptime:<packet time>` in milliseconds (RFC 8866 §6.4).
    Ptime(f64),
    /// `a=maxptime:<maximum packet time>` in milliseconds (RFC 8866 §6.5).
    MaxPtime(f64),
    /// `a=framerate:<frame rate>` in frames per second (RFC 8866 §6.8).
    Framerate(f64),
    /// `a=sendrecv`, `a=sendonly`, `a=recvonly`, `a=inactive` (RFC 8866 §6.7).
    Direction(Direction),
    /// `a=rtcp:<port> [<nettype> <addrtype> <connection-address>]` (RFC 3605).
    Rtcp(Rtcp),
    /// `a=rtcp-fb:<payload type or *> <type> [<parameters>]` (RFC 4585 §4.2).
    RtcpFb(RtcpFb),
    /// `a=ssrc:<ssrc-id> <attribute>[:<value>]` (RFC 5576 §4.1).
    Ssrc(Ssrc),
    /// `a=ssrc-group:<semantics> <ssrc-id>...` (RFC 5576 §4.2): FID, SIM, FEC-FR.
    SsrcGroup(SsrcGroup),
    /// `a=rtcp-mux` (RFC 5761 §5.1.1).
    RtcpMux,
    /// `a=rtcp-rsize` (RFC 5506 §5).
    RtcpRsize,
    /// `a=group:<semantics> <mid>...` (RFC 5888 §5): BUNDLE (RFC 9143), LS.
    Group(Group),
    /// `a=mid:<identification-tag>` (RFC 5888 §4).
    Mid(String),
    /// `a=fingerprint:<hash function> <fingerprint>` (RFC 8122 §5); several are allowed.
    Fingerprint(Fingerprint),
    /// `a=setup:active|passive|actpass|holdconn` (RFC 4145 §4).
    Setup(Setup),
    /// `a=tls-id:<id>` (RFC 8842 §4).
    TlsId(String),
    /// `a=ice-ufrag:<ufrag>` (RFC 8839 §5.4).
    IceUfrag(String),
    /// `a=ice-pwd:<password>` (RFC 8839 §5.4).
    IcePwd(String),
    /// `a=ice-options:<option>...` (RFC 8839 §5.6), e.g. `trickle`, `ice2`.
    IceOptions(Vec<String>),
    /// `a=ice-lite` (RFC 8839 §5.3).
    IceLite,
    /// `a=candidate:<value>` (RFC 8839 §5.1). The value (without `candidate:`) stays a
    /// string: its grammar lives in `oxrtc-ice`.
    Candidate(String),
    /// `a=end-of-candidates` (RFC 8840 §8.2).
    EndOfCandidates,
    /// `a=extmap:<id>[/<direction>] <uri> [<extension attributes>]` (RFC 8285 §8).
    Extmap(Extmap),
    /// `a=extmap-allow-mixed` (RFC 8285 §6).
    ExtmapAllowMixed,
    /// `a=msid:<stream id> [<track id>]` (RFC 8830 §2).
    Msid(Msid),
    /// `a=msid-semantic:<semantic> [<identifier>...]` (draft-ietf-mmusic-msid, still sent by
    /// libwebrtc: `WMS`).
    MsidSemantic(MsidSemantic),
    /// `a=rid:<id> send|recv [<restrictions>]` (RFC 8851 §4).
    Rid(Rid),
    /// `a=simulcast:<send/recv lists>` (RFC 8853 §5.1).
    Simulcast(Simulcast),
    /// `a=rtcp-mux-only` (RFC 8858 §3).
    RtcpMuxOnly,
    /// `a=bundle-only` (RFC 9143 §6).
    BundleOnly,
    /// `a=sctp-port:<port>` (RFC 8841 §5).
    SctpPort(u16),
    /// `a=max-message-size:<bytes>` (RFC 8841 §6); 0 means no limit.
    MaxMessageSize(u64),
    /// `a=sctpmap:<number> <app> [<streams>]`, the legacy form of draft-ietf-mmusic-sctp-sdp-05
    /// still sent by old stacks. Parsed so it can be read; new offers use `sctp-port`.
    Sctpmap(Sctpmap),
    /// Any other attribute, kept as written: `a=<name>` (`value: None`) or
    /// `a=<name>:<value>`.
    Other {
        /// Attribute name.
        name: String,
        /// Raw value after the first `:`, if there was one.
        value: Option<String>,
    },
}

impl Attribute {
    /// The attribute name as written after `a=` (e.g. `"rtpmap"`, `"sendrecv"`).
    pub fn name(&self) -> &str {
        match self {
            Self::Rtpmap(_) => "rtpmap",
            Self::Fmtp(_) => "fmtp",
            Self::Ptime(_) => "ptime",
            Self::MaxPtime(_) => "maxptime",
            Self::Framerate(_) => "framerate",
            Self::Direction(d) => d.as_str(),
            Self::Rtcp(_) => "rtcp",
            Self::RtcpFb(_) => "rtcp-fb",
            Self::Ssrc(_) => "ssrc",
            Self::SsrcGroup(_) => "ssrc-group",
            Self::RtcpMux => "rtcp-mux",
            Self::RtcpRsize => "rtcp-rsize",
            Self::Group(_) => "group",
            Self::Mid(_) => "mid",
            Self::Fingerprint(_) => "fingerprint",
            Self::Setup(_) => "setup",
            Self::TlsId(_) => "tls-id",
            Self::IceUfrag(_) => "ice-ufrag",
            Self::IcePwd(_) => "ice-pwd",
            Self::IceOptions(_) => "ice-options",
            Self::IceLite => "ice-lite",
            Self::Candidate(_) => "candidate",
            Self::EndOfCandidates => "end-of-candidates",
            Self::Extmap(_) => "extmap",
            Self::ExtmapAllowMixed => "extmap-allow-mixed",
            Self::Msid(_) => "msid",
            Self::MsidSemantic(_) => "msid-semantic",
            Self::Rid(_) => "rid",
            Self::Simulcast(_) => "simulcast",
            Self::RtcpMuxOnly => "rtcp-mux-only",
            Self::BundleOnly => "bundle-only",
            Self::SctpPort(_) => "sctp-port",
            Self::MaxMessageSize(_) => "max-message-size",
            Self::Sctpmap(_) => "sctpmap",
            Self::Other { name, .. } => name,
        }
    }

    /// Parses the text after `a=` (trailing whitespace is ignored).
    ///
    /// # Errors
    /// [`ErrorKind::MalformedLine`] when the name is not a token;
    /// [`ErrorKind::InvalidAttribute`] when a typed attribute breaks its grammar.
    pub(crate) fn parse_value(text: &str) -> Result<Self, ErrorKind> {
        let text = trim_end_blank(text);
        let (name, value) = match text.split_once(':') {
            Some((n, v)) => (n, Some(v)),
            None => (text, None),
        };
        if !is_token(name) {
            return Err(ErrorKind::MalformedLine);
        }
        let Some(value) = value else {
            return Ok(match name {
                "sendrecv" => Self::Direction(Direction::SendRecv),
                "sendonly" => Self::Direction(Direction::SendOnly),
                "recvonly" => Self::Direction(Direction::RecvOnly),
                "inactive" => Self::Direction(Direction::Inactive),
                "rtcp-mux" => Self::RtcpMux,
                "rtcp-rsize" => Self::RtcpRsize,
                "rtcp-mux-only" => Self::RtcpMuxOnly,
                "ice-lite" => Self::IceLite,
                "end-of-candidates" => Self::EndOfCandidates,
                "extmap-allow-mixed" => Self::ExtmapAllowMixed,
                "bundle-only" => Self::BundleOnly,
                _ => {
                    if let Some(known) = value_attribute_name(name) {
                        return Err(attr(known, "missing value"));
                    }
                    Self::Other {
                        name: name.to_owned(),
                        value: None,
                    }
                }
            });
        };
        Ok(match name {
            "rtpmap" => Self::Rtpmap(Rtpmap::parse(value)?),
            "fmtp" => Self::Fmtp(Fmtp::parse(value)?),
            "ptime" => Self::Ptime(parse_decimal(value, "ptime")?),
            "maxptime" => Self::MaxPtime(parse_decimal(value, "maxptime")?),
            "framerate" => Self::Framerate(parse_decimal(value, "framerate")?),
            "rtcp" => Self::Rtcp(Rtcp::parse(value)?),
            "rtcp-fb" => Self::RtcpFb(RtcpFb::parse(value)?),
            "ssrc" => Self::Ssrc(Ssrc::parse(value)?),
            "ssrc-group" => Self::SsrcGroup(SsrcGroup::parse(value)?),
            "group" => Self::Group(Group::parse(value)?),
            "mid" => Self::Mid(non_empty(value, "mid")?),
            "fingerprint" => Self::Fingerprint(Fingerprint::parse(value)?),
            "setup" => Self::Setup(Setup::parse(value)?),
            "tls-id" => Self::TlsId(non_empty(value, "tls-id")?),
            "ice-ufrag" => Self::IceUfrag(non_empty(value, "ice-ufrag")?),
            "ice-pwd" => Self::IcePwd(non_empty(value, "ice-pwd")?),
            "ice-options" => Self::IceOptions(words(value)),
            "candidate" => Self::Candidate(value.to_owned()),
            "extmap" => Self::Extmap(Extmap::parse(value)?),
            "msid" => Self::Msid(Msid::parse(value)?),
            "msid-semantic" => Self::MsidSemantic(MsidSemantic::parse(value)?),
            "rid" => Self::Rid(Rid::parse(value)?),
            "simulcast" => Self::Simulcast(Simulcast::parse(value)?),
            "sctp-port" => Self::SctpPort(
                value
                    .trim()
                    .parse()
                    .map_err(|_| attr("sctp-port", "not a port number"))?,
            ),
            "max-message-size" => Self::MaxMessageSize(
                parse_u64(value.trim()).ok_or(attr("max-message-size", "not a number"))?,
            ),
            "sctpmap" => Self::Sctpmap(Sctpmap::parse(value)?),
            _ => Self::Other {
                name: name.to_owned(),
                value: Some(value.to_owned()),
            },
        })
    }
}

impl FromStr for Attribute {
    type Err = Error;

    /// Parses one attribute, with or without its `a=` prefix: `"mid:0"`, `"a=rtcp-mux"`.
    fn from_str(s: &str) -> Result<Self, Error> {
        let s = s.strip_prefix("a=").unwrap_or(s);
        if s.contains(['\r', '\n', '\0']) {
            return Err(Error::new(0, ErrorKind::MalformedLine));
        }
        Self::parse_value(s).map_err(|kind| Error::new(0, kind))
    }
}

impl fmt::Display for Attribute {
    /// Writes `name[:value]`, without `a=` and without a line ending.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())?;
        let value: &dyn fmt::Display = match self {
            Self::Rtpmap(v) => v,
            Self::Fmtp(v) => v,
            Self::Ptime(v) | Self::MaxPtime(v) | Self::Framerate(v) => v,
            Self::Rtcp(v) => v,
            Self::RtcpFb(v) => v,
            Self::Ssrc(v) => v,
            Self::SsrcGroup(v) => v,
            Self::Group(v) => v,
            Self::Fingerprint(v) => v,
            Self::Setup(v) => return write_value(f, v.as_str()),
            Self::Mid(v)
            | Self::TlsId(v)
            | Self::IceUfrag(v)
            | Self::IcePwd(v)
            | Self::Candidate(v)
            | Self::Other { value: Some(v), .. } => return write_value(f, v),
            Self::IceOptions(v) => {
                f.write_str(":")?;
                return write_joined(f, v, " ");
            }
            Self::Extmap(v) => v,
            Self::Msid(v) => v,
            Self::MsidSemantic(v) => v,
            Self::Rid(v) => v,
            Self::Simulcast(v) => v,
            Self::SctpPort(v) => v,
            Self::MaxMessageSize(v) => v,
            Self::Sctpmap(v) => v,
            Self::Direction(_)
            | Self::RtcpMux
            | Self::RtcpRsize
            | Self::IceLite
            | Self::EndOfCandidates
            | Self::ExtmapAllowMixed
            | Self::RtcpMuxOnly
            | Self::BundleOnly
            | Self::Other { value: None, .. } => return Ok(()),
        };
        f.write_str(":")?;
        value.fmt(f)
    }
}

fn write_value(f: &mut fmt::Formatter<'_>, v: &str) -> fmt::Result {
    f.write_str(":")?;
    f.write_str(v)
}

/// Media direction (RFC 8866 §6.7; RFC 3264 §5.1 for its meaning in offer/answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// `sendrecv`: the default when no direction is given.
    SendRecv,
    /// `sendonly`.
    SendOnly,
    /// `recvonly`.
    RecvOnly,
    /// `inactive`.
    Inactive,
}

impl Direction {
    /// The attribute name: `"sendrecv"`, `"sendonly"`, `"recvonly"` or `"inactive"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SendRecv => "sendrecv",
            Self::SendOnly => "sendonly",
            Self::RecvOnly => "recvonly",
            Self::Inactive => "inactive",
        }
    }

    /// The direction the answerer sees: `sendonly` ↔ `recvonly` (RFC 3264 §6).
    pub fn reverse(self) -> Self {
        match self {
            Self::SendOnly => Self::RecvOnly,
            Self::RecvOnly => Self::SendOnly,
            other => other,
        }
    }

    /// Whether this side sends media.
    pub fn sends(self) -> bool {
        matches!(self, Self::SendRecv | Self::SendOnly)
    }

    /// Whether this side receives media.
    pub fn receives(self) -> bool {
        matches!(self, Self::SendRecv | Self::RecvOnly)
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "sendrecv" => Self::SendRecv,
            "sendonly" => Self::SendOnly,
            "recvonly" => Self::RecvOnly,
            "inactive" => Self::Inactive,
            _ => return None,
        })
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `a=rtpmap` (RFC 8866 §6.6): maps an RTP payload type to an encoding.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rtpmap {
    /// RTP payload type, 0–127.
    pub payload_type: u8,
    /// Encoding name as written (`opus`, `VP8`, `H264`, `rtx`...); compare case-insensitively.
    pub encoding_name: String,
    /// RTP clock rate in Hz.
    pub clock_rate: u32,
    /// Encoding parameters: the channel count for audio (`opus/48000/2`).
    pub encoding_parameters: Option<u16>,
}

impl Rtpmap {
    /// An rtpmap for `payload_type` with `encoding_name/clock_rate[/encoding_parameters]`.
    pub fn new(
        payload_type: u8,
        encoding_name: impl Into<String>,
        clock_rate: u32,
        encoding_parameters: Option<u16>,
    ) -> Self {
        Self {
            payload_type,
            encoding_name: encoding_name.into(),
            clock_rate,
            encoding_parameters,
        }
    }

    fn parse(value: &str) -> Result<Self, ErrorKind> {
        const A: &str = "rtpmap";
        let (pt, rest) = split_word(value).ok_or(attr(A, "missing encoding"))?;
        let payload_type = parse_pt(pt).ok_or(attr(A, "payload type not 0-127"))?;
        if rest.contains([' ', '\t']) {
            return Err(attr(A, "unexpected text after encoding"));
        }
        let mut parts = rest.split('/');
        let name = parts.next().unwrap_or("");
        if name.is_empty() {
            return Err(attr(A, "empty encoding name"));
        }
        let clock_rate = parts
            .next()
            .and_then(parse_u64)
            .and_then(|r| u32::try_from(r).ok())
            .ok_or(attr(A, "clock rate not a number"))?;
        let encoding_parameters = match parts.next() {
            None => None,
            Some(p) => Some(
                parse_u64(p)
                    .and_then(|p| u16::try_from(p).ok())
                    .ok_or(attr(A, "encoding parameters not a number"))?,
            ),
        };
        if parts.next().is_some() {
            return Err(attr(A, "too many '/' fields"));
        }
        Ok(Self {
            payload_type,
            encoding_name: name.to_owned(),
            clock_rate,
            encoding_parameters,
        })
    }
}

impl fmt::Display for Rtpmap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}/{}",
            self.payload_type, self.encoding_name, self.clock_rate
        )?;
        if let Some(p) = self.encoding_parameters {
            write!(f, "/{p}")?;
        }
        Ok(())
    }
}

/// `a=fmtp` (RFC 8866 §6.15): format parameters for one payload type.
///
/// The parameters are kept as written (`minptime=10;useinbandfec=1`, or `111/111` for RED,
/// or `0-15` for telephone-event); [`Fmtp::params`] reads them as a `key=value` list.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fmtp {
    /// RTP payload type, 0–127.
    pub payload_type: u8,
    /// The raw parameter text after the payload type.
    pub parameters: String,
}

impl Fmtp {
    /// An fmtp with raw parameter text.
    pub fn new(payload_type: u8, parameters: impl Into<String>) -> Self {
        Self {
            payload_type,
            parameters: parameters.into(),
        }
    }

    /// An fmtp from `key=value` pairs, joined with `;` (a `None` value writes the bare key).
    pub fn from_params<'a>(
        payload_type: u8,
        params: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
    ) -> Self {
        let mut parameters = String::new();
        for (k, v) in params {
            if !parameters.is_empty() {
                parameters.push(';');
            }
            parameters.push_str(k);
            if let Some(v) = v {
                parameters.push('=');
                parameters.push_str(v);
            }
        }
        Self {
            payload_type,
            parameters,
        }
    }

    /// The parameters as `(key, value)` pairs, split on `;` and on the first `=`, trimmed;
    /// empty items are skipped. A key without `=` has value `None`.
    pub fn params(&self) -> impl Iterator<Item = (&str, Option<&str>)> + '_ {
        split_params(&self.parameters)
    }

    /// The value of parameter `key` (compared case-insensitively, as RFC 6838 media type
    /// parameter names are).
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .and_then(|(_, v)| v)
    }

    fn parse(value: &str) -> Result<Self, ErrorKind> {
        let (pt, rest) = match split_word(value) {
            Some((pt, rest)) => (pt, rest),
            None => (value.trim(), ""),
        };
        let payload_type = parse_pt(pt).ok_or(attr("fmtp", "payload type not 0-127"))?;
        Ok(Self {
            payload_type,
            parameters: rest.to_owned(),
        })
    }
}

impl fmt::Display for Fmtp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.payload_type)?;
        if !self.parameters.is_empty() {
            write!(f, " {}", self.parameters)?;
        }
        Ok(())
    }
}

pub(crate) fn split_params(s: &str) -> impl Iterator<Item = (&str, Option<&str>)> + '_ {
    s.split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v.trim())),
            None => (p, None),
        })
}

/// `a=rtcp` (RFC 3605): the RTCP port, and address if it differs from the `c=` line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rtcp {
    /// RTCP port (browsers write 9, the discard port, when rtcp-mux is used).
    pub port: u16,
    /// Optional `<nettype> <addrtype> <address>`.
    pub connection: Option<Connection>,
}

impl Rtcp {
    fn parse(value: &str) -> Result<Self, ErrorKind> {
        const A: &str = "rtcp";
        let mut it = value.split_ascii_whitespace();
        let port = it
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or(attr(A, "port not a number"))?;
        let connection = match (it.next(), it.next(), it.next()) {
            (None, _, _) => None,
            (Some(n), Some(a), Some(addr)) => Some(Connection::new(n, a, addr)),
            _ => return Err(attr(A, "incomplete address")),
        };
        if it.next().is_some() {
            return Err(attr(A, "unexpected text after address"));
        }
        Ok(Self { port, connection })
    }
}

impl fmt::Display for Rtcp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.port)?;
        if let Some(c) = &self.connection {
            write!(f, " {c}")?;
        }
        Ok(())
    }
}

/// `a=rtcp-fb` (RFC 4585 §4.2): an RTCP feedback type accepted for a payload type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RtcpFb {
    /// Payload type 0–127, or `None` for `*` (all payload types of the media description).
    pub payload_type: Option<u8>,
    /// The feedback type and parameter.
    pub feedback: RtcpFeedback,
}

impl RtcpFb {
    /// `a=rtcp-fb:<payload_type> <feedback_type> [<parameter>]`.
    pub fn new(payload_type: u8, feedback: RtcpFeedback) -> Self {
        Self {
            payload_type: Some(payload_type),
            feedback,
        }
    }

    fn parse(value: &str) -> Result<Self, ErrorKind> {
        const A: &str = "rtcp-fb";
        let (pt, rest) = split_word(value).ok_or(attr(A, "missing feedback type"))?;
        let payload_type = if pt == "*" {
            None
        } else {
            Some(parse_pt(pt).ok_or(attr(A, "payload type not 0-127 or *"))?)
        };
        let (kind, param) = match split_word(rest) {
            Some((k, p)) => (k, Some(p.to_owned())),
            None => (rest, None),
        };
        Ok(Self {
            payload_type,
            feedback: RtcpFeedback {
                feedback_type: kind.to_owned(),
                parameter: param,
            },
        })
    }
}

impl fmt::Display for RtcpFb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.payload_type {
            Some(pt) => write!(f, "{pt} {}", self.feedback),
            None => write!(f, "* {}", self.feedback),
        }
    }
}

/// An RTCP feedback mechanism (RFC 4585 §4.2): `nack`, `nack pli`, `ccm fir`,
/// `goog-remb`, `transport-cc`...
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RtcpFeedback {
    /// The feedback type: `ack`, `nack`, `trr-int`, `ccm`, or a token such as `goog-remb`.
    pub feedback_type: String,
    /// The rest of the line: `pli`, `fir`, `100`...
    pub parameter: Option<String>,
}

impl RtcpFeedback {
    /// A feedback type with an optional parameter: `RtcpFeedback::new("nack", Some("pli"))`.
    pub fn new(feedback_type: impl Into<String>, parameter: Option<&str>) -> Self {
        Self {
            feedback_type: feedback_type.into(),
            parameter: parameter.map(str::to_owned),
        }
    }
}

impl fmt::Display for RtcpFeedback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.feedback_type)?;
        if let Some(p) = &self.parameter {
            write!(f, " {p}")?;
        }
        Ok(())
    }
}

/// `a=ssrc` (RFC 5576 §4.1): a source attribute of one SSRC.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ssrc {
    /// The synchronization source.
    pub ssrc: u32,
    /// Its attribute.
    pub attribute: SsrcAttribute,
}

/// The attribute carried by an `a=ssrc` line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SsrcAttribute {
    /// `cname:<cname>` (RFC 5576 §6.1).
    Cname(String),
    /// `msid:<stream id> [<track id>]` (the legacy per-SSRC form of RFC 8830).
    Msid(Msid),
    /// Any other `<name>[:<value>]` (e.g. `mslabel`, `label`), kept as written.
    Other {
        /// Attribute name.
        name: String,
        /// Raw value after the first `:`.
        value: Option<String>,
    },
}

impl Ssrc {
    /// `a=ssrc:<ssrc> cname:<cname>`.
    pub fn cname(ssrc: u32, cname: impl Into<String>) -> Self {
        Self {
            ssrc,
            attribute: SsrcAttribute::Cname(cname.into()),
        }
    }

    fn parse(value: &str) -> Result<Self, ErrorKind> {
        const A: &str = "ssrc";
        let (id, rest) = split_word(value).ok_or(attr(A, "missing source attribute"))?;
        let ssrc = parse_u64(id)
            .and_then(|v| u32::try_from(v).ok())
            .ok_or(attr(A, "ssrc not a 32-bit number"))?;
        let (name, val) = match rest.split_once(':') {
            Some((n, v)) => (n, Some(v)),
            None => (rest, None),
        };
        if !is_token(name) {
            return Err(attr(A, "source attribute name not a token"));
        }
        let attribute = match (name, val) {
            ("cname", Some(v)) => SsrcAttribute::Cname(v.to_owned()),
            ("msid", Some(v)) => SsrcAttribute::Msid(Msid::split(v)),
            _ => SsrcAttribute::Other {
                name: name.to_owned(),
                value: val.map(str::to_owned),
            },
        };
        Ok(Self { ssrc, attribute })
    }
}

impl fmt::Display for Ssrc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ", self.ssrc)?;
        match &self.attribute {
            SsrcAttribute::Cname(c) => write!(f, "cname:{c}"),
            SsrcAttribute::Msid(m) => write!(f, "msid:{m}"),
            SsrcAttribute::Other {
                name,
                value: Some(v),
            } => write!(f, "{name}:{v}"),
            SsrcAttribute::Other { name, value: None } => f.write_str(name),
        }
    }
}

/// `a=ssrc-group` (RFC 5576 §4.2): `FID` (RTX, RFC 4588), `SIM` (legacy simulcast),
/// `FEC-FR` (RFC 5956).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SsrcGroup {
    /// Semantics token as written.
    pub semantics: String,
    /// The SSRCs, in order (for FID: primary, then repair).
    pub ssrcs: Vec<u32>,
}

impl SsrcGroup {
    fn parse(value: &str) -> Result<Self, ErrorKind> {
        const A: &str = "ssrc-group";
        let mut it = value.split_ascii_whitespace();
        let semantics = it.next().ok_or(attr(A, "missing semantics"))?.to_owned();
        let ssrcs = it
            .map(|s| parse_u64(s).and_then(|v| u32::try_from(v).ok()))
            .collect::<Option<Vec<_>>>()
            .ok_or(attr(A, "ssrc not a 32-bit number"))?;
        Ok(Self { semantics, ssrcs })
    }
}

impl fmt::Display for SsrcGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.semantics)?;
        for s in &self.ssrcs {
            write!(f, " {s}")?;
        }
        Ok(())
    }
}

/// `a=group` (RFC 5888 §5).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Group {
    /// Semantics token: `BUNDLE` (RFC 9143), `LS` (lip sync, RFC 5888), ...
    pub semantics: String,
    /// Identification tags (`a=mid` values) of the grouped media descriptions, in order.
    pub mids: Vec<String>,
}

impl Group {
    /// `a=group:BUNDLE <mids>`.
    pub fn bundle<S: Into<String>>(mids: impl IntoIterator<Item = S>) -> Self {
        Self {
            semantics: "BUNDLE".to_owned(),
            mids: mids.into_iter().map(Into::into).collect(),
        }
    }

    /// Whether this is a BUNDLE group.
    pub fn is_bundle(&self) -> bool {
        self.semantics == "BUNDLE"
    }

    fn parse(value: &str) -> Result<Self, ErrorKind> {
        let mut it = value.split_ascii_whitespace();
        let semantics = it
            .next()
            .ok_or(attr("group", "missing semantics"))?
            .to_owned();
        Ok(Self {
            semantics,
            mids: it.map(str::to_owned).collect(),
        })
    }
}

impl fmt::Display for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.semantics)?;
        for m in &self.mids {
            write!(f, " {m}")?;
        }
        Ok(())
    }
}

/// A hash function of `a=fingerprint` (RFC 8122 §5, names from the IANA "Hash Function
/// Textual Names" registry), compared case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HashFunction {
    /// `sha-1`.
    Sha1,
    /// `sha-224`.
    Sha224,
    /// `sha-256`: what every browser uses.
    Sha256,
    /// `sha-384`.
    Sha384,
    /// `sha-512`.
    Sha512,
    /// `md5` (not to be trusted; kept so such SDPs parse).
    Md5,
    /// `md2` (not to be trusted; kept so such SDPs parse).
    Md2,
    /// Any other name, lower-cased.
    Other(String),
}

impl HashFunction {
    /// The registry's textual name (`"sha-256"`).
    pub fn as_str(&self) -> &str {
        match self {
            Self::Sha1 => "sha-1",
            Self::Sha224 => "sha-224",
            Self::Sha256 => "sha-256",
            Self::Sha384 => "sha-384",
            Self::Sha512 => "sha-512",
            Self::Md5 => "md5",
            Self::Md2 => "md2",
            Self::Other(s) => s,
        }
    }

    /// The digest length in bytes, for the known functions.
    pub fn digest_len(&self) -> Option<usize> {
        Some(match self {
            Self::Sha1 => 20,
            Self::Sha224 => 28,
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
            Self::Md5 | Self::Md2 => 16,
            Self::Other(_) => return None,
        })
    }

    fn parse(s: &str) -> Self {
        let known = [
            Self::Sha1,
            Self::Sha224,
            Self::Sha256,
            Self::Sha384,
            Self::Sha512,
            Self::Md5,
            Self::Md2,
        ];
        for k in known {
            if s.eq_ignore_ascii_case(k.as_str()) {
                return k;
            }
        }
        Self::Other(s.to_ascii_lowercase())
    }
}

impl fmt::Display for HashFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `a=fingerprint` (RFC 8122 §5): the hash of the DTLS certificate.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fingerprint {
    /// The hash function.
    pub hash_function: HashFunction,
    /// The digest bytes (written as upper-case hex pairs joined by `:`).
    pub fingerprint: Vec<u8>,
}

/// Longest fingerprint accepted, in bytes (twice SHA-512's).
const MAX_FINGERPRINT_LEN: usize = 128;

impl Fingerprint {
    /// A fingerprint of `hash_function` over a certificate: `digest` bytes.
    pub fn new(hash_function: HashFunction, digest: impl Into<Vec<u8>>) -> Self {
        Self {
            hash_function,
            fingerprint: digest.into(),
        }
    }

    fn parse(value: &str) -> Result<Self, ErrorKind> {
        const A: &str = "fingerprint";
        let (hash, hex) = split_word(value).ok_or(attr(A, "missing fingerprint"))?;
        if !is_token(hash) {
            return Err(attr(A, "hash function not a token"));
        }
        let mut fingerprint = Vec::with_capacity(hex.len().div_ceil(3).min(MAX_FINGERPRINT_LEN));
        for pair in hex.split(':') {
            let b = pair.as_bytes();
            let (Some(&h), Some(&l), None) = (b.first(), b.get(1), b.get(2)) else {
                return Err(attr(A, "not pairs of hex digits joined by ':'"));
            };
            let (Some(h), Some(l)) = (hex_val(h), hex_val(l)) else {
                return Err(attr(A, "not a hex digit"));
            };
            if fingerprint.len() == MAX_FINGERPRINT_LEN {
                return Err(attr(A, "too long"));
            }
            fingerprint.push(h << 4 | l);
        }
        Ok(Self {
            hash_function: HashFunction::parse(hash),
            fingerprint,
        })
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        f.write_str(self.hash_function.as_str())?;
        // Hex pairs through a stack buffer: one write per 32 bytes, not one per byte.
        let mut buf = [0u8; 96];
        for (c, chunk) in self.fingerprint.chunks(32).enumerate() {
            let mut n = 0;
            for (i, b) in chunk.iter().enumerate() {
                let sep = if c == 0 && i == 0 { b' ' } else { b':' };
                if let (Some(s), Some(h), Some(l)) = (
                    buf.get_mut(n..n + 3),
                    HEX.get(usize::from(b >> 4)),
                    HEX.get(usize::from(b & 0xf)),
                ) {
                    s.copy_from_slice(&[sep, *h, *l]);
                    n += 3;
                }
            }
            let text = core::str::from_utf8(buf.get(..n).unwrap_or(&[])).map_err(|_| fmt::Error)?;
            f.write_str(text)?;
        }
        Ok(())
    }
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// `a=setup` (RFC 4145 §4, RFC 8842 §5): which side starts DTLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Setup {
    /// `active`: this side connects (DTLS client).
    Active,
    /// `passive`: this side accepts (DTLS server).
    Passive,
    /// `actpass`: either; what offers say (RFC 8842 §5.2).
    Actpass,
    /// `holdconn`: not now.
    Holdconn,
}

impl Setup {
    /// The attribute value (`"actpass"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Passive => "passive",
            Self::Actpass => "actpass",
            Self::Holdconn => "holdconn",
        }
    }

    fn parse(value: &str) -> Result<Self, ErrorKind> {
        Ok(match value.trim() {
            "active" => Self::Active,
            "passive" => Self::Passive,
            "actpass" => Self::Actpass,
            "holdconn" => Self::Holdconn,
            _ => return Err(attr("setup", "not active, passive, actpass or holdconn")),
        })
    }
}

/// `a=extmap` (RFC 8285 §8): an RTP header extension and its local identifier.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Extmap {
    /// Local identifier: 1–14 for one-byte headers, 1–255 for two-byte headers.
    pub id: u16,
    /// Optional direction (`a=extmap:2/recvonly ...`).
    pub direction: Option<Direction>,
    /// The extension's URI.
    pub uri: String,
    /// Extension attributes after the URI, as written.
    pub extension_attributes: Option<String>,
}

impl Extmap {
    /// `a=extmap:<id> <uri>`.
    pub fn new(id: u16, uri: impl Into<String>) -> Self {
        Self {
            id,
            direction: None,
            uri: uri.into(),
            extension_attributes: None,
        }
    }

    fn parse(value: &str) -> Result<Self, ErrorKind> {
        const A: &str = "extmap";
        let (idd, rest) = split_word(value).ok_or(attr(A, "missing uri"))?;
        let (id, direction) = match idd.split_once('/') {
            Some((id, d)) => (
                id,
                Some(Direction::parse(d).ok_or(attr(A, "bad direction"))?),
            ),
            None => (idd, None),
        };
        let id = parse_u64(id)
            .and_then(|v| u16::try_from(v).ok())
            .ok_or(attr(A, "id not a number"))?;
        let (uri, ext) = match split_word(rest) {
            Some((u, e)) => (u, Some(e.to_owned())),
            None => (rest, None),
        };
        Ok(Self {
            id,
            direction,
            uri: uri.to_owned(),
            extension_attributes: ext,
        })
    }
}

impl fmt::Display for Extmap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.id)?;
        if let Some(d) = self.direction {
            write!(f, "/{d}")?;
        }
        write!(f, " {}", self.uri)?;
        if let Some(e) = &self.extension_attributes {
            write!(f, " {e}")?;
        }
        Ok(())
    }
}

/// `a=msid` (RFC 8830 §2): the MediaStream and track a media description belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Msid {
    /// The stream id (`-` for a track in no stream).
    pub stream_id: String,
    /// The track id ("appdata").
    pub track_id: Option<String>,
}

impl Msid {
    /// `a=msid:<stream_id> [<track_id>]`.
    pub fn new(stream_id: impl Into<String>, track_id: Option<&str>) -> Self {
        Self {
            stream_id: stream_id.into(),
            track_id: track_id.map(str::to_owned),
        }
    }

    fn split(v: &str) -> Self {
        match split_word(v) {
            Some((s, t)) => Self {
                stream_id: s.to_owned(),
                track_id: Some(t.to_owned()),
            },
            None => Self {
                stream_id: v.trim().to_owned(),
                track_id: None,
            },
        }
    }

    fn parse(value: &str) -> Result<Self, ErrorKind> {
        let m = Self::split(value);
        if m.stream_id.is_empty() {
            return Err(attr("msid", "empty stream id"));
        }
        Ok(m)
    }
}

impl fmt::Display for Msid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.stream_id)?;
        if let Some(t) = &self.track_id {
            write!(f, " {t}")?;
        }
        Ok(())
    }
}

/// `a=msid-semantic` (draft-ietf-mmusic-msid-05; libwebrtc still sends `WMS`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MsidSemantic {
    /// The semantic token, `WMS`.
    pub semantic: String,
    /// Stream ids, or `*`.
    pub identifiers: Vec<String>,
}

impl MsidSemantic {
    fn parse(value: &str) -> Result<Self, ErrorKind> {
        let mut it = value.split_ascii_whitespace();
        let semantic = it
            .next()
            .ok_or(attr("msid-semantic", "missing semantic"))?
            .to_owned();
        Ok(Self {
            semantic,
            identifiers: it.map(str::to_owned).collect(),
        })
    }
}

impl fmt::Display for MsidSemantic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.semantic)?;
        for i in &self.identifiers {
            write!(f, " {i}")?;
        }
        Ok(())
    }
}

/// `a=sctpmap` (draft-ietf-mmusic-sctp-sdp-05, legacy): `<number> <app> [<streams>]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sctpmap {
    /// SCTP port (the m-line format).
    pub number: u16,
    /// Application, `webrtc-datachannel`.
    pub app: String,
    /// Maximum number of streams.
    pub streams: Option<u32>,
}

impl Sctpmap {
    fn parse(value: &str) -> Result<Self, ErrorKind> {
        const A: &str = "sctpmap";
        let mut it = value.split_ascii_whitespace();
        let number = it
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or(attr(A, "port not a number"))?;
        let app = it.next().ok_or(attr(A, "missing app"))?.to_owned();
        let streams = match it.next() {
            None => None,
            Some(s) => Some(
                parse_u64(s)
                    .and_then(|v| u32::try_from(v).ok())
                    .ok_or(attr(A, "streams not a number"))?,
            ),
        };
        if it.next().is_some() {
            return Err(attr(A, "unexpected text"));
        }
        Ok(Self {
            number,
            app,
            streams,
        })
    }
}

impl fmt::Display for Sctpmap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.number, self.app)?;
        if let Some(s) = self.streams {
            write!(f, " {s}")?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// helpers shared by the parsers

/// Names of typed attributes that need a value, for the "missing value" error.
fn value_attribute_name(name: &str) -> Option<&'static str> {
    const NAMES: [&str; 25] = [
        "rtpmap",
        "fmtp",
        "ptime",
        "maxptime",
        "framerate",
        "rtcp",
        "rtcp-fb",
        "ssrc",
        "ssrc-group",
        "group",
        "mid",
        "fingerprint",
        "setup",
        "tls-id",
        "ice-ufrag",
        "ice-pwd",
        "ice-options",
        "candidate",
        "extmap",
        "msid",
        "msid-semantic",
        "rid",
        "simulcast",
        "sctp-port",
        "max-message-size",
    ];
    NAMES
        .iter()
        .copied()
        .find(|n| *n == name)
        .or((name == "sctpmap").then_some("sctpmap"))
}

/// RFC 8866 §9 `token`: one or more of `!#$%&'*+-.0-9A-Z^_`a-z{|}~`.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| TOKEN_CHARS.get(usize::from(b)) == Some(&true))
}

const TOKEN_CHARS: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'{'
                    | b'|'
                    | b'}'
                    | b'~'
            );
        i += 1;
    }
    t
};

/// Splits off the first word: `"96 VP8/90000"` → `("96", "VP8/90000")`; `None` when there is
/// no non-empty rest. Leading whitespace of the input and of the rest is skipped.
pub(crate) fn split_word(s: &str) -> Option<(&str, &str)> {
    let s = trim_start_blank(s);
    let at = s.bytes().position(is_blank)?;
    let (w, rest) = (s.get(..at)?, s.get(at + 1..)?);
    let rest = trim_end_blank(trim_start_blank(rest));
    (!w.is_empty() && !rest.is_empty()).then_some((w, rest))
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Trims spaces and tabs at the start (byte loop: faster than a char-set pattern).
pub(crate) fn trim_start_blank(s: &str) -> &str {
    let n = s.bytes().take_while(|b| is_blank(*b)).count();
    s.get(n..).unwrap_or("")
}

/// Trims spaces and tabs at the end.
pub(crate) fn trim_end_blank(s: &str) -> &str {
    let n = s.bytes().rev().take_while(|b| is_blank(*b)).count();
    s.get(..s.len() - n).unwrap_or("")
}

/// Decimal digits only (no sign, no `+`), at most 20 of them, fitting in u64.
pub(crate) fn parse_u64(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// RTP payload type: 0–127.
pub(crate) fn parse_pt(s: &str) -> Option<u8> {
    parse_u64(s).filter(|v| *v <= 127).map(|v| v as u8)
}

/// `1*DIGIT ["." 1*DIGIT]`, finite.
fn parse_decimal(s: &str, a: &'static str) -> Result<f64, ErrorKind> {
    let s = s.trim();
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || !frac.is_none_or(digits) {
        return Err(attr(a, "not a decimal number"));
    }
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(attr(a, "number out of range")),
    }
}

fn non_empty(value: &str, a: &'static str) -> Result<String, ErrorKind> {
    let v = value.trim();
    if v.is_empty() {
        return Err(attr(a, "empty value"));
    }
    Ok(v.to_owned())
}

fn words(value: &str) -> Vec<String> {
    value.split_ascii_whitespace().map(str::to_owned).collect()
}

pub(crate) fn write_joined<T: fmt::Display>(
    f: &mut fmt::Formatter<'_>,
    items: &[T],
    sep: &str,
) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Attribute {
        s.parse().unwrap()
    }

    fn round(s: &str) {
        let a = p(s);
        let w = a.to_string();
        assert_eq!(w.parse::<Attribute>().unwrap(), a, "{s} -> {w}");
    }

    #[test]
    fn rtpmap() {
        assert_eq!(
            p("rtpmap:111 opus/48000/2"),
            Attribute::Rtpmap(Rtpmap::new(111, "opus", 48000, Some(2)))
        );
        assert_eq!(
            p("a=rtpmap:96 VP8/90000").to_string(),
            "rtpmap:96 VP8/90000"
        );
        for bad in [
            "rtpmap:128 x/1",
            "rtpmap:96",
            "rtpmap:96 VP8",
            "rtpmap:96 /9000",
            "rtpmap:96 a/1/2/3",
            "rtpmap:x a/1",
            "rtpmap:96 a/-1",
        ] {
            assert!(
                matches!(
                    bad.parse::<Attribute>(),
                    Err(Error {
                        kind: ErrorKind::InvalidAttribute {
                            attribute: "rtpmap",
                            ..
                        },
                        ..
                    })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn fmtp_params() {
        let Attribute::Fmtp(f) = p("fmtp:111 minptime=10; useinbandfec=1;;x") else {
            panic!()
        };
        assert_eq!(f.param("useinbandfec"), Some("1"));
        assert_eq!(f.param("MINPTIME"), Some("10"));
        assert_eq!(
            f.params().collect::<Vec<_>>(),
            vec![
                ("minptime", Some("10")),
                ("useinbandfec", Some("1")),
                ("x", None)
            ]
        );
        assert_eq!(
            Fmtp::from_params(97, [("apt", Some("96"))]).to_string(),
            "97 apt=96"
        );
        let Attribute::Fmtp(red) = p("fmtp:63 111/111") else {
            panic!()
        };
        assert_eq!(red.parameters, "111/111");
        round("fmtp:101");
    }

    #[test]
    fn rtcp_fb_and_extmap() {
        assert_eq!(
            p("rtcp-fb:96 nack pli"),
            Attribute::RtcpFb(RtcpFb::new(96, RtcpFeedback::new("nack", Some("pli"))))
        );
        assert_eq!(
            p("rtcp-fb:96 goog-remb "),
            Attribute::RtcpFb(RtcpFb::new(96, RtcpFeedback::new("goog-remb", None)))
        );
        let Attribute::RtcpFb(all) = p("rtcp-fb:* ccm tmmbr smaxpr=120") else {
            panic!()
        };
        assert_eq!(
            (all.payload_type, all.feedback.parameter.as_deref()),
            (None, Some("tmmbr smaxpr=120"))
        );
        let Attribute::Extmap(e) =
            p("extmap:2/recvonly urn:ietf:params:rtp-hdrext:csrc-audio-level")
        else {
            panic!()
        };
        assert_eq!(
            (e.id, e.direction, e.extension_attributes),
            (2, Some(Direction::RecvOnly), None)
        );
        round("extmap:7/sendonly http://x y z");
        assert!("extmap:2/up urn:x".parse::<Attribute>().is_err());
    }

    #[test]
    fn fingerprint() {
        let Attribute::Fingerprint(f) = p("fingerprint:SHA-256 1c:D1:C5") else {
            panic!()
        };
        assert_eq!(f.hash_function, HashFunction::Sha256);
        assert_eq!(f.fingerprint, vec![0x1c, 0xd1, 0xc5]);
        assert_eq!(f.to_string(), "sha-256 1C:D1:C5");
        for bad in [
            "fingerprint:sha-256",
            "fingerprint:sha-256 1",
            "fingerprint:sha-256 1C:",
            "fingerprint:sha-256 1C:D1C5",
            "fingerprint:sha-256 GG",
        ] {
            assert!(bad.parse::<Attribute>().is_err(), "{bad}");
        }
        let long = vec!["AB"; 129].join(":");
        assert!(format!("fingerprint:sha-256 {long}")
            .parse::<Attribute>()
            .is_err());
    }

    #[test]
    fn ssrc_and_groups() {
        assert_eq!(
            p("ssrc:1 cname:x y"),
            Attribute::Ssrc(Ssrc::cname(1, "x y"))
        );
        let Attribute::Ssrc(s) = p("ssrc:2557357250 msid:s t") else {
            panic!()
        };
        assert_eq!(s.attribute, SsrcAttribute::Msid(Msid::new("s", Some("t"))));
        round("ssrc:1 mslabel");
        round("ssrc:1 label:");
        assert!("ssrc:4294967296 cname:x".parse::<Attribute>().is_err());
        assert_eq!(
            p("ssrc-group:FID 1 2"),
            Attribute::SsrcGroup(SsrcGroup {
                semantics: "FID".into(),
                ssrcs: vec![1, 2]
            })
        );
        assert_eq!(
            p("group:BUNDLE 0 1"),
            Attribute::Group(Group::bundle(["0", "1"]))
        );
        assert_eq!(p("msid-semantic: WMS *").to_string(), "msid-semantic:WMS *");
    }

    #[test]
    fn flags_values_and_other() {
        assert_eq!(p("sendonly"), Attribute::Direction(Direction::SendOnly));
        assert_eq!(
            p("rtcp-mux:x"),
            Attribute::Other {
                name: "rtcp-mux".into(),
                value: Some("x".into())
            }
        );
        assert_eq!(
            p("x-foo: bar"),
            Attribute::Other {
                name: "x-foo".into(),
                value: Some(" bar".into())
            }
        );
        round("x-foo: bar");
        round("x-empty:");
        assert!(matches!(
            "mid".parse::<Attribute>(),
            Err(Error {
                kind: ErrorKind::InvalidAttribute {
                    attribute: "mid",
                    ..
                },
                ..
            })
        ));
        assert!("foo bar".parse::<Attribute>().is_err());
        assert!("a=mid:0\r\n".parse::<Attribute>().is_err());
        assert_eq!(p("ptime:20"), Attribute::Ptime(20.0));
        assert_eq!(p("framerate:29.97").to_string(), "framerate:29.97");
        for bad in [
            "ptime:",
            "ptime:1e3",
            "ptime:-1",
            "ptime:inf",
            "ptime:.5",
            "ptime:5.",
        ] {
            assert!(bad.parse::<Attribute>().is_err(), "{bad}");
        }
        let huge = format!("ptime:{}", "9".repeat(400));
        assert!(huge.parse::<Attribute>().is_err());
        assert_eq!(
            p("rtcp:9 IN IP4 0.0.0.0").to_string(),
            "rtcp:9 IN IP4 0.0.0.0"
        );
        assert!("rtcp:9 IN IP4".parse::<Attribute>().is_err());
        assert_eq!(p("setup:actpass"), Attribute::Setup(Setup::Actpass));
        assert!("setup:maybe".parse::<Attribute>().is_err());
        assert_eq!(
            p("sctpmap:5000 webrtc-datachannel 1024").to_string(),
            "sctpmap:5000 webrtc-datachannel 1024"
        );
        assert_eq!(
            p("max-message-size:262144"),
            Attribute::MaxMessageSize(262144)
        );
        assert_eq!(
            p("ice-options:trickle ice2"),
            Attribute::IceOptions(vec!["trickle".into(), "ice2".into()])
        );
        assert_eq!(
            p("candidate:1 1 udp 1 1.2.3.4 9 typ host").to_string(),
            "candidate:1 1 udp 1 1.2.3.4 9 typ host"
        );
    }
}
