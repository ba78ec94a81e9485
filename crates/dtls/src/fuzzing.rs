//! Harnesses for the cargo-fuzz targets in `/fuzz` (feature `fuzzing`). They assert
//! invariants (round trips, bounded memory, agreement), not only the absence of panics.

use crate::wire::{
    Alert, Extension, ExtensionType, HandshakeFragment, HandshakeMessage, HandshakeType, Records,
};
use crate::{Certificate, Config, Connection, Event, FingerprintAlgorithm, Role, State};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// `dtls_record`: a datagram through every parser. Whatever parses writes back to the
/// same bytes (records, fragments) or parses again to the same value (messages,
/// extensions, alerts).
pub fn dtls_record(data: &[u8]) {
    let mut consumed = 0;
    for record in Records::new(data) {
        let Ok(record) = record else { break };
        let mut out = Vec::new();
        record.write(&mut out).expect("a parsed record writes");
        assert_eq!(
            out[..],
            data[consumed..consumed + out.len()],
            "record round trip"
        );
        consumed += out.len();
        let mut rest = record.fragment;
        while let Ok((frag, tail)) = HandshakeFragment::parse(rest) {
            let mut out = Vec::new();
            frag.write(&mut out).expect("a parsed fragment writes");
            assert_eq!(out[..], rest[..out.len()], "fragment round trip");
            rest = tail;
            if let Ok(m) = HandshakeMessage::parse(frag.header.msg_type, frag.body) {
                let mut body = Vec::new();
                m.write_body(&mut body).expect("a parsed message writes");
                let again = HandshakeMessage::parse(frag.header.msg_type, &body)
                    .expect("a written message parses");
                assert_eq!(again, m, "message round trip");
            }
        }
        if let Ok(a) = Alert::parse(record.fragment) {
            let mut out = Vec::new();
            a.write(&mut out);
            assert_eq!(out, record.fragment);
        }
    }
    if let [a, b, rest @ ..] = data {
        if let Ok(e) = Extension::parse(ExtensionType(u16::from_be_bytes([*a, *b])), rest) {
            let mut out = Vec::new();
            e.write(&mut out).expect("a parsed extension writes");
            let again = Extension::parse(e.extension_type(), out.get(4..).unwrap_or(&[]))
                .expect("a written extension parses");
            assert_eq!(again, e);
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(fp) = text.parse::<crate::Fingerprint>() {
            assert_eq!(fp.to_string().parse::<crate::Fingerprint>().ok(), Some(fp));
        }
    }
    for t in [HandshakeType::CLIENT_HELLO, HandshakeType::SERVER_HELLO] {
        let _ = HandshakeMessage::parse(t, data);
    }
}

fn certs() -> &'static (Certificate, Certificate) {
    static CERTS: OnceLock<(Certificate, Certificate)> = OnceLock::new();
    CERTS.get_or_init(|| {
        (
            Certificate::generate().expect("certificate"),
            Certificate::generate().expect("certificate"),
        )
    })
}

/// A tiny deterministic RNG for the hello randoms (the fuzzer wants repeatable runs).
struct Counter(u64);

impl rand_core::RngCore for Counter {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        dst.iter_mut().for_each(|b| *b = self.next_u64() as u8);
    }
}
impl rand_core::CryptoRng for Counter {}

/// `dtls_handshake`: a client and a server driven by a script of operations read from
/// `data`: deliver the next datagram either way, inject arbitrary bytes (whole flights of
/// garbage) into either, corrupt a datagram in flight, drop one, advance the clock.
/// The first byte's top bit picks the client's MTU: [`MIN_MTU`](crate::MIN_MTU), which
/// fragments its ClientHello, or 300; its next bit delivers datagrams through
/// [`Connection::handle_receive_bytes`] (in-place decryption) instead of `handle_receive`. Invariants: no panic, datagrams within the MTU,
/// buffers bounded, and if both ends connect they agree on the keying material.
pub fn dtls_handshake(data: &[u8]) {
    let _ = run_script(data);
}

/// Runs a `dtls_handshake` script; returns the final states of client and server.
fn run_script(data: &[u8]) -> Option<(State, State)> {
    let (cc, sc) = certs();
    let server_mtu = 300;
    let client_mtu = if data.first().is_some_and(|b| b & 0x80 != 0) {
        crate::MIN_MTU
    } else {
        server_mtu
    };
    let bytes_path = data.first().is_some_and(|b| b & 0x40 != 0);
    let deliver = |conn: &mut Connection, now: Instant, d: &[u8]| {
        let _ = if bytes_path {
            conn.handle_receive_bytes(now, bytes::BytesMut::from(d))
        } else {
            conn.handle_receive(now, d)
        };
    };
    let mut c = Config::new(Role::Client, cc.clone());
    c.expected_remote_fingerprints = vec![sc.fingerprint(FingerprintAlgorithm::Sha256)];
    c.mtu = client_mtu;
    let mut s = Config::new(Role::Server, sc.clone());
    s.expected_remote_fingerprints = vec![cc.fingerprint(FingerprintAlgorithm::Sha256)];
    s.mtu = server_mtu;
    let mut now = Instant::now();
    let (Ok(mut client), Ok(mut server)) = (
        Connection::new(c, now, Counter(1)),
        Connection::new(s, now, Counter(2)),
    ) else {
        return None;
    };
    let mut to_server: Vec<Vec<u8>> = Vec::new();
    let mut to_client: Vec<Vec<u8>> = Vec::new();
    let mut i = 0;
    let mut ops = 0;
    while let Some(&op) = data.get(i) {
        i += 1;
        ops += 1;
        if ops > 400 {
            break;
        }
        let arg = data.get(i).copied().unwrap_or(0);
        match op % 7 {
            0 if !to_server.is_empty() => deliver(&mut server, now, &to_server.remove(0)),
            1 if !to_client.is_empty() => deliver(&mut client, now, &to_client.remove(0)),
            2 | 3 => {
                i += 1;
                let end = (i + usize::from(arg)).min(data.len());
                let chunk = data.get(i..end).unwrap_or(&[]);
                i = end;
                let target = if op % 7 == 2 {
                    &mut server
                } else {
                    &mut client
                };
                deliver(target, now, chunk);
            }
            4 if !to_server.is_empty() => {
                i += 1;
                let mut d = to_server.remove(0);
                let at = usize::from(arg) % d.len().max(1);
                if let Some(b) = d.get_mut(at) {
                    *b ^= data.get(i).copied().unwrap_or(1) | 1;
                }
                deliver(&mut server, now, &d);
            }
            5 => {
                i += 1;
                now += Duration::from_millis(u64::from(arg) * 50);
                client.handle_timeout(now);
                server.handle_timeout(now);
            }
            6 if !to_client.is_empty() => {
                to_client.remove(0);
            }
            _ => {}
        }
        for (conn, queue, mtu) in [
            (&mut client, &mut to_server, client_mtu),
            (&mut server, &mut to_client, server_mtu),
        ] {
            assert!(conn.buffered_bytes() <= 1 << 20, "buffers bounded");
            assert!(conn.queued_datagrams() <= 256, "output bounded");
            while let Some(d) = conn.poll_transmit() {
                assert!(d.len() <= mtu, "datagram over the MTU: {}", d.len());
                if queue.len() < 64 {
                    queue.push(d);
                }
            }
            while let Some(e) = conn.poll_event() {
                match e {
                    Event::ApplicationData(d) => assert!(d.len() <= crate::MAX_PLAINTEXT_LEN),
                    Event::ApplicationDataBytes(d) => {
                        assert!(d.len() <= crate::MAX_PLAINTEXT_LEN)
                    }
                    _ => {}
                }
            }
        }
    }
    if client.state() == State::Connected && server.state() == State::Connected {
        assert_eq!(
            client
                .export_keying_material("EXTRACTOR-dtls_srtp", None, 56)
                .ok(),
            server
                .export_keying_material("EXTRACTOR-dtls_srtp", None, 56)
                .ok(),
            "both ends derive the same keys"
        );
    }
    Some((client.state(), server.state()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn harnesses_run_on_simple_inputs() {
        dtls_record(&[]);
        dtls_record(&[22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        // Alternate deliveries: a clean handshake.
        assert_eq!(
            run_script(&[0, 1].repeat(30)),
            Some((State::Connected, State::Connected))
        );
        // The same with the smallest client MTU: fragmented ClientHellos.
        assert_eq!(
            run_script(&[0x85, 1].repeat(40)),
            Some((State::Connected, State::Connected))
        );
        // And through handle_receive_bytes (0x46 % 7 == 0).
        assert_eq!(
            run_script(&[0x46, 1].repeat(30)),
            Some((State::Connected, State::Connected))
        );
        dtls_handshake(&[2, 5, 1, 2, 3, 4, 5, 3, 0, 5, 200, 6, 4, 3, 7]);
    }
}
