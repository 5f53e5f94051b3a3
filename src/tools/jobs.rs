//! Background jobs: `shell_bg` starts a command and returns at once with an
//! unguessable handle; `shell_bg_output`, `shell_bg_input`, `shell_bg_kill`
//! and `shell_bg_list` take that handle as the argument `job`.
//!
//! Each job runs in its own process group with piped stdin, and a tokio task
//! reads its output into a bounded ring buffer per stream. Ended jobs stay
//! readable for the configured retention and are then discarded (lazily, on
//! the next job call). [`JobManager::shutdown`] ends every job's group.
//!
//! Tasks extension (`io.modelcontextprotocol/tasks`): a long `shell` call
//! could be answered with a task instead of blocking. That is engine work
//! (task store, `tasks/get`, `tasks/cancel`) and fits any tool generically:
//! the engine keeps the handler's future in its task store and drops it on
//! `tasks/cancel`, which for `shell` ends the process group as any
//! cancellation does. These job tools stay, because they work with every
//! client and era and offer what tasks do not: stdin, incremental output
//! by offset, signals.

use crate::server::{InstanceId, ToolError};
use crate::time::rfc3339;
use crate::tools::process::exec::{signal_group, ProcessGroup, Stream};
use crate::tools::process::output::{Ring, RingRead};
use crate::tools::process::{describe_status, ShellConfig};
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::io::AsyncWriteExt;
use tokio::process::ChildStdin;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

mod stdin_wait;
mod tools;
mod wait;
pub use tools::tools;

/// How a job ended.
#[derive(Debug, Clone)]
pub struct JobEnd {
    /// Exit code, if it exited.
    pub exit_code: Option<i32>,
    /// Signal name, if a signal ended it.
    pub signal: Option<String>,
    /// Whether it was ended by `shell_bg_kill` or shutdown.
    pub killed: bool,
    /// When it ended (monotonic).
    pub ended: Instant,
    /// Run time in milliseconds.
    pub duration_ms: u64,
}

/// Output and end state of a job.
#[derive(Debug)]
pub struct JobState {
    /// Latest stdout.
    pub stdout: Ring,
    /// Latest stderr.
    pub stderr: Ring,
    /// Set once the job ended.
    pub end: Option<JobEnd>,
}

/// A background job.
#[derive(Debug)]
pub struct Job {
    /// The handle (`job_` and 32 hex digits).
    pub id: String,
    /// The command line.
    pub command: String,
    /// Wall-clock start time.
    pub started_at: SystemTime,
    started: Instant,
    pgid: Pid,
    state: Mutex<JobState>,
    changed: watch::Sender<u64>,
    stdin: tokio::sync::Mutex<Option<ChildStdin>>,
    /// The stdin pipe as `/proc/*/fd` links name it (`pipe:[INODE]`).
    stdin_pipe: Option<String>,
    stop: CancellationToken,
    supervisor: Mutex<Option<JoinHandle<()>>>,
}

impl Job {
    /// A view of the output and end state.
    pub fn with_state<T>(&self, f: impl FnOnce(&JobState) -> T) -> T {
        f(&self.state.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Whether the job is still running.
    pub fn is_running(&self) -> bool {
        self.with_state(|s| s.end.is_none())
    }

    /// Whether the job is blocked reading its stdin (Linux; see
    /// the `stdin_wait` module for what this can and cannot see).
    pub fn waiting_for_input(&self) -> bool {
        let open = self.stdin.try_lock().is_ok_and(|s| s.is_some());
        match &self.stdin_pipe {
            Some(pipe) if open && self.is_running() => stdin_wait::group_reads(self.pid(), pipe),
            _ => false,
        }
    }

    /// The leader's pid (also the process group id).
    pub fn pid(&self) -> i32 {
        self.pgid.as_raw()
    }

    fn push(&self, stream: Stream, data: &[u8]) {
        {
            let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
            match stream {
                Stream::Stdout => s.stdout.push(data),
                Stream::Stderr => s.stderr.push(data),
            }
        }
        self.changed.send_modify(|v| *v += 1);
    }

    /// Wait until output arrives or the job ends, at most `within`; `pred`
    /// says whether what is there already suffices.
    pub async fn wait_for(&self, within: Duration, pred: impl Fn(&JobState) -> bool) {
        let mut rx = self.changed.subscribe();
        let deadline = Instant::now() + within;
        loop {
            rx.borrow_and_update();
            if self.with_state(&pred) {
                return;
            }
            if tokio::time::timeout_at(deadline, rx.changed())
                .await
                .is_err()
            {
                return;
            }
        }
    }

    /// Write to the job's stdin; `close` closes it afterwards.
    pub async fn write_input(
        &self,
        input: &str,
        close: bool,
        within: Duration,
    ) -> Result<(), ToolError> {
        let mut stdin = self.stdin.lock().await;
        let Some(pipe) = stdin.as_mut() else {
            return Err(ToolError::msg(format!(
                "the stdin of job {} is closed; start a new job to send more input",
                self.id
            )));
        };
        match tokio::time::timeout(within, pipe.write_all(input.as_bytes())).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                *stdin = None;
                return Err(ToolError::msg(format!(
                    "could not write to job {}: {e} (the job may have exited or closed its stdin)",
                    self.id
                )));
            }
            Err(_) => {
                return Err(ToolError::msg(format!(
                    "job {} is not reading its stdin (waited {} ms); check its output",
                    self.id,
                    within.as_millis()
                )))
            }
        }
        let _ = pipe.flush().await;
        if close {
            *stdin = None;
        }
        Ok(())
    }

    /// Send `sig` to the job's process group; `false` if it already ended.
    pub fn signal(&self, sig: Signal) -> bool {
        self.is_running() && signal_group(self.pgid, Some(sig))
    }

    /// End the job: SIGTERM to its group, SIGKILL after the grace period.
    /// Returns once it ended (or after `within`).
    pub async fn kill(&self, within: Duration) {
        self.stop.cancel();
        self.wait_for(within, |s| s.end.is_some()).await;
    }

    /// Output of one stream from `offset`, at most `max` bytes.
    pub fn read(&self, stream: Stream, offset: u64, max: usize) -> RingRead {
        self.with_state(|s| match stream {
            Stream::Stdout => s.stdout.read_from(offset, max),
            Stream::Stderr => s.stderr.read_from(offset, max),
        })
    }

    /// A summary for listings.
    pub fn summary(&self) -> Value {
        let (state, exit_code, signal, duration_ms) = self.with_state(|s| match &s.end {
            None => (
                "running",
                None,
                None,
                self.started.elapsed().as_millis() as u64,
            ),
            Some(e) => (
                if e.killed || e.signal.is_some() {
                    "killed"
                } else {
                    "exited"
                },
                e.exit_code,
                e.signal.clone(),
                e.duration_ms,
            ),
        });
        json!({
            "job": self.id,
            "command": self.command,
            "state": state,
            "pid": self.pid(),
            "started_at": rfc3339(self.started_at),
            "duration_ms": duration_ms,
            "exit_code": exit_code,
            "signal": signal,
        })
    }
}

/// Arguments to start a job (see `shell_bg`).
#[derive(Debug, Clone, Default)]
pub struct StartJob {
    /// The command line.
    pub command: String,
    /// Working directory argument, resolved by the config's cwd resolver.
    pub cwd: Option<String>,
    /// Extra environment variables.
    pub env: BTreeMap<String, String>,
    /// Text written to stdin at start.
    pub stdin: Option<String>,
    /// Close stdin after the initial text.
    pub close_stdin: bool,
}

/// Owns the background jobs of a server.
#[derive(Debug)]
pub struct JobManager {
    config: Arc<ShellConfig>,
    jobs: Mutex<HashMap<String, Arc<Job>>>,
    closed: CancellationToken,
    /// Whether [`JobManager::shutdown`] also ends every process any command
    /// of this process left behind (the server's exit; not in tests, which
    /// share one process).
    exit_sweep: bool,
    /// Whether `shell_bg` and its companions are served, so a job can be
    /// read and stopped (`shell`'s `on_timeout: "background"` needs them).
    served: std::sync::atomic::AtomicBool,
}

impl JobManager {
    /// A manager with the given limits.
    pub fn new(config: Arc<ShellConfig>) -> Arc<Self> {
        Arc::new(JobManager {
            config,
            jobs: Mutex::new(HashMap::new()),
            closed: CancellationToken::new(),
            exit_sweep: false,
            served: true.into(),
        })
    }

    /// The server's manager: like [`JobManager::new`], and its
    /// [`JobManager::shutdown`] also ends every process that any `shell` or
    /// `shell_bg` command of this process left behind outside its process
    /// group (found by walking the process tree).
    pub fn for_server(config: Arc<ShellConfig>) -> Arc<Self> {
        Arc::new(JobManager {
            config,
            jobs: Mutex::new(HashMap::new()),
            closed: CancellationToken::new(),
            exit_sweep: true,
            served: true.into(),
        })
    }

    /// Say whether `shell_bg` and its companions are served (they are
    /// unless `--tools`/`--disable` left them out). When they are not,
    /// `shell` refuses `on_timeout: "background"`: nobody could read or
    /// stop the job.
    pub fn set_served(&self, served: bool) {
        self.served
            .store(served, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether `shell_bg` and its companions are served.
    pub fn is_served(&self) -> bool {
        self.served.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The configuration.
    pub fn config(&self) -> &ShellConfig {
        &self.config
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Job>>> {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Drop ended jobs older than the retention time.
    fn purge(&self) {
        let retention = self.config.job_retention;
        self.lock().retain(|_, j| {
            j.with_state(|s| s.end.as_ref().is_none_or(|e| e.ended.elapsed() < retention))
        });
    }

    /// Room for one more job: refused at the running-jobs limit or at
    /// shutdown (the oldest ended record makes way at the records limit);
    /// the new job's handle.
    pub(crate) fn admit(&self) -> Result<String, ToolError> {
        if self.closed.is_cancelled() {
            return Err(ToolError::msg(
                "the server is shutting down; no new jobs start",
            ));
        }
        self.purge();
        {
            let mut jobs = self.lock();
            let running = jobs.values().filter(|j| j.is_running()).count();
            if running >= self.config.max_jobs {
                return Err(ToolError::msg(format!(
                    "{running} background jobs are running (the limit is {}); end one with shell_bg_kill first",
                    self.config.max_jobs
                )));
            }
            while jobs.len() >= self.config.max_job_records {
                let oldest = jobs
                    .values()
                    .filter_map(|j| {
                        j.with_state(|s| s.end.as_ref().map(|e| (e.ended, j.id.clone())))
                    })
                    .min();
                match oldest {
                    Some((_, id)) => jobs.remove(&id),
                    None => break,
                };
            }
        }
        new_handle(self.config.instance_id.as_ref())
    }

    /// Start a job.
    pub fn start(&self, req: StartJob) -> Result<Arc<Job>, ToolError> {
        let id = self.admit()?;
        let cwd = (self.config.cwd)(req.cwd.as_deref()).map_err(ToolError::Tool)?;
        let mut cmd = self.config.command(&req.command, &cwd)?;
        cmd.envs(&req.env)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut group = ProcessGroup::spawn(&mut cmd, self.config.kill_grace).map_err(|e| {
            ToolError::msg(format!(
                "could not start the job in {}: {e}; check the configured shell and the cwd",
                cwd.display()
            ))
        })?;
        let (stdin, pipes) = group.take_pipes();
        let cap = self.config.job_buffer_bytes;
        let rings = (Ring::new(cap), Ring::new(cap));
        let job = self.record(id, req.command, Instant::now(), stdin, group.pgid(), rings);
        if req.stdin.is_some() || req.close_stdin {
            let (job2, text, close) = (job.clone(), req.stdin.unwrap_or_default(), req.close_stdin);
            tokio::spawn(async move {
                if let Err(ToolError::Tool(e)) = job2
                    .write_input(&text, close, Duration::from_secs(60))
                    .await
                {
                    log::debug!("initial stdin of {}: {e}", job2.id);
                }
            });
        }
        self.launch(&job, group, pipes);
        log::info!(
            "job {} started (pid {}): {}",
            job.id,
            job.pid(),
            job.command
        );
        Ok(job)
    }

    /// Take over a `shell` command still running at its timeout
    /// (`on_timeout: "background"`): a job with handle `id` (from
    /// [`JobManager::admit`]), its output so far in `rings`, stdin closed.
    pub(crate) fn adopt(
        &self,
        id: String,
        command: String,
        started: Instant,
        group: ProcessGroup,
        pipes: crate::tools::process::exec::Pipes,
        rings: (Ring, Ring),
    ) -> Arc<Job> {
        let job = self.record(id, command, started, None, group.pgid(), rings);
        self.launch(&job, group, pipes);
        log::info!(
            "shell command left running at its timeout as job {} (pid {}): {}",
            job.id,
            job.pid(),
            job.command
        );
        job
    }

    fn record(
        &self,
        id: String,
        command: String,
        started: Instant,
        stdin: Option<ChildStdin>,
        pgid: Pid,
        (stdout, stderr): (Ring, Ring),
    ) -> Arc<Job> {
        use std::os::fd::AsRawFd;
        let stdin_pipe = stdin
            .as_ref()
            .and_then(|p| stdin_wait::pipe_id(p.as_raw_fd()));
        Arc::new(Job {
            id,
            command,
            started_at: SystemTime::now()
                .checked_sub(started.elapsed())
                .unwrap_or_else(SystemTime::now),
            started,
            pgid,
            state: Mutex::new(JobState {
                stdout,
                stderr,
                end: None,
            }),
            changed: watch::channel(0).0,
            stdin: tokio::sync::Mutex::new(stdin),
            stdin_pipe,
            stop: self.closed.child_token(),
            supervisor: Mutex::new(None),
        })
    }

    /// Supervise `job` (read its output until it ends) and list it.
    fn launch(
        &self,
        job: &Arc<Job>,
        group: ProcessGroup,
        pipes: crate::tools::process::exec::Pipes,
    ) {
        let handle = tokio::spawn(supervise(job.clone(), group, pipes));
        *job.supervisor.lock().unwrap_or_else(|e| e.into_inner()) = Some(handle);
        self.lock().insert(job.id.clone(), job.clone());
    }

    /// The job with handle `id`.
    pub fn get(&self, id: &str) -> Result<Arc<Job>, ToolError> {
        self.purge();
        self.lock().get(id).cloned().ok_or_else(|| {
            // A handle another instance minted reached this one: the
            // balancer did not route on Mcp-Param-Job (or that instance is gone).
            let here = self.config.instance_id.as_ref().map(|i| i.as_str());
            let owner = id
                .strip_prefix("job_")
                .and_then(|rest| rest.split_once('.'))
                .map(|(tag, _)| tag)
                .filter(|tag| Some(*tag) != here);
            match owner {
                Some(tag) => ToolError::msg(format!(
                    "no job {id:?} here: it was started by lmcp instance {tag:?}{}, which is gone or was not reached; route requests on the Mcp-Param-Job header (docs/deployment.md) or start the command again",
                    here.map(|h| format!(" and this is {h:?}")).unwrap_or_default()
                )),
                None => ToolError::msg(format!(
                    "no job {id:?}: ended jobs are discarded after {} s; list the jobs with shell_bg_list",
                    self.config.job_retention.as_secs()
                )),
            }
        })
    }

    /// All jobs, oldest first.
    pub fn list(&self) -> Vec<Arc<Job>> {
        self.purge();
        let mut v: Vec<Arc<Job>> = self.lock().values().cloned().collect();
        v.sort_by_key(|j| j.started);
        v
    }

    /// End every job's process group (SIGTERM, then SIGKILL after the grace
    /// period) and wait for them; no new job starts afterwards. A manager
    /// made by [`JobManager::for_server`] then ends every process a command
    /// of this server left behind outside its group.
    pub async fn shutdown(&self) {
        self.closed.cancel();
        let handles: Vec<JoinHandle<()>> = self
            .lock()
            .values()
            .filter_map(|j| {
                j.supervisor
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take()
            })
            .collect();
        let limit = self.config.kill_grace + Duration::from_secs(2);
        let _ = tokio::time::timeout(limit, async {
            for h in handles {
                let _ = h.await;
            }
        })
        .await;
        if self.exit_sweep {
            crate::tools::process::tree::kill_all();
        }
    }
}

impl Drop for JobManager {
    fn drop(&mut self) {
        self.closed.cancel();
    }
}

/// An unguessable job handle: `job_` and 128 random bits in hex, the bits
/// tagged `ID.` with the instance id (`job_ID.<hex>`) when there is one.
fn new_handle(instance: Option<&InstanceId>) -> Result<String, ToolError> {
    let id = crate::server::ids::mint(instance)
        .map_err(|e| ToolError::msg(format!("cannot make a job handle: no OS randomness ({e})")))?;
    Ok(format!("job_{id}"))
}

/// Reads a job's output until it ends, then records how it ended.
async fn supervise(
    job: Arc<Job>,
    mut group: ProcessGroup,
    mut pipes: crate::tools::process::exec::Pipes,
) {
    let mut status = None;
    let mut killed = false;
    loop {
        tokio::select! {
            chunk = pipes.next(), if !pipes.is_done() => {
                if let Some((s, data)) = chunk {
                    job.push(s, &data);
                }
            }
            s = group.wait() => {
                status = s.ok();
                break;
            }
            () = job.stop.cancelled() => {
                killed = true;
                break;
            }
        }
    }
    // End what is left of the group (everything, when killed), then read
    // the rest of the output; pipes held by escaped processes are abandoned.
    let end_status = group.terminate().await;
    status = status.or(end_status);
    pipes
        .drain(Duration::from_millis(500), |s, d| job.push(s, d))
        .await;
    *job.stdin.lock().await = None;
    let (exit_code, signal) = describe_status(status);
    log::info!("job {} ended: exit {exit_code:?} signal {signal:?}", job.id);
    {
        let mut s = job.state.lock().unwrap_or_else(|e| e.into_inner());
        s.end = Some(JobEnd {
            exit_code,
            signal,
            killed,
            ended: Instant::now(),
            duration_ms: job.started.elapsed().as_millis() as u64,
        });
    }
    job.changed.send_modify(|v| *v += 1);
}

#[cfg(test)]
mod tests;
