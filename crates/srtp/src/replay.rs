//! Replay protection (RFC 3711 §3.3.2) and SRTP index estimation (RFC 3711 §3.3.1).
//!
//! The window is a ring of 64-bit words indexed by packet index (RFC 6479): sliding it
//! forward clears whole words instead of shifting the bitmap, so any window size costs
//! the same per packet.

use crate::Error;

/// Smallest replay window accepted (RFC 3711 §3.3.2 asks for at least 64).
pub const MIN_REPLAY_WINDOW: u32 = 64;
/// Largest replay window accepted (libsrtp's limit; below the 2^15 that index
/// estimation can tell apart).
pub const MAX_REPLAY_WINDOW: u32 = 32768;

/// A sliding replay window over 48-bit SRTP or 31-bit SRTCP packet indices.
#[derive(Clone, Debug)]
pub(crate) struct ReplayWindow {
    /// Highest index accepted so far (`ROC || s_l` for SRTP); meaningless until
    /// `started`.
    top: u64,
    started: bool,
    /// Window size in packets: indices `top - size + 1 ..= top` are remembered.
    size: u64,
    /// Bit `i % 64` of word `(i / 64) & mask` is set when index `i` was accepted.
    bits: Box<[u64]>,
    mask: u64,
}

impl ReplayWindow {
    /// A window of `size` packets (already validated by the policy).
    pub(crate) fn new(size: u32) -> Self {
        // One spare word so the oldest in-window index never shares a word with the
        // newest (RFC 6479 §3).
        let words = (size as usize)
            .div_ceil(64)
            .saturating_add(1)
            .next_power_of_two();
        ReplayWindow {
            top: 0,
            started: false,
            size: u64::from(size),
            bits: vec![0u64; words].into_boxed_slice(),
            mask: words as u64 - 1,
        }
    }

    /// The highest index accepted, or `None` before the first packet.
    pub(crate) fn top(&self) -> Option<u64> {
        self.started.then_some(self.top)
    }

    /// Whether `index` may be accepted: newer than the top, or inside the window and
    /// not seen. Changes nothing.
    pub(crate) fn check(&self, index: u64) -> Result<(), Error> {
        if !self.started || index > self.top {
            return Ok(());
        }
        if self.top - index >= self.size {
            return Err(Error::ReplayTooOld);
        }
        if self.word(index) & bit(index) != 0 {
            return Err(Error::ReplayDuplicate);
        }
        Ok(())
    }

    /// Records `index` as received, sliding the window forward when it is the newest.
    /// Call only after [`check`](Self::check) passed and the packet authenticated.
    pub(crate) fn accept(&mut self, index: u64) {
        if !self.started {
            self.bits.fill(0);
            self.top = index;
            self.started = true;
        } else if index > self.top {
            let from = self.top / 64;
            let to = index / 64;
            let clear = (to - from).min(self.mask + 1);
            for w in 1..=clear {
                let slot = ((from + w) & self.mask) as usize;
                if let Some(word) = self.bits.get_mut(slot) {
                    *word = 0;
                }
            }
            self.top = index;
        }
        let slot = ((index / 64) & self.mask) as usize;
        if let Some(word) = self.bits.get_mut(slot) {
            *word |= bit(index);
        }
    }

    fn word(&self, index: u64) -> u64 {
        let slot = ((index / 64) & self.mask) as usize;
        self.bits.get(slot).copied().unwrap_or(0)
    }
}

fn bit(index: u64) -> u64 {
    1u64 << (index % 64)
}

/// Estimates the 48-bit SRTP index of a packet with sequence number `seq`, given the
/// highest index received so far (RFC 3711 §3.3.1 and Appendix A): the rollover counter
/// guess `v` is ROC-1, ROC or ROC+1, whichever puts `seq` nearest to `s_l`.
///
/// Before the first packet the index is `seq` (ROC 0). A guess of ROC-1 while the ROC
/// is 0 names a packet from before the stream began: [`Error::ReplayTooOld`]. A guess
/// beyond ROC 2^32-1 is [`Error::KeyExhausted`].
pub(crate) fn estimate_index(top: Option<u64>, seq: u16) -> Result<u64, Error> {
    let Some(top) = top else {
        return Ok(u64::from(seq));
    };
    let roc = top >> 16;
    let s_l = (top & 0xffff) as i64;
    let seq_i = i64::from(seq);
    let v = if s_l < 32768 {
        if seq_i - s_l > 32768 {
            roc.checked_sub(1).ok_or(Error::ReplayTooOld)?
        } else {
            roc
        }
    } else if s_l - 32768 > seq_i {
        roc + 1
    } else {
        roc
    };
    if v > u64::from(u32::MAX) {
        return Err(Error::KeyExhausted);
    }
    Ok((v << 16) | u64::from(seq))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    #[test]
    fn window_accepts_new_rejects_duplicates_and_old() {
        let mut w = ReplayWindow::new(128);
        assert_eq!(w.check(1000), Ok(()));
        w.accept(1000);
        assert_eq!(w.check(1000), Err(Error::ReplayDuplicate));
        assert_eq!(w.check(999), Ok(()));
        assert_eq!(w.check(1000 - 127), Ok(()));
        assert_eq!(w.check(1000 - 128), Err(Error::ReplayTooOld));
        w.accept(990);
        assert_eq!(w.check(990), Err(Error::ReplayDuplicate));
        w.accept(1200);
        assert_eq!(w.check(1000), Err(Error::ReplayTooOld));
        assert_eq!(w.check(1073), Ok(()));
        assert_eq!(w.check(1072), Err(Error::ReplayTooOld));
        // A jump far beyond the window forgets everything behind it.
        w.accept(1_000_000);
        assert_eq!(w.check(1_000_000 - 1), Ok(()));
        assert_eq!(w.check(1_000_000), Err(Error::ReplayDuplicate));
    }

    #[test]
    fn index_estimation_rfc3711_appendix_a() {
        // No packet yet: ROC 0.
        assert_eq!(estimate_index(None, 65535), Ok(65535));
        // s_l = 65535, ROC 0: 0 is the next packet after a rollover.
        assert_eq!(estimate_index(Some(65535), 0), Ok(0x1_0000));
        assert_eq!(estimate_index(Some(65535), 65000), Ok(65000));
        // s_l = 5 after a rollover (ROC 1): 65530 is a late packet from ROC 0.
        assert_eq!(estimate_index(Some(0x1_0005), 65530), Ok(65530));
        assert_eq!(estimate_index(Some(0x1_0005), 6), Ok(0x1_0006));
        // ROC 0, s_l small: a seq far ahead means ROC -1, i.e. before the stream.
        assert_eq!(estimate_index(Some(5), 40000), Err(Error::ReplayTooOld));
        // The boundaries: exactly 32768 ahead stays in the same ROC.
        assert_eq!(estimate_index(Some(0x2_0000), 32768), Ok(0x2_8000));
        assert_eq!(estimate_index(Some(0x2_0000), 32769), Ok(0x1_8001));
        assert_eq!(estimate_index(Some(0x2_8000), 0), Ok(0x2_0000));
        assert_eq!(estimate_index(Some(0x2_8001), 0), Ok(0x3_0000));
        // ROC would pass 2^32 - 1.
        assert_eq!(
            estimate_index(Some(0xffff_ffff_ffff), 3),
            Err(Error::KeyExhausted)
        );
    }

    proptest! {
        /// The ring window agrees with a plain model (set of seen indices + top) on any
        /// sequence of indices.
        #[test]
        fn window_matches_model(
            size in prop::sample::select(vec![64u32, 100, 128, 1000, 4096]),
            steps in prop::collection::vec((0u64..3, 0u64..5000), 1..400),
        ) {
            let mut w = ReplayWindow::new(size);
            let mut seen: HashSet<u64> = HashSet::new();
            let mut top: Option<u64> = None;
            let mut cur = 100_000u64;
            for (kind, delta) in steps {
                let index = match kind {
                    0 => { cur += delta % 70; cur }
                    1 => cur.saturating_sub(delta % (u64::from(size) + 50)),
                    _ => { cur += delta; cur }
                };
                let model = match top {
                    None => Ok(()),
                    Some(t) if index > t => Ok(()),
                    Some(t) if t - index >= u64::from(size) => Err(Error::ReplayTooOld),
                    Some(_) if seen.contains(&index) => Err(Error::ReplayDuplicate),
                    Some(_) => Ok(()),
                };
                prop_assert_eq!(w.check(index), model);
                if model.is_ok() {
                    w.accept(index);
                    seen.insert(index);
                    top = Some(top.map_or(index, |t| t.max(index)));
                }
                prop_assert_eq!(w.top(), top);
            }
        }

        /// Estimation recovers the true index whenever it lies within 2^15 of the top.
        #[test]
        fn estimation_recovers_nearby_indices(top in 32768u64..(1 << 40), off in -32767i64..32767) {
            let truth = (top as i64 + off) as u64;
            prop_assert_eq!(estimate_index(Some(top), truth as u16), Ok(truth));
        }
    }
}
