//! The W3C `RTCConfiguration`: ICE servers, transport policy, certificates, and the local
//! choices a browser does not expose (UDP port range, interface filter).

use crate::error::Error;
use oxrtc_dtls::Certificate;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;

// The W3C `RTCIceServer` and the RFC 7064 / RFC 7065 URL grammar live in oxrtc-ice; these
// are its types under the names oxrtc gives them.
pub use oxrtc_ice::{
    Host as IceServerHost, IceServer, IceServerUrl, Protocol as IceServerTransport,
    Scheme as IceServerScheme, UrlError as IceServerUrlError,
};

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
            if server.urls.is_empty() {
                return Err(Error::InvalidConfig("ice server without urls".into()));
            }
            for text in &server.urls {
                let url: IceServerUrl = text
                    .parse()
                    .map_err(|e| Error::InvalidConfig(format!("ice server url {text:?}: {e}")))?;
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
    fn turn_needs_credentials() {
        let mut c = Config {
            ice_servers: vec![IceServer::new("turn:127.0.0.1:3478")],
            ..Config::default()
        };
        assert!(c.validate().is_err());
        c.ice_servers = vec![IceServer::with_credentials("turn:127.0.0.1:3478", "u", "p")];
        c.validate().unwrap();
        c.ice_servers.push(IceServer::new("stun:host:0"));
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("\"stun:host:0\"") && e.contains("port"), "{e}");
        c.ice_servers[1].urls.clear();
        assert!(c.validate().is_err());
        c.ice_servers.pop();
        c.udp_port_range = Some((5000, 4000));
        assert!(c.validate().is_err());
    }

    #[test]
    fn transport_policy_json() {
        let p: IceTransportPolicy = serde_json::from_str(r#""relay""#).unwrap();
        assert_eq!(p, IceTransportPolicy::Relay);
        assert_eq!(
            serde_json::to_string(&IceTransportPolicy::All).unwrap(),
            r#""all""#
        );
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
