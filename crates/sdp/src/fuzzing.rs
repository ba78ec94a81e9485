//! Harness functions for the cargo-fuzz targets in `/fuzz` (feature `fuzzing`).

use crate::{Limits, SessionDescription};

/// Target `sdp`: parsing arbitrary bytes never panics; whatever parses writes text that
/// parses back to the same value, and writing that value again gives the same text.
///
/// # Panics
/// When an invariant breaks: that is the finding.
pub fn sdp(data: &[u8]) {
    let limits = Limits::default();
    let Ok(parsed) = SessionDescription::parse_bytes(data, &limits) else {
        return;
    };
    let written = parsed.to_string();
    let reparsed = match SessionDescription::parse_with(&written, &limits) {
        Ok(r) => r,
        Err(e) => panic!("written SDP does not parse: {e}\n{written}"),
    };
    assert_eq!(reparsed, parsed, "round trip changed the value\n{written}");
    assert_eq!(reparsed.to_string(), written, "second write differs");
    // Accessors must not panic either.
    for m in &parsed.media {
        let _ = m.codecs();
        let _ = parsed.effective_direction(m);
        let _ = parsed.effective_ice_credentials(m);
        let _ = parsed.effective_fingerprints(m);
    }
}
