//! RTP header extensions: RFC 8285 element iteration, the id map negotiated with `a=extmap`,
//! and typed values for the extensions WebRTC uses.

use super::packet::{ONE_BYTE_PROFILE, TWO_BYTE_PROFILE};
use crate::error::{Error, Result};
use crate::types::NtpTime;

/// Iterator over RFC 8285 extension elements `(id, data)` of one extension block.
///
/// Padding octets (id 0) are skipped; in the one-byte form id 15 ends the block (RFC 8285
/// section 4.2); a length running past the block ends the iteration.
#[derive(Debug, Clone)]
pub struct ExtensionElements<'a> {
    data: &'a [u8],
    pos: usize,
    two_byte: bool,
}

impl<'a> ExtensionElements<'a> {
    /// Iterates the elements of an extension block with `profile` ("defined by profile") and
    /// `data` (after the 4-byte block header). Yields nothing for non-RFC 8285 profiles.
    #[must_use]
    pub fn new(profile: u16, data: &'a [u8]) -> Self {
        let (two_byte, data) = if profile == ONE_BYTE_PROFILE {
            (false, data)
        } else if profile & 0xFFF0 == TWO_BYTE_PROFILE {
            (true, data)
        } else {
            (false, &[][..])
        };
        ExtensionElements {
            data,
            pos: 0,
            two_byte,
        }
    }

    /// Like the iterator, but yields `(id, offset, len)` with the offset into the block data.
    pub fn offsets(mut self) -> impl Iterator<Item = (u8, usize, usize)> + 'a {
        core::iter::from_fn(move || self.next_offset())
    }

    fn next_offset(&mut self) -> Option<(u8, usize, usize)> {
        loop {
            let b = *self.data.get(self.pos)?;
            // Id 0 is padding: a single octet in both forms, whatever its low nibble (as
            // libwebrtc reads it).
            if (self.two_byte && b == 0) || (!self.two_byte && b >> 4 == 0) {
                self.pos += 1;
                continue;
            }
            let (id, len, hdr) = if self.two_byte {
                let len = *self.data.get(self.pos + 1)?;
                (b, usize::from(len), 2)
            } else {
                let id = b >> 4;
                if id == 15 {
                    self.pos = self.data.len();
                    return None;
                }
                (id, usize::from(b & 0x0F) + 1, 1)
            };
            let start = self.pos + hdr;
            let end = start + len;
            if end > self.data.len() {
                self.pos = self.data.len();
                return None;
            }
            self.pos = end;
            return Some((id, start, len));
        }
    }
}

impl<'a> Iterator for ExtensionElements<'a> {
    type Item = (u8, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let (id, start, len) = self.next_offset()?;
        Some((id, self.data.get(start..start + len)?))
    }
}

/// The header extensions this crate knows by URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExtensionKind {
    /// `http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time`
    AbsSendTime,
    /// `http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01`
    TransportSequenceNumber,
    /// `urn:ietf:params:rtp-hdrext:sdes:mid` (RFC 9143)
    Mid,
    /// `urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id` (RFC 8852)
    RtpStreamId,
    /// `urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id` (RFC 8852)
    RepairedRtpStreamId,
    /// `urn:ietf:params:rtp-hdrext:ssrc-audio-level` (RFC 6464)
    AudioLevel,
    /// `urn:3gpp:video-orientation` (3GPP TS 26.114)
    VideoOrientation,
    /// `http://www.webrtc.org/experiments/rtp-hdrext/playout-delay`
    PlayoutDelay,
    /// `http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time`
    AbsCaptureTime,
    /// `https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension`
    DependencyDescriptor,
}

impl ExtensionKind {
    /// Every kind, in declaration order.
    pub const ALL: [ExtensionKind; 10] = [
        ExtensionKind::AbsSendTime,
        ExtensionKind::TransportSequenceNumber,
        ExtensionKind::Mid,
        ExtensionKind::RtpStreamId,
        ExtensionKind::RepairedRtpStreamId,
        ExtensionKind::AudioLevel,
        ExtensionKind::VideoOrientation,
        ExtensionKind::PlayoutDelay,
        ExtensionKind::AbsCaptureTime,
        ExtensionKind::DependencyDescriptor,
    ];

    /// The URI used in `a=extmap`.
    #[must_use]
    pub fn uri(self) -> &'static str {
        match self {
            ExtensionKind::AbsSendTime => "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
            ExtensionKind::TransportSequenceNumber => {
                "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
            }
            ExtensionKind::Mid => "urn:ietf:params:rtp-hdrext:sdes:mid",
            ExtensionKind::RtpStreamId => "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
            ExtensionKind::RepairedRtpStreamId => {
                "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"
            }
            ExtensionKind::AudioLevel => "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
            ExtensionKind::VideoOrientation => "urn:3gpp:video-orientation",
            ExtensionKind::PlayoutDelay => {
                "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay"
            }
            ExtensionKind::AbsCaptureTime => {
                "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time"
            }
            ExtensionKind::DependencyDescriptor => {
                "https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension"
            }
        }
    }

    /// The kind an `a=extmap` URI names, if this crate knows it.
    #[must_use]
    pub fn from_uri(uri: &str) -> Option<ExtensionKind> {
        Self::ALL.into_iter().find(|k| k.uri() == uri)
    }
}

/// Which local id each known extension has, as negotiated with `a=extmap` (RFC 8285 section 5).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtensionMap {
    ids: [Option<u8>; ExtensionKind::ALL.len()],
}

impl ExtensionMap {
    /// An empty map.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Chromium's default ids for its own offers (handy in tests).
    #[must_use]
    pub fn webrtc_default() -> Self {
        let mut m = Self::new();
        m.insert(1, ExtensionKind::AudioLevel);
        m.insert(2, ExtensionKind::AbsSendTime);
        m.insert(3, ExtensionKind::TransportSequenceNumber);
        m.insert(4, ExtensionKind::Mid);
        m.insert(10, ExtensionKind::RtpStreamId);
        m.insert(11, ExtensionKind::RepairedRtpStreamId);
        m.insert(12, ExtensionKind::PlayoutDelay);
        m.insert(13, ExtensionKind::VideoOrientation);
        m.insert(14, ExtensionKind::AbsCaptureTime);
        m
    }

    fn slot(kind: ExtensionKind) -> usize {
        ExtensionKind::ALL
            .iter()
            .position(|k| *k == kind)
            .unwrap_or(0)
    }

    /// Maps `kind` to `id` (1..=255), replacing any kind that had `id` before.
    pub fn insert(&mut self, id: u8, kind: ExtensionKind) {
        for slot in self.ids.iter_mut() {
            if *slot == Some(id) {
                *slot = None;
            }
        }
        self.ids[Self::slot(kind)] = Some(id);
    }

    /// Maps the extension named by `uri` to `id`; returns false for unknown URIs.
    pub fn insert_uri(&mut self, id: u8, uri: &str) -> bool {
        match ExtensionKind::from_uri(uri) {
            Some(k) => {
                self.insert(id, k);
                true
            }
            None => false,
        }
    }

    /// Removes `kind`.
    pub fn remove(&mut self, kind: ExtensionKind) {
        self.ids[Self::slot(kind)] = None;
    }

    /// The id of `kind`.
    #[must_use]
    pub fn id(&self, kind: ExtensionKind) -> Option<u8> {
        self.ids[Self::slot(kind)]
    }

    /// The kind with `id`.
    #[must_use]
    pub fn kind(&self, id: u8) -> Option<ExtensionKind> {
        ExtensionKind::ALL
            .into_iter()
            .zip(self.ids)
            .find(|(_, i)| *i == Some(id))
            .map(|(k, _)| k)
    }

    /// `(id, kind)` pairs, in kind order.
    pub fn iter(&self) -> impl Iterator<Item = (u8, ExtensionKind)> + '_ {
        ExtensionKind::ALL
            .into_iter()
            .zip(self.ids)
            .filter_map(|(k, i)| i.map(|i| (i, k)))
    }
}

/// A typed header extension value: parse from and write to an element's data.
pub trait ExtensionValue: Sized {
    /// Which extension this is.
    const KIND: ExtensionKind;

    /// Parses an element's data.
    ///
    /// # Errors
    /// [`Error::Truncated`] or [`Error::Malformed`] when the data does not hold a value.
    fn parse(data: &[u8]) -> Result<Self>;

    /// Appends the element's data (not its id/length header) to `buf`.
    ///
    /// # Errors
    /// [`Error::ValueOutOfRange`] when a field does not fit.
    fn write(&self, buf: &mut Vec<u8>) -> Result<()>;

    /// The element's data as a fresh vector.
    ///
    /// # Errors
    /// As [`ExtensionValue::write`].
    fn to_vec(&self) -> Result<Vec<u8>> {
        let mut v = Vec::new();
        self.write(&mut v)?;
        Ok(v)
    }
}

fn fixed<const N: usize>(data: &[u8], what: &'static str) -> Result<[u8; N]> {
    data.get(..N)
        .and_then(|d| <[u8; N]>::try_from(d).ok())
        .ok_or(Error::Truncated(what))
}

/// abs-send-time: the send time as 6.18 fixed point seconds, 24 bits (wraps every 64 s).
///
/// ```text
///  0                   1                   2                   3
/// |  ID   | len=2 |              absolute send time               |
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AbsSendTime(pub u32);

impl AbsSendTime {
    /// The 24-bit value from an NTP time (bits 14..38 of the 64-bit timestamp).
    #[must_use]
    pub fn from_ntp(ntp: NtpTime) -> Self {
        AbsSendTime(((ntp.0 >> 14) & 0xFF_FFFF) as u32)
    }
}

impl ExtensionValue for AbsSendTime {
    const KIND: ExtensionKind = ExtensionKind::AbsSendTime;
    fn parse(data: &[u8]) -> Result<Self> {
        let [a, b, c] = fixed(data, "abs-send-time")?;
        Ok(AbsSendTime(u32::from_be_bytes([0, a, b, c])))
    }
    fn write(&self, buf: &mut Vec<u8>) -> Result<()> {
        if self.0 > 0xFF_FFFF {
            return Err(Error::ValueOutOfRange("abs-send-time"));
        }
        buf.extend_from_slice(&self.0.to_be_bytes()[1..]);
        Ok(())
    }
}

/// Transport-wide sequence number (draft-holmer-rmcat-transport-wide-cc-extensions-01
/// section 2), 16 bits, counting every packet on the transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TransportSequenceNumber(pub u16);

impl ExtensionValue for TransportSequenceNumber {
    const KIND: ExtensionKind = ExtensionKind::TransportSequenceNumber;
    fn parse(data: &[u8]) -> Result<Self> {
        Ok(TransportSequenceNumber(u16::from_be_bytes(fixed(
            data,
            "transport-cc",
        )?)))
    }
    fn write(&self, buf: &mut Vec<u8>) -> Result<()> {
        buf.extend_from_slice(&self.0.to_be_bytes());
        Ok(())
    }
}

fn parse_sdes_text(data: &[u8], what: &'static str) -> Result<String> {
    // libwebrtc strips trailing NULs some senders add.
    let end = data.iter().rposition(|b| *b != 0).map_or(0, |p| p + 1);
    let s = core::str::from_utf8(&data[..end]).map_err(|_| Error::Malformed(what))?;
    if s.is_empty() || s.contains('\0') {
        return Err(Error::Malformed(what));
    }
    Ok(s.to_owned())
}

fn write_sdes_text(s: &str, buf: &mut Vec<u8>, what: &'static str) -> Result<()> {
    if s.is_empty() || s.len() > 255 || s.as_bytes().contains(&0) {
        return Err(Error::ValueOutOfRange(what));
    }
    buf.extend_from_slice(s.as_bytes());
    Ok(())
}

macro_rules! sdes_extension {
    ($(#[$doc:meta])* $name:ident, $kind:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
        pub struct $name(pub String);

        impl ExtensionValue for $name {
            const KIND: ExtensionKind = ExtensionKind::$kind;
            fn parse(data: &[u8]) -> Result<Self> {
                parse_sdes_text(data, $what).map($name)
            }
            fn write(&self, buf: &mut Vec<u8>) -> Result<()> {
                write_sdes_text(&self.0, buf, $what)
            }
        }
    };
}

sdes_extension!(
    /// sdes:mid (RFC 9143 section 15): the media identification of the m= section, 1..=255
    /// UTF-8 octets (Chromium sends at most 16 to keep the one-byte form).
    Mid,
    Mid,
    "sdes:mid"
);
sdes_extension!(
    /// sdes:rtp-stream-id (RFC 8852 section 3.1): the RID of a simulcast encoding.
    RtpStreamId,
    RtpStreamId,
    "sdes:rtp-stream-id"
);
sdes_extension!(
    /// sdes:repaired-rtp-stream-id (RFC 8852 section 3.2): the RID an RTX/FEC stream repairs.
    RepairedRtpStreamId,
    RepairedRtpStreamId,
    "sdes:repaired-rtp-stream-id"
);

/// ssrc-audio-level (RFC 6464 section 3): voice activity and level in -dBov (0..=127).
///
/// ```text
///  0                   1
/// |  ID   | len=0 |V| level       |
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AudioLevel {
    /// The V bit: the sender's voice activity detector says the packet holds speech.
    pub voice_activity: bool,
    /// The level in -dBov: 0 is loudest, 127 is silence.
    pub level: u8,
}

impl ExtensionValue for AudioLevel {
    const KIND: ExtensionKind = ExtensionKind::AudioLevel;
    fn parse(data: &[u8]) -> Result<Self> {
        let [b] = fixed(data, "ssrc-audio-level")?;
        Ok(AudioLevel {
            voice_activity: b & 0x80 != 0,
            level: b & 0x7F,
        })
    }
    fn write(&self, buf: &mut Vec<u8>) -> Result<()> {
        if self.level > 127 {
            return Err(Error::ValueOutOfRange("audio level"));
        }
        buf.push((u8::from(self.voice_activity) << 7) | self.level);
        Ok(())
    }
}

/// Coordination of video orientation, CVO (3GPP TS 26.114 section 7.4.5).
///
/// ```text
/// |  ID   | len=0 |0 0 0 0 C F R R|
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct VideoOrientation {
    /// C: the camera faces away from the user (back camera).
    pub back_camera: bool,
    /// F: the image is flipped horizontally.
    pub flip: bool,
    /// R1 R0: clockwise rotation in multiples of 90 degrees (0..=3).
    pub rotation: u8,
}

impl VideoOrientation {
    /// The rotation in degrees (0, 90, 180, 270).
    #[must_use]
    pub fn degrees(self) -> u16 {
        u16::from(self.rotation & 3) * 90
    }
}

impl ExtensionValue for VideoOrientation {
    const KIND: ExtensionKind = ExtensionKind::VideoOrientation;
    fn parse(data: &[u8]) -> Result<Self> {
        let [b] = fixed(data, "video-orientation")?;
        Ok(VideoOrientation {
            back_camera: b & 0x08 != 0,
            flip: b & 0x04 != 0,
            rotation: b & 0x03,
        })
    }
    fn write(&self, buf: &mut Vec<u8>) -> Result<()> {
        if self.rotation > 3 {
            return Err(Error::ValueOutOfRange("video rotation"));
        }
        buf.push((u8::from(self.back_camera) << 3) | (u8::from(self.flip) << 2) | self.rotation);
        Ok(())
    }
}

/// playout-delay: the minimum and maximum delay the receiver should apply, 12 bits each in
/// units of 10 ms.
///
/// ```text
/// |  ID   | len=2 |       MIN delay       |       MAX delay       |
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PlayoutDelay {
    /// Minimum delay, 10 ms units (0..=4095).
    pub min: u16,
    /// Maximum delay, 10 ms units (0..=4095).
    pub max: u16,
}

impl ExtensionValue for PlayoutDelay {
    const KIND: ExtensionKind = ExtensionKind::PlayoutDelay;
    fn parse(data: &[u8]) -> Result<Self> {
        let [a, b, c] = fixed(data, "playout-delay")?;
        Ok(PlayoutDelay {
            min: (u16::from(a) << 4) | u16::from(b >> 4),
            max: (u16::from(b & 0x0F) << 8) | u16::from(c),
        })
    }
    fn write(&self, buf: &mut Vec<u8>) -> Result<()> {
        if self.min > 0xFFF || self.max > 0xFFF {
            return Err(Error::ValueOutOfRange("playout delay"));
        }
        buf.push((self.min >> 4) as u8);
        buf.push((((self.min & 0xF) << 4) | (self.max >> 8)) as u8);
        buf.push(self.max as u8);
        Ok(())
    }
}

/// abs-capture-time: the NTP capture time of the frame and, optionally, the sender's estimate
/// of the offset between its clock and the capturer's.
///
/// ```text
/// |  ID   | len=7 or 15 | absolute capture timestamp (64, UQ32.32) |
/// |        [estimated capture clock offset (64, Q32.32)]           |
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AbsCaptureTime {
    /// Capture time, NTP format.
    pub absolute_capture_timestamp: NtpTime,
    /// Offset of the capturer's clock to the sender's, Q32.32 seconds.
    pub estimated_capture_clock_offset: Option<i64>,
}

impl ExtensionValue for AbsCaptureTime {
    const KIND: ExtensionKind = ExtensionKind::AbsCaptureTime;
    fn parse(data: &[u8]) -> Result<Self> {
        let ts = u64::from_be_bytes(fixed(data, "abs-capture-time")?);
        let offset = match data.len() {
            8 => None,
            16 => Some(i64::from_be_bytes(fixed(&data[8..], "abs-capture-time")?)),
            _ => return Err(Error::Malformed("abs-capture-time length")),
        };
        Ok(AbsCaptureTime {
            absolute_capture_timestamp: NtpTime(ts),
            estimated_capture_clock_offset: offset,
        })
    }
    fn write(&self, buf: &mut Vec<u8>) -> Result<()> {
        buf.extend_from_slice(&self.absolute_capture_timestamp.0.to_be_bytes());
        if let Some(o) = self.estimated_capture_clock_offset {
            buf.extend_from_slice(&o.to_be_bytes());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rt<E: ExtensionValue + PartialEq + core::fmt::Debug>(v: &E) {
        let d = v.to_vec().unwrap();
        assert_eq!(&E::parse(&d).unwrap(), v);
    }

    #[test]
    fn chrome_values() {
        // From the Chromium capture in packet.rs (id 2 abs-send-time, id 4 transport-cc).
        assert_eq!(
            AbsSendTime::parse(&[0xf3, 0x43, 0x50]).unwrap(),
            AbsSendTime(0xf34350)
        );
        assert_eq!(
            TransportSequenceNumber::parse(&[0x00, 0x9b]).unwrap(),
            TransportSequenceNumber(155)
        );
        assert_eq!(Mid::parse(b"0").unwrap(), Mid("0".into()));
        assert_eq!(Mid::parse(b"ab\0\0").unwrap(), Mid("ab".into()));
        assert!(Mid::parse(b"").is_err());
        assert!(Mid::parse(&[0xff]).is_err());
    }

    #[test]
    fn rfc6464_and_cvo() {
        assert_eq!(
            AudioLevel::parse(&[0x85]).unwrap(),
            AudioLevel {
                voice_activity: true,
                level: 5
            }
        );
        let v = VideoOrientation::parse(&[0x0E]).unwrap();
        assert_eq!(
            v,
            VideoOrientation {
                back_camera: true,
                flip: true,
                rotation: 2
            }
        );
        assert_eq!(v.degrees(), 180);
        assert_eq!(
            PlayoutDelay::parse(&[0x01, 0x23, 0x45]).unwrap(),
            PlayoutDelay {
                min: 0x012,
                max: 0x345
            }
        );
        assert!(AbsCaptureTime::parse(&[0; 9]).is_err());
        assert!(AbsSendTime::parse(&[1, 2]).is_err());
        assert!(AbsSendTime(1 << 24).to_vec().is_err());
        assert!(AudioLevel {
            voice_activity: false,
            level: 128
        }
        .to_vec()
        .is_err());
    }

    #[test]
    fn abs_send_time_from_ntp() {
        // 1.5 s: 6.18 fixed point 1.5 * 2^18 = 0x60000.
        let ntp = NtpTime((1u64 << 32) | 0x8000_0000);
        assert_eq!(AbsSendTime::from_ntp(ntp), AbsSendTime(0x06_0000));
    }

    #[test]
    fn map_lookups() {
        let mut m = ExtensionMap::new();
        assert!(m.insert_uri(5, ExtensionKind::Mid.uri()));
        assert!(!m.insert_uri(6, "urn:x"));
        m.insert(5, ExtensionKind::AudioLevel);
        assert_eq!(m.id(ExtensionKind::Mid), None);
        assert_eq!(m.kind(5), Some(ExtensionKind::AudioLevel));
        for k in ExtensionKind::ALL {
            assert_eq!(ExtensionKind::from_uri(k.uri()), Some(k));
        }
        assert_eq!(ExtensionMap::webrtc_default().iter().count(), 9);
    }

    proptest! {
        #[test]
        fn typed_round_trips(
            a in 0u32..(1 << 24), t in any::<u16>(), s in "[a-zA-Z0-9]{1,16}",
            v in any::<bool>(), l in 0u8..128, c in any::<bool>(), f in any::<bool>(), r in 0u8..4,
            mn in 0u16..4096, mx in 0u16..4096, ts in any::<u64>(), off in proptest::option::of(any::<i64>()),
        ) {
            rt(&AbsSendTime(a));
            rt(&TransportSequenceNumber(t));
            rt(&Mid(s.clone()));
            rt(&RtpStreamId(s.clone()));
            rt(&RepairedRtpStreamId(s));
            rt(&AudioLevel { voice_activity: v, level: l });
            rt(&VideoOrientation { back_camera: c, flip: f, rotation: r });
            rt(&PlayoutDelay { min: mn, max: mx });
            rt(&AbsCaptureTime { absolute_capture_timestamp: NtpTime(ts), estimated_capture_clock_offset: off });
        }

        #[test]
        fn typed_parse_any_is_stable(d in proptest::collection::vec(any::<u8>(), 0..20)) {
            fn stable<E: ExtensionValue + PartialEq + core::fmt::Debug>(d: &[u8]) {
                if let Ok(v) = E::parse(d) {
                    let w = v.to_vec().unwrap();
                    assert_eq!(E::parse(&w).unwrap(), v);
                }
            }
            stable::<AbsSendTime>(&d);
            stable::<TransportSequenceNumber>(&d);
            stable::<Mid>(&d);
            stable::<AudioLevel>(&d);
            stable::<VideoOrientation>(&d);
            stable::<PlayoutDelay>(&d);
            stable::<AbsCaptureTime>(&d);
        }
    }
}
