//! Real packets captured from coturn 4.6.1 on loopback.

#![allow(clippy::unwrap_used)] // test helpers

use std::net::SocketAddr;

use oxrtc_stun::*;

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Binding success response: XOR-MAPPED-ADDRESS, MAPPED-ADDRESS, RESPONSE-ORIGIN (0x802b,
/// RFC 5780, unknown to us and optional), SOFTWARE.
const BINDING_RESPONSE: &str = "0101003c2112a44299d64c49c35e9ff88cb2a421002000080001bdcc5e12a4430001000800019cde7f000001802b0008000187de7f00000180220014436f7475726e2d342e362e312027476f72737427";

/// Allocate success response (no authentication configured): XOR-RELAYED-ADDRESS,
/// XOR-MAPPED-ADDRESS, LIFETIME, SOFTWARE.
const ALLOCATE_RESPONSE: &str = "010300382112a442db62db0e9917254f81bc8b00001600080001ca075e12a443002000080001bdcc5e12a443000d00040000025880220014436f7475726e2d342e362e312027476f72737427";

#[test]
fn coturn_binding_response() {
    let bytes = unhex(BINDING_RESPONSE);
    assert!(is_stun(&bytes));
    let msg = Message::new_checked(&bytes[..]).unwrap();
    assert_eq!(
        (msg.class(), msg.method()),
        (Class::SuccessResponse, Method::Binding)
    );
    let client: SocketAddr = "127.0.0.1:40158".parse().unwrap();
    let attrs: Vec<_> = msg.attributes().collect::<Result<_, _>>().unwrap();
    assert_eq!(
        attrs[0],
        Attribute::XorMappedAddress(XorMappedAddress(client))
    );
    assert_eq!(attrs[1], Attribute::MappedAddress(MappedAddress(client)));
    assert_eq!(
        attrs[2],
        Attribute::Unknown(UnknownAttribute {
            typ: AttributeType(0x802b),
            value: &[0x00, 0x01, 0x87, 0xde, 0x7f, 0x00, 0x00, 0x01]
        })
    );
    assert_eq!(
        attrs[3],
        Attribute::Software(Software("Coturn-4.6.1 'Gorst'"))
    );
    assert!(msg.unknown_comprehension_required().is_empty());
    // Re-encoding is byte-identical.
    let mut out = Vec::new();
    MessageRepr::parse(&msg).unwrap().write(&mut out).unwrap();
    assert_eq!(out, bytes);
}

#[test]
fn coturn_allocate_response() {
    let bytes = unhex(ALLOCATE_RESPONSE);
    let msg = Message::new_checked(&bytes[..]).unwrap();
    assert_eq!(
        (msg.class(), msg.method()),
        (Class::SuccessResponse, Method::Allocate)
    );
    let relayed = msg.attribute::<XorRelayedAddress>().unwrap().unwrap();
    assert_eq!(relayed.0, "127.0.0.1:60181".parse().unwrap());
    assert_eq!(msg.attribute::<Lifetime>().unwrap(), Some(Lifetime(600)));
    let mut out = Vec::new();
    MessageRepr::parse(&msg).unwrap().write(&mut out).unwrap();
    assert_eq!(out, bytes);
}
