//! Which peer addresses the server relays to (RFC 8656 §21.3 "Relaying to internal
//! addresses"): public unicast by default; loopback, private, link-local, unspecified,
//! multicast and reserved ranges only when allowed.

use core::fmt;
use core::str::FromStr;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An IP prefix, `addr/len` (a CIDR range).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpNet {
    addr: IpAddr,
    prefix_len: u8,
}

impl IpNet {
    /// A prefix; `None` when `prefix_len` exceeds the address's bits.
    pub fn new(addr: IpAddr, prefix_len: u8) -> Option<Self> {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (prefix_len <= max).then_some(IpNet { addr, prefix_len })
    }

    /// The network address as given.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length in bits.
    pub fn prefix_len(&self) -> u8 {
        self.prefix_len
    }

    /// Whether `ip` is inside the prefix (IPv4 and IPv6 never mix).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix_len))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix_len))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix_len)
    }
}

/// Error parsing an [`IpNet`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid ip prefix {0:?}")]
pub struct IpNetParseError(pub String);

impl FromStr for IpNet {
    type Err = IpNetParseError;

    /// `192.0.2.0/24`, `2001:db8::/32`, or a bare address (a host prefix).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || IpNetParseError(s.to_owned());
        let (addr, len) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| err())?;
        let len = match len {
            Some(l) => l.parse().map_err(|_| err())?,
            None if addr.is_ipv4() => 32,
            None => 128,
        };
        IpNet::new(addr, len).ok_or_else(err)
    }
}

/// The server's peer address policy.
///
/// A peer is checked in order: in `denied` → refused; in `allowed` → relayed; then by
/// category: loopback only with `allow_loopback`, private and link-local (RFC 1918, RFC 6598
/// shared, RFC 3927, RFC 4193, RFC 4291 link-local) only with `allow_private`; unspecified,
/// multicast, broadcast and reserved addresses never (except through `allowed`). IPv4-mapped
/// IPv6 addresses are judged as the IPv4 address they carry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PeerFilter {
    /// Relay to loopback peers (127.0.0.0/8, ::1). Off by default; for tests.
    pub allow_loopback: bool,
    /// Relay to private and link-local peers. Off by default.
    pub allow_private: bool,
    /// Always relayed, whatever their category.
    pub allowed: Vec<IpNet>,
    /// Never relayed.
    pub denied: Vec<IpNet>,
}

impl PeerFilter {
    /// Whether the server may relay to `ip`.
    pub fn permits(&self, ip: IpAddr) -> bool {
        if self.denied.iter().any(|n| n.contains(ip)) {
            return false;
        }
        if self.allowed.iter().any(|n| n.contains(ip)) {
            return true;
        }
        match category(ip) {
            Category::Public => true,
            Category::Loopback => self.allow_loopback,
            Category::Private => self.allow_private,
            Category::Never => false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Category {
    Public,
    Loopback,
    Private,
    Never,
}

fn category(ip: IpAddr) -> Category {
    match ip {
        IpAddr::V4(v4) => category_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => category_v4(v4),
            None => category_v6(v6),
        },
    }
}

fn category_v4(ip: Ipv4Addr) -> Category {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Category::Loopback
    } else if ip.is_private() || ip.is_link_local() || (a == 100 && (64..128).contains(&b))
    // 100.64.0.0/10, RFC 6598 shared
    {
        Category::Private
    } else if a == 0 // 0.0.0.0/8 "this network"
        || ip.is_multicast()
        || ip.is_broadcast()
        || a >= 240
    {
        Category::Never
    } else {
        Category::Public
    }
}

fn category_v6(ip: Ipv6Addr) -> Category {
    let first = ip.segments()[0];
    if ip.is_loopback() {
        Category::Loopback
    } else if ip.is_unspecified() || ip.is_multicast() {
        Category::Never
    } else if (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80 {
        // fc00::/7 unique local, fe80::/10 link-local
        Category::Private
    } else {
        Category::Public
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn default_denies_internal_ranges() {
        let f = PeerFilter::default();
        for denied in [
            "127.0.0.1",
            "127.9.9.9",
            "::1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "169.254.1.1",
            "0.0.0.0",
            "0.1.2.3",
            "::",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!f.permits(ip(denied)), "{denied}");
        }
        for allowed in [
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "192.0.2.1",
            "2001:db8::1",
            "::ffff:8.8.8.8",
        ] {
            assert!(f.permits(ip(allowed)), "{allowed}");
        }
    }

    #[test]
    fn explicit_allow_and_deny() {
        let f = PeerFilter {
            allow_loopback: true,
            allowed: vec!["10.0.0.0/8".parse().unwrap()],
            denied: vec!["8.8.0.0/16".parse().unwrap(), "127.0.0.2".parse().unwrap()],
            ..Default::default()
        };
        assert!(f.permits(ip("127.0.0.1")));
        assert!(!f.permits(ip("127.0.0.2")));
        assert!(f.permits(ip("10.9.9.9")));
        assert!(!f.permits(ip("192.168.0.1")));
        assert!(!f.permits(ip("8.8.8.8")));
        assert!(f.permits(ip("8.9.8.8")));
    }

    #[test]
    fn prefixes_parse_and_match() {
        let n: IpNet = "2001:db8::/32".parse().unwrap();
        assert!(n.contains(ip("2001:db8:1::1")));
        assert!(!n.contains(ip("2001:db9::1")));
        assert!(!n.contains(ip("192.0.2.1")));
        assert_eq!(n.to_string(), "2001:db8::/32");
        let all: IpNet = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("1.2.3.4")));
        assert!("1.2.3.4/33".parse::<IpNet>().is_err());
        assert!("x/3".parse::<IpNet>().is_err());
        assert_eq!("1.2.3.4".parse::<IpNet>().unwrap().prefix_len(), 32);
    }
}
