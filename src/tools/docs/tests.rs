//! Unit tests of the limits: zip bombs, pixel bombs, cancellation, panics
//! caught, range parsing. Real documents from real producers are tested
//! end to end in tests/py/test_docs.py.

use super::sheet::{column_name, parse_range, Area};
use super::*;
use std::io::Write;

fn req() -> Request {
    Request {
        offset: None,
        limit: None,
        sheet: None,
        range: None,
        max_text: 64 * 1024,
        image_max_edge: 1568,
        max_media: 5 * 1024 * 1024,
    }
}

fn budget() -> Budget {
    Budget::new(LIMITS, None)
}

fn err(r: Result<Extracted, DocError>) -> String {
    match r {
        Ok((c, s)) => panic!("expected an error, got {c:?} {s}"),
        Err(e) => e.to_string(),
    }
}

/// A ZIP whose one part, `name`, is `size` zero bytes (deflated: tiny).
fn zip_with(name: &str, size: usize) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(size > u32::MAX as usize / 2);
    w.start_file(name, opts).unwrap();
    let chunk = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        let n = left.min(chunk.len());
        w.write_all(&chunk[..n]).unwrap();
        left -= n;
    }
    w.finish().unwrap().into_inner()
}

#[test]
fn a_zip_bomb_stops_at_the_part_cap() {
    let bomb = zip_with("word/document.xml", 40 << 20);
    assert!(bomb.len() < 200_000, "the bomb is small: {}", bomb.len());
    let e = err(extract(Kind::Docx, &bomb, &req(), &budget()));
    assert!(e.contains("zip bomb"), "{e}");
    let e = err(extract(Kind::Xlsx, &bomb, &req(), &budget()));
    assert!(e.contains("zip bomb"), "{e}");
}

#[test]
fn a_pixel_bomb_is_refused_from_its_header() {
    // A PNG header claiming 50,000 x 50,000 pixels, with a tiny IDAT.
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8], data: &[u8]| {
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        png.extend_from_slice(&body);
        let crc = crc32(&body);
        png.extend_from_slice(&crc.to_be_bytes());
    };
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&50_000u32.to_be_bytes());
    ihdr.extend_from_slice(&50_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(b"IHDR", &ihdr);
    chunk(b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
    chunk(b"IEND", &[]);
    let e = err(extract(Kind::Image, &png, &req(), &budget()));
    assert!(e.contains("50000×50000"), "{e}");
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn a_cancelled_budget_stops_parsing() {
    let token = CancellationToken::new();
    token.cancel();
    let b = Budget::new(LIMITS, Some(token));
    let docx = zip_with("word/document.xml", 1 << 20);
    assert!(matches!(
        extract(Kind::Docx, &docx, &req(), &b),
        Err(DocError::Cancelled)
    ));
}

#[test]
fn an_exhausted_time_budget_is_an_error() {
    let limits = Limits {
        time: Duration::ZERO,
        ..LIMITS
    };
    let b = Budget::new(limits, None);
    std::thread::sleep(Duration::from_millis(2));
    let docx = zip_with("word/document.xml", 1 << 20);
    let e = err(extract(Kind::Docx, &docx, &req(), &b));
    assert!(e.contains("took longer"), "{e}");
}

#[test]
fn too_many_zip_entries_are_refused() {
    let limits = Limits {
        zip_entries: 3,
        ..LIMITS
    };
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..5 {
        w.start_file(
            format!("p{i}.xml"),
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
    }
    let data = w.finish().unwrap().into_inner();
    let e = err(extract(
        Kind::Docx,
        &data,
        &req(),
        &Budget::new(limits, None),
    ));
    assert!(e.contains("more than the limit of 3"), "{e}");
}

#[test]
fn deep_xml_nesting_is_refused() {
    let limits = Limits {
        depth: 50,
        ..LIMITS
    };
    let xml = "<a>".repeat(100) + &"</a>".repeat(100);
    let e = xml::walk(&xml, &Budget::new(limits, None), |_| {})
        .expect_err("too deep")
        .to_string();
    assert!(e.contains("nested deeper than 50"), "{e}");
}

#[test]
fn malformed_inputs_are_errors_not_panics() {
    // Every parsed format but CSV, which reads any bytes as a table.
    for kind in Kind::PARSED.into_iter().filter(|k| *k != Kind::Csv) {
        for data in [
            &b""[..],
            b"%PDF-1.7\n1 0 obj <<",
            b"PK\x03\x04garbage",
            b"\x89PNG\r\n\x1a\nxx",
        ] {
            assert!(
                extract(kind, data, &req(), &budget()).is_err(),
                "{kind:?} {data:?}"
            );
        }
    }
}

#[test]
fn ranges_and_columns() {
    assert_eq!(
        parse_range("A1:D20").unwrap(),
        Area {
            r0: 0,
            c0: 0,
            r1: 19,
            c1: 3
        }
    );
    assert_eq!(
        parse_range("$b$3").unwrap(),
        Area {
            r0: 2,
            c0: 1,
            r1: 2,
            c1: 1
        }
    );
    assert_eq!(
        parse_range("D20:A1").unwrap(),
        Area {
            r0: 0,
            c0: 0,
            r1: 19,
            c1: 3
        }
    );
    assert!(
        parse_range("A0:B2").is_err()
            && parse_range("1A").is_err()
            && parse_range("ABCD1").is_err()
    );
    assert_eq!(column_name(0), "A");
    assert_eq!(column_name(25), "Z");
    assert_eq!(column_name(26), "AA");
    assert_eq!(column_name(16383), "XFD");
}

#[test]
fn csv_ranges_select_cells() {
    let csv = b"name,qty\nalpha,1\nbeta,2\n\"g, amma\",3\n";
    let mut r = req();
    r.range = Some("A3:B4".into());
    let (c, s) = extract(Kind::Csv, csv, &r, &budget()).unwrap();
    let Content::Text { text, .. } = c else {
        panic!("text")
    };
    assert!(
        text.contains("| 3 | beta | 2 |") && text.contains("| 4 | g, amma | 3 |"),
        "{text}"
    );
    assert!(!text.contains("alpha"), "{text}");
    assert_eq!(s["sheets"][0]["rows"], 4);
}

#[test]
fn detection_by_magic_and_name() {
    assert_eq!(detect(b"%PDF-1.4", "x.bin"), Some(Kind::Pdf));
    assert_eq!(detect(b"PK\x03\x04", "a.DOCX"), Some(Kind::Docx));
    assert_eq!(detect(b"PK\x03\x04", "a.zip"), None);
    assert_eq!(detect(b"a,b\n", "t.csv"), Some(Kind::Csv));
    assert_eq!(detect(b"fLaC\0\0", "x"), Some(Kind::Audio("audio/flac")));
    assert_eq!(detect(b"hello", "notes.txt"), None);
}

#[test]
fn output_is_cut_at_a_line() {
    let mut s = "line one\nline two\nline three\n".to_string();
    assert!(cut_text(&mut s, 20));
    assert_eq!(s, "line one\nline two\n");
}

/// An .ods with `body` as its spreadsheet (mimetype and content.xml).
fn ods_with(body: &str) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    w.start_file("mimetype", stored).unwrap();
    w.write_all(b"application/vnd.oasis.opendocument.spreadsheet")
        .unwrap();
    let deflated = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    w.start_file("content.xml", deflated).unwrap();
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <office:document-content xmlns:office=\"urn:oasis:names:tc:opendocument:xmlns:office:1.0\" \
         xmlns:table=\"urn:oasis:names:tc:opendocument:xmlns:table:1.0\" \
         xmlns:text=\"urn:oasis:names:tc:opendocument:xmlns:text:1.0\" office:version=\"1.2\">\
         <office:body><office:spreadsheet>{body}</office:spreadsheet></office:body></office:document-content>"
    );
    w.write_all(xml.as_bytes()).unwrap();
    w.finish().unwrap().into_inner()
}

/// Issue 22: an .ods whose repeats expand to billions of cells is refused
/// before calamine builds its grid (calamine lays out every sheet densely
/// when it opens the file), in well under a second.
#[test]
fn an_ods_cell_bomb_is_refused_before_it_is_built() {
    // 6,000 rows x 16,384 columns: 98 million cells (about 3 GB), just
    // under calamine's own cap of 100 million.
    let bomb = ods_with(
        "<table:table table:name=\"S\"><table:table-row table:number-rows-repeated=\"6000\">\
         <table:table-cell office:value-type=\"string\" table:number-columns-repeated=\"16384\">\
         <text:p>z</text:p></table:table-cell></table:table-row></table:table>",
    );
    assert!(bomb.len() < 4096, "{}", bomb.len());
    let started = std::time::Instant::now();
    let e = err(extract(Kind::Ods, &bomb, &req(), &budget()));
    assert!(e.contains("would expand to") && e.contains("limit"), "{e}");
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    // A small sheet is not refused by the scan.
    let small = ods_with(
        "<table:table table:name=\"S\"><table:table-row>\
         <table:table-cell office:value-type=\"string\"><text:p>hello-cell</text:p></table:table-cell>\
         </table:table-row></table:table>",
    );
    match extract(Kind::Ods, &small, &req(), &budget()) {
        Ok((c, _)) => assert!(format!("{c:?}").contains("hello-cell"), "{c:?}"),
        Err(e) => assert!(!e.to_string().contains("would expand"), "{e}"),
    }
}

#[test]
fn wire_names_round_trip() {
    for k in Kind::PARSED {
        let name = k.wire_name().expect("a parsed format has a wire name");
        assert_eq!(Kind::from_name(name), Some(k));
    }
    assert_eq!(Kind::Audio("audio/wav").wire_name(), None);
    assert_eq!(Kind::from_name("wav"), None);
}

#[test]
fn a_request_goes_to_the_helper_as_it_is() {
    use crate::tools::extract_helper::protocol::Job;
    let job = Job::Doc {
        kind: "xlsx".into(),
        request: Request {
            sheet: Some(SheetSel::Name("Q1".into())),
            range: Some("A1:B2".into()),
            ..req()
        },
    };
    let line = serde_json::to_string(&job).unwrap();
    let Job::Doc { kind, request } = serde_json::from_str(&line).unwrap() else {
        panic!("{line}")
    };
    assert_eq!(kind, "xlsx");
    assert_eq!(request.sheet, Some(SheetSel::Name("Q1".into())));
    assert_eq!(request.range.as_deref(), Some("A1:B2"));
    assert_eq!(request.max_text, req().max_text);
}
