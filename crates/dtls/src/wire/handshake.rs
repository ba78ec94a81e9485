//! Handshake messages (RFC 5246 §7.4 with the DTLS changes of RFC 6347 §4.2, §4.3.2).

use super::extension::{parse_extensions, write_extensions};
use super::{
    CipherSuite, Extension, HandshakeType, NamedGroup, ProtocolVersion, Reader, SignatureScheme,
    Writer,
};
use crate::Error;

/// Length of the DTLS handshake header: 12 bytes.
pub const HANDSHAKE_HEADER_LEN: usize = 12;

/// The DTLS handshake header (RFC 6347 §4.2.2).
///
/// ```text
/// struct {
///   HandshakeType msg_type;     // 1 byte
///   uint24 length;              // of the whole message body
///   uint16 message_seq;
///   uint24 fragment_offset;
///   uint24 fragment_length;
/// } // then fragment_length bytes of body
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandshakeHeader {
    /// The message type.
    pub msg_type: HandshakeType,
    /// Length of the complete message body in bytes.
    pub length: u32,
    /// Sequence number of the message in the handshake.
    pub message_seq: u16,
    /// Offset of this fragment within the body.
    pub fragment_offset: u32,
    /// Length of this fragment.
    pub fragment_length: u32,
}

impl HandshakeHeader {
    /// Parses the 12 header bytes.
    ///
    /// # Errors
    /// [`Error::Truncated`] on short input.
    pub fn parse(buf: &[u8]) -> Result<HandshakeHeader, Error> {
        let mut r = Reader::new(buf, "handshake header");
        Ok(HandshakeHeader {
            msg_type: HandshakeType(r.u8()?),
            length: r.u24()?,
            message_seq: r.u16()?,
            fragment_offset: r.u24()?,
            fragment_length: r.u24()?,
        })
    }

    /// Appends the 12 header bytes.
    ///
    /// # Errors
    /// [`Error::TooLong`] if a length or offset exceeds 24 bits.
    pub fn write(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        let mut w = Writer::new(out);
        w.u8(self.msg_type.0);
        w.u24(self.length)?;
        w.u16(self.message_seq);
        w.u24(self.fragment_offset)?;
        w.u24(self.fragment_length)
    }
}

/// One handshake fragment of a record: header and body bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandshakeFragment<'a> {
    /// The header; `header.fragment_length == body.len()`.
    pub header: HandshakeHeader,
    /// The fragment's bytes.
    pub body: &'a [u8],
}

impl<'a> HandshakeFragment<'a> {
    /// Parses one fragment from the front of a handshake record, returning the rest
    /// (a record may carry several, RFC 6347 §4.2.3).
    ///
    /// # Errors
    /// [`Error::Truncated`] if cut short; [`Error::Malformed`] if the fragment does not lie
    /// within the message (`offset + fragment_length > length`).
    pub fn parse(buf: &'a [u8]) -> Result<(HandshakeFragment<'a>, &'a [u8]), Error> {
        let header = HandshakeHeader::parse(buf)?;
        let end = header
            .fragment_offset
            .checked_add(header.fragment_length)
            .ok_or(Error::Malformed("fragment range"))?;
        if end > header.length {
            return Err(Error::Malformed("fragment range"));
        }
        let mut r = Reader::new(
            buf.get(HANDSHAKE_HEADER_LEN..).unwrap_or(&[]),
            "handshake fragment",
        );
        let body = r.bytes(header.fragment_length as usize)?;
        Ok((HandshakeFragment { header, body }, r.rest()))
    }

    /// Appends header and body; the header's fragment_length is taken from the body.
    ///
    /// # Errors
    /// [`Error::TooLong`] if a field exceeds 24 bits.
    pub fn write(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        HandshakeHeader {
            fragment_length: u32::try_from(self.body.len()).map_err(|_| Error::TooLong)?,
            ..self.header
        }
        .write(out)?;
        out.extend_from_slice(self.body);
        Ok(())
    }
}

/// `ClientHello` (RFC 6347 §4.2.1, RFC 5246 §7.4.1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHello {
    /// Highest version the client speaks.
    pub client_version: ProtocolVersion,
    /// 32 random bytes.
    pub random: [u8; 32],
    /// `opaque SessionID<0..32>`
    pub session_id: Vec<u8>,
    /// `opaque cookie<0..2^8-1>`, from a HelloVerifyRequest.
    pub cookie: Vec<u8>,
    /// Offered suites, most preferred first.
    pub cipher_suites: Vec<CipherSuite>,
    /// Offered compression methods; DTLS 1.2 allows only null (0).
    pub compression_methods: Vec<u8>,
    /// Hello extensions.
    pub extensions: Vec<Extension>,
}

/// `ServerHello` (RFC 5246 §7.4.1.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello {
    /// Negotiated version.
    pub server_version: ProtocolVersion,
    /// 32 random bytes.
    pub random: [u8; 32],
    /// `opaque SessionID<0..32>`
    pub session_id: Vec<u8>,
    /// Chosen suite.
    pub cipher_suite: CipherSuite,
    /// Chosen compression method (0).
    pub compression_method: u8,
    /// Hello extensions, answering the client's.
    pub extensions: Vec<Extension>,
}

/// `HelloVerifyRequest` (RFC 6347 §4.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelloVerifyRequest {
    /// DTLS 1.0 per RFC 6347 §4.2.1, whatever version is negotiated later.
    pub server_version: ProtocolVersion,
    /// `opaque cookie<0..2^8-1>`
    pub cookie: Vec<u8>,
}

/// `Certificate` (RFC 5246 §7.4.2): DER certificates, end-entity first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    /// `ASN.1Cert certificate_list<0..2^24-1>`
    pub certificate_list: Vec<Vec<u8>>,
}

/// `ServerKeyExchange` for ECDHE with a named curve (RFC 8422 §5.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerKeyExchange {
    /// `ECParameters.namedcurve` (curve_type named_curve(3) implied).
    pub named_group: NamedGroup,
    /// `ECPoint.point`, the server's ephemeral public value.
    pub public: Vec<u8>,
    /// Signature algorithm of `signature`.
    pub signature_scheme: SignatureScheme,
    /// Signature over client_random + server_random + ServerECDHParams.
    pub signature: Vec<u8>,
}

/// `CertificateRequest` (RFC 5246 §7.4.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRequest {
    /// `ClientCertificateType certificate_types<1..2^8-1>`: rsa_sign(1), ecdsa_sign(64).
    pub certificate_types: Vec<u8>,
    /// `supported_signature_algorithms<2..2^16-2>`
    pub signature_schemes: Vec<SignatureScheme>,
    /// `DistinguishedName certificate_authorities<0..2^16-1>`, raw.
    pub certificate_authorities: Vec<Vec<u8>>,
}

/// `CertificateVerify` (RFC 5246 §7.4.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateVerify {
    /// Signature algorithm.
    pub signature_scheme: SignatureScheme,
    /// Signature over all handshake messages so far.
    pub signature: Vec<u8>,
}

/// `ClientKeyExchange` for ECDHE (RFC 8422 §5.7): the client's ephemeral public value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientKeyExchange {
    /// `ECPoint.point`
    pub public: Vec<u8>,
}

/// `Finished` (RFC 5246 §7.4.9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// 12 bytes of PRF output.
    pub verify_data: Vec<u8>,
}

/// A complete (reassembled) handshake message body, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandshakeMessage {
    /// hello_request(0): renegotiation, refused by this crate.
    HelloRequest,
    /// client_hello(1)
    ClientHello(ClientHello),
    /// server_hello(2)
    ServerHello(ServerHello),
    /// hello_verify_request(3)
    HelloVerifyRequest(HelloVerifyRequest),
    /// certificate(11)
    Certificate(Certificate),
    /// server_key_exchange(12)
    ServerKeyExchange(ServerKeyExchange),
    /// certificate_request(13)
    CertificateRequest(CertificateRequest),
    /// server_hello_done(14)
    ServerHelloDone,
    /// certificate_verify(15)
    CertificateVerify(CertificateVerify),
    /// client_key_exchange(16)
    ClientKeyExchange(ClientKeyExchange),
    /// finished(20)
    Finished(Finished),
}

/// curve_type named_curve (RFC 8422 §5.4).
const NAMED_CURVE: u8 = 3;

impl HandshakeMessage {
    /// The message's type code.
    pub fn msg_type(&self) -> HandshakeType {
        match self {
            HandshakeMessage::HelloRequest => HandshakeType::HELLO_REQUEST,
            HandshakeMessage::ClientHello(_) => HandshakeType::CLIENT_HELLO,
            HandshakeMessage::ServerHello(_) => HandshakeType::SERVER_HELLO,
            HandshakeMessage::HelloVerifyRequest(_) => HandshakeType::HELLO_VERIFY_REQUEST,
            HandshakeMessage::Certificate(_) => HandshakeType::CERTIFICATE,
            HandshakeMessage::ServerKeyExchange(_) => HandshakeType::SERVER_KEY_EXCHANGE,
            HandshakeMessage::CertificateRequest(_) => HandshakeType::CERTIFICATE_REQUEST,
            HandshakeMessage::ServerHelloDone => HandshakeType::SERVER_HELLO_DONE,
            HandshakeMessage::CertificateVerify(_) => HandshakeType::CERTIFICATE_VERIFY,
            HandshakeMessage::ClientKeyExchange(_) => HandshakeType::CLIENT_KEY_EXCHANGE,
            HandshakeMessage::Finished(_) => HandshakeType::FINISHED,
        }
    }

    /// Parses a complete message body of type `msg_type`.
    ///
    /// # Errors
    /// [`Error::Truncated`] / [`Error::Malformed`] on bad bodies,
    /// [`Error::UnexpectedMessage`] for an unknown type.
    pub fn parse(msg_type: HandshakeType, body: &[u8]) -> Result<HandshakeMessage, Error> {
        let mut r = Reader::new(body, "handshake message");
        let msg = match msg_type {
            HandshakeType::HELLO_REQUEST => HandshakeMessage::HelloRequest,
            HandshakeType::CLIENT_HELLO => {
                let client_version = ProtocolVersion(r.u16()?);
                let random = r.array()?;
                let session_id = r.vec8()?;
                if session_id.len() > 32 {
                    return Err(Error::Malformed("session_id"));
                }
                let cookie = r.vec8()?.to_vec();
                let suites = r.vec16()?;
                if suites.len() % 2 != 0 {
                    return Err(Error::Malformed("cipher_suites"));
                }
                let cipher_suites = suites
                    .chunks_exact(2)
                    .map(|c| CipherSuite(u16::from_be_bytes([c[0], c[1]])))
                    .collect();
                let compression_methods = r.vec8()?.to_vec();
                let extensions = parse_extensions(&mut r)?;
                HandshakeMessage::ClientHello(ClientHello {
                    client_version,
                    random,
                    session_id: session_id.to_vec(),
                    cookie,
                    cipher_suites,
                    compression_methods,
                    extensions,
                })
            }
            HandshakeType::SERVER_HELLO => {
                let server_version = ProtocolVersion(r.u16()?);
                let random = r.array()?;
                let session_id = r.vec8()?;
                if session_id.len() > 32 {
                    return Err(Error::Malformed("session_id"));
                }
                let cipher_suite = CipherSuite(r.u16()?);
                let compression_method = r.u8()?;
                let extensions = parse_extensions(&mut r)?;
                HandshakeMessage::ServerHello(ServerHello {
                    server_version,
                    random,
                    session_id: session_id.to_vec(),
                    cipher_suite,
                    compression_method,
                    extensions,
                })
            }
            HandshakeType::HELLO_VERIFY_REQUEST => {
                HandshakeMessage::HelloVerifyRequest(HelloVerifyRequest {
                    server_version: ProtocolVersion(r.u16()?),
                    cookie: r.vec8()?.to_vec(),
                })
            }
            HandshakeType::CERTIFICATE => {
                let mut list = Reader::new(r.vec24()?, "certificate_list");
                let mut certificate_list = Vec::new();
                while !list.is_empty() {
                    certificate_list.push(list.vec24()?.to_vec());
                }
                HandshakeMessage::Certificate(Certificate { certificate_list })
            }
            HandshakeType::SERVER_KEY_EXCHANGE => {
                if r.u8()? != NAMED_CURVE {
                    return Err(Error::Malformed("ECCurveType"));
                }
                HandshakeMessage::ServerKeyExchange(ServerKeyExchange {
                    named_group: NamedGroup(r.u16()?),
                    public: r.vec8()?.to_vec(),
                    signature_scheme: SignatureScheme(r.u16()?),
                    signature: r.vec16()?.to_vec(),
                })
            }
            HandshakeType::CERTIFICATE_REQUEST => {
                let certificate_types = r.vec8()?.to_vec();
                let schemes = r.vec16()?;
                if schemes.len() % 2 != 0 {
                    return Err(Error::Malformed("supported_signature_algorithms"));
                }
                let signature_schemes = schemes
                    .chunks_exact(2)
                    .map(|c| SignatureScheme(u16::from_be_bytes([c[0], c[1]])))
                    .collect();
                let mut cas = Reader::new(r.vec16()?, "certificate_authorities");
                let mut certificate_authorities = Vec::new();
                while !cas.is_empty() {
                    certificate_authorities.push(cas.vec16()?.to_vec());
                }
                HandshakeMessage::CertificateRequest(CertificateRequest {
                    certificate_types,
                    signature_schemes,
                    certificate_authorities,
                })
            }
            HandshakeType::SERVER_HELLO_DONE => HandshakeMessage::ServerHelloDone,
            HandshakeType::CERTIFICATE_VERIFY => {
                HandshakeMessage::CertificateVerify(CertificateVerify {
                    signature_scheme: SignatureScheme(r.u16()?),
                    signature: r.vec16()?.to_vec(),
                })
            }
            HandshakeType::CLIENT_KEY_EXCHANGE => {
                HandshakeMessage::ClientKeyExchange(ClientKeyExchange {
                    public: r.vec8()?.to_vec(),
                })
            }
            HandshakeType::FINISHED => HandshakeMessage::Finished(Finished {
                verify_data: r.rest().to_vec(),
            }),
            _ => return Err(Error::UnexpectedMessage("unknown handshake type")),
        };
        r.finish()?;
        Ok(msg)
    }

    /// Appends the message body (without the handshake header).
    ///
    /// # Errors
    /// [`Error::TooLong`] if a list exceeds its length prefix.
    pub fn write_body(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        let mut w = Writer::new(out);
        match self {
            HandshakeMessage::HelloRequest | HandshakeMessage::ServerHelloDone => {}
            HandshakeMessage::ClientHello(m) => {
                w.u16(m.client_version.0);
                w.bytes(&m.random);
                w.vec8(&m.session_id)?;
                w.vec8(&m.cookie)?;
                w.prefixed(2, |w| {
                    m.cipher_suites.iter().for_each(|s| w.u16(s.0));
                    Ok(())
                })?;
                w.vec8(&m.compression_methods)?;
                write_extensions(&mut w, &m.extensions)?;
            }
            HandshakeMessage::ServerHello(m) => {
                w.u16(m.server_version.0);
                w.bytes(&m.random);
                w.vec8(&m.session_id)?;
                w.u16(m.cipher_suite.0);
                w.u8(m.compression_method);
                write_extensions(&mut w, &m.extensions)?;
            }
            HandshakeMessage::HelloVerifyRequest(m) => {
                w.u16(m.server_version.0);
                w.vec8(&m.cookie)?;
            }
            HandshakeMessage::Certificate(m) => w.prefixed(3, |w| {
                m.certificate_list.iter().try_for_each(|c| w.vec24(c))
            })?,
            HandshakeMessage::ServerKeyExchange(m) => {
                w.u8(NAMED_CURVE);
                w.u16(m.named_group.0);
                w.vec8(&m.public)?;
                w.u16(m.signature_scheme.0);
                w.vec16(&m.signature)?;
            }
            HandshakeMessage::CertificateRequest(m) => {
                w.vec8(&m.certificate_types)?;
                w.prefixed(2, |w| {
                    m.signature_schemes.iter().for_each(|s| w.u16(s.0));
                    Ok(())
                })?;
                w.prefixed(2, |w| {
                    m.certificate_authorities
                        .iter()
                        .try_for_each(|c| w.vec16(c))
                })?;
            }
            HandshakeMessage::CertificateVerify(m) => {
                w.u16(m.signature_scheme.0);
                w.vec16(&m.signature)?;
            }
            HandshakeMessage::ClientKeyExchange(m) => w.vec8(&m.public)?,
            HandshakeMessage::Finished(m) => w.bytes(&m.verify_data),
        }
        Ok(())
    }

    /// Appends the whole message as one unfragmented handshake message: the 12-byte header
    /// with `fragment_offset = 0`, `fragment_length = length` (the form hashed into the
    /// transcript, RFC 6347 §4.2.6), then the body.
    ///
    /// # Errors
    /// [`Error::TooLong`] if the body exceeds 2^24 - 1 bytes or a list its prefix.
    pub fn write(&self, message_seq: u16, out: &mut Vec<u8>) -> Result<(), Error> {
        let at = out.len();
        out.extend_from_slice(&[0u8; HANDSHAKE_HEADER_LEN]);
        self.write_body(out)?;
        let length =
            u32::try_from(out.len() - at - HANDSHAKE_HEADER_LEN).map_err(|_| Error::TooLong)?;
        let mut header = Vec::with_capacity(HANDSHAKE_HEADER_LEN);
        HandshakeHeader {
            msg_type: self.msg_type(),
            length,
            message_seq,
            fragment_offset: 0,
            fragment_length: length,
        }
        .write(&mut header)?;
        if let Some(dst) = out.get_mut(at..at + HANDSHAKE_HEADER_LEN) {
            dst.copy_from_slice(&header);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // A HelloVerifyRequest laid out as OpenSSL 3.0 sends it: DTLS 1.0 version, 20-byte cookie.
    const HVR: [u8; 35] = [
        0x03, 0x00, 0x00, 0x17, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x17, 0xfe, 0xff, 0x14,
        0x5b, 0x8a, 0x1d, 0x1f, 0xe5, 0x9c, 0x5e, 0x3c, 0x7a, 0x2e, 0x0b, 0x2b, 0x31, 0x41, 0x69,
        0x9f, 0x4e, 0x1d, 0x38, 0x40,
    ];

    #[test]
    fn parses_hello_verify_request() {
        let (frag, rest) = HandshakeFragment::parse(&HVR).unwrap();
        assert!(rest.is_empty());
        assert_eq!(frag.header.msg_type, HandshakeType::HELLO_VERIFY_REQUEST);
        let m = HandshakeMessage::parse(frag.header.msg_type, frag.body).unwrap();
        let HandshakeMessage::HelloVerifyRequest(h) = &m else {
            panic!("wrong type")
        };
        assert_eq!(h.server_version, ProtocolVersion::DTLS_1_0);
        assert_eq!(h.cookie.len(), 20);
        let mut out = Vec::new();
        m.write(0, &mut out).unwrap();
        assert_eq!(out, HVR);
    }

    #[test]
    fn fragment_range_is_checked() {
        let mut bad = HVR;
        bad[8] = 0x10; // fragment_offset 16 + length 23 > 23
        assert!(HandshakeFragment::parse(&bad).is_err());
        for n in 0..HVR.len() {
            assert!(HandshakeFragment::parse(&HVR[..n]).is_err());
        }
    }

    #[test]
    fn truncated_bodies_are_errors() {
        let m = HandshakeMessage::ServerKeyExchange(ServerKeyExchange {
            named_group: NamedGroup::X25519,
            public: vec![9; 32],
            signature_scheme: SignatureScheme::ECDSA_SECP256R1_SHA256,
            signature: vec![1; 70],
        });
        let mut body = Vec::new();
        m.write_body(&mut body).unwrap();
        for n in 0..body.len() {
            assert!(
                HandshakeMessage::parse(HandshakeType::SERVER_KEY_EXCHANGE, &body[..n]).is_err()
            );
        }
        body.push(0);
        assert!(HandshakeMessage::parse(HandshakeType::SERVER_KEY_EXCHANGE, &body).is_err());
    }

    fn arb_ext() -> impl Strategy<Value = Extension> {
        prop_oneof![
            proptest::collection::vec(any::<u16>(), 0..5)
                .prop_map(|v| Extension::SupportedGroups(v.into_iter().map(NamedGroup).collect())),
            proptest::collection::vec(any::<u8>(), 0..4).prop_map(Extension::EcPointFormats),
            proptest::collection::vec(any::<u16>(), 0..5).prop_map(|v| {
                Extension::SignatureAlgorithms(v.into_iter().map(SignatureScheme).collect())
            }),
            (
                proptest::collection::vec(any::<u16>(), 0..5),
                proptest::collection::vec(any::<u8>(), 0..4)
            )
                .prop_map(|(profiles, mki)| Extension::UseSrtp { profiles, mki }),
            Just(Extension::ExtendedMasterSecret),
            proptest::collection::vec(any::<u8>(), 0..4).prop_map(Extension::RenegotiationInfo),
            (100u16..200, proptest::collection::vec(any::<u8>(), 0..8)).prop_map(|(t, data)| {
                Extension::Unknown {
                    extension_type: super::super::ExtensionType(t),
                    data,
                }
            }),
        ]
    }

    fn dedup(exts: Vec<Extension>) -> Vec<Extension> {
        let mut out: Vec<Extension> = Vec::new();
        for e in exts {
            if !out.iter().any(|o| o.extension_type() == e.extension_type()) {
                out.push(e);
            }
        }
        out
    }

    fn arb_message() -> impl Strategy<Value = HandshakeMessage> {
        let bytes = |n| proptest::collection::vec(any::<u8>(), 0..n);
        prop_oneof![
            Just(HandshakeMessage::HelloRequest),
            Just(HandshakeMessage::ServerHelloDone),
            (
                any::<u16>(),
                any::<[u8; 32]>(),
                bytes(33),
                bytes(40),
                proptest::collection::vec(any::<u16>(), 0..8),
                bytes(3),
                proptest::collection::vec(arb_ext(), 0..6)
            )
                .prop_map(|(v, random, sid, cookie, suites, comp, exts)| {
                    HandshakeMessage::ClientHello(ClientHello {
                        client_version: ProtocolVersion(v),
                        random,
                        session_id: sid,
                        cookie,
                        cipher_suites: suites.into_iter().map(CipherSuite).collect(),
                        compression_methods: comp,
                        extensions: dedup(exts),
                    })
                }),
            (
                any::<u16>(),
                any::<[u8; 32]>(),
                bytes(33),
                any::<u16>(),
                any::<u8>(),
                proptest::collection::vec(arb_ext(), 0..6)
            )
                .prop_map(|(v, random, sid, suite, comp, exts)| {
                    HandshakeMessage::ServerHello(ServerHello {
                        server_version: ProtocolVersion(v),
                        random,
                        session_id: sid,
                        cipher_suite: CipherSuite(suite),
                        compression_method: comp,
                        extensions: dedup(exts),
                    })
                }),
            (any::<u16>(), bytes(64)).prop_map(|(v, cookie)| {
                HandshakeMessage::HelloVerifyRequest(HelloVerifyRequest {
                    server_version: ProtocolVersion(v),
                    cookie,
                })
            }),
            proptest::collection::vec(bytes(50), 0..4).prop_map(|certificate_list| {
                HandshakeMessage::Certificate(Certificate { certificate_list })
            }),
            (any::<u16>(), bytes(70), any::<u16>(), bytes(80)).prop_map(|(g, p, s, sig)| {
                HandshakeMessage::ServerKeyExchange(ServerKeyExchange {
                    named_group: NamedGroup(g),
                    public: p,
                    signature_scheme: SignatureScheme(s),
                    signature: sig,
                })
            }),
            (
                bytes(4),
                proptest::collection::vec(any::<u16>(), 0..6),
                proptest::collection::vec(bytes(20), 0..3)
            )
                .prop_map(|(t, s, cas)| {
                    HandshakeMessage::CertificateRequest(CertificateRequest {
                        certificate_types: t,
                        signature_schemes: s.into_iter().map(SignatureScheme).collect(),
                        certificate_authorities: cas,
                    })
                }),
            (any::<u16>(), bytes(80)).prop_map(|(s, sig)| {
                HandshakeMessage::CertificateVerify(CertificateVerify {
                    signature_scheme: SignatureScheme(s),
                    signature: sig,
                })
            }),
            bytes(70).prop_map(|public| {
                HandshakeMessage::ClientKeyExchange(ClientKeyExchange { public })
            }),
            bytes(20).prop_map(|verify_data| HandshakeMessage::Finished(Finished { verify_data })),
        ]
    }

    proptest! {
        #[test]
        fn message_round_trip(m in arb_message(), seq: u16) {
            let mut out = Vec::new();
            m.write(seq, &mut out).unwrap();
            let (frag, rest) = HandshakeFragment::parse(&out).unwrap();
            prop_assert!(rest.is_empty());
            prop_assert_eq!(frag.header.message_seq, seq);
            let back = HandshakeMessage::parse(frag.header.msg_type, frag.body).unwrap();
            prop_assert_eq!(back, m);
        }

        #[test]
        fn message_parse_write_stable(t in 0u8..21, body in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(m) = HandshakeMessage::parse(HandshakeType(t), &body) {
                let mut once = Vec::new();
                m.write_body(&mut once).unwrap();
                let again = HandshakeMessage::parse(HandshakeType(t), &once).unwrap();
                prop_assert_eq!(&again, &m);
            }
        }
    }
}
