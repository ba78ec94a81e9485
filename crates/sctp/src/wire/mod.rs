//! SCTP wire formats: the common header, chunks, parameters and error causes (RFC 9260 §3,
//! RFC 3758, RFC 6525, RFC 8260, RFC 9653).
//!
//! Parsing takes a [`Bytes`] so that DATA payloads are zero-copy slices of the received
//! packet. Writing appends to a `Vec<u8>`. Every parser checks every length; nothing here
//! panics on input.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Source Port Number        |     Destination Port Number   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                      Verification Tag                         |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                           Checksum                            |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                      Chunk #1 ... Chunk #n                    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

mod cause;
mod chunk;
mod param;

pub use cause::ErrorCause;
pub use chunk::{
    Abort, Chunk, ChunkType, CookieEcho, DataChunk, ErrorChunk, ForwardTsn, ForwardTsnStream,
    Heartbeat, IDataChunk, IForwardTsn, IForwardTsnStream, Init, ReConfig, Sack, Shutdown,
    UnknownAction,
};
pub use param::{Param, ReconfigResult};

use crate::error::{Error, Result};
use bytes::Bytes;

/// Length of the SCTP common header in bytes (RFC 9260 §3.1).
pub const COMMON_HEADER_LEN: usize = 12;

/// The SCTP common header (RFC 9260 §3.1), without the checksum, which is computed on write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CommonHeader {
    /// Sender's port (5000 for WebRTC, RFC 8841).
    pub source_port: u16,
    /// Receiver's port.
    pub destination_port: u16,
    /// The receiver's tag: the Initiate Tag it sent; 0 in a packet carrying INIT.
    pub verification_tag: u32,
}

/// A whole SCTP packet: the common header and its chunks.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Packet {
    /// Ports and verification tag.
    pub header: CommonHeader,
    /// Chunks in wire order.
    pub chunks: Vec<Chunk>,
}

impl Packet {
    /// Parses a packet without checking its checksum (see [`verify_checksum`]). DATA and
    /// I-DATA payloads are slices of `data` (no copy).
    ///
    /// # Errors
    /// [`Error::Truncated`] or [`Error::Malformed`] when a length or field is invalid.
    pub fn parse(data: &Bytes) -> Result<Packet> {
        let header = parse_header(data)?;
        let mut chunks = Vec::new();
        let mut off = COMMON_HEADER_LEN;
        while off < data.len() {
            let (chunk, next) = Chunk::parse(data, off)?;
            chunks.push(chunk);
            off = next;
        }
        Ok(Packet { header, chunks })
    }

    /// Appends the packet to `buf` with its CRC32C, or with a zero checksum when
    /// `zero_checksum` (RFC 9653, only after negotiation).
    pub fn write(&self, buf: &mut Vec<u8>, zero_checksum: bool) {
        let start = buf.len();
        write_header(buf, &self.header);
        for c in &self.chunks {
            c.write(buf);
        }
        if !zero_checksum {
            if let Some(p) = buf.get_mut(start..) {
                set_checksum(p);
            }
        }
    }

    /// Encoded length in bytes.
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        COMMON_HEADER_LEN + self.chunks.iter().map(Chunk::encoded_len).sum::<usize>()
    }
}

/// Parses the common header.
///
/// # Errors
/// [`Error::Truncated`] when fewer than 12 bytes are given.
pub fn parse_header(data: &[u8]) -> Result<CommonHeader> {
    let h = data
        .get(..COMMON_HEADER_LEN)
        .ok_or(Error::Truncated("common header"))?;
    Ok(CommonHeader {
        source_port: u16::from_be_bytes([h[0], h[1]]),
        destination_port: u16::from_be_bytes([h[2], h[3]]),
        verification_tag: u32::from_be_bytes([h[4], h[5], h[6], h[7]]),
    })
}

/// Appends a common header with a zero checksum to `buf`.
pub fn write_header(buf: &mut Vec<u8>, h: &CommonHeader) {
    buf.extend_from_slice(&h.source_port.to_be_bytes());
    buf.extend_from_slice(&h.destination_port.to_be_bytes());
    buf.extend_from_slice(&h.verification_tag.to_be_bytes());
    buf.extend_from_slice(&[0; 4]);
}

/// The checksum field as stored (0 means "zero checksum" under RFC 9653).
#[must_use]
pub fn stored_checksum(packet: &[u8]) -> Option<u32> {
    let c = packet.get(8..12)?;
    Some(u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
}

/// CRC32C of a packet computed with its checksum field taken as zero (RFC 9260 §6.8,
/// Appendix A). The value is stored little-endian, as the reflected CRC is defined.
#[must_use]
pub fn compute_checksum(packet: &[u8]) -> u32 {
    let (Some(head), Some(rest)) = (packet.get(..8), packet.get(12..)) else {
        return 0;
    };
    let c = crc32c::crc32c(head);
    let c = crc32c::crc32c_append(c, &[0; 4]);
    crc32c::crc32c_append(c, rest)
}

/// Whether the packet's CRC32C is correct.
#[must_use]
pub fn verify_checksum(packet: &[u8]) -> bool {
    stored_checksum(packet) == Some(compute_checksum(packet))
}

/// Computes and stores the CRC32C of a packet written with a zero checksum field.
pub fn set_checksum(packet: &mut [u8]) {
    let c = compute_checksum(packet);
    if let Some(f) = packet.get_mut(8..12) {
        f.copy_from_slice(&c.to_le_bytes());
    }
}

/// Rounds up to a multiple of 4 (chunk, parameter and cause padding).
#[must_use]
pub(crate) fn pad4(n: usize) -> usize {
    (n + 3) & !3
}

pub(crate) fn be16(b: &[u8], at: usize) -> Result<u16> {
    match b.get(at..at + 2) {
        Some(s) => Ok(u16::from_be_bytes([s[0], s[1]])),
        None => Err(Error::Truncated("field")),
    }
}

pub(crate) fn be32(b: &[u8], at: usize) -> Result<u32> {
    match b.get(at..at + 4) {
        Some(s) => Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]])),
        None => Err(Error::Truncated("field")),
    }
}

/// Iterates type-length-value items (parameters, error causes) in `value`: each item is
/// `(type, value)`, padding skipped; the last item may omit its padding.
pub(crate) fn tlvs(value: &Bytes) -> Result<Vec<(u16, Bytes)>> {
    let mut out = Vec::new();
    let mut off = 0usize;
    while off < value.len() {
        let t = be16(value, off)?;
        let len = be16(value, off + 2)? as usize;
        if len < 4 {
            return Err(Error::Malformed("tlv length"));
        }
        let end = off
            .checked_add(len)
            .filter(|&e| e <= value.len())
            .ok_or(Error::Truncated("tlv"))?;
        out.push((t, value.slice(off + 4..end)));
        off = pad4(end).min(value.len());
    }
    Ok(out)
}

/// Pads `buf` with zeros to a multiple of 4 bytes.
pub(crate) fn pad_to4(buf: &mut Vec<u8>) {
    let n = pad4(buf.len()) - buf.len();
    buf.extend_from_slice(&[0u8; 3][..n]);
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_roundtrip_and_checksum() {
        let p = Packet {
            header: CommonHeader {
                source_port: 5000,
                destination_port: 5000,
                verification_tag: 0x1234_5678,
            },
            chunks: vec![Chunk::CookieAck],
        };
        let mut buf = Vec::new();
        p.write(&mut buf, false);
        assert_eq!(buf.len(), p.encoded_len());
        assert!(verify_checksum(&buf));
        let parsed = Packet::parse(&Bytes::from(buf.clone())).unwrap();
        assert_eq!(parsed, p);
        buf[13] ^= 1;
        assert!(!verify_checksum(&buf));
        let mut z = Vec::new();
        p.write(&mut z, true);
        assert_eq!(stored_checksum(&z), Some(0));
    }

    #[test]
    fn crc32c_known_vector() {
        // RFC 3720 B.4 test vector: 32 bytes of zeros -> 0x8a9136aa.
        assert_eq!(crc32c::crc32c(&[0u8; 32]), 0x8a91_36aa);
    }

    #[test]
    fn truncated_inputs() {
        assert!(parse_header(&[0; 11]).is_err());
        let b = Bytes::from_static(&[0x13, 0x88, 0x13, 0x88, 0, 0, 0, 0, 0, 0, 0, 0, 0x0b, 0]);
        assert!(Packet::parse(&b).is_err());
        let b = Bytes::from_static(&[
            0x13, 0x88, 0x13, 0x88, 0, 0, 0, 0, 0, 0, 0, 0, 0x0b, 0, 0, 8,
        ]);
        assert!(Packet::parse(&b).is_err());
    }
}
