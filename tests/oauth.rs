//! lmcp's HTTP transport as an OAuth 2.1 resource server, against a small
//! authorization server run by the test on loopback (RFC 8414 metadata, a
//! JWKS with keys the test made, RFC 7662 introspection), spoken to raw:
//!
//! - the bare 401 and its challenge, the RFC 9728 metadata (both forms);
//! - good tokens (ES256, EdDSA, introspected opaque ones, the static token)
//!   and the scopes: `tools/list` filtered, other tools 403
//!   `insufficient_scope`;
//! - refusals, each 401 `invalid_token` with nothing executed: wrong
//!   audience, expired, not yet valid, unknown key, bad signature, `alg:
//!   none`, HMAC signed with the public key, another issuer, inactive opaque
//!   token, token in the query string; a flood of unknown key ids costs one
//!   JWKS fetch;
//! - a legacy session used with another subject's token: 403.
//!
//! Every JSON-RPC body read is validated against the official schema.
#![cfg(feature = "oauth")]

mod support;

use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use lmcp::server::{Server, Tool, ToolResult};
use lmcp::transport::http::oauth::{ClientCredentials, OAuthConfig, ResourceServer};
use lmcp::transport::http::{serve, HttpOptions};
use ring::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use support::raw_http::{self, Reply, ACCEPT, JSON};
use support::{check, meta, LEGACY_SCHEMA, MODERN};

const STATIC_TOKEN: &str = "static-secret-token-0123456789";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Signing keys made for this run.
struct Keys {
    ec_der: Vec<u8>,
    ec_pub: Vec<u8>,
    ed_der: Vec<u8>,
    ed_pub: Vec<u8>,
    /// A key the issuer never published.
    stranger_der: Vec<u8>,
}

fn keys() -> Keys {
    let rng = ring::rand::SystemRandom::new();
    let ec = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let ec_pub = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, ec.as_ref(), &rng)
        .unwrap()
        .public_key()
        .as_ref()
        .to_vec();
    let ed = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
    let ed_pub = Ed25519KeyPair::from_pkcs8(ed.as_ref())
        .unwrap()
        .public_key()
        .as_ref()
        .to_vec();
    let stranger = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    Keys {
        ec_der: ec.as_ref().to_vec(),
        ec_pub,
        ed_der: ed.as_ref().to_vec(),
        ed_pub,
        stranger_der: stranger.as_ref().to_vec(),
    }
}

fn jwks(k: &Keys) -> Value {
    // P-256 public key: 0x04 || x || y.
    json!({"keys": [
        {"kty": "EC", "crv": "P-256", "kid": "ec", "use": "sig", "alg": "ES256",
         "x": b64(&k.ec_pub[1..33]), "y": b64(&k.ec_pub[33..])},
        {"kty": "OKP", "crv": "Ed25519", "kid": "ed", "x": b64(&k.ed_pub)},
        {"kty": "RSA", "kid": "enc", "use": "enc", "n": "AQAB", "e": "AQAB"}
    ]})
}

/// The test's authorization server: metadata, JWKS, introspection.
struct Issuer {
    url: String,
    jwks_fetches: Arc<AtomicUsize>,
}

fn start_issuer(jwks: Value, resource: String) -> Issuer {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let jwks_fetches = Arc::new(AtomicUsize::new(0));
    let (base, fetches) = (url.clone(), jwks_fetches.clone());
    std::thread::spawn(move || {
        for conn in listener.incoming().map_while(Result::ok) {
            let (base, fetches, jwks, resource) = (
                base.clone(),
                fetches.clone(),
                jwks.clone(),
                resource.clone(),
            );
            std::thread::spawn(move || answer(conn, &base, &fetches, &jwks, &resource));
        }
    });
    Issuer { url, jwks_fetches }
}

fn answer(mut conn: TcpStream, base: &str, fetches: &AtomicUsize, jwks: &Value, resource: &str) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let path = line.split(' ').nth(1).unwrap_or("").to_owned();
    let (mut length, mut auth) = (0usize, String::new());
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).unwrap();
        if h.trim().is_empty() {
            break;
        }
        let (k, v) = h.split_once(':').unwrap_or(("", ""));
        match k.to_ascii_lowercase().as_str() {
            "content-length" => length = v.trim().parse().unwrap_or(0),
            "authorization" => auth = v.trim().to_owned(),
            _ => {}
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    let body = String::from_utf8_lossy(&body).into_owned();
    let (status, json) = match path.as_str() {
        "/.well-known/oauth-authorization-server" => (
            200,
            json!({"issuer": base, "jwks_uri": format!("{base}/jwks"),
                   "introspection_endpoint": format!("{base}/introspect"),
                   "authorization_endpoint": format!("{base}/authorize"),
                   "token_endpoint": format!("{base}/token"),
                   "response_types_supported": ["code"]}),
        ),
        "/jwks" => {
            fetches.fetch_add(1, Ordering::SeqCst);
            (200, jwks.clone())
        }
        "/introspect" => {
            let expected = format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode("lmcp-rs:rs-secret")
            );
            if auth != expected {
                (401, json!({"error": "invalid_client"}))
            } else if body.starts_with("token=opaque-good&") {
                (
                    200,
                    json!({"active": true, "sub": "carol", "scope": "lmcp:read",
                             "aud": resource, "iss": base, "exp": now() + 300}),
                )
            } else if body.starts_with("token=opaque-elsewhere&") {
                (
                    200,
                    json!({"active": true, "sub": "carol", "scope": "lmcp:exec",
                             "aud": "https://other.example/mcp", "exp": now() + 300}),
                )
            } else {
                (200, json!({"active": false}))
            }
        }
        _ => (404, json!({"error": "not found"})),
    };
    let text = json.to_string();
    let _ = write!(
        conn,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
}

/// lmcp with three tools that count their runs, behind OAuth and the
/// static token.
struct Lmcp {
    port: u16,
    resource: String,
    issuer: Issuer,
    runs: Arc<AtomicUsize>,
    _rt: tokio::runtime::Runtime,
}

fn start(k: &Keys) -> Lmcp {
    let runs = Arc::new(AtomicUsize::new(0));
    let tool = |name: &str| {
        let runs = runs.clone();
        Tool::new(name, "counts its runs", move |_a, _c| {
            let runs = runs.clone();
            async move {
                runs.fetch_add(1, Ordering::SeqCst);
                Ok(ToolResult::text("ran"))
            }
        })
    };
    let server = Server::builder("oauth-test", "0")
        .tool(tool("shell").task_support(lmcp::TaskSupport::Optional))
        .tool(tool("read_file"))
        .tool(tool("write_file"))
        .build();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let resource = format!("http://127.0.0.1:{port}/mcp");
    let issuer = start_issuer(jwks(k), resource.clone());
    let rs = ResourceServer::new(OAuthConfig {
        issuer: issuer.url.clone(),
        resource: resource.clone(),
        introspection_url: None,
        client_credentials: Some(ClientCredentials {
            id: "lmcp-rs".into(),
            secret: "rs-secret".into(),
        }),
        ca_file: None,
    })
    .unwrap();
    let opts = HttpOptions {
        auth_token: Some(STATIC_TOKEN.into()),
        oauth: Some(Arc::new(rs)),
        ..HttpOptions::default()
    };
    rt.spawn(serve(
        listener,
        server,
        opts,
        tokio_util::sync::CancellationToken::new(),
    ));
    Lmcp {
        port,
        resource,
        issuer,
        runs,
        _rt: rt,
    }
}

impl Lmcp {
    fn claims(&self, sub: &str, scope: &str) -> Value {
        json!({"iss": self.issuer.url, "aud": [self.resource, "other"], "sub": sub,
               "scope": scope, "exp": now() + 300, "iat": now()})
    }
}

fn sign(claims: &Value, alg: Algorithm, kid: &str, der: &[u8]) -> String {
    let key = match alg {
        Algorithm::ES256 => EncodingKey::from_ec_der(der),
        Algorithm::EdDSA => EncodingKey::from_ed_der(der),
        _ => EncodingKey::from_secret(der),
    };
    let mut h = Header::new(alg);
    h.kid = Some(kid.into());
    jsonwebtoken::encode(&h, claims, &key).unwrap()
}

fn es256(k: &Keys, claims: &Value) -> String {
    sign(claims, Algorithm::ES256, "ec", &k.ec_der)
}

/// A modern request with `token` (if any); the reply's JSON body checked.
fn modern(port: u16, token: Option<&str>, method: &str, params: Value) -> Reply {
    let mut params = params;
    params["_meta"] = meta(json!({}));
    let name = params["name"].as_str().unwrap_or("").to_owned();
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string();
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut h = vec![
        JSON,
        ACCEPT,
        ("MCP-Protocol-Version", MODERN),
        ("Mcp-Method", method),
    ];
    if method == "tools/call" {
        h.push(("Mcp-Name", &name));
    }
    if let Some(a) = &auth {
        h.push(("Authorization", a));
    }
    let r = raw_http::send(port, "POST", &h, &body);
    if r.header("content-type") == Some("application/json") {
        let v = r.json();
        let errors = check(MODERN, "JSONRPCMessage", &v);
        assert!(errors.is_empty(), "{v} violates the schema: {errors:?}");
    }
    r
}

fn call(port: u16, token: Option<&str>, tool: &str) -> Reply {
    modern(
        port,
        token,
        "tools/call",
        json!({"name": tool, "arguments": {}}),
    )
}

fn listed(port: u16, token: &str) -> Vec<String> {
    let r = modern(port, Some(token), "tools/list", json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    let mut names: Vec<String> = r.json()["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

fn get(port: u16, path: &str) -> Reply {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    raw_http::read_reply(s)
}

fn assert_invalid_token(r: &Reply, why: &str) {
    assert_eq!(r.status, 401, "{why}: {}", r.body);
    let h = r.header("www-authenticate").unwrap_or("");
    assert!(h.starts_with("Bearer "), "{why}: {h}");
    assert!(h.contains("error=\"invalid_token\""), "{why}: {h}");
    assert!(h.contains("resource_metadata=\""), "{why}: {h}");
    // The reason is for the log only.
    assert!(
        !r.body.contains("expired") && !r.body.contains("audience"),
        "{why}: {}",
        r.body
    );
}

#[test]
fn discovery_from_a_bare_401_and_the_metadata() {
    let s = start(&keys());
    let r = call(s.port, None, "read_file");
    assert_eq!(r.status, 401);
    let h = r.header("www-authenticate").unwrap().to_owned();
    let metadata = format!(
        "http://127.0.0.1:{}/.well-known/oauth-protected-resource/mcp",
        s.port
    );
    assert!(
        h.contains(&format!("resource_metadata=\"{metadata}\"")),
        "{h}"
    );
    assert!(
        h.contains("scope=\"lmcp:read lmcp:write lmcp:exec\""),
        "{h}"
    );
    assert!(
        !h.contains("error="),
        "no token is not an invalid token: {h}"
    );
    for path in [
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource",
    ] {
        let r = get(s.port, path);
        assert_eq!(r.status, 200, "{path}");
        let doc = r.json();
        assert_eq!(doc["resource"], s.resource.as_str());
        assert_eq!(doc["authorization_servers"], json!([s.issuer.url]));
        assert_eq!(
            doc["scopes_supported"],
            json!(["lmcp:read", "lmcp:write", "lmcp:exec"])
        );
        assert_eq!(doc["bearer_methods_supported"], json!(["header"]));
    }
    assert_eq!(s.runs.load(Ordering::SeqCst), 0);
}

#[test]
fn good_tokens_and_their_scopes() {
    let k = keys();
    let s = start(&k);
    let exec = es256(&k, &s.claims("alice", "openid lmcp:exec"));
    assert_eq!(listed(s.port, &exec), ["read_file", "shell", "write_file"]);
    let r = call(s.port, Some(&exec), "shell");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(s.runs.load(Ordering::SeqCst), 1);

    // EdDSA, read only: sees and runs only the reader.
    let read = sign(
        &s.claims("bob", "lmcp:read"),
        Algorithm::EdDSA,
        "ed",
        &k.ed_der,
    );
    assert_eq!(listed(s.port, &read), ["read_file"]);
    assert_eq!(call(s.port, Some(&read), "read_file").status, 200);
    assert_eq!(s.runs.load(Ordering::SeqCst), 2);
    for (tool, scope) in [("shell", "lmcp:exec"), ("write_file", "lmcp:write")] {
        let r = call(s.port, Some(&read), tool);
        assert_eq!(r.status, 403, "{}", r.body);
        let h = r.header("www-authenticate").unwrap();
        assert!(h.contains("error=\"insufficient_scope\""), "{h}");
        assert!(h.contains(&format!("scope=\"{scope}\"")), "{h}");
    }
    assert_eq!(s.runs.load(Ordering::SeqCst), 2, "a refused call ran");

    // Write: readers and writers, no shell.
    let write = es256(&k, &s.claims("dave", "lmcp:write"));
    assert_eq!(listed(s.port, &write), ["read_file", "write_file"]);
    // No lmcp scope at all: an empty list.
    let none = es256(&k, &s.claims("erin", "openid"));
    assert!(listed(s.port, &none).is_empty());

    // Opaque token through introspection; then cached.
    assert_eq!(listed(s.port, "opaque-good"), ["read_file"]);
    assert_eq!(call(s.port, Some("opaque-good"), "read_file").status, 200);
    assert_eq!(call(s.port, Some("opaque-good"), "shell").status, 403);

    // The static token beside OAuth: everything.
    assert_eq!(
        listed(s.port, STATIC_TOKEN),
        ["read_file", "shell", "write_file"]
    );
    assert_eq!(s.runs.load(Ordering::SeqCst), 3);
}

#[test]
fn bad_tokens_are_refused_and_run_nothing() {
    let k = keys();
    let s = start(&k);
    let c = |f: &dyn Fn(&mut Value)| {
        let mut v = s.claims("mallory", "lmcp:exec");
        f(&mut v);
        v
    };
    // Warm the key cache with a good token first.
    assert_eq!(
        call(s.port, Some(&es256(&k, &c(&|_| {}))), "read_file").status,
        200
    );
    let ran = s.runs.load(Ordering::SeqCst);

    let wrong_aud = es256(&k, &c(&|v| v["aud"] = json!("https://other.example/mcp")));
    let expired = es256(&k, &c(&|v| v["exp"] = json!(now() - 120)));
    let not_yet = es256(&k, &c(&|v| v["nbf"] = json!(now() + 120)));
    let other_iss = es256(&k, &c(&|v| v["iss"] = json!("http://127.0.0.1:1")));
    let no_exp = es256(
        &k,
        &c(&|v| {
            v.as_object_mut().unwrap().remove("exp");
        }),
    );
    let unknown_kid = sign(&c(&|_| {}), Algorithm::ES256, "rotated-away", &k.ec_der);
    let bad_sig = sign(&c(&|_| {}), Algorithm::ES256, "ec", &k.stranger_der);
    let payload = b64(c(&|_| {}).to_string().as_bytes());
    let alg_none = format!("{}.{payload}.", b64(br#"{"alg":"none","kid":"ec"}"#));
    // HS256 "signed" with the issuer's public key, the classic confusion.
    let public_jwk = jwks(&k)["keys"][0].to_string();
    let hmac = sign(&c(&|_| {}), Algorithm::HS256, "ec", public_jwk.as_bytes());
    let hmac_raw = sign(&c(&|_| {}), Algorithm::HS256, "ec", &k.ec_pub);
    // A signature from the Ed25519 key presented as an ES256 token.
    let swapped = {
        let t = sign(&c(&|_| {}), Algorithm::EdDSA, "ed", &k.ed_der);
        let parts: Vec<&str> = t.split('.').collect();
        format!(
            "{}.{}.{}",
            b64(br#"{"alg":"ES256","kid":"ed"}"#),
            parts[1],
            parts[2]
        )
    };
    let cases = [
        ("wrong audience", wrong_aud),
        ("expired", expired),
        ("not yet valid", not_yet),
        ("another issuer", other_iss),
        ("no exp", no_exp),
        ("unknown key id", unknown_kid),
        ("bad signature", bad_sig),
        ("alg none", alg_none),
        ("HMAC with the public JWK", hmac),
        ("HMAC with the public key", hmac_raw),
        ("key type swapped", swapped),
        ("garbage", "not a token at all".into()),
        ("inactive opaque", "opaque-revoked".into()),
        ("opaque for another resource", "opaque-elsewhere".into()),
    ];
    for (why, token) in &cases {
        assert_invalid_token(&call(s.port, Some(token), "shell"), why);
        assert_invalid_token(&modern(s.port, Some(token), "tools/list", json!({})), why);
    }
    // Not a bearer scheme, or the token in the query string: no token.
    let good = es256(&k, &c(&|_| {}));
    let basic = format!("Basic {good}");
    let r = raw_http::send(
        s.port,
        "POST",
        &[JSON, ACCEPT, ("Authorization", &basic)],
        "{}",
    );
    assert_eq!(r.status, 401);
    let mut q = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    write!(
        q,
        "POST /mcp?access_token={good} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
    )
    .unwrap();
    let r = raw_http::read_reply(q);
    assert!(r.status == 401 || r.status == 404, "{}", r.status);
    assert_eq!(
        s.runs.load(Ordering::SeqCst),
        ran,
        "a refused request ran a tool"
    );

    // The unknown kid above, and a flood of made-up ones, cost at most one
    // more JWKS fetch (the first fetch warmed the cache).
    for i in 0..20 {
        let t = sign(
            &c(&|_| {}),
            Algorithm::ES256,
            &format!("made-up-{i}"),
            &k.ec_der,
        );
        assert_invalid_token(&call(s.port, Some(&t), "shell"), "made-up kid");
    }
    let fetches = s.issuer.jwks_fetches.load(Ordering::SeqCst);
    assert!((1..=2).contains(&fetches), "{fetches} JWKS fetches");
}

#[test]
fn legacy_sessions_are_bound_to_the_subject() {
    let k = keys();
    let s = start(&k);
    let alice = format!("Bearer {}", es256(&k, &s.claims("alice", "lmcp:exec")));
    let bob = format!("Bearer {}", es256(&k, &s.claims("bob", "lmcp:exec")));
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": LEGACY_SCHEMA, "capabilities": {},
        "clientInfo": {"name": "t", "version": "0"}}})
    .to_string();
    let r = raw_http::send(
        s.port,
        "POST",
        &[JSON, ACCEPT, ("Authorization", &alice)],
        &init,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert!(check(LEGACY_SCHEMA, "JSONRPCMessage", &v).is_empty(), "{v}");
    let sid = r.header("mcp-session-id").unwrap().to_owned();
    let inited = json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string();
    let h = |auth: &str| -> Vec<(&str, String)> {
        vec![
            ("Authorization", auth.to_owned()),
            ("Mcp-Session-Id", sid.clone()),
            ("MCP-Protocol-Version", LEGACY_SCHEMA.to_owned()),
        ]
    };
    let send = |auth: &str, method: &str, body: &str| {
        let owned = h(auth);
        let mut hs: Vec<(&str, &str)> = vec![JSON, ACCEPT];
        hs.extend(owned.iter().map(|(k, v)| (*k, v.as_str())));
        raw_http::send(s.port, method, &hs, body)
    };
    assert_eq!(send(&alice, "POST", &inited).status, 202);
    let shell = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                       "params": {"name": "shell", "arguments": {}}})
    .to_string();
    let r = send(&bob, "POST", &shell);
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.header("www-authenticate").unwrap().starts_with("Bearer "));
    assert_eq!(send(&bob, "DELETE", "").status, 403);
    assert_eq!(send(&bob, "GET", "").status, 403);
    assert_eq!(s.runs.load(Ordering::SeqCst), 0);
    let r = send(&alice, "POST", &shell);
    assert_eq!(r.status, 200, "{}", r.body);
    // A legacy tools/call whose client accepts SSE may be answered as a stream.
    let v = if r
        .header("content-type")
        .is_some_and(|c| c.starts_with("text/event-stream"))
    {
        r.events().pop().expect("the stream carries the answer")
    } else {
        r.json()
    };
    assert!(check(LEGACY_SCHEMA, "JSONRPCMessage", &v).is_empty(), "{v}");
    assert_eq!(s.runs.load(Ordering::SeqCst), 1);
    // Read-only Alice may list but not run the shell on her session.
    let alice_read = format!("Bearer {}", es256(&k, &s.claims("alice", "lmcp:read")));
    let r = send(&alice_read, "POST", &shell);
    assert_eq!(r.status, 403);
    assert!(r
        .header("www-authenticate")
        .unwrap()
        .contains("insufficient_scope"));
    assert_eq!(s.runs.load(Ordering::SeqCst), 1);
    assert_eq!(send(&alice, "DELETE", "").status, 204);
}

/// The headers of a modern `method` request with the `Authorization` value
/// `auth`, naming `name` in `Mcp-Name` when given.
fn modern_headers<'a>(
    method: &'a str,
    name: Option<&'a str>,
    auth: &'a str,
) -> Vec<(&'a str, &'a str)> {
    let mut h = vec![
        JSON,
        ACCEPT,
        ("MCP-Protocol-Version", MODERN),
        ("Mcp-Method", method),
    ];
    h.extend(name.map(|n| ("Mcp-Name", n)));
    h.push(("Authorization", auth));
    h
}

/// A modern request declaring the Tasks extension, with `Mcp-Name` set as
/// the extension asks (`taskId` for `tasks/*`).
fn tasks_request(port: u16, token: &str, method: &str, params: Value) -> Value {
    let mut params = params;
    params["_meta"] = meta(json!({"extensions": {"io.modelcontextprotocol/tasks": {}}}));
    let name = params
        .get("taskId")
        .or_else(|| params.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string();
    let auth = format!("Bearer {token}");
    let h = modern_headers(method, Some(&name), &auth);
    let r = raw_http::send(port, "POST", &h, &body);
    assert_eq!(
        r.status,
        if r.json().get("error").is_some() {
            r.status
        } else {
            200
        }
    );
    let v = r.json();
    let errors = check(MODERN, "JSONRPCMessage", &v);
    assert!(errors.is_empty(), "{v} violates the schema: {errors:?}");
    v
}

/// Opens a `subscriptions/listen` stream following task `id` with `token`;
/// its first event (the acknowledgement) and the open stream.
fn listen_for_task(port: u16, token: &str, id: &str) -> (Value, std::net::TcpStream) {
    use std::io::Read;
    let params = json!({"notifications": {"taskIds": [id]},
        "_meta": meta(json!({"extensions": {"io.modelcontextprotocol/tasks": {}}}))});
    let body =
        json!({"jsonrpc": "2.0", "id": 9, "method": "subscriptions/listen", "params": params})
            .to_string();
    let auth = format!("Bearer {token}");
    let h = modern_headers("subscriptions/listen", None, &auth);
    let mut stream = raw_http::open(port, "POST", &h, &body);
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&got).into_owned();
        let event = text.split("data: ").nth(1).and_then(|rest| {
            let line = rest.split('\n').next()?;
            serde_json::from_str::<Value>(line).ok()
        });
        if let Some(v) = event {
            let errors = check(MODERN, "JSONRPCMessage", &v);
            assert!(errors.is_empty(), "{v} violates the schema: {errors:?}");
            assert_eq!(
                v["method"], "notifications/subscriptions/acknowledged",
                "{v}"
            );
            return (v, stream);
        }
        let n = stream
            .read(&mut buf)
            .expect("the listen stream's first event");
        assert!(n > 0, "the listen stream ended: {text}");
        got.extend_from_slice(&buf[..n]);
    }
}

/// Issue 20: a task is bound to the token subject that created it; another
/// subject's token finds nothing (as for an unknown id) and cannot cancel it.
#[test]
fn tasks_are_bound_to_the_subject() {
    let k = keys();
    let s = start(&k);
    let alice = es256(&k, &s.claims("alice", "lmcp:exec"));
    let bob = es256(&k, &s.claims("bob", "lmcp:exec"));
    let created = tasks_request(
        s.port,
        &alice,
        "tools/call",
        json!({"name": "shell", "arguments": {}}),
    );
    assert_eq!(created["result"]["resultType"], "task", "{created}");
    let id = created["result"]["taskId"].as_str().unwrap().to_owned();
    for m in ["tasks/get", "tasks/cancel"] {
        let r = tasks_request(s.port, &bob, m, json!({"taskId": id}));
        assert_eq!(r["error"]["code"], -32602, "{m} by another subject: {r}");
    }
    // Bob cannot follow Alice's task on a listen stream either: it is left
    // out of his acknowledgement; Alice's names it.
    let (ack, _bob_stream) = listen_for_task(s.port, &bob, &id);
    assert!(
        ack["params"]["notifications"].get("taskIds").is_none(),
        "{ack}"
    );
    let (ack, _alice_stream) = listen_for_task(s.port, &alice, &id);
    assert_eq!(
        ack["params"]["notifications"]["taskIds"],
        json!([id]),
        "{ack}"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let r = tasks_request(s.port, &alice, "tasks/get", json!({"taskId": id}));
        let t = &r["result"];
        assert_eq!(t["taskId"], id.as_str(), "{r}");
        if t["status"] == "completed" {
            assert_eq!(t["result"]["content"][0]["text"], "ran", "{r}");
            break;
        }
        assert_eq!(t["status"], "working", "{r}");
        assert!(std::time::Instant::now() < deadline, "never completed: {r}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
