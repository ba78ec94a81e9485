//! RFC 4733 telephone events (`telephone-event`): DTMF digits as named events in RTP,
//! negotiated next to the audio codec at its clock rate.
//!
//! One event is sent as a series of packets sharing the RTP timestamp of its start: the
//! first with the marker bit, each later one with the duration so far, and the last three
//! with the E bit (RFC 4733 §2.5.1).

use crate::cursor::Cursor;
use crate::error::{Error, Result};

/// The DTMF tones RFC 4733 §3.2 numbers 0–15, in event code order.
pub const DTMF_TONES: [char; 16] = [
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#', 'A', 'B', 'C', 'D',
];

/// The event code of a DTMF tone (`0`–`9`, `*`, `#`, `A`–`D`, case-insensitive).
#[must_use]
pub fn dtmf_event(tone: char) -> Option<u8> {
    let t = tone.to_ascii_uppercase();
    DTMF_TONES.iter().position(|c| *c == t).map(|i| i as u8)
}

/// The DTMF tone of an event code 0–15.
#[must_use]
pub fn dtmf_tone(event: u8) -> Option<char> {
    DTMF_TONES.get(usize::from(event)).copied()
}

/// One named event payload (RFC 4733 §2.3).
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |     event     |E|R| volume    |          duration             |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TelephoneEvent {
    /// The event code (0–15 for DTMF, see [`dtmf_event`]).
    pub event: u8,
    /// The E bit: this packet ends the event.
    pub end: bool,
    /// Power level in -dBm0, 0–63 (RFC 4733 §2.3.4); DTMF senders use about 10.
    pub volume: u8,
    /// Duration so far in RTP timestamp units (§2.3.5).
    pub duration: u16,
}

impl TelephoneEvent {
    /// Octets on the wire.
    pub const LEN: usize = 4;

    /// Parses the first event of `payload` (later ones are redundant copies, §2.5.1.5).
    /// The R bit is ignored as the RFC asks.
    ///
    /// # Errors
    /// [`Error::Truncated`] under 4 octets.
    pub fn parse(payload: &[u8]) -> Result<Self> {
        let mut c = Cursor::new(payload, "telephone-event");
        let event = c.u8()?;
        let b = c.u8()?;
        let duration = c.u16()?;
        Ok(TelephoneEvent {
            event,
            end: b & 0x80 != 0,
            volume: b & 0x3F,
            duration,
        })
    }

    /// Appends the 4 octets to `buf`.
    ///
    /// # Errors
    /// [`Error::ValueOutOfRange`] for a volume above 63.
    pub fn write(&self, buf: &mut Vec<u8>) -> Result<()> {
        if self.volume > 63 {
            return Err(Error::ValueOutOfRange("telephone-event volume"));
        }
        buf.push(self.event);
        buf.push((u8::from(self.end) << 7) | self.volume);
        buf.extend_from_slice(&self.duration.to_be_bytes());
        Ok(())
    }

    /// The DTMF tone this event stands for, if it is one.
    #[must_use]
    pub fn tone(&self) -> Option<char> {
        dtmf_tone(self.event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc4733_example() {
        // RFC 4733 §2.5.1.2 style: digit 9, volume 10, end, duration 1600 (200 ms at 8 kHz).
        let wire = [0x09, 0x8A, 0x06, 0x40];
        let e = TelephoneEvent::parse(&wire).unwrap();
        assert_eq!(
            e,
            TelephoneEvent {
                event: 9,
                end: true,
                volume: 10,
                duration: 1600
            }
        );
        assert_eq!(e.tone(), Some('9'));
        let mut out = Vec::new();
        e.write(&mut out).unwrap();
        assert_eq!(out, wire);
        // The R bit is ignored; truncated input fails.
        assert_eq!(TelephoneEvent::parse(&[9, 0xCA, 6, 0x40]).unwrap(), e);
        assert!(TelephoneEvent::parse(&wire[..3]).is_err());
        let loud = TelephoneEvent { volume: 64, ..e };
        assert!(loud.write(&mut out).is_err());
    }

    #[test]
    fn dtmf_codes() {
        for (i, t) in DTMF_TONES.iter().enumerate() {
            assert_eq!(dtmf_event(*t), Some(i as u8));
            assert_eq!(dtmf_tone(i as u8), Some(*t));
        }
        assert_eq!(dtmf_event('a'), Some(12));
        assert_eq!(dtmf_event(','), None);
        assert_eq!(dtmf_tone(16), None);
    }

    proptest! {
        #[test]
        fn round_trip(event: u8, end: bool, volume in 0u8..64, duration: u16) {
            let e = TelephoneEvent { event, end, volume, duration };
            let mut w = Vec::new();
            e.write(&mut w).unwrap();
            prop_assert_eq!(TelephoneEvent::parse(&w).unwrap(), e);
        }

        #[test]
        fn parse_write_stable(data in proptest::collection::vec(any::<u8>(), 0..8)) {
            if let Ok(e) = TelephoneEvent::parse(&data) {
                let mut w = Vec::new();
                e.write(&mut w).unwrap();
                prop_assert_eq!(TelephoneEvent::parse(&w).unwrap(), e);
            }
        }
    }
}
