//! Whether a job is blocked reading its stdin (`waiting_for_input` of
//! `shell_bg_list`), from Linux `/proc`: a live process of the job's group
//! sleeping in `read`/`readv`/`pread64` on a descriptor that is the job's
//! stdin pipe. It cannot see a process waiting in `poll`, `select` or
//! `epoll` (Node's REPL, many TUIs), nor one whose `/proc/PID/syscall` the
//! server may not read (another user, a hardened `ptrace_scope`): those
//! show `false`.

use nix::libc;

/// What identifies a pipe in `/proc/*/fd` links (`pipe:[INODE]`), for the
/// descriptor `fd` of this process.
pub(crate) fn pipe_id(fd: i32) -> Option<String> {
    let link = std::fs::read_link(format!("/proc/self/fd/{fd}")).ok()?;
    let s = link.to_string_lossy().into_owned();
    s.starts_with("pipe:").then_some(s)
}

/// Whether the syscall line of `/proc/PID/syscall` is a read of a descriptor;
/// the descriptor.
fn reading_fd(syscall_line: &str) -> Option<i64> {
    let mut f = syscall_line.split_whitespace();
    let nr: libc::c_long = f.next()?.parse().ok()?;
    let reads = [libc::SYS_read, libc::SYS_readv, libc::SYS_pread64];
    if !reads.contains(&nr) {
        return None;
    }
    let fd = f.next()?.strip_prefix("0x")?;
    i64::from_str_radix(fd, 16).ok()
}

/// Whether a live process of group `pgid` is blocked reading the pipe `pipe`.
pub(crate) fn group_reads(pgid: i32, pipe: &str) -> bool {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return false;
    };
    dir.flatten().any(|entry| {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            return false;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            return false;
        };
        // Fields after the parenthesised command: state ppid pgrp ...
        let f: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, r)| r.split_whitespace().take(3).collect())
            .unwrap_or_default();
        if f.len() < 3 || f[0] != "S" || f[2].parse() != Ok(pgid) {
            return false;
        }
        let Some(fd) = std::fs::read_to_string(format!("/proc/{pid}/syscall"))
            .ok()
            .and_then(|l| reading_fd(&l))
        else {
            return false;
        };
        std::fs::read_link(format!("/proc/{pid}/fd/{fd}"))
            .is_ok_and(|l| l.to_string_lossy() == pipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syscall_lines() {
        let read = format!(
            "{} 0x0 0x7ffd 0x1000 0x0 0x0 0x0 0x7ffd 0x7f00",
            libc::SYS_read
        );
        assert_eq!(reading_fd(&read), Some(0));
        let readv = format!(
            "{} 0x5 0x7ffd 0x1 0x0 0x0 0x0 0x7ffd 0x7f00",
            libc::SYS_readv
        );
        assert_eq!(reading_fd(&readv), Some(5));
        assert_eq!(reading_fd("running"), None);
        let write = format!(
            "{} 0x1 0x7ffd 0x1 0x0 0x0 0x0 0x7ffd 0x7f00",
            libc::SYS_write
        );
        assert_eq!(reading_fd(&write), None);
    }
}
