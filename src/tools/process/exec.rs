//! Spawning a command in its own process group, reading its pipes, and
//! ending the whole group (SIGTERM, a grace period, then SIGKILL) on
//! timeout, cancellation or shutdown.
//!
//! A [`ProcessGroup`] that is dropped before its group was ended (the request
//! future was dropped by a cancellation) sends SIGTERM at once and spawns the
//! escalation to SIGKILL, so no process of the call outlives it even though
//! the future that owned it is gone. Processes that left the group (with
//! `setsid`) are found by the command's tag ([`super::tree`]) and killed
//! with it.

use super::tree;
use nix::errno::Errno;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use std::io;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command};
use tokio::time::{sleep, timeout, Instant};

static SUBREAPER: AtomicBool = AtomicBool::new(false);

/// Make this process the reaper of orphaned descendants (Linux
/// `PR_SET_CHILD_SUBREAPER`), so that grandchildren killed with their
/// process group are reaped by lmcp instead of lingering as zombies when
/// PID 1 does not reap (common in containers). Call once at start-up.
#[cfg_attr(not(feature = "cli"), allow(dead_code))]
pub fn become_subreaper() -> io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        nix::sys::prctl::set_child_subreaper(true).map_err(io::Error::from)?;
        SUBREAPER.store(true, Ordering::Relaxed);
    }
    Ok(())
}

/// Which pipe a chunk of output came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// Send `sig` (or probe, with `None`) to the group; `true` if the group
/// still has members.
pub fn signal_group(pgid: Pid, sig: Option<Signal>) -> bool {
    match killpg(pgid, sig) {
        Ok(()) | Err(Errno::EPERM) => true,
        Err(Errno::ESRCH) => false,
        Err(e) => {
            log::debug!("killpg({pgid}, {sig:?}): {e}");
            false
        }
    }
}

/// A child process leading its own process group.
#[derive(Debug)]
pub struct ProcessGroup {
    child: Option<Child>,
    pgid: Pid,
    grace: Duration,
    tag: String,
}

impl ProcessGroup {
    /// Spawn `cmd` as the leader of a new process group. The caller sets up
    /// stdio; `grace` is the time between SIGTERM and SIGKILL.
    pub fn spawn(cmd: &mut Command, grace: Duration) -> io::Result<Self> {
        let tag = tree::new_tag();
        cmd.process_group(0)
            .kill_on_drop(false)
            .env(tree::TAG_VAR, &tag);
        let child = cmd.spawn()?;
        let pid = child
            .id()
            .ok_or_else(|| io::Error::other("the child exited before its pid was read"))?;
        let pid = i32::try_from(pid).map_err(|_| io::Error::other("pid out of range"))?;
        Ok(ProcessGroup {
            child: Some(child),
            pgid: Pid::from_raw(pid),
            grace,
            tag,
        })
    }

    /// The process group id (the leader's pid).
    pub fn pgid(&self) -> Pid {
        self.pgid
    }

    /// The leader's pipes, to be taken once after spawning.
    pub fn take_pipes(&mut self) -> (Option<ChildStdin>, Pipes) {
        match self.child.as_mut() {
            Some(c) => (c.stdin.take(), Pipes::new(c.stdout.take(), c.stderr.take())),
            None => (None, Pipes::new(None, None)),
        }
    }

    /// Wait for the leader to exit (cancel-safe). Other members of the group
    /// may still run: end them with [`ProcessGroup::terminate`].
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        match self.child.as_mut() {
            Some(c) => c.wait().await,
            None => std::future::pending().await,
        }
    }

    /// End the whole group: SIGTERM, wait up to the grace period for every
    /// member to go, then SIGKILL. Reaps the leader and returns its status.
    /// If this future is dropped midway, the drop of `self` finishes the job.
    pub async fn terminate(&mut self) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        let status = end_group(self.pgid, child, self.grace, true, &self.tag).await;
        self.child = None;
        status
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pgid = self.pgid;
        let grace = self.grace;
        let tag = std::mem::take(&mut self.tag);
        signal_group(pgid, Some(Signal::SIGTERM));
        let last_resort = KillOnDrop(pgid, tag.clone());
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn(async move {
                    end_group(pgid, &mut child, grace, false, &tag).await;
                    std::mem::forget(last_resort);
                });
            }
            Err(_) => drop(last_resort),
        }
    }
}

/// SIGKILLs the group and the processes that left it when dropped: the
/// escalation's last resort if the runtime shuts down before the grace
/// period is over.
struct KillOnDrop(Pid, String);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        signal_group(self.0, Some(Signal::SIGKILL));
        let killed = tree::kill_tagged(tree::Which::Command(&self.1), Some(self.0.as_raw()));
        tree::reap(&killed);
    }
}

/// End the group (see [`end_members`]), then the processes of the command
/// that left it: SIGKILL, waiting briefly for them to die and reaping
/// those reparented to lmcp.
async fn end_group(
    pgid: Pid,
    child: &mut Child,
    grace: Duration,
    send_term: bool,
    tag: &str,
) -> Option<ExitStatus> {
    let status = end_members(pgid, child, grace, send_term).await;
    // The scan reads /proc/PID/environ of every process (about 1 ms per
    // hundred): on the blocking pool, so the serving thread never waits on it.
    let (tag, spare) = (tag.to_owned(), pgid.as_raw());
    let killed = tokio::task::spawn_blocking(move || {
        tree::kill_tagged(tree::Which::Command(&tag), Some(spare))
    })
    .await
    .unwrap_or_default();
    if !killed.is_empty() {
        log::debug!(
            "killed {} processes that had left process group {pgid}",
            killed.len()
        );
        for _ in 0..40 {
            tree::reap(&killed);
            if killed.iter().all(|&p| tree::is_dead(p)) {
                break;
            }
            sleep(Duration::from_millis(5)).await;
        }
        tree::reap(&killed);
    }
    status
}

async fn end_members(
    pgid: Pid,
    child: &mut Child,
    grace: Duration,
    send_term: bool,
) -> Option<ExitStatus> {
    if send_term {
        signal_group(pgid, Some(Signal::SIGTERM));
    }
    let deadline = Instant::now() + grace;
    let mut status = None;
    let mut pause = Duration::from_millis(1);
    loop {
        if status.is_none() {
            status = child.try_wait().ok().flatten();
        }
        if status.is_some() {
            reap_group_orphans(pgid);
            if !signal_group(pgid, None) {
                return status;
            }
        }
        if Instant::now() >= deadline {
            break;
        }
        sleep(pause.min(deadline.saturating_duration_since(Instant::now()))).await;
        pause = (pause * 2).min(Duration::from_millis(25));
    }
    signal_group(pgid, Some(Signal::SIGKILL));
    if status.is_none() {
        status = child.wait().await.ok();
    }
    // Killed members are gone at once; give orphans reparented to us a
    // moment to become reapable.
    for _ in 0..20 {
        reap_group_orphans(pgid);
        if !signal_group(pgid, None) {
            break;
        }
        sleep(Duration::from_millis(5)).await;
    }
    status
}

/// With [`become_subreaper`] on, reap zombie members of `pgid` that were
/// reparented to this process. Only pids of that group are waited for, so
/// children owned by tokio or other code are never touched.
fn reap_group_orphans(pgid: Pid) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        if !SUBREAPER.load(Ordering::Relaxed) {
            return;
        }
        let me = std::process::id() as i32;
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return;
        };
        for entry in dir.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<i32>().ok())
            else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            // Fields after the parenthesised command: state ppid pgrp ...
            let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
                continue;
            };
            let f: Vec<&str> = rest.split_whitespace().take(3).collect();
            if f.len() == 3
                && f[0] == "Z"
                && f[1].parse() == Ok(me)
                && f[2].parse() == Ok(pgid.as_raw())
                && pid != pgid.as_raw()
            {
                let _ = nix::sys::wait::waitpid(
                    Pid::from_raw(pid),
                    Some(nix::sys::wait::WaitPidFlag::WNOHANG),
                );
            }
        }
    }
}

/// The stdout and stderr pipes of a child, read together.
#[derive(Debug)]
pub struct Pipes {
    stdout: Option<ChildStdout>,
    stderr: Option<ChildStderr>,
    obuf: Box<[u8]>,
    ebuf: Box<[u8]>,
}

const READ_CHUNK: usize = 16 * 1024;

async fn read_some<R: AsyncRead + Unpin>(r: &mut Option<R>, buf: &mut [u8]) -> io::Result<usize> {
    match r {
        Some(r) => r.read(buf).await,
        None => std::future::pending().await,
    }
}

impl Pipes {
    fn new(stdout: Option<ChildStdout>, stderr: Option<ChildStderr>) -> Self {
        Pipes {
            stdout,
            stderr,
            obuf: vec![0; READ_CHUNK].into_boxed_slice(),
            ebuf: vec![0; READ_CHUNK].into_boxed_slice(),
        }
    }

    /// Whether both pipes reached end of file.
    pub fn is_done(&self) -> bool {
        self.stdout.is_none() && self.stderr.is_none()
    }

    /// The next chunk from either pipe; `None` once both are closed.
    /// Cancel-safe: no data is lost if the future is dropped.
    pub async fn next(&mut self) -> Option<(Stream, Vec<u8>)> {
        loop {
            if self.is_done() {
                return None;
            }
            tokio::select! {
                r = read_some(&mut self.stdout, &mut self.obuf) => match r {
                    Ok(n) if n > 0 => return Some((Stream::Stdout, self.obuf[..n].to_vec())),
                    _ => self.stdout = None,
                },
                r = read_some(&mut self.stderr, &mut self.ebuf) => match r {
                    Ok(n) if n > 0 => return Some((Stream::Stderr, self.ebuf[..n].to_vec())),
                    _ => self.stderr = None,
                },
            }
        }
    }

    /// Read what is left, for at most `within`, handing each chunk to `sink`.
    pub async fn drain(&mut self, within: Duration, mut sink: impl FnMut(Stream, &[u8])) {
        let _ = timeout(within, async {
            while let Some((s, data)) = self.next().await {
                sink(s, &data);
            }
        })
        .await;
    }
}
