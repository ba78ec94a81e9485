#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| oxrtc::fuzzing::media(data));
