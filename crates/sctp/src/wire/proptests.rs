//! Round-trip property tests and captured-packet tests for the wire module.

use super::*;
use proptest::collection::vec;
use proptest::prelude::*;

/// An INIT sent by Chromium's usrsctp (captured; also used by pion's packet tests): tag
/// 0x55b964a5, a_rwnd 128 KiB, OS 1024, MIS 2048, Forward-TSN-Supported, Supported Extensions
/// (FORWARD-TSN, AUTH, ASCONF, ASCONF-ACK, RE-CONFIG), RANDOM, HMAC-ALGO, CHUNKS.
const USRSCTP_INIT: &[u8] = &[
    0x13, 0x88, 0x13, 0x88, 0x00, 0x00, 0x00, 0x00, 0x81, 0x46, 0x9d, 0xfc, 0x01, 0x00, 0x00, 0x56,
    0x55, 0xb9, 0x64, 0xa5, 0x00, 0x02, 0x00, 0x00, 0x04, 0x00, 0x08, 0x00, 0xe8, 0x6d, 0x10, 0x30,
    0xc0, 0x00, 0x00, 0x04, 0x80, 0x08, 0x00, 0x09, 0xc0, 0x0f, 0xc1, 0x80, 0x82, 0x00, 0x00, 0x00,
    0x80, 0x02, 0x00, 0x24, 0x9f, 0xeb, 0xbb, 0x5c, 0x50, 0xc9, 0xbf, 0x75, 0x9c, 0xb1, 0x2c, 0x57,
    0x4f, 0xa4, 0x5a, 0x51, 0xba, 0x60, 0x17, 0x78, 0x27, 0x94, 0x5c, 0x31, 0xe6, 0x5d, 0x5b, 0x09,
    0x47, 0xe2, 0x22, 0x06, 0x80, 0x04, 0x00, 0x06, 0x00, 0x01, 0x00, 0x00, 0x80, 0x03, 0x00, 0x06,
    0x80, 0xc1, 0x00, 0x00,
];

/// A header-only packet with its CRC32C (pion's packet tests).
const HEADER_ONLY: &[u8] = &[
    0x13, 0x88, 0x13, 0x88, 0x00, 0x00, 0x00, 0x00, 0x06, 0xa9, 0x00, 0xe1,
];

#[test]
fn usrsctp_init_parses_and_rewrites_identically() {
    assert!(verify_checksum(HEADER_ONLY));
    assert!(verify_checksum(USRSCTP_INIT));
    let p = Packet::parse(&Bytes::from_static(USRSCTP_INIT)).unwrap();
    assert_eq!(p.header.source_port, 5000);
    assert_eq!(p.header.verification_tag, 0);
    let [Chunk::Init(init)] = p.chunks.as_slice() else {
        panic!("expected one INIT: {p:?}");
    };
    assert_eq!(init.initiate_tag, 0x55b9_64a5);
    assert_eq!(init.a_rwnd, 128 * 1024);
    assert_eq!(init.num_outbound_streams, 1024);
    assert_eq!(init.num_inbound_streams, 2048);
    assert_eq!(init.initial_tsn, 0xe86d_1030);
    assert_eq!(init.params[0], Param::ForwardTsnSupported);
    assert_eq!(
        init.params[1],
        Param::SupportedExtensions(vec![0xc0, 0x0f, 0xc1, 0x80, 0x82])
    );
    assert_eq!(init.params.len(), 5);
    let mut out = Vec::new();
    p.write(&mut out, false);
    assert_eq!(out, USRSCTP_INIT);
}

#[test]
fn truncations_of_real_packet_never_panic() {
    for n in 0..USRSCTP_INIT.len() {
        let _ = Packet::parse(&Bytes::copy_from_slice(&USRSCTP_INIT[..n]));
    }
    // A chunk length running past the end is an error, not a panic.
    let mut bad = USRSCTP_INIT.to_vec();
    bad[15] = 0xff;
    assert!(Packet::parse(&Bytes::from(bad)).is_err());
}

#[test]
fn sack_with_wrong_counts_is_malformed() {
    let s = Chunk::Sack(Sack {
        cumulative_tsn_ack: 1,
        a_rwnd: 2,
        gap_ack_blocks: vec![(2, 3)],
        duplicate_tsns: vec![7],
    });
    let mut b = vec![0u8; 12];
    s.write(&mut b);
    b[12 + 12] = 0; // claim 2 gap blocks instead of 1
    b[12 + 13] = 2;
    assert!(Packet::parse(&Bytes::from(b)).is_err());
}

fn bytes_strategy(max: usize) -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..max).prop_map(Bytes::from)
}

fn param_strategy() -> impl Strategy<Value = Param> {
    prop_oneof![
        bytes_strategy(40).prop_map(Param::StateCookie),
        bytes_strategy(12).prop_map(Param::UnrecognizedParameter),
        any::<u32>().prop_map(Param::CookiePreservative),
        (
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
            vec(any::<u16>(), 0..5)
        )
            .prop_map(|(a, b, c, s)| Param::OutgoingSsnResetRequest {
                request_sequence: a,
                response_sequence: b,
                last_tsn: c,
                streams: s
            }),
        (any::<u32>(), vec(any::<u16>(), 0..5)).prop_map(|(a, s)| {
            Param::IncomingSsnResetRequest {
                request_sequence: a,
                streams: s,
            }
        }),
        any::<u32>().prop_map(|a| Param::SsnTsnResetRequest {
            request_sequence: a
        }),
        (
            any::<u32>(),
            0u32..10,
            proptest::option::of((any::<u32>(), any::<u32>()))
        )
            .prop_map(|(a, r, n)| Param::ReconfigResponse {
                response_sequence: a,
                result: r.into(),
                next_tsns: n
            }),
        (any::<u32>(), any::<u16>()).prop_map(|(a, n)| Param::AddOutgoingStreams {
            request_sequence: a,
            new_streams: n
        }),
        (any::<u32>(), any::<u16>()).prop_map(|(a, n)| Param::AddIncomingStreams {
            request_sequence: a,
            new_streams: n
        }),
        any::<u32>().prop_map(|e| Param::ZeroChecksumAcceptable { edmid: e }),
        vec(any::<u8>(), 0..8).prop_map(Param::SupportedExtensions),
        Just(Param::ForwardTsnSupported),
        (0x8100u16..0x8200, bytes_strategy(10)).prop_map(|(t, v)| Param::Unknown {
            param_type: t,
            value: v
        }),
    ]
}

fn cause_strategy() -> impl Strategy<Value = ErrorCause> {
    prop_oneof![
        any::<u16>().prop_map(|s| ErrorCause::InvalidStreamIdentifier { stream_id: s }),
        vec(any::<u16>(), 0..4).prop_map(ErrorCause::MissingMandatoryParameter),
        any::<u32>().prop_map(|s| ErrorCause::StaleCookie { staleness_us: s }),
        Just(ErrorCause::OutOfResource),
        bytes_strategy(9).prop_map(ErrorCause::UnresolvableAddress),
        bytes_strategy(9).prop_map(ErrorCause::UnrecognizedChunkType),
        Just(ErrorCause::InvalidMandatoryParameter),
        bytes_strategy(9).prop_map(ErrorCause::UnrecognizedParameters),
        any::<u32>().prop_map(|tsn| ErrorCause::NoUserData { tsn }),
        Just(ErrorCause::CookieReceivedWhileShuttingDown),
        bytes_strategy(9).prop_map(ErrorCause::RestartWithNewAddresses),
        bytes_strategy(9).prop_map(ErrorCause::UserInitiatedAbort),
        bytes_strategy(9).prop_map(ErrorCause::ProtocolViolation),
        (14u16..400, bytes_strategy(9)).prop_map(|(code, info)| ErrorCause::Other { code, info }),
    ]
}

fn init_strategy() -> impl Strategy<Value = Init> {
    (
        any::<u32>(),
        any::<u32>(),
        any::<u16>(),
        any::<u16>(),
        any::<u32>(),
        vec(param_strategy(), 0..5),
    )
        .prop_map(|(t, a, os, mis, tsn, params)| Init {
            initiate_tag: t,
            a_rwnd: a,
            num_outbound_streams: os,
            num_inbound_streams: mis,
            initial_tsn: tsn,
            params,
        })
}

fn chunk_strategy() -> impl Strategy<Value = Chunk> {
    prop_oneof![
        (
            any::<(u32, u16, u16, u32)>(),
            any::<[bool; 4]>(),
            bytes_strategy(30)
        )
            .prop_map(|((tsn, sid, ssn, ppid), f, d)| Chunk::Data(DataChunk {
                tsn,
                stream_id: sid,
                ssn,
                ppid,
                immediate: f[0],
                unordered: f[1],
                beginning: f[2],
                ending: f[3],
                user_data: d
            })),
        (
            any::<(u32, u16, u32, u32)>(),
            any::<[bool; 4]>(),
            bytes_strategy(30)
        )
            .prop_map(|((tsn, sid, mid, x), f, d)| Chunk::IData(IDataChunk {
                tsn,
                stream_id: sid,
                mid,
                ppid: if f[2] { x } else { 0 },
                fsn: if f[2] { 0 } else { x },
                immediate: f[0],
                unordered: f[1],
                beginning: f[2],
                ending: f[3],
                user_data: d
            })),
        init_strategy().prop_map(Chunk::Init),
        init_strategy().prop_map(Chunk::InitAck),
        (
            any::<u32>(),
            any::<u32>(),
            vec(any::<(u16, u16)>(), 0..6),
            vec(any::<u32>(), 0..6)
        )
            .prop_map(|(c, a, g, d)| Chunk::Sack(Sack {
                cumulative_tsn_ack: c,
                a_rwnd: a,
                gap_ack_blocks: g,
                duplicate_tsns: d
            })),
        bytes_strategy(20).prop_map(|info| Chunk::Heartbeat(Heartbeat { info })),
        bytes_strategy(20).prop_map(|info| Chunk::HeartbeatAck(Heartbeat { info })),
        (any::<bool>(), vec(cause_strategy(), 0..4))
            .prop_map(|(t_bit, causes)| Chunk::Abort(Abort { t_bit, causes })),
        any::<u32>().prop_map(|c| Chunk::Shutdown(Shutdown {
            cumulative_tsn_ack: c
        })),
        Just(Chunk::ShutdownAck),
        vec(cause_strategy(), 0..4).prop_map(|causes| Chunk::Error(ErrorChunk { causes })),
        bytes_strategy(50).prop_map(|cookie| Chunk::CookieEcho(CookieEcho { cookie })),
        Just(Chunk::CookieAck),
        any::<bool>().prop_map(|t_bit| Chunk::ShutdownComplete { t_bit }),
        vec(param_strategy(), 1..3).prop_map(|params| Chunk::ReConfig(ReConfig { params })),
        (any::<u32>(), vec(any::<(u16, u16)>(), 0..5)).prop_map(|(n, s)| Chunk::ForwardTsn(
            ForwardTsn {
                new_cumulative_tsn: n,
                streams: s
                    .into_iter()
                    .map(|(stream_id, ssn)| ForwardTsnStream { stream_id, ssn })
                    .collect()
            }
        )),
        (any::<u32>(), vec(any::<(u16, bool, u32)>(), 0..5)).prop_map(|(n, s)| {
            Chunk::IForwardTsn(IForwardTsn {
                new_cumulative_tsn: n,
                streams: s
                    .into_iter()
                    .map(|(stream_id, unordered, mid)| IForwardTsnStream {
                        stream_id,
                        unordered,
                        mid,
                    })
                    .collect(),
            })
        }),
        (
            prop_oneof![15u8..0x40, 0x41u8..0x82, 0x83u8..0xc0, 0xc3u8..=0xff],
            any::<u8>(),
            bytes_strategy(20)
        )
            .prop_map(|(chunk_type, flags, value)| Chunk::Unknown {
                chunk_type,
                flags,
                value
            }),
    ]
}

fn packet_strategy() -> impl Strategy<Value = Packet> {
    (any::<(u16, u16, u32)>(), vec(chunk_strategy(), 0..6)).prop_map(|((s, d, t), chunks)| Packet {
        header: CommonHeader {
            source_port: s,
            destination_port: d,
            verification_tag: t,
        },
        chunks,
    })
}

proptest! {
    #[test]
    fn packet_roundtrip(p in packet_strategy(), zero in any::<bool>()) {
        let mut buf = Vec::new();
        p.write(&mut buf, zero);
        prop_assert_eq!(buf.len(), p.encoded_len());
        prop_assert_eq!(buf.len() % 4, 0);
        prop_assert_eq!(verify_checksum(&buf), !zero || compute_checksum(&buf) == 0);
        let parsed = Packet::parse(&Bytes::from(buf)).unwrap();
        prop_assert_eq!(parsed, p);
    }

    #[test]
    fn arbitrary_bytes_rewrite_stable(b in vec(any::<u8>(), 0..200)) {
        if let Ok(p) = Packet::parse(&Bytes::from(b)) {
            let mut w = Vec::new();
            p.write(&mut w, false);
            let p2 = Packet::parse(&Bytes::from(w.clone())).unwrap();
            let mut w2 = Vec::new();
            p2.write(&mut w2, false);
            prop_assert_eq!(w, w2);
        }
    }
}
