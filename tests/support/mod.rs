//! Test harness: drives a real server process over stdio and validates every
//! line it writes against the official MCP schema of its era.
#![allow(dead_code)]

pub mod proc_status;
pub mod raw_http;
pub mod rmcp_calls;

use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The modern revision.
pub const MODERN: &str = "2026-07-28";
/// The legacy schema used to validate legacy-era messages.
pub const LEGACY_SCHEMA: &str = "2025-11-25";

/// `_meta` for a modern request with the given client capabilities.
pub fn meta(caps: Value) -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": caps,
        "io.modelcontextprotocol/clientInfo": {"name": "lmcp-tests", "version": "1"},
    })
}

/// Add the modern `_meta` to params.
pub fn modern(mut params: Value) -> Value {
    params["_meta"] = meta(json!({}));
    params
}

struct Schemas {
    root: Value,
    cache: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

fn schemas(rev: &str) -> &'static Schemas {
    static MODERN_S: OnceLock<Schemas> = OnceLock::new();
    static LEGACY_S: OnceLock<Schemas> = OnceLock::new();
    let cell = if rev == MODERN { &MODERN_S } else { &LEGACY_S };
    cell.get_or_init(|| {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/spec")
            .join(rev)
            .join("schema.json");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "cannot read the official schema {}: {e} (tests need ../shared beside the repo)",
                path.display()
            )
        });
        Schemas {
            root: serde_json::from_str(&text).expect("schema is JSON"),
            cache: Mutex::new(HashMap::new()),
        }
    })
}

/// Validate `value` against definition `def` of revision `rev`; returns the errors.
pub fn check(rev: &str, def: &str, value: &Value) -> Vec<String> {
    let s = schemas(rev);
    let v = {
        let mut cache = s.cache.lock().unwrap();
        cache
            .entry(def.to_owned())
            .or_insert_with(|| {
                let mut schema =
                    json!({"$defs": s.root["$defs"].clone(), "$ref": format!("#/$defs/{def}")});
                schema["$schema"] = s.root["$schema"].clone();
                Arc::new(
                    jsonschema::validator_for(&schema)
                        .unwrap_or_else(|e| panic!("schema {rev}#{def}: {e}")),
                )
            })
            .clone()
    };
    v.iter_errors(value)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

fn result_def(method: &str, result: &Value, rev: &str) -> Option<&'static str> {
    if result.get("resultType").and_then(Value::as_str) == Some("input_required") {
        return Some("InputRequiredResult");
    }
    Some(match method {
        "initialize" => "InitializeResult",
        "server/discover" => "DiscoverResult",
        "tools/list" => "ListToolsResult",
        "tools/call" => "CallToolResult",
        "resources/list" => "ListResourcesResult",
        "resources/templates/list" => "ListResourceTemplatesResult",
        "resources/read" => "ReadResourceResult",
        "prompts/list" => "ListPromptsResult",
        "prompts/get" => "GetPromptResult",
        "completion/complete" => "CompleteResult",
        "subscriptions/listen" if rev == MODERN => "SubscriptionsListenResult",
        "ping" | "logging/setLevel" | "resources/subscribe" | "resources/unsubscribe" => {
            "EmptyResult"
        }
        _ => return None,
    })
}

fn notification_def(method: &str) -> Option<&'static str> {
    Some(match method {
        "notifications/progress" => "ProgressNotification",
        "notifications/message" => "LoggingMessageNotification",
        "notifications/tools/list_changed" => "ToolListChangedNotification",
        "notifications/prompts/list_changed" => "PromptListChangedNotification",
        "notifications/resources/list_changed" => "ResourceListChangedNotification",
        "notifications/resources/updated" => "ResourceUpdatedNotification",
        "notifications/subscriptions/acknowledged" => "SubscriptionsAcknowledgedNotification",
        "notifications/cancelled" => "CancelledNotification",
        _ => return None,
    })
}

/// A server process under test.
pub struct Peer {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    /// Requests sent: id → (method, schema revision).
    sent: HashMap<String, (String, &'static str)>,
    /// Revision used for notifications and server requests.
    pub notification_rev: &'static str,
    next_id: i64,
}

/// Path of a built example (the test command builds examples first).
pub fn example(name: &str) -> PathBuf {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_lmcp"));
    let p = bin.parent().unwrap().join("examples").join(name);
    assert!(
        p.exists(),
        "{} is missing: build the examples first (cargo build --examples, or --release --examples)",
        p.display()
    );
    p
}

impl Peer {
    /// Start `program` with `args`.
    pub fn start(program: &PathBuf, args: &[&str]) -> Peer {
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Peer {
            stdin: child.stdin.take(),
            child,
            lines: rx,
            sent: HashMap::new(),
            notification_rev: MODERN,
            next_id: 1,
        }
    }

    /// The fixture server (`examples/everything`).
    pub fn everything() -> Peer {
        Peer::start(&example("everything"), &["--stdio"])
    }

    /// The `lmcp` binary.
    pub fn lmcp(args: &[&str]) -> Peer {
        Peer::start(&PathBuf::from(env!("CARGO_BIN_EXE_lmcp")), args)
    }

    /// Process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Write raw bytes (a line, or garbage).
    pub fn send_raw(&mut self, bytes: &[u8]) {
        let w = self.stdin.as_mut().expect("stdin open");
        w.write_all(bytes).unwrap();
        w.flush().unwrap();
    }

    /// Send a JSON message, remembering requests for validation.
    pub fn send(&mut self, msg: &Value) {
        if let (Some(id), Some(method)) = (msg.get("id"), msg.get("method").and_then(Value::as_str))
        {
            let rev = if msg["params"]["_meta"]
                .get("io.modelcontextprotocol/protocolVersion")
                .is_some()
            {
                MODERN
            } else {
                LEGACY_SCHEMA
            };
            self.sent.insert(id.to_string(), (method.to_owned(), rev));
        }
        let mut line = serde_json::to_vec(msg).unwrap();
        line.push(b'\n');
        self.send_raw(&line);
    }

    /// Send a request with a fresh integer id; returns the id.
    pub fn request(&mut self, method: &str, params: Value) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        id
    }

    /// Close stdin (EOF for the server).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// The next line within `timeout`, validated; `None` on timeout or EOF.
    pub fn next_within(&mut self, timeout: Duration) -> Option<Value> {
        match self.lines.recv_timeout(timeout) {
            Ok(line) => Some(self.validate(&line)),
            Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => None,
        }
    }

    /// The next line (10 s limit).
    pub fn next(&mut self) -> Value {
        self.next_within(Duration::from_secs(10))
            .expect("the server wrote nothing within 10 s")
    }

    /// Read until the response with `id`; returns it and the messages seen before it.
    pub fn response(&mut self, id: i64) -> (Value, Vec<Value>) {
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut before = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let msg = self.next_within(left).unwrap_or_else(|| {
                panic!("no response to request {id} within 15 s; saw {before:?}")
            });
            if msg.get("id") == Some(&json!(id)) && msg.get("method").is_none() {
                return (msg, before);
            }
            before.push(msg);
        }
    }

    /// Send a request and return its result (panics on an error response).
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.request(method, params);
        let (r, _) = self.response(id);
        assert!(r.get("error").is_none(), "{method} failed: {r}");
        r["result"].clone()
    }

    /// Send a request and return its error object (panics on success).
    pub fn call_err(&mut self, method: &str, params: Value) -> Value {
        let id = self.request(method, params);
        let (r, _) = self.response(id);
        assert!(
            r.get("error").is_some(),
            "{method} unexpectedly succeeded: {r}"
        );
        r["error"].clone()
    }

    /// Legacy handshake at `version`; returns the initialize result.
    pub fn initialize(&mut self, version: &str, caps: Value) -> Value {
        self.notification_rev = LEGACY_SCHEMA;
        let r = self.call(
            "initialize",
            json!({"protocolVersion": version, "capabilities": caps, "clientInfo": {"name": "lmcp-tests", "version": "1"}}),
        );
        self.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        r
    }

    /// Parse and validate one line the server wrote.
    fn validate(&mut self, line: &str) -> Value {
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("server wrote a line that is not JSON ({e}): {line}"));
        if let Value::Array(items) = &v {
            for item in items {
                self.validate(&item.to_string());
            }
            return v;
        }
        let (rev, def, target): (&str, Option<&str>, &Value) = if v.get("method").is_some() {
            let method = v["method"].as_str().unwrap_or("");
            if v.get("id").is_some() {
                (LEGACY_SCHEMA, Some("JSONRPCRequest"), &v)
            } else {
                (self.notification_rev, notification_def(method), &v)
            }
        } else {
            let key = v.get("id").map(|i| i.to_string()).unwrap_or_default();
            let (method, rev) = self
                .sent
                .get(&key)
                .cloned()
                .unwrap_or_else(|| (String::new(), self.notification_rev));
            match v.get("result") {
                Some(r) => (rev, result_def(&method, r, rev), r),
                None => (rev, None, &v),
            }
        };
        let mut errors = check(rev, "JSONRPCMessage", &v);
        if let Some(def) = def {
            errors.extend(check(rev, def, target));
        }
        assert!(
            errors.is_empty(),
            "server message violates the {rev} schema ({def:?}):\n{line}\n{}",
            errors.join("\n")
        );
        v
    }

    /// Wait for the process to exit (limit 15 s); returns its exit code.
    pub fn wait_exit(&mut self) -> Option<i32> {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("the server did not exit within 15 s");
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ------------------------------------------------------------ HTTP server --

/// A server process serving HTTP on an ephemeral loopback port; killed on drop.
pub struct HttpServer {
    /// The process.
    pub child: Child,
    /// The port it reported.
    pub port: u16,
    /// Its stderr, line by line, from the line after the port's.
    log: mpsc::Receiver<String>,
}

impl HttpServer {
    /// Wait up to `timeout` for a line of its stderr that contains
    /// `needle`; the lines before it are consumed. False on timeout.
    pub fn wait_log(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.log.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return true,
                Ok(_) => {}
                Err(_) => return false,
            }
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start `program --http 127.0.0.1:0 EXTRA...`; the port is read from the
/// "listening on" line it prints (no race for a port chosen in advance).
pub fn start_http(program: PathBuf, extra: &[&str]) -> HttpServer {
    let mut child = Command::new(program)
        .args(["--http", "127.0.0.1:0"])
        .args(extra)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let (log_tx, log) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stderr).lines().map_while(Result::ok);
        for line in lines.by_ref() {
            if let Some(rest) = line.split("listening on http://127.0.0.1:").nth(1) {
                let port: u16 = rest.split('/').next().unwrap_or("0").parse().unwrap_or(0);
                let _ = tx.send(port);
                break;
            }
        }
        // Read to the end, so the server's logging never fills the pipe.
        for line in lines {
            let _ = log_tx.send(line);
        }
    });
    let port = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the server did not report its port");
    HttpServer { child, port, log }
}

/// A token file for `--auth-token-file`, in a directory of its own that is
/// removed when this is dropped.
pub struct TokenFile {
    dir: PathBuf,
    file: PathBuf,
}

impl TokenFile {
    /// Writes `token` (a newline after it) to a fresh file; `name` keeps
    /// the directories of tests in one process apart.
    pub fn new(name: &str, token: &str) -> TokenFile {
        let dir = std::env::temp_dir().join(format!("lmcp-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("token");
        std::fs::write(&file, format!("{token}\n")).unwrap();
        TokenFile { dir, file }
    }

    /// The file's path, as `--auth-token-file` takes it.
    pub fn path(&self) -> &str {
        self.file.to_str().unwrap()
    }
}

impl Drop for TokenFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
