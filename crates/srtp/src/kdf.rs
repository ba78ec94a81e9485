//! The SRTP key derivation function (RFC 3711 §4.3) with key derivation rate 0.

use aes::cipher::{KeyIvInit, StreamCipher};
use aes::{Aes128, Aes256};

use crate::{Error, SrtpProfile};

/// Key derivation labels (RFC 3711 §4.3.1, §4.3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Label {
    RtpEncryption = 0x00,
    RtpAuthentication = 0x01,
    RtpSalt = 0x02,
    RtcpEncryption = 0x03,
    RtcpAuthentication = 0x04,
    RtcpSalt = 0x05,
}

/// Session keys for one direction of SRTP or SRTCP.
pub(crate) struct SessionKeys {
    /// Encryption key (`k_e`): 16 or 32 bytes used.
    pub(crate) enc: [u8; 32],
    pub(crate) enc_len: usize,
    /// Authentication key (`k_a`): 20 bytes for HMAC-SHA1, unused by GCM.
    pub(crate) auth: [u8; 20],
    /// Salting key (`k_s`): 14 bytes for AES-CM, 12 for GCM, left aligned.
    pub(crate) salt: [u8; 14],
}

impl SessionKeys {
    /// Derives the SRTP (`rtcp == false`) or SRTCP session keys from a master key and
    /// salt whose lengths the caller has checked against `profile`.
    pub(crate) fn derive(
        profile: SrtpProfile,
        master_key: &[u8],
        master_salt: &[u8],
        rtcp: bool,
    ) -> Result<Self, Error> {
        let (e, a, s) = if rtcp {
            (
                Label::RtcpEncryption,
                Label::RtcpAuthentication,
                Label::RtcpSalt,
            )
        } else {
            (
                Label::RtpEncryption,
                Label::RtpAuthentication,
                Label::RtpSalt,
            )
        };
        let mut keys = SessionKeys {
            enc: [0; 32],
            enc_len: profile.master_key_len(),
            auth: [0; 20],
            salt: [0; 14],
        };
        let enc_len = keys.enc_len;
        let salt_len = profile.master_salt_len();
        derive(master_key, master_salt, e, &mut keys.enc[..enc_len])?;
        if !profile.is_aead() {
            derive(master_key, master_salt, a, &mut keys.auth)?;
        }
        derive(master_key, master_salt, s, &mut keys.salt[..salt_len])?;
        Ok(keys)
    }
}

/// Fills `out` with the AES-CM PRF output for `label` (RFC 3711 §4.3.1, §4.3.3):
/// `x = (label || r) XOR master_salt` with `r = 0` (key derivation rate 0), and the
/// keystream of AES-CTR under the master key from IV `x * 2^16`.
///
/// The master salt sits left aligned in the 112-bit field; a 96-bit GCM salt is padded
/// with zeros on the right (RFC 7714 §11, as libsrtp does).
pub(crate) fn derive(
    master_key: &[u8],
    master_salt: &[u8],
    label: Label,
    out: &mut [u8],
) -> Result<(), Error> {
    let mut iv = [0u8; 16];
    let salt_len = master_salt.len();
    if salt_len > 14 {
        return Err(Error::InvalidSaltLength {
            expected: 14,
            actual: salt_len,
        });
    }
    iv[..salt_len].copy_from_slice(master_salt);
    // key_id = label || r is 56 bits, right aligned in the 112-bit salt field: the label
    // is byte 7; r = 0 leaves bytes 8..14 alone.
    iv[7] ^= label as u8;
    out.fill(0);
    let keystream = match master_key.len() {
        16 => ctr::Ctr128BE::<Aes128>::new_from_slices(master_key, &iv)
            .map(|mut c| c.try_apply_keystream(out)),
        32 => ctr::Ctr128BE::<Aes256>::new_from_slices(master_key, &iv)
            .map(|mut c| c.try_apply_keystream(out)),
        n => {
            return Err(Error::InvalidKeyLength {
                expected: 16,
                actual: n,
            })
        }
    };
    match keystream {
        Ok(Ok(())) => Ok(()),
        // Neither can happen with the lengths above; no panics on any path regardless.
        _ => Err(Error::InvalidKeyLength {
            expected: 16,
            actual: master_key.len(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.replace([' ', '\n'], "")).unwrap()
    }

    /// RFC 3711 Appendix B.3.
    #[test]
    fn rfc3711_b3_key_derivation() {
        let key = h("E1F97A0D3E018BE0D64FA32C06DE4139");
        let salt = h("0EC675AD498AFEEBB6960B3AABE6");
        let mut enc = [0u8; 16];
        derive(&key, &salt, Label::RtpEncryption, &mut enc).unwrap();
        assert_eq!(enc.to_vec(), h("C61E7A93744F39EE10734AFE3FF7A087"));
        let mut salt_out = [0u8; 14];
        derive(&key, &salt, Label::RtpSalt, &mut salt_out).unwrap();
        assert_eq!(salt_out.to_vec(), h("30CBBC08863D8C85D49DB34A9AE1"));
        let mut auth = [0u8; 20];
        derive(&key, &salt, Label::RtpAuthentication, &mut auth).unwrap();
        assert_eq!(auth.to_vec(), h("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4"));

        let keys =
            SessionKeys::derive(SrtpProfile::Aes128CmHmacSha1_80, &key, &salt, false).unwrap();
        assert_eq!(keys.enc[..16].to_vec(), enc.to_vec());
        assert_eq!(keys.auth, auth);
        assert_eq!(keys.salt, salt_out);
    }

    #[test]
    fn rtcp_labels_differ_from_rtp_labels() {
        let key = h("E1F97A0D3E018BE0D64FA32C06DE4139");
        let salt = h("0EC675AD498AFEEBB6960B3AABE6");
        let p = SrtpProfile::Aes128CmHmacSha1_80;
        let rtp = SessionKeys::derive(p, &key, &salt, false).unwrap();
        let rtcp = SessionKeys::derive(p, &key, &salt, true).unwrap();
        assert_ne!(rtp.enc, rtcp.enc);
        assert_ne!(rtp.auth, rtcp.auth);
        assert_ne!(rtp.salt, rtcp.salt);
    }

    #[test]
    fn bad_lengths_are_errors() {
        let mut out = [0u8; 16];
        assert!(derive(&[0; 15], &[0; 14], Label::RtpEncryption, &mut out).is_err());
        assert!(derive(&[0; 16], &[0; 15], Label::RtpEncryption, &mut out).is_err());
    }
}
