//! Source description, SDES (RFC 3550 section 6.5).

use super::ssrc;
use crate::cursor::Cursor;
use crate::error::{Error, Result};
use crate::types::Ssrc;

/// An SDES item type (RFC 3550 section 6.5): 1 CNAME .. 8 PRIV; other values are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SdesType(pub u8);

impl SdesType {
    /// Canonical end-point identifier.
    pub const CNAME: SdesType = SdesType(1);
    /// User name.
    pub const NAME: SdesType = SdesType(2);
    /// Electronic mail address.
    pub const EMAIL: SdesType = SdesType(3);
    /// Phone number.
    pub const PHONE: SdesType = SdesType(4);
    /// Geographic user location.
    pub const LOC: SdesType = SdesType(5);
    /// Application or tool name.
    pub const TOOL: SdesType = SdesType(6);
    /// Notice/status.
    pub const NOTE: SdesType = SdesType(7);
    /// Private extensions.
    pub const PRIV: SdesType = SdesType(8);
}

/// One SDES item: type and text (UTF-8 per the RFC; kept as octets).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SdesItem {
    /// Item type, never 0 (the end marker).
    pub kind: SdesType,
    /// Item text, at most 255 octets.
    pub value: Vec<u8>,
}

/// One SDES chunk: a source and its items.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct SdesChunk {
    /// The source described.
    pub source: Ssrc,
    /// Its items.
    pub items: Vec<SdesItem>,
}

impl SdesChunk {
    /// The CNAME item's text, if any and if valid UTF-8.
    #[must_use]
    pub fn cname(&self) -> Option<&str> {
        self.items
            .iter()
            .find(|i| i.kind == SdesType::CNAME)
            .and_then(|i| core::str::from_utf8(&i.value).ok())
    }

    fn encoded_len(&self) -> usize {
        let items: usize = self.items.iter().map(|i| 2 + i.value.len()).sum();
        // At least one null octet ends the item list, then pad to 32 bits.
        (4 + items + 1).div_ceil(4) * 4
    }
}

/// SDES packet (RFC 3550 section 6.5).
///
/// ```text
/// |V=2|P|    SC   |  PT=SDES=202  |             length            |
/// |                          SSRC/CSRC_1                          |
/// |                           SDES items                          |
/// |                              ...                              |
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct SourceDescription {
    /// Chunks, at most 31.
    pub chunks: Vec<SdesChunk>,
}

impl SourceDescription {
    /// An SDES with one chunk holding a CNAME, as every compound packet needs.
    #[must_use]
    pub fn cname(source: Ssrc, cname: &str) -> Self {
        SourceDescription {
            chunks: vec![SdesChunk {
                source,
                items: vec![SdesItem {
                    kind: SdesType::CNAME,
                    value: cname.as_bytes().to_vec(),
                }],
            }],
        }
    }

    pub(crate) fn parse(count: u8, body: &[u8]) -> Result<Self> {
        let mut c = Cursor::new(body, "sdes");
        let mut chunks = Vec::new();
        for _ in 0..count {
            let start = c.position();
            let source = ssrc(&mut c)?;
            let mut items = Vec::new();
            loop {
                let kind = c.u8()?;
                if kind == 0 {
                    // Skip the null octets up to the next 32-bit boundary.
                    let used = c.position() - start;
                    c.take((4 - used % 4) % 4)?;
                    break;
                }
                let len = usize::from(c.u8()?);
                items.push(SdesItem {
                    kind: SdesType(kind),
                    value: c.take(len)?.to_vec(),
                });
            }
            chunks.push(SdesChunk { source, items });
        }
        Ok(SourceDescription { chunks })
    }

    pub(crate) fn body_len(&self) -> usize {
        self.chunks.iter().map(SdesChunk::encoded_len).sum()
    }

    pub(crate) fn write_body(&self, buf: &mut Vec<u8>) -> Result<()> {
        if self.chunks.len() > 31 {
            return Err(Error::ValueOutOfRange("sdes chunk count"));
        }
        for ch in &self.chunks {
            let start = buf.len();
            buf.extend_from_slice(&ch.source.0.to_be_bytes());
            for i in &ch.items {
                let len =
                    u8::try_from(i.value.len()).map_err(|_| Error::ValueOutOfRange("sdes item"))?;
                if i.kind.0 == 0 {
                    return Err(Error::ValueOutOfRange("sdes item type"));
                }
                buf.push(i.kind.0);
                buf.push(len);
                buf.extend_from_slice(&i.value);
            }
            buf.resize(start + ch.encoded_len(), 0);
        }
        Ok(())
    }
}
