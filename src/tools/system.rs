//! `systeminfo`: the machine and lmcp itself, read from the OS directly
//! (`/proc`, `uname`, `statvfs`, `getifaddrs`): no extra crate, a few
//! milliseconds per call.

use crate::server::{Tool, ToolResult};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

static STARTED: OnceLock<Instant> = OnceLock::new();

/// Record the server's start (the first call wins); tools call it when built.
pub fn mark_start() {
    STARTED.get_or_init(Instant::now);
}

/// Time since [`mark_start`] (monotonic).
pub fn server_uptime() -> std::time::Duration {
    STARTED.get_or_init(Instant::now).elapsed()
}

/// `t` as an RFC 3339 UTC timestamp with milliseconds.
pub fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
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
    let logical = info.lines().filter(|l| l.starts_with("processor")).count();
    let available = std::thread::available_parallelism().map_or(0, |n| n.get());
    json!({"model": model, "logical": logical, "available": available})
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
    ];
    let mut seen = std::collections::HashSet::new();
    read("/proc/mounts")
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let (dev, mount, fstype) = (*f.first()?, *f.get(1)?, *f.get(2)?);
            if VIRTUAL.contains(&fstype) || !seen.insert(mount.to_owned()) {
                return None;
            }
            let st = nix::sys::statvfs::statvfs(mount).ok()?;
            let frag = st.fragment_size() as u64;
            let size = st.blocks() as u64 * frag;
            if size == 0 {
                return None;
            }
            let free = st.blocks_available() as u64 * frag;
            let used = size - st.blocks_free() as u64 * frag;
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
                   "swap_total": m("SwapTotal"), "swap_free": m("SwapFree")},
        "filesystems": filesystems(),
        "interfaces": interfaces(),
        "user": {"name": user, "uid": uid.as_raw()},
        "processes": processes,
        "lmcp": {"version": env!("CARGO_PKG_VERSION"), "pid": std::process::id(),
                 "rss": own_rss(), "uptime_s": server_uptime().as_secs()},
    })
}

fn gib(b: &Value) -> String {
    format!(
        "{:.1} GiB",
        b.as_u64().unwrap_or(0) as f64 / (1u64 << 30) as f64
    )
}

/// The compact text summary of [`collect`]'s value.
pub fn summary(v: &Value) -> String {
    let mut s = format!(
        "{} ({}, {}) on {}; up {} s; user {}\nCPU: {} x{}; load {}\nmemory: {} of {} available; swap {} free of {}\nprocesses: {}; lmcp {} pid {} rss {} KiB up {} s",
        v["os"].as_str().unwrap_or(""), v["kernel"].as_str().unwrap_or(""), v["arch"].as_str().unwrap_or(""),
        v["hostname"].as_str().unwrap_or(""), v["uptime_s"], v["user"]["name"].as_str().unwrap_or(""),
        v["cpu"]["model"].as_str().unwrap_or(""), v["cpu"]["logical"], v["load"],
        gib(&v["memory"]["available"]), gib(&v["memory"]["total"]),
        gib(&v["memory"]["swap_free"]), gib(&v["memory"]["swap_total"]),
        v["processes"], v["lmcp"]["version"].as_str().unwrap_or(""), v["lmcp"]["pid"],
        v["lmcp"]["rss"].as_u64().unwrap_or(0) / 1024, v["lmcp"]["uptime_s"],
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
    s
}

/// The `systeminfo` tool.
pub fn tool() -> Tool {
    mark_start();
    Tool::new(
        "systeminfo",
        "Describe the machine: OS, kernel, hostname, CPU, load, memory, filesystems, network \
         interfaces, current user, process count, and lmcp's own version, PID, RSS and uptime.",
        |_args, _ctx| async {
            let v = collect();
            Ok(ToolResult::text(summary(&v)).with_structured(v))
        },
    )
    .title("System information")
    .output_schema(
        json!({"type": "object", "properties": Map::<String, Value>::new(),
        "required": ["os", "kernel", "hostname", "arch", "cpu", "memory", "lmcp"]}),
    )
    .read_only()
    .idempotent()
    .open_world(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_known_instants() {
        let t = UNIX_EPOCH + std::time::Duration::from_millis(951_782_400_123);
        assert_eq!(rfc3339(t), "2000-02-29T00:00:00.123Z");
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
    }

    #[tokio::test]
    async fn systeminfo_reports_the_machine_and_itself() {
        let t = tool();
        let r = (t.handler)(Map::new(), crate::RequestContext::detached())
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
    }
}
