//! Sans-IO client transactions with the RFC 8489 §6.2.1 retransmission timing.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use crate::wire::{Class, ErrorCode, Message, Method, TransactionId};
use crate::{Error, IntegrityKey};

/// Retransmission parameters (RFC 8489 §6.2.1). The defaults are the RFC's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionConfig {
    /// Initial retransmission timeout (RTO). Default 500 ms. It doubles after each
    /// retransmission.
    pub rto: Duration,
    /// Upper bound on the doubled RTO; `None` (the default) leaves it unbounded, as the RFC.
    pub max_rto: Option<Duration>,
    /// Rc: total transmissions over unreliable transports, the first included. Default 7.
    pub max_transmissions: u32,
    /// Rm: after the last transmission, wait `Rm × rto` (the initial RTO) for a response.
    /// Default 16.
    pub last_wait_multiplier: u32,
    /// Ti: how long to wait over reliable transports, which never retransmit. Default 39.5 s.
    pub reliable_timeout: Duration,
}

impl Default for TransactionConfig {
    fn default() -> Self {
        TransactionConfig {
            rto: Duration::from_millis(500),
            max_rto: None,
            max_transmissions: 7,
            last_wait_multiplier: 16,
            reliable_timeout: Duration::from_millis(39_500),
        }
    }
}

/// How a transaction's request travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// UDP or DTLS: retransmit with backoff.
    Unreliable,
    /// TCP or TLS: send once, wait [`TransactionConfig::reliable_timeout`].
    Reliable,
}

/// How a transaction ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransactionEvent {
    /// A success response arrived.
    Success {
        /// The transaction.
        transaction_id: TransactionId,
        /// The response's bytes.
        response: Vec<u8>,
        /// Whether the response's integrity was verified with the transaction's key.
        authenticated: bool,
        /// Round-trip time, when the request was sent only once (Karn's rule).
        rtt: Option<Duration>,
    },
    /// An error response arrived.
    ErrorResponse {
        /// The transaction.
        transaction_id: TransactionId,
        /// The ERROR-CODE's code (0 if the response carries none or a malformed one).
        code: u16,
        /// The response's bytes.
        response: Vec<u8>,
        /// Whether the response's integrity was verified with the transaction's key.
        authenticated: bool,
    },
    /// No response arrived in time (RFC 8489 §6.2.1).
    Timeout {
        /// The transaction.
        transaction_id: TransactionId,
    },
}

impl TransactionEvent {
    /// The transaction this event ends.
    pub fn transaction_id(&self) -> TransactionId {
        match self {
            TransactionEvent::Success { transaction_id, .. }
            | TransactionEvent::ErrorResponse { transaction_id, .. }
            | TransactionEvent::Timeout { transaction_id } => *transaction_id,
        }
    }
}

/// One client transaction: a request, its retransmissions and its outcome (RFC 8489 §6.2).
///
/// It owns no socket and reads no clock. The caller:
/// 1. creates it with the encoded request ([`ClientTransaction::new`]), then sends what
///    [`poll_transmit`](Self::poll_transmit) returns;
/// 2. feeds responses to [`handle_response`](Self::handle_response) and calls
///    [`handle_timeout`](Self::handle_timeout) when [`poll_timeout`](Self::poll_timeout)
///    is due;
/// 3. after every input drains `poll_transmit`, then `poll_event` (one event ends it).
///
/// Time going backwards is ignored; an early `handle_timeout` does nothing.
#[derive(Debug, Clone)]
pub struct ClientTransaction {
    transaction_id: TransactionId,
    method: Method,
    request: Vec<u8>,
    transport: Transport,
    config: TransactionConfig,
    key: Option<IntegrityKey>,
    started: Instant,
    transmissions: u32,
    rto: Duration,
    deadline: Instant,
    transmit_pending: bool,
    event: Option<TransactionEvent>,
    done: bool,
    dropped: u64,
}

impl ClientTransaction {
    /// Starts a transaction for an encoded request; its first transmission is pending.
    ///
    /// # Errors
    /// [`Error::NotARequest`] if `request` is not a STUN request (class Request), or the
    /// parse error.
    pub fn new(
        now: Instant,
        request: Vec<u8>,
        transport: Transport,
        config: &TransactionConfig,
    ) -> Result<Self, Error> {
        let msg = Message::new_checked(&request[..])?;
        if msg.class() != Class::Request {
            return Err(Error::NotARequest);
        }
        let (transaction_id, method) = (msg.transaction_id(), msg.method());
        let mut t = ClientTransaction {
            transaction_id,
            method,
            request,
            transport,
            config: config.clone(),
            key: None,
            started: now,
            transmissions: 1,
            rto: config.rto,
            deadline: now,
            transmit_pending: true,
            event: None,
            done: false,
            dropped: 0,
        };
        t.deadline = now + t.wait_after_transmission();
        Ok(t)
    }

    /// Requires responses to carry valid MESSAGE-INTEGRITY(-SHA256) under `key` (RFC 8489
    /// §9.1.4, §9.2.5): success responses and error responses other than 400, 401, 420 and
    /// 438 that fail are discarded as if never received.
    pub fn with_integrity_key(mut self, key: IntegrityKey) -> Self {
        self.key = Some(key);
        self
    }

    /// The transaction id.
    pub fn transaction_id(&self) -> TransactionId {
        self.transaction_id
    }

    /// The request's bytes.
    pub fn request(&self) -> &[u8] {
        &self.request
    }

    /// Transmissions so far, the first included.
    pub fn transmissions(&self) -> u32 {
        self.transmissions
    }

    /// Whether the transaction has ended (its event may still be waiting in
    /// [`poll_event`](Self::poll_event)).
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Responses that matched this transaction but were discarded (integrity failures).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Offers a message received from the network.
    ///
    /// Returns `Ok(true)` if it was this transaction's response and ended it, `Ok(false)` if
    /// it is not for this transaction (other id, method or class, or already done).
    ///
    /// # Errors
    /// The integrity error when the response is this transaction's but fails the check
    /// required by [`with_integrity_key`](Self::with_integrity_key); it is discarded and the
    /// transaction continues.
    pub fn handle_response<T: AsRef<[u8]>>(
        &mut self,
        now: Instant,
        response: &Message<T>,
    ) -> Result<bool, Error> {
        if self.done
            || response.transaction_id() != self.transaction_id
            || response.method() != self.method
            || !response.class().is_response()
        {
            return Ok(false);
        }
        let code = if response.class() == Class::ErrorResponse {
            Some(
                response
                    .attribute::<ErrorCode<'_>>()
                    .ok()
                    .flatten()
                    .map_or(0, |e| e.code),
            )
        } else {
            None
        };
        let authenticated = match &self.key {
            None => false,
            Some(key) => match response.verify_integrity(key) {
                Ok(_) => true,
                Err(e) => {
                    let exempt =
                        matches!(code, Some(400 | 401 | 420 | 438)) && e == Error::MissingIntegrity;
                    if !exempt {
                        self.dropped += 1;
                        tracing::debug!(id = %self.transaction_id, error = %e, "stun response discarded");
                        return Err(e);
                    }
                    false
                }
            },
        };
        let response = response.as_bytes().to_vec();
        self.event = Some(match code {
            None => TransactionEvent::Success {
                transaction_id: self.transaction_id,
                response,
                authenticated,
                rtt: (self.transmissions == 1).then(|| now.saturating_duration_since(self.started)),
            },
            Some(code) => TransactionEvent::ErrorResponse {
                transaction_id: self.transaction_id,
                code,
                response,
                authenticated,
            },
        });
        self.finish();
        Ok(true)
    }

    /// Advances time: retransmits or times out when the deadline has passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.done || now < self.deadline {
            return;
        }
        if self.transport == Transport::Reliable
            || self.transmissions >= self.config.max_transmissions
        {
            self.event = Some(TransactionEvent::Timeout {
                transaction_id: self.transaction_id,
            });
            self.finish();
            return;
        }
        self.transmissions += 1;
        self.rto = self.rto.saturating_mul(2);
        if let Some(max) = self.config.max_rto {
            self.rto = self.rto.min(max);
        }
        self.transmit_pending = true;
        self.deadline = now + self.wait_after_transmission();
    }

    /// The request bytes to send now, once per (re)transmission.
    pub fn poll_transmit(&mut self) -> Option<&[u8]> {
        if core::mem::take(&mut self.transmit_pending) {
            Some(&self.request)
        } else {
            None
        }
    }

    /// The transaction's outcome, once.
    pub fn poll_event(&mut self) -> Option<TransactionEvent> {
        self.event.take()
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due; `None` once done.
    pub fn poll_timeout(&self) -> Option<Instant> {
        (!self.done).then_some(self.deadline)
    }

    fn wait_after_transmission(&self) -> Duration {
        match self.transport {
            Transport::Reliable => self.config.reliable_timeout,
            Transport::Unreliable if self.transmissions >= self.config.max_transmissions => self
                .config
                .rto
                .saturating_mul(self.config.last_wait_multiplier),
            Transport::Unreliable => self.rto,
        }
    }

    fn finish(&mut self) {
        self.done = true;
        self.transmit_pending = false;
    }
}

/// A request to send, from [`Transactions::poll_transmit`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct Transmit<C> {
    /// The transaction it belongs to.
    pub transaction_id: TransactionId,
    /// The caller's context given to [`Transactions::start`] (typically the destination).
    pub context: C,
    /// The request's bytes.
    pub contents: Vec<u8>,
}

struct Entry<C> {
    transaction: ClientTransaction,
    context: C,
}

/// A table of concurrent client transactions, matched by transaction id.
///
/// `C` is the caller's per-transaction context (a destination address, a candidate pair id)
/// handed back with every transmit and event. Iteration order is by transaction id, so a
/// seeded simulation replays identically.
///
/// Run loop: after [`start`](Self::start), [`handle_response`](Self::handle_response) or
/// [`handle_timeout`](Self::handle_timeout), drain [`poll_transmit`](Self::poll_transmit)
/// then [`poll_event`](Self::poll_event); sleep until [`poll_timeout`](Self::poll_timeout).
///
/// ```
/// use std::time::{Duration, Instant};
/// use oxrtc_stun::*;
///
/// let mut table: Transactions<&str> = Transactions::new(TransactionConfig::default());
/// let mut request = Vec::new();
/// MessageBuilder::new(&mut request, Class::Request, Method::Binding, TransactionId([1; 12]))
///     .add_fingerprint()?;
/// let start = Instant::now();
/// let id = table.start(start, request, Transport::Unreliable, "server")?;
/// let first = table.poll_transmit().unwrap(); // send first.contents to first.context
/// assert_eq!(table.poll_timeout(), Some(start + Duration::from_millis(500)));
///
/// // The server answers: build its response and feed it back.
/// let mut response = Vec::new();
/// MessageBuilder::new(&mut response, Class::SuccessResponse, Method::Binding, id)
///     .add(&XorMappedAddress("192.0.2.1:4000".parse().unwrap()))?;
/// let msg = Message::new_checked(&response[..])?;
/// assert!(table.handle_response(start + Duration::from_millis(20), &msg)?);
/// match table.poll_event() {
///     Some((TransactionEvent::Success { rtt, .. }, "server")) => {
///         assert_eq!(rtt, Some(Duration::from_millis(20)))
///     }
///     other => panic!("{other:?}"),
/// }
/// assert!(table.is_empty());
/// # Ok::<(), oxrtc_stun::Error>(())
/// ```
pub struct Transactions<C = ()> {
    config: TransactionConfig,
    entries: BTreeMap<TransactionId, Entry<C>>,
    transmits: VecDeque<TransactionId>,
    events: VecDeque<(TransactionEvent, C)>,
    dropped: u64,
}

impl<C: core::fmt::Debug> core::fmt::Debug for Transactions<C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Transactions")
            .field("running", &self.entries.len())
            .field("events", &self.events)
            .field("dropped", &self.dropped)
            .finish_non_exhaustive()
    }
}

impl<C: Clone> Transactions<C> {
    /// An empty table.
    pub fn new(config: TransactionConfig) -> Self {
        Transactions {
            config,
            entries: BTreeMap::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            dropped: 0,
        }
    }

    /// The retransmission parameters.
    pub fn config(&self) -> &TransactionConfig {
        &self.config
    }

    /// Running transactions.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no transaction is running.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether a transaction with this id is running.
    pub fn contains(&self, transaction_id: &TransactionId) -> bool {
        self.entries.contains_key(transaction_id)
    }

    /// Responses discarded for failing integrity, over the table's life.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Starts a transaction for an encoded request; returns its id.
    ///
    /// # Errors
    /// As [`ClientTransaction::new`]; [`Error::DuplicateTransaction`] if the id is in use.
    pub fn start(
        &mut self,
        now: Instant,
        request: Vec<u8>,
        transport: Transport,
        context: C,
    ) -> Result<TransactionId, Error> {
        let t = ClientTransaction::new(now, request, transport, &self.config)?;
        self.insert(t, context)
    }

    /// As [`start`](Self::start), requiring authenticated responses
    /// ([`ClientTransaction::with_integrity_key`]).
    ///
    /// # Errors
    /// As [`start`](Self::start).
    pub fn start_authenticated(
        &mut self,
        now: Instant,
        request: Vec<u8>,
        transport: Transport,
        key: IntegrityKey,
        context: C,
    ) -> Result<TransactionId, Error> {
        let t =
            ClientTransaction::new(now, request, transport, &self.config)?.with_integrity_key(key);
        self.insert(t, context)
    }

    fn insert(
        &mut self,
        transaction: ClientTransaction,
        context: C,
    ) -> Result<TransactionId, Error> {
        let id = transaction.transaction_id();
        if self.entries.contains_key(&id) {
            return Err(Error::DuplicateTransaction);
        }
        self.entries.insert(
            id,
            Entry {
                transaction,
                context,
            },
        );
        self.transmits.push_back(id);
        Ok(id)
    }

    /// Abandons a transaction without an event; returns its context.
    pub fn cancel(&mut self, transaction_id: &TransactionId) -> Option<C> {
        self.entries.remove(transaction_id).map(|e| e.context)
    }

    /// Offers a received message. `Ok(true)` if it ended one of the transactions (its event
    /// is queued), `Ok(false)` if it belongs to none.
    ///
    /// # Errors
    /// The integrity error if it matched a transaction but failed its check; it is discarded.
    pub fn handle_response<T: AsRef<[u8]>>(
        &mut self,
        now: Instant,
        response: &Message<T>,
    ) -> Result<bool, Error> {
        let id = response.transaction_id();
        let Some(entry) = self.entries.get_mut(&id) else {
            return Ok(false);
        };
        match entry.transaction.handle_response(now, response) {
            Ok(true) => {
                self.reap(&id);
                Ok(true)
            }
            Ok(false) => Ok(false),
            Err(e) => {
                self.dropped += 1;
                Err(e)
            }
        }
    }

    /// Advances time for every transaction.
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut ended = Vec::new();
        for (id, entry) in &mut self.entries {
            let before = entry.transaction.transmissions();
            entry.transaction.handle_timeout(now);
            if entry.transaction.is_done() {
                ended.push(*id);
            } else if entry.transaction.transmissions() != before {
                self.transmits.push_back(*id);
            }
        }
        for id in ended {
            self.reap(&id);
        }
    }

    fn reap(&mut self, id: &TransactionId) {
        if let Some(mut entry) = self.entries.remove(id) {
            if let Some(event) = entry.transaction.poll_event() {
                self.events.push_back((event, entry.context));
            }
        }
    }

    /// The next request (re)transmission to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit<C>> {
        while let Some(id) = self.transmits.pop_front() {
            let Some(entry) = self.entries.get_mut(&id) else {
                continue;
            };
            if let Some(bytes) = entry.transaction.poll_transmit() {
                return Some(Transmit {
                    transaction_id: id,
                    context: entry.context.clone(),
                    contents: bytes.to_vec(),
                });
            }
        }
        None
    }

    /// The next ended transaction, with its context.
    pub fn poll_event(&mut self) -> Option<(TransactionEvent, C)> {
        self.events.pop_front()
    }

    /// The earliest deadline of the running transactions.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.entries
            .values()
            .filter_map(|e| e.transaction.poll_timeout())
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{MessageBuilder, XorMappedAddress};

    fn request(id: u8) -> Vec<u8> {
        let mut out = Vec::new();
        MessageBuilder::new(
            &mut out,
            Class::Request,
            Method::Binding,
            TransactionId([id; 12]),
        );
        out
    }

    fn response(id: TransactionId, class: Class, key: Option<&IntegrityKey>) -> Vec<u8> {
        let mut out = Vec::new();
        let mut b = MessageBuilder::new(&mut out, class, Method::Binding, id);
        if class == Class::ErrorResponse {
            b.add(&ErrorCode::UNAUTHORIZED).unwrap();
        } else {
            b.add(&XorMappedAddress("192.0.2.7:9".parse().unwrap()))
                .unwrap();
        }
        if let Some(k) = key {
            b.add_message_integrity(k).unwrap();
        }
        out
    }

    /// Drives a transaction on a virtual clock that jumps to each deadline; returns the
    /// offsets (ms) of every transmission and of the timeout.
    fn trace(transport: Transport, config: &TransactionConfig) -> (Vec<u128>, u128) {
        let t0 = Instant::now();
        let mut t = ClientTransaction::new(t0, request(1), transport, config).unwrap();
        let mut sends = Vec::new();
        let mut now = t0;
        loop {
            while t.poll_transmit().is_some() {
                sends.push(now.duration_since(t0).as_millis());
            }
            if let Some(ev) = t.poll_event() {
                assert!(matches!(ev, TransactionEvent::Timeout { .. }));
                return (sends, now.duration_since(t0).as_millis());
            }
            let next = t.poll_timeout().unwrap();
            // An early call changes nothing.
            t.handle_timeout(next - Duration::from_millis(1));
            assert!(t.poll_transmit().is_none());
            now = next;
            t.handle_timeout(now);
        }
    }

    #[test]
    fn rfc8489_udp_schedule() {
        // RFC 8489 §6.2.1: sent at 0, 500, 1500, 3500, 7500, 15500, 31500 ms; timeout at
        // 39500 ms.
        let (sends, timeout) = trace(Transport::Unreliable, &TransactionConfig::default());
        assert_eq!(sends, [0, 500, 1500, 3500, 7500, 15500, 31500]);
        assert_eq!(timeout, 39500);
    }

    #[test]
    fn reliable_sends_once_and_waits_ti() {
        let (sends, timeout) = trace(Transport::Reliable, &TransactionConfig::default());
        assert_eq!(sends, [0]);
        assert_eq!(timeout, 39500);
    }

    #[test]
    fn configurable_rto_and_counts() {
        let config = TransactionConfig {
            rto: Duration::from_millis(100),
            max_rto: Some(Duration::from_millis(300)),
            max_transmissions: 5,
            last_wait_multiplier: 4,
            ..TransactionConfig::default()
        };
        let (sends, timeout) = trace(Transport::Unreliable, &config);
        assert_eq!(sends, [0, 100, 300, 600, 900]);
        assert_eq!(timeout, 1300);
        let once = TransactionConfig {
            max_transmissions: 1,
            ..TransactionConfig::default()
        };
        let (sends, timeout) = trace(Transport::Unreliable, &once);
        assert_eq!((sends, timeout), (vec![0], 8000));
    }

    #[test]
    fn response_ends_transaction_with_rtt() {
        let t0 = Instant::now();
        let mut t = ClientTransaction::new(
            t0,
            request(2),
            Transport::Unreliable,
            &TransactionConfig::default(),
        )
        .unwrap();
        assert!(t.poll_transmit().is_some());
        let id = t.transaction_id();
        // A response with another id is not ours; a request with our id neither.
        let other = response(TransactionId([9; 12]), Class::SuccessResponse, None);
        assert_eq!(
            t.handle_response(t0, &Message::new_checked(&other[..]).unwrap()),
            Ok(false)
        );
        let same_id_request = request(2);
        assert_eq!(
            t.handle_response(t0, &Message::new_checked(&same_id_request[..]).unwrap()),
            Ok(false)
        );
        let ok = response(id, Class::SuccessResponse, None);
        let at = t0 + Duration::from_millis(42);
        assert_eq!(
            t.handle_response(at, &Message::new_checked(&ok[..]).unwrap()),
            Ok(true)
        );
        assert_eq!(
            t.poll_event(),
            Some(TransactionEvent::Success {
                transaction_id: id,
                response: ok.clone(),
                authenticated: false,
                rtt: Some(Duration::from_millis(42)),
            })
        );
        assert_eq!(t.poll_timeout(), None);
        // Retransmissions of the response after the end are ignored.
        assert_eq!(
            t.handle_response(at, &Message::new_checked(&ok[..]).unwrap()),
            Ok(false)
        );
        assert_eq!(t.poll_event(), None);
    }

    #[test]
    fn no_rtt_after_retransmission() {
        let t0 = Instant::now();
        let mut t = ClientTransaction::new(
            t0,
            request(3),
            Transport::Unreliable,
            &TransactionConfig::default(),
        )
        .unwrap();
        t.handle_timeout(t0 + Duration::from_millis(500));
        let ok = response(t.transaction_id(), Class::SuccessResponse, None);
        t.handle_response(
            t0 + Duration::from_millis(600),
            &Message::new_checked(&ok[..]).unwrap(),
        )
        .unwrap();
        assert!(matches!(
            t.poll_event(),
            Some(TransactionEvent::Success { rtt: None, .. })
        ));
    }

    #[test]
    fn integrity_is_required_when_keyed() {
        let key = IntegrityKey::short_term("secret");
        let t0 = Instant::now();
        let mut t = ClientTransaction::new(
            t0,
            request(4),
            Transport::Unreliable,
            &TransactionConfig::default(),
        )
        .unwrap()
        .with_integrity_key(key.clone());
        let id = t.transaction_id();
        let unsigned = response(id, Class::SuccessResponse, None);
        assert_eq!(
            t.handle_response(t0, &Message::new_checked(&unsigned[..]).unwrap()),
            Err(Error::MissingIntegrity)
        );
        let forged = response(
            id,
            Class::SuccessResponse,
            Some(&IntegrityKey::short_term("guess")),
        );
        assert_eq!(
            t.handle_response(t0, &Message::new_checked(&forged[..]).unwrap()),
            Err(Error::IntegrityMismatch)
        );
        assert_eq!(t.dropped(), 2);
        assert!(!t.is_done());
        // A 401 without integrity is accepted, unauthenticated.
        let unauthorized = response(id, Class::ErrorResponse, None);
        assert_eq!(
            t.handle_response(t0, &Message::new_checked(&unauthorized[..]).unwrap()),
            Ok(true)
        );
        assert!(matches!(
            t.poll_event(),
            Some(TransactionEvent::ErrorResponse {
                code: 401,
                authenticated: false,
                ..
            })
        ));

        let mut t = ClientTransaction::new(
            t0,
            request(5),
            Transport::Unreliable,
            &TransactionConfig::default(),
        )
        .unwrap()
        .with_integrity_key(key.clone());
        let signed = response(t.transaction_id(), Class::SuccessResponse, Some(&key));
        assert_eq!(
            t.handle_response(t0, &Message::new_checked(&signed[..]).unwrap()),
            Ok(true)
        );
        assert!(matches!(
            t.poll_event(),
            Some(TransactionEvent::Success {
                authenticated: true,
                ..
            })
        ));
    }

    #[test]
    fn rejects_non_requests() {
        let r = response(TransactionId([1; 12]), Class::SuccessResponse, None);
        assert_eq!(
            ClientTransaction::new(
                Instant::now(),
                r,
                Transport::Reliable,
                &TransactionConfig::default()
            )
            .unwrap_err(),
            Error::NotARequest
        );
        assert!(ClientTransaction::new(
            Instant::now(),
            vec![1, 2, 3],
            Transport::Reliable,
            &TransactionConfig::default()
        )
        .is_err());
    }

    #[test]
    fn table_runs_many_transactions_on_a_virtual_clock() {
        let t0 = Instant::now();
        let mut table: Transactions<u32> = Transactions::new(TransactionConfig::default());
        for i in 0..3u8 {
            table
                .start(t0, request(i), Transport::Unreliable, u32::from(i))
                .unwrap();
        }
        assert_eq!(
            table.start(t0, request(0), Transport::Unreliable, 9),
            Err(Error::DuplicateTransaction)
        );
        let mut sent = Vec::new();
        while let Some(tx) = table.poll_transmit() {
            sent.push(tx.context);
        }
        assert_eq!(sent, [0, 1, 2]);
        // Answer transaction 1 at 100 ms.
        let ok = response(TransactionId([1; 12]), Class::SuccessResponse, None);
        let at = t0 + Duration::from_millis(100);
        assert_eq!(
            table.handle_response(at, &Message::new_checked(&ok[..]).unwrap()),
            Ok(true)
        );
        assert!(matches!(
            table.poll_event(),
            Some((TransactionEvent::Success { .. }, 1))
        ));
        assert_eq!(table.cancel(&TransactionId([2; 12])), Some(2));
        // Transaction 0 alone: it retransmits on schedule and times out at 39.5 s.
        let mut now = t0;
        let mut sends = vec![0u128];
        while let Some(next) = table.poll_timeout() {
            now = next;
            table.handle_timeout(now);
            while let Some(tx) = table.poll_transmit() {
                assert_eq!(tx.context, 0);
                sends.push(now.duration_since(t0).as_millis());
            }
        }
        assert_eq!(sends, [0, 500, 1500, 3500, 7500, 15500, 31500]);
        assert_eq!(now.duration_since(t0), Duration::from_millis(39500));
        assert_eq!(
            table.poll_event(),
            Some((
                TransactionEvent::Timeout {
                    transaction_id: TransactionId([0; 12])
                },
                0
            ))
        );
        assert!(table.is_empty());
        assert_eq!(table.poll_event(), None);
    }
}
