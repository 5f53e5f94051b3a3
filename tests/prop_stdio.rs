//! Property: whatever bytes arrive on stdin, the stdio server writes only
//! valid JSON-RPC (each line checked against the official schema of its era)
//! or nothing, answers no id it was never sent, and never crashes.
//!
//! The engine runs in process through the real stdio transport
//! (`lmcp::transport::stdio::serve`) with the `lmcp` binary's own tool set
//! (file tools confined to a temp root, read-only) plus a panicking and an
//! echoing tool. Inputs mix raw bytes, well-formed messages with random
//! methods, ids and params, batches, and mutations of well-formed lines.
//! The case count is bounded (`LMCP_PROPTEST_CASES`, default 96) so this runs
//! in seconds; `scripts/fuzz.sh` exercises the same decoder for longer.
#![cfg(feature = "tools")]

mod common;

use common::Checker;
use lmcp::server::{Server, ServerConfig, Tool, ToolResult};
use lmcp::transport::stdio::{serve, StdioOptions};
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use std::collections::HashSet;
use std::io::{Cursor, Write};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// A writer collecting what the server writes.
#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn root() -> &'static tempfile::TempDir {
    static ROOT: OnceLock<tempfile::TempDir> = OnceLock::new();
    ROOT.get_or_init(|| {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a.txt"), "alpha\nbeta\n").unwrap();
        std::fs::create_dir(d.path().join("sub")).unwrap();
        std::fs::write(d.path().join("sub/b.md"), "# b\n").unwrap();
        d
    })
}

fn server() -> Arc<Server> {
    let fs = lmcp::tools::fs::FsConfig {
        roots: lmcp::tools::roots::Roots::new(vec![root().path().to_path_buf()]).unwrap(),
        read_only: true,
        ..Default::default()
    };
    let config = ServerConfig {
        client_request_timeout: Duration::from_millis(200),
        ..ServerConfig::default()
    };
    Server::builder("lmcp-prop", "0")
        .config(config)
        .tools(lmcp::tools::builtin())
        .tools(lmcp::tools::fs::tools(Arc::new(fs)))
        .tool(Tool::new("panic", "Panics.", |_a, _ctx| async move {
            if std::env::var_os("LMCP_NEVER_SET_THIS").is_none() {
                panic!("deliberate panic");
            }
            Ok(ToolResult::text("unreachable"))
        }))
        .tool(Tool::new(
            "echo",
            "Echoes its arguments.",
            |a, _ctx| async move { Ok(ToolResult::text(Value::Object(a).to_string())) },
        ))
        .build()
}

/// Feed `input` to a fresh stdio session; what it wrote, once input ended.
fn run(input: Vec<u8>) -> Vec<u8> {
    let sink = Sink::default();
    let out = sink.clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let opts = StdioOptions {
            shutdown_grace: Duration::from_millis(300),
            ..StdioOptions::default()
        };
        let session = server().session();
        serve(
            session,
            Cursor::new(input),
            out,
            opts,
            tokio_util::sync::CancellationToken::new(),
        )
        .await;
    });
    let bytes = sink.0.lock().unwrap().clone();
    bytes
}

// ------------------------------------------------------------ strategies --

const METHODS: &[&str] = &[
    "initialize",
    "ping",
    "server/discover",
    "tools/list",
    "tools/call",
    "resources/list",
    "resources/read",
    "resources/templates/list",
    "resources/subscribe",
    "prompts/list",
    "prompts/get",
    "completion/complete",
    "logging/setLevel",
    "subscriptions/listen",
    "notifications/initialized",
    "notifications/cancelled",
    "notifications/progress",
    "notifications/roots/list_changed",
    "tasks/get",
    "",
    "rpc.x",
];

const TOOLS: &[&str] = &[
    "ping",
    "systeminfo",
    "read_file",
    "list_dir",
    "search_files",
    "file_info",
    "write_file",
    "edit_file",
    "echo",
    "panic",
    "nope",
];

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        "[a-z./ _-]{0,12}".prop_map(Value::String),
        prop::sample::select(vec![
            "a.txt",
            "sub",
            "../etc/passwd",
            "/",
            "sub/b.md",
            "*",
            "."
        ])
        .prop_map(|s| Value::String(s.into())),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Known argument names of the built-in tools, with random values.
fn arguments() -> impl Strategy<Value = Value> {
    let key = prop::sample::select(vec![
        "path", "paths", "pattern", "text", "content", "offset", "limit", "depth", "edits",
        "old_text", "new_text", "head", "tail", "query", "glob", "x",
    ]);
    prop_oneof![
        prop::collection::btree_map(key, json_value(), 0..4)
            .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        json_value(),
    ]
}

#[derive(Debug, Clone)]
struct Shape {
    version: Option<Value>,
    id: u8,
    method: String,
    params: Option<Value>,
    modern: Option<Value>,
    tool: &'static str,
    arguments: Option<Value>,
    extra: Option<(String, Value)>,
}

fn shape() -> impl Strategy<Value = Shape> {
    (
        prop_oneof![
            8 => Just(Some(json!("2.0"))),
            1 => Just(None),
            1 => json_leaf().prop_map(Some),
        ],
        any::<u8>(),
        prop_oneof![
            9 => prop::sample::select(METHODS).prop_map(str::to_owned),
            1 => "[a-z/]{0,16}",
        ],
        prop_oneof![4 => Just(None), 1 => json_value().prop_map(Some)],
        prop_oneof![
            3 => Just(None),
            4 => Just(Some(json!("2026-07-28"))),
            1 => json_leaf().prop_map(Some),
        ],
        prop::sample::select(TOOLS),
        prop::option::of(arguments()),
        prop::option::of(("[a-z_]{1,8}", json_value())),
    )
        .prop_map(
            |(version, id, method, params, modern, tool, arguments, extra)| Shape {
                version,
                id,
                method,
                params,
                modern,
                tool,
                arguments,
                extra,
            },
        )
}

/// Render a shape as a message with id `n` (ids are unique within an input,
/// so every response can be matched with the request it answers).
fn render(s: &Shape, n: usize) -> Value {
    let mut m = Map::new();
    if let Some(v) = &s.version {
        m.insert("jsonrpc".into(), v.clone());
    }
    match s.id % 8 {
        0 => {}
        1 => {
            m.insert("id".into(), json!(format!("s{n}")));
        }
        2 => {
            m.insert("id".into(), Value::Null);
        }
        3 => {
            m.insert("id".into(), json!(n as f64 + 0.5));
        }
        _ => {
            m.insert("id".into(), json!(n));
        }
    }
    m.insert("method".into(), json!(s.method));
    let mut params = match &s.params {
        Some(p) => p.clone(),
        None => json!({}),
    };
    if let Value::Object(p) = &mut params {
        if matches!(s.method.as_str(), "tools/call" | "prompts/get") {
            p.insert("name".into(), json!(s.tool));
        }
        if let Some(a) = &s.arguments {
            p.insert("arguments".into(), a.clone());
        }
        if let Some(v) = &s.modern {
            p.insert(
                "_meta".into(),
                json!({
                    "io.modelcontextprotocol/protocolVersion": v,
                    "io.modelcontextprotocol/clientCapabilities": {},
                    "io.modelcontextprotocol/clientInfo": {"name": "prop", "version": "1"},
                }),
            );
        }
        if s.method == "initialize" {
            p.insert("protocolVersion".into(), json!("2025-11-25"));
            p.entry("capabilities").or_insert(json!({}));
            p.entry("clientInfo")
                .or_insert(json!({"name": "prop", "version": "1"}));
        }
    }
    if s.params.is_some() || s.modern.is_some() || s.arguments.is_some() {
        m.insert("params".into(), params);
    }
    if let Some((k, v)) = &s.extra {
        if k != "id" && k != "params" {
            m.insert(k.clone(), v.clone());
        }
    }
    Value::Object(m)
}

#[derive(Debug, Clone)]
enum Piece {
    Raw(Vec<u8>),
    Msg(Shape),
    Batch(Vec<Shape>),
    Mutated(Shape, usize, u8),
    Truncated(Shape, usize),
}

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        2 => prop::collection::vec(any::<u8>(), 0..96).prop_map(Piece::Raw),
        6 => shape().prop_map(Piece::Msg),
        1 => prop::collection::vec(shape(), 0..4).prop_map(Piece::Batch),
        1 => (shape(), any::<usize>(), any::<u8>()).prop_map(|(s, i, b)| Piece::Mutated(s, i, b)),
        1 => (shape(), any::<usize>()).prop_map(|(s, i)| Piece::Truncated(s, i)),
    ]
}

/// The input bytes, and the lines that are JSON (for the checker).
fn assemble(pieces: &[Piece], crlf: bool, final_newline: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for (n, p) in pieces.iter().enumerate() {
        let bytes = match p {
            Piece::Raw(b) => b.clone(),
            Piece::Msg(s) => render(s, n).to_string().into_bytes(),
            Piece::Batch(v) => Value::Array(
                v.iter()
                    .enumerate()
                    .map(|(k, s)| render(s, 1000 * (n + 1) + k))
                    .collect(),
            )
            .to_string()
            .into_bytes(),
            Piece::Mutated(s, i, b) => {
                let mut t = render(s, n).to_string().into_bytes();
                let i = i % t.len();
                t[i] = *b;
                t
            }
            Piece::Truncated(s, i) => {
                let mut t = render(s, n).to_string().into_bytes();
                t.truncate(i % t.len());
                t
            }
        };
        out.extend_from_slice(&bytes);
        if n + 1 < pieces.len() || final_newline {
            out.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
        }
    }
    out
}

fn id_key(v: &Value) -> String {
    v.to_string()
}

/// Check what the server wrote for `input`.
fn check(input: &[u8], output: &[u8]) -> Result<(), String> {
    let mut checker = Checker::default();
    // Ids of requests (a result may answer them) and ids of anything the
    // client sent (an error may name them).
    let mut request_ids = HashSet::new();
    let mut any_ids = HashSet::new();
    let mut register = |m: &Value| {
        if let Some(id) = m.get("id") {
            any_ids.insert(id_key(id));
            if m.get("method").is_some() {
                request_ids.insert(id_key(id));
            }
        }
    };
    for line in input.split(|&b| b == b'\n') {
        if let Ok(v) = serde_json::from_slice::<Value>(line) {
            match &v {
                Value::Array(items) => items.iter().for_each(&mut register),
                m => register(m),
            }
            checker.register(&v);
        }
    }
    if !output.is_empty() && output.last() != Some(&b'\n') {
        return Err("output does not end with a newline".into());
    }
    for line in output.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let v = checker.check_line(line)?;
        let items = match v {
            Value::Array(items) => items,
            m => vec![m],
        };
        for m in items {
            if m.get("method").is_some() {
                continue;
            }
            match m.get("id") {
                None | Some(Value::Null) => {
                    if m.get("error").is_none() {
                        return Err(format!("a result without an id: {m}"));
                    }
                }
                Some(id) if m.get("result").is_some() && !request_ids.contains(&id_key(id)) => {
                    return Err(format!("a result for a request never sent: {m}"));
                }
                Some(id) if !any_ids.contains(&id_key(id)) => {
                    return Err(format!("an error naming an id never sent: {m}"));
                }
                Some(_) => {}
            }
        }
    }
    Ok(())
}

fn cases() -> u32 {
    std::env::var("LMCP_PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(96)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        .. ProptestConfig::default()
    })]

    #[test]
    fn stdio_answers_any_input_with_valid_json_rpc_or_nothing(
        pieces in prop::collection::vec(piece(), 0..10),
        crlf in any::<bool>(),
        final_newline in any::<bool>(),
    ) {
        let input = assemble(&pieces, crlf, final_newline);
        let output = run(input.clone());
        if let Err(e) = check(&input, &output) {
            prop_assert!(false, "{}\ninput: {}", e, String::from_utf8_lossy(&input));
        }
    }

    #[test]
    fn stdio_survives_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let output = run(bytes.clone());
        if let Err(e) = check(&bytes, &output) {
            prop_assert!(false, "{}", e);
        }
    }
}

/// The server still answers after a burst of garbage on the same stream.
#[test]
fn garbage_then_a_valid_request_is_answered() {
    let mut input = b"\xff\xfe{\"a\n[[[[\n{}\n[]\n\n\"x\"\n".to_vec();
    input.extend_from_slice(
        json!({"jsonrpc": "2.0", "id": 42, "method": "tools/list",
               "params": {"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                                    "io.modelcontextprotocol/clientCapabilities": {},
                                    "io.modelcontextprotocol/clientInfo": {"name": "p", "version": "1"}}}})
        .to_string()
        .as_bytes(),
    );
    input.push(b'\n');
    let output = run(input.clone());
    check(&input, &output).unwrap();
    let answered = output
        .split(|&b| b == b'\n')
        .filter_map(|l| serde_json::from_slice::<Value>(l).ok())
        .any(|v| v["id"] == json!(42) && v["result"]["tools"].is_array());
    assert!(
        answered,
        "no tools/list answer in: {}",
        String::from_utf8_lossy(&output)
    );
}
