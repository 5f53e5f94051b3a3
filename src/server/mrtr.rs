//! Multi round-trip requests (modern era): the state a handler carries
//! across the client's retries, and its integrity-protected encoding.
//!
//! A handler that needs client input calls [`super::RequestContext::input`].
//! In the modern era the engine answers with an `InputRequiredResult` listing
//! the request under a key (`lmcp-0`, `lmcp-1`, … in call order) and a
//! `requestState` holding every answer collected so far, signed with
//! HMAC-SHA256 and bound to the method, a digest of the salient parameters
//! and an expiry. On the retry the state is verified, merged with the new
//! `inputResponses`, and the handler runs again, now finding its answers.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::time::{SystemTime, UNIX_EPOCH};

/// A request for client input.
#[derive(Debug, Clone, PartialEq)]
pub enum InputRequest {
    /// `elicitation/create` with these params.
    Elicit(Value),
    /// `sampling/createMessage` with these params.
    Sampling(Value),
    /// `roots/list`.
    Roots,
}

impl InputRequest {
    /// The JSON-RPC method of the request.
    pub fn method(&self) -> &'static str {
        match self {
            InputRequest::Elicit(_) => "elicitation/create",
            InputRequest::Sampling(_) => "sampling/createMessage",
            InputRequest::Roots => "roots/list",
        }
    }
    /// The params of the request.
    pub fn params(&self) -> Map<String, Value> {
        match self {
            InputRequest::Elicit(Value::Object(m)) | InputRequest::Sampling(Value::Object(m)) => {
                m.clone()
            }
            _ => Map::new(),
        }
    }
    /// The client capability the request needs.
    pub fn required_capability(&self) -> &'static str {
        match self {
            InputRequest::Elicit(_) => "elicitation",
            InputRequest::Sampling(_) => "sampling",
            InputRequest::Roots => "roots",
        }
    }
    /// The part of [`Self::required_capability`] the request needs
    /// beyond the capability itself: `url` for a URL-mode elicitation,
    /// `tools` for sampling that offers tools. Form elicitation and plain
    /// sampling need only the top-level capability.
    pub fn required_sub_capability(&self) -> Option<&'static str> {
        match self {
            InputRequest::Elicit(p) if p.get("mode").and_then(Value::as_str) == Some("url") => {
                Some("url")
            }
            InputRequest::Sampling(p)
                if p.get("tools")
                    .and_then(Value::as_array)
                    .is_some_and(|t| !t.is_empty()) =>
            {
                Some("tools")
            }
            _ => None,
        }
    }
    /// The `InputRequest` object of the wire (`{method, params}`).
    pub fn to_value(&self) -> Value {
        let params = self.params();
        if params.is_empty() {
            json!({ "method": self.method() })
        } else {
            json!({ "method": self.method(), "params": params })
        }
    }
}

/// Input a handler is waiting for: each key and its request.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingInput {
    /// The requests, under the keys of `inputRequests`.
    pub requests: Vec<(String, InputRequest)>,
}

impl PendingInput {
    pub(crate) fn new(requests: Vec<(String, InputRequest)>) -> Self {
        PendingInput { requests }
    }
}

/// The answers a handler has so far, and how many automatic keys it used.
#[derive(Debug, Default, Clone)]
pub struct MrtrState {
    responses: Map<String, Value>,
    next: usize,
}

impl MrtrState {
    /// State seeded with the answers of earlier rounds.
    pub fn with_responses(responses: Map<String, Value>) -> Self {
        MrtrState { responses, next: 0 }
    }
    /// The next automatic key (`lmcp-0`, `lmcp-1`, … in call order).
    pub(crate) fn next_key(&mut self) -> String {
        let key = format!("lmcp-{}", self.next);
        self.next += 1;
        key
    }
    /// The answer under `key`, if the client gave one.
    pub(crate) fn answer(&self, key: &str) -> Option<&Value> {
        self.responses.get(key)
    }
    /// Every answer collected so far.
    pub fn responses(&self) -> &Map<String, Value> {
        &self.responses
    }
}

/// Turns a shared secret into the 32-byte key of MRTR `requestState`
/// signatures (`ServerBuilder::request_state_key`), so several instances
/// behind a load balancer accept each other's states. The secret is hashed
/// (SHA-256, domain-separated); it must hold at least 16 bytes once
/// surrounding whitespace is trimmed.
pub fn state_key_from_secret(secret: &[u8]) -> Result<[u8; 32], String> {
    let secret = secret.trim_ascii();
    if secret.len() < 16 {
        return Err(format!(
            "the request-state secret has {} bytes; use at least 16 random bytes (e.g. `head -c 32 /dev/urandom | base64`)",
            secret.len()
        ));
    }
    let mut h = Sha256::new();
    h.update(b"lmcp requestState key v1\0");
    h.update(secret);
    Ok(h.finalize().into())
}

/// Signs and verifies `requestState` strings.
pub struct StateSigner {
    /// `None` when the OS random number generator failed and no key was
    /// configured: states are then issued unsigned and never accepted.
    key: Option<[u8; 32]>,
    ttl_secs: u64,
}

/// Why a `requestState` was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateError {
    /// Not produced by this server, or altered.
    BadSignature,
    /// Past its expiry.
    Expired,
    /// Produced for a different request.
    WrongRequest,
    /// This server has no signing key (the OS random number generator
    /// failed at start-up and none was configured), so it trusts no state.
    NoKey,
}

impl std::fmt::Display for StateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StateError::BadSignature => "requestState failed verification (altered, or minted by another server process); retry the request without requestState",
            StateError::Expired => "requestState has expired; retry the request without requestState",
            StateError::WrongRequest => "requestState belongs to a different request; retry the request without requestState",
            StateError::NoKey => "this server cannot verify requestState: the OS random number generator failed when it started and no state key was configured; restart it with a state key (lmcp: --state-key-file or LMCP_STATE_KEY)",
        })
    }
}

type HmacSha256 = Hmac<Sha256>;

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A digest binding the state to the method and its salient params.
pub fn request_digest(method: &str, salient: &Value) -> String {
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update([0]);
    h.update(serde_json::to_vec(salient).unwrap_or_default());
    B64.encode(&h.finalize()[..16])
}

impl StateSigner {
    /// A signer with a random key (state is valid for this process only).
    pub fn random(ttl_secs: u64) -> Self {
        let mut key = [0u8; 32];
        // Without randomness there is no secret key: rather than sign with a
        // guessable one, trust no state at all (input rounds then fail with
        // StateError::NoKey, which says how to fix it).
        let key = match getrandom::fill(&mut key) {
            Ok(()) => Some(key),
            Err(e) => {
                log::error!(
                    "OS random number generator unavailable ({e}); requestState will be refused: configure a state key"
                );
                None
            }
        };
        StateSigner { key, ttl_secs }
    }

    /// A signer with a fixed key (to share state between server instances).
    pub fn with_key(key: [u8; 32], ttl_secs: u64) -> Self {
        StateSigner {
            key: Some(key),
            ttl_secs,
        }
    }

    /// A signer without a key: what [`StateSigner::random`] gives when the
    /// OS has no randomness. Its states are never accepted.
    #[cfg(test)]
    fn without_key(ttl_secs: u64) -> Self {
        StateSigner {
            key: None,
            ttl_secs,
        }
    }

    fn mac(&self, key: &[u8; 32], payload: &[u8]) -> Vec<u8> {
        let mut m = <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC takes any key length");
        m.update(payload);
        m.finalize().into_bytes().to_vec()
    }

    /// Encode the answers collected for the request with this digest.
    pub fn seal(&self, digest: &str, responses: &Map<String, Value>) -> String {
        let payload = json!({"d": digest, "e": now_secs() + self.ttl_secs, "r": responses});
        let bytes = serde_json::to_vec(&payload).unwrap_or_default();
        let mac = self.key.map(|k| self.mac(&k, &bytes)).unwrap_or_default();
        format!("{}.{}", B64.encode(&bytes), B64.encode(mac))
    }

    /// Verify a state and return the answers it carries.
    pub fn open(&self, state: &str, digest: &str) -> Result<Map<String, Value>, StateError> {
        let key = self.key.ok_or(StateError::NoKey)?;
        let (p, m) = state.split_once('.').ok_or(StateError::BadSignature)?;
        let payload = B64.decode(p).map_err(|_| StateError::BadSignature)?;
        let mac = B64.decode(m).map_err(|_| StateError::BadSignature)?;
        let mut check =
            <HmacSha256 as Mac>::new_from_slice(&key).expect("HMAC takes any key length");
        check.update(&payload);
        check
            .verify_slice(&mac)
            .map_err(|_| StateError::BadSignature)?;
        let v: Value = serde_json::from_slice(&payload).map_err(|_| StateError::BadSignature)?;
        if v["e"].as_u64().unwrap_or(0) < now_secs() {
            return Err(StateError::Expired);
        }
        if v["d"].as_str() != Some(digest) {
            return Err(StateError::WrongRequest);
        }
        Ok(v["r"].as_object().cloned().unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Method;

    #[test]
    fn without_a_key_no_state_is_accepted() {
        let s = StateSigner::without_key(60);
        let d = request_digest(Method::ToolsCall.as_str(), &json!({"name": "x"}));
        let state = s.seal(&d, &Map::new());
        assert_eq!(s.open(&state, &d), Err(StateError::NoKey));
        // Not even one signed with the all-zero key a naive fallback would use.
        let zero = StateSigner::with_key([0; 32], 60).seal(&d, &Map::new());
        assert_eq!(s.open(&zero, &d), Err(StateError::NoKey));
        assert!(StateError::NoKey.to_string().contains("--state-key-file"));
    }

    #[test]
    fn seal_and_open() {
        let s = StateSigner::random(60);
        let mut r = Map::new();
        r.insert("lmcp-0".into(), json!({"action": "accept"}));
        let d = request_digest(Method::ToolsCall.as_str(), &json!({"name": "x"}));
        let state = s.seal(&d, &r);
        assert_eq!(s.open(&state, &d).unwrap(), r);
        let other = request_digest(Method::ToolsCall.as_str(), &json!({"name": "y"}));
        assert_eq!(s.open(&state, &other), Err(StateError::WrongRequest));
        let mut tampered = state.clone();
        tampered.insert(3, 'A');
        assert_eq!(s.open(&tampered, &d), Err(StateError::BadSignature));
        assert_eq!(
            StateSigner::random(60).open(&state, &d),
            Err(StateError::BadSignature)
        );
        let expired = StateSigner::with_key([1; 32], 0);
        let st = expired.seal(&d, &r);
        std::thread::sleep(std::time::Duration::from_millis(1100));
        assert_eq!(expired.open(&st, &d), Err(StateError::Expired));
    }

    #[test]
    fn state_hands_out_keys_in_order() {
        let mut r = Map::new();
        r.insert("lmcp-0".into(), json!(1));
        let mut st = MrtrState::with_responses(r);
        let k = st.next_key();
        assert_eq!(st.answer(&k), Some(&json!(1)));
        assert_eq!(st.next_key(), "lmcp-1");
        assert_eq!(st.answer("lmcp-1"), None);
    }
}
