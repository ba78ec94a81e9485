//! The per-packet cryptographic transforms: AES-CM + HMAC-SHA1 (RFC 3711 §4.1.1, §4.2.1)
//! and AEAD AES-GCM (RFC 7714 §8, §9). Stateless: indices come from the caller.
//!
//! AES-CM uses RustCrypto `aes` + `ctr`, HMAC-SHA1 RustCrypto `hmac` + `sha1` (which use the
//! CPU's AES-NI and SHA extensions); GCM uses ring, the fastest of the candidates measured.

use aes::cipher::{InnerIvInit, StreamCipher, StreamCipherCoreWrapper};
use aes::Aes128Enc;
use hmac::{Hmac, KeyInit, Mac};
use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use sha1::Sha1;
use subtle::ConstantTimeEq;

use crate::kdf::SessionKeys;
use crate::{Error, SrtpProfile};

/// Length of the SRTCP `E || SRTCP index` word (RFC 3711 §3.4).
pub(crate) const SRTCP_INDEX_LEN: usize = 4;
/// The E flag in the SRTCP index word: the packet is encrypted.
pub(crate) const SRTCP_E_FLAG: u32 = 0x8000_0000;
/// The fixed RTCP header (V/P/RC, PT, length) and sender SSRC that stay in clear.
pub(crate) const RTCP_HEADER_LEN: usize = 8;
const GCM_TAG_LEN: usize = 16;

/// The keyed transform of one context, for both SRTP and SRTCP.
pub(crate) enum Transform {
    AesCm(Box<AesCm>),
    Gcm(Box<Gcm>),
}

impl Transform {
    pub(crate) fn new(
        profile: SrtpProfile,
        master_key: &[u8],
        master_salt: &[u8],
    ) -> Result<Self, Error> {
        let rtp = SessionKeys::derive(profile, master_key, master_salt, false)?;
        let rtcp = SessionKeys::derive(profile, master_key, master_salt, true)?;
        Self::from_session_keys(profile, &rtp, &rtcp)
    }

    pub(crate) fn from_session_keys(
        profile: SrtpProfile,
        rtp: &SessionKeys,
        rtcp: &SessionKeys,
    ) -> Result<Self, Error> {
        if profile.is_aead() {
            Ok(Transform::Gcm(Box::new(Gcm {
                rtp: GcmKeys::new(profile, rtp)?,
                rtcp: GcmKeys::new(profile, rtcp)?,
            })))
        } else {
            Ok(Transform::AesCm(Box::new(AesCm {
                rtp: CmKeys::new(rtp)?,
                rtcp: CmKeys::new(rtcp)?,
                rtp_tag_len: profile.rtp_auth_tag_len(),
                rtcp_tag_len: profile.rtcp_auth_tag_len(),
            })))
        }
    }

    /// Encrypts `buf[header_len..len]` and writes the tag at `buf[len..]`; the caller has
    /// checked that `buf` has room for it. Returns the protected length.
    pub(crate) fn protect_rtp(
        &self,
        buf: &mut [u8],
        header_len: usize,
        len: usize,
        ssrc: u32,
        index: u64,
    ) -> Result<usize, Error> {
        match self {
            Transform::AesCm(t) => t.protect_rtp(buf, header_len, len, ssrc, index),
            Transform::Gcm(t) => t.protect_rtp(buf, header_len, len, ssrc, index),
        }
    }

    /// Verifies the tag of `buf` (the whole SRTP packet) for `index`, then decrypts in
    /// place. Returns the plaintext length. On failure nothing is decrypted (AES-CM) or
    /// the payload bytes are left unspecified (GCM, which ring zeroes).
    pub(crate) fn unprotect_rtp(
        &self,
        buf: &mut [u8],
        header_len: usize,
        ssrc: u32,
        index: u64,
    ) -> Result<usize, Error> {
        match self {
            Transform::AesCm(t) => t.unprotect_rtp(buf, header_len, ssrc, index),
            Transform::Gcm(t) => t.unprotect_rtp(buf, header_len, ssrc, index),
        }
    }

    /// Encrypts `buf[8..len]`, appends `E || index` and the tag (RFC 3711 §3.4, RFC 7714
    /// §9). The caller has checked room and lengths. Returns the protected length.
    pub(crate) fn protect_rtcp(
        &self,
        buf: &mut [u8],
        len: usize,
        ssrc: u32,
        index: u32,
    ) -> Result<usize, Error> {
        match self {
            Transform::AesCm(t) => t.protect_rtcp(buf, len, ssrc, index),
            Transform::Gcm(t) => t.protect_rtcp(buf, len, ssrc, index),
        }
    }

    /// Verifies and (when `E` is set) decrypts a whole SRTCP packet whose `E || index`
    /// word the caller has read as `e_index`. Returns the RTCP length.
    pub(crate) fn unprotect_rtcp(
        &self,
        buf: &mut [u8],
        ssrc: u32,
        e_index: u32,
    ) -> Result<usize, Error> {
        match self {
            Transform::AesCm(t) => t.unprotect_rtcp(buf, ssrc, e_index),
            Transform::Gcm(t) => t.unprotect_rtcp(buf, ssrc, e_index),
        }
    }
}

// ---------------------------------------------------------------------------------------
// AES-CM + HMAC-SHA1

pub(crate) struct AesCm {
    rtp: CmKeys,
    rtcp: CmKeys,
    rtp_tag_len: usize,
    rtcp_tag_len: usize,
}

struct CmKeys {
    aes: Aes128Enc,
    salt: [u8; 14],
    /// HMAC keyed once; cloned per packet so the key's inner and outer blocks are not
    /// hashed again.
    hmac: Hmac<Sha1>,
}

impl CmKeys {
    fn new(keys: &SessionKeys) -> Result<Self, Error> {
        let enc = keys.enc.get(..keys.enc_len).unwrap_or_default();
        let aes = Aes128Enc::new_from_slice(enc).map_err(|_| Error::InvalidKeyLength {
            expected: 16,
            actual: keys.enc_len,
        })?;
        let hmac = <Hmac<Sha1> as KeyInit>::new_from_slice(&keys.auth).map_err(|_| {
            Error::InvalidKeyLength {
                expected: 20,
                actual: keys.auth.len(),
            }
        })?;
        Ok(CmKeys {
            aes,
            salt: keys.salt,
            hmac,
        })
    }

    /// XORs the AES-CM keystream for (`ssrc`, `index`) into `data` (RFC 3711 §4.1.1):
    /// `IV = (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16)`.
    fn apply_keystream(&self, ssrc: u32, index: u64, data: &mut [u8]) -> Result<(), Error> {
        let mut iv = [0u8; 16];
        iv[..14].copy_from_slice(&self.salt);
        for (b, s) in iv[4..8].iter_mut().zip(ssrc.to_be_bytes()) {
            *b ^= s;
        }
        for (b, s) in iv[8..14].iter_mut().zip(&index.to_be_bytes()[2..]) {
            *b ^= s;
        }
        let core = ctr::CtrCore::<&Aes128Enc, ctr::flavors::Ctr128BE>::inner_iv_init(
            &self.aes,
            &iv.into(),
        );
        StreamCipherCoreWrapper::from_core(core)
            .try_apply_keystream(data)
            // The 16-bit block counter cannot run out below 1 MiB; a packet that long
            // is refused rather than panicking.
            .map_err(|_| Error::TooShort)
    }

    /// HMAC-SHA1 over `a || b` (RFC 3711 §4.2.1), full 20 bytes.
    fn tag(&self, a: &[u8], b: &[u8]) -> [u8; 20] {
        let mut mac = self.hmac.clone();
        mac.update(a);
        mac.update(b);
        mac.finalize().into_bytes().into()
    }
}

impl AesCm {
    fn protect_rtp(
        &self,
        buf: &mut [u8],
        header_len: usize,
        len: usize,
        ssrc: u32,
        index: u64,
    ) -> Result<usize, Error> {
        let tag_len = self.rtp_tag_len;
        let payload = buf.get_mut(header_len..len).ok_or(Error::TooShort)?;
        self.rtp.apply_keystream(ssrc, index, payload)?;
        let roc = ((index >> 16) as u32).to_be_bytes();
        let authenticated = buf.get(..len).ok_or(Error::TooShort)?;
        let tag = self.rtp.tag(authenticated, &roc);
        let out = buf.get_mut(len..len + tag_len).ok_or(Error::TooShort)?;
        out.copy_from_slice(tag.get(..tag_len).ok_or(Error::TooShort)?);
        Ok(len + tag_len)
    }

    fn unprotect_rtp(
        &self,
        buf: &mut [u8],
        header_len: usize,
        ssrc: u32,
        index: u64,
    ) -> Result<usize, Error> {
        let tag_len = self.rtp_tag_len;
        let len = buf.len().checked_sub(tag_len).ok_or(Error::TooShort)?;
        let (authenticated, received) = buf.split_at(len);
        let roc = ((index >> 16) as u32).to_be_bytes();
        let expected = self.rtp.tag(authenticated, &roc);
        let expected = expected.get(..tag_len).ok_or(Error::TooShort)?;
        if !bool::from(expected.ct_eq(received)) {
            return Err(Error::AuthenticationFailed);
        }
        let payload = buf.get_mut(header_len..len).ok_or(Error::TooShort)?;
        self.rtp.apply_keystream(ssrc, index, payload)?;
        Ok(len)
    }

    fn protect_rtcp(
        &self,
        buf: &mut [u8],
        len: usize,
        ssrc: u32,
        index: u32,
    ) -> Result<usize, Error> {
        let tag_len = self.rtcp_tag_len;
        let payload = buf.get_mut(RTCP_HEADER_LEN..len).ok_or(Error::TooShort)?;
        self.rtcp.apply_keystream(ssrc, u64::from(index), payload)?;
        let e_index = (SRTCP_E_FLAG | index).to_be_bytes();
        buf.get_mut(len..len + SRTCP_INDEX_LEN)
            .ok_or(Error::TooShort)?
            .copy_from_slice(&e_index);
        let auth_end = len + SRTCP_INDEX_LEN;
        let tag = self
            .rtcp
            .tag(buf.get(..auth_end).ok_or(Error::TooShort)?, &[]);
        buf.get_mut(auth_end..auth_end + tag_len)
            .ok_or(Error::TooShort)?
            .copy_from_slice(tag.get(..tag_len).ok_or(Error::TooShort)?);
        Ok(auth_end + tag_len)
    }

    fn unprotect_rtcp(&self, buf: &mut [u8], ssrc: u32, e_index: u32) -> Result<usize, Error> {
        let tag_len = self.rtcp_tag_len;
        let auth_end = buf.len().checked_sub(tag_len).ok_or(Error::TooShort)?;
        let (authenticated, received) = buf.split_at(auth_end);
        let expected = self.rtcp.tag(authenticated, &[]);
        let expected = expected.get(..tag_len).ok_or(Error::TooShort)?;
        if !bool::from(expected.ct_eq(received)) {
            return Err(Error::AuthenticationFailed);
        }
        let len = auth_end
            .checked_sub(SRTCP_INDEX_LEN)
            .ok_or(Error::TooShort)?;
        if e_index & SRTCP_E_FLAG != 0 {
            let payload = buf.get_mut(RTCP_HEADER_LEN..len).ok_or(Error::TooShort)?;
            self.rtcp
                .apply_keystream(ssrc, u64::from(e_index & !SRTCP_E_FLAG), payload)?;
        }
        Ok(len)
    }
}

// ---------------------------------------------------------------------------------------
// AEAD AES-GCM (RFC 7714)

pub(crate) struct Gcm {
    rtp: GcmKeys,
    rtcp: GcmKeys,
}

struct GcmKeys {
    key: LessSafeKey,
    salt: [u8; 12],
}

impl GcmKeys {
    fn new(profile: SrtpProfile, keys: &SessionKeys) -> Result<Self, Error> {
        let alg = if profile == SrtpProfile::AeadAes256Gcm {
            &aead::AES_256_GCM
        } else {
            &aead::AES_128_GCM
        };
        let enc = keys.enc.get(..keys.enc_len).unwrap_or_default();
        let key = UnboundKey::new(alg, enc).map_err(|_| Error::InvalidKeyLength {
            expected: alg.key_len(),
            actual: keys.enc_len,
        })?;
        let mut salt = [0u8; 12];
        salt.copy_from_slice(&keys.salt[..12]);
        Ok(GcmKeys {
            key: LessSafeKey::new(key),
            salt,
        })
    }

    /// The 12-byte IV: `00 00 || SSRC || word || low` XOR salt, where for SRTP `word` is
    /// the ROC and `low` the sequence number (RFC 7714 §8.1), and for SRTCP `word` is
    /// zero and `low` the 31-bit SRTCP index in 4 bytes (§9.1).
    fn nonce(&self, ssrc: u32, tail: u64) -> Nonce {
        let mut iv = [0u8; 12];
        iv[2..6].copy_from_slice(&ssrc.to_be_bytes());
        iv[6..12].copy_from_slice(&tail.to_be_bytes()[2..]);
        for (b, s) in iv.iter_mut().zip(self.salt) {
            *b ^= s;
        }
        Nonce::assume_unique_for_key(iv)
    }
}

impl Gcm {
    fn protect_rtp(
        &self,
        buf: &mut [u8],
        header_len: usize,
        len: usize,
        ssrc: u32,
        index: u64,
    ) -> Result<usize, Error> {
        let (header, rest) = buf.split_at_mut(header_len);
        let payload_len = len.checked_sub(header_len).ok_or(Error::TooShort)?;
        let (payload, rest) = rest.split_at_mut(payload_len);
        // The 48-bit index is ROC || SEQ, exactly the last six bytes of the IV.
        let tag = self
            .rtp
            .key
            .seal_in_place_separate_tag(self.rtp.nonce(ssrc, index), Aad::from(&*header), payload)
            .map_err(|_| Error::TooShort)?;
        rest.get_mut(..GCM_TAG_LEN)
            .ok_or(Error::TooShort)?
            .copy_from_slice(tag.as_ref());
        Ok(len + GCM_TAG_LEN)
    }

    fn unprotect_rtp(
        &self,
        buf: &mut [u8],
        header_len: usize,
        ssrc: u32,
        index: u64,
    ) -> Result<usize, Error> {
        let len = buf.len().checked_sub(GCM_TAG_LEN).ok_or(Error::TooShort)?;
        if header_len > len {
            return Err(Error::TooShort);
        }
        let (header, sealed) = buf.split_at_mut(header_len);
        self.rtp
            .key
            .open_in_place(self.rtp.nonce(ssrc, index), Aad::from(&*header), sealed)
            .map_err(|_| Error::AuthenticationFailed)?;
        Ok(len)
    }

    fn protect_rtcp(
        &self,
        buf: &mut [u8],
        len: usize,
        ssrc: u32,
        index: u32,
    ) -> Result<usize, Error> {
        let e_index = (SRTCP_E_FLAG | index).to_be_bytes();
        // AAD = the 8 clear header bytes || E || SRTCP index (RFC 7714 §9.2).
        let mut aad = [0u8; RTCP_HEADER_LEN + SRTCP_INDEX_LEN];
        aad[..RTCP_HEADER_LEN].copy_from_slice(buf.get(..RTCP_HEADER_LEN).ok_or(Error::TooShort)?);
        aad[RTCP_HEADER_LEN..].copy_from_slice(&e_index);
        let payload = buf.get_mut(RTCP_HEADER_LEN..len).ok_or(Error::TooShort)?;
        let tag = self
            .rtcp
            .key
            .seal_in_place_separate_tag(
                self.rtcp.nonce(ssrc, u64::from(index)),
                Aad::from(aad),
                payload,
            )
            .map_err(|_| Error::TooShort)?;
        buf.get_mut(len..len + GCM_TAG_LEN)
            .ok_or(Error::TooShort)?
            .copy_from_slice(tag.as_ref());
        let end = len + GCM_TAG_LEN;
        buf.get_mut(end..end + SRTCP_INDEX_LEN)
            .ok_or(Error::TooShort)?
            .copy_from_slice(&e_index);
        Ok(end + SRTCP_INDEX_LEN)
    }

    fn unprotect_rtcp(&self, buf: &mut [u8], ssrc: u32, e_index: u32) -> Result<usize, Error> {
        let sealed_end = buf
            .len()
            .checked_sub(SRTCP_INDEX_LEN)
            .ok_or(Error::TooShort)?;
        let len = sealed_end.checked_sub(GCM_TAG_LEN).ok_or(Error::TooShort)?;
        if len < RTCP_HEADER_LEN {
            return Err(Error::TooShort);
        }
        let nonce = self.rtcp.nonce(ssrc, u64::from(e_index & !SRTCP_E_FLAG));
        let e_index_bytes = e_index.to_be_bytes();
        if e_index & SRTCP_E_FLAG != 0 {
            let mut aad = [0u8; RTCP_HEADER_LEN + SRTCP_INDEX_LEN];
            aad[..RTCP_HEADER_LEN]
                .copy_from_slice(buf.get(..RTCP_HEADER_LEN).ok_or(Error::TooShort)?);
            aad[RTCP_HEADER_LEN..].copy_from_slice(&e_index_bytes);
            let sealed = buf
                .get_mut(RTCP_HEADER_LEN..sealed_end)
                .ok_or(Error::TooShort)?;
            self.rtcp
                .key
                .open_in_place(nonce, Aad::from(aad), sealed)
                .map_err(|_| Error::AuthenticationFailed)?;
        } else {
            // Authentication only (RFC 7714 §9.3): AAD = the whole RTCP packet || E ||
            // index, the tag alone is the "ciphertext". Swap tag and index word so the
            // AAD is contiguous; the buffer's trailer is unspecified afterwards.
            let mut tag = [0u8; GCM_TAG_LEN];
            tag.copy_from_slice(buf.get(len..sealed_end).ok_or(Error::TooShort)?);
            buf.get_mut(len..len + SRTCP_INDEX_LEN)
                .ok_or(Error::TooShort)?
                .copy_from_slice(&e_index_bytes);
            let aad_end = len + SRTCP_INDEX_LEN;
            buf.get_mut(aad_end..aad_end + GCM_TAG_LEN)
                .ok_or(Error::TooShort)?
                .copy_from_slice(&tag);
            let (aad, sealed) = buf.split_at_mut(aad_end);
            self.rtcp
                .key
                .open_in_place(nonce, Aad::from(&*aad), sealed)
                .map_err(|_| Error::AuthenticationFailed)?;
        }
        Ok(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kdf::SessionKeys;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.replace([' ', '\n'], "")).unwrap()
    }

    fn session_keys(enc: &[u8], salt: &[u8]) -> SessionKeys {
        let mut k = SessionKeys {
            enc: [0; 32],
            enc_len: enc.len(),
            auth: [0; 20],
            salt: [0; 14],
        };
        k.enc[..enc.len()].copy_from_slice(enc);
        k.salt[..salt.len()].copy_from_slice(salt);
        k
    }

    /// RFC 3711 Appendix B.2: AES-CM keystream for session key 2B7E...3C, salt
    /// F0F1...FD, SSRC 0 and index 0.
    #[test]
    fn rfc3711_b2_keystream() {
        let keys = session_keys(
            &h("2B7E151628AED2A6ABF7158809CF4F3C"),
            &h("F0F1F2F3F4F5F6F7F8F9FAFBFCFD"),
        );
        let cm = CmKeys::new(&keys).unwrap();
        let mut stream = vec![0u8; 16 * 0xff02];
        cm.apply_keystream(0, 0, &mut stream).unwrap();
        let block = |i: usize| stream[i * 16..i * 16 + 16].to_vec();
        assert_eq!(block(0x0000), h("E03EAD0935C95E80E166B16DD92B4EB4"));
        assert_eq!(block(0x0001), h("D23513162B02D0F72A43A2FE4A5F97AB"));
        assert_eq!(block(0x0002), h("41E95B3BB0A2E8DD477901E4FCA894C0"));
        assert_eq!(block(0xfeff), h("EC8CDF7398607CB0F2D21675EA9EA1E4"));
        assert_eq!(block(0xff00), h("362B7C3C6773516318A077D7FC5073AE"));
        assert_eq!(block(0xff01), h("6A2CC3787889374FBEB4C81B17BA6C44"));
    }

    // RFC 7714 §16 and §17: session key 000102...(0f or 1f), salt 517569642070726f2071756f
    // ("Quid pro quo"), used directly as session keys.
    const RFC7714_RTP: &str = "8040f17b8041f8d35501a0b2\
        47616c6c696120657374206f6d6e697320646976697361\
        20696e207061727465732074726573";
    const RFC7714_RTP_128: &str = "8040f17b8041f8d35501a0b2\
        f24de3a3fb34de6cacba861c9d7e4bcabe633bd50d294e6f42a5f47a51c7d19b36de3adf8833899d\
        7f27beb16a9152cf765ee4390cce";
    const RFC7714_RTP_256: &str = "8040f17b8041f8d35501a0b2\
        32b1de78a822fe12ef9f78fa332e33aab18012389a58e2f3b50b2a0276ffae0f1ba63799b87b7aa3\
        db36dfffd6b0f9bb7878d7a76c13";
    const RFC7714_RTCP: &str = "81c8000d4d617273\
        4e5450314e545032525450200000042a0000e9304c756e61\
        deadbeefdeadbeefdeadbeefdeadbeefdeadbeef";
    const RFC7714_SRTCP_128: &str = "81c8000d4d617273\
        63e94885dcdab67ca727d7662f6b7e997ff5c0f76c06f32dc676a5f1730d6fda4ce09b4686303ded\
        0bb9275bc84aa45896cf4d2fc5abf87245d9eade800005d4";
    const RFC7714_SRTCP_256: &str = "81c8000d4d617273\
        d50ae4d1f5ce5d304ba297e47d470c282c3ece5dbffe0a50a2eaa5c1110555be8415f658c61de047\
        6f1b6fad1d1eb30c4446839f57ff6f6cb26ac3be800005d4";
    /// §17.2-style authentication-only SRTCP (E = 0) with AES-128.
    const RFC7714_SRTCP_128_AUTH_ONLY: &str = "81c8000d4d617273\
        4e5450314e545032525450200000042a0000e9304c756e61\
        deadbeefdeadbeefdeadbeefdeadbeefdeadbeef\
        841dd9683dd78ec92ae58790125f62b3000005d4";

    fn rfc7714_transform(profile: SrtpProfile) -> Transform {
        let key: Vec<u8> = (0..profile.master_key_len() as u8).collect();
        let keys = session_keys(&key, &h("517569642070726f2071756f"));
        let keys2 = session_keys(&key, &h("517569642070726f2071756f"));
        Transform::from_session_keys(profile, &keys, &keys2).unwrap()
    }

    #[test]
    fn rfc7714_srtp_vectors() {
        for (profile, expected) in [
            (SrtpProfile::AeadAes128Gcm, RFC7714_RTP_128),
            (SrtpProfile::AeadAes256Gcm, RFC7714_RTP_256),
        ] {
            let t = rfc7714_transform(profile);
            let plain = h(RFC7714_RTP);
            let mut buf = plain.clone();
            buf.resize(plain.len() + 16, 0);
            // SSRC 0x5501a0b2, ROC 0, SEQ 0xf17b.
            let n = t
                .protect_rtp(&mut buf, 12, plain.len(), 0x5501_a0b2, 0xf17b)
                .unwrap();
            assert_eq!(buf[..n].to_vec(), h(expected), "{profile}");
            let m = t.unprotect_rtp(&mut buf, 12, 0x5501_a0b2, 0xf17b).unwrap();
            assert_eq!(buf[..m].to_vec(), plain);
            // Any other index (a wrong ROC guess) fails.
            let mut buf = h(expected);
            assert_eq!(
                t.unprotect_rtp(&mut buf, 12, 0x5501_a0b2, 0x1_f17b),
                Err(Error::AuthenticationFailed)
            );
        }
    }

    #[test]
    fn rfc7714_srtcp_vectors() {
        for (profile, expected) in [
            (SrtpProfile::AeadAes128Gcm, RFC7714_SRTCP_128),
            (SrtpProfile::AeadAes256Gcm, RFC7714_SRTCP_256),
        ] {
            let t = rfc7714_transform(profile);
            let plain = h(RFC7714_RTCP);
            let mut buf = plain.clone();
            buf.resize(plain.len() + 20, 0);
            let n = t
                .protect_rtcp(&mut buf, plain.len(), 0x4d61_7273, 0x5d4)
                .unwrap();
            assert_eq!(buf[..n].to_vec(), h(expected), "{profile}");
            let m = t
                .unprotect_rtcp(&mut buf, 0x4d61_7273, 0x8000_05d4)
                .unwrap();
            assert_eq!(buf[..m].to_vec(), plain);
        }
    }

    #[test]
    fn rfc7714_srtcp_authentication_only() {
        let t = rfc7714_transform(SrtpProfile::AeadAes128Gcm);
        let mut buf = h(RFC7714_SRTCP_128_AUTH_ONLY);
        let m = t.unprotect_rtcp(&mut buf, 0x4d61_7273, 0x5d4).unwrap();
        assert_eq!(buf[..m].to_vec(), h(RFC7714_RTCP));
        // A flipped bit in the clear RTCP body fails.
        let mut buf = h(RFC7714_SRTCP_128_AUTH_ONLY);
        buf[20] ^= 1;
        assert_eq!(
            t.unprotect_rtcp(&mut buf, 0x4d61_7273, 0x5d4),
            Err(Error::AuthenticationFailed)
        );
    }

    #[test]
    fn aes_cm_rejects_a_modified_packet_without_decrypting() {
        let keys = session_keys(&[7; 16], &[9; 14]);
        let t =
            Transform::from_session_keys(SrtpProfile::Aes128CmHmacSha1_80, &keys, &keys).unwrap();
        let plain: Vec<u8> = (0..40).collect();
        let mut buf = plain.clone();
        buf.resize(50, 0);
        let n = t.protect_rtp(&mut buf, 12, 40, 1, 5).unwrap();
        assert_eq!(n, 50);
        let protected = buf.clone();
        buf[20] ^= 0x80;
        assert_eq!(
            t.unprotect_rtp(&mut buf, 12, 1, 5),
            Err(Error::AuthenticationFailed)
        );
        // The ciphertext is untouched: nothing was decrypted.
        assert_eq!(buf[..20], protected[..20]);
        assert_eq!(buf[21..], protected[21..]);
    }
}
