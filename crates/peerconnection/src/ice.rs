//! ICE glue: the agent lives here (until oxrtc-ice lands, a placeholder that gathers
//! nothing and keeps remote candidates).

use crate::error::Error;
use crate::peer_connection::PeerConnection;
use crate::transport::{Datagram, TransportParams};
use std::time::Instant;

impl PeerConnection {
    pub(crate) fn ice_receive(&mut self, _d: Datagram<'_>) {
        self.transport.stats.dropped += 1;
    }

    pub(crate) fn ice_timeout(&mut self, _now: Instant) {}

    pub(crate) fn ice_poll_timeout(&self) -> Option<Instant> {
        None
    }

    pub(crate) fn ice_apply(&mut self, p: &TransportParams) -> Result<(), Error> {
        for c in &p.remote_candidates {
            self.ice_add_remote_candidate(c)?;
        }
        let _ = (p.started, p.controlling, p.remote_end_of_candidates);
        Ok(())
    }

    pub(crate) fn ice_drive(&mut self) -> bool {
        false
    }

    pub(crate) fn ice_close(&mut self) {}

    pub(crate) fn ice_restart_local(&mut self) {
        self.transport.local_candidates.clear();
    }

    pub(crate) fn ice_remote_end_of_candidates(&mut self) {}

    pub(crate) fn ice_add_remote_candidate(&mut self, candidate: &str) -> Result<(), Error> {
        if candidate.split_ascii_whitespace().count() < 8 {
            return Err(Error::InvalidCandidate(candidate.to_owned()));
        }
        Ok(())
    }
}
