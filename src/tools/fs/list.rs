//! `list_dir`: directory entries (or a tree with `depth`) with type, size and
//! modification time; hidden and ignored files left out unless asked; sorted;
//! capped with a count of what was left out.

use super::{blocking, iso_time, roots_for, unix_ms, FsConfig, FsError};
use crate::server::{Tool, ToolResult};
use crate::tools::schemas::stored;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

/// Arguments of `list_dir`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListArgs {
    /// Directory to list (default: the first root).
    #[serde(default)]
    pub path: Option<String>,
    /// How many levels to descend (1 = the directory's own entries; at most 20).
    #[serde(default)]
    pub depth: Option<usize>,
    /// Include hidden files (names starting with a dot).
    #[serde(default)]
    pub show_hidden: bool,
    /// Include files excluded by .gitignore and .ignore files.
    #[serde(default)]
    pub include_ignored: bool,
    /// Largest number of entries to return.
    #[serde(default)]
    pub max_entries: Option<usize>,
    /// Continue a listing: the `next_cursor` of the previous answer (same path and options).
    #[serde(default)]
    pub cursor: Option<String>,
    /// Largest answer in bytes, text and structured content together (default and maximum: the server's output budget).
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub max_bytes: Option<u64>,
}

impl ListArgs {
    /// What defines the listing a cursor continues (not the page size).
    fn digest(&self) -> String {
        crate::tools::budget::query_digest(
            "list_dir",
            &json!([
                self.path,
                self.depth.unwrap_or(1).clamp(1, 20),
                self.show_hidden,
                self.include_ignored
            ]),
        )
    }
}

/// A walker over `dir` honouring the hidden/ignore choices; symlinks are
/// not followed, so the walk stays inside the roots.
pub(crate) fn walker(
    dir: &std::path::Path,
    show_hidden: bool,
    include_ignored: bool,
) -> ignore::WalkBuilder {
    let mut b = ignore::WalkBuilder::new(dir);
    let respect = !include_ignored;
    b.hidden(!show_hidden)
        .ignore(respect)
        .git_ignore(respect)
        .git_exclude(respect)
        .git_global(respect)
        .parents(respect)
        .require_git(false)
        .follow_links(false);
    b
}

/// The `list_dir` tool.
pub(crate) fn tool(cfg: Arc<FsConfig>) -> Tool {
    Tool::typed_with_schema::<ListArgs, _, _>(
        "list_dir",
        "List a directory's entries with type, size and modification time, sorted by name; depth > 1 gives a tree. \
         Hidden and .gitignored files are left out unless show_hidden / include_ignored are set. The list is capped \
         (max_entries, and the output budget); a note says how many entries were left out, and next_cursor, passed \
         back as cursor, continues the listing.",
        stored!("list_dir", ListArgs),
        move |a: ListArgs, ctx| {
            let cfg = cfg.clone();
            async move {
                let roots = roots_for(&cfg, &ctx).await?;
                let cancel = ctx.cancellation().clone();
                let cap = a.max_entries.unwrap_or(cfg.max_list_entries).clamp(1, cfg.max_list_entries);
                let budget = crate::tools::budget::effective(cfg.max_result_bytes, a.max_bytes);
                blocking(move || {
                    let digest = a.digest();
                    let after = match &a.cursor {
                        None => None,
                        Some(c) => {
                            let p = crate::tools::budget::open_cursor(c, &digest).map_err(FsError::Invalid)?;
                            Some(std::path::PathBuf::from(p.as_str().unwrap_or_default()))
                        }
                    };
                    // Room for the closing note with its cursor, and the structured wrapper.
                    let room = budget.saturating_sub(600).max(1);
                    let (mut used, mut last) = (0usize, None::<std::path::PathBuf>);
                    let dir = roots.resolve_dir(a.path.as_deref())?;
                    let depth = a.depth.unwrap_or(1).clamp(1, 20);
                    let mut b = walker(&dir, a.show_hidden, a.include_ignored);
                    b.max_depth(Some(depth)).sort_by_file_name(|x, y| x.cmp(y));
                    let (mut text, mut entries, mut left_out) = (String::new(), Vec::new(), 0usize);
                    for item in b.build() {
                        if cancel.is_cancelled() {
                            return Err(FsError::Cancelled);
                        }
                        // A directory that cannot be read (out of descriptors,
                        // permissions) is an error, never an empty listing.
                        let ent = match item {
                            Ok(ent) => ent,
                            Err(e) if e.io_error().is_some() => {
                                return Err(FsError::Invalid(format!(
                                    "cannot list {}: {e}",
                                    a.path.as_deref().unwrap_or(".")
                                )))
                            }
                            Err(_) => continue,
                        };
                        if ent.depth() == 0 {
                            continue;
                        }
                        let rel_path = ent.path().strip_prefix(&dir).unwrap_or(ent.path());
                        if after.as_deref().is_some_and(|a| rel_path <= a) {
                            continue;
                        }
                        if entries.len() >= cap || used >= room {
                            left_out += 1;
                            continue;
                        }
                        let rel = rel_path.to_string_lossy();
                        let meta = ent.metadata().ok();
                        let ft = ent.file_type();
                        let kind = match ft {
                            Some(t) if t.is_dir() => "dir",
                            Some(t) if t.is_file() => "file",
                            Some(t) if t.is_symlink() => "symlink",
                            _ => "other",
                        };
                        let size = meta.as_ref().map(|m| m.len()).unwrap_or(0);
                        let mtime = meta.as_ref().and_then(|m| m.modified().ok());
                        let indent = "  ".repeat(ent.depth() - 1);
                        let name = ent.file_name().to_string_lossy();
                        let name = super::escape_name(&name);
                        let when = mtime.map(iso_time).unwrap_or_default();
                        let line = match kind {
                            "dir" => format!("{indent}{name}/  {when}\n"),
                            "symlink" => format!("{indent}{name}@  {when}\n"),
                            _ => format!("{indent}{name}  {size} B  {when}\n"),
                        };
                        let item = json!({
                            "path": rel,
                            "type": kind,
                            "size": size,
                            "mtime_ms": mtime.map(unix_ms),
                        });
                        let cost = line.len() + item.to_string().len() + 1;
                        if !entries.is_empty() && used + cost > room {
                            used = room;
                            left_out += 1;
                            continue;
                        }
                        used += cost;
                        text.push_str(&line);
                        entries.push(item);
                        last = Some(rel_path.to_path_buf());
                    }
                    if entries.is_empty() {
                        text.push_str("(empty)\n");
                    }
                    let mut s = json!({
                        "path": roots.display(&dir),
                        "entries": entries,
                        "left_out": left_out,
                    });
                    if left_out > 0 {
                        let cursor = last.map(|l| crate::tools::budget::seal_cursor(&digest, json!(l.to_string_lossy())));
                        text.push_str(&format!(
                            "[{left_out} more entries left out; raise max_entries (at most {}) or list a subdirectory",
                            cfg.max_list_entries
                        ));
                        if let Some(c) = cursor {
                            text.push_str(&format!(", or continue with cursor: \"{c}\""));
                            s["next_cursor"] = json!(c);
                        }
                        text.push_str("]\n");
                    }
                    Ok(ToolResult::text(text).with_structured(s))
                })
                .await
            }
        },
    )
    .title("List directory")
    .read_only()
    .idempotent()
    .open_world(false)
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{call, env, text};
    use super::*;

    #[tokio::test]
    async fn lists_sorted_hides_hidden_and_ignored_caps() {
        let e = env();
        for f in ["b.txt", "a.txt", ".hidden", "skip.log", "sub/c.txt"] {
            let p = e.root.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "12345").unwrap();
        }
        std::fs::write(e.root.join(".gitignore"), "*.log\n").unwrap();
        let t = tool(e.cfg.clone());
        let r = call(&t, json!({})).await.unwrap();
        let s = r.structured.clone().unwrap();
        let names: Vec<&str> = s["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["path"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["a.txt", "b.txt", "sub"]);
        assert_eq!(s["entries"][0]["size"], 5);
        assert_eq!(s["entries"][2]["type"], "dir");
        assert!(text(&r).contains("a.txt  5 B  "));
        let r = call(
            &t,
            json!({"depth": 2, "show_hidden": true, "include_ignored": true}),
        )
        .await
        .unwrap();
        let out = text(&r);
        assert!(
            out.contains(".hidden") && out.contains("skip.log") && out.contains("  c.txt"),
            "{out}"
        );
        let r = call(&t, json!({"max_entries": 1})).await.unwrap();
        assert!(
            text(&r).contains("[2 more entries left out"),
            "{}",
            text(&r)
        );
        // The note names the configured maximum, not the caller's own limit.
        assert!(
            text(&r).contains("raise max_entries (at most 1000)"),
            "{}",
            text(&r)
        );
        let small = Arc::new(FsConfig {
            max_list_entries: 2,
            ..(*e.cfg).clone()
        });
        let r = call(&tool(small), json!({"max_entries": 50}))
            .await
            .unwrap();
        assert!(
            text(&r).contains("[1 more entries left out; raise max_entries (at most 2)"),
            "{}",
            text(&r)
        );
    }

    #[tokio::test]
    async fn refusals() {
        let e = env();
        let t = tool(e.cfg.clone());
        assert!(call(&t, json!({"path": ".."}))
            .await
            .unwrap_err()
            .contains("outside"));
        std::os::unix::fs::symlink("/", e.root.join("rootlink")).unwrap();
        assert!(call(&t, json!({"path": "rootlink"}))
            .await
            .unwrap_err()
            .contains("outside"));
        std::fs::write(e.root.join("f"), "").unwrap();
        assert!(call(&t, json!({"path": "f"}))
            .await
            .unwrap_err()
            .contains("not a directory"));
        // A symlinked directory is listed as a symlink, not followed.
        let r = call(&t, json!({"depth": 3})).await.unwrap();
        assert!(
            text(&r).contains("rootlink@") && !text(&r).contains("etc"),
            "{}",
            text(&r)
        );
    }
}
