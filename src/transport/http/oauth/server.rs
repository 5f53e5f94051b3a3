//! [`ResourceServer`]: the configured issuer and resource, token checks
//! (JWT or introspection), the metadata document and the challenges.

use super::fetch::{Fetcher, Url};
use super::introspect::{introspect, ClientCredentials};
use super::keys::Keys;
use super::scopes::{Level, ALL_SCOPES};
use super::{jwt, Grant, Refusal};
use crate::sync::MutexExt;
use crate::transport::http::respond::{json_response, plain};
use crate::transport::http::Resp;
use hyper::header::{HeaderValue, WWW_AUTHENTICATE};
use hyper::{Method, StatusCode};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where RFC 9728 puts the metadata.
const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";
/// Longest an introspection answer is reused.
const INTROSPECTION_TTL: Duration = Duration::from_secs(60);
/// Most cached introspection answers.
const INTROSPECTION_CACHE: usize = 1024;

/// What the resource server needs to know.
#[derive(Debug, Clone)]
pub struct OAuthConfig {
    /// The authorization server's issuer URL (`--oauth-issuer`).
    pub issuer: String,
    /// This server's canonical resource URI (`--public-url`), e.g.
    /// `https://mcp.example.com/mcp`: the audience tokens must name.
    pub resource: String,
    /// RFC 7662 endpoint for opaque tokens (`--oauth-introspection-url`;
    /// the issuer's `introspection_endpoint` when empty but credentials
    /// are given).
    pub introspection_url: Option<String>,
    /// lmcp's credentials at the introspection endpoint.
    pub client_credentials: Option<ClientCredentials>,
    /// Extra trusted CA certificates (PEM) for the authorization server.
    pub ca_file: Option<PathBuf>,
}

/// Checks access tokens for one resource; see the module docs. Made once
/// at start-up without touching the network.
pub struct ResourceServer {
    cfg: OAuthConfig,
    /// The resource URI and its spelling with/without a trailing slash.
    audiences: Vec<String>,
    metadata_url: String,
    metadata_paths: Vec<String>,
    fetcher: Arc<Fetcher>,
    keys: Keys,
    introspected: Mutex<HashMap<[u8; 32], (Grant, Instant)>>,
}

impl std::fmt::Debug for ResourceServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceServer")
            .field("issuer", &self.cfg.issuer)
            .field("resource", &self.cfg.resource)
            .finish_non_exhaustive()
    }
}

impl ResourceServer {
    /// Check the configuration (URLs, schemes); nothing is fetched yet.
    pub fn new(cfg: OAuthConfig) -> Result<ResourceServer, String> {
        let issuer = Url::parse(&cfg.issuer).map_err(|e| format!("--oauth-issuer: {e}"))?;
        issuer.check_secure("--oauth-issuer")?;
        let public = Url::parse(&cfg.resource).map_err(|e| format!("--public-url: {e}"))?;
        if public.path.contains('?') {
            return Err("--public-url must not have a query".into());
        }
        if let Some(u) = &cfg.introspection_url {
            Url::parse(u)
                .and_then(|p| p.check_secure("--oauth-introspection-url"))
                .map_err(|e| format!("--oauth-introspection-url: {e}"))?;
            if cfg.client_credentials.is_none() {
                return Err(
                    "--oauth-introspection-url needs --oauth-client-credentials-file".into(),
                );
            }
        }
        let resource_path = public.path.trim_end_matches('/').to_owned();
        let metadata_url = format!("{}{WELL_KNOWN}{resource_path}", public.origin());
        let mut metadata_paths = vec![WELL_KNOWN.to_owned()];
        if !resource_path.is_empty() {
            metadata_paths.push(format!("{WELL_KNOWN}{resource_path}"));
        }
        let trimmed = cfg.resource.trim_end_matches('/').to_owned();
        let audiences = vec![cfg.resource.clone(), trimmed.clone(), format!("{trimmed}/")];
        let fetcher = Arc::new(Fetcher::new(cfg.ca_file.clone()));
        Ok(ResourceServer {
            keys: Keys::new(cfg.issuer.clone(), fetcher.clone()),
            fetcher,
            audiences,
            metadata_url,
            metadata_paths,
            introspected: Mutex::new(HashMap::new()),
            cfg,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &OAuthConfig {
        &self.cfg
    }

    /// The absolute URL of the Protected Resource Metadata (path form).
    pub fn metadata_url(&self) -> &str {
        &self.metadata_url
    }

    /// The RFC 9728 document.
    pub fn metadata_document(&self) -> serde_json::Value {
        serde_json::json!({
            "resource": self.cfg.resource,
            "authorization_servers": [self.cfg.issuer],
            "scopes_supported": ALL_SCOPES,
            "bearer_methods_supported": ["header"],
            "resource_name": "lmcp",
        })
    }

    /// Answer a request for the metadata document at `path`; `None` when
    /// `path` is not one of its addresses.
    pub(crate) fn metadata_response(
        &self,
        method: &Method,
        path: &str,
        endpoint: &str,
    ) -> Option<Resp> {
        let endpoint_form = format!("{WELL_KNOWN}{}", endpoint.trim_end_matches('/'));
        if !self.metadata_paths.iter().any(|p| p == path) && path != endpoint_form {
            return None;
        }
        let mut r = match *method {
            Method::GET | Method::HEAD => {
                json_response(StatusCode::OK, &self.metadata_document().to_string())
            }
            Method::OPTIONS => plain(StatusCode::NO_CONTENT, ""),
            _ => plain(StatusCode::METHOD_NOT_ALLOWED, "use GET\n"),
        };
        // Public information a browser-based client may read from any origin.
        let h = r.headers_mut();
        h.insert("access-control-allow-origin", HeaderValue::from_static("*"));
        h.insert(
            "access-control-allow-methods",
            HeaderValue::from_static("GET, OPTIONS"),
        );
        h.insert(
            "access-control-allow-headers",
            HeaderValue::from_static("mcp-protocol-version"),
        );
        Some(r)
    }

    /// A 401 (or other) answer with the Bearer challenge pointing at the
    /// metadata, the scopes to ask for, and `error` when a token was bad.
    pub(crate) fn challenge(&self, status: StatusCode, error: Option<&str>) -> Resp {
        let mut r = super::error_response(
            status,
            None,
            crate::jsonrpc::ErrorObject::invalid_request(match error {
                Some(_) => "Invalid bearer token",
                None => "Missing bearer token: see the WWW-Authenticate header",
            }),
        );
        let mut v = format!("Bearer resource_metadata=\"{}\"", self.metadata_url);
        v.push_str(&format!(", scope=\"{}\"", ALL_SCOPES.join(" ")));
        if let Some(e) = error {
            v.push_str(&format!(", error=\"{e}\""));
        }
        if let Ok(h) = HeaderValue::from_str(&v) {
            r.headers_mut().insert(WWW_AUTHENTICATE, h);
        }
        r
    }

    /// Check `token`: a JWT against the issuer's keys, anything else
    /// through introspection (when configured).
    pub(crate) async fn authenticate(&self, token: &str) -> Result<Grant, Refusal> {
        if token.len() > 16 * 1024 {
            return Err(Refusal::invalid("token longer than 16 KiB"));
        }
        if jwt::looks_like_jwt(token) {
            return self.check_jwt(token).await;
        }
        if self.cfg.client_credentials.is_some() {
            return self.check_opaque(token).await;
        }
        Err(Refusal::invalid(
            "not a JWT, and no introspection is configured (--oauth-introspection-url)",
        ))
    }

    async fn check_jwt(&self, token: &str) -> Result<Grant, Refusal> {
        let (alg, kid) = jwt::header(token)?;
        let keys = self.keys.keys(false).await.map_err(Refusal::unavailable)?;
        let keys = match jwt::pick(&keys, alg, kid.as_deref()) {
            Some(_) => keys,
            // A key we have not seen (rotation): fetch the set again, at
            // most every few seconds.
            None => self.keys.keys(true).await.map_err(Refusal::unavailable)?,
        };
        let Some(jwk) = jwt::pick(&keys, alg, kid.as_deref()) else {
            return Err(Refusal::invalid(format!(
                "no {alg:?} key {} among the issuer's keys",
                kid.map(|k| format!("with kid {k:?}"))
                    .unwrap_or_else(|| "(the token names none)".into())
            )));
        };
        let claims = jwt::verify(token, jwk, alg, &self.cfg.issuer, &self.audiences)?;
        let scopes = claims.scopes();
        Ok(Grant {
            subject: claims.subject(),
            level: Level::from_scopes(scopes.iter().map(String::as_str)),
        })
    }

    async fn check_opaque(&self, token: &str) -> Result<Grant, Refusal> {
        use sha2::{Digest, Sha256};
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        {
            let mut cache = self.introspected.lock_unpoisoned();
            match cache.get(&digest) {
                Some((g, until)) if *until > Instant::now() => return Ok(g.clone()),
                Some(_) => {
                    cache.remove(&digest);
                }
                None => {}
            }
        }
        let endpoint = match &self.cfg.introspection_url {
            Some(u) => u.clone(),
            None => self
                .keys
                .metadata()
                .await
                .map_err(Refusal::unavailable)?
                .introspection_endpoint
                .clone()
                .ok_or_else(|| {
                    Refusal::unavailable(
                        "the issuer publishes no introspection_endpoint: set --oauth-introspection-url",
                    )
                })?,
        };
        let Some(creds) = &self.cfg.client_credentials else {
            return Err(Refusal::unavailable(
                "no client credentials for introspection",
            ));
        };
        let found = introspect(
            &self.fetcher,
            &endpoint,
            creds,
            token,
            &self.cfg.issuer,
            &self.audiences,
        )
        .await?;
        let grant = Grant {
            subject: found.subject,
            level: Level::from_scopes(found.scopes.iter().map(String::as_str)),
        };
        let now_unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let ttl = found
            .exp
            .map(|e| Duration::from_secs(e.saturating_sub(now_unix)))
            .unwrap_or(INTROSPECTION_TTL)
            .min(INTROSPECTION_TTL);
        let mut cache = self.introspected.lock_unpoisoned();
        if cache.len() >= INTROSPECTION_CACHE {
            let now = Instant::now();
            cache.retain(|_, (_, until)| *until > now);
            if cache.len() >= INTROSPECTION_CACHE {
                cache.clear();
            }
        }
        cache.insert(digest, (grant.clone(), Instant::now() + ttl));
        Ok(grant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(issuer: &str, resource: &str) -> OAuthConfig {
        OAuthConfig {
            issuer: issuer.into(),
            resource: resource.into(),
            introspection_url: None,
            client_credentials: None,
            ca_file: None,
        }
    }

    #[test]
    fn configuration() {
        let rs = ResourceServer::new(cfg("https://id.example/realms/r", "https://m.example/mcp"))
            .unwrap();
        assert_eq!(
            rs.metadata_url(),
            "https://m.example/.well-known/oauth-protected-resource/mcp"
        );
        let doc = rs.metadata_document();
        assert_eq!(doc["resource"], "https://m.example/mcp");
        assert_eq!(
            doc["authorization_servers"][0],
            "https://id.example/realms/r"
        );
        assert_eq!(doc["bearer_methods_supported"][0], "header");
        assert!(ResourceServer::new(cfg("http://id.example", "https://m.example/mcp")).is_err());
        assert!(ResourceServer::new(cfg("http://127.0.0.1:5", "http://127.0.0.1:6/mcp")).is_ok());
        assert!(ResourceServer::new(cfg("https://id.example", "mcp.example")).is_err());
    }
}
