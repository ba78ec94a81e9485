//! The W3C "perfect negotiation" pattern: glare-free renegotiation between two peers that
//! may both make offers.

use crate::error::Error;
use crate::peer_connection::PeerConnection;
use crate::signaling::{IceCandidateInit, RtcSessionDescription, SdpType, SignalingState};

/// Perfect negotiation (W3C WebRTC §10.7 example): each peer calls the same three
/// methods; on glare (both offered at once) the *polite* peer rolls its offer back and
/// answers, the *impolite* one ignores the colliding offer. Pick one polite peer per
/// connection, e.g. the one that did not initiate.
///
/// ```
/// use oxrtc::{Config, DataChannelInit, Event, PeerConnection, PerfectNegotiation, SignalingState};
/// use std::time::Instant;
///
/// let now = Instant::now();
/// let (mut a, mut b) = (PeerConnection::new(Config::default(), now)?, PeerConnection::new(Config::default(), now)?);
/// let (mut na, mut nb) = (PerfectNegotiation::new(true), PerfectNegotiation::new(false));
/// // Glare: both create a channel, both get negotiation-needed, both offer.
/// a.create_data_channel("a", DataChannelInit::default())?;
/// b.create_data_channel("b", DataChannelInit::default())?;
/// let offer_a = na.on_negotiation_needed(&mut a)?.expect("offer");
/// let offer_b = nb.on_negotiation_needed(&mut b)?.expect("offer");
/// // The offers cross. b (impolite) ignores a's; a (polite) rolls back and answers.
/// assert_eq!(nb.on_remote_description(&mut b, offer_a)?, None);
/// let answer = na.on_remote_description(&mut a, offer_b)?.expect("answer");
/// assert_eq!(nb.on_remote_description(&mut b, answer)?, None);
/// assert_eq!((a.signaling_state(), b.signaling_state()), (SignalingState::Stable, SignalingState::Stable));
/// # Ok::<(), oxrtc::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PerfectNegotiation {
    polite: bool,
    ignore_offer: bool,
}

impl PerfectNegotiation {
    /// The pattern's state for one peer; exactly one of the two peers is `polite`.
    pub fn new(polite: bool) -> Self {
        PerfectNegotiation {
            polite,
            ignore_offer: false,
        }
    }

    /// Whether this peer yields on glare.
    pub fn polite(&self) -> bool {
        self.polite
    }

    /// On [`Event::NegotiationNeeded`](crate::Event::NegotiationNeeded): applies an
    /// implicit local offer and returns it, to be sent to the peer. `None` when an
    /// exchange is already running (the event fires again when it ends).
    ///
    /// # Errors
    /// Those of [`PeerConnection::set_local_description`].
    pub fn on_negotiation_needed(
        &mut self,
        pc: &mut PeerConnection,
    ) -> Result<Option<RtcSessionDescription>, Error> {
        if pc.signaling_state() != SignalingState::Stable {
            return Ok(None);
        }
        pc.set_local_description(None)?;
        Ok(pc.local_description())
    }

    /// On a description from the peer: applies it (a polite peer's pending offer is
    /// rolled back on glare; an impolite peer ignores the colliding offer) and, for an
    /// offer, returns the answer to send.
    ///
    /// # Errors
    /// Those of [`PeerConnection::set_remote_description`] and
    /// [`PeerConnection::set_local_description`].
    pub fn on_remote_description(
        &mut self,
        pc: &mut PeerConnection,
        desc: RtcSessionDescription,
    ) -> Result<Option<RtcSessionDescription>, Error> {
        let collision =
            desc.sdp_type == SdpType::Offer && pc.signaling_state() != SignalingState::Stable;
        self.ignore_offer = !self.polite && collision;
        if self.ignore_offer {
            return Ok(None);
        }
        let is_offer = desc.sdp_type == SdpType::Offer;
        pc.set_remote_description(desc)?;
        if is_offer {
            pc.set_local_description(None)?;
            return Ok(pc.local_description());
        }
        Ok(None)
    }

    /// On a candidate from the peer: adds it; errors for candidates of an offer this peer
    /// ignored are swallowed, as the pattern does.
    ///
    /// # Errors
    /// Those of [`PeerConnection::add_ice_candidate`], unless the offer was ignored.
    pub fn on_remote_candidate(
        &mut self,
        pc: &mut PeerConnection,
        candidate: Option<IceCandidateInit>,
    ) -> Result<(), Error> {
        match pc.add_ice_candidate(candidate) {
            Err(_) if self.ignore_offer => Ok(()),
            r => r,
        }
    }
}
