//! Replays the fuzz corpora and crash reproducers (`fuzz/corpus/TARGET/*`,
//! `fuzz/regressions/TARGET/*`) through the entry points the fuzz targets
//! call (`lmcp::fuzzing`), on stable and in every `cargo test`: what the
//! fuzzer once found stays fixed, and the corpus keeps exercising every
//! target even where libFuzzer is not built (see scripts/fuzz.sh).

use std::path::{Path, PathBuf};

fn inputs(target: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut files = Vec::new();
    for dir in ["corpus", "regressions"] {
        if let Ok(rd) = std::fs::read_dir(root.join(dir).join(target)) {
            files.extend(rd.flatten().map(|e| e.path()).filter(|p| p.is_file()));
        }
    }
    files.sort();
    files
}

fn replay(target: &str, f: fn(&[u8])) {
    let files = inputs(target);
    assert!(
        !files.is_empty(),
        "no corpus for {target}: fuzz/corpus/{target} is empty"
    );
    for path in &files {
        let data = std::fs::read(path).unwrap();
        let r = std::panic::catch_unwind(|| f(&data));
        assert!(r.is_ok(), "{target}: {} fails again", path.display());
    }
    eprintln!("{target}: {} inputs replayed", files.len());
}

#[test]
fn jsonrpc_corpus() {
    replay("jsonrpc", lmcp::fuzzing::jsonrpc);
}

#[test]
fn dispatch_corpus() {
    replay("dispatch", lmcp::fuzzing::dispatch);
}

#[test]
fn http_headers_corpus() {
    replay("http_headers", lmcp::fuzzing::http_headers);
}

#[test]
fn roots_corpus() {
    replay("roots", lmcp::fuzzing::roots);
}

#[test]
fn edit_corpus() {
    replay("edit", lmcp::fuzzing::edit);
}
