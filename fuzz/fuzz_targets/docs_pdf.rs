//! Fuzz target: lmcp::fuzzing::docs_pdf (see src/tools/docs/fuzz.rs).
//!
//! lmcp catches parser panics and reports them as tool errors (production
//! behaviour), so libFuzzer's abort-on-any-panic hook is replaced by a silent
//! one: a caught panic is not a finding; a panic that escapes (a broken
//! invariant in the entry point) still unwinds out of the target and aborts.
#![no_main]
libfuzzer_sys::fuzz_target!(
    init: std::panic::set_hook(Box::new(|_| {})),
    |data: &[u8]| lmcp::fuzzing::docs_pdf(data)
);
