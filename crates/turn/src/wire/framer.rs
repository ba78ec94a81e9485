//! Splitting a TCP or TLS byte stream into STUN messages and ChannelData frames
//! (RFC 8656 §12.5, RFC 8489 §6.2.2).

use oxrtc_stun::{HEADER_LEN, MAGIC_COOKIE};

use super::channel_data::CHANNEL_DATA_HEADER_LEN;
use crate::Error;

/// The largest frame on a stream: a STUN header and a 65532-byte body, or a ChannelData
/// header with 65535 bytes of data and its padding.
pub const MAX_FRAME_LEN: usize = CHANNEL_DATA_HEADER_LEN + 65_536;

/// One frame cut from a stream by [`StreamFramer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A whole STUN message (header and attributes).
    Stun(&'a [u8]),
    /// A ChannelData message: header and data, without the padding that followed it.
    ChannelData(&'a [u8]),
}

impl<'a> Frame<'a> {
    /// The frame's bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        match self {
            Frame::Stun(b) | Frame::ChannelData(b) => b,
        }
    }
}

/// Cuts a byte stream from a TURN server or client into frames: STUN messages (framed by
/// their length field) and ChannelData messages (framed by their length field and padded to
/// 4 bytes, RFC 8656 §12.5).
///
/// Push what the socket gave, then take frames until `Ok(None)`:
///
/// ```
/// use oxrtc_turn::{Frame, StreamFramer};
///
/// let mut framer = StreamFramer::new();
/// framer.push(&[0x40, 0x00, 0x00, 0x02, b'h']); // a partial ChannelData message
/// assert_eq!(framer.next_frame()?, None);
/// framer.push(&[b'i', 0, 0]); // the rest and its padding
/// assert_eq!(framer.next_frame()?, Some(Frame::ChannelData(&[0x40, 0x00, 0x00, 0x02, b'h', b'i'])));
/// assert_eq!(framer.next_frame()?, None);
/// # Ok::<(), oxrtc_turn::Error>(())
/// ```
///
/// An error means the stream is not TURN (first byte outside STUN's 0..=63 or ChannelData's
/// 64..=127, a wrong magic cookie, or a STUN length that is not a multiple of 4): the framing
/// is lost for good and the connection should be closed; the error repeats on every call.
///
/// Memory: the buffer holds at most one partial frame plus the last pushed chunk, provided
/// frames are taken after every push.
#[derive(Debug, Clone, Default)]
pub struct StreamFramer {
    buf: Vec<u8>,
    start: usize,
    broken: bool,
}

impl StreamFramer {
    /// An empty framer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends bytes read from the stream.
    pub fn push(&mut self, data: &[u8]) {
        if self.broken {
            return;
        }
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// Bytes buffered and not yet returned as frames.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Takes the bytes buffered but not yet returned as frames, leaving the framer empty:
    /// for a stream that stops carrying frames (an RFC 6062 data connection after
    /// ConnectionBind succeeded).
    pub fn take_remaining(&mut self) -> Vec<u8> {
        let rest = self.buf.split_off(self.start.min(self.buf.len()));
        self.buf.clear();
        self.start = 0;
        rest
    }

    /// The next whole frame, `Ok(None)` when more bytes are needed.
    ///
    /// # Errors
    /// [`Error::NotTurn`] when the stream cannot be framed (see the type's docs).
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, Error> {
        if self.broken {
            return Err(Error::NotTurn);
        }
        let rest = self.buf.get(self.start..).unwrap_or(&[]);
        let Some(&first) = rest.first() else {
            return Ok(None);
        };
        let (len, consumed, stun) = match first {
            0x00..=0x3F => {
                let Some(header) = rest.get(..8) else {
                    return Ok(None);
                };
                let cookie = u32::from_be_bytes([header[4], header[5], header[6], header[7]]);
                let len = HEADER_LEN + usize::from(u16::from_be_bytes([header[2], header[3]]));
                if cookie != MAGIC_COOKIE || len % 4 != 0 {
                    self.broken = true;
                    return Err(Error::NotTurn);
                }
                (len, len, true)
            }
            // RFC 5766's channel range, 0x4000..=0x7FFF: servers meet it from older clients.
            0x40..=0x7F => {
                let Some(&[_, _, c, d]) = rest.first_chunk::<4>() else {
                    return Ok(None);
                };
                let len = CHANNEL_DATA_HEADER_LEN + usize::from(u16::from_be_bytes([c, d]));
                (len, (len + 3) & !3, false)
            }
            _ => {
                self.broken = true;
                return Err(Error::NotTurn);
            }
        };
        if rest.len() < consumed {
            return Ok(None);
        }
        let at = self.start;
        self.start += consumed;
        let bytes = self.buf.get(at..at + len).unwrap_or(&[]);
        Ok(Some(if stun {
            Frame::Stun(bytes)
        } else {
            Frame::ChannelData(bytes)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::channel_data::write_channel_data;
    use oxrtc_stun::{ChannelNumber, Class, MessageBuilder, Method, Software, TransactionId};
    use proptest::prelude::*;

    fn stun(software: &str) -> Vec<u8> {
        let mut out = Vec::new();
        MessageBuilder::new(
            &mut out,
            Class::Indication,
            Method::Data,
            TransactionId([5; 12]),
        )
        .add(&Software(software))
        .unwrap();
        out
    }

    #[test]
    fn splits_mixed_frames_fed_byte_by_byte() {
        let mut stream = Vec::new();
        let a = stun("abc");
        stream.extend_from_slice(&a);
        write_channel_data(&mut stream, ChannelNumber(0x4000), b"hello", true).unwrap();
        write_channel_data(&mut stream, ChannelNumber(0x4FFF), b"", true).unwrap();
        let b = stun("defgh");
        stream.extend_from_slice(&b);

        let mut framer = StreamFramer::new();
        let mut frames = Vec::new();
        for byte in &stream {
            framer.push(&[*byte]);
            while let Some(f) = framer.next_frame().unwrap() {
                frames.push(match f {
                    Frame::Stun(b) => (true, b.to_vec()),
                    Frame::ChannelData(b) => (false, b.to_vec()),
                });
            }
            assert!(framer.buffered() < 64);
        }
        assert_eq!(
            frames,
            vec![
                (true, a),
                (
                    false,
                    vec![0x40, 0x00, 0x00, 0x05, b'h', b'e', b'l', b'l', b'o']
                ),
                (false, vec![0x4F, 0xFF, 0x00, 0x00]),
                (true, b),
            ]
        );
        assert_eq!(framer.buffered(), 0);
    }

    #[test]
    fn garbage_breaks_the_stream_for_good() {
        let mut framer = StreamFramer::new();
        framer.push(&[0x80, 0, 0, 0]);
        assert_eq!(framer.next_frame(), Err(Error::NotTurn));
        framer.push(&stun("x"));
        assert_eq!(framer.next_frame(), Err(Error::NotTurn));

        // A wrong magic cookie.
        let mut framer = StreamFramer::new();
        framer.push(&[0, 1, 0, 0, 1, 2, 3, 4]);
        assert_eq!(framer.next_frame(), Err(Error::NotTurn));
        // An unaligned STUN length.
        let mut framer = StreamFramer::new();
        let mut m = stun("x");
        m[3] = 5;
        framer.push(&m);
        assert_eq!(framer.next_frame(), Err(Error::NotTurn));
        // 0x8000.. are no channel numbers at all.
        let mut framer = StreamFramer::new();
        framer.push(&[0x80, 0, 0, 0]);
        assert_eq!(framer.next_frame(), Err(Error::NotTurn));
    }

    #[test]
    fn take_remaining_returns_unframed_bytes() {
        let mut framer = StreamFramer::new();
        let mut bytes = stun("x");
        bytes.extend_from_slice(b"raw peer bytes");
        framer.push(&bytes);
        assert!(matches!(framer.next_frame(), Ok(Some(Frame::Stun(_)))));
        assert_eq!(framer.take_remaining(), b"raw peer bytes");
        assert_eq!(framer.buffered(), 0);
    }

    proptest! {
        #[test]
        fn any_chunking_gives_the_same_frames(
            payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 1..6),
            cuts in proptest::collection::vec(1usize..17, 1..40),
        ) {
            let mut stream = Vec::new();
            for (i, p) in payloads.iter().enumerate() {
                write_channel_data(&mut stream, ChannelNumber(0x4000 + i as u16), p, true).unwrap();
                stream.extend_from_slice(&stun("s"));
            }
            let mut framer = StreamFramer::new();
            let mut got = Vec::new();
            let mut at = 0;
            let mut cut = cuts.iter().cycle();
            while at < stream.len() {
                let n = (*cut.next().unwrap()).min(stream.len() - at);
                framer.push(&stream[at..at + n]);
                at += n;
                while let Some(f) = framer.next_frame().unwrap() {
                    got.push(f.as_bytes().to_vec());
                }
            }
            prop_assert_eq!(got.len(), payloads.len() * 2);
            for (i, p) in payloads.iter().enumerate() {
                prop_assert_eq!(&got[2 * i][4..], &p[..]);
            }
        }
    }
}
