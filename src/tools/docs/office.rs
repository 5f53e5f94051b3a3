//! Word (.docx) and OpenDocument text (.odt) as Markdown: headings,
//! paragraphs, list items and tables, in document order.

use super::xml::{attr, local, markdown_table, walk, XmlEvent};
use super::zipped::Archive;
use super::{cut_text, invalid, Budget, DocError, Extracted, Request};
use crate::protocol::Content;
use serde_json::json;

/// Collects paragraphs and tables into Markdown.
#[derive(Default)]
struct Writer {
    out: String,
    para: String,
    heading: usize,
    list: bool,
    /// Nesting of tables; only the outermost becomes a Markdown table.
    tables: usize,
    rows: Vec<Vec<String>>,
    row: Vec<String>,
    cell: String,
    paragraphs: u64,
    table_count: u64,
}

impl Writer {
    fn start_para(&mut self) {
        self.para.clear();
        self.heading = 0;
        self.list = false;
    }

    fn end_para(&mut self) {
        let text = self.para.trim().to_owned();
        self.para.clear();
        if self.tables > 0 {
            if !text.is_empty() {
                if !self.cell.is_empty() {
                    self.cell.push(' ');
                }
                self.cell.push_str(&text);
            }
            return;
        }
        if text.is_empty() {
            return;
        }
        self.paragraphs += 1;
        if self.heading > 0 {
            self.out.push_str(&"#".repeat(self.heading.min(6)));
            self.out.push(' ');
        } else if self.list {
            self.out.push_str("- ");
        }
        self.out.push_str(&text);
        self.out.push_str(if self.list { "\n" } else { "\n\n" });
    }

    fn start_table(&mut self) {
        self.tables += 1;
        if self.tables == 1 {
            self.rows.clear();
        }
    }

    fn end_table(&mut self) {
        self.tables = self.tables.saturating_sub(1);
        if self.tables == 0 {
            self.table_count += 1;
            if !self.out.is_empty() && !self.out.ends_with("\n\n") {
                self.out.push('\n');
            }
            self.out.push_str(&markdown_table(&self.rows));
            self.out.push('\n');
            self.rows.clear();
        }
    }

    fn start_row(&mut self) {
        if self.tables == 1 {
            self.row.clear();
        }
    }

    fn end_row(&mut self) {
        if self.tables == 1 {
            self.rows.push(std::mem::take(&mut self.row));
        }
    }

    fn start_cell(&mut self) {
        if self.tables == 1 {
            self.cell.clear();
        }
    }

    fn end_cell(&mut self) {
        if self.tables == 1 {
            self.row.push(std::mem::take(&mut self.cell));
        }
    }

    fn finish(self, req: &Request, format: &str) -> Extracted {
        let mut text = self.out.trim_end().to_owned();
        text.push('\n');
        let total = text.len();
        let truncated = cut_text(&mut text, req.max_text);
        if truncated {
            text.push_str(&format!(
                "\n[output capped at {} bytes: showed {} of {total} bytes of text]\n",
                req.max_text,
                text.len()
            ));
        }
        let s = json!({
            "format": format,
            "paragraphs": self.paragraphs,
            "tables": self.table_count,
            "truncated": truncated,
        });
        (Content::text(text), s)
    }
}

/// Heading level of a Word paragraph style (`Heading2` → 2, `Title` → 1).
fn heading_level(style: &str) -> usize {
    let lower = style.to_ascii_lowercase();
    if lower == "title" {
        return 1;
    }
    lower
        .strip_prefix("heading")
        .and_then(|n| n.trim().parse::<usize>().ok())
        .map(|n| n.clamp(1, 6))
        .unwrap_or(0)
}

/// A .docx file as Markdown.
pub(crate) fn read_docx(
    data: &[u8],
    req: &Request,
    budget: &Budget,
) -> Result<Extracted, DocError> {
    let mut zip = Archive::open(data, budget, "Word document")?;
    let xml = zip
        .read_text("word/document.xml", budget)?
        .ok_or_else(|| invalid("this .docx has no word/document.xml; it is not a Word document"))?;
    let mut w = Writer::default();
    let mut in_text = false;
    walk(&xml, budget, |ev| match ev {
        XmlEvent::Start(e) => match local(e) {
            "p" => w.start_para(),
            "pStyle" => {
                let style = attr(e, "val").unwrap_or_default();
                w.heading = heading_level(&style);
                if style.to_ascii_lowercase().starts_with("list") {
                    w.list = true;
                }
            }
            "numPr" => w.list = true,
            "t" => in_text = true,
            "tab" => w.para.push('\t'),
            "br" | "cr" => w.para.push(' '),
            "tbl" => w.start_table(),
            "tr" => w.start_row(),
            "tc" => w.start_cell(),
            _ => {}
        },
        XmlEvent::End(name) => match name {
            "p" => w.end_para(),
            "t" => in_text = false,
            "tbl" => w.end_table(),
            "tr" => w.end_row(),
            "tc" => w.end_cell(),
            _ => {}
        },
        XmlEvent::Text(t) => {
            if in_text {
                w.para.push_str(t);
            }
        }
    })?;
    Ok(w.finish(req, "docx"))
}

/// An .odt file as Markdown.
pub(crate) fn read_odt(data: &[u8], req: &Request, budget: &Budget) -> Result<Extracted, DocError> {
    let mut zip = Archive::open(data, budget, "OpenDocument text")?;
    let xml = zip
        .read_text("content.xml", budget)?
        .ok_or_else(|| invalid("this .odt has no content.xml; it is not an OpenDocument file"))?;
    let mut w = Writer::default();
    // Depth inside text:p / text:h (text outside them is layout whitespace).
    let mut in_para = 0usize;
    let mut lists = 0usize;
    walk(&xml, budget, |ev| match ev {
        XmlEvent::Start(e) => match local(e) {
            "p" | "h" => {
                if in_para == 0 {
                    w.start_para();
                    if local(e) == "h" {
                        w.heading = attr(e, "outline-level")
                            .and_then(|l| l.parse().ok())
                            .unwrap_or(1usize)
                            .clamp(1, 6);
                    }
                    w.list = lists > 0;
                }
                in_para += 1;
            }
            "list" => lists += 1,
            "s" if in_para > 0 => {
                let n: usize = attr(e, "c").and_then(|c| c.parse().ok()).unwrap_or(1);
                w.para.push_str(&" ".repeat(n.min(64)));
            }
            "tab" if in_para > 0 => w.para.push('\t'),
            "line-break" if in_para > 0 => w.para.push(' '),
            "table" => w.start_table(),
            "table-row" => w.start_row(),
            "table-cell" => w.start_cell(),
            _ => {}
        },
        XmlEvent::End(name) => match name {
            "p" | "h" => {
                in_para = in_para.saturating_sub(1);
                if in_para == 0 {
                    w.end_para();
                }
            }
            "list" => lists = lists.saturating_sub(1),
            "table" => w.end_table(),
            "table-row" => w.end_row(),
            "table-cell" => w.end_cell(),
            _ => {}
        },
        XmlEvent::Text(t) => {
            if in_para > 0 {
                w.para.push_str(t);
            }
        }
    })?;
    Ok(w.finish(req, "odt"))
}
