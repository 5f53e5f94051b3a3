//! `docs/configuration.md` cannot drift: it must equal what
//! `lmcp::cli::reference` renders from the clap definition, every flag the
//! binary's `--help` shows must be in it, and its hub configuration keys must
//! be exactly those the configuration parser reads (and each must load).
//!
//! Regenerate the file with `cargo run -p xtask --features web -- docs`.
//! Without the `web` feature the web tools' section of the committed file is
//! left out of the comparison; `cargo test --features web --test
//! docs_config` compares all of it.
#![cfg(all(feature = "cli", feature = "hub"))]

use lmcp::cli::reference::{self, HUB_FILE_KEYS, HUB_SERVER_KEYS, HUB_TABLE_KEYS};
use lmcp::hub::config::{HubConfig, UpstreamTransport};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

const REGENERATE: &str = "regenerate it: cargo run -p xtask --features web -- docs";

fn repo_file(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Panics naming the first line where `committed` and `rendered` differ.
fn assert_same(committed: &str, rendered: &str) {
    if committed == rendered {
        return;
    }
    let (a, b): (Vec<&str>, Vec<&str>) = (committed.lines().collect(), rendered.lines().collect());
    let line = (0..a.len().max(b.len()))
        .find(|&i| a.get(i) != b.get(i))
        .unwrap_or(0);
    panic!(
        "docs/configuration.md is stale at line {}:\n  committed: {:?}\n  rendered:  {:?}\n{REGENERATE}",
        line + 1,
        a.get(line),
        b.get(line)
    );
}

#[test]
fn configuration_md_is_what_the_cli_definition_renders() {
    assert_eq!(
        reference::WEB_SECTION,
        format!("### {}", lmcp::cli::heading::WEB)
    );
    let committed = repo_file("docs/configuration.md");
    assert!(
        committed.contains(reference::WEB_SECTION),
        "docs/configuration.md lacks the web tools' flags (made without --features web?); {REGENERATE}"
    );
    let rendered = reference::markdown();
    if cfg!(feature = "web") {
        assert_same(&committed, &rendered);
    } else {
        assert!(!rendered.contains(reference::WEB_SECTION));
        assert_same(&reference::without_web_section(&committed), &rendered);
    }
}

/// The long flags of a `--help` text.
fn flags_in(help: &str) -> BTreeSet<String> {
    help.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|w| w.len() > 2 && w.starts_with("--") && !w.starts_with("---"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_flag_of_the_binary_help_is_documented() {
    let doc = repo_file("docs/configuration.md");
    for args in [
        &["--help"][..],
        &["client", "--help"],
        &["client", "call", "--help"],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_lmcp"))
            .args(args)
            .output()
            .expect("run lmcp");
        assert!(out.status.success(), "lmcp {args:?} failed");
        let help = String::from_utf8(out.stdout).unwrap();
        let flags = flags_in(&help);
        assert!(flags.len() >= 2, "too few flags in {args:?}: {flags:?}");
        for flag in flags {
            assert!(
                doc.contains(&format!("`{flag}")) || doc.contains(&format!(", {flag}")),
                "`lmcp {}` shows {flag} but docs/configuration.md does not list it; {REGENERATE}",
                args.join(" ")
            );
        }
    }
}

/// The serde names of the fields of `struct NAME` in `source`: the field
/// name, or its `rename`, camelCased when the struct says
/// `rename_all = "camelCase"`.
fn serde_keys(source: &str, name: &str) -> BTreeSet<String> {
    let head = format!("struct {name} {{");
    let start = source.find(&head).unwrap_or_else(|| {
        panic!("no `{head}` in src/hub/config.rs: update tests/docs_config.rs to the parser")
    });
    let attrs = &source[source[..start].rfind("\n\n").unwrap_or(0)..start];
    let camel = attrs.contains("rename_all = \"camelCase\"");
    let body = &source[start + head.len()..];
    let body = &body[..body.find("\n}").expect("end of struct")];
    let mut keys = BTreeSet::new();
    let mut rename = None;
    for line in body.lines().map(str::trim).filter(|l| !l.starts_with("//")) {
        if line.starts_with("#[serde(") {
            if let Some(i) = line.find("rename = \"") {
                let rest = &line[i + 10..];
                rename = Some(rest[..rest.find('"').unwrap()].to_owned());
            }
            continue;
        }
        let Some((field, _)) = line.split_once(':') else {
            continue;
        };
        let field = field.trim_start_matches("pub ").trim();
        if field.is_empty() || !field.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            continue;
        }
        let key = rename.take().unwrap_or_else(|| {
            if camel {
                let mut out = String::new();
                let mut upper = false;
                for c in field.chars() {
                    if c == '_' {
                        upper = true;
                    } else if upper {
                        out.push(c.to_ascii_uppercase());
                        upper = false;
                    } else {
                        out.push(c);
                    }
                }
                out
            } else {
                field.to_owned()
            }
        });
        keys.insert(key);
    }
    keys
}

#[test]
fn documented_hub_keys_are_the_keys_the_parser_reads() {
    let source = repo_file("src/hub/config.rs");
    let documented = |keys: Vec<&str>| keys.into_iter().map(str::to_owned).collect::<BTreeSet<_>>();
    assert_eq!(
        serde_keys(&source, "FileConfig"),
        documented(HUB_FILE_KEYS.iter().map(|k| k.0).collect()),
        "top-level keys: update HUB_FILE_KEYS in src/cli/reference.rs, then {REGENERATE}"
    );
    assert_eq!(
        serde_keys(&source, "FileServer"),
        documented(HUB_SERVER_KEYS.iter().map(|k| k.0).collect()),
        "server keys: update HUB_SERVER_KEYS in src/cli/reference.rs, then {REGENERATE}"
    );
    assert_eq!(
        serde_keys(&source, "FileHub"),
        documented(HUB_TABLE_KEYS.iter().map(|k| k.0).collect()),
        "hub table keys: update HUB_TABLE_KEYS in src/cli/reference.rs, then {REGENERATE}"
    );
}

#[test]
fn a_config_using_every_documented_key_loads_and_each_takes_effect() {
    // A value for every documented server key, over two servers (command
    // and url exclude each other).
    let stdio = serde_json::json!({
        "command": "srv", "args": ["-v"], "env": {"A": "1"}, "cwd": "/tmp",
        "allow": ["a"], "deny": ["b"], "timeoutMs": 1234, "lazy": false, "idleTimeoutMs": 5000,
        "era": "legacy", "disabled": false, "type": "stdio",
    });
    let http = serde_json::json!({"url": "http://127.0.0.1:9/mcp", "headers": {"X-K": "v"}, "caFile": "ca.pem"});
    let used: BTreeSet<&str> = stdio
        .as_object()
        .unwrap()
        .keys()
        .chain(http.as_object().unwrap().keys())
        .map(String::as_str)
        .collect();
    let documented: BTreeSet<&str> = HUB_SERVER_KEYS.iter().map(|k| k.0).collect();
    assert_eq!(used, documented, "this test must use every documented key");
    let hub = serde_json::json!({"prefix": "up", "separator": "-", "lazy": true});
    let table: BTreeSet<&str> = hub
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        table,
        HUB_TABLE_KEYS.iter().map(|k| k.0).collect::<BTreeSet<_>>()
    );

    let file = serde_json::json!({
        "mcpServers": {"s": stdio, "h": http, "off": {"command": "x", "disabled": true}},
        "hub": hub,
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.json");
    std::fs::write(&path, file.to_string()).unwrap();
    let cfg = HubConfig::load(&path).expect("a config with every documented key loads");
    assert_eq!((cfg.prefix.as_str(), cfg.separator.as_str()), ("up", "-"));
    let names: Vec<&str> = cfg.upstreams.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["h", "s"], "`disabled: true` skips the entry");
    let (h, s) = (&cfg.upstreams[0], &cfg.upstreams[1]);
    match &s.transport {
        UpstreamTransport::Stdio {
            command,
            args,
            env,
            cwd,
        } => {
            assert_eq!(
                (command.as_str(), args.as_slice()),
                ("srv", &["-v".to_owned()][..])
            );
            assert_eq!(env.get("A").map(String::as_str), Some("1"));
            assert_eq!(cwd.as_deref(), Some(Path::new("/tmp")));
        }
        other => panic!("expected stdio, got {other:?}"),
    }
    assert_eq!(s.allow.as_deref(), Some(&["a".to_owned()][..]));
    assert_eq!(s.deny, ["b"]);
    assert_eq!(s.timeout, Duration::from_millis(1234));
    assert_eq!(s.idle_timeout, Some(Duration::from_millis(5000)));
    assert!(!s.lazy, "the server's lazy overrides hub.lazy");
    assert!(s.legacy, "era legacy");
    match &h.transport {
        UpstreamTransport::Http {
            url,
            headers,
            ca_file,
        } => {
            assert_eq!(url, "http://127.0.0.1:9/mcp");
            assert_eq!(
                ca_file.as_deref(),
                Some(dir.path().join("ca.pem").as_path())
            );
            assert_eq!(headers.get("X-K").map(String::as_str), Some("v"));
        }
        other => panic!("expected http, got {other:?}"),
    }
    assert!(h.lazy, "hub.lazy is the default of lazy");
    assert!(!h.legacy, "era defaults to auto");
}

#[test]
fn the_packaged_example_hub_config_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/examples/hub.toml");
    let cfg = HubConfig::load(&path).expect("packaging/examples/hub.toml loads");
    let names: Vec<&str> = cfg.upstreams.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["files", "search"], "the disabled entry is skipped");
    assert_eq!(cfg.prefix, "remote");
    assert!(cfg.upstreams[1].lazy && !cfg.upstreams[0].lazy);
}

#[test]
fn every_example_of_the_help_text_parses() {
    use clap::Parser;
    let mut seen = 0;
    for line in lmcp::cli::EXAMPLES.lines() {
        let Some(example) = line.trim_start().strip_prefix("lmcp") else {
            continue;
        };
        // The command ends where the aligned description starts.
        let command = example.split("   ").next().unwrap();
        let words = shlex::split(&format!("lmcp{command}")).expect("balanced quotes");
        if let Err(e) = lmcp::cli::Cli::try_parse_from(&words) {
            panic!("the --help example {words:?} does not parse:\n{e}");
        }
        seen += 1;
    }
    assert!(seen >= 8, "only {seen} examples found");
}
