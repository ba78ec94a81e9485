//! Transport-wide congestion control feedback
//! (draft-holmer-rmcat-transport-wide-cc-extensions-01 section 3.1): RTPFB, FMT 15.

use super::ssrc;
use crate::cursor::Cursor;
use crate::error::{Error, Result};
use crate::types::Ssrc;

/// Reception status of one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketStatus {
    /// 00: not received.
    NotReceived,
    /// 01: received, small delta (one octet, 0..=63.75 ms).
    SmallDelta,
    /// 10: received, large or negative delta (two octets, signed).
    LargeDelta,
}

impl PacketStatus {
    fn from_bits(v: u16) -> Result<Self> {
        match v {
            0 => Ok(PacketStatus::NotReceived),
            1 => Ok(PacketStatus::SmallDelta),
            2 => Ok(PacketStatus::LargeDelta),
            _ => Err(Error::Malformed("transport-cc reserved status symbol")),
        }
    }

    fn bits(self) -> u16 {
        self as u16
    }
}

/// A packet status chunk.
///
/// ```text
/// run length:    |T=0| S |       Run Length        |   (13-bit run of one symbol)
/// status vector: |T=1|S=0|  14 one-bit symbols     |   (not received / small delta)
///                |T=1|S=1|  7 two-bit symbols      |
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PacketStatusChunk {
    /// `run_length` packets (0..=8191) with the same status.
    RunLength {
        /// The status.
        status: PacketStatus,
        /// How many packets.
        run_length: u16,
    },
    /// A vector of 14 one-bit symbols (`two_bit == false`, only `NotReceived` or
    /// `SmallDelta`) or 7 two-bit symbols.
    StatusVector {
        /// Symbol size.
        two_bit: bool,
        /// Exactly 14 or 7 symbols.
        symbols: Vec<PacketStatus>,
    },
}

impl PacketStatusChunk {
    /// Decodes a 16-bit chunk.
    ///
    /// # Errors
    /// [`Error::Malformed`] for the reserved symbol 3.
    pub fn parse(v: u16) -> Result<Self> {
        if v & 0x8000 == 0 {
            Ok(PacketStatusChunk::RunLength {
                status: PacketStatus::from_bits((v >> 13) & 3)?,
                run_length: v & 0x1FFF,
            })
        } else if v & 0x4000 == 0 {
            let symbols = (0..14)
                .rev()
                .map(|i| PacketStatus::from_bits((v >> i) & 1))
                .collect::<Result<_>>()?;
            Ok(PacketStatusChunk::StatusVector {
                two_bit: false,
                symbols,
            })
        } else {
            let symbols = (0..7)
                .rev()
                .map(|i| PacketStatus::from_bits((v >> (2 * i)) & 3))
                .collect::<Result<_>>()?;
            Ok(PacketStatusChunk::StatusVector {
                two_bit: true,
                symbols,
            })
        }
    }

    /// Encodes the chunk.
    ///
    /// # Errors
    /// [`Error::ValueOutOfRange`] for a run over 8191, a vector of the wrong length, or a
    /// large delta in a one-bit vector.
    pub fn encode(&self) -> Result<u16> {
        match self {
            PacketStatusChunk::RunLength { status, run_length } => {
                if *run_length > 0x1FFF {
                    return Err(Error::ValueOutOfRange("transport-cc run length"));
                }
                Ok((status.bits() << 13) | run_length)
            }
            PacketStatusChunk::StatusVector {
                two_bit: false,
                symbols,
            } => {
                if symbols.len() != 14 || symbols.contains(&PacketStatus::LargeDelta) {
                    return Err(Error::ValueOutOfRange("transport-cc one-bit vector"));
                }
                Ok(symbols.iter().fold(0u16, |acc, s| (acc << 1) | s.bits()) | 0x8000)
            }
            PacketStatusChunk::StatusVector {
                two_bit: true,
                symbols,
            } => {
                if symbols.len() != 7 {
                    return Err(Error::ValueOutOfRange("transport-cc two-bit vector"));
                }
                Ok(symbols.iter().fold(0u16, |acc, s| (acc << 2) | s.bits()) | 0xC000)
            }
        }
    }

    fn symbol_count(&self) -> usize {
        match self {
            PacketStatusChunk::RunLength { run_length, .. } => usize::from(*run_length),
            PacketStatusChunk::StatusVector { symbols, .. } => symbols.len(),
        }
    }

    fn symbols(&self) -> impl Iterator<Item = PacketStatus> + '_ {
        let (run, vec): (Option<(PacketStatus, u16)>, &[PacketStatus]) = match self {
            PacketStatusChunk::RunLength { status, run_length } => {
                (Some((*status, *run_length)), &[])
            }
            PacketStatusChunk::StatusVector { symbols, .. } => (None, symbols),
        };
        run.into_iter()
            .flat_map(|(s, n)| core::iter::repeat_n(s, usize::from(n)))
            .chain(vec.iter().copied())
    }
}

/// Transport-wide CC feedback.
///
/// ```text
/// |V=2|P|  FMT=15 |    PT=205     |           length              |
/// |                     SSRC of packet sender                     |
/// |                      SSRC of media source                     |
/// |      base sequence number     |      packet status count      |
/// |                 reference time                | fb pkt. count |
/// |          packet chunk         |         packet chunk          |
/// .                                                               .
/// |         packet chunk          |  recv delta   |  recv delta   |
/// .                                                               .
/// |           recv delta          |  recv delta   | zero padding  |
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct TransportLayerCc {
    /// The sender of this feedback.
    pub sender_ssrc: Ssrc,
    /// The media source field.
    pub media_ssrc: Ssrc,
    /// Transport-wide sequence number of the first packet reported.
    pub base_sequence_number: u16,
    /// How many packets the chunks describe.
    pub packet_status_count: u16,
    /// Reference time, 24-bit signed, in multiples of 64 ms.
    pub reference_time: i32,
    /// Feedback packet counter, wrapping.
    pub fb_pkt_count: u8,
    /// Status chunks covering at least `packet_status_count` packets.
    pub chunks: Vec<PacketStatusChunk>,
    /// One delta per received packet, in 250 µs ticks; small deltas are 0..=255.
    pub recv_deltas: Vec<i16>,
}

/// Reference time unit, microseconds.
pub const REFERENCE_TIME_UNIT_US: i64 = 64_000;
/// Receive delta unit, microseconds.
pub const DELTA_UNIT_US: i64 = 250;

impl TransportLayerCc {
    /// Builds feedback for consecutive transport sequence numbers from `base`: each entry is
    /// the arrival delta in 250 µs ticks from the previous received packet (the first from
    /// the reference time), or `None` when not received. Chooses run-length chunks for runs
    /// of 7 or more, status vectors otherwise.
    ///
    /// # Errors
    /// [`Error::ValueOutOfRange`] for more than 65535 packets or a reference time outside
    /// 24 bits.
    pub fn from_deltas(
        sender_ssrc: Ssrc,
        media_ssrc: Ssrc,
        base: u16,
        reference_time: i32,
        fb_pkt_count: u8,
        deltas: &[Option<i16>],
    ) -> Result<Self> {
        let count = u16::try_from(deltas.len())
            .map_err(|_| Error::ValueOutOfRange("transport-cc packet count"))?;
        if !(-0x80_0000..0x80_0000).contains(&reference_time) {
            return Err(Error::ValueOutOfRange("transport-cc reference time"));
        }
        let statuses: Vec<PacketStatus> = deltas
            .iter()
            .map(|d| match d {
                None => PacketStatus::NotReceived,
                Some(d) if (0..=255).contains(d) => PacketStatus::SmallDelta,
                Some(_) => PacketStatus::LargeDelta,
            })
            .collect();
        let mut chunks = Vec::new();
        let mut i = 0;
        while i < statuses.len() {
            let s = statuses[i];
            let run = statuses[i..]
                .iter()
                .take(0x1FFF)
                .take_while(|x| **x == s)
                .count();
            if run >= 7 || i + run == statuses.len() {
                chunks.push(PacketStatusChunk::RunLength {
                    status: s,
                    run_length: run as u16,
                });
                i += run;
                continue;
            }
            let next14 = &statuses[i..statuses.len().min(i + 14)];
            if !next14.contains(&PacketStatus::LargeDelta) {
                let mut symbols = next14.to_vec();
                symbols.resize(14, PacketStatus::NotReceived);
                chunks.push(PacketStatusChunk::StatusVector {
                    two_bit: false,
                    symbols,
                });
                i += next14.len();
            } else {
                let n = 7.min(statuses.len() - i);
                let mut symbols = statuses[i..i + n].to_vec();
                symbols.resize(7, PacketStatus::NotReceived);
                chunks.push(PacketStatusChunk::StatusVector {
                    two_bit: true,
                    symbols,
                });
                i += n;
            }
        }
        Ok(TransportLayerCc {
            sender_ssrc,
            media_ssrc,
            base_sequence_number: base,
            packet_status_count: count,
            reference_time,
            fb_pkt_count,
            chunks,
            recv_deltas: deltas.iter().flatten().copied().collect(),
        })
    }

    /// `(transport sequence number, status, delta ticks)` for each reported packet.
    pub fn packets(&self) -> impl Iterator<Item = (u16, PacketStatus, Option<i16>)> + '_ {
        let mut deltas = self.recv_deltas.iter();
        self.chunks
            .iter()
            .flat_map(PacketStatusChunk::symbols)
            .take(usize::from(self.packet_status_count))
            .enumerate()
            .map(move |(i, s)| {
                let d = match s {
                    PacketStatus::NotReceived => None,
                    _ => deltas.next().copied(),
                };
                (self.base_sequence_number.wrapping_add(i as u16), s, d)
            })
    }

    /// Arrival times relative to the sender's time base, in microseconds:
    /// `(sequence number, Some(arrival))` for received packets.
    pub fn arrivals_us(&self) -> impl Iterator<Item = (u16, Option<i64>)> + '_ {
        let mut t = i64::from(self.reference_time) * REFERENCE_TIME_UNIT_US;
        self.packets().map(move |(seq, _, d)| match d {
            Some(d) => {
                t += i64::from(d) * DELTA_UNIT_US;
                (seq, Some(t))
            }
            None => (seq, None),
        })
    }

    pub(crate) fn parse(body: &[u8]) -> Result<Self> {
        let mut c = Cursor::new(body, "transport-cc");
        let sender_ssrc = ssrc(&mut c)?;
        let media_ssrc = ssrc(&mut c)?;
        let base_sequence_number = c.u16()?;
        let packet_status_count = c.u16()?;
        let rt = c.u24()?;
        let reference_time = ((rt << 8) as i32) >> 8;
        let fb_pkt_count = c.u8()?;
        let mut chunks = Vec::new();
        let mut covered = 0usize;
        while covered < usize::from(packet_status_count) {
            let chunk = PacketStatusChunk::parse(c.u16()?)?;
            covered += chunk.symbol_count();
            chunks.push(chunk);
        }
        let mut recv_deltas = Vec::new();
        for s in chunks
            .iter()
            .flat_map(PacketStatusChunk::symbols)
            .take(usize::from(packet_status_count))
        {
            match s {
                PacketStatus::NotReceived => {}
                PacketStatus::SmallDelta => recv_deltas.push(i16::from(c.u8()?)),
                PacketStatus::LargeDelta => recv_deltas.push(c.u16()? as i16),
            }
        }
        Ok(TransportLayerCc {
            sender_ssrc,
            media_ssrc,
            base_sequence_number,
            packet_status_count,
            reference_time,
            fb_pkt_count,
            chunks,
            recv_deltas,
        })
    }

    fn deltas_len(&self) -> usize {
        self.packets()
            .map(|(_, s, _)| match s {
                PacketStatus::NotReceived => 0,
                PacketStatus::SmallDelta => 1,
                PacketStatus::LargeDelta => 2,
            })
            .sum()
    }

    pub(crate) fn body_len(&self) -> usize {
        (16 + 2 * self.chunks.len() + self.deltas_len()).div_ceil(4) * 4
    }

    pub(crate) fn write_body(&self, buf: &mut Vec<u8>) -> Result<()> {
        if !(-0x80_0000..0x80_0000).contains(&self.reference_time) {
            return Err(Error::ValueOutOfRange("transport-cc reference time"));
        }
        let covered: usize = self
            .chunks
            .iter()
            .map(PacketStatusChunk::symbol_count)
            .sum();
        let last = self
            .chunks
            .last()
            .map_or(0, PacketStatusChunk::symbol_count);
        let count = usize::from(self.packet_status_count);
        // Exactly the chunks a parser reads: enough to cover the count, no spare one after.
        if covered < count || (!self.chunks.is_empty() && covered - last >= count) {
            return Err(Error::ValueOutOfRange("transport-cc chunks"));
        }
        let received = self
            .packets()
            .filter(|(_, s, _)| *s != PacketStatus::NotReceived)
            .count();
        if received != self.recv_deltas.len() {
            return Err(Error::ValueOutOfRange("transport-cc delta count"));
        }
        buf.extend_from_slice(&self.sender_ssrc.0.to_be_bytes());
        buf.extend_from_slice(&self.media_ssrc.0.to_be_bytes());
        buf.extend_from_slice(&self.base_sequence_number.to_be_bytes());
        buf.extend_from_slice(&self.packet_status_count.to_be_bytes());
        buf.extend_from_slice(&(self.reference_time as u32).to_be_bytes()[1..]);
        buf.push(self.fb_pkt_count);
        for ch in &self.chunks {
            buf.extend_from_slice(&ch.encode()?.to_be_bytes());
        }
        for (_, s, d) in self.packets() {
            match (s, d) {
                (PacketStatus::SmallDelta, Some(d)) => {
                    buf.push(u8::try_from(d).map_err(|_| Error::ValueOutOfRange("small delta"))?);
                }
                (PacketStatus::LargeDelta, Some(d)) => buf.extend_from_slice(&d.to_be_bytes()),
                _ => {}
            }
        }
        Ok(())
    }
}
