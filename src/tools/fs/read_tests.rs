use super::super::test_util::{call, env, text};
use super::*;
use std::io::Write;

#[tokio::test]
async fn reads_text_with_window_and_numbers() {
    let e = env();
    std::fs::write(e.root.join("a.txt"), "l1\nl2\nl3\nl4\n").unwrap();
    let t = tool(e.cfg.clone());
    let r = call(&t, json!({"path": "a.txt"})).await.unwrap();
    assert_eq!(text(&r), "l1\nl2\nl3\nl4\n");
    let s = r.structured.unwrap();
    assert_eq!(s["total_lines"], 4);
    assert_eq!(s["sha256"], super::super::sha256_hex(b"l1\nl2\nl3\nl4\n"));
    let r = call(
        &t,
        json!({"path": "a.txt", "offset": 2, "limit": 2, "line_numbers": true}),
    )
    .await
    .unwrap();
    let out = text(&r);
    assert!(out.starts_with("     2\tl2\n     3\tl3\n"), "{out}");
    assert!(out.contains("continue with offset=4"), "{out}");
    let r = call(
        &t,
        json!({"path": "a.txt", "tail": 2, "line_numbers": true}),
    )
    .await
    .unwrap();
    assert_eq!(text(&r), "     3\tl3\n     4\tl4\n");
}

#[tokio::test]
async fn huge_file_with_small_limit_is_fast() {
    let e = env();
    let mut f = std::fs::File::create(e.root.join("big.txt")).unwrap();
    let line = "0123456789".repeat(10) + "\n";
    let block = line.repeat(10_000); // ~1 MB
    for _ in 0..100 {
        f.write_all(block.as_bytes()).unwrap();
    }
    drop(f);
    let t = tool(e.cfg.clone());
    let start = std::time::Instant::now();
    let r = call(&t, json!({"path": "big.txt", "limit": 3}))
        .await
        .unwrap();
    assert!(
        start.elapsed() < std::time::Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(text(&r).lines().count(), 4);
    // Without a limit the output is capped with a note.
    let r = call(&t, json!({"path": "big.txt"})).await.unwrap();
    let out = text(&r);
    assert!(out.len() <= e.cfg.max_result_bytes + 200);
    assert!(out.contains("output budget"), "{}", &out[out.len() - 200..]);
    assert_eq!(r.structured.unwrap()["truncated"], true);
}

#[tokio::test]
async fn images_and_binaries() {
    let e = env();
    // A valid 1x1 PNG (with feature `docs` the header is parsed, so it must be real).
    let png = [
        &b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89"[..],
        b"\0\0\0\rIDATx\x9cc`\xf8\xcf\0\0\0\x03\x01\x01\0\x9a\\/\x8c\0\0\0\0IEND\xaeB`\x82",
    ]
    .concat();
    std::fs::write(e.root.join("p.png"), &png).unwrap();
    std::fs::write(e.root.join("x.bin"), b"\x7fELF\x02\x01\0\0\0").unwrap();
    let t = tool(e.cfg.clone());
    let r = call(&t, json!({"path": "p.png"})).await.unwrap();
    match &r.content[0] {
        Content::Image {
            data, mime_type, ..
        } => {
            assert_eq!(mime_type, "image/png");
            assert_eq!(
                base64::engine::general_purpose::STANDARD
                    .decode(data)
                    .unwrap(),
                png
            );
        }
        other => panic!("{other:?}"),
    }
    let r = call(&t, json!({"path": "x.bin"})).await.unwrap();
    assert!(text(&r).contains("binary file (ELF"), "{}", text(&r));
}

#[tokio::test]
async fn several_files_one_failure() {
    let e = env();
    std::fs::write(e.root.join("a.txt"), "A").unwrap();
    let t = tool(e.cfg.clone());
    let r = call(
        &t,
        json!({"paths": ["a.txt", "missing.txt", "../etc/passwd"]}),
    )
    .await
    .unwrap();
    assert!(!r.is_error);
    assert_eq!(r.content.len(), 3);
    let out = text(&r);
    assert!(out.contains("==> a.txt <==\nA"), "{out}");
    assert!(out.contains("does not exist"), "{out}");
    assert!(out.contains("outside the allowed roots"), "{out}");
    let err = call(&t, json!({"paths": ["missing.txt"]}))
        .await
        .unwrap_err();
    assert!(err.contains("does not exist"));
}

#[tokio::test]
async fn path_takes_a_list_too() {
    let e = env();
    std::fs::write(e.root.join("a.txt"), "A").unwrap();
    std::fs::write(e.root.join("b.txt"), "B").unwrap();
    let t = tool(e.cfg.clone());
    let r = call(&t, json!({"path": ["a.txt", "missing.txt", "b.txt"]}))
        .await
        .unwrap();
    assert!(!r.is_error);
    assert_eq!(r.content.len(), 3);
    let out = text(&r);
    assert!(
        out.contains("==> a.txt <==\nA") && out.contains("==> b.txt <==\nB"),
        "{out}"
    );
    let files = r.structured.unwrap()["files"].clone();
    assert_eq!(files[1]["path"], "missing.txt");
    assert!(files[1]["error"]
        .as_str()
        .unwrap()
        .contains("does not exist"));
    // The same list under the older name `paths` gives the same result.
    let old = call(&t, json!({"paths": ["a.txt", "missing.txt", "b.txt"]}))
        .await
        .unwrap();
    assert_eq!(text(&old), out);
    // A one-element list is still a list (headed result).
    let r = call(&t, json!({"path": ["a.txt"]})).await.unwrap();
    assert_eq!(text(&r), "==> a.txt <==\nA");
    let err = call(&t, json!({"path": []})).await.unwrap_err();
    assert!(err.contains("non-empty list"), "{err}");
    let err = call(&t, json!({"path": ["a.txt"], "paths": ["b.txt"]}))
        .await
        .unwrap_err();
    assert!(err.contains("not both"), "{err}");
    // Anything but a string or a list of strings is refused by the schema.
    let err = call(&t, json!({"path": 7})).await.unwrap_err();
    assert!(err.contains("Invalid arguments"), "{err}");
    let err = call(&t, json!({"path": ["a.txt", 7]})).await.unwrap_err();
    assert!(err.contains("Invalid arguments"), "{err}");
    let schema = &t.input_schema.to_value()["properties"]["path"];
    assert!(
        schema["description"]
            .as_str()
            .unwrap()
            .contains("a list of files"),
        "{schema}"
    );
}

#[tokio::test]
async fn refusals() {
    let e = env();
    let t = tool(e.cfg.clone());
    std::fs::write(e.root.parent().unwrap().join("secret"), "s").unwrap();
    std::os::unix::fs::symlink(e.root.parent().unwrap().join("secret"), e.root.join("ln")).unwrap();
    std::os::unix::fs::symlink(e.root.parent().unwrap(), e.root.join("up")).unwrap();
    for p in ["../secret", "ln", "up/secret", "/etc/passwd"] {
        let err = call(&t, json!({"path": p})).await.unwrap_err();
        assert!(
            err.contains("outside the allowed roots") && err.contains(e.root.to_str().unwrap()),
            "{p}: {err}"
        );
    }
    let err = call(&t, json!({"path": "a\u{0}b"})).await.unwrap_err();
    assert!(err.contains("NUL"), "{err}");
    std::fs::create_dir(e.root.join("d")).unwrap();
    assert!(call(&t, json!({"path": "d"}))
        .await
        .unwrap_err()
        .contains("list_dir"));
    assert!(call(&t, json!({"path": "x", "paths": ["y"]}))
        .await
        .is_err());
}

#[tokio::test]
async fn a_line_longer_than_the_cap_is_cut_not_buffered() {
    let e = env();
    let cfg = Arc::new(FsConfig {
        max_read_bytes: 1000,
        ..(*e.cfg).clone()
    });
    let long = "x".repeat(1_000_000);
    std::fs::write(e.root.join("long.txt"), format!("short\n{long}\nend\n")).unwrap();
    let t = tool(cfg);
    // From the start: the short line, then a note that the next one is too long.
    let r = call(&t, json!({"path": "long.txt"})).await.unwrap();
    assert!(
        text(&r).starts_with("short\n[showed lines 1-1"),
        "{}",
        text(&r)
    );
    // Asking for the long line shows its start and where to go on, the note
    // included within the budget.
    let r = call(&t, json!({"path": "long.txt", "offset": 2}))
        .await
        .unwrap();
    let out = text(&r);
    assert!(out.len() <= 1000, "{}", out.len());
    let shown = out.find('\n').unwrap();
    assert!(
        shown >= 500 && out[..shown].bytes().all(|b| b == b'x'),
        "{shown}"
    );
    let note = format!("[line 2 is longer than the output budget of 1000 bytes: showed bytes 0-{shown} of it; continue the line with offset=2, column={shown}]");
    assert_eq!(&out[shown + 1..], note);
    let s = r.structured.unwrap();
    assert_eq!(s["line_cut"], true);
    assert_eq!(
        (s["next_offset"].clone(), s["next_column"].clone()),
        (json!(2), json!(shown))
    );
    // The note's offset and column go on with the rest of the line.
    let r = call(
        &t,
        json!({"path": "long.txt", "offset": 2, "column": 999_500}),
    )
    .await
    .unwrap();
    assert_eq!(text(&r), format!("{}\nend\n", "x".repeat(500)));
    let r = call(&t, json!({"path": "long.txt", "offset": 3}))
        .await
        .unwrap();
    assert_eq!(text(&r), "end\n");
    // The tail of a file whose last line is too long shows that line's end.
    std::fs::write(e.root.join("tail.txt"), format!("a\n{long}")).unwrap();
    let r = call(&t, json!({"path": "tail.txt", "tail": 1}))
        .await
        .unwrap();
    let out = text(&r);
    assert!(
        out.starts_with(
            "[line 2 is longer than the output budget of 1000 bytes: showing its last 776 bytes]\n"
        ),
        "{out}"
    );
    assert_eq!(r.structured.unwrap()["line_cut"], true);
}

#[tokio::test]
async fn control_characters_past_the_head_show_as_replacement() {
    let e = env();
    let text_head = "x\n".repeat(5000); // more than the 8 KiB sniffed for binary
    std::fs::write(
        e.root.join("mixed.txt"),
        format!("{text_head}a\0b\x01c\td\n"),
    )
    .unwrap();
    let t = tool(e.cfg.clone());
    let r = call(&t, json!({"path": "mixed.txt", "offset": 5001}))
        .await
        .unwrap();
    assert_eq!(text(&r), "a\u{FFFD}b\u{FFFD}c\td\n");
}

#[cfg(feature = "docs")]
#[tokio::test]
async fn documents_fit_the_budget_too() {
    let e = env();
    let rows: String = (0..5000)
        .map(|i| format!("{i},name {i},{}\n", i * 7))
        .collect();
    std::fs::write(e.root.join("t.csv"), format!("id,name,value\n{rows}")).unwrap();
    std::fs::write(e.root.join("u.csv"), format!("id,name,value\n{rows}")).unwrap();
    let t = tool(e.cfg.clone());
    let r = call(&t, json!({"path": "t.csv", "max_bytes": 2000}))
        .await
        .unwrap();
    assert!(text(&r).len() <= 2000, "{}", text(&r).len());
    let s = r.structured.unwrap();
    assert_eq!(
        (s["kind"].as_str(), s["truncated"].clone()),
        (Some("CSV table"), json!(true))
    );
    // Two documents share one budget: the second, which cannot fit, is left out.
    let r = call(&t, json!({"path": ["t.csv", "u.csv"], "max_bytes": 4000}))
        .await
        .unwrap();
    let total: usize = r
        .content
        .iter()
        .map(|c| match c {
            Content::Text { text, .. } => text.len(),
            _ => 0,
        })
        .sum();
    assert!(total <= 4000 + 200, "{total}");
    let s = r.structured.unwrap();
    assert_eq!(s["files"][1]["skipped"], "budget", "{s}");
}

#[test]
fn the_skip_note_fits_its_room() {
    let names: Vec<String> = (0..100).map(|i| format!("dir/file-{i:03}.txt")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let all = skip_note(&refs[..2], 4096, 512);
    assert_eq!(
        all,
        "[left out to stay within the output budget of 4096 bytes: dir/file-000.txt, dir/file-001.txt; \
         read them in another call]"
    );
    let some = skip_note(&refs, 4096, 512);
    assert!(some.len() <= 512, "{some}");
    assert!(
        some.contains("dir/file-000.txt, ") && some.contains(" more (skipped: \"budget\""),
        "{some}"
    );
    let none = skip_note(&refs, 4096, 150);
    assert!(none.contains("100 files (skipped"), "{none}");
}

#[tokio::test]
async fn a_cut_line_of_replaced_characters_still_shows_its_start() {
    let e = env();
    // Control characters show as U+FFFD, three bytes each: the cut must
    // still show about a third of the budget, not nothing.
    std::fs::write(
        e.root.join("ctl.txt"),
        format!("a\n{}\n", "\x01".repeat(200_000)),
    )
    .unwrap();
    let t = tool(e.cfg.clone());
    let r = call(
        &t,
        json!({"path": "ctl.txt", "offset": 2, "max_bytes": 3000}),
    )
    .await
    .unwrap();
    let out = text(&r);
    assert!(out.len() <= 3000, "{}", out.len());
    let col = r.structured.unwrap()["next_column"].as_u64().unwrap();
    assert!(col > 800, "{col}");
    assert!(out.starts_with(&"\u{FFFD}".repeat(col as usize)), "{out}");
}

#[test]
fn a_cancelled_call_stops_scanning_a_sparse_file() {
    use super::super::read_lines::{read_tail, read_window, Window};
    let e = env();
    let path = e.root.join("sparse.bin");
    let f = std::fs::File::create(&path).unwrap();
    f.set_len(30 << 30).unwrap(); // 30 GiB of holes: no newline anywhere
    drop(f);
    let w = Window {
        first: 1 << 40,
        limit: Some(1),
        column: 0,
        cap: 4096,
        budget: 4096,
        numbers: false,
    };
    // The token a timed-out or cancelled call fires: every read checks it,
    // so the skip to a far offset and the tail's read stop at once instead
    // of scanning (a loop that did not check would read 512 MiB first).
    let cancel = CancellationToken::new();
    cancel.cancel();
    let mut file = std::fs::File::open(&path).unwrap();
    let r = read_window(&mut file, 30 << 30, w, &cancel, "sparse.bin");
    assert!(matches!(r, Err(FsError::Cancelled)), "{r:?}");
    let mut file = std::fs::File::open(&path).unwrap();
    let r = read_tail(&mut file, 30 << 30, 5, w, &cancel, "sparse.bin");
    assert!(matches!(r, Err(FsError::Cancelled)), "{r:?}");
}
