//! `--instance-id` (issue 21): the ids an instance mints carry its tag so a
//! load balancer can route on them, answers name the instance, and a bad id
//! is refused at start with a message saying what to use. The full
//! balancer run is tests/py/test_scale_out.py.

mod support;

use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Command;
use support::raw_http::{send, ACCEPT, JSON};
use support::{check, meta, start_http, MODERN};

fn lmcp() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_lmcp"))
}

fn valid(rev: &str, msg: &Value) {
    let errors = check(rev, "JSONRPCMessage", msg);
    assert!(errors.is_empty(), "{msg} violates {rev}: {errors:?}");
}

#[test]
fn session_ids_and_job_handles_carry_the_instance_id() {
    let s = start_http(lmcp(), &["--instance-id", "i7"]);
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let r = send(s.port, "POST", &[JSON, ACCEPT], &init.to_string());
    assert_eq!(r.status, 200);
    valid("2025-11-25", &r.json());
    let sid = r.header("mcp-session-id").expect("a session id").to_owned();
    let (tag, random) = sid.split_once('.').expect("a tagged session id");
    assert_eq!((tag, random.len()), ("i7", 32), "{sid}");
    assert_eq!(r.header("lmcp-instance"), Some("i7"));

    let call = |id: i64, name: &str, args: Value, extra: &[(&str, &str)]| {
        let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": name, "arguments": args, "_meta": meta(json!({}))}});
        let mut h = vec![
            JSON,
            ACCEPT,
            ("MCP-Protocol-Version", MODERN),
            ("Mcp-Method", "tools/call"),
            ("Mcp-Name", name),
        ];
        h.extend_from_slice(extra);
        send(s.port, "POST", &h, &body.to_string())
    };
    let r = call(2, "shell_bg", json!({"command": "exec sleep 30"}), &[]);
    let v = r.json();
    valid(MODERN, &v);
    let job = v["result"]["structuredContent"]["job"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(job.starts_with("job_i7.") && job.len() == 7 + 32, "{job}");
    // `job` is an x-mcp-header parameter: the header must come with it...
    let r = call(3, "shell_bg_kill", json!({"job": job}), &[]);
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], -32020, "{}", r.json());
    // ... and match it.
    let r = call(
        4,
        "shell_bg_kill",
        json!({"job": job}),
        &[("Mcp-Param-Job", &job)],
    );
    assert_eq!(r.status, 200);
    let v = r.json();
    valid(MODERN, &v);
    assert_ne!(v["result"]["isError"], true, "{v}");

    // A task-augmented call (Tasks extension): the task id is tagged too.
    let caps = json!({"extensions": {"io.modelcontextprotocol/tasks": {}}});
    let body = json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call",
        "params": {"name": "shell", "arguments": {"command": "echo hi"}, "_meta": meta(caps)}});
    let h = [
        JSON,
        ACCEPT,
        ("MCP-Protocol-Version", MODERN),
        ("Mcp-Method", "tools/call"),
        ("Mcp-Name", "shell"),
    ];
    let v = send(s.port, "POST", &h, &body.to_string()).json();
    valid(MODERN, &v);
    assert_eq!(v["result"]["resultType"], "task", "{v}");
    let task = v["result"]["taskId"].as_str().unwrap();
    assert!(task.starts_with("i7.") && task.len() == 3 + 32, "{task}");
}

#[test]
fn a_bad_instance_id_is_refused_with_what_to_use() {
    for bad in ["I1", "a.b", "-a", ""] {
        let out = Command::new(lmcp())
            .arg(format!("--instance-id={bad}"))
            .args(["--http", "127.0.0.1:0"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("lowercase letters, digits and '-'"),
            "{bad:?}: {err}"
        );
    }
}
