//! Allocation counts and EVEN-PORT reservations: what the quotas need to see of every
//! allocation. One core owns its ledger; the shards of the multi-threaded runtime (a core per
//! worker thread) share one, so quotas and reservation tokens hold server-wide.
//!
//! Only control messages touch it (Allocate, deletion, reservations, the sweep): never the
//! data path.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// A port kept by EVEN-PORT with the R bit, until an Allocate names its token.
#[derive(Debug)]
pub(crate) struct Reservation {
    pub(crate) relay: SocketAddr,
    pub(crate) expires: Instant,
}

#[derive(Debug, Default)]
pub(crate) struct LedgerState {
    /// Allocations alive (bound or binding).
    total: usize,
    per_user: HashMap<String, usize>,
    pub(crate) reservations: HashMap<[u8; 8], Reservation>,
}

impl LedgerState {
    /// Counts a new allocation for `username` if both quotas allow it.
    fn admit(&mut self, username: &str, max_total: usize, max_per_user: usize) -> bool {
        let user = self.per_user.get(username).copied().unwrap_or(0);
        if user >= max_per_user || self.total >= max_total {
            return false;
        }
        self.total += 1;
        *self.per_user.entry(username.to_owned()).or_default() += 1;
        true
    }

    fn release(&mut self, username: &str) {
        let Some(n) = self.per_user.get_mut(username) else {
            return;
        };
        *n = n.saturating_sub(1);
        if *n == 0 {
            self.per_user.remove(username);
        }
        self.total = self.total.saturating_sub(1);
    }
}

/// What the shards of one server share: the ledger, and the nonce secret and epoch so that
/// any shard accepts the nonces of another.
#[derive(Debug)]
#[cfg_attr(not(feature = "tokio"), allow(dead_code))]
pub(crate) struct SharedLedger {
    pub(crate) nonce_secret: [u8; 32],
    pub(crate) epoch: Instant,
    state: Mutex<LedgerState>,
}

impl SharedLedger {
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn new(nonce_secret: [u8; 32], epoch: Instant) -> Self {
        SharedLedger {
            nonce_secret,
            epoch,
            state: Mutex::new(LedgerState::default()),
        }
    }
}

#[derive(Debug)]
pub(crate) enum Ledger {
    Own(LedgerState),
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    Shared(Arc<SharedLedger>),
}

impl Ledger {
    pub(crate) fn with<R>(&mut self, f: impl FnOnce(&mut LedgerState) -> R) -> R {
        match self {
            Ledger::Own(s) => f(s),
            // A panic elsewhere while holding it leaves counts that are still usable.
            Ledger::Shared(s) => f(&mut s.state.lock().unwrap_or_else(|e| e.into_inner())),
        }
    }

    /// Reservations kept now.
    #[cfg_attr(not(feature = "fuzzing"), allow(dead_code))]
    pub(crate) fn reservations(&self) -> usize {
        match self {
            Ledger::Own(s) => s.reservations.len(),
            Ledger::Shared(s) => s
                .state
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .reservations
                .len(),
        }
    }

    pub(crate) fn admit(&mut self, username: &str, max_total: usize, max_per_user: usize) -> bool {
        self.with(|s| s.admit(username, max_total, max_per_user))
    }

    pub(crate) fn release(&mut self, username: &str) {
        self.with(|s| s.release(username));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotas_count_per_user_and_in_total() {
        let mut l = LedgerState::default();
        assert!(l.admit("a", 3, 2));
        assert!(l.admit("a", 3, 2));
        assert!(!l.admit("a", 3, 2), "per-user quota");
        assert!(l.admit("b", 3, 2));
        assert!(!l.admit("c", 3, 2), "total quota");
        l.release("a");
        assert!(l.admit("c", 3, 2));
        l.release("c");
        l.release("c"); // more releases than admissions do not wrap
        assert_eq!(l.per_user.get("c"), None);
        assert_eq!(l.total, 2);
    }

    #[test]
    fn shards_share_one_ledger() {
        let shared = Arc::new(SharedLedger::new([0; 32], Instant::now()));
        let mut a = Ledger::Shared(shared.clone());
        let mut b = Ledger::Shared(shared);
        assert!(a.admit("u", 10, 1));
        assert!(!b.admit("u", 10, 1));
        a.release("u");
        assert!(b.admit("u", 10, 1));
    }
}
