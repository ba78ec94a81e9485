//! Reading the peer's public key from its certificate (x509-parser) and verifying its
//! signatures (ring).

use crate::wire::SignatureScheme;
use crate::Error;
use ring::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use x509_parser::oid_registry::{
    OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_PKCS1_RSAENCRYPTION,
    OID_SIG_ED25519,
};

/// Key types a peer certificate may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    EcdsaP256,
    EcdsaP384,
    Ed25519,
    Rsa,
}

/// The subject public key of the peer's end-entity certificate.
#[derive(Debug, Clone)]
pub(crate) struct PeerPublicKey {
    pub(crate) kind: KeyKind,
    /// `subjectPublicKey` bits: the EC point, the Ed25519 key or the PKCS#1 RSAPublicKey.
    pub(crate) bytes: Vec<u8>,
}

impl PeerPublicKey {
    /// Reads the key out of a DER certificate.
    ///
    /// # Errors
    /// [`Error::BadCertificate`] if the DER does not parse, [`Error::UnsupportedKey`] for
    /// other key types.
    pub(crate) fn from_certificate(der: &[u8]) -> Result<Self, Error> {
        let (_, cert) = x509_parser::parse_x509_certificate(der)
            .map_err(|_| Error::BadCertificate("not a DER X.509 certificate"))?;
        let spki = cert.public_key();
        let alg = &spki.algorithm;
        let kind = if alg.algorithm == OID_KEY_TYPE_EC_PUBLIC_KEY {
            let curve = alg
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .ok_or(Error::BadCertificate("EC key without named curve"))?;
            if curve == OID_EC_P256 {
                KeyKind::EcdsaP256
            } else if curve == OID_NIST_EC_P384 {
                KeyKind::EcdsaP384
            } else {
                return Err(Error::UnsupportedKey("EC curve"));
            }
        } else if alg.algorithm == OID_SIG_ED25519 {
            KeyKind::Ed25519
        } else if alg.algorithm == OID_PKCS1_RSAENCRYPTION {
            KeyKind::Rsa
        } else {
            return Err(Error::UnsupportedKey("key algorithm"));
        };
        Ok(PeerPublicKey {
            kind,
            bytes: spki.subject_public_key.data.to_vec(),
        })
    }
}

/// ring's verification algorithm for `scheme` with a key of `kind` (TLS 1.2 does not tie
/// the ECDSA hash to the curve).
pub(crate) fn verification_algorithm(
    scheme: SignatureScheme,
    kind: KeyKind,
) -> Option<&'static dyn VerificationAlgorithm> {
    Some(match (scheme, kind) {
        (SignatureScheme::ECDSA_SECP256R1_SHA256, KeyKind::EcdsaP256) => {
            &signature::ECDSA_P256_SHA256_ASN1
        }
        (SignatureScheme::ECDSA_SECP256R1_SHA256, KeyKind::EcdsaP384) => {
            &signature::ECDSA_P384_SHA256_ASN1
        }
        (SignatureScheme::ECDSA_SECP384R1_SHA384, KeyKind::EcdsaP256) => {
            &signature::ECDSA_P256_SHA384_ASN1
        }
        (SignatureScheme::ECDSA_SECP384R1_SHA384, KeyKind::EcdsaP384) => {
            &signature::ECDSA_P384_SHA384_ASN1
        }
        (SignatureScheme::ED25519, KeyKind::Ed25519) => &signature::ED25519,
        (SignatureScheme::RSA_PKCS1_SHA256, KeyKind::Rsa) => &signature::RSA_PKCS1_2048_8192_SHA256,
        (SignatureScheme::RSA_PKCS1_SHA384, KeyKind::Rsa) => &signature::RSA_PKCS1_2048_8192_SHA384,
        (SignatureScheme::RSA_PSS_RSAE_SHA256, KeyKind::Rsa) => {
            &signature::RSA_PSS_2048_8192_SHA256
        }
        (SignatureScheme::RSA_PSS_RSAE_SHA384, KeyKind::Rsa) => {
            &signature::RSA_PSS_2048_8192_SHA384
        }
        _ => return None,
    })
}

/// The schemes this crate verifies, offered in signature_algorithms and CertificateRequest.
pub(crate) const VERIFY_SCHEMES: &[SignatureScheme] = &[
    SignatureScheme::ECDSA_SECP256R1_SHA256,
    SignatureScheme::ED25519,
    SignatureScheme::RSA_PSS_RSAE_SHA256,
    SignatureScheme::RSA_PKCS1_SHA256,
    SignatureScheme::ECDSA_SECP384R1_SHA384,
    SignatureScheme::RSA_PSS_RSAE_SHA384,
    SignatureScheme::RSA_PKCS1_SHA384,
];

/// Verifies `sig` over `msg` made with `key` under `scheme`.
///
/// # Errors
/// [`Error::NotOffered`] if the scheme does not fit the key, [`Error::BadSignature`] if
/// the signature is wrong.
pub(crate) fn verify_signature(
    scheme: SignatureScheme,
    key: &PeerPublicKey,
    msg: &[u8],
    sig: &[u8],
) -> Result<(), Error> {
    let alg =
        verification_algorithm(scheme, key.kind).ok_or(Error::NotOffered("signature scheme"))?;
    UnparsedPublicKey::new(alg, &key.bytes)
        .verify(msg, sig)
        .map_err(|_| Error::BadSignature)
}
