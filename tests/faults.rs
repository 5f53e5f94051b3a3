//! Faults, against the real `lmcp` binary over stdio (every message it writes
//! validated against the official schema by the harness):
//!
//! - `write_file` into a read-only directory, and onto a full filesystem (a
//!   64 KiB tmpfs), fails and leaves the old file intact and no temp file;
//! - stdout closed under the stdio server → it exits cleanly;
//! - a hub upstream that hangs is cut off by its timeout, one that floods its
//!   stdout without a newline cannot make lmcp buffer without bound;
//! - `shell` children and hub upstreams get none of lmcp's secrets.
//!
//! A panicking handler (`-32603`, the server goes on) is covered by
//! `tests/stdio_protocol.rs`; a child ignoring SIGTERM being killed after the
//! grace by the unit tests of `tools::shell` and `tools::jobs`.
#![cfg(feature = "tools")]

mod common;
#[path = "support/proc_status.rs"]
mod proc_status;

use common::{first_text, lmcp_path, result, Peer};
use proc_status::status_kb;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// `lmcp --stdio ARGS`, as user `nobody` when the tests run as root (so that
/// permission bits apply), with extra environment variables.
fn lmcp_as(unprivileged: bool, env: &[(&str, &str)], args: &[&str]) -> Peer {
    let lmcp = lmcp_path();
    let mut all: Vec<String> = Vec::new();
    if unprivileged && is_root() {
        all.extend(
            [
                "setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
            ]
            .map(String::from),
        );
    }
    all.push("env".into());
    all.extend(env.iter().map(|(k, v)| format!("{k}={v}")));
    all.push(lmcp.to_string_lossy().into_owned());
    all.push("--stdio".into());
    all.extend(args.iter().map(|s| s.to_string()));
    let program = PathBuf::from(all.remove(0));
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    Peer::spawn(program, &refs)
}

/// Files in `dir` other than `keep`.
fn leftovers(dir: &Path, keep: &[&str]) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !keep.contains(&n.as_str()))
        .collect()
}

/// A tool call's failure text: an `isError` result or a JSON-RPC error.
fn failure(r: &Value) -> String {
    if let Some(e) = r.get("error") {
        return e["message"].as_str().unwrap_or_default().to_owned();
    }
    assert_eq!(result(r)["isError"], json!(true), "expected a failure: {r}");
    first_text(r)
}

#[test]
fn write_file_into_a_read_only_directory_keeps_the_old_file_and_no_temp() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = std::fs::canonicalize(tmp.path()).unwrap();
    std::fs::write(dir.join("old.txt"), "old content\n").unwrap();
    // Readable and searchable by everyone, writable by nobody but root.
    std::process::Command::new("chmod")
        .args(["0555", dir.to_str().unwrap()])
        .status()
        .unwrap();
    let mut p = lmcp_as(true, &[], &["--root", dir.to_str().unwrap()]);
    for path in ["old.txt", "new.txt"] {
        let r = p.modern(
            "tools/call",
            json!({"name": "write_file", "arguments": {"path": path, "content": "replaced\n"}}),
        );
        let msg = failure(&r);
        assert!(
            msg.to_lowercase().contains("permission denied"),
            "the error should say why: {msg}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(dir.join("old.txt")).unwrap(),
        "old content\n"
    );
    assert_eq!(leftovers(&dir, &["old.txt"]), Vec::<String>::new());
    std::process::Command::new("chmod")
        .args(["0755", dir.to_str().unwrap()])
        .status()
        .unwrap();
}

/// A tmpfs mounted for the test, unmounted on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0755")])
            .arg("lmcp-test")
            .arg(dir.path())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Tmpfs { dir })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

#[test]
fn write_file_onto_a_full_filesystem_keeps_the_old_file_and_no_temp() {
    let Some(fs) = Tmpfs::mount("64k") else {
        // Mounting needs root. CI runs as root in a fresh container, where it
        // works: there a failed mount is a failure, not a skip.
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but a small tmpfs cannot be mounted (mount -t tmpfs needs root and CAP_SYS_ADMIN)"
        );
        eprintln!("SKIPPED (not a pass): cannot mount a small tmpfs here (needs root); the full-filesystem case was not tested");
        return;
    };
    let dir = std::fs::canonicalize(fs.dir.path()).unwrap();
    std::fs::write(dir.join("old.txt"), "old content\n").unwrap();
    let mut p = lmcp_as(false, &[], &["--root", dir.to_str().unwrap()]);
    let big = "x".repeat(512 * 1024);
    for (path, create) in [
        ("old.txt", false),
        ("new.txt", false),
        ("sub/new.txt", true),
    ] {
        let r = p.modern(
            "tools/call",
            json!({"name": "write_file", "arguments": {"path": path, "content": big, "create_parents": create}}),
        );
        let msg = failure(&r);
        assert!(
            msg.to_lowercase().contains("no space"),
            "the error should say why: {msg}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(dir.join("old.txt")).unwrap(),
        "old content\n"
    );
    let left = leftovers(&dir, &["old.txt", "sub"]);
    assert_eq!(left, Vec::<String>::new());
    if dir.join("sub").exists() {
        assert_eq!(leftovers(&dir.join("sub"), &[]), Vec::<String>::new());
    }
    // Space is back once the failed writes are cleaned up: a small write works.
    let r = p.modern(
        "tools/call",
        json!({"name": "write_file", "arguments": {"path": "old.txt", "content": "small\n"}}),
    );
    assert_ne!(result(&r)["isError"], json!(true), "{r}");
    assert_eq!(
        std::fs::read_to_string(dir.join("old.txt")).unwrap(),
        "small\n"
    );
}

#[test]
fn closed_stdout_makes_the_stdio_server_exit_cleanly() {
    let mut child = Command::new(lmcp_path())
        .arg("--stdio")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut stdin = child.stdin.take().unwrap();
    let req = json!({"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {}});
    // Keep writing (stdin stays open) until the server notices and leaves.
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        use std::io::Write;
        let _ = stdin.write_all(format!("{req}\n").as_bytes());
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "lmcp still running with its stdout closed"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "exit {status:?}, stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

fn write_config(dir: &Path, servers: Value) -> PathBuf {
    let f = dir.join("hub.json");
    std::fs::write(&f, json!({"mcpServers": servers}).to_string()).unwrap();
    f
}

#[test]
fn a_hanging_upstream_is_cut_off_by_its_timeout() {
    let tmp = tempfile::tempdir().unwrap();
    let everything = common::everything_path();
    let cfg = write_config(
        tmp.path(),
        json!({"slow": {"command": everything, "args": ["--stdio"], "timeoutMs": 1000}}),
    );
    let mut p = lmcp_as(false, &[], &["--config", cfg.to_str().unwrap()]);
    let started = Instant::now();
    let r = p.modern(
        "tools/call",
        json!({"name": "remote_slow_sleep", "arguments": {"ms": 60000}}),
    );
    let took = started.elapsed();
    let msg = failure(&r);
    // The client's timeout error (src/client/error.rs, ClientError::Timeout)
    // under the upstream's name (src/hub/forward.rs).
    assert!(
        msg.contains("upstream 'slow'") && msg.contains("no answer within 1000 ms"),
        "the error should say the upstream timed out and name its 1000 ms timeout: {msg}"
    );
    // Cut off at about 1 s (plus start-up of the upstream), far from the
    // 60 s the call asked for; generous against a loaded machine.
    assert!(
        took < Duration::from_secs(10),
        "the call was not cut off by its 1 s timeout: it took {took:?}"
    );
    // The hub and the upstream go on.
    let r = p.modern(
        "tools/call",
        json!({"name": "remote_slow_echo", "arguments": {"text": "still here"}}),
    );
    assert_eq!(first_text(&r), "still here");
}

fn processes_with(marker: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmd).contains(marker) {
            out.push(pid);
        }
    }
    out
}

#[test]
fn an_upstream_flooding_stdout_without_newlines_is_capped() {
    let marker = format!("lmcp-flood-{}", std::process::id());
    // An endless line: the upstream never answers, lmcp must not keep it.
    let spec = format!("flood=sh -c \"yes {marker} | tr -d '\\\\n'\"");
    let mut p = lmcp_as(
        false,
        &[],
        &["--upstream", &spec, "--hub-boot-wait-ms", "0"],
    );
    let pid = p.pid();
    let mut peak = 0;
    let until = Instant::now() + Duration::from_secs(4);
    while Instant::now() < until {
        let r = p.modern("tools/call", json!({"name": "ping", "arguments": {}}));
        assert!(r.get("result").is_some(), "{r}");
        peak = peak.max(status_kb(pid, "VmRSS"));
        std::thread::sleep(Duration::from_millis(200));
    }
    // Lines are capped at the message limit (16 MiB): far below this.
    assert!(
        peak < 200 * 1024,
        "lmcp RSS reached {peak} KiB while an upstream flooded it"
    );
    p.close_stdin();
    p.wait_exit(Duration::from_secs(20));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !processes_with(&marker).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        processes_with(&marker),
        Vec::<u32>::new(),
        "upstream processes left behind"
    );
}

const TOKEN: &str = "tok-7c1e9a-secret";
const BRAVE: &str = "brave-51d2-secret";

#[test]
fn shell_children_get_no_lmcp_secret() {
    let mut p = lmcp_as(
        false,
        &[("LMCP_AUTH_TOKEN", TOKEN), ("BRAVE_API_KEY", BRAVE)],
        &[],
    );
    let r = p.modern(
        "tools/call",
        json!({"name": "shell", "arguments": {"command": "env; echo marker-$LMCP_AUTH_TOKEN-end"}}),
    );
    let out = result(&r).to_string();
    assert!(out.contains("marker--end"), "{out}");
    assert!(!out.contains(TOKEN) && !out.contains(BRAVE), "{out}");
    // Background jobs too.
    let r = p.modern(
        "tools/call",
        json!({"name": "shell_bg", "arguments": {"command": "echo job-$LMCP_AUTH_TOKEN-$BRAVE_API_KEY-end"}}),
    );
    let id = result(&r)["structuredContent"]["job"].clone();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let r = p.modern(
            "tools/call",
            json!({"name": "shell_bg_output", "arguments": {"job": id}}),
        );
        let out = result(&r).to_string();
        assert!(!out.contains(TOKEN) && !out.contains(BRAVE), "{out}");
        if out.contains("job---end") {
            break;
        }
        assert!(Instant::now() < deadline, "the job never printed: {out}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // A value the caller passes explicitly is the caller's to give.
    let r = p.modern(
        "tools/call",
        json!({"name": "shell", "arguments": {"command": "echo [$LMCP_AUTH_TOKEN]", "env": {"LMCP_AUTH_TOKEN": "given"}}}),
    );
    assert!(result(&r).to_string().contains("[given]"), "{r}");
    assert!(!p.stderr().contains(TOKEN));
}

#[test]
fn hub_upstreams_get_no_lmcp_secret() {
    let tmp = tempfile::tempdir().unwrap();
    let seen = tmp.path().join("seen");
    let everything = common::everything_path();
    let script = format!(
        "echo \"[$LMCP_AUTH_TOKEN][$BRAVE_API_KEY]\" > {}; exec {} --stdio",
        seen.display(),
        everything.display()
    );
    let cfg = write_config(
        tmp.path(),
        json!({"spy": {"command": "sh", "args": ["-c", script]}}),
    );
    let mut p = lmcp_as(
        false,
        &[("LMCP_AUTH_TOKEN", TOKEN), ("BRAVE_API_KEY", BRAVE)],
        &["--config", cfg.to_str().unwrap()],
    );
    let r = p.modern(
        "tools/call",
        json!({"name": "remote_spy_echo", "arguments": {"text": "hi"}}),
    );
    assert_eq!(first_text(&r), "hi");
    assert_eq!(std::fs::read_to_string(&seen).unwrap(), "[][]\n");
}

/// A client that pipes stderr and never reads it: once the pipe is full,
/// log lines are dropped (and counted), never waited for, so the server
/// keeps answering and still stops on SIGTERM.
#[test]
fn an_unread_stderr_pipe_never_stops_the_stdio_server() {
    use std::io::{BufRead, BufReader, Read, Write};
    let mut child = Command::new(lmcp_path())
        .args(["--stdio", "--log-level", "debug"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<Value>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str(&line) {
                if tx.send(v).is_err() {
                    break;
                }
            }
        }
    });
    let mut stdin = child.stdin.take().unwrap();
    // Each answer to a request nobody sent is logged at debug level:
    // 5,000 lines are several times what a pipe holds.
    let mut flood = String::new();
    for i in 0..5000 {
        flood.push_str(&format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":\"stray-{i}\",\"result\":{{}}}}\n"
        ));
    }
    flood.push_str("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n");
    stdin.write_all(flood.as_bytes()).unwrap();
    stdin.flush().unwrap();
    let pong = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("no answer to ping while stderr was full");
    assert_eq!(pong["id"], 1, "{pong}");
    // SIGTERM still ends it.
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "lmcp ignored SIGTERM with its stderr full"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(stdin);
    assert!(exit.success(), "exit {exit:?}");
    let mut err = String::new();
    let _ = stderr.read_to_string(&mut err);
    assert!(
        err.starts_with("lmcp DEBUG"),
        "{}",
        &err[..err.len().min(300)]
    );
    assert!(!err.contains("panicked"));
}
