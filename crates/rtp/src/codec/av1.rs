//! AV1 (the AV1 RTP payload format, aomediacodec.github.io/av1-rtp-spec, section 4): the
//! aggregation header, OBU elements with and without length fields, and OBU fragmentation
//! across packets.

use super::{append, Depacketizer, Packetizer, MAX_FRAME_LEN};
use crate::error::{Error, Result};
use std::borrow::Cow;

/// OBU type: sequence header.
pub const OBU_SEQUENCE_HEADER: u8 = 1;
/// OBU type: temporal delimiter (removed by the packetizer, section 5).
pub const OBU_TEMPORAL_DELIMITER: u8 = 2;
/// OBU type: tile list (must not be sent, section 5).
pub const OBU_TILE_LIST: u8 = 8;

/// Reads an unsigned LEB128 value (AV1 spec section 4.10.5): at most 8 octets, value below
/// 2^32. Returns the value and its length.
///
/// # Errors
/// [`Error::Truncated`] when the input ends mid-value, [`Error::Malformed`] past the limits.
pub fn read_leb128(data: &[u8]) -> Result<(u32, usize)> {
    let mut v: u64 = 0;
    for i in 0..8 {
        let b = *data.get(i).ok_or(Error::Truncated("leb128"))?;
        v |= u64::from(b & 0x7F) << (7 * i);
        if b & 0x80 == 0 {
            return u32::try_from(v)
                .map(|v| (v, i + 1))
                .map_err(|_| Error::Malformed("leb128 value"));
        }
    }
    Err(Error::Malformed("leb128 length"))
}

/// Appends `v` as minimal LEB128.
pub fn write_leb128(mut v: u32, buf: &mut Vec<u8>) {
    loop {
        let b = (v & 0x7F) as u8;
        v >>= 7;
        if v == 0 {
            buf.push(b);
            return;
        }
        buf.push(b | 0x80);
    }
}

fn leb128_len(v: usize) -> usize {
    let mut n = 1;
    let mut v = v >> 7;
    while v > 0 {
        n += 1;
        v >>= 7;
    }
    n
}

/// OBU header: `|F| type (4) |X|S|R|`, then `|TID(3)|SID(2)|R(3)|` when X.
fn obu_type(h: u8) -> u8 {
    (h >> 3) & 0x0F
}

fn header_len(h: u8) -> usize {
    1 + usize::from(h & 0x04 != 0)
}

/// One OBU of a low-overhead bitstream: header octets (without the size flag) and payload.
struct Obu<'a> {
    header: &'a [u8],
    payload: &'a [u8],
}

/// Splits a low-overhead temporal unit into OBUs. OBUs without a size field take the rest.
fn parse_obus(mut data: &[u8]) -> Result<Vec<Obu<'_>>> {
    let mut out = Vec::new();
    while !data.is_empty() {
        let h = data[0];
        if h & 0x80 != 0 {
            return Err(Error::Malformed("av1 obu forbidden bit"));
        }
        let hl = header_len(h);
        let header = data.get(..hl).ok_or(Error::Truncated("av1 obu header"))?;
        let rest = &data[hl..];
        let (payload, next) = if h & 0x02 != 0 {
            let (size, n) = read_leb128(rest)?;
            let size = size as usize;
            let end = n
                .checked_add(size)
                .ok_or(Error::Malformed("av1 obu size"))?;
            (
                rest.get(n..end).ok_or(Error::Truncated("av1 obu"))?,
                &rest[end..],
            )
        } else {
            (rest, &[][..])
        };
        out.push(Obu { header, payload });
        data = next;
    }
    Ok(out)
}

/// Aggregation header: `|Z|Y| W |N|-|-|-|`.
fn aggregation_header(z: bool, y: bool, w: u8, n: bool) -> u8 {
    (u8::from(z) << 7) | (u8::from(y) << 6) | (w << 4) | (u8::from(n) << 3)
}

/// Packetizes AV1 temporal units given in low-overhead form (OBUs with size fields).
///
/// Temporal delimiter and tile list OBUs are dropped (section 5); size fields are removed and
/// every OBU element carries a LEB128 length (W = 0). OBUs larger than a packet are
/// fragmented with the Y/Z bits. N is set on the first packet of a temporal unit holding a
/// sequence header (a new coded video sequence).
#[derive(Debug, Clone, Default)]
pub struct Av1Packetizer;

impl Packetizer for Av1Packetizer {
    fn packetize(&mut self, mtu: usize, frame: &[u8]) -> Result<Vec<Vec<u8>>> {
        if mtu < 3 {
            return Err(Error::MtuTooSmall);
        }
        // OBU elements: header with the size flag cleared, then the payload.
        let mut elements: Vec<Vec<u8>> = Vec::new();
        let mut new_sequence = false;
        for obu in parse_obus(frame)? {
            let t = obu_type(obu.header[0]);
            if t == OBU_TEMPORAL_DELIMITER || t == OBU_TILE_LIST {
                continue;
            }
            new_sequence |= t == OBU_SEQUENCE_HEADER;
            let mut e = Vec::with_capacity(obu.header.len() + obu.payload.len());
            e.extend_from_slice(obu.header);
            e[0] &= !0x02;
            e.extend_from_slice(obu.payload);
            elements.push(e);
        }
        if elements.is_empty() {
            return Err(Error::Malformed("no av1 obu to send"));
        }
        let mut out: Vec<Vec<u8>> = Vec::new();
        let mut packet = vec![aggregation_header(false, false, 0, new_sequence)];
        let mut z = false;
        for e in &elements {
            let mut rest: &[u8] = e;
            loop {
                let room = mtu - packet.len();
                // The largest piece whose length prefix and data fit in `room`.
                let mut take = rest.len().min(room.saturating_sub(1));
                while take > 0 && leb128_len(take) + take > room {
                    take -= 1;
                }
                if take == 0 {
                    // No room left here: close this packet and start another.
                    if packet.len() == 1 {
                        return Err(Error::MtuTooSmall);
                    }
                    out.push(core::mem::replace(
                        &mut packet,
                        vec![aggregation_header(z, false, 0, false)],
                    ));
                    continue;
                }
                write_leb128(take as u32, &mut packet);
                packet.extend_from_slice(&rest[..take]);
                rest = &rest[take..];
                if rest.is_empty() {
                    z = false;
                    break;
                }
                // The element continues in the next packet: Y here, Z there.
                packet[0] |= 0x40;
                z = true;
                out.push(core::mem::replace(
                    &mut packet,
                    vec![aggregation_header(true, false, 0, false)],
                ));
            }
        }
        if packet.len() > 1 {
            out.push(packet);
        }
        Ok(out)
    }
}

/// Depacketizes AV1 into a low-overhead temporal unit (OBUs with size fields).
#[derive(Debug, Clone, Default)]
pub struct Av1Depacketizer {
    /// An OBU element continued in the next packet (Y = 1).
    partial: Option<Vec<u8>>,
}

impl Av1Depacketizer {
    fn emit(element: &[u8], frame: &mut Vec<u8>) -> Result<()> {
        let h = *element
            .first()
            .ok_or(Error::Malformed("empty av1 obu element"))?;
        if h & 0x80 != 0 {
            return Err(Error::Malformed("av1 obu forbidden bit"));
        }
        let hl = header_len(h);
        let header = element
            .get(..hl)
            .ok_or(Error::Truncated("av1 obu header"))?;
        let mut payload = &element[hl..];
        if h & 0x02 != 0 {
            // The sender kept the size field: honour it.
            let (size, n) = read_leb128(payload)?;
            payload = payload
                .get(n..n + size as usize)
                .ok_or(Error::Truncated("av1 obu"))?;
        }
        let t = obu_type(h);
        if t == OBU_TEMPORAL_DELIMITER || t == OBU_TILE_LIST {
            return Ok(());
        }
        let size = u32::try_from(payload.len()).map_err(|_| Error::LimitExceeded("av1 obu"))?;
        let mut hdr = Vec::with_capacity(hl + 5);
        hdr.extend_from_slice(header);
        hdr[0] |= 0x02;
        write_leb128(size, &mut hdr);
        append(frame, &hdr)?;
        append(frame, payload)
    }
}

impl Depacketizer for Av1Depacketizer {
    fn depacketize(&mut self, payload: &[u8], frame: &mut Vec<u8>) -> Result<()> {
        let agg = *payload
            .first()
            .ok_or(Error::Truncated("av1 aggregation header"))?;
        let (z, y, w) = (
            agg & 0x80 != 0,
            agg & 0x40 != 0,
            usize::from((agg >> 4) & 3),
        );
        if z && self.partial.is_none() {
            return Err(Error::Malformed("av1 continuation without start"));
        }
        if !z && self.partial.is_some() {
            self.partial = None;
            return Err(Error::Malformed("av1 fragment not continued"));
        }
        let mut rest = &payload[1..];
        let mut elements: Vec<&[u8]> = Vec::new();
        while !rest.is_empty() {
            let last_without_len = w != 0 && elements.len() + 1 == w;
            let len = if last_without_len {
                rest.len()
            } else {
                let (len, n) = read_leb128(rest)?;
                rest = &rest[n..];
                len as usize
            };
            let e = rest.get(..len).ok_or(Error::Truncated("av1 obu element"))?;
            elements.push(e);
            rest = &rest[len..];
        }
        if elements.is_empty() {
            return Err(Error::Malformed("av1 packet without obu element"));
        }
        let n = elements.len();
        for (i, e) in elements.into_iter().enumerate() {
            let element: Cow<'_, [u8]> = if i == 0 && z {
                let mut p = self.partial.take().unwrap_or_default();
                if p.len() + e.len() > MAX_FRAME_LEN {
                    return Err(Error::LimitExceeded("av1 obu fragment"));
                }
                p.extend_from_slice(e);
                Cow::Owned(p)
            } else {
                Cow::Borrowed(e)
            };
            if i + 1 == n && y {
                self.partial = Some(element.into_owned());
                return Ok(());
            }
            Self::emit(&element, frame)?;
        }
        Ok(())
    }

    fn is_frame_start(&self, payload: &[u8]) -> bool {
        payload.first().is_some_and(|a| a & 0x80 == 0)
    }

    /// N = 1 (first packet of a coded video sequence), or a first OBU element that is a
    /// sequence header.
    fn is_keyframe(&self, payload: &[u8]) -> bool {
        let Some(&agg) = payload.first() else {
            return false;
        };
        if agg & 0x08 != 0 {
            return true;
        }
        if agg & 0x80 != 0 {
            return false;
        }
        let w = (agg >> 4) & 3;
        let rest = &payload[1..];
        let first = if w == 1 {
            rest.first()
        } else {
            read_leb128(rest).ok().and_then(|(_, n)| rest.get(n))
        };
        first.is_some_and(|h| obu_type(*h) == OBU_SEQUENCE_HEADER)
    }

    fn reset(&mut self) {
        self.partial = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::tests::round_trip;
    use proptest::prelude::*;

    fn obu(t: u8, ext: Option<u8>, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![(t << 3) | 0x02 | if ext.is_some() { 0x04 } else { 0 }];
        v.extend(ext);
        write_leb128(payload.len() as u32, &mut v);
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn leb128() {
        for v in [0u32, 1, 127, 128, 300, 16_383, 16_384, u32::MAX] {
            let mut b = Vec::new();
            write_leb128(v, &mut b);
            assert_eq!(b.len(), leb128_len(v as usize));
            assert_eq!(read_leb128(&b).unwrap(), (v, b.len()));
        }
        assert!(read_leb128(&[0x80]).is_err());
        assert!(read_leb128(&[0xFF; 9]).is_err());
        assert!(read_leb128(&[0xFF, 0xFF, 0xFF, 0xFF, 0x7F]).is_err());
    }

    #[test]
    fn spec_w_field_and_size_fields() {
        // W = 2: first element with a length, the second takes the rest; the second keeps
        // its obu_has_size_field, which the receiver honours.
        let payload = [0x20, 0x02, 0x08, 0xAA, 0x32, 0x01, 0xBB];
        let mut d = Av1Depacketizer::default();
        let mut out = Vec::new();
        d.depacketize(&payload, &mut out).unwrap();
        let mut want = obu(1, None, &[0xAA]);
        want.extend(obu(6, None, &[0xBB]));
        assert_eq!(out, want);
        assert!(d.is_keyframe(&payload));
        assert!(d.is_frame_start(&payload));
        // Temporal delimiters are dropped.
        let mut out = Vec::new();
        d.depacketize(&[0x10, 0x12, 0x00], &mut out).unwrap();
        assert!(out.is_empty());
    }

    #[test]
    fn fragments_need_their_start() {
        let mut d = Av1Depacketizer::default();
        let mut out = Vec::new();
        assert!(d.depacketize(&[0x80, 0x01, 0xAA], &mut out).is_err());
        d.depacketize(&[0x40, 0x02, 0x30, 0xAA], &mut out).unwrap();
        assert!(out.is_empty());
        d.depacketize(&[0x80, 0x01, 0xBB], &mut out).unwrap();
        assert_eq!(out, obu(6, None, &[0xAA, 0xBB]));
        d.depacketize(&[0x40, 0x02, 0x30, 0xAA], &mut out).unwrap();
        assert!(d.depacketize(&[0x00, 0x01, 0x30], &mut out).is_err());
        assert!(d.depacketize(&[], &mut out).is_err());
        assert!(d.depacketize(&[0x00, 0x05, 0x30], &mut out).is_err());
    }

    fn arb_obu() -> impl Strategy<Value = Vec<u8>> {
        (
            prop_oneof![Just(1u8), Just(3), Just(4), Just(5), Just(6)],
            proptest::option::of(any::<u8>()),
            proptest::collection::vec(any::<u8>(), 0..4000),
        )
            .prop_map(|(t, ext, p)| obu(t, ext, &p))
    }

    proptest! {
        #[test]
        fn temporal_unit_round_trip(obus in proptest::collection::vec(arb_obu(), 1..6)) {
            let tu: Vec<u8> = obus.concat();
            let mut with_td = obu(OBU_TEMPORAL_DELIMITER, None, &[]);
            with_td.extend_from_slice(&tu);
            for mtu in [3, 4, 60, 500, 1200] {
                let (out, payloads) = round_trip(&mut Av1Packetizer, &mut Av1Depacketizer::default(), mtu, &with_td);
                prop_assert_eq!(&out, &tu);
                let has_seq = obus.iter().any(|o| obu_type(o[0]) == OBU_SEQUENCE_HEADER);
                prop_assert_eq!(Av1Depacketizer::default().is_keyframe(&payloads[0]), has_seq);
            }
        }

        #[test]
        fn depacketize_any_never_panics(payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 1..4)) {
            let mut d = Av1Depacketizer::default();
            let mut out = Vec::new();
            for p in &payloads {
                let _ = d.is_keyframe(p);
                let _ = d.depacketize(p, &mut out);
            }
        }
    }
}
