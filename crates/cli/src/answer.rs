//! `oxrtc answer`: the answering side of the signaling contract. Each `POST /offer` makes a
//! new peer connection whose data channels echo every message unchanged and whose incoming
//! tracks are reflected; `serve` uses the same sessions behind its page.

use crate::error::{describe_description_error, CliError};
use crate::http::{self, Request, Response};
use crate::media;
use crate::signal;
use oxrtc::runtime::{DataChannel, Event, Events, PeerConnection};
use oxrtc::{Config, IceGatheringState, Message, PeerConnectionState, RtcSessionDescription};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

/// Options of `oxrtc answer`.
#[derive(Debug, Clone, clap::Args)]
pub struct AnswerArgs {
    /// Address to serve HTTP on (`GET /health`, `POST /offer`); port 0 picks one.
    #[arg(long, value_name = "ADDR")]
    pub listen: SocketAddr,
    /// Most peer connections at once; further offers get 503.
    #[arg(long, default_value_t = 64, value_name = "N")]
    pub max_sessions: usize,
    /// Store received tracks in this directory (VP8 as IVF, Opus as Ogg):
    /// `session-N-video-MID.ivf`, `session-N-audio-MID.ogg`.
    #[arg(long, value_name = "DIR")]
    pub save: Option<std::path::PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub ice: crate::ice::IceArgs,
}

/// Above this buffered amount an echoing channel waits (bytes)...
const ECHO_HIGH: usize = 16 << 20;
/// ...until it falls to this one.
const ECHO_LOW: usize = 4 << 20;
/// How long an answer may wait for ICE gathering to complete.
const GATHER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a session without channels and without incoming media lives on.
const IDLE_CLOSE: Duration = Duration::from_secs(2);
/// How long a connected session may wait for its first data channel or media.
const FIRST_USE: Duration = Duration::from_secs(10);
/// How long a client may take to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Why an offer was not answered.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    /// The offer was refused (bad SDP, not an offer we can answer): 400.
    #[error("{0}")]
    BadOffer(String),
    /// Too many sessions: 503.
    #[error("too many sessions ({0}); try again later")]
    Busy(usize),
    /// A local failure: 500.
    #[error("{0}")]
    Internal(String),
}

struct Session {
    pc: PeerConnection,
    started: Instant,
    /// Its reflected tracks.
    media: Arc<media::Reflection>,
}

/// The sessions of an answerer: one peer connection per answered offer.
pub struct Answerer {
    config: Config,
    sessions: Mutex<HashMap<u64, Session>>,
    next: AtomicU64,
    max_sessions: usize,
    save: Option<std::path::PathBuf>,
}

impl Answerer {
    /// An answerer whose peer connections use `config`.
    pub fn new(config: Config, max_sessions: usize) -> Arc<Answerer> {
        Self::with_save(config, max_sessions, None)
    }

    /// An answerer that also stores every received track in `save` (see
    /// [`media::save_tracks`]).
    pub fn with_save(
        config: Config,
        max_sessions: usize,
        save: Option<std::path::PathBuf>,
    ) -> Arc<Answerer> {
        Arc::new(Answerer {
            config,
            sessions: Mutex::new(HashMap::new()),
            next: AtomicU64::new(1),
            max_sessions,
            save,
        })
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Session>> {
        // A panic elsewhere cannot leave the map half-updated: recover it.
        self.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Number of live sessions.
    pub fn len(&self) -> usize {
        self.sessions().len()
    }

    /// Whether there is no live session.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Answers `offer_sdp` with a new peer connection: (session id, answer SDP with every
    /// candidate gathered).
    ///
    /// # Errors
    /// [`AnswerError::BadOffer`] when the offer is refused (the SDP line is quoted),
    /// [`AnswerError::Busy`] past the session limit, [`AnswerError::Internal`].
    pub async fn answer(self: &Arc<Self>, offer_sdp: String) -> Result<(u64, String), AnswerError> {
        if self.len() >= self.max_sessions {
            return Err(AnswerError::Busy(self.max_sessions));
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (pc, events) = PeerConnection::new(self.config.clone())
            .await
            .map_err(|e| AnswerError::Internal(format!("cannot create a peer connection: {e}")))?;
        let reflection = Arc::new(media::Reflection::default());
        self.sessions().insert(
            id,
            Session {
                pc: pc.clone(),
                started: Instant::now(),
                media: Arc::clone(&reflection),
            },
        );
        let (gathered_tx, mut gathered) = watch::channel(false);
        let (answered_tx, answered) = watch::channel(false);
        tokio::spawn(Arc::clone(self).run_session(
            id,
            pc.clone(),
            events,
            Arc::clone(&reflection),
            gathered_tx,
            answered,
        ));
        let result = async {
            pc.set_remote_description(RtcSessionDescription::offer(offer_sdp.clone()))
                .await
                .map_err(|e| {
                    AnswerError::BadOffer(format!(
                        "offer refused: {}",
                        describe_description_error(&e, &offer_sdp)
                    ))
                })?;
            // Every incoming track goes back on its transceiver: answered sendrecv.
            media::reflect_all(id, &pc, &reflection)
                .await
                .map_err(|e| AnswerError::Internal(format!("cannot reflect the media: {e}")))?;
            pc.set_local_description(None)
                .await
                .map_err(|e| AnswerError::Internal(format!("cannot answer: {e}")))?;
            if pc.ice_gathering_state().await != IceGatheringState::Complete
                && tokio::time::timeout(GATHER_TIMEOUT, gathered.wait_for(|g| *g))
                    .await
                    .is_err()
            {
                tracing::warn!(session = id, "gathering incomplete after {GATHER_TIMEOUT:?}; answering with the candidates so far");
            }
            pc.local_description()
                .await
                .map(|d| d.sdp)
                .ok_or_else(|| AnswerError::Internal("no local description".into()))
        }
        .await;
        let _ = answered_tx.send(true);
        match result {
            Ok(sdp) => {
                if let Some(dir) = &self.save {
                    if let Err(e) = media::save_tracks(&pc, dir, &format!("session-{id}")).await {
                        tracing::error!(session = id, dir = %dir.display(), error = %e, "cannot save the tracks");
                    }
                }
                tracing::info!(session = id, tracks = reflection.tracks(), "answered");
                Ok((id, sdp))
            }
            Err(e) => {
                tracing::warn!(session = id, error = %e, "offer not answered");
                self.sessions().remove(&id);
                pc.close().await;
                Err(e)
            }
        }
    }

    /// The events of one session: echo data channels, reflect tracks, end on failure.
    async fn run_session(
        self: Arc<Self>,
        id: u64,
        pc: PeerConnection,
        mut events: Events,
        reflection: Arc<media::Reflection>,
        gathered: watch::Sender<bool>,
        mut answered: watch::Receiver<bool>,
    ) {
        // Channels still echoing; once the last one closed (the remote hung up with an SCTP
        // reset or ABORT), no new one came and no media arrived within IDLE_CLOSE, the
        // session ends rather than waiting ~30 s for ICE consent to expire.
        let (closed_tx, mut closed_rx) = mpsc::unbounded_channel::<()>();
        let mut channels = 0usize;
        let idle = tokio::time::sleep(Duration::from_secs(3600));
        tokio::pin!(idle);
        let mut idle_armed = false;
        loop {
            tokio::select! {
                event = events.recv() => {
                    let Some(event) = event else { break };
                    match event {
                        Event::IceGatheringStateChange(IceGatheringState::Complete) => {
                            let _ = gathered.send(true);
                        }
                        Event::DataChannel(ch) => {
                            tracing::info!(session = id, label = ch.label(), "data channel");
                            channels += 1;
                            idle_armed = false;
                            let done = closed_tx.clone();
                            tokio::spawn(async move {
                                echo(id, ch).await;
                                let _ = done.send(());
                            });
                        }
                        Event::Track(t) => {
                            tracing::debug!(session = id, transceiver = ?t, "track");
                        }
                        Event::KeyframeRequest { transceiver, .. } => {
                            // The peer wants a key frame of what we reflect: ask its source.
                            reflection.request_keyframe(transceiver);
                        }
                        Event::IceConnectionStateChange(s) => {
                            tracing::debug!(session = id, state = ?s, "ice connection state");
                        }
                        Event::ConnectionStateChange(s) => {
                            tracing::info!(session = id, state = ?s, "connection state");
                            if matches!(s, PeerConnectionState::Failed | PeerConnectionState::Closed) {
                                break;
                            }
                            if s == PeerConnectionState::Connected && channels == 0 && !idle_armed {
                                idle.as_mut().reset(tokio::time::Instant::now() + FIRST_USE);
                                idle_armed = true;
                            }
                        }
                        Event::Failed(e) => {
                            tracing::warn!(session = id, error = %e, "connection failed");
                        }
                        Event::IceCandidateError {
                            url,
                            error_code,
                            error_text,
                        } => {
                            tracing::warn!(session = id, %url, error_code, %error_text, "ice server error");
                        }
                        _ => {}
                    }
                }
                Some(()) = closed_rx.recv() => {
                    channels = channels.saturating_sub(1);
                    if channels == 0 {
                        idle.as_mut().reset(tokio::time::Instant::now() + IDLE_CLOSE);
                        idle_armed = true;
                    }
                }
                () = &mut idle, if idle_armed => {
                    if channels > 0 {
                        idle_armed = false;
                    } else if reflection.activity.idle_for().is_some_and(|d| d < IDLE_CLOSE) {
                        // Media still flows: the session lives on.
                        idle.as_mut().reset(tokio::time::Instant::now() + IDLE_CLOSE);
                    } else {
                        tracing::info!(session = id, "no data channel open and no media arriving");
                        break;
                    }
                }
            }
        }
        // An offer without usable candidates fails at once: answer it all the same (the
        // offerer then learns that ICE failed), and only then close.
        let _ = tokio::time::timeout(GATHER_TIMEOUT * 2, answered.wait_for(|a| *a)).await;
        reflection.stop();
        let removed = self.sessions().remove(&id);
        if let Some(s) = removed {
            tracing::info!(
                session = id,
                seconds = s.started.elapsed().as_secs_f64(),
                "session ended"
            );
        }
        pc.close().await;
    }

    /// Closes one session; false if there is none with this id.
    pub async fn close_session(&self, id: u64) -> bool {
        let removed = self.sessions().remove(&id);
        match removed {
            Some(s) => {
                s.pc.close().await;
                true
            }
            None => false,
        }
    }

    /// Closes every session (DTLS close_notify and SCTP ABORT go out).
    pub async fn close_all(&self) {
        let all: Vec<(u64, Session)> = self.sessions().drain().collect();
        for (id, s) in all {
            if tokio::time::timeout(Duration::from_secs(2), s.pc.close())
                .await
                .is_err()
            {
                tracing::warn!(session = id, "close timed out");
            }
        }
    }

    /// The `getStats()` of every session as JSON:
    /// `{"sessions":[{"id":1,"seconds":3.2,"state":"connected","reflected":1,"stats":[...]}]}`
    /// (`reflected`: tracks sent back).
    pub async fn stats_json(&self) -> serde_json::Value {
        let pcs: Vec<(u64, f64, PeerConnection, usize)> = self
            .sessions()
            .iter()
            .map(|(id, s)| {
                (
                    *id,
                    s.started.elapsed().as_secs_f64(),
                    s.pc.clone(),
                    s.media.tracks(),
                )
            })
            .collect();
        let mut out = Vec::new();
        for (id, seconds, pc, reflected) in pcs {
            let state = pc.connection_state().await;
            let stats = pc
                .stats()
                .await
                .ok()
                .and_then(|r| serde_json::to_value(&r.0).ok())
                .unwrap_or(serde_json::Value::Null);
            out.push(
                serde_json::json!({"id": id, "seconds": seconds, "state": state, "reflected": reflected, "stats": stats}),
            );
        }
        out.sort_by_key(|v| v["id"].as_u64());
        serde_json::json!({ "sessions": out })
    }
}

/// Echoes every message of `ch` unchanged: text as text, binary as binary, empty ones too.
pub async fn echo(session: u64, mut ch: DataChannel) {
    let mut tx = ch.sender();
    let mut count = 0u64;
    while let Some(m) = ch.recv().await {
        // The echoing side cannot slow the sender down: bound what we queue instead.
        if tx.buffered_amount() > ECHO_HIGH
            && tx.wait_buffered_amount_below(ECHO_LOW).await.is_err()
        {
            break;
        }
        let r = match m {
            Message::Text(t) => tx.send_text(&t).await,
            Message::Binary(b) => tx.send(b).await,
        };
        match r {
            Ok(()) => count += 1,
            Err(oxrtc::Error::Closed) => break,
            Err(e) => tracing::warn!(session, error = %e, "echo not sent"),
        }
    }
    tracing::info!(
        session,
        label = ch.label(),
        echoed = count,
        "data channel closed"
    );
}

// ------------------------------------------------------------------------------ HTTP

/// What the HTTP server offers besides the signaling endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Site {
    /// `answer`: `GET /health`, `POST /offer`, `DELETE /session/N`.
    Signaling,
    /// `serve`: the same plus the page (`GET /`) and `GET /stats`.
    Page,
}

/// Serves HTTP on `listener` until `shutdown` completes, then closes every session;
/// `whip`, when given, serves `/whip` and `/whep` (see [`crate::whip`]).
pub async fn serve_http(
    listener: TcpListener,
    answerer: Arc<Answerer>,
    site: Site,
    whip: Option<Arc<crate::whip::Whip>>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            r = listener.accept() => match r {
                Ok((stream, peer)) => {
                    let a = Arc::clone(&answerer);
                    let w = whip.clone();
                    tokio::spawn(async move {
                        if let Err(e) = connection(stream, a, site, w).await {
                            tracing::debug!(%peer, error = %e, "http connection");
                        }
                    });
                }
                Err(e) => {
                    // EMFILE and friends: wait a little rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    tracing::info!(sessions = answerer.len(), "shutting down");
    answerer.close_all().await;
    if let Some(w) = whip {
        w.close_all().await;
    }
}

async fn connection(
    mut stream: TcpStream,
    answerer: Arc<Answerer>,
    site: Site,
    whip: Option<Arc<crate::whip::Whip>>,
) -> Result<(), http::HttpError> {
    let _ = stream.set_nodelay(true);
    let req = match tokio::time::timeout(REQUEST_TIMEOUT, http::read_request(&mut stream)).await {
        Err(_) => Some(Err(Response::text(408, "request timeout\n"))),
        Ok(Ok(None)) => None,
        Ok(Ok(Some(r))) => Some(Ok(r)),
        Ok(Err(http::HttpError::HeadTooLarge)) => {
            Some(Err(Response::text(431, "head too large\n")))
        }
        Ok(Err(http::HttpError::BodyTooLarge)) => {
            Some(Err(Response::text(413, "body too large\n")))
        }
        Ok(Err(http::HttpError::Io(e))) => return Err(e.into()),
        Ok(Err(e)) => Some(Err(Response::text(400, format!("{e}\n")))),
    };
    let resp = match req {
        None => return Ok(()),
        Some(Err(r)) => r,
        Some(Ok(req)) => {
            let whip_resp = match &whip {
                Some(w) => w.route(&req).await,
                None => None,
            };
            match whip_resp {
                Some(r) => r,
                None => route(&req, &answerer, site).await,
            }
        }
    };
    let resp = resp
        .with_header("Access-Control-Allow-Origin", "*")
        .with_header("Access-Control-Expose-Headers", "Location, Link, Allow");
    stream.write_all(&resp.to_bytes()).await?;
    let _ = stream.shutdown().await;
    Ok(())
}

async fn route(req: &Request, answerer: &Arc<Answerer>, site: Site) -> Response {
    let path = req.path();
    let method = req.method();
    if method == "OPTIONS" {
        return Response::new(204, "text/plain", Vec::new())
            .with_header("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS")
            .with_header("Access-Control-Allow-Headers", "Content-Type");
    }
    match (path, method) {
        ("/health", "GET" | "HEAD") => Response::text(200, "ok\n"),
        ("/offer", "POST") => {
            let ct = req.content_type();
            if ct != "application/sdp" {
                return Response::text(
                    415,
                    format!("expected an application/sdp offer, got {ct:?}\n"),
                );
            }
            let Ok(sdp) = String::from_utf8(req.body.clone()) else {
                return Response::text(400, "the offer is not UTF-8\n");
            };
            match answerer.answer(sdp).await {
                Ok((id, answer)) => Response::new(201, "application/sdp", answer)
                    .with_header("Location", format!("/session/{id}")),
                Err(e @ AnswerError::BadOffer(_)) => Response::text(400, format!("{e}\n")),
                Err(e @ AnswerError::Busy(_)) => Response::text(503, format!("{e}\n")),
                Err(e @ AnswerError::Internal(_)) => Response::text(500, format!("{e}\n")),
            }
        }
        (p, "DELETE") if p.starts_with("/session/") => {
            match p.trim_start_matches("/session/").parse::<u64>() {
                Ok(id) if answerer.close_session(id).await => Response::text(200, "closed\n"),
                _ => Response::text(404, "no such session\n"),
            }
        }
        ("/", "GET") | ("/index.html", "GET") if site == Site::Page => {
            Response::new(200, "text/html; charset=utf-8", crate::serve::PAGE)
                .with_header("Cache-Control", "no-store")
        }
        ("/stats", "GET") if site == Site::Page => {
            let v = answerer.stats_json().await;
            Response::new(200, "application/json", v.to_string())
                .with_header("Cache-Control", "no-store")
        }
        ("/health" | "/offer", _) => Response::text(405, "method not allowed\n"),
        _ => Response::text(404, "not found\n"),
    }
}

/// `oxrtc answer`: serves until SIGINT/SIGTERM.
///
/// # Errors
/// Bad ICE options, or the listening address cannot be bound.
pub async fn run(args: AnswerArgs) -> Result<(), CliError> {
    let config = args.ice.config(Config::default())?;
    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|e| CliError::listen(args.listen, &e))?;
    let addr = listener.local_addr()?;
    let shutdown = signal::shutdown();
    println!("listening on http://{addr}/offer");
    let answerer = Answerer::with_save(config, args.max_sessions.max(1), args.save);
    serve_http(listener, answerer, Site::Signaling, None, shutdown).await;
    Ok(())
}
