//! Media through the tokio runtime on loopback: a sends the interop clips from local
//! tracks, b reflects every packet it receives on the same transceiver (what the CLI's
//! answerer does), a receives its own frames back; key frame requests travel back up.
#![cfg(feature = "tokio")]
#![allow(clippy::unwrap_used)]

mod common;
use common::{gathered, loopback_config as config};
use oxrtc::rtp::container::ivf::IvfReader;
use oxrtc::rtp::container::ogg::OggOpusReader;
use oxrtc::runtime::{Event, LocalTrack, PeerConnection};
use oxrtc::sdp::Codec;
use oxrtc::{Direction, MediaKind, Sample, TransceiverInit};
use std::collections::HashMap;
use std::time::Duration;

fn clip(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../../interop/assets/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_is_reflected_over_loopback() {
    let (a, mut ae) = PeerConnection::new(config()).await.unwrap();
    let (b, mut be) = PeerConnection::new(config()).await.unwrap();
    let video = LocalTrack::new(MediaKind::Video, "cam");
    let audio = LocalTrack::new(MediaKind::Audio, "mic");
    let tv = a
        .add_transceiver_with_track(
            &video,
            TransceiverInit {
                stream_ids: vec!["s".into()],
                ..TransceiverInit::default()
            },
        )
        .await
        .unwrap();
    tv.set_codec_preferences(vec![
        Codec::new(0, "VP8", 90000, None),
        Codec::new(0, "rtx", 90000, None),
    ])
    .await
    .unwrap();
    let ta = a.add_track(&audio, &["s"]).await.unwrap();
    assert_eq!(video.senders(), 1);
    a.set_local_description(None).await.unwrap();
    let offer = gathered(&a, &mut ae, Duration::from_secs(5)).await;
    // Only VP8 and its RTX, as the codec preferences say.
    assert!(offer.sdp.contains("UDP/TLS/RTP/SAVPF 96 97\r\n"));

    // b: on each track event, reflect the transceiver (sendrecv, a local track fed with
    // what arrives).
    b.set_remote_description(offer).await.unwrap();
    let mut reflectors = HashMap::new();
    while let Some(e) = be.try_recv() {
        if let Event::Track(id) = e {
            let t = b.transceiver(id).await.unwrap();
            assert_eq!(t.direction().await, Some(Direction::RecvOnly));
            t.set_direction(Direction::SendRecv).await.unwrap();
            let mut remote = t.receiver_track().await.unwrap();
            assert_eq!(remote.stream_ids(), ["s".to_owned()]);
            let back = LocalTrack::new(t.kind(), format!("back-{}", remote.id()));
            t.sender().replace_track(Some(&back)).await.unwrap();
            let fwd = back.clone();
            tokio::spawn(async move {
                while let Some(p) = remote.recv_rtp().await {
                    fwd.write_rtp(p);
                }
            });
            reflectors.insert(id, (t, back));
        }
    }
    assert_eq!(reflectors.len(), 2);
    b.set_local_description(None).await.unwrap();
    let answer = gathered(&b, &mut be, Duration::from_secs(5)).await;
    a.set_remote_description(answer).await.unwrap();
    assert_eq!(tv.current_direction().await, Some(Direction::SendRecv));

    let mut back_video = tv.receiver_track().await.unwrap();
    let back_audio = a
        .transceiver(ta.transceiver())
        .await
        .unwrap()
        .receiver_track()
        .await
        .unwrap();
    // Writers: the clips in real time.
    let vw = video.clone();
    let frames: Vec<Vec<u8>> = {
        let f = clip("video-vp8.ivf");
        let mut r = IvfReader::new(&f[..]).unwrap();
        std::iter::from_fn(|| r.next_frame().unwrap())
            .map(|f| f.data)
            .collect()
    };
    let sent = frames.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(33));
        for f in frames {
            tick.tick().await;
            vw.write_sample(Sample::new(f, Duration::from_millis(33)))
                .unwrap();
        }
    });
    let aw = audio.clone();
    tokio::spawn(async move {
        let f = clip("audio-opus.ogg");
        let mut r = OggOpusReader::new(&f[..]).unwrap();
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        while let Some(p) = r.next_packet().unwrap() {
            tick.tick().await;
            aw.write_sample(Sample::new(p, Duration::from_millis(20)))
                .unwrap();
        }
    });
    let audio_count = tokio::spawn(async move {
        let mut back_audio = back_audio;
        let mut n = 0;
        while n < 100 {
            match tokio::time::timeout(Duration::from_secs(5), back_audio.recv_frame()).await {
                Ok(Some(_)) => n += 1,
                _ => break,
            }
        }
        n
    });
    // The reflected video comes back frame for frame.
    let mut got = Vec::new();
    while got.len() < 60 {
        let f = tokio::time::timeout(Duration::from_secs(5), back_video.recv_frame())
            .await
            .expect("reflected video")
            .unwrap();
        got.push(f);
    }
    let first = sent.iter().position(|s| *s == got[0].data).unwrap();
    for (i, f) in got.iter().enumerate() {
        assert_eq!(f.data, sent[first + i], "frame {i}");
    }
    assert!(audio_count.await.unwrap() >= 100);

    // A key frame request from a travels to b's reflected sender; b passes it upstream
    // (its remote track), and a's camera track is asked for one.
    let keyframe = tokio::spawn({
        let v = video.clone();
        async move {
            tokio::time::timeout(Duration::from_secs(5), v.keyframe_requested())
                .await
                .is_ok()
        }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    back_video.request_keyframe(None).unwrap();
    let asked = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Some(Event::KeyframeRequest { transceiver, .. }) = be.recv().await {
                return transceiver;
            }
        }
    })
    .await
    .unwrap();
    let (bt, _) = &reflectors[&asked];
    bt.receiver_track()
        .await
        .unwrap()
        .request_keyframe(None)
        .unwrap();
    assert!(
        keyframe.await.unwrap(),
        "a's camera was asked for a key frame"
    );

    let stats = a.stats().await.unwrap().to_json();
    assert!(stats.contains("\"type\":\"inbound-rtp\""));
    assert!(stats.contains("\"type\":\"outbound-rtp\""));
    assert!(stats.contains("\"mimeType\":\"video/VP8\""));
    a.close().await;
    b.close().await;
    // Closing ends the remote tracks (after what they buffered) and detaches the local
    // ones.
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while back_video.recv_rtp().await.is_some() {}
    })
    .await;
    assert!(ended.is_ok());
    assert_eq!(video.senders(), 0);
}
