//! Extraction in the helper process `lmcp-extract`: what `read_file` and
//! `fetch` call, so that the parsers are not part of the `lmcp` binary.
//! Audio is not parsed (its bytes are sent as they are), so it stays here.

use super::{audio, invalid, DocError, Extracted, Kind, Request, LIMITS};
use crate::tools::extract_helper::protocol::{Answer, Job};
#[cfg_attr(test, allow(unused_imports))]
use crate::tools::extract_helper::{spawn, HelperError};
use tokio_util::sync::CancellationToken;

/// The job, the largest answer accepted, or the in-process result (audio,
/// over-limit input).
fn prepare(
    kind: Kind,
    data: &[u8],
    req: &Request,
) -> Result<(Job, usize), Box<Result<Extracted, DocError>>> {
    if data.len() as u64 > LIMITS.input_bytes {
        return Err(Box::new(Err(invalid(format!(
            "this {} is {} bytes, more than the limit of {} bytes",
            kind.label(),
            data.len(),
            LIMITS.input_bytes
        )))));
    }
    let Some(name) = kind.wire_name() else {
        let Kind::Audio(mime) = kind else {
            return Err(Box::new(Err(invalid("unsupported format"))));
        };
        return Err(Box::new(audio::read(mime, data, req)));
    };
    // Text at most doubles in JSON (quotes, newlines), media grow by a
    // third in base64; the margin holds the structured description.
    let largest = req.max_text.max(req.max_media / 3 * 4 + 4);
    Ok((
        Job::Doc(req.to_job(name)),
        largest.saturating_mul(6) + (1 << 20),
    ))
}

#[cfg_attr(test, allow(dead_code))]
fn finish(kind: Kind, r: Result<Answer, HelperError>) -> Result<Extracted, DocError> {
    match r {
        Ok(Answer::Doc {
            content,
            structured,
        }) => Ok((content, structured)),
        Ok(Answer::Failed { message }) => Err(invalid(message)),
        Ok(_) => Err(invalid(format!(
            "cannot read this {}: the helper gave an unexpected answer",
            kind.label()
        ))),
        Err(HelperError::Cancelled) => Err(DocError::Cancelled),
        Err(e @ (HelperError::NotFound { .. } | HelperError::Spawn(..))) => {
            Err(invalid(format!("cannot read this {}: {e}", kind.label())))
        }
        Err(e) => Err(invalid(format!(
            "this {} could not be read: {e}",
            kind.label()
        ))),
    }
}

/// Extract `data` (of format `kind`) for `req` in the helper, from a
/// blocking thread; `cancel` kills the helper.
pub(crate) fn extract_blocking(
    kind: Kind,
    data: &[u8],
    req: &Request,
    cancel: Option<&CancellationToken>,
) -> Result<Extracted, DocError> {
    let (job, cap) = match prepare(kind, data, req) {
        Ok(j) => j,
        Err(done) => return *done,
    };
    // The lib's unit tests (read_file's) have no helper binary beside them:
    // they parse in process; the helper is tested by tests/*.rs and the
    // Python tests through the real binaries.
    #[cfg(test)]
    {
        let _ = (job, cap);
        in_process(kind, data, req, cancel)
    }
    #[cfg(not(test))]
    finish(
        kind,
        spawn::run_blocking(job, data, LIMITS.time, cancel, cap),
    )
}

/// Extract `data` (of format `kind`) for `req` in the helper.
#[cfg_attr(not(feature = "web"), allow(dead_code))]
pub(crate) async fn extract(
    kind: Kind,
    data: &[u8],
    req: &Request,
    cancel: Option<&CancellationToken>,
) -> Result<Extracted, DocError> {
    let (job, cap) = match prepare(kind, data, req) {
        Ok(j) => j,
        Err(done) => return *done,
    };
    #[cfg(test)]
    {
        let _ = (job, cap);
        in_process(kind, data, req, cancel)
    }
    #[cfg(not(test))]
    finish(kind, spawn::run(job, data, LIMITS.time, cancel, cap).await)
}

#[cfg(test)]
fn in_process(
    kind: Kind,
    data: &[u8],
    req: &Request,
    cancel: Option<&CancellationToken>,
) -> Result<Extracted, DocError> {
    super::extract(
        kind,
        data,
        req,
        &super::Budget::new(LIMITS, cancel.cloned()),
    )
}
