//! The sans-IO `PeerConnection`: JSEP negotiation and the composition of the transports.

use crate::config::{Config, DtlsRole};
use crate::datachannel::{ChannelEntry, ChannelId, DataChannelInit, DataChannelState};
use crate::error::Error;
use crate::event::{Event, IceConnectionState, IceGatheringState, PeerConnectionState};
use crate::jsep::{self, IceCredentials, LocalTransport};
use crate::media::codecs::{default_extensions, intersect_codecs, intersect_extensions};
use crate::media::{Media, MediaStreamTrack, ReceiverState, SenderState};
use crate::signaling::{
    transition, IceCandidateInit, RtcSessionDescription, SdpType, Side, SignalingState,
};
use crate::transceiver::{Direction, MediaKind, Transceiver, TransceiverId, TransceiverInit};
use crate::transport::Transport;
use oxrtc_dtls::{Certificate, Fingerprint as DtlsFingerprint, FingerprintAlgorithm};
use oxrtc_sdp::{
    Attribute, Codec, MediaDescription, Rid, RidDirection, SessionDescription, Setup, Simulcast,
    SimulcastId,
};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;

/// Options of [`PeerConnection::create_offer`] (W3C `RTCOfferOptions`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OfferOptions {
    /// New ICE credentials: an ICE restart (RFC 8445 §9, JSEP §5.2.1).
    pub ice_restart: bool,
}

/// A description we hold, parsed, with its type.
#[derive(Debug, Clone)]
pub(crate) struct Desc {
    pub sdp_type: SdpType,
    pub sd: SessionDescription,
}

/// What an m-section of an offer we create stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Slot {
    Media(TransceiverId),
    Data,
    Rejected,
}

/// The last offer or answer we created, kept so `set_local_description` can apply it.
#[derive(Debug, Clone)]
struct Created {
    sdp: String,
    slots: Vec<(String, Slot)>,
    ice: IceCredentials,
}

/// Negotiation state saved when an offer is applied in `stable`, restored by rollback.
#[derive(Debug, Clone)]
struct Snapshot {
    mids: Vec<(TransceiverId, Option<String>)>,
    transceiver_count: usize,
    sctp_mid: Option<String>,
    local_ice: IceCredentials,
    ice_restart_pending: bool,
}

/// A WebRTC peer connection (W3C `RTCPeerConnection`) as a sans-IO state machine.
///
/// It owns the ICE agent, the DTLS connection and the SCTP association as fields and moves
/// outputs between them, like str0m's `Rtc`; it owns no socket, no clock and no task.
///
/// The API comes in four families:
/// - getters: states, descriptions, [`transceivers`](Self::transceivers),
///   [`channel`](Self::channel) handles;
/// - inputs: [`handle_receive`](Self::handle_receive) (a UDP datagram) and
///   [`handle_timeout`](Self::handle_timeout);
/// - commands: JSEP ([`create_offer`](Self::create_offer),
///   [`set_local_description`](Self::set_local_description)...), data channels, transceivers,
///   [`close`](Self::close);
/// - outputs: [`poll_transmit`](Self::poll_transmit), [`poll_event`](Self::poll_event),
///   [`poll_timeout`](Self::poll_timeout).
///
/// After every input or command, drain `poll_transmit` and `poll_event` until both return
/// `None`, then sleep until the next datagram or `poll_timeout()`.
pub struct PeerConnection {
    pub(crate) config: Config,
    pub(crate) certificate: Certificate,
    fingerprint: DtlsFingerprint,
    pub(crate) rng: ChaCha20Rng,
    pub(crate) now: Instant,
    closed: bool,
    signaling_state: SignalingState,
    session_id: u64,
    session_version: u64,
    pending_local: Option<Desc>,
    current_local: Option<Desc>,
    pending_remote: Option<Desc>,
    current_remote: Option<Desc>,
    last_offer: Option<Created>,
    last_answer: Option<Created>,
    pub(crate) transceivers: Vec<Transceiver>,
    next_track: u64,
    /// mid of the data channel m-section, once one is in a description.
    sctp_mid: Option<String>,
    /// A data channel was created: the offer needs an m=application section.
    data_wanted: bool,
    pub(crate) channels: BTreeMap<ChannelId, ChannelEntry>,
    next_channel: u64,
    /// ICE credentials of the applied local description.
    pub(crate) local_ice: IceCredentials,
    /// Credentials for our next answer after a remote ICE restart.
    pub(crate) answer_ice: Option<IceCredentials>,
    ice_restart_pending: bool,
    negotiation_needed: bool,
    snapshot: Option<Snapshot>,
    pub(crate) transport: Transport,
    pub(crate) ice: crate::ice::IceState,
    /// New credentials for the next offer of a pending ICE restart.
    offer_restart_ice: Option<IceCredentials>,
    pub(crate) events: VecDeque<Event>,
    /// RTP/RTCP state of the transceivers.
    pub(crate) media: Media,
    next_transceiver: usize,
}

impl std::fmt::Debug for PeerConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerConnection")
            .field("signaling_state", &self.signaling_state)
            .field("connection_state", &self.connection_state())
            .field("transceivers", &self.transceivers.len())
            .field("channels", &self.channels.len())
            .finish_non_exhaustive()
    }
}

impl PeerConnection {
    /// Creates a peer connection with randomness from the operating system.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a bad configuration or when the OS has no randomness.
    pub fn new(config: Config, now: Instant) -> Result<Self, Error> {
        let rng = ChaCha20Rng::try_from_os_rng()
            .map_err(|e| Error::InvalidConfig(format!("no OS randomness: {e}")))?;
        Self::with_rng(config, now, rng)
    }

    /// Creates a peer connection drawing every random value (ICE credentials, DTLS randoms,
    /// SCTP tags) from `rng`; seed it in tests for a deterministic run. The certificate is
    /// generated with ring's system randomness unless `config.certificates` has one.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a bad configuration.
    pub fn with_rng(
        config: Config,
        now: Instant,
        mut rng: impl rand_core::CryptoRng,
    ) -> Result<Self, Error> {
        config.validate()?;
        let certificate = match config.certificates.first() {
            Some(c) => c.clone(),
            None => Certificate::generate()
                .map_err(|e| Error::InvalidConfig(format!("certificate generation: {e}")))?,
        };
        let fingerprint = certificate.fingerprint(FingerprintAlgorithm::Sha256);
        let mut rng = ChaCha20Rng::from_rng(&mut rng);
        let local_ice = IceCredentials::random(&mut rng);
        // JSEP §5.2.1: a session id below 2^63.
        let session_id = rng.next_u64() >> 2;
        let transport = Transport::new();
        let media = Media::new(now, &mut rng);
        Ok(PeerConnection {
            config,
            certificate,
            fingerprint,
            rng,
            now,
            closed: false,
            signaling_state: SignalingState::Stable,
            session_id,
            session_version: 1,
            pending_local: None,
            current_local: None,
            pending_remote: None,
            current_remote: None,
            last_offer: None,
            last_answer: None,
            transceivers: Vec::new(),
            next_track: 0,
            sctp_mid: None,
            data_wanted: false,
            channels: BTreeMap::new(),
            next_channel: 0,
            local_ice,
            answer_ice: None,
            ice_restart_pending: false,
            negotiation_needed: false,
            snapshot: None,
            transport,
            ice: crate::ice::IceState::default(),
            offer_restart_ice: None,
            events: VecDeque::new(),
            media,
            next_transceiver: 0,
        })
    }

    // ------------------------------------------------------------------ getters

    /// The signaling state (W3C `signalingState`).
    pub fn signaling_state(&self) -> SignalingState {
        self.signaling_state
    }

    /// ICE gathering state (W3C `iceGatheringState`).
    pub fn ice_gathering_state(&self) -> IceGatheringState {
        self.transport.gathering_state
    }

    /// ICE connection state (W3C `iceConnectionState`).
    pub fn ice_connection_state(&self) -> IceConnectionState {
        if self.closed {
            return IceConnectionState::Closed;
        }
        self.transport.ice_state
    }

    /// Aggregate connection state (W3C `connectionState`).
    pub fn connection_state(&self) -> PeerConnectionState {
        if self.closed {
            return PeerConnectionState::Closed;
        }
        self.transport.connection_state()
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Our certificate's SHA-256 fingerprint, as in `a=fingerprint`.
    pub fn fingerprint(&self) -> &DtlsFingerprint {
        &self.fingerprint
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// W3C `localDescription`: the pending one, else the current one, with the candidates
    /// gathered so far.
    pub fn local_description(&self) -> Option<RtcSessionDescription> {
        self.pending_local
            .as_ref()
            .or(self.current_local.as_ref())
            .map(|d| self.render_local(d))
    }

    /// W3C `currentLocalDescription`: the local side of the last completed exchange.
    pub fn current_local_description(&self) -> Option<RtcSessionDescription> {
        self.current_local.as_ref().map(|d| self.render_local(d))
    }

    /// W3C `pendingLocalDescription`: a local offer or pranswer not yet answered.
    pub fn pending_local_description(&self) -> Option<RtcSessionDescription> {
        self.pending_local.as_ref().map(|d| self.render_local(d))
    }

    /// W3C `remoteDescription`: the pending one, else the current one, with candidates
    /// added by [`add_ice_candidate`](Self::add_ice_candidate).
    pub fn remote_description(&self) -> Option<RtcSessionDescription> {
        self.pending_remote
            .as_ref()
            .or(self.current_remote.as_ref())
            .map(render)
    }

    /// W3C `currentRemoteDescription`.
    pub fn current_remote_description(&self) -> Option<RtcSessionDescription> {
        self.current_remote.as_ref().map(render)
    }

    /// W3C `pendingRemoteDescription`.
    pub fn pending_remote_description(&self) -> Option<RtcSessionDescription> {
        self.pending_remote.as_ref().map(render)
    }

    /// The transceivers, in creation order (W3C `getTransceivers()`).
    pub fn transceivers(&self) -> impl Iterator<Item = &Transceiver> + '_ {
        self.transceivers.iter()
    }

    /// One transceiver.
    pub fn transceiver(&self, id: TransceiverId) -> Option<&Transceiver> {
        self.transceivers.iter().find(|t| t.id == id)
    }

    /// Whether a negotiation is needed (the W3C `[[NegotiationNeeded]]` flag).
    pub fn is_negotiation_needed(&self) -> bool {
        self.negotiation_needed
    }

    /// The mid of the data channel m-section, once negotiated or offered.
    pub fn sctp_mid(&self) -> Option<&str> {
        self.sctp_mid.as_deref()
    }

    // ------------------------------------------------------------------ JSEP commands

    /// Creates an offer (W3C `createOffer`, JSEP RFC 8829 §5.2): unified plan, one BUNDLE
    /// group with every accepted m-section, rtcp-mux, `a=ice-options:trickle`, a sha-256
    /// fingerprint and `a=setup:actpass`; an `m=application ... UDP/DTLS/SCTP
    /// webrtc-datachannel` section once a data channel exists. Sections of the current
    /// description keep their order and mids; stopped transceivers get port 0.
    ///
    /// # Errors
    /// [`Error::Closed`].
    pub fn create_offer(&mut self, options: OfferOptions) -> Result<RtcSessionDescription, Error> {
        if self.closed {
            return Err(Error::Closed);
        }
        let ice = if options.ice_restart || self.ice_restart_pending {
            match &self.offer_restart_ice {
                Some(c) => c.clone(),
                None => {
                    let c = self.ice_new_credentials();
                    self.offer_restart_ice = Some(c.clone());
                    c
                }
            }
        } else {
            self.local_ice.clone()
        };
        let mut used = self.used_mids();
        let mut slots: Vec<(String, Slot, Option<MediaDescription>)> = Vec::new();
        if let Some(cur) = &self.current_local {
            for m in &cur.sd.media {
                let Some(mid) = m.mid().map(str::to_owned) else {
                    continue;
                };
                let slot = if self.sctp_mid.as_deref() == Some(mid.as_str()) && !m.is_rejected() {
                    Slot::Data
                } else if let Some(t) = self
                    .transceivers
                    .iter()
                    .find(|t| t.mid.as_deref() == Some(mid.as_str()))
                {
                    if t.stopped || t.stopping {
                        Slot::Rejected
                    } else {
                        Slot::Media(t.id)
                    }
                } else {
                    Slot::Rejected
                };
                slots.push((mid, slot, Some(m.clone())));
            }
        }
        for t in &self.transceivers {
            if t.stopped || t.stopping {
                continue;
            }
            if slots.iter().any(|(_, s, _)| *s == Slot::Media(t.id)) {
                continue;
            }
            let mid = match &t.mid {
                Some(m) if !slots.iter().any(|(x, _, _)| x == m) => m.clone(),
                _ => next_mid(&mut used),
            };
            slots.push((mid, Slot::Media(t.id), None));
        }
        if self.data_wanted && !slots.iter().any(|(_, s, _)| *s == Slot::Data) {
            let mid = match &self.sctp_mid {
                Some(m) if !slots.iter().any(|(x, _, _)| x == m) => m.clone(),
                _ => next_mid(&mut used),
            };
            slots.push((mid, Slot::Data, None));
        }
        let bundle: Vec<String> = slots
            .iter()
            .filter(|(_, s, _)| *s != Slot::Rejected)
            .map(|(m, _, _)| m.clone())
            .collect();
        self.session_version += 1;
        let mut sd = jsep::session(self.session_id, self.session_version, &bundle);
        let candidates = if ice == self.local_ice {
            self.transport.local_candidates.clone()
        } else {
            Vec::new()
        };
        let lt = LocalTransport {
            ice: &ice,
            fingerprint: &self.fingerprint,
            candidates: &candidates,
            end_of_candidates: ice == self.local_ice
                && self.transport.gathering_state == IceGatheringState::Complete,
        };
        let tag = bundle.first().cloned();
        let max_msg = self.config.effective_max_message_size();
        for (mid, slot, old) in &slots {
            let with_cand = tag.as_deref() == Some(mid.as_str());
            let m = match slot {
                Slot::Data => {
                    jsep::data_section(&lt, Setup::Actpass, with_cand, mid, max_msg, None)
                }
                Slot::Media(id) => {
                    let Some(t) = self.transceivers.iter().find(|t| t.id == *id) else {
                        continue;
                    };
                    let extmaps = default_extensions(t.kind);
                    let lines = self.offer_lines(t, &extmaps);
                    jsep::media_section(&lt, Setup::Actpass, with_cand, mid, t, &lines, None)
                }
                Slot::Rejected => match old {
                    Some(o) => jsep::rejected_section(
                        o.kind.clone(),
                        o.protocol.clone(),
                        o.formats.clone(),
                        Some(mid),
                    ),
                    None => continue,
                },
            };
            sd.media.push(m);
        }
        let sdp = sd.to_string();
        self.last_offer = Some(Created {
            sdp: sdp.clone(),
            slots: slots.into_iter().map(|(m, s, _)| (m, s)).collect(),
            ice,
        });
        Ok(RtcSessionDescription::offer(sdp))
    }

    /// Creates an answer to the remote offer (W3C `createAnswer`, JSEP §5.3): every offered
    /// m-section in order, data accepted, media accepted when a codec matches (the offer's
    /// payload types kept), unknown ones rejected; the BUNDLE group of the offer minus
    /// rejected sections; `a=setup:active` to an `actpass` offer (configurable).
    ///
    /// # Errors
    /// [`Error::Closed`]; [`Error::InvalidState`] without a remote offer.
    pub fn create_answer(&mut self) -> Result<RtcSessionDescription, Error> {
        if self.closed {
            return Err(Error::Closed);
        }
        if !matches!(
            self.signaling_state,
            SignalingState::HaveRemoteOffer | SignalingState::HaveLocalPranswer
        ) {
            return Err(Error::InvalidState("create_answer needs a remote offer"));
        }
        let Some(offer) = self.pending_remote.as_ref().map(|d| d.sd.clone()) else {
            return Err(Error::InvalidState("create_answer needs a remote offer"));
        };
        let ice = self
            .answer_ice
            .clone()
            .unwrap_or_else(|| self.local_ice.clone());
        let preferred = match self.transport.dtls_role() {
            Some(DtlsRole::Client) => Setup::Active,
            Some(DtlsRole::Server) => Setup::Passive,
            None => match self.config.answer_dtls_role {
                DtlsRole::Client => Setup::Active,
                DtlsRole::Server => Setup::Passive,
            },
        };
        let offered_setup = jsep::transport_section(&offer).and_then(|m| offer.effective_setup(m));
        let setup = match self.transport.dtls_role() {
            // Renegotiation keeps the DTLS association and its roles (RFC 8842 §5.5).
            Some(_) => preferred,
            None => jsep::answer_setup(offered_setup, preferred)?,
        };
        let offered_bundle: Vec<String> = offer
            .bundle_groups()
            .next()
            .map(|g| g.mids.clone())
            .unwrap_or_default();
        // Decide per section first, to know the BUNDLE tag.
        let mut plan: Vec<(Option<String>, Slot)> = Vec::new();
        let mut data_taken = false;
        for m in &offer.media {
            let mid = m.mid().map(str::to_owned);
            let slot = if m.is_rejected() || mid.is_none() {
                Slot::Rejected
            } else if jsep::is_data_section(m) {
                if data_taken || self.sctp_mid.as_deref() != mid.as_deref() {
                    Slot::Rejected
                } else {
                    data_taken = true;
                    Slot::Data
                }
            } else if m.protocol.is_rtp() && MediaKind::from_sdp(&m.kind).is_some() {
                match self
                    .transceivers
                    .iter()
                    .find(|t| t.mid.is_some() && t.mid == mid)
                {
                    Some(t)
                        if !t.stopped
                            && !t.stopping
                            && !intersect_codecs(&t.codecs, &m.codecs()).is_empty() =>
                    {
                        Slot::Media(t.id)
                    }
                    _ => Slot::Rejected,
                }
            } else {
                Slot::Rejected
            };
            plan.push((mid, slot));
        }
        let accepted = |mid: &str| {
            plan.iter()
                .any(|(m, s)| m.as_deref() == Some(mid) && *s != Slot::Rejected)
        };
        let bundle: Vec<String> = offered_bundle
            .iter()
            .filter(|m| accepted(m))
            .cloned()
            .collect();
        let tag = bundle.first().cloned().or_else(|| {
            plan.iter()
                .find(|(_, s)| *s != Slot::Rejected)
                .and_then(|(m, _)| m.clone())
        });
        self.session_version += 1;
        let mut sd = jsep::session(self.session_id, self.session_version, &bundle);
        let candidates = if ice == self.local_ice {
            self.transport.local_candidates.clone()
        } else {
            Vec::new()
        };
        let lt = LocalTransport {
            ice: &ice,
            fingerprint: &self.fingerprint,
            candidates: &candidates,
            end_of_candidates: ice == self.local_ice
                && self.transport.gathering_state == IceGatheringState::Complete,
        };
        let max_msg = self.config.effective_max_message_size();
        let mut slots = Vec::new();
        for ((mid, slot), om) in plan.iter().zip(&offer.media) {
            let with_cand = tag.is_some() && tag == *mid;
            let mid_s = mid.clone().unwrap_or_default();
            let m = match slot {
                Slot::Rejected => jsep::rejected_section(
                    om.kind.clone(),
                    om.protocol.clone(),
                    om.formats.clone(),
                    mid.as_deref(),
                ),
                Slot::Data => jsep::data_section(&lt, setup, with_cand, &mid_s, max_msg, Some(om)),
                Slot::Media(id) => {
                    let Some(t) = self.transceivers.iter().find(|t| t.id == *id) else {
                        continue;
                    };
                    let offered_dir = jsep::section_direction(&offer, om);
                    let codecs = intersect_codecs(&t.codecs, &om.codecs());
                    let extmaps: Vec<oxrtc_sdp::Extmap> = intersect_extensions(
                        &default_extensions(t.kind),
                        &om.extmaps().cloned().collect::<Vec<_>>(),
                    );
                    let lines = self.answer_lines(
                        t,
                        t.direction.answer_to(offered_dir),
                        &codecs,
                        &extmaps,
                        om,
                    );
                    jsep::media_section(
                        &lt,
                        setup,
                        with_cand,
                        &mid_s,
                        t,
                        &lines,
                        Some(&om.protocol),
                    )
                }
            };
            sd.media.push(m);
            slots.push((mid_s, slot.clone()));
        }
        let sdp = sd.to_string();
        self.last_answer = Some(Created {
            sdp: sdp.clone(),
            slots,
            ice,
        });
        Ok(RtcSessionDescription::answer(sdp))
    }

    /// Applies a local description (W3C `setLocalDescription`). `None` is the implicit form:
    /// an offer in `stable` / `have-local-offer`, else an answer, created and applied.
    /// An explicit description must be the last one created (or have an empty SDP, which
    /// means that one): SDP munging is refused. Applying an offer or answer starts ICE
    /// gathering; applying an answer completes the exchange.
    ///
    /// # Errors
    /// [`Error::Closed`], [`Error::InvalidState`] for a transition the W3C state machine
    /// does not have, [`Error::InvalidModification`] for an SDP that was not created here.
    pub fn set_local_description(
        &mut self,
        desc: Option<RtcSessionDescription>,
    ) -> Result<(), Error> {
        if self.closed {
            return Err(Error::Closed);
        }
        let desc = match desc {
            Some(d) => d,
            None => match self.signaling_state {
                SignalingState::Stable | SignalingState::HaveLocalOffer => {
                    self.create_offer(OfferOptions::default())?
                }
                SignalingState::HaveRemoteOffer | SignalingState::HaveLocalPranswer => {
                    self.create_answer()?
                }
                _ => {
                    return Err(Error::InvalidState(
                        "implicit set_local_description needs stable or an offer",
                    ))
                }
            },
        };
        let next = transition(self.signaling_state, Side::Local, desc.sdp_type)?;
        match desc.sdp_type {
            SdpType::Rollback => {
                self.rollback();
                return Ok(());
            }
            SdpType::Offer => {
                let created = match &self.last_offer {
                    Some(c) if desc.sdp.is_empty() || desc.sdp == c.sdp => c.clone(),
                    Some(_) => {
                        return Err(Error::InvalidModification(
                            "the offer is not the last one created",
                        ))
                    }
                    None if desc.sdp.is_empty() => {
                        self.create_offer(OfferOptions::default())?;
                        self.last_offer
                            .clone()
                            .ok_or(Error::InvalidState("no offer"))?
                    }
                    None => return Err(Error::InvalidModification("no offer was created")),
                };
                let sd: SessionDescription = created.sdp.parse()?;
                if self.signaling_state == SignalingState::Stable {
                    self.snapshot = Some(self.take_snapshot());
                }
                for (mid, slot) in &created.slots {
                    match slot {
                        Slot::Media(id) => {
                            if let Some(t) = self.transceivers.iter_mut().find(|t| t.id == *id) {
                                t.mid = Some(mid.clone());
                            }
                        }
                        Slot::Data => self.sctp_mid = Some(mid.clone()),
                        Slot::Rejected => {}
                    }
                }
                if created.ice != self.local_ice {
                    // The restart happens now, not at create_offer: an offer never applied
                    // leaves the agent as it was.
                    if self.ice_agent_credentials().as_ref() != Some(&created.ice) {
                        self.ice_restart_local(&created.ice);
                    }
                    self.local_ice = created.ice.clone();
                    self.ice_restart_pending = false;
                    self.offer_restart_ice = None;
                }
                self.pending_local = Some(Desc {
                    sdp_type: SdpType::Offer,
                    sd,
                });
            }
            SdpType::Answer | SdpType::Pranswer => {
                let created = match &self.last_answer {
                    Some(c) if desc.sdp.is_empty() || desc.sdp == c.sdp => c.clone(),
                    Some(_) => {
                        return Err(Error::InvalidModification(
                            "the answer is not the last one created",
                        ))
                    }
                    None if desc.sdp.is_empty() => {
                        self.create_answer()?;
                        self.last_answer
                            .clone()
                            .ok_or(Error::InvalidState("no answer"))?
                    }
                    None => return Err(Error::InvalidModification("no answer was created")),
                };
                let sd: SessionDescription = created.sdp.parse()?;
                if created.ice != self.local_ice {
                    self.local_ice = created.ice.clone();
                }
                self.answer_ice = None;
                if desc.sdp_type == SdpType::Answer {
                    // Our answer's directions are ours as they stand (W3C currentDirection).
                    self.apply_answer_directions(&sd, false);
                    self.current_local = Some(Desc {
                        sdp_type: SdpType::Answer,
                        sd,
                    });
                    self.current_remote = self.pending_remote.take();
                    self.pending_local = None;
                    self.snapshot = None;
                } else {
                    self.pending_local = Some(Desc {
                        sdp_type: SdpType::Pranswer,
                        sd,
                    });
                }
            }
        }
        self.set_signaling_state(next);
        self.apply_transport()?;
        self.media_apply();
        self.update_negotiation_needed();
        self.drive();
        Ok(())
    }

    /// Applies a remote description (W3C `setRemoteDescription`). An offer received in
    /// `have-local-offer` first rolls the local offer back (glare, perfect negotiation).
    /// A remote offer associates its m-sections with transceivers (creating `recvonly`
    /// ones as needed); an answer completes the exchange. ICE credentials, candidates and
    /// the DTLS fingerprint of the description are handed to the transports.
    ///
    /// # Errors
    /// [`Error::Closed`], [`Error::Sdp`] when it does not parse, [`Error::InvalidState`],
    /// [`Error::InvalidDescription`] when it breaks a JSEP rule (missing credentials or
    /// fingerprint, an answer that does not match the offer).
    pub fn set_remote_description(&mut self, desc: RtcSessionDescription) -> Result<(), Error> {
        if self.closed {
            return Err(Error::Closed);
        }
        let next = transition(self.signaling_state, Side::Remote, desc.sdp_type)?;
        if desc.sdp_type == SdpType::Rollback {
            self.rollback();
            return Ok(());
        }
        let sd: SessionDescription = desc.sdp.parse()?;
        let remote = jsep::remote_transport(&sd)?;
        match desc.sdp_type {
            SdpType::Offer => {
                jsep::check_offer(&sd)?;
                if self.signaling_state == SignalingState::HaveLocalOffer {
                    self.rollback(); // implicit rollback (W3C setRemoteDescription 4.6.4)
                }
                if self.signaling_state == SignalingState::Stable {
                    self.snapshot = Some(self.take_snapshot());
                }
                // A remote ICE restart: new credentials in our answer (RFC 8839 §4.4.1.1.1).
                let old_remote = self
                    .current_remote
                    .as_ref()
                    .and_then(|d| jsep::remote_transport(&d.sd).ok().flatten());
                if let (Some(old), Some(new)) = (&old_remote, &remote) {
                    if old.ice != new.ice {
                        self.ice_mark_remote_restart();
                    }
                }
                self.associate_transceivers(&sd);
                self.pending_remote = Some(Desc {
                    sdp_type: SdpType::Offer,
                    sd,
                });
            }
            SdpType::Answer | SdpType::Pranswer => {
                let Some(offer) = &self.pending_local else {
                    return Err(Error::InvalidState("no local offer"));
                };
                jsep::check_answer(&offer.sd, &sd)?;
                if remote.is_none() && sd.media.iter().any(|m| !m.is_rejected()) {
                    return Err(Error::InvalidDescription(
                        "no transport in the answer".into(),
                    ));
                }
                if desc.sdp_type == SdpType::Answer {
                    self.apply_answer_directions(&sd, true);
                    self.current_local = self.pending_local.take();
                    self.current_remote = Some(Desc {
                        sdp_type: SdpType::Answer,
                        sd,
                    });
                    self.pending_remote = None;
                    self.snapshot = None;
                } else {
                    self.pending_remote = Some(Desc {
                        sdp_type: SdpType::Pranswer,
                        sd,
                    });
                }
            }
            SdpType::Rollback => {}
        }
        self.set_signaling_state(next);
        self.apply_transport()?;
        self.media_remote_tracks();
        self.media_apply();
        self.update_negotiation_needed();
        self.drive();
        Ok(())
    }

    /// Adds a remote candidate (W3C `addIceCandidate`). `None`, or an empty `candidate`,
    /// signals end-of-candidates (RFC 8838 §8.2). Candidates of another ICE generation
    /// (`username_fragment` not the remote's current ufrag) are ignored.
    ///
    /// # Errors
    /// [`Error::Closed`]; [`Error::InvalidState`] without a remote description;
    /// [`Error::InvalidArgument`] with neither mid nor m-line index;
    /// [`Error::InvalidCandidate`] for an unknown m-section or a candidate that does not
    /// parse.
    pub fn add_ice_candidate(&mut self, candidate: Option<IceCandidateInit>) -> Result<(), Error> {
        if self.closed {
            return Err(Error::Closed);
        }
        let Some(remote) = self
            .pending_remote
            .as_mut()
            .or(self.current_remote.as_mut())
        else {
            return Err(Error::InvalidState(
                "add_ice_candidate needs a remote description",
            ));
        };
        let Some(c) = candidate else {
            for m in &mut remote.sd.media {
                if !m.end_of_candidates() {
                    m.attributes.push(Attribute::EndOfCandidates);
                }
            }
            self.ice_remote_end_of_candidates();
            self.drive();
            return Ok(());
        };
        if c.sdp_mid.is_none() && c.sdp_m_line_index.is_none() && !c.candidate.is_empty() {
            return Err(Error::InvalidArgument(
                "candidate without sdpMid and sdpMLineIndex",
            ));
        }
        let index = match (&c.sdp_mid, c.sdp_m_line_index) {
            (Some(mid), _) => remote.sd.media.iter().position(|m| m.mid() == Some(mid)),
            (None, Some(i)) => Some(usize::from(i)).filter(|i| *i < remote.sd.media.len()),
            (None, None) => None,
        };
        if let Some(ufrag) = &c.username_fragment {
            let current = jsep::remote_transport(&remote.sd).ok().flatten();
            if current.is_some_and(|r| &r.ice.ufrag != ufrag) {
                return Ok(()); // an old generation
            }
        }
        let Some(value) = c.sdp_value() else {
            match index {
                Some(i) => {
                    if let Some(m) = remote.sd.media.get_mut(i) {
                        if !m.end_of_candidates() {
                            m.attributes.push(Attribute::EndOfCandidates);
                        }
                    }
                }
                None if c.sdp_mid.is_none() && c.sdp_m_line_index.is_none() => {
                    for m in &mut remote.sd.media {
                        if !m.end_of_candidates() {
                            m.attributes.push(Attribute::EndOfCandidates);
                        }
                    }
                }
                None => return Err(Error::InvalidCandidate("unknown m-section".into())),
            }
            self.ice_remote_end_of_candidates();
            self.drive();
            return Ok(());
        };
        let Some(i) = index else {
            return Err(Error::InvalidCandidate(format!(
                "no m-section for mid {:?} / index {:?}",
                c.sdp_mid, c.sdp_m_line_index
            )));
        };
        let value = value.to_owned();
        self.ice_add_remote_candidate(&value)?;
        let remote = self
            .pending_remote
            .as_mut()
            .or(self.current_remote.as_mut());
        if let Some(m) = remote.and_then(|r| r.sd.media.get_mut(i)) {
            m.attributes.push(Attribute::Candidate(value));
        }
        self.drive();
        Ok(())
    }

    /// Asks for an ICE restart (W3C `restartIce`): the next offer carries new credentials;
    /// fires negotiation-needed.
    ///
    /// # Errors
    /// [`Error::Closed`].
    pub fn restart_ice(&mut self) -> Result<(), Error> {
        if self.closed {
            return Err(Error::Closed);
        }
        self.ice_restart_pending = true;
        self.update_negotiation_needed();
        Ok(())
    }

    // ------------------------------------------------------------------ transceivers

    /// Adds a transceiver (W3C `addTransceiver(kind, init)`); fires negotiation-needed.
    ///
    /// # Errors
    /// [`Error::Closed`].
    pub fn add_transceiver(
        &mut self,
        kind: MediaKind,
        init: TransceiverInit,
    ) -> Result<TransceiverId, Error> {
        if self.closed {
            return Err(Error::Closed);
        }
        check_encodings(&init)?;
        let id = self.new_transceiver(kind, init, None);
        self.update_negotiation_needed();
        Ok(id)
    }

    /// Adds a transceiver whose sender has `track` (W3C `addTransceiver(track, init)`);
    /// fires negotiation-needed.
    ///
    /// # Errors
    /// [`Error::Closed`]; [`Error::InvalidArgument`] for send encodings without distinct
    /// valid rids (W3C `TypeError`), or a track already attached to a sender.
    pub fn add_transceiver_with_track(
        &mut self,
        track: MediaStreamTrack,
        init: TransceiverInit,
    ) -> Result<TransceiverId, Error> {
        if self.closed {
            return Err(Error::Closed);
        }
        check_encodings(&init)?;
        self.check_track_unused(&track)?;
        let id = self.new_transceiver(track.kind(), init, Some(track));
        self.update_negotiation_needed();
        Ok(id)
    }

    /// Adds a track (W3C `addTrack(track, ...streams)`): reuses a transceiver of its kind
    /// whose sender never sent and has no track (created by a remote offer, say), turning
    /// its direction to send as well; else adds a `sendrecv` one. Fires
    /// negotiation-needed. Returns the transceiver (its sender is the W3C return value).
    ///
    /// # Errors
    /// [`Error::Closed`]; [`Error::InvalidArgument`] when the track is already on a sender
    /// (W3C `InvalidAccessError`).
    pub fn add_track(
        &mut self,
        track: MediaStreamTrack,
        stream_ids: &[&str],
    ) -> Result<TransceiverId, Error> {
        if self.closed {
            return Err(Error::Closed);
        }
        self.check_track_unused(&track)?;
        let streams: Vec<String> = stream_ids.iter().map(|s| (*s).to_owned()).collect();
        let reuse = self.transceivers.iter_mut().find(|t| {
            t.kind == track.kind()
                && t.sender_track.is_none()
                && !t.stopping
                && !t.stopped
                && !t.ever_sent
        });
        let id = match reuse {
            Some(t) => {
                t.track_id = track.id().to_owned();
                t.sender_track = Some(track);
                t.stream_ids = streams;
                t.direction = match t.direction {
                    Direction::RecvOnly => Direction::SendRecv,
                    Direction::Inactive => Direction::SendOnly,
                    d => d,
                };
                t.id
            }
            None => self.new_transceiver(
                track.kind(),
                TransceiverInit {
                    direction: Direction::SendRecv,
                    stream_ids: streams,
                    ..TransceiverInit::default()
                },
                Some(track),
            ),
        };
        self.update_negotiation_needed();
        Ok(id)
    }

    /// Removes the sender's track (W3C `removeTrack(sender)`): it stops sending and its
    /// direction loses `send` (sendrecv → recvonly, sendonly → inactive); fires
    /// negotiation-needed. Nothing happens when it has no track.
    ///
    /// # Errors
    /// [`Error::Closed`], [`Error::UnknownHandle`].
    pub fn remove_track(&mut self, id: TransceiverId) -> Result<(), Error> {
        if self.closed {
            return Err(Error::Closed);
        }
        let t = self
            .transceivers
            .iter_mut()
            .find(|t| t.id == id)
            .ok_or(Error::UnknownHandle)?;
        if t.sender_track.take().is_none() {
            return Ok(());
        }
        if !t.stopping {
            t.direction = match t.direction {
                Direction::SendRecv => Direction::RecvOnly,
                Direction::SendOnly => Direction::Inactive,
                d => d,
            };
        }
        if let Some(s) = self.media.senders.get_mut(&id) {
            s.dtmf.clear();
        }
        self.update_negotiation_needed();
        Ok(())
    }

    /// Replaces the sender's track without renegotiation (W3C `replaceTrack`): the stream
    /// keeps its SSRC and continues its sequence numbers and timestamps. `None` stops
    /// sending until a track is set again.
    ///
    /// # Errors
    /// [`Error::Closed`], [`Error::UnknownHandle`]; [`Error::InvalidArgument`] for a track
    /// of the other kind; [`Error::InvalidState`] when the transceiver is stopping.
    pub fn replace_track(
        &mut self,
        id: TransceiverId,
        track: Option<MediaStreamTrack>,
    ) -> Result<(), Error> {
        if self.closed {
            return Err(Error::Closed);
        }
        let t = self
            .transceivers
            .iter_mut()
            .find(|t| t.id == id)
            .ok_or(Error::UnknownHandle)?;
        if t.stopping || t.stopped {
            return Err(Error::InvalidState("transceiver is stopping"));
        }
        if track.as_ref().is_some_and(|x| x.kind() != t.kind) {
            return Err(Error::InvalidArgument("a track of another kind"));
        }
        t.sender_track = track;
        Ok(())
    }

    /// Sets the codecs this transceiver offers and answers with, in order (W3C
    /// `setCodecPreferences`): each matched to a codec this stack has (our payload types
    /// kept); include `rtx` to keep the RTX of the chosen video codecs, `telephone-event`
    /// for DTMF. An empty list restores the defaults. Takes effect at the next offer or
    /// answer.
    ///
    /// # Errors
    /// [`Error::UnknownHandle`]; [`Error::InvalidModification`] for a codec this stack does
    /// not have.
    pub fn set_codec_preferences(
        &mut self,
        id: TransceiverId,
        codecs: &[Codec],
    ) -> Result<(), Error> {
        let t = self
            .transceivers
            .iter_mut()
            .find(|t| t.id == id)
            .ok_or(Error::UnknownHandle)?;
        let caps = crate::media::codecs::default_codecs(t.kind);
        t.codecs = if codecs.is_empty() {
            caps
        } else {
            crate::media::codecs::preferences(&caps, codecs).ok_or(Error::InvalidModification(
                "a codec this stack does not support",
            ))?
        };
        Ok(())
    }

    fn check_track_unused(&self, track: &MediaStreamTrack) -> Result<(), Error> {
        if self.transceivers.iter().any(|t| {
            !t.stopped
                && t.sender_track
                    .as_ref()
                    .is_some_and(|x| x.id() == track.id())
        }) {
            return Err(Error::InvalidArgument("the track is already on a sender"));
        }
        Ok(())
    }

    /// Changes a transceiver's direction (W3C `transceiver.direction = ...`); fires
    /// negotiation-needed when it differs from the negotiated one.
    ///
    /// # Errors
    /// [`Error::Closed`], [`Error::UnknownHandle`], [`Error::InvalidState`] on a stopping
    /// transceiver, [`Error::InvalidArgument`] for `Stopped` (use
    /// [`stop_transceiver`](Self::stop_transceiver)).
    pub fn set_transceiver_direction(
        &mut self,
        id: TransceiverId,
        direction: Direction,
    ) -> Result<(), Error> {
        if self.closed {
            return Err(Error::Closed);
        }
        if direction == Direction::Stopped {
            return Err(Error::InvalidArgument("use stop_transceiver to stop"));
        }
        let t = self
            .transceivers
            .iter_mut()
            .find(|t| t.id == id)
            .ok_or(Error::UnknownHandle)?;
        if t.stopping || t.stopped {
            return Err(Error::InvalidState("transceiver is stopping"));
        }
        if t.direction != direction {
            t.direction = direction;
            self.update_negotiation_needed();
        }
        Ok(())
    }

    /// Stops a transceiver (W3C `transceiver.stop()`): it sends and receives nothing more,
    /// and the next offer rejects its m-section.
    ///
    /// # Errors
    /// [`Error::Closed`], [`Error::UnknownHandle`].
    pub fn stop_transceiver(&mut self, id: TransceiverId) -> Result<(), Error> {
        if self.closed {
            return Err(Error::Closed);
        }
        let t = self
            .transceivers
            .iter_mut()
            .find(|t| t.id == id)
            .ok_or(Error::UnknownHandle)?;
        if !t.stopping {
            t.stopping = true;
            if t.mid.is_none() {
                t.stopped = true;
            }
            if let Some(s) = self.media.senders.get_mut(&id) {
                s.dtmf.clear();
            }
            self.update_negotiation_needed();
        }
        Ok(())
    }

    // ------------------------------------------------------------------ data channels

    /// Creates a data channel (W3C `createDataChannel`, RFC 8832). The first one adds an
    /// `m=application` section to the next offer (negotiation-needed fires). It opens once
    /// the SCTP association is up ([`Event::ChannelOpen`]).
    ///
    /// # Errors
    /// [`Error::Closed`]; [`Error::InvalidArgument`] for a label or protocol over 65535
    /// bytes, both `max_packet_life_time` and `max_retransmits`, `negotiated` without an
    /// id, or id 65535; [`Error::ChannelIdInUse`] for a negotiated id already taken.
    pub fn create_data_channel(
        &mut self,
        label: &str,
        init: DataChannelInit,
    ) -> Result<ChannelId, Error> {
        if self.closed {
            return Err(Error::Closed);
        }
        if label.len() > 0xffff || init.protocol.len() > 0xffff {
            return Err(Error::InvalidArgument(
                "label or protocol longer than 65535 bytes",
            ));
        }
        if init.max_packet_life_time.is_some() && init.max_retransmits.is_some() {
            return Err(Error::InvalidArgument(
                "max_packet_life_time and max_retransmits are exclusive",
            ));
        }
        if init.negotiated {
            let Some(sid) = init.id else {
                return Err(Error::InvalidArgument("a negotiated channel needs an id"));
            };
            if sid == 0xffff {
                return Err(Error::InvalidArgument("stream id 65535 is reserved"));
            }
            if self
                .channels
                .values()
                .any(|c| c.stream_id == Some(sid) && c.state != DataChannelState::Closed)
            {
                return Err(Error::ChannelIdInUse(sid));
            }
        }
        let id = ChannelId(self.next_channel_id());
        self.channels
            .insert(id, ChannelEntry::new(label.to_owned(), init));
        let first = !self.data_wanted;
        self.data_wanted = true;
        self.open_sctp_channel(id)?;
        if first {
            self.update_negotiation_needed();
        }
        self.drive();
        Ok(id)
    }

    /// A handle on a data channel, or `None` for an unknown id.
    pub fn channel(&mut self, id: ChannelId) -> Option<crate::Channel<'_>> {
        if self.channels.contains_key(&id) {
            Some(crate::Channel { pc: self, id })
        } else {
            None
        }
    }

    /// Ids of the data channels not yet closed, in creation order.
    pub fn channel_ids(&self) -> Vec<ChannelId> {
        self.channels
            .iter()
            .filter(|(_, c)| c.state != DataChannelState::Closed)
            .map(|(id, _)| *id)
            .collect()
    }

    // ------------------------------------------------------------------ close

    /// Closes the connection (W3C `close()`): DTLS close_notify and SCTP ABORT are queued
    /// for [`poll_transmit`](Self::poll_transmit), every channel and transceiver stops, the
    /// states become closed (no change events, as in the browser). Later commands fail with
    /// [`Error::Closed`]. Idempotent.
    pub fn close(&mut self) {
        if self.closed {
            return;
        }
        self.closed = true;
        self.signaling_state = SignalingState::Closed;
        for t in &mut self.transceivers {
            t.stopping = true;
            t.stopped = true;
            t.current_direction = None;
        }
        for c in self.channels.values_mut() {
            c.state = DataChannelState::Closed;
        }
        self.close_transport();
        self.events.clear();
    }

    // ------------------------------------------------------------------ internals

    pub(crate) fn next_channel_id(&mut self) -> u64 {
        let n = self.next_channel;
        self.next_channel += 1;
        n
    }

    fn set_signaling_state(&mut self, next: SignalingState) {
        if next != self.signaling_state {
            self.signaling_state = next;
            self.events.push_back(Event::SignalingStateChange(next));
        }
    }

    fn new_transceiver(
        &mut self,
        kind: MediaKind,
        init: TransceiverInit,
        track: Option<MediaStreamTrack>,
    ) -> TransceiverId {
        let id = TransceiverId(self.next_transceiver);
        self.next_transceiver += 1;
        self.next_track += 1;
        let mut bytes = [0u8; 8];
        self.rng.fill_bytes(&mut bytes);
        let track_id = bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
        let mut encodings = init.send_encodings.clone();
        if kind == MediaKind::Audio {
            encodings.truncate(1); // W3C: audio has one encoding
        }
        let (media, rng) = (&mut self.media, &mut self.rng);
        let sender = SenderState::new(encodings, || media.new_ssrc(rng));
        self.media.senders.insert(id, sender);
        self.media.receivers.insert(id, ReceiverState::default());
        self.transceivers
            .push(Transceiver::new(id, kind, init, track_id, track));
        id
    }

    /// The media lines of our offer for `t`.
    fn offer_lines<'a>(
        &'a self,
        t: &'a Transceiver,
        extmaps: &'a [oxrtc_sdp::Extmap],
    ) -> jsep::MediaLines<'a> {
        let sender = self.media.senders.get(&t.id);
        let simulcast = sender.is_some_and(SenderState::simulcast);
        let mut lines = jsep::MediaLines {
            direction: t.direction,
            codecs: &t.codecs,
            extmaps,
            ssrcs: Vec::new(),
            cname: &self.media.cname,
            rids: Vec::new(),
            simulcast: None,
        };
        if let Some(s) = sender {
            if simulcast {
                if t.direction.sends() {
                    let rids: Vec<String> = s
                        .encodings
                        .iter()
                        .filter_map(|e| e.params.rid.clone())
                        .collect();
                    lines.rids = rids
                        .iter()
                        .map(|r| Rid::new(r.clone(), RidDirection::Send))
                        .collect();
                    lines.simulcast = Some(Simulcast::send(rids));
                }
            } else if let Some(e) = s.encodings.first() {
                let rtx = t.codecs.iter().any(Codec::is_rtx).then_some(e.rtx_ssrc);
                lines.ssrcs = vec![(e.ssrc, rtx)];
            }
        }
        lines
    }

    /// The media lines of our answer for `t` to the offered section `om`: SSRCs when we
    /// send, and the simulcast layers the peer offers to send (`a=rid ... recv`,
    /// `a=simulcast:recv`), or receives from our simulcast sender.
    fn answer_lines<'a>(
        &'a self,
        t: &'a Transceiver,
        direction: Direction,
        codecs: &'a [Codec],
        extmaps: &'a [oxrtc_sdp::Extmap],
        om: &MediaDescription,
    ) -> jsep::MediaLines<'a> {
        let sender = self.media.senders.get(&t.id);
        let mut lines = jsep::MediaLines {
            direction,
            codecs,
            extmaps,
            ssrcs: Vec::new(),
            cname: &self.media.cname,
            rids: Vec::new(),
            simulcast: None,
        };
        let mut sim = Simulcast {
            send: Vec::new(),
            recv: Vec::new(),
        };
        if let Some(offered) = om.simulcast() {
            if direction.receives() {
                for alts in &offered.send {
                    if let Some(id) = alts.iter().find(|i| !i.paused) {
                        lines
                            .rids
                            .push(Rid::new(id.rid.clone(), RidDirection::Recv));
                        sim.recv.push(vec![SimulcastId::new(id.rid.clone())]);
                    }
                }
            }
            if direction.sends() {
                let ours: Vec<String> = sender
                    .map(|s| {
                        s.encodings
                            .iter()
                            .filter_map(|e| e.params.rid.clone())
                            .collect()
                    })
                    .unwrap_or_default();
                for alts in &offered.recv {
                    if let Some(id) = alts.iter().find(|i| !i.paused && ours.contains(&i.rid)) {
                        lines
                            .rids
                            .push(Rid::new(id.rid.clone(), RidDirection::Send));
                        sim.send.push(vec![SimulcastId::new(id.rid.clone())]);
                    }
                }
            }
        }
        let simulcast_send = !sim.send.is_empty();
        if !sim.send.is_empty() || !sim.recv.is_empty() {
            lines.simulcast = Some(sim);
        }
        if direction.sends() && !simulcast_send {
            if let Some(e) = sender.and_then(|s| s.encodings.first()) {
                let rtx = codecs.iter().any(Codec::is_rtx).then_some(e.rtx_ssrc);
                lines.ssrcs = vec![(e.ssrc, rtx)];
            }
        }
        lines
    }

    fn used_mids(&self) -> Vec<String> {
        let mut used: Vec<String> = Vec::new();
        for d in [
            &self.pending_local,
            &self.current_local,
            &self.pending_remote,
            &self.current_remote,
        ]
        .into_iter()
        .flatten()
        {
            used.extend(d.sd.media.iter().filter_map(|m| m.mid().map(str::to_owned)));
        }
        used.extend(self.transceivers.iter().filter_map(|t| t.mid.clone()));
        used.extend(self.sctp_mid.clone());
        used
    }

    /// Associates the m-sections of a remote offer with transceivers (W3C
    /// `setRemoteDescription` 4.6.10, JSEP §5.10): by mid, else an unassociated
    /// transceiver of the same kind, else a new `recvonly` one.
    fn associate_transceivers(&mut self, sd: &SessionDescription) {
        for m in &sd.media {
            let Some(mid) = m.mid() else { continue };
            if jsep::is_data_section(m) {
                if !m.is_rejected() && self.sctp_mid.is_none() {
                    self.sctp_mid = Some(mid.to_owned());
                }
                continue;
            }
            let Some(kind) = MediaKind::from_sdp(&m.kind) else {
                continue;
            };
            if !m.protocol.is_rtp() {
                continue;
            }
            if self
                .transceivers
                .iter()
                .any(|t| t.mid.as_deref() == Some(mid))
            {
                continue;
            }
            if m.is_rejected() {
                continue;
            }
            let free = self
                .transceivers
                .iter_mut()
                .find(|t| t.kind == kind && t.mid.is_none() && !t.stopped && !t.stopping);
            match free {
                Some(t) => t.mid = Some(mid.to_owned()),
                None => {
                    let id = self.new_transceiver(
                        kind,
                        TransceiverInit {
                            direction: Direction::RecvOnly,
                            ..TransceiverInit::default()
                        },
                        None,
                    );
                    if let Some(t) = self.transceivers.iter_mut().find(|t| t.id == id) {
                        t.mid = Some(mid.to_owned());
                        t.created_by_remote = true;
                    }
                }
            }
        }
    }

    /// Sets `current_direction`, negotiated codecs and `stopped` from an applied answer.
    /// `remote`: the answer is the peer's (its directions are reversed for us).
    fn apply_answer_directions(&mut self, answer: &SessionDescription, remote: bool) {
        for m in &answer.media {
            let Some(mid) = m.mid() else { continue };
            let dir = jsep::section_direction(answer, m);
            if let Some(t) = self
                .transceivers
                .iter_mut()
                .find(|t| t.mid.as_deref() == Some(mid))
            {
                if m.is_rejected() || t.stopping {
                    t.stopped = true;
                    t.stopping = true;
                    t.current_direction = None;
                } else {
                    let current = if remote { dir.reverse() } else { dir };
                    t.current_direction = Some(current);
                    t.ever_sent |= current.sends();
                    t.negotiated_codecs = m.codecs();
                }
            }
        }
        // A rejected data section ends the data channel transport.
        if let Some(mid) = &self.sctp_mid {
            if answer
                .media
                .iter()
                .any(|m| m.mid() == Some(mid.as_str()) && m.is_rejected())
            {
                self.sctp_mid = None;
            }
        }
    }

    fn take_snapshot(&self) -> Snapshot {
        Snapshot {
            mids: self
                .transceivers
                .iter()
                .map(|t| (t.id, t.mid.clone()))
                .collect(),
            transceiver_count: self.transceivers.len(),
            sctp_mid: self.sctp_mid.clone(),
            local_ice: self.local_ice.clone(),
            ice_restart_pending: self.ice_restart_pending,
        }
    }

    /// Rollback (W3C "rollback" steps, JSEP §4.1.8.2): back to the last stable state;
    /// transceivers a remote offer created are removed, mids assigned by the pending
    /// description cleared.
    fn rollback(&mut self) {
        if let Some(s) = self.snapshot.take() {
            let mut keep = Vec::new();
            for (i, mut t) in std::mem::take(&mut self.transceivers)
                .into_iter()
                .enumerate()
            {
                if i >= s.transceiver_count && t.created_by_remote {
                    continue; // created by the rolled-back remote offer
                }
                if let Some((_, mid)) = s.mids.iter().find(|(id, _)| *id == t.id) {
                    t.mid = mid.clone();
                } else {
                    t.mid = None;
                }
                keep.push(t);
            }
            self.transceivers = keep;
            let live: Vec<TransceiverId> = self.transceivers.iter().map(|t| t.id).collect();
            self.media.senders.retain(|id, _| live.contains(id));
            self.media.receivers.retain(|id, _| live.contains(id));
            self.sctp_mid = s.sctp_mid;
            self.local_ice = s.local_ice;
            self.ice_restart_pending = s.ice_restart_pending;
            // The agent may have restarted already for the rolled-back offer: keep its
            // credentials, to be signaled in the next offer.
            if let Some(c) = self.ice_agent_credentials() {
                if c != self.local_ice {
                    self.offer_restart_ice = Some(c);
                    self.ice_restart_pending = true;
                }
            }
        }
        self.pending_local = None;
        self.pending_remote = None;
        self.answer_ice = None;
        self.set_signaling_state(SignalingState::Stable);
        self.media_apply();
        self.update_negotiation_needed();
    }

    /// W3C "update the negotiation-needed flag": only in `stable`; the event fires once per
    /// time the flag goes up.
    pub(crate) fn update_negotiation_needed(&mut self) {
        if self.closed || self.signaling_state != SignalingState::Stable {
            return;
        }
        let needed = self.check_negotiation_needed();
        if !needed {
            self.negotiation_needed = false;
            return;
        }
        if self.negotiation_needed {
            return;
        }
        self.negotiation_needed = true;
        self.events.push_back(Event::NegotiationNeeded);
    }

    /// W3C "check if negotiation is needed".
    fn check_negotiation_needed(&self) -> bool {
        if self.ice_restart_pending {
            return true;
        }
        let Some(local) = &self.current_local else {
            return self.data_wanted || self.transceivers.iter().any(|t| !t.stopped);
        };
        let remote = self.current_remote.as_ref();
        if self.data_wanted && self.sctp_mid.is_none() {
            return true;
        }
        for t in &self.transceivers {
            let section = t.mid.as_deref().and_then(|mid| local.sd.media_by_mid(mid));
            if t.stopping && !t.stopped {
                if section.is_some_and(|m| !m.is_rejected()) {
                    return true;
                }
                continue;
            }
            if t.stopped {
                continue;
            }
            let Some(m) = section else {
                return true; // not yet in a description
            };
            if m.is_rejected() {
                continue;
            }
            let local_dir = jsep::section_direction(&local.sd, m);
            if t.direction.sends() && local_dir.sends() {
                // W3C: the streams signaled in a=msid no longer match the sender's.
                let signaled: Vec<&str> = m.msids().map(|x| x.stream_id.as_str()).collect();
                let wanted: Vec<&str> = if t.stream_ids.is_empty() {
                    vec!["-"]
                } else {
                    t.stream_ids.iter().map(String::as_str).collect()
                };
                if signaled != wanted {
                    return true;
                }
            }
            match local.sdp_type {
                SdpType::Offer => {
                    let remote_dir = remote.and_then(|r| {
                        r.sd.media_by_mid(m.mid().unwrap_or_default())
                            .map(|rm| jsep::section_direction(&r.sd, rm).reverse())
                    });
                    if local_dir != t.direction && remote_dir != Some(t.direction) {
                        return true;
                    }
                }
                _ => {
                    let offered = remote
                        .and_then(|r| {
                            r.sd.media_by_mid(m.mid().unwrap_or_default())
                                .map(|rm| jsep::section_direction(&r.sd, rm))
                        })
                        .unwrap_or(Direction::SendRecv);
                    if local_dir != t.direction.answer_to(offered) {
                        return true;
                    }
                }
            }
        }
        false
    }

    /// Hands the negotiated transport parameters to ICE / DTLS / SCTP.
    fn apply_transport(&mut self) -> Result<(), Error> {
        let local = self.pending_local.as_ref().or(self.current_local.as_ref());
        let remote = self
            .pending_remote
            .as_ref()
            .or(self.current_remote.as_ref());
        let remote_t = match remote {
            Some(r) => jsep::remote_transport(&r.sd)?,
            None => None,
        };
        // Our DTLS role, once both descriptions are known (RFC 8842 §5.3).
        let role = match (local, &remote_t) {
            (Some(l), Some(r)) => {
                let ours = jsep::transport_section(&l.sd).and_then(|m| l.sd.effective_setup(m));
                match (l.sdp_type, ours, r.setup) {
                    (SdpType::Offer, _, Some(Setup::Active)) => Some(DtlsRole::Server),
                    (SdpType::Offer, _, Some(Setup::Passive)) => Some(DtlsRole::Client),
                    (SdpType::Offer, _, _) => None,
                    (_, Some(Setup::Active), _) => Some(DtlsRole::Client),
                    (_, Some(Setup::Passive), _) => Some(DtlsRole::Server),
                    _ => None,
                }
            }
            _ => None,
        };
        let remote_candidates: Vec<String> = remote
            .map(|r| {
                r.sd.media
                    .iter()
                    .filter(|m| !m.is_rejected())
                    .flat_map(|m| m.candidates().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let remote_eoc = remote.is_some_and(|r| r.sd.media.iter().any(|m| m.end_of_candidates()));
        let data = self.sctp_mid.is_some()
            && local.is_some_and(|l| {
                l.sd.media
                    .iter()
                    .any(|m| m.mid() == self.sctp_mid.as_deref() && !m.is_rejected())
            });
        let params = crate::transport::TransportParams {
            started: local.is_some(),
            controlling: local.is_some_and(|l| l.sdp_type == SdpType::Offer)
                || (local.is_none() && self.signaling_state == SignalingState::HaveLocalOffer),
            remote: remote_t,
            remote_candidates,
            remote_end_of_candidates: remote_eoc,
            role,
            data,
        };
        self.transport_apply(params)
    }

    /// The local description with the gathered candidates in its BUNDLE tag section.
    fn render_local(&self, d: &Desc) -> RtcSessionDescription {
        let mut sd = d.sd.clone();
        let ours = jsep::transport_section(&sd)
            .and_then(|m| sd.effective_ice_credentials(m))
            .is_some_and(|(u, _)| u == self.local_ice.ufrag);
        if ours {
            let tag = jsep::transport_section(&sd).and_then(|m| m.mid().map(str::to_owned));
            if let Some(m) = sd.media.iter_mut().find(|m| m.mid() == tag.as_deref()) {
                let have: Vec<String> = m.candidates().map(str::to_owned).collect();
                let mut pos = m
                    .attributes
                    .iter()
                    .position(|a| matches!(a, Attribute::IceUfrag(_)))
                    .unwrap_or(m.attributes.len());
                for c in &self.transport.local_candidates {
                    if !have.contains(c) {
                        m.attributes.insert(pos, Attribute::Candidate(c.clone()));
                        pos += 1;
                    }
                }
                if m.port == 9 && !self.transport.local_candidates.is_empty() {
                    // The default candidate in m= and c= (RFC 8839 §4.2.1.2).
                    let (c, port) = jsep::default_address(&self.transport.local_candidates);
                    m.port = port;
                    m.connections = vec![c];
                }
                if self.transport.gathering_state == IceGatheringState::Complete
                    && !m.end_of_candidates()
                {
                    m.attributes.insert(pos, Attribute::EndOfCandidates);
                }
            }
        }
        RtcSessionDescription {
            sdp_type: d.sdp_type,
            sdp: sd.to_string(),
        }
    }
}

impl PeerConnection {
    pub(crate) fn pending_local_desc(&self) -> Option<&Desc> {
        self.pending_local.as_ref()
    }

    pub(crate) fn current_local_desc(&self) -> Option<&Desc> {
        self.current_local.as_ref()
    }

    pub(crate) fn pending_remote_desc(&self) -> Option<&Desc> {
        self.pending_remote.as_ref()
    }

    pub(crate) fn current_remote_desc(&self) -> Option<&Desc> {
        self.current_remote.as_ref()
    }

    /// The local description in force (pending, else current).
    pub(crate) fn local_desc_sd(&self) -> Option<&SessionDescription> {
        self.pending_local
            .as_ref()
            .or(self.current_local.as_ref())
            .map(|d| &d.sd)
    }
}

fn render(d: &Desc) -> RtcSessionDescription {
    RtcSessionDescription {
        sdp_type: d.sdp_type,
        sdp: d.sd.to_string(),
    }
}

/// W3C `addTransceiver` step: several encodings need distinct rids of RFC 8851's
/// characters.
fn check_encodings(init: &TransceiverInit) -> Result<(), Error> {
    let e = &init.send_encodings;
    let valid = |r: &str| {
        !r.is_empty()
            && r.len() <= 16
            && r.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if e.iter()
        .any(|x| x.rid.as_deref().is_some_and(|r| !valid(r)))
    {
        return Err(Error::InvalidArgument(
            "a rid of other than 1-16 letters, digits, - or _",
        ));
    }
    if e.len() > 1 {
        let mut rids: Vec<&str> = e.iter().filter_map(|x| x.rid.as_deref()).collect();
        if rids.len() != e.len() {
            return Err(Error::InvalidArgument("several encodings each need a rid"));
        }
        rids.sort_unstable();
        rids.dedup();
        if rids.len() != e.len() {
            return Err(Error::InvalidArgument("encodings need distinct rids"));
        }
    }
    Ok(())
}

/// The smallest unused integer mid (libwebrtc numbers its mids 0, 1, 2...).
fn next_mid(used: &mut Vec<String>) -> String {
    let mut n = 0u32;
    loop {
        let s = n.to_string();
        if !used.contains(&s) {
            used.push(s.clone());
            return s;
        }
        n += 1;
    }
}
