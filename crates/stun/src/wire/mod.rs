//! The STUN wire format: header, attributes, the message view and the builder
//! (RFC 8489 §5, §14).

mod attribute;
mod builder;
mod header;
mod message;

pub use attribute::*;
pub use builder::MessageBuilder;
pub use header::{
    is_stun, message_type, split_message_type, Class, Method, TransactionId, HEADER_LEN,
    MAGIC_COOKIE, MAX_BODY_LEN,
};
pub use message::{
    Attributes, IntegrityAlgorithm, Message, MessageRepr, ProcessedAttributes, RawAttribute,
    RawAttributes, MAX_ATTRIBUTES, MAX_UNKNOWN_REPORTED,
};
