//! The sans-IO DTLS 1.2 connection: record layer, flights and the handshake state machine.

use crate::config::{Config, Role};
use crate::crypto::{
    agree, prf, suite_params, verify_signature, AuthKind, KeyKind, KeyShare, PeerPublicKey,
    RecordCipher, SuiteParams, VERIFY_SCHEMES,
};
use crate::reassembly::{HelloInsert, HelloReassembler, Insert, Message, Reassembler};
use crate::replay::ReplayWindow;
use crate::wire::{
    Alert, AlertDescription, AlertLevel, CipherSuite, ClientHello, ContentType, Extension,
    HandshakeFragment, HandshakeHeader, HandshakeMessage, HandshakeType, HelloVerifyRequest,
    NamedGroup, ProtocolVersion, Record, RecordHeader, Records, SignatureScheme,
    HANDSHAKE_HEADER_LEN, RECORD_HEADER_LEN,
};
use crate::{Error, Fingerprint, SrtpKeyingMaterial, SrtpProtectionProfile};
use bytes::{Buf, Bytes, BytesMut};
use rand_core::CryptoRng;
use ring::rand::SystemRandom;
use std::collections::VecDeque;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

/// Smallest [`Config::mtu`] accepted: room for a protected record header, a handshake
/// header and some bytes of body.
pub const MIN_MTU: usize = 128;
/// Largest plaintext of one record (RFC 6347 §4.1, 2^14).
pub const MAX_PLAINTEXT_LEN: usize = 1 << 14;
/// Protected records buffered while their epoch's keys are not yet known.
const MAX_EARLY_RECORDS: usize = 8;
/// Authenticated application data held until the handshake completes (the peer may
/// send it before its Finished reaches us).
const MAX_EARLY_DATA_RECORDS: usize = 8;
/// Queued outgoing datagrams beyond which handshake retransmissions are not queued.
const MAX_QUEUED_DATAGRAMS: usize = 64;
/// Spent datagram buffers kept for reuse by [`Connection::poll_transmit_into`].
const MAX_SPARE_BUFFERS: usize = 32;
/// Capacity above which a spent buffer is freed rather than kept.
const MAX_SPARE_CAPACITY: usize = 64 * 1024;
/// HelloVerifyRequests a client follows before giving up.
const MAX_HELLO_VERIFY: u8 = 4;
/// Labels reserved by RFC 5705 §4 and the key schedule.
const RESERVED_LABELS: &[&str] = &[
    "client finished",
    "server finished",
    "master secret",
    "key expansion",
    "extended master secret",
];

/// Something that happened on the connection; drain with [`Connection::poll_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The handshake completed and the peer's certificate matched an expected fingerprint.
    Connected {
        /// The SRTP profile negotiated by use_srtp, if any (RFC 5764 §4.1.3).
        srtp_profile: Option<SrtpProtectionProfile>,
    },
    /// One record of application data from the peer, from
    /// [`handle_receive`](Connection::handle_receive).
    ApplicationData(Vec<u8>),
    /// One record of application data from the peer, from
    /// [`handle_receive_bytes`](Connection::handle_receive_bytes): decrypted in place, a
    /// slice of the datagram's buffer (no copy).
    ApplicationDataBytes(Bytes),
    /// The connection closed cleanly: close_notify received or [`Connection::close`] called.
    Closed,
    /// The connection failed; a fatal alert was sent where the RFC asks for one.
    Failed(Error),
}

/// Coarse state of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// The handshake is running (or the server waits for a ClientHello).
    Handshaking,
    /// Application data flows.
    Connected,
    /// close_notify was sent or received.
    Closed,
    /// A fatal error ended the connection.
    Failed,
}

/// Counters of dropped input, for stats (bad network input is dropped, not fatal).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Records received and parsed (any epoch).
    pub records_received: u64,
    /// Datagrams whose framing broke off at a malformed record.
    pub malformed_records: u64,
    /// Records of an epoch we have no keys for.
    pub unknown_epoch_records: u64,
    /// Protected records that failed authentication.
    pub bad_mac_records: u64,
    /// Records rejected by the replay window.
    pub replayed_records: u64,
    /// Other records dropped: wrong version, content type, or state.
    pub dropped_records: u64,
    /// Handshake fragments refused (malformed, inconsistent or over a limit).
    pub dropped_fragments: u64,
    /// Flights retransmitted (by timer or on the peer's retransmission).
    pub retransmissions: u64,
}

/// What the handshake waits for next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    ServerHello,
    ServerCertificate,
    ServerKeyExchange,
    CertificateRequestOrDone,
    ServerHelloDone,
    ServerFinished,
    ClientHello,
    ClientCertificate,
    ClientKeyExchange,
    CertificateVerify,
    ClientFinished,
}

/// State that only exists while handshaking.
struct Handshake {
    expect: Expect,
    /// Every handshake message so far, unfragmented (RFC 6347 §4.2.6).
    transcript: Vec<u8>,
    client_random: [u8; 32],
    server_random: [u8; 32],
    params: Option<&'static SuiteParams>,
    key_share: Option<KeyShare>,
    pre_master: Option<Vec<u8>>,
    peer_key: Option<PeerPublicKey>,
    /// Server: the client's signature_algorithms; client: the CertificateRequest's.
    peer_schemes: Vec<SignatureScheme>,
    cert_requested: bool,
    srtp_profile: Option<SrtpProtectionProfile>,
    cookie: Vec<u8>,
    /// Client: our ECDHE public value, sent in ClientKeyExchange.
    kx_public: Vec<u8>,
    hello_verify_count: u8,
    master_secret: Option<[u8; 48]>,
    /// A message waiting for the expected fingerprints to be set.
    paused: Option<Message>,
}

impl Handshake {
    fn new(expect: Expect) -> Box<Handshake> {
        Box::new(Handshake {
            expect,
            transcript: Vec::new(),
            client_random: [0; 32],
            server_random: [0; 32],
            params: None,
            key_share: None,
            pre_master: None,
            peer_key: None,
            peer_schemes: Vec::new(),
            cert_requested: false,
            srtp_profile: None,
            cookie: Vec::new(),
            kx_public: Vec::new(),
            hello_verify_count: 0,
            master_secret: None,
            paused: None,
        })
    }

    fn params(&self) -> Result<&'static SuiteParams, Error> {
        self.params
            .ok_or(Error::UnexpectedMessage("no cipher suite yet"))
    }

    fn master(&self) -> Result<&[u8; 48], Error> {
        self.master_secret
            .as_ref()
            .ok_or(Error::UnexpectedMessage("no master secret yet"))
    }

    fn append(&mut self, msg_type: HandshakeType, seq: u16, body: &[u8]) -> Result<(), Error> {
        let length = u32::try_from(body.len()).map_err(|_| Error::TooLong)?;
        HandshakeHeader {
            msg_type,
            length,
            message_seq: seq,
            fragment_offset: 0,
            fragment_length: length,
        }
        .write(&mut self.transcript)?;
        self.transcript.extend_from_slice(body);
        Ok(())
    }

    /// `verify_data = PRF(master_secret, label, Hash(handshake_messages))[0..12]`.
    fn verify_data(&self, label: &[u8]) -> Result<[u8; 12], Error> {
        let p = self.params()?;
        let hash = p.prf.hash(&self.transcript);
        let mut out = [0u8; 12];
        prf(p.prf, self.master()?, label, &[hash.as_ref()], &mut out);
        Ok(out)
    }
}

/// What survives the handshake: enough for the exporter.
struct Session {
    params: &'static SuiteParams,
    master_secret: [u8; 48],
    client_random: [u8; 32],
    server_random: [u8; 32],
    srtp_profile: Option<SrtpProtectionProfile>,
}

/// One item of a flight (RFC 6347 §4.2.4), kept for retransmission.
#[derive(Debug, Clone)]
enum FlightItem {
    /// A full handshake message (12-byte header + body) sent in `epoch`.
    Handshake { epoch: u16, message: Vec<u8> },
    /// ChangeCipherSpec, always epoch 0.
    ChangeCipherSpec,
}

/// A DTLS 1.2 connection, client or server, as a sans-IO state machine.
///
/// - Getters: [`state`](Self::state), [`role`](Self::role), [`stats`](Self::stats),
///   [`cipher_suite`](Self::cipher_suite), [`srtp_profile`](Self::srtp_profile),
///   [`remote_certificate`](Self::remote_certificate).
/// - Inputs: [`handle_receive`](Self::handle_receive) (or, without copies,
///   [`handle_receive_bytes`](Self::handle_receive_bytes)) for every datagram from the
///   peer, [`handle_timeout`](Self::handle_timeout) when
///   [`poll_timeout`](Self::poll_timeout) is due.
/// - Commands: [`send_application_data`](Self::send_application_data) (or, into the
///   caller's buffer, [`seal_application_data`](Self::seal_application_data)),
///   [`close`](Self::close), [`set_expected_remote_fingerprints`](Self::set_expected_remote_fingerprints),
///   [`export_keying_material`](Self::export_keying_material),
///   [`srtp_keying_material`](Self::srtp_keying_material).
/// - Outputs: after every input or command, drain [`poll_transmit`](Self::poll_transmit)
///   (or [`poll_transmit_into`](Self::poll_transmit_into); datagrams to send, in order)
///   and [`poll_event`](Self::poll_event) until they return `None`, then re-arm the timer
///   with [`poll_timeout`](Self::poll_timeout).
///
/// Randomness: the client/server randoms (all 32 bytes, no `gmt_unix_time`; see the
/// crate docs) and the cookie secret come from the caller's RNG; ECDHE keys and signatures
/// from ring's `SystemRandom`.
pub struct Connection {
    config: Config,
    rng: Box<dyn CryptoRng + Send>,
    sysrand: SystemRandom,
    state: State,
    hs: Option<Box<Handshake>>,
    session: Option<Session>,
    // record layer
    write_epoch: u16,
    write_seq: [u64; 2],
    write_cipher: Option<RecordCipher>,
    read_cipher: Option<RecordCipher>,
    replay: ReplayWindow,
    /// Protected records that arrived before their keys: the raw record, and whether it
    /// came through `handle_receive_bytes` (replayed the same way).
    early: Vec<(Vec<u8>, bool)>,
    /// Set while `handle_receive_bytes` runs.
    receiving_bytes: bool,
    /// ApplicationData events held until Connected.
    early_data: Vec<Event>,
    reassembler: Reassembler,
    /// Server: a fragmented ClientHello before the handshake state exists.
    hello: HelloReassembler,
    send_seq: u16,
    // flights and timers
    flight: Vec<FlightItem>,
    flight_sent_at: Option<Instant>,
    retransmit_at: Option<Instant>,
    rto: Duration,
    handshake_deadline: Option<Instant>,
    peer_retransmitted: bool,
    now: Instant,
    cookie_secret: [u8; 32],
    close_sent: bool,
    remote_certificate: Option<Vec<u8>>,
    expected_peer_finished: Option<[u8; 12]>,
    outgoing: VecDeque<Vec<u8>>,
    /// Spent datagram buffers from `poll_transmit_into`, reused by application data.
    spare: Vec<Vec<u8>>,
    events: VecDeque<Event>,
    stats: Stats,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("role", &self.config.role)
            .field("state", &self.state)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// Creates a connection; a client queues its ClientHello at once.
    ///
    /// `rng` supplies the hello randoms and the default cookie secret; seed it in tests for
    /// a deterministic message flow.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] if the MTU is below [`MIN_MTU`] (128) or no suite, group or retransmission
    /// timeout is usable.
    pub fn new(
        config: Config,
        now: Instant,
        mut rng: impl CryptoRng + Send + 'static,
    ) -> Result<Connection, Error> {
        if config.mtu < MIN_MTU {
            return Err(Error::InvalidConfig("mtu below 128"));
        }
        if !config
            .cipher_suites
            .iter()
            .any(|s| suite_params(*s).is_some())
        {
            return Err(Error::InvalidConfig("no supported cipher suite"));
        }
        if config.groups.is_empty() || config.initial_retransmit_timeout.is_zero() {
            return Err(Error::InvalidConfig("no group or zero retransmit timeout"));
        }
        let mut cookie_secret = [0u8; 32];
        rng.fill_bytes(&mut cookie_secret);
        let cookie_secret = config.cookie_secret.unwrap_or(cookie_secret);
        let role = config.role;
        let mut c = Connection {
            rto: config.initial_retransmit_timeout,
            handshake_deadline: now.checked_add(config.handshake_timeout),
            config,
            rng: Box::new(rng),
            sysrand: SystemRandom::new(),
            state: State::Handshaking,
            hs: Some(Handshake::new(match role {
                Role::Client => Expect::ServerHello,
                Role::Server => Expect::ClientHello,
            })),
            session: None,
            write_epoch: 0,
            write_seq: [0; 2],
            write_cipher: None,
            read_cipher: None,
            replay: ReplayWindow::default(),
            early: Vec::new(),
            receiving_bytes: false,
            early_data: Vec::new(),
            reassembler: Reassembler::default(),
            hello: HelloReassembler::default(),
            send_seq: 0,
            flight: Vec::new(),
            flight_sent_at: None,
            retransmit_at: None,
            peer_retransmitted: false,
            now,
            cookie_secret,
            close_sent: false,
            remote_certificate: None,
            expected_peer_finished: None,
            outgoing: VecDeque::new(),
            spare: Vec::new(),
            events: VecDeque::new(),
            stats: Stats::default(),
        };
        if role == Role::Client {
            if let Some(hs) = c.hs.as_mut() {
                // All 32 bytes random, no gmt_unix_time (see the crate docs).
                c.rng.fill_bytes(&mut hs.client_random);
            }
            c.send_client_hello(now)?;
        }
        Ok(c)
    }

    // ------------------------------------------------------------------ getters

    /// The coarse state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Client or server.
    pub fn role(&self) -> Role {
        self.config.role
    }

    /// Counters of dropped input.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The negotiated cipher suite, once known.
    pub fn cipher_suite(&self) -> Option<CipherSuite> {
        self.session
            .as_ref()
            .map(|s| s.params.suite)
            .or_else(|| self.hs.as_ref()?.params.map(|p| p.suite))
    }

    /// The negotiated SRTP profile, once connected.
    pub fn srtp_profile(&self) -> Option<SrtpProtectionProfile> {
        self.session.as_ref()?.srtp_profile
    }

    /// The peer's end-entity certificate (DER), once received and verified.
    pub fn remote_certificate(&self) -> Option<&[u8]> {
        self.remote_certificate.as_deref()
    }

    /// Bytes held for the peer's incomplete handshake messages and early records (bounded).
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn buffered_bytes(&self) -> usize {
        self.reassembler.buffered_bytes()
            + self.hello.buffered_bytes()
            + self.early.iter().map(|(raw, _)| raw.len()).sum::<usize>()
            + self
                .early_data
                .iter()
                .map(|e| match e {
                    Event::ApplicationData(d) => d.len(),
                    Event::ApplicationDataBytes(d) => d.len(),
                    _ => 0,
                })
                .sum::<usize>()
    }

    /// Datagrams waiting in [`poll_transmit`](Self::poll_transmit).
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn queued_datagrams(&self) -> usize {
        self.outgoing.len()
    }

    // ------------------------------------------------------------------ inputs

    /// Processes one datagram from the peer (it may hold several records).
    ///
    /// Malformed, unauthenticated, replayed or unexpected records are dropped and counted in
    /// [`Stats`]; they do not end the connection.
    ///
    /// # Errors
    /// The error that made the connection fail (it is also reported as
    /// [`Event::Failed`]): a fatal alert received, or a handshake failure such as
    /// [`Error::FingerprintMismatch`], for which a fatal alert was queued.
    pub fn handle_receive(&mut self, now: Instant, datagram: &[u8]) -> Result<(), Error> {
        self.now = self.now.max(now);
        if matches!(self.state, State::Closed | State::Failed) {
            return Ok(());
        }
        let r = self.receive_datagram(datagram);
        let r = r.and_then(|()| self.progress());
        match r {
            Ok(()) => Ok(()),
            Err(e) => self.fail(e),
        }
    }

    /// [`handle_receive`](Self::handle_receive) without copies: protected application data
    /// is decrypted in place in `datagram` and reported as
    /// [`Event::ApplicationDataBytes`], a slice of that buffer (no copy, no allocation of
    /// its own; freezing a buffer that is not already shared allocates its small
    /// reference count once). Receive into one large `BytesMut` and `split_to` each
    /// datagram off it to reuse its memory once the events are dropped.
    ///
    /// # Errors
    /// As [`handle_receive`](Self::handle_receive).
    pub fn handle_receive_bytes(&mut self, now: Instant, datagram: BytesMut) -> Result<(), Error> {
        self.now = self.now.max(now);
        if matches!(self.state, State::Closed | State::Failed) {
            return Ok(());
        }
        self.receiving_bytes = true;
        let r = self.receive_datagram_bytes(datagram);
        self.receiving_bytes = false;
        let r = r.and_then(|()| self.progress());
        match r {
            Ok(()) => Ok(()),
            Err(e) => self.fail(e),
        }
    }

    /// Retransmits a flight whose timer expired, or fails a handshake that took too long.
    /// Calling it early is harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = self.now.max(now);
        if self.state != State::Handshaking {
            return;
        }
        if self.handshake_deadline.is_some_and(|d| now >= d) {
            let _ = self.fail(Error::HandshakeTimeout);
            return;
        }
        if self.retransmit_at.is_some_and(|t| now >= t) {
            let max = self.config.max_retransmit_timeout;
            self.rto = self.rto.checked_mul(2).unwrap_or(max).min(max);
            self.stats.retransmissions += 1;
            if let Err(e) = self.transmit_flight(now, true) {
                let _ = self.fail(e);
            }
        }
    }

    // ------------------------------------------------------------------ commands

    /// Sets the fingerprints from the remote SDP (RFC 8122 §5). A handshake waiting at the
    /// peer's Certificate resumes; a mismatch fails the connection ([`Event::Failed`]).
    pub fn set_expected_remote_fingerprints(&mut self, fingerprints: Vec<Fingerprint>) {
        self.config.expected_remote_fingerprints = fingerprints;
        if self.state == State::Handshaking && !self.config.expected_remote_fingerprints.is_empty()
        {
            if let Err(e) = self.progress() {
                let _ = self.fail(e);
            }
        }
    }

    /// Sends `data` as one application_data record in one datagram.
    ///
    /// # Errors
    /// [`Error::NotConnected`] before the handshake completed, [`Error::Closed`] after
    /// close or failure, [`Error::RecordTooLarge`] above 2^14 bytes.
    ///
    /// The datagram's buffer comes from those given back through
    /// [`poll_transmit_into`](Self::poll_transmit_into) when there are any, so a caller
    /// draining with it sends without allocating.
    pub fn send_application_data(&mut self, data: &[u8]) -> Result<(), Error> {
        let mut dgram = self
            .spare
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(RECORD_HEADER_LEN + data.len() + 32));
        match self.seal_application_data(data, &mut dgram) {
            Ok(()) => {
                self.outgoing.push_back(dgram);
                Ok(())
            }
            Err(e) => {
                self.recycle(dgram);
                Err(e)
            }
        }
    }

    /// Appends `data` as one protected application_data record to `out`, which the caller
    /// sends (alone, or after other records of this connection within the MTU). Nothing is
    /// queued and nothing allocated when `out` has room: the allocation-free send path.
    /// It goes out ahead of anything [`poll_transmit`](Self::poll_transmit) still holds,
    /// which is fine for datagrams.
    ///
    /// # Errors
    /// As [`send_application_data`](Self::send_application_data); `out` is then unchanged.
    pub fn seal_application_data(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
        match self.state {
            State::Connected => {}
            State::Handshaking => return Err(Error::NotConnected),
            State::Closed | State::Failed => return Err(Error::Closed),
        }
        if data.len() > MAX_PLAINTEXT_LEN {
            return Err(Error::RecordTooLarge);
        }
        let len = out.len();
        let r = self.write_record(ContentType::APPLICATION_DATA, self.write_epoch, data, out);
        if r.is_err() {
            out.truncate(len);
        }
        r
    }

    /// Closes the connection: sends close_notify (RFC 5246 §7.2.1) and reports
    /// [`Event::Closed`]. Idempotent.
    pub fn close(&mut self) {
        if matches!(self.state, State::Closed | State::Failed) {
            return;
        }
        self.send_alert(AlertLevel::WARNING, AlertDescription::CLOSE_NOTIFY);
        self.close_sent = true;
        self.state = State::Closed;
        self.stop();
        self.events.push_back(Event::Closed);
    }

    /// RFC 5705 keying material exporter: `PRF(master_secret, label, client_random +
    /// server_random [+ context_length + context])[0..len]`.
    ///
    /// # Errors
    /// [`Error::NotConnected`] before the handshake completed, [`Error::ReservedLabel`] for
    /// the key schedule's labels, [`Error::TooLong`] for a context over 65535 bytes.
    pub fn export_keying_material(
        &self,
        label: &str,
        context: Option<&[u8]>,
        len: usize,
    ) -> Result<Vec<u8>, Error> {
        let s = self.session.as_ref().ok_or(Error::NotConnected)?;
        if RESERVED_LABELS.contains(&label) {
            return Err(Error::ReservedLabel);
        }
        let mut out = vec![0u8; len];
        match context {
            None => prf(
                s.params.prf,
                &s.master_secret,
                label.as_bytes(),
                &[&s.client_random, &s.server_random],
                &mut out,
            ),
            Some(ctx) => {
                let n = u16::try_from(ctx.len()).map_err(|_| Error::TooLong)?;
                prf(
                    s.params.prf,
                    &s.master_secret,
                    label.as_bytes(),
                    &[&s.client_random, &s.server_random, &n.to_be_bytes(), ctx],
                    &mut out,
                )
            }
        }
        Ok(out)
    }

    /// SRTP master keys and salts from `EXTRACTOR-dtls_srtp` split per RFC 5764 §4.2.
    ///
    /// # Errors
    /// [`Error::NotConnected`] before the handshake completed, [`Error::NoSrtpProfile`] if
    /// use_srtp was not negotiated.
    pub fn srtp_keying_material(&self) -> Result<SrtpKeyingMaterial, Error> {
        let profile = self
            .session
            .as_ref()
            .ok_or(Error::NotConnected)?
            .srtp_profile
            .ok_or(Error::NoSrtpProfile)?;
        let m = self.export_keying_material(
            "EXTRACTOR-dtls_srtp",
            None,
            profile.keying_material_len(),
        )?;
        SrtpKeyingMaterial::split(profile, &m).ok_or(Error::Crypto)
    }

    // ------------------------------------------------------------------ outputs

    /// The next datagram to send to the peer.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.outgoing.pop_front()
    }

    /// The next datagram to send, swapped into `out`; false (and `out` untouched) when
    /// there is none. `out`'s previous buffer, presumably sent, is kept for a later
    /// [`send_application_data`](Self::send_application_data): draining with this in
    /// steady state allocates nothing.
    #[must_use]
    pub fn poll_transmit_into(&mut self, out: &mut Vec<u8>) -> bool {
        let Some(mut d) = self.outgoing.pop_front() else {
            return false;
        };
        std::mem::swap(out, &mut d);
        self.recycle(d);
        true
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due, if ever.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.state != State::Handshaking {
            return None;
        }
        match (self.retransmit_at, self.handshake_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    // ================================================================== internals

    /// Keeps a spent datagram buffer for reuse (bounded in count and size).
    fn recycle(&mut self, mut buf: Vec<u8>) {
        if self.spare.len() < MAX_SPARE_BUFFERS
            && buf.capacity() > 0
            && buf.capacity() <= MAX_SPARE_CAPACITY
        {
            buf.clear();
            self.spare.push(buf);
        }
    }

    fn fail(&mut self, e: Error) -> Result<(), Error> {
        if matches!(self.state, State::Closed | State::Failed) {
            return Err(e);
        }
        if !matches!(e, Error::AlertReceived(_) | Error::HandshakeTimeout) {
            self.send_alert(AlertLevel::FATAL, e.alert());
        }
        tracing::debug!(error = %e, "dtls connection failed");
        self.state = State::Failed;
        self.stop();
        self.events.push_back(Event::Failed(e.clone()));
        Err(e)
    }

    /// Forgets handshake state and timers.
    fn stop(&mut self) {
        self.hs = None;
        self.hello.clear();
        self.retransmit_at = None;
        self.early.clear();
        self.early_data.clear();
    }

    fn send_alert(&mut self, level: AlertLevel, description: AlertDescription) {
        let mut payload = Vec::with_capacity(Alert::LEN);
        Alert { level, description }.write(&mut payload);
        let mut dgram = Vec::new();
        if self
            .write_record(ContentType::ALERT, self.write_epoch, &payload, &mut dgram)
            .is_ok()
        {
            self.outgoing.push_back(dgram);
        }
    }

    /// Appends one record of `epoch` (protected if epoch 1) to `out`.
    fn write_record(
        &mut self,
        content_type: ContentType,
        epoch: u16,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        let slot = usize::from(epoch.min(1));
        let seq = self.write_seq[slot];
        if seq >= (1 << 48) - 1 {
            return Err(Error::SequenceExhausted);
        }
        self.write_seq[slot] += 1;
        let header = RecordHeader {
            content_type,
            version: ProtocolVersion::DTLS_1_2,
            epoch,
            sequence_number: seq,
            length: 0,
        };
        if epoch == 0 {
            Record {
                header,
                fragment: payload,
            }
            .write(out)
        } else {
            self.write_cipher
                .as_ref()
                .ok_or(Error::Crypto)?
                .seal(header, payload, out)
        }
    }

    // ------------------------------------------------------------------ receiving

    fn receive_datagram(&mut self, datagram: &[u8]) -> Result<(), Error> {
        for record in Records::new(datagram) {
            let Ok(record) = record else {
                self.stats.malformed_records += 1;
                break;
            };
            self.stats.records_received += 1;
            self.receive_record(record)?;
            if matches!(self.state, State::Closed | State::Failed) {
                break;
            }
        }
        Ok(())
    }

    fn receive_record(&mut self, record: Record<'_>) -> Result<(), Error> {
        let h = record.header;
        if h.version != ProtocolVersion::DTLS_1_2 && h.version != ProtocolVersion::DTLS_1_0 {
            self.stats.dropped_records += 1;
            return Ok(());
        }
        match h.epoch {
            0 => self.receive_plaintext(h, record.fragment),
            1 => {
                let Some(cipher) = self.read_cipher.as_ref() else {
                    if self.state == State::Handshaking && self.early.len() < MAX_EARLY_RECORDS {
                        let mut raw = Vec::with_capacity(RECORD_HEADER_LEN + record.fragment.len());
                        record.write(&mut raw)?;
                        self.early.push((raw, self.receiving_bytes));
                    } else {
                        self.stats.unknown_epoch_records += 1;
                    }
                    return Ok(());
                };
                if !self.replay.check(h.sequence_number) {
                    self.stats.replayed_records += 1;
                    return Ok(());
                }
                let mut plain = Vec::new();
                if cipher.open(&h, record.fragment, &mut plain).is_err() {
                    self.stats.bad_mac_records += 1;
                    return Ok(());
                }
                if plain.len() > MAX_PLAINTEXT_LEN {
                    self.stats.dropped_records += 1;
                    return Ok(());
                }
                self.replay.accept(h.sequence_number);
                if h.content_type == ContentType::APPLICATION_DATA {
                    self.application_data(Event::ApplicationData(plain));
                    return Ok(());
                }
                self.receive_plaintext(h, &plain)
            }
            _ => {
                self.stats.unknown_epoch_records += 1;
                Ok(())
            }
        }
    }

    /// Reports authenticated application data, or holds it until the handshake completes.
    fn application_data(&mut self, event: Event) {
        if self.state == State::Connected {
            self.events.push_back(event);
        } else if self.early_data.len() < MAX_EARLY_DATA_RECORDS {
            self.early_data.push(event);
        } else {
            self.stats.dropped_records += 1;
        }
    }

    /// [`handle_receive_bytes`](Self::handle_receive_bytes): protected application data
    /// is opened in place and handed out as a slice of `rest`; every other record takes
    /// the copying path.
    fn receive_datagram_bytes(&mut self, mut rest: BytesMut) -> Result<(), Error> {
        while !rest.is_empty() {
            let Ok(h) = RecordHeader::parse(&rest) else {
                self.stats.malformed_records += 1;
                break;
            };
            let total = RECORD_HEADER_LEN + usize::from(h.length);
            if total > rest.len() {
                self.stats.malformed_records += 1;
                break;
            }
            // The last (usually the only) record takes the buffer without a split.
            let record = if total == rest.len() {
                std::mem::take(&mut rest)
            } else {
                rest.split_to(total)
            };
            self.stats.records_received += 1;
            self.receive_record_bytes(record)?;
            if matches!(self.state, State::Closed | State::Failed) {
                break;
            }
        }
        Ok(())
    }

    /// One framed record (header included) of the bytes path.
    fn receive_record_bytes(&mut self, record: BytesMut) -> Result<(), Error> {
        let Ok((parsed, _)) = Record::parse(&record) else {
            self.stats.malformed_records += 1;
            return Ok(());
        };
        let h = parsed.header;
        let in_place = h.epoch == 1
            && h.content_type == ContentType::APPLICATION_DATA
            && h.version == ProtocolVersion::DTLS_1_2
            && self.read_cipher.is_some();
        if !in_place {
            return self.receive_record(parsed);
        }
        if let Some(data) = self.open_application_data_in_place(h, record) {
            self.application_data(Event::ApplicationDataBytes(data));
        }
        Ok(())
    }

    /// Opens a protected application_data record (header included) in place; its
    /// plaintext as a slice of the same buffer, or `None` if dropped (counted).
    fn open_application_data_in_place(
        &mut self,
        h: RecordHeader,
        mut record: BytesMut,
    ) -> Option<Bytes> {
        let cipher = self.read_cipher.as_ref()?;
        if !self.replay.check(h.sequence_number) {
            self.stats.replayed_records += 1;
            return None;
        }
        let opened = cipher.open_in_place(&h, record.get_mut(RECORD_HEADER_LEN..)?);
        let plain = match opened {
            Ok(range) if range.len() <= MAX_PLAINTEXT_LEN => range,
            Ok(_) => {
                self.stats.dropped_records += 1;
                return None;
            }
            Err(_) => {
                self.stats.bad_mac_records += 1;
                return None;
            }
        };
        self.replay.accept(h.sequence_number);
        // Trimmed while still mutable: neither step allocates or copies.
        record.truncate(RECORD_HEADER_LEN + plain.end);
        record.advance(RECORD_HEADER_LEN + plain.start);
        Some(record.freeze())
    }

    /// Dispatches an unprotected (epoch 0) or decrypted record.
    fn receive_plaintext(&mut self, h: RecordHeader, payload: &[u8]) -> Result<(), Error> {
        match h.content_type {
            ContentType::HANDSHAKE => {
                let mut rest = payload;
                while !rest.is_empty() {
                    let Ok((frag, tail)) = HandshakeFragment::parse(rest) else {
                        self.stats.dropped_fragments += 1;
                        break;
                    };
                    rest = tail;
                    self.receive_fragment(h, &frag)?;
                }
                Ok(())
            }
            ContentType::ALERT => {
                // Once the peer protects its records, an unprotected alert is forgeable.
                if h.epoch == 0 && self.read_cipher.is_some() && self.state != State::Handshaking {
                    self.stats.dropped_records += 1;
                    return Ok(());
                }
                let Ok(alert) = Alert::parse(payload) else {
                    self.stats.dropped_records += 1;
                    return Ok(());
                };
                if alert.description == AlertDescription::CLOSE_NOTIFY {
                    if !self.close_sent {
                        self.send_alert(AlertLevel::WARNING, AlertDescription::CLOSE_NOTIFY);
                        self.close_sent = true;
                    }
                    self.state = State::Closed;
                    self.stop();
                    self.events.push_back(Event::Closed);
                    Ok(())
                } else if alert.level == AlertLevel::FATAL {
                    Err(Error::AlertReceived(alert.description))
                } else {
                    tracing::debug!(?alert, "ignoring warning alert");
                    Ok(())
                }
            }
            ContentType::CHANGE_CIPHER_SPEC => {
                // The epoch carried by each record tells which keys apply (RFC 6347 §4.1),
                // so the message itself changes nothing here.
                if payload != [1] {
                    self.stats.dropped_records += 1;
                }
                Ok(())
            }
            _ => {
                self.stats.dropped_records += 1;
                Ok(())
            }
        }
    }

    fn receive_fragment(
        &mut self,
        h: RecordHeader,
        frag: &HandshakeFragment<'_>,
    ) -> Result<(), Error> {
        let stateless_hello = self.config.role == Role::Server
            && h.epoch == 0
            && frag.header.msg_type == HandshakeType::CLIENT_HELLO
            && self
                .hs
                .as_ref()
                .is_some_and(|hs| hs.expect == Expect::ClientHello);
        if stateless_hello {
            return self.server_receive_client_hello(h, frag);
        }
        if self.state != State::Handshaking {
            // After the handshake only retransmissions of the peer's last flight matter.
            if frag.header.message_seq < self.reassembler.next_seq() {
                self.peer_retransmitted = true;
            } else {
                self.stats.dropped_fragments += 1;
            }
            return Ok(());
        }
        match self.reassembler.insert(h.epoch, frag) {
            Insert::Old => self.peer_retransmitted = true,
            Insert::Buffered => {}
            Insert::Dropped => self.stats.dropped_fragments += 1,
        }
        Ok(())
    }

    /// Runs complete messages through the handshake, replays early records once keys
    /// exist, and answers the peer's retransmissions.
    fn progress(&mut self) -> Result<(), Error> {
        loop {
            self.process_messages()?;
            if self.read_cipher.is_some() && !self.early.is_empty() {
                for (raw, bytes) in std::mem::take(&mut self.early) {
                    if bytes {
                        self.receive_record_bytes(BytesMut::from(Bytes::from(raw)))?;
                    } else if let Ok((record, _)) = Record::parse(&raw) {
                        self.receive_record(record)?;
                    }
                }
                continue;
            }
            break;
        }
        if std::mem::take(&mut self.peer_retransmitted) && !self.flight.is_empty() {
            let min_gap = self.config.initial_retransmit_timeout / 4;
            let due = self
                .flight_sent_at
                .is_none_or(|t| self.now.saturating_duration_since(t) >= min_gap);
            if due && self.outgoing.len() < MAX_QUEUED_DATAGRAMS {
                self.stats.retransmissions += 1;
                let rearm = self.retransmit_at.is_some();
                self.transmit_flight(self.now, rearm)?;
            }
        }
        Ok(())
    }

    fn process_messages(&mut self) -> Result<(), Error> {
        while self.state == State::Handshaking {
            let paused = self.hs.as_mut().and_then(|hs| hs.paused.take());
            let msg = match paused {
                Some(m) => m,
                None => match self.reassembler.pop() {
                    Some(m) => m,
                    None => break,
                },
            };
            let is_certificate = msg.msg_type == HandshakeType::CERTIFICATE;
            if is_certificate && self.config.expected_remote_fingerprints.is_empty() {
                if let Some(hs) = self.hs.as_mut() {
                    hs.paused = Some(msg);
                }
                break;
            }
            self.handle_message(msg)?;
        }
        Ok(())
    }

    fn handle_message(&mut self, msg: Message) -> Result<(), Error> {
        let parsed = HandshakeMessage::parse(msg.msg_type, &msg.body)?;
        let expect = self
            .hs
            .as_ref()
            .map(|hs| hs.expect)
            .ok_or(Error::UnexpectedMessage("no handshake"))?;
        // Only the Finished messages travel in epoch 1.
        let finished = matches!(parsed, HandshakeMessage::Finished(_));
        if (msg.epoch == 1) != finished {
            return Err(Error::UnexpectedMessage("wrong epoch"));
        }
        match (expect, parsed) {
            (_, HandshakeMessage::HelloRequest) => Ok(()),
            (Expect::ServerHello, HandshakeMessage::HelloVerifyRequest(m)) => {
                self.client_hello_verify(m)
            }
            (Expect::ServerHello, HandshakeMessage::ServerHello(m)) => {
                self.client_server_hello(&msg, m)
            }
            (Expect::ServerCertificate, HandshakeMessage::Certificate(m)) => {
                self.receive_certificate(&msg, m.certificate_list, Expect::ServerKeyExchange)
            }
            (Expect::ServerKeyExchange, HandshakeMessage::ServerKeyExchange(m)) => {
                self.client_server_key_exchange(&msg, m)
            }
            (Expect::CertificateRequestOrDone, HandshakeMessage::CertificateRequest(m)) => {
                let hs = self.hs_mut()?;
                hs.cert_requested = true;
                hs.peer_schemes = m.signature_schemes;
                hs.append(msg.msg_type, msg.seq, &msg.body)?;
                hs.expect = Expect::ServerHelloDone;
                Ok(())
            }
            (
                Expect::CertificateRequestOrDone | Expect::ServerHelloDone,
                HandshakeMessage::ServerHelloDone,
            ) => self.client_server_hello_done(&msg),
            (Expect::ServerFinished, HandshakeMessage::Finished(m)) => {
                self.client_server_finished(&msg, &m.verify_data)
            }
            (Expect::ClientCertificate, HandshakeMessage::Certificate(m)) => {
                self.receive_certificate(&msg, m.certificate_list, Expect::ClientKeyExchange)
            }
            (Expect::ClientKeyExchange, HandshakeMessage::ClientKeyExchange(m)) => {
                self.server_client_key_exchange(&msg, &m.public)
            }
            (Expect::CertificateVerify, HandshakeMessage::CertificateVerify(m)) => {
                let hs = self.hs_mut()?;
                if !VERIFY_SCHEMES.contains(&m.signature_scheme) {
                    return Err(Error::NotOffered("signature scheme"));
                }
                let key = hs.peer_key.as_ref().ok_or(Error::NoCertificate)?;
                verify_signature(m.signature_scheme, key, &hs.transcript, &m.signature)?;
                hs.append(msg.msg_type, msg.seq, &msg.body)?;
                hs.expect = Expect::ClientFinished;
                Ok(())
            }
            (Expect::ClientFinished, HandshakeMessage::Finished(m)) => {
                self.server_client_finished(&msg, &m.verify_data)
            }
            (_, _) => Err(Error::UnexpectedMessage("out of order")),
        }
    }

    fn hs_mut(&mut self) -> Result<&mut Handshake, Error> {
        self.hs
            .as_deref_mut()
            .ok_or(Error::UnexpectedMessage("no handshake"))
    }

    // ------------------------------------------------------------------ flights

    /// Starts a new flight: the previous one is acknowledged by the peer's messages.
    fn new_flight(
        &mut self,
        items: Vec<FlightItem>,
        now: Instant,
        timer: bool,
    ) -> Result<(), Error> {
        self.flight = items;
        self.rto = self.config.initial_retransmit_timeout;
        self.peer_retransmitted = false;
        self.transmit_flight(now, timer)
    }

    /// Queues a handshake message (header + body) into the flight being built.
    fn push_message(
        &mut self,
        items: &mut Vec<FlightItem>,
        epoch: u16,
        msg: &HandshakeMessage,
    ) -> Result<(), Error> {
        let mut message = Vec::new();
        msg.write(self.send_seq, &mut message)?;
        self.send_seq = self.send_seq.wrapping_add(1);
        self.hs_mut()?.transcript.extend_from_slice(&message);
        items.push(FlightItem::Handshake { epoch, message });
        Ok(())
    }

    /// Sends the current flight, fragmenting handshake messages to the MTU and packing
    /// several records per datagram (RFC 6347 §4.1.1, §4.2.3).
    fn transmit_flight(&mut self, now: Instant, timer: bool) -> Result<(), Error> {
        let mtu = self.config.mtu;
        let items = std::mem::take(&mut self.flight);
        let mut dgram: Vec<u8> = Vec::with_capacity(mtu);
        let result: Result<(), Error> = (|| {
            for item in &items {
                match item {
                    FlightItem::ChangeCipherSpec => {
                        if dgram.len() + RECORD_HEADER_LEN + 1 > mtu {
                            self.outgoing.push_back(std::mem::take(&mut dgram));
                        }
                        self.write_record(ContentType::CHANGE_CIPHER_SPEC, 0, &[1], &mut dgram)?;
                    }
                    FlightItem::Handshake { epoch, message } => {
                        let overhead = RECORD_HEADER_LEN
                            + HANDSHAKE_HEADER_LEN
                            + if *epoch == 0 {
                                0
                            } else {
                                self.write_cipher.as_ref().map_or(0, |c| c.overhead())
                            };
                        let header = HandshakeHeader::parse(message)?;
                        let body = message.get(HANDSHAKE_HEADER_LEN..).unwrap_or(&[]);
                        let mut offset = 0usize;
                        loop {
                            let room = mtu.saturating_sub(dgram.len() + overhead);
                            // Start a new datagram rather than send slivers.
                            if room < 64.min(body.len() - offset).max(1) && !dgram.is_empty() {
                                self.outgoing.push_back(std::mem::take(&mut dgram));
                                continue;
                            }
                            let take = room.max(1).min(body.len() - offset);
                            let mut payload = Vec::with_capacity(HANDSHAKE_HEADER_LEN + take);
                            HandshakeFragment {
                                header: HandshakeHeader {
                                    fragment_offset: offset as u32,
                                    ..header
                                },
                                body: body.get(offset..offset + take).unwrap_or(&[]),
                            }
                            .write(&mut payload)?;
                            self.write_record(
                                ContentType::HANDSHAKE,
                                *epoch,
                                &payload,
                                &mut dgram,
                            )?;
                            offset += take;
                            if offset >= body.len() {
                                break;
                            }
                        }
                    }
                }
            }
            Ok(())
        })();
        if !dgram.is_empty() {
            self.outgoing.push_back(dgram);
        }
        self.flight = items;
        result?;
        self.flight_sent_at = Some(now);
        self.retransmit_at = if timer {
            now.checked_add(self.rto)
        } else {
            None
        };
        Ok(())
    }

    // ------------------------------------------------------------------ key schedule

    /// Master secret with the extended master secret (RFC 7627 §4), keys for epoch 1
    /// (RFC 5246 §6.3).
    fn derive_keys(&mut self) -> Result<(), Error> {
        let role = self.config.role;
        let hs = self.hs_mut()?;
        let p = hs.params()?;
        let pms = hs.pre_master.take().ok_or(Error::BadKeyExchange)?;
        let session_hash = p.prf.hash(&hs.transcript);
        let mut master = [0u8; 48];
        prf(
            p.prf,
            &pms,
            b"extended master secret",
            &[session_hash.as_ref()],
            &mut master,
        );
        hs.master_secret = Some(master);
        let (k, iv) = (p.aead.key_len(), p.fixed_iv_len);
        let mut block = vec![0u8; 2 * (k + iv)];
        prf(
            p.prf,
            &master,
            b"key expansion",
            &[&hs.server_random, &hs.client_random],
            &mut block,
        );
        let (ck, rest) = block.split_at(k);
        let (sk, rest) = rest.split_at(k);
        let (civ, siv) = rest.split_at(iv);
        let client = RecordCipher::new(p, ck, civ)?;
        let server = RecordCipher::new(p, sk, siv)?;
        let (w, r) = match role {
            Role::Client => (client, server),
            Role::Server => (server, client),
        };
        self.write_cipher = Some(w);
        self.read_cipher = Some(r);
        Ok(())
    }

    fn connected(&mut self) -> Result<(), Error> {
        let hs = self
            .hs
            .take()
            .ok_or(Error::UnexpectedMessage("no handshake"))?;
        let session = Session {
            params: hs.params()?,
            master_secret: *hs.master()?,
            client_random: hs.client_random,
            server_random: hs.server_random,
            srtp_profile: hs.srtp_profile,
        };
        let srtp_profile = session.srtp_profile;
        self.session = Some(session);
        self.state = State::Connected;
        self.retransmit_at = None;
        self.early.clear();
        if self.config.role == Role::Client {
            self.flight.clear();
        }
        self.events.push_back(Event::Connected { srtp_profile });
        self.events.extend(self.early_data.drain(..));
        Ok(())
    }

    fn receive_certificate(
        &mut self,
        msg: &Message,
        list: Vec<Vec<u8>>,
        next: Expect,
    ) -> Result<(), Error> {
        let leaf = list.into_iter().next().ok_or(Error::NoCertificate)?;
        // RFC 8122 §5 / RFC 8827 §6.5: the certificate must match the SDP fingerprint.
        if !self
            .config
            .expected_remote_fingerprints
            .iter()
            .any(|fp| fp.matches(&leaf))
        {
            return Err(Error::FingerprintMismatch);
        }
        let key = PeerPublicKey::from_certificate(&leaf)?;
        let is_client = self.config.role == Role::Client;
        let hs = self.hs_mut()?;
        // The suite fixes the server's key type only; any supported client key will do.
        if let Some(p) = hs.params.filter(|_| is_client) {
            let fits = match p.auth {
                AuthKind::Ecdsa => key.kind != KeyKind::Rsa,
                AuthKind::Rsa => key.kind == KeyKind::Rsa,
            };
            if !fits {
                return Err(Error::BadCertificate(
                    "key type does not fit the cipher suite",
                ));
            }
        }
        hs.peer_key = Some(key);
        hs.append(msg.msg_type, msg.seq, &msg.body)?;
        hs.expect = next;
        self.remote_certificate = Some(leaf);
        Ok(())
    }

    // ------------------------------------------------------------------ client

    fn client_hello(&self) -> Result<HandshakeMessage, Error> {
        let hs = self
            .hs
            .as_ref()
            .ok_or(Error::UnexpectedMessage("no handshake"))?;
        let mut extensions = vec![
            Extension::SupportedGroups(self.config.groups.clone()),
            Extension::EcPointFormats(vec![0]),
            Extension::SignatureAlgorithms(VERIFY_SCHEMES.to_vec()),
        ];
        if !self.config.srtp_profiles.is_empty() {
            extensions.push(Extension::UseSrtp {
                profiles: self.config.srtp_profiles.iter().map(|p| p.id()).collect(),
                mki: Vec::new(),
            });
        }
        extensions.push(Extension::ExtendedMasterSecret);
        extensions.push(Extension::RenegotiationInfo(Vec::new()));
        Ok(HandshakeMessage::ClientHello(ClientHello {
            client_version: ProtocolVersion::DTLS_1_2,
            random: hs.client_random,
            session_id: Vec::new(),
            cookie: hs.cookie.clone(),
            cipher_suites: self
                .config
                .cipher_suites
                .iter()
                .copied()
                .filter(|s| suite_params(*s).is_some())
                .collect(),
            compression_methods: vec![0],
            extensions,
        }))
    }

    fn send_client_hello(&mut self, now: Instant) -> Result<(), Error> {
        let ch = self.client_hello()?;
        self.hs_mut()?.transcript.clear();
        let mut items = Vec::new();
        self.push_message(&mut items, 0, &ch)?;
        self.new_flight(items, now, true)
    }

    fn client_hello_verify(&mut self, m: HelloVerifyRequest) -> Result<(), Error> {
        let hs = self.hs_mut()?;
        hs.hello_verify_count += 1;
        if hs.hello_verify_count > MAX_HELLO_VERIFY {
            return Err(Error::UnexpectedMessage("too many HelloVerifyRequests"));
        }
        // RFC 6347 §4.2.1: neither the first ClientHello nor the HelloVerifyRequest enters
        // the transcript; the second ClientHello starts it.
        hs.cookie = m.cookie;
        self.send_client_hello(self.now)
    }

    fn client_server_hello(
        &mut self,
        msg: &Message,
        m: crate::wire::ServerHello,
    ) -> Result<(), Error> {
        if m.server_version != ProtocolVersion::DTLS_1_2 {
            return Err(Error::ProtocolVersion);
        }
        if !self.config.cipher_suites.contains(&m.cipher_suite) {
            return Err(Error::NotOffered("cipher suite"));
        }
        let params = suite_params(m.cipher_suite).ok_or(Error::NotOffered("cipher suite"))?;
        if m.compression_method != 0 {
            return Err(Error::NotOffered("compression method"));
        }
        let mut ems = false;
        let mut srtp = None;
        for e in &m.extensions {
            match e {
                Extension::ExtendedMasterSecret => ems = true,
                Extension::RenegotiationInfo(v) if !v.is_empty() => {
                    return Err(Error::Malformed("renegotiation_info"))
                }
                Extension::UseSrtp { profiles, mki } => {
                    let [id] = profiles.as_slice() else {
                        return Err(Error::Malformed("use_srtp"));
                    };
                    let p = SrtpProtectionProfile::from_id(*id)
                        .filter(|p| self.config.srtp_profiles.contains(p))
                        .ok_or(Error::NotOffered("SRTP profile"))?;
                    if !mki.is_empty() {
                        return Err(Error::NotOffered("SRTP MKI"));
                    }
                    srtp = Some(p);
                }
                _ => {}
            }
        }
        if !ems {
            return Err(Error::ExtendedMasterSecretRequired);
        }
        let hs = self.hs_mut()?;
        hs.server_random = m.random;
        hs.params = Some(params);
        hs.srtp_profile = srtp;
        hs.append(msg.msg_type, msg.seq, &msg.body)?;
        hs.expect = Expect::ServerCertificate;
        Ok(())
    }

    fn client_server_key_exchange(
        &mut self,
        msg: &Message,
        m: crate::wire::ServerKeyExchange,
    ) -> Result<(), Error> {
        if !self.config.groups.contains(&m.named_group) {
            return Err(Error::NotOffered("group"));
        }
        if !VERIFY_SCHEMES.contains(&m.signature_scheme) {
            return Err(Error::NotOffered("signature scheme"));
        }
        let share = KeyShare::generate(m.named_group, &self.sysrand)?;
        let hs = self.hs_mut()?;
        // RFC 8422 §5.4: signed_params = client_random + server_random + ServerECDHParams.
        let mut signed = Vec::with_capacity(64 + 4 + m.public.len());
        signed.extend_from_slice(&hs.client_random);
        signed.extend_from_slice(&hs.server_random);
        signed.push(3);
        signed.extend_from_slice(&m.named_group.0.to_be_bytes());
        signed.push(u8::try_from(m.public.len()).map_err(|_| Error::TooLong)?);
        signed.extend_from_slice(&m.public);
        let key = hs.peer_key.as_ref().ok_or(Error::NoCertificate)?;
        verify_signature(m.signature_scheme, key, &signed, &m.signature)?;
        let public = share.public.clone();
        hs.pre_master = Some(agree(share, &m.public)?);
        hs.kx_public = public;
        hs.append(msg.msg_type, msg.seq, &msg.body)?;
        hs.expect = Expect::CertificateRequestOrDone;
        Ok(())
    }

    fn client_server_hello_done(&mut self, msg: &Message) -> Result<(), Error> {
        let now = self.now;
        let cert = self.config.certificate.clone();
        let (requested, public, schemes) = {
            let hs = self.hs_mut()?;
            hs.append(msg.msg_type, msg.seq, &msg.body)?;
            (
                hs.cert_requested,
                std::mem::take(&mut hs.kx_public),
                hs.peer_schemes.clone(),
            )
        };
        let mut items = Vec::new();
        if requested {
            let m = HandshakeMessage::Certificate(crate::wire::Certificate {
                certificate_list: vec![cert.der().to_vec()],
            });
            self.push_message(&mut items, 0, &m)?;
        }
        let cke = HandshakeMessage::ClientKeyExchange(crate::wire::ClientKeyExchange { public });
        self.push_message(&mut items, 0, &cke)?;
        self.derive_keys()?;
        if requested {
            let scheme = cert
                .signature_scheme(&schemes)
                .ok_or(Error::NoShared("signature scheme"))?;
            let hs = self
                .hs
                .as_ref()
                .ok_or(Error::UnexpectedMessage("no handshake"))?;
            let signature = cert.sign(scheme, &hs.transcript, &self.sysrand)?;
            let cv = HandshakeMessage::CertificateVerify(crate::wire::CertificateVerify {
                signature_scheme: scheme,
                signature,
            });
            self.push_message(&mut items, 0, &cv)?;
        }
        items.push(FlightItem::ChangeCipherSpec);
        let verify_data = self.hs_mut()?.verify_data(b"client finished")?;
        let fin = HandshakeMessage::Finished(crate::wire::Finished {
            verify_data: verify_data.to_vec(),
        });
        self.push_message(&mut items, 1, &fin)?;
        self.expected_peer_finished = Some(self.hs_mut()?.verify_data(b"server finished")?);
        self.write_epoch = 1;
        self.hs_mut()?.expect = Expect::ServerFinished;
        self.new_flight(items, now, true)
    }

    fn client_server_finished(&mut self, msg: &Message, verify_data: &[u8]) -> Result<(), Error> {
        let expected = self
            .expected_peer_finished
            .take()
            .ok_or(Error::BadFinished)?;
        if !bool::from(expected.as_slice().ct_eq(verify_data)) {
            return Err(Error::BadFinished);
        }
        self.hs_mut()?.append(msg.msg_type, msg.seq, &msg.body)?;
        self.connected()
    }

    // ------------------------------------------------------------------ server

    /// HMAC-SHA256 over the ClientHello without its cookie (RFC 6347 §4.2.1): any change
    /// of the hello's parameters between the two ClientHellos invalidates it.
    fn cookie_for(&self, body: &[u8]) -> Option<ring::hmac::Tag> {
        // version(2) random(32) session_id<0..32> | cookie<0..255> | rest
        let sid_len = usize::from(*body.get(34)?);
        let cookie_at = 35 + sid_len;
        let cookie_len = usize::from(*body.get(cookie_at)?);
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &self.cookie_secret);
        let mut ctx = ring::hmac::Context::with_key(&key);
        ctx.update(body.get(..cookie_at)?);
        ctx.update(body.get(cookie_at + 1 + cookie_len..)?);
        Some(ctx.sign())
    }

    fn server_receive_client_hello(
        &mut self,
        h: RecordHeader,
        frag: &HandshakeFragment<'_>,
    ) -> Result<(), Error> {
        let complete =
            frag.header.fragment_offset == 0 && frag.header.fragment_length == frag.header.length;
        if complete {
            return self.server_client_hello(h, frag.header.message_seq, frag.body);
        }
        // A fragmented ClientHello (Chromium's does not fit one datagram) is buffered in
        // one bounded buffer; the answer goes out once it is whole (RFC 6347 §4.2.1).
        let stale_after = self.config.initial_retransmit_timeout;
        match self.hello.insert(frag, self.now, stale_after) {
            HelloInsert::Pending => Ok(()),
            HelloInsert::Dropped => {
                self.stats.dropped_fragments += 1;
                Ok(())
            }
            HelloInsert::Complete(msg) => self.server_client_hello(h, msg.seq, &msg.body),
        }
    }

    /// Answers a whole ClientHello: a HelloVerifyRequest unless it carries our cookie,
    /// else the server's flight. `h` is the header of the record that completed it.
    fn server_client_hello(
        &mut self,
        h: RecordHeader,
        message_seq: u16,
        body: &[u8],
    ) -> Result<(), Error> {
        let Ok(HandshakeMessage::ClientHello(ch)) =
            HandshakeMessage::parse(HandshakeType::CLIENT_HELLO, body)
        else {
            self.stats.dropped_fragments += 1;
            return Ok(());
        };
        // DTLS versions count down: 1.2 is 0xfefd, 1.0 is 0xfeff.
        if ch.client_version.0 > ProtocolVersion::DTLS_1_2.0 {
            return Err(Error::ProtocolVersion);
        }
        let tag = self
            .cookie_for(body)
            .ok_or(Error::Malformed("ClientHello"))?;
        if self.config.hello_verify && !bool::from(tag.as_ref()[..].ct_eq(&ch.cookie[..])) {
            let hvr = HandshakeMessage::HelloVerifyRequest(HelloVerifyRequest {
                server_version: ProtocolVersion::DTLS_1_0,
                cookie: tag.as_ref().to_vec(),
            });
            let mut payload = Vec::new();
            hvr.write(message_seq, &mut payload)?;
            // RFC 6347 §4.2.1: the HelloVerifyRequest reuses the ClientHello's record number.
            let mut dgram = Vec::new();
            Record {
                header: RecordHeader {
                    version: ProtocolVersion::DTLS_1_0,
                    ..h
                },
                fragment: &payload,
            }
            .write(&mut dgram)?;
            if self.outgoing.len() < MAX_QUEUED_DATAGRAMS {
                self.outgoing.push_back(dgram);
            }
            return Ok(());
        }
        self.server_negotiate(message_seq, body, ch)
    }

    fn server_negotiate(
        &mut self,
        message_seq: u16,
        body: &[u8],
        ch: ClientHello,
    ) -> Result<(), Error> {
        let cert = self.config.certificate.clone();
        let ours = cert.key_kind();
        let params = self
            .config
            .cipher_suites
            .iter()
            .filter(|s| ch.cipher_suites.contains(s))
            .filter_map(|s| suite_params(*s))
            .find(|p| match p.auth {
                AuthKind::Ecdsa => ours != KeyKind::Rsa,
                AuthKind::Rsa => ours == KeyKind::Rsa,
            })
            .ok_or(Error::NoShared("cipher suite"))?;
        if !ch.compression_methods.contains(&0) {
            return Err(Error::NoShared("compression method"));
        }
        let mut ems = false;
        let mut reneg = ch
            .cipher_suites
            .contains(&CipherSuite::TLS_EMPTY_RENEGOTIATION_INFO_SCSV);
        let mut groups = vec![NamedGroup::SECP256R1];
        let mut schemes = Vec::new();
        let mut srtp = None;
        let mut point_formats = false;
        for e in &ch.extensions {
            match e {
                Extension::ExtendedMasterSecret => ems = true,
                Extension::RenegotiationInfo(v) => {
                    if !v.is_empty() {
                        return Err(Error::Malformed("renegotiation_info"));
                    }
                    reneg = true;
                }
                Extension::SupportedGroups(g) => groups = g.clone(),
                Extension::SignatureAlgorithms(s) => schemes = s.clone(),
                Extension::UseSrtp { profiles, .. } => {
                    srtp = self
                        .config
                        .srtp_profiles
                        .iter()
                        .copied()
                        .find(|p| profiles.contains(&p.id()));
                }
                Extension::EcPointFormats(_) => point_formats = true,
                _ => {}
            }
        }
        if !ems {
            return Err(Error::ExtendedMasterSecretRequired);
        }
        let group = self
            .config
            .groups
            .iter()
            .copied()
            .find(|g| groups.contains(g))
            .ok_or(Error::NoShared("group"))?;
        let scheme = cert
            .signature_scheme(&schemes)
            .ok_or(Error::NoShared("signature scheme"))?;

        // The handshake starts now: state is kept from here on.
        let now = self.now;
        self.reassembler.reset(message_seq.wrapping_add(1));
        self.hello.clear();
        self.send_seq = message_seq;
        let mut server_random = [0u8; 32];
        // All 32 bytes random, no gmt_unix_time (see the crate docs).
        self.rng.fill_bytes(&mut server_random);
        let share = KeyShare::generate(group, &self.sysrand)?;
        {
            let hs = self.hs_mut()?;
            hs.client_random = ch.random;
            hs.server_random = server_random;
            hs.params = Some(params);
            hs.srtp_profile = srtp;
            hs.transcript.clear();
            hs.append(HandshakeType::CLIENT_HELLO, message_seq, body)?;
        }
        let mut extensions = Vec::new();
        if reneg {
            extensions.push(Extension::RenegotiationInfo(Vec::new()));
        }
        extensions.push(Extension::ExtendedMasterSecret);
        if point_formats {
            extensions.push(Extension::EcPointFormats(vec![0]));
        }
        if let Some(p) = srtp {
            extensions.push(Extension::UseSrtp {
                profiles: vec![p.id()],
                mki: Vec::new(),
            });
        }
        let mut items = Vec::new();
        let sh = HandshakeMessage::ServerHello(crate::wire::ServerHello {
            server_version: ProtocolVersion::DTLS_1_2,
            random: server_random,
            session_id: Vec::new(),
            cipher_suite: params.suite,
            compression_method: 0,
            extensions,
        });
        self.push_message(&mut items, 0, &sh)?;
        let certificate = HandshakeMessage::Certificate(crate::wire::Certificate {
            certificate_list: vec![cert.der().to_vec()],
        });
        self.push_message(&mut items, 0, &certificate)?;
        let mut signed = Vec::with_capacity(64 + 4 + share.public.len());
        signed.extend_from_slice(&ch.random);
        signed.extend_from_slice(&server_random);
        signed.push(3);
        signed.extend_from_slice(&group.0.to_be_bytes());
        signed.push(u8::try_from(share.public.len()).map_err(|_| Error::TooLong)?);
        signed.extend_from_slice(&share.public);
        let signature = cert.sign(scheme, &signed, &self.sysrand)?;
        let ske = HandshakeMessage::ServerKeyExchange(crate::wire::ServerKeyExchange {
            named_group: group,
            public: share.public.clone(),
            signature_scheme: scheme,
            signature,
        });
        self.push_message(&mut items, 0, &ske)?;
        // ecdsa_sign(64), rsa_sign(1) (RFC 8422 §5.5, RFC 5246 §7.4.4).
        let cr = HandshakeMessage::CertificateRequest(crate::wire::CertificateRequest {
            certificate_types: vec![64, 1],
            signature_schemes: VERIFY_SCHEMES.to_vec(),
            certificate_authorities: Vec::new(),
        });
        self.push_message(&mut items, 0, &cr)?;
        self.push_message(&mut items, 0, &HandshakeMessage::ServerHelloDone)?;
        let hs = self.hs_mut()?;
        hs.key_share = Some(share);
        hs.expect = Expect::ClientCertificate;
        self.new_flight(items, now, true)
    }

    fn server_client_key_exchange(&mut self, msg: &Message, public: &[u8]) -> Result<(), Error> {
        let hs = self.hs_mut()?;
        let share = hs.key_share.take().ok_or(Error::BadKeyExchange)?;
        hs.pre_master = Some(agree(share, public)?);
        hs.append(msg.msg_type, msg.seq, &msg.body)?;
        hs.expect = Expect::CertificateVerify;
        self.derive_keys()
    }

    fn server_client_finished(&mut self, msg: &Message, verify_data: &[u8]) -> Result<(), Error> {
        let now = self.now;
        let expected = self.hs_mut()?.verify_data(b"client finished")?;
        if !bool::from(expected.as_slice().ct_eq(verify_data)) {
            return Err(Error::BadFinished);
        }
        self.hs_mut()?.append(msg.msg_type, msg.seq, &msg.body)?;
        let ours = self.hs_mut()?.verify_data(b"server finished")?;
        let mut items = vec![FlightItem::ChangeCipherSpec];
        let fin = HandshakeMessage::Finished(crate::wire::Finished {
            verify_data: ours.to_vec(),
        });
        self.push_message(&mut items, 1, &fin)?;
        self.write_epoch = 1;
        // The last flight has no timer: it is resent when the client's Finished is
        // (RFC 6347 §4.2.4).
        self.new_flight(items, now, false)?;
        self.connected()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_and_events_are_send() {
        fn send<T: Send>() {}
        send::<Connection>();
        send::<Event>();
        send::<crate::Certificate>();
    }

    #[test]
    fn cookie_ignores_only_the_cookie_field() {
        let cert = crate::Certificate::generate().unwrap();
        let mut cfg = Config::new(Role::Server, cert);
        cfg.cookie_secret = Some([1; 32]);
        let c = Connection::new(cfg, Instant::now(), Counter(0)).unwrap();
        // version, random, empty session_id, cookie, rest
        let mut a = vec![0xfe, 0xfd];
        a.extend([7u8; 32]);
        a.push(0);
        let mut b = a.clone();
        a.extend([0, 1, 2, 3]);
        b.extend([3, 9, 9, 9, 1, 2, 3]);
        assert_eq!(
            c.cookie_for(&a).unwrap().as_ref(),
            c.cookie_for(&b).unwrap().as_ref()
        );
        b.push(4);
        assert_ne!(
            c.cookie_for(&a).unwrap().as_ref(),
            c.cookie_for(&b).unwrap().as_ref()
        );
        assert!(c.cookie_for(&a[..20]).is_none());
    }

    #[test]
    fn client_hello_fragment_flood_stays_bounded() {
        use crate::wire::{HandshakeHeader, RecordHeader};
        let cert = crate::Certificate::generate().unwrap();
        let now = Instant::now();
        let mut c = Connection::new(Config::new(Role::Server, cert), now, Counter(0)).unwrap();
        let body = [7u8; 40];
        // Fragments of ever-new ClientHellos of the largest length, at many offsets.
        for i in 0..2000u32 {
            let mut payload = Vec::new();
            HandshakeFragment {
                header: HandshakeHeader {
                    msg_type: HandshakeType::CLIENT_HELLO,
                    length: crate::reassembly::MAX_CLIENT_HELLO_LEN - (i % 3),
                    message_seq: (i % 5) as u16,
                    fragment_offset: (i * 97) % 16000,
                    fragment_length: 0,
                },
                body: &body,
            }
            .write(&mut payload)
            .unwrap();
            let mut d = Vec::new();
            Record {
                header: RecordHeader {
                    content_type: ContentType::HANDSHAKE,
                    version: ProtocolVersion::DTLS_1_2,
                    epoch: 0,
                    sequence_number: u64::from(i),
                    length: 0,
                },
                fragment: &payload,
            }
            .write(&mut d)
            .unwrap();
            c.handle_receive(now + Duration::from_millis(u64::from(i)), &d)
                .unwrap();
            assert!(c.buffered_bytes() <= crate::reassembly::MAX_CLIENT_HELLO_LEN as usize);
        }
        assert_eq!(c.state(), State::Handshaking);
        assert_eq!(c.queued_datagrams(), 0, "no answer to incomplete hellos");
    }

    struct Counter(u64);
    impl rand_core::RngCore for Counter {
        fn next_u32(&mut self) -> u32 {
            self.next_u64() as u32
        }
        fn next_u64(&mut self) -> u64 {
            self.0 += 1;
            self.0
        }
        fn fill_bytes(&mut self, dst: &mut [u8]) {
            dst.iter_mut().for_each(|b| *b = self.next_u64() as u8);
        }
    }
    impl CryptoRng for Counter {}
}
