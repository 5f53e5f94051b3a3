//! Waiting for a job's output to settle, for `shell_bg` and `shell_bg_input`
//! with `wait_ms`: the wait ends when the job has printed something and gone
//! quiet for `idle_ms`, when new output matches `until`, when the job ends,
//! or when `wait_ms` passes. Waiting never changes the job: a call
//! cancelled while it waits drops this future, and the job runs on.

use super::{Job, JobState};
use crate::server::ToolError;
use regex::{Regex, RegexBuilder};
use std::time::Duration;
use tokio::time::{timeout_at, Instant};

/// Quiet time after new output that ends a wait, when the call gives none.
pub(crate) const DEFAULT_IDLE: Duration = Duration::from_millis(300);

/// The bytes of new output `until` is matched against: the latest of each
/// stream (a prompt is at the end), so a chatty job costs a bounded scan.
const MATCH_WINDOW: u64 = 64 * 1024;

/// Largest compiled size of an `until` expression.
const UNTIL_SIZE_LIMIT: usize = 1 << 20;

/// What a wait is for.
#[derive(Debug, Clone)]
pub(crate) struct Settle {
    /// Stream offsets (stdout, stderr) past which output is new.
    pub from: (u64, u64),
    /// Longest wait.
    pub within: Duration,
    /// Quiet time after new output that ends the wait (`None`: only `until`,
    /// the end or `within` end it).
    pub idle: Option<Duration>,
    /// New output that ends the wait.
    pub until: Option<Regex>,
}

/// Why a wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Settled {
    /// The job ended.
    Ended,
    /// New output matched `until`.
    Matched,
    /// New output came, then nothing for the idle time.
    Idle,
    /// The wait's time ran out.
    TimedOut,
}

impl Settled {
    /// The name the answers use (`settled`).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Settled::Ended => "ended",
            Settled::Matched => "matched",
            Settled::Idle => "idle",
            Settled::TimedOut => "wait_ms",
        }
    }
}

/// `ms` as a wait, refused (naming `name`) above `max`.
pub(crate) fn wait_arg(
    name: &str,
    ms: Option<u64>,
    max: Duration,
) -> Result<Option<Duration>, ToolError> {
    match ms {
        Some(ms) if u128::from(ms) > max.as_millis() => Err(ToolError::msg(format!(
            "`{name}` is {ms} ms, above the server's maximum of {} ms (--shell-max-timeout-ms); ask for less",
            max.as_millis()
        ))),
        Some(ms) => Ok(Some(Duration::from_millis(ms))),
        None => Ok(None),
    }
}

/// The `until` argument compiled, or an error naming it.
pub(crate) fn until_arg(until: Option<&str>) -> Result<Option<Regex>, ToolError> {
    until
        .map(|u| {
            RegexBuilder::new(u)
                .size_limit(UNTIL_SIZE_LIMIT)
                .build()
                .map_err(|e| {
                    ToolError::msg(format!("`until` is not a valid regular expression: {e}"))
                })
        })
        .transpose()
}

fn ends(s: &JobState) -> (u64, u64) {
    (s.stdout.end(), s.stderr.end())
}

impl Job {
    /// Whether output past `from` matches `re` (in its latest bytes).
    fn new_output_matches(&self, re: &Regex, from: (u64, u64)) -> bool {
        self.with_state(|s| {
            [(&s.stdout, from.0), (&s.stderr, from.1)]
                .into_iter()
                .any(|(ring, from)| {
                    let start = from.max(ring.end().saturating_sub(MATCH_WINDOW));
                    let read = ring.read_from(start, MATCH_WINDOW as usize);
                    re.is_match(&String::from_utf8_lossy(&read.data))
                })
        })
    }

    /// Wait as `w` says; why the wait ended.
    pub(crate) async fn settle(&self, w: &Settle) -> Settled {
        let mut rx = self.changed.subscribe();
        let deadline = Instant::now() + w.within;
        let mut seen = w.from;
        let mut quiet_since: Option<Instant> = None;
        loop {
            rx.borrow_and_update();
            let (ended, now_ends) = self.with_state(|s| (s.end.is_some(), ends(s)));
            if now_ends != seen {
                seen = now_ends;
                quiet_since = Some(Instant::now());
                if let Some(re) = &w.until {
                    if self.new_output_matches(re, w.from) {
                        return Settled::Matched;
                    }
                }
            }
            if ended {
                return Settled::Ended;
            }
            let wake = match (quiet_since, w.idle) {
                (Some(t), Some(idle)) => (t + idle).min(deadline),
                _ => deadline,
            };
            match timeout_at(wake, rx.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Settled::Ended,
                Err(_) if wake < deadline => return Settled::Idle,
                Err(_) => return Settled::TimedOut,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_checked_by_name() {
        let max = Duration::from_secs(10);
        assert_eq!(
            wait_arg("wait_ms", Some(500), max).unwrap(),
            Some(Duration::from_millis(500))
        );
        let e = format!("{:?}", wait_arg("wait_ms", Some(10_001), max).unwrap_err());
        assert!(e.contains("`wait_ms`") && e.contains("10000"), "{e}");
        assert!(until_arg(Some(">>> $")).unwrap().is_some());
        let e = format!("{:?}", until_arg(Some("(unclosed")).unwrap_err());
        assert!(e.contains("`until`"), "{e}");
        assert!(until_arg(None).unwrap().is_none());
    }
}
