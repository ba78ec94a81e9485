#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| oxrtc_cli::fuzzing::http_message(data));
