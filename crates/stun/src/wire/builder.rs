//! Writing messages: [`MessageBuilder`].

use super::attribute::{Attribute, AttributeType, AttributeValue};
use super::header::{
    field, message_type, Class, Method, TransactionId, HEADER_LEN, MAGIC_COOKIE, MAX_BODY_LEN,
};
use super::message::Message;
use crate::integrity::{IntegrityKey, FINGERPRINT_XOR};
use crate::Error;

/// Writes one STUN message into a caller's `Vec<u8>`, appending after whatever it holds.
///
/// Attributes are appended in call order with their padding, and the header's length field
/// is kept current. The integrity attributes are computed over what precedes them and keep
/// the RFC order (RFC 8489 §14.5-§14.7): anything, then MESSAGE-INTEGRITY, then
/// MESSAGE-INTEGRITY-SHA256, then FINGERPRINT; adding an attribute out of that order is an
/// error, because the receiver would ignore it.
///
/// ```
/// use oxrtc_stun::{Class, IntegrityKey, Message, MessageBuilder, Method, Priority, TransactionId, Username};
///
/// let key = IntegrityKey::short_term("VOkJxbRl1RmTxUk/WvJxBt");
/// let mut out = Vec::new();
/// let mut b = MessageBuilder::new(&mut out, Class::Request, Method::Binding, TransactionId([7; 12]));
/// b.add(&Username("evtj:h6vY"))?.add(&Priority(0x6e0001ff))?;
/// b.add_message_integrity(&key)?.add_fingerprint()?;
/// let bytes = b.finish();
///
/// let msg = Message::new_checked(bytes)?;
/// msg.verify_integrity(&key)?;
/// msg.verify_fingerprint()?;
/// # Ok::<(), oxrtc_stun::Error>(())
/// ```
#[derive(Debug)]
pub struct MessageBuilder<'b> {
    out: &'b mut Vec<u8>,
    start: usize,
    transaction_id: TransactionId,
    stage: Stage,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Open,
    AfterIntegrity,
    AfterIntegritySha256,
    Done,
}

impl<'b> MessageBuilder<'b> {
    /// Starts a message: writes the 20-byte header with length 0.
    pub fn new(
        out: &'b mut Vec<u8>,
        class: Class,
        method: Method,
        transaction_id: TransactionId,
    ) -> Self {
        let start = out.len();
        out.reserve(128);
        out.extend_from_slice(&message_type(class, method).to_be_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
        out.extend_from_slice(&transaction_id.0);
        MessageBuilder {
            out,
            start,
            transaction_id,
            stage: Stage::Open,
        }
    }

    /// Re-opens a message already encoded in `out` at `start` (up to the end of `out`) to
    /// append more attributes, keeping its bytes verbatim: for example to add FINGERPRINT to
    /// a message being relayed, or to sign a message assembled elsewhere.
    ///
    /// # Errors
    /// As [`Message::new_checked`], and [`Error::Truncated`] if `out` holds more than the
    /// message.
    pub fn resume(out: &'b mut Vec<u8>, start: usize) -> Result<Self, Error> {
        let bytes = out.get(start..).unwrap_or(&[]);
        let msg = Message::new_checked(bytes)?;
        if msg.as_bytes().len() != bytes.len() {
            return Err(Error::Truncated {
                needed: bytes.len(),
                available: msg.as_bytes().len(),
            });
        }
        let mut stage = Stage::Open;
        for a in msg.raw_attributes() {
            stage = match (stage, a.typ) {
                (_, AttributeType::FINGERPRINT) => Stage::Done,
                (Stage::Open | Stage::AfterIntegrity, AttributeType::MESSAGE_INTEGRITY_SHA256) => {
                    Stage::AfterIntegritySha256
                }
                (Stage::Open, AttributeType::MESSAGE_INTEGRITY) => Stage::AfterIntegrity,
                (s, _) => s,
            };
        }
        let transaction_id = msg.transaction_id();
        Ok(MessageBuilder {
            out,
            start,
            transaction_id,
            stage,
        })
    }

    /// Starts a response (success or error) to a request: same method and transaction id.
    pub fn response_to<T: AsRef<[u8]>>(
        out: &'b mut Vec<u8>,
        request: &Message<T>,
        class: Class,
    ) -> Self {
        Self::new(out, class, request.method(), request.transaction_id())
    }

    /// The transaction id being written.
    pub fn transaction_id(&self) -> TransactionId {
        self.transaction_id
    }

    /// Bytes written so far for this message.
    pub fn len(&self) -> usize {
        self.out.len() - self.start
    }

    /// Whether nothing but the header has been written.
    pub fn is_empty(&self) -> bool {
        self.len() == HEADER_LEN
    }

    /// Appends a typed attribute.
    ///
    /// # Errors
    /// [`Error::AttributeOrder`] after the integrity attributes or FINGERPRINT,
    /// [`Error::MessageTooLong`], or the value's own encoding error. Nothing is written then.
    pub fn add<'v, A: AttributeValue<'v>>(&mut self, attribute: &A) -> Result<&mut Self, Error> {
        let len = attribute.encoded_len();
        self.append_with(A::TYPE, len, |id, out| attribute.encode(id, out))
    }

    /// Appends an [`Attribute`]. MESSAGE-INTEGRITY(-SHA256) and FINGERPRINT values are
    /// written as given (for relaying or tests); to compute them use
    /// [`add_message_integrity`](Self::add_message_integrity) and friends.
    ///
    /// # Errors
    /// As [`add`](Self::add).
    pub fn add_attribute(&mut self, attribute: &Attribute<'_>) -> Result<&mut Self, Error> {
        let len = attribute.encoded_len();
        self.append_with(attribute.attribute_type(), len, |id, out| {
            attribute.encode(id, out)
        })
    }

    /// Appends an attribute from its type and raw value.
    ///
    /// # Errors
    /// As [`add`](Self::add); [`Error::ValueTooLong`] above 65535 bytes.
    pub fn add_raw(&mut self, typ: AttributeType, value: &[u8]) -> Result<&mut Self, Error> {
        self.append_with(typ, value.len(), |_, out| {
            out.extend_from_slice(value);
            Ok(())
        })
    }

    /// Appends MESSAGE-INTEGRITY: HMAC-SHA1 with `key` over the message so far, the length
    /// field counting this attribute (RFC 8489 §14.5).
    ///
    /// # Errors
    /// [`Error::AttributeOrder`] after MESSAGE-INTEGRITY(-SHA256) or FINGERPRINT;
    /// [`Error::MessageTooLong`].
    pub fn add_message_integrity(&mut self, key: &IntegrityKey) -> Result<&mut Self, Error> {
        let typ = AttributeType::MESSAGE_INTEGRITY;
        let stage = self.prepare(typ, 20)?;
        let mac = key.hmac_sha1(&[self.written()]);
        self.push_tlv(typ, &mac, stage);
        Ok(self)
    }

    /// Appends MESSAGE-INTEGRITY-SHA256 with the full 32-byte HMAC-SHA256 (RFC 8489 §14.6).
    ///
    /// # Errors
    /// As [`add_message_integrity`](Self::add_message_integrity).
    pub fn add_message_integrity_sha256(&mut self, key: &IntegrityKey) -> Result<&mut Self, Error> {
        self.add_message_integrity_sha256_truncated(key, 32)
    }

    /// Appends MESSAGE-INTEGRITY-SHA256 truncated to `len` bytes: 16, 20, 24, 28 or 32
    /// (RFC 8489 §14.6).
    ///
    /// # Errors
    /// [`Error::InvalidAttributeLength`] for another `len`; otherwise as
    /// [`add_message_integrity`](Self::add_message_integrity).
    pub fn add_message_integrity_sha256_truncated(
        &mut self,
        key: &IntegrityKey,
        len: usize,
    ) -> Result<&mut Self, Error> {
        let typ = AttributeType::MESSAGE_INTEGRITY_SHA256;
        if !(16..=32).contains(&len) || len % 4 != 0 {
            return Err(Error::InvalidAttributeLength { typ, len });
        }
        let stage = self.prepare(typ, len)?;
        let mac = key.hmac_sha256(&[self.written()]);
        self.push_tlv(typ, mac.get(..len).unwrap_or(&mac), stage);
        Ok(self)
    }

    /// Appends FINGERPRINT: CRC-32 of the message so far XOR 0x5354554e (RFC 8489 §14.7).
    /// Nothing can be added after it.
    ///
    /// # Errors
    /// [`Error::AttributeOrder`] after a FINGERPRINT; [`Error::MessageTooLong`].
    pub fn add_fingerprint(&mut self) -> Result<&mut Self, Error> {
        let typ = AttributeType::FINGERPRINT;
        let stage = self.prepare(typ, 4)?;
        let crc = crc32fast::hash(self.written()) ^ FINGERPRINT_XOR;
        self.push_tlv(typ, &crc.to_be_bytes(), stage);
        Ok(self)
    }

    /// Ends the message and returns its bytes (the tail of the caller's buffer).
    pub fn finish(self) -> &'b [u8] {
        let out: &'b mut Vec<u8> = self.out;
        out.get(self.start..).unwrap_or(&[])
    }

    /// Drops everything written for this message, leaving the caller's buffer as it was.
    pub fn abandon(self) {
        self.out.truncate(self.start);
    }

    /// This message's bytes so far.
    fn written(&self) -> &[u8] {
        self.out.get(self.start..).unwrap_or(&[])
    }

    fn body_len(&self) -> usize {
        self.len() - HEADER_LEN
    }

    fn set_body_len(&mut self, len: usize) {
        let at = self.start + field::LENGTH.start;
        if let Some(b) = self.out.get_mut(at..at + 2) {
            b.copy_from_slice(&(len as u16).to_be_bytes());
        }
    }

    /// Checks order and room for an attribute with `len` bytes of value and sets the length
    /// field to count it; returns the stage after it.
    fn prepare(&mut self, typ: AttributeType, len: usize) -> Result<Stage, Error> {
        let next = match (self.stage, typ) {
            (Stage::Done, _) => None,
            (_, AttributeType::FINGERPRINT) => Some(Stage::Done),
            (Stage::Open | Stage::AfterIntegrity, AttributeType::MESSAGE_INTEGRITY_SHA256) => {
                Some(Stage::AfterIntegritySha256)
            }
            (Stage::Open, AttributeType::MESSAGE_INTEGRITY) => Some(Stage::AfterIntegrity),
            (Stage::Open, _) => Some(Stage::Open),
            _ => None,
        };
        let next = next.ok_or(Error::AttributeOrder { typ })?;
        if len > usize::from(u16::MAX) {
            return Err(Error::ValueTooLong { typ, len });
        }
        let body = self.body_len() + 4 + ((len + 3) & !3);
        if body > MAX_BODY_LEN {
            return Err(Error::MessageTooLong);
        }
        self.set_body_len(body);
        Ok(next)
    }

    fn push_tlv(&mut self, typ: AttributeType, value: &[u8], stage: Stage) {
        self.out.extend_from_slice(&typ.0.to_be_bytes());
        self.out
            .extend_from_slice(&(value.len() as u16).to_be_bytes());
        self.out.extend_from_slice(value);
        self.pad();
        self.stage = stage;
    }

    fn pad(&mut self) {
        let n = (4 - self.body_len() % 4) % 4;
        self.out.resize(self.out.len() + n, 0);
    }

    fn append_with(
        &mut self,
        typ: AttributeType,
        len: usize,
        encode: impl FnOnce(&TransactionId, &mut Vec<u8>) -> Result<(), Error>,
    ) -> Result<&mut Self, Error> {
        let old_body = self.body_len();
        let stage = self.prepare(typ, len)?;
        let tlv = self.out.len();
        self.out.extend_from_slice(&typ.0.to_be_bytes());
        self.out.extend_from_slice(&(len as u16).to_be_bytes());
        let result = encode(&self.transaction_id, self.out);
        let written = self.out.len() - tlv - 4;
        let result = result.and(if written == len {
            Ok(())
        } else {
            Err(Error::InvalidAttributeValue {
                typ,
                reason: "encoded length differs from encoded_len",
            })
        });
        if let Err(e) = result {
            self.out.truncate(tlv);
            self.set_body_len(old_body);
            return Err(e);
        }
        self.pad();
        self.stage = stage;
        Ok(self)
    }
}
