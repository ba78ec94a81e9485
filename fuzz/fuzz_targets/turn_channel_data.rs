#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| oxrtc_turn::fuzzing::turn_channel_data(data));
