#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| oxrtc_rtp::fuzzing::telephone_event(data));
