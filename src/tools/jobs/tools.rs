//! The job tools: `shell_bg`, `shell_bg_output`, `shell_bg_input`,
//! `shell_bg_kill`, `shell_bg_list`.

use super::wait::{until_arg, wait_arg, Settle, DEFAULT_IDLE};
use super::{Job, JobManager, StartJob};
use crate::server::{Tool, ToolError, ToolResult};
use crate::tools::process::exec::Stream;
use crate::tools::process::output::{text_with_marker, RingRead};
use crate::tools::schemas::stored;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Arguments of `shell_bg`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BgArgs {
    /// The command line, run by the configured shell.
    pub command: String,
    /// Working directory (default: the server's default directory).
    #[serde(default)]
    pub cwd: Option<String>,
    /// Environment variables to add or override.
    #[serde(default)]
    pub env: Option<BTreeMap<String, String>>,
    /// Text written to the job's stdin at start.
    #[serde(default)]
    pub stdin: Option<String>,
    /// Close stdin after `stdin` (default false: stdin stays open for shell_bg_input).
    #[serde(default)]
    pub close_stdin: bool,
    /// Wait up to this many milliseconds and answer with the first output: the wait ends once the
    /// command printed something and went quiet for `idle_ms`, or exited (default: answer at once).
    #[serde(default)]
    pub wait_ms: Option<u64>,
    /// With `wait_ms`: how long output must stay quiet to end the wait (default 300).
    #[serde(default)]
    pub idle_ms: Option<u64>,
}

/// Which streams to read.
#[derive(Debug, Clone, Copy, Default, Deserialize, JsonSchema, PartialEq)]
#[serde(rename_all = "lowercase")]
pub enum Streams {
    /// Both stdout and stderr.
    #[default]
    Both,
    /// Only stdout.
    Stdout,
    /// Only stderr.
    Stderr,
}

/// Arguments of `shell_bg_output`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OutputArgs {
    /// The job handle returned by shell_bg.
    #[schemars(extend("x-mcp-header" = "Job"))]
    pub job: String,
    /// Read stdout from this byte offset (the `stdout_offset` of the previous answer; default 0).
    #[serde(default)]
    pub stdout_offset: Option<u64>,
    /// Read stderr from this byte offset (the `stderr_offset` of the previous answer; default 0).
    #[serde(default)]
    pub stderr_offset: Option<u64>,
    /// Instead of offsets, return the last N lines of each stream.
    #[serde(default)]
    pub tail_lines: Option<usize>,
    /// Which streams to read (default both).
    #[serde(default)]
    pub stream: Streams,
    /// Wait up to this many milliseconds for output past the offsets (with
    /// `tail_lines`: for any new output) or the job's end; answers at once if
    /// there is already some.
    #[serde(default)]
    pub wait_ms: Option<u64>,
    /// Most bytes returned per stream (default: the server's output cap).
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub max_bytes: Option<u64>,
}

/// Arguments of `shell_bg_input`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InputArgs {
    /// The job handle returned by shell_bg.
    #[schemars(extend("x-mcp-header" = "Job"))]
    pub job: String,
    /// Text to write (add a trailing newline to submit a line).
    pub input: String,
    /// Close the job's stdin afterwards (end of input).
    #[serde(default)]
    pub close: bool,
    /// Then wait up to this many milliseconds and answer with the new output: the wait ends when
    /// new output matches `until`, or (without `until`, or with `idle_ms`) when the job printed
    /// something and went quiet for `idle_ms`, or when it exits.
    #[serde(default)]
    pub wait_ms: Option<u64>,
    /// With `wait_ms`: a regular expression matched against the new output (e.g. a prompt `>>> $`).
    #[serde(default)]
    pub until: Option<String>,
    /// With `wait_ms`: how long output must stay quiet to end the wait (default 300; with
    /// `until`, only when given).
    #[serde(default)]
    pub idle_ms: Option<u64>,
}

/// Arguments of `shell_bg_kill`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KillArgs {
    /// The job handle returned by shell_bg.
    #[schemars(extend("x-mcp-header" = "Job"))]
    pub job: String,
    /// Signal to send to the job's process group (TERM, KILL, INT, HUP, QUIT,
    /// USR1, USR2). Default: TERM, then KILL after a short grace.
    #[serde(default)]
    pub signal: Option<String>,
}

/// Arguments of `shell_bg_list`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListArgs {}

/// The output schema of `shell_bg`, `shell_bg_kill` and each job of
/// `shell_bg_list` (stored as `shell_bg.output`).
#[cfg(any(debug_assertions, test))]
fn job_schema() -> Value {
    json!({"type": "object", "properties": {
        "job": {"type": "string"}, "command": {"type": "string"},
        "state": {"type": "string", "enum": ["running", "exited", "killed"]},
        "pid": {"type": "integer"}, "started_at": {"type": "string"},
        "duration_ms": {"type": "integer"},
        "exit_code": {"type": ["integer", "null"]}, "signal": {"type": ["string", "null"]},
        "waiting_for_input": {"type": "boolean"}
    }, "required": ["job", "command", "state"]})
}

fn parse_signal(name: &str) -> Result<nix::sys::signal::Signal, ToolError> {
    use nix::sys::signal::Signal::*;
    let up = name.trim().to_ascii_uppercase();
    Ok(match up.strip_prefix("SIG").unwrap_or(&up) {
        "TERM" | "15" => SIGTERM,
        "KILL" | "9" => SIGKILL,
        "INT" | "2" => SIGINT,
        "HUP" | "1" => SIGHUP,
        "QUIT" | "3" => SIGQUIT,
        "USR1" => SIGUSR1,
        "USR2" => SIGUSR2,
        "STOP" => SIGSTOP,
        "CONT" => SIGCONT,
        _ => {
            return Err(ToolError::msg(format!(
                "unknown signal {name:?}; use one of TERM, KILL, INT, HUP, QUIT, USR1, USR2, STOP, CONT"
            )))
        }
    })
}

fn output_of(job: &Job, a: &OutputArgs, max: usize) -> Value {
    let mut v = job.summary();
    let want = |s: Stream| match a.stream {
        Streams::Both => true,
        Streams::Stdout => s == Stream::Stdout,
        Streams::Stderr => s == Stream::Stderr,
    };
    for (s, name, offset) in [
        (Stream::Stdout, "stdout", a.stdout_offset),
        (Stream::Stderr, "stderr", a.stderr_offset),
    ] {
        if !want(s) {
            continue;
        }
        let read = match a.tail_lines {
            Some(n) => job.with_state(|st| match s {
                Stream::Stdout => st.stdout.tail_lines(n),
                Stream::Stderr => st.stderr.tail_lines(n),
            }),
            None => job.read(s, offset.unwrap_or(0), max),
        };
        // The last lines too are at most `max` bytes: their start is dropped.
        let read = if read.data.len() > max {
            let cut = read.data.len() - max;
            RingRead {
                data: read.data[cut..].to_vec(),
                dropped: read.dropped + cut as u64,
                next: read.next,
            }
        } else {
            read
        };
        let end = job.with_state(|st| match s {
            Stream::Stdout => st.stdout.end(),
            Stream::Stderr => st.stderr.end(),
        });
        v[name] = json!(text_with_marker(&read));
        v[format!("{name}_offset")] = json!(read.next);
        v[format!("{name}_dropped")] = json!(read.dropped);
        v[format!("{name}_more")] = json!(read.next < end);
    }
    v
}

/// Most rounds of reading less to fit the budget.
const FIT_ROUNDS: usize = 8;

/// The job's output as [`output_of`] reads it (at most `max` bytes per
/// stream) and its text as `render` makes it, together within `budget`
/// bytes: when they do not fit, fewer bytes are read (the offsets in the
/// answer say where to go on), whatever escapes and JSON add.
fn fitted_output(
    job: &Job,
    a: &OutputArgs,
    mut max: usize,
    budget: usize,
    render: impl Fn(&Value) -> String,
) -> (String, Value) {
    let measure = |max: usize| {
        let v = output_of(job, a, max);
        let text = render(&v);
        let size = text.len() + v.to_string().len();
        (text, v, size)
    };
    let (_, _, fixed) = measure(0);
    for round in 0..=FIT_ROUNDS {
        let (text, v, size) = measure(max);
        if size <= budget || max == 0 {
            return (text, v);
        }
        // Scale what was actually shown, not the cap asked for.
        let shown = ["stdout", "stderr"]
            .iter()
            .map(|k| v[*k].as_str().map_or(0, str::len))
            .max()
            .unwrap_or(0);
        let max_shown = max.min(shown);
        max = crate::tools::budget::shrink_kept(
            max_shown,
            size,
            fixed,
            budget,
            round + 1 == FIT_ROUNDS,
        );
    }
    let (text, v, _) = measure(0);
    (text, v)
}

fn render_output(v: &Value) -> String {
    let mut s = format!(
        "job {} {}",
        v["job"].as_str().unwrap_or(""),
        v["state"].as_str().unwrap_or("")
    );
    if let Some(c) = v["exit_code"].as_i64() {
        s.push_str(&format!(" (exit code {c})"));
    }
    if let Some(sig) = v["signal"].as_str() {
        s.push_str(&format!(" ({sig})"));
    }
    for name in ["stdout", "stderr"] {
        if let Some(text) = v[name].as_str() {
            s.push_str(&format!(
                "\n--- {name} (next offset {}) ---\n{text}",
                v[format!("{name}_offset")]
            ));
        }
    }
    s
}

/// Wait as `w` says, then answer with the job's state and its output past
/// `w.from` (at most the output cap per stream), `settled` saying why the
/// wait ended; `head` opens the text.
async fn settled_output(m: &JobManager, job: &Job, w: &Settle, head: String) -> ToolResult {
    let why = job.settle(w).await;
    let a = OutputArgs {
        job: job.id.clone(),
        stdout_offset: Some(w.from.0),
        stderr_offset: Some(w.from.1),
        tail_lines: None,
        stream: Streams::Both,
        wait_ms: None,
        max_bytes: None,
    };
    // Room for the `settled` field added after the fit.
    let settled = json!({"settled": why.as_str()}).to_string().len();
    let budget = m.config().max_result_bytes.saturating_sub(settled);
    let (text, mut v) = fitted_output(job, &a, m.config().output_cap, budget, |v| {
        format!(
            "{head}; waited until: {}\n{}",
            why.as_str(),
            render_output(v)
        )
    });
    v["settled"] = json!(why.as_str());
    ToolResult::text(text).with_structured(v)
}

/// The five job tools, sharing `jobs`.
pub fn tools(jobs: Arc<JobManager>) -> Vec<Tool> {
    // Calls that wait (wait_ms, at most --shell-max-timeout-ms) outlast the
    // engine's default tool timeout: theirs covers the longest wait and a
    // stdin write (10 s).
    let waits = jobs.config().max_timeout + Duration::from_secs(15);
    let m = jobs.clone();
    let start = Tool::typed_with_schema::<BgArgs, _, _>(
        "shell_bg",
        "Start a command in the background (servers, watchers, long builds) and return at once \
         with a job handle (`job`); with wait_ms, return once its first output has settled (quiet for \
         idle_ms) or it exited, with that output. Read its output with shell_bg_output, write to its stdin with \
         shell_bg_input, stop it with shell_bg_kill, see all jobs with shell_bg_list.",
        stored!("shell_bg", BgArgs),
        move |a, _ctx| {
            let m = m.clone();
            async move {
                let max = m.config().max_timeout;
                let wait = wait_arg("wait_ms", a.wait_ms, max)?;
                let idle = wait_arg("idle_ms", a.idle_ms, max)?;
                let job = m.start(StartJob {
                    command: a.command,
                    cwd: a.cwd,
                    env: a.env.unwrap_or_default(),
                    stdin: a.stdin,
                    close_stdin: a.close_stdin,
                })?;
                let started = format!(
                    "started job {} (pid {}); read its output with shell_bg_output {{\"job\": \"{}\"}}",
                    job.id,
                    job.pid(),
                    job.id
                );
                let Some(within) = wait else {
                    return Ok(ToolResult::text(started).with_structured(job.summary()));
                };
                let w = Settle {
                    from: (0, 0),
                    within,
                    idle: Some(idle.unwrap_or(DEFAULT_IDLE)),
                    until: None,
                };
                Ok(settled_output(&m, &job, &w, started).await)
            }
        },
    )
    .title("Start a background job")
    .timeout(waits)
    .output_schema(stored!("shell_bg.output" => job_schema()))
    .destructive()
    .open_world(true);

    let m = jobs.clone();
    let output = Tool::typed_with_schema::<OutputArgs, _, _>(
        "shell_bg_output",
        "Read a background job's output: new output since the offsets of the previous answer, \
         or the last N lines; with its exit status once it ended. `wait_ms` waits for new output \
         or the end.",
        stored!("shell_bg_output", OutputArgs),
        move |a, _ctx| {
            let m = m.clone();
            async move {
                let job = m.get(&a.job)?;
                let cap = m.config().max_output_cap;
                let max = a
                    .max_bytes
                    .map_or(m.config().output_cap, |b| usize::try_from(b).unwrap_or(cap))
                    .min(cap);
                if let Some(ms) = a.wait_ms {
                    let within = Duration::from_millis(ms).min(m.config().max_timeout);
                    // New output is output past the given offsets; with
                    // `tail_lines` (no offsets), output past what is there now.
                    let (so, eo) = match a.tail_lines {
                        Some(_) => job.with_state(|s| (s.stdout.end(), s.stderr.end())),
                        None => (a.stdout_offset.unwrap_or(0), a.stderr_offset.unwrap_or(0)),
                    };
                    let which = a.stream;
                    job.wait_for(within, |s| {
                        s.end.is_some()
                            || (which != Streams::Stderr && s.stdout.end() > so)
                            || (which != Streams::Stdout && s.stderr.end() > eo)
                    })
                    .await;
                }
                let budget = m.config().max_result_bytes;
                let (text, v) = fitted_output(&job, &a, max, budget, render_output);
                Ok(ToolResult::text(text).with_structured(v))
            }
        },
    )
    .title("Read a background job's output")
    .timeout(waits)
    .read_only()
    .open_world(false);

    let m = jobs.clone();
    let input = Tool::typed_with_schema::<InputArgs, _, _>(
        "shell_bg_input",
        "Write text to a background job's stdin (for REPLs and prompts); `close` ends its input. \
         With wait_ms, then wait for the answer (until a regex such as a prompt `>>> $` matches the new \
         output, or the output goes quiet for idle_ms, or the job exits) and return the new output and offsets.",
        stored!("shell_bg_input", InputArgs),
        move |a, _ctx| {
            let m = m.clone();
            async move {
                // Every argument is checked before anything is written.
                let max = m.config().max_timeout;
                let wait = wait_arg("wait_ms", a.wait_ms, max)?;
                let idle = wait_arg("idle_ms", a.idle_ms, max)?;
                let until = until_arg(a.until.as_deref())?;
                if wait.is_none() && (until.is_some() || idle.is_some()) {
                    return Err(ToolError::msg(
                        "`until` and `idle_ms` shape a wait: give `wait_ms` too",
                    ));
                }
                let job = m.get(&a.job)?;
                let from = job.with_state(|s| (s.stdout.end(), s.stderr.end()));
                job.write_input(&a.input, a.close, Duration::from_secs(10))
                    .await?;
                let wrote = format!(
                    "wrote {} bytes to job {}{}",
                    a.input.len(),
                    job.id,
                    if a.close { " and closed its stdin" } else { "" }
                );
                let Some(within) = wait else {
                    return Ok(ToolResult::text(wrote).with_structured(
                        json!({"job": job.id, "bytes": a.input.len(), "closed": a.close}),
                    ));
                };
                let idle = match (&until, idle) {
                    (None, i) => Some(i.unwrap_or(DEFAULT_IDLE)),
                    (Some(_), i) => i,
                };
                let w = Settle { from, within, idle, until };
                let mut r = settled_output(&m, &job, &w, wrote).await;
                if let Some(v) = r.structured.as_mut() {
                    v["bytes"] = json!(a.input.len());
                    v["closed"] = json!(a.close);
                }
                Ok(r)
            }
        },
    )
    .title("Write to a background job's stdin")
    .timeout(waits)
    .destructive()
    .open_world(true);

    let m = jobs.clone();
    let kill = Tool::typed_with_schema::<KillArgs, _, _>(
        "shell_bg_kill",
        "Stop a background job: SIGTERM to its whole process group, SIGKILL after a short grace \
         (or send the given signal).",
        stored!("shell_bg_kill", KillArgs),
        move |a, _ctx| {
            let m = m.clone();
            async move {
                let job = m.get(&a.job)?;
                let grace = m.config().kill_grace + Duration::from_secs(1);
                match &a.signal {
                    None => job.kill(grace).await,
                    Some(name) => {
                        let sig = parse_signal(name)?;
                        if job.signal(sig) {
                            job.wait_for(Duration::from_millis(500), |s| s.end.is_some())
                                .await;
                        }
                    }
                }
                let v = job.summary();
                Ok(ToolResult::text(render_output(&v)).with_structured(v))
            }
        },
    )
    .title("Stop a background job")
    .output_schema(stored!("shell_bg.output" => job_schema()))
    .destructive()
    .open_world(false);

    let m = jobs;
    let list = Tool::typed_with_schema::<ListArgs, _, _>(
        "shell_bg_list",
        "List background jobs with command, state, start time and exit code; waiting_for_input: true \
         for a job blocked reading its stdin (Linux; a read(2) on its stdin pipe, not poll/select).",
        stored!("shell_bg_list", ListArgs),
        move |_a, _ctx| {
            let m = m.clone();
            async move {
                let jobs: Vec<Value> = m
                    .list()
                    .iter()
                    .map(|j| {
                        let mut v = j.summary();
                        v["waiting_for_input"] = json!(j.waiting_for_input());
                        v
                    })
                    .collect();
                let text = if jobs.is_empty() {
                    "no background jobs".to_owned()
                } else {
                    jobs.iter()
                        .map(|j| {
                            format!(
                                "{} {}{} {} {}",
                                j["job"].as_str().unwrap_or(""),
                                j["state"].as_str().unwrap_or(""),
                                if j["waiting_for_input"] == true {
                                    " (waiting for input)"
                                } else {
                                    ""
                                },
                                j["started_at"].as_str().unwrap_or(""),
                                j["command"].as_str().unwrap_or("")
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                };
                Ok(ToolResult::text(text).with_structured(json!({ "jobs": jobs })))
            }
        },
    )
    .title("List background jobs")
    .output_schema(stored!("shell_bg_list.output" => json!({"type": "object", "properties": {"jobs": {"type": "array", "items": job_schema()}}, "required": ["jobs"]})))
    .read_only()
    .idempotent()
    .open_world(false);

    vec![start, output, input, kill, list]
}
