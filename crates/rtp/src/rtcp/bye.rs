//! Goodbye, BYE (RFC 3550 section 6.6).

use super::ssrc;
use crate::cursor::Cursor;
use crate::error::{Error, Result};
use crate::types::Ssrc;

/// BYE packet: the sources leaving, and an optional reason.
///
/// ```text
/// |V=2|P|    SC   |   PT=BYE=203  |             length            |
/// |                           SSRC/CSRC                           |
/// :                              ...                              :
/// |     length    |               reason for leaving            ...
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Goodbye {
    /// Sources leaving, at most 31.
    pub sources: Vec<Ssrc>,
    /// Reason for leaving (UTF-8 per the RFC; kept as octets), at most 255 octets.
    pub reason: Option<Vec<u8>>,
}

impl Goodbye {
    pub(crate) fn parse(count: u8, body: &[u8]) -> Result<Self> {
        let mut c = Cursor::new(body, "bye");
        let sources = (0..count)
            .map(|_| ssrc(&mut c))
            .collect::<Result<Vec<_>>>()?;
        let reason = if c.is_empty() {
            None
        } else {
            let len = usize::from(c.u8()?);
            Some(c.take(len)?.to_vec())
        };
        Ok(Goodbye { sources, reason })
    }

    pub(crate) fn body_len(&self) -> usize {
        4 * self.sources.len()
            + self
                .reason
                .as_ref()
                .map_or(0, |r| (1 + r.len()).div_ceil(4) * 4)
    }

    pub(crate) fn write_body(&self, buf: &mut Vec<u8>) -> Result<()> {
        if self.sources.len() > 31 {
            return Err(Error::ValueOutOfRange("bye source count"));
        }
        for s in &self.sources {
            buf.extend_from_slice(&s.0.to_be_bytes());
        }
        if let Some(r) = &self.reason {
            buf.push(u8::try_from(r.len()).map_err(|_| Error::ValueOutOfRange("bye reason"))?);
            buf.extend_from_slice(r);
        }
        Ok(())
    }
}
