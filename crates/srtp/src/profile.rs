//! SRTP protection profiles (RFC 5764 §4.1.2, RFC 7714 §14).

use core::fmt;

/// An SRTP protection profile: cipher, authentication and key sizes, as negotiated by the
/// DTLS `use_srtp` extension (RFC 5764 §4.1.2) or named in SDES.
///
/// The discriminants are the two-byte `SRTPProtectionProfile` values from the IANA
/// "DTLS-SRTP Protection Profiles" registry, so DTLS can map the negotiated value with
/// [`SrtpProfile::from_id`] and [`SrtpProfile::id`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
#[repr(u16)]
pub enum SrtpProfile {
    /// `SRTP_AES128_CM_HMAC_SHA1_80` (0x0001, RFC 5764 §4.1.2): AES-128 counter mode,
    /// HMAC-SHA1 with an 80-bit tag on SRTP and SRTCP.
    Aes128CmHmacSha1_80 = 0x0001,
    /// `SRTP_AES128_CM_HMAC_SHA1_32` (0x0002, RFC 5764 §4.1.2): as `_80` but with a
    /// 32-bit tag on SRTP; SRTCP keeps the 80-bit tag.
    Aes128CmHmacSha1_32 = 0x0002,
    /// `SRTP_AEAD_AES_128_GCM` (0x0007, RFC 7714 §14.2): AES-128-GCM, 128-bit tag.
    AeadAes128Gcm = 0x0007,
    /// `SRTP_AEAD_AES_256_GCM` (0x0008, RFC 7714 §14.2): AES-256-GCM, 128-bit tag.
    AeadAes256Gcm = 0x0008,
}

impl SrtpProfile {
    /// Every supported profile, in registry order.
    pub const ALL: [SrtpProfile; 4] = [
        SrtpProfile::Aes128CmHmacSha1_80,
        SrtpProfile::Aes128CmHmacSha1_32,
        SrtpProfile::AeadAes128Gcm,
        SrtpProfile::AeadAes256Gcm,
    ];

    /// The profile for a DTLS-SRTP protection profile id (RFC 5764 §4.1.2, RFC 7714 §14.2),
    /// or `None` for ids this crate does not implement.
    pub const fn from_id(id: u16) -> Option<SrtpProfile> {
        match id {
            0x0001 => Some(SrtpProfile::Aes128CmHmacSha1_80),
            0x0002 => Some(SrtpProfile::Aes128CmHmacSha1_32),
            0x0007 => Some(SrtpProfile::AeadAes128Gcm),
            0x0008 => Some(SrtpProfile::AeadAes256Gcm),
            _ => None,
        }
    }

    /// The DTLS-SRTP protection profile id (two bytes on the wire, big endian).
    pub const fn id(self) -> u16 {
        self as u16
    }

    /// The profile's name as RFC 5764 / RFC 7714 spell it (`SRTP_AES128_CM_HMAC_SHA1_80`...).
    pub const fn name(self) -> &'static str {
        match self {
            SrtpProfile::Aes128CmHmacSha1_80 => "SRTP_AES128_CM_HMAC_SHA1_80",
            SrtpProfile::Aes128CmHmacSha1_32 => "SRTP_AES128_CM_HMAC_SHA1_32",
            SrtpProfile::AeadAes128Gcm => "SRTP_AEAD_AES_128_GCM",
            SrtpProfile::AeadAes256Gcm => "SRTP_AEAD_AES_256_GCM",
        }
    }

    /// Master key length in bytes (16 or 32).
    pub const fn master_key_len(self) -> usize {
        match self {
            SrtpProfile::AeadAes256Gcm => 32,
            _ => 16,
        }
    }

    /// Master salt length in bytes: 14 (112 bits) for AES-CM, 12 (96 bits) for GCM
    /// (RFC 7714 §12).
    pub const fn master_salt_len(self) -> usize {
        if self.is_aead() {
            12
        } else {
            14
        }
    }

    /// Bytes appended to an RTP packet by protection: the authentication tag
    /// (10, 4 or 16 bytes). No MKI is used.
    pub const fn rtp_auth_tag_len(self) -> usize {
        match self {
            SrtpProfile::Aes128CmHmacSha1_80 => 10,
            SrtpProfile::Aes128CmHmacSha1_32 => 4,
            SrtpProfile::AeadAes128Gcm | SrtpProfile::AeadAes256Gcm => 16,
        }
    }

    /// Length of the SRTCP authentication tag in bytes: 10 for both AES-CM profiles
    /// (RFC 5764 §4.1.2), 16 for GCM.
    pub const fn rtcp_auth_tag_len(self) -> usize {
        if self.is_aead() {
            16
        } else {
            10
        }
    }

    /// Bytes appended to an RTCP packet by protection: the 4-byte E flag + SRTCP index
    /// and the tag (14 or 20 bytes).
    pub const fn rtcp_overhead(self) -> usize {
        4 + self.rtcp_auth_tag_len()
    }

    /// Length of the DTLS exporter output this profile needs (RFC 5764 §4.2):
    /// `2 * (master_key_len + master_salt_len)` bytes, exported with the label
    /// `"EXTRACTOR-dtls_srtp"` and no context.
    pub const fn keying_material_len(self) -> usize {
        2 * (self.master_key_len() + self.master_salt_len())
    }

    /// Whether the profile is an AEAD (GCM) profile of RFC 7714.
    pub const fn is_aead(self) -> bool {
        matches!(
            self,
            SrtpProfile::AeadAes128Gcm | SrtpProfile::AeadAes256Gcm
        )
    }
}

impl fmt::Display for SrtpProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_match_the_registry() {
        let ids: Vec<u16> = SrtpProfile::ALL.iter().map(|p| p.id()).collect();
        assert_eq!(ids, [0x0001, 0x0002, 0x0007, 0x0008]);
        for p in SrtpProfile::ALL {
            assert_eq!(SrtpProfile::from_id(p.id()), Some(p));
        }
        for id in [0x0000, 0x0003, 0x0004, 0x0005, 0x0006, 0x0009, 0xffff] {
            assert_eq!(SrtpProfile::from_id(id), None);
        }
    }

    #[test]
    fn lengths_follow_rfc_5764_and_7714() {
        use SrtpProfile::*;
        assert_eq!(Aes128CmHmacSha1_80.keying_material_len(), 60);
        assert_eq!(Aes128CmHmacSha1_32.keying_material_len(), 60);
        assert_eq!(AeadAes128Gcm.keying_material_len(), 56);
        assert_eq!(AeadAes256Gcm.keying_material_len(), 88);
        assert_eq!(Aes128CmHmacSha1_32.rtp_auth_tag_len(), 4);
        assert_eq!(Aes128CmHmacSha1_32.rtcp_overhead(), 14);
        assert_eq!(AeadAes256Gcm.rtcp_overhead(), 20);
        assert_eq!(AeadAes128Gcm.to_string(), "SRTP_AEAD_AES_128_GCM");
    }
}
