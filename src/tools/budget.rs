//! The output budget every built-in tool result is sized against, and the
//! tamper-evident cursors that page through results larger than it.
//!
//! Agents pay for every byte a tool returns, and clients cut results past
//! about 25,000 tokens. So each tool answers at most a budget of bytes of
//! text (default [`DEFAULT_MAX_RESULT_BYTES`], set by `--max-result-bytes`);
//! a call may ask for less (`max_bytes`), never for more. What does not fit
//! is reachable: `read_file` says which `offset` continues, `search_files`
//! and `list_dir` return a `next_cursor`.
//!
//! A cursor is the position after the last item shown plus a digest of the
//! query it belongs to, signed with a key made at random for this process
//! (HMAC-SHA-256). A cursor from another query, an altered one, one from an
//! earlier server process or an expired one is refused with an error naming
//! the `cursor` argument.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// The default budget of a tool result: 64 KiB of text, about 16k tokens.
pub const DEFAULT_MAX_RESULT_BYTES: usize = 64 * 1024;

/// The smallest budget a call may ask for: room for a note saying how to go on.
pub const MIN_RESULT_BYTES: usize = 256;

/// How long a cursor stays valid, in seconds.
const CURSOR_TTL_SECS: u64 = 3600;

/// The budget of one call: the server's `max` lowered by the call's `asked`
/// (never raised past `max`, never below [`MIN_RESULT_BYTES`]).
pub fn effective(max: usize, asked: Option<u64>) -> usize {
    let max = max.max(MIN_RESULT_BYTES);
    match asked {
        Some(a) => usize::try_from(a)
            .unwrap_or(usize::MAX)
            .clamp(MIN_RESULT_BYTES, max),
        None => max,
    }
}

type HmacSha256 = Hmac<Sha256>;

/// The per-process cursor key, made on first use (never at start-up).
fn key() -> Option<&'static [u8; 32]> {
    static KEY: OnceLock<Option<[u8; 32]>> = OnceLock::new();
    KEY.get_or_init(|| {
        let mut k = [0u8; 32];
        match getrandom::fill(&mut k) {
            Ok(()) => Some(k),
            Err(e) => {
                log::error!(
                    "no OS randomness ({e}): result cursors cannot be signed and are refused"
                );
                None
            }
        }
    })
    .as_ref()
}

/// A digest of the arguments that define a query (everything but the page
/// size and the cursor): a cursor only continues the query it came from.
pub fn query_digest(tool: &str, query: &Value) -> String {
    let mut h = Sha256::new();
    h.update(tool.as_bytes());
    h.update([0]);
    h.update(serde_json::to_vec(query).unwrap_or_default());
    B64.encode(&h.finalize()[..16])
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn mac(key: &[u8; 32], payload: &[u8]) -> HmacSha256 {
    let mut m = <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(payload);
    m
}

/// A signed cursor continuing the query with `digest` after `position`.
pub fn seal_cursor(digest: &str, position: Value) -> String {
    let payload = json!({"q": digest, "e": now_secs() + CURSOR_TTL_SECS, "p": position});
    let bytes = serde_json::to_vec(&payload).unwrap_or_default();
    let sig = key()
        .map(|k| mac(k, &bytes).finalize().into_bytes().to_vec())
        .unwrap_or_default();
    format!("{}.{}", B64.encode(&bytes), B64.encode(sig))
}

/// The position a cursor carries, if it is genuine, fresh and belongs to
/// the query with `digest`; otherwise a message naming the argument.
pub fn open_cursor(cursor: &str, digest: &str) -> Result<Value, String> {
    let forged = || {
        "invalid `cursor`: it was altered or comes from another server process; \
         repeat the call without `cursor` to start from the beginning"
            .to_owned()
    };
    let key = key().ok_or_else(forged)?;
    let (p, s) = cursor.split_once('.').ok_or_else(forged)?;
    let payload = B64.decode(p).map_err(|_| forged())?;
    let sig = B64.decode(s).map_err(|_| forged())?;
    mac(key, &payload)
        .verify_slice(&sig)
        .map_err(|_| forged())?;
    let v: Value = serde_json::from_slice(&payload).map_err(|_| forged())?;
    if v["e"].as_u64().unwrap_or(0) < now_secs() {
        return Err("stale `cursor`: it has expired; repeat the call without `cursor`".into());
    }
    if v["q"].as_str() != Some(digest) {
        return Err(
            "invalid `cursor`: it belongs to a different query; pass it back with the same \
             pattern, path and options as the call that returned it, or leave it out"
                .into(),
        );
    }
    Ok(v["p"].clone())
}

/// `text` with terminal control sequences made visible: ESC and other C0/C1
/// control characters (except tab and newline; a CR before a newline is
/// kept) become `\x1b`-style escapes, so a command's colours or cursor
/// moves cannot hide or rewrite what a reader sees.
pub fn visible_controls(text: &str) -> std::borrow::Cow<'_, str> {
    let hidden = |c: char| c.is_control() && !matches!(c, '\t' | '\n' | '\r');
    if !text.chars().any(|c| hidden(c) || c == '\r') {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' {
            if chars.peek() == Some(&'\n') {
                out.push('\r');
            } else {
                out.push_str("\\r");
            }
        } else if hidden(c) {
            let n = c as u32;
            if n <= 0xff {
                out.push_str(&format!("\\x{n:02x}"));
            } else {
                out.push_str(&format!("\\u{{{n:x}}}"));
            }
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The next number of output bytes to keep when an answer that keeps `kept`
/// bytes measured `size` against `budget`, of which `fixed` is what it costs
/// with nothing kept: `kept` scaled by the room left over what the kept bytes
/// cost, always smaller than `kept`, and 0 on the `last` round so that the
/// fitting loops of shell and job answers end.
pub(crate) fn shrink_kept(
    kept: usize,
    size: usize,
    fixed: usize,
    budget: usize,
    last: bool,
) -> usize {
    if last {
        return 0;
    }
    let room = budget.saturating_sub(fixed) as u128;
    let cost = size.saturating_sub(fixed).max(1) as u128;
    let next = (kept as u128 * room / cost) as usize;
    next.min(kept.saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_is_lowered_never_raised() {
        assert_eq!(effective(65536, None), 65536);
        assert_eq!(effective(65536, Some(1000)), 1000);
        assert_eq!(effective(65536, Some(1 << 40)), 65536);
        assert_eq!(effective(65536, Some(1)), MIN_RESULT_BYTES);
    }

    #[test]
    fn cursors_round_trip_and_refuse_tampering() {
        let d = query_digest("search_files", &json!({"pattern": "x"}));
        let c = seal_cursor(&d, json!({"path": "a/b", "line": 7}));
        assert_eq!(
            open_cursor(&c, &d).unwrap(),
            json!({"path": "a/b", "line": 7})
        );
        let other = query_digest("search_files", &json!({"pattern": "y"}));
        assert!(open_cursor(&c, &other)
            .unwrap_err()
            .contains("different query"));
        // Flip one character of the payload.
        let mut forged: Vec<u8> = c.clone().into_bytes();
        forged[3] = if forged[3] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap();
        assert!(open_cursor(&forged, &d).unwrap_err().contains("`cursor`"));
        assert!(open_cursor("nonsense", &d)
            .unwrap_err()
            .contains("`cursor`"));
        // A well-formed payload signed with another key.
        let payload = json!({"q": d, "e": now_secs() + 60, "p": {}});
        let bytes = serde_json::to_vec(&payload).unwrap();
        let sig = mac(&[7u8; 32], &bytes).finalize().into_bytes();
        let alien = format!("{}.{}", B64.encode(&bytes), B64.encode(sig));
        assert!(open_cursor(&alien, &d).unwrap_err().contains("altered"));
        // An expired one.
        let payload = json!({"q": d, "e": 1, "p": {}});
        let bytes = serde_json::to_vec(&payload).unwrap();
        let sig = mac(key().unwrap(), &bytes).finalize().into_bytes();
        let old = format!("{}.{}", B64.encode(&bytes), B64.encode(sig));
        assert!(open_cursor(&old, &d).unwrap_err().contains("stale"));
    }

    #[test]
    fn controls_become_visible() {
        assert_eq!(visible_controls("plain\ttext\r\n"), "plain\ttext\r\n");
        assert_eq!(
            visible_controls("\x1b[31mred\x1b[0m\rover"),
            "\\x1b[31mred\\x1b[0m\\rover"
        );
        assert_eq!(visible_controls("a\u{9b}b"), "a\\x9bb");
    }
}
