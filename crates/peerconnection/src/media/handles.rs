//! Borrowing handles on a transceiver's sender and receiver (W3C `RTCRtpSender`,
//! `RTCRtpReceiver`), from [`PeerConnection::sender`] and [`PeerConnection::receiver`].

use super::{FrameTransform, MediaPacket, MediaStreamTrack, RtpEncodingParameters, Sample};
use crate::error::Error;
use crate::peer_connection::PeerConnection;
use crate::transceiver::TransceiverId;
use std::time::{Duration, Instant};

/// The sender of a transceiver (W3C `RTCRtpSender`), borrowed from its
/// [`PeerConnection`]. Writing queues SRTP packets for
/// [`poll_transmit`](PeerConnection::poll_transmit).
pub struct RtpSender<'a> {
    pub(crate) pc: &'a mut PeerConnection,
    pub(crate) id: TransceiverId,
}

impl RtpSender<'_> {
    /// The transceiver.
    pub fn transceiver(&self) -> TransceiverId {
        self.id
    }

    /// The track it sends (W3C `track`).
    pub fn track(&self) -> Option<&MediaStreamTrack> {
        self.pc.transceiver(self.id)?.sender_track.as_ref()
    }

    /// The SSRCs of its encodings: (media, RTX), in encoding order.
    pub fn ssrcs(&self) -> Vec<(u32, u32)> {
        self.pc
            .media
            .senders
            .get(&self.id)
            .map(|s| s.encodings.iter().map(|e| (e.ssrc, e.rtx_ssrc)).collect())
            .unwrap_or_default()
    }

    /// Its encodings (W3C `getParameters().encodings`).
    pub fn encodings(&self) -> Vec<RtpEncodingParameters> {
        self.pc
            .media
            .senders
            .get(&self.id)
            .map(|s| s.encodings.iter().map(|e| e.params.clone()).collect())
            .unwrap_or_default()
    }

    /// Changes the encodings' `active`, `max_bitrate` and `scale_resolution_down_by`
    /// (W3C `setParameters`): no renegotiation. The rids and their number cannot change.
    ///
    /// # Errors
    /// [`Error::InvalidModification`] when the rids or the number of encodings differ.
    pub fn set_encodings(&mut self, encodings: Vec<RtpEncodingParameters>) -> Result<(), Error> {
        let s = self
            .pc
            .media
            .senders
            .get_mut(&self.id)
            .ok_or(Error::UnknownHandle)?;
        if encodings.len() != s.encodings.len()
            || encodings
                .iter()
                .zip(&s.encodings)
                .any(|(a, b)| a.rid != b.params.rid)
        {
            return Err(Error::InvalidModification(
                "set_encodings cannot change the rids or their number",
            ));
        }
        for (e, p) in s.encodings.iter_mut().zip(encodings) {
            e.params = p;
        }
        Ok(())
    }

    /// Replaces the track without renegotiation (W3C `replaceTrack`): what is written next
    /// continues this sender's stream (same SSRC, continuous sequence numbers and
    /// timestamps). `None` stops sending.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a track of the other kind; [`Error::InvalidState`]
    /// when the transceiver is stopping.
    pub fn replace_track(&mut self, track: Option<MediaStreamTrack>) -> Result<(), Error> {
        self.pc.replace_track(self.id, track)
    }

    /// Sends one encoded frame: packetized for the negotiated codec, timestamped by the
    /// durations of the samples before it, through the sender's transform if one is set.
    /// A sample for a layer the peer did not accept, or an inactive encoding, is dropped.
    ///
    /// # Errors
    /// [`Error::InvalidState`] when the sender does not send (no track, not negotiated to
    /// send, transport not up); [`Error::InvalidArgument`] for an unknown rid or a sample
    /// the payload format cannot carry; [`Error::Closed`].
    pub fn write_sample(&mut self, now: Instant, sample: Sample) -> Result<(), Error> {
        self.pc.media_write_sample(now, self.id, sample)
    }

    /// Forwards one RTP packet (e.g. one received on another transceiver or connection):
    /// its SSRC, sequence number and timestamp are rewritten to this sender's (gaps and
    /// order kept; a new source SSRC continues where the last one stopped); its payload
    /// type is kept when negotiated, else the codec's; the audio level and dependency
    /// descriptor are written with this session's extension ids. No transform applies.
    ///
    /// # Errors
    /// As [`write_sample`](Self::write_sample).
    pub fn write_rtp(&mut self, now: Instant, packet: &MediaPacket) -> Result<(), Error> {
        self.pc.media_write_rtp(now, self.id, packet)
    }

    /// [`write_rtp`](Self::write_rtp) for a plain RTP packet in bytes (its header
    /// extensions are not read).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when it is not RTP; as [`write_rtp`](Self::write_rtp).
    pub fn write_rtp_bytes(&mut self, now: Instant, packet: &[u8]) -> Result<(), Error> {
        let p = MediaPacket::parse(packet)?;
        self.pc.media_write_rtp(now, self.id, &p)
    }

    /// Sets (or removes) the encoded-frame transform applied to every sample before
    /// packetization (W3C `sender.transform`).
    pub fn set_transform(&mut self, transform: Option<Box<dyn FrameTransform>>) {
        if let Some(s) = self.pc.media.senders.get_mut(&self.id) {
            s.transform = transform;
        }
    }

    /// W3C `dtmf.insertDTMF(tones, duration, interToneGap)`: replaces the tone buffer;
    /// tones play one after the other as RFC 4733 events; [`crate::Event::DtmfToneChange`]
    /// reports each start and the end. Duration is clamped to 40–6000 ms (W3C default
    /// 100 ms), the gap raised to at least 30 ms (default 70 ms); `,` pauses 2 s.
    ///
    /// # Errors
    /// [`Error::InvalidState`] unless [`can_insert_dtmf`](Self::can_insert_dtmf);
    /// [`Error::InvalidArgument`] for a character other than `0-9 A-D # * ,`.
    pub fn insert_dtmf(
        &mut self,
        tones: &str,
        duration: Duration,
        gap: Duration,
    ) -> Result<(), Error> {
        self.pc.media_insert_dtmf(self.id, tones, duration, gap)
    }

    /// W3C `dtmf.canInsertDTMF`: an audio sender that sends, with telephone-event
    /// negotiated at its codec's clock rate.
    pub fn can_insert_dtmf(&self) -> bool {
        self.pc.media_can_insert_dtmf(self.id)
    }

    /// W3C `dtmf.toneBuffer`: the tones not played yet.
    pub fn tone_buffer(&self) -> String {
        self.pc
            .media
            .senders
            .get(&self.id)
            .map(|s| s.dtmf.tone_buffer().to_owned())
            .unwrap_or_default()
    }

    /// The negotiated send codec's payload type and MIME type, once negotiated.
    pub fn codec(&self) -> Option<(u8, String)> {
        let kind = self.pc.transceiver(self.id)?.kind;
        let s = self.pc.media.senders.get(&self.id)?.setup.as_ref()?;
        Some((
            s.codec.payload_type,
            super::codecs::mime_type(kind, &s.codec),
        ))
    }
}

/// The receiver of a transceiver (W3C `RTCRtpReceiver`), borrowed from its
/// [`PeerConnection`]. What it receives arrives as [`crate::Event::RtpPacket`] and
/// [`crate::Event::Frame`].
pub struct RtpReceiver<'a> {
    pub(crate) pc: &'a mut PeerConnection,
    pub(crate) id: TransceiverId,
}

impl RtpReceiver<'_> {
    /// The transceiver.
    pub fn transceiver(&self) -> TransceiverId {
        self.id
    }

    /// The remote track's id from the peer's `a=msid` (W3C `track.id`), once signaled.
    pub fn track_id(&self) -> Option<&str> {
        self.pc.transceiver(self.id)?.remote_track_id.as_deref()
    }

    /// The remote stream ids from the peer's `a=msid` (the W3C track event's `streams`).
    pub fn stream_ids(&self) -> &[String] {
        self.pc
            .transceiver(self.id)
            .map_or(&[], |t| t.remote_stream_ids.as_slice())
    }

    /// The SSRCs received so far, with their simulcast layer (W3C
    /// `getSynchronizationSources`, roughly).
    pub fn ssrcs(&self) -> Vec<(u32, Option<String>)> {
        self.pc
            .media
            .receivers
            .get(&self.id)
            .map(|r| r.streams.iter().map(|s| (s.ssrc, s.rid.clone())).collect())
            .unwrap_or_default()
    }

    /// The simulcast layers the peer announced (its `a=simulcast:send` rids).
    pub fn rids(&self) -> Vec<String> {
        self.pc
            .media
            .receivers
            .get(&self.id)
            .and_then(|r| r.setup.as_ref())
            .map(|s| s.rids.clone())
            .unwrap_or_default()
    }

    /// Asks the sender for a key frame: a PLI (RFC 4585), or a FIR (RFC 5104) when only
    /// that was negotiated; for one layer (`rid`) or all. Rate limited to one request per
    /// stream per 300 ms. Returns whether a stream was there to ask about.
    pub fn request_keyframe(&mut self, rid: Option<&str>) -> bool {
        self.pc.media_request_keyframe(self.id, rid)
    }

    /// Whether each received packet is reported as [`crate::Event::RtpPacket`]. Default
    /// on.
    pub fn set_deliver_packets(&mut self, on: bool) {
        if let Some(r) = self.pc.media.receivers.get_mut(&self.id) {
            r.deliver_packets = on;
        }
    }

    /// Whether assembled frames are reported as [`crate::Event::Frame`] (after the
    /// receiver's transform). Default off.
    pub fn set_deliver_frames(&mut self, on: bool) {
        if let Some(r) = self.pc.media.receivers.get_mut(&self.id) {
            r.deliver_frames = on;
        }
    }

    /// Sets (or removes) the encoded-frame transform applied to every assembled frame
    /// before it is delivered (W3C `receiver.transform`); turns frame delivery on.
    pub fn set_transform(&mut self, transform: Option<Box<dyn FrameTransform>>) {
        if let Some(r) = self.pc.media.receivers.get_mut(&self.id) {
            if transform.is_some() {
                r.deliver_frames = true;
            }
            r.transform = transform;
        }
    }
}

impl PeerConnection {
    /// The sender of a transceiver, or `None` for an unknown id.
    pub fn sender(&mut self, id: TransceiverId) -> Option<RtpSender<'_>> {
        if self.media.senders.contains_key(&id) {
            Some(RtpSender { pc: self, id })
        } else {
            None
        }
    }

    /// The receiver of a transceiver, or `None` for an unknown id.
    pub fn receiver(&mut self, id: TransceiverId) -> Option<RtpReceiver<'_>> {
        if self.media.receivers.contains_key(&id) {
            Some(RtpReceiver { pc: self, id })
        } else {
            None
        }
    }
}
