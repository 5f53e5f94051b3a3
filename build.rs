//! Build script: link-time layout tuning and static linking of the `lmcp`
//! binary and the examples.
//!
//! Idle memory is dominated by pages of the executable and of the C library
//! that the kernel maps in 64 KiB windows around each page touched
//! ("fault-around"). For release builds on x86_64 Linux this script:
//!
//! - links the binary and the examples as static position-independent
//!   executables (`-static-pie`): a dynamically linked glibc alone keeps
//!   ~1.5 MB resident. rustc asks for the C library and its companions
//!   (`-lc`, `-lgcc_s`, `-lm`, ...) after `-Bdynamic`, so this script writes,
//!   into `OUT_DIR/static`, one small linker script per library under the
//!   shared library's name (`libc.so`: `GROUP(/…/libc.a /…/libgcc_eh.a
//!   /…/libgcc.a)`) and puts that directory first on the binary's library
//!   path: the linker finds the static archives where rustc asks for shared
//!   ones. Nothing else changes: tests, debug builds and the library link
//!   with the toolchain's defaults. Only when static glibc (`libc.a`,
//!   `libgcc_eh.a`) is installed and no custom linker is configured;
//!   `LMCP_DYNAMIC=1` keeps the link dynamic. `scripts/check-link-order.sh`
//!   checks that the result needs no shared library;
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
//!   so the loader reads a few KiB of relocations instead of ~300 KiB;
//! - has LLD write the link map of the binary to `target/release/lmcp.map`,
//!   from which `scripts/check-link-order.sh` counts how much of the two
//!   lists still matches the code (a stale list fails that check, run by
//!   `scripts/check-package.sh`).
//!
//! Measured effect on `lmcp --stdio` idle RSS: BENCHMARKS.md. Set
//! `LMCP_NO_LINK_TUNING=1` to turn the layout tuning off (e.g. with another
//! linker); `LMCP_LINK_TUNING_VERBOSE=1` says why a step is off.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=link/startup.order");
    println!("cargo:rerun-if-changed=link/rodata.ld");
    println!("cargo:rerun-if-env-changed=LMCP_LINK_MAP");
    println!("cargo:rerun-if-env-changed=LMCP_NO_LINK_TUNING");
    println!("cargo:rerun-if-env-changed=LMCP_DYNAMIC");
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    let verbose = env::var_os("LMCP_LINK_TUNING_VERBOSE").is_some();
    match static_libraries() {
        Err(why) if verbose => println!("cargo:warning=static link off: {why}"),
        Err(_) => {}
        Ok(dir) => {
            link_arg(&format!("-L{}", dir.display()));
            link_arg("-static-pie");
        }
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
    // The map scripts/check-link-order.sh measures the lists against, beside
    // the binary (OUT_DIR is target/<profile>/build/lmcp-<hash>/out).
    if env::var_os("LMCP_LINK_MAP").is_none() {
        let out = PathBuf::from(env::var("OUT_DIR").unwrap_or_default());
        if let Some(profile_dir) = out.ancestors().nth(3) {
            let map = profile_dir.join("lmcp.map");
            println!("cargo:rustc-link-arg-bin=lmcp=-Wl,-Map={}", map.display());
        }
    }
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

/// The libraries rustc links the binary with (std's and the `libc` crate's
/// `-l` flags on glibc), each with the static archives that stand in for it.
/// `libc` and `libgcc_eh` need each other, hence one group.
const STAND_INS: &[(&str, &[&str])] = &[
    ("c", &["libc.a", "libgcc_eh.a", "libgcc.a"]),
    ("gcc_s", &["libgcc_eh.a", "libgcc.a"]),
    ("m", &["libm.a"]),
    ("rt", &["librt.a"]),
    ("pthread", &["libpthread.a"]),
    ("dl", &["libdl.a"]),
    ("util", &["libutil.a"]),
];

/// Writes the stand-in linker scripts of a static link (see the module
/// docs) and returns their directory; `Err` says why the link stays dynamic.
fn static_libraries() -> Result<PathBuf, String> {
    if env::var_os("LMCP_DYNAMIC").is_some() {
        return Err("LMCP_DYNAMIC is set".into());
    }
    if let Some(why) = not_release_x86_64_linux() {
        return Err(why);
    }
    // The stand-ins rely on the `cc` driver and the GNU-style linker rustc
    // uses by default; a configured linker may be neither.
    if let Some(why) = custom_linker() {
        return Err(why);
    }
    let dir = PathBuf::from(env::var("OUT_DIR").map_err(|e| e.to_string())?).join("static");
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for (lib, archives) in STAND_INS {
        let paths = archives
            .iter()
            .map(|a| archive(a))
            .collect::<Result<Vec<_>, _>>()?;
        let script = format!(
            "/* Written by build.rs: the static archives standing in for lib{lib}.so. */\nGROUP({})\n",
            paths.join(" ")
        );
        let file = dir.join(format!("lib{lib}.so"));
        fs::write(&file, script).map_err(|e| format!("{}: {e}", file.display()))?;
    }
    Ok(dir)
}

/// The path of the static archive `name` as the C compiler finds it.
fn archive(name: &str) -> Result<String, String> {
    // `cc -print-file-name` prints the bare name when it finds nothing.
    Command::new("cc")
        .arg(format!("-print-file-name={name}"))
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|p| {
            p.starts_with('/') && Path::new(p).is_file() && !p.contains(char::is_whitespace)
        })
        .ok_or_else(|| format!("{name} is not installed (static glibc: libc6-dev)"))
}

/// Whether the user chose the linker (cargo configuration or RUSTFLAGS).
fn custom_linker() -> Option<String> {
    if env::var_os("RUSTC_LINKER").is_some() {
        return Some("a custom linker is configured".into());
    }
    let flags = env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    if flags.contains("linker") || flags.contains("fuse-ld") {
        return Some("RUSTFLAGS choose the linker".into());
    }
    None
}

/// Why the tuning does not apply to this build, if it does not.
fn skip_reason() -> Option<String> {
    if env::var_os("LMCP_NO_LINK_TUNING").is_some() {
        return Some("LMCP_NO_LINK_TUNING is set".into());
    }
    if let Some(why) = not_release_x86_64_linux() {
        return Some(why);
    }
    // A linker chosen by the user may not be LLD.
    if let Some(why) = custom_linker() {
        return Some(why);
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
