//! lmcp's side: find `lmcp-extract`, start it for one request, feed it the
//! request and the body, read its answer (size-capped), and kill it when
//! the call is cancelled or its time is up.

use super::protocol::{Answer, Header, Job, MEMORY_LIMIT};
use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;
use tokio_util::sync::CancellationToken;

/// The helper's file name.
pub const HELPER_NAME: &str = "lmcp-extract";

/// The environment variable naming the helper's path.
pub const HELPER_ENV: &str = "LMCP_EXTRACT";

/// Time the helper gets beyond its own budget before it is killed (start-up,
/// writing the answer).
const GRACE: Duration = Duration::from_secs(2);

/// Most of the helper's standard error kept (to tell why it died).
const STDERR_CAP: u64 = 4096;

/// Why the helper gave no answer.
#[derive(Debug)]
pub enum HelperError {
    /// The helper is not installed where it was looked for.
    NotFound {
        /// Where it was looked for.
        path: PathBuf,
        /// Whether the path came from `LMCP_EXTRACT`.
        from_env: bool,
    },
    /// The helper could not be started.
    Spawn(PathBuf, std::io::Error),
    /// The call was cancelled; the helper was killed.
    Cancelled,
    /// The helper took longer than its budget and was killed.
    TimedOut(Duration),
    /// The helper hit its memory ceiling.
    OutOfMemory,
    /// The helper died without an answer (signal or exit code).
    Crashed(String),
    /// The answer was larger than allowed.
    TooLarge(usize),
    /// The answer could not be read.
    BadAnswer(String),
}

impl fmt::Display for HelperError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HelperError::NotFound {
                path,
                from_env: true,
            } => write!(
                f,
                "the helper {HELPER_NAME} was not found at {} (set by {HELPER_ENV}); \
                 point {HELPER_ENV} at the {HELPER_NAME} installed with lmcp",
                path.display()
            ),
            HelperError::NotFound { path, .. } => write!(
                f,
                "the helper {HELPER_NAME} was not found next to {} (install it from the \
                 same package as lmcp, or set {HELPER_ENV} to its path)",
                path.parent()
                    .map(|d| d.join("lmcp"))
                    .unwrap_or_else(|| path.clone())
                    .display()
            ),
            HelperError::Spawn(p, e) => write!(
                f,
                "the helper {} could not be started ({e}); check that it is executable",
                p.display()
            ),
            HelperError::Cancelled => f.write_str("cancelled"),
            HelperError::TimedOut(d) => write!(
                f,
                "the parser took longer than {:.1} s and was stopped; the input is too large or too complex, or the call's timeout left too little time for it",
                d.as_secs_f64()
            ),
            HelperError::OutOfMemory => write!(
                f,
                "the parser ran out of memory (limit {} MiB); the input is too large or too complex",
                MEMORY_LIMIT >> 20
            ),
            HelperError::Crashed(why) => write!(
                f,
                "the parser process {why}; the input is probably malformed"
            ),
            HelperError::TooLarge(cap) => write!(
                f,
                "the extracted content is larger than {cap} bytes; ask for less (a page range, a cell range or a smaller limit)"
            ),
            HelperError::BadAnswer(e) => write!(
                f,
                "the helper {HELPER_NAME} gave an unreadable answer ({e}); check that it is the version installed with lmcp"
            ),
        }
    }
}

impl std::error::Error for HelperError {}

/// Where the helper is: `LMCP_EXTRACT`, else `lmcp-extract` in the directory
/// of the running executable.
pub fn locate() -> Result<PathBuf, HelperError> {
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("lmcp"));
    locate_from(std::env::var_os(HELPER_ENV), &exe)
}

/// [`locate`] with the value of `LMCP_EXTRACT` (`env`) and the running
/// executable's path given.
fn locate_from(env: Option<std::ffi::OsString>, exe: &Path) -> Result<PathBuf, HelperError> {
    let (path, from_env) = match env.filter(|v| !v.is_empty()) {
        Some(p) => (PathBuf::from(p), true),
        None => {
            let dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
            (dir.join(HELPER_NAME), false)
        }
    };
    let executable =
        std::fs::metadata(&path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
    if executable {
        Ok(path)
    } else {
        Err(HelperError::NotFound { path, from_env })
    }
}

/// Run `job` on `body` in a fresh helper process, within `time` (plus a
/// grace period) and `cancel`; an answer larger than `answer_cap` bytes is
/// an error. The helper is killed whenever this returns without its answer
/// or is dropped.
pub async fn run(
    job: Job,
    body: &[u8],
    time: Duration,
    cancel: Option<&CancellationToken>,
    answer_cap: usize,
) -> Result<Answer, HelperError> {
    let path = locate()?;
    let header = Header {
        job,
        body_len: body.len() as u64,
        time_ms: time.as_millis().try_into().unwrap_or(u64::MAX),
    };
    let mut line =
        serde_json::to_vec(&header).map_err(|e| HelperError::BadAnswer(e.to_string()))?;
    line.push(b'\n');
    let mut child = Command::new(&path)
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| HelperError::Spawn(path.clone(), e))?;
    let (Some(mut stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err(HelperError::Crashed("had no pipes".into()));
    };
    let feed = async move {
        // A helper that stops reading (it died, or refused the request)
        // closes the pipe: its exit status tells why.
        if stdin.write_all(&line).await.is_ok() {
            let _ = stdin.write_all(body).await;
        }
        drop(stdin);
    };
    let cap = answer_cap as u64 + 1;
    let talk = async {
        let ((), out, err) = tokio::join!(
            feed,
            read_capped(stdout, cap),
            read_capped(stderr, STDERR_CAP)
        );
        let status = child.wait().await;
        (out, err, status)
    };
    let cancelled = async {
        match cancel {
            Some(c) => c.cancelled().await,
            None => std::future::pending().await,
        }
    };
    let (out, err, status) = tokio::select! {
        r = tokio::time::timeout(time + GRACE, talk) => match r {
            Ok(r) => r,
            Err(_) => return Err(HelperError::TimedOut(time)),
        },
        () = cancelled => return Err(HelperError::Cancelled),
    };
    let out = out.map_err(|e| HelperError::BadAnswer(e.to_string()))?;
    let err = String::from_utf8_lossy(&err.unwrap_or_default()).into_owned();
    let status =
        status.map_err(|e| HelperError::Crashed(format!("could not be waited for ({e})")))?;
    if out.len() > answer_cap {
        return Err(HelperError::TooLarge(answer_cap));
    }
    if !status.success() {
        return Err(death(status, &err, time));
    }
    serde_json::from_slice(&out).map_err(|e| HelperError::BadAnswer(e.to_string()))
}

/// Why the helper exited without success.
fn death(status: std::process::ExitStatus, stderr: &str, time: Duration) -> HelperError {
    const SIGKILL: i32 = 9;
    const SIGXCPU: i32 = 24;
    if stderr.contains("memory allocation of") || stderr.contains("out of memory") {
        return HelperError::OutOfMemory;
    }
    match status.signal() {
        Some(SIGXCPU | SIGKILL) => HelperError::TimedOut(time),
        Some(sig) => HelperError::Crashed(format!("was killed by signal {sig}")),
        None => {
            let last = stderr.lines().last().unwrap_or("").trim();
            let why = if last.is_empty() {
                String::new()
            } else {
                format!(": {last}")
            };
            HelperError::Crashed(format!(
                "exited with status {}{why}",
                status.code().unwrap_or(-1)
            ))
        }
    }
}

/// Read at most `cap` bytes of `r`, then drain the rest (so the writer is
/// never blocked on a full pipe).
async fn read_capped(mut r: impl AsyncRead + Unpin, cap: u64) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    (&mut r).take(cap).read_to_end(&mut out).await?;
    tokio::io::copy(&mut r, &mut tokio::io::sink()).await?;
    Ok(out)
}

/// [`run`] from a blocking thread: on the current tokio runtime when there
/// is one (`read_file` runs on a blocking thread of lmcp's), else on a
/// single-threaded runtime built for this call (an embedder calling from a
/// plain thread; tests/extract_helper.rs covers both).
pub fn run_blocking(
    job: Job,
    body: &[u8],
    time: Duration,
    cancel: Option<&CancellationToken>,
    answer_cap: usize,
) -> Result<Answer, HelperError> {
    match tokio::runtime::Handle::try_current() {
        Ok(h) => h.block_on(run(job, body, time, cancel, answer_cap)),
        Err(_) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| HelperError::Crashed(format!("could not be supervised ({e})")))?
            .block_on(run(job, body, time, cancel, answer_cap)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_helper_says_where_it_was_looked_for() {
        let e = locate_from(None, Path::new("/nonexistent/bin/lmcp")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the helper lmcp-extract was not found next to /nonexistent/bin/lmcp (install it \
             from the same package as lmcp, or set LMCP_EXTRACT to its path)"
        );
        let e = locate_from(Some("/nonexistent/x".into()), Path::new("/usr/bin/lmcp")).unwrap_err();
        assert!(
            e.to_string()
                .contains("/nonexistent/x (set by LMCP_EXTRACT)"),
            "{e}"
        );
        // An empty LMCP_EXTRACT counts as unset; a file that is not
        // executable is not the helper.
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("lmcp");
        let helper = dir.path().join(HELPER_NAME);
        std::fs::write(&helper, b"").unwrap();
        assert!(locate_from(Some("".into()), &exe).is_err());
        std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(locate_from(Some("".into()), &exe).unwrap(), helper);
    }

    #[test]
    fn deaths_are_explained() {
        use std::process::ExitStatus;
        let t = Duration::from_secs(30);
        let oom = death(
            ExitStatus::from_raw(6),
            "memory allocation of 1073741824 bytes failed\n",
            t,
        );
        assert!(matches!(oom, HelperError::OutOfMemory));
        assert!(oom
            .to_string()
            .contains("ran out of memory (limit 1024 MiB)"));
        assert!(matches!(
            death(ExitStatus::from_raw(24), "", t),
            HelperError::TimedOut(_)
        ));
        let crash = death(ExitStatus::from_raw(11), "", t).to_string();
        assert!(crash.contains("killed by signal 11"), "{crash}");
        let exit = death(ExitStatus::from_raw(2 << 8), "lmcp-extract: bad\n", t).to_string();
        assert!(
            exit.contains("exited with status 2: lmcp-extract: bad"),
            "{exit}"
        );
    }
}
