//! [`Codec`]: one payload type with its rtpmap, fmtp and rtcp-fb joined.

use crate::attribute::{split_params, RtcpFeedback};

/// An RTP codec as a media description offers it: `a=rtpmap` + `a=fmtp` + `a=rtcp-fb` for
/// one payload type (RFC 8866 §6.6, §6.15; RFC 4585 §4.2).
///
/// Read with [`MediaDescription::codecs`](crate::MediaDescription::codecs); write with
/// [`MediaDescription::add_codec`](crate::MediaDescription::add_codec).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Codec {
    /// RTP payload type, 0–127.
    pub payload_type: u8,
    /// Encoding name as written (`opus`, `VP8`, `rtx`); compare case-insensitively.
    pub encoding_name: String,
    /// RTP clock rate in Hz.
    pub clock_rate: u32,
    /// Encoding parameters (audio channels) if written.
    pub encoding_parameters: Option<u16>,
    /// Raw `a=fmtp` parameters, if any.
    pub fmtp: Option<String>,
    /// `a=rtcp-fb` entries that apply to this payload type, in order.
    pub feedback: Vec<RtcpFeedback>,
}

impl Codec {
    /// A codec without parameters or feedback.
    pub fn new(
        payload_type: u8,
        encoding_name: impl Into<String>,
        clock_rate: u32,
        encoding_parameters: Option<u16>,
    ) -> Self {
        Self {
            payload_type,
            encoding_name: encoding_name.into(),
            clock_rate,
            encoding_parameters,
            fmtp: None,
            feedback: Vec::new(),
        }
    }

    /// Builder: sets the raw fmtp parameters.
    #[must_use]
    pub fn with_fmtp(mut self, parameters: impl Into<String>) -> Self {
        self.fmtp = Some(parameters.into());
        self
    }

    /// Builder: appends an rtcp-fb entry.
    #[must_use]
    pub fn with_feedback(mut self, feedback: RtcpFeedback) -> Self {
        self.feedback.push(feedback);
        self
    }

    /// The codec a static payload type implies without an rtpmap (RFC 3551 §6, table 4
    /// and 5); `None` for dynamic or unassigned payload types.
    pub fn from_static_payload_type(payload_type: u8) -> Option<Self> {
        let (name, rate, channels) = match payload_type {
            0 => ("PCMU", 8000, None),
            3 => ("GSM", 8000, None),
            4 => ("G723", 8000, None),
            5 => ("DVI4", 8000, None),
            6 => ("DVI4", 16000, None),
            7 => ("LPC", 8000, None),
            8 => ("PCMA", 8000, None),
            9 => ("G722", 8000, None),
            10 => ("L16", 44100, Some(2)),
            11 => ("L16", 44100, None),
            12 => ("QCELP", 8000, None),
            13 => ("CN", 8000, None),
            14 => ("MPA", 90000, None),
            15 => ("G728", 8000, None),
            16 => ("DVI4", 11025, None),
            17 => ("DVI4", 22050, None),
            18 => ("G729", 8000, None),
            25 => ("CelB", 90000, None),
            26 => ("JPEG", 90000, None),
            28 => ("nv", 90000, None),
            31 => ("H261", 90000, None),
            32 => ("MPV", 90000, None),
            33 => ("MP2T", 90000, None),
            34 => ("H263", 90000, None),
            _ => return None,
        };
        Some(Self::new(payload_type, name, rate, channels))
    }

    /// Audio channel count: the encoding parameters, 1 when absent (RFC 8866 §6.6).
    pub fn channels(&self) -> u16 {
        self.encoding_parameters.unwrap_or(1)
    }

    /// The fmtp parameters as `(key, value)` pairs (see [`Fmtp::params`](crate::Fmtp::params)).
    pub fn fmtp_params(&self) -> impl Iterator<Item = (&str, Option<&str>)> + '_ {
        split_params(self.fmtp.as_deref().unwrap_or(""))
    }

    /// The value of fmtp parameter `key`, compared case-insensitively.
    pub fn fmtp_param(&self, key: &str) -> Option<&str> {
        self.fmtp_params()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .and_then(|(_, v)| v)
    }

    /// Whether this is an RTX retransmission codec (RFC 4588).
    pub fn is_rtx(&self) -> bool {
        self.encoding_name.eq_ignore_ascii_case("rtx")
    }

    /// For RTX, the associated payload type (`apt=`, RFC 4588 §8.6).
    pub fn rtx_apt(&self) -> Option<u8> {
        self.fmtp_param("apt").and_then(crate::attribute::parse_pt)
    }

    /// Whether the codec has feedback `feedback_type [parameter]`, e.g. `("nack", Some("pli"))`.
    pub fn has_feedback(&self, feedback_type: &str, parameter: Option<&str>) -> bool {
        self.feedback
            .iter()
            .any(|f| f.feedback_type == feedback_type && f.parameter.as_deref() == parameter)
    }
}
