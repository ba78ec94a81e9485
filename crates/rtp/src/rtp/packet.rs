//! The RTP fixed header, CSRC list and header extension block (RFC 3550 section 5.1, RFC 8285).

use super::extension::{ExtensionElements, ExtensionKind, ExtensionMap, ExtensionValue};
use crate::error::{Error, Result};
use crate::types::{SeqNo, Ssrc};

mod field {
    pub const VPXCC: usize = 0;
    pub const MPT: usize = 1;
    pub const SEQ: usize = 2;
    pub const TIMESTAMP: usize = 4;
    pub const SSRC: usize = 8;
    pub const CSRC: usize = 12;
}

/// Length of the fixed RTP header.
pub const FIXED_HEADER_LEN: usize = 12;
/// Profile value of the RFC 8285 one-byte header extension form.
pub const ONE_BYTE_PROFILE: u16 = 0xBEDE;
/// Profile value of the RFC 8285 two-byte header extension form (low 4 bits are "appbits").
pub const TWO_BYTE_PROFILE: u16 = 0x1000;

/// A zero-copy view of an RTP packet (RFC 3550 section 5.1).
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |V=2|P|X|  CC   |M|     PT      |       sequence number         |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                           timestamp                           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |           synchronization source (SSRC) identifier            |
/// +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
/// |            contributing source (CSRC) identifiers             |
/// |                             ....                              |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |      defined by profile       |           length              |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                        header extension                       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                  payload ...  | padding ... | padding count   |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
///
/// [`RtpPacket::new_checked`] validates every length once; the getters then never fail.
#[derive(Debug, Clone)]
pub struct RtpPacket<T: AsRef<[u8]>> {
    buffer: T,
    /// End of the fixed header, CSRCs and extension block.
    header_len: usize,
    /// End of the payload (start of padding).
    payload_end: usize,
}

impl<T: AsRef<[u8]>> RtpPacket<T> {
    /// Wraps `buffer` after checking the version, the CSRC count, the extension length and the
    /// padding count against its length.
    ///
    /// # Errors
    /// [`Error::Truncated`] when a length points past the end, [`Error::BadVersion`] when the
    /// version is not 2, [`Error::BadPadding`] for a zero or oversized padding count.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let b = buffer.as_ref();
        let first = *b.first().ok_or(Error::Truncated("rtp header"))?;
        if b.len() < FIXED_HEADER_LEN {
            return Err(Error::Truncated("rtp header"));
        }
        let version = first >> 6;
        if version != 2 {
            return Err(Error::BadVersion(version));
        }
        let cc = usize::from(first & 0x0F);
        let mut header_len = FIXED_HEADER_LEN + 4 * cc;
        if b.len() < header_len {
            return Err(Error::Truncated("rtp csrc list"));
        }
        if first & 0x10 != 0 {
            let words = b
                .get(header_len + 2..header_len + 4)
                .ok_or(Error::Truncated("rtp extension header"))?;
            let words = usize::from(u16::from_be_bytes([words[0], words[1]]));
            header_len += 4 + 4 * words;
            if b.len() < header_len {
                return Err(Error::Truncated("rtp extension"));
            }
        }
        let mut payload_end = b.len();
        if first & 0x20 != 0 {
            let pad = usize::from(*b.last().ok_or(Error::BadPadding)?);
            if pad == 0 || header_len + pad > b.len() {
                return Err(Error::BadPadding);
            }
            payload_end -= pad;
        }
        Ok(RtpPacket {
            buffer,
            header_len,
            payload_end,
        })
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    fn u16_at(&self, at: usize) -> u16 {
        let b = self.b();
        u16::from_be_bytes([b[at], b[at + 1]])
    }

    fn u32_at(&self, at: usize) -> u32 {
        let b = self.b();
        u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The whole packet.
    pub fn as_bytes(&self) -> &[u8] {
        self.b()
    }

    /// The version field; always 2 after [`RtpPacket::new_checked`].
    pub fn version(&self) -> u8 {
        self.b()[field::VPXCC] >> 6
    }

    /// The P bit: the packet ends in padding.
    pub fn has_padding(&self) -> bool {
        self.b()[field::VPXCC] & 0x20 != 0
    }

    /// The X bit: a header extension follows the CSRC list.
    pub fn has_extension(&self) -> bool {
        self.b()[field::VPXCC] & 0x10 != 0
    }

    /// The CC field: number of CSRC identifiers (0..=15).
    pub fn csrc_count(&self) -> u8 {
        self.b()[field::VPXCC] & 0x0F
    }

    /// The M bit (meaning defined by the payload format; for video, last packet of a frame).
    pub fn marker(&self) -> bool {
        self.b()[field::MPT] & 0x80 != 0
    }

    /// The payload type, 7 bits.
    pub fn payload_type(&self) -> u8 {
        self.b()[field::MPT] & 0x7F
    }

    /// The sequence number.
    pub fn sequence_number(&self) -> SeqNo {
        SeqNo(self.u16_at(field::SEQ))
    }

    /// The RTP timestamp, in the payload format's clock rate.
    pub fn timestamp(&self) -> u32 {
        self.u32_at(field::TIMESTAMP)
    }

    /// The synchronization source.
    pub fn ssrc(&self) -> Ssrc {
        Ssrc(self.u32_at(field::SSRC))
    }

    /// The contributing sources, in order.
    pub fn csrcs(&self) -> impl Iterator<Item = Ssrc> + '_ {
        (0..usize::from(self.csrc_count())).map(move |i| Ssrc(self.u32_at(field::CSRC + 4 * i)))
    }

    /// Length of the fixed header, CSRC list and extension block: the payload's offset.
    pub fn header_len(&self) -> usize {
        self.header_len
    }

    fn ext_start(&self) -> usize {
        field::CSRC + 4 * usize::from(self.csrc_count())
    }

    /// The "defined by profile" field of the extension block, when the X bit is set.
    pub fn extension_profile(&self) -> Option<u16> {
        self.has_extension().then(|| self.u16_at(self.ext_start()))
    }

    /// The extension block's data (after its 4-byte header), when the X bit is set.
    pub fn extension_data(&self) -> Option<&[u8]> {
        if !self.has_extension() {
            return None;
        }
        self.b().get(self.ext_start() + 4..self.header_len)
    }

    /// The RFC 8285 extension elements, `(id, data)`, in wire order. Empty for other profiles.
    ///
    /// A malformed element ends the iteration (as libwebrtc does): earlier elements stay
    /// usable.
    pub fn extensions(&self) -> ExtensionElements<'_> {
        match (self.extension_profile(), self.extension_data()) {
            (Some(profile), Some(data)) => ExtensionElements::new(profile, data),
            _ => ExtensionElements::new(0, &[]),
        }
    }

    /// The data of the extension element with `id`, if present.
    pub fn extension(&self, id: u8) -> Option<&[u8]> {
        self.extensions().find(|(i, _)| *i == id).map(|(_, d)| d)
    }

    /// The typed value of extension `E` under the id `map` gives it.
    ///
    /// `None` when the map has no id for it or the packet does not carry it.
    ///
    /// # Errors
    /// The inner result is the error of `E`'s parser when the element is malformed.
    pub fn extension_value<E: ExtensionValue>(&self, map: &ExtensionMap) -> Option<Result<E>> {
        let id = map.id(E::KIND)?;
        self.extension(id).map(E::parse)
    }

    /// The extension data registered for `kind` in `map`.
    pub fn extension_by_kind(&self, map: &ExtensionMap, kind: ExtensionKind) -> Option<&[u8]> {
        self.extension(map.id(kind)?)
    }

    /// The payload (between the header and the padding).
    pub fn payload(&self) -> &[u8] {
        &self.b()[self.header_len..self.payload_end]
    }

    /// Number of padding octets at the end, including the count octet; 0 without the P bit.
    pub fn padding_len(&self) -> usize {
        self.b().len() - self.payload_end
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> RtpPacket<T> {
    fn bm(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    /// Sets the M bit.
    pub fn set_marker(&mut self, marker: bool) {
        let b = &mut self.bm()[field::MPT];
        *b = (*b & 0x7F) | (u8::from(marker) << 7);
    }

    /// Sets the payload type (the high bit of `pt` is ignored).
    pub fn set_payload_type(&mut self, pt: u8) {
        let b = &mut self.bm()[field::MPT];
        *b = (*b & 0x80) | (pt & 0x7F);
    }

    /// Sets the sequence number.
    pub fn set_sequence_number(&mut self, seq: SeqNo) {
        self.bm()[field::SEQ..field::SEQ + 2].copy_from_slice(&seq.0.to_be_bytes());
    }

    /// Sets the timestamp.
    pub fn set_timestamp(&mut self, ts: u32) {
        self.bm()[field::TIMESTAMP..field::TIMESTAMP + 4].copy_from_slice(&ts.to_be_bytes());
    }

    /// Sets the SSRC.
    pub fn set_ssrc(&mut self, ssrc: Ssrc) {
        self.bm()[field::SSRC..field::SSRC + 4].copy_from_slice(&ssrc.0.to_be_bytes());
    }

    /// The payload, mutable (for in-place encryption, say).
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let (s, e) = (self.header_len, self.payload_end);
        &mut self.bm()[s..e]
    }

    /// Overwrites the data of extension element `id` in place; `data` must have the element's
    /// current length.
    ///
    /// # Errors
    /// [`Error::Malformed`] when the element is absent or its length differs.
    pub fn rewrite_extension(&mut self, id: u8, data: &[u8]) -> Result<()> {
        let base = self.ext_start() + 4;
        let (offset, len) = self
            .extensions()
            .offsets()
            .find(|(i, _, _)| *i == id)
            .map(|(_, o, l)| (o, l))
            .ok_or(Error::Malformed("extension not present"))?;
        if len != data.len() {
            return Err(Error::Malformed("extension length differs"));
        }
        self.bm()[base + offset..base + offset + len].copy_from_slice(data);
        Ok(())
    }
}

/// One RFC 8285 header extension element: a local id and its data.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExtensionElement {
    /// The local identifier negotiated with `a=extmap` (1..=14 one-byte, 1..=255 two-byte).
    pub id: u8,
    /// The element's data.
    pub data: Vec<u8>,
}

/// The header extension block of an RTP packet (RFC 3550 section 5.3.1, RFC 8285 section 4).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HeaderExtension {
    /// RFC 8285 one-byte form (profile 0xBEDE): ids 1..=14, data 1..=16 bytes.
    OneByte(Vec<ExtensionElement>),
    /// RFC 8285 two-byte form (profile 0x100X): ids 1..=255, data 0..=255 bytes.
    TwoByte {
        /// The 4 "appbits" in the profile field's low nibble.
        appbits: u8,
        /// The elements.
        elements: Vec<ExtensionElement>,
    },
    /// Any other profile: opaque data (padded to a multiple of 4 on write).
    Other {
        /// The "defined by profile" field.
        profile: u16,
        /// The extension data.
        data: Vec<u8>,
    },
}

impl HeaderExtension {
    /// Builds an RFC 8285 block from `elements`, choosing the one-byte form when every element
    /// fits it and the two-byte form otherwise.
    #[must_use]
    pub fn from_elements(elements: Vec<ExtensionElement>) -> Self {
        if elements.iter().all(fits_one_byte) {
            HeaderExtension::OneByte(elements)
        } else {
            HeaderExtension::TwoByte {
                appbits: 0,
                elements,
            }
        }
    }

    /// The RFC 8285 elements (empty for [`HeaderExtension::Other`]).
    #[must_use]
    pub fn elements(&self) -> &[ExtensionElement] {
        match self {
            HeaderExtension::OneByte(e) | HeaderExtension::TwoByte { elements: e, .. } => e,
            HeaderExtension::Other { .. } => &[],
        }
    }

    fn profile(&self) -> u16 {
        match self {
            HeaderExtension::OneByte(_) => ONE_BYTE_PROFILE,
            HeaderExtension::TwoByte { appbits, .. } => TWO_BYTE_PROFILE | u16::from(appbits & 0xF),
            HeaderExtension::Other { profile, .. } => *profile,
        }
    }

    fn data_len(&self) -> usize {
        let raw = match self {
            HeaderExtension::OneByte(e) => e.iter().map(|e| 1 + e.data.len()).sum(),
            HeaderExtension::TwoByte { elements, .. } => {
                elements.iter().map(|e| 2 + e.data.len()).sum()
            }
            HeaderExtension::Other { data, .. } => data.len(),
        };
        raw.div_ceil(4) * 4
    }

    /// Bytes this block takes on the wire, its 4-byte header included.
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        4 + self.data_len()
    }

    /// Appends the block (header, elements, zero padding to 32 bits) to `buf`.
    ///
    /// # Errors
    /// [`Error::ValueOutOfRange`] when an element's id or length does not fit its form, or
    /// the block exceeds 2^16 - 1 words.
    pub fn write(&self, buf: &mut Vec<u8>) -> Result<()> {
        let len = self.data_len();
        let words =
            u16::try_from(len / 4).map_err(|_| Error::ValueOutOfRange("extension length"))?;
        match self {
            HeaderExtension::OneByte(e) => {
                if !e.iter().all(fits_one_byte) {
                    return Err(Error::ValueOutOfRange("one-byte extension element"));
                }
            }
            HeaderExtension::TwoByte { elements, appbits } => {
                if *appbits > 0xF || elements.iter().any(|e| e.id == 0 || e.data.len() > 255) {
                    return Err(Error::ValueOutOfRange("two-byte extension element"));
                }
            }
            HeaderExtension::Other { profile, .. } => {
                if *profile == ONE_BYTE_PROFILE || profile & 0xFFF0 == TWO_BYTE_PROFILE {
                    return Err(Error::ValueOutOfRange("extension profile"));
                }
            }
        }
        let start = buf.len();
        buf.extend_from_slice(&self.profile().to_be_bytes());
        buf.extend_from_slice(&words.to_be_bytes());
        match self {
            HeaderExtension::OneByte(e) => {
                for e in e {
                    buf.push((e.id << 4) | (e.data.len() as u8 - 1));
                    buf.extend_from_slice(&e.data);
                }
            }
            HeaderExtension::TwoByte { elements, .. } => {
                for e in elements {
                    buf.push(e.id);
                    buf.push(e.data.len() as u8);
                    buf.extend_from_slice(&e.data);
                }
            }
            HeaderExtension::Other { data, .. } => buf.extend_from_slice(data),
        }
        buf.resize(start + 4 + len, 0);
        Ok(())
    }
}

fn fits_one_byte(e: &ExtensionElement) -> bool {
    (1..=14).contains(&e.id) && (1..=16).contains(&e.data.len())
}

/// The parsed RTP header: fixed fields, CSRCs and extensions (the `Repr` of [`RtpPacket`]).
///
/// Padding is not part of the header: [`RtpHeader::write_packet`] takes it as an argument.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct RtpHeader {
    /// The M bit.
    pub marker: bool,
    /// The payload type (0..=127).
    pub payload_type: u8,
    /// The sequence number.
    pub sequence_number: SeqNo,
    /// The RTP timestamp.
    pub timestamp: u32,
    /// The synchronization source.
    pub ssrc: Ssrc,
    /// Contributing sources, at most 15.
    pub csrcs: Vec<Ssrc>,
    /// The extension block, if any.
    pub extension: Option<HeaderExtension>,
}

impl RtpHeader {
    /// Reads the header of a checked packet. Malformed RFC 8285 elements are dropped (see
    /// [`RtpPacket::extensions`]).
    pub fn parse<T: AsRef<[u8]>>(packet: &RtpPacket<T>) -> RtpHeader {
        let extension = match (packet.extension_profile(), packet.extension_data()) {
            (Some(profile), Some(data)) => {
                let elements = || {
                    ExtensionElements::new(profile, data)
                        .map(|(id, d)| ExtensionElement {
                            id,
                            data: d.to_vec(),
                        })
                        .collect()
                };
                Some(if profile == ONE_BYTE_PROFILE {
                    HeaderExtension::OneByte(elements())
                } else if profile & 0xFFF0 == TWO_BYTE_PROFILE {
                    HeaderExtension::TwoByte {
                        appbits: (profile & 0xF) as u8,
                        elements: elements(),
                    }
                } else {
                    HeaderExtension::Other {
                        profile,
                        data: data.to_vec(),
                    }
                })
            }
            _ => None,
        };
        RtpHeader {
            marker: packet.marker(),
            payload_type: packet.payload_type(),
            sequence_number: packet.sequence_number(),
            timestamp: packet.timestamp(),
            ssrc: packet.ssrc(),
            csrcs: packet.csrcs().collect(),
            extension,
        }
    }

    /// Checks and parses `bytes`, returning the header and the payload slice.
    ///
    /// # Errors
    /// As [`RtpPacket::new_checked`].
    pub fn from_bytes(bytes: &[u8]) -> Result<(RtpHeader, &[u8])> {
        let p = RtpPacket::new_checked(bytes)?;
        let h = RtpHeader::parse(&p);
        let (s, e) = (p.header_len, p.payload_end);
        Ok((h, &bytes[s..e]))
    }

    /// Bytes the header takes on the wire.
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        FIXED_HEADER_LEN
            + 4 * self.csrcs.len()
            + self
                .extension
                .as_ref()
                .map_or(0, HeaderExtension::encoded_len)
    }

    /// Appends the header to `buf` with the P bit clear.
    ///
    /// # Errors
    /// [`Error::ValueOutOfRange`] for more than 15 CSRCs, a payload type above 127, or an
    /// extension block that does not fit its form.
    pub fn write(&self, buf: &mut Vec<u8>) -> Result<()> {
        self.write_with_padding_bit(buf, false)
    }

    fn write_with_padding_bit(&self, buf: &mut Vec<u8>, padding: bool) -> Result<()> {
        if self.csrcs.len() > 15 {
            return Err(Error::ValueOutOfRange("csrc count"));
        }
        if self.payload_type > 0x7F {
            return Err(Error::ValueOutOfRange("payload type"));
        }
        let start = buf.len();
        buf.push(
            0x80 | (u8::from(padding) << 5)
                | (u8::from(self.extension.is_some()) << 4)
                | self.csrcs.len() as u8,
        );
        buf.push((u8::from(self.marker) << 7) | self.payload_type);
        buf.extend_from_slice(&self.sequence_number.0.to_be_bytes());
        buf.extend_from_slice(&self.timestamp.to_be_bytes());
        buf.extend_from_slice(&self.ssrc.0.to_be_bytes());
        for c in &self.csrcs {
            buf.extend_from_slice(&c.0.to_be_bytes());
        }
        if let Some(ext) = &self.extension {
            if let Err(e) = ext.write(buf) {
                buf.truncate(start);
                return Err(e);
            }
        }
        Ok(())
    }

    /// Appends a whole packet: header, `payload`, and `padding` octets of padding (the last one
    /// holding the count, RFC 3550 section 5.1). `padding == 0` writes no padding.
    ///
    /// # Errors
    /// As [`RtpHeader::write`].
    pub fn write_packet(&self, payload: &[u8], padding: u8, buf: &mut Vec<u8>) -> Result<()> {
        self.write_with_padding_bit(buf, padding > 0)?;
        buf.extend_from_slice(payload);
        if padding > 0 {
            buf.resize(buf.len() + usize::from(padding) - 1, 0);
            buf.push(padding);
        }
        Ok(())
    }

    /// The data of extension element `id`.
    #[must_use]
    pub fn extension(&self, id: u8) -> Option<&[u8]> {
        self.extension
            .as_ref()?
            .elements()
            .iter()
            .find(|e| e.id == id)
            .map(|e| e.data.as_slice())
    }

    /// Sets (replaces or adds) the raw extension element `id`, switching to the two-byte form
    /// when the element needs it. A non-RFC 8285 block is replaced.
    pub fn set_extension(&mut self, id: u8, data: Vec<u8>) {
        let mut elements = match self.extension.take() {
            Some(HeaderExtension::OneByte(e))
            | Some(HeaderExtension::TwoByte { elements: e, .. }) => e,
            _ => Vec::new(),
        };
        match elements.iter_mut().find(|e| e.id == id) {
            Some(e) => e.data = data,
            None => elements.push(ExtensionElement { id, data }),
        }
        self.extension = Some(HeaderExtension::from_elements(elements));
    }

    /// Sets the typed extension `E` under the id `map` gives it; does nothing when the map has
    /// no id for `E`.
    ///
    /// # Errors
    /// The value's own writer error (a string too long, a field out of range).
    pub fn set_extension_value<E: ExtensionValue>(
        &mut self,
        map: &ExtensionMap,
        value: &E,
    ) -> Result<()> {
        if let Some(id) = map.id(E::KIND) {
            let mut data = Vec::new();
            value.write(&mut data)?;
            self.set_extension(id, data);
        }
        Ok(())
    }

    /// The typed value of extension `E` under the id `map` gives it.
    ///
    /// # Errors
    /// The inner result is `E`'s parse error.
    pub fn extension_value<E: ExtensionValue>(&self, map: &ExtensionMap) -> Option<Result<E>> {
        self.extension(map.id(E::KIND)?).map(E::parse)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    // Captured from Chromium, as dissected by Wireshark; from
    // github.com/olivermichel/webrtc-analysis test/include/data.h (rtp_pkt1, rtp_pkt3).
    // The payloads were cut by the capture's author.
    pub(crate) const CHROME_ONE_BYTE: &str =
        "902d1a5fd4090549f7b16e83bede000322f3435041009bd281004500";
    pub(crate) const CHROME_TWO_BYTE: &str = concat!(
        "902d61c5950a0fee8d3814e510000011",
        "020303f7ae",
        "04020002",
        "090130",
        "030100",
        "060102",
        "070d0100010007000700 0a00000000",
        "0d21c00001800318 7aaaf130a0a014d1 4138230460086422 222650 09f0077013f00ef0"
    );

    pub(crate) fn unhex(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap()
    }

    #[test]
    fn chrome_one_byte_extensions() {
        let b = unhex(CHROME_ONE_BYTE);
        let p = RtpPacket::new_checked(&b[..]).unwrap();
        assert_eq!(p.version(), 2);
        assert!(!p.marker());
        assert_eq!(p.payload_type(), 45);
        assert_eq!(p.sequence_number(), SeqNo(6751));
        assert_eq!(p.timestamp(), 3_557_360_969);
        assert_eq!(p.ssrc(), Ssrc(0xf7b1_6e83));
        assert_eq!(p.extension_profile(), Some(ONE_BYTE_PROFILE));
        let ext: Vec<_> = p.extensions().collect();
        assert_eq!(
            ext,
            vec![
                (2, &[0xf3, 0x43, 0x50][..]),
                (4, &[0x00, 0x9b][..]),
                (13, &[0x81, 0x00, 0x45][..])
            ]
        );
        assert_eq!(p.extension(4), Some(&[0x00, 0x9b][..]));
        assert!(p.payload().is_empty());
        // Chromium packs elements without alignment, as we do: byte-identical rewrite.
        let h = RtpHeader::parse(&p);
        let mut out = Vec::new();
        h.write(&mut out).unwrap();
        assert_eq!(out, b);
    }

    #[test]
    fn chrome_two_byte_extensions() {
        let b = unhex(CHROME_TWO_BYTE);
        let p = RtpPacket::new_checked(&b[..]).unwrap();
        assert_eq!(p.sequence_number(), SeqNo(25029));
        assert_eq!(p.extension_profile(), Some(0x1000));
        let ids: Vec<u8> = p.extensions().map(|(i, _)| i).collect();
        assert_eq!(ids, vec![2, 4, 9, 3, 6, 7, 13]);
        assert_eq!(p.extension(13).unwrap().len(), 33);
        assert_eq!(p.extension(9), Some(&b"0"[..]));
        let h = RtpHeader::parse(&p);
        let mut out = Vec::new();
        h.write(&mut out).unwrap();
        assert_eq!(out, b);
    }

    #[test]
    fn truncated_and_bad_inputs() {
        let b = unhex(CHROME_ONE_BYTE);
        for n in 0..b.len() {
            assert!(RtpPacket::new_checked(&b[..n]).is_err(), "len {n}");
        }
        let mut v = b.clone();
        v[0] = 0x40 | (v[0] & 0x3F);
        assert_eq!(
            RtpPacket::new_checked(&v[..]).unwrap_err(),
            Error::BadVersion(1)
        );
        // Padding bit with a zero count.
        let mut v = b.clone();
        v[0] |= 0x20;
        assert_eq!(
            RtpPacket::new_checked(&v[..]).unwrap_err(),
            Error::BadPadding
        );
        // Padding count larger than payload.
        let mut v = b.clone();
        v[0] |= 0x20;
        *v.last_mut().unwrap() = 5;
        assert_eq!(
            RtpPacket::new_checked(&v[..]).unwrap_err(),
            Error::BadPadding
        );
    }

    #[test]
    fn padding_and_payload() {
        let h = RtpHeader {
            marker: true,
            payload_type: 96,
            sequence_number: SeqNo(1),
            timestamp: 2,
            ssrc: Ssrc(3),
            csrcs: vec![Ssrc(9), Ssrc(10)],
            extension: None,
        };
        let mut buf = Vec::new();
        h.write_packet(b"hello", 3, &mut buf).unwrap();
        assert_eq!(buf.len(), 12 + 8 + 5 + 3);
        let mut p = RtpPacket::new_checked(buf).unwrap();
        assert!(p.has_padding());
        assert_eq!(p.padding_len(), 3);
        assert_eq!(p.payload(), b"hello");
        assert_eq!(p.csrcs().collect::<Vec<_>>(), vec![Ssrc(9), Ssrc(10)]);
        p.set_marker(false);
        p.set_payload_type(100);
        p.set_sequence_number(SeqNo(77));
        p.set_timestamp(88);
        p.set_ssrc(Ssrc(99));
        p.payload_mut()[0] = b'j';
        assert!(!p.marker());
        assert_eq!(p.payload_type(), 100);
        assert_eq!(p.sequence_number(), SeqNo(77));
        assert_eq!(p.timestamp(), 88);
        assert_eq!(p.ssrc(), Ssrc(99));
        assert_eq!(p.payload(), b"jello");
    }

    #[test]
    fn extension_id_15_stops_one_byte_parsing() {
        // id 15 in the one-byte form ends processing (RFC 8285 section 4.2).
        let b = unhex("9000000100000002000000 03 bede0001 10aaf000");
        let p = RtpPacket::new_checked(&b[..]).unwrap();
        assert_eq!(p.extensions().collect::<Vec<_>>(), vec![(1, &[0xaa][..])]);
    }

    #[test]
    fn one_byte_id_zero_is_one_octet_of_padding() {
        // Found by the rtp fuzz target: 0x05 has id 0; it is skipped alone, not as a 6-octet
        // element.
        let b = unhex("9000000100000002000000 03 bede0001 05 10aa 00");
        let p = RtpPacket::new_checked(&b[..]).unwrap();
        assert_eq!(p.extensions().collect::<Vec<_>>(), vec![(1, &[0xaa][..])]);
    }

    #[test]
    fn set_extension_upgrades_form() {
        let mut h = RtpHeader::default();
        h.set_extension(3, vec![1]);
        assert!(matches!(h.extension, Some(HeaderExtension::OneByte(_))));
        h.set_extension(20, vec![2, 3]);
        assert!(matches!(h.extension, Some(HeaderExtension::TwoByte { .. })));
        h.set_extension(3, vec![4]);
        assert_eq!(h.extension(3), Some(&[4][..]));
        assert_eq!(h.extension(20), Some(&[2, 3][..]));
        let mut buf = Vec::new();
        h.write(&mut buf).unwrap();
        assert_eq!(buf.len(), h.encoded_len());
    }

    #[test]
    fn rewrite_extension_in_place() {
        let mut b = unhex(CHROME_ONE_BYTE);
        let mut p = RtpPacket::new_checked(&mut b[..]).unwrap();
        p.rewrite_extension(4, &[0x12, 0x34]).unwrap();
        assert_eq!(p.extension(4), Some(&[0x12, 0x34][..]));
        assert!(p.rewrite_extension(4, &[1]).is_err());
        assert!(p.rewrite_extension(5, &[1, 2]).is_err());
    }

    fn arb_element(two_byte: bool) -> impl Strategy<Value = ExtensionElement> {
        let (ids, lens) = if two_byte {
            (1u8..=255, 0usize..=40)
        } else {
            (1u8..=14, 1usize..=16)
        };
        (ids, proptest::collection::vec(any::<u8>(), lens))
            .prop_map(|(id, data)| ExtensionElement { id, data })
    }

    pub(crate) fn arb_extension() -> impl Strategy<Value = HeaderExtension> {
        prop_oneof![
            proptest::collection::vec(arb_element(false), 0..6).prop_map(HeaderExtension::OneByte),
            (0u8..16, proptest::collection::vec(arb_element(true), 0..6))
                .prop_map(|(appbits, elements)| HeaderExtension::TwoByte { appbits, elements }),
            (any::<u16>(), proptest::collection::vec(any::<u8>(), 0..5))
                .prop_filter("not rfc 8285", |(p, _)| *p != ONE_BYTE_PROFILE
                    && p & 0xFFF0 != TWO_BYTE_PROFILE)
                .prop_map(|(profile, data)| {
                    let mut data = data;
                    data.resize(data.len().div_ceil(4) * 4, 0);
                    HeaderExtension::Other { profile, data }
                }),
        ]
    }

    pub(crate) fn arb_header() -> impl Strategy<Value = RtpHeader> {
        (
            any::<bool>(),
            0u8..128,
            any::<u16>(),
            any::<u32>(),
            any::<u32>(),
            proptest::collection::vec(any::<u32>().prop_map(Ssrc), 0..16),
            proptest::option::of(arb_extension()),
        )
            .prop_map(
                |(marker, payload_type, seq, timestamp, ssrc, csrcs, extension)| RtpHeader {
                    marker,
                    payload_type,
                    sequence_number: SeqNo(seq),
                    timestamp,
                    ssrc: Ssrc(ssrc),
                    csrcs,
                    extension,
                },
            )
    }

    proptest! {
        #[test]
        fn header_round_trip(
            h in arb_header(),
            payload in proptest::collection::vec(any::<u8>(), 0..64),
            padding in 0u8..8,
        ) {
            let mut buf = Vec::new();
            h.write_packet(&payload, padding, &mut buf).unwrap();
            prop_assert_eq!(buf.len(), h.encoded_len() + payload.len() + usize::from(padding));
            let p = RtpPacket::new_checked(&buf[..]).unwrap();
            prop_assert_eq!(RtpHeader::parse(&p), h.clone());
            prop_assert_eq!(p.payload(), &payload[..]);
            prop_assert_eq!(p.padding_len(), usize::from(padding));
        }

        #[test]
        fn parse_any_is_stable(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            if let Ok(p) = RtpPacket::new_checked(&bytes[..]) {
                let h = RtpHeader::parse(&p);
                let mut out = Vec::new();
                h.write_packet(p.payload(), p.padding_len() as u8, &mut out).unwrap();
                let p2 = RtpPacket::new_checked(&out[..]).unwrap();
                prop_assert_eq!(RtpHeader::parse(&p2), h);
                prop_assert_eq!(p2.payload(), p.payload());
            }
        }
    }
}
