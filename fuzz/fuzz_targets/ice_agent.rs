#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| oxrtc_ice::fuzzing::ice_agent(data));
