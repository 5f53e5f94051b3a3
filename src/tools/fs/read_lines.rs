//! The text side of `read_file`: a window of lines (offset/limit, or the
//! last lines) rendered within a byte budget, streaming, with the notes and
//! structured fields that say how to continue.
//!
//! Every loop reads through [`Guarded`], which fails as soon as the call is
//! cancelled or timed out, and every scan is bounded ([`SKIP_LIMIT`] to
//! reach an offset, [`COUNT_LIMIT`] to count a file's lines), so a huge or
//! sparse file can hold a blocking thread only briefly.

use super::{io_err, FsError};
use serde_json::{json, Value};
use sha2::Digest;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use tokio_util::sync::CancellationToken;

/// Largest number of bytes skipped to reach an `offset` (or `column`).
pub(super) const SKIP_LIMIT: u64 = 512 << 20;
/// Files up to this size have their lines counted (`total_lines`); larger
/// ones are not scanned just to count.
pub(super) const COUNT_LIMIT: u64 = 64 << 20;

/// What part of the file to show, and how.
#[derive(Debug, Clone, Copy)]
pub(super) struct Window {
    /// First line, 1-based.
    pub first: u64,
    /// Number of lines, if limited.
    pub limit: Option<u64>,
    /// Bytes of the first line to skip (to read the rest of a cut line).
    pub column: u64,
    /// Bytes of shown text: the budget less room for the notes.
    pub cap: usize,
    /// The call's output budget, as the notes name it.
    pub budget: usize,
    /// Prefix lines with their numbers.
    pub numbers: bool,
}

/// A reader that fails once `cancel` fires (a timed-out or cancelled call),
/// so loops over a huge file stop at the next block.
pub(super) struct Guarded<'a, R> {
    pub inner: R,
    pub cancel: &'a CancellationToken,
}

impl<R: Read> Read for Guarded<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.cancel.is_cancelled() {
            // Not `Interrupted`: std's read loops retry that kind, which
            // would spin on a cancelled call instead of ending it.
            return Err(std::io::Error::other("cancelled"));
        }
        self.inner.read(buf)
    }
}

/// Map an I/O error to [`FsError::Cancelled`] when the call was cancelled.
fn io<'a>(cancel: &CancellationToken, user: &'a str) -> impl Fn(std::io::Error) -> FsError + 'a {
    let cancelled = cancel.clone();
    move |e| {
        if cancelled.is_cancelled() {
            FsError::Cancelled
        } else {
            io_err("read", user)(e)
        }
    }
}

/// A line as shown: invalid UTF-8 and control characters other than tab,
/// CR and LF become U+FFFD (a NUL costs six bytes once JSON-escaped and
/// tells a reader nothing), prefixed with its number on request.
pub(super) fn render_line(n: u64, line: &[u8], numbers: bool) -> String {
    let mut out = String::with_capacity(line.len() + 8);
    if numbers {
        out.push_str(&format!("{n:>6}\t"));
    }
    let text = String::from_utf8_lossy(line);
    let hidden = |c: char| c.is_control() && !matches!(c, '\t' | '\n' | '\r');
    if text.chars().any(hidden) {
        out.extend(text.chars().map(|c| {
            if hidden(c) {
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

/// Cut `s` to at most `max` bytes at a character boundary, keeping its end.
fn keep_end(s: &mut String, max: usize) {
    if s.len() <= max {
        return;
    }
    let mut i = s.len() - max;
    while !s.is_char_boundary(i) {
        i += 1;
    }
    s.drain(..i);
}

/// Consume the rest of a line (through its newline, or at most `max`
/// bytes of it without the newline when `stop_before_newline`), feeding it
/// to `hasher`; the number of bytes consumed (0 at end of file).
fn skip_in_line(
    r: &mut impl BufRead,
    hasher: &mut sha2::Sha256,
    max: u64,
    stop_before_newline: bool,
) -> std::io::Result<u64> {
    let mut total = 0u64;
    loop {
        let chunk = r.fill_buf()?;
        if chunk.is_empty() || total >= max {
            return Ok(total);
        }
        let room = usize::try_from(max - total).unwrap_or(usize::MAX);
        let (used, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) if stop_before_newline && i <= room => (i, true),
            Some(i) if i < room => (i + 1, true),
            _ => (chunk.len().min(room), false),
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

/// A prefix of `line` (ending at a UTF-8 boundary) whose rendering fits in
/// `room` bytes, close to the longest (characters shown as U+FFFD take
/// three bytes): its length in input bytes and the rendering.
fn fitting_prefix(n: u64, line: &[u8], numbers: bool, room: usize) -> (usize, String) {
    let boundary = |k: usize| match std::str::from_utf8(&line[..k]) {
        Err(e) if e.error_len().is_none() => e.valid_up_to(),
        _ => k,
    };
    let mut k = boundary(line.len().min(room));
    loop {
        let shown = render_line(n, &line[..k], numbers);
        if shown.len() <= room || k == 0 {
            return (k, shown);
        }
        // Shrink in proportion: a replaced byte shows as three.
        let scaled = (k as u128 * room as u128 / shown.len() as u128) as usize;
        k = boundary(scaled.min(k - 1));
    }
}

/// Newlines in the whole file (and whether it ends without one), if it is
/// small enough to count.
pub(super) fn count_lines(
    file: &mut File,
    size: u64,
    cancel: &CancellationToken,
    user: &str,
) -> Result<Option<u64>, FsError> {
    if size > COUNT_LIMIT {
        return Ok(None);
    }
    file.seek(SeekFrom::Start(0)).map_err(io(cancel, user))?;
    let mut r = Guarded {
        inner: &mut *file,
        cancel,
    };
    let mut chunk = vec![0u8; 64 * 1024];
    let (mut total, mut last) = (0u64, None);
    loop {
        let got = r.read(&mut chunk).map_err(io(cancel, user))?;
        if got == 0 {
            break;
        }
        total += chunk[..got].iter().filter(|&&b| b == b'\n').count() as u64;
        last = Some(chunk[got - 1]);
    }
    Ok(Some(total + u64::from(last.is_some_and(|b| b != b'\n'))))
}

/// Lines of `w` within `w.cap` bytes, streaming. A first line longer than
/// the budget is shown cut, with the `column` that continues it.
pub(super) fn read_window(
    file: &mut File,
    size: u64,
    w: Window,
    cancel: &CancellationToken,
    user: &str,
) -> Result<(String, Value), FsError> {
    let err = io(cancel, user);
    let mut r = BufReader::with_capacity(
        64 * 1024,
        Guarded {
            inner: &mut *file,
            cancel,
        },
    );
    let mut hasher = sha2::Sha256::new();
    let (first, cap, budget) = (w.first, w.cap, w.budget);
    let (mut n, mut skipped) = (0u64, 0u64);
    while n + 1 < first {
        if skipped > SKIP_LIMIT {
            return Err(FsError::Invalid(format!(
                "offset {first} lies past the first {} MiB of {user}, further than read_file scans to find a \
                 line; use tail, or search_files to find what you need",
                SKIP_LIMIT >> 20
            )));
        }
        let got = skip_in_line(&mut r, &mut hasher, SKIP_LIMIT + 1, false).map_err(&err)?;
        if got == 0 {
            break;
        }
        skipped += got;
        n += 1;
    }
    let column = if w.column > 0 && n + 1 == first {
        skip_in_line(&mut r, &mut hasher, w.column, true).map_err(&err)?
    } else {
        0
    };
    let mut buf = Vec::new();
    let mut out = String::new();
    let (mut last, mut bytes) = (0u64, 0usize);
    let mut stopped = None;
    let mut cut_at = None;
    loop {
        if r.fill_buf().map_err(&err)?.is_empty() {
            break;
        }
        if w.limit.is_some_and(|l| n + 1 >= first + l) {
            stopped = Some("limit");
            break;
        }
        buf.clear();
        // Every input byte shows as at least one output byte, so reading
        // `room` bytes is enough to know whether the line fits.
        let room = cap.saturating_sub(bytes);
        let whole = read_line_capped(&mut r, &mut buf, room).map_err(&err)?;
        let line = render_line(n + 1, &buf, w.numbers);
        if !whole || line.len() > room {
            stopped = Some("cap");
            if last == 0 {
                // The first line asked for is longer than the budget: show its start.
                n += 1;
                let (k, shown) = fitting_prefix(n, &buf, w.numbers, room);
                cut_at = Some(column + k as u64);
                out.push_str(&shown);
                last = n;
            }
            break;
        }
        n += 1;
        hasher.update(&buf);
        bytes += line.len();
        out.push_str(&line);
        last = n;
    }
    drop(r);
    let mut s = json!({"first_line": first, "last_line": last, "truncated": stopped.is_some()});
    if column > 0 {
        s["column"] = json!(column);
    }
    match stopped {
        None => {
            s["total_lines"] = json!(n);
            if column == 0 && first == 1 {
                s["sha256"] = json!(hasher
                    .finalize()
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>());
            }
            if first > n && n > 0 {
                out.push_str(&format!(
                    "[offset {first} is past the end: the file has {n} lines]"
                ));
            }
        }
        Some(why) => {
            let total = count_lines(file, size, cancel, user)?;
            if let Some(t) = total {
                s["total_lines"] = json!(t);
            }
            let of = total.map(|t| format!(" of {t}")).unwrap_or_default();
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            if let Some(col) = cut_at {
                out.push_str(&format!(
                    "[line {last} is longer than the output budget of {budget} bytes: showed bytes {column}-{col} of it; \
                     continue the line with offset={last}, column={col}]"
                ));
                s["line_cut"] = json!(true);
                s["next_offset"] = json!(last);
                s["next_column"] = json!(col);
            } else {
                let reason = if why == "cap" {
                    format!(" (output budget of {budget} bytes)")
                } else {
                    String::new()
                };
                out.push_str(&format!(
                    "[showed lines {first}-{last}{of}{reason}; more follow: continue with offset={}]",
                    last + 1
                ));
                s["next_offset"] = json!(last + 1);
            }
        }
    }
    Ok((out, s))
}

/// The last `n` lines within `cap` bytes: reads only the end of the file;
/// line numbers are known when the file is small enough to count.
pub(super) fn read_tail(
    file: &mut File,
    size: u64,
    n: u64,
    w: Window,
    cancel: &CancellationToken,
    user: &str,
) -> Result<(String, Value), FsError> {
    let (cap, budget) = (w.cap as u64, w.budget);
    let total = count_lines(file, size, cancel, user)?;
    let start = size.saturating_sub(cap);
    file.seek(SeekFrom::Start(start))
        .map_err(io(cancel, user))?;
    let mut data = Vec::new();
    Guarded {
        inner: &mut *file,
        cancel,
    }
    .take(cap)
    .read_to_end(&mut data)
    .map_err(io(cancel, user))?;
    let numbers = w.numbers && total.is_some();
    let mut lines: Vec<&[u8]> = data.split_inclusive(|&b| b == b'\n').collect();
    if start > 0 && lines.len() == 1 && n > 0 {
        // The last line alone is longer than the budget: show its end, from
        // the first whole character read.
        let mid = data
            .iter()
            .take(3)
            .take_while(|&&b| b & 0xC0 == 0x80)
            .count();
        let mut line = render_line(0, &data[mid..], false);
        keep_end(&mut line, w.cap);
        let no = total
            .map(|t| t.to_string())
            .unwrap_or_else(|| "last".into());
        let mut out = format!(
            "[line {no} is longer than the output budget of {budget} bytes: showing its last {} bytes]\n",
            line.len()
        );
        if let (true, Some(t)) = (numbers, total) {
            out.push_str(&format!("{t:>6}\t"));
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
    let base = total.unwrap_or(0).saturating_sub(take as u64) + 1;
    let mut rendered: Vec<String> = lines[first_index..]
        .iter()
        .enumerate()
        .map(|(i, l)| render_line(base + i as u64, l, numbers))
        .collect();
    // Shown text may be longer than the bytes read (replacement characters).
    let mut shown: usize = rendered.iter().map(String::len).sum();
    while shown > w.cap && !rendered.is_empty() {
        shown -= rendered.remove(0).len();
        take -= 1;
    }
    let mut out = String::new();
    let whole = start == 0 && take == lines.len();
    if take < n as usize && !whole {
        out.push_str(&format!(
            "[output budget of {budget} bytes: showing the last {take} lines]\n"
        ));
    }
    if w.numbers && total.is_none() {
        out.push_str(&format!(
            "[no line numbers: the file is larger than {} MiB and its lines were not counted]\n",
            COUNT_LIMIT >> 20
        ));
    }
    for line in rendered {
        out.push_str(&line);
    }
    let mut s = json!({"lines": take, "truncated": !whole});
    if let Some(t) = total {
        s["first_line"] = json!(t - take as u64 + 1);
        s["last_line"] = json!(t);
        s["total_lines"] = json!(t);
    }
    Ok((out, s))
}
