//! Codecs and header extensions: what we offer, in a browser-like order, and what an answer
//! keeps of an offer (JSEP RFC 8829 §5.3.1: the offerer's payload types and extension ids).

use crate::transceiver::MediaKind;
use oxrtc_rtp::codec::CodecKind;
use oxrtc_rtp::rtp::{ExtensionKind, ExtensionMap};
use oxrtc_sdp::{Codec, Extmap, RtcpFeedback};

/// The codecs offered by default, in Chromium's order of preference: Opus (48000/2, minptime,
/// in-band FEC), PCMU, PCMA and RFC 4733 telephone-event at both clock rates for audio; VP8,
/// VP9 profile 0, H.264 constrained baseline 3.1 and high 1.2 (packetization-mode 1,
/// level-asymmetry-allowed) and AV1 for video, each with its RTX (RFC 4588) and the
/// feedback libwebrtc offers (REMB, transport-cc, FIR, NACK, PLI).
pub(crate) fn default_codecs(kind: MediaKind) -> Vec<Codec> {
    let fb = |t: &str, p: Option<&str>| RtcpFeedback::new(t, p);
    match kind {
        MediaKind::Audio => vec![
            Codec::new(111, "opus", 48000, Some(2))
                .with_fmtp("minptime=10;useinbandfec=1")
                .with_feedback(fb("transport-cc", None)),
            Codec::new(0, "PCMU", 8000, None),
            Codec::new(8, "PCMA", 8000, None),
            Codec::new(110, "telephone-event", 48000, None),
            Codec::new(126, "telephone-event", 8000, None),
        ],
        MediaKind::Video => {
            let video_fb = |c: Codec| {
                c.with_feedback(fb("goog-remb", None))
                    .with_feedback(fb("transport-cc", None))
                    .with_feedback(fb("ccm", Some("fir")))
                    .with_feedback(fb("nack", None))
                    .with_feedback(fb("nack", Some("pli")))
            };
            let rtx = |pt: u8, apt: u8| {
                Codec::new(pt, "rtx", 90000, None).with_fmtp(format!("apt={apt}"))
            };
            vec![
                video_fb(Codec::new(96, "VP8", 90000, None)),
                rtx(97, 96),
                video_fb(Codec::new(98, "VP9", 90000, None)).with_fmtp("profile-id=0"),
                rtx(99, 98),
                video_fb(Codec::new(102, "H264", 90000, None)).with_fmtp(
                    "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
                ),
                rtx(103, 102),
                video_fb(Codec::new(104, "H264", 90000, None)).with_fmtp(
                    "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640c1f",
                ),
                rtx(105, 104),
                video_fb(Codec::new(45, "AV1", 90000, None))
                    .with_fmtp("level-idx=5;profile=0;tier=0"),
                rtx(46, 45),
            ]
        }
    }
}

/// The header extensions offered by default, with libwebrtc's ids: audio level, abs-send-time,
/// transport-wide-cc and mid for audio; abs-send-time, transport-wide-cc, mid, rid,
/// repaired-rid and the AV1 dependency descriptor for video (forwarded untouched).
pub(crate) fn default_extensions(kind: MediaKind) -> Vec<Extmap> {
    let e = |id: u16, k: ExtensionKind| Extmap::new(id, k.uri());
    match kind {
        MediaKind::Audio => vec![
            e(1, ExtensionKind::AudioLevel),
            e(2, ExtensionKind::AbsSendTime),
            e(3, ExtensionKind::TransportSequenceNumber),
            e(4, ExtensionKind::Mid),
        ],
        MediaKind::Video => vec![
            e(2, ExtensionKind::AbsSendTime),
            e(3, ExtensionKind::TransportSequenceNumber),
            e(4, ExtensionKind::Mid),
            e(10, ExtensionKind::RtpStreamId),
            e(11, ExtensionKind::RepairedRtpStreamId),
            e(12, ExtensionKind::DependencyDescriptor),
        ],
    }
}

/// Whether `c` carries media (not RTX, DTMF, comfort noise, RED or FEC).
pub(crate) fn is_media_codec(c: &Codec) -> bool {
    CodecKind::from_encoding_name(&c.encoding_name).is_some()
}

/// Whether `c` is RFC 4733 `telephone-event`.
pub(crate) fn is_telephone_event(c: &Codec) -> bool {
    c.encoding_name.eq_ignore_ascii_case("telephone-event")
}

/// Codecs of an offer we can take, keeping the offer's payload types and order (JSEP RFC
/// 8829 §5.3.1): matched by name, clock rate, channels and the format parameters that
/// change the bitstream (H.264 profile and packetization mode, VP9 and AV1 profile); the
/// feedback both sides list; RTX kept when its `apt` codec is kept, telephone-event when
/// an audio codec of its clock rate is.
pub(crate) fn intersect_codecs(ours: &[Codec], offered: &[Codec]) -> Vec<Codec> {
    let mut out: Vec<Codec> = Vec::new();
    for c in offered {
        if c.is_rtx() || is_telephone_event(c) {
            continue;
        }
        let Some(mine) = ours.iter().find(|o| codec_matches(o, c)) else {
            continue;
        };
        let mut chosen = c.clone();
        chosen.feedback.retain(|f| mine.feedback.contains(f));
        out.push(chosen);
    }
    let kept: Vec<(u8, u32)> = out.iter().map(|c| (c.payload_type, c.clock_rate)).collect();
    let dtmf_ok = ours.iter().any(is_telephone_event);
    for c in offered {
        let keep = if c.is_rtx() {
            ours.iter().any(Codec::is_rtx)
                && c.rtx_apt()
                    .is_some_and(|apt| kept.iter().any(|(pt, _)| *pt == apt))
        } else if is_telephone_event(c) {
            dtmf_ok
                && ours
                    .iter()
                    .any(|o| is_telephone_event(o) && o.clock_rate == c.clock_rate)
                && kept.iter().any(|(_, rate)| *rate == c.clock_rate)
        } else {
            false
        };
        if keep {
            out.push(c.clone());
        }
    }
    out
}

/// Codec preferences from a caller's list (W3C `setCodecPreferences`): each entry matched
/// against `capabilities` (our payload types kept); RTX entries keep the RTX of each kept
/// codec, telephone-event entries those of a matching clock rate.
///
/// Returns `None` when an entry matches no capability (W3C `InvalidModificationError`).
pub(crate) fn preferences(capabilities: &[Codec], wanted: &[Codec]) -> Option<Vec<Codec>> {
    let mut out: Vec<Codec> = Vec::new();
    for w in wanted
        .iter()
        .filter(|w| !w.is_rtx() && !is_telephone_event(w))
    {
        let c = capabilities.iter().find(|c| codec_matches(c, w))?;
        if !out.contains(c) {
            out.push(c.clone());
        }
    }
    if wanted.iter().any(Codec::is_rtx) {
        let kept: Vec<u8> = out.iter().map(|c| c.payload_type).collect();
        let rtx: Vec<Codec> = capabilities
            .iter()
            .filter(|c| c.is_rtx() && c.rtx_apt().is_some_and(|a| kept.contains(&a)))
            .cloned()
            .collect();
        out.extend(rtx);
    }
    for w in wanted.iter().filter(|w| is_telephone_event(w)) {
        let c = capabilities
            .iter()
            .find(|c| is_telephone_event(c) && c.clock_rate == w.clock_rate)?;
        if !out.contains(c) {
            out.push(c.clone());
        }
    }
    Some(out)
}

/// Whether two codecs are the same format (see [`intersect_codecs`]).
pub(crate) fn codec_matches(a: &Codec, b: &Codec) -> bool {
    if !a.encoding_name.eq_ignore_ascii_case(&b.encoding_name) || a.clock_rate != b.clock_rate {
        return false;
    }
    if a.channels() != b.channels() {
        return false;
    }
    let param =
        |c: &Codec, k: &str, default: &str| c.fmtp_param(k).unwrap_or(default).to_ascii_lowercase();
    if a.encoding_name.eq_ignore_ascii_case("h264") {
        let profile = |c: &Codec| {
            let p = param(c, "profile-level-id", "42001f");
            p.get(..4).map(str::to_owned).unwrap_or(p)
        };
        return profile(a) == profile(b)
            && param(a, "packetization-mode", "0") == param(b, "packetization-mode", "0");
    }
    if a.encoding_name.eq_ignore_ascii_case("vp9") {
        return param(a, "profile-id", "0") == param(b, "profile-id", "0");
    }
    if a.encoding_name.eq_ignore_ascii_case("av1") {
        return param(a, "profile", "0") == param(b, "profile", "0");
    }
    true
}

/// Header extensions of an offer we take: those whose URI we offer for this kind, with the
/// offer's ids (RFC 8285 §6).
pub(crate) fn intersect_extensions(ours: &[Extmap], offered: &[Extmap]) -> Vec<Extmap> {
    offered
        .iter()
        .filter(|o| ours.iter().any(|e| e.uri == o.uri))
        .map(|o| Extmap::new(o.id, o.uri.clone()))
        .collect()
}

/// The RTP extension id map of an m-section's `a=extmap` lines (ids 1–255).
pub(crate) fn extension_map<'a>(extmaps: impl IntoIterator<Item = &'a Extmap>) -> ExtensionMap {
    let mut map = ExtensionMap::new();
    for e in extmaps {
        if let Ok(id) = u8::try_from(e.id) {
            if id != 0 {
                map.insert_uri(id, &e.uri);
            }
        }
    }
    map
}

/// The payload format of a codec, if this stack packetizes it.
pub(crate) fn codec_kind(c: &Codec) -> Option<CodecKind> {
    CodecKind::from_encoding_name(&c.encoding_name)
}

/// The W3C `mimeType` of a codec: `audio/opus`, `video/VP8`...
pub(crate) fn mime_type(kind: MediaKind, c: &Codec) -> String {
    let k = match kind {
        MediaKind::Audio => "audio",
        MediaKind::Video => "video",
    };
    format!("{k}/{}", c.encoding_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codec_intersection_keeps_offered_payload_types() {
        let offered = vec![
            Codec::new(100, "VP8", 90000, None),
            Codec::new(101, "rtx", 90000, None).with_fmtp("apt=100"),
            Codec::new(45, "AV1", 90000, None),
            Codec::new(46, "rtx", 90000, None).with_fmtp("apt=45"),
            Codec::new(127, "H264", 90000, None)
                .with_fmtp("profile-level-id=42e01f;packetization-mode=1"),
            Codec::new(125, "H264", 90000, None)
                .with_fmtp("profile-level-id=42e01f;packetization-mode=0"),
            Codec::new(98, "VP9", 90000, None).with_fmtp("profile-id=2"),
            Codec::new(118, "red", 90000, None),
        ];
        let got = intersect_codecs(&default_codecs(MediaKind::Video), &offered);
        let pts: Vec<u8> = got.iter().map(|c| c.payload_type).collect();
        assert_eq!(pts, [100, 45, 127, 101, 46]);
    }

    #[test]
    fn telephone_event_follows_its_clock_rate() {
        let offered = vec![
            Codec::new(111, "opus", 48000, Some(2)),
            Codec::new(9, "G722", 8000, None),
            Codec::new(110, "telephone-event", 48000, None),
            Codec::new(126, "telephone-event", 8000, None),
        ];
        let got = intersect_codecs(&default_codecs(MediaKind::Audio), &offered);
        let pts: Vec<u8> = got.iter().map(|c| c.payload_type).collect();
        assert_eq!(pts, [111, 110], "no 8 kHz codec kept, so no 8 kHz events");
    }

    #[test]
    fn preferences_match_capabilities() {
        let caps = default_codecs(MediaKind::Video);
        let vp8 = preferences(
            &caps,
            &[
                Codec::new(0, "vp8", 90000, None),
                Codec::new(0, "rtx", 90000, None),
            ],
        )
        .unwrap();
        let pts: Vec<u8> = vp8.iter().map(|c| c.payload_type).collect();
        assert_eq!(pts, [96, 97]);
        assert!(preferences(&caps, &[Codec::new(0, "H263", 90000, None)]).is_none());
    }
}
