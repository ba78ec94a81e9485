//! H.265 (RFC 7798): single NAL unit packets, aggregation packets (AP) and fragmentation
//! units (FU), without DONL (sprop-max-don-diff = 0); VPS/SPS/PPS are prepended to IRAP
//! access units that lack them.

use super::{annex_b_nals, append, even_chunks, Depacketizer, Packetizer, START_CODE};
use crate::cursor::Cursor;
use crate::error::{Error, Result};

/// NAL unit type: video parameter set.
pub const NAL_VPS: u8 = 32;
/// NAL unit type: sequence parameter set.
pub const NAL_SPS: u8 = 33;
/// NAL unit type: picture parameter set.
pub const NAL_PPS: u8 = 34;
/// NAL unit type: access unit delimiter.
pub const NAL_AUD: u8 = 35;
/// Payload type: aggregation packet (RFC 7798 section 4.4.2).
pub const AP: u8 = 48;
/// Payload type: fragmentation unit (RFC 7798 section 4.4.3).
pub const FU: u8 = 49;
/// Payload type: PACI (RFC 7798 section 4.4.4).
pub const PACI: u8 = 50;

/// The type field of a NAL unit header's first octet:
/// `|F|   Type    |  LayerId  | TID |`.
fn nal_type(b0: u8) -> u8 {
    (b0 >> 1) & 0x3F
}

/// IRAP pictures (BLA, IDR, CRA, reserved IRAP): types 16..=23.
fn is_irap(t: u8) -> bool {
    (16..=23).contains(&t)
}

/// Packetizes Annex B access units: small NAL units into APs, large ones into FUs.
#[derive(Debug, Clone, Default)]
pub struct H265Packetizer {
    vps: Option<Vec<u8>>,
    sps: Option<Vec<u8>>,
    pps: Option<Vec<u8>>,
    /// Skip aggregation (send each NAL unit alone).
    pub disable_aggregation: bool,
}

impl Packetizer for H265Packetizer {
    fn packetize(&mut self, mtu: usize, frame: &[u8]) -> Result<Vec<Vec<u8>>> {
        if mtu < 4 {
            return Err(Error::MtuTooSmall);
        }
        let mut nals: Vec<&[u8]> = annex_b_nals(frame)
            .filter(|n| n.len() >= 2 && nal_type(n[0]) != NAL_AUD)
            .collect();
        if nals.is_empty() {
            return Err(Error::Malformed("no h265 nal unit in frame"));
        }
        for n in &nals {
            match nal_type(n[0]) {
                NAL_VPS => self.vps = Some(n.to_vec()),
                NAL_SPS => self.sps = Some(n.to_vec()),
                NAL_PPS => self.pps = Some(n.to_vec()),
                _ => {}
            }
        }
        let has = |f: &dyn Fn(u8) -> bool| nals.iter().any(|n| f(nal_type(n[0])));
        let params = (self.vps.clone(), self.sps.clone(), self.pps.clone());
        if has(&is_irap) && !has(&|t| matches!(t, NAL_VPS | NAL_SPS | NAL_PPS)) {
            if let (Some(v), Some(s), Some(p)) = (&params.0, &params.1, &params.2) {
                nals.splice(0..0, [v.as_slice(), s.as_slice(), p.as_slice()]);
            }
        }
        let mut out = Vec::new();
        let mut ap: Vec<&[u8]> = Vec::new();
        let ap_len = |v: &[&[u8]]| 2 + v.iter().map(|n| 2 + n.len()).sum::<usize>();
        for nal in nals {
            if nal.len() > mtu {
                flush_ap(&mut ap, &mut out);
                fragment(nal, mtu, &mut out);
                continue;
            }
            if nal.len() > 0xFFFF {
                // Too long for an aggregation length field: alone in its packet.
                flush_ap(&mut ap, &mut out);
                out.push(nal.to_vec());
                continue;
            }
            let mut candidate = ap.clone();
            candidate.push(nal);
            if self.disable_aggregation || ap_len(&candidate) > mtu {
                flush_ap(&mut ap, &mut out);
            }
            ap.push(nal);
        }
        flush_ap(&mut ap, &mut out);
        Ok(out)
    }
}

fn flush_ap(ap: &mut Vec<&[u8]>, out: &mut Vec<Vec<u8>>) {
    match ap.len() {
        0 => {}
        1 => out.push(ap[0].to_vec()),
        _ => {
            // F is the OR, LayerId and TID the lowest of the aggregated units (section 4.4.2).
            let f = ap.iter().fold(0, |a, n| a | (n[0] & 0x80));
            let layer = ap
                .iter()
                .map(|n| ((u16::from(n[0]) & 1) << 5) | (u16::from(n[1]) >> 3))
                .min()
                .unwrap_or(0);
            let tid = ap.iter().map(|n| n[1] & 0x07).min().unwrap_or(0);
            let mut p = vec![
                f | (AP << 1) | (layer >> 5) as u8,
                ((layer as u8 & 0x1F) << 3) | tid,
            ];
            for n in ap.iter() {
                p.extend_from_slice(&(n.len() as u16).to_be_bytes());
                p.extend_from_slice(n);
            }
            out.push(p);
        }
    }
    ap.clear();
}

fn fragment(nal: &[u8], mtu: usize, out: &mut Vec<Vec<u8>>) {
    let t = nal_type(nal[0]);
    let hdr0 = (nal[0] & 0x81) | (FU << 1);
    let hdr1 = nal[1];
    let chunks: Vec<&[u8]> = even_chunks(&nal[2..], mtu - 3).collect();
    let n = chunks.len();
    for (i, c) in chunks.into_iter().enumerate() {
        let fu = (u8::from(i == 0) << 7) | (u8::from(i + 1 == n) << 6) | t;
        let mut p = Vec::with_capacity(3 + c.len());
        p.extend_from_slice(&[hdr0, hdr1, fu]);
        p.extend_from_slice(c);
        out.push(p);
    }
}

/// Depacketizes H.265 into Annex B with 4-octet start codes.
#[derive(Debug, Clone, Default)]
pub struct H265Depacketizer {
    in_fu: bool,
}

impl Depacketizer for H265Depacketizer {
    fn depacketize(&mut self, payload: &[u8], frame: &mut Vec<u8>) -> Result<()> {
        let (h0, h1) = match payload {
            [a, b, ..] => (*a, *b),
            _ => return Err(Error::Truncated("h265 payload header")),
        };
        match nal_type(h0) {
            AP => {
                self.in_fu = false;
                let mut c = Cursor::new(&payload[2..], "h265 ap");
                let mut any = false;
                while !c.is_empty() {
                    let len = usize::from(c.u16()?);
                    let nal = c.take(len)?;
                    if nal.len() < 2 {
                        return Err(Error::Malformed("short nal unit in h265 ap"));
                    }
                    append(frame, &START_CODE)?;
                    append(frame, nal)?;
                    any = true;
                }
                if any {
                    Ok(())
                } else {
                    Err(Error::Malformed("empty h265 ap"))
                }
            }
            FU => {
                let fu = *payload.get(2).ok_or(Error::Truncated("h265 fu header"))?;
                let (start, end) = (fu & 0x80 != 0, fu & 0x40 != 0);
                if start {
                    append(frame, &START_CODE)?;
                    append(frame, &[(h0 & 0x81) | ((fu & 0x3F) << 1), h1])?;
                } else if !self.in_fu {
                    return Err(Error::Malformed("h265 fu continuation without start"));
                }
                self.in_fu = !end;
                append(frame, &payload[3..])
            }
            PACI => Err(Error::Unsupported("h265 paci")),
            51..=63 => Err(Error::Malformed("reserved h265 nal unit type")),
            _ => {
                self.in_fu = false;
                append(frame, &START_CODE)?;
                append(frame, payload)
            }
        }
    }

    fn is_frame_start(&self, payload: &[u8]) -> bool {
        match payload {
            [h0, _, fu, ..] if nal_type(*h0) == FU => fu & 0x80 != 0,
            [h0, _, ..] => nal_type(*h0) != FU,
            _ => false,
        }
    }

    /// The payload carries an IRAP picture (BLA, IDR or CRA) or a VPS.
    fn is_keyframe(&self, payload: &[u8]) -> bool {
        let key = |t: u8| is_irap(t) || t == NAL_VPS;
        match payload {
            [h0, _, rest @ ..] if nal_type(*h0) == AP => {
                let mut c = Cursor::new(rest, "h265 ap");
                while let Ok(len) = c.u16() {
                    match c.take(usize::from(len)) {
                        Ok([h, ..]) if key(nal_type(*h)) => return true,
                        Ok(_) => {}
                        Err(_) => return false,
                    }
                }
                false
            }
            [h0, _, fu, ..] if nal_type(*h0) == FU => fu & 0x80 != 0 && key(fu & 0x3F),
            [h0, _, ..] => key(nal_type(*h0)),
            _ => false,
        }
    }

    fn reset(&mut self) {
        self.in_fu = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::h264::tests::annex_b;
    use crate::codec::tests::round_trip;
    use proptest::prelude::*;

    #[test]
    fn rfc7798_ap_and_fu() {
        // AP: header type 48 TID 1; two NAL units (VPS 2 octets + 1, SPS 2 + 2).
        let ap = [
            0x60, 0x01, 0x00, 0x03, 0x40, 0x01, 0xAA, 0x00, 0x04, 0x42, 0x01, 0xBB, 0xCC,
        ];
        let mut d = H265Depacketizer::default();
        let mut out = Vec::new();
        d.depacketize(&ap, &mut out).unwrap();
        assert_eq!(
            out,
            annex_b(&[vec![0x40, 0x01, 0xAA], vec![0x42, 0x01, 0xBB, 0xCC]])
        );
        assert!(d.is_keyframe(&ap));
        // FU of an IDR_W_RADL (type 19) slice.
        let fu_start = [0x62, 0x01, 0x93, 0x11];
        let fu_end = [0x62, 0x01, 0x53, 0x22];
        assert!(d.is_keyframe(&fu_start));
        assert!(!d.is_frame_start(&fu_end));
        let mut out = Vec::new();
        d.depacketize(&fu_start, &mut out).unwrap();
        d.depacketize(&fu_end, &mut out).unwrap();
        assert_eq!(out, annex_b(&[vec![0x26, 0x01, 0x11, 0x22]]));
        assert!(d.depacketize(&fu_end, &mut out).is_err());
        assert!(d.depacketize(&[0x64, 0x01, 0], &mut out).is_err()); // PACI
        assert!(d.depacketize(&[0x60], &mut out).is_err());
    }

    fn arb_nal() -> impl Strategy<Value = Vec<u8>> {
        (
            prop_oneof![
                Just(1u8),
                Just(19),
                Just(21),
                Just(32),
                Just(33),
                Just(34),
                Just(39)
            ],
            0u8..2,
            1u8..8,
            proptest::collection::vec(1u8..=255, 0..3000),
        )
            .prop_map(|(t, layer, tid, body)| {
                let mut v = vec![t << 1, (layer << 3) | tid];
                v.extend(body);
                v
            })
    }

    proptest! {
        #[test]
        fn access_unit_round_trip(mut nals in proptest::collection::vec(arb_nal(), 1..6)) {
            if nals.iter().any(|n| is_irap(nal_type(n[0])))
                && !nals.iter().any(|n| matches!(nal_type(n[0]), NAL_VPS | NAL_SPS | NAL_PPS))
            {
                nals.insert(0, vec![NAL_PPS << 1, 1, 7]);
            }
            let frame = annex_b(&nals);
            for mtu in [4, 60, 500, 1200] {
                let mut p = H265Packetizer::default();
                let mut d = H265Depacketizer::default();
                let (out, payloads) = round_trip(&mut p, &mut d, mtu, &frame);
                prop_assert_eq!(&out, &frame);
                let key = payloads.iter().any(|pl| d.is_keyframe(pl));
                let expect = nals.iter().any(|n| is_irap(nal_type(n[0])) || nal_type(n[0]) == NAL_VPS);
                prop_assert_eq!(key, expect);
            }
        }

        #[test]
        fn parameter_sets_prepended(body in proptest::collection::vec(1u8..=255, 1..100)) {
            let vps = vec![NAL_VPS << 1, 1, 1];
            let sps = vec![NAL_SPS << 1, 1, 2];
            let pps = vec![NAL_PPS << 1, 1, 3];
            let mut idr = vec![19 << 1, 1];
            idr.extend(body);
            let mut p = H265Packetizer::default();
            let mut d = H265Depacketizer::default();
            let full = annex_b(&[vps, sps, pps, idr.clone()]);
            prop_assert_eq!(round_trip(&mut p, &mut d, 1200, &full).0, full.clone());
            prop_assert_eq!(round_trip(&mut p, &mut d, 1200, &annex_b(&[idr])).0, full);
        }

        #[test]
        fn depacketize_any_never_panics(payload in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut d = H265Depacketizer::default();
            let _ = d.is_keyframe(&payload);
            let _ = d.depacketize(&payload, &mut Vec::new());
        }
    }
}
