//! `xtask`: files generated from lmcp's command-line definition
//! ([`lmcp::cli`]), kept out of the `lmcp` binary's dependencies.
//!
//! - `cargo run -p xtask -- assets DIR`: the man pages (`DIR/man/*.1`) and
//!   the bash, zsh and fish completions (`DIR/completions/`), used by
//!   `scripts/package.sh` for the Debian and Arch packages. Build it with
//!   the same features as the shipped binary so the flags match.
//! - `cargo run -p xtask --features web -- docs [--check]`: writes (or
//!   compares with) `docs/configuration.md`.
#![forbid(unsafe_code)]

use clap_complete::Shell;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "usage: xtask assets DIR | xtask docs [--check]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["assets", dir] => assets(Path::new(dir)),
        ["docs"] => docs(false),
        ["docs", "--check"] => docs(true),
        _ => Err(USAGE.to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Writes the man pages and completions under `dir`.
fn assets(dir: &Path) -> Result<(), String> {
    let man = dir.join("man");
    let completions = dir.join("completions");
    for d in [&man, &completions] {
        std::fs::create_dir_all(d).map_err(|e| format!("cannot create {}: {e}", d.display()))?;
    }
    // The man page's NAME line repeats the name: give it the bare summary.
    let cmd =
        lmcp::cli::command().about("a lightweight, fast, secure Model Context Protocol server");
    clap_mangen::generate_to(cmd, &man)
        .map_err(|e| format!("cannot write the man pages to {}: {e}", man.display()))?;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        let mut cmd = lmcp::cli::command();
        let path = clap_complete::generate_to(shell, &mut cmd, "lmcp", &completions)
            .map_err(|e| format!("cannot write the {shell} completion: {e}"))?;
        eprintln!("xtask: wrote {}", path.display());
    }
    eprintln!("xtask: wrote the man pages under {}", man.display());
    Ok(())
}

/// Writes `docs/configuration.md`, or with `check` fails when it differs.
fn docs(check: bool) -> Result<(), String> {
    if !cfg!(feature = "web") {
        return Err("run with --features web, so the reference lists the web tools' flags".into());
    }
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/configuration.md");
    let text = lmcp::cli::reference::markdown();
    if check {
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        if old != text {
            return Err(format!(
                "{} is stale: run `cargo run -p xtask --features web -- docs`",
                path.display()
            ));
        }
        return Ok(());
    }
    std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
