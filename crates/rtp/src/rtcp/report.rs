//! Sender and receiver reports (RFC 3550 sections 6.4.1 and 6.4.2).

use super::ssrc;
use crate::cursor::Cursor;
use crate::error::{Error, Result};
use crate::types::{NtpTime, Ssrc};

/// A reception report block (RFC 3550 section 6.4.1), 24 octets.
///
/// ```text
/// +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
/// |                 SSRC_1 (SSRC of first source)                 |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | fraction lost |       cumulative number of packets lost       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |           extended highest sequence number received           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                      interarrival jitter                      |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                         last SR (LSR)                         |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                   delay since last SR (DLSR)                  |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ReportBlock {
    /// The source this block reports on.
    pub ssrc: Ssrc,
    /// Fraction of packets lost since the previous report, fixed point /256.
    pub fraction_lost: u8,
    /// Cumulative packets lost, 24-bit signed (duplicates can make it negative).
    pub cumulative_lost: i32,
    /// Cycles (high 16 bits) and highest sequence number (low 16 bits) received.
    pub extended_highest_sequence: u32,
    /// Interarrival jitter in RTP timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the NTP timestamp of the last SR received, 0 when none.
    pub last_sr: u32,
    /// Delay between receiving the last SR and sending this block, 1/65536 s.
    pub delay_since_last_sr: u32,
}

/// Smallest and largest values of the 24-bit signed cumulative lost field.
const LOST_MIN: i32 = -0x80_0000;
const LOST_MAX: i32 = 0x7F_FFFF;

impl ReportBlock {
    /// Octets on the wire.
    pub const LEN: usize = 24;

    pub(crate) fn parse(c: &mut Cursor<'_>) -> Result<Self> {
        let ssrc = ssrc(c)?;
        let fraction_lost = c.u8()?;
        let lost = c.u24()?;
        // Sign-extend 24 bits.
        let cumulative_lost = ((lost << 8) as i32) >> 8;
        Ok(ReportBlock {
            ssrc,
            fraction_lost,
            cumulative_lost,
            extended_highest_sequence: c.u32()?,
            jitter: c.u32()?,
            last_sr: c.u32()?,
            delay_since_last_sr: c.u32()?,
        })
    }

    pub(crate) fn write(&self, buf: &mut Vec<u8>) -> Result<()> {
        if !(LOST_MIN..=LOST_MAX).contains(&self.cumulative_lost) {
            return Err(Error::ValueOutOfRange("cumulative lost"));
        }
        buf.extend_from_slice(&self.ssrc.0.to_be_bytes());
        buf.push(self.fraction_lost);
        buf.extend_from_slice(&(self.cumulative_lost as u32).to_be_bytes()[1..]);
        buf.extend_from_slice(&self.extended_highest_sequence.to_be_bytes());
        buf.extend_from_slice(&self.jitter.to_be_bytes());
        buf.extend_from_slice(&self.last_sr.to_be_bytes());
        buf.extend_from_slice(&self.delay_since_last_sr.to_be_bytes());
        Ok(())
    }

    /// Clamps a loss count to the 24-bit field (RFC 3550 appendix A.3).
    #[must_use]
    pub fn clamp_lost(lost: i64) -> i32 {
        lost.clamp(i64::from(LOST_MIN), i64::from(LOST_MAX)) as i32
    }
}

fn parse_blocks(count: u8, c: &mut Cursor<'_>) -> Result<Vec<ReportBlock>> {
    if usize::from(count) * ReportBlock::LEN > c.remaining() {
        return Err(Error::Truncated("report blocks"));
    }
    (0..count).map(|_| ReportBlock::parse(c)).collect()
}

fn write_blocks(blocks: &[ReportBlock], buf: &mut Vec<u8>) -> Result<()> {
    if blocks.len() > 31 {
        return Err(Error::ValueOutOfRange("report block count"));
    }
    blocks.iter().try_for_each(|b| b.write(buf))
}

fn profile_extensions(c: &mut Cursor<'_>) -> Vec<u8> {
    let rest = c.rest();
    rest[..rest.len() / 4 * 4].to_vec()
}

/// Sender report, SR (RFC 3550 section 6.4.1).
///
/// ```text
/// |V=2|P|    RC   |   PT=SR=200   |             length            |
/// |                         SSRC of sender                        |
/// |              NTP timestamp, most significant word             |
/// |             NTP timestamp, least significant word             |
/// |                         RTP timestamp                         |
/// |                     sender's packet count                     |
/// |                      sender's octet count                     |
/// |                 report blocks (RC x 24 octets)                |
/// |                  profile-specific extensions                  |
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct SenderReport {
    /// The sender.
    pub ssrc: Ssrc,
    /// Wall clock time when the report was sent.
    pub ntp_time: NtpTime,
    /// The same instant in the RTP timestamp clock of the sender's stream.
    pub rtp_time: u32,
    /// RTP data packets sent since starting (wrapping).
    pub packet_count: u32,
    /// RTP payload octets sent since starting (wrapping).
    pub octet_count: u32,
    /// Reception reports, at most 31.
    pub reports: Vec<ReportBlock>,
    /// Profile-specific extension words, kept as they were.
    pub profile_extensions: Vec<u8>,
}

impl SenderReport {
    pub(crate) fn parse(count: u8, body: &[u8]) -> Result<Self> {
        let mut c = Cursor::new(body, "sender report");
        let ssrc = ssrc(&mut c)?;
        let ntp_time = NtpTime(c.u64()?);
        let rtp_time = c.u32()?;
        let packet_count = c.u32()?;
        let octet_count = c.u32()?;
        let reports = parse_blocks(count, &mut c)?;
        Ok(SenderReport {
            ssrc,
            ntp_time,
            rtp_time,
            packet_count,
            octet_count,
            reports,
            profile_extensions: profile_extensions(&mut c),
        })
    }

    pub(crate) fn body_len(&self) -> usize {
        24 + ReportBlock::LEN * self.reports.len() + self.profile_extensions.len().div_ceil(4) * 4
    }

    pub(crate) fn write_body(&self, buf: &mut Vec<u8>) -> Result<()> {
        buf.extend_from_slice(&self.ssrc.0.to_be_bytes());
        buf.extend_from_slice(&self.ntp_time.0.to_be_bytes());
        buf.extend_from_slice(&self.rtp_time.to_be_bytes());
        buf.extend_from_slice(&self.packet_count.to_be_bytes());
        buf.extend_from_slice(&self.octet_count.to_be_bytes());
        write_blocks(&self.reports, buf)?;
        buf.extend_from_slice(&self.profile_extensions);
        Ok(())
    }
}

/// Receiver report, RR (RFC 3550 section 6.4.2).
///
/// ```text
/// |V=2|P|    RC   |   PT=RR=201   |             length            |
/// |                     SSRC of packet sender                     |
/// |                 report blocks (RC x 24 octets)                |
/// |                  profile-specific extensions                  |
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ReceiverReport {
    /// The packet's sender.
    pub ssrc: Ssrc,
    /// Reception reports, at most 31.
    pub reports: Vec<ReportBlock>,
    /// Profile-specific extension words, kept as they were.
    pub profile_extensions: Vec<u8>,
}

impl ReceiverReport {
    pub(crate) fn parse(count: u8, body: &[u8]) -> Result<Self> {
        let mut c = Cursor::new(body, "receiver report");
        let ssrc = ssrc(&mut c)?;
        let reports = parse_blocks(count, &mut c)?;
        Ok(ReceiverReport {
            ssrc,
            reports,
            profile_extensions: profile_extensions(&mut c),
        })
    }

    pub(crate) fn body_len(&self) -> usize {
        4 + ReportBlock::LEN * self.reports.len() + self.profile_extensions.len().div_ceil(4) * 4
    }

    pub(crate) fn write_body(&self, buf: &mut Vec<u8>) -> Result<()> {
        buf.extend_from_slice(&self.ssrc.0.to_be_bytes());
        write_blocks(&self.reports, buf)?;
        buf.extend_from_slice(&self.profile_extensions);
        Ok(())
    }
}
