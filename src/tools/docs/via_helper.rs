//! Extraction through [`Parsers`] (by default in the helper process
//! `lmcp-extract`): what `read_file` and `fetch` call, so that the parsers
//! are not part of the `lmcp` binary. Audio is not parsed (its bytes are
//! sent as they are), so it stays here.

use super::{audio, invalid, DocError, Extracted, Kind, Request, LIMITS};
use crate::tools::extract_helper::protocol::{Answer, Job};
use crate::tools::extract_helper::{HelperError, Parsers};
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
        Job::Doc {
            kind: name.to_owned(),
            request: req.clone(),
        },
        largest.saturating_mul(6) + (1 << 20),
    ))
}

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

/// Extract `data` (of format `kind`) for `req` with `parsers`, from a
/// blocking thread; `cancel` stops it (kills the helper).
pub(crate) fn extract_blocking(
    parsers: &Parsers,
    kind: Kind,
    data: &[u8],
    req: &Request,
    cancel: Option<&CancellationToken>,
) -> Result<Extracted, DocError> {
    match prepare(kind, data, req) {
        Ok((job, cap)) => finish(
            kind,
            parsers.run_blocking(job, data, LIMITS.time, cancel, cap),
        ),
        Err(done) => *done,
    }
}

/// Extract `data` (of format `kind`) for `req` with `parsers`, within
/// `time` (at most the documents' time limit).
#[cfg_attr(not(feature = "web"), allow(dead_code))]
pub(crate) async fn extract(
    parsers: &Parsers,
    kind: Kind,
    data: &[u8],
    req: &Request,
    time: std::time::Duration,
) -> Result<Extracted, DocError> {
    match prepare(kind, data, req) {
        Ok((job, cap)) => finish(
            kind,
            parsers
                .run(job, data, time.min(LIMITS.time), None, cap)
                .await,
        ),
        Err(done) => *done,
    }
}
