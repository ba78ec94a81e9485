//! The DTLS record header (RFC 6347 §4.1) and iteration over the records of a datagram.

use super::{ContentType, ProtocolVersion, Reader, Writer};
use crate::Error;

/// Length of the DTLS record header: 13 bytes.
pub const RECORD_HEADER_LEN: usize = 13;

/// The header of a `DTLSPlaintext` / `DTLSCiphertext` record (RFC 6347 §4.1).
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |     type      |            version            |    epoch ...  |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  ... epoch    |        sequence_number (48 bits) ...          |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |      ... sequence_number      |            length             |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    /// The higher-level protocol of the fragment.
    pub content_type: ContentType,
    /// The record layer version; DTLS 1.0 or 1.2 in practice.
    pub version: ProtocolVersion,
    /// Counter incremented on every cipher state change.
    pub epoch: u16,
    /// 48-bit record number within the epoch.
    pub sequence_number: u64,
    /// Length in bytes of the fragment that follows.
    pub length: u16,
}

impl RecordHeader {
    /// Parses a header from the first 13 bytes of `buf`.
    ///
    /// # Errors
    /// [`Error::Truncated`] if `buf` is shorter than 13 bytes.
    pub fn parse(buf: &[u8]) -> Result<RecordHeader, Error> {
        let mut r = Reader::new(buf, "record header");
        Ok(RecordHeader {
            content_type: ContentType(r.u8()?),
            version: ProtocolVersion(r.u16()?),
            epoch: r.u16()?,
            sequence_number: r.u48()?,
            length: r.u16()?,
        })
    }

    /// Appends the 13 header bytes to `out`.
    ///
    /// # Errors
    /// [`Error::TooLong`] if the sequence number does not fit 48 bits.
    pub fn write(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        let mut w = Writer::new(out);
        w.u8(self.content_type.0);
        w.u16(self.version.0);
        w.u16(self.epoch);
        w.u48(self.sequence_number)?;
        w.u16(self.length);
        Ok(())
    }

    /// The 64-bit `seq_num` of the AEAD additional data: epoch then sequence number
    /// (RFC 6347 §4.1.2.1).
    pub fn epoch_sequence(&self) -> u64 {
        (u64::from(self.epoch) << 48) | (self.sequence_number & 0xffff_ffff_ffff)
    }
}

/// One record of a datagram: its header and its (possibly protected) fragment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// The parsed header; `header.length == fragment.len()`.
    pub header: RecordHeader,
    /// The record's payload as received.
    pub fragment: &'a [u8],
}

impl<'a> Record<'a> {
    /// Parses one record from the front of `buf`, returning it and the bytes after it.
    ///
    /// # Errors
    /// [`Error::Truncated`] if the header or the announced fragment is cut short.
    pub fn parse(buf: &'a [u8]) -> Result<(Record<'a>, &'a [u8]), Error> {
        let header = RecordHeader::parse(buf)?;
        let mut r = Reader::new(buf.get(RECORD_HEADER_LEN..).unwrap_or(&[]), "record");
        let fragment = r.bytes(header.length as usize)?;
        Ok((Record { header, fragment }, r.rest()))
    }

    /// Appends header and fragment to `out`; the header's length is taken from the fragment.
    ///
    /// # Errors
    /// [`Error::TooLong`] if the fragment exceeds 65535 bytes or the sequence number 48 bits.
    pub fn write(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        let length = u16::try_from(self.fragment.len()).map_err(|_| Error::TooLong)?;
        RecordHeader {
            length,
            ..self.header
        }
        .write(out)?;
        out.extend_from_slice(self.fragment);
        Ok(())
    }
}

/// Iterator over the records of one datagram (RFC 6347 §4.1.1: a datagram may carry several).
///
/// It stops after the first malformed record, yielding its error once: the rest of a
/// datagram cannot be framed after a bad length.
#[derive(Debug, Clone)]
pub struct Records<'a> {
    rest: &'a [u8],
}

impl<'a> Records<'a> {
    /// Iterates over the records of `datagram`.
    pub fn new(datagram: &'a [u8]) -> Self {
        Records { rest: datagram }
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<Record<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        match Record::parse(self.rest) {
            Ok((record, rest)) => {
                self.rest = rest;
                Some(Ok(record))
            }
            Err(e) => {
                self.rest = &[];
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // A first-flight ClientHello record header: DTLS 1.0 record version, epoch 0, seq 0.
    const CAPTURED: [u8; 13] = [
        0x16, 0xfe, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xa3,
    ];

    #[test]
    fn parses_captured_header() {
        let h = RecordHeader::parse(&CAPTURED).unwrap();
        assert_eq!(h.content_type, ContentType::HANDSHAKE);
        assert_eq!(h.version, ProtocolVersion::DTLS_1_0);
        assert_eq!(h.epoch, 0);
        assert_eq!(h.sequence_number, 0);
        assert_eq!(h.length, 0xa3);
        let mut out = Vec::new();
        h.write(&mut out).unwrap();
        assert_eq!(out, CAPTURED);
    }

    #[test]
    fn truncated_inputs_are_errors() {
        for n in 0..CAPTURED.len() {
            assert!(RecordHeader::parse(&CAPTURED[..n]).is_err());
        }
        // Header announces 0xa3 bytes but none follow.
        assert!(Record::parse(&CAPTURED).is_err());
        let mut it = Records::new(&CAPTURED);
        assert!(matches!(it.next(), Some(Err(Error::Truncated(_)))));
        assert!(it.next().is_none());
    }

    #[test]
    fn several_records_per_datagram() {
        let mut dgram = Vec::new();
        for (i, payload) in [&b"abc"[..], b"", b"defg"].iter().enumerate() {
            Record {
                header: RecordHeader {
                    content_type: ContentType::APPLICATION_DATA,
                    version: ProtocolVersion::DTLS_1_2,
                    epoch: 1,
                    sequence_number: i as u64 + (1 << 47),
                    length: 0,
                },
                fragment: payload,
            }
            .write(&mut dgram)
            .unwrap();
        }
        let got: Vec<_> = Records::new(&dgram).map(|r| r.unwrap()).collect();
        assert_eq!(got.len(), 3);
        assert_eq!(got[2].fragment, b"defg");
        assert_eq!(got[1].header.sequence_number, 1 + (1 << 47));
        assert_eq!(got[1].header.epoch_sequence(), (1 << 48) | (1 + (1 << 47)));
    }

    proptest! {
        #[test]
        fn record_round_trip(ct: u8, v: u16, epoch: u16, seq in 0u64..(1 << 48),
                             frag in proptest::collection::vec(any::<u8>(), 0..300)) {
            let rec = Record {
                header: RecordHeader { content_type: ContentType(ct), version: ProtocolVersion(v),
                    epoch, sequence_number: seq, length: frag.len() as u16 },
                fragment: &frag,
            };
            let mut out = Vec::new();
            rec.write(&mut out).unwrap();
            let (back, rest) = Record::parse(&out).unwrap();
            prop_assert_eq!(back, rec);
            prop_assert!(rest.is_empty());
        }

        #[test]
        fn record_parse_write_stable(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok((rec, _)) = Record::parse(&data) {
                let mut out = Vec::new();
                rec.write(&mut out).unwrap();
                prop_assert_eq!(&out[..], &data[..out.len()]);
            }
        }
    }
}
