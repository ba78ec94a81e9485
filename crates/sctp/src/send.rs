//! Sending side: per-stream message queues with fragmentation and a round-robin scheduler,
//! and the queue of outstanding (sent, not cumulatively acknowledged) chunks keyed by TSN.

use bytes::Bytes;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Instant;

/// A user message waiting to be cut into chunks.
#[derive(Debug)]
pub(crate) struct OutMessage {
    pub msg_id: u64,
    pub ppid: u32,
    pub data: Bytes,
    pub unordered: bool,
    /// Bytes already cut into chunks.
    pub offset: usize,
    /// SSN (DATA) or MID (I-DATA), assigned with the first fragment.
    pub seq: u32,
    pub next_fsn: u32,
    pub max_retransmits: Option<u16>,
    pub expires_at: Option<Instant>,
    /// True when `data` is the one-byte stand-in for an empty message (RFC 8831 §6.6).
    pub empty: bool,
}

impl OutMessage {
    fn user_remaining(&self) -> usize {
        if self.empty {
            0
        } else {
            self.data.len() - self.offset
        }
    }
}

#[derive(Debug, Default)]
struct OutStream {
    queue: VecDeque<OutMessage>,
    next_ssn: u16,
    next_mid_ordered: u32,
    next_mid_unordered: u32,
    buffered: usize,
}

/// One fragment cut from a message, ready to get a TSN.
#[derive(Debug, Clone)]
pub(crate) struct Fragment {
    pub msg_id: u64,
    pub stream: u16,
    pub seq: u32,
    pub fsn: u32,
    pub ppid: u32,
    pub unordered: bool,
    pub beginning: bool,
    pub ending: bool,
    pub data: Bytes,
    pub max_retransmits: Option<u16>,
    pub expires_at: Option<Instant>,
}

/// Messages queued per stream, served round robin.
#[derive(Debug, Default)]
pub(crate) struct SendQueue {
    streams: BTreeMap<u16, OutStream>,
    /// Streams with queued messages, in service order.
    rr: VecDeque<u16>,
    /// Stream whose head message is partly sent (without I-DATA it must finish first).
    current: Option<u16>,
    next_msg_id: u64,
    total_buffered: usize,
    /// Streams whose buffered amount went down since the last `take_drained`.
    drained: BTreeSet<u16>,
    /// Messages dropped because their lifetime ran out before they were sent.
    pub expired_unsent: u64,
}

impl SendQueue {
    /// Queues a message; returns its id.
    #[allow(clippy::too_many_arguments)]
    pub fn push(
        &mut self,
        stream: u16,
        ppid: u32,
        data: Bytes,
        empty: bool,
        unordered: bool,
        max_retransmits: Option<u16>,
        expires_at: Option<Instant>,
    ) -> u64 {
        let msg_id = self.next_msg_id;
        self.next_msg_id += 1;
        let s = self.streams.entry(stream).or_default();
        let user_len = if empty { 0 } else { data.len() };
        s.buffered += user_len;
        self.total_buffered += user_len;
        if s.queue.is_empty() && !self.rr.contains(&stream) {
            self.rr.push_back(stream);
        }
        s.queue.push_back(OutMessage {
            msg_id,
            ppid,
            data,
            unordered,
            offset: 0,
            seq: 0,
            next_fsn: 0,
            max_retransmits,
            expires_at,
            empty,
        });
        msg_id
    }

    /// Bytes queued on `stream` and not yet cut into chunks (the W3C bufferedAmount).
    pub fn buffered(&self, stream: u16) -> usize {
        self.streams.get(&stream).map_or(0, |s| s.buffered)
    }

    /// Whether anything waits to be sent.
    pub fn is_empty(&self) -> bool {
        self.rr.is_empty()
    }

    /// Whether `stream` has nothing left to cut into chunks.
    pub fn stream_idle(&self, stream: u16) -> bool {
        self.streams.get(&stream).is_none_or(|s| s.queue.is_empty())
    }

    /// Streams whose buffered amount decreased since the last call.
    pub fn take_drained(&mut self) -> BTreeSet<u16> {
        std::mem::take(&mut self.drained)
    }

    /// Streams that have sent or queued messages (their sequence numbers may not be 0).
    pub fn streams_in_use(&self) -> impl Iterator<Item = u16> + '_ {
        self.streams.keys().copied()
    }

    /// Resets the outgoing sequence numbers of a stream (RFC 6525 §5.1.2 after success).
    pub fn reset_stream(&mut self, stream: u16) {
        if let Some(s) = self.streams.get_mut(&stream) {
            s.next_ssn = 0;
            s.next_mid_ordered = 0;
            s.next_mid_unordered = 0;
            if s.queue.is_empty() {
                self.streams.remove(&stream);
            }
        }
    }

    /// Drops every queued message of a stream (the channel is gone).
    pub fn clear_stream(&mut self, stream: u16) {
        if let Some(s) = self.streams.get_mut(&stream) {
            self.total_buffered -= s.buffered;
            s.buffered = 0;
            s.queue.clear();
        }
        self.rr.retain(|&x| x != stream);
        if self.current == Some(stream) {
            self.current = None;
        }
    }

    /// Drops the rest of a partly sent message whose sent fragments were abandoned.
    pub fn discard_message(&mut self, stream: u16, msg_id: u64) {
        let Some(s) = self.streams.get_mut(&stream) else {
            return;
        };
        if s.queue.front().is_some_and(|m| m.msg_id == msg_id) {
            if let Some(m) = s.queue.pop_front() {
                let r = m.user_remaining();
                s.buffered -= r;
                self.total_buffered -= r;
                self.drained.insert(stream);
            }
            if self.current == Some(stream) {
                self.current = None;
            }
            if s.queue.is_empty() {
                self.rr.retain(|&x| x != stream);
            }
        }
    }

    /// Cuts the next fragment of at most `room` payload bytes, serving streams round robin:
    /// per message without interleaving, per fragment with it (RFC 8260 §1). Messages whose
    /// lifetime ended before their first byte was sent are dropped here.
    pub fn next_fragment(
        &mut self,
        now: Instant,
        room: usize,
        interleave: bool,
        i_data: bool,
    ) -> Option<Fragment> {
        if room == 0 {
            return None;
        }
        loop {
            let stream = match self.current {
                Some(s) if !interleave => s,
                _ => *self.rr.front()?,
            };
            let Some(s) = self.streams.get_mut(&stream) else {
                self.rr.retain(|&x| x != stream);
                self.current = None;
                continue;
            };
            let Some(m) = s.queue.front_mut() else {
                self.rr.retain(|&x| x != stream);
                self.current = None;
                continue;
            };
            if m.offset == 0 && m.expires_at.is_some_and(|e| e <= now) {
                let r = m.user_remaining();
                s.buffered -= r;
                self.total_buffered -= r;
                self.drained.insert(stream);
                s.queue.pop_front();
                self.expired_unsent += 1;
                if s.queue.is_empty() {
                    self.rr.retain(|&x| x != stream);
                }
                continue;
            }
            let beginning = m.offset == 0;
            if beginning {
                m.seq = match (i_data, m.unordered) {
                    (false, false) => {
                        let v = s.next_ssn;
                        s.next_ssn = v.wrapping_add(1);
                        u32::from(v)
                    }
                    (false, true) => 0,
                    (true, false) => {
                        let v = s.next_mid_ordered;
                        s.next_mid_ordered = v.wrapping_add(1);
                        v
                    }
                    (true, true) => {
                        let v = s.next_mid_unordered;
                        s.next_mid_unordered = v.wrapping_add(1);
                        v
                    }
                };
            }
            let take = room.min(m.data.len() - m.offset);
            let data = m.data.slice(m.offset..m.offset + take);
            m.offset += take;
            let ending = m.offset == m.data.len();
            let frag = Fragment {
                msg_id: m.msg_id,
                stream,
                seq: m.seq,
                fsn: m.next_fsn,
                ppid: m.ppid,
                unordered: m.unordered,
                beginning,
                ending,
                data,
                max_retransmits: m.max_retransmits,
                expires_at: m.expires_at,
            };
            m.next_fsn = m.next_fsn.wrapping_add(1);
            if !m.empty {
                s.buffered -= take;
                self.total_buffered -= take;
                self.drained.insert(stream);
            } else if ending {
                self.drained.insert(stream);
            }
            if ending {
                s.queue.pop_front();
                self.current = None;
            } else if !interleave {
                self.current = Some(stream);
            }
            // Round robin: move the served stream to the back (per fragment when
            // interleaving, per message otherwise).
            if interleave || ending {
                if self.rr.front() == Some(&stream) {
                    self.rr.pop_front();
                } else {
                    self.rr.retain(|&x| x != stream);
                }
                if !s.queue.is_empty() {
                    self.rr.push_back(stream);
                }
            }
            return Some(frag);
        }
    }
}

/// A DATA / I-DATA chunk that was sent and is not yet covered by the cumulative ack.
#[derive(Debug)]
pub(crate) struct SentChunk {
    pub frag: Fragment,
    pub sent_at: Instant,
    pub transmissions: u16,
    /// Covered by a gap ack block.
    pub acked: bool,
    /// Given up on (PR-SCTP); skipped by FORWARD TSN.
    pub abandoned: bool,
    /// Counted in the flight size.
    pub in_flight: bool,
    /// Marked for retransmission.
    pub needs_rtx: bool,
    pub misses: u8,
    pub fast_rtx_done: bool,
}

/// Outstanding chunks indexed by TSN: `chunks[i]` has TSN `base + i` (unwrapped, 64-bit).
#[derive(Debug, Default)]
pub(crate) struct Outstanding {
    pub chunks: VecDeque<SentChunk>,
    pub base: u64,
    /// Sum of payload bytes of chunks counted in flight.
    pub flight: usize,
    /// TSNs marked for retransmission.
    pub rtx: BTreeSet<u64>,
}

impl Outstanding {
    pub fn get(&self, tsn: u64) -> Option<&SentChunk> {
        let i = usize::try_from(tsn.checked_sub(self.base)?).ok()?;
        self.chunks.get(i)
    }

    /// One past the last TSN held.
    pub fn end(&self) -> u64 {
        self.base + self.chunks.len() as u64
    }
}
