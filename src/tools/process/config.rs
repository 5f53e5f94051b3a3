//! The configuration shared by `shell` and the background jobs: the shell
//! program, timeouts, output caps, job limits and the `cwd` policy.

use crate::server::ToolError;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::process::Command;

/// Resolves the `cwd` argument of a call (`None`: the default directory) to
/// a directory, or explains why it is refused.
pub type CwdResolver = Arc<dyn Fn(Option<&str>) -> Result<PathBuf, String> + Send + Sync>;

/// Limits and settings of the process tools.
#[derive(Clone)]
pub struct ShellConfig {
    /// Program and leading arguments; the command is appended (`["sh", "-c"]`).
    pub shell: Vec<String>,
    /// Timeout of a `shell` call that gives none.
    pub default_timeout: Duration,
    /// Largest timeout a call may ask for (also caps `wait_ms` of job output).
    pub max_timeout: Duration,
    /// Time between SIGTERM and SIGKILL when a process group is ended.
    pub kill_grace: Duration,
    /// Bytes of output kept per stream when a call gives no `max_output_bytes`.
    pub output_cap: usize,
    /// Largest `max_output_bytes` a call may ask for.
    pub max_output_cap: usize,
    /// Interval between progress notifications carrying new output.
    pub progress_interval: Duration,
    /// Largest number of background jobs running at once.
    pub max_jobs: usize,
    /// Largest number of job records kept (running and ended).
    pub max_job_records: usize,
    /// Bytes of output kept per stream of a background job.
    pub job_buffer_bytes: usize,
    /// How long an ended job's output stays readable.
    pub job_retention: Duration,
    /// Resolves the `cwd` argument; the lead plugs in the roots policy.
    pub cwd: CwdResolver,
    /// Confines every command to the roots (`--sandbox`); `None`: unconfined.
    pub sandbox: Option<Arc<crate::tools::sandbox::Sandbox>>,
    /// What a `shell` call that gives no `on_timeout` does at its timeout.
    pub on_timeout: OnTimeout,
    /// The output budget (`--max-result-bytes`): a `shell` answer, text and
    /// structured content together, stays within it.
    pub max_result_bytes: usize,
    /// Tags job handles `job_ID.<random>` (`--instance-id`), so a load
    /// balancer can send a job's calls to the instance that runs it.
    pub instance_id: Option<crate::server::InstanceId>,
}

/// What `shell` does with a command still running at its timeout.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnTimeout {
    /// End its process group (SIGTERM, then SIGKILL after the grace).
    #[default]
    Kill,
    /// Leave it running as a background job, as if started with `shell_bg`,
    /// and answer at once with the output so far and the job handle.
    Background,
}

impl std::fmt::Debug for ShellConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShellConfig")
            .field("shell", &self.shell)
            .field("default_timeout", &self.default_timeout)
            .field("max_timeout", &self.max_timeout)
            .field("output_cap", &self.output_cap)
            .field("max_jobs", &self.max_jobs)
            .finish_non_exhaustive()
    }
}

impl Default for ShellConfig {
    fn default() -> Self {
        ShellConfig {
            shell: vec!["sh".into(), "-c".into()],
            default_timeout: Duration::from_secs(120),
            max_timeout: Duration::from_secs(1800),
            kill_grace: Duration::from_secs(2),
            output_cap: 32 * 1024,
            max_output_cap: 1024 * 1024,
            progress_interval: Duration::from_millis(250),
            max_jobs: 16,
            max_job_records: 64,
            job_buffer_bytes: 256 * 1024,
            job_retention: Duration::from_secs(30 * 60),
            cwd: Arc::new(default_cwd),
            sandbox: None,
            on_timeout: OnTimeout::Kill,
            max_result_bytes: crate::tools::budget::DEFAULT_MAX_RESULT_BYTES,
            instance_id: None,
        }
    }
}

/// The default cwd policy: relative paths against the current directory;
/// the directory must exist.
pub fn default_cwd(cwd: Option<&str>) -> Result<PathBuf, String> {
    let base = std::env::current_dir()
        .map_err(|e| format!("cannot read the server's current directory: {e}"))?;
    let dir = match cwd {
        None | Some("") => return Ok(base),
        Some(p) => base.join(p),
    };
    if dir.is_dir() {
        Ok(dir)
    } else {
        Err(format!(
            "cwd {:?} is not an existing directory; give an existing directory (relative paths start at {})",
            cwd.unwrap_or_default(),
            base.display()
        ))
    }
}

impl ShellConfig {
    /// A `Command` running `command` through the configured shell in `cwd`.
    pub fn command(&self, command: &str, cwd: &PathBuf) -> Result<Command, ToolError> {
        let (prog, lead) = self.shell.split_first().ok_or_else(|| {
            ToolError::msg("no shell is configured; set the shell program (e.g. sh -c)")
        })?;
        let mut cmd = match &self.sandbox {
            Some(sandbox) => {
                let mut args: Vec<&str> = lead.iter().map(String::as_str).collect();
                args.push(command);
                sandbox.command(prog, &args, cwd)
            }
            None => {
                let mut cmd = Command::new(prog);
                cmd.args(lead).arg(command).current_dir(cwd);
                cmd
            }
        };
        crate::secrets::scrub(&mut cmd);
        Ok(cmd)
    }

    /// The timeout of a call asking for `ms` (default when `None`), capped
    /// at the maximum.
    pub fn timeout_for(&self, ms: Option<u64>) -> Duration {
        ms.map(Duration::from_millis)
            .unwrap_or(self.default_timeout)
            .min(self.max_timeout)
    }
}
