//! The authorization server's metadata (RFC 8414, then OpenID Connect
//! discovery) and its signing keys (`jwks_uri`), fetched on first use and
//! cached. A token naming a key the cache lacks triggers one refresh, at
//! most every [`REFRESH_EVERY`]; failed fetches are retried no sooner.

use super::fetch::{Fetcher, Url};
use crate::sync::MutexExt;
use jsonwebtoken::jwk::Jwk;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Least time between two fetches of the keys (or of the metadata after a
/// failure): a flood of tokens with made-up key ids costs one fetch.
pub(super) const REFRESH_EVERY: Duration = Duration::from_secs(10);

/// What lmcp uses of the authorization server's metadata.
#[derive(Debug, Clone)]
pub(super) struct Metadata {
    /// `jwks_uri`.
    pub jwks_uri: Option<String>,
    /// `introspection_endpoint`.
    pub introspection_endpoint: Option<String>,
}

#[derive(Default)]
struct Cache {
    meta: Option<Arc<Metadata>>,
    keys: Option<Arc<Vec<Jwk>>>,
    /// When the keys (or metadata) were last fetched or tried.
    last_try: Option<Instant>,
    last_error: Option<String>,
}

/// Metadata and keys of one issuer.
pub(super) struct Keys {
    issuer: String,
    fetcher: Arc<Fetcher>,
    cache: Mutex<Cache>,
    /// Serialises fetches: concurrent misses wait for one fetch.
    fetching: tokio::sync::Mutex<()>,
}

impl Keys {
    pub fn new(issuer: String, fetcher: Arc<Fetcher>) -> Keys {
        Keys {
            issuer,
            fetcher,
            cache: Mutex::new(Cache::default()),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock_unpoisoned()
    }

    /// The issuer's metadata, discovered on first use.
    pub async fn metadata(&self) -> Result<Arc<Metadata>, String> {
        if let Some(m) = self.cache().meta.clone() {
            return Ok(m);
        }
        let _one = self.fetching.lock().await;
        if let Some(m) = self.cache().meta.clone() {
            return Ok(m);
        }
        self.throttle()?;
        let r = discover(&self.fetcher, &self.issuer).await;
        let mut c = self.cache();
        c.last_try = Some(Instant::now());
        match r {
            Ok(m) => {
                let m = Arc::new(m);
                c.meta = Some(m.clone());
                c.last_error = None;
                Ok(m)
            }
            Err(e) => {
                c.last_error = Some(e.clone());
                Err(e)
            }
        }
    }

    /// A failed fetch is not retried within [`REFRESH_EVERY`].
    fn throttle(&self) -> Result<(), String> {
        let c = self.cache();
        match (&c.last_error, c.last_try) {
            (Some(e), Some(t)) if t.elapsed() < REFRESH_EVERY => Err(e.clone()),
            _ => Ok(()),
        }
    }

    /// The cached keys, fetched on first use; with `refresh`, fetched again
    /// unless they were fetched within [`REFRESH_EVERY`].
    pub async fn keys(&self, refresh: bool) -> Result<Arc<Vec<Jwk>>, String> {
        let fresh_enough = |c: &Cache| {
            c.keys.is_some()
                && (!refresh || c.last_try.is_some_and(|t| t.elapsed() < REFRESH_EVERY))
        };
        {
            let c = self.cache();
            if fresh_enough(&c) {
                return Ok(c.keys.clone().unwrap_or_default());
            }
        }
        let meta = self.metadata().await?;
        let _one = self.fetching.lock().await;
        {
            let c = self.cache();
            if fresh_enough(&c) {
                return Ok(c.keys.clone().unwrap_or_default());
            }
        }
        self.throttle()?;
        let Some(uri) = meta.jwks_uri.clone() else {
            return Err(format!(
                "the metadata of {} has no jwks_uri: JWT access tokens cannot be checked (configure --oauth-introspection-url for opaque tokens)",
                self.issuer
            ));
        };
        let r = self
            .fetcher
            .get_json(&uri)
            .await
            .and_then(|v| parse_jwks(&v));
        let mut c = self.cache();
        c.last_try = Some(Instant::now());
        match r {
            Ok(keys) => {
                log::info!("oauth: fetched {} signing key(s) from {uri}", keys.len());
                let keys = Arc::new(keys);
                c.keys = Some(keys.clone());
                c.last_error = None;
                Ok(keys)
            }
            Err(e) => {
                c.last_error = Some(e.clone());
                // Keep serving with the keys we had.
                c.keys.clone().ok_or(e)
            }
        }
    }
}

/// The signing keys of a JWKS document; keys lmcp cannot use (encryption
/// keys, unknown types or algorithms) are skipped.
fn parse_jwks(v: &Value) -> Result<Vec<Jwk>, String> {
    let Some(keys) = v.get("keys").and_then(Value::as_array) else {
        return Err("the JWKS document has no \"keys\" array".into());
    };
    Ok(keys
        .iter()
        .filter_map(|k| match serde_json::from_value::<Jwk>(k.clone()) {
            Ok(j) => Some(j),
            Err(e) => {
                log::debug!("oauth: skipping a key lmcp cannot use: {e}");
                None
            }
        })
        .filter(|j| {
            !matches!(
                j.common.public_key_use,
                Some(jsonwebtoken::jwk::PublicKeyUse::Encryption)
            )
        })
        .collect())
}

/// The metadata URLs to try for `issuer`, in order: RFC 8414 (path
/// inserted after the well-known prefix), OpenID Connect with the path
/// inserted, OpenID Connect appended to the issuer.
pub(super) fn discovery_urls(issuer: &str) -> Result<Vec<String>, String> {
    let u = Url::parse(issuer)?;
    let path = u.path.trim_end_matches('/');
    let origin = u.origin();
    let mut urls = vec![format!(
        "{origin}/.well-known/oauth-authorization-server{path}"
    )];
    if path.is_empty() {
        urls.push(format!("{origin}/.well-known/openid-configuration"));
    } else {
        urls.push(format!("{origin}/.well-known/openid-configuration{path}"));
        urls.push(format!("{origin}{path}/.well-known/openid-configuration"));
    }
    Ok(urls)
}

async fn discover(fetcher: &Fetcher, issuer: &str) -> Result<Metadata, String> {
    let mut errors = Vec::new();
    for url in discovery_urls(issuer)? {
        let v = match fetcher.get_json(&url).await {
            Ok(v) => v,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        // RFC 8414 3.3: the metadata must name the issuer it was asked for.
        let named = v.get("issuer").and_then(Value::as_str).unwrap_or("");
        if named.trim_end_matches('/') != issuer.trim_end_matches('/') {
            return Err(format!(
                "{url} names issuer {named:?}, not {issuer:?}: check --oauth-issuer"
            ));
        }
        let text = |k: &str| v.get(k).and_then(Value::as_str).map(String::from);
        let meta = Metadata {
            jwks_uri: text("jwks_uri"),
            introspection_endpoint: text("introspection_endpoint"),
        };
        for u in meta.jwks_uri.iter().chain(&meta.introspection_endpoint) {
            Url::parse(u)?.check_secure("the authorization server's endpoint")?;
        }
        log::info!("oauth: discovered {issuer} at {url}");
        return Ok(meta);
    }
    Err(format!(
        "cannot discover the authorization server {issuer}: {}",
        errors.join("; ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn well_known_urls() {
        assert_eq!(
            discovery_urls("https://a.example/realms/r").unwrap(),
            [
                "https://a.example/.well-known/oauth-authorization-server/realms/r",
                "https://a.example/.well-known/openid-configuration/realms/r",
                "https://a.example/realms/r/.well-known/openid-configuration"
            ]
        );
        assert_eq!(
            discovery_urls("http://127.0.0.1:9/").unwrap(),
            [
                "http://127.0.0.1:9/.well-known/oauth-authorization-server",
                "http://127.0.0.1:9/.well-known/openid-configuration"
            ]
        );
    }

    #[test]
    fn jwks_skips_unusable_keys() {
        let v = json!({"keys": [
            {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": "a"},
            {"kty": "RSA", "use": "enc", "n": "AQAB", "e": "AQAB", "kid": "enc"},
            {"kty": "weird", "kid": "w"}
        ]});
        let keys = parse_jwks(&v).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].common.key_id.as_deref(), Some("a"));
        assert!(parse_jwks(&json!({})).is_err());
    }
}
