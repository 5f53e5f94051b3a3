//! Test harness: drives an MCP server over newline-delimited JSON-RPC on
//! stdio and validates every line the server writes against the official
//! schema of its era.
//!
//! - [`Peer::lmcp`] spawns the real `lmcp` binary, [`Peer::everything`] the
//!   `everything` example (built with `cargo build --examples`),
//!   [`Peer::in_process`] runs the stdio transport of the library over OS pipes
//!   (for server configurations no binary exposes, e.g. a small page size).
//! - Writes go through a writer thread and reads through a reader thread, so
//!   no call can block: every read has a deadline, and a test that waits too
//!   long fails with the server's stderr.
//! - Every line read is parsed and validated: against `JSONRPCMessage` and,
//!   for results, the result definition of the method (`ListToolsResult`,
//!   `InputRequiredResult`, `InitializeResult`, ...), for errors the error
//!   definition of the code, for notifications and server requests the
//!   definition of the method. The era of a response is the era of the request
//!   it answers: modern when that request carried
//!   `_meta["io.modelcontextprotocol/protocolVersion"]`, else 2025-11-25.
#![allow(dead_code)]

use serde_json::{json, Map, Value};
use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The modern revision.
pub const MODERN: &str = "2026-07-28";
/// The newest legacy revision.
pub const LATEST_LEGACY: &str = "2025-11-25";
/// Every legacy revision, newest first.
pub const LEGACY_VERSIONS: [&str; 4] = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];
/// `_meta` key of the protocol version.
pub const PV: &str = "io.modelcontextprotocol/protocolVersion";
/// `_meta` key of the client capabilities.
pub const CAPS: &str = "io.modelcontextprotocol/clientCapabilities";
/// `_meta` key of the server identity.
pub const SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";

/// Default deadline of a read.
pub const READ_TIMEOUT: Duration = Duration::from_secs(15);

/// The era a message belongs to, which picks the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Era {
    /// 2026-07-28.
    Modern,
    /// 2025-11-25 (the schema used for every legacy revision).
    Legacy,
}

impl Era {
    fn dir(self) -> &'static str {
        match self {
            Era::Modern => MODERN,
            Era::Legacy => LATEST_LEGACY,
        }
    }
}

// ---------------------------------------------------------------- schemas --

/// Folder of the official schemas (`../shared/spec` from the repository root).
pub fn spec_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/spec")
}

fn schema_doc(era: Era) -> &'static Value {
    static DOCS: OnceLock<(Value, Value)> = OnceLock::new();
    let docs = DOCS.get_or_init(|| {
        let load = |era: Era| -> Value {
            let p = spec_dir().join(era.dir()).join("schema.json");
            let text = std::fs::read_to_string(&p)
                .unwrap_or_else(|e| panic!("cannot read the official schema {}: {e}", p.display()));
            serde_json::from_str(&text).expect("schema.json is JSON")
        };
        (load(Era::Modern), load(Era::Legacy))
    });
    match era {
        Era::Modern => &docs.0,
        Era::Legacy => &docs.1,
    }
}

/// Whether the schema of `era` defines `def`.
pub fn has_def(era: Era, def: &str) -> bool {
    schema_doc(era)["$defs"].get(def).is_some()
}

/// The compiled validator of definition `def` of `era`'s schema (compiled once).
pub fn validator(era: Era, def: &str) -> Arc<jsonschema::Validator> {
    type Cache = Mutex<HashMap<(Era, String), Arc<jsonschema::Validator>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(v) = cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&(era, def.to_owned()))
    {
        return v.clone();
    }
    assert!(
        has_def(era, def),
        "the {} schema has no definition {def}",
        era.dir()
    );
    let mut doc = schema_doc(era).clone();
    doc["$ref"] = json!(format!("#/$defs/{def}"));
    let v = Arc::new(
        jsonschema::validator_for(&doc)
            .unwrap_or_else(|e| panic!("compiling {def} of {}: {e}", era.dir())),
    );
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert((era, def.to_owned()), v.clone());
    v
}

/// Validation errors of `instance` against `def` of `era`'s schema.
pub fn schema_errors(era: Era, def: &str, instance: &Value) -> Vec<String> {
    validator(era, def)
        .iter_errors(instance)
        .map(|e| format!("{def} ({}) at {}: {e}", era.dir(), e.instance_path()))
        .collect()
}

/// The result definition a response to `method` must satisfy.
fn result_def(era: Era, method: &str, result: &Value) -> Option<&'static str> {
    if era == Era::Modern
        && result.get("resultType").and_then(Value::as_str) == Some("input_required")
    {
        return Some("InputRequiredResult");
    }
    // The Tasks extension's shapes are not in the core schema: a
    // `CreateTaskResult` and the `tasks/*` results are checked as results
    // here, and field by field by tests/tasks.rs.
    if era == Era::Modern
        && (method.starts_with("tasks/")
            || result.get("resultType").and_then(Value::as_str) == Some("task"))
    {
        return Some("Result");
    }
    // 2025-11-25 tasks.
    if era == Era::Legacy && method == "tools/call" && result.get("task").is_some() {
        return Some("CreateTaskResult");
    }
    Some(match method {
        "server/discover" => "DiscoverResult",
        "initialize" => "InitializeResult",
        "ping" | "logging/setLevel" | "resources/subscribe" | "resources/unsubscribe" => {
            "EmptyResult"
        }
        "tools/list" => "ListToolsResult",
        "tools/call" => "CallToolResult",
        "resources/list" => "ListResourcesResult",
        "resources/templates/list" => "ListResourceTemplatesResult",
        "resources/read" => "ReadResourceResult",
        "prompts/list" => "ListPromptsResult",
        "prompts/get" => "GetPromptResult",
        "completion/complete" => "CompleteResult",
        "subscriptions/listen" => "SubscriptionsListenResult",
        "tasks/get" => "GetTaskResult",
        "tasks/cancel" => "CancelTaskResult",
        "tasks/list" => "ListTasksResult",
        "tasks/result" => "GetTaskPayloadResult",
        _ => return None,
    })
}

/// The error-object definition of a standard code.
fn error_object_def(code: i64) -> Option<&'static str> {
    Some(match code {
        -32700 => "ParseError",
        -32600 => "InvalidRequestError",
        -32601 => "MethodNotFoundError",
        -32602 => "InvalidParamsError",
        -32603 => "InternalError",
        _ => return None,
    })
}

/// The whole-message definition of an MCP-specific error code (modern).
fn error_message_def(code: i64) -> Option<&'static str> {
    Some(match code {
        -32020 => "HeaderMismatchError",
        -32021 => "MissingRequiredClientCapabilityError",
        -32022 => "UnsupportedProtocolVersionError",
        _ => return None,
    })
}

fn notification_def(method: &str) -> Option<&'static str> {
    Some(match method {
        "notifications/progress" => "ProgressNotification",
        "notifications/message" => "LoggingMessageNotification",
        "notifications/cancelled" => "CancelledNotification",
        "notifications/tools/list_changed" => "ToolListChangedNotification",
        "notifications/prompts/list_changed" => "PromptListChangedNotification",
        "notifications/resources/list_changed" => "ResourceListChangedNotification",
        "notifications/resources/updated" => "ResourceUpdatedNotification",
        "notifications/subscriptions/acknowledged" => "SubscriptionsAcknowledgedNotification",
        _ => return None,
    })
}

fn server_request_def(method: &str) -> Option<&'static str> {
    Some(match method {
        "elicitation/create" => "ElicitRequest",
        "sampling/createMessage" => "CreateMessageRequest",
        "roots/list" => "ListRootsRequest",
        "ping" => "PingRequest",
        _ => return None,
    })
}

// -------------------------------------------------------------- messages --

/// The `_meta` of a modern request with the given client capabilities.
pub fn meta_with(caps: Value) -> Value {
    json!({ PV: MODERN, CAPS: caps, "io.modelcontextprotocol/clientInfo": {"name": "lmcp-tests", "version": "0"} })
}

/// `params` with a modern `_meta` (no client capabilities) merged in.
pub fn modern_params(params: Value) -> Value {
    with_meta(params, meta_with(json!({})))
}

/// `params` with `meta` merged into `params._meta`.
pub fn with_meta(params: Value, meta: Value) -> Value {
    let mut p = match params {
        Value::Object(m) => m,
        Value::Null => Map::new(),
        other => panic!("params must be an object, got {other}"),
    };
    let m = p.entry("_meta").or_insert_with(|| json!({}));
    if let (Value::Object(m), Value::Object(add)) = (m, meta) {
        for (k, v) in add {
            m.entry(k).or_insert(v);
        }
    }
    Value::Object(p)
}

/// The error code of a response (panics on a result).
pub fn error_code(resp: &Value) -> i64 {
    resp["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("expected an error response, got {resp}"))
}

/// The result of a response (panics on an error).
pub fn result(resp: &Value) -> &Value {
    match resp.get("result") {
        Some(r) => r,
        None => panic!("expected a result, got {resp}"),
    }
}

/// The text of the first content block of a tool result response.
pub fn first_text(resp: &Value) -> String {
    result(resp)["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("no text content in {resp}"))
        .to_owned()
}

fn id_key(id: &Value) -> String {
    id.to_string()
}

fn is_response(m: &Value) -> bool {
    m.get("method").is_none() && (m.get("result").is_some() || m.get("error").is_some())
}

// --------------------------------------------------------------- checker --

/// Validates what a server writes, knowing what the client sent (the era and
/// method of each request id).
#[derive(Default)]
pub struct Checker {
    sent: HashMap<String, Sent>,
    progress_tokens: HashMap<String, Era>,
    legacy_open: bool,
}

impl Checker {
    /// Note a message the client sent.
    pub fn register(&mut self, msg: &Value) {
        let items: Vec<&Value> = match msg {
            Value::Array(a) => a.iter().collect(),
            v => vec![v],
        };
        for m in items {
            let (Some(method), Some(id)) = (m.get("method").and_then(Value::as_str), m.get("id"))
            else {
                continue;
            };
            let meta = &m["params"]["_meta"];
            let era = if meta.get(PV).is_some() {
                Era::Modern
            } else {
                Era::Legacy
            };
            if method == "initialize" {
                self.legacy_open = true;
            }
            if let Some(t) = meta.get("progressToken") {
                self.progress_tokens.insert(id_key(t), era);
            }
            self.sent.insert(
                id_key(id),
                Sent {
                    era,
                    method: method.to_owned(),
                },
            );
        }
    }

    // --------------------------------------------------------- validation --

    /// Parse and validate one line the server wrote.
    pub fn check_line(&self, bytes: &[u8]) -> Result<Value, String> {
        let shown = || {
            let s = String::from_utf8_lossy(bytes);
            if s.len() > 3000 {
                let head: String = s.chars().take(3000).collect();
                format!("{head}... ({} bytes)", s.len())
            } else {
                s.into_owned()
            }
        };
        let text = match std::str::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                return Err(format!(
                    "server wrote a line that is not UTF-8 ({e}): {}",
                    shown()
                ))
            }
        };
        let v: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                return Err(format!(
                    "server wrote a line that is not JSON ({e}): {}",
                    shown()
                ))
            }
        };
        let mut errors = Vec::new();
        match &v {
            Value::Array(items) => {
                if items.is_empty() {
                    errors.push("empty batch array".into());
                }
                for m in items {
                    errors.extend(self.message_errors(m));
                }
            }
            m => errors.extend(self.message_errors(m)),
        }
        if !errors.is_empty() {
            return Err(format!(
                "schema violation in a line the server wrote:\n{}\nerrors:\n  {}",
                shown(),
                errors.join("\n  ")
            ));
        }
        Ok(v)
    }

    fn message_errors(&self, m: &Value) -> Vec<String> {
        let mut errs = Vec::new();
        if is_response(m) {
            let sent = m.get("id").and_then(|id| self.sent.get(&id_key(id)));
            let era = sent.map(|s| s.era).unwrap_or(Era::Legacy);
            errs.extend(schema_errors(era, "JSONRPCMessage", m));
            if let Some(r) = m.get("result") {
                if m.get("error").is_some() {
                    errs.push("a response with both result and error".into());
                }
                match sent {
                    None => errs.push(format!(
                        "a result for id {} that the client never sent",
                        m.get("id").cloned().unwrap_or(Value::Null)
                    )),
                    Some(s) => {
                        if let Some(def) = result_def(era, &s.method, r) {
                            errs.extend(schema_errors(era, def, r));
                        }
                    }
                }
            } else {
                let code = m["error"]["code"].as_i64().unwrap_or(0);
                if let Some(def) = error_object_def(code) {
                    if has_def(era, def) {
                        errs.extend(schema_errors(era, def, &m["error"]));
                    }
                }
                if let Some(def) = error_message_def(code) {
                    if era == Era::Modern {
                        errs.extend(schema_errors(era, def, m));
                    }
                }
            }
        } else if let Some(method) = m.get("method").and_then(Value::as_str) {
            if m.get("id").is_some() {
                // A server-to-client request: only legacy sessions have them.
                if !self.legacy_open {
                    errs.push(format!(
                        "the server sent a request ({method}) outside a legacy session"
                    ));
                }
                errs.extend(schema_errors(Era::Legacy, "JSONRPCMessage", m));
                match server_request_def(method) {
                    Some(def) => errs.extend(schema_errors(Era::Legacy, def, m)),
                    None => errs.push(format!("unknown server-to-client request {method}")),
                }
            } else {
                let token = m["params"].get("progressToken");
                let era = token
                    .and_then(|t| self.progress_tokens.get(&id_key(t)).copied())
                    .unwrap_or(if self.legacy_open {
                        Era::Legacy
                    } else {
                        Era::Modern
                    });
                let era = if method == "notifications/subscriptions/acknowledged" {
                    Era::Modern
                } else {
                    era
                };
                errs.extend(schema_errors(era, "JSONRPCMessage", m));
                if let Some(def) = notification_def(method) {
                    errs.extend(schema_errors(era, def, m));
                }
            }
        } else {
            errs.extend(schema_errors(Era::Legacy, "JSONRPCMessage", m));
            errs.push("neither a request, a notification nor a response".into());
        }
        errs
    }
}

// ------------------------------------------------------------------ pipe --

/// The writing end of an in-memory pipe.
pub struct ChanWriter(mpsc::Sender<Vec<u8>>);

/// The reading end of an in-memory pipe: end of input once every writer is gone.
pub struct ChanReader {
    rx: mpsc::Receiver<Vec<u8>>,
    buf: Vec<u8>,
    pos: usize,
}

/// A blocking in-memory byte pipe (writer, reader).
pub fn chan_pipe() -> (ChanWriter, ChanReader) {
    let (tx, rx) = mpsc::channel();
    (
        ChanWriter(tx),
        ChanReader {
            rx,
            buf: Vec::new(),
            pos: 0,
        },
    )
}

impl Write for ChanWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0
            .send(b.to_vec())
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))?;
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Read for ChanReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.pos >= self.buf.len() {
            match self.rx.recv() {
                Ok(b) => {
                    self.buf = b;
                    self.pos = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

// ------------------------------------------------------------------ peer --

enum WriterCmd {
    Bytes(Vec<u8>),
    Close,
}

enum ReaderEvent {
    Line(Vec<u8>),
    Eof,
}

struct Sent {
    era: Era,
    method: String,
}

/// What is on the other end.
enum Target {
    Child(Child),
    InProcess {
        thread: Option<std::thread::JoinHandle<()>>,
        stop: tokio_util::sync::CancellationToken,
    },
}

/// A client connected to a server over stdio.
pub struct Peer {
    name: String,
    target: Target,
    writer: Option<mpsc::Sender<WriterCmd>>,
    lines: mpsc::Receiver<ReaderEvent>,
    stash: VecDeque<Value>,
    checker: Checker,
    eof: bool,
    next_id: i64,
    stderr: Arc<Mutex<Vec<u8>>>,
    /// Every message read so far (validated), in arrival order.
    pub seen: Vec<Value>,
}

/// Path of the `everything` example next to the test's `lmcp` binary.
pub fn everything_path() -> PathBuf {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_lmcp"));
    let dir = bin.parent().expect("the binary has a folder");
    let name = format!("everything{}", std::env::consts::EXE_SUFFIX);
    let p = dir.join("examples").join(name);
    assert!(
        p.exists(),
        "the example server {} is missing: build it first with `cargo build --examples` \
         (same profile as the tests)",
        p.display()
    );
    p
}

/// Path of the `lmcp` binary under test.
pub fn lmcp_path() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_lmcp"))
}

fn spawn_writer<W: Write + Send + 'static>(mut w: W) -> mpsc::Sender<WriterCmd> {
    let (tx, rx) = mpsc::channel::<WriterCmd>();
    std::thread::spawn(move || {
        while let Ok(cmd) = rx.recv() {
            match cmd {
                WriterCmd::Bytes(b) => {
                    if w.write_all(&b).and_then(|_| w.flush()).is_err() {
                        break;
                    }
                }
                WriterCmd::Close => break,
            }
        }
        drop(w);
    });
    tx
}

fn spawn_reader<R: Read + Send + 'static>(r: R) -> mpsc::Receiver<ReaderEvent> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut r = BufReader::with_capacity(1 << 20, r);
        loop {
            let mut line = Vec::new();
            match r.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => {
                    let _ = tx.send(ReaderEvent::Eof);
                    break;
                }
                Ok(_) => {
                    if line.last() == Some(&b'\n') {
                        line.pop();
                    }
                    if tx.send(ReaderEvent::Line(line)).is_err() {
                        break;
                    }
                }
            }
        }
    });
    rx
}

impl Peer {
    /// Spawn the `lmcp` binary with `--stdio` and extra arguments.
    pub fn lmcp_with(args: &[&str]) -> Peer {
        let mut all = vec!["--stdio"];
        all.extend_from_slice(args);
        Self::spawn(lmcp_path(), &all)
    }

    /// Spawn the `lmcp` binary with `--stdio`.
    pub fn lmcp() -> Peer {
        Self::lmcp_with(&[])
    }

    /// Spawn the `everything` example with `--stdio`.
    pub fn everything() -> Peer {
        Self::spawn(everything_path(), &["--stdio"])
    }

    /// Spawn `program` with piped stdio.
    pub fn spawn(program: PathBuf, args: &[&str]) -> Peer {
        let mut child = Command::new(&program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawning {}: {e}", program.display()));
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = buf.clone();
        std::thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            while let Ok(n) = stderr.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                let mut b = sink.lock().unwrap_or_else(|e| e.into_inner());
                if b.len() < 1 << 20 {
                    b.extend_from_slice(&chunk[..n]);
                }
            }
        });
        let name = program
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Self::new(
            name,
            Target::Child(child),
            spawn_writer(stdin),
            spawn_reader(stdout),
            buf,
        )
    }

    /// Run the library's stdio transport for `server` on a thread, over OS pipes.
    pub fn in_process(server: Arc<lmcp::Server>) -> Peer {
        let (in_w, in_r) = chan_pipe();
        let (out_w, out_r) = chan_pipe();
        let stop = tokio_util::sync::CancellationToken::new();
        let stop2 = stop.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let session = server.session();
                lmcp::transport::stdio::serve(
                    session,
                    in_r,
                    out_w,
                    lmcp::transport::stdio::StdioOptions::default(),
                    stop2,
                )
                .await;
            });
        });
        Self::new(
            "in-process".into(),
            Target::InProcess {
                thread: Some(thread),
                stop,
            },
            spawn_writer(in_w),
            spawn_reader(out_r),
            Arc::new(Mutex::new(Vec::new())),
        )
    }

    fn new(
        name: String,
        target: Target,
        writer: mpsc::Sender<WriterCmd>,
        lines: mpsc::Receiver<ReaderEvent>,
        stderr: Arc<Mutex<Vec<u8>>>,
    ) -> Peer {
        Peer {
            name,
            target,
            writer: Some(writer),
            lines,
            stash: VecDeque::new(),
            checker: Checker::default(),
            eof: false,
            next_id: 1,
            stderr,
            seen: Vec::new(),
        }
    }

    /// What the server wrote on stderr so far.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }

    fn fail(&self, what: &str) -> ! {
        let err = self.stderr();
        let tail: String = err
            .chars()
            .rev()
            .take(4000)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        panic!(
            "[{}] {what}\n--- server stderr (tail) ---\n{tail}",
            self.name
        )
    }

    // ------------------------------------------------------------ sending --

    /// A fresh request id.
    pub fn fresh_id(&mut self) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Send raw bytes as they are (no newline added).
    pub fn send_bytes(&mut self, bytes: Vec<u8>) {
        let Some(w) = &self.writer else {
            self.fail("stdin is already closed")
        };
        if w.send(WriterCmd::Bytes(bytes)).is_err() {
            self.fail("the writer thread ended (server closed its stdin?)");
        }
    }

    /// Send one line (a newline is appended). JSON lines are registered so
    /// their responses are validated against the right era.
    pub fn send_line(&mut self, line: &str) {
        if let Ok(v) = serde_json::from_str::<Value>(line) {
            self.register(&v);
        }
        let mut b = line.as_bytes().to_vec();
        b.push(b'\n');
        self.send_bytes(b);
    }

    /// Send one message.
    pub fn send(&mut self, msg: &Value) {
        self.register(msg);
        let mut b = serde_json::to_vec(msg).expect("serialisable");
        b.push(b'\n');
        self.send_bytes(b);
    }

    fn register(&mut self, msg: &Value) {
        self.checker.register(msg);
    }

    /// Send a request with a fresh id; returns the id.
    pub fn request(&mut self, method: &str, params: Value) -> i64 {
        let id = self.fresh_id();
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        id
    }

    /// Send a notification.
    pub fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Send a request and wait for its response.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.request(method, params);
        self.response(id)
    }

    /// Send a modern request (a `_meta` without client capabilities is
    /// merged into `params`) and wait for its response.
    pub fn modern(&mut self, method: &str, params: Value) -> Value {
        self.call(method, modern_params(params))
    }

    /// Send a modern request without waiting; returns its id.
    pub fn modern_request(&mut self, method: &str, params: Value) -> i64 {
        self.request(method, modern_params(params))
    }

    /// Legacy handshake with `version`: `initialize` then
    /// `notifications/initialized`. Returns the `initialize` response.
    pub fn initialize(&mut self, version: &str, capabilities: Value) -> Value {
        let resp = self.call(
            "initialize",
            json!({
                "protocolVersion": version,
                "capabilities": capabilities,
                "clientInfo": {"name": "lmcp-tests", "version": "0"},
            }),
        );
        self.notify("notifications/initialized", json!({}));
        resp
    }

    /// Close the server's stdin (EOF).
    pub fn close_stdin(&mut self) {
        if let Some(w) = self.writer.take() {
            let _ = w.send(WriterCmd::Close);
        }
    }

    // ------------------------------------------------------------ reading --

    /// Read and validate the next line from the wire, waiting until `deadline`.
    /// `None` on timeout or end of output.
    fn read_wire(&mut self, deadline: Instant) -> Option<Value> {
        if self.eof {
            return None;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match self.lines.recv_timeout(left) {
            Ok(ReaderEvent::Line(bytes)) => {
                let v = self.validate_line(&bytes);
                self.seen.push(v.clone());
                Some(v)
            }
            Ok(ReaderEvent::Eof) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                self.eof = true;
                None
            }
            Err(mpsc::RecvTimeoutError::Timeout) => None,
        }
    }

    /// The next message (stashed first), or `None` after `timeout`.
    pub fn next_within(&mut self, timeout: Duration) -> Option<Value> {
        if let Some(v) = self.stash.pop_front() {
            return Some(v);
        }
        self.read_wire(Instant::now() + timeout)
    }

    /// The first message satisfying `pred` within `timeout`; messages that do
    /// not match are kept for later reads.
    pub fn wait_for(&mut self, timeout: Duration, pred: impl Fn(&Value) -> bool) -> Option<Value> {
        if let Some(i) = self.stash.iter().position(&pred) {
            return self.stash.remove(i);
        }
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            match self.read_wire(deadline) {
                Some(v) if pred(&v) => return Some(v),
                Some(v) => self.stash.push_back(v),
                None if self.eof => return None,
                None => {}
            }
        }
        None
    }

    /// The response to request `id` (panics after [`READ_TIMEOUT`]).
    pub fn response(&mut self, id: impl Into<Value>) -> Value {
        self.response_within(id, READ_TIMEOUT)
    }

    /// The response to request `id` (panics after `timeout`).
    pub fn response_within(&mut self, id: impl Into<Value>, timeout: Duration) -> Value {
        let id = id.into();
        match self.wait_for(timeout, |m| is_response(m) && m.get("id") == Some(&id)) {
            Some(v) => v,
            None => {
                let eof = self.eof;
                self.fail(&format!(
                    "no response to request {id} within {timeout:?} (server output ended: {eof})"
                ))
            }
        }
    }

    /// The next message of any kind (panics after [`READ_TIMEOUT`]).
    pub fn next(&mut self) -> Value {
        match self.next_within(READ_TIMEOUT) {
            Some(v) => v,
            None => self.fail("no message within the read timeout"),
        }
    }

    /// Read everything arriving during `dur` into the stash.
    pub fn collect_for(&mut self, dur: Duration) {
        let deadline = Instant::now() + dur;
        while Instant::now() < deadline {
            match self.read_wire(deadline) {
                Some(v) => self.stash.push_back(v),
                None if self.eof => break,
                None => {}
            }
        }
    }

    /// Take every stashed message satisfying `pred`.
    pub fn take_stashed(&mut self, pred: impl Fn(&Value) -> bool) -> Vec<Value> {
        let (hit, keep): (Vec<Value>, Vec<Value>) = self.stash.drain(..).partition(|m| pred(m));
        self.stash = keep.into();
        hit
    }

    /// Every message read so far satisfying `pred` (stashed or consumed).
    pub fn seen_where(&self, pred: impl Fn(&Value) -> bool) -> Vec<Value> {
        self.seen.iter().filter(|m| pred(m)).cloned().collect()
    }

    /// Whether the server's output has ended.
    pub fn output_ended(&self) -> bool {
        self.eof
    }

    /// Read until the server's output ends (panics after `timeout`); the
    /// messages read are stashed.
    pub fn read_to_end(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.eof {
            if Instant::now() >= deadline {
                self.fail(&format!("output did not end within {timeout:?}"));
            }
            if let Some(v) = self.read_wire(deadline) {
                self.stash.push_back(v);
            }
        }
    }

    // ------------------------------------------------------------ process --

    /// The OS process id (spawned servers only).
    pub fn pid(&self) -> u32 {
        match &self.target {
            Target::Child(c) => c.id(),
            Target::InProcess { .. } => panic!("an in-process server has no pid"),
        }
    }

    /// Wait for the server process to exit (panics after `timeout`).
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            let status = match &mut self.target {
                Target::Child(c) => c.try_wait().expect("try_wait"),
                Target::InProcess { .. } => panic!("wait_exit is for spawned servers"),
            };
            if let Some(s) = status {
                return s;
            }
            if Instant::now() >= deadline {
                self.fail(&format!("the server did not exit within {timeout:?}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether the server process is still running.
    pub fn is_running(&mut self) -> bool {
        match &mut self.target {
            Target::Child(c) => c.try_wait().expect("try_wait").is_none(),
            Target::InProcess { thread, .. } => thread.as_ref().is_some_and(|t| !t.is_finished()),
        }
    }

    /// Send a signal by name (`TERM`, `INT`) with the system's `kill`.
    pub fn signal(&self, sig: &str) {
        let st = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.pid().to_string())
            .status()
            .expect("running kill");
        assert!(st.success(), "kill -{sig} failed");
    }

    fn validate_line(&mut self, bytes: &[u8]) -> Value {
        match self.checker.check_line(bytes) {
            Ok(v) => v,
            Err(e) => self.fail(&e),
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        // Validate whatever the server already wrote and nobody read.
        if !std::thread::panicking() {
            while let Ok(ReaderEvent::Line(b)) = self.lines.try_recv() {
                let v = self.validate_line(&b);
                self.seen.push(v);
            }
        }
        self.close_stdin();
        match &mut self.target {
            Target::Child(c) => {
                let _ = c.kill();
                let _ = c.wait();
            }
            Target::InProcess { thread, stop } => {
                stop.cancel();
                if let Some(t) = thread.take() {
                    let deadline = Instant::now() + Duration::from_secs(5);
                    while !t.is_finished() && Instant::now() < deadline {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    if t.is_finished() {
                        let _ = t.join();
                    }
                }
            }
        }
    }
}
