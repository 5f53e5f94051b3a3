//! `lmcp-extract`: the helper process in which lmcp parses web pages and
//! documents (see `lmcp::tools::extract_helper`). It reads one request on
//! standard input and writes one answer on standard output; it is started
//! by lmcp, not by users.

#[cfg(any(feature = "web", feature = "docs"))]
fn main() -> std::process::ExitCode {
    lmcp::tools::extract_helper::child::main()
}

#[cfg(not(any(feature = "web", feature = "docs")))]
fn main() -> std::process::ExitCode {
    eprintln!("lmcp-extract: built without the `web` and `docs` features; it has nothing to do");
    std::process::ExitCode::from(2)
}
