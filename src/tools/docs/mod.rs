//! Documents and media an agent can read (feature `docs`): PDF text by page,
//! Word (.docx) and OpenDocument text (.odt) as Markdown, spreadsheets
//! (.xlsx, .xls, .ods, .csv) as Markdown tables, slides (.pptx) as text with
//! slide markers, images downscaled for a model, audio as audio content.
//!
//! `read_file` (and `fetch` with feature `web`) hand a file's bytes to
//! [`extract`]. Every parser runs under [`Limits`] (input bytes, pages,
//! cells, decompressed bytes, image pixels, time) and a [`Budget`] that the
//! call's cancellation stops; a parser panic is caught and reported as an
//! error, so a hostile file gives a clear tool error, never a crash.
//! Nothing here runs until such a file is read.
//!
//! The tools do not call [`extract`] themselves: they hand the bytes to the
//! helper process `lmcp-extract` (`via_helper`, see
//! [`crate::tools::extract_helper`]), which runs it under a memory ceiling,
//! a CPU-time limit and without file access; so the parsers are not part of
//! the `lmcp` binary. The tests and fuzz targets call [`extract`] directly.

mod audio;
#[cfg(feature = "web")]
pub(crate) mod for_fetch;
pub(crate) mod for_read;
#[cfg(feature = "fuzzing")]
pub(crate) mod fuzz;
mod image;
mod ods_scan;
mod office;
mod pdf;
mod sheet;
mod slides;
mod via_helper;
mod xls_scan;
mod xml;
mod zipped;

use crate::protocol::Content;
use serde_json::Value;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// The formats this module reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// PDF: text layer by page.
    Pdf,
    /// Word 2007+ (.docx).
    Docx,
    /// OpenDocument text (.odt).
    Odt,
    /// PowerPoint 2007+ (.pptx).
    Pptx,
    /// Excel 2007+ (.xlsx, .xlsm).
    Xlsx,
    /// Excel 97-2003 (.xls).
    Xls,
    /// OpenDocument spreadsheet (.ods).
    Ods,
    /// Comma- or tab-separated values.
    Csv,
    /// A raster image (PNG, JPEG, GIF, WebP, BMP).
    Image,
    /// Audio (WAV, MP3, OGG, FLAC) with its MIME type.
    Audio(&'static str),
}

impl Kind {
    /// A short name for messages.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Kind::Pdf => "PDF document",
            Kind::Docx => "Word document",
            Kind::Odt => "OpenDocument text",
            Kind::Pptx => "PowerPoint presentation",
            Kind::Xlsx | Kind::Xls => "Excel workbook",
            Kind::Ods => "OpenDocument spreadsheet",
            Kind::Csv => "CSV table",
            Kind::Image => "image",
            Kind::Audio(_) => "audio",
        }
    }

    /// The formats parsed in the helper process: those with a
    /// [`Kind::wire_name`]. The tests and fuzz entry points take their
    /// format lists from it, so a new format is covered there too.
    const PARSED: [Kind; 9] = [
        Kind::Pdf,
        Kind::Docx,
        Kind::Odt,
        Kind::Pptx,
        Kind::Xlsx,
        Kind::Xls,
        Kind::Ods,
        Kind::Csv,
        Kind::Image,
    ];

    /// The name of a format parsed in the helper process (`None` for
    /// audio, which is sent as it is without parsing): the one place where
    /// the names are written.
    pub(crate) fn wire_name(self) -> Option<&'static str> {
        Some(match self {
            Kind::Pdf => "pdf",
            Kind::Docx => "docx",
            Kind::Odt => "odt",
            Kind::Pptx => "pptx",
            Kind::Xlsx => "xlsx",
            Kind::Xls => "xls",
            Kind::Ods => "ods",
            Kind::Csv => "csv",
            Kind::Image => "image",
            Kind::Audio(_) => return None,
        })
    }

    /// The format of a [`Kind::wire_name`].
    pub(crate) fn from_name(name: &str) -> Option<Kind> {
        Kind::PARSED
            .into_iter()
            .find(|k| k.wire_name() == Some(name))
    }
}

/// The format of a file from its first bytes and its name (or, for `fetch`,
/// the last segment of its URL path); `None` leaves it to the text reader.
pub(crate) fn detect(head: &[u8], name: &str) -> Option<Kind> {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    if head.starts_with(b"%PDF-") {
        return Some(Kind::Pdf);
    }
    if image::sniff(head).is_some() {
        return Some(Kind::Image);
    }
    if let Some(mime) = audio::sniff(head) {
        return Some(Kind::Audio(mime));
    }
    if head.starts_with(b"PK\x03\x04") {
        return match ext.as_str() {
            "docx" | "docm" | "dotx" => Some(Kind::Docx),
            "odt" | "ott" => Some(Kind::Odt),
            "pptx" | "pptm" | "ppsx" => Some(Kind::Pptx),
            "xlsx" | "xlsm" => Some(Kind::Xlsx),
            "ods" => Some(Kind::Ods),
            _ => None,
        };
    }
    if head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) && ext == "xls" {
        return Some(Kind::Xls);
    }
    if matches!(ext.as_str(), "csv" | "tsv") && !head.contains(&0) {
        return Some(Kind::Csv);
    }
    None
}

/// The format of a fetched body from its `Content-Type` (PDF and images).
#[cfg_attr(not(feature = "web"), allow(dead_code))]
pub(crate) fn detect_mime(mime: &str, head: &[u8]) -> Option<Kind> {
    let mime = mime.split(';').next().unwrap_or("").trim();
    match mime {
        "application/pdf" if head.starts_with(b"%PDF-") => Some(Kind::Pdf),
        m if m.starts_with("image/") && image::sniff(head).is_some() => Some(Kind::Image),
        _ => None,
    }
}

/// What the caller asked for (the helper's wire type, so that the request
/// goes to `lmcp-extract` as it is).
pub(crate) use crate::tools::extract_helper::protocol::{DocRequest as Request, SheetSel};

/// Upper bounds on the work one file may cause.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Largest input file, in bytes.
    pub input_bytes: u64,
    /// Largest decompressed size of one part of a ZIP-based file.
    pub part_bytes: u64,
    /// Largest decompressed size of all parts read from one ZIP-based file.
    pub total_bytes: u64,
    /// Most entries a ZIP-based file may list.
    pub zip_entries: usize,
    /// Most pages of a PDF (or slides of a presentation) looked at.
    pub pages: usize,
    /// Most cells of a sheet loaded.
    pub cells: u64,
    /// Most pixels of an image decoded.
    pub pixels: u64,
    /// Deepest XML nesting accepted.
    pub depth: usize,
    /// Longest time one file may take.
    pub time: Duration,
}

/// The limits `read_file` and `fetch` use.
pub(crate) const LIMITS: Limits = Limits {
    input_bytes: 64 * 1024 * 1024,
    part_bytes: 32 * 1024 * 1024,
    total_bytes: 96 * 1024 * 1024,
    zip_entries: 20_000,
    pages: 5_000,
    cells: 2_000_000,
    pixels: 64_000_000,
    depth: 256,
    time: Duration::from_secs(30),
};

/// Why a document could not be read.
#[derive(Debug)]
pub(crate) enum DocError {
    /// The file is malformed, unsupported or over a limit: the message says which.
    Invalid(String),
    /// The call was cancelled (or its time ran out).
    Cancelled,
}

impl fmt::Display for DocError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DocError::Invalid(m) => f.write_str(m),
            DocError::Cancelled => f.write_str("cancelled"),
        }
    }
}

/// Shorthand for an [`DocError::Invalid`].
/// The pages (or slides) a request asks for, 1-based and inclusive: from
/// `offset` (default 1), `limit` of them (default all), at most the
/// budget's page limit. `what` names the document and its unit in the error,
/// e.g. "the PDF has {total} pages".
pub(crate) fn page_range(
    req: &Request,
    total: u64,
    budget: &Budget,
    what: &str,
) -> Result<(u64, u64), DocError> {
    let first = req.offset.unwrap_or(1).max(1);
    if first > total {
        return Err(invalid(format!("offset {first} is past the end: {what}")));
    }
    let last_wanted = req
        .limit
        .map(|l| first.saturating_add(l.max(1)) - 1)
        .unwrap_or(total)
        .min(total)
        .min(first + budget.limits().pages as u64 - 1);
    Ok((first, last_wanted))
}

pub(crate) fn invalid(msg: impl Into<String>) -> DocError {
    DocError::Invalid(msg.into())
}

/// Time and cancellation for one extraction; parsers call [`Budget::check`]
/// between pages, parts, rows and XML events.
#[derive(Debug, Clone)]
pub(crate) struct Budget {
    deadline: Instant,
    cancel: Option<CancellationToken>,
    limits: Limits,
}

impl Budget {
    /// A budget of `limits.time` from now, stopped early by `cancel`.
    pub(crate) fn new(limits: Limits, cancel: Option<CancellationToken>) -> Self {
        Budget {
            deadline: Instant::now() + limits.time,
            cancel,
            limits,
        }
    }

    /// The limits in force.
    pub(crate) fn limits(&self) -> &Limits {
        &self.limits
    }

    /// `Err` once the call is cancelled or its time is up.
    pub(crate) fn check(&self) -> Result<(), DocError> {
        if self.cancel.as_ref().is_some_and(|c| c.is_cancelled()) {
            return Err(DocError::Cancelled);
        }
        if Instant::now() > self.deadline {
            return Err(invalid(format!(
                "reading this file took longer than {} s; it is too large or too complex",
                self.limits.time.as_secs()
            )));
        }
        Ok(())
    }
}

/// What came out of a file: one content block and its structured description
/// (merged into the tool's structured result by the caller).
pub(crate) type Extracted = (Content, Value);

/// Extract `data` (of format `kind`) for `req`, within `budget`; a parser
/// panic becomes an error.
pub(crate) fn extract(
    kind: Kind,
    data: &[u8],
    req: &Request,
    budget: &Budget,
) -> Result<Extracted, DocError> {
    if data.len() as u64 > budget.limits().input_bytes {
        return Err(invalid(format!(
            "this {} is {} bytes, more than the limit of {} bytes",
            kind.label(),
            data.len(),
            budget.limits().input_bytes
        )));
    }
    let run = || match kind {
        Kind::Pdf => pdf::read(data, req, budget),
        Kind::Docx => office::read_docx(data, req, budget),
        Kind::Odt => office::read_odt(data, req, budget),
        Kind::Pptx => slides::read(data, req, budget),
        Kind::Xlsx | Kind::Xls | Kind::Ods => sheet::read_workbook(kind, data, req, budget),
        Kind::Csv => sheet::read_csv(data, req, budget),
        Kind::Image => image::read(data, req, budget),
        Kind::Audio(mime) => audio::read(mime, data, req),
    };
    match catch_unwind(AssertUnwindSafe(run)) {
        Ok(r) => r,
        Err(panic) => {
            let why = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown failure".into());
            Err(invalid(format!(
                "this {} could not be read: its parser failed ({why}); the file is probably malformed",
                kind.label()
            )))
        }
    }
}

/// Cut `text` to at most `max` bytes at a line (or character) boundary;
/// whether it was cut.
pub(crate) fn cut_text(text: &mut String, max: usize) -> bool {
    if text.len() <= max {
        return false;
    }
    let mut i = max;
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    let at = text[..i].rfind('\n').map(|n| n + 1).filter(|&n| n > i / 2);
    text.truncate(at.unwrap_or(i));
    true
}

#[cfg(test)]
mod tests;
