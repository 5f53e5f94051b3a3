//! `edit_file`: exact text replacements, all or nothing, with a unified diff.
//!
//! Each edit's `old_text` must occur exactly once (unless `replace_all`); on
//! zero or several matches nothing is written and the error names the edit,
//! the match count and line numbers, and the nearest near-miss. Files whose
//! lines all end in CRLF are edited in LF form and written back as CRLF.
//! With `whitespace: "flexible"`, an `old_text` found nowhere exactly may
//! match whole lines differing only in indentation (see [`flexible`]).
//!
//! A concurrent writer is never silently overwritten: the file's state
//! (inode, size, nanosecond times) is checked again just before the rename,
//! the edit is redone when it changed, and bytes appended in the last
//! instant before the rename are carried over to the new file.

mod flexible;

use super::atomic::{append_to, write_atomic, Expect, FileState};
use super::{blocking, io_err, roots_for, FsConfig, FsError};
use crate::server::{Tool, ToolResult};
use crate::tools::roots::Roots;
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
    /// Fail (writing nothing) unless old_text matches exactly this many times (use with replace_all).
    #[serde(default)]
    pub expected_replacements: Option<u32>,
}

/// How `old_text` may match.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Whitespace {
    /// Only the exact text matches (the default).
    #[default]
    Exact,
    /// Where old_text matches nowhere exactly, whole lines differing only in
    /// indentation and trailing spaces match; new_text is re-indented.
    Flexible,
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
    /// "exact" (default) or "flexible": an old_text found nowhere exactly may match lines that differ only in indentation and trailing spaces (still exactly once); new_text is re-indented to match.
    #[serde(default)]
    pub whitespace: Whitespace,
}

/// How often an edit is retried when the file changes under it.
const RETRIES: usize = 5;

/// The `edit_file` tool.
pub(crate) fn tool(cfg: Arc<FsConfig>) -> Tool {
    Tool::typed_with_schema::<EditArgs, _, _>(
        "edit_file",
        "Edit a text file by exact replacements: each edit's old_text must match exactly once (copy it from the file, \
         whitespace included) unless replace_all is set; expected_replacements makes the count exact. Edits apply in \
         order, all or none; on a failed match nothing is written and the error shows match lines or the nearest \
         near-miss. whitespace \"flexible\" lets old_text match lines differing only in indentation and trailing spaces \
         (re-indenting new_text). Returns a unified diff; dry_run shows it without writing. CRLF line endings and the \
         final newline are kept.",
        stored!("edit_file", EditArgs),
        move |a: EditArgs, ctx| {
            let cfg = cfg.clone();
            async move {
                let roots = roots_for(&cfg, &ctx).await?;
                let max = cfg.max_write_bytes;
                blocking(move || {
                    let mut attempt = 0;
                    loop {
                        match edit_once(&roots, &a, max) {
                            Err(FsError::Changed(m)) if attempt + 1 < RETRIES => {
                                log::debug!("edit_file: {m}; retrying");
                                attempt += 1;
                            }
                            other => return other,
                        }
                    }
                })
                .await
            }
        },
    )
    .title("Edit file")
    .destructive()
    .open_world(false)
}

/// Read, edit and (unless a dry run) write the file once.
fn edit_once(roots: &Roots, a: &EditArgs, max: u64) -> Result<ToolResult, FsError> {
    let (path, mut file) = roots.open_read(&a.path)?;
    let st = rustix::fs::fstat(file.as_fd()).map_err(|e| io_err("read", &a.path)(e.into()))?;
    if rustix::fs::FileType::from_raw_mode(st.st_mode) != rustix::fs::FileType::RegularFile {
        return Err(FsError::Invalid(format!(
            "{} is not a regular file; edit_file edits text files",
            a.path
        )));
    }
    if st.st_size as u64 > max {
        return Err(FsError::Invalid(format!(
            "{} is {} bytes, more than the edit limit of {max} bytes",
            a.path, st.st_size
        )));
    }
    let mut raw = Vec::new();
    file.read_to_end(&mut raw)
        .map_err(io_err("read", &a.path))?;
    let original = String::from_utf8(raw).map_err(|_| {
        FsError::Invalid(format!(
            "{} is not UTF-8 text; edit_file only edits text files",
            a.path
        ))
    })?;
    let applied = apply_edits_with(&original, &a.edits, a.whitespace)?;
    let updated = applied.text;
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
            mtime_ms: None,
            unchanged_since: Some(FileState::of(&st)),
        };
        write_atomic(roots, &path, updated.as_bytes(), false, &expect, &a.path)?;
        rescue_late_append(roots, &path, &mut file, &st, &a.path)?;
    }
    let n = a.edits.len();
    let mut head = match (a.dry_run, changed) {
        (_, false) => format!("No change to {shown}: the edits leave it as it was."),
        (true, true) => format!("Dry run: would edit {shown} ({n} edits); not written."),
        (false, true) => format!("Edited {shown} ({n} edits)."),
    };
    if !applied.flexible.is_empty() {
        let list: Vec<String> = applied.flexible.iter().map(usize::to_string).collect();
        head.push_str(&format!(
            " Matched ignoring indentation and trailing spaces: edit {}.",
            list.join(", ")
        ));
    }
    Ok(
        ToolResult::text(format!("{head}\n{diff}")).with_structured(json!({
            "path": shown,
            "applied": !a.dry_run && changed,
            "dry_run": a.dry_run,
            "flexible_matches": applied.flexible,
            "replacements": applied.counts,
            "diff": diff,
        })),
    )
}

/// A write that raced the rename: the bytes another process appended to the
/// old file (`file`, still open) after the last check went to the replaced
/// inode. When the old file only grew, append what it gained to the new one,
/// so an appender loses nothing; any other late change is reported.
fn rescue_late_append(
    roots: &Roots,
    path: &std::path::Path,
    file: &mut std::fs::File,
    before: &rustix::fs::Stat,
    user: &str,
) -> Result<(), FsError> {
    use std::io::{Seek, SeekFrom};
    let Ok(now) = rustix::fs::fstat(file.as_fd()) else {
        return Ok(());
    };
    // Size and mtime only: the rename unlinked the old inode, which changes
    // its ctime (link count) without anyone writing to it.
    let content = |st: &rustix::fs::Stat| (st.st_size, st.st_mtime, st.st_mtime_nsec);
    if content(&now) == content(before) {
        return Ok(());
    }
    if now.st_size <= before.st_size {
        return Err(FsError::Invalid(format!(
            "{user} was changed by another process at the moment it was replaced; the edit is written, but that \
             change was lost. Read the file again and check it"
        )));
    }
    let mut tail = Vec::new();
    file.seek(SeekFrom::Start(before.st_size as u64))
        .and_then(|_| file.read_to_end(&mut tail))
        .map_err(io_err("read", user))?;
    let expect = Expect::default();
    append_to(roots, path, &tail, false, &expect, user)?;
    log::info!(
        "edit_file: kept {} bytes appended to {user} while it was being replaced",
        tail.len()
    );
    Ok(())
}

/// The result of applying edits.
#[derive(Debug)]
pub(crate) struct Applied {
    /// The edited text.
    pub text: String,
    /// The (1-based) edits that matched only ignoring whitespace.
    pub flexible: Vec<usize>,
    /// How many places each edit replaced.
    pub counts: Vec<usize>,
}

/// Apply `edits` to `original` matching exactly, preserving CRLF line
/// endings; the whole result or the first failure.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn apply_edits(original: &str, edits: &[Edit]) -> Result<String, FsError> {
    apply_edits_with(original, edits, Whitespace::Exact).map(|a| a.text)
}

/// Apply `edits` to `original` (see [`Whitespace`]), preserving CRLF line
/// endings; the whole result or the first failure.
pub(crate) fn apply_edits_with(
    original: &str,
    edits: &[Edit],
    whitespace: Whitespace,
) -> Result<Applied, FsError> {
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
    let mut flexible = Vec::new();
    let mut counts = Vec::new();
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
        let mut loose = Vec::new();
        if starts.is_empty() && whitespace == Whitespace::Flexible {
            loose = flexible::find(&text, &old);
        }
        let found = if starts.is_empty() {
            loose.len()
        } else {
            starts.len()
        };
        if let Some(want) = e.expected_replacements {
            if found != want as usize {
                return Err(FsError::Invalid(format!(
                    "edit {n}: old_text matches {found} times, but expected_replacements is {want}; nothing was written"
                )));
            }
        }
        match found {
            0 => return Err(FsError::Invalid(no_match(n, &text, &old))),
            1 => {}
            k if !e.replace_all && e.expected_replacements.is_none() => {
                let lines: Vec<String> = if starts.is_empty() {
                    loose
                        .iter()
                        .map(|m| (m.first_line + 1).to_string())
                        .collect()
                } else {
                    starts
                        .iter()
                        .map(|&p| line_of(&text, p).to_string())
                        .collect()
                };
                let how = if starts.is_empty() {
                    " ignoring indentation"
                } else {
                    ""
                };
                return Err(FsError::Invalid(format!(
                    "edit {n}: old_text matches {k} times{how} (lines {}); nothing was written. Add surrounding lines to \
                     old_text so it matches once, or set replace_all",
                    lines.join(", ")
                )));
            }
            _ => {}
        }
        counts.push(found);
        if starts.is_empty() {
            flexible.push(n);
            text = flexible::replace(&text, &new, &loose);
        } else {
            text = text.replace(&old, &new);
        }
    }
    let text = if crlf {
        text.replace('\n', "\r\n")
    } else {
        text
    };
    Ok(Applied {
        text,
        flexible,
        counts,
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
