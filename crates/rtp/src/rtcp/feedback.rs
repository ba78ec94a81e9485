//! Feedback messages: generic NACK and PLI (RFC 4585 section 6), FIR and TMMBR/TMMBN
//! (RFC 5104 section 4), REMB (draft-alvestrand-rmcat-remb-03).
//!
//! All share the feedback header after the common header:
//!
//! ```text
//! |V=2|P|   FMT   |       PT      |          length               |
//! |                  SSRC of packet sender                        |
//! |                  SSRC of media source                         |
//! :            Feedback Control Information (FCI)                 :
//! ```

use super::ssrc;
use crate::cursor::Cursor;
use crate::error::{Error, Result};
use crate::types::{SeqNo, Ssrc};

fn write_ssrcs(sender: Ssrc, media: Ssrc, buf: &mut Vec<u8>) {
    buf.extend_from_slice(&sender.0.to_be_bytes());
    buf.extend_from_slice(&media.0.to_be_bytes());
}

/// One generic NACK FCI entry: a lost packet id and a bitmask of the 16 following ones.
///
/// ```text
/// |            PID                |             BLP               |
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NackPair {
    /// Packet ID: a lost sequence number.
    pub pid: SeqNo,
    /// Bitmask of following lost packets: bit i set means `pid + i + 1` is lost.
    pub blp: u16,
}

impl NackPair {
    /// The sequence numbers this entry reports lost, in order.
    pub fn lost(&self) -> impl Iterator<Item = SeqNo> + '_ {
        core::iter::once(self.pid).chain(
            (0..16u16)
                .filter(|i| self.blp & (1 << i) != 0)
                .map(|i| self.pid.wrapping_add(i + 1)),
        )
    }
}

/// Generic NACK (RFC 4585 section 6.2.1): RTPFB, FMT 1.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Nack {
    /// The sender of this feedback.
    pub sender_ssrc: Ssrc,
    /// The media source the lost packets belong to.
    pub media_ssrc: Ssrc,
    /// FCI entries.
    pub pairs: Vec<NackPair>,
}

impl Nack {
    /// Builds the FCI entries for `lost` (sorted ascending by wrapping order, as a receiver
    /// collects them), packing each run of 17 into one entry.
    #[must_use]
    pub fn from_lost(sender_ssrc: Ssrc, media_ssrc: Ssrc, lost: &[SeqNo]) -> Self {
        let mut pairs: Vec<NackPair> = Vec::new();
        for &seq in lost {
            if let Some(last) = pairs.last_mut() {
                let d = seq.0.wrapping_sub(last.pid.0);
                if (1..=16).contains(&d) {
                    last.blp |= 1 << (d - 1);
                    continue;
                }
                if d == 0 {
                    continue;
                }
            }
            pairs.push(NackPair { pid: seq, blp: 0 });
        }
        Nack {
            sender_ssrc,
            media_ssrc,
            pairs,
        }
    }

    /// Every sequence number reported lost.
    pub fn lost(&self) -> impl Iterator<Item = SeqNo> + '_ {
        self.pairs.iter().flat_map(NackPair::lost)
    }

    pub(crate) fn parse(body: &[u8]) -> Result<Self> {
        let mut c = Cursor::new(body, "nack");
        let sender_ssrc = ssrc(&mut c)?;
        let media_ssrc = ssrc(&mut c)?;
        let mut pairs = Vec::with_capacity(c.remaining() / 4);
        while c.remaining() >= 4 {
            pairs.push(NackPair {
                pid: SeqNo(c.u16()?),
                blp: c.u16()?,
            });
        }
        if pairs.is_empty() {
            return Err(Error::Malformed("nack without fci"));
        }
        Ok(Nack {
            sender_ssrc,
            media_ssrc,
            pairs,
        })
    }

    pub(crate) fn body_len(&self) -> usize {
        8 + 4 * self.pairs.len()
    }

    pub(crate) fn write_body(&self, buf: &mut Vec<u8>) {
        write_ssrcs(self.sender_ssrc, self.media_ssrc, buf);
        for p in &self.pairs {
            buf.extend_from_slice(&p.pid.0.to_be_bytes());
            buf.extend_from_slice(&p.blp.to_be_bytes());
        }
    }
}

/// Picture loss indication (RFC 4585 section 6.3.1): PSFB, FMT 1, no FCI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Pli {
    /// The sender of this feedback.
    pub sender_ssrc: Ssrc,
    /// The media source that should send a key frame.
    pub media_ssrc: Ssrc,
}

impl Pli {
    pub(crate) fn parse(body: &[u8]) -> Result<Self> {
        let mut c = Cursor::new(body, "pli");
        Ok(Pli {
            sender_ssrc: ssrc(&mut c)?,
            media_ssrc: ssrc(&mut c)?,
        })
    }

    pub(crate) fn body_len(&self) -> usize {
        8
    }

    pub(crate) fn write_body(&self, buf: &mut Vec<u8>) {
        write_ssrcs(self.sender_ssrc, self.media_ssrc, buf);
    }
}

/// One FIR FCI entry (RFC 5104 section 4.3.1.1).
///
/// ```text
/// |                              SSRC                             |
/// | Seq nr.       |    Reserved                                   |
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FirEntry {
    /// The media sender asked for a decoder refresh.
    pub ssrc: Ssrc,
    /// Command sequence number, incremented per new request.
    pub seq_nr: u8,
}

/// Full intra request (RFC 5104 section 4.3.1): PSFB, FMT 4.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Fir {
    /// The sender of this feedback.
    pub sender_ssrc: Ssrc,
    /// The header's media source field ("SHALL be set to 0"; kept as received).
    pub media_ssrc: Ssrc,
    /// FCI entries.
    pub entries: Vec<FirEntry>,
}

impl Fir {
    pub(crate) fn parse(body: &[u8]) -> Result<Self> {
        let mut c = Cursor::new(body, "fir");
        let sender_ssrc = ssrc(&mut c)?;
        let media_ssrc = ssrc(&mut c)?;
        let mut entries = Vec::with_capacity(c.remaining() / 8);
        while c.remaining() >= 8 {
            let ssrc = ssrc(&mut c)?;
            let seq_nr = c.u8()?;
            c.take(3)?;
            entries.push(FirEntry { ssrc, seq_nr });
        }
        Ok(Fir {
            sender_ssrc,
            media_ssrc,
            entries,
        })
    }

    pub(crate) fn body_len(&self) -> usize {
        8 + 8 * self.entries.len()
    }

    pub(crate) fn write_body(&self, buf: &mut Vec<u8>) {
        write_ssrcs(self.sender_ssrc, self.media_ssrc, buf);
        for e in &self.entries {
            buf.extend_from_slice(&e.ssrc.0.to_be_bytes());
            buf.extend_from_slice(&[e.seq_nr, 0, 0, 0]);
        }
    }
}

/// One TMMBR/TMMBN FCI entry (RFC 5104 sections 4.2.1.1 and 4.2.2.1).
///
/// ```text
/// |                              SSRC                             |
/// | MxTBR Exp |  MxTBR Mantissa                 |Measured Overhead|
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TmmbItem {
    /// The media sender the bound applies to.
    pub ssrc: Ssrc,
    /// Exponent, 6 bits.
    pub exp: u8,
    /// Mantissa, 17 bits.
    pub mantissa: u32,
    /// Measured per-packet overhead in octets, 9 bits.
    pub overhead: u16,
}

impl TmmbItem {
    /// Builds an entry for `bitrate` bits/s, rounding down to what 17 bits of mantissa hold.
    #[must_use]
    pub fn new(ssrc: Ssrc, bitrate: u64, overhead: u16) -> Self {
        let (exp, mantissa) = split_bitrate(bitrate, 17);
        TmmbItem {
            ssrc,
            exp,
            mantissa,
            overhead: overhead.min(0x1FF),
        }
    }

    /// Maximum total media bit rate, bits/s (saturating).
    #[must_use]
    pub fn bitrate(&self) -> u64 {
        join_bitrate(self.exp, self.mantissa)
    }

    fn parse(c: &mut Cursor<'_>) -> Result<Self> {
        let ssrc = ssrc(c)?;
        let v = c.u32()?;
        Ok(TmmbItem {
            ssrc,
            exp: (v >> 26) as u8,
            mantissa: (v >> 9) & 0x1_FFFF,
            overhead: (v & 0x1FF) as u16,
        })
    }

    fn write(&self, buf: &mut Vec<u8>) -> Result<()> {
        if self.exp > 63 || self.mantissa > 0x1_FFFF || self.overhead > 0x1FF {
            return Err(Error::ValueOutOfRange("tmmb item"));
        }
        buf.extend_from_slice(&self.ssrc.0.to_be_bytes());
        let v = (u32::from(self.exp) << 26) | (self.mantissa << 9) | u32::from(self.overhead);
        buf.extend_from_slice(&v.to_be_bytes());
        Ok(())
    }
}

pub(crate) fn split_bitrate(bitrate: u64, mantissa_bits: u32) -> (u8, u32) {
    let mut exp = 0u8;
    let mut m = bitrate;
    while m >= 1 << mantissa_bits && exp < 63 {
        m >>= 1;
        exp += 1;
    }
    (exp, m.min((1 << mantissa_bits) - 1) as u32)
}

pub(crate) fn join_bitrate(exp: u8, mantissa: u32) -> u64 {
    let m = u64::from(mantissa);
    if m == 0 {
        0
    } else if u32::from(exp) > m.leading_zeros() {
        u64::MAX
    } else {
        m << exp
    }
}

macro_rules! tmmb {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
        pub struct $name {
            /// The sender of this message.
            pub sender_ssrc: Ssrc,
            /// The header's media source field (0 per RFC 5104).
            pub media_ssrc: Ssrc,
            /// FCI entries.
            pub entries: Vec<TmmbItem>,
        }

        impl $name {
            pub(crate) fn parse(body: &[u8]) -> Result<Self> {
                let mut c = Cursor::new(body, $what);
                let sender_ssrc = ssrc(&mut c)?;
                let media_ssrc = ssrc(&mut c)?;
                let mut entries = Vec::with_capacity(c.remaining() / 8);
                while c.remaining() >= 8 {
                    entries.push(TmmbItem::parse(&mut c)?);
                }
                Ok($name { sender_ssrc, media_ssrc, entries })
            }

            pub(crate) fn body_len(&self) -> usize {
                8 + 8 * self.entries.len()
            }

            pub(crate) fn write_body(&self, buf: &mut Vec<u8>) -> Result<()> {
                write_ssrcs(self.sender_ssrc, self.media_ssrc, buf);
                self.entries.iter().try_for_each(|e| e.write(buf))
            }
        }
    };
}

tmmb!(
    /// Temporary maximum media stream bit rate request (RFC 5104 section 4.2.1): RTPFB, FMT 3.
    Tmmbr,
    "tmmbr"
);
tmmb!(
    /// Temporary maximum media stream bit rate notification (RFC 5104 section 4.2.2): RTPFB,
    /// FMT 4.
    Tmmbn,
    "tmmbn"
);

/// Receiver estimated maximum bitrate (draft-alvestrand-rmcat-remb-03 section 2.2): PSFB,
/// FMT 15 with the identifier "REMB".
///
/// ```text
/// |V=2|P| FMT=15  |   PT=206      |             length            |
/// |                  SSRC of packet sender                        |
/// |                  SSRC of media source (0)                     |
/// |  Unique identifier 'R' 'E' 'M' 'B'                            |
/// |  Num SSRC     | BR Exp    |  BR Mantissa                      |
/// |   SSRC feedback                                               |
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Remb {
    /// The sender of this estimate.
    pub sender_ssrc: Ssrc,
    /// The header's media source field (0 per the draft).
    pub media_ssrc: Ssrc,
    /// Exponent, 6 bits.
    pub exp: u8,
    /// Mantissa, 18 bits.
    pub mantissa: u32,
    /// The streams the estimate applies to, at most 255.
    pub ssrcs: Vec<Ssrc>,
}

impl Remb {
    /// Builds an estimate of `bitrate` bits/s (rounded down to an 18-bit mantissa).
    #[must_use]
    pub fn new(sender_ssrc: Ssrc, bitrate: u64, ssrcs: Vec<Ssrc>) -> Self {
        let (exp, mantissa) = split_bitrate(bitrate, 18);
        Remb {
            sender_ssrc,
            media_ssrc: Ssrc(0),
            exp,
            mantissa,
            ssrcs,
        }
    }

    /// The estimate in bits/s (saturating).
    #[must_use]
    pub fn bitrate(&self) -> u64 {
        join_bitrate(self.exp, self.mantissa)
    }

    pub(crate) fn matches(body: &[u8]) -> bool {
        body.get(8..12) == Some(b"REMB")
    }

    pub(crate) fn parse(body: &[u8]) -> Result<Self> {
        let mut c = Cursor::new(body, "remb");
        let sender_ssrc = ssrc(&mut c)?;
        let media_ssrc = ssrc(&mut c)?;
        c.take(4)?;
        let n = c.u8()?;
        let v = c.u24()?;
        let ssrcs = (0..n).map(|_| ssrc(&mut c)).collect::<Result<Vec<_>>>()?;
        Ok(Remb {
            sender_ssrc,
            media_ssrc,
            exp: (v >> 18) as u8,
            mantissa: v & 0x3_FFFF,
            ssrcs,
        })
    }

    pub(crate) fn body_len(&self) -> usize {
        16 + 4 * self.ssrcs.len()
    }

    pub(crate) fn write_body(&self, buf: &mut Vec<u8>) -> Result<()> {
        let n = u8::try_from(self.ssrcs.len()).map_err(|_| Error::ValueOutOfRange("remb ssrcs"))?;
        if self.exp > 63 || self.mantissa > 0x3_FFFF {
            return Err(Error::ValueOutOfRange("remb bitrate"));
        }
        write_ssrcs(self.sender_ssrc, self.media_ssrc, buf);
        buf.extend_from_slice(b"REMB");
        buf.push(n);
        let v = (u32::from(self.exp) << 18) | self.mantissa;
        buf.extend_from_slice(&v.to_be_bytes()[1..]);
        for s in &self.ssrcs {
            buf.extend_from_slice(&s.0.to_be_bytes());
        }
        Ok(())
    }
}
