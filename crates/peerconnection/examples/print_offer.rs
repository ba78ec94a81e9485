#![allow(clippy::unwrap_used)]
//! Prints an offer with audio and video tracks (the video in three simulcast layers) and a
//! data channel, and an answer to it.
use oxrtc::{
    Config, DataChannelInit, MediaKind, MediaStreamTrack, OfferOptions, PeerConnection,
    RtpEncodingParameters, TransceiverInit,
};
use std::time::Instant;

fn main() {
    let mut a = PeerConnection::new(Config::default(), Instant::now()).unwrap();
    a.add_track(MediaStreamTrack::new(MediaKind::Audio, "mic"), &["s"])
        .unwrap();
    a.add_transceiver_with_track(
        MediaStreamTrack::new(MediaKind::Video, "cam"),
        TransceiverInit {
            stream_ids: vec!["s".into()],
            send_encodings: ["h", "m", "l"]
                .into_iter()
                .map(RtpEncodingParameters::with_rid)
                .collect(),
            ..TransceiverInit::default()
        },
    )
    .unwrap();
    a.create_data_channel("chat", DataChannelInit::default())
        .unwrap();
    let offer = a.create_offer(OfferOptions::default()).unwrap();
    print!("{}", offer.sdp);
    let mut b = PeerConnection::new(Config::default(), Instant::now()).unwrap();
    b.set_remote_description(offer).unwrap();
    println!("----");
    print!("{}", b.create_answer().unwrap().sdp);
}
