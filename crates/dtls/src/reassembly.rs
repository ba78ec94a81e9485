//! Handshake message reassembly (RFC 6347 §4.2.3): fragments arrive out of order,
//! overlapping and duplicated; messages are handed out strictly in `message_seq` order.

use crate::wire::{HandshakeFragment, HandshakeType};

/// Largest handshake message body accepted (certificate chains included).
pub(crate) const MAX_MESSAGE_LEN: u32 = 32 * 1024;
/// Total bytes buffered for messages not yet complete or not yet due.
const MAX_BUFFERED_BYTES: usize = 96 * 1024;
/// How far ahead of the next expected `message_seq` fragments are kept.
const MAX_AHEAD: u16 = 12;
/// Disjoint received ranges tracked per message.
const MAX_RANGES: usize = 32;

/// A complete handshake message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Message {
    pub(crate) seq: u16,
    pub(crate) epoch: u16,
    pub(crate) msg_type: HandshakeType,
    pub(crate) body: Vec<u8>,
}

/// What happened to a fragment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Insert {
    /// Belongs to a message already processed: the peer is retransmitting.
    Old,
    /// Kept.
    Buffered,
    /// Refused: inconsistent with earlier fragments or over a limit.
    Dropped,
}

#[derive(Debug)]
struct Partial {
    seq: u16,
    epoch: u16,
    msg_type: HandshakeType,
    data: Vec<u8>,
    /// Sorted, disjoint, non-adjacent `[start, end)` ranges received.
    ranges: Vec<(usize, usize)>,
}

impl Partial {
    fn complete(&self) -> bool {
        self.data.is_empty() || self.ranges.first() == Some(&(0, self.data.len()))
    }
}

#[derive(Debug, Default)]
pub(crate) struct Reassembler {
    next_seq: u16,
    partial: Vec<Partial>,
    buffered: usize,
}

impl Reassembler {
    /// The `message_seq` of the next message to hand out.
    pub(crate) fn next_seq(&self) -> u16 {
        self.next_seq
    }

    /// Restarts at `seq`, forgetting everything buffered (server after a cookie exchange).
    pub(crate) fn reset(&mut self, seq: u16) {
        self.next_seq = seq;
        self.partial.clear();
        self.buffered = 0;
    }

    pub(crate) fn insert(&mut self, epoch: u16, frag: &HandshakeFragment<'_>) -> Insert {
        let h = &frag.header;
        if h.message_seq < self.next_seq {
            return Insert::Old;
        }
        if h.message_seq - self.next_seq >= MAX_AHEAD || h.length > MAX_MESSAGE_LEN {
            return Insert::Dropped;
        }
        let idx = match self.partial.iter().position(|p| p.seq == h.message_seq) {
            Some(i) => i,
            None => {
                let len = h.length as usize;
                if self.buffered + len > MAX_BUFFERED_BYTES {
                    return Insert::Dropped;
                }
                self.buffered += len;
                self.partial.push(Partial {
                    seq: h.message_seq,
                    epoch,
                    msg_type: h.msg_type,
                    data: vec![0; len],
                    ranges: Vec::new(),
                });
                self.partial.len() - 1
            }
        };
        let Some(p) = self.partial.get_mut(idx) else {
            return Insert::Dropped;
        };
        if p.epoch != epoch || p.msg_type != h.msg_type || p.data.len() != h.length as usize {
            return Insert::Dropped;
        }
        let start = h.fragment_offset as usize;
        let end = start + frag.body.len();
        if start == end {
            return Insert::Buffered;
        }
        let Some(dst) = p.data.get_mut(start..end) else {
            return Insert::Dropped;
        };
        // Overlapping bytes are overwritten: a peer retransmits the same bytes, and a
        // forged difference fails the Finished check later anyway.
        let mut ranges = p.ranges.clone();
        ranges.push((start, end));
        ranges.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
        for (s, e) in ranges {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        if merged.len() > MAX_RANGES {
            return Insert::Dropped;
        }
        dst.copy_from_slice(frag.body);
        p.ranges = merged;
        Insert::Buffered
    }

    /// The next message, if it is complete.
    pub(crate) fn pop(&mut self) -> Option<Message> {
        let idx = self
            .partial
            .iter()
            .position(|p| p.seq == self.next_seq && p.complete())?;
        let p = self.partial.swap_remove(idx);
        self.buffered -= p.data.len();
        self.next_seq = self.next_seq.wrapping_add(1);
        Some(Message {
            seq: p.seq,
            epoch: p.epoch,
            msg_type: p.msg_type,
            body: p.data,
        })
    }

    /// Bytes held for incomplete or future messages.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn buffered_bytes(&self) -> usize {
        self.buffered
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::HandshakeHeader;
    use proptest::prelude::*;

    fn frag(seq: u16, len: u32, off: u32, body: &[u8]) -> HandshakeFragment<'_> {
        HandshakeFragment {
            header: HandshakeHeader {
                msg_type: HandshakeType::CERTIFICATE,
                length: len,
                message_seq: seq,
                fragment_offset: off,
                fragment_length: body.len() as u32,
            },
            body,
        }
    }

    #[test]
    fn out_of_order_and_overlapping() {
        let msg: Vec<u8> = (0..100).collect();
        let mut r = Reassembler::default();
        assert_eq!(r.insert(0, &frag(1, 3, 0, &[1, 2, 3])), Insert::Buffered);
        assert_eq!(r.insert(0, &frag(0, 100, 50, &msg[50..])), Insert::Buffered);
        assert!(r.pop().is_none());
        assert_eq!(
            r.insert(0, &frag(0, 100, 10, &msg[10..60])),
            Insert::Buffered
        );
        assert_eq!(r.insert(0, &frag(0, 100, 0, &msg[..11])), Insert::Buffered);
        let m = r.pop().unwrap();
        assert_eq!((m.seq, m.body), (0, msg));
        assert_eq!(r.pop().unwrap().body, [1, 2, 3]);
        assert_eq!(r.insert(0, &frag(0, 100, 0, &[0])), Insert::Old);
        assert_eq!(r.buffered_bytes(), 0);
    }

    #[test]
    fn limits_and_inconsistency() {
        let mut r = Reassembler::default();
        assert_eq!(r.insert(0, &frag(MAX_AHEAD, 1, 0, &[1])), Insert::Dropped);
        assert_eq!(
            r.insert(0, &frag(0, MAX_MESSAGE_LEN + 1, 0, &[1])),
            Insert::Dropped
        );
        assert_eq!(r.insert(0, &frag(0, 10, 0, &[1])), Insert::Buffered);
        assert_eq!(r.insert(0, &frag(0, 11, 0, &[1])), Insert::Dropped);
        assert_eq!(r.insert(1, &frag(0, 10, 0, &[1])), Insert::Dropped);
        // Many tiny disjoint ranges hit the range cap, not memory.
        let mut r = Reassembler::default();
        let mut dropped = 0;
        for i in 0..100 {
            if r.insert(0, &frag(0, 1000, i * 3, &[0])) == Insert::Dropped {
                dropped += 1;
            }
        }
        assert_eq!(dropped, 100 - MAX_RANGES);
        // The total buffer cap bounds a flood of distinct messages.
        let mut r = Reassembler::default();
        for seq in 0..MAX_AHEAD {
            r.insert(0, &frag(seq, MAX_MESSAGE_LEN, 0, &[0]));
        }
        assert!(r.buffered_bytes() <= MAX_BUFFERED_BYTES);
    }

    proptest! {
        // Any permutation of any cover of the message, with duplicates, reassembles it.
        #[test]
        fn reassembles_any_order(cuts in proptest::collection::vec(0usize..300, 0..20),
                                 order in proptest::collection::vec(any::<prop::sample::Index>(), 0..60)) {
            let msg: Vec<u8> = (0..300).map(|i| i as u8).collect();
            let mut points: Vec<usize> = cuts;
            points.push(0);
            points.push(300);
            points.sort_unstable();
            points.dedup();
            let pieces: Vec<(usize, usize)> = points.windows(2).map(|w| (w[0], w[1])).collect();
            let mut r = Reassembler::default();
            for ix in &order {
                let (s, e) = pieces[ix.index(pieces.len())];
                r.insert(0, &frag(0, 300, s as u32, &msg[s..e]));
            }
            for &(s, e) in &pieces {
                r.insert(0, &frag(0, 300, s as u32, &msg[s..e]));
            }
            let m = r.pop().unwrap();
            prop_assert_eq!(m.body, msg);
        }
    }
}
