//! JSEP negotiation against real SDPs and between two oxrtc peers (no transport needed).
#![allow(clippy::unwrap_used)]

use oxrtc::sdp::{Attribute, MediaKind as SdpKind, Protocol, SessionDescription, Setup};
use oxrtc::{
    Config, DataChannelInit, Direction, Error, Event, MediaKind, OfferOptions, PeerConnection,
    RtcSessionDescription, SdpType, SignalingState, TransceiverInit,
};
use rand_chacha::rand_core::SeedableRng;
use std::time::Instant;

fn pc(seed: u64) -> PeerConnection {
    PeerConnection::with_rng(
        Config::default(),
        Instant::now(),
        rand_chacha::ChaCha20Rng::seed_from_u64(seed),
    )
    .unwrap()
}

fn data(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn events(pc: &mut PeerConnection) -> Vec<Event> {
    std::iter::from_fn(|| pc.poll_event()).collect()
}

fn parse(d: &RtcSessionDescription) -> SessionDescription {
    d.sdp.parse().unwrap()
}

fn attr_names(m: &oxrtc::sdp::MediaDescription) -> Vec<String> {
    let mut v: Vec<String> = m
        .attributes
        .iter()
        .map(|a| a.name().to_owned())
        .filter(|n| n != "candidate" && n != "end-of-candidates")
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Answers a captured offer and checks the answer's shape.
fn answer_offer(file: &str) -> (PeerConnection, SessionDescription, SessionDescription) {
    let offer_sdp = data(file);
    let offer: SessionDescription = offer_sdp.parse().unwrap();
    let mut b = pc(2);
    b.set_remote_description(RtcSessionDescription::offer(offer_sdp))
        .unwrap();
    assert_eq!(b.signaling_state(), SignalingState::HaveRemoteOffer);
    let answer = b.create_answer().unwrap();
    assert_eq!(answer.sdp_type, SdpType::Answer);
    let sd = parse(&answer);
    assert_eq!(sd.media.len(), offer.media.len(), "{file}");
    for (o, a) in offer.media.iter().zip(&sd.media) {
        assert_eq!(o.kind, a.kind);
        assert_eq!(o.mid(), a.mid());
    }
    b.set_local_description(Some(answer)).unwrap();
    assert_eq!(b.signaling_state(), SignalingState::Stable);
    assert!(b.current_local_description().is_some());
    assert!(b.current_remote_description().is_some());
    assert!(b.pending_remote_description().is_none());
    (b, offer, sd)
}

fn check_data_answer(sd: &SessionDescription, mid: &str, max: u64) {
    let m = sd.media_by_mid(mid).unwrap();
    assert_eq!(m.kind, SdpKind::Application);
    assert_eq!(m.protocol, Protocol::UdpDtlsSctp);
    assert_eq!(m.formats, ["webrtc-datachannel"]);
    assert_eq!(m.sctp_port(), Some(5000));
    assert_eq!(m.max_message_size(), Some(max));
    assert_eq!(sd.effective_setup(m), Some(Setup::Active));
    let (u, p) = sd.effective_ice_credentials(m).unwrap();
    assert!(u.len() >= 4 && p.len() >= 22);
    let fps = sd.effective_fingerprints(m);
    assert_eq!(fps.len(), 1);
    assert_eq!(fps[0].hash_function.as_str(), "sha-256");
    assert!(m.ice_options().any(|o| o == "trickle"));
}

#[test]
fn answers_chromium_data_channel_offer() {
    let (b, _offer, sd) = answer_offer("chromium-to-aiortc.dc-echo.offer.sdp");
    assert_eq!(sd.bundle_groups().next().unwrap().mids, ["0"]);
    check_data_answer(&sd, "0", 262144);
    assert_eq!(b.remote_max_message_size(), 262144);
    assert_eq!(b.sctp_mid(), Some("0"));
}

#[test]
fn answers_aiortc_data_channel_offer() {
    // aiortc: three fingerprints, candidates and end-of-candidates in the section.
    let (b, _offer, sd) = answer_offer("aiortc-to-chromium.dc-echo.offer.sdp");
    check_data_answer(&sd, "0", 262144);
    let remote = b.remote_description().unwrap();
    assert!(remote.sdp.contains("a=end-of-candidates"));
}

#[test]
fn answers_pion_and_werift_offers() {
    let (b, _, sd) = answer_offer("pion-offer.sdp");
    check_data_answer(&sd, "0", 262144);
    // pion sends no a=max-message-size: RFC 8841 says 64 KiB then.
    assert_eq!(b.remote_max_message_size(), 65536);
    let (_, _, sd) = answer_offer("werift-offer.sdp");
    check_data_answer(&sd, sd.media[0].mid().unwrap(), 262144);
}

#[test]
fn answers_chromium_media_offer() {
    let (b, offer, sd) = answer_offer("chromium-to-aiortc.media-echo.offer.sdp");
    assert_eq!(sd.bundle_groups().next().unwrap().mids, ["0", "1", "2"]);
    // The remote offer created two recvonly transceivers.
    let ts: Vec<_> = b.transceivers().collect();
    assert_eq!(ts.len(), 2);
    assert_eq!(ts[0].kind(), MediaKind::Audio);
    assert_eq!(ts[0].mid(), Some("0"));
    assert_eq!(ts[1].kind(), MediaKind::Video);
    assert_eq!(ts[0].current_direction(), Some(Direction::RecvOnly));
    let audio = &sd.media[0];
    assert_eq!(audio.protocol, Protocol::UdpTlsRtpSavpf);
    assert_eq!(
        sd.effective_direction(audio),
        oxrtc::sdp::Direction::RecvOnly
    );
    assert!(audio.rtcp_mux());
    // The offer's payload types are kept.
    let offered_opus = offer.media[0]
        .codecs()
        .into_iter()
        .find(|c| c.encoding_name == "opus")
        .unwrap();
    assert_eq!(audio.codecs()[0].payload_type, offered_opus.payload_type);
    let video = &sd.media[1];
    let names: Vec<String> = video
        .codecs()
        .iter()
        .map(|c| c.encoding_name.clone())
        .collect();
    assert!(names.contains(&"VP8".to_owned()), "{names:?}");
    check_data_answer(&sd, "2", 262144);
}

#[test]
fn answers_chromium_allcodecs_and_aiortc_media_offers() {
    let (_, _, sd) = answer_offer("chromium-to-aiortc.media-allcodecs.offer.sdp");
    let video = sd.media.iter().find(|m| m.kind == SdpKind::Video).unwrap();
    let codecs = video.codecs();
    assert!(codecs.iter().any(|c| c.encoding_name == "H264"));
    // Every RTX kept points at a kept codec.
    for c in codecs.iter().filter(|c| c.encoding_name == "rtx") {
        let apt: u8 = c.fmtp_param("apt").unwrap().parse().unwrap();
        assert!(codecs.iter().any(|k| k.payload_type == apt));
    }
    // Exactly what a browser-like answerer keeps: the offer's payload types, in its order,
    // for the codecs we have (H.264 constrained baseline 42e01f matches, baseline 42001f
    // and main 4d001f do not; VP9 profile 2 does not), RTX of each kept codec, and
    // telephone-event at the clock rates of kept audio codecs.
    let pts = |m: &oxrtc::sdp::MediaDescription| -> Vec<u8> {
        m.codecs().iter().map(|c| c.payload_type).collect()
    };
    let audio = sd.media.iter().find(|m| m.kind == SdpKind::Audio).unwrap();
    assert_eq!(pts(audio), [111, 0, 8, 110, 126]);
    assert_eq!(pts(video), [96, 108, 45, 98, 97, 109, 46, 99]);
    // Feedback both sides have; header extensions we know, with the offer's ids.
    let vp8 = &video.codecs()[0];
    assert!(vp8.has_feedback("nack", Some("pli")) && vp8.has_feedback("transport-cc", None));
    let ids = |m: &oxrtc::sdp::MediaDescription| -> Vec<(u16, String)> {
        m.extmaps().map(|e| (e.id, e.uri.clone())).collect()
    };
    let uri = |u: &str| u.to_owned();
    assert_eq!(
        ids(audio),
        [
            (1, uri("urn:ietf:params:rtp-hdrext:ssrc-audio-level")),
            (
                2,
                uri("http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time")
            ),
            (
                3,
                uri("http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01")
            ),
            (4, uri("urn:ietf:params:rtp-hdrext:sdes:mid")),
        ]
    );
    let vids: Vec<u16> = ids(video).iter().map(|x| x.0).collect();
    assert_eq!(vids, [2, 3, 4, 10, 11]);
    let (b, _, sd) = answer_offer("aiortc-to-chromium.media-echo.offer.sdp");
    assert_eq!(sd.media[0].kind, SdpKind::Video);
    assert_eq!(b.transceivers().next().unwrap().kind(), MediaKind::Video);
}

#[test]
fn media_offer_has_chromiums_shape() {
    use oxrtc::MediaStreamTrack;
    let mut a = pc(3);
    a.add_track(MediaStreamTrack::new(MediaKind::Audio, "mic"), &["s"])
        .unwrap();
    a.add_track(MediaStreamTrack::new(MediaKind::Video, "cam"), &["s"])
        .unwrap();
    let offer = a.create_offer(OfferOptions::default()).unwrap();
    let sd = parse(&offer);
    let chromium: SessionDescription = data("chromium-to-aiortc.media-echo.offer.sdp")
        .parse()
        .unwrap();
    for (m, cm) in sd.media.iter().zip(&chromium.media) {
        assert_eq!((&m.kind, &m.protocol), (&cm.kind, &cm.protocol));
        // Our attribute kinds are all ones Chromium writes (it writes some more).
        let ours = attr_names(m);
        let theirs = attr_names(cm);
        let mut it = theirs.iter();
        for name in &ours {
            assert!(
                it.any(|t| t == name),
                "{name} is not a Chromium attribute: ours {ours:?}, Chromium's {theirs:?}"
            );
        }
        // msid and the SSRC with its CNAME and FID group for video.
        assert_eq!(m.msids().next().unwrap().stream_id, "s");
        assert!(m.ssrcs().count() >= 2);
    }
    let video = &sd.media[1];
    let pts: Vec<u8> = video.codecs().iter().map(|c| c.payload_type).collect();
    assert_eq!(pts, [96, 97, 98, 99, 102, 103, 104, 105, 45, 46]);
    let names: Vec<String> = video
        .codecs()
        .iter()
        .map(|c| c.encoding_name.clone())
        .collect();
    assert_eq!(&names[..4], ["VP8", "rtx", "VP9", "rtx"]);
    assert_eq!(video.ssrc_groups().next().unwrap().semantics, "FID");
    let audio = &sd.media[0];
    assert_eq!(
        audio.codecs()[0].fmtp.as_deref(),
        Some("minptime=10;useinbandfec=1")
    );
}

#[test]
fn offer_has_the_shape_chromium_expects() {
    let mut a = pc(1);
    let dc = a
        .create_data_channel("chat", DataChannelInit::default())
        .unwrap();
    assert_eq!(dc.as_u64(), 0);
    assert!(events(&mut a).contains(&Event::NegotiationNeeded));
    let offer = a.create_offer(OfferOptions::default()).unwrap();
    assert_eq!(offer.sdp_type, SdpType::Offer);
    let sd = parse(&offer);
    let chromium: SessionDescription = data("chromium-to-aiortc.dc-echo.offer.sdp")
        .parse()
        .unwrap();
    assert!(sd.origin.session_id < (1 << 63));
    assert_eq!(sd.bundle_groups().next().unwrap().mids, ["0"]);
    assert_eq!(sd.media.len(), 1);
    let (m, cm) = (&sd.media[0], &chromium.media[0]);
    assert_eq!(
        (&m.kind, &m.protocol, &m.formats),
        (&cm.kind, &cm.protocol, &cm.formats)
    );
    assert_eq!(attr_names(m), attr_names(cm));
    assert_eq!(m.setup(), Some(Setup::Actpass));
    assert_eq!(m.mid(), Some("0"));
    assert_eq!(m.max_message_size(), Some(262144));
    assert_eq!(
        m.fingerprints().next().unwrap().to_string(),
        a.fingerprint().to_string()
    );
    // Session-level lines Chromium writes.
    assert!(sd.extmap_allow_mixed());
    assert!(offer.sdp.starts_with("v=0\r\no=- "));
    assert!(offer.sdp.contains("\r\ns=-\r\nt=0 0\r\n"));
}

#[test]
fn two_oxrtc_peers_negotiate_data_and_media() {
    let (mut a, mut b) = (pc(1), pc(2));
    let t = a
        .add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    a.create_data_channel("x", DataChannelInit::default())
        .unwrap();
    a.set_local_description(None).unwrap(); // implicit offer
    assert_eq!(a.signaling_state(), SignalingState::HaveLocalOffer);
    assert_eq!(a.transceiver(t).unwrap().mid(), Some("0"));
    assert_eq!(a.sctp_mid(), Some("1"));
    let offer = a.local_description().unwrap();
    assert!(a.pending_local_description().is_some());
    assert!(a.current_local_description().is_none());
    b.set_remote_description(offer).unwrap();
    b.set_local_description(None).unwrap(); // implicit answer
    assert_eq!(b.signaling_state(), SignalingState::Stable);
    let answer = b.local_description().unwrap();
    assert_eq!(answer.sdp_type, SdpType::Answer);
    a.set_remote_description(answer).unwrap();
    assert_eq!(a.signaling_state(), SignalingState::Stable);
    // b's transceiver was created recvonly: a sends only.
    assert_eq!(
        a.transceiver(t).unwrap().current_direction(),
        Some(Direction::SendOnly)
    );
    let bt = b.transceivers().next().unwrap();
    assert_eq!(bt.current_direction(), Some(Direction::RecvOnly));
    assert_eq!(bt.mid(), Some("0"));
    assert!(!a.is_negotiation_needed());
    let ev = events(&mut a);
    assert!(ev.contains(&Event::SignalingStateChange(SignalingState::HaveLocalOffer)));
    assert!(ev.contains(&Event::SignalingStateChange(SignalingState::Stable)));

    // b wants to send too: negotiation needed, a renegotiation keeps mids and order.
    events(&mut b);
    b.set_transceiver_direction(bt_id(&b), Direction::SendRecv)
        .unwrap();
    assert_eq!(events(&mut b), [Event::NegotiationNeeded]);
    let offer2 = b.create_offer(OfferOptions::default()).unwrap();
    let sd2 = parse(&offer2);
    let mids: Vec<_> = sd2
        .media
        .iter()
        .map(|m| m.mid().unwrap().to_owned())
        .collect();
    assert_eq!(mids, ["0", "1"]);
    b.set_local_description(Some(offer2.clone())).unwrap();
    a.set_remote_description(offer2).unwrap();
    let answer2 = a.create_answer().unwrap();
    // Renegotiation keeps a's DTLS role: it answered actpass with... it was the offerer
    // (passive side of b's active), so it now answers passive.
    assert_eq!(parse(&answer2).media[0].setup(), Some(Setup::Passive));
    a.set_local_description(Some(answer2.clone())).unwrap();
    b.set_remote_description(answer2).unwrap();
    assert_eq!(
        a.transceiver(t).unwrap().current_direction(),
        Some(Direction::SendRecv)
    );
    assert!(!b.is_negotiation_needed());
}

fn bt_id(b: &PeerConnection) -> oxrtc::TransceiverId {
    b.transceivers().next().unwrap().id()
}

#[test]
fn stopped_transceiver_is_rejected_in_the_next_offer() {
    let (mut a, mut b) = (pc(1), pc(2));
    let t0 = a
        .add_transceiver(MediaKind::Video, TransceiverInit::default())
        .unwrap();
    let _t1 = a
        .add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    negotiate(&mut a, &mut b);
    a.stop_transceiver(t0).unwrap();
    assert!(a.is_negotiation_needed());
    let offer = a.create_offer(OfferOptions::default()).unwrap();
    let sd = parse(&offer);
    assert_eq!(sd.media[0].port, 0);
    assert_eq!(sd.media[0].mid(), Some("0"));
    assert_eq!(sd.bundle_groups().next().unwrap().mids, ["1"]);
    a.set_local_description(Some(offer.clone())).unwrap();
    b.set_remote_description(offer).unwrap();
    let answer = b.create_answer().unwrap();
    assert_eq!(parse(&answer).media[0].port, 0);
    b.set_local_description(Some(answer.clone())).unwrap();
    a.set_remote_description(answer).unwrap();
    assert!(a.transceiver(t0).unwrap().stopped());
    assert_eq!(
        a.transceiver(t0).unwrap().current_direction(),
        Some(Direction::Stopped)
    );
    assert!(!a.is_negotiation_needed());
}

fn negotiate(a: &mut PeerConnection, b: &mut PeerConnection) {
    a.set_local_description(None).unwrap();
    b.set_remote_description(a.local_description().unwrap())
        .unwrap();
    b.set_local_description(None).unwrap();
    a.set_remote_description(b.local_description().unwrap())
        .unwrap();
    assert_eq!(a.signaling_state(), SignalingState::Stable);
    assert_eq!(b.signaling_state(), SignalingState::Stable);
}

#[test]
fn rollback_of_a_local_offer() {
    let mut a = pc(1);
    let t = a
        .add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    assert_eq!(events(&mut a), [Event::NegotiationNeeded]);
    a.set_local_description(None).unwrap();
    assert_eq!(a.transceiver(t).unwrap().mid(), Some("0"));
    a.set_local_description(Some(RtcSessionDescription::rollback()))
        .unwrap();
    assert_eq!(a.signaling_state(), SignalingState::Stable);
    assert!(a.local_description().is_none());
    assert_eq!(a.transceiver(t).unwrap().mid(), None);
    // Still needed; W3C fires the event again after returning to stable.
    assert!(a.is_negotiation_needed());
    // Rollback in stable is an InvalidState error.
    assert!(matches!(
        a.set_local_description(Some(RtcSessionDescription::rollback())),
        Err(Error::InvalidState(_))
    ));
}

#[test]
fn rollback_of_a_remote_offer_removes_its_transceivers() {
    let mut b = pc(2);
    b.set_remote_description(RtcSessionDescription::offer(data(
        "chromium-to-aiortc.media-echo.offer.sdp",
    )))
    .unwrap();
    assert_eq!(b.transceivers().count(), 2);
    assert_eq!(b.sctp_mid(), Some("2"));
    b.set_remote_description(RtcSessionDescription::rollback())
        .unwrap();
    assert_eq!(b.signaling_state(), SignalingState::Stable);
    assert_eq!(b.transceivers().count(), 0);
    assert_eq!(b.sctp_mid(), None);
    assert!(b.remote_description().is_none());
    // And the same offer can be applied again.
    b.set_remote_description(RtcSessionDescription::offer(data(
        "chromium-to-aiortc.media-echo.offer.sdp",
    )))
    .unwrap();
    b.set_local_description(None).unwrap();
    assert_eq!(b.signaling_state(), SignalingState::Stable);
}

#[test]
fn glare_remote_offer_rolls_back_the_local_one() {
    let (mut a, mut b) = (pc(1), pc(2));
    a.create_data_channel("a", DataChannelInit::default())
        .unwrap();
    b.create_data_channel("b", DataChannelInit::default())
        .unwrap();
    a.set_local_description(None).unwrap();
    b.set_local_description(None).unwrap();
    // a is polite: b's offer rolls a's back implicitly.
    a.set_remote_description(b.local_description().unwrap())
        .unwrap();
    assert_eq!(a.signaling_state(), SignalingState::HaveRemoteOffer);
    a.set_local_description(None).unwrap();
    b.set_remote_description(a.local_description().unwrap())
        .unwrap();
    assert_eq!(a.signaling_state(), SignalingState::Stable);
    assert_eq!(b.signaling_state(), SignalingState::Stable);
    assert_eq!(a.sctp_mid(), Some("0"));
    // Both channels ride on the one negotiated association: nothing more to negotiate.
    assert!(!a.is_negotiation_needed());
    assert!(!b.is_negotiation_needed());
}

#[test]
fn impolite_peer_answering_own_offer_is_invalid_state() {
    let (mut a, mut b) = (pc(1), pc(2));
    a.create_data_channel("a", DataChannelInit::default())
        .unwrap();
    a.set_local_description(None).unwrap();
    b.create_data_channel("b", DataChannelInit::default())
        .unwrap();
    b.set_local_description(None).unwrap();
    let a_offer = a.local_description().unwrap();
    // An answer in have-local-offer is fine; a local answer is not.
    assert!(matches!(
        a.set_local_description(Some(RtcSessionDescription::answer(a_offer.sdp.clone()))),
        Err(Error::InvalidState(_))
    ));
    // A remote answer in stable is not either.
    let mut c = pc(3);
    assert!(matches!(
        c.set_remote_description(RtcSessionDescription::answer(a_offer.sdp)),
        Err(Error::InvalidState(_))
    ));
}

#[test]
fn munged_sdp_is_refused() {
    let mut a = pc(1);
    a.create_data_channel("a", DataChannelInit::default())
        .unwrap();
    let offer = a.create_offer(OfferOptions::default()).unwrap();
    let munged = RtcSessionDescription::offer(
        offer
            .sdp
            .replace("a=max-message-size:262144", "a=max-message-size:1"),
    );
    assert!(matches!(
        a.set_local_description(Some(munged)),
        Err(Error::InvalidModification(_))
    ));
    // An empty SDP means "the last created offer".
    a.set_local_description(Some(RtcSessionDescription::offer("")))
        .unwrap();
    // (With no socket, gathering completed at once: the description says so.)
    let local = a.local_description().unwrap().sdp;
    assert!(local.contains("a=end-of-candidates\r\n"));
    assert_eq!(local.replace("a=end-of-candidates\r\n", ""), offer.sdp);
}

#[test]
fn pranswer_then_answer() {
    let (mut a, mut b) = (pc(1), pc(2));
    a.create_data_channel("a", DataChannelInit::default())
        .unwrap();
    a.set_local_description(None).unwrap();
    b.set_remote_description(a.local_description().unwrap())
        .unwrap();
    let ans = b.create_answer().unwrap();
    let pr = RtcSessionDescription::pranswer(ans.sdp.clone());
    b.set_local_description(Some(pr.clone())).unwrap();
    assert_eq!(b.signaling_state(), SignalingState::HaveLocalPranswer);
    a.set_remote_description(pr).unwrap();
    assert_eq!(a.signaling_state(), SignalingState::HaveRemotePranswer);
    b.set_local_description(Some(ans.clone())).unwrap();
    a.set_remote_description(ans).unwrap();
    assert_eq!(a.signaling_state(), SignalingState::Stable);
    assert_eq!(b.signaling_state(), SignalingState::Stable);
}

#[test]
fn ice_restart_changes_credentials_on_both_sides() {
    let (mut a, mut b) = (pc(1), pc(2));
    a.create_data_channel("a", DataChannelInit::default())
        .unwrap();
    negotiate(&mut a, &mut b);
    let creds = |d: RtcSessionDescription| {
        let sd = parse(&d);
        let m = sd.media[0].clone();
        let (u, p) = sd.effective_ice_credentials(&m).unwrap();
        (u.to_owned(), p.to_owned())
    };
    let a1 = creds(a.local_description().unwrap());
    let b1 = creds(b.local_description().unwrap());
    events(&mut a);
    a.restart_ice().unwrap();
    assert_eq!(events(&mut a), [Event::NegotiationNeeded]);
    negotiate(&mut a, &mut b);
    let a2 = creds(a.local_description().unwrap());
    let b2 = creds(b.local_description().unwrap());
    assert_ne!(a1, a2);
    assert_ne!(b1, b2);
    assert!(!a.is_negotiation_needed());
    // Without a restart the credentials stay.
    a.create_data_channel("b", DataChannelInit::default())
        .unwrap();
    let offer = a.create_offer(OfferOptions::default()).unwrap();
    assert_eq!(creds(offer), a2);
    let offer = a.create_offer(OfferOptions { ice_restart: true }).unwrap();
    assert_ne!(creds(offer), a2);
}

#[test]
fn closed_peer_connection_rejects_calls() {
    let mut a = pc(1);
    let ch = a
        .create_data_channel("a", DataChannelInit::default())
        .unwrap();
    a.close();
    a.close(); // idempotent
    assert_eq!(a.signaling_state(), SignalingState::Closed);
    assert_eq!(a.connection_state(), oxrtc::PeerConnectionState::Closed);
    assert_eq!(a.ice_connection_state(), oxrtc::IceConnectionState::Closed);
    assert_eq!(a.create_offer(OfferOptions::default()), Err(Error::Closed));
    assert_eq!(a.create_answer(), Err(Error::Closed));
    assert_eq!(a.set_local_description(None), Err(Error::Closed));
    assert_eq!(
        a.set_remote_description(RtcSessionDescription::offer(data("pion-offer.sdp"))),
        Err(Error::Closed)
    );
    assert_eq!(a.add_ice_candidate(None), Err(Error::Closed));
    assert_eq!(a.restart_ice(), Err(Error::Closed));
    assert_eq!(
        a.create_data_channel("b", DataChannelInit::default()),
        Err(Error::Closed)
    );
    assert_eq!(
        a.add_transceiver(MediaKind::Audio, TransceiverInit::default()),
        Err(Error::Closed)
    );
    let mut c = a.channel(ch).unwrap();
    assert_eq!(c.ready_state(), oxrtc::DataChannelState::Closed);
    assert_eq!(c.send(&b"x"[..]), Err(Error::Closed));
    assert!(a.poll_timeout().is_none());
    assert!(a.poll_event().is_none());
}

#[test]
fn bad_remote_descriptions() {
    let mut b = pc(2);
    assert!(matches!(
        b.set_remote_description(RtcSessionDescription::offer("not sdp")),
        Err(Error::Sdp(_))
    ));
    let offer = data("chromium-to-aiortc.dc-echo.offer.sdp");
    let no_fp: String = offer
        .lines()
        .filter(|l| !l.starts_with("a=fingerprint"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    assert!(matches!(
        b.set_remote_description(RtcSessionDescription::offer(no_fp)),
        Err(Error::InvalidDescription(_))
    ));
    let no_ice: String = offer
        .lines()
        .filter(|l| !l.starts_with("a=ice-pwd"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    assert!(matches!(
        b.set_remote_description(RtcSessionDescription::offer(no_ice)),
        Err(Error::InvalidDescription(_))
    ));
    assert_eq!(b.signaling_state(), SignalingState::Stable);
    // An answer whose m-sections do not match the offer.
    let mut a = pc(1);
    a.create_data_channel("a", DataChannelInit::default())
        .unwrap();
    a.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    a.set_local_description(None).unwrap();
    let wrong = data("chromium-to-aiortc.dc-echo.offer.sdp").replace("actpass", "active");
    assert!(matches!(
        a.set_remote_description(RtcSessionDescription::answer(wrong)),
        Err(Error::InvalidDescription(_))
    ));
    assert_eq!(a.signaling_state(), SignalingState::HaveLocalOffer);
}

#[test]
fn add_ice_candidate_rules() {
    let mut b = pc(2);
    let cand = oxrtc::IceCandidateInit {
        candidate: "candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host".into(),
        sdp_mid: Some("0".into()),
        sdp_m_line_index: Some(0),
        username_fragment: None,
    };
    assert!(matches!(
        b.add_ice_candidate(Some(cand.clone())),
        Err(Error::InvalidState(_))
    ));
    b.set_remote_description(RtcSessionDescription::offer(data(
        "chromium-to-aiortc.dc-echo.offer.sdp",
    )))
    .unwrap();
    b.add_ice_candidate(Some(cand.clone())).unwrap();
    assert!(b
        .remote_description()
        .unwrap()
        .sdp
        .contains("a=candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host\r\n"));
    let unknown = oxrtc::IceCandidateInit {
        sdp_mid: Some("9".into()),
        sdp_m_line_index: None,
        ..cand.clone()
    };
    assert!(matches!(
        b.add_ice_candidate(Some(unknown)),
        Err(Error::InvalidCandidate(_))
    ));
    let neither = oxrtc::IceCandidateInit {
        sdp_mid: None,
        sdp_m_line_index: None,
        ..cand.clone()
    };
    assert!(matches!(
        b.add_ice_candidate(Some(neither)),
        Err(Error::InvalidArgument(_))
    ));
    // The null candidate: end-of-candidates.
    b.add_ice_candidate(None).unwrap();
    assert!(b
        .remote_description()
        .unwrap()
        .sdp
        .contains("a=end-of-candidates"));
    // A candidate of an old generation is ignored.
    let old = oxrtc::IceCandidateInit {
        username_fragment: Some("zzzz".into()),
        candidate: "candidate:2 1 udp 2122260223 127.0.0.1 5001 typ host".into(),
        ..cand
    };
    b.add_ice_candidate(Some(old)).unwrap();
    assert!(!b
        .remote_description()
        .unwrap()
        .sdp
        .contains("127.0.0.1 5001"));
}

#[test]
fn legacy_sctpmap_offer_gets_legacy_answer() {
    let offer = data("chromium-to-aiortc.dc-echo.offer.sdp")
        .replace("UDP/DTLS/SCTP webrtc-datachannel", "DTLS/SCTP 5000")
        .replace("a=sctp-port:5000", "a=sctpmap:5000 webrtc-datachannel 1024");
    let mut b = pc(2);
    b.set_remote_description(RtcSessionDescription::offer(offer))
        .unwrap();
    let sd = parse(&b.create_answer().unwrap());
    let m = &sd.media[0];
    assert_eq!(m.protocol, Protocol::DtlsSctp);
    assert_eq!(m.formats, ["5000"]);
    assert!(m
        .attributes
        .iter()
        .any(|a| matches!(a, Attribute::Sctpmap(_))));
}

#[test]
fn negotiated_channel_ids_are_checked() {
    let mut a = pc(1);
    let init = DataChannelInit {
        negotiated: true,
        id: Some(3),
        ..DataChannelInit::default()
    };
    let ch = a.create_data_channel("n", init.clone()).unwrap();
    assert_eq!(a.channel(ch).unwrap().stream_id(), Some(3));
    assert_eq!(
        a.create_data_channel("m", init),
        Err(Error::ChannelIdInUse(3))
    );
    let bad = DataChannelInit {
        negotiated: true,
        id: None,
        ..DataChannelInit::default()
    };
    assert!(matches!(
        a.create_data_channel("x", bad),
        Err(Error::InvalidArgument(_))
    ));
    let both = DataChannelInit {
        max_retransmits: Some(1),
        max_packet_life_time: Some(1),
        ..DataChannelInit::default()
    };
    assert!(matches!(
        a.create_data_channel("x", both),
        Err(Error::InvalidArgument(_))
    ));
    // Sending before the channel opens is an InvalidState error.
    let c = a
        .create_data_channel("y", DataChannelInit::default())
        .unwrap();
    assert!(matches!(
        a.channel(c).unwrap().send(&b"x"[..]),
        Err(Error::InvalidState(_))
    ));
}
