//! The State Cookie (RFC 9260 §5.1.3): everything needed to build the association from a
//! COOKIE ECHO, protected by HMAC-SHA-256 under a secret key that never leaves this endpoint,
//! with its creation time and lifetime.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

const VERSION: u8 = 1;
const BODY_LEN: usize = 1 + 8 + 4 + 4 + 4 + 4 + 4 + 4 + 2 + 2 + 1;
const MAC_LEN: usize = 32;
/// Length of a cookie on the wire.
pub(crate) const COOKIE_LEN: usize = BODY_LEN + MAC_LEN;

/// What the cookie carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CookieData {
    /// Creation time, milliseconds since the association was created.
    pub created_ms: u64,
    /// Valid.Cookie.Life in milliseconds.
    pub lifetime_ms: u32,
    pub local_tag: u32,
    pub peer_tag: u32,
    pub local_initial_tsn: u32,
    pub peer_initial_tsn: u32,
    pub peer_a_rwnd: u32,
    pub peer_os: u16,
    pub peer_mis: u16,
    /// Peer capabilities, see [`crate::association`] `Caps::bits`.
    pub caps: u8,
}

fn mac(key: &[u8; 32], body: &[u8]) -> Option<Hmac<Sha256>> {
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(key).ok()?;
    m.update(body);
    Some(m)
}

impl CookieData {
    /// Serialises and signs.
    pub fn seal(&self, key: &[u8; 32]) -> Vec<u8> {
        let mut b = Vec::with_capacity(COOKIE_LEN);
        b.push(VERSION);
        b.extend_from_slice(&self.created_ms.to_be_bytes());
        b.extend_from_slice(&self.lifetime_ms.to_be_bytes());
        b.extend_from_slice(&self.local_tag.to_be_bytes());
        b.extend_from_slice(&self.peer_tag.to_be_bytes());
        b.extend_from_slice(&self.local_initial_tsn.to_be_bytes());
        b.extend_from_slice(&self.peer_initial_tsn.to_be_bytes());
        b.extend_from_slice(&self.peer_a_rwnd.to_be_bytes());
        b.extend_from_slice(&self.peer_os.to_be_bytes());
        b.extend_from_slice(&self.peer_mis.to_be_bytes());
        b.push(self.caps);
        if let Some(m) = mac(key, &b) {
            b.extend_from_slice(&m.finalize().into_bytes());
        }
        b
    }

    /// Verifies the MAC (constant time) and parses; `None` for anything forged or malformed.
    pub fn open(key: &[u8; 32], cookie: &[u8]) -> Option<CookieData> {
        if cookie.len() != COOKIE_LEN {
            return None;
        }
        let (body, tag) = cookie.split_at(BODY_LEN);
        mac(key, body)?.verify_slice(tag).ok()?;
        if body.first() != Some(&VERSION) {
            return None;
        }
        let u32_at = |i: usize| -> Option<u32> {
            Some(u32::from_be_bytes(body.get(i..i + 4)?.try_into().ok()?))
        };
        let u16_at = |i: usize| -> Option<u16> {
            Some(u16::from_be_bytes(body.get(i..i + 2)?.try_into().ok()?))
        };
        Some(CookieData {
            created_ms: u64::from_be_bytes(body.get(1..9)?.try_into().ok()?),
            lifetime_ms: u32_at(9)?,
            local_tag: u32_at(13)?,
            peer_tag: u32_at(17)?,
            local_initial_tsn: u32_at(21)?,
            peer_initial_tsn: u32_at(25)?,
            peer_a_rwnd: u32_at(29)?,
            peer_os: u16_at(33)?,
            peer_mis: u16_at(35)?,
            caps: *body.get(37)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_and_tamper() {
        let key = [7u8; 32];
        let c = CookieData {
            created_ms: 1234,
            lifetime_ms: 60_000,
            local_tag: 1,
            peer_tag: 2,
            local_initial_tsn: 3,
            peer_initial_tsn: 4,
            peer_a_rwnd: 5,
            peer_os: 6,
            peer_mis: 7,
            caps: 0b1011,
        };
        let sealed = c.seal(&key);
        assert_eq!(sealed.len(), COOKIE_LEN);
        assert_eq!(CookieData::open(&key, &sealed), Some(c));
        for i in 0..sealed.len() {
            let mut t = sealed.clone();
            t[i] ^= 0x40;
            assert_eq!(CookieData::open(&key, &t), None, "byte {i}");
        }
        assert_eq!(CookieData::open(&[8u8; 32], &sealed), None);
        assert_eq!(CookieData::open(&key, &sealed[..10]), None);
    }
}
