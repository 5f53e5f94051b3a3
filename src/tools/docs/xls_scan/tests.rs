//! Unit tests of the .xls pre-scan on hand-built BIFF streams and compound files.

use super::*;
use crate::tools::docs::LIMITS;
use std::io::Write;

fn budget() -> Budget {
    Budget::new(LIMITS, None)
}

fn rec(typ: u16, data: &[u8]) -> Vec<u8> {
    let mut v = typ.to_le_bytes().to_vec();
    v.extend((data.len() as u16).to_le_bytes());
    v.extend(data);
    v
}

fn bof() -> Vec<u8> {
    rec(BOF, &[0x00, 0x06, 0x10, 0x00, 0, 0, 0, 0])
}

fn eof() -> Vec<u8> {
    rec(EOF, &[])
}

/// A cell record: row, column, XF index, then `rest`.
fn cell(typ: u16, r: u16, c: u16, rest: &[u8]) -> Vec<u8> {
    let mut d = [r.to_le_bytes(), c.to_le_bytes(), [0, 0]].concat();
    d.extend(rest);
    rec(typ, &d)
}

fn number(r: u16, c: u16) -> Vec<u8> {
    cell(NUMBER, r, c, &1.5f64.to_le_bytes())
}

fn mulrk(r: u16, first: u16, last: u16, n: usize) -> Vec<u8> {
    let mut d = [r.to_le_bytes(), first.to_le_bytes()].concat();
    d.extend(std::iter::repeat_n(0u8, 6 * n));
    d.extend(last.to_le_bytes());
    rec(MULRK, &d)
}

/// A sheet substream: BOF, the records, EOF.
fn sheet(records: &[Vec<u8>]) -> Vec<u8> {
    [vec![bof()], records.to_vec(), vec![eof()]]
        .concat()
        .concat()
}

/// A workbook stream: globals with one BOUNDSHEET per entry of `map`
/// (the sheet it points at), then the sheets.
fn workbook_map(sheets: &[Vec<u8>], map: &[usize]) -> Vec<u8> {
    let bound = |at: usize| {
        let at = (at as u32).to_le_bytes();
        rec(BOUNDSHEET, &[&at[..], &[0, 0, 1, 0, b'S']].concat())
    };
    let mut at = bof().len() + map.len() * bound(0).len() + eof().len();
    let mut starts = Vec::new();
    for s in sheets {
        starts.push(at);
        at += s.len();
    }
    let mut out = bof();
    for &i in map {
        out.extend(bound(starts[i]));
    }
    out.extend(eof());
    out.extend(sheets.concat());
    out
}

fn workbook(sheets: &[Vec<u8>]) -> Vec<u8> {
    workbook_map(sheets, &(0..sheets.len()).collect::<Vec<_>>())
}

fn count(stream: &[u8]) -> u64 {
    stream_cells(stream, &budget()).unwrap()
}

#[test]
fn counts_values_and_their_grid() {
    // Two values (A1, D3): 2 listed, a 3x4 grid.
    let wb = workbook(&[sheet(&[number(0, 0), cell(LABELSST, 2, 3, &[0; 4])])]);
    assert_eq!(count(&wb), 2 + 12);
    // BLANK and MULBLANK cells are not read by calamine; a record too
    // short for calamine to read holds no cell here.
    let wb = workbook(&[sheet(&[
        number(0, 0),
        cell(0x0201, 900, 200, &[]),
        rec(0x00BE, &[0, 0, 0, 0, 0, 0, 0, 0, 200, 0]),
        cell(RK, 900, 200, &[]),
    ])]);
    assert_eq!(count(&wb), 1 + 1);
}

#[test]
fn counts_formulas_twice_and_their_string_results() {
    let numeric = cell(FORMULA, 1, 1, &[0; 14]);
    let mut text = [0u8; 14];
    text[6..8].copy_from_slice(&[0xFF, 0xFF]);
    let string_formula = cell(FORMULA, 2, 2, &text);
    let wb = workbook(&[sheet(&[
        numeric,
        string_formula,
        rec(STRING, &[1, 0, 0, b'x']),
    ])]);
    // Values at B2 and C3 (the string one from STRING): 2 + 2x2; the
    // formulas the same again.
    assert_eq!(count(&wb), (2 + 4) * 2);
    // A STRING before any formula lands at A1.
    let wb = workbook(&[sheet(&[rec(STRING, &[1, 0, 0, b'x']), number(9, 9)])]);
    assert_eq!(count(&wb), 2 + 100);
}

#[test]
fn a_huge_bounding_box_on_several_sheets() {
    let hostile = sheet(&[number(0, 0), number(65535, 255)]);
    let one = count(&workbook(std::slice::from_ref(&hostile)));
    assert_eq!(one, 2 + 65536 * 256);
    assert!(one > LIMITS.cells);
    assert_eq!(count(&workbook(&[hostile.clone(), hostile])), 2 * one);
    // Two sheets pointing at the same records are both built.
    let small = sheet(&[number(0, 0), number(1, 1)]);
    assert_eq!(count(&workbook_map(&[small], &[0, 0])), 2 * (2 + 4));
}

#[test]
fn mulrk_ranges() {
    // Row 6, columns C..L (10 values): 10 listed, a 1x10 grid.
    assert_eq!(count(&workbook(&[sheet(&[mulrk(5, 2, 11, 10)])])), 20);
    // A length that does not match the columns: calamine refuses it.
    assert_eq!(count(&workbook(&[sheet(&[mulrk(5, 2, 11, 9)])])), 0);
    // A last column before the first wraps as in calamine (u16): two
    // values at columns 65535 and 65536.
    assert_eq!(count(&workbook(&[sheet(&[mulrk(0, 65535, 0, 2)])])), 4);
    // MULRK across the widest row, with a value far down.
    let wb = workbook(&[sheet(&[mulrk(0, 0, 255, 256), number(65535, 0)])]);
    assert_eq!(count(&wb), 257 + 65536 * 256);
}

#[test]
fn dimensions_reserve_room() {
    let dims = |rf: u32, rl: u32, cf: u16, cl: u16| {
        let d = [
            &rf.to_le_bytes()[..],
            &rl.to_le_bytes(),
            &cf.to_le_bytes(),
            &cl.to_le_bytes(),
            &[0, 0],
        ]
        .concat();
        rec(DIMENSIONS, &d)
    };
    // 10 rows x 4 columns, one value.
    assert_eq!(
        count(&workbook(&[sheet(&[dims(0, 10, 0, 4), number(0, 0)])])),
        40 + 1
    );
    // Last row before the first: calamine's u32 arithmetic wraps to
    // billions of rows.
    let n = count(&workbook(&[sheet(&[dims(5, 3, 0, 4)])]));
    assert!(n > 4_000_000_000 * 4, "{n}");
}

#[test]
fn embedded_substreams_are_skipped() {
    let chart = [bof(), number(60000, 200), eof()].concat();
    let wb = workbook(&[sheet(&[number(0, 0), chart])]);
    assert_eq!(count(&wb), 2);
    // Without its EOF the walk runs on into the next sheet, whose BOF
    // then opens a substream skipped like a chart.
    let open = [bof(), number(0, 0)].concat();
    let wb = workbook(&[open, sheet(&[number(1, 1)])]);
    assert_eq!(count(&wb), (1 + 1) + (1 + 1));
}

#[test]
fn broken_streams_are_refused_not_panicked_on() {
    let good = workbook(&[sheet(&[number(0, 0), mulrk(1, 0, 3, 4)])]);
    for cut in 0..good.len() {
        // Every prefix: a count or an error, never a panic.
        let _ = stream_cells(&good[..cut], &budget());
    }
    // A length past the end.
    let mut bad = good.clone();
    let last = bad.len() - 4;
    bad[last + 2] = 50;
    let err = stream_cells(&bad, &budget()).unwrap_err().to_string();
    assert!(
        err.contains("damaged") && err.contains("past the end"),
        "{err}"
    );
    // A header cut short.
    let err = stream_cells(&good[..good.len() - 2], &budget()).unwrap_err();
    assert!(err.to_string().contains("damaged"), "{err}");
    // A CONTINUE running past the end.
    let open = [bof(), number(0, 0), vec![0x3C, 0, 50, 0, 1, 2]].concat();
    let err = stream_cells(&workbook(&[open]), &budget()).unwrap_err();
    assert!(err.to_string().contains("damaged"), "{err}");
    // A sheet starting past the end of the stream.
    let mut wb = workbook(&[sheet(&[number(0, 0)])]);
    let p = bof().len() + 4;
    wb[p..p + 4].copy_from_slice(&9_999u32.to_le_bytes());
    let err = stream_cells(&wb, &budget()).unwrap_err().to_string();
    assert!(err.contains("sheet 1 starts at byte 9999"), "{err}");
}

fn compound(name: &str, stream: &[u8]) -> Vec<u8> {
    let mut file = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
    file.create_stream(name).unwrap().write_all(stream).unwrap();
    file.flush().unwrap();
    file.into_inner().into_inner()
}

#[test]
fn reads_the_workbook_stream_of_a_compound_file() {
    let wb = workbook(&[sheet(&[number(0, 0), number(65535, 255)])]);
    assert_eq!(
        cells(&compound("Workbook", &wb), &budget()).unwrap(),
        2 + 65536 * 256
    );
    assert_eq!(
        cells(&compound("Book", &wb), &budget()).unwrap(),
        2 + 65536 * 256
    );
    let err = cells(&compound("Other", &wb), &budget())
        .unwrap_err()
        .to_string();
    assert!(err.contains("no Workbook stream"), "{err}");
    let err = cells(b"\xD0\xCF\x11\xE0 not a compound file", &budget())
        .unwrap_err()
        .to_string();
    assert!(err.contains("OLE2 container is not valid"), "{err}");
    // A stream over the part limit is refused before it is read.
    let limits = crate::tools::docs::Limits {
        part_bytes: 1024,
        ..LIMITS
    };
    let big = compound("Workbook", &[workbook(&[]), vec![0; 4096]].concat());
    let err = cells(&big, &Budget::new(limits, None))
        .unwrap_err()
        .to_string();
    assert!(err.contains("over the limit of 1024 bytes"), "{err}");
}

/// Issue 22: through `extract`, a small .xls whose cells span a whole
/// sheet (or whose DIMENSIONS claims billions of cells) is refused before
/// calamine runs; an ordinary one is read by calamine.
#[test]
fn extract_refuses_a_cell_bomb_and_reads_a_small_workbook() {
    use crate::tools::docs::{extract, Kind, Request};
    let req = Request {
        offset: None,
        limit: None,
        sheet: None,
        range: None,
        max_text: 64 * 1024,
        image_max_edge: 1568,
        max_media: 1 << 20,
    };
    let hostile = sheet(&[number(0, 0), number(65535, 255)]);
    let bomb = compound("Workbook", &workbook(&[hostile.clone(), hostile]));
    let started = std::time::Instant::now();
    let err = extract(Kind::Xls, &bomb, &req, &budget())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("would expand to 33554436 cells") && err.contains("as .xlsx or .csv"),
        "{err}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    let dims = rec(DIMENSIONS, &[5, 0, 0, 0, 3, 0, 0, 0, 0, 0, 4, 0, 0, 0]);
    let claim = compound("Workbook", &workbook(&[sheet(&[dims])]));
    let err = extract(Kind::Xls, &claim, &req, &budget())
        .unwrap_err()
        .to_string();
    assert!(err.contains("would expand to"), "{err}");
    let small = compound(
        "Workbook",
        &workbook(&[sheet(&[number(0, 0), number(2, 1)])]),
    );
    let (content, s) = extract(Kind::Xls, &small, &req, &budget()).unwrap();
    assert!(format!("{content:?}").contains("1.5"), "{content:?}");
    assert_eq!(s["format"], "xls");
}
