//! Property tests: `parse(write(x)) == x` for candidates, candidate inits and server URLs,
//! and `write(parse(s))` stable for arbitrary strings that parse.
#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use oxrtc_ice::{
    Address, Candidate, CandidateInit, CandidateType, IceServerUrl, Protocol, TcpType,
};
use proptest::prelude::*;

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|b| IpAddr::V4(Ipv4Addr::from(b))),
        any::<[u16; 8]>().prop_map(|s| IpAddr::V6(Ipv6Addr::from(s))),
    ]
}

fn address() -> impl Strategy<Value = Address> {
    prop_oneof![
        3 => ip().prop_map(Address::Ip),
        1 => "[a-z][a-z0-9-]{0,20}\\.local".prop_map(Address::Fqdn),
        1 => "[a-z]{1,10}(\\.[a-z]{1,10}){0,3}".prop_map(Address::Fqdn),
    ]
}

fn ice_chars(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[A-Za-z0-9+/]{{1,{max}}}")).unwrap()
}

prop_compose! {
    fn candidate()(
        foundation in ice_chars(32),
        component in 1u16..=256,
        tcp in any::<bool>(),
        priority in any::<u32>(),
        address in address(),
        port in any::<u16>(),
        typ in prop_oneof![
            Just(CandidateType::Host),
            Just(CandidateType::ServerReflexive),
            Just(CandidateType::PeerReflexive),
            Just(CandidateType::Relayed),
        ],
        related_address in proptest::option::of(address()),
        related_port in proptest::option::of(any::<u16>()),
        tcp_type in proptest::option::of(prop_oneof![
            Just(TcpType::Active), Just(TcpType::Passive), Just(TcpType::SimultaneousOpen)
        ]),
        generation in proptest::option::of(any::<u32>()),
        ufrag in proptest::option::of(ice_chars(64)),
        network_id in proptest::option::of(any::<u32>()),
        network_cost in proptest::option::of(any::<u32>()),
        extensions in proptest::collection::vec(("x-[a-z]{1,8}", "[!-~]{1,12}"), 0..4),
    ) -> Candidate {
        Candidate {
            foundation,
            component,
            protocol: if tcp { Protocol::Tcp } else { Protocol::Udp },
            priority,
            address,
            port,
            typ,
            related_address,
            related_port,
            tcp_type,
            generation,
            ufrag,
            network_id,
            network_cost,
            extensions,
        }
    }
}

proptest! {
    #[test]
    fn candidate_roundtrip(c in candidate()) {
        let text = c.to_string();
        let parsed: Candidate = text.parse().unwrap();
        prop_assert_eq!(&parsed, &c);
        // The bare SDP value parses to the same.
        prop_assert_eq!(c.sdp_value().parse::<Candidate>().unwrap(), c.clone());
        // And through the W3C JSON.
        let init = CandidateInit::new(&c, Some("0".into()), Some(0));
        let json = serde_json::to_string(&init).unwrap();
        let back: CandidateInit = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back.candidate().unwrap(), Some(c));
    }

    #[test]
    fn candidate_text_is_stable(s in "candidate:[A-Za-z0-9+/]{1,4} [0-9]{1,3} (udp|UDP|tcp) [0-9]{1,10} ([0-9.]{7,15}|[a-z0-9.-]{1,20}) [0-9]{1,5} typ (host|srflx|prflx|relay)( [a-z-]{1,12} [!-~]{1,10}){0,5}") {
        if let Ok(c) = s.parse::<Candidate>() {
            let once = c.to_string();
            let again = once.parse::<Candidate>().unwrap();
            prop_assert_eq!(again.to_string(), once);
            prop_assert_eq!(again, c);
        }
    }

    #[test]
    fn arbitrary_strings_never_panic(s in "\\PC{0,300}") {
        if let Ok(c) = s.parse::<Candidate>() {
            prop_assert_eq!(c.to_string().parse::<Candidate>().unwrap(), c);
        }
    }

    #[test]
    fn server_url_roundtrip(
        scheme in prop_oneof![Just("stun"), Just("stuns"), Just("turn"), Just("turns")],
        host in prop_oneof![
            ip().prop_map(|ip| match ip { IpAddr::V6(v6) => format!("[{v6}]"), v4 => v4.to_string() }),
            "[a-z][a-z0-9-]{0,10}(\\.[a-z]{2,5}){0,2}",
        ],
        port in proptest::option::of(1u16..),
        tcp in proptest::option::of(any::<bool>()),
    ) {
        let mut s = format!("{scheme}:{host}");
        if let Some(p) = port {
            s.push_str(&format!(":{p}"));
        }
        if scheme.starts_with("turn") {
            if let Some(tcp) = tcp {
                s.push_str(if tcp { "?transport=tcp" } else { "?transport=udp" });
            }
        }
        let u: IceServerUrl = s.parse().unwrap();
        let again: IceServerUrl = u.to_string().parse().unwrap();
        prop_assert_eq!(again, u);
    }
}
