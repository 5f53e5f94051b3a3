//! `search_files`: content search (regex or literal) or file-name search
//! under a directory, built on ripgrep's crates: a parallel, `.gitignore`-
//! aware walk (`ignore`), line-oriented search skipping binary files
//! (`grep-searcher`, `grep-regex`). Answers one page in path/line order
//! within the output budget, with a signed cursor to the next; stops on
//! cancellation.

use super::list::walker;
use super::{blocking, roots_for, FsConfig, FsError};
use crate::server::{Tool, ToolResult};
use crate::tools::roots::Roots;
use crate::tools::schemas::stored;
use grep_regex::RegexMatcherBuilder;
use grep_searcher::{BinaryDetection, Searcher, SearcherBuilder, Sink, SinkContext, SinkMatch};
use ignore::WalkState;
use rustix::fs::OFlags;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

/// Arguments of `search_files`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SearchArgs {
    /// Regex (or literal text with `literal`) to find; in `names` mode a glob (`*.rs`) or a substring of the path.
    pub pattern: String,
    /// Directory to search under (default: the first root).
    #[serde(default)]
    pub path: Option<String>,
    /// Find files by name instead of by content.
    #[serde(default)]
    pub names: bool,
    /// Treat the pattern as literal text, not a regex.
    #[serde(default)]
    pub literal: bool,
    /// Ignore case.
    #[serde(default)]
    pub case_insensitive: bool,
    /// Only search files matching these globs (e.g. `*.rs`, `src/**`).
    #[serde(default)]
    pub include: Vec<String>,
    /// Skip files matching these globs.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Lines of context before and after each match (at most 10).
    #[serde(default)]
    pub context: u8,
    /// Largest number of matches to return.
    #[serde(default)]
    pub max_results: Option<usize>,
    /// Include hidden files.
    #[serde(default)]
    pub show_hidden: bool,
    /// Include files excluded by .gitignore.
    #[serde(default)]
    pub include_ignored: bool,
    /// Continue a search: the `next_cursor` of the previous answer (same pattern, path and options).
    #[serde(default)]
    pub cursor: Option<String>,
    /// Largest answer in bytes, text and structured content together (default and maximum: the server's output budget).
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub max_bytes: Option<u64>,
}

impl SearchArgs {
    /// What defines the query a cursor continues (not the page size).
    fn digest(&self) -> String {
        crate::tools::budget::query_digest(
            "search_files",
            &json!([
                self.pattern,
                self.path,
                self.names,
                self.literal,
                self.case_insensitive,
                self.include,
                self.exclude,
                self.context,
                self.show_hidden,
                self.include_ignored
            ]),
        )
    }
}

/// Where an entry sorts: path (by components, as a sorted walk visits
/// them), then line.
type Key = (PathBuf, u64);

/// Longest line searched; a file with a longer line is skipped (and
/// counted), so memory stays bounded whatever the file holds.
const LINE_LIMIT: usize = 8 << 20;

/// The smallest matches (and their context lines) after the cursor, at
/// most `cap` of each: what one page can show, plus one to know more follow.
struct Kept {
    matches: BTreeMap<Key, String>,
    context: BTreeMap<Key, String>,
    cap: usize,
    context_cap: usize,
    /// A match was left out because the page was full: more follow.
    overflow: bool,
}

impl Kept {
    fn insert(&mut self, key: Key, text: String, is_match: bool) {
        let (map, cap) = if is_match {
            (&mut self.matches, self.cap)
        } else {
            (&mut self.context, self.context_cap)
        };
        map.insert(key, text);
        if map.len() > cap {
            map.pop_last();
            if is_match {
                self.overflow = true;
            }
        }
    }

    /// Whether the page is full and every entry of `path` would sort after it.
    fn beyond(&self, path: &Path) -> bool {
        self.matches.len() >= self.cap
            && self
                .matches
                .last_key_value()
                .is_some_and(|((p, _), _)| path > p.as_path())
    }
}

struct Collect<'a> {
    path: PathBuf,
    after: Option<&'a Key>,
    hits: Vec<(Key, String, bool)>,
    matches: usize,
    cap: usize,
    overflow: bool,
}

fn clip(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    let s = s.trim_end_matches(['\n', '\r']);
    if s.len() > 500 {
        let mut end = 500;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &s[..end])
    } else {
        s.to_owned()
    }
}

impl Collect<'_> {
    fn keep(&mut self, line: u64, bytes: &[u8], is_match: bool) -> bool {
        let key = (self.path.clone(), line);
        if self.after.is_some_and(|a| &key <= a) {
            return true;
        }
        if is_match {
            // Lines come in order: past a page of matches, the rest of
            // this file cannot be on the page.
            if self.matches >= self.cap {
                self.overflow = true;
                return false;
            }
            self.matches += 1;
        }
        self.hits.push((key, clip(bytes), is_match));
        true
    }
}

impl Sink for Collect<'_> {
    type Error = std::io::Error;
    fn matched(&mut self, _: &Searcher, m: &SinkMatch<'_>) -> Result<bool, Self::Error> {
        Ok(self.keep(m.line_number().unwrap_or(0), m.bytes(), true))
    }
    fn context(&mut self, _: &Searcher, c: &SinkContext<'_>) -> Result<bool, Self::Error> {
        Ok(self.keep(c.line_number().unwrap_or(0), c.bytes(), false))
    }
}

/// A reader that fails once the request is cancelled, so a long search
/// inside one big file stops at the next block read (a few dozen KiB)
/// instead of at the end of the file.
struct UntilCancelled<'a, R> {
    inner: R,
    cancel: &'a CancellationToken,
}

impl<R: std::io::Read> std::io::Read for UntilCancelled<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.cancel.is_cancelled() {
            return Err(std::io::Error::other("cancelled"));
        }
        self.inner.read(buf)
    }
}

/// The `search_files` tool.
pub(crate) fn tool(cfg: Arc<FsConfig>) -> Tool {
    Tool::typed_with_schema::<SearchArgs, _, _>(
        "search_files",
        "Search file contents under a directory for a regex (or literal text), like ripgrep: respects .gitignore, \
         skips binary files, optional glob include/exclude, context lines and case-insensitivity. Results are \
         `path:line: text`, ordered by path then line. With names: true, finds files whose path matches a glob or \
         contains a substring. The answer fits an output budget; when more matches follow it carries next_cursor: \
         pass it back as cursor (same pattern and options) for the next page.",
        stored!("search_files", SearchArgs),
        move |a: SearchArgs, ctx| {
            let cfg = cfg.clone();
            async move {
                let roots = roots_for(&cfg, &ctx).await?;
                let cancel = ctx.cancellation().clone();
                let max = a.max_results.unwrap_or(cfg.max_search_results).clamp(1, cfg.max_search_results);
                let budget = crate::tools::budget::effective(cfg.max_result_bytes, a.max_bytes);
                blocking(move || search(&roots, a, Page { max, budget }, &cancel, &AtomicUsize::new(0))).await
            }
        },
    )
    .title("Search files")
    .read_only()
    .idempotent()
    .open_world(false)
}

/// The size of one page of results.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Page {
    /// Most matches.
    pub max: usize,
    /// Most bytes, text and structured content together.
    pub budget: usize,
}

/// The search itself, on the blocking pool: walk, match, render one page.
/// Every file is searched (the page is the first matches in path order, not
/// the first found), keeping only a page's worth in memory; ends with
/// [`FsError::Cancelled`] as soon as `cancel` fires (checked per entry and
/// per block read of a file). `visited` counts the files searched.
fn search(
    roots: &Roots,
    a: SearchArgs,
    page: Page,
    cancel: &CancellationToken,
    visited: &AtomicUsize,
) -> Result<ToolResult, FsError> {
    let digest = a.digest();
    let after: Option<Key> = match &a.cursor {
        None => None,
        Some(c) => {
            let p = crate::tools::budget::open_cursor(c, &digest).map_err(FsError::Invalid)?;
            let path = p["path"]
                .as_str()
                .ok_or_else(|| FsError::Invalid("invalid `cursor`".into()))?;
            Some((PathBuf::from(path), p["line"].as_u64().unwrap_or(0)))
        }
    };
    let dir = roots.resolve_dir(a.path.as_deref())?;
    let mut b = walker(&dir, a.show_hidden, a.include_ignored);
    if !a.include.is_empty() || !a.exclude.is_empty() {
        let mut o = ignore::overrides::OverrideBuilder::new(&dir);
        let bad = |e: ignore::Error| FsError::Invalid(format!("invalid glob: {e}"));
        for g in &a.include {
            o.add(g).map_err(bad)?;
        }
        for g in &a.exclude {
            o.add(&format!("!{g}")).map_err(bad)?;
        }
        b.overrides(o.build().map_err(bad)?);
    }
    let ctxn = usize::from(a.context.min(10));
    let kept = Mutex::new(Kept {
        matches: BTreeMap::new(),
        context: BTreeMap::new(),
        cap: page.max + 1,
        context_cap: (page.max + 1) * (2 * ctxn + 1),
        overflow: false,
    });
    let lock = || kept.lock().unwrap_or_else(|e| e.into_inner());
    let long_lines = AtomicUsize::new(0);
    // Globs match paths relative to the searched directory; results show
    // paths as read_file takes them (relative to the root).
    let rel = |p: &Path| {
        p.strip_prefix(&dir)
            .unwrap_or(p)
            .to_string_lossy()
            .into_owned()
    };
    let shown = |p: &Path| roots.display(p);
    if a.names {
        let glob = if a.pattern.contains(['*', '?', '[', '{']) {
            let g = globset::GlobBuilder::new(&a.pattern)
                .case_insensitive(a.case_insensitive)
                .build()
                .map_err(|e| FsError::Invalid(format!("invalid glob {}: {e}", a.pattern)))?;
            Some(g.compile_matcher())
        } else {
            None
        };
        let needle = if a.case_insensitive {
            a.pattern.to_lowercase()
        } else {
            a.pattern.clone()
        };
        b.build_parallel().run(|| {
            Box::new(|item| {
                if cancel.is_cancelled() {
                    return WalkState::Quit;
                }
                let Ok(ent) = item else {
                    return WalkState::Continue;
                };
                if ent.depth() == 0 {
                    return WalkState::Continue;
                }
                let r = rel(ent.path());
                let ok = match &glob {
                    Some(g) => g.is_match(&r) || g.is_match(ent.file_name()),
                    None if a.case_insensitive => r.to_lowercase().contains(&needle),
                    None => r.contains(&needle),
                };
                if ok {
                    let key = (PathBuf::from(shown(ent.path())), 0);
                    if after.as_ref().is_none_or(|c| &key > c) {
                        let dir_mark = if ent.file_type().is_some_and(|t| t.is_dir()) {
                            "/"
                        } else {
                            ""
                        };
                        lock().insert(key, dir_mark.to_owned(), true);
                    }
                }
                WalkState::Continue
            })
        });
    } else {
        let matcher = RegexMatcherBuilder::new()
            .case_insensitive(a.case_insensitive)
            .fixed_strings(a.literal)
            .line_terminator(Some(b'\n'))
            .build(&a.pattern)
            .map_err(|e| {
                FsError::Invalid(format!(
                    "invalid regex: {e}; fix it, or pass literal: true to search for the text as is"
                ))
            })?;
        let searcher = SearcherBuilder::new()
            .binary_detection(BinaryDetection::quit(0))
            .line_number(true)
            .before_context(ctxn)
            .after_context(ctxn)
            .heap_limit(Some(LINE_LIMIT))
            .build();
        let dir_fd = roots.open_dir(&dir, a.path.as_deref().unwrap_or("."))?;
        b.build_parallel().run(|| {
            let matcher = matcher.clone();
            let mut searcher = searcher.clone();
            let (kept, lock, shown, roots, dir, dir_fd, after, long_lines) = (
                &kept,
                &lock,
                &shown,
                &roots,
                &dir,
                &dir_fd,
                &after,
                &long_lines,
            );
            Box::new(move |item| {
                if cancel.is_cancelled() {
                    return WalkState::Quit;
                }
                let Ok(ent) = item else {
                    return WalkState::Continue;
                };
                if !ent.file_type().is_some_and(|t| t.is_file()) {
                    return WalkState::Continue;
                }
                let path = PathBuf::from(shown(ent.path()));
                if after.as_ref().is_some_and(|(p, _)| &path < p) || lock().beyond(&path) {
                    return WalkState::Continue;
                }
                // The walk goes by path, so a directory swapped for a symlink
                // mid-walk could lead it out of the roots: every file is opened
                // relative to the verified search directory, never leaving it.
                let Ok(rel) = ent.path().strip_prefix(dir) else {
                    return WalkState::Continue;
                };
                let file = match roots.open_beneath(
                    dir_fd,
                    dir,
                    rel,
                    OFlags::RDONLY,
                    &shown(ent.path()),
                ) {
                    Ok(fd) => std::fs::File::from(fd),
                    Err(e) => {
                        log::debug!("search_files: skipping {}: {e}", ent.path().display());
                        return WalkState::Continue;
                    }
                };
                visited.fetch_add(1, Ordering::Relaxed);
                let mut sink = Collect {
                    path,
                    after: after.as_ref(),
                    hits: Vec::new(),
                    matches: 0,
                    cap: kept.lock().map(|k| k.cap).unwrap_or(1),
                    overflow: false,
                };
                let reader = UntilCancelled {
                    inner: file,
                    cancel,
                };
                if let Err(e) = searcher.search_reader(&matcher, reader, &mut sink) {
                    if !cancel.is_cancelled() {
                        long_lines.fetch_add(
                            usize::from(e.to_string().contains("limit")),
                            Ordering::Relaxed,
                        );
                    }
                    log::debug!("search_files: skipping {}: {e}", ent.path().display());
                }
                let mut k = lock();
                k.overflow |= sink.overflow;
                for (key, text, is_match) in sink.hits {
                    k.insert(key, text, is_match);
                }
                WalkState::Continue
            })
        });
    }
    if cancel.is_cancelled() {
        return Err(FsError::Cancelled);
    }
    let kept = kept.into_inner().unwrap_or_else(|e| e.into_inner());
    Ok(render(
        kept,
        &a,
        page,
        &digest,
        &roots.display(&dir),
        long_lines.into_inner(),
    ))
}

/// One page: entries in order until `page.max` matches or the budget (text
/// and structured content together) is reached; `next_cursor` when more follow.
fn render(
    kept: Kept,
    a: &SearchArgs,
    page: Page,
    digest: &str,
    shown_dir: &str,
    long_lines: usize,
) -> ToolResult {
    // Room for the closing note with its cursor, and the structured wrapper.
    const RESERVE: usize = 700;
    let room = page.budget.saturating_sub(RESERVE).max(1);
    let mut text = String::new();
    let mut matches = Vec::new();
    let mut used = 0usize;
    let mut last: Option<&Key> = None;
    let mut pending = String::new();
    let mut context = kept
        .context
        .iter()
        .filter(|(k, _)| !kept.matches.contains_key(*k))
        .peekable();
    let mut stopped = false;
    for (key, body) in &kept.matches {
        // Context lines before this match (and after the previous one).
        pending.clear();
        while let Some((ck, ct)) = context.next_if(|(ck, _)| *ck < key) {
            pending.push_str(&format!("{}-{}- {ct}\n", ck.0.display(), ck.1));
        }
        let path = key.0.to_string_lossy();
        let (line, item) = if a.names {
            (
                format!("{path}{body}\n"),
                json!({"path": format!("{path}{body}")}),
            )
        } else {
            (
                format!("{path}:{}: {body}\n", key.1),
                json!({"path": path, "line": key.1, "text": body}),
            )
        };
        let cost = pending.len() + line.len() + item.to_string().len() + 1;
        if matches.len() >= page.max || (!matches.is_empty() && used + cost > room) {
            stopped = true;
            break;
        }
        used += cost;
        text.push_str(&pending);
        text.push_str(&line);
        matches.push(item);
        last = Some(key);
    }
    if !stopped {
        // Context after the last match shown.
        for (ck, ct) in context {
            if last.is_some_and(|l| ck.0 == l.0 && ck.1 <= l.1 + u64::from(a.context.min(10))) {
                let add = format!("{}-{}- {ct}\n", ck.0.display(), ck.1);
                if used + add.len() <= room {
                    used += add.len();
                    text.push_str(&add);
                }
            }
        }
    }
    let more = stopped || kept.overflow;
    if matches.is_empty() {
        text.push_str(&format!(
            "No matches under {shown_dir}{}.\n",
            if a.cursor.is_some() {
                " after the cursor"
            } else {
                ""
            }
        ));
    }
    let mut s = json!({"matches": matches, "truncated": more});
    if long_lines > 0 {
        text.push_str(&format!(
            "[{long_lines} files skipped: a line longer than {} MiB]\n",
            LINE_LIMIT >> 20
        ));
        s["skipped_long_lines"] = json!(long_lines);
    }
    if let (true, Some((path, line))) = (more, last) {
        let cursor = crate::tools::budget::seal_cursor(
            digest,
            json!({"path": path.to_string_lossy(), "line": line}),
        );
        text.push_str(&format!(
            "[showed {} matches (at most {} per page, {} bytes); more follow: call again with the same arguments and \
             cursor: \"{cursor}\"]\n",
            matches.len(), page.max, page.budget
        ));
        s["next_cursor"] = json!(cursor);
    }
    ToolResult::text(text).with_structured(s)
}

#[cfg(test)]
#[path = "search_tests.rs"]
mod tests;
