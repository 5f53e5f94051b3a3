//! Fuzz target: lmcp::fuzzing::docs_office (see src/tools/docs/fuzz.rs).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| lmcp::fuzzing::docs_office(data));
