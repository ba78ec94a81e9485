//! The session description (RFC 8866 §5), its session-level fields, the parser and the
//! writer.

use core::fmt;
use core::net::IpAddr;
use core::str::FromStr;

use crate::attribute::{
    is_token, parse_u64, trim_end_blank, Attribute, Direction, Fingerprint, Group, Setup,
};
use crate::error::{field, Error, ErrorKind};
use crate::media::{self, MediaDescription, MediaKind, Protocol};

/// Caps that keep hostile input from exhausting memory or time.
///
/// Memory used by a parse is proportional to the input, which these bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most lines accepted, blank ones included. Default 10 000 (Chromium's offer with every
    /// codec is about 170 lines per video section).
    pub max_lines: usize,
    /// Longest line accepted in bytes, line ending excluded. Default 4096.
    pub max_line_length: usize,
    /// Most media descriptions accepted. Default 512.
    pub max_media_descriptions: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_lines: 10_000,
            max_line_length: 4096,
            max_media_descriptions: 512,
        }
    }
}

/// A session description (RFC 8866 §5): session-level fields, then media descriptions.
///
/// Parse with [`str::parse`] / [`SessionDescription::parse_with`]; write with
/// [`Display`](fmt::Display) (`to_string()`), which emits lines in the RFC's order ending in
/// CRLF. `write(parse(x))` parses back to the same value; unknown attributes are kept in
/// order with their raw values.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionDescription {
    /// `o=` origin.
    pub origin: Origin,
    /// `s=` session name (`-` in WebRTC).
    pub session_name: String,
    /// `i=` session information.
    pub information: Option<String>,
    /// `u=` URI.
    pub uri: Option<String>,
    /// `e=` email addresses.
    pub emails: Vec<String>,
    /// `p=` phone numbers.
    pub phones: Vec<String>,
    /// Session-level `c=`.
    pub connection: Option<Connection>,
    /// Session-level `b=` lines.
    pub bandwidths: Vec<Bandwidth>,
    /// `t=` lines, each with its `r=` lines. A parsed SDP has at least one.
    pub timing: Vec<Timing>,
    /// `z=` time zone adjustments, raw.
    pub time_zones: Option<String>,
    /// `k=` (obsolete, kept for losslessness).
    pub key: Option<String>,
    /// Session-level `a=` lines, in order.
    pub attributes: Vec<Attribute>,
    /// Media descriptions, in order.
    pub media: Vec<MediaDescription>,
}

impl SessionDescription {
    /// A description with `origin`, `s=-`, `t=0 0` and nothing else: the JSEP skeleton
    /// (RFC 8829 §5.2.1).
    pub fn new(origin: Origin) -> Self {
        Self {
            origin,
            session_name: "-".to_owned(),
            information: None,
            uri: None,
            emails: Vec::new(),
            phones: Vec::new(),
            connection: None,
            bandwidths: Vec::new(),
            timing: vec![Timing::default()],
            time_zones: None,
            key: None,
            attributes: Vec::new(),
            media: Vec::new(),
        }
    }

    /// Parses with explicit [`Limits`] (`str::parse` uses the defaults).
    ///
    /// Accepts CRLF or LF line endings, trailing whitespace and blank lines, and the optional
    /// session-level lines in any order after `v=`, `o=`, `s=`; requires `v=0`, `o=`, `s=`
    /// (in that order) and a `t=` line.
    ///
    /// # Errors
    /// An [`Error`] with the 1-based line number and an [`ErrorKind`] saying why.
    pub fn parse_with(input: &str, limits: &Limits) -> Result<Self, Error> {
        parse(input, limits)
    }

    /// Parses bytes, which must be UTF-8 (RFC 8866 §5).
    ///
    /// # Errors
    /// [`ErrorKind::NotUtf8`] (line 0), or any error of [`parse_with`](Self::parse_with).
    pub fn parse_bytes(input: &[u8], limits: &Limits) -> Result<Self, Error> {
        let s = core::str::from_utf8(input).map_err(|_| Error::new(0, ErrorKind::NotUtf8))?;
        parse(s, limits)
    }

    /// Builder: appends a session-level attribute.
    #[must_use]
    pub fn with_attribute(mut self, attribute: Attribute) -> Self {
        self.attributes.push(attribute);
        self
    }

    /// Builder: appends a media description.
    #[must_use]
    pub fn with_media(mut self, media: MediaDescription) -> Self {
        self.media.push(media);
        self
    }

    /// `a=group` lines.
    pub fn groups(&self) -> impl Iterator<Item = &Group> + '_ {
        self.attributes.iter().filter_map(|a| match a {
            Attribute::Group(g) => Some(g),
            _ => None,
        })
    }

    /// `a=group:BUNDLE` lines (RFC 9143).
    pub fn bundle_groups(&self) -> impl Iterator<Item = &Group> + '_ {
        self.groups().filter(|g| g.is_bundle())
    }

    /// The media description with `a=mid:<mid>`.
    pub fn media_by_mid(&self, mid: &str) -> Option<&MediaDescription> {
        self.media.iter().find(|m| m.mid() == Some(mid))
    }

    /// The session-level direction attribute, if any.
    pub fn direction(&self) -> Option<Direction> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::Direction(d) => Some(*d),
            _ => None,
        })
    }

    /// The direction that applies to `media`: its own, else the session's, else `sendrecv`
    /// (RFC 8866 §6.7).
    pub fn effective_direction(&self, media: &MediaDescription) -> Direction {
        media
            .direction()
            .or_else(|| self.direction())
            .unwrap_or(Direction::SendRecv)
    }

    /// Whether `a=ice-lite` is present (session level, RFC 8839 §5.3).
    pub fn ice_lite(&self) -> bool {
        self.attributes.contains(&Attribute::IceLite)
    }

    /// Whether `a=extmap-allow-mixed` is present at session level.
    pub fn extmap_allow_mixed(&self) -> bool {
        self.attributes.contains(&Attribute::ExtmapAllowMixed)
    }

    /// Session-level `a=ice-ufrag`.
    pub fn ice_ufrag(&self) -> Option<&str> {
        media::find_str(&self.attributes, |a| match a {
            Attribute::IceUfrag(s) => Some(s),
            _ => None,
        })
    }

    /// Session-level `a=ice-pwd`.
    pub fn ice_pwd(&self) -> Option<&str> {
        media::find_str(&self.attributes, |a| match a {
            Attribute::IcePwd(s) => Some(s),
            _ => None,
        })
    }

    /// Session-level `a=ice-options` tokens.
    pub fn ice_options(&self) -> impl Iterator<Item = &str> + '_ {
        media::ice_options(&self.attributes)
    }

    /// Session-level `a=fingerprint` lines.
    pub fn fingerprints(&self) -> impl Iterator<Item = &Fingerprint> + '_ {
        media::fingerprints(&self.attributes)
    }

    /// Session-level `a=setup` (some stacks put it there).
    pub fn setup(&self) -> Option<Setup> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::Setup(s) => Some(*s),
            _ => None,
        })
    }

    /// ICE `(ufrag, pwd)` for `media`: its own if it has a ufrag, else the session's
    /// (RFC 8839 §5.4).
    pub fn effective_ice_credentials<'a>(
        &'a self,
        media: &'a MediaDescription,
    ) -> Option<(&'a str, &'a str)> {
        match (media.ice_ufrag(), media.ice_pwd()) {
            (Some(u), Some(p)) => Some((u, p)),
            _ => Some((self.ice_ufrag()?, self.ice_pwd()?)),
        }
    }

    /// DTLS fingerprints for `media`: its own if it has any, else the session's
    /// (RFC 8122 §5).
    pub fn effective_fingerprints<'a>(
        &'a self,
        media: &'a MediaDescription,
    ) -> Vec<&'a Fingerprint> {
        let own: Vec<_> = media.fingerprints().collect();
        if own.is_empty() {
            self.fingerprints().collect()
        } else {
            own
        }
    }

    /// `a=setup` for `media`: its own, else the session's.
    pub fn effective_setup(&self, media: &MediaDescription) -> Option<Setup> {
        media.setup().or_else(|| self.setup())
    }
}

impl FromStr for SessionDescription {
    type Err = Error;

    /// Parses with the default [`Limits`]; see [`SessionDescription::parse_with`].
    fn from_str(s: &str) -> Result<Self, Error> {
        parse(s, &Limits::default())
    }
}

impl fmt::Display for SessionDescription {
    /// Writes the SDP: lines in RFC 8866 order, each ending in CRLF.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v=0\r\no={}\r\ns={}\r\n", self.origin, self.session_name)?;
        if let Some(i) = &self.information {
            write!(f, "i={i}\r\n")?;
        }
        if let Some(u) = &self.uri {
            write!(f, "u={u}\r\n")?;
        }
        for e in &self.emails {
            write!(f, "e={e}\r\n")?;
        }
        for p in &self.phones {
            write!(f, "p={p}\r\n")?;
        }
        if let Some(c) = &self.connection {
            write!(f, "c={c}\r\n")?;
        }
        for b in &self.bandwidths {
            write!(f, "b={b}\r\n")?;
        }
        for t in &self.timing {
            write!(f, "t={} {}\r\n", t.start_time, t.stop_time)?;
            for r in &t.repeat_times {
                write!(f, "r={r}\r\n")?;
            }
        }
        if let Some(z) = &self.time_zones {
            write!(f, "z={z}\r\n")?;
        }
        if let Some(k) = &self.key {
            write!(f, "k={k}\r\n")?;
        }
        for a in &self.attributes {
            f.write_str("a=")?;
            fmt::Display::fmt(a, f)?;
            f.write_str("\r\n")?;
        }
        for m in &self.media {
            m.write_to(f)?;
        }
        Ok(())
    }
}

/// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>`
/// (RFC 8866 §5.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    /// `-` in WebRTC.
    pub username: String,
    /// Session id; JSEP keeps it below 2^63 (RFC 8829 §5.2.1).
    pub session_id: u64,
    /// Incremented by JSEP each time the description changes.
    pub session_version: u64,
    /// `IN`.
    pub network_type: String,
    /// `IP4` or `IP6`.
    pub address_type: String,
    /// An address or host name; WebRTC writes a placeholder.
    pub unicast_address: String,
}

impl Origin {
    /// `o=- <session_id> <session_version> IN IP4 0.0.0.0`.
    pub fn new(session_id: u64, session_version: u64) -> Self {
        Self {
            username: "-".to_owned(),
            session_id,
            session_version,
            network_type: "IN".to_owned(),
            address_type: "IP4".to_owned(),
            unicast_address: "0.0.0.0".to_owned(),
        }
    }

    fn parse(v: &str) -> Result<Self, ErrorKind> {
        const F: &str = "origin";
        let mut it = v.split_ascii_whitespace();
        let mut next = || it.next().ok_or(field(F, "expected 6 fields"));
        let username = next()?.to_owned();
        let session_id = parse_u64(next()?).ok_or(field(F, "session id not a 64-bit number"))?;
        let session_version =
            parse_u64(next()?).ok_or(field(F, "session version not a 64-bit number"))?;
        let network_type = next()?.to_owned();
        let address_type = next()?.to_owned();
        let unicast_address = next()?.to_owned();
        if it.next().is_some() {
            return Err(field(F, "expected 6 fields"));
        }
        Ok(Self {
            username,
            session_id,
            session_version,
            network_type,
            address_type,
            unicast_address,
        })
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {} {} {}",
            self.username,
            self.session_id,
            self.session_version,
            self.network_type,
            self.address_type,
            self.unicast_address
        )
    }
}

/// `c=<nettype> <addrtype> <connection-address>` (RFC 8866 §5.7); also the address part of
/// `a=rtcp`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Connection {
    /// `IN`.
    pub network_type: String,
    /// `IP4` or `IP6`.
    pub address_type: String,
    /// Address as written (may carry `/ttl` or `/count` for multicast, or be a name).
    pub address: String,
}

impl Connection {
    /// A connection from its three fields.
    pub fn new(
        network_type: impl Into<String>,
        address_type: impl Into<String>,
        address: impl Into<String>,
    ) -> Self {
        Self {
            network_type: network_type.into(),
            address_type: address_type.into(),
            address: address.into(),
        }
    }

    /// `IN IP4 <ip>` or `IN IP6 <ip>`.
    pub fn from_ip(ip: IpAddr) -> Self {
        let t = if ip.is_ipv4() { "IP4" } else { "IP6" };
        Self::new("IN", t, ip.to_string())
    }

    /// The address as an IP address, if it is one (without multicast suffixes).
    pub fn ip(&self) -> Option<IpAddr> {
        self.address.parse().ok()
    }

    fn parse(v: &str) -> Result<Self, ErrorKind> {
        let mut it = v.split_ascii_whitespace();
        match (it.next(), it.next(), it.next(), it.next()) {
            (Some(n), Some(t), Some(a), None) => Ok(Self::new(n, t, a)),
            _ => Err(field("connection", "expected 3 fields")),
        }
    }
}

impl fmt::Display for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}",
            self.network_type, self.address_type, self.address
        )
    }
}

/// `b=<bwtype>:<bandwidth>` (RFC 8866 §5.8).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Bandwidth {
    /// `AS`, `CT`, `TIAS` (RFC 3890), `RS`/`RR` (RFC 3556)...
    pub bwtype: String,
    /// Kilobits per second for `AS`/`CT`, bits per second for `TIAS`.
    pub bandwidth: u64,
}

impl Bandwidth {
    fn parse(v: &str) -> Result<Self, ErrorKind> {
        const F: &str = "bandwidth";
        let (t, b) = v
            .split_once(':')
            .ok_or(field(F, "expected <bwtype>:<bandwidth>"))?;
        if !is_token(t) {
            return Err(field(F, "bwtype not a token"));
        }
        let bandwidth = parse_u64(b.trim()).ok_or(field(F, "bandwidth not a number"))?;
        Ok(Self {
            bwtype: t.to_owned(),
            bandwidth,
        })
    }
}

impl fmt::Display for Bandwidth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.bwtype, self.bandwidth)
    }
}

/// `t=<start-time> <stop-time>` (RFC 8866 §5.9) and its `r=` lines (§5.10).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Timing {
    /// NTP seconds; 0 for unbounded (WebRTC writes `t=0 0`).
    pub start_time: u64,
    /// NTP seconds; 0 for unbounded.
    pub stop_time: u64,
    /// `r=` lines, raw.
    pub repeat_times: Vec<String>,
}

// ---------------------------------------------------------------------------------------
// parser

fn parse(input: &str, limits: &Limits) -> Result<SessionDescription, Error> {
    let mut p = Parser::default();
    let mut stripped_crs = 0;
    for (index, raw) in input.split('\n').enumerate() {
        let line_no = index + 1;
        if index >= limits.max_lines {
            // a final empty piece after the last '\n' is not a line
            if raw.is_empty() && index == limits.max_lines {
                continue;
            }
            return Err(Error::new(
                line_no,
                ErrorKind::TooManyLines(limits.max_lines),
            ));
        }
        let line = match raw.strip_suffix('\r') {
            Some(l) => {
                stripped_crs += 1;
                l
            }
            None => raw,
        };
        if line.len() > limits.max_line_length {
            return Err(Error::new(
                line_no,
                ErrorKind::LineTooLong(limits.max_line_length),
            ));
        }
        let line = trim_end_blank(line);
        if line.is_empty() {
            continue;
        }
        p.line(line, limits)
            .map_err(|kind| Error::new(line_no, kind))?;
        p.last_line = line_no;
    }
    let sd = p.finish()?;
    check_control_bytes(input, stripped_crs)?;
    Ok(sd)
}

/// Rejects NUL and any CR that does not end a line (RFC 8866 §9: text excludes both).
///
/// Done once over the whole (already length-capped) input after parsing, with loops the
/// compiler vectorises, rather than two scans per line: this is most of a parse's time
/// otherwise. The slow path only runs to name the offending line.
fn check_control_bytes(input: &str, stripped_crs: usize) -> Result<(), Error> {
    let b = input.as_bytes();
    let nul = b.iter().fold(false, |any, &c| any | (c == 0));
    // u8 counters over 255-byte chunks cannot overflow and vectorise to full width.
    let cr: usize = b
        .chunks(255)
        .map(|chunk| usize::from(chunk.iter().fold(0u8, |n, &c| n + u8::from(c == b'\r'))))
        .sum();
    if !nul && cr == stripped_crs {
        return Ok(());
    }
    let bad = b
        .iter()
        .enumerate()
        .position(|(i, &c)| c == 0 || (c == b'\r' && !matches!(b.get(i + 1), Some(b'\n') | None)));
    match bad {
        Some(at) => {
            let line = b
                .get(..at)
                .map_or(0, |p| p.iter().filter(|&&c| c == b'\n').count())
                + 1;
            Err(Error::new(line, ErrorKind::MalformedLine))
        }
        None => Ok(()),
    }
}

#[derive(Default)]
struct Parser {
    seen_v: bool,
    origin: Option<Origin>,
    sd: Option<SessionDescription>,
    last_line: usize,
}

impl Parser {
    fn line(&mut self, line: &str, limits: &Limits) -> Result<(), ErrorKind> {
        let b = line.as_bytes();
        let (Some(&kind), Some(b'=')) = (b.first(), b.get(1)) else {
            return Err(ErrorKind::MalformedLine);
        };
        if !kind.is_ascii_lowercase() {
            return Err(ErrorKind::MalformedLine);
        }
        let kind = kind as char;
        let value = line.get(2..).unwrap_or("");

        // The fixed prefix: v=, o=, s= (RFC 8866 §5).
        let Some(sd) = self.sd.as_mut() else {
            if !self.seen_v {
                if kind != 'v' {
                    return Err(ErrorKind::MissingLine('v'));
                }
                if value != "0" {
                    return Err(ErrorKind::UnsupportedVersion);
                }
                self.seen_v = true;
                return Ok(());
            }
            let Some(origin) = self.origin.take() else {
                if kind != 'o' {
                    return Err(ErrorKind::MissingLine('o'));
                }
                self.origin = Some(Origin::parse(value)?);
                return Ok(());
            };
            if kind != 's' {
                self.origin = Some(origin);
                return Err(ErrorKind::MissingLine('s'));
            }
            let mut sd = SessionDescription::new(origin);
            value.clone_into(&mut sd.session_name);
            sd.timing.clear();
            self.sd = Some(sd);
            return Ok(());
        };

        if kind == 'm' {
            if sd.timing.is_empty() {
                return Err(ErrorKind::MissingLine('t'));
            }
            if sd.media.len() >= limits.max_media_descriptions {
                return Err(ErrorKind::TooManyMediaDescriptions(
                    limits.max_media_descriptions,
                ));
            }
            sd.media.push(parse_media_line(value)?);
            return Ok(());
        }

        if let Some(m) = sd.media.last_mut() {
            match kind {
                'a' => m.attributes.push(Attribute::parse_value(value)?),
                'c' => m.connections.push(Connection::parse(value)?),
                'b' => m.bandwidths.push(Bandwidth::parse(value)?),
                'i' => set_once(&mut m.title, value, 'i')?,
                'k' => set_once(&mut m.key, value, 'k')?,
                'v' | 'o' | 's' | 'u' | 'e' | 'p' | 't' | 'r' | 'z' => {
                    return Err(ErrorKind::UnexpectedLine(kind))
                }
                other => return Err(ErrorKind::UnknownLineType(other)),
            }
            return Ok(());
        }

        match kind {
            'a' => sd.attributes.push(Attribute::parse_value(value)?),
            'i' => set_once(&mut sd.information, value, 'i')?,
            'u' => set_once(&mut sd.uri, value, 'u')?,
            'e' => sd.emails.push(value.to_owned()),
            'p' => sd.phones.push(value.to_owned()),
            'c' => {
                if sd.connection.is_some() {
                    return Err(ErrorKind::DuplicateLine('c'));
                }
                sd.connection = Some(Connection::parse(value)?);
            }
            'b' => sd.bandwidths.push(Bandwidth::parse(value)?),
            't' => {
                let mut it = value.split_ascii_whitespace();
                let (Some(start), Some(stop), None) = (it.next(), it.next(), it.next()) else {
                    return Err(field("timing", "expected <start-time> <stop-time>"));
                };
                let start_time = parse_u64(start).ok_or(field("timing", "start not a number"))?;
                let stop_time = parse_u64(stop).ok_or(field("timing", "stop not a number"))?;
                sd.timing.push(Timing {
                    start_time,
                    stop_time,
                    repeat_times: Vec::new(),
                });
            }
            'r' => match sd.timing.last_mut() {
                Some(t) => t.repeat_times.push(value.to_owned()),
                None => return Err(ErrorKind::UnexpectedLine('r')),
            },
            'z' => set_once(&mut sd.time_zones, value, 'z')?,
            'k' => set_once(&mut sd.key, value, 'k')?,
            'v' | 'o' | 's' => return Err(ErrorKind::DuplicateLine(kind)),
            other => return Err(ErrorKind::UnknownLineType(other)),
        }
        Ok(())
    }

    fn finish(self) -> Result<SessionDescription, Error> {
        let at = self.last_line + 1;
        let missing = if !self.seen_v {
            'v'
        } else if self.origin.is_none() && self.sd.is_none() {
            'o'
        } else {
            's'
        };
        let sd = self
            .sd
            .ok_or(Error::new(at, ErrorKind::MissingLine(missing)))?;
        if sd.timing.is_empty() {
            return Err(Error::new(at, ErrorKind::MissingLine('t')));
        }
        Ok(sd)
    }
}

fn set_once(slot: &mut Option<String>, value: &str, kind: char) -> Result<(), ErrorKind> {
    if slot.is_some() {
        return Err(ErrorKind::DuplicateLine(kind));
    }
    *slot = Some(value.to_owned());
    Ok(())
}

fn parse_media_line(v: &str) -> Result<MediaDescription, ErrorKind> {
    const F: &str = "media";
    let mut it = v.split_ascii_whitespace();
    let kind = it.next().ok_or(field(F, "missing media type"))?;
    if !is_token(kind) {
        return Err(field(F, "media type not a token"));
    }
    let port = it.next().ok_or(field(F, "missing port"))?;
    let (port, number_of_ports) = match port.split_once('/') {
        Some((p, n)) => (p, Some(n)),
        None => (port, None),
    };
    let port = parse_u64(port)
        .and_then(|p| u16::try_from(p).ok())
        .ok_or(field(F, "port not 0-65535"))?;
    let number_of_ports = match number_of_ports {
        None => None,
        Some(n) => Some(
            parse_u64(n)
                .and_then(|p| u16::try_from(p).ok())
                .ok_or(field(F, "number of ports not 0-65535"))?,
        ),
    };
    let protocol = it.next().ok_or(field(F, "missing protocol"))?;
    let mut m = MediaDescription::new(MediaKind::parse(kind), port, Protocol::parse(protocol));
    m.number_of_ports = number_of_ports;
    m.formats = it.map(str::to_owned).collect();
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";

    fn err(s: &str) -> Error {
        s.parse::<SessionDescription>().unwrap_err()
    }

    #[test]
    fn minimal_round_trip() {
        let sd: SessionDescription = MINIMAL.parse().unwrap();
        assert_eq!(sd.origin.session_id, 1);
        assert_eq!(sd.origin.session_version, 2);
        assert_eq!(sd.to_string(), MINIMAL);
        assert_eq!(
            SessionDescription::new(Origin::new(1, 2))
                .to_string()
                .lines()
                .count(),
            4
        );
    }

    #[test]
    fn rfc8866_example() {
        // RFC 8866 §5 example session description.
        let s = "v=0\n\
            o=jdoe 3724394400 3724394405 IN IP4 198.51.100.1\n\
            s=Call to John Smith\n\
            i=SDP Offer #1\n\
            u=http://www.jdoe.example.com/home.html\n\
            e=Jane Doe <jane@jdoe.example.com>\n\
            p=+1 617 555-6011\n\
            c=IN IP4 198.51.100.1\n\
            t=0 0\n\
            m=audio 49170 RTP/AVP 0\n\
            m=audio 49180 RTP/AVP 0\n\
            m=video 51372 RTP/AVP 99\n\
            c=IN IP6 2001:db8::2\n\
            a=rtpmap:99 h263-1998/90000\n";
        let sd: SessionDescription = s.parse().unwrap();
        assert_eq!(sd.session_name, "Call to John Smith");
        assert_eq!(sd.emails, ["Jane Doe <jane@jdoe.example.com>"]);
        assert_eq!(
            sd.connection.as_ref().and_then(Connection::ip),
            "198.51.100.1".parse().ok()
        );
        assert_eq!(sd.media.len(), 3);
        assert_eq!(sd.media[0].protocol, Protocol::RtpAvp);
        assert_eq!(sd.media[0].codecs()[0].encoding_name, "PCMU");
        assert_eq!(sd.media[2].connections[0].address, "2001:db8::2");
        assert_eq!(sd.media[2].codecs()[0].encoding_name, "h263-1998");
        assert_eq!(sd.to_string().parse::<SessionDescription>().unwrap(), sd);
        assert_eq!(sd.to_string(), s.replace('\n', "\r\n"));
    }

    #[test]
    fn timing_and_repeats() {
        let s =
            "v=0\no=- 1 1 IN IP4 x\ns=x\nt=1 2\nr=7d 1h 0 25h\nt=3 4\nz=2882844526 -1h\nk=prompt\n";
        let sd: SessionDescription = s.parse().unwrap();
        assert_eq!(sd.timing.len(), 2);
        assert_eq!(sd.timing[0].repeat_times, ["7d 1h 0 25h"]);
        assert_eq!(sd.to_string().parse::<SessionDescription>().unwrap(), sd);
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(
            err("o=- 1 1 IN IP4 x\n"),
            Error::new(1, ErrorKind::MissingLine('v'))
        );
        assert_eq!(err("v=1\n"), Error::new(1, ErrorKind::UnsupportedVersion));
        assert_eq!(
            err("v=0\ns=-\n"),
            Error::new(2, ErrorKind::MissingLine('o'))
        );
        assert_eq!(
            err("v=0\no=- 1 1 IN IP4 x\nt=0 0\n"),
            Error::new(3, ErrorKind::MissingLine('s'))
        );
        assert_eq!(
            err("v=0\no=- 1 1 IN IP4 x\ns=-\n"),
            Error::new(4, ErrorKind::MissingLine('t'))
        );
        assert_eq!(
            err("v=0\no=- 1 1 IN IP4 x\ns=-\nm=audio 9 RTP/AVP 0\n"),
            Error::new(4, ErrorKind::MissingLine('t'))
        );
        assert_eq!(err(&format!("{MINIMAL}a=rtpmap:x\n")).line, 5);
        assert_eq!(
            err(&format!("{MINIMAL}\n\nx=1\n")).kind,
            ErrorKind::UnknownLineType('x')
        );
        assert_eq!(err(&format!("{MINIMAL}\n\nx=1\n")).line, 7);
        assert_eq!(
            err(&format!("{MINIMAL}m=audio 9 RTP/AVP 0\nt=0 0\n")),
            Error::new(6, ErrorKind::UnexpectedLine('t'))
        );
        assert_eq!(
            err(&format!("{MINIMAL}c=IN IP4 x\nc=IN IP4 y\n")).kind,
            ErrorKind::DuplicateLine('c')
        );
        assert_eq!(
            err("v=0\no=- 1 1 IN IP4 x\ns=-\nr=1\nt=0 0\n").kind,
            ErrorKind::UnexpectedLine('r')
        );
        assert_eq!(
            err(&format!("{MINIMAL}A=x\n")).kind,
            ErrorKind::MalformedLine
        );
        assert_eq!(err(&format!("{MINIMAL}a\n")).kind, ErrorKind::MalformedLine);
        assert_eq!(
            err(&format!("{MINIMAL} a=x\n")).kind,
            ErrorKind::MalformedLine
        );
        assert_eq!(
            err(&format!("{MINIMAL}a=x\ry\n")).kind,
            ErrorKind::MalformedLine
        );
        assert_eq!(
            err(&format!("{MINIMAL}a=x\0\n")).kind,
            ErrorKind::MalformedLine
        );
        assert!(matches!(
            err("v=0\no=- x 1 IN IP4 x\ns=-\nt=0 0\n").kind,
            ErrorKind::InvalidField {
                field: "origin",
                ..
            }
        ));
        assert!(matches!(
            err("v=0\no=- 1 1 IN IP4\ns=-\nt=0 0\n").kind,
            ErrorKind::InvalidField {
                field: "origin",
                ..
            }
        ));
        assert!(matches!(
            err(&format!("{MINIMAL}m=audio 65536 RTP/AVP 0\n")).kind,
            ErrorKind::InvalidField { field: "media", .. }
        ));
        assert!(matches!(
            err(&format!("{MINIMAL}m=audio 9\n")).kind,
            ErrorKind::InvalidField { field: "media", .. }
        ));
        assert!(matches!(
            err(&format!("{MINIMAL}b=AS\n")).kind,
            ErrorKind::InvalidField {
                field: "bandwidth",
                ..
            }
        ));
        assert!(matches!(
            err("v=0\no=- 1 1 IN IP4 x\ns=-\nt=0\n").kind,
            ErrorKind::InvalidField {
                field: "timing",
                ..
            }
        ));
        assert_eq!(err("").kind, ErrorKind::MissingLine('v'));
        assert_eq!(
            SessionDescription::parse_bytes(b"v=0\xff", &Limits::default())
                .unwrap_err()
                .kind,
            ErrorKind::NotUtf8
        );
    }

    #[test]
    fn lenient_where_browsers_are() {
        let s = "v=0\no=- 1 1 IN IP4 x\ns=-\na=group:BUNDLE 0   \nt=0 0\n\nm=audio 9 UDP/TLS/RTP/SAVPF 111 \t\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n\r\n";
        let sd: SessionDescription = s.parse().unwrap();
        assert_eq!(
            sd.bundle_groups().next().map(|g| g.mids.clone()),
            Some(vec!["0".to_owned()])
        );
        assert_eq!(sd.media[0].formats, ["111"]);
        assert_eq!(sd.media[0].mid(), Some("0"));
    }

    #[test]
    fn limits() {
        let l = Limits {
            max_lines: 6,
            max_line_length: 30,
            max_media_descriptions: 1,
        };
        let two = format!("{MINIMAL}m=audio 9 RTP/AVP 0\nm=audio 9 RTP/AVP 0\n");
        assert_eq!(
            SessionDescription::parse_with(&two, &l).unwrap_err(),
            Error::new(6, ErrorKind::TooManyMediaDescriptions(1))
        );
        let l = Limits {
            max_media_descriptions: 5,
            ..l
        };
        assert!(SessionDescription::parse_with(&two, &l).is_ok());
        let three = format!("{two}m=audio 9 RTP/AVP 0\n");
        assert_eq!(
            SessionDescription::parse_with(&three, &l).unwrap_err(),
            Error::new(7, ErrorKind::TooManyLines(6))
        );
        let long = format!("{MINIMAL}a=x:{}\n", "y".repeat(27));
        assert_eq!(
            SessionDescription::parse_with(&long, &l).unwrap_err(),
            Error::new(5, ErrorKind::LineTooLong(30))
        );
        let exact = format!("{MINIMAL}a=x:{}\r\n", "y".repeat(26));
        assert!(SessionDescription::parse_with(&exact, &l).is_ok());
    }

    #[test]
    fn direction_defaults() {
        let s =
            format!("{MINIMAL}a=recvonly\nm=audio 9 RTP/AVP 0\nm=audio 9 RTP/AVP 0\na=inactive\n");
        let sd: SessionDescription = s.parse().unwrap();
        assert_eq!(sd.effective_direction(&sd.media[0]), Direction::RecvOnly);
        assert_eq!(sd.effective_direction(&sd.media[1]), Direction::Inactive);
        let sd: SessionDescription = format!("{MINIMAL}m=audio 9 RTP/AVP 0\n").parse().unwrap();
        assert_eq!(sd.effective_direction(&sd.media[0]), Direction::SendRecv);
    }
}
