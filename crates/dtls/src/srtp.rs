//! SRTP protection profiles of the use_srtp extension and the RFC 5764 §4.2 key split.

/// The SRTP protection profiles this crate negotiates, with their IANA ids
/// (RFC 5764 §4.1.2, RFC 7714 §14.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SrtpProtectionProfile {
    /// SRTP_AES128_CM_HMAC_SHA1_80 `{0x00, 0x01}`
    Aes128CmHmacSha1_80,
    /// SRTP_AES128_CM_HMAC_SHA1_32 `{0x00, 0x02}`
    Aes128CmHmacSha1_32,
    /// SRTP_AEAD_AES_128_GCM `{0x00, 0x07}`
    AeadAes128Gcm,
    /// SRTP_AEAD_AES_256_GCM `{0x00, 0x08}`
    AeadAes256Gcm,
}

impl SrtpProtectionProfile {
    /// All profiles, in the default order of preference (GCM first, as browsers do).
    pub const ALL: [SrtpProtectionProfile; 4] = [
        SrtpProtectionProfile::AeadAes128Gcm,
        SrtpProtectionProfile::AeadAes256Gcm,
        SrtpProtectionProfile::Aes128CmHmacSha1_80,
        SrtpProtectionProfile::Aes128CmHmacSha1_32,
    ];

    /// The IANA id.
    pub fn id(self) -> u16 {
        match self {
            SrtpProtectionProfile::Aes128CmHmacSha1_80 => 0x0001,
            SrtpProtectionProfile::Aes128CmHmacSha1_32 => 0x0002,
            SrtpProtectionProfile::AeadAes128Gcm => 0x0007,
            SrtpProtectionProfile::AeadAes256Gcm => 0x0008,
        }
    }

    /// The profile with IANA id `id`, if known.
    pub fn from_id(id: u16) -> Option<SrtpProtectionProfile> {
        Self::ALL.into_iter().find(|p| p.id() == id)
    }

    /// SRTP master key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            SrtpProtectionProfile::AeadAes256Gcm => 32,
            _ => 16,
        }
    }

    /// SRTP master salt length in bytes: 14 for AES-CM (RFC 3711), 12 for GCM (RFC 7714).
    pub fn salt_len(self) -> usize {
        match self {
            SrtpProtectionProfile::Aes128CmHmacSha1_80
            | SrtpProtectionProfile::Aes128CmHmacSha1_32 => 14,
            _ => 12,
        }
    }

    /// Bytes to export with `EXTRACTOR-dtls_srtp`: `2 * (key_len + salt_len)`.
    pub fn keying_material_len(self) -> usize {
        2 * (self.key_len() + self.salt_len())
    }

    /// The name used by OpenSSL's `-use_srtp` (and RFC 5764).
    pub fn name(self) -> &'static str {
        match self {
            SrtpProtectionProfile::Aes128CmHmacSha1_80 => "SRTP_AES128_CM_SHA1_80",
            SrtpProtectionProfile::Aes128CmHmacSha1_32 => "SRTP_AES128_CM_SHA1_32",
            SrtpProtectionProfile::AeadAes128Gcm => "SRTP_AEAD_AES_128_GCM",
            SrtpProtectionProfile::AeadAes256Gcm => "SRTP_AEAD_AES_256_GCM",
        }
    }
}

/// SRTP master keys and salts for both directions (RFC 5764 §4.2).
///
/// The client writes with `client_write_key`/`client_write_salt` and reads with the
/// server's; the server the other way round.
#[derive(Clone, PartialEq, Eq)]
pub struct SrtpKeyingMaterial {
    /// The negotiated profile, which fixes the lengths.
    pub profile: SrtpProtectionProfile,
    /// client_write_SRTP_master_key
    pub client_write_key: Vec<u8>,
    /// server_write_SRTP_master_key
    pub server_write_key: Vec<u8>,
    /// client_write_SRTP_master_salt
    pub client_write_salt: Vec<u8>,
    /// server_write_SRTP_master_salt
    pub server_write_salt: Vec<u8>,
}

impl std::fmt::Debug for SrtpKeyingMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SrtpKeyingMaterial")
            .field("profile", &self.profile)
            .finish_non_exhaustive()
    }
}

impl SrtpKeyingMaterial {
    /// Splits exporter output `client_key | server_key | client_salt | server_salt`
    /// (RFC 5764 §4.2). Returns `None` if `material` has the wrong length.
    pub fn split(profile: SrtpProtectionProfile, material: &[u8]) -> Option<SrtpKeyingMaterial> {
        let (k, s) = (profile.key_len(), profile.salt_len());
        if material.len() != profile.keying_material_len() {
            return None;
        }
        Some(SrtpKeyingMaterial {
            profile,
            client_write_key: material.get(..k)?.to_vec(),
            server_write_key: material.get(k..2 * k)?.to_vec(),
            client_write_salt: material.get(2 * k..2 * k + s)?.to_vec(),
            server_write_salt: material.get(2 * k + s..)?.to_vec(),
        })
    }

    /// `(key, salt)` this end writes with: the client's when `is_client`.
    pub fn local(&self, is_client: bool) -> (&[u8], &[u8]) {
        if is_client {
            (&self.client_write_key, &self.client_write_salt)
        } else {
            (&self.server_write_key, &self.server_write_salt)
        }
    }

    /// `(key, salt)` the peer writes with.
    pub fn remote(&self, is_client: bool) -> (&[u8], &[u8]) {
        self.local(!is_client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_lengths_and_split() {
        for p in SrtpProtectionProfile::ALL {
            assert_eq!(SrtpProtectionProfile::from_id(p.id()), Some(p));
        }
        assert_eq!(SrtpProtectionProfile::from_id(3), None);
        assert_eq!(
            SrtpProtectionProfile::Aes128CmHmacSha1_80.keying_material_len(),
            60
        );
        assert_eq!(
            SrtpProtectionProfile::AeadAes128Gcm.keying_material_len(),
            56
        );
        assert_eq!(
            SrtpProtectionProfile::AeadAes256Gcm.keying_material_len(),
            88
        );
        let m: Vec<u8> = (0..60).collect();
        let k = SrtpKeyingMaterial::split(SrtpProtectionProfile::Aes128CmHmacSha1_80, &m).unwrap();
        assert_eq!(k.client_write_key, (0..16).collect::<Vec<u8>>());
        assert_eq!(k.server_write_key, (16..32).collect::<Vec<u8>>());
        assert_eq!(k.client_write_salt, (32..46).collect::<Vec<u8>>());
        assert_eq!(k.server_write_salt, (46..60).collect::<Vec<u8>>());
        assert_eq!(k.local(false).0, &k.server_write_key[..]);
        assert_eq!(k.remote(false).1, &k.client_write_salt[..]);
        assert!(SrtpKeyingMaterial::split(SrtpProtectionProfile::AeadAes128Gcm, &m).is_none());
    }
}
