//! The W3C `RTCConfiguration`: ICE servers, transport policy, certificates, and the local
//! choices a browser does not expose (UDP port range, interface filter).

use crate::error::Error;
use oxrtc_dtls::Certificate;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// Peer connection settings (W3C `RTCConfiguration`, plus local transport choices).
///
/// `Config::default()` gathers host candidates on the default interface and loopback, uses
/// no STUN/TURN server, generates an ECDSA P-256 certificate, and answers offers with
/// `a=setup:active` (RFC 8842 §5.3).
#[derive(Clone, Default)]
pub struct Config {
    /// STUN and TURN servers (W3C `iceServers`).
    pub ice_servers: Vec<IceServer>,
    /// Which candidates ICE may use (W3C `iceTransportPolicy`).
    pub ice_transport_policy: IceTransportPolicy,
    /// DTLS certificates; the first is used. Empty: one is generated (W3C default).
    pub certificates: Vec<Certificate>,
    /// Local UDP ports the runtime may bind, inclusive; `None` lets the OS pick.
    pub udp_port_range: Option<(u16, u16)>,
    /// Which local addresses the runtime gathers host candidates on.
    pub interface_filter: InterfaceFilter,
    /// Largest data channel message we accept, advertised as `a=max-message-size`
    /// (RFC 8841 §6). Default 256 KiB, like Chromium.
    pub max_message_size: usize,
    /// DTLS role we take when answering an `actpass` offer. Default
    /// [`DtlsRole::Client`] (`a=setup:active`, RFC 8842 §5.3 recommends it).
    pub answer_dtls_role: DtlsRole,
    /// CA certificates (DER) the runtime trusts for `turns:` servers besides the Web PKI
    /// roots (Mozilla's, from `webpki-roots`): for a private CA, or a test's self-signed
    /// one. Default empty. The server's certificate must name the URL's host (a DNS name,
    /// or an IP address for an IP literal).
    pub tls_root_certificates: Vec<Vec<u8>>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("ice_servers", &self.ice_servers)
            .field("ice_transport_policy", &self.ice_transport_policy)
            .field("certificates", &self.certificates.len())
            .field("udp_port_range", &self.udp_port_range)
            .field("interface_filter", &self.interface_filter)
            .field("max_message_size", &self.max_message_size)
            .field("answer_dtls_role", &self.answer_dtls_role)
            .field("tls_root_certificates", &self.tls_root_certificates.len())
            .finish()
    }
}

impl Config {
    /// Checks the configuration: every ICE server URL parses, TURN servers have a username
    /// and credential (W3C `setConfiguration` step 4.3), the port range is ordered.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the bad value.
    pub fn validate(&self) -> Result<(), Error> {
        for server in &self.ice_servers {
            for url in server.parsed_urls()? {
                if url.scheme.is_turn()
                    && (server.username.is_none() || server.credential.is_none())
                {
                    return Err(Error::InvalidConfig(format!(
                        "turn server {url} needs a username and credential"
                    )));
                }
            }
        }
        if let Some((lo, hi)) = self.udp_port_range {
            if lo > hi {
                return Err(Error::InvalidConfig(format!(
                    "udp port range {lo}..={hi} is empty"
                )));
            }
        }
        Ok(())
    }

    pub(crate) fn effective_max_message_size(&self) -> usize {
        if self.max_message_size == 0 {
            256 * 1024
        } else {
            self.max_message_size
        }
    }
}

/// The DTLS role of this peer (RFC 5763 §5: `a=setup:active` is the client).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DtlsRole {
    /// DTLS client, `a=setup:active`.
    #[default]
    Client,
    /// DTLS server, `a=setup:passive`.
    Server,
}

/// One STUN or TURN server (W3C `RTCIceServer`).
///
/// JSON shape: `{"urls":["turn:turn.example.org:3478?transport=udp"],"username":"u","credential":"p"}`
/// (`urls` may also be a single string).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
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
    /// A server without credentials (a STUN server).
    pub fn new(url: impl Into<String>) -> Self {
        IceServer {
            urls: vec![url.into()],
            username: None,
            credential: None,
        }
    }

    /// A server with long-term credentials (a TURN server).
    pub fn with_credentials(
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

    /// The URLs, parsed.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for the first URL that does not parse.
    pub fn parsed_urls(&self) -> Result<Vec<IceServerUrl>, Error> {
        if self.urls.is_empty() {
            return Err(Error::InvalidConfig("ice server without urls".into()));
        }
        self.urls.iter().map(|u| u.parse()).collect()
    }
}

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

/// URL scheme of an ICE server (RFC 7064 §3.1, RFC 7065 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IceServerScheme {
    /// `stun:`
    Stun,
    /// `stuns:` (STUN over TLS)
    Stuns,
    /// `turn:`
    Turn,
    /// `turns:` (TURN over TLS)
    Turns,
}

impl IceServerScheme {
    /// Whether this is a TURN scheme.
    pub fn is_turn(self) -> bool {
        matches!(self, IceServerScheme::Turn | IceServerScheme::Turns)
    }

    /// Whether the scheme uses TLS.
    pub fn is_secure(self) -> bool {
        matches!(self, IceServerScheme::Stuns | IceServerScheme::Turns)
    }

    fn as_str(self) -> &'static str {
        match self {
            IceServerScheme::Stun => "stun",
            IceServerScheme::Stuns => "stuns",
            IceServerScheme::Turn => "turn",
            IceServerScheme::Turns => "turns",
        }
    }
}

/// Transport named by `?transport=` (RFC 7065 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IceServerTransport {
    /// `udp`
    Udp,
    /// `tcp`
    Tcp,
}

/// A parsed `stun:` / `turn:` URL: `scheme:host[:port][?transport=udp|tcp]`
/// (RFC 7064, RFC 7065). IPv6 hosts are written in brackets.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IceServerUrl {
    /// The scheme.
    pub scheme: IceServerScheme,
    /// Host name or IP address (without brackets).
    pub host: String,
    /// Port: as written, else 3478 (5349 for the TLS schemes).
    pub port: u16,
    /// Transport: as written, else UDP (TCP for the TLS schemes).
    pub transport: IceServerTransport,
}

impl FromStr for IceServerUrl {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = |why: &str| Error::InvalidConfig(format!("ice server url {s:?}: {why}"));
        let (scheme, rest) = s.split_once(':').ok_or_else(|| bad("no scheme"))?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "stun" => IceServerScheme::Stun,
            "stuns" => IceServerScheme::Stuns,
            "turn" => IceServerScheme::Turn,
            "turns" => IceServerScheme::Turns,
            _ => return Err(bad("scheme is not stun, stuns, turn or turns")),
        };
        let (hostport, query) = match rest.split_once('?') {
            Some((h, q)) => (h, Some(q)),
            None => (rest, None),
        };
        let transport = match query {
            None => {
                if scheme.is_secure() {
                    IceServerTransport::Tcp
                } else {
                    IceServerTransport::Udp
                }
            }
            Some(q) => {
                if !scheme.is_turn() {
                    return Err(bad("stun urls take no query"));
                }
                match q.strip_prefix("transport=") {
                    Some(t) if t.eq_ignore_ascii_case("udp") => IceServerTransport::Udp,
                    Some(t) if t.eq_ignore_ascii_case("tcp") => IceServerTransport::Tcp,
                    _ => return Err(bad("query must be transport=udp or transport=tcp")),
                }
            }
        };
        let default_port = if scheme.is_secure() { 5349 } else { 3478 };
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or_else(|| bad("unclosed ["))?;
            let port = match after {
                "" => default_port,
                p => p
                    .strip_prefix(':')
                    .and_then(|p| p.parse().ok())
                    .ok_or_else(|| bad("bad port"))?,
            };
            (h.to_owned(), port)
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h.to_owned(), p.parse().map_err(|_| bad("bad port"))?),
                None => (hostport.to_owned(), default_port),
            }
        };
        if host.is_empty() || host.contains(['/', '@', ' ']) {
            return Err(bad("bad host"));
        }
        if port == 0 {
            return Err(bad("port 0"));
        }
        Ok(IceServerUrl {
            scheme,
            host,
            port,
            transport,
        })
    }
}

impl fmt::Display for IceServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        write!(f, "{}:{}:{}", self.scheme.as_str(), host, self.port)?;
        if self.scheme.is_turn() {
            let t = match self.transport {
                IceServerTransport::Udp => "udp",
                IceServerTransport::Tcp => "tcp",
            };
            write!(f, "?transport={t}")?;
        }
        Ok(())
    }
}

/// Which candidates ICE may use (W3C `RTCIceTransportPolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IceTransportPolicy {
    /// Any candidate (`"all"`).
    #[default]
    All,
    /// Relayed candidates only (`"relay"`): host and server-reflexive candidates are
    /// neither gathered nor signaled.
    Relay,
}

/// Which local addresses host candidates are gathered on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceFilter {
    /// Gather on loopback addresses (127.0.0.1, ::1). Default true, so two peers on one
    /// machine connect without a network.
    pub loopback: bool,
    /// Gather on the address of the default route (found without sending a packet).
    /// Default true.
    pub default_route: bool,
    /// Gather on IPv6 too. Default false.
    pub ipv6: bool,
    /// Extra local addresses to gather on (e.g. a LAN address of another interface).
    pub addresses: Vec<IpAddr>,
}

impl Default for InterfaceFilter {
    fn default() -> Self {
        InterfaceFilter {
            loopback: true,
            default_route: true,
            ipv6: false,
            addresses: Vec::new(),
        }
    }
}

impl InterfaceFilter {
    /// Loopback only (127.0.0.1): for tests and local demos.
    pub fn loopback_only() -> Self {
        InterfaceFilter {
            loopback: true,
            default_route: false,
            ipv6: false,
            addresses: Vec::new(),
        }
    }

    /// Whether `ip` may carry host candidates.
    pub fn allows(&self, ip: IpAddr) -> bool {
        if ip.is_unspecified() || ip.is_multicast() {
            return false;
        }
        if ip.is_ipv6() && !self.ipv6 && !self.addresses.contains(&ip) {
            return false;
        }
        if ip.is_loopback() {
            return self.loopback;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ice_server_urls() {
        let u: IceServerUrl = "stun:stun.l.google.com:19302".parse().unwrap();
        assert_eq!(
            (u.scheme, u.host.as_str(), u.port, u.transport),
            (
                IceServerScheme::Stun,
                "stun.l.google.com",
                19302,
                IceServerTransport::Udp
            )
        );
        let u: IceServerUrl = "turn:10.0.0.1?transport=tcp".parse().unwrap();
        assert_eq!((u.port, u.transport), (3478, IceServerTransport::Tcp));
        let u: IceServerUrl = "turns:[::1]:443".parse().unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.transport),
            ("::1", 443, IceServerTransport::Tcp)
        );
        assert_eq!(u.to_string(), "turns:[::1]:443?transport=tcp");
        for bad in [
            "http://x",
            "stun:",
            "stun:host:99999",
            "stun:host?transport=udp",
            "turn:host?transport=sctp",
            "turn:[::1",
            "stun:host:0",
        ] {
            assert!(bad.parse::<IceServerUrl>().is_err(), "{bad}");
        }
    }

    #[test]
    fn turn_needs_credentials() {
        let mut c = Config {
            ice_servers: vec![IceServer::new("turn:127.0.0.1:3478")],
            ..Config::default()
        };
        assert!(c.validate().is_err());
        c.ice_servers = vec![IceServer::with_credentials("turn:127.0.0.1:3478", "u", "p")];
        c.validate().unwrap();
        c.udp_port_range = Some((5000, 4000));
        assert!(c.validate().is_err());
    }

    #[test]
    fn ice_server_json() {
        let s: IceServer = serde_json::from_str(r#"{"urls":"stun:127.0.0.1:3478"}"#).unwrap();
        assert_eq!(s.urls, ["stun:127.0.0.1:3478"]);
        let s: IceServer = serde_json::from_str(
            r#"{"urls":["turn:a:1","turns:b"],"username":"u","credential":"c"}"#,
        )
        .unwrap();
        assert_eq!(s.urls.len(), 2);
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            r#"{"urls":["turn:a:1","turns:b"],"username":"u","credential":"c"}"#
        );
        let p: IceTransportPolicy = serde_json::from_str(r#""relay""#).unwrap();
        assert_eq!(p, IceTransportPolicy::Relay);
    }

    proptest::proptest! {
        #[test]
        fn ice_server_url_round_trip(
            scheme in 0usize..4,
            host in "[a-z][a-z0-9.-]{0,20}|[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}|::1|fe80::[0-9a-f]{1,4}",
            port in 1u16..,
            tcp in proptest::bool::ANY,
        ) {
            let scheme = [IceServerScheme::Stun, IceServerScheme::Stuns, IceServerScheme::Turn, IceServerScheme::Turns][scheme];
            let transport = if tcp || (scheme.is_secure() && !scheme.is_turn()) { IceServerTransport::Tcp } else { IceServerTransport::Udp };
            let transport = if scheme == IceServerScheme::Stun { IceServerTransport::Udp } else { transport };
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
    fn interface_filter() {
        let f = InterfaceFilter::default();
        assert!(f.allows("127.0.0.1".parse().unwrap()));
        assert!(f.allows("192.168.1.2".parse().unwrap()));
        assert!(!f.allows("::1".parse().unwrap()));
        assert!(!f.allows("0.0.0.0".parse().unwrap()));
        let f = InterfaceFilter {
            loopback: false,
            ..InterfaceFilter::default()
        };
        assert!(!f.allows("127.0.0.1".parse().unwrap()));
    }
}
