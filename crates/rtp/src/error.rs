//! The crate's error type.

/// What went wrong parsing, writing, packetizing or depacketizing.
///
/// Variants are sorted by who is at fault: malformed input first, then unsupported input, then
/// caller misuse, then local limits. A bad network packet maps to one of the first group; the
/// caller drops it and counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input ended before a field or a length it announced.
    #[error("truncated {0}")]
    Truncated(&'static str),
    /// The version field is not 2 (RFC 3550 section 5.1).
    #[error("bad version {0}")]
    BadVersion(u8),
    /// The padding count is zero or larger than the packet (RFC 3550 section 5.1).
    #[error("bad padding")]
    BadPadding,
    /// A field holds a value its specification forbids.
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// A payload format or packet type this crate does not handle.
    #[error("unsupported {0}")]
    Unsupported(&'static str),
    /// A value given to a writer does not fit its field.
    #[error("value out of range for {0}")]
    ValueOutOfRange(&'static str),
    /// The MTU given to a packetizer is too small to carry any payload.
    #[error("mtu too small")]
    MtuTooSmall,
    /// An input exceeds a cap this crate sets to bound memory.
    #[error("limit exceeded: {0}")]
    LimitExceeded(&'static str),
}

/// The crate's result type.
pub type Result<T, E = Error> = core::result::Result<T, E>;
