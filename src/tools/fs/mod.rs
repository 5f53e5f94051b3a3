//! File tools confined to roots: `read_file`, `write_file`, `edit_file`,
//! `list_dir`, `search_files`, `file_info`, `list_roots`, `make_dir`,
//! `move_file`, `copy_file` and `delete_file`.
//!
//! Every path goes through [`Roots`]; files are
//! opened with no-follow semantics and verified after opening, and writes are
//! atomic (temporary file in the same directory, fsync, rename). Filesystem
//! work runs on the blocking pool so handlers never block the runtime.
//!
//! Build the tools with [`tools`] from an [`FsConfig`], and the files as
//! MCP resources with [`resources()`].

mod atomic;
mod copy;
mod delete;
pub(crate) mod edit;
mod info;
mod list;
mod list_roots;
mod read;
mod read_lines;
mod resources;
mod search;
mod watch;
mod write;

pub use resources::{mime_for, path_to_file_uri, resources};

use crate::server::{RequestContext, Tool, ToolError};
use crate::tools::roots::{client_root_uris, Roots, RootsError};
use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Configuration of the file tools.
#[derive(Debug, Clone)]
pub struct FsConfig {
    /// The directories the tools may touch.
    pub roots: Roots,
    /// Leave out the tools that write (`write_file`, `edit_file`, `make_dir`,
    /// `move_file`, `copy_file`, `delete_file`).
    pub read_only: bool,
    /// In the legacy era, narrow the roots by the client's `roots/list`.
    pub trust_client_roots: bool,
    /// Take the roots from the client's `roots/list` (both eras): as the
    /// roots when `roots_given` is false, else to narrow them.
    pub roots_from_client: bool,
    /// Whether `roots` came from the command line (`--root`); false when
    /// they are only the default (the current directory).
    pub roots_given: bool,
    /// Largest amount of text `read_file` returns per file, in bytes.
    pub max_read_bytes: u64,
    /// The output budget: most bytes of text one call of `read_file`,
    /// `search_files` or `list_dir` answers (`--max-result-bytes`).
    pub max_result_bytes: usize,
    /// Largest image `read_file` returns as image content, in bytes.
    pub max_image_bytes: u64,
    /// Longest edge, in pixels, of an image `read_file` sends (larger ones
    /// are downscaled; feature `docs`).
    pub image_max_edge: u32,
    /// Largest file `write_file` writes or `edit_file` edits, in bytes.
    pub max_write_bytes: u64,
    /// Default and largest number of entries `list_dir` returns.
    pub max_list_entries: usize,
    /// Default and largest number of matches `search_files` returns.
    pub max_search_results: usize,
    /// Where `read_file` parses documents and images (feature `docs`): in
    /// the helper process `lmcp-extract` by default, or in process with
    /// [`Parsers::in_process`](crate::tools::extract_helper::Parsers::in_process).
    #[cfg(feature = "docs")]
    pub parsers: crate::tools::extract_helper::Parsers,
}

impl Default for FsConfig {
    /// The current directory as the only root, writes allowed, moderate caps.
    fn default() -> Self {
        FsConfig {
            roots: Roots::current_dir().unwrap_or_else(|e| {
                log::warn!("file tools: {e}; every path will be refused");
                Roots::none()
            }),
            read_only: false,
            trust_client_roots: false,
            roots_from_client: false,
            roots_given: true,
            max_read_bytes: 256 * 1024,
            max_result_bytes: crate::tools::budget::DEFAULT_MAX_RESULT_BYTES,
            max_image_bytes: 5 * 1024 * 1024,
            image_max_edge: 1568,
            max_write_bytes: 16 * 1024 * 1024,
            max_list_entries: 1000,
            max_search_results: 500,
            #[cfg(feature = "docs")]
            parsers: crate::tools::extract_helper::Parsers::helper(),
        }
    }
}

impl FsConfig {
    /// The default configuration over `roots`.
    pub fn with_roots(roots: Roots) -> Self {
        FsConfig {
            roots,
            ..FsConfig::default()
        }
    }
}

/// The file tools for `config`; without the writing tools when `read_only`.
pub fn tools(config: Arc<FsConfig>) -> Vec<Tool> {
    let mut out = vec![
        read::tool(config.clone()),
        list::tool(config.clone()),
        search::tool(config.clone()),
        info::info_tool(config.clone()),
        list_roots::tool(config.clone()),
    ];
    if !config.read_only {
        out.push(write::tool(config.clone()));
        out.push(edit::tool(config.clone()));
        out.push(info::make_dir_tool(config.clone()));
        out.push(info::move_tool(config.clone()));
        out.push(copy::tool(config.clone()));
        out.push(delete::tool(config));
    }
    out
}

/// Why a file operation failed, in words the caller can act on.
#[derive(Debug)]
pub enum FsError {
    /// The path was refused by the roots.
    Roots(RootsError),
    /// An I/O error while doing `action` on `path`.
    Io {
        /// What was being done ("read", "write", ...).
        action: &'static str,
        /// The path as the user gave it.
        path: String,
        /// The error.
        source: io::Error,
    },
    /// A request the tool cannot carry out as given.
    Invalid(String),
    /// The file changed under the operation (a concurrent writer); nothing
    /// was written and the operation may be retried.
    Changed(String),
    /// The request was cancelled.
    Cancelled,
}

impl fmt::Display for FsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FsError::Roots(e) => e.fmt(f),
            FsError::Io {
                action,
                path,
                source,
            } => {
                let hint = match source.kind() {
                    io::ErrorKind::PermissionDenied => {
                        ": permission denied; check the file's permissions"
                    }
                    io::ErrorKind::NotFound => ": not found",
                    io::ErrorKind::AlreadyExists => ": already exists",
                    io::ErrorKind::ReadOnlyFilesystem => ": the file system is read-only",
                    _ => "",
                };
                if hint.is_empty() {
                    write!(f, "cannot {action} {path}: {source}")
                } else {
                    write!(f, "cannot {action} {path}{hint} ({source})")
                }
            }
            FsError::Invalid(m) | FsError::Changed(m) => f.write_str(m),
            FsError::Cancelled => f.write_str("cancelled"),
        }
    }
}

impl std::error::Error for FsError {}

impl From<RootsError> for FsError {
    fn from(e: RootsError) -> Self {
        FsError::Roots(e)
    }
}

impl From<FsError> for ToolError {
    fn from(e: FsError) -> Self {
        ToolError::Tool(e.to_string())
    }
}

/// Build an I/O error mapper for `action` on `path`.
pub(crate) fn io_err<'a>(
    action: &'static str,
    path: &'a str,
) -> impl FnOnce(io::Error) -> FsError + 'a {
    move |source| FsError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

/// Run filesystem work on the blocking pool.
pub(crate) async fn blocking<T, F>(f: F) -> Result<T, ToolError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, FsError> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ToolError::Tool(format!("internal error in a file tool: {e}")))?
        .map_err(ToolError::from)
}

/// Where the roots in force came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RootsSource {
    /// The command line (or the embedder's configuration).
    Server,
    /// The client's `roots/list`, narrowing the command line's.
    ClientNarrowed,
    /// The client's `roots/list` alone (`--roots-from-client`, no `--root`).
    Client,
}

/// The roots in force for this request: the configured roots, narrowed by
/// the client's roots (legacy era with `trust_client_roots`, either era with
/// `roots_from_client`), or the client's roots alone with `roots_from_client`
/// and no configured roots.
pub(crate) async fn roots_for(cfg: &FsConfig, ctx: &RequestContext) -> Result<Roots, ToolError> {
    roots_with_source(cfg, ctx).await.map(|(r, _)| r)
}

/// [`roots_for`], saying where the roots came from.
pub(crate) async fn roots_with_source(
    cfg: &FsConfig,
    ctx: &RequestContext,
) -> Result<(Roots, RootsSource), ToolError> {
    let from_client = cfg.roots_from_client;
    let narrow = (cfg.trust_client_roots && !ctx.protocol_version().is_modern())
        || (from_client && cfg.roots_given);
    if !from_client && !narrow {
        return Ok((cfg.roots.clone(), RootsSource::Server));
    }
    if !ctx.has_client_capability("roots") {
        if from_client && !cfg.roots_given {
            return Err(ToolError::Tool(
                "lmcp takes its roots from the client (--roots-from-client), but this client does not offer roots \
                 (the `roots` capability); use a client that does, or start lmcp with --root DIR"
                    .into(),
            ));
        }
        return Ok((cfg.roots.clone(), RootsSource::Server));
    }
    match ctx.list_roots().await {
        Ok(v) if from_client && !cfg.roots_given => Roots::from_client(&client_root_uris(&v))
            .map(|r| (r, RootsSource::Client))
            .map_err(|e| ToolError::Tool(e.to_string())),
        Ok(v) => cfg
            .roots
            .narrow(&client_root_uris(&v))
            .map(|r| (r, RootsSource::ClientNarrowed))
            .map_err(|e| ToolError::Tool(e.to_string())),
        Err(ToolError::Tool(m)) if cfg.roots_given || !from_client => {
            log::warn!("roots/list failed ({m}); using the configured roots");
            Ok((cfg.roots.clone(), RootsSource::Server))
        }
        Err(e) => Err(e),
    }
}

/// `name` for text output: control characters (a newline, a tab, an escape
/// sequence) are shown escaped (`\n`, `\t`, `\x1b`), so a crafted file name
/// cannot fake extra lines or drive a terminal. Structured content keeps the
/// real name.
pub(crate) fn escape_name(name: &str) -> std::borrow::Cow<'_, str> {
    if !name.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len() + 8);
    for c in name.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() && (c as u32) < 0x100 => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Milliseconds since the Unix epoch (0 before it).
pub(crate) fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// `YYYY-MM-DDTHH:MM:SSZ` (UTC) for a time.
pub(crate) fn iso_time(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Lower-case hex SHA-256 of `data`.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(data);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Lower-case hex SHA-256 of everything `r` yields, streamed (memory stays
/// bounded whatever the file's size).
pub(crate) fn sha256_reader(mut r: impl io::Read) -> io::Result<String> {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    io::copy(&mut r, &mut hasher)?;
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

#[cfg(test)]
pub(crate) mod test_util {
    use super::*;
    use serde_json::{Map, Value};

    /// A temporary root with a config over it.
    pub struct Env {
        pub _tmp: tempfile::TempDir,
        pub root: std::path::PathBuf,
        pub cfg: Arc<FsConfig>,
    }

    pub fn env() -> Env {
        let tmp = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(tmp.path()).unwrap().join("root");
        std::fs::create_dir(&root).unwrap();
        let cfg = Arc::new(FsConfig {
            // No helper binary sits beside the unit tests: documents and
            // images are parsed in process (the helper is tested through
            // the real binaries by tests/*.rs and the Python tests).
            #[cfg(feature = "docs")]
            parsers: crate::tools::extract_helper::Parsers::in_process(),
            ..FsConfig::with_roots(Roots::new(vec![root.clone()]).unwrap())
        });
        Env {
            _tmp: tmp,
            root,
            cfg,
        }
    }

    /// Call `tool` with JSON `args` through its handler (after validation).
    pub async fn call(tool: &Tool, args: Value) -> Result<crate::server::ToolResult, String> {
        let Value::Object(map) = args else {
            panic!("args must be an object")
        };
        let map: Map<String, Value> = map;
        tool.validate(&map)?;
        match (tool.handler)(map, RequestContext::detached()).await {
            Ok(r) if r.is_error => Err(text(&r)),
            Ok(r) => Ok(r),
            Err(ToolError::Tool(m)) => Err(m),
            Err(e) => Err(format!("{e:?}")),
        }
    }

    /// All text of a result.
    pub fn text(r: &crate::server::ToolResult) -> String {
        r.content
            .iter()
            .filter_map(|c| match c {
                crate::Content::Text { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_in_names_are_escaped() {
        assert_eq!(escape_name("plain name.txt"), "plain name.txt");
        assert_eq!(
            escape_name("a\nb\tc\r\x1b[31m\u{85}"),
            "a\\nb\\tc\\r\\x1b[31m\\x85"
        );
    }

    #[test]
    fn iso_time_formats() {
        let t = UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        assert_eq!(iso_time(t), "2023-11-14T22:13:20Z");
        assert_eq!(iso_time(UNIX_EPOCH), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn read_only_hides_write_tools() {
        let env = test_util::env();
        let names = |c: FsConfig| -> Vec<String> {
            tools(Arc::new(c)).into_iter().map(|t| t.name).collect()
        };
        let all = names((*env.cfg).clone());
        assert!(all.contains(&"write_file".to_string()));
        let ro = names(FsConfig {
            read_only: true,
            ..(*env.cfg).clone()
        });
        let readers = [
            "read_file",
            "list_dir",
            "search_files",
            "file_info",
            "list_roots",
        ];
        assert_eq!(ro, readers);
        for t in tools(env.cfg.clone()) {
            let ro = t.annotations.read_only_hint == Some(true);
            let expect = readers.contains(&t.name.as_str());
            assert_eq!(ro, expect, "{}", t.name);
        }
    }
}
