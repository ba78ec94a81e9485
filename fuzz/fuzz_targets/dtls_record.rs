#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| oxrtc_dtls::fuzzing::dtls_record(data));
