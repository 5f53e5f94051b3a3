//! Processes that left their command's process group (`setsid`, `setpgid`)
//! and would otherwise outlive it, and lmcp.
//!
//! Every command is started with an environment variable ([`TAG_VAR`])
//! holding a tag unique to the command (`<lmcp pid>.<counter>`). Children
//! inherit it whatever group or session they move to, so ending a command
//! also finds its escaped descendants by reading `/proc/PID/environ` (our
//! own user's processes only), and at exit [`kill_all`] ends every process
//! any command of this lmcp left behind. A process that replaces its
//! environment (`env -i`, `execve` with a new one) is not found this way;
//! the sandbox's pids cgroup contains those.

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::sync::atomic::{AtomicU64, Ordering};

/// The environment variable carrying a command's tag.
pub const TAG_VAR: &str = "LMCP_PROCESS_TAG";

/// Most passes over `/proc` one sweep makes (a process may fork while a
/// pass runs; its child is found by the next one).
const MAX_PASSES: usize = 8;

/// A tag for a new command: this process's pid and a counter.
pub fn new_tag() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!(
        "{}.{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// What a sweep matches: one command's tag, or every tag of this process.
#[derive(Debug, Clone, Copy)]
pub enum Which<'a> {
    /// The processes of one command.
    Command(&'a str),
    /// The processes of every command this lmcp started.
    All,
}

impl Which<'_> {
    fn matches(&self, tag: &[u8]) -> bool {
        match self {
            Which::Command(t) => tag == t.as_bytes(),
            Which::All => {
                let prefix = format!("{}.", std::process::id());
                tag.starts_with(prefix.as_bytes())
            }
        }
    }
}

/// The tag in a process's environment, if any.
fn tag_of(pid: i32) -> Option<Vec<u8>> {
    let env = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    let key = format!("{TAG_VAR}=");
    env.split(|b| *b == 0)
        .find_map(|kv| kv.strip_prefix(key.as_bytes()))
        .map(<[u8]>::to_vec)
}

/// Pids of running processes (other than lmcp and `spare`) whose tag
/// `which` matches.
fn tagged(which: Which<'_>, spare: Option<i32>) -> Vec<i32> {
    let me = std::process::id() as i32;
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| pid != me && Some(pid) != spare)
        .filter(|&pid| tag_of(pid).is_some_and(|t| which.matches(&t)))
        .collect()
}

/// SIGKILL every process `which` matches, except `spare` (a leader that
/// tokio owns and reaps); returns the pids killed. Killed processes that
/// were reparented to lmcp (as subreaper) are reaped; no other child is.
pub fn kill_tagged(which: Which<'_>, spare: Option<i32>) -> Vec<i32> {
    let mut killed = Vec::new();
    for _ in 0..MAX_PASSES {
        let found = tagged(which, spare);
        let fresh: Vec<i32> = found.into_iter().filter(|p| !killed.contains(p)).collect();
        if fresh.is_empty() {
            break;
        }
        for &pid in &fresh {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        killed.extend(fresh);
    }
    killed
}

/// Whether `pid` is gone or a zombie.
pub fn is_dead(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, r)| r.split_whitespace().next())
            .is_none_or(|state| state == "Z" || state == "X"),
        Err(_) => true,
    }
}

/// The parent pid of `pid`, if it still exists.
fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Reap those of `pids` that are zombies reparented to lmcp. Only pids
/// lmcp killed as escapees are passed here: never a child tokio owns.
pub fn reap(pids: &[i32]) {
    let me = std::process::id() as i32;
    for &pid in pids {
        if parent_of(pid) == Some(me) && is_dead(pid) {
            let _ = nix::sys::wait::waitpid(
                Pid::from_raw(pid),
                Some(nix::sys::wait::WaitPidFlag::WNOHANG),
            );
        }
    }
}

/// End every process that a command of this lmcp left behind (at exit).
/// Returns how many were killed.
pub fn kill_all() -> usize {
    let killed = kill_tagged(Which::All, None);
    reap(&killed);
    if !killed.is_empty() {
        log::info!(
            "ended {} processes that commands left behind outside their process groups",
            killed.len()
        );
    }
    killed.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_unique_and_carry_the_pid() {
        let (a, b) = (new_tag(), new_tag());
        assert_ne!(a, b);
        let me = format!("{}.", std::process::id());
        assert!(a.starts_with(&me) && b.starts_with(&me));
        assert!(Which::All.matches(a.as_bytes()));
        assert!(Which::Command(&a).matches(a.as_bytes()));
        assert!(!Which::Command(&a).matches(b.as_bytes()));
    }
}
