//! Fuzz target: lmcp::fuzzing::dispatch (see src/fuzzing.rs).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| lmcp::fuzzing::dispatch(data));
