//! Where an HTTP client connects: the parsed `http[s]://` URL, header values
//! made safe to send, and the TLS configuration an `https://` target needs.

use crate::client::ClientError;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

/// The TLS configuration of a client (uninhabited without the `tls` feature).
#[cfg(feature = "tls")]
pub(super) type TlsConfig = crate::client::tls::Config;
#[cfg(not(feature = "tls"))]
pub(super) type TlsConfig = std::convert::Infallible;

/// The parts of an `http://` URL we need.
#[derive(Debug, Clone)]
pub(super) struct Target {
    /// `https://`.
    pub(super) tls: bool,
    /// Host to connect to (no brackets).
    pub(super) connect_host: String,
    /// Port to connect to.
    pub(super) port: u16,
    /// `host:port`, for messages.
    pub(super) addr: String,
    /// The `Host` header.
    pub(super) host: String,
    /// Path and query.
    pub(super) path: String,
}

pub(super) fn parse_url(url: &str) -> Result<Target, ClientError> {
    let (tls, rest) = if let Some(rest) = url.strip_prefix("http://") {
        (false, rest)
    } else if let Some(rest) = url.strip_prefix("https://") {
        if cfg!(not(feature = "tls")) {
            return Err(ClientError::Transport(format!(
                "{url}: this lmcp was built without TLS; rebuild it with `--features tls` for https:// URLs"
            )));
        }
        (true, rest)
    } else {
        return Err(ClientError::Transport(format!(
            "{url}: expected an http:// or https:// URL"
        )));
    };
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => (&rest[..i], rest[i..].to_string()),
        None => (rest, "/".to_string()),
    };
    let path = if path.starts_with('?') {
        format!("/{path}")
    } else {
        path
    };
    if authority.is_empty() || authority.contains('@') {
        return Err(ClientError::Transport(format!(
            "{url}: expected http[s]://HOST[:PORT]/PATH (credentials in the URL are not supported; use headers)"
        )));
    }
    let (host, port) = match authority.rfind(':') {
        Some(i) if !authority[i..].contains(']') => {
            let port = authority[i + 1..]
                .parse::<u16>()
                .map_err(|_| ClientError::Transport(format!("{url}: the port is not a number")))?;
            (&authority[..i], port)
        }
        _ => (authority, if tls { 443 } else { 80 }),
    };
    let connect_host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    Ok(Target {
        tls,
        addr: format!("{host}:{port}"),
        connect_host,
        port,
        host: authority.to_string(),
        path,
    })
}

/// A header value: as is when printable ASCII, else the `=?base64?…?=` form.
pub(super) fn header_value(s: &str) -> String {
    if s.bytes().all(|b| (0x20..=0x7e).contains(&b)) && s.trim() == s {
        s.to_string()
    } else {
        format!("=?base64?{}?=", B64.encode(s))
    }
}

/// The TLS configuration an `https://` target needs (loaded once per client).
#[cfg(feature = "tls")]
pub(super) fn tls_config(
    target: &Target,
    ca_file: Option<&std::path::Path>,
) -> Result<Option<TlsConfig>, ClientError> {
    if !target.tls {
        return Ok(None);
    }
    crate::client::tls::config(ca_file)
        .map(Some)
        .map_err(|e| ClientError::Transport(format!("{}: {e}", target.addr)))
}

#[cfg(not(feature = "tls"))]
pub(super) fn tls_config(
    target: &Target,
    _ca_file: Option<&std::path::Path>,
) -> Result<Option<TlsConfig>, ClientError> {
    // `parse_url` refuses https:// without the feature.
    debug_assert!(!target.tls);
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let t = parse_url("http://127.0.0.1:8080/mcp").unwrap();
        assert_eq!(
            (t.addr.as_str(), t.path.as_str()),
            ("127.0.0.1:8080", "/mcp")
        );
        let t = parse_url("http://example.test").unwrap();
        assert_eq!((t.addr.as_str(), t.path.as_str()), ("example.test:80", "/"));
        let t = parse_url("http://[::1]:9/x?y=1").unwrap();
        assert_eq!((t.connect_host.as_str(), t.port), ("::1", 9));
        assert_eq!(t.host, "[::1]:9");
        assert!(parse_url("ftp://a/").is_err());
        if cfg!(feature = "tls") {
            let t = parse_url("https://example.test/mcp").unwrap();
            assert!(t.tls);
            assert_eq!(t.addr, "example.test:443");
        } else {
            assert!(parse_url("https://a/").is_err());
        }
        assert!(parse_url("http://u:p@a/").is_err());
    }

    #[test]
    fn header_values() {
        assert_eq!(header_value("echo"), "echo");
        assert_eq!(
            header_value("héllo"),
            format!("=?base64?{}?=", B64.encode("héllo"))
        );
    }
}
