//! The frame assembler: depacketized RTP packets in, complete frames out, in order, with the
//! gaps between them reported.

use std::collections::{BTreeMap, VecDeque};

use crate::codec::Depacketizer;
use crate::rtp::RtpPacket;
use crate::types::{ExtSeqNo, SeqNo, SeqNoUnwrapper};

/// Default for [`FrameAssembler::new`]: how many sequence numbers past a missing packet the
/// assembler waits before declaring it lost.
pub const DEFAULT_MAX_WAIT_PACKETS: u64 = 256;

/// A complete frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// RTP timestamp shared by the frame's packets.
    pub timestamp: u32,
    /// The codec data (the depacketizer's output form, e.g. Annex B for H.264).
    pub data: Vec<u8>,
    /// The depacketizer saw a key frame marker in one of the packets.
    pub keyframe: bool,
    /// Extended sequence number of the first packet.
    pub first_seq: ExtSeqNo,
    /// Extended sequence number of the last packet.
    pub last_seq: ExtSeqNo,
    /// Packets were lost or dropped between the previous frame and this one: a decoder may
    /// need a key frame unless this is one.
    pub after_gap: bool,
}

/// What the assembler reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AssemblerEvent {
    /// A frame is complete.
    Frame(Frame),
    /// Packets `first..=last` will not become part of any frame (lost, incomplete or
    /// malformed).
    Gap {
        /// First sequence number skipped.
        first: ExtSeqNo,
        /// Last sequence number skipped.
        last: ExtSeqNo,
    },
}

/// Counters of the assembler's drops.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AssemblerStats {
    /// Frames emitted.
    pub frames: u64,
    /// Packets that arrived after their place was passed (too late, or already skipped).
    pub late_packets: u64,
    /// Packets received twice.
    pub duplicate_packets: u64,
    /// Frames dropped because the depacketizer rejected a packet.
    pub malformed_frames: u64,
    /// Gap events reported.
    pub gaps: u64,
}

#[derive(Debug)]
struct Stored {
    timestamp: u32,
    marker: bool,
    payload: Vec<u8>,
}

/// Turns RTP packets of one stream (any order) into complete frames in sequence order.
///
/// A frame starts at a packet the depacketizer calls a frame start and ends at one it calls a
/// frame end (the marker bit for video) or before a packet with a new timestamp. When a packet
/// is missing, the assembler waits until the stream has moved `max_wait` sequence numbers
/// past it (or [`FrameAssembler::skip_missing`] is called, e.g. when NACK gives up), then
/// reports a [`AssemblerEvent::Gap`] and resumes at the next frame start.
///
/// Feed packets with [`FrameAssembler::push`], then drain [`FrameAssembler::poll`] until
/// `None`:
///
/// ```
/// use oxrtc_rtp::assembler::{AssemblerEvent, FrameAssembler};
/// use oxrtc_rtp::codec::{Packetizer, Vp8Depacketizer, Vp8Packetizer};
/// use oxrtc_rtp::SeqNo;
///
/// let frame = vec![0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 7, 7, 7, 7];
/// let payloads = Vp8Packetizer::default().packetize(6, &frame)?;
/// let mut asm = FrameAssembler::new(Vp8Depacketizer, 64);
/// let n = payloads.len();
/// for (i, p) in payloads.iter().enumerate().rev() {
///     asm.push(SeqNo(100 + i as u16), 9000, i + 1 == n, p);
/// }
/// match asm.poll() {
///     Some(AssemblerEvent::Frame(f)) => assert_eq!(f.data, frame),
///     other => panic!("{other:?}"),
/// }
/// # Ok::<(), oxrtc_rtp::Error>(())
/// ```
#[derive(Debug)]
pub struct FrameAssembler<D: Depacketizer> {
    depacketizer: D,
    unwrapper: SeqNoUnwrapper,
    buffer: BTreeMap<u64, Stored>,
    next: Option<u64>,
    started: bool,
    after_gap: bool,
    last_timestamp: Option<u32>,
    max_wait: u64,
    events: VecDeque<AssemblerEvent>,
    stats: AssemblerStats,
}

enum Walk {
    Complete(u64),
    Missing,
    NotStart,
}

impl<D: Depacketizer> FrameAssembler<D> {
    /// An assembler over `depacketizer` that waits up to `max_wait` sequence numbers for a
    /// missing packet (see [`DEFAULT_MAX_WAIT_PACKETS`]); this also bounds how many packets it
    /// holds.
    pub fn new(depacketizer: D, max_wait: u64) -> Self {
        FrameAssembler {
            depacketizer,
            unwrapper: SeqNoUnwrapper::new(),
            buffer: BTreeMap::new(),
            next: None,
            started: false,
            after_gap: false,
            last_timestamp: None,
            max_wait: max_wait.max(1),
            events: VecDeque::new(),
            stats: AssemblerStats::default(),
        }
    }

    /// Drop counters.
    pub fn stats(&self) -> AssemblerStats {
        self.stats
    }

    /// Packets held waiting for a frame to complete.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// Adds a checked RTP packet (see [`FrameAssembler::push`]).
    pub fn push_packet<T: AsRef<[u8]>>(&mut self, packet: &RtpPacket<T>) {
        self.push(
            packet.sequence_number(),
            packet.timestamp(),
            packet.marker(),
            packet.payload(),
        );
    }

    /// Adds one packet's fields. Late and duplicate packets are counted and dropped.
    pub fn push(&mut self, seq: SeqNo, timestamp: u32, marker: bool, payload: &[u8]) {
        let Some(ext) = self.unwrapper.unwrap(seq) else {
            self.stats.late_packets += 1;
            return;
        };
        let ext = ext.0;
        match self.next {
            None => self.next = Some(ext),
            // Before the first frame, an earlier packet moves the start back.
            Some(n) if ext < n && !self.started && n - ext < self.max_wait => self.next = Some(ext),
            Some(n) if ext < n => {
                self.stats.late_packets += 1;
                return;
            }
            _ => {}
        }
        if self.buffer.contains_key(&ext) {
            self.stats.duplicate_packets += 1;
            return;
        }
        self.buffer.insert(
            ext,
            Stored {
                timestamp,
                marker,
                payload: payload.to_vec(),
            },
        );
        self.assemble(false);
    }

    /// Gives up waiting for the missing packet at the head: reports the gap and moves on to
    /// the next frame start held.
    pub fn skip_missing(&mut self) {
        self.assemble(true);
    }

    /// The next frame or gap, in sequence order.
    pub fn poll(&mut self) -> Option<AssemblerEvent> {
        self.events.pop_front()
    }

    fn walk(&self, next: u64) -> Walk {
        let Some(first) = self.buffer.get(&next) else {
            return Walk::Missing;
        };
        if !self.depacketizer.is_frame_start(&first.payload) {
            return Walk::NotStart;
        }
        let mut s = next;
        loop {
            let Some(p) = self.buffer.get(&s) else {
                return Walk::Missing;
            };
            if p.timestamp != first.timestamp {
                // A new timestamp without the previous frame's end: the frame is broken.
                return Walk::NotStart;
            }
            if self.depacketizer.is_frame_end(&p.payload, p.marker) {
                return Walk::Complete(s);
            }
            if let Some(n) = self.buffer.get(&(s + 1)) {
                if n.timestamp != p.timestamp && self.depacketizer.is_frame_start(&n.payload) {
                    // The end marker was lost but the next frame has begun.
                    return Walk::Complete(s);
                }
            }
            s += 1;
        }
    }

    fn assemble(&mut self, mut force: bool) {
        while let Some(next) = self.next {
            if self.buffer.is_empty() {
                // Nothing held: there is no gap to report yet.
                return;
            }
            match self.walk(next) {
                Walk::Complete(end) => {
                    self.emit(next, end);
                    self.next = Some(end + 1);
                }
                // Before the first frame, a non-start head may just be reordering.
                Walk::NotStart if self.started => self.skip_to_restart(next),
                Walk::NotStart | Walk::Missing => {
                    let newest = self.buffer.keys().next_back().copied().unwrap_or(next);
                    if force || newest.saturating_sub(next) >= self.max_wait {
                        force = false;
                        self.skip_to_restart(next);
                    } else {
                        return;
                    }
                }
            }
        }
    }

    /// Finds where a new frame can begin after `next` and reports everything before it.
    fn skip_to_restart(&mut self, next: u64) {
        let head_ts = self.buffer.get(&next).map(|p| p.timestamp);
        let mut restart = None;
        let mut seen_ts: Vec<u32> = head_ts.into_iter().collect();
        for (&s, p) in self.buffer.range(next + 1..) {
            if self.depacketizer.is_frame_start(&p.payload) {
                let clean = match self.buffer.get(&(s - 1)) {
                    Some(prev) => {
                        prev.timestamp != p.timestamp
                            || self.depacketizer.is_frame_end(&prev.payload, prev.marker)
                    }
                    None => {
                        !seen_ts.contains(&p.timestamp) && self.last_timestamp != Some(p.timestamp)
                    }
                };
                if clean {
                    restart = Some(s);
                    break;
                }
            }
            seen_ts.push(p.timestamp);
        }
        let restart = restart.unwrap_or_else(|| {
            self.buffer
                .keys()
                .next_back()
                .map_or(next + 1, |&k| k + 1)
                .max(next + 1)
        });
        self.buffer = self.buffer.split_off(&restart);
        self.report_gap(next, restart - 1);
        self.next = Some(restart);
    }

    fn report_gap(&mut self, first: u64, last: u64) {
        self.depacketizer.reset();
        self.after_gap = true;
        self.started = true;
        self.stats.gaps += 1;
        self.events.push_back(AssemblerEvent::Gap {
            first: ExtSeqNo(first),
            last: ExtSeqNo(last),
        });
    }

    fn emit(&mut self, first: u64, last: u64) {
        let mut data = Vec::new();
        let mut keyframe = false;
        let mut timestamp = 0;
        let mut failed = false;
        let rest = self.buffer.split_off(&(last + 1));
        let packets = core::mem::replace(&mut self.buffer, rest);
        for p in packets.values() {
            timestamp = p.timestamp;
            keyframe |= self.depacketizer.is_keyframe(&p.payload);
            if let Err(e) = self.depacketizer.depacketize(&p.payload, &mut data) {
                tracing::debug!(error = %e, "dropping frame with a malformed packet");
                failed = true;
                break;
            }
        }
        if failed {
            self.stats.malformed_frames += 1;
            self.report_gap(first, last);
            return;
        }
        self.started = true;
        self.stats.frames += 1;
        self.last_timestamp = Some(timestamp);
        self.events.push_back(AssemblerEvent::Frame(Frame {
            timestamp,
            data,
            keyframe,
            first_seq: ExtSeqNo(first),
            last_seq: ExtSeqNo(last),
            after_gap: core::mem::take(&mut self.after_gap),
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{
        H264Depacketizer, H264Packetizer, OpusDepacketizer, Packetizer, Vp8Depacketizer,
        Vp8Packetizer,
    };
    use rand::seq::SliceRandom;
    use rand::SeedableRng;

    fn vp8_frame(i: u8, len: usize) -> Vec<u8> {
        let mut f = vec![u8::from(i % 10 != 0), 0x02, 0x00];
        f.extend((0..len).map(|j| (j as u8).wrapping_add(i)));
        f
    }

    /// `(seq, ts, marker, payload)` for `frames` VP8 frames at `mtu`.
    fn packets(frames: u8, mtu: usize) -> Vec<(SeqNo, u32, bool, Vec<u8>, u8)> {
        let mut p = Vp8Packetizer::default();
        let mut seq = SeqNo(65_500);
        let mut out = Vec::new();
        for i in 0..frames {
            let payloads = p
                .packetize(mtu, &vp8_frame(i, 300 + usize::from(i) * 7))
                .unwrap();
            let n = payloads.len();
            for (j, pl) in payloads.into_iter().enumerate() {
                out.push((seq, u32::from(i) * 3000, j + 1 == n, pl, i));
                seq = seq.next();
            }
        }
        out
    }

    fn drain<D: Depacketizer>(a: &mut FrameAssembler<D>) -> Vec<AssemblerEvent> {
        core::iter::from_fn(|| a.poll()).collect()
    }

    #[test]
    fn reordered_frames_come_out_in_order() {
        let mut pk = packets(20, 100);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        // Shuffle within windows of 8 packets (bounded reordering).
        for w in pk.chunks_mut(8) {
            w.shuffle(&mut rng);
        }
        let mut a = FrameAssembler::new(Vp8Depacketizer, 64);
        for (s, ts, m, p, _) in &pk {
            a.push(*s, *ts, *m, p);
        }
        let frames: Vec<Frame> = drain(&mut a)
            .into_iter()
            .map(|e| match e {
                AssemblerEvent::Frame(f) => f,
                g => panic!("unexpected {g:?}"),
            })
            .collect();
        assert_eq!(frames.len(), 20);
        for (i, f) in frames.iter().enumerate() {
            assert_eq!(f.data, vp8_frame(i as u8, 300 + i * 7));
            assert_eq!(f.timestamp, i as u32 * 3000);
            assert_eq!(f.keyframe, i % 10 == 0);
            assert!(!f.after_gap);
        }
        // The sequence numbers crossed the wrap.
        assert!(frames.last().unwrap().last_seq.0 > 65_535);
        assert_eq!(a.buffered(), 0);
    }

    #[test]
    fn loss_reports_gap_and_resumes() {
        let pk = packets(6, 100);
        // Lose one packet of frame 2.
        let lost = pk.iter().position(|p| p.4 == 2).unwrap() + 1;
        let mut a = FrameAssembler::new(Vp8Depacketizer, 4);
        for (k, (s, ts, m, p, _)) in pk.iter().enumerate() {
            if k != lost {
                a.push(*s, *ts, *m, p);
            }
        }
        let ev = drain(&mut a);
        let frames: Vec<u8> = ev
            .iter()
            .filter_map(|e| match e {
                AssemblerEvent::Frame(f) => Some((f.timestamp / 3000) as u8),
                _ => None,
            })
            .collect();
        assert_eq!(frames, vec![0, 1, 3, 4, 5]);
        let gap = ev
            .iter()
            .find(|e| matches!(e, AssemblerEvent::Gap { .. }))
            .unwrap();
        let first2 = pk.iter().position(|p| p.4 == 2).unwrap();
        let first3 = pk.iter().position(|p| p.4 == 3).unwrap();
        let base = 65_500u64;
        assert_eq!(
            *gap,
            AssemblerEvent::Gap {
                first: ExtSeqNo(base + first2 as u64),
                last: ExtSeqNo(base + first3 as u64 - 1)
            }
        );
        let f3 = ev.iter().find_map(|e| match e {
            AssemblerEvent::Frame(f) if f.timestamp == 9000 => Some(f),
            _ => None,
        });
        assert!(f3.unwrap().after_gap);
        assert_eq!(a.stats().gaps, 1);
    }

    #[test]
    fn skip_missing_and_late_packets() {
        let pk = packets(3, 100);
        let first1 = pk.iter().position(|p| p.4 == 1).unwrap();
        let mut a = FrameAssembler::new(Vp8Depacketizer, 1000);
        for (k, (s, ts, m, p, _)) in pk.iter().enumerate() {
            if k != first1 {
                a.push(*s, *ts, *m, p);
            }
        }
        // Frame 0 out; frame 1 waits for its first packet.
        assert_eq!(drain(&mut a).len(), 1);
        // Skipping with nothing held reports nothing.
        let mut empty = FrameAssembler::new(Vp8Depacketizer, 10);
        for (s, ts, m, p, _) in pk.iter().take(first1) {
            empty.push(*s, *ts, *m, p);
        }
        empty.skip_missing();
        assert!(matches!(empty.poll(), Some(AssemblerEvent::Frame(_))));
        assert!(empty.poll().is_none());
        a.skip_missing();
        let ev = drain(&mut a);
        assert!(matches!(ev[0], AssemblerEvent::Gap { .. }));
        assert!(matches!(&ev[1], AssemblerEvent::Frame(f) if f.timestamp == 6000 && f.after_gap));
        // The missing packet now arrives too late.
        let (s, ts, m, p, _) = &pk[first1];
        a.push(*s, *ts, *m, p);
        assert_eq!(a.stats().late_packets, 1);
        assert!(a.poll().is_none());
        // A duplicate is counted.
        let (s, ts, m, p, _) = &pk[0];
        a.push(*s, *ts, *m, p);
        assert_eq!(a.stats().late_packets, 2);
    }

    #[test]
    fn reordering_before_the_first_frame() {
        let pk = packets(2, 100);
        let mut a = FrameAssembler::new(Vp8Depacketizer, 64);
        for k in [1usize, 0].into_iter().chain(2..pk.len()) {
            let (s, ts, m, p, _) = &pk[k];
            a.push(*s, *ts, *m, p);
        }
        let ev = drain(&mut a);
        assert_eq!(ev.len(), 2, "{ev:?}");
        assert!(ev
            .iter()
            .all(|e| matches!(e, AssemblerEvent::Frame(f) if !f.after_gap)));
    }

    #[test]
    fn audio_every_packet_is_a_frame() {
        let mut a = FrameAssembler::new(OpusDepacketizer, 8);
        a.push(SeqNo(10), 0, false, &[1]);
        a.push(SeqNo(12), 1920, false, &[3]);
        a.push(SeqNo(11), 960, false, &[2]);
        a.push(SeqNo(12), 1920, false, &[3]);
        let ev = drain(&mut a);
        assert_eq!(ev.len(), 3);
        assert_eq!(a.stats().duplicate_packets + a.stats().late_packets, 1);
    }

    #[test]
    fn malformed_packet_drops_frame() {
        let mut p = H264Packetizer::default();
        let frame = [0, 0, 0, 1, 0x65, 1, 2, 3, 4, 5, 6, 7, 8, 9];
        let payloads = p.packetize(5, &frame).unwrap();
        assert!(payloads.len() > 2);
        let mut a = FrameAssembler::new(H264Depacketizer::default(), 16);
        for (i, pl) in payloads.iter().enumerate() {
            let mut pl = pl.clone();
            if i == 1 {
                pl.truncate(1); // FU-A without its header octet
            }
            a.push(SeqNo(i as u16), 0, i + 1 == payloads.len(), &pl);
        }
        assert!(matches!(a.poll(), Some(AssemblerEvent::Gap { .. })));
        assert_eq!(a.stats().malformed_frames, 1);
    }
}
