//! Property test (issue 6), bounded so it runs in seconds: any bytes on the
//! stdin of the real `lmcp` binary yield only valid JSON-RPC on stdout
//! (checked against the official schemas of both eras), or nothing, and the
//! process exits cleanly at end of input — never a crash.
//!
//! This is the end-to-end companion of `prop_stdio.rs`, which drives the same
//! transport in process with richer, structured inputs; path resolution has
//! its own property in `prop_roots.rs`.

mod support;

use proptest::prelude::*;
use serde_json::Value;
use std::io::{Read, Write};
use std::process::{Command, Stdio};

/// Pieces that make inputs likely to reach deep into the parser and the
/// dispatcher rather than stop at the first byte.
fn fragment() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..40),
        Just(b"\n".to_vec()),
        Just(br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#.to_vec()),
        Just(br#"{"jsonrpc":"2.0","id":"x","method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"p","version":"1"}}}"#.to_vec()),
        Just(br#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"ping","arguments":{},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#.to_vec()),
        Just(br#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":2}}"#.to_vec()),
        Just(br#"{"jsonrpc":"2.0","id":3,"result":{}}"#.to_vec()),
        Just(b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[".to_vec()),
        Just(b"{\"jsonrpc\":\"2.0\",\"id\":".to_vec()),
        Just(vec![0xff, 0xfe, b'{', 0xc3]),
        Just(br#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"read_file","arguments":{"path":"../../etc/passwd"}}}"#.to_vec()),
    ]
}

fn input() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(fragment(), 0..12).prop_map(|parts| parts.concat())
}

fn valid_in_some_era(msg: &Value) -> bool {
    [support::MODERN, support::LEGACY_SCHEMA]
        .iter()
        .any(|rev| support::check(rev, "JSONRPCMessage", msg).is_empty())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_stdin_yields_only_valid_json_rpc_and_a_clean_exit(bytes in input()) {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_lmcp"))
            .args(["--stdio", "--root"])
            .arg(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&bytes);
        });
        let mut out = Vec::new();
        child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
        writer.join().unwrap();
        let status = child.wait().unwrap();
        prop_assert!(status.success(), "exit status {status:?}");
        for line in out.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let msg: Value = serde_json::from_slice(line)
                .map_err(|e| TestCaseError::fail(format!("not JSON ({e}): {}", String::from_utf8_lossy(line))))?;
            prop_assert!(valid_in_some_era(&msg), "not a valid JSON-RPC message: {msg}");
        }
    }
}
