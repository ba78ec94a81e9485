//! Attribute types and typed attribute values (RFC 8489 §14, §18.3; RFC 8445 §16.1;
//! RFC 8656 §18; RFC 6062 §6.2).
//!
//! Every attribute is a TLV, padded to a multiple of 4 bytes (RFC 8489 §14):
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |         Type                  |            Length             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                         Value (variable)                ....
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Each typed value implements [`AttributeValue`]: `decode` from the value bytes (borrowing
//! strings and byte strings from the message), `encode` to append them. [`Attribute`] is the
//! enum over all of them, with [`Attribute::Unknown`] keeping attributes this crate does not
//! know.

use core::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::header::{TransactionId, MAGIC_COOKIE};
use crate::Error;

/// An attribute type number (RFC 8489 §14, §18.3).
///
/// Types 0x0000-0x7FFF are comprehension-required, 0x8000-0xFFFF comprehension-optional.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AttributeType(pub u16);

impl AttributeType {
    /// MAPPED-ADDRESS (RFC 8489 §14.1).
    pub const MAPPED_ADDRESS: Self = Self(0x0001);
    /// USERNAME (RFC 8489 §14.3).
    pub const USERNAME: Self = Self(0x0006);
    /// MESSAGE-INTEGRITY (RFC 8489 §14.5).
    pub const MESSAGE_INTEGRITY: Self = Self(0x0008);
    /// ERROR-CODE (RFC 8489 §14.8).
    pub const ERROR_CODE: Self = Self(0x0009);
    /// UNKNOWN-ATTRIBUTES (RFC 8489 §14.13).
    pub const UNKNOWN_ATTRIBUTES: Self = Self(0x000A);
    /// CHANNEL-NUMBER (RFC 8656 §18.1).
    pub const CHANNEL_NUMBER: Self = Self(0x000C);
    /// LIFETIME (RFC 8656 §18.2).
    pub const LIFETIME: Self = Self(0x000D);
    /// XOR-PEER-ADDRESS (RFC 8656 §18.3).
    pub const XOR_PEER_ADDRESS: Self = Self(0x0012);
    /// DATA (RFC 8656 §18.4).
    pub const DATA: Self = Self(0x0013);
    /// REALM (RFC 8489 §14.9).
    pub const REALM: Self = Self(0x0014);
    /// NONCE (RFC 8489 §14.10).
    pub const NONCE: Self = Self(0x0015);
    /// XOR-RELAYED-ADDRESS (RFC 8656 §18.5).
    pub const XOR_RELAYED_ADDRESS: Self = Self(0x0016);
    /// REQUESTED-ADDRESS-FAMILY (RFC 8656 §18.6).
    pub const REQUESTED_ADDRESS_FAMILY: Self = Self(0x0017);
    /// EVEN-PORT (RFC 8656 §18.7).
    pub const EVEN_PORT: Self = Self(0x0018);
    /// REQUESTED-TRANSPORT (RFC 8656 §18.8).
    pub const REQUESTED_TRANSPORT: Self = Self(0x0019);
    /// DONT-FRAGMENT (RFC 8656 §18.9).
    pub const DONT_FRAGMENT: Self = Self(0x001A);
    /// MESSAGE-INTEGRITY-SHA256 (RFC 8489 §14.6).
    pub const MESSAGE_INTEGRITY_SHA256: Self = Self(0x001C);
    /// PASSWORD-ALGORITHM (RFC 8489 §14.12).
    pub const PASSWORD_ALGORITHM: Self = Self(0x001D);
    /// USERHASH (RFC 8489 §14.4).
    pub const USERHASH: Self = Self(0x001E);
    /// XOR-MAPPED-ADDRESS (RFC 8489 §14.2).
    pub const XOR_MAPPED_ADDRESS: Self = Self(0x0020);
    /// RESERVATION-TOKEN (RFC 8656 §18.10).
    pub const RESERVATION_TOKEN: Self = Self(0x0022);
    /// PRIORITY (RFC 8445 §16.1).
    pub const PRIORITY: Self = Self(0x0024);
    /// USE-CANDIDATE (RFC 8445 §16.1).
    pub const USE_CANDIDATE: Self = Self(0x0025);
    /// CONNECTION-ID (RFC 6062 §6.2.1).
    pub const CONNECTION_ID: Self = Self(0x002A);
    /// ADDITIONAL-ADDRESS-FAMILY (RFC 8656 §18.11).
    pub const ADDITIONAL_ADDRESS_FAMILY: Self = Self(0x8000);
    /// ADDRESS-ERROR-CODE (RFC 8656 §18.12).
    pub const ADDRESS_ERROR_CODE: Self = Self(0x8001);
    /// PASSWORD-ALGORITHMS (RFC 8489 §14.11).
    pub const PASSWORD_ALGORITHMS: Self = Self(0x8002);
    /// ALTERNATE-DOMAIN (RFC 8489 §14.16).
    pub const ALTERNATE_DOMAIN: Self = Self(0x8003);
    /// ICMP (RFC 8656 §18.13).
    pub const ICMP: Self = Self(0x8004);
    /// SOFTWARE (RFC 8489 §14.14).
    pub const SOFTWARE: Self = Self(0x8022);
    /// ALTERNATE-SERVER (RFC 8489 §14.15).
    pub const ALTERNATE_SERVER: Self = Self(0x8023);
    /// FINGERPRINT (RFC 8489 §14.7).
    pub const FINGERPRINT: Self = Self(0x8028);
    /// ICE-CONTROLLED (RFC 8445 §16.1).
    pub const ICE_CONTROLLED: Self = Self(0x8029);
    /// ICE-CONTROLLING (RFC 8445 §16.1).
    pub const ICE_CONTROLLING: Self = Self(0x802A);
    /// NOMINATION (draft-thatcher-ice-renomination §3; libwebrtc's `STUN_ATTR_NOMINATION`).
    pub const NOMINATION: Self = Self(0xC001);

    /// Whether an agent that does not understand this attribute must reject the message
    /// (types below 0x8000, RFC 8489 §14).
    pub const fn is_comprehension_required(self) -> bool {
        self.0 < 0x8000
    }

    /// Whether this crate has a typed value for this attribute.
    pub fn is_known(self) -> bool {
        self.name().is_some()
    }

    /// The RFC name, e.g. `"XOR-MAPPED-ADDRESS"`, for types this crate knows.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::MAPPED_ADDRESS => "MAPPED-ADDRESS",
            Self::USERNAME => "USERNAME",
            Self::MESSAGE_INTEGRITY => "MESSAGE-INTEGRITY",
            Self::ERROR_CODE => "ERROR-CODE",
            Self::UNKNOWN_ATTRIBUTES => "UNKNOWN-ATTRIBUTES",
            Self::CHANNEL_NUMBER => "CHANNEL-NUMBER",
            Self::LIFETIME => "LIFETIME",
            Self::XOR_PEER_ADDRESS => "XOR-PEER-ADDRESS",
            Self::DATA => "DATA",
            Self::REALM => "REALM",
            Self::NONCE => "NONCE",
            Self::XOR_RELAYED_ADDRESS => "XOR-RELAYED-ADDRESS",
            Self::REQUESTED_ADDRESS_FAMILY => "REQUESTED-ADDRESS-FAMILY",
            Self::EVEN_PORT => "EVEN-PORT",
            Self::REQUESTED_TRANSPORT => "REQUESTED-TRANSPORT",
            Self::DONT_FRAGMENT => "DONT-FRAGMENT",
            Self::MESSAGE_INTEGRITY_SHA256 => "MESSAGE-INTEGRITY-SHA256",
            Self::PASSWORD_ALGORITHM => "PASSWORD-ALGORITHM",
            Self::USERHASH => "USERHASH",
            Self::XOR_MAPPED_ADDRESS => "XOR-MAPPED-ADDRESS",
            Self::RESERVATION_TOKEN => "RESERVATION-TOKEN",
            Self::PRIORITY => "PRIORITY",
            Self::USE_CANDIDATE => "USE-CANDIDATE",
            Self::CONNECTION_ID => "CONNECTION-ID",
            Self::ADDITIONAL_ADDRESS_FAMILY => "ADDITIONAL-ADDRESS-FAMILY",
            Self::ADDRESS_ERROR_CODE => "ADDRESS-ERROR-CODE",
            Self::PASSWORD_ALGORITHMS => "PASSWORD-ALGORITHMS",
            Self::ALTERNATE_DOMAIN => "ALTERNATE-DOMAIN",
            Self::ICMP => "ICMP",
            Self::SOFTWARE => "SOFTWARE",
            Self::ALTERNATE_SERVER => "ALTERNATE-SERVER",
            Self::FINGERPRINT => "FINGERPRINT",
            Self::ICE_CONTROLLED => "ICE-CONTROLLED",
            Self::ICE_CONTROLLING => "ICE-CONTROLLING",
            Self::NOMINATION => "NOMINATION",
            _ => return None,
        })
    }
}

impl fmt::Debug for AttributeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AttributeType({self})")
    }
}

impl fmt::Display for AttributeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "{:#06x}", self.0),
        }
    }
}

impl From<u16> for AttributeType {
    fn from(value: u16) -> Self {
        Self(value)
    }
}

impl From<AttributeType> for u16 {
    fn from(value: AttributeType) -> Self {
        value.0
    }
}

/// A typed attribute value: decoded from and encoded to the value part of its TLV.
///
/// `'a` is the lifetime of the message buffer the value borrows from (strings, byte strings).
pub trait AttributeValue<'a>: Sized {
    /// The attribute's type number.
    const TYPE: AttributeType;

    /// Decodes the value (without TLV header or padding).
    ///
    /// `transaction_id` is the message's, needed by the XOR address attributes.
    ///
    /// # Errors
    /// [`Error::InvalidAttributeLength`] or [`Error::InvalidAttributeValue`] when the value is
    /// malformed.
    fn decode(value: &'a [u8], transaction_id: &TransactionId) -> Result<Self, Error>;

    /// Length of the encoded value in bytes, without padding.
    fn encoded_len(&self) -> usize;

    /// Appends exactly [`encoded_len`](Self::encoded_len) bytes of value (no padding).
    ///
    /// # Errors
    /// [`Error::ValueTooLong`] or [`Error::InvalidAttributeValue`] when the value cannot be
    /// encoded (for example a USERNAME above the RFC's limit); `out` is then unchanged.
    fn encode(&self, transaction_id: &TransactionId, out: &mut Vec<u8>) -> Result<(), Error>;
}

// ---- helpers ---------------------------------------------------------------------------

fn exact<const N: usize>(typ: AttributeType, value: &[u8]) -> Result<[u8; N], Error> {
    value.try_into().map_err(|_| Error::InvalidAttributeLength {
        typ,
        len: value.len(),
    })
}

fn decode_str(typ: AttributeType, value: &[u8], max: usize) -> Result<&str, Error> {
    if value.len() > max {
        return Err(Error::InvalidAttributeLength {
            typ,
            len: value.len(),
        });
    }
    core::str::from_utf8(value).map_err(|_| Error::InvalidAttributeValue {
        typ,
        reason: "not utf-8",
    })
}

fn check_len(typ: AttributeType, len: usize, max: usize) -> Result<(), Error> {
    if len > max {
        Err(Error::ValueTooLong { typ, len })
    } else {
        Ok(())
    }
}

fn invalid(typ: AttributeType, reason: &'static str) -> Error {
    Error::InvalidAttributeValue { typ, reason }
}

/// Address family of the address attributes (RFC 8489 §14.1) and of REQUESTED- and
/// ADDITIONAL-ADDRESS-FAMILY (RFC 8656 §18.6, §18.11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressFamily {
    /// IPv4, 0x01.
    IPv4,
    /// IPv6, 0x02.
    IPv6,
}

impl AddressFamily {
    /// The family's number on the wire.
    pub const fn to_u8(self) -> u8 {
        match self {
            AddressFamily::IPv4 => 0x01,
            AddressFamily::IPv6 => 0x02,
        }
    }

    /// The family from its number on the wire.
    pub const fn from_u8(value: u8) -> Option<Self> {
        match value {
            0x01 => Some(AddressFamily::IPv4),
            0x02 => Some(AddressFamily::IPv6),
            _ => None,
        }
    }

    /// The family of an address.
    pub const fn of(addr: &SocketAddr) -> Self {
        match addr {
            SocketAddr::V4(_) => AddressFamily::IPv4,
            SocketAddr::V6(_) => AddressFamily::IPv6,
        }
    }
}

fn decode_family(typ: AttributeType, byte: u8) -> Result<AddressFamily, Error> {
    AddressFamily::from_u8(byte).ok_or(invalid(typ, "unknown address family"))
}

/// Decodes the address layout of RFC 8489 §14.1 / §14.2:
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |0 0 0 0 0 0 0 0|    Family     |         (X-)Port              |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                 (X-)Address (32 bits or 128 bits)             |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
fn decode_address(
    typ: AttributeType,
    value: &[u8],
    xor: Option<&TransactionId>,
) -> Result<SocketAddr, Error> {
    let bad_len = || Error::InvalidAttributeLength {
        typ,
        len: value.len(),
    };
    let [_, family, p0, p1, rest @ ..] = value else {
        return Err(bad_len());
    };
    let mut port = u16::from_be_bytes([*p0, *p1]);
    let cookie = MAGIC_COOKIE.to_be_bytes();
    if xor.is_some() {
        port ^= (MAGIC_COOKIE >> 16) as u16;
    }
    match decode_family(typ, *family)? {
        AddressFamily::IPv4 => {
            let mut ip: [u8; 4] = rest.try_into().map_err(|_| bad_len())?;
            if xor.is_some() {
                for (b, k) in ip.iter_mut().zip(cookie) {
                    *b ^= k;
                }
            }
            Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::from(ip)), port))
        }
        AddressFamily::IPv6 => {
            let mut ip: [u8; 16] = rest.try_into().map_err(|_| bad_len())?;
            if let Some(id) = xor {
                let key = cookie.iter().chain(id.0.iter());
                for (b, k) in ip.iter_mut().zip(key) {
                    *b ^= k;
                }
            }
            Ok(SocketAddr::new(IpAddr::V6(Ipv6Addr::from(ip)), port))
        }
    }
}

fn address_len(addr: &SocketAddr) -> usize {
    match addr {
        SocketAddr::V4(_) => 8,
        SocketAddr::V6(_) => 20,
    }
}

fn encode_address(addr: &SocketAddr, xor: Option<&TransactionId>, out: &mut Vec<u8>) {
    let cookie = MAGIC_COOKIE.to_be_bytes();
    let mut port = addr.port();
    if xor.is_some() {
        port ^= (MAGIC_COOKIE >> 16) as u16;
    }
    out.push(0);
    out.push(AddressFamily::of(addr).to_u8());
    out.extend_from_slice(&port.to_be_bytes());
    match addr.ip() {
        IpAddr::V4(ip) => {
            let mut b = ip.octets();
            if xor.is_some() {
                for (b, k) in b.iter_mut().zip(cookie) {
                    *b ^= k;
                }
            }
            out.extend_from_slice(&b);
        }
        IpAddr::V6(ip) => {
            let mut b = ip.octets();
            if let Some(id) = xor {
                for (b, k) in b.iter_mut().zip(cookie.iter().chain(id.0.iter())) {
                    *b ^= k;
                }
            }
            out.extend_from_slice(&b);
        }
    }
}

macro_rules! address_attribute {
    ($(#[$doc:meta])* $name:ident, $typ:ident, $xor:expr) => {
        $(#[$doc])*
        ///
        /// IPv6 flow info and scope id are not carried and decode as zero.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name(pub SocketAddr);

        impl<'a> AttributeValue<'a> for $name {
            const TYPE: AttributeType = AttributeType::$typ;
            fn decode(value: &'a [u8], transaction_id: &TransactionId) -> Result<Self, Error> {
                let xor = if $xor { Some(transaction_id) } else { None };
                decode_address(Self::TYPE, value, xor).map($name)
            }
            fn encoded_len(&self) -> usize {
                address_len(&self.0)
            }
            fn encode(&self, transaction_id: &TransactionId, out: &mut Vec<u8>) -> Result<(), Error> {
                let xor = if $xor { Some(transaction_id) } else { None };
                encode_address(&self.0, xor, out);
                Ok(())
            }
        }
    };
}

address_attribute!(
    /// MAPPED-ADDRESS: the reflexive transport address, not obfuscated; for RFC 3489
    /// compatibility only (RFC 8489 §14.1).
    MappedAddress, MAPPED_ADDRESS, false
);
address_attribute!(
    /// XOR-MAPPED-ADDRESS: the reflexive transport address XOR-ed with the magic cookie (and
    /// the transaction id for IPv6) (RFC 8489 §14.2).
    XorMappedAddress, XOR_MAPPED_ADDRESS, true
);
address_attribute!(
    /// ALTERNATE-SERVER: the server to try instead, with error 300 (RFC 8489 §14.15).
    AlternateServer, ALTERNATE_SERVER, false
);
address_attribute!(
    /// XOR-PEER-ADDRESS: a peer's address as seen from the TURN server (RFC 8656 §18.3).
    XorPeerAddress, XOR_PEER_ADDRESS, true
);
address_attribute!(
    /// XOR-RELAYED-ADDRESS: the relayed transport address of an allocation (RFC 8656 §18.5).
    XorRelayedAddress, XOR_RELAYED_ADDRESS, true
);

macro_rules! string_attribute {
    ($(#[$doc:meta])* $name:ident, $typ:ident, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name<'a>(pub &'a str);

        impl<'a> $name<'a> {
            /// Largest value accepted, in bytes.
            pub const MAX_LEN: usize = $max;
        }

        impl<'a> AttributeValue<'a> for $name<'a> {
            const TYPE: AttributeType = AttributeType::$typ;
            fn decode(value: &'a [u8], _: &TransactionId) -> Result<Self, Error> {
                decode_str(Self::TYPE, value, Self::MAX_LEN).map($name)
            }
            fn encoded_len(&self) -> usize {
                self.0.len()
            }
            fn encode(&self, _: &TransactionId, out: &mut Vec<u8>) -> Result<(), Error> {
                check_len(Self::TYPE, self.0.len(), Self::MAX_LEN)?;
                out.extend_from_slice(self.0.as_bytes());
                Ok(())
            }
        }
    };
}

string_attribute!(
    /// USERNAME: the username for message integrity, UTF-8, at most 512 bytes (RFC 8489 §14.3
    /// says fewer than 509 after OpaqueString processing; RFC 5389 allowed 512).
    Username, USERNAME, 512
);
string_attribute!(
    /// REALM: the long-term credential realm, UTF-8, at most 763 bytes (RFC 8489 §14.9).
    Realm, REALM, 763
);
string_attribute!(
    /// SOFTWARE: a textual description of the agent's software, UTF-8, at most 763 bytes
    /// (RFC 8489 §14.14).
    Software, SOFTWARE, 763
);
string_attribute!(
    /// ALTERNATE-DOMAIN: the domain name of the ALTERNATE-SERVER, for certificate checks on
    /// (D)TLS (RFC 8489 §14.16). At most 255 bytes.
    AlternateDomain, ALTERNATE_DOMAIN, 255
);

/// NONCE: the server's nonce for long-term credentials, UTF-8, at most 763 bytes
/// (RFC 8489 §14.10).
///
/// A nonce starting with the "nonce cookie" `obMatJos2` carries the server's security feature
/// bits in the next four base64 characters (RFC 8489 §9.2): [`Nonce::security_features`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Nonce<'a>(pub &'a str);

/// Security feature bits of a nonce cookie (RFC 8489 §9.2, §18.1). Bit 0 is the least
/// significant bit of the 24-bit set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SecurityFeatures(pub u32);

impl SecurityFeatures {
    /// Bit 0: the server supports PASSWORD-ALGORITHMS negotiation.
    pub const PASSWORD_ALGORITHMS: Self = Self(1 << 0);
    /// Bit 1: the server supports USERHASH (username anonymity).
    pub const USERNAME_ANONYMITY: Self = Self(1 << 1);

    /// Whether all bits of `other` are set.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
}

impl core::ops::BitOr for SecurityFeatures {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self((self.0 | rhs.0) & 0x00FF_FFFF)
    }
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

impl<'a> Nonce<'a> {
    /// Largest value accepted, in bytes.
    pub const MAX_LEN: usize = 763;
    /// The nonce cookie that announces security feature bits (RFC 8489 §9.2).
    pub const COOKIE: &'static str = "obMatJos2";

    /// The security feature bits if the nonce starts with the nonce cookie.
    pub fn security_features(&self) -> Option<SecurityFeatures> {
        let rest = self.0.strip_prefix(Self::COOKIE)?;
        let chars = rest.as_bytes().first_chunk::<4>()?;
        let mut bits = 0u32;
        for c in chars {
            let v = BASE64.iter().position(|b| b == c)?;
            bits = (bits << 6) | v as u32;
        }
        Some(SecurityFeatures(bits))
    }

    /// A nonce value announcing `features`: the nonce cookie, four base64 characters of the
    /// 24-bit feature set, then `opaque` (the server's own nonce material).
    pub fn with_security_features(features: SecurityFeatures, opaque: &str) -> String {
        let mut s = String::with_capacity(Self::COOKIE.len() + 4 + opaque.len());
        s.push_str(Self::COOKIE);
        for shift in [18u32, 12, 6, 0] {
            let index = ((features.0 >> shift) & 0x3F) as usize;
            s.push(char::from(BASE64.get(index).copied().unwrap_or(b'A')));
        }
        s.push_str(opaque);
        s
    }
}

impl<'a> AttributeValue<'a> for Nonce<'a> {
    const TYPE: AttributeType = AttributeType::NONCE;
    fn decode(value: &'a [u8], _: &TransactionId) -> Result<Self, Error> {
        decode_str(Self::TYPE, value, Self::MAX_LEN).map(Nonce)
    }
    fn encoded_len(&self) -> usize {
        self.0.len()
    }
    fn encode(&self, _: &TransactionId, out: &mut Vec<u8>) -> Result<(), Error> {
        check_len(Self::TYPE, self.0.len(), Self::MAX_LEN)?;
        out.extend_from_slice(self.0.as_bytes());
        Ok(())
    }
}

/// MESSAGE-INTEGRITY: HMAC-SHA1 over the message up to this attribute (RFC 8489 §14.5).
///
/// Decoded as received; [`MessageBuilder::add_message_integrity`](crate::MessageBuilder::add_message_integrity)
/// computes it and [`Message::verify_integrity`](crate::Message::verify_integrity) checks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageIntegrity(pub [u8; 20]);

impl<'a> AttributeValue<'a> for MessageIntegrity {
    const TYPE: AttributeType = AttributeType::MESSAGE_INTEGRITY;
    fn decode(value: &'a [u8], _: &TransactionId) -> Result<Self, Error> {
        exact(Self::TYPE, value).map(MessageIntegrity)
    }
    fn encoded_len(&self) -> usize {
        20
    }
    fn encode(&self, _: &TransactionId, out: &mut Vec<u8>) -> Result<(), Error> {
        out.extend_from_slice(&self.0);
        Ok(())
    }
}

/// MESSAGE-INTEGRITY-SHA256: HMAC-SHA256 over the message up to this attribute, possibly
/// truncated to 16..=32 bytes in steps of 4 (RFC 8489 §14.6).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageIntegritySha256 {
    bytes: [u8; 32],
    len: u8,
}

impl MessageIntegritySha256 {
    /// Wraps a (possibly truncated) HMAC-SHA256 value.
    ///
    /// # Errors
    /// [`Error::InvalidAttributeLength`] unless the length is 16, 20, 24, 28 or 32.
    pub fn new(value: &[u8]) -> Result<Self, Error> {
        let len = value.len();
        if !(16..=32).contains(&len) || len % 4 != 0 {
            return Err(Error::InvalidAttributeLength {
                typ: AttributeType::MESSAGE_INTEGRITY_SHA256,
                len,
            });
        }
        let mut bytes = [0u8; 32];
        bytes[..len].copy_from_slice(value);
        Ok(Self {
            bytes,
            len: len as u8,
        })
    }

    /// The value as received or computed.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes
            .get(..usize::from(self.len))
            .unwrap_or(&self.bytes)
    }
}

impl fmt::Debug for MessageIntegritySha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("MessageIntegritySha256")
            .field(&self.as_bytes())
            .finish()
    }
}

impl<'a> AttributeValue<'a> for MessageIntegritySha256 {
    const TYPE: AttributeType = AttributeType::MESSAGE_INTEGRITY_SHA256;
    fn decode(value: &'a [u8], _: &TransactionId) -> Result<Self, Error> {
        Self::new(value)
    }
    fn encoded_len(&self) -> usize {
        usize::from(self.len)
    }
    fn encode(&self, _: &TransactionId, out: &mut Vec<u8>) -> Result<(), Error> {
        out.extend_from_slice(self.as_bytes());
        Ok(())
    }
}

/// FINGERPRINT: CRC-32 of the message up to this attribute, XOR-ed with 0x5354554e
/// (RFC 8489 §14.7). Always the last attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub u32);

impl<'a> AttributeValue<'a> for Fingerprint {
    const TYPE: AttributeType = AttributeType::FINGERPRINT;
    fn decode(value: &'a [u8], _: &TransactionId) -> Result<Self, Error> {
        exact(Self::TYPE, value).map(|b| Fingerprint(u32::from_be_bytes(b)))
    }
    fn encoded_len(&self) -> usize {
        4
    }
    fn encode(&self, _: &TransactionId, out: &mut Vec<u8>) -> Result<(), Error> {
        out.extend_from_slice(&self.0.to_be_bytes());
        Ok(())
    }
}

/// USERHASH: SHA-256 of `username ":" realm`, sent instead of USERNAME for username
/// anonymity (RFC 8489 §14.4). See [`userhash`](crate::userhash).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Userhash(pub [u8; 32]);

impl<'a> AttributeValue<'a> for Userhash {
    const TYPE: AttributeType = AttributeType::USERHASH;
    fn decode(value: &'a [u8], _: &TransactionId) -> Result<Self, Error> {
        exact(Self::TYPE, value).map(Userhash)
    }
    fn encoded_len(&self) -> usize {
        32
    }
    fn encode(&self, _: &TransactionId, out: &mut Vec<u8>) -> Result<(), Error> {
        out.extend_from_slice(&self.0);
        Ok(())
    }
}

/// ERROR-CODE: an error response's code (300..=699) and reason phrase (RFC 8489 §14.8).
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |           Reserved, should be 0         |Class|     Number    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |      Reason Phrase (variable)                                ..
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
///
/// The associated constants are the registered codes with their RFC reason phrases; compare
/// codes with `.code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorCode<'a> {
    /// The code, 300..=699.
    pub code: u16,
    /// The reason phrase, UTF-8, at most 763 bytes.
    pub reason: &'a str,
}

impl ErrorCode<'static> {
    /// 300 Try Alternate (RFC 8489 §15).
    pub const TRY_ALTERNATE: Self = Self::new(300, "Try Alternate");
    /// 400 Bad Request (RFC 8489 §15).
    pub const BAD_REQUEST: Self = Self::new(400, "Bad Request");
    /// 401 Unauthorized (RFC 8489 §15).
    pub const UNAUTHORIZED: Self = Self::new(401, "Unauthorized");
    /// 403 Forbidden (RFC 8656 §19).
    pub const FORBIDDEN: Self = Self::new(403, "Forbidden");
    /// 420 Unknown Attribute (RFC 8489 §15).
    pub const UNKNOWN_ATTRIBUTE: Self = Self::new(420, "Unknown Attribute");
    /// 437 Allocation Mismatch (RFC 8656 §19).
    pub const ALLOCATION_MISMATCH: Self = Self::new(437, "Allocation Mismatch");
    /// 438 Stale Nonce (RFC 8489 §15).
    pub const STALE_NONCE: Self = Self::new(438, "Stale Nonce");
    /// 440 Address Family not Supported (RFC 8656 §19).
    pub const ADDRESS_FAMILY_NOT_SUPPORTED: Self = Self::new(440, "Address Family not Supported");
    /// 441 Wrong Credentials (RFC 8656 §19).
    pub const WRONG_CREDENTIALS: Self = Self::new(441, "Wrong Credentials");
    /// 442 Unsupported Transport Protocol (RFC 8656 §19).
    pub const UNSUPPORTED_TRANSPORT_PROTOCOL: Self =
        Self::new(442, "Unsupported Transport Protocol");
    /// 443 Peer Address Family Mismatch (RFC 8656 §19).
    pub const PEER_ADDRESS_FAMILY_MISMATCH: Self = Self::new(443, "Peer Address Family Mismatch");
    /// 446 Connection Already Exists (RFC 6062 §6.3).
    pub const CONNECTION_ALREADY_EXISTS: Self = Self::new(446, "Connection Already Exists");
    /// 447 Connection Timeout or Failure (RFC 6062 §6.3).
    pub const CONNECTION_TIMEOUT_OR_FAILURE: Self = Self::new(447, "Connection Timeout or Failure");
    /// 486 Allocation Quota Reached (RFC 8656 §19).
    pub const ALLOCATION_QUOTA_REACHED: Self = Self::new(486, "Allocation Quota Reached");
    /// 487 Role Conflict (RFC 8445 §16.2).
    pub const ROLE_CONFLICT: Self = Self::new(487, "Role Conflict");
    /// 500 Server Error (RFC 8489 §15).
    pub const SERVER_ERROR: Self = Self::new(500, "Server Error");
    /// 508 Insufficient Capacity (RFC 8656 §19).
    pub const INSUFFICIENT_CAPACITY: Self = Self::new(508, "Insufficient Capacity");

    /// The registered code with its RFC reason phrase, or the code with an empty phrase.
    pub fn from_code(code: u16) -> ErrorCode<'static> {
        const ALL: [ErrorCode<'static>; 17] = [
            ErrorCode::TRY_ALTERNATE,
            ErrorCode::BAD_REQUEST,
            ErrorCode::UNAUTHORIZED,
            ErrorCode::FORBIDDEN,
            ErrorCode::UNKNOWN_ATTRIBUTE,
            ErrorCode::ALLOCATION_MISMATCH,
            ErrorCode::STALE_NONCE,
            ErrorCode::ADDRESS_FAMILY_NOT_SUPPORTED,
            ErrorCode::WRONG_CREDENTIALS,
            ErrorCode::UNSUPPORTED_TRANSPORT_PROTOCOL,
            ErrorCode::PEER_ADDRESS_FAMILY_MISMATCH,
            ErrorCode::CONNECTION_ALREADY_EXISTS,
            ErrorCode::CONNECTION_TIMEOUT_OR_FAILURE,
            ErrorCode::ALLOCATION_QUOTA_REACHED,
            ErrorCode::ROLE_CONFLICT,
            ErrorCode::SERVER_ERROR,
            ErrorCode::INSUFFICIENT_CAPACITY,
        ];
        ALL.iter()
            .find(|e| e.code == code)
            .copied()
            .unwrap_or(ErrorCode { code, reason: "" })
    }
}

impl<'a> ErrorCode<'a> {
    /// Largest reason phrase accepted, in bytes.
    pub const MAX_REASON_LEN: usize = 763;

    /// An error code with a reason phrase.
    pub const fn new(code: u16, reason: &'a str) -> Self {
        Self { code, reason }
    }

    /// The class digit (3..=6).
    pub const fn class(&self) -> u8 {
        (self.code / 100) as u8
    }

    /// The number within the class (0..=99).
    pub const fn number(&self) -> u8 {
        (self.code % 100) as u8
    }
}

fn decode_code(typ: AttributeType, class: u8, number: u8) -> Result<u16, Error> {
    let class = class & 0x07;
    if !(3..=6).contains(&class) {
        return Err(invalid(typ, "error class outside 3..=6"));
    }
    if number > 99 {
        return Err(invalid(typ, "error number above 99"));
    }
    Ok(u16::from(class) * 100 + u16::from(number))
}

fn check_code(typ: AttributeType, code: u16, reason: &str) -> Result<(), Error> {
    if !(300..=699).contains(&code) {
        return Err(invalid(typ, "error code outside 300..=699"));
    }
    check_len(typ, reason.len(), ErrorCode::MAX_REASON_LEN)
}

impl<'a> AttributeValue<'a> for ErrorCode<'a> {
    const TYPE: AttributeType = AttributeType::ERROR_CODE;
    fn decode(value: &'a [u8], _: &TransactionId) -> Result<Self, Error> {
        let [_, _, class, number, reason @ ..] = value else {
            return Err(Error::InvalidAttributeLength {
                typ: Self::TYPE,
                len: value.len(),
            });
        };
        Ok(ErrorCode {
            code: decode_code(Self::TYPE, *class, *number)?,
            reason: decode_str(Self::TYPE, reason, Self::MAX_REASON_LEN)?,
        })
    }
    fn encoded_len(&self) -> usize {
        4 + self.reason.len()
    }
    fn encode(&self, _: &TransactionId, out: &mut Vec<u8>) -> Result<(), Error> {
        check_code(Self::TYPE, self.code, self.reason)?;
        out.extend_from_slice(&[0, 0, self.class(), self.number()]);
        out.extend_from_slice(self.reason.as_bytes());
        Ok(())
    }
}

/// UNKNOWN-ATTRIBUTES: the comprehension-required types a 420 response did not understand
/// (RFC 8489 §14.13).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct UnknownAttributes(pub Vec<AttributeType>);

impl<'a> AttributeValue<'a> for UnknownAttributes {
    const TYPE: AttributeType = AttributeType::UNKNOWN_ATTRIBUTES;
    fn decode(value: &'a [u8], _: &TransactionId) -> Result<Self, Error> {
        if value.len() % 2 != 0 {
            return Err(Error::InvalidAttributeLength {
                typ: Self::TYPE,
                len: value.len(),
            });
        }
        Ok(UnknownAttributes(
            value
                .chunks_exact(2)
                .map(|c| AttributeType(u16::from_be_bytes([c[0], c[1]])))
                .collect(),
        ))
    }
    fn encoded_len(&self) -> usize {
        2 * self.0.len()
    }
    fn encode(&self, _: &TransactionId, out: &mut Vec<u8>) -> Result<(), Error> {
        check_len(Self::TYPE, self.encoded_len(), usize::from(u16::MAX))?;
        for t in &self.0 {
            out.extend_from_slice(&t.0.to_be_bytes());
        }
        Ok(())
    }
}

/// A password algorithm number (RFC 8489 §18.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AlgorithmId(pub u16);

impl AlgorithmId {
    /// MD5, 0x0001: the RFC 5389 long-term key.
    pub const MD5: Self = Self(0x0001);
    /// SHA-256, 0x0002.
    pub const SHA256: Self = Self(0x0002);
}

/// PASSWORD-ALGORITHM: the algorithm the client chose for its long-term key
/// (RFC 8489 §14.12). Also one entry of [`PasswordAlgorithms`].
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |          Algorithm            |  Algorithm Parameters Length  |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                    Algorithm Parameters (variable)
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PasswordAlgorithm<'a> {
    /// The algorithm number.
    pub algorithm: AlgorithmId,
    /// Its parameters (empty for MD5 and SHA-256).
    pub parameters: &'a [u8],
}

impl PasswordAlgorithm<'static> {
    /// MD5 without parameters.
    pub const MD5: Self = Self {
        algorithm: AlgorithmId::MD5,
        parameters: &[],
    };
    /// SHA-256 without parameters.
    pub const SHA256: Self = Self {
        algorithm: AlgorithmId::SHA256,
        parameters: &[],
    };
}

/// Splits one algorithm entry off `value`; returns the entry and the rest after padding.
fn split_algorithm(
    typ: AttributeType,
    value: &[u8],
) -> Result<(PasswordAlgorithm<'_>, &[u8]), Error> {
    let bad_len = || Error::InvalidAttributeLength {
        typ,
        len: value.len(),
    };
    let [a0, a1, l0, l1, rest @ ..] = value else {
        return Err(bad_len());
    };
    let len = usize::from(u16::from_be_bytes([*l0, *l1]));
    let parameters = rest.get(..len).ok_or_else(bad_len)?;
    // Entries inside PASSWORD-ALGORITHMS are padded; the single PASSWORD-ALGORITHM's padding
    // is the TLV's, outside the value.
    let padded = (len + 3) & !3;
    let rest = rest
        .get(padded..)
        .or(rest.get(len..).filter(|r| r.is_empty()))
        .ok_or_else(bad_len)?;
    Ok((
        PasswordAlgorithm {
            algorithm: AlgorithmId(u16::from_be_bytes([*a0, *a1])),
            parameters,
        },
        rest,
    ))
}

fn encode_algorithm(
    typ: AttributeType,
    a: &PasswordAlgorithm<'_>,
    pad: bool,
    out: &mut Vec<u8>,
) -> Result<(), Error> {
    let len = u16::try_from(a.parameters.len()).map_err(|_| Error::ValueTooLong {
        typ,
        len: a.parameters.len(),
    })?;
    out.extend_from_slice(&a.algorithm.0.to_be_bytes());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(a.parameters);
    if pad {
        out.resize(out.len() + (4 - a.parameters.len() % 4) % 4, 0);
    }
    Ok(())
}

impl<'a> AttributeValue<'a> for PasswordAlgorithm<'a> {
    const TYPE: AttributeType = AttributeType::PASSWORD_ALGORITHM;
    fn decode(value: &'a [u8], _: &TransactionId) -> Result<Self, Error> {
        let (a, _) = split_algorithm(Self::TYPE, value)?;
        if 4 + a.parameters.len() != value.len() {
            return Err(Error::InvalidAttributeLength {
                typ: Self::TYPE,
                len: value.len(),
            });
        }
        Ok(a)
    }
    fn encoded_len(&self) -> usize {
        4 + self.parameters.len()
    }
    fn encode(&self, _: &TransactionId, out: &mut Vec<u8>) -> Result<(), Error> {
        check_len(Self::TYPE, self.encoded_len(), usize::from(u16::MAX))?;
        encode_algorithm(Self::TYPE, self, false, out)
    }
}

/// PASSWORD-ALGORITHMS: the algorithms a server accepts, in order of preference
/// (RFC 8489 §14.11). Each entry is padded to 4 bytes inside the value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct PasswordAlgorithms<'a>(pub Vec<PasswordAlgorithm<'a>>);

impl<'a> AttributeValue<'a> for PasswordAlgorithms<'a> {
    const TYPE: AttributeType = AttributeType::PASSWORD_ALGORITHMS;
    fn decode(mut value: &'a [u8], _: &TransactionId) -> Result<Self, Error> {
        let mut list = Vec::new();
        while !value.is_empty() {
            let (a, rest) = split_algorithm(Self::TYPE, value)?;
            if a.parameters.len() % 4 != 0 && rest.len() + 4 + a.parameters.len() == value.len() {
                // The last entry's padding is missing.
                return Err(Error::InvalidAttributeLength {
                    typ: Self::TYPE,
                    len: value.len(),
                });
            }
            list.push(a);
            value = rest;
        }
        Ok(PasswordAlgorithms(list))
    }
    fn encoded_len(&self) -> usize {
        self.0
            .iter()
            .map(|a| 4 + ((a.parameters.len() + 3) & !3))
            .sum()
    }
    fn encode(&self, _: &TransactionId, out: &mut Vec<u8>) -> Result<(), Error> {
        check_len(Self::TYPE, self.encoded_len(), usize::from(u16::MAX))?;
        for a in &self.0 {
            encode_algorithm(Self::TYPE, a, true, out)?;
        }
        Ok(())
    }
}

macro_rules! int_attribute {
    ($(#[$doc:meta])* $name:ident, $typ:ident, $int:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name(pub $int);

        impl<'a> AttributeValue<'a> for $name {
            const TYPE: AttributeType = AttributeType::$typ;
            fn decode(value: &'a [u8], _: &TransactionId) -> Result<Self, Error> {
                exact(Self::TYPE, value).map(|b| $name(<$int>::from_be_bytes(b)))
            }
            fn encoded_len(&self) -> usize {
                core::mem::size_of::<$int>()
            }
            fn encode(&self, _: &TransactionId, out: &mut Vec<u8>) -> Result<(), Error> {
                out.extend_from_slice(&self.0.to_be_bytes());
                Ok(())
            }
        }
    };
}

int_attribute!(
    /// PRIORITY: the priority a peer-reflexive candidate learned from this check would get
    /// (RFC 8445 §7.1.1, §16.1).
    Priority, PRIORITY, u32
);
int_attribute!(
    /// ICE-CONTROLLED: the sender is in the controlled role; the value is its tiebreaker
    /// (RFC 8445 §7.1.3, §16.1).
    IceControlled, ICE_CONTROLLED, u64
);
int_attribute!(
    /// ICE-CONTROLLING: the sender is in the controlling role; the value is its tiebreaker
    /// (RFC 8445 §7.1.3, §16.1).
    IceControlling, ICE_CONTROLLING, u64
);
int_attribute!(
    /// NOMINATION: the controlling agent nominates (or renominates) this pair; the controlled
    /// agent selects the pair with the highest value (draft-thatcher-ice-renomination §3).
    /// Comprehension-optional. The value is a 32-bit unsigned integer, as libwebrtc reads and
    /// writes it (`StunUInt32Attribute`).
    Nomination, NOMINATION, u32
);
int_attribute!(
    /// LIFETIME: the allocation's remaining lifetime in seconds (RFC 8656 §18.2).
    Lifetime, LIFETIME, u32
);
int_attribute!(
    /// CONNECTION-ID: identifies a TCP connection between TURN server and peer
    /// (RFC 6062 §6.2.1).
    ConnectionId, CONNECTION_ID, u32
);

macro_rules! flag_attribute {
    ($(#[$doc:meta])* $name:ident, $typ:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $name;

        impl<'a> AttributeValue<'a> for $name {
            const TYPE: AttributeType = AttributeType::$typ;
            fn decode(value: &'a [u8], _: &TransactionId) -> Result<Self, Error> {
                exact::<0>(Self::TYPE, value).map(|_| $name)
            }
            fn encoded_len(&self) -> usize {
                0
            }
            fn encode(&self, _: &TransactionId, _: &mut Vec<u8>) -> Result<(), Error> {
                Ok(())
            }
        }
    };
}

flag_attribute!(
    /// USE-CANDIDATE: the controlling agent nominates this pair (RFC 8445 §7.1.2, §16.1).
    UseCandidate, USE_CANDIDATE
);
flag_attribute!(
    /// DONT-FRAGMENT: ask the TURN server to set DF on relayed packets (RFC 8656 §18.9).
    DontFragment, DONT_FRAGMENT
);

/// CHANNEL-NUMBER: a TURN channel number, 0x4000..=0x4FFF when valid (RFC 8656 §18.1).
///
/// ```text
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |        Channel Number         |         RFFU = 0              |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
///
/// Any number decodes; the TURN layer checks the range (it answers 400 otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChannelNumber(pub u16);

impl<'a> AttributeValue<'a> for ChannelNumber {
    const TYPE: AttributeType = AttributeType::CHANNEL_NUMBER;
    fn decode(value: &'a [u8], _: &TransactionId) -> Result<Self, Error> {
        let [a, b, _, _] = exact(Self::TYPE, value)?;
        Ok(ChannelNumber(u16::from_be_bytes([a, b])))
    }
    fn encoded_len(&self) -> usize {
        4
    }
    fn encode(&self, _: &TransactionId, out: &mut Vec<u8>) -> Result<(), Error> {
        out.extend_from_slice(&self.0.to_be_bytes());
        out.extend_from_slice(&[0, 0]);
        Ok(())
    }
}

/// DATA: the application data of a Send or Data indication (RFC 8656 §18.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Data<'a>(pub &'a [u8]);

impl<'a> AttributeValue<'a> for Data<'a> {
    const TYPE: AttributeType = AttributeType::DATA;
    fn decode(value: &'a [u8], _: &TransactionId) -> Result<Self, Error> {
        Ok(Data(value))
    }
    fn encoded_len(&self) -> usize {
        self.0.len()
    }
    fn encode(&self, _: &TransactionId, out: &mut Vec<u8>) -> Result<(), Error> {
        check_len(Self::TYPE, self.0.len(), usize::from(u16::MAX))?;
        out.extend_from_slice(self.0);
        Ok(())
    }
}

macro_rules! family_attribute {
    ($(#[$doc:meta])* $name:ident, $typ:ident) => {
        $(#[$doc])*
        ///
        /// ```text
        /// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
        /// |    Family     |            Reserved                           |
        /// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
        /// ```
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name(pub AddressFamily);

        impl<'a> AttributeValue<'a> for $name {
            const TYPE: AttributeType = AttributeType::$typ;
            fn decode(value: &'a [u8], _: &TransactionId) -> Result<Self, Error> {
                let [family, _, _, _] = exact(Self::TYPE, value)?;
                decode_family(Self::TYPE, family).map($name)
            }
            fn encoded_len(&self) -> usize {
                4
            }
            fn encode(&self, _: &TransactionId, out: &mut Vec<u8>) -> Result<(), Error> {
                out.extend_from_slice(&[self.0.to_u8(), 0, 0, 0]);
                Ok(())
            }
        }
    };
}

family_attribute!(
    /// REQUESTED-ADDRESS-FAMILY: the family of the relayed address a client asks for
    /// (RFC 8656 §18.6).
    RequestedAddressFamily, REQUESTED_ADDRESS_FAMILY
);
family_attribute!(
    /// ADDITIONAL-ADDRESS-FAMILY: ask for a second, IPv6 relayed address (RFC 8656 §18.11).
    AdditionalAddressFamily, ADDITIONAL_ADDRESS_FAMILY
);

/// EVEN-PORT: ask for an even relayed port, and with `reserve` also reserve the next port
/// (RFC 8656 §18.7). One byte of value; the R flag is its most significant bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct EvenPort {
    /// The R bit: reserve the next-higher port too.
    pub reserve: bool,
}

impl<'a> AttributeValue<'a> for EvenPort {
    const TYPE: AttributeType = AttributeType::EVEN_PORT;
    fn decode(value: &'a [u8], _: &TransactionId) -> Result<Self, Error> {
        let [flags] = exact(Self::TYPE, value)?;
        Ok(EvenPort {
            reserve: flags & 0x80 != 0,
        })
    }
    fn encoded_len(&self) -> usize {
        1
    }
    fn encode(&self, _: &TransactionId, out: &mut Vec<u8>) -> Result<(), Error> {
        out.push(if self.reserve { 0x80 } else { 0 });
        Ok(())
    }
}

/// REQUESTED-TRANSPORT: the IP protocol of the relayed address; 17 (UDP) or, with RFC 6062,
/// 6 (TCP) (RFC 8656 §18.8).
///
/// ```text
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |    Protocol   |                    RFFU                       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestedTransport(pub u8);

impl RequestedTransport {
    /// UDP, protocol 17.
    pub const UDP: Self = Self(17);
    /// TCP, protocol 6 (RFC 6062).
    pub const TCP: Self = Self(6);
}

impl<'a> AttributeValue<'a> for RequestedTransport {
    const TYPE: AttributeType = AttributeType::REQUESTED_TRANSPORT;
    fn decode(value: &'a [u8], _: &TransactionId) -> Result<Self, Error> {
        let [protocol, _, _, _] = exact(Self::TYPE, value)?;
        Ok(RequestedTransport(protocol))
    }
    fn encoded_len(&self) -> usize {
        4
    }
    fn encode(&self, _: &TransactionId, out: &mut Vec<u8>) -> Result<(), Error> {
        out.extend_from_slice(&[self.0, 0, 0, 0]);
        Ok(())
    }
}

/// RESERVATION-TOKEN: a token naming a relayed port reserved with EVEN-PORT
/// (RFC 8656 §18.10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReservationToken(pub [u8; 8]);

impl<'a> AttributeValue<'a> for ReservationToken {
    const TYPE: AttributeType = AttributeType::RESERVATION_TOKEN;
    fn decode(value: &'a [u8], _: &TransactionId) -> Result<Self, Error> {
        exact(Self::TYPE, value).map(ReservationToken)
    }
    fn encoded_len(&self) -> usize {
        8
    }
    fn encode(&self, _: &TransactionId, out: &mut Vec<u8>) -> Result<(), Error> {
        out.extend_from_slice(&self.0);
        Ok(())
    }
}

/// ADDRESS-ERROR-CODE: why the relayed address of one family could not be allocated
/// (RFC 8656 §18.12).
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  Family       |    Reserved             |Class|     Number    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |      Reason Phrase (variable)                                ..
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddressErrorCode<'a> {
    /// The family the error is about.
    pub family: AddressFamily,
    /// The code, 300..=699.
    pub code: u16,
    /// The reason phrase, UTF-8, at most 763 bytes.
    pub reason: &'a str,
}

impl<'a> AttributeValue<'a> for AddressErrorCode<'a> {
    const TYPE: AttributeType = AttributeType::ADDRESS_ERROR_CODE;
    fn decode(value: &'a [u8], _: &TransactionId) -> Result<Self, Error> {
        let [family, _, class, number, reason @ ..] = value else {
            return Err(Error::InvalidAttributeLength {
                typ: Self::TYPE,
                len: value.len(),
            });
        };
        Ok(AddressErrorCode {
            family: decode_family(Self::TYPE, *family)?,
            code: decode_code(Self::TYPE, *class, *number)?,
            reason: decode_str(Self::TYPE, reason, ErrorCode::MAX_REASON_LEN)?,
        })
    }
    fn encoded_len(&self) -> usize {
        4 + self.reason.len()
    }
    fn encode(&self, _: &TransactionId, out: &mut Vec<u8>) -> Result<(), Error> {
        check_code(Self::TYPE, self.code, self.reason)?;
        let e = ErrorCode::new(self.code, self.reason);
        out.extend_from_slice(&[self.family.to_u8(), 0, e.class(), e.number()]);
        out.extend_from_slice(self.reason.as_bytes());
        Ok(())
    }
}

/// ICMP: an ICMP error the TURN server received for a relayed packet (RFC 8656 §18.13).
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  Reserved                     |  ICMP Type    |  ICMP Code    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                          Error Data                           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Icmp {
    /// The ICMP type.
    pub icmp_type: u8,
    /// The ICMP code.
    pub icmp_code: u8,
    /// Type-specific data (the MTU for "fragmentation needed"/"packet too big").
    pub error_data: u32,
}

impl<'a> AttributeValue<'a> for Icmp {
    const TYPE: AttributeType = AttributeType::ICMP;
    fn decode(value: &'a [u8], _: &TransactionId) -> Result<Self, Error> {
        let [_, _, icmp_type, icmp_code, d0, d1, d2, d3] = exact(Self::TYPE, value)?;
        Ok(Icmp {
            icmp_type,
            icmp_code,
            error_data: u32::from_be_bytes([d0, d1, d2, d3]),
        })
    }
    fn encoded_len(&self) -> usize {
        8
    }
    fn encode(&self, _: &TransactionId, out: &mut Vec<u8>) -> Result<(), Error> {
        out.extend_from_slice(&[0, 0, self.icmp_type, self.icmp_code]);
        out.extend_from_slice(&self.error_data.to_be_bytes());
        Ok(())
    }
}

/// An attribute this crate has no typed value for, kept verbatim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UnknownAttribute<'a> {
    /// The attribute's type.
    pub typ: AttributeType,
    /// The value, without padding.
    pub value: &'a [u8],
}

macro_rules! attribute_enum {
    ($($variant:ident($ty:ty) = $konst:ident),* $(,)?) => {
        /// Any attribute, typed (RFC 8489 §14 and the ICE and TURN attributes).
        ///
        /// Unknown attributes are kept as [`Attribute::Unknown`] whatever their
        /// comprehension range; [`Message::unknown_comprehension_required`](crate::Message::unknown_comprehension_required)
        /// lists those a server must answer 420 for.
        #[derive(Debug, Clone, PartialEq, Eq)]
        #[non_exhaustive]
        pub enum Attribute<'a> {
            $(
                #[doc = concat!("See [`", stringify!($variant), "`].")]
                $variant($ty),
            )*
            /// An attribute without a typed value here, kept verbatim.
            Unknown(UnknownAttribute<'a>),
        }

        impl<'a> Attribute<'a> {
            /// Decodes the value of an attribute of type `typ`.
            ///
            /// # Errors
            /// As [`AttributeValue::decode`] for known types; unknown types never fail.
            pub fn decode(
                typ: AttributeType,
                value: &'a [u8],
                transaction_id: &TransactionId,
            ) -> Result<Self, Error> {
                // Constant patterns: the compiler turns this into a jump table.
                match typ {
                    $(
                        AttributeType::$konst => {
                            <$ty as AttributeValue<'a>>::decode(value, transaction_id).map(Attribute::$variant)
                        }
                    )*
                    _ => Ok(Attribute::Unknown(UnknownAttribute { typ, value })),
                }
            }

            /// The attribute's type number.
            pub fn attribute_type(&self) -> AttributeType {
                match self {
                    $(Attribute::$variant(_) => AttributeType::$konst,)*
                    Attribute::Unknown(u) => u.typ,
                }
            }

            /// Length of the encoded value, without padding.
            pub fn encoded_len(&self) -> usize {
                match self {
                    $(Attribute::$variant(v) => v.encoded_len(),)*
                    Attribute::Unknown(u) => u.value.len(),
                }
            }

            /// Appends the encoded value (no TLV header, no padding).
            ///
            /// # Errors
            /// As [`AttributeValue::encode`].
            pub fn encode(&self, transaction_id: &TransactionId, out: &mut Vec<u8>) -> Result<(), Error> {
                match self {
                    $(Attribute::$variant(v) => v.encode(transaction_id, out),)*
                    Attribute::Unknown(u) => {
                        check_len(u.typ, u.value.len(), usize::from(u16::MAX))?;
                        out.extend_from_slice(u.value);
                        Ok(())
                    }
                }
            }
        }

        $(
            impl<'a> From<$ty> for Attribute<'a> {
                fn from(value: $ty) -> Self {
                    Attribute::$variant(value)
                }
            }
        )*
    };
}

attribute_enum! {
    MappedAddress(MappedAddress) = MAPPED_ADDRESS,
    Username(Username<'a>) = USERNAME,
    MessageIntegrity(MessageIntegrity) = MESSAGE_INTEGRITY,
    ErrorCode(ErrorCode<'a>) = ERROR_CODE,
    UnknownAttributes(UnknownAttributes) = UNKNOWN_ATTRIBUTES,
    ChannelNumber(ChannelNumber) = CHANNEL_NUMBER,
    Lifetime(Lifetime) = LIFETIME,
    XorPeerAddress(XorPeerAddress) = XOR_PEER_ADDRESS,
    Data(Data<'a>) = DATA,
    Realm(Realm<'a>) = REALM,
    Nonce(Nonce<'a>) = NONCE,
    XorRelayedAddress(XorRelayedAddress) = XOR_RELAYED_ADDRESS,
    RequestedAddressFamily(RequestedAddressFamily) = REQUESTED_ADDRESS_FAMILY,
    EvenPort(EvenPort) = EVEN_PORT,
    RequestedTransport(RequestedTransport) = REQUESTED_TRANSPORT,
    DontFragment(DontFragment) = DONT_FRAGMENT,
    MessageIntegritySha256(MessageIntegritySha256) = MESSAGE_INTEGRITY_SHA256,
    PasswordAlgorithm(PasswordAlgorithm<'a>) = PASSWORD_ALGORITHM,
    Userhash(Userhash) = USERHASH,
    XorMappedAddress(XorMappedAddress) = XOR_MAPPED_ADDRESS,
    ReservationToken(ReservationToken) = RESERVATION_TOKEN,
    Priority(Priority) = PRIORITY,
    UseCandidate(UseCandidate) = USE_CANDIDATE,
    ConnectionId(ConnectionId) = CONNECTION_ID,
    AdditionalAddressFamily(AdditionalAddressFamily) = ADDITIONAL_ADDRESS_FAMILY,
    AddressErrorCode(AddressErrorCode<'a>) = ADDRESS_ERROR_CODE,
    PasswordAlgorithms(PasswordAlgorithms<'a>) = PASSWORD_ALGORITHMS,
    AlternateDomain(AlternateDomain<'a>) = ALTERNATE_DOMAIN,
    Icmp(Icmp) = ICMP,
    Software(Software<'a>) = SOFTWARE,
    AlternateServer(AlternateServer) = ALTERNATE_SERVER,
    Fingerprint(Fingerprint) = FINGERPRINT,
    IceControlled(IceControlled) = ICE_CONTROLLED,
    IceControlling(IceControlling) = ICE_CONTROLLING,
    Nomination(Nomination) = NOMINATION,
}

impl<'a> From<UnknownAttribute<'a>> for Attribute<'a> {
    fn from(value: UnknownAttribute<'a>) -> Self {
        Attribute::Unknown(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: TransactionId = TransactionId([0; 12]);

    #[test]
    fn nonce_security_features_round_trip() {
        let f = SecurityFeatures::PASSWORD_ALGORITHMS | SecurityFeatures::USERNAME_ANONYMITY;
        let s = Nonce::with_security_features(f, "abc");
        assert_eq!(s, "obMatJos2AAADabc");
        assert_eq!(Nonce(&s).security_features(), Some(f));
        assert!(f.contains(SecurityFeatures::USERNAME_ANONYMITY));
        assert_eq!(Nonce("plain").security_features(), None);
        assert_eq!(Nonce("obMatJos2AA").security_features(), None);
        assert_eq!(Nonce("obMatJos2AA*A").security_features(), None);
        assert_eq!(
            Nonce("obMatJos2////").security_features(),
            Some(SecurityFeatures(0xFF_FFFF))
        );
    }

    #[test]
    fn error_code_decoding() {
        let e = ErrorCode::decode(&[0, 0, 4, 20, b'U', b'n'], &ID).unwrap();
        assert_eq!(e, ErrorCode::new(420, "Un"));
        // Reserved bits are ignored, the class is 3 bits.
        assert_eq!(
            ErrorCode::decode(&[0xff, 0xff, 0xfc, 1], &ID).unwrap().code,
            401
        );
        assert!(ErrorCode::decode(&[0, 0, 2, 0], &ID).is_err());
        assert!(ErrorCode::decode(&[0, 0, 7, 0], &ID).is_err());
        assert!(ErrorCode::decode(&[0, 0, 4, 100], &ID).is_err());
        assert!(ErrorCode::decode(&[0, 0, 4], &ID).is_err());
        assert!(
            ErrorCode::decode(&[0, 0, 4, 0, 0xff], &ID).is_err(),
            "not utf-8"
        );
        assert_eq!(ErrorCode::from_code(438), ErrorCode::STALE_NONCE);
        assert_eq!(ErrorCode::from_code(499), ErrorCode::new(499, ""));
        assert_eq!(ErrorCode::UNAUTHORIZED.class(), 4);
        assert_eq!(ErrorCode::UNAUTHORIZED.number(), 1);
    }

    #[test]
    fn addresses_reject_bad_family_and_lengths() {
        assert!(MappedAddress::decode(&[0, 3, 0, 1, 1, 2, 3, 4], &ID).is_err());
        assert!(MappedAddress::decode(&[0, 1, 0, 1, 1, 2, 3], &ID).is_err());
        assert!(MappedAddress::decode(&[0, 2, 0, 1, 1, 2, 3, 4], &ID).is_err());
        assert!(MappedAddress::decode(&[0, 1, 0], &ID).is_err());
        let a = MappedAddress::decode(&[0, 1, 0x0d, 0x96, 192, 0, 2, 1], &ID).unwrap();
        assert_eq!(a.0, "192.0.2.1:3478".parse().unwrap());
    }

    #[test]
    fn fixed_length_attributes_reject_other_lengths() {
        assert!(Priority::decode(&[0; 5], &ID).is_err());
        assert!(IceControlling::decode(&[0; 4], &ID).is_err());
        assert!(Nomination::decode(&[0; 3], &ID).is_err());
        assert!(Nomination::decode(&[0; 8], &ID).is_err());
        assert!(UseCandidate::decode(&[0], &ID).is_err());
        assert!(Userhash::decode(&[0; 31], &ID).is_err());
        assert!(MessageIntegrity::decode(&[0; 32], &ID).is_err());
        assert!(MessageIntegritySha256::decode(&[0; 36], &ID).is_err());
        assert!(MessageIntegritySha256::decode(&[0; 12], &ID).is_err());
        assert!(EvenPort::decode(&[0x80, 0], &ID).is_err());
        assert_eq!(
            EvenPort::decode(&[0x80], &ID),
            Ok(EvenPort { reserve: true })
        );
        assert!(RequestedAddressFamily::decode(&[3, 0, 0, 0], &ID).is_err());
        assert!(UnknownAttributes::decode(&[0, 1, 0], &ID).is_err());
        assert!(Icmp::decode(&[0; 7], &ID).is_err());
    }

    #[test]
    fn password_algorithms_layout() {
        // MD5 then SHA-256, no parameters.
        let v = [0, 1, 0, 0, 0, 2, 0, 0];
        let list = PasswordAlgorithms::decode(&v, &ID).unwrap();
        assert_eq!(list.0, [PasswordAlgorithm::MD5, PasswordAlgorithm::SHA256]);
        // An entry with 1 byte of parameters is padded to 4 inside the list.
        let v = [0, 9, 0, 1, 0xaa, 0, 0, 0, 0, 1, 0, 0];
        let list = PasswordAlgorithms::decode(&v, &ID).unwrap();
        assert_eq!(list.0[0].parameters, [0xaa]);
        assert_eq!(list.0[1], PasswordAlgorithm::MD5);
        let mut out = Vec::new();
        list.encode(&ID, &mut out).unwrap();
        assert_eq!(out, v);
        // Missing padding after the last entry, and parameters overrunning, are errors.
        assert!(PasswordAlgorithms::decode(&[0, 9, 0, 1, 0xaa], &ID).is_err());
        assert!(PasswordAlgorithms::decode(&[0, 9, 0, 8, 0xaa], &ID).is_err());
        // The single PASSWORD-ALGORITHM is not padded inside its value.
        assert!(PasswordAlgorithm::decode(&[0, 9, 0, 1, 0xaa], &ID).is_ok());
        assert!(PasswordAlgorithm::decode(&[0, 9, 0, 1, 0xaa, 0, 0, 0], &ID).is_err());
    }

    #[test]
    fn strings_are_checked() {
        assert!(Username::decode(&[0xc3, 0x28], &ID).is_err());
        assert!(Username::decode(&[b'a'; 513], &ID).is_err());
        assert!(Username::decode(&[b'a'; 512], &ID).is_ok());
        assert!(Realm::decode(&[b'a'; 764], &ID).is_err());
        assert!(AlternateDomain::decode(&[b'a'; 256], &ID).is_err());
    }

    #[test]
    fn attribute_type_names() {
        assert_eq!(
            AttributeType::XOR_MAPPED_ADDRESS.to_string(),
            "XOR-MAPPED-ADDRESS"
        );
        assert_eq!(AttributeType(0x7777).to_string(), "0x7777");
        assert!(AttributeType::PRIORITY.is_comprehension_required());
        assert!(!AttributeType::SOFTWARE.is_comprehension_required());
        assert_eq!(AttributeType::NOMINATION.to_string(), "NOMINATION");
        assert!(!AttributeType::NOMINATION.is_comprehension_required());
    }

    #[test]
    fn nomination_exact_bytes() {
        use crate::{Class, Message, MessageBuilder, Method};
        // A 32-bit unsigned value, network order, as libwebrtc's StunUInt32Attribute.
        let mut out = Vec::new();
        let mut b = MessageBuilder::new(&mut out, Class::Request, Method::Binding, ID);
        b.add(&Nomination(0x0102_0304)).unwrap();
        let bytes = b.finish().to_vec();
        assert_eq!(
            bytes[20..],
            [0xC0, 0x01, 0x00, 0x04, 0x01, 0x02, 0x03, 0x04]
        );
        let msg = Message::new_checked(&bytes[..]).unwrap();
        assert_eq!(
            msg.attribute::<Nomination>().unwrap(),
            Some(Nomination(0x0102_0304))
        );
        assert_eq!(
            Attribute::decode(AttributeType::NOMINATION, &[0xff; 4], &ID),
            Ok(Attribute::Nomination(Nomination(u32::MAX)))
        );
    }
}
