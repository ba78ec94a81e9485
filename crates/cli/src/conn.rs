//! Watching a peer connection's events: states with the time they were reached, the
//! failure reason, remote data channels; and explaining a failure to people.

use crate::error::CliError;
use oxrtc::runtime::{DataChannel, Event, Events, PeerConnection};
use oxrtc::{IceConnectionState, IceGatheringState, PeerConnectionState, Stats};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// What the event stream said so far.
#[derive(Debug, Clone, Default)]
pub struct ConnState {
    /// ICE gathering state.
    pub gathering: IceGatheringState,
    /// ICE connection state.
    pub ice: IceConnectionState,
    /// Aggregate connection state.
    pub connection: PeerConnectionState,
    /// When ICE first reported connected.
    pub ice_connected_at: Option<Instant>,
    /// When the connection (ICE and DTLS) first reported connected.
    pub connected_at: Option<Instant>,
    /// Why the connection failed, once it did.
    pub failure: Option<String>,
    /// STUN/TURN servers that could not be used (`icecandidateerror`): `url: code text`.
    pub server_errors: Vec<String>,
    /// The event stream ended (the connection closed).
    pub ended: bool,
}

/// A handle on the state kept by [`watch_events`].
#[derive(Debug, Clone)]
pub struct ConnWatch {
    rx: watch::Receiver<ConnState>,
}

/// Consumes `events` in a task; remote data channels go to `channels` when given.
pub fn watch_events(
    mut events: Events,
    channels: Option<mpsc::UnboundedSender<DataChannel>>,
) -> ConnWatch {
    let (tx, rx) = watch::channel(ConnState::default());
    tokio::spawn(async move {
        while let Some(e) = events.recv().await {
            match e {
                Event::IceGatheringStateChange(s) => tx.send_modify(|c| c.gathering = s),
                Event::IceConnectionStateChange(s) => {
                    tracing::debug!(state = ?s, "ice connection state");
                    tx.send_modify(|c| {
                        c.ice = s;
                        if matches!(
                            s,
                            IceConnectionState::Connected | IceConnectionState::Completed
                        ) && c.ice_connected_at.is_none()
                        {
                            c.ice_connected_at = Some(Instant::now());
                        }
                        if s == IceConnectionState::Failed && c.failure.is_none() {
                            c.failure = Some(
                                "ICE failed: no candidate pair answered the connectivity checks"
                                    .into(),
                            );
                        }
                    });
                }
                Event::ConnectionStateChange(s) => {
                    tracing::debug!(state = ?s, "connection state");
                    tx.send_modify(|c| {
                        c.connection = s;
                        if s == PeerConnectionState::Connected && c.connected_at.is_none() {
                            c.connected_at = Some(Instant::now());
                        }
                        if s == PeerConnectionState::Failed && c.failure.is_none() {
                            c.failure = Some("the connection failed".into());
                        }
                    });
                }
                Event::Failed(err) => {
                    tracing::debug!(error = %err, "connection failed");
                    let text = match &err {
                        oxrtc::Error::Dtls(d) => format!("DTLS failed: {d}"),
                        other => format!("the connection failed: {other}"),
                    };
                    // The specific reason beats the generic state change.
                    tx.send_modify(|c| {
                        if c.failure
                            .as_deref()
                            .is_none_or(|f| f.starts_with("the connection failed"))
                        {
                            c.failure = Some(text);
                        }
                    });
                }
                Event::IceCandidateError {
                    url,
                    error_code,
                    error_text,
                } => {
                    tracing::warn!(%url, error_code, %error_text, "ice server error");
                    let text = format!("{url}: {error_code} {error_text}");
                    tx.send_modify(|c| {
                        if c.server_errors.len() < 8 && !c.server_errors.contains(&text) {
                            c.server_errors.push(text);
                        }
                    });
                }
                Event::DataChannel(ch) => {
                    if let Some(chs) = &channels {
                        let _ = chs.send(ch);
                    }
                }
                Event::Track(t) => tracing::debug!(transceiver = ?t, "track"),
                _ => {}
            }
        }
        tx.send_modify(|c| c.ended = true);
    });
    ConnWatch { rx }
}

impl ConnWatch {
    /// The state now.
    pub fn state(&self) -> ConnState {
        self.rx.borrow().clone()
    }

    /// Waits until ICE gathering completed.
    ///
    /// # Errors
    /// [`CliError::Connection`] on timeout or if the connection ended.
    pub async fn gathered(&mut self, timeout: Duration) -> Result<(), CliError> {
        let ended = match tokio::time::timeout(
            timeout,
            self.rx
                .wait_for(|c| c.gathering == IceGatheringState::Complete || c.ended),
        )
        .await
        {
            Ok(Ok(c)) => Some(c.ended),
            Ok(Err(_)) => Some(true),
            Err(_) => None,
        };
        match ended {
            Some(false) => Ok(()),
            Some(true) => Err(CliError::Connection(
                "the peer connection closed while gathering".into(),
            )),
            None => {
                let errors = self.rx.borrow().server_errors.join("; ");
                Err(CliError::Connection(format!(
                    "ICE gathering did not complete within {} s ({})",
                    timeout.as_secs(),
                    if errors.is_empty() {
                        "a STUN/TURN server that does not answer?".to_owned()
                    } else {
                        format!("server errors: {errors}")
                    }
                )))
            }
        }
    }

    /// Completes once the connection failed or ended, with the reason.
    pub async fn failed(&mut self) -> String {
        match self.rx.wait_for(|c| c.failure.is_some() || c.ended).await {
            Ok(c) => c
                .failure
                .clone()
                .unwrap_or_else(|| "the peer connection closed".into()),
            Err(_) => "the peer connection closed".into(),
        }
    }
}

/// A candidate for people: `host udp 127.0.0.1:5000`.
fn candidate_text(c: &oxrtc::CandidateStats) -> String {
    format!(
        "{} {} {}:{}",
        c.candidate_type, c.protocol, c.address, c.port
    )
}

/// The selected candidate pair, `local -> remote`, from `getStats()`.
pub async fn selected_pair(pc: &PeerConnection) -> Option<String> {
    let report = pc.stats().await.ok()?;
    let pair = report.0.iter().find_map(|s| match s {
        Stats::CandidatePair(p) => Some(p.clone()),
        _ => None,
    })?;
    let find = |id: &str| {
        report.0.iter().find_map(|s| match s {
            Stats::LocalCandidate(c) | Stats::RemoteCandidate(c) if c.id == id => {
                Some(candidate_text(c))
            }
            _ => None,
        })
    };
    Some(format!(
        "{} -> {}",
        find(&pair.local_candidate_id)?,
        find(&pair.remote_candidate_id)?
    ))
}

/// States, the candidates tried and the ICE server errors, for an error message:
/// `ICE checking, DTLS new; local candidates: ...; remote candidates: ...`.
pub async fn summary_with(pc: &PeerConnection, watch: &ConnWatch) -> String {
    let base = summary(pc).await;
    let errors = watch.rx.borrow().server_errors.clone();
    if errors.is_empty() {
        base
    } else {
        format!("{base}; ICE server errors: {}", errors.join("; "))
    }
}

/// States and the candidates tried, for an error message:
/// `ICE checking, DTLS new; local candidates: ...; remote candidates: ...`.
pub async fn summary(pc: &PeerConnection) -> String {
    let Ok(report) = pc.stats().await else {
        return "the peer connection is closed".into();
    };
    let mut local = Vec::new();
    let mut remote = Vec::new();
    let mut states = String::new();
    for s in &report.0 {
        match s {
            // CL01/CR01 repeat the selected pair; the agent's lists follow.
            Stats::LocalCandidate(c) if c.id != "CL01" => local.push(candidate_text(c)),
            Stats::RemoteCandidate(c) if c.id != "CR01" => remote.push(candidate_text(c)),
            Stats::Transport(t) => {
                states = format!(
                    "ICE {}, DTLS {}",
                    json_name(&t.ice_state),
                    json_name(&t.dtls_state)
                );
            }
            _ => {}
        }
    }
    let list = |v: &[String]| {
        if v.is_empty() {
            "none".to_owned()
        } else {
            v.join(", ")
        }
    };
    format!(
        "{states}; local candidates: {}; remote candidates: {}",
        list(&local),
        list(&remote)
    )
}

fn json_name<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}
