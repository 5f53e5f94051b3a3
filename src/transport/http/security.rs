//! Who may talk to the endpoint: `Origin` allow-list, constant-time token
//! comparison, unguessable session ids.

use super::*;

/// Compare a presented token with the configured one in time that depends
/// on neither's content nor on the configured token's length: both are
/// hashed (SHA-256) and the digests compared without an early exit.
pub(super) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use sha2::{Digest, Sha256};
    let (x, y) = (Sha256::digest(a), Sha256::digest(b));
    let diff = x
        .iter()
        .zip(y.iter())
        .fold(0u8, |acc, (p, q)| acc | (p ^ q));
    std::hint::black_box(diff) == 0
}

pub(super) fn is_loopback_origin(origin: &str) -> bool {
    let Some(rest) = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
    else {
        return false;
    };
    let host = if let Some(v6) = rest.strip_prefix('[') {
        return v6.split(']').next() == Some("::1");
    } else {
        rest.split(':').next().unwrap_or("")
    };
    matches!(host, "localhost" | "127.0.0.1")
}

impl State {
    pub(super) fn origin_allowed(&self, origin: &str) -> bool {
        is_loopback_origin(origin)
            || self
                .opts
                .allowed_origins
                .iter()
                .any(|o| o == "*" || o == origin)
    }
}

/// A session id of 128 random bits from the OS generator, hex-encoded;
/// `None` when the generator fails (a guessable id is never handed out).
pub(super) fn new_session_id() -> Option<String> {
    let mut b = [0u8; 16];
    if let Err(e) = getrandom::fill(&mut b) {
        log::error!("OS random number generator unavailable ({e}); refusing to open a session");
        return None;
    }
    Some(b.iter().map(|x| format!("{x:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        assert!(is_loopback_origin("http://localhost:3000"));
        assert!(is_loopback_origin("http://127.0.0.1"));
        assert!(is_loopback_origin("https://[::1]:8080"));
        assert!(!is_loopback_origin("http://evil.com"));
        assert!(!is_loopback_origin("http://localhost.evil.com"));
        assert!(!is_loopback_origin("null"));
    }

    #[test]
    fn token_compare() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(!constant_time_eq(b"", b"a"));
        assert!(constant_time_eq(b"", b""));
    }
}
