//! The HTTP transport as an OAuth 2.1 resource server (the MCP
//! authorization spec): who a bearer token speaks for and what it may do.
//!
//! - [`ResourceServer`] checks access tokens issued by one authorization
//!   server for one resource (`--public-url`, the audience, RFC 8707): JWTs
//!   against the issuer's published keys (discovered lazily, RFC 8414 then
//!   OpenID Connect), opaque tokens through RFC 7662 introspection.
//! - It publishes Protected Resource Metadata (RFC 9728) and answers every
//!   401 with a `WWW-Authenticate: Bearer resource_metadata="…"` challenge
//!   from which a client discovers everything else.
//! - A checked token becomes a `Grant`: a subject (legacy sessions are
//!   bound to it) and a [`Level`] from its `lmcp:*` scopes, which filters
//!   `tools/list` and refuses other calls with 403 `insufficient_scope`.
//! - The static token (`--auth-token-file`) keeps working beside it and
//!   grants everything.
//!
//! Tokens are read only from the `Authorization` header and never logged;
//! a refusal's reason goes to the log, the client sees `invalid_token`.

#[cfg(feature = "oauth")]
mod fetch;
#[cfg(feature = "oauth")]
mod introspect;
#[cfg(feature = "oauth")]
mod jwt;
#[cfg(feature = "oauth")]
mod keys;
mod scopes;
#[cfg(feature = "oauth")]
mod server;

#[cfg(feature = "oauth")]
pub use introspect::ClientCredentials;
pub use scopes::{tool_level, Level, ALL_SCOPES, SCOPE_EXEC, SCOPE_READ, SCOPE_WRITE};
#[cfg(feature = "oauth")]
pub use server::{OAuthConfig, ResourceServer};

use super::{error_response, security::constant_time_eq, Resp, State};
use crate::jsonrpc::ErrorObject;
use crate::protocol::Method;
use crate::sync::MutexExt;
use hyper::header::{HeaderValue, WWW_AUTHENTICATE};
use hyper::{HeaderMap, StatusCode};

/// What an authenticated request may do, and for whom it speaks. Put in
/// the request's extensions by the router once its token is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Grant {
    /// The token's subject (`sub`, or the client when it has none).
    pub subject: String,
    /// The highest `lmcp:*` scope it holds.
    pub level: Level,
}

/// Why a token was refused.
#[derive(Debug, Clone)]
#[cfg_attr(not(feature = "oauth"), allow(dead_code))]
pub(crate) enum Refusal {
    /// The token is not good here (401 `invalid_token`); the reason is logged.
    Invalid(String),
    /// The authorization server could not be asked (503); the reason is logged.
    Unavailable(String),
}

#[cfg_attr(not(feature = "oauth"), allow(dead_code))]
impl Refusal {
    pub(crate) fn invalid(why: impl Into<String>) -> Refusal {
        Refusal::Invalid(why.into())
    }
    pub(crate) fn unavailable(why: impl Into<String>) -> Refusal {
        Refusal::Unavailable(why.into())
    }
}

/// The `Bearer` token of the request's single `Authorization` header (the
/// scheme matched case-insensitively); never from the query string.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let mut all = headers.get_all(hyper::header::AUTHORIZATION).iter();
    let value = all.next()?.to_str().ok()?;
    if all.next().is_some() {
        return None;
    }
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim_matches(' ');
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Check the request's credentials when the endpoint needs any: `Ok(None)`
/// when it does not, `Ok(Some(grant))` for a good token, the 401 (or 503)
/// answer otherwise.
pub(super) async fn authorize(state: &State, headers: &HeaderMap) -> Result<Option<Grant>, Resp> {
    let static_token = state.opts.auth_token.as_deref();
    #[cfg(feature = "oauth")]
    let server = state.opts.oauth.as_deref();
    #[cfg(not(feature = "oauth"))]
    let server: Option<&NoServer> = None;
    if static_token.is_none() && server.is_none() {
        return Ok(None);
    }
    let given = bearer(headers);
    if let (Some(g), Some(t)) = (given, static_token) {
        if constant_time_eq(g.as_bytes(), t.as_bytes()) {
            return Ok(Some(Grant {
                subject: "static token".into(),
                level: Level::Exec,
            }));
        }
    }
    let Some(server) = server else {
        return Err(static_challenge());
    };
    let Some(token) = given else {
        return Err(server.challenge(StatusCode::UNAUTHORIZED, None));
    };
    // Boxed, as `post` is in `route`: a connection's service future is as
    // large as its largest branch and lives as long as the connection.
    match Box::pin(server.authenticate(token)).await {
        Ok(g) => Ok(Some(g)),
        Err(Refusal::Invalid(why)) => {
            log::warn!("oauth: bearer token refused: {why}");
            Err(server.challenge(StatusCode::UNAUTHORIZED, Some("invalid_token")))
        }
        Err(Refusal::Unavailable(why)) => {
            log::error!("oauth: cannot check a bearer token: {why}");
            Err(error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                None,
                ErrorObject::internal(
                    "The authorization server cannot be reached to check the token; retry later",
                ),
            ))
        }
    }
}

/// Stand-in when lmcp is built without the `oauth` feature.
#[cfg(not(feature = "oauth"))]
struct NoServer;

#[cfg(not(feature = "oauth"))]
impl NoServer {
    async fn authenticate(&self, _token: &str) -> Result<Grant, Refusal> {
        Err(Refusal::unavailable("built without the oauth feature"))
    }
    fn challenge(&self, _status: StatusCode, _error: Option<&str>) -> Resp {
        static_challenge()
    }
}

/// The 401 of the static token alone (no OAuth configured).
fn static_challenge() -> Resp {
    let mut r = error_response(
        StatusCode::UNAUTHORIZED,
        None,
        ErrorObject::invalid_request("Missing or wrong bearer token"),
    );
    r.headers_mut().insert(
        WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"lmcp\""),
    );
    r
}

/// The Protected Resource Metadata document, when `path` is one of its
/// addresses and OAuth is configured.
pub(super) fn metadata_route(state: &State, method: &hyper::Method, path: &str) -> Option<Resp> {
    #[cfg(feature = "oauth")]
    if let Some(server) = state.opts.oauth.as_deref() {
        return server.metadata_response(method, path, &state.opts.path);
    }
    let _ = (state, method, path);
    None
}

/// The 403 answer when `grant` may not run `method` (with `params`), with
/// the scope challenge naming the scope that would.
pub(super) fn scope_refusal(
    state: &State,
    grant: Option<&Grant>,
    method: &str,
    params: &serde_json::Map<String, serde_json::Value>,
    id: Option<crate::jsonrpc::RequestId>,
) -> Option<Resp> {
    let grant = grant?;
    let tool = params.get("name").and_then(|n| n.as_str());
    let parsed = Method::parse(method);
    let needed = scopes::request_level(parsed, tool);
    if needed <= grant.level {
        return None;
    }
    let what = match tool {
        Some(n) if parsed == Some(Method::ToolsCall) => format!("tool {n}"),
        _ => method.to_owned(),
    };
    log::warn!(
        "oauth: {what} refused to {:?}: it needs {}",
        grant.subject,
        needed.scope()
    );
    let mut r = error_response(
        StatusCode::FORBIDDEN,
        id,
        ErrorObject::invalid_request(format!(
            "Insufficient scope: {what} needs {}",
            needed.scope()
        )),
    );
    #[cfg_attr(not(feature = "oauth"), allow(unused_mut))]
    let mut challenge = format!(
        "Bearer error=\"insufficient_scope\", scope=\"{}\"",
        needed.scope()
    );
    #[cfg(feature = "oauth")]
    if let Some(server) = state.opts.oauth.as_deref() {
        challenge.push_str(&format!(
            ", resource_metadata=\"{}\"",
            server.metadata_url()
        ));
    }
    let _ = state;
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        r.headers_mut().insert(WWW_AUTHENTICATE, v);
    }
    Some(r)
}

/// The 403 answer when a legacy session opened by one subject is used with
/// another subject's token.
pub(super) fn session_refusal(
    state: &State,
    session: Option<&str>,
    grant: Option<&Grant>,
) -> Option<Resp> {
    let (id, grant) = (session?, grant?);
    let owner = {
        let map = state.sessions.lock_unpoisoned();
        map.get(id)?.owner.clone()
    };
    if owner.as_deref().is_none_or(|o| o == grant.subject) {
        return None;
    }
    log::warn!(
        "oauth: a legacy session of {:?} was used with a token of {:?}; refused",
        owner.unwrap_or_default(),
        grant.subject
    );
    #[cfg_attr(not(feature = "oauth"), allow(unused_mut))]
    let mut r = error_response(
        StatusCode::FORBIDDEN,
        None,
        ErrorObject::invalid_request(
            "This session belongs to another user: send initialize to open your own",
        ),
    );
    #[cfg(feature = "oauth")]
    if let Some(server) = state.opts.oauth.as_deref() {
        if let Ok(v) = HeaderValue::from_str(&format!(
            "Bearer resource_metadata=\"{}\"",
            server.metadata_url()
        )) {
            r.headers_mut().insert(WWW_AUTHENTICATE, v);
        }
    }
    Some(r)
}

/// The 403 answer when a JSON-RPC batch holds a request `grant` may not run.
pub(super) fn batch_refusal(
    state: &State,
    grant: Option<&Grant>,
    items: &[serde_json::Value],
) -> Option<Resp> {
    grant?;
    items.iter().find_map(|item| {
        let method = item.get("method")?.as_str()?;
        let empty = serde_json::Map::new();
        let params = item
            .get("params")
            .and_then(|p| p.as_object())
            .unwrap_or(&empty);
        scope_refusal(state, grant, method, params, None)
    })
}

/// Drop the tools `grant` may not call from the `tools/list` answers of a
/// batch (`items` are the requests, `answers` their responses).
pub(super) fn filter_batch(
    grant: Option<&Grant>,
    items: &[serde_json::Value],
    answers: &mut [crate::jsonrpc::Response],
) {
    if grant.is_none() {
        return;
    }
    for a in answers.iter_mut() {
        let asked = items.iter().find(|i| {
            i.get("method")
                .and_then(|m| m.as_str())
                .and_then(Method::parse)
                == Some(Method::ToolsList)
                && a.id
                    .as_ref()
                    .and_then(|id| serde_json::to_value(id).ok())
                    .as_ref()
                    == i.get("id")
        });
        if asked.is_some() {
            filter_answer(grant, Some(Method::ToolsList), a);
        }
    }
}

/// Drop the tools `grant` may not call from a `tools/list` answer.
pub(super) fn filter_answer(
    grant: Option<&Grant>,
    method: Option<Method>,
    resp: &mut crate::jsonrpc::Response,
) {
    if let (Some(g), Some(Method::ToolsList), Ok(result)) = (grant, method, resp.outcome.as_mut()) {
        scopes::filter_tool_list(result, g.level);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_header() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert("authorization", HeaderValue::from_static("bearer abc"));
        assert_eq!(bearer(&h), Some("abc"));
        h.insert("authorization", HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&h), None);
        h.insert("authorization", HeaderValue::from_static("Bearer "));
        assert_eq!(bearer(&h), None);
        h.insert("authorization", HeaderValue::from_static("Bearer a"));
        h.append("authorization", HeaderValue::from_static("Bearer b"));
        assert_eq!(bearer(&h), None);
    }
}
