//! The 20-byte message header (RFC 8489 §5) and the demultiplexing check.

use core::fmt;

/// The magic cookie, fixed at 0x2112A442 in network byte order (RFC 8489 §5).
pub const MAGIC_COOKIE: u32 = 0x2112_A442;

/// Length of the message header in bytes.
pub const HEADER_LEN: usize = 20;

/// Largest value of the header's length field that is a multiple of 4.
pub const MAX_BODY_LEN: usize = 0xFFFC;

/// Byte ranges of the header fields (RFC 8489 §5).
pub(crate) mod field {
    use core::ops::Range;
    pub(crate) const TYPE: Range<usize> = 0..2;
    pub(crate) const LENGTH: Range<usize> = 2..4;
    pub(crate) const COOKIE: Range<usize> = 4..8;
    pub(crate) const TRANSACTION_ID: Range<usize> = 8..20;
}

/// The class of a message: the C1 and C0 bits of the message type (RFC 8489 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    /// A request (0b00): expects a response.
    Request,
    /// An indication (0b01): no response.
    Indication,
    /// A success response (0b10).
    SuccessResponse,
    /// An error response (0b11): carries an ERROR-CODE.
    ErrorResponse,
}

impl Class {
    /// The class as its two bits (C1 C0), 0..=3.
    pub const fn bits(self) -> u16 {
        match self {
            Class::Request => 0b00,
            Class::Indication => 0b01,
            Class::SuccessResponse => 0b10,
            Class::ErrorResponse => 0b11,
        }
    }

    /// The class from its two bits (C1 C0); higher bits are ignored.
    pub const fn from_bits(bits: u16) -> Class {
        match bits & 0b11 {
            0b00 => Class::Request,
            0b01 => Class::Indication,
            0b10 => Class::SuccessResponse,
            _ => Class::ErrorResponse,
        }
    }

    /// Whether this is a success or error response.
    pub const fn is_response(self) -> bool {
        matches!(self, Class::SuccessResponse | Class::ErrorResponse)
    }
}

/// A STUN method: the 12 M bits of the message type (RFC 8489 §5, §18.2; RFC 8656 §17;
/// RFC 6062 §6.1).
///
/// `Method::from(u16)` is canonical: known numbers become their variant, other numbers
/// (masked to 12 bits) become [`Method::Unknown`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    /// Binding, 0x001 (RFC 8489).
    Binding,
    /// Allocate, 0x003 (RFC 8656).
    Allocate,
    /// Refresh, 0x004 (RFC 8656).
    Refresh,
    /// Send, 0x006 (RFC 8656; indications only).
    Send,
    /// Data, 0x007 (RFC 8656; indications only).
    Data,
    /// CreatePermission, 0x008 (RFC 8656).
    CreatePermission,
    /// ChannelBind, 0x009 (RFC 8656).
    ChannelBind,
    /// Connect, 0x00A (RFC 6062).
    Connect,
    /// ConnectionBind, 0x00B (RFC 6062).
    ConnectionBind,
    /// ConnectionAttempt, 0x00C (RFC 6062; indications only).
    ConnectionAttempt,
    /// Any other method number (12 bits).
    Unknown(u16),
}

impl Method {
    /// The method from its 12-bit number (higher bits are ignored).
    pub const fn from_u16(value: u16) -> Method {
        match value & 0x0FFF {
            0x001 => Method::Binding,
            0x003 => Method::Allocate,
            0x004 => Method::Refresh,
            0x006 => Method::Send,
            0x007 => Method::Data,
            0x008 => Method::CreatePermission,
            0x009 => Method::ChannelBind,
            0x00A => Method::Connect,
            0x00B => Method::ConnectionBind,
            0x00C => Method::ConnectionAttempt,
            other => Method::Unknown(other),
        }
    }

    /// The method's 12-bit number.
    pub const fn to_u16(self) -> u16 {
        match self {
            Method::Binding => 0x001,
            Method::Allocate => 0x003,
            Method::Refresh => 0x004,
            Method::Send => 0x006,
            Method::Data => 0x007,
            Method::CreatePermission => 0x008,
            Method::ChannelBind => 0x009,
            Method::Connect => 0x00A,
            Method::ConnectionBind => 0x00B,
            Method::ConnectionAttempt => 0x00C,
            Method::Unknown(v) => v & 0x0FFF,
        }
    }
}

impl From<u16> for Method {
    fn from(value: u16) -> Self {
        Method::from_u16(value)
    }
}

impl From<Method> for u16 {
    fn from(value: Method) -> Self {
        value.to_u16()
    }
}

/// The 16-bit message type from a class and method (RFC 8489 §5, figure 3):
///
/// ```text
///  0                 1
///  2  3  4 5 6 7 8 9 0 1 2 3 4 5
/// +--+--+-+-+-+-+-+-+-+-+-+-+-+-+
/// |M |M |M|M|M|C|M|M|M|C|M|M|M|M|
/// |11|10|9|8|7|1|6|5|4|0|3|2|1|0|
/// +--+--+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
pub const fn message_type(class: Class, method: Method) -> u16 {
    let m = method.to_u16();
    let c = class.bits();
    (m & 0x000F) | ((m & 0x0070) << 1) | ((m & 0x0F80) << 2) | ((c & 0b01) << 4) | ((c & 0b10) << 7)
}

/// Splits a message type into class and method; the two most significant bits are ignored.
pub const fn split_message_type(message_type: u16) -> (Class, Method) {
    let t = message_type;
    let m = (t & 0x000F) | ((t >> 1) & 0x0070) | ((t >> 2) & 0x0F80);
    let c = ((t >> 4) & 0b01) | ((t >> 7) & 0b10);
    (Class::from_bits(c), Method::from_u16(m))
}

/// The 96-bit transaction id (RFC 8489 §5).
///
/// Requests must use a fresh, cryptographically random id: [`TransactionId::random`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct TransactionId(pub [u8; 12]);

impl TransactionId {
    /// A fresh id from a cryptographically secure random source (RFC 8489 §6).
    pub fn random<R: rand_core::RngCore + rand_core::CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut id = [0u8; 12];
        rng.fill_bytes(&mut id);
        TransactionId(id)
    }

    /// The id's bytes.
    pub const fn as_bytes(&self) -> &[u8; 12] {
        &self.0
    }
}

impl From<[u8; 12]> for TransactionId {
    fn from(value: [u8; 12]) -> Self {
        TransactionId(value)
    }
}

impl fmt::Debug for TransactionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TransactionId({self})")
    }
}

impl fmt::Display for TransactionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// Whether a datagram is a STUN message, for demultiplexing one socket (RFC 7983 §7, RFC 8489
/// §5): the first byte is 0..=3, the magic cookie is present, the length field is a multiple
/// of 4 and matches the datagram's length exactly. Allocation free, a few comparisons.
///
/// It does not check FINGERPRINT; use [`Message::verify_fingerprint`](crate::Message::verify_fingerprint)
/// where the usage requires it (ICE does).
///
/// ```
/// # use oxrtc_stun::is_stun;
/// let binding_request = [
///     0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, // type, length, cookie
///     1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,          // transaction id
/// ];
/// assert!(is_stun(&binding_request));
/// assert!(!is_stun(&[0x16, 0xfe, 0xfd])); // a DTLS record
/// ```
#[inline]
pub fn is_stun(datagram: &[u8]) -> bool {
    let Some(header) = datagram.first_chunk::<HEADER_LEN>() else {
        return false;
    };
    let [b0, _, l0, l1, c0, c1, c2, c3, ..] = *header;
    let length = usize::from(u16::from_be_bytes([l0, l1]));
    b0 <= 3
        && u32::from_be_bytes([c0, c1, c2, c3]) == MAGIC_COOKIE
        && length % 4 == 0
        && datagram.len() == HEADER_LEN + length
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_type_known_values() {
        // RFC 8489 §5: Binding request 0x0001, success 0x0101, error 0x0111, indication 0x0011.
        assert_eq!(message_type(Class::Request, Method::Binding), 0x0001);
        assert_eq!(
            message_type(Class::SuccessResponse, Method::Binding),
            0x0101
        );
        assert_eq!(message_type(Class::ErrorResponse, Method::Binding), 0x0111);
        assert_eq!(message_type(Class::Indication, Method::Binding), 0x0011);
        // RFC 8656: Allocate request 0x0003, Send indication 0x0016, Data indication 0x0017.
        assert_eq!(message_type(Class::Request, Method::Allocate), 0x0003);
        assert_eq!(message_type(Class::Indication, Method::Send), 0x0016);
        assert_eq!(message_type(Class::Indication, Method::Data), 0x0017);
        assert_eq!(
            message_type(Class::ErrorResponse, Method::Unknown(0xFFF)),
            0x3FFF
        );
    }

    #[test]
    fn message_type_round_trips_every_value() {
        for t in 0u16..0x4000 {
            let (c, m) = split_message_type(t);
            assert_eq!(message_type(c, m), t);
            assert_eq!(Method::from(m.to_u16()), m);
        }
    }

    #[test]
    fn is_stun_checks() {
        let mut msg = vec![0x00, 0x01, 0x00, 0x04, 0x21, 0x12, 0xa4, 0x42];
        msg.extend_from_slice(&[0; 12]);
        msg.extend_from_slice(&[0x00, 0x25, 0x00, 0x00]);
        assert!(is_stun(&msg));
        assert!(!is_stun(&msg[..msg.len() - 1]), "length mismatch");
        assert!(!is_stun(&msg[..19]), "short header");
        assert!(!is_stun(&[]));
        let mut bad = msg.clone();
        bad[0] = 0x40;
        assert!(!is_stun(&bad), "top bits");
        let mut bad = msg.clone();
        bad[7] = 0x43;
        assert!(!is_stun(&bad), "cookie");
        let mut bad = msg.clone();
        bad[3] = 0x02;
        bad.truncate(22);
        assert!(!is_stun(&bad), "unaligned length");
        // RTP (first byte 128..191) and DTLS (20..63) are rejected by the first byte alone.
        let mut rtp = msg.clone();
        rtp[0] = 0x80;
        assert!(!is_stun(&rtp));
    }

    #[test]
    fn transaction_id_display() {
        let id = TransactionId([
            0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae,
        ]);
        assert_eq!(id.to_string(), "b7e7a701bc34d686fa87dfae");
    }
}
