//! `write_file`: create or replace a file atomically, or append to it.

use super::atomic::{append_to, write_atomic, Expect};
use super::{blocking, roots_for, FsConfig, FsError};
use crate::server::{Tool, ToolResult};
use crate::tools::schemas::stored;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

/// How `write_file` writes.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum WriteMode {
    /// Replace the whole file atomically (the default).
    #[default]
    Replace,
    /// Append to the end of the file (created if missing) without rewriting it.
    Append,
}

/// Arguments of `write_file`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct WriteArgs {
    /// File to create, replace or append to (relative to the first root, or absolute inside a root).
    pub path: String,
    /// The file's complete new content, or (mode "append") the text to add at its end.
    pub content: String,
    /// Create missing parent directories (default false).
    #[serde(default)]
    pub create_parents: bool,
    /// Write only if the file still has this SHA-256 (hex, as `read_file` or `file_info` report it).
    #[serde(default)]
    pub expected_sha256: Option<String>,
    /// Write only if the file still has this modification time (Unix ms, as `read_file` or `file_info` report it).
    #[serde(default)]
    pub expected_mtime_ms: Option<u64>,
    /// "replace" (default): replace the whole file atomically; "append": add content at its end.
    #[serde(default)]
    pub mode: WriteMode,
}

/// The `write_file` tool.
pub(crate) fn tool(cfg: Arc<FsConfig>) -> Tool {
    Tool::typed_with_schema::<WriteArgs, _, _>(
        "write_file",
        "Create a file or replace its whole content, atomically (the old content stays intact if anything fails). \
         Keeps the old file's permissions. Pass expected_sha256 or expected_mtime_ms from an earlier read to refuse \
         overwriting a file that changed since. mode \"append\" adds content at the end instead (creating the file if \
         missing) without rewriting it. Prefer edit_file for changes to part of a file.",
        stored!("write_file", WriteArgs),
        move |a: WriteArgs, ctx| {
            let cfg = cfg.clone();
            async move {
                let roots = roots_for(&cfg, &ctx).await?;
                let max = cfg.max_write_bytes;
                blocking(move || {
                    if a.content.len() as u64 > max {
                        return Err(FsError::Invalid(format!(
                            "content is {} bytes, more than the limit of {max} bytes",
                            a.content.len()
                        )));
                    }
                    let path = roots.resolve_new(&a.path)?;
                    let expect = Expect {
                        sha256: a.expected_sha256,
                        mtime_ms: a.expected_mtime_ms,
                        unchanged_since: None,
                    };
                    let shown = roots.display(&path);
                    if a.mode == WriteMode::Append {
                        let w = append_to(&roots, &path, a.content.as_bytes(), a.create_parents, &expect, &a.path)?;
                        let verb = if w.created { "Created" } else { "Appended to" };
                        return Ok(ToolResult::text(format!("{verb} {shown} (+{} bytes, {} bytes now)", a.content.len(), w.size))
                            .with_structured(json!({
                                "path": shown,
                                "bytes": a.content.len(),
                                "size": w.size,
                                "created": w.created,
                                "mode": "append",
                                "mtime_ms": w.mtime_ms,
                            })));
                    }
                    let w = write_atomic(&roots, &path, a.content.as_bytes(), a.create_parents, &expect, &a.path)?;
                    let verb = if w.created { "Created" } else { "Replaced" };
                    Ok(ToolResult::text(format!("{verb} {shown} ({} bytes)", a.content.len())).with_structured(json!({
                        "path": shown,
                        "bytes": a.content.len(),
                        "created": w.created,
                        "sha256": w.sha256,
                        "mode": "replace",
                        "mtime_ms": w.mtime_ms,
                    })))
                })
                .await
            }
        },
    )
    .title("Write file")
    .destructive()
    .idempotent()
    .open_world(false)
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{call, env};
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn names(dir: &std::path::Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[tokio::test]
    async fn creates_and_replaces_keeping_permissions() {
        let e = env();
        let t = tool(e.cfg.clone());
        let r = call(&t, json!({"path": "a.txt", "content": "one"}))
            .await
            .unwrap();
        assert_eq!(r.structured.as_ref().unwrap()["created"], true);
        std::fs::set_permissions(e.root.join("a.txt"), std::fs::Permissions::from_mode(0o600))
            .unwrap();
        let r = call(&t, json!({"path": "a.txt", "content": "two"}))
            .await
            .unwrap();
        assert_eq!(r.structured.as_ref().unwrap()["created"], false);
        assert_eq!(
            std::fs::read_to_string(e.root.join("a.txt")).unwrap(),
            "two"
        );
        let mode = std::fs::metadata(e.root.join("a.txt"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(names(&e.root), ["a.txt"]);
    }

    #[tokio::test]
    async fn append_adds_without_rewriting_and_checks_expectations() {
        let e = env();
        let t = tool(e.cfg.clone());
        let r = call(
            &t,
            json!({"path": "log.txt", "content": "a\n", "mode": "append"}),
        )
        .await
        .unwrap();
        assert_eq!(r.structured.as_ref().unwrap()["created"], true);
        let ino = std::os::unix::fs::MetadataExt::ino(
            &std::fs::metadata(e.root.join("log.txt")).unwrap(),
        );
        let r = call(
            &t,
            json!({"path": "log.txt", "content": "b\n", "mode": "append"}),
        )
        .await
        .unwrap();
        assert_eq!(r.structured.as_ref().unwrap()["size"], 4);
        assert_eq!(
            std::fs::read_to_string(e.root.join("log.txt")).unwrap(),
            "a\nb\n"
        );
        // The same inode: appended in place, not replaced.
        assert_eq!(
            ino,
            std::os::unix::fs::MetadataExt::ino(
                &std::fs::metadata(e.root.join("log.txt")).unwrap()
            )
        );
        let err = call(
            &t,
            json!({"path": "log.txt", "content": "c", "mode": "append", "expected_sha256": "00"}),
        )
        .await
        .unwrap_err();
        assert!(err.contains("changed since"), "{err}");
        let err = call(
            &t,
            json!({"path": "log.txt", "content": "c", "mode": "append", "expected_mtime_ms": 1}),
        )
        .await
        .unwrap_err();
        assert!(err.contains("changed since"), "{err}");
        let sha = crate::tools::fs::sha256_hex(b"a\nb\n");
        call(
            &t,
            json!({"path": "log.txt", "content": "c", "mode": "append", "expected_sha256": sha}),
        )
        .await
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(e.root.join("log.txt")).unwrap(),
            "a\nb\nc"
        );
        assert!(call(
            &t,
            json!({"path": "../x", "content": "c", "mode": "append"})
        )
        .await
        .unwrap_err()
        .contains("outside"));
        assert!(call(
            &t,
            json!({"path": "log.txt", "content": "c", "mode": "insert"})
        )
        .await
        .is_err());
        assert_eq!(names(&e.root), ["log.txt"]);
    }

    #[tokio::test]
    async fn parents_only_on_request() {
        let e = env();
        let t = tool(e.cfg.clone());
        let err = call(&t, json!({"path": "x/y/a.txt", "content": "1"}))
            .await
            .unwrap_err();
        assert!(err.contains("create_parents"), "{err}");
        call(
            &t,
            json!({"path": "x/y/a.txt", "content": "1", "create_parents": true}),
        )
        .await
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(e.root.join("x/y/a.txt")).unwrap(),
            "1"
        );
    }

    #[tokio::test]
    async fn optimistic_checks() {
        let e = env();
        let t = tool(e.cfg.clone());
        let r = call(&t, json!({"path": "a.txt", "content": "v1"}))
            .await
            .unwrap();
        let s = r.structured.unwrap();
        let err = call(
            &t,
            json!({"path": "a.txt", "content": "v2", "expected_sha256": "00"}),
        )
        .await
        .unwrap_err();
        assert!(err.contains("changed since it was read"), "{err}");
        let err = call(
            &t,
            json!({"path": "a.txt", "content": "v2", "expected_mtime_ms": 1}),
        )
        .await
        .unwrap_err();
        assert!(err.contains("changed since"), "{err}");
        assert_eq!(std::fs::read_to_string(e.root.join("a.txt")).unwrap(), "v1");
        call(&t, json!({"path": "a.txt", "content": "v2", "expected_sha256": s["sha256"], "expected_mtime_ms": s["mtime_ms"]}))
            .await
            .unwrap();
        assert_eq!(std::fs::read_to_string(e.root.join("a.txt")).unwrap(), "v2");
        assert_eq!(names(&e.root), ["a.txt"]);
    }

    #[tokio::test]
    async fn refusals_leave_no_temp_file() {
        let e = env();
        let t = tool(e.cfg.clone());
        // Parent is a file: fails even for root.
        std::fs::write(e.root.join("f"), "x").unwrap();
        let err = call(
            &t,
            json!({"path": "f/a.txt", "content": "1", "create_parents": true}),
        )
        .await
        .unwrap_err();
        assert!(err.contains("f/a.txt"), "{err}");
        assert!(call(&t, json!({"path": "../escape.txt", "content": "1"}))
            .await
            .unwrap_err()
            .contains("outside"));
        std::fs::create_dir(e.root.join("d")).unwrap();
        assert!(call(&t, json!({"path": "d", "content": "1"}))
            .await
            .unwrap_err()
            .contains("directory"));
        assert_eq!(names(&e.root), ["d", "f"]);
        assert!(names(e.root.parent().unwrap()).iter().all(|n| n == "root"));
    }

    #[tokio::test]
    async fn read_only_directory_gives_clear_error() {
        // Root bypasses permission bits, so this check needs an ordinary user.
        let euid = std::fs::metadata("/proc/self")
            .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
            .unwrap_or(0);
        if euid == 0 {
            eprintln!("skipped: running as root, which ignores directory permissions");
            return;
        }
        let e = env();
        let t = tool(e.cfg.clone());
        std::fs::create_dir(e.root.join("ro")).unwrap();
        std::fs::set_permissions(e.root.join("ro"), std::fs::Permissions::from_mode(0o555))
            .unwrap();
        let err = call(&t, json!({"path": "ro/a.txt", "content": "1"}))
            .await
            .unwrap_err();
        assert!(err.contains("permission denied"), "{err}");
        assert!(names(&e.root.join("ro")).is_empty());
    }
}
