//! Every SDP under tests/data (real offers and answers captured from Chromium, aiortc,
//! pion, werift, Janus and Firefox) parses, round-trips, and shows the facts listed here,
//! which were read off the files by hand.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use oxrtc_sdp::{
    Attribute, Direction, HashFunction, MediaKind, Protocol, SessionDescription, Setup,
    SsrcAttribute,
};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");

fn load(name: &str) -> (String, SessionDescription) {
    let text = std::fs::read_to_string(format!("{DATA}/{name}")).unwrap();
    let sd = text.parse().unwrap_or_else(|e| panic!("{name}: {e}"));
    (text, sd)
}

/// What the file says, per media section.
struct Facts {
    file: &'static str,
    bundle: &'static [&'static str],
    fingerprints: &'static [HashFunction],
    /// (kind, mid, setup, candidates, codec names in m= order or the SCTP format)
    media: &'static [(
        &'static str,
        &'static str,
        Setup,
        usize,
        &'static [&'static str],
    )],
}

use HashFunction::{Sha256, Sha384, Sha512};
use Setup::{Active, Actpass};

const DC: &[&str] = &["webrtc-datachannel"];
const AIORTC_FP: &[HashFunction] = &[Sha256, Sha384, Sha512];
const CHROME_FP: &[HashFunction] = &[Sha256];

#[rustfmt::skip]
const FACTS: &[Facts] = &[
    Facts { file: "aiortc-offer-relay.sdp", bundle: &["0"], fingerprints: AIORTC_FP, media: &[("application", "0", Actpass, 1, DC)] },
    Facts { file: "aiortc-to-aiortc.dc-echo.answer.sdp", bundle: &["0"], fingerprints: AIORTC_FP, media: &[("application", "0", Active, 1, DC)] },
    Facts { file: "aiortc-to-aiortc.dc-echo.offer.sdp", bundle: &["0"], fingerprints: AIORTC_FP, media: &[("application", "0", Actpass, 1, DC)] },
    Facts { file: "aiortc-to-aiortc.media-echo.answer.sdp", bundle: &["0", "1", "2"], fingerprints: AIORTC_FP, media: &[
        ("video", "0", Active, 1, &["VP8", "rtx"]), ("audio", "1", Active, 1, &["opus"]), ("application", "2", Active, 1, DC)] },
    Facts { file: "aiortc-to-aiortc.media-echo.offer.sdp", bundle: &["0", "1", "2"], fingerprints: AIORTC_FP, media: &[
        ("video", "0", Actpass, 1, &["VP8", "rtx"]), ("audio", "1", Actpass, 1, &["opus"]), ("application", "2", Actpass, 1, DC)] },
    Facts { file: "aiortc-to-chromium.dc-echo.answer.sdp", bundle: &["0"], fingerprints: CHROME_FP, media: &[("application", "0", Active, 1, DC)] },
    Facts { file: "aiortc-to-chromium.dc-echo.offer.sdp", bundle: &["0"], fingerprints: AIORTC_FP, media: &[("application", "0", Actpass, 1, DC)] },
    Facts { file: "aiortc-to-chromium.media-allcodecs.answer.sdp", bundle: &["0", "1", "2"], fingerprints: CHROME_FP, media: &[
        ("video", "0", Active, 1, &["VP8", "rtx", "H264", "rtx", "H264", "rtx"]),
        ("audio", "1", Active, 0, &["opus", "G722", "PCMU", "PCMA"]), ("application", "2", Active, 0, DC)] },
    Facts { file: "aiortc-to-chromium.media-allcodecs.offer.sdp", bundle: &["0", "1", "2"], fingerprints: AIORTC_FP, media: &[
        ("video", "0", Actpass, 1, &["VP8", "rtx", "H264", "rtx", "H264", "rtx"]),
        ("audio", "1", Actpass, 1, &["opus", "G722", "PCMU", "PCMA"]), ("application", "2", Actpass, 1, DC)] },
    Facts { file: "aiortc-to-chromium.media-echo.answer.sdp", bundle: &["0", "1", "2"], fingerprints: CHROME_FP, media: &[
        ("video", "0", Active, 1, &["VP8", "rtx"]), ("audio", "1", Active, 0, &["opus"]), ("application", "2", Active, 0, DC)] },
    Facts { file: "aiortc-to-chromium.media-echo.offer.sdp", bundle: &["0", "1", "2"], fingerprints: AIORTC_FP, media: &[
        ("video", "0", Actpass, 1, &["VP8", "rtx"]), ("audio", "1", Actpass, 1, &["opus"]), ("application", "2", Actpass, 1, DC)] },
    Facts { file: "chromium-to-aiortc.dc-echo.answer.sdp", bundle: &["0"], fingerprints: AIORTC_FP, media: &[("application", "0", Active, 1, DC)] },
    Facts { file: "chromium-to-aiortc.dc-echo.offer.sdp", bundle: &["0"], fingerprints: CHROME_FP, media: &[("application", "0", Actpass, 2, DC)] },
    Facts { file: "chromium-to-aiortc.media-allcodecs.answer.sdp", bundle: &["0", "1", "2"], fingerprints: AIORTC_FP, media: &[
        ("audio", "0", Active, 1, &["opus", "G722", "PCMU", "PCMA"]),
        ("video", "1", Active, 1, &["VP8", "rtx", "H264", "rtx", "H264", "rtx"]), ("application", "2", Active, 1, DC)] },
    Facts { file: "chromium-to-aiortc.media-allcodecs.offer.sdp", bundle: &["0", "1", "2"], fingerprints: CHROME_FP, media: &[
        ("audio", "0", Actpass, 2, &["opus", "red", "G722", "PCMU", "PCMA", "CN", "telephone-event", "telephone-event"]),
        ("video", "1", Actpass, 2, &["VP8", "rtx", "H264", "rtx", "H264", "rtx", "H264", "rtx", "H264", "rtx", "H264", "rtx",
            "H264", "rtx", "AV1", "rtx", "VP9", "rtx", "VP9", "rtx", "red", "rtx", "ulpfec"]),
        ("application", "2", Actpass, 2, DC)] },
    Facts { file: "chromium-to-aiortc.media-echo.answer.sdp", bundle: &["0", "1", "2"], fingerprints: AIORTC_FP, media: &[
        ("audio", "0", Active, 1, &["opus"]), ("video", "1", Active, 1, &["VP8", "rtx"]), ("application", "2", Active, 1, DC)] },
    Facts { file: "chromium-to-aiortc.media-echo.offer.sdp", bundle: &["0", "1", "2"], fingerprints: CHROME_FP, media: &[
        ("audio", "0", Actpass, 2, &["opus"]), ("video", "1", Actpass, 2, &["VP8", "rtx"]), ("application", "2", Actpass, 2, DC)] },
    Facts { file: "chromium-to-chromium.dc-echo.answer.sdp", bundle: &["0"], fingerprints: CHROME_FP, media: &[("application", "0", Active, 1, DC)] },
    Facts { file: "chromium-to-chromium.dc-echo.offer.sdp", bundle: &["0"], fingerprints: CHROME_FP, media: &[("application", "0", Actpass, 2, DC)] },
    Facts { file: "chromium-to-chromium.media-echo.answer.sdp", bundle: &["0", "1", "2"], fingerprints: CHROME_FP, media: &[
        ("audio", "0", Active, 1, &["opus"]), ("video", "1", Active, 0, &["VP8", "rtx"]), ("application", "2", Active, 0, DC)] },
    Facts { file: "chromium-to-chromium.media-echo.offer.sdp", bundle: &["0", "1", "2"], fingerprints: CHROME_FP, media: &[
        ("audio", "0", Actpass, 2, &["opus"]), ("video", "1", Actpass, 2, &["VP8", "rtx"]), ("application", "2", Actpass, 2, DC)] },
    Facts { file: "firefox-121-offer-audio-video.sdp", bundle: &["0", "1"], fingerprints: CHROME_FP, media: &[
        ("audio", "0", Actpass, 0, &["opus", "G722", "PCMU", "PCMA", "telephone-event"]),
        ("video", "1", Actpass, 0, &["VP8", "rtx", "VP9", "rtx", "H264", "rtx", "H264", "rtx"])] },
    Facts { file: "janus-answer.sdp", bundle: &["0", "1", "2"], fingerprints: CHROME_FP, media: &[
        ("video", "0", Active, 1, &["VP8"]), ("audio", "1", Active, 1, &["opus"]), ("application", "2", Active, 1, DC)] },
    Facts { file: "pion-answer-media.sdp", bundle: &["0", "1", "2"], fingerprints: CHROME_FP, media: &[
        ("video", "0", Active, 2, &["VP8"]), ("audio", "1", Active, 0, &["opus"]), ("application", "2", Active, 0, DC)] },
    Facts { file: "pion-answer.sdp", bundle: &["0"], fingerprints: CHROME_FP, media: &[("application", "0", Active, 2, DC)] },
    Facts { file: "pion-offer-media.sdp", bundle: &["0", "1", "2"], fingerprints: CHROME_FP, media: &[
        ("video", "0", Actpass, 2, &["VP8"]), ("audio", "1", Actpass, 0, &["opus"]), ("application", "2", Actpass, 0, DC)] },
    Facts { file: "pion-offer-relay.sdp", bundle: &["0"], fingerprints: CHROME_FP, media: &[("application", "0", Actpass, 2, DC)] },
    Facts { file: "pion-offer.sdp", bundle: &["0"], fingerprints: CHROME_FP, media: &[("application", "0", Actpass, 2, DC)] },
    Facts { file: "werift-answer-media.sdp", bundle: &["0", "1", "2"], fingerprints: CHROME_FP, media: &[
        ("video", "0", Active, 1, &["VP8"]), ("audio", "1", Active, 1, &["opus"]), ("application", "2", Active, 1, DC)] },
    Facts { file: "werift-answer.sdp", bundle: &["0"], fingerprints: CHROME_FP, media: &[("application", "0", Active, 1, DC)] },
    Facts { file: "werift-offer-media.sdp", bundle: &["0", "1", "2"], fingerprints: CHROME_FP, media: &[
        ("video", "0", Actpass, 1, &["VP8"]), ("audio", "1", Actpass, 1, &["opus"]), ("application", "2", Actpass, 1, DC)] },
    Facts { file: "werift-offer-relay.sdp", bundle: &["0"], fingerprints: CHROME_FP, media: &[("application", "0", Actpass, 1, DC)] },
    Facts { file: "werift-offer.sdp", bundle: &["0"], fingerprints: CHROME_FP, media: &[("application", "0", Actpass, 1, DC)] },
];

/// The input as this crate writes it back: CRLF, trailing whitespace gone, and the two
/// spellings it normalises (msid-semantic without the space, upper-case fingerprints are
/// already upper case in every capture).
fn normalised(text: &str) -> String {
    let mut out = String::new();
    for line in text.split('\n') {
        let line = line.trim_end_matches(['\r', ' ', '\t']);
        if line.is_empty() {
            continue;
        }
        out.push_str(&line.replace("a=msid-semantic: ", "a=msid-semantic:"));
        out.push_str("\r\n");
    }
    out
}

#[test]
fn every_file_is_listed() {
    let mut files: Vec<String> = std::fs::read_dir(DATA)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".sdp"))
        .collect();
    files.sort();
    let listed: Vec<&str> = FACTS.iter().map(|f| f.file).collect();
    assert_eq!(files, listed);
    assert!(files.len() >= 33);
}

#[test]
fn every_file_parses_round_trips_and_keeps_every_attribute() {
    for f in FACTS {
        let (text, sd) = load(f.file);
        let written = sd.to_string();
        let again: SessionDescription = written.parse().unwrap();
        assert_eq!(again, sd, "{}", f.file);
        assert_eq!(again.to_string(), written, "{}", f.file);
        // These stacks write RFC order already: the output is the input, normalised.
        assert_eq!(written, normalised(&text), "{}", f.file);
        let a_lines = text.lines().filter(|l| l.starts_with("a=")).count();
        let attrs =
            sd.attributes.len() + sd.media.iter().map(|m| m.attributes.len()).sum::<usize>();
        assert_eq!(attrs, a_lines, "{}", f.file);
    }
}

#[test]
fn every_file_shows_its_facts() {
    for f in FACTS {
        let (_, sd) = load(f.file);
        let bundle: Vec<_> = sd.bundle_groups().collect();
        assert_eq!(bundle.len(), 1, "{}", f.file);
        assert_eq!(bundle[0].mids, f.bundle, "{}", f.file);
        assert_eq!(sd.media.len(), f.media.len(), "{}", f.file);
        for (m, (kind, mid, setup, candidates, codecs)) in sd.media.iter().zip(f.media) {
            let ctx = format!("{} mid {mid}", f.file);
            assert_eq!(m.kind.as_str(), *kind, "{ctx}");
            assert_eq!(m.mid(), Some(*mid), "{ctx}");
            assert_eq!(sd.effective_setup(m), Some(*setup), "{ctx}");
            assert_eq!(m.candidates().count(), *candidates, "{ctx}");
            let fps: Vec<_> = sd
                .effective_fingerprints(m)
                .iter()
                .map(|f| f.hash_function.clone())
                .collect();
            assert_eq!(fps, f.fingerprints, "{ctx}");
            for fp in sd.effective_fingerprints(m) {
                assert_eq!(
                    Some(fp.fingerprint.len()),
                    fp.hash_function.digest_len(),
                    "{ctx}"
                );
            }
            let (u, p) = sd.effective_ice_credentials(m).unwrap();
            assert!(!u.is_empty() && !p.is_empty(), "{ctx}");
            if m.kind == MediaKind::Application {
                assert_eq!(m.protocol, Protocol::UdpDtlsSctp, "{ctx}");
                assert_eq!(m.formats, *codecs, "{ctx}");
                assert_eq!(m.sctp_port(), Some(5000), "{ctx}");
            } else {
                assert_eq!(m.protocol, Protocol::UdpTlsRtpSavpf, "{ctx}");
                assert!(m.rtcp_mux(), "{ctx}");
                let names: Vec<_> = m.codecs().into_iter().map(|c| c.encoding_name).collect();
                assert_eq!(names, *codecs, "{ctx}");
                assert_eq!(sd.effective_direction(m), Direction::SendRecv, "{ctx}");
                for c in m.codecs().iter().filter(|c| c.is_rtx()) {
                    let apt = c.rtx_apt().unwrap();
                    assert!(
                        m.payload_types().any(|pt| pt == apt),
                        "{ctx}: rtx apt {apt}"
                    );
                }
            }
        }
    }
}

#[test]
fn chromium_offer_details() {
    let (_, sd) = load("chromium-to-aiortc.media-echo.offer.sdp");
    assert_eq!(sd.origin.session_id, 6769928087135571481);
    assert_eq!(sd.origin.session_version, 2);
    assert!(sd.extmap_allow_mixed());
    let Some(Attribute::MsidSemantic(ms)) = sd
        .attributes
        .iter()
        .find(|a| matches!(a, Attribute::MsidSemantic(_)))
    else {
        panic!("no msid-semantic")
    };
    assert_eq!((ms.semantic.as_str(), ms.identifiers.len()), ("WMS", 1));
    let [audio, video, data] = &sd.media[..] else {
        panic!()
    };
    assert_eq!(audio.port, 43820);
    assert_eq!(audio.ice_ufrag(), Some("J15S"));
    assert_eq!(audio.ice_options().collect::<Vec<_>>(), ["trickle"]);
    assert!(audio.rtcp_rsize());
    let opus = &audio.codecs()[0];
    assert_eq!(
        (opus.payload_type, opus.clock_rate, opus.channels()),
        (111, 48000, 2)
    );
    assert_eq!(opus.fmtp_param("useinbandfec"), Some("1"));
    assert!(opus.has_feedback("transport-cc", None));
    assert_eq!(audio.extmaps().count(), 4);
    assert_eq!(video.extmaps().count(), 11);
    let vp8 = &video.codecs()[0];
    assert!(vp8.has_feedback("nack", Some("pli")) && vp8.has_feedback("ccm", Some("fir")));
    assert_eq!(vp8.feedback.len(), 5);
    assert_eq!(video.codecs()[1].rtx_apt(), Some(96));
    let fid = video.ssrc_groups().next().unwrap();
    assert_eq!(
        (fid.semantics.as_str(), &fid.ssrcs[..]),
        ("FID", &[1080807545, 2619866989][..])
    );
    assert_eq!(video.ssrcs().count(), 4);
    let msid = video.msids().next().unwrap();
    assert_eq!(
        msid.track_id.as_deref(),
        Some("e44346e5-9215-495d-859f-164052f866eb")
    );
    assert!(video
        .ssrcs()
        .any(|s| matches!(&s.attribute, SsrcAttribute::Cname(c) if c == "vhiOnZnDZ6bxG6Dr")));
    assert!(audio
        .candidates()
        .next()
        .unwrap()
        .starts_with("3711944878 1 udp 2122260223 127.0.0.1 43820 typ host"));
    assert_eq!(data.max_message_size(), Some(262144));
    assert!(sd
        .attributes
        .iter()
        .chain(&audio.attributes)
        .all(|a| !matches!(a, Attribute::Other { name, .. } if name != "rtcp-xr")));
}

#[test]
fn chromium_allcodecs_details() {
    let (_, sd) = load("chromium-to-aiortc.media-allcodecs.offer.sdp");
    let audio = &sd.media[0];
    let red = audio.codec(63).unwrap();
    assert_eq!(
        (red.encoding_name.as_str(), red.fmtp.as_deref()),
        ("red", Some("111/111"))
    );
    assert_eq!(audio.codec(126).unwrap().clock_rate, 8000);
    let video = &sd.media[1];
    assert_eq!(video.codecs().len(), 23);
    let av1 = video.codec(45).unwrap();
    assert_eq!(av1.fmtp_param("level-idx"), Some("5"));
    let h264 = video.codec(104).unwrap();
    assert_eq!(h264.fmtp_param("packetization-mode"), Some("0"));
    assert_eq!(h264.fmtp_param("profile-level-id"), Some("42001f"));
    assert!(video.codec(120).unwrap().feedback.is_empty()); // ulpfec
}

#[test]
fn firefox_offer_details() {
    let (text, sd) = load("firefox-121-offer-audio-video.sdp");
    assert!(!text.contains('\r')); // captured with LF endings
    assert_eq!(sd.origin.username, "mozilla...THIS_IS_SDPARTA-99.0");
    assert_eq!(sd.origin.session_id, 4408209549129620304);
    assert_eq!(sd.fingerprints().count(), 1);
    assert_eq!(sd.ice_options().collect::<Vec<_>>(), ["trickle"]);
    let [audio, video] = &sd.media[..] else {
        panic!()
    };
    assert_eq!(audio.direction(), Some(Direction::SendRecv));
    let csrc = audio.extmaps().find(|e| e.id == 2).unwrap();
    assert_eq!(csrc.direction, Some(Direction::RecvOnly));
    assert_eq!(csrc.uri, "urn:ietf:params:rtp-hdrext:csrc-audio-level");
    assert_eq!(audio.codec(9).unwrap().encoding_parameters, Some(1)); // G722/8000/1
    assert_eq!(audio.codec(0).unwrap().encoding_parameters, None); // PCMU/8000
    assert_eq!(audio.codec(101).unwrap().fmtp.as_deref(), Some("0-15"));
    assert_eq!(audio.codec(109).unwrap().fmtp_param("stereo"), Some("1"));
    let msid = audio.msids().next().unwrap();
    assert_eq!(msid.stream_id, "-");
    assert_eq!(video.codec(124).unwrap().rtx_apt(), Some(120));
    assert_eq!(
        video.codec(126).unwrap().fmtp_param("packetization-mode"),
        Some("1")
    );
    assert_eq!(
        video.codec(97).unwrap().fmtp_param("packetization-mode"),
        None
    );
    assert_eq!(video.codec(120).unwrap().feedback.len(), 5);
    assert!(video.codec(124).unwrap().feedback.is_empty());
    assert_eq!(
        video.ssrc_groups().next().unwrap().ssrcs,
        [7463831, 2513307155]
    );
    assert_eq!(
        sd.effective_ice_credentials(video),
        Some(("6c0579ea", "59efe498b762e472067fa5e134df8722"))
    );
}

#[test]
fn pion_details() {
    let (text, sd) = load("pion-offer-media.sdp");
    assert!(text.contains("a=rtcp-fb:96 goog-remb \r\n")); // trailing space in the capture
    let video = &sd.media[0];
    let vp8 = video.codec(96).unwrap();
    assert!(vp8.has_feedback("goog-remb", None));
    assert_eq!(vp8.feedback.len(), 7); // pion repeats nack and nack pli
    assert!(video.end_of_candidates());
    assert_eq!(
        video.candidates().filter(|c| c.contains(" 2 udp ")).count(),
        1
    );
    assert!(video.ssrcs().any(|s| matches!(&s.attribute, SsrcAttribute::Other { name, value } if name == "mslabel" && value.as_deref() == Some("lab2"))));
    assert!(video.ssrcs().any(|s| matches!(&s.attribute, SsrcAttribute::Msid(m) if m.track_id.as_deref() == Some("lab2-video"))));
    assert_eq!(sd.media[2].direction(), Some(Direction::SendRecv));
    assert_eq!(sd.media[2].max_message_size(), None);

    let (_, relay) = load("pion-offer-relay.sdp");
    assert!(relay.media[0].candidates().all(|c| c.contains("typ relay")));
}

#[test]
fn aiortc_and_janus_and_werift_details() {
    let (_, sd) = load("aiortc-to-chromium.media-echo.offer.sdp");
    let video = &sd.media[0];
    assert_eq!(video.fingerprints().count(), 3);
    assert!(video.end_of_candidates());
    assert_eq!(video.ssrcs().count(), 2);
    assert_eq!(sd.fingerprints().count(), 0);

    let (_, janus) = load("janus-answer.sdp");
    assert_eq!(janus.fingerprints().count(), 1);
    assert_eq!(janus.origin.session_version, 1795254808);
    assert!(janus.media.iter().all(|m| m.end_of_candidates()));
    assert_eq!(
        janus.media[0].msids().next().unwrap().track_id.as_deref(),
        Some("janus0")
    );
    assert_eq!(janus.media[2].direction(), Some(Direction::SendRecv));

    let (_, werift) = load("werift-offer-relay.sdp");
    let c = werift.media[0].candidates().next().unwrap();
    assert!(c.contains("typ relay raddr 127.0.0.1 rport 52828"));
}
