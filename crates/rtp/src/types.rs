//! Newtypes for identifiers and clocks: [`Ssrc`], [`SeqNo`], [`ExtSeqNo`], [`NtpTime`].

use core::fmt;
use core::time::Duration;

/// A synchronization source identifier (RFC 3550 section 3), 32 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Ssrc(pub u32);

impl fmt::Display for Ssrc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl From<u32> for Ssrc {
    fn from(v: u32) -> Self {
        Ssrc(v)
    }
}

/// An RTP sequence number as carried on the wire (RFC 3550 section 5.1), 16 bits, wrapping.
///
/// Comparisons that respect wrapping go through [`SeqNo::is_newer_than`] or an
/// [`SeqNoUnwrapper`]; the derived `Ord` is plain integer order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SeqNo(pub u16);

impl SeqNo {
    /// The sequence number after this one, wrapping at 2^16.
    #[must_use]
    pub fn next(self) -> SeqNo {
        SeqNo(self.0.wrapping_add(1))
    }

    /// `self + n`, wrapping at 2^16.
    #[must_use]
    pub fn wrapping_add(self, n: u16) -> SeqNo {
        SeqNo(self.0.wrapping_add(n))
    }

    /// Signed distance from `other` to `self` in the shorter direction around the circle.
    #[must_use]
    pub fn diff(self, other: SeqNo) -> i16 {
        self.0.wrapping_sub(other.0) as i16
    }

    /// True when `self` comes after `other` (serial number arithmetic, half the space ahead).
    #[must_use]
    pub fn is_newer_than(self, other: SeqNo) -> bool {
        self.diff(other) > 0
    }
}

impl fmt::Display for SeqNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl From<u16> for SeqNo {
    fn from(v: u16) -> Self {
        SeqNo(v)
    }
}

/// A sequence number unwrapped to 64 bits: `cycles << 16 | seq`. Never wraps in practice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ExtSeqNo(pub u64);

impl ExtSeqNo {
    /// The 16-bit wire value.
    #[must_use]
    pub fn seq(self) -> SeqNo {
        SeqNo(self.0 as u16)
    }

    /// The low 32 bits, as the "extended highest sequence number" of a report block carries
    /// (RFC 3550 section 6.4.1).
    #[must_use]
    pub fn as_u32(self) -> u32 {
        self.0 as u32
    }
}

impl fmt::Display for ExtSeqNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Unwraps 16-bit sequence numbers to [`ExtSeqNo`] by choosing, for each input, the value
/// closest to the last one returned (the method of RFC 3550 appendix A.1 without probation).
///
/// The first input maps to itself (cycle 0). An input that would unwrap to before zero (a
/// packet older than the first one, across a wrap) yields `None`.
#[derive(Debug, Clone, Default)]
pub struct SeqNoUnwrapper {
    last: Option<u64>,
}

impl SeqNoUnwrapper {
    /// A fresh unwrapper.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Unwraps `seq` relative to the newest value seen so far, and advances when it is newer.
    pub fn unwrap(&mut self, seq: SeqNo) -> Option<ExtSeqNo> {
        let ext = self.peek(seq)?;
        if self.last.is_none_or(|l| ext.0 > l) {
            self.last = Some(ext.0);
        }
        Some(ext)
    }

    /// Like [`SeqNoUnwrapper::unwrap`] without changing state.
    #[must_use]
    pub fn peek(&self, seq: SeqNo) -> Option<ExtSeqNo> {
        match self.last {
            None => Some(ExtSeqNo(u64::from(seq.0))),
            Some(last) => {
                let delta = i64::from(seq.diff(SeqNo(last as u16)));
                let v = (last as i64).checked_add(delta)?;
                u64::try_from(v).ok().map(ExtSeqNo)
            }
        }
    }

    /// The newest value returned so far.
    #[must_use]
    pub fn last(&self) -> Option<ExtSeqNo> {
        self.last.map(ExtSeqNo)
    }
}

/// A 64-bit NTP timestamp (RFC 5905 section 6): seconds since 1900-01-01 in the high 32 bits,
/// the fraction of a second in the low 32 bits.
///
/// This crate never reads a wall clock: the caller passes the current NTP time in (for example
/// from `SystemTime` via [`NtpTime::from_unix`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct NtpTime(pub u64);

/// Seconds from 1900-01-01 (NTP era 0) to 1970-01-01 (the Unix epoch).
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

impl NtpTime {
    /// Converts a time since the Unix epoch.
    #[must_use]
    pub fn from_unix(since_epoch: Duration) -> NtpTime {
        Self::from_duration(since_epoch + Duration::from_secs(NTP_UNIX_OFFSET))
    }

    /// Converts a time since the NTP epoch (1900), wrapping at era boundaries.
    #[must_use]
    pub fn from_duration(since_1900: Duration) -> NtpTime {
        let secs = since_1900.as_secs() & 0xFFFF_FFFF;
        let frac = (u64::from(since_1900.subsec_nanos()) << 32) / 1_000_000_000;
        NtpTime((secs << 32) | frac)
    }

    /// The time since the NTP epoch this timestamp stands for (within its era).
    #[must_use]
    pub fn to_duration(self) -> Duration {
        let secs = self.0 >> 32;
        let nanos = ((self.0 & 0xFFFF_FFFF) * 1_000_000_000) >> 32;
        Duration::new(secs, nanos as u32)
    }

    /// The middle 32 bits (16.16 fixed point seconds), as the LSR field of a report block and
    /// the DLRR sub-block carry it (RFC 3550 section 6.4.1).
    #[must_use]
    pub fn compact(self) -> u32 {
        (self.0 >> 16) as u32
    }

    /// `self + d`, wrapping.
    #[must_use]
    pub fn add_duration(self, d: Duration) -> NtpTime {
        let add = (d.as_secs() << 32) + ((u64::from(d.subsec_nanos()) << 32) / 1_000_000_000);
        NtpTime(self.0.wrapping_add(add))
    }
}

/// Converts a 16.16 fixed point seconds value (DLSR, DLRR, compact NTP differences) to a
/// [`Duration`].
#[must_use]
pub fn compact_to_duration(v: u32) -> Duration {
    Duration::from_nanos((u64::from(v) * 1_000_000_000) >> 16)
}

/// Converts a [`Duration`] to 16.16 fixed point seconds, saturating at `u32::MAX`.
#[must_use]
pub fn duration_to_compact(d: Duration) -> u32 {
    let v = (d.as_nanos() << 16) / 1_000_000_000;
    u32::try_from(v).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unwrap_forward_and_wrap() {
        let mut u = SeqNoUnwrapper::new();
        assert_eq!(u.unwrap(SeqNo(65534)), Some(ExtSeqNo(65534)));
        assert_eq!(u.unwrap(SeqNo(65535)), Some(ExtSeqNo(65535)));
        assert_eq!(u.unwrap(SeqNo(0)), Some(ExtSeqNo(65536)));
        assert_eq!(u.unwrap(SeqNo(65535)), Some(ExtSeqNo(65535)));
        assert_eq!(u.last(), Some(ExtSeqNo(65536)));
        assert_eq!(u.unwrap(SeqNo(3)), Some(ExtSeqNo(65539)));
    }

    #[test]
    fn unwrap_before_zero_is_none() {
        let mut u = SeqNoUnwrapper::new();
        assert_eq!(u.unwrap(SeqNo(2)), Some(ExtSeqNo(2)));
        assert_eq!(u.unwrap(SeqNo(65530)), None);
    }

    #[test]
    fn seq_newer() {
        assert!(SeqNo(1).is_newer_than(SeqNo(65535)));
        assert!(!SeqNo(65535).is_newer_than(SeqNo(1)));
        assert_eq!(SeqNo(0).diff(SeqNo(65535)), 1);
    }

    #[test]
    fn ntp_conversions() {
        let t = NtpTime::from_unix(Duration::from_millis(1_500));
        assert_eq!(t.0 >> 32, NTP_UNIX_OFFSET + 1);
        assert_eq!(t.0 & 0xFFFF_FFFF, 0x8000_0000);
        assert_eq!(t.compact(), (((NTP_UNIX_OFFSET + 1) as u32) << 16) | 0x8000);
        let d = t.to_duration();
        assert_eq!(
            d,
            Duration::from_secs(NTP_UNIX_OFFSET) + Duration::from_millis(1_500)
        );
        assert_eq!(
            compact_to_duration(0x0001_8000),
            Duration::from_millis(1_500)
        );
        assert_eq!(
            duration_to_compact(Duration::from_millis(1_500)),
            0x0001_8000
        );
        assert_eq!(
            t.add_duration(Duration::from_millis(500)).0 >> 32,
            NTP_UNIX_OFFSET + 2
        );
    }
}
