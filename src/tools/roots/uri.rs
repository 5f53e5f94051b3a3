//! Paths as users and clients write them: `~/` under the home directory,
//! `file://` URIs from a client's `roots/list`.

use std::path::PathBuf;

/// `~` or `~/rest` as a path under the home directory (`$HOME`); `None`
/// for any other path (and when `$HOME` is unset or relative). The result is
/// checked against the roots like any other path.
pub fn expand_home(user: &str) -> Option<PathBuf> {
    let rest = if user == "~" {
        ""
    } else {
        user.strip_prefix("~/")?
    };
    let home = PathBuf::from(std::env::var_os("HOME")?);
    if !home.is_absolute() {
        return None;
    }
    Some(if rest.is_empty() {
        home
    } else {
        home.join(rest)
    })
}

/// The roots a `roots/list` result names, as URIs.
pub fn client_root_uris(list_result: &serde_json::Value) -> Vec<String> {
    list_result
        .get("roots")
        .and_then(|r| r.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|r| r.get("uri").and_then(|u| u.as_str()).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The local path of a `file://` URI (percent-decoded), if it is one.
pub fn file_uri_to_path(uri: &str) -> Option<PathBuf> {
    let rest = uri.strip_prefix("file://")?;
    let rest = rest.strip_prefix("localhost").unwrap_or(rest);
    if !rest.starts_with('/') {
        return None;
    }
    let bytes = rest.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    if out.contains(&0) {
        return None;
    }
    use std::os::unix::ffi::OsStringExt;
    Some(PathBuf::from(std::ffi::OsString::from_vec(out)))
}
