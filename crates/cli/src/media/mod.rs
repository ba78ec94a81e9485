//! Media hooks: where tracks plug in once the peer connection carries media (the media
//! issue). Until then every hook says so plainly; nothing pretends media worked.
//!
//! What plugs in here:
//! - `offer --scenario media-echo`: [`add_offer_transceivers`] adds one VP8 video and one
//!   Opus audio transceiver (sendrecv) before the offer is made; then the scenario sends
//!   the clips and counts reflected frames.
//! - `answer` / `serve`: [`reflect_track`] is called on every `track` event and sends the
//!   incoming track back on the same transceiver.
//! - `demo --duration`: [`demo_media`] sends media for the duration and reports the first
//!   media packet and the losses.

use oxrtc::runtime::PeerConnection;
use oxrtc::TransceiverId;

/// The video clip: VP8 in IVF, 320x240, 30 fps, 5 s, a key frame every second (made by
/// `assets/make-assets.sh` with Debian's ffmpeg).
pub const CLIP_VP8_IVF: &[u8] = include_bytes!("../../assets/video-vp8.ivf");
/// The audio clip: Opus in Ogg, 48 kHz stereo, 20 ms frames, 5 s of a beeping 440 Hz tone.
pub const CLIP_OPUS_OGG: &[u8] = include_bytes!("../../assets/audio-opus.ogg");

/// Whether the peer connection runtime can send and receive media yet.
pub const SUPPORTED: bool = false;

/// Why media scenarios cannot run in this build.
pub const NOT_SUPPORTED: &str =
    "media not supported yet: the oxrtc peer connection has no RTP media path (tracks) in this build";

/// Adds the media-echo transceivers (VP8 video, Opus audio, sendrecv) to an offerer.
///
/// # Errors
/// Always, until the runtime carries media: [`NOT_SUPPORTED`].
pub async fn add_offer_transceivers(_pc: &PeerConnection) -> Result<(), String> {
    // TODO(media): pc.add_transceiver(MediaKind::Video, sendrecv, [VP8]) and
    // (MediaKind::Audio, sendrecv, [Opus]) through the runtime once it has track handles.
    Err(NOT_SUPPORTED.to_owned())
}

/// Called once an offer was answered: says plainly when the offer asked for media this
/// build cannot reflect (the core answers those sections `recvonly` and drops the RTP).
pub async fn on_answered(session: u64, pc: &PeerConnection) {
    if SUPPORTED {
        return;
    }
    let kinds = pc
        .with_core(|c| {
            c.transceivers()
                .map(|t| format!("{:?}", t.kind()).to_lowercase())
                .collect::<Vec<_>>()
        })
        .await
        .unwrap_or_default();
    if !kinds.is_empty() {
        // TODO(media): set every transceiver to sendrecv before the answer is created, so
        // the reflected tracks are negotiated.
        tracing::error!(
            session,
            tracks = %kinds.join(", "),
            "the offer has media that will not be reflected: {NOT_SUPPORTED}"
        );
    }
}

/// Whether a session carries media that keeps it alive without data channels.
pub async fn session_has_media(pc: &PeerConnection) -> bool {
    if !SUPPORTED {
        // Nothing flows until media lands: a session without channels is idle.
        return false;
    }
    pc.with_core(|c| c.transceivers().any(|t| !t.stopped()))
        .await
        .unwrap_or(false)
}

/// Reflects an incoming track back on its transceiver (answer side).
pub fn reflect_track(session: u64, _pc: &PeerConnection, transceiver: TransceiverId) {
    // TODO(media): read RTP from the track's receiver and write it to the same
    // transceiver's sender (rewriting SSRC/payload type as negotiated).
    tracing::error!(
        session,
        ?transceiver,
        "cannot reflect the incoming track: {NOT_SUPPORTED}"
    );
}

/// Media for `demo --duration`: returns the time of the first media packet, if any.
///
/// # Errors
/// Always, until the runtime carries media.
pub async fn demo_media(
    _a: &PeerConnection,
    _b: &PeerConnection,
    _duration: std::time::Duration,
) -> Result<std::time::Duration, String> {
    // TODO(media): send the VP8/Opus clips from a to b and count frames.
    Err(NOT_SUPPORTED.to_owned())
}

#[cfg(test)]
mod tests {
    use oxrtc_rtp::container::ivf::IvfReader;
    use oxrtc_rtp::container::ogg::{opus_packet_samples, OggReader, OpusHead};

    #[test]
    fn the_clips_are_what_they_claim() {
        let mut ivf = IvfReader::new(super::CLIP_VP8_IVF).unwrap();
        let h = *ivf.header();
        assert_eq!((&h.fourcc, h.width, h.height), (b"VP80", 320, 240));
        let mut frames = 0;
        while let Some(f) = ivf.next_frame().unwrap() {
            // A VP8 key frame every second (RFC 6386 §9.1: P bit clear, start code).
            let key = f.data[0] & 1 == 0 && f.data[3..6] == [0x9d, 0x01, 0x2a];
            assert_eq!(key, frames % 30 == 0, "frame {frames}");
            frames += 1;
        }
        assert_eq!(frames, 150);

        let mut ogg = OggReader::new(super::CLIP_OPUS_OGG);
        let head = OpusHead::parse(&ogg.next_packet().unwrap().unwrap().data).unwrap();
        assert_eq!(head.channels, 2);
        let _tags = ogg.next_packet().unwrap().unwrap();
        let mut samples = 0u64;
        while let Some(p) = ogg.next_packet().unwrap() {
            assert_eq!(opus_packet_samples(&p.data), Some(960), "20 ms frames");
            samples += 960;
        }
        // 5 s at 48 kHz, plus the encoder's pre-skip frame.
        assert!((240_000..=241_000).contains(&samples), "{samples}");
    }
}
