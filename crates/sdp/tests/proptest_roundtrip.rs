//! Property tests: a generator of valid session descriptions (every typed attribute, raw
//! ones, every session and media field) checks `parse(write(x)) == x`; a generator of
//! line soups built from real captured lines checks that whatever parses writes stably.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use oxrtc_sdp::*;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

fn token() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_.+*~!#$%&'^`{|}-]{1,10}"
}

fn rid_id() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_-]{1,6}"
}

/// Text without leading or trailing whitespace problems: non-empty, no edge blanks.
fn text() -> impl Strategy<Value = String> {
    "[!-~é]([ -~é]{0,14}[!-~é])?"
}

/// Text that may be empty.
fn text0() -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), text()]
}

fn pt() -> impl Strategy<Value = u8> {
    0u8..=127
}

fn direction() -> impl Strategy<Value = Direction> {
    prop_oneof![
        Just(Direction::SendRecv),
        Just(Direction::SendOnly),
        Just(Direction::RecvOnly),
        Just(Direction::Inactive)
    ]
}

fn connection() -> impl Strategy<Value = Connection> {
    (token(), token(), token()).prop_map(|(n, t, a)| Connection::new(n, t, a))
}

fn decimal() -> impl Strategy<Value = f64> {
    prop_oneof![(0u32..100_000).prop_map(f64::from), 0.0f64..1e12]
}

fn hash_function() -> impl Strategy<Value = HashFunction> {
    prop_oneof![
        Just(HashFunction::Sha1),
        Just(HashFunction::Sha224),
        Just(HashFunction::Sha256),
        Just(HashFunction::Sha384),
        Just(HashFunction::Sha512),
        Just(HashFunction::Md5),
        Just(HashFunction::Md2),
        "x-[a-z0-9-]{1,8}".prop_map(HashFunction::Other),
    ]
}

fn simulcast_list() -> impl Strategy<Value = Vec<Vec<SimulcastId>>> {
    vec(
        vec(
            (rid_id(), any::<bool>()).prop_map(|(rid, paused)| SimulcastId { rid, paused }),
            1..3,
        ),
        0..4,
    )
}

fn ssrc_attribute() -> impl Strategy<Value = SsrcAttribute> {
    prop_oneof![
        text0().prop_map(SsrcAttribute::Cname),
        (token(), option::of(token())).prop_map(|(s, t)| SsrcAttribute::Msid(Msid {
            stream_id: s,
            track_id: t
        })),
        ("x-[a-z]{1,6}", option::of(text0()))
            .prop_map(|(name, value)| SsrcAttribute::Other { name, value }),
    ]
}

fn attribute() -> impl Strategy<Value = Attribute> {
    let a = prop_oneof![
        (
            pt(),
            "[a-zA-Z0-9-]{1,8}",
            any::<u32>(),
            option::of(any::<u16>())
        )
            .prop_map(|(p, n, c, e)| Attribute::Rtpmap(Rtpmap::new(p, n, c, e))),
        (pt(), text0()).prop_map(|(p, t)| Attribute::Fmtp(Fmtp::new(p, t))),
        decimal().prop_map(Attribute::Ptime),
        decimal().prop_map(Attribute::MaxPtime),
        decimal().prop_map(Attribute::Framerate),
        direction().prop_map(Attribute::Direction),
        (any::<u16>(), option::of(connection()))
            .prop_map(|(port, connection)| Attribute::Rtcp(Rtcp { port, connection })),
        (option::of(pt()), token(), option::of(text())).prop_map(|(p, t, x)| Attribute::RtcpFb(
            RtcpFb {
                payload_type: p,
                feedback: RtcpFeedback {
                    feedback_type: t,
                    parameter: x
                }
            }
        )),
        (any::<u32>(), ssrc_attribute())
            .prop_map(|(ssrc, attribute)| Attribute::Ssrc(Ssrc { ssrc, attribute })),
        (token(), vec(any::<u32>(), 0..4))
            .prop_map(|(semantics, ssrcs)| Attribute::SsrcGroup(SsrcGroup { semantics, ssrcs })),
        Just(Attribute::RtcpMux),
        Just(Attribute::RtcpRsize),
        (token(), vec(token(), 0..4))
            .prop_map(|(semantics, mids)| Attribute::Group(Group { semantics, mids })),
        text().prop_map(Attribute::Mid),
        (hash_function(), vec(any::<u8>(), 1..65))
            .prop_map(|(h, d)| Attribute::Fingerprint(Fingerprint::new(h, d))),
    ];
    let b = prop_oneof![
        prop_oneof![
            Just(Setup::Active),
            Just(Setup::Passive),
            Just(Setup::Actpass),
            Just(Setup::Holdconn)
        ]
        .prop_map(Attribute::Setup),
        text().prop_map(Attribute::TlsId),
        text().prop_map(Attribute::IceUfrag),
        text().prop_map(Attribute::IcePwd),
        vec(token(), 0..3).prop_map(Attribute::IceOptions),
        Just(Attribute::IceLite),
        text0().prop_map(Attribute::Candidate),
        Just(Attribute::EndOfCandidates),
        (
            any::<u16>(),
            option::of(direction()),
            "[a-z:/.-]{1,20}",
            option::of(text())
        )
            .prop_map(
                |(id, direction, uri, extension_attributes)| Attribute::Extmap(Extmap {
                    id,
                    direction,
                    uri,
                    extension_attributes
                })
            ),
        Just(Attribute::ExtmapAllowMixed),
        (token(), option::of(token())).prop_map(|(s, t)| Attribute::Msid(Msid {
            stream_id: s,
            track_id: t
        })),
        (token(), vec(token(), 0..3)).prop_map(|(semantic, identifiers)| Attribute::MsidSemantic(
            MsidSemantic {
                semantic,
                identifiers
            }
        )),
        (
            rid_id(),
            prop_oneof![Just(RidDirection::Send), Just(RidDirection::Recv)],
            vec(pt(), 0..4),
            vec(("max-[a-z]{1,5}", option::of("[a-zA-Z0-9]{0,5}")), 0..4),
        )
            .prop_map(|(id, direction, payload_types, r)| Attribute::Rid(Rid {
                id,
                direction,
                payload_types,
                restrictions: r
                    .into_iter()
                    .map(|(name, value)| RidRestriction { name, value })
                    .collect(),
            })),
        (simulcast_list(), simulcast_list())
            .prop_filter("one direction", |(s, r)| !s.is_empty() || !r.is_empty())
            .prop_map(|(send, recv)| Attribute::Simulcast(Simulcast { send, recv })),
        Just(Attribute::RtcpMuxOnly),
        Just(Attribute::BundleOnly),
        any::<u16>().prop_map(Attribute::SctpPort),
        any::<u64>().prop_map(Attribute::MaxMessageSize),
        (any::<u16>(), token(), option::of(any::<u32>())).prop_map(|(number, app, streams)| {
            Attribute::Sctpmap(Sctpmap {
                number,
                app,
                streams,
            })
        }),
        ("x-[a-z0-9-]{0,8}", option::of(text0()))
            .prop_map(|(name, value)| Attribute::Other { name, value }),
    ];
    prop_oneof![a, b]
}

fn bandwidth() -> impl Strategy<Value = Bandwidth> {
    (token(), any::<u64>()).prop_map(|(bwtype, bandwidth)| Bandwidth { bwtype, bandwidth })
}

fn media() -> impl Strategy<Value = MediaDescription> {
    let kind = prop_oneof![
        Just(MediaKind::Audio),
        Just(MediaKind::Video),
        Just(MediaKind::Text),
        Just(MediaKind::Application),
        Just(MediaKind::Message),
        "x-[a-z]{1,6}".prop_map(MediaKind::Other),
    ];
    let protocol = prop_oneof![
        Just(Protocol::RtpAvp),
        Just(Protocol::RtpSavp),
        Just(Protocol::RtpAvpf),
        Just(Protocol::RtpSavpf),
        Just(Protocol::UdpTlsRtpSavp),
        Just(Protocol::UdpTlsRtpSavpf),
        Just(Protocol::UdpDtlsSctp),
        Just(Protocol::TcpDtlsSctp),
        Just(Protocol::DtlsSctp),
        "X/[A-Z]{1,5}".prop_map(Protocol::Other),
    ];
    (
        (
            kind,
            any::<u16>(),
            option::of(any::<u16>()),
            protocol,
            vec(token(), 0..5),
        ),
        (
            option::of(text0()),
            vec(connection(), 0..2),
            vec(bandwidth(), 0..2),
            option::of(text0()),
        ),
        vec(attribute(), 0..12),
    )
        .prop_map(
            |(
                (kind, port, number_of_ports, protocol, formats),
                (title, connections, bandwidths, key),
                attributes,
            )| {
                MediaDescription {
                    kind,
                    port,
                    number_of_ports,
                    protocol,
                    formats,
                    title,
                    connections,
                    bandwidths,
                    key,
                    attributes,
                }
            },
        )
}

fn session() -> impl Strategy<Value = SessionDescription> {
    let origin = (
        token(),
        any::<u64>(),
        any::<u64>(),
        token(),
        token(),
        token(),
    )
        .prop_map(
            |(
                username,
                session_id,
                session_version,
                network_type,
                address_type,
                unicast_address,
            )| Origin {
                username,
                session_id,
                session_version,
                network_type,
                address_type,
                unicast_address,
            },
        );
    let timing = vec(
        (any::<u64>(), any::<u64>(), vec(text0(), 0..2)).prop_map(
            |(start_time, stop_time, repeat_times)| Timing {
                start_time,
                stop_time,
                repeat_times,
            },
        ),
        1..3,
    );
    (
        (
            origin,
            text0(),
            option::of(text0()),
            option::of(text0()),
            vec(text0(), 0..2),
            vec(text0(), 0..2),
        ),
        (
            option::of(connection()),
            vec(bandwidth(), 0..2),
            timing,
            option::of(text0()),
            option::of(text0()),
        ),
        vec(attribute(), 0..10),
        vec(media(), 0..4),
    )
        .prop_map(
            |(
                (origin, session_name, information, uri, emails, phones),
                (connection, bandwidths, timing, time_zones, key),
                attributes,
                media,
            )| SessionDescription {
                origin,
                session_name,
                information,
                uri,
                emails,
                phones,
                connection,
                bandwidths,
                timing,
                time_zones,
                key,
                attributes,
                media,
            },
        )
}

const REAL: &[&str] = &[
    include_str!("data/chromium-to-aiortc.media-allcodecs.offer.sdp"),
    include_str!("data/firefox-121-offer-audio-video.sdp"),
    include_str!("data/pion-offer-media.sdp"),
    include_str!("data/janus-answer.sdp"),
    include_str!("data/aiortc-to-chromium.media-echo.offer.sdp"),
];

fn real_lines() -> Vec<&'static str> {
    REAL.iter()
        .flat_map(|s| s.lines())
        .filter(|l| !l.starts_with("v=") && !l.starts_with("o=") && !l.starts_with("s="))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn generated_sdp_round_trips(sd in session()) {
        let written = sd.to_string();
        prop_assert!(written.ends_with("\r\n"));
        prop_assert!(!written.replace("\r\n", "").contains(['\r', '\n']));
        let parsed: SessionDescription = written.parse().map_err(|e| TestCaseError::fail(format!("{e}\n{written}")))?;
        prop_assert_eq!(&parsed, &sd);
        prop_assert_eq!(parsed.to_string(), written);
    }

    #[test]
    fn generated_attribute_round_trips(a in attribute()) {
        let written = a.to_string();
        prop_assert_eq!(written.parse::<Attribute>().map_err(|e| TestCaseError::fail(format!("{e}: {written}")))?, a);
    }

    #[test]
    fn shuffled_real_lines_write_stably(picks in vec(any::<prop::sample::Index>(), 0..60), lf in any::<bool>()) {
        let pool = real_lines();
        let mut text = String::from("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\n");
        for p in picks {
            text.push_str(p.get::<&str>(&pool));
            text.push_str(if lf { "\n" } else { "\r\n" });
        }
        if let Ok(sd) = text.parse::<SessionDescription>() {
            let written = sd.to_string();
            let again: SessionDescription = written.parse().unwrap();
            prop_assert_eq!(&again, &sd);
            prop_assert_eq!(again.to_string(), written);
        }
    }
}
