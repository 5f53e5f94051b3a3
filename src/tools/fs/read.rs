//! `read_file`: text by lines (offset/limit/tail, optional numbers) under a
//! byte cap, images as image content, other binaries as a short description;
//! several files per call. Reads stream, so a window of a huge file costs
//! only that window.

use super::{blocking, io_err, roots_for, unix_ms, FsConfig, FsError};
use crate::protocol::Content;
use crate::server::{Tool, ToolError, ToolResult};
use crate::tools::roots::Roots;
use crate::tools::schemas::stored;
use base64::Engine;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::Digest;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::sync::Arc;

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
    /// Spreadsheets: the sheet to show, by name or 1-based index (default the first).
    #[serde(default)]
    #[schemars(schema_with = "sheet_schema")]
    #[cfg_attr(not(feature = "docs"), allow(dead_code))]
    pub sheet: Option<Value>,
    /// Spreadsheets: the cells to show, such as `A1:D20` (default the whole sheet, within the output cap).
    #[serde(default)]
    #[cfg_attr(not(feature = "docs"), allow(dead_code))]
    pub range: Option<String>,
    /// The call's cancellation (not an argument).
    #[serde(skip)]
    #[schemars(skip)]
    pub cancel: Option<tokio_util::sync::CancellationToken>,
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
         to read part of a large file; line_numbers prefixes each line with its number. Output is capped; a note says \
         where to continue. Images (png, jpeg, gif, webp, bmp) come back as images, downscaled for a model; PDF (offset/limit count pages), \
         Word (.docx), OpenDocument (.odt), slides (.pptx) and spreadsheets (.xlsx, .xls, .ods, .csv; `sheet`, `range`) \
         as text; audio as audio; other binary files as a description. \
         Reports sha256 (when the whole file was read) and mtime_ms for write_file's optimistic check.",
        stored!("read_file", ReadArgs),
        move |mut a: ReadArgs, ctx| {
            let cfg = cfg.clone();
            a.cancel = Some(ctx.cancellation().clone());
            async move {
                let roots = roots_for(&cfg, &ctx).await?;
                blocking(move || Ok(run(&cfg, &roots, a))).await?
            }
        },
    )
    .title("Read file")
    .read_only()
    .idempotent()
    .open_world(false)
}

fn run(cfg: &FsConfig, roots: &Roots, a: ReadArgs) -> Result<ToolResult, ToolError> {
    match (&a.path, &a.paths) {
        (Some(PathArg::One(p)), None) => {
            let (content, s) = read_one(cfg, roots, p, &a)?;
            Ok(ToolResult::content(vec![content]).with_structured(s))
        }
        (Some(PathArg::Many(list)), None) | (None, Some(list)) if !list.is_empty() => {
            let mut blocks = Vec::new();
            let mut files = Vec::new();
            let mut failed = 0;
            for p in list {
                match read_one(cfg, roots, p, &a) {
                    Ok((c, s)) => {
                        blocks.push(match c {
                            Content::Text { text, .. } => {
                                Content::text(format!("==> {p} <==\n{text}"))
                            }
                            other => other,
                        });
                        files.push(s);
                    }
                    Err(e) => {
                        failed += 1;
                        blocks.push(Content::text(format!("==> {p} <==\nerror: {e}")));
                        files.push(json!({"path": p, "error": e.to_string()}));
                    }
                }
            }
            Ok(ToolResult::content(blocks)
                .with_structured(json!({"files": files}))
                .with_error(failed == list.len()))
        }
        _ => Err(ToolError::Tool(
            "give `path`: one file, or a non-empty list of files (`paths` is the older name of the list; not both)"
                .into(),
        )),
    }
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
            cancel: a.cancel.clone(),
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
    let (text, mut s) = if let Some(n) = a.tail {
        read_tail(&mut file, n, cfg.max_read_bytes, a.line_numbers, user)?
    } else {
        read_window(
            &mut file,
            a.offset.unwrap_or(1).max(1),
            a.limit,
            cfg.max_read_bytes,
            a.line_numbers,
            user,
        )?
    };
    s["path"] = json!(shown);
    s["size"] = json!(size);
    s["mtime_ms"] = json!(mtime_ms);
    Ok((Content::text(text), s))
}

/// A line as shown: invalid UTF-8 and control characters other than tab,
/// CR and LF become U+FFFD (a NUL costs six bytes once JSON-escaped and
/// tells a reader nothing), prefixed with its number on request.
fn render_line(n: u64, line: &[u8], numbers: bool) -> String {
    let mut out = String::with_capacity(line.len() + 8);
    if numbers {
        out.push_str(&format!("{n:>6}\t"));
    }
    let text = String::from_utf8_lossy(line);
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        out.extend(text.chars().map(|c| {
            if c.is_control() && !matches!(c, '\t' | '\n' | '\r') {
                char::REPLACEMENT_CHARACTER
            } else {
                c
            }
        }));
    } else {
        out.push_str(&text);
    }
    out
}

/// Cut `s` to at most `max` bytes, at a character boundary, keeping the
/// start (`keep_end` false) or the end.
fn cut_to(s: &mut String, max: usize, keep_end: bool) {
    if s.len() <= max {
        return;
    }
    if keep_end {
        let mut i = s.len() - max;
        while !s.is_char_boundary(i) {
            i += 1;
        }
        s.drain(..i);
    } else {
        let mut i = max;
        while !s.is_char_boundary(i) {
            i -= 1;
        }
        s.truncate(i);
    }
}

/// Consume the rest of a line (through its newline) without keeping it,
/// feeding it to `hasher`; the number of bytes consumed (0 at end of file).
fn skip_line(r: &mut impl BufRead, hasher: &mut sha2::Sha256) -> std::io::Result<u64> {
    let mut total = 0u64;
    loop {
        let chunk = r.fill_buf()?;
        if chunk.is_empty() {
            return Ok(total);
        }
        let (used, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        hasher.update(&chunk[..used]);
        r.consume(used);
        total += used as u64;
        if done {
            return Ok(total);
        }
    }
}

/// Read the next line into `buf`, but keep at most `keep` bytes: returns
/// whether the whole line (through its newline, or to the end of the file)
/// fitted. Memory stays bounded by `keep` however long the line is.
fn read_line_capped(r: &mut impl BufRead, buf: &mut Vec<u8>, keep: usize) -> std::io::Result<bool> {
    loop {
        let chunk = r.fill_buf()?;
        if chunk.is_empty() {
            return Ok(true);
        }
        let room = keep - buf.len();
        let (used, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) if i < room => (i + 1, true),
            _ => (chunk.len().min(room), false),
        };
        buf.extend_from_slice(&chunk[..used]);
        r.consume(used);
        if done {
            return Ok(true);
        }
        if buf.len() == keep {
            return Ok(false);
        }
    }
}

/// Lines `first..first+limit` within `cap` bytes, streaming. A line longer
/// than the cap is shown cut when it is the first one asked for.
fn read_window(
    file: &mut File,
    first: u64,
    limit: Option<u64>,
    cap: u64,
    numbers: bool,
    user: &str,
) -> Result<(String, Value), FsError> {
    let mut r = BufReader::with_capacity(64 * 1024, file);
    let mut hasher = sha2::Sha256::new();
    let mut buf = Vec::new();
    let mut out = String::new();
    let (mut n, mut last, mut bytes) = (0u64, 0u64, 0u64);
    let mut stopped = None;
    let mut shown_cut = 0usize;
    loop {
        if n + 1 < first {
            if skip_line(&mut r, &mut hasher).map_err(io_err("read", user))? == 0 {
                break;
            }
            n += 1;
            continue;
        }
        if r.fill_buf().map_err(io_err("read", user))?.is_empty() {
            break;
        }
        if limit.is_some_and(|l| n + 1 >= first + l) {
            stopped = Some("limit");
            break;
        }
        buf.clear();
        // Every input byte shows as at least one output byte, so reading
        // `room` bytes is enough to know whether the line fits.
        let room = cap.saturating_sub(bytes) as usize;
        let whole = read_line_capped(&mut r, &mut buf, room).map_err(io_err("read", user))?;
        let mut line = render_line(n + 1, &buf, numbers);
        if !whole || line.len() > room {
            stopped = Some("cap");
            if last == 0 {
                // The first line asked for is longer than the cap: show its start.
                n += 1;
                cut_to(&mut line, room, false);
                shown_cut = line.len();
                out.push_str(&line);
                last = n;
            }
            break;
        }
        n += 1;
        hasher.update(&buf);
        bytes += line.len() as u64;
        out.push_str(&line);
        last = n;
    }
    let mut s = json!({"first_line": first, "last_line": last, "truncated": stopped.is_some()});
    match stopped {
        None => {
            s["total_lines"] = json!(n);
            s["sha256"] = json!(hasher
                .finalize()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>());
            if first > n && n > 0 {
                out.push_str(&format!(
                    "[offset {first} is past the end: the file has {n} lines]"
                ));
            }
        }
        Some(why) => {
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            if shown_cut > 0 {
                out.push_str(&format!(
                    "[line {last} is longer than the output cap of {cap} bytes: showed its first {shown_cut} bytes; \
                     continue with offset={}]",
                    last + 1
                ));
                s["line_cut"] = json!(true);
            } else {
                let reason = if why == "cap" {
                    format!(" (output capped at {cap} bytes)")
                } else {
                    String::new()
                };
                out.push_str(&format!(
                    "[showed lines {first}-{last}{reason}; more follow: continue with offset={}]",
                    last + 1
                ));
            }
        }
    }
    Ok((out, s))
}

/// The last `n` lines within `cap` bytes: counts lines by streaming, then
/// reads only the end of the file.
fn read_tail(
    file: &mut File,
    n: u64,
    cap: u64,
    numbers: bool,
    user: &str,
) -> Result<(String, Value), FsError> {
    let size = file.metadata().map_err(io_err("read", user))?.len();
    let mut total = 0u64;
    let mut last_byte = None;
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let got = file.read(&mut chunk).map_err(io_err("read", user))?;
        if got == 0 {
            break;
        }
        total += chunk[..got].iter().filter(|&&b| b == b'\n').count() as u64;
        last_byte = Some(chunk[got - 1]);
    }
    if last_byte.is_some_and(|b| b != b'\n') {
        total += 1;
    }
    let start = size.saturating_sub(cap);
    file.seek(SeekFrom::Start(start))
        .map_err(io_err("read", user))?;
    let mut data = Vec::new();
    file.take(cap)
        .read_to_end(&mut data)
        .map_err(io_err("read", user))?;
    let mut lines: Vec<&[u8]> = data.split_inclusive(|&b| b == b'\n').collect();
    if start > 0 && lines.len() == 1 && n > 0 {
        // The last line alone is longer than the cap: show its end.
        let mut line = render_line(total, &data, false);
        cut_to(&mut line, cap as usize, true);
        let mut out = format!(
            "[line {total} is longer than the output cap of {cap} bytes: showing its last {} bytes]\n",
            line.len()
        );
        if numbers {
            out.push_str(&format!("{total:>6}\t"));
        }
        out.push_str(&line);
        let s = json!({"first_line": total, "last_line": total, "total_lines": total, "truncated": true, "line_cut": true});
        return Ok((out, s));
    }
    if start > 0 && !lines.is_empty() {
        lines.remove(0); // partial first line
    }
    let mut take = (n as usize).min(lines.len());
    let first_index = lines.len() - take;
    let mut rendered: Vec<String> = lines[first_index..]
        .iter()
        .enumerate()
        .map(|(i, l)| render_line(total - take as u64 + 1 + i as u64, l, numbers))
        .collect();
    // Shown text may be longer than the bytes read (replacement characters).
    let mut size: usize = rendered.iter().map(String::len).sum();
    while size > cap as usize && !rendered.is_empty() {
        size -= rendered.remove(0).len();
        take -= 1;
    }
    let first = total - take as u64 + 1;
    let mut out = String::new();
    if take < n as usize && (take as u64) < total {
        out.push_str(&format!(
            "[output capped at {cap} bytes: showing the last {take} lines]\n"
        ));
    }
    for line in rendered {
        out.push_str(&line);
    }
    let s = json!({"first_line": first, "last_line": total, "total_lines": total, "truncated": (take as u64) < total});
    Ok((out, s))
}

#[cfg(test)]
#[path = "read_tests.rs"]
mod tests;
