//! `search_files`: content search (regex or literal) or file-name search
//! under a directory, built on ripgrep's crates: a parallel, `.gitignore`-
//! aware walk (`ignore`), line-oriented search skipping binary files
//! (`grep-searcher`, `grep-regex`). Stops at `max_results` or on cancellation.

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
use std::path::Path;
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
}

#[derive(Debug, Clone)]
struct Hit {
    path: String,
    line: u64,
    text: String,
    is_match: bool,
}

struct Collect<'a> {
    path: String,
    hits: Vec<Hit>,
    found: &'a AtomicUsize,
    max: usize,
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

impl Sink for Collect<'_> {
    type Error = std::io::Error;
    fn matched(&mut self, _: &Searcher, m: &SinkMatch<'_>) -> Result<bool, Self::Error> {
        if self.found.fetch_add(1, Ordering::Relaxed) >= self.max {
            return Ok(false);
        }
        self.hits.push(Hit {
            path: self.path.clone(),
            line: m.line_number().unwrap_or(0),
            text: clip(m.bytes()),
            is_match: true,
        });
        Ok(true)
    }
    fn context(&mut self, _: &Searcher, c: &SinkContext<'_>) -> Result<bool, Self::Error> {
        self.hits.push(Hit {
            path: self.path.clone(),
            line: c.line_number().unwrap_or(0),
            text: clip(c.bytes()),
            is_match: false,
        });
        Ok(true)
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
         `path:line: text`. With names: true, finds files whose path matches a glob or contains a substring.",
        stored!("search_files", SearchArgs),
        move |a: SearchArgs, ctx| {
            let cfg = cfg.clone();
            async move {
                let roots = roots_for(&cfg, &ctx).await?;
                let cancel = ctx.cancellation().clone();
                let max = a.max_results.unwrap_or(cfg.max_search_results).clamp(1, cfg.max_search_results);
                blocking(move || search(&roots, a, max, &cancel, &AtomicUsize::new(0))).await
            }
        },
    )
    .title("Search files")
    .read_only()
    .idempotent()
    .open_world(false)
}

/// The search itself, on the blocking pool: walk, match, render. Ends early
/// once a match beyond `max` is seen, or with [`FsError::Cancelled`] as soon
/// as `cancel` fires (checked per entry and per block read of a file).
/// `visited` counts the files whose contents were searched.
fn search(
    roots: &Roots,
    a: SearchArgs,
    max: usize,
    cancel: &CancellationToken,
    visited: &AtomicUsize,
) -> Result<ToolResult, FsError> {
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
    // Every match seen counts, including those beyond `max` that are not
    // kept: `found > max` means the results were really cut, and only then
    // does the walk stop early.
    let found = AtomicUsize::new(0);
    let hits: Mutex<Vec<Hit>> = Mutex::new(Vec::new());
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
                if cancel.is_cancelled() || found.load(Ordering::Relaxed) > max {
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
                if ok && found.fetch_add(1, Ordering::Relaxed) < max {
                    let dir_mark = if ent.file_type().is_some_and(|t| t.is_dir()) {
                        "/"
                    } else {
                        ""
                    };
                    hits.lock().unwrap_or_else(|e| e.into_inner()).push(Hit {
                        path: format!("{}{dir_mark}", shown(ent.path())),
                        line: 0,
                        text: String::new(),
                        is_match: true,
                    });
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
        let ctxn = usize::from(a.context.min(10));
        let searcher = SearcherBuilder::new()
            .binary_detection(BinaryDetection::quit(0))
            .line_number(true)
            .before_context(ctxn)
            .after_context(ctxn)
            .build();
        let dir_fd = roots.open_dir(&dir, a.path.as_deref().unwrap_or("."))?;
        b.build_parallel().run(|| {
            let matcher = matcher.clone();
            let mut searcher = searcher.clone();
            let (found, hits, shown, roots, dir, dir_fd) =
                (&found, &hits, &shown, &roots, &dir, &dir_fd);
            Box::new(move |item| {
                if cancel.is_cancelled() || found.load(Ordering::Relaxed) > max {
                    return WalkState::Quit;
                }
                let Ok(ent) = item else {
                    return WalkState::Continue;
                };
                if !ent.file_type().is_some_and(|t| t.is_file()) {
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
                    path: shown(ent.path()),
                    hits: Vec::new(),
                    found,
                    max,
                };
                let reader = UntilCancelled {
                    inner: file,
                    cancel,
                };
                if let Err(e) = searcher.search_reader(&matcher, reader, &mut sink) {
                    log::debug!("search_files: skipping {}: {e}", ent.path().display());
                }
                if !sink.hits.is_empty() {
                    hits.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .extend(sink.hits);
                }
                WalkState::Continue
            })
        });
    }
    if cancel.is_cancelled() {
        return Err(FsError::Cancelled);
    }
    let mut hits = hits.into_inner().unwrap_or_else(|e| e.into_inner());
    hits.sort_by(|x, y| (&x.path, x.line).cmp(&(&y.path, y.line)));
    hits.dedup_by(|x, y| x.path == y.path && x.line == y.line && !a.names);
    let truncated = found.load(Ordering::Relaxed) > max;
    Ok(render(&hits, a.names, max, truncated, &roots.display(&dir)))
}

fn render(hits: &[Hit], names: bool, max: usize, truncated: bool, shown_dir: &str) -> ToolResult {
    let mut text = String::new();
    let mut matches = Vec::new();
    for h in hits {
        if names {
            text.push_str(&h.path);
            text.push('\n');
            matches.push(json!({"path": h.path}));
        } else if h.is_match {
            text.push_str(&format!("{}:{}: {}\n", h.path, h.line, h.text));
            matches.push(json!({"path": h.path, "line": h.line, "text": h.text}));
        } else {
            text.push_str(&format!("{}-{}- {}\n", h.path, h.line, h.text));
        }
    }
    if matches.is_empty() {
        text.push_str(&format!("No matches under {shown_dir}.\n"));
    }
    if truncated {
        text.push_str(&format!(
            "[stopped at {max} results; narrow the pattern or path, or raise max_results]\n"
        ));
    }
    ToolResult::text(text).with_structured(json!({"matches": matches, "truncated": truncated}))
}

#[cfg(test)]
#[path = "search_tests.rs"]
mod tests;
