//! IANA code points as open newtypes: unknown values survive a parse/write round trip.

macro_rules! codepoint {
    ($(#[$m:meta])* $name:ident($ty:ty) { $($(#[$cm:meta])* $c:ident = $v:expr,)* }) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub $ty);

        impl $name {
            $($(#[$cm])* pub const $c: $name = $name($v);)*

            /// The RFC's name of this code point, if it is one this crate knows.
            pub fn name(self) -> Option<&'static str> {
                match self {
                    $($name::$c => Some(stringify!($c)),)*
                    _ => None,
                }
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, concat!(stringify!($name), "({:#x})"), self.0),
                }
            }
        }
    };
}
pub(crate) use codepoint;

codepoint! {
    /// `ContentType` of a record (RFC 5246 §6.2.1).
    ContentType(u8) {
        /// change_cipher_spec(20)
        CHANGE_CIPHER_SPEC = 20,
        /// alert(21)
        ALERT = 21,
        /// handshake(22)
        HANDSHAKE = 22,
        /// application_data(23)
        APPLICATION_DATA = 23,
    }
}

codepoint! {
    /// `ProtocolVersion` on the wire (RFC 6347 §4.1: the one's complement of the version).
    ProtocolVersion(u16) {
        /// DTLS 1.0, `{254, 255}`: accepted in the record layer of early flights.
        DTLS_1_0 = 0xfeff,
        /// DTLS 1.2, `{254, 253}`.
        DTLS_1_2 = 0xfefd,
    }
}

codepoint! {
    /// `HandshakeType` (RFC 5246 §7.4, RFC 6347 §4.3.2).
    HandshakeType(u8) {
        /// hello_request(0)
        HELLO_REQUEST = 0,
        /// client_hello(1)
        CLIENT_HELLO = 1,
        /// server_hello(2)
        SERVER_HELLO = 2,
        /// hello_verify_request(3)
        HELLO_VERIFY_REQUEST = 3,
        /// certificate(11)
        CERTIFICATE = 11,
        /// server_key_exchange(12)
        SERVER_KEY_EXCHANGE = 12,
        /// certificate_request(13)
        CERTIFICATE_REQUEST = 13,
        /// server_hello_done(14)
        SERVER_HELLO_DONE = 14,
        /// certificate_verify(15)
        CERTIFICATE_VERIFY = 15,
        /// client_key_exchange(16)
        CLIENT_KEY_EXCHANGE = 16,
        /// finished(20)
        FINISHED = 20,
    }
}

codepoint! {
    /// `CipherSuite` (IANA TLS registry).
    CipherSuite(u16) {
        /// TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 (RFC 5289)
        TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 = 0xc02b,
        /// TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 (RFC 5289)
        TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 = 0xc02c,
        /// TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 (RFC 5289)
        TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 = 0xc02f,
        /// TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 (RFC 5289)
        TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 = 0xc030,
        /// TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 (RFC 7905)
        TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 = 0xcca8,
        /// TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 (RFC 7905)
        TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 = 0xcca9,
        /// TLS_EMPTY_RENEGOTIATION_INFO_SCSV (RFC 5746 §3.3)
        TLS_EMPTY_RENEGOTIATION_INFO_SCSV = 0x00ff,
    }
}

codepoint! {
    /// `NamedGroup` of the supported_groups extension (RFC 8422 §5.1.1).
    NamedGroup(u16) {
        /// secp256r1(23)
        SECP256R1 = 0x0017,
        /// secp384r1(24)
        SECP384R1 = 0x0018,
        /// x25519(29)
        X25519 = 0x001d,
    }
}

codepoint! {
    /// `SignatureAndHashAlgorithm` of RFC 5246 §7.4.1.4.1, named as TLS 1.3's
    /// `SignatureScheme` (RFC 8446 §4.2.3), which shares its code points.
    SignatureScheme(u16) {
        /// rsa_pkcs1_sha256
        RSA_PKCS1_SHA256 = 0x0401,
        /// ecdsa_secp256r1_sha256
        ECDSA_SECP256R1_SHA256 = 0x0403,
        /// rsa_pkcs1_sha384
        RSA_PKCS1_SHA384 = 0x0501,
        /// ecdsa_secp384r1_sha384
        ECDSA_SECP384R1_SHA384 = 0x0503,
        /// rsa_pss_rsae_sha256
        RSA_PSS_RSAE_SHA256 = 0x0804,
        /// rsa_pss_rsae_sha384
        RSA_PSS_RSAE_SHA384 = 0x0805,
        /// ed25519
        ED25519 = 0x0807,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_names_known_and_unknown() {
        assert_eq!(format!("{:?}", ContentType::HANDSHAKE), "HANDSHAKE");
        assert_eq!(format!("{:?}", ContentType(99)), "ContentType(0x63)");
        assert_eq!(
            CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256.name(),
            Some("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256")
        );
    }
}
