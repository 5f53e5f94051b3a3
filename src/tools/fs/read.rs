//! `read_file`: text by lines (offset/limit/tail, optional numbers) under a
//! byte cap, images as image content, other binaries as a short description;
//! several files per call. Reads stream, so a window of a huge file costs
//! only that window.

use super::read_lines::{read_tail, read_window, Window};
use super::{blocking, io_err, roots_for, unix_ms, FsConfig, FsError};
use crate::protocol::Content;
use crate::server::{Tool, ToolError, ToolResult};
use crate::tools::roots::Roots;
use crate::tools::schemas::stored;
use base64::Engine;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};
use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Room kept for the notes a document reader adds after its text.
#[cfg(feature = "docs")]
const DOC_NOTE_ROOM: usize = 512;

/// Room kept within a text answer's budget for the note saying how to go on.
const NOTE_ROOM: usize = 224;

/// Room kept within a list's budget for the note naming the files left out.
const SKIP_NOTE_ROOM: usize = 512;

/// Most files one `read_file` call reads.
pub(crate) const MAX_PATHS: usize = 100;

/// Arguments of `read_file`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReadArgs {
    /// File to read (relative to the first root, or absolute inside a root), or a list of files to read in one
    /// call, each with its own result.
    #[serde(default)]
    #[schemars(schema_with = "path_schema")]
    pub path: Option<PathArg>,
    /// The same as a list under `path` (kept for older callers).
    #[serde(default)]
    pub paths: Option<Vec<String>>,
    /// First line to return, 1-based (default 1); for a PDF the first page, for a presentation the first slide.
    #[serde(default)]
    pub offset: Option<u64>,
    /// Number of lines to return (pages of a PDF, slides of a presentation).
    #[serde(default)]
    pub limit: Option<u64>,
    /// Return the last N lines instead (ignores offset).
    #[serde(default)]
    pub tail: Option<u64>,
    /// Prefix each line with its number.
    #[serde(default)]
    pub line_numbers: bool,
    /// With offset: skip this many bytes of the first line (to read the rest of a line longer than the budget,
    /// as the note of the previous answer says).
    #[serde(default)]
    pub column: Option<u64>,
    /// Largest answer in bytes of text (default and maximum: the server's output budget); a list of files shares it.
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub max_bytes: Option<u64>,
    /// Spreadsheets: the sheet to show, by name or 1-based index (default the first).
    #[serde(default)]
    #[schemars(schema_with = "sheet_schema")]
    #[cfg_attr(not(feature = "docs"), allow(dead_code))]
    pub sheet: Option<Value>,
    /// Spreadsheets: the cells to show, such as `A1:D20` (default the whole sheet, within the output cap).
    #[serde(default)]
    #[cfg_attr(not(feature = "docs"), allow(dead_code))]
    pub range: Option<String>,
}

/// The `path` argument: one file, or several.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum PathArg {
    /// One file: one result.
    One(String),
    /// Several files: a result per file.
    Many(Vec<String>),
}

fn path_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "anyOf": [
            {"type": "string"},
            {"type": "array", "items": {"type": "string"}},
        ]
    })
}

fn sheet_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "anyOf": [{"type": "string"}, {"type": "integer", "minimum": 1}, {"type": "null"}],
        "default": null,
        "description": "Spreadsheets: the sheet to show, by name or 1-based index (default the first)."
    })
}

/// The `read_file` tool.
pub(crate) fn tool(cfg: Arc<FsConfig>) -> Tool {
    Tool::typed_with_schema::<ReadArgs, _, _>(
        "read_file",
        "Read a text file (or several: give `path` a list). Use offset (1-based first line) and limit (line count), or tail, \
         to read part of a large file; line_numbers prefixes each line with its number. The answer fits an output \
         budget (max_bytes lowers it): a longer file comes back in part with truncated: true, total_lines and a note \
         saying which offset continues; a list of files shares the budget and files left out say skipped: \"budget\". \
         Images (png, jpeg, gif, webp, bmp) come back as images, downscaled for a model; PDF (offset/limit count pages), \
         Word (.docx), OpenDocument (.odt), slides (.pptx) and spreadsheets (.xlsx, .xls, .ods, .csv; `sheet`, `range`) \
         as text within the same budget; audio as audio; other binary files as a description. \
         Reports sha256 (when the whole file was read) and mtime_ms for write_file's optimistic check.",
        stored!("read_file", ReadArgs),
        move |a: ReadArgs, ctx| {
            let cfg = cfg.clone();
            async move {
                let roots = roots_for(&cfg, &ctx).await?;
                let cancel = ctx.cancellation().clone();
                blocking(move || Ok(run(&cfg, &roots, a, &cancel))).await?
            }
        },
    )
    .title("Read file")
    .read_only()
    .idempotent()
    .open_world(false)
}

fn run(
    cfg: &FsConfig,
    roots: &Roots,
    a: ReadArgs,
    cancel: &CancellationToken,
) -> Result<ToolResult, ToolError> {
    let max = (cfg.max_result_bytes).min(usize::try_from(cfg.max_read_bytes).unwrap_or(usize::MAX));
    let budget = crate::tools::budget::effective(max, a.max_bytes);
    match (&a.path, &a.paths) {
        (Some(PathArg::One(p)), None) => {
            let (content, s) = read_one(cfg, roots, p, &a, budget, cancel)?;
            Ok(ToolResult::content(vec![content]).with_structured(s))
        }
        (Some(PathArg::Many(list)), None) | (None, Some(list)) if !list.is_empty() => {
            if list.len() > MAX_PATHS {
                return Err(ToolError::Tool(format!(
                    "`path` lists {} files; read at most {MAX_PATHS} per call",
                    list.len()
                )));
            }
            read_many(cfg, roots, list, &a, budget, cancel)
        }
        _ => Err(ToolError::Tool(
            "give `path`: one file, or a non-empty list of files (`paths` is the older name of the list; not both)"
                .into(),
        )),
    }
}

/// Several files sharing one budget: each is read with what is left of it
/// (so no file builds more than the budget in memory); the first file shown
/// may be cut with a note, a later one that does not fit whole is left out
/// with `skipped: "budget"`. Room is kept for the note naming those left out.
fn read_many(
    cfg: &FsConfig,
    roots: &Roots,
    list: &[String],
    a: &ReadArgs,
    budget: usize,
    cancel: &CancellationToken,
) -> Result<ToolResult, ToolError> {
    let mut blocks = Vec::new();
    let mut files = Vec::new();
    let (mut failed, mut used, mut skipped) = (0, 0usize, Vec::new());
    let room = budget - SKIP_NOTE_ROOM.min(budget / 4);
    for p in list {
        if cancel.is_cancelled() {
            return Err(FsError::Cancelled.into());
        }
        let header = format!("==> {p} <==\n");
        let left = room.saturating_sub(used + header.len());
        if left < 64 {
            skipped.push(p.as_str());
            files.push(json!({"path": p, "skipped": "budget"}));
            continue;
        }
        match read_one(cfg, roots, p, a, left, cancel) {
            Ok((c, s)) => {
                let size = match &c {
                    Content::Text { text, .. } => text.len(),
                    Content::Image { data, .. } | Content::Audio { data, .. } => data.len(),
                    _ => 0,
                };
                let cut = s["truncated"] == json!(true) && a.limit.is_none() && a.tail.is_none();
                if size > left || (cut && used > 0) {
                    skipped.push(p.as_str());
                    files.push(json!({"path": p, "skipped": "budget"}));
                    continue;
                }
                used += header.len() + size;
                blocks.push(match c {
                    Content::Text { text, .. } => Content::text(format!("{header}{text}")),
                    other => other,
                });
                files.push(s);
            }
            Err(FsError::Cancelled) => return Err(FsError::Cancelled.into()),
            Err(e) => {
                failed += 1;
                let msg = format!("{header}error: {e}");
                used += msg.len();
                blocks.push(Content::text(msg));
                files.push(json!({"path": p, "error": e.to_string()}));
            }
        }
    }
    if !skipped.is_empty() {
        blocks.push(Content::text(skip_note(
            &skipped,
            budget,
            budget.saturating_sub(used),
        )));
    }
    Ok(ToolResult::content(blocks)
        .with_structured(json!({"files": files, "budget": budget}))
        .with_error(failed == list.len()))
}

/// The note naming the files left out, in at most `room` bytes (at least
/// the count): as many names as fit, then how many more.
fn skip_note(skipped: &[&str], budget: usize, room: usize) -> String {
    let head = format!("[left out to stay within the output budget of {budget} bytes: ");
    let tail = "; read them in another call]";
    let mut names = String::new();
    for (i, p) in skipped.iter().enumerate() {
        let rest = skipped.len() - i - 1;
        let more = if rest > 0 {
            format!(" and {rest} more (skipped: \"budget\" in the structured result)")
        } else {
            String::new()
        };
        let sep = if i == 0 { "" } else { ", " };
        if head.len() + names.len() + sep.len() + p.len() + more.len() + tail.len() > room {
            let left = skipped.len() - i;
            let noun = if i == 0 { "files" } else { "more" };
            names.push_str(&format!(
                "{sep}{left} {noun} (skipped: \"budget\" in the structured result)"
            ));
            break;
        }
        names.push_str(sep);
        names.push_str(p);
    }
    format!("{head}{names}{tail}")
}

fn image_mime(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

fn binary_kind(head: &[u8]) -> &'static str {
    const KINDS: &[(&[u8], &str)] = &[
        (b"\x7fELF", "ELF executable or library"),
        (b"%PDF", "PDF document"),
        (b"PK\x03\x04", "zip archive (or jar/docx/xlsx)"),
        (b"\x1f\x8b", "gzip-compressed data"),
        (b"\x28\xb5\x2f\xfd", "zstd-compressed data"),
        (b"SQLite format 3\0", "SQLite database"),
        (b"\0asm", "WebAssembly module"),
    ];
    KINDS
        .iter()
        .find(|(magic, _)| head.starts_with(magic))
        .map(|(_, k)| *k)
        .unwrap_or("binary data")
}

/// Read one file; the content block and its structured description.
fn read_one(
    cfg: &FsConfig,
    roots: &Roots,
    user: &str,
    a: &ReadArgs,
    cap: usize,
    cancel: &CancellationToken,
) -> Result<(Content, Value), FsError> {
    let (path, mut file) = roots.open_read(user)?;
    let meta = file.metadata().map_err(io_err("read", user))?;
    if meta.is_dir() {
        return Err(FsError::Invalid(format!(
            "{user} is a directory; use list_dir to see its entries"
        )));
    }
    let shown = roots.display(&path);
    let size = meta.len();
    let mtime_ms = meta.modified().map(unix_ms).unwrap_or(0);
    let mut head = Vec::with_capacity(8192);
    (&mut file)
        .take(8192)
        .read_to_end(&mut head)
        .map_err(io_err("read", user))?;
    #[cfg(feature = "docs")]
    if let Some(kind) = crate::tools::docs::detect(&head, user) {
        use crate::tools::docs::for_read::{read_document, ReadOptions};
        let opts = ReadOptions {
            offset: a.offset,
            limit: a.limit,
            sheet: a.sheet.as_ref(),
            range: a.range.as_deref(),
            cancel: Some(cancel.clone()),
            // The document's text and its notes share the budget.
            max_text: cap.saturating_sub(DOC_NOTE_ROOM).max(cap / 2),
        };
        let (content, mut s) = read_document(cfg, kind, head, &mut file, size, opts)?;
        s["path"] = json!(shown);
        s["size"] = json!(size);
        s["mtime_ms"] = json!(mtime_ms);
        return Ok((content, s));
    }
    if let Some(mime) = image_mime(&head) {
        if size > cfg.max_image_bytes {
            return Err(FsError::Invalid(format!(
                "{user} is an image of {size} bytes, more than the limit of {} bytes",
                cfg.max_image_bytes
            )));
        }
        let mut data = head;
        file.read_to_end(&mut data).map_err(io_err("read", user))?;
        let s = json!({"path": shown, "size": size, "mtime_ms": mtime_ms, "mime_type": mime});
        let b64 = base64::engine::general_purpose::STANDARD.encode(&data);
        return Ok((Content::image(b64, mime), s));
    }
    if head.contains(&0) {
        let kind = binary_kind(&head);
        let s = json!({"path": shown, "size": size, "mtime_ms": mtime_ms, "binary": true, "kind": kind});
        return Ok((
            Content::text(format!(
                "{shown}: binary file ({kind}), {size} bytes; not shown"
            )),
            s,
        ));
    }
    file.seek(SeekFrom::Start(0))
        .map_err(io_err("read", user))?;
    let w = Window {
        first: a.offset.unwrap_or(1).max(1),
        limit: a.limit,
        column: a.column.unwrap_or(0),
        cap: cap.saturating_sub(NOTE_ROOM).max(cap / 4),
        budget: cap,
        numbers: a.line_numbers,
    };
    let (text, mut s) = match a.tail {
        Some(n) => read_tail(&mut file, size, n, w, cancel, user)?,
        None => read_window(&mut file, size, w, cancel, user)?,
    };
    s["path"] = json!(shown);
    s["size"] = json!(size);
    s["mtime_ms"] = json!(mtime_ms);
    Ok((Content::text(text), s))
}

#[cfg(test)]
#[path = "read_tests.rs"]
mod tests;
