//! Hello extensions (RFC 5246 §7.4.1.4) this crate speaks.

use super::codepoints::codepoint;
use super::{NamedGroup, Reader, SignatureScheme, Writer};
use crate::Error;

codepoint! {
    /// `ExtensionType` (IANA TLS ExtensionType registry).
    ExtensionType(u16) {
        /// supported_groups(10), RFC 8422 §5.1.1
        SUPPORTED_GROUPS = 10,
        /// ec_point_formats(11), RFC 8422 §5.1.2
        EC_POINT_FORMATS = 11,
        /// signature_algorithms(13), RFC 5246 §7.4.1.4.1
        SIGNATURE_ALGORITHMS = 13,
        /// use_srtp(14), RFC 5764 §4.1.1
        USE_SRTP = 14,
        /// extended_master_secret(23), RFC 7627 §5.1
        EXTENDED_MASTER_SECRET = 23,
        /// renegotiation_info(65281), RFC 5746 §3.2
        RENEGOTIATION_INFO = 0xff01,
    }
}

/// One hello extension, typed where this crate uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Extension {
    /// `NamedGroup named_group_list<2..2^16-1>` (RFC 8422 §5.1.1).
    SupportedGroups(Vec<NamedGroup>),
    /// `ECPointFormat ec_point_format_list<1..2^8-1>` (RFC 8422 §5.1.2); 0 is uncompressed.
    EcPointFormats(Vec<u8>),
    /// `SignatureAndHashAlgorithm supported_signature_algorithms<2..2^16-2>`
    /// (RFC 5246 §7.4.1.4.1).
    SignatureAlgorithms(Vec<SignatureScheme>),
    /// `UseSRTPData` (RFC 5764 §4.1.1): protection profile ids and the MKI.
    UseSrtp {
        /// `SRTPProtectionProfile SRTPProtectionProfiles<2..2^16-1>`, raw ids.
        profiles: Vec<u16>,
        /// `opaque srtp_mki<0..255>`
        mki: Vec<u8>,
    },
    /// extended_master_secret, empty (RFC 7627 §5.1).
    ExtendedMasterSecret,
    /// `opaque renegotiated_connection<0..255>` (RFC 5746 §3.2); empty on a first handshake.
    RenegotiationInfo(Vec<u8>),
    /// Any other extension, kept verbatim.
    Unknown {
        /// Its type.
        extension_type: ExtensionType,
        /// Its `extension_data`.
        data: Vec<u8>,
    },
}

impl Extension {
    /// The extension's type code.
    pub fn extension_type(&self) -> ExtensionType {
        match self {
            Extension::SupportedGroups(_) => ExtensionType::SUPPORTED_GROUPS,
            Extension::EcPointFormats(_) => ExtensionType::EC_POINT_FORMATS,
            Extension::SignatureAlgorithms(_) => ExtensionType::SIGNATURE_ALGORITHMS,
            Extension::UseSrtp { .. } => ExtensionType::USE_SRTP,
            Extension::ExtendedMasterSecret => ExtensionType::EXTENDED_MASTER_SECRET,
            Extension::RenegotiationInfo(_) => ExtensionType::RENEGOTIATION_INFO,
            Extension::Unknown { extension_type, .. } => *extension_type,
        }
    }

    /// Parses one extension's `extension_data` given its type.
    ///
    /// # Errors
    /// [`Error::Truncated`] / [`Error::Malformed`] if the data does not match the type.
    pub fn parse(extension_type: ExtensionType, data: &[u8]) -> Result<Extension, Error> {
        let mut r = Reader::new(data, "extension");
        let ext = match extension_type {
            ExtensionType::SUPPORTED_GROUPS => {
                Extension::SupportedGroups(u16_list(r.vec16()?)?.map(NamedGroup).collect())
            }
            ExtensionType::EC_POINT_FORMATS => Extension::EcPointFormats(r.vec8()?.to_vec()),
            ExtensionType::SIGNATURE_ALGORITHMS => {
                Extension::SignatureAlgorithms(u16_list(r.vec16()?)?.map(SignatureScheme).collect())
            }
            ExtensionType::USE_SRTP => Extension::UseSrtp {
                profiles: u16_list(r.vec16()?)?.collect(),
                mki: r.vec8()?.to_vec(),
            },
            ExtensionType::EXTENDED_MASTER_SECRET => Extension::ExtendedMasterSecret,
            ExtensionType::RENEGOTIATION_INFO => Extension::RenegotiationInfo(r.vec8()?.to_vec()),
            _ => Extension::Unknown {
                extension_type,
                data: r.rest().to_vec(),
            },
        };
        r.finish()?;
        Ok(ext)
    }

    /// Appends type, length and data to `out`.
    ///
    /// # Errors
    /// [`Error::TooLong`] if a list exceeds its length prefix.
    pub fn write(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        self.write_to(&mut Writer::new(out))
    }

    pub(crate) fn write_to(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        w.u16(self.extension_type().0);
        w.prefixed(2, |w| match self {
            Extension::SupportedGroups(g) => w.prefixed(2, |w| {
                g.iter().for_each(|g| w.u16(g.0));
                Ok(())
            }),
            Extension::EcPointFormats(f) => w.vec8(f),
            Extension::SignatureAlgorithms(s) => w.prefixed(2, |w| {
                s.iter().for_each(|s| w.u16(s.0));
                Ok(())
            }),
            Extension::UseSrtp { profiles, mki } => {
                w.prefixed(2, |w| {
                    profiles.iter().for_each(|p| w.u16(*p));
                    Ok(())
                })?;
                w.vec8(mki)
            }
            Extension::ExtendedMasterSecret => Ok(()),
            Extension::RenegotiationInfo(v) => w.vec8(v),
            Extension::Unknown { data, .. } => {
                w.bytes(data);
                Ok(())
            }
        })
    }
}

/// Parses `Extension extensions<0..2^16-1>`, the tail of a hello; empty input means none.
pub(crate) fn parse_extensions(r: &mut Reader<'_>) -> Result<Vec<Extension>, Error> {
    if r.is_empty() {
        return Ok(Vec::new());
    }
    let mut block = Reader::new(r.vec16()?, "extensions");
    let mut out = Vec::new();
    while !block.is_empty() {
        let t = ExtensionType(block.u16()?);
        let data = block.vec16()?;
        let ext = Extension::parse(t, data)?;
        // RFC 5246 §7.4.1.4: at most one extension of each type.
        if out.iter().any(|e: &Extension| e.extension_type() == t) {
            return Err(Error::Malformed("duplicate extension"));
        }
        out.push(ext);
    }
    Ok(out)
}

/// Writes the extensions block, or nothing at all when there are no extensions.
pub(crate) fn write_extensions(w: &mut Writer<'_>, exts: &[Extension]) -> Result<(), Error> {
    if exts.is_empty() {
        return Ok(());
    }
    w.prefixed(2, |w| exts.iter().try_for_each(|e| e.write_to(w)))
}

fn u16_list(b: &[u8]) -> Result<impl Iterator<Item = u16> + '_, Error> {
    if b.len() % 2 != 0 {
        return Err(Error::Malformed("odd u16 list"));
    }
    Ok(b.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn use_srtp_from_rfc_5764_layout() {
        // SRTP_AES128_CM_HMAC_SHA1_80 and _32, no MKI.
        let data = [0x00, 0x04, 0x00, 0x01, 0x00, 0x02, 0x00];
        let e = Extension::parse(ExtensionType::USE_SRTP, &data).unwrap();
        assert_eq!(
            e,
            Extension::UseSrtp {
                profiles: vec![1, 2],
                mki: vec![]
            }
        );
        let mut out = Vec::new();
        e.write(&mut out).unwrap();
        assert_eq!(&out[4..], &data);
        assert_eq!(&out[..4], &[0, 14, 0, 7]);
    }

    #[test]
    fn malformed_extension_data() {
        assert!(Extension::parse(ExtensionType::SUPPORTED_GROUPS, &[0, 3, 0, 23, 0]).is_err());
        assert!(Extension::parse(ExtensionType::EXTENDED_MASTER_SECRET, &[0]).is_err());
        assert!(Extension::parse(ExtensionType::RENEGOTIATION_INFO, &[]).is_err());
        let dup = [0, 8, 0, 23, 0, 0, 0, 23, 0, 0];
        assert!(parse_extensions(&mut Reader::new(&dup, "t")).is_err());
    }
}
