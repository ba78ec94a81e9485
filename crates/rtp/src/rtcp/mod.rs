//! RTCP packets (RFC 3550 section 6), feedback (RFC 4585, RFC 5104), REMB, transport-wide
//! congestion control feedback, extended reports (RFC 3611), compound and reduced-size
//! (RFC 5506) packets.
//!
//! Every packet type is a value with `parse` from its body and `write` into a caller's
//! `Vec<u8>`; [`RtcpPacket`] is the enum over them with [`RtcpPacket::parse_compound`].

mod app;
mod bye;
mod feedback;
mod report;
mod sdes;
mod twcc;
mod xr;

pub use app::App;
pub use bye::Goodbye;
pub use feedback::{Fir, FirEntry, Nack, NackPair, Pli, Remb, TmmbItem, Tmmbn, Tmmbr};
pub use report::{ReceiverReport, ReportBlock, SenderReport};
pub use sdes::{SdesChunk, SdesItem, SdesType, SourceDescription};
pub use twcc::{
    PacketStatus, PacketStatusChunk, TransportLayerCc, DELTA_UNIT_US, REFERENCE_TIME_UNIT_US,
};
pub use xr::{DlrrItem, ExtendedReport, XrBlock};

use crate::cursor::Cursor;
use crate::error::{Error, Result};
use crate::types::Ssrc;

/// Packet type SR (RFC 3550 section 6.4.1).
pub const PT_SR: u8 = 200;
/// Packet type RR (RFC 3550 section 6.4.2).
pub const PT_RR: u8 = 201;
/// Packet type SDES (RFC 3550 section 6.5).
pub const PT_SDES: u8 = 202;
/// Packet type BYE (RFC 3550 section 6.6).
pub const PT_BYE: u8 = 203;
/// Packet type APP (RFC 3550 section 6.7).
pub const PT_APP: u8 = 204;
/// Packet type RTPFB, transport layer feedback (RFC 4585 section 6.2).
pub const PT_RTPFB: u8 = 205;
/// Packet type PSFB, payload-specific feedback (RFC 4585 section 6.3).
pub const PT_PSFB: u8 = 206;
/// Packet type XR (RFC 3611 section 2).
pub const PT_XR: u8 = 207;

/// Most packets [`RtcpPacket::parse_compound`] accepts in one datagram.
pub const MAX_COMPOUND_PACKETS: usize = 256;

/// The RTCP common header (RFC 3550 section 6.4.1).
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |V=2|P|  RC/FMT |      PT       |  length (32-bit words - 1)    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RtcpHeader {
    /// The P bit.
    pub padding: bool,
    /// Reception report count, source count, subtype or feedback message type (5 bits).
    pub count: u8,
    /// The packet type.
    pub packet_type: u8,
    /// The length field: the packet's length in 32-bit words minus one.
    pub length: u16,
}

impl RtcpHeader {
    /// Parses the first 4 octets of `buf`.
    ///
    /// # Errors
    /// [`Error::Truncated`] under 4 octets, [`Error::BadVersion`] when the version is not 2.
    pub fn parse(buf: &[u8]) -> Result<Self> {
        let [b0, pt, l0, l1] = Cursor::new(buf, "rtcp header").array()?;
        if b0 >> 6 != 2 {
            return Err(Error::BadVersion(b0 >> 6));
        }
        Ok(RtcpHeader {
            padding: b0 & 0x20 != 0,
            count: b0 & 0x1F,
            packet_type: pt,
            length: u16::from_be_bytes([l0, l1]),
        })
    }

    /// The packet's total length in octets, header included.
    #[must_use]
    pub fn packet_len(&self) -> usize {
        (usize::from(self.length) + 1) * 4
    }

    /// Appends the header.
    pub fn write(&self, buf: &mut Vec<u8>) {
        buf.push(0x80 | (u8::from(self.padding) << 5) | (self.count & 0x1F));
        buf.push(self.packet_type);
        buf.extend_from_slice(&self.length.to_be_bytes());
    }
}

/// A packet this crate does not interpret, kept as its header fields and body.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnknownPacket {
    /// The 5-bit count / FMT field.
    pub count: u8,
    /// The packet type.
    pub packet_type: u8,
    /// The body after the common header, padding removed and zero-filled to whole 32-bit
    /// words.
    pub body: Vec<u8>,
}

/// One RTCP packet of any type this crate knows.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RtcpPacket {
    /// SR (RFC 3550 section 6.4.1).
    SenderReport(SenderReport),
    /// RR (RFC 3550 section 6.4.2).
    ReceiverReport(ReceiverReport),
    /// SDES (RFC 3550 section 6.5).
    SourceDescription(SourceDescription),
    /// BYE (RFC 3550 section 6.6).
    Goodbye(Goodbye),
    /// APP (RFC 3550 section 6.7).
    App(App),
    /// Generic NACK, RTPFB FMT 1 (RFC 4585 section 6.2.1).
    Nack(Nack),
    /// TMMBR, RTPFB FMT 3 (RFC 5104 section 4.2.1).
    Tmmbr(Tmmbr),
    /// TMMBN, RTPFB FMT 4 (RFC 5104 section 4.2.2).
    Tmmbn(Tmmbn),
    /// Transport-wide CC feedback, RTPFB FMT 15 (draft-holmer-rmcat-transport-wide-cc-extensions-01).
    TransportLayerCc(TransportLayerCc),
    /// PLI, PSFB FMT 1 (RFC 4585 section 6.3.1).
    Pli(Pli),
    /// FIR, PSFB FMT 4 (RFC 5104 section 4.3.1).
    Fir(Fir),
    /// REMB, PSFB FMT 15 "REMB" (draft-alvestrand-rmcat-remb-03).
    Remb(Remb),
    /// XR (RFC 3611).
    ExtendedReport(ExtendedReport),
    /// Any other packet type or feedback message type.
    Unknown(UnknownPacket),
}

/// RTPFB FMT values.
const FMT_NACK: u8 = 1;
const FMT_TMMBR: u8 = 3;
const FMT_TMMBN: u8 = 4;
const FMT_TWCC: u8 = 15;
/// PSFB FMT values.
const FMT_PLI: u8 = 1;
const FMT_FIR: u8 = 4;
const FMT_AFB: u8 = 15;

impl RtcpPacket {
    /// Parses one packet from the start of `buf`, returning it and the octets it took.
    ///
    /// # Errors
    /// [`Error::Truncated`] when the length field points past `buf`, [`Error::BadPadding`],
    /// [`Error::BadVersion`], or the body parser's error.
    pub fn parse_one(buf: &[u8]) -> Result<(RtcpPacket, usize)> {
        let h = RtcpHeader::parse(buf)?;
        let len = h.packet_len();
        let packet = buf.get(..len).ok_or(Error::Truncated("rtcp packet"))?;
        let mut body = &packet[4..];
        if h.padding {
            let pad = usize::from(*packet.last().unwrap_or(&0));
            if pad == 0 || pad > body.len() {
                return Err(Error::BadPadding);
            }
            body = &body[..body.len() - pad];
        }
        Ok((Self::parse_body(&h, body)?, len))
    }

    fn parse_body(h: &RtcpHeader, body: &[u8]) -> Result<RtcpPacket> {
        Ok(match (h.packet_type, h.count) {
            (PT_SR, n) => RtcpPacket::SenderReport(SenderReport::parse(n, body)?),
            (PT_RR, n) => RtcpPacket::ReceiverReport(ReceiverReport::parse(n, body)?),
            (PT_SDES, n) => RtcpPacket::SourceDescription(SourceDescription::parse(n, body)?),
            (PT_BYE, n) => RtcpPacket::Goodbye(Goodbye::parse(n, body)?),
            (PT_APP, n) => RtcpPacket::App(App::parse(n, body)?),
            (PT_RTPFB, FMT_NACK) => RtcpPacket::Nack(Nack::parse(body)?),
            (PT_RTPFB, FMT_TMMBR) => RtcpPacket::Tmmbr(Tmmbr::parse(body)?),
            (PT_RTPFB, FMT_TMMBN) => RtcpPacket::Tmmbn(Tmmbn::parse(body)?),
            (PT_RTPFB, FMT_TWCC) => RtcpPacket::TransportLayerCc(TransportLayerCc::parse(body)?),
            (PT_PSFB, FMT_PLI) => RtcpPacket::Pli(Pli::parse(body)?),
            (PT_PSFB, FMT_FIR) => RtcpPacket::Fir(Fir::parse(body)?),
            (PT_PSFB, FMT_AFB) if Remb::matches(body) => RtcpPacket::Remb(Remb::parse(body)?),
            (PT_XR, _) => RtcpPacket::ExtendedReport(ExtendedReport::parse(body)?),
            (packet_type, count) => {
                // Zero-fill to whole words so that writing it back changes nothing.
                let mut body = body.to_vec();
                body.resize(body.len().div_ceil(4) * 4, 0);
                RtcpPacket::Unknown(UnknownPacket {
                    count,
                    packet_type,
                    body,
                })
            }
        })
    }

    /// Iterates the packets of a compound (or reduced-size, RFC 5506) datagram. Each item is
    /// a parse result; after an error the iterator ends, since the next packet's start is
    /// unknown.
    pub fn iter_compound(buf: &[u8]) -> CompoundIter<'_> {
        CompoundIter { buf, count: 0 }
    }

    /// Parses every packet of a compound or reduced-size datagram.
    ///
    /// This accepts RFC 5506 reduced-size packets (any first packet type); use
    /// [`check_compound`] for the stricter RFC 3550 appendix A.2 rules.
    ///
    /// # Errors
    /// The first packet's error: a compound packet with an invalid part is dropped whole.
    /// [`Error::LimitExceeded`] past [`MAX_COMPOUND_PACKETS`]; [`Error::Truncated`] when
    /// `buf` is empty.
    pub fn parse_compound(buf: &[u8]) -> Result<Vec<RtcpPacket>> {
        if buf.is_empty() {
            return Err(Error::Truncated("rtcp compound"));
        }
        Self::iter_compound(buf).collect()
    }

    /// The common header's packet type.
    #[must_use]
    pub fn packet_type(&self) -> u8 {
        match self {
            RtcpPacket::SenderReport(_) => PT_SR,
            RtcpPacket::ReceiverReport(_) => PT_RR,
            RtcpPacket::SourceDescription(_) => PT_SDES,
            RtcpPacket::Goodbye(_) => PT_BYE,
            RtcpPacket::App(_) => PT_APP,
            RtcpPacket::Nack(_)
            | RtcpPacket::Tmmbr(_)
            | RtcpPacket::Tmmbn(_)
            | RtcpPacket::TransportLayerCc(_) => PT_RTPFB,
            RtcpPacket::Pli(_) | RtcpPacket::Fir(_) | RtcpPacket::Remb(_) => PT_PSFB,
            RtcpPacket::ExtendedReport(_) => PT_XR,
            RtcpPacket::Unknown(u) => u.packet_type,
        }
    }

    fn count(&self) -> Result<u8> {
        let n = match self {
            RtcpPacket::SenderReport(p) => p.reports.len(),
            RtcpPacket::ReceiverReport(p) => p.reports.len(),
            RtcpPacket::SourceDescription(p) => p.chunks.len(),
            RtcpPacket::Goodbye(p) => p.sources.len(),
            RtcpPacket::App(p) => usize::from(p.subtype),
            RtcpPacket::Nack(_) | RtcpPacket::Pli(_) => 1,
            RtcpPacket::Tmmbr(_) => usize::from(FMT_TMMBR),
            RtcpPacket::Tmmbn(_) => usize::from(FMT_TMMBN),
            RtcpPacket::TransportLayerCc(_) | RtcpPacket::Remb(_) => 15,
            RtcpPacket::Fir(_) => usize::from(FMT_FIR),
            RtcpPacket::ExtendedReport(_) => 0,
            RtcpPacket::Unknown(u) => usize::from(u.count),
        };
        u8::try_from(n)
            .ok()
            .filter(|n| *n < 32)
            .ok_or(Error::ValueOutOfRange("rtcp count field"))
    }

    fn body_len(&self) -> usize {
        match self {
            RtcpPacket::SenderReport(p) => p.body_len(),
            RtcpPacket::ReceiverReport(p) => p.body_len(),
            RtcpPacket::SourceDescription(p) => p.body_len(),
            RtcpPacket::Goodbye(p) => p.body_len(),
            RtcpPacket::App(p) => p.body_len(),
            RtcpPacket::Nack(p) => p.body_len(),
            RtcpPacket::Tmmbr(p) => p.body_len(),
            RtcpPacket::Tmmbn(p) => p.body_len(),
            RtcpPacket::TransportLayerCc(p) => p.body_len(),
            RtcpPacket::Pli(p) => p.body_len(),
            RtcpPacket::Fir(p) => p.body_len(),
            RtcpPacket::Remb(p) => p.body_len(),
            RtcpPacket::ExtendedReport(p) => p.body_len(),
            RtcpPacket::Unknown(u) => u.body.len().div_ceil(4) * 4,
        }
    }

    /// Octets this packet takes on the wire.
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        4 + self.body_len()
    }

    /// Appends the packet (common header and body, 32-bit aligned, no padding bit) to `buf`.
    ///
    /// # Errors
    /// [`Error::ValueOutOfRange`] when a count exceeds its 5-bit field, a field does not fit,
    /// or the packet exceeds 2^16 words. `buf` is left as it was on error.
    pub fn write(&self, buf: &mut Vec<u8>) -> Result<()> {
        let start = buf.len();
        let r = self.write_inner(buf);
        if r.is_err() {
            buf.truncate(start);
        }
        r
    }

    fn write_inner(&self, buf: &mut Vec<u8>) -> Result<()> {
        let body_len = self.body_len();
        let length = u16::try_from(body_len / 4)
            .map_err(|_| Error::ValueOutOfRange("rtcp packet length"))?;
        RtcpHeader {
            padding: false,
            count: self.count()?,
            packet_type: self.packet_type(),
            length,
        }
        .write(buf);
        let start = buf.len();
        match self {
            RtcpPacket::SenderReport(p) => p.write_body(buf)?,
            RtcpPacket::ReceiverReport(p) => p.write_body(buf)?,
            RtcpPacket::SourceDescription(p) => p.write_body(buf)?,
            RtcpPacket::Goodbye(p) => p.write_body(buf)?,
            RtcpPacket::App(p) => p.write_body(buf)?,
            RtcpPacket::Nack(p) => p.write_body(buf),
            RtcpPacket::Tmmbr(p) => p.write_body(buf)?,
            RtcpPacket::Tmmbn(p) => p.write_body(buf)?,
            RtcpPacket::TransportLayerCc(p) => p.write_body(buf)?,
            RtcpPacket::Pli(p) => p.write_body(buf),
            RtcpPacket::Fir(p) => p.write_body(buf),
            RtcpPacket::Remb(p) => p.write_body(buf)?,
            RtcpPacket::ExtendedReport(p) => p.write_body(buf)?,
            RtcpPacket::Unknown(u) => buf.extend_from_slice(&u.body),
        }
        buf.resize(start + body_len, 0);
        Ok(())
    }

    /// Appends every packet of `packets` as one compound datagram.
    ///
    /// # Errors
    /// As [`RtcpPacket::write`]; `buf` is left as it was on error.
    pub fn write_compound(packets: &[RtcpPacket], buf: &mut Vec<u8>) -> Result<()> {
        let start = buf.len();
        for p in packets {
            if let Err(e) = p.write(buf) {
                buf.truncate(start);
                return Err(e);
            }
        }
        Ok(())
    }

    /// The SSRC this packet is about or from, for routing: the media source of feedback, the
    /// sender of reports.
    #[must_use]
    pub fn media_ssrc(&self) -> Option<Ssrc> {
        match self {
            RtcpPacket::SenderReport(p) => Some(p.ssrc),
            RtcpPacket::ReceiverReport(p) => Some(p.ssrc),
            RtcpPacket::Nack(p) => Some(p.media_ssrc),
            RtcpPacket::Pli(p) => Some(p.media_ssrc),
            RtcpPacket::Fir(p) => p.entries.first().map(|e| e.ssrc),
            RtcpPacket::TransportLayerCc(p) => Some(p.media_ssrc),
            RtcpPacket::Tmmbr(p) => p.entries.first().map(|e| e.ssrc),
            RtcpPacket::Tmmbn(p) => p.entries.first().map(|e| e.ssrc),
            RtcpPacket::ExtendedReport(p) => Some(p.ssrc),
            _ => None,
        }
    }
}

/// Iterator over the packets of a compound datagram; see [`RtcpPacket::iter_compound`].
#[derive(Debug, Clone)]
pub struct CompoundIter<'a> {
    buf: &'a [u8],
    count: usize,
}

impl Iterator for CompoundIter<'_> {
    type Item = Result<RtcpPacket>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.buf.is_empty() {
            return None;
        }
        self.count += 1;
        let r = if self.count > MAX_COMPOUND_PACKETS {
            Err(Error::LimitExceeded("rtcp packets in compound"))
        } else {
            RtcpPacket::parse_one(self.buf)
        };
        match r {
            Ok((p, len)) => {
                self.buf = &self.buf[len..];
                Some(Ok(p))
            }
            Err(e) => {
                self.buf = &[];
                Some(Err(e))
            }
        }
    }
}

/// Checks `buf` against the compound packet rules of RFC 3550 appendix A.2: version 2, the
/// first packet an SR or RR without padding, padding only on the last packet, and lengths
/// that add up to the datagram exactly.
///
/// # Errors
/// [`Error::Malformed`] naming the broken rule, or the header errors of
/// [`RtcpHeader::parse`].
pub fn check_compound(buf: &[u8]) -> Result<()> {
    let mut rest = buf;
    let mut first = true;
    while !rest.is_empty() {
        let h = RtcpHeader::parse(rest)?;
        if first && !matches!(h.packet_type, PT_SR | PT_RR) {
            return Err(Error::Malformed("compound rtcp must start with sr or rr"));
        }
        let len = h.packet_len();
        if len > rest.len() {
            return Err(Error::Truncated("rtcp packet"));
        }
        if h.padding && len != rest.len() {
            return Err(Error::Malformed("padding before the last rtcp packet"));
        }
        rest = &rest[len..];
        first = false;
    }
    if first {
        return Err(Error::Truncated("rtcp compound"));
    }
    Ok(())
}

pub(crate) fn ssrc(c: &mut Cursor<'_>) -> Result<Ssrc> {
    c.u32().map(Ssrc)
}

#[cfg(test)]
pub(crate) mod tests;
