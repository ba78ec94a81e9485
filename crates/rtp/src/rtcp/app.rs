//! Application-defined packets, APP (RFC 3550 section 6.7).

use super::ssrc;
use crate::cursor::Cursor;
use crate::error::{Error, Result};
use crate::types::Ssrc;

/// APP packet.
///
/// ```text
/// |V=2|P| subtype |   PT=APP=204  |             length            |
/// |                           SSRC/CSRC                           |
/// |                          name (ASCII)                         |
/// |                   application-dependent data                ...
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct App {
    /// Subtype, 5 bits.
    pub subtype: u8,
    /// The originator.
    pub ssrc: Ssrc,
    /// Four ASCII characters naming the application.
    pub name: [u8; 4],
    /// Application data, a multiple of 4 octets.
    pub data: Vec<u8>,
}

impl App {
    pub(crate) fn parse(count: u8, body: &[u8]) -> Result<Self> {
        let mut c = Cursor::new(body, "app");
        let ssrc = ssrc(&mut c)?;
        let name = c.array()?;
        let rest = c.rest();
        Ok(App {
            subtype: count,
            ssrc,
            name,
            data: rest[..rest.len() / 4 * 4].to_vec(),
        })
    }

    pub(crate) fn body_len(&self) -> usize {
        8 + self.data.len().div_ceil(4) * 4
    }

    pub(crate) fn write_body(&self, buf: &mut Vec<u8>) -> Result<()> {
        if self.subtype > 31 {
            return Err(Error::ValueOutOfRange("app subtype"));
        }
        buf.extend_from_slice(&self.ssrc.0.to_be_bytes());
        buf.extend_from_slice(&self.name);
        buf.extend_from_slice(&self.data);
        Ok(())
    }
}
