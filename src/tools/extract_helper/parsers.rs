//! Where pages and documents are parsed: in the helper process
//! `lmcp-extract` (the default, and the only choice of the `lmcp` binary),
//! or, for library embedders who ship no helper, in the calling process.
//!
//! This is the one place that chooses. The in-process parsers are reached
//! only through [`Parsers::in_process`]: a program that never calls it (the
//! `lmcp` binary) does not link them.

use super::child;
use super::protocol::{Answer, Job};
use super::spawn::{self, HelperError};
use std::fmt;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The parsers run in process: the helper's own job runner.
type InProcess = fn(Job, &[u8], Duration, Option<&CancellationToken>) -> Answer;

/// Where `read_file` (documents), `fetch` (pages and documents) and
/// `web_search` (result pages) parse what they read; set it in
/// [`crate::tools::fs::FsConfig::parsers`] and
/// [`crate::tools::web::WebConfig::parsers`].
///
/// The default, [`Parsers::helper`], runs each parse in a fresh
/// `lmcp-extract` process (found through `LMCP_EXTRACT` or next to the
/// running executable) under a memory ceiling, a CPU-time limit and without
/// file access. [`Parsers::in_process`] parses in the calling process
/// instead, for embedders who do not ship `lmcp-extract`.
///
/// ```
/// # #[cfg(feature = "docs")] {
/// use lmcp::tools::extract_helper::Parsers;
/// use lmcp::tools::fs::FsConfig;
/// let cfg = FsConfig {
///     parsers: Parsers::in_process(),
///     ..FsConfig::default()
/// };
/// assert!(cfg.parsers.is_in_process());
/// assert!(!Parsers::default().is_in_process());
/// # }
/// ```
#[derive(Clone, Copy, Default)]
pub struct Parsers {
    in_process: Option<InProcess>,
}

impl Parsers {
    /// Parse in the helper process `lmcp-extract` (the default).
    pub const fn helper() -> Parsers {
        Parsers { in_process: None }
    }

    /// Parse in the calling process, on a blocking thread, with no helper
    /// binary needed. The parsers' limits on input size, pages, cells,
    /// pixels and time still apply, and a parser panic is still reported as
    /// a tool error; but there is no memory ceiling, no CPU-time kill and
    /// no file-access sandbox, and the parsers are linked into the program.
    /// Use it when the inputs are trusted or the process is confined
    /// otherwise.
    pub fn in_process() -> Parsers {
        Parsers {
            in_process: Some(child::answer),
        }
    }

    /// Whether parsing happens in the calling process.
    pub fn is_in_process(&self) -> bool {
        self.in_process.is_some()
    }

    /// Run `job` on `body` within `time` and `cancel`; in the helper, an
    /// answer larger than `answer_cap` bytes is an error.
    pub(crate) async fn run(
        &self,
        job: Job,
        body: &[u8],
        time: Duration,
        cancel: Option<&CancellationToken>,
        answer_cap: usize,
    ) -> Result<Answer, HelperError> {
        let Some(parse) = self.in_process else {
            return spawn::run(job, body, time, cancel, answer_cap).await;
        };
        // A parse blocks: off the runtime's workers.
        let (body, cancel) = (body.to_vec(), cancel.cloned());
        tokio::task::spawn_blocking(move || locally(parse, job, &body, time, cancel.as_ref()))
            .await
            .map_err(|e| HelperError::Crashed(format!("failed in process ({e})")))?
    }

    /// [`Parsers::run`] from a blocking thread (`read_file` runs on one).
    #[cfg_attr(not(feature = "docs"), allow(dead_code))]
    pub(crate) fn run_blocking(
        &self,
        job: Job,
        body: &[u8],
        time: Duration,
        cancel: Option<&CancellationToken>,
        answer_cap: usize,
    ) -> Result<Answer, HelperError> {
        match self.in_process {
            Some(parse) => locally(parse, job, body, time, cancel),
            None => spawn::run_blocking(job, body, time, cancel, answer_cap),
        }
    }
}

/// One parse in process; a cancelled call answers
/// [`HelperError::Cancelled`], as the helper's kill does.
fn locally(
    parse: InProcess,
    job: Job,
    body: &[u8],
    time: Duration,
    cancel: Option<&CancellationToken>,
) -> Result<Answer, HelperError> {
    let answer = parse(job, body, time, cancel);
    if cancel.is_some_and(|c| c.is_cancelled()) {
        return Err(HelperError::Cancelled);
    }
    Ok(answer)
}

impl fmt::Debug for Parsers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.is_in_process() {
            "Parsers::in_process()"
        } else {
            "Parsers::helper()"
        })
    }
}
