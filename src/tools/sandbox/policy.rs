//! The sandbox's settings (mode, network, limits) as parsed from the
//! command line, and the policy handed to the helper on its command line.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// Whether the sandbox must be enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SandboxMode {
    /// Refuse to start where the kernel cannot enforce what is asked.
    #[default]
    Enforce,
    /// Start anyway, confining what the kernel allows, and say so.
    BestEffort,
}

impl FromStr for SandboxMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "" | "on" | "enforce" => Ok(SandboxMode::Enforce),
            "best-effort" => Ok(SandboxMode::BestEffort),
            _ => Err(format!(
                "{s:?}: give --sandbox alone (enforce) or --sandbox best-effort"
            )),
        }
    }
}

/// The network policy of sandboxed commands (TCP; Landlock ABI 4).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Net {
    /// No network restriction.
    #[default]
    All,
    /// No TCP connect or bind.
    None,
    /// TCP connects to these ports only; no bind.
    Ports(Vec<u16>),
}

impl FromStr for Net {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "all" => Ok(Net::All),
            "none" => Ok(Net::None),
            list => {
                let mut ports = Vec::new();
                for p in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    ports.push(p.parse::<u16>().map_err(|_| {
                        format!("{p:?} is not a TCP port; give all, none or ports like 443,8080")
                    })?);
                }
                if ports.is_empty() {
                    return Err("give all, none or a list of TCP ports like 443,8080".into());
                }
                Ok(Net::Ports(ports))
            }
        }
    }
}

impl fmt::Display for Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Net::All => f.write_str("all"),
            Net::None => f.write_str("none"),
            Net::Ports(p) => {
                let s: Vec<String> = p.iter().map(u16::to_string).collect();
                f.write_str(&s.join(","))
            }
        }
    }
}

/// Resource limits per sandboxed command (`None`: unlimited).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Address space in bytes (`RLIMIT_AS`).
    pub address_space: Option<u64>,
    /// Processes: a pids cgroup per command where lmcp may make one (root),
    /// else `RLIMIT_NPROC` set to this many above the user's current count.
    pub processes: Option<u64>,
    /// Open files (`RLIMIT_NOFILE`).
    pub open_files: Option<u64>,
    /// CPU seconds (`RLIMIT_CPU`).
    pub cpu_seconds: Option<u64>,
    /// Largest file written, in bytes (`RLIMIT_FSIZE`).
    pub file_size: Option<u64>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            address_space: Some(16 << 30),
            processes: Some(512),
            open_files: Some(4096),
            cpu_seconds: None,
            file_size: Some(8 << 30),
        }
    }
}

fn parse_amount(v: &str, bytes: bool) -> Result<Option<u64>, String> {
    if matches!(v, "unlimited" | "none" | "0") {
        return Ok(None);
    }
    let (num, mul) = match v.char_indices().last() {
        Some((i, c)) if bytes && c.is_ascii_alphabetic() => {
            let mul: u64 = match c.to_ascii_uppercase() {
                'K' => 1 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                _ => return Err(format!("{v:?}: use a K, M, G or T suffix")),
            };
            (&v[..i], mul)
        }
        _ => (v, 1),
    };
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mul))
        .map(Some)
        .ok_or_else(|| format!("{v:?} is not a number (or unlimited)"))
}

impl FromStr for Limits {
    type Err = String;
    /// `as=16G,nproc=512,nofile=4096,cpu=unlimited,fsize=8G`; keys left out
    /// keep their defaults.
    fn from_str(s: &str) -> Result<Self, String> {
        let mut l = Limits::default();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (k, v) = item
                .split_once('=')
                .ok_or_else(|| format!("{item:?}: give KEY=VALUE, e.g. nproc=256"))?;
            match k.trim() {
                "as" => l.address_space = parse_amount(v.trim(), true)?,
                "nproc" => l.processes = parse_amount(v.trim(), false)?,
                "nofile" => l.open_files = parse_amount(v.trim(), false)?,
                "cpu" => l.cpu_seconds = parse_amount(v.trim(), false)?,
                "fsize" => l.file_size = parse_amount(v.trim(), true)?,
                other => {
                    return Err(format!(
                        "{other:?} is not a limit; use as, nproc, nofile, cpu or fsize"
                    ))
                }
            }
        }
        Ok(l)
    }
}

impl fmt::Display for Limits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = |x: Option<u64>| x.map_or("unlimited".to_string(), |n| n.to_string());
        write!(
            f,
            "as={},nproc={},nofile={},cpu={},fsize={}",
            v(self.address_space),
            v(self.processes),
            v(self.open_files),
            v(self.cpu_seconds),
            v(self.file_size)
        )
    }
}

/// Everything the helper applies, passed as one JSON argument.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    /// Confine what the kernel allows instead of failing.
    pub best_effort: bool,
    /// Readable and executable directories.
    pub read: Vec<PathBuf>,
    /// Readable, writable and executable directories.
    pub write: Vec<PathBuf>,
    /// Network policy.
    pub net: Net,
    /// Resource limits.
    pub limits: Limits,
    /// The server's pids cgroup, under which the helper makes its own.
    pub cgroup: Option<PathBuf>,
}

impl Policy {
    /// The helper's argument.
    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parse the helper's argument.
    pub fn decode(s: &str) -> Result<Policy, String> {
        serde_json::from_str(s).map_err(|e| format!("bad sandbox policy: {e}"))
    }
}
