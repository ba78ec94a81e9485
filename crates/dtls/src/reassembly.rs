//! Handshake message reassembly (RFC 6347 §4.2.3): fragments arrive out of order,
//! overlapping and duplicated; messages are handed out strictly in `message_seq` order.

use crate::wire::{HandshakeFragment, HandshakeType};
use std::time::{Duration, Instant};

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

/// One message being reassembled: its bytes and the ranges received so far.
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
    fn new(seq: u16, epoch: u16, msg_type: HandshakeType, len: usize) -> Partial {
        Partial {
            seq,
            epoch,
            msg_type,
            data: vec![0; len],
            ranges: Vec::new(),
        }
    }

    /// Whether `frag` belongs to this message (same type, epoch and total length).
    fn fits(&self, epoch: u16, frag: &HandshakeFragment<'_>) -> bool {
        self.epoch == epoch
            && self.msg_type == frag.header.msg_type
            && self.data.len() == frag.header.length as usize
    }

    /// Copies the fragment's bytes in; false if it lies outside the message or would
    /// exceed [`MAX_RANGES`] disjoint ranges.
    fn insert(&mut self, frag: &HandshakeFragment<'_>) -> bool {
        let start = frag.header.fragment_offset as usize;
        let Some(end) = start.checked_add(frag.body.len()) else {
            return false;
        };
        if start == end {
            return end <= self.data.len();
        }
        let Some(dst) = self.data.get_mut(start..end) else {
            return false;
        };
        // Merge into the sorted range list without allocating: find where it goes,
        // swallow every range it touches.
        let first = self.ranges.partition_point(|r| r.1 < start);
        let last = self.ranges.partition_point(|r| r.0 <= end);
        let (mut s, mut e) = (start, end);
        if let Some(r) = self.ranges.get(first..last) {
            if let (Some(a), Some(b)) = (r.first(), r.last()) {
                s = s.min(a.0);
                e = e.max(b.1);
            }
        }
        let touched = last.saturating_sub(first);
        if touched == 0 && self.ranges.len() >= MAX_RANGES {
            return false;
        }
        // Overlapping bytes are overwritten: a peer retransmits the same bytes, and a
        // forged difference fails the cookie or Finished check later anyway.
        dst.copy_from_slice(frag.body);
        if touched == 0 {
            self.ranges.insert(first, (s, e));
        } else {
            self.ranges.drain(first + 1..last);
            if let Some(r) = self.ranges.get_mut(first) {
                *r = (s, e);
            }
        }
        true
    }

    fn complete(&self) -> bool {
        self.data.is_empty() || self.ranges.first() == Some(&(0, self.data.len()))
    }

    fn into_message(self) -> Message {
        Message {
            seq: self.seq,
            epoch: self.epoch,
            msg_type: self.msg_type,
            body: self.data,
        }
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
                self.partial
                    .push(Partial::new(h.message_seq, epoch, h.msg_type, len));
                self.partial.len() - 1
            }
        };
        match self.partial.get_mut(idx) {
            Some(p) if p.fits(epoch, frag) => {
                if p.insert(frag) {
                    Insert::Buffered
                } else {
                    Insert::Dropped
                }
            }
            _ => Insert::Dropped,
        }
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
        Some(p.into_message())
    }

    /// Bytes held for incomplete or future messages.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn buffered_bytes(&self) -> usize {
        self.buffered
    }
}

/// Largest ClientHello reassembled before the cookie exchange. Chromium's, with a
/// post-quantum key share, is about 1.7 KB; DTLS 1.3-capable clients may send more.
pub(crate) const MAX_CLIENT_HELLO_LEN: u32 = 16 * 1024;

/// What happened to a ClientHello fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HelloInsert {
    /// Kept; the ClientHello is not complete yet.
    Pending,
    /// Refused: over a limit, outside the message, or of an older ClientHello.
    Dropped,
    /// This fragment completed the ClientHello.
    Complete(Message),
}

/// A server's buffer for one fragmented ClientHello before the cookie exchange
/// (RFC 6347 §4.2.1 allows buffering it; §4.2.3 fragmentation).
///
/// It holds at most one ClientHello of at most [`MAX_CLIENT_HELLO_LEN`] bytes in at most
/// [`MAX_RANGES`] disjoint pieces, whoever sends it: the stateless phase allocates no
/// more than that per connection. A fragment of a newer ClientHello (higher
/// `message_seq`, or the same with another length) replaces it; one of an older
/// ClientHello (a late copy of the first one after a HelloVerifyRequest) is dropped,
/// unless the buffered one has seen no fragment for `stale_after`, so that one forged
/// fragment cannot block reassembly for good.
#[derive(Debug, Default)]
pub(crate) struct HelloReassembler {
    partial: Option<Partial>,
    /// When `partial` last took a fragment.
    updated: Option<Instant>,
}

impl HelloReassembler {
    /// Adds one epoch-0 ClientHello fragment received at `now`.
    pub(crate) fn insert(
        &mut self,
        frag: &HandshakeFragment<'_>,
        now: Instant,
        stale_after: Duration,
    ) -> HelloInsert {
        let h = &frag.header;
        if h.msg_type != HandshakeType::CLIENT_HELLO || h.length > MAX_CLIENT_HELLO_LEN {
            return HelloInsert::Dropped;
        }
        let stale = self
            .updated
            .is_none_or(|t| now.saturating_duration_since(t) >= stale_after);
        let same = match &self.partial {
            Some(p) if p.seq > h.message_seq && !stale => return HelloInsert::Dropped,
            Some(p) => p.seq == h.message_seq && p.fits(0, frag),
            None => false,
        };
        if !same {
            self.partial = Some(Partial::new(
                h.message_seq,
                0,
                HandshakeType::CLIENT_HELLO,
                h.length as usize,
            ));
        }
        let Some(p) = self.partial.as_mut() else {
            return HelloInsert::Dropped;
        };
        if !p.insert(frag) {
            return HelloInsert::Dropped;
        }
        self.updated = Some(now);
        if !p.complete() {
            return HelloInsert::Pending;
        }
        self.updated = None;
        match self.partial.take() {
            Some(p) => HelloInsert::Complete(p.into_message()),
            None => HelloInsert::Dropped,
        }
    }

    /// Forgets the buffered ClientHello and frees its memory.
    pub(crate) fn clear(&mut self) {
        *self = HelloReassembler::default();
    }

    /// Bytes held for an incomplete ClientHello.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn buffered_bytes(&self) -> usize {
        self.partial.as_ref().map_or(0, |p| p.data.len())
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

    fn hello(seq: u16, len: u32, off: u32, body: &[u8]) -> HandshakeFragment<'_> {
        HandshakeFragment {
            header: HandshakeHeader {
                msg_type: HandshakeType::CLIENT_HELLO,
                ..frag(seq, len, off, body).header
            },
            body,
        }
    }

    #[test]
    fn client_hello_reassembly_order_and_bounds() {
        let t0 = Instant::now();
        let stale = Duration::from_secs(1);
        let msg: Vec<u8> = (0..200).map(|i| i as u8).collect();
        let mut r = HelloReassembler::default();
        assert_eq!(
            r.insert(&hello(0, 200, 100, &msg[100..]), t0, stale),
            HelloInsert::Pending
        );
        assert_eq!(r.buffered_bytes(), 200);
        assert_eq!(
            r.insert(&hello(0, 200, 100, &msg[100..]), t0, stale),
            HelloInsert::Pending
        );
        let HelloInsert::Complete(m) = r.insert(&hello(0, 200, 0, &msg[..120]), t0, stale) else {
            panic!("not complete")
        };
        assert_eq!(
            (m.seq, m.msg_type, &m.body),
            (0, HandshakeType::CLIENT_HELLO, &msg)
        );
        assert_eq!(r.buffered_bytes(), 0);
        // Not a ClientHello, or over the cap: dropped, nothing kept.
        assert_eq!(
            r.insert(&frag(0, 200, 0, &msg[..1]), t0, stale),
            HelloInsert::Dropped
        );
        assert_eq!(
            r.insert(&hello(0, MAX_CLIENT_HELLO_LEN + 1, 0, &msg[..1]), t0, stale),
            HelloInsert::Dropped
        );
        assert_eq!(r.buffered_bytes(), 0);
        // Range cap: many disjoint single bytes.
        let dropped = (0..100)
            .filter(|i| r.insert(&hello(0, 1000, i * 3, &[0]), t0, stale) == HelloInsert::Dropped)
            .count();
        assert_eq!(dropped, 100 - MAX_RANGES);
        assert_eq!(r.buffered_bytes(), 1000);
        r.clear();
        assert_eq!(r.buffered_bytes(), 0);
    }

    #[test]
    fn newer_client_hello_wins_older_waits_until_stale() {
        let t0 = Instant::now();
        let stale = Duration::from_secs(1);
        let mut r = HelloReassembler::default();
        // A newer message_seq replaces the buffered hello.
        assert_eq!(
            r.insert(&hello(0, 10, 0, &[1; 5]), t0, stale),
            HelloInsert::Pending
        );
        assert_eq!(
            r.insert(&hello(1, 20, 0, &[2; 5]), t0, stale),
            HelloInsert::Pending
        );
        // An older one is dropped while the newer one is fresh...
        assert_eq!(
            r.insert(&hello(0, 10, 5, &[1; 5]), t0, stale),
            HelloInsert::Dropped
        );
        assert_eq!(r.buffered_bytes(), 20);
        // ...and the newer one completes.
        let HelloInsert::Complete(m) = r.insert(&hello(1, 20, 5, &[2; 15]), t0, stale) else {
            panic!()
        };
        assert_eq!((m.seq, m.body), (1, vec![2; 20]));
        // A forged high message_seq blocks older hellos only until it is stale.
        assert_eq!(
            r.insert(&hello(9, 10, 0, &[0; 1]), t0, stale),
            HelloInsert::Pending
        );
        assert_eq!(
            r.insert(&hello(0, 10, 0, &[1; 5]), t0, stale),
            HelloInsert::Dropped
        );
        let later = t0 + stale;
        assert_eq!(
            r.insert(&hello(0, 10, 0, &[1; 5]), later, stale),
            HelloInsert::Pending
        );
        // The same message_seq with another length: the newest wins.
        assert_eq!(
            r.insert(&hello(0, 12, 0, &[3; 5]), later, stale),
            HelloInsert::Pending
        );
        assert_eq!(r.buffered_bytes(), 12);
        let HelloInsert::Complete(m) = r.insert(&hello(0, 12, 5, &[3; 7]), later, stale) else {
            panic!()
        };
        assert_eq!(m.body, vec![3; 12]);
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
