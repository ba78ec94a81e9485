//! Alert protocol (RFC 5246 §7.2).

use super::codepoints::codepoint;
use super::{Reader, Writer};
use crate::Error;

codepoint! {
    /// `AlertLevel` (RFC 5246 §7.2).
    AlertLevel(u8) {
        /// warning(1)
        WARNING = 1,
        /// fatal(2)
        FATAL = 2,
    }
}

codepoint! {
    /// `AlertDescription` (RFC 5246 §7.2, RFC 5746, RFC 8446 for names).
    AlertDescription(u8) {
        /// close_notify(0)
        CLOSE_NOTIFY = 0,
        /// unexpected_message(10)
        UNEXPECTED_MESSAGE = 10,
        /// bad_record_mac(20)
        BAD_RECORD_MAC = 20,
        /// record_overflow(22)
        RECORD_OVERFLOW = 22,
        /// handshake_failure(40)
        HANDSHAKE_FAILURE = 40,
        /// bad_certificate(42)
        BAD_CERTIFICATE = 42,
        /// unsupported_certificate(43)
        UNSUPPORTED_CERTIFICATE = 43,
        /// certificate_unknown(46)
        CERTIFICATE_UNKNOWN = 46,
        /// illegal_parameter(47)
        ILLEGAL_PARAMETER = 47,
        /// decode_error(50)
        DECODE_ERROR = 50,
        /// decrypt_error(51)
        DECRYPT_ERROR = 51,
        /// protocol_version(70)
        PROTOCOL_VERSION = 70,
        /// insufficient_security(71)
        INSUFFICIENT_SECURITY = 71,
        /// internal_error(80)
        INTERNAL_ERROR = 80,
        /// user_canceled(90)
        USER_CANCELED = 90,
        /// no_renegotiation(100)
        NO_RENEGOTIATION = 100,
        /// unsupported_extension(110)
        UNSUPPORTED_EXTENSION = 110,
    }
}

/// An alert message: level and description, two bytes (RFC 5246 §7.2).
///
/// ```text
/// struct { AlertLevel level; AlertDescription description; } Alert;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Alert {
    /// warning or fatal
    pub level: AlertLevel,
    /// what happened
    pub description: AlertDescription,
}

impl Alert {
    /// Encoded length: always 2.
    pub const LEN: usize = 2;

    /// Parses an alert record's payload.
    ///
    /// # Errors
    /// [`Error::Truncated`] or [`Error::Malformed`] unless the payload is exactly two bytes.
    pub fn parse(payload: &[u8]) -> Result<Alert, Error> {
        let mut r = Reader::new(payload, "alert");
        let level = AlertLevel(r.u8()?);
        let description = AlertDescription(r.u8()?);
        r.finish()?;
        Ok(Alert { level, description })
    }

    /// Appends the two bytes to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        let mut w = Writer::new(out);
        w.u8(self.level.0);
        w.u8(self.description.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_round_trip_and_bad_lengths() {
        let a = Alert::parse(&[2, 42]).unwrap();
        assert_eq!(a.level, AlertLevel::FATAL);
        assert_eq!(a.description, AlertDescription::BAD_CERTIFICATE);
        let mut out = Vec::new();
        a.write(&mut out);
        assert_eq!(out, [2, 42]);
        assert!(Alert::parse(&[2]).is_err());
        assert!(Alert::parse(&[2, 42, 0]).is_err());
    }
}
