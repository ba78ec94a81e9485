//! ChannelData messages (RFC 8656 §12.4, §12.5).

use oxrtc_stun::ChannelNumber;

use crate::Error;

/// The lowest valid channel number (RFC 8656 §12).
pub const CHANNEL_NUMBER_MIN: u16 = 0x4000;
/// The highest valid channel number (RFC 8656 §12).
pub const CHANNEL_NUMBER_MAX: u16 = 0x4FFF;
/// The highest channel number of RFC 5766, which allowed 0x4000..=0x7FFF; servers accept
/// these from older clients (coturn's `turnutils_uclient` picks them).
pub const CHANNEL_NUMBER_MAX_RFC5766: u16 = 0x7FFF;
/// Bytes of the ChannelData header: channel number and length.
pub const CHANNEL_DATA_HEADER_LEN: usize = 4;
/// Most application data one ChannelData message carries: the 16-bit length field.
pub const MAX_CHANNEL_DATA_LEN: usize = u16::MAX as usize;

/// Byte ranges of the ChannelData fields (RFC 8656 §12.4).
mod field {
    use core::ops::Range;
    pub(super) const CHANNEL_NUMBER: Range<usize> = 0..2;
    pub(super) const LENGTH: Range<usize> = 2..4;
}

/// Whether `n` is a channel number a client may bind: 0x4000..=0x4FFF (RFC 8656 §12).
pub const fn is_valid_channel_number(n: u16) -> bool {
    n >= CHANNEL_NUMBER_MIN && n <= CHANNEL_NUMBER_MAX
}

/// Whether `n` is a channel number of RFC 5766's wider range, 0x4000..=0x7FFF, which a
/// server accepts from older clients.
pub const fn is_rfc5766_channel_number(n: u16) -> bool {
    n >= CHANNEL_NUMBER_MIN && n <= CHANNEL_NUMBER_MAX_RFC5766
}

/// Whether a datagram is ChannelData: first byte 64..=79 (RFC 7983 §7), a header, and a
/// length field that fits the datagram. Allocation free; use it to demultiplex what arrives
/// from the TURN server (STUN starts with 0..=3).
pub fn is_channel_data(data: &[u8]) -> bool {
    match data {
        [a @ 0x40..=0x4F, b, c, d, rest @ ..] => {
            let _ = (a, b);
            usize::from(u16::from_be_bytes([*c, *d])) <= rest.len()
        }
        _ => false,
    }
}

/// A read-only view of a ChannelData message (RFC 8656 §12.4), smoltcp style.
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |         Channel Number        |            Length             |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                                                               |
/// /                       Application Data                        /
/// /                                                               /
/// |                                                               |
/// |                               +-------------------------------+
/// |                               |
/// +-------------------------------+
/// ```
///
/// Bytes after `4 + length` are ignored: padding to 4 bytes on stream transports
/// (RFC 8656 §12.5), or anything a UDP sender appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelData<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> ChannelData<T> {
    /// Wraps a buffer without checking it; accessors then return zeros or empty data
    /// rather than panic.
    pub const fn new_unchecked(buffer: T) -> Self {
        ChannelData { buffer }
    }

    /// Wraps a buffer after [`check`](Self::check)ing it.
    ///
    /// # Errors
    /// As [`check`](Self::check).
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let c = Self::new_unchecked(buffer);
        c.check()?;
        Ok(c)
    }

    /// Checks that the header is present, the channel number is in 0x4000..=0x7FFF (RFC 8656
    /// narrowed it to 0x4FFF; RFC 5766 clients still use the rest) and the data announced
    /// by the length field is in the buffer.
    ///
    /// # Errors
    /// [`Error::Truncated`], [`Error::InvalidChannelNumber`].
    pub fn check(&self) -> Result<(), Error> {
        let buf = self.buffer.as_ref();
        let Some(&[a, b, c, d]) = buf.first_chunk::<CHANNEL_DATA_HEADER_LEN>() else {
            return Err(Error::Truncated {
                needed: CHANNEL_DATA_HEADER_LEN,
                available: buf.len(),
            });
        };
        let number = u16::from_be_bytes([a, b]);
        if !is_rfc5766_channel_number(number) {
            return Err(Error::InvalidChannelNumber(number));
        }
        let needed = CHANNEL_DATA_HEADER_LEN + usize::from(u16::from_be_bytes([c, d]));
        if needed > buf.len() {
            return Err(Error::Truncated {
                needed,
                available: buf.len(),
            });
        }
        Ok(())
    }

    fn u16_at(&self, range: core::ops::Range<usize>) -> u16 {
        match self.buffer.as_ref().get(range) {
            Some(&[a, b]) => u16::from_be_bytes([a, b]),
            _ => 0,
        }
    }

    /// The channel number.
    pub fn channel_number(&self) -> ChannelNumber {
        ChannelNumber(self.u16_at(field::CHANNEL_NUMBER))
    }

    /// The length field: bytes of application data, without padding.
    pub fn length(&self) -> u16 {
        self.u16_at(field::LENGTH)
    }

    /// The application data.
    pub fn data(&self) -> &[u8] {
        let end = CHANNEL_DATA_HEADER_LEN + usize::from(self.length());
        self.buffer
            .as_ref()
            .get(CHANNEL_DATA_HEADER_LEN..end)
            .unwrap_or(&[])
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> ChannelData<T> {
    /// Sets the channel number field.
    pub fn set_channel_number(&mut self, number: ChannelNumber) {
        if let Some(b) = self.buffer.as_mut().get_mut(field::CHANNEL_NUMBER) {
            b.copy_from_slice(&number.0.to_be_bytes());
        }
    }

    /// Sets the length field.
    pub fn set_length(&mut self, length: u16) {
        if let Some(b) = self.buffer.as_mut().get_mut(field::LENGTH) {
            b.copy_from_slice(&length.to_be_bytes());
        }
    }
}

/// The parse/write twin of [`ChannelData`]: a channel number and the data it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChannelDataRepr<'a> {
    /// The channel number, 0x4000..=0x4FFF.
    pub channel: ChannelNumber,
    /// The application data.
    pub data: &'a [u8],
}

impl<'a> ChannelDataRepr<'a> {
    /// Reads a checked message.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(message: &'a ChannelData<&'a T>) -> Self {
        ChannelDataRepr {
            channel: message.channel_number(),
            data: message.data(),
        }
    }

    /// Bytes [`write`](Self::write) appends: the header and the data, plus padding to a
    /// multiple of 4 when `padded` (required on TCP and TLS, RFC 8656 §12.5).
    pub fn encoded_len(&self, padded: bool) -> usize {
        let len = CHANNEL_DATA_HEADER_LEN + self.data.len();
        if padded {
            (len + 3) & !3
        } else {
            len
        }
    }

    /// Appends the message to `out`.
    ///
    /// # Errors
    /// [`Error::InvalidChannelNumber`], [`Error::DataTooLong`] above 65535 bytes; nothing is
    /// written then.
    pub fn write(&self, out: &mut Vec<u8>, padded: bool) -> Result<usize, Error> {
        write_channel_data(out, self.channel, self.data, padded)
    }
}

/// Appends a ChannelData message for `data` on `channel` to `out`, padded to 4 bytes when
/// `padded` (stream transports, RFC 8656 §12.5); returns the bytes appended.
///
/// # Errors
/// [`Error::InvalidChannelNumber`] outside 0x4000..=0x7FFF, [`Error::DataTooLong`]; `out` is
/// unchanged then.
pub fn write_channel_data(
    out: &mut Vec<u8>,
    channel: ChannelNumber,
    data: &[u8],
    padded: bool,
) -> Result<usize, Error> {
    if !is_rfc5766_channel_number(channel.0) {
        return Err(Error::InvalidChannelNumber(channel.0));
    }
    let Ok(len) = u16::try_from(data.len()) else {
        return Err(Error::DataTooLong(data.len()));
    };
    let start = out.len();
    let repr = ChannelDataRepr { channel, data };
    out.reserve(repr.encoded_len(padded));
    out.extend_from_slice(&channel.0.to_be_bytes());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(data);
    if padded {
        let pad = (4 - data.len() % 4) % 4;
        out.extend_from_slice(&[0u8; 3][..pad]);
    }
    Ok(out.len() - start)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_a_message_with_padding() {
        // Channel 0x4001, 5 bytes of data, 3 bytes of padding (TCP).
        let bytes = [
            0x40, 0x01, 0x00, 0x05, b'h', b'e', b'l', b'l', b'o', 0, 0, 0,
        ];
        assert!(is_channel_data(&bytes));
        let c = ChannelData::new_checked(&bytes[..]).unwrap();
        assert_eq!(c.channel_number(), ChannelNumber(0x4001));
        assert_eq!(c.length(), 5);
        assert_eq!(c.data(), b"hello");
        let mut out = Vec::new();
        ChannelDataRepr::parse(&c).write(&mut out, true).unwrap();
        assert_eq!(out, bytes);
        out.clear();
        ChannelDataRepr::parse(&c).write(&mut out, false).unwrap();
        assert_eq!(out, bytes[..9]);
    }

    #[test]
    fn rejects_truncated_and_bad_numbers() {
        assert_eq!(
            ChannelData::new_checked(&[0x40u8, 0x00, 0x00][..]).unwrap_err(),
            Error::Truncated {
                needed: 4,
                available: 3
            }
        );
        assert_eq!(
            ChannelData::new_checked(&[0x40u8, 0x00, 0x00, 0x02, 1][..]).unwrap_err(),
            Error::Truncated {
                needed: 6,
                available: 5
            }
        );
        assert_eq!(
            ChannelData::new_checked(&[0x80u8, 0x00, 0x00, 0x00][..]).unwrap_err(),
            Error::InvalidChannelNumber(0x8000)
        );
        // RFC 5766's range is still parsed, but is not RFC 7983 ChannelData.
        assert!(ChannelData::new_checked(&[0x6Bu8, 0xC5, 0x00, 0x00][..]).is_ok());
        assert!(!is_channel_data(&[0x6B, 0xC5, 0x00, 0x00]));
        assert_eq!(
            ChannelData::new_checked(&[0x3Fu8, 0xFF, 0x00, 0x00][..]).unwrap_err(),
            Error::InvalidChannelNumber(0x3FFF)
        );
        assert!(!is_channel_data(&[0x40, 0x00, 0x00, 0x01]));
        assert!(!is_channel_data(&[0x00, 0x01, 0x00, 0x00]));
        assert!(!is_channel_data(&[]));
        assert!(is_channel_data(&[0x4F, 0xFF, 0x00, 0x00]));
    }

    #[test]
    fn write_refuses_bad_input_without_writing() {
        let mut out = vec![9];
        assert_eq!(
            write_channel_data(&mut out, ChannelNumber(0x3000), b"x", false),
            Err(Error::InvalidChannelNumber(0x3000))
        );
        assert_eq!(
            write_channel_data(&mut out, ChannelNumber(0x8000), b"x", false),
            Err(Error::InvalidChannelNumber(0x8000))
        );
        assert_eq!(
            write_channel_data(&mut out, ChannelNumber(0x4000), &[0; 70_000], false),
            Err(Error::DataTooLong(70_000))
        );
        assert_eq!(out, [9]);
        // The largest message fits.
        let n = write_channel_data(&mut out, ChannelNumber(0x4000), &[0; 65_535], true).unwrap();
        assert_eq!(n, 65_540);
    }

    #[test]
    fn unchecked_view_of_a_short_buffer_does_not_panic() {
        let c = ChannelData::new_unchecked(&[0x40u8][..]);
        assert_eq!(c.channel_number(), ChannelNumber(0));
        assert_eq!(c.data(), b"");
        let mut buf = [0u8; 4];
        let mut c = ChannelData::new_unchecked(&mut buf[..]);
        c.set_channel_number(ChannelNumber(0x4ABC));
        c.set_length(0);
        assert_eq!(buf, [0x4A, 0xBC, 0, 0]);
    }

    proptest! {
        #[test]
        fn round_trip(number in CHANNEL_NUMBER_MIN..=CHANNEL_NUMBER_MAX_RFC5766,
                      data in proptest::collection::vec(any::<u8>(), 0..600),
                      padded in any::<bool>()) {
            let repr = ChannelDataRepr { channel: ChannelNumber(number), data: &data };
            let mut out = Vec::new();
            let n = repr.write(&mut out, padded).unwrap();
            prop_assert_eq!(n, out.len());
            prop_assert_eq!(n, repr.encoded_len(padded));
            if padded { prop_assert_eq!(n % 4, 0); }
            prop_assert_eq!(is_channel_data(&out), number <= CHANNEL_NUMBER_MAX);
            let view = ChannelData::new_checked(&out[..]).unwrap();
            prop_assert_eq!(ChannelDataRepr::parse(&view), repr);
        }

        #[test]
        fn write_of_parse_is_stable(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            if let Ok(view) = ChannelData::new_checked(&bytes[..]) {
                let repr = ChannelDataRepr::parse(&view);
                let mut first = Vec::new();
                repr.write(&mut first, false).unwrap();
                prop_assert_eq!(&first[..], &bytes[..first.len()]);
                let again = ChannelData::new_checked(&first[..]).unwrap();
                prop_assert_eq!(ChannelDataRepr::parse(&again), repr);
            }
        }
    }
}
