//! The zero-copy message view and the owned message representation.

use subtle::ConstantTimeEq;

use super::attribute::{Attribute, AttributeType, AttributeValue};
use super::builder::MessageBuilder;
use super::header::{
    field, split_message_type, Class, Method, TransactionId, HEADER_LEN, MAGIC_COOKIE,
};
use crate::integrity::{IntegrityKey, FINGERPRINT_XOR};
use crate::Error;

/// Most attributes [`MessageRepr::parse`] collects from one message; more is an error.
pub const MAX_ATTRIBUTES: usize = 256;

/// Most unknown comprehension-required types [`Message::unknown_comprehension_required`]
/// reports (the 420 response need not list every one).
pub const MAX_UNKNOWN_REPORTED: usize = 32;

/// A read-only view of a STUN message in a buffer (RFC 8489 §5), smoltcp style.
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |0 0|     STUN Message Type     |         Message Length        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                         Magic Cookie                          |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                                                               |
/// |                     Transaction ID (96 bits)                  |
/// |                                                               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                     Attributes (Message Length bytes)          ...
/// ```
///
/// [`Message::new_checked`] validates the header and the attribute framing (every TLV fits);
/// attribute values are decoded lazily by [`Message::attributes`] and borrow from the buffer.
/// Bytes after `20 + length` are ignored (stream transports may hold several messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<T: AsRef<[u8]>> {
    buffer: T,
}

/// How a message was authenticated by [`Message::verify_integrity`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IntegrityAlgorithm {
    /// MESSAGE-INTEGRITY, HMAC-SHA1 (RFC 8489 §14.5).
    HmacSha1,
    /// MESSAGE-INTEGRITY-SHA256, HMAC-SHA256 truncated to this many bytes (RFC 8489 §14.6).
    HmacSha256(u8),
}

impl<T: AsRef<[u8]>> Message<T> {
    /// Wraps a buffer without checking it. Accessors then return zeros or stop early rather
    /// than panic on a short buffer.
    pub const fn new_unchecked(buffer: T) -> Self {
        Message { buffer }
    }

    /// Wraps a buffer after [`check`](Self::check)ing it.
    ///
    /// # Errors
    /// As [`check`](Self::check).
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let m = Self::new_unchecked(buffer);
        m.check()?;
        Ok(m)
    }

    /// Checks the header (two zero bits, magic cookie, length a multiple of 4 that fits the
    /// buffer) and that every attribute TLV, with padding, fits the message exactly.
    ///
    /// # Errors
    /// [`Error::Truncated`], [`Error::NotStun`], [`Error::UnalignedLength`],
    /// [`Error::AttributeOverrun`].
    pub fn check(&self) -> Result<(), Error> {
        let buf = self.buffer.as_ref();
        let Some(header) = buf.first_chunk::<HEADER_LEN>() else {
            return Err(Error::Truncated {
                needed: HEADER_LEN,
                available: buf.len(),
            });
        };
        if header[0] & 0xC0 != 0
            || u32::from_be_bytes([header[4], header[5], header[6], header[7]]) != MAGIC_COOKIE
        {
            return Err(Error::NotStun);
        }
        let length = usize::from(u16::from_be_bytes([header[2], header[3]]));
        if length % 4 != 0 {
            return Err(Error::UnalignedLength(length));
        }
        let total = HEADER_LEN + length;
        let Some(mut body) = buf.get(HEADER_LEN..total) else {
            return Err(Error::Truncated {
                needed: total,
                available: buf.len(),
            });
        };
        while let [t0, t1, l0, l1, rest @ ..] = body {
            let padded = (usize::from(u16::from_be_bytes([*l0, *l1])) + 3) & !3;
            body = rest.get(padded..).ok_or(Error::AttributeOverrun {
                typ: AttributeType(u16::from_be_bytes([*t0, *t1])),
            })?;
        }
        // `length` is a multiple of 4 and every TLV is too, so nothing can be left over.
        Ok(())
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The underlying buffer, whole.
    pub fn buffer(&self) -> &T {
        &self.buffer
    }

    fn header_u16(&self, range: core::ops::Range<usize>) -> u16 {
        match self.buffer.as_ref().get(range) {
            Some(&[a, b]) => u16::from_be_bytes([a, b]),
            _ => 0,
        }
    }

    /// The 14-bit message type (class and method bits).
    pub fn message_type(&self) -> u16 {
        self.header_u16(field::TYPE) & 0x3FFF
    }

    /// The message class.
    pub fn class(&self) -> Class {
        split_message_type(self.message_type()).0
    }

    /// The method.
    pub fn method(&self) -> Method {
        split_message_type(self.message_type()).1
    }

    /// The length field: bytes of attributes after the header.
    pub fn length(&self) -> u16 {
        self.header_u16(field::LENGTH)
    }

    /// The magic cookie field.
    pub fn magic_cookie(&self) -> u32 {
        match self.buffer.as_ref().get(field::COOKIE) {
            Some(&[a, b, c, d]) => u32::from_be_bytes([a, b, c, d]),
            _ => 0,
        }
    }

    /// The transaction id.
    pub fn transaction_id(&self) -> TransactionId {
        let mut id = [0u8; 12];
        if let Some(b) = self.buffer.as_ref().get(field::TRANSACTION_ID) {
            id.copy_from_slice(b);
        }
        TransactionId(id)
    }

    /// The message's bytes: header and `length` bytes of attributes.
    pub fn as_bytes(&self) -> &[u8] {
        let buf = self.buffer.as_ref();
        let total = HEADER_LEN + usize::from(self.length());
        buf.get(..total).unwrap_or(buf)
    }

    /// Every attribute TLV in order, undecoded, including those the receiver must ignore
    /// (after MESSAGE-INTEGRITY or FINGERPRINT).
    pub fn raw_attributes(&self) -> RawAttributes<'_> {
        RawAttributes {
            body: self.as_bytes().get(HEADER_LEN..).unwrap_or(&[]),
            offset: HEADER_LEN,
        }
    }

    /// The attributes a receiver processes, in order (RFC 8489 §14.5-§14.7): after
    /// MESSAGE-INTEGRITY only MESSAGE-INTEGRITY-SHA256 and FINGERPRINT, after
    /// MESSAGE-INTEGRITY-SHA256 only FINGERPRINT, after FINGERPRINT nothing.
    pub fn processed_attributes(&self) -> ProcessedAttributes<'_> {
        ProcessedAttributes {
            raw: self.raw_attributes(),
            stage: Stage::Open,
        }
    }

    /// The processed attributes, decoded. Each item is an error if that attribute's value is
    /// malformed; unknown attributes come as [`Attribute::Unknown`].
    pub fn attributes(&self) -> Attributes<'_> {
        Attributes {
            inner: self.processed_attributes(),
            transaction_id: self.transaction_id(),
        }
    }

    /// The first processed attribute of type `A`, decoded.
    ///
    /// ```
    /// # use oxrtc_stun::{Message, Username};
    /// # fn f(msg: &Message<&[u8]>) -> Result<(), oxrtc_stun::Error> {
    /// if let Some(Username(name)) = msg.attribute::<Username>()? {
    ///     println!("from {name}");
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`AttributeValue::decode`] if the attribute is present but malformed.
    pub fn attribute<'a, A: AttributeValue<'a>>(&'a self) -> Result<Option<A>, Error> {
        let id = self.transaction_id();
        self.processed_attributes()
            .find(|a| a.typ == A::TYPE)
            .map(|a| A::decode(a.value, &id))
            .transpose()
    }

    /// Whether a processed attribute of this type is present.
    pub fn has_attribute(&self, typ: AttributeType) -> bool {
        self.processed_attributes().any(|a| a.typ == typ)
    }

    /// The comprehension-required attribute types (below 0x8000) this crate has no typed value
    /// for, for a 420 (Unknown Attribute) response (RFC 8489 §6.3.1). At most
    /// [`MAX_UNKNOWN_REPORTED`], without duplicates; empty (and allocation free) when all are
    /// known.
    pub fn unknown_comprehension_required(&self) -> Vec<AttributeType> {
        self.unknown_comprehension_required_by(|t| t.is_known())
    }

    /// As [`unknown_comprehension_required`](Self::unknown_comprehension_required) with the
    /// caller's idea of what it understands: a plain binding server may not want to claim it
    /// understands TURN attributes.
    pub fn unknown_comprehension_required_by(
        &self,
        understood: impl Fn(AttributeType) -> bool,
    ) -> Vec<AttributeType> {
        let mut unknown = Vec::new();
        for a in self.processed_attributes() {
            if a.typ.is_comprehension_required()
                && !understood(a.typ)
                && !unknown.contains(&a.typ)
                && unknown.len() < MAX_UNKNOWN_REPORTED
            {
                unknown.push(a.typ);
            }
        }
        unknown
    }

    /// Verifies MESSAGE-INTEGRITY-SHA256 if present, else MESSAGE-INTEGRITY (RFC 8489
    /// §9.1.3, §9.2.4, §14.5, §14.6), in constant time.
    ///
    /// No allocation; the key's HMAC state is cloned, not recomputed.
    ///
    /// # Errors
    /// [`Error::MissingIntegrity`] when neither attribute is present,
    /// [`Error::InvalidAttributeLength`] when its length is wrong,
    /// [`Error::IntegrityMismatch`] when it does not match.
    pub fn verify_integrity(&self, key: &IntegrityKey) -> Result<IntegrityAlgorithm, Error> {
        self.check_integrity(&self.locate(), key)
    }

    /// Verifies FINGERPRINT (RFC 8489 §14.7). No allocation.
    ///
    /// # Errors
    /// [`Error::MissingFingerprint`] when absent, [`Error::InvalidAttributeLength`] when
    /// malformed, [`Error::FingerprintMismatch`] when wrong.
    pub fn verify_fingerprint(&self) -> Result<(), Error> {
        self.check_fingerprint(&self.locate())
    }

    /// Verifies FINGERPRINT, then message integrity, walking the attributes once: what an ICE
    /// agent does with every incoming check (RFC 8445 §7.3).
    ///
    /// # Errors
    /// As [`verify_fingerprint`](Self::verify_fingerprint) and
    /// [`verify_integrity`](Self::verify_integrity).
    pub fn verify(&self, key: &IntegrityKey) -> Result<IntegrityAlgorithm, Error> {
        let located = self.locate();
        self.check_fingerprint(&located)?;
        self.check_integrity(&located, key)
    }

    /// Finds the processed integrity and fingerprint attributes in one walk.
    fn locate(&self) -> Located<'_> {
        let mut located = Located::default();
        for a in self.processed_attributes() {
            match a.typ {
                AttributeType::MESSAGE_INTEGRITY => located.sha1 = Some(a),
                AttributeType::MESSAGE_INTEGRITY_SHA256 => located.sha256 = Some(a),
                AttributeType::FINGERPRINT => located.fingerprint = Some(a),
                _ => {}
            }
        }
        located
    }

    fn check_integrity(
        &self,
        located: &Located<'_>,
        key: &IntegrityKey,
    ) -> Result<IntegrityAlgorithm, Error> {
        let bytes = self.as_bytes();
        if let Some(a) = located.sha256 {
            let len = a.value.len();
            if !(16..=32).contains(&len) || len % 4 != 0 {
                return Err(Error::InvalidAttributeLength { typ: a.typ, len });
            }
            let (head, covered) = integrity_input(bytes, a.offset, len);
            let mac = key.hmac_sha256(&[&head, covered]);
            let ok: bool = mac.get(..len).unwrap_or(&mac).ct_eq(a.value).into();
            return if ok {
                Ok(IntegrityAlgorithm::HmacSha256(len as u8))
            } else {
                Err(Error::IntegrityMismatch)
            };
        }
        let Some(a) = located.sha1 else {
            return Err(Error::MissingIntegrity);
        };
        if a.value.len() != 20 {
            return Err(Error::InvalidAttributeLength {
                typ: a.typ,
                len: a.value.len(),
            });
        }
        let (head, covered) = integrity_input(bytes, a.offset, 20);
        let mac = key.hmac_sha1(&[&head, covered]);
        if bool::from(mac.ct_eq(a.value)) {
            Ok(IntegrityAlgorithm::HmacSha1)
        } else {
            Err(Error::IntegrityMismatch)
        }
    }

    fn check_fingerprint(&self, located: &Located<'_>) -> Result<(), Error> {
        let a = located.fingerprint.ok_or(Error::MissingFingerprint)?;
        let Ok(value) = <[u8; 4]>::try_from(a.value) else {
            return Err(Error::InvalidAttributeLength {
                typ: a.typ,
                len: a.value.len(),
            });
        };
        let (head, covered) = integrity_input(self.as_bytes(), a.offset, 4);
        let mut crc = crc32fast::Hasher::new();
        crc.update(&head);
        crc.update(covered);
        if crc.finalize() ^ FINGERPRINT_XOR == u32::from_be_bytes(value) {
            Ok(())
        } else {
            Err(Error::FingerprintMismatch)
        }
    }
}

#[derive(Default)]
struct Located<'a> {
    sha1: Option<RawAttribute<'a>>,
    sha256: Option<RawAttribute<'a>>,
    fingerprint: Option<RawAttribute<'a>>,
}

/// The input of an integrity or fingerprint computation for the attribute at `offset` with
/// `value_len` bytes of value: the header with its length field adjusted to end at that
/// attribute, and the bytes from after the header up to the attribute (RFC 8489 §14.5).
fn integrity_input(bytes: &[u8], offset: usize, value_len: usize) -> ([u8; HEADER_LEN], &[u8]) {
    let mut head = [0u8; HEADER_LEN];
    if let Some(h) = bytes.first_chunk::<HEADER_LEN>() {
        head = *h;
    }
    let end = offset + 4 + value_len;
    let len = (end.saturating_sub(HEADER_LEN)) as u16;
    head[field::LENGTH].copy_from_slice(&len.to_be_bytes());
    (head, bytes.get(HEADER_LEN..offset).unwrap_or(&[]))
}

/// One attribute TLV as found in a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawAttribute<'a> {
    /// The attribute's type.
    pub typ: AttributeType,
    /// The value, without padding.
    pub value: &'a [u8],
    /// Offset of the TLV header from the start of the message.
    pub offset: usize,
}

/// Iterator over every attribute TLV of a message; see [`Message::raw_attributes`].
#[derive(Debug, Clone)]
pub struct RawAttributes<'a> {
    body: &'a [u8],
    offset: usize,
}

impl<'a> Iterator for RawAttributes<'a> {
    type Item = RawAttribute<'a>;

    fn next(&mut self) -> Option<RawAttribute<'a>> {
        let [t0, t1, l0, l1, rest @ ..] = self.body else {
            return None;
        };
        let len = usize::from(u16::from_be_bytes([*l0, *l1]));
        let Some(value) = rest.get(..len) else {
            self.body = &[];
            return None;
        };
        let padded = (len + 3) & !3;
        let attr = RawAttribute {
            typ: AttributeType(u16::from_be_bytes([*t0, *t1])),
            value,
            offset: self.offset,
        };
        self.body = rest.get(padded..).unwrap_or(&[]);
        self.offset += 4 + padded;
        Some(attr)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Open,
    AfterIntegrity,
    AfterIntegritySha256,
    Done,
}

/// Iterator over the attributes a receiver processes; see [`Message::processed_attributes`].
#[derive(Debug, Clone)]
pub struct ProcessedAttributes<'a> {
    raw: RawAttributes<'a>,
    stage: Stage,
}

impl<'a> Iterator for ProcessedAttributes<'a> {
    type Item = RawAttribute<'a>;

    fn next(&mut self) -> Option<RawAttribute<'a>> {
        loop {
            if self.stage == Stage::Done {
                return None;
            }
            let a = self.raw.next()?;
            let keep = match (self.stage, a.typ) {
                (_, AttributeType::FINGERPRINT) => {
                    self.stage = Stage::Done;
                    true
                }
                (Stage::Open | Stage::AfterIntegrity, AttributeType::MESSAGE_INTEGRITY_SHA256) => {
                    self.stage = Stage::AfterIntegritySha256;
                    true
                }
                (Stage::Open, AttributeType::MESSAGE_INTEGRITY) => {
                    self.stage = Stage::AfterIntegrity;
                    true
                }
                (Stage::Open, _) => true,
                _ => false,
            };
            if keep {
                return Some(a);
            }
        }
    }
}

/// Iterator over decoded attributes; see [`Message::attributes`].
#[derive(Debug, Clone)]
pub struct Attributes<'a> {
    inner: ProcessedAttributes<'a>,
    transaction_id: TransactionId,
}

impl<'a> Iterator for Attributes<'a> {
    type Item = Result<Attribute<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let a = self.inner.next()?;
        Some(Attribute::decode(a.typ, a.value, &self.transaction_id))
    }
}

/// An owned-structure form of a message: header fields and the decoded processed attributes
/// (values still borrow from the buffer).
///
/// `MessageRepr::parse(&msg)?.write(&mut out)` re-encodes a message; MESSAGE-INTEGRITY and
/// FINGERPRINT are copied as values, not recomputed (use [`MessageBuilder`] to sign).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRepr<'a> {
    /// The class.
    pub class: Class,
    /// The method.
    pub method: Method,
    /// The transaction id.
    pub transaction_id: TransactionId,
    /// The processed attributes in order.
    pub attributes: Vec<Attribute<'a>>,
}

impl<'a> MessageRepr<'a> {
    /// Decodes every processed attribute of a checked message.
    ///
    /// # Errors
    /// The first attribute decoding error, or [`Error::TooManyAttributes`] beyond
    /// [`MAX_ATTRIBUTES`].
    pub fn parse<T: AsRef<[u8]>>(message: &'a Message<T>) -> Result<Self, Error> {
        let mut attributes = Vec::new();
        for a in message.attributes() {
            if attributes.len() == MAX_ATTRIBUTES {
                return Err(Error::TooManyAttributes(MAX_ATTRIBUTES));
            }
            attributes.push(a?);
        }
        Ok(MessageRepr {
            class: message.class(),
            method: message.method(),
            transaction_id: message.transaction_id(),
            attributes,
        })
    }

    /// Length of the encoded message in bytes.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN
            + self
                .attributes
                .iter()
                .map(|a| 4 + ((a.encoded_len() + 3) & !3))
                .sum::<usize>()
    }

    /// Appends the encoded message to `out`; returns its length.
    ///
    /// # Errors
    /// As [`MessageBuilder::add_attribute`]; `out` is then left as it was.
    pub fn write(&self, out: &mut Vec<u8>) -> Result<usize, Error> {
        let start = out.len();
        let mut b = MessageBuilder::new(out, self.class, self.method, self.transaction_id);
        for a in &self.attributes {
            if let Err(e) = b.add_attribute(a) {
                b.abandon();
                return Err(e);
            }
        }
        let len = b.finish().len();
        debug_assert_eq!(out.len() - start, len);
        Ok(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Fingerprint, MessageIntegrity, Priority, Software, UseCandidate, Username};

    fn header(len: u16) -> Vec<u8> {
        let mut b = vec![0x00, 0x01];
        b.extend_from_slice(&len.to_be_bytes());
        b.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
        b.extend_from_slice(&[7; 12]);
        b
    }

    #[test]
    fn check_rejects_malformed_headers() {
        assert_eq!(
            Message::new_checked(&[0u8; 19][..]).unwrap_err(),
            Error::Truncated {
                needed: 20,
                available: 19
            }
        );
        let mut h = header(0);
        h[0] = 0x80;
        assert_eq!(Message::new_checked(&h[..]).unwrap_err(), Error::NotStun);
        let mut h = header(0);
        h[4] = 0;
        assert_eq!(Message::new_checked(&h[..]).unwrap_err(), Error::NotStun);
        let mut h = header(2);
        h.extend_from_slice(&[0, 0]);
        assert_eq!(
            Message::new_checked(&h[..]).unwrap_err(),
            Error::UnalignedLength(2)
        );
        let h = header(8);
        assert_eq!(
            Message::new_checked(&h[..]).unwrap_err(),
            Error::Truncated {
                needed: 28,
                available: 20
            }
        );
    }

    #[test]
    fn check_rejects_overrunning_attributes() {
        // A TLV claiming 8 bytes in a 4-byte body remainder.
        let mut m = header(8);
        m.extend_from_slice(&[0x00, 0x24, 0x00, 0x08, 1, 2, 3, 4]);
        assert_eq!(
            Message::new_checked(&m[..]).unwrap_err(),
            Error::AttributeOverrun {
                typ: AttributeType::PRIORITY
            }
        );
        // Padding counts: a 5-byte value needs 8 bytes.
        let mut m = header(12);
        m.extend_from_slice(&[0x00, 0x06, 0x00, 0x05, b'a', b'b', b'c', b'd', b'e', 0, 0]);
        m.push(0);
        assert!(Message::new_checked(&m[..]).is_ok());
        let mut m = header(8);
        m.extend_from_slice(&[0x00, 0x06, 0x00, 0x05, b'a', b'b', b'c', b'd']);
        assert!(Message::new_checked(&m[..]).is_err());
        // A dangling partial TLV header cannot happen: length is a multiple of 4.
    }

    #[test]
    fn trailing_bytes_are_ignored() {
        let mut m = header(0);
        m.extend_from_slice(&[0xde, 0xad]);
        let msg = Message::new_checked(&m[..]).unwrap();
        assert_eq!(msg.as_bytes().len(), 20);
        assert_eq!(msg.raw_attributes().count(), 0);
    }

    #[test]
    fn unchecked_accessors_do_not_panic() {
        let msg = Message::new_unchecked(&[0x01u8][..]);
        assert_eq!(msg.length(), 0);
        assert_eq!(msg.transaction_id(), TransactionId([0; 12]));
        assert_eq!(msg.magic_cookie(), 0);
        assert_eq!(msg.raw_attributes().count(), 0);
        assert_eq!(msg.verify_fingerprint(), Err(Error::MissingFingerprint));
        let mut m = header(40);
        m.extend_from_slice(&[0x00, 0x06, 0xff, 0xff]);
        let msg = Message::new_unchecked(&m[..]);
        assert_eq!(msg.raw_attributes().count(), 0);
    }

    #[test]
    fn attributes_after_integrity_are_ignored() {
        let key = IntegrityKey::short_term("pw");
        let mut out = Vec::new();
        let mut b = MessageBuilder::new(
            &mut out,
            Class::Request,
            Method::Binding,
            TransactionId([1; 12]),
        );
        b.add(&Username("u"))
            .unwrap()
            .add_message_integrity(&key)
            .unwrap();
        // Append PRIORITY after MESSAGE-INTEGRITY by hand, then FINGERPRINT: the receiver
        // ignores PRIORITY but processes FINGERPRINT (RFC 8489 §14.5).
        let mut raw = b.finish().to_vec();
        raw.extend_from_slice(&[0x00, 0x24, 0x00, 0x04, 0, 0, 0, 1]);
        let len = (raw.len() - HEADER_LEN) as u16;
        raw[2..4].copy_from_slice(&len.to_be_bytes());
        let mut b = MessageBuilder::resume(&mut raw, 0).unwrap();
        b.add_fingerprint().unwrap();
        let raw = b.finish().to_vec();
        let msg = Message::new_checked(&raw[..]).unwrap();
        assert_eq!(msg.raw_attributes().count(), 4);
        let types: Vec<_> = msg.processed_attributes().map(|a| a.typ).collect();
        assert_eq!(
            types,
            [
                AttributeType::USERNAME,
                AttributeType::MESSAGE_INTEGRITY,
                AttributeType::FINGERPRINT
            ]
        );
        assert_eq!(msg.attribute::<Priority>(), Ok(None));
        assert_eq!(msg.verify_integrity(&key), Ok(IntegrityAlgorithm::HmacSha1));
        assert_eq!(msg.verify_fingerprint(), Ok(()));
        // Nothing after FINGERPRINT is processed either.
        let mut more = raw.clone();
        more.extend_from_slice(&[0x00, 0x25, 0x00, 0x00]);
        let len = (more.len() - HEADER_LEN) as u16;
        more[2..4].copy_from_slice(&len.to_be_bytes());
        let msg = Message::new_checked(&more[..]).unwrap();
        assert!(!msg.has_attribute(AttributeType::USE_CANDIDATE));
        assert_eq!(
            msg.verify_fingerprint(),
            Ok(()),
            "fingerprint covers up to itself"
        );
    }

    #[test]
    fn unknown_comprehension_required_attributes_are_reported() {
        let mut out = Vec::new();
        let mut b = MessageBuilder::new(
            &mut out,
            Class::Request,
            Method::Binding,
            TransactionId([1; 12]),
        );
        b.add_raw(AttributeType(0x7f01), b"x").unwrap();
        b.add_raw(AttributeType(0xff01), b"optional").unwrap();
        b.add_raw(AttributeType(0x7f01), b"again").unwrap();
        b.add_raw(AttributeType(0x0003), &[0, 0, 0, 0]).unwrap(); // CHANGE-REQUEST (RFC 5780)
        b.add(&UseCandidate).unwrap();
        let bytes = b.finish();
        let msg = Message::new_checked(bytes).unwrap();
        assert_eq!(
            msg.unknown_comprehension_required(),
            [AttributeType(0x7f01), AttributeType(0x0003)]
        );
        // Unknown optional ones are kept.
        let all: Vec<_> = msg.attributes().collect::<Result<_, _>>().unwrap();
        assert_eq!(all.len(), 5);
        assert!(all
            .iter()
            .any(|a| a.attribute_type() == AttributeType(0xff01)));
        // A caller can narrow what it understands.
        let narrow = msg.unknown_comprehension_required_by(|t| t == AttributeType(0x0003));
        assert_eq!(
            narrow,
            [AttributeType(0x7f01), AttributeType::USE_CANDIDATE]
        );
    }

    #[test]
    fn unknown_report_is_capped() {
        let mut out = Vec::new();
        let mut b = MessageBuilder::new(
            &mut out,
            Class::Request,
            Method::Binding,
            TransactionId([1; 12]),
        );
        for t in 0x4000..0x4100u16 {
            b.add_raw(AttributeType(t), &[]).unwrap();
        }
        let msg = Message::new_checked(b.finish()).unwrap();
        assert_eq!(
            msg.unknown_comprehension_required().len(),
            MAX_UNKNOWN_REPORTED
        );
    }

    #[test]
    fn malformed_known_attribute_is_an_item_error() {
        let mut m = header(8);
        m.extend_from_slice(&[0x00, 0x24, 0x00, 0x03, 1, 2, 3, 0]); // PRIORITY of 3 bytes
        let msg = Message::new_checked(&m[..]).unwrap();
        assert_eq!(
            msg.attributes().next(),
            Some(Err(Error::InvalidAttributeLength {
                typ: AttributeType::PRIORITY,
                len: 3
            }))
        );
        assert!(MessageRepr::parse(&msg).is_err());
        assert!(msg.attribute::<Priority>().is_err());
    }

    #[test]
    fn integrity_with_wrong_length_is_malformed() {
        let mut m = header(12);
        m.extend_from_slice(&[0x00, 0x08, 0x00, 0x08, 0, 0, 0, 0, 0, 0, 0, 0]);
        let msg = Message::new_checked(&m[..]).unwrap();
        assert!(matches!(
            msg.verify_integrity(&IntegrityKey::short_term("x")),
            Err(Error::InvalidAttributeLength { .. })
        ));
        let mut m = header(8);
        m.extend_from_slice(&[0x80, 0x28, 0x00, 0x03, 0, 0, 0, 0]);
        let msg = Message::new_checked(&m[..]).unwrap();
        assert!(matches!(
            msg.verify_fingerprint(),
            Err(Error::InvalidAttributeLength { .. })
        ));
    }

    #[test]
    fn truncated_sha256_integrity() {
        let key = IntegrityKey::short_term("pw");
        for len in [16, 20, 24, 28, 32] {
            let mut out = Vec::new();
            let mut b = MessageBuilder::new(
                &mut out,
                Class::Request,
                Method::Binding,
                TransactionId([2; 12]),
            );
            b.add(&Software("x")).unwrap();
            b.add_message_integrity_sha256_truncated(&key, len).unwrap();
            let msg = Message::new_checked(b.finish()).unwrap();
            assert_eq!(
                msg.verify_integrity(&key),
                Ok(IntegrityAlgorithm::HmacSha256(len as u8))
            );
        }
        let mut out = Vec::new();
        let mut b = MessageBuilder::new(
            &mut out,
            Class::Request,
            Method::Binding,
            TransactionId([2; 12]),
        );
        assert!(b.add_message_integrity_sha256_truncated(&key, 12).is_err());
        assert!(b.add_message_integrity_sha256_truncated(&key, 18).is_err());
        // A received 12-byte MI-SHA256 is malformed.
        let mut m = header(16);
        m.extend_from_slice(&[0x00, 0x1c, 0x00, 0x0c]);
        m.extend_from_slice(&[0; 12]);
        let msg = Message::new_checked(&m[..]).unwrap();
        assert!(matches!(
            msg.verify_integrity(&key),
            Err(Error::InvalidAttributeLength { .. })
        ));
    }

    #[test]
    fn builder_enforces_order() {
        let key = IntegrityKey::short_term("pw");
        let mut out = Vec::new();
        let mut b = MessageBuilder::new(
            &mut out,
            Class::Request,
            Method::Binding,
            TransactionId([3; 12]),
        );
        b.add_message_integrity(&key).unwrap();
        assert_eq!(
            b.add(&Priority(1)).unwrap_err(),
            Error::AttributeOrder {
                typ: AttributeType::PRIORITY
            }
        );
        assert!(b.add_message_integrity(&key).is_err());
        b.add_message_integrity_sha256(&key).unwrap();
        assert!(b.add_message_integrity_sha256(&key).is_err());
        assert!(b.add_message_integrity(&key).is_err());
        b.add_fingerprint().unwrap();
        assert!(b.add_fingerprint().is_err());
        assert!(b
            .add_attribute(&Attribute::Fingerprint(Fingerprint(0)))
            .is_err());
        assert!(b
            .add_attribute(&Attribute::MessageIntegrity(MessageIntegrity([0; 20])))
            .is_err());
        let len = b.len();
        let bytes = b.finish();
        assert_eq!(bytes.len(), len);
        let msg = Message::new_checked(bytes).unwrap();
        // MI is verified by MI-SHA256's presence: SHA-256 wins (RFC 8489 §9.1.3).
        assert_eq!(
            msg.verify_integrity(&key),
            Ok(IntegrityAlgorithm::HmacSha256(32))
        );
        assert_eq!(msg.verify_fingerprint(), Ok(()));
    }

    #[test]
    fn builder_rejects_bad_values_without_writing() {
        let mut out = Vec::new();
        let mut b = MessageBuilder::new(
            &mut out,
            Class::Request,
            Method::Binding,
            TransactionId([3; 12]),
        );
        let long = "x".repeat(600);
        assert_eq!(
            b.add(&Username(&long)).unwrap_err(),
            Error::ValueTooLong {
                typ: AttributeType::USERNAME,
                len: 600
            }
        );
        assert!(b.add(&crate::wire::ErrorCode::new(700, "")).is_err());
        assert!(b.add(&crate::wire::ErrorCode::new(299, "")).is_err());
        assert!(b.is_empty());
        let msg = Message::new_checked(b.finish()).unwrap();
        assert_eq!(msg.length(), 0);
    }

    #[test]
    fn builder_caps_message_size() {
        let mut out = Vec::new();
        let mut b = MessageBuilder::new(
            &mut out,
            Class::Indication,
            Method::Send,
            TransactionId([3; 12]),
        );
        let big = vec![0u8; 40_000];
        b.add_raw(AttributeType::DATA, &big).unwrap();
        assert_eq!(
            b.add_raw(AttributeType::DATA, &big).unwrap_err(),
            Error::MessageTooLong
        );
        assert!(b.add_raw(AttributeType::DATA, &vec![0; 70_000]).is_err());
        let msg = Message::new_checked(b.finish()).unwrap();
        assert_eq!(usize::from(msg.length()), 40_004);
    }

    #[test]
    fn abandon_restores_the_buffer() {
        let mut out = vec![1, 2, 3];
        let mut b = MessageBuilder::new(
            &mut out,
            Class::Request,
            Method::Binding,
            TransactionId([3; 12]),
        );
        b.add(&Priority(5)).unwrap();
        b.abandon();
        assert_eq!(out, [1, 2, 3]);
    }

    #[test]
    fn resume_rejects_garbage_and_extra_bytes() {
        let mut out = vec![1, 2, 3];
        assert!(MessageBuilder::resume(&mut out, 0).is_err());
        let mut out = header(0);
        out.push(0);
        assert!(MessageBuilder::resume(&mut out, 0).is_err());
    }
}
