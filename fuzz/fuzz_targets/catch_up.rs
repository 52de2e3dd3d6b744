#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lianlog_fuzz::catch_up(data));
