//! STUN (RFC 8489), sans-IO.
#![forbid(unsafe_code)]
