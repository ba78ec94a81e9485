#![allow(clippy::unwrap_used)]
//! Prints an offer with a data channel and an audio transceiver, and an answer to it.
use oxrtc::{Config, DataChannelInit, MediaKind, OfferOptions, PeerConnection, TransceiverInit};
use std::time::Instant;

fn main() {
    let mut a = PeerConnection::new(Config::default(), Instant::now()).unwrap();
    a.add_transceiver(MediaKind::Audio, TransceiverInit::default())
        .unwrap();
    a.create_data_channel("chat", DataChannelInit::default())
        .unwrap();
    let offer = a.create_offer(OfferOptions::default()).unwrap();
    println!("{}", offer.to_json());
    print!("{}", offer.sdp);
    let mut b = PeerConnection::new(Config::default(), Instant::now()).unwrap();
    b.set_remote_description(offer).unwrap();
    print!("{}", b.create_answer().unwrap().sdp);
}
