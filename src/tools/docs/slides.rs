//! PowerPoint (.pptx) as text: each slide's title and text, in the deck's
//! order, with slide markers; `offset`/`limit` count slides.

use super::xml::{attr, attr_named, local, walk, XmlEvent};
use super::zipped::Archive;
use super::{cut_text, invalid, page_range, Budget, DocError, Extracted, Request};
use crate::protocol::Content;
use serde_json::json;

/// The slide parts in presentation order: `ppt/presentation.xml` lists the
/// relationship ids, its `.rels` maps them to parts; slides it does not
/// list follow by number.
fn slide_parts(zip: &mut Archive<'_>, budget: &Budget) -> Result<Vec<String>, DocError> {
    let mut ids = Vec::new();
    if let Some(xml) = zip.read_text("ppt/presentation.xml", budget)? {
        walk(&xml, budget, |ev| {
            if let XmlEvent::Start(e) = ev {
                if local(e) == "sldId" {
                    // The relationship id is `r:id`; sldId's own `id` is a
                    // number, so match the prefixed name.
                    let rid = attr_named(e, |k| k == "r:id");
                    if let Some(rid) = rid {
                        ids.push(rid);
                    }
                }
            }
        })?;
    }
    let mut targets = std::collections::HashMap::new();
    if let Some(xml) = zip.read_text("ppt/_rels/presentation.xml.rels", budget)? {
        walk(&xml, budget, |ev| {
            if let XmlEvent::Start(e) = ev {
                if local(e) == "Relationship" {
                    if let (Some(id), Some(t)) = (attr(e, "Id"), attr(e, "Target")) {
                        let t = t.trim_start_matches('/');
                        let part = t.strip_prefix("ppt/").unwrap_or(t);
                        targets.insert(id, format!("ppt/{part}"));
                    }
                }
            }
        })?;
    }
    let mut parts: Vec<String> = ids
        .iter()
        .filter_map(|id| targets.get(id).cloned())
        .collect();
    let mut rest: Vec<(u64, String)> = zip
        .names()
        .into_iter()
        .filter(|n| !parts.contains(n))
        .filter_map(|n| {
            let num = n
                .strip_prefix("ppt/slides/slide")?
                .strip_suffix(".xml")?
                .parse()
                .ok()?;
            Some((num, n))
        })
        .collect();
    rest.sort();
    parts.extend(rest.into_iter().map(|(_, n)| n));
    Ok(parts)
}

/// The title and the other text of one slide.
fn slide_text(xml: &str, budget: &Budget) -> Result<(String, Vec<String>), DocError> {
    let mut title = String::new();
    let mut lines = Vec::new();
    let mut in_title_shape = false;
    let mut shape_depth = 0usize;
    let mut para = String::new();
    let mut in_text = false;
    walk(xml, budget, |ev| match ev {
        XmlEvent::Start(e) => match local(e) {
            "sp" => {
                shape_depth += 1;
                if shape_depth == 1 {
                    in_title_shape = false;
                }
            }
            "ph" => {
                if matches!(attr(e, "type").as_deref(), Some("title" | "ctrTitle")) {
                    in_title_shape = true;
                }
            }
            "p" => para.clear(),
            "t" => in_text = true,
            "br" => para.push(' '),
            _ => {}
        },
        XmlEvent::End(name) => match name {
            "sp" => shape_depth = shape_depth.saturating_sub(1),
            "t" => in_text = false,
            "p" => {
                let t = para.trim();
                if !t.is_empty() {
                    if in_title_shape {
                        if !title.is_empty() {
                            title.push(' ');
                        }
                        title.push_str(t);
                    } else {
                        lines.push(t.to_owned());
                    }
                }
                para.clear();
            }
            _ => {}
        },
        XmlEvent::Text(t) => {
            if in_text {
                para.push_str(t);
            }
        }
    })?;
    Ok((title, lines))
}

/// A .pptx file as text with slide markers.
pub(crate) fn read(data: &[u8], req: &Request, budget: &Budget) -> Result<Extracted, DocError> {
    let mut zip = Archive::open(data, budget, "PowerPoint presentation")?;
    let parts = slide_parts(&mut zip, budget)?;
    if parts.is_empty() {
        return Err(invalid(
            "this .pptx has no slides (no ppt/slides/slideN.xml parts)",
        ));
    }
    let total = parts.len() as u64;
    let (first, last_wanted) = page_range(
        req,
        total,
        budget,
        &format!("the presentation has {total} slides"),
    )?;
    let mut out = String::new();
    let mut last = first - 1;
    let mut capped = false;
    for n in first..=last_wanted {
        budget.check()?;
        let part = &parts[(n - 1) as usize];
        let xml = zip.read_text(part, budget)?.unwrap_or_default();
        let (title, lines) = slide_text(&xml, budget)?;
        let mut block = format!("--- slide {n} of {total} ---\n");
        if !title.is_empty() {
            block.push_str(&format!("# {title}\n"));
        }
        for l in &lines {
            block.push_str(l);
            block.push('\n');
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
    if last < total {
        let why = if capped {
            format!(" (output capped at {} bytes)", req.max_text)
        } else {
            String::new()
        };
        out.push_str(&format!(
            "[showed slides {first}-{last} of {total}{why}; continue with offset={}]\n",
            last + 1
        ));
    }
    let s = json!({
        "format": "pptx",
        "slides_total": total,
        "first_slide": first,
        "last_slide": last,
        "truncated": last < total,
    });
    Ok((Content::text(out), s))
}
