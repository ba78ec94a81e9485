//! ECDHE key exchange on ring's `agreement` (RFC 8422 §5.4, §5.7).

use crate::wire::NamedGroup;
use crate::Error;
use ring::agreement::{self, EphemeralPrivateKey, UnparsedPublicKey};
use ring::rand::SystemRandom;

/// ring's algorithm for a named group this crate supports.
pub(crate) fn supported_group(group: NamedGroup) -> Option<&'static agreement::Algorithm> {
    match group {
        NamedGroup::X25519 => Some(&agreement::X25519),
        NamedGroup::SECP256R1 => Some(&agreement::ECDH_P256),
        NamedGroup::SECP384R1 => Some(&agreement::ECDH_P384),
        _ => None,
    }
}

/// An ephemeral key pair for one handshake.
pub(crate) struct KeyShare {
    pub(crate) group: NamedGroup,
    private: EphemeralPrivateKey,
    /// Our public value as sent on the wire (uncompressed point or X25519 u-coordinate).
    pub(crate) public: Vec<u8>,
}

impl std::fmt::Debug for KeyShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyShare")
            .field("group", &self.group)
            .finish_non_exhaustive()
    }
}

impl KeyShare {
    /// Generates a fresh key pair; ring's `SystemRandom` is the only source it accepts.
    pub(crate) fn generate(group: NamedGroup, rng: &SystemRandom) -> Result<Self, Error> {
        let alg = supported_group(group).ok_or(Error::NoShared("group"))?;
        let private = EphemeralPrivateKey::generate(alg, rng)?;
        let public = private.compute_public_key()?.as_ref().to_vec();
        Ok(KeyShare {
            group,
            private,
            public,
        })
    }
}

/// Computes the premaster secret with the peer's public value (consumes our key).
///
/// # Errors
/// [`Error::BadKeyExchange`] if the peer's value is not a valid point of the group.
pub(crate) fn agree(share: KeyShare, peer_public: &[u8]) -> Result<Vec<u8>, Error> {
    let alg = supported_group(share.group).ok_or(Error::NoShared("group"))?;
    agreement::agree_ephemeral(
        share.private,
        &UnparsedPublicKey::new(alg, peer_public),
        |k| k.to_vec(),
    )
    .map_err(|_| Error::BadKeyExchange)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sides_agree_in_every_group() {
        let rng = SystemRandom::new();
        for g in [
            NamedGroup::X25519,
            NamedGroup::SECP256R1,
            NamedGroup::SECP384R1,
        ] {
            let a = KeyShare::generate(g, &rng).unwrap();
            let b = KeyShare::generate(g, &rng).unwrap();
            let (ap, bp) = (a.public.clone(), b.public.clone());
            assert_eq!(agree(a, &bp).unwrap(), agree(b, &ap).unwrap());
            let c = KeyShare::generate(g, &rng).unwrap();
            assert_eq!(agree(c, &[4, 1, 2]), Err(Error::BadKeyExchange));
        }
        assert!(KeyShare::generate(NamedGroup(99), &rng).is_err());
    }
}
