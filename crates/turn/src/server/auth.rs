//! Server-side long-term credentials (RFC 8489 §9.2): stateless nonces with expiry, the user
//! list, and TURN REST shared-secret credentials.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use oxrtc_stun::{AlgorithmId, IntegrityKey, Nonce, SecurityFeatures};
use sha1::Sha1;
use subtle::ConstantTimeEq;

/// The password of a TURN REST username (the scheme coturn calls `use-auth-secret`, from
/// draft-uberti-behave-turn-rest): base64(HMAC-SHA1(secret, username)).
///
/// The username is `expiry:user`, `expiry` a Unix time in seconds after which the
/// credential is refused. A web service that knows the secret hands out such pairs:
///
/// ```
/// let username = "1700000000:alice";
/// let password = oxrtc_turn::rest_password("north", username);
/// assert_eq!(password.len(), 28); // base64 of 20 bytes
/// ```
pub fn rest_password(secret: &str, username: &str) -> String {
    let mac = hmac_sha1(secret.as_bytes(), &[username.as_bytes()]);
    base64::engine::general_purpose::STANDARD.encode(mac)
}

fn hmac_sha1(key: &[u8], parts: &[&[u8]]) -> [u8; 20] {
    // HMAC accepts keys of any length; the error branch cannot happen.
    let Ok(mut mac) = <Hmac<Sha1> as KeyInit>::new_from_slice(key) else {
        return [0; 20];
    };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// Keys for one user, for both password algorithms.
#[derive(Debug, Clone)]
pub(crate) struct UserKeys {
    pub(crate) md5: IntegrityKey,
    pub(crate) sha256: IntegrityKey,
}

impl UserKeys {
    pub(crate) fn new(username: &str, realm: &str, password: &str) -> Self {
        let md5 = IntegrityKey::long_term(username, realm, password);
        let sha256 =
            IntegrityKey::long_term_with_algorithm(AlgorithmId::SHA256, username, realm, password)
                .unwrap_or_else(|_| md5.clone());
        UserKeys { md5, sha256 }
    }

    pub(crate) fn for_algorithm(&self, algorithm: AlgorithmId) -> &IntegrityKey {
        if algorithm == AlgorithmId::SHA256 {
            &self.sha256
        } else {
            &self.md5
        }
    }
}

/// Why a username has no key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lookup {
    Unknown,
    Expired,
}

/// The credential store: static users and the optional TURN REST secret.
#[derive(Debug)]
pub(crate) struct Credentials {
    realm: String,
    users: HashMap<String, UserKeys>,
    secret: Option<String>,
    /// Unix time (seconds) at an instant, for REST expiry.
    unix: Option<(Instant, u64)>,
}

impl Credentials {
    pub(crate) fn new(realm: &str, users: &[(String, String)], secret: Option<String>) -> Self {
        let users = users
            .iter()
            .map(|(u, p)| (u.clone(), UserKeys::new(u, realm, p)))
            .collect();
        Credentials {
            realm: realm.to_owned(),
            users,
            secret,
            unix: None,
        }
    }

    pub(crate) fn add_user(&mut self, username: &str, password: &str) {
        self.users.insert(
            username.to_owned(),
            UserKeys::new(username, &self.realm, password),
        );
    }

    pub(crate) fn set_unix_time(&mut self, now: Instant, unix_secs: u64) {
        self.unix = Some((now, unix_secs));
    }

    fn unix_time(&self, now: Instant) -> Option<u64> {
        let (at, secs) = self.unix?;
        Some(secs.saturating_add(now.saturating_duration_since(at).as_secs()))
    }

    /// The keys for `username`: a static user, else a TURN REST username checked against
    /// the secret's expiry.
    pub(crate) fn lookup(&self, now: Instant, username: &str) -> Result<UserKeys, Lookup> {
        if let Some(k) = self.users.get(username) {
            return Ok(k.clone());
        }
        let Some(secret) = &self.secret else {
            return Err(Lookup::Unknown);
        };
        let expiry = username.split(':').next().unwrap_or("");
        let Ok(expiry) = expiry.parse::<u64>() else {
            return Err(Lookup::Unknown);
        };
        // Without a wall clock the expiry cannot be checked: refuse.
        let Some(unix) = self.unix_time(now) else {
            return Err(Lookup::Expired);
        };
        if expiry < unix {
            return Err(Lookup::Expired);
        }
        let password = rest_password(secret, username);
        Ok(UserKeys::new(username, &self.realm, &password))
    }
}

/// Stateless nonces: `[cookie + features] + hex(issued) + hex(HMAC(secret, issued, ip))`,
/// valid for a lifetime, bound to the client's IP, nothing stored per client.
#[derive(Debug)]
pub(crate) struct Nonces {
    secret: [u8; 32],
    epoch: Instant,
    lifetime: Duration,
    cookie: bool,
}

/// Bytes of HMAC kept in a nonce.
const NONCE_MAC_LEN: usize = 12;

impl Nonces {
    pub(crate) fn new(secret: [u8; 32], epoch: Instant, lifetime: Duration, cookie: bool) -> Self {
        Nonces {
            secret,
            epoch,
            lifetime,
            cookie,
        }
    }

    /// Whether nonces carry the RFC 8489 cookie announcing password algorithms.
    pub(crate) fn announces_algorithms(&self) -> bool {
        self.cookie
    }

    fn mac(&self, issued: u32, ip: IpAddr) -> [u8; NONCE_MAC_LEN] {
        let ip_bytes = match ip {
            IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
            IpAddr::V6(v6) => v6.octets(),
        };
        let full = hmac_sha1(&self.secret, &[&issued.to_be_bytes(), &ip_bytes]);
        let mut out = [0u8; NONCE_MAC_LEN];
        out.copy_from_slice(&full[..NONCE_MAC_LEN]);
        out
    }

    /// A fresh nonce for a client at `ip`.
    pub(crate) fn issue(&self, now: Instant, ip: IpAddr) -> String {
        let issued = now.saturating_duration_since(self.epoch).as_secs() as u32;
        let mut opaque = format!("{issued:08x}");
        for b in self.mac(issued, ip) {
            opaque.push_str(&format!("{b:02x}"));
        }
        if self.cookie {
            Nonce::with_security_features(SecurityFeatures::PASSWORD_ALGORITHMS, &opaque)
        } else {
            opaque
        }
    }

    /// Whether `nonce` was issued by this server to `ip` and has not expired.
    pub(crate) fn check(&self, now: Instant, ip: IpAddr, nonce: &str) -> bool {
        let opaque = if self.cookie {
            match nonce.strip_prefix(Nonce::COOKIE).and_then(|r| r.get(4..)) {
                Some(o) => o,
                None => return false,
            }
        } else {
            nonce
        };
        if opaque.len() != 8 + 2 * NONCE_MAC_LEN || !opaque.is_ascii() {
            return false;
        }
        let Ok(issued) = u32::from_str_radix(&opaque[..8], 16) else {
            return false;
        };
        let mut mac = [0u8; NONCE_MAC_LEN];
        for (i, m) in mac.iter_mut().enumerate() {
            let Some(Ok(b)) = opaque
                .get(8 + 2 * i..10 + 2 * i)
                .map(|h| u8::from_str_radix(h, 16))
            else {
                return false;
            };
            *m = b;
        }
        if !bool::from(mac.ct_eq(&self.mac(issued, ip))) {
            return false;
        }
        let age = now
            .saturating_duration_since(self.epoch)
            .as_secs()
            .saturating_sub(u64::from(issued));
        Duration::from_secs(age) < self.lifetime
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rest_password_matches_coturn() {
        // echo -n "1700000000:alice" | openssl dgst -sha1 -hmac north -binary | base64
        assert_eq!(
            rest_password("north", "1700000000:alice"),
            "Cd/49soE35ICqcJF/bCTn8Z4OyE="
        );
    }

    #[test]
    fn rest_usernames_expire() {
        let now = Instant::now();
        let mut c = Credentials::new("r", &[], Some("s".into()));
        assert_eq!(c.lookup(now, "2000:bob").unwrap_err(), Lookup::Expired);
        c.set_unix_time(now, 1000);
        assert!(c.lookup(now, "2000:bob").is_ok());
        assert!(c.lookup(now, "2000").is_ok());
        assert_eq!(c.lookup(now, "bob").unwrap_err(), Lookup::Unknown);
        assert_eq!(
            c.lookup(now + Duration::from_secs(1001), "2000:bob")
                .unwrap_err(),
            Lookup::Expired
        );
        // The key is the long-term key of the derived password.
        let keys = c.lookup(now, "2000:bob").unwrap();
        let expected = IntegrityKey::long_term("2000:bob", "r", &rest_password("s", "2000:bob"));
        let mut m = Vec::new();
        let mut b = oxrtc_stun::MessageBuilder::new(
            &mut m,
            oxrtc_stun::Class::Request,
            oxrtc_stun::Method::Allocate,
            oxrtc_stun::TransactionId([0; 12]),
        );
        b.add_message_integrity(&expected).unwrap();
        oxrtc_stun::Message::new_checked(&m[..])
            .unwrap()
            .verify_integrity(&keys.md5)
            .unwrap();
    }

    #[test]
    fn nonces_expire_and_are_bound_to_the_ip() {
        let epoch = Instant::now();
        for cookie in [false, true] {
            let n = Nonces::new([7; 32], epoch, Duration::from_secs(600), cookie);
            let ip: IpAddr = "192.0.2.1".parse().unwrap();
            let t = epoch + Duration::from_secs(100);
            let nonce = n.issue(t, ip);
            assert_eq!(nonce.starts_with(Nonce::COOKIE), cookie);
            assert!(n.check(t, ip, &nonce));
            assert!(n.check(t + Duration::from_secs(599), ip, &nonce));
            assert!(!n.check(t + Duration::from_secs(600), ip, &nonce));
            assert!(!n.check(t, "192.0.2.2".parse().unwrap(), &nonce));
            let other = Nonces::new([8; 32], epoch, Duration::from_secs(600), cookie);
            assert!(!other.check(t, ip, &nonce));
            let mut tampered = nonce.clone().into_bytes();
            let last = tampered.len() - 1;
            tampered[last] = if tampered[last] == b'0' { b'1' } else { b'0' };
            assert!(!n.check(t, ip, std::str::from_utf8(&tampered).unwrap()));
            assert!(!n.check(t, ip, ""));
            assert!(!n.check(t, ip, "obMatJos2"));
            assert!(!n.check(t, ip, "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"));
            assert!(!n.check(t, ip, "ééééééééééééééé"));
        }
    }
}
