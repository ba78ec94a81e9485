//! The client's long-term credential state (RFC 8489 §9.2.5): realm, nonce, key, and the
//! password algorithm negotiated through the nonce cookie.

use oxrtc_stun::{
    AlgorithmId, AttributeType, IntegrityKey, Message, MessageBuilder, Nonce, PasswordAlgorithm,
    PasswordAlgorithms, Realm, SecurityFeatures, Username,
};

use crate::Error;

/// What a 401 or 438 taught the client, and the key derived from it.
#[derive(Debug, Clone)]
pub(crate) struct Auth {
    pub(crate) realm: String,
    pub(crate) nonce: String,
    pub(crate) key: IntegrityKey,
    /// The PASSWORD-ALGORITHMS value to echo, and SHA-256 chosen, when the server's nonce
    /// cookie announced password algorithms (RFC 8489 §9.2.4).
    pub(crate) algorithms: Option<(Vec<u8>, AlgorithmId)>,
}

impl Auth {
    /// Reads REALM, NONCE and PASSWORD-ALGORITHMS from a 401 or 438 response; `previous`
    /// supplies the realm when a 438 omits it.
    ///
    /// # Errors
    /// [`Error::MissingAttribute`] without NONCE (or REALM on a first 401);
    /// [`Error::MissingPasswordAlgorithms`] / [`Error::UnsupportedPasswordAlgorithm`] per
    /// RFC 8489 §9.2.5.
    pub(crate) fn from_challenge<T: AsRef<[u8]>>(
        message: &Message<T>,
        username: &str,
        password: &str,
        previous: Option<&Auth>,
    ) -> Result<Auth, Error> {
        let nonce = message
            .attribute::<Nonce<'_>>()?
            .ok_or(Error::MissingAttribute(AttributeType::NONCE))?;
        let realm = match message.attribute::<Realm<'_>>()? {
            Some(r) => r.0.to_owned(),
            None => previous
                .map(|p| p.realm.clone())
                .ok_or(Error::MissingAttribute(AttributeType::REALM))?,
        };
        let announced = nonce
            .security_features()
            .is_some_and(|f| f.contains(SecurityFeatures::PASSWORD_ALGORITHMS));
        let algorithms = if announced {
            let raw = message
                .raw_attributes()
                .find(|a| a.typ == AttributeType::PASSWORD_ALGORITHMS)
                .ok_or(Error::MissingPasswordAlgorithms)?;
            let offered = message
                .attribute::<PasswordAlgorithms<'_>>()?
                .ok_or(Error::MissingPasswordAlgorithms)?;
            let pick = if offered.0.iter().any(|a| a.algorithm == AlgorithmId::SHA256) {
                AlgorithmId::SHA256
            } else if offered.0.iter().any(|a| a.algorithm == AlgorithmId::MD5) {
                AlgorithmId::MD5
            } else {
                return Err(Error::UnsupportedPasswordAlgorithm);
            };
            Some((raw.value.to_vec(), pick))
        } else {
            None
        };
        let algorithm = algorithms.as_ref().map_or(AlgorithmId::MD5, |a| a.1);
        let key = IntegrityKey::long_term_with_algorithm(algorithm, username, &realm, password)?;
        Ok(Auth {
            realm,
            nonce: nonce.0.to_owned(),
            key,
            algorithms,
        })
    }

    /// Appends USERNAME, REALM, NONCE, the password algorithm attributes, then the message
    /// integrity (MESSAGE-INTEGRITY-SHA256 with the SHA-256 algorithm, MESSAGE-INTEGRITY
    /// otherwise).
    pub(crate) fn sign(&self, b: &mut MessageBuilder<'_>, username: &str) -> Result<(), Error> {
        b.add(&Username(username))?
            .add(&Realm(&self.realm))?
            .add(&Nonce(&self.nonce))?;
        if let Some((raw, algorithm)) = &self.algorithms {
            b.add_raw(AttributeType::PASSWORD_ALGORITHMS, raw)?;
            b.add(&PasswordAlgorithm {
                algorithm: *algorithm,
                parameters: &[],
            })?;
            if *algorithm == AlgorithmId::SHA256 {
                b.add_message_integrity_sha256(&self.key)?;
                return Ok(());
            }
        }
        b.add_message_integrity(&self.key)?;
        Ok(())
    }
}
