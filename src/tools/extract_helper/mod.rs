//! The parsers of web pages and documents run in a separate process,
//! `lmcp-extract`, one per call (features `web` and `docs`).
//!
//! Why: the HTML parser's entity tables and the document parsers' tables
//! would otherwise be relocated into every idle `lmcp` process at start-up,
//! although they run only when `fetch`, `web_search` or `read_file` of a
//! document is called; and a hostile page or file that crashes, hangs or
//! blows up a parser only takes the helper down, which lmcp kills.
//!
//! - [`protocol`]: the wire format (a JSON request line, the raw body on
//!   stdin; one JSON answer on stdout).
//! - [`child`]: the helper's main loop (the `lmcp-extract` binary calls
//!   [`child::main`]): memory ceiling ([`protocol::MEMORY_LIMIT`]), CPU time
//!   from the request's budget, Landlock without any file access (best
//!   effort), panics caught.
//! - [`spawn`]: lmcp's side: find the helper (`LMCP_EXTRACT`, else next to
//!   the running executable), run it, kill it on cancellation or timeout.
//!
//! - [`Parsers`]: the one place that chooses between the helper (the
//!   default) and parsing in process ([`Parsers::in_process`], for library
//!   embedders who ship no helper).
//!
//! The tools go through [`Parsers`]; the `lmcp` binary never calls
//! [`Parsers::in_process`], so nothing reachable from its `main` calls the
//! parsers and the linker leaves them out of it.

pub mod child;
mod parsers;
pub mod protocol;
pub mod spawn;

pub use parsers::Parsers;
pub use spawn::{HelperError, HELPER_ENV, HELPER_NAME};
