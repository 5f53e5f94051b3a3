//! `file_info`, `make_dir` and `move_file`.

use super::atomic::create_dirs;
use super::{blocking, io_err, iso_time, roots_for, sha256_reader, unix_ms, FsConfig, FsError};
use crate::server::{Tool, ToolResult};
use crate::tools::roots::Roots;
use crate::tools::schemas::stored;
use rustix::fs::{AtFlags, RenameFlags};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

/// Arguments naming one path.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PathArgs {
    /// The path (relative to the first root, or absolute inside a root).
    pub path: String,
}

/// The `file_info` tool.
pub(crate) fn info_tool(cfg: Arc<FsConfig>) -> Tool {
    Tool::typed_with_schema::<PathArgs, _, _>(
        "file_info",
        "Show a file's or directory's type, size, permissions and times (and sha256 for files up to the write limit, \
         for write_file's optimistic check).",
        stored!("file_info", PathArgs),
        move |a: PathArgs, ctx| {
            let cfg = cfg.clone();
            async move {
                let roots = roots_for(&cfg, &ctx).await?;
                let max = cfg.max_write_bytes;
                blocking(move || {
                    let (path, mut file) = roots.open_read(&a.path)?;
                    let m = file.metadata().map_err(io_err("inspect", &a.path))?;
                    let kind = if m.is_dir() { "dir" } else if m.is_file() { "file" } else { "other" };
                    let t = |secs: i64| UNIX_EPOCH + Duration::from_secs(secs.max(0) as u64);
                    let mode = m.permissions().mode() & 0o7777;
                    let mut s = json!({
                        "path": roots.display(&path),
                        "type": kind,
                        "size": m.len(),
                        "mode": format!("{mode:04o}"),
                        "readonly": m.permissions().readonly(),
                        "mtime_ms": m.modified().map(unix_ms).unwrap_or(0),
                        "mtime": iso_time(t(m.mtime())),
                        "atime": iso_time(t(m.atime())),
                        "ctime": iso_time(t(m.ctime())),
                    });
                    if let Ok(c) = m.created() {
                        s["created"] = json!(iso_time(c));
                    }
                    if m.is_file() && m.len() <= max {
                        s["sha256"] = json!(sha256_reader(&mut file).map_err(io_err("read", &a.path))?);
                    }
                    Ok(ToolResult::structured(s))
                })
                .await
            }
        },
    )
    .title("File info")
    .read_only()
    .idempotent()
    .open_world(false)
}

/// The `make_dir` tool.
pub(crate) fn make_dir_tool(cfg: Arc<FsConfig>) -> Tool {
    Tool::typed_with_schema::<PathArgs, _, _>(
        "make_dir",
        "Create a directory and any missing parents; succeeds if it already exists.",
        stored!("make_dir", PathArgs),
        move |a: PathArgs, ctx| {
            let cfg = cfg.clone();
            async move {
                let roots = roots_for(&cfg, &ctx).await?;
                blocking(move || {
                    let path = roots.resolve_new(&a.path)?;
                    if path.exists() && !path.is_dir() {
                        return Err(FsError::Invalid(format!(
                            "{} exists and is not a directory",
                            a.path
                        )));
                    }
                    let existed = path.is_dir();
                    create_dirs(&roots, &path, &a.path)?;
                    let shown = roots.display(&path);
                    let msg = if existed {
                        format!("{shown} already exists")
                    } else {
                        format!("Created {shown}/")
                    };
                    Ok(ToolResult::text(msg)
                        .with_structured(json!({"path": shown, "created": !existed})))
                })
                .await
            }
        },
    )
    .title("Make directory")
    .destructive()
    .idempotent()
    .open_world(false)
}

/// Arguments of `move_file`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MoveArgs {
    /// What to move (a file, directory or symlink itself).
    pub path: String,
    /// Where to move it (its parent directory must exist).
    pub destination: String,
    /// Replace an existing destination (default false).
    #[serde(default)]
    pub overwrite: bool,
}

/// Split a user path into its verified parent directory and final name; the
/// final component itself is not followed.
pub(crate) fn parent_and_name(roots: &Roots, user: &str) -> Result<(PathBuf, String), FsError> {
    let p = Path::new(user);
    let name = match p.components().next_back() {
        Some(Component::Normal(n)) => n.to_string_lossy().into_owned(),
        _ => {
            return Err(FsError::Invalid(format!(
                "{user}: give a path ending in a file or directory name"
            )))
        }
    };
    let parent = p
        .parent()
        .map(|x| x.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = roots.resolve_dir(Some(parent.as_str()).filter(|s| !s.is_empty()))?;
    Ok((dir, name))
}

/// The `move_file` tool.
pub(crate) fn move_tool(cfg: Arc<FsConfig>) -> Tool {
    Tool::typed_with_schema::<MoveArgs, _, _>(
        "move_file",
        "Move or rename a file or directory within the roots. Refuses to replace an existing destination unless \
         overwrite is true.",
        stored!("move_file", MoveArgs),
        move |a: MoveArgs, ctx| {
            let cfg = cfg.clone();
            async move {
                let roots = roots_for(&cfg, &ctx).await?;
                blocking(move || {
                    let (sdir, sname) = parent_and_name(&roots, &a.path)?;
                    let (ddir, dname) = parent_and_name(&roots, &a.destination)?;
                    let sfd = roots.open_dir(&sdir, &a.path)?;
                    let dfd = roots.open_dir(&ddir, &a.destination)?;
                    rustix::fs::statat(&sfd, sname.as_str(), AtFlags::SYMLINK_NOFOLLOW).map_err(|_| {
                        FsError::Invalid(format!("{} does not exist", a.path))
                    })?;
                    let flags = if a.overwrite { RenameFlags::empty() } else { RenameFlags::NOREPLACE };
                    let r = rustix::fs::renameat_with(&sfd, sname.as_str(), &dfd, dname.as_str(), flags);
                    let r = match r {
                        Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) if !a.overwrite => {
                            // No RENAME_NOREPLACE here: check, then rename.
                            if rustix::fs::statat(&dfd, dname.as_str(), AtFlags::SYMLINK_NOFOLLOW).is_ok() {
                                Err(rustix::io::Errno::EXIST)
                            } else {
                                rustix::fs::renameat(&sfd, sname.as_str(), &dfd, dname.as_str())
                            }
                        }
                        other => other,
                    };
                    match r {
                        Ok(()) => {}
                        Err(rustix::io::Errno::EXIST) => {
                            return Err(FsError::Invalid(format!(
                                "{} already exists; pass overwrite: true to replace it",
                                a.destination
                            )))
                        }
                        Err(rustix::io::Errno::XDEV) => {
                            return Err(FsError::Invalid(format!(
                                "cannot move {} to {}: they are on different filesystems; copy with write_file instead",
                                a.path, a.destination
                            )))
                        }
                        Err(e) => return Err(io_err("move", &a.path)(e.into())),
                    }
                    let from = roots.display(&sdir.join(&sname));
                    let to = roots.display(&ddir.join(&dname));
                    Ok(ToolResult::text(format!("Moved {from} to {to}")).with_structured(json!({"from": from, "to": to})))
                })
                .await
            }
        },
    )
    .title("Move file")
    .destructive()
    .open_world(false)
}

#[cfg(test)]
mod tests {
    use super::super::sha256_hex;
    use super::super::test_util::{call, env, text};
    use super::*;

    #[tokio::test]
    async fn info_reports_type_size_mode() {
        let e = env();
        std::fs::write(e.root.join("a.txt"), "abc").unwrap();
        std::fs::set_permissions(e.root.join("a.txt"), std::fs::Permissions::from_mode(0o640))
            .unwrap();
        let t = info_tool(e.cfg.clone());
        let s = call(&t, json!({"path": "a.txt"}))
            .await
            .unwrap()
            .structured
            .unwrap();
        assert_eq!(
            (s["type"].as_str(), s["size"].as_u64(), s["mode"].as_str()),
            (Some("file"), Some(3), Some("0640"))
        );
        assert_eq!(s["sha256"], sha256_hex(b"abc"));
        assert!(call(&t, json!({"path": "/etc/passwd"}))
            .await
            .unwrap_err()
            .contains("outside"));
    }

    #[tokio::test]
    async fn make_dir_nested_and_confined() {
        let e = env();
        let t = make_dir_tool(e.cfg.clone());
        call(&t, json!({"path": "a/b/c"})).await.unwrap();
        assert!(e.root.join("a/b/c").is_dir());
        let r = call(&t, json!({"path": "a/b"})).await.unwrap();
        assert!(text(&r).contains("already exists"));
        assert!(call(&t, json!({"path": "../z"}))
            .await
            .unwrap_err()
            .contains("outside"));
        std::os::unix::fs::symlink(e.root.parent().unwrap(), e.root.join("up")).unwrap();
        assert!(call(&t, json!({"path": "up/z"}))
            .await
            .unwrap_err()
            .contains("outside"));
        assert!(!e.root.parent().unwrap().join("z").exists());
    }

    #[tokio::test]
    async fn move_no_overwrite_unless_asked() {
        let e = env();
        std::fs::write(e.root.join("a"), "A").unwrap();
        std::fs::write(e.root.join("b"), "B").unwrap();
        std::fs::create_dir(e.root.join("d")).unwrap();
        let t = move_tool(e.cfg.clone());
        let err = call(&t, json!({"path": "a", "destination": "b"}))
            .await
            .unwrap_err();
        assert!(err.contains("overwrite: true"), "{err}");
        assert_eq!(std::fs::read_to_string(e.root.join("b")).unwrap(), "B");
        call(
            &t,
            json!({"path": "a", "destination": "b", "overwrite": true}),
        )
        .await
        .unwrap();
        assert_eq!(std::fs::read_to_string(e.root.join("b")).unwrap(), "A");
        call(&t, json!({"path": "b", "destination": "d/c"}))
            .await
            .unwrap();
        assert!(e.root.join("d/c").is_file() && !e.root.join("b").exists());
        assert!(call(&t, json!({"path": "d/c", "destination": "../c"}))
            .await
            .unwrap_err()
            .contains("outside"));
        assert!(call(&t, json!({"path": "missing", "destination": "x"}))
            .await
            .unwrap_err()
            .contains("does not exist"));
    }
}
