//! SRTP/SRTCP contexts: per-SSRC state (rollover counter, replay windows, SRTCP index)
//! over a keyed transform (RFC 3711 §3.2).

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::replay::{estimate_index, ReplayWindow, MAX_REPLAY_WINDOW, MIN_REPLAY_WINDOW};
use crate::transform::{Transform, RTCP_HEADER_LEN, SRTCP_E_FLAG, SRTCP_INDEX_LEN};
use crate::{Error, SrtpProfile};

/// How a [`Context`] treats streams: replay window, stream creation, limits.
///
/// `Policy::default()` is the secure default: a 128-packet replay window, streams created
/// on the first packet of each SSRC (as a WebRTC peer needs), at most 1024 streams, and no
/// repeated transmission of an index.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Policy {
    /// Replay window in packets (RFC 3711 §3.3.2), 64..=32768; default 128.
    pub replay_window: u32,
    /// Create a stream when a packet with an unknown SSRC is protected, or unprotected
    /// and authentic; default `true`. When `false`, only streams added with
    /// [`Context::add_stream`] are served and others fail with [`Error::UnknownSsrc`].
    pub accept_new_ssrc: bool,
    /// Most streams (SSRCs) one context keeps; default 1024. Streams only come into
    /// being after authentication, so this bounds memory against a peer that sends many
    /// SSRCs, not against forgeries.
    pub max_streams: usize,
    /// Allow protecting an index that was already protected (libsrtp's
    /// `allow_repeat_tx`), for resending a packet unchanged; default `false`. Reusing an
    /// index with *different* contents breaks AES-CM and GCM alike, so leave it off
    /// unless retransmissions are byte-identical.
    pub allow_repeat_tx: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            replay_window: 128,
            accept_new_ssrc: true,
            max_streams: 1024,
            allow_repeat_tx: false,
        }
    }
}

impl Policy {
    /// Sets [`replay_window`](Self::replay_window) (packets).
    pub fn with_replay_window(mut self, packets: u32) -> Self {
        self.replay_window = packets;
        self
    }

    /// Sets [`accept_new_ssrc`](Self::accept_new_ssrc).
    pub fn with_accept_new_ssrc(mut self, accept: bool) -> Self {
        self.accept_new_ssrc = accept;
        self
    }

    /// Sets [`max_streams`](Self::max_streams).
    pub fn with_max_streams(mut self, max: usize) -> Self {
        self.max_streams = max;
        self
    }

    /// Sets [`allow_repeat_tx`](Self::allow_repeat_tx).
    pub fn with_allow_repeat_tx(mut self, allow: bool) -> Self {
        self.allow_repeat_tx = allow;
        self
    }

    fn validate(&self) -> Result<(), Error> {
        if !(MIN_REPLAY_WINDOW..=MAX_REPLAY_WINDOW).contains(&self.replay_window) {
            return Err(Error::InvalidReplayWindow(self.replay_window));
        }
        Ok(())
    }
}

/// One direction of SRTP and SRTCP under one master key: protects outgoing or
/// unprotects incoming packets, keeping per-SSRC state.
///
/// Use one context per direction (a WebRTC peer has an outbound one keyed with its own
/// write key and an inbound one keyed with the peer's, see [`ContextPair`]). Every call
/// works in place in the caller's buffer and allocates nothing, except when a new SSRC
/// creates its stream.
///
/// - Getters: [`profile`](Self::profile), [`policy`](Self::policy),
///   [`stream_count`](Self::stream_count), [`rollover_counter`](Self::rollover_counter),
///   [`srtcp_index`](Self::srtcp_index).
/// - Packets: [`protect_rtp`](Self::protect_rtp), [`unprotect_rtp`](Self::unprotect_rtp),
///   [`protect_rtcp`](Self::protect_rtcp), [`unprotect_rtcp`](Self::unprotect_rtcp), and
///   `Vec` conveniences [`protect_rtp_vec`](Self::protect_rtp_vec),
///   [`protect_rtcp_vec`](Self::protect_rtcp_vec).
/// - Streams: [`add_stream`](Self::add_stream), [`remove_stream`](Self::remove_stream).
///
/// Unprotection checks the replay window, then the authentication tag (in constant time),
/// and only then decrypts and updates the stream: a packet that fails leaves every piece
/// of state as it was.
pub struct Context {
    profile: SrtpProfile,
    transform: Transform,
    policy: Policy,
    streams: HashMap<u32, Stream, BuildHasherDefault<SsrcHasher>>,
}

/// Per-SSRC state (RFC 3711 §3.2.3).
struct Stream {
    /// SRTP: the highest index seen (`ROC || s_l`) and the replay window. Senders keep
    /// one too, to derive the ROC and refuse reusing an index.
    rtp: ReplayWindow,
    /// SRTCP receive window over the 31-bit index.
    rtcp: ReplayWindow,
    /// SRTCP index of the next packet sent (RFC 3711 §3.4: starts at 0).
    next_srtcp_index: u32,
}

impl Stream {
    fn new(window: u32) -> Self {
        Stream {
            rtp: ReplayWindow::new(window),
            rtcp: ReplayWindow::new(window),
            next_srtcp_index: 0,
        }
    }
}

impl Context {
    /// A context for `profile` keyed with a master key and master salt (RFC 3711 §8.2),
    /// deriving the SRTP and SRTCP session keys with key derivation rate 0 (§4.3).
    ///
    /// # Errors
    /// [`Error::InvalidKeyLength`] or [`Error::InvalidSaltLength`] when the lengths are not
    /// the profile's ([`SrtpProfile::master_key_len`], [`SrtpProfile::master_salt_len`]);
    /// [`Error::InvalidReplayWindow`] for a window outside 64..=32768.
    pub fn new(
        profile: SrtpProfile,
        master_key: &[u8],
        master_salt: &[u8],
        policy: Policy,
    ) -> Result<Self, Error> {
        if master_key.len() != profile.master_key_len() {
            return Err(Error::InvalidKeyLength {
                expected: profile.master_key_len(),
                actual: master_key.len(),
            });
        }
        if master_salt.len() != profile.master_salt_len() {
            return Err(Error::InvalidSaltLength {
                expected: profile.master_salt_len(),
                actual: master_salt.len(),
            });
        }
        policy.validate()?;
        Ok(Context {
            profile,
            transform: Transform::new(profile, master_key, master_salt)?,
            policy,
            streams: HashMap::default(),
        })
    }

    /// The protection profile.
    pub fn profile(&self) -> SrtpProfile {
        self.profile
    }

    /// The policy the context was made with.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Number of SSRCs with state.
    pub fn stream_count(&self) -> usize {
        self.streams.len()
    }

    /// The rollover counter of `ssrc`'s highest SRTP packet so far (RFC 3711 §3.3.1), or
    /// `None` before its first RTP packet.
    pub fn rollover_counter(&self, ssrc: u32) -> Option<u32> {
        let top = self.streams.get(&ssrc)?.rtp.top()?;
        Some((top >> 16) as u32)
    }

    /// For an outbound stream, the SRTCP index the next protected RTCP packet of `ssrc`
    /// will carry; `None` for an unknown SSRC.
    pub fn srtcp_index(&self, ssrc: u32) -> Option<u32> {
        Some(self.streams.get(&ssrc)?.next_srtcp_index)
    }

    /// Creates the state for `ssrc` ahead of its first packet, which is how streams come
    /// into being when [`Policy::accept_new_ssrc`] is `false`. Does nothing if it exists.
    ///
    /// # Errors
    /// [`Error::TooManyStreams`] at [`Policy::max_streams`].
    pub fn add_stream(&mut self, ssrc: u32) -> Result<(), Error> {
        if self.streams.contains_key(&ssrc) {
            return Ok(());
        }
        if self.streams.len() >= self.policy.max_streams {
            return Err(Error::TooManyStreams);
        }
        self.streams
            .insert(ssrc, Stream::new(self.policy.replay_window));
        Ok(())
    }

    /// Forgets `ssrc` (after an RTCP BYE, say). Returns whether it existed. A later packet
    /// of the same SSRC starts a new stream with ROC 0, so do this only when the SSRC is
    /// really gone: its old packets would be accepted again.
    pub fn remove_stream(&mut self, ssrc: u32) -> bool {
        self.streams.remove(&ssrc).is_some()
    }

    /// Protects the RTP packet in `buf[..len]` in place (RFC 3711 §3.3, RFC 7714 §7.1):
    /// encrypts the payload and appends the tag, so `buf` needs
    /// [`SrtpProfile::rtp_auth_tag_len`] spare bytes after `len`. Returns the SRTP length.
    ///
    /// The packet index comes from the sequence number and the stream's rollover counter,
    /// estimated as for a receiver, so packets may be protected slightly out of order.
    ///
    /// # Errors
    /// [`Error::LengthOutOfBounds`], [`Error::BufferTooSmall`]; [`Error::TooShort`] or
    /// [`Error::BadVersion`] for a malformed header; [`Error::ReplayDuplicate`] or
    /// [`Error::ReplayTooOld`] for an index already used (unless
    /// [`Policy::allow_repeat_tx`]); [`Error::UnknownSsrc`], [`Error::TooManyStreams`],
    /// [`Error::KeyExhausted`]. On error the buffer and the stream state are unchanged.
    pub fn protect_rtp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, Error> {
        let tag_len = self.profile.rtp_auth_tag_len();
        let packet = buf.get(..len).ok_or(Error::LengthOutOfBounds {
            len,
            capacity: buf.len(),
        })?;
        let needed = len + tag_len;
        if buf.len() < needed {
            return Err(Error::BufferTooSmall {
                needed,
                capacity: buf.len(),
            });
        }
        let header = RtpHeader::parse(packet)?;
        let stream = stream_for(&mut self.streams, &self.policy, header.ssrc)?;
        let index = estimate_index(stream.rtp.top(), header.seq)?;
        if let Err(e) = stream.rtp.check(index) {
            if !(self.policy.allow_repeat_tx && e == Error::ReplayDuplicate) {
                return Err(e);
            }
        }
        let n = self
            .transform
            .protect_rtp(buf, header.len, len, header.ssrc, index)?;
        stream.rtp.accept(index);
        Ok(n)
    }

    /// Unprotects the SRTP packet filling `buf` in place (RFC 3711 §3.3, RFC 7714 §7.2):
    /// estimates the index, checks the replay window, verifies the tag in constant time,
    /// then decrypts and records the index. Returns the RTP length: the plaintext packet is
    /// `buf[..n]`.
    ///
    /// # Errors
    /// [`Error::TooShort`], [`Error::BadVersion`], [`Error::ReplayDuplicate`],
    /// [`Error::ReplayTooOld`], [`Error::AuthenticationFailed`], [`Error::UnknownSsrc`],
    /// [`Error::TooManyStreams`], [`Error::KeyExhausted`]. On any error the context is
    /// unchanged; with AES-CM the buffer is too, with GCM its payload bytes are
    /// unspecified (ring decrypts while it authenticates and wipes the output on failure).
    pub fn unprotect_rtp(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        let tag_len = self.profile.rtp_auth_tag_len();
        let len = buf.len().checked_sub(tag_len).ok_or(Error::TooShort)?;
        let header = RtpHeader::parse(buf.get(..len).ok_or(Error::TooShort)?)?;
        let (ssrc, seq) = (header.ssrc, header.seq);
        let n_streams = self.streams.len();
        if let Some(stream) = self.streams.get_mut(&ssrc) {
            let index = estimate_index(stream.rtp.top(), seq)?;
            stream.rtp.check(index)?;
            let n = self.transform.unprotect_rtp(buf, header.len, ssrc, index)?;
            // Authentic: now, and only now, state may change.
            stream.rtp.accept(index);
            Ok(n)
        } else {
            may_create(&self.policy, n_streams, ssrc)?;
            let index = estimate_index(None, seq)?;
            let n = self.transform.unprotect_rtp(buf, header.len, ssrc, index)?;
            let mut stream = Stream::new(self.policy.replay_window);
            stream.rtp.accept(index);
            self.streams.insert(ssrc, stream);
            Ok(n)
        }
    }

    /// Protects the RTCP compound packet in `buf[..len]` in place (RFC 3711 §3.4, RFC
    /// 7714 §9): encrypts everything after the first 8 bytes, appends `E=1 || SRTCP
    /// index` and the tag, so `buf` needs [`SrtpProfile::rtcp_overhead`] spare bytes.
    /// The SRTCP index of the sender SSRC (bytes 4..8) counts up from 0. Returns the
    /// SRTCP length.
    ///
    /// # Errors
    /// [`Error::LengthOutOfBounds`], [`Error::BufferTooSmall`], [`Error::TooShort`] (under
    /// 8 bytes), [`Error::BadVersion`], [`Error::UnknownSsrc`], [`Error::TooManyStreams`],
    /// [`Error::KeyExhausted`] after 2^31 packets of one SSRC.
    pub fn protect_rtcp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, Error> {
        let packet = buf.get(..len).ok_or(Error::LengthOutOfBounds {
            len,
            capacity: buf.len(),
        })?;
        let needed = len + self.profile.rtcp_overhead();
        if buf.len() < needed {
            return Err(Error::BufferTooSmall {
                needed,
                capacity: buf.len(),
            });
        }
        let ssrc = rtcp_sender_ssrc(packet)?;
        let stream = stream_for(&mut self.streams, &self.policy, ssrc)?;
        let index = stream.next_srtcp_index;
        if index > !SRTCP_E_FLAG {
            return Err(Error::KeyExhausted);
        }
        let n = self.transform.protect_rtcp(buf, len, ssrc, index)?;
        stream.next_srtcp_index = index + 1;
        Ok(n)
    }

    /// Unprotects the SRTCP packet filling `buf` in place (RFC 3711 §3.4, RFC 7714 §9):
    /// reads `E || SRTCP index`, checks the replay window, verifies the tag in constant
    /// time, then decrypts (if `E` is set) and records the index. Returns the RTCP length:
    /// the compound packet is `buf[..n]`.
    ///
    /// # Errors
    /// As [`unprotect_rtp`](Self::unprotect_rtp). On any error the context is unchanged;
    /// the buffer's bytes after the first 8 may be unspecified with GCM.
    pub fn unprotect_rtcp(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        let trailer = self.profile.rtcp_overhead();
        if buf.len() < RTCP_HEADER_LEN + trailer {
            return Err(Error::TooShort);
        }
        let ssrc = rtcp_sender_ssrc(buf)?;
        // AES-CM: ... || E+index || tag; GCM: ... || tag || E+index.
        let at = if self.profile.is_aead() {
            buf.len() - SRTCP_INDEX_LEN
        } else {
            buf.len() - trailer
        };
        let e_index = read_u32(buf, at)?;
        let index = u64::from(e_index & !SRTCP_E_FLAG);
        let n_streams = self.streams.len();
        if let Some(stream) = self.streams.get_mut(&ssrc) {
            stream.rtcp.check(index)?;
            let n = self.transform.unprotect_rtcp(buf, ssrc, e_index)?;
            stream.rtcp.accept(index);
            Ok(n)
        } else {
            may_create(&self.policy, n_streams, ssrc)?;
            let n = self.transform.unprotect_rtcp(buf, ssrc, e_index)?;
            let mut stream = Stream::new(self.policy.replay_window);
            stream.rtcp.accept(index);
            self.streams.insert(ssrc, stream);
            Ok(n)
        }
    }

    /// [`protect_rtp`](Self::protect_rtp) on a `Vec` holding the RTP packet: grows it by
    /// the tag (allocating only if its capacity is short) and leaves the SRTP packet.
    ///
    /// # Errors
    /// As [`protect_rtp`](Self::protect_rtp); the `Vec` is unchanged on error.
    pub fn protect_rtp_vec(&mut self, packet: &mut Vec<u8>) -> Result<(), Error> {
        let len = packet.len();
        packet.resize(len + self.profile.rtp_auth_tag_len(), 0);
        match self.protect_rtp(packet, len) {
            Ok(n) => {
                packet.truncate(n);
                Ok(())
            }
            Err(e) => {
                packet.truncate(len);
                Err(e)
            }
        }
    }

    /// [`protect_rtcp`](Self::protect_rtcp) on a `Vec` holding the RTCP packet.
    ///
    /// # Errors
    /// As [`protect_rtcp`](Self::protect_rtcp); the `Vec` is unchanged on error.
    pub fn protect_rtcp_vec(&mut self, packet: &mut Vec<u8>) -> Result<(), Error> {
        let len = packet.len();
        packet.resize(len + self.profile.rtcp_overhead(), 0);
        match self.protect_rtcp(packet, len) {
            Ok(n) => {
                packet.truncate(n);
                Ok(())
            }
            Err(e) => {
                packet.truncate(len);
                Err(e)
            }
        }
    }
}

impl core::fmt::Debug for Context {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Never print keys.
        f.debug_struct("Context")
            .field("profile", &self.profile)
            .field("policy", &self.policy)
            .field("streams", &self.streams.len())
            .finish_non_exhaustive()
    }
}

/// The inbound and outbound contexts of a DTLS-SRTP session.
#[derive(Debug)]
pub struct ContextPair {
    /// Unprotects what the peer sends (keyed with the peer's write key and salt).
    pub inbound: Context,
    /// Protects what this side sends (keyed with this side's write key and salt).
    pub outbound: Context,
}

impl ContextPair {
    /// Splits DTLS-SRTP keying material (RFC 5764 §4.2) into the two directions:
    /// `client_write_SRTP_master_key | server_write_SRTP_master_key |
    /// client_write_SRTP_master_salt | server_write_SRTP_master_salt`, exported with the
    /// label `"EXTRACTOR-dtls_srtp"` and [`SrtpProfile::keying_material_len`] bytes.
    /// `is_client` is this side's DTLS role: a client writes with the client key.
    ///
    /// # Errors
    /// [`Error::InvalidKeyingMaterialLength`], or what [`Context::new`] returns.
    pub fn from_keying_material(
        profile: SrtpProfile,
        keying_material: &[u8],
        is_client: bool,
        policy: Policy,
    ) -> Result<Self, Error> {
        let expected = profile.keying_material_len();
        if keying_material.len() != expected {
            return Err(Error::InvalidKeyingMaterialLength {
                expected,
                actual: keying_material.len(),
            });
        }
        let k = profile.master_key_len();
        let s = profile.master_salt_len();
        let err = Error::InvalidKeyingMaterialLength {
            expected,
            actual: keying_material.len(),
        };
        let client_key = keying_material.get(..k).ok_or(err)?;
        let server_key = keying_material.get(k..2 * k).ok_or(err)?;
        let client_salt = keying_material.get(2 * k..2 * k + s).ok_or(err)?;
        let server_salt = keying_material.get(2 * k + s..2 * k + 2 * s).ok_or(err)?;
        let (local, remote) = if is_client {
            ((client_key, client_salt), (server_key, server_salt))
        } else {
            ((server_key, server_salt), (client_key, client_salt))
        };
        Ok(ContextPair {
            inbound: Context::new(profile, remote.0, remote.1, policy.clone())?,
            outbound: Context::new(profile, local.0, local.1, policy)?,
        })
    }
}

/// Whether a stream for `ssrc` may be created (once its packet authenticates, when
/// receiving), with `n_streams` existing.
fn may_create(policy: &Policy, n_streams: usize, ssrc: u32) -> Result<(), Error> {
    if !policy.accept_new_ssrc {
        return Err(Error::UnknownSsrc(ssrc));
    }
    if n_streams >= policy.max_streams {
        return Err(Error::TooManyStreams);
    }
    Ok(())
}

/// The stream of `ssrc`, created if the policy allows (for protection, where no
/// authentication precedes it).
fn stream_for<'a>(
    streams: &'a mut HashMap<u32, Stream, BuildHasherDefault<SsrcHasher>>,
    policy: &Policy,
    ssrc: u32,
) -> Result<&'a mut Stream, Error> {
    let n_streams = streams.len();
    match streams.entry(ssrc) {
        Entry::Occupied(o) => Ok(o.into_mut()),
        Entry::Vacant(v) => {
            may_create(policy, n_streams, ssrc)?;
            Ok(v.insert(Stream::new(policy.replay_window)))
        }
    }
}

/// What SRTP needs of an RTP header (RFC 3550 §5.1, §5.3.1).
struct RtpHeader {
    /// Header length including CSRCs and the header extension.
    len: usize,
    seq: u16,
    ssrc: u32,
}

impl RtpHeader {
    fn parse(packet: &[u8]) -> Result<Self, Error> {
        let first = *packet.first().ok_or(Error::TooShort)?;
        if packet.len() < 12 {
            return Err(Error::TooShort);
        }
        if first >> 6 != 2 {
            return Err(Error::BadVersion);
        }
        let seq = u16::from_be_bytes([
            *packet.get(2).ok_or(Error::TooShort)?,
            *packet.get(3).ok_or(Error::TooShort)?,
        ]);
        let ssrc = read_u32(packet, 8)?;
        let mut len = 12 + 4 * usize::from(first & 0x0f);
        if first & 0x10 != 0 {
            // defined by profile (16 bits) || length in 32-bit words (16 bits)
            let words = u16::from_be_bytes([
                *packet.get(len + 2).ok_or(Error::TooShort)?,
                *packet.get(len + 3).ok_or(Error::TooShort)?,
            ]);
            len += 4 + 4 * usize::from(words);
        }
        if len > packet.len() {
            return Err(Error::TooShort);
        }
        Ok(RtpHeader { len, seq, ssrc })
    }
}

/// The SSRC of the packet sender (bytes 4..8 of the first RTCP packet, RFC 3550 §6.4).
fn rtcp_sender_ssrc(packet: &[u8]) -> Result<u32, Error> {
    if packet.len() < RTCP_HEADER_LEN {
        return Err(Error::TooShort);
    }
    if packet.first().is_some_and(|b| b >> 6 != 2) {
        return Err(Error::BadVersion);
    }
    read_u32(packet, 4)
}

fn read_u32(b: &[u8], at: usize) -> Result<u32, Error> {
    let bytes = b.get(at..at + 4).ok_or(Error::TooShort)?;
    let mut w = [0u8; 4];
    w.copy_from_slice(bytes);
    Ok(u32::from_be_bytes(w))
}

/// SSRCs are random 32-bit values: a multiplicative hash spreads them at a fraction of
/// SipHash's cost. Streams only exist for authenticated SSRCs, so a peer cannot flood the
/// table with chosen keys.
#[derive(Default)]
struct SsrcHasher(u64);

impl Hasher for SsrcHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u32(&mut self, n: u32) {
        let h = u64::from(n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.0 = h ^ (h >> 29);
    }
}
