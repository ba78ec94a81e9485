//! Credentials and keys for MESSAGE-INTEGRITY and MESSAGE-INTEGRITY-SHA256
//! (RFC 8489 §9, §14.5, §14.6), and FINGERPRINT (§14.7).

use core::fmt;

use hmac::digest::{Digest, Key, KeyInit, Mac};
use hmac::Hmac;
use md5::Md5;
use sha1::Sha1;
use sha2::Sha256;

use crate::wire::AlgorithmId;
use crate::Error;

/// The constant XOR-ed into the FINGERPRINT CRC (RFC 8489 §14.7): ASCII "STUN".
pub const FINGERPRINT_XOR: u32 = 0x5354_554e;

/// A message-integrity key with its HMAC state precomputed, for both HMAC-SHA1
/// (MESSAGE-INTEGRITY) and HMAC-SHA256 (MESSAGE-INTEGRITY-SHA256).
///
/// Build it once per credential and reuse it: signing and verifying then only clone the
/// precomputed inner/outer hash states, never rehash the key.
///
/// - short-term credentials (ICE, RFC 8489 §9.1.2): [`IntegrityKey::short_term`], the key is
///   the password;
/// - long-term credentials (TURN, RFC 8489 §9.2.2): [`IntegrityKey::long_term`], the key is
///   MD5(username ":" realm ":" password), or SHA-256 of the same with
///   [`IntegrityKey::long_term_with_algorithm`] and [`AlgorithmId::SHA256`].
///
/// Strings are used as given: the OpaqueString (RFC 8265) preparation the RFC asks for is the
/// caller's (for ASCII credentials it changes nothing).
#[derive(Clone)]
pub struct IntegrityKey {
    sha1: Hmac<Sha1>,
    sha256: Hmac<Sha256>,
}

impl IntegrityKey {
    /// A key from raw key bytes.
    pub fn new(key: &[u8]) -> Self {
        IntegrityKey {
            sha1: hmac_with_key::<Sha1>(key),
            sha256: hmac_with_key::<Sha256>(key),
        }
    }

    /// The short-term credential key: the password itself (RFC 8489 §9.1.2).
    pub fn short_term(password: &str) -> Self {
        Self::new(password.as_bytes())
    }

    /// The long-term credential key with the MD5 password algorithm:
    /// MD5(username ":" realm ":" password) (RFC 8489 §9.2.2).
    pub fn long_term(username: &str, realm: &str, password: &str) -> Self {
        Self::new(&long_term_key_md5(username, realm, password))
    }

    /// The long-term credential key for a PASSWORD-ALGORITHM: MD5 (16-byte key) or SHA-256
    /// (32-byte key) of username ":" realm ":" password (RFC 8489 §9.2.2, §18.5).
    ///
    /// # Errors
    /// [`Error::UnsupportedPasswordAlgorithm`] for other algorithms.
    pub fn long_term_with_algorithm(
        algorithm: AlgorithmId,
        username: &str,
        realm: &str,
        password: &str,
    ) -> Result<Self, Error> {
        match algorithm {
            AlgorithmId::MD5 => Ok(Self::long_term(username, realm, password)),
            AlgorithmId::SHA256 => {
                let mut h = Sha256::new();
                for part in [username, ":", realm, ":", password] {
                    h.update(part.as_bytes());
                }
                Ok(Self::new(&h.finalize()))
            }
            AlgorithmId(other) => Err(Error::UnsupportedPasswordAlgorithm(other)),
        }
    }

    /// HMAC-SHA1 over the concatenation of `parts`.
    pub(crate) fn hmac_sha1(&self, parts: &[&[u8]]) -> [u8; 20] {
        let mut mac = self.sha1.clone();
        for p in parts {
            mac.update(p);
        }
        mac.finalize().into_bytes().into()
    }

    /// HMAC-SHA256 over the concatenation of `parts`.
    pub(crate) fn hmac_sha256(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = self.sha256.clone();
        for p in parts {
            mac.update(p);
        }
        mac.finalize().into_bytes().into()
    }
}

impl fmt::Debug for IntegrityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IntegrityKey(..)")
    }
}

/// MD5(username ":" realm ":" password), the RFC 5389 long-term key (RFC 8489 §9.2.2).
pub fn long_term_key_md5(username: &str, realm: &str, password: &str) -> [u8; 16] {
    let mut h = Md5::new();
    for part in [username, ":", realm, ":", password] {
        h.update(part.as_bytes());
    }
    h.finalize().into()
}

/// The USERHASH value: SHA-256(username ":" realm) (RFC 8489 §14.4).
pub fn userhash(username: &str, realm: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    for part in [username, ":", realm] {
        h.update(part.as_bytes());
    }
    h.finalize().into()
}

/// An HMAC instance keyed with `key`. HMAC zero-pads keys up to the block size and hashes
/// longer ones first (RFC 2104 §2); doing that here keeps construction infallible.
fn hmac_with_key<D>(key: &[u8]) -> Hmac<D>
where
    D: hmac::EagerHash + Digest,
    Hmac<D>: KeyInit,
{
    let mut block = Key::<Hmac<D>>::default();
    if key.len() <= block.len() {
        block[..key.len()].copy_from_slice(key);
    } else {
        let digest = D::digest(key);
        let n = digest.len().min(block.len());
        block[..n].copy_from_slice(&digest[..n]);
    }
    <Hmac<D> as KeyInit>::new(&block)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn hmac_matches_rfc2202_and_rfc4231() {
        // RFC 2202 test case 2 (HMAC-SHA1) and RFC 4231 test case 2 (HMAC-SHA256).
        let k = IntegrityKey::new(b"Jefe");
        assert_eq!(
            hex(&k.hmac_sha1(&[b"what do ya want ", b"for nothing?"])),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
        assert_eq!(
            hex(&k.hmac_sha256(&[b"what do ya want for nothing?"])),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // RFC 2202 test case 6: an 80-byte key, longer than the block, is hashed first.
        let k = IntegrityKey::new(&[0xaa; 80]);
        assert_eq!(
            hex(&k.hmac_sha1(&[b"Test Using Larger Than Block-Size Key - Hash Key First"])),
            "aa4ae5e15272d00e95705637ce8a3b55ed402112"
        );
    }

    #[test]
    fn long_term_key_is_md5_of_user_realm_pass() {
        // MD5("user:realm:pass")
        assert_eq!(
            hex(&long_term_key_md5("user", "realm", "pass")),
            "8493fbc53ba582fb4c044c456bdc40eb"
        );
    }

    #[test]
    fn unsupported_algorithm() {
        assert_eq!(
            IntegrityKey::long_term_with_algorithm(AlgorithmId(7), "u", "r", "p").unwrap_err(),
            Error::UnsupportedPasswordAlgorithm(7)
        );
    }
}
