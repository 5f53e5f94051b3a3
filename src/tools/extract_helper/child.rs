//! The helper's side: confine this process (memory ceiling, no file system
//! access, CPU time from the budget), read one request from standard input,
//! run the parser and write the answer to standard output.

use super::protocol::{Answer, Header, Job, MAX_BODY, MAX_HEADER, MEMORY_LIMIT};
use nix::sys::resource::{getrlimit, setrlimit, Resource};
use std::io::{self, BufRead, Read, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::ExitCode;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Run the helper: one request from standard input, one answer to standard
/// output. The exit code is 0 whenever an answer (even a failure) was
/// written, 2 when the request itself was unusable.
pub fn main() -> ExitCode {
    // A parser panic is caught and answered; the default hook's message on
    // stderr would only be noise.
    std::panic::set_hook(Box::new(|_| {}));
    set_limit(Resource::RLIMIT_AS, MEMORY_LIMIT);
    set_limit(Resource::RLIMIT_CORE, 0);
    deny_file_access();
    let (header, body) = match read_request() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("lmcp-extract: {e}");
            return ExitCode::from(2);
        }
    };
    // CPU time: the budget rounded up, plus a second of slack; the kernel
    // sends SIGXCPU at the soft limit and SIGKILL at the hard one.
    let cpu = header.time_ms.div_ceil(1000) + 1;
    set_cpu_limit(cpu);
    let time = Duration::from_millis(header.time_ms);
    let answer = answer(header.job, &body, time, None);
    let mut out = io::stdout().lock();
    if serde_json::to_writer(&mut out, &answer).is_err() || out.flush().is_err() {
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown failure".into())
}

/// Lower a resource limit (never above the hard limit in force). Best
/// effort: a refusal leaves the inherited limit.
fn set_limit(res: Resource, v: u64) {
    if let Ok((_, hard)) = getrlimit(res) {
        let v = v.min(hard);
        let _ = setrlimit(res, v, v);
    }
}

fn set_cpu_limit(seconds: u64) {
    if let Ok((_, hard)) = getrlimit(Resource::RLIMIT_CPU) {
        let _ = setrlimit(
            Resource::RLIMIT_CPU,
            seconds.min(hard),
            (seconds + 1).min(hard),
        );
    }
}

/// Landlock: refuse every file system access from now on (input comes on
/// stdin, the answer goes to stdout, both already open). Best effort: on a
/// kernel without Landlock this does nothing.
fn deny_file_access() {
    use landlock::{
        Access, AccessFs, CompatLevel, Compatible, Ruleset, RulesetAttr, RulesetCreatedAttr, ABI,
    };
    let r = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(AccessFs::from_all(ABI::V5))
        .and_then(|r| r.create())
        .and_then(|r| r.no_new_privs(true).restrict_self());
    if let Err(e) = r {
        eprintln!("lmcp-extract: Landlock not applied: {e}");
    }
}

fn read_request() -> Result<(Header, Vec<u8>), String> {
    let mut input = io::stdin().lock();
    let mut line = Vec::new();
    (&mut input)
        .take(MAX_HEADER)
        .read_until(b'\n', &mut line)
        .map_err(|e| format!("cannot read the request: {e}"))?;
    let header: Header =
        serde_json::from_slice(&line).map_err(|e| format!("invalid request line: {e}"))?;
    if header.body_len > MAX_BODY {
        return Err(format!(
            "the body of {} bytes is too large",
            header.body_len
        ));
    }
    let mut body = Vec::with_capacity(header.body_len as usize);
    input
        .take(header.body_len)
        .read_to_end(&mut body)
        .map_err(|e| format!("cannot read the body: {e}"))?;
    if body.len() as u64 != header.body_len {
        return Err(format!(
            "the body ended after {} of {} bytes",
            body.len(),
            header.body_len
        ));
    }
    Ok((header, body))
}

fn failed(message: impl Into<String>) -> Answer {
    Answer::Failed {
        message: message.into(),
    }
}

/// Run one job within `time` (and `cancel`, for parsing in process); a
/// parser panic becomes a [`Answer::Failed`]. The helper's main loop and
/// [`super::Parsers::in_process`] both call this.
pub(crate) fn answer(
    job: Job,
    body: &[u8],
    time: Duration,
    cancel: Option<&CancellationToken>,
) -> Answer {
    match catch_unwind(AssertUnwindSafe(|| run(job, body, time, cancel))) {
        Ok(a) => a,
        Err(panic) => Answer::Failed {
            message: format!(
                "its parser failed ({}); the input is probably malformed",
                panic_text(&*panic)
            ),
        },
    }
}

/// Run one job.
#[cfg_attr(not(feature = "docs"), allow(unused_variables))]
fn run(job: Job, body: &[u8], time: Duration, cancel: Option<&CancellationToken>) -> Answer {
    match job {
        #[cfg(feature = "web")]
        Job::Html { url, format } => web::html(body, &url, &format),
        #[cfg(feature = "web")]
        Job::Search {
            backend,
            skip,
            count,
        } => web::search(body, &backend, skip, count),
        #[cfg(feature = "docs")]
        Job::Doc { kind, request } => doc(&kind, &request, body, time, cancel),
        #[allow(unreachable_patterns)]
        _ => failed("this lmcp-extract was built without the feature this input needs; install a matching lmcp-extract"),
    }
}

#[cfg(feature = "web")]
mod web {
    use super::{failed, Answer};
    use crate::tools::web::extract::{convert_html, HtmlFormat};
    use crate::tools::web::search::{
        parse_brave, parse_duckduckgo, parse_searxng, searxng_unresponsive,
    };
    use serde_json::Value;

    pub(super) fn html(body: &[u8], url: &str, format: &str) -> Answer {
        let format = match format {
            "text" => HtmlFormat::Text,
            "html" => HtmlFormat::Html,
            _ => HtmlFormat::Markdown,
        };
        let c = convert_html(&String::from_utf8_lossy(body), url, format);
        Answer::Html {
            title: c.title,
            content: c.content,
            main_content: c.main_content,
        }
    }

    pub(super) fn search(body: &[u8], backend: &str, skip: usize, count: usize) -> Answer {
        let (results, unresponsive_engines) = match backend {
            "duckduckgo" => match parse_duckduckgo(&String::from_utf8_lossy(body), count) {
                Ok(r) => (r, Vec::new()),
                Err(e) => return failed(e.to_string()),
            },
            "searxng" => match serde_json::from_slice::<Value>(body) {
                Ok(v) => (parse_searxng(&v, skip, count), searxng_unresponsive(&v)),
                Err(e) => {
                    return failed(format!(
                        "searxng answered something that is not its JSON API ({e})"
                    ))
                }
            },
            "brave" => match serde_json::from_slice::<Value>(body) {
                Ok(v) => (parse_brave(&v, skip, count), Vec::new()),
                Err(e) => return failed(format!("brave answered invalid JSON ({e})")),
            },
            other => return failed(format!("unknown search backend {other:?}")),
        };
        Answer::Search {
            results: results
                .iter()
                .filter_map(|r| serde_json::to_value(r).ok())
                .collect(),
            unresponsive_engines,
        }
    }
}

#[cfg(feature = "docs")]
fn doc(
    kind: &str,
    req: &super::protocol::DocRequest,
    body: &[u8],
    time: Duration,
    cancel: Option<&CancellationToken>,
) -> Answer {
    use crate::tools::docs::{extract, Budget, DocError, Limits, LIMITS};
    let Some(kind) = crate::tools::docs::Kind::from_name(kind) else {
        return failed(format!("unknown document kind {kind:?}"));
    };
    let limits = Limits { time, ..LIMITS };
    match extract(kind, body, req, &Budget::new(limits, cancel.cloned())) {
        Ok((content, structured)) => Answer::Doc {
            content,
            structured,
        },
        Err(DocError::Invalid(m)) => failed(m),
        Err(DocError::Cancelled) => failed("cancelled"),
    }
}
