//! `shell`: run a command and return its exit status and output.
//!
//! The command runs through a configured shell (`sh -c` by default) as the
//! leader of its own process group, with stdin closed unless text is given.
//! On timeout, on cancellation (the engine drops the handler's future) and at
//! shutdown the whole group gets SIGTERM, then SIGKILL after a short grace,
//! so no process of the call survives, grandchildren included. Output is
//! kept per stream, head and tail, with a marker saying how much was cut,
//! and streamed as progress notifications when the client asked for them.
//!
//! [`ShellConfig`] (shared with the jobs)
//! holds the limits; [`tools`] builds the `shell` tool and
//! the background-job tools of [`crate::tools::jobs`].

use crate::protocol::LogLevel;
use crate::server::{RequestContext, TaskSupport, Tool, ToolError, ToolResult};
use crate::tools::jobs::JobManager;
use crate::tools::process::describe_status;
use crate::tools::process::exec::{ProcessGroup, Stream};
use crate::tools::process::output::{self, HeadTail};
use crate::tools::schemas::stored;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::time::{sleep_until, Instant, MissedTickBehavior};

pub use crate::tools::process::{default_cwd, CwdResolver, OnTimeout, ShellConfig};

fn on_timeout_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": ["string", "null"],
        "enum": ["kill", "background", null],
        "default": null,
        "description": "At the timeout: \"kill\" ends the command and every process it started (the default unless \
                        the server says otherwise); \"background\" leaves it running as a shell_bg job and answers at once \
                        with the output so far, state \"running\" and the `job` handle."
    })
}

/// Arguments of `shell`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ShellArgs {
    /// The command line, run by the configured shell (`sh -c` by default).
    pub command: String,
    /// Working directory (default: the server's default directory).
    #[serde(default)]
    pub cwd: Option<String>,
    /// Environment variables to add or override.
    #[serde(default)]
    pub env: Option<BTreeMap<String, String>>,
    /// Text fed to the command's stdin, which is then closed (default: no stdin).
    #[serde(default)]
    pub stdin: Option<String>,
    /// Timeout in milliseconds (default and maximum set by the server).
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub timeout_ms: Option<u64>,
    /// Bytes of output kept per stream; longer output keeps its head and tail.
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub max_output_bytes: Option<u64>,
    /// At the timeout: `kill` (default) or `background`.
    #[serde(default)]
    #[schemars(schema_with = "on_timeout_schema")]
    pub on_timeout: Option<OnTimeout>,
}

/// What a `shell` call produced (its `structuredContent`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub(crate) struct ShellOutput {
    /// Exit code, or null when a signal ended the command.
    pub exit_code: Option<i32>,
    /// Name of the signal that ended the command (e.g. `SIGKILL`), if any.
    pub signal: Option<String>,
    /// Standard output (head and tail when truncated).
    pub stdout: String,
    /// Standard error (head and tail when truncated).
    pub stderr: String,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
    /// Whether the timeout ended the command.
    pub timed_out: bool,
    /// Whether output was cut in the middle.
    pub truncated: bool,
    /// Bytes written to stdout in all.
    pub stdout_bytes: u64,
    /// Bytes written to stderr in all.
    pub stderr_bytes: u64,
    /// `running` when the command was left running at its timeout
    /// (`on_timeout: "background"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// The job handle of a command left running, for shell_bg_output,
    /// shell_bg_input and shell_bg_kill (its output goes on from
    /// `stdout_bytes` and `stderr_bytes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    /// Why a command was killed although `on_timeout` was `background`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Streams new output to the client as progress notifications and as log
/// entries per stream (`{"stream", "text"}`, with `dropped` when bytes were
/// skipped): only the latest [`STREAM_WINDOW`] bytes of each stream between
/// two ticks are kept and sent, so memory and notification size stay
/// bounded however fast the command writes.
struct Streamer {
    windows: [output::Ring; 2],
    sent: [u64; 2],
}

/// Most bytes of output one progress (or log) notification carries.
const STREAM_WINDOW: usize = 4096;

impl Streamer {
    fn new() -> Self {
        Streamer {
            windows: [
                output::Ring::new(STREAM_WINDOW),
                output::Ring::new(STREAM_WINDOW),
            ],
            sent: [0, 0],
        }
    }

    fn push(&mut self, stream: Stream, data: &[u8]) {
        self.windows[usize::from(stream == Stream::Stderr)].push(data);
    }

    async fn flush(&mut self, ctx: &RequestContext) {
        let mut text = String::new();
        for (i, name) in ["stdout", "stderr"].into_iter().enumerate() {
            if self.windows[i].end() == self.sent[i] {
                continue;
            }
            let read = self.windows[i].read_from(self.sent[i], STREAM_WINDOW);
            self.sent[i] = read.next;
            let chunk = crate::tools::budget::visible_controls(&output::text_with_marker(&read))
                .into_owned();
            let mut data = json!({"stream": name, "text": chunk});
            if read.dropped > 0 {
                data["dropped"] = json!(read.dropped);
            }
            ctx.log(LogLevel::Info, "shell", data).await;
            text.push_str(&chunk);
        }
        if text.is_empty() {
            return;
        }
        if text.len() > STREAM_WINDOW {
            let mut cut = text.len() - STREAM_WINDOW;
            while !text.is_char_boundary(cut) {
                cut += 1;
            }
            text = format!("[...]{}", &text[cut..]);
        }
        let total = self.windows[0].end() + self.windows[1].end();
        ctx.progress(total as f64, None, Some(&text)).await;
    }
}

/// How long output is still read after the command's process group ended,
/// from processes that escaped it (e.g. with `setsid`) and hold its pipes.
const ESCAPED_DRAIN: Duration = Duration::from_millis(500);

/// Run a `shell` call to the end (exit or timeout).
pub(crate) async fn run(
    config: &ShellConfig,
    args: ShellArgs,
    ctx: &RequestContext,
    jobs: Option<&JobManager>,
) -> Result<ShellOutput, ToolError> {
    let timeout = config.timeout_for(args.timeout_ms);
    // Jobs nobody can read or stop are no use: without shell_bg served, an
    // explicit "background" is refused and the server default falls back to kill.
    let served = jobs.is_some_and(JobManager::is_served);
    let background =
        served && args.on_timeout.unwrap_or(config.on_timeout) == OnTimeout::Background;
    let cap = args
        .max_output_bytes
        .map_or(config.output_cap, |b| {
            usize::try_from(b).unwrap_or(usize::MAX)
        })
        .min(config.max_output_cap)
        .max(2);
    if args.on_timeout == Some(OnTimeout::Background) && !served {
        return Err(ToolError::Tool(
            "on_timeout \"background\" leaves the command running as a shell_bg job, but this server does not \
             serve shell_bg (so the job could be neither read nor stopped); leave on_timeout out or set it to \"kill\", \
             or use a longer timeout_ms"
                .into(),
        ));
    }
    let cwd = (config.cwd)(args.cwd.as_deref()).map_err(ToolError::Tool)?;
    let mut cmd = config.command(&args.command, &cwd)?;
    if let Some(env) = &args.env {
        cmd.envs(env);
    }
    cmd.stdin(if args.stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let start = Instant::now();
    let mut group = ProcessGroup::spawn(&mut cmd, config.kill_grace).map_err(|e| {
        ToolError::msg(format!(
            "could not start {:?} in {}: {e}; check the configured shell and the cwd",
            config.shell.first().map(String::as_str).unwrap_or(""),
            cwd.display()
        ))
    })?;
    let (stdin, mut pipes) = group.take_pipes();
    let mut feed = match (stdin, args.stdin) {
        (Some(mut pipe), Some(text)) => Some(Box::pin(async move {
            // A command that exits without reading its stdin is not an error.
            let _ = pipe.write_all(text.as_bytes()).await;
            drop(pipe);
        })),
        _ => None,
    };
    let (mut out, mut err) = (HeadTail::new(cap), HeadTail::new(cap));
    // With on_timeout "background", the job's buffers are kept from the
    // start, so its output offsets count every byte.
    let ring_cap = if background {
        config.job_buffer_bytes
    } else {
        0
    };
    let mut rings = (output::Ring::new(ring_cap), output::Ring::new(ring_cap));
    let streaming = ctx.wants_progress();
    let mut streamer = Streamer::new();
    let mut tick = tokio::time::interval(config.progress_interval);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let deadline = start + timeout;
    let mut status = None;
    let mut timed_out = false;
    // Once the group is ended, output still arriving comes from processes
    // that left the group (setsid): read it briefly, not until the timeout.
    let mut drain_until: Option<Instant> = None;
    let mut keep = |s: Stream, data: &[u8], streamer: &mut Streamer| {
        match s {
            Stream::Stdout => out.push(data),
            Stream::Stderr => err.push(data),
        }
        if background {
            match s {
                Stream::Stdout => rings.0.push(data),
                Stream::Stderr => rings.1.push(data),
            }
        }
        if streaming {
            streamer.push(s, data);
        }
    };
    while status.is_none() || !pipes.is_done() {
        tokio::select! {
            chunk = pipes.next(), if !pipes.is_done() => {
                if let Some((s, data)) = chunk {
                    keep(s, &data, &mut streamer);
                }
            }
            s = group.wait(), if status.is_none() => {
                status = Some(s?);
                // The leader is gone: end what it left behind, so pipes held
                // open by background grandchildren reach end of file.
                group.terminate().await;
                drain_until = Some(Instant::now() + ESCAPED_DRAIN);
            }
            () = async { sleep_until(drain_until.expect("guarded")).await }, if drain_until.is_some() => {
                log::debug!("shell: output pipes held open by a process outside the group; not waiting for it");
                break;
            }
            () = async { feed.as_mut().expect("guarded").await }, if feed.is_some() => feed = None,
            _ = tick.tick(), if streaming => streamer.flush(ctx).await,
            () = sleep_until(deadline), if status.is_none() => {
                timed_out = true;
                break;
            }
        }
    }
    let mut note = None;
    if let (true, true, Some(jobs)) = (timed_out, background, jobs) {
        match jobs.admit() {
            Ok(id) => {
                if let Some(feed) = feed.take() {
                    tokio::spawn(feed);
                }
                let command = args.command.clone();
                let job = jobs.adopt(id, command, start, group, pipes, rings);
                if streaming {
                    streamer.flush(ctx).await;
                }
                return Ok(ShellOutput {
                    exit_code: None,
                    signal: None,
                    stdout: out.render(),
                    stderr: err.render(),
                    duration_ms: start.elapsed().as_millis() as u64,
                    timed_out: false,
                    truncated: out.cut() > 0 || err.cut() > 0,
                    stdout_bytes: out.total(),
                    stderr_bytes: err.total(),
                    state: Some("running".into()),
                    job: Some(job.id.clone()),
                    note: None,
                });
            }
            Err(e) => note = Some(format!("not left running in the background: {e}")),
        }
    }
    if timed_out {
        status = group.terminate().await;
        pipes
            .drain(Duration::from_millis(500), |s, d| keep(s, d, &mut streamer))
            .await;
    }
    if streaming {
        streamer.flush(ctx).await;
    }
    let (exit_code, signal) = describe_status(status);
    Ok(ShellOutput {
        exit_code,
        signal,
        stdout: out.render(),
        stderr: err.render(),
        duration_ms: start.elapsed().as_millis() as u64,
        timed_out,
        truncated: out.cut() > 0 || err.cut() > 0,
        stdout_bytes: out.total(),
        stderr_bytes: err.total(),
        state: None,
        job: None,
        note,
    })
}

/// The readable text block of a `shell` result.
pub(crate) fn render_text(o: &ShellOutput) -> String {
    let mut s = match (&o.exit_code, &o.signal) {
        _ if o.job.is_some() => format!(
            "still running after {} ms: left running as background job {} (on_timeout: background); \
             read more with shell_bg_output (stdout_offset={}, stderr_offset={}), end it with shell_bg_kill",
            o.duration_ms,
            o.job.as_deref().unwrap_or_default(),
            o.stdout_bytes,
            o.stderr_bytes
        ),
        _ if o.timed_out => format!(
            "timed out after {} ms (process group killed)",
            o.duration_ms
        ),
        (Some(code), _) => format!("exit code {code} ({} ms)", o.duration_ms),
        (None, Some(sig)) => format!("killed by {sig} ({} ms)", o.duration_ms),
        (None, None) => format!("no exit status ({} ms)", o.duration_ms),
    };
    if o.truncated {
        s.push_str("; output truncated");
    }
    if let Some(note) = &o.note {
        s.push_str(&format!(" ({note})"));
    }
    for (name, text) in [("stdout", &o.stdout), ("stderr", &o.stderr)] {
        // Terminal escape sequences are shown, not passed raw to a reader
        // (the structured content keeps the bytes as they were).
        let text = &crate::tools::budget::visible_controls(text);
        if !text.is_empty() {
            s.push_str(&format!("\n--- {name} ---\n{text}"));
            if !text.ends_with('\n') {
                s.push('\n');
            }
        }
    }
    s
}

/// The `shell` tool; with `jobs`, a command may be left running at its
/// timeout as one of their background jobs (`on_timeout: "background"`).
pub fn shell_tool(config: Arc<ShellConfig>, jobs: Option<Arc<JobManager>>) -> Tool {
    let engine_timeout = config.max_timeout + config.kill_grace + Duration::from_secs(5);
    Tool::typed_with_schema::<ShellArgs, _, _>(
        "shell",
        "Run a shell command and return its exit code, stdout and stderr (kept apart). \
         The command runs in its own process group with stdin closed unless `stdin` is given; \
         on timeout every process it started is killed, unless on_timeout is \"background\": then it keeps running \
         as a shell_bg job and the answer carries the output so far and the job handle. Long output keeps its head \
         and tail. For servers, watchers and long builds use shell_bg instead.",
        stored!("shell", ShellArgs),
        move |args, ctx| {
            let (config, jobs) = (config.clone(), jobs.clone());
            async move {
                let out = run(&config, args, &ctx, jobs.as_deref()).await?;
                let failed = out.timed_out;
                let (text, value) = fit::fit(out, config.max_result_bytes)?;
                Ok(ToolResult::text(text)
                    .with_structured(value)
                    .with_error(failed))
            }
        },
    )
    .title("Run a shell command")
    // A client declaring the Tasks extension gets a task it can poll and
    // cancel (cancelling drops the call, which kills its process group).
    .task_support(TaskSupport::Optional)
    .output_schema(stored!("shell.output", ShellOutput))
    .destructive()
    .open_world(true)
    .timeout(engine_timeout)
}

/// The `shell` tool and the background-job tools, sharing `jobs`.
pub fn tools(config: Arc<ShellConfig>, jobs: Arc<JobManager>) -> Vec<Tool> {
    let sandbox = config.sandbox.as_ref().map(|s| s.describe());
    let mut v = vec![shell_tool(config, Some(jobs.clone()))];
    v.extend(crate::tools::jobs::tools(jobs));
    if let Some(note) = sandbox {
        for t in v
            .iter_mut()
            .filter(|t| t.name == "shell" || t.name == "shell_bg")
        {
            t.description.push_str(&note);
        }
    }
    v
}

mod fit;
#[cfg(test)]
pub(crate) mod tests;
