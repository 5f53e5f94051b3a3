//! Property tests (issue 6), bounded so they run in seconds:
//!
//! - any bytes on the stdin of the real stdio server yield only valid
//!   JSON-RPC on stdout (checked against the official schemas of both eras),
//!   or nothing, and the server exits cleanly at end of input — never a crash;
//! - path resolution against roots never returns a path outside the roots,
//!   whatever mix of `..`, `.`, absolute prefixes and symlinks (inside and
//!   outside) the path is made of.

mod support;

use lmcp::tools::roots::Roots;
use proptest::prelude::*;
use serde_json::Value;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
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

/// A tree with a root holding files, a subdirectory and symlinks that point
/// inside and outside it; returns (tempdir guard, root, outside dir).
fn tree() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    let out = t.path().join("outside");
    std::fs::create_dir_all(root.join("a/b")).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(root.join("a/file"), "in").unwrap();
    std::fs::write(out.join("secret"), "out").unwrap();
    std::os::unix::fs::symlink(&out, root.join("link_out")).unwrap();
    std::os::unix::fs::symlink(out.join("secret"), root.join("a/file_out")).unwrap();
    std::os::unix::fs::symlink(root.join("a"), root.join("link_in")).unwrap();
    std::os::unix::fs::symlink("../..", root.join("a/b/up2")).unwrap();
    (t, root, out)
}

fn component() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("..".to_owned()),
        Just(".".to_owned()),
        Just("a".to_owned()),
        Just("b".to_owned()),
        Just("file".to_owned()),
        Just("file_out".to_owned()),
        Just("link_out".to_owned()),
        Just("link_in".to_owned()),
        Just("up2".to_owned()),
        Just("secret".to_owned()),
        Just("new".to_owned()),
        Just("outside".to_owned()),
        Just("root".to_owned()),
    ]
}

fn inside(p: &Path, root: &Path) -> bool {
    p.starts_with(root)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn resolution_never_leaves_the_roots(parts in proptest::collection::vec(component(), 1..7), absolute in any::<bool>()) {
        let (_t, root, _out) = tree();
        let root = root.canonicalize().unwrap();
        let roots = Roots::new(vec![root.clone()]).unwrap();
        let rel = parts.join("/");
        let user = if absolute {
            format!("{}/{rel}", root.display())
        } else {
            rel
        };
        if let Ok(p) = roots.resolve_existing(&user) {
            let real = p.canonicalize().unwrap_or(p.clone());
            prop_assert!(inside(&real, &root), "{user} resolved to {} outside {}", real.display(), root.display());
        }
        if let Ok(p) = roots.resolve_new(&user) {
            let parent = p.parent().unwrap_or(&p);
            let real = parent.canonicalize().unwrap_or(parent.to_path_buf());
            prop_assert!(inside(&real, &root), "new {user} would land in {} outside {}", real.display(), root.display());
        }
        if let Ok(p) = roots.resolve_dir(Some(&user)) {
            let real = p.canonicalize().unwrap_or(p.clone());
            prop_assert!(inside(&real, &root), "dir {user} resolved to {} outside", real.display());
        }
    }
}
