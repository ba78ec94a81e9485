//! G.711 PCMU and PCMA (RFC 3551 section 4.5.14): one octet per sample, so a frame splits
//! anywhere.

use super::{append, even_chunks, Depacketizer, Packetizer};
use crate::error::{Error, Result};

/// Splits G.711 samples into payloads of at most `mtu` octets.
#[derive(Debug, Clone, Copy, Default)]
pub struct G711Packetizer;

impl Packetizer for G711Packetizer {
    /// # Errors
    /// [`Error::MtuTooSmall`] for `mtu == 0`, [`Error::Malformed`] for an empty frame.
    fn packetize(&mut self, mtu: usize, frame: &[u8]) -> Result<Vec<Vec<u8>>> {
        if mtu == 0 {
            return Err(Error::MtuTooSmall);
        }
        if frame.is_empty() {
            return Err(Error::Malformed("empty g711 frame"));
        }
        Ok(even_chunks(frame, mtu).map(<[u8]>::to_vec).collect())
    }
}

/// Takes G.711 samples out of an RTP payload.
#[derive(Debug, Clone, Copy, Default)]
pub struct G711Depacketizer;

impl Depacketizer for G711Depacketizer {
    fn depacketize(&mut self, payload: &[u8], frame: &mut Vec<u8>) -> Result<()> {
        append(frame, payload)
    }

    fn is_frame_start(&self, _payload: &[u8]) -> bool {
        true
    }

    fn is_frame_end(&self, _payload: &[u8], _marker: bool) -> bool {
        true
    }

    fn is_keyframe(&self, _payload: &[u8]) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g711_splits_anywhere() {
        let frame: Vec<u8> = (0..=255).collect();
        for mtu in [1, 7, 100, 160, 1200] {
            let payloads = G711Packetizer.packetize(mtu, &frame).unwrap();
            let mut out = Vec::new();
            for p in &payloads {
                assert!(p.len() <= mtu);
                G711Depacketizer.depacketize(p, &mut out).unwrap();
            }
            assert_eq!(out, frame);
        }
        assert_eq!(G711Packetizer.packetize(0, &frame), Err(Error::MtuTooSmall));
    }
}
