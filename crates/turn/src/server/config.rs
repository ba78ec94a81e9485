//! Settings of the server core.

use std::time::Duration;

use super::filter::PeerFilter;

/// Settings of a [`Server`](crate::Server). Durations are wall time; counts are hard caps
/// that bound the server's memory whatever clients do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// REALM of the long-term credentials (RFC 8489 §9.2). Default `"oxrtc"`.
    pub realm: String,
    /// Static users: `(username, password)`.
    pub users: Vec<(String, String)>,
    /// The TURN REST shared secret (coturn's `static-auth-secret`): usernames `expiry:user`
    /// with password base64(HMAC-SHA1(secret, username)) are accepted until `expiry`
    /// (Unix seconds, against [`Server::set_unix_time`](crate::Server::set_unix_time)).
    /// Default none.
    pub auth_secret: Option<String>,
    /// SOFTWARE in Allocate responses and challenges. Default `None`.
    pub software: Option<String>,
    /// How long a nonce stays valid before 438 (Stale Nonce). Default 600 s.
    pub nonce_lifetime: Duration,
    /// Lifetime of an allocation when the client asks for less (RFC 8656 §7.2). Default
    /// 600 s.
    pub default_lifetime: Duration,
    /// Longest allocation lifetime granted. Default 3600 s.
    pub max_lifetime: Duration,
    /// Most allocations at once, for all users (486 beyond). Default 10 000.
    pub max_allocations: usize,
    /// Most allocations at once per username (486 beyond). Default 100.
    pub max_allocations_per_user: usize,
    /// Relayed bytes per second per allocation, each direction counted, with a one-second
    /// burst (at least 64 KiB); `None` (the default) is unlimited. Excess is dropped and
    /// counted.
    pub max_bandwidth: Option<u64>,
    /// Most permissions per allocation (508 beyond). Default 256.
    pub max_permissions: usize,
    /// Most channels per allocation (508 beyond). Default 512.
    pub max_channels: usize,
    /// Most RFC 6062 peer connections per TCP allocation (508 beyond, incoming ones
    /// refused). Default 64.
    pub max_tcp_connections: usize,
    /// Which peers the server relays to (403 for the others). Default: public unicast only.
    pub peer_filter: PeerFilter,
    /// Whether IPv4 relayed addresses can be allocated. Default true.
    pub ipv4_relay: bool,
    /// Whether IPv6 relayed addresses can be allocated (REQUESTED-ADDRESS-FAMILY IPv6).
    /// Default false: the runtime enables it when it has an IPv6 relay address.
    pub ipv6_relay: bool,
    /// Whether RFC 6062 TCP allocations are offered. Default true.
    pub tcp_allocations: bool,
    /// Announce SHA-256 password algorithms with the RFC 8489 nonce cookie. Default true;
    /// clients that do not know it use MD5 as before.
    pub password_algorithms: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            realm: "oxrtc".into(),
            users: Vec::new(),
            auth_secret: None,
            software: None,
            nonce_lifetime: Duration::from_secs(600),
            default_lifetime: Duration::from_secs(600),
            max_lifetime: Duration::from_secs(3600),
            max_allocations: 10_000,
            max_allocations_per_user: 100,
            max_bandwidth: None,
            max_permissions: 256,
            max_channels: 512,
            max_tcp_connections: 64,
            peer_filter: PeerFilter::default(),
            ipv4_relay: true,
            ipv6_relay: false,
            tcp_allocations: true,
            password_algorithms: true,
        }
    }
}
