//! The wire format between lmcp and `lmcp-extract`, shared by both sides.
//!
//! lmcp writes one [`Header`] as a JSON line, then exactly
//! [`Header::body_len`] raw bytes (the page or the document); the helper
//! answers with one JSON [`Answer`] on its standard output and exits. One
//! request per process: every hostile file gets a fresh process.

use crate::protocol::Content;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The helper's memory ceiling (`RLIMIT_AS`), in bytes.
pub const MEMORY_LIMIT: u64 = 1 << 30;

/// Longest request line the helper reads, in bytes.
pub const MAX_HEADER: u64 = 64 * 1024;

/// Largest body the helper accepts, in bytes (above every input limit).
pub const MAX_BODY: u64 = 256 * 1024 * 1024;

/// The request line: what to do, how many body bytes follow, and how long
/// the helper may take.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Header {
    /// The work asked for.
    pub job: Job,
    /// Number of raw bytes after the line.
    pub body_len: u64,
    /// Time budget in milliseconds (also the CPU-time limit, rounded up).
    pub time_ms: u64,
}

/// One job of the helper.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Job {
    /// Reduce an HTML page (the body, UTF-8) to its main content.
    Html {
        /// The page's address (resolves relative links).
        url: String,
        /// `markdown`, `text` or `html`.
        format: String,
    },
    /// Read the results of a search engine's answer (the body).
    Search {
        /// `duckduckgo` (an HTML page), `searxng` or `brave` (JSON).
        backend: String,
        /// Results to skip.
        skip: usize,
        /// Most results returned.
        count: usize,
    },
    /// Extract a document or image (the body).
    Doc {
        /// The format: `pdf`, `docx`, `odt`, `pptx`, `xlsx`, `xls`, `ods`, `csv` or `image`.
        kind: String,
        /// What the caller asked for.
        request: DocRequest,
    },
}

/// Which sheet of a workbook to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SheetSel {
    /// By name.
    Name(String),
    /// By 1-based position.
    Index(u64),
}

/// What the caller of a document extraction asked for and how much it may
/// get back.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DocRequest {
    /// First page (PDF) or slide (PPTX), 1-based.
    pub offset: Option<u64>,
    /// Number of pages or slides.
    pub limit: Option<u64>,
    /// Sheet of a workbook (default the first).
    pub sheet: Option<SheetSel>,
    /// Cell range such as `A1:D20`.
    pub range: Option<String>,
    /// Largest text returned, in bytes.
    pub max_text: usize,
    /// Longest edge of an image sent, in pixels.
    pub image_max_edge: u32,
    /// Largest image or audio sent, in bytes (before base64).
    pub max_media: usize,
}

/// The helper's answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum Answer {
    /// A converted HTML page.
    Html {
        /// The page title, when known.
        title: Option<String>,
        /// The converted content.
        content: String,
        /// Whether a main content was found (else the whole body was used).
        main_content: bool,
    },
    /// Search results (title, url, snippet, date), best first.
    Search {
        /// The results.
        results: Vec<Value>,
        /// The engines that did not answer (SearXNG), as `name: reason`.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        unresponsive_engines: Vec<String>,
    },
    /// An extracted document: one content block and its description.
    Doc {
        /// The content block.
        content: Content,
        /// The structured description.
        structured: Value,
    },
    /// The input could not be read; the message says why, for the user.
    Failed {
        /// What went wrong.
        message: String,
    },
}
