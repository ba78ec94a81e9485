//! Signaling objects in the browser's JSON shapes, and the W3C signaling state machine.

use crate::error::Error;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The type of a session description (W3C `RTCSdpType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SdpType {
    /// `"offer"`
    Offer,
    /// `"pranswer"`: a provisional answer.
    Pranswer,
    /// `"answer"`
    Answer,
    /// `"rollback"`: undo the pending offer (the SDP is empty).
    Rollback,
}

impl SdpType {
    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            SdpType::Offer => "offer",
            SdpType::Pranswer => "pranswer",
            SdpType::Answer => "answer",
            SdpType::Rollback => "rollback",
        }
    }
}

impl fmt::Display for SdpType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A session description as signaled (W3C `RTCSessionDescriptionInit`):
/// `{"type":"offer","sdp":"v=0\r\n..."}`, so a browser's message passes through unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RtcSessionDescription {
    /// Offer, pranswer, answer or rollback.
    #[serde(rename = "type")]
    pub sdp_type: SdpType,
    /// The SDP text (empty for a rollback).
    #[serde(default)]
    pub sdp: String,
}

impl RtcSessionDescription {
    /// An offer.
    pub fn offer(sdp: impl Into<String>) -> Self {
        RtcSessionDescription {
            sdp_type: SdpType::Offer,
            sdp: sdp.into(),
        }
    }

    /// An answer.
    pub fn answer(sdp: impl Into<String>) -> Self {
        RtcSessionDescription {
            sdp_type: SdpType::Answer,
            sdp: sdp.into(),
        }
    }

    /// A provisional answer.
    pub fn pranswer(sdp: impl Into<String>) -> Self {
        RtcSessionDescription {
            sdp_type: SdpType::Pranswer,
            sdp: sdp.into(),
        }
    }

    /// A rollback (W3C `{type: "rollback"}`).
    pub fn rollback() -> Self {
        RtcSessionDescription {
            sdp_type: SdpType::Rollback,
            sdp: String::new(),
        }
    }

    /// The JSON text, `{"type":...,"sdp":...}`.
    pub fn to_json(&self) -> String {
        // Serialising two strings cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses the JSON text.
    ///
    /// # Errors
    /// [`Error::InvalidDescription`] if it is not a session description object.
    pub fn from_json(json: &str) -> Result<Self, Error> {
        serde_json::from_str(json).map_err(|e| Error::InvalidDescription(e.to_string()))
    }
}

// An ICE candidate as signaled (W3C `RTCIceCandidateInit`) is oxrtc-ice's, with its JSON
// shape. An empty `candidate` means end-of-candidates for that m-section (or for all of them
// when `sdp_mid` and `sdp_m_line_index` are both absent).
pub use oxrtc_ice::CandidateInit as IceCandidateInit;

/// The signaling state (W3C `RTCSignalingState`, JSEP RFC 8829 §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignalingState {
    /// No offer/answer exchange in progress.
    #[default]
    Stable,
    /// A local offer was applied.
    HaveLocalOffer,
    /// A remote offer was applied.
    HaveRemoteOffer,
    /// A remote offer and a local provisional answer were applied.
    HaveLocalPranswer,
    /// A local offer and a remote provisional answer were applied.
    HaveRemotePranswer,
    /// The peer connection is closed.
    Closed,
}

impl SignalingState {
    /// The W3C name (`"have-local-offer"`...).
    pub fn as_str(self) -> &'static str {
        match self {
            SignalingState::Stable => "stable",
            SignalingState::HaveLocalOffer => "have-local-offer",
            SignalingState::HaveRemoteOffer => "have-remote-offer",
            SignalingState::HaveLocalPranswer => "have-local-pranswer",
            SignalingState::HaveRemotePranswer => "have-remote-pranswer",
            SignalingState::Closed => "closed",
        }
    }
}

/// Which side a description is applied to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Local,
    Remote,
}

/// The state after applying a description of `sdp_type` to `side` in `state`, per the W3C
/// state diagram (JSEP §3.2). A remote offer in `have-local-offer` is allowed: it is an
/// implicit rollback of the local offer first (W3C `setRemoteDescription` step 4.6), which
/// the caller performs.
///
/// # Errors
/// [`Error::Closed`] when closed, [`Error::InvalidState`] for any other transition.
pub(crate) fn transition(
    state: SignalingState,
    side: Side,
    sdp_type: SdpType,
) -> Result<SignalingState, Error> {
    use SdpType::*;
    use Side::*;
    use SignalingState::*;
    Ok(match (state, side, sdp_type) {
        (Closed, _, _) => return Err(Error::Closed),
        (Stable | HaveLocalOffer, Local, Offer) => HaveLocalOffer,
        (Stable | HaveRemoteOffer, Remote, Offer) => HaveRemoteOffer,
        // Implicit rollback of a local offer on glare (perfect negotiation).
        (HaveLocalOffer, Remote, Offer) => HaveRemoteOffer,
        (HaveRemoteOffer | HaveLocalPranswer, Local, Answer) => Stable,
        (HaveRemoteOffer | HaveLocalPranswer, Local, Pranswer) => HaveLocalPranswer,
        (HaveLocalOffer | HaveRemotePranswer, Remote, Answer) => Stable,
        (HaveLocalOffer | HaveRemotePranswer, Remote, Pranswer) => HaveRemotePranswer,
        (HaveLocalOffer | HaveRemoteOffer, _, Rollback) => Stable,
        (Stable | HaveLocalPranswer | HaveRemotePranswer, _, Rollback) => {
            return Err(Error::InvalidState(
                "rollback is only possible with an offer pending",
            ))
        }
        (_, Local, Offer) => {
            return Err(Error::InvalidState(
                "a local offer needs state stable or have-local-offer",
            ))
        }
        (_, Remote, Offer) => {
            return Err(Error::InvalidState(
                "a remote offer needs state stable, have-remote-offer or have-local-offer",
            ))
        }
        (_, Local, Answer | Pranswer) => {
            return Err(Error::InvalidState("a local answer needs a remote offer"))
        }
        (_, Remote, Answer | Pranswer) => {
            return Err(Error::InvalidState("a remote answer needs a local offer"))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use SdpType::*;
    use Side::*;
    use SignalingState::*;

    #[test]
    fn every_transition() {
        let states = [
            Stable,
            HaveLocalOffer,
            HaveRemoteOffer,
            HaveLocalPranswer,
            HaveRemotePranswer,
            Closed,
        ];
        let ok: &[(SignalingState, Side, SdpType, SignalingState)] = &[
            (Stable, Local, Offer, HaveLocalOffer),
            (Stable, Remote, Offer, HaveRemoteOffer),
            (HaveLocalOffer, Local, Offer, HaveLocalOffer),
            (HaveLocalOffer, Remote, Offer, HaveRemoteOffer),
            (HaveLocalOffer, Remote, Answer, Stable),
            (HaveLocalOffer, Remote, Pranswer, HaveRemotePranswer),
            (HaveLocalOffer, Local, Rollback, Stable),
            (HaveLocalOffer, Remote, Rollback, Stable),
            (HaveRemoteOffer, Remote, Offer, HaveRemoteOffer),
            (HaveRemoteOffer, Local, Answer, Stable),
            (HaveRemoteOffer, Local, Pranswer, HaveLocalPranswer),
            (HaveRemoteOffer, Local, Rollback, Stable),
            (HaveRemoteOffer, Remote, Rollback, Stable),
            (HaveLocalPranswer, Local, Pranswer, HaveLocalPranswer),
            (HaveLocalPranswer, Local, Answer, Stable),
            (HaveRemotePranswer, Remote, Pranswer, HaveRemotePranswer),
            (HaveRemotePranswer, Remote, Answer, Stable),
        ];
        let mut allowed = 0;
        for s in states {
            for side in [Local, Remote] {
                for t in [Offer, Pranswer, Answer, Rollback] {
                    let expect = ok
                        .iter()
                        .find(|(a, b, c, _)| (*a, *b, *c) == (s, side, t))
                        .map(|x| x.3);
                    let got = transition(s, side, t);
                    match expect {
                        Some(next) => {
                            assert_eq!(got, Ok(next), "{s:?} {side:?} {t:?}");
                            allowed += 1;
                        }
                        None if s == Closed => assert_eq!(got, Err(Error::Closed)),
                        None => assert!(
                            matches!(got, Err(Error::InvalidState(_))),
                            "{s:?} {side:?} {t:?} gave {got:?}"
                        ),
                    }
                }
            }
        }
        assert_eq!(allowed, ok.len());
    }

    #[test]
    fn json_shapes() {
        let d = RtcSessionDescription::offer("v=0\r\n");
        assert_eq!(d.to_json(), r#"{"type":"offer","sdp":"v=0\r\n"}"#);
        let back = RtcSessionDescription::from_json(r#"{"sdp":"x","type":"answer"}"#).unwrap();
        assert_eq!(back, RtcSessionDescription::answer("x"));
        let rb = RtcSessionDescription::from_json(r#"{"type":"rollback"}"#).unwrap();
        assert_eq!(rb, RtcSessionDescription::rollback());
        assert!(RtcSessionDescription::from_json(r#"{"type":"bogus","sdp":""}"#).is_err());

        assert_eq!(
            serde_json::to_string(&SignalingState::HaveLocalPranswer).unwrap(),
            r#""have-local-pranswer""#
        );
    }
}
