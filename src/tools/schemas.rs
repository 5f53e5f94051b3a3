//! The built-in tools' JSON Schemas, stored as compact JSON text in
//! `src/tools/schemas/` and compiled into the binary.
//!
//! Deriving the schemas at start-up (schemars, then `Value` trees) ran
//! ~100 KiB of code and kept ~130 KiB of heap in every idle server. The Rust
//! definitions (the argument types and their doc comments, or a `json!`
//! value) stay the source of truth: debug builds and the unit tests (in
//! release too: `every_stored_schema_is_current`) derive each schema again
//! when its tool is registered and panic if the stored text differs. `LMCP_UPDATE_SCHEMAS=1 cargo test --all-features`
//! rewrites the stored files instead.

#[cfg(any(debug_assertions, test))]
use crate::server::Schema;
#[cfg(any(debug_assertions, test))]
use serde_json::Value;

/// The stored schema `src/tools/schemas/FILE.json`: `stored!(FILE, Type)`
/// for the schema derived from an argument type, `stored!(FILE => expr)` for
/// a `Value` built in code. Either is evaluated in debug and test builds
/// only, to check the stored text.
macro_rules! stored {
    ($file:literal, $ty:ty) => {
        $crate::tools::schemas::stored!($file => $crate::tools::schemas::standard($crate::server::schema_for::<$ty>()))
    };
    ($file:literal => $value:expr) => {{
        let stored = $crate::server::Schema::from_static(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/tools/schemas/",
            $file,
            ".json"
        )));
        #[cfg(any(debug_assertions, test))]
        $crate::tools::schemas::check(&stored, $file, $value);
        stored
    }};
}
pub(crate) use stored;

/// `schema` with schemars' non-standard integer `format`s (`uint64`, `uint`,
/// `int32`, `uint8`, ...) replaced by the `minimum`/`maximum` they imply:
/// JSON Schema 2020-12 knows none of them, and strict validators reject a
/// tool whose schema carries one.
#[cfg(any(debug_assertions, test))]
pub(crate) fn standard(mut schema: Value) -> Value {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(m) => {
                let bounds: Option<(Option<i64>, Option<i64>)> =
                    match m.get("format").and_then(Value::as_str) {
                        Some("uint8") => Some((Some(0), Some(u8::MAX.into()))),
                        Some("uint16") => Some((Some(0), Some(u16::MAX.into()))),
                        Some("uint32") => Some((Some(0), Some(u32::MAX.into()))),
                        Some("uint" | "uint64" | "uint128") => Some((Some(0), None)),
                        Some("int8") => Some((Some(i8::MIN.into()), Some(i8::MAX.into()))),
                        Some("int16") => Some((Some(i16::MIN.into()), Some(i16::MAX.into()))),
                        Some("int32") => Some((Some(i32::MIN.into()), Some(i32::MAX.into()))),
                        Some("int" | "int64" | "int128") => Some((None, None)),
                        Some("float" | "double") => Some((None, None)),
                        _ => None,
                    };
                if let Some((lo, hi)) = bounds {
                    m.remove("format");
                    if let Some(lo) = lo {
                        let cur = m.get("minimum").and_then(Value::as_f64);
                        if cur.is_none_or(|c| c < lo as f64) {
                            m.insert("minimum".into(), lo.into());
                        }
                    }
                    if let Some(hi) = hi {
                        let cur = m.get("maximum").and_then(Value::as_f64);
                        if cur.is_none_or(|c| c > hi as f64) {
                            m.insert("maximum".into(), hi.into());
                        }
                    }
                }
                m.values_mut().for_each(walk);
            }
            Value::Array(a) => a.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut schema);
    schema
}

/// Panics (or, with `LMCP_UPDATE_SCHEMAS` set, rewrites the file) when the
/// stored schema `file` is not `derived`.
#[cfg(any(debug_assertions, test))]
pub(crate) fn check(stored: &Schema, file: &str, derived: Value) {
    if stored.to_value() == derived {
        return;
    }
    let path = format!(
        "{}/src/tools/schemas/{file}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = Schema::from_value(&derived).as_json().to_owned() + "\n";
    if std::env::var_os("LMCP_UPDATE_SCHEMAS").is_some() {
        if let Err(e) = std::fs::write(&path, text) {
            panic!("could not rewrite {path}: {e}");
        }
        eprintln!("lmcp: rewrote {path}; rebuild to use it");
        return;
    }
    panic!(
        "the stored schema {path} is stale (its Rust definition changed); \
         run `LMCP_UPDATE_SCHEMAS=1 cargo test --all-features` to rewrite it. It should be:\n{text}"
    );
}

#[cfg(test)]
mod tests {
    use crate::tools::{fs, jobs, shell};
    use std::sync::Arc;

    /// Registers every built-in tool of the features compiled in, which
    /// checks each stored schema against its Rust definition (debug builds).
    #[test]
    fn every_stored_schema_is_current() {
        let shell_cfg = Arc::new(shell::ShellConfig::default());
        let mut tools = crate::tools::builtin();
        tools.extend(fs::tools(Arc::new(fs::FsConfig::default())));
        tools.extend(shell::tools(
            shell_cfg.clone(),
            jobs::JobManager::new(shell_cfg),
        ));
        #[cfg(feature = "web")]
        tools.extend(crate::tools::web::tools(Default::default()));
        for t in &tools {
            assert!(t.input_schema.as_json().starts_with('{'), "{}", t.name);
        }
        assert!(tools.len() >= 16, "{}", tools.len());
    }

    /// Every keyword of JSON Schema 2020-12 (core, applicator, validation,
    /// unevaluated, meta-data, format-annotation and content vocabularies).
    const KEYWORDS: &[&str] = &[
        "$schema",
        "$id",
        "$ref",
        "$anchor",
        "$dynamicRef",
        "$dynamicAnchor",
        "$vocabulary",
        "$comment",
        "$defs",
        "allOf",
        "anyOf",
        "oneOf",
        "not",
        "if",
        "then",
        "else",
        "dependentSchemas",
        "prefixItems",
        "items",
        "contains",
        "properties",
        "patternProperties",
        "additionalProperties",
        "propertyNames",
        "unevaluatedItems",
        "unevaluatedProperties",
        "type",
        "const",
        "enum",
        "multipleOf",
        "maximum",
        "exclusiveMaximum",
        "minimum",
        "exclusiveMinimum",
        "maxLength",
        "minLength",
        "pattern",
        "maxItems",
        "minItems",
        "uniqueItems",
        "maxContains",
        "minContains",
        "maxProperties",
        "minProperties",
        "required",
        "dependentRequired",
        "title",
        "description",
        "default",
        "deprecated",
        "readOnly",
        "writeOnly",
        "examples",
        "format",
        "contentEncoding",
        "contentMediaType",
        "contentSchema",
    ];

    /// The `format` values JSON Schema 2020-12 defines.
    const FORMATS: &[&str] = &[
        "date-time",
        "date",
        "time",
        "duration",
        "email",
        "idn-email",
        "hostname",
        "idn-hostname",
        "ipv4",
        "ipv6",
        "uri",
        "uri-reference",
        "iri",
        "iri-reference",
        "uuid",
        "uri-template",
        "json-pointer",
        "relative-json-pointer",
        "regex",
    ];

    /// The non-standard keywords and formats in the schema `v`, as
    /// `pointer: problem` lines.
    fn nonstandard(v: &serde_json::Value, at: &str, out: &mut Vec<String>) {
        use serde_json::Value;
        let Value::Object(m) = v else {
            if !v.is_boolean() {
                out.push(format!("{at}: not a schema ({v})"));
            }
            return;
        };
        for (k, sub) in m {
            let here = format!("{at}/{k}");
            // The spec's own annotation (2026-07-28 tools: a parameter
            // mirrored into an `Mcp-Param-*` header), a header-name token.
            if k == "x-mcp-header" {
                let token = sub.as_str().is_some_and(|h| {
                    !h.is_empty()
                        && h.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
                });
                if !token {
                    out.push(format!("{here}: {sub} is not an HTTP header-name token"));
                }
                continue;
            }
            if !KEYWORDS.contains(&k.as_str()) {
                out.push(format!("{here}: keyword {k:?} is not JSON Schema 2020-12"));
                continue;
            }
            match k.as_str() {
                "format" => match sub.as_str() {
                    Some(f) if FORMATS.contains(&f) => {}
                    _ => out.push(format!("{here}: format {sub} is not a standard format")),
                },
                "properties" | "patternProperties" | "$defs" | "dependentSchemas" => {
                    for (name, s) in sub.as_object().into_iter().flatten() {
                        nonstandard(s, &format!("{here}/{name}"), out);
                    }
                }
                "allOf" | "anyOf" | "oneOf" | "prefixItems" => {
                    for (i, s) in sub.as_array().into_iter().flatten().enumerate() {
                        nonstandard(s, &format!("{here}/{i}"), out);
                    }
                }
                "not"
                | "if"
                | "then"
                | "else"
                | "items"
                | "contains"
                | "additionalProperties"
                | "propertyNames"
                | "unevaluatedItems"
                | "unevaluatedProperties"
                | "contentSchema" => nonstandard(sub, &here, out),
                _ => {}
            }
        }
    }

    /// Every tool's input and output schema (every feature compiled in) uses
    /// only JSON Schema 2020-12 keywords and standard formats, plus MCP's
    /// `x-mcp-header` annotation.
    #[test]
    fn schemas_use_only_standard_vocabulary() {
        let shell_cfg = Arc::new(shell::ShellConfig::default());
        let mut tools = crate::tools::builtin();
        tools.extend(fs::tools(Arc::new(fs::FsConfig::default())));
        tools.extend(shell::tools(
            shell_cfg.clone(),
            jobs::JobManager::new(shell_cfg),
        ));
        #[cfg(feature = "web")]
        tools.extend(crate::tools::web::tools(Default::default()));
        let mut bad = Vec::new();
        for t in &tools {
            nonstandard(
                &t.input_schema.to_value(),
                &format!("{} input", t.name),
                &mut bad,
            );
            if let Some(o) = &t.output_schema {
                nonstandard(&o.to_value(), &format!("{} output", t.name), &mut bad);
            }
        }
        assert!(
            bad.is_empty(),
            "non-standard schema content:\n{}",
            bad.join("\n")
        );
        // The walker itself catches what it must.
        let mut found = Vec::new();
        let probe = serde_json::json!({"type": "object", "properties": {"n": {"type": "integer", "format": "uint64"}, "format": {"nullable": true}}});
        nonstandard(&probe, "probe", &mut found);
        assert_eq!(found.len(), 2, "{found:?}");
    }
}
