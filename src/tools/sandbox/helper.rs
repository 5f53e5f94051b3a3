//! The sandbox helper: the process between lmcp and a sandboxed command.
//! It joins a pids cgroup (where lmcp could make one), sets rlimits,
//! `PR_SET_NO_NEW_PRIVS` and the Landlock ruleset on itself, then execs the
//! command, which keeps all of it (and so do its children). Any failure
//! ends the helper with status 126 and a message on stderr: the command
//! never runs unconfined when the policy asks for enforcement.

use super::policy::{Limits, Net, Policy};
use super::HELPER_ARG;
use landlock::{
    Access, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, NetPort, PathBeneath, PathFd,
    RestrictSelfAttr, Ruleset, RulesetAttr, RulesetCreated, RulesetCreatedAttr, RulesetStatus,
    Scope, ABI,
};
use nix::sys::resource::{getrlimit, setrlimit, Resource};
use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The fs access rights lmcp asks for (ABI 5: up to device ioctls).
const FS_ABI: ABI = ABI::V5;

/// `/etc` entries never readable inside the sandbox.
const ETC_SECRETS: &[&str] = &[
    "shadow",
    "shadow-",
    "gshadow",
    "gshadow-",
    "sudoers",
    "sudoers.d",
    "lmcp",
    "security",
    "ssl/private",
    "credstore",
    "credstore.encrypted",
    "wireguard",
    "NetworkManager/system-connections",
];

/// If this process was started as the sandbox helper (first argument
/// [`HELPER_ARG`]), confine it and exec the command; returns only on
/// failure, with the exit status to end with. Returns `None` at once
/// otherwise. Call it first thing in `main`, before threads exist.
pub fn run_helper_if_requested() -> Option<ExitCode> {
    let mut args = std::env::args_os().skip(1);
    if args.next()? != HELPER_ARG {
        return None;
    }
    let rest: Vec<OsString> = args.collect();
    Some(match run(rest) {
        Ok(never) => match never {},
        Err((code, msg)) => {
            eprintln!("lmcp sandbox: {msg}");
            ExitCode::from(code)
        }
    })
}

fn run(args: Vec<OsString>) -> Result<std::convert::Infallible, (u8, String)> {
    let fail = |m: String| (126u8, m);
    let [policy, sep, program, cmd_args @ ..] = args.as_slice() else {
        return Err(fail(
            "usage: lmcp __lmcp-sandbox-exec POLICY -- PROGRAM [ARGS]".into(),
        ));
    };
    if sep != "--" {
        return Err(fail("expected -- after the policy".into()));
    }
    let policy = Policy::decode(&policy.to_string_lossy()).map_err(fail)?;
    let in_cgroup = match &policy.cgroup {
        Some(cg) => join_pids_cgroup(cg, policy.limits.processes),
        None => false,
    };
    set_limits(&policy.limits, in_cgroup).map_err(fail)?;
    apply_landlock(&policy).map_err(fail)?;
    let err = std::process::Command::new(program).args(cmd_args).exec();
    let code = if err.kind() == std::io::ErrorKind::NotFound {
        127
    } else {
        126
    };
    Err((
        code,
        format!("cannot run {}: {err}", program.to_string_lossy()),
    ))
}

fn set_limits(l: &Limits, in_cgroup: bool) -> Result<(), String> {
    let set = |res: Resource, v: Option<u64>| -> Result<(), String> {
        let Some(v) = v else { return Ok(()) };
        let (_, hard) = getrlimit(res).map_err(|e| format!("getrlimit {res:?}: {e}"))?;
        let v = v.min(hard);
        setrlimit(res, v, v).map_err(|e| format!("setrlimit {res:?} to {v}: {e}"))
    };
    set(Resource::RLIMIT_AS, l.address_space)?;
    set(Resource::RLIMIT_NOFILE, l.open_files)?;
    set(Resource::RLIMIT_CPU, l.cpu_seconds)?;
    set(Resource::RLIMIT_FSIZE, l.file_size)?;
    set(Resource::RLIMIT_CORE, Some(0))?;
    if !in_cgroup {
        // RLIMIT_NPROC counts every process of the user, so allow this many
        // more than the user runs now. (It does not bind root: see the
        // pids cgroup.)
        let extra = l.processes.map(|n| n + user_process_count());
        set(Resource::RLIMIT_NPROC, extra)?;
    }
    Ok(())
}

fn user_process_count() -> u64 {
    let uid = nix::unistd::getuid().as_raw().to_string();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        })
        .filter(|e| {
            std::fs::read_to_string(e.path().join("status")).is_ok_and(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("Uid:"))
                    .and_then(|l| l.split_whitespace().next())
                    == Some(uid.as_str())
            })
        })
        .count() as u64
}

/// The pids cgroup hierarchy lmcp's own cgroup sits in, if writable:
/// cgroup v1's `pids` controller, or a v2 group that already delegates
/// `pids` to its children. Made at server start; `None` where not possible
/// (then processes are bounded by `RLIMIT_NPROC` only, which root ignores).
pub(super) fn pids_cgroup_create(server_pid: u32) -> Option<PathBuf> {
    let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let mut candidates = Vec::new();
    for line in own.lines() {
        let mut f = line.splitn(3, ':');
        let (_, ctrl, path) = (f.next()?, f.next()?, f.next()?);
        let path = path.trim_start_matches('/');
        if ctrl.split(',').any(|c| c == "pids") {
            candidates.push(Path::new("/sys/fs/cgroup/pids").join(path));
        } else if ctrl.is_empty() {
            for base in ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"] {
                let dir = Path::new(base).join(path);
                let delegated = std::fs::read_to_string(dir.join("cgroup.subtree_control"))
                    .is_ok_and(|s| s.split_whitespace().any(|c| c == "pids"));
                if delegated {
                    candidates.push(dir);
                }
            }
        }
    }
    for parent in candidates {
        let dir = parent.join(format!("lmcp-{server_pid}"));
        if std::fs::create_dir(&dir).is_ok() {
            if dir.join("pids.max").exists() {
                // v2: the per-command groups below need the controller too.
                let _ = std::fs::write(dir.join("cgroup.subtree_control"), "+pids");
                return Some(dir);
            }
            let _ = std::fs::remove_dir(&dir);
        }
    }
    None
}

/// Remove the server's pids cgroup and the per-command groups left in it
/// (only empty groups can be removed; the kernel refuses the others).
pub(super) fn pids_cgroup_remove(dir: &Path) {
    remove_empty_children(dir);
    let _ = std::fs::remove_dir(dir);
}

fn remove_empty_children(dir: &Path) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                let _ = std::fs::remove_dir(e.path());
            }
        }
    }
}

/// Make `cg/cmd-PID` with `pids.max` and move this process into it.
fn join_pids_cgroup(cg: &Path, max: Option<u64>) -> bool {
    // Groups of commands that ended are empty: remove them as we go.
    remove_empty_children(cg);
    let Some(max) = max else { return false };
    let dir = cg.join(format!("cmd-{}", std::process::id()));
    std::fs::create_dir(&dir).is_ok()
        && std::fs::write(dir.join("pids.max"), max.to_string()).is_ok()
        && std::fs::write(dir.join("cgroup.procs"), std::process::id().to_string()).is_ok()
}

/// Whether the kernel takes Landlock's `restrict_self` flags (ABI 7).
pub(super) fn restrict_flags_supported() -> bool {
    Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(AccessFs::from_all(ABI::V1))
        .and_then(Ruleset::create)
        .and_then(|c| c.log_subdomains(false))
        .is_ok()
}

fn add(
    ruleset: RulesetCreated,
    path: &Path,
    access: BitFlags<AccessFs>,
) -> Result<RulesetCreated, String> {
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(ruleset); // absent: nothing to allow
    };
    let access = if meta.is_dir() {
        access
    } else {
        access & AccessFs::from_file(FS_ABI)
    };
    let Ok(fd) = PathFd::new(path) else {
        return Ok(ruleset);
    };
    ruleset
        .add_rule(PathBeneath::new(fd, access))
        .map_err(|e| format!("cannot allow {}: {e}", path.display()))
}

/// `/etc`'s entries less its secrets (Landlock rules only allow, so the
/// directory is allowed entry by entry).
fn etc_entries(etc: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut walk = vec![(etc.to_path_buf(), String::new())];
    while let Some((dir, rel)) = walk.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let rel = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            if ETC_SECRETS.contains(&rel.as_str())
                || (rel.starts_with("ssh/") && name.ends_with("_key"))
            {
                continue;
            }
            let holds_secret = ETC_SECRETS
                .iter()
                .any(|s| s.starts_with(&format!("{rel}/")))
                || rel == "ssh";
            if holds_secret && e.file_type().is_ok_and(|t| t.is_dir()) {
                walk.push((e.path(), rel));
            } else {
                out.push(e.path());
            }
        }
    }
    out
}

fn apply_landlock(p: &Policy) -> Result<(), String> {
    let level = if p.best_effort {
        CompatLevel::BestEffort
    } else {
        CompatLevel::SoftRequirement
    };
    let read = AccessFs::from_read(FS_ABI);
    let all = AccessFs::from_all(FS_ABI);
    let dev = AccessFs::from_file(FS_ABI) | AccessFs::ReadDir;
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(all)
        .map_err(|e| e.to_string())?;
    if p.net != Net::All {
        ruleset = ruleset
            .set_compatibility(level)
            .handle_access(AccessNet::from_all(ABI::V4))
            .map_err(|e| format!("network rules: {e}"))?;
    }
    ruleset = ruleset
        .set_compatibility(CompatLevel::BestEffort)
        .scope(Scope::from_all(ABI::V6))
        .map_err(|e| e.to_string())?;
    let mut rs = ruleset.create().map_err(|e| e.to_string())?;
    for dir in &p.read {
        if dir == Path::new("/etc") {
            for entry in etc_entries(dir) {
                rs = add(rs, &entry, read)?;
            }
        } else {
            rs = add(rs, dir, read)?;
        }
    }
    for dir in &p.write {
        rs = add(rs, dir, all)?;
    }
    for d in [
        "/dev/null",
        "/dev/zero",
        "/dev/full",
        "/dev/random",
        "/dev/urandom",
        "/dev/tty",
        "/dev/ptmx",
        "/dev/pts",
    ] {
        rs = add(rs, Path::new(d), dev)?;
    }
    if let Net::Ports(ports) = &p.net {
        for port in ports {
            rs = rs
                .add_rule(NetPort::new(*port, AccessNet::ConnectTcp))
                .map_err(|e| format!("port {port}: {e}"))?;
        }
    }
    let status = rs
        .no_new_privs(true)
        .restrict_self()
        .map_err(|e| format!("cannot enforce the Landlock ruleset: {e}"))?;
    if !p.best_effort && status.ruleset == RulesetStatus::NotEnforced {
        return Err(
            "the kernel did not enforce the Landlock ruleset; refusing to run the \
                    command unconfined (use --sandbox best-effort to allow it)"
                .into(),
        );
    }
    if !status.no_new_privs {
        nix::sys::prctl::set_no_new_privs().map_err(|e| format!("PR_SET_NO_NEW_PRIVS: {e}"))?;
    }
    Ok(())
}
