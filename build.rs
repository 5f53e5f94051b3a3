//! Build script: link-time layout tuning for the `lmcp` binary.
//!
//! Idle memory is dominated by pages of the executable that the kernel maps
//! in 64 KiB windows around each page touched ("fault-around"). Start-up code
//! scattered over a multi-megabyte `.text` therefore keeps most of it
//! resident. For release builds on x86_64 Linux linked by LLD (the default
//! linker of this target since Rust 1.90) this script:
//!
//! - passes `link/startup.order` to `--symbol-ordering-file`, which places
//!   the functions that run during start-up, both handshakes, `tools/list`
//!   and a tool call, over stdio and over Streamable HTTP, next to each other (the list is made by
//!   `scripts/link-order.sh`; names missing from the binary are skipped, so a
//!   stale list only costs memory, never correctness);
//! - packs relative relocations (`-z pack-relative-relocs`, glibc ≥ 2.36),
//!   so the loader reads a few KiB of relocations instead of ~300 KiB.
//!
//! Measured effect on `lmcp --stdio` idle RSS: BENCHMARKS.md. Set
//! `LMCP_NO_LINK_TUNING=1` to turn it off (e.g. with another linker).

use std::env;
use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=link/startup.order");
    println!("cargo:rerun-if-env-changed=LMCP_NO_LINK_TUNING");
    if let Some(why) = skip_reason() {
        println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
        if env::var_os("LMCP_LINK_TUNING_VERBOSE").is_some() {
            println!("cargo:warning=link tuning off: {why}");
        }
        return;
    }
    let manifest = env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let order = Path::new(&manifest).join("link/startup.order");
    if order.is_file() {
        println!(
            "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
            order.display()
        );
        println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
    println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
}

/// Why the tuning does not apply to this build, if it does not.
fn skip_reason() -> Option<String> {
    if env::var_os("LMCP_NO_LINK_TUNING").is_some() {
        return Some("LMCP_NO_LINK_TUNING is set".into());
    }
    let target = env::var("TARGET").unwrap_or_default();
    if target != "x86_64-unknown-linux-gnu" {
        return Some(format!("target {target} is not x86_64-unknown-linux-gnu"));
    }
    if env::var("PROFILE").as_deref() != Ok("release") {
        return Some("not a release build".into());
    }
    // A linker chosen by the user may not be LLD.
    if env::var_os("RUSTC_LINKER").is_some() {
        return Some("a custom linker is configured".into());
    }
    let flags = env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    if flags.contains("linker") || flags.contains("fuse-ld") {
        return Some("RUSTFLAGS choose the linker".into());
    }
    // Rust 1.90 made the bundled LLD this target's default linker.
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let Ok(out) = Command::new(rustc).arg("--version").output() else {
        return Some("rustc --version could not be run".into());
    };
    let version = String::from_utf8_lossy(&out.stdout);
    let minor = version
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.split('.').nth(1))
        .and_then(|m| m.parse::<u32>().ok());
    match minor {
        Some(m) if m >= 90 => None,
        _ => Some(format!("{} links with the system linker", version.trim())),
    }
}
