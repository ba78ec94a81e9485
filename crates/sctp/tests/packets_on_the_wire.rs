//! Exact packets the association sends and how it treats bad ones (table style).
#![allow(clippy::unwrap_used)]

use bytes::Bytes;
use oxrtc_sctp::wire::{self, Chunk, CommonHeader, CookieEcho, ErrorCause, Packet, Param};
use oxrtc_sctp::{Association, Config, Error, State};
use rand_chacha::rand_core::SeedableRng;
use std::time::{Duration, Instant};

/// INIT sent by Chromium's usrsctp (captured).
const USRSCTP_INIT: &[u8] = &[
    0x13, 0x88, 0x13, 0x88, 0x00, 0x00, 0x00, 0x00, 0x81, 0x46, 0x9d, 0xfc, 0x01, 0x00, 0x00, 0x56,
    0x55, 0xb9, 0x64, 0xa5, 0x00, 0x02, 0x00, 0x00, 0x04, 0x00, 0x08, 0x00, 0xe8, 0x6d, 0x10, 0x30,
    0xc0, 0x00, 0x00, 0x04, 0x80, 0x08, 0x00, 0x09, 0xc0, 0x0f, 0xc1, 0x80, 0x82, 0x00, 0x00, 0x00,
    0x80, 0x02, 0x00, 0x24, 0x9f, 0xeb, 0xbb, 0x5c, 0x50, 0xc9, 0xbf, 0x75, 0x9c, 0xb1, 0x2c, 0x57,
    0x4f, 0xa4, 0x5a, 0x51, 0xba, 0x60, 0x17, 0x78, 0x27, 0x94, 0x5c, 0x31, 0xe6, 0x5d, 0x5b, 0x09,
    0x47, 0xe2, 0x22, 0x06, 0x80, 0x04, 0x00, 0x06, 0x00, 0x01, 0x00, 0x00, 0x80, 0x03, 0x00, 0x06,
    0x80, 0xc1, 0x00, 0x00,
];

fn assoc(config: Config, seed: u64, now: Instant) -> Association {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    Association::new(config, true, now, &mut rng)
}

fn parse(p: &[u8]) -> Packet {
    Packet::parse(&Bytes::copy_from_slice(p)).unwrap()
}

#[test]
fn init_has_the_parameters_chromium_sends() {
    let now = Instant::now();
    let mut a = assoc(Config::default(), 1, now);
    let raw = a.poll_transmit().unwrap();
    assert!(
        wire::verify_checksum(&raw),
        "INIT always carries a real CRC32C"
    );
    assert!(a.poll_transmit().is_none());
    let p = parse(&raw);
    assert_eq!(
        p.header,
        CommonHeader {
            source_port: 5000,
            destination_port: 5000,
            verification_tag: 0
        }
    );
    let [Chunk::Init(init)] = p.chunks.as_slice() else {
        panic!("{p:?}")
    };
    assert_ne!(init.initiate_tag, 0);
    assert_eq!(init.a_rwnd, 1024 * 1024);
    assert_eq!(
        (init.num_outbound_streams, init.num_inbound_streams),
        (65535, 65535)
    );
    assert_eq!(
        init.params,
        vec![
            Param::ForwardTsnSupported,
            Param::ZeroChecksumAcceptable { edmid: 1 },
            Param::SupportedExtensions(vec![0x82, 0xc0, 0x40, 0xc2]),
        ]
    );
    // T1-init: the INIT is retransmitted after RTO.Initial (1 s), then after 2 s.
    assert_eq!(a.poll_timeout(), Some(now + Duration::from_secs(1)));
    a.handle_timeout(now + Duration::from_millis(999));
    assert!(a.poll_transmit().is_none());
    a.handle_timeout(now + Duration::from_secs(1));
    assert_eq!(a.poll_transmit().unwrap(), raw);
    assert_eq!(a.poll_timeout(), Some(now + Duration::from_secs(3)));
}

#[test]
fn answers_a_usrsctp_init_with_a_cookie() {
    let now = Instant::now();
    let mut b = assoc(
        Config {
            active_open: false,
            ..Config::default()
        },
        2,
        now,
    );
    assert!(b.poll_transmit().is_none());
    b.handle_receive(now, USRSCTP_INIT).unwrap();
    let raw = b.poll_transmit().unwrap();
    assert!(wire::verify_checksum(&raw));
    let p = parse(&raw);
    assert_eq!(p.header.verification_tag, 0x55b9_64a5);
    let [Chunk::InitAck(ack)] = p.chunks.as_slice() else {
        panic!("{p:?}")
    };
    assert!(ack
        .params
        .iter()
        .any(|x| matches!(x, Param::StateCookie(c) if c.len() > 32)));
    // No state is kept for an INIT (RFC 9260 §5.1.3): still closed, nothing else queued.
    assert_eq!(b.state(), State::Closed);
    assert!(b.poll_transmit().is_none());
}

#[test]
fn bad_checksum_wrong_tag_and_garbage_are_dropped_and_counted() {
    let now = Instant::now();
    let mut b = assoc(
        Config {
            active_open: false,
            zero_checksum: false,
            ..Config::default()
        },
        3,
        now,
    );
    let mut bad = USRSCTP_INIT.to_vec();
    bad[20] ^= 1;
    assert_eq!(b.handle_receive(now, &bad), Err(Error::BadChecksum));
    let mut zero = USRSCTP_INIT.to_vec();
    zero[8..12].copy_from_slice(&[0; 4]);
    assert_eq!(
        b.handle_receive(now, &zero),
        Err(Error::BadChecksum),
        "zero checksum not offered"
    );
    assert!(b.handle_receive(now, &[1, 2, 3]).is_err());
    let p = Packet {
        header: CommonHeader {
            source_port: 5000,
            destination_port: 5000,
            verification_tag: 1234,
        },
        chunks: vec![Chunk::CookieAck],
    };
    let mut raw = Vec::new();
    p.write(&mut raw, false);
    assert_eq!(b.handle_receive(now, &raw), Err(Error::BadVerificationTag));
    let s = b.stats();
    assert_eq!(
        (s.dropped_checksum, s.dropped_malformed, s.dropped_tag),
        (2, 1, 1)
    );
    assert!(b.poll_transmit().is_none());
}

fn cookie_from(raw: &[u8]) -> (u32, Bytes) {
    let p = parse(raw);
    let Chunk::InitAck(ack) = &p.chunks[0] else {
        panic!()
    };
    let c = ack
        .params
        .iter()
        .find_map(|x| match x {
            Param::StateCookie(c) => Some(c.clone()),
            _ => None,
        })
        .unwrap();
    (ack.initiate_tag, c)
}

fn cookie_echo(tag: u32, cookie: Bytes) -> Vec<u8> {
    let p = Packet {
        header: CommonHeader {
            source_port: 5000,
            destination_port: 5000,
            verification_tag: tag,
        },
        chunks: vec![Chunk::CookieEcho(CookieEcho { cookie })],
    };
    let mut raw = Vec::new();
    p.write(&mut raw, false);
    raw
}

#[test]
fn forged_and_stale_cookies_are_refused() {
    let now = Instant::now();
    let mut b = assoc(
        Config {
            active_open: false,
            ..Config::default()
        },
        4,
        now,
    );
    b.handle_receive(now, USRSCTP_INIT).unwrap();
    let (tag, cookie) = cookie_from(&b.poll_transmit().unwrap());
    // Forged: one bit flipped.
    let mut forged = cookie.to_vec();
    forged[5] ^= 1;
    b.handle_receive(now, &cookie_echo(tag, Bytes::from(forged)))
        .unwrap();
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.stats().bad_cookies, 1);
    // Stale: 61 s later, answered with ERROR(Stale Cookie).
    let later = now + Duration::from_secs(61);
    b.handle_receive(later, &cookie_echo(tag, cookie.clone()))
        .unwrap();
    assert_eq!(b.state(), State::Closed);
    let p = parse(&b.poll_transmit().unwrap());
    assert_eq!(p.header.verification_tag, 0x55b9_64a5);
    let Chunk::Error(e) = &p.chunks[0] else {
        panic!("{p:?}")
    };
    assert!(
        matches!(e.causes[0], ErrorCause::StaleCookie { staleness_us } if staleness_us >= 1_000_000)
    );
}

#[test]
fn valid_cookie_establishes_and_is_acked() {
    let now = Instant::now();
    let mut b = assoc(
        Config {
            active_open: false,
            ..Config::default()
        },
        5,
        now,
    );
    b.handle_receive(now, USRSCTP_INIT).unwrap();
    let (tag, cookie) = cookie_from(&b.poll_transmit().unwrap());
    b.handle_receive(now, &cookie_echo(tag, cookie)).unwrap();
    assert_eq!(b.state(), State::Established);
    // usrsctp offered FORWARD-TSN and RE-CONFIG but neither I-DATA nor zero checksum.
    assert!(!b.interleaving() && !b.zero_checksum());
    let raw = b.poll_transmit().unwrap();
    assert!(wire::verify_checksum(&raw));
    let p = parse(&raw);
    assert_eq!(p.header.verification_tag, 0x55b9_64a5);
    assert_eq!(p.chunks[0], Chunk::CookieAck);
}
