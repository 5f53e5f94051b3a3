//! The `fetch` side (features `docs` and `web`): a fetched PDF or office
//! document becomes its text (which `fetch` then pages like any text), a
//! fetched image is sent as image content sized for a model.

use super::{detect, detect_mime, via_helper, Kind, Request};
use crate::protocol::Content;
use crate::tools::web::WebConfig;
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use std::time::Duration;

/// Most text a fetched document turns into (fetch pages it further).
const MAX_TEXT: usize = 4 * 1024 * 1024;

/// Largest fetched image sent as image content, in bytes (before base64).
const MAX_MEDIA: usize = 5 * 1024 * 1024;

/// Convert a fetched body in place when it is a document or an image: a
/// document's body becomes its extracted text (content type `text/plain`),
/// an image is returned as an image block to add to the result. Parsing
/// runs with `cfg`'s parsers (by default in the helper process
/// `lmcp-extract`), under the document limits and within `time`; images
/// are sized by `cfg`'s `image_max_edge`.
pub(crate) async fn convert(
    cfg: &WebConfig,
    time: Duration,
    headers: &mut HeaderMap,
    path: &str,
    body: &mut Vec<u8>,
    truncated: bool,
) -> Option<Content> {
    let ct = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let head = &body[..body.len().min(8192)];
    let kind = detect_mime(ct, head).or_else(|| match detect(head, path) {
        Some(Kind::Audio(_) | Kind::Csv) | None => None,
        other => other,
    })?;
    let set_text = |headers: &mut HeaderMap, body: &mut Vec<u8>, text: String| {
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        *body = text.into_bytes();
    };
    if truncated {
        let text = format!(
            "[This {} is larger than the download limit; only its beginning was read, \
             so it cannot be extracted.]",
            kind.label()
        );
        set_text(headers, body, text);
        return None;
    }
    let data = std::mem::take(body);
    let req = Request {
        offset: None,
        limit: None,
        sheet: None,
        range: None,
        max_text: MAX_TEXT,
        image_max_edge: cfg.image_max_edge.max(1),
        max_media: MAX_MEDIA,
    };
    match via_helper::extract(&cfg.parsers, kind, &data, &req, time).await {
        Ok((content, _)) => match content {
            Content::Text { text, .. } => {
                set_text(headers, body, text);
                None
            }
            media => {
                *body = data;
                Some(media)
            }
        },
        Err(e) => {
            set_text(
                headers,
                body,
                format!("[This {} could not be read: {e}]", kind.label()),
            );
            None
        }
    }
}
