//! Fuzz target: lmcp::fuzzing::http_request (see src/fuzzing.rs).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| lmcp::fuzzing::http_request(data));
