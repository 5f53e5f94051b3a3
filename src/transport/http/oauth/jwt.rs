//! JWT access tokens: the header's algorithm must be an asymmetric one
//! (RS256/384/512, PS256/384/512, ES256, ES384, EdDSA; never `none`, never
//! an HMAC), matching the type of the issuer's key it names; then the
//! signature, `iss`, `aud` (must contain this resource), `exp` and `nbf`
//! (60 s leeway).

use super::Refusal;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk};
use jsonwebtoken::{errors::ErrorKind, Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;

/// Clock leeway for `exp` and `nbf`.
pub(super) const LEEWAY_SECS: u64 = 60;

/// The claims lmcp reads.
#[derive(Debug, Deserialize)]
pub(super) struct Claims {
    pub sub: Option<String>,
    pub client_id: Option<String>,
    pub azp: Option<String>,
    /// Space-separated scopes (RFC 9068, RFC 8693).
    pub scope: Option<String>,
    /// Scopes as some servers spell them (a string or an array).
    pub scp: Option<Value>,
}

impl Claims {
    /// Every scope the token holds.
    pub fn scopes(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .scope
            .as_deref()
            .unwrap_or("")
            .split_whitespace()
            .map(String::from)
            .collect();
        match &self.scp {
            Some(Value::String(s)) => out.extend(s.split_whitespace().map(String::from)),
            Some(Value::Array(a)) => {
                out.extend(a.iter().filter_map(Value::as_str).map(String::from))
            }
            _ => {}
        }
        out
    }

    /// Who the token speaks for: `sub`, else the client.
    pub fn subject(&self) -> String {
        self.sub
            .clone()
            .or_else(|| self.client_id.clone())
            .or_else(|| self.azp.clone())
            .unwrap_or_default()
    }
}

/// Whether `token` is shaped like a JWS (three base64url parts).
pub(super) fn looks_like_jwt(token: &str) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    parts.len() == 3
        && parts[..2].iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// The header's algorithm and key id; `none`, HMACs and unknown algorithms
/// are refused here, before any key is looked at.
pub(super) fn header(token: &str) -> Result<(Algorithm, Option<String>), Refusal> {
    let h = jsonwebtoken::decode_header(token).map_err(|e| {
        // jsonwebtoken has no `none` algorithm: such a header fails to parse.
        Refusal::invalid(format!("unreadable or unsupported JWT header ({e})"))
    })?;
    match h.alg {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => Err(Refusal::invalid(format!(
            "JWT signed with {:?}, a shared-secret algorithm; only asymmetric signatures are accepted",
            h.alg
        ))),
        alg => Ok((alg, h.kid)),
    }
}

/// Whether `jwk` can check a signature made with `alg`.
pub(super) fn key_fits(jwk: &Jwk, alg: Algorithm) -> bool {
    use Algorithm::*;
    if let Some(ka) = &jwk.common.key_algorithm {
        if format!("{ka:?}") != format!("{alg:?}") {
            return false;
        }
    }
    match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => matches!(alg, RS256 | RS384 | RS512 | PS256 | PS384 | PS512),
        AlgorithmParameters::EllipticCurve(p) => matches!(
            (&p.curve, alg),
            (EllipticCurve::P256, ES256) | (EllipticCurve::P384, ES384)
        ),
        AlgorithmParameters::OctetKeyPair(p) => p.curve == EllipticCurve::Ed25519 && alg == EdDSA,
        AlgorithmParameters::OctetKey(_) => false,
    }
}

/// Pick the key for a token: the one with its `kid`, or, when the token
/// names none, the only key that fits its algorithm.
pub(super) fn pick<'a>(keys: &'a [Jwk], alg: Algorithm, kid: Option<&str>) -> Option<&'a Jwk> {
    let mut fitting = keys.iter().filter(|k| key_fits(k, alg));
    match kid {
        Some(kid) => fitting.find(|k| k.common.key_id.as_deref() == Some(kid)),
        None => {
            let first = fitting.next();
            if fitting.next().is_some() {
                None
            } else {
                first
            }
        }
    }
}

/// Check the signature and claims of `token` with `jwk`.
pub(super) fn verify(
    token: &str,
    jwk: &Jwk,
    alg: Algorithm,
    issuer: &str,
    audiences: &[String],
) -> Result<Claims, Refusal> {
    let key = DecodingKey::from_jwk(jwk)
        .map_err(|e| Refusal::invalid(format!("the issuer's key cannot be used: {e}")))?;
    let mut v = Validation::new(alg);
    v.leeway = LEEWAY_SECS;
    v.validate_exp = true;
    v.validate_nbf = true;
    v.set_issuer(&[issuer]);
    v.set_audience(audiences);
    v.set_required_spec_claims(&["exp", "iss", "aud"]);
    jsonwebtoken::decode::<Claims>(token, &key, &v)
        .map(|d| d.claims)
        .map_err(|e| {
            Refusal::invalid(match e.kind() {
                ErrorKind::ExpiredSignature => "token expired".to_owned(),
                ErrorKind::ImmatureSignature => "token not valid yet (nbf)".to_owned(),
                ErrorKind::InvalidAudience => {
                    format!("token audience does not contain {}", audiences[0])
                }
                ErrorKind::InvalidIssuer => format!("token issuer is not {issuer}"),
                ErrorKind::InvalidSignature => "bad token signature".to_owned(),
                ErrorKind::MissingRequiredClaim(c) => format!("token lacks the {c} claim"),
                other => format!("token refused: {other:?}"),
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_and_headers() {
        assert!(looks_like_jwt("eyJhbGciOiJSUzI1NiJ9.eyJ9.sig"));
        assert!(!looks_like_jwt("opaque-token"));
        assert!(!looks_like_jwt("a.b"));
        // {"alg":"none"}
        assert!(header("eyJhbGciOiJub25lIn0.e30.").is_err());
        // {"alg":"HS256"}
        assert!(header("eyJhbGciOiJIUzI1NiJ9.e30.x").is_err());
        // {"alg":"ES256","kid":"k"}
        let (alg, kid) = header("eyJhbGciOiJFUzI1NiIsImtpZCI6ImsifQ.e30.x").unwrap();
        assert_eq!((alg, kid.as_deref()), (Algorithm::ES256, Some("k")));
    }

    #[test]
    fn scopes_from_either_claim() {
        let c: Claims = serde_json::from_value(serde_json::json!({
            "scope": "openid lmcp:read", "scp": ["lmcp:write"], "client_id": "c"
        }))
        .unwrap();
        assert_eq!(c.scopes(), ["openid", "lmcp:read", "lmcp:write"]);
        assert_eq!(c.subject(), "c");
    }
}
