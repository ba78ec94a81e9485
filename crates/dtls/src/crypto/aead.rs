//! AEAD record protection: AES-GCM with an 8-byte explicit nonce (RFC 5288 §3) and
//! ChaCha20-Poly1305 with an XORed implicit nonce (RFC 7905 §2), DTLS additional data
//! (RFC 6347 §4.1.2.1).

use super::SuiteParams;
use crate::wire::{ContentType, ProtocolVersion, RecordHeader};
use crate::Error;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, NONCE_LEN};
use std::ops::Range;

/// One direction's record protection for one epoch.
pub(crate) struct RecordCipher {
    key: LessSafeKey,
    /// GCM: the 4-byte salt then zeros; ChaCha20: the 12-byte IV.
    iv: [u8; NONCE_LEN],
    explicit: bool,
    tag_len: usize,
}

impl std::fmt::Debug for RecordCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordCipher").finish_non_exhaustive()
    }
}

/// DTLS 1.2 AEAD additional data: `seq_num(8) + type + version + length` (13 bytes).
fn aad(epoch_seq: u64, ct: ContentType, version: ProtocolVersion, len: usize) -> [u8; 13] {
    let mut a = [0u8; 13];
    a[..8].copy_from_slice(&epoch_seq.to_be_bytes());
    a[8] = ct.0;
    a[9..11].copy_from_slice(&version.0.to_be_bytes());
    a[11..13].copy_from_slice(&(len as u16).to_be_bytes());
    a
}

impl RecordCipher {
    /// Builds the cipher from a write key and its fixed IV (from the key block).
    pub(crate) fn new(params: &SuiteParams, key: &[u8], iv: &[u8]) -> Result<Self, Error> {
        let key = LessSafeKey::new(UnboundKey::new(params.aead, key)?);
        let mut full = [0u8; NONCE_LEN];
        full.get_mut(..iv.len())
            .ok_or(Error::Crypto)?
            .copy_from_slice(iv);
        Ok(RecordCipher {
            key,
            iv: full,
            explicit: params.explicit_nonce_len > 0,
            tag_len: params.aead.tag_len(),
        })
    }

    fn nonce(&self, epoch_seq: u64) -> Nonce {
        let mut n = self.iv;
        let seq = epoch_seq.to_be_bytes();
        if self.explicit {
            n[4..].copy_from_slice(&seq);
        } else {
            n[4..].iter_mut().zip(seq).for_each(|(a, b)| *a ^= b);
        }
        Nonce::assume_unique_for_key(n)
    }

    /// Bytes added to a plaintext.
    pub(crate) fn overhead(&self) -> usize {
        self.tag_len + if self.explicit { 8 } else { 0 }
    }

    /// Appends a protected record (header, explicit nonce, ciphertext, tag) to `out`.
    pub(crate) fn seal(
        &self,
        header: RecordHeader,
        plaintext: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        let epoch_seq = header.epoch_sequence();
        let length =
            u16::try_from(plaintext.len() + self.overhead()).map_err(|_| Error::TooLong)?;
        RecordHeader { length, ..header }.write(out)?;
        if self.explicit {
            out.extend_from_slice(&epoch_seq.to_be_bytes());
        }
        let start = out.len();
        out.extend_from_slice(plaintext);
        let aad = aad(
            epoch_seq,
            header.content_type,
            header.version,
            plaintext.len(),
        );
        let tag = self.key.seal_in_place_separate_tag(
            self.nonce(epoch_seq),
            Aad::from(aad),
            out.get_mut(start..).ok_or(Error::Crypto)?,
        )?;
        out.extend_from_slice(tag.as_ref());
        Ok(())
    }

    /// Authenticates and decrypts a record's fragment in place; returns where the
    /// plaintext lies within `fragment` (after the explicit nonce, before the tag).
    ///
    /// # Errors
    /// [`Error::BadRecordMac`] if the fragment is too short or fails authentication; the
    /// fragment's bytes are then unspecified.
    pub(crate) fn open_in_place(
        &self,
        header: &RecordHeader,
        fragment: &mut [u8],
    ) -> Result<Range<usize>, Error> {
        let epoch_seq = header.epoch_sequence();
        let (nonce, start) = if self.explicit {
            // The explicit nonce is whatever the sender put there (RFC 5288 §3).
            let mut n = self.iv;
            n[4..].copy_from_slice(fragment.get(..8).ok_or(Error::BadRecordMac)?);
            (Nonce::assume_unique_for_key(n), 8)
        } else {
            (self.nonce(epoch_seq), 0)
        };
        let body = fragment.get_mut(start..).ok_or(Error::BadRecordMac)?;
        let plain_len = body
            .len()
            .checked_sub(self.tag_len)
            .ok_or(Error::BadRecordMac)?;
        let aad = aad(epoch_seq, header.content_type, header.version, plain_len);
        self.key
            .open_in_place(nonce, Aad::from(aad), body)
            .map_err(|_| Error::BadRecordMac)?;
        Ok(start..start + plain_len)
    }

    /// Authenticates and decrypts a record's fragment into `out` (cleared first).
    ///
    /// # Errors
    /// [`Error::BadRecordMac`] if the fragment is too short or fails authentication.
    pub(crate) fn open(
        &self,
        header: &RecordHeader,
        fragment: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        let epoch_seq = header.epoch_sequence();
        let nonce = if self.explicit {
            // The explicit nonce is whatever the sender put there (RFC 5288 §3).
            let mut n = self.iv;
            n[4..].copy_from_slice(fragment.get(..8).ok_or(Error::BadRecordMac)?);
            Nonce::assume_unique_for_key(n)
        } else {
            self.nonce(epoch_seq)
        };
        let body = fragment
            .get(if self.explicit { 8 } else { 0 }..)
            .ok_or(Error::BadRecordMac)?;
        let plain_len = body
            .len()
            .checked_sub(self.tag_len)
            .ok_or(Error::BadRecordMac)?;
        let aad = aad(epoch_seq, header.content_type, header.version, plain_len);
        out.clear();
        out.extend_from_slice(body);
        self.key
            .open_in_place(nonce, Aad::from(aad), out)
            .map_err(|_| Error::BadRecordMac)?;
        out.truncate(plain_len);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::suite_params;
    use crate::wire::{CipherSuite, Record, RECORD_HEADER_LEN};

    /// Record header for a protected record to be sealed (its length is filled in by `seal`).
    fn header(ct: ContentType, epoch: u16, seq: u64) -> RecordHeader {
        RecordHeader {
            content_type: ct,
            version: ProtocolVersion::DTLS_1_2,
            epoch,
            sequence_number: seq,
            length: 0,
        }
    }

    fn pair(suite: CipherSuite) -> (RecordCipher, RecordCipher) {
        let p = suite_params(suite).unwrap();
        let key = vec![7u8; p.aead.key_len()];
        let iv = vec![3u8; p.fixed_iv_len];
        (
            RecordCipher::new(p, &key, &iv).unwrap(),
            RecordCipher::new(p, &key, &iv).unwrap(),
        )
    }

    #[test]
    fn seal_open_every_suite_and_tamper() {
        for &suite in crate::crypto::SUPPORTED_CIPHER_SUITES {
            let (tx, rx) = pair(suite);
            let mut wire = Vec::new();
            tx.seal(
                header(ContentType::APPLICATION_DATA, 1, 42),
                b"hello",
                &mut wire,
            )
            .unwrap();
            assert_eq!(wire.len(), RECORD_HEADER_LEN + 5 + tx.overhead());
            let (rec, _) = Record::parse(&wire).unwrap();
            let mut out = Vec::new();
            rx.open(&rec.header, rec.fragment, &mut out).unwrap();
            assert_eq!(out, b"hello");
            // Flip every byte of the fragment in turn: each must fail.
            for i in 0..rec.fragment.len() {
                let mut bad = rec.fragment.to_vec();
                bad[i] ^= 1;
                assert_eq!(
                    rx.open(&rec.header, &bad, &mut out),
                    Err(Error::BadRecordMac)
                );
            }
            // In place: the same plaintext, where the returned range says.
            let mut frag = rec.fragment.to_vec();
            let range = rx.open_in_place(&rec.header, &mut frag).unwrap();
            assert_eq!(&frag[range], b"hello");
            let mut bad = rec.fragment.to_vec();
            bad[0] ^= 0x80;
            assert_eq!(
                rx.open_in_place(&rec.header, &mut bad),
                Err(Error::BadRecordMac)
            );
            assert!(rx.open_in_place(&rec.header, &mut [0u8; 3]).is_err());
            // A different sequence number in the header changes the AAD.
            let mut h = rec.header;
            h.sequence_number += 1;
            assert!(rx.open(&h, rec.fragment, &mut out).is_err());
            assert!(rx.open(&rec.header, &rec.fragment[..3], &mut out).is_err());
        }
    }
}
