//! Spreadsheets (.xlsx, .xls, .ods via calamine; .csv/.tsv) as Markdown
//! tables with column letters and row numbers. `sheet` (name or 1-based
//! index) and `range` (`A1:D20`) choose; the structured result lists the
//! sheets and their sizes; big sheets are cut to the output cap with a note.
//! XLSX cells are streamed (never a dense grid of the sheet's extent) and
//! every ZIP part is size-checked before calamine reads it; .ods and .xls
//! workbooks, which calamine lays out as dense grids, are pre-scanned
//! (`ods_scan`, `xls_scan`) and refused when those grids pass the cell limit.

use super::xml::escape_cell;
use super::zipped::Archive;
use super::{invalid, Budget, DocError, Extracted, Kind, Request, SheetSel};
use crate::protocol::Content;
use calamine::{Data, Reader, Xlsx};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Cursor;

/// Most columns shown side by side.
const MAX_COLUMNS: u32 = 256;

/// A cell rectangle, 0-based and inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Area {
    pub r0: u32,
    pub c0: u32,
    pub r1: u32,
    pub c1: u32,
}

/// `A1`-style cell reference → (row, column), 0-based.
fn cell_ref(s: &str) -> Option<(u32, u32)> {
    let s = s.trim().replace('$', "");
    let split = s.find(|c: char| c.is_ascii_digit())?;
    let (letters, digits) = s.split_at(split);
    if letters.is_empty() || letters.len() > 3 || !letters.chars().all(|c| c.is_ascii_alphabetic())
    {
        return None;
    }
    let mut col = 0u32;
    for c in letters.chars() {
        col = col * 26 + (c.to_ascii_uppercase() as u32 - 'A' as u32 + 1);
    }
    let row: u32 = digits.parse().ok()?;
    (row >= 1).then(|| (row - 1, col - 1))
}

/// Parse `A1:D20` (or a single cell `B3`).
pub(crate) fn parse_range(s: &str) -> Result<Area, DocError> {
    let bad = || invalid(format!("range {s:?} is not a cell range like A1:D20"));
    let (a, b) = s.split_once(':').unwrap_or((s, s));
    let (r0, c0) = cell_ref(a).ok_or_else(bad)?;
    let (r1, c1) = cell_ref(b).ok_or_else(bad)?;
    Ok(Area {
        r0: r0.min(r1),
        c0: c0.min(c1),
        r1: r0.max(r1),
        c1: c0.max(c1),
    })
}

/// Column letters of a 0-based column.
pub(crate) fn column_name(mut c: u32) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (c % 26) as u8);
        if c < 26 {
            break;
        }
        c = c / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

/// The cells of one sheet, kept up to a text budget.
#[derive(Default)]
struct Grid {
    cells: BTreeMap<(u32, u32), String>,
    kept_bytes: usize,
    /// Extent of all non-empty cells seen (inside the range).
    extent: Option<Area>,
    seen: u64,
}

impl Grid {
    fn add(&mut self, r: u32, c: u32, text: String, area: Option<Area>, keep_bytes: usize) {
        if text.is_empty() {
            return;
        }
        if let Some(a) = area {
            if r < a.r0 || r > a.r1 || c < a.c0 || c > a.c1 {
                return;
            }
        }
        self.seen += 1;
        self.extent = Some(match self.extent {
            None => Area {
                r0: r,
                c0: c,
                r1: r,
                c1: c,
            },
            Some(e) => Area {
                r0: e.r0.min(r),
                c0: e.c0.min(c),
                r1: e.r1.max(r),
                c1: e.c1.max(c),
            },
        });
        if self.kept_bytes < keep_bytes {
            self.kept_bytes += text.len() + 4;
            self.cells.insert((r, c), text);
        }
    }

    /// The Markdown table of `area` (or the extent), within `max` bytes.
    fn render(&self, area: Option<Area>, max: usize) -> (String, Value) {
        let Some(data) = self.extent else {
            return (
                "(no cells with values here)\n".into(),
                json!({"shown": null, "truncated": false}),
            );
        };
        let ext = area.unwrap_or(data);
        let c1 = ext.c1.min(ext.c0 + MAX_COLUMNS - 1);
        let mut out = String::from("| |");
        for c in ext.c0..=c1 {
            out.push_str(&format!(" {} |", column_name(c)));
        }
        out.push_str("\n| --- |");
        for _ in ext.c0..=c1 {
            out.push_str(" --- |");
        }
        out.push('\n');
        let mut last_row = None;
        // The last row with data; cells past the kept ones were not stored.
        let target_end = ext.r1.min(data.r1);
        let dropped = self.cells.len() as u64 != self.seen;
        let last_kept = self.cells.keys().map(|k| k.0).max().unwrap_or(ext.r0);
        let loop_end = if dropped {
            target_end.min(last_kept)
        } else {
            target_end
        };
        for r in ext.r0..=loop_end.max(ext.r0) {
            let mut line = format!("| {} |", r + 1);
            for c in ext.c0..=c1 {
                line.push(' ');
                if let Some(t) = self.cells.get(&(r, c)) {
                    line.push_str(&escape_cell(t));
                }
                line.push_str(" |");
            }
            line.push('\n');
            if out.len() + line.len() > max {
                break;
            }
            out.push_str(&line);
            last_row = Some(r);
        }
        let ext = Area {
            r1: target_end,
            ..ext
        };
        let complete = last_row == Some(target_end) && c1 == ext.c1;
        if !complete {
            let next = last_row.map_or(ext.r0 + 1, |r| r + 2);
            let cols = if c1 == ext.c1 {
                String::new()
            } else {
                format!(" (columns past {} not shown)", column_name(c1))
            };
            out.push_str(&format!(
                "[showed rows {}-{} of {}{}:{}{}{cols} (output capped at {max} bytes); \
                 continue with range={}{}:{}{}]\n",
                ext.r0 + 1,
                last_row.map_or(ext.r0, |r| r + 1),
                column_name(ext.c0),
                ext.r0 + 1,
                column_name(ext.c1),
                ext.r1 + 1,
                column_name(ext.c0),
                next,
                column_name(ext.c1),
                ext.r1 + 1,
            ));
        }
        let shown_to = last_row.map(|r| r + 1);
        let s = json!({
            "shown": format!("{}{}:{}{}", column_name(ext.c0), ext.r0 + 1, column_name(c1), shown_to.unwrap_or(ext.r0 + 1)),
            "truncated": !complete,
        });
        (out, s)
    }
}

/// The sheet `sel` picks among `names` (default the first).
fn pick(names: &[String], sel: &Option<SheetSel>) -> Result<usize, DocError> {
    let list = || names.join(", ");
    match sel {
        None => {
            if names.is_empty() {
                Err(invalid("the workbook has no sheets"))
            } else {
                Ok(0)
            }
        }
        Some(SheetSel::Index(i)) => {
            let i = *i as usize;
            if i >= 1 && i <= names.len() {
                Ok(i - 1)
            } else {
                Err(invalid(format!(
                    "sheet {i} does not exist: the workbook has {} sheets ({})",
                    names.len(),
                    list()
                )))
            }
        }
        Some(SheetSel::Name(n)) => names
            .iter()
            .position(|s| s == n)
            .or_else(|| names.iter().position(|s| s.eq_ignore_ascii_case(n)))
            .ok_or_else(|| invalid(format!("no sheet named {n:?}; the sheets are: {}", list()))),
    }
}

fn finish(
    format: &str,
    sheets: Value,
    name: &str,
    grid: &Grid,
    area: Option<Area>,
    req: &Request,
) -> Extracted {
    let (table, view) = grid.render(area, req.max_text.saturating_sub(200));
    let text = format!("Sheet: {name}\n\n{table}");
    let mut s = json!({"format": format, "sheets": sheets, "sheet": name, "cells": grid.seen});
    if let Some(a) = area {
        s["range"] = json!(format!(
            "{}{}:{}{}",
            column_name(a.c0),
            a.r0 + 1,
            column_name(a.c1),
            a.r1 + 1
        ));
    }
    s["shown"] = view["shown"].clone();
    s["truncated"] = view["truncated"].clone();
    (Content::text(text), s)
}

/// A workbook (.xlsx, .xls, .ods): one sheet as a Markdown table.
pub(crate) fn read_workbook(
    kind: Kind,
    data: &[u8],
    req: &Request,
    budget: &Budget,
) -> Result<Extracted, DocError> {
    let area = req.range.as_deref().map(parse_range).transpose()?;
    let keep = req.max_text.saturating_mul(2);
    let max_cells = budget.limits().cells;
    if matches!(kind, Kind::Xlsx | Kind::Ods) {
        let mut archive = Archive::open(data, budget, kind.label())?;
        archive.check_all(budget)?;
        // calamine builds every sheet of an .ods as a dense grid when it
        // opens it: count those cells first (repeats expanded).
        if kind == Kind::Ods {
            let xml = archive
                .read_text("content.xml", budget)?
                .unwrap_or_default();
            let n = super::ods_scan::cells(&xml, budget)?;
            if n > max_cells {
                return Err(invalid(format!(
                    "this OpenDocument spreadsheet would expand to {n} cells across its sheets \
                     (repeated rows and columns counted), more than the limit of {max_cells}; \
                     save the sheet you need alone, or as .xlsx or .csv, and read that"
                )));
            }
        }
    }
    // calamine builds every sheet of an .xls as a dense grid (and one for
    // the formulas) when it opens it: count those cells first.
    if kind == Kind::Xls {
        let n = super::xls_scan::cells(data, budget)?;
        if n > max_cells {
            return Err(invalid(format!(
                "this Excel 97-2003 workbook would expand to {n} cells across its sheets \
                 (each sheet's grid counted from its first to its last cell, formulas \
                 included), more than the limit of {max_cells}; save the sheet you need \
                 alone, or as .xlsx or .csv, and read that"
            )));
        }
    }
    let bad = |e: calamine::Error| invalid(format!("this {} could not be read: {e}", kind.label()));
    if kind == Kind::Xlsx {
        let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(data))
            .map_err(|e| invalid(format!("this Excel workbook could not be read: {e}")))?;
        let names = book.sheet_names();
        let idx = pick(&names, &req.sheet)?;
        let mut sheets = Vec::new();
        for n in &names {
            budget.check()?;
            let dims = book.worksheet_cells_reader(n).ok().map(|r| r.dimensions());
            sheets.push(match dims {
                Some(d) if d.len() > 0 => json!({"name": n, "rows": d.end.0 - d.start.0 + 1, "columns": d.end.1 - d.start.1 + 1, "dimension": format!("{}{}:{}{}", column_name(d.start.1), d.start.0 + 1, column_name(d.end.1), d.end.0 + 1)}),
                _ => json!({"name": n, "rows": 0, "columns": 0}),
            });
        }
        let mut grid = Grid::default();
        let mut reader = book
            .worksheet_cells_reader(&names[idx])
            .map_err(|e| invalid(format!("sheet {:?} could not be read: {e}", names[idx])))?;
        let mut count = 0u64;
        while let Some(cell) = reader
            .next_cell()
            .map_err(|e| invalid(format!("sheet {:?} could not be read: {e}", names[idx])))?
        {
            count += 1;
            if count.is_multiple_of(4096) {
                budget.check()?;
            }
            if count > max_cells {
                return Err(invalid(format!(
                    "sheet {:?} has more than {max_cells} cells; choose a smaller range",
                    names[idx]
                )));
            }
            let (r, c) = cell.get_position();
            let v: Data = cell.get_value().clone().into();
            grid.add(r, c, v.to_string(), area, keep);
        }
        return Ok(finish("xlsx", json!(sheets), &names[idx], &grid, area, req));
    }
    let mut book = calamine::open_workbook_auto_from_rs(Cursor::new(data)).map_err(bad)?;
    let names = book.sheet_names();
    let idx = pick(&names, &req.sheet)?;
    budget.check()?;
    let range = book.worksheet_range(&names[idx]).map_err(bad)?;
    budget.check()?;
    let (h, w) = range.get_size();
    if (h as u64).saturating_mul(w as u64) > max_cells {
        return Err(invalid(format!(
            "sheet {:?} spans more than {max_cells} cells; choose a smaller range",
            names[idx]
        )));
    }
    let (r0, c0) = range.start().unwrap_or((0, 0));
    let mut grid = Grid::default();
    for (i, row) in range.rows().enumerate() {
        if i.is_multiple_of(1024) {
            budget.check()?;
        }
        for (j, v) in row.iter().enumerate() {
            grid.add(r0 + i as u32, c0 + j as u32, v.to_string(), area, keep);
        }
    }
    let sheets: Vec<Value> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            if i == idx {
                json!({"name": n, "rows": h, "columns": w})
            } else {
                json!({"name": n})
            }
        })
        .collect();
    let format = if kind == Kind::Ods { "ods" } else { "xls" };
    Ok(finish(format, json!(sheets), &names[idx], &grid, area, req))
}

/// Split CSV text into records (RFC 4180 quoting), at most `max_cells` cells.
fn csv_records(
    text: &str,
    sep: char,
    budget: &Budget,
    mut cell: impl FnMut(u32, u32, String),
) -> Result<(u32, u32), DocError> {
    let max_cells = budget.limits().cells;
    let (mut row, mut col, mut count, mut width) = (0u32, 0u32, 0u64, 0u32);
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    let mut any = false;
    while let Some(ch) = chars.next() {
        any = true;
        if quoted {
            if ch == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                }
            } else {
                field.push(ch);
            }
            continue;
        }
        match ch {
            '"' if field.is_empty() => quoted = true,
            c if c == sep => {
                cell(row, col, std::mem::take(&mut field));
                col += 1;
                count += 1;
            }
            '\r' => {}
            '\n' => {
                cell(row, col, std::mem::take(&mut field));
                width = width.max(col + 1);
                row += 1;
                col = 0;
                count += 1;
                if row.is_multiple_of(1024) {
                    budget.check()?;
                }
                any = false;
            }
            c => field.push(c),
        }
        if count > max_cells {
            return Err(invalid(format!(
                "this table has more than {max_cells} cells; choose a smaller range"
            )));
        }
    }
    if any {
        cell(row, col, field);
        width = width.max(col + 1);
        row += 1;
    }
    Ok((row, width))
}

/// A CSV (or TSV) file as a Markdown table.
pub(crate) fn read_csv(data: &[u8], req: &Request, budget: &Budget) -> Result<Extracted, DocError> {
    let area = req.range.as_deref().map(parse_range).transpose()?;
    if let Some(SheetSel::Index(i)) = &req.sheet {
        if *i != 1 {
            return Err(invalid("a CSV file has one sheet (sheet 1)"));
        }
    }
    let text = String::from_utf8_lossy(data);
    let first_line = text.lines().next().unwrap_or("");
    let sep = if first_line.matches('\t').count() > first_line.matches(',').count() {
        '\t'
    } else if first_line.matches(';').count() > first_line.matches(',').count() {
        ';'
    } else {
        ','
    };
    let keep = req.max_text.saturating_mul(2);
    let mut grid = Grid::default();
    let (rows, cols) = csv_records(&text, sep, budget, |r, c, v| grid.add(r, c, v, area, keep))?;
    let sheets = json!([{"name": "csv", "rows": rows, "columns": cols}]);
    Ok(finish("csv", sheets, "csv", &grid, area, req))
}
