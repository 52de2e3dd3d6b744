#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lianlog_fuzz::record_body(data));
