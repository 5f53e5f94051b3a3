//! The modern caching hints (`ttlMs`, `cacheScope`) a result carries.

use serde_json::Value;

/// The modern caching hints of a result: `ttlMs` and `cacheScope`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheHint {
    /// How long the result may be reused, in milliseconds.
    pub ttl_ms: u64,
    /// `cacheScope: "private"`: only for the user who asked.
    pub private: bool,
}

impl CacheHint {
    /// The stricter of two hints: the smaller ttl; private if either is.
    pub fn min(self, other: CacheHint) -> CacheHint {
        CacheHint {
            ttl_ms: self.ttl_ms.min(other.ttl_ms),
            private: self.private || other.private,
        }
    }

    /// The hints a result carries, if it carries any: a missing `ttlMs`
    /// does not limit the ttl, a missing `cacheScope` is public.
    pub fn of(result: &Value) -> Option<CacheHint> {
        let ttl = result.get("ttlMs").and_then(Value::as_u64);
        let scope = result.get("cacheScope").and_then(Value::as_str);
        if ttl.is_none() && scope.is_none() {
            return None;
        }
        Some(CacheHint {
            ttl_ms: ttl.unwrap_or(u64::MAX),
            private: scope == Some("private"),
        })
    }
}
