//! RTP retransmission payload format (RFC 4588 section 4): the original sequence number
//! (OSN) followed by the original payload, sent on a separate SSRC and payload type.
//!
//! ```text
//! |                         RTP Header                            |
//! |            OSN                |                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               |
//! |                  Original RTP Packet Payload                  |
//! ```

use crate::error::{Error, Result};
use crate::rtp::{RtpHeader, RtpPacket};
use crate::types::{SeqNo, Ssrc};

/// Builds the RTX packet for `original`: same timestamp, marker, CSRCs and extensions; the
/// RTX stream's SSRC, payload type and sequence number; OSN + original payload (padding
/// dropped).
///
/// # Errors
/// As [`RtpHeader::write`].
pub fn wrap<T: AsRef<[u8]>>(
    original: &RtpPacket<T>,
    rtx_ssrc: Ssrc,
    rtx_payload_type: u8,
    rtx_seq: SeqNo,
) -> Result<Vec<u8>> {
    let mut h = RtpHeader::parse(original);
    h.ssrc = rtx_ssrc;
    h.payload_type = rtx_payload_type;
    h.sequence_number = rtx_seq;
    let mut buf = Vec::with_capacity(original.as_bytes().len() + 2);
    h.write(&mut buf)?;
    buf.extend_from_slice(&original.sequence_number().0.to_be_bytes());
    buf.extend_from_slice(original.payload());
    Ok(buf)
}

/// Rebuilds the original packet from an RTX packet, given the original stream's SSRC and
/// payload type (from the SDP `apt` association).
///
/// # Errors
/// [`Error::Truncated`] when the RTX payload has no OSN (an RTX padding-only probe).
pub fn unwrap<T: AsRef<[u8]>>(
    rtx: &RtpPacket<T>,
    original_ssrc: Ssrc,
    original_payload_type: u8,
) -> Result<Vec<u8>> {
    let payload = rtx.payload();
    let (osn, data) = match payload {
        [a, b, rest @ ..] => (u16::from_be_bytes([*a, *b]), rest),
        _ => return Err(Error::Truncated("rtx original sequence number")),
    };
    let mut h = RtpHeader::parse(rtx);
    h.ssrc = original_ssrc;
    h.payload_type = original_payload_type;
    h.sequence_number = SeqNo(osn);
    let mut buf = Vec::with_capacity(payload.len() + h.encoded_len());
    h.write_packet(data, 0, &mut buf)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::packet::tests::arb_header;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn wrap_unwrap(h in arb_header(), payload in proptest::collection::vec(any::<u8>(), 0..100), pad in 0u8..4) {
            let mut orig = Vec::new();
            h.write_packet(&payload, pad, &mut orig).unwrap();
            let p = RtpPacket::new_checked(&orig[..]).unwrap();
            let rtx = wrap(&p, Ssrc(9), 97, SeqNo(5)).unwrap();
            let r = RtpPacket::new_checked(&rtx[..]).unwrap();
            prop_assert_eq!(r.ssrc(), Ssrc(9));
            prop_assert_eq!(r.payload_type(), 97);
            prop_assert_eq!(r.sequence_number(), SeqNo(5));
            prop_assert_eq!(r.timestamp(), h.timestamp);
            let back = unwrap(&r, h.ssrc, h.payload_type).unwrap();
            let b = RtpPacket::new_checked(&back[..]).unwrap();
            prop_assert_eq!(RtpHeader::parse(&b), h);
            prop_assert_eq!(b.payload(), &payload[..]);
        }
    }

    #[test]
    fn padding_only_rtx_has_no_osn() {
        let h = RtpHeader {
            payload_type: 97,
            ..Default::default()
        };
        let mut b = Vec::new();
        h.write_packet(&[], 4, &mut b).unwrap();
        let p = RtpPacket::new_checked(&b[..]).unwrap();
        assert!(unwrap(&p, Ssrc(1), 96).is_err());
    }
}
