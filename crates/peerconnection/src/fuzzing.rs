//! Harnesses for the cargo-fuzz targets in /fuzz (feature `fuzzing`).

use crate::config::{Config, InterfaceFilter};
use crate::datachannel::DataChannelInit;
use crate::peer_connection::PeerConnection;
use crate::signaling::RtcSessionDescription;
use oxrtc_dtls::Certificate;
use rand_chacha::rand_core::SeedableRng;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

fn certificate(i: usize) -> Option<Certificate> {
    static CERTS: OnceLock<Vec<Certificate>> = OnceLock::new();
    CERTS
        .get_or_init(|| {
            (0..2)
                .filter_map(|_| Certificate::generate().ok())
                .collect()
        })
        .get(i)
        .cloned()
}

fn peer(i: usize, now: Instant) -> Option<PeerConnection> {
    let config = Config {
        certificates: certificate(i).into_iter().collect(),
        interface_filter: InterfaceFilter::loopback_only(),
        ..Config::default()
    };
    let rng = rand_chacha::ChaCha20Rng::seed_from_u64(i as u64);
    PeerConnection::with_rng(config, now, rng).ok()
}

/// A remote description from the network: applying it never panics; when an offer is
/// accepted, the answer we create parses back and applies.
pub fn remote_description(data: &[u8]) {
    let now = Instant::now();
    let Some(mut pc) = peer(0, now) else { return };
    let sdp = String::from_utf8_lossy(data).into_owned();
    if pc
        .set_remote_description(RtcSessionDescription::offer(sdp.clone()))
        .is_ok()
    {
        let answer = pc
            .create_answer()
            .expect("an accepted offer can be answered");
        let parsed: Result<oxrtc_sdp::SessionDescription, _> = answer.sdp.parse();
        assert!(parsed.is_ok(), "our answer does not parse: {}", answer.sdp);
        pc.set_local_description(Some(answer))
            .expect("our answer applies");
    }
    // The same text as an answer to our offer.
    let Some(mut pc) = peer(0, now) else { return };
    let _ = pc.create_data_channel("x", DataChannelInit::default());
    if pc.set_local_description(None).is_ok() {
        let _ = pc.set_remote_description(RtcSessionDescription::answer(sdp));
    }
}

/// Datagrams from the network into a negotiated peer connection (each input byte string
/// is cut into datagrams by a leading length byte): nothing panics, and the outputs stay
/// bounded.
pub fn datagrams(data: &[u8]) {
    let now = Instant::now();
    let (Some(mut a), Some(mut b)) = (peer(0, now), peer(1, now)) else {
        return;
    };
    let local: std::net::SocketAddr = ([127, 0, 0, 1], 5000).into();
    let remote: std::net::SocketAddr = ([127, 0, 0, 1], 6000).into();
    let _ = a.add_local_socket(local);
    let _ = b.add_local_socket(remote);
    let _ = a.create_data_channel("x", DataChannelInit::default());
    let ok = a.set_local_description(None).is_ok()
        && a.local_description()
            .is_some_and(|o| b.set_remote_description(o).is_ok())
        && b.set_local_description(None).is_ok()
        && b.local_description()
            .is_some_and(|ans| a.set_remote_description(ans).is_ok());
    if !ok {
        return;
    }
    let mut rest = data;
    let mut t = now;
    while let Some((&len, tail)) = rest.split_first() {
        let n = usize::from(len).min(tail.len());
        let (d, tail) = tail.split_at(n);
        rest = tail;
        t += Duration::from_millis(7);
        a.handle_receive(t, crate::Datagram::udp(local, remote, d));
        a.handle_timeout(t);
        let mut out = 0;
        while a.poll_transmit().is_some() {
            out += 1;
            assert!(out < 10_000, "unbounded transmits");
        }
        let mut events = 0;
        while a.poll_event().is_some() {
            events += 1;
            assert!(events < 10_000, "unbounded events");
        }
    }
}

/// Plain (decrypted) RTP and RTCP into a peer connection negotiated with audio and video
/// both ways (each packet cut by a leading length byte; SRTP is skipped, as a fuzzer
/// cannot authenticate): demultiplexing, RTX, NACK, frame assembly, RTCP handling never
/// panic; events, transmits and tracked SSRCs stay bounded; stats serialize.
pub fn media(data: &[u8]) {
    use crate::media::MediaStreamTrack;
    use crate::transceiver::MediaKind;
    let now = Instant::now();
    let (Some(mut a), Some(mut b)) = (peer(0, now), peer(1, now)) else {
        return;
    };
    let _ = a.add_local_socket(([127, 0, 0, 1], 5000).into());
    let _ = b.add_local_socket(([127, 0, 0, 1], 6000).into());
    for (pc, who) in [(&mut a, "a"), (&mut b, "b")] {
        let _ = pc.add_track(
            MediaStreamTrack::new(MediaKind::Audio, format!("{who}-mic")),
            &[who],
        );
        let _ = pc.add_track(
            MediaStreamTrack::new(MediaKind::Video, format!("{who}-cam")),
            &[who],
        );
    }
    let ok = a.set_local_description(None).is_ok()
        && a.local_description()
            .is_some_and(|o| b.set_remote_description(o).is_ok())
        && b.set_local_description(None).is_ok()
        && b.local_description()
            .is_some_and(|ans| a.set_remote_description(ans).is_ok());
    if !ok {
        return;
    }
    let ids: Vec<crate::TransceiverId> = a.transceivers().map(|t| t.id()).collect();
    for id in &ids {
        if let Some(mut r) = a.receiver(*id) {
            r.set_deliver_frames(true);
        }
    }
    let mut rest = data;
    let mut t = now;
    while let Some((&len, tail)) = rest.split_first() {
        let n = usize::from(len).min(tail.len());
        let (d, tail) = tail.split_at(n);
        rest = tail;
        t += Duration::from_millis(u64::from(len % 16));
        a.media_receive_plain(t, d);
        a.handle_timeout(t);
        assert!(a.media_routes() <= 64, "unbounded SSRCs");
        let mut out = 0;
        while a.poll_transmit().is_some() {
            out += 1;
            assert!(out < 10_000, "unbounded transmits");
        }
        let mut events = 0;
        while a.poll_event().is_some() {
            events += 1;
            assert!(events < 10_000, "unbounded events");
        }
    }
    let json = a.stats(0.0).to_json();
    assert!(json.starts_with('['));
}

#[cfg(test)]
mod tests {
    #[test]
    fn harnesses_on_seeds() {
        for f in [
            "chromium-to-aiortc.dc-echo.offer.sdp",
            "chromium-to-aiortc.media-echo.offer.sdp",
            "pion-offer.sdp",
        ] {
            let sdp =
                std::fs::read(format!("{}/tests/data/{f}", env!("CARGO_MANIFEST_DIR"))).unwrap();
            super::remote_description(&sdp);
            super::remote_description(&sdp[..sdp.len() / 2]);
        }
        super::remote_description(b"v=0\r\n");
        super::datagrams(&[
            4, 0, 1, 0, 0, 3, 22, 254, 253, 5, 128, 1, 2, 3, 4, 0, 2, 64, 0,
        ]);
        let seed = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fuzz/corpus/pc_media/seed-rtp-rtx-rtcp"
        ))
        .unwrap_or_default();
        super::media(&seed);
    }
}
