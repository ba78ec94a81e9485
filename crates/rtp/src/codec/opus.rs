//! Opus (RFC 7587): one Opus packet per RTP payload, never fragmented.

use super::{append, Depacketizer, Packetizer};
use crate::error::{Error, Result};

/// Puts one Opus packet in one RTP payload (RFC 7587 section 4.2).
#[derive(Debug, Clone, Copy, Default)]
pub struct OpusPacketizer;

impl Packetizer for OpusPacketizer {
    /// # Errors
    /// [`Error::MtuTooSmall`] when the packet exceeds `mtu` (Opus cannot be fragmented),
    /// [`Error::Malformed`] for an empty frame.
    fn packetize(&mut self, mtu: usize, frame: &[u8]) -> Result<Vec<Vec<u8>>> {
        if frame.is_empty() {
            return Err(Error::Malformed("empty opus packet"));
        }
        if frame.len() > mtu {
            return Err(Error::MtuTooSmall);
        }
        Ok(vec![frame.to_vec()])
    }
}

/// Takes the Opus packet out of an RTP payload.
#[derive(Debug, Clone, Copy, Default)]
pub struct OpusDepacketizer;

impl Depacketizer for OpusDepacketizer {
    fn depacketize(&mut self, payload: &[u8], frame: &mut Vec<u8>) -> Result<()> {
        if payload.is_empty() {
            return Err(Error::Malformed("empty opus payload"));
        }
        append(frame, payload)
    }

    fn is_frame_start(&self, _payload: &[u8]) -> bool {
        true
    }

    fn is_frame_end(&self, _payload: &[u8], _marker: bool) -> bool {
        true
    }

    /// Every Opus packet decodes on its own.
    fn is_keyframe(&self, _payload: &[u8]) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::tests::round_trip;

    #[test]
    fn opus() {
        // A 20 ms CELT-only Opus TOC byte (config 31, stereo=0, code 0) and data.
        let frame = [0xF8, 0xFF, 0xFE, 1, 2, 3];
        for mtu in [6, 100, 1200] {
            let (out, p) = round_trip(&mut OpusPacketizer, &mut OpusDepacketizer, mtu, &frame);
            assert_eq!(out, frame);
            assert_eq!(p.len(), 1);
        }
        assert_eq!(OpusPacketizer.packetize(5, &frame), Err(Error::MtuTooSmall));
        assert!(OpusPacketizer.packetize(5, &[]).is_err());
        assert!(OpusDepacketizer.depacketize(&[], &mut Vec::new()).is_err());
        assert!(OpusDepacketizer.is_keyframe(&frame));
    }
}
