//! H.264 (RFC 6184), packetization-mode 1: single NAL unit packets, STAP-A aggregation and
//! FU-A fragmentation; SPS and PPS are prepended to IDR access units that lack them.

use super::{annex_b_nals, append, even_chunks, Depacketizer, Packetizer, START_CODE};
use crate::cursor::Cursor;
use crate::error::{Error, Result};

/// NAL unit type: coded slice of an IDR picture.
pub const NAL_IDR: u8 = 5;
/// NAL unit type: sequence parameter set.
pub const NAL_SPS: u8 = 7;
/// NAL unit type: picture parameter set.
pub const NAL_PPS: u8 = 8;
/// NAL unit type: access unit delimiter.
pub const NAL_AUD: u8 = 9;
/// Payload type: single-time aggregation packet (RFC 6184 section 5.7.1).
pub const STAP_A: u8 = 24;
/// Payload type: fragmentation unit without DON (RFC 6184 section 5.8).
pub const FU_A: u8 = 28;

fn nal_type(b: u8) -> u8 {
    b & 0x1F
}

/// Packetizes Annex B access units (packetization-mode 1).
///
/// Small NAL units are aggregated into STAP-A packets, large ones fragmented into FU-A
/// packets. The last SPS and PPS seen are remembered and prepended to an IDR access unit that
/// does not carry its own, so a receiver joining late can decode it.
#[derive(Debug, Clone, Default)]
pub struct H264Packetizer {
    sps: Option<Vec<u8>>,
    pps: Option<Vec<u8>>,
    /// Skip the STAP-A aggregation (send each NAL unit alone).
    pub disable_aggregation: bool,
}

impl Packetizer for H264Packetizer {
    fn packetize(&mut self, mtu: usize, frame: &[u8]) -> Result<Vec<Vec<u8>>> {
        if mtu < 3 {
            return Err(Error::MtuTooSmall);
        }
        let mut nals: Vec<&[u8]> = annex_b_nals(frame)
            .filter(|n| nal_type(n[0]) != NAL_AUD)
            .collect();
        if nals.is_empty() {
            return Err(Error::Malformed("no h264 nal unit in frame"));
        }
        for n in &nals {
            match nal_type(n[0]) {
                NAL_SPS => self.sps = Some(n.to_vec()),
                NAL_PPS => self.pps = Some(n.to_vec()),
                _ => {}
            }
        }
        let has = |t| nals.iter().any(|n| nal_type(n[0]) == t);
        let (sps, pps) = (self.sps.clone(), self.pps.clone());
        if has(NAL_IDR) && !has(NAL_SPS) && !has(NAL_PPS) {
            if let (Some(s), Some(p)) = (&sps, &pps) {
                nals.insert(0, p);
                nals.insert(0, s);
            }
        }
        let mut out = Vec::new();
        let mut stap: Vec<&[u8]> = Vec::new();
        let stap_len = |v: &[&[u8]]| 1 + v.iter().map(|n| 2 + n.len()).sum::<usize>();
        for nal in nals {
            if nal.len() > mtu {
                flush_stap(&mut stap, &mut out);
                fragment(nal, mtu, &mut out);
                continue;
            }
            if nal.len() > 0xFFFF {
                // Too long for an aggregation length field: alone in its packet.
                flush_stap(&mut stap, &mut out);
                out.push(nal.to_vec());
                continue;
            }
            let mut candidate = stap.clone();
            candidate.push(nal);
            if self.disable_aggregation || stap_len(&candidate) > mtu {
                flush_stap(&mut stap, &mut out);
            }
            stap.push(nal);
        }
        flush_stap(&mut stap, &mut out);
        Ok(out)
    }
}

fn flush_stap(stap: &mut Vec<&[u8]>, out: &mut Vec<Vec<u8>>) {
    match stap.len() {
        0 => {}
        1 => out.push(stap[0].to_vec()),
        _ => {
            // F is the OR, NRI the maximum of the aggregated units (RFC 6184 section 5.7).
            let f = stap.iter().fold(0, |a, n| a | (n[0] & 0x80));
            let nri = stap.iter().map(|n| n[0] & 0x60).max().unwrap_or(0);
            let mut p = vec![f | nri | STAP_A];
            for n in stap.iter() {
                p.extend_from_slice(&(n.len() as u16).to_be_bytes());
                p.extend_from_slice(n);
            }
            out.push(p);
        }
    }
    stap.clear();
}

fn fragment(nal: &[u8], mtu: usize, out: &mut Vec<Vec<u8>>) {
    let header = nal[0];
    let indicator = (header & 0xE0) | FU_A;
    let chunks: Vec<&[u8]> = even_chunks(&nal[1..], mtu - 2).collect();
    let n = chunks.len();
    for (i, c) in chunks.into_iter().enumerate() {
        let fu = (u8::from(i == 0) << 7) | (u8::from(i + 1 == n) << 6) | nal_type(header);
        let mut p = Vec::with_capacity(2 + c.len());
        p.push(indicator);
        p.push(fu);
        p.extend_from_slice(c);
        out.push(p);
    }
}

/// Depacketizes H.264 into Annex B with 4-octet start codes.
#[derive(Debug, Clone, Default)]
pub struct H264Depacketizer {
    in_fu: bool,
}

impl Depacketizer for H264Depacketizer {
    fn depacketize(&mut self, payload: &[u8], frame: &mut Vec<u8>) -> Result<()> {
        let first = *payload.first().ok_or(Error::Truncated("h264 payload"))?;
        match nal_type(first) {
            1..=23 => {
                self.in_fu = false;
                append(frame, &START_CODE)?;
                append(frame, payload)
            }
            STAP_A => {
                self.in_fu = false;
                let mut c = Cursor::new(&payload[1..], "stap-a");
                let mut any = false;
                while !c.is_empty() {
                    let len = usize::from(c.u16()?);
                    let nal = c.take(len)?;
                    if nal.is_empty() {
                        return Err(Error::Malformed("empty nal unit in stap-a"));
                    }
                    append(frame, &START_CODE)?;
                    append(frame, nal)?;
                    any = true;
                }
                if any {
                    Ok(())
                } else {
                    Err(Error::Malformed("empty stap-a"))
                }
            }
            FU_A => {
                let fu = *payload.get(1).ok_or(Error::Truncated("fu-a header"))?;
                let data = &payload[2..];
                let (start, end) = (fu & 0x80 != 0, fu & 0x40 != 0);
                if start {
                    append(frame, &START_CODE)?;
                    append(frame, &[(first & 0xE0) | nal_type(fu)])?;
                } else if !self.in_fu {
                    return Err(Error::Malformed("fu-a continuation without start"));
                }
                self.in_fu = !end;
                append(frame, data)
            }
            0 | 30 | 31 => Err(Error::Malformed("reserved h264 nal unit type")),
            _ => Err(Error::Unsupported("h264 stap-b, mtap or fu-b")),
        }
    }

    fn is_frame_start(&self, payload: &[u8]) -> bool {
        match payload {
            [f, fu, ..] if nal_type(*f) == FU_A => fu & 0x80 != 0,
            [f, ..] => nal_type(*f) != FU_A,
            [] => false,
        }
    }

    /// The payload carries an IDR slice or an SPS (RFC 6184 does not define key frames; this
    /// is what libwebrtc checks).
    fn is_keyframe(&self, payload: &[u8]) -> bool {
        let is_key = |t: u8| t == NAL_IDR || t == NAL_SPS;
        match payload {
            [f, rest @ ..] if nal_type(*f) == STAP_A => {
                let mut c = Cursor::new(rest, "stap-a");
                while let Ok(len) = c.u16() {
                    match c.take(usize::from(len)) {
                        Ok([h, ..]) if is_key(nal_type(*h)) => return true,
                        Ok(_) => {}
                        Err(_) => return false,
                    }
                }
                false
            }
            [f, fu, ..] if nal_type(*f) == FU_A => fu & 0x80 != 0 && is_key(nal_type(*fu)),
            [f, ..] => is_key(nal_type(*f)),
            [] => false,
        }
    }

    fn reset(&mut self) {
        self.in_fu = false;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::codec::tests::round_trip;
    use proptest::prelude::*;

    pub(crate) fn annex_b(nals: &[Vec<u8>]) -> Vec<u8> {
        nals.iter()
            .flat_map(|n| START_CODE.iter().chain(n.iter()).copied())
            .collect()
    }

    #[test]
    fn chrome_stap_a_keyframe() {
        // A STAP-A with an SPS (constrained baseline, level 3.1) and a PPS, the shape of the
        // first packet Chromium sends for an IDR access unit (hand-built, not captured).
        let payload = [
            0x78, 0x00, 0x0B, 0x67, 0x42, 0xC0, 0x1F, 0xDA, 0x01, 0x40, 0x16, 0xEC, 0x04, 0x40,
            0x00, 0x04, 0x68, 0xCE, 0x3C, 0x80,
        ];
        let d = H264Depacketizer::default();
        assert!(d.is_keyframe(&payload));
        assert!(d.is_frame_start(&payload));
        let mut out = Vec::new();
        H264Depacketizer::default()
            .depacketize(&payload, &mut out)
            .unwrap();
        assert_eq!(out[..5], [0, 0, 0, 1, 0x67]);
        assert_eq!(out.len(), 4 + 11 + 4 + 4);
        // Truncated aggregation lengths are errors.
        for n in 1..payload.len() {
            let r = H264Depacketizer::default().depacketize(&payload[..n], &mut Vec::new());
            assert!(r.is_err() || n == 14, "len {n}");
        }
    }

    #[test]
    fn fu_a_needs_start() {
        let mut d = H264Depacketizer::default();
        let mut out = Vec::new();
        assert!(d.depacketize(&[0x7C, 0x05, 1, 2], &mut out).is_err());
        d.depacketize(&[0x7C, 0x85, 1, 2], &mut out).unwrap();
        d.depacketize(&[0x7C, 0x45, 3], &mut out).unwrap();
        assert_eq!(out, vec![0, 0, 0, 1, 0x65, 1, 2, 3]);
        assert!(d.depacketize(&[0x7C, 0x05, 1, 2], &mut out).is_err());
        assert!(d.depacketize(&[0x19, 0, 0], &mut out).is_err()); // STAP-B
        assert!(d.depacketize(&[], &mut out).is_err());
    }

    #[test]
    fn sps_pps_prepended_to_idr() {
        let sps = vec![0x67, 0x42, 0xC0, 0x1F];
        let pps = vec![0x68, 0xCE, 0x3C, 0x80];
        let idr = vec![0x65, 0x88, 0x84, 0x21];
        let slice = vec![0x41, 0x9A, 0x02];
        let mut p = H264Packetizer::default();
        let mut d = H264Depacketizer::default();
        let key = annex_b(&[sps.clone(), pps.clone(), idr.clone()]);
        assert_eq!(round_trip(&mut p, &mut d, 1200, &key).0, key);
        assert_eq!(
            round_trip(&mut p, &mut d, 1200, &annex_b(std::slice::from_ref(&slice))).0,
            annex_b(&[slice])
        );
        // A later IDR without parameter sets gets them.
        let (out, payloads) =
            round_trip(&mut p, &mut d, 1200, &annex_b(std::slice::from_ref(&idr)));
        assert_eq!(out, key);
        assert_eq!(payloads.len(), 1);
        assert_eq!(nal_type(payloads[0][0]), STAP_A);
        // An access unit delimiter is dropped.
        let (out, _) = round_trip(
            &mut p,
            &mut d,
            1200,
            &annex_b(&[vec![0x09, 0xF0], sps.clone(), pps.clone(), idr.clone()]),
        );
        assert_eq!(out, key);
    }

    #[test]
    fn nal_longer_than_a_length_field() {
        let big: Vec<u8> = [0x41]
            .into_iter()
            .chain(core::iter::repeat_n(7, 70_000))
            .collect();
        let small = vec![0x41, 1, 2];
        let frame = annex_b(&[small.clone(), big.clone(), small]);
        let mut p = H264Packetizer::default();
        let (out, payloads) = round_trip(&mut p, &mut H264Depacketizer::default(), 200_000, &frame);
        assert_eq!(out, frame);
        assert_eq!(payloads.len(), 3);
    }

    fn arb_nal() -> impl Strategy<Value = Vec<u8>> {
        // Header: F=0, any NRI, types 1..=23 except AUD; body without zero octets so no start
        // code can appear inside (real streams use emulation prevention for that).
        (
            (0u8..4),
            prop_oneof![Just(1u8), Just(5), Just(6), Just(7), Just(8)],
            proptest::collection::vec(1u8..=255, 0..3000),
        )
            .prop_map(|(nri, t, body)| {
                let mut v = vec![(nri << 5) | t];
                v.extend(body);
                v
            })
    }

    proptest! {
        #[test]
        fn access_unit_round_trip(mut nals in proptest::collection::vec(arb_nal(), 1..6)) {
            // Keep each unit self-contained: parameter sets only ahead of an IDR they belong to.
            let has_idr = nals.iter().any(|n| nal_type(n[0]) == NAL_IDR);
            if has_idr && !nals.iter().any(|n| matches!(nal_type(n[0]), NAL_SPS | NAL_PPS)) {
                nals.insert(0, vec![0x68, 1]);
            }
            let frame = annex_b(&nals);
            for mtu in [3, 50, 500, 1200] {
                let mut p = H264Packetizer::default();
                let mut d = H264Depacketizer::default();
                let (out, payloads) = round_trip(&mut p, &mut d, mtu, &frame);
                prop_assert_eq!(&out, &frame);
                let key = payloads.iter().any(|pl| d.is_keyframe(pl));
                let expect = nals.iter().any(|n| matches!(nal_type(n[0]), NAL_IDR | NAL_SPS));
                prop_assert_eq!(key, expect);
            }
        }

        #[test]
        fn depacketize_any_never_panics(payload in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut d = H264Depacketizer::default();
            let _ = d.is_keyframe(&payload);
            let _ = d.depacketize(&payload, &mut Vec::new());
        }
    }
}
