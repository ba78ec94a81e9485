//! WHIP ingest (RFC 9725) and WHEP egress (draft-ietf-wish-whep) of `oxrtc serve`.
//!
//! - `POST /whip` (`application/sdp`, a `sendonly` or `sendrecv` offer with audio and/or
//!   video) publishes a stream: `201 Created`, `Location: /whip/session/N`, the answer
//!   (`recvonly` for its media). One publisher at a time (`409` while one is live).
//!   `DELETE /whip/session/N` ends it, and with it every viewer.
//! - `POST /whep` (a `recvonly` offer) plays the published stream: each offered audio or
//!   video section is answered `sendonly` with the publisher's track of that kind, its
//!   RTP forwarded (the sender rewrites SSRC, sequence numbers and timestamps; the payload
//!   type is mapped to the viewer's for the same codec). Key frame requests from viewers
//!   reach the publisher as PLI (at most one per [`PLI_INTERVAL`] per track; one asked
//!   for within it goes out when it ends), and a joining viewer asks for one. With
//!   nothing published: `409` and why. `DELETE /whep/session/N` ends a viewer.
//! - `--whip-token TOKEN`: every `/whip` and `/whep` request needs
//!   `Authorization: Bearer TOKEN` (`401` otherwise; compared in constant time).
//! - Trickle ICE and ICE restarts (`PATCH`) are not supported: `405` (RFC 9725 §4.3.1).
//!   Answers carry every candidate (gathering completes first).

use crate::error::describe_description_error;
use crate::http::{Request, Response};
use crate::media::{kind_name, Task};
use oxrtc::runtime::{Event, Events, LocalTrack, PeerConnection, RemoteTrack};
use oxrtc::sdp::Codec;
use oxrtc::{
    Config, Direction, IceGatheringState, MediaKind, PeerConnectionState, RtcSessionDescription,
    TransceiverId,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How long an answer may wait for ICE gathering to complete.
const GATHER_TIMEOUT: Duration = Duration::from_secs(10);
/// Least time between two key frame requests sent to the publisher for one track.
pub const PLI_INTERVAL: Duration = Duration::from_millis(500);

/// One track of the publisher.
struct IngestTrack {
    kind: MediaKind,
    track: RemoteTrack,
    /// The codecs negotiated with the publisher (payload types are the publisher's).
    codecs: Vec<Codec>,
    pli: Mutex<Pli>,
}

/// The key frame requests sent to the publisher for one track.
#[derive(Default)]
struct Pli {
    last: Option<Instant>,
    /// A request came within [`PLI_INTERVAL`] of the last one: it goes out when the
    /// interval ends (so a viewer joining right after another still gets its key frame).
    deferred: bool,
}

impl IngestTrack {
    /// Asks the publisher for a key frame: now, or at the end of the interval since the
    /// last request (several requests within it make one).
    fn request_keyframe(self: &Arc<Self>) {
        let wait = {
            let mut pli = lock(&self.pli);
            let now = Instant::now();
            match pli.last.map(|t| now.duration_since(t)) {
                Some(since) if since < PLI_INTERVAL => {
                    if pli.deferred {
                        return;
                    }
                    pli.deferred = true;
                    PLI_INTERVAL - since
                }
                _ => {
                    pli.last = Some(now);
                    drop(pli);
                    let _ = self.track.request_keyframe(None);
                    return;
                }
            }
        };
        let me = Arc::clone(self);
        tokio::spawn(async move {
            tokio::time::sleep(wait).await;
            {
                let mut pli = lock(&me.pli);
                pli.deferred = false;
                pli.last = Some(Instant::now());
            }
            let _ = me.track.request_keyframe(None);
        });
    }
}

struct Ingest {
    id: u64,
    pc: PeerConnection,
    /// Empty while the offer is being answered.
    tracks: Vec<Arc<IngestTrack>>,
}

struct Viewer {
    pc: PeerConnection,
    /// The publisher's track each sending transceiver carries.
    feeds: HashMap<TransceiverId, Arc<IngestTrack>>,
    _forwarding: Vec<Task>,
}

#[derive(Default)]
struct State {
    ingest: Option<Ingest>,
    viewers: HashMap<u64, Viewer>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic elsewhere cannot leave these maps half-updated: recover them.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Why a WHIP or WHEP request failed: the status and a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// HTTP status.
    pub status: u16,
    /// What went wrong.
    pub message: String,
}

impl Refusal {
    fn new(status: u16, message: impl Into<String>) -> Self {
        Refusal {
            status,
            message: message.into(),
        }
    }

    fn response(&self) -> Response {
        let r = Response::text(self.status, format!("{}\n", self.message));
        if self.status == 401 {
            r.with_header("WWW-Authenticate", "Bearer")
        } else {
            r
        }
    }
}

/// Which side a session is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Ingest,
    Viewer,
}

/// The WHIP publisher and the WHEP viewers of one server.
pub struct Whip {
    config: Config,
    token: Option<String>,
    max_viewers: usize,
    next: AtomicU64,
    state: Mutex<State>,
}

impl Whip {
    /// Endpoints whose peer connections use `config`; `token`, when given, is required
    /// as `Authorization: Bearer TOKEN`; at most `max_viewers` WHEP sessions at once.
    pub fn new(config: Config, token: Option<String>, max_viewers: usize) -> Arc<Whip> {
        Arc::new(Whip {
            config,
            token,
            max_viewers,
            next: AtomicU64::new(1),
            state: Mutex::new(State::default()),
        })
    }

    /// The live publisher's session id, if one is publishing.
    pub fn ingest(&self) -> Option<u64> {
        lock(&self.state).ingest.as_ref().map(|i| i.id)
    }

    /// Number of live viewers.
    pub fn viewers(&self) -> usize {
        lock(&self.state).viewers.len()
    }

    /// Handles a request if its path is `/whip...` or `/whep...`; `None` otherwise.
    pub async fn route(self: &Arc<Self>, req: &Request) -> Option<Response> {
        let path = req.path();
        let (role, rest) = if let Some(r) = path.strip_prefix("/whip") {
            (Role::Ingest, r)
        } else if let Some(r) = path.strip_prefix("/whep") {
            (Role::Viewer, r)
        } else {
            return None;
        };
        let session = match rest {
            "" => None,
            r => match r.strip_prefix("/session/").map(str::parse::<u64>) {
                Some(Ok(id)) => Some(id),
                _ => return None,
            },
        };
        let method = req.method();
        if method == "OPTIONS" {
            // CORS preflight and RFC 9725 §4.2 discovery: no token needed.
            return Some(preflight(session.is_none()));
        }
        if let Err(r) = self.authorize(req) {
            return Some(r.response());
        }
        let r = match (session, method) {
            (None, "POST") => match self.post(role, req).await {
                Ok((id, answer)) => {
                    let base = if role == Role::Ingest { "whip" } else { "whep" };
                    Response::new(201, "application/sdp", answer)
                        .with_header("Location", format!("/{base}/session/{id}"))
                }
                Err(r) => r.response(),
            },
            (Some(id), "DELETE") => {
                if self.close(role, id).await {
                    Response::text(200, "closed\n")
                } else {
                    Response::text(404, "no such session\n")
                }
            }
            (Some(_), "PATCH") => Response::text(
                405,
                "trickle ICE and ICE restarts are not supported: the answer has every candidate\n",
            )
            .with_header("Allow", "DELETE, OPTIONS"),
            (None, _) => {
                Response::text(405, "method not allowed\n").with_header("Allow", "POST, OPTIONS")
            }
            (Some(_), _) => Response::text(405, "method not allowed\n")
                .with_header("Allow", "DELETE, PATCH, OPTIONS"),
        };
        Some(r)
    }

    fn authorize(&self, req: &Request) -> Result<(), Refusal> {
        let Some(token) = &self.token else {
            return Ok(());
        };
        let given = req
            .head
            .headers
            .get("authorization")
            .and_then(|v| {
                let (scheme, rest) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
            })
            .ok_or_else(|| Refusal::new(401, "this endpoint needs Authorization: Bearer TOKEN"))?;
        if bool::from(subtle::ConstantTimeEq::ct_eq(
            given.as_bytes(),
            token.as_bytes(),
        )) {
            Ok(())
        } else {
            Err(Refusal::new(401, "wrong bearer token"))
        }
    }

    async fn post(self: &Arc<Self>, role: Role, req: &Request) -> Result<(u64, String), Refusal> {
        let ct = req.content_type();
        if ct != "application/sdp" {
            return Err(Refusal::new(
                415,
                format!("expected an application/sdp offer, got {ct:?}"),
            ));
        }
        let offer = String::from_utf8(req.body.clone())
            .map_err(|_| Refusal::new(400, "the offer is not UTF-8"))?;
        match role {
            Role::Ingest => self.publish(offer).await,
            Role::Viewer => self.play(offer).await,
        }
    }

    /// WHIP: answers a publisher's offer `recvonly`.
    async fn publish(self: &Arc<Self>, offer: String) -> Result<(u64, String), Refusal> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (pc, events) = PeerConnection::new(self.config.clone())
            .await
            .map_err(|e| Refusal::new(500, format!("cannot create a peer connection: {e}")))?;
        let live = {
            let mut st = lock(&self.state);
            match &st.ingest {
                Some(i) => Some(i.id),
                None => {
                    st.ingest = Some(Ingest {
                        id,
                        pc: pc.clone(),
                        tracks: Vec::new(),
                    });
                    None
                }
            }
        };
        if let Some(live) = live {
            pc.close().await;
            return Err(Refusal::new(
                409,
                format!(
                    "a stream is already being published (DELETE /whip/session/{live} ends it)"
                ),
            ));
        }
        let gathered = self.watch(Role::Ingest, id, pc.clone(), events);
        let result = async {
            apply_offer(&pc, &offer).await?;
            for t in pc.transceivers().await {
                t.set_direction(Direction::RecvOnly)
                    .await
                    .map_err(internal)?;
            }
            let (answer, received) = answer(
                &pc,
                gathered,
                Direction::receives,
                "the offer sends no audio or video (WHIP needs a sendonly or sendrecv offer)",
            )
            .await?;
            let mut tracks = Vec::new();
            for (tid, kind, codecs) in received {
                let Some(t) = pc.transceiver(tid).await else {
                    continue;
                };
                let track = t.receiver_track().await.map_err(internal)?;
                tracing::info!(session = id, kind = kind_name(kind), "publishing a track");
                tracks.push(Arc::new(IngestTrack {
                    kind,
                    track,
                    codecs,
                    pli: Mutex::new(Pli::default()),
                }));
            }
            Ok::<_, Refusal>((answer, tracks))
        }
        .await;
        match result {
            Ok((answer, tracks)) => {
                let mut st = lock(&self.state);
                match st.ingest.as_mut() {
                    Some(i) if i.id == id => i.tracks = tracks,
                    // Ended (its connection failed) while the answer was made.
                    _ => {
                        return Err(Refusal::new(
                            500,
                            "the session ended before it was answered",
                        ))
                    }
                }
                tracing::info!(session = id, "publishing");
                Ok((id, answer))
            }
            Err(r) => {
                tracing::warn!(session = id, error = %r.message, "whip offer not answered");
                self.close(Role::Ingest, id).await;
                pc.close().await;
                Err(r)
            }
        }
    }

    /// WHEP: answers a viewer's offer with the publisher's tracks.
    async fn play(self: &Arc<Self>, offer: String) -> Result<(u64, String), Refusal> {
        let tracks: Vec<Arc<IngestTrack>> = {
            let st = lock(&self.state);
            if st.viewers.len() >= self.max_viewers {
                return Err(Refusal::new(
                    503,
                    format!("too many viewers ({}); try again later", self.max_viewers),
                ));
            }
            match &st.ingest {
                Some(i) if !i.tracks.is_empty() => i.tracks.clone(),
                Some(_) => {
                    return Err(Refusal::new(
                        409,
                        "the publisher is still connecting; try again shortly",
                    ))
                }
                None => return Err(Refusal::new(
                    409,
                    "nothing is being published: a publisher must POST its offer to /whip first",
                )),
            }
        };
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (pc, events) = PeerConnection::new(self.config.clone())
            .await
            .map_err(|e| Refusal::new(500, format!("cannot create a peer connection: {e}")))?;
        lock(&self.state).viewers.insert(
            id,
            Viewer {
                pc: pc.clone(),
                feeds: HashMap::new(),
                _forwarding: Vec::new(),
            },
        );
        let gathered = self.watch(Role::Viewer, id, pc.clone(), events);
        let result = async {
            apply_offer(&pc, &offer).await?;
            // Each offered section gets the first unused publisher track of its kind.
            let mut unused = tracks.clone();
            let mut outgoing: Vec<(TransceiverId, Arc<IngestTrack>, LocalTrack)> = Vec::new();
            for t in pc.transceivers().await {
                let Some(k) = unused.iter().position(|s| s.kind == t.kind()) else {
                    t.set_direction(Direction::Inactive)
                        .await
                        .map_err(internal)?;
                    continue;
                };
                let source = unused.remove(k);
                t.set_direction(Direction::SendOnly)
                    .await
                    .map_err(internal)?;
                // Offer to send only what the publisher sends (the viewer's payload
                // types are kept); if none of it is ours, every codec stays.
                let prefs: Vec<Codec> = source.codecs.clone();
                if t.set_codec_preferences(prefs).await.is_err() {
                    tracing::debug!(session = id, "publisher codecs not all supported");
                }
                let local = LocalTrack::new(t.kind(), format!("whep-{}", kind_name(t.kind())));
                t.sender().replace_track(Some(&local)).await.map_err(internal)?;
                outgoing.push((t.id(), source, local));
            }
            let (answer, sending) = answer(
                &pc,
                gathered,
                Direction::sends,
                "the offer receives no audio or video the publisher sends (WHEP needs a recvonly offer)",
            )
            .await?;
            let mut feeds = HashMap::new();
            let mut tasks = Vec::new();
            for (tid, source, local) in outgoing {
                let Some((_, _, codecs)) = sending.iter().find(|(s, _, _)| *s == tid) else {
                    continue;
                };
                let map = payload_type_map(&source.codecs, codecs);
                if map.is_empty() {
                    tracing::warn!(session = id, kind = kind_name(source.kind), "no codec in common with the publisher");
                    continue;
                }
                tasks.push(forward(id, source.track.clone(), local, map));
                if source.kind == MediaKind::Video {
                    // A new viewer starts at a key frame.
                    source.request_keyframe();
                }
                feeds.insert(tid, source);
            }
            Ok::<_, Refusal>((answer, feeds, tasks))
        }
        .await;
        match result {
            Ok((answer, feeds, tasks)) => {
                let mut st = lock(&self.state);
                let Some(v) = st.viewers.get_mut(&id) else {
                    return Err(Refusal::new(
                        500,
                        "the session ended before it was answered",
                    ));
                };
                tracing::info!(session = id, tracks = feeds.len(), "viewing");
                v.feeds = feeds;
                v._forwarding = tasks;
                Ok((id, answer))
            }
            Err(r) => {
                tracing::warn!(session = id, error = %r.message, "whep offer not answered");
                self.close(Role::Viewer, id).await;
                pc.close().await;
                Err(r)
            }
        }
    }

    /// Watches a session's events in a task; the receiver tells when gathering completed.
    fn watch(
        self: &Arc<Self>,
        role: Role,
        id: u64,
        pc: PeerConnection,
        mut events: Events,
    ) -> watch::Receiver<bool> {
        let (tx, rx) = watch::channel(false);
        let me = Arc::clone(self);
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                match event {
                    Event::IceGatheringStateChange(IceGatheringState::Complete) => {
                        let _ = tx.send(true);
                    }
                    Event::KeyframeRequest { transceiver, .. } if role == Role::Viewer => {
                        let source = lock(&me.state)
                            .viewers
                            .get(&id)
                            .and_then(|v| v.feeds.get(&transceiver).cloned());
                        if let Some(s) = source {
                            s.request_keyframe();
                        }
                    }
                    Event::ConnectionStateChange(s) => {
                        tracing::info!(session = id, ?role, state = ?s, "connection state");
                        if matches!(s, PeerConnectionState::Failed | PeerConnectionState::Closed) {
                            break;
                        }
                    }
                    Event::Failed(e) => {
                        tracing::warn!(session = id, ?role, error = %e, "connection failed");
                    }
                    _ => {}
                }
            }
            // Unblock an answer still waiting for candidates.
            let _ = tx.send(true);
            if me.close(role, id).await {
                tracing::info!(session = id, ?role, "session ended");
            }
            pc.close().await;
        });
        rx
    }

    /// Ends a session; an ingest takes its viewers with it. False if there is none.
    pub async fn close_session(&self, whip: bool, id: u64) -> bool {
        self.close(if whip { Role::Ingest } else { Role::Viewer }, id)
            .await
    }

    async fn close(&self, role: Role, id: u64) -> bool {
        let pcs: Vec<PeerConnection> = {
            let mut st = lock(&self.state);
            match role {
                Role::Viewer => st.viewers.remove(&id).map(|v| v.pc).into_iter().collect(),
                Role::Ingest if st.ingest.as_ref().is_some_and(|i| i.id == id) => {
                    let mut pcs: Vec<PeerConnection> =
                        st.ingest.take().map(|i| i.pc).into_iter().collect();
                    pcs.extend(st.viewers.drain().map(|(_, v)| v.pc));
                    pcs
                }
                Role::Ingest => Vec::new(),
            }
        };
        let found = !pcs.is_empty();
        for pc in pcs {
            if tokio::time::timeout(Duration::from_secs(2), pc.close())
                .await
                .is_err()
            {
                tracing::warn!(session = id, "close timed out");
            }
        }
        found
    }

    /// Closes every session.
    pub async fn close_all(&self) {
        let id = self.ingest();
        if let Some(id) = id {
            self.close(Role::Ingest, id).await;
        }
        let viewers: Vec<u64> = lock(&self.state).viewers.keys().copied().collect();
        for v in viewers {
            self.close(Role::Viewer, v).await;
        }
    }
}

fn internal(e: oxrtc::Error) -> Refusal {
    Refusal::new(500, format!("cannot answer: {e}"))
}

/// The answer to `OPTIONS`: CORS preflight (browsers' WHIP and WHEP clients send it) and
/// what the endpoint takes.
fn preflight(endpoint: bool) -> Response {
    let methods = if endpoint {
        "POST, OPTIONS"
    } else {
        "DELETE, PATCH, OPTIONS"
    };
    let r = Response::new(204, "text/plain", Vec::new())
        .with_header("Allow", methods)
        .with_header("Access-Control-Allow-Methods", methods)
        .with_header(
            "Access-Control-Allow-Headers",
            "Authorization, Content-Type, If-Match",
        )
        .with_header("Access-Control-Max-Age", "86400");
    if endpoint {
        r.with_header("Accept-Post", "application/sdp")
    } else {
        r
    }
}

async fn apply_offer(pc: &PeerConnection, offer: &str) -> Result<(), Refusal> {
    pc.set_remote_description(RtcSessionDescription::offer(offer.to_owned()))
        .await
        .map_err(|e| {
            Refusal::new(
                400,
                format!("offer refused: {}", describe_description_error(&e, offer)),
            )
        })
}

/// A negotiated transceiver: (id, kind, codecs).
type Negotiated = (TransceiverId, MediaKind, Vec<Codec>);

/// Creates the answer and waits for the candidates: (answer, the transceivers whose
/// negotiated direction passes `test`); `400 none` when there is none.
async fn answer(
    pc: &PeerConnection,
    mut gathered: watch::Receiver<bool>,
    test: fn(Direction) -> bool,
    none: &str,
) -> Result<(String, Vec<Negotiated>), Refusal> {
    pc.set_local_description(None).await.map_err(internal)?;
    if pc.ice_gathering_state().await != IceGatheringState::Complete
        && tokio::time::timeout(GATHER_TIMEOUT, gathered.wait_for(|g| *g))
            .await
            .is_err()
    {
        tracing::warn!(
            "gathering incomplete after {GATHER_TIMEOUT:?}; answering with the candidates so far"
        );
    }
    let sdp = pc
        .local_description()
        .await
        .map(|d| d.sdp)
        .ok_or_else(|| Refusal::new(500, "no local description"))?;
    let used: Vec<Negotiated> = pc
        .with_core(move |c| {
            c.transceivers()
                .filter(|t| !t.stopped() && t.current_direction().is_some_and(test))
                .map(|t| (t.id(), t.kind(), t.negotiated_codecs().to_vec()))
                .collect()
        })
        .await
        .unwrap_or_default();
    if used.is_empty() {
        return Err(Refusal::new(400, none));
    }
    Ok((sdp, used))
}

fn fmtp_param<'a>(c: &'a Codec, name: &str) -> Option<&'a str> {
    c.fmtp.as_deref()?.split(';').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.eq_ignore_ascii_case(name).then_some(v)
    })
}

/// Whether two codecs carry the same bitstream: name, clock rate, channels, and the
/// parameters that change it (H.264 profile and packetization mode, VP9 and AV1 profile).
fn same_codec(a: &Codec, b: &Codec) -> bool {
    a.encoding_name.eq_ignore_ascii_case(&b.encoding_name)
        && a.clock_rate == b.clock_rate
        && a.encoding_parameters.unwrap_or(1) == b.encoding_parameters.unwrap_or(1)
        && [
            "profile-level-id",
            "packetization-mode",
            "profile-id",
            "profile",
        ]
        .iter()
        .all(|p| {
            let (x, y) = (fmtp_param(a, p), fmtp_param(b, p));
            if *p == "profile-level-id" {
                // The profile (first two bytes) must match; the level may differ.
                x.map(|v| v.get(..4).unwrap_or(v).to_ascii_lowercase())
                    == y.map(|v| v.get(..4).unwrap_or(v).to_ascii_lowercase())
            } else {
                x == y
            }
        })
}

/// Publisher payload type → viewer payload type, for every media codec both negotiated
/// (RTX is not mapped: the publisher's packets arrive repaired).
fn payload_type_map(publisher: &[Codec], viewer: &[Codec]) -> HashMap<u8, u8> {
    publisher
        .iter()
        .filter(|c| !c.is_rtx())
        .filter_map(|p| {
            viewer
                .iter()
                .filter(|v| !v.is_rtx())
                .find(|v| same_codec(p, v))
                .map(|v| (p.payload_type, v.payload_type))
        })
        .collect()
}

/// Forwards the publisher's packets to one viewer's sender, payload types mapped; packets
/// of a codec the viewer did not take are dropped.
fn forward(session: u64, mut from: RemoteTrack, to: LocalTrack, map: HashMap<u8, u8>) -> Task {
    Task::spawn(async move {
        let (mut sent, mut dropped) = (0u64, 0u64);
        while let Some(mut p) = from.recv_rtp().await {
            match map.get(&p.payload_type) {
                Some(pt) => {
                    p.payload_type = *pt;
                    to.write_rtp(p);
                    sent += 1;
                }
                None => dropped += 1,
            }
        }
        tracing::info!(
            session,
            sent,
            dropped,
            lagged = from.lost(),
            "forwarding ended"
        );
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codec(pt: u8, name: &str, fmtp: Option<&str>) -> Codec {
        let rate = if name == "opus" { 48000 } else { 90000 };
        let ch = (name == "opus").then_some(2);
        let c = Codec::new(pt, name, rate, ch);
        match fmtp {
            Some(f) => c.with_fmtp(f),
            None => c,
        }
    }

    #[test]
    fn payload_types_map_by_codec() {
        let publisher = [
            codec(96, "VP8", None),
            codec(97, "rtx", Some("apt=96")),
            codec(
                102,
                "H264",
                Some("profile-level-id=42e01f;packetization-mode=1"),
            ),
            codec(
                104,
                "H264",
                Some("profile-level-id=640c1f;packetization-mode=1"),
            ),
        ];
        let viewer = [
            codec(100, "vp8", None),
            codec(96, "rtx", Some("apt=100")),
            codec(
                120,
                "H264",
                Some("packetization-mode=1;profile-level-id=42e034"),
            ),
        ];
        let map = payload_type_map(&publisher, &viewer);
        assert_eq!(map.get(&96), Some(&100));
        assert_eq!(map.get(&102), Some(&120), "same profile, other level");
        assert_eq!(map.get(&104), None, "high profile is not baseline");
        assert_eq!(map.get(&97), None, "rtx is not forwarded");
        assert_eq!(map.len(), 2);
        assert!(payload_type_map(&[codec(111, "opus", None)], &viewer).is_empty());
    }

    #[test]
    fn preflight_names_the_methods() {
        let r = preflight(true);
        assert_eq!(r.status(), 204);
        assert_eq!(r.head.headers.get("accept-post"), Some("application/sdp"));
        assert!(r
            .head
            .headers
            .get("access-control-allow-headers")
            .is_some_and(|h| h.contains("Authorization")));
        let r = preflight(false);
        assert_eq!(
            r.head.headers.get("access-control-allow-methods"),
            Some("DELETE, PATCH, OPTIONS")
        );
    }
}
