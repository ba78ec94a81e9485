//! RFC 6062 §4.4 data connections: ConnectionBind on a fresh connection to the server.

use std::net::SocketAddr;
use std::time::Instant;

use oxrtc_stun::{
    Class, ClientTransaction, ConnectionId, Message, MessageBuilder, Method, TransactionConfig,
    TransactionEvent, TransactionId,
};
use rand_chacha::ChaCha20Rng;

use super::auth::Auth;
use crate::wire::{Frame, StreamFramer};
use crate::{Error, ResponseError, TurnTransport};

/// Most 401/438 retries of one ConnectionBind.
const MAX_RETRIES: u8 = 3;

/// What a [`DataConnection`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DataConnectionEvent {
    /// ConnectionBind succeeded: the connection now carries the peer's bytes unframed, both
    /// ways. `peer_data` holds bytes that arrived right after the response, already the
    /// peer's.
    Bound {
        /// Peer bytes that followed the response on the stream.
        peer_data: Vec<u8>,
    },
    /// ConnectionBind failed; close the connection.
    Failed(Error),
}

#[derive(Debug)]
enum State {
    Binding,
    Bound,
    Failed,
}

/// The client side of one RFC 6062 data connection, from [`Client::connection_bind`]
/// (sans-IO, like the client).
///
/// The caller opens a new TCP (or TLS) connection to [`server`](Self::server), writes what
/// [`poll_transmit`](Self::poll_transmit) returns, feeds what it reads to
/// [`handle_stream_data`](Self::handle_stream_data) and calls
/// [`handle_timeout`](Self::handle_timeout) at [`poll_timeout`](Self::poll_timeout), until
/// [`DataConnectionEvent::Bound`]: then the connection is a plain pipe to the peer and this
/// object is done.
///
/// [`Client::connection_bind`]: crate::Client::connection_bind
#[derive(Debug)]
pub struct DataConnection {
    connection_id: ConnectionId,
    server: SocketAddr,
    transport: TurnTransport,
    username: String,
    password: String,
    auth: Option<Auth>,
    config: TransactionConfig,
    rng: ChaCha20Rng,
    transaction: Option<ClientTransaction>,
    framer: StreamFramer,
    state: State,
    retries: u8,
    events: std::collections::VecDeque<DataConnectionEvent>,
}

impl DataConnection {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        now: Instant,
        connection_id: ConnectionId,
        server: SocketAddr,
        transport: TurnTransport,
        username: String,
        password: String,
        auth: Option<Auth>,
        config: TransactionConfig,
        rng: ChaCha20Rng,
    ) -> Result<Self, Error> {
        let mut d = DataConnection {
            connection_id,
            server,
            transport,
            username,
            password,
            auth,
            config,
            rng,
            transaction: None,
            framer: StreamFramer::new(),
            state: State::Binding,
            retries: 0,
            events: Default::default(),
        };
        d.start(now)?;
        Ok(d)
    }

    /// The connection id being bound.
    pub fn connection_id(&self) -> ConnectionId {
        self.connection_id
    }

    /// The server to open the data connection to.
    pub fn server(&self) -> SocketAddr {
        self.server
    }

    /// The transport of the data connection (TCP or TLS, like the control connection).
    pub fn transport(&self) -> TurnTransport {
        self.transport
    }

    /// Whether ConnectionBind succeeded.
    pub fn is_bound(&self) -> bool {
        matches!(self.state, State::Bound)
    }

    fn start(&mut self, now: Instant) -> Result<(), Error> {
        let id = TransactionId::random(&mut self.rng);
        let mut out = Vec::with_capacity(128);
        let mut b = MessageBuilder::new(&mut out, Class::Request, Method::ConnectionBind, id);
        b.add(&self.connection_id)?;
        if let Some(auth) = &self.auth {
            auth.sign(&mut b, &self.username)?;
        }
        b.add_fingerprint()?;
        let mut t =
            ClientTransaction::new(now, out, oxrtc_stun::Transport::Reliable, &self.config)?;
        if let Some(auth) = &self.auth {
            t = t.with_integrity_key(auth.key.clone());
        }
        self.transaction = Some(t);
        Ok(())
    }

    /// Bytes to write on the data connection.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transaction
            .as_mut()
            .and_then(|t| t.poll_transmit().map(<[u8]>::to_vec))
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<DataConnectionEvent> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.transaction.as_ref().and_then(|t| t.poll_timeout())
    }

    /// Advances time: the ConnectionBind times out after 39.5 s.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(t) = &mut self.transaction {
            t.handle_timeout(now);
            if let Some(TransactionEvent::Timeout { .. }) = t.poll_event() {
                self.fail(Error::Timeout);
            }
        }
    }

    /// Handles bytes read from the data connection before it is bound.
    ///
    /// # Errors
    /// [`Error::InvalidState`] once bound or failed (the bytes are the peer's then);
    /// [`Error::NotTurn`] if the stream cannot be framed.
    pub fn handle_stream_data(&mut self, now: Instant, data: &[u8]) -> Result<(), Error> {
        if !matches!(self.state, State::Binding) {
            return Err(Error::InvalidState);
        }
        self.framer.push(data);
        while matches!(self.state, State::Binding) {
            let frame = match self.framer.next_frame() {
                Ok(Some(Frame::Stun(bytes))) => bytes.to_vec(),
                Ok(Some(Frame::ChannelData(_))) => continue,
                Ok(None) => break,
                Err(e) => {
                    self.fail(e.clone());
                    return Err(e);
                }
            };
            let Ok(msg) = Message::new_checked(&frame[..]) else {
                continue;
            };
            let Some(t) = &mut self.transaction else {
                break;
            };
            if !matches!(t.handle_response(now, &msg), Ok(true)) {
                continue;
            }
            match t.poll_event() {
                Some(TransactionEvent::Success { .. }) => {
                    self.state = State::Bound;
                    self.transaction = None;
                    let peer_data = self.framer.take_remaining();
                    self.events
                        .push_back(DataConnectionEvent::Bound { peer_data });
                }
                Some(TransactionEvent::ErrorResponse { .. }) => {
                    let error = ResponseError::from_message(&msg);
                    let retry = matches!(
                        error,
                        ResponseError::Unauthorized | ResponseError::StaleNonce
                    ) && self.retries < MAX_RETRIES;
                    if retry {
                        match Auth::from_challenge(
                            &msg,
                            &self.username,
                            &self.password,
                            self.auth.as_ref(),
                        ) {
                            Ok(auth) => {
                                self.auth = Some(auth);
                                self.retries += 1;
                                self.start(now)?;
                            }
                            Err(e) => self.fail(e),
                        }
                    } else {
                        self.fail(error.into());
                    }
                }
                Some(TransactionEvent::Timeout { .. }) => self.fail(Error::Timeout),
                _ => {}
            }
        }
        Ok(())
    }

    fn fail(&mut self, error: Error) {
        self.state = State::Failed;
        self.transaction = None;
        self.events.push_back(DataConnectionEvent::Failed(error));
    }
}
