//! [`Schema`]: a tool's JSON Schema, kept as compact JSON text.
//!
//! A server keeps every tool's schemas for its whole life, but reads them
//! only to list the tools (written out as they are) and to build a tool's
//! argument validator (once). As `serde_json::Value` trees they cost several
//! times their text (a map node is ~600 bytes however few keys it holds), so
//! they are kept as text: static text for the built-in tools (see
//! [`Tool::typed_with_schema`](super::Tool::typed_with_schema)), shared heap text
//! otherwise.

use serde::{Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::Value;
use std::sync::Arc;

/// A JSON Schema held as compact JSON text (one line, no insignificant
/// whitespace). Serialises as the JSON it holds.
#[derive(Clone)]
pub struct Schema(Repr);

#[derive(Clone)]
enum Repr {
    Static(&'static RawValue),
    Shared(Arc<RawValue>),
}

impl Schema {
    /// The schema of `value`.
    pub fn from_value(value: &Value) -> Schema {
        // Serialising a `Value` cannot fail (its keys are strings).
        let raw = serde_json::value::to_raw_value(value).expect("a Value serialises");
        Schema(Repr::Shared(Arc::from(raw)))
    }

    /// A schema from static compact JSON text (as `include_str!` gives it; a
    /// trailing newline is ignored).
    ///
    /// # Panics
    /// If the text is not one JSON object written compactly: a newline in it
    /// would break the line-delimited stdio transport. Static text is fixed
    /// at build time, and the unit tests register every built-in tool.
    pub fn from_static(json: &'static str) -> Schema {
        let json = json.trim_end();
        let raw: &'static RawValue = serde_json::from_str(json)
            .unwrap_or_else(|e| panic!("a static schema is not valid JSON: {e}"));
        assert!(
            json.starts_with('{') && !json.contains('\n'),
            "a static schema must be one compact JSON object"
        );
        Schema(Repr::Static(raw))
    }

    /// The compact JSON text.
    pub fn as_json(&self) -> &str {
        self.raw().get()
    }

    /// The schema as a `Value` (parsed on each call).
    pub fn to_value(&self) -> Value {
        // The text was produced or checked as JSON on construction.
        serde_json::from_str(self.as_json()).unwrap_or(Value::Null)
    }

    fn raw(&self) -> &RawValue {
        match &self.0 {
            Repr::Static(r) => r,
            Repr::Shared(r) => r,
        }
    }
}

impl From<Value> for Schema {
    fn from(value: Value) -> Schema {
        Schema::from_value(&value)
    }
}

impl From<&Value> for Schema {
    fn from(value: &Value) -> Schema {
        Schema::from_value(value)
    }
}

impl PartialEq for Schema {
    fn eq(&self, other: &Schema) -> bool {
        self.as_json() == other.as_json()
    }
}

impl std::fmt::Debug for Schema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_json())
    }
}

impl Serialize for Schema {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.raw().serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_round_trips_compactly() {
        let v = json!({"type": "object", "properties": {"a": {"type": "string"}}});
        let s = Schema::from_value(&v);
        assert_eq!(
            s.as_json(),
            r#"{"properties":{"a":{"type":"string"}},"type":"object"}"#
        );
        assert_eq!(s.to_value(), v);
        // Serialised raw, inside other JSON.
        let wrapped = serde_json::to_string(&[&s]).unwrap();
        assert_eq!(wrapped, format!("[{}]", s.as_json()));
        // into a Value too.
        assert_eq!(serde_json::to_value(&s).unwrap(), v);
    }

    #[test]
    fn static_text_is_checked() {
        let s = Schema::from_static("{\"type\":\"object\"}\n");
        assert_eq!(s.as_json(), r#"{"type":"object"}"#);
        assert_eq!(s, Schema::from_value(&json!({"type": "object"})));
        assert!(std::panic::catch_unwind(|| Schema::from_static("{\n\"type\": 1}")).is_err());
        assert!(std::panic::catch_unwind(|| Schema::from_static("{nope")).is_err());
        assert!(std::panic::catch_unwind(|| Schema::from_static("[1]")).is_err());
    }
}
