//! Fuzz target: lmcp::fuzzing::jsonrpc (see src/fuzzing.rs).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| lmcp::fuzzing::jsonrpc(data));
