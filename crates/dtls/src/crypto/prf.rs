//! The TLS 1.2 PRF: `P_SHA256` / `P_SHA384` (RFC 5246 §5) on ring's HMAC.

use ring::{digest, hmac};

/// The hash of the PRF, fixed by the cipher suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PrfHash {
    Sha256,
    Sha384,
}

impl PrfHash {
    pub(crate) fn hmac(self) -> hmac::Algorithm {
        match self {
            PrfHash::Sha256 => hmac::HMAC_SHA256,
            PrfHash::Sha384 => hmac::HMAC_SHA384,
        }
    }

    pub(crate) fn digest(self) -> &'static digest::Algorithm {
        match self {
            PrfHash::Sha256 => &digest::SHA256,
            PrfHash::Sha384 => &digest::SHA384,
        }
    }

    /// Hash of the transcript, for Finished and the extended master secret's session_hash.
    pub(crate) fn hash(self, data: &[u8]) -> digest::Digest {
        digest::digest(self.digest(), data)
    }
}

/// `PRF(secret, label, seed) = P_<hash>(secret, label + seed)` filling `out`.
///
/// ```text
/// P_hash(secret, seed) = HMAC_hash(secret, A(1) + seed) + HMAC_hash(secret, A(2) + seed) + ...
/// A(0) = seed, A(i) = HMAC_hash(secret, A(i-1))
/// ```
pub(crate) fn prf(hash: PrfHash, secret: &[u8], label: &[u8], seeds: &[&[u8]], out: &mut [u8]) {
    let key = hmac::Key::new(hash.hmac(), secret);
    let mut a = {
        let mut ctx = hmac::Context::with_key(&key);
        ctx.update(label);
        seeds.iter().for_each(|s| ctx.update(s));
        ctx.sign()
    };
    for chunk in out.chunks_mut(hash.hmac().digest_algorithm().output_len()) {
        let mut ctx = hmac::Context::with_key(&key);
        ctx.update(a.as_ref());
        ctx.update(label);
        seeds.iter().for_each(|s| ctx.update(s));
        let block = ctx.sign();
        chunk.copy_from_slice(&block.as_ref()[..chunk.len()]);
        a = hmac::sign(&key, a.as_ref());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    // Known-answer: `openssl kdf -keylen 100 -kdfopt digest:SHA256 -kdfopt hexsecret:...
    // -kdfopt hexseed:<"test label" + seed> TLS1-PRF` (OpenSSL 3.0), which matches the
    // widely published TLS 1.2 PRF test vector.
    #[test]
    fn p_sha256_vector() {
        let secret = unhex("9bbe436ba940f017b17652849a71db35");
        let seed = unhex("a0ba9f936cda311827a6f796ffd5198c");
        let mut out = [0u8; 100];
        prf(PrfHash::Sha256, &secret, b"test label", &[&seed], &mut out);
        assert_eq!(
            out.to_vec(),
            unhex(
                "e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff70187347b66"
            )
        );
    }

    // Known-answer from `openssl kdf ... -kdfopt digest:SHA384 TLS1-PRF` (OpenSSL 3.0).
    #[test]
    fn p_sha384_vector() {
        let secret = unhex("b80b733d6ceefcdc71566ea48e5567df");
        let seed = unhex("cd665cf6a8447dd6ff8b27555edb7465");
        let mut out = [0u8; 148];
        prf(PrfHash::Sha384, &secret, b"test label", &[&seed], &mut out);
        assert_eq!(out.to_vec(), unhex(P384_EXPECTED));
    }

    const P384_EXPECTED: &str = "7b0c18e9ced410ed1804f2cfa34a336a1c14dffb4900bb5fd7942107e81c83cde9ca0faa60be9fe34f82b1233c9146a0e534cb400fed2700884f9dc236f80edd8bfa961144c9e8d792eca722a7b32fc3d416d473ebc2c5fd4abfdad05d9184259b5bf8cd4d90fa0d31e2dec479e4f1a26066f2eea9a69236a3e52655c9e9aee691c8f3a26854308d5eaa3be85e0990703d73e56f";
}
