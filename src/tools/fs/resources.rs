//! The files under the roots as MCP resources: `resources/list` pages
//! through them (hidden and `.gitignore`d files left out, sorted), the
//! `file:///{path}` template reads one (text or base64 blob by MIME type),
//! confined to the roots exactly like the file tools, and subscriptions are
//! served by a file watcher ([`super::watch`]).

use super::watch::Watcher;
use super::{blocking, roots_for, FsConfig, FsError};
use crate::jsonrpc::{code, ErrorObject};
use crate::protocol::ResourceContents;
use crate::server::{
    RequestContext, ResourceInfo, ResourcePage, ResourceProvider, ResourceTemplate, ToolError,
};
use crate::tools::roots::{file_uri_to_path, Roots, RootsError};
use base64::Engine;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

/// The `file:///{path}` template and the provider listing the files under
/// the roots (and watching the subscribed ones).
pub fn resources(cfg: Arc<FsConfig>) -> (ResourceProvider, ResourceTemplate) {
    let list_cfg = cfg.clone();
    let watcher = Arc::new(Watcher::new(cfg.roots.clone()));
    let provider = ResourceProvider::new(move |offset, limit, ctx| {
        let cfg = list_cfg.clone();
        async move {
            let roots = roots_for(&cfg, &ctx).await?;
            blocking(move || Ok(list(&roots, offset, limit))).await
        }
    })
    .on_watch(move |uri, on, notifier| watcher.watch(uri, on, notifier));
    let template = ResourceTemplate::new("file:///{path}", "file", move |uri, ctx| {
        let cfg = cfg.clone();
        async move { read(cfg, uri, ctx).await }
    })
    .description(
        "A file under the server's roots, by absolute path (percent-encoded). Text files come back as text, \
         others as base64 blobs; paths outside the roots are refused.",
    );
    (provider, template)
}

/// `file://` URI of an absolute path, percent-encoding all but unreserved
/// characters and `/`.
pub fn path_to_file_uri(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut out = String::from("file://");
    for &b in path.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The MIME type of a file name by its extension, if it is a common one.
pub fn mime_for(path: &Path) -> Option<&'static str> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    Some(match ext.as_str() {
        "txt" | "log" | "text" => "text/plain",
        "md" | "markdown" => "text/markdown",
        "html" | "htm" => "text/html",
        "css" => "text/css",
        "csv" => "text/csv",
        "js" | "mjs" | "cjs" => "text/javascript",
        "ts" | "tsx" | "jsx" | "rs" | "py" | "go" | "c" | "h" | "cc" | "cpp" | "hpp" | "java"
        | "kt" | "rb" | "sh" | "bash" | "zsh" | "swift" | "cs" | "php" | "lua" | "sql" | "ini"
        | "cfg" | "conf" | "lock" => "text/plain",
        "json" => "application/json",
        "toml" => "application/toml",
        "yaml" | "yml" => "application/yaml",
        "xml" => "application/xml",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "gz" => "application/gzip",
        "wasm" => "application/wasm",
        _ => return None,
    })
}

fn is_text_mime(m: &str) -> bool {
    m.starts_with("text/")
        || m.ends_with("+xml")
        || [
            "application/json",
            "application/toml",
            "application/yaml",
            "application/xml",
        ]
        .contains(&m)
}

/// Page `offset..offset+limit` of the regular files under the roots, in a
/// stable order (root by root, then by path).
fn list(roots: &Roots, offset: usize, limit: usize) -> ResourcePage {
    let mut resources = Vec::with_capacity(limit.min(1024));
    let mut seen = 0usize;
    for root in roots.paths() {
        let walk = super::list::walker(root, false, false)
            .sort_by_file_name(|a, b| a.cmp(b))
            .build();
        for ent in walk.flatten() {
            if !ent.file_type().is_some_and(|t| t.is_file()) {
                continue;
            }
            seen += 1;
            if seen <= offset {
                continue;
            }
            if resources.len() == limit {
                return ResourcePage {
                    resources,
                    more: true,
                };
            }
            let path = ent.path();
            resources.push(ResourceInfo {
                uri: path_to_file_uri(path),
                name: roots.display(path),
                mime_type: mime_for(path).map(str::to_owned),
                size: ent.metadata().ok().map(|m| m.len()),
            });
        }
    }
    ResourcePage {
        resources,
        more: false,
    }
}

/// A protocol error for a refused or missing resource.
fn refused(ctx: &RequestContext, uri: &str, e: FsError) -> ToolError {
    let not_found = matches!(e, FsError::Roots(RootsError::NotFound { .. }));
    let code = if not_found && !ctx.protocol_version().is_modern() {
        code::RESOURCE_NOT_FOUND_LEGACY
    } else {
        code::INVALID_PARAMS
    };
    let what = if not_found {
        "Resource not found"
    } else {
        "Resource refused"
    };
    ToolError::Protocol(
        ErrorObject::new(code, format!("{what}: {uri}: {e}"))
            .with_data(serde_json::json!({"uri": uri})),
    )
}

async fn read(
    cfg: Arc<FsConfig>,
    uri: String,
    ctx: RequestContext,
) -> Result<Vec<ResourceContents>, ToolError> {
    let roots = roots_for(&cfg, &ctx).await?;
    let max = cfg.max_image_bytes.max(cfg.max_read_bytes);
    let u = uri.clone();
    let got = tokio::task::spawn_blocking(move || read_blocking(&roots, &u, max))
        .await
        .map_err(|e| ToolError::Tool(format!("internal error reading a resource: {e}")))?;
    got.map_err(|e| refused(&ctx, &uri, e))
}

fn read_blocking(roots: &Roots, uri: &str, max: u64) -> Result<Vec<ResourceContents>, FsError> {
    let path = file_uri_to_path(uri)
        .ok_or_else(|| FsError::Invalid("not a file:///ABSOLUTE/PATH URI".into()))?;
    let user = path
        .to_str()
        .ok_or_else(|| FsError::Invalid("the path is not valid UTF-8".into()))?
        .to_owned();
    let (real, file) = roots.open_read(&user)?;
    let meta = file.metadata().map_err(super::io_err("read", &user))?;
    if !meta.is_file() {
        return Err(FsError::Invalid(format!("{user} is not a regular file")));
    }
    if meta.len() > max {
        return Err(FsError::Invalid(format!(
            "{user} is {} bytes, more than the resource limit of {max} bytes; use the read_file tool with offset and limit",
            meta.len()
        )));
    }
    let mut data = Vec::with_capacity(meta.len() as usize);
    file.take(max + 1)
        .read_to_end(&mut data)
        .map_err(super::io_err("read", &user))?;
    let mime = mime_for(&real);
    let text_ok = mime.is_none_or(is_text_mime) && !data.contains(&0);
    match (text_ok, String::from_utf8(data)) {
        (true, Ok(text)) => Ok(vec![ResourceContents::Text {
            uri: uri.to_owned(),
            mime_type: Some(mime.unwrap_or("text/plain").to_owned()),
            text,
            meta: None,
        }]),
        (_, Ok(text)) => Ok(vec![blob(uri, mime, text.as_bytes())]),
        (_, Err(e)) => Ok(vec![blob(uri, mime, e.as_bytes())]),
    }
}

fn blob(uri: &str, mime: Option<&str>, data: &[u8]) -> ResourceContents {
    ResourceContents::Blob {
        uri: uri.to_owned(),
        mime_type: Some(mime.unwrap_or("application/octet-stream").to_owned()),
        blob: base64::engine::general_purpose::STANDARD.encode(data),
        meta: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_round_trip() {
        let p = Path::new("/tmp/a b/ü%.txt");
        let uri = path_to_file_uri(p);
        assert_eq!(uri, "file:///tmp/a%20b/%C3%BC%25.txt");
        assert_eq!(file_uri_to_path(&uri).unwrap(), p);
    }

    #[test]
    fn lists_files_in_pages_and_reads_text_and_blobs() {
        let e = super::super::test_util::env();
        for n in ["b.txt", "a.md", "c/d.rs", ".hidden", "img.png"] {
            let p = e.root.join(n);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(
                &p,
                if n.ends_with("png") {
                    &b"\x89PNG\r\n\x1a\n\0"[..]
                } else {
                    b"hi\n"
                },
            )
            .unwrap();
        }
        let roots = e.cfg.roots.clone();
        let all: Vec<String> = list(&roots, 0, 100)
            .resources
            .into_iter()
            .map(|r| r.name)
            .collect();
        assert_eq!(all, ["a.md", "b.txt", "c/d.rs", "img.png"]);
        let p1 = list(&roots, 0, 2);
        let p2 = list(&roots, 2, 2);
        assert!(p1.more && !p2.more);
        assert_eq!(p2.resources[0].name, "c/d.rs");
        assert_eq!(p2.resources[0].mime_type.as_deref(), Some("text/plain"));
        let uri = path_to_file_uri(&e.root.join("a.md"));
        match &read_blocking(&roots, &uri, 1000).unwrap()[0] {
            ResourceContents::Text {
                text, mime_type, ..
            } => {
                assert_eq!(
                    (text.as_str(), mime_type.as_deref()),
                    ("hi\n", Some("text/markdown"))
                )
            }
            other => panic!("{other:?}"),
        }
        let uri = path_to_file_uri(&e.root.join("img.png"));
        assert!(
            matches!(&read_blocking(&roots, &uri, 1000).unwrap()[0], ResourceContents::Blob { mime_type: Some(m), .. } if m == "image/png")
        );
        let err = read_blocking(&roots, "file:///etc/passwd", 1000).unwrap_err();
        assert!(
            err.to_string().contains("outside the allowed roots"),
            "{err}"
        );
    }
}
