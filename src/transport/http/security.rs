//! Who may talk to the endpoint: `Host` check against DNS rebinding,
//! `Origin` allow-list, constant-time token comparison, unguessable
//! session ids.

use super::State;

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

/// The host name of a `Host` header value (`name`, `name:port`,
/// `[v6]:port`), lower-cased and without a trailing dot; `None` when the
/// value is not a plausible host.
fn host_name(value: &str) -> Option<String> {
    let value = value.trim();
    let name = if let Some(v6) = value.strip_prefix('[') {
        let (addr, rest) = v6.split_once(']')?;
        if !(rest.is_empty() || rest.starts_with(':')) {
            return None;
        }
        format!("[{addr}]")
    } else {
        match value.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name.to_owned(),
            Some(_) => return None,
            None => value.to_owned(),
        }
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    (!name.is_empty()).then_some(name)
}

/// A name that always resolves to this machine: `localhost` and its
/// subdomains (RFC 6761), 127.0.0.0/8 and `[::1]`. A DNS rebinding attack
/// cannot make a browser send one of these for its own site.
fn is_loopback_host(name: &str) -> bool {
    name == "localhost"
        || name.ends_with(".localhost")
        || name == "[::1]"
        || name
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The host part of a URL (`https://mcp.example.com:8443/mcp` →
/// `mcp.example.com`), for allowing `--public-url`'s host; `None` when
/// `url` has no `scheme://host`.
pub fn url_host(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    host_name(host)
}

impl State {
    /// Whether a request with these `Host` headers may be served. On a
    /// loopback bind only loopback names and `allowed_hosts` are (a foreign
    /// name is a browser led there by DNS rebinding); on other binds any
    /// name is, unless `allowed_hosts` is set. No `Host` header at all is
    /// not a browser (browsers always send one) and is let through; two, or
    /// one that is not ASCII, are refused.
    pub(super) fn host_refusal(&self, headers: &hyper::HeaderMap) -> Option<String> {
        let mut all = headers.get_all(hyper::header::HOST).iter();
        let (first, second) = (all.next(), all.next());
        // No Host header: not a browser.
        let first = first?;
        let value = match (first.to_str(), second) {
            (Ok(v), None) => v,
            _ => return Some("Send one Host header, in ASCII".to_owned()),
        };
        let Some(name) = host_name(value) else {
            return Some(format!("Host header {value:?} is not a host name"));
        };
        let listed = self
            .opts
            .allowed_hosts
            .iter()
            .any(|h| h == "*" || h.trim_end_matches('.').eq_ignore_ascii_case(&name));
        let allowed = if self.loopback_bind {
            listed || is_loopback_host(&name)
        } else {
            listed || self.opts.allowed_hosts.is_empty() || is_loopback_host(&name)
        };
        (!allowed).then(|| {
            format!(
                "Host {name} is not allowed (DNS rebinding protection): if clients reach this server under that name, start lmcp with --allow-host {name}"
            )
        })
    }

    pub(super) fn origin_allowed(&self, origin: &str) -> bool {
        is_loopback_origin(origin)
            || self
                .opts
                .allowed_origins
                .iter()
                .any(|o| o == "*" || o == origin)
    }
}

/// A session id of 128 random bits from the OS generator, hex-encoded and
/// tagged `ID.` with the server's instance id; `None` when the generator
/// fails (a guessable id is never handed out).
pub(super) fn new_session_id(instance: Option<&crate::server::InstanceId>) -> Option<String> {
    match crate::server::ids::mint(instance) {
        Ok(id) => Some(id),
        Err(e) => {
            log::error!("OS random number generator unavailable ({e}); refusing to open a session");
            None
        }
    }
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
    fn host_names() {
        assert_eq!(host_name("LocalHost:8080").as_deref(), Some("localhost"));
        assert_eq!(host_name("[::1]:80").as_deref(), Some("[::1]"));
        assert_eq!(host_name("example.com.").as_deref(), Some("example.com"));
        assert_eq!(host_name("a:b"), None);
        assert_eq!(host_name("[::1]x"), None);
        assert!(is_loopback_host("127.1.2.3"));
        assert!(is_loopback_host("app.localhost"));
        assert!(!is_loopback_host("localhost.evil.com"));
        assert!(!is_loopback_host("10.0.0.1"));
        assert_eq!(
            url_host("https://user@MCP.example.com:8443/mcp").as_deref(),
            Some("mcp.example.com")
        );
        assert_eq!(url_host("mcp.example.com"), None);
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
