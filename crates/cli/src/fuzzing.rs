//! Harness functions for the cargo-fuzz targets (feature `fuzzing`).

use crate::http::{decode_chunked, encode_chunked, RequestHead, ResponseHead};

/// Parses `data` as a request head, a response head and a chunked body; whatever parses
/// must survive a write/parse round trip unchanged.
pub fn http_message(data: &[u8]) {
    if let Ok(Some((head, used))) = RequestHead::parse(data) {
        assert!(used <= data.len());
        let mut out = Vec::new();
        head.write(&mut out);
        let (back, n) = RequestHead::parse(&out)
            .ok()
            .flatten()
            .expect("a written request head parses");
        assert_eq!(n, out.len());
        assert_eq!(back, head);
    }
    if let Ok(Some((head, used))) = ResponseHead::parse(data) {
        assert!(used <= data.len());
        let mut out = Vec::new();
        head.write(&mut out);
        let (back, _) = ResponseHead::parse(&out)
            .ok()
            .flatten()
            .expect("a written response head parses");
        assert_eq!(back, head);
    }
    if let Ok(Some((body, used))) = decode_chunked(data) {
        assert!(used <= data.len());
        assert!(body.len() <= used);
        let enc = encode_chunked(&body, 1000);
        let (again, _) = decode_chunked(&enc)
            .ok()
            .flatten()
            .expect("an encoded chunked body decodes");
        assert_eq!(again, body);
    }
}
