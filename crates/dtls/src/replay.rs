//! The anti-replay sliding window (RFC 6347 §4.1.2.6, after RFC 4303 §3.4.3).

/// A 64-record window over 48-bit sequence numbers of one epoch.
#[derive(Debug, Clone, Default)]
pub(crate) struct ReplayWindow {
    /// Highest sequence number accepted so far, if any.
    top: Option<u64>,
    /// Bit `i` set: `top - i` was received.
    bits: u64,
}

const WINDOW: u64 = 64;

impl ReplayWindow {
    /// Whether `seq` may be new: not seen and not older than the window. Check before
    /// decrypting; call [`ReplayWindow::accept`] only after authentication succeeded.
    pub(crate) fn check(&self, seq: u64) -> bool {
        match self.top {
            None => true,
            Some(top) if seq > top => true,
            Some(top) => {
                let back = top - seq;
                back < WINDOW && self.bits & (1 << back) == 0
            }
        }
    }

    /// Marks `seq` as received.
    pub(crate) fn accept(&mut self, seq: u64) {
        match self.top {
            None => {
                self.top = Some(seq);
                self.bits = 1;
            }
            Some(top) if seq > top => {
                let shift = seq - top;
                self.bits = if shift >= WINDOW {
                    0
                } else {
                    self.bits << shift
                } | 1;
                self.top = Some(seq);
            }
            Some(top) => {
                let back = top - seq;
                if back < WINDOW {
                    self.bits |= 1 << back;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn window_behaviour() {
        let mut w = ReplayWindow::default();
        assert!(w.check(5));
        w.accept(5);
        assert!(!w.check(5));
        assert!(w.check(4));
        assert!(w.check(6));
        w.accept(100);
        assert!(!w.check(5), "left of the window");
        assert!(w.check(37) && w.check(99));
        w.accept(99);
        assert!(!w.check(99));
        assert!(!w.check(36));
        w.accept(1 << 47);
        assert!(!w.check(100));
    }

    proptest! {
        // Against a model: a seq is accepted iff new and within 64 of the highest seen.
        #[test]
        fn matches_model(seqs in proptest::collection::vec(0u64..300, 1..200)) {
            let mut w = ReplayWindow::default();
            let mut seen = std::collections::BTreeSet::new();
            for s in seqs {
                let top = seen.iter().next_back().copied();
                let expect = !seen.contains(&s) && top.is_none_or(|t| s + 64 > t);
                prop_assert_eq!(w.check(s), expect);
                if expect {
                    w.accept(s);
                    seen.insert(s);
                }
            }
        }
    }
}
