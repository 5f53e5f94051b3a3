//! Resources, resource templates and prompts: the server features besides tools.

use super::context::RequestContext;
use super::error::{BoxFuture, ToolError};
use crate::protocol::{Content, ProtocolVersion, ResourceContents};
use serde_json::{json, Map, Value};
use std::future::Future;
use std::sync::Arc;

/// Reads a resource by URI.
pub type ReadHandler = Arc<
    dyn Fn(String, RequestContext) -> BoxFuture<Result<Vec<ResourceContents>, ToolError>>
        + Send
        + Sync,
>;
/// Renders a prompt from its arguments.
pub type PromptHandler = Arc<
    dyn Fn(Map<String, Value>, RequestContext) -> BoxFuture<Result<PromptResult, ToolError>>
        + Send
        + Sync,
>;
/// Suggests completions: (argument name, partial value) → values.
pub type CompleteHandler = Arc<dyn Fn(&str, &str) -> Vec<String> + Send + Sync>;

/// A fixed resource.
#[derive(Clone)]
pub struct Resource {
    /// Its URI.
    pub uri: String,
    /// Programmatic name.
    pub name: String,
    /// Display name.
    pub title: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// MIME type.
    pub mime_type: Option<String>,
    /// Icons (listed to clients of 2025-11-25 and later).
    pub icons: Vec<Value>,
    /// Annotations (`audience`, `priority`, `lastModified`), as given.
    pub annotations: Option<Value>,
    /// Metadata (`_meta`, e.g. an MCP Apps `ui` entry), listed as given.
    pub meta: Option<Map<String, Value>>,
    /// Reader.
    pub read: ReadHandler,
}

impl Resource {
    /// A resource read by `read`.
    pub fn new<F, Fut>(uri: impl Into<String>, name: impl Into<String>, read: F) -> Self
    where
        F: Fn(String, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<ResourceContents>, ToolError>> + Send + 'static,
    {
        Resource {
            uri: uri.into(),
            name: name.into(),
            title: None,
            description: None,
            mime_type: None,
            icons: Vec::new(),
            annotations: None,
            meta: None,
            read: Arc::new(move |u, c| Box::pin(read(u, c))),
        }
    }
    /// A resource with fixed text contents.
    pub fn text(
        uri: impl Into<String>,
        name: impl Into<String>,
        mime: &str,
        text: impl Into<String>,
    ) -> Self {
        let text = text.into();
        let mime_s = mime.to_owned();
        Resource::new(uri, name, move |uri, _| {
            let contents = ResourceContents::Text {
                uri,
                mime_type: Some(mime_s.clone()),
                text: text.clone(),
                meta: None,
            };
            async move { Ok(vec![contents]) }
        })
        .mime_type(mime)
    }
    /// Set the description.
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = Some(d.into());
        self
    }
    /// Set the MIME type.
    pub fn mime_type(mut self, m: impl Into<String>) -> Self {
        self.mime_type = Some(m.into());
        self
    }
    /// Set the title.
    pub fn title(mut self, t: impl Into<String>) -> Self {
        self.title = Some(t.into());
        self
    }
    /// Add an icon (an `Icon` object: `src`, optional `mimeType`, `sizes`, `theme`).
    pub fn icon(mut self, icon: Value) -> Self {
        self.icons.push(icon);
        self
    }
    /// Set the listing's `_meta` (e.g. `{"ui": {...}}` for an MCP Apps resource).
    pub fn meta(mut self, meta: Map<String, Value>) -> Self {
        self.meta = Some(meta);
        self
    }
    pub(crate) fn to_value(&self, version: ProtocolVersion) -> Value {
        let mut v = json!({"uri": self.uri, "name": self.name});
        put_opt(&mut v, "title", &self.title);
        put_opt(&mut v, "description", &self.description);
        put_opt(&mut v, "mimeType", &self.mime_type);
        put_extras(&mut v, version, &self.icons, &self.annotations);
        put_meta(&mut v, &self.meta);
        v
    }
}

/// A family of resources addressed by an RFC 6570 level-1 URI template
/// (`file:///{path}`).
#[derive(Clone)]
pub struct ResourceTemplate {
    /// The template.
    pub uri_template: String,
    /// Programmatic name.
    pub name: String,
    /// Display name.
    pub title: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// MIME type.
    pub mime_type: Option<String>,
    /// Icons (listed to clients of 2025-11-25 and later).
    pub icons: Vec<Value>,
    /// Annotations (`audience`, `priority`, `lastModified`), as given.
    pub annotations: Option<Value>,
    /// Metadata (`_meta`, e.g. an MCP Apps `ui` entry), listed as given.
    pub meta: Option<Map<String, Value>>,
    /// Reader, given the concrete URI.
    pub read: ReadHandler,
    /// Completion of template variables.
    pub complete: Option<CompleteHandler>,
}

impl ResourceTemplate {
    /// A template read by `read`.
    pub fn new<F, Fut>(uri_template: impl Into<String>, name: impl Into<String>, read: F) -> Self
    where
        F: Fn(String, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<ResourceContents>, ToolError>> + Send + 'static,
    {
        ResourceTemplate {
            uri_template: uri_template.into(),
            name: name.into(),
            title: None,
            description: None,
            mime_type: None,
            icons: Vec::new(),
            annotations: None,
            meta: None,
            read: Arc::new(move |u, c| Box::pin(read(u, c))),
            complete: None,
        }
    }
    /// Set the description.
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = Some(d.into());
        self
    }
    /// Set the completion of template variables.
    pub fn complete(
        mut self,
        f: impl Fn(&str, &str) -> Vec<String> + Send + Sync + 'static,
    ) -> Self {
        self.complete = Some(Arc::new(f));
        self
    }
    /// Whether `uri` matches this template (each `{var}` matches one or more
    /// characters other than `/`, except a final variable, which takes the rest).
    pub fn matches(&self, uri: &str) -> bool {
        template_match(&self.uri_template, uri)
    }
    /// Set the listing's `_meta`.
    pub fn meta(mut self, meta: Map<String, Value>) -> Self {
        self.meta = Some(meta);
        self
    }
    pub(crate) fn to_value(&self, version: ProtocolVersion) -> Value {
        let mut v = json!({"uriTemplate": self.uri_template, "name": self.name});
        put_opt(&mut v, "title", &self.title);
        put_opt(&mut v, "description", &self.description);
        put_opt(&mut v, "mimeType", &self.mime_type);
        put_extras(&mut v, version, &self.icons, &self.annotations);
        put_meta(&mut v, &self.meta);
        v
    }
}

pub(crate) fn template_match(template: &str, uri: &str) -> bool {
    let Some(start) = template.find('{') else {
        return template == uri;
    };
    let (lit, rest) = template.split_at(start);
    let Some(uri_rest) = uri.strip_prefix(lit) else {
        return false;
    };
    let Some(end) = rest.find('}') else {
        return false;
    };
    let after = &rest[end + 1..];
    if after.is_empty() {
        return !uri_rest.is_empty();
    }
    let next_lit_end = after.find('{').unwrap_or(after.len());
    let next_lit = &after[..next_lit_end];
    let mut search = 0;
    while let Some(pos) = uri_rest[search..].find(next_lit) {
        let idx = search + pos;
        let var = &uri_rest[..idx];
        if !var.is_empty() && !var.contains('/') && template_match(after, &uri_rest[idx..]) {
            return true;
        }
        search = idx + 1;
        if search > uri_rest.len() {
            break;
        }
    }
    false
}

/// An argument of a prompt.
#[derive(Clone, Debug)]
pub struct PromptArgument {
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Whether it must be given.
    pub required: bool,
}

/// A message of a rendered prompt.
#[derive(Clone, Debug, PartialEq)]
pub struct PromptMessage {
    /// `user` or `assistant`.
    pub role: String,
    /// The content.
    pub content: Content,
}

/// A rendered prompt.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PromptResult {
    /// Description.
    pub description: Option<String>,
    /// Messages.
    pub messages: Vec<PromptMessage>,
}

/// A prompt template.
#[derive(Clone)]
pub struct Prompt {
    /// Name.
    pub name: String,
    /// Display name.
    pub title: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Arguments.
    pub arguments: Vec<PromptArgument>,
    /// Icons (listed to clients of 2025-11-25 and later).
    pub icons: Vec<Value>,
    /// Metadata (`_meta`, e.g. an MCP Apps `ui` entry), listed as given.
    pub meta: Option<Map<String, Value>>,
    /// Renderer.
    pub get: PromptHandler,
    /// Argument completion.
    pub complete: Option<CompleteHandler>,
}

impl Prompt {
    /// A prompt rendered by `get`.
    pub fn new<F, Fut>(name: impl Into<String>, get: F) -> Self
    where
        F: Fn(Map<String, Value>, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<PromptResult, ToolError>> + Send + 'static,
    {
        Prompt {
            name: name.into(),
            title: None,
            description: None,
            arguments: Vec::new(),
            icons: Vec::new(),
            meta: None,
            get: Arc::new(move |a, c| Box::pin(get(a, c))),
            complete: None,
        }
    }
    /// Set the description.
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = Some(d.into());
        self
    }
    /// Add an argument.
    pub fn argument(mut self, name: &str, description: &str, required: bool) -> Self {
        self.arguments.push(PromptArgument {
            name: name.into(),
            description: Some(description.into()),
            required,
        });
        self
    }
    /// Set argument completion.
    pub fn complete(
        mut self,
        f: impl Fn(&str, &str) -> Vec<String> + Send + Sync + 'static,
    ) -> Self {
        self.complete = Some(Arc::new(f));
        self
    }
    /// Add an icon (an `Icon` object: `src`, optional `mimeType`, `sizes`, `theme`).
    pub fn icon(mut self, icon: Value) -> Self {
        self.icons.push(icon);
        self
    }
    /// Set the listing's `_meta`.
    pub fn meta(mut self, meta: Map<String, Value>) -> Self {
        self.meta = Some(meta);
        self
    }
    pub(crate) fn to_value(&self, version: ProtocolVersion) -> Value {
        let mut v = json!({"name": self.name});
        put_extras(&mut v, version, &self.icons, &None);
        put_meta(&mut v, &self.meta);
        put_opt(&mut v, "title", &self.title);
        put_opt(&mut v, "description", &self.description);
        if !self.arguments.is_empty() {
            let args: Vec<Value> = self
                .arguments
                .iter()
                .map(|a| {
                    let mut o = json!({"name": a.name, "required": a.required});
                    put_opt(&mut o, "description", &a.description);
                    o
                })
                .collect();
            v["arguments"] = Value::Array(args);
        }
        v
    }
}

/// Icons (for revisions that have them) and annotations of a listing.
fn put_extras(v: &mut Value, version: ProtocolVersion, icons: &[Value], ann: &Option<Value>) {
    if version.has_icons() && !icons.is_empty() {
        v["icons"] = Value::Array(icons.to_vec());
    }
    if let Some(a) = ann {
        v["annotations"] = a.clone();
    }
}

/// `_meta` of a listing, when it has one.
fn put_meta(v: &mut Value, meta: &Option<Map<String, Value>>) {
    if let Some(m) = meta {
        v["_meta"] = Value::Object(m.clone());
    }
}

pub(crate) fn put_opt(v: &mut Value, key: &str, val: &Option<String>) {
    if let Some(s) = val {
        v[key] = Value::from(s.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::template_match;

    #[test]
    fn templates() {
        assert!(template_match("file:///{path}", "file:///a/b.txt"));
        assert!(!template_match("file:///{path}", "file:///"));
        assert!(template_match("users://{id}/profile", "users://42/profile"));
        assert!(!template_match(
            "users://{id}/profile",
            "users://4/2/profile"
        ));
        assert!(!template_match("users://{id}/profile", "users://42/other"));
        assert!(template_match("static://x", "static://x"));
    }
}
