//! The `lmcp` binary's tool selection and shell limit flags, driven over
//! stdio (every server message validated by the harness).
#![cfg(feature = "cli")]

mod common;

use common::*;
use serde_json::{json, Value};
use std::process::Command;

fn tool_names(p: &mut Peer) -> Vec<String> {
    let r = p.modern("tools/list", json!({}));
    r["result"]["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn tools_flag_keeps_only_the_named_tools_and_disable_removes() {
    let mut p = Peer::spawn(lmcp_path(), &["--stdio", "--tools", "ping,read_file,shell"]);
    let mut names = tool_names(&mut p);
    names.sort();
    assert_eq!(names, ["ping", "read_file", "shell"]);

    let mut p = Peer::spawn(lmcp_path(), &["--stdio", "--disable", "shell,shell_bg"]);
    let names = tool_names(&mut p);
    assert!(names.contains(&"read_file".to_owned()), "{names:?}");
    assert!(
        !names.iter().any(|n| n == "shell" || n == "shell_bg"),
        "{names:?}"
    );
}

#[test]
fn unknown_tool_names_and_contradictory_limits_are_refused_with_a_reason() {
    let out = Command::new(lmcp_path())
        .args(["--stdio", "--tools", "pnig"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown tool \"pnig\"") && err.contains("ping"),
        "{err}"
    );

    let out = Command::new(lmcp_path())
        .args([
            "--stdio",
            "--shell-timeout-ms",
            "5000",
            "--shell-max-timeout-ms",
            "1000",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--shell-max-timeout-ms"));
}

#[test]
fn shell_limit_flags_take_effect() {
    let mut p = Peer::spawn(
        lmcp_path(),
        &[
            "--stdio",
            "--shell",
            "bash -c",
            "--shell-timeout-ms",
            "300",
            "--shell-output-bytes",
            "1000",
            "--shell-max-timeout-ms",
            "300",
            "--shell-max-output-bytes",
            "2000",
        ],
    );
    // The configured program runs the command (bash sets BASH_VERSION).
    let r = p.modern(
        "tools/call",
        json!({"name": "shell", "arguments": {"command": "echo ${BASH_VERSION:+bash}"}}),
    );
    let s: &Value = &r["result"]["structuredContent"];
    assert_eq!(s["stdout"], "bash\n", "{r}");
    // The default timeout applies when the call gives none.
    let r = p.modern(
        "tools/call",
        json!({"name": "shell", "arguments": {"command": "sleep 5"}}),
    );
    assert_eq!(r["result"]["structuredContent"]["timed_out"], true, "{r}");
    // The default output cap keeps head and tail.
    let r = p.modern(
        "tools/call",
        json!({"name": "shell", "arguments": {"command": "seq 1 5000"}}),
    );
    let s = &r["result"]["structuredContent"];
    assert_eq!(s["truncated"], true, "{r}");
    assert!(s["stdout"].as_str().unwrap().len() < 1200, "{r}");
    // A call cannot ask for more than the configured maximums: a minute's
    // timeout is cut to --shell-max-timeout-ms (sleep 5 times out) ...
    let r = p.modern(
        "tools/call",
        json!({"name": "shell", "arguments": {"command": "sleep 5", "timeout_ms": 60000}}),
    );
    let s = &r["result"]["structuredContent"];
    assert_eq!(
        (&s["timed_out"], &s["exit_code"]),
        (&json!(true), &Value::Null),
        "{r}"
    );
    // ... and a megabyte of output to --shell-max-output-bytes: more than the
    // default cap of 1000, at most the maximum of 2000 (plus the cut marker).
    let r = p.modern(
        "tools/call",
        json!({"name": "shell", "arguments": {"command": "seq 1 5000", "max_output_bytes": 1_000_000}}),
    );
    let s = &r["result"]["structuredContent"];
    let out = s["stdout"].as_str().unwrap();
    assert_eq!(
        (&s["truncated"], &s["stdout_bytes"]),
        (&json!(true), &json!(23_893)),
        "{r}"
    );
    assert!(
        (1500..2100).contains(&out.len()),
        "{} bytes: {out}",
        out.len()
    );
    assert!(
        out.starts_with("1\n2\n") && out.ends_with("4999\n5000\n"),
        "{out}"
    );
}

#[test]
fn secrets_from_the_environment_do_not_reach_shell_commands() {
    use std::io::{BufRead, BufReader, Write};
    let mut child = Command::new(lmcp_path())
        .arg("--stdio")
        .env("LMCP_AUTH_TOKEN", "token-that-must-not-leak")
        .env("LMCP_STATE_KEY", "state-key-that-must-not-leak")
        .env("UNRELATED_VAR", "visible")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": modern_params(
        json!({"name": "shell", "arguments": {"command": "env"}}))});
    writeln!(stdin, "{call}").unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    drop(stdin);
    let _ = child.wait();
    let r: Value = serde_json::from_str(&line).unwrap();
    let env = r["result"]["structuredContent"]["stdout"].as_str().unwrap();
    assert!(env.contains("UNRELATED_VAR=visible"), "{env}");
    assert!(
        !env.contains("must-not-leak"),
        "a secret reached the shell: {env}"
    );
}

#[test]
fn a_short_state_key_is_refused() {
    let out = Command::new(lmcp_path())
        .arg("--stdio")
        .env("LMCP_STATE_KEY", "short")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 16"));
}

#[test]
fn secret_file_errors_do_not_echo_the_secret() {
    let tmp = tempfile::tempdir().unwrap();
    // Too short a state key, from the environment and from a file.
    let key = tmp.path().join("state.key");
    std::fs::write(&key, "shortsecret\n").unwrap();
    // A token file that is not UTF-8 (cannot be read as text).
    let token = tmp.path().join("token");
    std::fs::write(&token, b"tokensecret\xff\xfe\n").unwrap();
    for (args, env) in [
        (vec!["--stdio"], Some("shortsecret")),
        (
            vec!["--stdio", "--state-key-file", key.to_str().unwrap()],
            None,
        ),
        (
            vec![
                "--http",
                "127.0.0.1:0",
                "--auth-token-file",
                token.to_str().unwrap(),
            ],
            None,
        ),
    ] {
        let mut cmd = Command::new(lmcp_path());
        cmd.args(&args).stdin(std::process::Stdio::null());
        if let Some(v) = env {
            cmd.env("LMCP_STATE_KEY", v);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.is_empty(), "{args:?}: no error message");
        assert!(
            !err.contains("shortsecret") && !err.contains("tokensecret"),
            "{args:?}: the error echoes the secret: {err}"
        );
    }
}

#[test]
fn read_only_is_applied_with_the_names_and_refuses_a_named_writer() {
    // Names of tools --read-only leaves out may still be disabled.
    let mut p = Peer::spawn(
        lmcp_path(),
        &["--stdio", "--read-only", "--disable", "write_file,ping"],
    );
    let mut names = tool_names(&mut p);
    names.sort();
    assert!(names.contains(&"systeminfo".to_owned()), "{names:?}");
    for gone in ["ping", "shell", "shell_bg", "shell_bg_output", "write_file"] {
        assert!(!names.iter().any(|n| n == gone), "{gone} in {names:?}");
    }

    let out = Command::new(lmcp_path())
        .args(["--stdio", "--read-only", "--tools", "read_file,shell"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("shell") && err.contains("--read-only"),
        "{err}"
    );

    // Job companions without shell_bg have nothing to act on.
    let mut p = Peer::spawn(lmcp_path(), &["--stdio", "--disable", "shell_bg"]);
    let names = tool_names(&mut p);
    assert!(names.contains(&"shell".to_owned()), "{names:?}");
    assert!(
        !names.iter().any(|n| n.starts_with("shell_bg")),
        "{names:?}"
    );
    let out = Command::new(lmcp_path())
        .args(["--stdio", "--tools", "shell,shell_bg_list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("add shell_bg"));
}

/// Issue 16: commands left running at their timeout become shell_bg jobs,
/// which nobody could read or stop when shell_bg is not served.
#[test]
fn shell_on_timeout_background_needs_shell_bg() {
    let out = Command::new(lmcp_path())
        .args([
            "--stdio",
            "--tools",
            "shell",
            "--shell-on-timeout",
            "background",
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("shell_bg is not served") && err.contains("--shell-on-timeout"),
        "{err}"
    );
    // With shell_bg (and so its companions) it starts.
    let mut p = Peer::spawn(
        lmcp_path(),
        &[
            "--stdio",
            "--tools",
            "shell,shell_bg",
            "--shell-on-timeout",
            "background",
        ],
    );
    assert!(tool_names(&mut p).iter().any(|n| n == "shell_bg_output"));
}

#[test]
fn server_icon_flag_reaches_server_info_and_a_bad_source_is_refused() {
    let mut p = Peer::spawn(
        lmcp_path(),
        &[
            "--stdio",
            "--server-icon",
            "https://example.test/lmcp.png",
            "--server-icon",
            "data:image/svg+xml;base64,PHN2Zy8+",
        ],
    );
    let r = p.initialize("2025-11-25", json!({}));
    let info = &r["result"]["serverInfo"];
    assert_eq!(info["name"], "lmcp", "{r}");
    assert_eq!(
        info["icons"],
        json!([
            {"src": "https://example.test/lmcp.png"},
            {"src": "data:image/svg+xml;base64,PHN2Zy8+"}
        ]),
        "{r}"
    );
    assert_eq!(info["description"], lmcp::cli::config::description(), "{r}");
    assert_eq!(
        r["result"]["instructions"],
        lmcp::cli::config::instructions(),
        "{r}"
    );
    // Older revisions do not know the fields: they are left out.
    let mut old = Peer::spawn(
        lmcp_path(),
        &["--stdio", "--server-icon", "https://example.test/i.png"],
    );
    let r = old.initialize("2025-06-18", json!({}));
    assert!(r["result"]["serverInfo"].get("icons").is_none(), "{r}");

    let out = Command::new(lmcp_path())
        .args(["--stdio", "--server-icon", "/etc/passwd"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("https://"), "{err}");
}

/// The task flags reach the binary's task store: a created task tells the
/// TTL and polling interval given, and `--max-tasks 1` refuses a second
/// task while the first runs, then takes one once it is cancelled.
#[test]
fn task_limit_flags_reach_the_task_store() {
    let mut p = Peer::spawn(
        lmcp_path(),
        &[
            "--stdio",
            "--task-ttl-secs",
            "42",
            "--task-poll-interval-ms",
            "250",
            "--max-tasks",
            "1",
        ],
    );
    let tasks = || meta_with(json!({"extensions": {"io.modelcontextprotocol/tasks": {}}}));
    let shell = |command: &str| {
        with_meta(
            json!({"name": "shell", "arguments": {"command": command}}),
            tasks(),
        )
    };
    let r = p.call("tools/call", shell("sleep 30"));
    let first = result(&r).clone();
    assert_eq!(first["resultType"], "task", "{first}");
    assert_eq!(first["ttlMs"], 42_000, "{first}");
    assert_eq!(first["pollIntervalMs"], 250, "{first}");

    let r = p.call("tools/call", shell("echo second"));
    assert_eq!(error_code(&r), -32603, "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("too many tasks")),
        "{r}"
    );

    let r = p.call(
        "tasks/cancel",
        with_meta(json!({"taskId": first["taskId"]}), tasks()),
    );
    assert_eq!(result(&r)["resultType"], "complete", "{r}");
    let r = p.call("tools/call", shell("echo third"));
    assert_eq!(result(&r)["resultType"], "task", "{r}");
}
