//! A pre-scan of an OpenDocument spreadsheet's `content.xml`: how many cells
//! calamine would build for it, counted before calamine is let loose.
//!
//! calamine parses every sheet of an .ods when the workbook is opened, and
//! lays each out as a dense grid spanning its non-empty cells, with
//! `number-rows-repeated` and `number-columns-repeated` expanded: a file of
//! a few KB can ask for hundreds of millions of cells. This scan walks the
//! XML once (bounded, like every XML walk of the documents) and counts the
//! grid cells and the expanded cells of every sheet, so a sheet too large
//! for the cell limit is refused before any of it is built.

use super::xml::{attr, local, walk, XmlEvent};
use super::{Budget, DocError};

/// calamine's caps on an ODS sheet's rows and columns.
const MAX_ROWS: u64 = 1_048_576;
const MAX_COLUMNS: u64 = 16_384;

#[derive(Default)]
struct Table {
    /// Rows so far, repeats counted.
    rows: u64,
    /// First row holding a value, and the end of the last one.
    first: Option<u64>,
    end: u64,
    /// Widest row holding a value (columns up to its last value).
    width: u64,
    /// Cells of the rows as read (a repeated row is read once).
    raw: u64,
}

impl Table {
    fn cells(&self) -> u64 {
        let dense = self
            .first
            .map_or(0, |f| (self.end - f).saturating_mul(self.width));
        dense.saturating_add(self.raw)
    }
}

#[derive(Default)]
struct Row {
    repeats: u64,
    /// Next column.
    col: u64,
    /// End of the last cell holding a value.
    last: Option<u64>,
}

/// A number attribute (`number-rows-repeated`), 1 when absent or unreadable.
fn repeats(e: &quick_xml::events::BytesStart<'_>, name: &str) -> u64 {
    attr(e, name)
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(1)
        .max(1)
}

/// The cells calamine would build for the spreadsheet whose `content.xml`
/// is `xml`: every sheet's dense grid plus its expanded cells.
pub(crate) fn cells(xml: &str, budget: &Budget) -> Result<u64, DocError> {
    let mut total = 0u64;
    let mut table: Option<Table> = None;
    let mut row: Option<Row> = None;
    // A cell being read: its first column, its width, whether it holds a value.
    let mut cell: Option<(u64, u64, bool)> = None;
    walk(xml, budget, |ev| match ev {
        XmlEvent::Start(e) => match local(e) {
            "table" if table.is_none() => table = Some(Table::default()),
            "table-row" => {
                if let Some(t) = &table {
                    let left = MAX_ROWS.saturating_sub(t.rows);
                    row = Some(Row {
                        repeats: repeats(e, "number-rows-repeated").min(left),
                        ..Row::default()
                    });
                }
            }
            "table-cell" | "covered-table-cell" if cell.is_none() => {
                if let Some(r) = &row {
                    let left = MAX_COLUMNS.saturating_sub(r.col);
                    let n = repeats(e, "number-columns-repeated").min(left);
                    cell = Some((r.col, n, attr(e, "value-type").is_some()));
                }
            }
            _ => {
                // Any element inside a cell (text:p, ...) gives it a value.
                if let Some(c) = &mut cell {
                    c.2 = true;
                }
            }
        },
        XmlEvent::Text(t) => {
            if let Some(c) = &mut cell {
                c.2 |= !t.trim().is_empty();
            }
        }
        XmlEvent::End(name) => match name {
            "table-cell" | "covered-table-cell" => {
                if let (Some((start, n, value)), Some(r)) = (cell.take(), &mut row) {
                    r.col = start + n;
                    if value {
                        r.last = Some(r.col);
                    }
                }
            }
            "table-row" => {
                if let (Some(r), Some(t)) = (row.take(), &mut table) {
                    if let Some(w) = r.last {
                        t.raw = t.raw.saturating_add(w);
                        t.first.get_or_insert(t.rows);
                        t.end = t.rows + r.repeats;
                        t.width = t.width.max(w);
                    }
                    t.rows += r.repeats;
                }
            }
            "table" => {
                if let Some(t) = table.take() {
                    total = total.saturating_add(t.cells());
                }
            }
            _ => {}
        },
    })?;
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::docs::LIMITS;

    fn count(body: &str) -> u64 {
        let xml = format!(
            "<office:document-content xmlns:office=\"o\" xmlns:table=\"t\" xmlns:text=\"x\"><office:body>\
             <office:spreadsheet>{body}</office:spreadsheet></office:body></office:document-content>"
        );
        cells(&xml, &Budget::new(LIMITS, None)).unwrap()
    }

    #[test]
    fn counts_the_grid_with_repeats_expanded() {
        // A 2x3 sheet with trailing empty repeats (as LibreOffice writes).
        let small = "<table:table><table:table-row><table:table-cell office:value-type=\"float\"><text:p>1</text:p>\
                     </table:table-cell><table:table-cell table:number-columns-repeated=\"2\"><text:p>x</text:p></table:table-cell>\
                     <table:table-cell table:number-columns-repeated=\"16381\"/></table:table-row>\
                     <table:table-row><table:table-cell><text:p>y</text:p></table:table-cell></table:table-row>\
                     <table:table-row table:number-rows-repeated=\"1048574\"><table:table-cell table:number-columns-repeated=\"16384\"/>\
                     </table:table-row></table:table>";
        assert_eq!(count(small), 2 * 3 + 3 + 1);
        // One value repeated over every column and a million rows.
        let bomb = "<table:table><table:table-row table:number-rows-repeated=\"1000000\">\
                    <table:table-cell table:number-columns-repeated=\"16384\"><text:p>z</text:p></table:table-cell>\
                    </table:table-row></table:table>";
        assert!(count(bomb) > 16_000_000_000, "{}", count(bomb));
        // Two sheets add up.
        assert_eq!(count(&format!("{small}{small}")), 2 * 10);
    }
}
