//! Agent configuration: [`AgentConfig`], credentials and ICE server URLs.

use core::fmt;
use core::str::FromStr;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use rand_core::RngCore;
use serde::{Deserialize, Serialize};

use crate::candidate::{is_ice_char, Protocol};
use crate::error::UrlError;

/// ICE username fragment and password (RFC 8445 §5.3, RFC 8839 §5.4).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Credentials {
    /// `ice-ufrag`: 4 to 256 `ice-char`s.
    pub ufrag: String,
    /// `ice-pwd`: 22 to 256 `ice-char`s.
    pub pwd: String,
}

impl Credentials {
    /// Fresh random credentials: an 8-character ufrag and a 24-character password (144
    /// bits, above the 128 the RFC asks for), drawn from `rng`.
    pub fn random<R: RngCore + ?Sized>(rng: &mut R) -> Self {
        Credentials {
            ufrag: random_ice_chars(rng, 8),
            pwd: random_ice_chars(rng, 24),
        }
    }

    /// A pair of strings, checked.
    ///
    /// # Errors
    /// [`Error::InvalidCredentials`](crate::Error::InvalidCredentials) unless the ufrag has 4
    /// to 256 and the password 22 to 256 `ice-char`s (RFC 8839 §5.4).
    pub fn new(ufrag: impl Into<String>, pwd: impl Into<String>) -> Result<Self, crate::Error> {
        let c = Credentials {
            ufrag: ufrag.into(),
            pwd: pwd.into(),
        };
        if c.is_valid() {
            Ok(c)
        } else {
            Err(crate::Error::InvalidCredentials)
        }
    }

    /// Whether both strings have the lengths and characters RFC 8839 §5.4 requires.
    pub fn is_valid(&self) -> bool {
        (4..=256).contains(&self.ufrag.len())
            && (22..=256).contains(&self.pwd.len())
            && self.ufrag.bytes().all(is_ice_char)
            && self.pwd.bytes().all(is_ice_char)
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("ufrag", &self.ufrag)
            .field("pwd", &"..")
            .finish()
    }
}

fn random_ice_chars<R: RngCore + ?Sized>(rng: &mut R, n: usize) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    (0..n)
        .map(|_| char::from(ALPHABET[(rng.next_u32() & 63) as usize]))
        .collect()
}

/// Which local candidates the agent uses (W3C `RTCIceTransportPolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TransportPolicy {
    /// Every candidate type.
    #[default]
    All,
    /// Relayed candidates only: the peer never learns a local address.
    Relay,
}

/// One entry of the W3C `RTCIceServer` list: URLs sharing credentials.
///
/// Serialises with serde to the browser's JSON shape,
/// `{"urls":["turn:turn.example.org:3478?transport=udp"],"username":"u","credential":"p"}`;
/// `urls` may also be a single string, and absent credentials are left out.
///
/// ```
/// use oxrtc_ice::IceServer;
/// let s: IceServer = serde_json::from_str(r#"{"urls":"stun:stun.example.org"}"#).unwrap();
/// assert_eq!(s, IceServer::stun("stun:stun.example.org"));
/// assert_eq!(s.parsed_urls()?[0].port, 3478);
/// # Ok::<(), oxrtc_ice::UrlError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct IceServer {
    /// `stun:`, `stuns:`, `turn:` or `turns:` URLs (RFC 7064, RFC 7065).
    #[serde(deserialize_with = "one_or_many")]
    pub urls: Vec<String>,
    /// TURN username.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// TURN password (W3C `credential`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

impl IceServer {
    /// A server without credentials (STUN).
    pub fn stun(url: impl Into<String>) -> Self {
        IceServer {
            urls: vec![url.into()],
            username: None,
            credential: None,
        }
    }

    /// A TURN server with long-term credentials.
    pub fn turn(
        url: impl Into<String>,
        username: impl Into<String>,
        credential: impl Into<String>,
    ) -> Self {
        IceServer {
            urls: vec![url.into()],
            username: Some(username.into()),
            credential: Some(credential.into()),
        }
    }

    /// A server without credentials: the same as [`stun`](Self::stun), under the name the
    /// `oxrtc` crate has always used.
    pub fn new(url: impl Into<String>) -> Self {
        Self::stun(url)
    }

    /// A server with long-term credentials: the same as [`turn`](Self::turn), under the
    /// name the `oxrtc` crate has always used.
    pub fn with_credentials(
        url: impl Into<String>,
        username: impl Into<String>,
        credential: impl Into<String>,
    ) -> Self {
        Self::turn(url, username, credential)
    }

    /// The URLs, parsed (an empty list gives an empty vector).
    ///
    /// # Errors
    /// The [`UrlError`] of the first URL that does not parse.
    pub fn parsed_urls(&self) -> Result<Vec<IceServerUrl>, UrlError> {
        self.urls.iter().map(|u| u.parse()).collect()
    }
}

/// W3C `urls` is `(DOMString or sequence<DOMString>)`.
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

impl fmt::Debug for IceServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IceServer")
            .field("urls", &self.urls)
            .field("username", &self.username)
            .field("credential", &self.credential.as_ref().map(|_| ".."))
            .finish()
    }
}

/// The scheme of an ICE server URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `stun:` (RFC 7064).
    Stun,
    /// `stuns:`: STUN over TLS.
    Stuns,
    /// `turn:` (RFC 7065).
    Turn,
    /// `turns:`: TURN over TLS.
    Turns,
}

impl Scheme {
    /// Whether this is `turn:` or `turns:`.
    pub const fn is_turn(self) -> bool {
        matches!(self, Scheme::Turn | Scheme::Turns)
    }

    /// Whether the scheme asks for TLS.
    pub const fn is_secure(self) -> bool {
        matches!(self, Scheme::Stuns | Scheme::Turns)
    }
}

/// The host part of an ICE server URL.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// An IP literal (IPv6 in brackets in the URL).
    Ip(IpAddr),
    /// A DNS name, resolved through [`IceEvent::Resolve`](crate::IceEvent::Resolve).
    Name(String),
}

/// The host as a TLS server name or DNS query wants it: the name, or the IP address
/// without brackets.
impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Ip(ip) => ip.fmt(f),
            Host::Name(n) => f.write_str(n),
        }
    }
}

/// A parsed ICE server URL (RFC 7064 §3.1, RFC 7065 §3.1):
/// `stun:host[:port]`, `turn:host[:port][?transport=udp|tcp]`.
///
/// ```
/// use oxrtc_ice::{Host, IceServerUrl, Protocol, Scheme};
/// let u: IceServerUrl = "turn:[2001:db8::1]?transport=tcp".parse().unwrap();
/// assert_eq!(u.scheme, Scheme::Turn);
/// assert_eq!(u.host, Host::Ip("2001:db8::1".parse().unwrap()));
/// assert_eq!((u.port, u.transport), (3478, Protocol::Tcp));
/// assert_eq!(u.to_string(), "turn:[2001:db8::1]:3478?transport=tcp");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IceServerUrl {
    /// The scheme.
    pub scheme: Scheme,
    /// The host.
    pub host: Host,
    /// The port: given, or 3478 (`stun`, `turn`) / 5349 (`stuns`, `turns`).
    pub port: u16,
    /// Transport to the server: UDP unless `?transport=tcp`; TLS schemes are TCP.
    pub transport: Protocol,
}

impl IceServerUrl {
    /// The server's socket address when the host is an IP literal.
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        match self.host {
            Host::Ip(ip) => Some(SocketAddr::new(ip, self.port)),
            Host::Name(_) => None,
        }
    }
}

impl FromStr for IceServerUrl {
    type Err = UrlError;

    fn from_str(s: &str) -> Result<Self, UrlError> {
        let (scheme, rest) = s.split_once(':').ok_or(UrlError::UnknownScheme)?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "stun" => Scheme::Stun,
            "stuns" => Scheme::Stuns,
            "turn" => Scheme::Turn,
            "turns" => Scheme::Turns,
            _ => return Err(UrlError::UnknownScheme),
        };
        let (hostport, query) = match rest.split_once('?') {
            Some((h, q)) => (h, Some(q)),
            None => (rest, None),
        };
        let mut transport = if scheme.is_secure() {
            Protocol::Tcp
        } else {
            Protocol::Udp
        };
        if let Some(q) = query {
            if !scheme.is_turn() {
                return Err(UrlError::InvalidQuery);
            }
            transport = match q.to_ascii_lowercase().as_str() {
                "transport=udp" => Protocol::Udp,
                "transport=tcp" => Protocol::Tcp,
                _ => return Err(UrlError::InvalidQuery),
            };
        }
        let default_port = if scheme.is_secure() { 5349 } else { 3478 };
        let (host, port) = if let Some(r) = hostport.strip_prefix('[') {
            let (ip, after) = r.split_once(']').ok_or(UrlError::InvalidHost)?;
            let ip: IpAddr = ip.parse().map_err(|_| UrlError::InvalidHost)?;
            let port = match after {
                "" => default_port,
                p => parse_port(p.strip_prefix(':').ok_or(UrlError::InvalidPort)?)?,
            };
            (Host::Ip(ip), port)
        } else {
            let (h, port) = match hostport.rsplit_once(':') {
                Some((h, p)) => (h, parse_port(p)?),
                None => (hostport, default_port),
            };
            let host = if let Ok(ip) = h.parse::<IpAddr>() {
                Host::Ip(ip)
            } else if !h.is_empty()
                && h.len() <= 253
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
            {
                Host::Name(h.to_ascii_lowercase())
            } else {
                return Err(UrlError::InvalidHost);
            };
            (host, port)
        };
        Ok(IceServerUrl {
            scheme,
            host,
            port,
            transport,
        })
    }
}

fn parse_port(p: &str) -> Result<u16, UrlError> {
    if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err(UrlError::InvalidPort);
    }
    match p.parse::<u16>() {
        Ok(0) | Err(_) => Err(UrlError::InvalidPort),
        Ok(port) => Ok(port),
    }
}

impl fmt::Display for IceServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.scheme {
            Scheme::Stun => "stun",
            Scheme::Stuns => "stuns",
            Scheme::Turn => "turn",
            Scheme::Turns => "turns",
        };
        match &self.host {
            Host::Ip(IpAddr::V6(ip)) => write!(f, "{scheme}:[{ip}]:{}", self.port)?,
            Host::Ip(ip) => write!(f, "{scheme}:{ip}:{}", self.port)?,
            Host::Name(n) => write!(f, "{scheme}:{n}:{}", self.port)?,
        }
        if self.scheme.is_turn() {
            write!(f, "?transport={}", self.transport)?;
        }
        Ok(())
    }
}

/// Agent configuration. `AgentConfig::default()` is a controlling full agent with the
/// RFC 8445 / RFC 7675 timings; set [`controlling`](Self::controlling) from the offer/answer
/// role (the offerer controls, RFC 8445 §6.1.1).
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// Initial role: `true` controlling (the offerer), `false` controlled. A role conflict
    /// may change it (RFC 8445 §7.3.1.1).
    pub controlling: bool,
    /// The role tie-breaker (RFC 8445 §7.3.1.1); `None` (the default) draws one from the rng.
    pub tie_breaker: Option<u64>,
    /// Local ufrag/pwd; `None` (the default) generates them.
    pub local_credentials: Option<Credentials>,
    /// STUN and TURN servers (W3C `iceServers`).
    pub ice_servers: Vec<IceServer>,
    /// W3C `iceTransportPolicy`. Default [`TransportPolicy::All`].
    pub transport_policy: TransportPolicy,
    /// Ta: pacing of new connectivity checks (RFC 8445 §14.2). Default 50 ms.
    pub ta: Duration,
    /// Initial retransmission timeout of a check. The RFC's RTO is
    /// `max(this, Ta × checks in flight)` (RFC 8445 §14.3). Default 500 ms.
    pub check_rto: Duration,
    /// Upper bound on a check's doubled RTO. Default 1.5 s.
    pub check_max_rto: Duration,
    /// Transmissions of a check before its pair fails (Rc). Default 7; with the other
    /// defaults a check to a dead address fails 9 s after it started.
    pub check_max_transmissions: u32,
    /// Wait after the last transmission, as a multiple of the initial RTO (Rm). Default 3.
    pub check_last_wait_multiplier: u32,
    /// How long the controlling agent waits, after its first valid pair, for a pair of higher
    /// priority before nominating the best valid one (regular nomination, RFC 8445 §8.1.1).
    /// It nominates earlier when no pair of higher priority is left to check. Default 1 s.
    pub nomination_timeout: Duration,
    /// Consent freshness: interval between consent checks on the pair in use, randomised
    /// by ±20 % (RFC 7675 §5.1). Default 5 s.
    pub consent_interval: Duration,
    /// Consent expires this long after the last successful consent check (RFC 7675 §5.1):
    /// the pair is dropped, and without another pair the agent is failed. Default 30 s.
    pub consent_timeout: Duration,
    /// Without a successful check for this long, and with a consent check unanswered for a
    /// second, the pair in use counts as disconnected (W3C `disconnected`); consent checks
    /// then go out every [`ta`](Self::ta) × 20 and the other valid pairs are checked again.
    /// A lite agent, which sends no checks, waits at least two consent intervals for the
    /// peer's. Default 6 s.
    pub disconnected_timeout: Duration,
    /// ICE lite (RFC 8445 §2.5): host candidates only, no checks sent, always controlled.
    /// For servers with a public address. Default `false`.
    pub lite: bool,
    /// Offer host candidates on loopback sockets (tests need this). Default `false`.
    pub include_loopback: bool,
    /// Support renomination (draft-thatcher-ice-renomination, `ice-options:renomination`):
    /// the controlling agent may move the selected pair, numbering its nominations in a
    /// NOMINATION attribute. Used when both sides support it. Default `true`.
    pub renomination: bool,
    /// Most remote candidates kept, prflx included. Default 64.
    pub max_remote_candidates: usize,
    /// Most candidate pairs (RFC 8445 §6.1.2.5 suggests 100). Default 100.
    pub max_pairs: usize,
    /// How long a name lookup (mDNS candidate, server host name) may take before the
    /// candidate or server is given up. Default 5 s.
    pub lookup_timeout: Duration,
    /// Component id of the candidates this agent gathers and accepts: 1 with rtcp-mux and
    /// BUNDLE, as WebRTC always does.
    pub component: u16,
}

impl Default for AgentConfig {
    fn default() -> Self {
        AgentConfig {
            controlling: true,
            tie_breaker: None,
            local_credentials: None,
            ice_servers: Vec::new(),
            transport_policy: TransportPolicy::All,
            ta: Duration::from_millis(50),
            check_rto: Duration::from_millis(500),
            check_max_rto: Duration::from_millis(1500),
            check_max_transmissions: 7,
            check_last_wait_multiplier: 3,
            nomination_timeout: Duration::from_secs(1),
            consent_interval: Duration::from_secs(5),
            consent_timeout: Duration::from_secs(30),
            disconnected_timeout: Duration::from_secs(6),
            lite: false,
            include_loopback: false,
            renomination: true,
            max_remote_candidates: 64,
            max_pairs: 100,
            lookup_timeout: Duration::from_secs(5),
            component: 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn server_urls() {
        let u: IceServerUrl = "stun:stun.l.google.com:19302".parse().unwrap();
        assert_eq!(u.host, Host::Name("stun.l.google.com".into()));
        assert_eq!((u.port, u.transport), (19302, Protocol::Udp));
        let u: IceServerUrl = "turns:192.0.2.1".parse().unwrap();
        assert_eq!((u.port, u.transport), (5349, Protocol::Tcp));
        assert_eq!(u.socket_addr(), Some("192.0.2.1:5349".parse().unwrap()));
        let u: IceServerUrl = "TURN:192.0.2.1:3479?transport=UDP".parse().unwrap();
        assert_eq!(u.to_string(), "turn:192.0.2.1:3479?transport=udp");
        let u: IceServerUrl = "turn:10.0.0.1?transport=tcp".parse().unwrap();
        assert_eq!((u.port, u.transport), (3478, Protocol::Tcp));
        let u: IceServerUrl = "turns:[::1]:443".parse().unwrap();
        assert_eq!(
            (&u.host, u.port, u.transport),
            (&Host::Ip("::1".parse().unwrap()), 443, Protocol::Tcp)
        );
        assert_eq!(u.host.to_string(), "::1");
        assert_eq!(u.to_string(), "turns:[::1]:443?transport=tcp");
        for bad in [
            "http://x",
            "stun:",
            "stun:host:0",
            "stun:host:99999",
            "stun:host?transport=udp",
            "turn:host?transport=sctp",
            "stun:[::1",
            "turn:[::1",
            "stun:[::1]x",
            "stun:bad_host",
        ] {
            assert!(bad.parse::<IceServerUrl>().is_err(), "{bad}");
        }
    }

    #[test]
    fn ice_server_json() {
        let s: IceServer = serde_json::from_str(r#"{"urls":"stun:127.0.0.1:3478"}"#).unwrap();
        assert_eq!(s.urls, ["stun:127.0.0.1:3478"]);
        assert_eq!(s, IceServer::new("stun:127.0.0.1:3478"));
        let s: IceServer = serde_json::from_str(
            r#"{"urls":["turn:a:1","turns:b"],"username":"u","credential":"c"}"#,
        )
        .unwrap();
        assert_eq!(s.urls.len(), 2);
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            r#"{"urls":["turn:a:1","turns:b"],"username":"u","credential":"c"}"#
        );
        assert_eq!(
            serde_json::to_string(&IceServer::stun("stun:a")).unwrap(),
            r#"{"urls":["stun:a"]}"#
        );
        assert!(serde_json::from_str::<IceServer>(r#"{"username":"u"}"#).is_err());
        assert!(!format!("{s:?}").contains("\"c\""));
        let urls = s.parsed_urls().unwrap();
        assert_eq!((urls[0].port, urls[1].port), (1, 5349));
        let bad = IceServer::with_credentials("turn:a:1", "u", "c");
        assert_eq!(bad, IceServer::turn("turn:a:1", "u", "c"));
        let bad = IceServer {
            urls: vec!["turn:a".into(), "turn:a:0".into()],
            ..bad
        };
        assert_eq!(bad.parsed_urls(), Err(UrlError::InvalidPort));
    }

    proptest::proptest! {
        #[test]
        fn ice_server_url_round_trip(
            scheme in 0usize..4,
            host in "[a-z][a-z0-9.-]{0,20}|[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}|::1|fe80::[0-9a-f]{1,4}",
            port in 1u16..,
            tcp in proptest::bool::ANY,
        ) {
            let scheme = [Scheme::Stun, Scheme::Stuns, Scheme::Turn, Scheme::Turns][scheme];
            let transport = if tcp || (scheme.is_secure() && !scheme.is_turn()) { Protocol::Tcp } else { Protocol::Udp };
            let transport = if scheme == Scheme::Stun { Protocol::Udp } else { transport };
            let host = host.parse().map_or(Host::Name(host), Host::Ip);
            let url = IceServerUrl { scheme, host, port, transport };
            let text = url.to_string();
            let back: IceServerUrl = text.parse().unwrap();
            proptest::prop_assert_eq!(&back, &url);
            proptest::prop_assert_eq!(back.to_string(), text);
        }

        #[test]
        fn ice_server_url_parse_never_panics(s in "\\PC{0,64}") {
            if let Ok(u) = s.parse::<IceServerUrl>() {
                let again: IceServerUrl = u.to_string().parse().unwrap();
                proptest::prop_assert_eq!(again, u);
            }
        }
    }

    #[test]
    fn random_credentials_are_valid() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let a = Credentials::random(&mut rng);
        let b = Credentials::random(&mut rng);
        assert!(a.is_valid() && b.is_valid());
        assert_ne!(a, b);
        assert!(!format!("{a:?}").contains(&a.pwd));
        assert!(Credentials::new("abc", "x".repeat(22)).is_err());
        assert!(Credentials::new("abcd", "x".repeat(21)).is_err());
        assert!(Credentials::new("ab:d", "x".repeat(22)).is_err());
        assert!(Credentials::new("abcd", "x".repeat(22)).is_ok());
    }
}
