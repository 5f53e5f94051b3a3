//! The job tools: `shell_bg`, `shell_bg_output`, `shell_bg_input`,
//! `shell_bg_kill`, `shell_bg_list`.

use super::{Job, JobManager, StartJob};
use crate::server::{Tool, ToolError, ToolResult};
use crate::tools::schemas::stored;
use crate::tools::shell::exec::Stream;
use crate::tools::shell::output::text_with_marker;
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
    pub job: String,
    /// Text to write (add a trailing newline to submit a line).
    pub input: String,
    /// Close the job's stdin afterwards (end of input).
    #[serde(default)]
    pub close: bool,
}

/// Arguments of `shell_bg_kill`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KillArgs {
    /// The job handle returned by shell_bg.
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
        "exit_code": {"type": ["integer", "null"]}, "signal": {"type": ["string", "null"]}
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

/// The five job tools, sharing `jobs`.
pub fn tools(jobs: Arc<JobManager>) -> Vec<Tool> {
    let m = jobs.clone();
    let start = Tool::typed_with_schema::<BgArgs, _, _>(
        "shell_bg",
        "Start a command in the background (servers, watchers, long builds) and return at once \
         with a job handle (`job`). Read its output with shell_bg_output, write to its stdin with \
         shell_bg_input, stop it with shell_bg_kill, see all jobs with shell_bg_list.",
        stored!("shell_bg", BgArgs),
        move |a, _ctx| {
            let m = m.clone();
            async move {
                let job = m.start(StartJob {
                    command: a.command,
                    cwd: a.cwd,
                    env: a.env.unwrap_or_default(),
                    stdin: a.stdin,
                    close_stdin: a.close_stdin,
                })?;
                let v = job.summary();
                Ok(ToolResult::text(format!(
                    "started job {} (pid {}); read its output with shell_bg_output {{\"job\": \"{}\"}}",
                    job.id,
                    job.pid(),
                    job.id
                ))
                .with_structured(v))
            }
        },
    )
    .title("Start a background job")
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
                let v = output_of(&job, &a, max);
                Ok(ToolResult::text(render_output(&v)).with_structured(v))
            }
        },
    )
    .title("Read a background job's output")
    .read_only()
    .open_world(false);

    let m = jobs.clone();
    let input = Tool::typed_with_schema::<InputArgs, _, _>(
        "shell_bg_input",
        "Write text to a background job's stdin (for REPLs and prompts); `close` ends its input.",
        stored!("shell_bg_input", InputArgs),
        move |a, _ctx| {
            let m = m.clone();
            async move {
                let job = m.get(&a.job)?;
                job.write_input(&a.input, a.close, Duration::from_secs(10))
                    .await?;
                Ok(ToolResult::text(format!(
                    "wrote {} bytes to job {}{}",
                    a.input.len(),
                    job.id,
                    if a.close { " and closed its stdin" } else { "" }
                ))
                .with_structured(json!({"job": job.id, "bytes": a.input.len(), "closed": a.close})))
            }
        },
    )
    .title("Write to a background job's stdin")
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
        "List background jobs with command, state, start time and exit code.",
        stored!("shell_bg_list", ListArgs),
        move |_a, _ctx| {
            let m = m.clone();
            async move {
                let jobs: Vec<Value> = m.list().iter().map(|j| j.summary()).collect();
                let text = if jobs.is_empty() {
                    "no background jobs".to_owned()
                } else {
                    jobs.iter()
                        .map(|j| {
                            format!(
                                "{} {} {} {}",
                                j["job"].as_str().unwrap_or(""),
                                j["state"].as_str().unwrap_or(""),
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
