#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| oxrtc_sctp::fuzzing::sctp_packet(data));
