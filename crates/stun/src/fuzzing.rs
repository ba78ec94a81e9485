//! Harnesses for the cargo-fuzz targets in `/fuzz` (feature `fuzzing`). Each asserts
//! invariants, not only the absence of panics.

use std::net::SocketAddr;
use std::time::Instant;

use crate::{
    is_stun, BindingServer, BindingServerConfig, ClientTransaction, IntegrityKey, Message,
    MessageRepr, TransactionConfig, Transport,
};

/// `stun_message`: parse, re-encode, parse again.
///
/// Asserts: a checked message's processed attributes re-encode, the re-encoding parses to the
/// same [`MessageRepr`] and encodes to the same bytes again (`write(parse(b))` is stable);
/// `is_stun` agrees with `Message::new_checked` on the header of exact-length datagrams;
/// integrity,
/// fingerprint, the binding server and a client transaction never panic on it.
pub fn stun_message(data: &[u8]) {
    let checked = Message::new_checked(data);
    if is_stun(data) {
        // is_stun checks the header only: the attribute framing may still be wrong.
        assert!(
            matches!(checked, Ok(_) | Err(crate::Error::AttributeOverrun { .. })),
            "is_stun accepted a header new_checked rejects: {checked:?}"
        );
    }
    let Ok(msg) = checked else {
        return;
    };
    if msg.as_bytes().len() == data.len() && data.first().is_some_and(|b| *b <= 3) {
        assert!(is_stun(data), "new_checked accepted what is_stun rejects");
    }

    let key = IntegrityKey::short_term("fuzz");
    let _ = msg.verify_integrity(&key);
    let _ = msg.verify_fingerprint();
    assert!(msg.unknown_comprehension_required().len() <= crate::MAX_UNKNOWN_REPORTED);

    let mut server = BindingServer::new(BindingServerConfig::default());
    let source = SocketAddr::from(([192, 0, 2, 1], 3478));
    let mut out = Vec::new();
    let _ = server.handle(source, data, &mut out);
    if !out.is_empty() {
        assert!(
            Message::new_checked(&out[..]).is_ok(),
            "server wrote an unparsable response"
        );
    }
    server.add_user("user", "pass");
    out.clear();
    let _ = server.handle(source, data, &mut out);

    let now = Instant::now();
    if let Ok(mut t) = ClientTransaction::new(
        now,
        msg.as_bytes().to_vec(),
        Transport::Unreliable,
        &TransactionConfig::default(),
    ) {
        let _ = t.handle_response(now, &msg);
        t.handle_timeout(now);
    }

    let Ok(repr) = MessageRepr::parse(&msg) else {
        return;
    };
    let mut first = Vec::new();
    let len = match repr.write(&mut first) {
        Ok(len) => len,
        Err(e) => panic!("parsed message does not re-encode: {e}"),
    };
    assert_eq!(len, first.len());
    assert_eq!(len, repr.encoded_len());
    let again = match Message::new_checked(&first[..]) {
        Ok(m) => m,
        Err(e) => panic!("re-encoded message does not parse: {e}"),
    };
    let repr2 = match MessageRepr::parse(&again) {
        Ok(r) => r,
        Err(e) => panic!("re-encoded attributes do not parse: {e}"),
    };
    assert_eq!(repr, repr2, "parse(write(parse(b))) != parse(b)");
    let mut second = Vec::new();
    let _ = repr2.write(&mut second);
    assert_eq!(first, second, "write(parse(b)) is not stable");
}
