//! Receiving side: which TSNs arrived (for SACK, RFC 9260 §6.2, §6.7) and reassembly of
//! user messages per stream (ordered by SSN or MID, unordered as soon as complete).

use bytes::{Bytes, BytesMut};
use std::collections::{BTreeMap, VecDeque};

/// Unwraps a 32-bit serial number to the 64-bit value nearest to `reference`
/// (RFC 1982 arithmetic, RFC 9260 §1.6).
pub(crate) fn unwrap_near(reference: u64, v: u32) -> u64 {
    let diff = i64::from(v.wrapping_sub(reference as u32) as i32);
    (reference as i64).wrapping_add(diff).max(0) as u64
}

/// Largest number of out-of-order TSN ranges kept; beyond it new islands are dropped (the
/// peer retransmits them), so a hostile peer cannot grow the map without bound.
const MAX_RANGES: usize = 1024;

/// Received TSNs above the cumulative point, as disjoint inclusive ranges.
#[derive(Debug)]
pub(crate) struct RecvTracker {
    /// Cumulative TSN: every TSN up to here arrived (or was skipped by FORWARD TSN).
    pub cum: u64,
    ranges: BTreeMap<u64, u64>,
    dups: Vec<u32>,
}

impl RecvTracker {
    pub fn new(peer_initial_tsn: u32) -> Self {
        RecvTracker {
            cum: (1u64 << 32) + u64::from(peer_initial_tsn) - 1,
            ranges: BTreeMap::new(),
            dups: Vec::new(),
        }
    }

    pub fn unwrap(&self, tsn: u32) -> u64 {
        unwrap_near(self.cum, tsn)
    }

    pub fn has_gaps(&self) -> bool {
        !self.ranges.is_empty()
    }

    pub fn is_received(&self, t: u64) -> bool {
        if t <= self.cum {
            return true;
        }
        self.ranges
            .range(..=t)
            .next_back()
            .is_some_and(|(_, &e)| e >= t)
    }

    /// Whether `t` could be recorded (it is new and within limits).
    pub fn can_insert(&self, t: u64) -> bool {
        if self.is_received(t) {
            return false;
        }
        if t == self.cum + 1 || self.ranges.len() < MAX_RANGES {
            return true;
        }
        // Joining an existing range adds no entry.
        self.ranges.contains_key(&(t + 1))
            || self
                .ranges
                .range(..t)
                .next_back()
                .is_some_and(|(_, &e)| e + 1 == t)
    }

    /// Records `t`; false when it was a duplicate (then remembered for the SACK).
    pub fn insert(&mut self, t: u64) -> bool {
        if self.is_received(t) {
            if self.dups.len() < 16 {
                self.dups.push(t as u32);
            }
            return false;
        }
        if t == self.cum + 1 {
            self.cum = t;
            self.absorb();
            return true;
        }
        // Merge with the range ending at t-1 and/or starting at t+1.
        let mut start = t;
        let mut end = t;
        if let Some((&s, &e)) = self.ranges.range(..t).next_back() {
            if e + 1 == t {
                start = s;
                self.ranges.remove(&s);
            }
        }
        if let Some(e) = self.ranges.remove(&(t + 1)) {
            end = e;
        }
        self.ranges.insert(start, end);
        true
    }

    fn absorb(&mut self) {
        while let Some((&s, &e)) = self.ranges.first_key_value() {
            if s <= self.cum + 1 {
                self.ranges.remove(&s);
                self.cum = self.cum.max(e);
            } else {
                break;
            }
        }
    }

    /// Moves the cumulative point to `new_cum` (FORWARD TSN, RFC 3758 §3.6).
    pub fn forward(&mut self, new_cum: u64) {
        if new_cum <= self.cum {
            return;
        }
        self.cum = new_cum;
        while let Some((&s, &e)) = self.ranges.first_key_value() {
            if s > new_cum + 1 {
                break;
            }
            self.ranges.remove(&s);
            if e > new_cum {
                self.cum = e;
                break;
            }
        }
        self.absorb();
    }

    /// Gap ack blocks relative to the cumulative TSN, at most `max`.
    pub fn gap_blocks(&self, max: usize) -> Vec<(u16, u16)> {
        let mut v = Vec::new();
        for (&s, &e) in &self.ranges {
            if v.len() >= max {
                break;
            }
            let (Ok(a), Ok(b)) = (u16::try_from(s - self.cum), u16::try_from(e - self.cum)) else {
                break;
            };
            v.push((a, b));
        }
        v
    }

    pub fn take_dups(&mut self) -> Vec<u32> {
        std::mem::take(&mut self.dups)
    }

    pub fn has_dups(&self) -> bool {
        !self.dups.is_empty()
    }
}

/// One received fragment.
#[derive(Debug)]
struct Frag {
    /// TSN (DATA) or FSN (I-DATA): consecutive within a message.
    key: u64,
    tsn: u64,
    ppid: u32,
    beginning: bool,
    ending: bool,
    data: Bytes,
}

/// A message being reassembled.
#[derive(Debug, Default)]
struct Partial {
    frags: Vec<Frag>,
    bytes: usize,
    /// Assembled (ppid, payload) once every fragment is in.
    complete: Option<(u32, Bytes)>,
}

impl Partial {
    /// Inserts in key order; false on a duplicate.
    fn insert(&mut self, f: Frag) -> bool {
        let pos = match self.frags.last() {
            Some(l) if l.key < f.key => self.frags.len(),
            None => 0,
            _ => match self.frags.binary_search_by_key(&f.key, |x| x.key) {
                Ok(_) => return false,
                Err(p) => p,
            },
        };
        self.bytes += f.data.len();
        self.frags.insert(pos, f);
        true
    }

    fn try_complete(&mut self) -> bool {
        let (Some(first), Some(last)) = (self.frags.first(), self.frags.last()) else {
            return false;
        };
        if !first.beginning || !last.ending || last.key - first.key + 1 != self.frags.len() as u64 {
            return false;
        }
        let ppid = first.ppid;
        let data = if self.frags.len() == 1 {
            self.frags[0].data.clone()
        } else {
            let mut b = BytesMut::with_capacity(self.bytes);
            for f in &self.frags {
                b.extend_from_slice(&f.data);
            }
            b.freeze()
        };
        self.frags.clear();
        self.complete = Some((ppid, data));
        true
    }
}

#[derive(Debug, Default)]
struct InStream {
    /// Next SSN (DATA) or MID (I-DATA) to deliver, unwrapped.
    next: u64,
    ordered: BTreeMap<u64, Partial>,
    /// DATA unordered fragments by TSN.
    unordered_tsn: BTreeMap<u64, Frag>,
    /// I-DATA unordered messages by MID.
    unordered_mid: BTreeMap<u32, Partial>,
}

/// A complete user message.
#[derive(Debug)]
pub(crate) struct Delivered {
    pub stream: u16,
    pub ppid: u32,
    pub data: Bytes,
}

/// The received chunk's fields the reassembly needs.
#[derive(Debug)]
pub(crate) struct InChunk {
    pub stream: u16,
    pub tsn: u64,
    /// SSN (DATA, 16 bits used) or MID (I-DATA).
    pub seq: u32,
    pub fsn: u32,
    pub ppid: u32,
    pub unordered: bool,
    pub beginning: bool,
    pub ending: bool,
    pub data: Bytes,
}

/// Reassembly queues of all inbound streams.
#[derive(Debug)]
pub(crate) struct Reassembly {
    streams: BTreeMap<u16, InStream>,
    /// Payload bytes held (counted against the receive window).
    pub bytes: usize,
    /// Fragments held (capped so tiny chunks cannot exhaust memory).
    pub frags: usize,
    max_message: usize,
    i_data: bool,
    pub delivered: VecDeque<Delivered>,
}

/// A message grew past the local max-message-size.
#[derive(Debug)]
pub(crate) struct TooLarge;

impl Reassembly {
    pub fn new(max_message: usize) -> Self {
        Reassembly {
            streams: BTreeMap::new(),
            bytes: 0,
            frags: 0,
            max_message,
            i_data: false,
            delivered: VecDeque::new(),
        }
    }

    pub fn set_i_data(&mut self, on: bool) {
        self.i_data = on;
    }

    fn unwrap_seq(&self, next: u64, seq: u32) -> Option<u64> {
        let diff = if self.i_data {
            i64::from(seq.wrapping_sub(next as u32) as i32)
        } else {
            i64::from((seq as u16).wrapping_sub(next as u16) as i16)
        };
        u64::try_from(next as i64 + diff)
            .ok()
            .filter(|&k| k >= next)
    }

    /// Adds a fragment; complete messages go to `delivered`.
    pub fn add(&mut self, c: InChunk) -> Result<(), TooLarge> {
        let i_data = self.i_data;
        let max = self.max_message;
        let len = c.data.len();
        let frag = Frag {
            key: if i_data { u64::from(c.fsn) } else { c.tsn },
            tsn: c.tsn,
            ppid: c.ppid,
            beginning: c.beginning,
            ending: c.ending,
            data: c.data,
        };
        if !c.unordered {
            let next = self.streams.get(&c.stream).map_or(0, |s| s.next);
            let Some(key) = self.unwrap_seq(next, c.seq) else {
                return Ok(()); // an old message, already delivered or skipped
            };
            let s = self.streams.entry(c.stream).or_default();
            let p = s.ordered.entry(key).or_default();
            if p.complete.is_some() || !p.insert(frag) {
                return Ok(());
            }
            self.bytes += len;
            self.frags += 1;
            if p.bytes > max {
                return Err(TooLarge);
            }
            let n = p.frags.len();
            if p.try_complete() {
                self.frags -= n;
            }
            if p.complete.is_some() && key == s.next {
                Self::deliver_ordered(c.stream, s, &mut self.delivered, &mut self.bytes);
            }
            return Ok(());
        }
        let s = self.streams.entry(c.stream).or_default();
        if i_data {
            let p = s.unordered_mid.entry(c.seq).or_default();
            if !p.insert(frag) {
                return Ok(());
            }
            self.bytes += len;
            self.frags += 1;
            if p.bytes > max {
                return Err(TooLarge);
            }
            let n = p.frags.len();
            if p.try_complete() {
                self.frags -= n;
                if let Some(mut p) = s.unordered_mid.remove(&c.seq) {
                    if let Some((ppid, data)) = p.complete.take() {
                        self.bytes -= data.len();
                        self.delivered.push_back(Delivered {
                            stream: c.stream,
                            ppid,
                            data,
                        });
                    }
                }
            }
            return Ok(());
        }
        // DATA unordered: a message is a run of consecutive TSNs from B to E.
        let t = c.tsn;
        if s.unordered_tsn.contains_key(&t) {
            return Ok(());
        }
        s.unordered_tsn.insert(t, frag);
        self.bytes += len;
        self.frags += 1;
        let mut start = t;
        let mut size = 0usize;
        loop {
            let Some(f) = s.unordered_tsn.get(&start) else {
                return Ok(());
            };
            size += f.data.len();
            if f.beginning {
                break;
            }
            start -= 1;
        }
        let mut end = t;
        loop {
            let Some(f) = s.unordered_tsn.get(&end) else {
                return if size > max { Err(TooLarge) } else { Ok(()) };
            };
            if end != t {
                size += f.data.len();
            }
            if f.ending {
                break;
            }
            end += 1;
        }
        if size > max {
            return Err(TooLarge);
        }
        let mut b = BytesMut::with_capacity(size);
        let mut ppid = 0;
        for k in start..=end {
            if let Some(f) = s.unordered_tsn.remove(&k) {
                self.frags -= 1;
                if k == start {
                    ppid = f.ppid;
                }
                b.extend_from_slice(&f.data);
            }
        }
        self.bytes -= size;
        self.delivered.push_back(Delivered {
            stream: c.stream,
            ppid,
            data: b.freeze(),
        });
        Ok(())
    }

    fn deliver_ordered(
        stream: u16,
        s: &mut InStream,
        out: &mut VecDeque<Delivered>,
        bytes: &mut usize,
    ) {
        while let Some(mut e) = s.ordered.first_entry() {
            if *e.key() != s.next {
                break;
            }
            let Some((ppid, data)) = e.get_mut().complete.take() else {
                break;
            };
            e.remove();
            *bytes -= data.len();
            s.next += 1;
            out.push_back(Delivered { stream, ppid, data });
        }
    }

    /// FORWARD TSN (RFC 3758 §3.6): drop fragments up to `new_cum` and skip the listed SSNs.
    pub fn forward_tsn(&mut self, new_cum: u64, skipped: &[(u16, u16)]) {
        let mut freed = 0usize;
        let mut nfreed = 0usize;
        for s in self.streams.values_mut() {
            while let Some(e) = s.unordered_tsn.first_entry() {
                if *e.key() > new_cum {
                    break;
                }
                freed += e.remove().data.len();
                nfreed += 1;
            }
            s.ordered.retain(|_, p| {
                if p.complete.is_some() {
                    return true;
                }
                let before = p.frags.len();
                p.frags.retain(|f| {
                    let drop = f.tsn <= new_cum;
                    if drop {
                        freed += f.data.len();
                        nfreed += 1;
                    }
                    !drop
                });
                if p.frags.len() != before {
                    p.bytes = p.frags.iter().map(|f| f.data.len()).sum();
                }
                !p.frags.is_empty()
            });
        }
        self.bytes -= freed.min(self.bytes);
        self.frags -= nfreed.min(self.frags);
        for &(stream, ssn) in skipped {
            let Some(next) = self.streams.get(&stream).map(|s| s.next) else {
                continue;
            };
            let diff = i64::from(ssn.wrapping_sub(next as u16) as i16);
            if diff >= 0 {
                self.skip_to(stream, s_next_plus(next, diff));
            }
        }
    }

    /// I-FORWARD-TSN (RFC 8260 §2.3.2): skip messages up to a MID per stream and kind.
    pub fn i_forward_tsn(&mut self, entries: &[(u16, bool, u32)]) {
        for &(stream, unordered, mid) in entries {
            let Some(s) = self.streams.get_mut(&stream) else {
                continue;
            };
            if unordered {
                let mut freed = 0;
                let mut nfreed = 0;
                s.unordered_mid.retain(|&m, p| {
                    let keep = (mid.wrapping_sub(m) as i32) < 0;
                    if !keep {
                        freed += p.bytes;
                        nfreed += p.frags.len();
                    }
                    keep
                });
                self.bytes -= freed.min(self.bytes);
                self.frags -= nfreed.min(self.frags);
            } else {
                let next = s.next;
                let diff = i64::from(mid.wrapping_sub(next as u32) as i32);
                if diff >= 0 {
                    self.skip_to(stream, s_next_plus(next, diff));
                }
            }
        }
    }

    /// Drops ordered messages up to and including `last` and delivers what follows.
    fn skip_to(&mut self, stream: u16, last: u64) {
        let Some(s) = self.streams.get_mut(&stream) else {
            return;
        };
        // Complete messages up to `last` are still delivered, in order; incomplete ones are
        // dropped (RFC 3758 §3.6).
        let mut freed = 0usize;
        while let Some(e) = s.ordered.first_entry() {
            if *e.key() > last {
                break;
            }
            let mut p = e.remove();
            freed += p.bytes;
            self.frags -= p.frags.len().min(self.frags);
            if let Some((ppid, data)) = p.complete.take() {
                self.delivered.push_back(Delivered { stream, ppid, data });
            }
        }
        self.bytes -= freed.min(self.bytes);
        s.next = s.next.max(last + 1);
        Self::deliver_ordered(stream, s, &mut self.delivered, &mut self.bytes);
    }

    /// Streams with receive state (their expected sequence numbers may not be 0).
    pub fn streams_in_use(&self) -> impl Iterator<Item = u16> + '_ {
        self.streams.keys().copied()
    }

    /// Incoming stream reset (RFC 6525 §5.2.2): sequence numbers start again at 0.
    pub fn reset_stream(&mut self, stream: u16) {
        if let Some(s) = self.streams.remove(&stream) {
            let held: usize = s.ordered.values().map(|p| p.bytes).sum::<usize>()
                + s.unordered_tsn
                    .values()
                    .map(|f| f.data.len())
                    .sum::<usize>()
                + s.unordered_mid.values().map(|p| p.bytes).sum::<usize>();
            self.bytes -= held.min(self.bytes);
            let n = s.ordered.values().map(|p| p.frags.len()).sum::<usize>()
                + s.unordered_tsn.len()
                + s.unordered_mid
                    .values()
                    .map(|p| p.frags.len())
                    .sum::<usize>();
            self.frags -= n.min(self.frags);
        }
    }
}

fn s_next_plus(next: u64, diff: i64) -> u64 {
    next + diff as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unwrap_serial() {
        let base = (1u64 << 32) + 0xffff_fff0;
        assert_eq!(unwrap_near(base, 0x0000_0005), (2u64 << 32) + 5);
        assert_eq!(unwrap_near(base, 0xffff_ffe0), base - 0x10);
    }

    #[test]
    fn tracker_ranges_and_gaps() {
        let mut t = RecvTracker::new(100);
        let b = t.cum;
        assert!(t.insert(b + 1));
        assert!(t.insert(b + 3));
        assert!(t.insert(b + 5));
        assert!(t.insert(b + 6));
        assert_eq!(t.gap_blocks(10), vec![(2, 2), (4, 5)]);
        assert!(!t.insert(b + 3));
        assert_eq!(t.take_dups(), vec![(b + 3) as u32]);
        assert!(t.insert(b + 2));
        assert_eq!(t.cum, b + 3);
        assert_eq!(t.gap_blocks(10), vec![(2, 3)]);
        t.forward(b + 4);
        assert_eq!(t.cum, b + 6);
        assert!(!t.has_gaps());
    }

    fn chunk(tsn: u64, seq: u32, b: bool, e: bool, u: bool, d: &'static [u8]) -> InChunk {
        InChunk {
            stream: 1,
            tsn,
            seq,
            fsn: 0,
            ppid: 53,
            unordered: u,
            beginning: b,
            ending: e,
            data: Bytes::from_static(d),
        }
    }

    #[test]
    fn ordered_reassembly_waits_for_predecessor() {
        let mut r = Reassembly::new(1000);
        r.add(chunk(12, 1, true, true, false, b"second")).unwrap();
        assert!(r.delivered.is_empty());
        r.add(chunk(11, 0, false, true, false, b"lo")).unwrap();
        r.add(chunk(10, 0, true, false, false, b"hel")).unwrap();
        let d: Vec<_> = r.delivered.drain(..).map(|d| d.data).collect();
        assert_eq!(
            d,
            vec![Bytes::from_static(b"hello"), Bytes::from_static(b"second")]
        );
        assert_eq!(r.bytes, 0);
    }

    #[test]
    fn unordered_data_delivers_out_of_order_and_forward_tsn_skips() {
        let mut r = Reassembly::new(1000);
        r.add(chunk(21, 0, true, true, true, b"b")).unwrap();
        assert_eq!(r.delivered.len(), 1);
        r.add(chunk(23, 0, false, true, true, b"y")).unwrap();
        r.add(chunk(22, 0, true, false, true, b"x")).unwrap();
        assert_eq!(
            r.delivered.pop_back().unwrap().data,
            Bytes::from_static(b"xy")
        );
        // Ordered SSN 0 lost; SSN 1 waits until FORWARD TSN skips SSN 0.
        r.add(chunk(31, 1, true, true, false, b"after")).unwrap();
        r.add(chunk(29, 0, true, false, false, b"part")).unwrap();
        assert_eq!(r.delivered.len(), 1);
        r.forward_tsn(30, &[(1, 0)]);
        assert_eq!(
            r.delivered.pop_back().unwrap().data,
            Bytes::from_static(b"after")
        );
        assert_eq!(r.bytes, 0);
    }

    #[test]
    fn forward_tsn_delivers_complete_messages_it_skips_over() {
        let mut r = Reassembly::new(1000);
        // SSN 0 (TSN 40) lost, SSN 1 complete, SSN 2 (TSN 42) lost, SSN 3 complete.
        r.add(chunk(41, 1, true, true, false, b"one")).unwrap();
        r.add(chunk(43, 3, true, true, false, b"three")).unwrap();
        assert!(r.delivered.is_empty());
        r.forward_tsn(42, &[(1, 2)]);
        let d: Vec<_> = r.delivered.drain(..).map(|d| d.data).collect();
        assert_eq!(
            d,
            vec![Bytes::from_static(b"one"), Bytes::from_static(b"three")]
        );
        assert_eq!((r.bytes, r.frags), (0, 0));
    }

    #[test]
    fn too_large_is_reported() {
        let mut r = Reassembly::new(4);
        assert!(r.add(chunk(1, 0, true, false, false, b"abc")).is_ok());
        assert!(r.add(chunk(2, 0, false, false, false, b"def")).is_err());
    }
}
