//! The one JSON result line of `offer` (DESIGN.md, "Signaling used by the CLI").

use serde::Serialize;

/// `{"peer":"oxrtc","scenario":..,"ok":..,"messages":N,"bytes":B,"seconds":S,"mbps":M,"setup_ms":T}`
/// plus `skipped_sizes` (dc-echo), `video_frames`, `video_keyframes`, `audio_frames`,
/// `rtp_packets`, `packets_lost` (media-echo), `selected_pair` and `error` when set.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ResultLine {
    /// Always `"oxrtc"`.
    pub peer: &'static str,
    /// The scenario name.
    pub scenario: String,
    /// Whether the scenario passed.
    pub ok: bool,
    /// Messages echoed back intact (media-echo: frames received).
    pub messages: u64,
    /// Payload bytes echoed back intact.
    pub bytes: u64,
    /// From the first send to the last echo, in seconds.
    pub seconds: f64,
    /// `bytes * 8 / seconds / 10^6`: megabits per second of the echoed payload.
    pub mbps: f64,
    /// From creating the peer connection to the data channel's open, in milliseconds.
    pub setup_ms: Option<f64>,
    /// dc-echo: sizes above the remote's max-message-size, not sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped_sizes: Option<Vec<usize>>,
    /// media-echo: reflected video frames received.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_frames: Option<u64>,
    /// media-echo: key frames among them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_keyframes: Option<u64>,
    /// media-echo: reflected audio frames received.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio_frames: Option<u64>,
    /// media-echo: RTP packets received (inbound-rtp `packetsReceived`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rtp_packets: Option<u64>,
    /// media-echo: RTP packets lost (inbound-rtp `packetsLost`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packets_lost: Option<i64>,
    /// The candidate pair used: `"host 127.0.0.1:5000 -> relay 127.0.0.1:50000"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selected_pair: Option<String>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ResultLine {
    /// An empty line for `scenario`.
    pub fn new(scenario: &str) -> Self {
        ResultLine {
            peer: "oxrtc",
            scenario: scenario.to_owned(),
            ..ResultLine::default()
        }
    }

    /// Sets bytes and seconds, and mbps from them (rounded like the other peers').
    pub fn set_rate(&mut self, bytes: u64, seconds: f64) {
        self.bytes = bytes;
        self.seconds = round(seconds, 3);
        self.mbps = if seconds > 0.0 {
            round(bytes as f64 * 8.0 / seconds / 1e6, 3)
        } else {
            0.0
        };
    }

    /// The JSON text (one line).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| {
            format!(r#"{{"peer":"oxrtc","ok":false,"error":"cannot serialise the result: {e}"}}"#)
        })
    }
}

/// `x` rounded to `digits` decimals.
pub fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_contract_shape() {
        let mut l = ResultLine::new("dc-bulk");
        l.ok = true;
        l.messages = 1024;
        l.set_rate(64 << 20, 2.0);
        l.setup_ms = Some(12.5);
        let v: serde_json::Value = serde_json::from_str(&l.to_json()).unwrap();
        assert_eq!(v["peer"], "oxrtc");
        assert_eq!(v["scenario"], "dc-bulk");
        assert_eq!(v["ok"], true);
        assert_eq!(v["bytes"], 67108864);
        assert_eq!(v["seconds"], 2.0);
        // megabits: 64 MiB * 8 / 2 s / 1e6
        assert_eq!(v["mbps"], 268.435);
        assert_eq!(v["setup_ms"], 12.5);
        assert!(v.get("error").is_none());
        assert!(!l.to_json().contains('\n'));
        let mut f = ResultLine::new("dc-echo");
        f.error = Some("boom".into());
        let v: serde_json::Value = serde_json::from_str(&f.to_json()).unwrap();
        assert_eq!(
            (v["ok"].clone(), v["error"].clone()),
            (false.into(), "boom".into())
        );
        assert!(v["setup_ms"].is_null());
    }
}
