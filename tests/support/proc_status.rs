//! Fields of `/proc/PID/status` (Linux), for the tests that watch a
//! server's memory. Part of `support`; `tests/faults.rs` (which uses the
//! `common` harness instead) includes this file alone with `#[path]`.

/// A field of `/proc/PID/status` given in KiB (`VmRSS`, `RssAnon`, ...),
/// named without its colon; 0 when the process or the field is missing.
pub fn status_kb(pid: u32, field: &str) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}
