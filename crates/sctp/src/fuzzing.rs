//! Harness functions for the cargo-fuzz targets in `/fuzz` (feature `fuzzing`).
//!
//! Each function asserts invariants, not only the absence of panics.

use crate::wire::Packet;
use bytes::Bytes;

/// `sctp_packet`: parse arbitrary bytes as an SCTP packet; when that succeeds, writing it
/// back and parsing again must give the same packet, and a second write the same bytes.
///
/// # Panics
/// When an invariant is broken (that is the point of a fuzz target).
pub fn sctp_packet(data: &[u8]) {
    let Ok(p) = Packet::parse(&Bytes::copy_from_slice(data)) else {
        return;
    };
    let mut w = Vec::new();
    p.write(&mut w, false);
    assert!(
        crate::wire::verify_checksum(&w),
        "written packet has a bad checksum"
    );
    assert_eq!(w.len(), p.encoded_len(), "encoded_len disagrees with write");
    let p2 = Packet::parse(&Bytes::from(w.clone())).expect("re-parse of written packet");
    let mut w2 = Vec::new();
    p2.write(&mut w2, false);
    assert_eq!(w, w2, "write(parse(write(p))) is not stable");
}
