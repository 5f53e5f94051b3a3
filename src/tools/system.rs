//! `systeminfo`: the machine and lmcp itself, read from the OS directly
//! (`/proc`, `uname`, `statvfs`, `getifaddrs`): no extra crate, a few
//! milliseconds per call.

use crate::server::{Tool, ToolError, ToolResult};
use crate::tools::schemas::stored;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Instant;

static STARTED: OnceLock<Instant> = OnceLock::new();

/// Record the server's start (the first call wins); tools call it when built.
pub fn mark_start() {
    STARTED.get_or_init(Instant::now);
}

/// Time since [`mark_start`] (monotonic).
pub fn server_uptime() -> std::time::Duration {
    STARTED.get_or_init(Instant::now).elapsed()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// `key: value kB` lines of /proc/meminfo, in bytes.
fn meminfo() -> BTreeMap<String, u64> {
    read("/proc/meminfo")
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            let n: u64 = v.split_whitespace().next()?.parse().ok()?;
            Some((k.to_owned(), n * 1024))
        })
        .collect()
}

fn cpu() -> Value {
    let info = read("/proc/cpuinfo");
    let model = info
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            matches!(k.trim(), "model name" | "Hardware" | "cpu model").then(|| v.trim().to_owned())
        })
        .unwrap_or_default();
    let available = std::thread::available_parallelism().map_or(0, |n| n.get());
    let logical = match info.lines().filter(|l| l.starts_with("processor")).count() {
        0 => available,
        n => n,
    };
    // Physical cores: distinct (physical id, core id) pairs, where the
    // kernel reports them (x86); else unknown.
    let (mut package, mut cores, mut packages) = (String::new(), Vec::new(), Vec::new());
    for l in info.lines() {
        let Some((k, v)) = l.split_once(':') else {
            continue;
        };
        match k.trim() {
            "physical id" => {
                package = v.trim().to_owned();
                packages.push(package.clone());
            }
            "core id" => cores.push((package.clone(), v.trim().to_owned())),
            _ => {}
        }
    }
    cores.sort();
    cores.dedup();
    packages.sort();
    packages.dedup();
    let known = |n: usize| (n > 0).then_some(n);
    json!({"model": model, "logical": logical, "physical": known(cores.len()),
           "sockets": known(packages.len()), "available": available})
}

/// A mount point as /proc/mounts writes it, with `\040`-style octal escapes
/// for space, tab, newline and backslash, decoded.
fn unescape_mount(field: &str) -> String {
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 4 <= b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let n = b[i + 1..i + 4]
                .iter()
                .fold(0u32, |acc, c| acc * 8 + u32::from(c - b'0'));
            if let Ok(byte) = u8::try_from(n) {
                out.push(byte);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn filesystems() -> Vec<Value> {
    const VIRTUAL: &[&str] = &[
        "proc",
        "sysfs",
        "devpts",
        "cgroup",
        "cgroup2",
        "securityfs",
        "debugfs",
        "tracefs",
        "mqueue",
        "pstore",
        "bpf",
        "configfs",
        "fusectl",
        "hugetlbfs",
        "autofs",
        "binfmt_misc",
        "nsfs",
        "devtmpfs",
        "ramfs",
        "rpc_pipefs",
        "efivarfs",
        "selinuxfs",
        "squashfs",
        "fuse.lxcfs",
        "fuse.gvfsd-fuse",
        "fuse.portal",
    ];
    let mut seen = std::collections::HashSet::new();
    read("/proc/mounts")
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let (dev, fstype) = (unescape_mount(f.first()?), *f.get(2)?);
            let mount = unescape_mount(f.get(1)?);
            if VIRTUAL.contains(&fstype) || !seen.insert(mount.clone()) {
                return None;
            }
            let st = nix::sys::statvfs::statvfs(mount.as_str()).ok()?;
            let frag = st.fragment_size() as u64;
            let size = st.blocks() as u64 * frag;
            if size == 0 {
                return None;
            }
            let free = st.blocks_available() as u64 * frag;
            let used = size.saturating_sub(st.blocks_free() as u64 * frag);
            Some(json!({"mount": mount, "device": dev, "type": fstype,
                        "size": size, "used": used, "free": free}))
        })
        .collect()
}

fn interfaces() -> Vec<Value> {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if let Ok(addrs) = nix::ifaddrs::getifaddrs() {
        for a in addrs {
            let entry = map.entry(a.interface_name.clone()).or_default();
            if let Some(addr) = a.address {
                if let Some(v4) = addr.as_sockaddr_in() {
                    entry.push(v4.ip().to_string());
                } else if let Some(v6) = addr.as_sockaddr_in6() {
                    entry.push(v6.ip().to_string());
                }
            }
        }
    }
    map.into_iter()
        .map(|(name, addresses)| json!({"name": name, "addresses": addresses}))
        .collect()
}

fn own_rss() -> u64 {
    read("/proc/self/status")
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Gather everything `systeminfo` reports.
pub fn collect() -> Value {
    let uts = nix::sys::utsname::uname().ok();
    let s = |f: fn(&nix::sys::utsname::UtsName) -> &std::ffi::OsStr| {
        uts.as_ref()
            .map(|u| f(u).to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let os_release = read("/etc/os-release");
    let pretty = os_release
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_owned())
        .unwrap_or_else(|| s(|u| u.sysname()));
    let uptime: f64 = read("/proc/uptime")
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    let load: Vec<f64> = read("/proc/loadavg")
        .split_whitespace()
        .take(3)
        .filter_map(|v| v.parse().ok())
        .collect();
    let mem = meminfo();
    let m = |k: &str| mem.get(k).copied().unwrap_or(0);
    let uid = nix::unistd::getuid();
    let user = nix::unistd::User::from_uid(uid)
        .ok()
        .flatten()
        .map(|u| u.name)
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_default();
    let processes = std::fs::read_dir("/proc").map_or(0, |d| {
        d.flatten()
            .filter(|e| {
                e.file_name()
                    .to_str()
                    .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
            })
            .count()
    });
    json!({
        "os": pretty,
        "kernel": format!("{} {}", s(|u| u.sysname()), s(|u| u.release())),
        "hostname": nix::unistd::gethostname().map(|h| h.to_string_lossy().into_owned()).unwrap_or_default(),
        "arch": std::env::consts::ARCH,
        "uptime_s": uptime as u64,
        "cpu": cpu(),
        "load": load,
        "memory": {"total": m("MemTotal"), "available": m("MemAvailable"), "free": m("MemFree"),
                   "used": m("MemTotal").saturating_sub(m("MemAvailable")),
                   "swap_total": m("SwapTotal"), "swap_free": m("SwapFree"),
                   "swap_used": m("SwapTotal").saturating_sub(m("SwapFree"))},
        "filesystems": filesystems(),
        "interfaces": interfaces(),
        "user": {"name": user, "uid": uid.as_raw()},
        "processes": processes,
        "lmcp": {"version": env!("CARGO_PKG_VERSION"), "pid": std::process::id(),
                 "rss": own_rss(), "uptime_s": server_uptime().as_secs()},
        "sandbox": crate::tools::sandbox::report(),
    })
}

fn gib(b: &Value) -> String {
    format!(
        "{:.1} GiB",
        b.as_u64().unwrap_or(0) as f64 / (1u64 << 30) as f64
    )
}

/// Seconds as `3d 4h 5m 6s`, leading zero units left out.
fn duration(secs: &Value) -> String {
    let t = secs.as_u64().unwrap_or(0);
    let parts = [(t / 86_400, "d"), (t / 3600 % 24, "h"), (t / 60 % 60, "m")];
    let mut out: String = parts
        .iter()
        .skip_while(|(n, _)| *n == 0)
        .map(|(n, u)| format!("{n}{u} "))
        .collect();
    out.push_str(&format!("{}s", t % 60));
    out
}

/// The compact text summary of [`collect`]'s value.
pub fn summary(v: &Value) -> String {
    let load: Vec<String> = v["load"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_f64)
        .map(|l| format!("{l:.2}"))
        .collect();
    let cores = match v["cpu"]["physical"].as_u64() {
        Some(p) => format!("{} logical, {p} physical", v["cpu"]["logical"]),
        None => format!("{} logical", v["cpu"]["logical"]),
    };
    let mut s = format!(
        "{} ({}, {}) on {}; up {}; user {}\nCPU: {} ({cores}); load {}\nmemory: {} of {} available; swap {} free of {}\nprocesses: {}; lmcp {} pid {} rss {} KiB up {}",
        v["os"].as_str().unwrap_or(""), v["kernel"].as_str().unwrap_or(""), v["arch"].as_str().unwrap_or(""),
        v["hostname"].as_str().unwrap_or(""), duration(&v["uptime_s"]), v["user"]["name"].as_str().unwrap_or(""),
        v["cpu"]["model"].as_str().unwrap_or(""), load.join(" "),
        gib(&v["memory"]["available"]), gib(&v["memory"]["total"]),
        gib(&v["memory"]["swap_free"]), gib(&v["memory"]["swap_total"]),
        v["processes"], v["lmcp"]["version"].as_str().unwrap_or(""), v["lmcp"]["pid"],
        v["lmcp"]["rss"].as_u64().unwrap_or(0) / 1024, duration(&v["lmcp"]["uptime_s"]),
    );
    for f in v["filesystems"].as_array().into_iter().flatten() {
        s.push_str(&format!(
            "\nfs {} ({}): {} used, {} free of {}",
            f["mount"].as_str().unwrap_or(""),
            f["type"].as_str().unwrap_or(""),
            gib(&f["used"]),
            gib(&f["free"]),
            gib(&f["size"])
        ));
    }
    for i in v["interfaces"].as_array().into_iter().flatten() {
        let addrs: Vec<&str> = i["addresses"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        s.push_str(&format!(
            "\nnet {}: {}",
            i["name"].as_str().unwrap_or(""),
            addrs.join(", ")
        ));
    }
    let sb = &v["sandbox"];
    if sb["enabled"] == true {
        s.push_str(&format!(
            "\nsandbox: {} (Landlock ABI {}; files {}, net {}{}, signals scoped {}; limits {})",
            sb["mode"].as_str().unwrap_or(""),
            sb["landlock_abi"],
            if sb["files"] == true {
                "confined"
            } else {
                "NOT confined"
            },
            sb["net"].as_str().unwrap_or(""),
            if sb["net_enforced"] == true {
                ""
            } else {
                " (NOT enforced)"
            },
            sb["scoped_signals"],
            sb["limits"].as_str().unwrap_or("")
        ));
    } else {
        s.push_str(&format!(
            "\nsandbox: off (the kernel offers Landlock ABI {})",
            sb["landlock_abi"]
        ));
    }
    s
}

/// The output schema (stored as `systeminfo.output`).
#[cfg(any(debug_assertions, test))]
fn output_schema() -> Value {
    let int = json!({"type": "integer", "minimum": 0});
    let bytes = json!({"type": "integer", "minimum": 0, "description": "bytes"});
    let opt_int = json!({"type": ["integer", "null"], "minimum": 0});
    let text = json!({"type": "string"});
    json!({"type": "object", "properties": {
        "os": {"type": "string", "description": "distribution (PRETTY_NAME of /etc/os-release) or system name"},
        "kernel": {"type": "string", "description": "kernel name and release"},
        "hostname": text, "arch": text,
        "uptime_s": {"type": "integer", "minimum": 0, "description": "seconds since boot"},
        "cpu": {"type": "object", "properties": {
            "model": text, "logical": int, "physical": opt_int, "sockets": opt_int,
            "available": {"type": "integer", "minimum": 0, "description": "CPUs this process may run on"}},
            "required": ["model", "logical", "available"]},
        "load": {"type": "array", "items": {"type": "number"}, "description": "1, 5 and 15 minute load averages"},
        "memory": {"type": "object", "properties": {
            "total": bytes, "available": bytes, "free": bytes, "used": bytes,
            "swap_total": bytes, "swap_free": bytes, "swap_used": bytes},
            "required": ["total", "available", "used", "swap_total", "swap_free"]},
        "filesystems": {"type": "array", "items": {"type": "object", "properties": {
            "mount": text, "device": text, "type": text, "size": bytes, "used": bytes, "free": bytes},
            "required": ["mount", "type", "size", "used", "free"]}},
        "interfaces": {"type": "array", "items": {"type": "object", "properties": {
            "name": text, "addresses": {"type": "array", "items": text}},
            "required": ["name", "addresses"]}},
        "user": {"type": "object", "properties": {"name": text, "uid": int}, "required": ["name", "uid"]},
        "processes": int,
        "lmcp": {"type": "object", "properties": {
            "version": text, "pid": int, "rss": bytes,
            "uptime_s": {"type": "integer", "minimum": 0, "description": "seconds since lmcp started"}},
            "required": ["version", "pid", "rss", "uptime_s"]},
        "sandbox": {"type": "object", "description": "the shell sandbox (--sandbox): the kernel's \
                    Landlock ABI (0: none) and, when enabled, what lmcp enforces",
            "properties": {"enabled": {"type": "boolean"}, "landlock_abi": int,
                "mode": {"type": "string", "enum": ["enforce", "best-effort"]},
                "files": {"type": "boolean", "description": "file rules enforced"},
                "net": {"type": "string", "description": "all, none or the allowed TCP ports"},
                "net_enforced": {"type": "boolean"},
                "scoped_signals": {"type": "boolean", "description": "commands cannot signal processes outside their job"},
                "no_new_privs": {"type": "boolean"},
                "writable": {"type": "array", "items": text},
                "tmpdir": text, "limits": text,
                "pids_cgroup": {"type": ["string", "null"], "description": "the cgroup bounding processes per command"}},
            "required": ["enabled", "landlock_abi"]}},
        "required": ["os", "kernel", "hostname", "arch", "uptime_s", "cpu", "load", "memory",
                     "filesystems", "interfaces", "user", "processes", "lmcp", "sandbox"]})
}

/// The `systeminfo` tool. The reads run on the blocking pool, so a slow
/// filesystem (a hung network mount's `statvfs`) never stalls other calls;
/// past 10 s the call gives up with a message.
pub fn tool() -> Tool {
    mark_start();
    Tool::new(
        "systeminfo",
        "Describe the machine: OS, kernel, hostname, CPU, load, memory, filesystems, network \
         interfaces, current user, process count, lmcp's own version, PID, RSS and uptime, and \
         the shell sandbox (the kernel's Landlock ABI and what lmcp enforces).",
        |_args, _ctx| async {
            let work = tokio::task::spawn_blocking(collect);
            let v = match tokio::time::timeout(std::time::Duration::from_secs(10), work).await {
                Ok(Ok(v)) => v,
                Ok(Err(e)) => return Err(ToolError::msg(format!("systeminfo failed: {e}"))),
                Err(_) => {
                    return Err(ToolError::msg(
                        "systeminfo took over 10 s (a mounted filesystem is not answering); \
                         check the mounts with shell `df` and a timeout",
                    ))
                }
            };
            Ok(ToolResult::text(summary(&v)).with_structured(v))
        },
    )
    .title("System information")
    .output_schema(stored!("systeminfo.output" => output_schema()))
    .read_only()
    .idempotent()
    .open_world(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn systeminfo_reports_the_machine_and_itself() {
        let t = tool();
        let r = (t.handler)(serde_json::Map::new(), crate::RequestContext::detached())
            .await
            .unwrap();
        let v = r.structured.unwrap();
        assert_eq!(v["lmcp"]["pid"], json!(std::process::id()));
        assert!(v["lmcp"]["rss"].as_u64().unwrap() > 0);
        assert!(v["memory"]["total"].as_u64().unwrap() > 0);
        assert!(v["cpu"]["logical"].as_u64().unwrap() >= 1);
        assert!(v["interfaces"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["addresses"]
                .as_array()
                .unwrap()
                .contains(&json!("127.0.0.1"))));
        assert!(!v["filesystems"].as_array().unwrap().is_empty());
        assert!(v["kernel"].as_str().unwrap().starts_with("Linux"));
        let schema = t.output_schema.as_ref().unwrap().to_value();
        let errors: Vec<String> = jsonschema::validator_for(&schema)
            .unwrap()
            .iter_errors(&v)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{errors:?}");
        let text = match &r.content[0] {
            crate::protocol::Content::Text { text, .. } => text.clone(),
            other => panic!("{other:?}"),
        };
        assert!(
            text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        assert!(
            text.contains("\nfs ") && text.contains("\nnet lo: 127.0.0.1"),
            "{text}"
        );
    }

    #[test]
    fn mount_points_are_unescaped() {
        assert_eq!(unescape_mount("/mnt/my\\040disk"), "/mnt/my disk");
        assert_eq!(unescape_mount("/a\\134b\\011c"), "/a\\b\tc");
        assert_eq!(unescape_mount("/plain"), "/plain");
        assert_eq!(unescape_mount("/end\\04"), "/end\\04");
    }

    #[test]
    fn durations_read_like_uptime() {
        assert_eq!(duration(&json!(5)), "5s");
        assert_eq!(duration(&json!(3 * 86_400 + 61)), "3d 0h 1m 1s");
        assert_eq!(duration(&json!(3600)), "1h 0m 0s");
    }
}
