//! The `read_file` side: read a detected document from an open file (bytes
//! capped), extract it in the helper process under the call's cancellation,
//! and map errors to [`FsError`].

use super::{via_helper, DocError, Kind, Request, SheetSel, LIMITS};
use crate::protocol::Content;
use crate::tools::fs::{FsConfig, FsError};
use serde_json::Value;
use std::fs::File;
use std::io::Read;
use tokio_util::sync::CancellationToken;

/// What `read_file` passes on from its arguments.
pub(crate) struct ReadOptions<'a> {
    /// First page/slide.
    pub offset: Option<u64>,
    /// Number of pages/slides.
    pub limit: Option<u64>,
    /// Sheet of a workbook: a name or a 1-based index.
    pub sheet: Option<&'a Value>,
    /// Cell range.
    pub range: Option<&'a str>,
    /// The call's cancellation.
    pub cancel: Option<CancellationToken>,
    /// Largest text returned, in bytes (the call's output budget, less room for notes).
    pub max_text: usize,
}

/// Read the rest of `file` (whose first bytes are `head`) as `kind`.
pub(crate) fn read_document(
    cfg: &FsConfig,
    kind: Kind,
    mut head: Vec<u8>,
    file: &mut File,
    size: u64,
    opts: ReadOptions<'_>,
) -> Result<(Content, Value), FsError> {
    if size > LIMITS.input_bytes {
        return Err(FsError::Invalid(format!(
            "this {} is {size} bytes, more than the limit of {} bytes for documents",
            kind.label(),
            LIMITS.input_bytes
        )));
    }
    file.take(LIMITS.input_bytes + 1 - head.len() as u64)
        .read_to_end(&mut head)
        .map_err(|e| FsError::Invalid(format!("cannot read the file: {e}")))?;
    let sheet = match opts.sheet {
        None | Some(Value::Null) => None,
        Some(Value::String(n)) => Some(SheetSel::Name(n.clone())),
        Some(Value::Number(n)) if n.as_u64().is_some_and(|i| i >= 1) => {
            Some(SheetSel::Index(n.as_u64().unwrap_or(1)))
        }
        Some(other) => {
            return Err(FsError::Invalid(format!(
                "sheet must be a sheet name or a 1-based index, not {other}"
            )))
        }
    };
    let req = Request {
        offset: opts.offset,
        limit: opts.limit,
        sheet,
        range: opts.range.map(str::to_owned),
        max_text: opts.max_text,
        image_max_edge: cfg.image_max_edge,
        max_media: cfg.max_image_bytes as usize,
    };
    match via_helper::extract_blocking(&cfg.parsers, kind, &head, &req, opts.cancel.as_ref()) {
        Ok((content, mut s)) => {
            s["kind"] = serde_json::json!(kind.label());
            Ok((content, s))
        }
        Err(DocError::Cancelled) => Err(FsError::Cancelled),
        Err(DocError::Invalid(m)) => Err(FsError::Invalid(m)),
    }
}
