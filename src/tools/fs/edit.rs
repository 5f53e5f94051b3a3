//! `edit_file`: exact text replacements, all or nothing, with a unified diff.
//!
//! Each edit's `old_text` must occur exactly once (unless `replace_all`); on
//! zero or several matches nothing is written and the error names the edit,
//! the match count and line numbers, and the nearest near-miss. Files whose
//! lines all end in CRLF are edited in LF form and written back as CRLF.

use super::atomic::{stat_mtime_ms, write_atomic, Expect};
use super::{blocking, io_err, roots_for, FsConfig, FsError};
use crate::server::{Tool, ToolResult};
use crate::tools::schemas::stored;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use std::io::Read;
use std::os::fd::AsFd;
use std::sync::Arc;

/// One replacement.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Edit {
    /// Exact text to find (whitespace and indentation included).
    pub old_text: String,
    /// Text to put in its place.
    pub new_text: String,
    /// Replace every occurrence instead of requiring exactly one.
    #[serde(default)]
    pub replace_all: bool,
}

/// Arguments of `edit_file`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EditArgs {
    /// File to edit (relative to the first root, or absolute inside a root).
    pub path: String,
    /// Replacements, applied in order; all apply or none do.
    pub edits: Vec<Edit>,
    /// Return the diff without writing.
    #[serde(default)]
    pub dry_run: bool,
}

/// The `edit_file` tool.
pub(crate) fn tool(cfg: Arc<FsConfig>) -> Tool {
    Tool::typed_with_schema::<EditArgs, _, _>(
        "edit_file",
        "Edit a text file by exact replacements: each edit's old_text must match exactly once (copy it from the file, \
         whitespace included) unless replace_all is set. Edits apply in order, all or none; on a failed match nothing \
         is written and the error shows match lines or the nearest near-miss. Returns a unified diff; dry_run shows \
         it without writing. CRLF line endings and the final newline are kept.",
        stored!("edit_file", EditArgs),
        move |a: EditArgs, ctx| {
            let cfg = cfg.clone();
            async move {
                let roots = roots_for(&cfg, &ctx).await?;
                let max = cfg.max_write_bytes;
                blocking(move || {
                    let (path, mut file) = roots.open_read(&a.path)?;
                    let st = rustix::fs::fstat(file.as_fd()).map_err(|e| io_err("read", &a.path)(e.into()))?;
                    if st.st_size as u64 > max {
                        return Err(FsError::Invalid(format!(
                            "{} is {} bytes, more than the edit limit of {max} bytes",
                            a.path, st.st_size
                        )));
                    }
                    let mut raw = Vec::new();
                    file.read_to_end(&mut raw).map_err(io_err("read", &a.path))?;
                    let original = String::from_utf8(raw).map_err(|_| {
                        FsError::Invalid(format!("{} is not UTF-8 text; edit_file only edits text files", a.path))
                    })?;
                    let updated = apply_edits(&original, &a.edits)?;
                    let shown = roots.display(&path);
                    let diff = similar::TextDiff::from_lines(&original, &updated)
                        .unified_diff()
                        .context_radius(3)
                        .header(&format!("a/{shown}"), &format!("b/{shown}"))
                        .to_string();
                    let changed = original != updated;
                    if !a.dry_run && changed {
                        let expect = Expect {
                            sha256: None,
                            mtime_ms: Some(stat_mtime_ms(&st)),
                        };
                        write_atomic(&roots, &path, updated.as_bytes(), false, &expect, &a.path)?;
                    }
                    let head = match (a.dry_run, changed) {
                        (_, false) => format!("No change to {shown}: the edits leave it as it was."),
                        (true, true) => format!("Dry run: would edit {shown} ({} edits); not written.", a.edits.len()),
                        (false, true) => format!("Edited {shown} ({} edits).", a.edits.len()),
                    };
                    Ok(ToolResult::text(format!("{head}\n{diff}")).with_structured(json!({
                        "path": shown,
                        "applied": !a.dry_run && changed,
                        "dry_run": a.dry_run,
                        "diff": diff,
                    })))
                })
                .await
            }
        },
    )
    .title("Edit file")
    .destructive()
    .open_world(false)
}

/// Apply `edits` to `original`, preserving CRLF line endings; the whole
/// result or the first failure.
pub(crate) fn apply_edits(original: &str, edits: &[Edit]) -> Result<String, FsError> {
    if edits.is_empty() {
        return Err(FsError::Invalid(
            "no edits given: pass at least one {old_text, new_text}".into(),
        ));
    }
    let crlf = original.contains("\r\n") && !original.replace("\r\n", "").contains('\n');
    let lf = |s: &str| {
        if crlf {
            s.replace("\r\n", "\n")
        } else {
            s.to_owned()
        }
    };
    let mut text = lf(original);
    for (i, e) in edits.iter().enumerate() {
        let n = i + 1;
        let old = lf(&e.old_text);
        let new = lf(&e.new_text);
        if old.is_empty() {
            return Err(FsError::Invalid(format!(
                "edit {n}: old_text is empty; give the exact text to replace"
            )));
        }
        let starts: Vec<usize> = text.match_indices(&old).map(|(p, _)| p).collect();
        match starts.len() {
            0 => return Err(FsError::Invalid(no_match(n, &text, &old))),
            1 => {}
            k if !e.replace_all => {
                let lines: Vec<String> = starts
                    .iter()
                    .map(|&p| line_of(&text, p).to_string())
                    .collect();
                return Err(FsError::Invalid(format!(
                    "edit {n}: old_text matches {k} times (lines {}); nothing was written. Add surrounding lines to \
                     old_text so it matches once, or set replace_all",
                    lines.join(", ")
                )));
            }
            _ => {}
        }
        text = text.replace(&old, &new);
    }
    Ok(if crlf {
        text.replace('\n', "\r\n")
    } else {
        text
    })
}

fn line_of(text: &str, byte: usize) -> usize {
    text[..byte].bytes().filter(|&b| b == b'\n').count() + 1
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Explain a failed match, showing the nearest near-miss.
fn no_match(n: usize, text: &str, old: &str) -> String {
    let mut msg = format!("edit {n}: old_text not found; nothing was written.");
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let want = old.split_inclusive('\n').count().max(1);
    if lines.is_empty() {
        return msg + " The file is empty.";
    }
    let window = want.min(lines.len());
    let target = squash(old);
    let mut best: Option<(f32, usize)> = None;
    // Whitespace-only differences first (cheap), then a similarity ratio
    // over a bounded number of windows. Both scans cost the file's length
    // times old_text's, the ratio quadratically so: they share a time budget
    // (a long old_text against a long file took minutes of CPU, found by
    // fuzzing), after which the best candidate so far is shown.
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(500);
    for start in 0..=lines.len() - window {
        if std::time::Instant::now() > deadline {
            break;
        }
        let cand: String = lines[start..start + window].concat();
        if squash(&cand) == target {
            best = Some((1.0, start));
            break;
        }
    }
    let whitespace_only = best.is_some();
    if best.is_none() && lines.len() <= 20_000 {
        for start in 0..=lines.len() - window {
            if std::time::Instant::now() > deadline {
                break;
            }
            let cand: String = lines[start..start + window].concat();
            let r = similar::TextDiff::configure()
                .deadline(deadline)
                .diff_chars(cand.as_str(), old)
                .ratio();
            if best.is_none_or(|(b, _)| r > b) {
                best = Some((r, start));
            }
        }
    }
    match best {
        Some((r, start)) if whitespace_only || r >= 0.5 => {
            let cand: String = lines[start..start + window].concat();
            let what = if whitespace_only {
                "differs only in whitespace (indentation, spaces or line breaks)".to_string()
            } else {
                format!("is {:.0}% similar", r * 100.0)
            };
            msg.push_str(&format!(
                " Nearest text, at line {}, {what}:\n{}",
                start + 1,
                cand.trim_end_matches('\n')
            ));
            msg.push_str("\nCopy the exact text from the file (read_file) into old_text.");
        }
        _ => msg.push_str(" Nothing similar was found; read the file again to get the exact text."),
    }
    msg
}

#[cfg(test)]
#[path = "edit_tests.rs"]
mod tests;
