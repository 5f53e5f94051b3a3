//! A bounded walk over an XML part (quick-xml): start, end and text events
//! with entities resolved, nesting depth capped, the budget checked as it goes.

use super::{invalid, Budget, DocError};
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

/// One event of [`walk`].
pub(crate) enum XmlEvent<'e, 'a> {
    /// An element opens (an empty element gives `Start` then `End`).
    Start(&'e BytesStart<'a>),
    /// An element closes: its local name.
    End(&'e str),
    /// Character data (entities resolved).
    Text(&'e str),
}

/// The local name of an element.
pub(crate) fn local<'e>(e: &'e BytesStart<'_>) -> &'e str {
    strip_prefix(e.name().into_inner())
}

fn strip_prefix(name: &str) -> &str {
    name.rsplit_once(':').map_or(name, |(_, l)| l)
}

/// The value of the attribute whose local name is `name`.
pub(crate) fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    attr_named(e, |key| strip_prefix(key) == name)
}

/// The value of the first attribute whose full name satisfies `pick`.
pub(crate) fn attr_named(e: &BytesStart<'_>, pick: impl Fn(&str) -> bool) -> Option<String> {
    e.attributes().flatten().find_map(|a| {
        pick(a.key.into_inner())
            .then(|| {
                a.normalized_value(XmlVersion::Implicit1_0)
                    .ok()
                    .map(|v| v.into_owned())
            })
            .flatten()
    })
}

/// Walk `xml`, calling `f` for each event; stops with an error on malformed
/// XML, nesting deeper than the limit, or when the budget runs out.
pub(crate) fn walk(
    xml: &str,
    budget: &Budget,
    mut f: impl FnMut(XmlEvent<'_, '_>),
) -> Result<(), DocError> {
    let mut reader = Reader::from_str(xml);
    let max_depth = budget.limits().depth;
    let mut depth = 0usize;
    let mut events = 0u32;
    loop {
        events = events.wrapping_add(1);
        if events.is_multiple_of(4096) {
            budget.check()?;
        }
        let ev = reader
            .read_event()
            .map_err(|e| invalid(format!("malformed XML inside the file: {e}")))?;
        match ev {
            Event::Start(e) => {
                depth += 1;
                if depth > max_depth {
                    return Err(invalid(format!(
                        "XML nested deeper than {max_depth} levels inside the file"
                    )));
                }
                f(XmlEvent::Start(&e));
            }
            Event::Empty(e) => {
                f(XmlEvent::Start(&e));
                f(XmlEvent::End(local(&e)));
            }
            Event::End(e) => {
                depth = depth.saturating_sub(1);
                f(XmlEvent::End(strip_prefix(e.name().into_inner())));
            }
            Event::Text(t) => f(XmlEvent::Text(&t.xml10_content())),
            Event::CData(t) => f(XmlEvent::Text(&t.xml10_content())),
            Event::GeneralRef(r) => {
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    f(XmlEvent::Text(c.encode_utf8(&mut [0; 4])));
                } else if let Some(s) =
                    quick_xml::escape::resolve_predefined_entity(&r.xml10_content())
                {
                    f(XmlEvent::Text(s));
                }
            }
            Event::Eof => return Ok(()),
            _ => {}
        }
    }
}

/// A Markdown table of `rows` (the first row is the header), cells escaped.
pub(crate) fn markdown_table(rows: &[Vec<String>]) -> String {
    let width = rows.iter().map(Vec::len).max().unwrap_or(0);
    if width == 0 {
        return String::new();
    }
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        out.push('|');
        for c in 0..width {
            let cell = row.get(c).map(String::as_str).unwrap_or("");
            out.push(' ');
            out.push_str(&escape_cell(cell));
            out.push_str(" |");
        }
        out.push('\n');
        if i == 0 {
            out.push('|');
            for _ in 0..width {
                out.push_str(" --- |");
            }
            out.push('\n');
        }
    }
    out
}

/// A cell's text for a Markdown table: pipes escaped, line breaks as `<br>`.
pub(crate) fn escape_cell(s: &str) -> String {
    s.trim()
        .replace('|', "\\|")
        .replace("\r\n", "<br>")
        .replace(['\n', '\r'], "<br>")
}
