//! Validation of the modern request-metadata headers (`MCP-Protocol-Version`,
//! `Mcp-Method`, `Mcp-Name`, `Mcp-Param-*`) against the JSON-RPC body.

use crate::jsonrpc::{code, ErrorObject, Request};
use crate::protocol::Method;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hyper::HeaderMap;
use serde_json::Value;

fn mismatch(msg: impl Into<String>) -> ErrorObject {
    ErrorObject::new(
        code::HEADER_MISMATCH,
        format!("Header mismatch: {}", msg.into()),
    )
}

/// Decode a header value, honouring the `=?base64?…?=` sentinel; `Err` when
/// the value holds characters a header may not carry or bad base64.
pub fn decode_value(raw: &[u8]) -> Result<String, String> {
    if raw
        .iter()
        .any(|&b| !(b == b'\t' || (0x20..=0x7e).contains(&b)))
    {
        return Err("contains characters not allowed in a header value".into());
    }
    let s = std::str::from_utf8(raw).map_err(|_| "is not ASCII".to_string())?;
    if let Some(inner) = s
        .strip_prefix("=?base64?")
        .and_then(|r| r.strip_suffix("?="))
    {
        let bytes = B64
            .decode(inner)
            .map_err(|_| "has an invalid base64 sentinel value".to_string())?;
        return String::from_utf8(bytes).map_err(|_| "decodes to invalid UTF-8".to_string());
    }
    Ok(s.to_owned())
}

/// A header's value without surrounding whitespace (HTTP's optional
/// whitespace is not part of the value; hyper strips it on the wire, this
/// also covers header maps built in code).
fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a [u8]> {
    h.get(name).map(|v| v.as_bytes().trim_ascii())
}

/// Check the standard headers of a modern request.
pub fn check_standard(h: &HeaderMap, req: &Request, body_version: &str) -> Result<(), ErrorObject> {
    let version = header(h, "mcp-protocol-version")
        .ok_or_else(|| mismatch("the MCP-Protocol-Version header is required"))?;
    if version != body_version.as_bytes() {
        return Err(mismatch(format!(
            "MCP-Protocol-Version header '{}' does not match the body's protocolVersion '{body_version}'",
            String::from_utf8_lossy(version)
        )));
    }
    let method =
        header(h, "mcp-method").ok_or_else(|| mismatch("the Mcp-Method header is required"))?;
    if method != req.method.as_bytes() {
        return Err(mismatch(format!(
            "Mcp-Method header '{}' does not match body method '{}'",
            String::from_utf8_lossy(method),
            req.method
        )));
    }
    let name_field = Method::parse(&req.method).and_then(Method::name_param);
    if let Some(field) = name_field {
        let raw = header(h, "mcp-name").ok_or_else(|| {
            mismatch(format!(
                "the Mcp-Name header is required for {}",
                req.method
            ))
        })?;
        let value = decode_value(raw).map_err(|e| mismatch(format!("Mcp-Name {e}")))?;
        let body = req.params.get(field).and_then(Value::as_str).unwrap_or("");
        if value != body {
            return Err(mismatch(format!(
                "Mcp-Name header value '{value}' does not match body value '{body}'"
            )));
        }
    }
    Ok(())
}

/// Properties of `schema` annotated with `x-mcp-header`: (header name, path).
pub fn annotated_params(schema: &Value) -> Vec<(String, Vec<String>)> {
    fn walk(s: &Value, path: &mut Vec<String>, out: &mut Vec<(String, Vec<String>)>) {
        let Some(props) = s.get("properties").and_then(Value::as_object) else {
            return;
        };
        for (k, v) in props {
            path.push(k.clone());
            if let Some(h) = v.get("x-mcp-header").and_then(Value::as_str) {
                out.push((h.to_owned(), path.clone()));
            }
            walk(v, path, out);
            path.pop();
        }
    }
    let mut out = Vec::new();
    walk(schema, &mut Vec::new(), &mut out);
    out
}

/// Check `Mcp-Param-*` headers of a `tools/call` against the arguments,
/// for the tool's annotated parameters.
/// `params` are the tool's [`annotated_params`].
pub fn check_params(
    h: &HeaderMap,
    params: &[(String, Vec<String>)],
    args: &Value,
) -> Result<(), ErrorObject> {
    for (name, path) in params {
        let header_name = format!("mcp-param-{}", name.to_ascii_lowercase());
        let mut v = args;
        for p in path {
            v = v.get(p).unwrap_or(&Value::Null);
        }
        let expected = match v {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Number(n) => Some(n.to_string()),
            other => Some(other.to_string()),
        };
        let got = header(h, &header_name);
        match (expected, got) {
            (None, _) => {}
            (Some(_), None) => {
                return Err(mismatch(format!(
                    "the Mcp-Param-{name} header is required (the argument is present)"
                )))
            }
            (Some(exp), Some(raw)) => {
                let got =
                    decode_value(raw).map_err(|e| mismatch(format!("Mcp-Param-{name} {e}")))?;
                let equal = got == exp
                    || matches!((got.parse::<f64>(), v.as_f64()), (Ok(a), Some(b)) if a == b);
                if !equal {
                    return Err(mismatch(format!(
                        "Mcp-Param-{name} header value '{got}' does not match body value '{exp}'"
                    )));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decodes_sentinels() {
        assert_eq!(decode_value(b"us-west1").unwrap(), "us-west1");
        assert_eq!(
            decode_value(b"=?base64?SGVsbG8sIOS4lueVjA==?=").unwrap(),
            "Hello, 世界"
        );
        assert!(decode_value(b"=?base64?!!!?=").is_err());
        assert!(decode_value(b"a\x01b").is_err());
    }

    #[test]
    fn surrounding_whitespace_is_not_part_of_a_value() {
        let req: Request = match crate::jsonrpc::Message::parse(
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}}"#,
            &Default::default(),
        ) {
            Ok(crate::jsonrpc::Message::Request(r)) => r,
            other => panic!("{other:?}"),
        };
        let mut h = HeaderMap::new();
        h.insert("mcp-protocol-version", " 2026-07-28\t".parse().unwrap());
        h.insert("mcp-method", "tools/call ".parse().unwrap());
        h.insert("mcp-name", "  echo".parse().unwrap());
        assert!(check_standard(&h, &req, "2026-07-28").is_ok());
        h.insert("mcp-name", "ec ho".parse().unwrap());
        assert_eq!(
            check_standard(&h, &req, "2026-07-28").unwrap_err().code,
            -32020
        );
    }

    #[test]
    fn params() {
        let schema = json!({"type":"object","properties":{"region":{"type":"string","x-mcp-header":"Region"},"n":{"type":"integer","x-mcp-header":"N"}}});
        let mut h = HeaderMap::new();
        h.insert("mcp-param-region", "us-west1".parse().unwrap());
        assert!(check_params(
            &h,
            &annotated_params(&schema),
            &json!({"region": "us-west1"})
        )
        .is_ok());
        assert_eq!(
            check_params(&h, &annotated_params(&schema), &json!({"region": "eu"}))
                .unwrap_err()
                .code,
            -32020
        );
        assert_eq!(
            check_params(
                &h,
                &annotated_params(&schema),
                &json!({"region": "us-west1", "n": 4})
            )
            .unwrap_err()
            .code,
            -32020
        );
        h.insert("mcp-param-n", "4.0".parse().unwrap());
        assert!(check_params(
            &h,
            &annotated_params(&schema),
            &json!({"region": "us-west1", "n": 4})
        )
        .is_ok());
    }
}
