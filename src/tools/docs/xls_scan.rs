//! A pre-scan of a legacy Excel workbook (.xls: BIFF8 or BIFF5 records in
//! the `Workbook` or `Book` stream of an OLE2 compound file): how many cells
//! calamine would build for it, counted before calamine is let loose.
//!
//! calamine parses every sheet of an .xls when the workbook is opened. For
//! each sheet it reserves room for the cells its DIMENSIONS record claims,
//! collects the cell records, and lays them out as a dense grid from the
//! smallest to the largest cell position (and a second grid for formulas):
//! a file of a few KB with one value at A1 and one at IV65536 asks for 16.7
//! million cells per sheet. This scan opens the compound file with the `cfb`
//! crate, reads the stream (capped like every document part) and walks its
//! records the way calamine does (sheets found through their BOUNDSHEET
//! records, CONTINUE records joined, embedded substreams skipped), so a
//! workbook too large for the cell limit is refused before any of it is
//! built. A record cut short by the end of the stream is reported here, as
//! calamine would refuse it too.

use super::{invalid, Budget, DocError};
use std::collections::HashMap;
use std::io::{Cursor, Read};

/// Record types (MS-XLS 2.3) the scan acts on.
const BOF: u16 = 0x0809;
const EOF: u16 = 0x000A;
const CONTINUE: u16 = 0x003C;
const BOUNDSHEET: u16 = 0x0085;
const DIMENSIONS: u16 = 0x0200;
const NUMBER: u16 = 0x0203;
const LABEL: u16 = 0x0204;
const RSTRING: u16 = 0x00D6;
const BOOLERR: u16 = 0x0205;
const STRING: u16 = 0x0207;
const RK: u16 = 0x027E;
const LABELSST: u16 = 0x00FD;
const MULRK: u16 = 0x00BD;
const FORMULA: u16 = 0x0006;

/// What to tell the user about a workbook whose records are broken.
const RESAVE: &str = "open it in a spreadsheet program and save it again (as .xlsx or .csv)";

fn u16_at(d: &[u8], at: usize) -> Option<u16> {
    let b = d.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

fn u32_at(d: &[u8], at: usize) -> Option<u32> {
    let b = d.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// The records of a stream from some position, as calamine splits them: a
/// record is followed by the CONTINUE records that extend it (skipped here,
/// they never hold a cell position).
struct Records<'a> {
    stream: &'a [u8],
    at: usize,
}

impl<'a> Iterator for Records<'a> {
    /// The record's type and data, or why the stream is broken.
    type Item = Result<(u16, &'a [u8]), DocError>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.stream.get(self.at..).unwrap_or_default();
        if rest.is_empty() {
            return None;
        }
        let Some(item) = record(rest) else {
            return Some(Err(broken(self.at)));
        };
        let (typ, data, mut len) = item;
        // CONTINUE records right after (calamine looks only when more than
        // a record header is left).
        while let (Some(CONTINUE), true) = (u16_at(rest, len), rest.len() - len > 4) {
            match record(&rest[len..]) {
                Some((_, _, n)) => len += n,
                None => return Some(Err(broken(self.at + len))),
            }
        }
        self.at += len;
        Some(Ok((typ, data)))
    }
}

/// The record at the start of `s`: type, data, and its whole length.
fn record(s: &[u8]) -> Option<(u16, &[u8], usize)> {
    let typ = u16_at(s, 0)?;
    let len = usize::from(u16_at(s, 2)?);
    let data = s.get(4..4 + len)?;
    Some((typ, data, 4 + len))
}

fn broken(at: usize) -> DocError {
    invalid(format!(
        "this Excel workbook is damaged: the record at byte {at} of its workbook stream \
         runs past the end of the stream; {RESAVE}"
    ))
}

/// The smallest rectangle holding some cell positions.
#[derive(Default, Clone, Copy)]
struct Bounds(Option<(u32, u32, u32, u32)>);

impl Bounds {
    fn add(&mut self, r: u32, c: u32) {
        self.0 = Some(match self.0 {
            None => (r, c, r, c),
            Some((r0, c0, r1, c1)) => (r0.min(r), c0.min(c), r1.max(r), c1.max(c)),
        });
    }

    /// Cells of the dense grid over the rectangle.
    fn area(self) -> u64 {
        self.0.map_or(0, |(r0, c0, r1, c1)| {
            u64::from(r1 - r0 + 1).saturating_mul(u64::from(c1 - c0 + 1))
        })
    }
}

/// What calamine builds for one sheet.
#[derive(Default)]
struct Sheet {
    /// Value cells collected, and their grid.
    values: u64,
    grid: Bounds,
    /// Formulas collected, and their grid.
    formulas: u64,
    formula_grid: Bounds,
    /// Most cells the value list was made room for by DIMENSIONS records.
    reserved: u64,
}

impl Sheet {
    fn value(&mut self, r: u32, c: u32) {
        self.values += 1;
        self.grid.add(r, c);
    }

    /// Every cell calamine allocates for the sheet: the value list (or the
    /// room reserved for it), the value grid, the formula list and grid.
    fn cells(&self) -> u64 {
        self.values
            .max(self.reserved)
            .saturating_add(self.grid.area())
            .saturating_add(self.formulas)
            .saturating_add(self.formula_grid.area())
    }
}

/// The room calamine reserves for a DIMENSIONS record, with its u32
/// arithmetic (which wraps on a hostile record).
fn reserved(d: &[u8]) -> Option<u64> {
    let (rf, rl, cf, cl) = match d.len() {
        10 => (
            u32::from(u16_at(d, 0)?),
            u32::from(u16_at(d, 2)?),
            u32::from(u16_at(d, 4)?),
            u32::from(u16_at(d, 6)?),
        ),
        14 | 16 => (
            u32_at(d, 0)?,
            u32_at(d, 4)?,
            u32::from(u16_at(d, 8)?),
            u32::from(u16_at(d, 10)?),
        ),
        _ => return None,
    };
    let cf = if cf > 0xFF || cl < cf { 0 } else { cf };
    if rl == 0 || cl == 0 {
        return Some(1);
    }
    let rows = (rl - 1).wrapping_sub(rf).wrapping_add(1);
    let cols = (cl - 1).wrapping_sub(cf).wrapping_add(1);
    Some(u64::from(rows).saturating_mul(u64::from(cols)))
}

/// Row and column of a cell record (the first four bytes), if it is long
/// enough for calamine to read it (a shorter one makes calamine fail).
fn pos(d: &[u8], min_len: usize) -> Option<(u32, u32)> {
    (d.len() >= min_len).then_some(())?;
    Some((u32::from(u16_at(d, 0)?), u32::from(u16_at(d, 2)?)))
}

/// The cells calamine would build for the sheet whose records start at
/// `start` of `stream`.
fn sheet_cells(stream: &[u8], start: usize, budget: &Budget) -> Result<u64, DocError> {
    let mut sheet = Sheet::default();
    let mut formula_at = (0u32, 0u32);
    let mut seen_bof = false;
    let mut depth = 0usize;
    let records = Records { stream, at: start };
    for (i, rec) in records.enumerate() {
        if i % 4096 == 4095 {
            budget.check()?;
        }
        let (typ, d) = rec?;
        if depth > 0 {
            match typ {
                BOF => depth += 1,
                EOF => depth -= 1,
                _ => {}
            }
            continue;
        }
        match typ {
            // An embedded substream (chart, ...): calamine skips it.
            BOF if seen_bof => depth += 1,
            BOF => seen_bof = true,
            EOF => break,
            DIMENSIONS => {
                if let Some(n) = reserved(d) {
                    sheet.reserved = sheet.reserved.max(sheet.values.saturating_add(n));
                }
            }
            NUMBER | LABEL | RSTRING | BOOLERR | RK | LABELSST => {
                let min = match typ {
                    NUMBER => 14,
                    BOOLERR => 8,
                    RK | LABELSST => 10,
                    _ => 6,
                };
                if let Some((r, c)) = pos(d, min) {
                    sheet.value(r, c);
                }
            }
            // A formula's string value, at the last formula's cell.
            STRING => sheet.value(formula_at.0, formula_at.1),
            MULRK => {
                let (Some((r, first)), Some(last)) = (pos(d, 6), u16_at(d, d.len() - 2)) else {
                    continue;
                };
                let n = last.wrapping_sub(first as u16).wrapping_add(1);
                if d.len() == 6 + 6 * usize::from(n) && n > 0 {
                    sheet.values += u64::from(n);
                    sheet.grid.add(r, first);
                    sheet.grid.add(r, first + u32::from(n) - 1);
                }
            }
            FORMULA => {
                if let Some((r, c)) = pos(d, 20) {
                    formula_at = (r, c);
                    // A string result comes in the STRING record after it.
                    if !(d[6] == 0 && d[12] == 0xFF && d[13] == 0xFF) {
                        sheet.value(r, c);
                    }
                    sheet.formulas += 1;
                    sheet.formula_grid.add(r, c);
                }
            }
            _ => {}
        }
    }
    Ok(sheet.cells())
}

/// The cells calamine would build for the workbook stream `stream` (BIFF
/// records): every sheet its BOUNDSHEET records point at, added up.
pub(crate) fn stream_cells(stream: &[u8], budget: &Budget) -> Result<u64, DocError> {
    let mut starts = Vec::new();
    let records = Records { stream, at: 0 };
    for (i, rec) in records.enumerate() {
        if i % 4096 == 4095 {
            budget.check()?;
        }
        match rec? {
            (EOF, _) => break,
            (BOUNDSHEET, d) => {
                if let Some(at) = u32_at(d, 0) {
                    starts.push(at as usize);
                }
            }
            _ => {}
        }
    }
    // Several sheets may point at the same records: count each start once,
    // and every sheet, since calamine builds each.
    let mut seen: HashMap<usize, u64> = HashMap::new();
    let mut total = 0u64;
    for (n, at) in starts.into_iter().enumerate() {
        budget.check()?;
        if at > stream.len() {
            return Err(invalid(format!(
                "this Excel workbook is damaged: sheet {} starts at byte {at}, past the end of \
                 its {}-byte workbook stream; {RESAVE}",
                n + 1,
                stream.len()
            )));
        }
        let cells = match seen.get(&at) {
            Some(c) => *c,
            None => {
                let c = sheet_cells(stream, at, budget)?;
                seen.insert(at, c);
                c
            }
        };
        total = total.saturating_add(cells);
    }
    Ok(total)
}

/// The cells calamine would build for the .xls file `data`: its compound
/// file opened, the stream calamine reads (`Workbook`, else `Book`) read
/// within the part limits and scanned. When more than one stream bears the
/// name (calamine takes the first in the directory), the largest count wins.
pub(crate) fn cells(data: &[u8], budget: &Budget) -> Result<u64, DocError> {
    let limits = budget.limits();
    let mut file = cfb::CompoundFile::open(Cursor::new(data)).map_err(|e| {
        invalid(format!(
            "this Excel workbook could not be read: its OLE2 container is not valid ({e}); {RESAVE}"
        ))
    })?;
    let named = |want: &str| -> Vec<_> {
        file.walk()
            .filter(|e| e.is_stream() && e.name().eq_ignore_ascii_case(want))
            .map(|e| (e.path().to_path_buf(), e.len()))
            .collect()
    };
    let mut streams = named("Workbook");
    if streams.is_empty() {
        streams = named("Book");
    }
    if streams.is_empty() {
        return Err(invalid(
            "this Excel workbook has no Workbook stream: it is not an Excel 97-2003 (.xls) file \
             (or is one from Excel 4.0 or older); save it as .xlsx or .csv and read that",
        ));
    }
    let (mut read, mut most) = (0u64, 0u64);
    for (path, len) in streams {
        budget.check()?;
        let too_big = |n: u64| {
            invalid(format!(
                "the workbook stream of this Excel workbook is {n} bytes or more, over the limit \
                 of {} bytes; save the sheet you need alone, or as .xlsx or .csv, and read that",
                limits.part_bytes
            ))
        };
        if len > limits.part_bytes {
            return Err(too_big(len));
        }
        read = read.saturating_add(len);
        if read > limits.total_bytes {
            return Err(too_big(read));
        }
        let stream = file.open_stream(&path).map_err(|e| {
            invalid(format!(
                "this Excel workbook could not be read: its workbook stream is damaged ({e}); {RESAVE}"
            ))
        })?;
        let mut buf = Vec::with_capacity(len as usize);
        stream
            .take(limits.part_bytes + 1)
            .read_to_end(&mut buf)
            .map_err(|e| {
                invalid(format!(
                    "this Excel workbook could not be read: its workbook stream is damaged ({e}); {RESAVE}"
                ))
            })?;
        if buf.len() as u64 > limits.part_bytes {
            return Err(too_big(buf.len() as u64));
        }
        most = most.max(stream_cells(&buf, budget)?);
    }
    Ok(most)
}

#[cfg(test)]
mod tests;
