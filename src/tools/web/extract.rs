//! Turning a response body into text a model reads well: content-type
//! detection, character-set decoding, main-content extraction and
//! HTML-to-Markdown conversion.

use dom_query::Document;
use dom_smoothie::{Config as ReadConfig, Readability, TextMode};
use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};

/// What a body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// HTML or XHTML.
    Html,
    /// JSON.
    Json,
    /// Any other text (plain, Markdown, CSV, XML, code).
    Text,
    /// An image.
    Image,
    /// Anything else.
    Binary,
}

/// The MIME type of a `Content-Type` value, lower case, without parameters.
pub fn mime(content_type: Option<&str>) -> Option<String> {
    let ct = content_type?.split(';').next()?.trim().to_ascii_lowercase();
    (!ct.is_empty()).then_some(ct)
}

/// Classify a body by its declared type, sniffing when none is given.
pub fn kind(content_type: Option<&str>, body: &[u8]) -> Kind {
    match mime(content_type).as_deref() {
        Some("text/html" | "application/xhtml+xml") => Kind::Html,
        Some(m) if m == "application/json" || m.ends_with("+json") => Kind::Json,
        Some(m) if m.starts_with("image/") => Kind::Image,
        Some(m)
            if m.starts_with("text/")
                || m.ends_with("+xml")
                || matches!(
                    m,
                    "application/xml"
                        | "application/javascript"
                        | "application/x-javascript"
                        | "application/ecmascript"
                        | "application/toml"
                        | "application/yaml"
                        | "application/x-yaml"
                        | "application/x-sh"
                ) =>
        {
            Kind::Text
        }
        Some(m) if m != "application/octet-stream" => Kind::Binary,
        _ => sniff(body),
    }
}

fn sniff(body: &[u8]) -> Kind {
    let head = &body[..body.len().min(512)];
    let trimmed = head.trim_ascii_start();
    let lower = trimmed.to_ascii_lowercase();
    if lower.starts_with(b"<!doctype html") || lower.starts_with(b"<html") {
        return Kind::Html;
    }
    if [&b"\x89PNG"[..], b"GIF8", b"\xff\xd8\xff", b"RIFF"]
        .iter()
        .any(|m| head.starts_with(m))
    {
        return Kind::Image;
    }
    if (trimmed.starts_with(b"{") || trimmed.starts_with(b"["))
        && serde_json::from_slice::<serde_json::Value>(body).is_ok()
    {
        return Kind::Json;
    }
    if head.contains(&0) || looks_binary(head) {
        Kind::Binary
    } else {
        Kind::Text
    }
}

fn looks_binary(head: &[u8]) -> bool {
    let control = head
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x0c))
        .count();
    control * 10 > head.len()
}

/// The encoding named by `charset=` in a header value or a meta tag.
fn charset_param(s: &[u8]) -> Option<&'static Encoding> {
    let lower = s.to_ascii_lowercase();
    let pos = lower.windows(8).position(|w| w == b"charset=")? + 8;
    let rest = &s[pos..];
    let rest = rest.trim_ascii_start();
    let rest = rest
        .strip_prefix(b"\"")
        .or_else(|| rest.strip_prefix(b"'"))
        .unwrap_or(rest);
    let end = rest
        .iter()
        .position(|b| matches!(b, b'"' | b'\'' | b';' | b' ' | b'>' | b'/'))
        .unwrap_or(rest.len());
    Encoding::for_label(&rest[..end])
}

/// Decode a body to text: BOM, then the `Content-Type` charset, then (HTML)
/// a `<meta charset>` in the first kilobytes, then UTF-8 if valid, else
/// Windows-1252 (what browsers assume for unlabelled pages). Returns the text
/// and the encoding's name.
pub fn decode(body: &[u8], content_type: Option<&str>, kind: Kind) -> (String, &'static str) {
    let declared = content_type.and_then(|ct| charset_param(ct.as_bytes()));
    let meta = || {
        (kind == Kind::Html)
            .then(|| charset_param(&body[..body.len().min(4096)]))
            .flatten()
    };
    let enc = Encoding::for_bom(body)
        .map(|(e, _)| e)
        .or(declared)
        .or_else(meta)
        .unwrap_or_else(|| match std::str::from_utf8(body) {
            Ok(_) => UTF_8,
            // Cut at the size cap in the middle of a character: still UTF-8
            // when the valid part shows UTF-8 multi-byte characters.
            Err(e) if e.error_len().is_none() && !body[..e.valid_up_to()].is_ascii() => UTF_8,
            Err(_) => WINDOWS_1252,
        });
    // JSON is always UTF-8 (RFC 8259) whatever a meta-less label says.
    let enc = if kind == Kind::Json && declared.is_none() {
        UTF_8
    } else {
        enc
    };
    let (text, used, _) = enc.decode(body);
    (text.into_owned(), used.name())
}

/// The requested rendering of an HTML page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HtmlFormat {
    /// Main content as Markdown.
    Markdown,
    /// Main content as plain text.
    Text,
    /// Main content as cleaned HTML.
    Html,
}

/// A converted HTML page.
#[derive(Debug, Clone)]
pub struct Converted {
    /// The page title, when known.
    pub title: Option<String>,
    /// The converted content.
    pub content: String,
    /// Whether readability found a main content (else the whole body was used).
    pub main_content: bool,
}

/// Reduce an HTML page to its main content and render it.
pub fn convert_html(html: &str, url: &str, format: HtmlFormat) -> Converted {
    let cfg = ReadConfig {
        text_mode: TextMode::Formatted,
        ..ReadConfig::default()
    };
    let article = Readability::new(html, Some(url), Some(cfg)).and_then(|mut r| r.parse());
    match article {
        Ok(a) if !a.text_content.trim().is_empty() => {
            let title = Some(a.title.to_string()).filter(|t| !t.trim().is_empty());
            let content = match format {
                HtmlFormat::Markdown => tidy(&Document::from(a.content.as_ref()).md(None)),
                HtmlFormat::Text => tidy(&a.text_content),
                HtmlFormat::Html => a.content.to_string(),
            };
            Converted {
                title,
                content,
                main_content: true,
            }
        }
        other => {
            if let Err(e) = other {
                log::debug!("web: no main content found ({e}); converting the whole page");
            }
            whole_page(html, format)
        }
    }
}

/// Render the whole `<body>` minus scripts, styles and navigation chrome.
fn whole_page(html: &str, format: HtmlFormat) -> Converted {
    let doc = Document::from(html);
    let title = Some(doc.select("title").text().trim().to_string()).filter(|t| !t.is_empty());
    doc.select("script, style, noscript, template, iframe, nav, svg")
        .remove();
    let body = doc.select("body");
    let content = match format {
        HtmlFormat::Markdown => body
            .nodes()
            .first()
            .map(|n| tidy(&n.md(None)))
            .unwrap_or_else(|| tidy(&doc.md(None))),
        HtmlFormat::Text => tidy(&body.formatted_text()),
        HtmlFormat::Html => body.html().to_string(),
    };
    Converted {
        title,
        content,
        main_content: false,
    }
}

/// Trim trailing spaces and collapse runs of blank lines.
fn tidy(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank = 0;
    for line in s.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            if blank > 1 || out.is_empty() {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim_end().to_string()
}

/// Pretty-print JSON; invalid JSON is returned as it is.
pub fn pretty_json(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text)
        .and_then(|v| serde_json::to_string_pretty(&v))
        .unwrap_or_else(|_| text.to_string())
}

/// Describe a body that is not shown.
pub fn describe_binary(kind: Kind, mime: Option<&str>, body: &[u8], truncated: bool) -> String {
    let what = if kind == Kind::Image {
        "an image"
    } else {
        "binary content"
    };
    let mut s = format!(
        "The URL returned {what} ({}, {}{} bytes), which is not shown as text.",
        mime.unwrap_or("unknown type"),
        if truncated { "more than " } else { "" },
        body.len()
    );
    if kind == Kind::Image {
        if let Some((w, h)) = image_size(body) {
            s.push_str(&format!(" Dimensions: {w}x{h} pixels."));
        }
    }
    s
}

/// Width and height of a PNG or GIF, read from its header.
fn image_size(b: &[u8]) -> Option<(u32, u32)> {
    if b.starts_with(b"\x89PNG\r\n\x1a\n") && b.len() >= 24 {
        let w = u32::from_be_bytes(b[16..20].try_into().ok()?);
        let h = u32::from_be_bytes(b[20..24].try_into().ok()?);
        return Some((w, h));
    }
    if b.starts_with(b"GIF8") && b.len() >= 10 {
        let w = u16::from_le_bytes([b[6], b[7]]);
        let h = u16::from_le_bytes([b[8], b[9]]);
        return Some((w.into(), h.into()));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        assert_eq!(kind(Some("text/html; charset=utf-8"), b""), Kind::Html);
        assert_eq!(kind(Some("application/problem+json"), b""), Kind::Json);
        assert_eq!(kind(Some("image/png"), b""), Kind::Image);
        assert_eq!(kind(Some("application/pdf"), b"%PDF"), Kind::Binary);
        assert_eq!(kind(None, b"  <!DOCTYPE html><p>x"), Kind::Html);
        assert_eq!(kind(None, b"{\"a\":1}"), Kind::Json);
        assert_eq!(kind(None, b"hello\nworld"), Kind::Text);
        assert_eq!(kind(None, b"\x00\x01\x02binary"), Kind::Binary);
    }

    #[test]
    fn charsets() {
        let latin1 = b"caf\xe9";
        assert_eq!(
            decode(latin1, Some("text/plain; charset=ISO-8859-1"), Kind::Text).0,
            "café"
        );
        let html = b"<html><head><meta charset=\"iso-8859-1\"></head><body>na\xefve</body></html>";
        assert!(decode(html, Some("text/html"), Kind::Html)
            .0
            .contains("naïve"));
        assert_eq!(decode(b"caf\xe9", None, Kind::Text).0, "café");
        assert_eq!(decode("café".as_bytes(), None, Kind::Text).0, "café");
        let (t, e) = decode(
            b"\xef\xbb\xbfok",
            Some("text/plain; charset=latin1"),
            Kind::Text,
        );
        assert_eq!((t.as_str(), e), ("ok", "UTF-8"));
        // Cut in the middle of a character by the size cap: still UTF-8.
        assert_eq!(decode(&"éaé".as_bytes()[..4], None, Kind::Text).1, "UTF-8");
    }

    #[test]
    fn png_described_with_size() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.extend_from_slice(&640u32.to_be_bytes());
        png.extend_from_slice(&480u32.to_be_bytes());
        let d = describe_binary(Kind::Image, Some("image/png"), &png, false);
        assert!(d.contains("640x480") && d.contains("image/png"), "{d}");
    }

    #[test]
    fn tidy_collapses_blank_lines() {
        assert_eq!(tidy("\n\na  \n\n\n\nb\n\n"), "a\n\nb");
    }
}
