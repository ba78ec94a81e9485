//! The offerer's side of an echo scenario: sends with flow control and checks that every
//! echo comes back intact, in order and with its type.
//!
//! Flow control is twofold (what the aiortc and Chromium peers do too): the channel's
//! buffered amount stays under [`BULK_HIGH`] (resuming below [`BULK_LOW`]), and at most
//! [`ECHO_WINDOW`] bytes are sent and not yet echoed, since the echoing side cannot slow
//! us down and its own send queue is bounded (Chromium's throws past 16 MiB).

use crate::conn::ConnWatch;
use crate::error::CliError;
use bytes::Bytes;
use oxrtc::runtime::{ChannelSender, DataChannel};
use oxrtc::Message;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// Stop sending above this buffered amount (bytes)...
pub const BULK_HIGH: usize = 1 << 20;
/// ...and resume below this one.
pub const BULK_LOW: usize = 256 << 10;
/// At most this many bytes sent and not yet echoed.
pub const ECHO_WINDOW: u64 = 4 << 20;

/// A message to send and expect back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Bytes),
}

impl Outgoing {
    /// Payload length in bytes.
    pub fn len(&self) -> usize {
        match self {
            Outgoing::Text(t) => t.len(),
            Outgoing::Binary(b) => b.len(),
        }
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What the checker has seen.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    /// Echoes received intact.
    pub received: u64,
    /// Payload bytes of those (as sent: a text prefix is not counted).
    pub bytes: u64,
    /// When the last intact echo arrived.
    pub last: Option<Instant>,
    /// The first problem.
    pub error: Option<String>,
    /// The channel closed.
    pub closed: bool,
}

/// Sender and checker of one echo scenario.
pub struct Echo {
    sender: ChannelSender,
    expected: mpsc::UnboundedSender<Outgoing>,
    progress: watch::Receiver<Progress>,
    conn: ConnWatch,
    timeout: Duration,
    /// Messages sent.
    pub sent: u64,
    /// Payload bytes sent.
    pub sent_bytes: u64,
    /// When the first message was sent.
    pub first_send: Option<Instant>,
}

impl Echo {
    /// Starts checking the echoes arriving on `channel`; text echoes must equal
    /// `text_prefix` + what was sent. `timeout` bounds every wait without progress.
    pub fn start(
        channel: DataChannel,
        text_prefix: String,
        conn: ConnWatch,
        timeout: Duration,
    ) -> Echo {
        let (expected, rx) = mpsc::unbounded_channel();
        let (ptx, progress) = watch::channel(Progress::default());
        let sender = channel.sender();
        tokio::spawn(check(channel, rx, text_prefix, ptx));
        Echo {
            sender,
            expected,
            progress,
            conn,
            timeout,
            sent: 0,
            sent_bytes: 0,
            first_send: None,
        }
    }

    fn check_progress(&self) -> Result<(), CliError> {
        let p = self.progress.borrow();
        if let Some(e) = &p.error {
            return Err(CliError::Scenario(e.clone()));
        }
        if p.closed {
            return Err(CliError::Scenario(format!(
                "the data channel closed after {} of {} echoes",
                p.received, self.sent
            )));
        }
        Ok(())
    }

    /// Waits for `cond` on the progress, failing on a checker error, a connection failure
    /// or `timeout` without any progress.
    async fn wait(&mut self, what: &str, cond: impl Fn(&Progress) -> bool) -> Result<(), CliError> {
        loop {
            self.check_progress()?;
            if cond(&self.progress.borrow()) {
                return Ok(());
            }
            let before = self.progress.borrow().received;
            let mut conn = self.conn.clone();
            tokio::select! {
                r = tokio::time::timeout(self.timeout, self.progress.changed()) => match r {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => return Err(CliError::Scenario("the echo checker stopped".into())),
                    Err(_) => {
                        return Err(CliError::Scenario(format!(
                            "timed out after {} s waiting for {what} ({before} of {} echoes back)",
                            self.timeout.as_secs(), self.sent
                        )))
                    }
                },
                f = conn.failed() => return Err(CliError::Connection(f)),
            }
        }
    }

    /// Sends `msg` once the flow control allows it, and expects it back.
    ///
    /// # Errors
    /// An echo differed, the channel or connection failed, a wait timed out, or the
    /// channel refused the message.
    pub async fn send(&mut self, msg: Outgoing) -> Result<(), CliError> {
        let limit = self.sent_bytes.saturating_sub(ECHO_WINDOW);
        if self.progress.borrow().bytes < limit {
            self.wait("the echoes to catch up", move |p| p.bytes >= limit)
                .await?;
        }
        if self.sender.buffered_amount() > BULK_HIGH {
            let mut s = self.sender.clone();
            let mut conn = self.conn.clone();
            tokio::select! {
                r = tokio::time::timeout(self.timeout, s.wait_buffered_amount_below(BULK_LOW)) => match r {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => return Err(CliError::Scenario("the data channel closed while sending".into())),
                    Err(_) => return Err(CliError::Scenario(format!(
                        "timed out after {} s waiting for the buffered amount to drain",
                        self.timeout.as_secs()
                    ))),
                },
                f = conn.failed() => return Err(CliError::Connection(f)),
            }
        }
        self.check_progress()?;
        let len = msg.len() as u64;
        let _ = self.expected.send(msg.clone());
        self.first_send.get_or_insert_with(Instant::now);
        let r = match msg {
            Outgoing::Text(t) => self.sender.send_text(&t).await,
            Outgoing::Binary(b) => self.sender.send(b).await,
        };
        r.map_err(|e| CliError::Scenario(format!("send of a {len}-byte message failed: {e}")))?;
        self.sent += 1;
        self.sent_bytes += len;
        Ok(())
    }

    /// Waits until every message sent came back; returns the final progress.
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub async fn finish(&mut self) -> Result<Progress, CliError> {
        let n = self.sent;
        self.wait("the last echoes", move |p| p.received >= n)
            .await?;
        Ok(self.progress.borrow().clone())
    }
}

fn kind(m: &Message) -> &'static str {
    if m.is_text() {
        "text"
    } else {
        "binary"
    }
}

/// The checker task: compares each echo with the next expected message.
async fn check(
    mut channel: DataChannel,
    mut expected: mpsc::UnboundedReceiver<Outgoing>,
    prefix: String,
    progress: watch::Sender<Progress>,
) {
    let mut index = 0u64;
    while let Some(m) = channel.recv().await {
        let Ok(want) = expected.try_recv() else {
            progress.send_modify(|p| {
                p.error = Some(format!(
                    "unexpected extra {} message of {} bytes after {index} echoes",
                    kind(&m),
                    m.len()
                ));
            });
            return;
        };
        let error = match (&want, &m) {
            (Outgoing::Text(t), Message::Text(got)) => {
                let ok = got.len() == prefix.len() + t.len()
                    && got.starts_with(prefix.as_str())
                    && got.get(prefix.len()..) == Some(t.as_str());
                (!ok).then(|| {
                    format!(
                        "echo {index} differs: sent text {:?}, got text {:?}",
                        clip(t),
                        clip(got)
                    )
                })
            }
            (Outgoing::Binary(b), Message::Binary(got)) => (b != got).then(|| {
                let at = b.iter().zip(got.iter()).position(|(x, y)| x != y);
                format!(
                    "echo {index} differs: sent binary of {} bytes, got binary of {} bytes{}",
                    b.len(),
                    got.len(),
                    at.map(|i| format!(" (first difference at byte {i})"))
                        .unwrap_or_default()
                )
            }),
            (w, got) => Some(format!(
                "echo {index} has the wrong type: sent {} of {} bytes, got {} of {} bytes",
                match w {
                    Outgoing::Text(_) => "text",
                    Outgoing::Binary(_) => "binary",
                },
                w.len(),
                kind(got),
                got.len()
            )),
        };
        if let Some(e) = error {
            progress.send_modify(|p| p.error = Some(e));
            return;
        }
        index += 1;
        let len = want.len() as u64;
        progress.send_modify(|p| {
            p.received += 1;
            p.bytes += len;
            p.last = Some(Instant::now());
        });
    }
    progress.send_modify(|p| p.closed = true);
}

fn clip(s: &str) -> String {
    if s.chars().count() > 40 {
        let mut c: String = s.chars().take(40).collect();
        c.push('…');
        c
    } else {
        s.to_owned()
    }
}
