//! PDF: the text layer by page (lopdf), with page markers; `offset`/`limit`
//! count pages. A page without text says whether it is a scanned image.
//! Decompression is capped (lopdf's own limit, set from [`Limits`]),
//! pages are checked against the budget one at a time.
//!
//! [`Limits`]: super::Limits

use super::{cut_text, invalid, page_range, Budget, DocError, Extracted, Request};
use crate::protocol::Content;
use lopdf::{Document, LoadOptions};
use serde_json::json;

/// Load `data` as a PDF within the decompression cap.
fn load(data: &[u8], budget: &Budget) -> Result<Document, DocError> {
    let options = LoadOptions {
        max_decompressed_size: Some(budget.limits().part_bytes as usize),
        ..LoadOptions::default()
    };
    let doc = Document::load_mem_with_options(data, options).map_err(|e| match e {
        lopdf::Error::Decryption(_) | lopdf::Error::AlreadyEncrypted => invalid(
            "this PDF is encrypted and needs a password; lmcp cannot read it (decrypt it first, e.g. qpdf --decrypt)",
        ),
        e => invalid(format!("this PDF could not be read (damaged or not a PDF): {e}")),
    })?;
    if doc.is_encrypted() {
        return Err(invalid(
            "this PDF is encrypted and needs a password; lmcp cannot read it (decrypt it first, e.g. qpdf --decrypt)",
        ));
    }
    Ok(doc)
}

/// A PDF's text, pages `offset..offset+limit`, within the output cap.
pub(crate) fn read(data: &[u8], req: &Request, budget: &Budget) -> Result<Extracted, DocError> {
    let doc = load(data, budget)?;
    budget.check()?;
    let pages = doc.get_pages();
    let total = pages.len() as u64;
    if total == 0 {
        return Err(invalid(
            "this PDF has no pages (its page tree is empty or broken)",
        ));
    }
    let (first, last_wanted) =
        page_range(req, total, budget, &format!("the PDF has {total} pages"))?;
    let cap = budget.limits().part_bytes as usize;
    let mut out = String::new();
    let mut last = first - 1;
    let mut capped = false;
    let mut scanned = Vec::new();
    let mut failed = Vec::new();
    for n in first..=last_wanted {
        budget.check()?;
        let mut block = format!("--- page {n} of {total} ---\n");
        match doc.extract_text_with_limit(&[n as u32], cap) {
            Ok(text) if !text.trim().is_empty() => {
                block.push_str(text.trim());
                block.push('\n');
            }
            Ok(_) => {
                let images = pages
                    .get(&(n as u32))
                    .and_then(|id| doc.get_page_images(*id).ok())
                    .map_or(0, |v| v.len());
                if images > 0 {
                    scanned.push(n);
                    block.push_str(&format!(
                        "[page {n} has no text layer: it is a scanned image ({images} image(s)); lmcp does not run OCR]\n"
                    ));
                } else {
                    block.push_str(&format!("[page {n} has no text]\n"));
                }
            }
            Err(e) => {
                failed.push(n);
                block.push_str(&format!(
                    "[page {n}: its text could not be extracted: {e}]\n"
                ));
            }
        }
        block.push('\n');
        if out.len() + block.len() > req.max_text {
            if out.is_empty() {
                cut_text(&mut block, req.max_text);
                out.push_str(&block);
                last = n;
            }
            capped = true;
            break;
        }
        out.push_str(&block);
        last = n;
    }
    // A file cut short has no %%EOF at its end; lopdf then rebuilds what it
    // can by scanning. With nothing recovered, that is an error, not blank pages.
    let tail = &data[data.len().saturating_sub(1024)..];
    let damaged = !tail.windows(5).any(|w| w == b"%%EOF");
    let recovered = (first..=last).any(|n| !scanned.contains(&n) && !failed.contains(&n))
        && !out
            .lines()
            .all(|l| l.is_empty() || l.starts_with("--- page") || l.starts_with('['));
    if damaged && !recovered && scanned.is_empty() {
        return Err(invalid(
            "this PDF is damaged or truncated (it does not end with %%EOF) and no text could be recovered from it",
        ));
    }
    if damaged {
        out.insert_str(
            0,
            "[this PDF looks truncated (no %%EOF at its end): pages or text may be missing]\n",
        );
    }
    let mut note = None;
    if last < total {
        let why = if capped {
            format!(" (output capped at {} bytes)", req.max_text)
        } else {
            String::new()
        };
        let n = format!(
            "showed pages {first}-{last} of {total}{why}; continue with offset={}",
            last + 1
        );
        out.push_str(&format!("[{n}]\n"));
        note = Some(n);
    }
    let mut s = json!({
        "format": "pdf",
        "pages_total": total,
        "first_page": first,
        "last_page": last,
        "truncated": last < total,
    });
    if damaged {
        s["damaged"] = json!(true);
    }
    if !scanned.is_empty() {
        s["scanned_pages"] = json!(scanned);
    }
    if !failed.is_empty() {
        s["failed_pages"] = json!(failed);
    }
    if let Some(n) = note {
        s["note"] = json!(n);
    }
    Ok((Content::text(out), s))
}
