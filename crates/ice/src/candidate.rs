//! ICE candidates: the RFC 8839 §5.1 `candidate-attribute` grammar, priorities (RFC 8445
//! §5.1.2, RFC 6544 §4.2) and the W3C `RTCIceCandidateInit` JSON shape.

use core::fmt;
use core::str::FromStr;
use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};

use crate::error::CandidateError;

/// Longest candidate line [`Candidate::from_str`] accepts, in bytes. Real ones are under 300.
pub const MAX_CANDIDATE_LEN: usize = 4096;

/// Most extension attributes (name/value pairs this crate does not know) kept per candidate.
pub const MAX_EXTENSIONS: usize = 16;

/// Longest FQDN accepted as a connection address (RFC 1035 §2.3.4).
pub const MAX_FQDN_LEN: usize = 253;

/// Longest foundation (RFC 8839 §5.1: `1*32ice-char`).
pub const MAX_FOUNDATION_LEN: usize = 32;

/// Longest `ufrag` extension value (RFC 8839 §5.4 allows up to 256 characters).
pub const MAX_UFRAG_LEN: usize = 256;

/// The candidate type (RFC 8445 §5.1.1, RFC 8839 §5.1 `cand-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CandidateType {
    /// `host`: an address of a local interface.
    Host,
    /// `srflx`: the address a STUN server saw (the NAT's public side).
    ServerReflexive,
    /// `prflx`: an address learned from a connectivity check.
    PeerReflexive,
    /// `relay`: an address allocated on a TURN server.
    Relayed,
}

impl CandidateType {
    /// The SDP token: `host`, `srflx`, `prflx` or `relay`.
    pub const fn as_str(self) -> &'static str {
        match self {
            CandidateType::Host => "host",
            CandidateType::ServerReflexive => "srflx",
            CandidateType::PeerReflexive => "prflx",
            CandidateType::Relayed => "relay",
        }
    }

    /// The recommended type preference (RFC 8445 §5.1.2.2): host 126, prflx 110, srflx 100,
    /// relay 0. TCP candidates get lower values (RFC 6544 §4.2 asks for UDP to be preferred):
    /// host 90, prflx 80, srflx 70, relay 0.
    pub const fn type_preference(self, protocol: Protocol) -> u32 {
        match (self, protocol) {
            (CandidateType::Host, Protocol::Udp) => 126,
            (CandidateType::PeerReflexive, Protocol::Udp) => 110,
            (CandidateType::ServerReflexive, Protocol::Udp) => 100,
            (CandidateType::Host, Protocol::Tcp) => 90,
            (CandidateType::PeerReflexive, Protocol::Tcp) => 80,
            (CandidateType::ServerReflexive, Protocol::Tcp) => 70,
            (CandidateType::Relayed, _) => 0,
        }
    }
}

impl fmt::Display for CandidateType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CandidateType {
    type Err = CandidateError;
    fn from_str(s: &str) -> Result<Self, CandidateError> {
        match s {
            "host" => Ok(CandidateType::Host),
            "srflx" => Ok(CandidateType::ServerReflexive),
            "prflx" => Ok(CandidateType::PeerReflexive),
            "relay" => Ok(CandidateType::Relayed),
            _ => Err(CandidateError::UnknownType),
        }
    }
}

/// The candidate's transport protocol (RFC 8839 §5.1 `transport`; RFC 6544 for TCP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// UDP.
    Udp,
    /// TCP with RFC 4571 framing (RFC 6544).
    Tcp,
}

impl Protocol {
    /// The token as written: `udp` or `tcp` (browsers write lower case; parsing ignores case).
    pub const fn as_str(self) -> &'static str {
        match self {
            Protocol::Udp => "udp",
            Protocol::Tcp => "tcp",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Protocol {
    type Err = CandidateError;
    fn from_str(s: &str) -> Result<Self, CandidateError> {
        if s.eq_ignore_ascii_case("udp") {
            Ok(Protocol::Udp)
        } else if s.eq_ignore_ascii_case("tcp") {
            Ok(Protocol::Tcp)
        } else {
            Err(CandidateError::UnknownTransport)
        }
    }
}

/// The role of a TCP candidate (RFC 6544 §4.5 `tcp-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TcpType {
    /// `active`: opens outgoing connections; its port is meaningless (9 by convention).
    Active,
    /// `passive`: accepts incoming connections.
    Passive,
    /// `so`: simultaneous open.
    SimultaneousOpen,
}

impl TcpType {
    /// The token: `active`, `passive` or `so`.
    pub const fn as_str(self) -> &'static str {
        match self {
            TcpType::Active => "active",
            TcpType::Passive => "passive",
            TcpType::SimultaneousOpen => "so",
        }
    }

    /// The direction preference of RFC 6544 §4.2 for host and server-reflexive candidates
    /// (active 6, passive 4, so 2); relayed and NATed candidates would rank so first, which
    /// this crate does not gather.
    pub const fn direction_preference(self) -> u32 {
        match self {
            TcpType::Active => 6,
            TcpType::Passive => 4,
            TcpType::SimultaneousOpen => 2,
        }
    }

    /// Whether a local candidate of this type can be paired with a remote one of `remote`
    /// (RFC 6544 §6.2): active with passive, passive with active, so with so.
    pub const fn pairs_with(self, remote: TcpType) -> bool {
        matches!(
            (self, remote),
            (TcpType::Active, TcpType::Passive)
                | (TcpType::Passive, TcpType::Active)
                | (TcpType::SimultaneousOpen, TcpType::SimultaneousOpen)
        )
    }
}

impl fmt::Display for TcpType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TcpType {
    type Err = CandidateError;
    fn from_str(s: &str) -> Result<Self, CandidateError> {
        match s {
            "active" => Ok(TcpType::Active),
            "passive" => Ok(TcpType::Passive),
            "so" => Ok(TcpType::SimultaneousOpen),
            _ => Err(CandidateError::UnknownTcpType),
        }
    }
}

/// A candidate's connection address (RFC 8839 §5.1 `connection-address`): an IP address, or
/// a fully qualified domain name such as the `*.local` mDNS names browsers use to hide
/// their host addresses.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Address {
    /// An IPv4 or IPv6 address (IPv6 written without brackets).
    Ip(IpAddr),
    /// A host name (at most [`MAX_FQDN_LEN`] bytes of letters, digits, `-`, `.` and `_`).
    Fqdn(String),
}

impl Address {
    /// The IP address, if this is one.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Address::Ip(ip) => Some(*ip),
            Address::Fqdn(_) => None,
        }
    }

    /// Whether this is an mDNS name (`*.local`, RFC 6762), as browsers send for host
    /// candidates.
    pub fn is_mdns(&self) -> bool {
        match self {
            Address::Ip(_) => false,
            Address::Fqdn(name) => {
                let name = name.strip_suffix('.').unwrap_or(name);
                name.len() > 6
                    && name
                        .get(name.len() - 6..)
                        .is_some_and(|t| t.eq_ignore_ascii_case(".local"))
            }
        }
    }
}

impl From<IpAddr> for Address {
    fn from(ip: IpAddr) -> Self {
        Address::Ip(ip)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Ip(ip) => ip.fmt(f),
            Address::Fqdn(name) => f.write_str(name),
        }
    }
}

impl FromStr for Address {
    type Err = CandidateError;
    fn from_str(s: &str) -> Result<Self, CandidateError> {
        if let Ok(ip) = s.parse::<IpAddr>() {
            return Ok(Address::Ip(ip));
        }
        // Tolerate a bracketed IPv6 literal, which some stacks write.
        if let Some(ip) = s
            .strip_prefix('[')
            .and_then(|r| r.strip_suffix(']'))
            .and_then(|r| r.parse::<IpAddr>().ok())
        {
            return Ok(Address::Ip(ip));
        }
        let valid = !s.is_empty()
            && s.len() <= MAX_FQDN_LEN
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
            && s.bytes().any(|b| b.is_ascii_alphabetic() || b == b'-');
        if valid {
            Ok(Address::Fqdn(s.to_owned()))
        } else {
            Err(CandidateError::InvalidAddress)
        }
    }
}

/// One ICE candidate: the value of an SDP `a=candidate` attribute (RFC 8839 §5.1) and of the
/// W3C `RTCIceCandidate.candidate` string.
///
/// ```text
/// candidate-attribute = "candidate" ":" foundation SP component-id SP transport SP
///                       priority SP connection-address SP port SP "typ" SP cand-type
///                       [SP rel-addr] [SP rel-port] *(SP cand-extension)
/// ```
///
/// Known extensions get fields: `tcptype` (RFC 6544), `generation`, `ufrag`, `network-id`
/// and `network-cost` (as browsers send them). Others are kept, in order, in
/// [`extensions`](Self::extensions). [`Display`](fmt::Display) writes the `candidate:` form
/// with the known extensions in that order; [`FromStr`] accepts it with or without the
/// `candidate:` (or `a=candidate:`) prefix.
///
/// ```
/// use oxrtc_ice::{Candidate, CandidateType, Protocol};
///
/// let c: Candidate = "candidate:842163049 1 udp 1677729535 203.0.113.7 46154 typ srflx \
///     raddr 10.0.1.5 rport 46154 generation 0 ufrag EsAw network-id 1 network-cost 10"
///     .parse()?;
/// assert_eq!(c.typ, CandidateType::ServerReflexive);
/// assert_eq!(c.protocol, Protocol::Udp);
/// assert_eq!(c.socket_addr(), Some("203.0.113.7:46154".parse().unwrap()));
/// assert_eq!(c.ufrag.as_deref(), Some("EsAw"));
/// assert_eq!(c.to_string().parse::<Candidate>()?, c);
/// # Ok::<(), oxrtc_ice::CandidateError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Candidate {
    /// Foundation: 1 to 32 `ice-char`s (ALPHA / DIGIT / `+` / `/`); equal foundations mean
    /// the same type, base IP, server and protocol (RFC 8445 §5.1.1.3).
    pub foundation: String,
    /// Component id: 1 for RTP (and everything, with rtcp-mux and BUNDLE), 2 for RTCP.
    pub component: u16,
    /// Transport protocol.
    pub protocol: Protocol,
    /// Priority (RFC 8445 §5.1.2).
    pub priority: u32,
    /// Connection address: an IP address or an FQDN (mDNS `*.local` names).
    pub address: Address,
    /// Port (9 for TCP active candidates, RFC 6544 §4.5).
    pub port: u16,
    /// Candidate type.
    pub typ: CandidateType,
    /// `raddr`: the related address (the base of a server-reflexive candidate, the mapped
    /// address of a relayed one).
    pub related_address: Option<Address>,
    /// `rport`: the related port.
    pub related_port: Option<u16>,
    /// `tcptype` (RFC 6544 §4.5), for TCP candidates.
    pub tcp_type: Option<TcpType>,
    /// `generation` (a browser extension counting ICE restarts).
    pub generation: Option<u32>,
    /// `ufrag`: the username fragment the candidate belongs to (RFC 8839 §5.4 allows it;
    /// browsers send it so stale candidates from before a restart can be told apart).
    pub ufrag: Option<String>,
    /// `network-id`: the sender's identifier for the network interface.
    pub network_id: Option<u32>,
    /// `network-cost`: the sender's cost of that network (browsers: 10 Wi-Fi/Ethernet,
    /// 900 cellular, 999 unknown).
    pub network_cost: Option<u32>,
    /// Other extension attributes, as `(name, value)` in order (at most [`MAX_EXTENSIONS`]).
    pub extensions: Vec<(String, String)>,
}

impl Candidate {
    /// A candidate with the required fields and no extensions.
    pub fn new(
        foundation: impl Into<String>,
        component: u16,
        protocol: Protocol,
        priority: u32,
        addr: SocketAddr,
        typ: CandidateType,
    ) -> Self {
        Candidate {
            foundation: foundation.into(),
            component,
            protocol,
            priority,
            address: Address::Ip(addr.ip()),
            port: addr.port(),
            typ,
            related_address: None,
            related_port: None,
            tcp_type: None,
            generation: None,
            ufrag: None,
            network_id: None,
            network_cost: None,
            extensions: Vec::new(),
        }
    }

    /// The candidate's transport address, if its connection address is an IP address.
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        self.address.ip().map(|ip| SocketAddr::new(ip, self.port))
    }

    /// The related transport address, when both `raddr` (an IP) and `rport` are present.
    pub fn related_socket_addr(&self) -> Option<SocketAddr> {
        match (&self.related_address, self.related_port) {
            (Some(Address::Ip(ip)), Some(port)) => Some(SocketAddr::new(*ip, port)),
            _ => None,
        }
    }

    /// Sets `raddr` and `rport`.
    pub fn with_related(mut self, related: SocketAddr) -> Self {
        self.related_address = Some(Address::Ip(related.ip()));
        self.related_port = Some(related.port());
        self
    }

    /// The attribute value without the `candidate:` prefix, as an SDP parser that keeps
    /// `a=candidate:<value>` values stores it.
    pub fn sdp_value(&self) -> String {
        let s = self.to_string();
        s.strip_prefix("candidate:").unwrap_or(&s).to_owned()
    }

    /// The priority formula of RFC 8445 §5.1.2.1:
    /// `2^24 × type preference + 2^8 × local preference + (256 − component id)`.
    pub const fn compute_priority(
        type_preference: u32,
        local_preference: u16,
        component: u16,
    ) -> u32 {
        let component = if component > 256 { 256 } else { component } as u32;
        ((type_preference & 0x7f) << 24) + ((local_preference as u32) << 8) + (256 - component)
    }
}

/// The priority of a candidate pair (RFC 8445 §6.1.2.3) from the controlling agent's
/// candidate priority `g` and the controlled agent's `d`:
/// `2^32 × min(G, D) + 2 × max(G, D) + (G > D ? 1 : 0)`.
pub const fn pair_priority(g: u32, d: u32) -> u64 {
    let (min, max) = if g < d { (g, d) } else { (d, g) };
    ((min as u64) << 32) + 2 * (max as u64) + (g > d) as u64
}

impl fmt::Display for Candidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "candidate:{} {} {} {} {} {} typ {}",
            self.foundation,
            self.component,
            self.protocol,
            self.priority,
            self.address,
            self.port,
            self.typ
        )?;
        if let Some(a) = &self.related_address {
            write!(f, " raddr {a}")?;
        }
        if let Some(p) = self.related_port {
            write!(f, " rport {p}")?;
        }
        if let Some(t) = self.tcp_type {
            write!(f, " tcptype {t}")?;
        }
        if let Some(g) = self.generation {
            write!(f, " generation {g}")?;
        }
        if let Some(u) = &self.ufrag {
            write!(f, " ufrag {u}")?;
        }
        if let Some(n) = self.network_id {
            write!(f, " network-id {n}")?;
        }
        if let Some(c) = self.network_cost {
            write!(f, " network-cost {c}")?;
        }
        for (name, value) in &self.extensions {
            write!(f, " {name} {value}")?;
        }
        Ok(())
    }
}

impl FromStr for Candidate {
    type Err = CandidateError;

    /// Parses `candidate:...`, `a=candidate:...` or the bare value.
    ///
    /// # Errors
    /// A [`CandidateError`] naming the first field that is missing or malformed.
    fn from_str(s: &str) -> Result<Self, CandidateError> {
        if s.len() > MAX_CANDIDATE_LEN {
            return Err(CandidateError::TooLong);
        }
        let s = s.trim_end_matches(['\r', '\n']);
        let s = s.strip_prefix("a=").unwrap_or(s);
        let s = s.strip_prefix("candidate:").unwrap_or(s);
        let mut tokens = s.split(' ').filter(|t| !t.is_empty());
        let mut next = |missing| tokens.next().ok_or(missing);

        let foundation = next(CandidateError::Missing("foundation"))?;
        if foundation.is_empty()
            || foundation.len() > MAX_FOUNDATION_LEN
            || !foundation.bytes().all(is_ice_char)
        {
            return Err(CandidateError::Invalid("foundation"));
        }
        let component = next(CandidateError::Missing("component-id"))?;
        let component = parse_digits::<u16>(component, 3)
            .filter(|c| (1..=256).contains(c))
            .ok_or(CandidateError::Invalid("component-id"))?;
        let protocol: Protocol = next(CandidateError::Missing("transport"))?.parse()?;
        let priority = parse_digits::<u32>(next(CandidateError::Missing("priority"))?, 10)
            .ok_or(CandidateError::Invalid("priority"))?;
        let address: Address = next(CandidateError::Missing("connection-address"))?.parse()?;
        let port = parse_digits::<u16>(next(CandidateError::Missing("port"))?, 5)
            .ok_or(CandidateError::Invalid("port"))?;
        if next(CandidateError::Missing("typ"))? != "typ" {
            return Err(CandidateError::Invalid("typ"));
        }
        let typ: CandidateType = next(CandidateError::Missing("cand-type"))?.parse()?;

        let mut c = Candidate {
            foundation: foundation.to_owned(),
            component,
            protocol,
            priority,
            address,
            port,
            typ,
            related_address: None,
            related_port: None,
            tcp_type: None,
            generation: None,
            ufrag: None,
            network_id: None,
            network_cost: None,
            extensions: Vec::new(),
        };
        while let Some(name) = tokens.next() {
            let value = tokens
                .next()
                .ok_or(CandidateError::Missing("extension value"))?;
            match name {
                "raddr" => c.related_address = Some(value.parse()?),
                "rport" => {
                    c.related_port = Some(
                        parse_digits::<u16>(value, 5).ok_or(CandidateError::Invalid("rport"))?,
                    );
                }
                "tcptype" => c.tcp_type = Some(value.parse()?),
                "generation" => {
                    c.generation = Some(
                        parse_digits::<u32>(value, 10)
                            .ok_or(CandidateError::Invalid("generation"))?,
                    );
                }
                "ufrag" => {
                    if value.len() > MAX_UFRAG_LEN || !value.bytes().all(is_ice_char) {
                        return Err(CandidateError::Invalid("ufrag"));
                    }
                    c.ufrag = Some(value.to_owned());
                }
                "network-id" => {
                    c.network_id = Some(
                        parse_digits::<u32>(value, 10)
                            .ok_or(CandidateError::Invalid("network-id"))?,
                    );
                }
                "network-cost" => {
                    c.network_cost = Some(
                        parse_digits::<u32>(value, 10)
                            .ok_or(CandidateError::Invalid("network-cost"))?,
                    );
                }
                _ => {
                    if !is_byte_string(name) || !is_byte_string(value) {
                        return Err(CandidateError::Invalid("extension"));
                    }
                    if c.extensions.len() >= MAX_EXTENSIONS {
                        return Err(CandidateError::TooManyExtensions);
                    }
                    c.extensions.push((name.to_owned(), value.to_owned()));
                }
            }
        }
        Ok(c)
    }
}

/// `ice-char = ALPHA / DIGIT / "+" / "/"` (RFC 8839 §5.1).
pub(crate) fn is_ice_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/'
}

/// A `byte-string` token as it can appear in a space-separated line: printable, no space,
/// no control characters.
fn is_byte_string(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b > 0x20 && b != 0x7f)
}

/// Parses 1 to `max_digits` ASCII digits (no sign) into `T`.
fn parse_digits<T: FromStr>(s: &str, max_digits: usize) -> Option<T> {
    if s.is_empty() || s.len() > max_digits || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// The W3C `RTCIceCandidateInit` dictionary, serialised with serde to the browser's JSON
/// shape: `{"candidate":"candidate:...","sdpMid":"0","sdpMLineIndex":0,
/// "usernameFragment":"abcd"}`.
///
/// An empty `candidate` string is the end-of-candidates indication browsers send.
///
/// ```
/// use oxrtc_ice::{Candidate, CandidateInit};
///
/// let json = r#"{"candidate":"candidate:1 1 udp 2122260223 192.0.2.3 54400 typ host generation 0 ufrag 8a1/","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"8a1/"}"#;
/// let init: CandidateInit = serde_json::from_str(json).unwrap();
/// let c: Candidate = init.candidate()?.expect("not end-of-candidates");
/// assert_eq!(c.port, 54400);
/// assert_eq!(serde_json::to_string(&init).unwrap(), json);
/// # Ok::<(), oxrtc_ice::CandidateError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CandidateInit {
    /// The `candidate:...` string; empty for end-of-candidates.
    #[serde(default)]
    pub candidate: String,
    /// The media section's `a=mid`.
    #[serde(default)]
    pub sdp_mid: Option<String>,
    /// The media section's index in the SDP.
    #[serde(default, rename = "sdpMLineIndex")]
    pub sdp_m_line_index: Option<u16>,
    /// The ICE username fragment the candidate belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username_fragment: Option<String>,
}

impl CandidateInit {
    /// The init for a candidate in media section `sdp_mid` / `sdp_m_line_index`; the
    /// username fragment is the candidate's `ufrag`, if it has one.
    pub fn new(
        candidate: &Candidate,
        sdp_mid: Option<String>,
        sdp_m_line_index: Option<u16>,
    ) -> Self {
        CandidateInit {
            candidate: candidate.to_string(),
            sdp_mid,
            sdp_m_line_index,
            username_fragment: candidate.ufrag.clone(),
        }
    }

    /// The end-of-candidates indication (an empty `candidate`).
    pub fn end_of_candidates(sdp_mid: Option<String>, sdp_m_line_index: Option<u16>) -> Self {
        CandidateInit {
            candidate: String::new(),
            sdp_mid,
            sdp_m_line_index,
            username_fragment: None,
        }
    }

    /// Whether this is the end-of-candidates indication.
    pub fn is_end_of_candidates(&self) -> bool {
        self.candidate.trim().is_empty()
    }

    /// The JSON text, `{"candidate":...,"sdpMid":...,"sdpMLineIndex":...}`.
    pub fn to_json(&self) -> String {
        // Serialising strings and integers cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses the JSON text.
    ///
    /// # Errors
    /// [`CandidateError::InvalidJson`] if it is not a candidate init object. The
    /// `candidate` string itself is checked by [`candidate`](Self::candidate).
    pub fn from_json(json: &str) -> Result<Self, CandidateError> {
        serde_json::from_str(json).map_err(|_| CandidateError::InvalidJson)
    }

    /// The candidate attribute value without the `candidate:` (or `a=candidate:`) prefix,
    /// as it follows `a=candidate:` in SDP (RFC 8839 §5.1); `None` for end-of-candidates.
    pub fn sdp_value(&self) -> Option<&str> {
        let c = self.candidate.trim();
        if c.is_empty() {
            return None;
        }
        Some(
            c.strip_prefix("a=")
                .unwrap_or(c)
                .strip_prefix("candidate:")
                .unwrap_or(c),
        )
    }

    /// The parsed candidate; `None` for end-of-candidates. A `usernameFragment` fills in
    /// the candidate's `ufrag` when the string has none.
    ///
    /// # Errors
    /// The [`CandidateError`] of the `candidate` string.
    pub fn candidate(&self) -> Result<Option<Candidate>, CandidateError> {
        if self.is_end_of_candidates() {
            return Ok(None);
        }
        let mut c: Candidate = self.candidate.parse()?;
        if c.ufrag.is_none() {
            if let Some(u) = &self.username_fragment {
                if u.len() <= MAX_UFRAG_LEN && u.bytes().all(is_ice_char) {
                    c.ufrag = Some(u.clone());
                }
            }
        }
        Ok(Some(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Captured from Chrome 124, Firefox 125 and Safari 17 (addresses changed to the
    // documentation ranges).
    const CHROME_HOST: &str = "candidate:3442447574 1 udp 2122260223 192.0.2.20 58031 typ host generation 0 ufrag 5b8H network-id 1 network-cost 10";
    const CHROME_MDNS: &str = "candidate:2973542431 1 udp 2113937151 8c9b9a37-4c05-4e7c-9bd3-3e0cf9d9e1a4.local 60134 typ host generation 0 ufrag 5b8H network-cost 999";
    const CHROME_SRFLX: &str = "candidate:1845501695 1 udp 1686052607 198.51.100.44 60134 typ srflx raddr 0.0.0.0 rport 0 generation 0 ufrag 5b8H network-cost 999";
    const CHROME_TCP: &str = "candidate:4152019214 1 tcp 1518280447 192.0.2.20 9 typ host tcptype active generation 0 ufrag 5b8H network-id 1 network-cost 10";
    const FIREFOX_RELAY: &str =
        "candidate:5 1 UDP 8265471 203.0.113.9 52006 typ relay raddr 198.51.100.44 rport 52006";
    const FIREFOX_V6: &str = "candidate:1 1 UDP 2122187007 2001:db8::7 49707 typ host";
    const SAFARI_TCP_PASSIVE: &str = "candidate:2 1 tcp 1518214911 192.0.2.33 50001 typ host tcptype passive generation 0 ufrag z/Rk network-cost 50";

    fn roundtrip(s: &str) -> Candidate {
        let c: Candidate = s.parse().unwrap_or_else(|e| panic!("{s}: {e}"));
        let again: Candidate = c.to_string().parse().unwrap();
        assert_eq!(again, c);
        assert_eq!(again.to_string(), c.to_string());
        c
    }

    #[test]
    fn browser_candidates() {
        let c = roundtrip(CHROME_HOST);
        assert_eq!(c.to_string(), CHROME_HOST);
        assert_eq!(c.priority, 2_122_260_223);
        assert_eq!(c.network_id, Some(1));
        assert_eq!(c.network_cost, Some(10));

        let c = roundtrip(CHROME_MDNS);
        assert!(c.address.is_mdns());
        assert_eq!(c.socket_addr(), None);
        assert_eq!(c.to_string(), CHROME_MDNS);

        let c = roundtrip(CHROME_SRFLX);
        assert_eq!(c.related_socket_addr(), Some("0.0.0.0:0".parse().unwrap()));
        assert_eq!(c.to_string(), CHROME_SRFLX);

        let c = roundtrip(CHROME_TCP);
        assert_eq!(
            (c.protocol, c.tcp_type, c.port),
            (Protocol::Tcp, Some(TcpType::Active), 9)
        );
        assert_eq!(c.to_string(), CHROME_TCP);

        let c = roundtrip(FIREFOX_RELAY);
        assert_eq!(c.typ, CandidateType::Relayed);
        assert_eq!(c.protocol, Protocol::Udp, "transport is case-insensitive");
        assert_eq!(
            c.related_socket_addr(),
            Some("198.51.100.44:52006".parse().unwrap())
        );

        let c = roundtrip(FIREFOX_V6);
        assert_eq!(
            c.socket_addr(),
            Some("[2001:db8::7]:49707".parse().unwrap())
        );

        let c = roundtrip(SAFARI_TCP_PASSIVE);
        assert_eq!(c.tcp_type, Some(TcpType::Passive));
    }

    #[test]
    fn prefixes_and_sdp_value() {
        let bare = CHROME_HOST.strip_prefix("candidate:").unwrap();
        let a: Candidate = bare.parse().unwrap();
        let b: Candidate = format!("a={CHROME_HOST}\r\n").parse().unwrap();
        assert_eq!(a, b);
        assert_eq!(a.sdp_value(), bare);
    }

    #[test]
    fn unknown_extensions_are_kept_in_order() {
        let c = roundtrip("candidate:1 1 udp 1 192.0.2.1 1 typ host x-b 2 x-a 1 generation 3");
        assert_eq!(
            c.extensions,
            vec![("x-b".into(), "2".into()), ("x-a".into(), "1".into())]
        );
        assert_eq!(
            c.to_string(),
            "candidate:1 1 udp 1 192.0.2.1 1 typ host generation 3 x-b 2 x-a 1"
        );
    }

    #[test]
    fn malformed_candidates() {
        let cases: &[(&str, CandidateError)] = &[
            ("", CandidateError::Missing("foundation")),
            ("candidate:", CandidateError::Missing("foundation")),
            ("candidate:1", CandidateError::Missing("component-id")),
            (
                "candidate:1 0 udp 1 192.0.2.1 1 typ host",
                CandidateError::Invalid("component-id"),
            ),
            (
                "candidate:1 257 udp 1 192.0.2.1 1 typ host",
                CandidateError::Invalid("component-id"),
            ),
            (
                "candidate:1 1 sctp 1 192.0.2.1 1 typ host",
                CandidateError::UnknownTransport,
            ),
            (
                "candidate:1 1 udp 4294967296 192.0.2.1 1 typ host",
                CandidateError::Invalid("priority"),
            ),
            (
                "candidate:1 1 udp -1 192.0.2.1 1 typ host",
                CandidateError::Invalid("priority"),
            ),
            (
                "candidate:1 1 udp 1 192.0.2.1 65536 typ host",
                CandidateError::Invalid("port"),
            ),
            (
                "candidate:1 1 udp 1 192.0.2.1 1 type host",
                CandidateError::Invalid("typ"),
            ),
            (
                "candidate:1 1 udp 1 192.0.2.1 1 typ",
                CandidateError::Missing("cand-type"),
            ),
            (
                "candidate:1 1 udp 1 192.0.2.1 1 typ nat",
                CandidateError::UnknownType,
            ),
            (
                "candidate:1 1 udp 1 192.0.2.1 1 typ host raddr",
                CandidateError::Missing("extension value"),
            ),
            (
                "candidate:1 1 udp 1 192.0.2.1 1 typ host tcptype both",
                CandidateError::UnknownTcpType,
            ),
            (
                "candidate:1 1 udp 1 bad!host 1 typ host",
                CandidateError::InvalidAddress,
            ),
            (
                "candidate:1 1 udp 1 192.0.2.1 1 typ host generation x",
                CandidateError::Invalid("generation"),
            ),
            (
                "candidate:1 1 udp 1 192.0.2.1 1 typ host ufrag a:b",
                CandidateError::Invalid("ufrag"),
            ),
            (
                "candidate:f*o 1 udp 1 192.0.2.1 1 typ host",
                CandidateError::Invalid("foundation"),
            ),
            (
                "candidate:123456789012345678901234567890123 1 udp 1 192.0.2.1 1 typ host",
                CandidateError::Invalid("foundation"),
            ),
        ];
        for (s, want) in cases {
            assert_eq!(s.parse::<Candidate>().as_ref(), Err(want), "{s}");
        }
        let long = format!("{CHROME_HOST}{}", " x y".repeat(2000));
        assert_eq!(long.parse::<Candidate>(), Err(CandidateError::TooLong));
        let many = format!("{CHROME_HOST}{}", " x y".repeat(MAX_EXTENSIONS + 1));
        assert_eq!(
            many.parse::<Candidate>(),
            Err(CandidateError::TooManyExtensions)
        );
    }

    #[test]
    fn priorities_follow_rfc8445() {
        // Chrome's host candidate: type 126, local preference 0x7f1e, component 1.
        assert_eq!(Candidate::compute_priority(126, 0x7f1e, 1), 2_122_260_223);
        assert_eq!(CandidateType::Host.type_preference(Protocol::Udp), 126);
        assert_eq!(CandidateType::Relayed.type_preference(Protocol::Udp), 0);
        // §6.1.2.3 with G > D and G < D, and symmetry up to the last bit.
        let (g, d) = (2_122_260_223u32, 1_686_052_607u32);
        assert_eq!(pair_priority(g, d), ((d as u64) << 32) + 2 * g as u64 + 1);
        assert_eq!(pair_priority(d, g), ((d as u64) << 32) + 2 * g as u64);
        assert_eq!(pair_priority(7, 7), (7u64 << 32) + 14);
    }

    #[test]
    fn mdns_names() {
        assert!(Address::Fqdn("abc.local".into()).is_mdns());
        assert!(Address::Fqdn("ABC.LOCAL.".into()).is_mdns());
        assert!(!Address::Fqdn("example.com".into()).is_mdns());
        assert!(!Address::Fqdn(".local".into()).is_mdns());
        assert_eq!(
            "[::1]".parse::<Address>(),
            Ok(Address::Ip("::1".parse().unwrap()))
        );
        assert_eq!(
            "1234".parse::<Address>(),
            Err(CandidateError::InvalidAddress)
        );
    }

    #[test]
    fn candidate_init_json() {
        let init: CandidateInit =
            serde_json::from_str(r#"{"candidate":"","sdpMid":"0","sdpMLineIndex":0}"#).unwrap();
        assert!(init.is_end_of_candidates());
        assert_eq!(init.candidate(), Ok(None));

        let init: CandidateInit = serde_json::from_str(&format!(
            r#"{{"candidate":"{FIREFOX_V6}","sdpMid":"audio","usernameFragment":"zz9z"}}"#
        ))
        .unwrap();
        let c = init.candidate().unwrap().unwrap();
        assert_eq!(c.ufrag.as_deref(), Some("zz9z"));
        assert_eq!(init.sdp_m_line_index, None);

        let c: Candidate = CHROME_HOST.parse().unwrap();
        let json =
            serde_json::to_string(&CandidateInit::new(&c, Some("0".into()), Some(0))).unwrap();
        assert_eq!(
            json,
            format!(
                r#"{{"candidate":"{CHROME_HOST}","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"5b8H"}}"#
            )
        );
        let eoc =
            serde_json::to_string(&CandidateInit::end_of_candidates(Some("0".into()), Some(0)))
                .unwrap();
        assert_eq!(eoc, r#"{"candidate":"","sdpMid":"0","sdpMLineIndex":0}"#);
    }

    #[test]
    fn candidate_init_json_text() {
        let c = CandidateInit {
            candidate: "candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host".into(),
            sdp_mid: Some("0".into()),
            sdp_m_line_index: Some(0),
            username_fragment: None,
        };
        assert_eq!(
            c.to_json(),
            r#"{"candidate":"candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host","sdpMid":"0","sdpMLineIndex":0}"#
        );
        assert_eq!(
            c.sdp_value(),
            Some("1 1 udp 2122260223 127.0.0.1 5000 typ host")
        );
        let prefixed = CandidateInit {
            candidate: "a=candidate:1 1 udp 1 192.0.2.1 9 typ host".into(),
            ..CandidateInit::default()
        };
        assert_eq!(prefixed.sdp_value(), Some("1 1 udp 1 192.0.2.1 9 typ host"));
        // What Chromium's onicecandidate JSON looks like, with usernameFragment.
        let chrome = r#"{"candidate":"candidate:842163049 1 udp 1677729535 1.2.3.4 46154 typ srflx raddr 0.0.0.0 rport 0 generation 0 ufrag sXP5 network-cost 999","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"sXP5"}"#;
        let c = CandidateInit::from_json(chrome).unwrap();
        assert_eq!(c.username_fragment.as_deref(), Some("sXP5"));
        assert_eq!(c.to_json(), chrome);
        let end =
            CandidateInit::from_json(r#"{"candidate":"","sdpMid":"0","sdpMLineIndex":0}"#).unwrap();
        assert_eq!(end.sdp_value(), None);
        assert_eq!(
            CandidateInit::from_json(r#"{"candidate":1}"#),
            Err(CandidateError::InvalidJson)
        );
        for bad in [
            "",
            "null",
            r#""candidate:1 1 udp 1 192.0.2.1 9 typ host""#,
            "{",
        ] {
            assert_eq!(
                CandidateInit::from_json(bad),
                Err(CandidateError::InvalidJson),
                "{bad}"
            );
        }
    }
}
