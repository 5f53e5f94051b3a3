//! What `shell` and the background jobs (`shell_bg*`) share: spawning a
//! command as the leader of its own process group ([`exec`]), ending that
//! group and the processes that left it ([`exec`], [`tree`]), capturing its
//! output within fixed bounds ([`output`]), and their configuration
//! ([`ShellConfig`]). Neither tool family imports the other for these.

mod config;
pub mod exec;
pub mod output;
pub mod tree;

pub use config::{default_cwd, CwdResolver, OnTimeout, ShellConfig};
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

/// The exit code and signal name of `status`.
pub fn describe_status(status: Option<ExitStatus>) -> (Option<i32>, Option<String>) {
    match status {
        Some(s) => (s.code(), s.signal().map(signal_name)),
        None => (None, None),
    }
}

/// `SIGTERM` for 15, `signal 99` for unknown numbers.
pub fn signal_name(sig: i32) -> String {
    nix::sys::signal::Signal::try_from(sig)
        .map(|s| s.as_str().to_owned())
        .unwrap_or_else(|_| format!("signal {sig}"))
}
