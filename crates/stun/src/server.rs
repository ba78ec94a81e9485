//! A sans-IO Binding server core (RFC 8489 §6.3, §9.1.3).

use std::collections::HashMap;
use std::net::SocketAddr;

use crate::wire::{
    AttributeType, Class, ErrorCode, IntegrityAlgorithm, MappedAddress, Message, MessageBuilder,
    Method, Software, UnknownAttributes, Username, XorMappedAddress,
};
use crate::{Error, IntegrityKey};

/// Settings of a [`BindingServer`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BindingServerConfig {
    /// SOFTWARE to put in every response; `None` (the default) sends none.
    pub software: Option<String>,
    /// Add FINGERPRINT to every response; by default only to answers of requests that
    /// carried one (RFC 8489 §7.3: usages decide; ICE always uses it).
    pub always_fingerprint: bool,
    /// Also send MAPPED-ADDRESS, for RFC 3489-era clients that look for it (RFC 8489 §12).
    /// Default off.
    pub mapped_address: bool,
}

/// What [`BindingServer::handle`] did with a datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum ServerOutcome {
    /// A response was written to the output buffer: a success response, or the error
    /// response with this code.
    Respond {
        /// `None` for a success response, else the error code sent.
        error: Option<u16>,
    },
    /// A Binding indication (keepalive): nothing to send (RFC 8489 §6.3.2).
    Indication,
    /// Dropped silently: not STUN, bad FINGERPRINT, a response, or an indication of another
    /// method.
    Dropped(Error),
}

/// Counters of a [`BindingServer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ServerStats {
    /// Success responses sent.
    pub success: u64,
    /// Error responses sent.
    pub errors: u64,
    /// Binding indications received.
    pub indications: u64,
    /// Datagrams dropped without answer.
    pub dropped: u64,
}

/// The core of a STUN Binding server: a request in, a response out.
///
/// It owns no socket: the caller receives a datagram, calls [`handle`](Self::handle) with
/// the source address and an output buffer, and sends what was written (if
/// [`ServerOutcome::Respond`]) back to the source. Stateless per request, so retransmitted
/// requests are simply answered again (RFC 8489 §6.3.4 allows this for Binding).
///
/// With short-term credentials configured ([`add_user`](Self::add_user)), requests must
/// carry USERNAME and MESSAGE-INTEGRITY(-SHA256) (RFC 8489 §9.1.3): 400 if either is
/// missing, 401 for an unknown user or a bad HMAC; good requests are answered with
/// integrity under the same key and algorithm.
///
/// ```
/// use oxrtc_stun::*;
///
/// let mut server = BindingServer::new(BindingServerConfig::default());
/// let mut request = Vec::new();
/// MessageBuilder::new(&mut request, Class::Request, Method::Binding, TransactionId([3; 12]))
///     .add_fingerprint()?;
///
/// let mut out = Vec::new();
/// let from = "198.51.100.7:5000".parse().unwrap();
/// assert_eq!(server.handle(from, &request, &mut out), ServerOutcome::Respond { error: None });
/// let response = Message::new_checked(&out[..])?;
/// assert_eq!(response.attribute::<XorMappedAddress>()?, Some(XorMappedAddress(from)));
/// response.verify_fingerprint()?;
/// # Ok::<(), oxrtc_stun::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct BindingServer {
    config: BindingServerConfig,
    users: HashMap<String, IntegrityKey>,
    stats: ServerStats,
}

impl BindingServer {
    /// A server without authentication.
    pub fn new(config: BindingServerConfig) -> Self {
        BindingServer {
            config,
            users: HashMap::new(),
            stats: ServerStats::default(),
        }
    }

    /// Adds a short-term credential: requests must then authenticate.
    pub fn add_user(&mut self, username: &str, password: &str) {
        self.users
            .insert(username.to_owned(), IntegrityKey::short_term(password));
    }

    /// Removes a credential; with none left, authentication is off again.
    pub fn remove_user(&mut self, username: &str) -> bool {
        self.users.remove(username).is_some()
    }

    /// Whether requests must authenticate.
    pub fn requires_auth(&self) -> bool {
        !self.users.is_empty()
    }

    /// The counters.
    pub fn stats(&self) -> &ServerStats {
        &self.stats
    }

    /// Handles one datagram from `source`; writes any response at the end of `out`.
    pub fn handle(
        &mut self,
        source: SocketAddr,
        datagram: &[u8],
        out: &mut Vec<u8>,
    ) -> ServerOutcome {
        let outcome = self.process(source, datagram, out);
        match &outcome {
            ServerOutcome::Respond { error: None } => self.stats.success += 1,
            ServerOutcome::Respond { error: Some(_) } => self.stats.errors += 1,
            ServerOutcome::Indication => self.stats.indications += 1,
            ServerOutcome::Dropped(e) => {
                self.stats.dropped += 1;
                tracing::debug!(%source, error = %e, "stun datagram dropped");
            }
        }
        outcome
    }

    fn process(&self, source: SocketAddr, datagram: &[u8], out: &mut Vec<u8>) -> ServerOutcome {
        let msg = match Message::new_checked(datagram) {
            Ok(m) => m,
            Err(e) => return ServerOutcome::Dropped(e),
        };
        let fingerprint = match msg.verify_fingerprint() {
            Ok(()) => true,
            Err(Error::MissingFingerprint) => false,
            Err(e) => return ServerOutcome::Dropped(e),
        };
        match (msg.class(), msg.method()) {
            (Class::Request, _) => {}
            (Class::Indication, Method::Binding) => return ServerOutcome::Indication,
            _ => return ServerOutcome::Dropped(Error::NotARequest),
        }
        let fingerprint = fingerprint || self.config.always_fingerprint;
        let error = |code: ErrorCode<'_>,
                     unknown: &[AttributeType],
                     auth: Option<(&IntegrityKey, IntegrityAlgorithm)>,
                     out: &mut Vec<u8>| {
            self.respond(&msg, Err((code, unknown)), source, auth, fingerprint, out)
        };

        if msg.method() != Method::Binding {
            return error(ErrorCode::BAD_REQUEST, &[], None, out);
        }
        // Authentication first, then comprehension (RFC 8489 §6.3.1).
        let mut auth = None;
        if self.requires_auth() {
            let has_integrity = msg.has_attribute(AttributeType::MESSAGE_INTEGRITY)
                || msg.has_attribute(AttributeType::MESSAGE_INTEGRITY_SHA256);
            let username = match msg.attribute::<Username<'_>>() {
                Ok(Some(Username(u))) if has_integrity => u,
                _ => return error(ErrorCode::BAD_REQUEST, &[], None, out),
            };
            let Some(key) = self.users.get(username) else {
                return error(ErrorCode::UNAUTHORIZED, &[], None, out);
            };
            match msg.verify_integrity(key) {
                Ok(algorithm) => auth = Some((key, algorithm)),
                Err(Error::IntegrityMismatch) => {
                    return error(ErrorCode::UNAUTHORIZED, &[], None, out)
                }
                Err(_) => return error(ErrorCode::BAD_REQUEST, &[], None, out),
            }
        }
        let unknown = msg.unknown_comprehension_required();
        if !unknown.is_empty() {
            return error(ErrorCode::UNKNOWN_ATTRIBUTE, &unknown, auth, out);
        }
        if msg.attributes().any(|a| a.is_err()) {
            return error(ErrorCode::BAD_REQUEST, &[], auth, out);
        }
        self.respond(&msg, Ok(()), source, auth, fingerprint, out)
    }

    fn respond(
        &self,
        request: &Message<&[u8]>,
        result: Result<(), (ErrorCode<'_>, &[AttributeType])>,
        source: SocketAddr,
        auth: Option<(&IntegrityKey, IntegrityAlgorithm)>,
        fingerprint: bool,
        out: &mut Vec<u8>,
    ) -> ServerOutcome {
        let class = if result.is_ok() {
            Class::SuccessResponse
        } else {
            Class::ErrorResponse
        };
        let mut b = MessageBuilder::response_to(out, request, class);
        let written = (|| -> Result<(), Error> {
            match result {
                Ok(()) => {
                    b.add(&XorMappedAddress(source))?;
                    if self.config.mapped_address {
                        b.add(&MappedAddress(source))?;
                    }
                }
                Err((code, unknown)) => {
                    b.add(&code)?;
                    if !unknown.is_empty() {
                        b.add(&UnknownAttributes(unknown.to_vec()))?;
                    }
                }
            }
            if let Some(software) = &self.config.software {
                b.add(&Software(software))?;
            }
            match auth {
                Some((key, IntegrityAlgorithm::HmacSha1)) => {
                    b.add_message_integrity(key)?;
                }
                Some((key, IntegrityAlgorithm::HmacSha256(len))) => {
                    b.add_message_integrity_sha256_truncated(key, usize::from(len))?;
                }
                None => {}
            }
            if fingerprint {
                b.add_fingerprint()?;
            }
            Ok(())
        })();
        match written {
            Ok(()) => ServerOutcome::Respond {
                error: result.err().map(|(code, _)| code.code),
            },
            Err(e) => {
                b.abandon();
                ServerOutcome::Dropped(e)
            }
        }
    }
}
