//! Extended reports, XR (RFC 3611): receiver reference time (RRTR) and DLRR blocks.

use super::ssrc;
use crate::cursor::Cursor;
use crate::error::{Error, Result};
use crate::types::{NtpTime, Ssrc};

/// One DLRR sub-block (RFC 3611 section 4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DlrrItem {
    /// The receiver whose RRTR is answered.
    pub ssrc: Ssrc,
    /// Middle 32 bits of the NTP time in that RRTR.
    pub last_rr: u32,
    /// Delay since receiving it, 1/65536 s.
    pub delay_since_last_rr: u32,
}

/// One XR report block.
///
/// ```text
/// |      BT       | type-specific |         block length          |
/// :             type-specific block contents                      :
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum XrBlock {
    /// Receiver reference time, BT 4 (RFC 3611 section 4.4).
    ReceiverReferenceTime {
        /// The receiver's NTP time when sending.
        ntp_time: NtpTime,
    },
    /// DLRR, BT 5 (RFC 3611 section 4.5).
    Dlrr(Vec<DlrrItem>),
    /// Any other block, kept as it was.
    Unknown {
        /// Block type.
        block_type: u8,
        /// Type-specific octet.
        type_specific: u8,
        /// Contents (a multiple of 4 octets).
        data: Vec<u8>,
    },
}

const BT_RRTR: u8 = 4;
const BT_DLRR: u8 = 5;

impl XrBlock {
    fn encoded_len(&self) -> usize {
        4 + match self {
            XrBlock::ReceiverReferenceTime { .. } => 8,
            XrBlock::Dlrr(items) => 12 * items.len(),
            XrBlock::Unknown { data, .. } => data.len().div_ceil(4) * 4,
        }
    }
}

/// XR packet (RFC 3611 section 2).
///
/// ```text
/// |V=2|P|reserved |   PT=XR=207   |             length            |
/// |                              SSRC                             |
/// :                         report blocks                         :
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ExtendedReport {
    /// The originator.
    pub ssrc: Ssrc,
    /// Report blocks.
    pub blocks: Vec<XrBlock>,
}

impl ExtendedReport {
    pub(crate) fn parse(body: &[u8]) -> Result<Self> {
        let mut c = Cursor::new(body, "xr");
        let ssrc = ssrc(&mut c)?;
        let mut blocks = Vec::new();
        while c.remaining() >= 4 {
            let bt = c.u8()?;
            let ts = c.u8()?;
            let words = usize::from(c.u16()?);
            let mut b = Cursor::new(c.take(4 * words)?, "xr block");
            blocks.push(match bt {
                BT_RRTR => XrBlock::ReceiverReferenceTime {
                    ntp_time: NtpTime(b.u64()?),
                },
                BT_DLRR => {
                    let mut items = Vec::with_capacity(words / 3);
                    while b.remaining() >= 12 {
                        items.push(DlrrItem {
                            ssrc: super::ssrc(&mut b)?,
                            last_rr: b.u32()?,
                            delay_since_last_rr: b.u32()?,
                        });
                    }
                    XrBlock::Dlrr(items)
                }
                _ => XrBlock::Unknown {
                    block_type: bt,
                    type_specific: ts,
                    data: b.rest().to_vec(),
                },
            });
        }
        Ok(ExtendedReport { ssrc, blocks })
    }

    pub(crate) fn body_len(&self) -> usize {
        4 + self.blocks.iter().map(XrBlock::encoded_len).sum::<usize>()
    }

    pub(crate) fn write_body(&self, buf: &mut Vec<u8>) -> Result<()> {
        buf.extend_from_slice(&self.ssrc.0.to_be_bytes());
        for b in &self.blocks {
            let words = u16::try_from((b.encoded_len() - 4) / 4)
                .map_err(|_| Error::ValueOutOfRange("xr block length"))?;
            let (bt, ts) = match b {
                XrBlock::ReceiverReferenceTime { .. } => (BT_RRTR, 0),
                XrBlock::Dlrr(_) => (BT_DLRR, 0),
                XrBlock::Unknown {
                    block_type,
                    type_specific,
                    ..
                } => {
                    if matches!(*block_type, BT_RRTR | BT_DLRR) {
                        return Err(Error::ValueOutOfRange("xr unknown block type"));
                    }
                    (*block_type, *type_specific)
                }
            };
            let start = buf.len();
            buf.push(bt);
            buf.push(ts);
            buf.extend_from_slice(&words.to_be_bytes());
            match b {
                XrBlock::ReceiverReferenceTime { ntp_time } => {
                    buf.extend_from_slice(&ntp_time.0.to_be_bytes());
                }
                XrBlock::Dlrr(items) => {
                    for i in items {
                        buf.extend_from_slice(&i.ssrc.0.to_be_bytes());
                        buf.extend_from_slice(&i.last_rr.to_be_bytes());
                        buf.extend_from_slice(&i.delay_since_last_rr.to_be_bytes());
                    }
                }
                XrBlock::Unknown { data, .. } => buf.extend_from_slice(data),
            }
            buf.resize(start + b.encoded_len(), 0);
        }
        Ok(())
    }
}
