//! Fuzzing entry points for the document parsers (re-exported by
//! `lmcp::fuzzing`): any input must give a result or an error within the
//! limits, never a panic escaping, a hang or unbounded memory, and text
//! output must stay within the cap.

use super::{extract, Budget, Kind, Limits, Request, LIMITS};
use crate::protocol::Content;
use std::time::Duration;

fn run(kind: Kind, data: &[u8]) {
    let limits = Limits {
        time: Duration::from_secs(5),
        part_bytes: 4 << 20,
        total_bytes: 8 << 20,
        pixels: 4_000_000,
        ..LIMITS
    };
    let req = Request {
        offset: None,
        limit: Some(4),
        sheet: None,
        range: None,
        max_text: 16 * 1024,
        image_max_edge: 256,
        max_media: 1 << 20,
    };
    if let Ok((Content::Text { text, .. }, _)) =
        extract(kind, data, &req, &Budget::new(limits, None))
    {
        assert!(
            text.len() <= req.max_text + 512,
            "text over the cap: {}",
            text.len()
        );
    }
}

/// PDF text extraction.
pub fn pdf(data: &[u8]) {
    run(Kind::Pdf, data);
}

/// The ZIP-based office formats, legacy Excel (.xls: the OLE2 container,
/// the cell pre-scan, then calamine) and CSV, each tried on the same input:
/// every parsed format but PDF and images, which have targets of their own.
pub fn office(data: &[u8]) {
    for kind in Kind::PARSED
        .into_iter()
        .filter(|k| !matches!(k, Kind::Pdf | Kind::Image))
    {
        run(kind, data);
    }
}

/// Image decoding and downscaling.
pub fn image(data: &[u8]) {
    run(Kind::Image, data);
}
