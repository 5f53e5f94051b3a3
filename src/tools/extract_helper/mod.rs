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
//! The tools call [`spawn`] only; nothing reachable from the `lmcp`
//! binary's `main` calls the parsers, so the linker leaves them out of it.

pub mod child;
pub mod protocol;
pub mod spawn;

pub use spawn::{HelperError, HELPER_ENV, HELPER_NAME};
