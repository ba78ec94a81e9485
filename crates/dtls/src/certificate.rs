//! Certificates, their private keys, and SDP fingerprints (RFC 8122 §5).

use crate::crypto::{KeyKind, PeerPublicKey};
use crate::wire::SignatureScheme;
use crate::Error;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// A certificate with its private key, used to authenticate this end of the handshake.
///
/// Cheap to clone (shared). In WebRTC it is self-signed and pinned by the peer through the
/// `a=fingerprint` of the SDP (RFC 8827 §6.5), so no chain is checked.
#[derive(Clone)]
pub struct Certificate {
    inner: Arc<Inner>,
}

struct Inner {
    der: Vec<u8>,
    key: SigningKey,
    /// The private key as read or generated, for [`Certificate::private_key_pem`].
    key_label: &'static str,
    key_der: Vec<u8>,
}

enum SigningKey {
    Ecdsa(EcdsaKeyPair, KeyKind),
    Ed25519(Ed25519KeyPair),
    Rsa(RsaKeyPair),
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field(
                "sha-256",
                &self.fingerprint(FingerprintAlgorithm::Sha256).to_string(),
            )
            .finish_non_exhaustive()
    }
}

impl Certificate {
    /// Generates a self-signed ECDSA P-256 certificate (common name `WebRTC`) with rcgen.
    ///
    /// The key comes from ring's `SystemRandom` (ring cannot take a seeded generator).
    ///
    /// # Errors
    /// [`Error::Crypto`] if key generation or signing fails.
    pub fn generate() -> Result<Certificate, Error> {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .map_err(|_| Error::Crypto)?;
        let mut params =
            rcgen::CertificateParams::new(Vec::<String>::new()).map_err(|_| Error::Crypto)?;
        let mut dn = rcgen::DistinguishedName::new();
        dn.push(rcgen::DnType::CommonName, "WebRTC");
        params.distinguished_name = dn;
        let cert = params.self_signed(&key).map_err(|_| Error::Crypto)?;
        Certificate::from_der(cert.der().to_vec(), &key.serialize_der())
    }

    /// Loads a certificate and its private key from PEM.
    ///
    /// `cert_pem` holds the end-entity certificate first (further blocks are ignored);
    /// `key_pem` a `PRIVATE KEY` (PKCS#8: ECDSA P-256/P-384, Ed25519, RSA) or an
    /// `RSA PRIVATE KEY` (PKCS#1).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if the PEM or the key cannot be read or do not match,
    /// [`Error::UnsupportedKey`] for other key types.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Certificate, Error> {
        let cert = first_pem(cert_pem, &["CERTIFICATE"])?;
        let key = first_pem(
            key_pem,
            &["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"],
        )?;
        match key.0.as_str() {
            "PRIVATE KEY" => Certificate::from_der(cert.1, &key.1),
            "RSA PRIVATE KEY" => {
                let pair = RsaKeyPair::from_der(&key.1)
                    .map_err(|_| Error::InvalidInput("RSA private key"))?;
                Certificate::build(cert.1, SigningKey::Rsa(pair), "RSA PRIVATE KEY", key.1)
            }
            _ => Err(Error::InvalidInput(
                "SEC1 EC keys are not supported; convert with `openssl pkcs8 -topk8 -nocrypt`",
            )),
        }
    }

    /// Builds a certificate from DER and a PKCS#8 private key.
    ///
    /// # Errors
    /// As [`Certificate::from_pem`].
    pub fn from_der(cert_der: Vec<u8>, pkcs8: &[u8]) -> Result<Certificate, Error> {
        let rng = SystemRandom::new();
        let key = if let Ok(k) =
            EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8, &rng)
        {
            SigningKey::Ecdsa(k, KeyKind::EcdsaP256)
        } else if let Ok(k) =
            EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P384_SHA384_ASN1_SIGNING, pkcs8, &rng)
        {
            SigningKey::Ecdsa(k, KeyKind::EcdsaP384)
        } else if let Ok(k) = Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8) {
            SigningKey::Ed25519(k)
        } else if let Ok(k) = RsaKeyPair::from_pkcs8(pkcs8) {
            SigningKey::Rsa(k)
        } else {
            return Err(Error::UnsupportedKey("private key"));
        };
        Certificate::build(cert_der, key, "PRIVATE KEY", pkcs8.to_vec())
    }

    fn build(
        der: Vec<u8>,
        key: SigningKey,
        key_label: &'static str,
        key_der: Vec<u8>,
    ) -> Result<Certificate, Error> {
        let public = PeerPublicKey::from_certificate(&der)
            .map_err(|_| Error::InvalidInput("certificate"))?;
        let (kind, ours) = match &key {
            SigningKey::Ecdsa(k, kind) => (*kind, k.public_key().as_ref()),
            SigningKey::Ed25519(k) => (KeyKind::Ed25519, k.public_key().as_ref()),
            SigningKey::Rsa(k) => (KeyKind::Rsa, k.public().as_ref()),
        };
        if public.kind != kind || public.bytes != ours {
            return Err(Error::InvalidInput(
                "private key does not match the certificate",
            ));
        }
        Ok(Certificate {
            inner: Arc::new(Inner {
                der,
                key,
                key_label,
                key_der,
            }),
        })
    }

    /// The certificate in DER, as sent in the Certificate message.
    pub fn der(&self) -> &[u8] {
        &self.inner.der
    }

    /// The certificate in PEM (`-----BEGIN CERTIFICATE-----`).
    pub fn certificate_pem(&self) -> String {
        to_pem("CERTIFICATE", &self.inner.der)
    }

    /// The private key in PEM (PKCS#8 `PRIVATE KEY`, or PKCS#1 if loaded so).
    pub fn private_key_pem(&self) -> String {
        to_pem(self.inner.key_label, &self.inner.key_der)
    }

    /// The fingerprint of the DER certificate with `algorithm` (RFC 8122 §5).
    pub fn fingerprint(&self, algorithm: FingerprintAlgorithm) -> Fingerprint {
        Fingerprint::of(algorithm, &self.inner.der)
    }

    pub(crate) fn key_kind(&self) -> KeyKind {
        match &self.inner.key {
            SigningKey::Ecdsa(_, kind) => *kind,
            SigningKey::Ed25519(_) => KeyKind::Ed25519,
            SigningKey::Rsa(_) => KeyKind::Rsa,
        }
    }

    /// The scheme we sign with, given what the peer accepts (most preferred first).
    pub(crate) fn signature_scheme(&self, peer: &[SignatureScheme]) -> Option<SignatureScheme> {
        let ours: &[SignatureScheme] = match self.key_kind() {
            KeyKind::EcdsaP256 => &[SignatureScheme::ECDSA_SECP256R1_SHA256],
            KeyKind::EcdsaP384 => &[SignatureScheme::ECDSA_SECP384R1_SHA384],
            KeyKind::Ed25519 => &[SignatureScheme::ED25519],
            KeyKind::Rsa => &[
                SignatureScheme::RSA_PSS_RSAE_SHA256,
                SignatureScheme::RSA_PKCS1_SHA256,
                SignatureScheme::RSA_PSS_RSAE_SHA384,
                SignatureScheme::RSA_PKCS1_SHA384,
            ],
        };
        ours.iter().copied().find(|s| peer.contains(s))
    }

    /// Signs `msg` with `scheme` (chosen by [`Certificate::signature_scheme`]).
    pub(crate) fn sign(
        &self,
        scheme: SignatureScheme,
        msg: &[u8],
        rng: &SystemRandom,
    ) -> Result<Vec<u8>, Error> {
        match &self.inner.key {
            SigningKey::Ecdsa(k, _) => Ok(k.sign(rng, msg)?.as_ref().to_vec()),
            SigningKey::Ed25519(k) => Ok(k.sign(msg).as_ref().to_vec()),
            SigningKey::Rsa(k) => {
                let pad: &'static dyn signature::RsaEncoding = match scheme {
                    SignatureScheme::RSA_PSS_RSAE_SHA256 => &signature::RSA_PSS_SHA256,
                    SignatureScheme::RSA_PKCS1_SHA256 => &signature::RSA_PKCS1_SHA256,
                    SignatureScheme::RSA_PSS_RSAE_SHA384 => &signature::RSA_PSS_SHA384,
                    _ => &signature::RSA_PKCS1_SHA384,
                };
                let mut sig = vec![0u8; k.public().modulus_len()];
                k.sign(pad, rng, msg, &mut sig)?;
                Ok(sig)
            }
        }
    }
}

fn first_pem(pem: &str, labels: &[&str]) -> Result<(String, Vec<u8>), Error> {
    for block in x509_parser::pem::Pem::iter_from_buffer(pem.as_bytes()) {
        let block = block.map_err(|_| Error::InvalidInput("PEM"))?;
        if labels.contains(&block.label.as_str()) {
            return Ok((block.label, block.contents));
        }
    }
    Err(Error::InvalidInput("no PEM block with the expected label"))
}

fn to_pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Hash function of a certificate fingerprint, with its SDP name (RFC 8122 §5, the
/// "Hash Function Textual Names" registry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FingerprintAlgorithm {
    /// `sha-1`
    Sha1,
    /// `sha-256`, what browsers use.
    Sha256,
    /// `sha-384`
    Sha384,
    /// `sha-512`
    Sha512,
}

impl FingerprintAlgorithm {
    /// The SDP name: `sha-1`, `sha-256`, `sha-384`, `sha-512`.
    pub fn name(self) -> &'static str {
        match self {
            FingerprintAlgorithm::Sha1 => "sha-1",
            FingerprintAlgorithm::Sha256 => "sha-256",
            FingerprintAlgorithm::Sha384 => "sha-384",
            FingerprintAlgorithm::Sha512 => "sha-512",
        }
    }

    fn digest(self) -> &'static ring::digest::Algorithm {
        match self {
            FingerprintAlgorithm::Sha1 => &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
            FingerprintAlgorithm::Sha256 => &ring::digest::SHA256,
            FingerprintAlgorithm::Sha384 => &ring::digest::SHA384,
            FingerprintAlgorithm::Sha512 => &ring::digest::SHA512,
        }
    }
}

/// A certificate fingerprint as carried by `a=fingerprint:` (RFC 8122 §5).
///
/// `Display` and `FromStr` use the SDP form `sha-256 AB:CD:...` (uppercase hex; parsing
/// accepts either case).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fingerprint {
    algorithm: FingerprintAlgorithm,
    value: Vec<u8>,
}

impl Fingerprint {
    /// Computes the fingerprint of a DER certificate.
    pub fn of(algorithm: FingerprintAlgorithm, der: &[u8]) -> Fingerprint {
        Fingerprint {
            algorithm,
            value: ring::digest::digest(algorithm.digest(), der)
                .as_ref()
                .to_vec(),
        }
    }

    /// Builds a fingerprint from a hash value.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if `value` has the wrong length for `algorithm`.
    pub fn new(algorithm: FingerprintAlgorithm, value: Vec<u8>) -> Result<Fingerprint, Error> {
        if value.len() != algorithm.digest().output_len() {
            return Err(Error::InvalidInput("fingerprint length"));
        }
        Ok(Fingerprint { algorithm, value })
    }

    /// The hash function.
    pub fn algorithm(&self) -> FingerprintAlgorithm {
        self.algorithm
    }

    /// The hash value.
    pub fn value(&self) -> &[u8] {
        &self.value
    }

    /// Whether `der` hashes to this fingerprint; the comparison is constant time.
    pub fn matches(&self, der: &[u8]) -> bool {
        use subtle::ConstantTimeEq;
        let other = ring::digest::digest(self.algorithm.digest(), der);
        bool::from(self.value.as_slice().ct_eq(other.as_ref()))
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.algorithm.name())?;
        for (i, b) in self.value.iter().enumerate() {
            write!(f, "{}{b:02X}", if i == 0 { ' ' } else { ':' })?;
        }
        Ok(())
    }
}

impl FromStr for Fingerprint {
    type Err = Error;

    /// Parses `sha-256 AB:CD:...` (the value of `a=fingerprint:`).
    fn from_str(s: &str) -> Result<Fingerprint, Error> {
        let mut parts = s.split_whitespace();
        let (Some(name), Some(hex), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(Error::InvalidInput(
                "fingerprint: expected `hash-func HEX:HEX:...`",
            ));
        };
        let algorithm = [
            FingerprintAlgorithm::Sha1,
            FingerprintAlgorithm::Sha256,
            FingerprintAlgorithm::Sha384,
            FingerprintAlgorithm::Sha512,
        ]
        .into_iter()
        .find(|a| a.name().eq_ignore_ascii_case(name))
        .ok_or(Error::InvalidInput(
            "fingerprint: unsupported hash function",
        ))?;
        let value = hex
            .split(':')
            .map(|h| {
                if h.len() == 2 {
                    u8::from_str_radix(h, 16).map_err(|_| Error::InvalidInput("fingerprint hex"))
                } else {
                    Err(Error::InvalidInput("fingerprint hex"))
                }
            })
            .collect::<Result<Vec<u8>, Error>>()?;
        Fingerprint::new(algorithm, value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn fingerprint_text_round_trip(alg in 0usize..4, bytes in proptest::collection::vec(any::<u8>(), 64)) {
            let alg = [
                FingerprintAlgorithm::Sha1,
                FingerprintAlgorithm::Sha256,
                FingerprintAlgorithm::Sha384,
                FingerprintAlgorithm::Sha512,
            ][alg];
            let len = alg.digest().output_len();
            let fp = Fingerprint::new(alg, bytes[..len].to_vec()).unwrap();
            prop_assert_eq!(fp.to_string().parse::<Fingerprint>().unwrap(), fp);
        }

        #[test]
        fn fingerprint_parse_write_stable(s in "(sha-(1|256) )?([0-9a-fA-F:]{0,70})") {
            if let Ok(fp) = s.parse::<Fingerprint>() {
                let text = fp.to_string();
                prop_assert_eq!(text.parse::<Fingerprint>().unwrap().to_string(), text);
            }
        }
    }

    #[test]
    fn generated_certificate_round_trips_pem_and_fingerprints() {
        let c = Certificate::generate().unwrap();
        assert_eq!(c.key_kind(), KeyKind::EcdsaP256);
        let back = Certificate::from_pem(&c.certificate_pem(), &c.private_key_pem()).unwrap();
        assert_eq!(back.der(), c.der());
        for (alg, len) in [
            (FingerprintAlgorithm::Sha1, 20),
            (FingerprintAlgorithm::Sha256, 32),
            (FingerprintAlgorithm::Sha384, 48),
            (FingerprintAlgorithm::Sha512, 64),
        ] {
            let fp = c.fingerprint(alg);
            assert_eq!(fp.value().len(), len);
            let text = fp.to_string();
            assert!(text.starts_with(alg.name()));
            assert_eq!(text.len(), alg.name().len() + 3 * len);
            assert_eq!(text.parse::<Fingerprint>().unwrap(), fp);
            assert_eq!(text.to_lowercase().parse::<Fingerprint>().unwrap(), fp);
            assert!(fp.matches(c.der()));
            assert!(!fp.matches(b"other"));
        }
    }

    #[test]
    fn fingerprint_known_answer_and_bad_text() {
        // SHA-256 of the empty string.
        let fp = Fingerprint::of(FingerprintAlgorithm::Sha256, b"");
        assert_eq!(
            fp.to_string(),
            "sha-256 E3:B0:C4:42:98:FC:1C:14:9A:FB:F4:C8:99:6F:B9:24:27:AE:41:E4:64:9B:93:4C:A4:95:99:1B:78:52:B8:55"
        );
        for bad in [
            "",
            "sha-256",
            "md5 AB:CD",
            "sha-256 AB:CD",
            "sha-1 ZZ:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00",
            "sha-1 000:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:0",
            "sha-256 AB CD",
        ] {
            assert!(bad.parse::<Fingerprint>().is_err(), "{bad}");
        }
    }

    #[test]
    fn mismatched_key_is_rejected() {
        let a = Certificate::generate().unwrap();
        let b = Certificate::generate().unwrap();
        assert!(Certificate::from_pem(&a.certificate_pem(), &b.private_key_pem()).is_err());
        assert!(Certificate::from_pem("junk", &b.private_key_pem()).is_err());
    }
}
