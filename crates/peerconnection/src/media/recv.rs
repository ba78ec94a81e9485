//! The receiving side of a transceiver: one stream per incoming media SSRC (a simulcast
//! layer each), with loss statistics and NACK generation, and frame assembly.

use super::engine::{RecvSetup, Route};
use super::{EncodedFrame, FrameTransform, MediaPacket};
use bytes::Bytes;
use oxrtc_rtp::assembler::{AssemblerEvent, FrameAssembler};
use oxrtc_rtp::codec::Depacketizer;
use oxrtc_rtp::receiver::{NackConfig, ReceiveConfig, ReceiveOutcome, ReceiveStream};
use oxrtc_rtp::rtp::{AudioLevel, ExtensionKind, ExtensionMap, ExtensionValue};
use oxrtc_rtp::{RtpPacket, Ssrc};
use std::time::{Duration, Instant};

/// Most media streams one receiver keeps (simulcast layers, SSRC changes).
const MAX_STREAMS: usize = 16;
/// Packets the frame assembler waits past a hole before giving up on it, with NACK (the
/// retransmission usually comes within an RTT; NACK giving up also ends the wait) and
/// without (only reordering can fill the hole).
const ASSEMBLER_WAIT_NACK: u64 = 512;
const ASSEMBLER_WAIT_PLAIN: u64 = 8;
/// Fewest time between two key frame requests for one stream.
const KEYFRAME_REQUEST_INTERVAL: Duration = Duration::from_millis(300);

/// What a received packet yields for the application.
#[derive(Debug)]
pub(crate) enum Delivery {
    Packet(MediaPacket),
    Frame(EncodedFrame),
}

/// Counters of one incoming stream beyond those of its [`ReceiveStream`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct StreamCounters {
    pub frames_received: u64,
    pub keyframes_received: u64,
    pub header_bytes_received: u64,
    pub retransmitted_packets: u64,
    pub retransmitted_bytes: u64,
    pub nack_count: u64,
    pub pli_count: u64,
    pub fir_count: u64,
    pub last_packet_at: Option<Instant>,
    /// From the peer's last SR: (packets sent, octets sent, NTP time, SRs received).
    pub remote_sent: Option<(u32, u32, oxrtc_rtp::NtpTime, u64)>,
}

/// One incoming media stream.
pub(crate) struct RecvStream {
    pub ssrc: u32,
    pub rtx_ssrc: Option<u32>,
    pub rid: Option<String>,
    pub rs: ReceiveStream,
    pub clock_rate: u32,
    pub last_pt: u8,
    assembler: Option<(u8, FrameAssembler<Box<dyn Depacketizer + Send>>)>,
    pub counters: StreamCounters,
    pub fir_seq: u8,
    last_keyframe_request: Option<Instant>,
    /// A key frame request is due (loss the NACKs cannot repair, or an application call).
    pub keyframe_wanted: bool,
    nack_give_ups_seen: u64,
}

/// The receiving side of one transceiver.
pub(crate) struct ReceiverState {
    pub setup: Option<RecvSetup>,
    pub streams: Vec<RecvStream>,
    pub deliver_packets: bool,
    pub deliver_frames: bool,
    pub transform: Option<Box<dyn FrameTransform>>,
    /// A layer's rid learned by demultiplexing before its first packet made its stream.
    pending_rid: Option<(u32, String)>,
}

impl Default for ReceiverState {
    fn default() -> Self {
        ReceiverState {
            setup: None,
            streams: Vec::new(),
            deliver_packets: true,
            deliver_frames: false,
            transform: None,
            pending_rid: None,
        }
    }
}

impl ReceiverState {
    pub(crate) fn negotiate(&mut self, setup: Option<RecvSetup>) {
        if setup.is_none() {
            self.streams.clear();
        }
        self.setup = setup;
    }

    /// A route was found for `ssrc`.
    pub(crate) fn note_route(&mut self, ssrc: u32, media: u32, rtx: bool, rid: Option<String>) {
        if rtx {
            if let Some(s) = self.streams.iter_mut().find(|s| s.ssrc == media) {
                s.rtx_ssrc = Some(ssrc);
            }
        } else if let Some(s) = self.streams.iter_mut().find(|s| s.ssrc == media) {
            if s.rid.is_none() {
                s.rid = rid;
            }
        } else if let Some(rid) = rid {
            // Remember the layer until its first packet creates the stream.
            self.pending_rid = Some((media, rid));
        }
    }

    /// When a NACK retry is next due.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.streams
            .iter()
            .filter_map(|s| s.rs.poll_timeout())
            .min()
    }

    /// Takes one media packet (`retransmitted`: unwrapped from RTX); what the application
    /// gets comes back. `owned`: the packet's buffer came from the caller's arena, so the
    /// payload is copied out rather than sliced (a slice would pin the arena).
    #[allow(clippy::too_many_arguments)] // one packet and its context
    pub(crate) fn receive(
        &mut self,
        now: Instant,
        route: Route,
        data: &Bytes,
        retransmitted: bool,
        owned: bool,
        rx_ext: &ExtensionMap,
        local_ssrc: u32,
    ) -> Vec<Delivery> {
        let mut out = Vec::new();
        let Ok(p) = RtpPacket::new_checked(&data[..]) else {
            return out;
        };
        let Some(setup) = &self.setup else {
            return out;
        };
        let pt = p.payload_type();
        let Some(codec) = setup.codec(pt) else {
            return out;
        };
        let clock_rate = codec.clock_rate;
        let kind = super::codecs::codec_kind(codec);
        let nack = setup.nack;
        let ssrc = route.media_ssrc;
        let idx = match self.streams.iter().position(|s| s.ssrc == ssrc) {
            Some(i) => i,
            None => {
                if self.streams.len() >= MAX_STREAMS {
                    self.streams.remove(0);
                }
                let rid = match self.pending_rid.take() {
                    Some((m, rid)) if m == ssrc => Some(rid),
                    other => {
                        self.pending_rid = other;
                        rx_ext
                            .id(ExtensionKind::RtpStreamId)
                            .and_then(|id| p.extension(id))
                            .and_then(|d| std::str::from_utf8(d).ok())
                            .map(str::to_owned)
                    }
                };
                self.streams.push(RecvStream {
                    ssrc,
                    rtx_ssrc: None,
                    rid,
                    rs: ReceiveStream::new(ReceiveConfig {
                        ssrc: Ssrc(ssrc),
                        local_ssrc: Ssrc(local_ssrc),
                        clock_rate,
                        nack: nack.then(NackConfig::default),
                    }),
                    clock_rate,
                    last_pt: pt,
                    assembler: None,
                    counters: StreamCounters::default(),
                    fir_seq: 0,
                    last_keyframe_request: None,
                    keyframe_wanted: false,
                    nack_give_ups_seen: 0,
                });
                self.streams.len() - 1
            }
        };
        let Some(s) = self.streams.get_mut(idx) else {
            return out;
        };
        match s.rs.handle_packet(now, &p, retransmitted) {
            ReceiveOutcome::New(_) => {}
            _ => return out,
        }
        s.last_pt = pt;
        s.counters.last_packet_at = Some(now);
        if p.marker() && kind.is_some_and(|k| !k.is_audio()) {
            s.counters.frames_received += 1;
        }
        s.counters.header_bytes_received += (p.header_len() + p.padding_len()) as u64;
        if retransmitted {
            s.counters.retransmitted_packets += 1;
            s.counters.retransmitted_bytes += p.payload().len() as u64;
        }
        if p.payload().is_empty() {
            return out; // padding
        }
        let payload = if owned {
            Bytes::copy_from_slice(p.payload())
        } else {
            let start = p.header_len();
            data.slice(start..start + p.payload().len())
        };
        let ext = |k: ExtensionKind| setup.ext.id(k).and_then(|id| p.extension(id));
        if self.deliver_packets {
            out.push(Delivery::Packet(MediaPacket {
                payload_type: pt,
                sequence_number: p.sequence_number().0,
                timestamp: p.timestamp(),
                marker: p.marker(),
                ssrc,
                payload: payload.clone(),
                rid: s.rid.clone(),
                audio_level: ext(ExtensionKind::AudioLevel).and_then(|d| AudioLevel::parse(d).ok()),
                dependency_descriptor: ext(ExtensionKind::DependencyDescriptor)
                    .map(Bytes::copy_from_slice),
            }));
        }
        let Some(kind) = kind.filter(|_| self.deliver_frames) else {
            return out;
        };
        let give_ups = s.rs.stats().nack_give_ups;
        let asm = match &mut s.assembler {
            Some((apt, a)) if *apt == pt => a,
            _ => {
                let wait = if nack {
                    ASSEMBLER_WAIT_NACK
                } else {
                    ASSEMBLER_WAIT_PLAIN
                };
                s.assembler = Some((pt, FrameAssembler::new(kind.depacketizer(), wait)));
                match &mut s.assembler {
                    Some((_, a)) => a,
                    None => return out,
                }
            }
        };
        if give_ups > s.nack_give_ups_seen {
            // NACK gave up on a hole: the frame that needs it will not complete.
            s.nack_give_ups_seen = give_ups;
            asm.skip_missing();
        }
        asm.push(p.sequence_number(), p.timestamp(), p.marker(), &payload);
        while let Some(ev) = asm.poll() {
            let AssemblerEvent::Frame(f) = ev else {
                if !kind.is_audio() {
                    s.keyframe_wanted = true;
                }
                continue;
            };
            if f.keyframe {
                s.counters.keyframes_received += 1;
            }
            let mut frame = EncodedFrame {
                data: f.data,
                timestamp: f.timestamp,
                keyframe: f.keyframe,
                payload_type: pt,
                ssrc,
                rid: s.rid.clone(),
                after_gap: f.after_gap,
            };
            if let Some(t) = &mut self.transform {
                if !t.transform(&mut frame) {
                    continue;
                }
            }
            out.push(Delivery::Frame(frame));
        }
        out
    }

    /// Whether a key frame request for stream `i` may go out now (rate limited).
    pub(crate) fn keyframe_request_due(&mut self, i: usize, now: Instant) -> bool {
        let Some(s) = self.streams.get_mut(i) else {
            return false;
        };
        let wanted = std::mem::take(&mut s.keyframe_wanted) | s.rs.take_keyframe_request();
        if !wanted {
            return false;
        }
        if s.last_keyframe_request
            .is_some_and(|t| now.saturating_duration_since(t) < KEYFRAME_REQUEST_INTERVAL)
        {
            s.keyframe_wanted = true; // later
            return false;
        }
        s.last_keyframe_request = Some(now);
        true
    }
}
