//! Harnesses for the cargo-fuzz targets in `/fuzz` (feature `fuzzing`). Each asserts
//! invariants, not only the absence of panics.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use oxrtc_stun::{
    Class, ErrorCode, IceControlled, IceControlling, IntegrityKey, Message, MessageBuilder, Method,
    Nomination, Priority, TransactionId, UseCandidate, Username, XorMappedAddress,
};
use rand_chacha::rand_core::SeedableRng;

use crate::{
    Agent, AgentConfig, Candidate, CandidateInit, Credentials, Datagram, IceServer, IceServerUrl,
    LocalSocket, Protocol, TcpType,
};

/// `ice_candidate`: the candidate grammar and the server URL grammar.
///
/// Asserts: whatever parses re-encodes to text that parses to the same value, and that text
/// is stable (`write(parse(write(parse(s)))) == write(parse(s))`); the W3C JSON wrapper
/// carries it unchanged; parsing never panics.
pub fn ice_candidate(data: &[u8]) {
    let Ok(s) = core::str::from_utf8(data) else {
        return;
    };
    if let Ok(c) = s.parse::<Candidate>() {
        let text = c.to_string();
        let again = match text.parse::<Candidate>() {
            Ok(a) => a,
            Err(e) => panic!("{text:?} does not parse again: {e}"),
        };
        assert_eq!(again, c, "parse(write(c)) != c");
        assert_eq!(again.to_string(), text, "write(parse(s)) is not stable");
        let value = c.sdp_value();
        assert_eq!(value.parse::<Candidate>().ok(), Some(c.clone()));
        let init = CandidateInit::new(&c, Some("0".into()), Some(0));
        assert_eq!(init.candidate().ok().flatten(), Some(c));
    }
    if let Ok(u) = s.parse::<IceServerUrl>() {
        let text = u.to_string();
        assert_eq!(text.parse::<IceServerUrl>().ok(), Some(u), "{text}");
    }
}

const LOCAL: [u8; 4] = [192, 0, 2, 1];
const LOCAL_PWD: &str = "localpasswordlocalpassword";
const PEER_PWD: &str = "peerpasswordpeerpassword";

/// `ice_agent`: arbitrary STUN datagrams, signed checks with arbitrary attributes, answers
/// to the agent's own checks, candidates and time into a running agent.
///
/// The input is a list of operations; each starts with a byte choosing it. Asserts: no
/// panic; the check list, remote candidates, transactions and queues stay within their
/// bounds; `poll_timeout` never asks to be woken in the past; a due `handle_timeout`
/// always moves the next deadline forward (no busy loop).
pub fn ice_agent(data: &[u8]) {
    let mut input = Input(data);
    let start = Instant::now();
    let mut now = start;
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(u64::from(input.byte()));
    let config = AgentConfig {
        controlling: input.byte() & 1 == 1,
        lite: input.byte() & 7 == 7,
        local_credentials: Credentials::new("loca", LOCAL_PWD).ok(),
        ice_servers: vec![IceServer::stun("stun:198.51.100.200:3478")],
        ..AgentConfig::default()
    };
    let (max_pairs, max_remote) = (config.max_pairs, config.max_remote_candidates);
    let mut agent = Agent::new(config, now, &mut rng);
    let local = SocketAddr::from((LOCAL, 5000));
    let _ = agent.add_host_socket(now, local);
    let _ = agent.add_local_socket(
        now,
        LocalSocket::tcp(SocketAddr::from((LOCAL, 9)), TcpType::Active),
    );
    let _ = agent.set_remote_credentials(now, "peer", PEER_PWD);
    agent.gather(now);
    let mut last_sent: Vec<Vec<u8>> = Vec::new();

    for _ in 0..256 {
        let Some(op) = input.next() else { break };
        let remote = SocketAddr::from((
            [198, 51, 100, input.byte() % 8],
            6000 + u16::from(input.byte() % 4),
        ));
        match op % 8 {
            0 => {
                // A raw datagram.
                let len = usize::from(input.byte()) * 2;
                let bytes = input.take(len);
                let _ = agent.handle_receive(now, Datagram::udp(local, remote, bytes));
            }
            1 => {
                // A check signed with our password, with fuzzed attributes.
                let flags = input.byte();
                let tie = u64::from(input.byte());
                let prio = u32::from(input.byte()) << 20;
                let mut out = Vec::new();
                let id = TransactionId([input.byte(); 12]);
                let nomination = input.byte();
                let mut b = MessageBuilder::new(&mut out, Class::Request, Method::Binding, id);
                let user = if flags & 1 == 0 {
                    "loca:peer"
                } else {
                    "loca:x"
                };
                let ok = b.add(&Username(user)).is_ok()
                    && (flags & 2 == 0 || b.add(&Priority(prio)).is_ok())
                    && (flags & 4 == 0 || b.add(&UseCandidate).is_ok())
                    && match flags & 24 {
                        8 => b.add(&IceControlling(tie)).is_ok(),
                        16 => b.add(&IceControlled(tie)).is_ok(),
                        _ => true,
                    }
                    && (flags & 32 == 0 || b.add(&Nomination(u32::from(nomination))).is_ok())
                    && b.add_message_integrity(&IntegrityKey::short_term(LOCAL_PWD))
                        .is_ok()
                    && (flags & 64 != 0 || b.add_fingerprint().is_ok());
                if ok {
                    let (transport, local) = if flags & 128 != 0 {
                        (Protocol::Tcp, SocketAddr::from((LOCAL, 9)))
                    } else {
                        (Protocol::Udp, local)
                    };
                    let _ = agent.handle_receive(
                        now,
                        Datagram {
                            transport,
                            local,
                            remote,
                            contents: &out,
                        },
                    );
                }
            }
            2 => {
                // An answer to one of the agent's own requests, maybe signed, maybe an error.
                let which = usize::from(input.byte());
                let kind = input.byte();
                if let Some(req) = last_sent.get(which % last_sent.len().max(1)) {
                    if let Ok(req) = Message::new_checked(&req[..]) {
                        let class = if kind & 1 == 0 {
                            Class::SuccessResponse
                        } else {
                            Class::ErrorResponse
                        };
                        let mut out = Vec::new();
                        let mut b = MessageBuilder::response_to(&mut out, &req, class);
                        let mut ok = if class == Class::ErrorResponse {
                            b.add(&ErrorCode::from_code(u16::from(kind >> 1) * 4 + 300))
                                .is_ok()
                        } else {
                            b.add(&XorMappedAddress(remote)).is_ok()
                        };
                        if kind & 2 == 0 {
                            ok &= b
                                .add_message_integrity(&IntegrityKey::short_term(PEER_PWD))
                                .is_ok();
                        }
                        ok &= b.add_fingerprint().is_ok();
                        if ok {
                            let from = if kind & 4 == 0 {
                                remote
                            } else {
                                SocketAddr::from(([198, 51, 100, 200], 3478))
                            };
                            let _ = agent.handle_receive(now, Datagram::udp(local, from, &out));
                        }
                    }
                }
            }
            3 => {
                now += Duration::from_millis(u64::from(input.byte()) * 40);
                agent.handle_timeout(now);
            }
            4 => {
                let len = usize::from(input.byte());
                if let Ok(s) = core::str::from_utf8(input.take(len)) {
                    if let Ok(c) = s.parse::<Candidate>() {
                        let _ = agent.add_remote_candidate(now, c);
                    }
                }
            }
            5 => {
                // Jump to the next deadline: it must make progress.
                if let Some(t) = agent.poll_timeout() {
                    assert!(t >= now, "poll_timeout in the past");
                    now = t;
                    agent.handle_timeout(now);
                    if let Some(next) = agent.poll_timeout() {
                        assert!(
                            next > now,
                            "busy loop: due again at once: {}",
                            agent.debug_deadlines()
                        );
                    }
                }
            }
            6 => {
                let c = Candidate::new(
                    "9",
                    1,
                    Protocol::Udp,
                    u32::from(input.byte()) << 16,
                    remote,
                    crate::CandidateType::Host,
                );
                let _ = agent.add_remote_candidate(now, c);
            }
            _ => match input.byte() % 5 {
                0 => {
                    let _ = agent.restart(now);
                }
                1 => {
                    let _ = agent.set_remote_credentials(now, "peer2", PEER_PWD);
                }
                2 => agent.end_of_remote_candidates(now),
                3 => {
                    let _ = agent.remove_local_socket(now, local);
                    let _ = agent.add_host_socket(now, local);
                }
                _ => {
                    let _ = agent.send(now, b"\x80data");
                }
            },
        }
        // Drain and check the bounds after every input.
        let mut transmits = 0;
        while let Some(t) = agent.poll_transmit() {
            transmits += 1;
            if Message::new_checked(&t.contents[..]).is_ok_and(|m| m.class() == Class::Request) {
                if last_sent.len() >= 16 {
                    last_sent.remove(0);
                }
                last_sent.push(t.contents);
            }
        }
        assert!(transmits <= 1024, "transmit queue unbounded");
        let mut events = 0;
        while agent.poll_event().is_some() {
            events += 1;
        }
        assert!(events <= 1024, "event queue unbounded");
        assert!(agent.pair_count() <= max_pairs, "too many pairs");
        assert!(
            agent.remote_candidates().len() <= max_remote,
            "too many remote candidates"
        );
        assert!(
            agent.transaction_count() <= 4 * max_pairs + 16,
            "too many transactions"
        );
        if let Some(t) = agent.poll_timeout() {
            assert!(t >= now, "poll_timeout in the past");
        }
    }
    agent.close(now);
}

struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    fn next(&mut self) -> Option<u8> {
        let (first, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(*first)
    }

    fn byte(&mut self) -> u8 {
        self.next().unwrap_or(0)
    }

    fn take(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.0.len());
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        head
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn harnesses_run_on_simple_inputs() {
        ice_candidate(b"candidate:1 1 udp 2122260223 192.0.2.1 5000 typ host generation 0");
        ice_candidate(b"turn:192.0.2.1?transport=tcp");
        ice_candidate(&[0xff, 0xfe]);
        // Checks from several addresses, answers, time jumps, a restart.
        let mut ops = Vec::new();
        for i in 0..40u8 {
            ops.extend_from_slice(&[1, i, i % 4, 0x0a, 5, 7, i, 1]);
            ops.extend_from_slice(&[2, i, 1, 0, 0]);
            ops.extend_from_slice(&[5, i, 0]);
            ops.extend_from_slice(&[3, 0, 0, 30]);
        }
        ops.extend_from_slice(&[7, 0, 0, 0]);
        ice_agent(&ops);
        ice_agent(&[]);
        ice_agent(&[0xff; 600]);
        // A lite agent's selected pair lost consent while another valid pair's keepalive
        // was overdue: the handover must do that work at once (the fuzzer's busy-loop
        // check found it asking to be woken again at the same instant).
        ice_agent(
            b"\x07\x03\x27\x05\x07\x02\x01\x02\x02\x01\x00\x00\x05\x02\x00\x03\x1e\x01\x07\x03\
              \x0a\x05\x07\x07\x01\x02\x07\x01\x00\x00\x05\x07\x00\x00\x01\x08\x00\x0a\x05\x07\
              \x08\x01\x02\x08\x01\x00\x00\x05\x08\x00\x03\x00\x00\x1e\x01\x09\x01\x0a\x05\x07\
              \x09\x01\x02\x01\x0a\x05\x07\x09\x01\x02\x09\x01\x00\x00\x05\x09\x00\x94\xbf\xd7\
              \xe2\x07\xdd\x6b\x28\x15\x15\x15\x15\x15\x15\x15\x15\x15\x15\x15\x15\x15\x15\x15\
              \x15\x15\x15\x15\x15\x15\x15\x15\x15\x15\x15\x15\x15\x15\x15\x15\x15\x15\x15\x15\
              \x15\x15\x15\x15\x15\x15\x15\x15\x12\x12\x12\x12\x12\x12\x12\x12\x12\x12\x05\x0d\
              \x00\x03\x00\x00\x1e\x64\x02",
        );
        // The checked-in seeds.
        for seed in [
            "seed-checks-answers-restart",
            "seed-candidate-nomination",
            "seed-rfc5769-request-and-response",
        ] {
            let path = format!(
                "{}/../../fuzz/corpus/ice_agent/{seed}",
                env!("CARGO_MANIFEST_DIR")
            );
            if let Ok(bytes) = std::fs::read(path) {
                ice_agent(&bytes);
            }
        }
    }
}
