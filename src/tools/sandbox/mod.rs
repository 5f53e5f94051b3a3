//! The shell sandbox (`--sandbox`): every process `shell` and `shell_bg`
//! start is confined by the kernel (Landlock) to the roots, the system
//! directories and a private temporary directory, optionally without TCP,
//! with `PR_SET_NO_NEW_PRIVS`, rlimits, Landlock's signal and
//! abstract-socket scoping, and (as root) a pids cgroup per command.
//!
//! lmcp has no `unsafe`, so it cannot run code between `fork` and `exec`.
//! Instead [`Sandbox::command`] starts a *helper*: the lmcp binary itself
//! (or an embedder's binary, [`SandboxConfig::helper`]) with the argument
//! [`HELPER_ARG`] and the policy. [`run_helper_if_requested`], called first
//! thing in `main`, sees that argument, confines its own process and execs
//! the real command, which inherits every restriction. Nothing of this runs
//! in the server process itself: without `--sandbox` no code here runs at
//! all, and with it the server only probes the kernel once at start-up.

mod helper;
mod policy;
#[cfg(test)]
mod tests;

pub use helper::run_helper_if_requested;
pub use policy::{Limits, Net, Policy, SandboxMode};

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use tokio::process::Command;

/// The first argument that makes the lmcp binary act as the sandbox helper.
pub const HELPER_ARG: &str = "__lmcp-sandbox-exec";

/// System directories readable and executable inside the sandbox, where
/// present. `/etc` is given without its secrets (see the helper).
pub const SYSTEM_READ_DIRS: &[&str] = &[
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/etc",
    "/opt",
    "/nix",
    "/gnu",
    "/snap",
    "/run/current-system",
    "/proc",
    "/sys/devices/system/cpu",
    "/var/lib/dpkg",
    "/var/cache/fontconfig",
];

/// Files of the user's home directory readable inside the sandbox, where
/// present: git's own configuration (git refuses to run when it exists but
/// cannot be read). Relative to `$HOME`; `.config/` stands for
/// `$XDG_CONFIG_HOME` when that is set. The rest of `$HOME` stays closed.
pub const HOME_READ_FILES: &[&str] = &[
    ".gitconfig",
    ".config/git/config",
    ".config/git/ignore",
    ".config/git/attributes",
];

/// The [`HOME_READ_FILES`] of this user that exist.
fn home_read_files() -> Vec<PathBuf> {
    let Some(home) = std::env::var_os("HOME").map(PathBuf::from) else {
        return Vec::new();
    };
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|d| d.is_absolute())
        .unwrap_or_else(|| home.join(".config"));
    HOME_READ_FILES
        .iter()
        .map(|f| match f.strip_prefix(".config/") {
            Some(rest) => config.join(rest),
            None => home.join(f),
        })
        .filter(|p| p.is_file())
        .collect()
}

/// Settings of the sandbox, from the command line or an embedder.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Enforce (refuse to start where the kernel cannot) or best effort.
    pub mode: SandboxMode,
    /// Extra directories readable and executable (`--sandbox-allow-read`).
    pub allow_read: Vec<PathBuf>,
    /// Extra directories writable (`--sandbox-allow-write`).
    pub allow_write: Vec<PathBuf>,
    /// Network policy (`--sandbox-net`).
    pub net: Net,
    /// Resource limits per command (`--sandbox-limits`).
    pub limits: Limits,
    /// The binary started as the helper; it must call
    /// [`run_helper_if_requested`] at the top of its `main`. The lmcp binary
    /// sets its own path (`std::env::current_exe`).
    pub helper: PathBuf,
    /// Where the private temporary directory is made (`$XDG_RUNTIME_DIR`,
    /// else the system temporary directory).
    pub runtime_dir: Option<PathBuf>,
}

/// Why the sandbox cannot be set up.
#[derive(Debug)]
pub enum SandboxError {
    /// The kernel lacks what the configuration asks to enforce.
    Unsupported(String),
    /// A directory or file could not be prepared.
    Io(String),
}

impl std::fmt::Display for SandboxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SandboxError::Unsupported(m) | SandboxError::Io(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for SandboxError {}

/// A sandbox ready to wrap commands; removes its temporary directory and
/// cgroup when dropped (at server exit).
#[derive(Debug)]
pub struct Sandbox {
    policy: Policy,
    helper: PathBuf,
    tmpdir: PathBuf,
    cgroup: Option<PathBuf>,
    abi: u8,
}

/// What the sandbox enforces, for `systeminfo` and the tool descriptions.
static REPORT: OnceLock<serde_json::Value> = OnceLock::new();

impl Sandbox {
    /// Check the kernel against `config` (and that the extra directories
    /// exist), make the private temporary directory and (as root) the pids
    /// cgroup. `roots` are the writable
    /// directories (the file tools' roots).
    pub fn new(config: SandboxConfig, roots: &[PathBuf]) -> Result<Arc<Sandbox>, SandboxError> {
        let abi = landlock_abi();
        let enforce = config.mode == SandboxMode::Enforce;
        if abi == 0 && enforce {
            return Err(SandboxError::Unsupported(
                "--sandbox: this kernel has no Landlock (Linux 5.13 or later, with landlock in \
                 the lsm= boot parameter or CONFIG_LSM), so commands cannot be confined; \
                 run without --sandbox, or with --sandbox best-effort to start unconfined and say so"
                    .into(),
            ));
        }
        if abi < 4 && enforce && config.net != Net::All {
            return Err(SandboxError::Unsupported(format!(
                "--sandbox-net {}: this kernel's Landlock (ABI {abi}) cannot restrict TCP \
                 (needs ABI 4, Linux 6.7); use --sandbox-net all, or --sandbox best-effort",
                config.net
            )));
        }
        if let Some(dir) = config
            .allow_read
            .iter()
            .chain(&config.allow_write)
            .find(|d| !d.exists())
        {
            return Err(SandboxError::Io(format!(
                "--sandbox-allow-*: {} does not exist",
                dir.display()
            )));
        }
        if abi == 0 {
            log::warn!(
                "--sandbox best-effort: this kernel has no Landlock; commands run unconfined"
            );
        }
        let base = config
            .runtime_dir
            .clone()
            .or_else(|| std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from))
            .filter(|d| d.is_dir())
            .unwrap_or_else(std::env::temp_dir);
        let tmpdir = make_private_dir(&base)?;
        let mut write: Vec<PathBuf> = roots.to_vec();
        write.extend(config.allow_write.iter().cloned());
        write.push(tmpdir.clone());
        let mut read: Vec<PathBuf> = SYSTEM_READ_DIRS
            .iter()
            .map(PathBuf::from)
            .filter(|p| p.exists())
            .collect();
        read.extend(home_read_files());
        read.extend(config.allow_read.iter().cloned());
        let cgroup = helper::pids_cgroup_create(std::process::id());
        let policy = Policy {
            best_effort: !enforce,
            read,
            write,
            net: config.net.clone(),
            limits: config.limits,
            cgroup: cgroup.clone(),
        };
        let sandbox = Sandbox {
            policy,
            helper: config.helper,
            tmpdir,
            cgroup,
            abi,
        };
        let _ = REPORT.set(sandbox.report());
        Ok(Arc::new(sandbox))
    }

    /// The Landlock ABI the kernel offers (0: none).
    pub fn abi(&self) -> u8 {
        self.abi
    }

    /// The private temporary directory (`TMPDIR` of every command).
    pub fn tmpdir(&self) -> &Path {
        &self.tmpdir
    }

    /// The writable directories (roots, `--sandbox-allow-write`, `TMPDIR`).
    pub fn writable(&self) -> &[PathBuf] {
        &self.policy.write
    }

    /// Whether the kernel enforces the file rules.
    pub fn enforced(&self) -> bool {
        self.abi > 0
    }

    /// A command that runs `program args…` in `cwd` inside the sandbox: the
    /// helper with the policy, then the command. Environment, stdio and
    /// process group set on the result apply to the command.
    pub fn command(&self, program: &str, args: &[&str], cwd: &Path) -> Command {
        let mut cmd = Command::new(&self.helper);
        cmd.arg(HELPER_ARG)
            .arg(self.policy.encode())
            .arg("--")
            .arg(program)
            .args(args)
            .current_dir(cwd)
            .env("TMPDIR", &self.tmpdir);
        cmd
    }

    /// One sentence for the tool descriptions: confined, and where it may write.
    pub fn describe(&self) -> String {
        if !self.enforced() {
            return " Sandbox requested but NOT enforced: this kernel has no Landlock.".into();
        }
        let dirs: Vec<String> = self
            .policy
            .write
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        let net = match &self.policy.net {
            Net::All => String::new(),
            Net::None => " No network (TCP connect and bind are refused).".into(),
            Net::Ports(p) => format!(" TCP connects only to ports {}.", Net::Ports(p.clone())),
        };
        format!(
            " Sandboxed by the kernel: the command may write only in {} (TMPDIR is the last), \
             read the system directories, and nothing else (other paths fail with EACCES / \
             permission denied; do not retry them).{net}",
            dirs.join(", ")
        )
    }

    /// What is enforced, as reported by `systeminfo`.
    pub fn report(&self) -> serde_json::Value {
        let l = &self.policy.limits;
        serde_json::json!({
            "enabled": true,
            "mode": if self.policy.best_effort { "best-effort" } else { "enforce" },
            "landlock_abi": self.abi,
            "files": self.abi >= 1,
            "net": self.policy.net.to_string(),
            "net_enforced": self.policy.net == Net::All || self.abi >= 4,
            "scoped_signals": self.abi >= 6,
            "no_new_privs": true,
            "writable": self.policy.write,
            "tmpdir": self.tmpdir,
            "limits": l.to_string(),
            "pids_cgroup": self.cgroup,
        })
    }
}

impl Sandbox {
    /// Remove the private temporary directory and the pids cgroup (at exit;
    /// also done on drop). Commands still running lose their `TMPDIR`.
    pub fn cleanup(&self) {
        if self.tmpdir.exists() {
            if let Err(e) = std::fs::remove_dir_all(&self.tmpdir) {
                log::debug!("cannot remove {}: {e}", self.tmpdir.display());
            }
        }
        if let Some(cg) = &self.cgroup {
            helper::pids_cgroup_remove(cg);
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.cleanup();
    }
}

/// The sandbox status `systeminfo` reports: the kernel's Landlock ABI, and
/// what lmcp enforces when `--sandbox` is on.
pub fn report() -> serde_json::Value {
    match REPORT.get() {
        Some(r) => r.clone(),
        None => serde_json::json!({"enabled": false, "landlock_abi": landlock_abi()}),
    }
}

/// The Landlock ABI version the running kernel offers (0: none), probed
/// once per process.
pub fn landlock_abi() -> u8 {
    static ABI_OFFERED: OnceLock<u8> = OnceLock::new();
    *ABI_OFFERED.get_or_init(probe_abi)
}

/// Probe the ABI by asking the crate for each version's features as hard
/// requirements.
fn probe_abi() -> u8 {
    use landlock::{
        Access, AccessFs, AccessNet, CompatLevel, Compatible, Ruleset, RulesetAttr, Scope, ABI,
    };
    let hard = || Ruleset::default().set_compatibility(CompatLevel::HardRequirement);
    let checks: [(u8, bool); 6] = [
        (6, hard().scope(Scope::from_all(ABI::V6)).is_ok()),
        (5, hard().handle_access(AccessFs::from_all(ABI::V5)).is_ok()),
        (
            4,
            hard().handle_access(AccessNet::from_all(ABI::V4)).is_ok(),
        ),
        (3, hard().handle_access(AccessFs::from_all(ABI::V3)).is_ok()),
        (2, hard().handle_access(AccessFs::from_all(ABI::V2)).is_ok()),
        (1, hard().handle_access(AccessFs::from_all(ABI::V1)).is_ok()),
    ];
    let best = checks.iter().find(|(_, ok)| *ok).map_or(0, |(v, _)| *v);
    if best == 6 && helper::restrict_flags_supported() {
        7
    } else {
        best
    }
}

/// Make `base/lmcp-sandbox-PID-RANDOM`, mode 0700.
fn make_private_dir(base: &Path) -> Result<PathBuf, SandboxError> {
    use std::os::unix::fs::DirBuilderExt;
    let mut rnd = [0u8; 6];
    getrandom::fill(&mut rnd).map_err(|e| SandboxError::Io(format!("getrandom: {e}")))?;
    let tag: String = rnd.iter().map(|b| format!("{b:02x}")).collect();
    let dir = base.join(format!("lmcp-sandbox-{}-{tag}", std::process::id()));
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .map_err(|e| {
            SandboxError::Io(format!(
                "--sandbox: cannot create the private temporary directory {}: {e}; \
                 set XDG_RUNTIME_DIR to a writable directory",
                dir.display()
            ))
        })?;
    Ok(dir)
}
