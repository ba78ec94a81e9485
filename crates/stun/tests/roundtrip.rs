//! Property tests: every attribute and whole messages round-trip; re-encoding is stable.

#![allow(clippy::unwrap_used)] // test helpers

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use oxrtc_stun::*;
use proptest::prelude::*;

/// Owned inputs from which every attribute kind can be built.
#[derive(Debug, Clone)]
struct Params {
    addr: SocketAddr,
    text: String,
    bytes: Vec<u8>,
    n: u64,
    flag: bool,
    code: u16,
    types: Vec<u16>,
}

const KINDS: usize = 36;

fn build(kind: usize, p: &Params) -> Attribute<'_> {
    let family = if p.flag {
        AddressFamily::IPv4
    } else {
        AddressFamily::IPv6
    };
    let alg = |i: usize| PasswordAlgorithm {
        algorithm: AlgorithmId(p.n.rotate_left(i as u32 * 16) as u16),
        parameters: &p.bytes[..p.bytes.len().min(i * 3)],
    };
    match kind {
        0 => MappedAddress(p.addr).into(),
        1 => Username(&p.text).into(),
        2 => MessageIntegrity(bytes_n(&p.bytes, p.n)).into(),
        3 => ErrorCode::new(p.code, &p.text).into(),
        4 => UnknownAttributes(p.types.iter().copied().map(AttributeType).collect()).into(),
        5 => ChannelNumber(p.n as u16).into(),
        6 => Lifetime(p.n as u32).into(),
        7 => XorPeerAddress(p.addr).into(),
        8 => Data(&p.bytes).into(),
        9 => Realm(&p.text).into(),
        10 => Nonce(&p.text).into(),
        11 => XorRelayedAddress(p.addr).into(),
        12 => RequestedAddressFamily(family).into(),
        13 => EvenPort { reserve: p.flag }.into(),
        14 => RequestedTransport(p.n as u8).into(),
        15 => DontFragment.into(),
        16 => {
            let len = 16 + 4 * (p.n as usize % 5);
            let full: [u8; 32] = bytes_n(&p.bytes, p.n);
            MessageIntegritySha256::new(&full[..len]).unwrap().into()
        }
        17 => alg(1).into(),
        18 => Userhash(bytes_n(&p.bytes, p.n)).into(),
        19 => XorMappedAddress(p.addr).into(),
        20 => ReservationToken(p.n.to_be_bytes()).into(),
        21 => Priority(p.n as u32).into(),
        22 => UseCandidate.into(),
        23 => ConnectionId(p.n as u32).into(),
        24 => AdditionalAddressFamily(family).into(),
        25 => AddressErrorCode {
            family,
            code: p.code,
            reason: &p.text,
        }
        .into(),
        26 => PasswordAlgorithms((0..(p.n % 4) as usize).map(alg).collect()).into(),
        27 => AlternateDomain(&p.text).into(),
        28 => Icmp {
            icmp_type: p.n as u8,
            icmp_code: (p.n >> 8) as u8,
            error_data: (p.n >> 32) as u32,
        }
        .into(),
        29 => Software(&p.text).into(),
        30 => AlternateServer(p.addr).into(),
        31 => Fingerprint(p.n as u32).into(),
        32 => IceControlled(p.n).into(),
        33 => IceControlling(p.n).into(),
        34 => Nomination(p.n as u32).into(),
        _ => {
            // An unknown type, comprehension-required or not (skip the known ones).
            let mut t = p.n as u16;
            while AttributeType(t).is_known() {
                t = t.wrapping_add(1);
            }
            UnknownAttribute {
                typ: AttributeType(t),
                value: &p.bytes,
            }
            .into()
        }
    }
}

fn bytes_n<const N: usize>(seed: &[u8], n: u64) -> [u8; N] {
    let mut out = [0u8; N];
    for (i, b) in out.iter_mut().enumerate() {
        *b = seed.get(i).copied().unwrap_or((n >> (i % 8 * 8)) as u8);
    }
    out
}

fn addr() -> impl Strategy<Value = SocketAddr> {
    prop_oneof![
        (any::<[u8; 4]>(), any::<u16>())
            .prop_map(|(ip, port)| SocketAddr::new(IpAddr::V4(Ipv4Addr::from(ip)), port)),
        (any::<[u8; 16]>(), any::<u16>())
            .prop_map(|(ip, port)| SocketAddr::new(IpAddr::V6(Ipv6Addr::from(ip)), port)),
    ]
}

fn params() -> impl Strategy<Value = Params> {
    (
        addr(),
        "\\PC{0,60}",
        proptest::collection::vec(any::<u8>(), 0..80),
        any::<u64>(),
        any::<bool>(),
        300u16..700,
        proptest::collection::vec(any::<u16>(), 0..8),
    )
        .prop_map(|(addr, text, bytes, n, flag, code, types)| Params {
            addr,
            text,
            bytes,
            n,
            flag,
            code,
            types,
        })
}

fn check_attribute(attr: &Attribute<'_>, id: TransactionId) -> Result<(), TestCaseError> {
    // Value level.
    let mut value = Vec::new();
    attr.encode(&id, &mut value)
        .map_err(|e| TestCaseError::fail(format!("{attr:?}: {e}")))?;
    prop_assert_eq!(value.len(), attr.encoded_len());
    let decoded = Attribute::decode(attr.attribute_type(), &value, &id).unwrap();
    prop_assert_eq!(&decoded, attr);

    // Message level: alone in a message (MI/FP values verbatim).
    let mut out = Vec::new();
    let mut b = MessageBuilder::new(&mut out, Class::Indication, Method::Send, id);
    b.add_attribute(attr).unwrap();
    let bytes = b.finish().to_vec();
    prop_assert!(is_stun(&bytes) || bytes[0] > 3);
    let msg = Message::new_checked(&bytes[..]).unwrap();
    let got: Vec<_> = msg.attributes().collect::<Result<_, _>>().unwrap();
    prop_assert_eq!(got, vec![attr.clone()]);
    let repr = MessageRepr::parse(&msg).unwrap();
    let mut again = Vec::new();
    repr.write(&mut again).unwrap();
    prop_assert_eq!(again, bytes);
    Ok(())
}

proptest! {
    #[test]
    fn every_attribute_round_trips(p in params(), id in any::<[u8; 12]>()) {
        for kind in 0..KINDS {
            check_attribute(&build(kind, &p), TransactionId(id))?;
        }
    }

    #[test]
    fn whole_messages_round_trip(
        class in 0u16..4,
        method in 0u16..0x1000,
        id in any::<[u8; 12]>(),
        ps in proptest::collection::vec((0..KINDS, params()), 0..8),
        integrity in 0u8..4,
        fingerprint in any::<bool>(),
        password in "[ -~]{0,100}",
    ) {
        let class = Class::from_bits(class);
        let method = Method::from(method);
        let id = TransactionId(id);
        // Integrity attributes and FINGERPRINT come from the builder, at the end.
        let attrs: Vec<Attribute<'_>> = ps
            .iter()
            .filter(|(k, _)| ![2, 16, 31].contains(k))
            .map(|(k, p)| build(*k, p))
            .collect();
        let key = IntegrityKey::short_term(&password);
        let mut out = vec![0xAA; 3]; // the builder appends after existing content
        let mut b = MessageBuilder::new(&mut out, class, method, id);
        for a in &attrs {
            b.add_attribute(a).unwrap();
        }
        if integrity & 1 != 0 {
            b.add_message_integrity(&key).unwrap();
        }
        if integrity & 2 != 0 {
            b.add_message_integrity_sha256(&key).unwrap();
        }
        if fingerprint {
            b.add_fingerprint().unwrap();
        }
        let bytes = b.finish().to_vec();
        prop_assert_eq!(&out[..3], &[0xAA; 3]);

        let msg = Message::new_checked(&bytes[..]).unwrap();
        prop_assert_eq!(msg.class(), class);
        prop_assert_eq!(msg.method(), method);
        prop_assert_eq!(msg.transaction_id(), id);
        prop_assert_eq!(is_stun(&bytes), bytes[0] <= 3);
        let got: Vec<_> = msg.attributes().collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(&got[..attrs.len()], &attrs[..]);
        let extra = usize::from(integrity & 1 != 0) + usize::from(integrity & 2 != 0) + usize::from(fingerprint);
        prop_assert_eq!(got.len(), attrs.len() + extra);
        match integrity {
            0 => prop_assert_eq!(msg.verify_integrity(&key), Err(Error::MissingIntegrity)),
            1 => prop_assert_eq!(msg.verify_integrity(&key), Ok(IntegrityAlgorithm::HmacSha1)),
            _ => prop_assert_eq!(msg.verify_integrity(&key), Ok(IntegrityAlgorithm::HmacSha256(32))),
        }
        if integrity != 0 {
            let wrong = IntegrityKey::short_term(&format!("{password}x"));
            prop_assert_eq!(msg.verify_integrity(&wrong), Err(Error::IntegrityMismatch));
        }
        prop_assert_eq!(msg.verify_fingerprint().is_ok(), fingerprint);

        // parse(write(x)) == x and write(parse(b)) == b.
        let repr = MessageRepr::parse(&msg).unwrap();
        let mut again = Vec::new();
        prop_assert_eq!(repr.write(&mut again).unwrap(), repr.encoded_len());
        prop_assert_eq!(&again, &bytes);
    }

    /// Random attribute bodies behind a valid header: whatever parses re-encodes stably.
    #[test]
    fn arbitrary_bodies_reencode_stably(
        typ in any::<u16>(),
        id in any::<[u8; 12]>(),
        tlvs in proptest::collection::vec((any::<u16>(), proptest::collection::vec(any::<u8>(), 0..40)), 0..6),
    ) {
        let mut body = Vec::new();
        for (t, v) in &tlvs {
            // Bias toward known types so typed decoders get exercised.
            let t = if t % 2 == 0 { [0x0001, 0x0006, 0x0009, 0x000A, 0x0014, 0x0015, 0x001D, 0x0020, 0x8002, 0x8028, 0x0008][usize::from(*t) % 11] } else { *t };
            body.extend_from_slice(&t.to_be_bytes());
            body.extend_from_slice(&(v.len() as u16).to_be_bytes());
            body.extend_from_slice(v);
            body.resize((body.len() + 3) & !3, 0);
        }
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&(typ & 0x3FFF).to_be_bytes());
        bytes.extend_from_slice(&(body.len() as u16).to_be_bytes());
        bytes.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
        bytes.extend_from_slice(&id);
        bytes.extend_from_slice(&body);
        let msg = Message::new_checked(&bytes[..]).unwrap();
        if let Ok(repr) = MessageRepr::parse(&msg) {
            let mut first = Vec::new();
            repr.write(&mut first).unwrap();
            let msg2 = Message::new_checked(&first[..]).unwrap();
            let repr2 = MessageRepr::parse(&msg2).unwrap();
            prop_assert_eq!(&repr, &repr2);
            let mut second = Vec::new();
            repr2.write(&mut second).unwrap();
            prop_assert_eq!(first, second);
        }
    }
}
