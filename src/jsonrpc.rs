//! JSON-RPC 2.0 messages: the wire layer under MCP.
//!
//! A [`Message`] is a request, a notification or a response. Parsing goes
//! through [`Message::parse`], which enforces the size and nesting limits of
//! [`Limits`] and classifies every failure into the JSON-RPC error that must be
//! sent back (`-32700` for bytes that are not JSON, `-32600` for JSON that is
//! not a valid message), so a transport never has to guess.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

/// The id of a request: a string or an integer, never null.
///
/// Integers are held as `i128` so every JSON integer a peer may send — the
/// whole `i64` range and `u64` ids above `i64::MAX` alike — round-trips
/// unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(untagged)]
pub enum RequestId {
    /// An integer id.
    Number(i128),
    /// A string id.
    String(String),
}

/// Written by hand: serde's untagged enums cannot read an `i128`.
impl<'de> Deserialize<'de> for RequestId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct IdVisitor;
        impl serde::de::Visitor<'_> for IdVisitor {
            type Value = RequestId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a request id: an integer or a string")
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<RequestId, E> {
                Ok(RequestId::Number(n.into()))
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<RequestId, E> {
                Ok(RequestId::Number(n.into()))
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<RequestId, E> {
                Ok(RequestId::String(s.to_owned()))
            }
            fn visit_string<E: serde::de::Error>(self, s: String) -> Result<RequestId, E> {
                Ok(RequestId::String(s))
            }
        }
        d.deserialize_any(IdVisitor)
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestId::Number(n) => write!(f, "{n}"),
            RequestId::String(s) => write!(f, "{s:?}"),
        }
    }
}

impl From<i64> for RequestId {
    fn from(n: i64) -> Self {
        RequestId::Number(n.into())
    }
}

impl From<&str> for RequestId {
    fn from(s: &str) -> Self {
        RequestId::String(s.to_owned())
    }
}

/// Standard JSON-RPC and MCP error codes.
pub mod code {
    /// Invalid JSON was received.
    pub const PARSE_ERROR: i64 = -32700;
    /// The JSON sent is not a valid request object.
    pub const INVALID_REQUEST: i64 = -32600;
    /// The method does not exist or is not available.
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// Invalid method parameters.
    pub const INVALID_PARAMS: i64 = -32602;
    /// Internal error while handling the request.
    pub const INTERNAL_ERROR: i64 = -32603;
    /// Legacy (2025-11-25 and older) resource-not-found code.
    pub const RESOURCE_NOT_FOUND_LEGACY: i64 = -32002;
    /// HTTP headers disagree with the body (2026-07-28).
    pub const HEADER_MISMATCH: i64 = -32020;
    /// The request needs a client capability that was not declared (2026-07-28).
    pub const MISSING_CLIENT_CAPABILITY: i64 = -32021;
    /// The requested protocol version is not supported (2026-07-28).
    pub const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;
}

/// The error object of an error response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorObject {
    /// The numeric code (see [`code`]).
    pub code: i64,
    /// A short description a person can act on.
    pub message: String,
    /// Optional structured details.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl ErrorObject {
    /// An error with a code and message and no data.
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        ErrorObject {
            code,
            message: message.into(),
            data: None,
        }
    }
    /// Attach `data`.
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }
    /// `-32602 Invalid params`.
    pub fn invalid_params(message: impl Into<String>) -> Self {
        Self::new(code::INVALID_PARAMS, message)
    }
    /// `-32603 Internal error`.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(code::INTERNAL_ERROR, message)
    }
    /// `-32601 Method not found`.
    pub fn method_not_found(method: &str) -> Self {
        Self::new(
            code::METHOD_NOT_FOUND,
            format!("Method not found: {method}"),
        )
    }
    /// `-32600 Invalid request`.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(code::INVALID_REQUEST, message)
    }
}

impl fmt::Display for ErrorObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for ErrorObject {}

/// A request: it expects exactly one response with the same id.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The id to answer with.
    pub id: RequestId,
    /// The method name.
    pub method: String,
    /// The params object (absent params are an empty object).
    pub params: Map<String, Value>,
}

/// A notification: no response is ever sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// The method name.
    pub method: String,
    /// The params object (absent params are an empty object).
    pub params: Map<String, Value>,
}

/// A response: a result or an error for a request id.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// The id of the request answered; `None` only for errors where the id
    /// could not be read.
    pub id: Option<RequestId>,
    /// The outcome.
    pub outcome: Result<Value, ErrorObject>,
}

impl Response {
    /// A successful response.
    pub fn ok(id: RequestId, result: Value) -> Self {
        Response {
            id: Some(id),
            outcome: Ok(result),
        }
    }
    /// An error response.
    pub fn err(id: Option<RequestId>, error: ErrorObject) -> Self {
        Response {
            id,
            outcome: Err(error),
        }
    }
}

/// Any JSON-RPC message.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A request.
    Request(Request),
    /// A notification.
    Notification(Notification),
    /// A response.
    Response(Response),
}

/// Limits applied while parsing a message.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest accepted message in bytes.
    pub max_message_bytes: usize,
    /// Deepest accepted nesting of arrays and objects.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 16 * 1024 * 1024,
            max_depth: 64,
        }
    }
}

/// A message that could not be accepted, with the response to send for it.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseFailure {
    /// The id, when it could be read.
    pub id: Option<RequestId>,
    /// The error to answer with.
    pub error: ErrorObject,
}

impl ParseFailure {
    fn new(id: Option<RequestId>, error: ErrorObject) -> Self {
        ParseFailure { id, error }
    }
    /// The error response to send.
    pub fn into_response(self) -> Response {
        Response::err(self.id, self.error)
    }
}

/// Depth of the deepest array/object nesting in raw JSON bytes, stopping
/// early once `limit` is exceeded. Strings are skipped so brackets inside
/// them do not count.
pub fn nesting_exceeds(bytes: &[u8], limit: usize) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

impl Message {
    /// Parse one message from raw bytes, enforcing `limits`.
    pub fn parse(bytes: &[u8], limits: &Limits) -> Result<Message, ParseFailure> {
        if bytes.len() > limits.max_message_bytes {
            return Err(ParseFailure::new(
                None,
                ErrorObject::invalid_request(format!(
                    "Message of {} bytes exceeds the limit of {} bytes",
                    bytes.len(),
                    limits.max_message_bytes
                )),
            ));
        }
        if nesting_exceeds(bytes, limits.max_depth) {
            return Err(ParseFailure::new(
                None,
                ErrorObject::invalid_request(format!(
                    "Message nests deeper than the limit of {} levels",
                    limits.max_depth
                )),
            ));
        }
        let value: Value = serde_json::from_slice(bytes).map_err(|e| {
            ParseFailure::new(
                None,
                ErrorObject::new(code::PARSE_ERROR, format!("Parse error: {e}")),
            )
        })?;
        Message::from_value(value)
    }

    /// Classify an already-parsed JSON value.
    pub fn from_value(value: Value) -> Result<Message, ParseFailure> {
        let Value::Object(mut obj) = value else {
            let what = if value.is_array() {
                "a batch (array) where one message was expected"
            } else {
                "not a JSON object"
            };
            return Err(ParseFailure::new(
                None,
                ErrorObject::invalid_request(format!("Invalid request: {what}")),
            ));
        };
        // Read the id first so every later error can carry it.
        let id = match obj.remove("id") {
            None => None,
            Some(Value::Null) => {
                return Err(ParseFailure::new(
                    None,
                    ErrorObject::invalid_request("Invalid request: id must not be null"),
                ))
            }
            Some(Value::Number(n)) => {
                match n.as_i64().map(i128::from).or(n.as_u64().map(i128::from)) {
                    Some(i) => Some(RequestId::Number(i)),
                    None => {
                        return Err(ParseFailure::new(
                            None,
                            ErrorObject::invalid_request(
                                "Invalid request: id must be an integer or a string",
                            ),
                        ))
                    }
                }
            }
            Some(Value::String(s)) => Some(RequestId::String(s)),
            Some(_) => {
                return Err(ParseFailure::new(
                    None,
                    ErrorObject::invalid_request(
                        "Invalid request: id must be an integer or a string",
                    ),
                ))
            }
        };
        let fail = |msg: &str| {
            Err(ParseFailure::new(
                id.clone(),
                ErrorObject::invalid_request(msg),
            ))
        };
        if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
            return fail("Invalid request: \"jsonrpc\" must be \"2.0\"");
        }
        if let Some(method) = obj.remove("method") {
            let Value::String(method) = method else {
                return fail("Invalid request: \"method\" must be a string");
            };
            let params = match obj.remove("params") {
                None => Map::new(),
                Some(Value::Object(m)) => m,
                Some(_) => {
                    return Err(ParseFailure::new(
                        id,
                        ErrorObject::invalid_params("Invalid params: \"params\" must be an object"),
                    ))
                }
            };
            return Ok(match id {
                Some(id) => Message::Request(Request { id, method, params }),
                None => Message::Notification(Notification { method, params }),
            });
        }
        let result = obj.remove("result");
        let error = obj.remove("error");
        match (result, error) {
            (Some(r), None) => match id {
                Some(id) => Ok(Message::Response(Response::ok(id, r))),
                None => fail("Invalid response: a result needs an id"),
            },
            (None, Some(e)) => match serde_json::from_value::<ErrorObject>(e) {
                Ok(e) => Ok(Message::Response(Response::err(id, e))),
                Err(_) => fail("Invalid response: malformed error object"),
            },
            _ => fail("Invalid request: neither a request, a notification nor a response"),
        }
    }

    /// Serialise to one line of JSON (no trailing newline).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The JSON value of the message.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// Serialises straight from the borrowed message: no intermediate `Value`
/// tree, so a large result is never copied on its way out.
impl Serialize for Message {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("jsonrpc", "2.0")?;
        match self {
            Message::Request(r) => {
                map.serialize_entry("id", &r.id)?;
                map.serialize_entry("method", &r.method)?;
                map.serialize_entry("params", &r.params)?;
            }
            Message::Notification(n) => {
                map.serialize_entry("method", &n.method)?;
                if !n.params.is_empty() {
                    map.serialize_entry("params", &n.params)?;
                }
            }
            Message::Response(r) => return serialize_response_fields(r, map),
        }
        map.end()
    }
}

fn serialize_response_fields<M: serde::ser::SerializeMap>(
    r: &Response,
    mut map: M,
) -> Result<M::Ok, M::Error> {
    if let Some(id) = &r.id {
        map.serialize_entry("id", id)?;
    }
    match &r.outcome {
        Ok(v) => map.serialize_entry("result", v)?,
        Err(e) => map.serialize_entry("error", e)?,
    }
    map.end()
}

/// A response serialises like `Message::Response` would, without a copy.
impl Serialize for Response {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("jsonrpc", "2.0")?;
        serialize_response_fields(self, map)
    }
}

impl Response {
    /// Serialise to one line of JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests;
