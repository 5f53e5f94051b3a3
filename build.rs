//! Build script: link-time layout tuning and static linking of the `lmcp`
//! binary and the examples.
//!
//! Idle memory is dominated by pages of the executable and of the C library
//! that the kernel maps in 64 KiB windows around each page touched
//! ("fault-around"). For release builds on x86_64 Linux this script:
//!
//! - marks the links of the binary and the examples `--lmcp-static`, which
//!   the repository's linker driver `link/cc` (set in `.cargo/config.toml`)
//!   turns into a static position-independent executable: a dynamically
//!   linked glibc alone keeps ~1.5 MB resident. Only when that driver is the
//!   linker and static glibc (`libc.a`, `libgcc_eh.a`) is installed;
//!   `LMCP_DYNAMIC=1` keeps the link dynamic;
//! - when linked by LLD (the default linker of this target since Rust 1.90),
//!   passes `link/startup.order` to `--symbol-ordering-file`, which places
//!   the functions that run during start-up, both handshakes, `tools/list`
//!   and a tool call, over stdio and over Streamable HTTP, next to each other (the list is made by
//!   `scripts/link-order.sh`; names missing from the binary are skipped, so a
//!   stale list only costs memory, never correctness);
//! - passes `link/rodata.ld` (`-T`), a linker script that only adds to the
//!   default layout (`INSERT BEFORE .rodata`): it gathers the constants the
//!   same phases read (string literals, jump tables, tables of glibc's C
//!   locale, ...) into one output section `.rodata.hot`, so an idle server
//!   maps a few windows of read-only data instead of most of `.rodata`. Also
//!   made by `scripts/link-order.sh`; a pattern that matches nothing is
//!   harmless, so a stale script too only costs memory;
//! - packs relative relocations (`-z pack-relative-relocs`, glibc ≥ 2.36),
//!   so the loader reads a few KiB of relocations instead of ~300 KiB.
//!
//! Measured effect on `lmcp --stdio` idle RSS: BENCHMARKS.md. Set
//! `LMCP_NO_LINK_TUNING=1` to turn the layout tuning off (e.g. with another
//! linker).

use std::env;
use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=link/startup.order");
    println!("cargo:rerun-if-changed=link/rodata.ld");
    println!("cargo:rerun-if-env-changed=LMCP_LINK_MAP");
    println!("cargo:rerun-if-changed=link/cc");
    println!("cargo:rerun-if-env-changed=LMCP_NO_LINK_TUNING");
    println!("cargo:rerun-if-env-changed=LMCP_DYNAMIC");
    println!("cargo:rerun-if-env-changed=LMCP_CC");
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    let verbose = env::var_os("LMCP_LINK_TUNING_VERBOSE").is_some();
    match static_reason() {
        Err(why) if verbose => println!("cargo:warning=static link off: {why}"),
        Err(_) => {}
        Ok(()) => link_arg("--lmcp-static"),
    }
    // scripts/link-order.sh reads where each input section landed.
    if let Some(map) = env::var_os("LMCP_LINK_MAP") {
        link_arg(&format!("-Wl,-Map={}", map.to_string_lossy()));
    }
    if let Some(why) = skip_reason() {
        if verbose {
            println!("cargo:warning=link tuning off: {why}");
        }
        return;
    }
    let manifest = env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let order = Path::new(&manifest).join("link/startup.order");
    if order.is_file() {
        link_arg(&format!("-Wl,--symbol-ordering-file={}", order.display()));
        link_arg("-Wl,--no-warn-symbol-ordering");
    }
    let rodata = Path::new(&manifest).join("link/rodata.ld");
    if rodata.is_file() {
        link_arg(&format!("-Wl,-T,{}", rodata.display()));
    }
    link_arg("-Wl,-z,pack-relative-relocs");
}

/// Passes `arg` to the links of the binary and of the examples.
fn link_arg(arg: &str) {
    for kind in ["bins", "examples"] {
        println!("cargo:rustc-link-arg-{kind}={arg}");
    }
}

/// Why this is not a release build for x86_64-unknown-linux-gnu, the only
/// one either change applies to, if it is not.
fn not_release_x86_64_linux() -> Option<String> {
    let target = env::var("TARGET").unwrap_or_default();
    if target != "x86_64-unknown-linux-gnu" {
        return Some(format!("target {target} is not x86_64-unknown-linux-gnu"));
    }
    if env::var("PROFILE").as_deref() != Ok("release") {
        return Some("not a release build".into());
    }
    None
}

/// Whether the binary and the examples are linked statically: `Err` says
/// why not.
fn static_reason() -> Result<(), String> {
    if env::var_os("LMCP_DYNAMIC").is_some() {
        return Err("LMCP_DYNAMIC is set".into());
    }
    if let Some(why) = not_release_x86_64_linux() {
        return Err(why);
    }
    if !our_driver() {
        return Err("the linker is not link/cc".into());
    }
    let cc = env::var("LMCP_CC").unwrap_or_else(|_| "cc".into());
    for lib in ["libc.a", "libgcc_eh.a"] {
        // `cc -print-file-name` prints the bare name when it finds nothing.
        let found = Command::new(&cc)
            .arg(format!("-print-file-name={lib}"))
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .filter(|p| p.starts_with('/') && Path::new(p).is_file());
        if found.is_none() {
            return Err(format!("{lib} is not installed (static glibc: libc6-dev)"));
        }
    }
    Ok(())
}

/// Whether cargo links with this repository's driver `link/cc`.
fn our_driver() -> bool {
    env::var("RUSTC_LINKER").is_ok_and(|l| Path::new(&l).ends_with("link/cc"))
}

/// Why the tuning does not apply to this build, if it does not.
fn skip_reason() -> Option<String> {
    if env::var_os("LMCP_NO_LINK_TUNING").is_some() {
        return Some("LMCP_NO_LINK_TUNING is set".into());
    }
    if let Some(why) = not_release_x86_64_linux() {
        return Some(why);
    }
    // A linker chosen by the user may not be LLD (ours hands over to `cc`).
    if env::var_os("RUSTC_LINKER").is_some() && !our_driver() {
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
