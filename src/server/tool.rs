//! Tool definitions: what a tool is, how it is registered, what it returns.
//!
//! Two ways to write a tool:
//! - [`Tool::new`] with a JSON input schema and a handler taking the raw
//!   argument object;
//! - [`Tool::typed`] with a Rust argument type: its JSON Schema is derived with
//!   `schemars` and the arguments are deserialised before the handler runs.
//!
//! Arguments are always validated against the input schema first; an invalid
//! call becomes a tool error result the model can read and correct.

use super::context::RequestContext;
use super::error::{BoxFuture, ToolError};
use super::schema::Schema;
use crate::protocol::{Content, ToolAnnotations};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// An argument sent also as an `Mcp-Param-*` header: its header name and
/// its path in the arguments.
pub(crate) type HeaderParam = (String, Vec<String>);

/// The type-erased handler of a tool.
pub type ToolHandler = Arc<
    dyn Fn(Map<String, Value>, RequestContext) -> BoxFuture<Result<ToolResult, ToolError>>
        + Send
        + Sync,
>;

/// What a tool call produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ToolResult {
    /// Unstructured content blocks.
    pub content: Vec<Content>,
    /// Structured result (2025-06-18 and later; older clients get the text only).
    pub structured: Option<Value>,
    /// Whether the call failed (the content then explains why).
    pub is_error: bool,
}

impl ToolResult {
    /// A successful result with one text block.
    pub fn text(text: impl Into<String>) -> Self {
        ToolResult {
            content: vec![Content::text(text)],
            ..Default::default()
        }
    }

    /// A failed result with one text block explaining why.
    pub fn error(text: impl Into<String>) -> Self {
        ToolResult {
            content: vec![Content::text(text)],
            structured: None,
            is_error: true,
        }
    }

    /// A successful result from content blocks.
    pub fn content(content: Vec<Content>) -> Self {
        ToolResult {
            content,
            ..Default::default()
        }
    }

    /// A structured result; its JSON text is also given as a text block for
    /// clients that do not read structured content.
    pub fn structured(value: Value) -> Self {
        let text = serde_json::to_string_pretty(&value).unwrap_or_default();
        ToolResult {
            content: vec![Content::text(text)],
            structured: Some(value),
            is_error: false,
        }
    }

    /// Replace the structured value, keeping the content.
    pub fn with_structured(mut self, value: Value) -> Self {
        self.structured = Some(value);
        self
    }

    /// Append a content block.
    pub fn push(mut self, block: Content) -> Self {
        self.content.push(block);
        self
    }

    /// Mark as failed (or not).
    pub fn with_error(mut self, is_error: bool) -> Self {
        self.is_error = is_error;
        self
    }
}

/// A tool: its description for clients and its handler.
#[derive(Clone)]
pub struct Tool {
    /// Unique name (1–128 of `A-Za-z0-9_-.`).
    pub name: String,
    /// Display name.
    pub title: Option<String>,
    /// What the tool does, for the model.
    pub description: String,
    /// JSON Schema of the arguments (`type: object` at the root).
    pub input_schema: Schema,
    /// JSON Schema of `structuredContent`, when the tool returns structured results.
    pub output_schema: Option<Schema>,
    /// Behaviour hints.
    pub annotations: ToolAnnotations,
    /// Icons (2025-11-25 and later), as `Icon` objects.
    pub icons: Vec<Value>,
    /// Metadata (`_meta`, e.g. an MCP Apps `ui` entry), listed as given.
    pub meta: Option<Map<String, Value>>,
    /// Per-tool timeout; `None` uses the server default.
    pub timeout: Option<Duration>,
    /// The handler.
    pub handler: ToolHandler,
    /// Whether arguments are checked against the input schema before the
    /// handler runs (off for tools that forward to another validator).
    pub validate_arguments: bool,
    /// Whether a call may run as a task (Tasks extension).
    pub task_support: TaskSupport,
    /// Whether a task-augmented call first runs inline, gathering input
    /// through MRTR, and becomes a task only when the handler calls
    /// [`RequestContext::continue_as_task`](super::context::RequestContext::continue_as_task).
    pub input_before_task: bool,
    /// Longest run of a call made as a task; `None` uses `timeout` (or the
    /// server default). No run goes on past its task's time to live.
    pub task_timeout: Option<Duration>,
    validator: Arc<OnceLock<Result<jsonschema::Validator, String>>>,
    output_validator: Arc<OnceLock<Result<jsonschema::Validator, String>>>,
    header_params: Arc<OnceLock<Vec<HeaderParam>>>,
}

/// Whether calls of a tool run as tasks (the Tasks extension): the
/// `execution.taskSupport` of the tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TaskSupport {
    /// Always answered synchronously (the default).
    #[default]
    Forbidden,
    /// Run as a task when the client declares the extension, synchronously
    /// otherwise.
    Optional,
    /// Only as a task: a client that does not declare the extension gets
    /// `-32021` (missing required client capability).
    Required,
}

impl std::fmt::Debug for Tool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tool")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Turn a derived schema into the plain JSON Schema object MCP expects.
pub fn schema_for<T: JsonSchema>() -> Value {
    let mut v = serde_json::to_value(schemars::schema_for!(T))
        .unwrap_or_else(|_| Value::Object(Map::new()));
    if let Value::Object(m) = &mut v {
        m.remove("$schema");
        m.remove("title");
        m.entry("type").or_insert_with(|| Value::from("object"));
        if !m.contains_key("properties") && m.get("type") == Some(&Value::from("object")) {
            m.insert("properties".into(), Value::Object(Map::new()));
        }
    }
    v
}

impl Tool {
    /// A tool whose handler takes the raw argument object. The input schema
    /// defaults to an object with no declared properties; set it with
    /// [`Tool::input_schema`].
    pub fn new<F, Fut>(name: impl Into<String>, description: impl Into<String>, handler: F) -> Self
    where
        F: Fn(Map<String, Value>, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<ToolResult, ToolError>> + Send + 'static,
    {
        Tool {
            name: name.into(),
            title: None,
            description: description.into(),
            input_schema: Schema::from_static(r#"{"type":"object","properties":{}}"#),
            output_schema: None,
            annotations: ToolAnnotations::default(),
            icons: Vec::new(),
            meta: None,
            timeout: None,
            handler: Arc::new(move |args, ctx| Box::pin(handler(args, ctx))),
            validate_arguments: true,
            task_support: TaskSupport::Forbidden,
            input_before_task: false,
            task_timeout: None,
            validator: Arc::new(OnceLock::new()),
            output_validator: Arc::new(OnceLock::new()),
            header_params: Arc::new(OnceLock::new()),
        }
    }

    /// A tool whose arguments deserialise into `A`; the input schema is
    /// derived from `A`.
    ///
    /// ```
    /// use lmcp::{Tool, ToolResult};
    /// use serde::Deserialize;
    /// use schemars::JsonSchema;
    ///
    /// #[derive(Deserialize, JsonSchema)]
    /// struct Greet { /// Who to greet.
    ///     name: String }
    ///
    /// let tool = Tool::typed("greet", "Say hello", |a: Greet, _ctx| async move {
    ///     Ok(ToolResult::text(format!("Hello, {}!", a.name)))
    /// });
    /// assert_eq!(tool.input_schema.to_value()["required"][0], "name");
    /// ```
    pub fn typed<A, F, Fut>(
        name: impl Into<String>,
        description: impl Into<String>,
        handler: F,
    ) -> Self
    where
        A: DeserializeOwned + JsonSchema + Send + 'static,
        F: Fn(A, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<ToolResult, ToolError>> + Send + 'static,
    {
        Tool::typed_with_schema(name, description, schema_for::<A>(), handler)
    }

    /// Like [`Tool::typed`], with the input schema given rather than derived
    /// (e.g. stored as text, so start-up derives nothing: lmcp's built-in
    /// tools keep theirs in `src/tools/schemas/`).
    pub fn typed_with_schema<A, F, Fut>(
        name: impl Into<String>,
        description: impl Into<String>,
        schema: impl Into<Schema>,
        handler: F,
    ) -> Self
    where
        A: DeserializeOwned + Send + 'static,
        F: Fn(A, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<ToolResult, ToolError>> + Send + 'static,
    {
        let handler = Arc::new(handler);
        let tool = Tool::new(name, description, move |args: Map<String, Value>, ctx| {
            let handler = handler.clone();
            async move {
                let parsed: A = serde_json::from_value(Value::Object(args))
                    .map_err(|e| ToolError::Tool(format!("Invalid arguments: {e}")))?;
                handler(parsed, ctx).await
            }
        });
        tool.input_schema(schema)
    }

    /// Set the display title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }
    /// Set the input schema (a `serde_json::Value` or a [`Schema`]).
    pub fn input_schema(mut self, schema: impl Into<Schema>) -> Self {
        self.input_schema = schema.into();
        self.validator = Arc::new(OnceLock::new());
        self.header_params = Arc::new(OnceLock::new());
        self
    }
    /// Set the output schema (a `serde_json::Value` or a [`Schema`]).
    pub fn output_schema(mut self, schema: impl Into<Schema>) -> Self {
        self.output_schema = Some(schema.into());
        self.output_validator = Arc::new(OnceLock::new());
        self
    }
    /// Derive the output schema from a type.
    pub fn output<T: JsonSchema>(self) -> Self {
        self.output_schema(schema_for::<T>())
    }
    /// Set all annotations.
    pub fn annotations(mut self, annotations: ToolAnnotations) -> Self {
        self.annotations = annotations;
        self
    }
    /// Hint: the tool does not modify its environment.
    pub fn read_only(mut self) -> Self {
        self.annotations.read_only_hint = Some(true);
        self.annotations.destructive_hint = Some(false);
        self
    }
    /// Hint: the tool may destroy data.
    pub fn destructive(mut self) -> Self {
        self.annotations.read_only_hint = Some(false);
        self.annotations.destructive_hint = Some(true);
        self
    }
    /// Hint: repeated calls with the same arguments have no further effect.
    pub fn idempotent(mut self) -> Self {
        self.annotations.idempotent_hint = Some(true);
        self
    }
    /// Hint: the tool reaches an open world (network, processes).
    pub fn open_world(mut self, open: bool) -> Self {
        self.annotations.open_world_hint = Some(open);
        self
    }
    /// Whether a call of this tool may run as a task (Tasks extension,
    /// `io.modelcontextprotocol/tasks`) for a client that declares it.
    pub fn task_support(mut self, support: TaskSupport) -> Self {
        self.task_support = support;
        self
    }
    /// For a client that declares the Tasks extension, run a call inline
    /// first: while the handler asks for input the call answers
    /// `input_required` (MRTR) and no task exists; the task is created when
    /// the handler calls
    /// [`RequestContext::continue_as_task`](super::context::RequestContext::continue_as_task)
    /// (a handler that returns before that answers synchronously). Only
    /// matters with [`TaskSupport::Optional`] or [`TaskSupport::Required`].
    pub fn input_before_task(mut self) -> Self {
        self.input_before_task = true;
        self
    }
    /// Set how long a call made as a task may run, when that differs from
    /// [`Tool::timeout`]: e.g. `Duration::MAX` for a tool that follows work
    /// running elsewhere, bounded then by the task's time to live.
    pub fn task_timeout(mut self, timeout: Duration) -> Self {
        self.task_timeout = Some(timeout);
        self
    }
    /// Set the per-tool timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
    /// Do not check arguments against the input schema (e.g. a proxy whose
    /// upstream validates them itself).
    pub fn skip_validation(mut self) -> Self {
        self.validate_arguments = false;
        self
    }
    /// Add an icon (an `Icon` object: `src`, optional `mimeType`, `sizes`, `theme`).
    pub fn icon(mut self, icon: Value) -> Self {
        self.icons.push(icon);
        self
    }
    /// Set the listing's `_meta` (e.g. `{"ui": {"resourceUri": "ui://..."}}`
    /// for a tool with an MCP Apps view).
    pub fn meta(mut self, meta: Map<String, Value>) -> Self {
        self.meta = Some(meta);
        self
    }

    /// The arguments whose values HTTP clients also send as `Mcp-Param-*`
    /// headers (`x-mcp-header` in the input schema): header name and path.
    pub(crate) fn header_params(&self) -> &[HeaderParam] {
        self.header_params.get_or_init(|| {
            crate::transport::http::headers::annotated_params(&self.input_schema.to_value())
        })
    }

    /// Check `args` against the input schema; `Err` lists every violation in
    /// words the model can act on.
    pub fn validate(&self, args: &Map<String, Value>) -> Result<(), String> {
        if !self.validate_arguments {
            return Ok(());
        }
        let validator = self.validator.get_or_init(|| {
            jsonschema::validator_for(&self.input_schema.to_value())
                .map_err(|e| format!("the tool's input schema is invalid: {e}"))
        });
        violations(validator, &Value::Object(args.clone()))
            .map_err(|e| format!("Invalid arguments for tool '{}': {e}", self.name))
    }

    /// Check a result's `structuredContent` against the output schema (none
    /// declared: anything goes); `Err` lists the violations.
    pub fn validate_output(&self, structured: &Value) -> Result<(), String> {
        let Some(schema) = &self.output_schema else {
            return Ok(());
        };
        let validator = self.output_validator.get_or_init(|| {
            jsonschema::validator_for(&schema.to_value())
                .map_err(|e| format!("the tool's output schema is invalid: {e}"))
        });
        violations(validator, structured).map_err(|e| {
            format!(
                "Tool '{}' returned structuredContent that does not match its outputSchema \
                 (a bug in the tool): {e}",
                self.name
            )
        })
    }
}

/// Up to ten violations of `instance`, each with its path, or the reason
/// the schema itself could not be compiled.
fn violations(
    validator: &Result<jsonschema::Validator, String>,
    instance: &Value,
) -> Result<(), String> {
    let validator = validator.as_ref().map_err(Clone::clone)?;
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .take(10)
        .map(|e| {
            let path = e.instance_path().to_string();
            if path.is_empty() {
                e.to_string()
            } else {
                format!("{path}: {e}")
            }
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

/// Whether `name` follows the spec's tool-name rules: 1 to 128 characters
/// from `A-Z a-z 0-9 _ - .`.
pub fn valid_tool_name(name: &str) -> bool {
    (1..=128).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jsonrpc::ErrorObject;

    #[test]
    fn tool_error_is_a_std_error_with_its_message() {
        let e: Box<dyn std::error::Error> = Box::new(ToolError::msg("no such file: a.txt"));
        assert_eq!(e.to_string(), "no such file: a.txt");
        let p = ToolError::Protocol(ErrorObject::invalid_params("bad path"));
        assert!(p.to_string().contains("bad path"), "{p}");
    }
}
