//! Opaque access tokens through RFC 7662 token introspection: lmcp POSTs
//! the token to the authorization server with its own client credentials
//! (HTTP Basic) and trusts the answer when it is `active`, for this
//! resource (`aud`), from this issuer (`iss`, when given) and in its time
//! window. Answers are cached, keyed by the token's SHA-256, for at most a
//! minute (never past the token's `exp`).

use super::fetch::Fetcher;
use super::jwt::LEEWAY_SECS;
use super::Refusal;
use base64::Engine as _;
use serde_json::Value;
use std::path::Path;

/// lmcp's client id and secret at the authorization server.
#[derive(Clone)]
pub struct ClientCredentials {
    /// `client_id`.
    pub id: String,
    /// `client_secret`.
    pub secret: String,
}

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl ClientCredentials {
    /// Read `CLIENT_ID:CLIENT_SECRET` on one line, or the id and the secret
    /// on two lines, from `path`.
    pub fn from_file(path: &Path) -> Result<ClientCredentials, String> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            format!(
                "cannot read the client credentials file {}: {e}",
                path.display()
            )
        })?;
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        let (id, secret) = match lines.as_slice() {
            [one] => one.split_once(':').unwrap_or((one, "")),
            [id, secret] => (*id, *secret),
            _ => ("", ""),
        };
        if id.is_empty() || secret.is_empty() {
            return Err(format!(
                "{}: write CLIENT_ID:CLIENT_SECRET on one line (or the id and the secret on two lines)",
                path.display()
            ));
        }
        Ok(ClientCredentials {
            id: id.to_owned(),
            secret: secret.to_owned(),
        })
    }
}

/// `application/x-www-form-urlencoded` encoding of one value.
fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'*') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What an active token grants: subject, scopes, and `exp` (if given).
pub(super) struct Introspected {
    pub subject: String,
    pub scopes: Vec<String>,
    pub exp: Option<u64>,
}

/// Ask `endpoint` about `token`.
pub(super) async fn introspect(
    fetcher: &Fetcher,
    endpoint: &str,
    creds: &ClientCredentials,
    token: &str,
    issuer: &str,
    audiences: &[String],
) -> Result<Introspected, Refusal> {
    // RFC 6749 2.3.1: id and secret are form-encoded before Basic.
    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        form_encode(&creds.id),
        form_encode(&creds.secret)
    ));
    let body = format!("token={}&token_type_hint=access_token", form_encode(token));
    let headers = [
        ("authorization", format!("Basic {basic}")),
        (
            "content-type",
            "application/x-www-form-urlencoded".to_owned(),
        ),
    ];
    let (status, bytes) = fetcher
        .exchange(hyper::Method::POST, endpoint, &headers, Some(body))
        .await
        .map_err(Refusal::unavailable)?;
    if !status.is_success() {
        return Err(Refusal::unavailable(format!(
            "introspection at {endpoint} answered {status} (check the client credentials)"
        )));
    }
    let v: Value = serde_json::from_slice(&bytes).map_err(|_| {
        Refusal::unavailable(format!("introspection at {endpoint} answered non-JSON"))
    })?;
    judge(&v, issuer, audiences, now())
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Decide on an introspection answer at time `now`.
fn judge(v: &Value, issuer: &str, audiences: &[String], now: u64) -> Result<Introspected, Refusal> {
    if v.get("active") != Some(&Value::Bool(true)) {
        return Err(Refusal::invalid("introspection: token not active"));
    }
    let exp = v.get("exp").and_then(Value::as_u64);
    if exp.is_some_and(|e| e + LEEWAY_SECS < now) {
        return Err(Refusal::invalid("token expired"));
    }
    if v.get("nbf")
        .and_then(Value::as_u64)
        .is_some_and(|n| n > now + LEEWAY_SECS)
    {
        return Err(Refusal::invalid("token not valid yet (nbf)"));
    }
    if let Some(iss) = v.get("iss").and_then(Value::as_str) {
        if iss.trim_end_matches('/') != issuer.trim_end_matches('/') {
            return Err(Refusal::invalid(format!("token issuer is not {issuer}")));
        }
    }
    let aud: Vec<&str> = match v.get("aud") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !aud.iter().any(|a| audiences.iter().any(|r| r == a)) {
        return Err(Refusal::invalid(format!(
            "token audience does not contain {}",
            audiences[0]
        )));
    }
    let text = |k: &str| v.get(k).and_then(Value::as_str).map(String::from);
    Ok(Introspected {
        subject: text("sub")
            .or_else(|| text("client_id"))
            .unwrap_or_default(),
        scopes: text("scope")
            .unwrap_or_default()
            .split_whitespace()
            .map(String::from)
            .collect(),
        exp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn answers() {
        let aud = ["https://m.example/mcp".to_owned()];
        let ok = json!({"active": true, "aud": "https://m.example/mcp", "sub": "u", "scope": "lmcp:read", "exp": 1000, "iss": "https://a"});
        let g = judge(&ok, "https://a/", &aud, 900).unwrap_or_else(|_| panic!());
        assert_eq!((g.subject.as_str(), g.scopes.len()), ("u", 1));
        assert!(judge(&ok, "https://a", &aud, 2000).is_err());
        assert!(judge(&ok, "https://b", &aud, 900).is_err());
        assert!(judge(&json!({"active": false}), "https://a", &aud, 0).is_err());
        let other = json!({"active": true, "aud": ["x"], "sub": "u"});
        assert!(judge(&other, "https://a", &aud, 0).is_err());
    }

    #[test]
    fn credentials_and_encoding() {
        assert_eq!(form_encode("a b/+="), "a%20b%2F%2B%3D");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c");
        std::fs::write(&p, "lmcp:s3cr:et\n").unwrap();
        let c = ClientCredentials::from_file(&p).unwrap();
        assert_eq!((c.id.as_str(), c.secret.as_str()), ("lmcp", "s3cr:et"));
        std::fs::write(&p, "id\nsecret\n").unwrap();
        assert_eq!(ClientCredentials::from_file(&p).unwrap().secret, "secret");
        std::fs::write(&p, "only-id\n").unwrap();
        assert!(ClientCredentials::from_file(&p).is_err());
        assert!(!format!("{c:?}").contains("s3cr"));
    }
}
