//! Errors of SRTP/SRTCP protection and unprotection.

/// Why a packet could not be protected or unprotected, or a context not built.
///
/// Variants are grouped by who is at fault: malformed input, a peer that misbehaved (or an
/// attacker), caller misuse, local limits. A receiver drops the packet and counts the
/// error; none of them leaves the [`Context`](crate::Context) in a changed state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // --- malformed input ---
    /// The packet is shorter than its header, CSRC list, header extension or the
    /// trailer (SRTCP index, tag) the profile needs.
    #[error("packet too short")]
    TooShort,
    /// The version field is not 2 (RFC 3550 §5.1, §6.4.1).
    #[error("not an RTP/RTCP version 2 packet")]
    BadVersion,

    // --- peer misbehaved ---
    /// The authentication tag did not verify (RFC 3711 §3.3 step 5, RFC 7714 §7.2):
    /// wrong key, corrupted or forged packet, or a wrong rollover counter guess.
    #[error("authentication failed")]
    AuthenticationFailed,
    /// The packet index was already received: a replayed packet (RFC 3711 §3.3.2).
    #[error("replayed packet (duplicate index)")]
    ReplayDuplicate,
    /// The packet index is older than the replay window reaches (RFC 3711 §3.3.2).
    #[error("replayed packet (index too old for the replay window)")]
    ReplayTooOld,
    /// No stream exists for this SSRC and the [`Policy`](crate::Policy) does not create
    /// streams on first packet.
    #[error("unknown ssrc {0:#010x}")]
    UnknownSsrc(u32),

    // --- caller misuse ---
    /// The buffer given to a protect call has no room for the trailer.
    #[error("buffer too small: need {needed} bytes, have {capacity}")]
    BufferTooSmall {
        /// Bytes the protected packet needs.
        needed: usize,
        /// Bytes the buffer holds.
        capacity: usize,
    },
    /// The plaintext length passed to a protect call exceeds the buffer.
    #[error("packet length {len} exceeds the buffer of {capacity} bytes")]
    LengthOutOfBounds {
        /// The length given.
        len: usize,
        /// The buffer's length.
        capacity: usize,
    },
    /// A master key of the wrong length for the profile.
    #[error("master key must be {expected} bytes, got {actual}")]
    InvalidKeyLength {
        /// The profile's master key length.
        expected: usize,
        /// The length given.
        actual: usize,
    },
    /// A master salt of the wrong length for the profile.
    #[error("master salt must be {expected} bytes, got {actual}")]
    InvalidSaltLength {
        /// The profile's master salt length.
        expected: usize,
        /// The length given.
        actual: usize,
    },
    /// DTLS keying material of the wrong length for the profile (RFC 5764 §4.2).
    #[error("keying material must be {expected} bytes, got {actual}")]
    InvalidKeyingMaterialLength {
        /// [`SrtpProfile::keying_material_len`](crate::SrtpProfile::keying_material_len).
        expected: usize,
        /// The length given.
        actual: usize,
    },
    /// The replay window size is outside 64..=32768 packets.
    #[error("replay window must be 64..=32768 packets, got {0}")]
    InvalidReplayWindow(u32),

    // --- local limits ---
    /// Creating a stream for a new SSRC would exceed
    /// [`Policy::max_streams`](crate::Policy::max_streams).
    #[error("too many streams")]
    TooManyStreams,
    /// The packet index space of this key is used up (2^48 SRTP packets or 2^31 SRTCP
    /// packets per SSRC, RFC 3711 §9.2): the session must be rekeyed.
    #[error("key lifetime exhausted, rekey")]
    KeyExhausted,
}
