use super::super::test_util::{call, env, text};
use super::*;

fn tree(root: &Path) {
    for (f, c) in [
        (
            "src/main.rs",
            "fn main() {\n    let Foo = 1;\n    foo();\n}\n",
        ),
        ("src/lib.rs", "pub fn foo() {}\n"),
        ("README.md", "Foo bar\n"),
        ("target/out.rs", "fn foo() {}\n"),
        ("data.bin", "foo\0\0\0binary"),
    ] {
        let p = root.join(f);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, c).unwrap();
    }
    std::fs::write(root.join(".gitignore"), "target/\n").unwrap();
}

#[tokio::test]
async fn content_search_respects_ignore_and_binary() {
    let e = env();
    tree(&e.root);
    let t = tool(e.cfg.clone());
    let r = call(&t, json!({"pattern": "fn \\w+\\(\\)"})).await.unwrap();
    assert_eq!(
        text(&r),
        "src/lib.rs:1: pub fn foo() {}\nsrc/main.rs:1: fn main() {\n"
    );
    let r = call(
        &t,
        json!({"pattern": "foo", "case_insensitive": true, "include": ["*.rs"]}),
    )
    .await
    .unwrap();
    let s = r.structured.unwrap();
    assert_eq!(s["matches"].as_array().unwrap().len(), 3, "{s}");
    let r = call(&t, json!({"pattern": "foo", "exclude": ["src/**"]}))
        .await
        .unwrap();
    assert!(text(&r).starts_with("No matches"), "{}", text(&r));
    let r = call(
        &t,
        json!({"pattern": "foo()", "literal": true, "context": 1, "path": "src"}),
    )
    .await
    .unwrap();
    assert_eq!(text(&r), "src/lib.rs:1: pub fn foo() {}\nsrc/main.rs-2-     let Foo = 1;\nsrc/main.rs:3:     foo();\nsrc/main.rs-4- }\n");
}

#[tokio::test]
async fn max_results_names_mode_and_errors() {
    let e = env();
    tree(&e.root);
    let t = tool(e.cfg.clone());
    let r = call(&t, json!({"pattern": "o", "max_results": 1}))
        .await
        .unwrap();
    assert!(text(&r).contains("[showed 1 matches"), "{}", text(&r));
    let r = call(&t, json!({"pattern": "*.rs", "names": true}))
        .await
        .unwrap();
    assert_eq!(text(&r), "src/lib.rs\nsrc/main.rs\n");
    let r = call(&t, json!({"pattern": "READ", "names": true}))
        .await
        .unwrap();
    assert_eq!(text(&r), "README.md\n");
    assert!(call(&t, json!({"pattern": "("}))
        .await
        .unwrap_err()
        .contains("literal: true"));
    assert!(call(&t, json!({"pattern": "x", "path": ".."}))
        .await
        .unwrap_err()
        .contains("outside"));
}

#[tokio::test]
async fn honours_cancellation() {
    let e = env();
    tree(&e.root);
    let t = tool(e.cfg.clone());
    let ctx = crate::server::RequestContext::detached();
    ctx.cancellation().cancel();
    let args = json!({"pattern": "foo"}).as_object().unwrap().clone();
    let r = (t.handler)(args, ctx).await;
    assert!(matches!(r, Err(crate::server::ToolError::Tool(m)) if m == "cancelled"));
}

#[tokio::test]
async fn exactly_max_results_is_not_truncated_one_more_is() {
    let e = env();
    for f in ["a.txt", "b.txt", "c.txt"] {
        std::fs::write(e.root.join(f), "needle\n").unwrap();
    }
    let t = tool(e.cfg.clone());
    for names in [false, true] {
        let pattern = if names { ".txt" } else { "needle" };
        let r = call(
            &t,
            json!({"pattern": pattern, "names": names, "max_results": 3}),
        )
        .await
        .unwrap();
        let s = r.structured.clone().unwrap();
        assert_eq!(s["matches"].as_array().unwrap().len(), 3, "{s}");
        assert_eq!(s["truncated"], false, "names {names}: {s}");
        assert!(!text(&r).contains("more follow"), "{}", text(&r));
        let r = call(
            &t,
            json!({"pattern": pattern, "names": names, "max_results": 2}),
        )
        .await
        .unwrap();
        let s = r.structured.clone().unwrap();
        assert_eq!(s["matches"].as_array().unwrap().len(), 2, "{s}");
        assert_eq!(s["truncated"], true, "names {names}: {s}");
        assert!(text(&r).contains("[showed 2 matches"), "{}", text(&r));
    }
    // Several matches in one file count one by one as well.
    std::fs::write(e.root.join("many.md"), "x1\nx2\nx3\n").unwrap();
    let args = |max: usize| json!({"pattern": "x\\d", "include": ["*.md"], "max_results": max});
    let s = call(&t, args(3)).await.unwrap().structured.unwrap();
    assert_eq!(
        (s["matches"].as_array().unwrap().len(), &s["truncated"]),
        (3, &json!(false))
    );
    let s = call(&t, args(2)).await.unwrap().structured.unwrap();
    assert_eq!(
        (s["matches"].as_array().unwrap().len(), &s["truncated"]),
        (2, &json!(true))
    );
}

#[tokio::test]
async fn cancellation_from_another_task_stops_the_walk_midway() {
    const DIRS: usize = 100;
    const PER_DIR: usize = 200;
    let e = env();
    for d in 0..DIRS {
        let dir = e.root.join(format!("d{d:03}"));
        std::fs::create_dir(&dir).unwrap();
        for f in 0..PER_DIR {
            std::fs::write(dir.join(format!("f{f:03}.txt")), "nothing to see\n").unwrap();
        }
    }
    let cancel = CancellationToken::new();
    let visited = Arc::new(AtomicUsize::new(0));
    let walk = {
        let (roots, cancel, visited) = (e.cfg.roots.clone(), cancel.clone(), visited.clone());
        tokio::task::spawn_blocking(move || {
            let a: SearchArgs = serde_json::from_value(json!({"pattern": "needle"})).unwrap();
            search(
                &roots,
                a,
                Page {
                    max: 500,
                    budget: 65536,
                },
                &cancel,
                &visited,
            )
        })
    };
    // Another task cancels once the walk is under way (a bounded wait, so a
    // walk that never starts fails the assertions below instead of hanging).
    let canceller = {
        let (cancel, visited) = (cancel.clone(), visited.clone());
        tokio::spawn(async move {
            for _ in 0..20_000 {
                if visited.load(Ordering::Relaxed) >= 100 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
            cancel.cancel();
        })
    };
    canceller.await.unwrap();
    let r = walk.await.unwrap();
    let seen = visited.load(Ordering::Relaxed);
    assert!(
        matches!(r, Err(FsError::Cancelled)),
        "{:?}",
        r.map(|r| text(&r))
    );
    assert!(
        (100..DIRS * PER_DIR).contains(&seen),
        "cancelled after {seen} of {} files",
        DIRS * PER_DIR
    );
}

#[test]
fn cancellation_stops_a_search_inside_one_long_file() {
    // The file's reader cancels the request once 100 KB of the file were
    // read, as if the client cancelled while the search was inside it.
    struct CancelsPartway<'a> {
        data: std::io::Cursor<Vec<u8>>,
        cancel: &'a CancellationToken,
    }
    impl std::io::Read for CancelsPartway<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.data.read(buf)?;
            if self.data.position() >= 100_000 {
                self.cancel.cancel();
            }
            Ok(n)
        }
    }
    let lines = 200_000;
    let data: Vec<u8> = (0..lines)
        .flat_map(|i| format!("match {i}\n").into_bytes())
        .collect();
    let cancel = CancellationToken::new();
    let mut sink = Collect {
        path: "big".into(),
        after: None,
        hits: Vec::new(),
        matches: 0,
        cap: usize::MAX,
        overflow: false,
    };
    let reader = UntilCancelled {
        inner: CancelsPartway {
            data: std::io::Cursor::new(data),
            cancel: &cancel,
        },
        cancel: &cancel,
    };
    let matcher = RegexMatcherBuilder::new().build("match").unwrap();
    let r = SearcherBuilder::new()
        .build()
        .search_reader(&matcher, reader, &mut sink);
    assert!(r.is_err(), "the search ran to the end of the file");
    assert!(
        !sink.hits.is_empty() && sink.hits.len() < lines,
        "{} of {lines} lines searched",
        sink.hits.len()
    );
}

#[tokio::test]
async fn cursor_pages_through_every_match_once_in_order() {
    let e = env();
    for d in 0..5 {
        let dir = e.root.join(format!("d{d}"));
        std::fs::create_dir(&dir).unwrap();
        for f in 0..6 {
            let body: String = (0..20).map(|i| format!("hit {d} {f} {i}\n")).collect();
            std::fs::write(dir.join(format!("f{f}.txt")), body).unwrap();
        }
    }
    let t = tool(e.cfg.clone());
    let run = || async {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..100 {
            let mut args = json!({"pattern": "hit", "max_bytes": 2000});
            if let Some(c) = &cursor {
                args["cursor"] = json!(c);
            }
            let r = call(&t, args).await.unwrap();
            assert!(
                text(&r).len() + r.structured.as_ref().unwrap().to_string().len() <= 2000 + 700
            );
            let s = r.structured.unwrap();
            for m in s["matches"].as_array().unwrap() {
                all.push((
                    m["path"].as_str().unwrap().to_owned(),
                    m["line"].as_u64().unwrap(),
                ));
            }
            match s.get("next_cursor") {
                Some(c) => cursor = Some(c.as_str().unwrap().to_owned()),
                None => break,
            }
        }
        all
    };
    let first = run().await;
    assert_eq!(first.len(), 600);
    let mut sorted = first.clone();
    sorted.sort_by(|a, b| (Path::new(&a.0), a.1).cmp(&(Path::new(&b.0), b.1)));
    sorted.dedup();
    assert_eq!(sorted, first, "in order, each once");
    assert_eq!(run().await, first, "the same twice");
    // A cursor of another query, or a forged one, is refused naming the argument.
    let r = call(&t, json!({"pattern": "hit", "max_bytes": 2000}))
        .await
        .unwrap();
    let c = r.structured.unwrap()["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let err = call(&t, json!({"pattern": "other", "cursor": c}))
        .await
        .unwrap_err();
    assert!(
        err.contains("`cursor`") && err.contains("different query"),
        "{err}"
    );
    let err = call(&t, json!({"pattern": "hit", "cursor": format!("x{c}")}))
        .await
        .unwrap_err();
    assert!(err.contains("`cursor`"), "{err}");
}
